/*  cache.h: the worker's model cache: loaded model versions keyed by
 *  (name, version), least recently used evicted first, bounded in bytes.
 *  Values are opaque to the cache; a destructor given at creation frees them. */
#ifndef MAAS_WORKER_CACHE_H
#define MAAS_WORKER_CACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct _maas_cache_t maas_cache_t;

//  Frees one value; sets *value_p to NULL.
typedef void (maas_cache_free_fn) (void **value_p);

//  New cache holding at most MAX_BYTES (as charged by maas_cache_put).
//  FREE_FN frees evicted and remaining values. NULL if out of memory.
maas_cache_t *maas_cache_new (size_t max_bytes, maas_cache_free_fn *free_fn);
//  Free every value, then the cache; safe on NULL; sets *self_p to NULL.
void maas_cache_destroy (maas_cache_t **self_p);

//  The value for NAME@VERSION, now the most recently used, or NULL.
//  Borrowed: valid until the next put, evict or destroy.
void *maas_cache_get (maas_cache_t *self, const char *name, uint64_t version);
//  Store *VALUE_P for NAME@VERSION, charged BYTES, evicting least recently
//  used entries until it fits; takes the value and NULLs *VALUE_P. Returns
//  0; or -1 when BYTES alone exceed the bound or the key is already
//  present (the value is then left to the caller).
int maas_cache_put (maas_cache_t *self, const char *name, uint64_t version, void **value_p,
                    size_t bytes);
//  Drop NAME@VERSION if present (a version deleted from the registry).
void maas_cache_evict (maas_cache_t *self, const char *name, uint64_t version);

//  Bytes charged now (never above the bound), the bound, entries.
size_t maas_cache_bytes (const maas_cache_t *self);
size_t maas_cache_max_bytes (const maas_cache_t *self);
size_t maas_cache_count (const maas_cache_t *self);
//  Entries evicted to make room since creation.
uint64_t maas_cache_evictions (const maas_cache_t *self);
//  Cached versions, most recent first, as "iris@3,digits@1" (what the
//  worker announces to brokers); caller frees. NULL if out of memory.
char *maas_cache_list (const maas_cache_t *self);

#endif
