/*  npy.h: NumPy .npy files of 2-D float32/float64 matrices, read and written
 *  a block of rows at a time so a file of any size scores in bounded memory. */
#ifndef MAAS_NPY_H
#define MAAS_NPY_H

#include "err.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

typedef struct _maas_npy_reader_t maas_npy_reader_t;
typedef struct _maas_npy_writer_t maas_npy_writer_t;

//  Open PATH and parse its header. Accepts format versions 1-3, dtype
//  '<f4' or '<f8', C order, shape (rows, cols) or (rows,) (one column).
//  NULL with a reason in ERR ("x.npy: dtype '<i8' not supported, use
//  float32 or float64") for anything else, a bad magic or a short file.
maas_npy_reader_t *maas_npy_open (const char *path, maas_err_t *err);
void maas_npy_reader_destroy (maas_npy_reader_t **self_p);
size_t maas_npy_rows (const maas_npy_reader_t *self);
size_t maas_npy_cols (const maas_npy_reader_t *self);
//  Read up to MAX_ROWS rows as float32 into OUT (MAX_ROWS × cols floats,
//  converting float64). *GOT is the rows read, 0 at the end. Returns 0, or
//  -1 with ERR if the file ends before its header said it would.
int maas_npy_read (maas_npy_reader_t *self, float *out, size_t max_rows, size_t *got,
                   maas_err_t *err);

//  Create PATH for float32 rows of COLS columns. The row count is patched
//  into the header at close, so rows can be appended without knowing it.
maas_npy_writer_t *maas_npy_create (const char *path, size_t cols, maas_err_t *err);
//  Append ROWS rows (rows × cols floats). 0, or -1 with ERR (disk full…).
int maas_npy_write (maas_npy_writer_t *self, const float *data, size_t rows, maas_err_t *err);
//  Patch the header, flush and close; 0, or -1 with ERR. Frees the writer
//  and NULLs *self_p either way.
int maas_npy_close (maas_npy_writer_t **self_p, maas_err_t *err);
//  true if PATH ends in ".npy".
bool maas_npy_is_path (const char *path);

#endif
