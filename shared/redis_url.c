/*  redis_url.c: parsing Redis URLs and opening synchronous connections. */
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

static int
s_expect_ok (redisContext *ctx, redisReply *reply, const char *what, char *err,
             size_t err_size)
{
    int rc = 0;
    if (!reply) {
        snprintf (err, err_size, "%s: %s", what, ctx->errstr);
        rc = -1;
    } else if (reply->type == REDIS_REPLY_ERROR) {
        snprintf (err, err_size, "%s: %s", what, reply->str);
        rc = -1;
    }
    if (reply)
        freeReplyObject (reply);
    return rc;
}

int
maas_redis_handshake (redisContext *ctx, const maas_redis_url_t *url, char *err,
                      size_t err_size)
{
    if (url->password) {
        redisReply *reply = url->user
            ? redisCommand (ctx, "AUTH %s %s", url->user, url->password)
            : redisCommand (ctx, "AUTH %s", url->password);
        if (s_expect_ok (ctx, reply, "redis AUTH", err, err_size) != 0)
            return -1;
    }
    if (url->db != 0
        && s_expect_ok (ctx, redisCommand (ctx, "SELECT %d", url->db), "redis SELECT", err,
                        err_size) != 0)
        return -1;
    return 0;
}

#define S_SENTINEL_TIMEOUT_MS 500   //  per Sentinel asked; the next one is tried after

//  Ask the Sentinel at HOST_PORT ("h:p") for MASTER's address into *URL.
static int
s_ask_sentinel (const char *host_port, const char *master, maas_redis_url_t *url)
{
    char host[256];
    const char *colon = strrchr (host_port, ':');
    if (!colon || (size_t) (colon - host_port) >= sizeof host)
        return -1;
    snprintf (host, sizeof host, "%.*s", (int) (colon - host_port), host_port);
    struct timeval timeout = {.tv_sec = 0, .tv_usec = S_SENTINEL_TIMEOUT_MS * 1000};
    redisContext *ctx = redisConnectWithTimeout (host, atoi (colon + 1), timeout);
    int rc = -1;
    if (ctx && !ctx->err) {
        redisSetTimeout (ctx, timeout);
        redisReply *reply = redisCommand (ctx, "SENTINEL get-master-addr-by-name %s", master);
        if (reply && reply->type == REDIS_REPLY_ARRAY && reply->elements == 2
            && reply->element[0]->type == REDIS_REPLY_STRING) {
            free (url->host);
            url->host = strdup (reply->element[0]->str);
            url->port = atoi (reply->element[1]->str);
            rc = url->host && url->port > 0 ? 0 : -1;
        }
        if (reply)
            freeReplyObject (reply);
    }
    if (ctx)
        redisFree (ctx);
    return rc;
}

int
maas_redis_locate (maas_redis_url_t *self, const char *url, char *err, size_t err_size)
{
    if (maas_redis_url_parse (self, url, err, err_size) != 0)
        return -1;
    const char *sentinels = getenv ("MAAS_REDIS_SENTINELS");
    if (!sentinels || !*sentinels)
        return 0;
    const char *master = getenv ("MAAS_REDIS_MASTER");
    master = master && *master ? master : "mymaster";
    char *list = strdup (sentinels), *saveptr = NULL;
    int rc = -1;
    for (char *item = strtok_r (list, ", ", &saveptr); item && rc != 0;
         item = strtok_r (NULL, ", ", &saveptr))
        rc = s_ask_sentinel (item, master, self);
    free (list);
    if (rc == 0) {
        free (self->path);          //  Sentinel names a TCP address, never a socket
        self->path = NULL;
        maas_debug ("redis", "sentinel names master name=%s addr=%s:%d", master, self->host,
                    self->port);
    } else {
        snprintf (err, err_size, "no Sentinel in '%s' knows master '%s'", sentinels, master);
        maas_redis_url_clear (self);
    }
    return rc;
}

//  Behind Sentinel, a server we reach may be a demoted master: check ROLE.
static int
s_check_master (redisContext *ctx, char *err, size_t err_size)
{
    const char *sentinels = getenv ("MAAS_REDIS_SENTINELS");
    if (!sentinels || !*sentinels)
        return 0;
    redisReply *reply = redisCommand (ctx, "ROLE");
    bool master = reply && reply->type == REDIS_REPLY_ARRAY && reply->elements > 0
               && reply->element[0]->type == REDIS_REPLY_STRING
               && strcmp (reply->element[0]->str, "master") == 0;
    if (reply)
        freeReplyObject (reply);
    if (!master)
        snprintf (err, err_size, "redis: Sentinel's master is not a master yet (failover under way)");
    return master ? 0 : -1;
}

redisContext *
maas_redis_connect (const char *url_text, int timeout_ms, char *err, size_t err_size)
{
    maas_redis_url_t url;
    if (maas_redis_locate (&url, url_text, err, err_size) != 0)
        return NULL;
    struct timeval timeout = {.tv_sec = timeout_ms / 1000, .tv_usec = (timeout_ms % 1000) * 1000};
    redisContext *ctx = NULL;
    if (url.path)
        ctx = timeout_ms ? redisConnectUnixWithTimeout (url.path, timeout)
                         : redisConnectUnix (url.path);
    else
        ctx = timeout_ms ? redisConnectWithTimeout (url.host, url.port, timeout)
                         : redisConnect (url.host, url.port);
    if (!ctx || ctx->err) {
        snprintf (err, err_size, "redis %s: %s", url_text,
                  ctx ? ctx->errstr : strerror (ENOMEM));
        goto fail;
    }
    if (timeout_ms)
        redisSetTimeout (ctx, timeout);
    if (maas_redis_handshake (ctx, &url, err, err_size) != 0
        || s_check_master (ctx, err, err_size) != 0)
        goto fail;
    maas_redis_url_clear (&url);
    return ctx;
fail:
    if (ctx)
        redisFree (ctx);
    maas_redis_url_clear (&url);
    return NULL;
}
