/* dcgwd: the dcgw daemon. Wires the configuration to the master, or, when started by
 * the master with --worker, to a worker process. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dcgw/msg/config.h"
#include "dcgw/base/log.h"
#include "dcgw/control/master.h"
#include "dcgw/worker/worker.h"

static void usage(FILE *f)
{
    fprintf(f, "usage: dcgwd [-c FILE]\n"
               "       dcgwd --check-config FILE\n"
               "\n"
               "dcgw data-channel security gateway daemon: terminates or relays WebRTC data\n"
               "channels (DTLS/SCTP) for an IMS network, driven over its control socket.\n"
               "\n"
               "  -c, --config FILE        configuration file (default: none, built-in defaults;\n"
               "                           see config/dcgw.conf for every setting)\n"
               "      --check-config FILE  validate FILE, print errors as FILE:LINE, and exit\n"
               "                           (0 valid, 1 invalid)\n"
               "  -V, --version            print the version and exit\n"
               "  -h, --help               this help\n"
               "\n"
               "Signals: SIGTERM/SIGINT close sessions and exit 0; SIGHUP reloads the\n"
               "configuration file (an invalid one is rejected and the old one kept).\n"
               "Control it with dcgwctl (dcgwctl --help).\n");
}

int main(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"config", required_argument, NULL, 'c'}, {"check-config", required_argument, NULL, 'C'},
        {"worker", required_argument, NULL, 'W'}, {"version", no_argument, NULL, 'V'},
        {"help", no_argument, NULL, 'h'},         {NULL, 0, NULL, 0},
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
