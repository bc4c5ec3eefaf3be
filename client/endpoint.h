/*  endpoint.h: the `maas` CLI's checks of the addresses it is given (--broker,
 *  `maas up --http`), so that a mistyped one is a bad command line, exit 2,
 *  before anything is dialled or started (docs/cli.md). */
#ifndef MAAS_CLIENT_ENDPOINT_H
#define MAAS_CLIENT_ENDPOINT_H

#include "err.h"

#include <stdbool.h>

//  0 if ENDPOINTS is a comma-separated list of tcp://HOST:PORT (PORT
//  1..65535), ipc://PATH or inproc://NAME; else -1 with why in ERR: "'bogus'
//  is not an endpoint (tcp://HOST:PORT, ipc://PATH, inproc://NAME)".
int maas_cli_endpoints_check (const char *endpoints, maas_err_t *err);

//  true after saying "COMMAND: --broker: WHY" on stderr when ENDPOINTS (the
//  command's --broker, or $MAAS_BROKER_FRONTEND) fail
//  maas_cli_endpoints_check; false when they pass.
bool maas_cli_broker_bad (const char *command, const char *endpoints);

//  0 if ADDR is "off" or IPV4:PORT (PORT 0..65535, 0: any), which is what
//  the gateway listens on; else -1 with why in ERR.
int maas_cli_http_check (const char *addr, maas_err_t *err);

#endif
