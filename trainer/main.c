/*  main.c: maas-trainer, the command. Flags and environment into a config,
 *  logging and signals, then the engine (trainer.c) until SIGINT/SIGTERM. */
#include "trainer.h"
#include "curve.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char s_summary[] =
    "usage: maas-trainer [OPTIONS]\n\n"
    "Runs maas train jobs: trains the network a job describes on its data set and\n"
    "publishes the result as a new model version.\n\n";

//  Flags and environment into CONFIG and *THREADS. 0 to run, 1 after
//  --help/--version, -1 after saying what is wrong.
static int
s_configure (int argc, char **argv, maas_trainer_config_t *config, int *threads)
{
    const char *log_level = "info";
    const maas_option_t table[] = {
        {"--broker", "MAAS_BROKER_BACKEND", MAAS_OPT_STRING, 0, 0, NULL, &config->brokers,
         "EP[,EP]", "broker backend(s)", NULL},
        MAAS_CURVE_OPTIONS (&config->curve_key, &config->broker_key),
        {"--redis", "MAAS_REDIS_URL", MAAS_OPT_URL, 0, 0, NULL, &config->redis_url, "URL",
         "data sets and registry", MAAS_REDIS_URL_DEFAULT},
        {"--prefix", NULL, MAAS_OPT_STRING, 0, 0, NULL, &config->prefix, "P", "Redis key prefix",
         "maas:"},
        {"--name", NULL, MAAS_OPT_STRING, 0, 0, NULL, &config->name, "NAME",
         "this trainer's name in logs and job status", NULL},
        {"--heartbeat", NULL, MAAS_OPT_MS, 10, 600000, NULL, &config->heartbeat_ms, "MS",
         "heartbeat interval, as the broker's", NULL},
        {"--liveness", NULL, MAAS_OPT_INT, 1, 1000, NULL, &config->liveness, "N",
         "missed heartbeats before a broker is dead", NULL},
        {"--threads", NULL, MAAS_OPT_INT, 0, 256, NULL, threads, "N",
         "OpenBLAS threads (0: the library's choice)", NULL},
        {"--log-level", "MAAS_LOG_LEVEL", MAAS_OPT_CHOICE, 0, 0, MAAS_OPTIONS_LOG_LEVELS,
         &log_level, "L", "log level", NULL},
    };
    const maas_options_t options = {"maas-trainer", s_summary, NULL, table,
                                    sizeof table / sizeof table[0]};
    int rc = maas_options_main (&options, argc, argv, getenv);
    config->redis_sentinels = getenv ("MAAS_REDIS_SENTINELS");
    config->redis_master = getenv ("MAAS_REDIS_MASTER");
    maas_log_set_level ((maas_log_level_t) maas_log_level_parse (log_level));
    return rc;
}

int
main (int argc, char **argv)
{
    maas_trainer_config_t config = maas_trainer_defaults ();
    int threads = 1;
    int rc = s_configure (argc, argv, &config, &threads);
    if (rc != 0)
        return rc > 0 ? 0 : 2;
    signal (SIGPIPE, SIG_IGN);    //  a Redis that went away is an error, not a signal
    maas_blas_set_threads (threads);
    char err[512];
    maas_trainer_t *trainer = maas_trainer_new (&config, err, sizeof err);
    if (!trainer) {
        maas_error ("trainer", "cannot start error=\"%s\"", err);
        return 1;
    }
    maas_trainer_run (trainer);
    maas_trainer_destroy (&trainer);
    return 0;
}
