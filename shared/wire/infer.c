/*  infer.c: an infer job's params and its result, packed and parsed in one
 *  place. Parsers check every type and size before allocating. */
#include "infer.h"
#include "codec.h"
#include "tensor.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int
maas_infer_params_pack (msgpack_sbuffer *sbuf, size_t rows, size_t cols)
{
    msgpack_sbuffer_init (sbuf);
    msgpack_packer pk;
    msgpack_packer_init (&pk, sbuf, msgpack_sbuffer_write);
    return msgpack_pack_map (&pk, 1) || maas_codec_pack_str (&pk, "shape")
            || msgpack_pack_array (&pk, 2) || msgpack_pack_uint64 (&pk, rows)
            || msgpack_pack_uint64 (&pk, cols)
        ? -1
        : 0;
}

//  SHAPE as [rows, cols] into PARAMS; -1 with ERR if malformed.
static int
s_shape (maas_infer_params_t *params, const msgpack_object *shape, maas_err_t *err)
{
    if (shape->type != MSGPACK_OBJECT_ARRAY || shape->via.array.size != 2
        || shape->via.array.ptr[0].type != MSGPACK_OBJECT_POSITIVE_INTEGER
        || shape->via.array.ptr[1].type != MSGPACK_OBJECT_POSITIVE_INTEGER) {
        maas_err_set (err, MAAS_ERR_INPUT,
                      "params: 'shape' must be [rows, cols], two positive integers");
        return -1;
    }
    uint64_t r = shape->via.array.ptr[0].via.u64, c = shape->via.array.ptr[1].via.u64;
    if (r == 0 || c == 0 || r > MAAS_TENSOR_MAX_ELEMS || c > MAAS_TENSOR_MAX_ELEMS
        || r * c > MAAS_TENSOR_MAX_ELEMS) {
        maas_err_set (err, MAAS_ERR_INPUT,
                      "params: shape %" PRIu64 "x%" PRIu64 " is empty or too large", r, c);
        return -1;
    }
    params->rows = (size_t) r;
    params->cols = (size_t) c;
    return 0;
}

int
maas_infer_params_pack_all (msgpack_sbuffer *sbuf, const maas_infer_params_t *params)
{
    msgpack_sbuffer_init (sbuf);
    msgpack_packer pk;
    msgpack_packer_init (&pk, sbuf, msgpack_sbuffer_write);
    bool shape = params->rows > 0, output = params->output != MAAS_INFER_PROBABILITIES;
    int rc = msgpack_pack_map (&pk, shape + output + (params->top_k > 0));
    if (shape)
        rc |= maas_codec_pack_str (&pk, "shape") | msgpack_pack_array (&pk, 2)
            | msgpack_pack_uint64 (&pk, params->rows) | msgpack_pack_uint64 (&pk, params->cols);
    if (output)
        rc |= maas_codec_pack_kv_str (&pk, "output", "class");
    if (params->top_k)
        rc |= maas_codec_pack_kv_uint (&pk, "top_k", params->top_k);
    return rc ? -1 : 0;
}

//  true if the msgpack string OBJ is TEXT.
static bool
s_is (const msgpack_object *obj, const char *text)
{
    size_t len = strlen (text);
    return obj->type == MSGPACK_OBJECT_STR && obj->via.str.size == len
        && memcmp (obj->via.str.ptr, text, len) == 0;
}

//  "output": "probabilities" or "class".
static int
s_output (maas_infer_params_t *params, const msgpack_object *value, maas_err_t *err)
{
    if (s_is (value, "probabilities") || s_is (value, "class")) {
        params->output = s_is (value, "class") ? MAAS_INFER_CLASS : MAAS_INFER_PROBABILITIES;
        return 0;
    }
    char text[40] = "?";
    if (value->type == MSGPACK_OBJECT_STR)
        maas_codec_excerpt (text, sizeof text, value->via.str.ptr, value->via.str.size);
    else
        snprintf (text, sizeof text, "(%s)", maas_codec_type_name (value));
    maas_err_set (err, MAAS_ERR_INPUT, "params: output '%s' is not probabilities or class", text);
    return -1;
}

//  "top_k": a positive count of classes.
static int
s_top_k (maas_infer_params_t *params, const msgpack_object *value, maas_err_t *err)
{
    if (value->type != MSGPACK_OBJECT_POSITIVE_INTEGER || value->via.u64 == 0
        || value->via.u64 > MAAS_INFER_OUTPUTS_MAX) {
        maas_err_set (err, MAAS_ERR_INPUT, "params: top_k must be an integer from 1 to %d",
                      MAAS_INFER_OUTPUTS_MAX);
        return -1;
    }
    params->top_k = (size_t) value->via.u64;
    return 0;
}

//  One key of the params map into PARAMS.
static int
s_param (maas_infer_params_t *params, const msgpack_object_kv *kv, maas_err_t *err)
{
    if (s_is (&kv->key, "shape"))
        return s_shape (params, &kv->val, err);
    if (s_is (&kv->key, "output"))
        return s_output (params, &kv->val, err);
    if (s_is (&kv->key, "top_k"))
        return s_top_k (params, &kv->val, err);
    char key[40] = "?";
    if (kv->key.type == MSGPACK_OBJECT_STR)
        maas_codec_excerpt (key, sizeof key, kv->key.via.str.ptr, kv->key.via.str.size);
    maas_err_set (
        err, MAAS_ERR_INPUT,
        "params: unknown key '%s' (an infer job's params hold 'shape', 'output', 'top_k')", key);
    return -1;
}

int
maas_infer_params_decode (maas_infer_params_t *params, const msgpack_object *obj, maas_err_t *err)
{
    *params = (maas_infer_params_t){0};
    if (!obj || obj->type == MSGPACK_OBJECT_NIL)
        return 0;
    if (obj->type != MSGPACK_OBJECT_MAP) {
        maas_err_set (err, MAAS_ERR_INPUT, "params: expected a map, got %s",
                      maas_codec_type_name (obj));
        return -1;
    }
    for (uint32_t i = 0; i < obj->via.map.size; i++)
        if (s_param (params, &obj->via.map.ptr[i], err) != 0)
            return -1;
    return 0;
}

//  -- the result

//  The post-processing keys: "threshold", "class_labels", "labels",
//  "top_k", "top_classes", "top_scores", those RESULT holds.
static size_t
s_post_keys (const maas_infer_result_t *result)
{
    bool labels = result->class_labels && result->classes;
    return (result->threshold > 0) + labels + (labels && result->output == MAAS_INFER_CLASS)
        + 3 * (result->top_k > 0);
}

static int
s_post_pack (const maas_infer_result_t *result, msgpack_packer *pk)
{
    int rc = 0;
    if (result->threshold > 0)
        rc |= maas_codec_pack_str (pk, "threshold") | msgpack_pack_double (pk, result->threshold);
    if (result->class_labels && result->classes) {
        rc |= maas_codec_pack_str (pk, "class_labels")
            | msgpack_pack_array (pk, result->n_class_labels);
        for (size_t k = 0; k < result->n_class_labels; k++)
            rc |= maas_codec_pack_str (pk, result->class_labels[k]);
    }
    if (result->class_labels && result->classes && result->output == MAAS_INFER_CLASS) {
        rc |= maas_codec_pack_str (pk, "labels") | msgpack_pack_array (pk, result->rows);
        for (size_t r = 0; r < result->rows; r++)
            rc |= maas_codec_pack_str (pk, maas_infer_result_label (result, r));
    }
    if (result->top_k) {
        size_t n = result->rows * result->top_k;
        rc |= maas_codec_pack_kv_uint (pk, "top_k", result->top_k)
            | maas_codec_pack_str (pk, "top_classes") | msgpack_pack_array (pk, n);
        for (size_t i = 0; i < n; i++)
            rc |= msgpack_pack_int32 (pk, result->top_classes[i]);
        rc |= maas_codec_pack_str (pk, "top_scores")
            | maas_codec_pack_f32 (pk, result->top_scores, n);
    }
    return rc;
}

int
maas_infer_result_pack (const maas_infer_result_t *result, msgpack_packer *pk)
{
    int rc = msgpack_pack_map (pk, (result->classes ? 10 : 9) + s_post_keys (result))
        | maas_codec_pack_kv_str (pk, "model", result->model)
        | maas_codec_pack_kv_uint (pk, "version", result->version)
        | maas_codec_pack_kv_uint (pk, "rows", result->rows)
        | maas_codec_pack_kv_uint (pk, "outputs", result->outputs)
        | maas_codec_pack_str (pk, "values")
        | maas_codec_pack_f32 (pk, result->values, result->rows * result->outputs);
    if (result->classes) {
        rc |= maas_codec_pack_str (pk, "classes") | msgpack_pack_array (pk, result->rows);
        for (size_t r = 0; r < result->rows; r++)
            rc |= msgpack_pack_int32 (pk, result->classes[r]);
    }
    rc |= s_post_pack (result, pk);
    return rc | maas_codec_pack_kv_uint (pk, "batch_rows", result->batch_rows)
            | maas_codec_pack_kv_uint (pk, "batch_jobs", result->batch_jobs)
            | maas_codec_pack_kv_int (pk, "queue_us", result->queue_us)
            | maas_codec_pack_kv_int (pk, "compute_us", result->compute_us)
        ? -1
        : 0;
}

int
maas_infer_meta_pack (const maas_infer_result_t *result, msgpack_packer *pk)
{
    return msgpack_pack_map (pk, 5) | maas_codec_pack_kv_uint (pk, "version", result->version)
            | maas_codec_pack_kv_uint (pk, "batch_rows", result->batch_rows)
            | maas_codec_pack_kv_uint (pk, "batch_jobs", result->batch_jobs)
            | maas_codec_pack_kv_int (pk, "queue_us", result->queue_us)
            | maas_codec_pack_kv_int (pk, "compute_us", result->compute_us)
        ? -1
        : 0;
}

//  The scalar keys of a result map into RESULT; -1 with MAP->err.
static int
s_scalars (maas_codec_map_t *map, maas_infer_result_t *result)
{
    uint64_t rows, outputs, batch_rows, batch_jobs;
    if (maas_codec_map_str_copy (map, "model", result->model, sizeof result->model)
        || maas_codec_map_uint64 (map, "version", &result->version)
        || maas_codec_map_uint64 (map, "rows", &rows)
        || maas_codec_map_uint64 (map, "outputs", &outputs)
        || maas_codec_map_uint64 (map, "batch_rows", &batch_rows)
        || maas_codec_map_uint64 (map, "batch_jobs", &batch_jobs)
        || maas_codec_map_int64 (map, "queue_us", &result->queue_us)
        || maas_codec_map_int64 (map, "compute_us", &result->compute_us))
        return -1;
    if (rows == 0 || rows > MAAS_TENSOR_MAX_ELEMS || outputs == 0
        || outputs > MAAS_INFER_OUTPUTS_MAX) {
        maas_err_set (&map->err, MAAS_ERR_INPUT,
                      "result: %" PRIu64 " rows × %" PRIu64 " outputs is empty or too large", rows,
                      outputs);
        return -1;
    }
    result->rows = (size_t) rows;
    result->outputs = (size_t) outputs;
    result->batch_rows = (size_t) batch_rows;
    result->batch_jobs = (size_t) batch_jobs;
    return 0;
}

//  "values" and "classes" of MAP, checked against RESULT's shape, copied.
static int
s_arrays (maas_codec_map_t *map, maas_infer_result_t *result)
{
    const void *bytes;
    size_t size, count = result->rows * result->outputs;
    if (maas_codec_map_bin (map, "values", &bytes, &size) != 0)
        return -1;
    if (size != count * 4) {
        maas_err_set (&map->err, MAAS_ERR_INPUT,
                      "result: 'values' holds %zu bytes for %zu rows × %zu outputs", size,
                      result->rows, result->outputs);
        return -1;
    }
    const msgpack_object *classes = maas_codec_map_find (map, "classes");
    if (classes
        && (classes->type != MSGPACK_OBJECT_ARRAY || classes->via.array.size != result->rows)) {
        maas_err_set (&map->err, MAAS_ERR_INPUT, "result: 'classes' must be an array of %zu ints",
                      result->rows);
        return -1;
    }
    result->values = malloc (count * sizeof *result->values);
    if (classes)
        result->classes = malloc (result->rows * sizeof *result->classes);
    if (!result->values || (classes && !result->classes)) {
        maas_err_set (&map->err, MAAS_ERR_NOMEM, "result: out of memory for %zu values", count);
        return -1;
    }
    maas_codec_f32_from_le (result->values, bytes, count);
    for (size_t r = 0; classes && r < result->rows; r++) {
        const msgpack_object *item = &classes->via.array.ptr[r];
        bool integer = item->type == MSGPACK_OBJECT_POSITIVE_INTEGER
            || item->type == MSGPACK_OBJECT_NEGATIVE_INTEGER;
        if (!integer || item->via.i64 < INT32_MIN || item->via.i64 > INT32_MAX) {
            maas_err_set (&map->err, MAAS_ERR_INPUT, "result: class of row %zu is not an int",
                          r + 1);
            return -1;
        }
        result->classes[r] = (int32_t) item->via.i64;
    }
    return 0;
}

//  "class_labels" of MAP (owned copies), checked against the classes.
static int
s_class_labels (maas_codec_map_t *map, maas_infer_result_t *result)
{
    const msgpack_object *items;
    size_t n;
    if (maas_codec_map_strings (map, "class_labels", &items, &n) != 0)
        return -1;
    if (n == 0 || n > MAAS_INFER_OUTPUTS_MAX || !result->classes
        || !(result->class_labels = calloc (n, sizeof *result->class_labels))) {
        maas_err_set (
            &map->err, MAAS_ERR_INPUT,
            "result: 'class_labels' needs 'classes' and 1 to %d labels (or memory ran out)",
            MAAS_INFER_OUTPUTS_MAX);
        return -1;
    }
    result->n_class_labels = n;
    for (size_t k = 0; k < n; k++)
        if (!(result->class_labels[k] = strndup (items[k].via.str.ptr, items[k].via.str.size))) {
            maas_err_set (&map->err, MAAS_ERR_NOMEM, "result: out of memory for the labels");
            return -1;
        }
    for (size_t r = 0; r < result->rows; r++)
        if (result->classes[r] < 0 || (size_t) result->classes[r] >= n) {
            maas_err_set (&map->err, MAAS_ERR_INPUT, "result: class of row %zu has no label",
                          r + 1);
            return -1;
        }
    return 0;
}

//  "top_k", "top_classes", "top_scores" of MAP, all three or none.
static int
s_top (maas_codec_map_t *map, maas_infer_result_t *result)
{
    uint64_t k;
    const void *bytes;
    size_t size;
    if (maas_codec_map_uint64 (map, "top_k", &k) != 0
        || maas_codec_map_bin (map, "top_scores", &bytes, &size) != 0)
        return -1;
    const msgpack_object *classes = maas_codec_map_find (map, "top_classes");
    size_t n = k <= MAAS_INFER_OUTPUTS_MAX ? result->rows * (size_t) k : 0;
    if (n == 0 || size != n * 4 || !classes || classes->type != MSGPACK_OBJECT_ARRAY
        || classes->via.array.size != n) {
        maas_err_set (&map->err, MAAS_ERR_INPUT,
                      "result: top_k %" PRIu64 " needs 'top_classes' and 'top_scores' of %zu each",
                      k, n);
        return -1;
    }
    result->top_classes = malloc (n * sizeof *result->top_classes);
    result->top_scores = malloc (n * sizeof *result->top_scores);
    if (!result->top_classes || !result->top_scores) {
        maas_err_set (&map->err, MAAS_ERR_NOMEM, "result: out of memory for top %" PRIu64, k);
        return -1;
    }
    result->top_k = (size_t) k;
    maas_codec_f32_from_le (result->top_scores, bytes, n);
    for (size_t i = 0; i < n; i++) {
        const msgpack_object *item = &classes->via.array.ptr[i];
        if (item->type != MSGPACK_OBJECT_POSITIVE_INTEGER || item->via.u64 > INT32_MAX) {
            maas_err_set (&map->err, MAAS_ERR_INPUT, "result: top_classes[%zu] is not a class", i);
            return -1;
        }
        result->top_classes[i] = (int32_t) item->via.u64;
    }
    return 0;
}

//  The optional post-processing keys (see s_post_pack).
static int
s_post_parse (maas_codec_map_t *map, maas_infer_result_t *result)
{
    if (maas_codec_map_find (map, "threshold")
        && (maas_codec_map_double (map, "threshold", &result->threshold) != 0
            || !(result->threshold > 0 && result->threshold < 1))) {
        maas_err_set (&map->err, MAAS_ERR_INPUT, "result: 'threshold' must be between 0 and 1");
        return -1;
    }
    if (maas_codec_map_find (map, "class_labels") && s_class_labels (map, result) != 0)
        return -1;
    const msgpack_object *labels = maas_codec_map_find (map, "labels");
    if (labels) {
        if (!result->class_labels || labels->type != MSGPACK_OBJECT_ARRAY
            || labels->via.array.size != result->rows) {
            maas_err_set (&map->err, MAAS_ERR_INPUT,
                          "result: 'labels' must hold one label per row, with 'class_labels'");
            return -1;
        }
        result->output = MAAS_INFER_CLASS;
    }
    return maas_codec_map_find (map, "top_k") ? s_top (map, result) : 0;
}

int
maas_infer_result_parse (maas_infer_result_t *result, const void *data, size_t size,
                         maas_err_t *err)
{
    *result = (maas_infer_result_t){0};
    msgpack_unpacked msg;
    msgpack_unpacked_init (&msg);
    maas_codec_map_t map;
    int rc = maas_proto_open_map (data, size, 0, "result", &msg, &map, err);
    if (rc == 0
        && (s_scalars (&map, result) != 0 || s_arrays (&map, result) != 0
            || s_post_parse (&map, result) != 0)) {
        maas_err_copy (err, &map.err);
        rc = -1;
    }
    msgpack_unpacked_destroy (&msg);
    if (rc != 0)
        maas_infer_result_clear (result);
    return rc;
}

const char *
maas_infer_result_label (const maas_infer_result_t *result, size_t r)
{
    if (!result->class_labels || !result->classes || r >= result->rows || result->classes[r] < 0
        || (size_t) result->classes[r] >= result->n_class_labels)
        return NULL;
    return result->class_labels[result->classes[r]];
}

void
maas_infer_result_clear (maas_infer_result_t *result)
{
    free (result->values);
    free (result->classes);
    for (size_t k = 0; result->class_labels && k < result->n_class_labels; k++)
        free (result->class_labels[k]);
    free (result->class_labels);
    free (result->top_classes);
    free (result->top_scores);
    *result = (maas_infer_result_t){0};
}

//  -- a failure's row

int
maas_infer_error_meta_pack (size_t row, msgpack_packer *pk)
{
    return msgpack_pack_map (pk, 1) | maas_codec_pack_kv_uint (pk, "row", row) ? -1 : 0;
}

size_t
maas_infer_error_row (const void *header, size_t size)
{
    msgpack_unpacked msg;
    msgpack_unpacked_init (&msg);
    maas_codec_map_t map, meta;
    uint64_t row = 0;
    //  Absent meta or row, or a row that is not a count: no row named.
    if (header
        && maas_proto_open_map (header, size, MAAS_PROTO_HEADER_MAX, "header", &msg, &map, NULL)
            == 0
        && maas_codec_map_find (&map, "meta") && maas_codec_map_map (&map, "meta", &meta) == 0
        && maas_codec_map_find (&meta, "row") && maas_codec_map_uint64 (&meta, "row", &row) != 0)
        row = 0;
    msgpack_unpacked_destroy (&msg);
    return row <= MAAS_TENSOR_MAX_ELEMS ? (size_t) row : 0;
}
