/*  score.c: the fan-out scoring loop. A ring of WINDOW shard slots: the
 *  reader fills free slots and submits them, results mark slots done (or
 *  failed, to be retried from the kept input), and the writer empties slots
 *  from the head in order. Sources and sinks are a tensor or a file. */
#include "score.h"
#include "clock.h"
#include "codec.h"
#include "csv.h"
#include "infer.h"
#include "log.h"
#include "npy.h"
#include "registry.h"

#include <assert.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

//  S_STALE: ran on another version than the run's (the alias moved before
//  the first result fixed the version): to be run again on the run's.
typedef enum { S_FREE, S_IN_FLIGHT, S_FAILED, S_STALE, S_DONE } s_state_t;

typedef struct s_run_t s_run_t;

typedef struct {
    s_run_t *run;                      //  back-pointer for the result callback
    s_state_t state;                   //  where the shard is
    size_t first_row;                  //  offset of its first row in the input
    size_t rows;                       //  rows in the shard
    float *input;                      //  shard_rows × cols, owned; kept for retries
    float *labels;                     //  shard_rows labels, owned, or NULL
    float *values;                     //  rows × outputs once done, owned
    int32_t *classes;                  //  rows predicted classes or NULL, owned
    size_t outputs;                    //  values per row in VALUES
    uint64_t version;                  //  model version the result came from (0: not said)
    int attempts;                      //  runs submitted so far
    char id[MAAS_PROTO_ID_MAX + 1];    //  job id of the current run
    maas_err_t error;                  //  why the last run failed
    size_t bad_row;                    //  1-based row of the shard it names, 0: none
    bool final;                        //  the worker said another run would fail too
} s_shard_t;

struct s_run_t {
    maas_client_t *client;                    //  borrowed
    maas_score_config_t config;               //  with defaults filled in
    char name[MAAS_REGISTRY_NAME_MAX + 1];    //  model name
    int64_t version;                          //  the one version every shard runs on, 0 until known
    char alias[MAAS_REGISTRY_NAME_MAX + 1];    //  alias asked for, or "" (latest)
    bool pinned;          //  VERSION is fixed: asked for, or the first result's
    size_t cols;          //  features per row
    size_t rows_total;    //  0 if unknown (CSV)
    size_t outputs;       //  values per row, from the first result (0: none yet)
    s_shard_t *ring;      //  window slots, owned
    size_t next_read;     //  shard number the reader fills next
    size_t next_write;    //  shard number the writer empties next
    size_t in_flight;     //  slots IN_FLIGHT
    bool eof;             //  the source has no more rows
    //  Source: exactly one of these.
    const maas_tensor_t *x;       //  tensor source, borrowed
    maas_npy_reader_t *npy_in;    //  .npy source, owned
    maas_csv_stream_t *csv_in;    //  CSV source, owned
    size_t label_col;             //  .npy label column, SIZE_MAX: none
    bool has_labels;              //  labels are read and scored
    //  Sink: exactly one of these.
    maas_tensor_t *y;              //  tensor sink, owned until handed out
    maas_npy_writer_t *npy_out;    //  .npy sink, owned
    FILE *csv_out;                 //  CSV sink, owned unless stdout
    const char *out_path;          //  file the sink writes (the temporary), borrowed
    char *tmp_path;                //  temporary beside the output, owned; NULL for stdout
    size_t correct;                //  rows whose class equals the label
    size_t labelled;               //  rows with both a class and a label
    double squared_error;          //  one output, no class (regression): sum of (y - label)²
    size_t regressed;              //  rows in it
    maas_score_stats_t stats;      //  what the caller gets
    maas_err_t *err;               //  the caller's, or NULL
};

//  "name", "name@3", "name@alias" into the run.
static int
s_parse_model (s_run_t *run, const char *model)
{
    maas_registry_ref_t ref;
    maas_err_t err;
    if (maas_registry_ref_parse (&ref, model ? model : "", &err) != 0)
        return maas_err_set (run->err, MAAS_ERR_INPUT, "%s", err.text);
    snprintf (run->name, sizeof run->name, "%s", ref.name);
    size_t digits = strspn (ref.ref, "0123456789");
    if (*ref.ref && !ref.ref[digits]) {
        run->version = strtoll (ref.ref, NULL, 10);
        run->pinned = true;
    }
    else if (strcmp (ref.ref, "latest") != 0)
        snprintf (run->alias, sizeof run->alias, "%s", ref.ref);
    return 0;
}

//  Fill SHARD with the next rows of the source; shard->rows == 0 at the end.
static int
s_read_shard (s_run_t *run, s_shard_t *shard)
{
    size_t want = run->config.shard_rows, got = 0;
    maas_err_t err = {MAAS_ERR_NOMEM, "out of memory"};
    int rc = 0;
    if (run->x) {
        size_t done = run->next_read * want;
        size_t left = done < run->x->rows ? run->x->rows - done : 0;
        got = left < want ? left : want;
        memcpy (shard->input, run->x->data + run->next_read * want * run->cols,
                got * run->cols * sizeof (float));
    }
    else if (run->csv_in)
        rc = maas_csv_stream_read (run->csv_in, shard->input, shard->labels, want, &got, &err);
    else if (run->label_col == SIZE_MAX)
        rc = maas_npy_read (run->npy_in, shard->input, want, &got, &err);
    else {
        //  A .npy label column: read whole rows, then move the label out.
        size_t file_cols = run->cols + 1;
        float *wide = malloc (want * file_cols * sizeof (float));
        rc = wide ? maas_npy_read (run->npy_in, wide, want, &got, &err) : -1;
        for (size_t r = 0; rc == 0 && r < got; r++) {
            const float *src = wide + r * file_cols;
            float *dst = shard->input + r * run->cols;
            shard->labels[r] = src[run->label_col];
            memcpy (dst, src, run->label_col * sizeof (float));
            memcpy (dst + run->label_col, src + run->label_col + 1,
                    (run->cols - run->label_col) * sizeof (float));
        }
        free (wide);
    }
    if (rc != 0)
        return maas_err_copy (run->err, &err);
    shard->first_row = run->next_read * want;
    shard->rows = got;
    shard->attempts = 0;
    return 0;
}

//  Turn a RESULT payload into the shard's values and classes.
static int
s_decode_result (s_shard_t *shard, const maas_result_t *result)
{
    maas_infer_result_t out;
    if (maas_infer_result_parse (&out, result->data, result->size, &shard->error) != 0)
        return -1;
    if (out.rows != shard->rows) {
        maas_err_set (&shard->error, MAAS_ERR_INPUT, "result holds %zu rows, expected %zu",
                      out.rows, shard->rows);
        maas_infer_result_clear (&out);
        return -1;
    }
    shard->values = out.values;
    shard->classes = out.classes;
    shard->outputs = out.outputs;
    shard->version = out.version;
    return 0;
}

//  Free a shard's result (the input stays, for another run).
static void
s_shard_drop_results (s_shard_t *shard)
{
    free (shard->values);
    free (shard->classes);
    shard->values = NULL;
    shard->classes = NULL;
}

static void
s_on_result (const maas_result_t *result, void *arg)
{
    s_shard_t *shard = arg;
    shard->run->in_flight--;
    s_run_t *run = shard->run;
    if (strcmp (result->status, "succeeded") == 0 && s_decode_result (shard, result) == 0) {
        shard->state = S_DONE;
        //  The first result says which version the alias named: every later
        //  shard is sent to that version, and one of the first window that
        //  ran on another (the alias moved meanwhile) runs again, so a move
        //  of the alias mid-run cannot mix two models in one output.
        if (!run->pinned && shard->version) {
            run->version = (int64_t) shard->version;
            run->pinned = true;
        }
        else if (run->pinned && shard->version && shard->version != (uint64_t) run->version) {
            maas_info ("score", "shard ran on %s@%llu, runs again on %s@%lld rows=%zu-%zu",
                       run->name, (unsigned long long) shard->version, run->name,
                       (long long) run->version, shard->first_row + 1,
                       shard->first_row + shard->rows);
            s_shard_drop_results (shard);
            shard->state = S_STALE;
        }
        return;
    }
    shard->bad_row = 0;
    shard->final = false;
    if (strcmp (result->status, "succeeded") != 0) {
        maas_err_set (&shard->error, MAAS_ERR_INPUT, "%s: %s", result->status,
                      result->error ? result->error : "no reason given");
        shard->bad_row = maas_infer_error_row (result->header, result->header_size);
        shard->final = !maas_result_retryable (result);
    }
    shard->state = S_FAILED;
}

//  The shard's job id from the run's: RUN.SHARD, or RUN.SHARD.ATTEMPT for a
//  retry (a finished id would be deduplicated by a broker that still holds
//  it); NULL when the client makes the ids.
static const char *
s_shard_id (s_run_t *run, s_shard_t *shard)
{
    if (!run->config.run_id)
        return NULL;
    size_t number = shard->first_row / run->config.shard_rows;
    if (shard->attempts > 1)
        snprintf (shard->id, sizeof shard->id, "%s.%zu.%d", run->config.run_id, number,
                  shard->attempts);
    else
        snprintf (shard->id, sizeof shard->id, "%s.%zu", run->config.run_id, number);
    return shard->id;
}

static int
s_submit (s_run_t *run, s_shard_t *shard)
{
    msgpack_sbuffer buffer;
    maas_infer_params_pack (&buffer, shard->rows, run->cols);
    maas_submit_t spec = {.kind = "infer",
                          .model = run->name,
                          .version = run->version,
                          .alias = !run->pinned && *run->alias ? run->alias : NULL,
                          .params = buffer.data,
                          .params_size = buffer.size,
                          //  The shard's input stays here until its result is
                          //  written, so a lost job is resubmitted from it: no
                          //  need for the broker to copy every payload to Redis.
                          .ephemeral = true};
    shard->attempts++;
    shard->state = S_IN_FLIGHT;
    spec.id = s_shard_id (run, shard);
    int rc = maas_client_submit (run->client, &spec, shard->input,
                                 shard->rows * run->cols * sizeof (float), s_on_result, shard,
                                 shard->id);
    msgpack_sbuffer_destroy (&buffer);
    if (rc != 0) {
        shard->state = S_FAILED;
        maas_err_set (&shard->error, MAAS_ERR_IO, "%s", maas_client_error (run->client));
        return 0;
    }
    run->in_flight++;
    return 0;
}

static int
s_write_csv_header (s_run_t *run, const s_shard_t *shard)
{
    for (size_t j = 0; j < shard->outputs; j++)
        fprintf (run->csv_out, "%sp%zu", j ? "," : "", j);
    fputs (shard->classes ? ",class\n" : "\n", run->csv_out);
    return 0;
}

//  Write a done shard to the sink, score its labels, free its results.
static int
s_write_shard (s_run_t *run, s_shard_t *shard)
{
    if (run->outputs == 0) {
        run->outputs = shard->outputs;
        if (run->csv_out)
            s_write_csv_header (run, shard);
        if (run->npy_out == NULL && run->out_path && !run->csv_out) {
            maas_err_t err;
            run->npy_out = maas_npy_create (run->out_path, run->outputs, &err);
            if (!run->npy_out)
                return maas_err_copy (run->err, &err);
        }
        if (run->x && !(run->y = maas_tensor_new (run->x->rows, run->outputs)))
            return maas_err_set (run->err, MAAS_ERR_NOMEM, "out of memory for %zu × %zu outputs",
                                 run->x->rows, run->outputs);
    }
    if (shard->version && run->version && shard->version != (uint64_t) run->version)
        return maas_err_set (
            run->err, MAAS_ERR_INPUT, "rows %zu-%zu: ran on %s@%llu, the run uses %s@%lld",
            shard->first_row, shard->first_row + shard->rows - 1, run->name,
            (unsigned long long) shard->version, run->name, (long long) run->version);
    if (shard->outputs != run->outputs)
        return maas_err_set (
            run->err, MAAS_ERR_INPUT, "rows %zu-%zu: %zu outputs per row, earlier shards had %zu",
            shard->first_row + 1, shard->first_row + shard->rows, shard->outputs, run->outputs);
    size_t count = shard->rows * shard->outputs;
    if (run->y)
        memcpy (run->y->data + shard->first_row * run->outputs, shard->values,
                count * sizeof (float));
    else if (run->npy_out) {
        maas_err_t err;
        if (maas_npy_write (run->npy_out, shard->values, shard->rows, &err) != 0)
            return maas_err_copy (run->err, &err);
    }
    for (size_t r = 0; run->csv_out && r < shard->rows; r++) {
        for (size_t j = 0; j < shard->outputs; j++)
            fprintf (run->csv_out, "%s%.9g", j ? "," : "", shard->values[r * shard->outputs + j]);
        if (shard->classes)
            fprintf (run->csv_out, ",%d", shard->classes[r]);
        fputc ('\n', run->csv_out);
    }
    for (size_t r = 0; run->has_labels && shard->classes && r < shard->rows; r++) {
        run->correct += shard->classes[r] == (int32_t) lrintf (shard->labels[r]);
        run->labelled++;
    }
    bool regression = run->has_labels && !shard->classes && shard->outputs == 1;
    for (size_t r = 0; regression && r < shard->rows; r++) {
        double error = (double) shard->values[r] - (double) shard->labels[r];
        run->squared_error += error * error;
        run->regressed++;
    }
    run->stats.rows += shard->rows;
    run->stats.shards++;
    s_shard_drop_results (shard);
    shard->state = S_FREE;
    if (run->config.progress)
        run->config.progress (run->stats.rows, run->rows_total, run->config.progress_arg);
    return 0;
}

//  Cancel what is in flight and wait (bounded) for the outcomes, so no
//  callback can fire into freed slots after we return.
static void
s_cancel_in_flight (s_run_t *run)
{
    for (size_t i = 0; i < run->config.window; i++)
        if (run->ring[i].state == S_IN_FLIGHT)
            maas_client_cancel (run->client, run->ring[i].id);
    for (int waited = 0; run->in_flight > 0 && waited < 5000; waited += 100)
        maas_client_poll (run->client, 100);
    for (size_t i = 0; run->in_flight > 0 && i < run->config.window; i++)
        if (run->ring[i].state == S_IN_FLIGHT)
            maas_client_forget (run->client, run->ring[i].id);
}

//  Give up on the run for SHARD's failure, naming the input's row when the
//  worker named one: the job's row R is the input's data row first_row + R
//  (rows count from 1, a CSV header line not counted), written over the
//  "row R" in the worker's message.
static int
s_give_up (s_run_t *run, const s_shard_t *shard)
{
    char tail[64], token[32];
    if (shard->final)
        snprintf (tail, sizeof tail, "not retried: it would fail the same again");
    else
        snprintf (tail, sizeof tail, "after %d attempts", shard->attempts);
    int len = snprintf (token, sizeof token, "row %zu", shard->bad_row);
    const char *at = shard->bad_row ? strstr (shard->error.text, token) : NULL;
    while (at && isdigit ((unsigned char) at[len]))
        at = strstr (at + 1, token);
    if (!at)
        return maas_err_set (run->err, MAAS_ERR_INPUT, "rows %zu-%zu: %s (%s)",
                             shard->first_row + 1, shard->first_row + shard->rows,
                             shard->error.text, tail);
    return maas_err_set (run->err, MAAS_ERR_INPUT,
                         "%.*srow %zu%s (%s; data rows of the input, from 1)",
                         (int) (at - shard->error.text), shard->error.text,
                         shard->first_row + shard->bad_row, at + len, tail);
}

//  Retry a failed shard or give up on the run with its rows.
static int
s_retry (s_run_t *run, s_shard_t *shard)
{
    if (shard->final || shard->attempts >= run->config.max_attempts)
        return s_give_up (run, shard);
    maas_warn ("score", "shard failed, retrying rows=%zu-%zu attempt=%d reason=\"%s\"",
               shard->first_row + 1, shard->first_row + shard->rows, shard->attempts + 1,
               shard->error.text);
    run->stats.retries++;
    return s_submit (run, shard);
}

//  One turn: fill free slots, wait for results, retry failures, write in order.
static int
s_turn (s_run_t *run)
{
    size_t window = run->config.window;
    //  The whole window goes at once, even before a result has fixed the
    //  version (s_on_result): a first shard sent alone cost a round trip and
    //  a model load per run, 15 % of a million rows (docs/benchmarks.md).
    while (!run->eof && run->next_read - run->next_write < window) {
        s_shard_t *shard = &run->ring[run->next_read % window];
        if (s_read_shard (run, shard) != 0)
            return -1;
        if (shard->rows == 0) {
            run->eof = true;
            break;
        }
        run->next_read++;
        s_submit (run, shard);
    }
    if (run->in_flight > 0 && maas_client_poll (run->client, 200) < 0)
        return maas_err_set (run->err, MAAS_ERR_IO, "interrupted: cancelled %zu shards in flight",
                             run->in_flight);
    if (run->config.tick)
        run->config.tick (run->config.progress_arg);
    for (size_t n = run->next_write; n < run->next_read; n++) {
        s_shard_t *shard = &run->ring[n % window];
        if (shard->state == S_FAILED && s_retry (run, shard) != 0)
            return -1;
        if (shard->state == S_STALE) {
            run->stats.reruns++;
            s_submit (run, shard);
        }
    }
    while (run->next_write < run->next_read
           && run->ring[run->next_write % window].state == S_DONE) {
        if (s_write_shard (run, &run->ring[run->next_write % window]) != 0)
            return -1;
        run->next_write++;
    }
    return 0;
}

static int
s_run (s_run_t *run)
{
    int64_t started = maas_clock_mono_us ();
    int rc = 0;
    int64_t give_up =
        run->config.timeout_ms > 0 ? started + run->config.timeout_ms * 1000 : INT64_MAX;
    while (rc == 0 && !(run->eof && run->next_write == run->next_read)) {
        if (run->config.interrupted && *run->config.interrupted)
            rc = maas_err_set (run->err, MAAS_ERR_IO, "interrupted: cancelled %zu shards in flight",
                               run->in_flight);
        else if (maas_clock_mono_us () >= give_up)
            rc = maas_err_set (run->err, MAAS_ERR_IO,
                               "timed out after %.0f s: cancelled %zu shards in flight",
                               (double) run->config.timeout_ms / 1000, run->in_flight);
        else
            rc = s_turn (run);
    }
    if (rc == 0 && run->stats.rows == 0)
        rc = maas_err_set (run->err, MAAS_ERR_INPUT, "no rows to score");
    if (rc != 0)
        s_cancel_in_flight (run);
    run->stats.outputs = run->outputs;
    run->stats.version = run->pinned && run->version > 0 ? (uint64_t) run->version : 0;
    run->stats.seconds = (double) (maas_clock_mono_us () - started) / 1e6;
    return rc;
}

//  Allocate the ring for COLS features, with labels if asked.
static int
s_prepare (s_run_t *run, maas_client_t *client, const maas_score_config_t *config, maas_err_t *err)
{
    run->client = client;
    run->config = *config;
    run->err = err;
    run->label_col = SIZE_MAX;
    if (!run->config.shard_rows)
        run->config.shard_rows = MAAS_SCORE_SHARD_ROWS;
    if (!run->config.window)
        run->config.window = MAAS_SCORE_WINDOW;
    if (run->config.max_attempts <= 0)
        run->config.max_attempts = MAAS_SCORE_ATTEMPTS;
    if (run->config.shard_rows > MAAS_TENSOR_MAX_ELEMS / 65536 || run->config.window > 4096)
        return maas_err_set (run->err, MAAS_ERR_INPUT, "shard rows or window too large");
    if (config->run_id && strlen (config->run_id) > MAAS_SCORE_RUN_ID_MAX)
        return maas_err_set (run->err, MAAS_ERR_INPUT, "run id '%s' is over %d characters",
                             config->run_id, MAAS_SCORE_RUN_ID_MAX);
    return s_parse_model (run, config->model);
}

static int
s_allocate_ring (s_run_t *run)
{
    run->ring = calloc (run->config.window, sizeof *run->ring);
    if (!run->ring)
        return maas_err_set (run->err, MAAS_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < run->config.window; i++) {
        s_shard_t *shard = &run->ring[i];
        shard->run = run;
        shard->input = malloc (run->config.shard_rows * run->cols * sizeof (float));
        if (run->has_labels)
            shard->labels = malloc (run->config.shard_rows * sizeof (float));
        if (!shard->input || (run->has_labels && !shard->labels))
            return maas_err_set (run->err, MAAS_ERR_NOMEM,
                                 "out of memory for %zu shards of %zu rows", run->config.window,
                                 run->config.shard_rows);
    }
    return 0;
}

static void
s_release (s_run_t *run)
{
    for (size_t i = 0; run->ring && i < run->config.window; i++) {
        free (run->ring[i].input);
        free (run->ring[i].labels);
        free (run->ring[i].values);
        free (run->ring[i].classes);
    }
    free (run->ring);
    maas_tensor_destroy (&run->y);
    maas_npy_reader_destroy (&run->npy_in);
    maas_csv_stream_destroy (&run->csv_in);
}

int
maas_score_tensor (maas_client_t *client, const maas_score_config_t *config, const maas_tensor_t *x,
                   maas_tensor_t **out, maas_score_stats_t *stats, maas_err_t *err)
{
    assert (client && config && x && out);
    s_run_t run = {0};
    run.x = x;
    run.cols = x->cols;
    run.rows_total = x->rows;
    int rc = s_prepare (&run, client, config, err);
    if (rc == 0)
        rc = s_allocate_ring (&run);
    if (rc == 0)
        rc = s_run (&run);
    if (rc == 0) {
        *out = run.y;
        run.y = NULL;
    }
    run.stats.rmse = NAN;    //  a tensor has no label column
    if (stats)
        *stats = run.stats;
    s_release (&run);
    return rc;
}

//  true if PATH ends in SUFFIX.
static bool
s_ends_with (const char *path, const char *suffix)
{
    size_t len = strlen (path), tail = strlen (suffix);
    return len >= tail && strcmp (path + len - tail, suffix) == 0;
}

static int
s_open_source (s_run_t *run, const char *input, const char *label)
{
    maas_err_t err;
    //  Read as CSV, JSON rows would fail on a header of brackets, far from the cause.
    if (s_ends_with (input, ".json") || s_ends_with (input, ".jsonl"))
        return maas_err_set (run->err, MAAS_ERR_INPUT,
                             "%s: score reads CSV with a header row or .npy, not JSON "
                             "(maas infer and the HTTP gateway take JSON rows)",
                             input);
    if (maas_npy_is_path (input)) {
        run->npy_in = maas_npy_open (input, &err);
        if (!run->npy_in)
            return maas_err_copy (run->err, &err);
        run->cols = maas_npy_cols (run->npy_in);
        run->rows_total = maas_npy_rows (run->npy_in);
        if (label) {
            char *end;
            unsigned long col = strtoul (label, &end, 10);
            if (!isdigit ((unsigned char) *label) || *end || col >= run->cols || run->cols < 2)
                return maas_err_set (run->err, MAAS_ERR_INPUT,
                                     "%s: label must be a column index 0..%zu for .npy input",
                                     input, run->cols - 1);
            run->label_col = col;
            run->cols--;
            run->has_labels = true;
        }
        return 0;
    }
    maas_csv_options_t opts = {.label = label,
                               .no_header = run->config.no_header,
                               .columns = run->config.columns,
                               .n_columns = run->config.n_columns,
                               .classes = run->config.labels,
                               .n_classes = run->config.n_labels};
    run->csv_in = maas_csv_stream_open_with (input, &opts, &err);
    if (!run->csv_in)
        return maas_err_copy (run->err, &err);
    const char *dropped = maas_csv_stream_dropped (run->csv_in);
    snprintf (run->stats.dropped, sizeof run->stats.dropped, "%s", dropped ? dropped : "");
    run->cols = maas_csv_stream_cols (run->csv_in);
    run->has_labels = maas_csv_stream_has_label (run->csv_in);
    return 0;
}

//  true (with a message) if OUTPUT is the file INPUT, by device and inode:
//  also through a symlink or a hard link.
static bool
s_is_input (s_run_t *run, const char *input, const char *output)
{
    struct stat in, out;
    if (strcmp (input, "-") == 0 || stat (input, &in) != 0 || stat (output, &out) != 0
        || in.st_dev != out.st_dev || in.st_ino != out.st_ino)
        return false;
    maas_err_set (run->err, MAAS_ERR_INPUT, "%s is the input file %s: give another --output",
                  output, input);
    return true;
}

//  Open the sink: stdout for "-", else a new temporary file beside OUTPUT
//  (created with O_EXCL, so it never follows a link or truncates a file),
//  renamed over OUTPUT only when the run succeeds.
static int
s_open_sink (s_run_t *run, const char *input, const char *output)
{
    if (strcmp (output, "-") == 0) {
        run->csv_out = stdout;
        return 0;
    }
    if (s_is_input (run, input, output))
        return -1;
    const char *slash = strrchr (output, '/');
    int dir_len = slash ? (int) (slash - output + 1) : 0;
    int fd = -1;
    for (int attempt = 0; fd < 0 && attempt < 100; attempt++) {
        free (run->tmp_path);
        if (asprintf (&run->tmp_path, "%.*s.%s.%ld.%d.tmp", dir_len, output, output + dir_len,
                      (long) getpid (), attempt)
            < 0) {
            run->tmp_path = NULL;
            return maas_err_set (run->err, MAAS_ERR_NOMEM, "out of memory");
        }
        fd = open (run->tmp_path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
        if (fd < 0 && errno != EEXIST)
            break;
    }
    if (fd < 0) {
        maas_err_set (run->err, MAAS_ERR_IO, "%s: cannot create a temporary file beside it: %s",
                      output, strerror (errno));
        free (run->tmp_path);
        run->tmp_path = NULL;
        return -1;
    }
    run->out_path = run->tmp_path;
    if (maas_npy_is_path (output)) {
        close (fd);    //  the .npy writer opens it once outputs are known
        return 0;
    }
    if (!(run->csv_out = fdopen (fd, "w"))) {
        close (fd);
        return maas_err_set (run->err, MAAS_ERR_IO, "%s: %s", run->tmp_path, strerror (errno));
    }
    return 0;
}

//  Close the sink; on success move the temporary over OUTPUT, otherwise
//  remove the temporary: OUTPUT is never truncated nor removed.
static int
s_close_sink (s_run_t *run, int rc, const char *output)
{
    maas_err_t close_err;
    if (run->npy_out && maas_npy_close (&run->npy_out, &close_err) != 0 && rc == 0)
        rc = maas_err_copy (run->err, &close_err);
    bool is_stdout = run->csv_out == stdout;
    if (run->csv_out && (is_stdout ? fflush (stdout) : fclose (run->csv_out)) != 0 && rc == 0)
        rc = maas_err_set (run->err, MAAS_ERR_IO, "%s: %s", output, strerror (errno));
    run->csv_out = NULL;
    if (run->tmp_path && rc == 0 && rename (run->tmp_path, output) != 0)
        rc = maas_err_set (run->err, MAAS_ERR_IO, "%s: %s", output, strerror (errno));
    if (run->tmp_path && rc != 0)
        unlink (run->tmp_path);
    free (run->tmp_path);
    run->tmp_path = NULL;
    return rc;
}

int
maas_score_file (maas_client_t *client, const maas_score_config_t *config, const char *input,
                 const char *output, const char *label, double *accuracy, maas_score_stats_t *stats,
                 maas_err_t *err)
{
    assert (client && config && input && output);
    s_run_t run = {0};
    int rc = s_prepare (&run, client, config, err);
    if (rc == 0)
        rc = s_open_source (&run, input, label);
    if (rc == 0)
        rc = s_open_sink (&run, input, output);
    if (rc == 0)
        rc = s_allocate_ring (&run);
    if (rc == 0)
        rc = s_run (&run);
    rc = s_close_sink (&run, rc, output);
    if (accuracy)
        *accuracy = run.labelled ? (double) run.correct / (double) run.labelled : NAN;
    run.stats.rmse = run.regressed ? sqrt (run.squared_error / (double) run.regressed) : NAN;
    if (stats)
        *stats = run.stats;
    s_release (&run);
    return rc;
}
