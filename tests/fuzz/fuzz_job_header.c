/*  fuzz_job_header: a SUBMIT header as the broker and workers decode it. */
#include "fuzz.h"
#include "protocol.h"

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    msgpack_unpacked scratch;
    msgpack_unpacked_init (&scratch);
    maas_proto_job_t job;
    maas_err_t err;
    if (maas_proto_job_parse (&job, data, size, &scratch, &err) == 0) {
        maas_proto_buf_t buf;
        maas_proto_buf_init (&buf);
        (void) maas_proto_job_pack (&job, &buf);
    }
    msgpack_unpacked_destroy (&scratch);
    return 0;
}
