/*  support.c: temp dirs, processes, the redis-server fixture and the .npy
 *  output check for tests. */
#include "support.h"
#include "npy.h"
#include "model.h"
#include "mlp.h"
#include "registry.h"
#include "log.h"
#include "spawn.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <hiredis/hiredis.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef MAAS_REDIS_SERVER
#define MAAS_REDIS_SERVER "redis-server"
#endif

static void
s_sleep_ms (int ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long) (ms % 1000) * 1000000L};
    nanosleep (&ts, NULL);
}

int
support_run (Suite *suite)
{
    //  A suite is a program: its main reads $MAAS_LOG_LEVEL (warn under
    //  make check), the library does not.
    maas_err_t err;
    if (maas_log_setup (getenv ("MAAS_LOG_LEVEL"), &err) != 0)
        fprintf (stderr, "%s (logging at info)\n", err.text);
    SRunner *runner = srunner_create (suite);
    srunner_run_all (runner, CK_NORMAL);
    int failed = srunner_ntests_failed (runner);
    srunner_free (runner);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

char *
support_tempdir_new (const char *tag)
{
    const char *tmp = getenv ("TMPDIR");
    char *path = NULL;
    ck_assert (asprintf (&path, "%s/maas-%s-XXXXXX", tmp && *tmp ? tmp : "/tmp", tag) > 0);
    ck_assert_msg (mkdtemp (path), "mkdtemp %s: %s", path, strerror (errno));
    return path;
}

static int
s_remove_entry (const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    return remove (path);
}

void
support_tempdir_remove (char **path_p)
{
    if (!*path_p)
        return;
    nftw (*path_p, s_remove_entry, 16, FTW_DEPTH | FTW_PHYS);
    free (*path_p);
    *path_p = NULL;
}

static char *
s_join (const char *top, const char *relative)
{
    char *path = NULL;
    ck_assert (asprintf (&path, "%s/%s", top, relative) > 0);
    return path;
}

char *
support_build_path (const char *relative)
{
    return s_join (MAAS_TOP_BUILDDIR, relative);
}
char *
support_src_path (const char *relative)
{
    return s_join (MAAS_TOP_SRCDIR, relative);
}

struct _support_proc_t {
    pid_t pid;         //  child process
    bool reaped;       //  waitpid has collected it
    int exit_code;     //  once reaped: code, or 128 + signal
    long maxrss_kb;    //  once reaped: its peak resident set, KiB
};

//  ARGV itself, or with $MAAS_TEST_WRAPPER set ("valgrind -q
//  --error-exitcode=99") and ARGV a program of the build tree, ARGV run
//  under it through libtool (so the wrapper gets the binary, not libtool's
//  script), written into LINE (64 entries).
static const char *const *
s_wrapped (const char *const argv[], const char *line[64])
{
    const char *wrapper = getenv ("MAAS_TEST_WRAPPER"), *top = MAAS_TOP_BUILDDIR "/";
    if (!wrapper || !*wrapper || strncmp (argv[0], top, strlen (top)) != 0)
        return argv;
    //  The shell splits the wrapper into words; $0 is libtool, $@ the program.
    const char *prefix[] = {"/bin/sh", "-c", "exec \"$0\" --mode=execute $MAAS_TEST_WRAPPER \"$@\"",
                            MAAS_TOP_BUILDDIR "/libtool"};
    memcpy (line, prefix, sizeof prefix);
    size_t n = 4;
    for (size_t i = 0; argv[i] && n < 63; i++)
        line[n++] = argv[i];
    line[n] = NULL;
    return line;
}

support_proc_t *
support_proc_start (const char *const argv[], const char *const env[], const char *log_path)
{
    support_proc_t *self = calloc (1, sizeof *self);
    ck_assert (self);
    //  If the test process dies (abort, harness timeout), so does this
    //  child: a failed run never leaves a server behind.
    maas_spawn_options_t options = {.log_path = log_path, .env = env, .die_with_parent = true};
    maas_err_t err;
    const char *line[64];
    self->pid = maas_spawn (s_wrapped (argv, line), &options, &err);
    ck_assert_msg (self->pid > 0, "%s", err.text);
    return self;
}

//  PROGRAM of the build tree with the words of FIXED, then of EXTRA (both
//  NULL-terminated; EXTRA may be NULL).
static support_proc_t *
s_daemon_start (const char *program, const char *const fixed[], const char *const extra[],
                const char *log_path)
{
    char *path = support_build_path (program);
    const char *argv[64] = {path};
    size_t n = 1;
    for (size_t i = 0; fixed[i]; i++)
        argv[n++] = fixed[i];
    for (size_t i = 0; extra && extra[i]; i++) {
        ck_assert_msg (n < 63, "%s: too many options for the test helper", program);
        argv[n++] = extra[i];
    }
    argv[n] = NULL;
    support_proc_t *self = support_proc_start (argv, NULL, log_path);
    free (path);
    return self;
}

support_proc_t *
support_broker_start (const char *front, const char *back, const char *redis_url,
                      const char *const extra[], const char *log_path)
{
    const char *fixed[] = {"--frontend", front, "--backend", back, "--redis", redis_url, NULL};
    return s_daemon_start ("broker/maas-broker", fixed, extra, log_path);
}

support_proc_t *
support_worker_start (const char *back, const char *redis_url, const char *const extra[],
                      const char *log_path)
{
    const char *fixed[] = {"--broker", back, "--redis", redis_url, NULL};
    return s_daemon_start ("worker/maas-worker", fixed, extra, log_path);
}

support_proc_t *
support_trainer_start (const char *back, const char *redis_url, const char *const extra[],
                       const char *log_path)
{
    const char *fixed[] = {"--broker", back, "--redis", redis_url, NULL};
    return s_daemon_start ("trainer/maas-trainer", fixed, extra, log_path);
}

support_proc_t *
support_gateway_start (const char *front, const char *redis_url, const char *const extra[],
                       const char *log_path)
{
    const char *fixed[] = {"--http", "127.0.0.1:0", "--broker", front, "--redis", redis_url, NULL};
    unlink (log_path);
    return s_daemon_start ("gateway/maas-gateway", fixed, extra, log_path);
}

//  The port in a "listening on" line of LOG_PATH, or 0.
static int
s_logged_port (const char *log_path)
{
    FILE *file = fopen (log_path, "r");
    char line[512];
    int port = 0;
    while (file && !port && fgets (line, sizeof line, file))
        if (sscanf (line, "maas-gateway: listening on http://127.0.0.1:%d", &port) != 1
            && sscanf (line, "maas-gateway: listening on https://127.0.0.1:%d", &port) != 1)
            port = 0;
    if (file)
        fclose (file);
    return port;
}

int
support_gateway_port (const char *log_path, support_proc_t *proc)
{
    for (int i = 0; i < 500; i++) {
        int port = s_logged_port (log_path);
        if (port)
            return port;
        if (support_proc_wait (proc, 0) >= 0)
            return 0;
        s_sleep_ms (10);
    }
    return 0;
}

pid_t
support_proc_pid (const support_proc_t *self)
{
    return self->pid;
}

void
support_proc_signal (support_proc_t *self, int sig)
{
    if (!self->reaped)
        kill (self->pid, sig);
}

int
support_proc_wait (support_proc_t *self, int timeout_ms)
{
    for (int waited = 0; !self->reaped; waited += 5) {
        int status;
        struct rusage usage;
        pid_t got = wait4 (self->pid, &status, WNOHANG, &usage);
        if (got == self->pid) {
            self->reaped = true;
            self->maxrss_kb = usage.ru_maxrss;
            self->exit_code = WIFEXITED (status) ? WEXITSTATUS (status) : 128 + WTERMSIG (status);
            break;
        }
        if (got < 0 || waited >= timeout_ms)
            return got < 0 ? -2 : -1;
        s_sleep_ms (5);
    }
    return self->exit_code;
}

long
support_proc_maxrss_kb (const support_proc_t *self)
{
    return self->reaped ? self->maxrss_kb : -1;
}

int
support_proc_stop (support_proc_t **self_p)
{
    support_proc_t *self = *self_p;
    if (!self)
        return -1;
    support_proc_signal (self, SIGTERM);
    int code = support_proc_wait (self, 5000);
    if (code == -1) {
        support_proc_signal (self, SIGKILL);
        code = support_proc_wait (self, 5000);
    }
    free (self);
    *self_p = NULL;
    return code;
}

struct _support_redis_t {
    char *dir;               //  temp dir holding socket and log, owned
    char *socket_path;       //  unix socket path, owned
    char *url;               //  redis URL for libmaas, owned
    int port;                //  TCP port, 0 when unix only
    char *address;           //  TCP address to bind, owned
    const char **wrapper;    //  argv prefix the server runs under, owned, or NULL
    support_proc_t *proc;    //  the redis-server, NULL when killed
    bool aof;                //  appendonly yes: data survives a restart
};

static bool
s_redis_answers (const support_redis_t *self)
{
    redisContext *ctx = redisConnectUnix (self->socket_path);
    bool ok = false;
    if (ctx && !ctx->err) {
        redisReply *reply = redisCommand (ctx, "PING");
        ok = reply && reply->type == REDIS_REPLY_STATUS;
        if (reply)
            freeReplyObject (reply);
    }
    if (ctx)
        redisFree (ctx);
    return ok;
}

static void
s_redis_spawn (support_redis_t *self)
{
    char port[16];
    snprintf (port, sizeof port, "%d", self->port);
    char *log_path = s_join (self->dir, "redis.log");
    const char *server[] = {MAAS_REDIS_SERVER, "--port", port, "--bind", self->address,
                            "--unixsocket", self->socket_path, "--unixsocketperm", "700", "--save",
                            "", "--appendonly", self->aof ? "yes" : "no", "--dir", self->dir,
                            //  It binds only loopback or an address inside a
                            //  namespace the test made: peers there may connect.
                            "--protected-mode", "no", "--daemonize", "no", NULL};
    //  execv needs a path: a bare name is resolved through PATH by
    //  /usr/bin/env, or by the wrapper (`ip netns exec` execs it itself).
    const char *argv[48];
    size_t n = 0;
    for (size_t i = 0; self->wrapper && self->wrapper[i] && n < 16; i++)
        argv[n++] = self->wrapper[i];
    if (!self->wrapper && server[0][0] != '/')
        argv[n++] = "/usr/bin/env";
    for (size_t i = 0; server[i]; i++)
        argv[n++] = server[i];
    argv[n] = NULL;
    self->proc = support_proc_start (argv, NULL, log_path);
    free (log_path);
    for (int waited = 0; !s_redis_answers (self); waited += 10) {
        ck_assert_msg (support_proc_wait (self->proc, 0) == -1,
                       "redis-server exited at start (see %s/redis.log)", self->dir);
        ck_assert_msg (waited < 10000, "redis-server did not answer PING within 10 s");
        s_sleep_ms (10);
    }
}

//  A copy of the NULL-terminated ARGV (strings borrowed), or NULL for NULL.
static const char **
s_argv_dup (const char *const argv[])
{
    size_t n = 0;
    while (argv && argv[n])
        n++;
    const char **copy = argv ? calloc (n + 1, sizeof *copy) : NULL;
    ck_assert (!argv || copy);
    for (size_t i = 0; i < n; i++)
        copy[i] = argv[i];
    return copy;
}

static support_redis_t *
s_redis_start (const char *const wrapper[], const char *address, int port, bool aof)
{
    support_redis_t *self = calloc (1, sizeof *self);
    ck_assert (self);
    self->aof = aof;
    self->dir = support_tempdir_new ("redis");
    self->socket_path = s_join (self->dir, "redis.sock");
    self->port = port;
    self->address = strdup (address);
    self->wrapper = s_argv_dup (wrapper);
    if (port)
        ck_assert (asprintf (&self->url, "redis://%s:%d", address, port) > 0);
    else
        ck_assert (asprintf (&self->url, "unix://%s", self->socket_path) > 0);
    s_redis_spawn (self);
    return self;
}

support_redis_t *
support_redis_start (void)
{
    return s_redis_start (NULL, "127.0.0.1", 0, false);
}

support_redis_t *
support_redis_start_aof (void)
{
    return s_redis_start (NULL, "127.0.0.1", 0, true);
}

support_redis_t *
support_redis_start_tcp (int port)
{
    return s_redis_start (NULL, "127.0.0.1", port ? port : support_free_port (), false);
}

support_redis_t *
support_redis_start_wrapped (const char *const wrapper[], const char *address, int port)
{
    return s_redis_start (wrapper, address, port, false);
}

const char *
support_redis_url (const support_redis_t *self)
{
    return self->url;
}
const char *
support_redis_socket (const support_redis_t *self)
{
    return self->socket_path;
}
int
support_redis_port (const support_redis_t *self)
{
    return self->port;
}
const char *
support_redis_dir (const support_redis_t *self)
{
    return self->dir;
}

pid_t
support_redis_pid (const support_redis_t *self)
{
    return self->proc ? support_proc_pid (self->proc) : -1;
}

void
support_redis_kill (support_redis_t *self)
{
    if (self->proc) {
        support_proc_signal (self->proc, SIGKILL);
        support_proc_stop (&self->proc);
    }
}

void
support_redis_bounce (support_redis_t *self)
{
    ck_assert (self->proc);
    ck_assert_int_eq (support_proc_stop (&self->proc), 0);
    s_redis_spawn (self);
}

void
support_redis_restart (support_redis_t *self)
{
    support_redis_kill (self);
    s_redis_spawn (self);
}

void
support_redis_stop (support_redis_t **self_p)
{
    support_redis_t *self = *self_p;
    if (!self)
        return;
    if (self->proc)
        support_proc_stop (&self->proc);
    support_tempdir_remove (&self->dir);
    free (self->socket_path);
    free (self->url);
    free (self->address);
    free (self->wrapper);
    free (self);
    *self_p = NULL;
}

void
support_assert_npy_equal (const char *path, const float *expected, size_t rows, size_t cols)
{
    maas_err_t err;
    maas_npy_reader_t *reader = maas_npy_open (path, &err);
    ck_assert_msg (reader, "%s", err.text);
    ck_assert_uint_eq (maas_npy_rows (reader), rows);
    ck_assert_uint_eq (maas_npy_cols (reader), cols);
    float *got = malloc (rows * cols * sizeof (float));
    size_t n = 0;
    ck_assert (got);
    ck_assert_int_eq (maas_npy_read (reader, got, rows, &n, &err), 0);
    ck_assert_uint_eq (n, rows);
    for (size_t i = 0; i < rows * cols; i++)
        ck_assert_msg (got[i] == expected[i], "row %zu: %.9g, expected %.9g", i / cols, got[i],
                       expected[i]);
    free (got);
    maas_npy_reader_destroy (&reader);
}

uint64_t
support_publish_model (maas_registry_t *reg, const char *name, const maas_model_t *model)
{
    uint8_t *blob;
    size_t size;
    maas_err_t err;
    ck_assert_msg (maas_model_encode (model, &blob, &size, &err) == 0, "%s", err.text);
    maas_registry_meta_t meta = {0};
    uint64_t version;
    ck_assert_msg (maas_registry_publish (reg, name, blob, size, &meta, &version, NULL) == 0, "%s",
                   maas_registry_error (reg));
    free (blob);
    return version;
}

maas_registry_t *
support_registry_new (const support_redis_t *redis)
{
    maas_err_t err;
    maas_registry_t *reg = maas_registry_new (support_redis_url (redis), NULL, &err);
    ck_assert_msg (reg, "registry at %s: %s", support_redis_url (redis), err.text);
    return reg;
}

void
support_registry_setup (support_redis_t **redis_p, maas_registry_t **reg_p)
{
    signal (SIGPIPE, SIG_IGN);
    *redis_p = support_redis_start ();
    *reg_p = support_registry_new (*redis_p);
}

void
support_registry_teardown (support_redis_t **redis_p, maas_registry_t **reg_p)
{
    maas_registry_destroy (reg_p);
    support_redis_stop (redis_p);
}

maas_model_t *
support_model_new (size_t inputs, const maas_layer_spec_t layers[], size_t n_layers, uint64_t seed)
{
    maas_mlp_t *mlp = maas_mlp_new (inputs, layers, n_layers);
    ck_assert_msg (mlp, "no network of %zu inputs and %zu layers", inputs, n_layers);
    maas_mlp_init (mlp, seed);
    maas_model_t *model = maas_model_new (&mlp);
    ck_assert_ptr_nonnull (model);
    return model;
}

void
support_site_open (support_site_t *site, const char *tag)
{
    signal (SIGPIPE, SIG_IGN);
    memset (site, 0, sizeof *site);
    site->redis = support_redis_start ();
    site->dir = support_tempdir_new (tag);
    snprintf (site->front, sizeof site->front, "ipc://%s/front", site->dir);
    snprintf (site->back, sizeof site->back, "ipc://%s/back", site->dir);
    snprintf (site->broker_log, sizeof site->broker_log, "%s/broker.log", site->dir);
    snprintf (site->worker_log, sizeof site->worker_log, "%s/worker.log", site->dir);
}

void
support_site_close (support_site_t *site)
{
    support_redis_stop (&site->redis);
    support_tempdir_remove (&site->dir);
}

int
support_free_port (void)
{
    int fd = socket (AF_INET, SOCK_STREAM, 0);
    ck_assert (fd >= 0);
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_addr.s_addr = htonl (INADDR_LOOPBACK)};
    ck_assert (bind (fd, (struct sockaddr *) &addr, sizeof addr) == 0);
    socklen_t len = sizeof addr;
    ck_assert (getsockname (fd, (struct sockaddr *) &addr, &len) == 0);
    close (fd);
    return ntohs (addr.sin_port);
}

bool
support_file_has (const char *path, const char *text)
{
    FILE *file = fopen (path, "r");
    char line[2048];
    bool found = false;
    while (file && !found && fgets (line, sizeof line, file))
        found = strstr (line, text) != NULL;
    if (file)
        fclose (file);
    return found;
}
