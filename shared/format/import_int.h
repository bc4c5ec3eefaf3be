/*  import_int.h: what the import readers share (not installed): the network
 *  a reader builds layer by layer, bounded, and its error helper. */
#ifndef MAAS_IMPORT_INT_H
#define MAAS_IMPORT_INT_H

#include "import.h"

#include <stdarg.h>

//  Longest input name kept.
#define MAAS_IMPORT_NAME_MAX 128

//  A network under construction. Layers are appended with their weights;
//  maas_import_net_finish turns it into a model.
typedef struct {
    size_t inputs;                                   //  features per row, 0 until known
    size_t n_layers;                                 //  layers so far
    maas_layer_spec_t specs[MAAS_MLP_MAX_LAYERS];    //  their units and activations
    float *weights[MAAS_MLP_MAX_LAYERS];             //  fan_in × units row-major, owned
    float *biases[MAAS_MLP_MAX_LAYERS];              //  units floats, owned
    float *norm_mean;                                //  inputs floats or NULL, owned
    float *norm_std;                                 //  inputs floats or NULL, owned
    float *target_mean;                              //  outputs floats or NULL, owned
    float *target_std;                               //  outputs floats or NULL, owned
    double input_scale;                              //  inputs are multiplied by it; 0: none
    size_t params;                                   //  floats held so far
    char format[32];                                 //  "keras2 h5", "onnx opset 13"
    char input_name[MAAS_IMPORT_NAME_MAX];           //  "" when the file names none
    char output_name[MAAS_IMPORT_NAME_MAX];          //  the last layer's, the graph output's, or ""
    maas_err_t *err;                                 //  where failures are reported (never NULL)
} maas_import_net_t;

//  Record a failure in ERR (code and printf-style message). Returns -1.
int maas_import_fail (maas_err_t *err, maas_err_code_t code, const char *fmt, ...)
    __attribute__ ((format (printf, 3, 4)));

//  Reserve COUNT more parameters against MAAS_IMPORT_PARAMS_MAX. 0, or -1
//  (MAAS_ERR_INPUT, the message names WHAT).
int maas_import_net_reserve (maas_import_net_t *self, size_t count, const char *what);
//  Append a layer of UNITS outputs and ACT taking *WEIGHTS_P (fan_in ×
//  units, fan_in the previous layer's units or the inputs) and *BIAS_P
//  (units floats, or NULL for zeros), taking ownership of both (the
//  pointers are NULLed, also on failure). The first layer sets the inputs.
//  0, or -1 (too many layers, out of memory).
int maas_import_net_add (maas_import_net_t *self, size_t fan_in, size_t units, maas_act_t act,
                         float **weights_p, float **bias_p);
//  Units of the last layer, or the inputs when there is none yet.
size_t maas_import_net_width (const maas_import_net_t *self);
//  The model built so far (at least one layer), with its import metadata;
//  FILE_NAME is recorded as "import_file". NULL with the error set.
maas_model_t *maas_import_net_finish (maas_import_net_t *self, const char *file_name);
//  Free what the network holds.
void maas_import_net_clear (maas_import_net_t *self);

//  Parse an activation name the way Keras and maas spell them (relu,
//  sigmoid, tanh, softmax, linear); -1 if maas has no such activation.
int maas_import_act (const char *name);

//  The readers, one per format. Each fills NET (whose err is set) and
//  returns 0, or -1 with the error set.
//  DATA is the whole file (SIZE bytes, at most MAAS_IMPORT_FILE_MAX).
int maas_import_keras_h5 (const void *data, size_t size, maas_import_net_t *net);
int maas_import_keras_zip (const void *data, size_t size, maas_import_net_t *net);
int maas_import_onnx (const void *data, size_t size, maas_import_net_t *net);

//  Read all of PATH (at most MAX bytes) into *DATA_P (malloc'd, caller
//  frees) and *SIZE_P. 0, or -1 with ERR set (MAAS_ERR_IO; MAAS_ERR_INPUT
//  when it is too big).
int maas_import_read_file (const char *path, size_t max, uint8_t **data_p, size_t *size_p,
                           maas_err_t *err);

#endif
