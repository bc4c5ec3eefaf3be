/*  cmd_model.c: `maas model ...`, the model registry from the command line:
 *  publish, import, list, show, alias, rm, export (import and export to
 *  ONNX are in cmd_import.c). Tables for people, --json for
 *  scripts (one JSON document on stdout). */
#include "commands.h"
#include "maas.h"

#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct {
    const char *redis;          //  --redis URL, NULL: $MAAS_REDIS_URL or default
    const char *prefix;         //  --prefix, NULL: "maas:"
    bool json;                  //  --json
    bool force;                 //  --force (rm)
    const char *format;         //  --format (export): maas (default) or onnx
    maas_registry_meta_t meta;  //  --job, --tags, --description, --metrics (publish)
    const char *args[4];        //  positional arguments, borrowed from argv
    int nargs;                  //  how many
} s_opts_t;

static const char s_usage[] =
    "usage: maas model COMMAND [--redis URL] [--prefix P] [--json]\n"
    "  publish NAME FILE [--job ID] [--tags T] [--description D] [--metrics JSON]\n"
    "                               store FILE as the next version of NAME\n"
    "  import NAME FILE [--tags T] [--description D]\n"
    "                               publish a Keras .h5/.keras or ONNX file as a version\n"
    "  list                         every model: latest version, aliases\n"
    "  show NAME[@VER|@ALIAS]       one version's metadata (latest by default)\n"
    "  alias NAME ALIAS VER         point ALIAS (production, staging, ...) at VER\n"
    "  unalias NAME ALIAS           remove ALIAS\n"
    "  rm NAME@VER [--force]        delete a version (--force: even if aliased)\n"
    "  rm NAME [--force]            delete every version of NAME, saying each\n"
    "  export NAME[@VER|@ALIAS] FILE [--format maas|onnx]\n"
    "                               write the version's blob (or ONNX, opset 13) to FILE\n";

static int
s_usage_error (const char *why)
{
    fprintf (stderr, "maas model: %s\n%s", why, s_usage);
    return 2;
}

//  Parse flags and positionals after the subcommand into OPTS. 0, or 2 on
//  a usage error (already reported).
static int
s_parse (s_opts_t *opts, int argc, char **argv)
{
    memset (opts, 0, sizeof *opts);
    const char **values[] = { &opts->redis,     &opts->prefix,           &opts->meta.job_id,
                              &opts->meta.tags, &opts->meta.description, &opts->meta.metrics,
                              &opts->format };
    const char *names[] = { "--redis", "--prefix",      "--job",     "--tags",
                            "--description", "--metrics", "--format" };
    for (int i = 2; i < argc; i++) {
        int found = -1;
        for (int k = 0; k < 7; k++)
            if (strcmp (argv[i], names[k]) == 0)
                found = k;
        if (found >= 0) {
            if (++i == argc)
                return s_usage_error ("a flag is missing its value");
            *values[found] = argv[i];
        } else if (strcmp (argv[i], "--json") == 0)
            opts->json = true;
        else if (strcmp (argv[i], "--force") == 0)
            opts->force = true;
        else if (argv[i][0] == '-' && argv[i][1])
            return s_usage_error ("unknown flag");
        else if (opts->nargs == 4)
            return s_usage_error ("too many arguments");
        else
            opts->args[opts->nargs++] = argv[i];
    }
    return 0;
}

//  Print TEXT as a JSON string.
static void
s_json_string (const char *text)
{
    putchar ('"');
    for (const unsigned char *c = (const unsigned char *) text; *c; c++) {
        if (*c == '"' || *c == '\\')
            printf ("\\%c", *c);
        else if (*c < 0x20)
            printf ("\\u%04x", *c);
        else
            putchar (*c);
    }
    putchar ('"');
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
        s_json_string (metrics);
}

static void
s_time_text (int64_t ms, char *out, size_t size)
{
    time_t secs = (time_t) (ms / 1000);
    struct tm tm;
    if (ms <= 0 || !gmtime_r (&secs, &tm) || !strftime (out, size, "%Y-%m-%d %H:%M:%S", &tm))
        snprintf (out, size, "-");
}

static maas_registry_t *
s_connect (const s_opts_t *opts)
{
    char err[512];
    maas_registry_t *reg = maas_registry_new (opts->redis, opts->prefix, err, sizeof err);
    if (!reg)
        fprintf (stderr, "maas model: %s\n", err);
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
    char err[512];
    if (maas_registry_ref_parse (ref, spec, err, sizeof err) != 0) {
        fprintf (stderr, "maas model: %s\n", err);
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

static int
s_publish (maas_registry_t *reg, s_opts_t *opts)
{
    if (opts->nargs != 2)
        return s_usage_error ("publish takes NAME FILE");
    uint8_t *blob;
    size_t size;
    if (s_read_file (opts->args[1], &blob, &size) != 0)
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
        s_json_string (opts->args[0]);
        printf (",\"version\":%" PRIu64 ",\"created\":%s}\n", version,
                created ? "true" : "false");
    } else
        printf ("%s@%" PRIu64 "%s\n", opts->args[0], version,
                created ? "" : " (already published by this job)");
    return 0;
}

static int
s_import (maas_registry_t *reg, s_opts_t *opts)
{
    if (opts->nargs != 2)
        return s_usage_error ("import takes NAME FILE");
    return maas_cmd_model_import (reg, opts->args[0], opts->args[1], &opts->meta, opts->json);
}

static void
s_list_json (const maas_registry_model_t *models, size_t count)
{
    printf ("[");
    for (size_t i = 0; i < count; i++) {
        printf ("%s{\"name\":", i ? "," : "");
        s_json_string (models[i].name);
        printf (",\"latest\":%" PRIu64 ",\"versions\":%zu,\"updated_ms\":%" PRId64
                ",\"aliases\":{",
                models[i].latest, models[i].versions, models[i].updated_ms);
        //  "production=3,staging=4" → "production":3,"staging":4
        char *aliases = strdup (models[i].aliases), *save = NULL;
        const char *sep = "";
        for (char *pair = strtok_r (aliases, ",", &save); pair;
             pair = strtok_r (NULL, ",", &save)) {
            char *eq = strchr (pair, '=');
            if (!eq)
                continue;
            *eq = 0;
            printf ("%s\"%s\":%s", sep, pair, eq + 1);
            sep = ",";
        }
        free (aliases);
        printf ("},\"description\":");
        s_json_string (models[i].description);
        printf ("}");
    }
    printf ("]\n");
}

static int
s_list (maas_registry_t *reg, s_opts_t *opts)
{
    if (opts->nargs != 0)
        return s_usage_error ("list takes no arguments");
    maas_registry_model_t *models;
    size_t count;
    if (maas_registry_list (reg, &models, &count) != 0)
        return s_fail (reg);
    if (opts->json)
        s_list_json (models, count);
    else {
        printf ("%-24s %-7s %-8s %-19s %-28s %s\n", "NAME", "LATEST", "VERSIONS", "UPDATED",
                "ALIASES", "DESCRIPTION");
        for (size_t i = 0; i < count; i++) {
            char when[32];
            s_time_text (models[i].updated_ms, when, sizeof when);
            printf ("%-24s %-7" PRIu64 " %-8zu %-19s %-28s %s\n", models[i].name,
                    models[i].latest, models[i].versions, when,
                    *models[i].aliases ? models[i].aliases : "-", models[i].description);
        }
    }
    maas_registry_models_free (&models, count);
    return 0;
}

static void
s_show_json (const maas_registry_info_t *info)
{
    printf ("{\"name\":");
    s_json_string (info->name);
    printf (",\"version\":%" PRIu64 ",\"format\":%d,\"inputs\":%zu,\"outputs\":%zu,"
            "\"bytes\":%zu,\"sha256\":\"%s\",\"created_ms\":%" PRId64 ",\"job_id\":",
            info->version, info->format, info->inputs, info->outputs, info->blob_size,
            info->sha256, info->created_ms);
    s_json_string (info->job_id);
    printf (",\"tags\":");
    s_json_string (info->tags);
    printf (",\"description\":");
    s_json_string (info->description);
    printf (",\"aliases\":[");
    char *aliases = strdup (info->aliases), *save = NULL;
    const char *sep = "";
    for (char *a = strtok_r (aliases, ",", &save); a; a = strtok_r (NULL, ",", &save)) {
        printf ("%s\"%s\"", sep, a);
        sep = ",";
    }
    free (aliases);
    printf ("],\"metrics\":");
    s_json_metrics (info->metrics);
    printf ("}\n");
}

static void
s_show_table (const maas_registry_info_t *info)
{
    char when[32];
    s_time_text (info->created_ms, when, sizeof when);
    printf ("model        %s@%" PRIu64 "\n", info->name, info->version);
    printf ("aliases      %s\n", *info->aliases ? info->aliases : "-");
    printf ("format       %d\n", info->format);
    printf ("shape        %zu inputs -> %zu outputs\n", info->inputs, info->outputs);
    printf ("size         %zu bytes\n", info->blob_size);
    printf ("sha256       %s\n", info->sha256);
    printf ("created      %s UTC\n", when);
    printf ("train job    %s\n", *info->job_id ? info->job_id : "-");
    printf ("tags         %s\n", *info->tags ? info->tags : "-");
    printf ("metrics      %s\n", *info->metrics ? info->metrics : "-");
    printf ("description  %s\n", *info->description ? info->description : "-");
}

static int
s_show (maas_registry_t *reg, s_opts_t *opts)
{
    if (opts->nargs != 1)
        return s_usage_error ("show takes NAME[@VER|@ALIAS]");
    maas_registry_ref_t ref;
    uint64_t version;
    if (s_resolve (reg, opts->args[0], &ref, &version) != 0)
        return 1;
    maas_registry_info_t info;
    if (maas_registry_info (reg, ref.name, version, &info) != 0)
        return s_fail (reg);
    if (opts->json)
        s_show_json (&info);
    else
        s_show_table (&info);
    maas_registry_info_clear (&info);
    return 0;
}

static int
s_alias (maas_registry_t *reg, s_opts_t *opts)
{
    if (opts->nargs != 3)
        return s_usage_error ("alias takes NAME ALIAS VER");
    char *end;
    errno = 0;
    unsigned long long version = strtoull (opts->args[2], &end, 10);
    if (*end || errno || version == 0 || opts->args[2][0] == '-')
        return s_usage_error ("VER must be a version number (1, 2, ...)");
    if (maas_registry_alias (reg, opts->args[0], opts->args[1], version) != 0)
        return s_fail (reg);
    if (opts->json)
        printf ("{\"model\":\"%s\",\"alias\":\"%s\",\"version\":%llu}\n", opts->args[0],
                opts->args[1], version);
    else
        printf ("%s@%s -> %llu\n", opts->args[0], opts->args[1], version);
    return 0;
}

static int
s_unalias (maas_registry_t *reg, s_opts_t *opts)
{
    if (opts->nargs != 2)
        return s_usage_error ("unalias takes NAME ALIAS");
    if (maas_registry_unalias (reg, opts->args[0], opts->args[1]) != 0)
        return s_fail (reg);
    if (opts->json)
        printf ("{\"model\":\"%s\",\"unaliased\":\"%s\"}\n", opts->args[0], opts->args[1]);
    else
        printf ("removed %s@%s\n", opts->args[0], opts->args[1]);
    return 0;
}

//  `maas model rm NAME`: every version (aliased ones only with --force),
//  each said; the name itself stays listed with no versions.
static int
s_rm_all (maas_registry_t *reg, s_opts_t *opts, const char *name)
{
    uint64_t *versions = NULL;
    size_t count = 0;
    if (maas_registry_versions (reg, name, &versions, &count) != 0)
        return s_fail (reg);
    int rc = 0;
    if (opts->json)
        printf ("{\"model\":\"%s\",\"deleted\":[", name);
    for (size_t i = 0; i < count && rc == 0; i++) {
        rc = maas_registry_delete (reg, name, versions[i], opts->force) != 0 ? s_fail (reg) : 0;
        if (rc == 0 && opts->json)
            printf ("%s%" PRIu64, i ? "," : "", versions[i]);
        else if (rc == 0)
            printf ("deleted %s@%" PRIu64 "\n", name, versions[i]);
    }
    if (opts->json)
        printf ("]}\n");
    else if (count == 0)
        printf ("%s has no versions: nothing to delete\n", name);
    free (versions);
    return rc;
}

static int
s_rm (maas_registry_t *reg, s_opts_t *opts)
{
    if (opts->nargs == 1 && !strchr (opts->args[0], '@'))
        return s_rm_all (reg, opts, opts->args[0]);
    if (opts->nargs != 1)
        return s_usage_error ("rm takes NAME@VER, or NAME for every version");
    maas_registry_ref_t ref;
    char err[512];
    if (maas_registry_ref_parse (&ref, opts->args[0], err, sizeof err) != 0) {
        fprintf (stderr, "maas model: %s\n", err);
        return 1;
    }
    char *end;
    unsigned long long version = strtoull (ref.ref, &end, 10);
    if (*end || version == 0)
        return s_usage_error ("rm takes an explicit version number, NAME@VER");
    if (maas_registry_delete (reg, ref.name, version, opts->force) != 0)
        return s_fail (reg);
    if (opts->json)
        printf ("{\"model\":\"%s\",\"deleted\":%llu}\n", ref.name, version);
    else
        printf ("deleted %s@%llu\n", ref.name, version);
    return 0;
}

static int
s_export (maas_registry_t *reg, s_opts_t *opts)
{
    if (opts->nargs != 2)
        return s_usage_error ("export takes NAME[@VER|@ALIAS] FILE");
    bool onnx = opts->format && strcmp (opts->format, "onnx") == 0;
    if (opts->format && !onnx && strcmp (opts->format, "maas") != 0)
        return s_usage_error ("--format is maas or onnx");
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
        printf ("%s@%" PRIu64 " -> %s (%zu bytes, sha256 %s)\n", ref.name, version,
                opts->args[1], size, sha);
    return 0;
}

int
maas_cmd_model (int argc, char **argv)
{
    static const struct {
        const char *name;
        int (*run) (maas_registry_t *, s_opts_t *);
    } verbs[] = { { "publish", s_publish }, { "import", s_import }, { "list", s_list },
                  { "show", s_show },       { "alias", s_alias },   { "unalias", s_unalias },
                  { "rm", s_rm },           { "export", s_export } };
    if (argc < 2 || strcmp (argv[1], "--help") == 0 || strcmp (argv[1], "-h") == 0) {
        fputs (s_usage, argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    s_opts_t opts;
    if (s_parse (&opts, argc, argv) != 0)
        return 2;
    signal (SIGPIPE, SIG_IGN);
    if (!getenv ("MAAS_LOG_LEVEL"))
        maas_log_set_level (MAAS_LOG_WARN);  //  the CLI's answer is on stdout
    for (size_t i = 0; i < sizeof verbs / sizeof verbs[0]; i++) {
        if (strcmp (argv[1], verbs[i].name) != 0)
            continue;
        maas_registry_t *reg = s_connect (&opts);
        if (!reg)
            return 1;
        int rc = verbs[i].run (reg, &opts);
        maas_registry_destroy (&reg);
        return rc;
    }
    return s_usage_error ("unknown command");
}
