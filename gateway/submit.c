/*  submit.c: an infer job's SUBMIT from the gateway (see submit.h): params
 *  {"shape": [rows, cols]} (maas_infer_params_pack), payload the rows as
 *  little-endian float32. */
#include "submit.h"

#include <stdlib.h>

int
gw_infer_submit (maas_client_t *client, const char *name, uint64_t version, const float *x,
                 size_t rows, size_t cols, int64_t deadline_ms, maas_result_fn *fn, void *arg,
                 char id[MAAS_PROTO_ID_MAX + 1])
{
    maas_infer_params_t post = {0};
    return gw_infer_submit_post (client, name, version, x, rows, cols, &post, deadline_ms, fn, arg,
                                 id);
}

int
gw_infer_submit_post (maas_client_t *client, const char *name, uint64_t version, const float *x,
                      size_t rows, size_t cols, const maas_infer_params_t *post,
                      int64_t deadline_ms, maas_result_fn *fn, void *arg,
                      char id[MAAS_PROTO_ID_MAX + 1])
{
    msgpack_sbuffer params;
    maas_infer_params_t asked = *post;
    asked.rows = rows;
    asked.cols = cols;
    maas_infer_params_pack_all (&params, &asked);
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

int
gw_explain_submit (maas_client_t *client, const char *name, uint64_t version, const float *x,
                   size_t rows, size_t cols, const maas_explain_params_t *params,
                   int64_t deadline_ms, maas_result_fn *fn, void *arg,
                   char id[MAAS_PROTO_ID_MAX + 1])
{
    msgpack_sbuffer packed_params, payload;
    msgpack_sbuffer_init (&packed_params);
    msgpack_sbuffer_init (&payload);
    msgpack_packer pk;
    msgpack_packer_init (&pk, &packed_params, msgpack_sbuffer_write);
    int rc = maas_explain_params_pack (params, &pk);
    msgpack_packer_init (&pk, &payload, msgpack_sbuffer_write);
    rc |= maas_codec_pack_rows (&pk, x, rows, cols);
    maas_submit_t spec = {.kind = "explain",
                          .model = name,
                          .version = (int64_t) version,
                          .deadline_ms = deadline_ms,
                          .untracked = true,
                          .ephemeral = true,
                          .params = packed_params.data,
                          .params_size = packed_params.size};
    if (rc == 0)
        rc = maas_client_submit (client, &spec, payload.data, payload.size, fn, arg, id);
    msgpack_sbuffer_destroy (&packed_params);
    msgpack_sbuffer_destroy (&payload);
    return rc;
}
