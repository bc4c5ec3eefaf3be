/*  tfs.c: TensorFlow Serving REST: predict (row and columnar), classify,
 *  regress, model status, metadata and the model list. Labels are maas
 *  aliases; the one input tensor is "x", the one output "y". */
#include "gateway.h"

#include <ctype.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

//  A parsed /v1/models path.
typedef struct {
    char name[MAAS_REGISTRY_NAME_MAX + 1];    //  "" when none
    char ref[MAAS_REGISTRY_NAME_MAX + 1];     //  version digits, label, or "" (latest)
    char verb[16];                            //  predict, classify, regress, metadata, ""
} s_path_t;

//  Copy up to a '/' or ':' of *P into OUT; advance *P. -1 if empty/too long.
static int
s_segment (const char **p, char *out, size_t size)
{
    size_t len = strcspn (*p, "/:");
    if (len == 0 || len >= size)
        return -1;
    memcpy (out, *p, len);
    out[len] = 0;
    *p += len;
    return 0;
}

static int
s_parse (const char *url, s_path_t *path, char *err, size_t err_size)
{
    memset (path, 0, sizeof *path);
    const char *p = url + strlen ("/v1/models");
    if (*p == 0)
        return 0;
    if (*p++ != '/' || s_segment (&p, path->name, sizeof path->name) != 0)
        goto malformed;
    bool version = strncmp (p, "/versions/", 10) == 0;
    if (version || strncmp (p, "/labels/", 8) == 0) {
        p += version ? 10 : 8;
        if (s_segment (&p, path->ref, sizeof path->ref) != 0)
            goto malformed;
        for (const char *c = path->ref; version && *c; c++)
            if (!isdigit ((unsigned char) *c)) {
                snprintf (err, err_size, "Failed to convert version: %s", path->ref);
                return -1;
            }
    }
    if (*p == ':' || strcmp (p, "/metadata") == 0)
        snprintf (path->verb, sizeof path->verb, "%s", p + 1);
    else if (*p)
        goto malformed;
    return 0;
malformed:
    snprintf (err, err_size, "Malformed request: %s", url);
    return -1;
}

//  -- status, metadata, list

static void
s_status (gw_req_t *req, const s_path_t *path)
{
    gw_req_set_route (req, GW_ROUTE_TF_STATUS);
    maas_registry_t *registry = gw_models_registry (gw_req_models (req));
    uint64_t *versions = NULL, one = 0;
    size_t count = 0;
    if (path->ref[0]) {
        gw_model_t model;
        if (!gw_req_model (req, path->name, path->ref, &model, ""))
            return;
        one = model.version;
        count = 1;
    }
    else if (maas_registry_versions (registry, path->name, &versions, &count) != 0) {
        gw_req_error (req, (unsigned) gw_models_status (gw_req_models (req)),
                      "Could not find any versions of model %s: %s", path->name,
                      maas_registry_error (registry));
        return;
    }
    gw_buf_t buf;
    gw_buf_init (&buf);
    gw_buf_puts (&buf, "{\"model_version_status\":[");
    for (size_t i = 0; i < count; i++)
        gw_buf_printf (&buf,
                       "%s{\"version\":\"%" PRIu64 "\",\"state\":\"AVAILABLE\",\"status\":"
                       "{\"error_code\":\"OK\",\"error_message\":\"\"}}",
                       i ? "," : "", versions ? versions[count - 1 - i] : one);
    gw_buf_puts (&buf, "]}");
    free (versions);
    gw_req_json (req, 200, &buf);
}

static void
s_tensor_info (gw_buf_t *buf, const char *name, size_t size)
{
    gw_buf_printf (buf,
                   "\"%s\":{\"dtype\":\"DT_FLOAT\",\"tensor_shape\":{\"dim\":[{\"size\":\"-1\","
                   "\"name\":\"\"},{\"size\":\"%zu\",\"name\":\"\"}],\"unknown_rank\":false},"
                   "\"name\":\"%s:0\"}",
                   name, size, name);
}

static void
s_metadata (gw_req_t *req, const s_path_t *path)
{
    gw_req_set_route (req, GW_ROUTE_TF_METADATA);
    gw_model_t model;
    if (!gw_req_model (req, path->name, path->ref, &model, ""))
        return;
    gw_buf_t buf;
    gw_buf_init (&buf);
    gw_buf_puts (&buf, "{\"model_spec\":{\"name\":");
    gw_json_str (&buf, path->name);
    gw_buf_printf (&buf,
                   ",\"signature_name\":\"\",\"version\":\"%" PRIu64 "\"},\"metadata\":"
                   "{\"signature_def\":{\"signature_def\":{\"serving_default\":{\"inputs\":{",
                   model.version);
    s_tensor_info (&buf, "x", model.inputs);
    gw_buf_puts (&buf, "},\"outputs\":{");
    s_tensor_info (&buf, "y", model.outputs);
    gw_buf_puts (&buf, "},\"method_name\":\"tensorflow/serving/predict\",\"defaults\":{}}}}");
    char err[512];
    int status =
        gw_models_signature (gw_req_models (req), path->name, model.version, &buf, err, sizeof err);
    gw_buf_puts (&buf, "}}");
    if (status != 0) {
        gw_buf_clear (&buf);
        gw_req_error (req, (unsigned) status, "%s", err);
        return;
    }
    gw_req_json (req, 200, &buf);
}

//  GET /v1/models: every model with its versions and aliases.
static void
s_list (gw_req_t *req)
{
    gw_req_set_route (req, GW_ROUTE_TF_MODELS);
    maas_registry_t *registry = gw_models_registry (gw_req_models (req));
    maas_registry_model_t *models = NULL;
    size_t count = 0;
    if (maas_registry_list (registry, &models, &count) != 0) {
        gw_req_error (req, 503, "%s", maas_registry_error (registry));
        return;
    }
    gw_buf_t buf;
    gw_buf_init (&buf);
    gw_buf_puts (&buf, "{\"models\":[");
    for (size_t i = 0; i < count; i++) {
        gw_buf_puts (&buf, i ? ",{\"name\":" : "{\"name\":");
        gw_json_str (&buf, models[i].name);
        gw_buf_printf (&buf, ",\"latest\":\"%" PRIu64 "\",\"versions\":%zu,\"aliases\":",
                       models[i].latest, models[i].versions);
        gw_json_str (&buf, models[i].aliases);
        gw_buf_puts (&buf, "}");
    }
    gw_buf_puts (&buf, "]}");
    maas_registry_models_free (&models, count);
    gw_req_json (req, 200, &buf);
}

//  -- predict, classify, regress

//  The rows of one instance list: each item a row (an array, or an object
//  {"x": [...]}) or, for a model of one input, a bare number. Floats into
//  *X (malloc'd), *ROWS; *SCALARS when items were bare numbers.
static int
s_rows (const json_t *list, const gw_model_t *model, float **x, size_t *rows, bool *scalars,
        char *err, size_t err_size)
{
    size_t count = 0, i;
    const json_t *item;
    *x = NULL;
    *rows = json_array_size (list);
    *scalars = false;
    json_array_foreach (list, i, item)
    {
        if (json_is_object (item) && json_object_size (item) == 1)
            item = json_object_iter_value (json_object_iter ((json_t *) item));
        *scalars = json_is_number (item);
        size_t before = count;
        if (gw_json_floats (item, x, &count, err, err_size) != 0)
            return -1;
        if (count - before != model->inputs) {
            snprintf (err, err_size, "instance %zu has %zu values, the model takes %zu", i + 1,
                      count - before, model->inputs);
            return -1;
        }
    }
    if (*rows == 0) {
        snprintf (err, err_size, "no instances given");
        return -1;
    }
    return 0;
}

//  The list of rows in BODY for VERB, and the reply style.
static const json_t *
s_list_of_rows (const json_t *body, const char *verb, gw_style_t *style, char *err, size_t err_size)
{
    const json_t *list = NULL;
    if (strcmp (verb, "predict") == 0) {
        list = json_object_get (body, "instances");
        *style = GW_STYLE_TF_PREDICT;
        if (!list && (list = json_object_get (body, "inputs"))) {
            *style = GW_STYLE_TF_COLUMNAR;
            if (json_is_object (list) && json_object_size (list) == 1)
                list = json_object_iter_value (json_object_iter ((json_t *) list));
        }
    }
    else {
        list = json_object_get (body, "examples");
        *style = strcmp (verb, "classify") == 0 ? GW_STYLE_TF_CLASSIFY : GW_STYLE_TF_REGRESS;
    }
    if (!json_is_array (list))
        snprintf (err, err_size, "%s",
                  strcmp (verb, "predict") == 0 ? "Missing 'instances' or 'inputs' key (a list)"
                                                : "Missing 'examples' key (a list)");
    return json_is_array (list) ? list : NULL;
}

//  The model PATH names into *MODEL and the request's JSON body (the caller
//  decrefs), or NULL after answering why not (404, 400).
static json_t *
s_open (gw_req_t *req, const gw_http_t *http, const s_path_t *path, gw_model_t *model)
{
    if (!gw_req_model (req, path->name, path->ref, model, "Servable not found for request: "))
        return NULL;
    json_error_t jerr;
    json_t *body = json_loadb (http->body, http->body_size, 0, &jerr);
    if (!body)
        gw_req_error (req, 400, "JSON Parse error: %s",
                      http->body_size ? jerr.text : "The document is empty");
    return body;
}

static void
s_predict (gw_req_t *req, const gw_http_t *http, const s_path_t *path)
{
    gw_req_set_route (req,
                      strcmp (path->verb, "predict") == 0        ? GW_ROUTE_TF_PREDICT
                          : strcmp (path->verb, "classify") == 0 ? GW_ROUTE_TF_CLASSIFY
                                                                 : GW_ROUTE_TF_REGRESS);
    char err[512];
    gw_model_t model;
    json_t *body = s_open (req, http, path, &model);
    if (!body)
        return;
    gw_reply_spec_t spec = {.scalars = false};
    snprintf (spec.model, sizeof spec.model, "%s", path->name);
    float *x = NULL;
    size_t rows = 0;
    const json_t *list = s_list_of_rows (body, path->verb, &spec.style, err, sizeof err);
    if (!list || s_rows (list, &model, &x, &rows, &spec.scalars, err, sizeof err) != 0)
        gw_req_error (req, 400, "%s", err);
    else
        gw_req_infer (req, path->name, model.version, x, rows, model.inputs, &spec);
    free (x);
    json_decref (body);
}

//  -- explain (KServe v1 shape, docs/http.md)

//  PARAMETERS (an object, or NULL) into *PARAMS for MODEL; -1 with ERR
//  naming the field. Checked here so a bad request is a 400 at once, not
//  a failed job.
static int
s_explain_params (const json_t *parameters, const gw_model_t *model, maas_explain_params_t *params,
                  char *err, size_t err_size)
{
    *params = maas_explain_params_defaults ();
    if (parameters && !json_is_object (parameters)) {
        snprintf (err, err_size, "'parameters' must be an object");
        return -1;
    }
    const char *key;
    const json_t *value;
    json_object_foreach ((json_t *) parameters, key, value)
    {
        if (strcmp (key, "method") == 0) {
            const char *name = json_string_value (value);
            int method = !name                        ? -1
                : strcmp (name, "exact_shapley") == 0 ? MAAS_EXPLAIN_SHAPLEY
                                                      : maas_explain_method_parse (name);
            if (method < 0) {
                snprintf (err, err_size,
                          "parameters.method must be integrated_gradients, "
                          "gradient_x_input or shapley (exact_shapley)");
                return -1;
            }
            params->method = (maas_explain_method_t) method;
        }
        else if (strcmp (key, "n_steps") == 0 || strcmp (key, "steps") == 0) {
            json_int_t steps = json_is_integer (value) ? json_integer_value (value) : 0;
            if (steps < 1 || steps > MAAS_EXPLAIN_STEPS_MAX) {
                snprintf (err, err_size, "parameters.%s must be an integer from 1 to %d", key,
                          MAAS_EXPLAIN_STEPS_MAX);
                return -1;
            }
            params->steps = (size_t) steps;
        }
        else if (strcmp (key, "output_index") == 0 || strcmp (key, "output") == 0) {
            json_int_t output = json_is_integer (value) ? json_integer_value (value) : -1;
            if (output < 0 || (size_t) output >= model->outputs) {
                snprintf (err, err_size,
                          "parameters.%s must be an integer from 0 to %zu (the model has %zu "
                          "outputs)",
                          key, model->outputs - 1, model->outputs);
                return -1;
            }
            params->output = output;
        }
        else if (strcmp (key, "baseline") == 0) {
            size_t count = 0;
            if (gw_json_floats (value, &params->baseline, &count, err, err_size) != 0)
                return -1;
            params->baseline_len = count;
            if (count != model->inputs) {
                snprintf (err, err_size, "parameters.baseline has %zu values, the model takes %zu",
                          count, model->inputs);
                return -1;
            }
        }
        else {
            snprintf (err, err_size,
                      "parameters: unknown key '%s' (method, n_steps, baseline, "
                      "output_index)",
                      key);
            return -1;
        }
    }
    if (params->method == MAAS_EXPLAIN_SHAPLEY && model->inputs > MAAS_EXPLAIN_SHAPLEY_MAX_INPUTS) {
        snprintf (err, err_size, "exact Shapley values need at most %d inputs, the model has %zu",
                  MAAS_EXPLAIN_SHAPLEY_MAX_INPUTS, model->inputs);
        return -1;
    }
    return 0;
}

static void
s_explain (gw_req_t *req, const gw_http_t *http, const s_path_t *path)
{
    gw_req_set_route (req, GW_ROUTE_TF_EXPLAIN);
    char err[512];
    gw_model_t model;
    json_t *body = s_open (req, http, path, &model);
    if (!body)
        return;
    gw_reply_spec_t spec = {
        .style = GW_STYLE_EXPLAIN,
        .feature_names = gw_models_feature_names (gw_req_models (req), path->name, model.version)};
    snprintf (spec.model, sizeof spec.model, "%s", path->name);
    maas_explain_params_t params = maas_explain_params_defaults ();
    float *x = NULL;
    size_t rows = 0;
    const json_t *list = json_object_get (body, "instances");
    if (!json_is_array (list))
        gw_req_error (req, 400, "Missing 'instances' key (a list)");
    else if (s_rows (list, &model, &x, &rows, &spec.scalars, err, sizeof err) != 0
             || s_explain_params (json_object_get (body, "parameters"), &model, &params, err,
                                  sizeof err)
                 != 0)
        gw_req_error (req, 400, "%s", err);
    else
        gw_req_explain (req, path->name, model.version, x, rows, model.inputs, &params, &spec);
    free (spec.feature_names);    //  NULL once gw_req_explain took it
    maas_explain_params_clear (&params);
    free (x);
    json_decref (body);
}

void
gw_tfs_route (gw_req_t *req, const gw_http_t *http)
{
    s_path_t path;
    char err[512];
    bool get = strcmp (http->method, "GET") == 0, post = strcmp (http->method, "POST") == 0;
    if (strncmp (http->url, "/v1/models", 10) != 0
        || s_parse (http->url, &path, err, sizeof err) != 0)
        gw_req_error (req, 400, "%s",
                      strncmp (http->url, "/v1/models", 10) ? "Malformed request" : err);
    else if (get && !path.name[0])
        s_list (req);
    else if (get && !path.verb[0])
        s_status (req, &path);
    else if (get && strcmp (path.verb, "metadata") == 0)
        s_metadata (req, &path);
    else if (post
             && (strcmp (path.verb, "predict") == 0 || strcmp (path.verb, "classify") == 0
                 || strcmp (path.verb, "regress") == 0))
        s_predict (req, http, &path);
    else if (post && strcmp (path.verb, "explain") == 0)
        s_explain (req, http, &path);
    else
        gw_req_error (req, 400, "Malformed request: %s %s", http->method, http->url);
}
