/*  apikey.h: HTTP API keys (the gateway's `Authorization: Bearer TOKEN`),
 *  hashed at rest in a file of lines "NAME ROLES SALT_HEX HASH_HEX": salted
 *  BLAKE2b of the token, so the file never holds a usable secret. Roles
 *  are the CurveZMQ client roles (curve.h), one owner for both. A store is
 *  one thread's: it re-reads its file when the file changes
 *  (docs/security.md, "API keys"). */
#ifndef MAAS_APIKEY_H
#define MAAS_APIKEY_H

#include "err.h"
#include "export.h"

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct _maas_apikey_t maas_apikey_t;

#define MAAS_APIKEY_ENV         "MAAS_API_KEYS"    //  the key file, when no flag names it
#define MAAS_APIKEY_PREFIX      "maas_"            //  every token starts so (greppable)
#define MAAS_APIKEY_TOKEN_BYTES 32                 //  random bytes in a token
#define MAAS_APIKEY_TOKEN_SIZE  49                 //  "maas_" + 43 base64url + NUL
#define MAAS_APIKEY_NAME_MAX    64                 //  longest key name
#define MAAS_APIKEY_SALT_BYTES  16                 //  per-key salt (BLAKE2b key)
#define MAAS_APIKEY_HASH_BYTES  32                 //  BLAKE2b output
#define MAAS_APIKEY_CHECK_MS    250                //  refresh stats the file at most this often
#define MAAS_APIKEY_FILE_MAX    (4u << 20)         //  largest key file read

//  -- a loaded store

//  Read the key file PATH (copied). NULL with ERR naming the file and the
//  line of the first bad entry, or the reason it cannot be used: missing,
//  not a regular file, writable by group or others (anyone could add a key).
MAAS_EXPORT maas_apikey_t *maas_apikey_new (const char *path, maas_err_t *err);
MAAS_EXPORT void maas_apikey_destroy (maas_apikey_t **self_p);
//  Re-read the file now. 0 with the new keys; -1 with ERR and the previous
//  keys kept, except when the file is gone: then no key is valid (removing
//  the file revokes every key).
MAAS_EXPORT int maas_apikey_reload (maas_apikey_t *self, maas_err_t *err);
//  At most every MAAS_APIKEY_CHECK_MS (NOW_MS monotonic), stat the file and
//  reload it if its inode, size, mtime or ctime changed. 0: nothing new; 1:
//  reloaded; -1 with ERR as maas_apikey_reload fails (once per change of
//  the file, so a caller can log every -1).
MAAS_EXPORT int maas_apikey_refresh (maas_apikey_t *self, int64_t now_ms, maas_err_t *err);
//  Keys held.
MAAS_EXPORT size_t maas_apikey_count (const maas_apikey_t *self);
//  The rights (MAAS_CURVE_* bits, 0 for a key without a role) of the key
//  whose token is TOKEN, and its *NAME (borrowed until the next reload); -1
//  if no key has it. Compares with every key in constant time, so the time
//  taken says nothing about which key, or how much of one, matched.
MAAS_EXPORT int maas_apikey_lookup (const maas_apikey_t *self, const char *token,
                                    const char **name);

//  -- editing a key file (`maas keygen NAME --api FILE`)

//  Append a new key NAME with ROLES ("infer,train"; NULL, "" or "-": none)
//  to PATH (created mode 0600), written whole to PATH.new and renamed over
//  PATH, so a reader never sees half a file. TOKEN gets the new token: the
//  only copy, show it once. -1 with ERR: a bad name or role, NAME already
//  there, a malformed file, PATH.new present (another writer), unwritable.
MAAS_EXPORT int maas_apikey_add (const char *path, const char *name, const char *roles,
                                 char token[MAAS_APIKEY_TOKEN_SIZE], maas_err_t *err);
//  Remove key NAME from PATH, the same way. -1 with ERR (MAAS_ERR_NOT_FOUND
//  if PATH has no such key).
MAAS_EXPORT int maas_apikey_remove (const char *path, const char *name, maas_err_t *err);

#ifdef __cplusplus
}
#endif

#endif
