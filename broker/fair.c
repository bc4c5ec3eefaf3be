/*  fair.c: each client's share of the broker. An account per client holding
 *  jobs counts what the per-client limits bound (jobs, bytes); within each
 *  kind and priority, a lane per client holds that client's queued jobs in
 *  order, and dispatch takes one job from each lane in turn. A client that
 *  floods the broker is refused (overloaded) at its own limits long before
 *  the broker's, and its backlog delays another client's jobs by one job
 *  per turn, not by the backlog. A client is its routing id (a libmaas
 *  client, the gateway, a CLI run): one socket, one share. */
#include "state.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

//  CLIENT (SIZE bytes) in hex, the accounts table's key.
static void
s_key (char key[2 * MAAS_PROTO_PEER_MAX + 1], const uint8_t *client, size_t size)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < size; i++) {
        key[2 * i] = digits[client[i] >> 4];
        key[2 * i + 1] = digits[client[i] & 15];
    }
    key[2 * size] = '\0';
}

int
broker_admit (maas_broker_t *self, const uint8_t *client, size_t size, size_t bytes, char *err,
              size_t err_size)
{
    const maas_broker_config_t *config = &self->config;
    char key[2 * MAAS_PROTO_PEER_MAX + 1];
    s_key (key, client, size);
    const account_t *account = zhashx_lookup (self->accounts, key);
    if (self->bytes + bytes > (size_t) config->max_bytes)
        snprintf (err, err_size, "overloaded: jobs held take %zu bytes (--max-bytes %zu MB)",
                  self->bytes, (size_t) (config->max_bytes >> 20));
    else if (!account && zhashx_size (self->accounts) >= config->max_clients)
        snprintf (err, err_size, "overloaded: %zu clients hold jobs (--max-clients %zu)",
                  zhashx_size (self->accounts), config->max_clients);
    else if (account && account->jobs >= config->max_client_jobs)
        snprintf (err, err_size,
                  "overloaded: this client holds %zu jobs (--max-client-jobs %zu); wait for "
                  "results before sending more",
                  account->jobs, config->max_client_jobs);
    else if ((account ? account->bytes : 0) + bytes > (size_t) config->max_client_bytes)
        snprintf (err, err_size,
                  "overloaded: this client's jobs would hold %zu bytes (--max-client-bytes %zu "
                  "MB); wait for results before sending more",
                  (account ? account->bytes : 0) + bytes,
                  (size_t) (config->max_client_bytes >> 20));
    else
        return 0;
    return -1;
}

int
broker_charge (maas_broker_t *self, job_t *job, const uint8_t *client, size_t size)
{
    assert (!job->account);
    char key[2 * MAAS_PROTO_PEER_MAX + 1];
    s_key (key, client, size);
    account_t *account = zhashx_lookup (self->accounts, key);
    if (!account) {
        account = calloc (1, sizeof *account);
        if (!account)
            return -1;
        memcpy (account->key, key, sizeof key);
        zhashx_insert (self->accounts, account->key, account);
    }
    job->account = account;
    job->bytes = zmq_msg_size (&job->header) + zmq_msg_size (&job->payload);
    account->jobs++;
    account->bytes += job->bytes;
    self->bytes += job->bytes;
    return 0;
}

void
broker_discharge (maas_broker_t *self, job_t *job)
{
    account_t *account = job->account;
    if (!account)
        return;
    assert (!job->lane && account->jobs > 0 && account->bytes >= job->bytes);
    account->jobs--;
    account->bytes -= job->bytes;
    self->bytes -= job->bytes;
    job->account = NULL;
    if (account->jobs == 0) {
        assert (account->lanes.size == 0);
        zhashx_delete (self->accounts, account->key);    //  frees it
    }
}

//  ACCOUNT's lane for KIND at PRIORITY, made (last in its turn) if new.
static lane_t *
s_lane (account_t *account, kind_t *kind, int priority)
{
    for (list_node_t *node = account->lanes.head; node; node = node->next) {
        lane_t *lane = LIST_ITEM (node, lane_t, by_account);
        if (lane->kind == kind && lane->priority == priority)
            return lane;
    }
    lane_t *lane = calloc (1, sizeof *lane);
    if (!lane)
        return NULL;
    *lane = (lane_t){.account = account, .kind = kind, .priority = priority};
    list_push (&account->lanes, &lane->by_account, false);
    list_push (&kind->queues[priority], &lane->turn, false);
    return lane;
}

int
broker_lane_push (job_t *job, bool front)
{
    assert (job->account && !job->lane);
    lane_t *lane = s_lane (job->account, job->kind, job->priority);
    if (!lane)
        return -1;
    list_push (&lane->jobs, &job->link, front);
    job->lane = lane;
    if (front) {    //  a job given back (its worker was lost) goes next
        list_t *turns = &job->kind->queues[job->priority];
        list_remove (turns, &lane->turn);
        list_push (turns, &lane->turn, true);
    }
    return 0;
}

void
broker_lane_remove (job_t *job)
{
    lane_t *lane = job->lane;
    assert (lane && list_holds (&lane->jobs, &job->link));
    bool was_first = lane->jobs.head == &job->link;
    list_remove (&lane->jobs, &job->link);
    job->lane = NULL;
    list_t *turns = &lane->kind->queues[lane->priority];
    if (lane->jobs.size == 0) {
        list_remove (turns, &lane->turn);
        list_remove (&lane->account->lanes, &lane->by_account);
        free (lane);
    }
    else if (was_first && turns->head == &lane->turn) {    //  its turn is over
        list_remove (turns, &lane->turn);
        list_push (turns, &lane->turn, false);
    }
}

job_t *
broker_lane_next (const kind_t *kind)
{
    for (int p = MAAS_PROTO_PRIORITY_MAX; p >= 0; p--) {
        const lane_t *lane = BROKER_LANE (kind->queues[p].head);
        if (lane)
            return BROKER_JOB (lane->jobs.head);
    }
    return NULL;
}
