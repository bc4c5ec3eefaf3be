/*  options.c: the table-driven flag and environment reader. */
#include "options.h"
#include "redis_url.h"

#include "config.h"

#include <assert.h>
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

//  Whole number in MIN..MAX from TEXT; -1 when it is not one.
//  true if TEXT starts as a number written in full may: a digit, or '-'
//  or '.' before one (strto* would also skip spaces and take a '+').
static bool
s_number_start (const char *text)
{
    const char *at = text && *text == '-' ? text + 1 : text;
    return at && (isdigit ((unsigned char) *at) || (*at == '.' && isdigit ((unsigned char) at[1])));
}

static int
s_number (const char *text, double min, double max, long long *value)
{
    if (!s_number_start (text))
        return -1;
    char *end = NULL;
    errno = 0;
    long long parsed = strtoll (text, &end, 10);
    if (errno || *end || (double) parsed < min || (double) parsed > max)
        return -1;
    *value = parsed;
    return 0;
}

//  Finite number in MIN..MAX from TEXT; -1 when it is not one.
static int
s_real (const char *text, double min, double max, double *value)
{
    if (!s_number_start (text))
        return -1;
    char *end = NULL;
    errno = 0;
    double parsed = strtod (text, &end);
    if (errno || *end || !isfinite (parsed) || parsed < min || parsed > max)
        return -1;
    *value = parsed;
    return 0;
}

//  Any whole number from 0 in TEXT; -1 when it is not one ("-1" is not).
static int
s_u64 (const char *text, uint64_t *value)
{
    if (!s_number_start (text) || *text == '-')
        return -1;
    char *end = NULL;
    errno = 0;
    unsigned long long parsed = strtoull (text, &end, 10);
    if (errno || *end)
        return -1;
    *value = (uint64_t) parsed;
    return 0;
}

static int
s_bool (const char *text, bool *value)
{
    static const char *yes[] = {"1", "on", "yes", "true"}, *no[] = {"0", "off", "no", "false"};
    for (size_t i = 0; i < 4; i++)
        if (strcasecmp (text, yes[i]) == 0 || strcasecmp (text, no[i]) == 0) {
            *value = strcasecmp (text, yes[i]) == 0;
            return 0;
        }
    return -1;
}

//  true if TEXT is one of the '|'-separated CHOICES.
static bool
s_choice (const char *text, const char *choices)
{
    size_t len = strlen (text);
    for (const char *at = choices; at && *at;) {
        const char *bar = strchr (at, '|');
        size_t item = bar ? (size_t) (bar - at) : strlen (at);
        if (item == len && strncmp (at, text, len) == 0)
            return true;
        at = bar ? bar + 1 : NULL;
    }
    return false;
}

//  A DOUBLE or SECONDS row's TEXT into its target. -1 with ERR.
static int
s_store_real (const maas_options_t *self, const maas_option_t *opt, const char *where,
              const char *text, maas_err_t *err)
{
    double value = 0;
    bool seconds = opt->type == MAAS_OPT_SECONDS;
    if (s_real (text, opt->min, opt->max, &value) != 0)
        return maas_err_set (err, MAAS_ERR_INPUT, "%s: %s: '%s' is not a number%s (%.15g..%.15g)",
                             self->prog, where, text, seconds ? " of seconds" : "", opt->min,
                             opt->max);
    if (seconds)
        *(int *) opt->target = (int) llround (value * 1000);
    else
        *(double *) opt->target = value;
    return 0;
}

//  Store TEXT (from WHERE: "--flag" or "$VAR") into OPT's target. -1 with ERR.
static int
s_store (const maas_options_t *self, const maas_option_t *opt, const char *where, const char *text,
         maas_err_t *err)
{
    long long n = 0;
    maas_err_t why;
    switch (opt->type) {
        case MAAS_OPT_URL: {
            maas_redis_url_t url;
            if (maas_redis_url_parse (&url, text, &why) != 0)
                return maas_err_set (err, MAAS_ERR_INPUT, "%s: %s: %s", self->prog, where,
                                     why.text);
            maas_redis_url_clear (&url);
        }    //  fall through
        case MAAS_OPT_STRING: *(const char **) opt->target = text; return 0;
        case MAAS_OPT_CHOICE:
            if (!s_choice (text, opt->choices))
                return maas_err_set (err, MAAS_ERR_INPUT, "%s: %s: '%s' is not one of %s",
                                     self->prog, where, text, opt->choices);
            *(const char **) opt->target = text;
            return 0;
        case MAAS_OPT_BOOL:
            if (s_bool (text, (bool *) opt->target) != 0)
                return maas_err_set (err, MAAS_ERR_INPUT,
                                     "%s: %s: '%s' is not on or off (1/0, yes/no, true/false)",
                                     self->prog, where, text);
            return 0;
        case MAAS_OPT_LIST: {
            maas_opt_list_t *list = opt->target;
            if (list->count == MAAS_OPT_LIST_MAX)
                return maas_err_set (err, MAAS_ERR_INPUT, "%s: %s: at most %d of them", self->prog,
                                     where, MAAS_OPT_LIST_MAX);
            list->items[list->count++] = text;
            return 0;
        }
        case MAAS_OPT_U64:
            if (s_u64 (text, (uint64_t *) opt->target) != 0)
                return maas_err_set (err, MAAS_ERR_INPUT,
                                     "%s: %s: '%s' is not a whole number from 0", self->prog, where,
                                     text);
            return 0;
        case MAAS_OPT_DOUBLE:
        case MAAS_OPT_SECONDS: return s_store_real (self, opt, where, text, err);
        default: break;
    }
    if (s_number (text, opt->min, opt->max, &n) != 0)
        return maas_err_set (err, MAAS_ERR_INPUT,
                             "%s: %s: '%s' is not a whole number (%.15g..%.15g)", self->prog, where,
                             text, opt->min, opt->max);
    if (opt->type == MAAS_OPT_UINT)
        *(size_t *) opt->target = (size_t) n;
    else
        *(int *) opt->target = (int) n;
    return 0;
}

static int
s_from_env (const maas_options_t *self, maas_env_fn *env, maas_err_t *err)
{
    for (size_t i = 0; env && i < self->count; i++) {
        const maas_option_t *opt = &self->options[i];
        const char *text = opt->env ? env (opt->env) : NULL;
        char where[128];
        snprintf (where, sizeof where, "$%s", opt->env ? opt->env : "");
        if (text && *text && s_store (self, opt, where, text, err) != 0)
            return -1;
    }
    return 0;
}

//  The row for FLAG (its first LEN characters), or NULL.
static const maas_option_t *
s_find (const maas_options_t *self, const char *flag, size_t len)
{
    for (size_t i = 0; i < self->count; i++)
        if (strlen (self->options[i].flag) == len
            && strncmp (self->options[i].flag, flag, len) == 0)
            return &self->options[i];
    return NULL;
}

//  ARGV[*I], a flag, and its value; advances *I past what it used.
static int
s_flag (const maas_options_t *self, int argc, char **argv, int *i, maas_err_t *err)
{
    const char *arg = argv[*i], *eq = strchr (arg, '=');
    size_t len = eq ? (size_t) (eq - arg) : strlen (arg);
    const maas_option_t *opt = s_find (self, arg, len);
    if (!opt)
        return maas_err_set (err, MAAS_ERR_INPUT, "%s: unknown option '%.*s' (see --help)",
                             self->prog, (int) len, arg);
    char where[128];
    snprintf (where, sizeof where, "%s", opt->flag);
    if (opt->type == MAAS_OPT_BOOL && !eq) {
        *(bool *) opt->target = strncmp (opt->flag, "--no-", 5) != 0;
        return 0;
    }
    const char *value = eq ? eq + 1 : *i + 1 < argc ? argv[++*i] : NULL;
    if (!value)
        return maas_err_set (err, MAAS_ERR_INPUT, "%s: %s needs a value (see --help)", self->prog,
                             opt->flag);
    if (s_store (self, opt, where, value, err) != 0)
        return -1;
    //  "--no-status=yes" means no status: the target holds the positive setting.
    if (opt->type == MAAS_OPT_BOOL && strncmp (opt->flag, "--no-", 5) == 0)
        *(bool *) opt->target = !*(bool *) opt->target;
    return 0;
}

//  Move the positional words, whose indexes are AT[0..COUNT), to the end
//  of ARGV in their order, the flags and their values before them in theirs.
static void
s_positionals_last (int argc, char **argv, const int *at, int count)
{
    char **words = malloc ((size_t) count * sizeof *words);
    assert (words);
    for (int k = 0; k < count; k++)
        words[k] = argv[at[k]];
    int kept = 1, k = 0;
    for (int i = 1; i < argc; i++)
        if (k < count && at[k] == i)
            k++;
        else
            argv[kept++] = argv[i];
    memcpy (argv + kept, words, (size_t) count * sizeof *words);
    free (words);
}

//  ARG is a positional word: no flag, or "-" (standard input).
static bool
s_positional (const char *arg)
{
    return arg[0] != '-' || strcmp (arg, "-") == 0;
}

//  Read ARGV[1..ARGC) into the targets, the index of each positional word
//  into AT (NULL: refused). Returns as maas_options_parse, with *COUNT set.
static int
s_parse_argv (const maas_options_t *self, int argc, char **argv, void *out, int *at, int *count,
              maas_err_t *err)
{
    bool words_only = false;
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        if (!words_only && strcmp (arg, "--") == 0) {
            words_only = true;
            continue;
        }
        if (words_only || s_positional (arg)) {
            if (!at)
                return maas_err_set (err, MAAS_ERR_INPUT,
                                     "%s: unexpected argument '%s' (see --help)", self->prog, arg);
            at[(*count)++] = i;
            continue;
        }
        if (strcmp (arg, "-h") == 0 || strcmp (arg, "--help") == 0) {
            maas_options_help (self, out);
            return 1;
        }
        if (strcmp (arg, "--version") == 0) {
            fprintf (out, "%s (maas) %s\n", self->prog, PACKAGE_VERSION);
            return 1;
        }
        if (s_flag (self, argc, argv, &i, err) != 0)
            return -1;
    }
    return 0;
}

int
maas_options_parse (const maas_options_t *self, int argc, char **argv, maas_env_fn *env, void *out,
                    int *next, maas_err_t *err)
{
    assert (self && argv);
    if (s_from_env (self, env, err) != 0)
        return -1;
    int *at = next && argc > 1 ? malloc ((size_t) argc * sizeof *at) : NULL, count = 0;
    assert (at || !next || argc <= 1);
    int rc = s_parse_argv (self, argc, argv, out, next ? at : NULL, &count, err);
    if (rc == 0 && next) {
        //  A "--" stays among the flags, just before the positional words.
        s_positionals_last (argc, argv, at, count);
        *next = argc - count;
    }
    free (at);
    return rc;
}

int
maas_options_main (const maas_options_t *self, int argc, char **argv, maas_env_fn *env)
{
    maas_err_t err;
    int rc = maas_options_parse (self, argc, argv, env, stdout, NULL, &err);
    if (rc < 0)
        fprintf (stderr, "%s\n", err.text);
    return rc;
}

//  OPT's default as --help shows it, into TEXT.
static void
s_default (const maas_option_t *opt, char *text, size_t size)
{
    if (opt->def_text)
        snprintf (text, size, "%s", opt->def_text);
    else if (opt->type == MAAS_OPT_UINT)
        snprintf (text, size, "%zu", *(size_t *) opt->target);
    else if (opt->type == MAAS_OPT_INT || opt->type == MAAS_OPT_MS)
        snprintf (text, size, "%d", *(int *) opt->target);
    else if (opt->type == MAAS_OPT_BOOL)
        snprintf (text, size, "%s", *(bool *) opt->target ? "on" : "off");
    else if (opt->type == MAAS_OPT_DOUBLE)
        snprintf (text, size, "%g", *(double *) opt->target);
    else if (opt->type == MAAS_OPT_SECONDS)
        snprintf (text, size, "%g", *(int *) opt->target / 1000.0);
    else if (opt->type == MAAS_OPT_U64)
        snprintf (text, size, "%" PRIu64, *(uint64_t *) opt->target);
    else if (opt->type == MAAS_OPT_LIST)
        snprintf (text, size, "%s", "");
    else
        snprintf (text, size, "%s",
                  *(const char **) opt->target ? *(const char **) opt->target : "");
}

//  true if OPT's values have a range worth saying in --help.
static bool
s_ranged (const maas_option_t *opt)
{
    return opt->type == MAAS_OPT_INT || opt->type == MAAS_OPT_UINT || opt->type == MAAS_OPT_MS
        || opt->type == MAAS_OPT_DOUBLE || opt->type == MAAS_OPT_SECONDS;
}

void
maas_options_help (const maas_options_t *self, void *out)
{
    assert (self && out);
    fputs (self->summary, out);
    for (size_t i = 0; i < self->count; i++) {
        const maas_option_t *opt = &self->options[i];
        if (!opt->help)
            continue;
        char left[64], def[128];
        snprintf (left, sizeof left, "%s%s%s", opt->flag, opt->value_name ? " " : "",
                  opt->value_name ? opt->value_name : "");
        s_default (opt, def, sizeof def);
        char range[80] = "";
        if (s_ranged (opt))
            snprintf (range, sizeof range, "%.15g..%.15g%s, ", opt->min, opt->max,
                      opt->type == MAAS_OPT_SECONDS  ? " s"
                          : opt->type == MAAS_OPT_MS ? " ms"
                                                     : "");
        fprintf (out, "  %-20s %s (%s%s%s%sdefault %s)\n", left, opt->help, opt->env ? "$" : "",
                 opt->env ? opt->env : "", opt->env ? ", " : "", range, *def ? def : "none");
    }
    fprintf (out, "  %-20s %s\n  %-20s %s\n", "-h, --help", "this text", "--version",
             "the version");
    if (self->epilog)
        fputs (self->epilog, out);
}
