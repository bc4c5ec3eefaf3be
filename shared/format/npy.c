/*  npy.c: the .npy format (NumPy NEP 1): magic "\x93NUMPY", version, a
 *  little-endian header length, a Python dict literal header padded to a
 *  multiple of 64 bytes, then the raw array in C order. */
#include "npy.h"
#include "tensor.h"

#include <assert.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#if __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "npy.c reads and writes little-endian floats in place"
#endif

#define S_MAGIC      "\x93NUMPY"
#define S_MAGIC_LEN  6
#define S_MAX_HEADER 65536    //  numpy writes a few hundred bytes
#define S_ROWS_WIDTH 20       //  digits reserved for the row count we patch

struct _maas_npy_reader_t {
    FILE *file;             //  positioned at the next row, owned
    char *path;             //  for messages, owned
    size_t rows;            //  rows in the file
    size_t cols;            //  columns per row
    size_t elem_size;       //  4 (float32) or 8 (float64)
    size_t rows_read;       //  rows handed out so far
    double *convert;        //  float64 staging buffer, owned
    size_t convert_rows;    //  rows CONVERT holds
};

struct _maas_npy_writer_t {
    FILE *file;     //  output, owned
    char *path;     //  for messages, owned
    size_t cols;    //  columns per row
    size_t rows;    //  rows written so far
};

bool
maas_npy_is_path (const char *path)
{
    size_t len = strlen (path);
    return len >= 4 && strcmp (path + len - 4, ".npy") == 0;
}

//  Value text after 'KEY': in the header dict, or NULL.
static const char *
s_header_value (const char *header, const char *key)
{
    const char *at = strstr (header, key);
    if (!at)
        return NULL;
    at = strchr (at + strlen (key), ':');
    if (!at)
        return NULL;
    at++;
    while (*at == ' ')
        at++;
    return at;
}

//  Parse "(rows, cols)" or "(rows,)" into *rows, *cols.
static int
s_parse_shape (const char *text, size_t *rows, size_t *cols)
{
    if (!text || *text != '(')
        return -1;
    char *end;
    unsigned long long r = strtoull (text + 1, &end, 10);
    while (*end == ' ')
        end++;
    if (end == text + 1 || *end != ',')
        return -1;
    end++;
    while (*end == ' ')
        end++;
    unsigned long long c = 1;
    if (*end != ')') {
        char *after;
        c = strtoull (end, &after, 10);
        end = after;
        while (*end == ' ' || *end == ',')
            end++;
        if (*end != ')')
            return -1;
    }
    if (c == 0 || c > 65536 || (c && r > MAAS_TENSOR_MAX_ELEMS * 64 / c))
        return -1;
    *rows = (size_t) r;
    *cols = (size_t) c;
    return 0;
}

static int
s_read_header (maas_npy_reader_t *self, maas_err_t *err)
{
    unsigned char prefix[S_MAGIC_LEN + 2 + 4];
    if (fread (prefix, 1, S_MAGIC_LEN + 2, self->file) != S_MAGIC_LEN + 2
        || memcmp (prefix, S_MAGIC, S_MAGIC_LEN) != 0) {
        maas_err_set (err, MAAS_ERR_INPUT, "%s: not a .npy file (bad magic)", self->path);
        return -1;
    }
    int major = prefix[S_MAGIC_LEN];
    size_t len_bytes = major == 1 ? 2 : 4;
    if (major < 1 || major > 3 || fread (prefix + 8, 1, len_bytes, self->file) != len_bytes) {
        maas_err_set (err, MAAS_ERR_INPUT, "%s: unsupported .npy version %d", self->path, major);
        return -1;
    }
    size_t header_len = prefix[8] | (size_t) prefix[9] << 8;
    if (len_bytes == 4)
        header_len |= (size_t) prefix[10] << 16 | (size_t) prefix[11] << 24;
    if (header_len == 0 || header_len > S_MAX_HEADER) {
        maas_err_set (err, MAAS_ERR_INPUT, "%s: .npy header of %zu bytes", self->path, header_len);
        return -1;
    }
    char *header = malloc (header_len + 1);
    if (!header || fread (header, 1, header_len, self->file) != header_len) {
        maas_err_set (err, MAAS_ERR_INPUT, "%s: truncated .npy header", self->path);
        free (header);
        return -1;
    }
    header[header_len] = '\0';
    int rc = 0;
    const char *descr = s_header_value (header, "'descr'");
    const char *fortran = s_header_value (header, "'fortran_order'");
    if (descr && (strncmp (descr, "'<f4'", 5) == 0 || strncmp (descr, "'<f8'", 5) == 0))
        self->elem_size = descr[3] == '4' ? 4 : 8;
    else {
        maas_err_set (err, MAAS_ERR_INPUT,
                      "%s: dtype %.8s not supported, use float32 or float64 (<f4, <f8)", self->path,
                      descr ? descr : "(none)");
        rc = -1;
    }
    if (rc == 0 && (!fortran || strncmp (fortran, "False", 5) != 0)) {
        maas_err_set (err, MAAS_ERR_INPUT,
                      "%s: Fortran-order arrays not supported, save in C order", self->path);
        rc = -1;
    }
    if (rc == 0 && s_parse_shape (s_header_value (header, "'shape'"), &self->rows, &self->cols)) {
        maas_err_set (err, MAAS_ERR_INPUT, "%s: shape must be (rows, cols) or (rows,)", self->path);
        rc = -1;
    }
    free (header);
    return rc;
}

maas_npy_reader_t *
maas_npy_open (const char *path, maas_err_t *err)
{
    maas_npy_reader_t *self = calloc (1, sizeof *self);
    if (!self)
        return NULL;
    self->path = strdup (path);
    self->file = fopen (path, "rb");
    if (!self->file)
        maas_err_set (err, MAAS_ERR_IO, "%s: %s", path, strerror (errno));
    if (!self->path || !self->file || s_read_header (self, err) != 0)
        maas_npy_reader_destroy (&self);
    return self;
}

void
maas_npy_reader_destroy (maas_npy_reader_t **self_p)
{
    assert (self_p);
    maas_npy_reader_t *self = *self_p;
    if (!self)
        return;
    if (self->file)
        fclose (self->file);
    free (self->convert);
    free (self->path);
    free (self);
    *self_p = NULL;
}

size_t
maas_npy_rows (const maas_npy_reader_t *self)
{
    return self->rows;
}
size_t
maas_npy_cols (const maas_npy_reader_t *self)
{
    return self->cols;
}

int
maas_npy_read (maas_npy_reader_t *self, float *out, size_t max_rows, size_t *got, maas_err_t *err)
{
    size_t want = self->rows - self->rows_read < max_rows ? self->rows - self->rows_read : max_rows;
    *got = 0;
    if (want == 0)
        return 0;
    size_t count = want * self->cols;
    size_t read_count;
    if (self->elem_size == 4)
        read_count = fread (out, sizeof (float), count, self->file);
    else {
        if (self->convert_rows < want) {
            double *bigger = realloc (self->convert, count * sizeof (double));
            if (!bigger) {
                maas_err_set (err, MAAS_ERR_NOMEM, "%s: out of memory", self->path);
                return -1;
            }
            self->convert = bigger;
            self->convert_rows = want;
        }
        read_count = fread (self->convert, sizeof (double), count, self->file);
        for (size_t i = 0; i < read_count; i++)
            out[i] = (float) self->convert[i];
    }
    if (read_count != count) {
        maas_err_set (err, MAAS_ERR_INPUT,
                      "%s: file ends at row %zu of the %zu its header declares", self->path,
                      self->rows_read + read_count / self->cols, self->rows);
        return -1;
    }
    self->rows_read += want;
    *got = want;
    return 0;
}

//  Header for ROWS × COLS float32, padded with spaces so magic + version +
//  length + header is a multiple of 64 bytes; the row count has a fixed
//  width so the header can be rewritten in place at close.
static size_t
s_format_header (char *out, size_t size, size_t rows, size_t cols)
{
    int len = snprintf (out + 10, size - 10,
                        "{'descr': '<f4', 'fortran_order': False, 'shape': (%*zu, %zu), }",
                        S_ROWS_WIDTH, rows, cols);
    size_t total = (10 + (size_t) len + 1 + 63) / 64 * 64;
    memset (out + 10 + len, ' ', total - 10 - (size_t) len - 1);
    out[total - 1] = '\n';
    memcpy (out, S_MAGIC, S_MAGIC_LEN);
    out[6] = 1;    //  format version 1.0
    out[7] = 0;
    out[8] = (char) ((total - 10) & 0xff);
    out[9] = (char) ((total - 10) >> 8);
    return total;
}

static int
s_write_header (maas_npy_writer_t *self, maas_err_t *err)
{
    char header[256];
    size_t len = s_format_header (header, sizeof header, self->rows, self->cols);
    if (fwrite (header, 1, len, self->file) != len) {
        maas_err_set (err, MAAS_ERR_IO, "%s: %s", self->path, strerror (errno));
        return -1;
    }
    return 0;
}

maas_npy_writer_t *
maas_npy_create (const char *path, size_t cols, maas_err_t *err)
{
    maas_npy_writer_t *self = calloc (1, sizeof *self);
    if (!self)
        return NULL;
    self->cols = cols;
    self->path = strdup (path);
    self->file = fopen (path, "wb");
    if (!self->file)
        maas_err_set (err, MAAS_ERR_IO, "%s: %s", path, strerror (errno));
    if (!self->path || !self->file || s_write_header (self, err) != 0) {
        if (self->file)
            fclose (self->file);
        free (self->path);
        free (self);
        return NULL;
    }
    return self;
}

int
maas_npy_write (maas_npy_writer_t *self, const float *data, size_t rows, maas_err_t *err)
{
    if (fwrite (data, sizeof (float), rows * self->cols, self->file) != rows * self->cols) {
        maas_err_set (err, MAAS_ERR_IO, "%s: %s", self->path, strerror (errno));
        return -1;
    }
    self->rows += rows;
    return 0;
}

int
maas_npy_close (maas_npy_writer_t **self_p, maas_err_t *err)
{
    assert (self_p);
    maas_npy_writer_t *self = *self_p;
    if (!self)
        return 0;
    int rc = 0;
    if (fseek (self->file, 0, SEEK_SET) != 0 || s_write_header (self, err) != 0)
        rc = -1;
    if (fclose (self->file) != 0 && rc == 0) {
        maas_err_set (err, MAAS_ERR_IO, "%s: %s", self->path, strerror (errno));
        rc = -1;
    }
    free (self->path);
    free (self);
    *self_p = NULL;
    return rc;
}
