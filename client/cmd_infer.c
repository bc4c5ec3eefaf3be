/*  cmd_infer.c: `maas infer NAME[@VER|@ALIAS] --input FILE|-`: read rows
 *  (CSV with a header, or JSON arrays), send them as one infer job through
 *  the broker, print each row's prediction and how the job ran. */
#include "commands.h"
#include "maas.h"

#include <ctype.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_INPUT_MAX ((size_t) 256 << 20)  //  largest input read

typedef struct {
    const char *spec;    //  NAME[@VER|@ALIAS]
    const char *input;   //  path or "-"
    const char *broker;  //  frontend endpoints
    int timeout_ms;      //  how long to wait for the result
    bool json;           //  --json
} s_opts_t;

static const char s_usage[] =
    "usage: maas infer NAME[@VER|@ALIAS] --input FILE|- [--broker EP] [--timeout-ms N] "
    "[--json]\n"
    "  Rows are CSV with a header line, or JSON: [[1,2],[3,4]] or one [1,2] per line.\n"
    "  --broker defaults to $MAAS_BROKER_FRONTEND or tcp://127.0.0.1:5555.\n";

static int
s_parse (s_opts_t *opts, int argc, char **argv)
{
    *opts = (s_opts_t){ .timeout_ms = 30000 };
    opts->broker = getenv ("MAAS_BROKER_FRONTEND");
    if (!opts->broker || !*opts->broker)
        opts->broker = "tcp://127.0.0.1:5555";
    for (int i = 1; i < argc; i++) {
        bool has_value = i + 1 < argc;
        if (strcmp (argv[i], "--json") == 0)
            opts->json = true;
        else if (strcmp (argv[i], "--input") == 0 && has_value)
            opts->input = argv[++i];
        else if (strcmp (argv[i], "--broker") == 0 && has_value)
            opts->broker = argv[++i];
        else if (strcmp (argv[i], "--timeout-ms") == 0 && has_value)
            opts->timeout_ms = atoi (argv[++i]);
        else if (argv[i][0] != '-' && !opts->spec)
            opts->spec = argv[i];
        else {
            fprintf (stderr, "maas infer: unexpected '%s'\n%s", argv[i], s_usage);
            return -1;
        }
    }
    if (!opts->spec || !opts->input || opts->timeout_ms <= 0) {
        fprintf (stderr, "maas infer: give NAME[@VER|@ALIAS] and --input\n%s", s_usage);
        return -1;
    }
    return 0;
}

//  All of PATH ("-": stdin) into a NUL-terminated buffer; NULL after
//  reporting.
static char *
s_slurp (const char *path, size_t *size)
{
    FILE *file = strcmp (path, "-") == 0 ? stdin : fopen (path, "rb");
    if (!file) {
        fprintf (stderr, "maas infer: cannot open %s\n", path);
        return NULL;
    }
    size_t cap = 1 << 16, used = 0;
    char *text = malloc (cap);
    while (text) {
        used += fread (text + used, 1, cap - used - 1, file);
        if (used < cap - 1 || cap >= S_INPUT_MAX)
            break;
        char *bigger = realloc (text, cap * 2);
        if (!bigger)
            free (text);
        text = bigger;
        cap *= 2;
    }
    if (file != stdin)
        fclose (file);
    if (!text || used >= S_INPUT_MAX - 1) {
        fprintf (stderr, "maas infer: %s: %s\n", path, text ? "over 256 MB" : "out of memory");
        free (text);
        return NULL;
    }
    text[used] = 0;
    *size = used;
    return text;
}

//  JSON rows ([[1,2],[3,4]], or one [1,2] per line) into a new tensor.
//  NULL with ERR when a value is not a number or rows are ragged.
static maas_tensor_t *
s_json_rows (const char *text, char *err, size_t err_size)
{
    size_t cap = 1024, count = 0, rows = 0, cols = 0, in_row = 0;
    float *values = malloc (cap * sizeof *values);
    int depth = 0, max_depth = 0;
    for (const char *c = text; values && *c; c++) {
        if (*c == '[') {
            depth++;
            max_depth = depth > max_depth ? depth : max_depth;
            in_row = 0;
        } else if (*c == ']') {
            //  A row closes at the innermost level: 2 in [[..]], 1 for [..] lines.
            if ((depth == 2 || max_depth == 1) && in_row) {
                if (cols && in_row != cols) {
                    snprintf (err, err_size, "row %zu has %zu values, row 1 has %zu", rows + 1,
                              in_row, cols);
                    free (values);
                    return NULL;
                }
                cols = in_row;
                rows++;
            }
            depth--;
            if (depth == 0)
                max_depth = 0;
        } else if (*c == '-' || *c == '.' || isdigit ((unsigned char) *c)) {
            char *end;
            float v = strtof (c, &end);
            if (count == cap) {
                float *bigger = realloc (values, (cap *= 2) * sizeof *values);
                if (!bigger)
                    free (values);
                values = bigger;
                if (!values)
                    break;
            }
            values[count++] = v;
            in_row++;
            c = end - 1;
        } else if (!isspace ((unsigned char) *c) && *c != ',') {
            snprintf (err, err_size, "JSON input: unexpected '%c'; rows are arrays of numbers",
                      *c);
            free (values);
            return NULL;
        }
    }
    maas_tensor_t *x = values && rows ? maas_tensor_from (values, rows, cols) : NULL;
    if (!x)
        snprintf (err, err_size, "JSON input: no rows of numbers found");
    free (values);
    return x;
}

//  Rows from TEXT: JSON when it starts with '[', else CSV with a header.
static maas_tensor_t *
s_rows (char *text, size_t size, const char *name)
{
    char err[512];
    const char *start = text;
    while (isspace ((unsigned char) *start))
        start++;
    maas_tensor_t *x = NULL;
    if (*start == '[')
        x = s_json_rows (start, err, sizeof err);
    else {
        FILE *memory = fmemopen (text, size, "r");
        maas_csv_t *csv =
            memory ? maas_csv_read (memory, name, MAAS_CSV_NO_LABEL, err, sizeof err) : NULL;
        if (memory)
            fclose (memory);
        x = csv ? maas_csv_take_features (csv) : NULL;
        maas_csv_destroy (&csv);
    }
    if (!x)
        fprintf (stderr, "maas infer: %s: %s\n", name, err);
    return x;
}

//  The job: params {"shape": [rows, cols]} and the rows as float32 bytes.
static maas_result_t *
s_run (maas_client_t *client, const maas_registry_ref_t *ref, const maas_tensor_t *x,
       int timeout_ms)
{
    msgpack_sbuffer params;
    maas_codec_shape_params (&params, x->rows, x->cols);
    size_t bytes = maas_tensor_size (x) * 4;
    uint8_t *payload = malloc (bytes);
    bool numbered = ref->ref[0] && isdigit ((unsigned char) ref->ref[0]);
    maas_submit_t spec = { .kind = "infer",
                           .model = ref->name,
                           .version = numbered ? strtoll (ref->ref, NULL, 10) : 0,
                           .alias = !numbered && ref->ref[0] && strcmp (ref->ref, "latest") != 0
                                        ? ref->ref
                                        : NULL,
                           .params = params.data,
                           .params_size = params.size };
    char id[MAAS_PROTO_ID_MAX + 1];
    maas_result_t *result = NULL;
    if (!payload)
        fprintf (stderr, "maas infer: out of memory\n");
    else {
        maas_codec_f32_to_le (payload, x->data, maas_tensor_size (x));
        if (maas_client_submit (client, &spec, payload, bytes, NULL, NULL, id) != 0)
            fprintf (stderr, "maas infer: %s\n", maas_client_error (client));
        else if (!(result = maas_client_wait (client, id, timeout_ms)))
            fprintf (stderr, "maas infer: no result within %d ms (job %s): %s\n", timeout_ms,
                     id, maas_client_error (client));
    }
    free (payload);
    msgpack_sbuffer_destroy (&params);
    return result;
}

//  What an infer result holds (borrowed from its unpacked payload).
typedef struct {
    uint64_t version, rows, outputs, batch_rows, batch_jobs;
    int64_t queue_us, compute_us;
    const void *values;             //  rows × outputs float32, little-endian
    size_t values_size;             //  its bytes
    const msgpack_object *classes;  //  array of rows ints, or NULL
} s_output_t;

static int
s_decode (maas_codec_map_t *map, s_output_t *out)
{
    memset (out, 0, sizeof *out);
    if (maas_codec_map_uint64 (map, "version", &out->version)
        || maas_codec_map_uint64 (map, "rows", &out->rows)
        || maas_codec_map_uint64 (map, "outputs", &out->outputs)
        || maas_codec_map_bin (map, "values", &out->values, &out->values_size)
        || maas_codec_map_uint64 (map, "batch_rows", &out->batch_rows)
        || maas_codec_map_uint64 (map, "batch_jobs", &out->batch_jobs)
        || maas_codec_map_int64 (map, "queue_us", &out->queue_us)
        || maas_codec_map_int64 (map, "compute_us", &out->compute_us))
        return -1;
    out->classes = maas_codec_map_find (map, "classes");
    if (out->values_size != out->rows * out->outputs * 4
        || (out->classes
            && (out->classes->type != MSGPACK_OBJECT_ARRAY
                || out->classes->via.array.size != out->rows))) {
        snprintf (map->err, sizeof map->err, "result: sizes do not match");
        return -1;
    }
    return 0;
}

static void
s_print (const char *name, const s_output_t *out, bool json)
{
    float *values = malloc ((out->rows * out->outputs + 1) * sizeof *values);
    if (!values)
        return;
    maas_codec_f32_from_le (values, out->values, out->rows * out->outputs);
    if (json)
        printf ("{\"model\":\"%s\",\"version\":%" PRIu64 ",\"batch_rows\":%" PRIu64
                ",\"batch_jobs\":%" PRIu64 ",\"queue_us\":%" PRId64 ",\"compute_us\":%" PRId64
                ",\"rows\":[",
                name, out->version, out->batch_rows, out->batch_jobs, out->queue_us,
                out->compute_us);
    for (uint64_t r = 0; r < out->rows; r++) {
        const float *row = values + r * out->outputs;
        if (json) {
            printf ("%s{", r ? "," : "");
            if (out->classes)
                printf ("\"class\":%" PRId64 ",", out->classes->via.array.ptr[r].via.i64);
            printf ("\"values\":[");
            for (uint64_t k = 0; k < out->outputs; k++)
                printf ("%s%.9g", k ? "," : "", (double) row[k]);
            printf ("]}");
            continue;
        }
        if (out->classes)
            printf ("%" PRId64 "\t", out->classes->via.array.ptr[r].via.i64);
        for (uint64_t k = 0; k < out->outputs; k++)
            printf ("%s%.6g", k ? " " : "", (double) row[k]);
        printf ("\n");
    }
    if (json)
        printf ("]}\n");
    else
        fprintf (stderr,
                 "%s@%" PRIu64 ": %" PRIu64 " rows; ran in a batch of %" PRIu64
                 " rows (%" PRIu64 " jobs), queued %" PRId64 " us, computed %" PRId64 " us\n",
                 name, out->version, out->rows, out->batch_rows, out->batch_jobs, out->queue_us,
                 out->compute_us);
    free (values);
}

//  Print RESULT; the exit code.
static int
s_report (const maas_result_t *result, const char *name, bool json)
{
    if (strcmp (result->status, "succeeded") != 0) {
        fprintf (stderr, "maas infer: job %s %s: %s\n", result->id, result->status,
                 result->error ? result->error : "no reason given");
        return 1;
    }
    msgpack_unpacked top;
    msgpack_unpacked_init (&top);
    char err[MAAS_CODEC_ERR_SIZE];
    maas_codec_map_t map;
    s_output_t out;
    int rc = maas_codec_unpack (result->data, result->size, 0, &top, err, sizeof err);
    if (rc == 0
        && (maas_codec_map_init (&map, &top.data, "result") != 0
            || s_decode (&map, &out) != 0)) {
        snprintf (err, sizeof err, "%s", map.err);
        rc = -1;
    }
    if (rc == 0)
        s_print (name, &out, json);
    else
        fprintf (stderr, "maas infer: job %s: unreadable result: %s\n", result->id, err);
    msgpack_unpacked_destroy (&top);
    return rc == 0 ? 0 : 1;
}

int
maas_cmd_infer (int argc, char **argv)
{
    if (argc >= 2 && (strcmp (argv[1], "--help") == 0 || strcmp (argv[1], "-h") == 0)) {
        fputs (s_usage, stdout);
        return 0;
    }
    s_opts_t opts;
    maas_registry_ref_t ref;
    char err[512];
    if (s_parse (&opts, argc, argv) != 0)
        return 2;
    if (maas_registry_ref_parse (&ref, opts.spec, err, sizeof err) != 0) {
        fprintf (stderr, "maas infer: %s\n", err);
        return 2;
    }
    signal (SIGPIPE, SIG_IGN);
    if (!getenv ("MAAS_LOG_LEVEL"))
        maas_log_set_level (MAAS_LOG_WARN);
    size_t size;
    char *text = s_slurp (opts.input, &size);
    maas_tensor_t *x = text ? s_rows (text, size, opts.input) : NULL;
    free (text);
    maas_client_t *client = x ? maas_cli_client ("maas infer", opts.broker) : NULL;
    maas_result_t *result = client ? s_run (client, &ref, x, opts.timeout_ms) : NULL;
    int rc = result ? s_report (result, ref.name, opts.json) : 1;
    maas_result_destroy (&result);
    maas_client_destroy (&client);
    maas_tensor_destroy (&x);
    return rc;
}
