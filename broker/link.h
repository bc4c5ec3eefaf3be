/*  link.h: one asynchronous Redis connection, a hiredis async context
 *  driven by the broker's zmq_poll loop: connecting (AUTH and SELECT from
 *  the URL first), read and write readiness, replies handed to their
 *  callbacks in order, a deadline on overdue replies, and a count of what
 *  is still to be written. The job store (store.h) and the Sentinel watch
 *  (watch.h) each own one; when and where to (re)connect is theirs. */
#ifndef MAAS_BROKER_LINK_H
#define MAAS_BROKER_LINK_H

#include "redis_url.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <zmq.h>

typedef struct _maas_link_t maas_link_t;

//  A reply: REPLY is a redisReply, borrowed for the call, or NULL when the
//  connection ended (or the link was destroyed) before it came.
typedef void (maas_link_fn) (void *reply, void *arg);

//  How a connection ended.
typedef enum {
    MAAS_LINK_UNREACHABLE,    //  the connect failed
    MAAS_LINK_CLOSED,         //  the server closed it, or the socket failed
    MAAS_LINK_OVERDUE,        //  replies were overdue (_set_timeout): dropped
    MAAS_LINK_REFUSED,        //  AUTH or SELECT failed: dropped
    MAAS_LINK_DROPPED         //  the owner closed it (_close)
} maas_link_end_t;

//  Told once per connection that it ended, and WHY ("redis 10.0.0.5:6379:
//  Connection refused"; borrowed). Runs before the NULL replies of a
//  connection the link drops, after those of one that failed (hiredis's
//  order). It may _close nothing and must not _connect: there is no
//  connection, and replies of the old one may still be on their way.
typedef void (maas_link_lost_fn) (maas_link_end_t end, const char *why, void *arg);

//  A link with no connection yet. SECRETS says where its passwords come
//  from, for the AUTH error ("the Redis URL"; copied). LOST is told when a
//  connection ends. NULL if out of memory.
maas_link_t *maas_link_new (const char *secrets, maas_link_lost_fn *lost, void *arg);
//  Close the connection (pending callbacks get NULL replies; LOST is not
//  told), free, NULL the pointer. Safe on NULL.
void maas_link_destroy (maas_link_t **self_p);
//  Drop a connection whose replies are TIMEOUT_MS overdue (0: never).
void maas_link_set_timeout (maas_link_t *self, int timeout_ms);

//  ---------------------------------------------------------------------------
//  Connection

//  Start connecting to WHERE (its path, else host and port; copied what
//  is needed), queueing AUTH (its user or "default", and password) and
//  SELECT (its db) when it names them: a failed one drops the connection
//  (MAAS_LINK_REFUSED). Commands may be sent at once: they go out once
//  connected. Returns 0, or -1 if the connect failed at once (_error says
//  why; LOST is not told). Only when no connection is open.
int maas_link_connect (maas_link_t *self, const maas_redis_url_t *where);
//  Drop the connection on purpose: LOST is told WHY (MAAS_LINK_DROPPED),
//  then pending callbacks get NULL replies. Called from a reply callback,
//  it happens when _io returns. Does nothing without a usable connection.
void maas_link_close (maas_link_t *self, const char *why);
//  true while a connection exists, connecting or connected.
bool maas_link_open (const maas_link_t *self);
//  true while commands sent will be answered: open, neither failing
//  (hiredis is running the NULL replies of a broken connection) nor
//  about to be closed.
bool maas_link_ready (const maas_link_t *self);
//  The server of the current (or last) connection: "host:port" or a path.
const char *maas_link_where (const maas_link_t *self);
//  Why the last connection ended, or the last connect failed ("" if none).
const char *maas_link_error (const maas_link_t *self);
//  While the connection is failing: hiredis's reason ("Connection reset by
//  peer"), for NULL replies that say why; else NULL.
const char *maas_link_failure (const maas_link_t *self);

//  ---------------------------------------------------------------------------
//  Commands

//  Queue SIZE bytes of formatted RESP (one command, or several that Redis
//  answers with one reply: CLIENT REPLY OFF ... ON) on the connection, to
//  go out at the next _flush. FN (may be NULL) gets the reply, or NULL.
//  Returns 0, or -1 (FN is not called) when not open or out of memory.
int maas_link_send (maas_link_t *self, const void *data, size_t size, maas_link_fn *fn, void *arg);
//  Replies still to come on this connection.
size_t maas_link_pending (const maas_link_t *self);
//  Bytes queued that are not known to be written: all since hiredis last
//  ran out of output, less those a reply proves were written. An upper
//  bound of hiredis's unwritten output, exact whenever that is empty.
size_t maas_link_backlog (const maas_link_t *self);

//  ---------------------------------------------------------------------------
//  Event loop: fill ITEM for zmq_poll (fd -1: nothing to poll); hand its
//  revents to _io (reads replies, running callbacks; completes a connect);
//  _flush writes what is queued (once a turn, or when writable); _tick
//  every turn drops a connection whose replies are overdue: Redis sent
//  nothing for TIMEOUT_MS while replies (or the connect) were awaited.
void maas_link_poll_item (const maas_link_t *self, zmq_pollitem_t *item);
void maas_link_io (maas_link_t *self, short revents);
void maas_link_flush (maas_link_t *self);
void maas_link_tick (maas_link_t *self, int64_t now_ms);

#endif
