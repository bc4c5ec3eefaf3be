/*  export_onnx.h: a maas model as an ONNX model (opset 13): the input
 *  scale as a Mul, the input standardisation as Sub and Div, each layer a
 *  Gemm and its activation, the output scaling as Mul and Add.
 *  docs/models.md describes the graph; import reads it back exactly. */
#ifndef MAAS_EXPORT_ONNX_H
#define MAAS_EXPORT_ONNX_H

#include "export.h"

#include "model.h"

#include <stddef.h>
#include <stdint.h>

//  The opset and IR version written.
#define MAAS_EXPORT_ONNX_OPSET     13
#define MAAS_EXPORT_ONNX_IR        7
//  Model metadata key holding the input scale exactly ("%.17g"): the
//  graph's Mul holds it as float32, which a double may not round-trip.
#define MAAS_EXPORT_ONNX_SCALE_KEY "maas.input_scale"

//  Encode MODEL as an ONNX ModelProto into *DATA_P (malloc'd, the caller
//  frees) of *SIZE_P bytes. The graph input is the model's "input_name"
//  metadata (else "input"), of shape [batch, inputs]; the output is
//  "output", [batch, outputs]. Weights are float32 initializers, bit for
//  bit the model's; an input scale is a leading Mul by a float32 [1]
//  initializer, "input/scale". Returns 0, or -1 with ERR (may be NULL) set
//  (MAAS_ERR_NOMEM).
MAAS_EXPORT int maas_export_onnx (const maas_model_t *model, uint8_t **data_p, size_t *size_p,
                                  maas_err_t *err);
//  The same, written to PATH (a temporary file renamed into place). 0, or
//  -1 with ERR set (MAAS_ERR_IO names the path).
MAAS_EXPORT int maas_export_onnx_file (const maas_model_t *model, const char *path,
                                       maas_err_t *err);

#endif
