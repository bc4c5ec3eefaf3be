/*  state.h: the broker's insides, shared by its files (not installed).
 *  broker.c runs the loop and wires the rest; clients.c is everything from
 *  and to clients, workers.c the worker table and everything from and to
 *  workers; jobs.c owns the job table, kinds, queues, dispatch, finish and
 *  requeue and decides, without socket I/O (it speaks through IO); intake.c
 *  records new jobs in Redis and keeps the limbo; recover.c rebuilds from
 *  Redis. */
#ifndef MAAS_BROKER_STATE_H
#define MAAS_BROKER_STATE_H

#include "auth.h"
#include "broker.h"
#include "list.h"
#include "codec.h"
#include "protocol.h"
#include "store.h"

#include <czmq.h>

#define BROKER_KINDS_MAX 64    //  distinct kinds (one bit each in a worker)

typedef struct _worker_t worker_t;
typedef struct _job_t job_t;
typedef struct _account_t account_t;
typedef struct _lane_t lane_t;

typedef enum {
    JOB_STORING,    //  waiting for Redis to acknowledge
    JOB_QUEUED,     //  in its kind's queue
    JOB_RUNNING     //  sent to a worker
} job_state_t;

//  A job's status as clients and Redis see it (docs/redis.md).
typedef enum {
    STATUS_QUEUED,
    STATUS_RUNNING,
    STATUS_SUCCEEDED,    //  the final ones: SUCCEEDED .. REJECTED
    STATUS_FAILED,
    STATUS_CANCELLED,
    STATUS_EXPIRED,
    STATUS_REJECTED,    //  only in Redis: a limbo job given up
    STATUS_COUNT
} status_t;

//  "queued", "running", ... indexed by status_t.
extern const char *const broker_status_names[STATUS_COUNT];

typedef struct {
    char name[MAAS_PROTO_KIND_MAX + 1];    //  "infer"
    int bit;                               //  index into worker kind masks (its slot in KINDS)
    bool announced;                        //  built in, or announced by a worker: kept for good
    size_t jobs;                           //  jobs of this kind held, in any state
    list_t queues[MAAS_PROTO_PRIORITY_MAX + 1];    //  per priority, the lanes taking turns, by TURN
    size_t queued;                                 //  jobs in the lanes of QUEUES
} kind_t;

//  A client holding jobs: what the per-client limits count (fair.c). Made
//  with its first job, freed with its last. Keyed by its routing id.
struct _account_t {
    char key[2 * MAAS_PROTO_PEER_MAX + 1];    //  routing id in hex (the table key)
    size_t jobs;                              //  jobs held from it, in any state
    size_t bytes;                             //  their header and payload bytes
    list_t lanes;                             //  its lanes with jobs queued, by BY_ACCOUNT
};

//  One client's queued jobs of one kind and priority. Dispatch takes a job
//  from each lane of a priority in turn, so a deep backlog from one client
//  delays another client's jobs by one job per turn, not by the backlog.
struct _lane_t {
    account_t *account;        //  whose jobs
    kind_t *kind;              //  of which kind
    int priority;              //  at which priority
    list_t jobs;               //  FIFO, by job LINK
    list_node_t turn;          //  on KIND's queues[PRIORITY]
    list_node_t by_account;    //  on ACCOUNT's lanes
};

struct _job_t {
    char id[MAAS_PROTO_ID_MAX + 1];    //  job id (the table key)
    kind_t *kind;                      //  its kind (owned by the broker)
    char model[MAAS_PROTO_MODEL_MAX + MAAS_PROTO_ALIAS_MAX
               + 24];                       //  "name@version" for cache matching, or ""
    int priority;                           //  0..9
    int64_t deadline_ms;                    //  wall ms, 0: none
    bool track;                             //  status kept in Redis
    bool durable;                           //  payload kept in Redis
    job_state_t state;                      //  where it is
    bool cancel;                            //  cancel asked while STORING or RUNNING
    bool client_moved;                      //  CLIENT changed while STORING: write it once accepted
    bool owed;                              //  being recovered: a RESULT now is kept for the client
    bool keep_header;                       //  the worker's RESULT header carries more than status
    int64_t started_ms;                     //  wall ms of the last dispatch
    int64_t limbo_until;                    //  monotonic ms: waiting for Redis past this, rejected
    int attempts;                           //  times sent to a worker
    int64_t submitted_ms;                   //  wall ms
    uint8_t client[MAAS_PROTO_PEER_MAX];    //  routing id of the client to answer
    size_t client_size;                     //  its length
    zmq_msg_t header;                       //  SUBMIT header, forwarded as JOB's
    zmq_msg_t payload;                      //  input bytes
    worker_t *worker;                       //  running on, or NULL
    account_t *account;                     //  the submitter's account (fair.c)
    size_t bytes;                           //  header and payload bytes, charged to ACCOUNT
    lane_t *lane;                           //  queued in, or NULL
    list_node_t link;                       //  on its lane, its worker's running list, or the limbo
    maas_broker_t *broker;                  //  owner (for store callbacks)
};

struct _worker_t {
    uint8_t identity[MAAS_PROTO_PEER_MAX];    //  routing id
    size_t identity_size;                     //  its length
    char name[64];                            //  as announced
    uint64_t kinds;                           //  bit per kind served
    int credits;                              //  most jobs at once
    int inflight;                             //  jobs it holds now
    char *models;                             //  ",iris@3,digits@1," cached models, owned
    int64_t expires_ms;                       //  monotonic: dead if silent past this
    list_t running;                           //  jobs it holds, by LINK
};

typedef struct {
    uint64_t submitted, accepted, rejected, succeeded, failed, cancelled, expired;
    uint64_t requeued, bad_input, finished_at_tick;    //  counters since start
    uint64_t unauthorised;                             //  messages refused for their key's rights
    uint64_t over_limit_workers;                       //  READYs refused past --max-workers
} stats_t;

//  How the deciding files (jobs.c, intake.c, recover.c) speak: clients.c
//  and workers.c send, broker.c wires them in (broker_io_default); an
//  in-process test may record instead (tests/check_broker_core.c).
typedef struct {
    //  To CLIENT: CMD (ACCEPTED, REJECTED) with {id, status?, reason?, error?}.
    void (*reply) (maas_broker_t *self, const uint8_t *client, size_t client_size, int cmd,
                   const char *id, const char *status, const char *reason, const char *error);
    //  JOB's RESULT (HEADER bytes; PAYLOAD moved, or NULL) to its client.
    void (*result) (maas_broker_t *self, const job_t *job, const void *header, size_t header_size,
                    zmq_msg_t *payload);
    //  To CLIENT, about job ID, from a store reply [status, error, rheader, result].
    void (*answer) (maas_broker_t *self, const uint8_t *client, size_t client_size, const char *id,
                    redisReply *fields);
    //  A worker's PROGRESS header about JOB, to its client.
    void (*progress) (maas_broker_t *self, const job_t *job, const void *header,
                      size_t header_size);
    //  Send JOB to WORKER (JOB's header and a reference to its payload).
    void (*run) (maas_broker_t *self, job_t *job, worker_t *worker);
    //  Ask the worker running JOB to cancel it.
    void (*cancel) (maas_broker_t *self, job_t *job);
} broker_io_t;

struct _maas_broker_t {
    maas_broker_config_t config;    //  copy; strings below are owned copies
    broker_io_t io;                 //  how jobs.c and intake.c speak
    char *frontend_ep, *backend_ep, *redis_url, *prefix, *name;    //  owned
    zsock_t *frontend;                                             //  ROUTER for clients
    zsock_t *backend;                                              //  ROUTER for workers
    void *front;                                                   //  libzmq handle of FRONTEND
    void *back;                                                    //  libzmq handle of BACKEND
    maas_store_t *store;                                           //  Redis job store, NULL if none
    maas_auth_t *auth;                  //  CurveZMQ keys and rights, NULL: open broker
    zhashx_t *jobs;                     //  id → job_t, owns entries
    zhashx_t *accounts;                 //  routing id hex → account_t, owns entries
    size_t bytes;                       //  header and payload bytes of every job held
    kind_t *kinds[BROKER_KINDS_MAX];    //  owned; NULL: a free slot (bit)
    worker_t **workers;                 //  owned, WORKER_COUNT used
    size_t worker_count;                //  workers alive
    size_t worker_size;                 //  WORKERS capacity
    msgpack_unpacked scratch;           //  reused header decoding space
    size_t deadlines;                   //  queued jobs with a deadline
    list_t limbo;                       //  new jobs whose recording the store lost, to send again
    zlistx_t *owed;                     //  owed_t: RESULTs made while recovering, kept until
                                        //  their client speaks (it was not connected yet)
    zlistx_t *unsure;                   //  ids rejected from the limbo: their writes may land
                                        //  late; marked "rejected" on the next connection
    bool dirty;                         //  something to dispatch
    bool loaded;                        //  pending jobs were read back from Redis
    bool stopping;                      //  _stop was called
    int64_t heartbeat_at;               //  next heartbeat round, monotonic ms
    int64_t sweep_at;                   //  next deadline sweep, monotonic ms
    int64_t stats_at;                   //  next stats write, monotonic ms
    int64_t started_ms;                 //  wall ms at start
    int64_t now_mono;                   //  monotonic ms, read once per loop turn
    int64_t now_wall;                   //  wall ms, read once per loop turn
    stats_t stats;                      //  counters
    int64_t overload_logged;            //  monotonic ms of the last "overloaded" log line
    uint64_t overload_unlogged;         //  overloaded rejections since that line
    int64_t over_limit_logged;          //  monotonic ms of the last "worker over limit" line
};

//  broker.c
//  Decode MSG's header frame into MAP (borrowing self->scratch); -1 with a
//  message in ERR ("header: expected a map, got array") if it is missing or bad.
int broker_header_map (maas_broker_t *self, maas_proto_msg_t *msg, maas_codec_map_t *map, char *err,
                       size_t err_size);
//  One turn of the loop: poll (at most TIMEOUT_MAX ms; -1: until the next
//  timer), read every socket, dispatch, run the timers, write Redis.
//  Returns 0, or -1 if polling failed.
int broker_turn (maas_broker_t *self, long timeout_max);
//  The IO that sends on the broker's own sockets (clients.c, workers.c).
broker_io_t broker_io_default (void);

//  jobs.c: statuses
//  The status called TEXT (LEN bytes), or STATUS_COUNT if none is.
status_t broker_status_parse (const char *text, size_t len);
//  true for the statuses a job ends with (succeeded, failed, cancelled, expired).
bool broker_status_final (status_t status);

//  jobs.c: kinds
//  The kind called NAME, or NULL if none is held.
kind_t *broker_kind (maas_broker_t *self, const char *name);
//  The kind called NAME, made if new (ANNOUNCED: by a worker, kept for
//  good; else for waiting jobs, freed once it has none). NULL if the table
//  is full of kinds in use.
kind_t *broker_kind_add (maas_broker_t *self, const char *name, bool announced);
//  Free the kinds no worker announced that hold no job.
void broker_kinds_trim (maas_broker_t *self);

//  jobs.c: jobs
//  The job whose link is NODE (NULL stays NULL).
#define BROKER_JOB(node) LIST_ITEM (node, job_t, link)
//  A job from SPEC, of KIND, in no table yet (NULL: out of memory).
job_t *broker_job_new (maas_broker_t *self, const maas_proto_job_t *spec, kind_t *kind);
void broker_job_destroy (job_t **job_p);
//  Queue JOB (not queued, on no worker) at the tail of its client's lane,
//  or the head. -1 if out of memory: JOB failed and is freed.
int broker_job_enqueue (maas_broker_t *self, job_t *job, bool front);
void broker_job_unqueue (maas_broker_t *self, job_t *job);
//  Final status: record it, answer the client (HEADER/PAYLOAD forwarded if
//  given, moved), free the job.
void broker_job_finish (maas_broker_t *self, job_t *job, status_t status, const char *error,
                        zmq_msg_t *header, zmq_msg_t *payload);
//  A worker lost JOB: queue it again, or fail it past max attempts.
void broker_job_requeue (maas_broker_t *self, job_t *job, const char *why);
//  The client cancels JOB: finished if queued, asked of its worker if running.
void broker_job_cancel (maas_broker_t *self, job_t *job);
//  JOB's worker reports PROGRESS (MESSAGE: MESSAGE_SIZE bytes or NULL):
//  record it, pass HEADER on to the client.
void broker_job_progress (maas_broker_t *self, job_t *job, double progress, const char *message,
                          size_t message_size, const void *header, size_t header_size);
//  Write JOB's client routing id to its record (the client that last spoke).
void broker_job_save_client (maas_broker_t *self, job_t *job);
//  Send queued jobs to workers with credit (via IO.run); expire the late.
void broker_dispatch (maas_broker_t *self);
void broker_sweep_deadlines (maas_broker_t *self);

//  intake.c
//  Record a new tracked job in Redis; it is queued when acknowledged. If
//  the store is down, or its connection is lost first, the job waits
//  (limbo) for the next connection until the outage is --redis-timeout
//  old, then is rejected.
void broker_job_store (maas_broker_t *self, job_t *job);
//  Reject the jobs that waited in limbo past their time (Redis still away).
void broker_limbo_expire (maas_broker_t *self, int64_t now);

//  clients.c
//  A message from a client: answered, always.
void broker_frontend (maas_broker_t *self, maas_proto_msg_t *msg);
//  IO.reply, IO.result, IO.answer, IO.progress on the frontend.
void broker_client_reply (maas_broker_t *self, const uint8_t *client, size_t client_size, int cmd,
                          const char *id, const char *status, const char *reason,
                          const char *error);
void broker_client_result (maas_broker_t *self, const job_t *job, const void *header,
                           size_t header_size, zmq_msg_t *payload);
void broker_client_answer (maas_broker_t *self, const uint8_t *client, size_t client_size,
                           const char *id, redisReply *fields);
void broker_client_progress (maas_broker_t *self, const job_t *job, const void *header,
                             size_t header_size);
//  Keep a RESULT header for CLIENT, sent when it next speaks (copied).
void broker_owe (maas_broker_t *self, const uint8_t *client, size_t client_size, const void *header,
                 size_t header_size);
//  Send CLIENT the RESULTs kept for it.
void broker_pay (maas_broker_t *self, const uint8_t *client, size_t client_size);

//  workers.c
//  A message from a worker (bad ones logged and dropped).
void broker_backend (maas_broker_t *self, maas_proto_msg_t *msg);
//  Heartbeat every worker; drop those silent past their liveness.
void broker_heartbeat (maas_broker_t *self, int64_t now);
//  Drop worker INDEX, queueing its jobs again (WHY is logged and recorded).
void broker_worker_destroy (maas_broker_t *self, size_t index, const char *why);
//  IO.run and IO.cancel on the backend.
void broker_worker_run (maas_broker_t *self, job_t *job, worker_t *worker);
void broker_worker_cancel (maas_broker_t *self, job_t *job);

//  gate.c: with CURVE on, what a peer's key allows, checked as messages arrive
//  Go on with a client message (true), or drop it: its key was removed (a
//  SUBMIT goes on, to be refused by broker_gate_submit with its id).
bool broker_gate_client (maas_broker_t *self, maas_proto_msg_t *msg);
//  Go on with a worker message (true), or drop it and forget its worker.
bool broker_gate_worker (maas_broker_t *self, maas_proto_msg_t *msg);
//  May the sender of MSG submit a job of KIND? If not, answers REJECTED
//  "unauthorised" (via IO.reply) and returns false.
bool broker_gate_submit (maas_broker_t *self, maas_proto_msg_t *msg, const char *id,
                         const char *kind);

//  fair.c: accounts and lanes
//  May the client with routing id CLIENT (SIZE bytes) be given a new job of
//  BYTES bytes? 0, or -1 with why in ERR: a limit (--max-bytes,
//  --max-clients, --max-client-jobs, --max-client-bytes) would be passed.
int broker_admit (maas_broker_t *self, const uint8_t *client, size_t size, size_t bytes, char *err,
                  size_t err_size);
//  Charge JOB (its header and payload set) to the account of CLIENT, made
//  if new: recovered jobs are charged without broker_admit. -1 if out of
//  memory (JOB is left uncharged).
int broker_charge (maas_broker_t *self, job_t *job, const uint8_t *client, size_t size);
//  Give JOB's bytes back to its account, freed once it holds no job.
void broker_discharge (maas_broker_t *self, job_t *job);
//  Queue JOB (charged, on no lane) at the tail of its client's lane, or the
//  head with the lane first in its turn. -1 if out of memory for a lane.
int broker_lane_push (job_t *job, bool front);
//  Take JOB off its lane. If the lane had its turn and JOB was its first
//  (dispatched, most often), the turn passes to the next lane. A lane left
//  empty is freed.
void broker_lane_remove (job_t *job);
//  The next job to dispatch of KIND: highest priority, then whose turn.
job_t *broker_lane_next (const kind_t *kind);
//  The lane whose turn link is NODE (NULL stays NULL).
#define BROKER_LANE(node) LIST_ITEM (node, lane_t, turn)

//  recover.c
//  Read this broker's pending jobs back from Redis and queue them again.
void broker_recover (maas_broker_t *self);
//  A fresh store connection (Redis back, or a new master after a
//  failover): write back every tracked job held, send the limbo again.
void broker_restore (maas_broker_t *self);

#endif
