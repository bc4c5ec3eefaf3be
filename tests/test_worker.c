/*  test_worker.c: maas-test-worker, a worker for the broker tests built on
 *  the libmaas worker API. It echoes each payload as "<name>:held=<n>:<payload>"
 *  (N: jobs it held at once), after "sleep:MS" waits MS first; "fail" fails;
 *  "progress:N" reports PROGRESS i/N with message "step i" N times first;
 *  params {"any key": "text"} make it reply "text";
 *  a job cancelled while held replies cancelled. Each finished job is
 *  appended to --log as "<id> <name>". */
#include "maas.h"

#include <czmq.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    maas_work_t *work;    //  held job
    int64_t due_ms;       //  when to reply, monotonic
} held_t;

static int64_t
s_delay (const maas_work_t *work)
{
    size_t size = maas_work_size (work);
    const char *data = maas_work_data (work);
    char text[32] = "";
    if (size > 6 && size < sizeof text && memcmp (data, "sleep:", 6) == 0) {
        memcpy (text, data + 6, size - 6);
        return atoll (text);
    }
    return 0;
}

//  "progress:N": N PROGRESS reports, 1/N .. N/N, each with a message.
static void
s_report (maas_worker_t *worker, maas_work_t *work)
{
    size_t size = maas_work_size (work);
    const char *data = maas_work_data (work);
    char text[32] = "", message[32];
    if (size <= 9 || size >= sizeof text || memcmp (data, "progress:", 9) != 0)
        return;
    memcpy (text, data + 9, size - 9);
    int steps = atoi (text);
    for (int i = 1; i <= steps; i++) {
        snprintf (message, sizeof message, "step %d", i);
        maas_worker_progress (worker, work, (double) i / steps, message);
    }
}

static void
s_finish (maas_worker_t *worker, maas_work_t **work_p, const char *name, int held, FILE *log)
{
    maas_work_t *work = *work_p;
    if (log) {
        fprintf (log, "%s %s\n", maas_work_job (work)->id, name);
        fflush (log);
    }
    size_t size = maas_work_size (work);
    const msgpack_object *params = maas_work_params (work);
    if (params && params->type == MSGPACK_OBJECT_MAP && params->via.map.size == 1
        && params->via.map.ptr[0].val.type == MSGPACK_OBJECT_STR) {
        const msgpack_object_str *text = &params->via.map.ptr[0].val.via.str;
        maas_worker_reply (worker, work_p, text->ptr, text->size, NULL, 0);    //  params win
        return;
    }
    if (maas_work_cancelled (work))
        maas_worker_fail (worker, work_p, "cancelled while running");
    else if (size == 4 && memcmp (maas_work_data (work), "fail", 4) == 0)
        maas_worker_fail (worker, work_p, "asked to fail");
    else {
        char *out = malloc (size + 128);
        int n = snprintf (out, 128, "%s:held=%d:", name, held);
        memcpy (out + n, maas_work_data (work), size);
        maas_worker_reply (worker, work_p, out, (size_t) n + size, NULL, 0);
        free (out);
    }
}

int
main (int argc, char **argv)
{
    const char *endpoint = NULL, *kinds = "infer", *name = "tw", *models = NULL, *log_path = NULL;
    int credits = 1, heartbeat = 100;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (strcmp (argv[i], "--endpoint") == 0)
            endpoint = argv[i + 1];
        else if (strcmp (argv[i], "--kinds") == 0)
            kinds = argv[i + 1];
        else if (strcmp (argv[i], "--credits") == 0)
            credits = atoi (argv[i + 1]);
        else if (strcmp (argv[i], "--name") == 0)
            name = argv[i + 1];
        else if (strcmp (argv[i], "--models") == 0)
            models = argv[i + 1];
        else if (strcmp (argv[i], "--log") == 0)
            log_path = argv[i + 1];
        else if (strcmp (argv[i], "--heartbeat") == 0)
            heartbeat = atoi (argv[i + 1]);
    }
    zsys_init ();
    maas_worker_t *worker = maas_worker_new (endpoint, kinds, credits, name, NULL);
    if (!worker)
        return 1;
    maas_worker_set_heartbeat (worker, heartbeat, 3);
    if (models)
        maas_worker_set_models (worker, models);
    FILE *log = log_path ? fopen (log_path, "a") : NULL;
    held_t held[256];
    int count = 0;
    while (!zsys_interrupted) {
        maas_work_t *work = maas_worker_recv (worker, count ? 5 : 100);
        if (work)
            s_report (worker, work);
        if (work && count < 256)
            held[count++] = (held_t){work, maas_clock_mono_ms () + s_delay (work)};
        else if (work)
            maas_worker_fail (worker, &work, "test worker full");
        int64_t now = maas_clock_mono_ms ();
        int holding = count;
        for (int i = 0; i < count;) {
            if (now >= held[i].due_ms || maas_work_cancelled (held[i].work)) {
                s_finish (worker, &held[i].work, name, holding, log);
                held[i] = held[--count];
            }
            else
                i++;
        }
    }
    for (int i = 0; i < count; i++)
        maas_work_destroy (&held[i].work);
    maas_worker_destroy (&worker);
    if (log)
        fclose (log);
    return 0;
}
