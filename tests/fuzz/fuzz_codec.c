/*  fuzz_codec: any msgpack header through the map reader, every getter. */
#include "fuzz.h"
#include "codec.h"

#include <stdlib.h>

static void
s_read_every_key (maas_codec_map_t *map)
{
    const char *str;
    size_t len;
    int64_t i64;
    uint64_t u64;
    double number;
    bool flag;
    const void *bin;
    maas_tensor_t *tensor = NULL;
    const char *keys[] = {"id", "kind", "shape", "version", "params", "x", "data"};
    for (size_t k = 0; k < sizeof keys / sizeof keys[0]; k++) {
        (void) maas_codec_map_str (map, keys[k], &str, &len);
        (void) maas_codec_map_int64 (map, keys[k], &i64);
        (void) maas_codec_map_uint64 (map, keys[k], &u64);
        (void) maas_codec_map_double (map, keys[k], &number);
        (void) maas_codec_map_bool (map, keys[k], &flag);
        (void) maas_codec_map_bin (map, keys[k], &bin, &len);
        if (maas_codec_map_tensor (map, keys[k], &tensor) == 0)
            maas_tensor_destroy (&tensor);
    }
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    maas_err_t err;
    if (maas_codec_validate (data, size, &err) != 0)
        return 0;
    msgpack_unpacked result;
    msgpack_unpacked_init (&result);
    maas_codec_map_t map;
    if (maas_codec_unpack (data, size, 1 << 20, &result, &err) == 0
        && maas_codec_map_init (&map, &result.data, "fuzz") == 0)
        s_read_every_key (&map);
    msgpack_unpacked_destroy (&result);
    return 0;
}
