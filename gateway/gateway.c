/*  gateway.c: threads, the listen socket, each thread's event loop and the
 *  life of a request: read the body, route it, or suspend it on an infer
 *  job until the result or its deadline (gateway.h). */
#include "gateway.h"
#include "listen_addr.h"
#include "submit.h"
#include "sse.h"

#include <assert.h>

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>
#include <zmq.h>

#define S_TURN_MS      100     //  longest a loop sleeps: how soon it sees a stop
#define S_AUTH_LOG_MS  1000    //  at most one refusal line a second per loop
#define S_TLS_FILE_MAX (1u << 20)

struct _gw_t {
    gw_config_t config;    //  as given (strings borrowed from the caller)
    int listen_fd;         //  shared by every daemon; owned
    int port;              //  bound port
    gw_stats_t *stats;     //  counters, atomics shared by the loops
    gw_loop_t *loops;      //  config.threads loops; owned
    int started;           //  loops whose thread runs
    atomic_bool stop;      //  set once to end every loop
    char *tls_cert;        //  PEM text of --tls-cert, owned (MHD reads it while it runs)
    char *tls_key;         //  PEM text of --tls-key, owned
};

struct _gw_loop_t {
    gw_t *gw;                     //  the gateway (config, stats, stop flag)
    struct MHD_Daemon *daemon;    //  this thread's HTTP daemon
    maas_client_t *client;        //  this thread's broker client
    gw_models_t *models;          //  this thread's registry view
    gw_sse_set_t *sse;            //  this thread's event streams
    gw_req_t *head, *tail;        //  suspended requests, oldest first
    maas_apikey_t *keys;          //  this thread's copy of --api-keys, or NULL
    int64_t auth_log_at;          //  monotonic ms: next refusal line allowed
    unsigned auth_quiet;          //  refusals not logged since the last line
    pthread_t thread;             //  runs s_loop_run
};

struct _gw_req_t {
    gw_loop_t *loop;                       //  the loop that owns it
    struct MHD_Connection *conn;           //  its connection
    gw_route_t route;                      //  metrics label
    gw_buf_t body;                         //  request body as read
    bool too_big;                          //  body passed --max-body
    int64_t start_us;                      //  monotonic, when it arrived
    struct MHD_Response *response;         //  the answer queued on resume, or NULL
    unsigned status;                       //  its status
    char job[MAAS_PROTO_ID_MAX + 1];       //  infer job awaited, "" if none
    int64_t deadline_ms;                   //  monotonic: answered 504 after this
    gw_reply_spec_t spec;                  //  how to write the result
    gw_req_t *prev, *next;                 //  in the loop's suspended list
    const char *url;                       //  its path (MHD's, valid until it completes)
    bool open;                             //  a route that needs no API key
    bool refused;                          //  answered 401: never routed, whatever MHD sends next
    int rights;                            //  its API key's rights (MAAS_CURVE_*), -1: none
    char key[MAAS_APIKEY_NAME_MAX + 1];    //  its API key's name, "" if none
};

gw_models_t *
gw_req_models (gw_req_t *req)
{
    return req->loop->models;
}
gw_stats_t *
gw_req_stats (gw_req_t *req)
{
    return req->loop->gw->stats;
}
maas_client_t *
gw_req_client (gw_req_t *req)
{
    return req->loop->client;
}
void
gw_req_set_route (gw_req_t *req, gw_route_t route)
{
    req->route = route;
}
int
gw_port (const gw_t *self)
{
    return self->port;
}

//  -- answering

void
gw_req_respond (gw_req_t *req, unsigned status, struct MHD_Response *response)
{
    assert (!req->response);
    req->response = response;
    req->status = status;
}

struct _gw_sse_set_t *
gw_req_sse (gw_req_t *req)
{
    return req->loop->sse;
}

void
gw_req_reply (gw_req_t *req, unsigned status, const char *content_type, char *body, size_t size,
              const char *extra_header)
{
    assert (!req->response);
    req->response = MHD_create_response_from_buffer (size, body, MHD_RESPMEM_MUST_FREE);
    if (!req->response) {
        free (body);
        return;    //  MHD closes the connection
    }
    req->status = status;
    MHD_add_response_header (req->response, MHD_HTTP_HEADER_CONTENT_TYPE, content_type);
    if (extra_header) {
        const char *colon = strchr (extra_header, ':');
        char name[128];
        snprintf (name, sizeof name, "%.*s", (int) (colon - extra_header), extra_header);
        MHD_add_response_header (req->response, name, colon + 2);
    }
}

void
gw_req_json (gw_req_t *req, unsigned status, gw_buf_t *buf)
{
    if (buf->failed) {
        gw_buf_clear (buf);
        gw_buf_puts (buf, "{\"error\": \"gateway: out of memory\"}");
        status = 500;
    }
    size_t size;
    char *body = gw_buf_take (buf, &size);
    gw_req_reply (req, status, "application/json", body ? body : strdup ("{}"), body ? size : 2,
                  NULL);
}

void
gw_req_error (gw_req_t *req, unsigned status, const char *fmt, ...)
{
    char text[1024];
    va_list args;
    va_start (args, fmt);
    vsnprintf (text, sizeof text, fmt, args);
    va_end (args);
    gw_buf_t buf;
    gw_buf_init (&buf);
    gw_buf_puts (&buf, "{\"error\": ");
    gw_json_str (&buf, text);
    gw_buf_puts (&buf, "}");
    gw_req_json (req, status, &buf);
}

//  -- suspended requests

static void
s_unlink (gw_loop_t *loop, gw_req_t *req)
{
    if (req->prev)
        req->prev->next = req->next;
    else
        loop->head = req->next;
    if (req->next)
        req->next->prev = req->prev;
    else
        loop->tail = req->prev;
    req->prev = req->next = NULL;
    req->job[0] = 0;
}

static void
s_resume (gw_req_t *req)
{
    s_unlink (req->loop, req);
    MHD_resume_connection (req->conn);
}

static void
s_on_result (const maas_result_t *result, void *arg)
{
    gw_req_t *req = arg;
    gw_buf_t buf;
    gw_buf_init (&buf);
    size_t header_len = 0;
    unsigned status = gw_reply_write (&req->spec, result, &buf, &header_len);
    gw_stats_job (req->loop->gw->stats, result->status);
    if (req->spec.style == GW_STYLE_V2_BINARY && status == 200) {
        char header[96];
        snprintf (header, sizeof header, "Inference-Header-Content-Length: %zu", header_len);
        size_t size;
        char *body = gw_buf_take (&buf, &size);
        gw_req_reply (req, status, "application/octet-stream", body, size, header);
    }
    else
        gw_req_json (req, status, &buf);
    s_resume (req);
}

//  The job is submitted (RC 0): wait for its result with the connection
//  suspended, on the loop's deadline list; or answer why it was not.
static void
s_await (gw_req_t *req, int rc)
{
    gw_loop_t *loop = req->loop;
    int timeout = loop->gw->config.request_timeout_ms;
    if (rc != 0) {
        gw_req_error (req, 503, "gateway: cannot submit the job: %s",
                      maas_client_error (loop->client));
        return;
    }
    req->deadline_ms = maas_clock_mono_ms () + timeout;
    req->prev = loop->tail;
    if (loop->tail)
        loop->tail->next = req;
    else
        loop->head = req;
    loop->tail = req;
    MHD_suspend_connection (req->conn);
}

void
gw_req_infer (gw_req_t *req, const char *name, uint64_t version, const float *x, size_t rows,
              size_t cols, gw_reply_spec_t *spec)
{
    gw_loop_t *loop = req->loop;
    req->spec = *spec;
    spec->id = NULL;
    int64_t deadline = maas_clock_wall_ms () + loop->gw->config.request_timeout_ms;
    //  :classify answers label names, which the worker sends when asked;
    //  KServe's classification the top K with them.
    maas_infer_params_t post = {0};
    if (spec->style == GW_STYLE_TF_CLASSIFY)
        post.output = MAAS_INFER_CLASS;
    if (spec->style == GW_STYLE_V2_CLASSIFY)
        post.top_k = spec->top_k;
    s_await (req,
             gw_infer_submit_post (loop->client, name, version, x, rows, cols, &post, deadline,
                                   s_on_result, req, req->job));
}

void
gw_req_explain (gw_req_t *req, const char *name, uint64_t version, const float *x, size_t rows,
                size_t cols, const maas_explain_params_t *params, gw_reply_spec_t *spec)
{
    gw_loop_t *loop = req->loop;
    req->spec = *spec;
    req->spec.style = GW_STYLE_EXPLAIN;
    spec->id = NULL;
    spec->feature_names = NULL;
    int64_t deadline = maas_clock_wall_ms () + loop->gw->config.request_timeout_ms;
    s_await (req,
             gw_explain_submit (loop->client, name, version, x, rows, cols, params, deadline,
                                s_on_result, req, req->job));
}

//  Answer 504 to every request past its deadline (the list is in deadline
//  order: every request has the same timeout).
static void
s_expire (gw_loop_t *loop, int64_t now)
{
    while (loop->head && loop->head->deadline_ms <= now) {
        gw_req_t *req = loop->head;
        maas_client_forget (loop->client, req->job);
        gw_stats_job (loop->gw->stats, "timeout");
        gw_req_error (req, 504, "deadline exceeded: no result within %d ms (job %s)",
                      loop->gw->config.request_timeout_ms, req->job);
        s_resume (req);
    }
}

//  -- API keys

//  Routes anyone may call, so probes need no key: liveness and readiness.
static bool
s_open_route (const char *method, const char *url)
{
    return strcmp (method, "GET") == 0
        && (strcmp (url, "/v2/health/live") == 0 || strcmp (url, "/v2/health/ready") == 0);
}

//  The token of an "Authorization: Bearer TOKEN" header, or NULL.
static const char *
s_bearer (const char *header)
{
    if (!header || strncasecmp (header, "Bearer ", 7) != 0)
        return NULL;
    header += 7 + strspn (header + 7, " ");
    return *header ? header : NULL;
}

//  One line per refusal, at most one a second per loop (a flood of bad
//  tokens must not flood the log); never the token, only the key's name.
static void
s_auth_log (gw_req_t *req, const char *reason)
{
    gw_loop_t *loop = req->loop;
    int64_t now = maas_clock_mono_ms ();
    if (now < loop->auth_log_at) {
        loop->auth_quiet++;
        return;
    }
    loop->auth_log_at = now + S_AUTH_LOG_MS;
    char peer[INET_ADDRSTRLEN] = "-", path[128];
    const union MHD_ConnectionInfo *info =
        MHD_get_connection_info (req->conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    if (info && info->client_addr && info->client_addr->sa_family == AF_INET)
        inet_ntop (AF_INET, &((const struct sockaddr_in *) info->client_addr)->sin_addr, peer,
                   sizeof peer);
    //  The path is unescaped by MHD: no control character reaches the log.
    snprintf (path, sizeof path, "%s", req->url ? req->url : "");
    for (char *c = path; *c; c++)
        *c = isprint ((unsigned char) *c) && *c != ' ' ? *c : '?';
    maas_warn ("gateway", "refused reason=%s key=%s path=%s peer=%s unlogged=%u", reason,
               req->key[0] ? req->key : "-", path, peer, loop->auth_quiet);
    loop->auth_quiet = 0;
}

//  Re-read the key file if it changed (at most every MAAS_APIKEY_CHECK_MS).
static void
s_keys_refresh (gw_loop_t *loop)
{
    maas_err_t err;
    int rc = maas_apikey_refresh (loop->keys, maas_clock_mono_ms (), &err);
    //  Each loop reloads its own copy (no lock), and says so once per change.
    int index = (int) (loop - loop->gw->loops);
    if (rc > 0)
        maas_info ("gateway", "api keys reloaded keys=%zu loop=%d", maas_apikey_count (loop->keys),
                   index);
    else if (rc < 0)
        maas_error ("gateway", "api keys not reloaded keys=%zu loop=%d error=%s",
                    maas_apikey_count (loop->keys), index, err.text);
}

//  true if REQ may go on: no --api-keys, an open route, or a known key
//  (its rights kept for gw_req_allow); else false after answering 401.
static bool
s_authenticate (gw_req_t *req, const char *method)
{
    gw_loop_t *loop = req->loop;
    req->rights = -1;
    req->open = !loop->keys || s_open_route (method, req->url);
    if (req->open)
        return true;
    s_keys_refresh (loop);
    const char *token = s_bearer (
        MHD_lookup_connection_value (req->conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION));
    const char *name = NULL;
    req->rights = token ? maas_apikey_lookup (loop->keys, token, &name) : -1;
    if (req->rights >= 0) {
        snprintf (req->key, sizeof req->key, "%s", name);
        return true;
    }
    gw_stats_auth (loop->gw->stats, token ? GW_AUTH_UNKNOWN : GW_AUTH_MISSING);
    s_auth_log (req, token ? "unknown" : "missing");
    gw_req_error (req, 401, "%s (maas keygen NAME --api FILE makes one)",
                  token ? "API key not known: revoked or mistyped"
                        : "API key needed: send Authorization: Bearer TOKEN");
    if (req->response)
        MHD_add_response_header (req->response, MHD_HTTP_HEADER_WWW_AUTHENTICATE,
                                 token ? "Bearer realm=\"maas\", error=\"invalid_token\""
                                       : "Bearer realm=\"maas\"");
    return false;
}

bool
gw_req_allow (gw_req_t *req, int needed, const char *what)
{
    if (req->open || (req->rights >= 0 && (!needed || maas_curve_allows (req->rights, needed))))
        return true;
    gw_stats_auth (req->loop->gw->stats, GW_AUTH_FORBIDDEN);
    s_auth_log (req, "forbidden");
    gw_req_error (req, 403, "API key '%s' may not %s: that needs role %s", req->key, what,
                  maas_curve_right_name (needed));
    return false;
}

//  -- MHD callbacks

//  Queue the answer made for REQ; count it.
static enum MHD_Result
s_queue (gw_req_t *req)
{
    if (!req->response)
        return MHD_NO;
    enum MHD_Result rc = MHD_queue_response (req->conn, req->status, req->response);
    MHD_destroy_response (req->response);
    req->response = NULL;
    double seconds = (double) (maas_clock_mono_us () - req->start_us) / 1e6;
    gw_stats_request (req->loop->gw->stats, req->route, req->status, seconds);
    return rc;
}

static gw_req_t *
s_req_new (gw_loop_t *loop, struct MHD_Connection *conn)
{
    gw_req_t *req = calloc (1, sizeof *req);
    if (!req)
        return NULL;
    req->loop = loop;
    req->conn = conn;
    req->route = GW_ROUTE_OTHER;
    req->start_us = maas_clock_mono_us ();
    gw_buf_init (&req->body);
    const char *length =
        MHD_lookup_connection_value (conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
    if (length && strtoull (length, NULL, 10) > loop->gw->config.max_body)
        req->too_big = true;
    return req;
}

//  Take CHUNK of the body, or note it is over the limit.
static void
s_take_body (gw_req_t *req, const char *chunk, size_t size)
{
    if (req->too_big || req->body.size + size > req->loop->gw->config.max_body) {
        req->too_big = true;
        gw_buf_clear (&req->body);
        return;
    }
    gw_buf_append (&req->body, chunk, size);
}

static void
s_dispatch (gw_req_t *req, const char *method, const char *url)
{
    if (req->too_big) {
        gw_req_error (req, 413, "request body over %zu bytes (--max-body)",
                      req->loop->gw->config.max_body);
        return;
    }
    if (req->body.failed) {
        gw_req_error (req, 500, "gateway: out of memory reading the body");
        return;
    }
    gw_http_t http = {.method = method,
                      .url = url,
                      .body = req->body.data ? req->body.data : "",
                      .body_size = req->body.size,
                      .header_length = MHD_lookup_connection_value (
                          req->conn, MHD_HEADER_KIND, "Inference-Header-Content-Length")};
    gw_route (req, &http);
}

static enum MHD_Result
s_access (void *cls, struct MHD_Connection *conn, const char *url, const char *method,
          const char *version, const char *upload_data, size_t *upload_data_size, void **con_cls)
{
    gw_loop_t *loop = cls;
    gw_req_t *req = *con_cls;
    if (!req) {
        *con_cls = req = s_req_new (loop, conn);
        if (!req)
            return MHD_NO;
        req->url = url;
        if (!s_authenticate (req, method)) {
            req->refused = true;
            return s_queue (req);    //  401 before reading the body
        }
        if (req->too_big) {
            s_dispatch (req, method, url);    //  413 before reading the body
            return s_queue (req);
        }
        return MHD_YES;
    }
    if (req->response)
        return s_queue (req);
    if (req->refused)
        return MHD_NO;    //  a body after the 401: close rather than route it
    if (*upload_data_size) {
        s_take_body (req, upload_data, *upload_data_size);
        *upload_data_size = 0;
        return MHD_YES;
    }
    if (req->job[0])
        return MHD_YES;    //  woken while still waiting: keep waiting
    s_dispatch (req, method, url);
    return req->response ? s_queue (req) : MHD_YES;
}

static void
s_completed (void *cls, struct MHD_Connection *conn, void **con_cls,
             enum MHD_RequestTerminationCode code)
{
    gw_req_t *req = *con_cls;
    if (!req)
        return;
    if (req->job[0]) {
        maas_client_forget (req->loop->client, req->job);
        s_unlink (req->loop, req);
    }
    if (req->response)
        MHD_destroy_response (req->response);
    free (req->spec.id);
    free (req->spec.feature_names);
    gw_buf_clear (&req->body);
    free (req);
    *con_cls = NULL;
}

//  -- the loops

static int
s_poll_timeout (gw_loop_t *loop, int64_t now)
{
    int64_t wait = S_TURN_MS;
    if (loop->head && loop->head->deadline_ms - now < wait)
        wait = loop->head->deadline_ms - now;
    MHD_UNSIGNED_LONG_LONG mhd;
    if (MHD_get_timeout (loop->daemon, &mhd) == MHD_YES && (int64_t) mhd < wait)
        wait = (int64_t) mhd;
    return wait < 0 ? 0 : (int) wait;
}

static void *
s_loop_run (void *arg)
{
    gw_loop_t *loop = arg;
    const union MHD_DaemonInfo *info = MHD_get_daemon_info (loop->daemon, MHD_DAEMON_INFO_EPOLL_FD);
    zmq_pollitem_t items[] = {{NULL, info->epoll_fd, ZMQ_POLLIN, 0},
                              {maas_client_socket (loop->client), 0, ZMQ_POLLIN, 0}};
    while (!atomic_load (&loop->gw->stop)) {
        items[1].socket = maas_client_socket (loop->client);    //  new after a CURVE redial
        if (zmq_poll (items, 2, s_poll_timeout (loop, maas_clock_mono_ms ())) < 0 && errno != EINTR)
            break;
        maas_client_poll (loop->client, 0);
        s_expire (loop, maas_clock_mono_ms ());
        gw_sse_set_tick (loop->sse, maas_clock_mono_ms ());
        MHD_run (loop->daemon);
    }
    //  Stopping: whoever still waits gets 503, then MHD sends it.
    while (loop->head) {
        gw_req_error (loop->head, 503, "gateway: shutting down");
        maas_client_forget (loop->client, loop->head->job);
        s_resume (loop->head);
    }
    gw_sse_set_end_all (loop->sse);
    MHD_run (loop->daemon);
    return NULL;
}

static int
s_loop_init (gw_t *self, gw_loop_t *loop, char *err, size_t err_size)
{
    const gw_config_t *cfg = &self->config;
    loop->gw = self;
    loop->models = gw_models_new (&cfg->redis, cfg->prefix, err, err_size);
    if (!loop->models)
        return -1;
    loop->sse = gw_sse_set_new (&cfg->redis, cfg->prefix);
    maas_err_t why;
    loop->client = maas_client_new (cfg->broker, &why);
    if (!loop->client) {
        snprintf (err, err_size, "gateway: %s (--broker)", why.text);
        return -1;
    }
    if (!loop->sse) {
        snprintf (err, err_size, "gateway: out of memory");
        return -1;
    }
    if (maas_client_set_curve (loop->client, cfg->curve_key, cfg->broker_key) != 0) {
        snprintf (err, err_size, "gateway: %s", maas_client_error (loop->client));
        return -1;
    }
    if (cfg->api_keys && !(loop->keys = maas_apikey_new (cfg->api_keys, &why))) {
        snprintf (err, err_size, "--api-keys: %s", why.text);
        return -1;
    }
    unsigned limit = cfg->max_connections / (unsigned) cfg->threads;
    unsigned flags = MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG;
    //  Without TLS the option list ends before the certificate's options.
    loop->daemon = MHD_start_daemon (
        flags | (self->tls_cert ? MHD_USE_TLS : 0), 0, NULL, NULL, s_access, loop,
        MHD_OPTION_LISTEN_SOCKET, self->listen_fd, MHD_OPTION_NOTIFY_COMPLETED, s_completed, loop,
        MHD_OPTION_CONNECTION_LIMIT, limit ? limit : 1u, MHD_OPTION_CONNECTION_TIMEOUT,
        cfg->idle_timeout_s, self->tls_cert ? MHD_OPTION_HTTPS_MEM_CERT : MHD_OPTION_END,
        self->tls_cert, MHD_OPTION_HTTPS_MEM_KEY, self->tls_key, MHD_OPTION_END);
    if (!loop->daemon) {
        snprintf (err, err_size, "gateway: libmicrohttpd would not start a daemon");
        return -1;
    }
    return 0;
}

static void
s_loop_fini (gw_loop_t *loop)
{
    if (loop->daemon) {
        MHD_quiesce_daemon (loop->daemon);    //  the listen socket is ours to close
        MHD_stop_daemon (loop->daemon);
    }
    gw_sse_set_destroy (&loop->sse);    //  after the daemon: it freed the streams
    maas_client_destroy (&loop->client);
    gw_models_destroy (&loop->models);
    maas_apikey_destroy (&loop->keys);
}

//  -- TLS

//  All of PATH (FLAG's file) as text, the caller frees; NULL with ERR.
static char *
s_read_pem (const char *flag, const char *path, char *err, size_t err_size)
{
    FILE *file = fopen (path, "r");
    if (!file) {
        snprintf (err, err_size, "%s %s: %s", flag, path, strerror (errno));
        return NULL;
    }
    char *text = malloc (S_TLS_FILE_MAX + 1);
    size_t got = text ? fread (text, 1, S_TLS_FILE_MAX + 1, file) : 0;
    fclose (file);
    if (text && got > 0 && got <= S_TLS_FILE_MAX) {
        text[got] = '\0';
        return text;
    }
    snprintf (err, err_size, "%s %s: %s", flag, path,
              !text     ? "out of memory"
                  : got ? "over 1 MiB: not a PEM file"
                        : "empty");
    free (text);
    return NULL;
}

//  CERT and KEY read as GnuTLS (MHD's TLS) reads them, so a bad or
//  mismatched file is named at start-up: MHD itself would only fail to start.
static int
s_tls_check (const gw_config_t *cfg, const char *cert, const char *key, char *err, size_t err_size)
{
    gnutls_datum_t c = {(unsigned char *) cert, (unsigned) strlen (cert)};
    gnutls_datum_t k = {(unsigned char *) key, (unsigned) strlen (key)};
    gnutls_x509_crt_t crt = NULL;
    gnutls_x509_privkey_t pkey = NULL;
    gnutls_certificate_credentials_t creds = NULL;
    int rc = gnutls_x509_crt_init (&crt);
    if (rc >= 0 && (rc = gnutls_x509_crt_import (crt, &c, GNUTLS_X509_FMT_PEM)) < 0)
        snprintf (err, err_size, "--tls-cert %s: not a PEM certificate (%s)", cfg->tls_cert,
                  gnutls_strerror (rc));
    else if (rc >= 0 && (rc = gnutls_x509_privkey_init (&pkey)) >= 0
             && (rc = gnutls_x509_privkey_import (pkey, &k, GNUTLS_X509_FMT_PEM)) < 0)
        snprintf (err, err_size, "--tls-key %s: not a PEM private key (%s)", cfg->tls_key,
                  gnutls_strerror (rc));
    else if (rc >= 0 && (rc = gnutls_certificate_allocate_credentials (&creds)) >= 0
             && (rc = gnutls_certificate_set_x509_key_mem (creds, &c, &k, GNUTLS_X509_FMT_PEM)) < 0)
        snprintf (err, err_size, "--tls-key %s does not go with --tls-cert %s: %s", cfg->tls_key,
                  cfg->tls_cert,
                  rc == GNUTLS_E_CERTIFICATE_KEY_MISMATCH ? "it is another certificate's key"
                                                          : gnutls_strerror (rc));
    else if (rc < 0)
        snprintf (err, err_size, "gateway: GnuTLS: %s", gnutls_strerror (rc));
    if (creds)
        gnutls_certificate_free_credentials (creds);
    if (pkey)
        gnutls_x509_privkey_deinit (pkey);
    if (crt)
        gnutls_x509_crt_deinit (crt);
    return rc < 0 ? -1 : 0;
}

//  --tls-cert and --tls-key into SELF (both or neither), checked.
static int
s_tls_load (gw_t *self, char *err, size_t err_size)
{
    const gw_config_t *cfg = &self->config;
    if (!cfg->tls_cert && !cfg->tls_key)
        return 0;
    if (!cfg->tls_cert || !cfg->tls_key) {
        snprintf (err, err_size, "give both --tls-cert and --tls-key (or neither: plain HTTP)");
        return -1;
    }
    if (MHD_is_feature_supported (MHD_FEATURE_TLS) != MHD_YES) {
        snprintf (err, err_size,
                  "--tls-cert: this libmicrohttpd was built without TLS; use "
                  "one built with GnuTLS (Debian's libmicrohttpd12 is)");
        return -1;
    }
    self->tls_cert = s_read_pem ("--tls-cert", cfg->tls_cert, err, err_size);
    self->tls_key = self->tls_cert ? s_read_pem ("--tls-key", cfg->tls_key, err, err_size) : NULL;
    if (!self->tls_key)
        return -1;
    return s_tls_check (cfg, self->tls_cert, self->tls_key, err, err_size);
}

//  -- the listen socket

static int
s_listen (gw_t *self, const char *http, char *err, size_t err_size)
{
    struct sockaddr_in addr;
    maas_err_t why;
    if (maas_listen_addr_parse (http, &addr, &why) != 0) {
        snprintf (err, err_size, "--http %s", why.text);
        return -1;
    }
    int fd = socket (AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int on = 1;
    socklen_t len = sizeof addr;
    if (fd < 0 || setsockopt (fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on) != 0
        || bind (fd, (struct sockaddr *) &addr, sizeof addr) != 0 || listen (fd, 1024) != 0
        || getsockname (fd, (struct sockaddr *) &addr, &len) != 0) {
        snprintf (err, err_size, "--http %s: %s", http, strerror (errno));
        if (fd >= 0)
            close (fd);
        return -1;
    }
    self->listen_fd = fd;
    self->port = ntohs (addr.sin_port);
    return 0;
}

gw_t *
gw_new (const gw_config_t *config, char *err, size_t err_size)
{
    gw_t *self = calloc (1, sizeof *self);
    if (!self) {
        snprintf (err, err_size, "gateway: out of memory");
        return NULL;
    }
    self->config = *config;
    self->listen_fd = -1;
    atomic_init (&self->stop, false);
    self->stats = gw_stats_new ();
    self->loops = calloc ((size_t) config->threads, sizeof *self->loops);
    if (!self->stats || !self->loops || s_tls_load (self, err, err_size) != 0
        || s_listen (self, config->http, err, err_size) != 0)
        goto fail;
    for (int i = 0; i < config->threads; i++)
        if (s_loop_init (self, &self->loops[i], err, err_size) != 0)
            goto fail;
    for (; self->started < config->threads; self->started++)
        if (pthread_create (&self->loops[self->started].thread, NULL, s_loop_run,
                            &self->loops[self->started])
            != 0) {
            snprintf (err, err_size, "gateway: cannot start thread: %s", strerror (errno));
            goto fail;
        }
    return self;
fail:
    gw_destroy (&self);
    return NULL;
}

void
gw_destroy (gw_t **self_p)
{
    gw_t *self = *self_p;
    if (!self)
        return;
    atomic_store (&self->stop, true);
    for (int i = 0; i < self->started; i++)
        pthread_join (self->loops[i].thread, NULL);
    for (int i = 0; self->loops && i < self->config.threads; i++)
        s_loop_fini (&self->loops[i]);
    if (self->listen_fd >= 0)
        close (self->listen_fd);
    gw_stats_destroy (&self->stats);
    free (self->loops);
    free (self->tls_cert);
    if (self->tls_key)
        explicit_bzero (self->tls_key, strlen (self->tls_key));
    free (self->tls_key);
    free (self);
    *self_p = NULL;
}

const gw_config_t *
gw_req_config (gw_req_t *req)
{
    return &req->loop->gw->config;
}
