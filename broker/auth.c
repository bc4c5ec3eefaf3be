/*  auth.c: the broker's CurveZMQ gate. Our own ZAP handler rather than
 *  czmq's zauth: zauth keeps one CURVE directory per process (and only one
 *  ZAP handler can bind a context), while the broker needs one per side; and
 *  the broker must ask "is this key still allowed, with which rights?" on
 *  every message, which a table it owns answers without a directory scan. */
#include "auth.h"
#include "log.h"

#include <stdlib.h>
#include <string.h>

#define S_RELOAD_MS    500    //  key directories are re-read this often
#define S_ZAP_ENDPOINT "inproc://zeromq.zap.01"

static const char *s_side_names[MAAS_AUTH_DIRS] = {"clients", "workers"};

struct _maas_auth_t {
    zcert_t *cert;                       //  the broker's key pair, owned
    zsock_t *zap;                        //  REP bound to the ZAP endpoint, owned
    char *dirs[MAAS_AUTH_DIRS];          //  key directory per side, owned
    zhashx_t *keys[MAAS_AUTH_DIRS];      //  z85 public key → rights + 1, per side, owned
    uint64_t refused[MAAS_AUTH_DIRS];    //  handshakes refused per side
    int64_t reload_at;                   //  next directory read, monotonic ms
};

//  Add the public key in FILE (zcert format) to KEYS with its role's rights.
static void
s_load_file (zhashx_t *keys, zfile_t *file)
{
    const char *path = zfile_filename (file, NULL);
    size_t len = strlen (path);
    if (!zfile_is_regular (file) || (len > 7 && strcmp (path + len - 7, "_secret") == 0))
        return;    //  the public file of a pair stands for it
    zcert_t *cert = zcert_load (path);
    if (!cert) {
        maas_warn ("broker", "key file skipped: not a zcert public key path=%s", path);
        return;
    }
    maas_err_t err;
    int rights = maas_curve_rights_parse (zcert_meta (cert, "role"), &err);
    if (rights < 0) {
        maas_warn ("broker", "key without rights path=%s error=%s", path, err.text);
        rights = 0;
    }
    zhashx_update (keys, zcert_public_txt (cert), (void *) (intptr_t) (rights + 1));
    zcert_destroy (&cert);
}

//  Every public key in DIR (and below), or NULL with ERR if DIR is not there.
static zhashx_t *
s_load_dir (const char *dir, maas_err_t *err)
{
    zdir_t *zdir = zdir_new (dir, NULL);
    zhashx_t *keys = zdir ? zhashx_new () : NULL;
    if (!keys) {
        zdir_destroy (&zdir);
        maas_err_set (err, MAAS_ERR_INPUT, "%s: not a readable key directory", dir);
        return NULL;
    }
    zfile_t **files = zdir_flatten (zdir);
    for (size_t i = 0; files && files[i]; i++)
        s_load_file (keys, files[i]);
    zdir_flatten_free (&files);
    zdir_destroy (&zdir);
    return keys;
}

static zcert_t *
s_load_secret (const char *path, maas_err_t *err)
{
    zcert_t *cert = zcert_load (path);
    static const uint8_t zero[32];
    if (cert && memcmp (zcert_secret_key (cert), zero, sizeof zero) != 0)
        return cert;
    zcert_destroy (&cert);
    maas_err_set (err, MAAS_ERR_INPUT,
                  "--curve-secret %s: not a zcert secret key file (maas keygen writes one)", path);
    return NULL;
}

maas_auth_t *
maas_auth_new (const char *secret_path, const char *clients_dir, const char *workers_dir,
               maas_err_t *err)
{
    maas_auth_t *self = calloc (1, sizeof *self);
    if (!self) {
        maas_err_set (err, MAAS_ERR_NOMEM, "out of memory");
        return NULL;
    }
    const char *dirs[MAAS_AUTH_DIRS] = {clients_dir, workers_dir};
    self->cert = s_load_secret (secret_path, err);
    for (int i = 0; self->cert && i < MAAS_AUTH_DIRS; i++) {
        self->dirs[i] = strdup (dirs[i]);
        self->keys[i] = s_load_dir (dirs[i], err);
        if (!self->keys[i])
            goto fail;
    }
    if (!self->cert)
        goto fail;
    self->zap = zsock_new (ZMQ_REP);
    if (!self->zap || zsock_bind (self->zap, S_ZAP_ENDPOINT) != 0) {
        maas_err_set (err, MAAS_ERR_IO, "cannot bind %s: another ZAP handler in this process?",
                      S_ZAP_ENDPOINT);
        goto fail;
    }
    return self;
fail:
    maas_auth_destroy (&self);
    return NULL;
}

void
maas_auth_destroy (maas_auth_t **self_p)
{
    maas_auth_t *self = *self_p;
    if (!self)
        return;
    zsock_destroy (&self->zap);
    zcert_destroy (&self->cert);
    for (int i = 0; i < MAAS_AUTH_DIRS; i++) {
        zhashx_destroy (&self->keys[i]);
        free (self->dirs[i]);
    }
    free (self);
    *self_p = NULL;
}

void
maas_auth_secure (maas_auth_t *self, zsock_t *sock, maas_auth_side_t side)
{
    zcert_apply (self->cert, sock);
    zsock_set_curve_server (sock, 1);
    zsock_set_zap_domain (sock, s_side_names[side]);
}

void *
maas_auth_handle (maas_auth_t *self)
{
    return zsock_resolve (self->zap);
}

//  Is the handshake (DOMAIN, MECHANISM, public KEY) allowed? Logs and
//  counts a refusal. Writes the key's z85 text into Z85.
static bool
s_allowed (maas_auth_t *self, const char *domain, const char *address, const char *mechanism,
           zframe_t *key, char z85[41])
{
    int side = -1;
    for (int i = 0; i < MAAS_AUTH_DIRS; i++)
        if (domain && strcmp (domain, s_side_names[i]) == 0)
            side = i;
    if (key && zframe_size (key) == 32)
        zmq_z85_encode (z85, zframe_data (key), 32);
    bool curve = mechanism && strcmp (mechanism, "CURVE") == 0;
    if (side >= 0 && curve && z85[0] && zhashx_lookup (self->keys[side], z85))
        return true;
    if (side >= 0)
        self->refused[side]++;
    maas_warn ("broker", "refused side=%s key=%s address=%s mechanism=%s", domain ? domain : "-",
               z85[0] ? z85 : "-", address ? address : "-", mechanism ? mechanism : "-");
    return false;
}

//  One ZAP request (RFC 27): version, id, domain, address, identity,
//  mechanism, credentials. Always answered: a REP must reply to go on.
static void
s_answer (maas_auth_t *self, zmsg_t *request)
{
    zframe_t *version = zmsg_pop (request), *request_id = zmsg_pop (request);
    char *domain = zmsg_popstr (request), *address = zmsg_popstr (request);
    zframe_t *identity = zmsg_pop (request);
    char *mechanism = zmsg_popstr (request);
    zframe_t *key = zmsg_pop (request);
    char z85[41] = "";
    bool ok = s_allowed (self, domain, address, mechanism, key, z85);
    zmsg_t *reply = zmsg_new ();
    zmsg_addstr (reply, "1.0");
    if (request_id)
        zmsg_append (reply, &request_id);
    else
        zmsg_addstr (reply, "");
    zmsg_addstr (reply, ok ? "200" : "400");
    zmsg_addstr (reply, ok ? "OK" : "key not allowed");
    zmsg_addstr (reply, ok ? z85 : "");    //  the User-Id messages carry
    zmsg_addmem (reply, NULL, 0);          //  no metadata
    zmsg_send (&reply, self->zap);
    zframe_destroy (&version);
    zframe_destroy (&identity);
    zframe_destroy (&key);
    free (domain);
    free (address);
    free (mechanism);
}

void
maas_auth_serve (maas_auth_t *self)
{
    while (zsock_events (self->zap) & ZMQ_POLLIN) {
        zmsg_t *request = zmsg_recv (self->zap);
        if (!request)
            break;
        s_answer (self, request);
        zmsg_destroy (&request);
    }
}

void
maas_auth_tick (maas_auth_t *self, int64_t now_mono)
{
    if (now_mono < self->reload_at)
        return;
    self->reload_at = now_mono + S_RELOAD_MS;
    for (int i = 0; i < MAAS_AUTH_DIRS; i++) {
        maas_err_t err;
        //  A directory gone means no key is allowed any more.
        zhashx_t *keys = s_load_dir (self->dirs[i], &err);
        if (!keys && (keys = zhashx_new ()) != NULL)
            maas_warn ("broker", "keys unreadable side=%s error=%s", s_side_names[i], err.text);
        if (!keys)
            continue;
        if (zhashx_size (keys) != zhashx_size (self->keys[i]))
            maas_info ("broker", "keys reloaded side=%s keys=%zu", s_side_names[i],
                       zhashx_size (keys));
        zhashx_destroy (&self->keys[i]);
        self->keys[i] = keys;
    }
}

int
maas_auth_rights (maas_auth_t *self, maas_auth_side_t side, zmq_msg_t *frame)
{
    const char *user = zmq_msg_gets (frame, "User-Id");
    void *rights = user ? zhashx_lookup (self->keys[side], user) : NULL;
    return rights ? (int) (intptr_t) rights - 1 : -1;
}

uint64_t
maas_auth_refused (const maas_auth_t *self, maas_auth_side_t side)
{
    return self->refused[side];
}
