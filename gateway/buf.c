/*  buf.c: growable buffer and the JSON writer for tensors (see buf.h). */
#include "buf.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void
gw_buf_init (gw_buf_t *self)
{
    memset (self, 0, sizeof *self);
}

void
gw_buf_clear (gw_buf_t *self)
{
    free (self->data);
    gw_buf_init (self);
}

char *
gw_buf_take (gw_buf_t *self, size_t *size)
{
    char *data = self->data;
    if (size)
        *size = self->size;
    gw_buf_init (self);
    return data;
}

//  Room for NEED more bytes and a NUL; false (and FAILED set) if none.
static bool
s_reserve (gw_buf_t *self, size_t need)
{
    if (self->failed)
        return false;
    if (self->size + need + 1 <= self->cap)
        return true;
    size_t cap = self->cap ? self->cap : 256;
    while (cap < self->size + need + 1)
        cap *= 2;
    char *bigger = realloc (self->data, cap);
    if (!bigger) {
        self->failed = true;
        return false;
    }
    self->data = bigger;
    self->cap = cap;
    return true;
}

void
gw_buf_append (gw_buf_t *self, const void *data, size_t size)
{
    if (!s_reserve (self, size))
        return;
    memcpy (self->data + self->size, data, size);
    self->size += size;
    self->data[self->size] = 0;
}

void
gw_buf_puts (gw_buf_t *self, const char *text)
{
    gw_buf_append (self, text, strlen (text));
}

void
gw_buf_printf (gw_buf_t *self, const char *fmt, ...)
{
    va_list args;
    va_start (args, fmt);
    int need = vsnprintf (NULL, 0, fmt, args);
    va_end (args);
    if (need < 0 || !s_reserve (self, (size_t) need))
        return;
    va_start (args, fmt);
    vsnprintf (self->data + self->size, (size_t) need + 1, fmt, args);
    va_end (args);
    self->size += (size_t) need;
}

size_t
gw_f32_format (float value, char text[GW_F32_TEXT_MAX])
{
    if (isnan (value))
        return (size_t) snprintf (text, GW_F32_TEXT_MAX, "NaN");
    if (isinf (value))
        return (size_t) snprintf (text, GW_F32_TEXT_MAX, value < 0 ? "-Infinity" : "Infinity");
    int len = 0;
    for (int digits = 6; digits <= 9; digits++) {
        len = snprintf (text, GW_F32_TEXT_MAX, "%.*g", digits, (double) value);
        if (strtof (text, NULL) == value)
            break;
    }
    if (!strpbrk (text, ".en"))
        len += snprintf (text + len, GW_F32_TEXT_MAX - (size_t) len, ".0");
    return (size_t) len;
}

void
gw_json_f32 (gw_buf_t *self, float value)
{
    char text[GW_F32_TEXT_MAX];
    gw_buf_append (self, text, gw_f32_format (value, text));
}

void
gw_json_f32_array (gw_buf_t *self, const float *values, size_t count, size_t row_size)
{
    gw_buf_puts (self, "[");
    for (size_t i = 0; i < count; i++) {
        bool row_start = row_size && i % row_size == 0;
        if (i)
            gw_buf_puts (self, row_start ? "],[" : ",");
        else if (row_start)
            gw_buf_puts (self, "[");
        gw_json_f32 (self, values[i]);
    }
    gw_buf_puts (self, row_size && count ? "]]" : "]");
}

void
gw_json_str (gw_buf_t *self, const char *text)
{
    gw_buf_puts (self, "\"");
    for (const unsigned char *c = (const unsigned char *) text; *c; c++) {
        if (*c == '"' || *c == '\\')
            gw_buf_printf (self, "\\%c", *c);
        else if (*c < 0x20)
            gw_buf_printf (self, "\\u%04x", *c);
        else
            gw_buf_append (self, c, 1);
    }
    gw_buf_puts (self, "\"");
}
