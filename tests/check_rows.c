/*  check_rows.c: block-at-a-time row files for batch scoring: .npy read and
 *  write (float32/float64, numpy's own header layout) and streaming CSV. */
#include "maas.h"
#include "csv.h"
#include "npy.h"
#include "support.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *s_dir;

static void
s_setup (void)
{
    s_dir = support_tempdir_new ("rows");
}

static void
s_teardown (void)
{
    support_tempdir_remove (&s_dir);
}

static char *
s_file (const char *name)
{
    char *path = NULL;
    ck_assert (asprintf (&path, "%s/%s", s_dir, name) > 0);
    return path;
}

static void
s_write_bytes (const char *path, const void *data, size_t size)
{
    FILE *file = fopen (path, "wb");
    ck_assert (file);
    ck_assert_uint_eq (fwrite (data, 1, size, file), size);
    fclose (file);
}

//  A .npy as numpy 1.24 writes np.arange(6, dtype='<f8').reshape(3, 2):
//  version 1.0, header padded with spaces to 128 bytes in all.
static size_t
s_numpy_f8 (unsigned char *out)
{
    const char *dict = "{'descr': '<f8', 'fortran_order': False, 'shape': (3, 2), }";
    size_t header_len = 128 - 10;
    memcpy (out, "\x93NUMPY\x01\x00", 8);
    out[8] = (unsigned char) header_len;
    out[9] = 0;
    memset (out + 10, ' ', header_len);
    memcpy (out + 10, dict, strlen (dict));
    out[127] = '\n';
    for (int i = 0; i < 6; i++) {
        double value = i;
        memcpy (out + 128 + i * 8, &value, 8);
    }
    return 128 + 6 * 8;
}

START_TEST (test_npy_reads_numpy_float64)
{
    unsigned char bytes[192];
    char *path = s_file ("f8.npy");
    maas_err_t err;
    s_write_bytes (path, bytes, s_numpy_f8 (bytes));
    maas_npy_reader_t *reader = maas_npy_open (path, &err);
    ck_assert_msg (reader, "%s", err.text);
    ck_assert_uint_eq (maas_npy_rows (reader), 3);
    ck_assert_uint_eq (maas_npy_cols (reader), 2);
    float block[4];
    size_t got;
    ck_assert_int_eq (maas_npy_read (reader, block, 2, &got, &err), 0);
    ck_assert_uint_eq (got, 2);
    ck_assert_float_eq (block[3], 3.0f);
    ck_assert_int_eq (maas_npy_read (reader, block, 2, &got, &err), 0);
    ck_assert_uint_eq (got, 1);
    ck_assert_float_eq (block[1], 5.0f);
    ck_assert_int_eq (maas_npy_read (reader, block, 2, &got, &err), 0);
    ck_assert_uint_eq (got, 0);
    maas_npy_reader_destroy (&reader);
    free (path);
}
END_TEST

START_TEST (test_npy_write_read_round_trip)
{
    char *path = s_file ("out.npy");
    maas_err_t err;
    maas_npy_writer_t *writer = maas_npy_create (path, 3, &err);
    ck_assert_msg (writer, "%s", err.text);
    float rows[3 * 1000];
    for (int i = 0; i < 3000; i++)
        rows[i] = (float) i * 0.5f;
    //  Appended in uneven blocks: the header is patched with the total.
    ck_assert_int_eq (maas_npy_write (writer, rows, 7, &err), 0);
    ck_assert_int_eq (maas_npy_write (writer, rows + 21, 993, &err), 0);
    ck_assert_int_eq (maas_npy_close (&writer, &err), 0);
    ck_assert_ptr_null (writer);
    maas_npy_reader_t *reader = maas_npy_open (path, &err);
    ck_assert_msg (reader, "%s", err.text);
    ck_assert_uint_eq (maas_npy_rows (reader), 1000);
    float back[3 * 1000];
    size_t got;
    ck_assert_int_eq (maas_npy_read (reader, back, 1000, &got, &err), 0);
    ck_assert_uint_eq (got, 1000);
    ck_assert_mem_eq (back, rows, sizeof rows);
    maas_npy_reader_destroy (&reader);
    free (path);
}
END_TEST

START_TEST (test_npy_rejects_bad_files)
{
    unsigned char bytes[192];
    size_t size = s_numpy_f8 (bytes);
    char *path = s_file ("bad.npy");
    maas_err_t err;
    //  Truncated data: the read, not the open, reports the missing rows.
    s_write_bytes (path, bytes, size - 8);
    maas_npy_reader_t *reader = maas_npy_open (path, &err);
    ck_assert_ptr_nonnull (reader);
    float block[6];
    size_t got;
    ck_assert_int_eq (maas_npy_read (reader, block, 3, &got, &err), -1);
    ck_assert_ptr_nonnull (strstr (err.text, "ends at row 2 of the 3"));
    maas_npy_reader_destroy (&reader);
    //  Integer dtype, Fortran order, bad magic, truncated header.
    memcpy (bytes + 10 + 11, "i8", 2);
    s_write_bytes (path, bytes, size);
    ck_assert_ptr_null (maas_npy_open (path, &err));
    ck_assert_ptr_nonnull (strstr (err.text, "not supported"));
    s_numpy_f8 (bytes);
    memcpy (strstr ((char *) bytes + 10, "False"), "True ", 5);
    s_write_bytes (path, bytes, size);
    ck_assert_ptr_null (maas_npy_open (path, &err));
    ck_assert_ptr_nonnull (strstr (err.text, "Fortran"));
    s_write_bytes (path, "PK\x03\x04", 4);
    ck_assert_ptr_null (maas_npy_open (path, &err));
    ck_assert_ptr_nonnull (strstr (err.text, "bad magic"));
    s_numpy_f8 (bytes);
    s_write_bytes (path, bytes, 70);
    ck_assert_ptr_null (maas_npy_open (path, &err));
    ck_assert_ptr_nonnull (strstr (err.text, "truncated"));
    free (path);
}
END_TEST

START_TEST (test_csv_stream_blocks_and_errors)
{
    char *path = s_file ("in.csv");
    maas_err_t err;
    const char *text = "a,b\n1,2\n3,4\n\n5,6\n7,x\n";
    s_write_bytes (path, text, strlen (text));
    maas_csv_stream_t *stream = maas_csv_stream_open (path, NULL, &err);
    ck_assert_msg (stream, "%s", err.text);
    ck_assert_uint_eq (maas_csv_stream_cols (stream), 2);
    float block[4];
    size_t got;
    ck_assert_int_eq (maas_csv_stream_read (stream, block, NULL, 2, &got, &err), 0);
    ck_assert_uint_eq (got, 2);
    ck_assert_float_eq (block[2], 3.0f);
    ck_assert_int_eq (maas_csv_stream_read (stream, block, NULL, 2, &got, &err), -1);
    ck_assert_uint_eq (got, 1);    //  5,6 made it before the bad row
    ck_assert_float_eq (block[1], 6.0f);
    ck_assert_ptr_nonnull (strstr (err.text, "in.csv:6:2 'x' is not a number"));
    maas_csv_stream_destroy (&stream);
    //  A label column is read apart from the features.
    stream = maas_csv_stream_open (path, "a", &err);
    ck_assert_msg (stream, "%s", err.text);
    ck_assert (maas_csv_stream_has_label (stream));
    ck_assert_uint_eq (maas_csv_stream_cols (stream), 1);
    float labels[2];
    ck_assert_int_eq (maas_csv_stream_read (stream, block, labels, 2, &got, &err), 0);
    ck_assert_float_eq (block[1], 4.0f);
    ck_assert_float_eq (labels[1], 3.0f);
    maas_csv_stream_destroy (&stream);
    ck_assert_ptr_null (maas_csv_stream_open (path, "nosuch", &err));
    ck_assert_ptr_nonnull (strstr (err.text, "no label column 'nosuch'"));
    s_write_bytes (path, "", 0);
    ck_assert_ptr_null (maas_csv_stream_open (path, NULL, &err));
    ck_assert_ptr_nonnull (strstr (err.text, "empty file"));
    free (path);
}
END_TEST

static Suite *
s_suite (void)
{
    Suite *suite = suite_create ("rows");
    TCase *npy = tcase_create ("npy");
    tcase_add_checked_fixture (npy, s_setup, s_teardown);
    tcase_add_test (npy, test_npy_reads_numpy_float64);
    tcase_add_test (npy, test_npy_write_read_round_trip);
    suite_add_tcase (suite, npy);
    TCase *errors = tcase_create ("errors");
    tcase_add_checked_fixture (errors, s_setup, s_teardown);
    tcase_add_test (errors, test_npy_rejects_bad_files);
    tcase_add_test (errors, test_csv_stream_blocks_and_errors);
    suite_add_tcase (suite, errors);
    return suite;
}

int
main (void)
{
    return support_run (s_suite ());
}
