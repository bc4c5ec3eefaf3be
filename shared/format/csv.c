/*  csv.c: a bounded line reader and a strict numeric CSV parser. Lines are
 *  read into one fixed buffer, split in place, and every field is checked
 *  to be a whole finite number. */
#include "csv.h"

#include <assert.h>
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

struct _maas_csv_t {
    maas_tensor_t *features;    //  rows × cols, owned (NULL once taken)
    float *labels;              //  rows floats or NULL, owned
    char **names;               //  cols feature names, owned
    char *label_name;           //  label column name or NULL, owned
    char *dropped;              //  columns not picked ("id, extra") or NULL, owned
    size_t rows;                //  data rows
    size_t cols;                //  feature columns
    char **classes;             //  n_classes label names (sorted), owned, or NULL
    size_t n_classes;           //  when the labels were names, not numbers
};

//  The distinct label texts of a file being loaded, so that labels that
//  are names ("benign") become class indices in the names' sorted order.
typedef struct {
    char **texts;     //  distinct label texts in order of appearance, owned
    size_t count;     //  entries in TEXTS
    size_t *ids;      //  per row: its text's index in TEXTS, owned, growing
    bool full;        //  more than MAAS_CSV_CLASSES_MAX distinct texts: not tracked
    bool named;       //  the labels are names (none was a number)
    bool numbered;    //  a label was a number: every one must be
} s_names_t;

//  Parser state while reading one file.
typedef struct {
    FILE *file;                    //  source, borrowed
    const char *name;              //  file name for messages
    char *line;                    //  MAX_LINE + 1 bytes, owned
    size_t line_no;                //  1-based number of the line in LINE
    char **fields;                 //  field starts within LINE, owned
    size_t n_fields;               //  fields in the current line
    size_t header_cols;            //  fields in the header
    long label_col;                //  index of the label column, -1: none
    bool no_header;                //  the first row is data, columns by position
    bool pending;                  //  FIELDS hold a data row not yet parsed
    size_t *map;                   //  feature k is field map[k], owned
    size_t n_map;                  //  features per row
    char *dropped;                 //  columns neither picked nor the label, owned
    float *values;                 //  rows × cols features, owned, growing
    float *labels;                 //  rows labels, owned, growing
    size_t rows;                   //  data rows so far
    size_t capacity;               //  rows VALUES and LABELS have room for
    maas_err_t *err;               //  the caller's, or NULL
    s_names_t *names;              //  label texts (whole-file loads only), or NULL
    const char *const *classes;    //  label names to read as their index, borrowed, or NULL
    size_t n_classes;              //  entries in CLASSES
} s_parser_t;

//  Read the next line into p->line without its end of line. Returns 1 for a
//  line, 0 at end of file, -1 on a line too long, a NUL byte or a read error.
static int
s_read_line (s_parser_t *p)
{
    size_t len = 0;
    int c;
    while ((c = getc_unlocked (p->file)) != EOF && c != '\n') {
        if (len == MAAS_CSV_MAX_LINE) {
            maas_err_set (p->err, MAAS_ERR_INPUT, "%s:%zu: line longer than %d bytes", p->name,
                          p->line_no + 1, MAAS_CSV_MAX_LINE);
            return -1;
        }
        if (c == 0) {
            maas_err_set (p->err, MAAS_ERR_INPUT, "%s:%zu:%zu: NUL byte in a text file", p->name,
                          p->line_no + 1, len + 1);
            return -1;
        }
        p->line[len++] = (char) c;
    }
    if (ferror (p->file)) {
        maas_err_set (p->err, MAAS_ERR_IO, "%s: read error: %s", p->name, strerror (errno));
        return -1;
    }
    if (c == EOF && len == 0)
        return 0;
    if (len > 0 && p->line[len - 1] == '\r')
        len--;
    p->line[len] = 0;
    p->line_no++;
    return 1;
}

//  Trim spaces and one pair of surrounding double quotes, in place.
static char *
s_trim (char *text)
{
    while (*text == ' ' || *text == '\t')
        text++;
    size_t len = strlen (text);
    while (len > 0 && (text[len - 1] == ' ' || text[len - 1] == '\t'))
        text[--len] = 0;
    if (len >= 2 && text[0] == '"' && text[len - 1] == '"') {
        text[len - 1] = 0;
        text++;
    }
    return text;
}

//  Split p->line at commas into p->fields. -1 if there are too many.
static int
s_split (s_parser_t *p)
{
    p->n_fields = 0;
    char *cursor = p->line;
    for (;;) {
        if (p->n_fields == MAAS_CSV_MAX_COLS) {
            maas_err_set (p->err, MAAS_ERR_INPUT, "%s:%zu: more than %d columns", p->name,
                          p->line_no, MAAS_CSV_MAX_COLS);
            return -1;
        }
        char *comma = strchr (cursor, ',');
        if (comma)
            *comma = 0;
        p->fields[p->n_fields++] = s_trim (cursor);
        if (!comma)
            return 0;
        cursor = comma + 1;
    }
}

static bool
s_blank (const char *line)
{
    while (*line == ' ' || *line == '\t')
        line++;
    return *line == 0;
}

//  Parse TEXT as a whole finite float into *value.
static bool
s_parse_number (const char *text, float *value)
{
    if (*text == 0)
        return false;
    char *end;
    errno = 0;
    float v = strtof (text, &end);
    if (*end != 0 || !isfinite (v))
        return false;
    *value = v;
    return true;
}

//  Resolve LABEL against the header fields into p->label_col.
static int
s_find_label (s_parser_t *p, const char *label)
{
    if (label && strcmp (label, MAAS_CSV_NO_LABEL) == 0) {
        p->label_col = -1;
        return 0;
    }
    if (!label || !*label) {
        p->label_col = (long) p->header_cols - 1;
        return 0;
    }
    for (size_t j = 0; !p->no_header && j < p->header_cols; j++)
        if (strcmp (p->fields[j], label) == 0) {
            p->label_col = (long) j;
            return 0;
        }
    char *end;
    unsigned long index = strtoul (label, &end, 10);
    if (isdigit ((unsigned char) *label) && *end == 0 && index < p->header_cols) {
        p->label_col = (long) index;
        return 0;
    }
    maas_err_set (p->err, MAAS_ERR_INPUT,
                  "%s: no label column '%s' (not a column name, nor an index 0..%zu)", p->name,
                  label, p->header_cols - 1);
    return -1;
}

//  Make room for one more row. -1 past the size limit or out of memory.
static int
s_grow (s_parser_t *p, size_t cols)
{
    if (p->rows < p->capacity)
        return 0;
    size_t capacity = p->capacity ? p->capacity * 2 : 1024;
    if (capacity > MAAS_TENSOR_MAX_ELEMS / cols) {
        capacity = MAAS_TENSOR_MAX_ELEMS / cols;
        if (capacity <= p->rows) {
            maas_err_set (p->err, MAAS_ERR_INPUT, "%s:%zu: table larger than %zu values", p->name,
                          p->line_no, (size_t) MAAS_TENSOR_MAX_ELEMS);
            return -1;
        }
    }
    float *values = realloc (p->values, capacity * cols * sizeof (float));
    if (values)
        p->values = values;
    float *labels = realloc (p->labels, capacity * sizeof (float));
    if (labels)
        p->labels = labels;
    size_t *ids = p->names ? realloc (p->names->ids, capacity * sizeof *ids) : NULL;
    if (ids)
        p->names->ids = ids;
    if (!values || !labels || (p->names && !ids)) {
        maas_err_set (p->err, MAAS_ERR_NOMEM, "%s:%zu: out of memory", p->name, p->line_no);
        return -1;
    }
    p->capacity = capacity;
    return 0;
}

//  Parse field J of the current line into *VALUE.
static int
s_parse_field (s_parser_t *p, size_t j, float *value)
{
    if (s_parse_number (p->fields[j], value))
        return 0;
    maas_err_set (p->err, MAAS_ERR_INPUT, "%s:%zu:%zu '%.40s' is not a number", p->name, p->line_no,
                  j + 1, p->fields[j]);
    return -1;
}

//  Index of TEXT among the label texts seen, added when new; -1 once there
//  are too many to be class names (then none are tracked).
static long
s_label_id (s_names_t *names, const char *text)
{
    for (size_t i = names->count; i > 0; i--)
        if (strcmp (names->texts[i - 1], text) == 0)
            return (long) i - 1;
    char **texts = names->count < MAAS_CSV_CLASSES_MAX
        ? realloc (names->texts, (names->count + 1) * sizeof *texts)
        : NULL;
    if (texts)
        names->texts = texts;
    if (!texts || !(texts[names->count] = strdup (text))) {
        names->full = true;
        return -1;
    }
    return (long) names->count++;
}

//  Label field J when the caller gave class names (the model's labels):
//  a name is its index, a number is a class index as before; anything
//  else is an error naming it and the names, so a typo or a data set of
//  other classes stops the run instead of scoring as wrong.
static int
s_parse_class (s_parser_t *p, size_t j, float *label)
{
    const char *text = p->fields[j];
    for (size_t k = 0; k < p->n_classes; k++)
        if (strcmp (text, p->classes[k]) == 0) {
            *label = (float) k;
            return 0;
        }
    if (s_parse_number (text, label))
        return 0;
    char list[160] = "";
    size_t used = 0;
    for (size_t k = 0; k < p->n_classes && used < sizeof list; k++)
        used += (size_t) snprintf (list + used, sizeof list - used, "%s%s", k ? ", " : "",
                                   p->classes[k]);
    maas_err_set (p->err, MAAS_ERR_INPUT,
                  "%s:%zu:%zu label '%.40s' is not one of the model's labels (%s) nor a number",
                  p->name, p->line_no, j + 1, text, list);
    return -1;
}

//  The label field of the current line (row p->rows) into *LABEL: a
//  number, or when loading a whole file, a class name (its index is set
//  once every row is read, s_name_classes).
static int
s_parse_label (s_parser_t *p, float *label)
{
    size_t j = (size_t) p->label_col;
    const char *text = p->fields[j];
    if (p->classes)
        return s_parse_class (p, j, label);
    bool number = s_parse_number (text, label);
    s_names_t *names = p->names;
    //  Numbers and names do not mix (a typo in numeric labels must not
    //  turn them into classes); "nan", "inf" or "1e99" are bad numbers.
    char *end;
    bool numeric_text = *text && (strtof (text, &end), *end == 0);
    if (!names || numeric_text || names->numbered) {
        if (names)
            names->numbered = true;
        if (number && names && names->named) {
            maas_err_set (p->err, MAAS_ERR_INPUT,
                          "%s:%zu:%zu '%.40s' is a number, but the labels before it are names",
                          p->name, p->line_no, j + 1, text);
            return -1;
        }
        return number ? 0 : s_parse_field (p, j, label);
    }
    long id = *text ? s_label_id (names, text) : -1;
    if (id < 0) {
        maas_err_set (p->err, MAAS_ERR_INPUT,
                      "%s:%zu:%zu '%.40s' is not a class name (at most %d distinct, not empty)",
                      p->name, p->line_no, j + 1, text, MAAS_CSV_CLASSES_MAX);
        return -1;
    }
    names->ids[p->rows] = (size_t) id;
    names->named = true;
    return 0;
}

//  Parse the split fields of a data line into ROW (the picked features, in
//  their order) and, when there is a label column, *LABEL. Dropped columns
//  are not parsed.
static int
s_parse_values (s_parser_t *p, float *row, float *label)
{
    if (p->n_fields != p->header_cols) {
        maas_err_set (p->err, MAAS_ERR_INPUT, "%s:%zu: expected %zu fields like the %s, got %zu",
                      p->name, p->line_no, p->header_cols, p->no_header ? "first row" : "header",
                      p->n_fields);
        return -1;
    }
    for (size_t k = 0; k < p->n_map; k++)
        if (s_parse_field (p, p->map[k], row + k) != 0)
            return -1;
    if (p->label_col >= 0 && s_parse_label (p, label) != 0)
        return -1;
    return 0;
}

//  Parse the split fields of a data line into the next row.
static int
s_parse_row (s_parser_t *p, size_t cols)
{
    if (s_grow (p, cols) != 0
        || s_parse_values (p, p->values + p->rows * cols, p->labels + p->rows) != 0)
        return -1;
    p->rows++;
    return 0;
}

//  Next non-blank line, split. 1, 0 at end of file, -1 on error.
static int
s_next_fields (s_parser_t *p)
{
    int rc;
    while ((rc = s_read_line (p)) == 1 && s_blank (p->line))
        ;
    if (rc == 1 && s_split (p) != 0)
        return -1;
    return rc;
}

//  true if every field of the current line is a number: a data row, not
//  a header of column names.
static bool
s_all_numbers (const s_parser_t *p)
{
    float ignored;
    for (size_t j = 0; j < p->n_fields; j++)
        if (!s_parse_number (p->fields[j], &ignored))
            return false;
    return true;
}

//  Append NAME to the comma-separated list *LIST (owned, grown).
static int
s_list_add (char **list, const char *name)
{
    size_t used = *list ? strlen (*list) : 0;
    char *bigger = realloc (*list, used + strlen (name) + 3);
    if (!bigger)
        return -1;
    sprintf (bigger + used, "%s%s", used ? ", " : "", name);
    *list = bigger;
    return 0;
}

//  Map the features: every column but the label, or OPTS->columns by name
//  (a missing one is an error naming it); the rest are listed as dropped.
static int
s_map_columns (s_parser_t *p, const maas_csv_options_t *opts)
{
    bool by_name = opts && opts->columns && !p->no_header;
    p->n_map = by_name ? opts->n_columns : p->header_cols - (p->label_col >= 0);
    p->map = calloc (p->n_map ? p->n_map : 1, sizeof *p->map);
    bool *used = calloc (p->header_cols, sizeof *used);
    int rc = p->map && used ? 0 : -1;
    for (size_t k = 0, j = 0; rc == 0 && !by_name && j < p->header_cols; j++)
        if ((long) j != p->label_col)
            p->map[k++] = j;
    for (size_t k = 0; rc == 0 && by_name && k < p->n_map; k++) {
        size_t j = 0;
        while (j < p->header_cols
               && ((long) j == p->label_col || strcmp (p->fields[j], opts->columns[k]) != 0))
            j++;
        if (j == p->header_cols) {
            maas_err_set (p->err, MAAS_ERR_INPUT,
                          "%s: no column '%s', which the model needs (its columns are named in "
                          "`maas model show`)",
                          p->name, opts->columns[k]);
            rc = -1;
        }
        else
            used[p->map[k] = j] = true;
    }
    for (size_t j = 0; rc == 0 && by_name && j < p->header_cols; j++)
        if (!used[j] && (long) j != p->label_col)
            rc = s_list_add (&p->dropped, p->fields[j]);
    free (used);
    return rc;
}

static int
s_compare_names (const void *a, const void *b)
{
    const char *x = *(const char *const *) a, *y = *(const char *const *) b;
    int order = strcmp (x, y);
    return order ? order : (x > y) - (x < y);    //  fields lie in LINE in column order
}

//  -1 after saying so if the header names a column twice: every reader
//  matches columns by name (the label, the model's inputs, a data set's
//  columns), and a repeated name would pick one of the two silently.
static int
s_check_names_once (s_parser_t *p)
{
    char **sorted = malloc (p->header_cols * sizeof *sorted);
    if (!sorted) {
        maas_err_set (p->err, MAAS_ERR_NOMEM, "%s: out of memory", p->name);
        return -1;
    }
    memcpy (sorted, p->fields, p->header_cols * sizeof *sorted);
    qsort (sorted, p->header_cols, sizeof *sorted, s_compare_names);
    size_t k = 1;
    while (k < p->header_cols && strcmp (sorted[k - 1], sorted[k]) != 0)
        k++;
    if (k < p->header_cols) {
        size_t first = 0, second;
        while (p->fields[first] != sorted[k - 1])
            first++;
        for (second = first + 1; p->fields[second] != sorted[k]; second++)
            ;
        maas_err_set (
            p->err, MAAS_ERR_INPUT,
            "%s: the header names column '%.64s' twice (columns %zu and %zu): rename one, "
            "columns are matched by name",
            p->name, sorted[k], first + 1, second + 1);
    }
    free (sorted);
    return k < p->header_cols ? -1 : 0;
}

//  Read the first row: the header (or, with no_header, a data row kept
//  pending), pick the label column, map the features. A first row of
//  numbers alone is refused unless no_header: the file has no header.
static int
s_take_header (s_parser_t *p, const maas_csv_options_t *opts)
{
    const char *label = opts ? opts->label : NULL;
    p->no_header = opts && opts->no_header;
    int rc = s_next_fields (p);
    if (rc == 0)
        maas_err_set (p->err, MAAS_ERR_INPUT, "%s: empty file (expected a header row)", p->name);
    if (rc != 1)
        return -1;
    p->header_cols = p->n_fields;
    if (!p->no_header && s_all_numbers (p) && p->n_fields > 0) {
        maas_err_set (p->err, MAAS_ERR_INPUT,
                      "%s: line %zu is all numbers, not column names: the file has no header "
                      "row (add one; maas infer and maas score read it by position with "
                      "--no-header)",
                      p->name, p->line_no);
        return -1;
    }
    if (!p->no_header && s_check_names_once (p) != 0)
        return -1;
    p->pending = p->no_header;
    if (p->no_header && label && *label && strcmp (label, MAAS_CSV_NO_LABEL) != 0
        && !isdigit ((unsigned char) *label)) {
        maas_err_set (p->err, MAAS_ERR_INPUT,
                      "%s: no header row, so the label must be a column index, not '%s'", p->name,
                      label);
        return -1;
    }
    if (s_find_label (p, label) != 0)
        return -1;
    p->classes = opts ? opts->classes : NULL;
    p->n_classes = opts ? opts->n_classes : 0;
    if (p->header_cols - (p->label_col >= 0) == 0) {
        maas_err_set (p->err, MAAS_ERR_INPUT, "%s: no feature columns besides the label", p->name);
        return -1;
    }
    return s_map_columns (p, opts);
}

//  Name of field J: the header's, or its 1-based number without a header.
static char *
s_field_name (const s_parser_t *p, size_t j)
{
    char number[24];
    snprintf (number, sizeof number, "%zu", j + 1);
    return strdup (p->no_header ? number : p->fields[j]);
}

//  Read the header and keep the picked names in SELF.
static int
s_read_header (s_parser_t *p, maas_csv_t *self, const maas_csv_options_t *opts)
{
    if (s_take_header (p, opts) != 0)
        return -1;
    self->cols = p->n_map;
    self->names = calloc (self->cols, sizeof *self->names);
    if (!self->names)
        return -1;
    for (size_t k = 0; k < self->cols; k++)
        if (!(self->names[k] = s_field_name (p, p->map[k])))
            return -1;
    if (p->label_col >= 0 && !(self->label_name = s_field_name (p, (size_t) p->label_col)))
        return -1;
    if (p->dropped && !(self->dropped = strdup (p->dropped)))
        return -1;
    return 0;
}

//  Next data row into FIELDS: the pending first row, else the next line.
static int
s_next_row (s_parser_t *p)
{
    if (p->pending) {
        p->pending = false;
        return 1;
    }
    return s_next_fields (p);
}

static int
s_cmp_text (const void *a, const void *b)
{
    return strcmp (*(char *const *) a, *(char *const *) b);
}

//  Labels that were names: sort the names, make each row's label the index
//  of its name, and give SELF the names. Numbers among them are names too.
static int
s_name_classes (s_parser_t *p, maas_csv_t *self)
{
    s_names_t *names = p->names;
    if (names->count < 2) {
        maas_err_set (
            p->err, MAAS_ERR_INPUT,
            "%s: every label is '%.40s', not a number: class names need two classes or more",
            p->name, names->texts[0]);
        return -1;
    }
    char **sorted = malloc (names->count * sizeof *sorted);
    size_t *rank = malloc (names->count * sizeof *rank);
    if (!sorted || !rank) {
        free (sorted);
        free (rank);
        return -1;
    }
    memcpy (sorted, names->texts, names->count * sizeof *sorted);
    qsort (sorted, names->count, sizeof *sorted, s_cmp_text);
    for (size_t i = 0; i < names->count; i++)
        for (size_t k = 0; k < names->count; k++)
            if (sorted[k] == names->texts[i])
                rank[i] = k;
    for (size_t r = 0; r < p->rows; r++)
        p->labels[r] = (float) rank[names->ids[r]];
    free (rank);
    self->classes = sorted;    //  the strings move from TEXTS to SELF
    self->n_classes = names->count;
    free (names->texts);
    names->texts = NULL;
    names->count = 0;
    return 0;
}

static int
s_read_rows (s_parser_t *p, maas_csv_t *self)
{
    int rc;
    while ((rc = s_next_row (p)) == 1)
        if (s_parse_row (p, self->cols) != 0)
            return -1;
    if (rc < 0)
        return -1;
    if (p->rows == 0) {
        maas_err_set (p->err, MAAS_ERR_INPUT, "%s: no data rows after the header", p->name);
        return -1;
    }
    self->rows = p->rows;
    self->features = maas_tensor_from (p->values, p->rows, self->cols);
    if (!self->features)
        return -1;
    if (p->label_col >= 0 && p->names && p->names->named && s_name_classes (p, self) != 0)
        return -1;
    if (p->label_col >= 0) {
        self->labels = p->labels;
        p->labels = NULL;
    }
    return 0;
}

maas_csv_t *
maas_csv_read_with (FILE *file, const char *name, const maas_csv_options_t *opts, maas_err_t *err)
{
    assert (file && name);
    s_names_t names = {0};
    s_parser_t p = {.file = file, .name = name, .err = err, .names = &names};
    maas_err_clear (err);
    maas_csv_t *self = calloc (1, sizeof *self);
    p.line = malloc (MAAS_CSV_MAX_LINE + 1);
    p.fields = malloc (MAAS_CSV_MAX_COLS * sizeof *p.fields);
    if (!self || !p.line || !p.fields || s_read_header (&p, self, opts) != 0
        || s_read_rows (&p, self) != 0) {
        maas_csv_destroy (&self);
        if (err && !err->text[0])
            maas_err_set (err, MAAS_ERR_NOMEM, "%s: out of memory", name);
    }
    free (p.line);
    free (p.fields);
    free (p.values);
    free (p.labels);
    free (p.map);
    free (p.dropped);
    for (size_t i = 0; i < names.count; i++)
        free (names.texts[i]);
    free (names.texts);
    free (names.ids);
    return self;
}

maas_csv_t *
maas_csv_read (FILE *file, const char *name, const char *label, maas_err_t *err)
{
    maas_csv_options_t opts = {.label = label};
    return maas_csv_read_with (file, name, &opts, err);
}

maas_csv_t *
maas_csv_load (const char *path, const char *label, maas_err_t *err)
{
    assert (path);
    FILE *file = fopen (path, "r");
    if (!file) {
        maas_err_set (err, MAAS_ERR_IO, "%s: %s", path, strerror (errno));
        return NULL;
    }
    maas_csv_t *self = maas_csv_read (file, path, label, err);
    fclose (file);
    return self;
}

void
maas_csv_destroy (maas_csv_t **self_p)
{
    assert (self_p);
    maas_csv_t *self = *self_p;
    if (!self)
        return;
    for (size_t j = 0; self->names && j < self->cols; j++)
        free (self->names[j]);
    free (self->names);
    free (self->label_name);
    free (self->dropped);
    free (self->labels);
    for (size_t k = 0; k < self->n_classes; k++)
        free (self->classes[k]);
    free (self->classes);
    maas_tensor_destroy (&self->features);
    free (self);
    *self_p = NULL;
}

size_t
maas_csv_rows (const maas_csv_t *self)
{
    return self->rows;
}
size_t
maas_csv_cols (const maas_csv_t *self)
{
    return self->cols;
}
const maas_tensor_t *
maas_csv_features (const maas_csv_t *self)
{
    return self->features;
}
const float *
maas_csv_labels (const maas_csv_t *self)
{
    return self->labels;
}
const char *
maas_csv_label_name (const maas_csv_t *self)
{
    return self->label_name;
}
const char *
maas_csv_dropped (const maas_csv_t *self)
{
    return self->dropped;
}

const char *
maas_csv_column_name (const maas_csv_t *self, size_t i)
{
    assert (i < self->cols);
    return self->names[i];
}

const char *const *
maas_csv_classes (const maas_csv_t *self, size_t *count)
{
    *count = self->n_classes;
    return (const char *const *) self->classes;
}

maas_tensor_t *
maas_csv_take_features (maas_csv_t *self)
{
    maas_tensor_t *features = self->features;
    self->features = NULL;
    return features;
}

//  -- streaming: rows a block at a time, for files larger than memory

struct _maas_csv_stream_t {
    s_parser_t parser;    //  file, line buffer, fields; owns them
    size_t rows;          //  data rows read so far
};

maas_csv_stream_t *
maas_csv_stream_open_with (const char *path, const maas_csv_options_t *opts, maas_err_t *err)
{
    maas_csv_stream_t *self = calloc (1, sizeof *self);
    if (!self)
        return NULL;
    s_parser_t *p = &self->parser;
    p->err = err;
    p->label_col = -1;
    p->file = strcmp (path, "-") == 0 ? stdin : fopen (path, "r");
    p->line = malloc (MAAS_CSV_MAX_LINE + 1);
    p->fields = malloc (MAAS_CSV_MAX_COLS * sizeof *p->fields);
    p->name = strdup (path);
    if (!p->file)
        maas_err_set (p->err, MAAS_ERR_IO, "%s: %s", path, strerror (errno));
    maas_csv_options_t picked = opts ? *opts : (maas_csv_options_t){0};
    if (!picked.label)
        picked.label = MAAS_CSV_NO_LABEL;    //  streams pick no label unless asked
    if (!p->file || !p->line || !p->fields || !p->name || s_take_header (p, &picked) != 0)
        maas_csv_stream_destroy (&self);
    return self;
}

maas_csv_stream_t *
maas_csv_stream_open (const char *path, const char *label, maas_err_t *err)
{
    maas_csv_options_t opts = {.label = label};
    return maas_csv_stream_open_with (path, &opts, err);
}

void
maas_csv_stream_destroy (maas_csv_stream_t **self_p)
{
    assert (self_p);
    maas_csv_stream_t *self = *self_p;
    if (!self)
        return;
    if (self->parser.file && self->parser.file != stdin)
        fclose (self->parser.file);
    free (self->parser.line);
    free (self->parser.fields);
    free (self->parser.map);
    free (self->parser.dropped);
    free ((char *) self->parser.name);
    free (self);
    *self_p = NULL;
}

size_t
maas_csv_stream_cols (const maas_csv_stream_t *self)
{
    return self->parser.n_map;
}
const char *
maas_csv_stream_dropped (const maas_csv_stream_t *self)
{
    return self->parser.dropped;
}

bool
maas_csv_stream_has_label (const maas_csv_stream_t *self)
{
    return self->parser.label_col >= 0;
}
size_t
maas_csv_stream_line (const maas_csv_stream_t *self)
{
    return self->parser.line_no;
}

int
maas_csv_stream_read (maas_csv_stream_t *self, float *out, float *labels, size_t max_rows,
                      size_t *got, maas_err_t *err)
{
    s_parser_t *p = &self->parser;
    p->err = err;
    *got = 0;
    while (*got < max_rows) {
        int rc = s_next_row (p);
        if (rc == 0)
            break;
        if (rc < 0)
            return -1;
        float ignored;
        float *label = labels ? labels + *got : &ignored;
        if (s_parse_values (p, out + *got * maas_csv_stream_cols (self), label) != 0)
            return -1;
        (*got)++;
        self->rows++;
    }
    return 0;
}
