/*  check_csv.c: the CSV loader on the shipped data and on every kind of
 *  bad file, each error naming the file, line and column. */
#include "maas.h"
#include "support.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

static maas_err_t s_error;

//  Parse TEXT as if it were the file "t.csv".
static maas_csv_t *
s_parse (const char *text, const char *label)
{
    FILE *file = fmemopen ((void *) text, strlen (text), "r");
    ck_assert_ptr_nonnull (file);
    maas_csv_t *csv = maas_csv_read (file, "t.csv", label, &s_error);
    fclose (file);
    return csv;
}

//  TEXT must fail to parse with exactly MESSAGE.
static void
s_expect_error (const char *text, const char *label, const char *message)
{
    maas_err_clear (&s_error);
    maas_csv_t *csv = s_parse (text, label);
    ck_assert_msg (csv == NULL, "parsed: %s", text);
    ck_assert_str_eq (s_error.text, message);
    ck_assert_int_eq (s_error.code, MAAS_ERR_INPUT);
}

START_TEST (test_shipped_data)
{
    char *path = support_src_path ("data/breast_cancer_train.csv");
    maas_csv_t *csv = maas_csv_load (path, NULL, &s_error);
    ck_assert_msg (csv != NULL, "%s", s_error.text);
    ck_assert_uint_eq (maas_csv_rows (csv), 455);
    ck_assert_uint_eq (maas_csv_cols (csv), 30);
    ck_assert_str_eq (maas_csv_label_name (csv), "label");
    ck_assert_uint_eq (maas_csv_features (csv)->rows, 455);
    for (size_t i = 0; i < 455; i++)
        ck_assert (maas_csv_labels (csv)[i] == 0 || maas_csv_labels (csv)[i] == 1);
    maas_csv_destroy (&csv);
    ck_assert_ptr_null (csv);
    maas_csv_destroy (&csv);
    free (path);
    path = support_src_path ("data/digits_test.csv");
    csv = maas_csv_load (path, "label", &s_error);
    ck_assert_msg (csv != NULL, "%s", s_error.text);
    ck_assert_uint_eq (maas_csv_rows (csv), 360);
    ck_assert_uint_eq (maas_csv_cols (csv), 64);
    ck_assert_str_eq (maas_csv_column_name (csv, 63), "pixel_7_7");
    maas_csv_destroy (&csv);
    free (path);
}
END_TEST

START_TEST (test_label_by_name_index_or_none)
{
    const char *text = "a, \"b\" ,c\r\n1,2,3\r\n\r\n4.5,-5e1, 6 \n";
    maas_csv_t *csv = s_parse (text, "b");
    ck_assert_ptr_nonnull (csv);
    ck_assert_uint_eq (maas_csv_rows (csv), 2);
    ck_assert_uint_eq (maas_csv_cols (csv), 2);
    ck_assert_str_eq (maas_csv_label_name (csv), "b");
    ck_assert_str_eq (maas_csv_column_name (csv, 1), "c");
    float want[4] = {1, 3, 4.5f, 6};
    ck_assert_mem_eq (maas_csv_features (csv)->data, want, sizeof want);
    ck_assert_float_eq (maas_csv_labels (csv)[1], -50.0f);
    maas_csv_destroy (&csv);
    csv = s_parse (text, "0");
    ck_assert_str_eq (maas_csv_label_name (csv), "a");
    ck_assert_float_eq (maas_csv_labels (csv)[1], 4.5f);
    maas_csv_destroy (&csv);
    csv = s_parse (text, "");
    ck_assert_str_eq (maas_csv_label_name (csv), "c");
    maas_csv_destroy (&csv);
    csv = s_parse (text, MAAS_CSV_NO_LABEL);
    ck_assert_uint_eq (maas_csv_cols (csv), 3);
    ck_assert_ptr_null (maas_csv_labels (csv));
    ck_assert_ptr_null (maas_csv_label_name (csv));
    maas_tensor_t *features = maas_csv_take_features (csv);
    ck_assert_ptr_null (maas_csv_features (csv));
    maas_csv_destroy (&csv);
    ck_assert_float_eq (features->data[5], 6.0f);
    maas_tensor_destroy (&features);
}
END_TEST

START_TEST (test_bad_values_name_line_and_column)
{
    s_expect_error ("a,b,c\n1,2,3\n4,x5,6\n", NULL, "t.csv:3:2 'x5' is not a number");
    s_expect_error ("a,b,c\n1,2,3\n\n4,5,\n", NULL, "t.csv:4:3 '' is not a number");
    s_expect_error ("a,b\n1,nan\n", NULL, "t.csv:2:2 'nan' is not a number");
    s_expect_error ("a,b\n1e99,1\n", NULL, "t.csv:2:1 '1e99' is not a number");
    s_expect_error ("a,b\n1,2 3\n", NULL,
                    "t.csv: every label is '2 3', not a number: class names need two classes or "
                    "more");
}
END_TEST

START_TEST (test_bad_files)
{
    s_expect_error ("", NULL, "t.csv: empty file (expected a header row)");
    s_expect_error ("\n \n", NULL, "t.csv: empty file (expected a header row)");
    s_expect_error ("a,b\n", NULL, "t.csv: no data rows after the header");
    s_expect_error ("a,b\n1,2\n3\n", NULL, "t.csv:3: expected 2 fields like the header, got 1");
    s_expect_error ("a,b\n1,2,3\n", NULL, "t.csv:2: expected 2 fields like the header, got 3");
    s_expect_error ("a,b\n1,2\n", "zz",
                    "t.csv: no label column 'zz' (not a column name, nor an index 0..1)");
    s_expect_error ("a,b\n1,2\n", "2",
                    "t.csv: no label column '2' (not a column name, nor an index 0..1)");
    s_expect_error ("label\n1\n", NULL, "t.csv: no feature columns besides the label");
    ck_assert_ptr_null (maas_csv_load ("/nonexistent/x.csv", NULL, &s_error));
    ck_assert_str_eq (s_error.text, "/nonexistent/x.csv: No such file or directory");
    ck_assert_int_eq (s_error.code, MAAS_ERR_IO);
    ck_assert_ptr_null (maas_csv_load ("/nonexistent/x.csv", NULL, NULL));
}
END_TEST

START_TEST (test_huge_line_and_nul)
{
    size_t size = MAAS_CSV_MAX_LINE + 100;
    char *text = malloc (size + 1);
    memcpy (text, "a,b\n", 4);
    memset (text + 4, '1', size - 4);
    text[size] = 0;
    s_expect_error (text, NULL, "t.csv:2: line longer than 1048576 bytes");
    free (text);
    const char with_nul[] = "a,b\n1,\0002\n";
    FILE *file = fmemopen ((void *) with_nul, sizeof with_nul - 1, "r");
    ck_assert_ptr_null (maas_csv_read (file, "t.csv", NULL, &s_error));
    fclose (file);
    ck_assert_str_eq (s_error.text, "t.csv:2:3: NUL byte in a text file");
}
END_TEST

//  TEXT read with OPTS as "t.csv"; NULL with s_error.text on failure.
static maas_csv_t *
s_parse_with (const char *text, const maas_csv_options_t *opts)
{
    FILE *file = fmemopen ((void *) text, strlen (text), "r");
    ck_assert_ptr_nonnull (file);
    maas_err_clear (&s_error);
    maas_csv_t *csv = maas_csv_read_with (file, "t.csv", opts, &s_error);
    fclose (file);
    return csv;
}

//  Columns are matched by name: reversed columns come out in the model's
//  order, extra ones (and the label) are dropped and listed, a missing one
//  is an error naming it.
START_TEST (test_columns_by_name)
{
    static const char *const model[] = {"a", "b", "c"};
    maas_csv_options_t opts = {.label = MAAS_CSV_NO_LABEL, .columns = model, .n_columns = 3};
    maas_csv_t *csv = s_parse_with ("c,id,b,label,a\n3,99,2,1,1\n6,98,5,0,4\n", &opts);
    ck_assert_msg (csv, "%s", s_error.text);
    float expected[] = {1, 2, 3, 4, 5, 6};
    ck_assert_uint_eq (maas_csv_cols (csv), 3);
    ck_assert_mem_eq (maas_csv_features (csv)->data, expected, sizeof expected);
    ck_assert_str_eq (maas_csv_column_name (csv, 0), "a");
    ck_assert_str_eq (maas_csv_dropped (csv), "id, label");
    maas_csv_destroy (&csv);
    //  A dropped column need not be numeric.
    csv = s_parse_with ("name,a,b,c\nx,1,2,3\n", &opts);
    ck_assert_msg (csv && maas_csv_features (csv)->data[2] == 3, "%s", s_error.text);
    maas_csv_destroy (&csv);
    ck_assert_ptr_null (s_parse_with ("a,c,label\n1,3,0\n", &opts));
    ck_assert_str_eq (s_error.text,
                      "t.csv: no column 'b', which the model needs (its columns are "
                      "named in `maas model show`)");
}
END_TEST

//  A first row of numbers is not a header: refused unless no_header, which
//  reads every row (none lost) by position.
START_TEST (test_header_less)
{
    s_expect_error ("1,2,0\n3,4,1\n", "label",
                    "t.csv: line 1 is all numbers, not column names: the file has no header row "
                    "(add one; maas infer and maas score read it by position with --no-header)");
    maas_csv_options_t opts = {.label = "2", .no_header = true};
    maas_csv_t *csv = s_parse_with ("1,2,0\n3,4,1\n", &opts);
    ck_assert_msg (csv, "%s", s_error.text);
    ck_assert_uint_eq (maas_csv_rows (csv), 2);
    ck_assert_uint_eq (maas_csv_cols (csv), 2);
    ck_assert (maas_csv_labels (csv)[0] == 0 && maas_csv_labels (csv)[1] == 1);
    ck_assert (maas_csv_features (csv)->data[2] == 3);
    ck_assert_str_eq (maas_csv_column_name (csv, 1), "2");
    maas_csv_destroy (&csv);
    opts.label = "label";
    ck_assert_ptr_null (s_parse_with ("1,2,0\n", &opts));
    ck_assert_msg (strstr (s_error.text, "the label must be a column index"), "%s", s_error.text);
}
END_TEST

//  Labels that are names become class indices in the names' sorted order;
//  numbers among names are names too; numeric labels have no names.
START_TEST (test_label_names)
{
    maas_csv_t *csv = s_parse ("a,species\n1,virginica\n2,setosa\n3,versicolor\n4,setosa\n", NULL);
    ck_assert_msg (csv, "%s", s_error.text);
    size_t count;
    const char *const *names = maas_csv_classes (csv, &count);
    ck_assert_uint_eq (count, 3);
    ck_assert_str_eq (names[0], "setosa");
    ck_assert_str_eq (names[1], "versicolor");
    ck_assert_str_eq (names[2], "virginica");
    const float *labels = maas_csv_labels (csv);
    ck_assert (labels[0] == 2 && labels[1] == 0 && labels[2] == 1 && labels[3] == 0);
    maas_csv_destroy (&csv);
    //  Numbers and names do not mix, either way round.
    s_expect_error ("a,grade\n1,A\n2,\"B\"\n3,10\n", NULL,
                    "t.csv:4:2 '10' is a number, but the labels before it are names");
    s_expect_error ("a,grade\n1,10\n2,B\n", NULL, "t.csv:3:2 'B' is not a number");
    csv = s_parse ("a,label\n1,0\n2,1\n", NULL);
    ck_assert_ptr_null (maas_csv_classes (csv, &count));
    ck_assert_uint_eq (count, 0);
    maas_csv_destroy (&csv);
    s_expect_error ("a,label\n1,cat\n2,\n", NULL,
                    "t.csv:3:2 '' is not a class name (at most 1024 distinct, not empty)");
}
END_TEST
//  A header that names a column twice is refused, naming it and where, for
//  every reader: by name (the model's columns: either copy would be taken
//  silently), whole (a data set's columns), as the label; by position
//  (no_header) there are no names to repeat.
START_TEST (test_repeated_names)
{
    const char *message = "t.csv: the header names column 'a' twice (columns 1 and 3): rename "
                          "one, columns are matched by name";
    s_expect_error ("a,b,a,label\n1,2,3,0\n", NULL, message);
    s_expect_error ("a,b,a,label\n1,2,3,0\n", MAAS_CSV_NO_LABEL, message);
    s_expect_error ("a,b,label,label\n1,2,3,0\n", "label",
                    "t.csv: the header names column 'label' twice (columns 3 and 4): rename "
                    "one, columns are matched by name");
    s_expect_error ("x,\"a\",b, a \n1,2,3,0\n", NULL,
                    "t.csv: the header names column 'a' twice (columns 2 and 4): rename "
                    "one, columns are matched by name");
    static const char *const model[] = {"a", "b"};
    maas_csv_options_t opts = {.label = MAAS_CSV_NO_LABEL, .columns = model, .n_columns = 2};
    ck_assert_ptr_null (s_parse_with ("a,b,a\n999,2,1\n", &opts));
    ck_assert_str_eq (s_error.text, message);
    opts = (maas_csv_options_t){.label = MAAS_CSV_NO_LABEL, .no_header = true};
    maas_csv_t *csv = s_parse_with ("1,2,1\n3,4,3\n", &opts);
    ck_assert_msg (csv && maas_csv_cols (csv) == 3, "%s", s_error.text);
    maas_csv_destroy (&csv);
}
END_TEST

static Suite *
s_suite (void)
{
    Suite *suite = suite_create ("csv");
    TCase *core = tcase_create ("core");
    tcase_add_test (core, test_shipped_data);
    tcase_add_test (core, test_label_by_name_index_or_none);
    tcase_add_test (core, test_columns_by_name);
    tcase_add_test (core, test_header_less);
    tcase_add_test (core, test_label_names);
    suite_add_tcase (suite, core);
    TCase *errors = tcase_create ("errors");
    tcase_add_test (errors, test_bad_values_name_line_and_column);
    tcase_add_test (errors, test_bad_files);
    tcase_add_test (errors, test_repeated_names);
    suite_add_tcase (suite, errors);
    TCase *limits = tcase_create ("limits");
    tcase_add_test (limits, test_huge_line_and_nul);
    suite_add_tcase (suite, limits);
    return suite;
}

int
main (void)
{
    return support_run (s_suite ());
}
