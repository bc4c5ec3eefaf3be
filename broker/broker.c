/*  broker.c: the broker's life and loop. Each turn polls both ROUTERs and
 *  the Redis socket, drains every socket until it would block, dispatches
 *  once, writes Redis once, and runs the few timers (heartbeats, deadline
 *  sweep, stats). No per-job timers. */
#include "state.h"
#include "clock.h"
#include "codec.h"
#include "log.h"
#include "redis_url.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_SWEEP_MS    100          //  deadline sweep period
#define S_STATS_MS    1000         //  stats write period
#define S_BACKLOG_MAX (1 << 20)    //  unsent Redis bytes past which clients wait

void
maas_broker_config_defaults (maas_broker_config_t *config)
{
    *config = (maas_broker_config_t){
        .frontend = "tcp://127.0.0.1:5555",
        .backend = "tcp://127.0.0.1:5556",
        .redis_url = NULL,
        .prefix = "maas:",
        .name = "broker",
        .status = true,
        .heartbeat_ms = 1000,
        .liveness = 3,
        .max_attempts = 3,
        .max_jobs = 100000,
        .max_bytes = 4LL << 30,
        .max_clients = 10000,
        .max_client_jobs = 50000,
        .max_client_bytes = 1LL << 30,
        .max_workers = 1000,
        .result_ttl_ms = 24 * 3600 * 1000LL,
        .events_max = 10000,
        .redis_retry_ms = 1000,
        .redis_timeout_ms = MAAS_STORE_TIMEOUT_DEFAULT,
        .max_message = 256LL << 20,
    };
}

broker_io_t
broker_io_default (void)
{
    return (broker_io_t){broker_client_reply,    broker_client_result, broker_client_answer,
                         broker_client_progress, broker_worker_run,    broker_worker_cancel};
}

static void
s_job_destructor (void **item_p)
{
    broker_job_destroy ((job_t **) item_p);
}

static void *
s_id_dup (const void *id)
{
    return strdup (id);
}

static void
s_item_free (void **id_p)
{
    free (*id_p);
    *id_p = NULL;
}

static zsock_t *
s_router (maas_broker_t *self, const char *endpoint, maas_auth_side_t side, maas_err_t *err)
{
    int64_t max_message = self->config.max_message;
    zsock_t *sock = zsock_new (ZMQ_ROUTER);
    if (!sock) {
        maas_err_set (err, MAAS_ERR_IO, "broker: cannot make a ZeroMQ socket: %s",
                      zmq_strerror (errno));
        return NULL;
    }
    if (self->auth)
        maas_auth_secure (self->auth, sock, side);
    //  Unbounded queues on purpose: the job bound (--max-jobs) limits memory,
    //  and a ROUTER at its high-water mark would silently drop messages.
    zsock_set_sndhwm (sock, 0);
    zsock_set_rcvhwm (sock, 0);
    zsock_set_router_handover (sock, 1);
    //  libzmq drops a peer that sends a bigger frame, before it is in memory.
    zsock_set_maxmsgsize (sock, (int) (max_message > INT32_MAX ? INT32_MAX : max_message));
    zsock_set_linger (sock, 0);
    if (zsock_bind (sock, "%s", endpoint) < 0) {
        maas_err_set (err, MAAS_ERR_INPUT, "broker: cannot bind '%s': %s", endpoint,
                      maas_proto_endpoint_error (errno));
        maas_error ("broker", "bind failed endpoint=%s error=%s", endpoint, zmq_strerror (errno));
        zsock_destroy (&sock);
    }
    return sock;
}

static void
s_copy_config (maas_broker_t *self, const maas_broker_config_t *config)
{
    self->config = *config;
    self->frontend_ep = strdup (config->frontend);
    self->backend_ep = strdup (config->backend);
    self->redis_url = strdup (maas_redis_url_pick (config->redis_url));
    self->prefix = strdup (config->prefix);
    self->name = strdup (config->name);
    self->config.frontend = self->frontend_ep;
    self->config.backend = self->backend_ep;
    self->config.redis_url = self->redis_url;
    self->config.prefix = self->prefix;
    self->config.name = self->name;
}

//  CURVE on both sides: keys from the config's file and directories.
static int
s_secure (maas_broker_t *self, const maas_broker_config_t *config, maas_err_t *err)
{
    if (!config->clients_dir || !config->workers_dir)
        return maas_err_set (err, MAAS_ERR_INPUT,
                             "broker: --curve-secret needs --clients DIR and --workers DIR");
    self->auth =
        maas_auth_new (config->curve_secret, config->clients_dir, config->workers_dir, err);
    if (!self->auth)
        maas_err_prefix (err, "broker: curve set-up");
    return self->auth ? 0 : -1;
}

maas_broker_t *
maas_broker_new (const maas_broker_config_t *config, maas_err_t *err)
{
    maas_broker_t *self = calloc (1, sizeof *self);
    if (!self) {
        maas_err_set (err, MAAS_ERR_NOMEM, "broker: out of memory");
        return NULL;
    }
    s_copy_config (self, config);
    self->io = broker_io_default ();
    msgpack_unpacked_init (&self->scratch);
    self->jobs = zhashx_new ();
    self->accounts = zhashx_new ();
    self->unsure = zlistx_new ();
    self->owed = zlistx_new ();
    if (!self->jobs || !self->accounts || !self->unsure || !self->owed || !self->name
        || !self->redis_url) {
        maas_err_set (err, MAAS_ERR_NOMEM, "broker: out of memory");
        goto fail;
    }
    zhashx_set_key_duplicator (self->accounts, NULL);    //  the key lives in the account
    zhashx_set_key_destructor (self->accounts, NULL);
    zhashx_set_destructor (self->accounts, s_item_free);
    zlistx_set_duplicator (self->unsure, s_id_dup);
    zlistx_set_destructor (self->unsure, s_item_free);
    zlistx_set_destructor (self->owed, s_item_free);    //  plain malloc'd blocks too
    zhashx_set_key_duplicator (self->jobs, NULL);
    zhashx_set_key_destructor (self->jobs, NULL);
    zhashx_set_destructor (self->jobs, s_job_destructor);
    if (config->curve_secret && s_secure (self, config, err) != 0)
        goto fail;
    self->frontend = s_router (self, config->frontend, MAAS_AUTH_CLIENTS, err);
    self->backend =
        self->frontend ? s_router (self, config->backend, MAAS_AUTH_WORKERS, err) : NULL;
    if (!self->frontend || !self->backend)
        goto fail;
    self->front = zsock_resolve (self->frontend);
    self->back = zsock_resolve (self->backend);
    maas_redis_config_t redis = {.url = self->redis_url,
                                 .sentinels = config->redis_sentinels,
                                 .master = config->redis_master};
    self->store = maas_store_new (&redis, self->prefix, self->name, config->result_ttl_ms,
                                  config->events_max);
    if (!self->store) {
        char shown[512];
        maas_err_set (err, MAAS_ERR_INPUT, "broker: bad Redis URL '%s'",
                      maas_redis_url_mask (self->redis_url, shown, sizeof shown));
        goto fail;
    }
    if (!broker_kind_add (self, "infer", true) || !broker_kind_add (self, "train", true)
        || !broker_kind_add (self, "explain", true)) {
        maas_err_set (err, MAAS_ERR_NOMEM, "broker: out of memory");
        goto fail;    //  built in: clients may submit before any worker is up
    }
    maas_store_set_retry (self->store, config->redis_retry_ms);
    maas_store_set_timeout (self->store, config->redis_timeout_ms);
    self->started_ms = maas_clock_wall_ms ();
    self->now_mono = maas_clock_mono_ms ();
    self->now_wall = self->started_ms;
    char shown[512];
    maas_info ("broker", "started name=%s frontend=%s backend=%s redis=%s status=%s curve=%s",
               self->name, self->frontend_ep, self->backend_ep,
               maas_redis_url_mask (self->redis_url, shown, sizeof shown),
               config->status ? "on" : "off", self->auth ? "on" : "off");
    return self;
fail:
    maas_broker_destroy (&self);
    return NULL;
}

void
maas_broker_destroy (maas_broker_t **self_p)
{
    maas_broker_t *self = *self_p;
    if (!self)
        return;
    //  The store first: callbacks of jobs still being recorded answer their
    //  clients (rejected) and free those jobs while the sockets exist.
    self->stopping = true;
    maas_store_destroy (&self->store);
    zhashx_destroy (&self->jobs);
    zhashx_destroy (&self->accounts);    //  after the jobs charged to them
    zlistx_destroy (&self->unsure);
    zlistx_destroy (&self->owed);
    for (size_t i = 0; i < self->worker_count; i++) {
        free (self->workers[i]->models);
        free (self->workers[i]);
    }
    free (self->workers);
    for (int i = 0; i < BROKER_KINDS_MAX; i++)
        free (self->kinds[i]);
    zsock_destroy (&self->frontend);
    zsock_destroy (&self->backend);
    maas_auth_destroy (&self->auth);
    msgpack_unpacked_destroy (&self->scratch);
    free (self->frontend_ep);
    free (self->backend_ep);
    free (self->redis_url);
    free (self->prefix);
    free (self->name);
    free (self);
    *self_p = NULL;
}

void
maas_broker_stop (maas_broker_t *self)
{
    self->stopping = true;
}

int
broker_header_map (maas_broker_t *self, maas_proto_msg_t *msg, maas_codec_map_t *map, char *err,
                   size_t err_size)
{
    size_t size;
    const void *header = maas_proto_header (msg, &size);
    if (!header) {
        snprintf (err, err_size, "missing header frame");
        return -1;
    }
    maas_err_t why;
    if (maas_codec_unpack (header, size, MAAS_PROTO_HEADER_MAX, &self->scratch, &why) != 0) {
        snprintf (err, err_size, "header: %s", why.text);    //  as SUBMIT's parser says it
        return -1;
    }
    if (maas_codec_map_init (map, &self->scratch.data, "header") != 0) {
        maas_err_export (&map->err, err, err_size);
        return -1;
    }
    return 0;
}

//  Read every message waiting on SOCKET; HANDLE each that GATE lets through.
static void
s_drain (maas_broker_t *self, void *socket, void (*handle) (maas_broker_t *, maas_proto_msg_t *),
         bool (*gate) (maas_broker_t *, maas_proto_msg_t *))
{
    maas_proto_msg_t msg;
    while (maas_proto_recv (socket, &msg, true, ZMQ_DONTWAIT) == 0) {
        if (!self->auth || gate (self, &msg))
            handle (self, &msg);
        maas_proto_msg_close (&msg);
    }
}

static void
s_write_stats (maas_broker_t *self, int64_t now)
{
    size_t queued = 0, running = 0;
    for (int k = 0; k < BROKER_KINDS_MAX; k++)
        queued += self->kinds[k] ? self->kinds[k]->queued : 0;
    for (size_t i = 0; i < self->worker_count; i++)
        running += (size_t) self->workers[i]->inflight;
    stats_t *s = &self->stats;
    uint64_t finished = s->succeeded + s->failed + s->cancelled + s->expired;
    char text[17][24];
    uint64_t values[17] = {(uint64_t) self->worker_count,
                           queued,
                           running,
                           s->submitted,
                           s->accepted,
                           s->rejected,
                           s->succeeded,
                           s->failed,
                           s->cancelled,
                           s->expired,
                           s->requeued,
                           s->bad_input,
                           (finished - s->finished_at_tick) * 1000 / S_STATS_MS,
                           s->unauthorised,
                           self->auth ? maas_auth_refused (self->auth, MAAS_AUTH_CLIENTS) : 0,
                           self->auth ? maas_auth_refused (self->auth, MAAS_AUTH_WORKERS) : 0,
                           s->over_limit_workers};
    const char *names[17] = {
        "workers",           "queued",       "running",         "submitted",
        "accepted",          "rejected",     "succeeded",       "failed",
        "cancelled",         "expired",      "requeued",        "bad_input",
        "jobs_per_s",        "unauthorised", "refused_clients", "refused_workers",
        "over_limit_workers"};
    maas_store_field_t fields[19];
    for (int i = 0; i < 17; i++) {
        snprintf (text[i], sizeof text[i], "%" PRIu64, values[i]);
        fields[i] = (maas_store_field_t){names[i], text[i], strlen (text[i])};
    }
    char started[24], updated[24];
    snprintf (started, sizeof started, "%" PRId64, self->started_ms);
    snprintf (updated, sizeof updated, "%" PRId64, maas_clock_wall_ms ());
    fields[17] = (maas_store_field_t){"started_ms", started, strlen (started)};
    fields[18] = (maas_store_field_t){"updated_ms", updated, strlen (updated)};
    s->finished_at_tick = finished;
    maas_store_stats (self->store, fields, 19, 5 * S_STATS_MS);
}

static void
s_timers (maas_broker_t *self)
{
    int64_t now = maas_clock_mono_ms ();
    maas_store_tick (self->store, now);
    if (self->auth)
        maas_auth_tick (self->auth, now);
    if (maas_store_fresh (self->store)) {
        broker_restore (self);
        if (self->config.status && !self->loaded)
            broker_recover (self);
    }
    if (self->limbo.size)
        broker_limbo_expire (self, now);
    if (now >= self->heartbeat_at) {
        broker_heartbeat (self, now);
        self->heartbeat_at = now + self->config.heartbeat_ms;
    }
    if (now >= self->sweep_at) {
        if (self->deadlines)
            broker_sweep_deadlines (self);
        self->sweep_at = now + S_SWEEP_MS;
    }
    if (now >= self->stats_at) {
        s_write_stats (self, now);
        self->stats_at = now + S_STATS_MS;
    }
}

int
broker_turn (maas_broker_t *self, long timeout_max)
{
    //  Flow control: while Redis is behind, new jobs wait in ZeroMQ's
    //  queues (bounded by each client's window) rather than in ours.
    bool throttled = maas_store_backlog (self->store) >= S_BACKLOG_MAX;
    zmq_pollitem_t items[3 + MAAS_STORE_POLL_MAX] = {
        {self->front, 0, throttled ? 0 : ZMQ_POLLIN, 0}, {self->back, 0, ZMQ_POLLIN, 0}};
    size_t store_items = maas_store_poll_items (self->store, &items[2]);
    int count = 2 + (int) store_items;
    if (self->auth)
        items[count++] = (zmq_pollitem_t){maas_auth_handle (self->auth), 0, ZMQ_POLLIN, 0};
    int64_t now = maas_clock_mono_ms ();
    int64_t next = self->heartbeat_at < self->sweep_at ? self->heartbeat_at : self->sweep_at;
    long timeout = next > now ? (long) (next - now) : 0;
    if (timeout_max >= 0 && timeout > timeout_max)
        timeout = timeout_max;
    if (zmq_poll (items, count, timeout) < 0 && errno != EINTR)
        return -1;
    //  One clock read per turn: job timestamps have turn resolution.
    self->now_mono = maas_clock_mono_ms ();
    self->now_wall = maas_clock_wall_ms ();
    if (store_items)
        maas_store_io (self->store, &items[2], store_items);
    if (self->auth)
        maas_auth_serve (self->auth);
    s_drain (self, self->back, broker_backend, broker_gate_worker);
    if (!throttled)
        s_drain (self, self->front, broker_frontend, broker_gate_client);
    if (self->dirty)
        broker_dispatch (self);
    s_timers (self);
    maas_store_flush (self->store);
    return 0;
}

int
maas_broker_run (maas_broker_t *self)
{
    uint64_t turns = 0;
    while (!zsys_interrupted && !self->stopping && broker_turn (self, -1) == 0)
        turns++;
    maas_info ("broker", "stopping name=%s jobs=%zu turns=%llu", self->name,
               zhashx_size (self->jobs), (unsigned long long) turns);
    return 0;
}
