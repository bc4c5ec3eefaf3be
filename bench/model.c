/*  bench/model.c: model format v1 throughput: encode and decode (which
 *  checks sizes and the sha256, then copies the parameters) in MB/s of blob,
 *  with memcpy and libsodium's SHA-256 over the same bytes as in-run baselines;
 *  and the cost of decoding a typical job header with the codec. */
#include "maas.h"
#include "proc.h"

#include <inttypes.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_MIN_US 1000000    //  repeat each case for at least this long

typedef struct {
    const char *name;               //  "case" in the output
    size_t inputs;                  //  features
    maas_layer_spec_t layers[3];    //  three dense layers
} s_shape_t;

//  Run FN on ARG until S_MIN_US have passed; MB/s for BYTES per call.
static double
s_rate (void (*fn) (void *), void *arg, size_t bytes)
{
    fn (arg);    //  warm caches and page tables
    int64_t start = maas_clock_mono_us (), now;
    size_t calls = 0;
    do {
        fn (arg);
        calls++;
        now = maas_clock_mono_us ();
    } while (now - start < S_MIN_US);
    return (double) bytes * (double) calls / (double) (now - start);
}

typedef struct {
    maas_model_t *model;    //  what is encoded
    uint8_t *blob;          //  its encoding
    size_t size;            //  bytes in blob
    uint8_t *scratch;       //  size bytes for memcpy
} s_run_t;

static void
s_encode (void *arg)
{
    s_run_t *run = arg;
    uint8_t *blob;
    size_t size;
    if (maas_model_encode (run->model, &blob, &size, NULL) != 0)
        abort ();
    free (blob);
}

static void
s_decode (void *arg)
{
    s_run_t *run = arg;
    maas_model_t *model = maas_model_decode (run->blob, run->size, NULL);
    if (!model)
        abort ();
    maas_model_destroy (&model);
}

static void
s_memcpy (void *arg)
{
    s_run_t *run = arg;
    memcpy (run->scratch, run->blob, run->size);
    __asm__ volatile("" : : "r"(run->scratch) : "memory");
}

static void
s_sha256 (void *arg)
{
    s_run_t *run = arg;
    unsigned char digest[crypto_hash_sha256_BYTES];
    crypto_hash_sha256 (digest, run->blob, run->size);
    __asm__ volatile("" : : "r"(digest) : "memory");
}

static void
s_bench (const s_shape_t *shape)
{
    maas_mlp_t *mlp = maas_mlp_new (shape->inputs, shape->layers, 3);
    maas_mlp_init (mlp, 1);
    s_run_t run = {.model = maas_model_new (&mlp)};
    maas_model_meta_set_str (run.model, "optimizer", "adam");
    maas_model_meta_set_double (run.model, "accuracy", 0.97);
    if (maas_model_encode (run.model, &run.blob, &run.size, NULL) != 0)
        abort ();
    run.scratch = malloc (run.size);
    fprintf (stderr, "model: %s, %zu parameters, %zu-byte blob\n", shape->name,
             maas_mlp_param_count (maas_model_mlp (run.model)), run.size);
    char base[64];
    bench_figure ("model", shape->name, "params",
                  (double) maas_mlp_param_count (maas_model_mlp (run.model)), "params");
    bench_figure ("model", shape->name, "blob_bytes", (double) run.size, "bytes");
    bench_figure ("model", shape->name, "encode_mb_per_s", s_rate (s_encode, &run, run.size),
                  "MB/s");
    bench_figure ("model", shape->name, "decode_mb_per_s", s_rate (s_decode, &run, run.size),
                  "MB/s");
    snprintf (base, sizeof base, "%s_memcpy", shape->name);
    bench_figure ("model", base, "copy_mb_per_s", s_rate (s_memcpy, &run, run.size), "MB/s");
    snprintf (base, sizeof base, "%s_sha256", shape->name);
    bench_figure ("model", base, "hash_mb_per_s", s_rate (s_sha256, &run, run.size), "MB/s");
    free (run.scratch);
    free (run.blob);
    maas_model_destroy (&run.model);
}

//  A typical job header (what the broker decodes per message).
typedef struct {
    msgpack_sbuffer buffer;    //  the packed header
    msgpack_unpacked msg;      //  reused across decodes
    uint64_t checksum;         //  keeps the reads alive
} s_header_t;

static void
s_header_decode (void *arg)
{
    s_header_t *h = arg;
    maas_codec_map_t map;
    const char *id, *model;
    size_t id_len, model_len;
    int64_t priority;
    uint64_t deadline;
    bool durable;
    if (maas_codec_unpack (h->buffer.data, h->buffer.size, 65536, &h->msg, NULL)
        || maas_codec_map_init (&map, &h->msg.data, "header")
        || maas_codec_map_str (&map, "id", &id, &id_len)
        || maas_codec_map_str (&map, "model", &model, &model_len)
        || maas_codec_map_int64 (&map, "priority", &priority)
        || maas_codec_map_uint64 (&map, "deadline", &deadline)
        || maas_codec_map_bool (&map, "durable", &durable))
        abort ();
    h->checksum += id_len + model_len + (uint64_t) priority + deadline + durable;
}

//  Baseline: msgpack-c alone, as code without the codec would call it (no
//  validation pass, a new zone per message, no lookups).
static void
s_header_msgpack_only (void *arg)
{
    s_header_t *h = arg;
    msgpack_unpacked msg;
    msgpack_unpacked_init (&msg);
    size_t off = 0;
    if (msgpack_unpack_next (&msg, h->buffer.data, h->buffer.size, &off) != MSGPACK_UNPACK_SUCCESS)
        abort ();
    h->checksum += msg.data.via.map.size;
    msgpack_unpacked_destroy (&msg);
}

static void
s_bench_header (void)
{
    s_header_t h = {.checksum = 0};
    msgpack_sbuffer_init (&h.buffer);
    msgpack_unpacked_init (&h.msg);
    msgpack_packer pk;
    msgpack_packer_init (&pk, &h.buffer, msgpack_sbuffer_write);
    msgpack_pack_map (&pk, 7);
    maas_codec_pack_kv_str (&pk, "id", "01JDQ7ZK3M4X9V2B8N5C6H7T0R");
    maas_codec_pack_kv_str (&pk, "kind", "score");
    maas_codec_pack_kv_str (&pk, "model", "breast_cancer");
    maas_codec_pack_kv_str (&pk, "alias", "production");
    maas_codec_pack_kv_int (&pk, "priority", 5);
    maas_codec_pack_kv_uint (&pk, "deadline", 1795000000000);
    maas_codec_pack_kv_bool (&pk, "durable", true);
    //  MB/s over a 1-byte "size" is calls per microsecond: turn into ns/call.
    double calls_per_us = s_rate (s_header_decode, &h, 1);
    fprintf (stderr, "model: codec header of %zu bytes (checksum %" PRIu64 ")\n", h.buffer.size,
             h.checksum);
    bench_figure ("model", "codec_header", "decode_ns", 1000.0 / calls_per_us, "ns");
    calls_per_us = s_rate (s_header_msgpack_only, &h, 1);
    bench_figure ("model", "codec_header_msgpack_only", "decode_ns", 1000.0 / calls_per_us, "ns");
    msgpack_unpacked_destroy (&h.msg);
    msgpack_sbuffer_destroy (&h.buffer);
}

int
main (void)
{
    if (sodium_init () < 0)
        return 1;
    maas_log_set_level (MAAS_LOG_WARN);
    const s_shape_t shapes[] = {
        {"256-1024-1024-10",
         256,
         {{1024, MAAS_ACT_RELU}, {1024, MAAS_ACT_RELU}, {10, MAAS_ACT_SOFTMAX}}},
        {"1024-2048-2048-1024",
         1024,
         {{2048, MAAS_ACT_RELU}, {2048, MAAS_ACT_RELU}, {1024, MAAS_ACT_LINEAR}}},
    };
    for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++)
        s_bench (&shapes[i]);
    s_bench_header ();
    return 0;
}
