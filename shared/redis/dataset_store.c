/*  dataset_store.c: data sets in Redis: chunked float32 values written under
 *  a fresh generation, then a manifest hash switched in by WATCH/MULTI/EXEC;
 *  loads check the sha256. Key layout: docs/redis.md, "Data sets". */
#include "dataset_store.h"
#include "clock.h"
#include "log.h"
#include "redis.h"

#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_TIMEOUT_MS     30000                  //  connect and per-command timeout
#define S_PENDING_TTL_MS 3600000                //  chunks not (yet) switched in expire after this
#define S_WINDOW_BYTES   ((size_t) 16 << 20)    //  pipelined bytes before reading replies
#define S_WINDOW_CMDS    256                    //  pipelined commands before reading replies
#define S_RETRIES        5                      //  attempts when a concurrent writer interferes

struct _maas_dataset_store_t {
    maas_redis_t *redis;    //  link to Redis, owned
    char *prefix;           //  key prefix ("maas:"), owned
    size_t chunk_bytes;     //  largest value a put writes
    maas_err_t err;         //  why the last call failed
};

//  The manifest as stored: the public part and where the data lives.
typedef struct {
    maas_dataset_info_t info;    //  what maas dataset show prints
    char gen[40];                //  generation token in the chunk keys
    size_t chunk_bytes;          //  chunk size the data was written with
    size_t x_chunks;             //  chunks of feature bytes
    size_t y_chunks;             //  chunks of label bytes
} s_manifest_t;

//  The link's error, after WHAT ("data set 'iris': redis ...: Broken pipe"). -1.
static int
s_link_fail (maas_dataset_store_t *self, const char *what)
{
    maas_err_copy (&self->err, maas_redis_err (self->redis));
    return maas_err_prefix (&self->err, "%s", what);
}

//  The connection's own error after a pipelined command failed. -1.
static int
s_io_fail (maas_dataset_store_t *self, const char *what)
{
    maas_redis_fail_io (self->redis, what);
    return maas_err_copy (&self->err, maas_redis_err (self->redis));
}

maas_dataset_store_t *
maas_dataset_store_open (const maas_redis_config_t *redis, const char *prefix, maas_err_t *err)
{
    maas_dataset_store_t *self = calloc (1, sizeof *self);
    if (!self || !(self->prefix = strdup (prefix ? prefix : MAAS_DATASET_STORE_PREFIX))) {
        maas_err_set (err, MAAS_ERR_NOMEM, "data sets: out of memory");
        maas_dataset_store_destroy (&self);
        return NULL;
    }
    self->chunk_bytes = MAAS_DATASET_STORE_CHUNK_DEFAULT;
    if (!(self->redis = maas_redis_new (redis, S_TIMEOUT_MS, err)))
        maas_dataset_store_destroy (&self);
    return self;
}

maas_dataset_store_t *
maas_dataset_store_new (const char *url, const char *prefix, maas_err_t *err)
{
    maas_redis_config_t redis = {.url = url};
    return maas_dataset_store_open (&redis, prefix, err);
}

void
maas_dataset_store_destroy (maas_dataset_store_t **self_p)
{
    assert (self_p);
    maas_dataset_store_t *self = *self_p;
    if (!self)
        return;
    maas_redis_destroy (&self->redis);
    free (self->prefix);
    free (self);
    *self_p = NULL;
}

void
maas_dataset_store_set_chunk_bytes (maas_dataset_store_t *self, size_t bytes)
{
    assert (self);
    self->chunk_bytes = bytes < 4 ? 4 : bytes;
}

const char *
maas_dataset_store_error (const maas_dataset_store_t *self)
{
    assert (self);
    return self->err.text;
}

bool
maas_dataset_name_valid (const char *name)
{
    size_t len = name ? strlen (name) : 0;
    if (len == 0 || len > MAAS_DATASET_MAX_NAME || name[0] == '.')
        return false;
    return strspn (name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-")
        == len;
}

void
maas_dataset_info_clear (maas_dataset_info_t *info)
{
    if (info->columns)
        for (size_t c = 0; c < info->cols; c++)
            free (info->columns[c]);
    free (info->columns);
    free (info->name);
    free (info->label);
    free (info->class_names);
    memset (info, 0, sizeof *info);
}

//  -- keys

static void
s_key_manifest (const maas_dataset_store_t *self, const char *name, char *key, size_t size)
{
    snprintf (key, size, "%sdataset:{%s}", self->prefix, name);
}

//  Chunk I of PART ('x' features, 'y' labels) of generation GEN.
static void
s_key_chunk (const maas_dataset_store_t *self, const char *name, const char *gen, char part,
             size_t i, char *key, size_t size)
{
    snprintf (key, size, "%sdataset:{%s}:%s:%c:%zu", self->prefix, name, gen, part, i);
}

static void
s_key_index (const maas_dataset_store_t *self, char *key, size_t size)
{
    snprintf (key, size, "%sdatasets", self->prefix);
}

static size_t
s_chunk_count (size_t bytes, size_t chunk_bytes)
{
    return (bytes + chunk_bytes - 1) / chunk_bytes;
}

//  Read COUNT pipelined replies; fail (after reading them all) on the first
//  error reply, at once on a lost connection.
static int
s_drain (maas_dataset_store_t *self, size_t count, const char *what)
{
    int rc = 0;
    for (size_t i = 0; i < count; i++) {
        redisReply *reply = NULL;
        if (redisGetReply (maas_redis_context (self->redis), (void **) &reply) != REDIS_OK)
            return s_io_fail (self, what);
        if (reply->type == REDIS_REPLY_ERROR && rc == 0)
            rc = maas_err_set (&self->err, MAAS_ERR_INPUT, "%s: redis: %s", what, reply->str);
        freeReplyObject (reply);
    }
    return rc;
}

//  -- put

//  SET every chunk of SIZE bytes as PART of generation GEN, expiring unless
//  a commit persists them; pipelined in windows.
static int
s_write_part (maas_dataset_store_t *self, const char *name, const char *gen, char part,
              const void *bytes, size_t size, const char *what)
{
    size_t chunks = s_chunk_count (size, self->chunk_bytes);
    size_t pending = 0, pending_bytes = 0;
    char ttl[24];
    snprintf (ttl, sizeof ttl, "%d", S_PENDING_TTL_MS);
    for (size_t i = 0; i < chunks; i++) {
        size_t offset = i * self->chunk_bytes;
        size_t len = size - offset < self->chunk_bytes ? size - offset : self->chunk_bytes;
        char key[512];
        s_key_chunk (self, name, gen, part, i, key, sizeof key);
        const char *argv[] = {"SET", key, (const char *) bytes + offset, "PX", ttl};
        size_t lens[] = {3, strlen (key), len, 2, strlen (ttl)};
        if (redisAppendCommandArgv (maas_redis_context (self->redis), 5, argv, lens) != REDIS_OK)
            return maas_err_set (&self->err, MAAS_ERR_INPUT, "%s: out of memory", what);
        pending++;
        pending_bytes += len;
        if (pending >= S_WINDOW_CMDS || pending_bytes >= S_WINDOW_BYTES || i + 1 == chunks) {
            if (s_drain (self, pending, what) != 0)
                return -1;
            pending = pending_bytes = 0;
        }
    }
    return 0;
}

//  N names joined by newlines (names never hold one), "" for none; the
//  caller frees.
static char *
s_join_names (const char *const *names, size_t n)
{
    size_t size = 1;
    for (size_t i = 0; names && i < n; i++)
        size += strlen (names[i]) + 1;
    char *joined = calloc (1, size);
    for (size_t i = 0; joined && names && i < n; i++) {
        strcat (joined, names[i]);
        if (i + 1 < n)
            strcat (joined, "\n");
    }
    return joined;
}

//  Feature names joined by newlines (names never hold one); the caller frees.
static char *
s_join_columns (const maas_dataset_t *dataset)
{
    size_t cols = maas_dataset_cols (dataset), size = 1;
    for (size_t c = 0; c < cols; c++)
        size += strlen (maas_dataset_column (dataset, c)) + 1;
    char *joined = malloc (size);
    if (!joined)
        return NULL;
    char *at = joined;
    for (size_t c = 0; c < cols; c++) {
        size_t len = strlen (maas_dataset_column (dataset, c));
        memcpy (at, maas_dataset_column (dataset, c), len);
        at += len;
        *at++ = c + 1 < cols ? '\n' : '\0';
    }
    return joined;
}

//  Queue HSET of the new manifest (inside the caller's MULTI).
static int
s_append_manifest (maas_dataset_store_t *self, const char *key, const maas_dataset_t *dataset,
                   const char *gen, const char *columns)
{
    size_t rows = maas_dataset_rows (dataset), cols = maas_dataset_cols (dataset);
    char values[7][32];
    snprintf (values[0], 32, "%zu", rows);
    snprintf (values[1], 32, "%zu", cols);
    snprintf (values[2], 32, "%zu", maas_dataset_classes (dataset));
    snprintf (values[3], 32, "%zu", self->chunk_bytes);
    snprintf (values[4], 32, "%zu",
              s_chunk_count (rows * cols * sizeof (float), self->chunk_bytes));
    snprintf (values[5], 32, "%zu", s_chunk_count (rows * sizeof (float), self->chunk_bytes));
    snprintf (values[6], 32, "%" PRId64, maas_clock_wall_ms ());
    //  Always written ("" without names): a put replaces an older manifest's.
    char *class_names =
        s_join_names (maas_dataset_class_names (dataset), maas_dataset_classes (dataset));
    if (!class_names)
        return -1;
    const char *argv[] = {"HSET",        key,
                          "class_names", class_names,
                          "format",      "1",
                          "rows",        values[0],
                          "cols",        values[1],
                          "task",        maas_dataset_task_name (maas_dataset_task (dataset)),
                          "classes",     values[2],
                          "label",       maas_dataset_label (dataset),
                          "columns",     columns,
                          "sha256",      maas_dataset_sha256_hex (dataset),
                          "gen",         gen,
                          "chunk_bytes", values[3],
                          "x_chunks",    values[4],
                          "y_chunks",    values[5],
                          "created_ms",  values[6]};
    int argc = (int) (sizeof argv / sizeof argv[0]);
    int rc = redisAppendCommandArgv (maas_redis_context (self->redis), argc, argv, NULL);
    free (class_names);
    return rc == REDIS_OK ? 0 : -1;
}

//  Queue an EXPIRE (SECONDS > 0), PERSIST (0) or DEL (-1) of every chunk of
//  generation GEN.
static int
s_append_chunk_op (maas_dataset_store_t *self, const char *name, const char *gen, size_t x_chunks,
                   size_t y_chunks, int seconds)
{
    for (size_t i = 0; i < x_chunks + y_chunks; i++) {
        char key[512];
        s_key_chunk (self, name, gen, i < x_chunks ? 'x' : 'y', i < x_chunks ? i : i - x_chunks,
                     key, sizeof key);
        int rc = seconds > 0
            ? redisAppendCommand (maas_redis_context (self->redis), "EXPIRE %s %d", key, seconds)
            : seconds == 0
            ? redisAppendCommand (maas_redis_context (self->redis), "PERSIST %s", key)
            : redisAppendCommand (maas_redis_context (self->redis), "DEL %s", key);
        if (rc != REDIS_OK)
            return -1;
    }
    return 0;
}

//  Strict decimal size_t; -1 if TEXT is not one.
static int
s_parse_size (const char *text, size_t *out)
{
    if (!text || *text < '0' || *text > '9')
        return -1;
    char *end;
    errno = 0;
    unsigned long long value = strtoull (text, &end, 10);
    if (*end || errno || value > SIZE_MAX)
        return -1;
    *out = (size_t) value;
    return 0;
}

//  The generation and chunk counts of NAME's manifest at KEY; GEN is empty
//  when there is no manifest.
static int
s_read_generation (maas_dataset_store_t *self, const char *key, char gen[40], size_t *x_chunks,
                   size_t *y_chunks, const char *what)
{
    redisReply *reply =
        maas_redis_commandf (self->redis, true, "HMGET %s gen x_chunks y_chunks", key);
    if (!reply)
        return s_link_fail (self, what);
    gen[0] = '\0';
    *x_chunks = *y_chunks = 0;
    if (reply->type == REDIS_REPLY_ARRAY && reply->elements == 3
        && reply->element[0]->type == REDIS_REPLY_STRING && reply->element[0]->len < 40
        && s_parse_size (reply->element[1]->str, x_chunks) == 0
        && s_parse_size (reply->element[2]->str, y_chunks) == 0)
        snprintf (gen, 40, "%s", reply->element[0]->str);
    freeReplyObject (reply);
    return 0;
}

//  Run the transaction queued after WATCH: QUEUED replies (COUNT of them,
//  MULTI included), then EXEC's. Returns 0 if it ran, 1 if a concurrent
//  writer touched the watched key (nothing ran), -1 on error.
static int
s_exec (maas_dataset_store_t *self, size_t count, const char *what)
{
    int rc = s_drain (self, count, what);
    redisReply *reply = NULL;
    if (redisGetReply (maas_redis_context (self->redis), (void **) &reply) != REDIS_OK)
        return s_io_fail (self, what);
    if (rc == 0 && reply->type == REDIS_REPLY_NIL)
        rc = 1;
    else if (rc == 0 && reply->type != REDIS_REPLY_ARRAY)
        rc = maas_err_set (&self->err, MAAS_ERR_INPUT, "%s: redis: %s", what,
                           reply->type == REDIS_REPLY_ERROR ? reply->str : "unexpected EXEC reply");
    for (size_t i = 0; rc == 0 && i < reply->elements; i++)
        if (reply->element[i]->type == REDIS_REPLY_ERROR)
            rc = maas_err_set (&self->err, MAAS_ERR_INPUT, "%s: redis: %s", what,
                               reply->element[i]->str);
    freeReplyObject (reply);
    return rc;
}

//  Switch NAME's manifest to generation GEN and let the old one expire.
static int
s_switch (maas_dataset_store_t *self, const char *name, const maas_dataset_t *dataset,
          const char *gen, const char *columns, const char *what)
{
    char key[512], index[512], old_gen[40];
    s_key_manifest (self, name, key, sizeof key);
    s_key_index (self, index, sizeof index);
    size_t rows = maas_dataset_rows (dataset), cols = maas_dataset_cols (dataset);
    size_t x_chunks = s_chunk_count (rows * cols * sizeof (float), self->chunk_bytes);
    size_t y_chunks = s_chunk_count (rows * sizeof (float), self->chunk_bytes);
    for (int attempt = 0; attempt < S_RETRIES; attempt++) {
        size_t old_x, old_y;
        redisReply *reply = maas_redis_commandf (self->redis, true, "WATCH %s", key);
        if (!reply)
            return s_link_fail (self, what);
        freeReplyObject (reply);
        if (s_read_generation (self, key, old_gen, &old_x, &old_y, what) != 0)
            return -1;
        if (!*old_gen)
            old_x = old_y = 0;
        int queued = redisAppendCommand (maas_redis_context (self->redis), "MULTI")
            | s_append_chunk_op (self, name, gen, x_chunks, y_chunks, 0)
            | redisAppendCommand (maas_redis_context (self->redis), "DEL %s", key)
            | s_append_manifest (self, key, dataset, gen, columns)
            | redisAppendCommand (maas_redis_context (self->redis), "SADD %s %s", index, name)
            | s_append_chunk_op (self, name, old_gen, old_x, old_y, MAAS_DATASET_STORE_GRACE_S)
            | redisAppendCommand (maas_redis_context (self->redis), "EXEC");
        if (queued != 0)
            return maas_err_set (&self->err, MAAS_ERR_INPUT, "%s: out of memory", what);
        int rc = s_exec (self, 4 + x_chunks + y_chunks + old_x + old_y, what);
        if (rc <= 0)
            return rc;
    }
    return maas_err_set (&self->err, MAAS_ERR_INPUT,
                         "%s: other writers kept replacing it; try again", what);
}

int
maas_dataset_store_put (maas_dataset_store_t *self, const char *name, const maas_dataset_t *dataset)
{
    assert (self && dataset);
    if (!maas_dataset_name_valid (name))
        return maas_err_set (&self->err, MAAS_ERR_INPUT,
                             "data set name '%.140s' is not valid: use 1-%d letters, digits, "
                             "'.', '_' or '-'",
                             name ? name : "", MAAS_DATASET_MAX_NAME);
    if (maas_redis_ready (self->redis, true) != 0)
        return s_link_fail (self, "data set");
    char what[200], gen[40];
    uint8_t random[8];
    snprintf (what, sizeof what, "data set '%s'", name);
    randombytes_buf (random, sizeof random);
    sodium_bin2hex (gen, sizeof gen, random, sizeof random);
    char *columns = s_join_columns (dataset);
    if (!columns)
        return maas_err_set (&self->err, MAAS_ERR_INPUT, "%s: out of memory", what);
    size_t rows = maas_dataset_rows (dataset), cols = maas_dataset_cols (dataset);
    int rc = s_write_part (self, name, gen, 'x', maas_dataset_features (dataset)->data,
                           rows * cols * sizeof (float), what);
    if (rc == 0)
        rc = s_write_part (self, name, gen, 'y', maas_dataset_labels (dataset)->data,
                           rows * sizeof (float), what);
    if (rc == 0)
        rc = s_switch (self, name, dataset, gen, columns, what);
    free (columns);
    if (rc == 0)
        maas_info ("dataset", "stored name=%s rows=%zu cols=%zu task=%s sha256=%s", name, rows,
                   cols, maas_dataset_task_name (maas_dataset_task (dataset)),
                   maas_dataset_sha256_hex (dataset));
    return rc;
}

//  -- get, info

//  Split newline-joined names into exactly COLS strings; -1 if they differ.
static int
s_split_columns (const char *joined, size_t cols, char ***columns_p)
{
    char **columns = calloc (cols, sizeof (char *));
    if (!columns)
        return -1;
    *columns_p = columns;
    const char *at = joined;
    for (size_t c = 0; c < cols; c++) {
        const char *end = strchr (at, '\n');
        if (!end && c + 1 < cols)
            return -1;
        if (end && c + 1 == cols)
            return -1;
        size_t len = end ? (size_t) (end - at) : strlen (at);
        if (!(columns[c] = strndup (at, len)))
            return -1;
        at += len + 1;
    }
    return 0;
}

//  Give DATASET the newline-joined class NAMES. 0 or -1.
static int
s_set_class_names (maas_dataset_t *dataset, const char *names)
{
    size_t n = 1;
    for (const char *c = names; *c; c++)
        n += *c == '\n';
    char **split = NULL;
    int rc = n == maas_dataset_classes (dataset) ? s_split_columns (names, n, &split) : -1;
    if (rc == 0)
        rc = maas_dataset_set_class_names (dataset, (const char *const *) split, n);
    for (size_t i = 0; split && i < n; i++)
        free (split[i]);
    free (split);
    return rc;
}

//  Take one manifest field; -1 if its value is malformed.
static int
s_take_field (s_manifest_t *m, const char *field, const char *value, const char **columns)
{
    maas_dataset_info_t *info = &m->info;
    if (strcmp (field, "class_names") == 0)
        return *value ? ((info->class_names = strdup (value)) ? 0 : -1) : 0;
    if (strcmp (field, "rows") == 0)
        return s_parse_size (value, &info->rows);
    if (strcmp (field, "cols") == 0)
        return s_parse_size (value, &info->cols);
    if (strcmp (field, "classes") == 0)
        return s_parse_size (value, &info->classes);
    if (strcmp (field, "chunk_bytes") == 0)
        return s_parse_size (value, &m->chunk_bytes);
    if (strcmp (field, "x_chunks") == 0)
        return s_parse_size (value, &m->x_chunks);
    if (strcmp (field, "y_chunks") == 0)
        return s_parse_size (value, &m->y_chunks);
    if (strcmp (field, "created_ms") == 0) {
        size_t created;
        int rc = s_parse_size (value, &created);
        info->created_ms = created;
        return rc;
    }
    if (strcmp (field, "task") == 0) {
        int task = maas_dataset_task_parse (value);
        info->task = task > 0 ? (maas_dataset_task_t) task : MAAS_DATASET_AUTO;
        return task > 0 ? 0 : -1;
    }
    if (strcmp (field, "label") == 0)
        return (info->label = strdup (value)) ? 0 : -1;
    if (strcmp (field, "sha256") == 0 && strlen (value) == 64)
        return snprintf (info->sha256, sizeof info->sha256, "%s", value) > 0 ? 0 : -1;
    if (strcmp (field, "gen") == 0 && strlen (value) < sizeof m->gen)
        return snprintf (m->gen, sizeof m->gen, "%s", value) > 0 ? 0 : -1;
    if (strcmp (field, "columns") == 0)
        *columns = value;
    return 0;
}

//  Sizes that agree with each other and stay within what we may allocate.
static bool
s_manifest_consistent (const s_manifest_t *m)
{
    const maas_dataset_info_t *info = &m->info;
    if (info->rows == 0 || info->cols == 0 || info->cols > MAAS_TENSOR_MAX_ELEMS / info->rows
        || m->chunk_bytes < 4 || info->task == MAAS_DATASET_AUTO || !info->label || !*info->sha256
        || !*m->gen)
        return false;
    return m->x_chunks == s_chunk_count (info->rows * info->cols * sizeof (float), m->chunk_bytes)
        && m->y_chunks == s_chunk_count (info->rows * sizeof (float), m->chunk_bytes);
}

//  Index of the first field of the HGETALL REPLY that an earlier pair
//  already named, or 0 when each is there once (a hash holds a field once;
//  a reply that says otherwise is not one we can trust).
static size_t
s_repeated_field (const redisReply *reply)
{
    for (size_t i = 2; i + 1 < reply->elements; i += 2)
        for (size_t j = 0; j < i; j += 2)
            if (reply->element[i]->len == reply->element[j]->len
                && memcmp (reply->element[i]->str, reply->element[j]->str, reply->element[i]->len)
                    == 0)
                return i;
    return 0;
}

//  Check the HGETALL REPLY of NAME's manifest and take it into M (zeroed
//  first; the caller clears M->info). -1 with ERR.
static int
s_parse_manifest (const char *name, const redisReply *reply, s_manifest_t *m, maas_err_t *err)
{
    memset (m, 0, sizeof *m);
    if (reply->type != REDIS_REPLY_ARRAY || reply->elements == 0)
        return maas_err_set (err, MAAS_ERR_NOT_FOUND, "data set '%s' not found", name);
    for (size_t i = 0; i < reply->elements; i++)
        if (reply->element[i]->type != REDIS_REPLY_STRING)
            return maas_err_set (err, MAAS_ERR_INPUT,
                                 "data set '%s': its manifest is damaged "
                                 "(not a hash of strings)",
                                 name);
    size_t repeated = s_repeated_field (reply);
    if (repeated)
        return maas_err_set (err, MAAS_ERR_INPUT,
                             "data set '%s': its manifest is damaged "
                             "(field '%.64s' given twice)",
                             name, reply->element[repeated]->str);
    const char *columns = NULL;
    int rc = 0;
    for (size_t i = 0; rc == 0 && i + 1 < reply->elements; i += 2)
        //  A name with a NUL in it is no field of ours (and would read as
        //  one by its C string, taking a field twice): passed over.
        if (strlen (reply->element[i]->str) == reply->element[i]->len)
            rc = s_take_field (m, reply->element[i]->str, reply->element[i + 1]->str, &columns);
    if (rc == 0
        && (!s_manifest_consistent (m) || !columns
            || s_split_columns (columns, m->info.cols, &m->info.columns) != 0))
        rc = -1;
    if (rc == 0 && !(m->info.name = strdup (name)))
        rc = -1;
    return rc == 0 ? 0
                   : maas_err_set (err, MAAS_ERR_INPUT,
                                   "data set '%s': its manifest is "
                                   "damaged",
                                   name);
}

int
maas_dataset_manifest_parse (const char *name, const redisReply *reply, maas_dataset_info_t *info,
                             maas_err_t *err)
{
    assert (name && reply && info);
    s_manifest_t m;
    int rc = s_parse_manifest (name, reply, &m, err);
    *info = m.info;
    info->chunks = m.x_chunks + m.y_chunks;
    return rc;
}

//  Read and check NAME's manifest into M (zeroed first; the caller clears
//  M->info). -1 with the error set, "not found" included.
static int
s_read_manifest (maas_dataset_store_t *self, const char *name, s_manifest_t *m)
{
    memset (m, 0, sizeof *m);
    char key[512];
    s_key_manifest (self, name, key, sizeof key);
    redisReply *reply = maas_redis_commandf (self->redis, true, "HGETALL %s", key);
    if (!reply)
        return s_link_fail (self, "data set");
    int rc = s_parse_manifest (name, reply, m, &self->err);
    freeReplyObject (reply);
    return rc;
}

//  Read PART of generation M->gen into OUT (SIZE bytes). Returns 0, 1 if a
//  chunk is gone (replaced meanwhile: read again), -1 with the error set.
static int
s_read_part (maas_dataset_store_t *self, const s_manifest_t *m, char part, void *out, size_t size)
{
    size_t chunks = part == 'x' ? m->x_chunks : m->y_chunks, done = 0;
    int rc = 0;
    while (done < chunks) {
        size_t window = chunks - done;
        window = window > S_WINDOW_CMDS ? S_WINDOW_CMDS : window;
        for (size_t i = done; i < done + window; i++) {
            char key[512];
            s_key_chunk (self, m->info.name, m->gen, part, i, key, sizeof key);
            if (redisAppendCommand (maas_redis_context (self->redis), "GET %s", key) != REDIS_OK)
                return maas_err_set (&self->err, MAAS_ERR_INPUT, "data set '%s': out of memory",
                                     m->info.name);
        }
        for (size_t i = done; i < done + window; i++) {
            redisReply *reply = NULL;
            redisContext *ctx = maas_redis_context (self->redis);
            if (redisGetReply (ctx, (void **) &reply) != REDIS_OK) {
                //  The connection broke mid-read (a restart, a failover):
                //  read again; the manifest's read waits for Redis.
                bool broken = ctx->err == REDIS_ERR_EOF || ctx->err == REDIS_ERR_IO;
                return broken ? (s_io_fail (self, "data set"), 1) : s_io_fail (self, "data set");
            }
            size_t offset = i * m->chunk_bytes;
            size_t len = size - offset < m->chunk_bytes ? size - offset : m->chunk_bytes;
            if (rc == 0 && reply->type == REDIS_REPLY_NIL)
                rc = 1;
            else if (rc == 0 && (reply->type != REDIS_REPLY_STRING || (size_t) reply->len != len))
                rc = maas_err_set (&self->err, MAAS_ERR_INPUT,
                                   "data set '%s': chunk %c:%zu has the wrong size", m->info.name,
                                   part, i);
            else if (rc == 0)
                memcpy ((char *) out + offset, reply->str, len);
            freeReplyObject (reply);
        }
        done += window;
    }
    return rc;
}

//  Read M's data and check it against its sha256. Returns the data set,
//  NULL with *RC 1 (read again) or -1 (error set).
static maas_dataset_t *
s_load (maas_dataset_store_t *self, const s_manifest_t *m, int *rc)
{
    const maas_dataset_info_t *info = &m->info;
    maas_tensor_t *x = maas_tensor_new (info->rows, info->cols);
    maas_tensor_t *y = maas_tensor_new (info->rows, 1);
    maas_dataset_t *dataset = NULL;
    *rc = x && y
        ? 0
        : maas_err_set (&self->err, MAAS_ERR_INPUT, "data set '%s': out of memory (%zu × %zu)",
                        info->name, info->rows, info->cols);
    if (*rc == 0)
        *rc = s_read_part (self, m, 'x', x->data, info->rows * info->cols * sizeof (float));
    if (*rc == 0)
        *rc = s_read_part (self, m, 'y', y->data, info->rows * sizeof (float));
    if (*rc == 0) {
        uint8_t digest[MAAS_DATASET_SHA256_BYTES];
        char hex[MAAS_DATASET_SHA256_HEX];
        maas_dataset_hash (x->data, y->data, info->rows, info->cols, digest);
        maas_dataset_hex (digest, hex);
        if (strcmp (hex, info->sha256) != 0)
            *rc = maas_err_set (&self->err, MAAS_ERR_INPUT,
                                "data set '%s' is corrupted: sha256 %s, manifest says %s",
                                info->name, hex, info->sha256);
    }
    if (*rc == 0) {
        dataset = maas_dataset_new (&x, &y, (const char *const *) info->columns, info->label,
                                    info->task, &self->err);
        if (!dataset)
            *rc = maas_err_prefix (&self->err, "data set '%s'", info->name);
        else if (info->class_names && s_set_class_names (dataset, info->class_names) != 0) {
            *rc = maas_err_set (&self->err, MAAS_ERR_INPUT,
                                "data set '%s': its manifest's class names do not match its "
                                "%zu classes",
                                info->name, info->classes);
            maas_dataset_destroy (&dataset);
        }
    }
    maas_tensor_destroy (&x);
    maas_tensor_destroy (&y);
    return dataset;
}

//  Check NAME and make the link ready for an operation (WRITE: one that
//  writes, so Sentinel is asked where the master is). 0 or -1.
static int
s_begin (maas_dataset_store_t *self, const char *name, bool write)
{
    if (!maas_dataset_name_valid (name))
        return maas_err_set (&self->err, MAAS_ERR_INPUT, "data set name '%.140s' is not valid",
                             name ? name : "");
    //  Redis out of reach is left to the first command, which waits for it
    //  to come back (a restart, a failover) before it fails.
    if (maas_redis_ready (self->redis, write) != 0
        && maas_redis_err (self->redis)->code != MAAS_ERR_IO)
        return s_link_fail (self, "data set");
    return 0;
}

maas_dataset_t *
maas_dataset_store_get (maas_dataset_store_t *self, const char *name)
{
    assert (self);
    if (s_begin (self, name, false) != 0)
        return NULL;
    for (int attempt = 0; attempt < S_RETRIES; attempt++) {
        s_manifest_t m;
        if (s_read_manifest (self, name, &m) != 0) {
            maas_dataset_info_clear (&m.info);
            return NULL;
        }
        int rc;
        maas_dataset_t *dataset = s_load (self, &m, &rc);
        maas_dataset_info_clear (&m.info);
        if (rc <= 0)
            return dataset;
    }
    maas_err_set (&self->err, MAAS_ERR_INPUT,
                  "data set '%s' was replaced %d times while loading; try again", name, S_RETRIES);
    return NULL;
}

int
maas_dataset_store_info (maas_dataset_store_t *self, const char *name, maas_dataset_info_t *info)
{
    assert (self && info);
    memset (info, 0, sizeof *info);
    if (s_begin (self, name, false) != 0)
        return -1;
    s_manifest_t m;
    if (s_read_manifest (self, name, &m) != 0) {
        maas_dataset_info_clear (&m.info);
        return -1;
    }
    *info = m.info;
    info->chunks = m.x_chunks + m.y_chunks;
    return 0;
}

//  Append one difference, "; "-separated, to DIFF (truncated if full).
static void s_diff_add (char *diff, size_t diff_size, const char *fmt, ...)
    __attribute__ ((format (printf, 3, 4)));

static void
s_diff_add (char *diff, size_t diff_size, const char *fmt, ...)
{
    size_t used = strlen (diff);
    if (used + 2 >= diff_size)
        return;
    if (used)
        used += (size_t) snprintf (diff + used, diff_size - used, "; ");
    va_list args;
    va_start (args, fmt);
    vsnprintf (diff + used, diff_size - used, fmt, args);
    va_end (args);
}

void
maas_dataset_info_diff (const maas_dataset_info_t *info, const maas_dataset_t *dataset, char *diff,
                        size_t diff_size)
{
    assert (info && dataset && diff && diff_size);
    *diff = 0;
    maas_dataset_task_t task = maas_dataset_task (dataset);
    if (info->task != task)
        s_diff_add (diff, diff_size, "task %s (this file: %s)", maas_dataset_task_name (info->task),
                    maas_dataset_task_name (task));
    if (!info->label || strcmp (info->label, maas_dataset_label (dataset)) != 0)
        s_diff_add (diff, diff_size, "label column '%.64s' (this file: '%.64s')",
                    info->label ? info->label : "", maas_dataset_label (dataset));
    size_t cols = maas_dataset_cols (dataset);
    if (info->cols != cols)
        s_diff_add (diff, diff_size, "%zu columns (this file: %zu)", info->cols, cols);
    for (size_t c = 0; info->cols == cols && info->columns && c < cols; c++)
        if (strcmp (info->columns[c], maas_dataset_column (dataset, c)) != 0) {
            s_diff_add (diff, diff_size, "column %zu '%.64s' (this file: '%.64s')", c + 1,
                        info->columns[c], maas_dataset_column (dataset, c));
            break;
        }
    char *names = s_join_names (maas_dataset_class_names (dataset), maas_dataset_classes (dataset));
    const char *stored = info->class_names ? info->class_names : "";
    if (!names || strcmp (stored, names) != 0)
        s_diff_add (diff, diff_size, "class names (this file: %s)",
                    maas_dataset_class_names (dataset) ? "other ones" : "none, numbered");
    free (names);
}

//  -- list, remove

static int
s_compare_names (void *a, void *b)
{
    return strcmp ((const char *) a, (const char *) b);
}

zlist_t *
maas_dataset_store_list (maas_dataset_store_t *self)
{
    assert (self);
    if (maas_redis_ready (self->redis, false) != 0) {
        s_link_fail (self, "data sets");
        return NULL;
    }
    char index[512];
    s_key_index (self, index, sizeof index);
    redisReply *reply = maas_redis_commandf (self->redis, true, "SMEMBERS %s", index);
    if (!reply) {
        s_link_fail (self, "data sets");
        return NULL;
    }
    zlist_t *names = zlist_new ();
    if (names)
        zlist_autofree (names);
    for (size_t i = 0; names && reply->type == REDIS_REPLY_ARRAY && i < reply->elements; i++)
        if (reply->element[i]->type == REDIS_REPLY_STRING
            && zlist_append (names, reply->element[i]->str) != 0)
            zlist_destroy (&names);
    freeReplyObject (reply);
    if (!names) {
        maas_err_set (&self->err, MAAS_ERR_INPUT, "data sets: out of memory");
        return NULL;
    }
    zlist_sort (names, s_compare_names);
    return names;
}

int
maas_dataset_store_remove (maas_dataset_store_t *self, const char *name)
{
    assert (self);
    if (s_begin (self, name, true) != 0)
        return -1;
    char key[512], index[512], gen[40], what[200];
    s_key_manifest (self, name, key, sizeof key);
    s_key_index (self, index, sizeof index);
    snprintf (what, sizeof what, "data set '%s'", name);
    for (int attempt = 0; attempt < S_RETRIES; attempt++) {
        size_t x_chunks, y_chunks;
        redisReply *reply = maas_redis_commandf (self->redis, true, "WATCH %s", key);
        if (!reply)
            return s_link_fail (self, what);
        freeReplyObject (reply);
        if (s_read_generation (self, key, gen, &x_chunks, &y_chunks, what) != 0)
            return -1;
        if (!*gen) {
            freeReplyObject (maas_redis_commandf (self->redis, true, "UNWATCH"));
            return maas_err_set (&self->err, MAAS_ERR_INPUT, "%s not found", what);
        }
        int queued = redisAppendCommand (maas_redis_context (self->redis), "MULTI")
            | redisAppendCommand (maas_redis_context (self->redis), "DEL %s", key)
            | s_append_chunk_op (self, name, gen, x_chunks, y_chunks, -1)
            | redisAppendCommand (maas_redis_context (self->redis), "SREM %s %s", index, name)
            | redisAppendCommand (maas_redis_context (self->redis), "EXEC");
        if (queued != 0)
            return maas_err_set (&self->err, MAAS_ERR_INPUT, "%s: out of memory", what);
        int rc = s_exec (self, 3 + x_chunks + y_chunks, what);
        if (rc <= 0) {
            if (rc == 0)
                maas_info ("dataset", "removed name=%s", name);
            return rc;
        }
    }
    return maas_err_set (&self->err, MAAS_ERR_INPUT,
                         "%s: other writers kept replacing it; try again", what);
}
