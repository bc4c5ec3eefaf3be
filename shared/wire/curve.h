/*  curve.h: the CurveZMQ side of a broker's peers (clients, workers,
 *  trainers, the gateway): a key pair and the broker's public key, both in
 *  czmq's certificate format, set on a socket before it connects. And the
 *  key files themselves: `maas keygen` writes them (docs/security.md). */
#ifndef MAAS_CURVE_H
#define MAAS_CURVE_H

#include "export.h"

#include "err.h"

typedef struct _maas_curve_t maas_curve_t;

//  Environment variables naming the two files when no flag does.
#define MAAS_CURVE_KEY_ENV    "MAAS_CURVE_KEY"
#define MAAS_CURVE_BROKER_ENV "MAAS_BROKER_KEY"

//  Rights a client key's "role" metadata grants (a bit each).
#define MAAS_CURVE_INFER   1    //  submit "infer" jobs
#define MAAS_CURVE_TRAIN   2    //  submit "train" jobs (they publish a version)
#define MAAS_CURVE_PUBLISH 4    //  "publish" / "alias": registry writes (not broker jobs)
#define MAAS_CURVE_ADMIN   8    //  every kind, including ones workers invent

//  Rights in ROLE ("infer,train"; "alias" is "publish"); -1 with ERR on an
//  unknown word. NULL or "" is 0 (no rights).
MAAS_EXPORT int maas_curve_rights_parse (const char *role, maas_err_t *err);
//  The right a job of KIND needs (infer, train; any other kind: admin).
//  ADMIN holds every right: check with maas_curve_allows.
MAAS_EXPORT int maas_curve_right_for (const char *kind);
//  true if RIGHTS (a key's) include NEEDED, or admin.
#define maas_curve_allows(rights, needed) (((rights) & ((needed) | MAAS_CURVE_ADMIN)) != 0)
//  The role word of one right ("infer"), for messages.
MAAS_EXPORT const char *maas_curve_right_name (int right);

//  The two rows a peer's option table (options.h) gives its key files.
#define MAAS_CURVE_OPTIONS(key_target, broker_target)                                              \
    {"--curve-key",                                                                                \
     MAAS_CURVE_KEY_ENV,                                                                           \
     MAAS_OPT_STRING,                                                                              \
     0,                                                                                            \
     0,                                                                                            \
     NULL,                                                                                         \
     (key_target),                                                                                 \
     "FILE",                                                                                       \
     "our secret key (maas keygen): CurveZMQ to the broker",                                       \
     "none"},                                                                                      \
    {                                                                                              \
        "--broker-key", MAAS_CURVE_BROKER_ENV, MAAS_OPT_STRING, 0, 0, NULL, (broker_target),       \
            "FILE", "the broker's public key, with --curve-key", "none"                            \
    }

//  Load our key pair from SECRET_PATH (the "NAME_secret" file; "NAME" works
//  too when NAME_secret sits beside it) and the broker's public key from
//  BROKER_PATH. NULL with ERR if either file is missing or not a key.
MAAS_EXPORT maas_curve_t *maas_curve_new (const char *secret_path, const char *broker_path,
                                          maas_err_t *err);
MAAS_EXPORT void maas_curve_destroy (maas_curve_t **self_p);
//  Make SOCK (a zsock_t *, not connected yet) a CURVE client of the broker;
//  its sends then fail (EAGAIN) rather than block while no broker took it.
MAAS_EXPORT void maas_curve_apply (const maas_curve_t *self, void *sock);

//  Write a new key pair: SECRET_DIR/NAME_secret (mode 0600) and
//  PUBLIC_DIR/NAME (the public key, mode 0644; NULL: SECRET_DIR too), with
//  ROLE ("infer,train", or NULL: none) as the "role" metadata in both.
//  Returns 0, or -1 with ERR (bad name, a file already there, unwritable).
MAAS_EXPORT int maas_curve_keygen (const char *secret_dir, const char *public_dir, const char *name,
                                   const char *role, maas_err_t *err);

#endif
