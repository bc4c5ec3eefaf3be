/*  follow.c: never hang, never lie, for the commands that wait on jobs. */
#include "follow.h"
#include "maas.h"

#include <stdio.h>
#include <string.h>

int
maas_follow_ping (maas_client_t *client, const char *cmd, const char *endpoints, int timeout_ms)
{
    //  The broker check is part of the wait: it never outlasts --timeout.
    int ping_ms =
        timeout_ms > 0 && timeout_ms < MAAS_FOLLOW_PING_MS ? timeout_ms : MAAS_FOLLOW_PING_MS;
    if (client && maas_client_ping (client, ping_ms) == 0)
        return 0;
    fprintf (stderr, "%s: no broker answers at %s within %g s: is the stack up? (maas up)\n", cmd,
             endpoints, ping_ms / 1000.0);
    return -1;
}

void
maas_follow_say_queued (const char *cmd, const char *id, const char *kind, int64_t waited_ms)
{
    bool train = strcmp (kind, "train") == 0;
    fprintf (stderr,
             "%s: job %s still queued after %.0f s: no %s serves '%s' yet (maas ps; "
             "maas up --%s 1)\n",
             cmd, id, (double) waited_ms / 1000, train ? "trainer" : "worker", kind,
             train ? "trainers" : "workers");
}

maas_result_t *
maas_follow_cancel (maas_client_t *client, const char *id)
{
    maas_client_cancel (client, id);
    return maas_client_wait (client, id, MAAS_FOLLOW_CANCEL_MS);
}

bool
maas_follow_check_queued (maas_follow_queued_t *self, const char *id)
{
    int64_t waited = maas_clock_mono_ms () - self->start_ms;
    if (self->said || !self->redis || waited < MAAS_FOLLOW_QUEUED_MS)
        return self->said;
    redisReply *reply = redisCommand (self->redis, "HGET %sjob:%s status", self->prefix, id);
    if (reply && reply->type == REDIS_REPLY_STRING && strcmp (reply->str, "queued") == 0) {
        maas_follow_say_queued (self->cmd, id, self->kind, waited);
        self->said = true;
    }
    if (reply)
        freeReplyObject (reply);
    return self->said;
}

maas_result_t *
maas_follow_wait (maas_client_t *client, const char *cmd, const char *kind,
                  const maas_redis_config_t *where, const char *id, int timeout_ms,
                  bool *interrupted)
{
    maas_err_t err;
    redisContext *redis = maas_redis_connect (where, 2000, &err);
    maas_follow_queued_t queued = {.redis = redis,
                                   .prefix = "maas:",
                                   .cmd = cmd,
                                   .kind = kind,
                                   .start_ms = maas_clock_mono_ms ()};
    int64_t give_up = queued.start_ms + timeout_ms;
    maas_result_t *result = NULL;
    while (!result && !*interrupted && maas_clock_mono_ms () < give_up) {
        result = maas_client_wait (client, id, 200);
        if (!result)
            maas_follow_check_queued (&queued, id);
        *interrupted = zsys_interrupted;
    }
    if (redis)
        redisFree (redis);
    if (result)
        return result;
    fprintf (stderr, "%s: %s: cancelling job %s\n", cmd,
             *interrupted ? "interrupted by Ctrl-C" : "no result within --timeout", id);
    result = maas_follow_cancel (client, id);
    if (result)
        fprintf (stderr, "%s: job %s %s\n", cmd, id, result->status);
    else
        fprintf (stderr, "%s: no answer to the cancel of job %s; see `maas job %s`\n", cmd, id, id);
    maas_result_destroy (&result);
    return NULL;
}

void
maas_follow_say_failed (const char *cmd, const maas_result_t *result)
{
    fprintf (stderr, "%s: job %s %s: %s\n", cmd, result->id, result->status,
             result->error ? result->error : "no reason given");
}

int
maas_follow_report (const char *cmd, const maas_result_t *result, maas_follow_show_fn *show,
                    void *arg)
{
    if (strcmp (result->status, "succeeded") != 0) {
        maas_follow_say_failed (cmd, result);
        return 1;
    }
    maas_err_t err = {0};
    if (show (result, arg, &err) == 0)
        return 0;
    fprintf (stderr, "%s: job %s: unreadable result: %s\n", cmd, result->id, err.text);
    return 1;
}
