/*  main.c: maas-broker, the command. Reads flags and environment into a
 *  config, sets up logging and signals, runs the engine (broker.c). */
#include "broker.h"
#include "log.h"
#include "options.h"
#include "redis_url.h"

#include <czmq.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char s_summary[] =
    "usage: maas-broker [OPTIONS]\n\n"
    "Routes maas jobs from clients to workers and keeps their status in Redis.\n\n";
static const char s_epilog[] = "  Behind Sentinel: $MAAS_REDIS_SENTINELS (host:port,...) and\n"
                               "  $MAAS_REDIS_MASTER (default mymaster); failovers are followed.\n";

//  Flags and environment into CONFIG (defaults already in it). 0 to run,
//  1 after --help/--version, -1 after saying what is wrong.
static int
s_configure (maas_broker_config_t *config, int argc, char **argv)
{
    int ttl_s = (int) (config->result_ttl_ms / 1000),
        message_mb = (int) (config->max_message >> 20), bytes_mb = (int) (config->max_bytes >> 20),
        client_mb = (int) (config->max_client_bytes >> 20);
    const char *log_level = "info";
    const maas_option_t table[] = {
        {"--frontend", "MAAS_BROKER_FRONTEND", MAAS_OPT_STRING, 0, 0, NULL, &config->frontend, "EP",
         "client endpoint to bind", NULL},
        {"--backend", "MAAS_BROKER_BACKEND", MAAS_OPT_STRING, 0, 0, NULL, &config->backend, "EP",
         "worker endpoint to bind", NULL},
        {"--redis", "MAAS_REDIS_URL", MAAS_OPT_URL, 0, 0, NULL, &config->redis_url, "URL",
         "job store", MAAS_REDIS_URL_DEFAULT},
        {"--prefix", NULL, MAAS_OPT_STRING, 0, 0, NULL, &config->prefix, "P", "Redis key prefix",
         NULL},
        {"--name", "MAAS_BROKER_NAME", MAAS_OPT_STRING, 0, 0, NULL, &config->name, "NAME",
         "this broker's name in Redis; keep it across restarts to recover its jobs", NULL},
        {"--no-status", "MAAS_STATUS", MAAS_OPT_BOOL, 0, 0, NULL, &config->status, NULL,
         "keep no job status in Redis", NULL},
        {"--heartbeat", NULL, MAAS_OPT_MS, 10, 600000, NULL, &config->heartbeat_ms, "MS",
         "heartbeat interval", NULL},
        {"--liveness", NULL, MAAS_OPT_INT, 1, 1000, NULL, &config->liveness, "N",
         "missed heartbeats before a worker is dead", NULL},
        {"--max-attempts", NULL, MAAS_OPT_INT, 1, 1000, NULL, &config->max_attempts, "N",
         "runs of a job before it fails on worker loss", NULL},
        {"--max-jobs", NULL, MAAS_OPT_UINT, 1, 100000000, NULL, &config->max_jobs, "N",
         "jobs held at once; more are rejected as overloaded", NULL},
        {"--max-bytes", NULL, MAAS_OPT_INT, 1, 1048576, NULL, &bytes_mb, "MB",
         "bytes the jobs held may take (headers and payloads); more: overloaded", NULL},
        {"--max-clients", NULL, MAAS_OPT_UINT, 1, 10000000, NULL, &config->max_clients, "N",
         "clients holding jobs at once; a new one past it: overloaded", NULL},
        {"--max-client-jobs", NULL, MAAS_OPT_UINT, 1, 100000000, NULL, &config->max_client_jobs,
         "N", "jobs one client may hold; more: overloaded", NULL},
        {"--max-client-bytes", NULL, MAAS_OPT_INT, 1, 1048576, NULL, &client_mb, "MB",
         "bytes one client's jobs may take; more: overloaded", NULL},
        {"--max-workers", NULL, MAAS_OPT_UINT, 1, 1000000, NULL, &config->max_workers, "N",
         "workers and trainers at once; a new one past it is refused", NULL},
        {"--result-ttl", NULL, MAAS_OPT_INT, 0, 31536000, NULL, &ttl_s, "S",
         "seconds finished jobs stay in Redis", NULL},
        {"--events-max", NULL, MAAS_OPT_INT, 1, 100000000, NULL, &config->events_max, "N",
         "approximate cap of the events stream", NULL},
        {"--redis-retry", NULL, MAAS_OPT_MS, 10, 600000, NULL, &config->redis_retry_ms, "MS",
         "delay between Redis reconnect attempts", NULL},
        {"--redis-timeout", NULL, MAAS_OPT_MS, 0, 600000, NULL, &config->redis_timeout_ms, "MS",
         "Redis replies overdue this long drop the connection (0: wait forever)", NULL},
        {"--max-message", NULL, MAAS_OPT_INT, 1, 2047, NULL, &message_mb, "MB",
         "largest frame accepted; a bigger one disconnects its peer", NULL},
        {"--curve-secret", "MAAS_CURVE_SECRET", MAAS_OPT_STRING, 0, 0, NULL, &config->curve_secret,
         "FILE", "broker's secret key (maas keygen): CurveZMQ on both sides", "none"},
        {"--clients", "MAAS_CURVE_CLIENTS", MAAS_OPT_STRING, 0, 0, NULL, &config->clients_dir,
         "DIR", "public keys of the clients allowed (re-read each second)", "none"},
        {"--workers", "MAAS_CURVE_WORKERS", MAAS_OPT_STRING, 0, 0, NULL, &config->workers_dir,
         "DIR", "public keys of the workers and trainers allowed", "none"},
        {"--log-level", "MAAS_LOG_LEVEL", MAAS_OPT_CHOICE, 0, 0, MAAS_OPTIONS_LOG_LEVELS,
         &log_level, "L", "log level", NULL},
    };
    const maas_options_t options = {"maas-broker", s_summary, s_epilog, table,
                                    sizeof table / sizeof table[0]};
    int rc = maas_options_main (&options, argc, argv, getenv);
    config->redis_sentinels = getenv ("MAAS_REDIS_SENTINELS");
    config->redis_master = getenv ("MAAS_REDIS_MASTER");
    config->result_ttl_ms = (int64_t) ttl_s * 1000;
    config->max_message = (int64_t) message_mb << 20;
    config->max_bytes = (int64_t) bytes_mb << 20;
    config->max_client_bytes = (int64_t) client_mb << 20;
    maas_log_set_level ((maas_log_level_t) maas_log_level_parse (log_level));
    return rc;
}

int
main (int argc, char **argv)
{
    maas_broker_config_t config;
    maas_broker_config_defaults (&config);
    int rc = s_configure (&config, argc, argv);
    if (rc != 0)
        return rc > 0 ? 0 : 2;
    //  The Redis output buffer is a few hundred KiB allocated and freed every
    //  loop turn: keep glibc from trimming and re-faulting that memory.
    mallopt (M_TRIM_THRESHOLD, 64 << 20);
    mallopt (M_MMAP_THRESHOLD, 64 << 20);
    zsys_init ();
    zsys_catch_interrupts ();
    signal (SIGPIPE, SIG_IGN);    //  a Redis that went away is an error, not a signal
    maas_err_t err;
    maas_broker_t *broker = maas_broker_new (&config, &err);
    if (!broker) {
        fprintf (stderr, "maas-broker: %s\n", err.text);
        return 1;
    }
    maas_broker_run (broker);
    maas_broker_destroy (&broker);
    return 0;
}
