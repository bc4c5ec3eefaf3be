/*  score.h: fan-out batch scoring. Rows are cut into shards, each shard is an
 *  infer job, and a bounded window of shards is in flight across all
 *  workers; results are put back in input order. Memory is bounded by the
 *  window, not by the input, so a file of any size scores in constant space.
 *  Shards that fail are retried; one that keeps failing stops the run with
 *  its row range and the reason. One run uses one model version: a name or
 *  alias is resolved by the first result, every later shard is sent to that
 *  version, and a shard of the first window that ran on another version
 *  (the alias moved meanwhile) runs again on it. */
#ifndef MAAS_SCORE_H
#define MAAS_SCORE_H

#include "client.h"
#include "err.h"
#include "tensor.h"

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MAAS_SCORE_SHARD_ROWS 16384    //  default rows per infer job
#define MAAS_SCORE_WINDOW     8        //  default shards in flight
#define MAAS_SCORE_ATTEMPTS   3        //  default runs of a shard before giving up
#define MAAS_SCORE_RUN_ID_MAX 40       //  longest run_id: room for ".SHARD.ATTEMPT" in a job id

//  Called after each shard written: rows done so far and the total (0 when
//  the input does not say, as with CSV).
typedef void (maas_score_progress_fn) (size_t rows_done, size_t rows_total, void *arg);
//  Called about every 200 ms while the run waits for results (with the
//  progress argument), so a caller can look at the shards' jobs.
typedef void (maas_score_tick_fn) (void *arg);

typedef struct {
    const char *model;                           //  "name", "name@3" or "name@alias": resolved once
    size_t shard_rows;                           //  rows per infer job (0: default)
    size_t window;                               //  shards in flight (0: default)
    int max_attempts;                            //  runs of a failing shard (0: default)
    maas_score_progress_fn *progress;            //  or NULL
    maas_score_tick_fn *tick;                    //  or NULL
    void *progress_arg;                          //  argument of PROGRESS and TICK
    const char *run_id;                          //  shard jobs get ids RUN_ID.SHARD (retries
                                                 //  RUN_ID.SHARD.ATTEMPT), shards from 0; at most
                                                 //  40 characters of [0-9A-Za-z_:-]. NULL: the
                                                 //  client makes the ids
    int64_t timeout_ms;                          //  stop (cancelling the shards in flight) after
                                                 //  this long; 0: never
    const volatile sig_atomic_t *interrupted;    //  set (by a signal handler) to
                                                 //  cancel the shards in flight and stop; or NULL
    const char *const *columns;                  //  the model's input names: CSV columns are picked
                                                 //  by name in this order (NULL: by position)
    size_t n_columns;                            //  entries in COLUMNS
    bool no_header;                              //  CSV input has no header row: by position
    const char *const *labels;                   //  the model's class labels: a CSV label column
                                                 //  may hold them (read as class indices); NULL:
                                                 //  numbers only
    size_t n_labels;                             //  entries in LABELS
} maas_score_config_t;

typedef struct {
    size_t rows;          //  rows scored
    size_t outputs;       //  values per row
    uint64_t version;     //  the model version every row ran on (0: not known)
    size_t shards;        //  infer jobs that succeeded
    size_t retries;       //  shard runs that failed and were retried
    size_t reruns;        //  shards run again on the run's version: they ran on
                          //  another, the alias having moved before it was fixed
    double seconds;       //  wall time from first read to last write
    double rmse;          //  with a label column and a one-output model without
                          //  classes (regression): root mean squared error of
                          //  the predictions against it; NAN otherwise
    char dropped[256];    //  CSV columns not sent (not the model's, not the
                          //  label): "id, extra", or ""
} maas_score_stats_t;

//  Score X (rows × features) through CLIENT's brokers with CONFIG. Returns a
//  new rows × outputs tensor in *OUT (the caller destroys it) and fills
//  STATS (may be NULL). -1 with a reason in ERR (may be NULL): "rows
//  32768-49151: model iris@2: expected 4 features, got 5" (MAAS_ERR_INPUT),
//  "interrupted: ...", "timed out after 3 s: ..." (MAAS_ERR_IO) otherwise.
int maas_score_tensor (maas_client_t *client, const maas_score_config_t *config,
                       const maas_tensor_t *x, maas_tensor_t **out, maas_score_stats_t *stats,
                       maas_err_t *err);

//  Score the rows of INPUT (CSV with a header row, or .npy float32/float64,
//  by extension; "-": CSV on stdin) into OUTPUT (.npy float32 rows ×
//  outputs, or CSV with columns p0..pN-1 and, for classifiers, "class"; "-":
//  CSV on stdout), in input order. The rows go to a temporary file beside
//  OUTPUT that is renamed over it only on success: a failed run leaves
//  OUTPUT as it was, and a symlink at OUTPUT is replaced, its target never
//  written. An OUTPUT that is the INPUT file (same device and inode) is
//  refused. If LABEL names a CSV column (or is a .npy column index), that
//  column is not sent and accuracy against it is computed into *ACCURACY
//  (NaN when there is none); a CSV label is a class number or one of
//  CONFIG's labels. -1 with ERR on failure (a bad CSV value, or a label
//  that is neither, names its line and column).
int maas_score_file (maas_client_t *client, const maas_score_config_t *config, const char *input,
                     const char *output, const char *label, double *accuracy,
                     maas_score_stats_t *stats, maas_err_t *err);

#endif
