/* The master process: loads the configuration, supervises the workers, serves the
 * control socket, keeps the session directory and fans events out (DESIGN.md §3). */
#ifndef DCGW_MASTER_H
#define DCGW_MASTER_H

#include "dcgw/msg/config.h"

/* Runs until SIGTERM/SIGINT has drained the workers. cfg_path may be NULL (defaults);
 * cfg_text is the text cfg was parsed from (given to workers). Returns the exit code. */
int dcgw_master_run(const char *cfg_path, const struct dcgw_config *cfg, const char *cfg_text);

#endif
