/*  engine.h: the broker's insides, shared by its files (not installed).
 *  broker.c runs the loop, frontend.c serves clients, backend.c workers,
 *  jobs.c owns jobs, queues and dispatch, recover.c rebuilds from Redis. */
#ifndef MAAS_BROKER_ENGINE_H
#define MAAS_BROKER_ENGINE_H

#include "auth.h"
#include "broker.h"
#include "protocol.h"
#include "store.h"

#include <czmq.h>

#define ENGINE_KINDS_MAX 64         //  distinct kinds (one bit each in a worker)

typedef struct _worker_t worker_t;
typedef struct _job_t job_t;

typedef enum {
    JOB_STORING,                    //  waiting for Redis to acknowledge
    JOB_QUEUED,                     //  in its kind's queue
    JOB_RUNNING                     //  sent to a worker
} job_state_t;

typedef struct {
    job_t *head;                    //  oldest job of this priority
    job_t *tail;                    //  newest
} fifo_t;

typedef struct {
    char name[MAAS_PROTO_KIND_MAX + 1];   //  "infer"
    int bit;                        //  index into worker kind masks
    fifo_t queues[MAAS_PROTO_PRIORITY_MAX + 1]; //  one FIFO per priority
    size_t queued;                  //  jobs in QUEUES
} kind_t;

struct _job_t {
    char id[MAAS_PROTO_ID_MAX + 1]; //  job id (the table key)
    kind_t *kind;                   //  its kind (owned by the broker)
    char model[MAAS_PROTO_MODEL_MAX + MAAS_PROTO_ALIAS_MAX + 24]; //  "name@version" for cache matching, or ""
    int priority;                   //  0..9
    int64_t deadline_ms;            //  wall ms, 0: none
    bool track;                     //  status kept in Redis
    bool durable;                   //  payload kept in Redis
    job_state_t state;              //  where it is
    bool cancel;                    //  cancel asked while STORING or RUNNING
    bool keep_header;               //  the worker's RESULT header carries more than status
    int64_t started_ms;             //  wall ms of the last dispatch
    bool dropped;                   //  broker let go while STORING: free on the reply
    int64_t limbo_until;            //  monotonic ms: waiting for Redis past this, rejected
    int attempts;                   //  times sent to a worker
    int64_t submitted_ms;           //  wall ms
    uint8_t client[MAAS_PROTO_PEER_MAX]; //  routing id of the client to answer
    size_t client_size;             //  its length
    zmq_msg_t header;               //  SUBMIT header, forwarded as JOB's
    zmq_msg_t payload;              //  input bytes
    worker_t *worker;               //  running on, or NULL
    job_t *prev, *next;             //  links in a FIFO, a worker's running list or the limbo
    maas_broker_t *broker;          //  owner (for store callbacks)
};

struct _worker_t {
    uint8_t identity[MAAS_PROTO_PEER_MAX]; //  routing id
    size_t identity_size;           //  its length
    char name[64];                  //  as announced
    uint64_t kinds;                 //  bit per kind served
    int credits;                    //  most jobs at once
    int inflight;                   //  jobs it holds now
    char *models;                   //  ",iris@3,digits@1," cached models, owned
    int64_t expires_ms;             //  monotonic: dead if silent past this
    job_t *running;                 //  jobs it holds, linked by prev/next
};

typedef struct {
    uint64_t submitted, accepted, rejected, succeeded, failed, cancelled, expired;
    uint64_t requeued, bad_input, finished_at_tick;   //  counters since start
    uint64_t unauthorised;          //  messages refused for their key's rights
} stats_t;

struct _maas_broker_t {
    maas_broker_config_t config;    //  copy; strings below are owned copies
    char *frontend_ep, *backend_ep, *redis_url, *prefix, *name; //  owned
    zsock_t *frontend;              //  ROUTER for clients
    zsock_t *backend;               //  ROUTER for workers
    void *front;                    //  libzmq handle of FRONTEND
    void *back;                     //  libzmq handle of BACKEND
    maas_store_t *store;            //  Redis job store, NULL if none
    maas_auth_t *auth;              //  CurveZMQ keys and rights, NULL: open broker
    zhashx_t *jobs;                 //  id → job_t, owns entries
    kind_t *kinds[ENGINE_KINDS_MAX]; //  owned, KIND_COUNT used
    int kind_count;                 //  kinds seen
    worker_t **workers;             //  owned, WORKER_COUNT used
    size_t worker_count;            //  workers alive
    size_t worker_size;             //  WORKERS capacity
    msgpack_unpacked scratch;       //  reused header decoding space
    size_t deadlines;               //  queued jobs with a deadline
    job_t *limbo;                   //  new jobs whose recording the store lost, to send again
    zlistx_t *unsure;               //  ids rejected from the limbo: their writes may land
                                    //  late; marked "rejected" on the next connection
    bool dirty;                     //  something to dispatch
    bool loaded;                    //  pending jobs were read back from Redis
    bool stopping;                  //  _stop was called
    int64_t heartbeat_at;           //  next heartbeat round, monotonic ms
    int64_t sweep_at;               //  next deadline sweep, monotonic ms
    int64_t stats_at;               //  next stats write, monotonic ms
    int64_t started_ms;             //  wall ms at start
    int64_t now_mono;               //  monotonic ms, read once per loop turn
    int64_t now_wall;               //  wall ms, read once per loop turn
    stats_t stats;                  //  counters
};

//  jobs.c
kind_t *engine_kind (maas_broker_t *self, const char *name);
job_t *engine_job_new (maas_broker_t *self, const maas_proto_job_t *spec, kind_t *kind);
void engine_job_destroy (job_t **job_p);
void engine_job_enqueue (maas_broker_t *self, job_t *job, bool front);
void engine_job_unqueue (maas_broker_t *self, job_t *job);
//  Final status: record it, answer the client (HEADER/PAYLOAD forwarded if
//  given, moved), free the job.
void engine_job_finish (maas_broker_t *self, job_t *job, const char *status, const char *error,
                        zmq_msg_t *header, zmq_msg_t *payload);
//  A worker lost JOB: queue it again, or fail it past max attempts.
void engine_job_requeue (maas_broker_t *self, job_t *job, const char *why);
void engine_dispatch (maas_broker_t *self);
void engine_sweep_deadlines (maas_broker_t *self);
//  Record a new tracked job in Redis; it is queued when acknowledged. If
//  the store is down, or its connection is lost first, the job waits
//  (limbo) for the next connection until the outage is --redis-timeout
//  old, then is rejected.
void engine_job_store (maas_broker_t *self, job_t *job);
//  Reject the jobs that waited in limbo past their time (Redis still away).
void engine_limbo_expire (maas_broker_t *self, int64_t now);
//  Answer a client about a job from a store reply [status, error, rheader, result].
void engine_answer_stored (maas_broker_t *self, const uint8_t *client, size_t client_size,
                           const char *id, redisReply *fields);

//  frontend.c / backend.c
void engine_frontend (maas_broker_t *self, maas_proto_msg_t *msg);
void engine_backend (maas_broker_t *self, maas_proto_msg_t *msg);
void engine_heartbeat (maas_broker_t *self, int64_t now);
void engine_worker_destroy (maas_broker_t *self, size_t index, const char *why);
//  Send CMD to a client with a {id, status?, reason?, error?} header.
void engine_reply (maas_broker_t *self, const uint8_t *client, size_t client_size, int cmd,
                   const char *id, const char *status, const char *reason, const char *error);

//  gate.c: with CURVE on, what a peer's key allows, checked as messages arrive
//  Go on with a client message (true), or drop it: its key was removed (a
//  SUBMIT goes on, to be refused by engine_gate_submit with its id).
bool engine_gate_client (maas_broker_t *self, maas_proto_msg_t *msg);
//  Go on with a worker message (true), or drop it and forget its worker.
bool engine_gate_worker (maas_broker_t *self, maas_proto_msg_t *msg);
//  May the sender of MSG submit a job of KIND? If not, answers REJECTED
//  "unauthorised" and returns false.
bool engine_gate_submit (maas_broker_t *self, maas_proto_msg_t *msg, const char *id,
                         const char *kind);

//  recover.c
void engine_recover (maas_broker_t *self);
//  A fresh store connection (Redis back, or a new master after a
//  failover): write back every tracked job held, send the limbo again.
void engine_restore (maas_broker_t *self);

#endif
