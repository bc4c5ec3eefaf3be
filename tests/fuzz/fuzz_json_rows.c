/*  fuzz_json_rows: the JSON rows `maas infer --input` reads: arrays, one
 *  row per line, TF Serving's {"instances"} rows and {"inputs"} columns,
 *  rows as objects matched to a model's column names. */
#include "fuzz.h"
#include "json_rows.h"

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    static const char *const names[] = {"x0", "x1", "x2"};
    char dropped[128], err[256];
    maas_tensor_t *rows = maas_json_rows_parse ((const char *) data, size, names, 3, dropped,
                                                sizeof dropped, err, sizeof err);
    maas_tensor_destroy (&rows);
    return 0;
}
