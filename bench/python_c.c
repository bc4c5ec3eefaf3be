/*  python_c.c: bench/python_c, the C baseline of bench/python.py. Sends
 *  JOBS tracked 1-row infer jobs of MODEL@VERSION (COLS features) to the
 *  broker at ENDPOINT with WINDOW in flight through libmaas's client and
 *  prints jobs/s as one JSON line, so the Python client and the C client
 *  are measured on the same stack, model and rows in the same run. */
#include "maas.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    int done;      //  results seen
    int failed;    //  results other than succeeded
} s_count_t;

static void
s_on_result (const maas_result_t *result, void *arg)
{
    s_count_t *count = arg;
    count->done++;
    count->failed += strcmp (result->status, "succeeded") != 0;
}

int
main (int argc, char **argv)
{
    if (argc != 7) {
        fprintf (stderr, "usage: bench/python_c ENDPOINT MODEL VERSION COLS JOBS WINDOW\n");
        return 2;
    }
    int64_t version = atoll (argv[3]);
    size_t cols = strtoul (argv[4], NULL, 10);
    int jobs = atoi (argv[5]), window = atoi (argv[6]);
    maas_log_set_level (MAAS_LOG_WARN);
    maas_client_t *client = maas_client_new (argv[1], NULL);
    float *row = calloc (cols ? cols : 1, sizeof (float));
    if (!client || !row || cols == 0 || jobs <= 0 || window <= 0)
        return 1;
    for (size_t c = 0; c < cols; c++)
        row[c] = (float) c / (float) cols;
    msgpack_sbuffer params;
    maas_infer_params_pack (&params, 1, cols);
    maas_submit_t spec = {.kind = "infer",
                          .model = argv[2],
                          .version = version,
                          .params = params.data,
                          .params_size = params.size};
    maas_client_set_window (client, window);
    s_count_t count = {0, 0};
    int64_t started = maas_clock_mono_us ();
    for (int i = 0; i < jobs; i++)
        if (maas_client_submit (client, &spec, row, cols * sizeof (float), s_on_result, &count,
                                NULL)
            != 0)
            count.failed++;
    int left = maas_client_wait_all (client, 120000);
    double seconds = (double) (maas_clock_mono_us () - started) / 1e6;
    printf ("{\"bench\":\"python\",\"case\":\"c_client_infer_1row_tracked\",\"metric\":"
            "\"jobs_per_s\",\"value\":%.6g,\"unit\":\"jobs/s\",\"jobs\":%d,\"window\":%d,"
            "\"failed\":%d,\"left\":%d}\n",
            jobs / seconds, jobs, window, count.failed, left);
    msgpack_sbuffer_destroy (&params);
    free (row);
    maas_client_destroy (&client);
    return left == 0 && count.failed == 0 ? 0 : 1;
}
