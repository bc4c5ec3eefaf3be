/*  models.h: one gateway thread's view of the model registry: resolves
 *  NAME and a reference (version, label/alias, latest) to a version with its
 *  input and output sizes, keeping answers for a moment so a busy route
 *  costs Redis one lookup per model per second, not one per request. */
#ifndef GW_MODELS_H
#define GW_MODELS_H

#include "buf.h"
#include "maas.h"

#include <stddef.h>
#include <stdint.h>

//  How long a resolved reference is trusted (an alias that moved is seen
//  within this time; versions themselves never change).
#define GW_MODELS_TTL_MS 500

typedef struct _gw_models_t gw_models_t;

typedef struct {
    uint64_t version;    //  resolved version
    size_t inputs;       //  features per row
    size_t outputs;      //  values per output row
} gw_model_t;

//  Registry at REDIS_URL / PREFIX (NULL: defaults). NULL with ERR.
gw_models_t *gw_models_new (const maas_redis_config_t *redis, const char *prefix, char *err,
                            size_t err_size);
void gw_models_destroy (gw_models_t **self_p);
//  The registry itself (borrowed), for listings.
maas_registry_t *gw_models_registry (gw_models_t *self);
//  NAME@REF ("" or "latest", digits, or an alias) into *MODEL. Returns 0,
//  or the HTTP status to answer (404 unknown model/version/label, 400 bad
//  name, 503 registry unreachable) with the reason in ERR.
int gw_models_lookup (gw_models_t *self, const char *name, const char *ref, gw_model_t *model,
                      char *err, size_t err_size);
//  Append ,"maas_signature":{...} for NAME@VERSION to BUF: feature names,
//  dtype, output name, task, class labels, input scale, standardisation,
//  threshold (docs/http.md). Reads and decodes the blob: for metadata
//  routes, not for predictions. 0, or an HTTP status with ERR.
//  The input names of NAME@VERSION as a JSON array (["age", ...]), or
//  "null" for a model without them; a new string, or NULL if the registry
//  could not say (the caller then leaves the names out).
char *gw_models_feature_names (gw_models_t *self, const char *name, uint64_t version);
int gw_models_signature (gw_models_t *self, const char *name, uint64_t version, gw_buf_t *buf,
                         char *err, size_t err_size);
//  The HTTP status for the registry's last error (as gw_models_lookup).
int gw_models_status (const gw_models_t *self);

#endif
