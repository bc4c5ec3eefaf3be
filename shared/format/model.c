/*  model.c: maas_model_t (an MLP and its metadata) and the model file
 *  format, versions 1 and 2 (docs/model-format.md): a deterministic
 *  encoder, and a decoder that checks every size and the sha256 before
 *  allocating anything big. */
#include "model.h"
#include "log.h"
#include "signature.h"

#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

//  One metadata entry.
typedef struct {
    char *key;                //  1..MAAS_MODEL_META_KEY_MAX bytes, owned
    maas_meta_type_t type;    //  which value holds
    char *str;                //  MAAS_META_STR value, owned, else NULL
    int64_t integer;          //  MAAS_META_INT value
    double number;            //  MAAS_META_DOUBLE value (INT converted)
} s_meta_t;

struct _maas_model_t {
    maas_mlp_t *mlp;          //  the network, owned
    s_meta_t *meta;           //  meta_count entries sorted by key, owned
    size_t meta_count;        //  entries in use
    size_t meta_alloc;        //  entries allocated
    char **columns;           //  inputs column names, owned, or NULL (positional)
    maas_signature_t *sig;    //  labels, output name, input scale, owned
};

//  ---------------------------------------------------------------------------
//  Lifecycle

maas_model_t *
maas_model_new (maas_mlp_t **mlp_p)
{
    assert (mlp_p && *mlp_p);
    maas_model_t *self = calloc (1, sizeof *self);
    if (!self || !(self->sig = maas_signature_new ())) {
        free (self);
        maas_mlp_destroy (mlp_p);
        return NULL;
    }
    self->mlp = *mlp_p;
    *mlp_p = NULL;
    return self;
}

static void
s_meta_clear (s_meta_t *entry)
{
    free (entry->key);
    free (entry->str);
}

static void
s_columns_free (maas_model_t *self)
{
    for (size_t i = 0; self->columns && i < maas_mlp_inputs (self->mlp); i++)
        free (self->columns[i]);
    free (self->columns);
    self->columns = NULL;
}

void
maas_model_destroy (maas_model_t **self_p)
{
    assert (self_p);
    maas_model_t *self = *self_p;
    if (!self)
        return;
    for (size_t i = 0; i < self->meta_count; i++)
        s_meta_clear (&self->meta[i]);
    free (self->meta);
    s_columns_free (self);
    maas_signature_destroy (&self->sig);
    maas_mlp_destroy (&self->mlp);
    free (self);
    *self_p = NULL;
}

maas_mlp_t *
maas_model_mlp (maas_model_t *self)
{
    return self->mlp;
}
const maas_mlp_t *
maas_model_mlp_const (const maas_model_t *self)
{
    return self->mlp;
}
maas_signature_t *
maas_model_signature (maas_model_t *self)
{
    return self->sig;
}
const maas_signature_t *
maas_model_signature_const (const maas_model_t *self)
{
    return self->sig;
}

maas_task_t
maas_model_task (const maas_model_t *self)
{
    size_t last = maas_mlp_layer_count (self->mlp) - 1;
    maas_act_t act = maas_mlp_layer (self->mlp, last).act;
    if (act == MAAS_ACT_SIGMOID)
        return MAAS_TASK_BINARY;
    if (act == MAAS_ACT_SOFTMAX)
        return MAAS_TASK_MULTICLASS;
    return MAAS_TASK_REGRESSION;
}

const char *
maas_task_name (maas_task_t task)
{
    switch (task) {
        case MAAS_TASK_BINARY: return "binary";
        case MAAS_TASK_MULTICLASS: return "multiclass";
        case MAAS_TASK_REGRESSION: return "regression";
    }
    return "?";
}

//  ---------------------------------------------------------------------------
//  Metadata

//  Index of KEY, or -1 with *AT set to where it would be inserted.
static ptrdiff_t
s_meta_find (const maas_model_t *self, const char *key, size_t *at)
{
    size_t lo = 0, hi = self->meta_count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int cmp = strcmp (self->meta[mid].key, key);
        if (cmp == 0)
            return (ptrdiff_t) mid;
        if (cmp < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    *at = lo;
    return -1;
}

//  Store ENTRY (taking its strings) under its key, replacing any entry
//  there unless UNIQUE (then 1 is returned and nothing changes). 0, or -1
//  if full or out of memory (ENTRY's strings are freed either way).
static int
s_meta_put (maas_model_t *self, s_meta_t entry, bool unique)
{
    size_t at = 0;
    ptrdiff_t found = s_meta_find (self, entry.key, &at);
    if (found >= 0) {
        if (unique) {
            s_meta_clear (&entry);
            return 1;
        }
        s_meta_clear (&self->meta[found]);
        self->meta[found] = entry;
        return 0;
    }
    if (self->meta_count == MAAS_MODEL_META_MAX) {
        s_meta_clear (&entry);
        return -1;
    }
    if (self->meta_count == self->meta_alloc) {
        size_t alloc = self->meta_alloc ? self->meta_alloc * 2 : 8;
        s_meta_t *meta = realloc (self->meta, alloc * sizeof *meta);
        if (!meta) {
            s_meta_clear (&entry);
            return -1;
        }
        self->meta = meta;
        self->meta_alloc = alloc;
    }
    memmove (self->meta + at + 1, self->meta + at, (self->meta_count - at) * sizeof *self->meta);
    self->meta[at] = entry;
    self->meta_count++;
    return 0;
}

static bool
s_meta_key_ok (const char *key)
{
    size_t len = key ? strlen (key) : 0;
    return len >= 1 && len <= MAAS_MODEL_META_KEY_MAX;
}

//  A new entry for KEY with the key copied; key NULL if out of memory.
static s_meta_t
s_meta_entry (const char *key, maas_meta_type_t type)
{
    return (s_meta_t){.key = strdup (key), .type = type};
}

int
maas_model_meta_set_str (maas_model_t *self, const char *key, const char *value)
{
    assert (self);
    if (!s_meta_key_ok (key) || !value || strlen (value) > MAAS_MODEL_META_STR_MAX)
        return -1;
    s_meta_t entry = s_meta_entry (key, MAAS_META_STR);
    entry.str = strdup (value);
    if (!entry.key || !entry.str) {
        s_meta_clear (&entry);
        return -1;
    }
    return s_meta_put (self, entry, false);
}

int
maas_model_meta_set_int (maas_model_t *self, const char *key, int64_t value)
{
    assert (self);
    if (!s_meta_key_ok (key))
        return -1;
    s_meta_t entry = s_meta_entry (key, MAAS_META_INT);
    entry.integer = value;
    entry.number = (double) value;
    return entry.key ? s_meta_put (self, entry, false) : -1;
}

int
maas_model_meta_set_double (maas_model_t *self, const char *key, double value)
{
    assert (self);
    if (!s_meta_key_ok (key) || !isfinite (value))
        return -1;
    s_meta_t entry = s_meta_entry (key, MAAS_META_DOUBLE);
    entry.number = value;
    return entry.key ? s_meta_put (self, entry, false) : -1;
}

size_t
maas_model_meta_count (const maas_model_t *self)
{
    return self->meta_count;
}

maas_meta_entry_t
maas_model_meta_at (const maas_model_t *self, size_t i)
{
    assert (self && i < self->meta_count);
    const s_meta_t *m = &self->meta[i];
    return (maas_meta_entry_t){m->key, m->type, m->str, m->integer, m->number};
}

static const s_meta_t *
s_meta_get (const maas_model_t *self, const char *key)
{
    size_t at;
    ptrdiff_t found = s_meta_find (self, key, &at);
    return found >= 0 ? &self->meta[found] : NULL;
}

const char *
maas_model_meta_str (const maas_model_t *self, const char *key)
{
    const s_meta_t *m = s_meta_get (self, key);
    return m && m->type == MAAS_META_STR ? m->str : NULL;
}

int
maas_model_meta_int (const maas_model_t *self, const char *key, int64_t *value)
{
    const s_meta_t *m = s_meta_get (self, key);
    if (!m || m->type != MAAS_META_INT)
        return -1;
    *value = m->integer;
    return 0;
}

int
maas_model_meta_number (const maas_model_t *self, const char *key, double *value)
{
    const s_meta_t *m = s_meta_get (self, key);
    if (!m || m->type == MAAS_META_STR)
        return -1;
    *value = m->number;
    return 0;
}

//  ---------------------------------------------------------------------------
//  Column names

//  Why NAMES (COUNT of them) cannot be the model's columns, or NULL.
static const char *
s_columns_problem (const maas_model_t *self, const char *const *names, size_t count)
{
    if (count != maas_mlp_inputs (self->mlp))
        return "one name per input is needed";
    for (size_t i = 0; i < count; i++) {
        size_t len = strlen (names[i]);
        if (len == 0 || len > MAAS_MODEL_COLUMN_MAX)
            return "a name is empty or too long";
        for (size_t j = 0; j < i; j++)
            if (strcmp (names[i], names[j]) == 0)
                return "a name is repeated";
    }
    return NULL;
}

int
maas_model_set_columns (maas_model_t *self, const char *const *names, size_t count)
{
    assert (self && (names || count == 0));
    if (s_columns_problem (self, names, count))
        return -1;
    char **copy = calloc (count, sizeof *copy);
    for (size_t i = 0; copy && i < count; i++)
        if (!(copy[i] = strdup (names[i]))) {
            while (i > 0)
                free (copy[--i]);
            free (copy);
            copy = NULL;
        }
    if (!copy)
        return -1;
    s_columns_free (self);
    self->columns = copy;
    return 0;
}

const char *const *
maas_model_columns (const maas_model_t *self)
{
    return (const char *const *) self->columns;
}

//  ---------------------------------------------------------------------------
//  Errors and hashes

static void
s_hash_init (crypto_hash_sha256_state *state)
{
    //  sodium_init is idempotent and thread-safe; SHA-256 needs nothing it
    //  could fail to set up, so a failure (-1) does not stop us hashing.
    if (sodium_init () < 0)
        maas_debug ("model", "sodium_init failed; hashing anyway");
    crypto_hash_sha256_init (state);
}

//  Hash COUNT floats as little-endian bytes.
static void
s_hash_f32 (crypto_hash_sha256_state *state, const float *data, size_t count)
{
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    crypto_hash_sha256_update (state, (const unsigned char *) data, count * sizeof (float));
#else
    unsigned char chunk[1024];
    for (size_t done = 0; done < count;) {
        size_t n = count - done < 256 ? count - done : 256;
        maas_codec_f32_to_le (chunk, data + done, n);
        crypto_hash_sha256_update (state, chunk, n * sizeof (float));
        done += n;
    }
#endif
}

static void
s_hash_final (crypto_hash_sha256_state *state, char hex[MAAS_SHA256_HEX_SIZE])
{
    unsigned char digest[crypto_hash_sha256_BYTES];
    crypto_hash_sha256_final (state, digest);
    sodium_bin2hex (hex, MAAS_SHA256_HEX_SIZE, digest, sizeof digest);
}

void
maas_model_sha256 (const maas_model_t *self, char hex[MAAS_SHA256_HEX_SIZE])
{
    assert (self && hex);
    const maas_mlp_t *mlp = self->mlp;
    crypto_hash_sha256_state state;
    s_hash_init (&state);
    for (size_t i = 0; i < maas_mlp_layer_count (mlp); i++) {
        const maas_tensor_t *w = maas_mlp_weights_const (mlp, i);
        const maas_tensor_t *b = maas_mlp_bias_const (mlp, i);
        s_hash_f32 (&state, w->data, maas_tensor_size (w));
        s_hash_f32 (&state, b->data, maas_tensor_size (b));
    }
    if (maas_mlp_norm_mean (mlp)) {
        s_hash_f32 (&state, maas_mlp_norm_mean (mlp), maas_mlp_inputs (mlp));
        s_hash_f32 (&state, maas_mlp_norm_std (mlp), maas_mlp_inputs (mlp));
    }
    if (maas_mlp_target_mean (mlp)) {
        s_hash_f32 (&state, maas_mlp_target_mean (mlp), maas_mlp_outputs (mlp));
        s_hash_f32 (&state, maas_mlp_target_std (mlp), maas_mlp_outputs (mlp));
    }
    s_hash_final (&state, hex);
}

//  Hash N as a little-endian uint32 (sizes are at most MAAS_MLP_MAX_UNITS).
static void
s_hash_u32 (crypto_hash_sha256_state *state, size_t n)
{
    unsigned char bytes[4] = {(unsigned char) n, (unsigned char) (n >> 8),
                              (unsigned char) (n >> 16), (unsigned char) (n >> 24)};
    crypto_hash_sha256_update (state, bytes, sizeof bytes);
}

void
maas_model_weights_sha256 (const maas_model_t *self, char hex[MAAS_SHA256_HEX_SIZE])
{
    assert (self && hex);
    const maas_mlp_t *mlp = self->mlp;
    crypto_hash_sha256_state state;
    s_hash_init (&state);
    s_hash_u32 (&state, maas_mlp_inputs (mlp));
    for (size_t i = 0; i < maas_mlp_layer_count (mlp); i++) {
        maas_layer_spec_t layer = maas_mlp_layer (mlp, i);
        const char *act = maas_act_name (layer.act);
        s_hash_u32 (&state, layer.units);
        crypto_hash_sha256_update (&state, (const unsigned char *) act, strlen (act) + 1);
        const maas_tensor_t *w = maas_mlp_weights_const (mlp, i);
        const maas_tensor_t *b = maas_mlp_bias_const (mlp, i);
        s_hash_f32 (&state, w->data, maas_tensor_size (w));
        s_hash_f32 (&state, b->data, maas_tensor_size (b));
    }
    bool norm = maas_mlp_norm_mean (mlp) != NULL;
    s_hash_u32 (&state, norm);
    if (norm) {
        s_hash_f32 (&state, maas_mlp_norm_mean (mlp), maas_mlp_inputs (mlp));
        s_hash_f32 (&state, maas_mlp_norm_std (mlp), maas_mlp_inputs (mlp));
    }
    //  Only when there is one, so that the hash of a network without an
    //  output scaling is what it was before scalings existed.
    if (maas_mlp_target_mean (mlp)) {
        s_hash_u32 (&state, 1);
        s_hash_f32 (&state, maas_mlp_target_mean (mlp), maas_mlp_outputs (mlp));
        s_hash_f32 (&state, maas_mlp_target_std (mlp), maas_mlp_outputs (mlp));
    }
    //  The input scale changes every output, so it is part of what the hash
    //  identifies; hashed only when set, so older hashes stay as they were.
    float scale = (float) maas_model_input_scale (self);
    if (scale != 1.0f) {
        crypto_hash_sha256_update (&state, (const unsigned char *) "input_scale", 12);
        s_hash_f32 (&state, &scale, 1);
    }
    s_hash_final (&state, hex);
}

size_t
maas_model_encoded_size (size_t inputs, const maas_layer_spec_t *layers, size_t n_layers)
{
    //  Mirrors s_size_estimate: parameters as float32, the normalisation,
    //  the longest column names, and room for keys, headers and metadata.
    size_t size = 1024 + 128 * n_layers + 2 * inputs * sizeof (float);
    size += inputs * (8 + MAAS_MODEL_COLUMN_MAX);
    size_t fan_in = inputs;
    for (size_t i = 0; i < n_layers; i++) {
        size += (fan_in + 1) * layers[i].units * sizeof (float);
        fan_in = layers[i].units;
    }
    if (layers[n_layers - 1].act == MAAS_ACT_LINEAR)
        size += 64 + 2 * fan_in * sizeof (float);    //  the output scaling
    return size + MAAS_MODEL_META_OVERHEAD;
}

void
maas_sha256_hex (const void *data, size_t size, char hex[MAAS_SHA256_HEX_SIZE])
{
    crypto_hash_sha256_state state;
    s_hash_init (&state);
    crypto_hash_sha256_update (&state, data, size);
    s_hash_final (&state, hex);
}

//  ---------------------------------------------------------------------------
//  Encoding

//  Name of the first non-finite parameter tensor ("layer 2 weights"), or
//  NULL when every parameter is finite.
static const char *
s_non_finite (const maas_mlp_t *mlp, char *name, size_t size)
{
    for (size_t i = 0; i < maas_mlp_layer_count (mlp); i++) {
        const maas_tensor_t *w = maas_mlp_weights_const (mlp, i);
        const maas_tensor_t *b = maas_mlp_bias_const (mlp, i);
        if (!maas_tensor_all_finite (w->data, maas_tensor_size (w)))
            return snprintf (name, size, "layer %zu weights", i) > 0 ? name : "weights";
        if (!maas_tensor_all_finite (b->data, maas_tensor_size (b)))
            return snprintf (name, size, "layer %zu bias", i) > 0 ? name : "bias";
    }
    return NULL;
}

static int
s_pack_layers (msgpack_packer *pk, const maas_mlp_t *mlp)
{
    size_t n = maas_mlp_layer_count (mlp);
    int rc = maas_codec_pack_str (pk, "layers") | msgpack_pack_array (pk, n);
    for (size_t i = 0; i < n && rc == 0; i++) {
        maas_layer_spec_t spec = maas_mlp_layer (mlp, i);
        rc |= msgpack_pack_map (pk, 4);
        rc |= maas_codec_pack_kv_uint (pk, "units", spec.units);
        rc |= maas_codec_pack_kv_str (pk, "activation", maas_act_name (spec.act));
        rc |= maas_codec_pack_kv_tensor (pk, "weights", maas_mlp_weights_const (mlp, i));
        rc |= maas_codec_pack_kv_tensor (pk, "bias", maas_mlp_bias_const (mlp, i));
    }
    return rc;
}

static int
s_pack_norm (msgpack_packer *pk, const maas_mlp_t *mlp)
{
    int rc = maas_codec_pack_str (pk, "norm");
    if (!maas_mlp_norm_mean (mlp))
        return rc | msgpack_pack_nil (pk);
    rc |= msgpack_pack_map (pk, 2);
    rc |= maas_codec_pack_str (pk, "mean");
    rc |= maas_codec_pack_f32 (pk, maas_mlp_norm_mean (mlp), maas_mlp_inputs (mlp));
    rc |= maas_codec_pack_str (pk, "std");
    rc |= maas_codec_pack_f32 (pk, maas_mlp_norm_std (mlp), maas_mlp_inputs (mlp));
    return rc;
}

//  "target_norm" (format 2), only when the network scales its outputs.
static int
s_pack_target_norm (msgpack_packer *pk, const maas_mlp_t *mlp)
{
    if (!maas_mlp_target_mean (mlp))
        return 0;
    int rc = maas_codec_pack_str (pk, "target_norm") | msgpack_pack_map (pk, 2);
    rc |= maas_codec_pack_str (pk, "mean");
    rc |= maas_codec_pack_f32 (pk, maas_mlp_target_mean (mlp), maas_mlp_outputs (mlp));
    rc |= maas_codec_pack_str (pk, "std");
    rc |= maas_codec_pack_f32 (pk, maas_mlp_target_std (mlp), maas_mlp_outputs (mlp));
    return rc;
}

static int
s_pack_metadata (msgpack_packer *pk, const maas_model_t *self)
{
    int rc = maas_codec_pack_str (pk, "metadata") | msgpack_pack_map (pk, self->meta_count);
    for (size_t i = 0; i < self->meta_count; i++) {
        const s_meta_t *m = &self->meta[i];
        if (m->type == MAAS_META_STR)
            rc |= maas_codec_pack_kv_str (pk, m->key, m->str);
        else if (m->type == MAAS_META_INT)
            rc |= maas_codec_pack_kv_int (pk, m->key, m->integer);
        else
            rc |= maas_codec_pack_kv_double (pk, m->key, m->number);
    }
    return rc;
}

//  "columns": the input names, only when the model has them.
static int
s_pack_columns (msgpack_packer *pk, const maas_model_t *self)
{
    if (!self->columns)
        return 0;
    size_t n = maas_mlp_inputs (self->mlp);
    int rc = maas_codec_pack_str (pk, "columns") | msgpack_pack_array (pk, n);
    for (size_t i = 0; i < n; i++)
        rc |= maas_codec_pack_str (pk, self->columns[i]);
    return rc;
}

static int
s_pack_model (msgpack_packer *pk, const maas_model_t *self)
{
    char hex[MAAS_SHA256_HEX_SIZE];
    maas_model_sha256 (self, hex);
    int format = maas_model_format (self);
    int rc =
        msgpack_pack_map (pk,
                          7 + (self->columns != NULL) + (maas_mlp_target_mean (self->mlp) != NULL)
                              + maas_signature_keys (self->sig));
    rc |= maas_codec_pack_kv_str (pk, "magic", MAAS_MODEL_MAGIC);
    rc |= maas_codec_pack_kv_uint (pk, "format", (uint64_t) format);
    rc |= maas_codec_pack_kv_uint (pk, "inputs", maas_mlp_inputs (self->mlp));
    rc |= s_pack_layers (pk, self->mlp);
    rc |= s_pack_norm (pk, self->mlp);
    rc |= s_pack_target_norm (pk, self->mlp);
    rc |= s_pack_metadata (pk, self);
    rc |= s_pack_columns (pk, self);
    rc |= maas_signature_pack (self->sig, pk);
    rc |= maas_codec_pack_kv_str (pk, "sha256", hex);
    return rc;
}

//  Bytes the encoding needs, near enough to allocate once: parameters,
//  normalisation, metadata, and slack for keys and headers.
static size_t
s_size_estimate (const maas_model_t *self)
{
    size_t size = 1024 + 128 * maas_mlp_layer_count (self->mlp);
    size += maas_mlp_param_count (self->mlp) * sizeof (float);
    size += 2 * (maas_mlp_inputs (self->mlp) + maas_mlp_outputs (self->mlp)) * sizeof (float);
    for (size_t i = 0; i < self->meta_count; i++)
        size +=
            16 + strlen (self->meta[i].key) + (self->meta[i].str ? strlen (self->meta[i].str) : 0);
    for (size_t i = 0; self->columns && i < maas_mlp_inputs (self->mlp); i++)
        size += 8 + strlen (self->columns[i]);
    return size + maas_signature_size (self->sig);
}

int
maas_model_format (const maas_model_t *self)
{
    assert (self);
    //  Format 2 holds what a format-1 reader would get wrong: an output
    //  scaling (target_norm) or an input scale.
    return maas_mlp_target_mean (self->mlp) || maas_signature_format (self->sig) == 2 ? 2 : 1;
}

int
maas_model_encode (const maas_model_t *self, uint8_t **blob_p, size_t *size_p, maas_err_t *err)
{
    assert (self && blob_p && size_p);
    maas_err_clear (err);
    char name[32];
    const char *bad = s_non_finite (self->mlp, name, sizeof name);
    if (bad) {
        maas_err_set (err, MAAS_ERR_INPUT, "model: %s hold NaN or infinity (diverged training?)",
                      bad);
        return -1;
    }
    size_t estimate = s_size_estimate (self);
    if (estimate > MAAS_MODEL_MAX_BYTES + (size_t) 4096) {
        maas_err_set (err, MAAS_ERR_INPUT, "model: about %zu bytes, over the limit of %zu",
                      estimate, MAAS_MODEL_MAX_BYTES);
        return -1;
    }
    msgpack_sbuffer buffer = {.size = 0, .data = malloc (estimate), .alloc = estimate};
    if (!buffer.data) {
        maas_err_set (err, MAAS_ERR_NOMEM, "model: out of memory for %zu bytes", estimate);
        return -1;
    }
    msgpack_packer pk;
    msgpack_packer_init (&pk, &buffer, msgpack_sbuffer_write);
    if (s_pack_model (&pk, self) || buffer.size > MAAS_MODEL_MAX_BYTES) {
        maas_err_set (err, buffer.size > MAAS_MODEL_MAX_BYTES ? MAAS_ERR_INPUT : MAAS_ERR_NOMEM,
                      "model: encoding failed at %zu bytes (limit %zu)", buffer.size,
                      MAAS_MODEL_MAX_BYTES);
        msgpack_sbuffer_destroy (&buffer);
        return -1;
    }
    *size_p = buffer.size;
    *blob_p = (uint8_t *) msgpack_sbuffer_release (&buffer);
    return 0;
}

//  ---------------------------------------------------------------------------
//  Decoding: parse into views of the blob, check, then build.

typedef struct {
    size_t rows;    //  shape as stored
    size_t cols;
    const void *data;    //  little-endian float32 bytes in the blob
} s_view_t;

typedef struct {
    size_t inputs;                                   //  features per row
    size_t n_layers;                                 //  entries used below
    maas_layer_spec_t specs[MAAS_MLP_MAX_LAYERS];    //  units and activation
    s_view_t weights[MAAS_MLP_MAX_LAYERS];           //  fan_in × units
    s_view_t bias[MAAS_MLP_MAX_LAYERS];              //  1 × units
    const void *mean;           //  inputs floats, or NULL without normalisation
    const void *std;            //  inputs floats, or NULL
    uint64_t format;            //  the blob's format version
    const void *target_mean;    //  outputs floats (format 2), or NULL without output scaling
    const void *target_std;     //  outputs floats, or NULL
} s_parsed_t;

//  Unpack the blob; codec failures become model errors. A blob that is not
//  msgpack is called "not a maas model" unless it starts like one.
static int
s_unpack (const void *blob, size_t size, msgpack_unpacked *msg, maas_err_t *err)
{
    static const char signature[] = "\xa5"
                                    "magic"
                                    "\xaa" MAAS_MODEL_MAGIC;
    maas_err_t unpack_err;
    int rc = maas_codec_unpack (blob, size, MAAS_MODEL_MAX_BYTES, msg, &unpack_err);
    const char *why = unpack_err.text;
    if (rc == 0)
        return 0;
    size_t head = size < 32 ? size : 32;
    bool looks_like_model = memmem (blob, head, signature, sizeof signature - 1) != NULL;
    if (rc == MAAS_CODEC_ETOOBIG)
        maas_err_set (err, MAAS_ERR_INPUT, "model: %s", why);
    else if (rc == MAAS_CODEC_ENOMEM)
        maas_err_set (err, MAAS_ERR_NOMEM, "model: %s", why);
    else if (!looks_like_model)
        maas_err_set (err, MAAS_ERR_INPUT, "model: not a maas model (no '%s' magic; %s)",
                      MAAS_MODEL_MAGIC, why);
    else if (rc == MAAS_CODEC_ETRUNCATED)
        maas_err_set (err, MAAS_ERR_INPUT, "model: blob of %zu bytes is cut short (%s)", size, why);
    else
        maas_err_set (err, MAAS_ERR_INPUT, "model: damaged (%s)", why);
    return -1;
}

static int
s_check_header (maas_codec_map_t *top, uint64_t *format_p, maas_err_t *err)
{
    const char *magic;
    size_t len;
    if (maas_codec_map_str (top, "magic", &magic, &len)) {
        maas_err_set (err, MAAS_ERR_INPUT, "model: not a maas model (%s)", top->err.text + 7);
        return -1;
    }
    if (len != strlen (MAAS_MODEL_MAGIC) || memcmp (magic, MAAS_MODEL_MAGIC, len) != 0) {
        char quoted[40];
        maas_err_set (err, MAAS_ERR_INPUT, "model: wrong magic '%s', expected '%s'",
                      maas_codec_excerpt (quoted, sizeof quoted, magic, len), MAAS_MODEL_MAGIC);
        return -1;
    }
    uint64_t format;
    if (maas_codec_map_uint64 (top, "format", &format)) {
        maas_err_copy (err, &top->err);
        return -1;
    }
    if (format < MAAS_MODEL_FORMAT_MIN || format > MAAS_MODEL_FORMAT) {
        maas_err_set (err, MAAS_ERR_INPUT,
                      "model: unsupported format version %" PRIu64
                      " (this build reads versions %d to %d)",
                      format, MAAS_MODEL_FORMAT_MIN, MAAS_MODEL_FORMAT);
        return -1;
    }
    *format_p = format;
    return 0;
}

//  A count in [1, max] under KEY.
static int
s_count (maas_codec_map_t *map, const char *key, size_t max, size_t *value, maas_err_t *err)
{
    uint64_t v;
    if (maas_codec_map_uint64 (map, key, &v)) {
        maas_err_copy (err, &map->err);
        return -1;
    }
    if (v == 0 || v > max) {
        maas_err_set (err, MAAS_ERR_INPUT, "%s: key '%s' must be between 1 and %zu, got %" PRIu64,
                      map->what, key, max, v);
        return -1;
    }
    *value = (size_t) v;
    return 0;
}

//  A tensor view under KEY; ERR takes the reader's message on failure.
static int
s_tensor (maas_codec_map_t *map, const char *key, s_view_t *view, maas_err_t *err)
{
    int rc = maas_codec_map_tensor_view (map, key, &view->rows, &view->cols, &view->data);
    if (rc)
        maas_err_copy (err, &map->err);
    return rc ? -1 : 0;
}

static int
s_parse_activation (maas_codec_map_t *layer, maas_act_t *act, maas_err_t *err)
{
    char name[16];
    if (maas_codec_map_str_copy (layer, "activation", name, sizeof name)) {
        maas_err_copy (err, &layer->err);
        return -1;
    }
    int parsed = maas_act_parse (name);
    if (parsed < 0) {
        char quoted[40];
        maas_err_set (err, MAAS_ERR_INPUT,
                      "%s: unknown activation '%s' (linear, relu, tanh, sigmoid, softmax)",
                      layer->what, maas_codec_excerpt (quoted, sizeof quoted, name, strlen (name)));
        return -1;
    }
    *act = (maas_act_t) parsed;
    return 0;
}

//  Layer I: units, activation, and weights whose rows follow FAN_IN.
static int
s_parse_layer (const msgpack_object *obj, size_t i, size_t fan_in, s_parsed_t *p, maas_err_t *err)
{
    char what[48];
    snprintf (what, sizeof what, "model: layer %zu", i);
    maas_codec_map_t layer;
    if (maas_codec_map_init (&layer, obj, what)) {
        maas_err_copy (err, &layer.err);
        return -1;
    }
    size_t units;
    if (s_count (&layer, "units", MAAS_MLP_MAX_UNITS, &units, err)
        || s_parse_activation (&layer, &p->specs[i].act, err)
        || s_tensor (&layer, "weights", &p->weights[i], err)
        || s_tensor (&layer, "bias", &p->bias[i], err))
        return -1;
    p->specs[i].units = units;
    const s_view_t *w = &p->weights[i], *b = &p->bias[i];
    if (w->rows != fan_in) {
        if (i == 0)
            maas_err_set (err, MAAS_ERR_INPUT,
                          "%s: weights have %zu rows, but the model has %zu inputs", what, w->rows,
                          fan_in);
        else
            maas_err_set (err, MAAS_ERR_INPUT,
                          "%s: weights have %zu rows, but layer %zu has %zu units", what, w->rows,
                          i - 1, fan_in);
        return -1;
    }
    if (w->cols != units || b->rows != 1 || b->cols != units) {
        maas_err_set (err, MAAS_ERR_INPUT,
                      "%s: weights [%zu, %zu] and bias [%zu, %zu] do not fit %zu units", what,
                      w->rows, w->cols, b->rows, b->cols, units);
        return -1;
    }
    return 0;
}

static int
s_parse_layers (maas_codec_map_t *top, s_parsed_t *p, maas_err_t *err)
{
    if (s_count (top, "inputs", MAAS_MLP_MAX_UNITS, &p->inputs, err))
        return -1;
    const msgpack_object *layers = maas_codec_map_find (top, "layers");
    if (!layers || layers->type != MSGPACK_OBJECT_ARRAY) {
        maas_err_set (err, MAAS_ERR_INPUT, "model: %s 'layers', an array of layer maps",
                      layers ? "wrong type for" : "missing key");
        return -1;
    }
    if (layers->via.array.size == 0 || layers->via.array.size > MAAS_MLP_MAX_LAYERS) {
        maas_err_set (err, MAAS_ERR_INPUT, "model: 'layers' must hold 1 to %d layers, got %" PRIu32,
                      MAAS_MLP_MAX_LAYERS, layers->via.array.size);
        return -1;
    }
    p->n_layers = layers->via.array.size;
    size_t fan_in = p->inputs;
    for (size_t i = 0; i < p->n_layers; i++) {
        if (s_parse_layer (&layers->via.array.ptr[i], i, fan_in, p, err))
            return -1;
        fan_in = p->specs[i].units;
    }
    return 0;
}

//  Mean finite, std finite and positive: what maas_mlp_set_norm keeps as is.
static int
s_check_norm_values (const s_parsed_t *p, maas_err_t *err)
{
    for (size_t j = 0; j < p->inputs; j++) {
        float mean, std;
        maas_codec_f32_from_le (&mean, (const char *) p->mean + 4 * j, 1);
        maas_codec_f32_from_le (&std, (const char *) p->std + 4 * j, 1);
        if (!isfinite (mean) || !isfinite (std) || std <= 0) {
            maas_err_set (err, MAAS_ERR_INPUT,
                          "model: norm: mean[%zu] = %g, std[%zu] = %g: the mean must be finite and "
                          "the std positive and finite",
                          j, (double) mean, j, (double) std);
            return -1;
        }
    }
    return 0;
}

static int
s_parse_norm (maas_codec_map_t *top, s_parsed_t *p, maas_err_t *err)
{
    const msgpack_object *obj = maas_codec_map_find (top, "norm");
    if (!obj || obj->type == MSGPACK_OBJECT_NIL)
        return 0;
    maas_codec_map_t norm;
    norm.map = NULL;
    size_t mean_size, std_size;
    if (maas_codec_map_map (top, "norm", &norm)
        || maas_codec_map_bin (&norm, "mean", &p->mean, &mean_size)
        || maas_codec_map_bin (&norm, "std", &p->std, &std_size)) {
        maas_err_copy (err, &(norm.map ? &norm : top)->err);
        return -1;
    }
    size_t need = p->inputs * sizeof (float);
    if (mean_size != need || std_size != need) {
        maas_err_set (err, MAAS_ERR_INPUT,
                      "model: norm: mean holds %zu bytes and std %zu, %zu inputs need %zu each",
                      mean_size, std_size, p->inputs, need);
        return -1;
    }
    return s_check_norm_values (p, err);
}

//  The optional "target_norm" of format 2: the output scaling of a linear
//  output layer, OUTPUTS floats each of mean (finite) and std (finite, > 0).
//  Format 1 has no such key: a version 1 blob holding it is refused, since a
//  version 1 reader would serve unscaled outputs from it.
static int
s_parse_target_norm (maas_codec_map_t *top, s_parsed_t *p, maas_err_t *err)
{
    const msgpack_object *obj = maas_codec_map_find (top, "target_norm");
    if (!obj || obj->type == MSGPACK_OBJECT_NIL)
        return 0;
    maas_layer_spec_t last = p->specs[p->n_layers - 1];
    if (p->format < 2) {
        maas_err_set (err, MAAS_ERR_INPUT,
                      "model: key 'target_norm' needs format 2, the blob says format %" PRIu64,
                      p->format);
        return -1;
    }
    if (last.act != MAAS_ACT_LINEAR) {
        maas_err_set (err, MAAS_ERR_INPUT,
                      "model: target_norm: the output layer is %s; only a linear output is scaled",
                      maas_act_name (last.act));
        return -1;
    }
    maas_codec_map_t norm;
    norm.map = NULL;
    size_t mean_size, std_size;
    if (maas_codec_map_map (top, "target_norm", &norm)
        || maas_codec_map_bin (&norm, "mean", &p->target_mean, &mean_size)
        || maas_codec_map_bin (&norm, "std", &p->target_std, &std_size)) {
        maas_err_copy (err, &(norm.map ? &norm : top)->err);
        return -1;
    }
    size_t need = last.units * sizeof (float);
    if (mean_size != need || std_size != need) {
        maas_err_set (
            err, MAAS_ERR_INPUT,
            "model: target_norm: mean holds %zu bytes and std %zu, %zu outputs need %zu each",
            mean_size, std_size, last.units, need);
        return -1;
    }
    for (size_t j = 0; j < last.units; j++) {
        float mean, std;
        maas_codec_f32_from_le (&mean, (const char *) p->target_mean + 4 * j, 1);
        maas_codec_f32_from_le (&std, (const char *) p->target_std + 4 * j, 1);
        if (!isfinite (mean) || !isfinite (std) || std <= 0) {
            maas_err_set (
                err, MAAS_ERR_INPUT,
                "model: target_norm: mean[%zu] = %g, std[%zu] = %g: the mean must be finite "
                "and the std positive and finite",
                j, (double) mean, j, (double) std);
            return -1;
        }
    }
    return 0;
}

//  Hash the parameters as stored and compare with the recorded sha256.
static int
s_verify_sha256 (maas_codec_map_t *top, const s_parsed_t *p, maas_err_t *err)
{
    char recorded[MAAS_SHA256_HEX_SIZE];
    if (maas_codec_map_str_copy (top, "sha256", recorded, sizeof recorded)) {
        maas_err_copy (err, &top->err);
        return -1;
    }
    crypto_hash_sha256_state state;
    s_hash_init (&state);
    for (size_t i = 0; i < p->n_layers; i++) {
        const s_view_t *w = &p->weights[i], *b = &p->bias[i];
        crypto_hash_sha256_update (&state, w->data, w->rows * w->cols * sizeof (float));
        crypto_hash_sha256_update (&state, b->data, b->rows * b->cols * sizeof (float));
    }
    if (p->mean) {
        crypto_hash_sha256_update (&state, p->mean, p->inputs * sizeof (float));
        crypto_hash_sha256_update (&state, p->std, p->inputs * sizeof (float));
    }
    size_t outputs = p->specs[p->n_layers - 1].units;
    if (p->target_mean) {
        crypto_hash_sha256_update (&state, p->target_mean, outputs * sizeof (float));
        crypto_hash_sha256_update (&state, p->target_std, outputs * sizeof (float));
    }
    char actual[MAAS_SHA256_HEX_SIZE];
    s_hash_final (&state, actual);
    if (strcasecmp (actual, recorded) != 0) {
        char quoted[72];
        maas_err_set (err, MAAS_ERR_INPUT,
                      "model: sha256 mismatch: parameters hash to %s, the blob records '%s' "
                      "(corrupted or edited)",
                      actual,
                      maas_codec_excerpt (quoted, sizeof quoted, recorded, strlen (recorded)));
        return -1;
    }
    return 0;
}

//  The network from checked views; NULL if out of memory.
static maas_mlp_t *
s_build_mlp (const s_parsed_t *p)
{
    maas_mlp_t *mlp = maas_mlp_new (p->inputs, p->specs, p->n_layers);
    if (!mlp)
        return NULL;
    for (size_t i = 0; i < p->n_layers; i++) {
        maas_codec_f32_from_le (maas_mlp_weights (mlp, i)->data, p->weights[i].data,
                                p->weights[i].rows * p->weights[i].cols);
        maas_codec_f32_from_le (maas_mlp_bias (mlp, i)->data, p->bias[i].data, p->bias[i].cols);
    }
    if (p->mean) {
        float *mean = malloc (p->inputs * sizeof (float));
        float *std = malloc (p->inputs * sizeof (float));
        int rc = mean && std ? 0 : -1;
        if (rc == 0) {
            maas_codec_f32_from_le (mean, p->mean, p->inputs);
            maas_codec_f32_from_le (std, p->std, p->inputs);
            rc = maas_mlp_set_norm (mlp, mean, std);
        }
        free (mean);
        free (std);
        if (rc)
            maas_mlp_destroy (&mlp);
    }
    if (mlp && p->target_mean) {
        size_t outputs = maas_mlp_outputs (mlp);
        float *scale = malloc (2 * outputs * sizeof (float));
        int rc = scale ? 0 : -1;
        if (rc == 0) {
            maas_codec_f32_from_le (scale, p->target_mean, outputs);
            maas_codec_f32_from_le (scale + outputs, p->target_std, outputs);
            rc = maas_mlp_set_target_norm (mlp, scale, scale + outputs);
        }
        free (scale);
        if (rc)
            maas_mlp_destroy (&mlp);
    }
    return mlp;
}

//  One metadata entry from the blob (key and value already read).
static int
s_decode_meta_entry (maas_model_t *model, const msgpack_object_kv *kv, size_t i, maas_err_t *err)
{
    const msgpack_object *k = &kv->key, *v = &kv->val;
    if (k->type != MSGPACK_OBJECT_STR || k->via.str.size == 0
        || k->via.str.size > MAAS_MODEL_META_KEY_MAX
        || memchr (k->via.str.ptr, 0, k->via.str.size)) {
        maas_err_set (err, MAAS_ERR_INPUT,
                      "model: metadata: key %zu must be a string of 1 to %d bytes without NUL", i,
                      MAAS_MODEL_META_KEY_MAX);
        return -1;
    }
    char quoted[MAAS_MODEL_META_KEY_MAX + 8];
    maas_codec_excerpt (quoted, sizeof quoted, k->via.str.ptr, k->via.str.size);
    s_meta_t entry = {.key = strndup (k->via.str.ptr, k->via.str.size)};
    if (!entry.key) {
        maas_err_set (err, MAAS_ERR_NOMEM, "model: out of memory for metadata");
        return -1;
    }
    if (v->type == MSGPACK_OBJECT_STR && v->via.str.size <= MAAS_MODEL_META_STR_MAX
        && !memchr (v->via.str.ptr, 0, v->via.str.size)) {
        entry.type = MAAS_META_STR;
        entry.str = strndup (v->via.str.ptr, v->via.str.size);
    }
    else if (v->type == MSGPACK_OBJECT_NEGATIVE_INTEGER
             || (v->type == MSGPACK_OBJECT_POSITIVE_INTEGER && v->via.u64 <= INT64_MAX)) {
        entry.type = MAAS_META_INT;
        entry.integer =
            v->type == MSGPACK_OBJECT_NEGATIVE_INTEGER ? v->via.i64 : (int64_t) v->via.u64;
        entry.number = (double) entry.integer;
    }
    else if ((v->type == MSGPACK_OBJECT_FLOAT64 || v->type == MSGPACK_OBJECT_FLOAT32)
             && isfinite (v->via.f64)) {
        entry.type = MAAS_META_DOUBLE;
        entry.number = v->via.f64;
    }
    else {
        maas_err_set (err, MAAS_ERR_INPUT,
                      "model: metadata: '%s' must be a string (at most %d bytes, no NUL), a 64-bit "
                      "integer or a finite float, got %s",
                      quoted, MAAS_MODEL_META_STR_MAX, maas_codec_type_name (v));
        s_meta_clear (&entry);
        return -1;
    }
    if (entry.type == MAAS_META_STR && !entry.str) {
        maas_err_set (err, MAAS_ERR_NOMEM, "model: out of memory for metadata");
        s_meta_clear (&entry);
        return -1;
    }
    int rc = s_meta_put (model, entry, true);
    if (rc == 1)
        maas_err_set (err, MAAS_ERR_INPUT, "model: metadata: duplicate key '%s'", quoted);
    else if (rc)
        maas_err_set (err, MAAS_ERR_NOMEM, "model: out of memory for metadata");
    return rc ? -1 : 0;
}

static int
s_decode_metadata (maas_codec_map_t *top, maas_model_t *model, maas_err_t *err)
{
    maas_codec_map_t meta;
    if (maas_codec_map_map (top, "metadata", &meta)) {
        maas_err_copy (err, &top->err);
        return -1;
    }
    if (meta.map->size > MAAS_MODEL_META_MAX) {
        maas_err_set (err, MAAS_ERR_INPUT, "model: metadata has %" PRIu32 " entries, at most %d",
                      meta.map->size, MAAS_MODEL_META_MAX);
        return -1;
    }
    for (uint32_t i = 0; i < meta.map->size; i++)
        if (s_decode_meta_entry (model, &meta.map->ptr[i], i, err))
            return -1;
    return 0;
}

//  The optional "columns": an array of one string per input, unique names.
static int
s_decode_columns (maas_codec_map_t *top, maas_model_t *model, maas_err_t *err)
{
    const msgpack_object *columns = maas_codec_map_find (top, "columns");
    if (!columns || columns->type == MSGPACK_OBJECT_NIL)
        return 0;
    size_t n = columns->type == MSGPACK_OBJECT_ARRAY ? columns->via.array.size : 0;
    const char **names = calloc (n ? n : 1, sizeof *names);
    char **owned = calloc (n ? n : 1, sizeof *owned);
    const char *problem = names && owned ? NULL : "out of memory";
    if (!problem && columns->type != MSGPACK_OBJECT_ARRAY)
        problem = "not an array";
    for (size_t i = 0; !problem && i < n; i++) {
        const msgpack_object *item = &columns->via.array.ptr[i];
        if (item->type != MSGPACK_OBJECT_STR || memchr (item->via.str.ptr, 0, item->via.str.size))
            problem = "an entry is not a string";
        else if (!(names[i] = owned[i] = strndup (item->via.str.ptr, item->via.str.size)))
            problem = "out of memory";
    }
    if (!problem)
        problem = s_columns_problem (model, names, n);
    if (!problem && maas_model_set_columns (model, names, n) != 0)
        problem = "out of memory";
    for (size_t i = 0; owned && i < n; i++)
        free (owned[i]);
    free (owned);
    free (names);
    if (problem)
        maas_err_set (err, MAAS_ERR_INPUT,
                      "model: columns: %s (%zu names for %zu inputs, each 1 to "
                      "%d bytes, unique)",
                      problem, n, maas_mlp_inputs (model->mlp), MAAS_MODEL_COLUMN_MAX);
    return problem ? -1 : 0;
}

//  Check everything in the unpacked blob, then build the model.
static maas_model_t *
s_decode_object (const msgpack_object *root, maas_err_t *err)
{
    maas_codec_map_t top;
    if (maas_codec_map_init (&top, root, "model")) {
        maas_err_set (err, MAAS_ERR_INPUT, "model: not a maas model (%s)", top.err.text + 7);
        return NULL;
    }
    s_parsed_t parsed;
    memset (&parsed, 0, sizeof parsed);
    if (s_check_header (&top, &parsed.format, err) || s_parse_layers (&top, &parsed, err)
        || s_parse_norm (&top, &parsed, err) || s_parse_target_norm (&top, &parsed, err)
        || s_verify_sha256 (&top, &parsed, err))
        return NULL;
    maas_mlp_t *mlp = s_build_mlp (&parsed);
    maas_model_t *model = mlp ? maas_model_new (&mlp) : NULL;
    if (!model) {
        maas_err_set (err, MAAS_ERR_NOMEM, "model: out of memory building the network");
        return NULL;
    }
    char name[32];
    const char *bad = s_non_finite (model->mlp, name, sizeof name);
    if (bad)
        maas_err_set (err, MAAS_ERR_INPUT, "model: %s hold NaN or infinity", bad);
    if (bad || s_decode_metadata (&top, model, err) || s_decode_columns (&top, model, err))
        maas_model_destroy (&model);
    else {
        maas_err_t why;
        if (maas_signature_decode (model, &top, (unsigned) parsed.format, &why)) {
            maas_err_set (err, MAAS_ERR_INPUT, "%s", why.text);
            maas_model_destroy (&model);
        }
    }
    return model;
}

maas_model_t *
maas_model_decode (const void *blob, size_t size, maas_err_t *err)
{
    assert (blob || size == 0);
    maas_err_clear (err);
    maas_err_t local;
    if (!err)
        err = &local;
    msgpack_unpacked msg;
    msgpack_unpacked_init (&msg);
    maas_model_t *model = NULL;
    if (s_unpack (blob ? blob : "", size, &msg, err) == 0)
        model = s_decode_object (&msg.data, err);
    msgpack_unpacked_destroy (&msg);
    if (!model)
        maas_debug ("model", "decode rejected bytes=%zu error=\"%s\"", size, err->text);
    return model;
}

//  ---------------------------------------------------------------------------
//  Files

int
maas_model_write_file (const char *path, const void *blob, size_t size, maas_err_t *err)
{
    size_t tmp_size = strlen (path) + 32;
    char *tmp = malloc (tmp_size);
    if (!tmp) {
        maas_err_set (err, MAAS_ERR_NOMEM, "model: out of memory");
        return -1;
    }
    snprintf (tmp, tmp_size, "%s.tmp.%ld", path, (long) getpid ());
    FILE *file = fopen (tmp, "wb");
    bool ok = file && fwrite (blob, 1, size, file) == size;
    ok = file && fflush (file) == 0 && fsync (fileno (file)) == 0 && ok;
    if (file && fclose (file) != 0)
        ok = false;
    if (ok && rename (tmp, path) != 0)
        ok = false;
    if (!ok) {
        maas_err_set (err, MAAS_ERR_IO, "model: cannot write %s: %s", path, strerror (errno));
        unlink (tmp);
    }
    free (tmp);
    return ok ? 0 : -1;
}

int
maas_model_save (const maas_model_t *self, const char *path, maas_err_t *err)
{
    assert (self && path);
    uint8_t *blob;
    size_t size;
    if (maas_model_encode (self, &blob, &size, err))
        return -1;
    int rc = maas_model_write_file (path, blob, size, err);
    free (blob);
    if (rc)
        maas_warn ("model", "save failed path=%s error=\"%s\"", path, err ? err->text : "");
    return rc;
}

//  Read all of PATH into a new buffer; NULL with ERR set.
static uint8_t *
s_read_file (const char *path, size_t *size_p, maas_err_t *err)
{
    FILE *file = fopen (path, "rb");
    struct stat st;
    if (!file || fstat (fileno (file), &st) != 0) {
        maas_err_set (err, MAAS_ERR_IO, "model: cannot open %s: %s", path, strerror (errno));
        if (file)
            fclose (file);
        return NULL;
    }
    size_t size = (size_t) st.st_size;
    uint8_t *blob = NULL;
    if (!S_ISREG (st.st_mode) || st.st_size < 0)
        maas_err_set (err, MAAS_ERR_IO, "model: %s is not a regular file", path);
    else if (size > MAAS_MODEL_MAX_BYTES)
        maas_err_set (err, MAAS_ERR_INPUT, "model: %s holds %zu bytes, over the limit of %zu", path,
                      size, MAAS_MODEL_MAX_BYTES);
    else if (!(blob = malloc (size ? size : 1)))
        maas_err_set (err, MAAS_ERR_NOMEM, "model: out of memory for %zu bytes", size);
    else if (fread (blob, 1, size, file) != size) {
        maas_err_set (err, MAAS_ERR_IO, "model: cannot read %s: %s", path,
                      ferror (file) ? strerror (errno) : "file shrank while reading");
        free (blob);
        blob = NULL;
    }
    fclose (file);
    *size_p = size;
    return blob;
}

maas_model_t *
maas_model_load (const char *path, maas_err_t *err)
{
    assert (path);
    maas_err_t local;
    if (!err)
        err = &local;
    maas_err_clear (err);
    size_t size;
    uint8_t *blob = s_read_file (path, &size, err);
    bool read = blob != NULL;
    maas_model_t *model = read ? maas_model_decode (blob, size, err) : NULL;
    free (blob);
    if (!model) {
        //  Name the file: "model.bin: model: sha256 mismatch ...".
        if (read)
            maas_err_prefix (err, "%s", path);
        maas_warn ("model", "load failed path=%s error=\"%s\"", path, err->text);
    }
    return model;
}
