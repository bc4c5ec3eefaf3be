/*  rows_file.h: input rows for `maas infer` and `maas explain`, read from a
 *  file (or "-": stdin): CSV with a header line (or none with NO_HEADER),
 *  or JSON ([[1,2],[3,4]], {"instances": ...}, {"inputs": ...}). */
#ifndef MAAS_CLIENT_ROWS_FILE_H
#define MAAS_CLIENT_ROWS_FILE_H

#include "model_ref.h"
#include "tensor.h"

#include <stdbool.h>

//  Rows of PATH for the model REF names, columns matched by name to REF's
//  when it has names (dropped ones named on stderr). A new tensor (caller
//  destroys), or NULL after saying why on stderr, prefixed with CMD
//  ("maas infer").
maas_tensor_t *maas_rows_file_read (const char *cmd, const char *path, const maas_model_ref_t *ref,
                                    bool no_header);

#endif
