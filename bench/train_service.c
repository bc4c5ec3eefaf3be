/*  train_service.c: training throughput through the service (a train job:
 *  maas-broker, maas-trainer, data set in Redis) against the same training
 *  in process, measured in the same run. Prints JSON lines on stdout. */
#include "config.h"
#include "maas.h"
#include "proc.h"

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef MAAS_REDIS_SERVER
#define MAAS_REDIS_SERVER "redis-server"
#endif

#define S_ROWS   100000    //  synthetic rows, as bench/train's seed case
#define S_EPOCHS 10
#define S_BATCH  32
#define S_RUNS   5    //  best of, for each path

static void
s_sleep_ms (int ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long) (ms % 1000) * 1000000L};
    nanosleep (&ts, NULL);
}

static maas_training_t
s_seed_spec (void)
{
    maas_training_t spec;
    maas_training_init (&spec);
    snprintf (spec.model, sizeof spec.model, "bench-seed");
    snprintf (spec.dataset, sizeof spec.dataset, "bench-synthetic10");
    maas_err_t err;
    maas_training_parse_layers (&spec, "64:relu,64:relu,1:sigmoid", &err);
    spec.train.epochs = S_EPOCHS;
    spec.train.batch_size = S_BATCH;
    spec.train.val_fraction = 0;       //  as bench/train's synthetic case: the
    spec.train.standardize = false;    //  defaults of maas_train_defaults, seed 1
    spec.train.seed = 1;
    return spec;
}

//  Samples/s of one seed training in this process.
static double
s_in_process (const maas_dataset_t *data, const maas_training_t *spec)
{
    double best = 0;
    {
        maas_mlp_t *mlp = maas_mlp_new (maas_dataset_cols (data), spec->layers, spec->n_layers);
        maas_mlp_init (mlp, spec->train.seed);
        maas_err_t err;
        maas_train_t *train = maas_train_new (mlp, &spec->train, &err);
        maas_train_result_t result;
        int64_t start = maas_clock_mono_us ();
        maas_train_fit (train, maas_dataset_features (data)->data, maas_dataset_labels (data)->data,
                        maas_dataset_rows (data), &result);
        double seconds = (double) (maas_clock_mono_us () - start) / 1e6;
        double rate = (double) (result.train_rows * result.epochs_run) / seconds;
        best = rate > best ? rate : best;
        fprintf (stderr, "in process: %.0f samples/s\n", rate);
        maas_train_destroy (&train);
        maas_mlp_destroy (&mlp);
    }
    return best;
}

//  Samples/s of the same training as a train job, submit to result.
static double
s_service (maas_client_t *client, const maas_training_t *spec, size_t rows)
{
    double best = 0;
    msgpack_sbuffer params;
    msgpack_sbuffer_init (&params);
    msgpack_packer pk;
    msgpack_packer_init (&pk, &params, msgpack_sbuffer_write);
    maas_training_pack (spec, &pk);
    {
        maas_submit_t submit = {.kind = "train",
                                .model = spec->model,
                                .params = params.data,
                                .params_size = params.size};
        char id[MAAS_PROTO_ID_MAX + 1];
        int64_t start = maas_clock_mono_us ();
        maas_result_t *result = NULL;
        if (maas_client_submit (client, &submit, NULL, 0, NULL, NULL, id) == 0)
            result = maas_client_wait (client, id, 600000);
        double seconds = (double) (maas_clock_mono_us () - start) / 1e6;
        if (!result || strcmp (result->status, "succeeded") != 0) {
            fprintf (stderr, "train job failed: %s\n",
                     result && result->error ? result->error : "no result");
            maas_result_destroy (&result);
            msgpack_sbuffer_destroy (&params);
            return 0;
        }
        maas_result_destroy (&result);
        double rate = (double) (rows * S_EPOCHS) / seconds;
        best = rate > best ? rate : best;
        fprintf (stderr, "train job: %.0f samples/s (%.3f s submit to result)\n", rate, seconds);
    }
    msgpack_sbuffer_destroy (&params);
    return best;
}

typedef struct {
    char dir[64];                    //  temp dir for sockets and logs
    char url[300];                   //  redis URL
    char front[300];                 //  broker frontend
    char back[300];                  //  broker backend
    char log[300];                   //  all processes' output
    pid_t redis, broker, trainer;    //  child processes
} s_stack_t;

static int
s_stack_up (s_stack_t *stack, const char *top_build)
{
    snprintf (stack->dir, sizeof stack->dir, "/tmp/maas-bench-train-XXXXXX");
    if (!mkdtemp (stack->dir))
        return -1;
    char sock[128], broker[512], trainer[512];
    snprintf (sock, sizeof sock, "%s/redis.sock", stack->dir);
    snprintf (stack->url, sizeof stack->url, "unix://%s", sock);
    snprintf (stack->front, sizeof stack->front, "ipc://%s/front", stack->dir);
    snprintf (stack->back, sizeof stack->back, "ipc://%s/back", stack->dir);
    snprintf (stack->log, sizeof stack->log, "%s/stack.log", stack->dir);
    snprintf (broker, sizeof broker, "%s/broker/maas-broker", top_build);
    snprintf (trainer, sizeof trainer, "%s/trainer/maas-trainer", top_build);
    const char *redis_argv[] = {
        MAAS_REDIS_SERVER, "--port", "0", "--unixsocket", sock, "--save", "",
        "--appendonly",    "no",     NULL};
    const char *broker_argv[] = {broker,    "--frontend", stack->front,  "--backend", stack->back,
                                 "--redis", stack->url,   "--log-level", "warn",      NULL};
    const char *trainer_argv[] = {trainer,    "--broker",    stack->back, "--redis",
                                  stack->url, "--log-level", "warn",      NULL};
    stack->redis = bench_spawn (redis_argv, stack->log);
    for (int i = 0; i < 100 && access (sock, F_OK) != 0; i++)
        s_sleep_ms (20);
    stack->broker = bench_spawn (broker_argv, stack->log);
    stack->trainer = bench_spawn (trainer_argv, stack->log);
    return stack->redis > 0 && stack->broker > 0 && stack->trainer > 0 ? 0 : -1;
}

static void
s_stack_down (s_stack_t *stack)
{
    bench_stop (&stack->trainer);
    bench_stop (&stack->broker);
    bench_stop (&stack->redis);
    char command[400];
    snprintf (command, sizeof command, "rm -rf '%s'", stack->dir);
    if (system (command) != 0)
        fprintf (stderr, "could not remove %s\n", stack->dir);
}

int
main (int argc, char **argv)
{
    const char *top_build = argc > 1 ? argv[1] : MAAS_TOP_BUILDDIR;
    maas_blas_set_threads (1);    //  as maas-trainer runs by default
    signal (SIGPIPE, SIG_IGN);
    bench_deadline (900);
    maas_tensor_t *x = maas_tensor_new (S_ROWS, MAAS_SYNTH_FEATURES);
    maas_tensor_t *y = maas_tensor_new (S_ROWS, 1);
    maas_synth_generate (0, MAAS_SYNTH_FEATURES, S_ROWS, x->data, y->data);
    maas_err_t err;
    maas_dataset_t *data = maas_dataset_new (&x, &y, NULL, NULL, MAAS_DATASET_BINARY, NULL);
    maas_training_t spec = s_seed_spec ();
    s_stack_t stack = {0};
    int rc = 1;
    if (!data || s_stack_up (&stack, top_build) != 0) {
        fprintf (stderr, "bench: cannot start the stack (see %s)\n", stack.log);
        goto done;
    }
    maas_dataset_store_t *store = maas_dataset_store_new (stack.url, NULL, &err);
    maas_client_t *client = maas_client_new (stack.front, NULL);
    if (!store || !client || maas_dataset_store_put (store, spec.dataset, data) != 0
        || maas_client_ping (client, 10000) != 0) {
        fprintf (stderr, "bench: stack not ready: %s\n",
                 store ? maas_dataset_store_error (store) : err.text);
    }
    else {
        //  Alternate the two so load from elsewhere on the machine hits both alike.
        double local = 0, service = 0;
        for (int run = 0; run < S_RUNS; run++) {
            double rate = s_in_process (data, &spec);
            local = rate > local ? rate : local;
            rate = s_service (client, &spec, S_ROWS);
            service = rate > service ? rate : service;
        }
        bench_figure ("train_service", "in_process", "samples_per_s", local, "samples/s");
        bench_figure ("train_service", "train_job", "samples_per_s", service, "samples/s");
        bench_figure ("train_service", "train_job", "ratio_to_in_process",
                      local > 0 ? service / local : 0, "ratio");
        rc = service > 0 ? 0 : 1;
    }
    maas_client_destroy (&client);
    maas_dataset_store_destroy (&store);
done:
    s_stack_down (&stack);
    maas_dataset_destroy (&data);
    return rc;
}
