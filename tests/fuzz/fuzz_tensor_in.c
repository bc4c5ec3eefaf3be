/*  fuzz_tensor_in: an HTTP predict body's numbers as the gateway reads
 *  them (TF Serving "instances"/"inputs", KServe v2 JSON "data"): the body
 *  parsed by jansson as the gateway does, then every array in it through
 *  gw_json_floats with TF Serving's lossless float32 rule. */
#include "fuzz.h"
#include "gateway.h"

#include <stdlib.h>

static void
s_floats (const json_t *value, int depth)
{
    float *values = NULL;
    size_t count = 0;
    char err[256];
    (void) gw_json_floats (value, &values, &count, err, sizeof err);
    free (values);
    if (depth > 3)
        return;
    const char *key;
    json_t *item;
    if (json_is_object (value))
        json_object_foreach ((json_t *) value, key, item) s_floats (item, depth + 1);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    json_t *body = json_loadb ((const char *) data, size, 0, NULL);
    if (body) {
        s_floats (body, 0);
        json_decref (body);
    }
    return 0;
}
