/*  fuzz_v2_infer: a KServe v2 infer body as the gateway reads it: the JSON
 *  header (up to the first NUL byte, which stands for the end that
 *  Inference-Header-Content-Length marks), then binary tensor bytes;
 *  parsed by jansson, then gw_v2_input for a model of 3 features. */
#include "fuzz.h"
#include "gateway.h"

#include <stdlib.h>
#include <string.h>

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    const uint8_t *nul = memchr (data, 0, size);
    size_t json_size = nul ? (size_t) (nul - data) : size;
    json_t *request = json_loadb ((const char *) data, json_size, 0, NULL);
    if (request) {
        const uint8_t *bin = nul ? nul + 1 : data + size;
        float *x = NULL;
        size_t rows = 0;
        char err[512];
        if (gw_v2_input (request, bin, (size_t) (data + size - bin), size, 3, &x, &rows, err,
                         sizeof err)
            == 0) {
            volatile float sum = 0;
            for (size_t i = 0; i < rows * 3; i++)
                sum += x[i];    //  every value promised is there to read
        }
        free (x);
        json_decref (request);
    }
    return 0;
}
