/*  gate.c: what a peer's CurveZMQ key lets it do, checked per message
 *  against the key directories as they stand now (auth.c re-reads them each
 *  second): a removed key's next message is refused, a worker's forgotten. */
#include "state.h"
#include "log.h"

#include <stdio.h>
#include <string.h>

//  A frame of MSG carrying the connection's properties (User-Id).
static zmq_msg_t *
s_sender (maas_proto_msg_t *msg)
{
    return msg->count > 0 ? &msg->frames[0] : &msg->peer;
}

//  The z85 public key of MSG's sender, for the log.
static const char *
s_key (maas_proto_msg_t *msg)
{
    const char *key = zmq_msg_gets (s_sender (msg), "User-Id");
    return key ? key : "-";
}

static void
s_unauthorised (maas_broker_t *self, maas_proto_msg_t *msg, const char *id, const char *error)
{
    self->stats.rejected++;
    self->stats.unauthorised++;
    self->io.reply (self, zmq_msg_data (&msg->peer), zmq_msg_size (&msg->peer), MAAS_PROTO_REJECTED,
                    id, NULL, "unauthorised", error);
}

bool
broker_gate_client (maas_broker_t *self, maas_proto_msg_t *msg)
{
    if (!self->auth || maas_auth_rights (self->auth, MAAS_AUTH_CLIENTS, s_sender (msg)) >= 0)
        return true;
    //  A SUBMIT is refused at intake, where its id is known to answer with.
    if (maas_proto_check (msg, NULL) == MAAS_PROTO_SUBMIT)
        return true;
    self->stats.unauthorised++;
    maas_warn ("broker", "client key removed: message dropped key=%s", s_key (msg));
    return false;
}

bool
broker_gate_worker (maas_broker_t *self, maas_proto_msg_t *msg)
{
    if (!self->auth || maas_auth_rights (self->auth, MAAS_AUTH_WORKERS, s_sender (msg)) >= 0)
        return true;
    size_t size = zmq_msg_size (&msg->peer);
    for (size_t i = 0; i < self->worker_count; i++) {
        worker_t *worker = self->workers[i];
        if (worker->identity_size == size
            && memcmp (worker->identity, zmq_msg_data (&msg->peer), size) == 0) {
            broker_worker_destroy (self, i, "key removed");
            break;
        }
    }
    self->stats.unauthorised++;
    return false;
}

bool
broker_gate_submit (maas_broker_t *self, maas_proto_msg_t *msg, const char *id, const char *kind)
{
    if (!self->auth)
        return true;
    int rights = maas_auth_rights (self->auth, MAAS_AUTH_CLIENTS, s_sender (msg));
    int needed = maas_curve_right_for (kind);
    if (rights >= 0 && maas_curve_allows (rights, needed))
        return true;
    char err[160] = "this client's key is no longer allowed by the broker";
    if (rights >= 0)
        snprintf (err, sizeof err, "this client's key may not submit '%s' jobs (needs role %s)",
                  kind, maas_curve_right_name (needed));
    maas_warn ("broker", "unauthorised SUBMIT job=%s kind=%s key=%s", id ? id : "", kind,
               s_key (msg));
    s_unauthorised (self, msg, id, err);
    return false;
}
