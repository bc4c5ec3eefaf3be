/*  output.c: JSON strings and times for the commands' --json output. */
#include "output.h"

#include <time.h>

void
maas_json_string (FILE *out, const char *text)
{
    if (!text) {
        fputs ("null", out);
        return;
    }
    fputc ('"', out);
    for (const unsigned char *c = (const unsigned char *) text; *c; c++) {
        if (*c == '"' || *c == '\\')
            fprintf (out, "\\%c", *c);
        else if (*c < 0x20)
            fprintf (out, "\\u%04x", *c);
        else
            fputc (*c, out);
    }
    fputc ('"', out);
}

void
maas_json_field (FILE *out, const char *name, const char *value, int first)
{
    fprintf (out, "%s\"%s\":", first ? "" : ",", name);
    maas_json_string (out, value);
}

void
maas_iso_time (long long ms, char *out, size_t size)
{
    time_t seconds = (time_t) (ms / 1000);
    struct tm tm;
    size_t len = strftime (out, size, "%Y-%m-%dT%H:%M:%S", gmtime_r (&seconds, &tm));
    snprintf (out + len, size - len, ".%03lldZ", ms % 1000);
}

void
maas_json_time (FILE *out, long long ms)
{
    char text[40];
    maas_iso_time (ms, text, sizeof text);
    fprintf (out, ms > 0 ? "\"%s\"" : "null", text);
}
