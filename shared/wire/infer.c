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
s_shape (maas_infer_params_t *params, const msgpack_object *shape, char *err, size_t err_size)
{
    if (shape->type != MSGPACK_OBJECT_ARRAY || shape->via.array.size != 2
        || shape->via.array.ptr[0].type != MSGPACK_OBJECT_POSITIVE_INTEGER
        || shape->via.array.ptr[1].type != MSGPACK_OBJECT_POSITIVE_INTEGER) {
        snprintf (err, err_size, "params: 'shape' must be [rows, cols], two positive integers");
        return -1;
    }
    uint64_t r = shape->via.array.ptr[0].via.u64, c = shape->via.array.ptr[1].via.u64;
    if (r == 0 || c == 0 || r > MAAS_TENSOR_MAX_ELEMS || c > MAAS_TENSOR_MAX_ELEMS
        || r * c > MAAS_TENSOR_MAX_ELEMS) {
        snprintf (err, err_size, "params: shape %" PRIu64 "x%" PRIu64 " is empty or too large", r,
                  c);
        return -1;
    }
    params->rows = (size_t) r;
    params->cols = (size_t) c;
    return 0;
}

int
maas_infer_params_decode (maas_infer_params_t *params, const msgpack_object *obj, char *err,
                          size_t err_size)
{
    *params = (maas_infer_params_t){0};
    if (!obj || obj->type == MSGPACK_OBJECT_NIL)
        return 0;
    if (obj->type != MSGPACK_OBJECT_MAP) {
        snprintf (err, err_size, "params: expected a map, got %s", maas_codec_type_name (obj));
        return -1;
    }
    for (uint32_t i = 0; i < obj->via.map.size; i++) {
        const msgpack_object_kv *kv = &obj->via.map.ptr[i];
        bool is_shape = kv->key.type == MSGPACK_OBJECT_STR && kv->key.via.str.size == 5
            && memcmp (kv->key.via.str.ptr, "shape", 5) == 0;
        if (is_shape && s_shape (params, &kv->val, err, err_size) != 0)
            return -1;
        if (!is_shape) {
            char key[40] = "?";
            if (kv->key.type == MSGPACK_OBJECT_STR)
                maas_codec_excerpt (key, sizeof key, kv->key.via.str.ptr, kv->key.via.str.size);
            snprintf (err, err_size,
                      "params: unknown key '%s' (an infer job's params hold only 'shape')", key);
            return -1;
        }
    }
    return 0;
}

//  -- the result

int
maas_infer_result_pack (const maas_infer_result_t *result, msgpack_packer *pk)
{
    int rc = msgpack_pack_map (pk, result->classes ? 10 : 9)
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
        snprintf (map->err, sizeof map->err,
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
        snprintf (map->err, sizeof map->err,
                  "result: 'values' holds %zu bytes for %zu rows × %zu outputs", size, result->rows,
                  result->outputs);
        return -1;
    }
    const msgpack_object *classes = maas_codec_map_find (map, "classes");
    if (classes
        && (classes->type != MSGPACK_OBJECT_ARRAY || classes->via.array.size != result->rows)) {
        snprintf (map->err, sizeof map->err, "result: 'classes' must be an array of %zu ints",
                  result->rows);
        return -1;
    }
    result->values = malloc (count * sizeof *result->values);
    if (classes)
        result->classes = malloc (result->rows * sizeof *result->classes);
    if (!result->values || (classes && !result->classes)) {
        snprintf (map->err, sizeof map->err, "result: out of memory for %zu values", count);
        return -1;
    }
    maas_codec_f32_from_le (result->values, bytes, count);
    for (size_t r = 0; classes && r < result->rows; r++) {
        const msgpack_object *item = &classes->via.array.ptr[r];
        bool integer = item->type == MSGPACK_OBJECT_POSITIVE_INTEGER
            || item->type == MSGPACK_OBJECT_NEGATIVE_INTEGER;
        if (!integer || item->via.i64 < INT32_MIN || item->via.i64 > INT32_MAX) {
            snprintf (map->err, sizeof map->err, "result: class of row %zu is not an int", r + 1);
            return -1;
        }
        result->classes[r] = (int32_t) item->via.i64;
    }
    return 0;
}

int
maas_infer_result_parse (maas_infer_result_t *result, const void *data, size_t size, char *err,
                         size_t err_size)
{
    *result = (maas_infer_result_t){0};
    msgpack_unpacked msg;
    msgpack_unpacked_init (&msg);
    maas_codec_map_t map;
    int rc = maas_proto_open_map (data, size, 0, "result", &msg, &map, err, err_size);
    if (rc == 0 && (s_scalars (&map, result) != 0 || s_arrays (&map, result) != 0)) {
        snprintf (err, err_size, "%s", map.err);
        rc = -1;
    }
    msgpack_unpacked_destroy (&msg);
    if (rc != 0)
        maas_infer_result_clear (result);
    return rc;
}

void
maas_infer_result_clear (maas_infer_result_t *result)
{
    free (result->values);
    free (result->classes);
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
    char err[MAAS_CODEC_ERR_SIZE];
    uint64_t row = 0;
    //  Absent meta or row, or a row that is not a count: no row named.
    if (header
        && maas_proto_open_map (header, size, MAAS_PROTO_HEADER_MAX, "header", &msg, &map, err,
                                sizeof err)
            == 0
        && maas_codec_map_find (&map, "meta") && maas_codec_map_map (&map, "meta", &meta) == 0
        && maas_codec_map_find (&meta, "row") && maas_codec_map_uint64 (&meta, "row", &row) != 0)
        row = 0;
    msgpack_unpacked_destroy (&msg);
    return row <= MAAS_TENSOR_MAX_ELEMS ? (size_t) row : 0;
}
