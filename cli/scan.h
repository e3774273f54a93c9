/* solarpoll scan: list serial ports and hidraw devices; --probe asks each for a known device. */
#ifndef SOLARPOLL_SCAN_H
#define SOLARPOLL_SCAN_H

#include "driver.h"

#include <stdbool.h>
#include <stdio.h>

/* Runs `solarpoll scan ARGS`; host_log is solarpoll's log handler, put back after each probe
 * (which keeps what a driver logs, and passes it on only when verbose). Returns the exit
 * status: 0 done (with --probe: a device answered), 1 nothing answered / a PORT given does not
 * exist, 2 usage. */
int scan_main(int argc, char **argv, solar_log_handler host_log, bool verbose);

/* The text of `solarpoll scan --help`. */
void scan_usage(FILE *out);

#endif
