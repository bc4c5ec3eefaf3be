/*  protocol.c: MAAS1 framing. Receiving reads a whole multipart message into
 *  a fixed set of zmq_msg_t (no allocation for small frames); sending moves
 *  the payload frame. Headers are packed into a stack buffer. */
#include "protocol.h"
#include "clock.h"
#include "codec.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>

static const char *s_names[] = {
    [MAAS_PROTO_SUBMIT] = "SUBMIT",
    [MAAS_PROTO_ACCEPTED] = "ACCEPTED",
    [MAAS_PROTO_REJECTED] = "REJECTED",
    [MAAS_PROTO_RESULT] = "RESULT",
    [MAAS_PROTO_CANCEL] = "CANCEL",
    [MAAS_PROTO_PING] = "PING",
    [MAAS_PROTO_PONG] = "PONG",
    [MAAS_PROTO_FETCH] = "FETCH",
    [MAAS_PROTO_PROGRESS] = "PROGRESS",
    [MAAS_PROTO_READY] = "READY",
    [MAAS_PROTO_JOB] = "JOB",
    [MAAS_PROTO_HEARTBEAT] = "HEARTBEAT",
    [MAAS_PROTO_DISCONNECT] = "DISCONNECT",
};

const char *
maas_proto_cmd_name (int cmd)
{
    if (cmd < 0 || cmd >= (int) (sizeof s_names / sizeof s_names[0]) || !s_names[cmd])
        return "UNKNOWN";
    return s_names[cmd];
}

static bool
s_more (void *socket)
{
    int more = 0;
    size_t size = sizeof more;
    return zmq_getsockopt (socket, ZMQ_RCVMORE, &more, &size) == 0 && more;
}

//  Read and drop the rest of a message after an error or excess frames.
static void
s_drain (void *socket)
{
    zmq_msg_t junk;
    zmq_msg_init (&junk);
    while (s_more (socket) && zmq_msg_recv (&junk, socket, 0) >= 0)
        ;
    zmq_msg_close (&junk);
}

int
maas_proto_recv (void *socket, maas_proto_msg_t *msg, bool routed, int flags)
{
    msg->count = 0;
    msg->routed = routed;
    msg->extra = false;
    zmq_msg_init (&msg->peer);
    if (routed && zmq_msg_recv (&msg->peer, socket, flags) < 0) {
        zmq_msg_close (&msg->peer);
        return -1;
    }
    bool more = routed ? zmq_msg_more (&msg->peer) : true;
    while (more && msg->count < MAAS_PROTO_FRAMES) {
        zmq_msg_t *frame = &msg->frames[msg->count];
        zmq_msg_init (frame);
        //  Later frames of a message are already here: never wait for them.
        if (zmq_msg_recv (frame, socket, msg->count == 0 && !routed ? flags : 0) < 0) {
            int saved = errno;
            zmq_msg_close (frame);
            maas_proto_msg_close (msg);
            errno = saved;
            return -1;
        }
        msg->count++;
        more = zmq_msg_more (frame);
    }
    if (more) {
        msg->extra = true;
        s_drain (socket);
    }
    return 0;
}

void
maas_proto_msg_close (maas_proto_msg_t *msg)
{
    zmq_msg_close (&msg->peer);
    for (int i = 0; i < msg->count; i++)
        zmq_msg_close (&msg->frames[i]);
    msg->count = 0;
}

int
maas_proto_check (const maas_proto_msg_t *msg, maas_err_t *err)
{
    if (msg->count < 2) {
        maas_err_set (err, MAAS_ERR_INPUT, "bad message: %d frames, need at least tag and command",
                      msg->count);
        return -1;
    }
    zmq_msg_t *tag = (zmq_msg_t *) &msg->frames[0];
    if (zmq_msg_size (tag) != MAAS_PROTO_TAG_SIZE
        || memcmp (zmq_msg_data (tag), MAAS_PROTO_TAG, MAAS_PROTO_TAG_SIZE) != 0) {
        maas_err_set (err, MAAS_ERR_INPUT, "bad message: first frame is not the protocol tag %s",
                      MAAS_PROTO_TAG);
        return -1;
    }
    zmq_msg_t *cmd = (zmq_msg_t *) &msg->frames[1];
    if (zmq_msg_size (cmd) != 1) {
        maas_err_set (err, MAAS_ERR_INPUT, "bad message: command frame has %zu bytes, expected 1",
                      zmq_msg_size (cmd));
        return -1;
    }
    if (msg->extra) {
        maas_err_set (err, MAAS_ERR_INPUT, "bad message: more than %d frames", MAAS_PROTO_FRAMES);
        return -1;
    }
    if (msg->count > 2 && zmq_msg_size ((zmq_msg_t *) &msg->frames[2]) > MAAS_PROTO_HEADER_MAX) {
        maas_err_set (err, MAAS_ERR_INPUT, "bad message: header frame of %zu bytes, limit %d",
                      zmq_msg_size ((zmq_msg_t *) &msg->frames[2]), MAAS_PROTO_HEADER_MAX);
        return -1;
    }
    return *(const uint8_t *) zmq_msg_data (cmd);
}

const void *
maas_proto_header (const maas_proto_msg_t *msg, size_t *size)
{
    if (msg->count < 3) {
        *size = 0;
        return NULL;
    }
    zmq_msg_t *frame = (zmq_msg_t *) &msg->frames[2];
    *size = zmq_msg_size (frame);
    return zmq_msg_data (frame);
}

zmq_msg_t *
maas_proto_payload (maas_proto_msg_t *msg)
{
    return msg->count > 3 ? &msg->frames[3] : NULL;
}

static int
s_send_bytes (void *socket, const void *data, size_t size, int flags)
{
    return zmq_send (socket, data, size, flags) < 0 ? -1 : 0;
}

int
maas_proto_send (void *socket, const void *peer, size_t peer_size, int cmd, const void *header,
                 size_t header_size, zmq_msg_t *payload)
{
    uint8_t command = (uint8_t) cmd;
    int rc = 0;
    if (peer)
        rc = s_send_bytes (socket, peer, peer_size, ZMQ_SNDMORE);
    if (rc == 0)
        rc = s_send_bytes (socket, MAAS_PROTO_TAG, MAAS_PROTO_TAG_SIZE, ZMQ_SNDMORE);
    if (rc == 0)
        rc = s_send_bytes (socket, &command, 1, ZMQ_SNDMORE);
    if (rc == 0)
        rc = s_send_bytes (socket, header, header_size, payload ? ZMQ_SNDMORE : 0);
    if (rc == 0 && payload)
        rc = zmq_msg_send (payload, socket, 0) < 0 ? -1 : 0;
    if (payload) {
        //  Sent: PAYLOAD is already empty. Failed: drop it, as promised.
        int saved = errno;
        zmq_msg_close (payload);
        zmq_msg_init (payload);
        errno = saved;
    }
    return rc;
}

int
maas_proto_send_empty (void *socket, const void *peer, size_t peer_size, int cmd)
{
    const uint8_t empty_map = 0x80;
    return maas_proto_send (socket, peer, peer_size, cmd, &empty_map, 1, NULL);
}

const char *
maas_proto_endpoint_error (int errno_value)
{
    switch (errno_value) {
        case EINVAL: return "not an endpoint (tcp://HOST:PORT, ipc://PATH, inproc://NAME)";
        case EPROTONOSUPPORT: return "unknown transport (tcp://, ipc:// or inproc://)";
        case EADDRINUSE: return "address already in use";
        case EADDRNOTAVAIL: return "no such local address";
        case ENODEV: return "no such network interface";
        default: return zmq_strerror (errno_value);
    }
}

int
maas_proto_open_map (const void *data, size_t size, size_t limit, const char *what,
                     msgpack_unpacked *scratch, maas_codec_map_t *map, maas_err_t *err)
{
    if (maas_codec_unpack (data, size, limit, scratch, err) != 0)
        return maas_err_prefix (err, "%s", what);
    if (maas_codec_map_init (map, &scratch->data, what) != 0)
        return maas_err_copy (err, &map->err);
    return 0;
}

//  SIZE bytes of HEADER as a map named "header" in MAP (decoded into
//  SCRATCH); -1 with ERR if not msgpack or not a map.
static int
s_open_header (const void *header, size_t size, msgpack_unpacked *scratch, maas_codec_map_t *map,
               maas_err_t *err)
{
    return maas_proto_open_map (header, size, MAAS_PROTO_HEADER_MAX, "header", scratch, map, err);
}

int
maas_proto_header_map (const maas_proto_msg_t *msg, msgpack_unpacked *scratch,
                       maas_codec_map_t *map, maas_err_t *err)
{
    size_t size;
    const void *header = maas_proto_header (msg, &size);
    if (!header) {
        maas_err_set (err, MAAS_ERR_INPUT, "missing header frame");
        return -1;
    }
    return s_open_header (header, size, scratch, map, err);
}

static int
s_buf_write (void *data, const char *bytes, size_t size)
{
    maas_proto_buf_t *buf = data;
    if (buf->overflow || size > sizeof buf->data - buf->size) {
        buf->overflow = true;
        return -1;
    }
    memcpy (buf->data + buf->size, bytes, size);
    buf->size += size;
    return 0;
}

void
maas_proto_buf_init (maas_proto_buf_t *buf)
{
    buf->size = 0;
    buf->overflow = false;
    msgpack_packer_init (&buf->pk, buf, s_buf_write);
}

void
maas_proto_buf_append (maas_proto_buf_t *buf, const void *bytes, size_t size)
{
    s_buf_write (buf, bytes, size);
}

void
maas_proto_pack_status (maas_proto_buf_t *buf, const char *id, const char *status,
                        const char *reason, const char *error, size_t extra)
{
    msgpack_packer *pk = &buf->pk;
    msgpack_pack_map (pk,
                      (id != NULL) + (status != NULL) + (reason != NULL) + (error != NULL) + extra);
    if (id)
        maas_codec_pack_kv_str (pk, "id", id);
    if (status)
        maas_codec_pack_kv_str (pk, "status", status);
    if (reason)
        maas_codec_pack_kv_str (pk, "reason", reason);
    if (error)
        maas_codec_pack_kv_strn (pk, "error", error, strnlen (error, 1024));
}

bool
maas_proto_retryable (const maas_codec_map_t *map)
{
    const msgpack_object *value = maas_codec_map_find (map, "retryable");
    return !value || value->type != MSGPACK_OBJECT_BOOLEAN || value->via.boolean;
}

static const char s_crockford[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

//  Add one to the 80-bit big-endian random part (ULID's monotonic rule).
static void
s_increment (uint8_t random[10])
{
    for (int i = 9; i >= 0; i--)
        if (++random[i] != 0)
            break;
}

void
maas_proto_id_new (maas_proto_idgen_t *gen, char id[MAAS_PROTO_ID_SIZE])
{
    int64_t ms = maas_clock_wall_ms ();
    if (ms <= gen->ms)
        s_increment (gen->random);
    else {
        gen->ms = ms;
        if (getrandom (gen->random, sizeof gen->random, 0) != (ssize_t) sizeof gen->random)
            for (size_t i = 0; i < sizeof gen->random; i++)    //  never fails on Linux
                gen->random[i] = (uint8_t) (maas_clock_mono_us () >> (i % 8));
    }
    //  128 bits: 48 of time, 80 of randomness, as 26 base32 digits (130 bits).
    uint8_t bits[16];
    for (int i = 0; i < 6; i++)
        bits[i] = (uint8_t) ((uint64_t) gen->ms >> (8 * (5 - i)));
    memcpy (bits + 6, gen->random, 10);
    for (int digit = 0; digit < 26; digit++) {
        int bit = digit * 5 - 2;    //  first digit holds the top 3 bits
        unsigned value = 0;
        for (int b = bit; b < bit + 5; b++) {
            unsigned on = b >= 0 ? (bits[b / 8] >> (7 - b % 8)) & 1 : 0;
            value = (value << 1) | on;
        }
        id[digit] = s_crockford[value];
    }
    id[26] = '\0';
}

size_t
maas_proto_copy (char *dst, size_t size, const char *src)
{
    size_t len = strnlen (src, size - 1);
    memcpy (dst, src, len);
    dst[len] = '\0';
    return len;
}

size_t
maas_proto_itoa (char *text, int64_t value)
{
    char digits[20];
    size_t len = 0, at = 0;
    uint64_t magnitude = value < 0 ? (uint64_t) 0 - (uint64_t) value : (uint64_t) value;
    do
        digits[len++] = (char) ('0' + magnitude % 10);
    while ((magnitude /= 10) > 0);
    if (value < 0)
        text[at++] = '-';
    while (len > 0)
        text[at++] = digits[--len];
    text[at] = '\0';
    return at;
}

bool
maas_proto_id_valid (const char *id, size_t len)
{
    if (len == 0 || len > MAAS_PROTO_ID_MAX)
        return false;
    for (size_t i = 0; i < len; i++) {
        char c = id[i];
        bool ok = (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z')
            || c == '_' || c == '.' || c == ':' || c == '-';
        if (!ok)
            return false;
    }
    return true;
}

//  Optional string KEY copied into BUF (SIZE with NUL); absent leaves BUF "".
static int
s_opt_str (maas_codec_map_t *map, const char *key, char *buf, size_t size, maas_err_t *err)
{
    buf[0] = '\0';
    if (!maas_codec_map_find (map, key))
        return 0;
    if (maas_codec_map_str_copy (map, key, buf, size) != 0)
        return maas_err_copy (err, &map->err);
    return 0;
}

static int
s_opt_int (maas_codec_map_t *map, const char *key, int64_t *value, int64_t min, int64_t max,
           maas_err_t *err)
{
    if (!maas_codec_map_find (map, key))
        return 0;
    if (maas_codec_map_int64 (map, key, value) != 0)
        return maas_err_copy (err, &map->err);
    if (*value < min || *value > max) {
        maas_err_set (err, MAAS_ERR_INPUT,
                      "header: key '%s' must be %" PRId64 "..%" PRId64 ", got %" PRId64, key, min,
                      max, *value);
        return -1;
    }
    return 0;
}

static int
s_opt_bool (maas_codec_map_t *map, const char *key, bool *value, maas_err_t *err)
{
    if (maas_codec_map_find (map, key) && maas_codec_map_bool (map, key, value) != 0)
        return maas_err_copy (err, &map->err);
    return 0;
}

//  "version" is a positive integer, "alias" a string: one of them, or
//  neither (the latest version).
static int
s_version (maas_codec_map_t *map, maas_proto_job_t *job, maas_err_t *err)
{
    const msgpack_object *value = maas_codec_map_find (map, "version");
    if (value && value->type == MSGPACK_OBJECT_STR)
        return maas_err_set (err, MAAS_ERR_INPUT,
                             "header: key 'version' must be an integer, got string (an alias "
                             "goes in 'alias')");
    if (s_opt_int (map, "version", &job->version, 1, INT64_MAX, err) != 0
        || s_opt_str (map, "alias", job->alias, sizeof job->alias, err) != 0)
        return -1;
    return 0;
}

//  A job name of 1..MAX bytes of [0-9A-Za-z_.:-] in KEY; -1 with ERR if not.
static int
s_check_name (const char *key, const char *value, size_t max, maas_err_t *err)
{
    size_t len = strnlen (value, max + 1);
    if (len <= max && maas_proto_id_valid (value, len))
        return 0;
    maas_err_set (err, MAAS_ERR_INPUT, "header: key '%s' must be 1..%zu of [0-9A-Za-z_.:-]", key,
                  max);
    return -1;
}

int
maas_proto_job_check (const maas_proto_job_t *job, maas_err_t *err)
{
    if (s_check_name ("id", job->id, MAAS_PROTO_ID_MAX, err) != 0
        || s_check_name ("kind", job->kind, MAAS_PROTO_KIND_MAX, err) != 0)
        return -1;
    if (strnlen (job->model, sizeof job->model) >= sizeof job->model
        || strnlen (job->alias, sizeof job->alias) >= sizeof job->alias)
        return maas_err_set (err, MAAS_ERR_INPUT, "header: 'model' or 'alias' is too long");
    if (job->priority < 0 || job->priority > MAAS_PROTO_PRIORITY_MAX) {
        maas_err_set (err, MAAS_ERR_INPUT, "header: key 'priority' must be 0..%d, got %d",
                      MAAS_PROTO_PRIORITY_MAX, job->priority);
        return -1;
    }
    if (job->version < 0 || job->deadline_ms < 0)
        return maas_err_set (err, MAAS_ERR_INPUT, "header: 'version' and 'deadline' must be >= 0");
    if (job->version > 0 && job->alias[0])
        return maas_err_set (err, MAAS_ERR_INPUT,
                             "header: give 'version' or 'alias', not both (neither: the latest)");
    return 0;
}

int
maas_proto_job_parse (maas_proto_job_t *job, const void *header, size_t size,
                      msgpack_unpacked *scratch, maas_err_t *err)
{
    memset (job, 0, sizeof *job);
    job->track = true;
    job->durable = true;
    maas_codec_map_t map;
    if (s_open_header (header, size, scratch, &map, err) != 0)
        return -1;
    if (maas_codec_map_str_copy (&map, "id", job->id, sizeof job->id) != 0
        || maas_codec_map_str_copy (&map, "kind", job->kind, sizeof job->kind) != 0)
        return maas_err_copy (err, &map.err);
    int64_t priority = 0;
    if (s_opt_str (&map, "model", job->model, sizeof job->model, err) != 0
        || s_version (&map, job, err) != 0
        || s_opt_int (&map, "priority", &priority, 0, MAAS_PROTO_PRIORITY_MAX, err) != 0
        || s_opt_int (&map, "deadline", &job->deadline_ms, 0, INT64_MAX, err) != 0
        || s_opt_bool (&map, "track", &job->track, err) != 0
        || s_opt_bool (&map, "durable", &job->durable, err) != 0)
        return -1;
    job->priority = (int) priority;
    job->params_obj = maas_codec_map_find (&map, "params");
    return maas_proto_job_check (job, err);
}

int
maas_proto_job_pack (const maas_proto_job_t *job, maas_proto_buf_t *buf)
{
    msgpack_packer *pk = &buf->pk;
    bool version = job->version > 0 || job->alias[0];
    int keys = 2 + (job->model[0] != 0) + version + (job->priority != 0) + (job->deadline_ms != 0)
        + !job->track + !job->durable + (job->params != NULL);
    msgpack_pack_map (pk, (size_t) keys);
    maas_codec_pack_kv_str (pk, "id", job->id);
    maas_codec_pack_kv_str (pk, "kind", job->kind);
    if (job->model[0])
        maas_codec_pack_kv_str (pk, "model", job->model);
    if (job->alias[0])
        maas_codec_pack_kv_str (pk, "alias", job->alias);
    else if (job->version > 0)
        maas_codec_pack_kv_int (pk, "version", job->version);
    if (job->priority != 0)
        maas_codec_pack_kv_int (pk, "priority", job->priority);
    if (job->deadline_ms != 0)
        maas_codec_pack_kv_int (pk, "deadline", job->deadline_ms);
    if (!job->track)
        maas_codec_pack_kv_bool (pk, "track", false);
    if (!job->durable)
        maas_codec_pack_kv_bool (pk, "durable", false);
    if (job->params) {
        maas_codec_pack_str (pk, "params");
        s_buf_write (buf, job->params, job->params_size);
    }
    return buf->overflow ? -1 : 0;
}
