/* dcgwctl's help: one table of commands gives `dcgwctl --help`, `dcgwctl COMMAND --help`,
 * `dcgwctl help COMMAND` and the man page (dcgwctl --help-man), so they never disagree. */
#include "dcgw/ctl/ctlhelp.h"

#include <string.h>

static const struct dcgw_ctlhelp_cmd cmds[] = {
    {"ping", "ping", "check that dcgwd answers", NULL},
    {"version", "version", "daemon and protocol version, workers, control.max_frame", NULL},
    {"create",
     "create [--id ID] [--tag TEXT] --leg SPEC [--leg SPEC] [--policy FILE] [--sdp-out DIR]\n"
     "create --from FILE [--policy FILE] [--sdp-out DIR]",
     "create a session",
     "SPEC is name=NAME[,mode=terminate|relay][,role=answer|offer][,sdp=FILE][,policy=FILE]\n"
     "[,setup=active|passive]: sdp is the peer's offer (role answer, the default with sdp),\n"
     "policy the leg's policy, setup what dcgw answers an actpass offer with (default:\n"
     "media.answer_setup on a leg with audio/video, active otherwise; docs/media.md).\n"
     "--policy FILE: the session's policy (docs/policy.md); without any policy the session\n"
     "passes nothing. --from FILE: a JSON Session (docs/control.md).\n"
     "--sdp-out DIR: each leg's local SDP (dcgw's answer or offer) goes to DIR/NAME.sdp; DIR is\n"
     "created if missing and must be writable before anything is sent.\n"
     "The bootstrap HTTP proxy of a leg (docs/bootstrap.md):\n"
     "  --bootstrap LEG:STREAM=URL  proxy stream 0/10/100/110 of LEG to URL (repeatable)\n"
     "  --mdc1 LEG=IP:PORT          connect to the DCSF there (else URL's host)\n"
     "  --mdc1-ca LEG=FILE          PEM CA certificates for an https DCSF"},
    {"update",
     "update ID [--leg NAME --sdp FILE] [--avatar FILE] [--relay FILE]\n"
     "update ID --leg NAME [--bootstrap STREAM=URL]... [--mdc1 IP:PORT] [--mdc1-ca FILE]\n"
     "          [--no-proxy] [--proxy FILE]",
     "give a leg its peer's answer; replace avatar settings or a leg's bootstrap proxy",
     "--sdp FILE: the answer of the peer of a leg dcgw offered to (role=offer).\n"
     "--avatar FILE: replace the session's avatar grants, anchors and keys (a JSON\n"
     "AvatarSettings, docs/avatar-envelope.md).\n"
     "--relay FILE: a relay session's new limits (a JSON RelaySettings: max_packets_per_s,\n"
     "max_bytes_per_s, burst_ms); its fast path entry is removed first (docs/fastpath.md).\n"
     "--bootstrap, --mdc1, --mdc1-ca, --no-proxy, --proxy FILE: replace the leg's bootstrap HTTP\n"
     "proxy: its bindings, DCSF address, CA; --no-proxy turns it off; --proxy: a JSON DcMedia\n"
     "with the proxy fields (docs/bootstrap.md)."},
    {"policy", "policy ID [--leg NAME] [--set FILE | --patch FILE]",
     "show the effective policy and its counters, or replace / patch it",
     "Without --set or --patch: the session's rules and their counters. --set FILE replaces the\n"
     "session's (or, with --leg, the leg's) policy; --patch FILE merges rules into it by name\n"
     "(docs/policy.md). Channels no longer allowed are closed; counters are kept."},
    {"close-channel", "close-channel ID --leg NAME --stream N",
     "close one data channel of a leg (its twin on the other leg follows)",
     "N is the stream id, 0..65534."},
    {"get", "get ID", "show a session: state, legs, channels and counters, local SDP",
     "A session that is down (a leg failed or closed) shows SESSION_DOWN, the reason and its\n"
     "final counters until it is closed (docs/control.md \"Session states\"). Of a closed\n"
     "session, the error names the seq of its session_closed while dcgwd keeps it (watch\n"
     "--since)."},
    {"list", "list [--worker N]", "list sessions (of one worker)", NULL},
    {"close", "close ID [--reason TEXT]", "close a session",
     "A session_closed event follows with the reason and every channel's final counters.\n"
     "A session that closed already (by itself, or before) answers closed while dcgwd keeps\n"
     "its session_closed."},
    {"stats", "stats", "statistics per worker and totals", NULL},
    {"watch", "watch [--session ID] [--count N] [--for SECONDS] [--since SEQ]",
     "print events as they come",
     "--session: only that session's; --count: stop after N events; --for: stop after SECONDS.\n"
     "--since SEQ: first the events after SEQ that dcgwd still holds (control.event_replay),\n"
     "then the live ones; a controller that was away gets what it missed this way, the\n"
     "session_closed of each session with every channel's final counters included. Events it\n"
     "no longer holds are named on stderr.\n"
     "Each event carries its sequence number and, for a session's, the session's state."},
    {"help", "help [COMMAND]", "this help, or a command's", NULL},
};
enum { N_CMDS = sizeof(cmds) / sizeof(cmds[0]) };

static const char *const options =
    "  -s, --socket PATH     Unix control socket (default $DCGW_SOCKET, else\n"
    "                        /run/dcgw/control.sock)\n"
    "      --connect H:P     TCP with mutual TLS instead; needs --cert, --key, --ca\n"
    "      --cert FILE --key FILE --ca FILE\n"
    "                        client certificate and key, CA of the server (PEM)\n"
    "  -j, --json            machine-readable JSON output (anywhere on the line)\n"
    "  -t, --timeout MS      how long to wait for an answer, 1..3600000 (default 10000)\n"
    "  -V, --version         dcgwctl's version\n"
    "  -h, --help            this help; COMMAND --help: that command's\n";

static const char *const environment =
    "  DCGW_SOCKET           the control socket when -s is not given\n";

static const char *const exit_status =
    "  0  success\n"
    "  1  the daemon answered with an error (or would: a request over its control.max_frame)\n"
    "  2  usage, or a local file or argument that cannot be used: nothing was sent\n"
    "  3  no connection, or no answer in time\n"
    "  4  the daemon did it, but a local output failed (create --sdp-out)\n";

const struct dcgw_ctlhelp_cmd *dcgw_ctlhelp_find(const char *name)
{
    for (size_t i = 0; name && i < N_CMDS; i++)
        if (strcmp(cmds[i].name, name) == 0)
            return &cmds[i];
    return NULL;
}

/* Prints text with every line indented by ind spaces. */
static void indented(FILE *f, const char *text, int ind)
{
    while (text && *text) {
        const char *nl = strchr(text, '\n');
        size_t n = nl ? (size_t)(nl - text) : strlen(text);
        fprintf(f, "%*s%.*s\n", ind, "", (int)n, text);
        text += n + (nl != NULL);
    }
}

void dcgw_ctlhelp_usage(FILE *f)
{
    fprintf(f, "usage: dcgwctl [options] COMMAND [args]\n\n"
               "Talks to dcgwd over its control socket (docs/control.md).\n\nCommands:\n");
    for (size_t i = 0; i < N_CMDS; i++) {
        indented(f, cmds[i].synopsis, 2);
        fprintf(f, "%*s%s\n", 6, "", cmds[i].summary);
    }
    fprintf(f, "\nOptions:\n%s\nEnvironment:\n%s\nExit status:\n%s", options, environment,
            exit_status);
}

int dcgw_ctlhelp_command(FILE *f, const char *name)
{
    const struct dcgw_ctlhelp_cmd *c = dcgw_ctlhelp_find(name);
    if (!c)
        return -1;
    fprintf(f, "usage: dcgwctl [options] ");
    for (const char *p = c->synopsis; *p; p++)
        fprintf(f, *p == '\n' ? "\n       dcgwctl [options] " : "%c", *p);
    fprintf(f, "\n\n%s.\n", c->summary);
    if (c->detail) {
        fputc('\n', f);
        indented(f, c->detail, 0);
    }
    fprintf(f,
            "\nGlobal options (-s, --connect, -j, -t, ...) go before COMMAND: dcgwctl --help.\n");
    return 0;
}

/* roff: a leading . or ' starts a request, and a backslash an escape. */
static void roff_line(FILE *f, const char *p, size_t n)
{
    if (n && (*p == '.' || *p == '\''))
        fputs("\\&", f);
    for (size_t i = 0; i < n; i++)
        fputs(p[i] == '\\' ? "\\e" : p[i] == '-' ? "\\-" : (char[]){p[i], 0}, f);
    fputc('\n', f);
}

void dcgw_ctlhelp_roff(FILE *f, const char *text)
{
    while (text && *text) {
        const char *nl = strchr(text, '\n');
        size_t n = nl ? (size_t)(nl - text) : strlen(text);
        roff_line(f, text, n);
        text += n + (nl != NULL);
    }
}

void dcgw_ctlhelp_man(FILE *f, const char *version)
{
    fprintf(f,
            ".TH DCGWCTL 1 \"\" \"dcgw %s\" \"dcgw\"\n.SH NAME\n"
            "dcgwctl \\- control dcgwd, the data-channel security gateway\n"
            ".SH SYNOPSIS\n.B dcgwctl\n[\\fIoptions\\fR] \\fICOMMAND\\fR [\\fIargs\\fR]\n"
            ".SH DESCRIPTION\nTalks to dcgwd over its control socket.\n.SH COMMANDS\n",
            version);
    for (size_t i = 0; i < N_CMDS; i++) {
        fprintf(f, ".TP\n.nf\n");
        dcgw_ctlhelp_roff(f, cmds[i].synopsis);
        fprintf(f, ".fi\n");
        dcgw_ctlhelp_roff(f, cmds[i].summary);
        if (cmds[i].detail) {
            fprintf(f, ".br\n.nf\n");
            dcgw_ctlhelp_roff(f, cmds[i].detail);
            fprintf(f, ".fi\n");
        }
    }
    fprintf(f, ".SH OPTIONS\n.nf\n");
    dcgw_ctlhelp_roff(f, options);
    fprintf(f, ".fi\n.SH ENVIRONMENT\n.nf\n");
    dcgw_ctlhelp_roff(f, environment);
    fprintf(f, ".fi\n.SH EXIT STATUS\n.nf\n");
    dcgw_ctlhelp_roff(f, exit_status);
    fprintf(f, ".fi\n.SH SEE ALSO\n.BR dcgwd (8)\n");
}
