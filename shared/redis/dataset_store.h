/*  dataset_store.h: data sets kept in Redis (keys in docs/redis.md, "Data
 *  sets"). Features and labels are stored as float32 bytes in chunks of at
 *  most chunk_bytes each, under a fresh generation, then switched in by one
 *  MULTI/EXEC: a reader sees the old data set or the new one, never a mix. */
#ifndef MAAS_DATASET_STORE_H
#define MAAS_DATASET_STORE_H

#include "export.h"

#include "dataset.h"
#include "err.h"
#include "redis.h"

#include <czmq.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

//  Largest Redis value a put writes, unless set otherwise (64 MiB).
#define MAAS_DATASET_STORE_CHUNK_DEFAULT ((size_t) 64 << 20)
//  Key prefix when none is given.
#define MAAS_DATASET_STORE_PREFIX        "maas:"
//  How long a replaced generation's chunks stay readable (readers in flight).
#define MAAS_DATASET_STORE_GRACE_S       60

typedef struct _maas_dataset_store_t maas_dataset_store_t;

//  What a data set's manifest says, without its data. Strings are owned by
//  the struct; release them with maas_dataset_info_clear.
typedef struct {
    char *name;                              //  data set name
    size_t rows;                             //  examples
    size_t cols;                             //  features per example
    maas_dataset_task_t task;                //  binary, multiclass or regression
    size_t classes;                          //  2, max label + 1, or 0
    char *label;                             //  label column name
    char **columns;                          //  cols feature names
    char *class_names;                       //  classes names joined by "\n", or NULL
    char sha256[MAAS_DATASET_SHA256_HEX];    //  content digest, hex
    size_t chunks;                           //  Redis values holding the data
    uint64_t created_ms;                     //  wall clock of the put
} maas_dataset_info_t;

MAAS_EXPORT void maas_dataset_info_clear (maas_dataset_info_t *info);

//  New store in the Redis REDIS names (redis.h: URL, Sentinels) under key
//  PREFIX (NULL: "maas:"). NULL with a reason in ERR if Redis cannot be
//  reached. The store's link (maas_redis_t) reconnects as the registry's
//  does: after a restart, a failover or an error, before the next call.
//  Programs using it ignore SIGPIPE (hiredis writes to a socket Redis may
//  have closed; that must be an error, not a signal).
MAAS_EXPORT maas_dataset_store_t *maas_dataset_store_open (const maas_redis_config_t *redis,
                                                           const char *prefix, maas_err_t *err);
//  Same at URL (NULL: the default), no Sentinel; for callers without a config.
MAAS_EXPORT maas_dataset_store_t *maas_dataset_store_new (const char *url, const char *prefix,
                                                          maas_err_t *err);
MAAS_EXPORT void maas_dataset_store_destroy (maas_dataset_store_t **self_p);
//  Largest value a put writes (bytes, at least 4; for tests and for Redis
//  servers with a small proto-max-bulk-len).
MAAS_EXPORT void maas_dataset_store_set_chunk_bytes (maas_dataset_store_t *self, size_t bytes);
//  Why the last call failed ("data set 'iris' not found"), borrowed.
MAAS_EXPORT const char *maas_dataset_store_error (const maas_dataset_store_t *self);

//  true if NAME is a valid data set name: 1..128 of [A-Za-z0-9._-], not
//  starting with '.'.
MAAS_EXPORT bool maas_dataset_name_valid (const char *name);

//  Store DATASET under NAME, replacing any data set of that name
//  atomically. Returns 0, or -1 with the error set; a failed put leaves the
//  previous data set as it was (chunks it wrote expire by themselves).
MAAS_EXPORT int maas_dataset_store_put (maas_dataset_store_t *self, const char *name,
                                        const maas_dataset_t *dataset);
//  Load NAME, checking its sha256. Returns a new data set (the caller's),
//  or NULL with the error set (not found, corrupted, Redis down).
MAAS_EXPORT maas_dataset_t *maas_dataset_store_get (maas_dataset_store_t *self, const char *name);
//  Fill INFO from NAME's manifest. Returns 0, or -1 with the error set.
MAAS_EXPORT int maas_dataset_store_info (maas_dataset_store_t *self, const char *name,
                                         maas_dataset_info_t *info);
//  What storing DATASET would change of INFO (a stored data set's manifest)
//  beyond the numbers its sha256 covers: "task binary (this file:
//  regression); column 2 'b' (this file: 'B')" into DIFF (DIFF_SIZE bytes,
//  truncated if short), "" when the task, label column, column names and
//  class names all agree.
MAAS_EXPORT void maas_dataset_info_diff (const maas_dataset_info_t *info,
                                         const maas_dataset_t *dataset, char *diff,
                                         size_t diff_size);
//  Names of all data sets, sorted; a new list of strings (the caller's,
//  autofree), or NULL with the error set.
MAAS_EXPORT zlist_t *maas_dataset_store_list (maas_dataset_store_t *self);
//  Delete NAME and its data. Returns 0, or -1 with the error set (including
//  when there is no such data set).
MAAS_EXPORT int maas_dataset_store_remove (maas_dataset_store_t *self, const char *name);

//  -- reading a manifest (for tests: a real Redis never repeats a field)

//  Take REPLY, an HGETALL reply of field/value pairs, as data set NAME's
//  manifest into INFO (zeroed first; the caller clears it with
//  maas_dataset_info_clear, also after a failure). Each field is owned
//  once: a field given twice is an error naming it, as are missing,
//  malformed or inconsistent fields. 0, or -1 with ERR.
MAAS_EXPORT int maas_dataset_manifest_parse (const char *name, const redisReply *reply,
                                             maas_dataset_info_t *info, maas_err_t *err);

#ifdef __cplusplus
}
#endif

#endif
