/*  cmd_infer.c: `maas infer NAME[@VER|@ALIAS] --input FILE|-`: read rows
 *  (CSV with a header, or JSON arrays), send them as one infer job through
 *  the broker, print each row's prediction and how the job ran. */
#include "commands.h"
#include "endpoint.h"
#include "env.h"
#include "follow.h"
#include "output.h"
#include "maas.h"
#include "model_ref.h"
#include "rows_file.h"

#include <ctype.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    const char *spec;             //  NAME[@VER|@ALIAS]
    const char *input;            //  path or "-"
    const char *broker;           //  frontend endpoints
    const char *redis;            //  --redis URL, or NULL ($MAAS_REDIS_URL)
    maas_redis_config_t where;    //  the registry and job status: --redis or the environment's
    bool no_header;               //  --no-header: CSV rows by position
    int timeout_ms;               //  how long to wait for the result, then cancel
    bool json;                    //  --json
    maas_infer_params_t post;     //  --output, --top-k (the shape is the input's)
} s_opts_t;

static const char s_summary[] =
    "usage: maas infer NAME[@VER|@ALIAS] --input FILE|- [OPTIONS]\n\n"
    "Sends the rows of FILE (- : stdin) as one infer job through the broker and\n"
    "prints each row's prediction on stdout, how the job ran on stderr. Rows are\n"
    "CSV with a header line, or JSON: [[1,2],[3,4]], one [1,2] per line,\n"
    "{\"instances\": [[1,2], ...]} or {\"inputs\": ...} (TF Serving). Columns (CSV\n"
    "header, JSON objects) are matched by name to the model's; others are dropped\n"
    "and named on stderr. A CSV without a header row needs --no-header.\n\n";

static const char s_epilog[] =
    "\nAt --timeout, or on Ctrl-C, the job is cancelled and the command exits 1 (130\n"
    "on Ctrl-C); a job still queued after 2 s is said to have no worker.\n"
    "--output class prints each row's class label (the model's labels, else its\n"
    "index) instead of its number; --top-k K adds the K most probable classes with\n"
    "their probabilities. A binary model's class uses its version's threshold\n"
    "(`maas model threshold`). --curve-key FILE and --broker-key FILE: CurveZMQ\n"
    "keys (docs/security.md).\n";

//  The command line into OPTS (flags from the table, then NAME and --input
//  checked); true when the command ends here with exit *CODE.
static bool
s_parse (s_opts_t *opts, const maas_cli_env_t *env, int argc, char **argv, int *code)
{
    *opts = (s_opts_t){.timeout_ms = 30000, .broker = env->broker};
    bool header = true;
    const char *output = "probabilities";
    const maas_option_t table[] = {
        {"--input", NULL, MAAS_OPT_STRING, 0, 0, NULL, &opts->input, "FILE",
         "the rows: CSV or JSON, - for stdin", "none: required"},
        {"--no-header", NULL, MAAS_OPT_BOOL, 0, 0, NULL, &header, NULL,
         "the CSV has no header line: columns by position", "off"},
        {"--output", NULL, MAAS_OPT_CHOICE, 0, 0, "probabilities|class", &output, "WHAT",
         "per row: the model's outputs, or its class label", NULL},
        {"--top-k", NULL, MAAS_OPT_UINT, 1, MAAS_INFER_OUTPUTS_MAX, NULL, &opts->post.top_k, "K",
         "add the K most probable classes of each row", "none"},
        {"--timeout", NULL, MAAS_OPT_SECONDS, 0.001, 1000000, NULL, &opts->timeout_ms, "S",
         "wait this long for the result, then cancel the job", NULL},
        {"--timeout-ms", NULL, MAAS_OPT_MS, 1, 1000000000, NULL, &opts->timeout_ms, "MS", NULL,
         NULL},
        MAAS_CLI_OPT_JSON (&opts->json, "the result as one JSON object (docs/cli.md)"),
        MAAS_CLI_OPT_BROKER (&opts->broker),
        MAAS_CLI_OPT_REDIS (&opts->redis, "the registry: the version an alias names, the columns"),
    };
    const maas_options_t options = {"maas infer", s_summary, s_epilog, table,
                                    sizeof table / sizeof table[0]};
    int next = 0;
    if (maas_cli_options (&options, argc, argv, &next, code))
        return true;
    *code = MAAS_EXIT_USAGE;
    if (next == argc) {
        fprintf (stderr, "maas infer: give NAME[@VER|@ALIAS] (see --help)\n");
        return true;
    }
    if (next < argc - 1) {
        fprintf (stderr, "maas infer: one NAME[@VER|@ALIAS], not also '%s' (see --help)\n",
                 argv[next + 1]);
        return true;
    }
    if (!opts->input) {
        fprintf (stderr, "maas infer: give --input FILE (- for stdin) (see --help)\n");
        return true;
    }
    if (maas_cli_broker_bad ("maas infer", opts->broker))
        return true;
    opts->spec = argv[next];
    opts->no_header = !header;
    opts->post.output = strcmp (output, "class") == 0 ? MAAS_INFER_CLASS : MAAS_INFER_PROBABILITIES;
    opts->where = maas_cli_redis (env, opts->redis);
    return false;
}

//  The job: params {"shape": [rows, cols]} and the rows as float32 bytes.
static maas_result_t *
s_run (maas_client_t *client, const maas_registry_ref_t *ref, const maas_tensor_t *x,
       const s_opts_t *opts, bool *interrupted)
{
    msgpack_sbuffer params;
    maas_infer_params_t asked = opts->post;
    asked.rows = x->rows;
    asked.cols = x->cols;
    maas_infer_params_pack_all (&params, &asked);
    size_t bytes = maas_tensor_size (x) * 4;
    uint8_t *payload = malloc (bytes);
    bool numbered = ref->ref[0] && isdigit ((unsigned char) ref->ref[0]);
    maas_submit_t spec = {
        .kind = "infer",
        .model = ref->name,
        .version = numbered ? strtoll (ref->ref, NULL, 10) : 0,
        .alias = !numbered && ref->ref[0] && strcmp (ref->ref, "latest") != 0 ? ref->ref : NULL,
        .params = params.data,
        .params_size = params.size};
    char id[MAAS_PROTO_ID_MAX + 1];
    maas_result_t *result = NULL;
    if (!payload)
        fprintf (stderr, "maas infer: out of memory\n");
    else {
        maas_codec_f32_to_le (payload, x->data, maas_tensor_size (x));
        if (maas_client_submit (client, &spec, payload, bytes, NULL, NULL, id) != 0)
            fprintf (stderr, "maas infer: %s\n", maas_client_error (client));
        else
            result = maas_follow_wait (client, "maas infer", "infer", &opts->where, id,
                                       opts->timeout_ms, interrupted);
    }
    free (payload);
    msgpack_sbuffer_destroy (&params);
    return result;
}

//  Row R's top classes as JSON: [["label", p], ...].
static void
s_print_top_json (const maas_infer_result_t *out, size_t r)
{
    printf (",\"top\":[");
    for (size_t i = 0; i < out->top_k; i++) {
        int32_t c = out->top_classes[r * out->top_k + i];
        printf ("%s[", i ? "," : "");
        maas_json_string (stdout, (size_t) c < out->n_class_labels ? out->class_labels[c] : "?");
        printf (",%.9g]", (double) out->top_scores[r * out->top_k + i]);
    }
    printf ("]");
}

//  Row R's top classes as text: "\tlabel:p label:p".
static void
s_print_top (const maas_infer_result_t *out, size_t r)
{
    for (size_t i = 0; i < out->top_k; i++) {
        int32_t c = out->top_classes[r * out->top_k + i];
        printf ("%s%s:%.6g", i ? " " : "\t",
                (size_t) c < out->n_class_labels ? out->class_labels[c] : "?",
                (double) out->top_scores[r * out->top_k + i]);
    }
}

//  One row as JSON: class (and label), values, top.
static void
s_print_row_json (const maas_infer_result_t *out, size_t r)
{
    const float *row = out->values + r * out->outputs;
    printf ("%s{", r ? "," : "");
    if (out->classes)
        printf ("\"class\":%" PRId32 ",", out->classes[r]);
    else
        printf ("\"class\":null,");
    if (out->output == MAAS_INFER_CLASS && maas_infer_result_label (out, r)) {
        printf ("\"label\":");
        maas_json_string (stdout, maas_infer_result_label (out, r));
        printf (",");
    }
    printf ("\"values\":[");
    for (size_t k = 0; k < out->outputs; k++)
        printf ("%s%.9g", k ? "," : "", (double) row[k]);
    printf ("]");
    if (out->top_k)
        s_print_top_json (out, r);
    printf ("}");
}

static void
s_print (const char *id, const char *name, const maas_infer_result_t *out, bool json)
{
    const float *values = out->values;
    if (json)
        printf ("{\"id\":\"%s\",\"model\":\"%s\",\"version\":%" PRIu64 ",\"batch_rows\":%zu"
                ",\"batch_jobs\":%zu,\"queue_us\":%" PRId64 ",\"compute_us\":%" PRId64
                ",\"rows\":[",
                id, name, out->version, out->batch_rows, out->batch_jobs, out->queue_us,
                out->compute_us);
    for (size_t r = 0; r < out->rows; r++) {
        const float *row = values + r * out->outputs;
        if (json) {
            s_print_row_json (out, r);
            continue;
        }
        const char *label =
            out->output == MAAS_INFER_CLASS ? maas_infer_result_label (out, r) : NULL;
        if (label)
            printf ("%s\t", label);
        else if (out->classes)
            printf ("%" PRId32 "\t", out->classes[r]);
        for (size_t k = 0; k < out->outputs; k++)
            printf ("%s%.6g", k ? " " : "", (double) row[k]);
        if (out->top_k)
            s_print_top (out, r);
        printf ("\n");
    }
    if (json)
        printf ("]}\n");
    else
        fprintf (stderr,
                 "%s@%" PRIu64 ": %zu rows; ran in a batch of %zu rows (%zu jobs), queued %" PRId64
                 " us, computed %" PRId64 " us\n",
                 name, out->version, out->rows, out->batch_rows, out->batch_jobs, out->queue_us,
                 out->compute_us);
}

//  What s_show prints for: the model's name and --json.
typedef struct {
    const char *name;
    bool json;
} s_show_t;

//  maas_follow_show_fn: parse RESULT's outputs and print them.
static int
s_show (const maas_result_t *result, void *arg, maas_err_t *err)
{
    const s_show_t *show = arg;
    maas_infer_result_t out;
    int rc = maas_infer_result_parse (&out, result->data, result->size, err);
    if (rc == 0)
        s_print (result->id, show->name, &out, show->json);
    maas_infer_result_clear (&out);
    return rc;
}

//  The version the reference names now (into REF), and the input's rows
//  matched to its columns; NULL after saying why.
static maas_tensor_t *
s_input (const s_opts_t *opts, maas_registry_ref_t *ref)
{
    maas_err_t err;
    maas_model_ref_t model;
    int resolved =
        maas_model_ref_resolve (&model, opts->spec, &opts->where, err.text, sizeof err.text);
    if (resolved == 0)
        resolved = maas_registry_ref_parse (ref, model.pinned, &err);
    if (resolved != 0) {
        fprintf (stderr, "maas infer: %s\n", err.text);
        maas_model_ref_clear (&model);
        return NULL;
    }
    maas_tensor_t *x = maas_rows_file_read ("maas infer", opts->input, &model, opts->no_header);
    maas_model_ref_clear (&model);
    return x;
}

int
maas_cmd_infer (int argc, char **argv)
{
    s_opts_t opts;
    maas_registry_ref_t ref;
    maas_err_t err;
    maas_cli_env_t env = maas_cli_env ();
    int code = 0;
    if (s_parse (&opts, &env, argc, argv, &code))
        return code;
    if (maas_registry_ref_parse (&ref, opts.spec, &err) != 0) {
        fprintf (stderr, "maas infer: %s\n", err.text);
        return MAAS_EXIT_USAGE;
    }
    signal (SIGPIPE, SIG_IGN);
    if (!env.log_level)
        maas_log_set_level (MAAS_LOG_WARN);
    //  The broker first: without one nothing else is worth asking.
    maas_client_t *client = maas_cli_client ("maas infer", opts.broker);
    if (!client)
        return MAAS_EXIT_FAILED;
    if (maas_follow_ping (client, "maas infer", opts.broker, opts.timeout_ms) != 0) {
        maas_client_destroy (&client);
        return MAAS_EXIT_FAILED;
    }
    maas_tensor_t *x = s_input (&opts, &ref);
    bool interrupted = false;
    maas_result_t *result = x ? s_run (client, &ref, x, &opts, &interrupted) : NULL;
    s_show_t show = {ref.name, opts.json};
    int rc = result ? maas_follow_report ("maas infer", result, s_show, &show) : MAAS_EXIT_FAILED;
    maas_result_destroy (&result);
    maas_client_destroy (&client);
    maas_tensor_destroy (&x);
    return interrupted ? MAAS_EXIT_INTERRUPTED : rc;
}
