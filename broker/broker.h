/*  broker.h: the maas-broker engine, apart from main so tests and
 *  benchmarks can link it. Clients talk to the frontend ROUTER, workers to
 *  the backend ROUTER; job status goes to Redis (broker/store.h). */
#ifndef MAAS_BROKER_H
#define MAAS_BROKER_H

#include "err.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct _maas_broker_t maas_broker_t;

//  Everything a broker is told at start (flags and environment, see main.c).
typedef struct {
    const char *frontend;     //  client endpoint to bind
    const char *backend;      //  worker endpoint to bind
    const char *redis_url;    //  job store; NULL: the default (main reads $MAAS_REDIS_URL)
    const char
        *redis_sentinels;        //  Sentinels that know the master, or NULL ($MAAS_REDIS_SENTINELS)
    const char *redis_master;    //  the master's name behind them; NULL: "mymaster"
    const char *prefix;          //  Redis key prefix ("maas:")
    const char *name;            //  this broker in Redis ("broker"); keep it across restarts
    bool status;                 //  keep job status in Redis (per-job "track" also)
    int heartbeat_ms;            //  heartbeat interval both ways
    int liveness;                //  intervals of silence before a worker is dead
    int max_attempts;            //  runs of a job before it fails (worker losses)
    size_t max_jobs;             //  jobs held (queued + running); past it: overloaded
    int64_t max_bytes;           //  header and payload bytes of the jobs held; past it: overloaded
    size_t max_clients;          //  clients holding jobs at once; a new one past it: overloaded
    size_t max_client_jobs;      //  jobs one client may hold; past it: overloaded
    int64_t max_client_bytes;    //  bytes one client's jobs may hold; past it: overloaded
    size_t max_workers;          //  workers and trainers at once; a new one past it is refused
    int64_t result_ttl_ms;       //  finished jobs expire in Redis after this
    int events_max;              //  approximate length cap of the events stream
    int redis_retry_ms;          //  delay between Redis reconnect attempts
    int redis_timeout_ms;        //  Redis replies overdue this long drop the connection; 0: never
    int64_t max_message;         //  largest frame accepted, bytes; a peer sending more is cut off
    const char *curve_secret;    //  broker's zcert secret file: CURVE on both sides; NULL: none
    const char *clients_dir;     //  public keys of the clients allowed (with curve_secret)
    const char *workers_dir;     //  public keys of the workers allowed (with curve_secret)
} maas_broker_config_t;

//  Fill CONFIG with the defaults (docs/protocol.md lists them).
void maas_broker_config_defaults (maas_broker_config_t *config);

//  Bind both endpoints and start connecting to Redis. NULL with the reason
//  in ERR (may be NULL): "broker: cannot bind 'tcp://*:5555': address
//  already in use", "broker: curve set-up: ...", "broker: bad Redis URL ...".
maas_broker_t *maas_broker_new (const maas_broker_config_t *config, maas_err_t *err);
//  Run until zsys_interrupted (SIGINT/SIGTERM) or _stop. Returns 0.
int maas_broker_run (maas_broker_t *self);
//  Ask a running loop to return (from a callback or another thread's signal).
void maas_broker_stop (maas_broker_t *self);
void maas_broker_destroy (maas_broker_t **self_p);

#endif
