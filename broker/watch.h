/*  watch.h: asks Redis Sentinel where the master is, every period, over a
 *  link (link.h) driven by the broker's poll loop (never blocking it), so
 *  the job store notices a failover within a period instead of when
 *  Sentinel finally kills its connection to the old master. */
#ifndef MAAS_BROKER_WATCH_H
#define MAAS_BROKER_WATCH_H

#include <stdbool.h>
#include <stdint.h>
#include <zmq.h>

typedef struct _maas_watch_t maas_watch_t;

//  Watch MASTER through SENTINELS ("host:port,host:port"; tried in turn),
//  asking every PERIOD_MS. NULL if SENTINELS names none (or no memory).
maas_watch_t *maas_watch_new (const char *sentinels, const char *master, int period_ms);
//  Close the connection, free, NULL the pointer. Safe on NULL.
void maas_watch_destroy (maas_watch_t **self_p);

//  Event loop, as the store's: fill ITEM for zmq_poll (fd -1: nothing to
//  poll), hand its revents to _io after polling, call _tick every turn.
void maas_watch_poll_item (maas_watch_t *self, zmq_pollitem_t *item);
void maas_watch_io (maas_watch_t *self, short revents);
void maas_watch_tick (maas_watch_t *self, int64_t now_ms);

//  The master's address as Sentinel last answered ("127.0.0.1:6380"),
//  borrowed; NULL until a Sentinel has answered.
const char *maas_watch_master (const maas_watch_t *self);

#endif
