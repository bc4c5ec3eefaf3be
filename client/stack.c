/*  stack.c: starting, stopping and listing the local stack's processes.
 *  Children are detached (own session) so they outlive `maas up`; the pid
 *  file is the only record of what to stop, and each PID is checked against
 *  the program it ran before it is signalled. */
#include "stack.h"
#include "config.h"
#include "maas.h"
#include "output.h"
#include "spawn.h"
#include "tls_cert.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <ftw.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define S_MAX_PROCS 256    //  redis + broker + workers + trainers

typedef struct {
    char role[32];       //  "redis", "broker", "worker-1", …
    pid_t pid;           //  process id
    char program[64];    //  basename of what it runs, to check the PID
} s_proc_t;

static void
s_sleep_ms (int ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long) (ms % 1000) * 1000000L};
    nanosleep (&ts, NULL);
}

static void
s_path (char *buf, size_t size, const char *dir, const char *name)
{
    snprintf (buf, size, "%s/%s", dir, name);
}

//  Where a sibling program lives: BIN_DIR ($MAAS_BIN_DIR), beside this
//  executable (installed), or in the build tree (client/.libs/maas →
//  ../../FOLDER/NAME).
static int
s_find_program (const char *bin_dir, const char *name, const char *folder, char *out, size_t size)
{
    char exe[PATH_MAX];
    ssize_t len = readlink ("/proc/self/exe", exe, sizeof exe - 1);
    exe[len > 0 ? len : 0] = '\0';
    char *slash = strrchr (exe, '/');
    if (slash)
        *slash = '\0';
    const char *patterns[][2] = {{bin_dir, ""}, {exe, ""}, {exe, "/.."}, {exe, "/../.."}};
    for (size_t i = 0; i < sizeof patterns / sizeof patterns[0]; i++) {
        if (!patterns[i][0] || !*patterns[i][0])
            continue;
        snprintf (out, size, "%s%s/%s", patterns[i][0], patterns[i][1], name);
        if (i >= 2)
            snprintf (out, size, "%s%s/%s/%s", patterns[i][0], patterns[i][1], folder, name);
        if (access (out, X_OK) == 0)
            return 0;
    }
    return -1;
}

//  true if PID is a process at all (not gone, not a zombie), whatever it runs.
static bool
s_exists (pid_t pid)
{
    char path[64], buf[512] = "";
    snprintf (path, sizeof path, "/proc/%d/stat", (int) pid);
    FILE *file = fopen (path, "r");
    if (!file)
        return false;
    buf[fread (buf, 1, sizeof buf - 1, file)] = '\0';
    fclose (file);
    char *close_paren = strrchr (buf, ')');
    return close_paren && close_paren[1] == ' ' && close_paren[2] != 'Z';
}

//  Basename of what PID runs now, from /proc (empty if it is gone or a zombie).
static void
s_running_program (pid_t pid, char *out, size_t size)
{
    out[0] = '\0';
    char path[64], buf[512];
    if (!s_exists (pid))
        return;    //  gone, or a zombie nobody reaped yet
    snprintf (path, sizeof path, "/proc/%d/cmdline", (int) pid);
    FILE *file = fopen (path, "r");
    if (!file)
        return;
    size_t got = fread (buf, 1, sizeof buf - 1, file);
    fclose (file);
    buf[got] = '\0';
    //  argv[0] only (redis-server rewrites its title to "path args…"); a
    //  libtool wrapper execs .libs/lt-NAME.
    buf[strcspn (buf, " ")] = '\0';
    const char *base = strrchr (buf, '/') ? strrchr (buf, '/') + 1 : buf;
    if (strncmp (base, "lt-", 3) == 0)
        base += 3;
    size_t len = strlen (base) < size - 1 ? strlen (base) : size - 1;
    memcpy (out, base, len);
    out[len] = '\0';
}

static bool
s_alive (const s_proc_t *proc)
{
    char running[64];
    s_running_program (proc->pid, running, sizeof running);
    return *running && strcmp (running, proc->program) == 0;
}

//  Start ARGV detached (own session, stdin /dev/null), output to LOG, no
//  other descriptor of this process inherited.
static pid_t
s_spawn (char *const argv[], const char *log_path, char *err, size_t err_size)
{
    maas_spawn_options_t options = {.log_path = log_path, .stdin_null = true, .new_session = true};
    maas_err_t why;
    pid_t pid = maas_spawn ((const char *const *) argv, &options, &why);
    if (pid < 0)
        maas_err_export (&why, err, err_size);
    return pid;
}

static int
s_read_pids (const char *dir, s_proc_t *procs, size_t max)
{
    char path[PATH_MAX];
    s_path (path, sizeof path, dir, "stack.pids");
    FILE *file = fopen (path, "r");
    if (!file)
        return -1;
    int count = 0;
    s_proc_t proc;
    while ((size_t) count < max
           && fscanf (file, "%31s %d %63s", proc.role, &proc.pid, proc.program) == 3)
        if (proc.pid > 1)
            procs[count++] = proc;
    fclose (file);
    return count;
}

static int
s_append_pid (const char *dir, const s_proc_t *proc)
{
    char path[PATH_MAX];
    s_path (path, sizeof path, dir, "stack.pids");
    FILE *file = fopen (path, "a");
    if (!file)
        return -1;
    fprintf (file, "%s %d %s\n", proc->role, (int) proc->pid, proc->program);
    return fclose (file);
}

//  Start one process of the stack and record it in stack.pids.
static int
s_start (const char *dir, const char *role, char *const argv[], char *err, size_t err_size)
{
    char log_path[PATH_MAX];
    snprintf (log_path, sizeof log_path, "%s/logs/%s.log", dir, role);
    s_proc_t proc = {.pid = s_spawn (argv, log_path, err, err_size)};
    if (proc.pid < 0)
        return -1;
    snprintf (proc.role, sizeof proc.role, "%s", role);
    const char *base = strrchr (argv[0], '/') ? strrchr (argv[0], '/') + 1 : argv[0];
    snprintf (proc.program, sizeof proc.program, "%s", base);
    if (s_append_pid (dir, &proc) != 0) {
        kill (proc.pid, SIGKILL);
        snprintf (err, err_size, "cannot write %s/stack.pids: %s", dir, strerror (errno));
        return -1;
    }
    return 0;
}

//  Wait until PATH exists (a bound ipc socket) or TIMEOUT_MS passes.
static bool
s_wait_for_file (const char *path, int timeout_ms)
{
    for (int waited = 0; waited < timeout_ms; waited += 10) {
        if (access (path, F_OK) == 0)
            return true;
        s_sleep_ms (10);
    }
    return false;
}

static int
s_start_redis (const char *dir, char *url, size_t url_size, char *err, size_t err_size)
{
    char socket_path[PATH_MAX], data_dir[PATH_MAX];
    s_path (socket_path, sizeof socket_path, dir, "redis.sock");
    s_path (data_dir, sizeof data_dir, dir, "redis");
    if (mkdir (data_dir, 0700) != 0 && errno != EEXIST) {
        snprintf (err, err_size, "cannot create %s: %s", data_dir, strerror (errno));
        return -1;
    }
    char redis_server[PATH_MAX];
    snprintf (redis_server, sizeof redis_server, "%s", MAAS_REDIS_SERVER);
    //  Models, aliases, data sets and jobs outlive `maas down`: an
    //  append-only file in DIR/redis, fsynced every second, replayed on the
    //  next `maas up` (`maas down --purge` deletes it). No RDB snapshots.
    char *argv[] = {redis_server, "--port",
                    "0",          "--unixsocket",
                    socket_path,  "--unixsocketperm",
                    "700",        "--save",
                    "",           "--appendonly",
                    "yes",        "--appendfsync",
                    "everysec",   "--dir",
                    data_dir,     NULL};
    if (s_start (dir, "redis", argv, err, err_size) != 0)
        return -1;
    snprintf (url, url_size, "unix://%s", socket_path);
    for (int waited = 0; waited < 10000; waited += 20) {
        redisContext *ctx = maas_redis_connect (&(maas_redis_config_t){.url = url}, 500, NULL);
        if (ctx) {
            redisFree (ctx);
            return 0;
        }
        s_sleep_ms (20);
    }
    snprintf (err, err_size, "redis-server did not answer within 10 s (see %s/logs/redis.log)",
              dir);
    return -1;
}

//  Start PROGRAM (found in FOLDER) with ARGS and then EXTRA (NULL: none),
//  both NULL-terminated.
static int
s_start_program (const maas_stack_config_t *config, const char *role, const char *program,
                 const char *folder, char **args, char **extra, char *err, size_t err_size)
{
    const char *dir = config->state_dir;
    char path[PATH_MAX];
    if (s_find_program (config->bin_dir, program, folder, path, sizeof path) != 0) {
        snprintf (err, err_size, "cannot find %s (build it, or set MAAS_BIN_DIR)", program);
        return -1;
    }
    char *argv[24] = {path};
    size_t at = 1;
    for (size_t i = 0; args[i] && at < 16; i++)
        argv[at++] = args[i];
    for (size_t i = 0; extra && extra[i] && at < 23; i++)
        argv[at++] = extra[i];
    return s_start (dir, role, argv, err, err_size);
}

//  The broker's name in Redis: one per stack (FNV-1a of host and state dir),
//  the same across down/up so it recovers its own jobs, never another
//  stack's on a shared Redis.
static void
s_broker_name (const char *dir, char *name, size_t size)
{
    char host[256] = "", real[PATH_MAX];
    gethostname (host, sizeof host - 1);
    const char *parts[] = {host, "\n", realpath (dir, real) ? real : dir};
    uint32_t hash = 2166136261u;
    for (size_t i = 0; i < 3; i++)
        for (const char *c = parts[i]; *c; c++)
            hash = (hash ^ (uint8_t) *c) * 16777619u;
    snprintf (name, size, "stack-%08" PRIx32, hash);
}

//  The CurveZMQ keys of a --secure stack, under DIR/keys.
typedef struct {
    char broker[PATH_MAX];                     //  the broker's public key, for every peer
    char broker_secret[PATH_MAX];              //  its secret key
    char clients[PATH_MAX];                    //  public keys of the clients (admin, gateway)
    char workers[PATH_MAX];                    //  public keys of the workers (worker)
    char admin[PATH_MAX];                      //  the CLI's secret key (role admin)
    char gateway[PATH_MAX];                    //  the gateway's secret key (infer,train)
    char worker[PATH_MAX];                     //  the workers' and trainers' secret key
    char api_keys[PATH_MAX];                   //  the gateway's API key file, "" without a gateway
    char tls_cert[PATH_MAX];                   //  its self-signed certificate (clients' --cacert)
    char tls_key[PATH_MAX];                    //  its private key
    char api_token[MAAS_APIKEY_TOKEN_SIZE];    //  the admin API key's token, for env
    char *broker_args[7];                      //  --curve-secret ... for the broker
    char *worker_args[5];                      //  --curve-key ... for workers and trainers
    char *gateway_args[11];                    //  --curve-key ... --tls-key for the gateway
} s_keys_t;

//  Make DIR/keys and its key pairs, or keep those a previous `up` made
//  (rotate them by hand: docs/security.md).
static int
s_make_keys (const char *dir, s_keys_t *keys, char *err, size_t err_size)
{
    char top[PATH_MAX / 2];    //  room left for the file names below
    s_path (top, sizeof top, dir, "keys");
    snprintf (keys->clients, sizeof keys->clients, "%s/clients", top);
    snprintf (keys->workers, sizeof keys->workers, "%s/workers", top);
    const char *names[] = {"broker", "admin", "gateway", "worker"};
    const char *roles[] = {NULL, "admin", "infer,train", NULL};
    const char *lists[] = {top, keys->clients, keys->clients, keys->workers};
    char *secrets[] = {keys->broker_secret, keys->admin, keys->gateway, keys->worker};
    if ((mkdir (top, 0700) != 0 && errno != EEXIST)
        || (mkdir (keys->clients, 0700) != 0 && errno != EEXIST)
        || (mkdir (keys->workers, 0700) != 0 && errno != EEXIST)) {
        snprintf (err, err_size, "cannot create %s: %s", top, strerror (errno));
        return -1;
    }
    for (int i = 0; i < 4; i++) {
        snprintf (secrets[i], PATH_MAX, "%s/%s_secret", top, names[i]);
        maas_err_t why;
        if (access (secrets[i], R_OK) != 0
            && maas_curve_keygen (top, lists[i], names[i], roles[i], &why) != 0) {
            snprintf (err, err_size, "%s", why.text);
            return -1;
        }
    }
    snprintf (keys->broker, sizeof keys->broker, "%s/broker", top);
    return 0;
}

//  The gateway's side of DIR/keys: the API key file with an admin key made
//  anew at each up (the file keeps only hashes: the token lives in env),
//  keys users added kept; and a self-signed certificate for HTTP's host
//  (ADDR:PORT), kept once made.
static int
s_make_http_keys (const char *dir, s_keys_t *keys, const char *http, char *err, size_t err_size)
{
    char top[PATH_MAX / 2], host[64];
    s_path (top, sizeof top, dir, "keys");
    snprintf (keys->api_keys, sizeof keys->api_keys, "%s/api-keys", top);
    snprintf (keys->tls_cert, sizeof keys->tls_cert, "%s/gateway.crt", top);
    snprintf (keys->tls_key, sizeof keys->tls_key, "%s/gateway.key", top);
    snprintf (host, sizeof host, "%.*s", (int) strcspn (http, ":"), http);
    maas_err_t why;
    if ((maas_apikey_remove (keys->api_keys, "admin", &why) != 0 && why.code != MAAS_ERR_NOT_FOUND)
        || maas_apikey_add (keys->api_keys, "admin", "admin", keys->api_token, &why) != 0) {
        snprintf (err, err_size, "%s", why.text);
        return -1;
    }
    if (access (keys->tls_cert, R_OK) == 0 && access (keys->tls_key, R_OK) == 0)
        return 0;
    return maas_tls_self_signed (keys->tls_cert, keys->tls_key, host, err, err_size);
}

//  The flags each program takes for KEYS.
static void
s_key_args (s_keys_t *keys)
{
    char *broker[] = {"--curve-secret", keys->broker_secret, "--clients", keys->clients,
                      "--workers",      keys->workers,       NULL};
    char *worker[] = {"--curve-key", keys->worker, "--broker-key", keys->broker, NULL};
    char *gateway[] = {
        "--curve-key", keys->gateway,  "--broker-key", keys->broker,  "--api-keys", keys->api_keys,
        "--tls-cert",  keys->tls_cert, "--tls-key",    keys->tls_key, NULL};
    if (!keys->api_keys[0])
        gateway[4] = NULL;    //  no gateway: no HTTP keys
    memcpy (keys->broker_args, broker, sizeof broker);
    memcpy (keys->worker_args, worker, sizeof worker);
    memcpy (keys->gateway_args, gateway, sizeof gateway);
}

static int
s_write_env (const char *dir, const char *redis_url, const char *frontend, const char *http_url,
             const s_keys_t *keys)
{
    char path[PATH_MAX];
    s_path (path, sizeof path, dir, "env");
    //  0600: with --secure it holds the admin API key's token.
    int fd = open (path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    FILE *file = fd >= 0 && fchmod (fd, 0600) == 0 ? fdopen (fd, "w") : NULL;
    if (!file) {
        if (fd >= 0)
            close (fd);
        return -1;
    }
    fprintf (file, "MAAS_REDIS_URL=%s\nMAAS_BROKER_FRONTEND=%s\n", redis_url, frontend);
    if (*http_url)
        fprintf (file, "MAAS_HTTP_URL=%s\n", http_url);
    if (keys)
        fprintf (file, "MAAS_CURVE_KEY=%s\nMAAS_BROKER_KEY=%s\n", keys->admin, keys->broker);
    if (keys && keys->api_keys[0])
        fprintf (file, "MAAS_API_KEY=%s\nMAAS_GATEWAY_CA=%s\n", keys->api_token, keys->tls_cert);
    return fclose (file);
}

//  Start maas-gateway on HTTP (ADDR:PORT; port 0: the kernel's pick) and
//  read the URL it listens on from its log into URL.
static int
s_start_gateway (const maas_stack_config_t *config, const char *http, const char *frontend,
                 const char *redis_url, char **extra, char *url, size_t url_size, char *err,
                 size_t err_size)
{
    const char *dir = config->state_dir;
    char *args[] = {"--http",  (char *) http,      "--broker", (char *) frontend,
                    "--redis", (char *) redis_url, NULL};
    if (s_start_program (config, "gateway", "maas-gateway", "gateway", args, extra, err, err_size)
        != 0)
        return -1;
    char log_path[PATH_MAX], line[512];
    snprintf (log_path, sizeof log_path, "%s/logs/gateway.log", dir);
    for (int waited = 0; waited < 10000; waited += 20) {
        FILE *log = fopen (log_path, "r");
        while (log && fgets (line, sizeof line, log))
            if (url_size >= 256 && sscanf (line, "maas-gateway: listening on %255s", url) == 1) {
                fclose (log);
                return 0;
            }
        if (log)
            fclose (log);
        s_sleep_ms (20);
    }
    snprintf (err, err_size, "gateway did not listen on %s within 10 s (see %s)", http, log_path);
    return -1;
}

//  A stack is up in DIR if any process its pid file names still runs.
static bool
s_stack_running (const char *dir)
{
    s_proc_t procs[S_MAX_PROCS];
    int count = s_read_pids (dir, procs, S_MAX_PROCS);
    for (int i = 0; i < count; i++)
        if (s_alive (&procs[i]))
            return true;
    return false;
}

//  true if every recorded process runs its program; else false with the
//  first dead one in ERR. A process still on its way there (a libtool
//  wrapper script execs the real binary) is waited for, up to 10 s.
static bool
s_stack_all_alive (const char *dir, char *err, size_t err_size)
{
    s_proc_t procs[S_MAX_PROCS];
    int count = s_read_pids (dir, procs, S_MAX_PROCS);
    for (int i = 0; i < count; i++) {
        for (int waited = 0; !s_alive (&procs[i]) && s_exists (procs[i].pid) && waited < 10000;
             waited += 20)
            s_sleep_ms (20);
        if (!s_alive (&procs[i])) {
            snprintf (err, err_size, "%s exited at start (see %s/logs/%s.log)", procs[i].role, dir,
                      procs[i].role);
            return false;
        }
    }
    return count > 0;
}

static int
s_start_all (const maas_stack_config_t *config, char *err, size_t err_size)
{
    const char *dir = config->state_dir;
    char redis_url[PATH_MAX + 16], frontend[PATH_MAX + 8], backend[PATH_MAX + 8];
    char frontend_path[PATH_MAX], cache_mb[16], broker_name[32];
    if (config->redis_url)
        snprintf (redis_url, sizeof redis_url, "%s", config->redis_url);
    else if (s_start_redis (dir, redis_url, sizeof redis_url, err, err_size) != 0)
        return -1;
    s_path (frontend_path, sizeof frontend_path, dir, "frontend.sock");
    snprintf (frontend, sizeof frontend, "ipc://%s", frontend_path);
    snprintf (backend, sizeof backend, "ipc://%s/backend.sock", dir);
    snprintf (cache_mb, sizeof cache_mb, "%d", config->cache_mb > 0 ? config->cache_mb : 256);

    s_keys_t keys = {0};    //  not secure: empty flag lists
    const char *http = config->http ? config->http : "127.0.0.1:8501";
    bool gateway = strcmp (http, "off") != 0;
    if (config->secure
        && (s_make_keys (dir, &keys, err, err_size) != 0
            || (gateway && s_make_http_keys (dir, &keys, http, err, err_size) != 0)))
        return -1;
    if (config->secure)
        s_key_args (&keys);
    s_broker_name (dir, broker_name, sizeof broker_name);
    char *broker_args[] = {"--frontend", frontend, "--backend", backend, "--redis",
                           redis_url,    "--name", broker_name, NULL};
    if (s_start_program (config, "broker", "maas-broker", "broker", broker_args, keys.broker_args,
                         err, err_size)
        != 0)
        return -1;
    if (!s_wait_for_file (frontend_path, 10000)) {
        snprintf (err, err_size, "broker did not bind %s within 10 s (see %s/logs/broker.log)",
                  frontend, dir);
        return -1;
    }
    char role[32];
    for (int i = 1; i <= config->workers; i++) {
        snprintf (role, sizeof role, "worker-%d", i);
        char *args[] = {"--broker", backend,  "--redis", redis_url, "--cache-mb",
                        cache_mb,   "--name", role,      NULL};
        if (s_start_program (config, role, "maas-worker", "worker", args, keys.worker_args, err,
                             err_size)
            != 0)
            return -1;
    }
    for (int i = 1; i <= config->trainers; i++) {
        //  Named after its role, so `maas jobs` and `maas ps` agree.
        snprintf (role, sizeof role, "trainer-%d", i);
        char *args[] = {"--broker", backend, "--redis", redis_url, "--name", role, NULL};
        if (s_start_program (config, role, "maas-trainer", "trainer", args, keys.worker_args, err,
                             err_size)
            != 0)
            return -1;
    }
    char http_url[512] = "";
    if (gateway
        && s_start_gateway (config, http, frontend, redis_url, keys.gateway_args, http_url,
                            sizeof http_url, err, err_size)
            != 0)
        return -1;
    return s_write_env (dir, redis_url, frontend, http_url, config->secure ? &keys : NULL);
}

int
maas_stack_up (const maas_stack_config_t *config, char *err, size_t err_size)
{
    const char *dir = config->state_dir;
    char path[PATH_MAX];
    s_path (path, sizeof path, dir, "logs");
    if ((mkdir (dir, 0700) != 0 && errno != EEXIST)
        || (mkdir (path, 0700) != 0 && errno != EEXIST)) {
        snprintf (err, err_size, "cannot create %s: %s", path, strerror (errno));
        return -1;
    }
    if (s_stack_running (dir)) {
        snprintf (err, err_size, "a stack is already up in %s (maas down --state %s)", dir, dir);
        return -1;
    }
    maas_stack_down (dir, 5000, false, err, err_size);    //  clear a dead stack's leftovers
    if (s_start_all (config, err, err_size) == 0) {
        s_sleep_ms (200);    //  a process that dies at start shows now
        if (s_stack_all_alive (dir, err, err_size))
            return 0;
    }
    char ignored[256];
    maas_stack_down (dir, 5000, false, ignored, sizeof ignored);
    return -1;
}

//  SIGTERM every live process (newest first: workers before the broker
//  before Redis), then SIGKILL what is left after TIMEOUT_MS.
static int
s_stop_procs (s_proc_t *procs, int count, int timeout_ms)
{
    int stopped = 0;
    for (int i = count - 1; i >= 0; i--)
        if (s_alive (&procs[i]) && kill (procs[i].pid, SIGTERM) == 0)
            stopped++;
    for (int waited = 0;; waited += 20) {
        bool any_alive = false;
        for (int i = 0; i < count; i++)
            any_alive = any_alive || s_alive (&procs[i]);
        if (!any_alive)
            break;
        if (waited >= timeout_ms) {
            for (int i = 0; i < count; i++)
                if (s_alive (&procs[i]))
                    kill (procs[i].pid, SIGKILL);
            timeout_ms += 5000;    //  SIGKILL cannot be ignored; just let it land
        }
        s_sleep_ms (20);
    }
    return stopped;
}

static int
s_remove_entry (const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    return remove (path);
}

int
maas_stack_down (const char *dir, int timeout_ms, bool purge, char *err, size_t err_size)
{
    s_proc_t procs[S_MAX_PROCS];
    int count = s_read_pids (dir, procs, S_MAX_PROCS);
    if (count < 0 && !purge) {
        snprintf (err, err_size, "no stack in %s (no stack.pids)", dir);
        return -1;
    }
    int stopped = count > 0 ? s_stop_procs (procs, count, timeout_ms) : 0;
    const char *leftovers[] = {"stack.pids", "env", "redis.sock", "frontend.sock", "backend.sock"};
    char path[PATH_MAX];
    for (size_t i = 0; i < sizeof leftovers / sizeof leftovers[0]; i++) {
        s_path (path, sizeof path, dir, leftovers[i]);
        unlink (path);
    }
    s_path (path, sizeof path, dir, "redis");
    if (purge && access (path, F_OK) == 0
        && nftw (path, s_remove_entry, 16, FTW_DEPTH | FTW_PHYS) != 0) {
        snprintf (err, err_size, "cannot remove %s: %s", path, strerror (errno));
        return -1;
    }
    return stopped;
}

//  One process as a JSON object (docs/cli.md, `maas ps --json`).
static void
s_print_json (FILE *out, const char *dir, const s_proc_t *proc, bool alive, bool first)
{
    char log[PATH_MAX + 64];
    if (snprintf (log, sizeof log, "%s/logs/%s.log", dir, proc->role) >= (int) sizeof log)
        log[0] = '\0';    //  no path rather than a cut one
    fprintf (out, "%s{", first ? "" : ",");
    maas_json_field (out, "role", proc->role, 1);
    fprintf (out, ",\"pid\":%d", (int) proc->pid);
    maas_json_field (out, "program", proc->program, 0);
    maas_json_field (out, "state", alive ? "running" : "gone", 0);
    maas_json_field (out, "log", log, 0);
    fputc ('}', out);
}

int
maas_stack_print (const char *dir, FILE *out, int *members, bool json)
{
    s_proc_t procs[S_MAX_PROCS];
    int count = s_read_pids (dir, procs, S_MAX_PROCS);
    if (members)
        *members = count;
    if (count < 0)
        return -1;
    int running = 0;
    if (json) {
        fputc ('{', out);
        maas_json_field (out, "state_dir", dir, 1);
        fputs (",\"processes\":[", out);
    }
    else
        fprintf (out, "%-12s %-8s %-8s %s\n", "ROLE", "PID", "STATE", "LOG");
    for (int i = 0; i < count; i++) {
        bool alive = s_alive (&procs[i]);
        running += alive;
        if (json)
            s_print_json (out, dir, &procs[i], alive, i == 0);
        else
            fprintf (out, "%-12s %-8d %-8s %s/logs/%s.log\n", procs[i].role, (int) procs[i].pid,
                     alive ? "running" : "gone", dir, procs[i].role);
    }
    if (json)
        fprintf (out, "],\"running\":%d,\"total\":%d}", running, count);
    return running;
}

void
maas_stack_load_env (const char *dir, bool overwrite)
{
    char path[PATH_MAX], line[PATH_MAX + 64];
    s_path (path, sizeof path, dir, "env");
    FILE *file = fopen (path, "r");
    if (!file)
        return;
    while (fgets (line, sizeof line, file)) {
        line[strcspn (line, "\n")] = '\0';
        char *equals = strchr (line, '=');
        if (!equals)
            continue;
        *equals = '\0';
        setenv (line, equals + 1, overwrite);
    }
    fclose (file);
}
