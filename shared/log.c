/*  log.c: leveled logging to stderr. The level is process-wide configuration
 *  that main sets once (or $MAAS_LOG_LEVEL), read-only afterwards. */
#include "log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

//  -1: not read from the environment yet. Written by main (or the first log
//  call) before threads start; read-only after, like errno-free config.
static int s_level = -1;

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

static int
s_current_level (void)
{
    if (s_level < 0) {
        int from_env = maas_log_level_parse (getenv ("MAAS_LOG_LEVEL"));
        s_level = from_env >= 0 ? from_env : MAAS_LOG_INFO;
    }
    return s_level;
}

void
maas_log (maas_log_level_t level, const char *component, const char *fmt, ...)
{
    if ((int) level < s_current_level () || level >= MAAS_LOG_OFF)
        return;
    struct timespec now;
    clock_gettime (CLOCK_REALTIME, &now);
    struct tm tm;
    gmtime_r (&now.tv_sec, &tm);
    //  Build the line first so concurrent writers never interleave within it.
    char line[2048];
    int len = snprintf (line, sizeof line, "%02d:%02d:%02d.%03ld %-5s %s: ",
                        tm.tm_hour, tm.tm_min, tm.tm_sec, now.tv_nsec / 1000000,
                        s_names[level], component);
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
