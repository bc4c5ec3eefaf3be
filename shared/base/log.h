/*  log.h: the one logging module of libmaas and its programs.
 *  Lines read "2026-12-02T06:30:00.123Z PID level component: event key=value"
 *  (ISO 8601 UTC, the process id) on stderr, so a person and a grep can both
 *  follow a process; a line about a job names it with id=JOB. */
#ifndef MAAS_LOG_H
#define MAAS_LOG_H

#include "err.h"
#include "export.h"

#include <stdarg.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
    MAAS_LOG_DEBUG,    //  tracing, off unless asked for
    MAAS_LOG_INFO,     //  lifecycle: started, connected, stopped
    MAAS_LOG_WARN,     //  bad input from outside, retries, recoveries
    MAAS_LOG_ERROR,    //  a job or a connection failed
    MAAS_LOG_OFF       //  nothing
} maas_log_level_t;

//  Set the lowest level printed (default INFO). Programs call this from
//  main only; the library never reads the environment.
MAAS_EXPORT void maas_log_set_level (maas_log_level_t level);
//  Set the level from VALUE, what main read from $MAAS_LOG_LEVEL (NULL or
//  empty: info). Returns 0, or -1 with ERR naming the bad value and the
//  good ones: programs call it first in main and exit on failure, so a typo
//  is an error, not silently ignored.
MAAS_EXPORT int maas_log_setup (const char *value, maas_err_t *err);
//  Parse "debug", "info", "warn", "error", "off"; -1 if unknown.
MAAS_EXPORT int maas_log_level_parse (const char *name);
//  Print one line for COMPONENT at LEVEL, printf-style.
MAAS_EXPORT void maas_log (maas_log_level_t level, const char *component, const char *fmt, ...)
    __attribute__ ((format (printf, 3, 4)));

#define maas_debug(c, ...) maas_log (MAAS_LOG_DEBUG, (c), __VA_ARGS__)
#define maas_info(c, ...)  maas_log (MAAS_LOG_INFO, (c), __VA_ARGS__)
#define maas_warn(c, ...)  maas_log (MAAS_LOG_WARN, (c), __VA_ARGS__)
#define maas_error(c, ...) maas_log (MAAS_LOG_ERROR, (c), __VA_ARGS__)

#ifdef __cplusplus
}
#endif

#endif
