/*  cmd_dataset.c: `maas dataset put|list|show|rm`: data sets in Redis from
 *  CSV files, for train jobs to name. */
#include "commands.h"
#include "output.h"
#include "env.h"
#include "maas.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char s_summary[] =
    "usage: maas dataset put NAME FILE.csv [--label COL] [--task T] [--chunk-bytes N] [--force]\n"
    "       maas dataset list [--json]\n"
    "       maas dataset show NAME [--json]\n"
    "       maas dataset rm NAME\n\n"
    "Data sets in Redis, read from CSV files, for train jobs to name (maas train --data).\n"
    "put refuses to replace a data set of that name with other contents unless --force\n"
    "(models name the data set and its sha256 in their lineage).\n\n";

static const char s_epilog[] =
    "\n--task defaults to what the labels fit: 0/1 binary, class indices multiclass,\n"
    "else regression.\n";

typedef struct {
    const char *positional[3];    //  the words that are not flags: subcommand, NAME, FILE
    int count;                    //  how many of them
    const char *redis;            //  --redis URL or NULL
    maas_redis_config_t where;    //  Redis: --redis, else the environment's
    const char *label;            //  --label COL or NULL
    const char *task;             //  --task NAME or NULL
    size_t chunk_bytes;           //  --chunk-bytes N
    bool json;                    //  --json
    bool force;                   //  --force: put may replace a data set
} s_args_t;

//  ARGV (the group's) into ARGS through the table. Returns -1 to go on,
//  else the exit code (0 after --help, 2 after a message).
static int
s_parse (int argc, char **argv, s_args_t *args)
{
    *args = (s_args_t){.chunk_bytes = MAAS_DATASET_STORE_CHUNK_DEFAULT};
    const maas_option_t table[] = {
        {"--label", NULL, MAAS_OPT_STRING, 0, 0, NULL, &args->label, "COL",
         "put: the label column, by name or 0-based index", "the last"},
        {"--task", NULL, MAAS_OPT_STRING, 0, 0, NULL, &args->task, "T",
         "put: binary, multiclass or regression", "what the labels fit"},
        {"--chunk-bytes", NULL, MAAS_OPT_UINT, 4, 536870912, NULL, &args->chunk_bytes, "N",
         "put: bytes per Redis value the data set is cut into", NULL},
        {"--force", NULL, MAAS_OPT_BOOL, 0, 0, NULL, &args->force, NULL,
         "put: replace a data set of that name with other contents", NULL},
        MAAS_CLI_OPT_JSON (&args->json, "list, show: one JSON value (docs/cli.md)"),
        MAAS_CLI_OPT_REDIS (&args->redis, "where the data sets are"),
    };
    const maas_options_t options = {"maas dataset", s_summary, s_epilog, table,
                                    sizeof table / sizeof table[0]};
    int next = 0, code = 0;
    if (maas_cli_options (&options, argc, argv, &next, &code))
        return code;
    for (int i = next; i < argc && args->count < 3; i++)
        args->positional[args->count++] = argv[i];
    if (argc - next > 3) {
        fprintf (stderr, "maas dataset: unexpected argument '%s' (see --help)\n", argv[next + 3]);
        return 2;
    }
    return -1;
}

static maas_dataset_store_t *
s_store (const s_args_t *args)
{
    maas_err_t err;
    maas_dataset_store_t *store = maas_dataset_store_open (&args->where, NULL, &err);
    if (!store)
        fprintf (stderr, "maas dataset: %s\n", err.text);
    return store;
}

//  Whether NAME may be stored as DATASET: 0 to go on, 1 if it is there
//  already exactly as it would be stored (nothing to do), -1 after saying
//  that another data set has the name and --force is needed. The sha256
//  covers the numbers; the task, label, column and class names are
//  compared apart (docs/cli.md).
static int
s_check_replace (const s_args_t *args, maas_dataset_store_t *store, const char *name,
                 const maas_dataset_t *dataset)
{
    maas_dataset_info_t info;
    if (maas_dataset_store_info (store, name, &info) != 0) {
        maas_dataset_info_clear (&info);
        return 0;    //  none of that name (or unreadable: put says why)
    }
    bool same_numbers = strcmp (info.sha256, maas_dataset_sha256_hex (dataset)) == 0;
    char diff[512] = "";
    if (same_numbers)
        maas_dataset_info_diff (&info, dataset, diff, sizeof diff);
    int rc = same_numbers && !*diff ? 1 : args->force ? 0 : -1;
    if (rc < 0)
        fprintf (stderr,
                 "maas dataset: data set %s exists (%zu rows, sha256 %s)%s%s: give --force "
                 "to replace it, or put it under another name\n",
                 name, info.rows, info.sha256, *diff ? ": same numbers, other " : "", diff);
    maas_dataset_info_clear (&info);
    return rc;
}

//  Load and check the CSV before touching Redis: a bad file changes nothing.
static int
s_put (const s_args_t *args, maas_dataset_store_t **store_p)
{
    const char *name = args->positional[1], *path = args->positional[2];
    int task = args->task ? maas_dataset_task_parse (args->task) : MAAS_DATASET_AUTO;
    if (task < 0) {
        fprintf (stderr,
                 "maas dataset: --task: unknown task '%s' (binary, multiclass, regression)\n",
                 args->task);
        return 2;
    }
    maas_err_t err;
    maas_dataset_t *dataset = maas_dataset_from_csv (path, args->label, task, &err);
    if (!dataset) {
        fprintf (stderr, "maas dataset: %s\n", err.text);
        return 1;
    }
    maas_dataset_store_t *store = *store_p = s_store (args);
    if (store)
        maas_dataset_store_set_chunk_bytes (store, args->chunk_bytes);
    int check = store ? s_check_replace (args, store, name, dataset) : -1;
    int rc = check == 0 ? maas_dataset_store_put (store, name, dataset) : check > 0 ? 0 : -1;
    if (rc == 0)
        printf ("data set %s%s: %zu rows × %zu features, %s, sha256 %s\n", name,
                check > 0 ? " unchanged" : "", maas_dataset_rows (dataset),
                maas_dataset_cols (dataset), maas_dataset_task_name (maas_dataset_task (dataset)),
                maas_dataset_sha256_hex (dataset));
    else if (store && check == 0)
        fprintf (stderr, "maas dataset: %s\n", maas_dataset_store_error (store));
    maas_dataset_destroy (&dataset);
    return rc == 0 ? 0 : 1;
}

static int
s_list (const s_args_t *args, maas_dataset_store_t **store_p)
{
    maas_dataset_store_t *store = *store_p = s_store (args);
    if (!store)
        return 1;
    zlist_t *names = maas_dataset_store_list (store);
    if (!names) {
        fprintf (stderr, "maas dataset: %s\n", maas_dataset_store_error (store));
        return 1;
    }
    if (!args->json && zlist_size (names))
        printf ("%-24s %10s %6s  %-10s %s\n", "NAME", "ROWS", "COLS", "TASK", "SHA256");
    printf ("%s", args->json ? "[" : "");
    for (const char *name = zlist_first (names); name; name = zlist_next (names)) {
        maas_dataset_info_t info;
        if (maas_dataset_store_info (store, name, &info) != 0)
            continue;    //  removed meanwhile
        if (args->json) {
            printf ("%s{\"name\":", name == zlist_head (names) ? "" : ",");
            maas_json_string (stdout, name);
            printf (",\"rows\":%zu,\"cols\":%zu,\"task\":\"%s\",\"sha256\":\"%s\"}", info.rows,
                    info.cols, maas_dataset_task_name (info.task), info.sha256);
        }
        else
            printf ("%-24s %10zu %6zu  %-10s %.16s\n", name, info.rows, info.cols,
                    maas_dataset_task_name (info.task), info.sha256);
        maas_dataset_info_clear (&info);
    }
    printf ("%s", args->json ? "]\n" : "");
    zlist_destroy (&names);
    return 0;
}

static void
s_show_json (const maas_dataset_info_t *info)
{
    printf ("{\"name\":");
    maas_json_string (stdout, info->name);
    printf (",\"rows\":%zu,\"cols\":%zu,\"task\":\"%s\",\"classes\":%zu,\"label\":", info->rows,
            info->cols, maas_dataset_task_name (info->task), info->classes);
    maas_json_string (stdout, info->label);
    printf (",\"sha256\":\"%s\",\"chunks\":%zu,\"created_ms\":%llu,\"columns\":[", info->sha256,
            info->chunks, (unsigned long long) info->created_ms);
    for (size_t c = 0; c < info->cols; c++) {
        printf ("%s", c ? "," : "");
        maas_json_string (stdout, info->columns[c]);
    }
    printf ("]}\n");
}

static void
s_show_text (const maas_dataset_info_t *info)
{
    char created[64];
    time_t seconds = (time_t) (info->created_ms / 1000);
    struct tm tm;
    strftime (created, sizeof created, "%Y-%m-%d %H:%M:%S UTC", gmtime_r (&seconds, &tm));
    printf ("name     %s\nrows     %zu\ncols     %zu\n", info->name, info->rows, info->cols);
    if (info->classes)
        printf ("task     %s (%zu classes)\n", maas_dataset_task_name (info->task), info->classes);
    else
        printf ("task     %s\n", maas_dataset_task_name (info->task));
    printf ("label    %s\nsha256   %s\nchunks   %zu\ncreated  %s\ncolumns  ", info->label,
            info->sha256, info->chunks, created);
    for (size_t c = 0; c < info->cols; c++)
        printf ("%s%s", c ? ", " : "", info->columns[c]);
    printf ("\n");
}

static int
s_show (const s_args_t *args, maas_dataset_store_t **store_p)
{
    maas_dataset_store_t *store = *store_p = s_store (args);
    if (!store)
        return 1;
    maas_dataset_info_t info;
    if (maas_dataset_store_info (store, args->positional[1], &info) != 0) {
        fprintf (stderr, "maas dataset: %s\n", maas_dataset_store_error (store));
        return 1;
    }
    if (args->json)
        s_show_json (&info);
    else
        s_show_text (&info);
    maas_dataset_info_clear (&info);
    return 0;
}

static int
s_remove (const s_args_t *args, maas_dataset_store_t **store_p)
{
    maas_dataset_store_t *store = *store_p = s_store (args);
    if (!store)
        return 1;
    if (maas_dataset_store_remove (store, args->positional[1]) != 0) {
        fprintf (stderr, "maas dataset: %s\n", maas_dataset_store_error (store));
        return 1;
    }
    printf ("data set %s removed\n", args->positional[1]);
    return 0;
}

int
maas_cmd_dataset (int argc, char **argv)
{
    static const struct {
        const char *name;     //  subcommand
        int words;            //  positional words it takes, itself included
        const char *needs;    //  what to say when they are not that many
        int (*run) (const s_args_t *, maas_dataset_store_t **);
    } subs[] = {{"put", 3, "give NAME and FILE.csv", s_put},
                {"list", 1, "takes no NAME", s_list},
                {"show", 2, "give one NAME", s_show},
                {"rm", 2, "give one NAME", s_remove}};
    s_args_t args;
    int code = s_parse (argc, argv, &args);
    if (code >= 0)
        return code;
    if (!args.count) {
        fprintf (stderr, "maas dataset: give a subcommand: put, list, show or rm (see --help)\n");
        return 2;
    }
    maas_cli_env_t env = maas_cli_env ();
    args.where = maas_cli_redis (&env, args.redis);
    signal (SIGPIPE, SIG_IGN);    //  a Redis that went away is an error, not a signal
    for (size_t i = 0; i < sizeof subs / sizeof subs[0]; i++) {
        if (strcmp (args.positional[0], subs[i].name) != 0)
            continue;
        if (args.count != subs[i].words) {
            fprintf (stderr, "maas dataset %s: %s (see --help)\n", subs[i].name, subs[i].needs);
            return 2;
        }
        maas_dataset_store_t *store = NULL;    //  made by run, ours to destroy
        int rc = subs[i].run (&args, &store);
        maas_dataset_store_destroy (&store);
        return rc;
    }
    fprintf (stderr, "maas dataset: unknown subcommand '%s' (put, list, show, rm)\n",
             args.positional[0]);
    return 2;
}
