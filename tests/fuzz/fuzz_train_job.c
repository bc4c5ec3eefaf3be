/*  fuzz_train_job: a train job as the trainer reads it: the params map of
 *  its header and its inline data set payload. The first two bytes (big
 *  endian) say how many of the next bytes are the params. */
#include "fuzz.h"
#include "codec.h"
#include "training.h"

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    size_t params_size = (size_t) data[0] << 8 | data[1];
    data += 2, size -= 2;
    params_size = params_size < size ? params_size : size;
    maas_err_t err;
    msgpack_unpacked params;
    msgpack_unpacked_init (&params);
    if (maas_codec_unpack (data, params_size, 1 << 20, &params, &err) == 0) {
        maas_training_t spec;
        maas_training_init (&spec);
        (void) maas_training_decode (&spec, &params.data, "fuzz", &err);
    }
    msgpack_unpacked_destroy (&params);
    maas_dataset_t *dataset =
        maas_training_decode_data (data + params_size, size - params_size, &err);
    maas_dataset_destroy (&dataset);
    return 0;
}
