/*  fuzz_model: a model blob as a worker reads it from the registry. */
#include "fuzz.h"
#include "model.h"

#include <stdlib.h>

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    maas_err_t err;
    maas_model_t *model = maas_model_decode (data, size, &err);
    if (model) {
        uint8_t *blob = NULL;
        size_t blob_size = 0;
        if (maas_model_encode (model, &blob, &blob_size, &err) == 0)
            free (blob);
        maas_model_destroy (&model);
    }
    return 0;
}
