/*  tensor_in.c: JSON numbers into float32 with TF Serving's lossless rule
 *  (an integer past 2^24 or a real past FLT_MAX is refused, not rounded). */
#include "gateway.h"

#include <float.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define S_INT_EXACT ((json_int_t) 1 << 24)    //  float32 holds every integer below

static int
s_push (float **values, size_t *count, float value)
{
    if ((*count & (*count - 1)) == 0 || *count == 0) {
        size_t cap = *count ? *count * 2 : 16;
        float *bigger = realloc (*values, cap * sizeof *bigger);
        if (!bigger)
            return -1;
        *values = bigger;
    }
    (*values)[(*count)++] = value;
    return 0;
}

//  One JSON number into *OUT; -1 with ERR if it is not one or not exact.
static int
s_number (const json_t *value, float *out, char *err, size_t err_size)
{
    if (json_is_integer (value)) {
        json_int_t v = json_integer_value (value);
        if (v > S_INT_EXACT || v < -S_INT_EXACT) {
            snprintf (err, err_size,
                      "Cannot convert JSON value: %lld to float without loss of precision.",
                      (long long) v);
            return -1;
        }
        *out = (float) v;
        return 0;
    }
    if (json_is_real (value)) {
        double v = json_real_value (value);
        if (v > FLT_MAX || v < -FLT_MAX) {
            snprintf (err, err_size,
                      "Cannot convert JSON value: %g to float without loss of precision.", v);
            return -1;
        }
        *out = (float) v;
        return 0;
    }
    if (json_is_boolean (value)) {
        *out = json_is_true (value) ? 1.0f : 0.0f;
        return 0;
    }
    snprintf (err, err_size, "expected a number, got a JSON %s",
              json_is_string (value)     ? "string"
                  : json_is_null (value) ? "null"
                                         : "object");
    return -1;
}

int
gw_json_floats (const json_t *value, float **values, size_t *count, char *err, size_t err_size)
{
    if (!json_is_array (value)) {
        float v;
        if (s_number (value, &v, err, err_size) != 0)
            return -1;
        if (s_push (values, count, v) != 0) {
            snprintf (err, err_size, "gateway: out of memory");
            return -1;
        }
        return 0;
    }
    size_t i;
    const json_t *item;
    json_array_foreach (value, i, item) if (gw_json_floats (item, values, count, err, err_size)
                                            != 0) return -1;
    return 0;
}

//  -- KServe v2 input tensors (JSON data or binary, docs/http.md)

//  A binary tensor element type: its name and size in bytes.
typedef struct {
    const char *name;
    size_t size;
} s_dtype_t;

static const s_dtype_t s_dtypes[] = {{"FP32", 4},   {"FP64", 8},   {"BOOL", 1},   {"INT8", 1},
                                     {"INT16", 2},  {"INT32", 4},  {"INT64", 8},  {"UINT8", 1},
                                     {"UINT16", 2}, {"UINT32", 4}, {"UINT64", 8}, {NULL, 0}};

static const s_dtype_t *
s_dtype (const char *name)
{
    for (const s_dtype_t *t = s_dtypes; name && t->name; t++)
        if (strcmp (t->name, name) == 0)
            return t;
    return NULL;
}

//  One little-endian element of type T at P as a float.
static float
s_element (const s_dtype_t *t, const uint8_t *p)
{
    uint64_t bits = 0;
    for (size_t i = 0; i < t->size; i++)
        bits |= (uint64_t) p[i] << (8 * i);
    char kind = t->name[0];
    if (strcmp (t->name, "FP32") == 0) {
        uint32_t u = (uint32_t) bits;
        float f;
        memcpy (&f, &u, 4);
        return f;
    }
    if (strcmp (t->name, "FP64") == 0) {
        double d;
        memcpy (&d, &bits, 8);
        return (float) d;
    }
    if (kind == 'I') {    //  sign-extend
        int shift = 64 - 8 * (int) t->size;
        return (float) ((int64_t) (bits << shift) >> shift);
    }
    return (float) bits;
}

//  Rows of the one input: shape [rows, cols] or [cols], holding no more
//  values than BODY_SIZE (every value takes a byte at least, in JSON or
//  binary; this also keeps rows × cols from wrapping). -1 with ERR.
static int
s_shape (const json_t *input, size_t inputs, size_t body_size, size_t *rows, char *err,
         size_t err_size)
{
    const json_t *shape = json_object_get (input, "shape");
    size_t dims = json_array_size (shape);
    json_int_t r = dims == 2 ? json_integer_value (json_array_get (shape, 0)) : 1;
    json_int_t c = json_integer_value (json_array_get (shape, dims - 1));
    if ((dims != 1 && dims != 2) || r < 1 || c < 1) {
        snprintf (err, err_size, "input 'shape' must be [rows, %zu] or [%zu]", inputs, inputs);
        return -1;
    }
    if ((size_t) c != inputs) {
        snprintf (err, err_size, "input shape [%lld, %lld]: the model takes %zu features",
                  (long long) r, (long long) c, inputs);
        return -1;
    }
    if ((unsigned long long) r > body_size / (size_t) c) {
        snprintf (err, err_size, "input shape [%lld, %lld]: more rows than a %zu-byte body holds",
                  (long long) r, (long long) c, body_size);
        return -1;
    }
    *rows = (size_t) r;
    return 0;
}

//  The input's values into X (ROWS × INPUTS floats), from "data" or from
//  BIN (BIN_SIZE bytes after the JSON header). -1 with ERR.
static int
s_values (const json_t *input, const s_dtype_t *t, size_t count, const uint8_t *bin,
          size_t bin_size, float **x, char *err, size_t err_size)
{
    const json_t *size =
        json_object_get (json_object_get (input, "parameters"), "binary_data_size");
    if (size) {
        if ((size_t) json_integer_value (size) != count * t->size || bin_size < count * t->size) {
            snprintf (err, err_size, "binary_data_size must be %zu (%zu %s values) and present",
                      count * t->size, count, t->name);
            return -1;
        }
        *x = malloc (count * sizeof **x + 1);
        for (size_t i = 0; *x && i < count; i++)
            (*x)[i] = s_element (t, bin + i * t->size);
        return *x ? 0 : -1;
    }
    size_t got = 0;
    if (gw_json_floats (json_object_get (input, "data"), x, &got, err, err_size) != 0)
        return -1;
    if (got != count) {
        snprintf (err, err_size, "input 'data' has %zu values, its shape needs %zu", got, count);
        return -1;
    }
    return 0;
}

int
gw_v2_input (const json_t *request, const uint8_t *bin, size_t bin_size, size_t body_size,
             size_t inputs, float **x, size_t *rows, char *err, size_t err_size)
{
    const json_t *input = json_array_get (json_object_get (request, "inputs"), 0);
    const char *dtype = json_string_value (json_object_get (input, "datatype"));
    const s_dtype_t *t = s_dtype (dtype);
    *x = NULL;
    if (json_array_size (json_object_get (request, "inputs")) != 1)
        snprintf (err, err_size, "'inputs' must hold one tensor (the model has one input)");
    else if (!t)
        snprintf (err, err_size, "input datatype '%s' does not convert to FP32",
                  dtype ? dtype : "(none)");
    else if (s_shape (input, inputs, body_size, rows, err, err_size) == 0
             && s_values (input, t, *rows * inputs, bin, bin_size, x, err, err_size) == 0)
        return 0;
    free (*x);
    *x = NULL;
    return -1;
}
