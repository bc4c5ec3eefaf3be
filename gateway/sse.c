/*  sse.c: Server-Sent Events of a job (sse.h). The stream is a chunked
 *  response whose reader hands out what the loop's ticks queued; in MHD's
 *  external polling mode a reader that has nothing returns 0 and is asked
 *  again at the next MHD_run, so no connection needs suspending. */
#include "sse.h"

#include <assert.h>
#include <microhttpd.h>
#include <stdlib.h>
#include <string.h>

typedef struct _gw_sse_t gw_sse_t;

struct _gw_sse_set_t {
    const maas_redis_config_t *redis_config;    //  borrowed from the configuration
    const char *prefix;                         //  key prefix, borrowed
    redisContext *redis;                        //  opened on first need, dropped on error
    gw_sse_t *head;                             //  streams being served
};

struct _gw_sse_t {
    gw_sse_set_t *set;                 //  the loop's streams
    char id[MAAS_PROTO_ID_MAX + 1];    //  the job
    gw_buf_t out;                      //  events queued
    size_t sent;                       //  bytes of OUT handed to MHD
    char status[16];                   //  last status sent
    char progress[96];                 //  last progress and message sent
    bool done;                         //  the last event is queued
    int64_t next_ms;                   //  when to read the job again
    gw_sse_t *prev, *next;             //  in the set
};

gw_sse_set_t *
gw_sse_set_new (const maas_redis_config_t *redis, const char *prefix)
{
    gw_sse_set_t *self = calloc (1, sizeof *self);
    if (self) {
        self->redis_config = redis;
        self->prefix = prefix ? prefix : MAAS_REGISTRY_PREFIX_DEFAULT;
    }
    return self;
}

void
gw_sse_set_destroy (gw_sse_set_t **self_p)
{
    gw_sse_set_t *self = *self_p;
    if (!self)
        return;
    assert (!self->head);
    if (self->redis)
        redisFree (self->redis);
    free (self);
    *self_p = NULL;
}

static void
s_event (gw_sse_t *sse, const char *name, const char *data)
{
    gw_buf_printf (&sse->out, "event: %s\ndata: %s\n\n", name, data);
}

static bool
s_final (const char *status)
{
    return strcmp (status, "succeeded") == 0 || strcmp (status, "failed") == 0
        || strcmp (status, "cancelled") == 0 || strcmp (status, "expired") == 0
        || strcmp (status, "rejected") == 0;
}

static const char *
s_field (const redisReply *hash, const char *name, char *out, size_t size)
{
    out[0] = 0;
    for (size_t i = 0; i + 1 < hash->elements; i += 2)
        if (strcmp (hash->element[i]->str, name) == 0)
            snprintf (out, size, "%.*s", (int) hash->element[i + 1]->len,
                      hash->element[i + 1]->str);
    return out;
}

//  Queue what changed in HASH since the last read.
static void
s_news (gw_sse_t *sse, const redisReply *hash)
{
    char status[16], progress[32], message[256], data[512];
    s_field (hash, "status", status, sizeof status);
    s_field (hash, "progress", progress, sizeof progress);
    s_field (hash, "progress_message", message, sizeof message);
    if (strcmp (status, sse->status) != 0) {
        snprintf (data, sizeof data, "{\"status\":\"%s\"}", status);
        s_event (sse, "status", data);
        snprintf (sse->status, sizeof sse->status, "%s", status);
    }
    char now[96];
    snprintf (now, sizeof now, "%s %.40s", progress, message);
    if (progress[0] && strcmp (now, sse->progress) != 0) {
        gw_buf_t line;
        gw_buf_init (&line);
        gw_buf_printf (&line, "{\"progress\":%s,\"message\":", progress);
        gw_json_str (&line, message);
        gw_buf_puts (&line, "}");
        s_event (sse, "progress", line.data ? line.data : "{}");
        gw_buf_clear (&line);
        snprintf (sse->progress, sizeof sse->progress, "%s", now);
    }
    if (s_final (status)) {
        gw_buf_t job;
        gw_buf_init (&job);
        gw_jobs_json (&job, sse->id, hash);
        s_event (sse, "result", job.data ? job.data : "{}");
        gw_buf_clear (&job);
        sse->done = true;
    }
}

static void
s_read_job (gw_sse_set_t *self, gw_sse_t *sse)
{
    maas_err_t err;
    if (!self->redis)
        self->redis = maas_redis_connect (self->redis_config, 1000, &err);
    redisReply *hash =
        self->redis ? redisCommand (self->redis, "HGETALL %sjob:%s", self->prefix, sse->id) : NULL;
    if (hash && hash->type == REDIS_REPLY_ARRAY && hash->elements)
        s_news (sse, hash);
    else if (hash && hash->type == REDIS_REPLY_ARRAY && !sse->status[0] && !sse->sent) {
        s_event (sse, "error",
                 "{\"error\":\"job not known (never submitted, untracked, or expired)\"}");
        sse->done = true;
    }
    else if (!hash && self->redis) {
        redisFree (self->redis);    //  reconnect at the next tick
        self->redis = NULL;
    }
    if (hash)
        freeReplyObject (hash);
}

void
gw_sse_set_tick (gw_sse_set_t *self, int64_t now_ms)
{
    for (gw_sse_t *sse = self->head; sse; sse = sse->next)
        if (!sse->done && sse->next_ms <= now_ms) {
            sse->next_ms = now_ms + GW_SSE_POLL_MS;
            s_read_job (self, sse);
        }
}

void
gw_sse_set_end_all (gw_sse_set_t *self)
{
    for (gw_sse_t *sse = self->head; sse; sse = sse->next)
        sse->done = true;
}

static ssize_t
s_reader (void *cls, uint64_t pos, char *buf, size_t max)
{
    gw_sse_t *sse = cls;
    if (sse->sent < sse->out.size) {
        size_t size = sse->out.size - sse->sent < max ? sse->out.size - sse->sent : max;
        memcpy (buf, sse->out.data + sse->sent, size);
        sse->sent += size;
        if (sse->sent == sse->out.size) {
            gw_buf_clear (&sse->out);    //  keep memory to what is unsent
            sse->sent = 0;
        }
        return (ssize_t) size;
    }
    return sse->done ? MHD_CONTENT_READER_END_OF_STREAM : 0;
}

static void
s_free (void *cls)
{
    gw_sse_t *sse = cls;
    gw_sse_set_t *set = sse->set;
    if (sse->prev)
        sse->prev->next = sse->next;
    else
        set->head = sse->next;
    if (sse->next)
        sse->next->prev = sse->prev;
    gw_buf_clear (&sse->out);
    free (sse);
}

void
gw_sse_start (gw_req_t *req, gw_sse_set_t *self, const char *id)
{
    gw_sse_t *sse = calloc (1, sizeof *sse);
    struct MHD_Response *response = sse
        ? MHD_create_response_from_callback (MHD_SIZE_UNKNOWN, 4096, s_reader, sse, s_free)
        : NULL;
    if (!response) {
        free (sse);
        gw_req_error (req, 500, "gateway: out of memory");
        return;
    }
    sse->set = self;
    snprintf (sse->id, sizeof sse->id, "%s", id);
    gw_buf_init (&sse->out);
    sse->next = self->head;
    if (self->head)
        self->head->prev = sse;
    self->head = sse;
    MHD_add_response_header (response, MHD_HTTP_HEADER_CONTENT_TYPE, "text/event-stream");
    MHD_add_response_header (response, MHD_HTTP_HEADER_CACHE_CONTROL, "no-cache");
    gw_req_respond (req, 200, response);
}
