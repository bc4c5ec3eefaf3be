/*  cmd_import.c: `maas model import NAME FILE` (a Keras .h5/.keras or ONNX
 *  file published as the next version of NAME) and `maas model export
 *  NAME[@VER] --format onnx|maas FILE`. cmd_model.c hands these over. */
#include "commands.h"
#include "maas.h"

#include <inttypes.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    const char *redis;         //  --redis URL, NULL: $MAAS_REDIS_URL or default
    const char *prefix;        //  --prefix, NULL: "maas:"
    const char *format;        //  --format (export): "onnx" or "maas"
    maas_registry_meta_t meta; //  --tags, --description (import)
    const char *args[2];       //  positional arguments, borrowed from argv
    int nargs;                 //  how many
} s_opts_t;

static const char s_usage[] =
  "usage: maas model import NAME FILE [--tags T] [--description D] [--redis URL] [--prefix P]\n"
  "         publish a Keras .h5 / .keras or ONNX model as the next version of NAME\n"
  "       maas model export NAME[@VER|@ALIAS] --format onnx|maas FILE [--redis URL] [--prefix "
  "P]\n"
  "         write the version as ONNX (opset 13) or as the maas model file\n";

static int
s_usage_error (const char *why)
{
    fprintf (stderr, "maas model: %s\n%s", why, s_usage);
    return 2;
}

//  Flags and positionals after the verb (argv[1]). 0, or 2 (reported).
static int
s_parse (s_opts_t *opts, int argc, char **argv)
{
    memset (opts, 0, sizeof *opts);
    const char *names[] = { "--redis", "--prefix", "--format", "--tags", "--description" };
    const char **values[] = {
        &opts->redis, &opts->prefix, &opts->format, &opts->meta.tags, &opts->meta.description
    };
    for (int i = 2; i < argc; i++) {
        int found = -1;
        for (int k = 0; k < 5; k++)
            if (strcmp (argv[i], names[k]) == 0)
                found = k;
        if (found >= 0 && ++i == argc)
            return s_usage_error ("a flag is missing its value");
        if (found >= 0)
            *values[found] = argv[i];
        else if (argv[i][0] == '-' && argv[i][1])
            return s_usage_error ("unknown flag");
        else if (opts->nargs == 2)
            return s_usage_error ("too many arguments");
        else
            opts->args[opts->nargs++] = argv[i];
    }
    return opts->nargs == 2 ? 0 : s_usage_error ("expected NAME and FILE");
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
s_import (maas_registry_t *reg, const s_opts_t *opts)
{
    const char *name = opts->args[0], *file = opts->args[1];
    maas_model_err_t err;
    maas_model_t *model = maas_model_import_file (file, &err);
    uint8_t *blob = NULL;
    size_t size = 0;
    if (!model || maas_model_encode (model, &blob, &size, &err) != 0) {
        fprintf (stderr, "maas model: import: %s\n", err.text);
        maas_model_destroy (&model);
        return 1;
    }
    uint64_t version = 0;
    int rc = maas_registry_publish (reg, name, blob, size, &opts->meta, &version, NULL);
    free (blob);
    if (rc == 0) {
        char shape[512];
        maas_model_describe (model, shape, sizeof shape);
        printf ("imported %s as %s@%" PRIu64 " (%s, %s)\n",
                file,
                name,
                version,
                maas_model_meta_str (model, "import_format"),
                shape);
    } else
        fprintf (stderr, "maas model: %s\n", maas_registry_error (reg));
    maas_model_destroy (&model);
    return rc == 0 ? 0 : 1;
}

//  Write BLOB (a maas model file of SIZE bytes) to FILE in FORMAT.
static int
s_write (const char *format, const uint8_t *blob, size_t size, const char *file)
{
    maas_model_err_t err;
    maas_model_t *model = NULL;
    int rc = -1;
    if (strcmp (format, "maas") == 0)
        rc = maas_model_write_file (file, blob, size, &err);
    else if ((model = maas_model_decode (blob, size, &err)))
        rc = maas_export_onnx_file (model, file, &err);
    maas_model_destroy (&model);
    if (rc != 0)
        fprintf (stderr, "maas model: export: %s\n", err.text);
    return rc;
}

static int
s_export (maas_registry_t *reg, const s_opts_t *opts)
{
    const char *format = opts->format ? opts->format : "maas";
    if (strcmp (format, "onnx") != 0 && strcmp (format, "maas") != 0)
        return s_usage_error ("--format is onnx or maas");
    maas_registry_ref_t ref;
    char why[512];
    uint64_t version;
    if (maas_registry_ref_parse (&ref, opts->args[0], why, sizeof why) != 0) {
        fprintf (stderr, "maas model: %s\n", why);
        return 1;
    }
    uint8_t *blob = NULL;
    size_t size;
    if (maas_registry_resolve (reg, ref.name, ref.ref, &version) != 0 ||
        maas_registry_fetch (reg, ref.name, version, &blob, &size, NULL) != 0) {
        fprintf (stderr, "maas model: %s\n", maas_registry_error (reg));
        return 1;
    }
    int rc = s_write (format, blob, size, opts->args[1]);
    free (blob);
    if (rc == 0)
        printf (
          "exported %s@%" PRIu64 " as %s (%s)\n", ref.name, version, opts->args[1], format);
    return rc == 0 ? 0 : 1;
}

bool
maas_cmd_import_handles (int argc, char **argv)
{
    if (argc >= 2 && strcmp (argv[1], "import") == 0)
        return true;
    for (int i = 2; argc >= 2 && strcmp (argv[1], "export") == 0 && i < argc; i++)
        if (strcmp (argv[i], "--format") == 0)
            return true;
    return false;
}

int
maas_cmd_import (int argc, char **argv)
{
    s_opts_t opts;
    for (int i = 2; i < argc; i++)
        if (strcmp (argv[i], "--help") == 0 || strcmp (argv[i], "-h") == 0) {
            fputs (s_usage, stdout);
            return 0;
        }
    if (s_parse (&opts, argc, argv) != 0)
        return 2;
    if (strcmp (argv[1], "import") == 0 && opts.format)
        return s_usage_error ("--format is for export (import tells the format by itself)");
    signal (SIGPIPE, SIG_IGN);
    if (!getenv ("MAAS_LOG_LEVEL"))
        maas_log_set_level (MAAS_LOG_WARN);
    maas_registry_t *reg = s_connect (&opts);
    if (!reg)
        return 1;
    int rc = strcmp (argv[1], "import") == 0 ? s_import (reg, &opts) : s_export (reg, &opts);
    maas_registry_destroy (&reg);
    return rc;
}
