/*  options.h: one table-driven reader of flags and environment for every
 *  maas program (and for a CLI subcommand with its own table): typed
 *  values checked against their range, one wording for bad values, unknown
 *  flags called unknown, --help and --version answered in one place. */
#ifndef MAAS_OPTIONS_H
#define MAAS_OPTIONS_H

#include "export.h"

#include "err.h"

#include <stdbool.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
    MAAS_OPT_STRING,     //  const char * (borrowed from argv or the environment)
    MAAS_OPT_URL,        //  const char *, a Redis URL (redis_url.h) checked at once
    MAAS_OPT_CHOICE,     //  const char *, one of CHOICES ("debug|info|warn|error")
    MAAS_OPT_INT,        //  int in MIN..MAX
    MAAS_OPT_UINT,       //  size_t in MIN..MAX (MIN >= 0)
    MAAS_OPT_MS,         //  int, milliseconds in MIN..MAX
    MAAS_OPT_BOOL,       //  bool; the flag alone sets true, "--no-..." sets false
                         //  ("--no-x=yes" too); the variable is 1/0, on/off, yes/no,
                         //  true/false, and says the positive setting
    MAAS_OPT_DOUBLE,     //  double in MIN..MAX (finite)
    MAAS_OPT_SECONDS,    //  int milliseconds, given as seconds ("2.5") in MIN..MAX
    MAAS_OPT_U64,        //  uint64_t, any whole number from 0 (a seed); no range
    MAAS_OPT_LIST,       //  maas_opt_list_t: every use of a repeatable flag, in order
} maas_opt_type_t;

#define MAAS_OPT_LIST_MAX 16    //  values one repeatable flag may take

//  The target of a MAAS_OPT_LIST row ("--tag a=1 --tag b=2").
typedef struct {
    const char *items[MAAS_OPT_LIST_MAX];    //  borrowed from argv
    size_t count;                            //  how many
} maas_opt_list_t;

//  One row of a program's table. TARGET's value before parsing is the
//  default (shown by --help unless DEF_TEXT says otherwise).
typedef struct {
    const char *flag;          //  "--heartbeat"
    const char *env;           //  "MAAS_HEARTBEAT", or NULL
    maas_opt_type_t type;      //  what TARGET points at, see above
    double min, max;           //  range of numbers (MAAS_OPT_U64: unused)
    const char *choices;       //  MAAS_OPT_CHOICE: "a|b|c"
    void *target;              //  where the value goes
    const char *value_name;    //  "MS" in the help; NULL for BOOL
    const char *help;          //  one line; NULL hides the row (an old spelling)
    const char *def_text;      //  default as --help says it, or NULL: TARGET's value
} maas_option_t;

typedef struct {
    const char *prog;                //  "maas-broker", first word of every message
    const char *summary;             //  "usage: ... \n\nwhat it does\n"
    const char *epilog;              //  text after the options, or NULL
    const maas_option_t *options;    //  the table
    size_t count;                    //  rows in it
} maas_options_t;

//  Lookup of an environment variable (getenv, from main), or a test's own.
typedef char *(maas_env_fn) (const char *name);

//  Read the environment (through ENV, NULL: none) and then ARGV into the
//  targets. "--flag value" and "--flag=value" both work. Returns 0 to go
//  on; 1 after printing --help or --version ("PROG (maas) VERSION") to
//  OUT: exit 0; -1 with ERR ("maas-broker: --heartbeat: 'x' is not a whole
//  number (10..600000)", "maas-broker: unknown option '--bogus' (see
//  --help)"): exit 2. Positional arguments are refused unless NEXT is not
//  NULL: then they may stand anywhere ("NAME --flag v FILE"), ARGV is
//  reordered so that they come last, in their order, and the index of the
//  first one (or ARGC) goes to *NEXT. After "--" every word is positional.
MAAS_EXPORT int maas_options_parse (const maas_options_t *self, int argc, char **argv,
                                    maas_env_fn *env, void *out, int *next, maas_err_t *err);
//  What a daemon's main does with it: parse with --help/--version to
//  stdout and the message to stderr. Returns as maas_options_parse does.
MAAS_EXPORT int maas_options_main (const maas_options_t *self, int argc, char **argv,
                                   maas_env_fn *env);
//  The --log-level choices, for a MAAS_OPT_CHOICE row (maas_log_level_parse).
#define MAAS_OPTIONS_LOG_LEVELS "debug|info|warn|error"

//  The help text (summary, a line per visible option, epilog) to OUT, a FILE *.
MAAS_EXPORT void maas_options_help (const maas_options_t *self, void *out);

#ifdef __cplusplus
}
#endif

#endif
