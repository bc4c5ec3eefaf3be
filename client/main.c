/*  main.c: `maas`, the command line over libmaas. Dispatches the first word
 *  to a command group; each group parses its own flags. */
#include "commands.h"
#include "env.h"
#include "stack.h"
#include "maas.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const maas_cmd_t s_commands[] = {
    {"up", maas_cmd_up, "start a local stack (redis, broker, workers, trainers)", false},
    {"down", maas_cmd_down, "stop the local stack", false},
    {"ps", maas_cmd_ps, "list the local stack's processes", false},
    {"dataset", maas_cmd_dataset, "data sets in Redis: put FILE.csv, list, show, rm", false},
    {"train", maas_cmd_train, "train a model on a data set as a train job [--wait]", true},
    {"model", maas_cmd_model, "the model registry: publish, import, list, show, alias, rm, export",
     false},
    {"infer", maas_cmd_infer, "predictions for rows (CSV or JSON) from a model through a broker",
     true},
    {"explain", maas_cmd_explain, "attributions of rows' predictions to their features", true},
    {"score", maas_cmd_score, "fan-out batch scoring of a CSV or .npy file", true},
    {"job", maas_cmd_job, "one job: status, progress, timings, worker, error, result", false},
    {"jobs", maas_cmd_jobs, "recent jobs [--status S]", false},
    {"cancel", maas_cmd_cancel, "cancel jobs by id", true},
    {"status", maas_cmd_status, "brokers' job counts and workers, or jobs by id", false},
    {"synth", maas_cmd_synth, "write the synthetic benchmark data set", false},
    {"keygen", maas_cmd_keygen, "write a CurveZMQ key pair NAME, NAME_secret [--role R]", false},
    {"version", maas_cmd_version, "print the maas version", false},
};

static void
s_usage (FILE *out)
{
    fprintf (out, "usage: maas COMMAND [ARGS...]\n       maas --version\n\ncommands:\n");
    for (size_t i = 0; i < sizeof s_commands / sizeof s_commands[0]; i++)
        fprintf (out, "  %-10s %s\n", s_commands[i].name, s_commands[i].summary);
    fprintf (out,
             "\n`maas COMMAND --help` describes each. Redis: --redis URL or "
             "$MAAS_REDIS_URL.\nCommands that talk to the broker take --curve-key FILE "
             "and --broker-key FILE\n(or $%s, $%s): CurveZMQ keys (docs/security.md).\n",
             MAAS_CURVE_KEY_ENV, MAAS_CURVE_BROKER_ENV);
}

int
maas_cmd_version (int argc, char **argv)
{
    const maas_options_t options = {"maas version", "usage: maas version\n\nPrints the version.\n",
                                    NULL, NULL, 0};
    int code = 0;
    if (maas_cli_options (&options, argc, argv, NULL, &code))
        return code;
    printf ("maas %d.%d.%d\n", MAAS_VERSION_MAJOR, MAAS_VERSION_MINOR, MAAS_VERSION_PATCH);
    return 0;
}

//  The first string flag of OPTIONS named FILE or COL in --help whose value
//  is "", or NULL. Such a value names something (the rows, a column); left
//  empty it would quietly mean the default (the last column) or "cannot
//  open ''".
static const maas_option_t *
s_empty_name (const maas_options_t *options)
{
    for (size_t i = 0; i < options->count; i++) {
        const maas_option_t *opt = &options->options[i];
        const char *const *value = opt->target;
        if (opt->type == MAAS_OPT_STRING && opt->value_name
            && (strcmp (opt->value_name, "FILE") == 0 || strcmp (opt->value_name, "COL") == 0)
            && *value && !**value)
            return opt;
    }
    return NULL;
}

bool
maas_cli_options (const maas_options_t *options, int argc, char **argv, int *next, int *code)
{
    maas_err_t err;
    int rc = maas_options_parse (options, argc, argv, NULL, stdout, next, &err);
    const maas_option_t *empty = rc == 0 ? s_empty_name (options) : NULL;
    if (rc < 0)
        fprintf (stderr, "%s\n", err.text);
    else if (empty) {
        fprintf (stderr, "%s: %s: give a %s, not '' (see --help)\n", options->prog, empty->flag,
                 empty->value_name);
        rc = -1;
    }
    *code = rc < 0 ? 2 : 0;
    return rc != 0;
}

//  NAME=VALUE in the environment, or NAME unset when VALUE is NULL.
static void
s_setenv (const char *name, const char *value)
{
    if (value)
        setenv (name, value, 1);
    else
        unsetenv (name);
}

//  Take "--curve-key FILE" and "--broker-key FILE" (or "--curve-key=FILE";
//  not after "--") out of ARGV (the command's own parser never sees them)
//  into the environment, where the command's env (env.h) hands them to
//  maas_cli_client: given, they replace $MAAS_CURVE_KEY and $MAAS_BROKER_KEY
//  (one flag alone unsets the other). Checked here, once, so that a bad key
//  file is a usage error (2) whatever the command. Returns 0, or 2 said.
static int
s_curve_flags (int *argc, char **argv)
{
    const char *key = NULL, *broker = NULL;
    int kept = 1, i = 1;
    for (; i < *argc && strcmp (argv[i], "--") != 0; i++) {
        const char *arg = argv[i], *eq = strchr (arg, '=');
        size_t len = eq ? (size_t) (eq - arg) : strlen (arg);
        bool is_key = len == 11 && strncmp (arg, "--curve-key", len) == 0;
        if (!is_key && !(len == 12 && strncmp (arg, "--broker-key", len) == 0))
            argv[kept++] = argv[i];
        else if (!eq && i + 1 >= *argc) {
            fprintf (stderr, "maas %s: %s needs a FILE\n", argv[0], arg);
            return 2;
        }
        else if (is_key)
            key = eq ? eq + 1 : argv[++i];
        else
            broker = eq ? eq + 1 : argv[++i];
    }
    while (i < *argc)    //  after "--" every word is the command's
        argv[kept++] = argv[i++];
    *argc = kept;
    argv[kept] = NULL;
    if (key || broker) {
        s_setenv (MAAS_CURVE_KEY_ENV, key);
        s_setenv (MAAS_CURVE_BROKER_ENV, broker);
    }
    key = getenv (MAAS_CURVE_KEY_ENV);
    broker = getenv (MAAS_CURVE_BROKER_ENV);
    if (!key && !broker)
        return 0;
    //  czmq logs to stdout, where results go: its word on a key file (or
    //  anything later) belongs on stderr.
    zsys_set_logstream (stderr);
    maas_err_t err;
    maas_curve_t *curve = maas_curve_new (key, broker, &err);
    if (!curve) {
        fprintf (stderr, "maas %s: %s (--curve-key, --broker-key or $%s, $%s)\n", argv[0], err.text,
                 MAAS_CURVE_KEY_ENV, MAAS_CURVE_BROKER_ENV);
        return 2;
    }
    maas_curve_destroy (&curve);
    return 0;
}

int
main (int argc, char **argv)
{
    if (argc == 2 && strcmp (argv[1], "--version") == 0)
        return maas_cmd_version (1, argv + 1);
    if (argc < 2 || strcmp (argv[1], "--help") == 0 || strcmp (argv[1], "-h") == 0) {
        s_usage (argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    maas_err_t err;
    if (maas_log_setup (getenv ("MAAS_LOG_LEVEL"), &err) != 0) {
        fprintf (stderr, "maas: %s\n", err.text);
        return 2;
    }
    //  A stack started by `maas up` supplies MAAS_REDIS_URL and MAAS_BROKER_FRONTEND
    //  to every command, unless the environment already names them.
    //  (Not for the stack commands themselves: they manage that file.)
    bool stack_command =
        strcmp (argv[1], "up") == 0 || strcmp (argv[1], "down") == 0 || strcmp (argv[1], "ps") == 0;
    maas_cli_env_t env = maas_cli_env ();
    char *state_dir = stack_command ? NULL : maas_cli_state_dir (&env);
    if (state_dir)
        maas_stack_load_env (state_dir, false);
    free (state_dir);
    for (size_t i = 0; i < sizeof s_commands / sizeof s_commands[0]; i++) {
        if (strcmp (argv[1], s_commands[i].name) != 0)
            continue;
        int sub_argc = argc - 1;
        if (s_commands[i].broker && s_curve_flags (&sub_argc, argv + 1) != 0)
            return 2;
        return s_commands[i].run (sub_argc, argv + 1);
    }
    fprintf (stderr, "maas: unknown command '%s' (see maas --help)\n", argv[1]);
    return 2;
}
