/*  support.h: what the test suites share: temp dirs, a real redis-server on
 *  a unix socket started and stopped by PID, a process spawner for the real
 *  binaries, and a check of scored .npy output. Failures abort the calling test (tests fail, never skip). */
#ifndef MAAS_TEST_SUPPORT_H
#define MAAS_TEST_SUPPORT_H

#include <check.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "mlp.h"

//  Run SUITE with Check's normal output: the body of every suite's main.
//  EXIT_SUCCESS if every test passed, else EXIT_FAILURE.
int support_run (Suite *suite);

//  New private directory under $TMPDIR (or /tmp): "maas-TAG-XXXXXX".
//  Returns its path (caller frees with support_tempdir_remove).
char *support_tempdir_new (const char *tag);
//  Remove the directory and everything in it; free the path; NULL it.
void support_tempdir_remove (char **path_p);

//  Absolute path of a file in the build tree ("broker/maas-broker") or the
//  source tree ("data/digits_train.csv"); the caller frees.
char *support_build_path (const char *relative);
char *support_src_path (const char *relative);

typedef struct _support_proc_t support_proc_t;

//  Start ARGV (argv[0] is a path; NULL-terminated) with stdout and stderr
//  appended to LOG_PATH (NULL: inherited). ENV, if not NULL, is a
//  NULL-terminated list of "NAME=value" added to the environment.
//  Aborts the test if fork/exec fails. With $MAAS_TEST_WRAPPER set, a
//  program of the build tree runs under it (its words, then the program's
//  real binary through libtool): MAAS_TEST_WRAPPER="valgrind -q
//  --error-exitcode=99 --leak-check=full --log-file=/tmp/vg.%p.log".
support_proc_t *support_proc_start (const char *const argv[], const char *const env[],
                                    const char *log_path);
pid_t support_proc_pid (const support_proc_t *self);
//  Send SIG to the process (no-op once it has exited).
void support_proc_signal (support_proc_t *self, int sig);
//  Wait up to TIMEOUT_MS for exit. Returns the exit code (128+signal when
//  killed), or -1 if it is still running.
int support_proc_wait (support_proc_t *self, int timeout_ms);
//  Peak resident set size of the exited process in KiB; -1 until reaped.
long support_proc_maxrss_kb (const support_proc_t *self);
//  SIGTERM, wait up to 5 s, then SIGKILL and reap; free; NULL the pointer.
//  Returns the exit code as support_proc_wait does.
int support_proc_stop (support_proc_t **self_p);

//  The project's daemons, started as support_proc_start does with their
//  log in LOG_PATH: the endpoints and Redis URL every test gives, then
//  EXTRA (a NULL-terminated list of further words, or NULL; up to 56 words).
//  maas-broker --frontend FRONT --backend BACK --redis REDIS_URL EXTRA...
support_proc_t *support_broker_start (const char *front, const char *back, const char *redis_url,
                                      const char *const extra[], const char *log_path);
//  maas-worker --broker BACK --redis REDIS_URL EXTRA...
support_proc_t *support_worker_start (const char *back, const char *redis_url,
                                      const char *const extra[], const char *log_path);
//  maas-trainer --broker BACK --redis REDIS_URL EXTRA...
support_proc_t *support_trainer_start (const char *back, const char *redis_url,
                                       const char *const extra[], const char *log_path);
//  maas-gateway --http 127.0.0.1:0 --broker FRONT --redis REDIS_URL EXTRA...,
//  LOG_PATH removed first so that support_gateway_port reads only this run.
support_proc_t *support_gateway_start (const char *front, const char *redis_url,
                                       const char *const extra[], const char *log_path);
//  The port a gateway logged in LOG_PATH ("listening on http[s]://127.0.0.1:P"),
//  waiting up to 5 s; 0 if PROC exited first or never said.
int support_gateway_port (const char *log_path, support_proc_t *proc);

typedef struct _support_redis_t support_redis_t;

//  Start a private redis-server on a unix socket in a new temp dir (no TCP
//  port, no persistence) and wait until it answers PING. Aborts on failure.
support_redis_t *support_redis_start (void);
//  Same, but with appendonly yes, so its data survives support_redis_bounce.
support_redis_t *support_redis_start_aof (void);
//  Same, but also listening on 127.0.0.1:PORT (0: a free port is chosen).
support_redis_t *support_redis_start_tcp (int port);
//  Same, but run through WRAPPER (a NULL-terminated argv prefix, argv[0] a
//  path, such as {"/usr/sbin/ip", "netns", "exec", NS, NULL}; the array is
//  copied, its strings borrowed: they must outlive the server) and
//  listening on ADDRESS:PORT (in the wrapper's network namespace). Its unix
//  socket is a file, so support_redis_socket reaches it from any namespace.
support_redis_t *support_redis_start_wrapped (const char *const wrapper[], const char *address,
                                              int port);
//  "unix:///tmp/.../redis.sock" (or "redis://ADDRESS:PORT" for TCP).
const char *support_redis_url (const support_redis_t *self);
const char *support_redis_socket (const support_redis_t *self);
int support_redis_port (const support_redis_t *self);
pid_t support_redis_pid (const support_redis_t *self);
//  Temp dir the server lives in (tests may put their own files there).
const char *support_redis_dir (const support_redis_t *self);
//  Stop the server by PID (SIGTERM, then SIGKILL), remove its dir, NULL it.
void support_redis_stop (support_redis_t **self_p);
//  Stop only the process, keeping the dir and URL, to test a dead Redis;
//  support_redis_restart brings it back on the same socket/port.
void support_redis_kill (support_redis_t *self);
void support_redis_restart (support_redis_t *self);
//  A normal restart: SIGTERM (the server exits 0, its AOF written), then
//  the same server started again on the same socket/port and dir.
void support_redis_bounce (support_redis_t *self);

//  Assert that the .npy file PATH holds exactly ROWS × COLS float32 values,
//  each bit-equal to EXPECTED's, in order; the failure names the first row
//  that differs.
void support_assert_npy_equal (const char *path, const float *expected, size_t rows, size_t cols);

//  Encode MODEL and publish it in REG as the next version of NAME (no
//  metadata); returns the version. Aborts the test on any failure.
typedef struct _maas_registry_t maas_registry_t;
typedef struct _maas_model_t maas_model_t;
uint64_t support_publish_model (maas_registry_t *reg, const char *name, const maas_model_t *model);

//  A registry client of REDIS (the caller destroys it). Aborts the test
//  with the registry's error if it cannot connect.
maas_registry_t *support_registry_new (const support_redis_t *redis);

//  A suite's fixture when it needs Redis and a registry only: SIGPIPE
//  ignored (hiredis writes with write(2), as every program's main knows),
//  a new private redis-server in *REDIS_P, a registry client of it in *REG_P.
void support_registry_setup (support_redis_t **redis_p, maas_registry_t **reg_p);
//  Destroy the registry, then stop the server; both NULLed.
void support_registry_teardown (support_redis_t **redis_p, maas_registry_t **reg_p);
//  What such a suite writes at its top: its statics REDIS and REG, and
//  the Check fixture SETUP / TEARDOWN that fills and empties them (one
//  redis-server a test: tcase_add_checked_fixture (tc, SETUP, TEARDOWN)).
#define SUPPORT_REGISTRY_FIXTURE(redis, reg, setup, teardown)                                      \
    static support_redis_t *redis;                                                                 \
    static maas_registry_t *reg;                                                                   \
    static void setup (void)                                                                       \
    {                                                                                              \
        support_registry_setup (&redis, &reg);                                                     \
    }                                                                                              \
    static void teardown (void)                                                                    \
    {                                                                                              \
        support_registry_teardown (&redis, &reg);                                                  \
    }

//  A network of INPUTS features and the N_LAYERS of LAYERS, its weights
//  drawn from SEED, as a model (the caller destroys it). Aborts the test
//  if it cannot be made.
maas_model_t *support_model_new (size_t inputs, const maas_layer_spec_t layers[], size_t n_layers,
                                 uint64_t seed);

//  Where a suite's daemons run: a private redis-server, a temp dir
//  "maas-TAG-XXXXXX", and in it the broker's endpoints and the logs.
typedef struct {
    support_redis_t *redis;    //  private redis-server
    char *dir;                 //  temp dir: endpoints and logs
    char front[256];           //  broker frontend endpoint, ipc://DIR/front
    char back[256];            //  broker backend endpoint, ipc://DIR/back
    char broker_log[256];      //  DIR/broker.log
    char worker_log[256];      //  DIR/worker.log
} support_site_t;

//  Start SITE's redis-server and make its dir (tagged TAG) and paths;
//  SIGPIPE ignored, as the daemons' mains do. Aborts the test on failure.
void support_site_open (support_site_t *site, const char *tag);
//  Stop the redis-server and remove the dir (stop the daemons first).
void support_site_close (support_site_t *site);

//  A free TCP port on 127.0.0.1 (bound then released; racy but private).
int support_free_port (void);

//  true if a line of the file at PATH (a log) contains TEXT; false if not
//  or if the file cannot be read.
bool support_file_has (const char *path, const char *text);

#endif
