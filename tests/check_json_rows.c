/*  check_json_rows.c: the CLI's JSON input rows (client/json_rows.c):
 *  every shape it accepts gives the same tensor, and malformed JSON, wrong
 *  values and missing columns are errors that say where. */
#include "json_rows.h"
#include "support.h"

#include <check.h>
#include <string.h>

static const char *const s_names[] = {"x0", "x1"};

//  TEXT parsed with the model's names; asserts it gives [[1,2],[3,4]].
static void
s_assert_rows (const char *text, const char *expect_dropped)
{
    char err[256] = "", dropped[256];
    maas_tensor_t *x = maas_json_rows_parse (text, strlen (text), s_names, 2, dropped,
                                             sizeof dropped, err, sizeof err);
    ck_assert_msg (x, "%s: %s", text, err);
    ck_assert_uint_eq (x->rows, 2);
    ck_assert_uint_eq (x->cols, 2);
    float expected[] = {1, 2, 3, 4};
    ck_assert_mem_eq (x->data, expected, sizeof expected);
    ck_assert_str_eq (dropped, expect_dropped);
    maas_tensor_destroy (&x);
}

//  TEXT is refused with an error containing EXPECTED.
static void
s_assert_error (const char *text, const char *const *names, const char *expected)
{
    char err[256] = "";
    maas_tensor_t *x =
        maas_json_rows_parse (text, strlen (text), names, names ? 2 : 0, NULL, 0, err, sizeof err);
    ck_assert_msg (!x, "%s was accepted", text);
    ck_assert_msg (strstr (err, expected), "%s: '%s' lacks '%s'", text, err, expected);
}

START_TEST (test_shapes)
{
    s_assert_rows ("[[1,2],[3,4]]", "");
    s_assert_rows ("  [1, 2]\n[3, 4.0]\n", "");
    s_assert_rows ("{\"instances\": [[1,2],[3,4]]}", "");
    s_assert_rows ("{\"instances\": [{\"x1\": 2, \"x0\": 1, \"label\": 0},"
                   " {\"x0\": 3, \"x1\": 4, \"label\": 1}]}",
                   "label");
    s_assert_rows ("{\"inputs\": [[1,2],[3,4]]}", "");
    s_assert_rows ("{\"inputs\": {\"x1\": [2,4], \"x0\": [1,3]}}", "");
    char err[256];
    maas_tensor_t *x = maas_json_rows_parse ("[5,6,7]", 7, NULL, 0, NULL, 0, err, sizeof err);
    ck_assert_msg (x && x->rows == 1 && x->cols == 3, "%s", err);
    maas_tensor_destroy (&x);
    ck_assert (maas_json_rows_is_json (" \n{\"instances\": []}"));
    ck_assert (!maas_json_rows_is_json ("x0,x1\n1,2\n"));
}
END_TEST

START_TEST (test_errors)
{
    s_assert_error ("[[1,2]", s_names, "JSON input line 1: ']' expected");
    s_assert_error ("[[1,2]]\n[[3,4]", s_names, "JSON input line 2:");
    s_assert_error ("[[1,2],[3]]", s_names, "row 2 is not an array of 2 numbers");
    s_assert_error ("[[1,\"2\"]]", s_names, "row 1 column 2: \"2\" is not a float32 number");
    s_assert_error ("[[1,1e39]]", s_names, "column 2: 9.9999999999999994e38 is not a float32");
    s_assert_error ("[[1,true]]", s_names, "true is not a float32 number");
    s_assert_error ("{\"instances\": [{\"x0\": 1}]}", s_names, "row 1 has no column 'x1'");
    s_assert_error ("{\"instances\": [{\"x0\": 1, \"x1\": 2}]}", NULL,
                    "the model has no column names");
    s_assert_error ("{\"rows\": [[1,2]]}", s_names, "expected rows");
    s_assert_error ("{\"inputs\": {\"x0\": [1,3], \"x1\": [2]}}", s_names, "has 1 values");
    s_assert_error ("[]", s_names, "no rows");
    //  A key given twice would be last-wins in jansson: one of two values
    //  picked silently. Refused, naming the key.
    s_assert_error ("{\"instances\": [{\"x0\": 999, \"x1\": 2, \"x0\": 1}]}", s_names,
                    "duplicate object key near '\"x0\"'");
    s_assert_error ("{\"inputs\": {\"x0\": [1], \"x1\": [2], \"x0\": [3]}}", s_names,
                    "duplicate object key");
}
END_TEST

static Suite *
s_suite (void)
{
    Suite *suite = suite_create ("json_rows");
    TCase *core = tcase_create ("core");
    tcase_add_test (core, test_shapes);
    suite_add_tcase (suite, core);
    TCase *errors = tcase_create ("errors");
    tcase_add_test (errors, test_errors);
    suite_add_tcase (suite, errors);
    return suite;
}

int
main (void)
{
    return support_run (s_suite ());
}
