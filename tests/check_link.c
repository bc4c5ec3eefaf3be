/*  check_link.c: the broker's asynchronous Redis link (broker/link.h) in
 *  process, against a real redis-server: replies in send order, what is
 *  pending and unwritten, AUTH and SELECT from the URL, and how each kind
 *  of end (server gone, no answer, refused, closed from a callback) is
 *  told, once, before or after the NULL replies. */
#include "link.h"
#include "clock.h"
#include "resp.h"
#include "support.h"

#include <check.h>
#include <hiredis/hiredis.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#define S_MAX 16

//  What the link told, in order.
typedef struct {
    char said[S_MAX][256];    //  "reply PONG", "reply nil", "lost overdue: redis ..."
    int count;                //  entries used
    maas_link_t *link;        //  under test
    maas_resp_t *out;         //  a command being built
    bool close_in_reply;      //  the next reply closes the link from its callback
} fx_t;

static fx_t fx;

static void
s_say (const char *text)
{
    ck_assert_int_lt (fx.count, S_MAX);
    snprintf (fx.said[fx.count++], sizeof fx.said[0], "%s", text);
}

static void
s_on_reply (void *r, void *arg)
{
    (void) arg;
    redisReply *reply = r;
    char text[128];
    if (!reply)
        snprintf (text, sizeof text, "reply nil");
    else if (reply->type == REDIS_REPLY_INTEGER)
        snprintf (text, sizeof text, "reply %lld", reply->integer);
    else if (reply->str)
        snprintf (text, sizeof text, "reply %.100s", reply->str);
    else
        snprintf (text, sizeof text, "reply type=%d", reply->type);
    s_say (text);
    if (reply && fx.close_in_reply) {
        fx.close_in_reply = false;
        maas_link_close (fx.link, "redis test: closed from a reply");
        ck_assert (!maas_link_ready (fx.link));    //  at once, though it closes later
        ck_assert (maas_link_open (fx.link));
    }
}

static void
s_on_lost (maas_link_end_t end, const char *why, void *arg)
{
    (void) arg;
    static const char *names[] = {"unreachable", "closed", "overdue", "refused", "dropped"};
    char text[256];
    snprintf (text, sizeof text, "lost %s: %.200s", names[end], why);
    s_say (text);
    ck_assert (!maas_link_open (fx.link));
}

//  Send the command of ARGC strings.
static void
s_send (int argc, const char *const *argv)
{
    maas_resp_command (fx.out, (size_t) argc);
    for (int i = 0; i < argc; i++)
        maas_resp_str (fx.out, argv[i]);
    ck_assert_int_eq (maas_link_send (fx.link, maas_resp_data (fx.out), maas_resp_size (fx.out),
                                      s_on_reply, NULL),
                      0);
    maas_resp_reset (fx.out);
}
#define S_SEND(...)                                                                                \
    s_send (sizeof ((const char *[]){__VA_ARGS__}) / sizeof (char *), (const char *[]){__VA_ARGS__})

//  Turns of the loop the broker runs, for up to MS or until COUNT things
//  were told.
static void
s_turns (int ms, int count)
{
    int64_t until = maas_clock_mono_ms () + ms;
    while (fx.count < count && maas_clock_mono_ms () < until) {
        zmq_pollitem_t item;
        maas_link_poll_item (fx.link, &item);
        if (item.fd >= 0)
            zmq_poll (&item, 1, 10);
        else
            zmq_poll (NULL, 0, 10);
        if (item.fd >= 0)
            maas_link_io (fx.link, item.revents);
        maas_link_flush (fx.link);
        maas_link_tick (fx.link, maas_clock_mono_ms ());
    }
}

static void
s_connect (const char *url)
{
    maas_redis_url_t where;
    maas_err_t err;
    ck_assert_int_eq (maas_redis_url_parse (&where, url, &err), 0);
    ck_assert_int_eq (maas_link_connect (fx.link, &where), 0);
    maas_redis_url_clear (&where);
}

static void
s_setup (void)
{
    memset (&fx, 0, sizeof fx);
    fx.link = maas_link_new (NULL, s_on_lost, NULL);
    fx.out = maas_resp_new ();
    ck_assert (fx.link && fx.out);
}

static void
s_teardown (void)
{
    maas_link_destroy (&fx.link);
    maas_resp_destroy (&fx.out);
}

START_TEST (test_replies_in_order)
{
    support_redis_t *redis = support_redis_start ();
    s_connect (support_redis_url (redis));
    ck_assert (maas_link_open (fx.link) && maas_link_ready (fx.link));
    //  Sent before the connect completes: they wait in hiredis until then.
    S_SEND ("PING");
    S_SEND ("SET", "k", "v");
    S_SEND ("GET", "k");
    S_SEND ("INCR", "n");
    ck_assert_uint_eq (maas_link_pending (fx.link), 4);
    ck_assert_uint_gt (maas_link_backlog (fx.link), 0);
    s_turns (5000, 4);
    ck_assert_int_eq (fx.count, 4);
    ck_assert_str_eq (fx.said[0], "reply PONG");
    ck_assert_str_eq (fx.said[1], "reply OK");
    ck_assert_str_eq (fx.said[2], "reply v");
    ck_assert_str_eq (fx.said[3], "reply 1");
    ck_assert_uint_eq (maas_link_pending (fx.link), 0);
    ck_assert_uint_eq (maas_link_backlog (fx.link), 0);
    ck_assert_str_eq (maas_link_where (fx.link), support_redis_socket (redis));
    //  Destroyed with replies due: they come as NULL, and LOST is not told.
    S_SEND ("PING");
    maas_link_destroy (&fx.link);
    ck_assert_int_eq (fx.count, 5);
    ck_assert_str_eq (fx.said[4], "reply nil");
    support_redis_stop (&redis);
}
END_TEST

START_TEST (test_auth_and_select_from_the_url)
{
    support_redis_t *redis = support_redis_start_tcp (0);
    redisContext *admin = redisConnectUnix (support_redis_socket (redis));
    ck_assert (admin && !admin->err);
    freeReplyObject (redisCommand (admin, "CONFIG SET requirepass s3cret"));
    char url[256];
    snprintf (url, sizeof url, "redis://:s3cret@127.0.0.1:%d/3", support_redis_port (redis));
    s_connect (url);
    S_SEND ("SET", "where", "db3");
    s_turns (5000, 1);
    ck_assert_str_eq (fx.said[0], "reply OK");
    freeReplyObject (redisCommand (admin, "AUTH s3cret"));
    freeReplyObject (redisCommand (admin, "SELECT 3"));
    redisReply *got = redisCommand (admin, "GET where");
    ck_assert (got && got->str);
    ck_assert_str_eq (got->str, "db3");
    freeReplyObject (got);
    maas_link_close (fx.link, "redis test: done");
    ck_assert_str_eq (fx.said[1], "lost dropped: redis test: done");
    //  A wrong password: the link drops the connection, saying where the
    //  password came from.
    snprintf (url, sizeof url, "redis://:wrong@127.0.0.1:%d", support_redis_port (redis));
    s_connect (url);
    s_turns (5000, 3);
    ck_assert_int_eq (fx.count, 3);
    ck_assert_msg (strstr (fx.said[2], "lost refused: redis 127.0.0.1:"), "%s", fx.said[2]);
    ck_assert_msg (strstr (fx.said[2], ": AUTH failed: "), "%s", fx.said[2]);
    ck_assert_msg (strstr (fx.said[2], ": check the user and password in the Redis URL"), "%s",
                   fx.said[2]);
    ck_assert (!maas_link_open (fx.link));
    ck_assert_str_eq (maas_link_error (fx.link), fx.said[2] + strlen ("lost refused: "));
    redisFree (admin);
    support_redis_stop (&redis);
}
END_TEST

START_TEST (test_server_gone)
{
    support_redis_t *redis = support_redis_start ();
    s_connect (support_redis_url (redis));
    S_SEND ("PING");
    s_turns (5000, 1);
    //  A reply due when the server dies: hiredis fails it first, with its
    //  reason at hand, then the link tells LOST.
    S_SEND ("BLPOP", "nothing", "0");
    s_turns (200, 2);
    ck_assert_int_eq (fx.count, 1);
    support_redis_kill (redis);
    s_turns (5000, 3);
    ck_assert_int_eq (fx.count, 3);
    ck_assert_str_eq (fx.said[1], "reply nil");
    ck_assert_msg (strncmp (fx.said[2], "lost closed: redis ", 19) == 0, "%s", fx.said[2]);
    ck_assert_uint_eq (maas_link_pending (fx.link), 0);
    ck_assert_int_eq (maas_link_send (fx.link, "*1\r\n$4\r\nPING\r\n", 14, s_on_reply, NULL), -1);
    //  No server on the socket now: the connect fails at once, and says why.
    maas_redis_url_t where = {.path = (char *) support_redis_socket (redis)};
    ck_assert_int_eq (maas_link_connect (fx.link, &where), -1);
    ck_assert_msg (strstr (maas_link_error (fx.link), support_redis_socket (redis)), "%s",
                   maas_link_error (fx.link));
    ck_assert_int_eq (fx.count, 3);
    support_redis_stop (&redis);
}
END_TEST

START_TEST (test_overdue_replies_drop_it)
{
    support_redis_t *redis = support_redis_start ();
    maas_link_set_timeout (fx.link, 300);
    s_connect (support_redis_url (redis));
    S_SEND ("PING");
    s_turns (5000, 1);
    //  Idle is not overdue: nothing is awaited.
    s_turns (600, 2);
    ck_assert_int_eq (fx.count, 1);
    kill (support_redis_pid (redis), SIGSTOP);
    S_SEND ("PING");
    int64_t sent = maas_clock_mono_ms ();
    s_turns (5000, 3);
    int64_t waited = maas_clock_mono_ms () - sent;
    kill (support_redis_pid (redis), SIGCONT);
    ck_assert_int_eq (fx.count, 3);
    //  Dropped by the link: LOST first, then the NULL reply.
    ck_assert_msg (strstr (fx.said[1], "lost overdue: redis ")
                       && strstr (fx.said[1], " did not answer in 300 ms"),
                   "%s", fx.said[1]);
    ck_assert_str_eq (fx.said[2], "reply nil");
    ck_assert_int_ge (waited, 250);
    ck_assert_int_lt (waited, 2000);
    support_redis_stop (&redis);
}
END_TEST

START_TEST (test_close_from_a_reply)
{
    //  A callback may not free the context hiredis is reading from: the
    //  close happens once _io returns, and the replies due then are NULL.
    support_redis_t *redis = support_redis_start ();
    s_connect (support_redis_url (redis));
    S_SEND ("PING");
    s_turns (5000, 1);
    fx.close_in_reply = true;
    S_SEND ("ECHO", "first");
    S_SEND ("BLPOP", "nothing", "0");
    s_turns (5000, 3);
    ck_assert_int_eq (fx.count, 4);
    ck_assert_str_eq (fx.said[1], "reply first");
    ck_assert_str_eq (fx.said[2], "lost dropped: redis test: closed from a reply");
    ck_assert_str_eq (fx.said[3], "reply nil");
    ck_assert (!maas_link_open (fx.link));
    ck_assert_uint_eq (maas_link_backlog (fx.link), 0);
    //  And the link connects again.
    s_connect (support_redis_url (redis));
    S_SEND ("ECHO", "again");
    s_turns (5000, 5);
    ck_assert_str_eq (fx.said[4], "reply again");
    support_redis_stop (&redis);
}
END_TEST

START_TEST (test_backlog_counts_unwritten_bytes)
{
    //  A stopped server stops reading: past the socket's buffers hiredis
    //  keeps the rest, and the backlog says so until it is written.
    support_redis_t *redis = support_redis_start ();
    s_connect (support_redis_url (redis));
    S_SEND ("PING");
    s_turns (5000, 1);
    kill (support_redis_pid (redis), SIGSTOP);
    static char big[1 << 20];
    memset (big, 'x', sizeof big);
    size_t sent = 0;
    for (int i = 0; i < 64; i++) {
        maas_resp_command (fx.out, 3);
        maas_resp_str (fx.out, "APPEND");
        maas_resp_str (fx.out, "big");
        maas_resp_arg (fx.out, big, sizeof big);
        sent += maas_resp_size (fx.out);
        ck_assert_int_eq (
            maas_link_send (fx.link, maas_resp_data (fx.out), maas_resp_size (fx.out), NULL, NULL),
            0);
        maas_resp_reset (fx.out);
    }
    ck_assert_uint_eq (maas_link_backlog (fx.link), sent);
    s_turns (300, 2);
    size_t stuck = maas_link_backlog (fx.link);
    ck_assert_uint_gt (stuck, 0);
    ck_assert_uint_le (stuck, sent);
    kill (support_redis_pid (redis), SIGCONT);
    S_SEND ("STRLEN", "big");
    s_turns (20000, 2);
    ck_assert_int_eq (fx.count, 2);
    char expect[64];
    snprintf (expect, sizeof expect, "reply %zu", 64 * sizeof big);
    ck_assert_str_eq (fx.said[1], expect);
    ck_assert_uint_eq (maas_link_backlog (fx.link), 0);
    ck_assert_uint_eq (maas_link_pending (fx.link), 0);
    support_redis_stop (&redis);
}
END_TEST

static Suite *
s_suite (void)
{
    Suite *suite = suite_create ("link");
    TCase *core = tcase_create ("core");
    tcase_add_checked_fixture (core, s_setup, s_teardown);
    tcase_add_test (core, test_replies_in_order);
    tcase_add_test (core, test_auth_and_select_from_the_url);
    tcase_add_test (core, test_backlog_counts_unwritten_bytes);
    suite_add_tcase (suite, core);
    TCase *faults = tcase_create ("faults");
    tcase_add_checked_fixture (faults, s_setup, s_teardown);
    tcase_add_test (faults, test_server_gone);
    tcase_add_test (faults, test_overdue_replies_drop_it);
    tcase_add_test (faults, test_close_from_a_reply);
    suite_add_tcase (suite, faults);
    return suite;
}

int
main (void)
{
    return support_run (s_suite ());
}
