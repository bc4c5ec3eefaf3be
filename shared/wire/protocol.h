/*  protocol.h: the MAAS1 wire protocol (docs/protocol.md is the spec).
 *  Frame layout, command codes, and the send/receive helpers the broker, the
 *  client API and the worker API share. Payload frames travel as zmq_msg_t
 *  and are moved from socket to socket, never copied or decoded. */
#ifndef MAAS_PROTOCOL_H
#define MAAS_PROTOCOL_H

#include "export.h"

#include <msgpack.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <zmq.h>

#include "codec.h"
#ifdef __cplusplus
extern "C" {
#endif

//  First frame of every message (after a ROUTER's identity frame).
#define MAAS_PROTO_TAG          "MAAS1"
#define MAAS_PROTO_TAG_SIZE     5
//  Largest header frame accepted (a msgpack map of a few keys).
#define MAAS_PROTO_HEADER_MAX   65536
//  Frames in a well-formed message, identity excluded: tag, command,
//  header, payload.
#define MAAS_PROTO_FRAMES       4
//  Job ids: 1..64 printable ASCII bytes; client ids are 26-char ULIDs.
#define MAAS_PROTO_ID_MAX       64
#define MAAS_PROTO_ID_SIZE      27    //  a generated id and its NUL
//  Longest ZeroMQ routing id the broker keeps for a peer.
#define MAAS_PROTO_PEER_MAX     64
//  Priorities: 0 (default) .. 9, higher runs first.
#define MAAS_PROTO_PRIORITY_MAX 9

//  Command byte, frame 1. Codes are shared by both sockets where the
//  meaning is the same (RESULT, CANCEL, HEARTBEAT, DISCONNECT).
typedef enum {
    MAAS_PROTO_SUBMIT = 0x01,       //  client → broker: a job, header + payload
    MAAS_PROTO_ACCEPTED = 0x02,     //  broker → client: job recorded, will run
    MAAS_PROTO_REJECTED = 0x03,     //  broker → client: refused, with a reason
    MAAS_PROTO_RESULT = 0x04,       //  worker → broker → client: final status
    MAAS_PROTO_CANCEL = 0x05,       //  client → broker → worker: stop a job
    MAAS_PROTO_PING = 0x06,         //  client → broker
    MAAS_PROTO_PONG = 0x07,         //  broker → client
    MAAS_PROTO_FETCH = 0x08,        //  client → broker: where is job id?
    MAAS_PROTO_PROGRESS = 0x09,     //  worker → broker → client
    MAAS_PROTO_READY = 0x10,        //  worker → broker: kinds, credits, models
    MAAS_PROTO_JOB = 0x11,          //  broker → worker: header + payload
    MAAS_PROTO_HEARTBEAT = 0x12,    //  both ways on the worker socket
    MAAS_PROTO_DISCONNECT = 0x13    //  both ways on the worker socket
} maas_proto_cmd_t;

//  Name of a command ("SUBMIT"), or "UNKNOWN".
MAAS_EXPORT const char *maas_proto_cmd_name (int cmd);

//  ---------------------------------------------------------------------------
//  One received message: optional identity, then up to MAAS_PROTO_FRAMES.

typedef struct {
    zmq_msg_t peer;                         //  routing id (ROUTER sockets only)
    zmq_msg_t frames[MAAS_PROTO_FRAMES];    //  tag, command, header, payload
    int count;                              //  frames received into FRAMES
    bool routed;                            //  PEER holds a routing id
    bool extra;                             //  more frames came and were dropped
} maas_proto_msg_t;

//  Receive one whole message from SOCKET (a raw libzmq socket). ROUTED:
//  the socket is a ROUTER, the first frame is the peer's identity. FLAGS:
//  0 or ZMQ_DONTWAIT. Returns 0, or -1 with errno (EAGAIN: nothing waiting).
//  Frames past MAAS_PROTO_FRAMES are read and dropped (EXTRA is set). The
//  caller closes MSG with maas_proto_msg_close.
MAAS_EXPORT int maas_proto_recv (void *socket, maas_proto_msg_t *msg, bool routed, int flags);
MAAS_EXPORT void maas_proto_msg_close (maas_proto_msg_t *msg);
//  Check the envelope: tag, a one-byte command, a header frame no larger
//  than MAAS_PROTO_HEADER_MAX. Returns the command, or -1 with why in ERR.
MAAS_EXPORT int maas_proto_check (const maas_proto_msg_t *msg, maas_err_t *err);
//  The header frame's bytes (NULL, 0 when absent).
MAAS_EXPORT const void *maas_proto_header (const maas_proto_msg_t *msg, size_t *size);
//  The payload frame, or NULL when absent (borrowed; may be moved out with
//  zmq_msg_move).
MAAS_EXPORT zmq_msg_t *maas_proto_payload (maas_proto_msg_t *msg);

//  Send one message: PEER (routing id, PEER_SIZE bytes; NULL on a DEALER),
//  tag, CMD, HEADER (copied), and PAYLOAD if not NULL (moved: it is empty
//  afterwards, whatever the outcome). Returns 0, or -1 with errno.
MAAS_EXPORT int maas_proto_send (void *socket, const void *peer, size_t peer_size, int cmd,
                                 const void *header, size_t header_size, zmq_msg_t *payload);
//  Send CMD with an empty map as header and no payload (PING, PONG,
//  HEARTBEAT, DISCONNECT). PEER as for maas_proto_send. 0, or -1 with errno.
MAAS_EXPORT int maas_proto_send_empty (void *socket, const void *peer, size_t peer_size, int cmd);
//  Why connecting or binding an endpoint failed with ERRNO, as a user can
//  fix it: "not an endpoint (tcp://HOST:PORT, ipc://PATH, inproc://NAME)",
//  "address already in use", else libzmq's text. Static, borrowed.
MAAS_EXPORT const char *maas_proto_endpoint_error (int errno_value);
//  Open SIZE bytes of DATA, one msgpack map, as a reader named WHAT
//  ("result") in MAP, decoding into SCRATCH (the caller's, reusable; the
//  map is borrowed from it and DATA). LIMIT: largest SIZE accepted, 0: any.
//  Returns 0, or -1 with why in ERR ("result: expected a map, got array").
MAAS_EXPORT int maas_proto_open_map (const void *data, size_t size, size_t limit, const char *what,
                                     msgpack_unpacked *scratch, maas_codec_map_t *map,
                                     maas_err_t *err);
//  Open MSG's header frame as a map named "header" into MAP, decoding into
//  SCRATCH (the caller's, reusable). Returns 0, or -1 with why in ERR
//  ("missing header frame", "header: expected a map, got array").
MAAS_EXPORT int maas_proto_header_map (const maas_proto_msg_t *msg, msgpack_unpacked *scratch,
                                       maas_codec_map_t *map, maas_err_t *err);

//  ---------------------------------------------------------------------------
//  Building headers: a msgpack packer writing into a fixed buffer, so small
//  headers cost no allocation.

typedef struct {
    char data[4096];      //  packed bytes
    size_t size;          //  bytes used
    bool overflow;        //  a write did not fit: header invalid
    msgpack_packer pk;    //  packer writing into DATA
} maas_proto_buf_t;

//  Reset BUF to empty and make BUF->pk ready to pack into it.
MAAS_EXPORT void maas_proto_buf_init (maas_proto_buf_t *buf);
//  Append SIZE bytes already msgpack-encoded (one value) to BUF.
MAAS_EXPORT void maas_proto_buf_append (maas_proto_buf_t *buf, const void *bytes, size_t size);
//  Open a map in BUF and pack the status keys of a reply: "id", "status",
//  "reason", "error", each only if not NULL (ERROR cut at 1024 bytes). The
//  map has room for EXTRA more key/value pairs, which the caller packs next.
MAAS_EXPORT void maas_proto_pack_status (maas_proto_buf_t *buf, const char *id, const char *status,
                                         const char *reason, const char *error, size_t extra);

//  ---------------------------------------------------------------------------
//  The job header: SUBMIT's header, forwarded unchanged as JOB's header.

#define MAAS_PROTO_KIND_MAX  32     //  longest kind name
#define MAAS_PROTO_MODEL_MAX 128    //  longest model name
#define MAAS_PROTO_ALIAS_MAX 32     //  longest version alias

typedef struct {
    char id[MAAS_PROTO_ID_MAX + 1];          //  job id, client-generated
    char kind[MAAS_PROTO_KIND_MAX + 1];      //  "infer", "train", ...
    char model[MAAS_PROTO_MODEL_MAX + 1];    //  model name, "" if none
    int64_t version;                         //  "version": model version, 0: not given
    char alias[MAAS_PROTO_ALIAS_MAX + 1];    //  "alias" ("production"), or ""; never both
    int priority;                            //  0..9, higher first; default 0
    int64_t deadline_ms;                 //  wall-clock ms after which it must not start; 0: none
    bool track;                          //  status kept in Redis (default true)
    bool durable;                        //  payload kept in Redis until final (default true)
    const msgpack_object *params_obj;    //  parsed "params" value, in SCRATCH; NULL if none
    const void *params;                  //  for packing: one msgpack value's bytes, or NULL
    size_t params_size;                  //  its size in bytes
} maas_proto_job_t;

//  Decode a job header of SIZE bytes. SCRATCH is a msgpack_unpacked the
//  caller owns and may reuse (see maas_codec_unpack). Strings are copied
//  into JOB; PARAMS_OBJ is borrowed from SCRATCH (and HEADER). Returns 0, or -1 with
//  a reason fit for a REJECTED ("header: key 'priority' must be 0..9, got 12").
MAAS_EXPORT int maas_proto_job_parse (maas_proto_job_t *job, const void *header, size_t size,
                                      msgpack_unpacked *scratch, maas_err_t *err);
//  Check what a job header must satisfy, for a job built by hand before it
//  is packed (maas_proto_job_parse checks the same): id and kind of
//  [0-9A-Za-z_.:-] within their limits, model and alias within theirs,
//  priority 0..9, version >= 0, not both a version and an alias. Returns 0,
//  or -1 with ERR ("header: key 'priority' must be 0..9, got 12").
MAAS_EXPORT int maas_proto_job_check (const maas_proto_job_t *job, maas_err_t *err);
//  Encode JOB into BUF, with PARAMS (bytes of one msgpack value) if set.
//  Returns 0, or -1 if it does not fit.
MAAS_EXPORT int maas_proto_job_pack (const maas_proto_job_t *job, maas_proto_buf_t *buf);

//  A RESULT header's "retryable" (read with MAP): false when the worker
//  said the failure would be the same on any worker; true when it said
//  otherwise, said nothing, or the key is not a boolean.
MAAS_EXPORT bool maas_proto_retryable (const maas_codec_map_t *map);

//  ---------------------------------------------------------------------------
//  Job ids

//  Write a new 26-character, time-sortable id (48-bit wall ms + 80 random
//  bits, Crockford base32, ULID layout) and NUL into ID. LAST holds the
//  previous id's state (10 bytes of random part + time), so ids made within
//  one millisecond still sort in creation order; zero it before first use.
typedef struct {
    int64_t ms;            //  time of the previous id
    uint8_t random[10];    //  its random part
} maas_proto_idgen_t;
MAAS_EXPORT void maas_proto_id_new (maas_proto_idgen_t *gen, char id[MAAS_PROTO_ID_SIZE]);
//  Copy SRC into DST (SIZE bytes with the NUL), truncating; returns the
//  length copied. For hot paths where snprintf ("%s") costs too much.
MAAS_EXPORT size_t maas_proto_copy (char *dst, size_t size, const char *src);
//  Write VALUE in decimal and a NUL into TEXT (at least 21 bytes); returns
//  the length.
MAAS_EXPORT size_t maas_proto_itoa (char *text, int64_t value);
//  true if ID (LEN bytes) is a usable job id: 1..64 bytes of [0-9A-Za-z_.:-].
MAAS_EXPORT bool maas_proto_id_valid (const char *id, size_t len);

#ifdef __cplusplus
}
#endif

#endif
