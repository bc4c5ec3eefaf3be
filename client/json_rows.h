/*  json_rows.h: the JSON inputs the `maas` CLI reads, parsed with jansson:
 *  rows of numbers ([[1,2],[3,4]], one row [1,2], or one row per line) and
 *  the TF Serving request shapes {"instances": [...]} and {"inputs": ...}. */
#ifndef MAAS_CLIENT_JSON_ROWS_H
#define MAAS_CLIENT_JSON_ROWS_H

#include "tensor.h"

#include <stdbool.h>
#include <stddef.h>

//  true if TEXT (after blanks) starts like JSON ('[' or '{').
bool maas_json_rows_is_json (const char *text);

//  Parse the SIZE bytes of TEXT into a new rows × cols tensor (the caller
//  destroys it). Accepted:
//    [[1,2],[3,4]]   [1,2]   [1,2]\n[3,4] (one row per line)
//    {"instances": [[1,2],[3,4]]}   {"instances": [{"x0": 1, "x1": 2}, ...]}
//    {"inputs": [[1,2],[3,4]]}      {"inputs": {"x0": [1,3], "x1": [2,4]}}
//  Rows given as objects are matched by name to NAMES (N_NAMES columns, in
//  the model's order); keys not in NAMES are dropped and, if DROPPED is not
//  NULL, listed there ("label, id"; DROPPED_SIZE bytes). NULL with ERR for
//  malformed JSON (with its line and column), a key given twice in an
//  object ("duplicate object key"), a value that is not a
//  number, ragged rows, a missing column ("row 2 has no column 'x1'"), or
//  objects when NAMES is NULL (the model has no column names).
maas_tensor_t *maas_json_rows_parse (const char *text, size_t size, const char *const *names,
                                     size_t n_names, char *dropped, size_t dropped_size, char *err,
                                     size_t err_size);

#endif
