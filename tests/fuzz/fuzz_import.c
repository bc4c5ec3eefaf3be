/*  fuzz_import: an ONNX model file as `maas import` reads it (protobuf,
 *  then the graph checks). Inputs that start like HDF5 (.h5) or a zip
 *  (.keras, whose weights are an HDF5 image) are skipped: within 20 s the
 *  fuzzer finds inputs on which Debian's libhdf5 1.10 spins for over a
 *  minute in H5HG_read or mallocs 4 GiB in H5Dread (tests/fuzz/hangs/,
 *  docs/security.md), which would fail every run for a cause inside
 *  libhdf5, not maas. */
#include "fuzz.h"
#include "import.h"

#include <string.h>
#include <unistd.h>

static const uint8_t s_hdf5_signature[8] = {0x89, 'H', 'D', 'F', '\r', '\n', 0x1a, '\n'};
static const uint8_t s_zip_signature[4] = {'P', 'K', 3, 4};

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    if ((size >= sizeof s_hdf5_signature
         && !memcmp (data, s_hdf5_signature, sizeof s_hdf5_signature))
        || (size >= sizeof s_zip_signature
            && !memcmp (data, s_zip_signature, sizeof s_zip_signature)))
        return 0;
    char path[64];
    int fd = fuzz_memfile (data, size, path, sizeof path);
    if (fd < 0)
        return 0;
    maas_err_t err;
    maas_model_t *model = maas_model_import_file (path, &err);
    if (model) {
        char text[256];
        maas_model_describe (model, text, sizeof text);
        maas_model_destroy (&model);
    }
    close (fd);
    return 0;
}
