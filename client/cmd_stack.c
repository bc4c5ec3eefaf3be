/*  cmd_stack.c: `maas up`, `maas down`, `maas ps`: the local stack. */
#include "commands.h"
#include "env.h"
#include "output.h"
#include "redis_url.h"
#include "stack.h"

#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *s_up_usage =
    "usage: maas up [--workers N] [--trainers N] [--redis URL] [--cache-mb N] [--state DIR]\n"
    "               [--http ADDR:PORT|off] [--secure]\n"
    "Start a local stack: a private redis-server on a unix socket (its data kept in\n"
    "the state dir across down/up; --redis URL uses that Redis instead, never\n"
    "$MAAS_REDIS_URL), a broker named after the stack, N workers (default 2) and\n"
    "N trainers (default 1), detached, with logs and PIDs in the state dir (default\n"
    "$MAAS_STATE_DIR or /tmp/maas-UID). `maas down` stops exactly those processes.\n"
    "--http: the HTTP gateway's address (default $MAAS_HTTP, else 127.0.0.1:8501;\n"
    "port 0: any), or off.\n"
    "--secure: CurveZMQ keys for every process in STATE/keys (docs/security.md);\n"
    "the CLI's admin key goes in the env file. The gateway gets API keys and a\n"
    "self-signed certificate (HTTPS): env gets MAAS_API_KEY and MAAS_GATEWAY_CA.\n";

//  Parse a non-negative integer flag value; -1 if it is not one.
static int
s_count (const char *text)
{
    char *end;
    long value = strtol (text, &end, 10);
    return *text && !*end && value >= 0 && value <= 64 ? (int) value : -1;
}

//  Which Redis the stack uses, on stderr (progress, not a result).
static void
s_say_redis (const maas_stack_config_t *config, const char *from_env)
{
    char shown[512];    //  the URL without its password
    if (config->redis_url)
        fprintf (stderr,
                 "maas up: using the Redis at %s (--redis); maas down leaves it and "
                 "its data alone\n",
                 maas_redis_url_mask (config->redis_url, shown, sizeof shown));
    else if (from_env && *from_env)
        fprintf (stderr,
                 "maas up: not using $MAAS_REDIS_URL (%s): starting a private Redis "
                 "in %s (--redis URL to share one)\n",
                 maas_redis_url_mask (from_env, shown, sizeof shown), config->state_dir);
}

int
maas_cmd_up (int argc, char **argv)
{
    static const struct option options[] = {{"workers", required_argument, NULL, 'w'},
                                            {"trainers", required_argument, NULL, 't'},
                                            {"redis", required_argument, NULL, 'r'},
                                            {"cache-mb", required_argument, NULL, 'c'},
                                            {"state", required_argument, NULL, 's'},
                                            {"help", no_argument, NULL, 'h'},
                                            {"http", required_argument, NULL, 'H'},
                                            {"secure", no_argument, NULL, 'S'},
                                            {NULL, 0, NULL, 0}};
    maas_cli_env_t env = maas_cli_env ();
    char *default_dir = maas_cli_state_dir (&env);
    //  $MAAS_REDIS_URL is not read: after `export $(cat A/env)` it names
    //  stack A's Redis, and a second stack must not share it by accident.
    //  $MAAS_HTTP lets a script (or a test beside other stacks) move every
    //  `maas up` off the default port without rewriting its commands.
    maas_stack_config_t config = {.state_dir = default_dir,
                                  .workers = 2,
                                  .trainers = 1,
                                  .http = env.http,
                                  .bin_dir = env.bin_dir};
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
            case 'S': config.secure = true; break;
            case 'h':
                fputs (s_up_usage, stdout);
                rc = 0;
                goto done;
            default: fputs (s_up_usage, stderr); goto done;
        }
    }
    if (optind != argc || config.workers < 0 || config.trainers < 0 || config.cache_mb < 0) {
        fprintf (stderr, "maas up: counts must be whole numbers 0-64\n%s", s_up_usage);
        goto done;
    }
    s_say_redis (&config, env.redis_url);
    char err[512];
    if (maas_stack_up (&config, err, sizeof err) != 0) {
        fprintf (stderr, "maas up: %s\n", err);
        rc = 1;
        goto done;
    }
    maas_stack_print (config.state_dir, stdout, NULL, false);
    //  Commands find the default dir by themselves; any other only once
    //  MAAS_STATE_DIR names it (this process cannot change its shell's).
    if (strcmp (config.state_dir, default_dir) == 0)
        printf ("\nstack up in %s; maas commands find it by themselves.\n", config.state_dir);
    else
        printf ("\nstack up in %s; maas commands find it after: export MAAS_STATE_DIR=%s\n",
                config.state_dir, config.state_dir);
    printf ("programs other than maas: export $(cat %s/env)\nstop it with: maas down --state %s\n",
            config.state_dir, config.state_dir);
    rc = 0;
done:
    free (default_dir);
    return rc;
}

//  Shared by down and ps: --state DIR, and the one switch FLAG (down's
//  --purge, ps's --json) into *VALUE. Returns the state dir (DEFAULT_DIR's,
//  which the caller frees, if none is named), or NULL after the usage.
static const char *
s_state_dir_arg (int argc, char **argv, char **default_dir, const char *flag, bool *value)
{
    maas_cli_env_t env = maas_cli_env ();
    *default_dir = maas_cli_state_dir (&env);
    const char *dir = *default_dir;
    for (int i = 1; i < argc; i++) {
        if (strcmp (argv[i], "--state") == 0 && i + 1 < argc)
            dir = argv[++i];
        else if (strcmp (argv[i], flag) == 0)
            *value = true;
        else {
            fprintf (stderr, "usage: maas %s [--state DIR] [%s]\n", argv[0], flag);
            return NULL;
        }
    }
    return dir;
}

int
maas_cmd_down (int argc, char **argv)
{
    char *default_dir, err[512];
    bool purge = false;
    const char *dir = s_state_dir_arg (argc, argv, &default_dir, "--purge", &purge);
    int rc = 2;
    if (dir) {
        int stopped = maas_stack_down (dir, 5000, purge, err, sizeof err);
        if (stopped < 0)
            fprintf (stderr, "maas down: %s\n", err);
        else
            printf ("stopped %d processes in %s; %s\n", stopped, dir,
                    purge ? "its Redis data is deleted"
                          : "its Redis data is kept for the next maas up (--purge deletes it)");
        rc = stopped < 0 ? 1 : 0;
    }
    free (default_dir);
    return rc;
}

int
maas_cmd_ps (int argc, char **argv)
{
    char *default_dir;
    bool json = false;
    const char *dir = s_state_dir_arg (argc, argv, &default_dir, "--json", &json);
    int rc = MAAS_EXIT_USAGE;
    if (dir) {
        int members = 0, running = maas_stack_print (dir, stdout, &members, json);
        if (json && running < 0) {
            printf ("{");
            maas_json_field (stdout, "state_dir", dir, 1);
            printf (",\"processes\":[],\"running\":0,\"total\":0}");
        }
        if (json)
            printf ("\n");
        if (running < 0)
            fprintf (stderr, "maas ps: no stack in %s\n", dir);
        else if (running < members)
            fprintf (stderr,
                     "maas ps: %d of %d processes are gone (see their logs; maas down "
                     "--state %s, then maas up)\n",
                     members - running, members, dir);
        rc = running < 0 || running < members ? MAAS_EXIT_FAILED : MAAS_EXIT_OK;
    }
    free (default_dir);
    return rc;
}
