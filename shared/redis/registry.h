/*  registry.h: the model registry in Redis. Named models, integer versions
 *  published atomically, aliases (production, staging, ...) moved atomically,
 *  and a pub/sub channel announcing every change. Schema: docs/redis.md. */
#ifndef MAAS_REGISTRY_H
#define MAAS_REGISTRY_H

#include "export.h"

#include "err.h"
#include "redis.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

//  Key prefix used when none is given; every key and the channel start with it.
#define MAAS_REGISTRY_PREFIX_DEFAULT "maas:"
//  Longest model or alias name; names are [A-Za-z0-9._-], starting with a
//  letter or digit; aliases start with a letter and are never "latest".
#define MAAS_REGISTRY_NAME_MAX       64
//  Largest blob accepted by publish (Redis bulk strings stop at 512 MB);
//  documented in docs/model-format.md, "Limits".
#define MAAS_REGISTRY_BLOB_MAX       ((size_t) 256 << 20)
//  Pub/sub channel, after the prefix ("maas:registry").
#define MAAS_REGISTRY_CHANNEL        "registry"
//  Alias moves kept per model (older ones drop off the history list).
#define MAAS_REGISTRY_HISTORY_MAX    1000
//  Longest description or tag value, bytes.
#define MAAS_REGISTRY_TEXT_MAX       4096
//  Timeout for connecting and for each Redis command, ms.
#define MAAS_REGISTRY_TIMEOUT_MS     5000

typedef struct _maas_registry_t maas_registry_t;

//  What a publisher says about a version besides its blob (the format
//  version and the input/output sizes are read from the blob itself).
//  Strings are borrowed; NULL means none.
typedef struct {
    const char *metrics;        //  JSON object text ({"accuracy":0.97}); NULL: the
                                //  model's numeric metadata
    const char *job_id;         //  training job; publish is idempotent on it
    const char *tags;           //  free-form, comma-separated, or NULL
    const char *description;    //  free-form text, or NULL
} maas_registry_meta_t;

//  One stored version, as read back. Strings are owned (free with
//  maas_registry_info_clear); missing ones are "" (never NULL).
typedef struct {
    char *name;                 //  model name
    uint64_t version;           //  1, 2, ...
    int format;                 //  model format version
    char sha256[65];            //  hex sha256 of the blob
    char weights_sha256[65];    //  maas_model_weights_sha256, "" before it was recorded
    size_t inputs;              //  features per input row
    size_t outputs;             //  values per output row
    size_t blob_size;           //  bytes
    int64_t created_ms;         //  wall clock when published
    char *metrics;              //  JSON object text as published, or ""
    char *job_id;               //  training job id, or ""
    char *tags;                 //  comma-separated tags given at publish, or ""
    char *kv_tags;              //  editable tags, "key=value,key2=value2", or ""
    char *description;          //  description (editable), or ""
    char *aliases;              //  aliases pointing here, comma-separated, or ""
    double threshold;           //  binary decision threshold set, 0: none (0.5)
} maas_registry_info_t;

//  One model, as `list` shows it. Strings owned, "" when missing.
typedef struct {
    char *name;                 //  model name
    uint64_t latest;            //  highest version, 0 when none is left
    size_t versions;            //  number of stored versions
    int64_t updated_ms;         //  last publish, wall clock
    char *aliases;              //  "production=3,staging=4", or ""
    char *description;          //  latest description given, or ""
    char *tags;                 //  the model's tags, "key=value,key2=value2", or ""
    char sha256[65];            //  latest version's blob sha256, "" when none
    char weights_sha256[65];    //  latest version's weights hash, "" when none
} maas_registry_model_t;

//  One recorded alias move, as `maas model history` shows it.
typedef struct {
    int64_t at_ms;                             //  wall clock of the move
    char alias[MAAS_REGISTRY_NAME_MAX + 1];    //  alias moved
    uint64_t from;                             //  version it left, 0 if new
    uint64_t to;                               //  version it points at, 0 if removed
    char who[128];                             //  actor (maas_registry_set_actor)
} maas_registry_move_t;

//  A parsed "name", "name@3", "name@alias" or "name@latest"; MLflow's
//  "name/3", "models:/name/3" and "models:/name@alias" too.
typedef struct {
    char name[MAAS_REGISTRY_NAME_MAX + 1];    //  model name
    char ref[MAAS_REGISTRY_NAME_MAX + 1];     //  "" (latest), digits, or alias
} maas_registry_ref_t;

//  -- names and references (no Redis)

//  true if NAME is a valid model name / alias name (see above).
MAAS_EXPORT bool maas_registry_name_valid (const char *name);
MAAS_EXPORT bool maas_registry_alias_valid (const char *alias);
//  Split SPEC into name and reference; -1 with a reason in ERR when the
//  name or reference is malformed.
MAAS_EXPORT int maas_registry_ref_parse (maas_registry_ref_t *self, const char *spec,
                                         maas_err_t *err);
//  0 if a model blob of BYTES fits the registry (MAAS_REGISTRY_BLOB_MAX);
//  else -1 with the one message every refusal gives, an import or a train
//  job ("model big: 300000000 bytes is over the registry's limit of ...").
MAAS_EXPORT int maas_registry_size_check (const char *name, size_t bytes, maas_err_t *err);
//  Lowercase hex sha256 of DATA into HEX (65 bytes).
MAAS_EXPORT void maas_registry_sha256_hex (const void *data, size_t size, char hex[65]);

//  -- lifecycle

//  Connect to the registry in the Redis REDIS names (redis.h: URL,
//  Sentinels) with key PREFIX (NULL: the default). NULL with a reason in
//  ERR when Redis cannot be reached. The link (maas_redis_t) re-opens the
//  connection on the next call after Redis goes away or restarts, and
//  sends a repeatable command again once. Programs must ignore SIGPIPE
//  (hiredis writes with write(2), so a closed connection would otherwise
//  kill them).
MAAS_EXPORT maas_registry_t *maas_registry_open (const maas_redis_config_t *redis,
                                                 const char *prefix, maas_err_t *err);
//  Same at REDIS_URL (NULL: the default), no Sentinel; for callers without
//  a config.
MAAS_EXPORT maas_registry_t *maas_registry_new (const char *redis_url, const char *prefix,
                                                maas_err_t *err);
//  Close and free; safe on NULL; sets *self_p to NULL.
MAAS_EXPORT void maas_registry_destroy (maas_registry_t **self_p);
//  Who the alias history records this client's moves as: "user@host" by
//  default (the login name of the uid, the host name), a train job's id for
//  a trainer. Copied.
MAAS_EXPORT void maas_registry_set_actor (maas_registry_t *self, const char *who);
//  The same default with USER (what main read from $USER; NULL or "": the
//  uid's login name) before the '@'.
MAAS_EXPORT void maas_registry_set_user (maas_registry_t *self, const char *user);
//  Why the last call failed ("model iris has no version 7"); borrowed,
//  valid until the next call.
MAAS_EXPORT const char *maas_registry_error (const maas_registry_t *self);
//  The pub/sub channel announcements go to ("maas:registry"); borrowed.
MAAS_EXPORT const char *maas_registry_channel (const maas_registry_t *self);

//  -- writing (each one atomic, each one announced)

//  Store BLOB (SIZE bytes, copied), a model file (model.h; decoded first,
//  so a blob that is not a valid model is refused with the decoder's
//  reason), as the next version of NAME, creating the model on first
//  publish; *VERSION gets the number. When META->job_id
//  was already published for NAME, nothing is written and *VERSION is that
//  earlier version (*CREATED false). Announces "publish NAME N".
//  Returns 0, or -1 (bad name, not a model, huge blob, Redis error).
MAAS_EXPORT int maas_registry_publish (maas_registry_t *self, const char *name, const void *blob,
                                       size_t size, const maas_registry_meta_t *meta,
                                       uint64_t *version, bool *created);
//  Point ALIAS of NAME at VERSION (which must exist), replacing where it
//  pointed before, and record the move in the history (when it moved).
//  Announces "alias NAME ALIAS N". 0 or -1.
MAAS_EXPORT int maas_registry_alias (maas_registry_t *self, const char *name, const char *alias,
                                     uint64_t version);
//  Remove ALIAS of NAME (recorded as a move to 0). Announces "unalias NAME
//  ALIAS". 0, or -1 when it does not exist.
MAAS_EXPORT int maas_registry_unalias (maas_registry_t *self, const char *name, const char *alias);
//  Delete VERSION of NAME. Refused (-1) while an alias points at it unless
//  FORCE, which removes those aliases too (each announced). `latest`
//  becomes the highest remaining version; numbers are never reused.
//  Announces "delete NAME N".
MAAS_EXPORT int maas_registry_delete (maas_registry_t *self, const char *name, uint64_t version,
                                      bool force);
//  Delete model NAME entirely: every version, alias, tag, its history, its
//  job index, and its name from the model set. Refused (-1) while it has
//  aliases unless FORCE. The versions deleted, ascending, into *VERSIONS
//  (malloc'd, caller frees; NULL when none) and *COUNT; each announced
//  ("unalias NAME A", "delete NAME N"). Numbers restart at 1 if the name is
//  published again. -1 for an unknown model.
MAAS_EXPORT int maas_registry_delete_model (maas_registry_t *self, const char *name, bool force,
                                            uint64_t **versions, size_t *count);

//  -- editing what is said about a model (VERSION 0) or a version; stored
//  beside the records, not in the blob; not announced (they change nothing
//  a worker serves). Each 0, or -1 for an unknown model or version or a
//  bad key or value.

//  Set the description (at most MAAS_REGISTRY_TEXT_MAX bytes).
MAAS_EXPORT int maas_registry_describe (maas_registry_t *self, const char *name, uint64_t version,
                                        const char *text);
//  Set tag KEY (a name, as model names) to VALUE (at most
//  MAAS_REGISTRY_TEXT_MAX bytes, no ',' or control characters).
MAAS_EXPORT int maas_registry_tag (maas_registry_t *self, const char *name, uint64_t version,
                                   const char *key, const char *value);
//  Remove tag KEY; -1 when there is none.
MAAS_EXPORT int maas_registry_untag (maas_registry_t *self, const char *name, uint64_t version,
                                     const char *key);

//  Set NAME@VERSION's decision threshold for a binary model, 0 < THRESHOLD
//  < 1 (a row is class 1 when p >= it), or remove it with 0 (back to 0.5).
//  Kept beside the blob, so the version's weights and hashes do not change;
//  announced ("threshold NAME VERSION") so workers read it again. 0 or -1.
MAAS_EXPORT int maas_registry_set_threshold (maas_registry_t *self, const char *name,
                                             uint64_t version, double threshold);

//  -- reading

//  The threshold set on NAME@VERSION into *THRESHOLD, 0 when none. 0 or -1.
MAAS_EXPORT int maas_registry_threshold (maas_registry_t *self, const char *name, uint64_t version,
                                         double *threshold);

//  Version of NAME that REF names: "" or "latest" (the highest), a number,
//  or an alias. 0 or -1 ("model iris has no alias 'prod'").
MAAS_EXPORT int maas_registry_resolve (maas_registry_t *self, const char *name, const char *ref,
                                       uint64_t *version);
//  Metadata of NAME@VERSION into *INFO (cleared first, caller clears it
//  with maas_registry_info_clear). 0 or -1.
MAAS_EXPORT int maas_registry_info (maas_registry_t *self, const char *name, uint64_t version,
                                    maas_registry_info_t *info);
MAAS_EXPORT void maas_registry_info_clear (maas_registry_info_t *info);
//  Blob of NAME@VERSION into *BLOB (malloc'd, caller frees) and *SIZE,
//  after checking it against the stored sha256 (copied to SHA256 if not
//  NULL). -1 when missing or corrupted ("model iris@3: stored blob fails
//  its sha256 check").
MAAS_EXPORT int maas_registry_fetch (maas_registry_t *self, const char *name, uint64_t version,
                                     uint8_t **blob, size_t *size, char *sha256);
//  Versions of NAME, ascending, into *VERSIONS (malloc'd, caller frees;
//  NULL when none) and *COUNT. -1 if the model does not exist.
MAAS_EXPORT int maas_registry_versions (maas_registry_t *self, const char *name,
                                        uint64_t **versions, size_t *count);
//  Every model, sorted by name, into *MODELS (malloc'd array; free with
//  maas_registry_models_free) and *COUNT. 0 or -1.
MAAS_EXPORT int maas_registry_list (maas_registry_t *self, maas_registry_model_t **models,
                                    size_t *count);
MAAS_EXPORT void maas_registry_models_free (maas_registry_model_t **models_p, size_t count);
//  As list, keeping the models whose name matches GLOB (fnmatch; NULL: any)
//  and whose tags include each of the N_TAGS "key=value" strings TAGS.
MAAS_EXPORT int maas_registry_search (maas_registry_t *self, const char *glob,
                                      const char *const *tags, size_t n_tags,
                                      maas_registry_model_t **models, size_t *count);
//  The alias moves of NAME (only ALIAS's, unless NULL), newest first, at
//  most MAAS_REGISTRY_HISTORY_MAX, into *MOVES (malloc'd, caller frees)
//  and *COUNT. -1 for an unknown model with no history.
MAAS_EXPORT int maas_registry_history (maas_registry_t *self, const char *name, const char *alias,
                                       maas_registry_move_t **moves, size_t *count);

//  -- announcements

typedef enum {
    MAAS_REGISTRY_EV_PUBLISH,      //  a new version (and so a new latest)
    MAAS_REGISTRY_EV_ALIAS,        //  an alias moved or was created
    MAAS_REGISTRY_EV_UNALIAS,      //  an alias was removed
    MAAS_REGISTRY_EV_DELETE,       //  a version was deleted
    MAAS_REGISTRY_EV_THRESHOLD,    //  a version's decision threshold was set or removed
} maas_registry_ev_type_t;

typedef struct {
    maas_registry_ev_type_t type;              //  what happened
    char name[MAAS_REGISTRY_NAME_MAX + 1];     //  model
    char alias[MAAS_REGISTRY_NAME_MAX + 1];    //  alias, "" for publish/delete
    uint64_t version;                          //  version concerned, 0 for unalias
} maas_registry_event_t;

//  Parse one announcement ("alias iris production 3"). 0, or -1 if it is
//  not one.
MAAS_EXPORT int maas_registry_event_parse (maas_registry_event_t *event, const char *text,
                                           size_t len);

typedef struct _maas_registry_watch_t maas_registry_watch_t;

//  Subscribe to the announcements of the registry in REDIS/PREFIX on a
//  connection of its own; returns once the subscription is confirmed, so
//  every change after this call is seen. NULL with ERR on failure.
MAAS_EXPORT maas_registry_watch_t *maas_registry_watch_open (const maas_redis_config_t *redis,
                                                             const char *prefix, maas_err_t *err);
//  Same at REDIS_URL, no Sentinel, as maas_registry_new.
MAAS_EXPORT maas_registry_watch_t *maas_registry_watch_new (const char *redis_url,
                                                            const char *prefix, maas_err_t *err);
MAAS_EXPORT void maas_registry_watch_destroy (maas_registry_watch_t **self_p);
//  Socket to poll for readability (zmq_poll accepts it as an fd item).
MAAS_EXPORT int maas_registry_watch_fd (const maas_registry_watch_t *self);
//  Next announcement, waiting up to TIMEOUT_MS (0: only what is already
//  readable; -1: forever). Returns 1 with *EVENT filled, 0 when none came,
//  -1 when the connection is lost: the caller must assume it missed
//  changes (drop what it resolved) and make a new watch.
MAAS_EXPORT int maas_registry_watch_next (maas_registry_watch_t *self, maas_registry_event_t *event,
                                          int timeout_ms);

#ifdef __cplusplus
}
#endif

#endif
