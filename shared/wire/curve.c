/*  curve.c: CurveZMQ keys for the broker's peers, over czmq's zcert. */
#include "curve.h"

#include <czmq.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

struct _maas_curve_t {
    zcert_t *cert;      //  our key pair, owned
    char broker[41];    //  the broker's public key, z85
};

static const uint8_t s_zero_key[32];

//  0 if the key file PATH can be read and holds a "public-key" (every
//  czmq certificate does), else -1 with why in ERR, WHAT and KIND naming the
//  key ("curve key", "secret"). Checked before zcert_load, which would parse
//  any file and log its syntax errors on czmq's log stream (stdout).
static int
s_check_file (const char *what, const char *kind, const char *path, maas_err_t *err)
{
    if (!path)
        return maas_err_set (err, MAAS_ERR_INPUT, "%s (none): give a %s key file (maas keygen)",
                             what, kind);
    FILE *file = fopen (path, "r");
    if (!file)
        return maas_err_set (err, MAAS_ERR_INPUT, "%s %s: cannot read it: %s", what, path,
                             strerror (errno));
    char text[4096];
    size_t size = fread (text, 1, sizeof text - 1, file);
    int read_errno = ferror (file) ? errno : 0;
    fclose (file);
    text[size] = '\0';
    if (read_errno)
        return maas_err_set (err, MAAS_ERR_INPUT, "%s %s: cannot read it: %s", what, path,
                             strerror (read_errno));
    if (strlen (text) != size || !strstr (text, "public-key"))
        return maas_err_set (err, MAAS_ERR_INPUT, "%s %s: not a %s key file (maas keygen)", what,
                             path, kind);
    return 0;
}

maas_curve_t *
maas_curve_new (const char *secret_path, const char *broker_path, maas_err_t *err)
{
    if (s_check_file ("curve key", "secret", secret_path, err) != 0
        || s_check_file ("broker key", "public", broker_path, err) != 0)
        return NULL;
    maas_curve_t *self = calloc (1, sizeof *self);
    zcert_t *broker = zcert_load (broker_path);
    if (self)
        self->cert = zcert_load (secret_path);
    if (!self || !self->cert || memcmp (zcert_secret_key (self->cert), s_zero_key, 32) == 0)
        maas_err_set (err, MAAS_ERR_INPUT, "curve key %s: not a secret key file (maas keygen)",
                      secret_path);
    else if (!broker)
        maas_err_set (err, MAAS_ERR_INPUT, "broker key %s: not a public key file (maas keygen)",
                      broker_path);
    else {
        snprintf (self->broker, sizeof self->broker, "%s", zcert_public_txt (broker));
        zcert_destroy (&broker);
        return self;
    }
    zcert_destroy (&broker);
    maas_curve_destroy (&self);
    return NULL;
}

void
maas_curve_destroy (maas_curve_t **self_p)
{
    maas_curve_t *self = *self_p;
    if (!self)
        return;
    zcert_destroy (&self->cert);
    free (self);
    *self_p = NULL;
}

void
maas_curve_apply (const maas_curve_t *self, void *sock)
{
    zcert_apply (self->cert, sock);
    zsock_set_curve_serverkey (sock, self->broker);
    //  A broker that refuses our key leaves the socket with no pipe, where
    //  a blocking send would wait forever: fail it instead (callers retry).
    zsock_set_sndtimeo (sock, 0);
}

int
maas_curve_rights_parse (const char *role, maas_err_t *err)
{
    static const struct {
        const char *word;
        int right;
    } words[] = {{"infer", MAAS_CURVE_INFER},
                 {"train", MAAS_CURVE_TRAIN},
                 {"publish", MAAS_CURVE_PUBLISH},
                 {"alias", MAAS_CURVE_PUBLISH},
                 {"admin", MAAS_CURVE_ADMIN}};
    int rights = 0;
    for (const char *p = role ? role : ""; *p;) {
        size_t len = strcspn (p, ",");
        size_t i = 0;
        while (i < sizeof words / sizeof words[0]
               && (strlen (words[i].word) != len || strncmp (words[i].word, p, len) != 0))
            i++;
        if (len && i == sizeof words / sizeof words[0])
            return maas_err_set (err, MAAS_ERR_INPUT,
                                 "role '%.*s' unknown (infer, train, publish, alias, admin)",
                                 (int) len, p);
        rights |= len ? words[i].right : 0;
        p += len + (p[len] == ',');
    }
    return rights;
}

int
maas_curve_right_for (const char *kind)
{
    if (strcmp (kind, "infer") == 0)
        return MAAS_CURVE_INFER;
    if (strcmp (kind, "train") == 0)
        return MAAS_CURVE_TRAIN;
    return MAAS_CURVE_ADMIN;
}

const char *
maas_curve_right_name (int right)
{
    return right == MAAS_CURVE_INFER  ? "infer"
        : right == MAAS_CURVE_TRAIN   ? "train"
        : right == MAAS_CURVE_PUBLISH ? "publish"
                                      : "admin";
}

//  DIR/NAME[SUFFIX] into PATH; -1 with ERR if DIR is not a directory or the
//  file exists (a key is never replaced by accident).
static int
s_key_path (char *path, size_t size, const char *dir, const char *name, const char *suffix,
            maas_err_t *err)
{
    struct stat st;
    if (stat (dir, &st) != 0 || !S_ISDIR (st.st_mode))
        return maas_err_set (err, MAAS_ERR_INPUT, "%s: not a directory", dir);
    snprintf (path, size, "%s/%s%s", dir, name, suffix);
    if (stat (path, &st) == 0)
        return maas_err_set (err, MAAS_ERR_INPUT, "%s exists: remove it first to replace the key",
                             path);
    return 0;
}

int
maas_curve_keygen (const char *secret_dir, const char *public_dir, const char *name,
                   const char *role, maas_err_t *err)
{
    if (!name || !*name || strchr (name, '/') || name[0] == '.')
        return maas_err_set (err, MAAS_ERR_INPUT,
                             "key name '%s': give a plain file name (no '/', no leading '.')",
                             name ? name : "");
    char secret[4096], public[4096];
    if (s_key_path (secret, sizeof secret, secret_dir, name, "_secret", err) != 0
        || s_key_path (public, sizeof public, public_dir ? public_dir : secret_dir, name, "", err)
            != 0)
        return -1;
    zcert_t *cert = zcert_new ();
    if (!cert)
        return maas_err_set (err, MAAS_ERR_NOMEM, "cannot make a key pair");
    if (role && *role)
        zcert_set_meta (cert, "role", "%s", role);
    //  czmq writes the secret file with mode 0600, the public one 0644.
    int rc = zcert_save_secret (cert, secret) != 0 || zcert_save_public (cert, public) != 0;
    zcert_destroy (&cert);
    if (rc != 0)
        return maas_err_set (err, MAAS_ERR_IO, "%s: cannot write the key files", secret);
    return 0;
}
