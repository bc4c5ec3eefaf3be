/*  main.c: maas-broker, the command. Reads flags and environment into a
 *  config, sets up logging and signals, runs the engine (broker.c). */
#include "broker.h"
#include "log.h"

#include <czmq.h>
#include <errno.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void
s_usage (FILE *out)
{
    fprintf (out,
             "usage: maas-broker [OPTIONS]\n\n"
             "Routes maas jobs from clients to workers and keeps their status in Redis.\n\n"
             "  --frontend EP       client endpoint to bind ($MAAS_BROKER_FRONTEND,\n"
             "                      default tcp://127.0.0.1:5555)\n"
             "  --backend EP        worker endpoint to bind ($MAAS_BROKER_BACKEND,\n"
             "                      default tcp://127.0.0.1:5556)\n"
             "  --redis URL         job store ($MAAS_REDIS_URL, default redis://127.0.0.1:6379)\n"
             "  --prefix P          Redis key prefix (default maas:)\n"
             "  --name NAME         this broker's name in Redis; keep it across restarts so\n"
             "                      it recovers its jobs ($MAAS_BROKER_NAME, default broker)\n"
             "  --no-status         keep no job status in Redis ($MAAS_STATUS=off)\n"
             "  --heartbeat MS      heartbeat interval (default 1000)\n"
             "  --liveness N        missed heartbeats before a worker is dead (default 3)\n"
             "  --max-attempts N    runs of a job before it fails on worker loss (default 3)\n"
             "  --max-jobs N        jobs held at once; more are rejected as overloaded\n"
             "                      (default 100000)\n"
             "  --result-ttl S      seconds finished jobs stay in Redis (default 86400)\n"
             "  --events-max N      approximate cap of the events stream (default 10000)\n"
             "  --redis-retry MS    delay between Redis reconnect attempts (default 1000)\n"
             "  --redis-timeout MS  Redis replies overdue this long (a hung server) drop the\n"
             "                      connection: waiting jobs are rejected, then it\n"
             "                      reconnects (default 3000; 0: wait forever)\n"
             "  Behind Sentinel: $MAAS_REDIS_SENTINELS (host:port,...) and\n"
             "  $MAAS_REDIS_MASTER (default mymaster); failovers are followed.\n"
             "  --max-message MB    largest frame accepted; a peer sending a bigger one is\n"
             "                      disconnected (default 256)\n"
             "  --log-level L       debug|info|warn|error ($MAAS_LOG_LEVEL, default info)\n"
             "  -h, --help          this text\n");
}

//  Parse TEXT as an integer in [MIN, MAX] into *VALUE; -1 with a message.
static int
s_number (const char *flag, const char *text, long long min, long long max, long long *value)
{
    char *end = NULL;
    errno = 0;
    long long parsed = text ? strtoll (text, &end, 10) : 0;
    if (!text || errno || *end || end == text || parsed < min || parsed > max) {
        fprintf (stderr, "maas-broker: %s needs a whole number in %lld..%lld, got '%s'\n", flag,
                 min, max, text ? text : "");
        return -1;
    }
    *value = parsed;
    return 0;
}

static int
s_numeric_flag (maas_broker_config_t *config, const char *flag, const char *value)
{
    long long n = 0;
    static const struct {
        const char *flag;
        long long min, max;
    } limits[] = {{"--heartbeat", 10, 600000},   {"--liveness", 1, 1000},
                  {"--max-attempts", 1, 1000},   {"--max-jobs", 1, 100000000},
                  {"--result-ttl", 0, 31536000}, {"--events-max", 1, 100000000},
                  {"--redis-retry", 10, 600000},  {"--max-message", 1, 2047},
                  {"--redis-timeout", 0, 600000}};
    for (size_t i = 0; i < sizeof limits / sizeof limits[0]; i++) {
        if (strcmp (flag, limits[i].flag) != 0)
            continue;
        if (s_number (flag, value, limits[i].min, limits[i].max, &n) != 0)
            return -1;
        switch (i) {
            case 0: config->heartbeat_ms = (int) n; break;
            case 1: config->liveness = (int) n; break;
            case 2: config->max_attempts = (int) n; break;
            case 3: config->max_jobs = (size_t) n; break;
            case 4: config->result_ttl_ms = n * 1000; break;
            case 5: config->events_max = (int) n; break;
            case 6: config->redis_retry_ms = (int) n; break;
            case 7: config->max_message = n << 20; break;
            default: config->redis_timeout_ms = (int) n; break;
        }
        return 0;
    }
    return 1;                       //  not a numeric flag
}

static int
s_parse (maas_broker_config_t *config, int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        const char *flag = argv[i], *value = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp (flag, "-h") == 0 || strcmp (flag, "--help") == 0) {
            s_usage (stdout);
            exit (0);
        }
        if (strcmp (flag, "--no-status") == 0) {
            config->status = false;
            continue;
        }
        if (!value) {
            fprintf (stderr, "maas-broker: %s needs a value (see --help)\n", flag);
            return -1;
        }
        i++;
        int numeric = s_numeric_flag (config, flag, value);
        if (numeric <= 0) {
            if (numeric < 0)
                return -1;
            continue;
        }
        if (strcmp (flag, "--frontend") == 0) config->frontend = value;
        else if (strcmp (flag, "--backend") == 0) config->backend = value;
        else if (strcmp (flag, "--redis") == 0) config->redis_url = value;
        else if (strcmp (flag, "--prefix") == 0) config->prefix = value;
        else if (strcmp (flag, "--name") == 0) config->name = value;
        else if (strcmp (flag, "--log-level") == 0 && maas_log_level_parse (value) >= 0)
            maas_log_set_level ((maas_log_level_t) maas_log_level_parse (value));
        else {
            fprintf (stderr, "maas-broker: unknown option or value '%s %s' (see --help)\n",
                     flag, value);
            return -1;
        }
    }
    return 0;
}

static void
s_from_env (maas_broker_config_t *config)
{
    if (getenv ("MAAS_BROKER_FRONTEND"))
        config->frontend = getenv ("MAAS_BROKER_FRONTEND");
    if (getenv ("MAAS_BROKER_BACKEND"))
        config->backend = getenv ("MAAS_BROKER_BACKEND");
    if (getenv ("MAAS_BROKER_NAME"))
        config->name = getenv ("MAAS_BROKER_NAME");
    const char *status = getenv ("MAAS_STATUS");
    if (status && (strcmp (status, "off") == 0 || strcmp (status, "0") == 0))
        config->status = false;
}

int
main (int argc, char **argv)
{
    maas_broker_config_t config;
    maas_broker_config_defaults (&config);
    s_from_env (&config);
    if (s_parse (&config, argc, argv) != 0)
        return 2;
    //  The Redis output buffer is a few hundred KiB allocated and freed every
    //  loop turn: keep glibc from trimming and re-faulting that memory.
    mallopt (M_TRIM_THRESHOLD, 64 << 20);
    mallopt (M_MMAP_THRESHOLD, 64 << 20);
    zsys_init ();
    zsys_catch_interrupts ();
    signal (SIGPIPE, SIG_IGN);      //  a Redis that went away is an error, not a signal
    maas_broker_t *broker = maas_broker_new (&config);
    if (!broker)
        return 1;
    maas_broker_run (broker);
    maas_broker_destroy (&broker);
    return 0;
}
