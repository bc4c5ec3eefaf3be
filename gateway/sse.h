/*  sse.h: GET /v1/jobs/ID/events as Server-Sent Events: each loop keeps the
 *  streams it serves and, every GW_SSE_POLL_MS, reads each job's hash in
 *  Redis: a "status" event when the status changes, "progress" when the
 *  progress does, and "result" (the job as GET /v1/jobs/ID shows it) at the
 *  end, which closes the stream. */
#ifndef GW_SSE_H
#define GW_SSE_H

#include "gateway.h"

#include <hiredis/hiredis.h>

#define GW_SSE_POLL_MS 200    //  how often a stream's job is read

typedef struct _gw_sse_set_t gw_sse_set_t;

//  The streams of one loop, reading Redis at REDIS_URL / PREFIX (borrowed).
gw_sse_set_t *gw_sse_set_new (const maas_redis_config_t *redis, const char *prefix);
//  Free; the streams must have ended (their connections closed) first.
void gw_sse_set_destroy (gw_sse_set_t **self_p);
//  Read the jobs of the streams due at NOW_MS; queue their events.
void gw_sse_set_tick (gw_sse_set_t *self, int64_t now_ms);
//  End every stream (the gateway stops).
void gw_sse_set_end_all (gw_sse_set_t *self);
//  Answer REQ with the event stream of job ID.
void gw_sse_start (gw_req_t *req, gw_sse_set_t *self, const char *id);

//  The job's hash as JSON (jobs.c): the body of GET /v1/jobs/ID.
void gw_jobs_json (gw_buf_t *buf, const char *id, const redisReply *hash);

#endif
