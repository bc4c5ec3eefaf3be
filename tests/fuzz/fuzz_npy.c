/*  fuzz_npy: a .npy file as `maas score` reads it, all rows. */
#include "fuzz.h"
#include "npy.h"

#include <stdlib.h>
#include <unistd.h>

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    char path[64];
    maas_err_t err;
    int fd = fuzz_memfile (data, size, path, sizeof path);
    if (fd < 0)
        return 0;
    maas_npy_reader_t *reader = maas_npy_open (path, &err);
    if (reader) {
        size_t cols = maas_npy_cols (reader), got = 0;
        float *rows = cols && cols < (1 << 16) ? malloc (64 * cols * sizeof (float)) : NULL;
        while (rows && maas_npy_read (reader, rows, 64, &got, &err) == 0 && got)
            ;
        free (rows);
        maas_npy_reader_destroy (&reader);
    }
    close (fd);
    return 0;
}
