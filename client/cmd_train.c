/*  cmd_train.c: `maas train NAME --data DATASET --layers ... [--wait]`:
 *  submits a train job; with --wait, follows its progress from the job's
 *  status hash in Redis and prints the published version and its metrics. */
#include "commands.h"
#include "maas.h"

#include <errno.h>
#include <hiredis/hiredis.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define S_POLL_MS 200               //  progress refresh while waiting

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
    "  --no-standardize    do not standardise the inputs\n"
    "  --description TEXT  stored with the model\n"
    "  --wait              follow the progress, then print the version and its metrics\n"
    "  --timeout S         with --wait, give up after S seconds (default: never)\n"
    "  --broker EP         broker frontend ($MAAS_BROKER_FRONTEND, default tcp://127.0.0.1:5555)\n"
    "  --redis URL         where job status is ($MAAS_REDIS_URL)\n"
    "  --prefix P          Redis key prefix (default maas:)\n";

typedef struct {
    maas_train_spec_t spec;         //  the job
    const char *broker;             //  broker frontend endpoint(s)
    const char *redis;              //  Redis URL or NULL
    const char *prefix;             //  key prefix
    bool wait;                      //  follow the job to its end
    double timeout_s;               //  with wait: give up after this (0: never)
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
    maas_train_spec_t *spec = &args->spec;
    maas_train_config_t *t = &spec->train;
    char err[256];
    double number = 0;
    int rc = 0;
    if (strcmp (flag, "--data") == 0)
        snprintf (spec->dataset, sizeof spec->dataset, "%s", value);
    else if (strcmp (flag, "--layers") == 0)
        rc = maas_train_spec_parse_layers (spec, value, err, sizeof err);
    else if (strcmp (flag, "--loss") == 0) {
        int loss = maas_loss_parse (value);
        rc = loss < 0 ? -1 : 0;
        snprintf (err, sizeof err, "unknown loss '%s' (bce, softmax_ce, mse)", value);
        t->loss = loss < 0 ? t->loss : (maas_loss_t) loss;
    } else if (strcmp (flag, "--optimizer") == 0)
        rc = maas_train_spec_set_optimizer (spec, value, err, sizeof err);
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
    else {
        fprintf (stderr, "maas train: unknown flag %s\n", flag);
        return -1;
    }
    if (rc != 0 && (strcmp (flag, "--layers") == 0 || strcmp (flag, "--loss") == 0
                    || strcmp (flag, "--optimizer") == 0))
        fprintf (stderr, "maas train: %s\n", err);
    return rc;
}

static int
s_parse (int argc, char **argv, s_args_t *args)
{
    memset (args, 0, sizeof *args);
    maas_train_spec_init (&args->spec);
    const char *env = getenv ("MAAS_BROKER_FRONTEND");
    args->broker = env && *env ? env : "tcp://127.0.0.1:5555";
    args->prefix = "maas:";
    //  The optimizer first: it sets the defaults --lr and others refine.
    for (int i = 1; i + 1 < argc; i++)
        if (strcmp (argv[i], "--optimizer") == 0 && s_flag (args, argv[i], argv[i + 1]) != 0)
            return -1;
    for (int i = 1; i < argc; i++) {
        if (strcmp (argv[i], "--wait") == 0)
            args->wait = true;
        else if (strcmp (argv[i], "--no-standardize") == 0)
            args->spec.train.standardize = false;
        else if (argv[i][0] != '-' && !*args->spec.model)
            snprintf (args->spec.model, sizeof args->spec.model, "%s", argv[i]);
        else if (i + 1 == argc) {
            fprintf (stderr, "maas train: %s needs a value\n", argv[i]);
            return -1;
        } else if (strcmp (argv[i], "--optimizer") == 0)
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
    if (maas_train_spec_check (&args->spec, err, sizeof err) != 0) {
        fprintf (stderr, "maas train: %s\n", err);
        return -1;
    }
    return 0;
}

//  Submit the job; its id in ID. 0, or -1 with a message.
static int
s_submit (const s_args_t *args, maas_client_t *client, char id[MAAS_PROTO_ID_MAX + 1])
{
    msgpack_sbuffer params;
    msgpack_sbuffer_init (&params);
    msgpack_packer pk;
    msgpack_packer_init (&pk, &params, msgpack_sbuffer_write);
    int rc = maas_train_spec_pack (&args->spec, &pk);
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

//  Show MESSAGE (the trainer's epoch line) unless already shown: a bar
//  redrawn in place on a terminal, else one plain line per epoch.
static void
s_draw (const char *message, double progress, bool tty, char *shown, size_t shown_size)
{
    if (!*message || strcmp (message, shown) == 0)
        return;
    snprintf (shown, shown_size, "%s", message);
    if (!tty) {
        printf ("%s\n", message);
        fflush (stdout);
        return;
    }
    size_t epoch = 0, epochs = 0;
    sscanf (message, "epoch=%zu/%zu", &epoch, &epochs);
    bool rmse = strstr (message, "rmse=") != NULL;
    int filled = (int) (progress * 30 + 0.5);
    filled = filled < 0 ? 0 : filled > 30 ? 30 : filled;
    printf ("\r[%.*s%.*s] epoch %zu/%zu  loss %.4f  val_loss %.4f  %s %.4f  ETA %.0fs\033[K",
            filled, "##############################", 30 - filled,
            "..............................", epoch, epochs, s_field (message, "train_loss="),
            s_field (message, "val_loss="), rmse ? "rmse" : "accuracy",
            s_field (message, rmse ? "rmse=" : "accuracy="), s_field (message, "eta_s="));
    fflush (stdout);
}

//  Read the job's progress from its status hash and show it.
static void
s_progress (redisContext *redis, const char *prefix, const char *id, bool tty, char *shown,
            size_t shown_size)
{
    redisReply *reply = redisCommand (redis, "HMGET %sjob:%s progress progress_message", prefix,
                                      id);
    if (reply && reply->type == REDIS_REPLY_ARRAY && reply->elements == 2
        && reply->element[1]->type == REDIS_REPLY_STRING)
        s_draw (reply->element[1]->str,
                reply->element[0]->type == REDIS_REPLY_STRING ? atof (reply->element[0]->str)
                                                              : 0,
                tty, shown, shown_size);
    if (reply)
        freeReplyObject (reply);
}

//  Print what a succeeded train job returned: version and metrics.
static void
s_print_result (const maas_result_t *result)
{
    msgpack_unpacked message;
    msgpack_unpacked_init (&message);
    maas_codec_map_t map, metrics;
    char err[256], model[MAAS_TRAIN_SPEC_NAME_MAX + 1] = "?";
    uint64_t version = 0, epochs = 0;
    if (maas_codec_unpack (result->data, result->size, 0, &message, err, sizeof err) != 0
        || maas_codec_map_init (&map, &message.data, "result") != 0
        || maas_codec_map_str_copy (&map, "model", model, sizeof model) != 0
        || maas_codec_map_uint64 (&map, "version", &version) != 0
        || maas_codec_map_uint64 (&map, "epochs", &epochs) != 0
        || maas_codec_map_map (&map, "metrics", &metrics) != 0) {
        printf ("job %s succeeded (%zu bytes of result)\n", result->id, result->size);
        msgpack_unpacked_destroy (&message);
        return;
    }
    printf ("model %s version %llu published by job %s after %llu epochs\n", model,
            (unsigned long long) version, result->id, (unsigned long long) epochs);
    for (uint32_t i = 0; i < metrics.map->size; i++) {
        const msgpack_object_kv *kv = &metrics.map->ptr[i];
        if (kv->key.type == MSGPACK_OBJECT_STR && kv->val.type == MSGPACK_OBJECT_FLOAT64)
            printf ("  %-14.*s %.6g\n", (int) kv->key.via.str.size, kv->key.via.str.ptr,
                    kv->val.via.f64);
    }
    msgpack_unpacked_destroy (&message);
}

//  Follow job ID until it ends (or the timeout, or Ctrl-C: then cancel it
//  and wait for the answer). Returns the exit code.
static int
s_follow (const s_args_t *args, maas_client_t *client, const char *id)
{
    char err[256], shown[512] = "";
    redisContext *redis = maas_redis_connect (maas_redis_url_pick (args->redis), 2000, err,
                                              sizeof err);
    if (!redis)
        fprintf (stderr, "maas train: no progress to show: %s\n", err);
    bool tty = isatty (STDOUT_FILENO), cancelled = false;
    int64_t give_up = args->timeout_s > 0
        ? maas_clock_mono_ms () + (int64_t) (args->timeout_s * 1000) : INT64_MAX;
    maas_result_t *result = NULL;
    while (!result && maas_clock_mono_ms () < give_up) {
        result = maas_client_wait (client, id, S_POLL_MS);
        if (redis && !result)
            s_progress (redis, args->prefix, id, tty, shown, sizeof shown);
        if (zsys_interrupted && !cancelled) {
            fprintf (stderr, "\nmaas train: cancelling job %s\n", id);
            zsys_interrupted = 0;
            maas_client_cancel (client, id);
            cancelled = true;
            give_up = maas_clock_mono_ms () + 10000;
        }
    }
    if (redis && result)
        s_progress (redis, args->prefix, id, tty, shown, sizeof shown);
    if (tty && *shown)
        printf ("\n");
    if (redis)
        redisFree (redis);
    if (!result) {
        fprintf (stderr, "maas train: job %s still running; follow it with `maas job %s`\n", id,
                 id);
        return 1;
    }
    int rc = strcmp (result->status, "succeeded") == 0 ? 0 : 1;
    if (rc == 0)
        s_print_result (result);
    else
        fprintf (stderr, "maas train: job %s %s: %s\n", id, result->status,
                 result->error ? result->error : "no reason given");
    maas_result_destroy (&result);
    return rc;
}

//  Without --wait: return once the broker has recorded the job (its status
//  hash exists) or refused it.
static int
s_submitted (const s_args_t *args, maas_client_t *client, const char *id)
{
    char err[256];
    redisContext *redis = maas_redis_connect (maas_redis_url_pick (args->redis), 2000, err,
                                              sizeof err);
    int rc = -1;
    for (int i = 0; i < 100 && rc < 0; i++) {
        maas_result_t *result = maas_client_wait (client, id, 100);
        if (result) {
            rc = strcmp (result->status, "succeeded") == 0 ? 0 : 1;
            if (rc)
                fprintf (stderr, "maas train: job %s %s: %s\n", id, result->status,
                         result->error ? result->error : "no reason given");
            maas_result_destroy (&result);
            break;
        }
        redisReply *reply = redis ? redisCommand (redis, "EXISTS %sjob:%s", args->prefix, id)
                                  : NULL;
        if (reply && reply->type == REDIS_REPLY_INTEGER && reply->integer == 1)
            rc = 0;
        if (reply)
            freeReplyObject (reply);
    }
    if (redis)
        redisFree (redis);
    if (rc < 0)
        fprintf (stderr, "maas train: no answer from the broker about job %s\n", id);
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
    if (s_parse (argc, argv, &args) != 0)
        return 2;
    signal (SIGPIPE, SIG_IGN);      //  a Redis that went away is an error, not a signal
    maas_client_t *client = maas_cli_client ("maas train", args.broker);
    if (!client) {
        fprintf (stderr, "maas train: cannot use broker endpoint '%s'\n", args.broker);
        return 1;
    }
    char id[MAAS_PROTO_ID_MAX + 1];
    int rc = s_submit (&args, client, id) != 0 ? 1
           : args.wait ? s_follow (&args, client, id)
                       : s_submitted (&args, client, id);
    maas_client_destroy (&client);
    return rc;
}
