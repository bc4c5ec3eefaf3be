/*  redis_url.c: parsing Redis URLs (connections: redis.c). */
#include "redis_url.h"
#include "log.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *
s_strndup_or_null (const char *start, size_t len)
{
    return len ? strndup (start, len) : NULL;
}

static int
s_fail (char *err, size_t err_size, const char *url, const char *why)
{
    snprintf (err, err_size, "redis URL '%s': %s", url, why);
    return -1;
}

static int
s_parse_tcp (maas_redis_url_t *self, const char *url, const char *rest, char *err,
             size_t err_size)
{
    const char *at = strrchr (rest, '@');
    const char *slash = strchr (at ? at : rest, '/');
    if (at) {
        const char *colon = memchr (rest, ':', (size_t) (at - rest));
        if (colon) {
            self->user = s_strndup_or_null (rest, (size_t) (colon - rest));
            self->password = s_strndup_or_null (colon + 1, (size_t) (at - colon - 1));
        } else
            self->password = s_strndup_or_null (rest, (size_t) (at - rest));
        rest = at + 1;
    }
    size_t host_len = slash ? (size_t) (slash - rest) : strlen (rest);
    const char *colon = memchr (rest, ':', host_len);
    self->port = 6379;
    if (colon) {
        char *end;
        long port = strtol (colon + 1, &end, 10);
        if (end != rest + host_len || port <= 0 || port > 65535)
            return s_fail (err, err_size, url, "port must be 1-65535");
        self->port = (int) port;
        host_len = (size_t) (colon - rest);
    }
    self->host = host_len ? strndup (rest, host_len) : strdup ("127.0.0.1");
    if (slash && slash[1]) {
        char *end;
        long db = strtol (slash + 1, &end, 10);
        if (*end || db < 0 || db > 1 << 20)
            return s_fail (err, err_size, url, "database must be a number");
        self->db = (int) db;
    }
    return 0;
}

int
maas_redis_url_parse (maas_redis_url_t *self, const char *url, char *err, size_t err_size)
{
    memset (self, 0, sizeof *self);
    int rc;
    if (strncmp (url, "redis://", 8) == 0)
        rc = s_parse_tcp (self, url, url + 8, err, err_size);
    else if (strncmp (url, "unix://", 7) == 0 && url[7] == '/') {
        const char *query = strstr (url, "?db=");
        self->path = query ? strndup (url + 7, (size_t) (query - url - 7)) : strdup (url + 7);
        self->db = query ? atoi (query + 4) : 0;
        rc = self->db >= 0 ? 0 : s_fail (err, err_size, url, "database must be a number");
    } else
        rc = s_fail (err, err_size, url, "unknown scheme, use redis://host:port or unix:///path");
    if (rc != 0)
        maas_redis_url_clear (self);
    return rc;
}

void
maas_redis_url_clear (maas_redis_url_t *self)
{
    free (self->host);
    free (self->path);
    free (self->user);
    free (self->password);
    memset (self, 0, sizeof *self);
}

const char *
maas_redis_url_pick (const char *url)
{
    if (url && *url)
        return url;
    const char *from_env = getenv ("MAAS_REDIS_URL");
    return from_env && *from_env ? from_env : MAAS_REDIS_URL_DEFAULT;
}
