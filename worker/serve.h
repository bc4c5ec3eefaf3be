/*  serve.h: maas-worker's serve loop, between the worker API (the wire) and
 *  the engine (resolution, cache, batching). main.c only configures it. */
#ifndef MAAS_WORKER_SERVE_H
#define MAAS_WORKER_SERVE_H

#include "engine.h"
#include "stats.h"
#include "worker.h"

//  The engine's tick (maas_engine_config_t.tick) with WORKER, a
//  maas_worker_t, as argument: heartbeats and cancels keep flowing while a
//  long batch computes.
void maas_serve_tick (void *worker);
//  Serve infer jobs from WORKER through ENGINE until interrupted
//  (zsys_interrupted), waiting at most HEARTBEAT_MS at a time, and write
//  the worker's counters to STATS (borrowed; NULL: none) every
//  MAAS_STATS_PERIOD_MS. Jobs already taken are finished and answered
//  before it returns, not dropped.
void maas_serve_run (maas_worker_t *worker, maas_engine_t *engine, maas_stats_t *stats,
                     int heartbeat_ms);

#endif
