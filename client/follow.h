/*  follow.h: what the commands that send jobs and wait for them (train,
 *  infer, explain, score, cancel) share so they never hang and never lie: a broker
 *  that does not answer is said at once, and a job still queued after a
 *  while is said to have nobody serving its kind (docs/cli.md). */
#ifndef MAAS_CLIENT_FOLLOW_H
#define MAAS_CLIENT_FOLLOW_H

#include "client.h"
#include "redis_url.h"

#include <hiredis/hiredis.h>
#include <stdbool.h>
#include <stdint.h>

#define MAAS_FOLLOW_PING_MS   3000     //  a broker that does not answer a PING by then is not up
#define MAAS_FOLLOW_QUEUED_MS 2000     //  queued this long: say that nothing takes the job
#define MAAS_FOLLOW_CANCEL_MS 10000    //  wait this long for a cancelled job's outcome

//  0 if a broker of CLIENT answers a PING within MAAS_FOLLOW_PING_MS, or
//  within TIMEOUT_MS (the command's --timeout) when that is shorter (0: no
//  --timeout); else -1 after saying "CMD: no broker answers at ENDPOINTS
//  within 3 s: is the stack up? (maas up)" on stderr.
int maas_follow_ping (maas_client_t *client, const char *cmd, const char *endpoints,
                      int timeout_ms);

//  Say once on stderr that job ID, of KIND, is still queued after WAITED_MS:
//  "CMD: job ID still queued after 2 s: no worker serves 'infer' yet (maas
//  ps; maas up --workers 1)" (trainer and --trainers for "train").
void maas_follow_say_queued (const char *cmd, const char *id, const char *kind, int64_t waited_ms);

//  Cancel job ID (the client's timeout or Ctrl-C) and wait up to
//  MAAS_FOLLOW_CANCEL_MS for the broker's answer: the outcome (the
//  caller's), or NULL if none came.
maas_result_t *maas_follow_cancel (maas_client_t *client, const char *id);

//  Watches one job of KIND for staying queued. REDIS is borrowed (NULL:
//  nothing is watched).
typedef struct {
    redisContext *redis;    //  where job status is, borrowed, or NULL
    const char *prefix;     //  Redis key prefix ("maas:")
    const char *cmd;        //  "maas infer", for the message
    const char *kind;       //  the jobs' kind
    int64_t start_ms;       //  monotonic ms the wait began
    bool said;              //  said already: say no more
} maas_follow_queued_t;

//  Once MAAS_FOLLOW_QUEUED_MS have passed since SELF->start_ms, read job
//  ID's status from Redis and, if it is "queued", say so (once). Returns
//  true if it has been said.
bool maas_follow_check_queued (maas_follow_queued_t *self, const char *id);

//  Say on stderr that job RESULT did not succeed: "CMD: job ID STATUS:
//  ERROR" ("no reason given" when the job has none).
void maas_follow_say_failed (const char *cmd, const maas_result_t *result);

//  Wait for job ID, of KIND, up to TIMEOUT_MS, saying once (through
//  maas_follow_check_queued, job status read from WHERE) when it stays
//  queued; at the timeout or on Ctrl-C (*INTERRUPTED set) cancel it and say
//  so, prefixed with CMD ("maas infer"). The result (the caller's), or NULL
//  after saying why.
maas_result_t *maas_follow_wait (maas_client_t *client, const char *cmd, const char *kind,
                                 const maas_redis_config_t *where, const char *id, int timeout_ms,
                                 bool *interrupted);

//  Parses RESULT's data and prints it; 0, or -1 with why in ERR.
typedef int (maas_follow_show_fn) (const maas_result_t *result, void *arg, maas_err_t *err);

//  Report a finished job: its failure, or its data through SHOW (with ARG),
//  or "CMD: job ID: unreadable result: WHY". The exit code (0 or 1).
int maas_follow_report (const char *cmd, const maas_result_t *result, maas_follow_show_fn *show,
                        void *arg);

#endif
