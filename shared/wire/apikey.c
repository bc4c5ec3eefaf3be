/*  apikey.c: the API key file (apikey.h): parse and check it, look up a
 *  token against salted BLAKE2b hashes in constant time, notice when the
 *  file changed, and add or remove a key by rewriting the file whole. */
#include "apikey.h"
#include "curve.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define S_HEADER "# maas API keys: NAME ROLES SALT HASH (maas keygen NAME --api FILE)\n"

typedef struct {
    char name[MAAS_APIKEY_NAME_MAX + 1];     //  who the key is for
    int rights;                              //  MAAS_CURVE_* bits
    uint8_t salt[MAAS_APIKEY_SALT_BYTES];    //  BLAKE2b key
    uint8_t hash[MAAS_APIKEY_HASH_BYTES];    //  BLAKE2b (token, salt)
} s_key_t;

//  What identifies a version of the file, to notice a change.
typedef struct {
    dev_t dev;                       //  device
    ino_t ino;                       //  inode (a rename gives a new one)
    off_t size;                      //  bytes
    struct timespec mtime, ctime;    //  last write, last change
    bool exists;                     //  false: stat failed
} s_stamp_t;

struct _maas_apikey_t {
    char *path;          //  the key file, owned
    s_key_t *keys;       //  COUNT keys, owned
    size_t count;        //  keys held
    s_stamp_t stamp;     //  the file as last read (or tried)
    int64_t check_at;    //  next stat, monotonic ms
};

//  -- parsing

static bool
s_name_ok (const char *name)
{
    size_t len = strlen (name);
    if (len == 0 || len > MAAS_APIKEY_NAME_MAX || name[0] == '.' || name[0] == '-')
        return false;
    return strspn (name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._@-")
        == len;
}

static int
s_hex (const char *text, uint8_t *out, size_t size)
{
    size_t len = 0;
    if (strlen (text) != size * 2
        || sodium_hex2bin (out, size, text, strlen (text), NULL, &len, NULL) != 0 || len != size)
        return -1;
    return 0;
}

//  One line "NAME ROLES SALT HASH" into KEY; -1 with ERR naming LINE_NO.
static int
s_parse_line (char *line, const char *path, int line_no, s_key_t *key, maas_err_t *err)
{
    char *words[5] = {NULL};
    int n = 0;
    for (char *save = NULL, *w = strtok_r (line, " \t\r", &save); w && n < 5;
         w = strtok_r (NULL, " \t\r", &save))
        words[n++] = w;
    if (n != 4)
        return maas_err_set (err, MAAS_ERR_INPUT,
                             "%s:%d: expected NAME ROLES SALT HASH, got %d words", path, line_no,
                             n);
    if (!s_name_ok (words[0]))
        return maas_err_set (err, MAAS_ERR_INPUT,
                             "%s:%d: key name '%.80s': use letters, digits, '.', '_', '@', '-' "
                             "(at most %d)",
                             path, line_no, words[0], MAAS_APIKEY_NAME_MAX);
    snprintf (key->name, sizeof key->name, "%s", words[0]);
    maas_err_t why;
    key->rights = strcmp (words[1], "-") == 0 ? 0 : maas_curve_rights_parse (words[1], &why);
    if (key->rights < 0)
        return maas_err_set (err, MAAS_ERR_INPUT, "%s:%d: %s", path, line_no, why.text);
    if (s_hex (words[2], key->salt, sizeof key->salt) != 0
        || s_hex (words[3], key->hash, sizeof key->hash) != 0)
        return maas_err_set (err, MAAS_ERR_INPUT,
                             "%s:%d: salt and hash must be %d and %d hex digits", path, line_no,
                             2 * MAAS_APIKEY_SALT_BYTES, 2 * MAAS_APIKEY_HASH_BYTES);
    return 0;
}

//  Every key of TEXT (modified) into *KEYS / *COUNT; -1 with ERR at the
//  first bad line or a name given twice.
static int
s_parse (char *text, const char *path, s_key_t **keys, size_t *count, maas_err_t *err)
{
    *keys = NULL;
    *count = 0;
    size_t room = 0;
    int line_no = 0;
    for (char *line = text, *next; line && *line; line = next) {
        next = strchr (line, '\n');
        if (next)
            *next++ = '\0';
        line_no++;
        if (line[strspn (line, " \t\r")] == '\0' || line[strspn (line, " \t")] == '#')
            continue;
        if (*count == room) {
            room = room ? room * 2 : 16;
            s_key_t *grown = realloc (*keys, room * sizeof **keys);
            if (!grown)
                return maas_err_set (err, MAAS_ERR_NOMEM, "%s: out of memory", path);
            *keys = grown;
        }
        s_key_t *key = &(*keys)[*count];
        if (s_parse_line (line, path, line_no, key, err) != 0)
            return -1;
        for (size_t i = 0; i < *count; i++)
            if (strcmp ((*keys)[i].name, key->name) == 0)
                return maas_err_set (err, MAAS_ERR_INPUT, "%s:%d: key '%s' given twice", path,
                                     line_no, key->name);
        (*count)++;
    }
    return 0;
}

//  -- the file

static void
s_stamp (const struct stat *st, s_stamp_t *stamp)
{
    *stamp = (s_stamp_t){.dev = st->st_dev,
                         .ino = st->st_ino,
                         .size = st->st_size,
                         .mtime = st->st_mtim,
                         .ctime = st->st_ctim,
                         .exists = true};
}

static bool
s_stamp_same (const s_stamp_t *a, const s_stamp_t *b)
{
    return a->exists == b->exists && a->dev == b->dev && a->ino == b->ino && a->size == b->size
        && a->mtime.tv_sec == b->mtime.tv_sec && a->mtime.tv_nsec == b->mtime.tv_nsec
        && a->ctime.tv_sec == b->ctime.tv_sec && a->ctime.tv_nsec == b->ctime.tv_nsec;
}

//  All of PATH into *TEXT (NUL-terminated, the caller frees), its stamp
//  into STAMP. -1 with ERR (errno kept: ENOENT for a missing file).
static int
s_read (const char *path, char **text, s_stamp_t *stamp, maas_err_t *err)
{
    *text = NULL;
    int fd = open (path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat (fd, &st) != 0) {
        int saved = errno;
        maas_err_set (err, MAAS_ERR_IO, "API key file %s: %s", path, strerror (saved));
        if (fd >= 0)
            close (fd);
        errno = saved;
        return -1;
    }
    s_stamp (&st, stamp);
    const char *why = !S_ISREG (st.st_mode)  ? "not a regular file"
        : (st.st_mode & (S_IWGRP | S_IWOTH)) ? "writable by group or others "
                                               "(anyone could add a key): chmod 600 it"
        : st.st_size > MAAS_APIKEY_FILE_MAX  ? "over 4 MiB"
                                             : NULL;
    *text = why ? NULL : malloc ((size_t) st.st_size + 1);
    ssize_t got = *text ? read (fd, *text, (size_t) st.st_size) : -1;
    close (fd);
    if (why || got < 0) {
        free (*text);
        *text = NULL;
        errno = EINVAL;
        return maas_err_set (err, MAAS_ERR_INPUT, "API key file %s: %s", path,
                             why ? why : "cannot read it");
    }
    (*text)[got] = '\0';
    return 0;
}

maas_apikey_t *
maas_apikey_new (const char *path, maas_err_t *err)
{
    if (sodium_init () < 0) {
        maas_err_set (err, MAAS_ERR_IO, "libsodium would not initialise");
        return NULL;
    }
    maas_apikey_t *self = calloc (1, sizeof *self);
    if (self)
        self->path = strdup (path ? path : "");
    if (!self || !self->path) {
        maas_err_set (err, MAAS_ERR_NOMEM, "out of memory");
        maas_apikey_destroy (&self);
        return NULL;
    }
    if (maas_apikey_reload (self, err) != 0)
        maas_apikey_destroy (&self);
    return self;
}

void
maas_apikey_destroy (maas_apikey_t **self_p)
{
    maas_apikey_t *self = *self_p;
    if (!self)
        return;
    if (self->keys)
        sodium_memzero (self->keys, self->count * sizeof *self->keys);
    free (self->keys);
    free (self->path);
    free (self);
    *self_p = NULL;
}

int
maas_apikey_reload (maas_apikey_t *self, maas_err_t *err)
{
    char *text;
    s_stamp_t stamp = {0};
    int rc = s_read (self->path, &text, &stamp, err);
    self->stamp = stamp;    //  tried: not again until the file changes
    if (rc != 0) {
        if (errno == ENOENT) {    //  the file removed: every key revoked
            free (self->keys);
            self->keys = NULL;
            self->count = 0;
        }
        return -1;
    }
    s_key_t *keys;
    size_t count;
    rc = s_parse (text, self->path, &keys, &count, err);
    free (text);
    if (rc != 0) {
        free (keys);
        return -1;
    }
    free (self->keys);
    self->keys = keys;
    self->count = count;
    return 0;
}

int
maas_apikey_refresh (maas_apikey_t *self, int64_t now_ms, maas_err_t *err)
{
    if (now_ms < self->check_at)
        return 0;
    self->check_at = now_ms + MAAS_APIKEY_CHECK_MS;
    struct stat st;
    s_stamp_t now = {0};
    if (stat (self->path, &st) == 0)
        s_stamp (&st, &now);
    if (s_stamp_same (&now, &self->stamp))
        return 0;
    return maas_apikey_reload (self, err) == 0 ? 1 : -1;
}

size_t
maas_apikey_count (const maas_apikey_t *self)
{
    return self->count;
}

int
maas_apikey_lookup (const maas_apikey_t *self, const char *token, const char **name)
{
    size_t len = token ? strlen (token) : 0;
    if (len != MAAS_APIKEY_TOKEN_SIZE - 1 || strncmp (token, MAAS_APIKEY_PREFIX, 5) != 0)
        return -1;
    //  No early exit: every key costs one hash, whichever matches.
    int found = -1;
    for (size_t i = 0; i < self->count; i++) {
        uint8_t hash[MAAS_APIKEY_HASH_BYTES];
        crypto_generichash (hash, sizeof hash, (const uint8_t *) token, len, self->keys[i].salt,
                            sizeof self->keys[i].salt);
        if (sodium_memcmp (hash, self->keys[i].hash, sizeof hash) == 0)
            found = (int) i;
    }
    if (found < 0)
        return -1;
    if (name)
        *name = self->keys[found].name;
    return self->keys[found].rights;
}

//  -- editing

//  TEXT (may be NULL) then EXTRA into PATH.new (0600, exclusive), renamed
//  over PATH.
static int
s_write (const char *path, const char *text, const char *extra, maas_err_t *err)
{
    char tmp[4096];
    if (snprintf (tmp, sizeof tmp, "%s.new", path) >= (int) sizeof tmp)
        return maas_err_set (err, MAAS_ERR_INPUT, "%s: path too long", path);
    int fd = open (tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0)
        return maas_err_set (err, MAAS_ERR_IO, "%s: %s%s", tmp, strerror (errno),
                             errno == EEXIST ? " (another maas keygen is writing it, or one "
                                               "stopped: remove it)"
                                             : "");
    const char *parts[] = {text ? text : S_HEADER, extra ? extra : ""};
    bool ok = true;
    for (size_t i = 0; i < 2 && ok; i++)
        ok = write (fd, parts[i], strlen (parts[i])) == (ssize_t) strlen (parts[i]);
    ok = ok && fsync (fd) == 0;
    ok = close (fd) == 0 && ok;
    if (!ok || rename (tmp, path) != 0) {
        int saved = errno;
        unlink (tmp);
        return maas_err_set (err, MAAS_ERR_IO, "%s: cannot write: %s", path, strerror (saved));
    }
    return 0;
}

//  PATH's text (NULL if the file does not exist yet) after checking every
//  line; *HAS gets whether key NAME is in it.
static int
s_load_for_edit (const char *path, const char *name, char **text, bool *has, maas_err_t *err)
{
    s_stamp_t stamp;
    *has = false;
    if (s_read (path, text, &stamp, err) != 0)
        return errno == ENOENT ? 0 : -1;
    char *copy = strdup (*text);
    s_key_t *keys = NULL;
    size_t count = 0;
    int rc = copy ? s_parse (copy, path, &keys, &count, err)
                  : maas_err_set (err, MAAS_ERR_NOMEM, "out of memory");
    for (size_t i = 0; rc == 0 && i < count; i++)
        *has = *has || strcmp (keys[i].name, name) == 0;
    free (keys);
    free (copy);
    if (rc != 0) {
        free (*text);
        *text = NULL;
    }
    return rc;
}

//  A new token, and its line "NAME ROLES SALT HASH\n" for ROLES.
static void
s_new_key (const char *name, const char *roles, char token[MAAS_APIKEY_TOKEN_SIZE], char *line,
           size_t size)
{
    uint8_t secret[MAAS_APIKEY_TOKEN_BYTES], salt[MAAS_APIKEY_SALT_BYTES],
        hash[MAAS_APIKEY_HASH_BYTES];
    randombytes_buf (secret, sizeof secret);
    randombytes_buf (salt, sizeof salt);
    memcpy (token, MAAS_APIKEY_PREFIX, 5);
    sodium_bin2base64 (token + 5, MAAS_APIKEY_TOKEN_SIZE - 5, secret, sizeof secret,
                       sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    crypto_generichash (hash, sizeof hash, (const uint8_t *) token, strlen (token), salt,
                        sizeof salt);
    char salt_hex[2 * sizeof salt + 1], hash_hex[2 * sizeof hash + 1];
    sodium_bin2hex (salt_hex, sizeof salt_hex, salt, sizeof salt);
    sodium_bin2hex (hash_hex, sizeof hash_hex, hash, sizeof hash);
    snprintf (line, size, "%s %s %s %s\n", name, roles, salt_hex, hash_hex);
    sodium_memzero (secret, sizeof secret);
}

int
maas_apikey_add (const char *path, const char *name, const char *roles,
                 char token[MAAS_APIKEY_TOKEN_SIZE], maas_err_t *err)
{
    if (!name || !s_name_ok (name))
        return maas_err_set (err, MAAS_ERR_INPUT,
                             "key name '%s': use letters, digits, '.', '_', '@', '-' (at most %d)",
                             name ? name : "", MAAS_APIKEY_NAME_MAX);
    if (!roles || !*roles)
        roles = "-";
    if (strpbrk (roles, " \t\r\n"))
        return maas_err_set (err, MAAS_ERR_INPUT, "roles '%s': no spaces (infer,train)", roles);
    if (strcmp (roles, "-") != 0 && maas_curve_rights_parse (roles, err) < 0)
        return -1;
    if (sodium_init () < 0)
        return maas_err_set (err, MAAS_ERR_IO, "libsodium would not initialise");
    char *text;
    bool has;
    if (s_load_for_edit (path, name, &text, &has, err) != 0)
        return -1;
    if (has) {
        free (text);
        return maas_err_set (err, MAAS_ERR_INPUT,
                             "%s already has a key '%s': remove it first (--remove)", path, name);
    }
    char line[MAAS_APIKEY_NAME_MAX + 256];
    s_new_key (name, roles, token, line, sizeof line);
    //  A file that does not end its last line gets one, so ours stands alone.
    bool newline = text && *text && text[strlen (text) - 1] != '\n';
    char *joined = NULL;
    if (newline && asprintf (&joined, "%s\n", text) < 0)
        joined = NULL;
    int rc = s_write (path, newline ? joined : text, line, err);
    free (joined);
    free (text);
    if (rc != 0)
        sodium_memzero (token, MAAS_APIKEY_TOKEN_SIZE);
    return rc;
}

//  TEXT without the line of key NAME (cut in place).
static void
s_cut_line (char *text, const char *name)
{
    size_t len = strlen (name);
    for (char *line = text; line && *line;) {
        char *next = strchr (line, '\n');
        const char *word = line + strspn (line, " \t");
        if (strncmp (word, name, len) == 0 && (word[len] == ' ' || word[len] == '\t')) {
            memmove (line, next ? next + 1 : line + strlen (line),
                     next ? strlen (next + 1) + 1 : 1);
            return;
        }
        line = next ? next + 1 : NULL;
    }
}

int
maas_apikey_remove (const char *path, const char *name, maas_err_t *err)
{
    char *text;
    bool has;
    if (!name || !s_name_ok (name))
        return maas_err_set (err, MAAS_ERR_INPUT, "key name '%s': not a key name",
                             name ? name : "");
    if (s_load_for_edit (path, name, &text, &has, err) != 0)
        return -1;
    if (!has) {
        free (text);
        return maas_err_set (err, MAAS_ERR_NOT_FOUND, "%s has no key '%s'", path, name);
    }
    s_cut_line (text, name);
    int rc = s_write (path, text, NULL, err);
    free (text);
    return rc;
}
