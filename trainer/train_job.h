/*  train_job.h: one train job from start to answer: spec and data checked
 *  before training, training on a thread of its own while this one keeps
 *  the broker informed (progress, heartbeats, cancel), then the publish. */
#ifndef MAAS_TRAIN_JOB_H
#define MAAS_TRAIN_JOB_H

#include "maas.h"

//  What train jobs have done since the trainer started (its counters in
//  Redis, docs/redis.md).
typedef struct {
    uint64_t succeeded;    //  jobs that published a model
    uint64_t failed;       //  refused or failed (data, spec, training, publish)
    uint64_t cancelled;    //  cancelled while training
    uint64_t epochs;       //  epochs trained, all jobs
    uint64_t samples;      //  training rows seen, all epochs of all jobs
} maas_train_counters_t;

//  What a job needs from the trainer (all borrowed).
typedef struct {
    maas_worker_t *worker;              //  the broker connection jobs come from
    maas_dataset_store_t *store;        //  data sets
    maas_registry_t *registry;          //  where models are published
    int poll_ms;                        //  how often to check for cancel while training
    maas_train_counters_t *counters;    //  counted into
    void (*tick) (void *arg);           //  called every poll while training (NULL: none)
    void *tick_arg;                     //  its argument
} maas_train_job_env_t;

//  Run *WORK_P, a train job, to its end and answer it: "succeeded" with the
//  published version, "failed" with the reason, or "cancelled". Takes the
//  work (NULLs *WORK_P). When the process is interrupted meanwhile, training
//  stops at the next batch, the job is given back unanswered (the broker
//  re-queues it) and -1 is returned; otherwise 0.
int maas_train_job_run (const maas_train_job_env_t *env, maas_work_t **work_p);

#endif
