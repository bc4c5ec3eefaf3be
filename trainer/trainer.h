/*  trainer.h: the maas-trainer engine: serves `train` jobs from brokers
 *  through the worker API, one at a time, and publishes each trained model
 *  as a new version in the registry. main.c is a thin shell over this. */
#ifndef MAAS_TRAINER_H
#define MAAS_TRAINER_H

#include "maas.h"

#include <stdbool.h>
#include <stddef.h>

typedef struct {
    const char *brokers;            //  broker backend endpoints, comma-separated
    const char *redis_url;          //  data sets and registry; NULL: the default
    const char *redis_sentinels;    //  Sentinels that know its master, or NULL
    const char *redis_master;       //  the master's name behind them (NULL: "mymaster")
    const char *prefix;             //  Redis key prefix; NULL: "maas:"
    const char *name;               //  this trainer in logs and job status; NULL: default
    const char *curve_key;          //  our secret key file for CurveZMQ, NULL: plain
    const char *broker_key;         //  the broker's public key file, with CURVE_KEY
    int heartbeat_ms;               //  worker heartbeat interval; 0: the API's default
    int liveness;                   //  missed heartbeats before a broker is dead; 0: default
    int poll_ms;                    //  how often a running job checks for cancel (ms)
} maas_trainer_config_t;

typedef struct _maas_trainer_t maas_trainer_t;

//  Defaults for every field (brokers tcp://127.0.0.1:5556, poll 50 ms).
maas_trainer_config_t maas_trainer_defaults (void);

//  New trainer connected to Redis and the brokers of CONFIG (strings are
//  copied). NULL with a reason in ERR if Redis cannot be reached or an
//  endpoint is malformed.
maas_trainer_t *maas_trainer_new (const maas_trainer_config_t *config, char *err, size_t err_size);
//  Leave the brokers, close connections, free; safe on NULL; NULLs *self_p.
void maas_trainer_destroy (maas_trainer_t **self_p);

//  Serve train jobs until interrupted (SIGINT/SIGTERM through czmq). A job
//  running when the signal comes stops at its next batch and is given back
//  to the broker unanswered (it is re-queued). Returns 0.
int maas_trainer_run (maas_trainer_t *self);

#endif
