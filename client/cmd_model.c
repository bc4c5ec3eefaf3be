/*  cmd_model.c: `maas model ...`, the model registry from the command line:
 *  publish, import, list, show, versions, alias, history, describe, tag,
 *  search, rm, export, threshold (import and export to ONNX are in
 *  cmd_import.c).
 *  Tables for people, --json for scripts (one JSON document on stdout). */
#include "commands.h"
#include "output.h"
#include "env.h"
#include "maas.h"

#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define S_WORDS_MAX 1024    //  words after tag or untag

typedef struct {
    const char *redis;            //  --redis URL, NULL: $MAAS_REDIS_URL or default
    const char *prefix;           //  --prefix, NULL: "maas:"
    bool json;                    //  --json
    bool force;                   //  --force (rm)
    const char *format;           //  --format (export): maas (default) or onnx
    maas_registry_meta_t meta;    //  --job, --tags, --description, --metrics (publish)
    maas_cmd_signature_t sig;     //  --labels, --input-scale, --output-name (publish, import)
    const char *glob;             //  --name GLOB (search)
    maas_opt_list_t tags;         //  --tag KEY=VALUE (search), borrowed
    const char *verb;             //  the first positional word, NULL if none
    const char *const *args;      //  positional arguments after the verb, borrowed from argv
    int nargs;                    //  how many
    uint64_t version;             //  alias's VER, rm's NAME@VER (0: the model), checked
    double threshold;             //  threshold's P (0: none), checked
} s_opts_t;

static const char s_usage[] =
    "usage: maas model COMMAND [--redis URL] [--prefix P] [--json]\n"
    "  publish NAME FILE [--job ID] [--tags T] [--description D] [--metrics JSON]\n"
    "                               store FILE as the next version of NAME\n"
    "  import NAME FILE [--tags T] [--description D]\n"
    "                               publish a Keras .h5/.keras or ONNX file as a version\n"
    "    publish and import also take [--labels A,B,C] [--input-scale X] [--output-name N]:\n"
    "    class labels, a scaling of every input (1/255: 0.00392156862745098), the output's name\n"
    "  threshold NAME[@VER|@ALIAS] P|none\n"
    "                               a binary version's decision threshold (class 1 when p >= P)\n"
    "  list                         every model: latest version, aliases\n"
    "  search [--name GLOB] [--tag KEY=VALUE]...  models by name and tags\n"
    "  show NAME[@VER|@ALIAS]       one version's metadata and lineage (latest by default)\n"
    "  versions NAME                every version: created, hashes, metrics, aliases\n"
    "  alias NAME ALIAS VER         point ALIAS (production, staging, ...) at VER\n"
    "  unalias NAME ALIAS           remove ALIAS\n"
    "  history NAME ALIAS           every move of ALIAS: when, who, from, to\n"
    "  describe NAME[@VER] TEXT     set the description of the model (or a version)\n"
    "  tag NAME[@VER] KEY=VALUE...  set tags on the model (or a version)\n"
    "  untag NAME[@VER] KEY...      remove tags\n"
    "  rm NAME@VER [--force]        delete a version (--force: even if aliased)\n"
    "  rm NAME [--force]            delete the model: versions, aliases, tags, name\n"
    "  export NAME[@VER|@ALIAS] FILE [--format maas|onnx]\n"
    "                               write the version's blob (or ONNX, opset 13) to FILE\n"
    "NAME@VER may also be NAME/VER, models:/NAME/VER or models:/NAME@ALIAS.\n"
    "Flags and words may come in any order; after -- every word is a word.\n\n"
    "options:\n";

//  A bad command line that is not a flag's: one line, exit 2.
static int
s_usage_error (const char *why)
{
    fprintf (stderr, "maas model: %s (see --help)\n", why);
    return 2;
}

//  Read ARGV (ARGV[0] "model") into OPTS: every flag of every verb in one
//  table, the positional words (the verb first) to OPTS->args. true when
//  the command ends here with exit *CODE (--help, or a bad flag said).
static bool
s_parse (s_opts_t *opts, int argc, char **argv, int *code)
{
    memset (opts, 0, sizeof *opts);
    opts->format = "maas";
    const maas_option_t table[] = {
        MAAS_CLI_OPT_REDIS (&opts->redis, "the registry"),
        MAAS_CLI_OPT_PREFIX (&opts->prefix),
        MAAS_CLI_OPT_JSON (&opts->json, "one JSON document on stdout"),
        {"--job", NULL, MAAS_OPT_STRING, 0, 0, NULL, &opts->meta.job_id, "ID",
         "publish: the train job (publish is idempotent on it)", NULL},
        {"--tags", NULL, MAAS_OPT_STRING, 0, 0, NULL, &opts->meta.tags, "T",
         "publish, import: free-form labels of the version", NULL},
        {"--description", NULL, MAAS_OPT_STRING, 0, 0, NULL, &opts->meta.description, "D",
         "publish, import: the version's description", NULL},
        {"--metrics", NULL, MAAS_OPT_STRING, 0, 0, NULL, &opts->meta.metrics, "JSON",
         "publish: metrics object, else the model's own", NULL},
        {"--labels", NULL, MAAS_OPT_STRING, 0, 0, NULL, &opts->sig.labels, "A,B,C",
         "publish, import: one label per class", NULL},
        {"--input-scale", NULL, MAAS_OPT_DOUBLE, 1e-30, 1e30, NULL, &opts->sig.input_scale, "X",
         "publish, import: every input is multiplied by X", "the file's own"},
        {"--output-name", NULL, MAAS_OPT_STRING, 0, 0, NULL, &opts->sig.output_name, "N",
         "publish, import: the output's name", NULL},
        {"--name", NULL, MAAS_OPT_STRING, 0, 0, NULL, &opts->glob, "GLOB",
         "search: models whose name matches GLOB", "every name"},
        {"--tag", NULL, MAAS_OPT_LIST, 0, 0, NULL, &opts->tags, "KEY=VALUE",
         "search: models with this tag (repeatable)", NULL},
        {"--force", NULL, MAAS_OPT_BOOL, 0, 0, NULL, &opts->force, NULL,
         "rm: even an aliased version or model", NULL},
        {"--format", NULL, MAAS_OPT_CHOICE, 0, 0, "maas|onnx", &opts->format, "F",
         "export: maas (the blob) or onnx", NULL},
    };
    const maas_options_t options = {"maas model", s_usage, NULL, table,
                                    sizeof table / sizeof table[0]};
    int next = 0;
    if (maas_cli_options (&options, argc, argv, &next, code))
        return true;
    opts->verb = next < argc ? argv[next] : NULL;
    opts->args = (const char *const *) argv + (next < argc ? next + 1 : argc);
    opts->nargs = next < argc ? argc - next - 1 : 0;
    return false;
}

//  Print METRICS as JSON: the object as stored when it looks like one,
//  else as a string (it came from outside).
static void
s_json_metrics (const char *metrics)
{
    size_t len = strlen (metrics);
    if (len >= 2 && metrics[0] == '{' && metrics[len - 1] == '}' && !strpbrk (metrics, "\n\r"))
        fputs (metrics, stdout);
    else if (len == 0)
        fputs ("{}", stdout);
    else
        maas_json_string (stdout, metrics);
}

static void
s_time_text (int64_t ms, char *out, size_t size)
{
    time_t secs = (time_t) (ms / 1000);
    struct tm tm;
    if (ms <= 0 || !gmtime_r (&secs, &tm) || !strftime (out, size, "%Y-%m-%d %H:%M:%S", &tm))
        snprintf (out, size, "-");
}

//  The registry at --redis (else the environment's), moves recorded as
//  ENV's $USER@host.
static maas_registry_t *
s_connect (const s_opts_t *opts, const maas_cli_env_t *env)
{
    maas_redis_config_t where = maas_cli_redis (env, opts->redis);
    maas_err_t err;
    maas_registry_t *reg = maas_registry_open (&where, opts->prefix, &err);
    if (!reg)
        fprintf (stderr, "maas model: %s\n", err.text);
    else
        maas_registry_set_user (reg, env->user);
    return reg;
}

static int
s_fail (maas_registry_t *reg)
{
    fprintf (stderr, "maas model: %s\n", maas_registry_error (reg));
    return 1;
}

//  Resolve "name[@ref]" into REF and *VERSION. 0, or 1 after reporting.
static int
s_resolve (maas_registry_t *reg, const char *spec, maas_registry_ref_t *ref, uint64_t *version)
{
    maas_err_t err;
    if (maas_registry_ref_parse (ref, spec, &err) != 0) {
        fprintf (stderr, "maas model: %s\n", err.text);
        return 1;
    }
    return maas_registry_resolve (reg, ref->name, ref->ref, version) == 0 ? 0 : s_fail (reg);
}

//  Read all of PATH into *DATA (caller frees). 0, or 1 after reporting.
static int
s_read_file (const char *path, uint8_t **data, size_t *size)
{
    FILE *file = fopen (path, "rb");
    long len = -1;
    if (file && fseek (file, 0, SEEK_END) == 0)
        len = ftell (file);
    if (!file || len < 0 || fseek (file, 0, SEEK_SET) != 0) {
        fprintf (stderr, "maas model: cannot read %s: %s\n", path, strerror (errno));
        if (file)
            fclose (file);
        return 1;
    }
    *data = malloc (len ? (size_t) len : 1);
    *size = *data ? fread (*data, 1, (size_t) len, file) : 0;
    fclose (file);
    if (!*data || *size != (size_t) len) {
        fprintf (stderr, "maas model: cannot read %s (%ld bytes)\n", path, len);
        free (*data);
        return 1;
    }
    return 0;
}

//  *BLOB re-encoded with the --labels, --input-scale, --output-name given
//  (the weights untouched). 0, or 1 after saying why (*BLOB freed).
static int
s_with_signature (const s_opts_t *opts, uint8_t **blob, size_t *size)
{
    maas_err_t why;
    maas_model_t *model = maas_model_decode (*blob, *size, &why);
    free (*blob);
    *blob = NULL;
    int rc = model ? maas_cmd_signature_apply (model, &opts->sig) : -1;
    if (!model)
        fprintf (stderr, "maas model: %s: %s\n", opts->args[1], why.text);
    else if (rc == 0 && (rc = maas_model_encode (model, blob, size, &why)) != 0)
        fprintf (stderr, "maas model: %s: %s\n", opts->args[1], why.text);
    maas_model_destroy (&model);
    return rc == 0 ? 0 : 1;
}

static int
s_publish (maas_registry_t *reg, s_opts_t *opts)
{
    uint8_t *blob;
    size_t size;
    if (s_read_file (opts->args[1], &blob, &size) != 0
        || (maas_cmd_signature_given (&opts->sig) && s_with_signature (opts, &blob, &size) != 0))
        return 1;
    uint64_t version = 0;
    bool created = false;
    int rc =
        maas_registry_publish (reg, opts->args[0], blob, size, &opts->meta, &version, &created);
    free (blob);
    if (rc != 0)
        return s_fail (reg);
    if (opts->json) {
        printf ("{\"model\":");
        maas_json_string (stdout, opts->args[0]);
        printf (",\"version\":%" PRIu64 ",\"created\":%s}\n", version, created ? "true" : "false");
    }
    else
        printf ("%s@%" PRIu64 "%s\n", opts->args[0], version,
                created ? "" : " (already published by this job)");
    return 0;
}

static int
s_import (maas_registry_t *reg, s_opts_t *opts)
{
    return maas_cmd_model_import (reg, opts->args[0], opts->args[1], &opts->meta, &opts->sig,
                                  opts->json);
}

//  Print "a=1,b=2" (a registry pairs text) as JSON object members, the
//  values as numbers when NUMERIC, else as strings.
static void
s_json_pairs (const char *text, bool numeric)
{
    char *pairs = strdup (text), *save = NULL;
    const char *sep = "";
    putchar ('{');
    for (char *pair = pairs ? strtok_r (pairs, ",", &save) : NULL; pair;
         pair = strtok_r (NULL, ",", &save)) {
        char *eq = strchr (pair, '=');
        if (!eq)
            continue;
        *eq = 0;
        printf ("%s", sep);
        maas_json_string (stdout, pair);
        putchar (':');
        if (numeric)
            fputs (eq + 1, stdout);
        else
            maas_json_string (stdout, eq + 1);
        sep = ",";
    }
    putchar ('}');
    free (pairs);
}

static void
s_models_json (const maas_registry_model_t *models, size_t count)
{
    printf ("[");
    for (size_t i = 0; i < count; i++) {
        printf ("%s{\"name\":", i ? "," : "");
        maas_json_string (stdout, models[i].name);
        printf (",\"latest\":%" PRIu64 ",\"versions\":%zu,\"updated_ms\":%" PRId64
                ",\"sha256\":\"%s\",\"weights_sha256\":\"%s\",\"aliases\":",
                models[i].latest, models[i].versions, models[i].updated_ms, models[i].sha256,
                models[i].weights_sha256);
        s_json_pairs (models[i].aliases, true);
        printf (",\"tags\":");
        s_json_pairs (models[i].tags, false);
        printf (",\"description\":");
        maas_json_string (stdout, models[i].description);
        printf ("}");
    }
    printf ("]\n");
}

//  A hash shortened for a table: its first 12 digits, or "-".
static const char *
s_short_hash (const char *hex, char out[13])
{
    snprintf (out, 13, "%.12s", *hex ? hex : "-");
    return out;
}

//  `list` and `search`: MODELS (taken) as a table or JSON.
static int
s_print_models (maas_registry_model_t *models, size_t count, bool json)
{
    if (json)
        s_models_json (models, count);
    else {
        printf ("%-24s %-7s %-8s %-19s %-12s %-12s %-28s %s\n", "NAME", "LATEST", "VERSIONS",
                "UPDATED", "SHA256", "WEIGHTS", "ALIASES", "DESCRIPTION");
        for (size_t i = 0; i < count; i++) {
            char when[32], sha[13], weights[13];
            s_time_text (models[i].updated_ms, when, sizeof when);
            printf ("%-24s %-7" PRIu64 " %-8zu %-19s %-12s %-12s %-28s %s\n", models[i].name,
                    models[i].latest, models[i].versions, when,
                    s_short_hash (models[i].sha256, sha),
                    s_short_hash (models[i].weights_sha256, weights),
                    *models[i].aliases ? models[i].aliases : "-", models[i].description);
        }
    }
    maas_registry_models_free (&models, count);
    return 0;
}

static int
s_list (maas_registry_t *reg, s_opts_t *opts)
{
    maas_registry_model_t *models;
    size_t count;
    if (maas_registry_list (reg, &models, &count) != 0)
        return s_fail (reg);
    return s_print_models (models, count, opts->json);
}

static int
s_search (maas_registry_t *reg, s_opts_t *opts)
{
    maas_registry_model_t *models;
    size_t count;
    if (maas_registry_search (reg, opts->glob, opts->tags.items, opts->tags.count, &models, &count)
        != 0)
        return s_fail (reg);
    return s_print_models (models, count, opts->json);
}

//  The version's model, decoded (caller destroys), or NULL after reporting.
static maas_model_t *
s_fetch_model (maas_registry_t *reg, const char *name, uint64_t version)
{
    uint8_t *blob;
    size_t size;
    if (maas_registry_fetch (reg, name, version, &blob, &size, NULL) != 0) {
        s_fail (reg);
        return NULL;
    }
    maas_err_t why;
    maas_model_t *model = maas_model_decode (blob, size, &why);
    free (blob);
    if (!model)
        fprintf (stderr, "maas model: %s@%" PRIu64 ": %s\n", name, version, why.text);
    return model;
}

//  The metric a version was tested with, labelled with its rows: the
//  trainer's val_/train_ names with "metric_rows", or the old unlabelled
//  "accuracy" / "rmse". Key into KEY ("" if none), *VALUE, *ROWS (-1:
//  not recorded).
static void
s_test_metric (const maas_model_t *model, const char **key, double *value, int64_t *rows)
{
    static const char *const names[] = {"val_accuracy", "train_accuracy", "val_rmse",
                                        "train_rmse",   "accuracy",       "rmse"};
    *key = "";
    *rows = -1;
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (maas_model_meta_number (model, names[i], value) == 0) {
            *key = names[i];
            break;
        }
    if (maas_model_meta_int (model, "metric_rows", rows) != 0)
        *rows = -1;
}

static void
s_meta_value_json (const maas_meta_entry_t *entry)
{
    if (entry->type == MAAS_META_STR)
        maas_json_string (stdout, entry->str);
    else if (entry->type == MAAS_META_INT)
        printf ("%" PRId64, entry->integer);
    else
        printf ("%.17g", entry->number);
}

//  ,"signature":{...} of MODEL: inputs, outputs, classes, pre-processing.
static void
s_signature_json (const maas_model_t *model)
{
    const maas_mlp_t *mlp = maas_model_mlp_const (model);
    printf (",\"signature\":{\"dtype\":\"float32\",\"inputs\":%zu,\"outputs\":%zu,"
            "\"output_name\":",
            maas_mlp_inputs (mlp), maas_mlp_outputs (mlp));
    maas_json_string (stdout, maas_model_output_name (model));
    printf (",\"task\":\"%s\",\"labels\":", maas_task_name (maas_model_task (model)));
    size_t classes = maas_model_classes (model);
    char buf[24];
    if (!classes)
        printf ("null");
    for (size_t k = 0; k < classes; k++) {
        printf ("%s", k ? "," : "[");
        maas_json_string (stdout, maas_model_label (model, k, buf));
    }
    printf ("%s,\"labels_stored\":%s,\"input_scale\":%.17g,\"standardized\":%s}",
            classes ? "]" : "", maas_model_labels (model) ? "true" : "false",
            maas_model_input_scale (model), maas_mlp_norm_mean (mlp) ? "true" : "false");
}

//  ,"lineage":{metadata},"columns":[...],"signature":{...},"test_metric":{...} of MODEL.
static void
s_lineage_json (const maas_model_t *model)
{
    printf (",\"lineage\":{");
    for (size_t i = 0; i < maas_model_meta_count (model); i++) {
        maas_meta_entry_t entry = maas_model_meta_at (model, i);
        printf ("%s", i ? "," : "");
        maas_json_string (stdout, entry.key);
        putchar (':');
        s_meta_value_json (&entry);
    }
    printf ("},\"columns\":");
    const char *const *columns = maas_model_columns (model);
    size_t inputs = maas_mlp_inputs (maas_model_mlp_const (model));
    if (!columns)
        printf ("null");
    for (size_t i = 0; columns && i < inputs; i++) {
        printf ("%s", i ? "," : "[");
        maas_json_string (stdout, columns[i]);
    }
    printf ("%s", columns ? "]" : "");
    s_signature_json (model);
    printf (",\"test_metric\":");
    const char *key;
    double value;
    int64_t rows;
    s_test_metric (model, &key, &value, &rows);
    if (!*key)
        printf ("null");
    else if (rows < 0)
        printf ("{\"name\":\"%s\",\"value\":%.17g,\"rows\":null}", key, value);
    else
        printf ("{\"name\":\"%s\",\"value\":%.17g,\"rows\":%" PRId64 "}", key, value, rows);
}

static void
s_show_json (const maas_registry_info_t *info, const maas_model_t *model)
{
    printf ("{\"name\":");
    maas_json_string (stdout, info->name);
    printf (",\"version\":%" PRIu64 ",\"format\":%d,\"inputs\":%zu,\"outputs\":%zu,"
            "\"bytes\":%zu,\"sha256\":\"%s\",\"weights_sha256\":\"%s\",\"created_ms\":%" PRId64
            ",\"job_id\":",
            info->version, info->format, info->inputs, info->outputs, info->blob_size, info->sha256,
            info->weights_sha256, info->created_ms);
    maas_json_string (stdout, info->job_id);
    printf (",\"tags\":");
    maas_json_string (stdout, info->tags);
    printf (",\"tag_values\":");
    s_json_pairs (info->kv_tags, false);
    printf (",\"description\":");
    maas_json_string (stdout, info->description);
    printf (",\"aliases\":[");
    char *aliases = strdup (info->aliases), *save = NULL;
    const char *sep = "";
    for (char *a = aliases ? strtok_r (aliases, ",", &save) : NULL; a;
         a = strtok_r (NULL, ",", &save)) {
        printf ("%s\"%s\"", sep, a);
        sep = ",";
    }
    free (aliases);
    printf ("],\"threshold\":");
    if (info->threshold > 0)
        printf ("%.9g", info->threshold);
    else
        printf ("null");
    printf (",\"metrics\":");
    s_json_metrics (info->metrics);
    s_lineage_json (model);
    printf ("}\n");
}

//  The signature lines of `show`: outputs, classes, pre-processing.
static void
s_signature_table (const maas_model_t *model)
{
    const maas_mlp_t *mlp = maas_model_mlp_const (model);
    printf ("signature    float32 [-1, %zu] -> %s float32 [-1, %zu] (%s)\n", maas_mlp_inputs (mlp),
            maas_model_output_name (model), maas_mlp_outputs (mlp),
            maas_task_name (maas_model_task (model)));
    size_t classes = maas_model_classes (model);
    char buf[24];
    printf ("classes     ");
    for (size_t k = 0; k < classes; k++)
        printf ("%s%s", k ? "," : " ", maas_model_label (model, k, buf));
    printf ("%s\n",
            !classes                        ? " - (regression)"
                : maas_model_labels (model) ? ""
                                            : " (numbered: no labels stored)");
    printf ("preprocess   %s",
            maas_mlp_norm_mean (maas_model_mlp_const (model)) ? "standardise (x - mean) / std"
                                                              : "no standardisation");
    if (maas_model_input_scale (model) != 1.0)
        printf (", after x * %.9g", maas_model_input_scale (model));
    printf ("\n");
}

//  The lineage lines of `show`: the test metric, then every metadata entry.
static void
s_lineage_table (const maas_model_t *model)
{
    const char *key;
    double value;
    int64_t rows;
    s_test_metric (model, &key, &value, &rows);
    if (!*key)
        printf ("test metric  -\n");
    else if (rows < 0)
        printf ("test metric  %s %.6g (rows not recorded)\n", key, value);
    else
        printf ("test metric  %s %.6g on %" PRId64 " %s rows\n", key, value, rows,
                strncmp (key, "train_", 6) == 0 ? "training" : "validation");
    const char *const *columns = maas_model_columns (model);
    size_t inputs = maas_mlp_inputs (maas_model_mlp_const (model));
    printf ("columns     ");
    for (size_t i = 0; i < inputs && columns; i++)
        printf ("%s%s", i ? "," : " ", columns[i]);
    printf ("%s\n", columns ? "" : " - (inputs by position)");
    s_signature_table (model);
    printf ("lineage\n");
    for (size_t i = 0; i < maas_model_meta_count (model); i++) {
        maas_meta_entry_t entry = maas_model_meta_at (model, i);
        printf ("  %-22s ", entry.key);
        if (entry.type == MAAS_META_STR)
            printf ("%s\n", entry.str);
        else if (entry.type == MAAS_META_INT)
            printf ("%" PRId64 "\n", entry.integer);
        else
            printf ("%.6g\n", entry.number);
    }
}

static void
s_show_table (const maas_registry_info_t *info, const maas_model_t *model)
{
    char when[32];
    s_time_text (info->created_ms, when, sizeof when);
    printf ("model        %s@%" PRIu64 "\n", info->name, info->version);
    printf ("aliases      %s\n", *info->aliases ? info->aliases : "-");
    printf ("format       %d\n", info->format);
    printf ("shape        %zu inputs -> %zu outputs\n", info->inputs, info->outputs);
    printf ("size         %zu bytes\n", info->blob_size);
    printf ("sha256       %s\n", info->sha256);
    printf ("weights      %s\n", *info->weights_sha256 ? info->weights_sha256 : "-");
    printf ("created      %s UTC\n", when);
    printf ("train job    %s\n", *info->job_id ? info->job_id : "-");
    printf ("tags         %s\n", *info->kv_tags ? info->kv_tags : "-");
    if (*info->tags)
        printf ("labels       %s\n", info->tags);
    printf ("metrics      %s\n", *info->metrics ? info->metrics : "-");
    printf ("description  %s\n", *info->description ? info->description : "-");
    if (maas_model_task (model) == MAAS_TASK_BINARY
        && maas_mlp_outputs (maas_model_mlp_const (model)) == 1)
        printf ("threshold    %.9g%s\n", info->threshold > 0 ? info->threshold : 0.5,
                info->threshold > 0 ? "" : " (default)");
    s_lineage_table (model);
}

static int
s_show (maas_registry_t *reg, s_opts_t *opts)
{
    maas_registry_ref_t ref;
    uint64_t version;
    if (s_resolve (reg, opts->args[0], &ref, &version) != 0)
        return 1;
    maas_registry_info_t info;
    if (maas_registry_info (reg, ref.name, version, &info) != 0)
        return s_fail (reg);
    maas_model_t *model = s_fetch_model (reg, ref.name, version);
    if (model && opts->json)
        s_show_json (&info, model);
    else if (model)
        s_show_table (&info, model);
    maas_registry_info_clear (&info);
    int rc = model ? 0 : 1;
    maas_model_destroy (&model);
    return rc;
}

//  One row of `versions`.
static void
s_version_row (const maas_registry_info_t *info, bool json, bool first)
{
    if (json) {
        printf ("%s{\"version\":%" PRIu64 ",\"created_ms\":%" PRId64
                ",\"sha256\":\"%s\",\"weights_sha256\":\"%s\",\"metrics\":",
                first ? "" : ",", info->version, info->created_ms, info->sha256,
                info->weights_sha256);
        s_json_metrics (info->metrics);
        printf (",\"aliases\":");
        maas_json_string (stdout, info->aliases);
        printf ("}");
        return;
    }
    char when[32], sha[13], weights[13];
    s_time_text (info->created_ms, when, sizeof when);
    printf ("%-8" PRIu64 " %-19s %-12s %-12s %-20s %s\n", info->version, when,
            s_short_hash (info->sha256, sha), s_short_hash (info->weights_sha256, weights),
            *info->aliases ? info->aliases : "-", *info->metrics ? info->metrics : "-");
}

static int
s_versions (maas_registry_t *reg, s_opts_t *opts)
{
    uint64_t *versions;
    size_t count;
    if (maas_registry_versions (reg, opts->args[0], &versions, &count) != 0)
        return s_fail (reg);
    if (opts->json) {
        printf ("{\"model\":");
        maas_json_string (stdout, opts->args[0]);
        printf (",\"versions\":[");
    }
    else
        printf ("%-8s %-19s %-12s %-12s %-20s %s\n", "VERSION", "CREATED", "SHA256", "WEIGHTS",
                "ALIASES", "METRICS");
    int rc = 0;
    for (size_t i = 0; i < count && rc == 0; i++) {
        maas_registry_info_t info;
        rc = maas_registry_info (reg, opts->args[0], versions[i], &info) != 0 ? s_fail (reg) : 0;
        if (rc == 0)
            s_version_row (&info, opts->json, i == 0);
        maas_registry_info_clear (&info);
    }
    if (opts->json)
        printf ("]}\n");
    free (versions);
    return rc;
}

//  TEXT as a version number (1, 2, ...: digits only, no sign, no
//  overflow) into *VERSION. 0, or -1.
static int
s_version_number (const char *text, uint64_t *version)
{
    if (!*text || strspn (text, "0123456789") != strlen (text))
        return -1;
    char *end;
    errno = 0;
    unsigned long long parsed = strtoull (text, &end, 10);
    if (errno || *end || parsed == 0)
        return -1;
    *version = parsed;
    return 0;
}

//  A usage error naming the argument: "VERB: WHAT 'TEXT' is not NEED".
static int
s_bad_argument (const char *verb, const char *what, const char *text, const char *need)
{
    fprintf (stderr, "maas model: %s: %s '%s' is not %s (see --help)\n", verb, what, text, need);
    return 2;
}

static int
s_alias (maas_registry_t *reg, s_opts_t *opts)
{
    uint64_t version = opts->version;
    if (maas_registry_alias (reg, opts->args[0], opts->args[1], version) != 0)
        return s_fail (reg);
    if (opts->json)
        printf ("{\"model\":\"%s\",\"alias\":\"%s\",\"version\":%" PRIu64 "}\n", opts->args[0],
                opts->args[1], version);
    else
        printf ("%s@%s -> %" PRIu64 "\n", opts->args[0], opts->args[1], version);
    return 0;
}

static int
s_unalias (maas_registry_t *reg, s_opts_t *opts)
{
    if (maas_registry_unalias (reg, opts->args[0], opts->args[1]) != 0)
        return s_fail (reg);
    if (opts->json)
        printf ("{\"model\":\"%s\",\"unaliased\":\"%s\"}\n", opts->args[0], opts->args[1]);
    else
        printf ("removed %s@%s\n", opts->args[0], opts->args[1]);
    return 0;
}

//  `maas model rm NAME`: the whole model (aliased ones only with --force),
//  each deleted version said, then the model.
static int
s_rm_all (maas_registry_t *reg, s_opts_t *opts, const char *name)
{
    uint64_t *versions = NULL;
    size_t count = 0;
    if (maas_registry_delete_model (reg, name, opts->force, &versions, &count) != 0)
        return s_fail (reg);
    if (opts->json)
        printf ("{\"model\":\"%s\",\"deleted\":[", name);
    for (size_t i = 0; i < count; i++) {
        if (opts->json)
            printf ("%s%" PRIu64, i ? "," : "", versions[i]);
        else
            printf ("deleted %s@%" PRIu64 "\n", name, versions[i]);
    }
    if (opts->json)
        printf ("]}\n");
    else
        printf ("deleted model %s\n", name);
    free (versions);
    return 0;
}

//  Parse SPEC into REF; 0, or 1 after reporting.
static int
s_parse_ref (const char *spec, maas_registry_ref_t *ref)
{
    maas_err_t err;
    if (maas_registry_ref_parse (ref, spec, &err) == 0)
        return 0;
    fprintf (stderr, "maas model: %s\n", err.text);
    return 1;
}

static int
s_rm (maas_registry_t *reg, s_opts_t *opts)
{
    maas_registry_ref_t ref;
    if (s_parse_ref (opts->args[0], &ref) != 0)
        return 1;
    uint64_t version = opts->version;    //  checked: a number, or none for the model
    if (!version)
        return s_rm_all (reg, opts, ref.name);
    if (maas_registry_delete (reg, ref.name, version, opts->force) != 0)
        return s_fail (reg);
    if (opts->json)
        printf ("{\"model\":\"%s\",\"deleted\":%" PRIu64 "}\n", ref.name, version);
    else
        printf ("deleted %s@%" PRIu64 "\n", ref.name, version);
    return 0;
}

//  The target of describe/tag/untag: NAME is the model (*VERSION 0),
//  NAME@VER or NAME@ALIAS the version it names now. 0, or 1 after reporting.
static int
s_target (maas_registry_t *reg, const char *spec, maas_registry_ref_t *ref, uint64_t *version)
{
    if (s_parse_ref (spec, ref) != 0)
        return 1;
    *version = 0;
    if (!*ref->ref)
        return 0;
    return maas_registry_resolve (reg, ref->name, ref->ref, version) == 0 ? 0 : s_fail (reg);
}

//  "iris" or "iris@3" into OUT.
static void
s_target_text (const maas_registry_ref_t *ref, uint64_t version, char *out, size_t size)
{
    if (version)
        snprintf (out, size, "%s@%" PRIu64, ref->name, version);
    else
        snprintf (out, size, "%s", ref->name);
}

//  {"model":"iris","version":3 (null for the model) of a JSON answer.
static void
s_json_target (const maas_registry_ref_t *ref, uint64_t version)
{
    printf ("{\"model\":\"%s\",\"version\":", ref->name);
    if (version)
        printf ("%" PRIu64, version);
    else
        printf ("null");
}

static int
s_describe (maas_registry_t *reg, s_opts_t *opts)
{
    maas_registry_ref_t ref;
    uint64_t version;
    if (s_target (reg, opts->args[0], &ref, &version) != 0)
        return 1;
    if (maas_registry_describe (reg, ref.name, version, opts->args[1]) != 0)
        return s_fail (reg);
    char what[MAAS_REGISTRY_NAME_MAX + 24];
    s_target_text (&ref, version, what, sizeof what);
    if (opts->json) {
        s_json_target (&ref, version);
        printf (",\"description\":");
        maas_json_string (stdout, opts->args[1]);
        printf ("}\n");
    }
    else
        printf ("described %s\n", what);
    return 0;
}

//  tag (SET) or untag: each of args[1..] on the target, said one per line.
static int
s_tag_each (maas_registry_t *reg, s_opts_t *opts, bool set)
{
    maas_registry_ref_t ref;
    uint64_t version;
    if (s_target (reg, opts->args[0], &ref, &version) != 0)
        return 1;
    char what[MAAS_REGISTRY_NAME_MAX + 24];
    s_target_text (&ref, version, what, sizeof what);
    for (int i = 1; i < opts->nargs; i++) {
        char key[MAAS_REGISTRY_NAME_MAX + 2];
        const char *eq = strchr (opts->args[i], '=');
        size_t len = set ? (size_t) (eq - opts->args[i]) : strlen (opts->args[i]);
        snprintf (key, sizeof key, "%.*s", (int) (len < sizeof key ? len : sizeof key - 1),
                  opts->args[i]);
        int rc = set ? maas_registry_tag (reg, ref.name, version, key, eq + 1)
                     : maas_registry_untag (reg, ref.name, version, key);
        if (rc != 0)
            return s_fail (reg);
        if (!opts->json)
            printf ("%s %s %s\n", set ? "tagged" : "untagged", what, opts->args[i]);
    }
    if (opts->json) {
        s_json_target (&ref, version);
        printf (",\"%s\":%d}\n", set ? "tagged" : "untagged", opts->nargs - 1);
    }
    return 0;
}

static int
s_tag (maas_registry_t *reg, s_opts_t *opts)
{
    return s_tag_each (reg, opts, true);
}

static int
s_untag (maas_registry_t *reg, s_opts_t *opts)
{
    return s_tag_each (reg, opts, false);
}

static int
s_history (maas_registry_t *reg, s_opts_t *opts)
{
    maas_registry_move_t *moves;
    size_t count;
    if (maas_registry_history (reg, opts->args[0], opts->args[1], &moves, &count) != 0)
        return s_fail (reg);
    if (opts->json)
        printf ("{\"model\":\"%s\",\"alias\":\"%s\",\"moves\":[", opts->args[0], opts->args[1]);
    else
        printf ("%-19s %-8s %-8s %s\n", "WHEN", "FROM", "TO", "WHO");
    for (size_t i = 0; i < count; i++) {
        char when[32], from[24] = "-", to[24] = "-";
        s_time_text (moves[i].at_ms, when, sizeof when);
        if (moves[i].from)
            snprintf (from, sizeof from, "%" PRIu64, moves[i].from);
        if (moves[i].to)
            snprintf (to, sizeof to, "%" PRIu64, moves[i].to);
        if (opts->json) {
            printf ("%s{\"at_ms\":%" PRId64 ",\"from\":%s,\"to\":%s,\"who\":", i ? "," : "",
                    moves[i].at_ms, moves[i].from ? from : "null", moves[i].to ? to : "null");
            maas_json_string (stdout, moves[i].who);
            printf ("}");
        }
        else
            printf ("%-19s %-8s %-8s %s\n", when, from, to, moves[i].who);
    }
    if (opts->json)
        printf ("]}\n");
    free (moves);
    return 0;
}

static int
s_export (maas_registry_t *reg, s_opts_t *opts)
{
    bool onnx = strcmp (opts->format, "onnx") == 0;    //  the table checked maas|onnx
    maas_registry_ref_t ref;
    uint64_t version;
    if (s_resolve (reg, opts->args[0], &ref, &version) != 0)
        return 1;
    if (onnx)
        return maas_cmd_model_export_onnx (reg, ref.name, version, opts->args[1], opts->json);
    uint8_t *blob;
    size_t size;
    char sha[65];
    if (maas_registry_fetch (reg, ref.name, version, &blob, &size, sha) != 0)
        return s_fail (reg);
    FILE *file = fopen (opts->args[1], "wb");
    bool ok = file && fwrite (blob, 1, size, file) == size;
    ok = file && fclose (file) == 0 && ok;
    free (blob);
    if (!ok) {
        fprintf (stderr, "maas model: cannot write %s: %s\n", opts->args[1], strerror (errno));
        return 1;
    }
    if (opts->json)
        printf ("{\"model\":\"%s\",\"version\":%" PRIu64 ",\"bytes\":%zu,\"sha256\":\"%s\"}\n",
                ref.name, version, size, sha);
    else
        printf ("%s@%" PRIu64 " -> %s (%zu bytes, sha256 %s)\n", ref.name, version, opts->args[1],
                size, sha);
    return 0;
}

//  TEXT as a probability strictly between 0 and 1 into *P. 0, or -1.
static int
s_probability (const char *text, double *p)
{
    char *end;
    errno = 0;
    double parsed = strtod (text, &end);
    if (!*text || *end || errno || !(parsed > 0 && parsed < 1))
        return -1;
    *p = parsed;
    return 0;
}

//  `threshold NAME@VER P|none`: a binary version's decision threshold.
static int
s_threshold (maas_registry_t *reg, s_opts_t *opts)
{
    double p = opts->threshold;    //  0: none, the default 0.5 again
    maas_registry_ref_t ref;
    uint64_t version;
    if (s_resolve (reg, opts->args[0], &ref, &version) != 0)
        return 1;
    maas_model_t *model = s_fetch_model (reg, ref.name, version);
    if (!model)
        return 1;
    bool binary = maas_model_task (model) == MAAS_TASK_BINARY
        && maas_mlp_outputs (maas_model_mlp_const (model)) == 1;
    maas_model_destroy (&model);
    if (!binary) {
        fprintf (stderr,
                 "maas model: %s@%" PRIu64 " is not a binary model (one sigmoid output): a "
                 "threshold would change nothing\n",
                 ref.name, version);
        return 1;
    }
    if (maas_registry_set_threshold (reg, ref.name, version, p) != 0)
        return s_fail (reg);
    if (opts->json)
        printf ("{\"model\":\"%s\",\"version\":%" PRIu64 ",\"threshold\":%.9g}\n", ref.name,
                version, p > 0 ? p : 0.5);
    else
        printf ("%s@%" PRIu64 ": threshold %.9g%s\n", ref.name, version, p > 0 ? p : 0.5,
                p > 0 ? "" : " (the default)");
    return 0;
}

//  Each verb: its function, how many words it takes after it, and what
//  they are (for the message when the count is wrong).
typedef struct {
    const char *name;
    int (*run) (maas_registry_t *, s_opts_t *);
    int min, max;
    const char *words;
} s_verb_t;

static const s_verb_t s_verbs[] = {
    {"publish", s_publish, 2, 2, "NAME FILE"},
    {"import", s_import, 2, 2, "NAME FILE"},
    {"list", s_list, 0, 0, "no arguments"},
    {"search", s_search, 0, 0, "--name GLOB and --tag KEY=VALUE, no arguments"},
    {"show", s_show, 1, 1, "NAME[@VER|@ALIAS]"},
    {"versions", s_versions, 1, 1, "NAME"},
    {"alias", s_alias, 3, 3, "NAME ALIAS VER"},
    {"unalias", s_unalias, 2, 2, "NAME ALIAS"},
    {"history", s_history, 2, 2, "NAME ALIAS"},
    {"describe", s_describe, 2, 2, "NAME[@VER] TEXT"},
    {"tag", s_tag, 2, S_WORDS_MAX, "NAME[@VER] KEY=VALUE..."},
    {"untag", s_untag, 2, S_WORDS_MAX, "NAME[@VER] KEY..."},
    {"rm", s_rm, 1, 1, "NAME@VER, or NAME for the whole model"},
    {"export", s_export, 2, 2, "NAME[@VER|@ALIAS] FILE"},
    {"threshold", s_threshold, 2, 2, "NAME[@VER|@ALIAS] and a probability P (or none)"},
};

//  The checks of VERB's words that need no registry, before it is dialled:
//  their count, and the numbers in them (into OPTS). 0, or 2 after saying why.
static int
s_check_words (const s_verb_t *verb, s_opts_t *opts)
{
    char why[128];
    snprintf (why, sizeof why, "%s takes %s", verb->name, verb->words);
    if (opts->nargs < verb->min || opts->nargs > verb->max)
        return s_usage_error (why);
    const char *name = verb->name, *const *args = opts->args;
    if (strcmp (name, "versions") == 0 && strpbrk (args[0], "@/"))
        return s_usage_error (why);
    if (strcmp (name, "alias") == 0 && s_version_number (args[2], &opts->version) != 0)
        return s_bad_argument (name, "VER", args[2], "a version number (1, 2, ...)");
    maas_registry_ref_t ref;
    //  A malformed NAME@VER ("m@", "@1", "m@-1") is the command line's fault.
    bool takes_ref = strncmp (verb->words, "NAME[@", 6) == 0 || strcmp (name, "rm") == 0;
    if (takes_ref && s_parse_ref (args[0], &ref) != 0)
        return 2;
    if (strcmp (name, "rm") == 0 && *ref.ref && s_version_number (ref.ref, &opts->version) != 0)
        return s_bad_argument (name, "VER", ref.ref,
                               "a version number (rm takes NAME@VER, never an alias)");
    if (strcmp (name, "threshold") == 0 && strcmp (args[1], "none") != 0
        && s_probability (args[1], &opts->threshold) != 0)
        return s_bad_argument (name, "P", args[1], "a number above 0 and below 1, or none");
    for (int i = 1; strcmp (name, "tag") == 0 && i < opts->nargs; i++)
        if (!strchr (args[i], '='))
            return s_bad_argument (name, "the pair", args[i], "KEY=VALUE");
    for (size_t i = 0; strcmp (name, "search") == 0 && i < opts->tags.count; i++)
        if (!strchr (opts->tags.items[i], '='))
            return s_bad_argument (name, "--tag", opts->tags.items[i], "KEY=VALUE");
    return 0;
}

int
maas_cmd_model (int argc, char **argv)
{
    s_opts_t opts;
    int code = 0;
    if (argc < 2) {
        fputs (s_usage, stderr);
        return 2;
    }
    if (s_parse (&opts, argc, argv, &code))
        return code;
    if (!opts.verb)
        return s_usage_error ("give a COMMAND: publish, list, show, ...");
    const char *verb = opts.verb;
    const s_verb_t *run = NULL;
    for (size_t i = 0; i < sizeof s_verbs / sizeof s_verbs[0]; i++)
        if (strcmp (verb, s_verbs[i].name) == 0)
            run = &s_verbs[i];
    if (!run) {
        fprintf (stderr, "maas model: unknown command '%s' (see --help)\n", verb);
        return 2;
    }
    int rc = s_check_words (run, &opts);
    if (rc != 0)
        return rc;
    signal (SIGPIPE, SIG_IGN);
    maas_cli_env_t env = maas_cli_env ();
    if (!env.log_level)
        maas_log_set_level (MAAS_LOG_WARN);    //  the CLI's answer is on stdout
    maas_registry_t *reg = s_connect (&opts, &env);
    if (!reg)
        return 1;
    rc = run->run (reg, &opts);
    maas_registry_destroy (&reg);
    return rc;
}
