/*  import_onnx.c: ONNX models whose graph is a chain of dense layers (Gemm,
 *  or MatMul + Add) and activations, read with the protobuf-c code
 *  generated at build time from Debian's onnx.proto (shared/onnx.pb-c.c). */
#include "export_onnx.h"
#include "import_int.h"
#include "onnx.pb-c.h"
#include "signature.h"

#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_OPSET_MIN 9
#define S_OPSET_MAX 17

static const char s_supported[] = "Gemm, MatMul, Add, Sub, Div, Mul, Relu, Sigmoid, Tanh, "
                                  "Softmax, Flatten, Identity, Dropout, Constant are";

//  The walk down the graph's chain of nodes.
typedef struct {
    const Onnx__GraphProto *graph;    //  borrowed from the unpacked model
    int64_t opset;                    //  default domain's opset
    const char *current;              //  tensor flowing down the chain
    bool bias_open;                   //  the last layer has no bias yet (an Add may give it)
    bool act_done;                    //  the last layer's activation is set
    size_t pos;                       //  node index, for messages
    const Onnx__NodeProto *node;      //  node being read
    maas_import_net_t *net;           //  what is being built
} s_onnx_t;

//  Report a problem with the current node. Returns -1.
static int
s_refuse (s_onnx_t *o, maas_err_code_t code, const char *why)
{
    return maas_import_fail (o->net->err, code, "node %zu '%s' (%s): %s", o->pos,
                             o->node->name ? o->node->name : "",
                             o->node->op_type ? o->node->op_type : "", why);
}

//  true if node N is a Constant of the default domain.
static bool
s_is_constant (const Onnx__NodeProto *n)
{
    return n->op_type && strcmp (n->op_type, "Constant") == 0
        && (!n->domain || !*n->domain || strcmp (n->domain, "ai.onnx") == 0);
}

//  The tensor of a Constant node whose output is NAME (PyTorch writes a
//  scalar in forward, such as x * (1/255), so), or NULL.
static const Onnx__TensorProto *
s_constant (const Onnx__GraphProto *g, const char *name)
{
    for (size_t i = 0; i < g->n_node; i++) {
        const Onnx__NodeProto *n = g->node[i];
        if (!s_is_constant (n) || n->n_output != 1 || strcmp (n->output[0], name) != 0)
            continue;
        for (size_t k = 0; k < n->n_attribute; k++)
            if (n->attribute[k]->name && strcmp (n->attribute[k]->name, "value") == 0)
                return n->attribute[k]->t;
    }
    return NULL;
}

//  The initializer named NAME, or the tensor of the Constant node of that
//  output; NULL if neither.
static const Onnx__TensorProto *
s_initializer (const s_onnx_t *o, const char *name)
{
    for (size_t i = 0; name && i < o->graph->n_initializer; i++)
        if (o->graph->initializer[i]->name && strcmp (o->graph->initializer[i]->name, name) == 0)
            return o->graph->initializer[i];
    return name ? s_constant (o->graph, name) : NULL;
}

//  Attribute NAME of the current node, or NULL.
static const Onnx__AttributeProto *
s_attr (const s_onnx_t *o, const char *name)
{
    for (size_t i = 0; i < o->node->n_attribute; i++)
        if (o->node->attribute[i]->name && strcmp (o->node->attribute[i]->name, name) == 0)
            return o->node->attribute[i];
    return NULL;
}

static int64_t
s_attr_int (const s_onnx_t *o, const char *name, int64_t fallback)
{
    const Onnx__AttributeProto *a = s_attr (o, name);
    return a && a->has_i ? a->i : fallback;
}

static float
s_attr_float (const s_onnx_t *o, const char *name, float fallback)
{
    const Onnx__AttributeProto *a = s_attr (o, name);
    return a && a->has_f ? a->f : fallback;
}

//  The floats of the initializer named by input I of the node, as a
//  ROWS × COLS matrix (a vector is 1 × n), into *OUT (caller frees). 0, or
//  -1 with the error set.
static int
s_tensor (s_onnx_t *o, size_t i, size_t *rows, size_t *cols, float **out)
{
    const Onnx__TensorProto *t = i < o->node->n_input ? s_initializer (o, o->node->input[i]) : NULL;
    if (!t)
        return s_refuse (o, MAAS_ERR_INPUT,
                         "its weights are not a graph initializer or Constant value");
    if (t->data_type != ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT || t->n_external_data
        || (t->has_data_location
            && t->data_location == ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL))
        return s_refuse (o, MAAS_ERR_INPUT, "a weight is not float32 data held in the file");
    if (t->n_dims > 2 || (t->n_dims >= 1 && (t->dims[0] < 1 || t->dims[0] > MAAS_MLP_MAX_UNITS))
        || (t->n_dims == 2 && (t->dims[1] < 1 || t->dims[1] > MAAS_MLP_MAX_UNITS)))
        return s_refuse (o, MAAS_ERR_INPUT,
                         "a weight has more than 2 dimensions or one over 65536");
    *rows = t->n_dims == 2 ? (size_t) t->dims[0] : 1;
    *cols = t->n_dims == 2 ? (size_t) t->dims[1] : t->n_dims == 1 ? (size_t) t->dims[0] : 1;
    size_t count = *rows * *cols;
    bool raw = t->has_raw_data && t->raw_data.len;
    if ((raw && t->raw_data.len != count * 4) || (!raw && t->n_float_data != count))
        return s_refuse (o, MAAS_ERR_INPUT, "a weight holds more or fewer values than its shape");
    if (maas_import_net_reserve (o->net, count, o->node->op_type) != 0)
        return -1;
    if (!(*out = malloc (count * sizeof **out)))
        return maas_import_fail (o->net->err, MAAS_ERR_NOMEM, "out of memory");
    for (size_t k = 0; k < count && raw; k++) {
        const uint8_t *b = t->raw_data.data + 4 * k;    //  little-endian on any host
        uint32_t bits = b[0] | (uint32_t) b[1] << 8 | (uint32_t) b[2] << 16 | (uint32_t) b[3] << 24;
        memcpy (*out + k, &bits, 4);
    }
    if (!raw)
        memcpy (*out, t->float_data, count * sizeof **out);
    return 0;
}

//  B (rows × cols) transposed into a new array; frees B. NULL if out of memory.
static float *
s_transpose (float *b, size_t rows, size_t cols)
{
    float *t = malloc (rows * cols * sizeof *t);
    for (size_t i = 0; t && i < rows; i++)
        for (size_t j = 0; j < cols; j++)
            t[j * rows + i] = b[i * cols + j];
    free (b);
    return t;
}

//  Input I of the node as a bias of UNITS values (a scalar broadcasts),
//  scaled by SCALE, into *OUT. 0 or -1.
static int
s_bias (s_onnx_t *o, size_t i, size_t units, float scale, float **out)
{
    size_t rows, cols;
    float *c = NULL;
    if (s_tensor (o, i, &rows, &cols, &c) != 0)
        return -1;
    if (rows != 1 || (cols != units && cols != 1)) {
        free (c);
        return s_refuse (o, MAAS_ERR_INPUT, "the bias is not a vector of the layer's units");
    }
    *out = cols == units ? c : realloc (c, units * sizeof *c);
    if (!*out) {
        free (c);
        return maas_import_fail (o->net->err, MAAS_ERR_NOMEM, "out of memory");
    }
    for (size_t k = cols; k < units; k++)
        (*out)[k] = (*out)[0];
    for (size_t k = 0; k < units && scale != 1.0f; k++)
        (*out)[k] *= scale;
    return 0;
}

static const char s_after_scaling[] =
    "the output scaling (Mul, then Add) must come after the last layer";

//  A dense layer from a Gemm (Y = alpha·A·B' + beta·C) or a MatMul.
static int
s_dense (s_onnx_t *o, bool gemm)
{
    if (gemm && s_attr_int (o, "transA", 0) != 0)
        return s_refuse (o, MAAS_ERR_INPUT,
                         "transA=1 would transpose the rows (not a dense layer)");
    size_t rows, cols, width = maas_import_net_width (o->net);
    float *w = NULL, *b = NULL;
    if (o->net->target_std)
        return s_refuse (o, MAAS_ERR_INPUT, s_after_scaling);
    if (s_tensor (o, 1, &rows, &cols, &w) != 0)
        return -1;
    if (gemm && s_attr_int (o, "transB", 0) != 0) {
        w = s_transpose (w, rows, cols);
        size_t swap = rows;
        rows = cols;
        cols = swap;
    }
    float alpha = gemm ? s_attr_float (o, "alpha", 1.0f) : 1.0f;
    for (size_t k = 0; w && alpha != 1.0f && k < rows * cols; k++)
        w[k] *= alpha;
    int rc = w ? 0 : maas_import_fail (o->net->err, MAAS_ERR_NOMEM, "out of memory");
    if (rc == 0 && width && rows != width)
        rc = s_refuse (o, MAAS_ERR_INPUT, "its weights' rows do not match the width before it");
    if (rc == 0 && gemm && o->node->n_input > 2 && *o->node->input[2])
        rc = s_bias (o, 2, cols, s_attr_float (o, "beta", 1.0f), &b);
    if (rc != 0) {
        free (w);
        return -1;
    }
    o->bias_open = !b;
    o->act_done = false;
    return maas_import_net_add (o->net, rows, cols, MAAS_ACT_LINEAR, &w, &b);
}

//  Index of the node's input that is not the chain's current tensor (for
//  Add, Sub, Div: the other one must be an initializer), or -1.
static int
s_other_input (const s_onnx_t *o)
{
    if (o->node->n_input != 2)
        return -1;
    if (strcmp (o->node->input[0], o->current) == 0)
        return 1;
    return strcmp (o->node->input[1], o->current) == 0 ? 0 : -1;
}

//  Add: the bias of a layer that has none yet (MatMul + Add), or the mean
//  of an output scaling after its Mul.
static int
s_add (s_onnx_t *o)
{
    maas_import_net_t *net = o->net;
    int other = s_other_input (o);
    bool shift = net->target_std && !net->target_mean;
    if ((!o->bias_open || o->act_done) && !shift)
        other = -1;
    if (other < 0)
        return s_refuse (o, MAAS_ERR_INPUT,
                         "an Add is read only as the bias of a MatMul or Gemm without one, or "
                         "as the mean after an output scaling's Mul");
    float *b = NULL;
    if (s_bias (o, (size_t) other, net->specs[net->n_layers - 1].units, 1.0f, &b) != 0)
        return -1;
    if (shift) {
        net->target_mean = b;
        return 0;
    }
    free (net->biases[net->n_layers - 1]);
    net->biases[net->n_layers - 1] = b;
    o->bias_open = false;
    return 0;
}

//  Mul before the first layer and its standardisation: the model's input
//  scale (maas exports one so), a single positive value.
static int
s_input_scale (s_onnx_t *o)
{
    maas_import_net_t *net = o->net;
    if (net->norm_mean || net->input_scale || s_other_input (o) < 0)
        return s_refuse (o, MAAS_ERR_INPUT,
                         "a Mul before the first layer is read only as the input scale, once, "
                         "before the standardisation");
    size_t rows, cols;
    float *v = NULL;
    if (s_tensor (o, (size_t) s_other_input (o), &rows, &cols, &v) != 0)
        return -1;
    size_t count = rows * cols;
    double scale = v[0];
    free (v);
    if (count != 1)
        return s_refuse (o, MAAS_ERR_INPUT,
                         "a Mul before the first layer is read only as the input scale, by one "
                         "constant value, not a tensor of several");
    if (!isfinite (scale) || scale < 1e-30 || scale > 1e30)
        return s_refuse (o, MAAS_ERR_INPUT, "the input scale must be a number from 1e-30 to 1e30");
    net->input_scale = scale;
    return 0;
}

//  Mul after a linear last layer: the std of an output scaling y' · std +
//  mean (maas exports a regression model's so), positive values.
static int
s_mul (s_onnx_t *o)
{
    maas_import_net_t *net = o->net;
    if (net->n_layers == 0)
        return s_input_scale (o);
    if (net->n_layers == 0 || o->act_done || net->target_std || s_other_input (o) < 0)
        return s_refuse (o, MAAS_ERR_INPUT,
                         "a Mul is read only as the output scaling right after a linear last "
                         "layer");
    float *std = NULL;
    size_t units = net->specs[net->n_layers - 1].units;
    if (s_bias (o, (size_t) s_other_input (o), units, 1.0f, &std) != 0)
        return -1;
    bool positive = true;
    for (size_t k = 0; k < units; k++)
        positive &= std[k] > 0 && std[k] <= 3.4e38f;
    if (!positive) {
        free (std);
        return s_refuse (o, MAAS_ERR_INPUT,
                         "the output scale holds a value that is not "
                         "positive and finite");
    }
    net->target_std = std;
    o->act_done = true;    //  nothing may follow but the Add of the mean
    o->bias_open = false;
    return 0;
}

//  Sub then Div before the first layer: the input standardisation
//  (x - mean) / std that maas stores with a network (and exports so).
static int
s_norm (s_onnx_t *o, bool sub)
{
    maas_import_net_t *net = o->net;
    bool in_place = sub ? !net->norm_mean : net->norm_mean && !net->norm_std;
    if (net->n_layers || s_other_input (o) != 1 || !in_place)
        return s_refuse (o, MAAS_ERR_INPUT,
                         "Sub and Div are read only as (x - mean) / std before the first layer");
    size_t rows, cols;
    float *v = NULL;
    if (s_tensor (o, 1, &rows, &cols, &v) != 0)
        return -1;
    bool fits = rows == 1 && (sub || cols == net->inputs);
    for (size_t k = 0; fits && !sub && k < cols; k++)
        fits = v[k] > 0;
    if (!fits) {
        free (v);
        return s_refuse (o, MAAS_ERR_INPUT,
                         sub ? "the mean is not a vector"
                             : "the std is not a vector of positive values as wide as the mean");
    }
    net->inputs = cols;
    *(sub ? &net->norm_mean : &net->norm_std) = v;
    return 0;
}

//  Relu, Sigmoid, Tanh, Softmax: the activation of the layer before, which
//  must have none yet.
static int
s_activation (s_onnx_t *o, maas_act_t act)
{
    maas_import_net_t *net = o->net;
    if (net->target_std)
        return s_refuse (o, MAAS_ERR_INPUT, s_after_scaling);
    if (net->n_layers == 0 || o->act_done)
        return s_refuse (o, MAAS_ERR_INPUT,
                         "an activation must follow a dense layer without one (maas applies "
                         "one activation per layer)");
    if (act == MAAS_ACT_SOFTMAX) {
        //  Before opset 13 the input is coerced to 2-D at axis (default 1);
        //  from 13 softmax runs along axis (default -1). On a layer's rows
        //  both 1 and -1 mean "over each row".
        int64_t axis = s_attr_int (o, "axis", o->opset < 13 ? 1 : -1);
        if (axis != 1 && axis != -1)
            return s_refuse (o, MAAS_ERR_INPUT,
                             "softmax over another axis than the features (axis 1 or -1)");
    }
    net->specs[net->n_layers - 1].act = act;
    o->act_done = true;
    o->bias_open = false;
    return 0;
}

//  One node of the chain.
static int
s_node (s_onnx_t *o)
{
    static const char *acts[] = {"Relu", "Sigmoid", "Tanh", "Softmax"};
    static const maas_act_t act_of[] = {MAAS_ACT_RELU, MAAS_ACT_SIGMOID, MAAS_ACT_TANH,
                                        MAAS_ACT_SOFTMAX};
    const char *op = o->node->op_type;
    //  protobuf-c leaves an absent proto2 string NULL: a node may lack its op.
    if (!op)
        return s_refuse (o, MAAS_ERR_INPUT, "a node without an op_type");
    if (o->node->domain && *o->node->domain && strcmp (o->node->domain, "ai.onnx") != 0)
        return s_refuse (o, MAAS_ERR_INPUT, "an op of another domain than ai.onnx");
    if (o->node->n_input < 1 || o->node->n_output < 1
        || (strcmp (o->node->input[0], o->current) != 0 && strcmp (op, "Add") != 0
            && strcmp (op, "Mul") != 0))
        return s_refuse (o, MAAS_ERR_INPUT,
                         "its input is not the output of the node before (maas reads a chain)");
    if (strcmp (op, "Gemm") == 0 || strcmp (op, "MatMul") == 0)
        return s_dense (o, op[0] == 'G');
    if (strcmp (op, "Add") == 0)
        return s_add (o);
    if (strcmp (op, "Mul") == 0)
        return s_mul (o);
    if (strcmp (op, "Sub") == 0 || strcmp (op, "Div") == 0)
        return s_norm (o, op[0] == 'S');
    for (size_t i = 0; i < sizeof acts / sizeof acts[0]; i++)
        if (strcmp (op, acts[i]) == 0)
            return s_activation (o, act_of[i]);
    if (strcmp (op, "Flatten") == 0)
        return s_attr_int (o, "axis", 1) == 1
            ? 0
            : s_refuse (o, MAAS_ERR_INPUT, "Flatten at another axis than 1");
    if (strcmp (op, "Identity") == 0 || strcmp (op, "Dropout") == 0)
        return 0;
    char why[160];
    snprintf (why, sizeof why, "%s is not supported (%s)", op, s_supported);
    return s_refuse (o, MAAS_ERR_INPUT, why);
}

//  The default domain's opset; -1 with the error set if absent or out of range.
static int64_t
s_opset (const Onnx__ModelProto *model, maas_import_net_t *net)
{
    int64_t opset = -1;
    for (size_t i = 0; i < model->n_opset_import; i++) {
        const Onnx__OperatorSetIdProto *id = model->opset_import[i];
        if (!id->domain || !*id->domain || strcmp (id->domain, "ai.onnx") == 0)
            opset = id->has_version ? id->version : -1;
    }
    if (opset < S_OPSET_MIN || opset > S_OPSET_MAX) {
        maas_import_fail (net->err, MAAS_ERR_INPUT,
                          "ONNX opset %lld is not supported (%d to %d are)", (long long) opset,
                          S_OPSET_MIN, S_OPSET_MAX);
        return -1;
    }
    return opset;
}

//  The one graph input that is not an initializer, or NULL (error set).
static const char *
s_graph_input (s_onnx_t *o)
{
    const char *input = NULL;
    size_t count = 0;
    for (size_t i = 0; i < o->graph->n_input; i++)
        if (!s_initializer (o, o->graph->input[i]->name)) {
            input = o->graph->input[i]->name;
            count++;
        }
    if (count != 1 || !input) {
        maas_import_fail (o->net->err, MAAS_ERR_INPUT,
                          "the graph has %zu inputs besides its initializers (maas reads one)",
                          count);
        return NULL;
    }
    return input;
}

//  Walk the graph's nodes, in order, as one chain from input to output.
static int
s_graph (s_onnx_t *o)
{
    const Onnx__GraphProto *g = o->graph;
    if (g->n_node > MAAS_IMPORT_LAYERS_MAX)
        return maas_import_fail (o->net->err, MAAS_ERR_INPUT, "more than %d nodes",
                                 MAAS_IMPORT_LAYERS_MAX);
    if (!(o->current = s_graph_input (o)))
        return -1;
    snprintf (o->net->input_name, sizeof o->net->input_name, "%s", o->current);
    for (o->pos = 0; o->pos < g->n_node; o->pos++) {
        o->node = g->node[o->pos];
        //  A Constant is not part of the chain: the node reading it finds
        //  its value as it finds an initializer's.
        if (s_is_constant (o->node))
            continue;
        if (s_node (o) != 0)
            return -1;
        o->current = o->node->output[0];
    }
    if (g->n_output != 1 || !g->output[0]->name || strcmp (g->output[0]->name, o->current) != 0)
        return maas_import_fail (o->net->err, MAAS_ERR_INPUT,
                                 "the graph's one output is not the end of its chain of nodes");
    snprintf (o->net->output_name, sizeof o->net->output_name, "%s", g->output[0]->name);
    if (o->net->norm_mean && !o->net->norm_std)
        return maas_import_fail (o->net->err, MAAS_ERR_INPUT,
                                 "a Sub of the input without the Div of a standardisation");
    size_t outputs = maas_import_net_width (o->net);
    if (o->net->target_std && !o->net->target_mean
        && !(o->net->target_mean = calloc (outputs, sizeof (float))))
        return maas_import_fail (o->net->err, MAAS_ERR_NOMEM, "out of memory");
    return 0;
}

//  The input scale maas wrote exactly in the metadata, when it is the one
//  the graph's Mul holds (rounded to float32): a double such as 1/255 then
//  comes back bit for bit. A value that disagrees (an edited graph) is
//  ignored: the graph is what runs.
static void
s_exact_scale (const Onnx__ModelProto *model, maas_import_net_t *net)
{
    for (size_t i = 0; i < model->n_metadata_props; i++) {
        const Onnx__StringStringEntryProto *p = model->metadata_props[i];
        if (!p->key || !p->value || strcmp (p->key, MAAS_EXPORT_ONNX_SCALE_KEY) != 0)
            continue;
        char *end;
        double exact = strtod (p->value, &end);
        if (*p->value && !*end && isfinite (exact) && exact >= 1e-30 && exact <= 1e30
            && (float) exact == (float) net->input_scale)
            net->input_scale = exact;
    }
}

int
maas_import_onnx (const void *data, size_t size, maas_import_net_t *net)
{
    Onnx__ModelProto *model = onnx__model_proto__unpack (NULL, size, data);
    if (!model || !model->graph) {
        if (model)
            onnx__model_proto__free_unpacked (model, NULL);
        return maas_import_fail (net->err, MAAS_ERR_INPUT,
                                 "not a Keras .h5, .keras or ONNX model file (no HDF5 or zip "
                                 "signature, and not an ONNX protobuf)");
    }
    s_onnx_t o = {.graph = model->graph, .net = net, .opset = s_opset (model, net)};
    snprintf (net->format, sizeof net->format, "onnx opset %lld", (long long) o.opset);
    int rc = o.opset < 0 ? -1 : s_graph (&o);
    if (rc == 0 && net->input_scale)
        s_exact_scale (model, net);
    onnx__model_proto__free_unpacked (model, NULL);
    return rc;
}
