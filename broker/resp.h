/*  resp.h: a RESP builder. Appends Redis commands (arrays of binary-safe
 *  bulk arguments) to a growing buffer, the bytes a Redis server reads;
 *  no I/O. The job store builds a turn's writes with it, then hands the
 *  bytes to its link (link.h) in as few sends as it can. */
#ifndef MAAS_BROKER_RESP_H
#define MAAS_BROKER_RESP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct _maas_resp_t maas_resp_t;

//  An empty buffer, or NULL (no memory).
maas_resp_t *maas_resp_new (void);
//  Free the buffer and NULL the pointer. Safe on NULL.
void maas_resp_destroy (maas_resp_t **self_p);

//  ---------------------------------------------------------------------------
//  Appending. None fails outright: out of memory marks the buffer failed
//  (_failed), its contents unusable, and later appends are ignored until
//  _reset. A command is _command (ARGC) followed by ARGC arguments; a
//  buffer may also hold bare arguments (a ZADD's score, member pairs
//  gathered over a turn) for _append into a command later.

//  "*ARGC\r\n": a command of ARGC arguments starts.
void maas_resp_command (maas_resp_t *self, size_t argc);
//  One bulk argument: SIZE bytes of DATA, any bytes ("\0", "\r\n").
void maas_resp_arg (maas_resp_t *self, const void *data, size_t size);
//  One argument: TEXT without its terminating NUL.
void maas_resp_str (maas_resp_t *self, const char *text);
//  One argument: VALUE in decimal ("-42").
void maas_resp_int (maas_resp_t *self, int64_t value);
//  One argument made of COUNT strings end to end (a key: prefix, name).
void maas_resp_cat (maas_resp_t *self, const char *const *parts, size_t count);
//  FROM's bytes, commands and arguments; FROM failed fails SELF.
void maas_resp_append (maas_resp_t *self, const maas_resp_t *from);
//  SIZE bytes already in RESP (a fixed command), counted as nothing.
void maas_resp_raw (maas_resp_t *self, const void *data, size_t size);

//  ---------------------------------------------------------------------------
//  What it holds

//  The bytes (borrowed, valid until the next append or _destroy) and
//  their count. A NUL follows them, uncounted: hiredis's parser reads one
//  byte past a formatted command.
const char *maas_resp_data (const maas_resp_t *self);
size_t maas_resp_size (const maas_resp_t *self);
//  _command calls, and arguments, since the last _reset (with _append's).
size_t maas_resp_commands (const maas_resp_t *self);
size_t maas_resp_args (const maas_resp_t *self);
//  true if an append ran out of memory since the last _reset.
bool maas_resp_failed (const maas_resp_t *self);
//  Empty it (keeping its memory for the next turn) and clear the failure.
void maas_resp_reset (maas_resp_t *self);

#endif
