/*  fuzz_results: a RESULT payload as clients read it from a worker: the
 *  first byte picks the decoder (infer or train result), then re-pack. */
#include "fuzz.h"
#include "infer.h"
#include "training.h"

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    maas_err_t err;
    msgpack_sbuffer sbuf;
    msgpack_sbuffer_init (&sbuf);
    msgpack_packer pk;
    msgpack_packer_init (&pk, &sbuf, msgpack_sbuffer_write);
    if (data[0] & 1) {
        maas_training_result_t result;
        if (maas_training_result_parse (&result, data + 1, size - 1, &err) == 0)
            (void) maas_training_result_pack (&result, &pk);
    }
    else {
        maas_infer_result_t result;
        if (maas_infer_result_parse (&result, data + 1, size - 1, &err) == 0)
            (void) maas_infer_result_pack (&result, &pk);
        maas_infer_result_clear (&result);
    }
    msgpack_sbuffer_destroy (&sbuf);
    return 0;
}
