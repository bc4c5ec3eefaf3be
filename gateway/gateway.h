/*  gateway.h: maas-gateway's engine: HTTP/1.1 (libmicrohttpd) in front of
 *  the broker. N threads, each one event loop polling its own MHD daemon
 *  (external epoll mode) and its own maas client socket in one zmq_poll; all
 *  daemons accept on one listen socket the gateway binds. A request that
 *  needs a prediction becomes an infer job; its connection is suspended until
 *  the result (or its deadline) and resumed by the same thread, so no thread
 *  waits on a request and no lock guards a request. docs/http.md. */
#ifndef GW_GATEWAY_H
#define GW_GATEWAY_H

#include "buf.h"
#include "maas.h"
#include "models.h"

#include <jansson.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define GW_HTTP_DEFAULT            "127.0.0.1:8501"
#define GW_TIMEOUT_DEFAULT_MS      30000          //  --request-timeout
#define GW_MAX_BODY_DEFAULT        (64u << 20)    //  --max-body, bytes
#define GW_MAX_CONNECTIONS_DEFAULT 4096           //  --max-connections, over all threads
#define GW_IDLE_TIMEOUT_DEFAULT_S  30             //  --idle-timeout: a silent connection is closed

typedef struct {
    const char *http;             //  ADDR:PORT to listen on (port 0: any)
    const char *broker;           //  broker frontend endpoints
    const char *curve_key;        //  our secret key file; NULL: plain
    const char *broker_key;       //  the broker's public key file, with CURVE_KEY
    maas_redis_config_t redis;    //  registry and jobs: URL (NULL: default), Sentinels
    const char *prefix;           //  key prefix, NULL: default
    int threads;                  //  event loops (>= 1)
    int request_timeout_ms;       //  deadline of each request
    size_t max_body;              //  largest request body
    unsigned max_connections;     //  connections open at once, all threads
    unsigned idle_timeout_s;      //  MHD connection timeout
    const char *api_keys;         //  API key file (apikey.h); NULL: no authentication
    const char *tls_cert;         //  PEM certificate (chain) file; NULL: plain HTTP
    const char *tls_key;          //  PEM private key file, with tls_cert
} gw_config_t;

typedef struct _gw_t gw_t;
typedef struct _gw_loop_t gw_loop_t;
typedef struct _gw_req_t gw_req_t;
typedef struct _gw_stats_t gw_stats_t;

//  Bind, start the threads; NULL with ERR (bad address, port in use,
//  Redis or broker endpoint unusable).
gw_t *gw_new (const gw_config_t *config, char *err, size_t err_size);
//  Stop the threads (requests in flight are answered 503), close, free.
void gw_destroy (gw_t **self_p);
//  The port actually bound (the kernel's choice when 0 was asked).
int gw_port (const gw_t *self);

//  -- for the route handlers (one request, on its loop's thread)

//  How the reply to an infer job is written once its result arrives.
typedef enum {
    GW_STYLE_TF_PREDICT,     //  {"predictions": ...}
    GW_STYLE_TF_COLUMNAR,    //  {"outputs": ...}
    GW_STYLE_TF_CLASSIFY,    //  {"results": [[[label, score], ...]]}
    GW_STYLE_TF_REGRESS,     //  {"results": [value, ...]}
    GW_STYLE_V2_JSON,        //  KServe v2 JSON outputs
    GW_STYLE_V2_BINARY,      //  KServe v2 binary tensor extension
    GW_STYLE_V2_CLASSIFY,    //  KServe v2 classification extension: "p:class:label" strings
    GW_STYLE_EXPLAIN         //  KServe v1 {"predictions", "explanations"} (an explain job)
} gw_style_t;

//  What a reply needs to know about the request that asked it.
typedef struct {
    gw_style_t style;                          //  how to write it
    char model[MAAS_REGISTRY_NAME_MAX + 1];    //  model name
    bool scalars;                              //  TF: instances were bare numbers (1 input)
    char *id;                                  //  KServe request id to echo, or NULL; owned
    size_t top_k;                              //  V2_CLASSIFY: classes per row asked for
    char *feature_names;    //  EXPLAIN: the inputs' names as a JSON array, or NULL; owned
} gw_reply_spec_t;

//  Everything a handler reads about its request.
typedef struct {
    const char *method;           //  "GET", "POST", ...
    const char *url;              //  path, unescaped
    const char *body;             //  request body (NUL-terminated), "" if none
    size_t body_size;             //  its bytes
    const char *header_length;    //  Inference-Header-Content-Length, or NULL
} gw_http_t;

//  Route labels for metrics.
typedef enum {
    GW_ROUTE_TF_PREDICT,
    GW_ROUTE_TF_CLASSIFY,
    GW_ROUTE_TF_REGRESS,
    GW_ROUTE_TF_EXPLAIN,
    GW_ROUTE_TF_STATUS,
    GW_ROUTE_TF_METADATA,
    GW_ROUTE_TF_MODELS,
    GW_ROUTE_V2_SERVER,
    GW_ROUTE_V2_HEALTH,
    GW_ROUTE_V2_MODEL,
    GW_ROUTE_V2_READY,
    GW_ROUTE_V2_INFER,
    GW_ROUTE_METRICS,
    GW_ROUTE_JOBS,
    GW_ROUTE_OTHER,
    GW_ROUTE_COUNT
} gw_route_t;

//  The loop's registry view and the gateway's counters (borrowed).
gw_models_t *gw_req_models (gw_req_t *req);
gw_stats_t *gw_req_stats (gw_req_t *req);
//  The loop's broker client (borrowed), for jobs answered later or never.
maas_client_t *gw_req_client (gw_req_t *req);
void gw_req_set_route (gw_req_t *req, gw_route_t route);
//  The gateway's configuration (borrowed).
const gw_config_t *gw_req_config (gw_req_t *req);
//  true if the request may do what needs right NEEDED (a MAAS_CURVE_* bit;
//  0: any known key): always without --api-keys or on an open route; else
//  false after answering 403 naming the key and the role it lacks (WHAT
//  says what was refused: "submit 'train' jobs").
bool gw_req_allow (gw_req_t *req, int needed, const char *what);
//  Answer now with STATUS and RESPONSE (the request takes it).
struct MHD_Response;
void gw_req_respond (gw_req_t *req, unsigned status, struct MHD_Response *response);
//  The loop's event streams (sse.h).
struct _gw_sse_set_t *gw_req_sse (gw_req_t *req);
//  Answer now with STATUS and BODY (SIZE bytes, taken: freed by MHD), of
//  CONTENT_TYPE; EXTRA_HEADER ("Name: value") may be NULL.
void gw_req_reply (gw_req_t *req, unsigned status, const char *content_type, char *body,
                   size_t size, const char *extra_header);
//  Answer STATUS with {"error": TEXT} (printf-style).
void gw_req_error (gw_req_t *req, unsigned status, const char *fmt, ...)
    __attribute__ ((format (printf, 3, 4)));
//  Answer BUF's JSON with STATUS (the buffer is emptied; 500 if it failed).
void gw_req_json (gw_req_t *req, unsigned status, gw_buf_t *buf);
//  Run X (ROWS × COLS) on NAME@VERSION as an infer job and suspend the
//  connection until its result, answered as SPEC says (SPEC->id taken).
void gw_req_infer (gw_req_t *req, const char *name, uint64_t version, const float *x, size_t rows,
                   size_t cols, gw_reply_spec_t *spec);
//  The same for an explain job with PARAMS (borrowed), answered as
//  GW_STYLE_EXPLAIN.
void gw_req_explain (gw_req_t *req, const char *name, uint64_t version, const float *x, size_t rows,
                     size_t cols, const maas_explain_params_t *params, gw_reply_spec_t *spec);

//  -- routes (routes.c, tfs.c, kserve.c, jobs.c)

//  NAME@REF into *MODEL; false after answering the error (404, 400, 503)
//  with PREFIX before the reason.
bool gw_req_model (gw_req_t *req, const char *name, const char *ref, gw_model_t *model,
                   const char *prefix);

//  Answer REQ, a complete request, by its path.
void gw_route (gw_req_t *req, const gw_http_t *http);
void gw_tfs_route (gw_req_t *req, const gw_http_t *http);
void gw_kserve_route (gw_req_t *req, const gw_http_t *http);
void gw_jobs_route (gw_req_t *req, const gw_http_t *http);
//  Write the reply to a finished infer job (reply.c): OUT's values as SPEC
//  says. Returns the HTTP status with BUF filled; for binary replies,
//  *HEADER_LEN gets the JSON header's length.
unsigned gw_reply_write (const gw_reply_spec_t *spec, const maas_result_t *result, gw_buf_t *buf,
                         size_t *header_len);

//  -- JSON input (tensor_in.c)

//  Numbers of a JSON array (nested any depth, or a bare number) appended to
//  *VALUES / *COUNT (realloc'd). -1 with ERR when a value is not a number
//  or does not convert to float32 without loss (TF Serving's rule).
int gw_json_floats (const json_t *value, float **values, size_t *count, char *err, size_t err_size);
//  The one input tensor of a KServe v2 infer REQUEST for a model of INPUTS
//  features: "data" in the JSON, or BIN_SIZE binary bytes at BIN after it
//  (binary_data_size), in any datatype that converts (FP32, FP64, BOOL,
//  integers), the whole body BODY_SIZE bytes. 0 with *X (*ROWS × INPUTS
//  floats, the caller frees) and *ROWS; -1 with ERR, the 400 to answer.
int gw_v2_input (const json_t *request, const uint8_t *bin, size_t bin_size, size_t body_size,
                 size_t inputs, float **x, size_t *rows, char *err, size_t err_size);

//  -- metrics (stats.c)
gw_stats_t *gw_stats_new (void);
void gw_stats_destroy (gw_stats_t **self_p);
//  One answered request: ROUTE, STATUS, taking SECONDS.
void gw_stats_request (gw_stats_t *self, gw_route_t route, unsigned status, double seconds);
//  One infer job finished with STATUS ("succeeded", "timeout", ...).
void gw_stats_job (gw_stats_t *self, const char *status);
//  Why a request was refused by API key (maas_gateway_auth_refused_total).
typedef enum {
    GW_AUTH_MISSING,      //  no Authorization: Bearer header (401)
    GW_AUTH_UNKNOWN,      //  a token no key has (401)
    GW_AUTH_FORBIDDEN,    //  a known key without the role (403)
    GW_AUTH_REASONS
} gw_auth_reason_t;
void gw_stats_auth (gw_stats_t *self, gw_auth_reason_t reason);
//  Prometheus text of every series into BUF, with the brokers' counters
//  read from Redis through REGISTRY's URL (REDIS_URL, PREFIX).
void gw_stats_render (gw_stats_t *self, gw_buf_t *buf, const maas_redis_config_t *redis,
                      const char *prefix);

#endif
