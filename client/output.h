/*  output.h: what every maas command shares in its output (docs/cli.md):
 *  results on stdout (text, or one JSON object with --json), progress and
 *  errors on stderr, and the exit codes below. */
#ifndef MAAS_CLIENT_OUTPUT_H
#define MAAS_CLIENT_OUTPUT_H

#include <stddef.h>
#include <stdio.h>

#define MAAS_EXIT_OK          0      //  did what was asked
#define MAAS_EXIT_FAILED      1      //  could not (no broker, job failed, member gone, …)
#define MAAS_EXIT_USAGE       2      //  bad command line
#define MAAS_EXIT_INTERRUPTED 130    //  Ctrl-C (128 + SIGINT)

//  Write TEXT to OUT as a JSON string with its quotes ("null" for NULL).
void maas_json_string (FILE *out, const char *text);
//  Write "NAME": and the JSON string of VALUE, after a comma unless FIRST.
void maas_json_field (FILE *out, const char *name, const char *value, int first);
//  Wall-clock MS as ISO 8601 UTC ("2026-12-02T06:30:00.123Z") into OUT.
void maas_iso_time (long long ms, char *out, size_t size);
//  Write wall-clock MS as a JSON string in ISO 8601 UTC
//  ("2026-12-02T06:30:00.123Z"); null for 0.
void maas_json_time (FILE *out, long long ms);

#endif
