/*  cmd_job.c: `maas job ID` (one job's status, progress, timings, worker,
 *  error and, for train jobs, the version they published) and `maas jobs
 *  [--status S]` (recent jobs, newest first, from the events stream), and
 *  `maas cancel ID...` (through the broker). */
#include "commands.h"
#include "endpoint.h"
#include "env.h"
#include "follow.h"
#include "output.h"
#include "maas.h"

#include <hiredis/hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char s_job_summary[] =
    "usage: maas job ID [--json] [--redis URL] [--prefix P]\n\n"
    "Shows one job's status, progress, timings, worker and error (and, for a train\n"
    "job, the model version it published), from Redis. Exit 1 if it is not found.\n\n";

static const char s_jobs_summary[] =
    "usage: maas jobs [--status S] [--limit N] [--all | --run RUN] [--json] [--redis URL]\n"
    "                 [--prefix P]\n\n"
    "Lists recent jobs, newest first, from Redis. The shard jobs of a `maas score` run\n"
    "(ids RUN.SHARD) show as one line per run; --all (or --status) lists them one by\n"
    "one, --run RUN lists the shards of RUN.\n\n";

static const char s_cancel_summary[] =
    "usage: maas cancel [--broker EP] ID...\n\n"
    "Cancels each job: a queued one is dropped, a running one is told to stop. Prints\n"
    "\"ID cancelled\" for each that ended so; exit 1 if any did not (it had finished,\n"
    "or is unknown).\n\n";

#define S_CANCEL_MS 10000    //  wait this long for a cancelled job's outcome

typedef struct {
    const char *id;        //  maas job: the job id
    const char *redis;     //  --redis URL or NULL
    const char *prefix;    //  --prefix, default "maas:"
    const char *status;    //  maas jobs --status, or NULL
    int limit;             //  maas jobs --limit
    bool all;              //  maas jobs --all: score shards one by one
    const char *run;       //  maas jobs --run: the shards of this score run
    bool json;             //  --json: one JSON object on stdout
} s_args_t;

//  The statuses a job record may have (docs/redis.md), for --status.
#define S_JOB_STATUSES "queued|running|succeeded|failed|cancelled|expired|rejected"
#define S_JOB_FLAGS    3    //  --json, --redis, --prefix

//  `maas job` (ONE) or `maas jobs`: ARGV into ARGS through its table.
//  Returns -1 to go on, else the exit code (0 after --help, 2 after a message).
static int
s_parse (int argc, char **argv, bool one, s_args_t *args)
{
    *args = (s_args_t){.prefix = "maas:", .limit = 20};
    //  maas job takes the first S_JOB_FLAGS rows, maas jobs all of them.
    const maas_option_t table[] = {
        MAAS_CLI_OPT_JSON (&args->json, "one JSON object (docs/cli.md)"),
        MAAS_CLI_OPT_REDIS (&args->redis, "where the job records are"),
        MAAS_CLI_OPT_PREFIX (&args->prefix),
        {"--status", NULL, MAAS_OPT_CHOICE, 0, 0, S_JOB_STATUSES, &args->status, "S",
         "only the jobs with status S: " S_JOB_STATUSES, "all"},
        {"--limit", NULL, MAAS_OPT_INT, 1, 100000, NULL, &args->limit, "N",
         "lines (jobs and score runs) at most", NULL},
        {"--all", NULL, MAAS_OPT_BOOL, 0, 0, NULL, &args->all, NULL,
         "score shard jobs one by one, not one line per run", NULL},
        {"--run", NULL, MAAS_OPT_STRING, 0, 0, NULL, &args->run, "RUN",
         "the shard jobs of score run RUN, by shard number", "none"},
    };
    const maas_options_t options = {one ? "maas job" : "maas jobs",
                                    one ? s_job_summary : s_jobs_summary, NULL, table,
                                    one ? S_JOB_FLAGS : sizeof table / sizeof table[0]};
    int next = 0, code = 0;
    if (maas_cli_options (&options, argc, argv, one ? &next : NULL, &code))
        return code;
    if (one && next != argc - 1) {
        fprintf (stderr, "maas job: give one job ID (see --help)\n");
        return 2;
    }
    if (args->all && args->run) {
        fprintf (stderr, "maas jobs: --all or --run RUN, not both (see --help)\n");
        return 2;
    }
    args->id = one ? argv[next] : NULL;
    return -1;
}

//  The value of FIELD in an HGETALL reply, or NULL.
static const redisReply *
s_get (const redisReply *hash, const char *field)
{
    for (size_t i = 0; i + 1 < hash->elements; i += 2)
        if (hash->element[i]->type == REDIS_REPLY_STRING
            && strcmp (hash->element[i]->str, field) == 0
            && hash->element[i + 1]->type == REDIS_REPLY_STRING)
            return hash->element[i + 1];
    return NULL;
}

static const char *
s_str (const redisReply *hash, const char *field)
{
    const redisReply *value = s_get (hash, field);
    return value && value->len ? value->str : NULL;
}

static long long
s_ms (const redisReply *hash, const char *field)
{
    const char *text = s_str (hash, field);
    return text ? atoll (text) : 0;
}

//  A train job's result: the version it published and its metrics.
static void
s_print_train_result (const redisReply *result)
{
    msgpack_unpacked message;
    msgpack_unpacked_init (&message);
    maas_codec_map_t map, metrics;
    char model[MAAS_TRAINING_NAME_MAX + 1];
    uint64_t version;
    if (maas_codec_unpack (result->str, result->len, 0, &message, NULL) == 0
        && maas_codec_map_init (&map, &message.data, "result") == 0
        && maas_codec_map_str_copy (&map, "model", model, sizeof model) == 0
        && maas_codec_map_uint64 (&map, "version", &version) == 0) {
        printf ("%-12s %s@%llu\n", "published", model, (unsigned long long) version);
        if (maas_codec_map_map (&map, "metrics", &metrics) == 0)
            for (uint32_t i = 0; i < metrics.map->size; i++) {
                const msgpack_object_kv *kv = &metrics.map->ptr[i];
                if (kv->key.type == MSGPACK_OBJECT_STR && kv->val.type == MSGPACK_OBJECT_FLOAT64)
                    printf ("  %-14.*s %.6g\n", (int) kv->key.via.str.size, kv->key.via.str.ptr,
                            kv->val.via.f64);
            }
    }
    msgpack_unpacked_destroy (&message);
}

static long long s_id_ms (const char *id);

static void
s_print_times (const redisReply *hash, const char *id)
{
    long long submitted = s_id_ms (id), started = s_ms (hash, "started_ms"),
              finished = s_ms (hash, "finished_ms");
    char text[64];
    if (submitted) {
        maas_iso_time (submitted, text, sizeof text);
        printf ("%-12s %s\n", "submitted", text);
    }
    if (started) {
        maas_iso_time (started, text, sizeof text);
        printf ("%-12s %s (queued %.3f s)\n", "started", text,
                submitted ? (double) (started - submitted) / 1000 : 0.0);
    }
    if (finished) {
        maas_iso_time (finished, text, sizeof text);
        printf ("%-12s %s (ran %.3f s)\n", "finished", text,
                started ? (double) (finished - started) / 1000 : 0.0);
    }
}

//  Kind and model from the job's SUBMIT header (msgpack) into JOB; -1 if
//  there is none or it does not parse.
static int
s_header (const redisReply *header, maas_proto_job_t *job)
{
    if (!header)
        return -1;
    msgpack_unpacked scratch;
    msgpack_unpacked_init (&scratch);
    maas_err_t err;
    int rc = maas_proto_job_parse (job, header->str, header->len, &scratch, &err);
    msgpack_unpacked_destroy (&scratch);
    return rc;
}

//  Wall-clock ms a libmaas job id was made at (ULID: 10 Crockford base32
//  characters of milliseconds; a score shard RUN.N: its run's), or 0 if ID
//  is not one.
static long long
s_id_ms (const char *id)
{
    static const char digits[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
    long long ms = 0;
    if (strlen (id) < 26 || (id[26] && id[26] != '.'))    //  a score shard: its run's time
        return 0;
    for (int i = 0; i < 10; i++) {
        const char *at = strchr (digits, id[i]);
        if (!at || !id[i])
            return 0;
        ms = ms * 32 + (at - digits);
    }
    return ms;
}

//  A train job's published version as JSON: {"model","version"} or null.
static void
s_json_published (const redisReply *result)
{
    maas_training_result_t out;
    maas_err_t err;
    if (result && maas_training_result_parse (&out, result->str, result->len, &err) == 0) {
        printf ("{");
        maas_json_field (stdout, "model", out.model, 1);
        printf (",\"version\":%llu}", (unsigned long long) out.version);
    }
    else
        printf ("null");
}

//  `maas job ID --json`: one object, every key always present (null if
//  unknown), times in ISO 8601 UTC (docs/cli.md).
static void
s_job_json (const redisReply *hash, const char *id, const maas_proto_job_t *job, bool known)
{
    printf ("{");
    maas_json_field (stdout, "id", id, 1);
    const char *fields[] = {"status", "worker", "error", "progress_message"};
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++)
        maas_json_field (stdout, fields[i], s_str (hash, fields[i]), 0);
    maas_json_field (stdout, "kind", known ? job->kind : NULL, 0);
    maas_json_field (stdout, "model", known && *job->model ? job->model : NULL, 0);
    printf (",\"attempts\":%lld,\"progress\":", s_ms (hash, "attempts"));
    if (s_str (hash, "progress"))
        printf ("%.4f", atof (s_str (hash, "progress")));
    else
        printf ("null");
    const char *times[] = {"submitted", "started", "finished"};
    long long values[] = {s_id_ms (id), s_ms (hash, "started_ms"), s_ms (hash, "finished_ms")};
    for (size_t i = 0; i < 3; i++) {
        printf (",\"%s\":", times[i]);
        maas_json_time (stdout, values[i]);
    }
    printf (",\"published\":");
    s_json_published (known && strcmp (job->kind, "train") == 0 ? s_get (hash, "result") : NULL);
    printf ("}\n");
}

static int
s_job (redisContext *redis, const s_args_t *args)
{
    redisReply *hash = redisCommand (redis, "HGETALL %sjob:%s", args->prefix, args->id);
    if (!hash || hash->type != REDIS_REPLY_ARRAY || hash->elements == 0) {
        fprintf (stderr,
                 "maas job: job %s not found (never submitted, untracked, or finished "
                 "and expired)\n",
                 args->id);
        if (hash)
            freeReplyObject (hash);
        return 1;
    }
    maas_proto_job_t job;
    memset (&job, 0, sizeof job);
    bool known = s_header (s_get (hash, "header"), &job) == 0;
    if (args->json) {
        s_job_json (hash, args->id, &job, known);
        freeReplyObject (hash);
        return 0;
    }
    printf ("%-12s %s\n", "job", args->id);
    printf ("%-12s %s\n", "status", s_str (hash, "status") ? s_str (hash, "status") : "?");
    if (known)
        printf ("%-12s %s\n%-12s %s\n", "kind", job.kind, "model", *job.model ? job.model : "-");
    static const char *fields[] = {"attempts", "worker"};
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++)
        if (s_str (hash, fields[i]))
            printf ("%-12s %s\n", fields[i], s_str (hash, fields[i]));
    if (s_str (hash, "progress"))
        printf ("%-12s %.0f%%%s%s\n", "progress", atof (s_str (hash, "progress")) * 100,
                s_str (hash, "progress_message") ? "  " : "",
                s_str (hash, "progress_message") ? s_str (hash, "progress_message") : "");
    s_print_times (hash, args->id);
    if (s_str (hash, "error"))
        printf ("%-12s %s\n", "error", s_str (hash, "error"));
    const char *status = s_str (hash, "status");
    if (known && status && strcmp (job.kind, "train") == 0 && strcmp (status, "succeeded") == 0
        && s_get (hash, "result"))
        s_print_train_result (s_get (hash, "result"));
    freeReplyObject (hash);
    return 0;
}

//  One job of `maas jobs --json`, after a comma unless it is the first.
static void
s_job_line_json (const char *id, const char *status, const maas_proto_job_t *job,
                 const char *progress, const char *worker, long shown)
{
    printf ("%s{", shown ? "," : "");
    maas_json_field (stdout, "id", id, 1);
    maas_json_field (stdout, "status", status, 0);
    maas_json_field (stdout, "kind", job->kind, 0);
    maas_json_field (stdout, "model", *job->model ? job->model : NULL, 0);
    printf (",\"progress\":%.4f,\"submitted\":", *progress ? atof (progress) : 0.0);
    maas_json_time (stdout, s_id_ms (id));
    maas_json_field (stdout, "worker", worker, 0);
    printf ("}");
}

//  Print one line for job ID unless filtered out (SHOWN lines before it);
//  1 if printed.
static int
s_job_line (redisContext *redis, const s_args_t *args, const char *id, long shown)
{
    redisReply *reply =
        redisCommand (redis, "HMGET %sjob:%s status header progress worker", args->prefix, id);
    int printed = 0;
    if (reply && reply->type == REDIS_REPLY_ARRAY && reply->elements == 4
        && reply->element[0]->type == REDIS_REPLY_STRING
        && (!args->status || strcmp (reply->element[0]->str, args->status) == 0)) {
        char when[64] = "";
        if (s_id_ms (id))
            maas_iso_time (s_id_ms (id), when, sizeof when);
        maas_proto_job_t job;
        memset (&job, 0, sizeof job);
        if (reply->element[1]->type != REDIS_REPLY_STRING || s_header (reply->element[1], &job))
            snprintf (job.kind, sizeof job.kind, "?");
        const char *progress =
            reply->element[2]->type == REDIS_REPLY_STRING ? reply->element[2]->str : "";
        const char *worker =
            reply->element[3]->type == REDIS_REPLY_STRING ? reply->element[3]->str : NULL;
        if (args->json) {
            s_job_line_json (id, reply->element[0]->str, &job, progress, worker, shown);
            freeReplyObject (reply);
            return 1;
        }
        //  Jobs that report no progress (infer, explain): done, or not said.
        char shown_progress[16];
        const char *status = reply->element[0]->str;
        if (*progress)
            snprintf (shown_progress, sizeof shown_progress, "%.0f%%", atof (progress) * 100);
        else
            snprintf (shown_progress, sizeof shown_progress, "%s",
                      strcmp (status, "succeeded") == 0 ? "100%" : "-");
        printf ("%-28s %-10s %-7s %-16s %6s  %-24.24s %s\n", id, status, job.kind, job.model,
                shown_progress, when, worker ? worker : "");
        printed = 1;
    }
    if (reply)
        freeReplyObject (reply);
    return printed;
}

//  -- score runs: shard jobs RUN.SHARD[.ATTEMPT] (shared/score.c)

//  The score run ID belongs to, into RUN (MAAS_PROTO_ID_MAX + 1 bytes): its
//  part before the first '.' when that is a job id of libmaas (a ULID) and
//  the rest is digits and dots; false if ID is no shard.
static bool
s_run_of (const char *id, char *run)
{
    const char *dot = strchr (id, '.');
    if (!dot || dot - id != 26 || !dot[1] || strspn (dot + 1, "0123456789.") != strlen (dot + 1))
        return false;
    snprintf (run, MAAS_PROTO_ID_MAX + 1, "%.*s", (int) (dot - id), id);
    return s_id_ms (run) != 0;
}

//  The shard number of ID, for sorting.
static int
s_by_shard (const void *a, const void *b)
{
    const char *x = strchr (*(char *const *) a, '.'), *y = strchr (*(char *const *) b, '.');
    unsigned long m = strtoul (x + 1, NULL, 10), n = strtoul (y + 1, NULL, 10);
    return m < n ? -1 : m > n ? 1 : strcmp (x, y);
}

//  The job ids of RUN's shards in Redis, by shard number: a new list (the
//  caller's, autofree), or NULL on a Redis error.
static zlist_t *
s_run_shards (redisContext *redis, const s_args_t *args, const char *run)
{
    zlist_t *ids = zlist_new ();
    zlist_autofree (ids);
    size_t skip = strlen (args->prefix) + 4;    //  "maas:job:"
    char cursor[32] = "0";
    do {
        redisReply *reply =
            redisCommand (redis, "SCAN %s MATCH %sjob:%s.* COUNT 1000", cursor, args->prefix, run);
        if (!reply || reply->type != REDIS_REPLY_ARRAY || reply->elements != 2) {
            if (reply)
                freeReplyObject (reply);
            zlist_destroy (&ids);
            return NULL;
        }
        snprintf (cursor, sizeof cursor, "%s", reply->element[0]->str);
        for (size_t i = 0; i < reply->element[1]->elements; i++)
            zlist_append (ids, reply->element[1]->element[i]->str + skip);
        freeReplyObject (reply);
    } while (strcmp (cursor, "0") != 0);
    size_t count = zlist_size (ids), n = 0;
    char **sorted = malloc ((count ? count : 1) * sizeof *sorted);
    for (char *id = zlist_first (ids); sorted && id; id = zlist_next (ids))
        sorted[n++] = strdup (id);
    zlist_purge (ids);
    if (sorted)
        qsort (sorted, n, sizeof *sorted, s_by_shard);
    for (size_t i = 0; sorted && i < n; i++) {
        zlist_append (ids, sorted[i]);
        free (sorted[i]);
    }
    free (sorted);
    return ids;
}

//  Statuses a run line counts, in its order.
static const char *const s_statuses[] = {"succeeded", "failed",  "cancelled",
                                         "expired",   "running", "queued"};
#define S_STATUSES (sizeof s_statuses / sizeof s_statuses[0])

//  One line (or with --json one object) for score run RUN: its shard jobs
//  by status. 1 if printed.
static int
s_run_line (redisContext *redis, const s_args_t *args, const char *run, long shown)
{
    zlist_t *ids = s_run_shards (redis, args, run);
    size_t counts[S_STATUSES] = {0};
    for (const char *id = ids ? zlist_first (ids) : NULL; id; id = zlist_next (ids)) {
        redisReply *reply = redisCommand (redis, "HGET %sjob:%s status", args->prefix, id);
        for (size_t k = 0; reply && reply->type == REDIS_REPLY_STRING && k < S_STATUSES; k++)
            counts[k] += strcmp (reply->str, s_statuses[k]) == 0;
        if (reply)
            freeReplyObject (reply);
    }
    size_t total = ids ? zlist_size (ids) : 0;
    zlist_destroy (&ids);
    if (args->json) {
        printf ("%s{", shown ? "," : "");
        maas_json_field (stdout, "run", run, 1);
        printf (",\"shards\":%zu", total);
        for (size_t k = 0; k < S_STATUSES; k++)
            printf (",\"%s\":%zu", s_statuses[k], counts[k]);
        printf (",\"submitted\":");
        maas_json_time (stdout, s_id_ms (run));
        printf ("}");
        return 1;
    }
    printf ("score run %s: %zu shards", run, total);
    for (size_t k = 0; k < S_STATUSES; k++)
        if (counts[k] || k < 2)
            printf (", %zu %s", counts[k], s_statuses[k]);
    printf ("\n");
    return 1;
}

//  The table's header, or the start of the JSON object.
static void
s_jobs_header (const s_args_t *args)
{
    if (args->json)
        printf ("{\"jobs\":[");
    else
        printf ("%-28s %-10s %-7s %-16s %6s  %-24s %s\n", "ID", "STATUS", "KIND", "MODEL", "PROG",
                "SUBMITTED", "WORKER");
}

//  `maas jobs --run RUN`: each shard of RUN, by shard number, the first
//  --limit of them.
static int
s_jobs_of_run (redisContext *redis, const s_args_t *args)
{
    zlist_t *ids = s_run_shards (redis, args, args->run);
    if (!ids) {
        fprintf (stderr, "maas jobs: cannot list the shards of run %s: %s\n", args->run,
                 redis->errstr[0] ? redis->errstr : "Redis error");
        return 1;
    }
    long shown = 0;
    s_jobs_header (args);
    for (const char *id = zlist_first (ids); id && shown < args->limit; id = zlist_next (ids))
        shown += s_job_line (redis, args, id, shown);
    if (args->json)
        printf ("],\"runs\":[]}\n");
    int rc = zlist_size (ids) ? 0 : 1;
    if (rc)
        fprintf (stderr, "maas jobs: run %s has no shard jobs in Redis (never run, or expired)\n",
                 args->run);
    zlist_destroy (&ids);
    return rc;
}

//  What `maas jobs` has listed so far.
typedef struct {
    zhashx_t *seen;    //  job ids and run ids listed, no values owned
    zlist_t *runs;     //  --json: score runs met, to list after the jobs
    long shown;        //  lines (jobs and runs) so far, for --limit
    long listed;       //  jobs in the JSON "jobs" array so far
} s_listing_t;

//  List job ID once: a score shard as its run's line (unless --all or
//  --status), any other job as its own line.
static void
s_jobs_entry (redisContext *redis, const s_args_t *args, s_listing_t *self, const char *id)
{
    char run[MAAS_PROTO_ID_MAX + 1];
    if (zhashx_lookup (self->seen, id))
        return;
    zhashx_insert (self->seen, id, (void *) 1);
    if (args->all || args->status || !s_run_of (id, run)) {
        int printed = s_job_line (redis, args, id, self->listed);
        self->listed += printed;
        self->shown += printed;
    }
    else if (!zhashx_lookup (self->seen, run)) {
        zhashx_insert (self->seen, run, (void *) 1);
        if (args->json)
            zlist_append (self->runs, run);    //  autofree: the list copies it
        else
            s_run_line (redis, args, run, 0);
        self->shown++;
    }
}

//  Recent job ids from the events stream, newest first, each once.
static int
s_jobs (redisContext *redis, const s_args_t *args)
{
    if (args->run)
        return s_jobs_of_run (redis, args);
    redisReply *events = redisCommand (redis, "XREVRANGE %sevents + - COUNT %d", args->prefix,
                                       args->limit * 20 + 100);
    if (!events || events->type != REDIS_REPLY_ARRAY) {
        fprintf (stderr, "maas jobs: cannot read %sevents: %s\n", args->prefix,
                 events && events->type == REDIS_REPLY_ERROR ? events->str : redis->errstr);
        if (events)
            freeReplyObject (events);
        return 1;
    }
    s_listing_t listing = {.seen = zhashx_new (), .runs = zlist_new ()};
    zlist_autofree (listing.runs);
    s_jobs_header (args);
    for (size_t i = 0; i < events->elements && listing.shown < args->limit; i++) {
        const redisReply *entry = events->element[i];
        if (entry->type != REDIS_REPLY_ARRAY || entry->elements != 2
            || entry->element[1]->type != REDIS_REPLY_ARRAY)
            continue;
        //  Each entry is one broker loop turn: "<id> <status>" pairs.
        const redisReply *fields = entry->element[1];
        for (size_t f = 0; f + 1 < fields->elements && listing.shown < args->limit; f += 2)
            if (fields->element[f]->type == REDIS_REPLY_STRING)
                s_jobs_entry (redis, args, &listing, fields->element[f]->str);
    }
    if (args->json) {
        printf ("],\"runs\":[");
        long n = 0;
        for (const char *run = zlist_first (listing.runs); run; run = zlist_next (listing.runs))
            n += s_run_line (redis, args, run, n);
        printf ("]}\n");
    }
    zhashx_destroy (&listing.seen);
    zlist_destroy (&listing.runs);
    freeReplyObject (events);
    return 0;
}

static int
s_run (int argc, char **argv, bool one)
{
    s_args_t args;
    int code = s_parse (argc, argv, one, &args);
    if (code >= 0)
        return code;
    maas_err_t err;
    maas_cli_env_t env = maas_cli_env ();
    maas_redis_config_t where = maas_cli_redis (&env, args.redis);
    redisContext *redis = maas_redis_connect (&where, 5000, &err);
    if (!redis) {
        fprintf (stderr, "%s: %s\n", one ? "maas job" : "maas jobs", err.text);
        return 1;
    }
    int rc = one ? s_job (redis, &args) : s_jobs (redis, &args);
    redisFree (redis);
    return rc;
}

//  Cancel job ID through the broker and print its outcome; 0 if it ended
//  cancelled, else 1 with the reason on stderr.
static int
s_cancel_one (maas_client_t *client, const char *id)
{
    maas_result_t *result = NULL;
    if (maas_client_fetch (client, id, NULL, NULL) == 0 && maas_client_cancel (client, id) == 0)
        result = maas_client_wait (client, id, S_CANCEL_MS);
    int rc = result && strcmp (result->status, "cancelled") == 0 ? 0 : 1;
    if (rc == 0)
        printf ("%s cancelled\n", id);
    else if (result)
        fprintf (stderr, "maas cancel: job %s %s%s%s\n", id, result->status,
                 result->error ? ": " : "", result->error ? result->error : "");
    else
        fprintf (stderr, "maas cancel: job %s: no answer from the broker in %d s (%s)\n", id,
                 S_CANCEL_MS / 1000, maas_client_error (client));
    maas_result_destroy (&result);
    return rc;
}

int
maas_cmd_cancel (int argc, char **argv)
{
    maas_cli_env_t env = maas_cli_env ();
    const char *broker = env.broker;
    const maas_option_t table[] = {
        MAAS_CLI_OPT_BROKER (&broker),
    };
    const maas_options_t options = {"maas cancel", s_cancel_summary, NULL, table,
                                    sizeof table / sizeof table[0]};
    int first = 0, code = 0;
    if (maas_cli_options (&options, argc, argv, &first, &code))
        return code;
    if (first == argc) {
        fprintf (stderr, "maas cancel: give the ID of each job to cancel (see --help)\n");
        return 2;
    }
    if (maas_cli_broker_bad ("maas cancel", broker))
        return 2;
    maas_client_t *client = maas_cli_client ("maas cancel", broker);
    if (!client || maas_follow_ping (client, "maas cancel", broker, 0) != 0) {
        maas_client_destroy (&client);
        return 1;
    }
    int rc = 0;
    for (int i = first; i < argc; i++)
        rc |= s_cancel_one (client, argv[i]);
    maas_client_destroy (&client);
    return rc;
}

int
maas_cmd_job (int argc, char **argv)
{
    return s_run (argc, argv, true);
}

int
maas_cmd_jobs (int argc, char **argv)
{
    return s_run (argc, argv, false);
}
