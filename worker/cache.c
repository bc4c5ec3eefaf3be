/*  cache.c: LRU over a doubly linked list (most recent at the head) and a
 *  czmq hash from "name@version" to list node. Everything is O(1) but the
 *  eviction loop, which runs once per evicted entry. */
#include "cache.h"

#include <assert.h>
#include <czmq.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct _entry_t entry_t;
struct _entry_t {
    char key[96];     //  "name@version"
    void *value;      //  cached value, owned
    size_t bytes;     //  what it is charged
    entry_t *prev;    //  more recently used, NULL at the head
    entry_t *next;    //  less recently used, NULL at the tail
};

struct _maas_cache_t {
    zhashx_t *index;                //  key → entry_t, borrowed (list owns)
    entry_t *head;                  //  most recently used
    entry_t *tail;                  //  least recently used, evicted first
    size_t bytes;                   //  sum of entries' bytes
    size_t max_bytes;               //  bound on BYTES
    uint64_t evictions;             //  entries evicted to make room
    maas_cache_free_fn *free_fn;    //  frees values
};

static void
s_key (char key[96], const char *name, uint64_t version)
{
    snprintf (key, 96, "%s@%" PRIu64, name, version);
}

maas_cache_t *
maas_cache_new (size_t max_bytes, maas_cache_free_fn *free_fn)
{
    assert (free_fn);
    maas_cache_t *self = calloc (1, sizeof *self);
    if (!self)
        return NULL;
    self->index = zhashx_new ();
    if (!self->index) {
        free (self);
        return NULL;
    }
    self->max_bytes = max_bytes;
    self->free_fn = free_fn;
    return self;
}

static void
s_unlink (maas_cache_t *self, entry_t *entry)
{
    if (entry->prev)
        entry->prev->next = entry->next;
    else
        self->head = entry->next;
    if (entry->next)
        entry->next->prev = entry->prev;
    else
        self->tail = entry->prev;
    entry->prev = entry->next = NULL;
}

static void
s_push_head (maas_cache_t *self, entry_t *entry)
{
    entry->next = self->head;
    if (self->head)
        self->head->prev = entry;
    self->head = entry;
    if (!self->tail)
        self->tail = entry;
}

static void
s_remove (maas_cache_t *self, entry_t *entry)
{
    s_unlink (self, entry);
    zhashx_delete (self->index, entry->key);
    self->bytes -= entry->bytes;
    self->free_fn (&entry->value);
    free (entry);
}

void
maas_cache_destroy (maas_cache_t **self_p)
{
    assert (self_p);
    maas_cache_t *self = *self_p;
    if (!self)
        return;
    while (self->head)
        s_remove (self, self->head);
    zhashx_destroy (&self->index);
    free (self);
    *self_p = NULL;
}

void *
maas_cache_get (maas_cache_t *self, const char *name, uint64_t version)
{
    assert (self);
    char key[96];
    s_key (key, name, version);
    entry_t *entry = zhashx_lookup (self->index, key);
    if (!entry)
        return NULL;
    if (entry != self->head) {
        s_unlink (self, entry);
        s_push_head (self, entry);
    }
    return entry->value;
}

int
maas_cache_put (maas_cache_t *self, const char *name, uint64_t version, void **value_p,
                size_t bytes)
{
    assert (self && value_p && *value_p);
    entry_t *entry = calloc (1, sizeof *entry);
    if (!entry || bytes > self->max_bytes) {
        free (entry);
        return -1;
    }
    s_key (entry->key, name, version);
    if (zhashx_lookup (self->index, entry->key)) {
        free (entry);
        return -1;
    }
    while (self->bytes + bytes > self->max_bytes) {
        s_remove (self, self->tail);
        self->evictions++;
    }
    entry->value = *value_p;
    entry->bytes = bytes;
    *value_p = NULL;
    zhashx_insert (self->index, entry->key, entry);
    s_push_head (self, entry);
    self->bytes += bytes;
    return 0;
}

void
maas_cache_evict (maas_cache_t *self, const char *name, uint64_t version)
{
    assert (self);
    char key[96];
    s_key (key, name, version);
    entry_t *entry = zhashx_lookup (self->index, key);
    if (entry)
        s_remove (self, entry);
}

size_t
maas_cache_bytes (const maas_cache_t *self)
{
    return self->bytes;
}
size_t
maas_cache_max_bytes (const maas_cache_t *self)
{
    return self->max_bytes;
}
size_t
maas_cache_count (const maas_cache_t *self)
{
    return zhashx_size (self->index);
}
uint64_t
maas_cache_evictions (const maas_cache_t *self)
{
    return self->evictions;
}

char *
maas_cache_list (const maas_cache_t *self)
{
    assert (self);
    size_t cap = 1;
    for (entry_t *entry = self->head; entry; entry = entry->next)
        cap += strlen (entry->key) + 1;
    char *text = calloc (1, cap);
    for (entry_t *entry = self->head; text && entry; entry = entry->next) {
        size_t used = strlen (text);
        snprintf (text + used, cap - used, "%s%s", used ? "," : "", entry->key);
    }
    return text;
}
