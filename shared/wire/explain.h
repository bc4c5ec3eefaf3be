/*  explain.h: what an explain job carries and answers (docs/models.md,
 *  "Explanations"): per-feature attributions of a network's outputs for
 *  rows of input, by integrated gradients, gradient × input or exact
 *  Shapley values. Params and RESULT are packed and parsed here, and the
 *  attributions computed here, so the worker and every reader agree. */
#ifndef MAAS_EXPLAIN_H
#define MAAS_EXPLAIN_H

#include "export.h"

#include "mlp.h"
#include "protocol.h"

#include <msgpack.h>
#include <stddef.h>
#include <stdint.h>

#define MAAS_EXPLAIN_STEPS_DEFAULT      50      //  integrated gradients' steps
#define MAAS_EXPLAIN_STEPS_MAX          4096    //  most steps a job may ask for
#define MAAS_EXPLAIN_SHAPLEY_MAX_INPUTS 14      //  exact Shapley: 2^n coalitions
#define MAAS_EXPLAIN_OUTPUT_ALL         (-1)    //  attribute every output
//  Rows pushed through the network at once: a batch of rows × steps (or
//  rows × 2^inputs) is cut into chunks of whole rows holding about this many.
#define MAAS_EXPLAIN_BLOCK_ROWS         16384

typedef enum {
    MAAS_EXPLAIN_INTEGRATED_GRADIENTS,    //  complete, error reported (default)
    MAAS_EXPLAIN_GRADIENT_X_INPUT,        //  one gradient, x · ∂f/∂x; not complete
    MAAS_EXPLAIN_SHAPLEY,                 //  exact, ≤ 14 inputs
    MAAS_EXPLAIN_METHOD_COUNT
} maas_explain_method_t;

//  Name of a method ("integrated_gradients"), and back; -1 if unknown.
MAAS_EXPORT const char *maas_explain_method_name (maas_explain_method_t method);
MAAS_EXPORT int maas_explain_method_parse (const char *name);

//  ---------------------------------------------------------------------------
//  Params: {"method": "integrated_gradients", "steps": 50, "baseline":
//  [floats], "output": 0}, every key optional; the payload is msgpack rows
//  as for infer. No other key is accepted.

typedef struct {
    maas_explain_method_t method;    //  how to attribute
    size_t steps;                    //  integrated gradients' steps, 1 .. STEPS_MAX
    float *baseline;                 //  the absent input, owned; NULL: the model's mean
    size_t baseline_len;             //  floats in BASELINE
    int64_t output;                  //  output to attribute, or MAAS_EXPLAIN_OUTPUT_ALL
} maas_explain_params_t;

//  Defaults: integrated gradients, 50 steps, the model's mean, every output.
MAAS_EXPORT maas_explain_params_t maas_explain_params_defaults (void);
//  Pack PARAMS as a params map into PK. 0, or -1 if the packer failed.
MAAS_EXPORT int maas_explain_params_pack (const maas_explain_params_t *params, msgpack_packer *pk);
//  Read OBJ (a job's params: NULL, or a map) into PARAMS (which then owns a
//  baseline; maas_explain_params_clear frees it). Returns 0, or -1 with ERR
//  ("params: unknown key 'step' (an explain job's params hold method,
//  steps, baseline, output)", "params: 'method' must be one of ...").
MAAS_EXPORT int maas_explain_params_decode (maas_explain_params_t *params,
                                            const msgpack_object *obj, maas_err_t *err);
//  Free the baseline; PARAMS back to the defaults. Safe twice.
MAAS_EXPORT void maas_explain_params_clear (maas_explain_params_t *params);

//  ---------------------------------------------------------------------------
//  The result. Arrays are row-major; attributions are rows × inputs ×
//  outputs (output fastest), the others rows × outputs, where outputs
//  counts the outputs attributed (1 when params named one).

typedef struct {
    char model[MAAS_PROTO_MODEL_MAX + 1];    //  model name
    uint64_t version;                        //  the version that ran
    maas_explain_method_t method;            //  how
    size_t steps;                            //  integrated gradients' steps (0 for others)
    size_t rows;                             //  input rows
    size_t inputs;                           //  features per row
    size_t outputs;                          //  outputs attributed
    int64_t output;                          //  the output attributed, or OUTPUT_ALL
    float *attributions;                     //  rows × inputs × outputs
    float *instance_output;                  //  f(x): rows × outputs
    float *baseline_output;                  //  f(baseline): rows × outputs
    float *approximation_error;              //  |Σ attributions − (f(x) − f(baseline))|
    float *baseline;                         //  inputs floats: the baseline used
    int64_t compute_us;                      //  time spent computing
} maas_explain_result_t;

//  Explain ROWS rows of X (rows × inputs floats, raw features) under MLP
//  with PARAMS into RESULT, whose arrays are then allocated and owned
//  (maas_explain_result_clear frees them; model and version are left for
//  the caller). Integrated gradients run each chunk of rows as one forward
//  and one backward pass per output over rows × steps rows; Shapley runs
//  2^inputs coalitions per row in one forward pass. Returns 0, or -1 with
//  ERR ("exact Shapley values need at most 14 inputs, the model has 30",
//  "baseline has 3 values, the model takes 4 features", "output 2 is out of
//  range: the model has 1 output", "row 2 column 5 is not a finite
//  number", out of memory).
MAAS_EXPORT int maas_explain_run (const maas_mlp_t *mlp, const maas_explain_params_t *params,
                                  const float *x, size_t rows, maas_explain_result_t *result,
                                  maas_err_t *err);

//  Pack RESULT (arrays borrowed) as the RESULT payload map. 0, or -1.
MAAS_EXPORT int maas_explain_result_pack (const maas_explain_result_t *result, msgpack_packer *pk);
//  Pack the RESULT header's meta: version, compute_us. 0, or -1.
MAAS_EXPORT int maas_explain_meta_pack (const maas_explain_result_t *result, msgpack_packer *pk);
//  Parse a RESULT payload of SIZE bytes into RESULT (arrays allocated and
//  owned). Every key is required; sizes must agree. Returns 0, or -1 with
//  ERR ("result: key 'attributions' is missing", "result: 'attributions'
//  holds 40 bytes for 1 rows × 4 inputs × 2 outputs").
MAAS_EXPORT int maas_explain_result_parse (maas_explain_result_t *result, const void *data,
                                           size_t size, maas_err_t *err);
//  Free the arrays; RESULT is zeroed. Safe twice.
MAAS_EXPORT void maas_explain_result_clear (maas_explain_result_t *result);

#endif
