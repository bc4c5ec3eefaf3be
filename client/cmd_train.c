/*  cmd_train.c: `maas train NAME --data DATASET --layers ... [--wait]`:
 *  submits a train job; with --wait, follows its progress from the job's
 *  status hash in Redis and prints the published version and its metrics. */
#include "commands.h"
#include "env.h"
#include "follow.h"
#include "output.h"
#include "maas.h"

#include <errno.h>
#include <hiredis/hiredis.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define S_POLL_MS 200    //  progress refresh while waiting

static const char s_usage[] =
    "usage: maas train NAME --data DATASET --layers UNITS:ACT[,UNITS:ACT...] [OPTIONS]\n\n"
    "Trains a network on a stored data set (see `maas dataset put`) as a train job and\n"
    "publishes it as the next version of model NAME.\n\n"
    "  --layers L          e.g. 64:relu,64:relu,1:sigmoid (relu tanh sigmoid softmax linear)\n"
    "  --loss L            bce (default), softmax_ce, mse\n"
    "  --optimizer O       adam (default), sgd, momentum, nesterov, adagrad, rmsprop\n"
    "  --lr X              learning rate (default: the optimizer's)\n"
    "  --momentum X        momentum (momentum, nesterov)\n"
    "  --weight-decay X    L2 weight decay (default 0)\n"
    "  --epochs N          passes over the data (default 10)\n"
    "  --batch N           rows per step (default 32)\n"
    "  --val-split X       share of rows held out for validation (default 0.2)\n"
    "  --patience N        early stopping after N epochs without progress (default off)\n"
    "  --seed N            seed for initialisation, split and shuffling (default 0)\n"
    "  --input-scale X     multiply the inputs by X first (0.00392156862745098: /255),\n"
    "                      in training and, stored with the model, when serving\n"
    "  --no-standardize    do not standardise the inputs\n"
    "  --no-standardize-target\n"
    "                      mse: train on the raw targets (default: standardised on\n"
    "                      the training rows, scaled back when serving)\n"
    "  --description TEXT  stored with the model\n"
    "  --wait              follow the progress (on stderr), then print the version and\n"
    "                      its metrics\n"
    "  --json              print the job id, or with --wait the outcome, as one JSON\n"
    "                      object (docs/cli.md)\n"
    "  --timeout S         with --wait, cancel the job after S seconds (default: never)\n"
    "  --broker EP         broker frontend ($MAAS_BROKER_FRONTEND, default tcp://127.0.0.1:5555)\n"
    "  --redis URL         where job status is ($MAAS_REDIS_URL)\n"
    "  --prefix P          Redis key prefix (default maas:)\n";

typedef struct {
    maas_training_t spec;         //  the job
    const char *broker;           //  broker frontend endpoint(s)
    const char *redis;            //  Redis URL or NULL
    maas_redis_config_t where;    //  data sets and job status: --redis or the environment's
    const char *prefix;           //  key prefix
    bool wait;                    //  follow the job to its end
    double timeout_s;             //  with wait: give up after this (0: never)
    bool json;                    //  --json: the result as one JSON object
} s_args_t;

//  Parse TEXT as a number in [MIN, MAX]; -1 with a message.
static int
s_number (const char *flag, const char *text, double min, double max, double *value)
{
    char *end;
    errno = 0;
    double parsed = strtod (text, &end);
    if (errno || *end || end == text || !(parsed >= min && parsed <= max)) {
        fprintf (stderr, "maas train: %s needs a number in %g..%g, got '%s'\n", flag, min, max,
                 text);
        return -1;
    }
    *value = parsed;
    return 0;
}

//  One flag with its VALUE into ARGS; -1 with a message. Optimizer first
//  (it resets lr and friends to its defaults), so the caller orders flags.
static int
s_flag (s_args_t *args, const char *flag, const char *value)
{
    maas_training_t *spec = &args->spec;
    maas_train_config_t *t = &spec->train;
    char err[256];
    double number = 0;
    int rc = 0;
    if (strcmp (flag, "--data") == 0)
        snprintf (spec->dataset, sizeof spec->dataset, "%s", value);
    else if (strcmp (flag, "--layers") == 0)
        rc = maas_training_parse_layers (spec, value, err, sizeof err);
    else if (strcmp (flag, "--loss") == 0) {
        int loss = maas_loss_parse (value);
        rc = loss < 0 ? -1 : 0;
        snprintf (err, sizeof err, "unknown loss '%s' (bce, softmax_ce, mse)", value);
        t->loss = loss < 0 ? t->loss : (maas_loss_t) loss;
    }
    else if (strcmp (flag, "--optimizer") == 0)
        rc = maas_training_set_optimizer (spec, value, err, sizeof err);
    else if (strcmp (flag, "--lr") == 0 && !(rc = s_number (flag, value, 0, 1e6, &number)))
        t->optim.lr = (float) number;
    else if (strcmp (flag, "--momentum") == 0 && !(rc = s_number (flag, value, 0, 1, &number)))
        t->optim.momentum = (float) number;
    else if (strcmp (flag, "--weight-decay") == 0
             && !(rc = s_number (flag, value, 0, 1e6, &number)))
        t->optim.weight_decay = (float) number;
    else if (strcmp (flag, "--epochs") == 0 && !(rc = s_number (flag, value, 1, 1e5, &number)))
        t->epochs = (size_t) number;
    else if (strcmp (flag, "--batch") == 0 && !(rc = s_number (flag, value, 1, 65536, &number)))
        t->batch_size = (size_t) number;
    else if (strcmp (flag, "--val-split") == 0)
        rc = s_number (flag, value, 0, 0.9, &t->val_fraction);
    else if (strcmp (flag, "--input-scale") == 0)
        rc = s_number (flag, value, 1e-30, 1e30, &spec->input_scale);
    else if (strcmp (flag, "--patience") == 0 && !(rc = s_number (flag, value, 0, 1e6, &number)))
        t->patience = (size_t) number;
    else if (strcmp (flag, "--seed") == 0) {
        char *end;
        errno = 0;
        t->seed = strtoull (value, &end, 10);
        if (errno || *end || end == value || *value == '-') {
            fprintf (stderr, "maas train: --seed needs a whole number, got '%s'\n", value);
            rc = -1;
        }
    }
    else if (strcmp (flag, "--description") == 0)
        snprintf (spec->description, sizeof spec->description, "%s", value);
    else if (strcmp (flag, "--timeout") == 0)
        rc = s_number (flag, value, 0, 1e7, &args->timeout_s);
    else if (strcmp (flag, "--broker") == 0)
        args->broker = value;
    else if (strcmp (flag, "--redis") == 0)
        args->redis = value;
    else if (strcmp (flag, "--prefix") == 0)
        args->prefix = value;
    else if (rc == 0) {    //  (rc != 0: a known flag's bad value, already said)
        fprintf (stderr, "maas train: unknown flag %s\n", flag);
        return -1;
    }
    if (rc != 0
        && (strcmp (flag, "--layers") == 0 || strcmp (flag, "--loss") == 0
            || strcmp (flag, "--optimizer") == 0))
        fprintf (stderr, "maas train: %s\n", err);
    return rc;
}

static int
s_parse (int argc, char **argv, const maas_cli_env_t *env, s_args_t *args)
{
    memset (args, 0, sizeof *args);
    maas_training_init (&args->spec);
    args->broker = env->broker;
    args->prefix = "maas:";
    //  The optimizer first: it sets the defaults --lr and others refine.
    for (int i = 1; i + 1 < argc; i++)
        if (strcmp (argv[i], "--optimizer") == 0 && s_flag (args, argv[i], argv[i + 1]) != 0)
            return -1;
    for (int i = 1; i < argc; i++) {
        if (strcmp (argv[i], "--wait") == 0)
            args->wait = true;
        else if (strcmp (argv[i], "--json") == 0)
            args->json = true;
        else if (strcmp (argv[i], "--no-standardize") == 0)
            args->spec.train.standardize = false;
        else if (strcmp (argv[i], "--no-standardize-target") == 0)
            args->spec.train.standardize_target = false;
        else if (argv[i][0] != '-' && !*args->spec.model)
            snprintf (args->spec.model, sizeof args->spec.model, "%s", argv[i]);
        else if (i + 1 == argc) {
            fprintf (stderr, "maas train: %s needs a value\n", argv[i]);
            return -1;
        }
        else if (strcmp (argv[i], "--optimizer") == 0)
            i++;
        else if (s_flag (args, argv[i], argv[i + 1]) != 0)
            return -1;
        else
            i++;
    }
    char err[256];
    if (!*args->spec.dataset || !args->spec.n_layers) {
        fprintf (stderr, "maas train: --data and --layers are required\n%s", s_usage);
        return -1;
    }
    if (maas_training_check (&args->spec, err, sizeof err) != 0) {
        fprintf (stderr, "maas train: %s\n", err);
        return -1;
    }
    return 0;
}

//  Refuse, before submitting, a network whose model the registry could not
//  store: the data set's width from the store when it answers, else the
//  layers alone (one input), which still catches the widest ones. The
//  trainer checks again with the data it loads. 0, or -1 with a message.
static int
s_check_size (const s_args_t *args)
{
    size_t inputs = 1;
    char err[512];
    maas_err_t why;    //  a store out of reach is not an error here: the trainer says
    maas_dataset_store_t *store = maas_dataset_store_open (&args->where, args->prefix, &why);
    maas_dataset_info_t info;
    if (store && maas_dataset_store_info (store, args->spec.dataset, &info) == 0) {
        inputs = info.cols;
        maas_dataset_info_clear (&info);
    }
    maas_dataset_store_destroy (&store);
    size_t bytes = maas_model_encoded_size (inputs, args->spec.layers, args->spec.n_layers);
    if (maas_registry_size_check (args->spec.model, bytes, err, sizeof err) == 0)
        return 0;
    fprintf (stderr, "maas train: %s: train fewer or narrower layers\n", err);
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
    char err[256];
    bool parsed = strcmp (result->status, "succeeded") == 0
        && maas_training_result_parse (&out, result->data, result->size, err, sizeof err) == 0;
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
    char err[256], shown[512] = "", status[32] = "";
    redisContext *redis = maas_redis_connect (&args->where, 2000, err, sizeof err);
    if (!redis)
        fprintf (stderr, "maas train: no progress to show: %s\n", err);
    fprintf (stderr, "maas train: job %s submitted (Ctrl-C cancels it)\n", id);
    bool tty = isatty (STDERR_FILENO), interrupted = false, said_queued = false;
    int64_t start = maas_clock_mono_ms (),
            give_up = args->timeout_s > 0 ? start + (int64_t) (args->timeout_s * 1000) : INT64_MAX;
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
    char err[256];
    redisContext *redis = maas_redis_connect (&args->where, 2000, err, sizeof err);
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
    if (argc < 2 || strcmp (argv[1], "--help") == 0 || strcmp (argv[1], "-h") == 0) {
        fputs (s_usage, argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    maas_cli_env_t env = maas_cli_env ();
    if (s_parse (argc, argv, &env, &args) != 0)
        return 2;
    args.where = maas_cli_redis (&env, args.redis);
    signal (SIGPIPE, SIG_IGN);    //  a Redis that went away is an error, not a signal
    if (s_check_size (&args) != 0)
        return 1;
    maas_client_t *client = maas_cli_client ("maas train", args.broker);
    if (!client)
        return 1;    //  said by maas_cli_client
    char id[MAAS_PROTO_ID_MAX + 1];
    if (maas_follow_ping (client, "maas train", args.broker) != 0) {
        maas_client_destroy (&client);
        return 1;
    }
    int rc = s_submit (&args, client, id) != 0 ? 1
        : args.wait                            ? s_follow (&args, client, id)
                                               : s_submitted (&args, client, id);
    maas_client_destroy (&client);
    return rc;
}
