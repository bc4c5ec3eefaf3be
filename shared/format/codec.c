/*  codec.c: msgpack helpers: a non-allocating validator that bounds what
 *  msgpack-c may allocate, the unpack wrapper, map readers with precise
 *  errors, packing helpers and little-endian float32 conversion. */
#include "codec.h"

#include <assert.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

//  ---------------------------------------------------------------------------
//  Validation: walk the bytes once, checking every length against what is
//  left, without building objects.

typedef enum { S_SCALAR, S_BYTES, S_ARRAY, S_MAP, S_INVALID } s_kind_t;

//  Layout of the formats 0xc0..0xdf: bytes of big-endian length, bytes of
//  fixed payload (added to the length for ext's type byte), and kind.
typedef struct {
    uint8_t len_bytes;    //  size of the length/count field
    uint8_t fixed;        //  payload bytes besides the length
    s_kind_t kind;        //  how to walk it
    const char *name;     //  for messages
} s_format_t;

static const s_format_t s_formats[32] = {
    {0, 0, S_SCALAR, "nil"},        {0, 0, S_INVALID, "0xc1"},     {0, 0, S_SCALAR, "boolean"},
    {0, 0, S_SCALAR, "boolean"},    {1, 0, S_BYTES, "binary"},     {2, 0, S_BYTES, "binary"},
    {4, 0, S_BYTES, "binary"},      {1, 1, S_BYTES, "extension"},  {2, 1, S_BYTES, "extension"},
    {4, 1, S_BYTES, "extension"},   {0, 4, S_SCALAR, "float"},     {0, 8, S_SCALAR, "float"},
    {0, 1, S_SCALAR, "integer"},    {0, 2, S_SCALAR, "integer"},   {0, 4, S_SCALAR, "integer"},
    {0, 8, S_SCALAR, "integer"},    {0, 1, S_SCALAR, "integer"},   {0, 2, S_SCALAR, "integer"},
    {0, 4, S_SCALAR, "integer"},    {0, 8, S_SCALAR, "integer"},   {0, 2, S_SCALAR, "extension"},
    {0, 3, S_SCALAR, "extension"},  {0, 5, S_SCALAR, "extension"}, {0, 9, S_SCALAR, "extension"},
    {0, 17, S_SCALAR, "extension"}, {1, 0, S_BYTES, "string"},     {2, 0, S_BYTES, "string"},
    {4, 0, S_BYTES, "string"},      {2, 0, S_ARRAY, "array"},      {4, 0, S_ARRAY, "array"},
    {2, 0, S_MAP, "map"},           {4, 0, S_MAP, "map"},
};

typedef struct {
    const uint8_t *data;    //  the message
    size_t size;            //  its bytes
    size_t off;             //  next byte to read
    maas_err_t *err;        //  where messages go, or NULL
} s_scan_t;

//  Write the message to scan->err; returns CODE (a MAAS_CODEC_E*).
static int s_scan_fail (s_scan_t *scan, int code, const char *fmt, ...)
    __attribute__ ((format (printf, 3, 4)));

static int
s_scan_fail (s_scan_t *scan, int code, const char *fmt, ...)
{
    va_list args;
    va_start (args, fmt);
    maas_err_vset (scan->err, code == MAAS_CODEC_ENOMEM ? MAAS_ERR_NOMEM : MAAS_ERR_INPUT, fmt,
                   args);
    va_end (args);
    return code;
}

static uint64_t
s_read_be (const uint8_t *p, size_t n)
{
    uint64_t value = 0;
    for (size_t i = 0; i < n; i++)
        value = value << 8 | p[i];
    return value;
}

//  The format of the lead byte B, folding the fix* ranges in.
static s_format_t
s_format_of (uint8_t b, uint64_t *fix_len)
{
    *fix_len = 0;
    if (b <= 0x7f || b >= 0xe0)
        return (s_format_t){0, 0, S_SCALAR, "integer"};
    if (b <= 0x8f) {
        *fix_len = b & 0x0f;
        return (s_format_t){0, 0, S_MAP, "map"};
    }
    if (b <= 0x9f) {
        *fix_len = b & 0x0f;
        return (s_format_t){0, 0, S_ARRAY, "array"};
    }
    if (b <= 0xbf) {
        *fix_len = b & 0x1f;
        return (s_format_t){0, 0, S_BYTES, "string"};
    }
    return s_formats[b - 0xc0];
}

//  Step over the item at scan->off; *CHILDREN is how many items follow
//  inside it (arrays: n, maps: 2n). Returns 0 or a MAAS_CODEC_E* code.
static int
s_scan_item (s_scan_t *scan, uint64_t *children)
{
    size_t start = scan->off;
    size_t left = scan->size - start;
    uint64_t length;
    s_format_t format = s_format_of (scan->data[start], &length);
    *children = 0;
    if (format.kind == S_INVALID)
        return s_scan_fail (scan, MAAS_CODEC_EMALFORMED,
                            "not msgpack: invalid byte 0xc1 at offset %zu", start);
    size_t head = 1 + (size_t) format.len_bytes;
    if (left < head)
        return s_scan_fail (scan, MAAS_CODEC_ETRUNCATED,
                            "truncated: %s header at offset %zu needs %zu bytes, %zu left",
                            format.name, start, head, left);
    if (format.len_bytes)
        length = s_read_be (scan->data + start + 1, format.len_bytes);
    if (format.kind == S_ARRAY || format.kind == S_MAP) {
        *children = format.kind == S_MAP ? 2 * length : length;
        scan->off += head;
        return 0;
    }
    uint64_t body = format.fixed + (format.kind == S_BYTES ? length : 0);
    if (body > left - head)
        return s_scan_fail (scan, MAAS_CODEC_ETRUNCATED,
                            "truncated: %s at offset %zu needs %" PRIu64 " bytes, %zu left",
                            format.name, start, body, left - head);
    scan->off += head + (size_t) body;
    return 0;
}

int
maas_codec_validate (const void *data, size_t size, maas_err_t *err)
{
    s_scan_t scan = {data, size, 0, err};
    uint64_t stack[MAAS_CODEC_MAX_DEPTH + 1];    //  items left per open level
    uint64_t pending = 1;                        //  items left over all levels
    size_t top = 0;
    stack[0] = 1;
    if (size == 0)
        return s_scan_fail (&scan, MAAS_CODEC_ETRUNCATED, "truncated: empty message");
    while (pending > 0) {
        while (stack[top] == 0)
            top--;
        if (scan.off == size)
            return s_scan_fail (&scan, MAAS_CODEC_ETRUNCATED,
                                "truncated: message ends at byte %zu with %" PRIu64
                                " items still to read",
                                size, pending);
        size_t start = scan.off;
        uint64_t children;
        int rc = s_scan_item (&scan, &children);
        if (rc)
            return rc;
        stack[top]--;
        pending--;
        if (children == 0)
            continue;
        //  Every item takes at least one byte: a count beyond what is left
        //  is a truncation (or a lie), refused before anything allocates.
        if (children + pending > size - scan.off)
            return s_scan_fail (&scan, MAAS_CODEC_ETRUNCATED,
                                "truncated: container at offset %zu declares %" PRIu64
                                " items, only %zu bytes follow",
                                start, children, size - scan.off);
        if (top == MAAS_CODEC_MAX_DEPTH)
            return s_scan_fail (&scan, MAAS_CODEC_EMALFORMED,
                                "malformed: nesting at offset %zu is deeper than %d levels", start,
                                MAAS_CODEC_MAX_DEPTH);
        stack[++top] = children;
        pending += children;
    }
    if (scan.off < size)
        return s_scan_fail (&scan, MAAS_CODEC_ETRAILING,
                            "%zu trailing bytes after the message (which ends at byte %zu)",
                            size - scan.off, scan.off);
    return 0;
}

int
maas_codec_unpack (const void *data, size_t size, size_t limit, msgpack_unpacked *result,
                   maas_err_t *err)
{
    assert (result);
    s_scan_t scan = {data, size, 0, err};
    if (limit && size > limit)
        return s_scan_fail (&scan, MAAS_CODEC_ETOOBIG,
                            "message of %zu bytes is over the limit of %zu bytes", size, limit);
    int rc = maas_codec_validate (data, size, err);
    if (rc)
        return rc;
    if (result->zone)
        msgpack_zone_clear (result->zone);
    else
        result->zone = msgpack_zone_new (MSGPACK_ZONE_CHUNK_SIZE);
    if (!result->zone)
        return s_scan_fail (&scan, MAAS_CODEC_ENOMEM, "out of memory unpacking %zu bytes", size);
    size_t off = 0;
    if (msgpack_unpack (data, size, &off, result->zone, &result->data) != MSGPACK_UNPACK_SUCCESS) {
        //  The bytes were validated, so only an allocation can fail here.
        memset (&result->data, 0, sizeof result->data);
        return s_scan_fail (&scan, MAAS_CODEC_ENOMEM, "out of memory unpacking %zu bytes", size);
    }
    return 0;
}

const char *
maas_codec_type_name (const msgpack_object *obj)
{
    switch (obj->type) {
        case MSGPACK_OBJECT_NIL: return "nil";
        case MSGPACK_OBJECT_BOOLEAN: return "boolean";
        case MSGPACK_OBJECT_POSITIVE_INTEGER:
        case MSGPACK_OBJECT_NEGATIVE_INTEGER: return "integer";
        case MSGPACK_OBJECT_FLOAT32:
        case MSGPACK_OBJECT_FLOAT64: return "float";
        case MSGPACK_OBJECT_STR: return "string";
        case MSGPACK_OBJECT_ARRAY: return "array";
        case MSGPACK_OBJECT_MAP: return "map";
        case MSGPACK_OBJECT_BIN: return "binary";
        case MSGPACK_OBJECT_EXT: return "extension";
    }
    return "unknown";
}

//  ---------------------------------------------------------------------------
//  Map readers

//  Write "<what>: <message>" to self->err; returns -1. Every map error is
//  bad input (a missing key, a wrong type), as is an excess size.
static int s_map_fail (maas_codec_map_t *self, const char *fmt, ...)
    __attribute__ ((format (printf, 2, 3)));

static int
s_map_fail (maas_codec_map_t *self, const char *fmt, ...)
{
    va_list args;
    va_start (args, fmt);
    maas_err_vset (&self->err, MAAS_ERR_INPUT, fmt, args);
    va_end (args);
    //  what is far shorter than err, so the prefix always fits.
    return maas_err_prefix (&self->err, "%s", self->what);
}

const char *
maas_codec_excerpt (char *buf, size_t buf_size, const char *str, size_t len)
{
    assert (buf && buf_size > 0);
    size_t n = 0;
    for (; n < len && n + 4 < buf_size; n++)
        buf[n] = (str[n] >= 0x20 && str[n] < 0x7f) ? str[n] : '?';
    if (n < len && n + 3 < buf_size) {
        memcpy (buf + n, "...", 3);
        n += 3;
    }
    buf[n] = 0;
    return buf;
}

int
maas_codec_map_init (maas_codec_map_t *self, const msgpack_object *obj, const char *what)
{
    assert (self && obj && what);
    self->map = NULL;
    maas_err_clear (&self->err);
    snprintf (self->what, sizeof self->what, "%s", what);
    if (obj->type != MSGPACK_OBJECT_MAP)
        return s_map_fail (self, "expected a map, got %s", maas_codec_type_name (obj));
    self->map = &obj->via.map;
    return 0;
}

const msgpack_object *
maas_codec_map_find (const maas_codec_map_t *self, const char *key)
{
    assert (self && self->map && key);
    size_t key_len = strlen (key);
    for (uint32_t i = 0; i < self->map->size; i++) {
        const msgpack_object *k = &self->map->ptr[i].key;
        if (k->type == MSGPACK_OBJECT_STR && k->via.str.size == key_len
            && memcmp (k->via.str.ptr, key, key_len) == 0)
            return &self->map->ptr[i].val;
    }
    return NULL;
}

size_t
maas_codec_map_size (const maas_codec_map_t *self)
{
    assert (self && self->map);
    return self->map->size;
}

//  The value under KEY, or NULL with "missing key" written.
static const msgpack_object *
s_get (maas_codec_map_t *self, const char *key)
{
    const msgpack_object *value = maas_codec_map_find (self, key);
    if (!value)
        s_map_fail (self, "missing key '%s'", key);
    return value;
}

static int
s_wrong_type (maas_codec_map_t *self, const char *key, const char *expected,
              const msgpack_object *value)
{
    return s_map_fail (self, "key '%s' must be %s, got %s", key, expected,
                       maas_codec_type_name (value));
}

int
maas_codec_map_str (maas_codec_map_t *self, const char *key, const char **str, size_t *len)
{
    const msgpack_object *value = s_get (self, key);
    if (!value)
        return -1;
    if (value->type != MSGPACK_OBJECT_STR)
        return s_wrong_type (self, key, "a string", value);
    *str = value->via.str.ptr;
    *len = value->via.str.size;
    return 0;
}

int
maas_codec_map_str_copy (maas_codec_map_t *self, const char *key, char *buf, size_t size)
{
    assert (buf && size > 0);
    const char *str;
    size_t len;
    if (maas_codec_map_str (self, key, &str, &len))
        return -1;
    if (len >= size)
        return s_map_fail (self, "key '%s' is too long: %zu bytes, at most %zu", key, len,
                           size - 1);
    if (memchr (str, 0, len))
        return s_map_fail (self, "key '%s' must not contain a NUL byte", key);
    memcpy (buf, str, len);
    buf[len] = 0;
    return 0;
}

int
maas_codec_map_int64 (maas_codec_map_t *self, const char *key, int64_t *value)
{
    const msgpack_object *obj = s_get (self, key);
    if (!obj)
        return -1;
    if (obj->type == MSGPACK_OBJECT_NEGATIVE_INTEGER) {
        *value = obj->via.i64;
        return 0;
    }
    if (obj->type != MSGPACK_OBJECT_POSITIVE_INTEGER)
        return s_wrong_type (self, key, "an integer", obj);
    if (obj->via.u64 > INT64_MAX)
        return s_map_fail (self, "key '%s' must fit a signed 64-bit integer, got %" PRIu64, key,
                           obj->via.u64);
    *value = (int64_t) obj->via.u64;
    return 0;
}

int
maas_codec_map_uint64 (maas_codec_map_t *self, const char *key, uint64_t *value)
{
    const msgpack_object *obj = s_get (self, key);
    if (!obj)
        return -1;
    if (obj->type == MSGPACK_OBJECT_NEGATIVE_INTEGER)
        return s_map_fail (self, "key '%s' must be a non-negative integer, got %" PRId64, key,
                           obj->via.i64);
    if (obj->type != MSGPACK_OBJECT_POSITIVE_INTEGER)
        return s_wrong_type (self, key, "a non-negative integer", obj);
    *value = obj->via.u64;
    return 0;
}

int
maas_codec_map_double (maas_codec_map_t *self, const char *key, double *value)
{
    const msgpack_object *obj = s_get (self, key);
    if (!obj)
        return -1;
    switch (obj->type) {
        case MSGPACK_OBJECT_FLOAT32:
        case MSGPACK_OBJECT_FLOAT64: *value = obj->via.f64; return 0;
        case MSGPACK_OBJECT_POSITIVE_INTEGER: *value = (double) obj->via.u64; return 0;
        case MSGPACK_OBJECT_NEGATIVE_INTEGER: *value = (double) obj->via.i64; return 0;
        default: return s_wrong_type (self, key, "a number", obj);
    }
}

int
maas_codec_map_bool (maas_codec_map_t *self, const char *key, bool *value)
{
    const msgpack_object *obj = s_get (self, key);
    if (!obj)
        return -1;
    if (obj->type != MSGPACK_OBJECT_BOOLEAN)
        return s_wrong_type (self, key, "a boolean", obj);
    *value = obj->via.boolean;
    return 0;
}

int
maas_codec_map_bin (maas_codec_map_t *self, const char *key, const void **data, size_t *size)
{
    const msgpack_object *obj = s_get (self, key);
    if (!obj)
        return -1;
    if (obj->type != MSGPACK_OBJECT_BIN)
        return s_wrong_type (self, key, "binary", obj);
    *data = obj->via.bin.ptr;
    *size = obj->via.bin.size;
    return 0;
}

int
maas_codec_map_strings (maas_codec_map_t *self, const char *key, const msgpack_object **items,
                        size_t *count)
{
    const msgpack_object *obj = s_get (self, key);
    if (!obj)
        return -1;
    if (obj->type != MSGPACK_OBJECT_ARRAY)
        return s_wrong_type (self, key, "an array of strings", obj);
    for (uint32_t i = 0; i < obj->via.array.size; i++)
        if (obj->via.array.ptr[i].type != MSGPACK_OBJECT_STR)
            return s_map_fail (self, "key '%s' item %" PRIu32 " must be a string, got %s", key, i,
                               maas_codec_type_name (&obj->via.array.ptr[i]));
    *items = obj->via.array.ptr;
    *count = obj->via.array.size;
    return 0;
}

int
maas_codec_map_map (maas_codec_map_t *self, const char *key, maas_codec_map_t *inner)
{
    const msgpack_object *obj = s_get (self, key);
    if (!obj)
        return -1;
    if (obj->type != MSGPACK_OBJECT_MAP)
        return s_wrong_type (self, key, "a map", obj);
    //  A name cut short still reads well enough in a message.
    char what[sizeof self->what];
    if (snprintf (what, sizeof what, "%s: key '%s'", self->what, key) >= (int) sizeof what)
        what[sizeof what - 1] = 0;
    return maas_codec_map_init (inner, obj, what);
}

//  ---------------------------------------------------------------------------
//  Tensors

//  Size mismatches return -2 (well-typed parts that do not fit together).
#define S_ESIZE(fail) ((fail) -1)

//  One positive dimension of a shape array.
static int
s_dimension (maas_codec_map_t *self, const msgpack_object *obj, size_t *dim)
{
    if (obj->type != MSGPACK_OBJECT_POSITIVE_INTEGER || obj->via.u64 == 0)
        return s_map_fail (self, "shape must hold two positive integers");
    if (obj->via.u64 > MAAS_TENSOR_MAX_ELEMS)
        return S_ESIZE (s_map_fail (self,
                                    "shape dimension %" PRIu64 " is over the limit of %zu elements",
                                    obj->via.u64, (size_t) MAAS_TENSOR_MAX_ELEMS));
    *dim = (size_t) obj->via.u64;
    return 0;
}

//  Check a tensor map and find its shape and bytes (borrowed), allocating
//  nothing. Errors are written to T (the tensor's own reader).
static int
s_tensor_parse (maas_codec_map_t *t, size_t *rows, size_t *cols, const void **data)
{
    const char *dtype;
    size_t dtype_len;
    char quoted[40];
    if (maas_codec_map_str (t, "dtype", &dtype, &dtype_len))
        return -1;
    if (dtype_len != 3 || memcmp (dtype, "f32", 3) != 0)
        return s_map_fail (t, "dtype must be 'f32', got '%s'",
                           maas_codec_excerpt (quoted, sizeof quoted, dtype, dtype_len));
    const msgpack_object *shape = s_get (t, "shape");
    if (!shape)
        return -1;
    if (shape->type != MSGPACK_OBJECT_ARRAY || shape->via.array.size != 2)
        return s_map_fail (t, "shape must be [rows, cols]");
    int rc = s_dimension (t, &shape->via.array.ptr[0], rows);
    if (rc == 0)
        rc = s_dimension (t, &shape->via.array.ptr[1], cols);
    if (rc)
        return rc;
    if (*rows > MAAS_TENSOR_MAX_ELEMS / *cols)
        return S_ESIZE (s_map_fail (t, "shape [%zu, %zu] is over the limit of %zu elements", *rows,
                                    *cols, (size_t) MAAS_TENSOR_MAX_ELEMS));
    size_t size;
    if (maas_codec_map_bin (t, "data", data, &size))
        return -1;
    if (size != *rows * *cols * sizeof (float))
        return S_ESIZE (s_map_fail (t, "data holds %zu bytes, shape [%zu, %zu] needs %zu", size,
                                    *rows, *cols, *rows * *cols * sizeof (float)));
    return 0;
}

//  Out of memory for the ROWS × COLS tensor under KEY. -1.
static int
s_no_tensor (maas_codec_map_t *self, const char *key, size_t rows, size_t cols)
{
    s_map_fail (self, "key '%s': out of memory for a %zu x %zu tensor", key, rows, cols);
    self->err.code = MAAS_ERR_NOMEM;
    return -1;
}

int
maas_codec_map_tensor_view (maas_codec_map_t *self, const char *key, size_t *rows, size_t *cols,
                            const void **data)
{
    maas_codec_map_t t;
    if (maas_codec_map_map (self, key, &t))
        return -1;
    int rc = s_tensor_parse (&t, rows, cols, data);
    if (rc)
        maas_err_copy (&self->err, &t.err);
    return rc;
}

int
maas_codec_map_tensor (maas_codec_map_t *self, const char *key, maas_tensor_t **tensor_p)
{
    assert (tensor_p);
    size_t rows, cols;
    const void *data;
    *tensor_p = NULL;
    int rc = maas_codec_map_tensor_view (self, key, &rows, &cols, &data);
    if (rc)
        return rc;
    maas_tensor_t *tensor = maas_tensor_new (rows, cols);
    if (!tensor)
        return s_no_tensor (self, key, rows, cols);
    maas_codec_f32_from_le (tensor->data, data, rows * cols);
    *tensor_p = tensor;
    return 0;
}

int
maas_codec_map_tensor_into (maas_codec_map_t *self, const char *key, maas_tensor_t *dst)
{
    assert (dst);
    size_t rows, cols;
    const void *data;
    int rc = maas_codec_map_tensor_view (self, key, &rows, &cols, &data);
    if (rc)
        return rc;
    if (maas_tensor_reshape (dst, rows, cols))
        return s_no_tensor (self, key, rows, cols);
    maas_codec_f32_from_le (dst->data, data, rows * cols);
    return 0;
}

//  ---------------------------------------------------------------------------
//  Packing

int
maas_codec_pack_strn (msgpack_packer *pk, const char *str, size_t len)
{
    if (len > UINT32_MAX)
        return -1;
    return msgpack_pack_str_with_body (pk, str, len);
}

int
maas_codec_pack_str (msgpack_packer *pk, const char *str)
{
    return maas_codec_pack_strn (pk, str, strlen (str));
}

int
maas_codec_pack_bin (msgpack_packer *pk, const void *data, size_t size)
{
    if (size > UINT32_MAX)
        return -1;
    return msgpack_pack_bin_with_body (pk, data, size);
}

int
maas_codec_pack_rows (msgpack_packer *pk, const float *x, size_t rows, size_t cols)
{
    int rc = msgpack_pack_array (pk, rows);
    for (size_t k = 0; k < rows * cols; k++)
        rc |= (k % cols == 0 ? msgpack_pack_array (pk, cols) : 0) | msgpack_pack_float (pk, x[k]);
    return rc ? -1 : 0;
}

int
maas_codec_pack_f32 (msgpack_packer *pk, const float *data, size_t count)
{
    if (count > UINT32_MAX / sizeof (float))
        return -1;
    if (msgpack_pack_bin (pk, count * sizeof (float)))
        return -1;
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    return msgpack_pack_bin_body (pk, data, count * sizeof (float));
#else
    uint8_t chunk[1024];
    for (size_t done = 0; done < count;) {
        size_t n = count - done < 256 ? count - done : 256;
        maas_codec_f32_to_le (chunk, data + done, n);
        if (msgpack_pack_bin_body (pk, chunk, n * sizeof (float)))
            return -1;
        done += n;
    }
    return 0;
#endif
}

int
maas_codec_pack_tensor (msgpack_packer *pk, const maas_tensor_t *tensor)
{
    int rc = msgpack_pack_map (pk, 3);
    rc |= maas_codec_pack_str (pk, "shape");
    rc |= msgpack_pack_array (pk, 2);
    rc |= msgpack_pack_uint64 (pk, tensor->rows);
    rc |= msgpack_pack_uint64 (pk, tensor->cols);
    rc |= maas_codec_pack_kv_str (pk, "dtype", "f32");
    rc |= maas_codec_pack_str (pk, "data");
    rc |= maas_codec_pack_f32 (pk, tensor->data, tensor->rows * tensor->cols);
    return rc ? -1 : 0;
}

int
maas_codec_pack_kv_str (msgpack_packer *pk, const char *key, const char *value)
{
    return maas_codec_pack_str (pk, key) || maas_codec_pack_str (pk, value) ? -1 : 0;
}

int
maas_codec_pack_kv_strn (msgpack_packer *pk, const char *key, const char *value, size_t len)
{
    return maas_codec_pack_str (pk, key) || maas_codec_pack_strn (pk, value, len) ? -1 : 0;
}

int
maas_codec_pack_kv_int (msgpack_packer *pk, const char *key, int64_t value)
{
    return maas_codec_pack_str (pk, key) || msgpack_pack_int64 (pk, value) ? -1 : 0;
}

int
maas_codec_pack_kv_uint (msgpack_packer *pk, const char *key, uint64_t value)
{
    return maas_codec_pack_str (pk, key) || msgpack_pack_uint64 (pk, value) ? -1 : 0;
}

int
maas_codec_pack_kv_double (msgpack_packer *pk, const char *key, double value)
{
    return maas_codec_pack_str (pk, key) || msgpack_pack_double (pk, value) ? -1 : 0;
}

int
maas_codec_pack_kv_bool (msgpack_packer *pk, const char *key, bool value)
{
    int rc = maas_codec_pack_str (pk, key);
    rc |= value ? msgpack_pack_true (pk) : msgpack_pack_false (pk);
    return rc ? -1 : 0;
}

int
maas_codec_pack_kv_bin (msgpack_packer *pk, const char *key, const void *data, size_t size)
{
    return maas_codec_pack_str (pk, key) || maas_codec_pack_bin (pk, data, size) ? -1 : 0;
}

int
maas_codec_pack_kv_strings (msgpack_packer *pk, const char *key, const char *const *items,
                            size_t count)
{
    if (count > UINT32_MAX || maas_codec_pack_str (pk, key) || msgpack_pack_array (pk, count))
        return -1;
    for (size_t i = 0; i < count; i++)
        if (maas_codec_pack_str (pk, items[i]))
            return -1;
    return 0;
}

int
maas_codec_pack_kv_tensor (msgpack_packer *pk, const char *key, const maas_tensor_t *tensor)
{
    return maas_codec_pack_str (pk, key) || maas_codec_pack_tensor (pk, tensor) ? -1 : 0;
}

//  ---------------------------------------------------------------------------
//  Byte order

void
maas_codec_f32_from_le (float *dst, const void *src, size_t count)
{
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    memcpy (dst, src, count * sizeof (float));
#else
    const uint8_t *p = src;
    for (size_t i = 0; i < count; i++, p += 4) {
        uint32_t bits =
            (uint32_t) p[0] | (uint32_t) p[1] << 8 | (uint32_t) p[2] << 16 | (uint32_t) p[3] << 24;
        memcpy (dst + i, &bits, sizeof bits);
    }
#endif
}

void
maas_codec_f32_to_le (void *dst, const float *src, size_t count)
{
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    memcpy (dst, src, count * sizeof (float));
#else
    uint8_t *p = dst;
    for (size_t i = 0; i < count; i++, p += 4) {
        uint32_t bits;
        memcpy (&bits, src + i, sizeof bits);
        p[0] = bits & 0xff;
        p[1] = bits >> 8 & 0xff;
        p[2] = bits >> 16 & 0xff;
        p[3] = bits >> 24;
    }
#endif
}
