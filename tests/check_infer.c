/*  check_infer.c: an infer job's params and RESULT payload, packed and
 *  parsed by the one module the worker and every reader share; every
 *  malformed part is refused with a message naming it. */
#include "support.h"
#include "maas.h"

#include <check.h>
#include <string.h>

//  Unpack the SBUF bytes into MSG (the caller destroys it).
static const msgpack_object *
s_unpack (const msgpack_sbuffer *sbuf, msgpack_unpacked *msg)
{
    maas_err_t err;
    msgpack_unpacked_init (msg);
    ck_assert_int_eq (maas_codec_unpack (sbuf->data, sbuf->size, 0, msg, &err), 0);
    return &msg->data;
}

//  Decode params packed from TEXT (a msgpack value's bytes); expect an error with WHAT.
static void
s_expect_params_error (const char *text, size_t len, const char *what)
{
    msgpack_unpacked msg;
    msgpack_unpacked_init (&msg);
    maas_err_t err;
    ck_assert_int_eq (maas_codec_unpack (text, len, 0, &msg, &err), 0);
    maas_infer_params_t params;
    ck_assert_int_eq (maas_infer_params_decode (&params, &msg.data, &err), -1);
    ck_assert_msg (strstr (err.text, what), "error '%s' lacks '%s'", err.text, what);
    msgpack_unpacked_destroy (&msg);
}

//  The same for a string literal of msgpack bytes.
#define S_EXPECT_PARAMS_ERROR(bytes, what) s_expect_params_error (bytes, sizeof bytes - 1, what)

//  ASKED packed with every key, decoded back the same, field by field (the
//  struct has padding, which no decoder writes).
static void
s_assert_round_trip (const maas_infer_params_t *asked)
{
    msgpack_sbuffer sbuf;
    msgpack_unpacked msg;
    maas_infer_params_t params;
    maas_err_t err;
    ck_assert_int_eq (maas_infer_params_pack_all (&sbuf, asked), 0);
    ck_assert_int_eq (maas_infer_params_decode (&params, s_unpack (&sbuf, &msg), &err), 0);
    ck_assert_uint_eq (params.rows, asked->rows);
    ck_assert_uint_eq (params.cols, asked->cols);
    ck_assert_int_eq (params.output, asked->output);
    ck_assert_uint_eq (params.top_k, asked->top_k);
    msgpack_unpacked_destroy (&msg);
    msgpack_sbuffer_destroy (&sbuf);
}

START_TEST (test_params_round_trip)
{
    msgpack_sbuffer sbuf;
    ck_assert_int_eq (maas_infer_params_pack (&sbuf, 3, 30), 0);
    msgpack_unpacked msg;
    maas_infer_params_t params;
    maas_err_t err;
    ck_assert_int_eq (maas_infer_params_decode (&params, s_unpack (&sbuf, &msg), &err), 0);
    ck_assert_uint_eq (params.rows, 3);
    ck_assert_uint_eq (params.cols, 30);
    msgpack_unpacked_destroy (&msg);
    msgpack_sbuffer_destroy (&sbuf);
    //  No params, or an empty map: the payload is msgpack rows.
    ck_assert_int_eq (maas_infer_params_decode (&params, NULL, &err), 0);
    ck_assert_uint_eq (params.rows, 0);
    ck_assert_int_eq (params.output, MAAS_INFER_PROBABILITIES);
    ck_assert_uint_eq (params.top_k, 0);
    //  Post-processing: output and top_k, with or without a shape.
    maas_infer_params_t asked = {.rows = 2, .cols = 4, .output = MAAS_INFER_CLASS, .top_k = 2};
    s_assert_round_trip (&asked);
    asked = (maas_infer_params_t){.top_k = 1};
    s_assert_round_trip (&asked);
}
END_TEST

//  Labels, top-k and the threshold travel with the result and come back.
START_TEST (test_result_post_processing)
{
    float values[2] = {0.2f, 0.9f}, scores[4] = {0.8f, 0.2f, 0.9f, 0.1f};
    int32_t classes[2] = {0, 1}, top[4] = {0, 1, 1, 0};
    char *labels[2] = {"benign", "malignant"};
    maas_infer_result_t sent = {.model = "cancer",
                                .version = 2,
                                .rows = 2,
                                .outputs = 1,
                                .values = values,
                                .classes = classes,
                                .output = MAAS_INFER_CLASS,
                                .class_labels = labels,
                                .n_class_labels = 2,
                                .top_k = 2,
                                .top_classes = top,
                                .top_scores = scores,
                                .threshold = 0.3};
    msgpack_sbuffer sbuf;
    msgpack_sbuffer_init (&sbuf);
    msgpack_packer pk;
    msgpack_packer_init (&pk, &sbuf, msgpack_sbuffer_write);
    ck_assert_int_eq (maas_infer_result_pack (&sent, &pk), 0);
    //  The per-row labels are in the payload for readers without this module.
    ck_assert_ptr_nonnull (memmem (sbuf.data, sbuf.size,
                                   "\xa6labels\x92\xa6"
                                   "benign",
                                   15));
    maas_infer_result_t back;
    maas_err_t err;
    ck_assert_int_eq (maas_infer_result_parse (&back, sbuf.data, sbuf.size, &err), 0);
    ck_assert_int_eq (back.output, MAAS_INFER_CLASS);
    ck_assert_uint_eq (back.n_class_labels, 2);
    ck_assert_str_eq (maas_infer_result_label (&back, 0), "benign");
    ck_assert_str_eq (maas_infer_result_label (&back, 1), "malignant");
    ck_assert_uint_eq (back.top_k, 2);
    ck_assert_mem_eq (back.top_classes, top, sizeof top);
    ck_assert_mem_eq (back.top_scores, scores, sizeof scores);
    ck_assert_double_eq (back.threshold, 0.3);
    maas_infer_result_clear (&back);
    //  Without labels asked for: no labels, no label of a row.
    sent.class_labels = NULL;
    sent.top_k = 0;
    msgpack_sbuffer_clear (&sbuf);
    ck_assert_int_eq (maas_infer_result_pack (&sent, &pk), 0);
    ck_assert_int_eq (maas_infer_result_parse (&back, sbuf.data, sbuf.size, &err), 0);
    ck_assert_ptr_null (maas_infer_result_label (&back, 0));
    ck_assert_ptr_null (back.top_classes);
    maas_infer_result_clear (&back);
    msgpack_sbuffer_destroy (&sbuf);
}
END_TEST

START_TEST (test_params_errors)
{
    //  {"shap": [1, 2]}: a misspelt key is named, not ignored.
    S_EXPECT_PARAMS_ERROR (
        "\x81\xa4shap\x92\x01\x02",
        "params: unknown key 'shap' (an infer job's params hold 'shape', 'output', "
        "'top_k')");
    //  {"output": "klass"}, {"output": 1}, {"top_k": 0}: unknown values are refused.
    S_EXPECT_PARAMS_ERROR ("\x81\xa6output\xa5klass",
                           "params: output 'klass' is not probabilities or class");
    S_EXPECT_PARAMS_ERROR ("\x81\xa6output\x01", "params: output '(integer)'");
    S_EXPECT_PARAMS_ERROR ("\x81\xa5top_k\x00", "params: top_k must be an integer from 1");
    S_EXPECT_PARAMS_ERROR ("\x81\xa5top_k\xa1\x32", "params: top_k must be an integer");
    //  {"shape": [1, 2], "version": 3}: the version travels in the header.
    S_EXPECT_PARAMS_ERROR ("\x82\xa5shape\x92\x01\x02\xa7version\x03", "'version'");
    S_EXPECT_PARAMS_ERROR ("\x81\xa5shape\x91\x01", "'shape' must be [rows, cols]");
    S_EXPECT_PARAMS_ERROR ("\x81\xa5shape\x92\x00\x04", "shape 0x4 is empty");
    S_EXPECT_PARAMS_ERROR ("\x93\x01\x02\x03", "params: expected a map, got array");
}
END_TEST

//  A result as the worker fills it.
static maas_infer_result_t
s_sample (float *values, int32_t *classes)
{
    maas_infer_result_t result = {.model = "iris",
                                  .version = 3,
                                  .rows = 2,
                                  .outputs = 3,
                                  .values = values,
                                  .classes = classes,
                                  .batch_rows = 7,
                                  .batch_jobs = 2,
                                  .queue_us = 40,
                                  .compute_us = 12};
    return result;
}

START_TEST (test_result_round_trip)
{
    float values[6] = {0.1f, 0.2f, 0.7f, 0.5f, 0.25f, 0.25f};
    int32_t classes[2] = {2, 0};
    maas_infer_result_t sent = s_sample (values, classes);
    msgpack_sbuffer sbuf;
    msgpack_sbuffer_init (&sbuf);
    msgpack_packer pk;
    msgpack_packer_init (&pk, &sbuf, msgpack_sbuffer_write);
    ck_assert_int_eq (maas_infer_result_pack (&sent, &pk), 0);
    maas_infer_result_t back;
    maas_err_t err;
    ck_assert_int_eq (maas_infer_result_parse (&back, sbuf.data, sbuf.size, &err), 0);
    ck_assert_str_eq (back.model, "iris");
    ck_assert_uint_eq (back.version, 3);
    ck_assert_uint_eq (back.rows, 2);
    ck_assert_uint_eq (back.outputs, 3);
    ck_assert_mem_eq (back.values, values, sizeof values);
    ck_assert_mem_eq (back.classes, classes, sizeof classes);
    ck_assert_uint_eq (back.batch_rows, 7);
    ck_assert_uint_eq (back.batch_jobs, 2);
    ck_assert_int_eq (back.queue_us, 40);
    ck_assert_int_eq (back.compute_us, 12);
    maas_infer_result_clear (&back);
    maas_infer_result_clear (&back);    //  safe twice
    //  Regression: no classes.
    sent.classes = NULL;
    msgpack_sbuffer_clear (&sbuf);
    ck_assert_int_eq (maas_infer_result_pack (&sent, &pk), 0);
    ck_assert_int_eq (maas_infer_result_parse (&back, sbuf.data, sbuf.size, &err), 0);
    ck_assert_ptr_null (back.classes);
    maas_infer_result_clear (&back);
    //  The meta says which version ran.
    msgpack_sbuffer_clear (&sbuf);
    ck_assert_int_eq (maas_infer_meta_pack (&sent, &pk), 0);
    msgpack_unpacked msg;
    maas_codec_map_t map;
    ck_assert_int_eq (maas_codec_map_init (&map, s_unpack (&sbuf, &msg), "meta"), 0);
    uint64_t version;
    ck_assert_int_eq (maas_codec_map_uint64 (&map, "version", &version), 0);
    ck_assert_uint_eq (version, 3);
    msgpack_unpacked_destroy (&msg);
    msgpack_sbuffer_destroy (&sbuf);
}
END_TEST

//  Parse SBUF; expect an error with WHAT.
static void
s_expect_result_error (const msgpack_sbuffer *sbuf, const char *what)
{
    maas_infer_result_t back;
    maas_err_t err;
    ck_assert_int_eq (maas_infer_result_parse (&back, sbuf->data, sbuf->size, &err), -1);
    ck_assert_msg (strstr (err.text, what), "error '%s' lacks '%s'", err.text, what);
    ck_assert_ptr_null (back.values);
}

START_TEST (test_result_errors)
{
    float values[6] = {0};
    maas_infer_result_t sent = s_sample (values, NULL);
    msgpack_sbuffer sbuf;
    msgpack_sbuffer_init (&sbuf);
    msgpack_packer pk;
    msgpack_packer_init (&pk, &sbuf, msgpack_sbuffer_write);
    //  A map without the timings (what score.c used to accept).
    msgpack_pack_map (&pk, 5);
    maas_codec_pack_kv_str (&pk, "model", "iris");
    maas_codec_pack_kv_uint (&pk, "version", 1);
    maas_codec_pack_kv_uint (&pk, "rows", 2);
    maas_codec_pack_kv_uint (&pk, "outputs", 3);
    maas_codec_pack_kv_bin (&pk, "values", values, sizeof values);
    s_expect_result_error (&sbuf, "missing key 'batch_rows'");
    //  Values that do not match the shape: 2 rows × 3 outputs packed, then
    //  the rows count claims 3 (a fixint byte after the "rows" key).
    msgpack_sbuffer_clear (&sbuf);
    ck_assert_int_eq (maas_infer_result_pack (&sent, &pk), 0);
    char *rows = memmem (sbuf.data, sbuf.size, "\xa4rows\x02", 6);
    ck_assert_ptr_nonnull (rows);
    rows[5] = 3;
    s_expect_result_error (&sbuf, "result: 'values' holds 24 bytes for 3 rows × 3 outputs");
    msgpack_sbuffer_clear (&sbuf);
    msgpack_pack_map (&pk, 1);
    maas_codec_pack_kv_int (&pk, "rows", -1);
    s_expect_result_error (&sbuf, "result: missing key 'model'");
    msgpack_sbuffer_clear (&sbuf);
    msgpack_pack_array (&pk, 0);
    s_expect_result_error (&sbuf, "result: expected a map, got array");
    msgpack_sbuffer_destroy (&sbuf);
}
END_TEST

//  A failed job's meta names its row; a header without one names none.
START_TEST (test_error_row)
{
    msgpack_sbuffer meta;
    msgpack_sbuffer_init (&meta);
    msgpack_packer pk;
    msgpack_packer_init (&pk, &meta, msgpack_sbuffer_write);
    ck_assert_int_eq (maas_infer_error_meta_pack (3616, &pk), 0);
    maas_proto_buf_t buf;
    maas_proto_buf_init (&buf);
    maas_proto_pack_status (&buf, "j1", "failed", NULL, "row 3616 ...", 1);
    maas_codec_pack_str (&buf.pk, "meta");
    maas_proto_buf_append (&buf, meta.data, meta.size);
    ck_assert_uint_eq (maas_infer_error_row (buf.data, buf.size), 3616);
    maas_proto_buf_init (&buf);
    maas_proto_pack_status (&buf, "j1", "failed", NULL, "unknown model x", 0);
    ck_assert_uint_eq (maas_infer_error_row (buf.data, buf.size), 0);
    ck_assert_uint_eq (maas_infer_error_row ("\xc1", 1), 0);
    msgpack_sbuffer_destroy (&meta);
}
END_TEST

static Suite *
s_suite (void)
{
    Suite *suite = suite_create ("infer");
    TCase *core = tcase_create ("core");
    tcase_add_test (core, test_params_round_trip);
    tcase_add_test (core, test_result_round_trip);
    tcase_add_test (core, test_result_post_processing);
    tcase_add_test (core, test_error_row);
    suite_add_tcase (suite, core);
    TCase *errors = tcase_create ("errors");
    tcase_add_test (errors, test_params_errors);
    tcase_add_test (errors, test_result_errors);
    suite_add_tcase (suite, errors);
    return suite;
}

int
main (void)
{
    return support_run (s_suite ());
}
