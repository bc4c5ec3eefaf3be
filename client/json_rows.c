/*  json_rows.c: JSON input rows for the CLI. Every document is parsed by
 *  jansson (so [[1,2] is an error, not a row), reduced to one array of rows
 *  (arrays of numbers, or objects keyed by column name), then copied into
 *  a float32 tensor. */
#include "json_rows.h"

#include <ctype.h>
#include <float.h>
#include <jansson.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    const char *const *names;    //  model's column names, or NULL
    size_t n_names;              //  their count
    char *dropped;               //  caller's buffer for dropped keys, or NULL
    size_t dropped_size;
    char *err;    //  caller's buffer
    size_t err_size;
} s_ctx_t;

static void *
s_fail (s_ctx_t *ctx, const char *fmt, ...)
{
    va_list args;
    va_start (args, fmt);
    vsnprintf (ctx->err, ctx->err_size, fmt, args);
    va_end (args);
    return NULL;
}

bool
maas_json_rows_is_json (const char *text)
{
    while (isspace ((unsigned char) *text))
        text++;
    return *text == '[' || *text == '{';
}

//  Every JSON document in TEXT (one, or one per line) into a new array.
static json_t *
s_load_all (const char *text, size_t size, s_ctx_t *ctx)
{
    json_t *docs = json_array ();
    size_t offset = 0;
    while (docs) {
        while (offset < size && isspace ((unsigned char) text[offset]))
            offset++;
        if (offset == size)
            break;
        json_error_t error;
        json_t *doc = json_loadb (text + offset, size - offset,
                                  JSON_DISABLE_EOF_CHECK | JSON_REJECT_DUPLICATES, &error);
        if (!doc) {
            int line = 1;
            for (size_t i = 0; i < offset; i++)
                line += text[i] == '\n';
            s_fail (ctx, "JSON input line %d: %s", line + error.line - 1, error.text);
            json_decref (docs);
            return NULL;
        }
        json_array_append_new (docs, doc);
        offset += (size_t) error.position;
    }
    return docs;
}

//  {"x0": [1,3], "x1": [2,4]} (columns) into [{"x0": 1, "x1": 2}, ...].
static json_t *
s_columns_to_rows (json_t *columns, s_ctx_t *ctx)
{
    const char *key;
    json_t *column;
    size_t rows = SIZE_MAX;
    json_object_foreach (columns, key, column)
    {
        if (!json_is_array (column))
            return s_fail (ctx, "JSON input: inputs.%s is not an array of values", key);
        if (rows != SIZE_MAX && json_array_size (column) != rows)
            return s_fail (ctx, "JSON input: inputs.%s has %zu values, other columns %zu", key,
                           json_array_size (column), rows);
        rows = json_array_size (column);
    }
    json_t *out = json_array ();
    for (size_t r = 0; out && r < rows && rows != SIZE_MAX; r++) {
        json_t *row = json_object ();
        json_object_foreach (columns, key, column)
            json_object_set (row, key, json_array_get (column, r));
        json_array_append_new (out, row);
    }
    return out;
}

//  DOCS (all documents) as one new array of rows.
static json_t *
s_rows_of (json_t *docs, s_ctx_t *ctx)
{
    json_t *doc = json_array_get (docs, 0);
    if (json_array_size (docs) > 1
        || (json_is_array (doc) && json_is_number (json_array_get (doc, 0))))
        return json_incref (docs);    //  one row per document
    if (json_is_array (doc))
        return json_incref (doc);
    json_t *instances = json_object_get (doc, "instances"),
           *inputs = json_object_get (doc, "inputs");
    if (json_is_array (instances))
        return json_incref (instances);
    if (json_is_array (inputs))
        return json_incref (inputs);
    if (json_is_object (inputs))
        return s_columns_to_rows (inputs, ctx);
    return s_fail (ctx,
                   "JSON input: expected rows [[...], ...], {\"instances\": [...]} or "
                   "{\"inputs\": ...}");
}

//  VALUE as a float into *OUT; -1 with ERR naming row R, column NAME.
static int
s_number (const json_t *value, size_t r, const char *name, float *out, s_ctx_t *ctx)
{
    double v = json_number_value (value);
    if (!json_is_number (value) || fabs (v) > FLT_MAX) {
        char *text = json_dumps (value, JSON_ENCODE_ANY | JSON_COMPACT);
        s_fail (ctx, "JSON input: row %zu column %s: %s is not a float32 number", r + 1, name,
                text ? text : "value");
        free (text);
        return -1;
    }
    *out = (float) v;
    return 0;
}

//  Note KEY as dropped (once) in the caller's list.
static void
s_note_dropped (s_ctx_t *ctx, const char *key)
{
    if (!ctx->dropped || strstr (ctx->dropped, key))
        return;
    size_t used = strlen (ctx->dropped);
    snprintf (ctx->dropped + used, ctx->dropped_size - used, "%s%s", used ? ", " : "", key);
}

//  Row R given as an object: its values in the model's column order.
static int
s_object_row (json_t *row, size_t r, float *out, s_ctx_t *ctx)
{
    if (!ctx->names) {
        s_fail (ctx,
                "JSON input: row %zu names its columns, but the model has no column "
                "names: give rows as arrays in the model's order",
                r + 1);
        return -1;
    }
    for (size_t j = 0; j < ctx->n_names; j++) {
        json_t *value = json_object_get (row, ctx->names[j]);
        if (!value) {
            s_fail (ctx, "JSON input: row %zu has no column '%s'", r + 1, ctx->names[j]);
            return -1;
        }
        if (s_number (value, r, ctx->names[j], out + j, ctx) != 0)
            return -1;
    }
    const char *key;
    json_t *value;
    json_object_foreach (row, key, value)
    {
        size_t j = 0;
        while (j < ctx->n_names && strcmp (ctx->names[j], key) != 0)
            j++;
        if (j == ctx->n_names)
            s_note_dropped (ctx, key);
    }
    return 0;
}

//  Row R given as an array of COLS numbers.
static int
s_array_row (json_t *row, size_t r, size_t cols, float *out, s_ctx_t *ctx)
{
    if (!json_is_array (row) || json_array_size (row) != cols) {
        s_fail (ctx, "JSON input: row %zu is not an array of %zu numbers like row 1", r + 1, cols);
        return -1;
    }
    char column[32];
    for (size_t j = 0; j < cols; j++) {
        snprintf (column, sizeof column, "%zu", j + 1);
        if (s_number (json_array_get (row, j), r, column, out + j, ctx) != 0)
            return -1;
    }
    return 0;
}

//  ROWS (arrays or objects) into a new tensor.
static maas_tensor_t *
s_fill (json_t *rows, s_ctx_t *ctx)
{
    json_t *first = json_array_get (rows, 0);
    bool objects = json_is_object (first);
    size_t n = json_array_size (rows);
    size_t cols = objects ? ctx->n_names : json_array_size (first);
    if (objects && !ctx->names) {
        s_object_row (first, 0, NULL, ctx);    //  says why
        return NULL;
    }
    if (n == 0 || (!objects && !json_is_array (first)))
        return s_fail (ctx, "JSON input: no rows of numbers found");
    maas_tensor_t *x = cols ? maas_tensor_new (n, cols) : NULL;
    if (!x)
        return s_fail (ctx, "JSON input: %zu rows of %zu values: empty or too large", n, cols);
    for (size_t r = 0; r < n; r++) {
        json_t *row = json_array_get (rows, r);
        float *out = x->data + r * cols;
        int rc = -1;
        if (!objects)
            rc = s_array_row (row, r, cols, out, ctx);
        else if (json_is_object (row))
            rc = s_object_row (row, r, out, ctx);
        else
            s_fail (ctx, "JSON input: row %zu is not an object like row 1", r + 1);
        if (rc != 0) {
            maas_tensor_destroy (&x);
            return NULL;
        }
    }
    return x;
}

maas_tensor_t *
maas_json_rows_parse (const char *text, size_t size, const char *const *names, size_t n_names,
                      char *dropped, size_t dropped_size, char *err, size_t err_size)
{
    s_ctx_t ctx = {.names = names,
                   .n_names = n_names,
                   .dropped = dropped,
                   .dropped_size = dropped_size,
                   .err = err,
                   .err_size = err_size};
    if (dropped && dropped_size)
        *dropped = '\0';
    json_t *docs = s_load_all (text, size, &ctx);
    json_t *rows = docs ? s_rows_of (docs, &ctx) : NULL;
    maas_tensor_t *x = rows ? s_fill (rows, &ctx) : NULL;
    json_decref (rows);
    json_decref (docs);
    return x;
}
