/*  codec.h: msgpack helpers every maas program shares: packing keys, values
 *  and tensors; unpacking a buffer with a size limit; reading maps by known
 *  key with typed getters that say exactly what was wrong. Never asserts on
 *  input: every decoder is bounds-checked and returns -1 with a message. */
#ifndef MAAS_CODEC_H
#define MAAS_CODEC_H

#include "err.h"
#include "export.h"

#include "tensor.h"

#include <msgpack.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

//  Deepest nesting of arrays/maps accepted (msgpack-c's parser allows 32).
#define MAAS_CODEC_MAX_DEPTH 16

//  maas_codec_unpack results: 0, or one of these (all negative).
#define MAAS_CODEC_EMALFORMED -1    //  not msgpack: invalid byte, too deep
#define MAAS_CODEC_ETRUNCATED -2    //  the buffer ends inside the message
#define MAAS_CODEC_ETRAILING  -3    //  bytes left after one complete message
#define MAAS_CODEC_ETOOBIG    -4    //  the buffer is over the caller's limit
#define MAAS_CODEC_ENOMEM     -5    //  out of memory

//  ---------------------------------------------------------------------------
//  Unpacking

//  Unpack exactly one msgpack message of SIZE bytes from DATA into RESULT
//  (msgpack_unpacked_init'ed by the caller; it may be reused across calls:
//  its zone is cleared and kept, so steady-state decoding does not malloc).
//  Strings and bins in RESULT point into DATA, which must outlive RESULT's
//  use. The buffer is validated first without allocating: every length must
//  fit in what follows, so a 5-byte message cannot declare a 4-billion-item
//  array and make the parser allocate for it; msgpack-c then allocates at
//  most ~24 bytes per byte of input. Returns 0, or a negative MAAS_CODEC_E*
//  with a message in ERR (may be NULL; code MAAS_ERR_INPUT, or
//  MAAS_ERR_NOMEM for MAAS_CODEC_ENOMEM): "truncated: string at offset 12
//  needs 40 bytes, 3 left". LIMIT is the largest SIZE accepted (0: no
//  limit). The caller frees RESULT with msgpack_unpacked_destroy.
MAAS_EXPORT int maas_codec_unpack (const void *data, size_t size, size_t limit,
                                   msgpack_unpacked *result, maas_err_t *err);

//  Check that DATA holds exactly one well-formed msgpack message, without
//  allocating; same results and messages as maas_codec_unpack (no limit).
MAAS_EXPORT int maas_codec_validate (const void *data, size_t size, maas_err_t *err);

//  A printable excerpt of untrusted bytes for a message, as many as fit in
//  SIZE - 4, anything outside printable ASCII as '?', "..." if cut. Returns BUF.
MAAS_EXPORT const char *maas_codec_excerpt (char *buf, size_t size, const char *str, size_t len);

//  Name of an object's type for messages: "nil", "boolean", "integer",
//  "float", "string", "binary", "array", "map", "extension".
MAAS_EXPORT const char *maas_codec_type_name (const msgpack_object *obj);

//  ---------------------------------------------------------------------------
//  Reading maps by known key. A reader is a small struct on the caller's
//  stack: lookups scan the map in place (no allocation); the first matching
//  key wins. Errors name the map ("header"), the key and what was wrong:
//  "header: key 'priority' must be an integer, got string",
//  "header: missing key 'id'".

typedef struct {
    const msgpack_object_map *map;    //  the map read (borrowed from an unpacked message)
    char what[64];                    //  names the map in errors: "header", "layer 2"
    maas_err_t err;                   //  why the last call failed (valid after a -1)
} maas_codec_map_t;

//  Start reading OBJ as a map named WHAT. Returns 0, or -1 if OBJ is not a
//  map ("header: expected a map, got array").
MAAS_EXPORT int maas_codec_map_init (maas_codec_map_t *self, const msgpack_object *obj,
                                     const char *what);
//  The value under KEY, or NULL if absent. Never writes an error.
MAAS_EXPORT const msgpack_object *maas_codec_map_find (const maas_codec_map_t *self,
                                                       const char *key);
//  Number of entries in the map.
MAAS_EXPORT size_t maas_codec_map_size (const maas_codec_map_t *self);

//  Typed getters: 0 and the value, or -1 with self->err set when KEY is
//  missing or holds another type. Strings and bins are borrowed from the
//  message (not NUL-terminated).
MAAS_EXPORT int maas_codec_map_str (maas_codec_map_t *self, const char *key, const char **str,
                                    size_t *len);
//  Copy a string into BUF as a C string; -1 also if it holds a NUL byte or
//  needs more than SIZE - 1 bytes.
MAAS_EXPORT int maas_codec_map_str_copy (maas_codec_map_t *self, const char *key, char *buf,
                                         size_t size);
MAAS_EXPORT int maas_codec_map_int64 (maas_codec_map_t *self, const char *key, int64_t *value);
MAAS_EXPORT int maas_codec_map_uint64 (maas_codec_map_t *self, const char *key, uint64_t *value);
//  Floats and integers are accepted (integers converted).
MAAS_EXPORT int maas_codec_map_double (maas_codec_map_t *self, const char *key, double *value);
MAAS_EXPORT int maas_codec_map_bool (maas_codec_map_t *self, const char *key, bool *value);
MAAS_EXPORT int maas_codec_map_bin (maas_codec_map_t *self, const char *key, const void **data,
                                    size_t *size);
//  An array whose items are all strings: ITEMS[i].via.str (borrowed).
MAAS_EXPORT int maas_codec_map_strings (maas_codec_map_t *self, const char *key,
                                        const msgpack_object **items, size_t *count);
//  A nested map under KEY, as a reader named "<what>: key '<key>'".
MAAS_EXPORT int maas_codec_map_map (maas_codec_map_t *self, const char *key,
                                    maas_codec_map_t *inner);

//  A tensor {"shape":[rows,cols],"dtype":"f32","data":<bin>}: checks the
//  dtype, rows, cols >= 1, rows * cols <= MAAS_TENSOR_MAX_ELEMS and that the
//  bin holds exactly rows * cols * 4 bytes, before allocating anything.
//  Each returns 0, -1 when the key is missing or a part has the wrong type,
//  or -2 when the parts are well-typed but their sizes do not fit (bytes vs
//  shape, shape over the limit); self->err says which.
//  _tensor returns a new tensor in *TENSOR_P (the caller destroys it);
//  _tensor_into reshapes DST (an owned tensor) and fills it.
MAAS_EXPORT int maas_codec_map_tensor (maas_codec_map_t *self, const char *key,
                                       maas_tensor_t **tensor_p);
MAAS_EXPORT int maas_codec_map_tensor_into (maas_codec_map_t *self, const char *key,
                                            maas_tensor_t *dst);
//  _tensor_view checks the same and only returns the shape and the
//  little-endian bytes (borrowed, unaligned; maas_codec_f32_from_le reads them).
MAAS_EXPORT int maas_codec_map_tensor_view (maas_codec_map_t *self, const char *key, size_t *rows,
                                            size_t *cols, const void **data);

//  ---------------------------------------------------------------------------
//  Packing. Each returns 0, or -1 if the packer's writer failed (out of
//  memory for an sbuffer). Maps and arrays are opened with msgpack_pack_map
//  and msgpack_pack_array; the _kv_ helpers write one key and its value.

MAAS_EXPORT int maas_codec_pack_str (msgpack_packer *pk, const char *str);
MAAS_EXPORT int maas_codec_pack_strn (msgpack_packer *pk, const char *str, size_t len);
MAAS_EXPORT int maas_codec_pack_bin (msgpack_packer *pk, const void *data, size_t size);
//  COUNT floats as a bin of little-endian float32 bytes.
MAAS_EXPORT int maas_codec_pack_f32 (msgpack_packer *pk, const float *data, size_t count);
//  ROWS × COLS floats of X as msgpack rows: an array of ROWS arrays of
//  COLS floats (the row form of infer and explain payloads).
MAAS_EXPORT int maas_codec_pack_rows (msgpack_packer *pk, const float *x, size_t rows, size_t cols);
//  A tensor as {"shape":[rows,cols],"dtype":"f32","data":<bin>}.
MAAS_EXPORT int maas_codec_pack_tensor (msgpack_packer *pk, const maas_tensor_t *tensor);

MAAS_EXPORT int maas_codec_pack_kv_str (msgpack_packer *pk, const char *key, const char *value);
MAAS_EXPORT int maas_codec_pack_kv_strn (msgpack_packer *pk, const char *key, const char *value,
                                         size_t len);
MAAS_EXPORT int maas_codec_pack_kv_int (msgpack_packer *pk, const char *key, int64_t value);
MAAS_EXPORT int maas_codec_pack_kv_uint (msgpack_packer *pk, const char *key, uint64_t value);
MAAS_EXPORT int maas_codec_pack_kv_double (msgpack_packer *pk, const char *key, double value);
MAAS_EXPORT int maas_codec_pack_kv_bool (msgpack_packer *pk, const char *key, bool value);
MAAS_EXPORT int maas_codec_pack_kv_bin (msgpack_packer *pk, const char *key, const void *data,
                                        size_t size);
MAAS_EXPORT int maas_codec_pack_kv_strings (msgpack_packer *pk, const char *key,
                                            const char *const *items, size_t count);
MAAS_EXPORT int maas_codec_pack_kv_tensor (msgpack_packer *pk, const char *key,
                                           const maas_tensor_t *tensor);

//  ---------------------------------------------------------------------------
//  Little-endian float32 bytes, whatever the host's byte order (memcpy, so
//  SRC and DST need no alignment).

MAAS_EXPORT void maas_codec_f32_from_le (float *dst, const void *src, size_t count);
MAAS_EXPORT void maas_codec_f32_to_le (void *dst, const float *src, size_t count);

#ifdef __cplusplus
}
#endif

#endif
