/*  cmd_explain.c: `maas explain NAME[@VER|@ALIAS] --input FILE|-`: send
 *  rows as one explain job through the broker and print, for each row and
 *  output, the features that moved it most, by the model's column names. */
#include "commands.h"
#include "endpoint.h"
#include "env.h"
#include "follow.h"
#include "maas.h"
#include "model_ref.h"
#include "output.h"
#include "rows_file.h"

#include <inttypes.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    const char *spec;                //  NAME[@VER|@ALIAS]
    const char *input;               //  path or "-"
    const char *broker;              //  frontend endpoints
    const char *redis;               //  --redis URL, or NULL ($MAAS_REDIS_URL)
    maas_redis_config_t where;       //  the registry and job status: --redis or the environment's
    maas_explain_params_t params;    //  --method, --steps, --output (no baseline: the mean)
    size_t top;                      //  features printed per row and output
    int timeout_ms;                  //  how long to wait for the result
    bool json;                       //  --json
    bool no_header;                  //  --no-header
} s_opts_t;

static const char s_summary[] =
    "usage: maas explain NAME[@VER|@ALIAS] --input FILE|- [OPTIONS]\n\n"
    "Attributions of each row's outputs to its features (docs/models.md), sent as\n"
    "one explain job through the broker. Rows are read as by `maas infer`. The\n"
    "baseline is the model's training mean. Prints the --top features per row and\n"
    "output, by |attribution|; --json all of them.\n\n";

static const char s_epilog[] =
    "\nMethods: integrated_gradients (--steps), gradient_x_input, or shapley (exact,\n"
    "models with at most 14 inputs). At --timeout, or on Ctrl-C, the job is cancelled\n"
    "and the command exits 1 (130 on Ctrl-C); a job still queued after 2 s is said\n"
    "to have no worker.\n"
    "--curve-key FILE and --broker-key FILE: CurveZMQ keys (docs/security.md).\n";

//  The command line into OPTS (flags from the table, then NAME and --input
//  checked); true when the command ends here with exit *CODE.
static bool
s_parse (s_opts_t *opts, const maas_cli_env_t *env, int argc, char **argv, int *code)
{
    *opts = (s_opts_t){.params = maas_explain_params_defaults (),
                       .top = 5,
                       .timeout_ms = 60000,
                       .broker = env->broker};
    bool header = true;
    const char *method = maas_explain_method_name (opts->params.method);
    int output = MAAS_EXPLAIN_OUTPUT_ALL;
    const maas_option_t table[] = {
        {"--input", NULL, MAAS_OPT_STRING, 0, 0, NULL, &opts->input, "FILE",
         "the rows: CSV or JSON, - for stdin", "none: required"},
        {"--no-header", NULL, MAAS_OPT_BOOL, 0, 0, NULL, &header, NULL,
         "the CSV has no header line: columns by position", "off"},
        {"--method", NULL, MAAS_OPT_CHOICE, 0, 0, "integrated_gradients|gradient_x_input|shapley",
         &method, "M", "how to attribute", NULL},
        {"--steps", NULL, MAAS_OPT_UINT, 1, MAAS_EXPLAIN_STEPS_MAX, NULL, &opts->params.steps, "N",
         "integrated gradients' steps", NULL},
        {"--output", NULL, MAAS_OPT_INT, 0, MAAS_MLP_MAX_UNITS - 1, NULL, &output, "K",
         "attribute output K only (from 0)", "every output"},
        {"--top", NULL, MAAS_OPT_UINT, 1, MAAS_MLP_MAX_UNITS, NULL, &opts->top, "K",
         "features printed per row and output", NULL},
        MAAS_CLI_OPT_JSON (&opts->json, "every attribution as one JSON object"),
        {"--timeout", NULL, MAAS_OPT_SECONDS, 0.001, 1000000, NULL, &opts->timeout_ms, "S",
         "wait this long for the result, then cancel the job", NULL},
        {"--timeout-ms", NULL, MAAS_OPT_MS, 1, 1000000000, NULL, &opts->timeout_ms, "MS", NULL,
         NULL},
        MAAS_CLI_OPT_BROKER (&opts->broker),
        MAAS_CLI_OPT_REDIS (&opts->redis, "the registry: the version, the columns"),
    };
    const maas_options_t options = {"maas explain", s_summary, s_epilog, table,
                                    sizeof table / sizeof table[0]};
    int next = 0;
    if (maas_cli_options (&options, argc, argv, &next, code))
        return true;
    *code = MAAS_EXIT_USAGE;
    if (next == argc)
        fprintf (stderr, "maas explain: give NAME[@VER|@ALIAS] (see --help)\n");
    else if (next < argc - 1)
        fprintf (stderr, "maas explain: one NAME[@VER|@ALIAS], not also '%s' (see --help)\n",
                 argv[next + 1]);
    else if (!opts->input)
        fprintf (stderr, "maas explain: give --input FILE (- for stdin) (see --help)\n");
    else if (!maas_cli_broker_bad ("maas explain", opts->broker)) {
        opts->spec = argv[next];
        opts->no_header = !header;
        opts->params.method = (maas_explain_method_t) maas_explain_method_parse (method);
        opts->params.output = output;
        opts->where = maas_cli_redis (env, opts->redis);
        return false;
    }
    return true;
}

//  X's rows as msgpack arrays, then the job: the explain RESULT, or NULL
//  after saying why (*INTERRUPTED set on Ctrl-C).
static maas_result_t *
s_run (maas_client_t *client, const maas_model_ref_t *model, const s_opts_t *opts,
       const maas_tensor_t *x, bool *interrupted)
{
    msgpack_sbuffer params, rows;
    msgpack_sbuffer_init (&params);
    msgpack_sbuffer_init (&rows);
    msgpack_packer pk;
    msgpack_packer_init (&pk, &params, msgpack_sbuffer_write);
    int rc = maas_explain_params_pack (&opts->params, &pk);
    msgpack_packer_init (&pk, &rows, msgpack_sbuffer_write);
    rc |= maas_codec_pack_rows (&pk, x->data, x->rows, x->cols);
    maas_submit_t spec = {.kind = "explain",
                          .model = model->name,
                          .version = (int64_t) model->version,
                          .params = params.data,
                          .params_size = params.size};
    char id[MAAS_PROTO_ID_MAX + 1];
    maas_result_t *result = NULL;
    if (rc != 0 || maas_client_submit (client, &spec, rows.data, rows.size, NULL, NULL, id) != 0)
        fprintf (stderr, "maas explain: %s\n", rc ? "out of memory" : maas_client_error (client));
    else
        result = maas_follow_wait (client, "maas explain", "explain", &opts->where, id,
                                   opts->timeout_ms, interrupted);
    msgpack_sbuffer_destroy (&params);
    msgpack_sbuffer_destroy (&rows);
    return result;
}

//  Name of input I: the model's column, else "xI".
static const char *
s_name (const maas_model_ref_t *model, size_t i, char *buf, size_t size)
{
    if (model->columns && i < model->n_columns)
        return model->columns[i];
    snprintf (buf, size, "x%zu", i);
    return buf;
}

//  Inputs of row R, output KK ordered by |attribution|, largest first, into ORDER.
static void
s_rank (const maas_explain_result_t *out, size_t r, size_t kk, size_t *order)
{
    const float *a = out->attributions + r * out->inputs * out->outputs + kk;
    for (size_t i = 0; i < out->inputs; i++) {
        size_t j = i;
        for (; j > 0 && fabsf (a[order[j - 1] * out->outputs]) < fabsf (a[i * out->outputs]); j--)
            order[j] = order[j - 1];
        order[j] = i;
    }
}

//  One row's output KK: as text, its top features; as JSON, all of them
//  in order of |attribution|.
static void
s_print_output (const maas_explain_result_t *out, const maas_model_ref_t *model, size_t r,
                size_t kk, size_t top, bool json, size_t *order)
{
    size_t at = r * out->outputs + kk, shown = json || top > out->inputs ? out->inputs : top;
    long long index = out->output == MAAS_EXPLAIN_OUTPUT_ALL ? (long long) kk : out->output;
    const float *a = out->attributions + r * out->inputs * out->outputs + kk;
    char buf[32];
    s_rank (out, r, kk, order);
    double fx = out->instance_output[at], fb = out->baseline_output[at];
    double error = out->approximation_error[at];
    if (json)
        printf ("%s{\"output\":%lld,\"instance_output\":%.9g,\"baseline_output\":%.9g,"
                "\"approximation_error\":%.3g,\"attributions\":[",
                kk ? "," : "", index, fx, fb, error);
    else
        printf ("row %zu output %lld: f(x)=%.6g f(baseline)=%.6g error=%.3g\n", r + 1, index, fx,
                fb, error);
    for (size_t j = 0; j < shown; j++) {
        const char *name = s_name (model, order[j], buf, sizeof buf);
        double value = a[order[j] * out->outputs];
        if (json)
            printf ("%s[\"%s\",%.9g]", j ? "," : "", name, value);
        else
            printf ("  %-20s %+.6g\n", name, value);
    }
    if (json)
        printf ("]}");
}

static void
s_print (const maas_explain_result_t *out, const maas_model_ref_t *model, size_t top, bool json)
{
    size_t *order = malloc (out->inputs * sizeof *order);
    if (!order) {
        fprintf (stderr, "maas explain: out of memory\n");
        return;
    }
    if (json)
        printf ("{\"model\":\"%s\",\"version\":%" PRIu64 ",\"method\":\"%s\",\"steps\":%zu"
                ",\"compute_us\":%" PRId64 ",\"rows\":[",
                out->model, out->version, maas_explain_method_name (out->method), out->steps,
                out->compute_us);
    for (size_t r = 0; r < out->rows; r++) {
        printf (json ? "%s[" : "", r ? "," : "");
        for (size_t kk = 0; kk < out->outputs; kk++)
            s_print_output (out, model, r, kk, top, json, order);
        printf (json ? "]" : "");
    }
    printf (json ? "]}\n" : "");
    free (order);
}

//  What s_show prints for: the model (its feature names) and the options.
typedef struct {
    const maas_model_ref_t *model;
    const s_opts_t *opts;
} s_show_t;

//  maas_follow_show_fn: parse RESULT's attributions and print them.
static int
s_show (const maas_result_t *result, void *arg, maas_err_t *err)
{
    const s_show_t *show = arg;
    maas_explain_result_t out;
    int rc = maas_explain_result_parse (&out, result->data, result->size, err);
    if (rc == 0)
        s_print (&out, show->model, show->opts->top, show->opts->json);
    maas_explain_result_clear (&out);
    return rc;
}

int
maas_cmd_explain (int argc, char **argv)
{
    s_opts_t opts;
    maas_cli_env_t env = maas_cli_env ();
    int code = 0;
    if (s_parse (&opts, &env, argc, argv, &code))
        return code;
    signal (SIGPIPE, SIG_IGN);
    if (!env.log_level)
        maas_log_set_level (MAAS_LOG_WARN);
    char err[512];
    maas_model_ref_t model;
    if (maas_model_ref_resolve (&model, opts.spec, &opts.where, err, sizeof err) != 0) {
        fprintf (stderr, "maas explain: %s\n", err);
        maas_model_ref_clear (&model);
        return 1;
    }
    //  The broker first, as maas infer: with none, say so now, not at --timeout-ms.
    maas_client_t *client = maas_cli_client ("maas explain", opts.broker);
    if (client && maas_follow_ping (client, "maas explain", opts.broker, opts.timeout_ms) != 0)
        maas_client_destroy (&client);
    maas_tensor_t *x =
        client ? maas_rows_file_read ("maas explain", opts.input, &model, opts.no_header) : NULL;
    bool interrupted = false;
    maas_result_t *result = x ? s_run (client, &model, &opts, x, &interrupted) : NULL;
    s_show_t show = {&model, &opts};
    int rc = result ? maas_follow_report ("maas explain", result, s_show, &show) : 1;
    maas_result_destroy (&result);
    maas_client_destroy (&client);
    maas_tensor_destroy (&x);
    maas_model_ref_clear (&model);
    return interrupted ? MAAS_EXIT_INTERRUPTED : rc;
}
