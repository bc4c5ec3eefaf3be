/*  submit.h: the SUBMIT the gateway sends for a batch of float32 rows. What
 *  comes back is read with libmaas's shared/wire/infer.h (maas_infer_result_*),
 *  the one parser of an infer RESULT. */
#ifndef GW_SUBMIT_H
#define GW_SUBMIT_H

#include "maas.h"

#include <stddef.h>
#include <stdint.h>

//  Submit ROWS × COLS floats of X to NAME@VERSION on CLIENT, untracked and
//  ephemeral (an HTTP caller retries; nothing needs keeping in Redis), not
//  to start after DEADLINE_MS (wall clock). FN(ARG) gets the outcome. ID
//  gets the job id. 0, or -1 with maas_client_error.
int gw_infer_submit (maas_client_t *client, const char *name, uint64_t version, const float *x,
                     size_t rows, size_t cols, int64_t deadline_ms, maas_result_fn *fn, void *arg,
                     char id[MAAS_PROTO_ID_MAX + 1]);
//  The same, asking for POST's output and top_k (the model's class labels
//  with the result, for :classify and KServe's classification).
int gw_infer_submit_post (maas_client_t *client, const char *name, uint64_t version, const float *x,
                          size_t rows, size_t cols, const maas_infer_params_t *post,
                          int64_t deadline_ms, maas_result_fn *fn, void *arg,
                          char id[MAAS_PROTO_ID_MAX + 1]);

//  The same as an explain job with PARAMS: the rows travel as msgpack
//  rows, as every explain job's do (shared/wire/explain.h).
int gw_explain_submit (maas_client_t *client, const char *name, uint64_t version, const float *x,
                       size_t rows, size_t cols, const maas_explain_params_t *params,
                       int64_t deadline_ms, maas_result_fn *fn, void *arg,
                       char id[MAAS_PROTO_ID_MAX + 1]);

#endif
