/*  redis.c: the synchronous Redis link: connect (URL, AUTH, SELECT), find
 *  the master through Sentinel, follow it, replace a closed connection, and
 *  send a repeatable command again once after reconnecting. */
#include "redis.h"
#include "clock.h"
#include "log.h"

#include <assert.h>
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define S_SENTINEL_TIMEOUT_MS 500    //  per Sentinel asked; the next one is tried after

struct _maas_redis_t {
    char *url;            //  URL text, owned
    char *shown;          //  URL with its password masked, for messages; owned
    char *sentinels;      //  "host:port,...", owned, NULL for none
    char *master;         //  master name behind Sentinel, owned
    int timeout_ms;       //  connect and per-command timeout, 0 for none
    redisContext *ctx;    //  connection, NULL until (re)connected
    int64_t asked_ms;     //  Sentinel last asked where the master is, monotonic
    maas_err_t err;       //  why the last call failed
};

//  -- locating and opening (also behind the older redis_url.h calls)

//  REPLY to SENTINEL get-master-addr-by-name: the address into *URL. 0 or -1.
static int
s_master_addr (const redisReply *reply, maas_redis_url_t *url)
{
    if (!reply || reply->type != REDIS_REPLY_ARRAY || reply->elements != 2
        || reply->element[0]->type != REDIS_REPLY_STRING
        || reply->element[1]->type != REDIS_REPLY_STRING)
        return -1;
    free (url->host);
    url->host = strdup (reply->element[0]->str);
    url->port = atoi (reply->element[1]->str);
    return url->host && url->port > 0 ? 0 : -1;
}

//  An error REPLY into ERR, after "WHO: " unless WHO is NULL; one that
//  says the credentials are wrong or missing (WRONGPASS, NOAUTH) ends with
//  what to check (": check the user and password in WHERE"). -1.
static int
s_fail_auth (maas_err_t *err, const char *who, const char *reply, const char *where)
{
    bool credentials = strncmp (reply, "WRONGPASS", 9) == 0 || strncmp (reply, "NOAUTH", 6) == 0
        || strstr (reply, "without any password configured");
    return maas_err_set (err, MAAS_ERR_REPLY, "%s%s%s%s%s", who ? who : "", who ? ": " : "", reply,
                         credentials ? ": check the user and password in " : "",
                         credentials ? where : "");
}

//  Ask the Sentinel ITEM ("[[user]:password@]host:port", LEN bytes) for
//  MASTER's address into *URL. 0, or -1 with the reason in ERR.
static int
s_ask_sentinel (const char *item, size_t len, const char *master, maas_redis_url_t *url,
                maas_err_t *err)
{
    maas_redis_url_t sentinel;
    if (maas_redis_sentinel_parse (&sentinel, item, len) != 0)
        return maas_err_set (err, MAAS_ERR_INPUT, "Sentinel '%.*s' is not host:port", (int) len,
                             item);
    struct timeval timeout = {.tv_sec = 0, .tv_usec = S_SENTINEL_TIMEOUT_MS * 1000};
    redisContext *ctx = redisConnectWithTimeout (sentinel.host, sentinel.port, timeout);
    redisReply *reply = NULL;
    int rc = -1;
    if (!ctx || ctx->err)
        maas_err_set (err, MAAS_ERR_IO, "Sentinel %s:%d: %s", sentinel.host, sentinel.port,
                      ctx ? ctx->errstr : "out of memory");
    else {
        redisSetTimeout (ctx, timeout);
        if (sentinel.password)
            reply = redisCommand (ctx, "AUTH %s %s", sentinel.user ? sentinel.user : "default",
                                  sentinel.password);
        if (sentinel.password && reply && reply->type == REDIS_REPLY_ERROR)
            s_fail_auth (err, "Sentinel", reply->str, "MAAS_REDIS_SENTINELS");
        else {
            if (reply)
                freeReplyObject (reply);
            reply = redisCommand (ctx, "SENTINEL get-master-addr-by-name %s", master);
            rc = s_master_addr (reply, url);
            if (rc != 0)
                maas_err_set (err, MAAS_ERR_IO, "Sentinel %s:%d does not know master '%s'%s%s",
                              sentinel.host, sentinel.port, master, reply ? "" : ": ",
                              reply ? "" : ctx->errstr);
        }
    }
    if (reply)
        freeReplyObject (reply);
    if (ctx)
        redisFree (ctx);
    maas_redis_url_clear (&sentinel);
    return rc;
}

static bool
s_has_sentinels (const maas_redis_config_t *config)
{
    return config->sentinels && *config->sentinels;
}

//  Where CONFIG's Redis is now into *SELF: the URL, or behind Sentinel the
//  master it names with the URL's credentials and database. 0 or -1.
static int
s_locate (maas_redis_url_t *self, const maas_redis_config_t *config, maas_err_t *err)
{
    if (maas_redis_url_parse (self, config->url, err) != 0)
        return -1;
    if (!s_has_sentinels (config))
        return 0;
    const char *master =
        config->master && *config->master ? config->master : MAAS_REDIS_MASTER_DEFAULT;
    int rc = -1;
    maas_err_t why = {0};
    for (const char *item = config->sentinels; *item && rc != 0;) {
        size_t len = strcspn (item, ", ");
        if (len)
            rc = s_ask_sentinel (item, len, master, self, &why);
        item += len + (item[len] ? 1 : 0);
    }
    if (rc != 0) {
        char shown[512];
        maas_redis_url_clear (self);
        return maas_err_set (err, why.code == MAAS_ERR_REPLY ? MAAS_ERR_REPLY : MAAS_ERR_IO,
                             "no Sentinel in '%s' knows master '%s' (last: %s)",
                             maas_redis_url_mask (config->sentinels, shown, sizeof shown), master,
                             why.text);
    }
    free (self->path);    //  Sentinel names a TCP address, never a socket
    self->path = NULL;
    maas_debug ("redis", "sentinel names master name=%s addr=%s:%d", master, self->host,
                self->port);
    return 0;
}

//  0 if REPLY (freed here) is not an error; else -1 with WHAT in ERR.
static int
s_expect_ok (redisContext *ctx, redisReply *reply, const char *what, maas_err_t *err)
{
    int rc = 0;
    if (!reply)
        rc = maas_err_set (err, MAAS_ERR_IO, "%s: %s", what, ctx->errstr);
    else if (reply->type == REDIS_REPLY_ERROR)
        rc = maas_err_set (err, MAAS_ERR_REPLY, "%s: %s", what, reply->str);
    if (reply)
        freeReplyObject (reply);
    return rc;
}

static int
s_handshake (redisContext *ctx, const maas_redis_url_t *url, maas_err_t *err)
{
    if (url->password) {
        redisReply *reply = url->user ? redisCommand (ctx, "AUTH %s %s", url->user, url->password)
                                      : redisCommand (ctx, "AUTH %s", url->password);
        if (reply && reply->type == REDIS_REPLY_ERROR) {
            s_fail_auth (err, "redis", reply->str, "the Redis URL");
            freeReplyObject (reply);
            return -1;
        }
        if (s_expect_ok (ctx, reply, "redis AUTH", err) != 0)
            return -1;
    }
    if (url->db != 0
        && s_expect_ok (ctx, redisCommand (ctx, "SELECT %d", url->db), "redis SELECT", err) != 0)
        return -1;
    return 0;
}

//  Behind Sentinel, a server we reach may be a demoted master: check ROLE.
static int
s_check_master (redisContext *ctx, const maas_redis_config_t *config, maas_err_t *err)
{
    if (!s_has_sentinels (config))
        return 0;
    redisReply *reply = redisCommand (ctx, "ROLE");
    bool master = reply && reply->type == REDIS_REPLY_ARRAY && reply->elements > 0
        && reply->element[0]->type == REDIS_REPLY_STRING
        && strcmp (reply->element[0]->str, "master") == 0;
    if (reply)
        freeReplyObject (reply);
    if (!master)
        return maas_err_set (err, MAAS_ERR_IO,
                             "redis: Sentinel's master is not a master yet (failover under way)");
    return 0;
}

static redisContext *
s_dial (const maas_redis_url_t *url, int timeout_ms)
{
    struct timeval timeout = {.tv_sec = timeout_ms / 1000, .tv_usec = (timeout_ms % 1000) * 1000};
    if (url->path)
        return timeout_ms ? redisConnectUnixWithTimeout (url->path, timeout)
                          : redisConnectUnix (url->path);
    return timeout_ms ? redisConnectWithTimeout (url->host, url->port, timeout)
                      : redisConnect (url->host, url->port);
}

//  A connected, authenticated context on the master, or NULL with ERR.
static redisContext *
s_open (const maas_redis_config_t *config, int timeout_ms, maas_err_t *err)
{
    maas_redis_url_t url;
    if (s_locate (&url, config, err) != 0)
        return NULL;
    redisContext *ctx = s_dial (&url, timeout_ms);
    if (!ctx || ctx->err) {
        char shown[512];
        maas_err_set (err, MAAS_ERR_IO, "redis %s: %s",
                      maas_redis_url_mask (config->url, shown, sizeof shown),
                      ctx ? ctx->errstr : strerror (ENOMEM));
        goto fail;
    }
    if (timeout_ms) {
        struct timeval timeout = {.tv_sec = timeout_ms / 1000,
                                  .tv_usec = (timeout_ms % 1000) * 1000};
        redisSetTimeout (ctx, timeout);
    }
    if (s_handshake (ctx, &url, err) != 0 || s_check_master (ctx, config, err) != 0)
        goto fail;
    maas_redis_url_clear (&url);
    return ctx;
fail:
    if (ctx)
        redisFree (ctx);
    maas_redis_url_clear (&url);
    return NULL;
}

//  -- the older calls of redis_url.h, over the same code

int
maas_redis_locate (maas_redis_url_t *self, const maas_redis_config_t *config, maas_err_t *err)
{
    maas_redis_config_t picked = *config;
    picked.url = maas_redis_url_pick (config->url);
    return s_locate (self, &picked, err);
}

redisContext *
maas_redis_connect (const maas_redis_config_t *config, int timeout_ms, maas_err_t *err)
{
    maas_redis_config_t picked = *config;
    picked.url = maas_redis_url_pick (config->url);
    return s_open (&picked, timeout_ms, err);
}

int
maas_redis_handshake (redisContext *ctx, const maas_redis_url_t *url, maas_err_t *err)
{
    return s_handshake (ctx, url, err);
}

//  -- the link

static maas_redis_config_t
s_config (const maas_redis_t *self)
{
    return (maas_redis_config_t){
        .url = self->url, .sentinels = self->sentinels, .master = self->master};
}

maas_redis_t *
maas_redis_new (const maas_redis_config_t *config, int timeout_ms, maas_err_t *err)
{
    assert (config);
    maas_redis_t *self = calloc (1, sizeof *self);
    if (!self) {
        maas_err_set (err, MAAS_ERR_NOMEM, "redis: out of memory");
        return NULL;
    }
    self->url = strdup (maas_redis_url_pick (config->url));
    char shown[512];
    self->shown = strdup (maas_redis_url_mask (self->url, shown, sizeof shown));
    self->master =
        strdup (config->master && *config->master ? config->master : MAAS_REDIS_MASTER_DEFAULT);
    self->sentinels = s_has_sentinels (config) ? strdup (config->sentinels) : NULL;
    self->timeout_ms = timeout_ms;
    self->asked_ms = maas_clock_mono_ms ();
    if (!self->url || !self->shown || !self->master
        || (s_has_sentinels (config) && !self->sentinels)) {
        maas_err_set (err, MAAS_ERR_NOMEM, "redis: out of memory");
        maas_redis_destroy (&self);
        return NULL;
    }
    maas_redis_config_t own = s_config (self);
    if (!(self->ctx = s_open (&own, timeout_ms, err)))
        maas_redis_destroy (&self);
    return self;
}

void
maas_redis_destroy (maas_redis_t **self_p)
{
    assert (self_p);
    maas_redis_t *self = *self_p;
    if (!self)
        return;
    if (self->ctx)
        redisFree (self->ctx);
    free (self->url);
    free (self->shown);
    free (self->sentinels);
    free (self->master);
    free (self);
    *self_p = NULL;
}

const maas_err_t *
maas_redis_err (const maas_redis_t *self)
{
    assert (self);
    return &self->err;
}

const char *
maas_redis_url (const maas_redis_t *self)
{
    assert (self);
    return self->url;
}

bool
maas_redis_master_moved (maas_redis_t *self, const char *what)
{
    assert (self);
    redisContext *ctx = self->ctx;
    if (!ctx || ctx->err || !self->sentinels || ctx->connection_type != REDIS_CONN_TCP)
        return false;
    int64_t now = maas_clock_mono_ms ();
    if (now - self->asked_ms < MAAS_REDIS_SENTINEL_EVERY_MS)
        return false;
    self->asked_ms = now;
    maas_redis_url_t master;
    maas_err_t ignored;
    maas_redis_config_t config = s_config (self);
    if (s_locate (&master, &config, &ignored) != 0)
        return false;    //  no answer: keep what we have
    bool moved =
        master.host && (strcmp (master.host, ctx->tcp.host) != 0 || master.port != ctx->tcp.port);
    if (moved)
        maas_warn ("redis", "master moved %s from=%s:%d to=%s:%d", what, ctx->tcp.host,
                   ctx->tcp.port, master.host, master.port);
    maas_redis_url_clear (&master);
    return moved;
}

//  true if Redis closed our idle connection (a restart, or Sentinel
//  dropping a demoted master's clients): its socket reads as EOF. Without
//  this the next command would fail with "Broken pipe" or an EOF.
static bool
s_closed_by_peer (redisContext *ctx)
{
    struct pollfd item = {.fd = ctx->fd, .events = POLLIN};
    if (poll (&item, 1, 0) <= 0)
        return false;
    //  Readable with nothing asked: EOF, or bytes we cannot place (either
    //  way this connection is done).
    return true;
}

int
maas_redis_ready (maas_redis_t *self, bool write)
{
    assert (self);
    if (write)
        self->asked_ms = 0;    //  a write always asks Sentinel first
    if (self->ctx
        && (maas_redis_master_moved (self, "connection=commands") || self->ctx->err
            || s_closed_by_peer (self->ctx))) {
        maas_info ("redis", "reconnect url=%s reason=\"%s\"", self->shown,
                   self->ctx->err ? self->ctx->errstr : "server moved or closed the connection");
        redisFree (self->ctx);
        self->ctx = NULL;
    }
    if (self->ctx)
        return 0;
    maas_redis_config_t config = s_config (self);
    self->ctx = s_open (&config, self->timeout_ms, &self->err);
    return self->ctx ? 0 : -1;
}

int
maas_redis_fail_io (maas_redis_t *self, const char *what)
{
    assert (self);
    return maas_err_set (&self->err, MAAS_ERR_IO, "%s: redis: %s", what,
                         self->ctx ? self->ctx->errstr : "not connected");
}

redisContext *
maas_redis_context (maas_redis_t *self)
{
    assert (self);
    return self->ctx;
}

//  How long a link that was up waits for Redis to come back before a
//  command fails: long enough for a restart loading its AOF or a failover,
//  so a worker or trainer rides it out instead of failing every job it
//  holds in that second (the broker would retry those at once and use up
//  their attempts); shorter than a broker's default liveness for a worker.
#define S_OUTAGE_MS 2000

//  Whether REPLY is Redis saying it is still loading its data: the
//  command was not run, so sending it again is safe.
static bool
s_loading (const redisReply *reply)
{
    return reply->type == REDIS_REPLY_ERROR && strncmp (reply->str, "LOADING", 7) == 0;
}

//  Send the formatted command CMD (LEN bytes) once and read its reply into
//  *REPLY. Returns 0 with the reply; 1 if nothing reached Redis or it did
//  not run the command (no connection, LOADING), so any command may go
//  again; 2 if the connection broke after sending (again only when
//  repeatable); -1 for a failure waiting will not mend (self->err set).
static int
s_try_once (maas_redis_t *self, const char *cmd, size_t len, redisReply **reply)
{
    *reply = NULL;
    if (maas_redis_ready (self, false) != 0)
        return self->err.code == MAAS_ERR_IO ? 1 : -1;
    if (redisAppendFormattedCommand (self->ctx, cmd, len) == REDIS_OK
        && redisGetReply (self->ctx, (void **) reply) == REDIS_OK) {
        if (!s_loading (*reply))
            return 0;
        maas_err_set (&self->err, MAAS_ERR_IO, "redis %s: %s", self->shown, (*reply)->str);
        freeReplyObject (*reply);
        *reply = NULL;
        return 1;
    }
    maas_err_set (&self->err, MAAS_ERR_IO, "redis %s: %s", self->shown, self->ctx->errstr);
    bool broken = self->ctx->err == REDIS_ERR_EOF || self->ctx->err == REDIS_ERR_IO;
    return broken ? 2 : -1;
}

//  Send CMD and read its reply, riding out an outage up to S_OUTAGE_MS:
//  again after a pause while Redis cannot be reached or is loading, and
//  over a new connection when REPEATABLE and the connection broke after
//  sending (a command that changes state and may have run is not sent
//  twice).
static redisReply *
s_round_trip (maas_redis_t *self, bool repeatable, const char *cmd, size_t len)
{
    int64_t give_up = maas_clock_mono_ms () + S_OUTAGE_MS;
    redisReply *reply = NULL;
    for (int pause_ms = 25;; pause_ms = pause_ms < 400 ? 2 * pause_ms : 400) {
        int rc = s_try_once (self, cmd, len, &reply);
        if (rc == 0 || rc == -1 || (rc == 2 && !repeatable)
            || maas_clock_mono_ms () + pause_ms > give_up)
            break;
        maas_warn ("redis", "%s, trying again url=%s reason=\"%s\"",
                   rc == 2 ? "connection lost" : "redis not ready", self->shown, self->err.text);
        struct timespec pause = {.tv_nsec = (long) pause_ms * 1000000L};
        nanosleep (&pause, NULL);
    }
    if (!reply)
        return NULL;
    if (reply->type == REDIS_REPLY_ERROR) {
        s_fail_auth (&self->err, NULL, reply->str, "the Redis URL");
        freeReplyObject (reply);
        return NULL;
    }
    return reply;
}

redisReply *
maas_redis_command (maas_redis_t *self, bool repeatable, int argc, const char **argv,
                    const size_t *lens)
{
    assert (self && argc > 0);
    char *cmd = NULL;
    long long len = redisFormatCommandArgv (&cmd, argc, argv, lens);
    if (len < 0) {
        maas_err_set (&self->err, MAAS_ERR_NOMEM, "redis %s: out of memory", self->shown);
        return NULL;
    }
    redisReply *reply = s_round_trip (self, repeatable, cmd, (size_t) len);
    redisFreeCommand (cmd);
    return reply;
}

redisReply *
maas_redis_commandf (maas_redis_t *self, bool repeatable, const char *fmt, ...)
{
    assert (self && fmt);
    char *cmd = NULL;
    va_list args;
    va_start (args, fmt);
    int len = redisvFormatCommand (&cmd, fmt, args);
    va_end (args);
    if (len < 0) {
        maas_err_set (&self->err, MAAS_ERR_NOMEM, "redis %s: out of memory or bad format",
                      self->shown);
        return NULL;
    }
    redisReply *reply = s_round_trip (self, repeatable, cmd, (size_t) len);
    redisFreeCommand (cmd);
    return reply;
}
