/*  infer.h: the gateway's whole knowledge of an infer job's wire form: the
 *  SUBMIT it sends for a batch of float32 rows and what it reads back from
 *  the RESULT. Kept in one file so moving to shared/infer is one change. */
#ifndef GW_INFER_H
#define GW_INFER_H

#include "maas.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

//  A decoded infer RESULT payload. VALUES and CLASSES are owned
//  (gw_infer_output_clear).
typedef struct {
    uint64_t version;    //  model version that ran
    size_t rows;         //  rows predicted
    size_t outputs;      //  values per row
    float *values;       //  rows × outputs, host order
    int64_t *classes;    //  rows predicted classes, or NULL (regression)
} gw_infer_output_t;

//  Submit ROWS × COLS floats of X to NAME@VERSION on CLIENT, untracked and
//  ephemeral (an HTTP caller retries; nothing needs keeping in Redis), not
//  to start after DEADLINE_MS (wall clock). FN(ARG) gets the outcome. ID
//  gets the job id. 0, or -1 with maas_client_error.
int gw_infer_submit (maas_client_t *client, const char *name, uint64_t version, const float *x,
                     size_t rows, size_t cols, int64_t deadline_ms, maas_result_fn *fn, void *arg,
                     char id[MAAS_PROTO_ID_MAX + 1]);
//  Decode a succeeded RESULT's payload into OUT. -1 with ERR when it is not
//  an infer result.
int gw_infer_decode (const maas_result_t *result, gw_infer_output_t *out, char *err,
                     size_t err_size);
void gw_infer_output_clear (gw_infer_output_t *out);

#endif
