/*  store.c: the job store over a hiredis async context. Multi-key updates
 *  are two small Lua scripts (loaded on connect, called by SHA) so each job
 *  event is one pipelined command. On a lost connection every pending
 *  callback gets NULL and the store retries every RETRY_MS. */
#include "store.h"
#include "clock.h"
#include "log.h"
#include "redis_url.h"

#include <czmq.h>
#include <hiredis/async.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

//  KEYS: job, pending, events. ARGV: id, score, events max, fields...
static const char s_submit_lua[] =
    "local f = redis.call('HMGET', KEYS[1], 'status', 'error', 'result_header', 'result')\n"
    "if f[1] then return f end\n"
    "redis.call('HSET', KEYS[1], 'status', 'queued', unpack(ARGV, 4))\n"
    "redis.call('ZADD', KEYS[2], ARGV[2], ARGV[1])\n"
    "redis.call('XADD', KEYS[3], 'MAXLEN', '~', ARGV[3], '*', 'id', ARGV[1], "
    "'status', 'queued')\n"
    "return 'new'\n";

//  KEYS: job, pending, events. ARGV: id, status, ttl ms, events max, final, fields...
static const char s_update_lua[] =
    "if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end\n"
    "redis.call('HSET', KEYS[1], 'status', ARGV[2], unpack(ARGV, 6))\n"
    "if ARGV[5] == '1' then\n"
    "  redis.call('HDEL', KEYS[1], 'payload')\n"
    "  redis.call('ZREM', KEYS[2], ARGV[1])\n"
    "  if tonumber(ARGV[3]) > 0 then redis.call('PEXPIRE', KEYS[1], ARGV[3]) end\n"
    "end\n"
    "redis.call('XADD', KEYS[3], 'MAXLEN', '~', ARGV[4], '*', 'id', ARGV[1], "
    "'status', ARGV[2])\n"
    "return 1\n";

#define S_ARGS_MAX 48               //  arguments in one command

struct _maas_store_t {
    char *url;                      //  Redis URL, owned
    maas_redis_url_t where;         //  parsed URL
    char *prefix;                   //  key prefix, owned
    char *broker;                   //  this broker's name, owned
    int64_t ttl_ms;                 //  finished jobs expire after this
    char events_max[24];            //  MAXLEN ~ for the events stream
    char submit_sha[41];            //  SHA1 of s_submit_lua
    char update_sha[41];            //  SHA1 of s_update_lua
    redisAsyncContext *ac;          //  connection, NULL while down
    bool connected;                 //  TCP/unix connect completed
    bool want_write;                //  hiredis has output to write
    bool fresh;                     //  came up since the caller last asked
    bool closing;                   //  being destroyed: ignore callbacks
    int retry_ms;                   //  delay between reconnect attempts
    int64_t retry_at;               //  next attempt, monotonic ms
    char err[256];                  //  why it is down
};

static void
s_sha1 (const char *text, char hex[41])
{
    zdigest_t *digest = zdigest_new ();
    zdigest_update (digest, (const byte *) text, strlen (text));
    const char *upper = zdigest_string (digest);
    for (int i = 0; i < 40; i++)
        hex[i] = (char) (upper[i] >= 'A' && upper[i] <= 'F' ? upper[i] + 32 : upper[i]);
    hex[40] = '\0';
    zdigest_destroy (&digest);
}

//  hiredis event hooks: we only need to know whether it wants to write.
static void s_add_write (void *data) { ((maas_store_t *) data)->want_write = true; }
static void s_del_write (void *data) { ((maas_store_t *) data)->want_write = false; }
static void s_noop (void *data) {}

static void
s_on_connect (const redisAsyncContext *ac, int status)
{
    maas_store_t *self = ac->data;
    if (status != REDIS_OK)
        return;                     //  s_on_disconnect follows
    self->connected = true;
    maas_info ("store", "redis connected url=%s", self->url);
}

static void
s_on_disconnect (const redisAsyncContext *ac, int status)
{
    maas_store_t *self = ac->data;
    if (self->closing)
        return;
    snprintf (self->err, sizeof self->err, "job store unavailable: redis %s: %s", self->url,
              ac->errstr[0] ? ac->errstr : "connection closed");
    maas_warn ("store", "redis down url=%s error=%s", self->url, self->err);
    self->ac = NULL;                //  hiredis frees it after this returns
    self->connected = false;
    self->want_write = false;
    self->retry_at = maas_clock_mono_ms () + self->retry_ms;
}

//  A handshake or script-load reply: an error here makes the store useless.
static void
s_on_setup (redisAsyncContext *ac, void *r, void *what)
{
    redisReply *reply = r;
    maas_store_t *self = ac->data;
    if (!reply || self->closing || reply->type != REDIS_REPLY_ERROR)
        return;
    snprintf (ac->errstr, sizeof ac->c.errstr, "%s failed: %s", (const char *) what, reply->str);
    maas_error ("store", "redis setup failed url=%s step=%s error=%s", self->url,
                (const char *) what, reply->str);
    redisAsyncDisconnect (ac);
}

static int
s_command (maas_store_t *self, redisCallbackFn *fn, void *arg, int argc, const char **argv,
           const size_t *lens)
{
    if (!self->ac)
        return -1;
    return redisAsyncCommandArgv (self->ac, fn, arg, argc, argv, lens) == REDIS_OK ? 0 : -1;
}

static void
s_setup (maas_store_t *self)
{
    char db[16];
    snprintf (db, sizeof db, "%d", self->where.db);
    if (self->where.password) {
        const char *argv[3] = {"AUTH", self->where.user ? self->where.user : "default",
                               self->where.password};
        size_t lens[3] = {4, strlen (argv[1]), strlen (argv[2])};
        s_command (self, s_on_setup, "AUTH", 3, argv, lens);
    }
    if (self->where.db) {
        const char *argv[2] = {"SELECT", db};
        size_t lens[2] = {6, strlen (db)};
        s_command (self, s_on_setup, "SELECT", 2, argv, lens);
    }
    const char *scripts[2] = {s_submit_lua, s_update_lua};
    for (int i = 0; i < 2; i++) {
        const char *argv[3] = {"SCRIPT", "LOAD", scripts[i]};
        size_t lens[3] = {6, 4, strlen (scripts[i])};
        s_command (self, s_on_setup, "SCRIPT LOAD", 3, argv, lens);
    }
}

static void
s_connect (maas_store_t *self)
{
    redisAsyncContext *ac = self->where.path ? redisAsyncConnectUnix (self->where.path)
                                             : redisAsyncConnect (self->where.host,
                                                                  self->where.port);
    self->retry_at = maas_clock_mono_ms () + self->retry_ms;
    if (!ac || ac->err) {
        snprintf (self->err, sizeof self->err, "job store unavailable: redis %s: %s",
                  self->url, ac ? ac->errstr : "out of memory");
        if (ac)
            redisAsyncFree (ac);
        return;
    }
    ac->data = self;
    ac->ev.data = self;
    ac->ev.addRead = s_noop;
    ac->ev.delRead = s_noop;
    ac->ev.addWrite = s_add_write;
    ac->ev.delWrite = s_del_write;
    ac->ev.cleanup = s_noop;
    redisAsyncSetConnectCallback (ac, s_on_connect);
    redisAsyncSetDisconnectCallback (ac, s_on_disconnect);
    self->ac = ac;
    self->connected = false;
    self->want_write = true;        //  the connect completes on writability
    self->fresh = true;
    self->err[0] = '\0';
    s_setup (self);
}

maas_store_t *
maas_store_new (const char *url, const char *prefix, const char *broker, int64_t ttl_ms,
                int events_max)
{
    maas_store_t *self = calloc (1, sizeof *self);
    if (!self)
        return NULL;
    char err[256];
    if (maas_redis_url_parse (&self->where, url, err, sizeof err) != 0) {
        maas_error ("store", "bad redis url error=%s", err);
        free (self);
        return NULL;
    }
    self->url = strdup (url);
    self->prefix = strdup (prefix);
    self->broker = strdup (broker);
    self->ttl_ms = ttl_ms;
    snprintf (self->events_max, sizeof self->events_max, "%d", events_max);
    self->retry_ms = 1000;
    s_sha1 (s_submit_lua, self->submit_sha);
    s_sha1 (s_update_lua, self->update_sha);
    s_connect (self);
    return self;
}

void
maas_store_destroy (maas_store_t **self_p)
{
    maas_store_t *self = *self_p;
    if (!self)
        return;
    self->closing = true;
    if (self->ac) {
        //  Callbacks still run (with NULL replies) so owners can let go.
        redisAsyncFree (self->ac);
        self->ac = NULL;
    }
    maas_redis_url_clear (&self->where);
    free (self->url);
    free (self->prefix);
    free (self->broker);
    free (self);
    *self_p = NULL;
}

bool maas_store_up (const maas_store_t *self) { return self->ac != NULL; }
const char *maas_store_error (const maas_store_t *self) { return self->err; }
void maas_store_set_retry (maas_store_t *self, int retry_ms) { self->retry_ms = retry_ms; }

bool
maas_store_fresh (maas_store_t *self)
{
    bool fresh = self->fresh && self->ac;
    self->fresh = false;
    return fresh;
}

void
maas_store_poll_item (maas_store_t *self, zmq_pollitem_t *item)
{
    *item = (zmq_pollitem_t) {NULL, -1, 0, 0};
    if (self->ac) {
        item->fd = self->ac->c.fd;
        item->events = ZMQ_POLLIN | (self->want_write ? ZMQ_POLLOUT : 0);
    }
}

void
maas_store_io (maas_store_t *self, short revents)
{
    if (self->ac && (revents & (ZMQ_POLLIN | ZMQ_POLLERR)))
        redisAsyncHandleRead (self->ac);
    //  Before the connect completes, writing is only safe once writable.
    if (self->ac && !self->connected && (revents & ZMQ_POLLOUT))
        redisAsyncHandleWrite (self->ac);
}

void
maas_store_flush (maas_store_t *self)
{
    if (self->ac && self->connected && self->want_write)
        redisAsyncHandleWrite (self->ac);
}

void
maas_store_tick (maas_store_t *self, int64_t now_ms)
{
    if (!self->ac && now_ms >= self->retry_at)
        s_connect (self);
}

//  Build "<prefix><middle><id>" into BUF.
static const char *
s_key (maas_store_t *self, char *buf, size_t size, const char *middle, const char *id)
{
    snprintf (buf, size, "%s%s%s", self->prefix, middle, id);
    return buf;
}

//  Append FIELDS to ARGV/LENS from position AT; returns the new count or -1.
static int
s_add_fields (const char **argv, size_t *lens, int at, const maas_store_field_t *fields,
              size_t count)
{
    if (at + 2 * (int) count > S_ARGS_MAX)
        return -1;
    for (size_t i = 0; i < count; i++) {
        argv[at] = fields[i].name;
        lens[at++] = strlen (fields[i].name);
        argv[at] = fields[i].value ? fields[i].value : "";
        lens[at++] = fields[i].value ? fields[i].size : 0;
    }
    return at;
}

//  Queue a command whose reply goes to FN(ARG); NULL FN: reply ignored.
static int
s_call (maas_store_t *self, maas_store_fn *fn, void *arg, int argc, const char **argv,
        const size_t *lens)
{
    return s_command (self, fn, arg, argc, argv, lens);
}

int
maas_store_submit (maas_store_t *self, const char *id, int64_t score,
                   const maas_store_field_t *fields, size_t count, maas_store_fn *fn, void *arg)
{
    char job[160], pending[96], events[96], score_text[24];
    snprintf (score_text, sizeof score_text, "%lld", (long long) score);
    const char *argv[S_ARGS_MAX] = {"EVALSHA", self->submit_sha, "3",
                                    s_key (self, job, sizeof job, "job:", id),
                                    s_key (self, pending, sizeof pending, "pending", ""),
                                    s_key (self, events, sizeof events, "events", ""), id,
                                    score_text, self->events_max};
    size_t lens[S_ARGS_MAX];
    for (int i = 0; i < 9; i++)
        lens[i] = strlen (argv[i]);
    int argc = s_add_fields (argv, lens, 9, fields, count);
    return argc < 0 ? -1 : s_call (self, fn, arg, argc, argv, lens);
}

int
maas_store_update (maas_store_t *self, const char *id, const char *status, bool final,
                   const maas_store_field_t *fields, size_t count)
{
    char job[160], pending[96], events[96], ttl[24];
    snprintf (ttl, sizeof ttl, "%lld", (long long) self->ttl_ms);
    const char *argv[S_ARGS_MAX] = {"EVALSHA", self->update_sha, "3",
                                    s_key (self, job, sizeof job, "job:", id),
                                    s_key (self, pending, sizeof pending, "pending", ""),
                                    s_key (self, events, sizeof events, "events", ""), id,
                                    status, ttl, self->events_max, final ? "1" : "0"};
    size_t lens[S_ARGS_MAX];
    for (int i = 0; i < 11; i++)
        lens[i] = strlen (argv[i]);
    int argc = s_add_fields (argv, lens, 11, fields, count);
    return argc < 0 ? -1 : s_call (self, NULL, NULL, argc, argv, lens);
}

int
maas_store_set (maas_store_t *self, const char *id, const maas_store_field_t *fields,
                size_t count)
{
    char job[160];
    const char *argv[S_ARGS_MAX] = {"HSET", s_key (self, job, sizeof job, "job:", id)};
    size_t lens[S_ARGS_MAX] = {4, strlen (job)};
    int argc = s_add_fields (argv, lens, 2, fields, count);
    return argc < 0 ? -1 : s_call (self, NULL, NULL, argc, argv, lens);
}

int
maas_store_fetch (maas_store_t *self, const char *id, maas_store_fn *fn, void *arg)
{
    char job[160];
    const char *argv[6] = {"HMGET", s_key (self, job, sizeof job, "job:", id), "status",
                           "error", "result_header", "result"};
    size_t lens[6];
    for (int i = 0; i < 6; i++)
        lens[i] = strlen (argv[i]);
    return s_call (self, fn, arg, 6, argv, lens);
}

int
maas_store_pending (maas_store_t *self, maas_store_fn *fn, void *arg)
{
    char pending[96];
    const char *argv[4] = {"ZRANGE", s_key (self, pending, sizeof pending, "pending", ""), "0",
                           "-1"};
    size_t lens[4] = {6, strlen (pending), 1, 2};
    return s_call (self, fn, arg, 4, argv, lens);
}

int
maas_store_job (maas_store_t *self, const char *id, maas_store_fn *fn, void *arg)
{
    char job[160];
    const char *argv[2] = {"HGETALL", s_key (self, job, sizeof job, "job:", id)};
    size_t lens[2] = {7, strlen (job)};
    return s_call (self, fn, arg, 2, argv, lens);
}

int
maas_store_forget (maas_store_t *self, const char *id)
{
    char pending[96];
    const char *argv[3] = {"ZREM", s_key (self, pending, sizeof pending, "pending", ""), id};
    size_t lens[3] = {4, strlen (pending), strlen (id)};
    return s_call (self, NULL, NULL, 3, argv, lens);
}

int
maas_store_stats (maas_store_t *self, const maas_store_field_t *fields, size_t count,
                  int64_t ttl_ms)
{
    char key[160], brokers[96], ttl[24];
    snprintf (ttl, sizeof ttl, "%lld", (long long) ttl_ms);
    const char *argv[S_ARGS_MAX] = {"HSET", s_key (self, key, sizeof key, "broker:",
                                                   self->broker)};
    size_t lens[S_ARGS_MAX] = {4, strlen (key)};
    int argc = s_add_fields (argv, lens, 2, fields, count);
    if (argc < 0 || s_call (self, NULL, NULL, argc, argv, lens) != 0)
        return -1;
    const char *expire[3] = {"PEXPIRE", key, ttl};
    size_t expire_lens[3] = {7, strlen (key), strlen (ttl)};
    const char *add[3] = {"SADD", s_key (self, brokers, sizeof brokers, "brokers", ""),
                          self->broker};
    size_t add_lens[3] = {4, strlen (brokers), strlen (self->broker)};
    s_call (self, NULL, NULL, 3, expire, expire_lens);
    return s_call (self, NULL, NULL, 3, add, add_lens);
}
