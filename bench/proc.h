/*  proc.h: what the benchmarks share to run their servers: child processes
 *  that die with the bench (so an aborted run leaves nothing behind), a
 *  private redis-server, the project's daemons, a free loopback port, a
 *  bound on run time, and the loop that submits a case's infer jobs. */
#ifndef MAAS_BENCH_PROC_H
#define MAAS_BENCH_PROC_H

#include "client.h"

#include <msgpack.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

//  fork(); the child gets SIGKILL when the bench exits, however it exits.
//  Returns as fork() does.
pid_t bench_fork (void);
//  Start ARGV (argv[0] a path or a name on $PATH) as a child that dies with
//  the bench; its stdout and stderr appended to LOG (NULL: inherited).
//  Returns its PID, or -1.
pid_t bench_spawn (const char *const argv[], const char *log);
//  SIGTERM, up to 5 s to exit, then SIGKILL; reaps it and zeroes *PID.
void bench_stop (pid_t *pid);
//  A private redis-server on DIR/redis.sock (no TCP, no persistence); its
//  URL ("unix://DIR/redis.sock") into URL. 0 once it answers, else -1.
int bench_redis_start (const char *dir, char *url, size_t url_size, pid_t *pid);
//  The project's daemons of the build tree, as bench_spawn starts them
//  (output to LOG, NULL: inherited): the endpoints and Redis URL each
//  needs, then the words of EXTRA (NULL-terminated, or NULL; up to 40).
//  Each returns its PID, or -1.
//  maas-broker --frontend FRONT --backend BACK --redis REDIS_URL EXTRA...
pid_t bench_broker_start (const char *front, const char *back, const char *redis_url,
                          const char *const extra[], const char *log);
//  maas-worker --broker BACK --redis REDIS_URL EXTRA...
pid_t bench_worker_start (const char *back, const char *redis_url, const char *const extra[],
                          const char *log);
//  maas-trainer --broker BACK --redis REDIS_URL EXTRA...
pid_t bench_trainer_start (const char *back, const char *redis_url, const char *const extra[],
                           const char *log);
//  maas-gateway --http HTTP --broker FRONT --redis REDIS_URL EXTRA...
pid_t bench_gateway_start (const char *http, const char *front, const char *redis_url,
                           const char *const extra[], const char *log);
//  COUNT distinct TCP ports on 127.0.0.1 that were free a moment ago (all
//  bound at once, then released) into PORTS. 0, or -1.
int bench_free_ports (int *ports, size_t count);
//  CPU seconds PID has used so far (user + system, all its threads), from
//  /proc; 0 if it cannot be read.
double bench_cpu_s (pid_t pid);
//  End the bench (and so its children) if it runs longer than SECONDS:
//  every benchmark stops by itself, whatever hangs.
void bench_deadline (unsigned seconds);
//  One figure as a JSON line on stdout, flushed:
//  {"bench":BENCH,"case":CASE,"metric":METRIC,"value":VALUE,"unit":UNIT};
//  a whole VALUE (a count) in full, any other to 6 significant digits.
void bench_figure (const char *bench, const char *bench_case, const char *metric, double value,
                   const char *unit);
//  Submit JOBS infer jobs for MODEL through CLIENT as the gateway sends
//  them (untracked, ephemeral), each of PAYLOAD (SIZE bytes) with PARAMS:
//  job I is named "NAME-I" and its submit time (monotonic µs) goes into
//  SENT_US[I]; its result goes to FN with ARG. A failed submit is said on
//  stderr. Returns when the last is submitted, not answered.
void bench_submit_infer (maas_client_t *client, const char *name, const char *model, int jobs,
                         const msgpack_sbuffer *params, const void *payload, size_t size,
                         int64_t *sent_us, maas_result_fn *fn, void *arg);

#endif
