/*  redis.h: one synchronous link to Redis, shared by the registry and the
 *  data set store. It owns the connection: TCP or unix socket from a URL
 *  (redis_url.h) with AUTH and SELECT, the master found through Sentinel,
 *  a failover followed, a connection Redis closed (restart, failover)
 *  replaced, and a repeatable command sent once more after a reconnect.
 *  The modules above it keep only their schema. */
#ifndef MAAS_REDIS_H
#define MAAS_REDIS_H

#include "export.h"

#include "err.h"
#include "redis_url.h"

#include <hiredis/hiredis.h>
#include <stdbool.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

//  Sentinel master name when none is given.
#define MAAS_REDIS_MASTER_DEFAULT    "mymaster"
//  Behind Sentinel, reads ask where the master is at most this often, ms.
#define MAAS_REDIS_SENTINEL_EVERY_MS 1000

//  Where Redis is: maas_redis_config_t, in redis_url.h.

typedef struct _maas_redis_t maas_redis_t;

//  -- lifecycle

//  Connect to the master CONFIG names with TIMEOUT_MS for connecting and for
//  each command (0: none). NULL with the reason in ERR ("redis
//  unix:///x.sock: Connection refused").
MAAS_EXPORT maas_redis_t *maas_redis_new (const maas_redis_config_t *config, int timeout_ms,
                                          maas_err_t *err);
//  Close and free; safe on NULL; sets *self_p to NULL.
MAAS_EXPORT void maas_redis_destroy (maas_redis_t **self_p);
//  Why the last call failed; borrowed, valid until the next call.
MAAS_EXPORT const maas_err_t *maas_redis_err (const maas_redis_t *self);
//  The URL it was given (the default filled in); borrowed.
MAAS_EXPORT const char *maas_redis_url (const maas_redis_t *self);

//  -- commands

//  Make sure the connection is live and to the master: behind Sentinel,
//  ask where the master is (always when WRITE, else at most every
//  MAAS_REDIS_SENTINEL_EVERY_MS) and leave a server that is no longer it;
//  leave a connection Redis has closed (a restart, a demoted master); then
//  reconnect. Call it before the first command of each operation. 0, or
//  -1 with the error set.
MAAS_EXPORT int maas_redis_ready (maas_redis_t *self, bool write);
//  Run one command (binary-safe, LENS may be NULL for C strings). Returns
//  the reply (the caller frees it with freeReplyObject), or NULL with the
//  error set: MAAS_ERR_IO when the connection failed, MAAS_ERR_REPLY with
//  the server's text when it answered an error. A REPEATABLE command (one
//  that does no harm when run twice) whose connection broke before the
//  reply is sent once more over a new connection.
MAAS_EXPORT redisReply *maas_redis_command (maas_redis_t *self, bool repeatable, int argc,
                                            const char **argv, const size_t *lens);
//  Same with a hiredis format ("HGETALL %s").
MAAS_EXPORT redisReply *maas_redis_commandf (maas_redis_t *self, bool repeatable, const char *fmt,
                                             ...);
//  The live connection, for pipelines and transactions (redisAppendCommand,
//  redisGetReply) right after maas_redis_ready; borrowed, NULL when not
//  connected. A failure there is reported with maas_redis_fail_io.
MAAS_EXPORT redisContext *maas_redis_context (maas_redis_t *self);
//  Set the error from the connection's own ("WHAT: redis: Broken pipe").
//  Returns -1.
MAAS_EXPORT int maas_redis_fail_io (maas_redis_t *self, const char *what);

//  -- for subscribers

//  true if, behind Sentinel, another server than ours is now the master
//  (logged as WHAT). Asks at most every MAAS_REDIS_SENTINEL_EVERY_MS. A
//  subscriber, which cannot send commands, polls this and resubscribes.
MAAS_EXPORT bool maas_redis_master_moved (maas_redis_t *self, const char *what);

#ifdef __cplusplus
}
#endif

#endif
