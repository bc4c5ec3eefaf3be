/*  check_dataset.c: data sets in memory (labels against tasks, sha256) and
 *  in a real Redis (chunked round trips, atomic replacement, corruption,
 *  dead Redis), and the `maas dataset` commands through the real binary. */
#include "maas.h"
#include "support.h"

#include <check.h>
#include <hiredis/hiredis.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static support_redis_t *s_redis;
static maas_dataset_store_t *s_store;
static maas_err_t s_err;

static void
s_redis_up (void)
{
    signal (SIGPIPE, SIG_IGN);    //  as maas programs do: a dead Redis is an error
    s_redis = support_redis_start ();
    s_store = maas_dataset_store_new (support_redis_url (s_redis), NULL, &s_err);
    ck_assert_msg (s_store, "%s", s_err.text);
}

static void
s_redis_down (void)
{
    maas_dataset_store_destroy (&s_store);
    support_redis_stop (&s_redis);
}

//  ROWS × COLS features x[r][c] = r * COLS + c + SALT, labels r % CLASSES.
static maas_dataset_t *
s_make (size_t rows, size_t cols, size_t classes, float salt)
{
    maas_tensor_t *x = maas_tensor_new (rows, cols);
    maas_tensor_t *y = maas_tensor_new (rows, 1);
    for (size_t i = 0; i < rows * cols; i++)
        x->data[i] = (float) i + salt;
    for (size_t r = 0; r < rows; r++)
        y->data[r] = (float) (r % classes);
    maas_dataset_t *dataset = maas_dataset_new (&x, &y, NULL, NULL, MAAS_DATASET_AUTO, &s_err);
    ck_assert_msg (dataset, "%s", s_err.text);
    return dataset;
}

static void
s_assert_same (const maas_dataset_t *a, const maas_dataset_t *b)
{
    ck_assert_uint_eq (maas_dataset_rows (a), maas_dataset_rows (b));
    ck_assert_uint_eq (maas_dataset_cols (a), maas_dataset_cols (b));
    ck_assert_int_eq (maas_dataset_task (a), maas_dataset_task (b));
    ck_assert_uint_eq (maas_dataset_classes (a), maas_dataset_classes (b));
    ck_assert_str_eq (maas_dataset_sha256_hex (a), maas_dataset_sha256_hex (b));
    ck_assert_mem_eq (maas_dataset_features (a)->data, maas_dataset_features (b)->data,
                      maas_tensor_size (maas_dataset_features (a)) * sizeof (float));
    ck_assert_mem_eq (maas_dataset_labels (a)->data, maas_dataset_labels (b)->data,
                      maas_dataset_rows (a) * sizeof (float));
    for (size_t c = 0; c < maas_dataset_cols (a); c++)
        ck_assert_str_eq (maas_dataset_column (a, c), maas_dataset_column (b, c));
    ck_assert_str_eq (maas_dataset_label (a), maas_dataset_label (b));
}

static redisContext *
s_raw (void)
{
    redisContext *ctx = redisConnectUnix (support_redis_socket (s_redis));
    ck_assert (ctx && !ctx->err);
    return ctx;
}

//  Run a command on a fresh connection; its integer or string reply length.
static long long
s_redis_int (const char *fmt, const char *arg)
{
    redisContext *ctx = s_raw ();
    redisReply *reply = redisCommand (ctx, fmt, arg);
    ck_assert (reply && reply->type != REDIS_REPLY_ERROR);
    long long value = reply->type == REDIS_REPLY_INTEGER ? reply->integer
        : reply->type == REDIS_REPLY_ARRAY               ? (long long) reply->elements
                                                         : (long long) reply->len;
    freeReplyObject (reply);
    redisFree (ctx);
    return value;
}

//  -- in memory

START_TEST (test_task_inference)
{
    maas_dataset_t *binary = s_make (10, 3, 2, 0);
    ck_assert_int_eq (maas_dataset_task (binary), MAAS_DATASET_BINARY);
    ck_assert_uint_eq (maas_dataset_classes (binary), 2);
    ck_assert_str_eq (maas_dataset_column (binary, 2), "x2");
    ck_assert_str_eq (maas_dataset_label (binary), "label");
    maas_dataset_t *digits = s_make (25, 4, 10, 0);
    ck_assert_int_eq (maas_dataset_task (digits), MAAS_DATASET_MULTICLASS);
    ck_assert_uint_eq (maas_dataset_classes (digits), 10);
    ck_assert_str_eq (maas_dataset_task_name (MAAS_DATASET_REGRESSION), "regression");
    ck_assert_int_eq (maas_dataset_task_parse ("multiclass"), MAAS_DATASET_MULTICLASS);
    ck_assert_int_eq (maas_dataset_task_parse ("clustering"), -1);
    maas_dataset_destroy (&binary);
    maas_dataset_destroy (&digits);
    ck_assert_ptr_null (digits);
    maas_dataset_destroy (&digits);
}
END_TEST

START_TEST (test_sha256_identifies_content)
{
    maas_dataset_t *a = s_make (8, 2, 2, 0);
    maas_dataset_t *b = s_make (8, 2, 2, 0);
    maas_dataset_t *c = s_make (8, 2, 2, 0.5f);
    ck_assert_str_eq (maas_dataset_sha256_hex (a), maas_dataset_sha256_hex (b));
    ck_assert_str_ne (maas_dataset_sha256_hex (a), maas_dataset_sha256_hex (c));
    ck_assert_uint_eq (strlen (maas_dataset_sha256_hex (a)), 64);
    //  Same floats, other shape: another digest.
    maas_tensor_t *x = maas_tensor_from (maas_dataset_features (a)->data, 4, 4);
    maas_tensor_t *y = maas_tensor_new (4, 1);
    maas_dataset_t *d = maas_dataset_new (&x, &y, NULL, NULL, MAAS_DATASET_AUTO, &s_err);
    ck_assert_str_ne (maas_dataset_sha256_hex (a), maas_dataset_sha256_hex (d));
    maas_dataset_destroy (&a);
    maas_dataset_destroy (&b);
    maas_dataset_destroy (&c);
    maas_dataset_destroy (&d);
}
END_TEST

//  A 3 × 2 data set with LABEL_2 as its third label, under TASK.
static maas_dataset_t *
s_try (float feature, float label_2, maas_dataset_task_t task)
{
    maas_tensor_t *x = maas_tensor_new (3, 2);
    maas_tensor_t *y = maas_tensor_new (3, 1);
    x->data[3] = feature;
    y->data[2] = label_2;
    return maas_dataset_new (&x, &y, NULL, NULL, task, &s_err);
}

START_TEST (test_rejects_labels_that_do_not_fit)
{
    ck_assert_ptr_null (s_try (0, 2, MAAS_DATASET_BINARY));
    ck_assert_str_eq (s_err.text, "label at row 3 is 2: binary labels are 0 or 1");
    ck_assert_ptr_null (s_try (0, 2.5f, MAAS_DATASET_MULTICLASS));
    ck_assert_ptr_nonnull (strstr (s_err.text, "label at row 3 is 2.5: multiclass labels"));
    ck_assert_ptr_null (s_try (0, -1, MAAS_DATASET_MULTICLASS));
    ck_assert_ptr_null (s_try (NAN, 0, MAAS_DATASET_AUTO));
    ck_assert_str_eq (s_err.text, "feature 2 at row 2 is not a finite number");
    ck_assert_ptr_null (s_try (0, INFINITY, MAAS_DATASET_REGRESSION));
    ck_assert_str_eq (s_err.text, "label at row 3 is not a finite number");
    maas_dataset_t *ok = s_try (0, 2.5f, MAAS_DATASET_AUTO);
    ck_assert_int_eq (maas_dataset_task (ok), MAAS_DATASET_REGRESSION);
    ck_assert_uint_eq (maas_dataset_classes (ok), 0);
    maas_dataset_destroy (&ok);
    maas_tensor_t *x = maas_tensor_new (3, 2);
    maas_tensor_t *y = maas_tensor_new (4, 1);
    ck_assert_ptr_null (maas_dataset_new (&x, &y, NULL, NULL, MAAS_DATASET_AUTO, &s_err));
    ck_assert_ptr_null (x);
    ck_assert_str_eq (s_err.text, "3 rows of features but 4 × 1 labels");
}
END_TEST

//  -- in Redis

START_TEST (test_round_trip_in_chunks)
{
    maas_dataset_t *put = s_make (101, 7, 3, 0.25f);
    maas_dataset_store_set_chunk_bytes (s_store, 64);
    ck_assert_msg (maas_dataset_store_put (s_store, "iris-like", put) == 0, "%s",
                   maas_dataset_store_error (s_store));
    maas_dataset_t *got = maas_dataset_store_get (s_store, "iris-like");
    ck_assert_msg (got, "%s", maas_dataset_store_error (s_store));
    s_assert_same (put, got);
    maas_dataset_info_t info;
    ck_assert_int_eq (maas_dataset_store_info (s_store, "iris-like", &info), 0);
    ck_assert_uint_eq (info.rows, 101);
    ck_assert_uint_eq (info.cols, 7);
    ck_assert_uint_eq (info.classes, 3);
    ck_assert_int_eq (info.task, MAAS_DATASET_MULTICLASS);
    ck_assert_str_eq (info.columns[6], "x6");
    ck_assert_str_eq (info.sha256, maas_dataset_sha256_hex (put));
    //  101*7*4 = 2828 bytes in 45 chunks of 64, 404 label bytes in 7.
    ck_assert_uint_eq (info.chunks, 45 + 7);
    maas_dataset_info_clear (&info);
    //  No stored value exceeds the chunk size.
    redisContext *ctx = s_raw ();
    redisReply *keys = redisCommand (ctx, "KEYS maas:dataset:{iris-like}:*");
    ck_assert_uint_eq (keys->elements, 52);
    for (size_t i = 0; i < keys->elements; i++) {
        redisReply *len = redisCommand (ctx, "STRLEN %s", keys->element[i]->str);
        ck_assert_int_le (len->integer, 64);
        freeReplyObject (len);
        ck_assert_int_eq (s_redis_int ("TTL %s", keys->element[i]->str), -1);
    }
    freeReplyObject (keys);
    redisFree (ctx);
    maas_dataset_destroy (&put);
    maas_dataset_destroy (&got);
}
END_TEST

START_TEST (test_replace_list_remove)
{
    maas_dataset_t *a = s_make (50, 3, 2, 0), *b = s_make (20, 5, 4, 1);
    maas_dataset_store_set_chunk_bytes (s_store, 100);
    ck_assert_int_eq (maas_dataset_store_put (s_store, "zeta", a), 0);
    ck_assert_int_eq (maas_dataset_store_put (s_store, "alpha", a), 0);
    ck_assert_int_eq (maas_dataset_store_put (s_store, "zeta", b), 0);
    maas_dataset_t *got = maas_dataset_store_get (s_store, "zeta");
    s_assert_same (b, got);
    maas_dataset_destroy (&got);
    //  The replaced generation's chunks expire after the grace period.
    redisContext *ctx = s_raw ();
    redisReply *keys = redisCommand (ctx, "KEYS maas:dataset:{zeta}:*");
    size_t expiring = 0;
    for (size_t i = 0; i < keys->elements; i++) {
        long long ttl = s_redis_int ("TTL %s", keys->element[i]->str);
        ck_assert (ttl == -1 || (ttl > 0 && ttl <= MAAS_DATASET_STORE_GRACE_S));
        expiring += ttl > 0;
    }
    ck_assert_uint_eq (expiring, 6 + 2);    //  600 feature bytes, 200 label bytes
    freeReplyObject (keys);
    redisFree (ctx);
    zlist_t *names = maas_dataset_store_list (s_store);
    ck_assert_uint_eq (zlist_size (names), 2);
    ck_assert_str_eq (zlist_first (names), "alpha");
    ck_assert_str_eq (zlist_next (names), "zeta");
    zlist_destroy (&names);
    ck_assert_int_eq (maas_dataset_store_remove (s_store, "zeta"), 0);
    ck_assert_ptr_null (maas_dataset_store_get (s_store, "zeta"));
    ck_assert_str_eq (maas_dataset_store_error (s_store), "data set 'zeta' not found");
    ck_assert_int_eq (maas_dataset_store_remove (s_store, "zeta"), -1);
    ck_assert_str_eq (maas_dataset_store_error (s_store), "data set 'zeta' not found");
    //  Only the replaced generation's chunks remain, and they expire.
    ctx = s_raw ();
    keys = redisCommand (ctx, "KEYS maas:dataset:{zeta}*");
    ck_assert_uint_eq (keys->elements, 8);
    for (size_t i = 0; i < keys->elements; i++)
        ck_assert_int_gt (s_redis_int ("TTL %s", keys->element[i]->str), 0);
    freeReplyObject (keys);
    redisFree (ctx);
    names = maas_dataset_store_list (s_store);
    ck_assert_uint_eq (zlist_size (names), 1);
    zlist_destroy (&names);
    maas_dataset_destroy (&a);
    maas_dataset_destroy (&b);
}
END_TEST

START_TEST (test_readers_never_see_a_mix)
{
    //  A child replaces the data set with A and B in turn while we read it:
    //  every read is exactly A or exactly B.
    maas_dataset_t *a = s_make (300, 4, 2, 0), *b = s_make (200, 6, 3, 7);
    maas_dataset_store_set_chunk_bytes (s_store, 256);
    ck_assert_int_eq (maas_dataset_store_put (s_store, "flip", a), 0);
    pid_t writer = fork ();
    ck_assert_int_ge (writer, 0);
    if (writer == 0) {
        maas_dataset_store_t *store =
            maas_dataset_store_new (support_redis_url (s_redis), NULL, &s_err);
        maas_dataset_store_set_chunk_bytes (store, 256);
        int failures = 0;
        for (int i = 0; i < 60 && store; i++)
            failures += maas_dataset_store_put (store, "flip", i % 2 ? a : b) != 0;
        maas_dataset_store_destroy (&store);
        _exit (failures ? 1 : 0);
    }
    int seen_a = 0, seen_b = 0;
    for (int i = 0; i < 60; i++) {
        maas_dataset_t *got = maas_dataset_store_get (s_store, "flip");
        ck_assert_msg (got, "%s", maas_dataset_store_error (s_store));
        if (maas_dataset_rows (got) == 300) {
            s_assert_same (a, got);
            seen_a++;
        }
        else {
            s_assert_same (b, got);
            seen_b++;
        }
        maas_dataset_destroy (&got);
    }
    int status;
    ck_assert_int_eq (waitpid (writer, &status, 0), writer);
    ck_assert (WIFEXITED (status) && WEXITSTATUS (status) == 0);
    ck_assert_int_eq (seen_a + seen_b, 60);
    maas_dataset_destroy (&a);
    maas_dataset_destroy (&b);
}
END_TEST

START_TEST (test_failed_put_keeps_previous)
{
    //  Redis refuses values over proto-max-bulk-len (1 MB here): a put with
    //  bigger chunks fails part way and the old data set stays intact.
    maas_dataset_t *small = s_make (10, 2, 2, 0), *big = s_make (100000, 3, 2, 0);
    ck_assert_int_eq (maas_dataset_store_put (s_store, "keep", small), 0);
    redisContext *ctx = s_raw ();
    freeReplyObject (redisCommand (ctx, "CONFIG SET proto-max-bulk-len 1048576"));
    redisFree (ctx);
    maas_dataset_store_set_chunk_bytes (s_store, 2 << 20);
    ck_assert_int_eq (maas_dataset_store_put (s_store, "keep", big), -1);
    ck_assert_ptr_nonnull (strstr (maas_dataset_store_error (s_store), "data set 'keep'"));
    maas_dataset_store_set_chunk_bytes (s_store, 1 << 20);
    maas_dataset_t *got = maas_dataset_store_get (s_store, "keep");
    ck_assert_msg (got, "%s", maas_dataset_store_error (s_store));
    s_assert_same (small, got);
    maas_dataset_destroy (&got);
    //  With chunks that fit, the same data set goes in.
    ck_assert_msg (maas_dataset_store_put (s_store, "keep", big) == 0, "%s",
                   maas_dataset_store_error (s_store));
    got = maas_dataset_store_get (s_store, "keep");
    s_assert_same (big, got);
    maas_dataset_destroy (&got);
    maas_dataset_destroy (&small);
    maas_dataset_destroy (&big);
}
END_TEST

//  -- errors

START_TEST (test_bad_names)
{
    maas_dataset_t *a = s_make (4, 2, 2, 0);
    ck_assert_int_eq (maas_dataset_store_put (s_store, "a b", a), -1);
    ck_assert_ptr_nonnull (strstr (maas_dataset_store_error (s_store), "'a b' is not valid"));
    ck_assert_int_eq (maas_dataset_store_put (s_store, "x}y", a), -1);
    ck_assert_int_eq (maas_dataset_store_put (s_store, "", a), -1);
    ck_assert_int_eq (maas_dataset_store_put (s_store, ".hidden", a), -1);
    ck_assert (maas_dataset_name_valid ("digits_train-v2.1"));
    ck_assert_ptr_null (maas_dataset_store_get (s_store, "no:colons"));
    ck_assert_ptr_null (maas_dataset_store_get (s_store, "absent"));
    ck_assert_str_eq (maas_dataset_store_error (s_store), "data set 'absent' not found");
    maas_dataset_destroy (&a);
}
END_TEST

START_TEST (test_corruption_is_refused)
{
    maas_dataset_t *a = s_make (40, 2, 2, 0);
    maas_dataset_store_set_chunk_bytes (s_store, 64);
    ck_assert_int_eq (maas_dataset_store_put (s_store, "c", a), 0);
    redisContext *ctx = s_raw ();
    redisReply *keys = redisCommand (ctx, "KEYS maas:dataset:{c}:*:x:1");
    ck_assert_uint_eq (keys->elements, 1);
    char chunk[256];
    snprintf (chunk, sizeof chunk, "%s", keys->element[0]->str);
    freeReplyObject (keys);
    //  A flipped byte: the sha256 no longer matches.
    freeReplyObject (redisCommand (ctx, "SETRANGE %s 5 Z", chunk));
    ck_assert_ptr_null (maas_dataset_store_get (s_store, "c"));
    ck_assert_ptr_nonnull (strstr (maas_dataset_store_error (s_store), "'c' is corrupted"));
    //  A chunk of the wrong size.
    freeReplyObject (redisCommand (ctx, "APPEND %s extra", chunk));
    ck_assert_ptr_null (maas_dataset_store_get (s_store, "c"));
    ck_assert_ptr_nonnull (strstr (maas_dataset_store_error (s_store), "wrong size"));
    //  A damaged manifest (sizes that would ask for terabytes included).
    freeReplyObject (redisCommand (ctx, "HSET maas:dataset:{c} rows 99999999999"));
    ck_assert_ptr_null (maas_dataset_store_get (s_store, "c"));
    ck_assert_ptr_nonnull (strstr (maas_dataset_store_error (s_store), "manifest"));
    freeReplyObject (redisCommand (ctx, "HSET maas:dataset:{c} rows abc"));
    maas_dataset_info_t info;
    ck_assert_int_eq (maas_dataset_store_info (s_store, "c", &info), -1);
    ck_assert_ptr_nonnull (strstr (maas_dataset_store_error (s_store), "damaged"));
    //  The wrong type under the key.
    freeReplyObject (redisCommand (ctx, "DEL maas:dataset:{c}"));
    freeReplyObject (redisCommand (ctx, "SET maas:dataset:{c} text"));
    ck_assert_ptr_null (maas_dataset_store_get (s_store, "c"));
    ck_assert_ptr_nonnull (strstr (maas_dataset_store_error (s_store), "WRONGTYPE"));
    redisFree (ctx);
    maas_dataset_destroy (&a);
}
END_TEST

START_TEST (test_dead_redis_then_recovery)
{
    maas_dataset_t *a = s_make (10, 2, 2, 0);
    ck_assert_int_eq (maas_dataset_store_put (s_store, "d", a), 0);
    support_redis_kill (s_redis);
    ck_assert_ptr_null (maas_dataset_store_get (s_store, "d"));
    ck_assert_ptr_nonnull (strstr (maas_dataset_store_error (s_store), "redis"));
    ck_assert_int_eq (maas_dataset_store_put (s_store, "d", a), -1);
    ck_assert_ptr_null (maas_dataset_store_list (s_store));
    support_redis_restart (s_redis);
    //  No persistence: the data set is gone, but the store works again.
    ck_assert_int_eq (maas_dataset_store_put (s_store, "d", a), 0);
    maas_dataset_t *got = maas_dataset_store_get (s_store, "d");
    ck_assert_ptr_nonnull (got);
    maas_dataset_destroy (&got);
    maas_dataset_destroy (&a);
    maas_err_t err;
    ck_assert_ptr_null (maas_dataset_store_new ("unix:///nonexistent/redis.sock", NULL, &err));
    ck_assert_ptr_nonnull (strstr (err.text, "nonexistent"));
}
END_TEST

//  REPLY's field/value pairs, then FIELD (FIELD_LEN bytes, NULs allowed)
//  and VALUE once more, as a new reply read back through hiredis's own
//  parser (the caller frees it).
static redisReply *
s_reply_with_n (const redisReply *reply, const char *field, size_t field_len, const char *value)
{
    char *resp = NULL;
    size_t size = 0;
    FILE *out = open_memstream (&resp, &size);
    ck_assert_ptr_nonnull (out);
    fprintf (out, "*%zu\r\n", reply->elements + 2);
    for (size_t i = 0; i < reply->elements; i++)
        fprintf (out, "$%zu\r\n%s\r\n", reply->element[i]->len, reply->element[i]->str);
    fprintf (out, "$%zu\r\n", field_len);
    fwrite (field, 1, field_len, out);
    fprintf (out, "\r\n$%zu\r\n%s\r\n", strlen (value), value);
    fclose (out);
    redisReader *reader = redisReaderCreate ();
    ck_assert_int_eq (redisReaderFeed (reader, resp, size), REDIS_OK);
    void *copy = NULL;
    ck_assert_int_eq (redisReaderGetReply (reader, &copy), REDIS_OK);
    ck_assert_ptr_nonnull (copy);
    redisReaderFree (reader);
    free (resp);
    return copy;
}

static redisReply *
s_reply_with (const redisReply *reply, const char *field, const char *value)
{
    return s_reply_with_n (reply, field, strlen (field), value);
}

//  A manifest reply that repeats a field (label twice) is refused, naming
//  the field; before, the first label was strdup'ed over and leaked.
START_TEST (test_manifest_repeating_a_field)
{
    maas_dataset_t *a = s_make (10, 2, 2, 0);
    ck_assert_int_eq (maas_dataset_store_put (s_store, "twice", a), 0);
    redisContext *ctx = s_raw ();
    redisReply *reply = redisCommand (ctx, "HGETALL maas:dataset:{twice}");
    ck_assert_ptr_nonnull (reply);
    maas_dataset_info_t info;
    maas_err_t err;
    ck_assert_int_eq (maas_dataset_manifest_parse ("twice", reply, &info, &err), 0);
    ck_assert_str_eq (info.label, "label");
    maas_dataset_info_clear (&info);
    redisReply *twice = s_reply_with (reply, "label", "other");
    ck_assert_int_eq (maas_dataset_manifest_parse ("twice", twice, &info, &err), -1);
    ck_assert_msg (strstr (err.text, "field 'label' given twice"), "%s", err.text);
    maas_dataset_info_clear (&info);
    freeReplyObject (twice);
    twice = s_reply_with (reply, "rows", "10");
    ck_assert_int_eq (maas_dataset_manifest_parse ("twice", twice, &info, &err), -1);
    ck_assert_msg (strstr (err.text, "field 'rows' given twice"), "%s", err.text);
    maas_dataset_info_clear (&info);
    freeReplyObject (twice);
    //  A field whose name holds a NUL ("label\0x", a different field to
    //  Redis) is no field of ours: passed over, not taken as a second
    //  label (fuzz_manifest found that leak).
    twice = s_reply_with_n (reply, "label\0x", 7, "other");
    ck_assert_int_eq (maas_dataset_manifest_parse ("twice", twice, &info, &err), 0);
    ck_assert_str_eq (info.label, "label");
    maas_dataset_info_clear (&info);
    freeReplyObject (twice);
    freeReplyObject (reply);
    redisFree (ctx);
    maas_dataset_destroy (&a);
}
END_TEST

//  A normal restart (SIGTERM, the same server again with its AOF) between
//  two calls on one store: the next call reconnects instead of failing
//  with "Broken pipe" on the connection the old server closed.
START_TEST (test_redis_restart_between_calls)
{
    support_redis_t *redis = support_redis_start_aof ();
    maas_dataset_store_t *store = maas_dataset_store_new (support_redis_url (redis), NULL, &s_err);
    ck_assert_msg (store, "%s", s_err.text);
    maas_dataset_t *a = s_make (10, 2, 2, 0);
    ck_assert_int_eq (maas_dataset_store_put (store, "kept", a), 0);
    support_redis_bounce (redis);
    maas_dataset_t *got = maas_dataset_store_get (store, "kept");
    ck_assert_msg (got, "%s", maas_dataset_store_error (store));
    s_assert_same (a, got);
    maas_dataset_destroy (&got);
    support_redis_bounce (redis);
    ck_assert_msg (maas_dataset_store_put (store, "kept", a) == 0, "%s",
                   maas_dataset_store_error (store));
    maas_dataset_destroy (&a);
    maas_dataset_store_destroy (&store);
    support_redis_stop (&redis);
}
END_TEST

//  Reads a data set over and over until told to stop, keeping the first
//  failure (the test asserts in its own thread).
typedef struct {
    maas_dataset_store_t *store;
    volatile bool stop;
    size_t reads;
    char failure[512];
} s_reader_t;

static void *
s_read_until_stopped (void *arg)
{
    s_reader_t *reader = arg;
    while (!reader->stop && !reader->failure[0]) {
        maas_dataset_t *got = maas_dataset_store_get (reader->store, "kept");
        if (!got)
            snprintf (reader->failure, sizeof reader->failure, "read %zu: %s", reader->reads,
                      maas_dataset_store_error (reader->store));
        maas_dataset_destroy (&got);
        reader->reads++;
    }
    return NULL;
}

//  A link that was up rides out a restart: every read made while Redis is
//  stopped, started again and loading its AOF waits for it and succeeds
//  (before, the reads in that gap failed, and a trainer failed its job; the
//  broker retried it at once and the job ran out of attempts in the outage).
//  The restart is made from the test's own thread: a server dies with the
//  thread that started it (PR_SET_PDEATHSIG).
START_TEST (test_redis_outage_ridden_out)
{
    support_redis_t *redis = support_redis_start_aof ();
    s_reader_t reader = {.store = maas_dataset_store_new (support_redis_url (redis), NULL, &s_err)};
    ck_assert_msg (reader.store, "%s", s_err.text);
    maas_dataset_t *a = s_make (10, 2, 2, 0);
    ck_assert_int_eq (maas_dataset_store_put (reader.store, "kept", a), 0);
    pthread_t thread;
    ck_assert_int_eq (pthread_create (&thread, NULL, s_read_until_stopped, &reader), 0);
    support_redis_bounce (redis);
    usleep (200 * 1000);
    reader.stop = true;
    pthread_join (thread, NULL);
    ck_assert_msg (!reader.failure[0], "%s", reader.failure);
    ck_assert_uint_gt (reader.reads, 10);
    maas_dataset_destroy (&a);
    maas_dataset_store_destroy (&reader.store);
    support_redis_stop (&redis);
}
END_TEST

//  -- the maas binary

//  Run `maas ARGS... --redis URL` to completion; its exit code, and what it
//  printed (stdout and stderr) in *OUTPUT (the caller frees).
static int
s_maas (const char *const *args, char **output)
{
    char *maas = support_build_path ("client/maas");
    char *log = NULL;
    ck_assert (asprintf (&log, "%s/maas.log", support_redis_dir (s_redis)) > 0);
    unlink (log);
    const char *argv[16] = {maas};
    int argc = 1;
    while (*args && argc < 13)
        argv[argc++] = *args++;
    argv[argc++] = "--redis";
    argv[argc++] = support_redis_url (s_redis);
    support_proc_t *proc = support_proc_start (argv, NULL, log);
    int code = support_proc_wait (proc, 20000);
    support_proc_stop (&proc);
    FILE *file = fopen (log, "r");
    ck_assert_ptr_nonnull (file);
    *output = calloc (1, 1 << 16);
    ck_assert_uint_lt (fread (*output, 1, (1 << 16) - 1, file), 1 << 16);
    fclose (file);
    free (log);
    free (maas);
    return code;
}

START_TEST (test_cli_put_show_list_rm)
{
    char *digits = support_src_path ("data/digits_train.csv"), *out;
    const char *put[] = {"dataset", "put", "digits", digits, "--chunk-bytes", "4096", NULL};
    ck_assert_int_eq (s_maas (put, &out), 0);
    ck_assert_msg (strstr (out, "data set digits: 1437 rows × 64 features, multiclass"), "%s", out);
    free (out);
    //  What Redis holds is the file, bit for bit, in 4 KiB values.
    maas_dataset_t *file = maas_dataset_from_csv (digits, NULL, MAAS_DATASET_AUTO, &s_err);
    ck_assert_msg (file, "%s", s_err.text);
    maas_dataset_t *stored = maas_dataset_store_get (s_store, "digits");
    ck_assert_ptr_nonnull (stored);
    s_assert_same (file, stored);
    ck_assert_str_eq (maas_dataset_column (stored, 0), "pixel_0_0");
    const char *show[] = {"dataset", "show", "digits", NULL};
    ck_assert_int_eq (s_maas (show, &out), 0);
    ck_assert_ptr_nonnull (strstr (out, "multiclass (10 classes)"));
    ck_assert_ptr_nonnull (strstr (out, maas_dataset_sha256_hex (file)));
    ck_assert_ptr_nonnull (strstr (out, "chunks   92"));    //  367,872 + 5,748 bytes
    free (out);
    const char *list[] = {"dataset", "list", "--json", NULL};
    ck_assert_int_eq (s_maas (list, &out), 0);
    ck_assert_msg (strstr (out, "[{\"name\":\"digits\",\"rows\":1437,\"cols\":64,"), "%s", out);
    free (out);
    const char *rm[] = {"dataset", "rm", "digits", NULL};
    ck_assert_int_eq (s_maas (rm, &out), 0);
    free (out);
    ck_assert_int_eq (s_maas (show, &out), 1);
    ck_assert_ptr_nonnull (strstr (out, "data set 'digits' not found"));
    free (out);
    maas_dataset_destroy (&file);
    maas_dataset_destroy (&stored);
    free (digits);
}
END_TEST

START_TEST (test_cli_bad_csv_stores_nothing)
{
    char *path = NULL, *out;
    ck_assert (asprintf (&path, "%s/bad.csv", support_redis_dir (s_redis)) > 0);
    FILE *file = fopen (path, "w");
    fputs ("a,b,label\n1,2,0\n3,4x,1\n", file);
    fclose (file);
    const char *put[] = {"dataset", "put", "bad", path, NULL};
    ck_assert_int_eq (s_maas (put, &out), 1);
    ck_assert_msg (strstr (out, "bad.csv:3:2 '4x' is not a number"), "%s", out);
    free (out);
    ck_assert_int_eq (s_redis_int ("KEYS %s", "*"), 0);
    //  No header row: refused, not its first row taken as column names.
    file = fopen (path, "w");
    fputs ("1,2,0\n3,4,1\n", file);
    fclose (file);
    ck_assert_int_eq (s_maas (put, &out), 1);
    ck_assert_msg (strstr (out, "bad.csv: line 1 is all numbers, not column names"), "%s", out);
    free (out);
    ck_assert_int_eq (s_redis_int ("KEYS %s", "*"), 0);
    //  Labels that do not fit the task asked for.
    char *digits = support_src_path ("data/digits_test.csv");
    const char *binary[] = {"dataset", "put", "d", digits, "--task", "binary", NULL};
    ck_assert_int_eq (s_maas (binary, &out), 1);
    ck_assert_msg (strstr (out, "digits_test.csv: label at row 1 is 2: binary labels are 0 or 1"),
                   "%s", out);
    free (out);
    const char *label[] = {"dataset", "put", "d", digits, "--label", "nope", NULL};
    ck_assert_int_eq (s_maas (label, &out), 1);
    ck_assert_ptr_nonnull (strstr (out, "no label column 'nope'"));
    free (out);
    ck_assert_int_eq (s_redis_int ("KEYS %s", "*"), 0);
    const char *task[] = {"dataset", "put", "d", digits, "--task", "ranking", NULL};
    ck_assert_int_eq (s_maas (task, &out), 2);
    ck_assert_ptr_nonnull (strstr (out, "unknown task 'ranking'"));
    free (out);
    const char *flag[] = {"dataset", "list", "--colour", NULL};
    ck_assert_int_eq (s_maas (flag, &out), 2);
    free (out);
    free (digits);
    free (path);
}
END_TEST

//  Write TEXT to FILE in the Redis's directory; the path is the caller's.
static char *
s_write_csv (const char *file, const char *text)
{
    char *path = NULL;
    ck_assert (asprintf (&path, "%s/%s", support_redis_dir (s_redis), file) > 0);
    FILE *out = fopen (path, "w");
    ck_assert_ptr_nonnull (out);
    fputs (text, out);
    fclose (out);
    return path;
}

//  `maas dataset ARGS` exits CODE saying EXPECTED (stdout and stderr).
static void
s_maas_says (const char *const *args, int code, const char *expected)
{
    char *out;
    int got = s_maas (args, &out);
    ck_assert_msg (got == code && strstr (out, expected), "exit %d, wanted %d '%s': %s", got, code,
                   expected, out);
    free (out);
}

//  "unchanged" only when the stored data set is what would be stored: the
//  same numbers under another task, label, column or class names are
//  refused naming what differs, and --force replaces them.
START_TEST (test_cli_put_same_numbers_other_names)
{
    char *path = s_write_csv ("d.csv", "a,b,label\n1,2,0\n3,4,1\n");
    const char *put[] = {"dataset", "put", "d", path, NULL};
    s_maas_says (put, 0, "data set d: 2 rows × 2 features, binary");
    s_maas_says (put, 0, "data set d unchanged: 2 rows × 2 features, binary");
    const char *regress[] = {"dataset", "put", "d", path, "--task", "regression", NULL};
    s_maas_says (regress, 1,
                 "): same numbers, other task binary (this file: regression): give --force");
    const char *show[] = {"dataset", "show", "d", NULL};
    s_maas_says (show, 0, "task     binary (2 classes)");
    const char *force[] = {"dataset", "put", "d", path, "--task", "regression", "--force", NULL};
    s_maas_says (force, 0, "data set d: 2 rows × 2 features, regression");
    s_maas_says (show, 0, "task     regression\n");
    s_maas_says (regress, 0, "data set d unchanged: 2 rows × 2 features, regression");
    //  A renamed header, the same numbers.
    free (s_write_csv ("d.csv", "a,B,y\n1,2,0\n3,4,1\n"));
    s_maas_says (regress, 1,
                 "same numbers, other label column 'label' (this file: 'y'); column 2 'b' "
                 "(this file: 'B'): give --force");
    s_maas_says (show, 0, "columns  a, b\n");
    s_maas_says (force, 0, "data set d: 2 rows");
    s_maas_says (show, 0, "label    y\n");
    s_maas_says (show, 0, "columns  a, B\n");
    //  Labels that are names number the classes 0, 1 as before: other
    //  class names.
    free (s_write_csv ("d.csv", "a,B,y\n1,2,no\n3,4,yes\n"));
    const char *named[] = {"dataset", "put", "d", path, "--force", NULL};
    s_maas_says (named, 0, "data set d: 2 rows × 2 features, binary");
    s_maas_says (put, 0, "data set d unchanged");
    free (s_write_csv ("d.csv", "a,B,y\n1,2,0\n3,4,1\n"));
    s_maas_says (put, 1, "same numbers, other class names (this file: none, numbered)");
    free (path);
}
END_TEST

//  A header that names a column twice is refused before Redis is touched:
//  a model trained on it could not match its inputs by name.
START_TEST (test_cli_put_repeated_column)
{
    char *path = s_write_csv ("twice.csv", "a,b,a,label\n1,2,3,0\n4,5,6,1\n");
    const char *put[] = {"dataset", "put", "twice", path, NULL};
    s_maas_says (put, 1,
                 "twice.csv: the header names column 'a' twice (columns 1 and 3): rename one");
    ck_assert_int_eq (s_redis_int ("KEYS %s", "*"), 0);
    free (path);
}
END_TEST

static Suite *
s_suite (void)
{
    Suite *suite = suite_create ("dataset");
    TCase *memory = tcase_create ("memory");
    tcase_add_test (memory, test_task_inference);
    tcase_add_test (memory, test_sha256_identifies_content);
    tcase_add_test (memory, test_rejects_labels_that_do_not_fit);
    suite_add_tcase (suite, memory);
    TCase *store = tcase_create ("store");
    tcase_add_checked_fixture (store, s_redis_up, s_redis_down);
    tcase_set_timeout (store, 60);
    tcase_add_test (store, test_round_trip_in_chunks);
    tcase_add_test (store, test_replace_list_remove);
    tcase_add_test (store, test_readers_never_see_a_mix);
    tcase_add_test (store, test_failed_put_keeps_previous);
    suite_add_tcase (suite, store);
    TCase *errors = tcase_create ("errors");
    tcase_add_checked_fixture (errors, s_redis_up, s_redis_down);
    tcase_set_timeout (errors, 60);
    tcase_add_test (errors, test_bad_names);
    tcase_add_test (errors, test_corruption_is_refused);
    tcase_add_test (errors, test_dead_redis_then_recovery);
    tcase_add_test (errors, test_redis_restart_between_calls);
    tcase_add_test (errors, test_redis_outage_ridden_out);
    tcase_add_test (errors, test_manifest_repeating_a_field);
    suite_add_tcase (suite, errors);
    TCase *cli = tcase_create ("cli");
    tcase_add_checked_fixture (cli, s_redis_up, s_redis_down);
    tcase_set_timeout (cli, 60);
    tcase_add_test (cli, test_cli_put_show_list_rm);
    tcase_add_test (cli, test_cli_bad_csv_stores_nothing);
    tcase_add_test (cli, test_cli_put_same_numbers_other_names);
    tcase_add_test (cli, test_cli_put_repeated_column);
    suite_add_tcase (suite, cli);
    return suite;
}

int
main (void)
{
    return support_run (s_suite ());
}
