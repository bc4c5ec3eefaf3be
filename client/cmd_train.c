/*  cmd_train.c: `maas train NAME --data DATASET --layers ... [--wait]`:
 *  submits a train job; with --wait, follows its progress from the job's
 *  status hash in Redis and prints the published version and its metrics. */
#include "commands.h"
#include "endpoint.h"
#include "env.h"
#include "follow.h"
#include "output.h"
#include "maas.h"

#include <hiredis/hiredis.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define S_POLL_MS 200    //  progress refresh while waiting

static const char s_summary[] =
    "usage: maas train NAME --data DATASET --layers UNITS:ACT[,UNITS:ACT...] [OPTIONS]\n\n"
    "Trains a network on a stored data set (see `maas dataset put`) as a train job and\n"
    "publishes it as the next version of model NAME. Without --wait it prints the job\n"
    "id once the broker has recorded it.\n\n";

static const char s_epilog[] =
    "\n--layers: units and activation of each dense layer, input side first (relu, tanh,\n"
    "sigmoid, softmax, linear), e.g. 64:relu,64:relu,1:sigmoid. --lr, --momentum and\n"
    "--weight-decay refine the defaults of the --optimizer, wherever they stand.\n"
    "Standardised targets (mse) are scaled back when serving.\n"
    "--input-scale X is stored with the model and applied when serving too\n"
    "(0.00392156862745098: /255).\n";

typedef struct {
    maas_training_t spec;         //  the job
    const char *broker;           //  broker frontend endpoint(s)
    const char *redis;            //  Redis URL or NULL
    maas_redis_config_t where;    //  data sets and job status: --redis or the environment's
    const char *prefix;           //  key prefix
    bool wait;                    //  follow the job to its end
    int timeout_ms;               //  with wait: give up after this (0: never)
    bool json;                    //  --json: the result as one JSON object
} s_args_t;

//  The flags that are not the spec's own values: applied once all are read,
//  the optimizer first, since it resets lr and friends to its defaults.
typedef struct {
    const char *data, *layers, *loss, *optimizer, *description;    //  NULL: not given
    double lr, momentum, weight_decay;                             //  NAN: the optimizer's
} s_given_t;

//  TEXT (from WHAT, "--data") into BUF of SIZE bytes; -1 after saying it is too long.
static int
s_copy (const char *what, const char *text, char *buf, size_t size)
{
    if (strlen (text) < size) {
        memcpy (buf, text, strlen (text) + 1);
        return 0;
    }
    fprintf (stderr, "maas train: %s: '%.20s...' is longer than %zu characters\n", what, text,
             size - 1);
    return -1;
}

//  GIVEN into the spec of ARGS, the optimizer before its refinements. 0,
//  or -1 with a message naming the flag.
static int
s_apply (s_args_t *args, const s_given_t *given)
{
    maas_training_t *spec = &args->spec;
    maas_err_t err;
    const char *flag = NULL;    //  the one at fault
    int loss = given->loss ? maas_loss_parse (given->loss) : (int) spec->train.loss;
    if (given->optimizer && maas_training_set_optimizer (spec, given->optimizer, &err) != 0)
        flag = "--optimizer";
    else if (loss < 0) {
        flag = "--loss";
        maas_err_set (&err, MAAS_ERR_INPUT, "unknown loss '%s' (bce, softmax_ce, mse)",
                      given->loss);
    }
    else if (maas_training_parse_layers (spec, given->layers, &err) != 0)
        flag = "--layers";
    else if (!isnan (given->momentum) && spec->train.optim.kind != MAAS_OPTIM_MOMENTUM
             && spec->train.optim.kind != MAAS_OPTIM_NESTEROV) {
        //  Taken silently, it would be recorded in the lineage and do nothing.
        flag = "--momentum";
        maas_err_set (&err, MAAS_ERR_INPUT, "only momentum and nesterov use it, not %s",
                      maas_optim_name (spec->train.optim.kind));
    }
    if (flag) {
        fprintf (stderr, "maas train: %s: %s\n", flag, err.text);
        return -1;
    }
    spec->train.loss = (maas_loss_t) loss;
    maas_optim_config_t *optim = &spec->train.optim;
    optim->lr = isnan (given->lr) ? optim->lr : (float) given->lr;
    optim->momentum = isnan (given->momentum) ? optim->momentum : (float) given->momentum;
    optim->weight_decay =
        isnan (given->weight_decay) ? optim->weight_decay : (float) given->weight_decay;
    if (s_copy ("--data", given->data, spec->dataset, sizeof spec->dataset) != 0
        || (given->description
            && s_copy ("--description", given->description, spec->description,
                       sizeof spec->description)
                != 0))
        return -1;
    return 0;
}

//  What is not a flag's type: one NAME, the required flags, --timeout with
//  --wait, then the spec as a whole. 0, or -1 with a message.
static int
s_check (s_args_t *args, const s_given_t *given, int argc, char **argv, int next)
{
    maas_err_t err;
    if (next != argc - 1) {
        fprintf (stderr, "maas train: give one model NAME (see --help)\n");
        return -1;
    }
    if (!given->data || !given->layers) {
        fprintf (stderr, "maas train: --data and --layers are required (see --help)\n");
        return -1;
    }
    if (args->timeout_ms && !args->wait) {
        fprintf (stderr, "maas train: --timeout is for --wait: without it the job runs on\n");
        return -1;
    }
    if (maas_cli_broker_bad ("maas train", args->broker))
        return -1;
    if (s_copy ("NAME", argv[next], args->spec.model, sizeof args->spec.model) != 0
        || s_apply (args, given) != 0)
        return -1;
    if (maas_training_check (&args->spec, &err) != 0) {
        fprintf (stderr, "maas train: %s\n", err.text);
        return -1;
    }
    return 0;
}

//  ARGV into ARGS through the table. Returns -1 to go on, else the exit
//  code (0 after --help, 2 after a message).
static int
s_parse (int argc, char **argv, const maas_cli_env_t *env, s_args_t *args)
{
    memset (args, 0, sizeof *args);
    maas_training_init (&args->spec);
    args->broker = env->broker;
    args->prefix = "maas:";
    s_given_t given = {.lr = NAN, .momentum = NAN, .weight_decay = NAN};
    maas_train_config_t *t = &args->spec.train;
    const maas_option_t table[] = {
        {"--data", NULL, MAAS_OPT_STRING, 0, 0, NULL, &given.data, "DATASET",
         "the stored data set to train on", "none: required"},
        {"--layers", NULL, MAAS_OPT_STRING, 0, 0, NULL, &given.layers, "L",
         "the dense layers, UNITS:ACT,... (below)", "none: required"},
        {"--loss", NULL, MAAS_OPT_STRING, 0, 0, NULL, &given.loss, "L", "bce, softmax_ce or mse",
         "bce"},
        {"--optimizer", NULL, MAAS_OPT_STRING, 0, 0, NULL, &given.optimizer, "O",
         "adam, sgd, momentum, nesterov, adagrad or rmsprop", "adam"},
        {"--lr", NULL, MAAS_OPT_DOUBLE, 1e-9, 1e6, NULL, &given.lr, "X", "learning rate",
         "the optimizer's"},
        {"--momentum", NULL, MAAS_OPT_DOUBLE, 0, 0.999999, NULL, &given.momentum, "X",
         "momentum (momentum, nesterov)", "0.9"},
        {"--weight-decay", NULL, MAAS_OPT_DOUBLE, 0, 1e6, NULL, &given.weight_decay, "X",
         "L2 weight decay", "0"},
        {"--epochs", NULL, MAAS_OPT_UINT, 1, MAAS_TRAINING_MAX_EPOCHS, NULL, &t->epochs, "N",
         "passes over the data", NULL},
        {"--batch", NULL, MAAS_OPT_UINT, 1, MAAS_TRAIN_MAX_BATCH, NULL, &t->batch_size, "N",
         "rows per step", NULL},
        {"--val-split", NULL, MAAS_OPT_DOUBLE, 0, 0.9, NULL, &t->val_fraction, "X",
         "share of rows held out for validation", NULL},
        {"--patience", NULL, MAAS_OPT_UINT, 0, MAAS_TRAINING_MAX_EPOCHS, NULL, &t->patience, "N",
         "stop after N epochs without progress", "0: off"},
        {"--seed", NULL, MAAS_OPT_U64, 0, 0, NULL, &t->seed, "N",
         "seed of initialisation, split and shuffling", NULL},
        {"--input-scale", NULL, MAAS_OPT_DOUBLE, 1e-30, 1e30, NULL, &args->spec.input_scale, "X",
         "multiply the inputs by X first, in training and serving", NULL},
        {"--no-standardize", NULL, MAAS_OPT_BOOL, 0, 0, NULL, &t->standardize, NULL,
         "train on the inputs as they are", "standardised"},
        {"--no-standardize-target", NULL, MAAS_OPT_BOOL, 0, 0, NULL, &t->standardize_target, NULL,
         "mse: train on the raw targets", "standardised"},
        {"--description", NULL, MAAS_OPT_STRING, 0, 0, NULL, &given.description, "TEXT",
         "stored with the model", "none"},
        {"--wait", NULL, MAAS_OPT_BOOL, 0, 0, NULL, &args->wait, NULL,
         "follow the progress (on stderr), then print the version and its metrics", NULL},
        {"--timeout", NULL, MAAS_OPT_SECONDS, 0.001, 1e6, NULL, &args->timeout_ms, "S",
         "with --wait: cancel the job after S seconds", "never"},
        MAAS_CLI_OPT_JSON (
            &args->json,
            "the job id, or with --wait the outcome, as one JSON object (docs/cli.md)"),
        MAAS_CLI_OPT_BROKER (&args->broker),
        MAAS_CLI_OPT_REDIS (&args->redis, "where data sets and job status are"),
        MAAS_CLI_OPT_PREFIX (&args->prefix),
    };
    const maas_options_t options = {"maas train", s_summary, s_epilog, table,
                                    sizeof table / sizeof table[0]};
    int next = 0, code = 0;
    if (maas_cli_options (&options, argc, argv, &next, &code))
        return code;
    return s_check (args, &given, argc, argv, next) == 0 ? -1 : 2;
}

//  Refuse, before submitting, a network whose model the registry could not
//  store: the data set's width from the store when it answers, else the
//  layers alone (one input), which still catches the widest ones. The
//  trainer checks again with the data it loads. 0, or -1 with a message.
static int
s_check_size (const s_args_t *args)
{
    size_t inputs = 1;
    maas_err_t err;
    maas_err_t why;    //  a store out of reach is not an error here: the trainer says
    maas_dataset_store_t *store = maas_dataset_store_open (&args->where, args->prefix, &why);
    maas_dataset_info_t info;
    if (store && maas_dataset_store_info (store, args->spec.dataset, &info) == 0) {
        inputs = info.cols;
        maas_dataset_info_clear (&info);
    }
    maas_dataset_store_destroy (&store);
    size_t bytes = maas_model_encoded_size (inputs, args->spec.layers, args->spec.n_layers);
    if (maas_registry_size_check (args->spec.model, bytes, &err) == 0)
        return 0;
    fprintf (stderr, "maas train: %s: train fewer or narrower layers\n", err.text);
    return -1;
}

//  Submit the job; its id in ID. 0, or -1 with a message.
static int
s_submit (const s_args_t *args, maas_client_t *client, char id[MAAS_PROTO_ID_MAX + 1])
{
    msgpack_sbuffer params;
    msgpack_sbuffer_init (&params);
    msgpack_packer pk;
    msgpack_packer_init (&pk, &params, msgpack_sbuffer_write);
    int rc = maas_training_pack (&args->spec, &pk);
    maas_submit_t submit = {.kind = "train",
                            .model = args->spec.model,
                            .params = params.data,
                            .params_size = params.size};
    if (rc == 0)
        rc = maas_client_submit (client, &submit, NULL, 0, NULL, NULL, id);
    if (rc != 0)
        fprintf (stderr, "maas train: %s\n", maas_client_error (client));
    msgpack_sbuffer_destroy (&params);
    return rc;
}

//  The number after KEY in MESSAGE ("... eta_s=4.2 ..."), or NaN.
static double
s_field (const char *message, const char *key)
{
    const char *at = strstr (message, key);
    return at ? strtod (at + strlen (key), NULL) : NAN;
}

//  Show MESSAGE (the trainer's epoch line) on stderr unless already shown: a
//  bar redrawn in place on a terminal, else one plain line per epoch.
static void
s_draw (const char *message, double progress, bool tty, char *shown, size_t shown_size)
{
    if (!*message || strcmp (message, shown) == 0)
        return;
    snprintf (shown, shown_size, "%s", message);
    if (!tty) {
        fprintf (stderr, "%s\n", message);
        return;
    }
    size_t epoch = 0, epochs = 0;
    sscanf (message, "epoch=%zu/%zu", &epoch, &epochs);
    bool rmse = strstr (message, "rmse=") != NULL;
    int filled = (int) (progress * 30 + 0.5);
    filled = filled < 0 ? 0 : filled > 30 ? 30 : filled;
    fprintf (stderr,
             "\r[%.*s%.*s] epoch %zu/%zu  loss %.4f  val_loss %.4f  %s %.4f  ETA %.0fs\033[K",
             filled, "##############################", 30 - filled,
             "..............................", epoch, epochs, s_field (message, "train_loss="),
             s_field (message, "val_loss="), rmse ? "rmse" : "accuracy",
             s_field (message, rmse ? "rmse=" : "accuracy="), s_field (message, "eta_s="));
}

//  Read the job's progress from its status hash and show it; its status
//  ("queued", "running", …) into STATUS ("" if unknown).
static void
s_progress (redisContext *redis, const char *prefix, const char *id, bool tty, char *shown,
            size_t shown_size, char *status, size_t status_size)
{
    redisReply *reply =
        redisCommand (redis, "HMGET %sjob:%s progress progress_message status", prefix, id);
    bool ok = reply && reply->type == REDIS_REPLY_ARRAY && reply->elements == 3;
    if (ok && reply->element[1]->type == REDIS_REPLY_STRING)
        s_draw (reply->element[1]->str,
                reply->element[0]->type == REDIS_REPLY_STRING ? atof (reply->element[0]->str) : 0,
                tty, shown, shown_size);
    snprintf (status, status_size, "%s",
              ok && reply->element[2]->type == REDIS_REPLY_STRING ? reply->element[2]->str : "");
    if (reply)
        freeReplyObject (reply);
}

//  Print METRIC NAME unless it was not measured.
static void
s_print_metric (const char *name, double value)
{
    if (!isnan (value))
        printf ("  %-14s %.6g\n", name, value);
}

//  METRIC as a JSON member unless it was not measured; FIRST: no comma
//  before it. Returns whether the next member is still the first.
static bool
s_json_metric (const char *name, double value, bool first)
{
    if (isnan (value))
        return first;
    printf ("%s\"%s\":%.9g", first ? "" : ",", name, value);
    return false;
}

//  A train job's outcome as one JSON object (docs/cli.md): id, status,
//  error, and for a succeeded one model, version, epochs and metrics.
static void
s_print_json (const maas_result_t *result, const maas_training_result_t *out)
{
    printf ("{");
    maas_json_field (stdout, "id", result->id, 1);
    maas_json_field (stdout, "status", result->status, 0);
    maas_json_field (stdout, "error", result->error, 0);
    maas_json_field (stdout, "model", out ? out->model : NULL, 0);
    if (!out) {
        printf (",\"version\":null,\"epochs\":null,\"metrics\":null}\n");
        return;
    }
    printf (",\"version\":%llu,\"epochs\":%llu,\"metrics\":{", (unsigned long long) out->version,
            (unsigned long long) out->epochs);
    bool first = s_json_metric ("accuracy", out->metrics.accuracy, true);
    first = s_json_metric ("rmse", out->metrics.rmse, first);
    first = s_json_metric ("train_loss", out->metrics.train_loss, first);
    first = s_json_metric ("samples_per_s", out->metrics.samples_per_s, first);
    s_json_metric ("val_loss", out->metrics.val_loss, first);
    printf ("}}\n");
}

//  Print what a train job returned: version and metrics (text or JSON).
static void
s_print_result (const maas_result_t *result, bool json)
{
    maas_training_result_t out;
    maas_err_t err;
    bool parsed = strcmp (result->status, "succeeded") == 0
        && maas_training_result_parse (&out, result->data, result->size, &err) == 0;
    if (json)
        s_print_json (result, parsed ? &out : NULL);
    else if (!parsed)
        printf ("job %s succeeded (%zu bytes of result)\n", result->id, result->size);
    else {
        printf ("model %s version %llu published by job %s after %llu epochs\n", out.model,
                (unsigned long long) out.version, result->id, (unsigned long long) out.epochs);
        s_print_metric ("accuracy", out.metrics.accuracy);
        s_print_metric ("rmse", out.metrics.rmse);
        s_print_metric ("train_loss", out.metrics.train_loss);
        s_print_metric ("samples_per_s", out.metrics.samples_per_s);
        s_print_metric ("val_loss", out.metrics.val_loss);
    }
}

//  Follow job ID until it ends. At the timeout, or on Ctrl-C, the job is
//  cancelled, not left queued. Returns the exit code (130 on Ctrl-C).
static int
s_follow (const s_args_t *args, maas_client_t *client, const char *id)
{
    char shown[512] = "", status[32] = "";
    maas_err_t err;
    redisContext *redis = maas_redis_connect (&args->where, 2000, &err);
    if (!redis)
        fprintf (stderr, "maas train: no progress to show: %s\n", err.text);
    fprintf (stderr, "maas train: job %s submitted (Ctrl-C cancels it)\n", id);
    bool tty = isatty (STDERR_FILENO), interrupted = false, said_queued = false;
    int64_t start = maas_clock_mono_ms (),
            give_up = args->timeout_ms > 0 ? start + args->timeout_ms : INT64_MAX;
    maas_result_t *result = NULL;
    while (!result && !interrupted && maas_clock_mono_ms () < give_up) {
        result = maas_client_wait (client, id, S_POLL_MS);
        if (redis && !result)
            s_progress (redis, args->prefix, id, tty, shown, sizeof shown, status, sizeof status);
        if (!said_queued && strcmp (status, "queued") == 0
            && maas_clock_mono_ms () - start >= MAAS_FOLLOW_QUEUED_MS) {
            maas_follow_say_queued ("maas train", id, "train", maas_clock_mono_ms () - start);
            said_queued = true;
        }
        interrupted = zsys_interrupted;
    }
    if (redis && result)
        s_progress (redis, args->prefix, id, tty, shown, sizeof shown, status, sizeof status);
    if (tty && *shown)
        fprintf (stderr, "\n");
    if (redis)
        redisFree (redis);
    if (!result) {
        fprintf (stderr, "maas train: %s after %s: cancelling job %s (it was %s)\n",
                 interrupted ? "interrupted" : "timed out", interrupted ? "Ctrl-C" : "--timeout",
                 id, *status ? status : "not recorded");
        result = maas_follow_cancel (client, id);
    }
    int rc = !result ? 1 : strcmp (result->status, "succeeded") == 0 ? 0 : 1;
    if (!result)
        fprintf (stderr, "maas train: no answer to the cancel of job %s; see `maas job %s`\n", id,
                 id);
    else if (rc == 0 || args->json)
        s_print_result (result, args->json);
    if (result && rc != 0)
        maas_follow_say_failed ("maas train", result);
    maas_result_destroy (&result);
    return interrupted ? MAAS_EXIT_INTERRUPTED : rc;
}

//  Without --wait: return once the broker has recorded the job (its status
//  hash exists) or refused it.
static int
s_submitted (const s_args_t *args, maas_client_t *client, const char *id)
{
    maas_err_t err;
    redisContext *redis = maas_redis_connect (&args->where, 2000, &err);
    int rc = -1;
    for (int i = 0; i < 100 && rc < 0; i++) {
        maas_result_t *result = maas_client_wait (client, id, 100);
        if (result) {
            rc = strcmp (result->status, "succeeded") == 0 ? 0 : 1;
            if (rc)
                maas_follow_say_failed ("maas train", result);
            maas_result_destroy (&result);
            break;
        }
        redisReply *reply =
            redis ? redisCommand (redis, "EXISTS %sjob:%s", args->prefix, id) : NULL;
        if (reply && reply->type == REDIS_REPLY_INTEGER && reply->integer == 1)
            rc = 0;
        if (reply)
            freeReplyObject (reply);
    }
    if (redis)
        redisFree (redis);
    if (rc < 0)
        fprintf (stderr, "maas train: no answer from the broker about job %s\n", id);
    else if (rc == 0 && args->json)
        printf ("{\"id\":\"%s\",\"status\":\"submitted\"}\n", id);
    else if (rc == 0)
        printf ("%s\n", id);
    return rc == 0 ? 0 : 1;
}

int
maas_cmd_train (int argc, char **argv)
{
    s_args_t args;
    maas_cli_env_t env = maas_cli_env ();
    int code = s_parse (argc, argv, &env, &args);
    if (code >= 0)
        return code;
    args.where = maas_cli_redis (&env, args.redis);
    signal (SIGPIPE, SIG_IGN);    //  a Redis that went away is an error, not a signal
    if (s_check_size (&args) != 0)
        return 1;
    maas_client_t *client = maas_cli_client ("maas train", args.broker);
    if (!client)
        return 1;    //  said by maas_cli_client
    char id[MAAS_PROTO_ID_MAX + 1];
    if (maas_follow_ping (client, "maas train", args.broker, args.timeout_ms) != 0) {
        maas_client_destroy (&client);
        return 1;
    }
    int rc = s_submit (&args, client, id) != 0 ? 1
        : args.wait                            ? s_follow (&args, client, id)
                                               : s_submitted (&args, client, id);
    maas_client_destroy (&client);
    return rc;
}
