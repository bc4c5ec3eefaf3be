/*  stats.c: a process's counters written to Redis once a period (see
 *  stats.h): HSET, PEXPIRE, ZADD and ZREMRANGEBYSCORE pipelined, so a
 *  write costs its caller one round trip a second. */
#include "stats.h"
#include "clock.h"
#include "log.h"
#include "redis.h"
#include "registry.h"

#include <assert.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct _maas_stats_t {
    maas_redis_config_t config;    //  where Redis is (strings in the fields below)
    char *url;                     //  its URL, owned (NULL: the default)
    char *sentinels;               //  its Sentinels, owned (NULL: none)
    char *master;                  //  the master's name behind them, owned (NULL: default)
    char *key;                     //  "<prefix><kind>:<name>", owned
    char *index;                   //  "<prefix><kind>s", owned
    char *name;                    //  the process's name, owned
    maas_redis_t *redis;           //  the link, NULL until the first write
    int64_t started_ms;            //  wall clock at creation
    int64_t next_ms;               //  next write due, monotonic (0: now)
    bool failing;                  //  the last write failed (logged once)
    maas_err_t err;                //  why it could not connect
};

maas_stats_t *
maas_stats_new (const maas_redis_config_t *redis, const char *prefix, const char *kind,
                const char *name)
{
    maas_stats_t *self = calloc (1, sizeof *self);
    if (!self)
        return NULL;
    if (!prefix)
        prefix = MAAS_REGISTRY_PREFIX_DEFAULT;
    self->url = redis->url ? strdup (redis->url) : NULL;
    self->sentinels = redis->sentinels ? strdup (redis->sentinels) : NULL;
    self->master = redis->master ? strdup (redis->master) : NULL;
    self->name = strdup (name);
    if (asprintf (&self->key, "%s%s:%s", prefix, kind, name) < 0)
        self->key = NULL;
    if (asprintf (&self->index, "%s%ss", prefix, kind) < 0)
        self->index = NULL;
    if ((redis->url && !self->url) || (redis->sentinels && !self->sentinels)
        || (redis->master && !self->master) || !self->name || !self->key || !self->index) {
        maas_stats_destroy (&self);
        return NULL;
    }
    self->config = (maas_redis_config_t){
        .url = self->url, .sentinels = self->sentinels, .master = self->master};
    self->started_ms = maas_clock_wall_ms ();
    return self;
}

void
maas_stats_destroy (maas_stats_t **self_p)
{
    maas_stats_t *self = *self_p;
    if (!self)
        return;
    maas_redis_destroy (&self->redis);
    free (self->url);
    free (self->sentinels);
    free (self->master);
    free (self->key);
    free (self->index);
    free (self->name);
    free (self);
    *self_p = NULL;
}

bool
maas_stats_due (const maas_stats_t *self, int64_t now_ms)
{
    return now_ms >= self->next_ms;
}

//  Queue the four commands of one write on CTX.
static void
s_append (maas_stats_t *self, redisContext *ctx, const maas_stats_field_t *fields, size_t count)
{
    const char *argv[2 + 2 * (MAAS_STATS_FIELDS_MAX + 2)];
    char values[MAAS_STATS_FIELDS_MAX + 2][24];
    int64_t now = maas_clock_wall_ms ();
    size_t argc = 0;
    argv[argc++] = "HSET";
    argv[argc++] = self->key;
    for (size_t i = 0; i < count; i++) {
        snprintf (values[i], sizeof values[i], "%" PRIu64, fields[i].value);
        argv[argc++] = fields[i].name;
        argv[argc++] = values[i];
    }
    snprintf (values[MAAS_STATS_FIELDS_MAX], 24, "%" PRId64, self->started_ms);
    snprintf (values[MAAS_STATS_FIELDS_MAX + 1], 24, "%" PRId64, now);
    argv[argc++] = "started_ms";
    argv[argc++] = values[MAAS_STATS_FIELDS_MAX];
    argv[argc++] = "updated_ms";
    argv[argc++] = values[MAAS_STATS_FIELDS_MAX + 1];
    redisAppendCommandArgv (ctx, (int) argc, argv, NULL);
    redisAppendCommand (ctx, "PEXPIRE %s %d", self->key, MAAS_STATS_TTL_MS);
    redisAppendCommand (ctx, "ZADD %s %" PRId64 " %s", self->index, now, self->name);
    redisAppendCommand (ctx, "ZREMRANGEBYSCORE %s -inf (%" PRId64, self->index,
                        now - MAAS_STATS_TTL_MS);
}

//  Send one write and read its four replies. 0, or -1 with the link's error.
static int
s_send (maas_stats_t *self, const maas_stats_field_t *fields, size_t count)
{
    if (!self->redis)
        self->redis = maas_redis_new (&self->config, MAAS_STATS_TIMEOUT_MS, &self->err);
    if (!self->redis || maas_redis_ready (self->redis, true) != 0)
        return -1;
    redisContext *ctx = maas_redis_context (self->redis);
    s_append (self, ctx, fields, count);
    for (int i = 0; i < 4; i++) {
        redisReply *reply = NULL;
        if (redisGetReply (ctx, (void **) &reply) != REDIS_OK)
            return maas_redis_fail_io (self->redis, "stats");
        freeReplyObject (reply);
    }
    return 0;
}

int
maas_stats_write (maas_stats_t *self, const maas_stats_field_t *fields, size_t count,
                  int64_t now_ms)
{
    assert (self && count <= MAAS_STATS_FIELDS_MAX);
    self->next_ms = now_ms + MAAS_STATS_PERIOD_MS;
    int rc = s_send (self, fields, count);
    if (rc != 0 && !self->failing)
        maas_warn ("stats", "not written key=%s reason=\"%s\"", self->key,
                   self->redis ? maas_redis_err (self->redis)->text : self->err.text);
    if (rc == 0 && self->failing)
        maas_info ("stats", "written again key=%s", self->key);
    self->failing = rc != 0;
    return rc;
}
