/*  csv.h: numeric CSV files with a header row, as the data sets and batch
 *  scoring use them: features into a tensor, one column as float labels.
 *  Every bad value is reported with its file, line and column. */
#ifndef MAAS_CSV_H
#define MAAS_CSV_H

#include "err.h"
#include "export.h"

#include "tensor.h"

#include <stdbool.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

//  Longest line accepted, in bytes (a longer one is an error, not a crash).
#define MAAS_CSV_MAX_LINE    (1 << 20)
//  Most columns accepted.
#define MAAS_CSV_MAX_COLS    65536
//  Most distinct label names a file may hold (its classes).
#define MAAS_CSV_CLASSES_MAX 1024

typedef struct _maas_csv_t maas_csv_t;

//  Label column to use: a header name ("label"), or a 0-based column index
//  written in decimal ("30"); a name that matches a header wins over an
//  index. NULL or "" means the last column. MAAS_CSV_NO_LABEL loads every
//  column as a feature and no labels (batch scoring).
#define MAAS_CSV_NO_LABEL "\001none"

//  How a file is read (maas_csv_read_with, maas_csv_stream_open_with).
typedef struct {
    const char *label;             //  label column, as above (streams: NULL is none)
    bool no_header;                //  the first row is data: columns by position,
                                   //  named "1".."N"; a label must be an index
    const char *const *columns;    //  pick these columns by name, in this order (the
                                   //  model's); NULL: every column but the label.
                                   //  Ignored with no_header.
    size_t n_columns;              //  entries in COLUMNS
    const char *const *classes;    //  the model's class labels: a label field equal
                                   //  to classes[k] reads as k, a number as itself,
                                   //  anything else fails naming it; NULL: numbers
    size_t n_classes;              //  entries in CLASSES
} maas_csv_options_t;

//  Load PATH: a header row of column names, then rows of numbers separated
//  by commas (spaces around fields and a trailing "\r" are ignored; blank
//  lines are skipped; names may be in double quotes). Returns a new table,
//  or NULL with a message in ERR (may be NULL) that
//  names the file and, for a bad value, "file.csv:LINE:COLUMN 'text' is not
//  a number" (1-based line and column). Also fails on an empty file, a file
//  with no data rows, ragged rows, an unknown label column, a line over
//  MAAS_CSV_MAX_LINE bytes, a table over MAAS_TENSOR_MAX_ELEMS, or a header
//  that names a column twice ("t.csv: the header names column 'a' twice
//  (columns 1 and 3) ..."; every reader with a header: columns are matched
//  by name).
MAAS_EXPORT maas_csv_t *maas_csv_load (const char *path, const char *label, maas_err_t *err);
//  A header row of numbers alone is refused ("t.csv: line 1 is all numbers,
//  not column names: the file has no header row ...").
//  Same, reading from an open FILE; NAME stands for the file in messages.
MAAS_EXPORT maas_csv_t *maas_csv_read (FILE *file, const char *name, const char *label,
                                       maas_err_t *err);
//  Same with OPTS (may be NULL): a file without a header, or features
//  picked by name and reordered (a missing column fails: "t.csv: no column
//  'x3', which the model needs ..."; the others are dropped).
MAAS_EXPORT maas_csv_t *maas_csv_read_with (FILE *file, const char *name,
                                            const maas_csv_options_t *opts, maas_err_t *err);
//  Destroy; safe on NULL; sets *self_p to NULL.
MAAS_EXPORT void maas_csv_destroy (maas_csv_t **self_p);

//  Data rows, and feature columns (the label column excluded).
MAAS_EXPORT size_t maas_csv_rows (const maas_csv_t *self);
MAAS_EXPORT size_t maas_csv_cols (const maas_csv_t *self);
//  rows × cols features (borrowed; the table owns it).
MAAS_EXPORT const maas_tensor_t *maas_csv_features (const maas_csv_t *self);
//  rows labels (borrowed), or NULL when loaded with MAAS_CSV_NO_LABEL.
MAAS_EXPORT const float *maas_csv_labels (const maas_csv_t *self);
//  Name of feature column I (0-based, asserted < cols), and of the label
//  column (NULL with MAAS_CSV_NO_LABEL). Borrowed.
MAAS_EXPORT const char *maas_csv_column_name (const maas_csv_t *self, size_t i);
MAAS_EXPORT const char *maas_csv_label_name (const maas_csv_t *self);
//  Columns neither picked nor the label, "id, extra" (borrowed), or NULL.
MAAS_EXPORT const char *maas_csv_dropped (const maas_csv_t *self);
//  When the label column held names ("benign", "malignant") rather than
//  numbers: the distinct names in sorted (bytewise) order, *COUNT of them
//  (borrowed), each row's label being its name's index. NULL (count 0)
//  for numeric labels. Loads only, not streams.
MAAS_EXPORT const char *const *maas_csv_classes (const maas_csv_t *self, size_t *count);
//  Take the features away from the table (caller owns them; the table then
//  has none). Saves a copy of a large data set.
MAAS_EXPORT maas_tensor_t *maas_csv_take_features (maas_csv_t *self);

//  -- streaming: a file of any size, a block of rows at a time (scoring)
typedef struct _maas_csv_stream_t maas_csv_stream_t;

//  Open PATH ("-": standard input, left open) and read its header. LABEL picks a column to read apart from
//  the features, as for maas_csv_load, except that NULL means none (every
//  column a feature, as MAAS_CSV_NO_LABEL). NULL with a message in ERR if
//  the file cannot be opened, has no header or no such column.
MAAS_EXPORT maas_csv_stream_t *maas_csv_stream_open (const char *path, const char *label,
                                                     maas_err_t *err);
//  Same with OPTS (may be NULL), as for maas_csv_read_with.
MAAS_EXPORT maas_csv_stream_t *maas_csv_stream_open_with (const char *path,
                                                          const maas_csv_options_t *opts,
                                                          maas_err_t *err);
MAAS_EXPORT void maas_csv_stream_destroy (maas_csv_stream_t **self_p);
//  Feature columns (the label column excluded).
MAAS_EXPORT size_t maas_csv_stream_cols (const maas_csv_stream_t *self);
//  Columns neither picked nor the label, "id, extra" (borrowed), or NULL.
MAAS_EXPORT const char *maas_csv_stream_dropped (const maas_csv_stream_t *self);
//  true if a label column was picked.
MAAS_EXPORT bool maas_csv_stream_has_label (const maas_csv_stream_t *self);
//  Line number of the last line read (1-based), for the caller's messages.
MAAS_EXPORT size_t maas_csv_stream_line (const maas_csv_stream_t *self);
//  Read up to MAX_ROWS rows into OUT (MAX_ROWS × cols floats) and, when a
//  label column was picked and LABELS is not NULL, their labels into LABELS;
//  *GOT rows read, 0 at the end. -1 with "file.csv:LINE:COLUMN 'x' is not a
//  number" (or a ragged row) in ERR; the rows before it are in OUT.
MAAS_EXPORT int maas_csv_stream_read (maas_csv_stream_t *self, float *out, float *labels,
                                      size_t max_rows, size_t *got, maas_err_t *err);

#ifdef __cplusplus
}
#endif

#endif
