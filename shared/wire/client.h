/*  client.h: the producer side of maas. Submit jobs to one or more brokers
 *  asynchronously, then get results through a callback or by waiting on ids.
 *  One client is one DEALER socket; use it from one thread. See
 *  docs/client.md for examples and docs/protocol.md for the guarantees. */
#ifndef MAAS_CLIENT_H
#define MAAS_CLIENT_H

#include "export.h"

#include "err.h"
#include "protocol.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct _maas_client_t maas_client_t;

//  What to run. Zero it, then set at least KIND; the rest has defaults.
typedef struct {
    const char *id;         //  job id; NULL: the client makes a new one
    const char *kind;       //  "infer", "train", ... (required)
    const char *model;      //  model name, NULL if none
    int64_t version;        //  model version, 0: not given
    const char *alias;      //  or a version alias ("production"), NULL if none
    int priority;           //  0..9, higher first
    int64_t deadline_ms;    //  wall-clock ms after which it must not start; 0: none
    bool untracked;         //  true: no status in Redis (see docs/protocol.md)
    bool ephemeral;         //  true: payload not kept in Redis (lost on broker restart)
    const void *params;     //  one msgpack value sent as "params", or NULL
    size_t params_size;     //  its size
} maas_submit_t;

//  The outcome of a job, as the client sees it. Borrowed by callbacks;
//  returned by maas_client_wait as the caller's (maas_result_destroy).
typedef struct {
    char id[MAAS_PROTO_ID_MAX + 1];    //  job id
    char status[16];                   //  succeeded failed cancelled expired rejected lost
    char *error;                       //  reason when not succeeded, else NULL; owned
    void *data;                        //  output payload (may be NULL when SIZE is 0); owned
    size_t size;                       //  its size
    void *header;                      //  the RESULT header, msgpack bytes; owned
    size_t header_size;                //  its size
} maas_result_t;

//  Called once per job with its outcome (RESULT or REJECTED), from inside
//  maas_client_poll / _wait / _wait_all. RESULT is borrowed for the call.
typedef void (maas_result_fn) (const maas_result_t *result, void *arg);

//  Called for each PROGRESS a worker reports on a job this client awaits:
//  PROGRESS in 0..1 and the worker's MESSAGE ("epoch=3/10 ...", "" if none;
//  borrowed for the call). From inside maas_client_poll / _wait / _wait_all,
//  always before that job's result.
typedef void (maas_progress_fn) (const char *id, double progress, const char *message, void *arg);

//  false when RESULT failed and its worker said the failure would be the
//  same on any worker ("retryable": false: unknown model, bad input), so
//  running it again is pointless; true otherwise.
MAAS_EXPORT bool maas_result_retryable (const maas_result_t *result);
//  Free a result and NULL the pointer; safe on NULL.
MAAS_EXPORT void maas_result_destroy (maas_result_t **result_p);

//  ---------------------------------------------------------------------------
//  Lifecycle

//  Connect to ENDPOINTS, one or more broker frontends separated by commas
//  ("tcp://10.0.0.1:5555,tcp://10.0.0.2:5555"); jobs go round-robin to
//  connected brokers. Returns NULL with the reason in ERR (may be NULL):
//  "client: cannot connect to 'tcp//x': not an endpoint (tcp://HOST:PORT,
//  ipc://PATH, inproc://NAME)".
MAAS_EXPORT maas_client_t *maas_client_new (const char *endpoints, maas_err_t *err);
MAAS_EXPORT void maas_client_destroy (maas_client_t **self_p);
//  Why the last call failed ("job 01H...: not known to this client").
MAAS_EXPORT const char *maas_client_error (const maas_client_t *self);
//  How long a job may go without news before the client asks again
//  (resends an unanswered SUBMIT, or FETCHes an accepted job's result, which
//  is how results survive a broker restart). Default 2000 ms.
MAAS_EXPORT void maas_client_set_retry (maas_client_t *self, int retry_ms);
//  Largest number of jobs in flight; maas_client_submit polls until there
//  is room. Default 10000.
MAAS_EXPORT void maas_client_set_window (maas_client_t *self, int window);
//  Talk CurveZMQ to the brokers: our key pair from SECRET_PATH (a `maas
//  keygen` NAME_secret file), the brokers' public key from BROKER_PATH. Both
//  NULL: nothing happens (a program's main reads $MAAS_CURVE_KEY and
//  $MAAS_BROKER_KEY and passes them). Reconnects: call it before submitting.
//  Returns 0, or -1 with the reason (a file missing or not a key: then the
//  client is unchanged).
MAAS_EXPORT int maas_client_set_curve (maas_client_t *self, const char *secret_path,
                                       const char *broker_path);
//  Call FN (with ARG) on every job's progress reports; NULL: ignore them
//  (the default; they still count as news of the job).
MAAS_EXPORT void maas_client_set_progress (maas_client_t *self, maas_progress_fn *fn, void *arg);

//  ---------------------------------------------------------------------------
//  Jobs

//  Send a job with PAYLOAD (SIZE bytes, copied; may be NULL, 0). If FN is
//  not NULL, it is called with the outcome; otherwise the result is kept
//  for maas_client_wait. Writes the job's id into ID_OUT if not NULL.
//  Returns 0, or -1 (bad spec, id already in flight) with the reason.
MAAS_EXPORT int maas_client_submit (maas_client_t *self, const maas_submit_t *spec,
                                    const void *payload, size_t size, maas_result_fn *fn, void *arg,
                                    char id_out[MAAS_PROTO_ID_MAX + 1]);
//  Ask the brokers to cancel job ID: queued jobs are dropped, running ones
//  are told to stop. The outcome still arrives as a result ("cancelled", or
//  another status if the job finished first). Returns 0 or -1.
MAAS_EXPORT int maas_client_cancel (maas_client_t *self, const char *id);
//  Ask for the result of a job this client did not submit (or submitted in
//  an earlier run): it is then awaited like a submitted one. Returns 0 or -1.
MAAS_EXPORT int maas_client_fetch (maas_client_t *self, const char *id, maas_result_fn *fn,
                                   void *arg);
//  Stop awaiting job ID: its callback will not be called and its result not
//  kept, whatever arrives later (the job itself goes on unless cancelled).
//  For a caller about to free the callback's argument. Returns 0, or -1
//  if ID is not awaited.
MAAS_EXPORT int maas_client_forget (maas_client_t *self, const char *id);

//  Handle what the brokers sent, waiting up to TIMEOUT_MS (0: do not wait,
//  -1: forever) for the first message, then draining what is there.
//  Calls callbacks. Returns the number of jobs finished, or -1 on interrupt.
MAAS_EXPORT int maas_client_poll (maas_client_t *self, int timeout_ms);
//  Wait up to TIMEOUT_MS (-1: forever) for job ID (submitted without a
//  callback) and return its result, the caller's; NULL on timeout or if ID
//  is unknown (maas_client_error says which).
MAAS_EXPORT maas_result_t *maas_client_wait (maas_client_t *self, const char *id, int timeout_ms);
//  Wait until no job is in flight, or TIMEOUT_MS passes. Returns the number
//  still in flight (0: all done).
MAAS_EXPORT int maas_client_wait_all (maas_client_t *self, int timeout_ms);
//  Jobs submitted whose outcome has not arrived yet.
MAAS_EXPORT size_t maas_client_pending (const maas_client_t *self);
//  The client's libzmq socket (borrowed), for a caller that polls it in
//  its own zmq_poll with other sockets or fds (the HTTP gateway), then
//  calls maas_client_poll (self, 0) when it is readable. Under CURVE the
//  client makes a new socket when a broker refused its key: ask again
//  before each zmq_poll.
MAAS_EXPORT void *maas_client_socket (maas_client_t *self);

//  Round trip to a broker: 0 if a PONG came within TIMEOUT_MS, else -1.
MAAS_EXPORT int maas_client_ping (maas_client_t *self, int timeout_ms);

#ifdef __cplusplus
}
#endif

#endif
