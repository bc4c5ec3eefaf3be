/*  err.h: one error type for the library: a code and a fixed buffer with a
 *  message a user can act on, set printf-style (hiredis's err + errstr).
 *  Objects keep one as their sticky "why the last call failed". */
#ifndef MAAS_ERR_H
#define MAAS_ERR_H

#include "export.h"

#include <stdarg.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

//  Room for one message, terminator included; longer ones are cut.
#define MAAS_ERR_TEXT_MAX 512

typedef enum {
    MAAS_ERR_OK = 0,       //  no error: text is ""
    MAAS_ERR_IO,           //  a connection, file or child failed: refused, closed,
                           //  timed out, unreadable, not started
    MAAS_ERR_REPLY,        //  the server answered with an error
    MAAS_ERR_INPUT,        //  a bad argument, flag, name or stored value
    MAAS_ERR_NOT_FOUND,    //  what was asked for does not exist
    MAAS_ERR_NOMEM,        //  out of memory
} maas_err_code_t;

typedef struct {
    maas_err_code_t code;            //  what kind of failure
    char text[MAAS_ERR_TEXT_MAX];    //  why, for the user
} maas_err_t;

//  Set CODE and the message FMT... in SELF (NULL: nothing is set). Returns
//  -1, so a verb can `return maas_err_set (...)`.
MAAS_EXPORT int maas_err_set (maas_err_t *self, maas_err_code_t code, const char *fmt, ...)
    __attribute__ ((format (printf, 3, 4)));
//  Same with the arguments in ARGS, for a module's own wrapper that adds
//  context to every message (a reader's name, a file name). Returns -1.
MAAS_EXPORT int maas_err_vset (maas_err_t *self, maas_err_code_t code, const char *fmt,
                               va_list args) __attribute__ ((format (printf, 3, 0)));
//  Put "PREFIX: " before SELF's message (kept when it does not fit). -1.
MAAS_EXPORT int maas_err_prefix (maas_err_t *self, const char *fmt, ...)
    __attribute__ ((format (printf, 2, 3)));
//  Copy SRC into SELF (either may be NULL: nothing happens). Returns -1.
MAAS_EXPORT int maas_err_copy (maas_err_t *self, const maas_err_t *src);
//  Copy SRC's message into the plain buffer TEXT of SIZE bytes (for
//  functions that still take char *err, size_t err_size). Returns -1.
MAAS_EXPORT int maas_err_export (const maas_err_t *src, char *text, size_t size);
//  Back to MAAS_ERR_OK and "".
MAAS_EXPORT void maas_err_clear (maas_err_t *self);

#ifdef __cplusplus
}
#endif

#endif
