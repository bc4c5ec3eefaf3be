/*  store.h: the broker's job store in Redis (docs/redis.md): the job
 *  schema and when it is written, over one asynchronous connection
 *  (link.h) driven by the broker's poll loop. Commands are built in RESP
 *  (resp.h) per loop turn and written once per turn, so Redis round trips
 *  never stall routing. Survives Redis going away, hanging, or failing
 *  over behind Sentinel (docs/redis.md, "Failures"). */
#ifndef MAAS_BROKER_STORE_H
#define MAAS_BROKER_STORE_H

#include "redis_url.h"

#include <hiredis/hiredis.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <zmq.h>

typedef struct _maas_store_t maas_store_t;

//  Reply to one command: REPLY is a redisReply, or NULL when
//  the connection was lost before the answer (or the store is being
//  destroyed). Borrowed for the call. The shape of link.h's maas_link_fn.
typedef void (maas_store_fn) (void *reply, void *arg);

//  One hash field for a write: NAME and SIZE bytes of VALUE.
typedef struct {
    const char *name;     //  field name
    const void *value;    //  its bytes (borrowed)
    size_t size;          //  their count
} maas_store_field_t;

#define MAAS_STORE_TIMEOUT_DEFAULT 3000    //  ms Redis may leave replies overdue

//  REDIS per redis_url.h (copied); PREFIX for keys ("maas:"); BROKER names
//  this broker; finished jobs expire after TTL_MS; the events stream keeps
//  about EVENTS_MAX entries. Connects asynchronously (maas_store_up says how
//  it went). With Sentinels in REDIS, finds the master of its master name
//  through Sentinel and keeps asking (watch.h), so it follows a failover.
//  NULL only if the URL does not parse (logged).
maas_store_t *maas_store_new (const maas_redis_config_t *redis, const char *prefix,
                              const char *broker, int64_t ttl_ms, int events_max);
//  Close the connection (pending callbacks get NULL replies), free, NULL.
void maas_store_destroy (maas_store_t **self_p);
//  true once Redis has answered on the current connection that it is the
//  master (ROLE), until the connection is lost or dropped. Only then are
//  new jobs taken (_submit) and reads sent.
bool maas_store_up (const maas_store_t *self);
//  Bytes written to the store but not yet sent to Redis: when Redis falls
//  behind, the broker stops taking new jobs until this drains.
size_t maas_store_backlog (const maas_store_t *self);
//  Why the store is down ("job store unavailable: redis 127.0.0.1:6379
//  did not answer in 3000 ms").
const char *maas_store_error (const maas_store_t *self);
//  Since when the store has been down (monotonic ms: the end of the last
//  usable connection, or its creation), 0 while it is up.
int64_t maas_store_down_since (const maas_store_t *self);
//  The server of the current (or last) connection: "host:port" or a path.
const char *maas_store_where (const maas_store_t *self);
//  true once per connection, when it comes up (see _up); asking clears
//  it. The caller then writes back what it holds (_restore): a new master
//  may not have it, and writes of the lost connection may not have landed.
bool maas_store_fresh (maas_store_t *self);

//  ---------------------------------------------------------------------------
//  Event loop: _poll_items fills up to MAAS_STORE_POLL_MAX items for
//  zmq_poll and says how many; after polling, pass them back to _io (reads
//  replies, running callbacks); call _flush once per loop turn to send the
//  turn's batches and write what was queued; call _tick every turn with
//  the monotonic time: it reconnects after a failure (every RETRY_MS,
//  default 1000), asks ROLE every second, and drops a connection whose
//  replies are TIMEOUT_MS overdue (0: wait forever), failing the jobs
//  waiting on it with "job store unavailable: redis ... did not answer in
//  N ms". Checks are per turn, never per command.
#define MAAS_STORE_POLL_MAX 2
size_t maas_store_poll_items (maas_store_t *self, zmq_pollitem_t *items);
void maas_store_io (maas_store_t *self, const zmq_pollitem_t *items, size_t count);
void maas_store_flush (maas_store_t *self);
void maas_store_tick (maas_store_t *self, int64_t now_ms);
void maas_store_set_retry (maas_store_t *self, int retry_ms);
void maas_store_set_timeout (maas_store_t *self, int timeout_ms);

//  ---------------------------------------------------------------------------
//  Commands. _submit and the reads return 0 if queued, -1 if the store is
//  down (FN is then not called). Writes nobody waits for (_update, _set,
//  _restore, _forget, _settle, _stats) return 0: while Redis is away they
//  are kept (up to 64 MiB, then dropped with a log line) and written once
//  it is back.

//  Told whether a new job was recorded: OUTCOME 1 (new: recorded), 0 (the
//  id already existed: ask with _fetch), or -1 (failed, ERROR says why).
typedef void (maas_store_submit_fn) (int outcome, const char *error, void *arg);

//  Record a new job: status "queued", FIELDS, this broker's name, the
//  pending index at SCORE, an event. Written at once; the turn's new jobs
//  are acknowledged together (FN is called for each) when one ZADD sent by
//  _flush comes back, so FN runs only once everything is in Redis.
int maas_store_submit (maas_store_t *self, const char *id, int64_t score,
                       const maas_store_field_t *fields, size_t count, maas_store_submit_fn *fn,
                       void *arg);
//  How an update is recorded.
#define MAAS_STORE_QUIET 0    //  fields only, no event (running)
#define MAAS_STORE_EVENT 1    //  and an event (re-queued)
#define MAAS_STORE_FINAL 2    //  and empty the payload, leave the pending index, set the TTL
//  Set STATUS and FIELDS as MODE says. Batched per turn, like _submit.
int maas_store_update (maas_store_t *self, const char *id, const char *status, int mode,
                       const maas_store_field_t *fields, size_t count);
//  Set fields without a status change (progress).
int maas_store_set (maas_store_t *self, const char *id, const maas_store_field_t *fields,
                    size_t count);
//  FN gets [status, error, result_header, result] (nils if unknown).
int maas_store_fetch (maas_store_t *self, const char *id, maas_store_fn *fn, void *arg);
//  FN gets the ids in the pending index (an array), oldest first.
int maas_store_pending (maas_store_t *self, maas_store_fn *fn, void *arg);
//  FN gets a job's whole hash (HGETALL: flat name, value array).
int maas_store_job (maas_store_t *self, const char *id, maas_store_fn *fn, void *arg);
//  Write back a job this broker still holds, as it stands: STATUS and
//  FIELDS, and the pending index at SCORE. For a fresh connection (_fresh).
int maas_store_restore (maas_store_t *self, const char *id, int64_t score, const char *status,
                        const maas_store_field_t *fields, size_t count);
//  Drop ID from the pending index (a stale entry).
int maas_store_forget (maas_store_t *self, const char *id);
//  A finished job was submitted again: drop the payload and pending entry
//  that submission wrote back.
int maas_store_settle (maas_store_t *self, const char *id);
//  Told that the writes queued before the matching _after_writes are in
//  Redis (WRITTEN true), or that they could not be confirmed (false: the
//  store went down; they are kept and written back when it returns).
typedef void (maas_store_written_fn) (bool written, void *arg);
//  Call FN once everything queued so far has been applied by Redis: the
//  turn's writes go out in one batch at _flush, and FN runs when its reply
//  comes back. Returns -1, and FN is not called, while the store is down:
//  the caller then goes on at once instead of waiting for Redis. Costs no
//  command per call (one reply per turn). FN runs from _io, _flush, _tick
//  or _destroy.
int maas_store_after_writes (maas_store_t *self, maas_store_written_fn *fn, void *arg);
//  Writes other than _submit are sent once per turn by _flush with Redis
//  replies turned off (CLIENT REPLY OFF ... ON): nothing waits for them.
//  Write this broker's stats hash (expires after TTL_MS) and register it.
int maas_store_stats (maas_store_t *self, const maas_store_field_t *fields, size_t count,
                      int64_t ttl_ms);

#endif
