/*  export_onnx.c: write a maas model as an ONNX ModelProto through the
 *  protobuf-c code generated from onnx.proto. Every message lives in one
 *  allocation (s_export_t) and initializers point at the model's floats, so
 *  nothing is copied before packing. */
#include "export_onnx.h"
#include "onnx.pb-c.h"
#include "signature.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

//  Nodes and initializers at most: the input scale's Mul, Sub and Div,
//  then a Gemm and an activation per layer, then Mul and Add.
#define S_MAX  (5 + 2 * MAAS_MLP_MAX_LAYERS)
#define S_NAME 40

typedef struct {
    Onnx__NodeProto node[S_MAX];                       //  the graph's nodes, in order
    Onnx__NodeProto *node_p[S_MAX];                    //  pointers to them, as protobuf-c wants
    char *node_in[S_MAX][3];                           //  each node's inputs (borrowed names)
    char *node_out[S_MAX][1];                          //  each node's output
    char out_name[S_MAX][S_NAME];                      //  node output names
    Onnx__AttributeProto attr[S_MAX];                  //  one attribute per node at most
    Onnx__AttributeProto *attr_p[S_MAX];               //  pointers to them
    size_t n_node;                                     //  nodes used
    Onnx__TensorProto init[S_MAX];                     //  initializers
    Onnx__TensorProto *init_p[S_MAX];                  //  pointers to them
    int64_t dims[S_MAX][2];                            //  their shapes
    char init_name[S_MAX][S_NAME];                     //  their names
    size_t n_init;                                     //  initializers used
    Onnx__ValueInfoProto io[2];                        //  graph input and output
    Onnx__ValueInfoProto *io_p[2];                     //  pointers to them
    Onnx__TypeProto type[2];                           //  their types
    Onnx__TypeProto__Tensor tensor[2];                 //  float tensors
    Onnx__TensorShapeProto shape[2];                   //  [batch, width]
    Onnx__TensorShapeProto__Dimension dim[2][2];       //  batch (symbolic) and width
    Onnx__TensorShapeProto__Dimension *dim_p[2][2];    //  pointers to them
    Onnx__GraphProto graph;                            //  the graph
    Onnx__OperatorSetIdProto opset;                    //  default domain, opset 13
    Onnx__OperatorSetIdProto *opset_p;                 //  pointer to it
    Onnx__ModelProto model;                            //  the whole model
    char input[MAAS_MODEL_META_STR_MAX + 1];           //  graph input name
    float scale;                                       //  the input scale's initializer value
    Onnx__StringStringEntryProto meta;                 //  MAAS_EXPORT_ONNX_SCALE_KEY, exact
    Onnx__StringStringEntryProto *meta_p;              //  pointer to it
    char meta_value[32];                               //  the scale as %.17g
} s_export_t;

//  Add initializer NAME holding DATA (ROWS × COLS; ROWS 0: a vector).
//  Returns its name (owned by X).
static char *
s_init (s_export_t *x, const char *name, const float *data, size_t rows, size_t cols)
{
    Onnx__TensorProto *t = &x->init[x->n_init];
    onnx__tensor_proto__init (t);
    snprintf (x->init_name[x->n_init], S_NAME, "%s", name);
    t->name = x->init_name[x->n_init];
    t->has_data_type = 1;
    t->data_type = ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT;
    t->dims = x->dims[x->n_init];
    t->n_dims = rows ? 2 : 1;
    t->dims[0] = (int64_t) (rows ? rows : cols);
    t->dims[1] = (int64_t) cols;
    t->n_float_data = (rows ? rows : 1) * cols;
    t->float_data = (float *) data;    //  packed as little-endian floats, not modified
    x->init_p[x->n_init] = t;
    return x->init_name[x->n_init++];
}

//  Append node OP reading INPUT (and A, B when not NULL) into a new output
//  named NAME. Returns the node (owned by X).
static Onnx__NodeProto *
s_node (s_export_t *x, const char *op, const char *name, const char *input, char *a, char *b)
{
    Onnx__NodeProto *n = &x->node[x->n_node];
    onnx__node_proto__init (n);
    snprintf (x->out_name[x->n_node], S_NAME, "%s", name);
    char **in = x->node_in[x->n_node];
    in[0] = (char *) input;
    in[1] = a;
    in[2] = b;
    n->input = in;
    n->n_input = b ? 3 : a ? 2 : 1;
    x->node_out[x->n_node][0] = x->out_name[x->n_node];
    n->output = x->node_out[x->n_node];
    n->n_output = 1;
    n->name = x->out_name[x->n_node];
    n->op_type = (char *) op;
    x->node_p[x->n_node++] = n;
    return n;
}

//  Give node N the integer attribute NAME = VALUE.
static void
s_int_attr (s_export_t *x, Onnx__NodeProto *n, const char *name, int64_t value)
{
    size_t k = (size_t) (n - x->node);
    onnx__attribute_proto__init (&x->attr[k]);
    x->attr[k].name = (char *) name;
    x->attr[k].has_type = 1;
    x->attr[k].type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT;
    x->attr[k].has_i = 1;
    x->attr[k].i = value;
    x->attr_p[k] = &x->attr[k];
    n->attribute = &x->attr_p[k];
    n->n_attribute = 1;
}

//  Graph input (I 0) or output (1) NAME: a float tensor [batch, WIDTH].
static void
s_io (s_export_t *x, int i, const char *name, size_t width)
{
    onnx__value_info_proto__init (&x->io[i]);
    onnx__type_proto__init (&x->type[i]);
    onnx__type_proto__tensor__init (&x->tensor[i]);
    onnx__tensor_shape_proto__init (&x->shape[i]);
    for (int d = 0; d < 2; d++) {
        onnx__tensor_shape_proto__dimension__init (&x->dim[i][d]);
        x->dim_p[i][d] = &x->dim[i][d];
    }
    x->dim[i][0].value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM;
    x->dim[i][0].dim_param = "batch";
    x->dim[i][1].value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE;
    x->dim[i][1].dim_value = (int64_t) width;
    x->shape[i].dim = x->dim_p[i];
    x->shape[i].n_dim = 2;
    x->tensor[i].has_elem_type = 1;
    x->tensor[i].elem_type = ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT;
    x->tensor[i].shape = &x->shape[i];
    x->type[i].value_case = ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE;
    x->type[i].tensor_type = &x->tensor[i];
    x->io[i].name = (char *) name;
    x->io[i].type = &x->type[i];
    x->io_p[i] = &x->io[i];
}

//  The input scale as a Mul by a one-value initializer, float32 as the
//  worker multiplies. The float loses the double's last bits, so the exact
//  value also goes in the model's metadata for import to read back.
//  Returns the Mul's output.
static const char *
s_scale (s_export_t *x, const maas_model_t *model, const char *current)
{
    double scale = maas_model_input_scale (model);
    x->scale = (float) scale;
    char *init = s_init (x, "input/scale", &x->scale, 0, 1);
    snprintf (x->meta_value, sizeof x->meta_value, "%.17g", scale);
    onnx__string_string_entry_proto__init (&x->meta);
    x->meta.key = MAAS_EXPORT_ONNX_SCALE_KEY;
    x->meta.value = x->meta_value;
    x->meta_p = &x->meta;
    x->model.metadata_props = &x->meta_p;
    x->model.n_metadata_props = 1;
    return s_node (x, "Mul", "input/scaled", current, init, NULL)->output[0];
}

//  The nodes: input scale, standardisation, then per layer Gemm and
//  activation, then the output scaling as Mul and Add (y' · std + mean,
//  rounded twice as the predictor does). The last node's output is renamed
//  after the model's output. Returns it.
static const char *
s_nodes (s_export_t *x, const maas_model_t *model)
{
    const maas_mlp_t *mlp = maas_model_mlp_const (model);
    const char *current = x->input;
    char name[S_NAME];
    size_t inputs = maas_mlp_inputs (mlp);
    if (maas_model_input_scale (model) != 1.0)
        current = s_scale (x, model, current);
    if (maas_mlp_norm_mean (mlp)) {
        char *mean = s_init (x, "norm/mean", maas_mlp_norm_mean (mlp), 0, inputs);
        current = s_node (x, "Sub", "norm/centred", current, mean, NULL)->output[0];
        char *std = s_init (x, "norm/std", maas_mlp_norm_std (mlp), 0, inputs);
        current = s_node (x, "Div", "norm/standardised", current, std, NULL)->output[0];
    }
    for (size_t i = 0; i < maas_mlp_layer_count (mlp); i++) {
        const maas_tensor_t *w = maas_mlp_weights_const (mlp, i), *b = maas_mlp_bias_const (mlp, i);
        maas_act_t act = maas_mlp_layer (mlp, i).act;
        snprintf (name, sizeof name, "layer%zu/weights", i);
        char *wn = s_init (x, name, w->data, w->rows, w->cols);
        snprintf (name, sizeof name, "layer%zu/bias", i);
        char *bn = s_init (x, name, b->data, 0, b->cols);
        snprintf (name, sizeof name, "layer%zu/gemm", i);
        current = s_node (x, "Gemm", name, current, wn, bn)->output[0];
        if (act == MAAS_ACT_LINEAR)
            continue;
        static const char *ops[MAAS_ACT_COUNT] = {NULL, "Relu", "Tanh", "Sigmoid", "Softmax"};
        snprintf (name, sizeof name, "layer%zu/%s", i, maas_act_name (act));
        Onnx__NodeProto *n = s_node (x, ops[act], name, current, NULL, NULL);
        if (act == MAAS_ACT_SOFTMAX)
            s_int_attr (x, n, "axis", -1);
        current = n->output[0];
    }
    size_t outputs = maas_mlp_outputs (mlp);
    if (maas_mlp_target_mean (mlp)) {
        char *std = s_init (x, "target/std", maas_mlp_target_std (mlp), 0, outputs);
        current = s_node (x, "Mul", "target/scaled", current, std, NULL)->output[0];
        char *mean = s_init (x, "target/mean", maas_mlp_target_mean (mlp), 0, outputs);
        current = s_node (x, "Add", "target/shifted", current, mean, NULL)->output[0];
    }
    //  The model's output name (from Keras or ONNX) unless it clashes with
    //  ours ("layerN/...", "norm/...", "target/...") or the input's.
    const char *out = maas_model_output_name (model);
    bool clash = strchr (out, '/') || strcmp (out, x->input) == 0 || strlen (out) >= S_NAME;
    snprintf (x->out_name[x->n_node - 1], S_NAME, "%s", clash ? "output" : out);
    return x->out_name[x->n_node - 1];
}

//  Fill X's model from MODEL.
static void
s_build (s_export_t *x, const maas_model_t *model)
{
    const maas_mlp_t *mlp = maas_model_mlp_const (model);
    const char *input = maas_model_meta_str (model, "input_name");
    //  Our own names start with "norm/", "layerN/" or "target/"; a clash falls back.
    bool clash = !input || !*input || strcmp (input, "output") == 0 || strchr (input, '/');
    snprintf (x->input, sizeof x->input, "%s", clash ? "input" : input);
    onnx__model_proto__init (&x->model);
    onnx__graph_proto__init (&x->graph);
    x->graph.name = "maas";
    const char *output = s_nodes (x, model);
    s_io (x, 0, x->input, maas_mlp_inputs (mlp));
    s_io (x, 1, output, maas_mlp_outputs (mlp));
    x->graph.node = x->node_p;
    x->graph.n_node = x->n_node;
    x->graph.initializer = x->init_p;
    x->graph.n_initializer = x->n_init;
    x->graph.input = &x->io_p[0];
    x->graph.n_input = 1;
    x->graph.output = &x->io_p[1];
    x->graph.n_output = 1;
    onnx__operator_set_id_proto__init (&x->opset);
    x->opset.domain = "";
    x->opset.has_version = 1;
    x->opset.version = MAAS_EXPORT_ONNX_OPSET;
    x->opset_p = &x->opset;
    x->model.has_ir_version = 1;
    x->model.ir_version = MAAS_EXPORT_ONNX_IR;
    x->model.producer_name = "maas";
    x->model.opset_import = &x->opset_p;
    x->model.n_opset_import = 1;
    x->model.graph = &x->graph;
}

int
maas_export_onnx (const maas_model_t *model, uint8_t **data_p, size_t *size_p, maas_err_t *err)
{
    s_export_t *x = calloc (1, sizeof *x);
    uint8_t *data = NULL;
    size_t size = 0;
    if (x) {
        s_build (x, model);
        size = onnx__model_proto__get_packed_size (&x->model);
        data = malloc (size ? size : 1);
    }
    if (data)
        onnx__model_proto__pack (&x->model, data);
    free (x);
    if (!data) {
        if (err) {
            err->code = MAAS_ERR_NOMEM;
            snprintf (err->text, sizeof err->text, "onnx export: out of memory");
        }
        return -1;
    }
    *data_p = data;
    *size_p = size;
    return 0;
}

int
maas_export_onnx_file (const maas_model_t *model, const char *path, maas_err_t *err)
{
    uint8_t *data;
    size_t size;
    if (maas_export_onnx (model, &data, &size, err) != 0)
        return -1;
    int rc = maas_model_write_file (path, data, size, err);
    free (data);
    return rc;
}
