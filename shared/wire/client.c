/*  client.c: the producer API. Keeps every job in flight (its header and,
 *  until ACCEPTED, its payload) so it can resend a SUBMIT that got no
 *  answer or FETCH the result of an accepted job that has gone quiet. */
#include "client.h"
#include "clock.h"
#include "codec.h"
#include "curve.h"
#include "log.h"

#include <czmq.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#define S_REDIAL_MS 250    //  a refused CURVE socket is made again at most this often

typedef struct {
    char id[MAAS_PROTO_ID_MAX + 1];    //  job id (the hash key)
    maas_result_fn *fn;                //  callback, or NULL: keep the result
    void *arg;                         //  its argument
    zmq_msg_t header;                  //  SUBMIT header, for resending
    zmq_msg_t payload;                 //  SUBMIT payload until ACCEPTED
    bool submitted;                    //  header is a SUBMIT (not a fetch-only job)
    bool accepted;                     //  a broker said ACCEPTED
    bool untracked;                    //  no status in Redis: FETCH cannot find it
    int64_t news_ms;                   //  monotonic ms of the last word about it
} pending_t;

struct _maas_client_t {
    zsock_t *sock;                            //  DEALER connected to every broker
    char *endpoints;                          //  the brokers, comma-separated, owned
    char identity[MAAS_PROTO_ID_SIZE + 2];    //  our routing id, kept across reconnects
    maas_curve_t *curve;                      //  CurveZMQ keys, owned; NULL: plain
    int64_t redial_ms;                        //  monotonic: no new socket before this
    void *handle;                             //  its libzmq socket
    zhashx_t *jobs;                           //  id → pending_t, owns entries
    zhashx_t *done;                           //  id → maas_result_t awaiting _wait, owns
    maas_proto_idgen_t idgen;                 //  job id generator state
    msgpack_unpacked scratch;                 //  reused header decoding space
    int retry_ms;                             //  silence before asking again
    size_t window;                            //  most jobs in flight
    int64_t sweep_ms;                         //  next scan for silent jobs, monotonic
    bool pong;                                //  a PONG arrived
    maas_progress_fn *progress_fn;            //  told of PROGRESS reports, or NULL
    void *progress_arg;                       //  its argument
    int64_t now_ms;                           //  monotonic ms, read once per drain
    maas_err_t err;                           //  why the last call failed
};

static void
s_pending_destroy (void **item_p)
{
    pending_t *pending = *item_p;
    if (pending) {
        zmq_msg_close (&pending->header);
        zmq_msg_close (&pending->payload);
        free (pending);
        *item_p = NULL;
    }
}

static void
s_result_destructor (void **item_p)
{
    maas_result_destroy ((maas_result_t **) item_p);
}

bool
maas_result_retryable (const maas_result_t *result)
{
    msgpack_unpacked top;
    msgpack_unpacked_init (&top);
    maas_codec_map_t map;
    bool retryable = true;
    if (result->header
        && maas_proto_open_map (result->header, result->header_size, MAAS_PROTO_HEADER_MAX,
                                "header", &top, &map, NULL)
            == 0)
        retryable = maas_proto_retryable (&map);
    msgpack_unpacked_destroy (&top);
    return retryable;
}

void
maas_result_destroy (maas_result_t **result_p)
{
    maas_result_t *result = *result_p;
    if (!result)
        return;
    free (result->error);
    free (result->data);
    free (result->header);
    free (result);
    *result_p = NULL;
}

static zhashx_t *
s_table (zhashx_destructor_fn *destructor)
{
    zhashx_t *table = zhashx_new ();
    if (table) {
        zhashx_set_key_duplicator (table, NULL);    //  keys live in the values
        zhashx_set_key_destructor (table, NULL);
        zhashx_set_destructor (table, destructor);
    }
    return table;
}

static int
s_connect_all (maas_client_t *self, const char *endpoints)
{
    char *list = strdup (endpoints), *save = NULL;
    if (!list)
        return maas_err_set (&self->err, MAAS_ERR_NOMEM, "out of memory");
    int connected = 0;
    for (char *ep = strtok_r (list, ",", &save); ep; ep = strtok_r (NULL, ",", &save)) {
        if (zsock_connect (self->sock, "%s", ep) != 0) {
            maas_err_set (&self->err, MAAS_ERR_INPUT, "cannot connect to '%s': %s", ep,
                          maas_proto_endpoint_error (errno));
            maas_error ("client", "connect failed endpoint=%s error=%s", ep, zmq_strerror (errno));
            free (list);
            return -1;
        }
        connected++;
    }
    free (list);
    return connected > 0
        ? 0
        : maas_err_set (&self->err, MAAS_ERR_INPUT, "no broker endpoint in '%s'", endpoints);
}

//  (Re)make the socket with our identity, options and keys; connect it.
static int
s_open (maas_client_t *self)
{
    zsock_destroy (&self->sock);
    self->sock = zsock_new (ZMQ_DEALER);
    if (!self->sock)
        return maas_err_set (&self->err, MAAS_ERR_IO, "cannot make a ZeroMQ socket: %s",
                             zmq_strerror (errno));
    zsock_set_identity (self->sock, self->identity);
    zsock_set_sndhwm (self->sock, 0);
    zsock_set_rcvhwm (self->sock, 0);
    zsock_set_linger (self->sock, 0);
    if (self->curve)
        maas_curve_apply (self->curve, self->sock);
    self->handle = zsock_resolve (self->sock);
    return s_connect_all (self, self->endpoints);
}

maas_client_t *
maas_client_new (const char *endpoints, maas_err_t *err)
{
    if (!endpoints || !*endpoints) {
        maas_err_set (err, MAAS_ERR_INPUT, "client: no broker endpoint given");
        return NULL;
    }
    maas_client_t *self = calloc (1, sizeof *self);
    if (!self) {
        maas_err_set (err, MAAS_ERR_NOMEM, "client: out of memory");
        return NULL;
    }
    self->retry_ms = 2000;
    self->window = 10000;
    msgpack_unpacked_init (&self->scratch);
    self->jobs = s_table (s_pending_destroy);
    self->done = s_table (NULL);    //  results are handed out: freed by hand
    self->endpoints = strdup (endpoints);
    //  A stable routing id lets a restarted broker route results to us.
    memcpy (self->identity, "c-", 2);
    maas_proto_id_new (&self->idgen, self->identity + 2);
    if (!self->jobs || !self->done || !self->endpoints)
        maas_err_set (err, MAAS_ERR_NOMEM, "client: out of memory");
    else if (s_open (self) != 0) {
        maas_err_copy (err, &self->err);
        maas_err_prefix (err, "client");
    }
    else
        return self;
    maas_client_destroy (&self);
    return NULL;
}

void
maas_client_destroy (maas_client_t **self_p)
{
    maas_client_t *self = *self_p;
    if (!self)
        return;
    zhashx_destroy (&self->jobs);
    if (self->done)
        for (void *r = zhashx_first (self->done); r; r = zhashx_next (self->done))
            s_result_destructor (&r);
    zhashx_destroy (&self->done);
    zsock_destroy (&self->sock);
    maas_curve_destroy (&self->curve);
    free (self->endpoints);
    msgpack_unpacked_destroy (&self->scratch);
    free (self);
    *self_p = NULL;
}

const char *
maas_client_error (const maas_client_t *self)
{
    return self->err.text;
}
void
maas_client_set_retry (maas_client_t *self, int retry_ms)
{
    self->retry_ms = retry_ms;
}
void
maas_client_set_window (maas_client_t *self, int window)
{
    self->window = (size_t) window;
}
size_t
maas_client_pending (const maas_client_t *self)
{
    return zhashx_size (self->jobs);
}
void *
maas_client_socket (maas_client_t *self)
{
    return self->handle;
}

int
maas_client_set_curve (maas_client_t *self, const char *secret_path, const char *broker_path)
{
    if (!secret_path && !broker_path)
        return 0;
    maas_err_t err;
    maas_curve_t *curve = maas_curve_new (secret_path, broker_path, &err);
    if (!curve)
        return maas_err_copy (&self->err, &err);
    maas_curve_destroy (&self->curve);
    self->curve = curve;
    if (s_open (self) != 0)
        return maas_err_set (&self->err, MAAS_ERR_IO, "cannot reconnect to %s with CURVE keys",
                             self->endpoints);
    return 0;
}

void
maas_client_set_progress (maas_client_t *self, maas_progress_fn *fn, void *arg)
{
    self->progress_fn = fn;
    self->progress_arg = arg;
}

//  A send's RC, after dialling again if it failed under CURVE: libzmq drops
//  a connection whose key the broker refused for good, and the key may be
//  allowed by now (docs/security.md, rotation). The jobs wait for a retry.
static int
s_sent (maas_client_t *self, int rc)
{
    int64_t now = maas_clock_mono_ms ();
    if (rc == 0 || !self->curve || now < self->redial_ms)
        return rc;
    self->redial_ms = now + S_REDIAL_MS;
    maas_debug ("client", "no broker took our key: dialling again endpoints=%s", self->endpoints);
    if (s_open (self) != 0)
        maas_warn ("client", "cannot dial again endpoints=%s", self->endpoints);
    return rc;
}

//  Send copies of the kept frames (a reference for large frames, no data copy).
static int
s_send_copy (maas_client_t *self, int cmd, zmq_msg_t *header, zmq_msg_t *payload)
{
    uint8_t command = (uint8_t) cmd;
    zmq_msg_t header_copy, payload_copy;
    zmq_msg_init (&header_copy);
    zmq_msg_init (&payload_copy);
    zmq_msg_copy (&header_copy, header);
    zmq_msg_copy (&payload_copy, payload);
    int rc = zmq_send (self->handle, MAAS_PROTO_TAG, MAAS_PROTO_TAG_SIZE, ZMQ_SNDMORE) < 0
            || zmq_send (self->handle, &command, 1, ZMQ_SNDMORE) < 0
            || zmq_msg_send (&header_copy, self->handle, ZMQ_SNDMORE) < 0
            || zmq_msg_send (&payload_copy, self->handle, 0) < 0
        ? -1
        : 0;
    zmq_msg_close (&header_copy);
    zmq_msg_close (&payload_copy);
    return s_sent (self, rc);
}

static int
s_send_id (maas_client_t *self, int cmd, const char *id)
{
    maas_proto_buf_t buf;
    maas_proto_buf_init (&buf);
    maas_proto_pack_status (&buf, id, NULL, NULL, NULL, 0);
    return s_sent (self, maas_proto_send (self->handle, NULL, 0, cmd, buf.data, buf.size, NULL));
}

//  -1 with the reason if VALUE (KEY of a submit) has more than MAX bytes.
static int
s_check_length (maas_client_t *self, const char *key, const char *value, size_t max)
{
    if (value && strlen (value) > max)
        return maas_err_set (&self->err, MAAS_ERR_INPUT,
                             "submit: %s '%.64s' is longer than %zu bytes", key, value, max);
    return 0;
}

//  Fill the wire form of SPEC into JOB; -1 with the reason if it is invalid.
static int
s_spec_to_job (maas_client_t *self, const maas_submit_t *spec, maas_proto_job_t *job)
{
    memset (job, 0, sizeof *job);
    if (s_check_length (self, "id", spec->id, MAAS_PROTO_ID_MAX) != 0
        || s_check_length (self, "kind", spec->kind, MAAS_PROTO_KIND_MAX) != 0
        || s_check_length (self, "model", spec->model, MAAS_PROTO_MODEL_MAX) != 0
        || s_check_length (self, "alias", spec->alias, MAAS_PROTO_ALIAS_MAX) != 0)
        return -1;
    if (spec->id)
        maas_proto_copy (job->id, sizeof job->id, spec->id);
    else
        maas_proto_id_new (&self->idgen, job->id);
    maas_proto_copy (job->kind, sizeof job->kind, spec->kind ? spec->kind : "");
    maas_proto_copy (job->model, sizeof job->model, spec->model ? spec->model : "");
    maas_proto_copy (job->alias, sizeof job->alias, spec->alias ? spec->alias : "");
    job->version = spec->version;
    job->priority = spec->priority;
    job->deadline_ms = spec->deadline_ms;
    job->track = !spec->untracked;
    job->durable = !spec->ephemeral;
    job->params = spec->params;
    job->params_size = spec->params_size;
    if (maas_proto_job_check (job, &self->err) != 0)
        return maas_err_prefix (&self->err, "submit");
    return 0;
}

static pending_t *
s_pending_new (const char *id, maas_result_fn *fn, void *arg)
{
    pending_t *pending = calloc (1, sizeof *pending);
    if (!pending)
        return NULL;
    maas_proto_copy (pending->id, sizeof pending->id, id);
    pending->fn = fn;
    pending->arg = arg;
    zmq_msg_init (&pending->header);
    zmq_msg_init (&pending->payload);
    pending->news_ms = maas_clock_mono_ms ();
    return pending;
}

int
maas_client_submit (maas_client_t *self, const maas_submit_t *spec, const void *payload,
                    size_t size, maas_result_fn *fn, void *arg, char id_out[MAAS_PROTO_ID_MAX + 1])
{
    maas_proto_job_t job;
    if (s_spec_to_job (self, spec, &job) != 0)
        return -1;
    if (zhashx_lookup (self->jobs, job.id))
        return maas_err_set (&self->err, MAAS_ERR_INPUT, "submit: job %s is already in flight",
                             job.id);
    maas_proto_buf_t buf_space, *buf = &buf_space;
    maas_proto_buf_init (buf);
    int rc = maas_proto_job_pack (&job, buf);
    pending_t *pending = rc == 0 ? s_pending_new (job.id, fn, arg) : NULL;
    if (pending) {
        zmq_msg_init_size (&pending->header, buf->size);
        memcpy (zmq_msg_data (&pending->header), buf->data, buf->size);
        zmq_msg_init_size (&pending->payload, size);
        if (size)
            memcpy (zmq_msg_data (&pending->payload), payload, size);
    }
    if (!pending)
        return maas_err_set (&self->err, MAAS_ERR_INPUT,
                             "submit: header too large (params over %s)", "4 KiB");
    while (zhashx_size (self->jobs) >= self->window)
        if (maas_client_poll (self, 100) < 0)
            break;
    pending->submitted = true;
    pending->untracked = !job.track;
    zhashx_insert (self->jobs, pending->id, pending);
    if (id_out)
        maas_proto_copy (id_out, MAAS_PROTO_ID_MAX + 1, job.id);
    s_send_copy (self, MAAS_PROTO_SUBMIT, &pending->header, &pending->payload);
    return 0;
}

int
maas_client_cancel (maas_client_t *self, const char *id)
{
    if (!id || !maas_proto_id_valid (id, strlen (id)))
        return maas_err_set (&self->err, MAAS_ERR_INPUT, "cancel: bad job id '%s'",
                             id ? id : "(null)");
    return s_send_id (self, MAAS_PROTO_CANCEL, id) == 0
        ? 0
        : maas_err_set (&self->err, MAAS_ERR_IO, "cancel: %s", zmq_strerror (errno));
}

int
maas_client_forget (maas_client_t *self, const char *id)
{
    if (!id || !zhashx_lookup (self->jobs, id))
        return maas_err_set (&self->err, MAAS_ERR_INPUT, "forget: job %s is not awaited",
                             id ? id : "(null)");
    zhashx_delete (self->jobs, id);
    return 0;
}

int
maas_client_fetch (maas_client_t *self, const char *id, maas_result_fn *fn, void *arg)
{
    if (!id || !maas_proto_id_valid (id, strlen (id)))
        return maas_err_set (&self->err, MAAS_ERR_INPUT, "fetch: bad job id '%s'",
                             id ? id : "(null)");
    if (zhashx_lookup (self->jobs, id))
        return maas_err_set (&self->err, MAAS_ERR_INPUT, "fetch: job %s is already awaited", id);
    pending_t *pending = s_pending_new (id, fn, arg);
    if (!pending)
        return maas_err_set (&self->err, MAAS_ERR_NOMEM, "fetch: %s", "out of memory");
    pending->accepted = true;
    zhashx_insert (self->jobs, pending->id, pending);
    s_send_id (self, MAAS_PROTO_FETCH, id);
    return 0;
}

//  Hand a finished job's outcome to its callback or keep it for _wait.
static void
s_finish (maas_client_t *self, pending_t *pending, const char *status, const char *error,
          zmq_msg_t *header, zmq_msg_t *payload)
{
    maas_result_t local, *result = pending->fn ? &local : calloc (1, sizeof *result);
    memset (&local, 0, sizeof local);
    if (!result)
        return;
    maas_proto_copy (result->id, sizeof result->id, pending->id);
    maas_proto_copy (result->status, sizeof result->status, status);
    size_t size = payload ? zmq_msg_size (payload) : 0;
    size_t header_size = header ? zmq_msg_size (header) : 0;
    if (pending->fn) {
        result->error = (char *) error;
        result->data = size ? zmq_msg_data (payload) : NULL;
        result->header = header_size ? zmq_msg_data (header) : NULL;
    }
    else {
        result->error = error ? strdup (error) : NULL;
        result->data = size ? malloc (size) : NULL;
        result->header = header_size ? malloc (header_size) : NULL;
        if (result->data)
            memcpy (result->data, zmq_msg_data (payload), size);
        if (result->header)
            memcpy (result->header, zmq_msg_data (header), header_size);
    }
    result->size = result->data ? size : 0;
    result->header_size = result->header ? header_size : 0;
    if (pending->fn)
        pending->fn (result, pending->arg);
    else if (zhashx_insert (self->done, result->id, result) != 0)
        maas_result_destroy (&result);    //  already have one for this id
    zhashx_delete (self->jobs, pending->id);
}

static void
s_on_result (maas_client_t *self, pending_t *pending, maas_codec_map_t *map, maas_proto_msg_t *msg,
             int *finished)
{
    char status[16] = "failed", error[512] = "";
    if (maas_codec_map_str_copy (map, "status", status, sizeof status) != 0)
        snprintf (error, sizeof error, "bad RESULT from broker: %.480s", map->err.text);
    else if (maas_codec_map_find (map, "error"))
        maas_codec_map_str_copy (map, "error", error, sizeof error);
    s_finish (self, pending, status, error[0] ? error : NULL, &msg->frames[2],
              maas_proto_payload (msg));
    (*finished)++;
}

static void
s_on_rejected (maas_client_t *self, pending_t *pending, maas_codec_map_t *map, int *finished)
{
    char reason[32] = "", error[512] = "rejected";
    maas_codec_map_str_copy (map, "reason", reason, sizeof reason);
    maas_codec_map_str_copy (map, "error", error, sizeof error);
    if (pending->accepted && strcmp (reason, "unavailable") == 0)
        return;    //  job store down: it is still there, ask later
    bool lost = pending->accepted && pending->submitted && strcmp (reason, "unknown_job") == 0;
    if (lost && !pending->untracked && pending->submitted)
        return;    //  a broker without it; the owner will answer
    s_finish (self, pending, lost ? "lost" : "rejected", error, NULL, NULL);
    (*finished)++;
}

static void
s_on_progress (maas_client_t *self, const char *id, maas_codec_map_t *map)
{
    double progress;
    const char *text = "";
    size_t text_size = 0;
    if (!self->progress_fn)
        return;
    if (maas_codec_map_double (map, "progress", &progress) != 0
        || (maas_codec_map_find (map, "message")
            && maas_codec_map_str (map, "message", &text, &text_size) != 0)) {
        maas_warn ("client", "bad PROGRESS job=%s error=%s", id, map->err.text);
        return;
    }
    char message[1024];    //  a longer message is cut, not dropped
    snprintf (message, sizeof message, "%.*s",
              (int) (text_size < sizeof message ? text_size : sizeof message - 1), text);
    self->progress_fn (id, progress, message, self->progress_arg);
}

//  One message from a broker; counts finished jobs into FINISHED.
static void
s_handle (maas_client_t *self, maas_proto_msg_t *msg, int *finished)
{
    maas_err_t err;
    int cmd = maas_proto_check (msg, &err);
    if (cmd == MAAS_PROTO_PONG) {
        self->pong = true;
        return;
    }
    maas_codec_map_t map;
    char id[MAAS_PROTO_ID_MAX + 1];
    if (cmd < 0 || maas_proto_header_map (msg, &self->scratch, &map, &err) != 0
        || maas_codec_map_str_copy (&map, "id", id, sizeof id) != 0) {
        maas_warn ("client", "bad message from broker cmd=%d error=%s", cmd, err.text);
        return;
    }
    pending_t *pending = zhashx_lookup (self->jobs, id);
    if (!pending)
        return;    //  a duplicate answer: already delivered
    pending->news_ms = self->now_ms;
    if (cmd == MAAS_PROTO_ACCEPTED && !pending->accepted) {
        pending->accepted = true;    //  the broker has it now: from here on, FETCH
        zmq_msg_close (&pending->payload);
        zmq_msg_init (&pending->payload);
        zmq_msg_close (&pending->header);
        zmq_msg_init (&pending->header);
    }
    else if (cmd == MAAS_PROTO_PROGRESS)
        s_on_progress (self, id, &map);
    else if (cmd == MAAS_PROTO_RESULT)
        s_on_result (self, pending, &map, msg, finished);
    else if (cmd == MAAS_PROTO_REJECTED)
        s_on_rejected (self, pending, &map, finished);
}

//  Ask again about jobs that have been silent for RETRY_MS.
static void
s_sweep (maas_client_t *self)
{
    int64_t now = maas_clock_mono_ms ();
    if (now < self->sweep_ms)
        return;
    self->sweep_ms = now + self->retry_ms / 2;
    for (pending_t *p = zhashx_first (self->jobs); p; p = zhashx_next (self->jobs)) {
        if (now - p->news_ms < self->retry_ms)
            continue;
        p->news_ms = now;
        if (!p->accepted)
            s_send_copy (self, MAAS_PROTO_SUBMIT, &p->header, &p->payload);
        else
            s_send_id (self, MAAS_PROTO_FETCH, p->id);
    }
}

//  Read every message waiting; returns messages read, -1 on interrupt.
static int
s_drain (maas_client_t *self, int *finished)
{
    int count = 0;
    maas_proto_msg_t msg;
    self->now_ms = maas_clock_mono_ms ();
    while (maas_proto_recv (self->handle, &msg, false, ZMQ_DONTWAIT) == 0) {
        s_handle (self, &msg, finished);
        maas_proto_msg_close (&msg);
        count++;
    }
    return errno == EAGAIN ? count : -1;
}

int
maas_client_poll (maas_client_t *self, int timeout_ms)
{
    int64_t until = timeout_ms < 0 ? INT64_MAX : maas_clock_mono_ms () + timeout_ms;
    int finished = 0;
    while (true) {
        s_sweep (self);
        int got = s_drain (self, &finished);
        if (got != 0)
            return got < 0 ? -1 : finished;
        int64_t now = maas_clock_mono_ms ();
        if (now >= until)
            return finished;
        int64_t wait = until - now;
        if (wait > self->retry_ms / 2)
            wait = self->retry_ms / 2 > 0 ? self->retry_ms / 2 : 1;
        zmq_pollitem_t item = {self->handle, 0, ZMQ_POLLIN, 0};
        if (zmq_poll (&item, 1, (long) wait) < 0)
            return -1;
    }
}

maas_result_t *
maas_client_wait (maas_client_t *self, const char *id, int timeout_ms)
{
    int64_t until = timeout_ms < 0 ? INT64_MAX : maas_clock_mono_ms () + timeout_ms;
    while (true) {
        maas_result_t *result = zhashx_lookup (self->done, id);
        if (result) {
            zhashx_delete (self->done, id);
            return result;
        }
        pending_t *pending = zhashx_lookup (self->jobs, id);
        if (!pending || pending->fn) {
            maas_err_set (&self->err, MAAS_ERR_INPUT,
                          "wait: job %s is not awaited by this client without a callback", id);
            return NULL;
        }
        int64_t left = until - maas_clock_mono_ms ();
        if (left <= 0 || maas_client_poll (self, (int) (left > 1000 ? 1000 : left)) < 0) {
            maas_err_set (&self->err, MAAS_ERR_IO, "wait: job %s: timed out or interrupted", id);
            return NULL;
        }
    }
}

int
maas_client_wait_all (maas_client_t *self, int timeout_ms)
{
    int64_t until = timeout_ms < 0 ? INT64_MAX : maas_clock_mono_ms () + timeout_ms;
    while (zhashx_size (self->jobs) > 0) {
        int64_t left = until - maas_clock_mono_ms ();
        if (left <= 0 || maas_client_poll (self, (int) (left > 1000 ? 1000 : left)) < 0)
            break;
    }
    return (int) zhashx_size (self->jobs);
}

int
maas_client_ping (maas_client_t *self, int timeout_ms)
{
    self->pong = false;
    if (s_sent (self, maas_proto_send_empty (self->handle, NULL, 0, MAAS_PROTO_PING)) != 0)
        return maas_err_set (&self->err, MAAS_ERR_IO, "ping: %s", zmq_strerror (errno));
    int64_t until = maas_clock_mono_ms () + timeout_ms;
    while (!self->pong) {
        int64_t left = until - maas_clock_mono_ms ();
        if (left <= 0 || maas_client_poll (self, (int) left) < 0)
            return maas_err_set (&self->err, MAAS_ERR_IO, "ping: %s", "no PONG within the timeout");
    }
    return 0;
}
