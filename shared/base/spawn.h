/*  spawn.h: the one way libmaas's callers start a child program (the local
 *  stack, the test and bench harnesses): stdin, stdout and stderr as asked,
 *  every other descriptor of the caller closed before exec, so a lock or a
 *  socket the caller holds is never kept alive by a child. */
#ifndef MAAS_SPAWN_H
#define MAAS_SPAWN_H

#include "err.h"

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

typedef struct {
    const char *log_path;      //  stdout and stderr appended here; NULL: inherited
    const char *const *env;    //  NULL-terminated "NAME=value" added, or NULL
    bool stdin_null;           //  stdin from /dev/null, else inherited
    bool new_session;          //  setsid: detached, outlives the caller's terminal
    bool die_with_parent;      //  SIGKILL when the caller exits, however it exits
    bool search_path;          //  argv[0] may be a bare name looked up on $PATH
} maas_spawn_options_t;

//  Start ARGV (NULL-terminated; argv[0] a path, or a name if SEARCH_PATH)
//  with OPTIONS (NULL: all defaults). Descriptors 3 and up are closed in the
//  child before exec. Returns the child's PID once exec has succeeded, or -1
//  with the reason in ERR ("cannot start PATH: No such file or directory"),
//  the child then already reaped.
pid_t maas_spawn (const char *const argv[], const maas_spawn_options_t *options, maas_err_t *err);

#endif
