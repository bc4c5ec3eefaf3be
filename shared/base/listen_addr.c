/*  listen_addr.c: "IPV4:PORT" into a sockaddr_in. */
#include "listen_addr.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <string.h>

int
maas_listen_addr_parse (const char *text, struct sockaddr_in *addr, maas_err_t *err)
{
    const char *colon = strrchr (text, ':');
    char host[INET_ADDRSTRLEN] = "";
    *addr = (struct sockaddr_in){.sin_family = AF_INET};
    size_t digits = colon ? strspn (colon + 1, "0123456789") : 0;
    long port = 0;
    for (size_t i = 0; colon && i < digits && i < 6; i++)
        port = port * 10 + (colon[1 + i] - '0');
    if (colon && (size_t) (colon - text) < sizeof host)
        memcpy (host, text, (size_t) (colon - text));
    if (!colon || digits == 0 || digits > 5 || colon[1 + digits] || port > 65535
        || inet_pton (AF_INET, host, &addr->sin_addr) != 1)
        return maas_err_set (err, MAAS_ERR_INPUT,
                             "'%s' is not IPV4:PORT (port 0..65535, 0: any), e.g. 127.0.0.1:8501",
                             text);
    addr->sin_port = htons ((uint16_t) port);
    return 0;
}
