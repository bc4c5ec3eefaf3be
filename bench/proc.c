/*  proc.c: child processes, a private Redis and ports for the benchmarks
 *  (see spawn.h). */
#include "proc.h"
#include "clock.h"
#include "protocol.h"
#include "spawn.h"

#include <fcntl.h>
#include <hiredis/hiredis.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdbool.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef MAAS_TOP_BUILDDIR
#define MAAS_TOP_BUILDDIR "."
#endif

pid_t
bench_fork (void)
{
    pid_t parent = getpid (), pid = fork ();
    if (pid == 0) {
        prctl (PR_SET_PDEATHSIG, SIGKILL);
        if (getppid () != parent)    //  the bench died before the line above
            _exit (1);
    }
    return pid;
}

pid_t
bench_spawn (const char *const argv[], const char *log)
{
    maas_spawn_options_t options = {.log_path = log, .die_with_parent = true, .search_path = true};
    maas_err_t err;
    pid_t pid = maas_spawn (argv, &options, &err);
    if (pid < 0)
        fprintf (stderr, "bench: %s\n", err.text);
    return pid;
}

void
bench_stop (pid_t *pid)
{
    if (*pid <= 0)
        return;
    kill (*pid, SIGTERM);
    int i = 0;
    while (i++ < 500 && waitpid (*pid, NULL, WNOHANG) == 0)
        usleep (10000);
    if (i > 500) {
        kill (*pid, SIGKILL);
        waitpid (*pid, NULL, 0);
    }
    *pid = 0;
}

int
bench_redis_start (const char *dir, char *url, size_t url_size, pid_t *pid)
{
    char sock[300];
    snprintf (sock, sizeof sock, "%s/redis.sock", dir);
    snprintf (url, url_size, "unix://%s", sock);
    const char *argv[] = {
        "redis-server", "--port", "0", "--unixsocket", sock,        "--save", "", "--appendonly",
        "no",           "--dir",  dir, "--logfile",    "/dev/null", NULL};
    *pid = bench_spawn (argv, NULL);
    for (int i = 0; *pid > 0 && i < 500; i++) {
        redisContext *ctx = redisConnectUnix (sock);
        bool up = ctx && !ctx->err;
        redisFree (ctx);
        if (up)
            return 0;
        usleep (10000);
    }
    return -1;
}

//  PROGRAM of the build tree ("broker/maas-broker") with the words of FIXED,
//  then of EXTRA (both NULL-terminated; EXTRA may be NULL).
static pid_t
s_daemon_start (const char *program, const char *const fixed[], const char *const extra[],
                const char *log)
{
    char path[512];
    snprintf (path, sizeof path, "%s/%s", MAAS_TOP_BUILDDIR, program);
    const char *argv[64] = {path};
    size_t n = 1;
    for (size_t i = 0; fixed[i] && n < 63; i++)
        argv[n++] = fixed[i];
    for (size_t i = 0; extra && extra[i] && n < 63; i++)
        argv[n++] = extra[i];
    argv[n] = NULL;
    return bench_spawn (argv, log);
}

pid_t
bench_broker_start (const char *front, const char *back, const char *redis_url,
                    const char *const extra[], const char *log)
{
    const char *fixed[] = {"--frontend", front, "--backend", back, "--redis", redis_url, NULL};
    return s_daemon_start ("broker/maas-broker", fixed, extra, log);
}

pid_t
bench_worker_start (const char *back, const char *redis_url, const char *const extra[],
                    const char *log)
{
    const char *fixed[] = {"--broker", back, "--redis", redis_url, NULL};
    return s_daemon_start ("worker/maas-worker", fixed, extra, log);
}

pid_t
bench_trainer_start (const char *back, const char *redis_url, const char *const extra[],
                     const char *log)
{
    const char *fixed[] = {"--broker", back, "--redis", redis_url, NULL};
    return s_daemon_start ("trainer/maas-trainer", fixed, extra, log);
}

pid_t
bench_gateway_start (const char *http, const char *front, const char *redis_url,
                     const char *const extra[], const char *log)
{
    const char *fixed[] = {"--http", http, "--broker", front, "--redis", redis_url, NULL};
    return s_daemon_start ("gateway/maas-gateway", fixed, extra, log);
}

int
bench_free_ports (int *ports, size_t count)
{
    int fds[16], rc = count <= 16 ? 0 : -1;
    size_t opened = 0;
    while (rc == 0 && opened < count) {
        struct sockaddr_in addr = {.sin_family = AF_INET,
                                   .sin_addr.s_addr = htonl (INADDR_LOOPBACK)};
        socklen_t len = sizeof addr;
        int fd = socket (AF_INET, SOCK_STREAM, 0);
        if (fd >= 0)
            fds[opened++] = fd;
        if (fd < 0 || bind (fd, (struct sockaddr *) &addr, sizeof addr) != 0
            || getsockname (fd, (struct sockaddr *) &addr, &len) != 0)
            rc = -1;
        else
            ports[opened - 1] = ntohs (addr.sin_port);
    }
    while (opened > 0)
        close (fds[--opened]);
    return rc;
}

double
bench_cpu_s (pid_t pid)
{
    char path[64], text[1024];
    snprintf (path, sizeof path, "/proc/%d/stat", (int) pid);
    FILE *file = fopen (path, "r");
    size_t got = file ? fread (text, 1, sizeof text - 1, file) : 0;
    if (file)
        fclose (file);
    text[got] = '\0';
    const char *after = strrchr (text, ')');    //  the name may hold spaces
    unsigned long utime = 0, stime = 0;
    if (!after
        || sscanf (after + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &utime, &stime)
            != 2)
        return 0;
    return (double) (utime + stime) / (double) sysconf (_SC_CLK_TCK);
}

void
bench_deadline (unsigned seconds)
{
    signal (SIGALRM, SIG_DFL);
    alarm (seconds);
}

void
bench_figure (const char *bench, const char *bench_case, const char *metric, double value,
              const char *unit)
{
    //  Counts (params, bytes) and large rates in full, without an exponent;
    //  small measures (ms, µs per job) to 6 significant digits.
    bool whole = value > -1e15 && value < 1e15
        && (value == (double) (long long) value || fabs (value) >= 1e5);
    printf ("{\"bench\":\"%s\",\"case\":\"%s\",\"metric\":\"%s\",\"value\":", bench, bench_case,
            metric);
    printf (whole ? "%.0f" : "%.6g", value);
    printf (",\"unit\":\"%s\"}\n", unit);
    fflush (stdout);
}

void
bench_submit_infer (maas_client_t *client, const char *name, const char *model, int jobs,
                    const msgpack_sbuffer *params, const void *payload, size_t size,
                    int64_t *sent_us, maas_result_fn *fn, void *arg)
{
    for (int i = 0; i < jobs; i++) {
        char id[MAAS_PROTO_ID_MAX + 1];
        snprintf (id, sizeof id, "%s-%d", name, i);
        maas_submit_t spec = {.id = id,
                              .kind = "infer",
                              .model = model,
                              .untracked = true,
                              .ephemeral = true,
                              .params = params->data,
                              .params_size = params->size};
        sent_us[i] = maas_clock_mono_us ();
        if (maas_client_submit (client, &spec, payload, size, fn, arg, NULL) != 0)
            fprintf (stderr, "bench: submit %s: %s\n", id, maas_client_error (client));
    }
}
