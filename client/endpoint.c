/*  endpoint.c: the CLI's address checks (endpoint.h). Only the syntax: a
 *  well-formed address nobody listens on is for the command to find out. */
#include "endpoint.h"
#include "listen_addr.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_ENDPOINT_FORMS "tcp://HOST:PORT, ipc://PATH, inproc://NAME"

//  true if the LEN bytes at TEXT are a whole number in MIN..65535.
static bool
s_port_ok (const char *text, size_t len, long min)
{
    if (len == 0 || len > 5)
        return false;
    long port = 0;
    for (size_t i = 0; i < len; i++) {
        if (!isdigit ((unsigned char) text[i]))
            return false;
        port = port * 10 + (text[i] - '0');
    }
    return port >= min && port <= 65535;
}

//  true if the LEN bytes at TEXT are a host name, an IPv4 address or [IPv6].
static bool
s_host_ok (const char *text, size_t len)
{
    if (len == 0)
        return false;
    if (text[0] == '[')
        return len > 2 && text[len - 1] == ']';
    for (size_t i = 0; i < len; i++)
        if (!isalnum ((unsigned char) text[i]) && !strchr (".-_", text[i]))
            return false;
    return true;
}

//  true if the LEN bytes at EP are one endpoint of the forms above.
static bool
s_endpoint_ok (const char *ep, size_t len)
{
    if (len > 6 && strncmp (ep, "tcp://", 6) == 0) {
        const char *colon = ep + len;
        while (colon > ep + 6 && colon[-1] != ':')
            colon--;
        if (colon == ep + 6)
            return false;
        return s_host_ok (ep + 6, (size_t) (colon - 1 - (ep + 6)))
            && s_port_ok (colon, (size_t) (ep + len - colon), 1);
    }
    if (len > 6 && strncmp (ep, "ipc://", 6) == 0)
        return true;
    return len > 9 && strncmp (ep, "inproc://", 9) == 0;
}

int
maas_cli_endpoints_check (const char *endpoints, maas_err_t *err)
{
    if (!endpoints || !*endpoints)
        return maas_err_set (err, MAAS_ERR_INPUT, "no endpoint given (%s)", S_ENDPOINT_FORMS);
    const char *at = endpoints;
    for (;;) {
        size_t len = strcspn (at, ",");
        if (!s_endpoint_ok (at, len))
            return maas_err_set (err, MAAS_ERR_INPUT, "'%.*s' is not an endpoint (%s)", (int) len,
                                 at, S_ENDPOINT_FORMS);
        if (!at[len])
            return 0;
        at += len + 1;
    }
}

bool
maas_cli_broker_bad (const char *command, const char *endpoints)
{
    maas_err_t err;
    if (maas_cli_endpoints_check (endpoints, &err) == 0)
        return false;
    fprintf (stderr, "%s: --broker: %s\n", command, err.text);
    return true;
}

int
maas_cli_http_check (const char *addr, maas_err_t *err)
{
    struct sockaddr_in parsed;
    if (strcmp (addr, "off") == 0 || maas_listen_addr_parse (addr, &parsed, err) == 0)
        return 0;
    return maas_err_set (err, MAAS_ERR_INPUT,
                         "'%s' is not IPV4:PORT (port 0..65535, 0: any) or off, e.g. "
                         "127.0.0.1:8501",
                         addr);
}
