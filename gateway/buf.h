/*  buf.h: the gateway's growable byte buffer and its small JSON writer.
 *  Tensors are written here, never through jansson (whose %.17g prints 7.6
 *  as 7.5999999999999996): each float32 in the shortest text that reads back
 *  to the same float32. */
#ifndef GW_BUF_H
#define GW_BUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

//  Longest text gw_f32_format writes, with its NUL.
#define GW_F32_TEXT_MAX 32

typedef struct {
    char *data;     //  bytes, NUL-terminated when not empty; owned
    size_t size;    //  bytes used
    size_t cap;     //  bytes allocated
    bool failed;    //  an allocation failed: the content is incomplete
} gw_buf_t;

//  Empty buffer (no allocation until the first append).
void gw_buf_init (gw_buf_t *self);
//  Free the bytes; the buffer is empty again.
void gw_buf_clear (gw_buf_t *self);
//  Hand the bytes to the caller (free them) and leave the buffer empty.
char *gw_buf_take (gw_buf_t *self, size_t *size);
void gw_buf_append (gw_buf_t *self, const void *data, size_t size);
void gw_buf_puts (gw_buf_t *self, const char *text);
void gw_buf_printf (gw_buf_t *self, const char *fmt, ...) __attribute__ ((format (printf, 2, 3)));

//  VALUE as JSON: the shortest of %.6g..%.9g that strtof reads back to the
//  same bits, with ".0" added when it would read as an integer; NaN and
//  infinities as TF Serving writes them (NaN, Infinity, -Infinity).
//  Returns the length written into TEXT.
size_t gw_f32_format (float value, char text[GW_F32_TEXT_MAX]);
void gw_json_f32 (gw_buf_t *self, float value);
//  COUNT floats as a JSON array; ROW_SIZE > 0 nests them as rows of that size.
void gw_json_f32_array (gw_buf_t *self, const float *values, size_t count, size_t row_size);
//  TEXT as a quoted, escaped JSON string.
void gw_json_str (gw_buf_t *self, const char *text);

#endif
