/*  watch.c: the broker's Sentinel watch. One async connection to one
 *  Sentinel at a time; SENTINEL get-master-addr-by-name every period; a
 *  Sentinel that does not answer in a few periods is left for the next. */
#include "watch.h"
#include "clock.h"
#include "log.h"
#include "redis_url.h"

#include <hiredis/async.h>
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
    redisAsyncContext *ac;    //  connection to a Sentinel, NULL while none
    bool connected;           //  connect completed
    bool want_write;          //  hiredis has output to write
    bool asking;              //  a question is unanswered
    bool closing;             //  being destroyed: ignore callbacks
    int64_t asked_at;         //  when it was asked (or the connect began), mono ms
    int64_t ask_at;           //  next question, monotonic ms
    char master[300];         //  "host:port" last answered, "" if none
};

static void
s_add_write (void *data)
{
    ((maas_watch_t *) data)->want_write = true;
}
static void
s_del_write (void *data)
{
    ((maas_watch_t *) data)->want_write = false;
}
static void
s_noop (void *data)
{
}

static void
s_on_connect (const redisAsyncContext *ac, int status)
{
    maas_watch_t *self = ac->data;
    if (status == REDIS_OK)
        self->connected = true;
    else if (!self->closing && self->ac == ac) {
        maas_warn ("watch", "sentinel unreachable error=\"%s\"", ac->errstr);
        self->ac = NULL;    //  hiredis frees it
        self->connected = self->asking = false;
    }
}

static void
s_on_disconnect (const redisAsyncContext *ac, int status)
{
    maas_watch_t *self = ac->data;
    if (self->closing || self->ac != ac)
        return;
    self->ac = NULL;
    self->connected = self->asking = false;
}

static void
s_on_answer (redisAsyncContext *ac, void *r, void *arg)
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

//  AUTH refused: this Sentinel will not answer; say why (the watch moves on).
static void
s_on_auth (redisAsyncContext *ac, void *r, void *arg)
{
    redisReply *reply = r;
    maas_watch_t *self = arg;
    if (reply && !self->closing && reply->type == REDIS_REPLY_ERROR)
        maas_warn ("watch",
                   "sentinel refused AUTH error=\"%s: check the user and password in "
                   "MAAS_REDIS_SENTINELS\"",
                   reply->str);
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
    redisAsyncContext *ac = redisAsyncConnect (sentinel.host, sentinel.port);
    if (!ac || ac->err) {
        if (ac)
            redisAsyncFree (ac);
        maas_redis_url_clear (&sentinel);
        return;
    }
    ac->data = self;
    ac->ev.data = self;
    ac->ev.addRead = ac->ev.delRead = ac->ev.cleanup = s_noop;
    ac->ev.addWrite = s_add_write;
    ac->ev.delWrite = s_del_write;
    redisAsyncSetConnectCallback (ac, s_on_connect);
    redisAsyncSetDisconnectCallback (ac, s_on_disconnect);
    self->ac = ac;
    self->connected = false;
    self->want_write = true;    //  the connect completes on writability
    self->asking = true;        //  ask at once: hiredis sends it once connected
    self->asked_at = now;
    if (sentinel.password)
        redisAsyncCommand (ac, s_on_auth, self, "AUTH %s %s",
                           sentinel.user ? sentinel.user : "default", sentinel.password);
    maas_redis_url_clear (&sentinel);
    redisAsyncCommand (ac, s_on_answer, self, "SENTINEL get-master-addr-by-name %s",
                       self->master_name);
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
    char *saveptr = NULL;
    for (char *item = self->list ? strtok_r (self->list, ", ", &saveptr) : NULL;
         item && self->count < sizeof self->sentinels / sizeof self->sentinels[0];
         item = strtok_r (NULL, ", ", &saveptr))
        self->sentinels[self->count++] = item;
    if (!self->master_name || self->count == 0)
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
    if (self->ac)
        redisAsyncFree (self->ac);
    free (self->list);
    free (self->master_name);
    free (self);
    *self_p = NULL;
}

void
maas_watch_poll_item (maas_watch_t *self, zmq_pollitem_t *item)
{
    *item = (zmq_pollitem_t){NULL, -1, 0, 0};
    if (self->ac) {
        item->fd = self->ac->c.fd;
        item->events = ZMQ_POLLIN | (self->want_write ? ZMQ_POLLOUT : 0);
    }
}

void
maas_watch_io (maas_watch_t *self, short revents)
{
    if (self->ac && (revents & (ZMQ_POLLIN | ZMQ_POLLERR)))
        redisAsyncHandleRead (self->ac);
    if (self->ac && (revents & ZMQ_POLLOUT))
        redisAsyncHandleWrite (self->ac);
}

void
maas_watch_tick (maas_watch_t *self, int64_t now_ms)
{
    if (!self->ac) {
        if (now_ms >= self->ask_at)
            s_connect (self, now_ms);
        return;
    }
    if (self->asking && now_ms - self->asked_at > (int64_t) S_PATIENCE * self->period_ms) {
        maas_warn ("watch", "sentinel did not answer in %d ms; trying the next",
                   S_PATIENCE * self->period_ms);
        redisAsyncContext *ac = self->ac;
        self->ac = NULL;
        self->connected = self->asking = false;
        redisAsyncFree (ac);
        return;
    }
    if (self->connected && !self->asking && now_ms >= self->ask_at) {
        if (redisAsyncCommand (self->ac, s_on_answer, self, "SENTINEL get-master-addr-by-name %s",
                               self->master_name)
            == REDIS_OK) {
            self->asking = true;
            self->asked_at = now_ms;
        }
    }
}

const char *
maas_watch_master (const maas_watch_t *self)
{
    return self->master[0] ? self->master : NULL;
}
