/*  fuzz_infer_input: an infer job's params and payload as a worker decodes
 *  them for a 3-feature model. The first byte says how many of the next
 *  bytes are the params (a msgpack map), the rest is the payload. */
#include "fuzz.h"
#include "codec.h"
#include "input.h"

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    size_t params_size = data[0] < size - 1 ? data[0] : size - 1;
    maas_err_t err;
    msgpack_unpacked params;
    msgpack_unpacked_init (&params);
    const msgpack_object *params_obj = NULL;
    if (params_size && maas_codec_unpack (data + 1, params_size, 1 << 16, &params, &err) == 0)
        params_obj = &params.data;
    maas_tensor_t *x = NULL;
    size_t bad_row;
    if (maas_input_decode (params_obj, data + 1 + params_size, size - 1 - params_size, 3, &x,
                           &bad_row, &err)
        == 0)
        maas_tensor_destroy (&x);
    msgpack_unpacked_destroy (&params);
    return 0;
}
