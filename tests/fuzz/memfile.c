/*  memfile.c: decoders that open a path read fuzz input from memory. */

#include "fuzz.h"

#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>

int
fuzz_memfile (const uint8_t *data, size_t size, char *path, size_t path_size)
{
    int fd = memfd_create ("fuzz", MFD_CLOEXEC);
    if (fd < 0)
        return -1;
    if (size && write (fd, data, size) != (ssize_t) size) {
        close (fd);
        return -1;
    }
    snprintf (path, path_size, "/proc/self/fd/%d", fd);
    return fd;
}
