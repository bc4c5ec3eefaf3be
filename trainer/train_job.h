/*  train_job.h: one train job from start to answer: spec and data checked
 *  before training, training on a thread of its own while this one keeps
 *  the broker informed (progress, heartbeats, cancel), then the publish. */
#ifndef MAAS_TRAIN_JOB_H
#define MAAS_TRAIN_JOB_H

#include "maas.h"

//  What a job needs from the trainer (all borrowed).
typedef struct {
    maas_worker_t *worker;          //  the broker connection jobs come from
    maas_dataset_store_t *store;    //  data sets
    maas_registry_t *registry;      //  where models are published
    int poll_ms;                    //  how often to check for cancel while training
} maas_train_job_env_t;

//  Run *WORK_P, a train job, to its end and answer it: "succeeded" with the
//  published version, "failed" with the reason, or "cancelled". Takes the
//  work (NULLs *WORK_P). When the process is interrupted meanwhile, training
//  stops at the next batch, the job is given back unanswered (the broker
//  re-queues it) and -1 is returned; otherwise 0.
int maas_train_job_run (const maas_train_job_env_t *env, maas_work_t **work_p);

#endif
