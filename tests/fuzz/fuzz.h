/*  fuzz.h: what every libFuzzer target shares. Each target is one file
 *  that defines LLVMFuzzerTestOneInput over one decoder of untrusted bytes;
 *  scripts/fuzz.sh builds them with clang's -fsanitize=fuzzer,address,
 *  undefined and runs each over its seed corpus in tests/fuzz/corpus/. */
#ifndef MAAS_FUZZ_H
#define MAAS_FUZZ_H

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

//  A path that reads back DATA (SIZE bytes): an anonymous memory file, for
//  decoders that take a path. Writes into PATH (at least 32 bytes) and
//  returns the descriptor to close, or -1.
int fuzz_memfile (const uint8_t *data, size_t size, char *path, size_t path_size);

#endif
