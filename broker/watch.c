/*  watch.c: the broker's Sentinel watch. One link (link.h) to one
 *  Sentinel at a time; SENTINEL get-master-addr-by-name every period; a
 *  Sentinel that does not answer in a few periods is left for the next. */
#include "watch.h"
#include "clock.h"
#include "link.h"
#include "log.h"
#include "redis_url.h"
#include "resp.h"

#include <hiredis/hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_PATIENCE 4    //  periods without an answer before moving on

struct _maas_watch_t {
    char *list;               //  the Sentinel list, owned (items point into it)
    char *sentinels[16];      //  "host:port" items
    size_t count;             //  items used
    size_t next;              //  the Sentinel to try next
    char *master_name;        //  master Sentinel knows us by, owned
    int period_ms;            //  between questions
    maas_link_t *link;        //  connection to a Sentinel, owned
    maas_resp_t *question;    //  SENTINEL get-master-addr-by-name, owned
    bool asking;              //  a question is unanswered
    bool closing;             //  being destroyed: ignore callbacks
    int64_t ask_at;           //  next question, monotonic ms
    char master[300];         //  "host:port" last answered, "" if none
};

//  The connection ended: the next Sentinel is tried at ASK_AT.
static void
s_on_lost (maas_link_end_t end, const char *why, void *arg)
{
    maas_watch_t *self = arg;
    self->asking = false;
    if (end == MAAS_LINK_UNREACHABLE)
        maas_warn ("watch", "sentinel unreachable error=\"%s\"", why);
    else if (end == MAAS_LINK_OVERDUE)
        maas_warn ("watch", "sentinel did not answer in %d ms; trying the next",
                   S_PATIENCE * self->period_ms);
    else if (end == MAAS_LINK_REFUSED)
        maas_warn ("watch", "sentinel refused AUTH error=\"%s\"", why);
}

static void
s_on_answer (void *r, void *arg)
{
    maas_watch_t *self = arg;
    redisReply *reply = r;
    if (!reply || self->closing)
        return;
    self->asking = false;
    self->ask_at = maas_clock_mono_ms () + self->period_ms;
    if (reply->type != REDIS_REPLY_ARRAY || reply->elements != 2
        || reply->element[0]->type != REDIS_REPLY_STRING
        || reply->element[1]->type != REDIS_REPLY_STRING) {
        maas_warn ("watch", "sentinel does not know master name=%s", self->master_name);
        return;
    }
    char now[sizeof self->master];
    snprintf (now, sizeof now, "%.200s:%.20s", reply->element[0]->str, reply->element[1]->str);
    if (strcmp (now, self->master) != 0)
        maas_info ("watch", "sentinel names master name=%s addr=%s was=%s", self->master_name, now,
                   self->master[0] ? self->master : "-");
    memcpy (self->master, now, sizeof now);
}

static void
s_ask (maas_watch_t *self)
{
    if (maas_link_send (self->link, maas_resp_data (self->question),
                        maas_resp_size (self->question), s_on_answer, self)
        == 0)
        self->asking = true;
}

static void
s_connect (maas_watch_t *self, int64_t now)
{
    const char *item = self->sentinels[self->next];
    self->next = (self->next + 1) % self->count;
    self->ask_at = now + self->period_ms;
    maas_redis_url_t sentinel;    //  "[[user]:password@]host:port"
    if (maas_redis_sentinel_parse (&sentinel, item, strlen (item)) != 0)
        return;
    //  The link sends AUTH first; ask at once: it goes out once connected.
    if (maas_link_connect (self->link, &sentinel) == 0)
        s_ask (self);
    maas_redis_url_clear (&sentinel);
}

maas_watch_t *
maas_watch_new (const char *sentinels, const char *master, int period_ms)
{
    if (!sentinels || !*sentinels)
        return NULL;
    maas_watch_t *self = calloc (1, sizeof *self);
    if (!self)
        return NULL;
    self->list = strdup (sentinels);
    self->master_name = strdup (master && *master ? master : "mymaster");
    self->period_ms = period_ms > 0 ? period_ms : 500;
    self->link = maas_link_new ("MAAS_REDIS_SENTINELS", s_on_lost, self);
    self->question = maas_resp_new ();
    if (self->link)
        maas_link_set_timeout (self->link, S_PATIENCE * self->period_ms);
    if (self->question && self->master_name) {
        maas_resp_command (self->question, 3);
        maas_resp_str (self->question, "SENTINEL");
        maas_resp_str (self->question, "get-master-addr-by-name");
        maas_resp_str (self->question, self->master_name);
    }
    char *saveptr = NULL;
    for (char *item = self->list ? strtok_r (self->list, ", ", &saveptr) : NULL;
         item && self->count < sizeof self->sentinels / sizeof self->sentinels[0];
         item = strtok_r (NULL, ", ", &saveptr))
        self->sentinels[self->count++] = item;
    if (!self->master_name || !self->link || !self->question || self->count == 0)
        maas_watch_destroy (&self);
    return self;
}

void
maas_watch_destroy (maas_watch_t **self_p)
{
    maas_watch_t *self = *self_p;
    if (!self)
        return;
    self->closing = true;
    maas_link_destroy (&self->link);
    maas_resp_destroy (&self->question);
    free (self->list);
    free (self->master_name);
    free (self);
    *self_p = NULL;
}

void
maas_watch_poll_item (maas_watch_t *self, zmq_pollitem_t *item)
{
    maas_link_poll_item (self->link, item);
}

void
maas_watch_io (maas_watch_t *self, short revents)
{
    maas_link_io (self->link, revents);
    if (revents & ZMQ_POLLOUT)
        maas_link_flush (self->link);
}

void
maas_watch_tick (maas_watch_t *self, int64_t now_ms)
{
    maas_link_tick (self->link, now_ms);
    if (!maas_link_open (self->link)) {
        if (now_ms >= self->ask_at)
            s_connect (self, now_ms);
        return;
    }
    if (maas_link_ready (self->link) && !self->asking && now_ms >= self->ask_at)
        s_ask (self);
}

const char *
maas_watch_master (const maas_watch_t *self)
{
    return self->master[0] ? self->master : NULL;
}
