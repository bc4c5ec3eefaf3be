/*  gateway.c: threads, the listen socket, each thread's event loop and the
 *  life of a request: read the body, route it, or suspend it on an infer
 *  job until the result or its deadline (gateway.h). */
#include "gateway.h"
#include "submit.h"
#include "sse.h"

#include <assert.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <zmq.h>

#define S_TURN_MS 100    //  longest a loop sleeps: how soon it sees a stop

struct _gw_t {
    gw_config_t config;    //  as given (strings borrowed from the caller)
    int listen_fd;         //  shared by every daemon; owned
    int port;              //  bound port
    gw_stats_t *stats;     //  counters, atomics shared by the loops
    gw_loop_t *loops;      //  config.threads loops; owned
    int started;           //  loops whose thread runs
    atomic_bool stop;      //  set once to end every loop
};

struct _gw_loop_t {
    gw_t *gw;                     //  the gateway (config, stats, stop flag)
    struct MHD_Daemon *daemon;    //  this thread's HTTP daemon
    maas_client_t *client;        //  this thread's broker client
    gw_models_t *models;          //  this thread's registry view
    gw_sse_set_t *sse;            //  this thread's event streams
    gw_req_t *head, *tail;        //  suspended requests, oldest first
    pthread_t thread;             //  runs s_loop_run
};

struct _gw_req_t {
    gw_loop_t *loop;                    //  the loop that owns it
    struct MHD_Connection *conn;        //  its connection
    gw_route_t route;                   //  metrics label
    gw_buf_t body;                      //  request body as read
    bool too_big;                       //  body passed --max-body
    int64_t start_us;                   //  monotonic, when it arrived
    struct MHD_Response *response;      //  the answer queued on resume, or NULL
    unsigned status;                    //  its status
    char job[MAAS_PROTO_ID_MAX + 1];    //  infer job awaited, "" if none
    int64_t deadline_ms;                //  monotonic: answered 504 after this
    gw_reply_spec_t spec;               //  how to write the result
    gw_req_t *prev, *next;              //  in the loop's suspended list
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
        if (req && req->too_big) {
            s_dispatch (req, method, url);    //  413 before reading the body
            return s_queue (req);
        }
        return req ? MHD_YES : MHD_NO;
    }
    if (req->response)
        return s_queue (req);
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
    loop->models = gw_models_new (cfg->redis, cfg->prefix, err, err_size);
    if (!loop->models)
        return -1;
    loop->sse = gw_sse_set_new (cfg->redis, cfg->prefix);
    loop->client = maas_client_new (cfg->broker);
    if (!loop->client || !loop->sse) {
        snprintf (err, err_size, "gateway: bad broker endpoint '%s'", cfg->broker);
        return -1;
    }
    if (maas_client_set_curve (loop->client, cfg->curve_key, cfg->broker_key) != 0) {
        snprintf (err, err_size, "gateway: %s", maas_client_error (loop->client));
        return -1;
    }
    unsigned limit = cfg->max_connections / (unsigned) cfg->threads;
    loop->daemon = MHD_start_daemon (
        MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG, 0, NULL, NULL, s_access, loop,
        MHD_OPTION_LISTEN_SOCKET, self->listen_fd, MHD_OPTION_NOTIFY_COMPLETED, s_completed, loop,
        MHD_OPTION_CONNECTION_LIMIT, limit ? limit : 1u, MHD_OPTION_CONNECTION_TIMEOUT,
        cfg->idle_timeout_s, MHD_OPTION_END);
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
}

//  -- the listen socket

static int
s_listen (gw_t *self, const char *http, char *err, size_t err_size)
{
    char host[64];
    const char *colon = strrchr (http, ':');
    struct sockaddr_in addr = {.sin_family = AF_INET};
    char *end;
    long port = colon ? strtol (colon + 1, &end, 10) : -1;
    if (!colon || colon - http >= (long) sizeof host || *end || port < 0 || port > 65535) {
        snprintf (err, err_size, "--http '%s': give ADDR:PORT, e.g. 127.0.0.1:8501", http);
        return -1;
    }
    snprintf (host, sizeof host, "%.*s", (int) (colon - http), http);
    if (inet_pton (AF_INET, host, &addr.sin_addr) != 1) {
        snprintf (err, err_size, "--http '%s': '%s' is not an IPv4 address", http, host);
        return -1;
    }
    addr.sin_port = htons ((uint16_t) port);
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
    if (!self->stats || !self->loops || s_listen (self, config->http, err, err_size) != 0)
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
    free (self);
    *self_p = NULL;
}

const gw_config_t *
gw_req_config (gw_req_t *req)
{
    return &req->loop->gw->config;
}
