/* dcgwd: the dcgw daemon. Wires the configuration to the master, or, when started by
 * the master with --worker, to a worker process. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dcgw/msg/config.h"
#include "dcgw/base/log.h"
#include "dcgw/control/master.h"
#include "dcgw/ctl/ctlhelp.h"
#include "dcgw/worker/worker.h"

/* The help text, by section: --help prints it, --help-man makes the man page of it. */
static const char *const synopsis = "dcgwd [-c FILE]\n"
                                    "dcgwd --check-config FILE";
static const char *const description =
    "dcgw data-channel security gateway daemon: terminates or relays WebRTC data\n"
    "channels (DTLS/SCTP) for an IMS network, driven over its control socket. One master\n"
    "process serves the control socket and supervises N worker processes.";
static const char *const options =
    "  -c, --config FILE        configuration file (default: none, built-in defaults;\n"
    "                           config/dcgw.conf shows every setting)\n"
    "      --check-config FILE  validate FILE (also dtls.cert and dtls.key), print errors as\n"
    "                           FILE:LINE, and exit (0 valid, 1 invalid)\n"
    "  -V, --version            print the version and exit\n"
    "  -h, --help               this help";
static const char *const signals =
    "SIGTERM/SIGINT close the sessions and exit 0 (bounded by shutdown.drain_timeout_ms\n"
    "and shutdown.flush_timeout_ms); SIGHUP reloads the configuration file (an invalid one\n"
    "is rejected and the old one kept; workers, control.* and data_plane.* take effect at\n"
    "restart). Under systemd (Type=notify) dcgwd reports READY, RELOADING and STOPPING.";
static const char *const status =
    "0 clean exit; 1 bad configuration, the control socket taken by a live dcgwd,\n"
    "or a worker that failed to start watchdog.max_start_failures times in a row;\n"
    "2 usage.";

static void usage(FILE *f)
{
    fprintf(f, "usage: ");
    for (const char *p = synopsis; *p; p++)
        fprintf(f, *p == '\n' ? "\n       " : "%c", *p);
    fprintf(f,
            "\n\n%s\n\n%s\n\nSignals: %s\n\nExit status: %s\n\n"
            "Control it with dcgwctl (dcgwctl --help).\n",
            description, options, signals, status);
}

static void man(FILE *f)
{
    fprintf(f,
            ".TH DCGWD 8 \"\" \"dcgw %s\" \"dcgw\"\n.SH NAME\n"
            "dcgwd \\- the data-channel security gateway daemon\n.SH SYNOPSIS\n.nf\n",
            DCGW_VERSION);
    dcgw_ctlhelp_roff(f, synopsis);
    fprintf(f, ".fi\n.SH DESCRIPTION\n");
    dcgw_ctlhelp_roff(f, description);
    fprintf(f, ".SH OPTIONS\n.nf\n");
    dcgw_ctlhelp_roff(f, options);
    fprintf(f, ".fi\n.SH SIGNALS\n");
    dcgw_ctlhelp_roff(f, signals);
    fprintf(f, ".SH EXIT STATUS\n");
    dcgw_ctlhelp_roff(f, status);
    fprintf(f, ".SH FILES\n.TP\n/etc/dcgw/dcgw.conf\nthe configuration (dcgwd.service reads it)\n"
               ".TP\n/run/dcgw/control.sock\nthe control socket (control.socket)\n"
               ".SH SEE ALSO\n.BR dcgwctl (1),\n.BR systemd.service (5)\n");
}

int main(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"config", required_argument, NULL, 'c'},
        {"check-config", required_argument, NULL, 'C'},
        {"worker", required_argument, NULL, 'W'},
        {"version", no_argument, NULL, 'V'},
        {"help", no_argument, NULL, 'h'},
        {"help-man", no_argument, NULL, 'M'},
        {NULL, 0, NULL, 0},
    };
    const char *cfg_path = NULL, *check = NULL;
    long worker = -1;
    int c;
    while ((c = getopt_long(argc, argv, "c:Vh", longopts, NULL)) != -1) {
        switch (c) {
        case 'c':
            cfg_path = optarg;
            break;
        case 'C':
            check = optarg;
            break;
        case 'W':
            worker = strtol(optarg, NULL, 10);
            break;
        case 'V':
            printf("dcgwd %s\n", DCGW_VERSION);
            return 0;
        case 'h':
            usage(stdout);
            return 0;
        case 'M':
            man(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "dcgwd: unexpected argument '%s'\n", argv[optind]);
        usage(stderr);
        return 2;
    }
    if (worker >= 0)
        return dcgw_worker_run((uint32_t)worker, 3);

    char err[DCGW_CONFIG_ERR_MAX];
    struct dcgw_config cfg;
    char *text = NULL;
    if (check) {
        if (dcgw_config_load(check, &cfg, NULL, err, sizeof(err)) < 0) {
            fprintf(stderr, "%s\n", err);
            return 1;
        }
        printf("%s: ok\n", check);
        return 0;
    }
    if (cfg_path) {
        if (dcgw_config_load(cfg_path, &cfg, &text, err, sizeof(err)) < 0) {
            fprintf(stderr, "dcgwd: %s\n", err);
            return 1;
        }
    } else {
        dcgw_config_default(&cfg);
    }
    int rc = dcgw_master_run(cfg_path, &cfg, text);
    free(text);
    return rc;
}
