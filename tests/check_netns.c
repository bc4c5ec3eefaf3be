/*  check_netns.c: several hosts for real. Redis and maas-broker run in one
 *  network namespace (the hub), a maas-worker in each of two others; veth
 *  pairs join them to a bridge on the test's own private link. A file scored
 *  across them equals in-process scoring bit for bit, also when one worker's
 *  link is cut mid-run.
 *
 *  Needs root (CAP_SYS_ADMIN) and iproute2's `ip`. Without them the suite
 *  FAILS with a message saying so; it never skips (house rule, and CI runs as
 *  root). Each test builds its namespaces maas-<pid>-hub/-w1/-w2 (PID of the
 *  test program) and removes them at its end; the TCase's unchecked teardown,
 *  which runs in Check's parent process even when a test fails or times out,
 *  removes them again, and the processes a test started die with it
 *  (PR_SET_PDEATHSIG). A run killed outright leaves its namespaces to the
 *  next run, which deletes those whose PID is gone.
 *  Alone: make check TESTS=tests/check_netns (as root). */
#include "maas.h"
#include "forward.h"
#include "model.h"
#include "npy.h"
#include "registry.h"
#include "score.h"
#include "support.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define S_ROWS      5003    //  a prime: no shard size divides it
#define S_COLS      10
#define S_SHARD     "97"    //  small shards: ~52 of them, the run has a middle
#define S_WINDOW    "8"     //  more than the workers' 2 + 2 credits: both busy
//  The private link lives only inside this run's namespaces (no route
//  leaves them, interfaces are created inside them), so the addresses cannot
//  collide with the host or with another run, even at the same time.
#define S_HUB_ADDR  "10.213.0.1"
#define S_FRONTEND  "tcp://" S_HUB_ADDR ":5555"
#define S_BACKEND   "tcp://" S_HUB_ADDR ":5556"
#define S_REDIS_URL "redis://" S_HUB_ADDR ":6379"

enum { S_HUB, S_W1, S_W2, S_HOSTS };
static const char *s_host[S_HOSTS] = {"hub", "w1", "w2"};

static char s_ns[S_HOSTS][64];          //  namespace names, "maas-<pid>-hub" ...
static pid_t s_runner;                  //  Check's runner process (names the namespaces)
static const char *s_ip_path;           //  iproute2's ip
static char *s_dir;                     //  temp dir for logs and files
static support_redis_t *s_redis;        //  in the hub
static support_proc_t *s_broker;        //  in the hub
static support_proc_t *s_workers[2];    //  in w1, w2
static float *s_x;                      //  S_ROWS × S_COLS inputs
static float *s_expected;               //  S_ROWS in-process outputs

static void
s_sleep_ms (int ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long) (ms % 1000) * 1000000L};
    nanosleep (&ts, NULL);
}

static char *
s_path (const char *name)
{
    char *path = NULL;
    ck_assert (asprintf (&path, "%s/%s", s_dir, name) > 0);
    return path;
}

//  The first SIZE-1 bytes of file NAME in the temp dir ("" if none).
static void
s_read (const char *name, char *text, size_t size)
{
    char *path = s_path (name);
    FILE *file = fopen (path, "r");
    text[0] = '\0';
    if (file) {
        text[fread (text, 1, size - 1, file)] = '\0';
        fclose (file);
    }
    free (path);
}

// ---------------------------------------------------------------------------
//  The link: namespaces, bridge, veth pairs, all through `ip`.

//  Run `ip ARGS` (split on spaces). 0, or ip's exit code with its output in
//  OUT (when not NULL).
static int
s_ip_vrun (char *out, size_t out_size, const char *fmt, va_list args)
{
    char *line = NULL, *save = NULL;
    ck_assert (vasprintf (&line, fmt, args) > 0);
    const char *argv[24] = {s_ip_path};
    size_t n = 1;
    for (char *word = strtok_r (line, " ", &save); word && n < 23;
         word = strtok_r (NULL, " ", &save))
        argv[n++] = word;
    argv[n] = NULL;
    char *log_path = s_path ("ip.log");
    unlink (log_path);
    support_proc_t *proc = support_proc_start (argv, NULL, log_path);
    int code = support_proc_wait (proc, 10000);
    support_proc_stop (&proc);
    if (out) {
        s_read ("ip.log", out, out_size);
        out[strcspn (out, "\n")] = '\0';
    }
    free (log_path);
    free (line);
    return code;
}

static int s_ip_run (char *out, size_t out_size, const char *fmt, ...)
    __attribute__ ((format (printf, 3, 4)));
static void s_ip (const char *fmt, ...) __attribute__ ((format (printf, 1, 2)));

static int
s_ip_run (char *out, size_t out_size, const char *fmt, ...)
{
    va_list args;
    va_start (args, fmt);
    int code = s_ip_vrun (out, out_size, fmt, args);
    va_end (args);
    return code;
}

//  Run `ip ARGS`; fail the test with ip's output if it fails.
static void
s_ip (const char *fmt, ...)
{
    char out[512];
    va_list args;
    va_start (args, fmt);
    int code = s_ip_vrun (out, sizeof out, fmt, args);
    va_end (args);
    ck_assert_msg (code == 0, "ip failed (exit %d): %s", code, out);
}

static void
s_net_down (void)
{
    for (int i = 0; i < S_HOSTS; i++)
        s_ip_run (NULL, 0, "netns del %s", s_ns[i]);
}

//  Delete namespaces that killed runs of this suite left behind.
static void
s_sweep (void)
{
    char *command = NULL, line[256];
    ck_assert (asprintf (&command, "%s netns list 2>/dev/null", s_ip_path) > 0);
    FILE *list = popen (command, "r");
    free (command);
    while (list && fgets (line, sizeof line, list)) {
        int pid = 0, end = 0;
        char host[8];
        bool ours = sscanf (line, "maas-%d-%7[a-z0-9]%n", &pid, host, &end) == 2 && pid > 0
            && (line[end] == ' ' || line[end] == '\n')
            && (!strcmp (host, "hub") || !strcmp (host, "w1") || !strcmp (host, "w2"));
        if (ours && kill (pid, 0) != 0 && errno == ESRCH)
            s_ip_run (NULL, 0, "netns del maas-%d-%s", pid, host);
    }
    if (list)
        pclose (list);
}

static void
s_net_host_up (int i)
{
    s_ip ("-n %s link set lo up", s_ns[i]);
    if (i == S_HUB) {
        s_ip ("-n %s link add br0 type bridge", s_ns[i]);
        s_ip ("-n %s addr add " S_HUB_ADDR "/24 dev br0", s_ns[i]);
        s_ip ("-n %s link set br0 up", s_ns[i]);
        return;
    }
    //  The pair is made inside the namespaces: no name ever exists on the host.
    s_ip ("-n %s link add to-%s type veth peer name eth0 netns %s", s_ns[S_HUB], s_host[i],
          s_ns[i]);
    s_ip ("-n %s link set to-%s master br0 up", s_ns[S_HUB], s_host[i]);
    s_ip ("-n %s addr add 10.213.0.1%d/24 dev eth0", s_ns[i], i);
    s_ip ("-n %s link set eth0 up", s_ns[i]);
}

static void
s_net_up (void)
{
    s_net_down ();
    for (int i = 0; i < S_HOSTS; i++) {
        char out[512];
        int code = s_ip_run (out, sizeof out, "netns add %s", s_ns[i]);
        ck_assert_msg (code == 0,
                       "cannot create network namespace %s (ip exit %d: %s): this suite needs "
                       "root (CAP_SYS_ADMIN) and iproute2",
                       s_ns[i], code, out);
    }
    for (int i = 0; i < S_HOSTS; i++)
        s_net_host_up (i);
}

// ---------------------------------------------------------------------------
//  Processes in namespaces.

//  True once PID is the program NAME (ip and the libtool wrapper have exec'd
//  it, so stopping the PID stops the program) inside namespace HOST.
static bool
s_runs_in (pid_t pid, const char *name, int host)
{
    char path[64], comm[32] = "";
    snprintf (path, sizeof path, "/proc/%d/comm", (int) pid);
    FILE *file = fopen (path, "r");
    if (file) {
        if (!fgets (comm, sizeof comm, file))
            comm[0] = '\0';
        fclose (file);
    }
    comm[strcspn (comm, "\n")] = '\0';
    const char *bare = strncmp (comm, "lt-", 3) == 0 ? comm + 3 : comm;
    char ns_path[128];
    snprintf (path, sizeof path, "/proc/%d/ns/net", (int) pid);
    snprintf (ns_path, sizeof ns_path, "/run/netns/%s", s_ns[host]);
    struct stat in, want;
    return strcmp (bare, name) == 0 && stat (path, &in) == 0 && stat (ns_path, &want) == 0
        && in.st_dev == want.st_dev && in.st_ino == want.st_ino;
}

static void
s_assert_runs_in (pid_t pid, const char *name, int host)
{
    for (int waited = 0; !s_runs_in (pid, name, host); waited += 10) {
        ck_assert_msg (waited < 10000, "pid %d is not %s in namespace %s after 10 s", (int) pid,
                       name, s_ns[host]);
        s_sleep_ms (10);
    }
}

//  Start build program PROGRAM ("broker/maas-broker") with ARGS inside HOST's
//  namespace through `ip netns exec`, output to LOG_NAME in the temp dir.
static support_proc_t *
s_start_in (int host, const char *program, const char *const args[], const char *log_name)
{
    char *path = support_build_path (program), *log_path = s_path (log_name);
    const char *argv[32] = {s_ip_path, "netns", "exec", s_ns[host], path};
    size_t n = 5;
    for (size_t i = 0; args[i] && n < 31; i++)
        argv[n++] = args[i];
    argv[n] = NULL;
    support_proc_t *proc = support_proc_start (argv, NULL, log_path);
    s_assert_runs_in (support_proc_pid (proc), strrchr (program, '/') + 1, host);
    free (path);
    free (log_path);
    return proc;
}

static bool
s_log_has (const char *log_name, const char *needle)
{
    char text[65536];
    s_read (log_name, text, sizeof text);
    return strstr (text, needle) != NULL;
}

//  Jobs the broker took back from worker NAME when it fell silent, -1 if it
//  never dropped it for silence.
static int
s_jobs_taken_back (const char *name)
{
    char text[65536], needle[64];
    s_read ("broker.log", text, sizeof text);
    snprintf (needle, sizeof needle, "worker gone name=%s jobs=", name);
    for (const char *at = strstr (text, needle); at; at = strstr (at + 1, needle)) {
        int jobs = -1, end = 0;
        if (sscanf (at + strlen (needle), "%d why=worker silent past its liveness%n", &jobs, &end)
                == 1
            && end > 0)
            return jobs;
    }
    return -1;
}

static void
s_wait_log (const char *log_name, const char *needle)
{
    for (int waited = 0; !s_log_has (log_name, needle); waited += 10) {
        ck_assert_msg (waited < 10000, "no '%s' in %s/%s after 10 s", needle, s_dir, log_name);
        s_sleep_ms (10);
    }
}

// ---------------------------------------------------------------------------
//  The model, the data, the stack.

//  Publish a small network as seed@production (through Redis's unix socket,
//  a file, so reachable from outside the hub) and score S_X in process.
static void
s_publish_model (void)
{
    maas_layer_spec_t layers[] = {{32, MAAS_ACT_RELU}, {1, MAAS_ACT_SIGMOID}};
    maas_mlp_t *mlp = maas_mlp_new (S_COLS, layers, 2);
    maas_mlp_init (mlp, 11);
    maas_blas_set_threads (1);    //  as the workers run: same bits in any batch
    maas_predictor_t *predictor = maas_predictor_new (mlp);
    ck_assert_int_eq (maas_predictor_run (predictor, s_x, S_ROWS, s_expected), 0);
    maas_predictor_destroy (&predictor);
    maas_model_t *model = maas_model_new (&mlp);
    uint8_t *blob;
    size_t size;
    ck_assert_int_eq (maas_model_encode (model, &blob, &size, NULL), 0);
    char url[600];
    maas_err_t err;
    snprintf (url, sizeof url, "unix://%s", support_redis_socket (s_redis));
    maas_registry_t *registry = maas_registry_new (url, NULL, &err);
    ck_assert_msg (registry, "%s", err.text);
    uint64_t version;
    maas_registry_meta_t meta = {0};
    ck_assert_int_eq (maas_registry_publish (registry, "seed", blob, size, &meta, &version, NULL),
                      0);
    ck_assert_int_eq (maas_registry_alias (registry, "seed", "production", version), 0);
    maas_registry_destroy (&registry);
    maas_model_destroy (&model);
    free (blob);
}

static void
s_start_worker (int i)
{
    char log_name[32], name[8];
    snprintf (log_name, sizeof log_name, "worker-%d.log", i + 1);
    snprintf (name, sizeof name, "w%d", i + 1);
    const char *args[] = {"--broker",    S_BACKEND,   "--redis", S_REDIS_URL,   "--name",
                          name,          "--credits", "2",       "--heartbeat", "200",
                          "--log-level", "info",      NULL};
    s_workers[i] = s_start_in (S_W1 + i, "worker/maas-worker", args, log_name);
}

//  The link, Redis and the broker in the hub, a worker in w1 and in w2, the
//  model published; returns once both workers are ready at the broker.
static void
s_stack_up (void)
{
    //  In a forked test, die with Check's runner: then so do the servers
    //  (theirs is this process), and the next run sweeps the namespaces.
    if (getpid () != s_runner)
        prctl (PR_SET_PDEATHSIG, SIGKILL);
    s_net_up ();
    const char *hub_exec[] = {s_ip_path, "netns", "exec", s_ns[S_HUB], NULL};
    s_redis = support_redis_start_wrapped (hub_exec, S_HUB_ADDR, 6379);
    s_assert_runs_in (support_redis_pid (s_redis), "redis-server", S_HUB);
    //  A dead worker is noticed after 5 × 200 ms of silence.
    const char *args[] = {"--frontend",  S_FRONTEND,    "--backend", S_BACKEND,    "--redis",
                          S_REDIS_URL,   "--heartbeat", "200",       "--liveness", "5",
                          "--log-level", "info",        NULL};
    s_broker = s_start_in (S_HUB, "broker/maas-broker", args, "broker.log");
    for (int i = 0; i < 2; i++)
        s_start_worker (i);
    s_x = malloc (S_ROWS * S_COLS * sizeof (float));
    s_expected = malloc (S_ROWS * sizeof (float));
    ck_assert (s_x && s_expected);
    maas_rng_t rng;
    maas_rng_seed (&rng, 5);
    for (size_t i = 0; i < S_ROWS * S_COLS; i++)
        s_x[i] = (float) maas_rng_normal (&rng);
    s_publish_model ();
    s_wait_log ("broker.log", "worker ready name=w1");
    s_wait_log ("broker.log", "worker ready name=w2");
}

static void
s_stack_down (void)
{
    for (int i = 0; i < 2; i++)
        support_proc_stop (&s_workers[i]);
    support_proc_stop (&s_broker);
    support_redis_stop (&s_redis);
    s_net_down ();
    free (s_x);
    free (s_expected);
}

static char *
s_write_input (const char *name)
{
    char *path = s_path (name);
    maas_err_t err;
    maas_npy_writer_t *writer = maas_npy_create (path, S_COLS, &err);
    ck_assert_msg (writer && maas_npy_write (writer, s_x, S_ROWS, &err) == 0, "%s", err.text);
    ck_assert_int_eq (maas_npy_close (&writer, &err), 0);
    return path;
}

// ---------------------------------------------------------------------------
//  Tests.

//  `maas score` in the hub, shards served by the workers in w1 and w2.
START_TEST (test_scores_across_hosts)
{
    s_stack_up ();
    char *input = s_write_input ("in.npy"), *output = s_path ("out.npy");
    const char *args[] = {"score",    "seed@production", "--input", input,       "--output",
                          output,     "--shard-rows",    S_SHARD,   "--window",  S_WINDOW,
                          "--broker", S_FRONTEND,        "--redis", S_REDIS_URL, NULL};
    support_proc_t *cli = s_start_in (S_HUB, "client/maas", args, "cli.log");
    int code = support_proc_wait (cli, 30000);
    support_proc_stop (&cli);
    char text[4096];
    s_read ("cli.log", text, sizeof text);
    ck_assert_msg (code == 0 && strstr (text, "scored 5003 rows"), "exit %d: %s", code, text);
    support_assert_npy_equal (output, s_expected, S_ROWS, 1);
    //  Both workers fetched the model from Redis over their link and ran shards.
    ck_assert_msg (s_log_has ("worker-1.log", "loaded model=seed"), "w1 ran no shard");
    ck_assert_msg (s_log_has ("worker-2.log", "loaded model=seed"), "w2 ran no shard");
    free (input);
    free (output);
    s_stack_down ();
}
END_TEST

//  Enter the hub's network namespace: this thread, and the ZeroMQ I/O
//  threads created after it (the client's), reach the hub's addresses.
static void
s_enter_hub (void)
{
    char path[128];
    snprintf (path, sizeof path, "/run/netns/%s", s_ns[S_HUB]);
    int fd = open (path, O_RDONLY | O_CLOEXEC);
    ck_assert_msg (fd >= 0 && setns (fd, CLONE_NEWNET) == 0, "setns %s: %s", path,
                   strerror (errno));
    close (fd);
}

//  Progress callback: pull w1's cable (its veth on the hub's side) once a
//  third of the rows are written, while most shards are still to come.
static void
s_cut_midway (size_t done, size_t total, void *arg)
{
    bool *cut = arg;
    if (!*cut && done >= S_ROWS / 3) {
        s_ip ("-n %s link set to-w1 down", s_ns[S_HUB]);
        *cut = true;
    }
}

START_TEST (test_link_cut_mid_run)
{
    s_stack_up ();
    s_enter_hub ();
    char *input = s_write_input ("cut.npy"), *output = s_path ("cut-out.npy");
    maas_err_t err;
    maas_client_t *client = maas_client_new (S_FRONTEND, NULL);
    ck_assert (client);
    bool cut = false;
    maas_score_config_t config = {.model = "seed@production",
                                  .shard_rows = (size_t) atoi (S_SHARD),
                                  .window = (size_t) atoi (S_WINDOW),
                                  .progress = s_cut_midway,
                                  .progress_arg = &cut};
    maas_score_stats_t stats;
    int rc = maas_score_file (client, &config, input, output, NULL, NULL, &stats, &err);
    ck_assert_msg (rc == 0, "%s", err.text);
    ck_assert (cut);
    ck_assert_uint_eq (stats.rows, S_ROWS);
    support_assert_npy_equal (output, s_expected, S_ROWS, 1);
    //  The broker noticed w1's silence and queued the shards it held again.
    int jobs = s_jobs_taken_back ("w1");
    ck_assert_msg (jobs > 0, "broker did not take shards back from w1 (jobs=%d)", jobs);
    ck_assert (s_log_has ("broker.log", "job requeued"));
    maas_client_destroy (&client);
    free (input);
    free (output);
    s_stack_down ();
}
END_TEST

// ---------------------------------------------------------------------------
//  Fixture: runs in Check's parent process, so its teardown runs even when a
//  test (a forked child) fails or is killed by the timeout.

static void
s_setup (void)
{
    static const char *paths[] = {"/usr/sbin/ip", "/sbin/ip", "/usr/bin/ip", "/bin/ip"};
    s_ip_path = NULL;
    for (size_t i = 0; i < sizeof paths / sizeof paths[0] && !s_ip_path; i++)
        if (access (paths[i], X_OK) == 0)
            s_ip_path = paths[i];
    ck_assert_msg (s_ip_path,
                   "no iproute2 `ip` in /usr/sbin, /sbin, /usr/bin or /bin: this "
                   "suite needs it (apt-get install iproute2) and root");
    s_runner = getpid ();
    for (int i = 0; i < S_HOSTS; i++)
        snprintf (s_ns[i], sizeof s_ns[i], "maas-%d-%s", (int) s_runner, s_host[i]);
    signal (SIGPIPE, SIG_IGN);
    s_dir = support_tempdir_new ("netns");
    s_sweep ();
}

static void
s_teardown (void)
{
    s_net_down ();
    support_tempdir_remove (&s_dir);
}

static Suite *
s_suite (void)
{
    Suite *suite = suite_create ("netns");
    TCase *core = tcase_create ("core");
    tcase_set_timeout (core, 60);
    tcase_add_unchecked_fixture (core, s_setup, s_teardown);
    tcase_add_test (core, test_scores_across_hosts);
    suite_add_tcase (suite, core);
    TCase *faults = tcase_create ("faults");
    tcase_set_timeout (faults, 60);
    tcase_add_unchecked_fixture (faults, s_setup, s_teardown);
    tcase_add_test (faults, test_link_cut_mid_run);
    suite_add_tcase (suite, faults);
    return suite;
}

int
main (void)
{
    return support_run (s_suite ());
}
