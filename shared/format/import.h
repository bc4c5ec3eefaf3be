/*  import.h: models from other tools. Reads a Keras 2 HDF5 file
 *  (`model.save('model.h5')`), a Keras 3 `.keras` zip or an ONNX model whose
 *  graph is an MLP into a maas model (docs/models.md says what is accepted
 *  and what is refused). */
#ifndef MAAS_IMPORT_H
#define MAAS_IMPORT_H

#include "export.h"

#include "model.h"

#include <stddef.h>

//  Largest file read (an ONNX file or a .keras zip, and each entry of the
//  zip): the registry's blob limit, plus room for names and configs.
#define MAAS_IMPORT_FILE_MAX   (((size_t) 256 << 20) + ((size_t) 16 << 20))
//  Largest Keras config (JSON text) and layer list read from a file.
#define MAAS_IMPORT_CONFIG_MAX ((size_t) 16 << 20)
#define MAAS_IMPORT_LAYERS_MAX 1024
//  Largest number of weights and biases an import may hold, all layers
//  together: what fits in a registry blob (MAAS_REGISTRY_BLOB_MAX / 4).
#define MAAS_IMPORT_PARAMS_MAX (((size_t) 256 << 20) / 4)

//  Read the model in PATH, whichever of the three formats it is (told by
//  its first bytes: HDF5 signature, zip signature, else ONNX protobuf).
//  Returns a new model (the caller destroys it) whose metadata records
//  where it came from: "import_format" ("keras2 h5", "keras3 h5", "keras3
//  keras", "onnx opset 13"), "import_file" (PATH's last component) and,
//  when the file names it, "input_name" (Keras InputLayer, ONNX graph
//  input). NULL with ERR (may be NULL) set: MAAS_ERR_IO when PATH cannot be
//  read; MAAS_ERR_INPUT past the limits above, when it is none of the
//  formats, for a layer or op maas cannot run, named with its position and
//  the reason ("layer 3 'conv2d': Conv2D is not supported (Dense, Dropout,
//  Activation, InputLayer are)"), or for weights whose shapes do not
//  chain. Not thread-safe with other HDF5 users in the process (Debian's
//  libhdf5 is built without thread safety): calls are serialised inside.
MAAS_EXPORT maas_model_t *maas_model_import_file (const char *path, maas_err_t *err);

//  A short description of MODEL's architecture into OUT: "10-64-64-1
//  relu,relu,sigmoid" (inputs and units, then activations).
MAAS_EXPORT void maas_model_describe (const maas_model_t *model, char *out, size_t size);

#endif
