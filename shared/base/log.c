/*  log.c: leveled logging to stderr. The level is process-wide configuration
 *  that main sets once (from its flags or $MAAS_LOG_LEVEL), read-only afterwards. */
#include "log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

//  Written by main before threads start; read-only after, like errno-free
//  config. A program that never sets it logs at info.
static int s_level = MAAS_LOG_INFO;

static const char *s_names[] = {"debug", "info", "warn", "error", "off"};

int
maas_log_level_parse (const char *name)
{
    for (int i = 0; name && i <= MAAS_LOG_OFF; i++)
        if (strcmp (name, s_names[i]) == 0)
            return i;
    return -1;
}

void
maas_log_set_level (maas_log_level_t level)
{
    s_level = (int) level;
}

int
maas_log_setup (const char *value, maas_err_t *err)
{
    int level = value && *value ? maas_log_level_parse (value) : MAAS_LOG_INFO;
    if (level < 0)
        return maas_err_set (err, MAAS_ERR_INPUT,
                             "MAAS_LOG_LEVEL=%s is not a log level: use debug, info, warn, error "
                             "or off",
                             value);
    s_level = level;
    return 0;
}

void
maas_log (maas_log_level_t level, const char *component, const char *fmt, ...)
{
    if ((int) level < s_level || level >= MAAS_LOG_OFF)
        return;
    struct timespec now;
    clock_gettime (CLOCK_REALTIME, &now);
    struct tm tm;
    gmtime_r (&now.tv_sec, &tm);
    //  Build the line first so concurrent writers never interleave within it.
    char line[2048];
    int len = snprintf (line, sizeof line,
                        "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ %d %-5s %s: ", tm.tm_year + 1900,
                        tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                        now.tv_nsec / 1000000, (int) getpid (), s_names[level], component);
    va_list args;
    va_start (args, fmt);
    if (len > 0 && (size_t) len < sizeof line)
        len += vsnprintf (line + len, sizeof line - (size_t) len, fmt, args);
    va_end (args);
    if (len < 0)
        return;
    if ((size_t) len >= sizeof line - 1)
        len = (int) sizeof line - 2;
    line[len++] = '\n';
    fwrite (line, 1, (size_t) len, stderr);
}
