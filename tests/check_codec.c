/*  check_codec.c: the msgpack codec: round trips of every packing helper,
 *  each malformed input rejected with its own message, and random bytes and
 *  truncations that must never crash (the suite runs under ASan in CI). */
#include "maas.h"

#include "support.h"

#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

//  A packer writing into an sbuffer, and an unpacked message read from it.
typedef struct {
    msgpack_sbuffer buffer;
    msgpack_packer pk;
    msgpack_unpacked msg;
    maas_codec_map_t map;
    maas_err_t err;
} fixture_t;

static void
s_open (fixture_t *f)
{
    memset (f, 0, sizeof *f);
    msgpack_sbuffer_init (&f->buffer);
    msgpack_packer_init (&f->pk, &f->buffer, msgpack_sbuffer_write);
    msgpack_unpacked_init (&f->msg);
}

static void
s_close (fixture_t *f)
{
    msgpack_unpacked_destroy (&f->msg);
    msgpack_sbuffer_destroy (&f->buffer);
}

//  Unpack what was packed and open it as a map named "header".
static void
s_read (fixture_t *f)
{
    int rc = maas_codec_unpack (f->buffer.data, f->buffer.size, 0, &f->msg, &f->err);
    ck_assert_msg (rc == 0, "unpack: %s", f->err.text);
    ck_assert_int_eq (maas_codec_map_init (&f->map, &f->msg.data, "header"), 0);
}

//  A header with one of each type.
static void
s_pack_header (fixture_t *f)
{
    const char *kinds[] = {"score", "train"};
    float values[6] = {1.5f, -2.25f, 0.0f, 3e-38f, 1e30f, -0.0f};
    maas_tensor_t input = maas_tensor_view (values, 2, 3);
    ck_assert_int_eq (msgpack_pack_map (&f->pk, 10), 0);
    ck_assert_int_eq (maas_codec_pack_kv_str (&f->pk, "id", "01J0ABC"), 0);
    ck_assert_int_eq (maas_codec_pack_kv_strn (&f->pk, "model", "iris-extra", 4), 0);
    ck_assert_int_eq (maas_codec_pack_kv_int (&f->pk, "priority", -7), 0);
    ck_assert_int_eq (maas_codec_pack_kv_uint (&f->pk, "deadline", UINT64_MAX), 0);
    ck_assert_int_eq (maas_codec_pack_kv_double (&f->pk, "lr", 0.001), 0);
    ck_assert_int_eq (maas_codec_pack_kv_bool (&f->pk, "durable", true), 0);
    ck_assert_int_eq (maas_codec_pack_kv_bin (&f->pk, "blob", "\0\1\2", 3), 0);
    ck_assert_int_eq (maas_codec_pack_kv_strings (&f->pk, "kinds", kinds, 2), 0);
    ck_assert_int_eq (maas_codec_pack_kv_tensor (&f->pk, "input", &input), 0);
    ck_assert_int_eq (maas_codec_pack_kv_int (&f->pk, "count", 12), 0);
}

//  A fixture holding s_pack_header's header, read back as a map.
static void
s_open_header (fixture_t *f)
{
    s_open (f);
    s_pack_header (f);
    s_read (f);
}

//  Somewhere for each getter to write what it reads.
typedef struct {
    int64_t i64;
    uint64_t u64;
    double d;
    bool b;
    const char *s;
    size_t n;
    const void *p;
    const msgpack_object *items;
    maas_codec_map_t inner;
} s_values_t;

//  ---------------------------------------------------------------------------
//  core: round trips

START_TEST (test_round_trip)
{
    fixture_t f;
    s_open_header (&f);
    ck_assert_uint_eq (maas_codec_map_size (&f.map), 10);
    const char *str;
    size_t len;
    ck_assert_int_eq (maas_codec_map_str (&f.map, "id", &str, &len), 0);
    ck_assert_uint_eq (len, 7);
    ck_assert (memcmp (str, "01J0ABC", 7) == 0);
    char model[8];
    ck_assert_int_eq (maas_codec_map_str_copy (&f.map, "model", model, sizeof model), 0);
    ck_assert_str_eq (model, "iris");
    int64_t priority;
    ck_assert_int_eq (maas_codec_map_int64 (&f.map, "priority", &priority), 0);
    ck_assert_int_eq (priority, -7);
    uint64_t deadline;
    ck_assert_int_eq (maas_codec_map_uint64 (&f.map, "deadline", &deadline), 0);
    ck_assert (deadline == UINT64_MAX);
    double lr, count;
    ck_assert_int_eq (maas_codec_map_double (&f.map, "lr", &lr), 0);
    ck_assert (lr == 0.001);
    ck_assert_int_eq (maas_codec_map_double (&f.map, "count", &count), 0);
    ck_assert (count == 12.0);
    bool durable = false;
    ck_assert_int_eq (maas_codec_map_bool (&f.map, "durable", &durable), 0);
    ck_assert (durable);
    const void *blob;
    size_t blob_size;
    ck_assert_int_eq (maas_codec_map_bin (&f.map, "blob", &blob, &blob_size), 0);
    ck_assert_uint_eq (blob_size, 3);
    ck_assert (memcmp (blob, "\0\1\2", 3) == 0);
    s_close (&f);
}
END_TEST

START_TEST (test_round_trip_strings_and_tensor)
{
    fixture_t f;
    s_open_header (&f);
    const msgpack_object *kinds;
    size_t n_kinds;
    ck_assert_int_eq (maas_codec_map_strings (&f.map, "kinds", &kinds, &n_kinds), 0);
    ck_assert_uint_eq (n_kinds, 2);
    ck_assert (kinds[1].via.str.size == 5 && memcmp (kinds[1].via.str.ptr, "train", 5) == 0);
    maas_tensor_t *input = NULL;
    ck_assert_int_eq (maas_codec_map_tensor (&f.map, "input", &input), 0);
    ck_assert_uint_eq (input->rows, 2);
    ck_assert_uint_eq (input->cols, 3);
    float expected[6] = {1.5f, -2.25f, 0.0f, 3e-38f, 1e30f, -0.0f};
    ck_assert (memcmp (input->data, expected, sizeof expected) == 0);
    //  Into an existing tensor of another shape: reshaped, same values.
    maas_tensor_t *dst = maas_tensor_new (1, 1);
    ck_assert_int_eq (maas_codec_map_tensor_into (&f.map, "input", dst), 0);
    ck_assert_uint_eq (dst->rows, 2);
    ck_assert (memcmp (dst->data, expected, sizeof expected) == 0);
    maas_tensor_destroy (&dst);
    //  A view borrows the little-endian bytes from the message.
    size_t rows, cols;
    const void *bytes;
    ck_assert_int_eq (maas_codec_map_tensor_view (&f.map, "input", &rows, &cols, &bytes), 0);
    ck_assert_uint_eq (rows * cols, 6);
    float first;
    maas_codec_f32_from_le (&first, bytes, 1);
    ck_assert (first == 1.5f);
    maas_tensor_destroy (&input);
    s_close (&f);
}
END_TEST

START_TEST (test_tensor_bytes_are_little_endian)
{
    fixture_t f;
    s_open (&f);
    float one = 1.0f;
    maas_tensor_t t = maas_tensor_view (&one, 1, 1);
    ck_assert_int_eq (maas_codec_pack_tensor (&f.pk, &t), 0);
    //  1.0f is 0x3f800000: little-endian bytes 00 00 80 3f end the message.
    const uint8_t *end = (const uint8_t *) f.buffer.data + f.buffer.size - 4;
    ck_assert (end[0] == 0 && end[1] == 0 && end[2] == 0x80 && end[3] == 0x3f);
    //  Decoding from an odd address works (memcpy, not a cast).
    char *shifted = malloc (f.buffer.size + 1);
    memcpy (shifted + 1, f.buffer.data, f.buffer.size);
    ck_assert_int_eq (maas_codec_unpack (shifted + 1, f.buffer.size, 0, &f.msg, &f.err), 0);
    msgpack_object_kv kv = {.key = {.type = MSGPACK_OBJECT_STR, .via.str = {1, "t"}},
                            .val = f.msg.data};
    msgpack_object map = {.type = MSGPACK_OBJECT_MAP, .via.map = {1, &kv}};
    ck_assert_int_eq (maas_codec_map_init (&f.map, &map, "payload"), 0);
    maas_tensor_t *out = NULL;
    ck_assert_int_eq (maas_codec_map_tensor (&f.map, "t", &out), 0);
    ck_assert (out->data[0] == 1.0f);
    maas_tensor_destroy (&out);
    free (shifted);
    s_close (&f);
}
END_TEST

START_TEST (test_unpacked_is_reusable)
{
    fixture_t f;
    s_open (&f);
    s_pack_header (&f);
    for (int i = 0; i < 3; i++) {
        ck_assert_int_eq (maas_codec_unpack (f.buffer.data, f.buffer.size, 0, &f.msg, &f.err), 0);
        ck_assert_int_eq (f.msg.data.type, MSGPACK_OBJECT_MAP);
    }
    s_close (&f);
}
END_TEST

START_TEST (test_find_without_error)
{
    fixture_t f;
    s_open_header (&f);
    ck_assert_ptr_nonnull (maas_codec_map_find (&f.map, "id"));
    ck_assert_ptr_null (maas_codec_map_find (&f.map, "i"));
    ck_assert_ptr_null (maas_codec_map_find (&f.map, "idx"));
    ck_assert_str_eq (f.map.err.text, "");
    s_close (&f);
}
END_TEST

//  ---------------------------------------------------------------------------
//  errors: each getter names the map, the key and what was wrong

START_TEST (test_missing_key)
{
    fixture_t f;
    s_open_header (&f);
    int64_t value;
    ck_assert_int_eq (maas_codec_map_int64 (&f.map, "nope", &value), -1);
    ck_assert_str_eq (f.map.err.text, "header: missing key 'nope'");
    maas_tensor_t *t = NULL;
    ck_assert_int_eq (maas_codec_map_tensor (&f.map, "weights", &t), -1);
    ck_assert_str_eq (f.map.err.text, "header: missing key 'weights'");
    ck_assert_ptr_null (t);
    s_close (&f);
}
END_TEST

START_TEST (test_wrong_types)
{
    fixture_t f;
    s_open_header (&f);
    s_values_t v;
    ck_assert_int_eq (maas_codec_map_int64 (&f.map, "id", &v.i64), -1);
    ck_assert_str_eq (f.map.err.text, "header: key 'id' must be an integer, got string");
    ck_assert_int_eq (maas_codec_map_int64 (&f.map, "lr", &v.i64), -1);
    ck_assert_str_eq (f.map.err.text, "header: key 'lr' must be an integer, got float");
    ck_assert_int_eq (maas_codec_map_uint64 (&f.map, "durable", &v.u64), -1);
    ck_assert_str_eq (f.map.err.text,
                      "header: key 'durable' must be a non-negative integer, got boolean");
    ck_assert_int_eq (maas_codec_map_double (&f.map, "blob", &v.d), -1);
    ck_assert_str_eq (f.map.err.text, "header: key 'blob' must be a number, got binary");
    ck_assert_int_eq (maas_codec_map_bool (&f.map, "kinds", &v.b), -1);
    ck_assert_str_eq (f.map.err.text, "header: key 'kinds' must be a boolean, got array");
    ck_assert_int_eq (maas_codec_map_str (&f.map, "input", &v.s, &v.n), -1);
    ck_assert_str_eq (f.map.err.text, "header: key 'input' must be a string, got map");
    ck_assert_int_eq (maas_codec_map_bin (&f.map, "id", &v.p, &v.n), -1);
    ck_assert_str_eq (f.map.err.text, "header: key 'id' must be binary, got string");
    ck_assert_int_eq (maas_codec_map_strings (&f.map, "id", &v.items, &v.n), -1);
    ck_assert_str_eq (f.map.err.text, "header: key 'id' must be an array of strings, got string");
    ck_assert_int_eq (maas_codec_map_map (&f.map, "count", &v.inner), -1);
    ck_assert_str_eq (f.map.err.text, "header: key 'count' must be a map, got integer");
    s_close (&f);
}
END_TEST

START_TEST (test_integer_ranges)
{
    fixture_t f;
    s_open_header (&f);
    s_values_t v;
    ck_assert_int_eq (maas_codec_map_int64 (&f.map, "deadline", &v.i64), -1);
    ck_assert_str_eq (f.map.err.text,
                      "header: key 'deadline' must fit a signed 64-bit integer, "
                      "got 18446744073709551615");
    ck_assert_int_eq (maas_codec_map_uint64 (&f.map, "priority", &v.u64), -1);
    ck_assert_str_eq (f.map.err.text,
                      "header: key 'priority' must be a non-negative integer, got -7");
    s_close (&f);
}
END_TEST

START_TEST (test_str_copy_limits)
{
    fixture_t f;
    s_open (&f);
    msgpack_pack_map (&f.pk, 2);
    maas_codec_pack_kv_str (&f.pk, "name", "a-long-model-name");
    maas_codec_pack_kv_strn (&f.pk, "nul", "ab\0cd", 5);
    s_read (&f);
    char small[8];
    ck_assert_int_eq (maas_codec_map_str_copy (&f.map, "name", small, sizeof small), -1);
    ck_assert_str_eq (f.map.err.text, "header: key 'name' is too long: 17 bytes, at most 7");
    ck_assert_int_eq (maas_codec_map_str_copy (&f.map, "nul", small, sizeof small), -1);
    ck_assert_str_eq (f.map.err.text, "header: key 'nul' must not contain a NUL byte");
    s_close (&f);
}
END_TEST

START_TEST (test_strings_item_type)
{
    fixture_t f;
    s_open (&f);
    msgpack_pack_map (&f.pk, 1);
    maas_codec_pack_str (&f.pk, "kinds");
    msgpack_pack_array (&f.pk, 3);
    maas_codec_pack_str (&f.pk, "score");
    maas_codec_pack_str (&f.pk, "train");
    msgpack_pack_int (&f.pk, 4);
    s_read (&f);
    const msgpack_object *items;
    size_t n;
    ck_assert_int_eq (maas_codec_map_strings (&f.map, "kinds", &items, &n), -1);
    ck_assert_str_eq (f.map.err.text, "header: key 'kinds' item 2 must be a string, got integer");
    s_close (&f);
}
END_TEST

START_TEST (test_not_a_map)
{
    fixture_t f;
    s_open (&f);
    msgpack_pack_array (&f.pk, 0);
    ck_assert_int_eq (maas_codec_unpack (f.buffer.data, f.buffer.size, 0, &f.msg, &f.err), 0);
    ck_assert_int_eq (maas_codec_map_init (&f.map, &f.msg.data, "header"), -1);
    ck_assert_str_eq (f.map.err.text, "header: expected a map, got array");
    ck_assert_int_eq (f.map.err.code, MAAS_ERR_INPUT);
    s_close (&f);
}
END_TEST

//  Pack {"x": <tensor map with the given parts>} and try to decode it.
static void
s_check_tensor_error (int dtype, size_t n_shape, const uint64_t *shape, size_t data_bytes, int code,
                      const char *expected)
{
    fixture_t f;
    s_open (&f);
    msgpack_pack_map (&f.pk, 1);
    maas_codec_pack_str (&f.pk, "x");
    msgpack_pack_map (&f.pk, 3);
    if (dtype == 1)
        maas_codec_pack_kv_str (&f.pk, "dtype", "f64");
    else if (dtype == 2)
        maas_codec_pack_kv_int (&f.pk, "dtype", 32);
    else
        maas_codec_pack_kv_str (&f.pk, "dtype", "f32");
    maas_codec_pack_str (&f.pk, "shape");
    msgpack_pack_array (&f.pk, n_shape);
    for (size_t i = 0; i < n_shape; i++)
        msgpack_pack_uint64 (&f.pk, shape[i]);
    char *bytes = calloc (1, data_bytes + 1);
    maas_codec_pack_kv_bin (&f.pk, "data", bytes, data_bytes);
    free (bytes);
    s_read (&f);
    maas_tensor_t *t = NULL;
    ck_assert_int_eq (maas_codec_map_tensor (&f.map, "x", &t), code);
    ck_assert_ptr_null (t);
    ck_assert_str_eq (f.map.err.text, expected);
    size_t rows, cols;
    const void *data;
    ck_assert_int_eq (maas_codec_map_tensor_view (&f.map, "x", &rows, &cols, &data), code);
    ck_assert_str_eq (f.map.err.text, expected);
    maas_tensor_t *dst = maas_tensor_new (2, 2);
    ck_assert_int_eq (maas_codec_map_tensor_into (&f.map, "x", dst), code);
    ck_assert_str_eq (f.map.err.text, expected);
    ck_assert_uint_eq (dst->rows, 2);
    maas_tensor_destroy (&dst);
    s_close (&f);
}

START_TEST (test_tensor_errors)
{
    uint64_t two_three[] = {2, 3};
    s_check_tensor_error (1, 2, two_three, 24, -1,
                          "header: key 'x': dtype must be 'f32', got 'f64'");
    s_check_tensor_error (2, 2, two_three, 24, -1,
                          "header: key 'x': key 'dtype' must be a string, got integer");
    s_check_tensor_error (0, 2, two_three, 20, -2,
                          "header: key 'x': data holds 20 bytes, shape [2, 3] needs 24");
    s_check_tensor_error (0, 3, (uint64_t[]){2, 3, 1}, 24, -1,
                          "header: key 'x': shape must be [rows, cols]");
    s_check_tensor_error (0, 2, (uint64_t[]){0, 3}, 0, -1,
                          "header: key 'x': shape must hold two positive integers");
    s_check_tensor_error (0, 2, (uint64_t[]){UINT64_MAX, 3}, 0, -2,
                          "header: key 'x': shape dimension 18446744073709551615 is over the "
                          "limit of 2147483648 elements");
    s_check_tensor_error (0, 2, (uint64_t[]){1u << 20, 1u << 20}, 4, -2,
                          "header: key 'x': shape [1048576, 1048576] is over the limit of "
                          "2147483648 elements");
    //  A large declared shape with few bytes is refused before allocating.
    s_check_tensor_error (0, 2, (uint64_t[]){1u << 15, 1u << 15}, 4, -2,
                          "header: key 'x': data holds 4 bytes, shape [32768, 32768] needs "
                          "4294967296");
}
END_TEST

START_TEST (test_excerpt_is_printable)
{
    char buf[12];
    ck_assert_str_eq (maas_codec_excerpt (buf, sizeof buf, "f\x01\n6", 4), "f??6");
    ck_assert_str_eq (maas_codec_excerpt (buf, sizeof buf, "abcdefghijklmnop", 16), "abcdefgh...");
    ck_assert_str_eq (maas_codec_excerpt (buf, sizeof buf, "", 0), "");
}
END_TEST

//  ---------------------------------------------------------------------------
//  limits: the unpacker refuses what is not exactly one sound message

static int
s_unpack (const void *data, size_t size, size_t limit, maas_err_t *err)
{
    msgpack_unpacked msg;
    msgpack_unpacked_init (&msg);
    int rc = maas_codec_unpack (data, size, limit, &msg, err);
    msgpack_unpacked_destroy (&msg);
    return rc;
}

START_TEST (test_unpack_errors)
{
    maas_err_t err;
    ck_assert_int_eq (s_unpack ("", 0, 0, &err), MAAS_CODEC_ETRUNCATED);
    ck_assert_str_eq (err.text, "truncated: empty message");
    ck_assert_int_eq (s_unpack ("\xc1", 1, 0, &err), MAAS_CODEC_EMALFORMED);
    ck_assert_str_eq (err.text, "not msgpack: invalid byte 0xc1 at offset 0");
    ck_assert_int_eq (s_unpack ("\x81\xa1x\xc1", 4, 0, &err), MAAS_CODEC_EMALFORMED);
    ck_assert_str_eq (err.text, "not msgpack: invalid byte 0xc1 at offset 3");
    ck_assert_int_eq (s_unpack ("\x01\x02\x03", 3, 0, &err), MAAS_CODEC_ETRAILING);
    ck_assert_str_eq (err.text, "2 trailing bytes after the message (which ends at byte 1)");
    ck_assert_int_eq (s_unpack ("\xa5"
                                "abc",
                                4, 0, &err),
                      MAAS_CODEC_ETRUNCATED);
    ck_assert_str_eq (err.text, "truncated: string at offset 0 needs 5 bytes, 3 left");
    ck_assert_int_eq (s_unpack ("\xcd\x01", 2, 0, &err), MAAS_CODEC_ETRUNCATED);
    ck_assert_str_eq (err.text, "truncated: integer at offset 0 needs 2 bytes, 1 left");
    ck_assert_int_eq (s_unpack ("\xc6\x00\x01", 3, 0, &err), MAAS_CODEC_ETRUNCATED);
    ck_assert_str_eq (err.text, "truncated: binary header at offset 0 needs 5 bytes, 3 left");
    ck_assert_int_eq (s_unpack ("\x92\x01", 2, 0, &err), MAAS_CODEC_ETRUNCATED);
    ck_assert_str_eq (err.text,
                      "truncated: container at offset 0 declares 2 items, only 1 bytes follow");
    ck_assert_int_eq (s_unpack ("\x01\x02", 2, 1, &err), MAAS_CODEC_ETOOBIG);
    ck_assert_str_eq (err.text, "message of 2 bytes is over the limit of 1 bytes");
    //  Bad bytes are bad input, whatever the codec code; NULL takes no message.
    ck_assert_int_eq (err.code, MAAS_ERR_INPUT);
    ck_assert_int_eq (s_unpack ("\xc1", 1, 0, NULL), MAAS_CODEC_EMALFORMED);
}
END_TEST

START_TEST (test_huge_declared_sizes)
{
    maas_err_t err;
    //  A 4-billion-item array, map and string in 5 bytes: refused without
    //  allocating for them.
    ck_assert_int_eq (s_unpack ("\xdd\xff\xff\xff\xff", 5, 0, &err), MAAS_CODEC_ETRUNCATED);
    ck_assert_str_eq (err.text,
                      "truncated: container at offset 0 declares 4294967295 items, "
                      "only 0 bytes follow");
    ck_assert_int_eq (s_unpack ("\xdf\xff\xff\xff\xff\x01\x02", 7, 0, &err), MAAS_CODEC_ETRUNCATED);
    ck_assert_str_eq (err.text,
                      "truncated: container at offset 0 declares 8589934590 items, "
                      "only 2 bytes follow");
    ck_assert_int_eq (s_unpack ("\xdb\xff\xff\xff\xff", 5, 0, &err), MAAS_CODEC_ETRUNCATED);
    ck_assert_str_eq (err.text, "truncated: string at offset 0 needs 4294967295 bytes, 0 left");
    //  Items nested in arrays count against the bytes left too.
    ck_assert_int_eq (s_unpack ("\x92\x92\x01\x01", 4, 0, &err), MAAS_CODEC_ETRUNCATED);
}
END_TEST

START_TEST (test_nesting_limit)
{
    maas_err_t err;
    uint8_t deep[64];
    for (size_t i = 0; i < sizeof deep - 1; i++)
        deep[i] = 0x91;    //  [[[[...]]]]
    deep[sizeof deep - 1] = 0x01;
    ck_assert_int_eq (s_unpack (deep, sizeof deep, 0, &err), MAAS_CODEC_EMALFORMED);
    ck_assert_str_eq (err.text, "malformed: nesting at offset 16 is deeper than 16 levels");
    //  Exactly the limit is fine.
    uint8_t ok[MAAS_CODEC_MAX_DEPTH + 1];
    memset (ok, 0x91, MAAS_CODEC_MAX_DEPTH);
    ok[MAAS_CODEC_MAX_DEPTH] = 0x01;
    ck_assert_int_eq (s_unpack (ok, sizeof ok, 0, &err), 0);
}
END_TEST

START_TEST (test_every_truncation)
{
    fixture_t f;
    s_open (&f);
    s_pack_header (&f);
    maas_err_t err;
    for (size_t len = 0; len < f.buffer.size; len++) {
        //  A private copy of exactly LEN bytes, so ASan sees any overread.
        char *copy = malloc (len ? len : 1);
        memcpy (copy, f.buffer.data, len);
        ck_assert_int_eq (s_unpack (copy, len, 0, &err), MAAS_CODEC_ETRUNCATED);
        ck_assert (strncmp (err.text, "truncated: ", 11) == 0);
        free (copy);
    }
    ck_assert_int_eq (s_unpack (f.buffer.data, f.buffer.size, 0, &err), 0);
    s_close (&f);
}
END_TEST

//  ---------------------------------------------------------------------------
//  fuzz: random input never crashes, and whatever unpacks can be read

//  Exercise every getter on every key of OBJ if it is a map.
static void
s_read_everything (const msgpack_object *obj)
{
    maas_codec_map_t map;
    if (maas_codec_map_init (&map, obj, "fuzz"))
        return;
    const char *keys[] = {"id",   "model", "priority", "deadline", "lr", "durable",
                          "blob", "kinds", "input",    "count",    "x"};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        s_values_t v;
        char buf[16];
        maas_tensor_t *t = NULL;
        maas_codec_map_int64 (&map, keys[i], &v.i64);
        maas_codec_map_uint64 (&map, keys[i], &v.u64);
        maas_codec_map_double (&map, keys[i], &v.d);
        maas_codec_map_bool (&map, keys[i], &v.b);
        maas_codec_map_str (&map, keys[i], &v.s, &v.n);
        maas_codec_map_str_copy (&map, keys[i], buf, sizeof buf);
        maas_codec_map_bin (&map, keys[i], &v.p, &v.n);
        maas_codec_map_strings (&map, keys[i], &v.items, &v.n);
        maas_codec_map_map (&map, keys[i], &v.inner);
        if (maas_codec_map_tensor (&map, keys[i], &t) == 0)
            maas_tensor_destroy (&t);
    }
}

static void
s_fuzz_one (const uint8_t *data, size_t size)
{
    char *copy = malloc (size ? size : 1);
    memcpy (copy, data, size);
    msgpack_unpacked msg;
    msgpack_unpacked_init (&msg);
    maas_err_t err;
    int rc = maas_codec_unpack (copy, size, 1 << 20, &msg, &err);
    ck_assert (rc <= 0 && rc >= MAAS_CODEC_ENOMEM);
    if (rc == 0)
        s_read_everything (&msg.data);
    else
        ck_assert (strlen (err.text) > 0);
    msgpack_unpacked_destroy (&msg);
    free (copy);
}

START_TEST (test_fuzz_random_bytes)
{
    maas_rng_t rng;
    maas_rng_seed (&rng, 2026);
    uint8_t data[96];
    for (int round = 0; round < 20000; round++) {
        size_t size = maas_rng_below (&rng, sizeof data + 1);
        for (size_t i = 0; i < size; i++)
            data[i] = (uint8_t) maas_rng_next (&rng);
        //  Bias half the rounds towards maps and containers so deeper paths run.
        if (size > 0 && round % 2)
            data[0] = 0x80 | (data[0] & 0x0f);
        s_fuzz_one (data, size);
    }
}
END_TEST

START_TEST (test_fuzz_mutations)
{
    fixture_t f;
    s_open (&f);
    s_pack_header (&f);
    maas_rng_t rng;
    maas_rng_seed (&rng, 7);
    uint8_t *data = malloc (f.buffer.size);
    for (int round = 0; round < 5000; round++) {
        memcpy (data, f.buffer.data, f.buffer.size);
        int flips = 1 + (int) maas_rng_below (&rng, 4);
        for (int k = 0; k < flips; k++)
            data[maas_rng_below (&rng, f.buffer.size)] = (uint8_t) maas_rng_next (&rng);
        size_t size = round % 3 ? f.buffer.size : maas_rng_below (&rng, f.buffer.size + 1);
        s_fuzz_one (data, size);
    }
    free (data);
    s_close (&f);
}
END_TEST

//  maas_codec_pack_rows: an array of rows, each an array of floats.
START_TEST (test_pack_rows)
{
    const float x[6] = {1, 2, 3, 4, 5, 6.5f};
    msgpack_sbuffer sbuf;
    msgpack_sbuffer_init (&sbuf);
    msgpack_packer pk;
    msgpack_packer_init (&pk, &sbuf, msgpack_sbuffer_write);
    ck_assert_int_eq (maas_codec_pack_rows (&pk, x, 2, 3), 0);
    msgpack_unpacked msg;
    msgpack_unpacked_init (&msg);
    maas_err_t err;
    ck_assert_int_eq (maas_codec_unpack (sbuf.data, sbuf.size, 0, &msg, &err), 0);
    ck_assert_uint_eq (msg.data.via.array.size, 2);
    const msgpack_object *row = &msg.data.via.array.ptr[1];
    ck_assert_int_eq (row->type, MSGPACK_OBJECT_ARRAY);
    ck_assert_uint_eq (row->via.array.size, 3);
    ck_assert_double_eq (row->via.array.ptr[2].via.f64, 6.5);
    msgpack_unpacked_destroy (&msg);
    msgpack_sbuffer_destroy (&sbuf);
}
END_TEST

static Suite *
s_suite (void)
{
    Suite *suite = suite_create ("codec");
    TCase *core = tcase_create ("core");
    tcase_add_test (core, test_round_trip);
    tcase_add_test (core, test_pack_rows);
    tcase_add_test (core, test_round_trip_strings_and_tensor);
    tcase_add_test (core, test_tensor_bytes_are_little_endian);
    tcase_add_test (core, test_unpacked_is_reusable);
    tcase_add_test (core, test_find_without_error);
    suite_add_tcase (suite, core);
    TCase *errors = tcase_create ("errors");
    tcase_add_test (errors, test_missing_key);
    tcase_add_test (errors, test_wrong_types);
    tcase_add_test (errors, test_integer_ranges);
    tcase_add_test (errors, test_str_copy_limits);
    tcase_add_test (errors, test_strings_item_type);
    tcase_add_test (errors, test_not_a_map);
    tcase_add_test (errors, test_tensor_errors);
    tcase_add_test (errors, test_excerpt_is_printable);
    suite_add_tcase (suite, errors);
    TCase *limits = tcase_create ("limits");
    tcase_add_test (limits, test_unpack_errors);
    tcase_add_test (limits, test_huge_declared_sizes);
    tcase_add_test (limits, test_nesting_limit);
    tcase_add_test (limits, test_every_truncation);
    suite_add_tcase (suite, limits);
    TCase *fuzz = tcase_create ("fuzz");
    tcase_add_test (fuzz, test_fuzz_random_bytes);
    tcase_add_test (fuzz, test_fuzz_mutations);
    suite_add_tcase (suite, fuzz);
    return suite;
}

int
main (void)
{
    return support_run (s_suite ());
}
