/*  signature.h: what a model version says about its inputs and outputs
 *  besides its weights: class labels, the output tensor's name, and the
 *  declared input scaling applied before the network (docs/model-format.md,
 *  "Signature"). Kept by maas_model_t; stored as optional top-level keys. */
#ifndef MAAS_SIGNATURE_H
#define MAAS_SIGNATURE_H

#include "err.h"
#include "export.h"

#include "codec.h"
#include "model.h"

#include <msgpack.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

#define MAAS_SIGNATURE_LABEL_MAX   256         //  bytes in a class label
#define MAAS_SIGNATURE_NAME_MAX    256         //  bytes in the output name
#define MAAS_SIGNATURE_OUTPUT      "output"    //  output name when none is stored
#define MAAS_SIGNATURE_LABELS_TEXT 65536       //  bytes of a "--labels a,b,c" list

//  The signature's part of a model, owned by the model (model.c).
typedef struct _maas_signature_t maas_signature_t;

//  New, empty signature (no labels, output "output", scale 1). NULL if out
//  of memory.
MAAS_EXPORT maas_signature_t *maas_signature_new (void);
MAAS_EXPORT void maas_signature_destroy (maas_signature_t **self_p);

//  ---------------------------------------------------------------------------
//  On a model

//  Classes the model's output stands for: 2 for one sigmoid unit (negative,
//  positive), the units for softmax or several sigmoid units, 0 for a
//  regression.
MAAS_EXPORT size_t maas_model_classes (const maas_model_t *self);
//  Set the class labels, one per class (copied). 0, or -1 with ERR when the
//  model is a regression, COUNT is not maas_model_classes, a label is empty,
//  longer than MAAS_SIGNATURE_LABEL_MAX or repeated.
MAAS_EXPORT int maas_model_set_labels (maas_model_t *self, const char *const *labels, size_t count,
                                       maas_err_t *err);
//  Split TEXT ("setosa,versicolor,virginica") at commas and set them.
MAAS_EXPORT int maas_model_set_labels_text (maas_model_t *self, const char *text, maas_err_t *err);
//  The stored labels (borrowed, maas_model_classes of them), or NULL.
MAAS_EXPORT const char *const *maas_model_labels (const maas_model_t *self);
//  Label of class K (asserted < classes): the stored one, else K in
//  decimal written into BUF.
MAAS_EXPORT const char *maas_model_label (const maas_model_t *self, size_t k, char buf[24]);
//  The output tensor's name: stored (from Keras or ONNX), else "output".
MAAS_EXPORT const char *maas_model_output_name (const maas_model_t *self);
//  0, or -1 with ERR when NAME is empty, too long or holds a control byte.
MAAS_EXPORT int maas_model_set_output_name (maas_model_t *self, const char *name, maas_err_t *err);
//  The declared input scaling: every input value is multiplied by it before
//  the network (and its standardisation) sees it; 1 when none.
MAAS_EXPORT double maas_model_input_scale (const maas_model_t *self);
//  0, or -1 with ERR unless SCALE is finite and > 0 and the model has
//  float32-representable rows after scaling (1e-30 .. 1e30).
MAAS_EXPORT int maas_model_set_input_scale (maas_model_t *self, double scale, maas_err_t *err);

//  ---------------------------------------------------------------------------
//  The format (model.c calls these)

//  Top-level keys the signature adds to the model map (0 to 3).
MAAS_EXPORT size_t maas_signature_keys (const maas_signature_t *self);
//  The format version the signature needs: 2 with an input scale, else 1.
MAAS_EXPORT unsigned maas_signature_format (const maas_signature_t *self);
//  Pack those keys: "output_name", "labels", "input_scale". 0 or -1.
MAAS_EXPORT int maas_signature_pack (const maas_signature_t *self, msgpack_packer *pk);
//  Bytes the packed keys take, about (for the encoder's estimate).
MAAS_EXPORT size_t maas_signature_size (const maas_signature_t *self);
//  Read the keys from TOP into MODEL's signature, the blob being of format
//  FORMAT. 0, or -1 with ERR ("model: labels: 2 labels for 3 classes ...").
MAAS_EXPORT int maas_signature_decode (maas_model_t *model, maas_codec_map_t *top, unsigned format,
                                       maas_err_t *err);
//  The model's signature (borrowed; model.c keeps it, never NULL).
MAAS_EXPORT maas_signature_t *maas_model_signature (maas_model_t *self);
MAAS_EXPORT const maas_signature_t *maas_model_signature_const (const maas_model_t *self);

#ifdef __cplusplus
}
#endif

#endif
