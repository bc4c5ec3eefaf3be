/*  cmd_status.c: `maas status [ID...]`. Without ids: the local stack's
 *  processes (if `maas up` started one), each broker's stats from Redis (jobs
 *  by status, queue depth, workers, rate) and the pending count; with ids:
 *  each job's record, binary fields shown by size. */
#include "commands.h"
#include "env.h"
#include "output.h"
#include "stack.h"
#include "maas.h"

#include <hiredis/hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char s_summary[] =
    "usage: maas status [--json] [--redis URL] [--prefix P] [--state DIR] [JOB_ID...]\n\n"
    "Without ids: the local stack's processes (the one `maas up` started in DIR,\n"
    "if any), each broker's counters, queues and workers, and the number of\n"
    "unfinished jobs. With ids: each job's record (status, attempts, worker,\n"
    "timestamps, error); exit 1 if one is not found.\n\n";

static bool
s_printable (const redisReply *value)
{
    for (size_t i = 0; i < value->len; i++)
        if ((unsigned char) value->str[i] < 32 || (unsigned char) value->str[i] > 126)
            return false;
    return true;
}

//  The job header (msgpack map): print its scalar keys, "header.kind infer".
static void
s_print_header (const redisReply *value, const char *indent)
{
    msgpack_unpacked unpacked;
    msgpack_unpacked_init (&unpacked);
    if (maas_codec_unpack (value->str, value->len, 0, &unpacked, NULL) == 0
        && unpacked.data.type == MSGPACK_OBJECT_MAP) {
        const msgpack_object_map *map = &unpacked.data.via.map;
        for (uint32_t i = 0; i < map->size; i++) {
            const msgpack_object *k = &map->ptr[i].key, *v = &map->ptr[i].val;
            if (k->type != MSGPACK_OBJECT_STR)
                continue;
            printf ("%sheader.%-7.*s ", indent, (int) k->via.str.size, k->via.str.ptr);
            if (v->type == MSGPACK_OBJECT_STR)
                printf ("%.*s\n", (int) v->via.str.size, v->via.str.ptr);
            else if (v->type == MSGPACK_OBJECT_POSITIVE_INTEGER)
                printf ("%llu\n", (unsigned long long) v->via.u64);
            else if (v->type == MSGPACK_OBJECT_BOOLEAN)
                printf ("%s\n", v->via.boolean ? "true" : "false");
            else
                printf ("(%s)\n", maas_codec_type_name (v));
        }
    }
    msgpack_unpacked_destroy (&unpacked);
}

//  One NAME VALUE line: wall-clock "…_ms" fields as ISO 8601 UTC, and the
//  broker's "workers" (every peer on its backend) called what it counts.
static void
s_print_field (const char *name, const char *value, const char *indent)
{
    size_t len = strlen (name);
    char *end;
    long long ms = strtoll (value, &end, 10);
    if (len > 3 && strcmp (name + len - 3, "_ms") == 0 && !*end && ms > 0) {
        char text[40];
        maas_iso_time (ms, text, sizeof text);
        printf ("%s%-14.*s %s\n", indent, (int) len - 3, name, text);
    }
    else if (strcmp (name, "workers") == 0)
        printf ("%s%-14s %s (workers and trainers)\n", indent, "connected", value);
    else
        printf ("%s%-14s %s\n", indent, name, value);
}

static void
s_print_hash (const redisReply *hash, const char *indent)
{
    for (size_t i = 0; i + 1 < hash->elements; i += 2) {
        const redisReply *name = hash->element[i], *value = hash->element[i + 1];
        if (value->type != REDIS_REPLY_STRING)
            continue;
        bool binary = strcmp (name->str, "header") == 0 || strcmp (name->str, "payload") == 0
            || strcmp (name->str, "result") == 0 || strcmp (name->str, "client") == 0
            || strcmp (name->str, "result_header") == 0 || !s_printable (value);
        if (strcmp (name->str, "header") == 0)
            s_print_header (value, indent);
        else if (binary)
            printf ("%s%-14s %zu bytes\n", indent, name->str, value->len);
        else if (value->len)
            s_print_field (name->str, value->str, indent);
    }
}

static int
s_job (redisContext *ctx, const char *prefix, const char *id)
{
    redisReply *hash = redisCommand (ctx, "HGETALL %s%s%s", prefix, "job:", id);
    if (!hash || hash->type != REDIS_REPLY_ARRAY || hash->elements == 0) {
        fprintf (stderr,
                 "maas status: job %s: not found (never submitted, untracked, or "
                 "finished and expired)\n",
                 id);
        freeReplyObject (hash);
        return 1;
    }
    printf ("job %s\n", id);
    s_print_hash (hash, "  ");
    freeReplyObject (hash);
    return 0;
}

//  A broker's stats hash as JSON members: counters as numbers, "…_ms"
//  times as ISO 8601 strings without the suffix, "workers" as "connected".
static void
s_broker_json (const char *name, const redisReply *hash)
{
    printf ("{");
    maas_json_field (stdout, "name", name, 1);
    for (size_t i = 0; i + 1 < hash->elements; i += 2) {
        const char *field = hash->element[i]->str, *value = hash->element[i + 1]->str;
        size_t len = strlen (field);
        char *end;
        long long number = strtoll (value, &end, 10);
        if (*end || !*value)
            continue;    //  every stat is a whole number
        if (len > 3 && strcmp (field + len - 3, "_ms") == 0) {
            printf (",\"%.*s\":", (int) len - 3, field);
            maas_json_time (stdout, number);
        }
        else
            printf (",\"%s\":%lld", strcmp (field, "workers") == 0 ? "connected" : field, number);
    }
    printf ("}");
}

static void
s_brokers (redisContext *ctx, const char *prefix, bool json)
{
    redisReply *names = redisCommand (ctx, "SMEMBERS %sbrokers", prefix);
    size_t live = 0;
    if (json)
        printf (",\"brokers\":[");
    for (size_t i = 0; names && names->type == REDIS_REPLY_ARRAY && i < names->elements; i++) {
        const char *name = names->element[i]->str;
        redisReply *hash = redisCommand (ctx, "HGETALL %sbroker:%s", prefix, name);
        if (hash && hash->type == REDIS_REPLY_ARRAY && hash->elements > 0) {
            if (json && live)
                printf (",");
            if (json)
                s_broker_json (name, hash);
            else {
                printf ("broker %s\n", name);
                s_print_hash (hash, "  ");
            }
            live++;
        }
        freeReplyObject (hash);
    }
    freeReplyObject (names);
    if (json)
        printf ("]");
    else if (live == 0)
        printf ("no broker has reported in the last 5 seconds\n");
}

//  The local stack in STATE (or the default dir), if one is up there; as
//  JSON, the first member of the status object ("stack": that of ps, or null).
//  Returns the number of its processes that are gone (said on stderr), as
//  `maas ps` counts them: 0 when none is, or there is no stack.
static int
s_stack (const char *state, const maas_cli_env_t *env, bool json)
{
    char *default_dir = state ? NULL : maas_cli_state_dir (env);
    const char *dir = state ? state : default_dir;
    int members = 0, running;
    if (json) {
        printf ("{\"stack\":");
        if ((running = maas_stack_print (dir, stdout, &members, true)) < 0)
            printf ("null");
    }
    else {
        printf ("local stack %s\n", dir);
        if ((running = maas_stack_print (dir, stdout, &members, false)) < 0)
            printf ("  none (start one with: maas up)\n");
        printf ("\n");
    }
    int gone = running < 0 ? 0 : members - running;
    if (gone > 0)
        fprintf (stderr, "maas status: %d of %d processes are gone (maas ps --state %s)\n", gone,
                 members, dir);
    free (default_dir);
    return gone;
}

int
maas_cmd_status (int argc, char **argv)
{
    const char *url = NULL, *prefix = "maas:", *state = NULL;
    bool json = false;
    const maas_option_t table[] = {
        MAAS_CLI_OPT_JSON (&json, "the overview as one JSON object (docs/cli.md)"),
        {"--redis", "MAAS_REDIS_URL", MAAS_OPT_URL, 0, 0, NULL, &url, "URL",
         "where the counters and job records are", "the stack's, else " MAAS_REDIS_URL_DEFAULT},
        MAAS_CLI_OPT_PREFIX (&prefix),
        {"--state", "MAAS_STATE_DIR", MAAS_OPT_STRING, 0, 0, NULL, &state, "DIR",
         "the local stack's state dir", "/tmp/maas-UID"},
    };
    const maas_options_t options = {"maas status", s_summary, NULL, table,
                                    sizeof table / sizeof table[0]};
    int first_id = 0, code = 0;
    if (maas_cli_options (&options, argc, argv, &first_id, &code))
        return code;
    if (json && first_id < argc) {
        fprintf (stderr, "maas status: --json is for the overview; a job's: maas job ID --json\n");
        return MAAS_EXIT_USAGE;
    }
    if (state)
        maas_stack_load_env (state, true);    //  named explicitly: its Redis
    maas_cli_env_t env = maas_cli_env ();
    maas_redis_config_t redis = maas_cli_redis (&env, url);
    maas_err_t err;
    redisContext *ctx = maas_redis_connect (&redis, 2000, &err);
    int gone = 0;
    if (first_id == argc && (ctx || !json))    //  JSON: one whole object, or none
        gone = s_stack (state, &env, json);
    if (!ctx) {
        fprintf (stderr, "maas status: %s\n", err.text);
        return 1;
    }
    int rc = gone > 0;    //  a stack member gone is a failure, as for maas ps
    if (first_id < argc)
        for (int i = first_id; i < argc; i++)
            rc |= s_job (ctx, prefix, argv[i]);
    else {
        s_brokers (ctx, prefix, json);
        redisReply *pending = redisCommand (ctx, "ZCARD %spending", prefix);
        redisReply *events = redisCommand (ctx, "XLEN %sevents", prefix);
        printf (json ? ",\"unfinished_jobs\":%lld,\"events\":%lld}\n"
                     : "unfinished jobs %lld\nevents         %lld\n",
                pending && pending->type == REDIS_REPLY_INTEGER ? pending->integer : 0,
                events && events->type == REDIS_REPLY_INTEGER ? events->integer : 0);
        freeReplyObject (pending);
        freeReplyObject (events);
    }
    redisFree (ctx);
    return rc;
}
