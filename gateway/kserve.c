/*  kserve.c: KServe v2 / Open Inference Protocol: server metadata, health,
 *  model metadata and readiness, and infer with JSON or binary tensors
 *  (FP32; FP64, BOOL and integer types converted when exact enough). */
#include "config.h"
#include "gateway.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

//  A binary tensor element type: its name and size in bytes.
typedef struct {
    const char *name;
    size_t size;
} s_dtype_t;

static const s_dtype_t s_dtypes[] = {{"FP32", 4},   {"FP64", 8},   {"BOOL", 1},   {"INT8", 1},
                                     {"INT16", 2},  {"INT32", 4},  {"INT64", 8},  {"UINT8", 1},
                                     {"UINT16", 2}, {"UINT32", 4}, {"UINT64", 8}, {NULL, 0}};

static const s_dtype_t *
s_dtype (const char *name)
{
    for (const s_dtype_t *t = s_dtypes; name && t->name; t++)
        if (strcmp (t->name, name) == 0)
            return t;
    return NULL;
}

//  One little-endian element of type T at P as a float.
static float
s_element (const s_dtype_t *t, const uint8_t *p)
{
    uint64_t bits = 0;
    for (size_t i = 0; i < t->size; i++)
        bits |= (uint64_t) p[i] << (8 * i);
    char kind = t->name[0];
    if (strcmp (t->name, "FP32") == 0) {
        uint32_t u = (uint32_t) bits;
        float f;
        memcpy (&f, &u, 4);
        return f;
    }
    if (strcmp (t->name, "FP64") == 0) {
        double d;
        memcpy (&d, &bits, 8);
        return (float) d;
    }
    if (kind == 'I') {    //  sign-extend
        int shift = 64 - 8 * (int) t->size;
        return (float) ((int64_t) (bits << shift) >> shift);
    }
    return (float) bits;
}

//  -- small routes

static void
s_simple (gw_req_t *req, gw_route_t route, const char *json)
{
    gw_req_set_route (req, route);
    gw_buf_t buf;
    gw_buf_init (&buf);
    gw_buf_puts (&buf, json);
    gw_req_json (req, 200, &buf);
}

//  /v2/models/NAME[/versions/V][/ready]: metadata or readiness.
static void
s_model (gw_req_t *req, const char *name, const char *ref, bool ready)
{
    gw_req_set_route (req, ready ? GW_ROUTE_V2_READY : GW_ROUTE_V2_MODEL);
    gw_model_t model;
    if (!gw_req_model (req, name, ref, &model, ""))
        return;
    gw_buf_t buf;
    gw_buf_init (&buf);
    gw_buf_puts (&buf, "{\"name\":");
    gw_json_str (&buf, name);
    if (ready)
        gw_buf_puts (&buf, ",\"ready\":true}");
    else
        gw_buf_printf (&buf,
                       ",\"versions\":[\"%" PRIu64 "\"],\"platform\":\"maas_mlp\",\"inputs\":"
                       "[{\"name\":\"x\",\"datatype\":\"FP32\",\"shape\":[-1,%zu]}],\"outputs\":"
                       "[{\"name\":\"y\",\"datatype\":\"FP32\",\"shape\":[-1,%zu]}]",
                       model.version, model.inputs, model.outputs);
    char err[512];
    int status = ready
        ? 0
        : gw_models_signature (gw_req_models (req), name, model.version, &buf, err, sizeof err);
    if (status != 0) {
        gw_buf_clear (&buf);
        gw_req_error (req, (unsigned) status, "%s", err);
        return;
    }
    if (!ready)
        gw_buf_puts (&buf, "}");
    gw_req_json (req, 200, &buf);
}

//  -- infer

//  Rows of the one input: shape [rows, cols] or [cols]. -1 with ERR.
static int
s_shape (const json_t *input, const gw_model_t *model, size_t *rows, char *err, size_t err_size)
{
    const json_t *shape = json_object_get (input, "shape");
    size_t dims = json_array_size (shape);
    json_int_t r = dims == 2 ? json_integer_value (json_array_get (shape, 0)) : 1;
    json_int_t c = json_integer_value (json_array_get (shape, dims - 1));
    if ((dims != 1 && dims != 2) || r < 1 || c < 1) {
        snprintf (err, err_size, "input 'shape' must be [rows, %zu] or [%zu]", model->inputs,
                  model->inputs);
        return -1;
    }
    if ((size_t) c != model->inputs) {
        snprintf (err, err_size, "input shape [%lld, %lld]: the model takes %zu features",
                  (long long) r, (long long) c, model->inputs);
        return -1;
    }
    *rows = (size_t) r;
    return 0;
}

//  The input's values into X (ROWS × INPUTS floats), from "data" or from
//  BIN (BIN_SIZE bytes after the JSON header). -1 with ERR.
static int
s_values (const json_t *input, const s_dtype_t *t, size_t count, const uint8_t *bin,
          size_t bin_size, float **x, char *err, size_t err_size)
{
    const json_t *size =
        json_object_get (json_object_get (input, "parameters"), "binary_data_size");
    if (size) {
        if ((size_t) json_integer_value (size) != count * t->size || bin_size < count * t->size) {
            snprintf (err, err_size, "binary_data_size must be %zu (%zu %s values) and present",
                      count * t->size, count, t->name);
            return -1;
        }
        *x = malloc (count * sizeof **x + 1);
        for (size_t i = 0; *x && i < count; i++)
            (*x)[i] = s_element (t, bin + i * t->size);
        return *x ? 0 : -1;
    }
    size_t got = 0;
    if (gw_json_floats (json_object_get (input, "data"), x, &got, err, err_size) != 0)
        return -1;
    if (got != count) {
        snprintf (err, err_size, "input 'data' has %zu values, its shape needs %zu", got, count);
        return -1;
    }
    return 0;
}

//  Whether the request asks its output as binary data.
static bool
s_binary_out (const json_t *request)
{
    const json_t *all =
        json_object_get (json_object_get (request, "parameters"), "binary_data_output");
    const json_t *out = json_array_get (json_object_get (request, "outputs"), 0);
    const json_t *one = json_object_get (json_object_get (out, "parameters"), "binary_data");
    return one ? json_is_true (one) : json_is_true (all);
}

//  The classification extension: outputs[0].parameters.classification K
//  asks each row's K most probable classes; 0 when not asked. (A K that
//  is not a positive count is sent on as too many, and refused by the
//  worker with its reason.)
static size_t
s_classification (const json_t *request)
{
    const json_t *out = json_array_get (json_object_get (request, "outputs"), 0);
    const json_t *k = json_object_get (json_object_get (out, "parameters"), "classification");
    json_int_t value = json_integer_value (k);
    if (!k)
        return 0;
    return value > 0 && value <= MAAS_INFER_OUTPUTS_MAX ? (size_t) value : MAAS_INFER_OUTPUTS_MAX;
}

static void
s_infer_json (gw_req_t *req, const json_t *request, const uint8_t *bin, size_t bin_size,
              const char *name, const gw_model_t *model, uint64_t version)
{
    char err[512];
    const json_t *input = json_array_get (json_object_get (request, "inputs"), 0);
    const char *dtype = json_string_value (json_object_get (input, "datatype"));
    const s_dtype_t *t = s_dtype (dtype);
    size_t rows = 0;
    float *x = NULL;
    if (json_array_size (json_object_get (request, "inputs")) != 1)
        gw_req_error (req, 400, "'inputs' must hold one tensor (the model has one input)");
    else if (!t)
        gw_req_error (req, 400, "input datatype '%s' does not convert to FP32",
                      dtype ? dtype : "(none)");
    else if (s_shape (input, model, &rows, err, sizeof err) != 0
             || s_values (input, t, rows * model->inputs, bin, bin_size, &x, err, sizeof err) != 0)
        gw_req_error (req, 400, "%s", err);
    else {
        const char *id = json_string_value (json_object_get (request, "id"));
        size_t top_k = s_classification (request);
        gw_reply_spec_t spec = {.style = top_k               ? GW_STYLE_V2_CLASSIFY
                                    : s_binary_out (request) ? GW_STYLE_V2_BINARY
                                                             : GW_STYLE_V2_JSON,
                                .id = id ? strdup (id) : NULL,
                                .top_k = top_k};
        snprintf (spec.model, sizeof spec.model, "%s", name);
        gw_req_infer (req, name, version, x, rows, model->inputs, &spec);
        free (spec.id);
    }
    free (x);
}

static void
s_infer (gw_req_t *req, const gw_http_t *http, const char *name, const char *ref)
{
    gw_req_set_route (req, GW_ROUTE_V2_INFER);
    gw_model_t model;
    if (!gw_req_model (req, name, ref, &model, ""))
        return;
    size_t json_size = http->body_size;
    if (http->header_length) {
        char *end;
        unsigned long long n = strtoull (http->header_length, &end, 10);
        if (*end || n > http->body_size) {
            gw_req_error (req, 400,
                          "Inference-Header-Content-Length %s: not a size within the body",
                          http->header_length);
            return;
        }
        json_size = (size_t) n;
    }
    json_error_t jerr;
    json_t *request = json_loadb (http->body, json_size, 0, &jerr);
    if (!request)
        gw_req_error (req, 400, "JSON Parse error: %s", jerr.text);
    else
        s_infer_json (req, request, (const uint8_t *) http->body + json_size,
                      http->body_size - json_size, name, &model, model.version);
    json_decref (request);
}

//  /v2/models/NAME[/versions/V][/ready|/infer]
static void
s_models (gw_req_t *req, const gw_http_t *http, const char *rest)
{
    char name[MAAS_REGISTRY_NAME_MAX + 1], ref[MAAS_REGISTRY_NAME_MAX + 1] = "";
    size_t len = strcspn (rest, "/");
    if (len == 0 || len >= sizeof name) {
        gw_req_error (req, 400, "Malformed request: %s", http->url);
        return;
    }
    snprintf (name, sizeof name, "%.*s", (int) len, rest);
    rest += len;
    if (strncmp (rest, "/versions/", 10) == 0) {
        rest += 10;
        len = strcspn (rest, "/");
        snprintf (ref, sizeof ref, "%.*s", (int) (len < sizeof ref ? len : 0), rest);
        rest += len;
    }
    bool get = strcmp (http->method, "GET") == 0;
    if (get && !*rest)
        s_model (req, name, ref, false);
    else if (get && strcmp (rest, "/ready") == 0)
        s_model (req, name, ref, true);
    else if (strcmp (http->method, "POST") == 0 && strcmp (rest, "/infer") == 0)
        s_infer (req, http, name, ref);
    else
        gw_req_error (req, 400, "Malformed request: %s %s", http->method, http->url);
}

void
gw_kserve_route (gw_req_t *req, const gw_http_t *http)
{
    const char *url = http->url;
    bool get = strcmp (http->method, "GET") == 0;
    if (get && strcmp (url, "/v2") == 0)
        s_simple (req, GW_ROUTE_V2_SERVER,
                  "{\"name\":\"maas\",\"version\":\"" PACKAGE_VERSION
                  "\",\"extensions\":[\"binary_tensor_data\"]}");
    else if (get && strcmp (url, "/v2/health/live") == 0)
        s_simple (req, GW_ROUTE_V2_HEALTH, "{\"live\":true}");
    else if (get && strcmp (url, "/v2/health/ready") == 0) {
        maas_registry_model_t *models = NULL;
        size_t count = 0;
        if (maas_registry_list (gw_models_registry (gw_req_models (req)), &models, &count) == 0) {
            maas_registry_models_free (&models, count);
            s_simple (req, GW_ROUTE_V2_HEALTH, "{\"ready\":true}");
        }
        else {
            gw_req_set_route (req, GW_ROUTE_V2_HEALTH);
            gw_req_error (req, 503, "not ready: model registry unreachable");
        }
    }
    else if (strncmp (url, "/v2/models/", 11) == 0)
        s_models (req, http, url + 11);
    else
        gw_req_error (req, 400, "Malformed request: %s %s", http->method, url);
}
