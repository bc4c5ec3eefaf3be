/*  proc.h: what the benchmarks share to run their servers: child processes
 *  that die with the bench (so an aborted run leaves nothing behind), a
 *  private redis-server, a free loopback port, and a bound on run time. */
#ifndef MAAS_BENCH_PROC_H
#define MAAS_BENCH_PROC_H

#include <stddef.h>
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
//  {"bench":BENCH,"case":CASE,"metric":METRIC,"value":VALUE,"unit":UNIT}.
void bench_figure (const char *bench, const char *bench_case, const char *metric, double value,
                   const char *unit);

#endif
