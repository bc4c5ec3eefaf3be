/*  log.c: leveled logging to stderr. The level is process-wide configuration
 *  that main sets once (or $MAAS_LOG_LEVEL), read-only afterwards. */
#include "log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

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

int
maas_log_setup (char *err, size_t err_size)
{
    const char *from_env = getenv ("MAAS_LOG_LEVEL");
    int level = from_env && *from_env ? maas_log_level_parse (from_env) : MAAS_LOG_INFO;
    if (level < 0) {
        snprintf (err, err_size,
                  "MAAS_LOG_LEVEL=%s is not a log level: use debug, info, warn, error or off",
                  from_env);
        return -1;
    }
    s_level = level;
    return 0;
}

//  A program that did not call maas_log_setup still reads $MAAS_LOG_LEVEL,
//  and says once, loudly, when the value is no level.
static int
s_current_level (void)
{
    char err[256];
    if (s_level < 0 && maas_log_setup (err, sizeof err) != 0) {
        s_level = MAAS_LOG_INFO;
        maas_error ("log", "%s (logging at info)", err);
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
