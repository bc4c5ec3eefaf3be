/*  check_gwauth.c: maas-gateway's API keys and TLS (docs/security.md), as
 *  processes: a real redis-server, maas-broker, maas-worker and gateways,
 *  keys made with the real `maas keygen --api`, requests made with the real
 *  curl binary. 401 and 403 by route and role, the same answer as without
 *  keys, rotation within a second, refusals counted and logged without
 *  the token, HTTPS with a certificate openssl made, clear start-up errors,
 *  and a `maas up --secure` stack answering the docs' examples. */
#include "support.h"
#include "maas.h"

#include <check.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define S_PREDICT "{\"instances\": [[0.1, 0.2, 0.3, 0.4], [1, 2, 3, 4]]}"

typedef struct {
    support_redis_t *redis;        //  private redis-server
    char *dir;                     //  temp dir: endpoints, keys, logs, curl's files
    char front[256], back[256];    //  broker endpoints
    char keys[512];                //  the API key file
    char gw_log[512];              //  the gateway's log (its stdout names the port)
    support_proc_t *broker;        //  the broker
    support_proc_t *worker;        //  the worker
    support_proc_t *gateway;       //  the gateway under test
    support_proc_t *plain;         //  a second gateway without keys, to compare
    int port;                      //  the gateway's port
    int plain_port;                //  the plain one's
    char scheme[8];                //  "http" or "https"
    char ca[600];                  //  --cacert for curl, "" for none
    maas_registry_t *registry;     //  the test's publisher
} fx_t;

static fx_t fx;

//  -- processes

static void
s_start_broker_worker (void)
{
    char log[600];
    snprintf (log, sizeof log, "%s/broker.log", fx.dir);
    fx.broker = support_broker_start (fx.front, fx.back, support_redis_url (fx.redis), NULL, log);
    const char *extra[] = {"--max-batch-rows", "0", NULL};
    snprintf (log, sizeof log, "%s/worker.log", fx.dir);
    fx.worker = support_worker_start (fx.back, support_redis_url (fx.redis), extra, log);
}

//  A gateway with EXTRA options (NULL-terminated) logging to LOG.
static support_proc_t *
s_gateway (const char *const *extra, const char *log)
{
    const char *args[32] = {"--threads", "2"};
    size_t n = 2;
    for (size_t i = 0; extra && extra[i] && n < 31; i++)
        args[n++] = extra[i];
    return support_gateway_start (fx.front, support_redis_url (fx.redis), args, log);
}

//  The gateway under test, with the key file and EXTRA options.
static void
s_gateway_start (const char *const *extra)
{
    const char *args[16] = {"--api-keys", fx.keys};
    size_t n = 2;
    for (size_t i = 0; extra && extra[i] && n < 15; i++)
        args[n++] = extra[i];
    fx.gateway = s_gateway (args, fx.gw_log);
    fx.port = support_gateway_port (fx.gw_log, fx.gateway);
    ck_assert_msg (fx.port > 0, "gateway did not start (log %s)", fx.gw_log);
}

static void
s_setup (void)
{
    signal (SIGPIPE, SIG_IGN);
    memset (&fx, 0, sizeof fx);
    fx.redis = support_redis_start ();
    fx.dir = support_tempdir_new ("gwauth");
    snprintf (fx.front, sizeof fx.front, "ipc://%s/front", fx.dir);
    snprintf (fx.back, sizeof fx.back, "ipc://%s/back", fx.dir);
    snprintf (fx.keys, sizeof fx.keys, "%s/api-keys", fx.dir);
    snprintf (fx.gw_log, sizeof fx.gw_log, "%s/gateway.log", fx.dir);
    snprintf (fx.scheme, sizeof fx.scheme, "http");
    s_start_broker_worker ();
    fx.registry = support_registry_new (fx.redis);
}

static void
s_teardown (void)
{
    maas_registry_destroy (&fx.registry);
    int code = fx.gateway ? support_proc_stop (&fx.gateway) : 0;
    int plain = fx.plain ? support_proc_stop (&fx.plain) : 0;
    support_proc_stop (&fx.worker);
    support_proc_stop (&fx.broker);
    support_redis_stop (&fx.redis);
    support_tempdir_remove (&fx.dir);
    ck_assert_msg (code == 0 && plain == 0, "maas-gateway exited %d / %d", code, plain);
}

//  Publish iris: 4 inputs, 8 tanh, 3 softmax.
static void
s_publish_iris (maas_registry_t *registry)
{
    maas_layer_spec_t layers[] = {{8, MAAS_ACT_TANH}, {3, MAAS_ACT_SOFTMAX}};
    maas_mlp_t *mlp = maas_mlp_new (4, layers, 2);
    ck_assert_ptr_nonnull (mlp);
    maas_mlp_init (mlp, 7);
    maas_model_t *model = maas_model_new (&mlp);
    support_publish_model (registry, "iris", model);
    maas_model_destroy (&model);
}

//  -- the real binaries

static char *
s_slurp (const char *path)
{
    static char text[1 << 16];
    text[0] = '\0';
    FILE *file = fopen (path, "r");
    if (file) {
        text[fread (text, 1, sizeof text - 1, file)] = '\0';
        fclose (file);
    }
    return text;
}

//  Run ARGV (argv[0] a path) with ENV (may be NULL), output to DIR/LOG;
//  the exit code.
static int
s_run (const char *const *argv, const char *const *env, const char *log)
{
    char path[600];
    snprintf (path, sizeof path, "%s/%s", fx.dir, log);
    unlink (path);
    support_proc_t *proc = support_proc_start (argv, env, path);
    int code = support_proc_wait (proc, 60000);
    support_proc_stop (&proc);
    return code;
}

//  `maas keygen NAME --api FILE --role ROLES [EXTRA]`; its exit code, its
//  output (the token) in OUT (MAAS_APIKEY_TOKEN_SIZE bytes) if not NULL.
static int
s_keygen (const char *file, const char *name, const char *roles, const char *extra, char *out)
{
    char *maas = support_build_path ("client/maas");
    const char *argv[] = {maas, "keygen", name, "--api", file, "--role", roles, extra, NULL};
    int code = s_run (argv, NULL, "keygen.out");
    free (maas);
    char path[600];
    snprintf (path, sizeof path, "%s/keygen.out", fx.dir);
    if (out)
        snprintf (out, MAAS_APIKEY_TOKEN_SIZE, "%.*s", (int) strcspn (s_slurp (path), "\n"),
                  s_slurp (path));
    return code;
}

static void
s_key (const char *name, const char *roles, char token[MAAS_APIKEY_TOKEN_SIZE])
{
    ck_assert_int_eq (s_keygen (fx.keys, name, roles, NULL, token), 0);
    ck_assert_uint_eq (strlen (token), MAAS_APIKEY_TOKEN_SIZE - 1);
}

typedef struct {
    int code;              //  HTTP status, 0: no answer (curl failed)
    int curl;              //  curl's exit code
    char body[1 << 14];    //  the body
    char headers[4096];    //  the header lines
} s_reply_t;

//  curl METHOD PATH on PORT (fx.scheme, fx.ca) with TOKEN (NULL: no
//  Authorization) and BODY (NULL: none).
static void
s_curl_port (int port, const char *method, const char *path, const char *token, const char *body,
             s_reply_t *reply)
{
    char url[512], auth[128], out[600], hdr[600], code[600];
    snprintf (url, sizeof url, "%s://127.0.0.1:%d%s", fx.scheme, port, path);
    snprintf (auth, sizeof auth, "Authorization: Bearer %s", token ? token : "");
    snprintf (out, sizeof out, "%s/curl.body", fx.dir);
    snprintf (hdr, sizeof hdr, "%s/curl.headers", fx.dir);
    unlink (out);
    unlink (hdr);
    const char *argv[24] = {"/usr/bin/curl", "-s", "-o",   out,          "-D", hdr, "-w",
                            "%{http_code}",  "-X", method, "--max-time", "10"};
    size_t n = 12;
    if (token) {
        argv[n++] = "-H";
        argv[n++] = auth;
    }
    if (body) {
        argv[n++] = "-d";
        argv[n++] = body;
    }
    if (fx.ca[0]) {
        argv[n++] = "--cacert";
        argv[n++] = fx.ca;
    }
    argv[n++] = url;
    argv[n] = NULL;
    reply->curl = s_run (argv, NULL, "curl.code");
    snprintf (code, sizeof code, "%s/curl.code", fx.dir);
    reply->code = atoi (s_slurp (code));
    snprintf (reply->body, sizeof reply->body, "%s", s_slurp (out));
    snprintf (reply->headers, sizeof reply->headers, "%s", s_slurp (hdr));
}

static void
s_curl (const char *method, const char *path, const char *token, const char *body, s_reply_t *reply)
{
    s_curl_port (fx.port, method, path, token, body, reply);
}

//  The status of METHOD PATH with TOKEN (and BODY).
static int
s_status (const char *method, const char *path, const char *token, const char *body)
{
    static s_reply_t reply;
    s_curl (method, path, token, body, &reply);
    return reply.code;
}

//  -- tests

START_TEST (test_keygen_cli)
{
    char token[MAAS_APIKEY_TOKEN_SIZE];
    s_key ("alice", "infer,train", token);
    ck_assert_int_eq (strncmp (token, "maas_", 5), 0);
    char out[600];
    snprintf (out, sizeof out, "%s/keygen.out", fx.dir);
    char line[MAAS_APIKEY_TOKEN_SIZE + 1];
    snprintf (line, sizeof line, "%s\n", token);
    ck_assert_str_eq (s_slurp (out), line);    //  nothing else: a script can take it
    struct stat st;
    ck_assert_int_eq (stat (fx.keys, &st), 0);
    ck_assert_int_eq (st.st_mode & 0777, 0600);
    const char *file = s_slurp (fx.keys);
    ck_assert_ptr_null (strstr (file, token + 5));    //  only its hash
    ck_assert_ptr_nonnull (strstr (file, "\nalice infer,train "));
    ck_assert_int_eq (s_keygen (fx.keys, "alice", "infer", NULL, NULL), 1);
    ck_assert_ptr_nonnull (strstr (s_slurp (out), "already has a key 'alice'"));
    ck_assert_int_eq (s_keygen (fx.keys, "bob", "root", NULL, NULL), 1);
    ck_assert_ptr_nonnull (strstr (s_slurp (out), "role 'root' unknown"));
    ck_assert_int_eq (s_keygen (fx.keys, "alice", "infer", "--remove", NULL), 0);
    ck_assert_ptr_null (strstr (s_slurp (fx.keys), "alice"));
    ck_assert_int_eq (s_keygen (fx.keys, "alice", "infer", "--remove", NULL), 1);
    ck_assert_ptr_nonnull (strstr (s_slurp (out), "has no key 'alice'"));
}
END_TEST

//  401 without a key or with a wrong one (WWW-Authenticate: Bearer), the
//  probes open, 403 by role, and a good key's answer the same as a plain
//  gateway's.
START_TEST (test_auth_codes)
{
    s_publish_iris (fx.registry);
    char reader[MAAS_APIKEY_TOKEN_SIZE], admin[MAAS_APIKEY_TOKEN_SIZE],
        scraper[MAAS_APIKEY_TOKEN_SIZE], teacher[MAAS_APIKEY_TOKEN_SIZE];
    s_key ("reader", "infer", reader);
    s_key ("admin", "admin", admin);
    s_key ("scraper", "", scraper);    //  no role: /metrics only
    s_key ("teacher", "train", teacher);
    s_gateway_start (NULL);
    s_reply_t reply;
    s_curl ("POST", "/v1/models/iris:predict", NULL, S_PREDICT, &reply);
    ck_assert_int_eq (reply.code, 401);
    ck_assert_msg (strstr (reply.headers, "WWW-Authenticate: Bearer realm=\"maas\"\r\n"), "%s",
                   reply.headers);
    ck_assert_msg (strstr (reply.body, "{\"error\": \"API key needed: send Authorization: Bearer"),
                   "%s", reply.body);
    //  A body bigger than MHD's buffer, refused before it is read (curl
    //  may see the connection closed mid-send: then no code at all).
    static char big[100000];
    snprintf (big, sizeof big, "{\"instances\": [[0.1, 0.2, 0.3, 0.4]], \"pad\": \"");
    memset (big + strlen (big), 'x', sizeof big - strlen (big) - 3);
    snprintf (big + sizeof big - 3, 3, "\"}");
    s_curl ("POST", "/v1/models/iris:predict", NULL, big, &reply);
    ck_assert_msg (reply.code == 401 || reply.code == 0, "a big body without a key: %d",
                   reply.code);
    char wrong[MAAS_APIKEY_TOKEN_SIZE];
    memcpy (wrong, reader, sizeof wrong);
    wrong[10] = wrong[10] == 'x' ? 'y' : 'x';
    s_curl ("POST", "/v1/models/iris:predict", wrong, S_PREDICT, &reply);
    ck_assert_int_eq (reply.code, 401);
    ck_assert_ptr_nonnull (strstr (reply.headers, "error=\"invalid_token\""));
    ck_assert_ptr_nonnull (strstr (reply.body, "API key not known"));
    ck_assert_int_eq (s_status ("GET", "/v2/models/iris", "not-a-token", NULL), 401);
    ck_assert_int_eq (s_status ("GET", "/metrics", NULL, NULL), 401);
    ck_assert_int_eq (s_status ("GET", "/v1/jobs/x", NULL, NULL), 401);
    //  The probes need no key.
    ck_assert_int_eq (s_status ("GET", "/v2/health/live", NULL, NULL), 200);
    ck_assert_int_eq (s_status ("GET", "/v2/health/ready", NULL, NULL), 200);
    //  Roles.
    ck_assert_int_eq (s_status ("GET", "/v1/models/iris", reader, NULL), 200);
    ck_assert_int_eq (s_status ("GET", "/v1/models/iris/metadata", reader, NULL), 200);
    ck_assert_int_eq (s_status ("GET", "/v1/models", admin, NULL), 200);
    ck_assert_int_eq (s_status ("GET", "/metrics", scraper, NULL), 200);
    s_curl ("POST", "/v1/models/iris:predict", scraper, S_PREDICT, &reply);
    ck_assert_int_eq (reply.code, 403);
    ck_assert_msg (
        strstr (reply.body, "API key 'scraper' may not use models: that needs role infer"), "%s",
        reply.body);
    ck_assert_int_eq (s_status ("GET", "/v2/models/iris", teacher, NULL), 403);
    //  Jobs: the right of their kind, as the broker asks.
    s_curl ("POST", "/v1/jobs", reader, "{\"kind\": \"train\", \"params\": {}}", &reply);
    ck_assert_int_eq (reply.code, 403);
    ck_assert_msg (strstr (reply.body, "may not submit 'train' jobs: that needs role train"), "%s",
                   reply.body);
    s_curl ("POST", "/v1/jobs", teacher, "{\"kind\": \"reindex\"}", &reply);
    ck_assert_int_eq (reply.code, 403);
    ck_assert_ptr_nonnull (strstr (reply.body, "needs role admin"));
    //  Without infer, not even whether the model exists (403 before the lookup).
    ck_assert_int_eq (s_status ("POST", "/v1/jobs", teacher,
                                "{\"kind\": \"infer\", \"model\": \"nope\", \"instances\": [[1]]}"),
                      403);
    ck_assert_int_eq (s_status ("POST", "/v1/jobs", reader,
                                "{\"id\": \"auth-1\", \"kind\": \"infer\", \"model\": \"iris\", "
                                "\"instances\": [[1, 2, 3, 4]]}"),
                      202);
    for (int i = 0; i < 100 && s_status ("GET", "/v1/jobs/auth-1", reader, NULL) != 200; i++)
        usleep (20000);    //  recorded by the broker a moment later
    ck_assert_int_eq (s_status ("GET", "/v1/jobs/auth-1", reader, NULL), 200);
    ck_assert_int_eq (s_status ("DELETE", "/v1/jobs/auth-1", teacher, NULL), 403);
    ck_assert_int_eq (s_status ("DELETE", "/v1/jobs/auth-1", reader, NULL), 202);
    ck_assert_int_eq (s_status ("DELETE", "/v1/jobs/auth-1", admin, NULL), 202);
    //  The same answer as a gateway without keys.
    char plain_log[600];
    snprintf (plain_log, sizeof plain_log, "%s/plain.log", fx.dir);
    fx.plain = s_gateway (NULL, plain_log);
    fx.plain_port = support_gateway_port (plain_log, fx.plain);
    ck_assert_int_gt (fx.plain_port, 0);
    s_reply_t plain;
    s_curl_port (fx.plain_port, "POST", "/v1/models/iris:predict", NULL, S_PREDICT, &plain);
    s_curl ("POST", "/v1/models/iris:predict", reader, S_PREDICT, &reply);
    ck_assert_int_eq (plain.code, 200);
    ck_assert_int_eq (reply.code, 200);
    ck_assert_str_eq (reply.body, plain.body);
    ck_assert_ptr_nonnull (strstr (reply.body, "{\"predictions\":[["));
}
END_TEST

//  Refusals counted by reason, logged at most a line a second per loop,
//  with the key's name and never a token.
START_TEST (test_auth_metrics_log)
{
    char reader[MAAS_APIKEY_TOKEN_SIZE], scraper[MAAS_APIKEY_TOKEN_SIZE];
    s_key ("reader", "infer", reader);
    s_key ("scraper", "", scraper);
    const char *one_loop[] = {"--threads", "1", NULL};
    s_gateway_start (one_loop);
    for (int i = 0; i < 3; i++)
        ck_assert_int_eq (s_status ("GET", "/v1/models", NULL, NULL), 401);
    char wrong[] = "maas_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
    ck_assert_int_eq (s_status ("GET", "/v1/models", wrong, NULL), 401);
    ck_assert_int_eq (s_status ("GET", "/v1/models", scraper, NULL), 403);
    ck_assert_int_eq (s_status ("GET", "/v1/models", scraper, NULL), 403);
    s_reply_t reply;
    s_curl ("GET", "/metrics", reader, NULL, &reply);
    ck_assert_int_eq (reply.code, 200);
    ck_assert_ptr_nonnull (
        strstr (reply.body, "maas_gateway_auth_refused_total{reason=\"missing\"} 3\n"));
    ck_assert_ptr_nonnull (
        strstr (reply.body, "maas_gateway_auth_refused_total{reason=\"unknown\"} 1\n"));
    ck_assert_ptr_nonnull (
        strstr (reply.body, "maas_gateway_auth_refused_total{reason=\"forbidden\"} 2\n"));
    ck_assert_ptr_nonnull (strstr (reply.body, "code=\"401\"} 4\n"));
    ck_assert_ptr_nonnull (strstr (reply.body, "code=\"403\"} 2\n"));
    //  Six refusals within a second: one line, then one more a second later.
    sleep (1);
    ck_assert_int_eq (s_status ("GET", "/v1/models", scraper, NULL), 403);
    const char *log = s_slurp (fx.gw_log);
    ck_assert_msg (strstr (log, "refused reason=missing key=- path=/v1/models peer=127.0.0.1"),
                   "%s", log);
    ck_assert_msg (strstr (log, "refused reason=forbidden key=scraper path=/v1/models"), "%s", log);
    ck_assert_msg (strstr (log, "unlogged=5"), "%s", log);
    ck_assert_ptr_null (strstr (log, "reason=unknown"));    //  within the first second
    ck_assert_ptr_null (strstr (log, "maas_"));             //  no token, good or bad
}
END_TEST

//  How long after START a request with TOKEN first got STATUS: the time it
//  was sent, so a slow answer (valgrind) does not count. 3 s at most.
static int64_t
s_until (int64_t start, const char *method, const char *path, const char *token, const char *body,
         int status)
{
    int64_t sent;
    do {
        usleep (20000);
        sent = maas_clock_mono_ms ();
    } while (s_status (method, path, token, body) != status && sent - start < 3000);
    return sent - start;
}

//  A key removed from the file is refused within a second, one added
//  accepted within a second, on every loop; no restart.
START_TEST (test_rotation)
{
    s_publish_iris (fx.registry);
    char alice[MAAS_APIKEY_TOKEN_SIZE], bob[MAAS_APIKEY_TOKEN_SIZE];
    s_key ("alice", "infer", alice);
    s_gateway_start (NULL);    //  two loops: each must see the change
    ck_assert_int_eq (s_status ("GET", "/v1/models/iris", alice, NULL), 200);
    ck_assert_int_eq (s_keygen (fx.keys, "alice", "infer", "--remove", NULL), 0);
    int64_t start = maas_clock_mono_ms ();    //  the file has changed
    int64_t removed_ms = s_until (start, "GET", "/v1/models/iris", alice, NULL, 401);
    ck_assert_msg (removed_ms < 1000, "a removed key was still accepted after %lld ms",
                   (long long) removed_ms);
    s_key ("bob", "infer", bob);
    start = maas_clock_mono_ms ();
    int64_t added_ms = s_until (start, "POST", "/v1/models/iris:predict", bob, S_PREDICT, 200);
    ck_assert_msg (added_ms < 1000, "a new key was refused for %lld ms", (long long) added_ms);
    usleep (1000 * 1000);
    //  A second on, every loop agrees (connections land on either).
    for (int i = 0; i < 8; i++) {
        ck_assert_int_eq (s_status ("GET", "/v1/models/iris", alice, NULL), 401);
        ck_assert_int_eq (s_status ("GET", "/v1/models/iris", bob, NULL), 200);
    }
    //  A malformed file keeps the keys it had, and says so in the log.
    FILE *file = fopen (fx.keys, "a");
    fputs ("broken\n", file);
    fclose (file);
    usleep (1000 * 1000);
    ck_assert_int_eq (s_status ("GET", "/v1/models/iris", bob, NULL), 200);
    ck_assert (support_file_has (fx.gw_log, "api keys not reloaded"));
    ck_assert (support_file_has (fx.gw_log, ":3: expected NAME ROLES SALT HASH"));
}
END_TEST

//  openssl's certificate for 127.0.0.1 and its key into DIR/NAME.crt/.key.
static void
s_openssl_cert (const char *name)
{
    char crt[600], key[600];
    snprintf (crt, sizeof crt, "%s/%s.crt", fx.dir, name);
    snprintf (key, sizeof key, "%s/%s.key", fx.dir, name);
    const char *argv[] = {"/usr/bin/openssl",
                          "req",
                          "-x509",
                          "-newkey",
                          "ec",
                          "-pkeyopt",
                          "ec_paramgen_curve:prime256v1",
                          "-nodes",
                          "-keyout",
                          key,
                          "-out",
                          crt,
                          "-days",
                          "2",
                          "-subj",
                          "/CN=127.0.0.1",
                          "-addext",
                          "subjectAltName=IP:127.0.0.1",
                          NULL};
    ck_assert_int_eq (s_run (argv, NULL, "openssl.log"), 0);
}

//  maas-gateway with EXTRA must exit 1 saying SAYS.
static void
s_refuses (const char *const *extra, const char *says)
{
    char log[600];
    snprintf (log, sizeof log, "%s/refused.log", fx.dir);
    support_proc_t *proc = s_gateway (extra, log);
    int code = support_proc_wait (proc, 10000);
    support_proc_stop (&proc);
    ck_assert_msg (code == 1 && support_file_has (log, says), "exit %d, wanted '%s': %s", code,
                   says, s_slurp (log));
}

START_TEST (test_tls)
{
    s_publish_iris (fx.registry);
    s_openssl_cert ("server");
    s_openssl_cert ("other");
    char reader[MAAS_APIKEY_TOKEN_SIZE], crt[600], key[600], other_key[600], missing[600];
    s_key ("reader", "infer", reader);
    snprintf (crt, sizeof crt, "%s/server.crt", fx.dir);
    snprintf (key, sizeof key, "%s/server.key", fx.dir);
    snprintf (other_key, sizeof other_key, "%s/other.key", fx.dir);
    snprintf (missing, sizeof missing, "%s/none.pem", fx.dir);
    //  Start-up errors name the file and what is wrong with it.
    const char *mismatch[] = {"--tls-cert", crt, "--tls-key", other_key, NULL};
    s_refuses (mismatch, "does not go with --tls-cert");
    const char *gone[] = {"--tls-cert", missing, "--tls-key", key, NULL};
    s_refuses (gone, "No such file or directory");
    const char *swapped[] = {"--tls-cert", key, "--tls-key", crt, NULL};
    s_refuses (swapped, "not a PEM certificate");
    const char *half[] = {"--tls-cert", crt, NULL};
    s_refuses (half, "give both --tls-cert and --tls-key");
    const char *bad_keys[] = {"--api-keys", missing, NULL};
    s_refuses (bad_keys, "--api-keys: API key file");
    //  HTTPS with curl trusting the certificate.
    const char *tls[] = {"--tls-cert", crt, "--tls-key", key, NULL};
    s_gateway_start (tls);
    ck_assert (support_file_has (fx.gw_log, "listening on https://127.0.0.1:"));
    snprintf (fx.scheme, sizeof fx.scheme, "https");
    snprintf (fx.ca, sizeof fx.ca, "%s", crt);
    ck_assert_int_eq (s_status ("GET", "/v2/health/live", NULL, NULL), 200);
    ck_assert_int_eq (s_status ("GET", "/v1/models", NULL, NULL), 401);
    s_reply_t reply;
    s_curl ("POST", "/v1/models/iris:predict", reader, S_PREDICT, &reply);
    ck_assert_int_eq (reply.code, 200);
    ck_assert_ptr_nonnull (strstr (reply.body, "{\"predictions\":[["));
    //  Not trusted without the CA; plain HTTP to the TLS port gets no answer.
    fx.ca[0] = '\0';
    s_curl ("GET", "/v2/health/live", NULL, NULL, &reply);
    ck_assert_int_eq (reply.code, 0);
    ck_assert_int_eq (reply.curl, 60);    //  CURLE_PEER_FAILED_VERIFICATION
    snprintf (fx.scheme, sizeof fx.scheme, "http");
    s_curl ("GET", "/v2/health/live", NULL, NULL, &reply);
    ck_assert_msg (reply.code != 200 && reply.curl != 0, "plain HTTP: code %d curl %d", reply.code,
                   reply.curl);
}
END_TEST

//  `maas up --secure` with a gateway: env holds MAAS_API_KEY and
//  MAAS_GATEWAY_CA, the gateway answers HTTPS with that key; then the
//  docs' sh blocks of "The HTTP gateway" in docs/security.md run as printed.
START_TEST (test_secure_stack)
{
    char state[600], state_env[700], path_env[4096], env_path[700];
    snprintf (state, sizeof state, "%s/stack", fx.dir);
    snprintf (state_env, sizeof state_env, "MAAS_STATE_DIR=%s", state);
    char *client = support_build_path ("client");
    snprintf (path_env, sizeof path_env, "PATH=%s:%s", client, getenv ("PATH"));
    free (client);
    const char *env[] = {state_env, path_env, NULL};
    char *maas = support_build_path ("client/maas");
    const char *up[] = {maas, "up",     "--workers",   "1",        "--trainers",
                        "0",  "--http", "127.0.0.1:0", "--secure", NULL};
    const char *down[] = {maas, "down", NULL};
    int code = s_run (up, env, "up.log");
    snprintf (env_path, sizeof env_path, "%s/env", state);
    char text[4096];
    snprintf (text, sizeof text, "%s", s_slurp (env_path));
    struct stat st;
    int env_mode = stat (env_path, &st) == 0 ? (int) (st.st_mode & 0777) : -1;
    char key[MAAS_APIKEY_TOKEN_SIZE] = "", ca[600] = "", url[600] = "", redis[600] = "";
    for (char *line = strtok (text, "\n"); line; line = strtok (NULL, "\n")) {
        sscanf (line, "MAAS_API_KEY=%48s", key);
        sscanf (line, "MAAS_GATEWAY_CA=%599s", ca);
        sscanf (line, "MAAS_HTTP_URL=https://127.0.0.1:%599s", url);
        sscanf (line, "MAAS_REDIS_URL=%599s", redis);
    }
    maas_err_t err = {0};
    maas_registry_t *registry = code == 0 ? maas_registry_new (redis, NULL, &err) : NULL;
    s_reply_t reply = {0};
    s_reply_t anonymous = {0};
    int docs = -1;
    if (registry) {
        s_publish_iris (registry);
        maas_registry_destroy (&registry);
        fx.port = atoi (url);
        snprintf (fx.scheme, sizeof fx.scheme, "https");
        snprintf (fx.ca, sizeof fx.ca, "%s", ca);
        s_curl ("POST", "/v1/models/iris:predict", key, S_PREDICT, &reply);
        s_curl ("POST", "/v1/models/iris:predict", NULL, S_PREDICT, &anonymous);
        char *doc = support_src_path ("docs/security.md");
        char script[600];
        snprintf (script, sizeof script,
                  "cd '%s' && awk '/^## The HTTP gateway/{on=1} /^## Fuzzed/{on=0} "
                  "on && /^```$/{if (b) b=0} on && b {print} on && /^```sh$/{b=1}' '%s' > docs.sh "
                  "&& test -s docs.sh && sh -e docs.sh",
                  fx.dir, doc);
        free (doc);
        const char *argv[] = {"/bin/sh", "-c", script, NULL};
        docs = s_run (argv, env, "docs.out");
    }
    s_run (down, env, "down.log");
    free (maas);
    char up_log[600];
    snprintf (up_log, sizeof up_log, "%s/up.log", fx.dir);
    ck_assert_msg (code == 0, "maas up --secure failed: %s", s_slurp (up_log));
    ck_assert_msg (*key && *ca && *url, "env lacks the gateway's key, CA or https URL: %s",
                   s_slurp (env_path));
    ck_assert_int_eq (env_mode, 0600);
    ck_assert_msg (reply.code == 200 && strstr (reply.body, "\"predictions\""), "%d %s", reply.code,
                   reply.body);
    ck_assert_int_eq (anonymous.code, 401);
    char out[600];
    snprintf (out, sizeof out, "%s/docs.out", fx.dir);
    const char *printed = s_slurp (out);
    ck_assert_msg (docs == 0, "docs/security.md's gateway blocks failed: %s", printed);
    ck_assert_msg (strstr (printed, "\"predictions\"") && strstr (printed, "\n401"), "%s", printed);
}
END_TEST

static Suite *
s_suite (void)
{
    Suite *suite = suite_create ("gwauth");
    TCase *core = tcase_create ("core");
    tcase_add_checked_fixture (core, s_setup, s_teardown);
    tcase_set_timeout (core, 120);
    tcase_add_test (core, test_keygen_cli);
    tcase_add_test (core, test_auth_codes);
    tcase_add_test (core, test_auth_metrics_log);
    tcase_add_test (core, test_rotation);
    tcase_add_test (core, test_tls);
    tcase_add_test (core, test_secure_stack);
    suite_add_tcase (suite, core);
    return suite;
}

int
main (void)
{
    return support_run (s_suite ());
}
