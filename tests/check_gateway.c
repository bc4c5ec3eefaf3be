/*  check_gateway.c: maas-gateway as a process in front of the real
 *  maas-broker and maas-worker, with a real redis-server; the test talks
 *  HTTP through libcurl (and raw sockets for a slow client), publishes
 *  through the registry API and compares with the C client, bit for bit. */
#include "support.h"
#include "buf.h"
#include "gateway.h"
#include "submit.h"
#include "maas.h"

#include <arpa/inet.h>
#include <check.h>
#include <curl/curl.h>
#include <hiredis/hiredis.h>
#include <jansson.h>
#include <math.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define S_ROWS   3    //  rows each prediction test sends
#define S_INPUTS 4    //  features of the test models

typedef struct {
    support_site_t site;          //  redis-server, temp dir, endpoints, logs
    char gw_log[256];             //  gateway log (its stdout names the port)
    support_proc_t *broker;       //  the broker
    support_proc_t *worker;       //  the worker
    support_proc_t *gateway;      //  the gateway
    support_proc_t *trainer;      //  a trainer, when a test needs one
    int port;                     //  the gateway's HTTP port
    maas_registry_t *registry;    //  the test's publisher
    maas_client_t *client;        //  the test's C client
} fx_t;

static fx_t fx;

//  -- processes

static void
s_broker_start (void)
{
    const char *extra[] = {"--heartbeat", "100", "--liveness", "10", NULL};
    fx.broker = support_broker_start (fx.site.front, fx.site.back,
                                      support_redis_url (fx.site.redis), extra, fx.site.broker_log);
}

static void
s_worker_start (void)
{
    //  --max-batch-rows 0: every job runs alone, so outputs are bit-exact
    //  whatever else is in flight (OpenBLAS's last bits depend on the batch).
    const char *extra[] = {"--max-batch-rows",
                           "0",
                           "--heartbeat",
                           "100",
                           "--credits",
                           "64",
                           "--max-rows",
                           "4",    //  S_ROWS fit; the errors case sends more
                           NULL};
    fx.worker = support_worker_start (fx.site.back, support_redis_url (fx.site.redis), extra,
                                      fx.site.worker_log);
}

//  Start the gateway with THREADS loops, TIMEOUT request deadline and EXTRA
//  options (NULL-terminated, may be NULL); wait for its port.
static void
s_gateway_start (const char *threads, const char *timeout, const char *const *extra)
{
    const char *args[32] = {"--threads", threads,       "--request-timeout",
                            timeout,     "--log-level", "warn"};
    size_t n = 6;
    for (size_t i = 0; extra && extra[i] && n < 31; i++)
        args[n++] = extra[i];
    fx.gateway =
        support_gateway_start (fx.site.front, support_redis_url (fx.site.redis), args, fx.gw_log);
    fx.port = support_gateway_port (fx.gw_log, fx.gateway);
    ck_assert_msg (fx.port > 0, "gateway did not say its port (log %s)", fx.gw_log);
}

static void
s_setup (void)
{
    memset (&fx, 0, sizeof fx);
    support_site_open (&fx.site, "gateway");
    snprintf (fx.gw_log, sizeof fx.gw_log, "%s/gateway.log", fx.site.dir);
    s_broker_start ();
    s_worker_start ();
    fx.registry = support_registry_new (fx.site.redis);
    fx.client = maas_client_new (fx.site.front, NULL);
    ck_assert_ptr_nonnull (fx.client);
    ck_assert_int_eq (maas_client_ping (fx.client, 5000), 0);
    curl_global_init (CURL_GLOBAL_DEFAULT);
}

static void
s_teardown (void)
{
    maas_client_destroy (&fx.client);
    maas_registry_destroy (&fx.registry);
    //  The gateway must stop cleanly on SIGTERM (under the sanitizers, that
    //  also means no leak and no error while it ran).
    int code = fx.gateway ? support_proc_stop (&fx.gateway) : 0;
    support_proc_stop (&fx.trainer);
    support_proc_stop (&fx.worker);
    support_proc_stop (&fx.broker);
    if (code != 0) {
        char command[600];
        snprintf (command, sizeof command, "tail -n 40 %s >&2", fx.gw_log);
        ck_assert_int_ge (system (command), 0);
    }
    support_site_close (&fx.site);
    curl_global_cleanup ();
    ck_assert_msg (code == 0, "maas-gateway exited %d", code);
}

//  -- models

//  Publish a 4-8-OUTPUTS network (ACT output, weights from SEED) as the
//  next version of NAME, with class LABELS ("a,b,c") and input COLUMNS if
//  not NULL.
static uint64_t
s_publish_with (const char *name, size_t outputs, maas_act_t act, uint64_t seed, const char *labels,
                const char *const *columns)
{
    maas_layer_spec_t layers[] = {{8, MAAS_ACT_TANH}, {outputs, act}};
    maas_model_t *model = support_model_new (S_INPUTS, layers, 2, seed);
    maas_err_t err;
    ck_assert_msg (!labels || maas_model_set_labels_text (model, labels, &err) == 0, "%s",
                   err.text);
    ck_assert (!columns || maas_model_set_columns (model, columns, S_INPUTS) == 0);
    uint64_t version = support_publish_model (fx.registry, name, model);
    maas_model_destroy (&model);
    return version;
}

static uint64_t
s_publish_labelled (const char *name, size_t outputs, maas_act_t act, uint64_t seed,
                    const char *labels)
{
    return s_publish_with (name, outputs, act, seed, labels, NULL);
}

static uint64_t
s_publish (const char *name, size_t outputs, maas_act_t act, uint64_t seed)
{
    return s_publish_with (name, outputs, act, seed, NULL, NULL);
}

static void
s_fill (float *x, size_t n, float seed)
{
    for (size_t i = 0; i < n; i++)
        x[i] = sinf (seed + 0.37f * (float) i);
}

//  What the C client gets for X on NAME@VERSION: COUNT floats into Y. (The
//  job is sent and read as the gateway's submit.c does, which the worker
//  defines: the test compares the HTTP layers, not two encoders.)
static void
s_client_predict (const char *name, uint64_t version, const float *x, size_t rows, float *y,
                  size_t count)
{
    char id[MAAS_PROTO_ID_MAX + 1];
    ck_assert_int_eq (
        gw_infer_submit (fx.client, name, version, x, rows, S_INPUTS, 0, NULL, NULL, id), 0);
    maas_result_t *result = maas_client_wait (fx.client, id, 20000);
    ck_assert_ptr_nonnull (result);
    ck_assert_str_eq (result->status, "succeeded");
    maas_infer_result_t out;
    maas_err_t err;
    ck_assert_msg (maas_infer_result_parse (&out, result->data, result->size, &err) == 0, "%s",
                   err.text);
    ck_assert_uint_eq (out.rows * out.outputs, count);
    memcpy (y, out.values, count * sizeof *y);
    maas_infer_result_clear (&out);
    maas_result_destroy (&result);
}

//  The prediction tests' start: model iris (v1), a gateway, rows X from
//  SEED, the C client's WANT, and X as JSON rows in ROWS.
static void
s_bits_start (float seed, float *x, float *want, gw_buf_t *rows)
{
    uint64_t v = s_publish ("iris", 3, MAAS_ACT_SOFTMAX, 7);
    s_gateway_start ("2", "10000", NULL);
    s_fill (x, S_ROWS * S_INPUTS, seed);
    s_client_predict ("iris", v, x, S_ROWS, want, S_ROWS * 3);
    gw_buf_init (rows);
    gw_json_f32_array (rows, x, S_ROWS * S_INPUTS, S_INPUTS);
}

//  -- HTTP through libcurl

typedef struct {
    long code;           //  HTTP status, 0 if no answer
    gw_buf_t body;       //  response body
    gw_buf_t headers;    //  response header lines
} s_reply_t;

static size_t
s_collect (char *data, size_t size, size_t count, void *arg)
{
    gw_buf_append (arg, data, size * count);
    return size * count;
}

//  An easy handle for METHOD PATH with BODY (SIZE bytes; NULL: none) and
//  HEADERS (NULL-terminated, may be NULL), answering into REPLY.
static CURL *
s_easy (const char *method, const char *path, const char *body, size_t size,
        const char *const *headers, s_reply_t *reply, struct curl_slist **list)
{
    CURL *curl = curl_easy_init ();
    ck_assert_ptr_nonnull (curl);
    char url[512];
    snprintf (url, sizeof url, "http://127.0.0.1:%d%s", fx.port, path);
    memset (reply, 0, sizeof *reply);
    curl_easy_setopt (curl, CURLOPT_URL, url);
    curl_easy_setopt (curl, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt (curl, CURLOPT_TIMEOUT, 30L);
    curl_easy_setopt (curl, CURLOPT_WRITEFUNCTION, s_collect);
    curl_easy_setopt (curl, CURLOPT_WRITEDATA, &reply->body);
    curl_easy_setopt (curl, CURLOPT_HEADERFUNCTION, s_collect);
    curl_easy_setopt (curl, CURLOPT_HEADERDATA, &reply->headers);
    if (body) {
        curl_easy_setopt (curl, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt (curl, CURLOPT_POSTFIELDSIZE, (long) size);
    }
    *list = curl_slist_append (NULL, "Expect:");
    for (size_t i = 0; headers && headers[i]; i++)
        *list = curl_slist_append (*list, headers[i]);
    curl_easy_setopt (curl, CURLOPT_HTTPHEADER, *list);
    return curl;
}

static void
s_http_raw (const char *method, const char *path, const char *body, size_t size,
            const char *const *headers, s_reply_t *reply)
{
    struct curl_slist *list;
    CURL *curl = s_easy (method, path, body, size, headers, reply, &list);
    CURLcode rc = curl_easy_perform (curl);
    ck_assert_msg (rc == CURLE_OK, "%s %s: %s", method, path, curl_easy_strerror (rc));
    curl_easy_getinfo (curl, CURLINFO_RESPONSE_CODE, &reply->code);
    curl_slist_free_all (list);
    curl_easy_cleanup (curl);
}

static void
s_reply_clear (s_reply_t *reply)
{
    gw_buf_clear (&reply->body);
    gw_buf_clear (&reply->headers);
}

//  METHOD PATH with the JSON BODY (NULL: none); assert the status is CODE;
//  the parsed JSON answer (the caller decrefs).
static json_t *
s_http (const char *method, const char *path, const char *body, long code)
{
    s_reply_t reply;
    s_http_raw (method, path, body, body ? strlen (body) : 0, NULL, &reply);
    ck_assert_msg (reply.code == code, "%s %s: %ld, expected %ld: %s", method, path, reply.code,
                   code, reply.body.data ? reply.body.data : "");
    json_error_t err;
    json_t *json = json_loadb (reply.body.data ? reply.body.data : "", reply.body.size, 0, &err);
    ck_assert_msg (json, "%s %s: not JSON (%s): %s", method, path, err.text,
                   reply.body.data ? reply.body.data : "");
    ck_assert_msg (strstr (reply.headers.data, "application/json"), "%s", reply.headers.data);
    s_reply_clear (&reply);
    return json;
}

//  Assert METHOD PATH BODY answers CODE with {"error": "...TEXT..."}.
static void
s_expect_error (const char *method, const char *path, const char *body, long code, const char *text)
{
    json_t *json = s_http (method, path, body, code);
    const char *error = json_string_value (json_object_get (json, "error"));
    ck_assert_msg (error && strstr (error, text), "%s %s: error '%s' lacks '%s'", method, path,
                   error ? error : "(none)", text);
    ck_assert_uint_eq (json_object_size (json), 1);
    json_decref (json);
}

//  Assert the JSON numbers of ARRAY (nested any depth) read as float32
//  equal EXPECTED bit for bit, COUNT of them.
static void
s_assert_bits (const json_t *array, const char *text, const float *expected, size_t count)
{
    (void) array;
    //  Read the numbers from the text itself: jansson's double would round
    //  twice (text → double → float).
    const char *p = text;
    size_t seen = 0;
    while (*p && seen <= count) {
        if (*p == '-' || (*p >= '0' && *p <= '9')) {
            char *end;
            float v = strtof (p, &end);
            ck_assert_int_lt (seen, count);
            uint32_t a, b;
            memcpy (&a, &v, 4);
            memcpy (&b, &expected[seen], 4);
            ck_assert_msg (a == b, "value %zu: %.9g over HTTP, %.9g from the C client", seen,
                           (double) v, (double) expected[seen]);
            seen++;
            p = end;
        }
        else
            p++;
    }
    ck_assert_uint_eq (seen, count);
}

//  The text of the JSON value under KEY in TEXT (for s_assert_bits).
static const char *
s_after (const char *text, const char *key)
{
    const char *at = strstr (text, key);
    ck_assert_msg (at, "'%s' not in %s", key, text);
    return at + strlen (key);
}

//  POST BODY to PATH; 200 and the raw body (the caller frees).
static char *
s_post_text (const char *path, const char *body)
{
    s_reply_t reply;
    s_http_raw ("POST", path, body, strlen (body), NULL, &reply);
    ck_assert_msg (reply.code == 200, "POST %s: %ld %s", path, reply.code,
                   reply.body.data ? reply.body.data : "");
    gw_buf_clear (&reply.headers);
    return gw_buf_take (&reply.body, NULL);
}

//  -- the JSON writer (linked in)

START_TEST (test_f32_shortest)
{
    char text[GW_F32_TEXT_MAX];
    gw_f32_format (0.1f, text);
    ck_assert_str_eq (text, "0.1");
    gw_f32_format (7.6f, text);
    ck_assert_str_eq (text, "7.6");
    gw_f32_format (1.0f, text);
    ck_assert_str_eq (text, "1.0");
    gw_f32_format (-3e38f, text);
    ck_assert_str_eq (text, "-3e+38");
    gw_f32_format (NAN, text);
    ck_assert_str_eq (text, "NaN");
    gw_f32_format (-INFINITY, text);
    ck_assert_str_eq (text, "-Infinity");
    gw_f32_format (0.33333334f, text);    //  needs more than 6 digits, not 9
    ck_assert_str_eq (text, "0.33333334");
    //  Every pattern of a sample reads back exactly, and no shorter %g does.
    for (uint32_t bits = 1; bits < 0x7f800000u; bits += 9973u * 7u) {
        float v, back;
        memcpy (&v, &bits, 4);
        gw_f32_format (v, text);
        back = strtof (text, NULL);
        ck_assert_msg (memcmp (&v, &back, 4) == 0, "%s does not read back", text);
        char shorter[GW_F32_TEXT_MAX];
        snprintf (shorter, sizeof shorter, "%.5g", (double) v);
        if (strtof (shorter, NULL) == v)
            ck_assert_uint_le (strlen (text), strlen (shorter) + 2);
    }
}
END_TEST

//  -- predictions equal the C client's

START_TEST (test_tf_predict_bits)
{
    float x[S_ROWS * S_INPUTS], want[S_ROWS * 3];
    gw_buf_t rows;
    s_bits_start (0.5f, x, want, &rows);
    const char *paths[] = {"/v1/models/iris:predict", "/v1/models/iris/versions/1:predict"};
    for (size_t i = 0; i < 2; i++) {
        char body[2048];
        snprintf (body, sizeof body, "{\"instances\": %s}", rows.data);
        char *text = s_post_text (paths[i], body);
        s_assert_bits (NULL, s_after (text, "\"predictions\":"), want, S_ROWS * 3);
        free (text);
        snprintf (body, sizeof body, "{\"inputs\": {\"x\": %s}}", rows.data);
        text = s_post_text (paths[i], body);
        s_assert_bits (NULL, s_after (text, "\"outputs\":"), want, S_ROWS * 3);
        free (text);
    }
    //  A label is an alias.
    ck_assert_int_eq (maas_registry_alias (fx.registry, "iris", "production", 1), 0);
    gw_buf_t one;
    gw_buf_init (&one);
    gw_json_f32_array (&one, x, S_INPUTS, 0);
    char body[2048];
    snprintf (body, sizeof body, "{\"instances\": [{\"x\": %s}]}", one.data);
    gw_buf_clear (&one);
    char *text = s_post_text ("/v1/models/iris/labels/production:predict", body);
    s_assert_bits (NULL, s_after (text, "\"predictions\":"), want, 3);
    free (text);
    gw_buf_clear (&rows);
}
END_TEST

START_TEST (test_v2_infer_bits)
{
    float x[S_ROWS * S_INPUTS], want[S_ROWS * 3];
    gw_buf_t data;
    s_bits_start (1.5f, x, want, &data);
    //  JSON, FP32 nested data, id echoed.
    char body[4096];
    snprintf (body, sizeof body,
              "{\"id\":\"req-1\",\"inputs\":[{\"name\":\"x\",\"shape\":[%d,%d],\"datatype\":"
              "\"FP32\",\"data\":%s}]}",
              S_ROWS, S_INPUTS, data.data);
    char *text = s_post_text ("/v2/models/iris/versions/1/infer", body);
    json_t *json = json_loads (text, 0, NULL);
    ck_assert_str_eq (json_string_value (json_object_get (json, "id")), "req-1");
    ck_assert_str_eq (json_string_value (json_object_get (json, "model_name")), "iris");
    ck_assert_str_eq (json_string_value (json_object_get (json, "model_version")), "1");
    json_t *out = json_array_get (json_object_get (json, "outputs"), 0);
    ck_assert_str_eq (json_string_value (json_object_get (out, "datatype")), "FP32");
    ck_assert_int_eq (json_integer_value (json_array_get (json_object_get (out, "shape"), 0)),
                      S_ROWS);
    s_assert_bits (NULL, s_after (text, "\"data\":"), want, S_ROWS * 3);
    json_decref (json);
    free (text);
    //  Binary both ways: FP64 in (converted), FP32 out.
    char header[512];
    int hlen = snprintf (header, sizeof header,
                         "{\"inputs\":[{\"name\":\"x\",\"shape\":[%d,%d],\"datatype\":\"FP64\","
                         "\"parameters\":{\"binary_data_size\":%d}}],"
                         "\"outputs\":[{\"name\":\"y\",\"parameters\":{\"binary_data\":true}}]}",
                         S_ROWS, S_INPUTS, S_ROWS * S_INPUTS * 8);
    char bin[sizeof header + S_ROWS * S_INPUTS * 8];
    memcpy (bin, header, (size_t) hlen);
    for (size_t i = 0; i < S_ROWS * S_INPUTS; i++) {
        double d = x[i];
        memcpy (bin + hlen + i * 8, &d, 8);    //  little-endian host
    }
    char length[64];
    snprintf (length, sizeof length, "Inference-Header-Content-Length: %d", hlen);
    const char *headers[] = {"Content-Type: application/octet-stream", length, NULL};
    s_reply_t reply;
    s_http_raw ("POST", "/v2/models/iris/infer", bin, (size_t) hlen + S_ROWS * S_INPUTS * 8,
                headers, &reply);
    ck_assert_msg (reply.code == 200, "%ld %s", reply.code, reply.body.data);
    const char *at = strcasestr (reply.headers.data, "Inference-Header-Content-Length: ");
    ck_assert_ptr_nonnull (at);
    size_t json_len = strtoul (at + 33, NULL, 10);
    ck_assert_uint_eq (reply.body.size, json_len + S_ROWS * 3 * 4);
    ck_assert_ptr_nonnull (strstr (reply.body.data, "\"binary_data_size\":36"));
    ck_assert_int_eq (memcmp (reply.body.data + json_len, want, S_ROWS * 3 * 4), 0);
    s_reply_clear (&reply);
    gw_buf_clear (&data);
}
END_TEST

START_TEST (test_classify_regress)
{
    s_publish ("spam", 1, MAAS_ACT_SIGMOID, 3);
    s_publish ("price", 1, MAAS_ACT_LINEAR, 4);
    s_gateway_start ("1", "10000", NULL);
    const char *example = "{\"examples\": [{\"x\": [0.1, 0.2, 0.3, 0.4]}, {\"x\": [1, 2, 3, 4]}]}";
    json_t *json = s_http ("POST", "/v1/models/spam:classify", example, 200);
    json_t *results = json_object_get (json, "results");
    ck_assert_uint_eq (json_array_size (results), 2);
    json_t *first = json_array_get (results, 0);
    ck_assert_uint_eq (json_array_size (first), 2);
    ck_assert_str_eq (json_string_value (json_array_get (json_array_get (first, 1), 0)), "1");
    double p0 = json_number_value (json_array_get (json_array_get (first, 0), 1));
    double p1 = json_number_value (json_array_get (json_array_get (first, 1), 1));
    ck_assert (fabs (p0 + p1 - 1) < 1e-6);
    json_decref (json);
    json = s_http ("POST", "/v1/models/price:regress", example, 200);
    ck_assert_uint_eq (json_array_size (json_object_get (json, "results")), 2);
    ck_assert (json_is_number (json_array_get (json_object_get (json, "results"), 0)));
    json_decref (json);
    s_expect_error ("POST", "/v1/models/price:classify", example, 400, "classifier");
    //  With labels stored: each class named by them, in the model's order.
    s_publish_labelled ("iris", 3, MAAS_ACT_SOFTMAX, 5, "setosa,versicolor,virginica");
    json = s_http ("POST", "/v1/models/iris:classify", example, 200);
    first = json_array_get (json_object_get (json, "results"), 0);
    ck_assert_uint_eq (json_array_size (first), 3);
    ck_assert_str_eq (json_string_value (json_array_get (json_array_get (first, 0), 0)), "setosa");
    ck_assert_str_eq (json_string_value (json_array_get (json_array_get (first, 2), 0)),
                      "virginica");
    json_decref (json);
    s_publish_labelled ("cancer", 1, MAAS_ACT_SIGMOID, 3, "benign,malignant");
    json = s_http ("POST", "/v1/models/cancer:classify", example, 200);
    first = json_array_get (json_object_get (json, "results"), 0);
    ck_assert_str_eq (json_string_value (json_array_get (json_array_get (first, 1), 0)),
                      "malignant");
    json_decref (json);
    //  The metadata routes carry the signature.
    ck_assert_int_eq (maas_registry_set_threshold (fx.registry, "cancer", 1, 0.25), 0);
    json = s_http ("GET", "/v1/models/cancer/metadata", NULL, 200);
    json_t *sig = json_object_get (json_object_get (json, "metadata"), "maas_signature");
    ck_assert_str_eq (json_string_value (json_array_get (json_object_get (sig, "labels"), 0)),
                      "benign");
    ck_assert_str_eq (json_string_value (json_object_get (sig, "task")), "binary");
    ck_assert (json_number_value (json_object_get (sig, "threshold")) == 0.25);
    ck_assert (json_is_null (json_object_get (sig, "feature_names")));
    json_decref (json);
    //  KServe's classification extension: the top 2 as "p:class:label".
    const char *v2 = "{\"inputs\": [{\"name\": \"x\", \"shape\": [1, 4], \"datatype\": \"FP32\", "
                     "\"data\": [0.1, 0.2, 0.3, 0.4]}], \"outputs\": [{\"name\": \"y\", "
                     "\"parameters\": {\"classification\": 2}}]}";
    json_t *probs = s_http ("POST", "/v1/models/iris:classify", example, 200);
    json = s_http ("POST", "/v2/models/iris/infer", v2, 200);
    ck_assert_str_eq (json_string_value (json_object_get (json, "model_name")), "iris");
    ck_assert (json_string_value (json_object_get (json, "model_version")));
    json_t *out = json_array_get (json_object_get (json, "outputs"), 0);
    ck_assert_str_eq (json_string_value (json_object_get (out, "datatype")), "BYTES");
    ck_assert_int_eq (json_integer_value (json_array_get (json_object_get (out, "shape"), 1)), 2);
    const char *best = json_string_value (json_array_get (json_object_get (out, "data"), 0));
    ck_assert_ptr_nonnull (best);
    static const char *iris_names[] = {"setosa", "versicolor", "virginica"};
    json_t *pairs = json_array_get (json_object_get (probs, "results"), 0);
    size_t top = 0;
    for (size_t k = 1; k < 3; k++)
        if (json_number_value (json_array_get (json_array_get (pairs, k), 1))
            > json_number_value (json_array_get (json_array_get (pairs, top), 1)))
            top = k;
    char want[64];
    snprintf (want, sizeof want, ":%zu:%s", top, iris_names[top]);
    ck_assert_msg (strstr (best, want) && strtod (best, NULL) > 0.0, "%s lacks %s", best, want);
    json_decref (json);
    json_decref (probs);
    s_expect_error ("POST", "/v2/models/iris/infer",
                    "{\"inputs\": [{\"name\": \"x\", \"shape\": [1, 4], \"datatype\": \"FP32\", "
                    "\"data\": [0.1, 0.2, 0.3, 0.4]}], \"outputs\": [{\"name\": \"y\", "
                    "\"parameters\": {\"classification\": 4}}]}",
                    400, "top_k 4 is more than the model's 3 classes");
    json = s_http ("GET", "/v2/models/iris", NULL, 200);
    sig = json_object_get (json, "maas_signature");
    ck_assert_str_eq (json_string_value (json_array_get (json_object_get (sig, "labels"), 1)),
                      "versicolor");
    ck_assert_str_eq (json_string_value (json_object_get (sig, "output_name")), "output");
    ck_assert_ptr_nonnull (json_object_get (json, "outputs"));
    json_decref (json);
}
END_TEST

//  -- explanations (KServe v1 :explain)

//  The same rows explained through the C client (as the gateway submits
//  them) into *OUT (the caller clears it).
static void
s_client_explain (const char *name, const float *x, size_t rows,
                  const maas_explain_params_t *params, maas_explain_result_t *out)
{
    char id[MAAS_PROTO_ID_MAX + 1];
    maas_err_t err;
    ck_assert_int_eq (
        gw_explain_submit (fx.client, name, 1, x, rows, S_INPUTS, params, 0, NULL, NULL, id), 0);
    maas_result_t *result = maas_client_wait (fx.client, id, 20000);
    ck_assert_ptr_nonnull (result);
    ck_assert_msg (strcmp (result->status, "succeeded") == 0, "%s: %s", result->status,
                   result->error ? result->error : "");
    ck_assert_msg (maas_explain_result_parse (out, result->data, result->size, &err) == 0, "%s",
                   err.text);
    maas_result_destroy (&result);
}

//  JSON number VALUE read as the float32 it was written from.
static bool
s_same_f32 (const json_t *value, float want)
{
    float got = (float) json_number_value (value);
    return json_is_number (value) && memcmp (&got, &want, sizeof got) == 0;
}

START_TEST (test_explain)
{
    const char *columns[S_INPUTS] = {"age", "income", "visits", "score"};
    s_publish_with ("spam", 1, MAAS_ACT_SIGMOID, 3, NULL, columns);
    s_publish ("iris", 3, MAAS_ACT_SOFTMAX, 5);
    s_gateway_start ("1", "10000", NULL);
    float x[2 * S_INPUTS] = {0.1f, 0.2f, 0.3f, 0.4f, 1, -2, 3, -4};
    const char *methods[] = {"shapley", "integrated_gradients"};
    for (size_t m = 0; m < 2; m++) {
        char body[512];
        snprintf (body, sizeof body,
                  "{\"instances\": [[0.1, 0.2, 0.3, 0.4], [1, -2, 3, -4]], \"parameters\": "
                  "{\"method\": \"%s\", \"n_steps\": 64}}",
                  methods[m]);
        json_t *json = s_http ("POST", "/v1/models/spam:explain", body, 200);
        maas_explain_params_t params = maas_explain_params_defaults ();
        params.method = m ? MAAS_EXPLAIN_INTEGRATED_GRADIENTS : MAAS_EXPLAIN_SHAPLEY;
        params.steps = 64;
        maas_explain_result_t want;
        s_client_explain ("spam", x, 2, &params, &want);
        json_t *explanations = json_object_get (json, "explanations");
        ck_assert_uint_eq (json_array_size (explanations), 2);
        for (size_t r = 0; r < 2; r++) {
            json_t *one = json_array_get (explanations, r);
            ck_assert_str_eq (json_string_value (json_object_get (one, "method")), methods[m]);
            ck_assert_int_eq (json_integer_value (json_object_get (one, "row")), (json_int_t) r);
            ck_assert (
                s_same_f32 (json_object_get (one, "instance_output"), want.instance_output[r]));
            ck_assert (
                s_same_f32 (json_object_get (one, "baseline_output"), want.baseline_output[r]));
            json_t *attributions = json_object_get (one, "attributions");
            ck_assert_uint_eq (json_array_size (attributions), S_INPUTS);
            double sum = 0;
            for (size_t j = 0; j < S_INPUTS; j++) {
                ck_assert_msg (s_same_f32 (json_array_get (attributions, j),
                                           want.attributions[r * S_INPUTS + j]),
                               "row %zu feature %zu differs from the C client's", r, j);
                sum += json_number_value (json_array_get (attributions, j));
            }
            //  Completeness: within the error the answer reports.
            double gap = want.instance_output[r] - want.baseline_output[r];
            double error = json_number_value (json_object_get (one, "approximation_error"));
            ck_assert_msg (fabs (sum - gap) <= error + 1e-5, "sum %g, f(x) - f(b) %g, error %g",
                           sum, gap, error);
        }
        ck_assert (s_same_f32 (
            json_array_get (json_array_get (json_object_get (json, "predictions"), 1), 0),
            want.instance_output[1]));
        //  The attributions' inputs by name, from the version's signature.
        json_t *names = json_object_get (json, "feature_names");
        ck_assert_uint_eq (json_array_size (names), S_INPUTS);
        for (size_t j = 0; j < S_INPUTS; j++)
            ck_assert_str_eq (json_string_value (json_array_get (names, j)), columns[j]);
        maas_explain_result_clear (&want);
        json_decref (json);
    }
    //  Every output of a softmax model, or the one asked for.
    const char *three = "{\"instances\": [[0.1, 0.2, 0.3, 0.4]]}";
    json_t *json = s_http ("POST", "/v1/models/iris/versions/1:explain", three, 200);
    ck_assert_uint_eq (json_array_size (json_object_get (json, "explanations")), 3);
    ck_assert (json_is_null (json_object_get (json, "feature_names")));    //  none stored
    json_decref (json);
    json = s_http ("POST", "/v1/models/iris:explain",
                   "{\"instances\": [[0.1, 0.2, 0.3, 0.4]], \"parameters\": {\"output_index\": 2}}",
                   200);
    json_t *only = json_array_get (json_object_get (json, "explanations"), 0);
    ck_assert_int_eq (json_integer_value (json_object_get (only, "output_index")), 2);
    ck_assert_uint_eq (json_array_size (json_object_get (json, "explanations")), 1);
    json_decref (json);
    //  Bad requests name what is wrong.
    s_expect_error ("POST", "/v1/models/spam:explain", "{\"rows\": []}", 400, "'instances'");
    s_expect_error ("POST", "/v1/models/spam:explain",
                    "{\"instances\": [[1, 2, 3, 4]], \"parameters\": {\"method\": \"lime\"}}", 400,
                    "parameters.method");
    s_expect_error ("POST", "/v1/models/spam:explain",
                    "{\"instances\": [[1, 2, 3, 4]], \"parameters\": {\"baseline\": [0, 0]}}", 400,
                    "baseline has 2 values, the model takes 4");
    s_expect_error ("POST", "/v1/models/iris:explain",
                    "{\"instances\": [[1, 2, 3, 4]], \"parameters\": {\"output_index\": 3}}", 400,
                    "from 0 to 2");
    s_expect_error ("POST", "/v1/models/spam:explain",
                    "{\"instances\": [[1, 2, 3, 4]], \"parameters\": {\"seed\": 1}}", 400,
                    "unknown key 'seed'");
    s_expect_error ("POST", "/v1/models/spam:explain", "{\"instances\": [[1, 2, 3]]}", 400,
                    "has 3 values, the model takes 4");
    s_expect_error ("POST", "/v1/models/nosuch:explain", three, 404, "nosuch");
}
END_TEST

//  -- routes and errors

START_TEST (test_routes)
{
    s_publish ("iris", 3, MAAS_ACT_SOFTMAX, 7);
    s_publish ("iris", 3, MAAS_ACT_SOFTMAX, 8);
    ck_assert_int_eq (maas_registry_alias (fx.registry, "iris", "production", 1), 0);
    s_gateway_start ("2", "10000", NULL);
    json_t *json = s_http ("GET", "/v1/models/iris", NULL, 200);
    json_t *status = json_object_get (json, "model_version_status");
    ck_assert_uint_eq (json_array_size (status), 2);
    ck_assert_str_eq (json_string_value (json_object_get (json_array_get (status, 0), "state")),
                      "AVAILABLE");
    json_decref (json);
    json = s_http ("GET", "/v1/models/iris/labels/production", NULL, 200);
    status = json_array_get (json_object_get (json, "model_version_status"), 0);
    ck_assert_str_eq (json_string_value (json_object_get (status, "version")), "1");
    json_decref (json);
    json = s_http ("GET", "/v1/models/iris/versions/2/metadata", NULL, 200);
    ck_assert_str_eq (
        json_string_value (json_object_get (json_object_get (json, "model_spec"), "version")), "2");
    json_t *sig = json_object_get (
        json_object_get (json_object_get (json_object_get (json, "metadata"), "signature_def"),
                         "signature_def"),
        "serving_default");
    json_t *in = json_object_get (json_object_get (sig, "inputs"), "x");
    ck_assert_str_eq (json_string_value (json_object_get (in, "dtype")), "DT_FLOAT");
    json_t *dims = json_object_get (json_object_get (in, "tensor_shape"), "dim");
    ck_assert_str_eq (json_string_value (json_object_get (json_array_get (dims, 1), "size")), "4");
    ck_assert_ptr_nonnull (json_object_get (json_object_get (sig, "outputs"), "y"));
    json_decref (json);
    json = s_http ("GET", "/v1/models", NULL, 200);
    ck_assert_str_eq (json_string_value (json_object_get (
                          json_array_get (json_object_get (json, "models"), 0), "aliases")),
                      "production=1");
    json_decref (json);
    json = s_http ("GET", "/v2", NULL, 200);
    ck_assert_str_eq (json_string_value (json_array_get (json_object_get (json, "extensions"), 0)),
                      "binary_tensor_data");
    json_decref (json);
    json_decref (s_http ("GET", "/v2/health/live", NULL, 200));
    json_decref (s_http ("GET", "/v2/health/ready", NULL, 200));
    json = s_http ("GET", "/v2/models/iris/versions/1/ready", NULL, 200);
    ck_assert (json_is_true (json_object_get (json, "ready")));
    json_decref (json);
    json = s_http ("GET", "/v2/models/iris", NULL, 200);
    ck_assert_str_eq (json_string_value (json_object_get (json, "platform")), "maas_mlp");
    ck_assert_int_eq (
        json_integer_value (json_array_get (
            json_object_get (json_array_get (json_object_get (json, "inputs"), 0), "shape"), 1)),
        S_INPUTS);
    json_decref (json);
}
END_TEST

START_TEST (test_errors)
{
    s_publish ("iris", 3, MAAS_ACT_SOFTMAX, 7);
    const char *extra[] = {"--max-body", "1000", NULL};
    s_gateway_start ("2", "10000", extra);
    const char *row = "{\"instances\": [[1, 2, 3, 4]]}";
    s_expect_error ("POST", "/v1/models/nope:predict", row, 404, "Servable not found");
    s_expect_error ("POST", "/v1/models/iris/versions/9:predict", row, 404, "has no");
    s_expect_error ("POST", "/v1/models/iris/labels/gone:predict", row, 404, "has no");
    s_expect_error ("POST", "/v1/models/iris/versions/x1:predict", row, 400,
                    "Failed to convert version");
    s_expect_error ("POST", "/v1/models/iris:predict", "", 400, "The document is empty");
    s_expect_error ("POST", "/v1/models/iris:predict", "{\"instances\": [1, 2", 400,
                    "JSON Parse error");
    s_expect_error ("POST", "/v1/models/iris:predict", "{\"instances\": [[1, 2, 3]]}", 400,
                    "the model takes 4");
    s_expect_error ("POST", "/v1/models/iris:predict", "{\"instances\": [[16777217, 2, 3, 4]]}",
                    400, "without loss of precision");
    s_expect_error ("POST", "/v1/models/iris:predict", "{\"rows\": []}", 400, "instances");
    s_expect_error ("GET", "/v1/models/nope", NULL, 404, "unknown model");
    s_expect_error ("GET", "/v1/nothing", NULL, 400, "Malformed request");
    s_expect_error ("GET", "/elsewhere", NULL, 400, "Malformed request");
    s_expect_error ("POST", "/v2/models/nope/infer", "{}", 404, "unknown model");
    s_expect_error ("GET", "/v2/models/nope/ready", NULL, 404, "unknown model");
    s_expect_error ("POST", "/v2/models/iris/infer",
                    "{\"inputs\":[{\"name\":\"x\",\"shape\":[1,3],\"datatype\":\"FP32\","
                    "\"data\":[1,2,3]}]}",
                    400, "takes 4 features");
    s_expect_error ("POST", "/v2/models/iris/infer",
                    "{\"inputs\":[{\"name\":\"x\",\"shape\":[1,4],\"datatype\":\"BYTES\","
                    "\"data\":[\"a\",\"b\",\"c\",\"d\"]}]}",
                    400, "does not convert");
    s_expect_error ("POST", "/v2/models/iris/infer",
                    "{\"inputs\":[{\"name\":\"x\",\"shape\":[2,4],\"datatype\":\"INT32\","
                    "\"data\":[1,2,3,4]}]}",
                    400, "its shape needs 8");
    //  A shape whose element count wraps size_t (2^62 × 4): refused, not
    //  taken as 0 values (the gateway once read 2^62 rows from 1 byte).
    s_expect_error ("POST", "/v2/models/iris/infer",
                    "{\"inputs\":[{\"name\":\"x\",\"shape\":[4611686018427387904,4],"
                    "\"datatype\":\"FP32\",\"data\":[]}]}",
                    400, "rows");
    s_expect_error ("POST", "/v2/models/iris/infer",
                    "{\"inputs\":[{\"name\":\"x\",\"shape\":[4611686018427387904,4],"
                    "\"datatype\":\"FP32\",\"parameters\":{\"binary_data_size\":0}}]}",
                    400, "rows");
    //  Integer types convert: INT32 data answers 200.
    json_decref (s_http ("POST", "/v2/models/iris/infer",
                         "{\"inputs\":[{\"name\":\"x\",\"shape\":[1,4],\"datatype\":\"INT32\","
                         "\"data\":[1,2,3,4]}]}",
                         200));
    //  A body over --max-body: 413, told by Content-Length or by the bytes.
    char big[2000];
    memset (big, ' ', sizeof big - 1);
    big[sizeof big - 1] = 0;
    memcpy (big, "{\"instances\":", 13);
    s_expect_error ("POST", "/v1/models/iris:predict", big, 413, "--max-body");
    //  More rows than the worker's --max-rows (4): 413 naming it.
    s_expect_error ("POST", "/v1/models/iris:predict",
                    "{\"instances\": [[1,2,3,4],[1,2,3,4],[1,2,3,4],[1,2,3,4],[1,2,3,4]]}", 413,
                    "this worker takes at most 4 per job (--max-rows)");
    const char *chunked[] = {"Transfer-Encoding: chunked", NULL};
    s_reply_t reply;
    s_http_raw ("POST", "/v1/models/iris:predict", big, strlen (big), chunked, &reply);
    ck_assert_int_eq (reply.code, 413);
    s_reply_clear (&reply);
}
END_TEST

START_TEST (test_metrics)
{
    s_publish ("iris", 3, MAAS_ACT_SOFTMAX, 7);
    s_gateway_start ("2", "10000", NULL);
    json_decref (s_http ("POST", "/v1/models/iris:predict", "{\"instances\": [[1,2,3,4]]}", 200));
    s_expect_error ("POST", "/v1/models/nope:predict", "{}", 404, "not found");
    usleep (1500 * 1000);    //  the broker writes its counters every second
    s_reply_t reply;
    s_http_raw ("GET", "/metrics", NULL, 0, NULL, &reply);
    ck_assert_int_eq (reply.code, 200);
    const char *text = reply.body.data;
    ck_assert_msg (strstr (text, "maas_http_requests_total{route=\"tf_predict\",code=\"200\"} 1\n"),
                   "%s", text);
    ck_assert (strstr (text, "maas_http_requests_total{route=\"tf_predict\",code=\"404\"} 1\n"));
    ck_assert (strstr (text,
                       "maas_http_request_duration_seconds_bucket{route=\"tf_predict\","
                       "le=\"+Inf\"} 2\n"));
    ck_assert (strstr (text, "maas_http_request_duration_seconds_count{route=\"tf_predict\"} 2\n"));
    ck_assert (strstr (text, "maas_gateway_jobs_total{status=\"succeeded\"} 1\n"));
    ck_assert_msg (strstr (text, "maas_broker_submitted{broker="), "%s", text);
    s_reply_clear (&reply);
}
END_TEST

//  -- workers' and trainers' counters (docs/redis.md, docs/metrics.md)

//  A maas-trainer named t1, trained once (2 epochs of breast cancer).
static void
s_train_once (void)
{
    const char *extra[] = {"--name", "t1", "--heartbeat", "100", NULL};
    fx.trainer = support_trainer_start (fx.site.back, support_redis_url (fx.site.redis), extra,
                                        fx.site.broker_log);
    char *csv = support_src_path ("data/breast_cancer_train.csv");
    maas_err_t err;
    maas_dataset_t *data = maas_dataset_from_csv (csv, NULL, MAAS_DATASET_AUTO, &err);
    ck_assert_msg (data, "%s", err.text);
    free (csv);
    maas_training_t spec;
    maas_training_init (&spec);
    snprintf (spec.model, sizeof spec.model, "bc");
    ck_assert_int_eq (maas_training_parse_layers (&spec, "1:sigmoid", &err), 0);
    spec.train.loss = MAAS_LOSS_BCE;
    spec.train.epochs = 2;
    msgpack_sbuffer params, payload;
    msgpack_sbuffer_init (&params);
    msgpack_sbuffer_init (&payload);
    msgpack_packer pk;
    msgpack_packer_init (&pk, &params, msgpack_sbuffer_write);
    ck_assert_int_eq (maas_training_pack (&spec, &pk), 0);
    msgpack_packer_init (&pk, &payload, msgpack_sbuffer_write);
    ck_assert_int_eq (maas_training_pack_data (data, &pk), 0);
    maas_submit_t job = {
        .kind = "train", .model = "bc", .params = params.data, .params_size = params.size};
    char id[MAAS_PROTO_ID_MAX + 1];
    ck_assert_int_eq (
        maas_client_submit (fx.client, &job, payload.data, payload.size, NULL, NULL, id), 0);
    maas_result_t *result = maas_client_wait (fx.client, id, 60000);
    ck_assert_ptr_nonnull (result);
    ck_assert_msg (strcmp (result->status, "succeeded") == 0, "%s", result->error);
    maas_result_destroy (&result);
    msgpack_sbuffer_destroy (&params);
    msgpack_sbuffer_destroy (&payload);
    maas_dataset_destroy (&data);
}

//  /metrics until it holds every one of WANT (NULL-terminated), 10 s at
//  most; the last scrape's text (caller frees).
static char *
s_metrics_until (const char *const *want)
{
    for (int i = 0;; i++) {
        s_reply_t reply;
        s_http_raw ("GET", "/metrics", NULL, 0, NULL, &reply);
        size_t missing = 0;
        while (want[missing] && strstr (reply.body.data, want[missing]))
            missing++;
        if (!want[missing] || i == 100) {
            ck_assert_msg (!want[missing], "no '%s' in\n%s", want[missing], reply.body.data);
            gw_buf_clear (&reply.headers);
            return gw_buf_take (&reply.body, NULL);
        }
        s_reply_clear (&reply);
        usleep (100 * 1000);
    }
}

START_TEST (test_process_metrics)
{
    s_publish ("iris", 3, MAAS_ACT_SOFTMAX, 7);
    s_gateway_start ("1", "10000", NULL);
    for (int i = 0; i < 3; i++)
        json_decref (
            s_http ("POST", "/v1/models/iris:predict", "{\"instances\": [[1,2,3,4]]}", 200));
    //  One the worker fails (the gateway would refuse it before).
    float x[3] = {1, 2, 3};
    char id[MAAS_PROTO_ID_MAX + 1];
    ck_assert_int_eq (gw_infer_submit (fx.client, "iris", 1, x, 1, 3, 0, NULL, NULL, id), 0);
    maas_result_t *failed = maas_client_wait (fx.client, id, 20000);
    ck_assert (failed && strcmp (failed->status, "failed") == 0);
    maas_result_destroy (&failed);
    s_train_once ();
    char worker[64], series[12][160];
    snprintf (worker, sizeof worker, "worker=\"worker-%d\"", (int) support_proc_pid (fx.worker));
    //  Each series: name, the process's label, the rest of the line.
    const char *lines[][3] = {
        {"maas_worker_jobs_total", worker, ",status=\"succeeded\"} 3"},
        {"maas_worker_jobs_total", worker, ",status=\"failed\"} 1"},
        {"maas_worker_rows_total", worker, "} 3"},
        {"maas_worker_batch_rows_sum", worker, "} 3"},
        {"maas_worker_batch_rows_count", worker, "} 3"},
        {"maas_worker_cache_misses_total", worker, "} 1"},
        {"maas_worker_cache_entries", worker, "} 1"},
        {"maas_worker_cache_evictions_total", worker, "} 0"},
        {"maas_worker_model_load_seconds_count", worker, "} 1"},
        {"maas_trainer_jobs_total", "trainer=\"t1\"", ",status=\"succeeded\"} 1"},
        {"maas_trainer_epochs_total", "trainer=\"t1\"", "} 2"},
    };
    const char *want[16] = {"# TYPE maas_worker_model_load_seconds summary\n",
                            "# TYPE maas_trainer_samples_total counter\n"};
    for (size_t i = 0; i < sizeof lines / sizeof lines[0]; i++) {
        snprintf (series[i], sizeof series[i], "%s{%s%s\n", lines[i][0], lines[i][1], lines[i][2]);
        want[i + 2] = series[i];
    }
    char *text = s_metrics_until (want);
    ck_assert_msg (strstr (text, "maas_worker_cache_hits_total{worker="), "%s", text);
    ck_assert (strstr (text, "maas_worker_model_load_seconds_sum{worker="));
    ck_assert (strstr (text, "maas_trainer_samples_total{trainer=\"t1\"} "));
    free (text);
    //  The hashes expire unless rewritten; the index holds both names.
    redisContext *ctx = redisConnectUnix (support_redis_socket (fx.site.redis));
    ck_assert (ctx && !ctx->err);
    redisReply *ttl = redisCommand (ctx, "PTTL maas:trainer:t1");
    ck_assert (ttl->integer > 0 && ttl->integer <= 5000);
    freeReplyObject (ttl);
    redisReply *score = redisCommand (ctx, "ZSCORE maas:trainers t1");
    ck_assert_int_eq (score->type, REDIS_REPLY_STRING);
    freeReplyObject (score);
    //  A trainer that is gone (its hash expired: deleted here) leaves no series.
    support_proc_stop (&fx.trainer);
    freeReplyObject (redisCommand (ctx, "DEL maas:trainer:t1"));
    redisFree (ctx);
    s_reply_t reply;
    s_http_raw ("GET", "/metrics", NULL, 0, NULL, &reply);
    ck_assert_msg (!strstr (reply.body.data, "trainer=\"t1\""), "%s", reply.body.data);
    s_reply_clear (&reply);
}
END_TEST

//  -- load, slow clients, deadlines, broker restart

//  COUNT requests of BODY to PATH at once (curl multi); each reply's code
//  into CODES; while they are in flight, DURING (if not NULL) runs once.
static void
s_concurrent (const char *path, const char *body, size_t count, long *codes, void (*during) (void))
{
    CURLM *multi = curl_multi_init ();
    CURL **easy = calloc (count, sizeof *easy);
    s_reply_t *replies = calloc (count, sizeof *replies);
    struct curl_slist **lists = calloc (count, sizeof *lists);
    curl_multi_setopt (multi, CURLMOPT_MAX_TOTAL_CONNECTIONS, (long) count);
    for (size_t i = 0; i < count; i++) {
        easy[i] = s_easy ("POST", path, body, strlen (body), NULL, &replies[i], &lists[i]);
        curl_multi_add_handle (multi, easy[i]);
    }
    int running = 1, turns = 0;
    while (running) {
        curl_multi_perform (multi, &running);
        //  At the first turn: requests sent, none can be answered yet. (At
        //  the third, 50 quick answers had sometimes all come back.)
        if (during && ++turns == 1) {
            ck_assert_int_gt (running, 0);    //  it happens with requests in flight
            during ();
            during = NULL;
        }
        curl_multi_poll (multi, NULL, 0, 50, NULL);
    }
    for (size_t i = 0; i < count; i++) {
        codes[i] = 0;
        curl_easy_getinfo (easy[i], CURLINFO_RESPONSE_CODE, &codes[i]);
        curl_multi_remove_handle (multi, easy[i]);
        curl_easy_cleanup (easy[i]);
        curl_slist_free_all (lists[i]);
        s_reply_clear (&replies[i]);
    }
    curl_multi_cleanup (multi);
    free (easy);
    free (replies);
    free (lists);
}

static void
s_move_alias (void)
{
    uint64_t v = s_publish ("iris", 3, MAAS_ACT_SOFTMAX, 99);
    ck_assert_int_eq (maas_registry_alias (fx.registry, "iris", "production", v), 0);
}

START_TEST (test_load_alias_moves)
{
    s_publish ("iris", 3, MAAS_ACT_SOFTMAX, 7);
    ck_assert_int_eq (maas_registry_alias (fx.registry, "iris", "production", 1), 0);
    s_gateway_start ("2", "20000", NULL);
    long codes[200];
    s_concurrent ("/v1/models/iris/labels/production:predict", "{\"instances\": [[1,2,3,4]]}", 200,
                  codes, s_move_alias);
    for (size_t i = 0; i < 200; i++)
        ck_assert_msg (codes[i] == 200, "request %zu: %ld", i, codes[i]);
    //  After the cache's time the label answers from the new version.
    usleep (600 * 1000);
    json_decref (s_http ("POST", "/v1/models/iris/labels/production:predict",
                         "{\"instances\": [[1,2,3,4]]}", 200));
    json_t *json = s_http ("GET", "/v1/models/iris/labels/production", NULL, 200);
    ck_assert_str_eq (
        json_string_value (json_object_get (
            json_array_get (json_object_get (json, "model_version_status"), 0), "version")),
        "2");
    json_decref (json);
}
END_TEST

//  A TCP connection to the gateway that sent TEXT and then nothing.
static int
s_stalled (const char *text)
{
    int fd = socket (AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons ((uint16_t) fx.port)};
    inet_pton (AF_INET, "127.0.0.1", &addr.sin_addr);
    ck_assert_int_eq (connect (fd, (struct sockaddr *) &addr, sizeof addr), 0);
    ck_assert_int_eq (send (fd, text, strlen (text), 0), (ssize_t) strlen (text));
    return fd;
}

START_TEST (test_slow_client)
{
    s_publish ("iris", 3, MAAS_ACT_SOFTMAX, 7);
    const char *extra[] = {"--idle-timeout", "2", NULL};
    s_gateway_start ("1", "10000", extra);    //  one loop: the slow ones share it
    int slow[4];
    for (int i = 0; i < 4; i++)
        slow[i] = s_stalled ("POST /v1/models/iris:predict HTTP/1.1\r\nHost: x\r\n"
                             "Content-Length: 40\r\n\r\n{\"inst");
    //  A byte a second on one of them, while others are answered at once.
    for (int second = 0; second < 3; second++) {
        int64_t start = maas_clock_mono_ms ();
        json_decref (
            s_http ("POST", "/v1/models/iris:predict", "{\"instances\": [[1,2,3,4]]}", 200));
        ck_assert_int_lt (maas_clock_mono_ms () - start, 500);
        send (slow[0], "a", 1, MSG_NOSIGNAL);
        usleep (1000 * 1000);
    }
    //  The silent ones were closed by --idle-timeout.
    char byte;
    for (int i = 1; i < 4; i++) {
        ck_assert_int_le (recv (slow[i], &byte, 1, 0), 0);
        close (slow[i]);
    }
    close (slow[0]);
}
END_TEST

START_TEST (test_deadline)
{
    s_publish ("iris", 3, MAAS_ACT_SOFTMAX, 7);
    s_gateway_start ("1", "700", NULL);
    support_proc_stop (&fx.worker);    //  nobody runs the job
    int64_t start = maas_clock_mono_ms ();
    s_expect_error ("POST", "/v1/models/iris:predict", "{\"instances\": [[1,2,3,4]]}", 504,
                    "deadline exceeded");
    int64_t took = maas_clock_mono_ms () - start;
    ck_assert_int_ge (took, 650);
    ck_assert_int_lt (took, 2500);
    //  The gateway still answers others, and when a worker is back, runs them.
    s_worker_start ();
    json_decref (s_http ("GET", "/v2/health/live", NULL, 200));
    int ok = 0;
    for (int i = 0; i < 20 && !ok; i++) {
        s_reply_t reply;
        const char *body = "{\"instances\": [[1,2,3,4]]}";
        s_http_raw ("POST", "/v1/models/iris:predict", body, strlen (body), NULL, &reply);
        ok = reply.code == 200;
        s_reply_clear (&reply);
    }
    ck_assert (ok);
}
END_TEST

static void
s_restart_broker (void)
{
    support_proc_stop (&fx.broker);
    s_broker_start ();
}

START_TEST (test_broker_restart)
{
    s_publish ("iris", 3, MAAS_ACT_SOFTMAX, 7);
    s_gateway_start ("2", "15000", NULL);
    long codes[50];
    int64_t start = maas_clock_mono_ms ();
    s_concurrent ("/v1/models/iris:predict", "{\"instances\": [[1,2,3,4]]}", 50, codes,
                  s_restart_broker);
    ck_assert_int_lt (maas_clock_mono_ms () - start, 14000);    //  none waited to its deadline
    for (size_t i = 0; i < 50; i++)
        ck_assert_msg (codes[i] == 200 || codes[i] == 503, "request %zu: %ld", i, codes[i]);
    //  And once it is back, requests are answered.
    int ok = 0;
    for (int i = 0; i < 50 && !ok; i++) {
        s_reply_t reply;
        const char *body = "{\"instances\": [[1,2,3,4]]}";
        s_http_raw ("POST", "/v1/models/iris:predict", body, strlen (body), NULL, &reply);
        ok = reply.code == 200;
        s_reply_clear (&reply);
        if (!ok)
            usleep (100 * 1000);
    }
    ck_assert (ok);
}
END_TEST

//  -- jobs

//  GET /v1/jobs/ID until its status is STATUS (within 10 s); the JSON. A
//  404 first is allowed: the broker records a job a moment after the 202.
static json_t *
s_job_until (const char *id, const char *status)
{
    char path[128];
    snprintf (path, sizeof path, "/v1/jobs/%s", id);
    for (int i = 0; i < 200; i++) {
        s_reply_t reply;
        s_http_raw ("GET", path, NULL, 0, NULL, &reply);
        ck_assert_msg (reply.code == 200 || (reply.code == 404 && i < 20), "GET %s: %ld %s", path,
                       reply.code, reply.body.data);
        json_t *json = reply.code == 200 ? json_loads (reply.body.data, 0, NULL) : NULL;
        s_reply_clear (&reply);
        const char *now = json_string_value (json_object_get (json, "status"));
        if (now && strcmp (now, status) == 0)
            return json;
        json_decref (json);
        usleep (50 * 1000);
    }
    ck_abort_msg ("job %s never became %s", id, status);
    return NULL;
}

START_TEST (test_jobs)
{
    uint64_t v = s_publish ("iris", 3, MAAS_ACT_SOFTMAX, 7);
    s_gateway_start ("2", "10000", NULL);
    float x[S_INPUTS], want[3];
    s_fill (x, S_INPUTS, 2.5f);
    s_client_predict ("iris", v, x, 1, want, 3);
    gw_buf_t row;
    gw_buf_init (&row);
    gw_json_f32_array (&row, x, S_INPUTS, S_INPUTS);
    char body[1024];
    snprintf (body, sizeof body,
              "{\"id\": \"http-job-1\", \"kind\": \"infer\", \"model\": \"iris\", "
              "\"instances\": %s}",
              row.data);
    gw_buf_clear (&row);
    for (int again = 0; again < 2; again++) {    //  the same id twice: one job
        s_reply_t reply;
        s_http_raw ("POST", "/v1/jobs", body, strlen (body), NULL, &reply);
        ck_assert_int_eq (reply.code, 202);
        ck_assert_ptr_nonnull (strstr (reply.headers.data, "Location: /v1/jobs/http-job-1"));
        ck_assert_ptr_nonnull (strstr (reply.body.data, "\"id\":\"http-job-1\""));
        s_reply_clear (&reply);
    }
    json_t *json = s_job_until ("http-job-1", "succeeded");
    ck_assert_str_eq (
        json_string_value (json_object_get (json_object_get (json, "header"), "kind")), "infer");
    ck_assert (json_is_number (json_object_get (json, "finished_ms")));
    json_decref (json);
    s_reply_t reply;
    s_http_raw ("GET", "/v1/jobs/http-job-1", NULL, 0, NULL, &reply);
    s_assert_bits (NULL, s_after (reply.body.data, "\"predictions\":"), want, 3);
    s_reply_clear (&reply);
    //  No trainer runs: a train job waits queued until it is cancelled.
    const char *train = "{\"id\": \"http-train-1\", \"kind\": \"train\", \"model\": \"m\", "
                        "\"params\": {\"dataset\": \"d\", \"layers\": [{\"units\": 1, "
                        "\"activation\": \"sigmoid\"}], \"lr\": 0.01}}";
    s_http_raw ("POST", "/v1/jobs", train, strlen (train), NULL, &reply);
    ck_assert_int_eq (reply.code, 202);
    s_reply_clear (&reply);
    json_decref (s_job_until ("http-train-1", "queued"));
    s_http_raw ("DELETE", "/v1/jobs/http-train-1", NULL, 0, NULL, &reply);
    ck_assert_int_eq (reply.code, 202);
    s_reply_clear (&reply);
    json = s_job_until ("http-train-1", "cancelled");
    ck_assert (json_is_real (
        json_object_get (json_object_get (json_object_get (json, "header"), "params"), "lr")));
    json_decref (json);
    s_http_raw ("GET", "/v1/jobs/http-train-1", NULL, 0, NULL, &reply);
    ck_assert_msg (strstr (reply.body.data, "\"lr\":0.01}"), "%s", reply.body.data);    //  shortest
    s_reply_clear (&reply);
    s_expect_error ("GET", "/v1/jobs/nope", NULL, 404, "not known");
    s_expect_error ("DELETE", "/v1/jobs/nope", NULL, 404, "not known");
    s_expect_error ("GET", "/v1/jobs/bad%20id", NULL, 400, "letters, digits");
    s_expect_error ("POST", "/v1/jobs", "{\"model\": \"iris\"}", 400, "kind");
    s_expect_error ("POST", "/v1/jobs",
                    "{\"kind\": \"infer\", \"model\": \"iris\", "
                    "\"instances\": [[1, 2, 3]]}",
                    400, "rows of 4");
}
END_TEST

//  GET /v1/jobs/ID/events: status events, then the result, then the end
//  of the stream; an unknown job gets one error event.
START_TEST (test_job_events)
{
    s_publish ("iris", 3, MAAS_ACT_SOFTMAX, 7);
    s_gateway_start ("1", "10000", NULL);
    const char *job = "{\"id\": \"sse-1\", \"kind\": \"infer\", \"model\": \"iris\", "
                      "\"instances\": [[1, 2, 3, 4]]}";
    s_reply_t reply;
    s_http_raw ("POST", "/v1/jobs", job, strlen (job), NULL, &reply);
    ck_assert_int_eq (reply.code, 202);
    s_reply_clear (&reply);
    usleep (300 * 1000);    //  recorded by the broker (see s_job_until)
    s_http_raw ("GET", "/v1/jobs/sse-1/events", NULL, 0, NULL, &reply);
    ck_assert_int_eq (reply.code, 200);
    ck_assert_ptr_nonnull (strstr (reply.headers.data, "text/event-stream"));
    const char *result = strstr (reply.body.data, "event: result\ndata: {\"id\":\"sse-1\"");
    ck_assert_msg (result, "%s", reply.body.data);
    ck_assert_ptr_nonnull (
        strstr (reply.body.data, "event: status\ndata: {\"status\":\"succeeded\"}"));
    ck_assert_ptr_nonnull (strstr (result, "\"predictions\":[["));
    s_reply_clear (&reply);
    s_http_raw ("GET", "/v1/jobs/nope/events", NULL, 0, NULL, &reply);
    ck_assert_msg (strstr (reply.body.data, "event: error\n"), "%s", reply.body.data);
    s_reply_clear (&reply);
}
END_TEST

//  -- the docs' examples

//  Run every ```sh block of docs/NAME as a script (sh -e, in a temp dir),
//  the gateway's documented address replaced by the test's.
static void
s_run_doc_blocks (const char *name)
{
    char *path = support_src_path (name);
    FILE *doc = fopen (path, "r");
    ck_assert_msg (doc, "cannot read %s", path);
    char script[512], line[4096], port[32];
    snprintf (script, sizeof script, "%s/block.sh", fx.site.dir);
    snprintf (port, sizeof port, "127.0.0.1:%d", fx.port);
    FILE *out = NULL;
    int blocks = 0;
    while (fgets (line, sizeof line, doc)) {
        if (!out && strncmp (line, "```sh", 5) == 0) {
            out = fopen (script, "w");
            continue;
        }
        if (out && strncmp (line, "```", 3) == 0) {
            fclose (out);
            out = NULL;
            char command[1024];
            snprintf (command, sizeof command, "cd %s && sh -e %s > %s/block.out 2>&1", fx.site.dir,
                      script, fx.site.dir);
            int rc = system (command);
            ck_assert_msg (rc == 0, "%s: block %d failed (see %s/block.out)", name, blocks + 1,
                           fx.site.dir);
            blocks++;
            continue;
        }
        for (char *at; out && (at = strstr (line, "127.0.0.1:8501"));) {
            fprintf (out, "%.*s%s", (int) (at - line), line, port);
            memmove (line, at + 14, strlen (at + 14) + 1);
        }
        if (out)
            fputs (line, out);
    }
    fclose (doc);
    free (path);
    ck_assert_int_gt (blocks, 0);
}

START_TEST (test_docs_examples)
{
    s_publish_labelled ("iris", 3, MAAS_ACT_SOFTMAX, 7, "setosa,versicolor,virginica");
    s_publish ("price", 1, MAAS_ACT_LINEAR, 4);
    ck_assert_int_eq (maas_registry_alias (fx.registry, "iris", "production", 1), 0);
    s_gateway_start ("2", "10000", NULL);
    s_run_doc_blocks ("docs/http.md");
    s_run_doc_blocks ("docs/metrics.md");
    //  :classify over HTTP with curl names the classes by the model's labels.
    char curl[1024], answer[600];
    snprintf (answer, sizeof answer, "%s/classify.out", fx.site.dir);
    snprintf (curl, sizeof curl,
              "curl -s -X POST -d '{\"examples\": [{\"x\": [0.1, 0.2, 0.3, 0.4]}]}' "
              "http://127.0.0.1:%d/v1/models/iris:classify > %s",
              fx.port, answer);
    ck_assert_int_eq (system (curl), 0);
    ck_assert_msg (support_file_has (answer, "{\"results\":[[[\"setosa\",")
                       && support_file_has (answer, "],[\"virginica\","),
                   "see %s", answer);
    //  The binary example's reply: a JSON header then 2 x 3 float32.
    char path[512];
    snprintf (path, sizeof path, "%s/out.bin", fx.site.dir);
    FILE *file = fopen (path, "rb");
    ck_assert_ptr_nonnull (file);
    fseek (file, 0, SEEK_END);
    long size = ftell (file);
    fclose (file);
    ck_assert_int_gt (size, 24);
    //  Every curl line was answered: the gateway counted them.
    s_reply_t reply;
    s_http_raw ("GET", "/metrics", NULL, 0, NULL, &reply);
    ck_assert_ptr_nonnull (strstr (reply.body.data, "route=\"v2_infer\",code=\"200\"} 3"));
    ck_assert_ptr_nonnull (strstr (reply.body.data, "route=\"tf_predict\",code=\"200\"} 3"));
    ck_assert_ptr_nonnull (strstr (reply.body.data, "route=\"tf_classify\",code=\"200\"} 2"));
    ck_assert_ptr_nonnull (strstr (reply.body.data, "route=\"tf_predict\",code=\"400\"} 1"));
    ck_assert_ptr_nonnull (strstr (reply.body.data, "route=\"tf_predict\",code=\"404\"} 1"));
    s_reply_clear (&reply);
}
END_TEST

//  The gateway reads a RESULT with libmaas's parser (shared/infer.c), so it
//  holds results to what the worker writes: every key, sizes that agree.
START_TEST (test_reply_parses_with_libmaas)
{
    float values[2] = {0.25f, 0.75f};
    maas_infer_result_t full = {.model = "iris",
                                .version = 3,
                                .rows = 1,
                                .outputs = 2,
                                .values = values,
                                .batch_rows = 1,
                                .batch_jobs = 1};
    msgpack_sbuffer sbuf;
    msgpack_sbuffer_init (&sbuf);
    msgpack_packer pk;
    msgpack_packer_init (&pk, &sbuf, msgpack_sbuffer_write);
    ck_assert_int_eq (maas_infer_result_pack (&full, &pk), 0);
    gw_reply_spec_t spec = {.style = GW_STYLE_TF_PREDICT, .model = "iris"};
    maas_result_t result = {.status = "succeeded", .data = sbuf.data, .size = sbuf.size};
    gw_buf_t buf;
    gw_buf_init (&buf);
    size_t header_len = 0;
    ck_assert_uint_eq (gw_reply_write (&spec, &result, &buf, &header_len), 200);
    ck_assert_str_eq (buf.data, "{\"predictions\":[[0.25,0.75]]}");
    gw_buf_clear (&buf);
    //  The same values without the batch figures: not a result the worker
    //  writes, so not one the gateway passes on.
    msgpack_sbuffer_clear (&sbuf);
    msgpack_pack_map (&pk, 4);
    maas_codec_pack_kv_uint (&pk, "version", 3);
    maas_codec_pack_kv_uint (&pk, "rows", 1);
    maas_codec_pack_kv_uint (&pk, "outputs", 2);
    maas_codec_pack_str (&pk, "values");
    maas_codec_pack_f32 (&pk, values, 2);
    result.data = sbuf.data;
    result.size = sbuf.size;
    ck_assert_uint_eq (gw_reply_write (&spec, &result, &buf, &header_len), 500);
    ck_assert_msg (strstr (buf.data, "missing key 'model'"), "%s", buf.data);
    gw_buf_clear (&buf);
    msgpack_sbuffer_destroy (&sbuf);
}
END_TEST

static Suite *
s_suite (void)
{
    Suite *suite = suite_create ("gateway");
    TCase *unit = tcase_create ("writer");
    tcase_add_test (unit, test_f32_shortest);
    tcase_add_test (unit, test_reply_parses_with_libmaas);
    suite_add_tcase (suite, unit);
    TCase *core = tcase_create ("core");
    tcase_add_checked_fixture (core, s_setup, s_teardown);
    tcase_set_timeout (core, 120);
    tcase_add_test (core, test_tf_predict_bits);
    tcase_add_test (core, test_v2_infer_bits);
    tcase_add_test (core, test_classify_regress);
    tcase_add_test (core, test_explain);
    tcase_add_test (core, test_routes);
    tcase_add_test (core, test_metrics);
    tcase_add_test (core, test_process_metrics);
    tcase_add_test (core, test_docs_examples);
    tcase_add_test (core, test_jobs);
    tcase_add_test (core, test_job_events);
    suite_add_tcase (suite, core);
    TCase *errors = tcase_create ("errors");
    tcase_add_checked_fixture (errors, s_setup, s_teardown);
    tcase_set_timeout (errors, 120);
    tcase_add_test (errors, test_errors);
    suite_add_tcase (suite, errors);
    TCase *limits = tcase_create ("limits");
    tcase_add_checked_fixture (limits, s_setup, s_teardown);
    tcase_set_timeout (limits, 120);
    tcase_add_test (limits, test_load_alias_moves);
    tcase_add_test (limits, test_slow_client);
    tcase_add_test (limits, test_deadline);
    tcase_add_test (limits, test_broker_restart);
    suite_add_tcase (suite, limits);
    return suite;
}

int
main (void)
{
    return support_run (s_suite ());
}
