/*  check_broker_core.c: the broker's library in process (broker/state.h):
 *  messages are handed to broker_frontend / broker_backend as if received,
 *  and what the deciding files would send is recorded through the broker's
 *  IO table instead of going to sockets. Dispatch and requeue need no
 *  Redis; the limbo and its restore use a real redis-server. */
#include "support.h"
#include "state.h"
#include "codec.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_SENT_MAX 64

typedef struct {
    char what[16];                     //  "reply", "result", "run", "cancel", "progress"
    char id[MAAS_PROTO_ID_MAX + 1];    //  job
    char detail[64];                   //  reply: status or reason; run: worker name
} sent_t;

typedef struct {
    char *dir;                  //  temp dir: endpoints
    support_redis_t *redis;     //  NULL unless the test needs one
    maas_broker_t *broker;      //  under test
    sent_t sent[S_SENT_MAX];    //  what it sent, in order
    int count;                  //  entries in SENT
} fx_t;

static fx_t fx;

static sent_t *
s_note (const char *what, const char *id, const char *detail)
{
    ck_assert_int_lt (fx.count, S_SENT_MAX);
    sent_t *sent = &fx.sent[fx.count++];
    snprintf (sent->what, sizeof sent->what, "%s", what);
    snprintf (sent->id, sizeof sent->id, "%s", id ? id : "");
    snprintf (sent->detail, sizeof sent->detail, "%s", detail ? detail : "");
    return sent;
}

static void
s_reply (maas_broker_t *self, const uint8_t *client, size_t client_size, int cmd, const char *id,
         const char *status, const char *reason, const char *error)
{
    s_note (cmd == MAAS_PROTO_ACCEPTED ? "accepted" : "rejected", id, status ? status : reason);
}

static void
s_result (maas_broker_t *self, const job_t *job, const void *header, size_t header_size,
          zmq_msg_t *payload)
{
    msgpack_unpacked unpacked;
    msgpack_unpacked_init (&unpacked);
    char status[32] = "";
    maas_err_t err;
    maas_codec_map_t map;
    ck_assert_int_eq (maas_codec_unpack (header, header_size, 0, &unpacked, &err), 0);
    ck_assert_int_eq (maas_codec_map_init (&map, &unpacked.data, "result"), 0);
    maas_codec_map_str_copy (&map, "status", status, sizeof status);
    msgpack_unpacked_destroy (&unpacked);
    s_note ("result", job->id, status);
}

static void
s_answer (maas_broker_t *self, const uint8_t *client, size_t client_size, const char *id,
          redisReply *fields)
{
    s_note ("answer", id, NULL);
}

static void
s_progress (maas_broker_t *self, const job_t *job, const void *header, size_t header_size)
{
    s_note ("progress", job->id, NULL);
}

static void
s_run (maas_broker_t *self, job_t *job, worker_t *worker)
{
    s_note ("run", job->id, worker->name);
}

static void
s_cancel (maas_broker_t *self, job_t *job)
{
    s_note ("cancel", job->id, job->worker->name);
}

//  A broker whose job store is REDIS_URL (NULL: a socket nobody serves),
//  speaking through the recorder; LIMITS, if given, changes its config.
static void
s_broker_with (const char *redis_url, bool status, void (*limits) (maas_broker_config_t *))
{
    char front[300], back[300], nowhere[300];
    snprintf (front, sizeof front, "ipc://%s/front", fx.dir);
    snprintf (back, sizeof back, "ipc://%s/back", fx.dir);
    snprintf (nowhere, sizeof nowhere, "unix://%s/no-redis.sock", fx.dir);
    maas_broker_config_t config;
    maas_broker_config_defaults (&config);
    config.frontend = front;
    config.backend = back;
    config.redis_url = redis_url ? redis_url : nowhere;
    config.status = status;
    config.redis_retry_ms = 50;
    config.redis_timeout_ms = 60000;
    config.max_attempts = 2;
    if (limits)
        limits (&config);
    fx.broker = maas_broker_new (&config, NULL);
    ck_assert_ptr_nonnull (fx.broker);
    fx.broker->io = (broker_io_t){s_reply, s_result, s_answer, s_progress, s_run, s_cancel};
}

static void
s_broker (const char *redis_url, bool status)
{
    s_broker_with (redis_url, status, NULL);
}

static void
s_setup (void)
{
    memset (&fx, 0, sizeof fx);
    fx.dir = support_tempdir_new ("broker-core");
}

static void
s_teardown (void)
{
    maas_broker_destroy (&fx.broker);
    support_redis_stop (&fx.redis);
    support_tempdir_remove (&fx.dir);
}

//  Hand the broker a message from PEER: CMD, HEADER (SIZE bytes), and a
//  payload frame if PAYLOAD.
static void
s_deliver (bool to_frontend, const char *peer, int cmd, const void *header, size_t size,
           const char *payload)
{
    maas_proto_msg_t msg;
    memset (&msg, 0, sizeof msg);
    msg.routed = true;
    zmq_msg_init_size (&msg.peer, strlen (peer));
    memcpy (zmq_msg_data (&msg.peer), peer, strlen (peer));
    uint8_t command = (uint8_t) cmd;
    const void *data[4] = {MAAS_PROTO_TAG, &command, header, payload};
    size_t sizes[4] = {MAAS_PROTO_TAG_SIZE, 1, size, payload ? strlen (payload) : 0};
    msg.count = payload ? 4 : 3;
    for (int i = 0; i < msg.count; i++) {
        zmq_msg_init_size (&msg.frames[i], sizes[i]);
        memcpy (zmq_msg_data (&msg.frames[i]), data[i], sizes[i]);
    }
    if (to_frontend)
        broker_frontend (fx.broker, &msg);
    else
        broker_backend (fx.broker, &msg);
    maas_proto_msg_close (&msg);
}

//  SUBMIT {id, kind: infer, priority, model?} from client CLIENT, with
//  PAYLOAD as input.
static void
s_submit_from (const char *client, const char *id, int priority, const char *model,
               const char *payload)
{
    maas_proto_job_t job = {.priority = priority, .track = true, .durable = true};
    snprintf (job.id, sizeof job.id, "%s", id);
    snprintf (job.kind, sizeof job.kind, "infer");
    if (model) {
        snprintf (job.model, sizeof job.model, "%s", model);
        job.version = 1;
    }
    maas_proto_buf_t buf;
    maas_proto_buf_init (&buf);
    ck_assert_int_eq (maas_proto_job_pack (&job, &buf), 0);
    s_deliver (true, client, MAAS_PROTO_SUBMIT, buf.data, buf.size, payload);
}

static void
s_submit (const char *id, int priority, const char *model)
{
    s_submit_from ("c1", id, priority, model, "input");
}

//  READY from worker PEER: infer, CREDITS, MODEL cached if not NULL.
static void
s_ready (const char *peer, int credits, const char *model)
{
    maas_proto_buf_t buf;
    maas_proto_buf_init (&buf);
    msgpack_pack_map (&buf.pk, 3 + (model != NULL));
    const char *kinds[] = {"infer"};
    maas_codec_pack_kv_strings (&buf.pk, "kinds", kinds, 1);
    maas_codec_pack_kv_int (&buf.pk, "credits", credits);
    maas_codec_pack_kv_str (&buf.pk, "name", peer);
    if (model)
        maas_codec_pack_kv_strings (&buf.pk, "models", &model, 1);
    s_deliver (false, peer, MAAS_PROTO_READY, buf.data, buf.size, NULL);
}

//  RESULT from worker PEER: job ID succeeded.
static void
s_done (const char *peer, const char *id)
{
    maas_proto_buf_t buf;
    maas_proto_buf_init (&buf);
    msgpack_pack_map (&buf.pk, 2);
    maas_codec_pack_kv_str (&buf.pk, "id", id);
    maas_codec_pack_kv_str (&buf.pk, "status", "succeeded");
    s_deliver (false, peer, MAAS_PROTO_RESULT, buf.data, buf.size, "output");
}

//  The Nth thing sent must be WHAT about ID (DETAIL too, if not NULL).
static void
s_assert_sent (int n, const char *what, const char *id, const char *detail)
{
    ck_assert_msg (n < fx.count, "only %d sent, wanted #%d %s %s", fx.count, n, what, id);
    const sent_t *sent = &fx.sent[n];
    ck_assert_msg (strcmp (sent->what, what) == 0 && strcmp (sent->id, id) == 0
                       && (!detail || strcmp (sent->detail, detail) == 0),
                   "#%d: %s %s %s, wanted %s %s %s", n, sent->what, sent->id, sent->detail, what,
                   id, detail ? detail : "*");
}

//  Priorities first, FIFO within one, credits respected, the cached model
//  preferred; a lost worker's job goes to the front again, and past
//  --max-attempts (2) fails.
START_TEST (test_dispatch_and_requeue)
{
    s_broker (NULL, false);    //  untracked: ACCEPTED at once, from clients.c
    s_submit ("low-1", 0, NULL);
    s_submit ("low-2", 0, NULL);
    s_submit ("high", 5, NULL);
    s_submit ("cached", 0, "iris");
    broker_dispatch (fx.broker);
    ck_assert_int_eq (fx.count, 0);    //  nothing runs without workers
    s_ready ("w-plain", 2, NULL);
    s_ready ("w-iris", 1, "iris@1");
    broker_dispatch (fx.broker);
    s_assert_sent (0, "run", "high", "w-plain");     //  the most free credit
    s_assert_sent (1, "run", "low-1", "w-plain");    //  a tie: the first worker
    s_assert_sent (2, "run", "low-2", "w-iris");
    ck_assert_int_eq (fx.count, 3);    //  credits 2 + 1 used: "cached" waits
    s_done ("w-iris", "low-2");
    s_assert_sent (3, "result", "low-2", "succeeded");
    broker_dispatch (fx.broker);
    s_assert_sent (4, "run", "cached", "w-iris");
    broker_worker_destroy (fx.broker, 1, "test");    //  w-iris gone: "cached" queued again
    ck_assert_int_eq (fx.broker->worker_count, 1);
    job_t *job = zhashx_lookup (fx.broker->jobs, "cached");
    ck_assert_int_eq (job->state, JOB_QUEUED);
    ck_assert_ptr_eq (broker_lane_next (job->kind), job);    //  at the front
    s_ready ("w-next", 1, NULL);
    broker_dispatch (fx.broker);
    s_assert_sent (5, "run", "cached", "w-next");
    broker_worker_destroy (fx.broker, 1, "lost again");
    s_assert_sent (6, "result", "cached", "failed");    //  2 attempts made
    ck_assert_ptr_null (zhashx_lookup (fx.broker->jobs, "cached"));
}
END_TEST

//  Redis away: a tracked job waits in the limbo, unanswered; past its time
//  it is rejected and remembered as unsure.
START_TEST (test_limbo_expires)
{
    s_broker (NULL, true);
    s_submit ("waits", 0, NULL);
    ck_assert_int_eq (fx.count, 0);
    ck_assert_uint_eq (fx.broker->limbo.size, 1);
    job_t *job = zhashx_lookup (fx.broker->jobs, "waits");
    ck_assert (list_holds (&fx.broker->limbo, &job->link));
    broker_limbo_expire (fx.broker, job->limbo_until - 1);
    ck_assert_int_eq (fx.count, 0);
    broker_limbo_expire (fx.broker, job->limbo_until);
    s_assert_sent (0, "rejected", "waits", "unavailable");
    ck_assert_uint_eq (fx.broker->limbo.size, 0);
    ck_assert_ptr_null (zhashx_lookup (fx.broker->jobs, "waits"));
    ck_assert_uint_eq (zlistx_size (fx.broker->unsure), 1);
}
END_TEST

//  Redis back: the limbo is recorded and accepted, and the job runs.
START_TEST (test_limbo_restored)
{
    fx.redis = support_redis_start ();
    support_redis_kill (fx.redis);
    s_broker (support_redis_url (fx.redis), true);
    s_submit ("later", 0, NULL);
    ck_assert_uint_eq (fx.broker->limbo.size, 1);
    support_redis_restart (fx.redis);
    for (int i = 0; i < 200 && fx.count == 0; i++)
        broker_turn (fx.broker, 20);    //  reconnects, restores, is acknowledged
    s_assert_sent (0, "accepted", "later", "queued");
    ck_assert_uint_eq (fx.broker->limbo.size, 0);
    s_ready ("w1", 1, NULL);
    broker_dispatch (fx.broker);
    s_assert_sent (1, "run", "later", "w1");
}
END_TEST

//  Turns until the Nth thing was sent (or 4 s).
static void
s_turns_until (int n)
{
    for (int i = 0; i < 200 && fx.count < n; i++)
        broker_turn (fx.broker, 20);
}

//  Turns until the store is up (or 4 s), which it must be then.
static void
s_turns_until_up (void)
{
    for (int i = 0; i < 200 && !maas_store_up (fx.broker->store); i++)
        broker_turn (fx.broker, 20);
    ck_assert_msg (maas_store_up (fx.broker->store), "%s", maas_store_error (fx.broker->store));
}

//  A normal Redis restart (SIGTERM, then the same server on its AOF): the
//  store's link sees the connection closed, connects again, writes back
//  the job it holds; the job's RESULT and a new job go through, and the
//  record written before the restart survives it.
START_TEST (test_store_rides_out_a_redis_restart)
{
    fx.redis = support_redis_start_aof ();
    s_broker (support_redis_url (fx.redis), true);
    s_turns_until_up ();
    s_submit ("before", 0, NULL);
    s_turns_until (1);
    s_assert_sent (0, "accepted", "before", "queued");
    s_ready ("w1", 1, NULL);
    broker_dispatch (fx.broker);
    s_assert_sent (1, "run", "before", "w1");
    for (int i = 0; i < 5; i++)
        broker_turn (fx.broker, 20);    //  the running record is written
    support_redis_bounce (fx.redis);
    s_turns_until_up ();
    s_done ("w1", "before");
    s_turns_until (3);
    s_assert_sent (2, "result", "before", "succeeded");
    s_submit ("after", 0, NULL);
    s_turns_until (4);
    s_assert_sent (3, "accepted", "after", "queued");
    redisContext *redis = redisConnectUnix (support_redis_socket (fx.redis));
    ck_assert (redis && !redis->err);
    redisReply *status = redisCommand (redis, "HGET maas:job:before status");
    ck_assert (status && status->type == REDIS_REPLY_STRING);
    ck_assert_str_eq (status->str, "succeeded");
    freeReplyObject (status);
    redisFree (redis);
}
END_TEST

//  Two clients' jobs of one kind and priority take turns, whatever the
//  backlog: A's ten queued first, then B's three, run A B A B A B A A ...;
//  a job given back by a lost worker runs next. Lanes and accounts are
//  freed with the last job.
START_TEST (test_clients_take_turns)
{
    s_broker (NULL, false);
    char id[16];
    for (int i = 0; i < 10; i++) {
        snprintf (id, sizeof id, "a%d", i);
        s_submit_from ("client-a", id, 0, NULL, "input");
    }
    for (int i = 0; i < 3; i++) {
        snprintf (id, sizeof id, "b%d", i);
        s_submit_from ("client-b", id, 0, NULL, "input");
    }
    ck_assert_uint_eq (zhashx_size (fx.broker->jobs), 13);    //  all accepted
    ck_assert_uint_eq (zhashx_size (fx.broker->accounts), 2);
    s_ready ("w1", 1, NULL);
    const char *order[13] = {"a0", "b0", "a1", "b1", "a2", "b2", "a3",
                             "a4", "a5", "a6", "a7", "a8", "a9"};
    for (int i = 0; i < 13; i++) {
        broker_dispatch (fx.broker);
        s_assert_sent (fx.count - 1, "run", order[i], "w1");
        if (i == 2) {    //  the worker is lost running a1: a1 goes again, first
            broker_worker_destroy (fx.broker, 0, "test");
            s_ready ("w1", 1, NULL);
            broker_dispatch (fx.broker);
            s_assert_sent (fx.count - 1, "run", "a1", "w1");
        }
        s_done ("w1", order[i]);
        s_assert_sent (fx.count - 1, "result", order[i], "succeeded");
    }
    ck_assert_uint_eq (zhashx_size (fx.broker->jobs), 0);
    ck_assert_uint_eq (zhashx_size (fx.broker->accounts), 0);
    ck_assert_uint_eq (fx.broker->bytes, 0);
    ck_assert_ptr_null (fx.broker->kinds[0]->queues[0].head);
}
END_TEST

static bool
s_held (const char *id)
{
    return zhashx_lookup (fx.broker->jobs, id) != NULL;
}

static void
s_small_limits (maas_broker_config_t *config)
{
    config->max_client_jobs = 3;
    config->max_clients = 2;
    config->max_client_bytes = 1 << 20;
    config->max_bytes = (1 << 20) + 4096;
}

//  Each client is refused at its own limits (jobs, bytes), a new client
//  past --max-clients too, the broker's bytes bound holds for all; others
//  keep being served, and a client that got results may send again.
START_TEST (test_client_limits)
{
    s_broker_with (NULL, false, s_small_limits);
    s_submit_from ("a", "a0", 0, NULL, "x");
    s_submit_from ("a", "a1", 0, NULL, "x");
    s_submit_from ("a", "a2", 0, NULL, "x");
    s_submit_from ("a", "a3", 0, NULL, "x");
    ck_assert (!s_held ("a3"));
    s_submit_from ("b", "b0", 0, NULL, "x");
    ck_assert (s_held ("b0"));
    s_submit_from ("c", "c0", 0, NULL, "x");    //  a third client
    ck_assert (!s_held ("c0"));
    char *big = malloc (1 << 20);
    memset (big, 'y', (1 << 20) - 1);
    big[(1 << 20) - 1] = '\0';
    s_submit_from ("b", "b1", 0, NULL, big);    //  b's bytes: over 1 MiB with b0
    ck_assert (!s_held ("b1"));
    free (big);
    ck_assert_uint_eq (fx.broker->stats.rejected, 3);
    s_ready ("w1", 1, NULL);
    broker_dispatch (fx.broker);
    s_assert_sent (0, "run", "a0", "w1");
    s_done ("w1", "a0");
    s_submit_from ("a", "a4", 0, NULL, "x");    //  room again
    ck_assert (s_held ("a4"));
}
END_TEST

//  The messages name the limit and the flag to change it.
START_TEST (test_client_limit_messages)
{
    s_broker_with (NULL, false, s_small_limits);
    char err[300];
    const uint8_t a[] = "a";
    ck_assert_int_eq (broker_admit (fx.broker, a, 1, 10, err, sizeof err), 0);
    ck_assert_int_eq (broker_admit (fx.broker, a, 1, (1 << 20) + 1, err, sizeof err), -1);
    ck_assert_ptr_nonnull (strstr (err, "(--max-client-bytes 1 MB)"));
    ck_assert_int_eq (broker_admit (fx.broker, a, 1, (2 << 20), err, sizeof err), -1);
    ck_assert_ptr_nonnull (strstr (err, "(--max-bytes 1 MB)"));
    for (int i = 0; i < 3; i++)
        s_submit_from ("a", (const char *[]){"a0", "a1", "a2"}[i], 0, NULL, "x");
    ck_assert_int_eq (broker_admit (fx.broker, a, 1, 10, err, sizeof err), -1);
    ck_assert_str_eq (err,
                      "overloaded: this client holds 3 jobs (--max-client-jobs 3); wait for "
                      "results before sending more");
    s_submit_from ("b", "b0", 0, NULL, "x");
    ck_assert_int_eq (broker_admit (fx.broker, (const uint8_t *) "c", 1, 10, err, sizeof err), -1);
    ck_assert_str_eq (err, "overloaded: 2 clients hold jobs (--max-clients 2)");
}
END_TEST

static void
s_one_worker (maas_broker_config_t *config)
{
    config->max_workers = 1;
}

//  Past --max-workers a new worker is not taken (counted); once the first
//  leaves, the next READY is.
START_TEST (test_max_workers)
{
    s_broker_with (NULL, false, s_one_worker);
    s_ready ("w1", 1, NULL);
    s_ready ("w2", 1, NULL);
    ck_assert_uint_eq (fx.broker->worker_count, 1);
    ck_assert_uint_eq (fx.broker->stats.over_limit_workers, 1);
    broker_worker_destroy (fx.broker, 0, "test");
    s_ready ("w2", 1, NULL);
    ck_assert_uint_eq (fx.broker->worker_count, 1);
    ck_assert_str_eq (fx.broker->workers[0]->name, "w2");
}
END_TEST

//  maas_broker_new says why it failed: a bad or busy endpoint, CURVE
//  without key lists, a Redis URL that does not parse.
START_TEST (test_new_says_why)
{
    char front[300], back[300], tcp[64];
    snprintf (front, sizeof front, "ipc://%s/front", fx.dir);
    snprintf (back, sizeof back, "ipc://%s/back", fx.dir);
    maas_broker_config_t config;
    maas_broker_config_defaults (&config);
    config.frontend = "tcp//127.0.0.1:5555";
    config.backend = back;
    maas_err_t err;
    ck_assert_ptr_null (maas_broker_new (&config, &err));
    ck_assert_str_eq (err.text,
                      "broker: cannot bind 'tcp//127.0.0.1:5555': not an endpoint "
                      "(tcp://HOST:PORT, ipc://PATH, inproc://NAME)");
    snprintf (tcp, sizeof tcp, "tcp://127.0.0.1:%d", support_free_port ());
    config.frontend = config.backend = tcp;
    ck_assert_ptr_null (maas_broker_new (&config, &err));
    char want[128];
    snprintf (want, sizeof want, "broker: cannot bind '%s': address already in use", tcp);
    ck_assert_str_eq (err.text, want);
    config.frontend = front;
    config.backend = back;
    config.curve_secret = "/nonexistent/broker_secret";
    ck_assert_ptr_null (maas_broker_new (&config, &err));
    ck_assert_str_eq (err.text, "broker: --curve-secret needs --clients DIR and --workers DIR");
    config.curve_secret = NULL;
    config.redis_url = "nosuch://x";
    ck_assert_ptr_null (maas_broker_new (&config, &err));
    ck_assert_str_eq (err.text, "broker: bad Redis URL 'nosuch://x'");
}
END_TEST

static Suite *
s_suite (void)
{
    Suite *suite = suite_create ("broker_core");
    TCase *core = tcase_create ("core");
    tcase_add_checked_fixture (core, s_setup, s_teardown);
    tcase_add_test (core, test_dispatch_and_requeue);
    tcase_add_test (core, test_limbo_expires);
    tcase_add_test (core, test_clients_take_turns);
    tcase_add_test (core, test_client_limits);
    tcase_add_test (core, test_client_limit_messages);
    tcase_add_test (core, test_max_workers);
    tcase_add_test (core, test_new_says_why);
    suite_add_tcase (suite, core);
    TCase *store = tcase_create ("store");
    tcase_add_checked_fixture (store, s_setup, s_teardown);
    tcase_set_timeout (store, 30);
    tcase_add_test (store, test_limbo_restored);
    tcase_add_test (store, test_store_rides_out_a_redis_restart);
    suite_add_tcase (suite, store);
    return suite;
}

int
main (void)
{
    return support_run (s_suite ());
}
