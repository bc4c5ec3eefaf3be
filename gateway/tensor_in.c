/*  tensor_in.c: JSON numbers into float32 with TF Serving's lossless rule
 *  (an integer past 2^24 or a real past FLT_MAX is refused, not rounded). */
#include "gateway.h"

#include <float.h>
#include <stdlib.h>

#define S_INT_EXACT ((json_int_t) 1 << 24)    //  float32 holds every integer below

static int
s_push (float **values, size_t *count, float value)
{
    if ((*count & (*count - 1)) == 0 || *count == 0) {
        size_t cap = *count ? *count * 2 : 16;
        float *bigger = realloc (*values, cap * sizeof *bigger);
        if (!bigger)
            return -1;
        *values = bigger;
    }
    (*values)[(*count)++] = value;
    return 0;
}

//  One JSON number into *OUT; -1 with ERR if it is not one or not exact.
static int
s_number (const json_t *value, float *out, char *err, size_t err_size)
{
    if (json_is_integer (value)) {
        json_int_t v = json_integer_value (value);
        if (v > S_INT_EXACT || v < -S_INT_EXACT) {
            snprintf (err, err_size,
                      "Cannot convert JSON value: %lld to float without loss of precision.",
                      (long long) v);
            return -1;
        }
        *out = (float) v;
        return 0;
    }
    if (json_is_real (value)) {
        double v = json_real_value (value);
        if (v > FLT_MAX || v < -FLT_MAX) {
            snprintf (err, err_size,
                      "Cannot convert JSON value: %g to float without loss of precision.", v);
            return -1;
        }
        *out = (float) v;
        return 0;
    }
    if (json_is_boolean (value)) {
        *out = json_is_true (value) ? 1.0f : 0.0f;
        return 0;
    }
    snprintf (err, err_size, "expected a number, got a JSON %s",
              json_is_string (value)     ? "string"
                  : json_is_null (value) ? "null"
                                         : "object");
    return -1;
}

int
gw_json_floats (const json_t *value, float **values, size_t *count, char *err, size_t err_size)
{
    if (!json_is_array (value)) {
        float v;
        if (s_number (value, &v, err, err_size) != 0)
            return -1;
        if (s_push (values, count, v) != 0) {
            snprintf (err, err_size, "gateway: out of memory");
            return -1;
        }
        return 0;
    }
    size_t i;
    const json_t *item;
    json_array_foreach (value, i, item) if (gw_json_floats (item, values, count, err, err_size)
                                            != 0) return -1;
    return 0;
}
