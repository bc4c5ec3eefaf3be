/*  resp.c: the RESP builder. Each append reserves room for everything it
 *  writes (length line, bytes, CRLF) once, so an argument costs one
 *  capacity check and its copies, whatever its size. */
#include "resp.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#define S_CAP_MIN 4096    //  first allocation, bytes

struct _maas_resp_t {
    char *data;         //  bytes, owned
    size_t size;        //  bytes used
    size_t cap;         //  bytes allocated
    size_t commands;    //  _command calls since the last reset
    size_t args;        //  arguments since the last reset
    bool failed;        //  out of memory since the last reset
};

maas_resp_t *
maas_resp_new (void)
{
    return calloc (1, sizeof (maas_resp_t));
}

void
maas_resp_destroy (maas_resp_t **self_p)
{
    maas_resp_t *self = *self_p;
    if (!self)
        return;
    free (self->data);
    free (self);
    *self_p = NULL;
}

//  Room for SIZE more bytes and the NUL after them: where to write them,
//  or NULL (failed).
static char *
s_reserve (maas_resp_t *self, size_t size)
{
    if (self->failed)
        return NULL;
    if (size >= self->cap - self->size) {
        size_t cap = self->cap ? self->cap : S_CAP_MIN;
        while (cap - self->size <= size && cap <= SIZE_MAX / 2)
            cap *= 2;
        char *grown = cap - self->size > size ? realloc (self->data, cap) : NULL;
        if (!grown) {
            self->failed = true;
            return NULL;
        }
        self->data = grown;
        self->cap = cap;
    }
    char *at = self->data + self->size;
    self->size += size;
    self->data[self->size] = '\0';
    return at;
}

//  "<LEAD><N>\r\n" at AT, which has room for 24 bytes; returns its length.
static size_t
s_header (char *at, char lead, size_t n)
{
    char digits[24];
    size_t len = 0, used = 0;
    do
        digits[len++] = (char) ('0' + n % 10);
    while ((n /= 10) > 0);
    at[used++] = lead;
    while (len > 0)
        at[used++] = digits[--len];
    at[used++] = '\r';
    at[used++] = '\n';
    return used;
}

//  A header of LEAD and N, then room for SIZE bytes and a CRLF (none when
//  SIZE is SIZE_MAX: an array header). Returns where the SIZE bytes go.
static char *
s_open (maas_resp_t *self, char lead, size_t n, size_t size)
{
    if (size != SIZE_MAX && size > SIZE_MAX / 2) {    //  no memory holds it
        self->failed = true;
        return NULL;
    }
    size_t tail = size == SIZE_MAX ? 0 : size + 2;
    char *at = s_reserve (self, 24 + tail);
    if (!at)
        return NULL;
    size_t used = s_header (at, lead, n);
    self->size -= 24 - used;    //  give back what the header did not use
    self->data[self->size] = '\0';
    if (tail)
        memcpy (at + used + size, "\r\n", 2);
    return at + used;
}

void
maas_resp_command (maas_resp_t *self, size_t argc)
{
    assert (self);
    if (s_open (self, '*', argc, SIZE_MAX))
        self->commands++;
}

void
maas_resp_arg (maas_resp_t *self, const void *data, size_t size)
{
    assert (self);
    assert (data || size == 0);
    char *at = s_open (self, '$', size, size);
    if (!at)
        return;
    if (size)
        memcpy (at, data, size);
    self->args++;
}

void
maas_resp_str (maas_resp_t *self, const char *text)
{
    maas_resp_arg (self, text, strlen (text));
}

void
maas_resp_int (maas_resp_t *self, int64_t value)
{
    char text[24], *at = text + sizeof text;
    //  Negate in unsigned arithmetic: INT64_MIN has no positive twin.
    uint64_t magnitude = value < 0 ? 0 - (uint64_t) value : (uint64_t) value;
    do
        *--at = (char) ('0' + magnitude % 10);
    while ((magnitude /= 10) > 0);
    if (value < 0)
        *--at = '-';
    maas_resp_arg (self, at, (size_t) (text + sizeof text - at));
}

void
maas_resp_cat (maas_resp_t *self, const char *const *parts, size_t count)
{
    assert (self);
    size_t size = 0, lens[8];
    assert (count <= sizeof lens / sizeof lens[0]);
    for (size_t i = 0; i < count; i++)
        size += lens[i] = strlen (parts[i]);
    char *at = s_open (self, '$', size, size);
    if (!at)
        return;
    for (size_t i = 0; i < count; i++) {
        memcpy (at, parts[i], lens[i]);
        at += lens[i];
    }
    self->args++;
}

void
maas_resp_append (maas_resp_t *self, const maas_resp_t *from)
{
    assert (self && from);
    if (from->failed)
        self->failed = true;
    char *at = s_reserve (self, from->size);
    if (!at)
        return;
    if (from->size)
        memcpy (at, from->data, from->size);
    self->commands += from->commands;
    self->args += from->args;
}

void
maas_resp_raw (maas_resp_t *self, const void *data, size_t size)
{
    assert (self);
    char *at = s_reserve (self, size);
    if (at && size)
        memcpy (at, data, size);
}

const char *
maas_resp_data (const maas_resp_t *self)
{
    return self->data ? self->data : "";
}

size_t
maas_resp_size (const maas_resp_t *self)
{
    return self->size;
}

size_t
maas_resp_commands (const maas_resp_t *self)
{
    return self->commands;
}

size_t
maas_resp_args (const maas_resp_t *self)
{
    return self->args;
}

bool
maas_resp_failed (const maas_resp_t *self)
{
    return self->failed;
}

void
maas_resp_reset (maas_resp_t *self)
{
    self->size = self->commands = self->args = 0;
    self->failed = false;
    if (self->data)
        self->data[0] = '\0';
}
