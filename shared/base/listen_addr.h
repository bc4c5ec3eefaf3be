/*  listen_addr.h: the one reader of an HTTP listen address, "IPV4:PORT"
 *  (port 0: any), shared by maas-gateway (which binds it) and `maas up
 *  --http` (which refuses a bad one before starting anything). */
#ifndef MAAS_LISTEN_ADDR_H
#define MAAS_LISTEN_ADDR_H

#include "err.h"

#include <netinet/in.h>

//  TEXT ("127.0.0.1:8501") into *ADDR (family, address, port in network
//  order). 0, or -1 with ERR: "'x' is not IPV4:PORT (port 0..65535, 0:
//  any), e.g. 127.0.0.1:8501".
int maas_listen_addr_parse (const char *text, struct sockaddr_in *addr, maas_err_t *err);

#endif
