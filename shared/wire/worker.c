/*  worker.c: the worker API. One DEALER per broker ("link"); jobs read
 *  while ticking wait in an inbox until _recv hands them out. A link that
 *  hears nothing for LIVENESS heartbeats is rebuilt with a fresh identity. */
#include "worker.h"
#include "clock.h"
#include "codec.h"
#include "curve.h"
#include "log.h"

#include <czmq.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct {
    char *endpoint;      //  broker backend, owned
    zsock_t *sock;       //  DEALER, NULL before first use
    void *handle;        //  its libzmq socket
    int64_t heard_ms;    //  last message from the broker, monotonic
    int64_t beat_ms;     //  next HEARTBEAT due, monotonic
} link_t;

struct _maas_worker_t {
    link_t *links;               //  one per broker, owned
    size_t link_count;           //  entries in LINKS
    char *kinds;                 //  comma-separated kinds, owned
    char *models;                //  comma-separated cached models, owned
    char *name;                  //  label for logs, owned
    int credits;                 //  jobs held at once per broker
    int interval_ms;             //  heartbeat interval
    int liveness;                //  intervals of silence before reconnecting
    zlistx_t *inbox;             //  received jobs not yet handed out, owns
    zhashx_t *held;              //  id → maas_work_t handed out (borrowed)
    maas_proto_idgen_t idgen;    //  for link identities
    maas_curve_t *curve;         //  CurveZMQ keys, owned; NULL: plain
    msgpack_unpacked scratch;    //  reused decoding space for headers
    char err[256];               //  why the last call failed
};

struct _maas_work_t {
    maas_worker_t *worker;      //  owner, to unregister from HELD
    size_t link;                //  index of the link it came on
    zmq_msg_t header;           //  JOB header frame
    zmq_msg_t payload;          //  JOB payload frame
    msgpack_unpacked params;    //  header decoded again on demand (params live here)
    bool params_ready;          //  PARAMS holds the decoded header
    maas_proto_job_t job;       //  decoded header (params_obj not kept: see _params)
    bool cancelled;             //  a CANCEL arrived
    bool in_held;               //  registered in worker->held
};

void
maas_work_destroy (maas_work_t **work_p)
{
    maas_work_t *work = *work_p;
    if (!work)
        return;
    if (work->in_held)
        zhashx_delete (work->worker->held, work->job.id);
    zmq_msg_close (&work->header);
    zmq_msg_close (&work->payload);
    msgpack_unpacked_destroy (&work->params);
    free (work);
    *work_p = NULL;
}

static void
s_work_destructor (void **item_p)
{
    maas_work_destroy ((maas_work_t **) item_p);
}

//  Pack a string list "a,b" as a msgpack array.
static void
s_pack_list (msgpack_packer *pk, const char *csv)
{
    size_t count = 0;
    for (const char *p = csv; p && *p; p++)
        count += (p == csv || p[-1] == ',') && *p != ',';
    msgpack_pack_array (pk, count);
    for (const char *p = csv; p && *p;) {
        size_t len = strcspn (p, ",");
        if (len)
            maas_codec_pack_strn (pk, p, len);
        p += len + (p[len] == ',');
    }
}

static void
s_send_ready (maas_worker_t *self, link_t *link)
{
    maas_proto_buf_t buf;
    maas_proto_buf_init (&buf);
    msgpack_pack_map (&buf.pk, 4);
    maas_codec_pack_str (&buf.pk, "kinds");
    s_pack_list (&buf.pk, self->kinds);
    maas_codec_pack_kv_int (&buf.pk, "credits", self->credits);
    maas_codec_pack_str (&buf.pk, "models");
    s_pack_list (&buf.pk, self->models);
    maas_codec_pack_kv_str (&buf.pk, "name", self->name);
    if (buf.overflow)
        maas_error ("worker", "READY too large name=%s models=%s", self->name, self->models);
    else
        maas_proto_send (link->handle, NULL, 0, MAAS_PROTO_READY, buf.data, buf.size, NULL);
}

//  (Re)open LINK with a fresh identity and announce ourselves.
static int
s_link_open (maas_worker_t *self, link_t *link)
{
    zsock_destroy (&link->sock);
    link->sock = zsock_new (ZMQ_DEALER);
    if (!link->sock) {
        snprintf (self->err, sizeof self->err, "cannot make a ZeroMQ socket: %s",
                  zmq_strerror (errno));
        return -1;
    }
    char identity[MAAS_PROTO_ID_SIZE + 2] = "w-";
    maas_proto_id_new (&self->idgen, identity + 2);
    zsock_set_identity (link->sock, identity);
    zsock_set_sndhwm (link->sock, 0);
    zsock_set_rcvhwm (link->sock, 0);
    zsock_set_linger (link->sock, 0);
    if (self->curve)
        maas_curve_apply (self->curve, link->sock);
    if (zsock_connect (link->sock, "%s", link->endpoint) != 0) {
        snprintf (self->err, sizeof self->err, "cannot connect to '%s': %s", link->endpoint,
                  maas_proto_endpoint_error (errno));
        maas_error ("worker", "connect failed endpoint=%s error=%s", link->endpoint,
                    zmq_strerror (errno));
        return -1;
    }
    link->handle = zsock_resolve (link->sock);
    int64_t now = maas_clock_mono_ms ();
    link->heard_ms = now;
    link->beat_ms = now + self->interval_ms;
    s_send_ready (self, link);
    maas_debug ("worker", "link open endpoint=%s identity=%s", link->endpoint, identity);
    return 0;
}

static int
s_parse_links (maas_worker_t *self, const char *endpoints)
{
    char *list = strdup (endpoints), *save = NULL;
    for (char *ep = strtok_r (list, ",", &save); ep; ep = strtok_r (NULL, ",", &save)) {
        link_t *grown = realloc (self->links, (self->link_count + 1) * sizeof *grown);
        if (!grown)
            break;
        self->links = grown;
        memset (&self->links[self->link_count], 0, sizeof (link_t));
        self->links[self->link_count++].endpoint = strdup (ep);
    }
    free (list);
    return self->link_count > 0 ? 0 : -1;
}

maas_worker_t *
maas_worker_new (const char *endpoints, const char *kinds, int credits, const char *name,
                 maas_err_t *err)
{
    if (!endpoints || !*endpoints || !kinds || !*kinds || credits < 1) {
        maas_err_set (err, MAAS_ERR_INPUT,
                      "worker: needs broker endpoints, job kinds and credits >= 1 "
                      "(endpoints='%s' kinds='%s' credits=%d)",
                      endpoints ? endpoints : "", kinds ? kinds : "", credits);
        return NULL;
    }
    maas_worker_t *self = calloc (1, sizeof *self);
    if (!self) {
        maas_err_set (err, MAAS_ERR_NOMEM, "worker: out of memory");
        return NULL;
    }
    self->kinds = strdup (kinds);
    self->models = strdup ("");
    if (name)
        self->name = strdup (name);
    else if (asprintf (&self->name, "worker-%d", (int) getpid ()) < 0)
        self->name = NULL;
    self->credits = credits;
    self->interval_ms = MAAS_WORKER_HEARTBEAT_MS;
    self->liveness = MAAS_WORKER_LIVENESS;
    self->inbox = zlistx_new ();
    self->held = zhashx_new ();
    msgpack_unpacked_init (&self->scratch);
    if (!self->kinds || !self->models || !self->name || !self->inbox || !self->held) {
        maas_err_set (err, MAAS_ERR_NOMEM, "worker: out of memory");
        maas_worker_destroy (&self);
        return NULL;
    }
    if (s_parse_links (self, endpoints) != 0) {
        maas_err_set (err, MAAS_ERR_INPUT, "worker: no broker endpoint in '%s'", endpoints);
        maas_worker_destroy (&self);
        return NULL;
    }
    zlistx_set_destructor (self->inbox, s_work_destructor);
    zhashx_set_key_duplicator (self->held, NULL);
    zhashx_set_key_destructor (self->held, NULL);
    for (size_t i = 0; i < self->link_count; i++)
        if (s_link_open (self, &self->links[i]) != 0) {
            maas_err_set (err, MAAS_ERR_INPUT, "worker: %s", self->err);
            maas_worker_destroy (&self);
            return NULL;
        }
    return self;
}

void
maas_worker_destroy (maas_worker_t **self_p)
{
    maas_worker_t *self = *self_p;
    if (!self)
        return;
    for (size_t i = 0; i < self->link_count; i++) {
        if (self->links[i].sock)
            maas_proto_send_empty (self->links[i].handle, NULL, 0, MAAS_PROTO_DISCONNECT);
        zsock_destroy (&self->links[i].sock);
        free (self->links[i].endpoint);
    }
    free (self->links);
    zlistx_destroy (&self->inbox);
    //  Works still handed out must not touch HELD after this: unhook them.
    if (self->held)
        for (maas_work_t *w = zhashx_first (self->held); w; w = zhashx_next (self->held))
            w->in_held = false;
    zhashx_destroy (&self->held);
    msgpack_unpacked_destroy (&self->scratch);
    maas_curve_destroy (&self->curve);
    free (self->kinds);
    free (self->models);
    free (self->name);
    free (self);
    *self_p = NULL;
}

int
maas_worker_set_curve (maas_worker_t *self, const char *secret_path, const char *broker_path)
{
    maas_err_t err;
    maas_curve_t *curve = maas_curve_new (secret_path, broker_path, &err);
    if (!curve) {
        snprintf (self->err, sizeof self->err, "%.255s", err.text);
        return -1;
    }
    maas_curve_destroy (&self->curve);
    self->curve = curve;
    for (size_t i = 0; i < self->link_count; i++)
        if (s_link_open (self, &self->links[i]) != 0) {
            snprintf (self->err, sizeof self->err, "cannot reconnect to %s with CURVE keys",
                      self->links[i].endpoint);
            return -1;
        }
    return 0;
}

void
maas_worker_set_heartbeat (maas_worker_t *self, int interval_ms, int liveness)
{
    self->interval_ms = interval_ms > 0 ? interval_ms : MAAS_WORKER_HEARTBEAT_MS;
    self->liveness = liveness > 0 ? liveness : MAAS_WORKER_LIVENESS;
    //  Links opened before this call scheduled their first beat with the old
    //  interval: bring it forward, or a shorter interval starts with silence.
    int64_t due = maas_clock_mono_ms () + self->interval_ms;
    for (size_t i = 0; i < self->link_count; i++)
        if (self->links[i].beat_ms > due)
            self->links[i].beat_ms = due;
}

void
maas_worker_set_models (maas_worker_t *self, const char *models)
{
    free (self->models);
    self->models = strdup (models ? models : "");
    for (size_t i = 0; i < self->link_count; i++)
        s_send_ready (self, &self->links[i]);
}

const char *
maas_worker_error (const maas_worker_t *self)
{
    return self->err;
}
const char *
maas_worker_name (const maas_worker_t *self)
{
    return self->name;
}

//  A JOB arrived on link INDEX: decode it and queue it in the inbox.
static void
s_on_job (maas_worker_t *self, size_t index, maas_proto_msg_t *msg)
{
    maas_work_t *work = calloc (1, sizeof *work);
    if (!work)
        return;
    work->worker = self;
    work->link = index;
    zmq_msg_init (&work->header);
    zmq_msg_init (&work->payload);
    msgpack_unpacked_init (&work->params);
    zmq_msg_move (&work->header, &msg->frames[2]);
    if (maas_proto_payload (msg))
        zmq_msg_move (&work->payload, maas_proto_payload (msg));
    maas_err_t err;
    if (maas_proto_job_parse (&work->job, zmq_msg_data (&work->header),
                              zmq_msg_size (&work->header), &self->scratch, &err)
        != 0) {
        maas_warn ("worker", "bad JOB from broker error=%s", err.text);
        maas_work_destroy (&work);
        return;
    }
    //  Decoded in the shared scratch space: params are decoded again, into
    //  the work's own space, only if the worker asks (most jobs have none).
    work->job.params_obj = NULL;
    zlistx_add_end (self->inbox, work);
}

static void
s_on_cancel (maas_worker_t *self, maas_proto_msg_t *msg)
{
    maas_codec_map_t map;
    char id[MAAS_PROTO_ID_MAX + 1];
    maas_err_t err;
    if (maas_proto_header_map (msg, &self->scratch, &map, &err) == 0
        && maas_codec_map_str_copy (&map, "id", id, sizeof id) == 0) {
        maas_work_t *work = zhashx_lookup (self->held, id);
        for (maas_work_t *w = zlistx_first (self->inbox); !work && w; w = zlistx_next (self->inbox))
            if (strcmp (w->job.id, id) == 0)
                work = w;
        if (work)
            work->cancelled = true;
    }
}

//  The broker forgot us (it restarted): reconnect and announce. With an
//  "error" it refused us (--max-workers): say why and stay, so the next
//  heartbeat, answered with a plain DISCONNECT, retries in a second rather
//  than in a tight loop.
static void
s_on_disconnect (maas_worker_t *self, link_t *link, maas_proto_msg_t *msg)
{
    maas_codec_map_t map;
    char why[200];
    maas_err_t err;
    if (maas_proto_header_map (msg, &self->scratch, &map, &err) == 0
        && maas_codec_map_find (&map, "error")
        && maas_codec_map_str_copy (&map, "error", why, sizeof why) == 0) {
        maas_warn ("worker", "broker refused this worker endpoint=%s error=%s", link->endpoint,
                   why);
        return;
    }
    maas_info ("worker", "broker asked us to reconnect endpoint=%s", link->endpoint);
    s_link_open (self, link);
}

static void
s_handle (maas_worker_t *self, size_t index, maas_proto_msg_t *msg)
{
    link_t *link = &self->links[index];
    maas_err_t err;
    int cmd = maas_proto_check (msg, &err);
    link->heard_ms = maas_clock_mono_ms ();
    if (cmd == MAAS_PROTO_JOB && msg->count >= 3)
        s_on_job (self, index, msg);
    else if (cmd == MAAS_PROTO_CANCEL)
        s_on_cancel (self, msg);
    else if (cmd == MAAS_PROTO_DISCONNECT)
        s_on_disconnect (self, link, msg);
    else if (cmd != MAAS_PROTO_HEARTBEAT)
        maas_warn ("worker", "unexpected message from broker cmd=%d error=%s", cmd,
                   cmd < 0 ? err.text : maas_proto_cmd_name (cmd));
}

//  Drain every link, send due heartbeats, rebuild dead links.
static int
s_pump (maas_worker_t *self)
{
    int64_t now = maas_clock_mono_ms ();
    for (size_t i = 0; i < self->link_count; i++) {
        link_t *link = &self->links[i];
        maas_proto_msg_t msg;
        while (maas_proto_recv (link->handle, &msg, false, ZMQ_DONTWAIT) == 0) {
            s_handle (self, i, &msg);
            maas_proto_msg_close (&msg);
            link = &self->links[i];
        }
        if (errno != EAGAIN)
            return -1;
        now = maas_clock_mono_ms ();
        if (now - link->heard_ms > (int64_t) self->interval_ms * self->liveness) {
            maas_warn ("worker", "broker silent, reconnecting endpoint=%s", link->endpoint);
            s_link_open (self, link);
        }
        else if (now >= link->beat_ms) {
            maas_proto_send_empty (link->handle, NULL, 0, MAAS_PROTO_HEARTBEAT);
            link->beat_ms = now + self->interval_ms;
        }
    }
    return 0;
}

int
maas_worker_tick (maas_worker_t *self)
{
    return zsys_interrupted || s_pump (self) != 0 ? -1 : 0;
}

static maas_work_t *
s_pop (maas_worker_t *self)
{
    maas_work_t *work = zlistx_first (self->inbox);
    if (!work)
        return NULL;
    zlistx_detach_cur (self->inbox);
    //  A duplicate id (the same job sent twice) is handed out but not held.
    work->in_held = zhashx_insert (self->held, work->job.id, work) == 0;
    return work;
}

maas_work_t *
maas_worker_recv (maas_worker_t *self, int timeout_ms)
{
    int64_t until = timeout_ms < 0 ? INT64_MAX : maas_clock_mono_ms () + timeout_ms;
    zmq_pollitem_t items[16];
    size_t count = self->link_count > 16 ? 16 : self->link_count;
    while (!zsys_interrupted) {
        if (!zlistx_size (self->inbox) && s_pump (self) != 0)
            return NULL;
        maas_work_t *work = s_pop (self);
        if (work)
            return work;
        int64_t now = maas_clock_mono_ms ();
        if (now >= until)
            return NULL;
        int64_t wait = until - now < self->interval_ms ? until - now : self->interval_ms;
        for (size_t i = 0; i < count; i++)
            items[i] = (zmq_pollitem_t){self->links[i].handle, 0, ZMQ_POLLIN, 0};
        if (zmq_poll (items, (int) count, (long) wait) < 0)
            return NULL;
    }
    return NULL;
}

//  What a RESULT says besides its payload.
typedef struct {
    const char *status;    //  "succeeded", "failed", "cancelled"
    const char *error;     //  reason, or NULL
    int retryable;         //  1 or 0 when "failed", -1: not sent
    const void *meta;      //  msgpack map bytes, or NULL
    size_t meta_size;      //  their size
} s_outcome_t;

//  Send RESULT for WORK: OUTCOME's header keys, PAYLOAD (or NULL).
static int
s_result (maas_worker_t *self, maas_work_t **work_p, const s_outcome_t *outcome, zmq_msg_t *payload)
{
    maas_work_t *work = *work_p;
    maas_proto_buf_t buf;
    maas_proto_buf_init (&buf);
    size_t extra = (outcome->retryable >= 0) + (outcome->meta != NULL);
    maas_proto_pack_status (&buf, work->job.id, outcome->status, NULL, outcome->error, extra);
    if (outcome->retryable >= 0)
        maas_codec_pack_kv_bool (&buf.pk, "retryable", outcome->retryable);
    if (outcome->meta) {
        maas_codec_pack_str (&buf.pk, "meta");
        maas_proto_buf_append (&buf, outcome->meta, outcome->meta_size);
    }
    int rc = -1;
    if (buf.overflow)
        snprintf (self->err, sizeof self->err, "job %s: result meta over 4 KiB", work->job.id);
    else if (work->link < self->link_count) {
        rc = maas_proto_send (self->links[work->link].handle, NULL, 0, MAAS_PROTO_RESULT, buf.data,
                              buf.size, payload);
        if (rc != 0)
            snprintf (self->err, sizeof self->err, "job %s: send: %s", work->job.id,
                      zmq_strerror (errno));
    }
    maas_work_destroy (work_p);
    return rc;
}

int
maas_worker_reply (maas_worker_t *self, maas_work_t **work_p, const void *data, size_t size,
                   const void *meta, size_t meta_size)
{
    zmq_msg_t payload;
    zmq_msg_init_size (&payload, size);
    if (size)
        memcpy (zmq_msg_data (&payload), data, size);
    return maas_worker_reply_msg (self, work_p, &payload, meta, meta_size);
}

int
maas_worker_reply_msg (maas_worker_t *self, maas_work_t **work_p, zmq_msg_t *payload,
                       const void *meta, size_t meta_size)
{
    s_outcome_t outcome = {"succeeded", NULL, -1, meta, meta_size};
    return s_result (self, work_p, &outcome, payload);
}

int
maas_worker_fail (maas_worker_t *self, maas_work_t **work_p, const char *error)
{
    return maas_worker_fail_with (self, work_p, error, true, NULL, 0);
}

int
maas_worker_fail_with (maas_worker_t *self, maas_work_t **work_p, const char *error, bool retryable,
                       const void *meta, size_t meta_size)
{
    bool cancelled = (*work_p)->cancelled;
    const char *status = cancelled ? "cancelled" : "failed";
    s_outcome_t outcome = {status, error ? error : status, cancelled ? -1 : retryable, meta,
                           meta_size};
    return s_result (self, work_p, &outcome, NULL);
}

int
maas_worker_progress (maas_worker_t *self, maas_work_t *work, double progress, const char *message)
{
    maas_proto_buf_t buf;
    maas_proto_buf_init (&buf);
    msgpack_pack_map (&buf.pk, 2 + (message != NULL));
    maas_codec_pack_kv_str (&buf.pk, "id", work->job.id);
    maas_codec_pack_kv_double (&buf.pk, "progress", progress);
    if (message)
        maas_codec_pack_kv_strn (&buf.pk, "message", message, strnlen (message, 512));
    if (work->link >= self->link_count)
        return -1;
    link_t *link = &self->links[work->link];
    link->beat_ms = maas_clock_mono_ms () + self->interval_ms;
    return maas_proto_send (link->handle, NULL, 0, MAAS_PROTO_PROGRESS, buf.data, buf.size, NULL);
}

const maas_proto_job_t *
maas_work_job (const maas_work_t *work)
{
    return &work->job;
}
const msgpack_object *
maas_work_params (const maas_work_t *work)
{
    maas_work_t *self = (maas_work_t *) work;    //  decoding on demand is not a visible change
    if (!self->params_ready) {
        maas_proto_job_t again;
        maas_err_t err;
        self->params_ready = true;
        if (maas_proto_job_parse (&again, zmq_msg_data (&self->header),
                                  zmq_msg_size (&self->header), &self->params, &err)
            == 0)
            self->job.params_obj = again.params_obj;
    }
    return self->job.params_obj;
}
const void *
maas_work_data (const maas_work_t *work)
{
    return zmq_msg_data ((zmq_msg_t *) &work->payload);
}
size_t
maas_work_size (const maas_work_t *work)
{
    return zmq_msg_size ((zmq_msg_t *) &work->payload);
}
bool
maas_work_cancelled (const maas_work_t *work)
{
    return work->cancelled;
}
