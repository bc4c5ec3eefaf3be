/*  engine.h: what maas-worker does with infer jobs, apart from the wire:
 *  resolve name@version|alias|latest (alias resolutions dropped as soon as
 *  the registry announces a change), load versions into a byte-bounded LRU
 *  cache, check inputs, and run jobs for the same version as one batch.
 *  Single-threaded; main.c feeds it jobs and sends its results. */
#ifndef MAAS_WORKER_ENGINE_H
#define MAAS_WORKER_ENGINE_H

#include "explain.h"
#include "infer.h"
#include "tensor.h"

#include <msgpack.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MAAS_ENGINE_CACHE_MB_DEFAULT       256    //  --cache-mb
#define MAAS_ENGINE_MAX_BATCH_ROWS_DEFAULT 256    //  --max-batch-rows (0: no batching)
#define MAAS_ENGINE_MAX_ROWS_DEFAULT       ((size_t) 1 << 20)    //  --max-rows: rows per job
#define MAAS_ENGINE_BATCH_DELAY_US_DEFAULT 500                   //  --batch-delay-us
#define MAAS_ENGINE_ERR_SIZE               320                   //  room for a job's error

typedef struct {
    const char *redis_url;          //  registry (NULL: the default; main reads $MAAS_REDIS_URL)
    const char *redis_sentinels;    //  Sentinels that know its master, or NULL
    const char *redis_master;       //  the master's name behind them (NULL: "mymaster")
    const char *prefix;             //  key prefix (NULL: "maas:")
    size_t cache_bytes;             //  model cache bound
    size_t max_batch_rows;          //  rows per batch; 0 runs every job alone
    size_t max_rows;                //  rows one job may send; more fail the job (0: the default)
    int64_t batch_delay_us;         //  longest a job waits for company
    size_t tick_rows;               //  call TICK after about this many rows (0: never)
    void (*tick) (void *arg);       //  called between row blocks of a long batch
    void *tick_arg;                 //  its argument
} maas_engine_config_t;

//  One finished job. Owned by the caller once popped.
typedef struct {
    void *tag;                           //  the caller's handle, as submitted
    bool ok;                             //  false: ERROR says why
    bool retryable;                      //  when not OK: another run could succeed
    size_t row;                          //  when not OK: 1-based input row at fault, or 0
    char error[MAAS_ENGINE_ERR_SIZE];    //  "model iris@3: expected 4 features, got 5"
    char model[72];                      //  model name
    uint64_t version;                    //  version that ran (0 if unresolved)
    size_t rows;                         //  input rows
    size_t outputs;                      //  values per row
    float *values;                       //  rows × outputs, owned (NULL on error)
    int32_t *classes;                    //  rows predicted classes, owned; NULL if not a classifier
    maas_infer_output_t output;          //  what the job asked for (CLASS: labels per row)
    char **class_labels;                 //  n_class_labels, owned, when CLASS or top_k asked
    size_t n_class_labels;               //  the model's classes then, else 0
    size_t top_k;                        //  K asked, 0: none
    int32_t *top_classes;                //  rows × top_k, owned, most probable first
    float *top_scores;                   //  rows × top_k, owned
    double threshold;                    //  binary threshold that ran, 0: not binary
    size_t batch_rows;                   //  rows in the batch it ran in
    size_t batch_jobs;                   //  jobs in that batch
    int64_t queue_us;                    //  submitted → batch started
    int64_t compute_us;                  //  the batch's forward pass
    maas_explain_result_t *explain;      //  a succeeded explain job's result, owned; else NULL
} maas_engine_result_t;

//  What the engine has done since it started (its part of the worker's
//  counters in Redis, docs/redis.md).
typedef struct {
    uint64_t batches;         //  forward passes run
    uint64_t batch_rows;      //  rows over all of them (÷ batches: mean batch)
    uint64_t cache_hits;      //  version lookups the cache answered (a job's, a batch's)
    uint64_t cache_misses;    //  lookups that went to Redis
    uint64_t load_us;         //  time loading versions (fetch, decode), µs
} maas_engine_counters_t;

typedef struct _maas_engine_t maas_engine_t;

//  New engine on the registry CONFIG names; subscribes to its
//  announcements first. NULL with ERR when Redis cannot be reached.
maas_engine_t *maas_engine_new (const maas_engine_config_t *config, char *err, size_t err_size);
void maas_engine_destroy (maas_engine_t **self_p);

//  Take an infer job: model NAME, VERSION (0: none given) or ALIAS ("" or
//  NULL: latest), input PAYLOAD/SIZE with PARAMS (see input.h), at NOW_US
//  (monotonic). The job is resolved, its model loaded and its input
//  checked now; a failure becomes a failed result at once. TAG comes back
//  in the result.
void maas_engine_submit (maas_engine_t *self, void *tag, const char *name, uint64_t version,
                         const char *alias, const void *payload, size_t size,
                         const msgpack_object *params, int64_t now_us);
//  Take an explain job: as maas_engine_submit, but PARAMS are an explain
//  job's (explain.h) and the payload is msgpack rows. It runs now, alone
//  (its rows × steps already make a batch), and its result, holding
//  EXPLAIN, is queued at once; failures as for infer.
void maas_engine_explain (maas_engine_t *self, void *tag, const char *name, uint64_t version,
                          const char *alias, const void *payload, size_t size,
                          const msgpack_object *params);
//  Run every batch that is full, or whose oldest job has waited
//  batch_delay_us at NOW_US, or all of them if FLUSH. Returns batches run.
int maas_engine_run (maas_engine_t *self, int64_t now_us, bool flush);
//  Monotonic µs at which the next batch falls due, or -1 if none waits.
int64_t maas_engine_next_due (const maas_engine_t *self);
//  Jobs accepted and not yet finished.
size_t maas_engine_pending (const maas_engine_t *self);
//  Next finished job, oldest first, or NULL. Caller frees with
//  maas_engine_result_destroy.
maas_engine_result_t *maas_engine_result (maas_engine_t *self);
void maas_engine_result_destroy (maas_engine_result_t **result_p);
//  The infer module's view of a succeeded RESULT, its arrays borrowed: what
//  a RESULT reply packs (maas_infer_result_pack), and what
//  maas_infer_result_clear frees when the result is destroyed.
maas_infer_result_t maas_engine_result_infer (const maas_engine_result_t *result);

//  Apply registry announcements that have arrived (never blocks); called
//  by submit too. Returns how many were applied.
int maas_engine_sync (maas_engine_t *self);
//  Cached versions as "iris@3,digits@1" (caller frees); NULL if none.
char *maas_engine_cached (const maas_engine_t *self);
//  Cache figures: bytes used, entries, evictions, loads from Redis.
size_t maas_engine_cache_bytes (const maas_engine_t *self);
size_t maas_engine_cache_count (const maas_engine_t *self);
uint64_t maas_engine_loads (const maas_engine_t *self);
uint64_t maas_engine_cache_evictions (const maas_engine_t *self);
//  The counters above (borrowed, live).
const maas_engine_counters_t *maas_engine_counters (const maas_engine_t *self);

#endif
