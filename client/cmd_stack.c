/*  cmd_stack.c: `maas up`, `maas down`, `maas ps`: the local stack. */
#include "commands.h"
#include "stack.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *s_up_usage =
    "usage: maas up [--workers N] [--trainers N] [--redis URL] [--cache-mb N] [--state DIR]\n"
    "               [--http ADDR:PORT|off]\n"
    "Start a local stack: a private redis-server on a unix socket (unless --redis or\n"
    "$MAAS_REDIS_URL names one), a broker, N workers (default 2) and N trainers\n"
    "(default 1), detached, with logs and PIDs in the state dir (default\n"
    "$MAAS_STATE_DIR or /tmp/maas-UID). `maas down` stops exactly those processes.\n"
    "--http: the HTTP gateway's address (default 127.0.0.1:8501; port 0: any), or off.\n";

//  Parse a non-negative integer flag value; -1 if it is not one.
static int
s_count (const char *text)
{
    char *end;
    long value = strtol (text, &end, 10);
    return *text && !*end && value >= 0 && value <= 64 ? (int) value : -1;
}

int
maas_cmd_up (int argc, char **argv)
{
    static const struct option options[] = {
        {"workers", required_argument, NULL, 'w'}, {"trainers", required_argument, NULL, 't'},
        {"redis", required_argument, NULL, 'r'},   {"cache-mb", required_argument, NULL, 'c'},
        {"state", required_argument, NULL, 's'},   {"help", no_argument, NULL, 'h'},
        {"http", required_argument, NULL, 'H'},
        {NULL, 0, NULL, 0}};
    char *default_dir = maas_stack_default_dir ();
    maas_stack_config_t config = {.state_dir = default_dir, .workers = 2, .trainers = 1,
                                  .redis_url = getenv ("MAAS_REDIS_URL")};
    int opt, rc = 2;
    optind = 1;
    while ((opt = getopt_long (argc, argv, "", options, NULL)) != -1) {
        switch (opt) {
        case 'w': config.workers = s_count (optarg); break;
        case 't': config.trainers = s_count (optarg); break;
        case 'c': config.cache_mb = s_count (optarg) < 0 ? -1 : atoi (optarg); break;
        case 'r': config.redis_url = optarg; break;
        case 's': config.state_dir = optarg; break;
        case 'H': config.http = optarg; break;
        case 'h': fputs (s_up_usage, stdout); rc = 0; goto done;
        default: fputs (s_up_usage, stderr); goto done;
        }
    }
    if (optind != argc || config.workers < 0 || config.trainers < 0 || config.cache_mb < 0) {
        fprintf (stderr, "maas up: counts must be whole numbers 0-64\n%s", s_up_usage);
        goto done;
    }
    char err[512];
    if (maas_stack_up (&config, err, sizeof err) != 0) {
        fprintf (stderr, "maas up: %s\n", err);
        rc = 1;
        goto done;
    }
    maas_stack_print (config.state_dir, stdout);
    printf ("\nstack up in %s; this shell's maas commands find it by themselves.\n"
            "other shells: export $(cat %s/env)\nstop it with: maas down --state %s\n",
            config.state_dir, config.state_dir, config.state_dir);
    rc = 0;
done:
    free (default_dir);
    return rc;
}

//  Shared by down and ps: the only flag is --state DIR.
static const char *
s_state_dir_arg (int argc, char **argv, char **default_dir)
{
    *default_dir = maas_stack_default_dir ();
    for (int i = 1; i < argc; i++) {
        if (strcmp (argv[i], "--state") == 0 && i + 1 < argc)
            return argv[++i];
        fprintf (stderr, "usage: maas %s [--state DIR]\n", argv[0]);
        return NULL;
    }
    return *default_dir;
}

int
maas_cmd_down (int argc, char **argv)
{
    char *default_dir, err[512];
    const char *dir = s_state_dir_arg (argc, argv, &default_dir);
    int rc = 2;
    if (dir) {
        int stopped = maas_stack_down (dir, 5000, err, sizeof err);
        if (stopped < 0)
            fprintf (stderr, "maas down: %s\n", err);
        else
            printf ("stopped %d processes in %s\n", stopped, dir);
        rc = stopped < 0 ? 1 : 0;
    }
    free (default_dir);
    return rc;
}

int
maas_cmd_ps (int argc, char **argv)
{
    char *default_dir;
    const char *dir = s_state_dir_arg (argc, argv, &default_dir);
    int rc = 2;
    if (dir) {
        int running = maas_stack_print (dir, stdout);
        if (running < 0)
            fprintf (stderr, "maas ps: no stack in %s\n", dir);
        rc = running < 0 ? 1 : 0;
    }
    free (default_dir);
    return rc;
}
