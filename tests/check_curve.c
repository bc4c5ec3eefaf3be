/*  check_curve.c: CurveZMQ on maas-broker as a process (docs/security.md):
 *  unknown and plain peers refused and counted, a client key refused on the
 *  workers' side, rights by role at SUBMIT, key rotation without a restart,
 *  `maas keygen`, and a `maas up --secure` stack serving the CLI. */
#include "support.h"
#include "maas.h"

#include <check.h>
#include <czmq.h>
#include <hiredis/hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

typedef struct {
    support_redis_t *redis;      //  private redis-server
    char *dir;                   //  temp dir: keys and logs
    char own[512];               //  DIR/own: the secret keys, the broker's public one
    char clients[512];           //  DIR/clients: public keys the broker allows as clients
    char workers[512];           //  DIR/workers: ... as workers
    char front[64], back[64];    //  broker endpoints (tcp: the log names an address)
    char log[512];               //  broker log
    support_proc_t *broker;      //  the broker process
} fx_t;

static fx_t fx;

//  DIR/own/NAME_secret, or the public DIR/own/NAME when SUFFIX is "".
static const char *
s_own (const char *name, const char *suffix)
{
    static char path[600];
    snprintf (path, sizeof path, "%s/%s%s", fx.own, name, suffix);
    return path;
}

static void
s_key (const char *name, const char *public_dir, const char *role)
{
    maas_err_t err;
    ck_assert_msg (maas_curve_keygen (fx.own, public_dir, name, role, &err) == 0, "%s", err.text);
}

//  The z85 public key of DIR/own/NAME.
static void
s_z85 (const char *name, char out[41])
{
    zcert_t *cert = zcert_load (s_own (name, ""));
    ck_assert_ptr_nonnull (cert);
    snprintf (out, 41, "%s", zcert_public_txt (cert));
    zcert_destroy (&cert);
}

static maas_client_t *
s_client (const char *name)
{
    maas_client_t *client = maas_client_new (fx.front, NULL);
    ck_assert_ptr_nonnull (client);
    if (name) {
        char secret[600];
        snprintf (secret, sizeof secret, "%s", s_own (name, "_secret"));
        ck_assert_msg (maas_client_set_curve (client, secret, s_own ("broker", "")) == 0, "%s",
                       maas_client_error (client));
    }
    return client;
}

static maas_worker_t *
s_worker (const char *name, const char *kinds)
{
    maas_worker_t *worker = maas_worker_new (fx.back, kinds, 1, name, NULL);
    ck_assert_ptr_nonnull (worker);
    char secret[600];
    snprintf (secret, sizeof secret, "%s", s_own (name, "_secret"));
    ck_assert_msg (maas_worker_set_curve (worker, secret, s_own ("broker", "")) == 0, "%s",
                   maas_worker_error (worker));
    return worker;
}

//  DIR/NAME into PATH (512 bytes), made a directory unless NAME is a file.
static void
s_under (char path[512], const char *name, bool directory)
{
    snprintf (path, 512, "%s/%s", fx.dir, name);
    ck_assert_msg (!directory || mkdir (path, 0700) == 0, "cannot make %s", path);
}

static void
s_setup (void)
{
    memset (&fx, 0, sizeof fx);
    fx.dir = support_tempdir_new ("curve");
    s_under (fx.own, "own", true);
    s_under (fx.clients, "clients", true);
    s_under (fx.workers, "workers", true);
    s_under (fx.log, "broker.log", false);
    fx.redis = support_redis_start ();
    s_key ("broker", NULL, NULL);
    s_key ("reader", fx.clients, "infer");
    s_key ("teacher", fx.clients, "train");
    s_key ("worker", fx.workers, NULL);
    s_key ("stranger", NULL, "admin");    //  in no directory
    snprintf (fx.front, sizeof fx.front, "tcp://127.0.0.1:%d", support_free_port ());
    snprintf (fx.back, sizeof fx.back, "tcp://127.0.0.1:%d", support_free_port ());
    char *path = support_build_path ("broker/maas-broker"), secret[600];
    snprintf (secret, sizeof secret, "%s", s_own ("broker", "_secret"));
    //  The curve flags first: the broker refuses to start without both lists.
    const char *argv[] = {path,
                          "--curve-secret",
                          secret,
                          "--clients",
                          fx.clients,
                          "--workers",
                          fx.workers,
                          "--log-level",
                          "info",
                          "--redis",
                          support_redis_url (fx.redis),
                          "--frontend",
                          fx.front,
                          "--backend",
                          fx.back,
                          NULL};
    fx.broker = support_proc_start (argv, NULL, fx.log);
    free (path);
}

static void
s_teardown (void)
{
    support_proc_stop (&fx.broker);
    support_redis_stop (&fx.redis);
    support_tempdir_remove (&fx.dir);
}

//  Field NAME of the broker's stats hash, 0 if missing.
static long long
s_stat (const char *name)
{
    maas_err_t err;
    redisContext *ctx = maas_redis_connect (
        &(maas_redis_config_t){.url = support_redis_url (fx.redis)}, 2000, &err);
    ck_assert_msg (ctx != NULL, "%s", err.text);
    redisReply *reply = redisCommand (ctx, "HGET maas:broker:broker %s", name);
    long long value = reply && reply->type == REDIS_REPLY_STRING ? atoll (reply->str) : 0;
    freeReplyObject (reply);
    redisFree (ctx);
    return value;
}

static bool
s_redis_has (const char *key)
{
    maas_err_t err;
    redisContext *ctx = maas_redis_connect (
        &(maas_redis_config_t){.url = support_redis_url (fx.redis)}, 2000, &err);
    ck_assert_msg (ctx != NULL, "%s", err.text);
    redisReply *reply = redisCommand (ctx, "EXISTS %s", key);
    bool has = reply && reply->type == REDIS_REPLY_INTEGER && reply->integer == 1;
    freeReplyObject (reply);
    redisFree (ctx);
    return has;
}

//  Submit a job of KIND and wait for its result (the caller's).
static maas_result_t *
s_run (maas_client_t *client, const char *kind, maas_worker_t *worker)
{
    maas_submit_t spec = {.kind = kind};
    char id[MAAS_PROTO_ID_MAX + 1];
    ck_assert_int_eq (maas_client_submit (client, &spec, "x", 1, NULL, NULL, id), 0);
    for (int i = 0; worker && i < 50; i++) {
        maas_client_poll (client, 0);
        maas_work_t *work = maas_worker_recv (worker, 100);
        if (work) {
            ck_assert_int_eq (maas_worker_reply (worker, &work, "y", 1, NULL, 0), 0);
            break;
        }
    }
    maas_result_t *result = maas_client_wait (client, id, 5000);
    ck_assert_msg (result != NULL, "no result for %s job", kind);
    return result;
}

//  Run `maas ARGS...` (NULL-terminated) with ENV added (NULL: none) and
//  output to DIR/LOG; its exit code.
static int
s_maas_env (const char *const *args, const char *const *env, const char *log)
{
    char *maas = support_build_path ("client/maas"), log_path[600];
    snprintf (log_path, sizeof log_path, "%s/%s", fx.dir, log);
    const char *argv[24] = {maas};
    for (size_t i = 0; args[i] && i < 22; i++)
        argv[i + 1] = args[i];
    support_proc_t *proc = support_proc_start (argv, env, log_path);
    int code = support_proc_wait (proc, 120000);
    support_proc_stop (&proc);
    free (maas);
    return code;
}

static int
s_maas (const char *const *args, const char *log)
{
    return s_maas_env (args, NULL, log);
}

START_TEST (test_keygen_cli)
{
    const char *args[] = {"keygen", "alice", "--role", "infer,train", "--dir", fx.own, NULL};
    ck_assert_int_eq (s_maas (args, "keygen.log"), 0);
    struct stat st;
    ck_assert_int_eq (stat (s_own ("alice", "_secret"), &st), 0);
    ck_assert_int_eq (st.st_mode & 0777, 0600);
    zcert_t *cert = zcert_load (s_own ("alice", ""));
    ck_assert_ptr_nonnull (cert);
    ck_assert_str_eq (zcert_meta (cert, "role"), "infer,train");
    zcert_destroy (&cert);
    ck_assert_int_eq (s_maas (args, "again.log"), 1);    //  never replaces a key
    const char *bad[] = {"keygen", "bob", "--role", "root", "--dir", fx.own, NULL};
    ck_assert_int_eq (s_maas (bad, "bad.log"), 1);
    char log[700];
    snprintf (log, sizeof log, "%s/bad.log", fx.dir);
    ck_assert (support_file_has (log, "role 'root' unknown"));
}
END_TEST

START_TEST (test_unknown_peers_refused)
{
    maas_client_t *reader = s_client ("reader");
    ck_assert_int_eq (maas_client_ping (reader, 5000), 0);
    maas_client_t *plain = s_client (NULL), *stranger = s_client ("stranger");
    ck_assert_int_eq (maas_client_ping (plain, 500), -1);
    ck_assert_int_eq (maas_client_ping (stranger, 500), -1);
    char z85[41], line[128];
    s_z85 ("stranger", z85);
    snprintf (line, sizeof line, "refused side=clients key=%s address=127.0.0.1", z85);
    ck_assert_msg (support_file_has (fx.log, line), "no '%s' in the broker log", line);
    zclock_sleep (1200);    //  a stats write
    ck_assert_int_ge (s_stat ("refused_clients"), 1);
    ck_assert_int_eq (s_stat ("refused_workers"), 0);
    maas_client_destroy (&plain);
    maas_client_destroy (&stranger);
    maas_client_destroy (&reader);
}
END_TEST

START_TEST (test_client_key_not_a_worker)
{
    //  A client's key pair on the workers' side: refused there.
    maas_worker_t *impostor = s_worker ("reader", "infer");
    ck_assert_ptr_null (maas_worker_recv (impostor, 1000));
    char z85[41], line[128];
    s_z85 ("reader", z85);
    snprintf (line, sizeof line, "refused side=workers key=%s", z85);
    ck_assert_msg (support_file_has (fx.log, line), "no '%s' in the broker log", line);
    maas_worker_destroy (&impostor);
    //  A worker's key serves; the client's reaches it.
    maas_worker_t *worker = s_worker ("worker", "infer");
    maas_client_t *reader = s_client ("reader");
    maas_result_t *result = s_run (reader, "infer", worker);
    ck_assert_str_eq (result->status, "succeeded");
    maas_result_destroy (&result);
    maas_client_destroy (&reader);
    maas_worker_destroy (&worker);
}
END_TEST

START_TEST (test_rights_by_role)
{
    maas_worker_t *worker = s_worker ("worker", "infer,train");
    maas_client_t *reader = s_client ("reader"), *teacher = s_client ("teacher");
    maas_result_t *result = s_run (reader, "train", NULL);
    ck_assert_str_eq (result->status, "rejected");
    ck_assert_msg (result->error && strstr (result->error, "may not submit 'train'"), "%s",
                   result->error);
    char key[128];
    snprintf (key, sizeof key, "maas:job:%s", result->id);
    ck_assert_msg (!s_redis_has (key), "%s stored for a refused job", key);
    maas_result_destroy (&result);
    //  Any other kind needs admin; train needs train.
    result = s_run (teacher, "echo", NULL);
    ck_assert_str_eq (result->status, "rejected");
    maas_result_destroy (&result);
    result = s_run (teacher, "train", worker);
    ck_assert_str_eq (result->status, "succeeded");
    maas_result_destroy (&result);
    zclock_sleep (1200);
    ck_assert_int_eq (s_stat ("unauthorised"), 2);
    maas_client_destroy (&reader);
    maas_client_destroy (&teacher);
    maas_worker_destroy (&worker);
}
END_TEST

START_TEST (test_rotation)
{
    char staging[600], public[700], added[700];
    snprintf (staging, sizeof staging, "%s/staging", fx.dir);
    ck_assert_int_eq (mkdir (staging, 0700), 0);
    s_key ("late", staging, "infer");
    maas_worker_t *worker = s_worker ("worker", "infer");
    maas_client_t *reader = s_client ("reader"), *late = s_client ("late");
    ck_assert_int_eq (maas_client_ping (reader, 5000), 0);
    ck_assert_int_eq (maas_client_ping (late, 300), -1);
    //  Added: the broker takes it within a second (plus a reconnect).
    snprintf (public, sizeof public, "%s/late", staging);
    snprintf (added, sizeof added, "%s/late", fx.clients);
    ck_assert_int_eq (rename (public, added), 0);
    int64_t start = zclock_mono ();
    while (maas_client_ping (late, 100) != 0 && zclock_mono () - start < 3000)
        zclock_sleep (10);    //  no pipe yet: the ping failed at once
    int64_t took = zclock_mono () - start;
    printf ("check_curve: added key connected in %lld ms\n", (long long) took);
    ck_assert_int_lt (took, 1500);
    maas_result_t *result = s_run (late, "infer", worker);
    ck_assert_str_eq (result->status, "succeeded");
    maas_result_destroy (&result);
    //  Removed: its open connection's next SUBMIT is refused.
    ck_assert_int_eq (unlink (added), 0);
    zclock_sleep (1100);
    result = s_run (late, "infer", NULL);
    ck_assert_str_eq (result->status, "rejected");
    ck_assert_msg (strstr (result->error, "no longer allowed"), "%s", result->error);
    maas_result_destroy (&result);
    maas_client_destroy (&late);
    maas_client_destroy (&reader);
    maas_worker_destroy (&worker);
}
END_TEST

START_TEST (test_worker_key_removed)
{
    maas_worker_t *worker = s_worker ("worker", "infer");
    for (int i = 0; i < 10 && s_stat ("workers") != 1; i++)
        maas_worker_recv (worker, 200);
    ck_assert_int_eq (s_stat ("workers"), 1);
    char path[600];
    snprintf (path, sizeof path, "%s/worker", fx.workers);
    ck_assert_int_eq (unlink (path), 0);
    for (int i = 0; i < 12; i++)    //  heartbeats go on for 2.4 s
        maas_worker_recv (worker, 200);
    ck_assert_msg (support_file_has (fx.log, "why=key removed"), "worker not forgotten");
    ck_assert_int_eq (s_stat ("workers"), 0);
    maas_worker_destroy (&worker);
}
END_TEST

//  The file DIR/NAME's mode bits.
static int
s_mode (const char *dir, const char *name)
{
    char path[700];
    snprintf (path, sizeof path, "%s/%s", dir, name);
    struct stat st;
    ck_assert_msg (stat (path, &st) == 0, "no %s", path);
    return (int) (st.st_mode & 0777);
}

//  `maas cancel` reaches the CURVE broker with --curve-key/--broker-key
//  (no stack env file: the flags alone, over the environment's), not
//  without; a bad key file is a usage error (2) that names the file,
//  before anything is dialled.
START_TEST (test_cli_key_flags)
{
    char secret[600], broker[600], log[700];
    snprintf (secret, sizeof secret, "%s", s_own ("reader", "_secret"));
    snprintf (broker, sizeof broker, "%s", s_own ("broker", ""));
    const char *env[] = {"MAAS_STATE_DIR=/nonexistent", NULL};
    const char *with[] = {"cancel",       "--broker", fx.front,      "--curve-key", secret,
                          "--broker-key", broker,     "no-such-job", NULL};
    s_maas_env (with, env, "with.log");
    snprintf (log, sizeof log, "%s/with.log", fx.dir);
    ck_assert_msg (support_file_has (log, "no-such-job") && !support_file_has (log, "no broker"),
                   "maas cancel with keys did not reach the broker (see %s)", log);
    //  --flag=FILE as every other flag takes its value.
    char key_eq[700], broker_eq[700];
    snprintf (key_eq, sizeof key_eq, "--curve-key=%s", secret);
    snprintf (broker_eq, sizeof broker_eq, "--broker-key=%s", broker);
    const char *with_eq[] = {"cancel",  "--broker",    fx.front, key_eq,
                             broker_eq, "no-such-job", NULL};
    s_maas_env (with_eq, env, "with-eq.log");
    snprintf (log, sizeof log, "%s/with-eq.log", fx.dir);
    ck_assert_msg (support_file_has (log, "no-such-job") && !support_file_has (log, "no broker"),
                   "maas cancel with --curve-key=FILE did not reach the broker (see %s)", log);
    //  The flags replace the environment's keys (a stack's env file).
    const char *stale[] = {"MAAS_STATE_DIR=/nonexistent", "MAAS_CURVE_KEY=/nonexistent-env",
                           "MAAS_BROKER_KEY=/nonexistent-env", NULL};
    s_maas_env (with, stale, "stale.log");
    snprintf (log, sizeof log, "%s/stale.log", fx.dir);
    ck_assert_msg (support_file_has (log, "no-such-job") && !support_file_has (log, "nonexistent"),
                   "maas cancel's flags did not replace $MAAS_CURVE_KEY (see %s)", log);
    const char *without[] = {"cancel", "--broker", fx.front, "no-such-job", NULL};
    ck_assert_int_eq (s_maas_env (without, env, "without.log"), 1);
    snprintf (log, sizeof log, "%s/without.log", fx.dir);
    ck_assert_msg (support_file_has (log, "no broker"), "see %s", log);
    const char *bad[] = {"cancel",       "--broker",     fx.front, "--curve-key", broker,
                         "--broker-key", "/nonexistent", "x",      NULL};
    ck_assert_int_eq (s_maas_env (bad, env, "bad.log"), 2);
    snprintf (log, sizeof log, "%s/bad.log", fx.dir);
    ck_assert_msg (support_file_has (log, "/nonexistent"), "see %s", log);
    const char *bare[] = {"infer", "m", "--curve-key", NULL};
    ck_assert_int_eq (s_maas_env (bare, env, "bare.log"), 2);
}
END_TEST

START_TEST (test_secure_stack)
{
    char state[600], env_var[700], log[700], keys[700];
    snprintf (state, sizeof state, "%s/stack", fx.dir);
    snprintf (env_var, sizeof env_var, "MAAS_STATE_DIR=%s", state);
    snprintf (keys, sizeof keys, "%s/keys", state);
    const char *env[] = {env_var, "MAAS_LOG_LEVEL=info", NULL};    //  the broker's start line
    const char *up[] = {"up",     "--workers", "1",        "--trainers", "1",
                        "--http", "off",       "--secure", NULL};
    int code = s_maas_env (up, env, "up.log");
    const char *down[] = {"down", NULL};
    if (code != 0)
        s_maas_env (down, env, "down.log");
    ck_assert_int_eq (code, 0);
    ck_assert_int_eq (s_mode (keys, "broker_secret"), 0600);
    ck_assert_int_eq (s_mode (keys, "admin_secret"), 0600);
    ck_assert_int_eq (s_mode (keys, "worker_secret"), 0600);
    ck_assert_int_eq (s_mode (keys, "clients/admin"), 0644);
    char *csv = support_src_path ("data/breast_cancer_train.csv");
    char *test_csv = support_src_path ("data/breast_cancer_test.csv");
    const char *put[] = {"dataset", "put", "cancer", csv, NULL};
    const char *train[] = {"train",  "bc",  "--data",   "cancer", "--layers", "8:relu,1:sigmoid",
                           "--loss", "bce", "--epochs", "3",      "--wait",   NULL};
    const char *infer[] = {"infer", "bc@1", "--input", test_csv, NULL};
    int put_code = s_maas_env (put, env, "put.log");
    int train_code = s_maas_env (train, env, "train.log");
    int infer_code = s_maas_env (infer, env, "infer.log");
    //  The broker ran with CURVE on, and refused nobody of its own stack.
    snprintf (log, sizeof log, "%s/logs/broker.log", state);
    bool curve_on = support_file_has (log, "curve=on"), refused = support_file_has (log, "refused");
    s_maas_env (down, env, "down.log");
    free (csv);
    free (test_csv);
    ck_assert_int_eq (put_code, 0);
    snprintf (log, sizeof log, "%s/train.log", fx.dir);
    ck_assert_msg (train_code == 0 && support_file_has (log, "model bc version 1 published"),
                   "maas train failed (see %s)", log);
    snprintf (log, sizeof log, "%s/infer.log", fx.dir);
    ck_assert_msg (infer_code == 0, "maas infer failed (see %s)", log);
    ck_assert_msg (curve_on && !refused, "curve_on=%d refused=%d", curve_on, refused);
}
END_TEST

int
main (void)
{
    Suite *suite = suite_create ("curve");
    TCase *core = tcase_create ("core");
    tcase_add_checked_fixture (core, s_setup, s_teardown);
    tcase_set_timeout (core, 60);
    tcase_add_test (core, test_keygen_cli);
    tcase_add_test (core, test_unknown_peers_refused);
    tcase_add_test (core, test_client_key_not_a_worker);
    tcase_add_test (core, test_rights_by_role);
    tcase_add_test (core, test_rotation);
    tcase_add_test (core, test_worker_key_removed);
    tcase_add_test (core, test_cli_key_flags);
    suite_add_tcase (suite, core);
    TCase *stack = tcase_create ("stack");
    tcase_add_checked_fixture (stack, s_setup, s_teardown);
    tcase_set_timeout (stack, 180);
    tcase_add_test (stack, test_secure_stack);
    suite_add_tcase (suite, stack);
    return support_run (suite);
}
