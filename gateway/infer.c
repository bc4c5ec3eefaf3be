/*  infer.c: infer job SUBMIT and RESULT for the gateway (see infer.h; the
 *  layout is the worker's: params {"shape": [rows, cols]}, payload the rows
 *  as little-endian float32; RESULT version, rows, outputs, values,
 *  classes). */
#include "infer.h"

#include <stdlib.h>
#include <string.h>

int
gw_infer_submit (maas_client_t *client, const char *name, uint64_t version, const float *x,
                 size_t rows, size_t cols, int64_t deadline_ms, maas_result_fn *fn, void *arg,
                 char id[MAAS_PROTO_ID_MAX + 1])
{
    msgpack_sbuffer params;
    maas_infer_params_pack (&params, rows, cols);
    maas_submit_t spec = {.kind = "infer",
                          .model = name,
                          .version = (int64_t) version,
                          .deadline_ms = deadline_ms,
                          .untracked = true,
                          .ephemeral = true,
                          .params = params.data,
                          .params_size = params.size};
    size_t bytes = rows * cols * 4;
    uint8_t *payload = malloc (bytes ? bytes : 1);
    int rc = -1;
    if (payload) {
        maas_codec_f32_to_le (payload, x, rows * cols);
        rc = maas_client_submit (client, &spec, payload, bytes, fn, arg, id);
    }
    free (payload);
    msgpack_sbuffer_destroy (&params);
    return rc;
}

static int
s_classes (const msgpack_object *array, gw_infer_output_t *out)
{
    if (array->type != MSGPACK_OBJECT_ARRAY || array->via.array.size != out->rows)
        return -1;
    out->classes = malloc ((out->rows ? out->rows : 1) * sizeof *out->classes);
    if (!out->classes)
        return -1;
    for (size_t r = 0; r < out->rows; r++) {
        const msgpack_object *item = &array->via.array.ptr[r];
        if (item->type != MSGPACK_OBJECT_POSITIVE_INTEGER)
            return -1;
        out->classes[r] = (int64_t) item->via.u64;
    }
    return 0;
}

static int
s_fields (maas_codec_map_t *map, gw_infer_output_t *out)
{
    uint64_t rows, outputs;
    const void *values;
    size_t size;
    if (maas_codec_map_uint64 (map, "version", &out->version)
        || maas_codec_map_uint64 (map, "rows", &rows)
        || maas_codec_map_uint64 (map, "outputs", &outputs)
        || maas_codec_map_bin (map, "values", &values, &size))
        return -1;
    if (size != rows * outputs * 4) {
        snprintf (map->err, sizeof map->err, "result: values do not fill rows x outputs");
        return -1;
    }
    out->rows = (size_t) rows;
    out->outputs = (size_t) outputs;
    out->values = malloc (size ? size : 1);
    if (!out->values) {
        snprintf (map->err, sizeof map->err, "result: out of memory");
        return -1;
    }
    maas_codec_f32_from_le (out->values, values, rows * outputs);
    const msgpack_object *classes = maas_codec_map_find (map, "classes");
    if (classes && s_classes (classes, out) != 0) {
        snprintf (map->err, sizeof map->err, "result: 'classes' is not one integer per row");
        return -1;
    }
    return 0;
}

int
gw_infer_decode (const maas_result_t *result, gw_infer_output_t *out, char *err, size_t err_size)
{
    memset (out, 0, sizeof *out);
    msgpack_unpacked top;
    msgpack_unpacked_init (&top);
    maas_codec_map_t map;
    int rc = maas_codec_unpack (result->data, result->size, 0, &top, err, err_size);
    if (rc == 0
        && (maas_codec_map_init (&map, &top.data, "result") != 0 || s_fields (&map, out) != 0)) {
        snprintf (err, err_size, "%s", map.err);
        gw_infer_output_clear (out);
        rc = -1;
    }
    msgpack_unpacked_destroy (&top);
    return rc;
}

void
gw_infer_output_clear (gw_infer_output_t *out)
{
    free (out->values);
    free (out->classes);
    memset (out, 0, sizeof *out);
}
