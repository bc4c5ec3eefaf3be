/*  model_ref.h: what `maas infer` and `maas score` ask the model registry
 *  before they send a row: the version NAME[@VER|@ALIAS] names now (so one
 *  command runs on one version), and that version's input column names
 *  (so input files are matched by name) and class labels (so a label
 *  column may hold names). */
#ifndef MAAS_CLIENT_MODEL_REF_H
#define MAAS_CLIENT_MODEL_REF_H

#include "registry.h"

#include <stddef.h>
#include <stdint.h>

typedef struct {
    char name[MAAS_REGISTRY_NAME_MAX + 1];       //  model name
    char asked[MAAS_REGISTRY_NAME_MAX + 8];      //  the alias or "latest" resolved, "" for a number
    uint64_t version;                            //  the version it names now
    char pinned[MAAS_REGISTRY_NAME_MAX + 24];    //  "name@version", to send jobs to
    char **columns;                              //  input names, owned, or NULL (positional)
    size_t n_columns;                            //  entries in COLUMNS
    char **labels;                               //  class labels, owned, or NULL (none stored)
    size_t n_labels;                             //  entries in LABELS
} maas_model_ref_t;

//  Resolve SPEC through the registry REDIS names (env.h's maas_cli_redis)
//  and read that version's column names and class labels. 0, or -1 with ERR
//  ("model iris has no alias 'prod'", "cannot reach the model registry
//  ...: give --redis URL"). Clear SELF with maas_model_ref_clear either way.
int maas_model_ref_resolve (maas_model_ref_t *self, const char *spec,
                            const maas_redis_config_t *redis, char *err, size_t err_size);
void maas_model_ref_clear (maas_model_ref_t *self);
//  "cancer@3 (production)", or "cancer@3" when a number was asked, into OUT.
void maas_model_ref_describe (const maas_model_ref_t *self, char *out, size_t size);

#endif
