/*  store.c: the job schema (what a job's record holds, when each part is
 *  written) and the batching per loop turn, over a link (link.c) and RESP
 *  built with resp.c. Status writes nobody waits for are sent once per
 *  turn between CLIENT REPLY OFF and ON, so Redis sends no reply for them
 *  and the broker parses none; new jobs are acknowledged per turn by one
 *  ZADD. A connection is used once ROLE says master, dropped when the
 *  master moves, and status writes wait for the next one. */
#include "store.h"
#include "clock.h"
#include "log.h"
#include "protocol.h"
#include "redis_url.h"
#include "link.h"
#include "resp.h"
#include "watch.h"

#include <hiredis/hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_GROUP_MAX  256            //  new jobs acknowledged by one commit
#define S_PROBE_MS   1000           //  ROLE asked this often: a demoted master is noticed
#define S_WATCH_MS   500            //  Sentinel asked this often where the master is
#define S_KEEP_MAX   (64u << 20)    //  status writes kept while Redis is away, bytes
#define S_REPLAY_MS  5000           //  behind Sentinel, status writes sent again after
#define S_REPLAY_MAX (64u << 20)    //  a failover: the last S_REPLAY_MS, at most these bytes

//  Fixed commands, already in RESP.
#define S_REPLY_OFF              "*3\r\n$6\r\nCLIENT\r\n$5\r\nREPLY\r\n$3\r\nOFF\r\n"
#define S_REPLY_ON               "*3\r\n$6\r\nCLIENT\r\n$5\r\nREPLY\r\n$2\r\nON\r\n"
#define S_REPLY_SKIP             "*3\r\n$6\r\nCLIENT\r\n$5\r\nREPLY\r\n$4\r\nSKIP\r\n"
#define S_RAW_LITERAL(out, text) maas_resp_raw ((out), (text), sizeof (text) - 1)

typedef struct _group_t group_t;

//  One turn's quiet command, kept to be sent again after a failover.
typedef struct _chunk_t {
    struct _chunk_t *next;    //  the next newer chunk
    int64_t at;               //  when it was sent, monotonic ms
    size_t size;              //  bytes in DATA
    char data[];              //  CLIENT REPLY OFF ... ON, formatted
} chunk_t;

//  A new job waiting for the commit of its group.
typedef struct {
    group_t *group;              //  the group it is in
    maas_store_submit_fn *fn;    //  told the outcome
    void *arg;                   //  its argument
    int outcome;                 //  1 new, 0 existed, -1 failed (from HSETNX)
    char id[80];                 //  job id, for the queued event
} waiter_t;

//  New jobs of one turn: their HSETNX replies land in WAITERS, then one
//  ZADD of all their ids to the pending index commits them. The link calls
//  every callback once, even when the connection drops, so the group lives
//  until the last callback that points into it has run (REFS).
struct _group_t {
    maas_store_t *store;              //  owner
    int refs;                         //  callbacks pending + 1 for the holder
    bool notified;                    //  waiters were told their outcome
    size_t count;                     //  waiters used
    waiter_t waiters[S_GROUP_MAX];    //  in submission order
    maas_resp_t *zadd;                //  score, id argument pairs for the ZADD, owned
};

//  Callers of _after_writes in one turn, told together when the reply to
//  the turn's quiet batch arrives (or the connection that carried it is
//  lost: the link calls every callback once).
typedef struct {
    maas_store_written_fn *fn;
    void *arg;
} written_t;

typedef struct {
    size_t count, size;    //  entries used, allocated
    written_t *entries;    //  in call order
} barrier_t;

struct _maas_store_t {
    char *url;                 //  Redis URL, owned
    char *sentinels;           //  Sentinels that know the master, owned (NULL: none)
    char *master;              //  the master's name behind them, owned (NULL: default)
    char shown[512];           //  the URL with its password masked, for the log
    maas_redis_url_t where;    //  parsed URL
    char *prefix;              //  key prefix, owned
    char *broker;              //  this broker's name, owned
    int64_t ttl_ms;            //  finished jobs expire after this
    char ttl_text[24];         //  TTL_MS as text
    char events_max[24];       //  MAXLEN ~ for the events stream
    maas_link_t *link;         //  the connection to Redis, owned
    bool polled_link;          //  _poll_items gave the link's item first
    bool verified;             //  ROLE answered "master" on this connection
    bool fresh;                //  came up since the caller last asked
    bool closing;              //  being destroyed: ignore callbacks
    bool probing;              //  a ROLE is unanswered
    int retry_ms;              //  delay between reconnect attempts
    int64_t retry_at;          //  next attempt, monotonic ms
    int64_t down_at;           //  the store went down (monotonic ms); 0 while up
    int64_t probe_at;          //  next ROLE, monotonic ms
    maas_watch_t *watch;       //  Sentinel watch, NULL without Sentinel; owned
    bool was_up;               //  a connection came up before this one
    int64_t now_ms;            //  monotonic ms of the last tick
    chunk_t *replay;           //  oldest recent quiet command (Sentinel only), owned
    chunk_t *replay_tail;      //  newest
    size_t replay_bytes;       //  bytes held in REPLAY
    group_t *group;            //  this turn's new jobs, owned until committed
    maas_resp_t *quiet;        //  this turn's writes sent with replies off, owned
    maas_resp_t *done;         //  ids finished this turn (one ZREM), owned
    maas_resp_t *events;       //  id, status pairs this turn (one XADD), owned
    maas_resp_t *adds;         //  score, id pairs restored this turn (one ZADD), owned
    maas_resp_t *scratch;      //  one command being built, owned
    barrier_t *barrier;        //  this turn's _after_writes, owned until flushed
    char err[512];             //  why it is down
};

//  ---------------------------------------------------------------------------
//  RESP building (resp.h): the key names

//  The key of job ID: "<prefix>job:<id>".
static void
s_job_key (maas_store_t *self, maas_resp_t *out, const char *id)
{
    maas_resp_cat (out, (const char *[]){self->prefix, "job:", id}, 3);
}

static void
s_key (maas_store_t *self, maas_resp_t *out, const char *name)
{
    maas_resp_cat (out, (const char *[]){self->prefix, name}, 2);
}

//  COUNT hash fields as name, value arguments (a NULL value is empty).
static void
s_fields (maas_resp_t *out, const maas_store_field_t *fields, size_t count)
{
    for (size_t i = 0; i < count; i++) {
        maas_resp_str (out, fields[i].name);
        maas_resp_arg (out, fields[i].value, fields[i].value ? fields[i].size : 0);
    }
}

//  Hand OUT to the link as one formatted command; FN gets the (single) reply.
static int
s_send (maas_store_t *self, maas_resp_t *out, maas_store_fn *fn, void *arg)
{
    int rc = -1;
    if (!maas_resp_failed (out) && maas_resp_size (out))
        rc = maas_link_send (self->link, maas_resp_data (out), maas_resp_size (out), fn, arg);
    maas_resp_reset (out);
    return rc;
}

//  ---------------------------------------------------------------------------
//  Connection: the link (link.h) connects and reads; the store decides
//  where to, whether the server is the master, and what an outage means.

static void s_fail_group (maas_store_t *self, const char *why);
static void s_barrier_done (barrier_t *barrier, bool written);

//  Commands are taken only on a connection Redis has answered as master.
static bool
s_ready (const maas_store_t *self)
{
    return maas_link_ready (self->link) && self->verified;
}

//  An outage starts when a usable connection ends (or at start).
static void
s_mark_down (maas_store_t *self)
{
    if (self->verified || !self->down_at)
        self->down_at = maas_clock_mono_ms ();
}

//  The connection ended (link.h says how). The turn's open group fails;
//  status writes not yet handed to the link are kept for the next
//  connection, tried after RETRY_MS.
static void
s_on_lost (maas_link_end_t end, const char *why, void *arg)
{
    maas_store_t *self = arg;
    char was[sizeof self->err];
    memcpy (was, self->err, sizeof was);
    snprintf (self->err, sizeof self->err, "job store unavailable: %s", why);
    if (strcmp (was, self->err) != 0) {    //  once per cause, not once per retry
        if (end == MAAS_LINK_UNREACHABLE || end == MAAS_LINK_CLOSED)
            maas_warn ("store", "redis down url=%s at=%s error=\"%s\"", self->shown,
                       maas_link_where (self->link), self->err);
        else
            maas_warn ("store", "redis dropped url=%s at=%s why=\"%s\"", self->shown,
                       maas_link_where (self->link), self->err);
    }
    s_mark_down (self);
    self->verified = self->probing = false;
    self->retry_at = maas_clock_mono_ms () + self->retry_ms;
    s_fail_group (self, self->err);
}

//  Close the connection on purpose (not the master any more), from a
//  reply callback: the link does it once the read is over.
static void
s_drop_later (maas_store_t *self, const char *why)
{
    maas_link_close (self->link, why);
    s_mark_down (self);
}

//  An error reply that means this server cannot take our writes (any more).
static void
s_check_error (maas_store_t *self, const redisReply *reply)
{
    if (!reply || reply->type != REDIS_REPLY_ERROR || self->closing)
        return;
    if (strncmp (reply->str, "READONLY", 8) == 0 || strncmp (reply->str, "MASTERDOWN", 10) == 0) {
        char why[512];
        snprintf (why, sizeof why, "redis %s is no longer the master (%.60s)",
                  maas_link_where (self->link), reply->str);
        s_drop_later (self, why);
    }
}

//  Drop kept commands older than S_REPLAY_MS, or past S_REPLAY_MAX bytes.
static void
s_replay_trim (maas_store_t *self, int64_t now_ms)
{
    while (self->replay
           && (self->replay->at < now_ms - S_REPLAY_MS || self->replay_bytes > S_REPLAY_MAX)) {
        chunk_t *old = self->replay;
        self->replay = old->next;
        self->replay_bytes -= old->size;
        free (old);
    }
    if (!self->replay)
        self->replay_tail = NULL;
}

//  Behind Sentinel, keep a copy of OUT (a quiet command about to be sent):
//  writes the old master took in its last moments may not have reached the
//  replica that replaces it (docs/redis.md).
static void
s_replay_keep (maas_store_t *self, const maas_resp_t *out)
{
    size_t size = maas_resp_size (out);
    if (!self->watch || maas_resp_failed (out) || !size)
        return;
    chunk_t *chunk = malloc (sizeof *chunk + size + 1);
    if (!chunk)
        return;
    *chunk = (chunk_t){NULL, self->now_ms, size};
    memcpy (chunk->data, maas_resp_data (out), size + 1);    //  and its NUL (resp.h)
    if (self->replay_tail)
        self->replay_tail->next = chunk;
    else
        self->replay = chunk;
    self->replay_tail = chunk;
    self->replay_bytes += size;
    s_replay_trim (self, self->now_ms);
}

//  A new connection after an earlier one: send the recent writes again,
//  before anything else (they are older than all that follows).
static void
s_replay (maas_store_t *self)
{
    size_t count = 0;
    s_replay_trim (self, maas_clock_mono_ms ());
    for (chunk_t *chunk = self->replay; chunk; chunk = chunk->next)
        count += maas_link_send (self->link, chunk->data, chunk->size, NULL, NULL) == 0;
    if (count)
        maas_info ("store", "recent writes sent again at=%s commands=%zu bytes=%zu",
                   maas_link_where (self->link), count, self->replay_bytes);
}

//  What a ROLE reply says: "master", "slave", "sentinel", or an error text.
static const char *
s_role (const redisReply *reply)
{
    if (reply->type == REDIS_REPLY_ERROR)
        return reply->str;
    if (reply->type == REDIS_REPLY_ARRAY && reply->elements > 0
        && reply->element[0]->type == REDIS_REPLY_STRING)
        return reply->element[0]->str;
    return "?";
}

//  The connection answered ROLE as master for the first time: usable.
static void
s_verified (maas_store_t *self)
{
    if (self->was_up)
        s_replay (self);
    self->was_up = true;
    self->verified = true;
    self->down_at = 0;
    self->fresh = true;
    self->err[0] = '\0';
    maas_info ("store", "redis connected url=%s at=%s role=master", self->shown,
               maas_link_where (self->link));
}

//  ROLE's answer: the first on a connection makes it usable; later ones
//  (every S_PROBE_MS) notice a master demoted under us.
static void
s_on_role (void *r, void *arg)
{
    redisReply *reply = r;
    maas_store_t *self = arg;
    if (!reply || self->closing)
        return;
    self->probing = false;
    const char *role = s_role (reply);
    bool refused = reply->type == REDIS_REPLY_ERROR
        && (strncmp (role, "NOAUTH", 6) == 0 || strncmp (role, "NOPERM", 6) == 0);
    if (strcmp (role, "master") != 0) {
        char why[512];
        snprintf (why, sizeof why,
                  refused ? "redis %s: %.120s%s" : "redis %s is not the master (%.60s)%s",
                  maas_link_where (self->link), role,
                  refused           ? ": check the user and password in the Redis URL"
                      : self->watch ? ""
                                    : "; point --redis at the master or set MAAS_REDIS_SENTINELS");
        s_drop_later (self, why);
        return;
    }
    if (!self->verified)
        s_verified (self);
}

static void
s_probe (maas_store_t *self, int64_t now)
{
    maas_resp_t *out = self->scratch;
    maas_resp_command (out, 1);
    maas_resp_str (out, "ROLE");
    if (s_send (self, out, s_on_role, self) == 0)
        self->probing = true;
    self->probe_at = now + S_PROBE_MS;
}

//  Behind Sentinel, ask again where the master is before every (re)connect,
//  so a failover is followed without a restart: the watch's latest answer,
//  else Sentinel itself (redis_url.h).
static void
s_locate (maas_store_t *self)
{
    const char *known = self->watch ? maas_watch_master (self->watch) : NULL;
    const char *colon = known ? strrchr (known, ':') : NULL;
    if (colon) {
        free (self->where.host);
        free (self->where.path);
        self->where.path = NULL;
        self->where.host = strndup (known, (size_t) (colon - known));
        self->where.port = atoi (colon + 1);
        if (self->where.host)
            return;
    }
    if (!self->sentinels)
        return;
    maas_redis_url_t now;
    maas_err_t err;
    maas_redis_config_t redis = {
        .url = self->url, .sentinels = self->sentinels, .master = self->master};
    if (maas_redis_locate (&now, &redis, &err) != 0) {
        maas_warn ("store", "sentinel lookup failed error=\"%s\"", err.text);
        return;
    }
    maas_redis_url_clear (&self->where);
    self->where = now;
}

//  A new connection; ROLE first (after the link's AUTH and SELECT).
static void
s_connect (maas_store_t *self)
{
    s_locate (self);
    int64_t now = maas_clock_mono_ms ();
    self->retry_at = now + self->retry_ms;
    if (maas_link_connect (self->link, &self->where) != 0) {
        snprintf (self->err, sizeof self->err, "job store unavailable: %s",
                  maas_link_error (self->link));
        return;
    }
    self->verified = false;
    if (!self->err[0])
        snprintf (self->err, sizeof self->err,
                  "job store unavailable: redis %s has not answered yet",
                  maas_link_where (self->link));
    s_probe (self, now);
}

maas_store_t *
maas_store_new (const maas_redis_config_t *redis, const char *prefix, const char *broker,
                int64_t ttl_ms, int events_max)
{
    maas_store_t *self = calloc (1, sizeof *self);
    if (!self)
        return NULL;
    const char *url = maas_redis_url_pick (redis->url);
    maas_err_t err;
    if (maas_redis_url_parse (&self->where, url, &err) != 0) {
        maas_error ("store", "bad redis url error=%s", err.text);
        free (self);
        return NULL;
    }
    self->url = strdup (url);
    if (redis->sentinels && *redis->sentinels)
        self->sentinels = strdup (redis->sentinels);
    if (redis->master && *redis->master)
        self->master = strdup (redis->master);
    maas_redis_url_mask (url, self->shown, sizeof self->shown);
    self->prefix = strdup (prefix);
    self->broker = strdup (broker);
    self->link = maas_link_new ("the Redis URL", s_on_lost, self);
    self->quiet = maas_resp_new ();
    self->done = maas_resp_new ();
    self->events = maas_resp_new ();
    self->adds = maas_resp_new ();
    self->scratch = maas_resp_new ();
    if (!self->url || !self->prefix || !self->broker || !self->link || !self->quiet || !self->done
        || !self->events || !self->adds || !self->scratch) {
        maas_error ("store", "out of memory");
        maas_store_destroy (&self);
        return NULL;
    }
    self->ttl_ms = ttl_ms;
    snprintf (self->ttl_text, sizeof self->ttl_text, "%lld", (long long) ttl_ms);
    snprintf (self->events_max, sizeof self->events_max, "%d", events_max);
    self->retry_ms = 1000;
    maas_link_set_timeout (self->link, MAAS_STORE_TIMEOUT_DEFAULT);
    self->watch = maas_watch_new (self->sentinels, self->master, S_WATCH_MS);
    self->down_at = maas_clock_mono_ms ();    //  until the first connection is up
    s_connect (self);
    return self;
}

void
maas_store_destroy (maas_store_t **self_p)
{
    maas_store_t *self = *self_p;
    if (!self)
        return;
    //  Callbacks still run (with NULL replies) so owners can let go.
    self->closing = true;
    maas_link_destroy (&self->link);
    s_fail_group (self, "broker stopping");
    s_barrier_done (self->barrier, false);
    maas_watch_destroy (&self->watch);
    while (self->replay) {
        chunk_t *old = self->replay;
        self->replay = old->next;
        free (old);
    }
    maas_redis_url_clear (&self->where);
    maas_resp_destroy (&self->quiet);
    maas_resp_destroy (&self->done);
    maas_resp_destroy (&self->events);
    maas_resp_destroy (&self->adds);
    maas_resp_destroy (&self->scratch);
    free (self->url);
    free (self->sentinels);
    free (self->master);
    free (self->prefix);
    free (self->broker);
    free (self);
    *self_p = NULL;
}

bool
maas_store_up (const maas_store_t *self)
{
    return s_ready (self);
}

size_t
maas_store_backlog (const maas_store_t *self)
{
    return maas_link_backlog (self->link);
}
const char *
maas_store_error (const maas_store_t *self)
{
    return self->err;
}
const char *
maas_store_where (const maas_store_t *self)
{
    return maas_link_where (self->link);
}
int64_t
maas_store_down_since (const maas_store_t *self)
{
    return self->down_at;
}
void
maas_store_set_retry (maas_store_t *self, int retry_ms)
{
    self->retry_ms = retry_ms;
}
void
maas_store_set_timeout (maas_store_t *self, int timeout_ms)
{
    maas_link_set_timeout (self->link, timeout_ms);
}

bool
maas_store_fresh (maas_store_t *self)
{
    bool fresh = self->fresh && s_ready (self);
    if (fresh)
        self->fresh = false;
    return fresh;
}

//  ---------------------------------------------------------------------------
//  Event loop

size_t
maas_store_poll_items (maas_store_t *self, zmq_pollitem_t *items)
{
    maas_link_poll_item (self->link, &items[0]);
    self->polled_link = items[0].fd >= 0;
    size_t count = self->polled_link ? 1 : 0;
    if (self->watch) {
        maas_watch_poll_item (self->watch, &items[count]);
        count += items[count].fd >= 0;
    }
    return count;
}

void
maas_store_io (maas_store_t *self, const zmq_pollitem_t *items, size_t count)
{
    for (size_t i = 0; i < count; i++) {
        if (i == 0 && self->polled_link)
            maas_link_io (self->link, items[i].revents);
        else if (self->watch)
            maas_watch_io (self->watch, items[i].revents);
    }
}

//  Sentinel names another master than the one we talk to: go there now.
static void
s_follow (maas_store_t *self)
{
    const char *master = maas_watch_master (self->watch);
    const char *at = maas_link_where (self->link);
    if (!master || !maas_link_open (self->link) || self->where.path || strcmp (master, at) == 0)
        return;
    char why[512];
    snprintf (why, sizeof why, "redis master moved from %.100s to %.100s", at, master);
    maas_info ("store", "following failover from=%s to=%s", at, master);
    maas_link_close (self->link, why);
    self->retry_at = maas_clock_mono_ms ();
}

void
maas_store_tick (maas_store_t *self, int64_t now_ms)
{
    self->now_ms = now_ms;
    if (self->watch) {
        maas_watch_tick (self->watch, now_ms);
        s_follow (self);
    }
    maas_link_tick (self->link, now_ms);
    bool open = maas_link_open (self->link);
    if (!open && now_ms >= self->retry_at)
        s_connect (self);
    else if (open && self->verified && !self->probing && now_ms >= self->probe_at)
        s_probe (self, now_ms);
}
//  ---------------------------------------------------------------------------
//  New jobs

static group_t *
s_group_new (maas_store_t *self)
{
    group_t *group = calloc (1, sizeof *group);
    if (group && !(group->zadd = maas_resp_new ())) {
        free (group);
        group = NULL;
    }
    return group;
}

static void
s_unref (group_t *group)
{
    if (--group->refs == 0) {
        maas_resp_destroy (&group->zadd);
        free (group);
    }
}

//  The open group will not be committed: tell its waiters, let go of it.
static void
s_fail_group (maas_store_t *self, const char *why)
{
    group_t *group = self->group;
    self->group = NULL;
    if (!group)
        return;
    for (size_t i = 0; !group->notified && i < group->count; i++)
        group->waiters[i].fn (-1, why, group->waiters[i].arg);
    group->notified = true;
    s_unref (group);
}

static void
s_on_hsetnx (void *r, void *arg)
{
    redisReply *reply = r;
    waiter_t *waiter = arg;
    waiter->outcome = reply && reply->type == REDIS_REPLY_INTEGER ? (int) reply->integer : -1;
    s_check_error (waiter->group->store, reply);
    s_unref (waiter->group);
}

//  The group's ZADD came back: every job before it is recorded.
static void
s_on_commit (void *r, void *arg)
{
    redisReply *reply = r;
    group_t *group = arg;
    maas_store_t *self = group->store;
    bool ok = reply && reply->type == REDIS_REPLY_INTEGER;
    s_check_error (self, reply);
    char lost[sizeof self->err];
    lost[0] = '\0';
    if (!ok)
        snprintf (
            lost, sizeof lost, "job store unavailable: redis %s: %s", maas_link_where (self->link),
            maas_link_failure (self->link) ? maas_link_failure (self->link) : "connection lost");
    const char *why = reply && reply->type == REDIS_REPLY_ERROR ? reply->str
        : self->err[0]                                          ? self->err
                                                                : lost;
    for (size_t i = 0; !group->notified && i < group->count; i++) {
        waiter_t *waiter = &group->waiters[i];
        int outcome = ok ? waiter->outcome : -1;
        if (outcome == 1 && !self->closing && maas_link_open (self->link)) {
            maas_resp_str (self->events, waiter->id);
            maas_resp_str (self->events, "queued");
        }
        waiter->fn (outcome, outcome < 0 ? why : NULL, waiter->arg);
    }
    group->notified = true;
    s_unref (group);
}

static void
s_commit (maas_store_t *self)
{
    group_t *group = self->group;
    if (!group || group->count == 0)
        return;
    maas_resp_t *out = self->scratch;
    maas_resp_command (out, 2 + 2 * group->count);
    maas_resp_str (out, "ZADD");
    s_key (self, out, "pending");
    maas_resp_append (out, group->zadd);
    if (s_send (self, out, s_on_commit, group) == 0)
        self->group = NULL;    //  the link calls s_on_commit, which frees it
    else
        s_fail_group (self, "job store unavailable: cannot queue the write");
}

int
maas_store_submit (maas_store_t *self, const char *id, int64_t score,
                   const maas_store_field_t *fields, size_t count, maas_store_submit_fn *fn,
                   void *arg)
{
    if (!s_ready (self) || strlen (id) >= sizeof ((waiter_t *) 0)->id)
        return -1;
    if (!self->group && !(self->group = s_group_new (self)))
        return -1;
    group_t *group = self->group;
    group->store = self;
    if (group->refs == 0)
        group->refs = 1;    //  the holder: self->group, then the commit
    waiter_t *waiter = &group->waiters[group->count];
    *waiter = (waiter_t){group, fn, arg, -1, ""};
    memcpy (waiter->id, id, strlen (id) + 1);
    //  HSETNX decides new or existing; the rest is written either way (the
    //  same job again: same header and payload; the latest client and
    //  broker) without a reply.
    maas_resp_t *out = self->scratch;
    maas_resp_command (out, 4);
    maas_resp_str (out, "HSETNX");
    s_job_key (self, out, id);
    maas_resp_str (out, "status");
    maas_resp_str (out, "queued");
    S_RAW_LITERAL (out, S_REPLY_SKIP);
    maas_resp_command (out, 2 + 2 * count);
    maas_resp_str (out, "HSET");
    s_job_key (self, out, id);
    s_fields (out, fields, count);
    if (s_send (self, out, s_on_hsetnx, waiter) != 0)
        return -1;
    group->refs++;
    group->count++;
    maas_resp_int (group->zadd, score);
    maas_resp_str (group->zadd, id);
    if (group->count == S_GROUP_MAX)
        s_commit (self);
    return 0;
}

//  ---------------------------------------------------------------------------
//  Writes nobody waits for

//  Start a command in the quiet buffer (opening it with CLIENT REPLY OFF).
static maas_resp_t *
s_quiet (maas_store_t *self, size_t argc)
{
    if (maas_resp_size (self->quiet) == 0)
        S_RAW_LITERAL (self->quiet, S_REPLY_OFF);
    maas_resp_command (self->quiet, argc);
    return self->quiet;
}

int
maas_store_set (maas_store_t *self, const char *id, const maas_store_field_t *fields, size_t count)
{
    maas_resp_t *out = s_quiet (self, 2 + 2 * count);
    maas_resp_str (out, "HSET");
    s_job_key (self, out, id);
    s_fields (out, fields, count);
    return 0;
}

//  A quiet "HSET job status STATUS FIELDS..." with room for EXTRA more
//  name/value pairs, which the caller appends.
static maas_resp_t *
s_hset_status (maas_store_t *self, const char *id, const char *status,
               const maas_store_field_t *fields, size_t count, size_t extra)
{
    maas_resp_t *out = s_quiet (self, 4 + 2 * (count + extra));
    maas_resp_str (out, "HSET");
    s_job_key (self, out, id);
    maas_resp_str (out, "status");
    maas_resp_str (out, status);
    s_fields (out, fields, count);
    return out;
}

int
maas_store_update (maas_store_t *self, const char *id, const char *status, int mode,
                   const maas_store_field_t *fields, size_t count)
{
    bool final = mode == MAAS_STORE_FINAL;
    maas_resp_t *out = s_hset_status (self, id, status, fields, count, final ? 1 : 0);
    if (final) {
        //  The payload is emptied in the same HSET rather than HDEL'd: one
        //  command less per job, a measurable share of Redis's time.
        maas_resp_str (out, "payload");
        maas_resp_str (out, "");
        if (self->ttl_ms > 0) {
            s_quiet (self, 3);
            maas_resp_str (out, "PEXPIRE");
            s_job_key (self, out, id);
            maas_resp_str (out, self->ttl_text);
        }
        maas_resp_str (self->done, id);
    }
    if (mode != MAAS_STORE_QUIET) {
        maas_resp_str (self->events, id);
        maas_resp_str (self->events, status);
    }
    return 0;
}

int
maas_store_forget (maas_store_t *self, const char *id)
{
    maas_resp_str (self->done, id);
    return 0;
}

int
maas_store_settle (maas_store_t *self, const char *id)
{
    maas_resp_t *out = s_quiet (self, 3);
    maas_resp_str (out, "HDEL");
    s_job_key (self, out, id);
    maas_resp_str (out, "payload");
    return maas_store_forget (self, id);
}

int
maas_store_stats (maas_store_t *self, const maas_store_field_t *fields, size_t count,
                  int64_t ttl_ms)
{
    size_t len = strlen (self->broker);
    char name[128];
    snprintf (name, sizeof name, "broker:%.*s", (int) (len < 100 ? len : 100), self->broker);
    maas_resp_t *out = s_quiet (self, 2 + 2 * count);
    maas_resp_str (out, "HSET");
    s_key (self, out, name);
    s_fields (out, fields, count);
    s_quiet (self, 3);
    maas_resp_str (out, "PEXPIRE");
    s_key (self, out, name);
    maas_resp_int (out, ttl_ms);
    s_quiet (self, 3);
    maas_resp_str (out, "SADD");
    s_key (self, out, "brokers");
    maas_resp_str (out, self->broker);
    return 0;
}

int
maas_store_restore (maas_store_t *self, const char *id, int64_t score, const char *status,
                    const maas_store_field_t *fields, size_t count)
{
    s_hset_status (self, id, status, fields, count, 0);
    maas_resp_int (self->adds, score);
    maas_resp_str (self->adds, id);
    return 0;
}

//  Redis is away: the writes wait in the turn buffers for the next
//  connection, up to S_KEEP_MAX bytes; past that they are dropped (the
//  jobs still run; their records stay behind).
static void
s_keep_quiet (maas_store_t *self)
{
    maas_resp_t *turn[] = {self->quiet, self->done, self->events, self->adds};
    size_t kept = 0;
    bool failed = false;
    for (size_t i = 0; i < 4; i++) {
        kept += maas_resp_size (turn[i]);
        failed |= maas_resp_failed (turn[i]);
    }
    if (kept <= S_KEEP_MAX && !failed)
        return;
    maas_error ("store", "status writes dropped while redis is away bytes=%zu", kept);
    for (size_t i = 0; i < 4; i++)
        maas_resp_reset (turn[i]);
}

//  ---------------------------------------------------------------------------
//  Waiting for writes

int
maas_store_after_writes (maas_store_t *self, maas_store_written_fn *fn, void *arg)
{
    if (!s_ready (self))
        return -1;
    barrier_t *barrier = self->barrier;
    if (!barrier && !(barrier = self->barrier = calloc (1, sizeof *barrier)))
        return -1;
    if (barrier->count == barrier->size) {
        size_t size = barrier->size ? 2 * barrier->size : 64;
        written_t *entries = realloc (barrier->entries, size * sizeof *entries);
        if (!entries)
            return -1;
        barrier->entries = entries;
        barrier->size = size;
    }
    barrier->entries[barrier->count++] = (written_t){fn, arg};
    return 0;
}

//  Tell a turn's callers and let go of their list.
static void
s_barrier_done (barrier_t *barrier, bool written)
{
    if (!barrier)
        return;
    for (size_t i = 0; i < barrier->count; i++)
        barrier->entries[i].fn (written, barrier->entries[i].arg);
    free (barrier->entries);
    free (barrier);
}

static void
s_on_written (void *r, void *arg)
{
    redisReply *reply = r;
    s_barrier_done (arg, reply && reply->type != REDIS_REPLY_ERROR);
}

//  OUT has arguments to send, or lost some (then the batch it joins fails).
static bool
s_holds (const maas_resp_t *out)
{
    return maas_resp_args (out) || maas_resp_failed (out);
}

//  This turn's ZADD, ZREM and XADD, then the quiet buffer closed with
//  CLIENT REPLY ON: one formatted command whose only reply is that ON's OK.
static void
s_flush_quiet (maas_store_t *self)
{
    if (s_holds (self->adds)) {
        s_quiet (self, 2 + maas_resp_args (self->adds));
        maas_resp_str (self->quiet, "ZADD");
        s_key (self, self->quiet, "pending");
        maas_resp_append (self->quiet, self->adds);
    }
    if (s_holds (self->done)) {
        s_quiet (self, 2 + maas_resp_args (self->done));
        maas_resp_str (self->quiet, "ZREM");
        s_key (self, self->quiet, "pending");
        maas_resp_append (self->quiet, self->done);
    }
    if (s_holds (self->events)) {
        s_quiet (self, 6 + maas_resp_args (self->events));
        maas_resp_str (self->quiet, "XADD");
        s_key (self, self->quiet, "events");
        maas_resp_str (self->quiet, "MAXLEN");
        maas_resp_str (self->quiet, "~");
        maas_resp_str (self->quiet, self->events_max);
        maas_resp_str (self->quiet, "*");
        maas_resp_append (self->quiet, self->events);
    }
    barrier_t *barrier = self->barrier;
    self->barrier = NULL;
    if (barrier && !maas_resp_size (self->quiet)) {
        s_quiet (self, 1);    //  nothing else to wait on: its reply will do
        maas_resp_str (self->quiet, "PING");
    }
    if (maas_resp_size (self->quiet)) {
        S_RAW_LITERAL (self->quiet, S_REPLY_ON);
        s_replay_keep (self, self->quiet);
        if (s_send (self, self->quiet, barrier ? s_on_written : NULL, barrier) == 0)
            barrier = NULL;    //  told by the reply
        else if (maas_link_open (self->link))
            maas_error ("store", "status writes dropped: out of memory");
    }
    s_barrier_done (barrier, false);
    maas_resp_reset (self->done);
    maas_resp_reset (self->events);
    maas_resp_reset (self->adds);
}

void
maas_store_flush (maas_store_t *self)
{
    if (s_ready (self)) {
        s_commit (self);
        s_flush_quiet (self);
    }
    else {
        s_keep_quiet (self);
        s_barrier_done (self->barrier, false);    //  no waiting on a store that is down
        self->barrier = NULL;
    }
    maas_link_flush (self->link);
}

//  ---------------------------------------------------------------------------
//  Reads

static int
s_read (maas_store_t *self, maas_store_fn *fn, void *arg)
{
    //  The turn's writes first: a FETCH of a job finished earlier in this
    //  turn must read its final record, not the one before it.
    if (maas_resp_size (self->quiet) || maas_resp_size (self->done) || maas_resp_size (self->events)
        || maas_resp_size (self->adds))
        s_flush_quiet (self);
    return s_send (self, self->scratch, fn, arg);
}

int
maas_store_fetch (maas_store_t *self, const char *id, maas_store_fn *fn, void *arg)
{
    if (!s_ready (self))
        return -1;
    maas_resp_t *out = self->scratch;
    maas_resp_command (out, 6);
    maas_resp_str (out, "HMGET");
    s_job_key (self, out, id);
    maas_resp_str (out, "status");
    maas_resp_str (out, "error");
    maas_resp_str (out, "result_header");
    maas_resp_str (out, "result");
    return s_read (self, fn, arg);
}

int
maas_store_pending (maas_store_t *self, maas_store_fn *fn, void *arg)
{
    if (!s_ready (self))
        return -1;
    maas_resp_t *out = self->scratch;
    maas_resp_command (out, 4);
    maas_resp_str (out, "ZRANGE");
    s_key (self, out, "pending");
    maas_resp_str (out, "0");
    maas_resp_str (out, "-1");
    return s_read (self, fn, arg);
}

int
maas_store_job (maas_store_t *self, const char *id, maas_store_fn *fn, void *arg)
{
    if (!s_ready (self))
        return -1;
    maas_resp_t *out = self->scratch;
    maas_resp_command (out, 2);
    maas_resp_str (out, "HGETALL");
    s_job_key (self, out, id);
    return s_read (self, fn, arg);
}
