/*  main.c: maas-trainer, the command. Flags and environment into a config,
 *  logging and signals, then the engine (trainer.c) until SIGINT/SIGTERM. */
#include "trainer.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void
s_usage (FILE *out)
{
    fprintf (out,
             "usage: maas-trainer [OPTIONS]\n\n"
             "Runs maas train jobs: trains the network a job describes on its data set and\n"
             "publishes the result as a new model version.\n\n"
             "  --broker EP[,EP]    broker backend(s) ($MAAS_BROKER_BACKEND,\n"
             "                      default tcp://127.0.0.1:5556)\n"
             "  --redis URL         data sets and registry ($MAAS_REDIS_URL,\n"
             "                      default " MAAS_REDIS_URL_DEFAULT ")\n"
             "  --prefix P          Redis key prefix (default maas:)\n"
             "  --name NAME         this trainer's name in logs and job status\n"
             "  --heartbeat MS      heartbeat interval, as the broker's (default 1000)\n"
             "  --liveness N        missed heartbeats before a broker is dead (default 3)\n"
             "  --threads N         OpenBLAS threads (default 1; 0: the library's choice)\n"
             "  --log-level L       debug|info|warn|error ($MAAS_LOG_LEVEL, default info)\n"
             "  -h, --help          this text\n");
}

static int
s_number (const char *flag, const char *text, long min, long max, int *value)
{
    char *end = NULL;
    errno = 0;
    long parsed = strtol (text, &end, 10);
    if (errno || *end || end == text || parsed < min || parsed > max) {
        fprintf (stderr, "maas-trainer: %s needs a whole number in %ld..%ld, got '%s'\n", flag,
                 min, max, text);
        return -1;
    }
    *value = (int) parsed;
    return 0;
}

//  Parse ARGV into CONFIG and *THREADS; 0, 1 for --help, -1 on a bad flag.
static int
s_parse (int argc, char **argv, maas_trainer_config_t *config, int *threads)
{
    for (int i = 1; i < argc; i++) {
        const char *flag = argv[i], *value = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp (flag, "-h") == 0 || strcmp (flag, "--help") == 0)
            return 1;
        if (!value) {
            fprintf (stderr, "maas-trainer: unknown flag or missing value: %s\n", flag);
            return -1;
        }
        i++;
        int rc = 0;
        if (strcmp (flag, "--broker") == 0)
            config->brokers = value;
        else if (strcmp (flag, "--redis") == 0)
            config->redis_url = value;
        else if (strcmp (flag, "--prefix") == 0)
            config->prefix = value;
        else if (strcmp (flag, "--name") == 0)
            config->name = value;
        else if (strcmp (flag, "--heartbeat") == 0)
            rc = s_number (flag, value, 10, 600000, &config->heartbeat_ms);
        else if (strcmp (flag, "--liveness") == 0)
            rc = s_number (flag, value, 1, 1000, &config->liveness);
        else if (strcmp (flag, "--threads") == 0)
            rc = s_number (flag, value, 0, 256, threads);
        else if (strcmp (flag, "--log-level") == 0 && maas_log_level_parse (value) >= 0)
            maas_log_set_level ((maas_log_level_t) maas_log_level_parse (value));
        else {
            fprintf (stderr, "maas-trainer: unknown flag or bad value: %s %s\n", flag, value);
            return -1;
        }
        if (rc != 0)
            return -1;
    }
    return 0;
}

int
main (int argc, char **argv)
{
    maas_trainer_config_t config = maas_trainer_defaults ();
    const char *backend = getenv ("MAAS_BROKER_BACKEND");
    if (backend && *backend)
        config.brokers = backend;
    int threads = 1;
    int rc = s_parse (argc, argv, &config, &threads);
    if (rc != 0) {
        s_usage (rc > 0 ? stdout : stderr);
        return rc > 0 ? 0 : 2;
    }
    signal (SIGPIPE, SIG_IGN);          //  a Redis that went away is an error, not a signal
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
