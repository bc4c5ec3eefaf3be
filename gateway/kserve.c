/*  kserve.c: KServe v2 / Open Inference Protocol: server metadata, health,
 *  model metadata and readiness, and infer with JSON or binary tensors
 *  (FP32; FP64, BOOL and integer types converted when exact enough). */
#include "config.h"
#include "gateway.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

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
              size_t body_size, const char *name, const gw_model_t *model, uint64_t version)
{
    char err[512];
    size_t rows = 0;
    float *x = NULL;
    if (gw_v2_input (request, bin, bin_size, body_size, model->inputs, &x, &rows, err, sizeof err)
        != 0)
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
                      http->body_size - json_size, http->body_size, name, &model, model.version);
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
