/*  check_resp.c: the broker's RESP builder (broker/resp.h): the exact
 *  bytes of commands, binary and large arguments, against hiredis's own
 *  formatter and parser, and what the builder counts. */
#include "resp.h"
#include "support.h"

#include <check.h>
#include <hiredis/hiredis.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

//  SELF holds exactly the COUNT bytes of EXPECT.
static void
s_assert_bytes (const maas_resp_t *self, const char *expect, size_t count)
{
    ck_assert (!maas_resp_failed (self));
    ck_assert_uint_eq (maas_resp_size (self), count);
    ck_assert_msg (memcmp (maas_resp_data (self), expect, count) == 0, "got %.*s",
                   (int) maas_resp_size (self), maas_resp_data (self));
    ck_assert_int_eq (maas_resp_data (self)[count], '\0');    //  for hiredis's parser
}
#define S_ASSERT_TEXT(self, text) s_assert_bytes ((self), (text), sizeof (text) - 1)

//  SELF holds what hiredis formats for ARGC arguments ARGV of ARGVLEN bytes.
static void
s_assert_like_hiredis (const maas_resp_t *self, int argc, const char **argv, const size_t *argvlen)
{
    char *expect = NULL;
    long long count = redisFormatCommandArgv (&expect, argc, argv, argvlen);
    ck_assert_int_gt (count, 0);
    s_assert_bytes (self, expect, (size_t) count);
    redisFreeCommand (expect);
}

//  Parse SELF's bytes with hiredis's reader (a command is an array of bulk
//  strings, which is also a reply): the one array it holds, owned.
static redisReply *
s_parse (const maas_resp_t *self)
{
    redisReader *reader = redisReaderCreate ();
    ck_assert_ptr_nonnull (reader);
    reader->maxbuf = 0;    //  keep whole large arguments
    ck_assert_int_eq (redisReaderFeed (reader, maas_resp_data (self), maas_resp_size (self)),
                      REDIS_OK);
    void *reply = NULL;
    ck_assert_int_eq (redisReaderGetReply (reader, &reply), REDIS_OK);
    ck_assert_ptr_nonnull (reply);
    void *more = NULL;
    ck_assert_int_eq (redisReaderGetReply (reader, &more), REDIS_OK);
    ck_assert_ptr_null (more);    //  nothing left over
    redisReaderFree (reader);
    ck_assert_int_eq (((redisReply *) reply)->type, REDIS_REPLY_ARRAY);
    return reply;
}

START_TEST (test_command_bytes)
{
    maas_resp_t *resp = maas_resp_new ();
    ck_assert_ptr_nonnull (resp);
    maas_resp_command (resp, 4);
    maas_resp_str (resp, "HSET");
    const char *key[] = {"maas:", "job:", "01J"};
    maas_resp_cat (resp, key, 3);
    maas_resp_str (resp, "status");
    maas_resp_str (resp, "queued");
    S_ASSERT_TEXT (resp,
                   "*4\r\n$4\r\nHSET\r\n$12\r\nmaas:job:01J\r\n$6\r\nstatus\r\n"
                   "$6\r\nqueued\r\n");
    const char *argv[] = {"HSET", "maas:job:01J", "status", "queued"};
    size_t argvlen[] = {4, 12, 6, 6};
    s_assert_like_hiredis (resp, 4, argv, argvlen);
    ck_assert_uint_eq (maas_resp_commands (resp), 1);
    ck_assert_uint_eq (maas_resp_args (resp), 4);
    maas_resp_destroy (&resp);
    ck_assert_ptr_null (resp);
    maas_resp_destroy (&resp);    //  safe twice
}
END_TEST

START_TEST (test_empty_and_integer_args)
{
    maas_resp_t *resp = maas_resp_new ();
    maas_resp_command (resp, 6);
    maas_resp_str (resp, "RPUSH");
    maas_resp_arg (resp, NULL, 0);
    maas_resp_int (resp, 0);
    maas_resp_int (resp, -42);
    maas_resp_int (resp, INT64_MAX);
    maas_resp_int (resp, INT64_MIN);
    S_ASSERT_TEXT (resp,
                   "*6\r\n$5\r\nRPUSH\r\n$0\r\n\r\n$1\r\n0\r\n$3\r\n-42\r\n"
                   "$19\r\n9223372036854775807\r\n$20\r\n-9223372036854775808\r\n");
    maas_resp_destroy (&resp);
}
END_TEST

START_TEST (test_binary_args)
{
    //  NUL, CR, LF and a fake RESP header inside an argument: only the
    //  length says where it ends.
    static const char value[] = "a\0b\r\nc\r\n$3\r\n*1\r\n\xff";
    size_t size = sizeof value - 1;
    maas_resp_t *resp = maas_resp_new ();
    maas_resp_command (resp, 3);
    maas_resp_str (resp, "SET");
    maas_resp_arg (resp, "k\0ey", 4);
    maas_resp_arg (resp, value, size);
    const char *argv[] = {"SET", "k\0ey", value};
    size_t argvlen[] = {3, 4, size};
    s_assert_like_hiredis (resp, 3, argv, argvlen);
    redisReply *reply = s_parse (resp);
    ck_assert_uint_eq (reply->elements, 3);
    ck_assert_uint_eq (reply->element[1]->len, 4);
    ck_assert_mem_eq (reply->element[1]->str, "k\0ey", 4);
    ck_assert_uint_eq (reply->element[2]->len, size);
    ck_assert_mem_eq (reply->element[2]->str, value, size);
    freeReplyObject (reply);
    maas_resp_destroy (&resp);
}
END_TEST

START_TEST (test_large_args)
{
    //  Past the first allocation many times over, in one argument and in
    //  many: the buffer grows and keeps every byte.
    size_t size = (size_t) 9 << 20;
    char *big = malloc (size);
    ck_assert_ptr_nonnull (big);
    for (size_t i = 0; i < size; i++)
        big[i] = (char) (i * 131 + 7);
    maas_resp_t *resp = maas_resp_new ();
    maas_resp_command (resp, 2 + 1000);
    maas_resp_str (resp, "RPUSH");
    maas_resp_arg (resp, big, size);
    for (int i = 0; i < 1000; i++)
        maas_resp_arg (resp, big + i, 1000);
    ck_assert (!maas_resp_failed (resp));
    ck_assert_uint_eq (maas_resp_args (resp), 1002);
    redisReply *reply = s_parse (resp);
    ck_assert_uint_eq (reply->elements, 1002);
    ck_assert_uint_eq (reply->element[1]->len, size);
    ck_assert_mem_eq (reply->element[1]->str, big, size);
    ck_assert_mem_eq (reply->element[1001]->str, big + 999, 1000);
    freeReplyObject (reply);
    maas_resp_destroy (&resp);
    free (big);
}
END_TEST

START_TEST (test_append_counts_and_reset)
{
    //  The store's shape: bare score, member pairs gathered apart, then
    //  put behind a ZADD header once their count is known.
    maas_resp_t *pairs = maas_resp_new (), *resp = maas_resp_new ();
    maas_resp_int (pairs, 17);
    maas_resp_str (pairs, "a");
    maas_resp_int (pairs, 18);
    maas_resp_str (pairs, "b");
    ck_assert_uint_eq (maas_resp_commands (pairs), 0);
    ck_assert_uint_eq (maas_resp_args (pairs), 4);
    maas_resp_raw (resp, "*1\r\n$4\r\nPING\r\n", 14);
    ck_assert_uint_eq (maas_resp_commands (resp), 0);    //  raw bytes count as nothing
    maas_resp_command (resp, 2 + maas_resp_args (pairs));
    maas_resp_str (resp, "ZADD");
    maas_resp_str (resp, "pending");
    maas_resp_append (resp, pairs);
    S_ASSERT_TEXT (resp,
                   "*1\r\n$4\r\nPING\r\n*6\r\n$4\r\nZADD\r\n$7\r\npending\r\n"
                   "$2\r\n17\r\n$1\r\na\r\n$2\r\n18\r\n$1\r\nb\r\n");
    ck_assert_uint_eq (maas_resp_commands (resp), 1);
    ck_assert_uint_eq (maas_resp_args (resp), 6);
    maas_resp_reset (resp);
    ck_assert_uint_eq (maas_resp_size (resp), 0);
    ck_assert_uint_eq (maas_resp_commands (resp), 0);
    ck_assert_uint_eq (maas_resp_args (resp), 0);
    maas_resp_command (resp, 1);
    maas_resp_str (resp, "PING");
    S_ASSERT_TEXT (resp, "*1\r\n$4\r\nPING\r\n");
    maas_resp_destroy (&pairs);
    maas_resp_destroy (&resp);
}
END_TEST

START_TEST (test_out_of_memory_is_sticky)
{
    //  An argument no allocation can hold fails the buffer, and appends
    //  after it change nothing until a reset; a failed source fails the
    //  buffer it is appended to.
    maas_resp_t *resp = maas_resp_new (), *into = maas_resp_new ();
    maas_resp_command (resp, 1);
    static const char byte = 'x';
    maas_resp_arg (resp, &byte, SIZE_MAX - 64);
    ck_assert (maas_resp_failed (resp));
    size_t size = maas_resp_size (resp);
    maas_resp_str (resp, "PING");
    ck_assert_uint_eq (maas_resp_size (resp), size);
    ck_assert_uint_eq (maas_resp_args (resp), 0);
    maas_resp_append (into, resp);
    ck_assert (maas_resp_failed (into));
    maas_resp_reset (resp);
    ck_assert (!maas_resp_failed (resp));
    maas_resp_str (resp, "ok");
    S_ASSERT_TEXT (resp, "$2\r\nok\r\n");
    maas_resp_destroy (&resp);
    maas_resp_destroy (&into);
}
END_TEST

static Suite *
s_suite (void)
{
    Suite *suite = suite_create ("resp");
    TCase *core = tcase_create ("core");
    tcase_add_test (core, test_command_bytes);
    tcase_add_test (core, test_empty_and_integer_args);
    tcase_add_test (core, test_append_counts_and_reset);
    suite_add_tcase (suite, core);
    TCase *limits = tcase_create ("limits");
    tcase_add_test (limits, test_binary_args);
    tcase_add_test (limits, test_large_args);
    tcase_add_test (limits, test_out_of_memory_is_sticky);
    suite_add_tcase (suite, limits);
    return suite;
}

int
main (void)
{
    return support_run (s_suite ());
}
