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
    char err[256], status[32] = "";
    maas_codec_map_t map;
    ck_assert_int_eq (maas_codec_unpack (header, header_size, 0, &unpacked, err, sizeof err), 0);
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
//  speaking through the recorder.
static void
s_broker (const char *redis_url, bool status)
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
    fx.broker = maas_broker_new (&config, NULL);
    ck_assert_ptr_nonnull (fx.broker);
    fx.broker->io = (broker_io_t){s_reply, s_result, s_answer, s_progress, s_run, s_cancel};
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

//  SUBMIT {id, kind: infer, priority, model?} from client "c1".
static void
s_submit (const char *id, int priority, const char *model)
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
    s_deliver (true, "c1", MAAS_PROTO_SUBMIT, buf.data, buf.size, "input");
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
    ck_assert_ptr_eq (BROKER_JOB (job->kind->queues[0].head), job);    //  at the front
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
    tcase_add_test (core, test_new_says_why);
    suite_add_tcase (suite, core);
    TCase *store = tcase_create ("store");
    tcase_add_checked_fixture (store, s_setup, s_teardown);
    tcase_set_timeout (store, 30);
    tcase_add_test (store, test_limbo_restored);
    suite_add_tcase (suite, store);
    return suite;
}

int
main (void)
{
    return support_run (s_suite ());
}
