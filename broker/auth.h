/*  auth.h: who may connect to the broker, and what they may submit.
 *  CurveZMQ on both ROUTERs; one ZAP handler (inproc://zeromq.zap.01,
 *  polled by the broker's loop) checks each handshake's public key against
 *  the key directory of its side ("clients" or "workers"), re-read twice a
 *  second so that adding or removing a key file takes effect without a
 *  restart. docs/security.md has the model and the role → right mapping. */
#ifndef MAAS_BROKER_AUTH_H
#define MAAS_BROKER_AUTH_H

#include "curve.h"
#include "err.h"

#include <czmq.h>
#include <stdbool.h>
#include <stdint.h>

typedef struct _maas_auth_t maas_auth_t;

#define MAAS_AUTH_DIRS 2    //  sides: 0 clients, 1 workers

typedef enum { MAAS_AUTH_CLIENTS = 0, MAAS_AUTH_WORKERS = 1 } maas_auth_side_t;

//  Load the broker's key pair from SECRET_PATH (zcert format, the secret
//  file) and the allowed public keys from CLIENTS_DIR and WORKERS_DIR, and
//  bind the ZAP handler in czmq's context. NULL with ERR if a file or
//  directory cannot be read, or another ZAP handler is bound already.
maas_auth_t *maas_auth_new (const char *secret_path, const char *clients_dir,
                            const char *workers_dir, maas_err_t *err);
void maas_auth_destroy (maas_auth_t **self_p);
//  Make SOCK (not bound yet) a CURVE server whose handshakes are checked
//  against SIDE's keys.
void maas_auth_secure (maas_auth_t *self, zsock_t *sock, maas_auth_side_t side);
//  The ZAP socket's libzmq handle, to poll for ZMQ_POLLIN.
void *maas_auth_handle (maas_auth_t *self);
//  Answer every ZAP request waiting (never blocks). A refused key is
//  logged with its z85 text and address, and counted.
void maas_auth_serve (maas_auth_t *self);
//  Re-read both key directories if half a second has passed since the last time.
void maas_auth_tick (maas_auth_t *self, int64_t now_mono);
//  Rights of the sender of FRAME (a frame received on SIDE's socket) as its
//  key stands now: -1 if the key is no longer allowed.
int maas_auth_rights (maas_auth_t *self, maas_auth_side_t side, zmq_msg_t *frame);
//  Handshakes refused on SIDE since start.
uint64_t maas_auth_refused (const maas_auth_t *self, maas_auth_side_t side);

#endif
