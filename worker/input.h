/*  input.h: an infer job's input, decoded and checked before it may join a
 *  batch: the shape matches the model, every value is finite. Formats are
 *  in docs/inference.md. */
#ifndef MAAS_WORKER_INPUT_H
#define MAAS_WORKER_INPUT_H

#include "err.h"
#include "tensor.h"

#include <msgpack.h>
#include <stddef.h>

//  Largest input payload accepted, bytes.
#define MAAS_INPUT_MAX_BYTES ((size_t) 256 << 20)

//  Decode PAYLOAD (SIZE bytes) for a model taking COLS features into a new
//  rows × COLS tensor in *OUT (caller destroys). PARAMS are the job's
//  params (see infer.h: any key but "shape" is an error). With "shape":
//  [rows, cols] the payload is raw little-endian float32 bytes; otherwise
//  it is msgpack: an array of rows (arrays of numbers) or one flat array
//  (a single row). Returns 0, or -1 with a reason in ERR:
//  "expected 30 features, got 29", "row 2 column 5 is not a finite
//  number", "input: shape 3x4 needs 48 bytes, payload has 40"; *BAD_ROW
//  is then the 1-based row at fault, 0 when the fault is not one row's.
int maas_input_decode (const msgpack_object *params, const void *payload, size_t size, size_t cols,
                       maas_tensor_t **out, size_t *bad_row, maas_err_t *err);

//  First non-finite value of X (rows × cols) reported in ERR as "row R
//  column C is not a finite number" (1-based). Returns R, or 0 when all
//  are finite.
size_t maas_input_check_finite (const float *x, size_t rows, size_t cols, maas_err_t *err);

#endif
