/*  options.c: the table-driven flag and environment reader. */
#include "options.h"
#include "redis_url.h"

#include "config.h"

#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

//  Whole number in MIN..MAX from TEXT; -1 when it is not one.
static int
s_number (const char *text, long long min, long long max, long long *value)
{
    if (!text || !*text)
        return -1;
    char *end = NULL;
    errno = 0;
    long long parsed = strtoll (text, &end, 10);
    if (errno || *end || parsed < min || parsed > max)
        return -1;
    *value = parsed;
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

//  Store TEXT (from WHERE: "--flag" or "$VAR") into OPT's target. -1 with ERR.
static int
s_store (const maas_options_t *self, const maas_option_t *opt, const char *where, const char *text,
         maas_err_t *err)
{
    long long n = 0;
    char why[256];
    switch (opt->type) {
        case MAAS_OPT_URL: {
            maas_redis_url_t url;
            if (maas_redis_url_parse (&url, text, why, sizeof why) != 0)
                return maas_err_set (err, MAAS_ERR_INPUT, "%s: %s: %s", self->prog, where, why);
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
        default: break;
    }
    if (s_number (text, opt->min, opt->max, &n) != 0)
        return maas_err_set (err, MAAS_ERR_INPUT, "%s: %s: '%s' is not a whole number (%lld..%lld)",
                             self->prog, where, text, opt->min, opt->max);
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
    return s_store (self, opt, where, value, err);
}

int
maas_options_parse (const maas_options_t *self, int argc, char **argv, maas_env_fn *env, void *out,
                    int *next, maas_err_t *err)
{
    assert (self && argv);
    if (s_from_env (self, env, err) != 0)
        return -1;
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        if (strcmp (arg, "-h") == 0 || strcmp (arg, "--help") == 0) {
            maas_options_help (self, out);
            return 1;
        }
        if (strcmp (arg, "--version") == 0) {
            fprintf (out, "%s (maas) %s\n", self->prog, PACKAGE_VERSION);
            return 1;
        }
        if (arg[0] != '-' || strcmp (arg, "-") == 0 || strcmp (arg, "--") == 0) {
            if (next) {
                *next = i + (strcmp (arg, "--") == 0);
                return 0;
            }
            return maas_err_set (err, MAAS_ERR_INPUT, "%s: unexpected argument '%s' (see --help)",
                                 self->prog, arg);
        }
        if (s_flag (self, argc, argv, &i, err) != 0)
            return -1;
    }
    if (next)
        *next = argc;
    return 0;
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
    else
        snprintf (text, size, "%s",
                  *(const char **) opt->target ? *(const char **) opt->target : "");
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
        fprintf (out, "  %-20s %s (%s%s%sdefault %s)\n", left, opt->help, opt->env ? "$" : "",
                 opt->env ? opt->env : "", opt->env ? ", " : "", *def ? def : "none");
    }
    fprintf (out, "  %-20s %s\n  %-20s %s\n", "-h, --help", "this text", "--version",
             "the version");
    if (self->epilog)
        fputs (self->epilog, out);
}
