/*  stats.c: the gateway's Prometheus series (docs/metrics.md): requests by
 *  route and code, latency histograms by route, infer jobs by outcome, and
 *  the brokers', workers' and trainers' own counters re-read from Redis on
 *  each scrape. Counters
 *  are atomics: every loop thread adds, whichever serves /metrics reads. */
#include "gateway.h"

#include <hiredis/hiredis.h>
#include <math.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

static const char *const s_routes[GW_ROUTE_COUNT] = {
    "tf_predict",  "tf_classify", "tf_regress", "tf_explain", "tf_status",
    "tf_metadata", "tf_models",   "v2_server",  "v2_health",  "v2_model",
    "v2_ready",    "v2_infer",    "metrics",    "jobs",       "other"};
static const unsigned s_codes[] = {200, 202, 400, 401, 403, 404, 413, 429, 499, 500, 503, 504, 0};
#define S_CODES (sizeof s_codes / sizeof s_codes[0])    //  the last one: any other
static const double s_buckets[] = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
                                   0.25,  0.5,    1,     2.5,  5,     10};
#define S_BUCKETS (sizeof s_buckets / sizeof s_buckets[0])
static const char *const s_jobs[] = {"succeeded", "failed",    "expired", "rejected",
                                     "lost",      "cancelled", "timeout", "other"};
#define S_JOBS (sizeof s_jobs / sizeof s_jobs[0])

struct _gw_stats_t {
    atomic_ullong requests[GW_ROUTE_COUNT][S_CODES];         //  answered, by route × code
    atomic_ullong buckets[GW_ROUTE_COUNT][S_BUCKETS + 1];    //  latency histogram (+Inf last)
    atomic_ullong sum_us[GW_ROUTE_COUNT];                    //  latency sum, µs
    atomic_ullong jobs[S_JOBS];                              //  infer jobs by outcome
    atomic_ullong auth[GW_AUTH_REASONS];                     //  refused by API key, by reason
};

static const char *const s_auth_reasons[GW_AUTH_REASONS] = {"missing", "unknown", "forbidden"};

gw_stats_t *
gw_stats_new (void)
{
    gw_stats_t *self = calloc (1, sizeof *self);    //  zero bytes are zero atomics here
    return self;
}

void
gw_stats_destroy (gw_stats_t **self_p)
{
    free (*self_p);
    *self_p = NULL;
}

void
gw_stats_request (gw_stats_t *self, gw_route_t route, unsigned status, double seconds)
{
    size_t code = 0;
    while (s_codes[code] && s_codes[code] != status)
        code++;
    size_t bucket = 0;
    while (bucket < S_BUCKETS && seconds > s_buckets[bucket])
        bucket++;
    atomic_fetch_add (&self->requests[route][code], 1);
    atomic_fetch_add (&self->buckets[route][bucket], 1);
    atomic_fetch_add (&self->sum_us[route], (unsigned long long) (seconds * 1e6));
}

void
gw_stats_job (gw_stats_t *self, const char *status)
{
    size_t i = 0;
    while (i < S_JOBS - 1 && strcmp (s_jobs[i], status) != 0)
        i++;
    atomic_fetch_add (&self->jobs[i], 1);
}

void
gw_stats_auth (gw_stats_t *self, gw_auth_reason_t reason)
{
    atomic_fetch_add (&self->auth[reason], 1);
}

static void
s_auth (gw_stats_t *self, gw_buf_t *buf)
{
    gw_buf_puts (buf,
                 "# HELP maas_gateway_auth_refused_total Requests refused by API key, by "
                 "reason (missing, unknown: 401; forbidden: 403).\n"
                 "# TYPE maas_gateway_auth_refused_total counter\n");
    for (size_t i = 0; i < GW_AUTH_REASONS; i++)
        gw_buf_printf (buf, "maas_gateway_auth_refused_total{reason=\"%s\"} %llu\n",
                       s_auth_reasons[i], atomic_load (&self->auth[i]));
}

static void
s_requests (gw_stats_t *self, gw_buf_t *buf)
{
    gw_buf_puts (buf,
                 "# HELP maas_http_requests_total HTTP requests answered, by route and code.\n"
                 "# TYPE maas_http_requests_total counter\n");
    for (size_t r = 0; r < GW_ROUTE_COUNT; r++)
        for (size_t c = 0; c < S_CODES; c++) {
            unsigned long long n = atomic_load (&self->requests[r][c]);
            if (n && s_codes[c])
                gw_buf_printf (buf, "maas_http_requests_total{route=\"%s\",code=\"%u\"} %llu\n",
                               s_routes[r], s_codes[c], n);
            else if (n)
                gw_buf_printf (buf, "maas_http_requests_total{route=\"%s\",code=\"other\"} %llu\n",
                               s_routes[r], n);
        }
}

static void
s_latency (gw_stats_t *self, gw_buf_t *buf)
{
    gw_buf_puts (buf,
                 "# HELP maas_http_request_duration_seconds Time from request to answer.\n"
                 "# TYPE maas_http_request_duration_seconds histogram\n");
    for (size_t r = 0; r < GW_ROUTE_COUNT; r++) {
        unsigned long long total = 0;
        for (size_t b = 0; b <= S_BUCKETS; b++)
            total += atomic_load (&self->buckets[r][b]);
        if (!total)
            continue;
        unsigned long long running = 0;
        for (size_t b = 0; b <= S_BUCKETS; b++) {
            running += atomic_load (&self->buckets[r][b]);
            if (b < S_BUCKETS)
                gw_buf_printf (buf,
                               "maas_http_request_duration_seconds_bucket{route=\"%s\","
                               "le=\"%g\"} %llu\n",
                               s_routes[r], s_buckets[b], running);
            else
                gw_buf_printf (buf,
                               "maas_http_request_duration_seconds_bucket{route=\"%s\","
                               "le=\"+Inf\"} %llu\n",
                               s_routes[r], running);
        }
        gw_buf_printf (buf,
                       "maas_http_request_duration_seconds_sum{route=\"%s\"} %.6f\n"
                       "maas_http_request_duration_seconds_count{route=\"%s\"} %llu\n",
                       s_routes[r], (double) atomic_load (&self->sum_us[r]) / 1e6, s_routes[r],
                       total);
    }
}

//  One Prometheus series read from a field of a process's stats hash.
typedef struct {
    const char *field;     //  hash field (docs/redis.md)
    const char *family;    //  metric family after "maas_<kind>_" ("jobs_total")
    const char *suffix;    //  "" or "_sum" / "_count" of a summary
    const char *type;      //  counter, gauge, summary
    const char *label;     //  one more label ("status=\"failed\""), or NULL
    int shift;             //  to base units: decimal places (µs → s: 6), 0: as written
    const char *help;      //  the family's HELP text, on its first series
} s_series_t;

//  What workers and trainers both write.
static const s_series_t s_common_series[] = {
    {"jobs_succeeded", "jobs_total", "", "counter", "status=\"succeeded\"", 0,
     "Jobs answered, by status."},
    {"jobs_failed", "jobs_total", "", "counter", "status=\"failed\"", 0, NULL},
    {"jobs_cancelled", "jobs_total", "", "counter", "status=\"cancelled\"", 0, NULL},
    {"started_ms", "start_time_seconds", "", "gauge", NULL, 3,
     "When the process started, seconds since the epoch."},
};

static const s_series_t s_worker_series[] = {
    {"rows", "rows_total", "", "counter", NULL, 0, "Rows of succeeded jobs."},
    {"batch_rows", "batch_rows", "_sum", "summary", NULL, 0,
     "Rows per batch (forward pass): sum and count of batches."},
    {"batches", "batch_rows", "_count", "summary", NULL, 0, NULL},
    {"cache_hits", "cache_hits_total", "", "counter", NULL, 0,
     "Model version lookups the cache answered (a job's, a batch's)."},
    {"cache_misses", "cache_misses_total", "", "counter", NULL, 0,
     "Model version lookups that went to Redis."},
    {"cache_evictions", "cache_evictions_total", "", "counter", NULL, 0,
     "Versions evicted to make room."},
    {"cache_bytes", "cache_bytes", "", "gauge", NULL, 0,
     "Bytes the model cache holds (weights and workspace)."},
    {"cache_entries", "cache_entries", "", "gauge", NULL, 0, "Versions the model cache holds."},
    {"model_load_us", "model_load_seconds", "_sum", "summary", NULL, 6,
     "Time loading model versions from Redis (fetch, check, decode)."},
    {"model_loads", "model_load_seconds", "_count", "summary", NULL, 0, NULL},
};

static const s_series_t s_trainer_series[] = {
    {"epochs", "epochs_total", "", "counter", NULL, 0, "Epochs trained."},
    {"samples", "samples_total", "", "counter", NULL, 0, "Training rows seen, all epochs."},
};

//  Processes of one kind: their index, hashes and own series.
typedef struct {
    const char *kind;            //  "worker": maas:workers, maas:worker:<name>
    const s_series_t *series;    //  what to export besides s_common_series
    size_t count;                //  entries of SERIES
} s_kind_t;

//  A name fit to be a label value as it is (no quoting needed).
static bool
s_label_ok (const char *name)
{
    return name && *name && !strpbrk (name, "\"\\\n");
}

//  The value of FIELD in HASH (an HGETALL reply), or NULL.
static const char *
s_hash_field (const redisReply *hash, const char *field)
{
    for (size_t k = 0; hash && hash->type == REDIS_REPLY_ARRAY && k + 1 < hash->elements; k += 2)
        if (hash->element[k]->type == REDIS_REPLY_STRING
            && hash->element[k + 1]->type == REDIS_REPLY_STRING
            && strcmp (hash->element[k]->str, field) == 0)
            return hash->element[k + 1]->str;
    return NULL;
}

//  One series' lines, one per process that has the field.
static void
s_series (gw_buf_t *buf, const s_kind_t *kind, const s_series_t *series, const redisReply *names,
          redisReply **hashes)
{
    for (size_t i = 0; i < names->elements; i++) {
        const char *value = s_hash_field (hashes[i], series->field);
        if (!value)
            continue;
        gw_buf_printf (buf, "maas_%s_%s%s{%s=\"%s\"%s%s} ", kind->kind, series->family,
                       series->suffix, kind->kind, names->element[i]->str, series->label ? "," : "",
                       series->label ? series->label : "");
        if (series->shift)    //  exact: µs and ms are whole numbers
            gw_buf_printf (buf, "%.*f\n", series->shift,
                           strtod (value, NULL) / pow (10, series->shift));
        else
            gw_buf_printf (buf, "%s\n", value);
    }
}

//  Every live process of KIND (docs/redis.md: the <kind>s index, then each
//  one's hash; a name whose hash has expired is skipped) as KIND's series.
static void
s_processes (gw_buf_t *buf, redisContext *ctx, const char *prefix, const s_kind_t *kind)
{
    redisReply *names = redisCommand (ctx, "ZRANGE %s%ss 0 -1", prefix, kind->kind);
    if (!names || names->type != REDIS_REPLY_ARRAY || !names->elements) {
        if (names)
            freeReplyObject (names);
        return;
    }
    redisReply **hashes = calloc (names->elements, sizeof *hashes);
    for (size_t i = 0; hashes && i < names->elements; i++)
        if (s_label_ok (names->element[i]->str))
            hashes[i] =
                redisCommand (ctx, "HGETALL %s%s:%s", prefix, kind->kind, names->element[i]->str);
    size_t common = sizeof s_common_series / sizeof s_common_series[0];
    for (size_t s = 0; hashes && s < common + kind->count; s++) {
        const s_series_t *series = s < common ? &s_common_series[s] : &kind->series[s - common];
        if (series->help)
            gw_buf_printf (buf, "# HELP maas_%s_%s %s\n# TYPE maas_%s_%s %s\n", kind->kind,
                           series->family, series->help, kind->kind, series->family, series->type);
        s_series (buf, kind, series, names, hashes);
    }
    for (size_t i = 0; hashes && i < names->elements; i++)
        if (hashes[i])
            freeReplyObject (hashes[i]);
    free (hashes);
    freeReplyObject (names);
}

//  maas:broker:<name> hashes as maas_broker_<field>{broker="<name>"}.
static void
s_brokers (gw_buf_t *buf, redisContext *ctx, const char *prefix)
{
    redisReply *names = redisCommand (ctx, "SMEMBERS %sbrokers", prefix);
    gw_buf_puts (buf, "# HELP maas_broker_* A broker's counters from Redis (docs/redis.md).\n");
    for (size_t i = 0; names && names->type == REDIS_REPLY_ARRAY && i < names->elements; i++) {
        const char *name = names->element[i]->str;
        redisReply *hash = redisCommand (ctx, "HGETALL %sbroker:%s", prefix, name);
        for (size_t k = 0; hash && hash->type == REDIS_REPLY_ARRAY && k + 1 < hash->elements;
             k += 2)
            gw_buf_printf (buf, "maas_broker_%s{broker=\"%s\"} %s\n", hash->element[k]->str, name,
                           hash->element[k + 1]->str);
        if (hash)
            freeReplyObject (hash);
    }
    if (names)
        freeReplyObject (names);
}

//  Everything the brokers, workers and trainers wrote to Redis.
static void
s_redis_series (gw_buf_t *buf, const maas_redis_config_t *redis, const char *prefix)
{
    maas_err_t err;
    redisContext *ctx = maas_redis_connect (redis, 1000, &err);
    if (!ctx)
        return;
    if (!prefix)
        prefix = MAAS_REGISTRY_PREFIX_DEFAULT;
    const s_kind_t workers = {"worker", s_worker_series,
                              sizeof s_worker_series / sizeof s_worker_series[0]};
    const s_kind_t trainers = {"trainer", s_trainer_series,
                               sizeof s_trainer_series / sizeof s_trainer_series[0]};
    s_brokers (buf, ctx, prefix);
    s_processes (buf, ctx, prefix, &workers);
    s_processes (buf, ctx, prefix, &trainers);
    redisFree (ctx);
}

void
gw_stats_render (gw_stats_t *self, gw_buf_t *buf, const maas_redis_config_t *redis,
                 const char *prefix)
{
    s_requests (self, buf);
    s_latency (self, buf);
    gw_buf_puts (buf,
                 "# HELP maas_gateway_jobs_total Infer jobs by final status.\n"
                 "# TYPE maas_gateway_jobs_total counter\n");
    for (size_t i = 0; i < S_JOBS; i++)
        gw_buf_printf (buf, "maas_gateway_jobs_total{status=\"%s\"} %llu\n", s_jobs[i],
                       atomic_load (&self->jobs[i]));
    s_auth (self, buf);
    s_redis_series (buf, redis, prefix);
}
