/*  list.h: a small intrusive doubly linked list (Redis adlist without the
 *  allocations, Linux list_head without the macros' tricks). A node lives
 *  inside the item it links and knows its list, so membership is asserted
 *  and an item is on at most one list at a time. Not installed. */
#ifndef MAAS_BROKER_LIST_H
#define MAAS_BROKER_LIST_H

#include <assert.h>
#include <stdbool.h>
#include <stddef.h>

typedef struct _list_t list_t;

typedef struct _list_node_t {
    struct _list_node_t *prev;    //  toward the head, or NULL
    struct _list_node_t *next;    //  toward the tail, or NULL
    list_t *list;                 //  the list holding it, NULL if none
} list_node_t;

struct _list_t {
    list_node_t *head;    //  first node (oldest when pushed at the tail)
    list_node_t *tail;    //  last node
    size_t size;          //  nodes held
};

//  The item of type TYPE whose MEMBER is NODE (NULL stays NULL).
#define LIST_ITEM(node, type, member)                                                              \
    ((node) ? (type *) (void *) ((char *) (node) -offsetof (type, member)) : NULL)

//  true if NODE is on LIST.
static inline bool
list_holds (const list_t *list, const list_node_t *node)
{
    return node->list == list;
}

//  Link NODE (on no list) at the head of LIST if FRONT, else at its tail.
static inline void
list_push (list_t *list, list_node_t *node, bool front)
{
    assert (!node->list);
    node->list = list;
    if (front) {
        node->prev = NULL;
        node->next = list->head;
        if (list->head)
            list->head->prev = node;
        else
            list->tail = node;
        list->head = node;
    }
    else {
        node->next = NULL;
        node->prev = list->tail;
        if (list->tail)
            list->tail->next = node;
        else
            list->head = node;
        list->tail = node;
    }
    list->size++;
}

//  Unlink NODE from LIST, which must hold it.
static inline void
list_remove (list_t *list, list_node_t *node)
{
    assert (node->list == list && list->size > 0);
    if (node->prev)
        node->prev->next = node->next;
    else
        list->head = node->next;
    if (node->next)
        node->next->prev = node->prev;
    else
        list->tail = node->prev;
    node->prev = node->next = NULL;
    node->list = NULL;
    list->size--;
}

#endif
