/*  fuzz_csv: a CSV file as `maas dataset put` and `maas score` read it. */
#include "fuzz.h"
#include "csv.h"

#include <stdio.h>

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    FILE *file = fmemopen ((void *) data, size, "r");
    if (!file)
        return 0;
    maas_err_t err;
    maas_csv_t *csv =
        maas_csv_read (file, "fuzz.csv", size % 2 ? "label" : MAAS_CSV_NO_LABEL, &err);
    maas_csv_destroy (&csv);
    fclose (file);
    return 0;
}
