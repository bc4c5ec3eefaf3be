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

static const char s_usage[] =
    "usage: maas dataset put NAME FILE.csv [--label COL] [--task binary|multiclass|regression]\n"
    "                        [--chunk-bytes N] [--force]\n"
    "       maas dataset list [--json]\n"
    "       maas dataset show NAME [--json]\n"
    "       maas dataset rm NAME\n"
    "Common: --redis URL (default $MAAS_REDIS_URL or " MAAS_REDIS_URL_DEFAULT ").\n"
    "--label names the label column or gives its 0-based index (default: the last).\n"
    "--task defaults to what the labels fit: 0/1 binary, class indices multiclass,\n"
    "else regression. put refuses to replace a data set of that name with other\n"
    "contents unless --force (models name the data set and its sha256 in their lineage).\n";

typedef struct {
    const char *positional[3];    //  words that are not flags, in order
    int count;                    //  how many of them
    const char *redis;            //  --redis URL or NULL
    maas_redis_config_t where;    //  Redis: --redis, else the environment's
    const char *label;            //  --label COL or NULL
    const char *task;             //  --task NAME or NULL
    const char *chunk_bytes;      //  --chunk-bytes N or NULL
    bool json;                    //  --json
    bool force;                   //  --force: put may replace a data set
} s_args_t;

//  Parse ARGV (after the subcommand); -1 with a message on a bad flag.
static int
s_parse (int argc, char **argv, s_args_t *args)
{
    memset (args, 0, sizeof *args);
    struct {
        const char *flag;
        const char **value;
    } flags[] = {{"--redis", &args->redis},
                 {"--label", &args->label},
                 {"--task", &args->task},
                 {"--chunk-bytes", &args->chunk_bytes}};
    for (int i = 0; i < argc; i++) {
        bool known = false;
        for (size_t f = 0; f < sizeof flags / sizeof flags[0] && !known; f++)
            if (strcmp (argv[i], flags[f].flag) == 0) {
                if (i + 1 == argc) {
                    fprintf (stderr, "maas dataset: %s needs a value\n", argv[i]);
                    return -1;
                }
                *flags[f].value = argv[++i];
                known = true;
            }
        if (known)
            continue;
        if (strcmp (argv[i], "--json") == 0)
            args->json = true;
        else if (strcmp (argv[i], "--force") == 0)
            args->force = true;
        else if (argv[i][0] == '-' && argv[i][1]) {
            fprintf (stderr, "maas dataset: unknown flag %s\n%s", argv[i], s_usage);
            return -1;
        }
        else if (args->count < 3)
            args->positional[args->count++] = argv[i];
        else {
            fprintf (stderr, "maas dataset: too many arguments\n%s", s_usage);
            return -1;
        }
    }
    return 0;
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
//  already with these contents (nothing to do), -1 after saying that
//  another data set has the name and --force is needed.
static int
s_check_replace (const s_args_t *args, maas_dataset_store_t *store, const char *name,
                 const maas_dataset_t *dataset)
{
    maas_dataset_info_t info;
    if (maas_dataset_store_info (store, name, &info) != 0) {
        maas_dataset_info_clear (&info);
        return 0;    //  none of that name (or unreadable: put says why)
    }
    int rc = strcmp (info.sha256, maas_dataset_sha256_hex (dataset)) == 0 ? 1
        : args->force                                                     ? 0
                                                                          : -1;
    if (rc < 0)
        fprintf (stderr,
                 "maas dataset: data set %s exists (%zu rows, sha256 %s): give --force "
                 "to replace it, or put it under another name\n",
                 name, info.rows, info.sha256);
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
        fprintf (stderr, "maas dataset: unknown task '%s' (binary, multiclass, regression)\n",
                 args->task);
        return 2;
    }
    unsigned long long chunk_bytes = MAAS_DATASET_STORE_CHUNK_DEFAULT;
    if (args->chunk_bytes) {
        char *end;
        chunk_bytes = strtoull (args->chunk_bytes, &end, 10);
        if (*end || chunk_bytes < 4) {
            fprintf (stderr, "maas dataset: --chunk-bytes must be a number >= 4\n");
            return 2;
        }
    }
    char err[512];
    maas_dataset_t *dataset = maas_dataset_from_csv (path, args->label, task, err, sizeof err);
    if (!dataset) {
        fprintf (stderr, "maas dataset: %s\n", err);
        return 1;
    }
    maas_dataset_store_t *store = *store_p = s_store (args);
    if (store)
        maas_dataset_store_set_chunk_bytes (store, (size_t) chunk_bytes);
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
        const char *name;    //  subcommand
        int words;           //  positional words it takes, itself included
        int (*run) (const s_args_t *, maas_dataset_store_t **);
    } subs[] = {{"put", 3, s_put}, {"list", 1, s_list}, {"show", 2, s_show}, {"rm", 2, s_remove}};
    s_args_t args;
    if (argc < 2 || strcmp (argv[1], "--help") == 0 || strcmp (argv[1], "-h") == 0) {
        fputs (s_usage, argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    if (s_parse (argc - 1, argv + 1, &args) != 0)
        return 2;
    maas_cli_env_t env = maas_cli_env ();
    args.where = maas_cli_redis (&env, args.redis);
    signal (SIGPIPE, SIG_IGN);    //  a Redis that went away is an error, not a signal
    for (size_t i = 0; i < sizeof subs / sizeof subs[0]; i++) {
        if (!args.count || strcmp (args.positional[0], subs[i].name) != 0)
            continue;
        if (args.count != subs[i].words) {
            fprintf (stderr, "maas dataset %s: wrong number of arguments\n%s", subs[i].name,
                     s_usage);
            return 2;
        }
        maas_dataset_store_t *store = NULL;    //  made by run, ours to destroy
        int rc = subs[i].run (&args, &store);
        maas_dataset_store_destroy (&store);
        return rc;
    }
    fprintf (stderr, "maas dataset: unknown subcommand '%s'\n%s",
             args.count ? args.positional[0] : "", s_usage);
    return 2;
}
