/*  infer.h: what an infer job carries and answers (docs/inference.md): its
 *  params (the input's shape) and its RESULT payload and meta (outputs,
 *  classes, the batch, timings, the version that ran). The worker packs
 *  with this module and every reader parses with it, so they agree. */
#ifndef MAAS_INFER_H
#define MAAS_INFER_H

#include "export.h"

#include "protocol.h"

#include <msgpack.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

//  Most values per row a result may hold.
#define MAAS_INFER_OUTPUTS_MAX 65536

//  ---------------------------------------------------------------------------
//  Params (docs/inference.md): "shape": [rows, cols] when the payload is raw
//  float32 rows (absent for msgpack rows); "output": "probabilities" (the
//  default) or "class" (each row's class label too); "top_k": K, the K
//  most probable classes of each row with their scores. No other key.

//  What a job asks for besides the outputs.
typedef enum {
    MAAS_INFER_PROBABILITIES,    //  values and classes (the default)
    MAAS_INFER_CLASS             //  and each row's class label, and the model's labels
} maas_infer_output_t;

typedef struct {
    size_t rows;                   //  rows in the payload, 0: msgpack rows
    size_t cols;                   //  values per row, 0: msgpack rows
    maas_infer_output_t output;    //  "output"
    size_t top_k;                  //  "top_k", 0: not asked
} maas_infer_params_t;

//  Pack {"shape": [ROWS, COLS]} into SBUF, which this initialises (the
//  caller destroys it). 0, or -1 out of memory.
MAAS_EXPORT int maas_infer_params_pack (msgpack_sbuffer *sbuf, size_t rows, size_t cols);
//  Pack PARAMS (shape when rows > 0, output when not the default, top_k
//  when > 0) into SBUF, which this initialises. 0, or -1 out of memory.
MAAS_EXPORT int maas_infer_params_pack_all (msgpack_sbuffer *sbuf,
                                            const maas_infer_params_t *params);
//  Read OBJ (a job's params: NULL, or a map) into PARAMS. Returns 0, or -1
//  with ERR naming what is wrong ("params: unknown key 'shap' (an infer
//  job's params hold 'shape', 'output', 'top_k')", "params: shape 0x4 is
//  empty or too large", "params: output 'klass' is not probabilities or
//  class").
MAAS_EXPORT int maas_infer_params_decode (maas_infer_params_t *params, const msgpack_object *obj,
                                          maas_err_t *err);

//  ---------------------------------------------------------------------------
//  The result of a succeeded job.

typedef struct {
    char model[MAAS_PROTO_MODEL_MAX + 1];    //  model name
    uint64_t version;                        //  the version that ran
    size_t rows;                             //  input rows
    size_t outputs;                          //  values per row
    float *values;                           //  rows × outputs (see _parse / _pack for ownership)
    int32_t *classes;                        //  rows predicted classes, NULL for regression
    maas_infer_output_t output;              //  CLASS: "labels" (rows) is sent too
    char **class_labels;                     //  n_class_labels names of the classes, or NULL
    size_t n_class_labels;                   //  with output CLASS or top_k: the model's classes
    size_t top_k;                            //  K classes per row in top_*, 0: none
    int32_t *top_classes;                    //  rows × top_k classes, most probable first
    float *top_scores;                       //  rows × top_k their probabilities
    double threshold;      //  binary decision threshold that ran (0 < t < 1), 0: none
    size_t batch_rows;     //  rows of the batch it ran in
    size_t batch_jobs;     //  jobs of that batch
    int64_t queue_us;      //  worker took the job → its batch started
    int64_t compute_us;    //  the batch's forward pass
} maas_infer_result_t;

//  Pack RESULT (values and classes borrowed) as the RESULT payload map.
//  0, or -1 if the packer failed.
MAAS_EXPORT int maas_infer_result_pack (const maas_infer_result_t *result, msgpack_packer *pk);
//  Pack the RESULT header's meta: version, batch_rows, batch_jobs,
//  queue_us, compute_us. 0, or -1.
MAAS_EXPORT int maas_infer_meta_pack (const maas_infer_result_t *result, msgpack_packer *pk);
//  Parse a RESULT payload of SIZE bytes into RESULT, whose values and
//  classes are then allocated and owned (maas_infer_result_clear frees
//  them). Every key is required but "classes"; sizes must agree. Returns 0,
//  or -1 with ERR ("result: key 'rows' is missing", "result: 'values' holds
//  40 bytes for 3 rows × 4 outputs").
MAAS_EXPORT int maas_infer_result_parse (maas_infer_result_t *result, const void *data, size_t size,
                                         maas_err_t *err);
//  The class label of row R of a result holding class_labels, or NULL.
MAAS_EXPORT const char *maas_infer_result_label (const maas_infer_result_t *result, size_t r);
//  Free what _parse allocated; RESULT is zeroed. Safe twice.
MAAS_EXPORT void maas_infer_result_clear (maas_infer_result_t *result);

//  ---------------------------------------------------------------------------
//  A failed job's meta: {"row": ROW}, the 1-based row of the job's input at
//  fault (ROW >= 1), so a client that split a file into jobs can name the
//  file's row.

//  Pack the failure meta for ROW. 0, or -1 if the packer failed.
MAAS_EXPORT int maas_infer_error_meta_pack (size_t row, msgpack_packer *pk);
//  The row a failed RESULT's header (SIZE bytes) names in its meta, or 0
//  when it names none (or the header is unreadable).
MAAS_EXPORT size_t maas_infer_error_row (const void *header, size_t size);

#endif
