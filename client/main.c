/*  main.c: `maas`, the command line over libmaas. Dispatches the first word
 *  to a command group; each group parses its own flags. */
#include "commands.h"
#include "stack.h"
#include "maas.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const maas_cmd_t s_commands[] = {
    {"up", maas_cmd_up, "start a local stack (redis, broker, workers, trainers)"},
    {"down", maas_cmd_down, "stop the local stack"},
    {"ps", maas_cmd_ps, "list the local stack's processes"},
    {"dataset", maas_cmd_dataset, "data sets in Redis: put FILE.csv, list, show, rm"},
    {"train", maas_cmd_train, "train a model on a data set as a train job [--wait]"},
    {"model", maas_cmd_model, "the model registry: publish, import, list, show, alias, rm, export"},
    {"infer", maas_cmd_infer, "predictions for rows (CSV or JSON) from a model through a broker"},
    {"explain", maas_cmd_explain, "attributions of rows' predictions to their features"},
    {"score", maas_cmd_score, "fan-out batch scoring of a CSV or .npy file"},
    {"job", maas_cmd_job, "one job: status, progress, timings, worker, error, result"},
    {"jobs", maas_cmd_jobs, "recent jobs [--status S]"},
    {"cancel", maas_cmd_cancel, "cancel jobs by id"},
    {"status", maas_cmd_status, "brokers' job counts and workers, or jobs by id"},
    {"synth", maas_cmd_synth, "write the synthetic benchmark data set"},
    {"keygen", maas_cmd_keygen, "write a CurveZMQ key pair NAME, NAME_secret [--role R]"},
    {"version", maas_cmd_version, "print the maas version"},
};

static void
s_usage (FILE *out)
{
    fprintf (out, "usage: maas COMMAND [ARGS...]\n       maas --version\n\ncommands:\n");
    for (size_t i = 0; i < sizeof s_commands / sizeof s_commands[0]; i++)
        fprintf (out, "  %-10s %s\n", s_commands[i].name, s_commands[i].summary);
    fprintf (out, "\n`maas COMMAND --help` describes each. Redis: --redis URL or "
                  "$MAAS_REDIS_URL.\n");
}

int
maas_cmd_version (int argc, char **argv)
{
    printf ("maas %d.%d.%d\n", MAAS_VERSION_MAJOR, MAAS_VERSION_MINOR, MAAS_VERSION_PATCH);
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
    char err[256];
    if (maas_log_setup (err, sizeof err) != 0) {
        fprintf (stderr, "maas: %s\n", err);
        return 2;
    }
    //  A stack started by `maas up` supplies MAAS_REDIS_URL and MAAS_BROKER_FRONTEND
    //  to every command, unless the environment already names them.
    //  (Not for the stack commands themselves: they manage that file.)
    bool stack_command = strcmp (argv[1], "up") == 0 || strcmp (argv[1], "down") == 0
                      || strcmp (argv[1], "ps") == 0;
    char *state_dir = stack_command ? NULL : maas_stack_default_dir ();
    if (state_dir)
        maas_stack_load_env (state_dir, false);
    free (state_dir);
    for (size_t i = 0; i < sizeof s_commands / sizeof s_commands[0]; i++)
        if (strcmp (argv[1], s_commands[i].name) == 0)
            return s_commands[i].run (argc - 1, argv + 1);
    fprintf (stderr, "maas: unknown command '%s' (see maas --help)\n", argv[1]);
    return 2;
}
