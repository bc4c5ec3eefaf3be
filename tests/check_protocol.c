/*  check_protocol.c: MAAS1 framing, job headers and job ids, over real
 *  ZeroMQ sockets (inproc pairs) where frames are involved. */
#include "support.h"
#include "maas.h"

#include <check.h>
#include <czmq.h>
#include <string.h>

START_TEST (test_ids_sort_and_validate)
{
    maas_proto_idgen_t gen = {0};
    char previous[MAAS_PROTO_ID_SIZE] = "", id[MAAS_PROTO_ID_SIZE];
    for (int i = 0; i < 2000; i++) {
        maas_proto_id_new (&gen, id);
        ck_assert_uint_eq (strlen (id), 26);
        ck_assert (maas_proto_id_valid (id, 26));
        ck_assert_msg (strcmp (previous, id) < 0, "%s !< %s", previous, id);
        memcpy (previous, id, sizeof id);
    }
    ck_assert (!maas_proto_id_valid ("", 0));
    ck_assert (!maas_proto_id_valid ("a b", 3));
    ck_assert (!maas_proto_id_valid ("x\n", 2));
    char long_id[80];
    memset (long_id, 'a', sizeof long_id);
    ck_assert (!maas_proto_id_valid (long_id, 65));
    ck_assert (maas_proto_id_valid (long_id, 64));
    char text[24];
    ck_assert_uint_eq (maas_proto_itoa (text, -9223372036854775807LL - 1), 20);
    ck_assert_str_eq (text, "-9223372036854775808");
    ck_assert_uint_eq (maas_proto_itoa (text, 0), 1);
    ck_assert_str_eq (text, "0");
    ck_assert_uint_eq (maas_proto_copy (text, 4, "abcdef"), 3);
    ck_assert_str_eq (text, "abc");
}
END_TEST

START_TEST (test_job_header_round_trip)
{
    maas_proto_job_t job = {.id = "job-1",
                            .kind = "infer",
                            .model = "iris",
                            .version = 3,
                            .priority = 7,
                            .deadline_ms = 12345,
                            .track = false,
                            .durable = true};
    const char params[] = "\x81\xa1k\x2a";    //  {"k": 42}
    job.params = params;
    job.params_size = sizeof params - 1;
    maas_proto_buf_t buf;
    maas_proto_buf_init (&buf);
    ck_assert_int_eq (maas_proto_job_pack (&job, &buf), 0);
    msgpack_unpacked scratch;
    msgpack_unpacked_init (&scratch);
    maas_proto_job_t back;
    maas_err_t err;
    ck_assert_int_eq (maas_proto_job_parse (&back, buf.data, buf.size, &scratch, &err), 0);
    ck_assert_str_eq (back.id, "job-1");
    ck_assert_str_eq (back.kind, "infer");
    ck_assert_str_eq (back.model, "iris");
    ck_assert_int_eq (back.version, 3);
    ck_assert_int_eq (back.priority, 7);
    ck_assert_int_eq (back.deadline_ms, 12345);
    ck_assert (!back.track && back.durable);
    ck_assert_ptr_nonnull (back.params_obj);
    ck_assert_int_eq (back.params_obj->type, MSGPACK_OBJECT_MAP);
    ck_assert_int_eq (back.params_obj->via.map.ptr[0].val.via.u64, 42);
    //  A version alias travels under "alias".
    memset (&job, 0, sizeof job);
    strcpy (job.id, "j2");
    strcpy (job.kind, "train");
    strcpy (job.model, "iris");
    strcpy (job.alias, "production");
    job.track = job.durable = true;
    maas_proto_buf_init (&buf);
    ck_assert_int_eq (maas_proto_job_pack (&job, &buf), 0);
    ck_assert_int_eq (maas_proto_job_parse (&back, buf.data, buf.size, &scratch, &err), 0);
    ck_assert_str_eq (back.alias, "production");
    ck_assert_int_eq (back.version, 0);
    ck_assert_ptr_nonnull (memmem (buf.data, buf.size, "\xa5\x61lias\xaaproduction", 17));
    //  ... and a header written by hand with "alias" parses the same.
    const char hand[] = "\x84\xa2id\xa1x\xa4kind\xa5infer\xa5model\xa1m\xa5\x61lias\xa4prod";
    ck_assert_int_eq (maas_proto_job_parse (&back, hand, sizeof hand - 1, &scratch, &err), 0);
    ck_assert_str_eq (back.alias, "prod");
    msgpack_unpacked_destroy (&scratch);
}
END_TEST

//  Parse the msgpack bytes TEXT (LEN) as a job header; expect an error
//  mentioning WHAT.
static void
s_expect_error (const char *text, size_t len, const char *what)
{
    msgpack_unpacked scratch;
    msgpack_unpacked_init (&scratch);
    maas_proto_job_t job;
    maas_err_t err;
    ck_assert_int_eq (maas_proto_job_parse (&job, text, len, &scratch, &err), -1);
    ck_assert_msg (strstr (err.text, what), "error '%s' lacks '%s'", err.text, what);
    msgpack_unpacked_destroy (&scratch);
}

START_TEST (test_job_header_errors)
{
    s_expect_error ("\x81\xa4kind\xa5infer", 12, "'id'");
    s_expect_error ("\x82\xa2id\xa1x\xa4kind\x05", 12, "'kind'");
    s_expect_error ("\x83\xa2id\xa1x\xa4kind\xa1k\xa8priority\x0c", 23, "0..9");
    s_expect_error ("\x83\xa2id\xa1x\xa4kind\xa1k\xa8priority\xa1z", 24, "priority");
    s_expect_error ("\x82\xa2id\xa3\x61 b\xa4kind\xa1k", 15, "'id'");
    s_expect_error ("\x83\xa2id\xa1x\xa4kind\xa1k\xa7version\x00", 22, "version");
    s_expect_error ("\x93\x01\x02\x03", 4, "map");
    //  One spelling: an alias in "version" is refused, and so are both.
    s_expect_error ("\x83\xa2id\xa1x\xa4kind\xa1k\xa7version\xa4prod", 26,
                    "key 'version' must be an integer, got string (an alias goes in 'alias')");
    s_expect_error ("\x84\xa2id\xa1x\xa4kind\xa1k\xa7version\x01\xa5\x61lias\xa1p", 30,
                    "give 'version' or 'alias', not both");
    s_expect_error ("\xc1", 1, "header");
    s_expect_error ("\x81\xa2id\xdd\xff\xff\xff\xff", 9, "header");
}
END_TEST

START_TEST (test_frames_moved_and_checked)
{
    zsock_t *a = zsock_new_pair ("@inproc://proto-frames");
    zsock_t *b = zsock_new_pair (">inproc://proto-frames");
    zmq_msg_t payload;
    zmq_msg_init_size (&payload, 1000);
    memset (zmq_msg_data (&payload), 7, 1000);
    ck_assert_int_eq (
        maas_proto_send (zsock_resolve (a), NULL, 0, MAAS_PROTO_SUBMIT, "\x80", 1, &payload), 0);
    ck_assert_uint_eq (zmq_msg_size (&payload), 0);    //  moved out
    zmq_msg_close (&payload);
    maas_proto_msg_t msg;
    ck_assert_int_eq (maas_proto_recv (zsock_resolve (b), &msg, false, 0), 0);
    maas_err_t err;
    ck_assert_int_eq (maas_proto_check (&msg, &err), MAAS_PROTO_SUBMIT);
    ck_assert_uint_eq (zmq_msg_size (maas_proto_payload (&msg)), 1000);
    maas_proto_msg_close (&msg);
    //  Too many frames: read whole, flagged, refused.
    zstr_sendm (a, "MAAS1");
    zstr_sendm (a, "\x06");
    for (int i = 0; i < 5; i++)
        zstr_sendm (a, "x");
    zstr_send (a, "last");
    ck_assert_int_eq (maas_proto_recv (zsock_resolve (b), &msg, false, 0), 0);
    ck_assert (msg.extra);
    ck_assert_int_eq (maas_proto_check (&msg, &err), -1);
    ck_assert_ptr_nonnull (strstr (err.text, "frames"));
    maas_proto_msg_close (&msg);
    //  The socket is clean afterwards: the next message reads fine.
    zstr_sendm (a, "MAAS1");
    zstr_send (a, "\x06");
    ck_assert_int_eq (maas_proto_recv (zsock_resolve (b), &msg, false, 0), 0);
    ck_assert_int_eq (maas_proto_check (&msg, &err), MAAS_PROTO_PING);
    maas_proto_msg_close (&msg);
    //  Wrong tag.
    zstr_sendm (a, "MAAS2");
    zstr_send (a, "\x06");
    ck_assert_int_eq (maas_proto_recv (zsock_resolve (b), &msg, false, 0), 0);
    ck_assert_int_eq (maas_proto_check (&msg, &err), -1);
    ck_assert_ptr_nonnull (strstr (err.text, "tag"));
    maas_proto_msg_close (&msg);
    ck_assert_str_eq (maas_proto_cmd_name (MAAS_PROTO_READY), "READY");
    ck_assert_str_eq (maas_proto_cmd_name (0x7f), "UNKNOWN");
    zsock_destroy (&a);
    zsock_destroy (&b);
}
END_TEST

//  The reply helpers: an empty map, a status map, a header opened as a map.
START_TEST (test_reply_helpers)
{
    zsock_t *a = zsock_new_pair ("@inproc://proto-helpers");
    zsock_t *b = zsock_new_pair (">inproc://proto-helpers");
    ck_assert_int_eq (maas_proto_send_empty (zsock_resolve (a), NULL, 0, MAAS_PROTO_PONG), 0);
    maas_proto_buf_t buf;
    maas_proto_buf_init (&buf);
    maas_proto_pack_status (&buf, "j1", NULL, "bad_request", "header: no", 1);
    maas_codec_pack_kv_int (&buf.pk, "extra", 5);
    ck_assert_int_eq (
        maas_proto_send (zsock_resolve (a), NULL, 0, MAAS_PROTO_REJECTED, buf.data, buf.size, NULL),
        0);
    zstr_sendm (a, "MAAS1");
    zstr_send (a, "\x06");
    msgpack_unpacked scratch;
    msgpack_unpacked_init (&scratch);
    maas_proto_msg_t msg;
    maas_codec_map_t map;
    char text[32];
    maas_err_t err;
    ck_assert_int_eq (maas_proto_recv (zsock_resolve (b), &msg, false, 0), 0);
    ck_assert_int_eq (maas_proto_check (&msg, &err), MAAS_PROTO_PONG);
    ck_assert_int_eq (maas_proto_header_map (&msg, &scratch, &map, &err), 0);
    ck_assert_uint_eq (maas_codec_map_size (&map), 0);
    maas_proto_msg_close (&msg);
    ck_assert_int_eq (maas_proto_recv (zsock_resolve (b), &msg, false, 0), 0);
    ck_assert_int_eq (maas_proto_header_map (&msg, &scratch, &map, &err), 0);
    ck_assert_uint_eq (maas_codec_map_size (&map), 4);
    ck_assert_int_eq (maas_codec_map_str_copy (&map, "reason", text, sizeof text), 0);
    ck_assert_str_eq (text, "bad_request");
    ck_assert_ptr_null (maas_codec_map_find (&map, "status"));
    ck_assert_ptr_nonnull (maas_codec_map_find (&map, "extra"));
    maas_proto_msg_close (&msg);
    ck_assert_int_eq (maas_proto_recv (zsock_resolve (b), &msg, false, 0), 0);
    ck_assert_int_eq (maas_proto_header_map (&msg, &scratch, &map, &err), -1);
    ck_assert_str_eq (err.text, "missing header frame");
    maas_proto_msg_close (&msg);
    msgpack_unpacked_destroy (&scratch);
    zsock_destroy (&a);
    zsock_destroy (&b);
}
END_TEST

//  "retryable" is true unless a boolean false says otherwise.
START_TEST (test_retryable)
{
    const char *headers[] = {"\x81\xa9retryable\xc2", "\x81\xa9retryable\xc3",
                             "\x81\xa9retryable\x00", "\x80"};
    const size_t sizes[] = {12, 12, 12, 1};
    const bool expected[] = {false, true, true, true};
    msgpack_unpacked scratch;
    msgpack_unpacked_init (&scratch);
    maas_err_t err;
    for (int i = 0; i < 4; i++) {
        ck_assert_int_eq (maas_codec_unpack (headers[i], sizes[i], 0, &scratch, &err), 0);
        maas_codec_map_t map;
        ck_assert_int_eq (maas_codec_map_init (&map, &scratch.data, "header"), 0);
        ck_assert_int_eq (maas_proto_retryable (&map), expected[i]);
    }
    msgpack_unpacked_destroy (&scratch);
}
END_TEST

//  A job built by hand is checked as a parsed one is.
START_TEST (test_job_check)
{
    maas_proto_job_t job = {.id = "j1", .kind = "infer", .priority = 3};
    maas_err_t err;
    ck_assert_int_eq (maas_proto_job_check (&job, &err), 0);
    job.priority = 12;
    ck_assert_int_eq (maas_proto_job_check (&job, &err), -1);
    ck_assert_str_eq (err.text, "header: key 'priority' must be 0..9, got 12");
    ck_assert_int_eq (err.code, MAAS_ERR_INPUT);
    //  Bytes that are not msgpack are named by what they were to be.
    msgpack_unpacked scratch;
    msgpack_unpacked_init (&scratch);
    maas_codec_map_t map;
    ck_assert_int_eq (maas_proto_open_map ("\xc1", 1, 0, "params", &scratch, &map, &err), -1);
    ck_assert_str_eq (err.text, "params: not msgpack: invalid byte 0xc1 at offset 0");
    ck_assert_int_eq (err.code, MAAS_ERR_INPUT);
    msgpack_unpacked_destroy (&scratch);
    job.priority = 0;
    strcpy (job.kind, "in fer");
    ck_assert_int_eq (maas_proto_job_check (&job, &err), -1);
    ck_assert_str_eq (err.text, "header: key 'kind' must be 1..32 of [0-9A-Za-z_.:-]");
    strcpy (job.kind, "infer");
    job.id[0] = 0;
    ck_assert_int_eq (maas_proto_job_check (&job, &err), -1);
    ck_assert_str_eq (err.text, "header: key 'id' must be 1..64 of [0-9A-Za-z_.:-]");
}
END_TEST

START_TEST (test_client_rejects_bad_spec)
{
    maas_client_t *client = maas_client_new ("ipc:///nonexistent/maas-proto-test", NULL);
    ck_assert_ptr_nonnull (client);
    maas_submit_t spec = {.kind = "bad kind"};
    ck_assert_int_eq (maas_client_submit (client, &spec, NULL, 0, NULL, NULL, NULL), -1);
    ck_assert_ptr_nonnull (strstr (maas_client_error (client), "kind"));
    spec = (maas_submit_t){.kind = "infer", .priority = 10};
    ck_assert_int_eq (maas_client_submit (client, &spec, NULL, 0, NULL, NULL, NULL), -1);
    ck_assert_ptr_nonnull (strstr (maas_client_error (client), "priority"));
    ck_assert_int_eq (maas_client_cancel (client, "no spaces allowed"), -1);
    ck_assert_ptr_null (maas_client_wait (client, "unknown", 10));
    ck_assert_int_eq (maas_client_ping (client, 50), -1);
    maas_client_destroy (&client);
    ck_assert_ptr_null (maas_worker_new (NULL, "infer", 1, NULL, NULL));
    ck_assert_ptr_null (maas_worker_new ("ipc:///x", "infer", 0, NULL, NULL));
}
END_TEST

//  The constructors say why they failed, in words a user can act on.
START_TEST (test_constructors_say_why)
{
    maas_err_t err;
    ck_assert_ptr_null (maas_client_new ("tcp//127.0.0.1:5555", &err));
    ck_assert_str_eq (err.text,
                      "client: cannot connect to 'tcp//127.0.0.1:5555': not an endpoint "
                      "(tcp://HOST:PORT, ipc://PATH, inproc://NAME)");
    ck_assert_int_eq (err.code, MAAS_ERR_INPUT);
    ck_assert_ptr_null (maas_client_new ("ipc:///tmp/ok,bogus://x", &err));
    ck_assert_str_eq (err.text,
                      "client: cannot connect to 'bogus://x': unknown transport (tcp://, ipc:// "
                      "or inproc://)");
    ck_assert_ptr_null (maas_client_new ("", &err));
    ck_assert_str_eq (err.text, "client: no broker endpoint given");
    ck_assert_ptr_null (maas_worker_new ("tcp//127.0.0.1:5556", "infer", 1, NULL, &err));
    ck_assert_str_eq (err.text,
                      "worker: cannot connect to 'tcp//127.0.0.1:5556': not an endpoint "
                      "(tcp://HOST:PORT, ipc://PATH, inproc://NAME)");
    ck_assert_ptr_null (maas_worker_new ("ipc:///x", "infer", 0, NULL, &err));
    ck_assert_ptr_nonnull (strstr (err.text, "credits >= 1"));
    ck_assert_ptr_null (maas_worker_new (",", "infer", 1, NULL, &err));
    ck_assert_str_eq (err.text, "worker: no broker endpoint in ','");
}
END_TEST

static Suite *
s_suite (void)
{
    Suite *suite = suite_create ("protocol");
    TCase *core = tcase_create ("core");
    tcase_add_test (core, test_ids_sort_and_validate);
    tcase_add_test (core, test_job_header_round_trip);
    tcase_add_test (core, test_frames_moved_and_checked);
    tcase_add_test (core, test_reply_helpers);
    tcase_add_test (core, test_retryable);
    suite_add_tcase (suite, core);
    TCase *errors = tcase_create ("errors");
    tcase_add_test (errors, test_job_header_errors);
    tcase_add_test (errors, test_job_check);
    tcase_add_test (errors, test_client_rejects_bad_spec);
    tcase_add_test (errors, test_constructors_say_why);
    suite_add_tcase (suite, errors);
    return suite;
}

int
main (void)
{
    SRunner *runner = srunner_create (s_suite ());
    srunner_run_all (runner, CK_NORMAL);
    int failed = srunner_ntests_failed (runner);
    srunner_free (runner);
    return failed ? 1 : 0;
}
