/*  link.c: a hiredis async context on the caller's poll loop. hiredis is
 *  given one callback for every command, this file's, and the link keeps
 *  the owners' callbacks in a ring in the order sent: Redis answers in
 *  that order, so the ring says how many replies are due and which bytes
 *  a reply proves written, without reading hiredis's internals. */
#include "link.h"
#include "clock.h"
#include "resp.h"

#include <assert.h>
#include <hiredis/async.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#define S_RING_MIN 64    //  first ring allocation, entries

//  A command sent, waiting for its reply.
typedef struct {
    maas_link_fn *fn;    //  told the reply, or NULL
    void *arg;           //  its argument
    uint64_t end;        //  QUEUED once it was handed to hiredis
} wait_t;

struct _maas_link_t {
    char secrets[64];            //  where passwords come from, for AUTH errors
    maas_link_lost_fn *lost;     //  told when a connection ends
    void *lost_arg;              //  its argument
    redisAsyncContext *ac;       //  connection, NULL while none
    bool connected;              //  the connect completed
    bool want_write;             //  hiredis has output to write
    bool heard;                  //  the socket was ready since the last tick
    bool in_io;                  //  in _io: closing waits for its end
    bool closing;                //  being destroyed: no LOST
    int timeout_ms;              //  replies overdue this long drop it; 0: never
    int64_t heard_at;            //  Redis last answered (or a wait began), mono ms
    maas_link_end_t drop_end;    //  how the pending drop ends it
    char drop[512];              //  why to drop the connection after _io, or ""
    char at[128];                //  "host:port" (or the socket path)
    char err[512];               //  why the last connection ended
    wait_t *ring;                //  commands awaiting replies, owned
    size_t head, count, cap;     //  oldest entry, entries used, allocated
    uint64_t queued, written;    //  bytes handed to hiredis, known written
    maas_resp_t *setup;          //  AUTH and SELECT being built, owned
};

//  ---------------------------------------------------------------------------
//  hiredis's event hooks: reads are polled always, writes when it asks.

static void
s_add_write (void *data)
{
    ((maas_link_t *) data)->want_write = true;
}

//  hiredis stops writing only when its output buffer is empty.
static void
s_del_write (void *data)
{
    maas_link_t *self = data;
    self->want_write = false;
    self->written = self->queued;
}

static void
s_noop (void *data)
{
    (void) data;
}

//  ---------------------------------------------------------------------------
//  Replies

//  The one callback hiredis knows: the oldest command's reply (or NULL).
static void
s_on_reply (redisAsyncContext *ac, void *reply, void *privdata)
{
    (void) ac;
    maas_link_t *self = privdata;
    assert (self->count > 0);
    wait_t wait = self->ring[self->head];
    self->head = (self->head + 1) % self->cap;
    self->count--;
    if (reply && wait.end > self->written)
        self->written = wait.end;
    if (wait.fn)
        wait.fn (reply, wait.arg);
}

//  Room for one more entry, before hiredis takes the command: once it has,
//  its callback must find one.
static int
s_ring_reserve (maas_link_t *self)
{
    if (self->count < self->cap)
        return 0;
    size_t cap = self->cap ? 2 * self->cap : S_RING_MIN;
    wait_t *ring = malloc (cap * sizeof *ring);
    if (!ring)
        return -1;
    for (size_t i = 0; i < self->count; i++)
        ring[i] = self->ring[(self->head + i) % self->cap];
    free (self->ring);
    self->ring = ring;
    self->head = 0;
    self->cap = cap;
    return 0;
}

int
maas_link_send (maas_link_t *self, const void *data, size_t size, maas_link_fn *fn, void *arg)
{
    assert (self);
    if (!self->ac || self->drop[0] || s_ring_reserve (self) != 0)
        return -1;
    if (redisAsyncFormattedCommand (self->ac, s_on_reply, self, data, size) != REDIS_OK)
        return -1;
    self->queued += size;
    self->ring[(self->head + self->count++) % self->cap] = (wait_t){fn, arg, self->queued};
    return 0;
}

//  ---------------------------------------------------------------------------
//  Ending a connection

static void
s_reset (maas_link_t *self)
{
    self->ac = NULL;
    self->connected = self->want_write = false;
    self->drop[0] = '\0';
    self->queued = self->written = 0;
}

//  Drop the connection now: LOST first, then hiredis fails its callbacks.
static void
s_end (maas_link_t *self, maas_link_end_t end, const char *why)
{
    redisAsyncContext *ac = self->ac;
    snprintf (self->err, sizeof self->err, "%s", why);
    s_reset (self);
    self->lost (end, self->err, self->lost_arg);
    redisAsyncFree (ac);
}

//  Drop it now, or after _io when a reply callback asks (hiredis must
//  not free the context under its own read).
static void
s_end_soon (maas_link_t *self, maas_link_end_t end, const char *why)
{
    //  A failing context is being freed by hiredis already.
    if (!self->ac || self->ac->err || self->drop[0])
        return;
    if (!self->in_io) {
        s_end (self, end, why);
        return;
    }
    self->drop_end = end;
    snprintf (self->drop, sizeof self->drop, "%s", why);
}

void
maas_link_close (maas_link_t *self, const char *why)
{
    assert (self);
    s_end_soon (self, MAAS_LINK_DROPPED, why);
}

//  hiredis ends a context itself (connect failed, server gone): it frees
//  it after this, and runs the pending callbacks before (connected) or
//  after (connect failed).
static void
s_lost (maas_link_t *self, const redisAsyncContext *ac, maas_link_end_t end)
{
    if (self->closing || self->ac != ac)
        return;
    snprintf (self->err, sizeof self->err, "redis %s: %s", self->at,
              ac->errstr[0] ? ac->errstr : "connection closed");
    s_reset (self);
    self->lost (end, self->err, self->lost_arg);
}

static void
s_on_connect (const redisAsyncContext *ac, int status)
{
    maas_link_t *self = ac->data;
    if (status != REDIS_OK) {
        s_lost (self, ac, MAAS_LINK_UNREACHABLE);
        return;
    }
    self->connected = true;
    //  A big send buffer: a partial write makes hiredis shift the rest of
    //  its output buffer, so fewer partial writes is less copying.
    int size = 4 << 20;
    setsockopt (ac->c.fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof size);
}

static void
s_on_disconnect (const redisAsyncContext *ac, int status)
{
    (void) status;
    s_lost (ac->data, ac, MAAS_LINK_CLOSED);
}

//  ---------------------------------------------------------------------------
//  Connecting

//  AUTH or SELECT failed: the connection is useless.
static void
s_refused (maas_link_t *self, void *r, const char *what, const char *hint)
{
    redisReply *reply = r;
    if (!reply || self->closing || reply->type != REDIS_REPLY_ERROR)
        return;
    char why[512];
    snprintf (why, sizeof why, "redis %s: %s failed: %.120s%s%.64s", self->at, what, reply->str,
              hint ? ": check the user and password in " : "", hint ? hint : "");
    s_end_soon (self, MAAS_LINK_REFUSED, why);
}

static void
s_on_auth (void *reply, void *arg)
{
    maas_link_t *self = arg;
    s_refused (self, reply, "AUTH", self->secrets);
}

static void
s_on_select (void *reply, void *arg)
{
    s_refused (arg, reply, "SELECT", NULL);
}

//  AUTH and SELECT, before anything the owner sends.
static void
s_setup (maas_link_t *self, const maas_redis_url_t *where)
{
    maas_resp_t *out = self->setup;
    if (where->password) {
        maas_resp_command (out, 3);
        maas_resp_str (out, "AUTH");
        maas_resp_str (out, where->user ? where->user : "default");
        maas_resp_str (out, where->password);
        maas_link_send (self, maas_resp_data (out), maas_resp_size (out), s_on_auth, self);
        maas_resp_reset (out);
    }
    if (where->db) {
        maas_resp_command (out, 2);
        maas_resp_str (out, "SELECT");
        maas_resp_int (out, where->db);
        maas_link_send (self, maas_resp_data (out), maas_resp_size (out), s_on_select, self);
        maas_resp_reset (out);
    }
}

int
maas_link_connect (maas_link_t *self, const maas_redis_url_t *where)
{
    assert (self && !self->ac);
    assert (self->count == 0);    //  every reply of the last connection was told
    if (where->path)
        snprintf (self->at, sizeof self->at, "%.120s", where->path);
    else
        snprintf (self->at, sizeof self->at, "%.100s:%d", where->host ? where->host : "?",
                  where->port);
    redisAsyncContext *ac = where->path ? redisAsyncConnectUnix (where->path)
        : where->host                   ? redisAsyncConnect (where->host, where->port)
                                        : NULL;
    if (!ac || ac->err) {
        snprintf (self->err, sizeof self->err, "redis %s: %s", self->at,
                  ac ? ac->errstr : "out of memory");
        if (ac)
            redisAsyncFree (ac);
        return -1;
    }
    ac->data = self;
    ac->ev.data = self;
    ac->ev.addRead = ac->ev.delRead = ac->ev.cleanup = s_noop;
    ac->ev.addWrite = s_add_write;
    ac->ev.delWrite = s_del_write;
    redisAsyncSetConnectCallback (ac, s_on_connect);
    redisAsyncSetDisconnectCallback (ac, s_on_disconnect);
    s_reset (self);
    self->ac = ac;
    self->want_write = true;                   //  the connect completes on writability
    self->heard_at = maas_clock_mono_ms ();    //  the connect itself must be answered in time
    self->heard = false;
    s_setup (self, where);
    return 0;
}

//  ---------------------------------------------------------------------------
//  Life

maas_link_t *
maas_link_new (const char *secrets, maas_link_lost_fn *lost, void *arg)
{
    assert (lost);
    maas_link_t *self = calloc (1, sizeof *self);
    if (!self)
        return NULL;
    if (!(self->setup = maas_resp_new ())) {
        free (self);
        return NULL;
    }
    snprintf (self->secrets, sizeof self->secrets, "%s", secrets ? secrets : "the Redis URL");
    self->lost = lost;
    self->lost_arg = arg;
    return self;
}

void
maas_link_destroy (maas_link_t **self_p)
{
    maas_link_t *self = *self_p;
    if (!self)
        return;
    self->closing = true;
    if (self->ac) {
        redisAsyncContext *ac = self->ac;
        s_reset (self);
        redisAsyncFree (ac);    //  pending callbacks run, with NULL replies
    }
    maas_resp_destroy (&self->setup);
    free (self->ring);
    free (self);
    *self_p = NULL;
}

void
maas_link_set_timeout (maas_link_t *self, int timeout_ms)
{
    self->timeout_ms = timeout_ms;
}

bool
maas_link_open (const maas_link_t *self)
{
    return self->ac != NULL;
}

bool
maas_link_ready (const maas_link_t *self)
{
    return self->ac && !self->ac->err && !self->drop[0];
}

const char *
maas_link_where (const maas_link_t *self)
{
    return self->at;
}

const char *
maas_link_error (const maas_link_t *self)
{
    return self->err;
}

const char *
maas_link_failure (const maas_link_t *self)
{
    return self->ac && self->ac->err ? self->ac->errstr : NULL;
}

size_t
maas_link_pending (const maas_link_t *self)
{
    return self->count;
}

size_t
maas_link_backlog (const maas_link_t *self)
{
    return (size_t) (self->queued - self->written);
}

//  ---------------------------------------------------------------------------
//  Event loop

void
maas_link_poll_item (const maas_link_t *self, zmq_pollitem_t *item)
{
    *item = (zmq_pollitem_t){NULL, -1, 0, 0};
    if (self->ac) {
        item->fd = self->ac->c.fd;
        item->events = ZMQ_POLLIN | (self->want_write ? ZMQ_POLLOUT : 0);
    }
}

void
maas_link_io (maas_link_t *self, short revents)
{
    if (!self->ac || !revents)
        return;
    self->heard = true;
    self->in_io = true;
    if (revents & (ZMQ_POLLIN | ZMQ_POLLERR))
        redisAsyncHandleRead (self->ac);
    //  Before the connect completes, writing is only safe once writable.
    if (self->ac && !self->connected && (revents & ZMQ_POLLOUT))
        redisAsyncHandleWrite (self->ac);
    self->in_io = false;
    if (self->ac && self->drop[0]) {
        char why[sizeof self->drop];
        memcpy (why, self->drop, sizeof why);
        s_end (self, self->drop_end, why);
    }
}

void
maas_link_flush (maas_link_t *self)
{
    if (self->ac && self->connected && self->want_write)
        redisAsyncHandleWrite (self->ac);
}

void
maas_link_tick (maas_link_t *self, int64_t now_ms)
{
    if (!self->ac)
        return;
    bool waiting = !self->connected || self->count > 0;
    if (self->heard || !waiting) {
        self->heard = false;
        self->heard_at = now_ms;
        return;
    }
    if (self->timeout_ms > 0 && now_ms - self->heard_at > self->timeout_ms) {
        char why[256];
        snprintf (why, sizeof why, "redis %s did not answer in %d ms", self->at, self->timeout_ms);
        s_end_soon (self, MAAS_LINK_OVERDUE, why);
    }
}
