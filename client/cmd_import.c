/*  cmd_import.c: the two `maas model` verbs that cross formats:
 *  `import NAME FILE` (a Keras .h5/.keras or ONNX file published as the
 *  next version of NAME) and `export NAME@VER --format onnx FILE`.
 *  cmd_model.c parses their flags and calls these. */
#include "commands.h"
#include "maas.h"

#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

//  The reader of a file runs in a child with these bounds: Debian's libhdf5
//  can spin for minutes or allocate gigabytes on a corrupt file
//  (tests/fuzz/hangs/, docs/security.md), below any check maas can make.
#define S_IMPORT_CPU_S  30                    //  CPU seconds (SIGXCPU past it)
#define S_IMPORT_MEMORY ((rlim_t) 2 << 30)    //  address space the reader may add, bytes

//  This process's address space now, bytes (0 if unknown). The memory
//  bound is on top of it: the process already maps its libraries (and,
//  under AddressSanitizer, terabytes of shadow reserved but not used).
static rlim_t
s_address_space (void)
{
    FILE *statm = fopen ("/proc/self/statm", "r");
    unsigned long long pages = 0;
    if (statm && fscanf (statm, "%llu", &pages) != 1)
        pages = 0;
    if (statm)
        fclose (statm);
    return (rlim_t) pages * (rlim_t) sysconf (_SC_PAGESIZE);
}

//  In the child: read FILE, write its encoded blob to FD as [size][bytes]
//  or [0][error text]. Never returns.
static void
s_import_child (const char *file, int fd)
{
    rlim_t bound = s_address_space () + S_IMPORT_MEMORY;
    struct rlimit cpu = {S_IMPORT_CPU_S, S_IMPORT_CPU_S + 5}, memory = {bound, bound};
    setrlimit (RLIMIT_CPU, &cpu);
    setrlimit (RLIMIT_AS, &memory);
    maas_err_t err;
    maas_model_t *model = maas_model_import_file (file, &err);
    uint8_t *blob = NULL;
    size_t encoded = 0;
    if (model && maas_model_encode (model, &blob, &encoded, &err) != 0)
        encoded = 0;
    uint64_t size = encoded;
    const void *data = size ? (const void *) blob : (const void *) err.text;
    uint64_t length = size ? size : strlen (err.text);
    int ok = write (fd, &size, sizeof size) == sizeof size;
    for (uint64_t at = 0; ok && at < length;) {
        ssize_t n = write (fd, (const char *) data + at, length - at);
        ok = n > 0;
        at += ok ? (uint64_t) n : 0;
    }
    _exit (ok ? 0 : 1);
}

//  Read up to MAX bytes from FD into a new buffer (*DATA, NUL-terminated);
//  their count, or -1.
static ssize_t
s_read_all (int fd, size_t max, char **data)
{
    size_t size = 0, cap = 4096;
    *data = malloc (cap + 1);
    while (*data) {
        if (size == cap) {
            char *bigger = cap < max ? realloc (*data, (cap *= 2) + 1) : NULL;
            if (!bigger)
                break;
            *data = bigger;
        }
        ssize_t n = read (fd, *data + size, cap - size);
        if (n == 0) {
            (*data)[size] = '\0';
            return (ssize_t) size;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            break;
        size += (size_t) n;
    }
    free (*data);
    *data = NULL;
    return -1;
}

//  Why the child reading FILE ended with STATUS and no model.
static void
s_child_failed (const char *file, int status, maas_err_t *err)
{
    err->code = MAAS_ERR_IO;
    if (WIFSIGNALED (status) && WTERMSIG (status) == SIGXCPU)
        snprintf (err->text, sizeof err->text,
                  "%s: the reader used over %d s of CPU (a corrupt or hostile file?); nothing "
                  "published",
                  file, S_IMPORT_CPU_S);
    else if (WIFSIGNALED (status))
        snprintf (err->text, sizeof err->text,
                  "%s: the reader died of signal %d (a corrupt or hostile file, or over its %d "
                  "MiB of memory?); nothing published",
                  file, WTERMSIG (status), (int) (S_IMPORT_MEMORY >> 20));
    else
        snprintf (err->text, sizeof err->text, "%s: the reader failed (exit %d)", file,
                  WEXITSTATUS (status));
}

//  maas_model_import_file (FILE) in a child bounded in CPU and memory, so a
//  hostile file cannot hang or exhaust this process. A new model, or NULL
//  with ERR.
static maas_model_t *
s_import_confined (const char *file, maas_err_t *err)
{
    int fds[2];
    if (pipe (fds) != 0) {
        snprintf (err->text, sizeof err->text, "pipe: %s", strerror (errno));
        return NULL;
    }
    fflush (NULL);
    pid_t pid = fork ();
    if (pid == 0) {
        close (fds[0]);
        s_import_child (file, fds[1]);
    }
    close (fds[1]);
    char *data = NULL;
    ssize_t got = pid > 0 ? s_read_all (fds[0], MAAS_MODEL_MAX_BYTES + 8, &data) : -1;
    close (fds[0]);
    int status = 0;
    while (pid > 0 && waitpid (pid, &status, 0) < 0 && errno == EINTR)
        ;
    uint64_t size = 0;
    if (got >= 8)
        memcpy (&size, data, 8);
    maas_model_t *model = NULL;
    if (got >= 8 && size > 0 && size == (uint64_t) got - 8)
        model = maas_model_decode (data + 8, (size_t) size, err);
    else if (got >= 8 && size == 0) {
        err->code = MAAS_ERR_INPUT;
        snprintf (err->text, sizeof err->text, "%s", data + 8);
    }
    else if (pid < 0)
        snprintf (err->text, sizeof err->text, "fork: %s", strerror (errno));
    else
        s_child_failed (file, status, err);
    free (data);
    return model;
}

bool
maas_cmd_signature_given (const maas_cmd_signature_t *sig)
{
    return sig && (sig->labels || sig->input_scale != 0 || sig->output_name);
}

int
maas_cmd_signature_apply (maas_model_t *model, const maas_cmd_signature_t *sig)
{
    maas_err_t err;
    int rc = 0;
    if (sig->labels)
        rc = maas_model_set_labels_text (model, sig->labels, &err);
    if (rc == 0 && sig->input_scale != 0)    //  in range: maas model's table checked it
        rc = maas_model_set_input_scale (model, sig->input_scale, &err);
    if (rc == 0 && sig->output_name)
        rc = maas_model_set_output_name (model, sig->output_name, &err);
    if (rc != 0)
        fprintf (stderr, "maas model: %s\n", err.text);
    return rc;
}

int
maas_cmd_model_import (maas_registry_t *reg, const char *name, const char *file,
                       const maas_registry_meta_t *meta, const maas_cmd_signature_t *sig, bool json)
{
    maas_err_t err;
    maas_model_t *model = s_import_confined (file, &err);
    uint8_t *blob = NULL;
    size_t size = 0;
    if (model && maas_cmd_signature_given (sig) && maas_cmd_signature_apply (model, sig) != 0) {
        maas_model_destroy (&model);
        return 1;
    }
    if (!model || maas_model_encode (model, &blob, &size, &err) != 0) {
        fprintf (stderr, "maas model: import: %s\n", err.text);
        maas_model_destroy (&model);
        return 1;
    }
    uint64_t version = 0;
    int rc = maas_registry_publish (reg, name, blob, size, meta, &version, NULL);
    free (blob);
    char shape[512];
    maas_model_describe (model, shape, sizeof shape);
    const char *format = maas_model_meta_str (model, "import_format");
    if (rc != 0)
        fprintf (stderr, "maas model: %s\n", maas_registry_error (reg));
    else if (json)    //  names are [A-Za-z0-9._-]; format and shape are ours
        printf ("{\"model\":\"%s\",\"version\":%" PRIu64 ",\"format\":\"%s\",\"shape\":\"%s\"}\n",
                name, version, format, shape);
    else
        printf ("imported %s as %s@%" PRIu64 " (%s, %s)\n", file, name, version, format, shape);
    maas_model_destroy (&model);
    return rc == 0 ? 0 : 1;
}

int
maas_cmd_model_export_onnx (maas_registry_t *reg, const char *name, uint64_t version,
                            const char *file, bool json)
{
    uint8_t *blob = NULL;
    size_t size;
    if (maas_registry_fetch (reg, name, version, &blob, &size, NULL) != 0) {
        fprintf (stderr, "maas model: %s\n", maas_registry_error (reg));
        return 1;
    }
    maas_err_t err;
    maas_model_t *model = maas_model_decode (blob, size, &err);
    int rc = model ? maas_export_onnx_file (model, file, &err) : -1;
    maas_model_destroy (&model);
    free (blob);
    if (rc != 0)
        fprintf (stderr, "maas model: export: %s\n", err.text);
    else if (json)
        printf ("{\"model\":\"%s\",\"version\":%" PRIu64 ",\"format\":\"onnx\"}\n", name, version);
    else
        printf ("exported %s@%" PRIu64 " as %s (onnx opset %d)\n", name, version, file,
                MAAS_EXPORT_ONNX_OPSET);
    return rc == 0 ? 0 : 1;
}
