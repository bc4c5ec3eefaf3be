/*  err.c: setting, prefixing and copying maas_err_t. */
#include "err.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int
maas_err_vset (maas_err_t *self, maas_err_code_t code, const char *fmt, va_list args)
{
    if (!self)
        return -1;
    vsnprintf (self->text, sizeof self->text, fmt, args);
    self->code = code;
    return -1;
}

int
maas_err_set (maas_err_t *self, maas_err_code_t code, const char *fmt, ...)
{
    va_list args;
    va_start (args, fmt);
    maas_err_vset (self, code, fmt, args);
    va_end (args);
    return -1;
}

int
maas_err_prefix (maas_err_t *self, const char *fmt, ...)
{
    if (!self)
        return -1;
    char prefix[MAAS_ERR_TEXT_MAX], old[MAAS_ERR_TEXT_MAX];
    va_list args;
    va_start (args, fmt);
    vsnprintf (prefix, sizeof prefix, fmt, args);
    va_end (args);
    memcpy (old, self->text, sizeof old);
    size_t used = strlen (prefix);
    if (used + 2 >= sizeof self->text)
        return -1;    //  no room: keep the message as it was
    memcpy (self->text, prefix, used);
    memcpy (self->text + used, ": ", 2);
    used += 2;
    size_t rest = strnlen (old, sizeof self->text - used - 1);
    memcpy (self->text + used, old, rest);
    self->text[used + rest] = '\0';
    return -1;
}

int
maas_err_copy (maas_err_t *self, const maas_err_t *src)
{
    if (self && src && self != src)
        *self = *src;
    return -1;
}

int
maas_err_export (const maas_err_t *src, char *text, size_t size)
{
    if (text && size)
        snprintf (text, size, "%s", src ? src->text : "");
    return -1;
}

void
maas_err_clear (maas_err_t *self)
{
    if (self) {
        self->code = MAAS_ERR_OK;
        self->text[0] = '\0';
    }
}
