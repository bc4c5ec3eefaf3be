/*  stats.h: a process's own counters in Redis, as brokers keep theirs: one
 *  hash <prefix><kind>:<name> rewritten every MAAS_STATS_PERIOD_MS and
 *  expiring MAAS_STATS_TTL_MS after its last write (so a dead process's
 *  vanishes), its name in the sorted set <prefix><kind>s (score: last write,
 *  wall ms; entries older than the TTL are dropped by every write). Workers
 *  and trainers use it; the gateway's /metrics reads it. docs/redis.md. */
#ifndef MAAS_STATS_H
#define MAAS_STATS_H

#include "export.h"

#include "redis_url.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MAAS_STATS_PERIOD_MS  1000    //  how often a process rewrites its hash
#define MAAS_STATS_TTL_MS     5000    //  a hash not rewritten this long is gone
#define MAAS_STATS_TIMEOUT_MS 250     //  longest a write may hold the caller
#define MAAS_STATS_FIELDS_MAX 32      //  counters a hash holds

//  One counter: a hash field and its value.
typedef struct {
    const char *name;    //  field ("jobs_succeeded"), borrowed
    uint64_t value;      //  its value
} maas_stats_field_t;

typedef struct _maas_stats_t maas_stats_t;

//  Counters of process NAME of KIND ("worker", "trainer") in the Redis at
//  REDIS (redis_url.h: URL, Sentinels; copied) under PREFIX (NULL: "maas:").
//  Connects at the first write, so a Redis that is down now is not an
//  error. NULL if out of memory.
MAAS_EXPORT maas_stats_t *maas_stats_new (const maas_redis_config_t *redis, const char *prefix,
                                          const char *kind, const char *name);
MAAS_EXPORT void maas_stats_destroy (maas_stats_t **self_p);
//  true when a write is due at NOW_MS (monotonic): MAAS_STATS_PERIOD_MS
//  after the last attempt, or never tried.
MAAS_EXPORT bool maas_stats_due (const maas_stats_t *self, int64_t now_ms);
//  Write COUNT FIELDS (at most MAAS_STATS_FIELDS_MAX), plus started_ms and
//  updated_ms (wall), as the hash, in one pipelined round trip at most
//  MAAS_STATS_TIMEOUT_MS long; NOW_MS (monotonic) starts the next period. 0, or -1 when Redis failed (logged
//  once per outage as "stats: not written ..."; the next write retries).
MAAS_EXPORT int maas_stats_write (maas_stats_t *self, const maas_stats_field_t *fields,
                                  size_t count, int64_t now_ms);

#endif
