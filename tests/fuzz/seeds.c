/*  seeds.c: writes each fuzz target's seed corpus from real messages and
 *  files, made by the same encoders the programs use, so the corpus follows
 *  the formats: `seeds DIR` fills DIR/<target>/. Run by scripts/fuzz.sh. */
#include "maas.h"
#include "codec.h"
#include "infer.h"
#include "protocol.h"
#include "training.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static const char *s_dir;

static void
s_write (const char *target, const char *name, const void *data, size_t size)
{
    char path[512];
    snprintf (path, sizeof path, "%s/%s", s_dir, target);
    if (mkdir (path, 0755) != 0 && errno != EEXIST)
        abort ();
    snprintf (path, sizeof path, "%s/%s/%s", s_dir, target, name);
    FILE *file = fopen (path, "wb");
    if (!file || fwrite (data, 1, size, file) != size || fclose (file) != 0)
        abort ();
}

//  SUBMIT headers as the client packs them, and the same through the map reader.
static void
s_job_headers (void)
{
    maas_proto_job_t job = {.version = 3, .priority = 5, .track = true, .durable = true};
    strcpy (job.id, "01JABCDEF");
    strcpy (job.kind, "infer");
    strcpy (job.model, "cancer");
    maas_proto_buf_t buf;
    maas_proto_buf_init (&buf);
    if (maas_proto_job_pack (&job, &buf) != 0)
        abort ();
    s_write ("fuzz_job_header", "infer-version", buf.data, buf.size);
    s_write ("fuzz_codec", "infer-version", buf.data, buf.size);
    job.version = 0;
    strcpy (job.alias, "production");
    job.deadline_ms = 1767225600000;
    maas_proto_buf_init (&buf);
    if (maas_proto_job_pack (&job, &buf) != 0)
        abort ();
    s_write ("fuzz_job_header", "infer-alias", buf.data, buf.size);
}

//  A seed-sized network's registry blob.
static void
s_model (void)
{
    maas_layer_spec_t layers[] = {{8, MAAS_ACT_RELU}, {1, MAAS_ACT_SIGMOID}};
    maas_mlp_t *mlp = maas_mlp_new (3, layers, 2);
    maas_mlp_init (mlp, 1);
    maas_model_t *model = maas_model_new (&mlp);
    maas_model_meta_set_str (model, "trained_on", "fuzz");
    uint8_t *blob = NULL;
    size_t size = 0;
    maas_err_t err;
    if (!model || maas_model_encode (model, &blob, &size, &err) != 0)
        abort ();
    s_write ("fuzz_model", "mlp-3-8-1", blob, size);
    free (blob);
    maas_model_destroy (&model);
}

//  Infer inputs: raw float32 rows with a shape, and msgpack rows.
static void
s_infer_inputs (void)
{
    msgpack_sbuffer params;
    msgpack_sbuffer_init (&params);
    if (maas_infer_params_pack (&params, 2, 3) != 0 || params.size > 255)
        abort ();
    float rows[6] = {1, 2, 3, 4, 5, 6};
    uint8_t seed[512];
    seed[0] = (uint8_t) params.size;
    memcpy (seed + 1, params.data, params.size);
    maas_codec_f32_to_le (seed + 1 + params.size, rows, 6);
    s_write ("fuzz_infer_input", "shape-2x3", seed, 1 + params.size + sizeof rows);
    msgpack_sbuffer_destroy (&params);
    msgpack_sbuffer packed;
    msgpack_sbuffer_init (&packed);
    msgpack_packer pk;
    msgpack_packer_init (&pk, &packed, msgpack_sbuffer_write);
    msgpack_pack_array (&pk, 2);
    for (int r = 0; r < 2; r++) {
        msgpack_pack_array (&pk, 3);
        for (int c = 0; c < 3; c++)
            msgpack_pack_float (&pk, rows[r * 3 + c]);
    }
    seed[0] = 0;
    memcpy (seed + 1, packed.data, packed.size);
    s_write ("fuzz_infer_input", "msgpack-rows", seed, 1 + packed.size);
    msgpack_sbuffer_destroy (&packed);
}

//  A train job: its params map, then its inline data set.
static void
s_train_job (void)
{
    maas_training_t spec;
    maas_training_init (&spec);
    maas_err_t err;
    if (maas_training_parse_layers (&spec, "8:relu,1:sigmoid", &err) != 0)
        abort ();
    msgpack_sbuffer params, data;
    msgpack_sbuffer_init (&params);
    msgpack_sbuffer_init (&data);
    msgpack_packer pk;
    msgpack_packer_init (&pk, &params, msgpack_sbuffer_write);
    maas_tensor_t *x = maas_tensor_new (4, 2), *y = maas_tensor_new (4, 1);
    for (size_t i = 0; i < 4; i++)
        x->data[2 * i] = (float) i, x->data[2 * i + 1] = 1, y->data[i] = (float) (i % 2);
    maas_dataset_t *dataset = maas_dataset_new (&x, &y, NULL, NULL, MAAS_DATASET_AUTO, &err);
    if (!dataset) {
        fprintf (stderr, "seeds: %s\n", err.text);
        abort ();
    }
    if (maas_training_pack (&spec, &pk) != 0)
        abort ();
    msgpack_packer_init (&pk, &data, msgpack_sbuffer_write);
    if (maas_training_pack_data (dataset, &pk) != 0 || params.size > 0xffff)
        abort ();
    uint8_t *seed = malloc (2 + params.size + data.size);
    seed[0] = (uint8_t) (params.size >> 8), seed[1] = (uint8_t) params.size;
    memcpy (seed + 2, params.data, params.size);
    memcpy (seed + 2 + params.size, data.data, data.size);
    s_write ("fuzz_train_job", "binary-4x2", seed, 2 + params.size + data.size);
    free (seed);
    maas_dataset_destroy (&dataset);
    msgpack_sbuffer_destroy (&params);
    msgpack_sbuffer_destroy (&data);
}

//  RESULT payloads: an infer result (first byte 0) and a train result (1).
static void
s_results (void)
{
    float values[2] = {0.25f, 0.75f};
    int32_t classes[2] = {0, 1};
    maas_infer_result_t infer = {.version = 3,
                                 .rows = 2,
                                 .outputs = 1,
                                 .values = values,
                                 .classes = classes,
                                 .batch_rows = 2,
                                 .batch_jobs = 1};
    strcpy (infer.model, "cancer");
    maas_training_result_t train = {.version = 4,
                                    .created = true,
                                    .epochs = 10,
                                    .metrics = {.accuracy = 0.96,
                                                .rmse = NAN,
                                                .train_loss = 0.1,
                                                .val_loss = 0.12,
                                                .samples_per_s = 1e6}};
    strcpy (train.model, "cancer");
    strcpy (train.outcome, "completed");
    memset (train.dataset_sha256, 'a', 64);
    for (int which = 0; which < 2; which++) {
        msgpack_sbuffer sbuf;
        msgpack_sbuffer_init (&sbuf);
        msgpack_sbuffer_write (&sbuf, which ? "\1" : "\0", 1);
        msgpack_packer pk;
        msgpack_packer_init (&pk, &sbuf, msgpack_sbuffer_write);
        if ((which ? maas_training_result_pack (&train, &pk) : maas_infer_result_pack (&infer, &pk))
            != 0)
            abort ();
        s_write ("fuzz_results", which ? "train" : "infer", sbuf.data, sbuf.size);
        msgpack_sbuffer_destroy (&sbuf);
    }
}

int
main (int argc, char *argv[])
{
    if (argc != 2) {
        fprintf (stderr, "usage: seeds DIR\n");
        return 2;
    }
    s_dir = argv[1];
    s_job_headers ();
    s_model ();
    s_infer_inputs ();
    s_train_job ();
    s_results ();
    return 0;
}
