/*  redis_url.c: parsing Redis URLs (connections: redis.c). */
#include "redis_url.h"
#include "log.h"

#include <assert.h>
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

//  "redis URL '<url, password masked>': WHY" into ERR. -1.
static int
s_bad_url (maas_err_t *err, const char *url, const char *why)
{
    char shown[512];
    maas_redis_url_mask (url, shown, sizeof shown);
    return maas_err_set (err, MAAS_ERR_INPUT, "redis URL '%s': %s", shown, why);
}

//  "[user]:password@" or "password@" ending at AT (from START) into SELF.
static void
s_parse_credentials (maas_redis_url_t *self, const char *start, const char *at)
{
    const char *colon = memchr (start, ':', (size_t) (at - start));
    if (colon) {
        self->user = s_strndup_or_null (start, (size_t) (colon - start));
        self->password = s_strndup_or_null (colon + 1, (size_t) (at - colon - 1));
    }
    else
        self->password = s_strndup_or_null (start, (size_t) (at - start));
}

static int
s_parse_tcp (maas_redis_url_t *self, const char *url, const char *rest, maas_err_t *err)
{
    const char *at = strrchr (rest, '@');
    const char *slash = strchr (at ? at : rest, '/');
    if (at) {
        s_parse_credentials (self, rest, at);
        rest = at + 1;
    }
    size_t host_len = slash ? (size_t) (slash - rest) : strlen (rest);
    const char *colon = memchr (rest, ':', host_len);
    self->port = 6379;
    if (colon) {
        char *end;
        long port = strtol (colon + 1, &end, 10);
        if (end != rest + host_len || port <= 0 || port > 65535)
            return s_bad_url (err, url, "port must be 1-65535");
        self->port = (int) port;
        host_len = (size_t) (colon - rest);
    }
    self->host = host_len ? strndup (rest, host_len) : strdup ("127.0.0.1");
    if (slash && slash[1]) {
        char *end;
        long db = strtol (slash + 1, &end, 10);
        if (*end || db < 0 || db > 1 << 20)
            return s_bad_url (err, url, "database must be a number");
        self->db = (int) db;
    }
    return 0;
}

//  "[[user]:password@]/path[?db=N]" after "unix://".
static int
s_parse_unix (maas_redis_url_t *self, const char *url, const char *rest, maas_err_t *err)
{
    const char *at = strstr (rest, "@/");
    if (at && rest[0] != '/') {
        s_parse_credentials (self, rest, at);
        rest = at + 1;
    }
    if (rest[0] != '/')
        return s_bad_url (err, url, "unix socket path must be absolute");
    const char *query = strstr (rest, "?db=");
    self->path = query ? strndup (rest, (size_t) (query - rest)) : strdup (rest);
    self->db = query ? atoi (query + 4) : 0;
    return self->db >= 0 ? 0 : s_bad_url (err, url, "database must be a number");
}

int
maas_redis_url_parse (maas_redis_url_t *self, const char *url, maas_err_t *err)
{
    memset (self, 0, sizeof *self);
    int rc;
    if (strncmp (url, "redis://", 8) == 0)
        rc = s_parse_tcp (self, url, url + 8, err);
    else if (strncmp (url, "unix://", 7) == 0)
        rc = s_parse_unix (self, url, url + 7, err);
    else
        rc = s_bad_url (err, url, "unknown scheme, use redis://host:port or unix:///path");
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
    return url && *url ? url : MAAS_REDIS_URL_DEFAULT;
}

//  Copy ITEM (LEN bytes, one URL or one "host:port" of a list) to OUT with
//  the password between the credentials' ':' (or their start) and '@' masked.
static size_t
s_mask_item (const char *item, size_t len, char *out, size_t size, size_t used)
{
    const char *creds = strncmp (item, "redis://", 8) == 0 ? item + 8
        : strncmp (item, "unix://", 7) == 0                ? item + 7
                                                           : item;
    const char *at = NULL;
    for (const char *p = creds; p < item + len; p++)
        if (*p == '@')
            at = p;    //  the last '@': a password may hold one
    const char *colon = at ? memchr (creds, ':', (size_t) (at - creds)) : NULL;
    const char *secret = colon ? colon + 1 : creds;
    if (!at)
        return used + (size_t) snprintf (out + used, size - used, "%.*s", (int) len, item);
    return used
        + (size_t) snprintf (out + used, size - used, "%.*s***%.*s", (int) (secret - item), item,
                             (int) (item + len - at), at);
}

char *
maas_redis_url_mask (const char *text, char *out, size_t size)
{
    assert (out && size > 0);
    out[0] = '\0';
    size_t used = 0;
    bool one_url = text && strstr (text, "://");    //  else a Sentinel list
    for (const char *item = text; item && *item && used < size;) {
        const char *comma = one_url ? NULL : strchr (item, ',');
        size_t len = comma ? (size_t) (comma - item) + 1 : strlen (item);
        used = s_mask_item (item, len, out, size, used);
        item += len;
    }
    return out;
}

int
maas_redis_sentinel_parse (maas_redis_url_t *self, const char *item, size_t len)
{
    memset (self, 0, sizeof *self);
    const char *end = item + len, *at = NULL;
    for (const char *p = item; p < end; p++)
        if (*p == '@')
            at = p;
    if (at) {
        s_parse_credentials (self, item, at);
        item = at + 1;
    }
    const char *colon = NULL;
    for (const char *p = item; p < end; p++)
        if (*p == ':')
            colon = p;
    char *stop = NULL;
    long port = colon ? strtol (colon + 1, &stop, 10) : 0;
    if (!colon || colon == item || stop != end || port <= 0 || port > 65535) {
        maas_redis_url_clear (self);
        return -1;
    }
    self->host = strndup (item, (size_t) (colon - item));
    self->port = (int) port;
    return self->host ? 0 : -1;
}
