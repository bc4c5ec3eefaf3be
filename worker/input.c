/*  input.c: infer inputs from raw float32 tensors or msgpack arrays. */
#include "input.h"
#include "codec.h"
#include "infer.h"

#include <inttypes.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

size_t
maas_input_check_finite (const float *x, size_t rows, size_t cols, maas_err_t *err)
{
    if (maas_tensor_all_finite (x, rows * cols))
        return 0;
    for (size_t i = 0; i < rows * cols; i++)
        if (!isfinite (x[i])) {
            maas_err_set (err, MAAS_ERR_INPUT, "row %zu column %zu is not a finite number (%g)",
                          i / cols + 1, i % cols + 1, (double) x[i]);
            return i / cols + 1;
        }
    return 0;
}

static int
s_decode_raw (const void *payload, size_t size, size_t rows, size_t cols, size_t want,
              maas_tensor_t **out, maas_err_t *err)
{
    if (cols != want) {
        maas_err_set (err, MAAS_ERR_INPUT, "expected %zu features, got %zu", want, cols);
        return -1;
    }
    if (size != rows * cols * 4) {
        maas_err_set (err, MAAS_ERR_INPUT, "input: shape %zux%zu needs %zu bytes, payload has %zu",
                      rows, cols, rows * cols * 4, size);
        return -1;
    }
    *out = maas_tensor_new (rows, cols);
    if (!*out) {
        maas_err_set (err, MAAS_ERR_NOMEM, "input: out of memory for %zux%zu", rows, cols);
        return -1;
    }
    maas_codec_f32_from_le ((*out)->data, payload, rows * cols);
    return 0;
}

//  A msgpack number as a float; false if OBJ is not a number.
static bool
s_number (const msgpack_object *obj, float *value)
{
    switch (obj->type) {
        case MSGPACK_OBJECT_FLOAT32:
        case MSGPACK_OBJECT_FLOAT64: *value = (float) obj->via.f64; return true;
        case MSGPACK_OBJECT_POSITIVE_INTEGER: *value = (float) obj->via.u64; return true;
        case MSGPACK_OBJECT_NEGATIVE_INTEGER: *value = (float) obj->via.i64; return true;
        default: return false;
    }
}

//  Copy ROW (an array of numbers) into DST; row number R for messages.
static int
s_copy_row (const msgpack_object *row, size_t r, float *dst, size_t want, maas_err_t *err)
{
    if (row->type != MSGPACK_OBJECT_ARRAY) {
        maas_err_set (err, MAAS_ERR_INPUT, "input: row %zu must be an array of numbers, got %s",
                      r + 1, maas_codec_type_name (row));
        return -1;
    }
    if (row->via.array.size != want) {
        if (r == 0)
            maas_err_set (err, MAAS_ERR_INPUT, "expected %zu features, got %u", want,
                          row->via.array.size);
        else
            maas_err_set (err, MAAS_ERR_INPUT, "expected %zu features, got %u in row %zu", want,
                          row->via.array.size, r + 1);
        return -1;
    }
    for (size_t c = 0; c < want; c++)
        if (!s_number (&row->via.array.ptr[c], &dst[c])) {
            maas_err_set (err, MAAS_ERR_INPUT, "input: row %zu column %zu must be a number, got %s",
                          r + 1, c + 1, maas_codec_type_name (&row->via.array.ptr[c]));
            return -1;
        }
    return 0;
}

static int
s_decode_arrays (const msgpack_object *top, size_t want, maas_tensor_t **out, size_t *bad_row,
                 maas_err_t *err)
{
    if (top->type != MSGPACK_OBJECT_ARRAY || top->via.array.size == 0) {
        maas_err_set (err, MAAS_ERR_INPUT,
                      "input: expected an array of rows or a shape and float32 "
                      "bytes, got %s",
                      top->type == MSGPACK_OBJECT_ARRAY ? "an empty array"
                                                        : maas_codec_type_name (top));
        return -1;
    }
    bool flat = top->via.array.ptr[0].type != MSGPACK_OBJECT_ARRAY;
    size_t rows = flat ? 1 : top->via.array.size;
    *out = maas_tensor_new (rows, want);
    if (!*out) {
        maas_err_set (err, MAAS_ERR_NOMEM, "input: out of memory for %zu rows", rows);
        return -1;
    }
    for (size_t r = 0; r < rows; r++)
        if (s_copy_row (flat ? top : &top->via.array.ptr[r], r, (*out)->data + r * want, want, err)
            != 0) {
            maas_tensor_destroy (out);
            *bad_row = r + 1;
            return -1;
        }
    return 0;
}

int
maas_input_decode (const msgpack_object *params, const void *payload, size_t size, size_t cols,
                   maas_tensor_t **out, size_t *bad_row, maas_err_t *err)
{
    *out = NULL;
    *bad_row = 0;
    maas_infer_params_t shape;
    if (maas_infer_params_decode (&shape, params, err) != 0)
        return -1;
    int rc;
    if (shape.rows)
        rc = s_decode_raw (payload, size, shape.rows, shape.cols, cols, out, err);
    else {
        msgpack_unpacked top;
        msgpack_unpacked_init (&top);
        maas_err_t why;
        rc = maas_codec_unpack (payload, size, MAAS_INPUT_MAX_BYTES, &top, &why);
        if (rc != 0)
            maas_err_set (err, MAAS_ERR_INPUT,
                          "input: not msgpack rows (%s); send rows or give "
                          "params.shape for float32 bytes",
                          why.text);
        else
            rc = s_decode_arrays (&top.data, cols, out, bad_row, err);
        msgpack_unpacked_destroy (&top);
    }
    if (rc == 0 && (*bad_row = maas_input_check_finite ((*out)->data, (*out)->rows, cols, err)))
        maas_tensor_destroy (out);
    return *out ? 0 : -1;
}
