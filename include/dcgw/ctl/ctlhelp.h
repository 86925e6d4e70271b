/* dcgwctl's help text, one table for --help, COMMAND --help, help COMMAND and the man page. */
#ifndef DCGW_CTLHELP_H
#define DCGW_CTLHELP_H

#include <stdio.h>

struct dcgw_ctlhelp_cmd {
    const char *name;
    const char *synopsis; /* lines of "NAME args", without "dcgwctl [options]" */
    const char *summary;  /* one line */
    const char *detail;   /* NULL, or lines */
};

/* The command called name, or NULL. */
const struct dcgw_ctlhelp_cmd *dcgw_ctlhelp_find(const char *name);
/* dcgwctl --help: every command, the options, the environment and the exit status. */
void dcgw_ctlhelp_usage(FILE *f);
/* dcgwctl COMMAND --help. -1 (nothing printed) for an unknown command. */
int dcgw_ctlhelp_command(FILE *f, const char *name);
/* text as roff lines (requests and escapes neutralised), for the man pages. */
void dcgw_ctlhelp_roff(FILE *f, const char *text);
/* The same text as a man page (roff, section 1). */
void dcgw_ctlhelp_man(FILE *f, const char *version);

#endif
