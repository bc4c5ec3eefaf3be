/*  worker.h: the worker side of maas. Connect to one or more brokers,
 *  announce the job kinds served, how many jobs may be held at once
 *  (credits) and which models are cached; then receive jobs and reply.
 *  No threads: heartbeats, cancels and reconnects are handled inside
 *  maas_worker_recv and maas_worker_tick, which a worker computing a long
 *  job calls between batches (see docs/client.md). Use from one thread. */
#ifndef MAAS_WORKER_H
#define MAAS_WORKER_H

#include "export.h"

#include "err.h"
#include "protocol.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct _maas_worker_t maas_worker_t;
typedef struct _maas_work_t maas_work_t;

//  Defaults for maas_worker_set_heartbeat.
#define MAAS_WORKER_HEARTBEAT_MS 1000
#define MAAS_WORKER_LIVENESS     3

//  ---------------------------------------------------------------------------
//  Lifecycle

//  Connect to ENDPOINTS (broker backends, comma-separated) and serve KINDS
//  ("infer", or "infer,train"), holding at most CREDITS jobs per broker.
//  NAME labels the worker in logs and Redis (NULL: "worker-<pid>").
//  READY is sent on the first maas_worker_recv or _tick. NULL with the
//  reason in ERR (may be NULL): "worker: cannot connect to 'tcp//x': not an
//  endpoint (tcp://HOST:PORT, ipc://PATH, inproc://NAME)".
MAAS_EXPORT maas_worker_t *maas_worker_new (const char *endpoints, const char *kinds, int credits,
                                            const char *name, maas_err_t *err);
//  Tell the brokers we are leaving (DISCONNECT), close, free, NULL.
MAAS_EXPORT void maas_worker_destroy (maas_worker_t **self_p);
//  Heartbeat every INTERVAL_MS; a broker silent for LIVENESS intervals is
//  presumed dead and reconnected. Must match the broker's settings.
MAAS_EXPORT void maas_worker_set_heartbeat (maas_worker_t *self, int interval_ms, int liveness);
//  Replace the list of cached models ("iris@3", comma-separated; NULL or ""
//  for none) and announce it, so brokers prefer this worker for them.
MAAS_EXPORT void maas_worker_set_models (maas_worker_t *self, const char *models);
//  Talk CurveZMQ to the brokers: our key pair from SECRET_PATH (a `maas
//  keygen` NAME_secret file), the brokers' public key from BROKER_PATH.
//  Reopens every link (a fresh READY). Returns 0, or -1 with the reason
//  (a file missing or not a key: then the worker is unchanged).
MAAS_EXPORT int maas_worker_set_curve (maas_worker_t *self, const char *secret_path,
                                       const char *broker_path);
//  Why the last call failed.
MAAS_EXPORT const char *maas_worker_error (const maas_worker_t *self);
//  The name it gives brokers ("worker-<pid>" when none was given); borrowed.
MAAS_EXPORT const char *maas_worker_name (const maas_worker_t *self);

//  ---------------------------------------------------------------------------
//  Jobs

//  Wait up to TIMEOUT_MS (0: do not wait, -1: until interrupted) for a job.
//  Returns the job (the caller's: finish it with _reply, _fail or
//  _abandon), or NULL on timeout or interrupt (zsys_interrupted).
MAAS_EXPORT maas_work_t *maas_worker_recv (maas_worker_t *self, int timeout_ms);
//  Between batches of a long job: send a heartbeat if due and handle what
//  brokers sent (CANCEL marks jobs, HEARTBEAT keeps them alive, jobs that
//  arrive are queued for the next _recv). Never blocks. Returns 0, or -1 if
//  interrupted.
MAAS_EXPORT int maas_worker_tick (maas_worker_t *self);

//  Reply to WORK with status "succeeded" and DATA (SIZE bytes, copied).
//  META, if not NULL, is msgpack map bytes (META_SIZE) sent under "meta"
//  in the RESULT header (timings, metrics). Takes WORK, NULLs the pointer.
//  Returns 0, or -1 if the broker could not be written to.
MAAS_EXPORT int maas_worker_reply (maas_worker_t *self, maas_work_t **work_p, const void *data,
                                   size_t size, const void *meta, size_t meta_size);
//  Same with a zmq_msg_t payload, moved (no copy for large outputs).
MAAS_EXPORT int maas_worker_reply_msg (maas_worker_t *self, maas_work_t **work_p,
                                       zmq_msg_t *payload, const void *meta, size_t meta_size);
//  Reply "failed" with ERROR, a reason a person can act on; or
//  "cancelled" when the job was cancelled (maas_work_cancelled). The
//  failure is taken as transient ("retryable": true).
MAAS_EXPORT int maas_worker_fail (maas_worker_t *self, maas_work_t **work_p, const char *error);
//  The same, saying whether running the job again could succeed: RETRYABLE
//  false when the failure would be the same on any worker (unknown model,
//  malformed input), true for a transient one (Redis unavailable, out of
//  memory). META, if not NULL, is msgpack map bytes sent under "meta"
//  (what failed, e.g. the input row). Takes WORK. 0, or -1.
MAAS_EXPORT int maas_worker_fail_with (maas_worker_t *self, maas_work_t **work_p, const char *error,
                                       bool retryable, const void *meta, size_t meta_size);
//  Report PROGRESS (0..1) and an optional MESSAGE; also a heartbeat.
MAAS_EXPORT int maas_worker_progress (maas_worker_t *self, maas_work_t *work, double progress,
                                      const char *message);
//  Drop WORK without replying (the broker re-queues it when this worker
//  disconnects or goes silent). For shutdown paths.
MAAS_EXPORT void maas_work_destroy (maas_work_t **work_p);

//  ---------------------------------------------------------------------------
//  What a job holds (all borrowed from WORK, valid until it is finished)

//  id, kind, model, version, priority, deadline (params_obj is NULL here:
//  use maas_work_params).
MAAS_EXPORT const maas_proto_job_t *maas_work_job (const maas_work_t *work);
//  The job's "params" value (NULL if none), decoded on first call.
MAAS_EXPORT const msgpack_object *maas_work_params (const maas_work_t *work);
MAAS_EXPORT const void *maas_work_data (const maas_work_t *work);    //  input payload
MAAS_EXPORT size_t maas_work_size (const maas_work_t *work);         //  its size
//  true once a CANCEL for this job arrived (seen in _recv or _tick).
MAAS_EXPORT bool maas_work_cancelled (const maas_work_t *work);

#ifdef __cplusplus
}
#endif

#endif
