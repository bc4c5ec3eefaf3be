/*  cmd_stack.c: `maas up`, `maas down`, `maas ps`: the local stack. */
#include "commands.h"
#include "endpoint.h"
#include "env.h"
#include "output.h"
#include "redis_url.h"
#include "stack.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_COUNT_MAX    64           //  workers or trainers one `maas up` starts
#define S_CACHE_MB_MAX (1 << 20)    //  maas-worker's own bound of --cache-mb

static const char s_up_usage[] =
    "usage: maas up [--workers N] [--trainers N] [--redis URL] [--cache-mb N] [--state DIR]\n"
    "               [--http ADDR:PORT|off] [--secure]\n\n"
    "Start a local stack: a private redis-server on a unix socket (its data kept in\n"
    "the state dir across down/up; --redis URL uses that Redis instead, never\n"
    "$MAAS_REDIS_URL), a broker named after the stack, N workers and N trainers,\n"
    "detached, with logs and PIDs in the state dir. `maas down` stops exactly\n"
    "those processes.\n\n";

static const char s_up_epilog[] =
    "\n--http: the HTTP gateway's address (port 0: any), or off.\n"
    "--secure: CurveZMQ keys for every process in STATE/keys (docs/security.md);\n"
    "the CLI's admin key goes in the env file. The gateway gets API keys and a\n"
    "self-signed certificate (HTTPS): env gets MAAS_API_KEY and MAAS_GATEWAY_CA.\n";

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
    const maas_option_t table[] = {
        {"--workers", NULL, MAAS_OPT_INT, 0, S_COUNT_MAX, NULL, &config.workers, "N",
         "inference workers", NULL},
        {"--trainers", NULL, MAAS_OPT_INT, 0, S_COUNT_MAX, NULL, &config.trainers, "N",
         "training workers", NULL},
        {"--redis", NULL, MAAS_OPT_URL, 0, 0, NULL, &config.redis_url, "URL",
         "use this Redis (maas down leaves it alone)", "a private redis-server"},
        {"--cache-mb", NULL, MAAS_OPT_INT, 0, S_CACHE_MB_MAX, NULL, &config.cache_mb, "N",
         "each worker's model cache, MiB (0: 256)", "0"},
        {"--state", NULL, MAAS_OPT_STRING, 0, 0, NULL, &config.state_dir, "DIR",
         "the stack's logs, PIDs, data and env file", "$MAAS_STATE_DIR, else /tmp/maas-UID"},
        {"--http", NULL, MAAS_OPT_STRING, 0, 0, NULL, &config.http, "ADDR:PORT|off",
         "the HTTP gateway", "$MAAS_HTTP, else 127.0.0.1:8501"},
        {"--secure", NULL, MAAS_OPT_BOOL, 0, 0, NULL, &config.secure, NULL,
         "CurveZMQ keys, API keys, HTTPS", NULL},
    };
    const maas_options_t options = {"maas up", s_up_usage, s_up_epilog, table,
                                    sizeof table / sizeof table[0]};
    int rc = 2;
    if (maas_cli_options (&options, argc, argv, NULL, &rc))
        goto done;
    //  A gateway address it cannot listen on is a bad command line, said
    //  now rather than after starting the rest and waiting for the gateway.
    maas_err_t err_http;
    if (config.http && maas_cli_http_check (config.http, &err_http) != 0) {
        fprintf (stderr, "maas up: --http: %s\n", err_http.text);
        rc = MAAS_EXIT_USAGE;
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

//  Shared by down and ps: their table of --state DIR and the one switch
//  FLAG (down's --purge, ps's --json) into *VALUE. Returns the state dir
//  (DEFAULT_DIR's, which the caller frees, if none is named), or NULL with
//  the exit code in *CODE (0 after --help, 2 after the message).
static const char *
s_state_dir_arg (int argc, char **argv, char **default_dir, const maas_option_t *flag,
                 const char *summary, int *code)
{
    maas_cli_env_t env = maas_cli_env ();
    *default_dir = maas_cli_state_dir (&env);
    const char *dir = *default_dir;
    char prog[16];
    snprintf (prog, sizeof prog, "maas %s", argv[0]);
    const maas_option_t table[] = {
        {"--state", NULL, MAAS_OPT_STRING, 0, 0, NULL, &dir, "DIR", "the stack's state dir",
         "$MAAS_STATE_DIR, else /tmp/maas-UID"},
        *flag,
    };
    const maas_options_t options = {prog, summary, NULL, table, sizeof table / sizeof table[0]};
    return maas_cli_options (&options, argc, argv, NULL, code) ? NULL : dir;
}

int
maas_cmd_down (int argc, char **argv)
{
    char *default_dir, err[512];
    bool purge = false;
    const maas_option_t flag = {"--purge", NULL, MAAS_OPT_BOOL,
                                0,         0,    NULL,
                                &purge,    NULL, "delete the stack's Redis data too",
                                NULL};
    int rc = 2;
    const char *dir =
        s_state_dir_arg (argc, argv, &default_dir, &flag,
                         "usage: maas down [--state DIR] [--purge]\n\n"
                         "Stop the processes `maas up` started there (the stack's Redis data\n"
                         "is kept for the next maas up, unless --purge).\n\n",
                         &rc);
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
    const maas_option_t flag = {
        "--json", NULL, MAAS_OPT_BOOL, 0, 0, NULL, &json, NULL, "one JSON object on stdout", NULL};
    int rc = MAAS_EXIT_USAGE;
    const char *dir =
        s_state_dir_arg (argc, argv, &default_dir, &flag,
                         "usage: maas ps [--state DIR] [--json]\n\n"
                         "The local stack's processes: role, PID, program, state, log. Exit 1\n"
                         "when one is gone.\n\n",
                         &rc);
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
