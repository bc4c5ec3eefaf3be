/*  rows_file.c: the rows `maas infer` and `maas explain` send, read from a
 *  file or stdin: CSV with a header, or JSON arrays, columns matched by
 *  name to the model's. */
#include "rows_file.h"
#include "json_rows.h"
#include "maas.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_INPUT_MAX ((size_t) 256 << 20)    //  largest input read

//  All of PATH ("-": stdin) into a NUL-terminated buffer; NULL after
//  reporting.
static char *
s_slurp (const char *cmd, const char *path, size_t *size)
{
    FILE *file = strcmp (path, "-") == 0 ? stdin : fopen (path, "rb");
    if (!file) {
        fprintf (stderr, "%s: cannot open %s: %s\n", cmd, path, strerror (errno));
        return NULL;
    }
    size_t cap = 1 << 16, used = 0;
    char *text = malloc (cap);
    while (text) {
        used += fread (text + used, 1, cap - used - 1, file);
        if (used < cap - 1 || cap >= S_INPUT_MAX)
            break;
        char *bigger = realloc (text, cap * 2);
        if (!bigger)
            free (text);
        text = bigger;
        cap *= 2;
    }
    if (file != stdin)
        fclose (file);
    if (!text || used >= S_INPUT_MAX - 1) {
        fprintf (stderr, "%s: %s: %s\n", cmd, path, text ? "over 256 MB" : "out of memory");
        free (text);
        return NULL;
    }
    text[used] = 0;
    *size = used;
    return text;
}

//  Tell the user which input columns the model does not use.
static void
s_report_dropped (const char *cmd, const char *name, const char *dropped)
{
    if (dropped && *dropped)
        fprintf (stderr, "%s: %s: dropped columns the model does not use: %s\n", cmd, name,
                 dropped);
}

//  Rows from TEXT: JSON when it starts with '[' or '{', else CSV with a
//  header; columns matched by name to REF's when it has names.
static maas_tensor_t *
s_rows (const char *cmd, char *text, size_t size, const char *name, const maas_model_ref_t *ref,
        bool no_header)
{
    maas_err_t err = {MAAS_ERR_NOMEM, "out of memory"};
    const char *start = text;
    while (isspace ((unsigned char) *start))
        start++;
    const char *const *columns = (const char *const *) ref->columns;
    maas_tensor_t *x = NULL;
    bool named = false;    //  the message names the file already (the CSV reader's)
    if (maas_json_rows_is_json (start)) {
        char dropped[512];
        x = maas_json_rows_parse (start, size - (size_t) (start - text), columns, ref->n_columns,
                                  dropped, sizeof dropped, err.text, sizeof err.text);
        if (x)
            s_report_dropped (cmd, name, dropped);
    }
    else {
        FILE *memory = fmemopen (text, size, "r");
        maas_csv_options_t csv_opts = {.label = MAAS_CSV_NO_LABEL,
                                       .no_header = no_header,
                                       .columns = columns,
                                       .n_columns = ref->n_columns};
        maas_csv_t *csv = memory ? maas_csv_read_with (memory, name, &csv_opts, &err) : NULL;
        named = memory != NULL;
        if (memory)
            fclose (memory);
        if (csv)
            s_report_dropped (cmd, name, maas_csv_dropped (csv));
        x = csv ? maas_csv_take_features (csv) : NULL;
        maas_csv_destroy (&csv);
    }
    if (!x && named)
        fprintf (stderr, "%s: %s\n", cmd, err.text);
    else if (!x)
        fprintf (stderr, "%s: %s: %s\n", cmd, name, err.text);
    return x;
}

maas_tensor_t *
maas_rows_file_read (const char *cmd, const char *path, const maas_model_ref_t *ref, bool no_header)
{
    size_t size;
    char *text = s_slurp (cmd, path, &size);
    maas_tensor_t *x = text ? s_rows (cmd, text, size, path, ref, no_header) : NULL;
    free (text);
    return x;
}
