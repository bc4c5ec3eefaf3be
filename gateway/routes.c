/*  routes.c: which protocol answers a path: TF Serving REST under /v1,
 *  KServe v2 under /v2, Prometheus at /metrics; 400 "Malformed request"
 *  otherwise, as TF Serving answers. */
#include "gateway.h"

#include <string.h>

static void
s_metrics (gw_req_t *req)
{
    gw_req_set_route (req, GW_ROUTE_METRICS);
    const gw_config_t *config = gw_req_config (req);
    gw_buf_t buf;
    gw_buf_init (&buf);
    gw_stats_render (gw_req_stats (req), &buf, &config->redis, config->prefix);
    size_t size;
    char *body = gw_buf_take (&buf, &size);
    gw_req_reply (req, 200, "text/plain; version=0.0.4", body ? body : strdup (""), body ? size : 0,
                  NULL);
}

bool
gw_req_model (gw_req_t *req, const char *name, const char *ref, gw_model_t *model,
              const char *prefix)
{
    char err[512];
    int status = gw_models_lookup (gw_req_models (req), name, ref, model, err, sizeof err);
    if (status)
        gw_req_error (req, (unsigned) status, "%s%s", prefix, err);
    return status == 0;
}

//  With --api-keys: reading jobs, models and predictions needs infer;
//  submitting or cancelling a job, the right of its kind (jobs.c); the
//  metrics, any known key; the health probes, none (gateway.c).
void
gw_route (gw_req_t *req, const gw_http_t *http)
{
    bool get = strcmp (http->method, "GET") == 0;
    if (strcmp (http->url, "/v1/jobs") == 0 || strncmp (http->url, "/v1/jobs/", 9) == 0) {
        if (!get || gw_req_allow (req, MAAS_CURVE_INFER, "read jobs"))
            gw_jobs_route (req, http);
    }
    else if (strncmp (http->url, "/v1/", 4) == 0) {
        if (gw_req_allow (req, MAAS_CURVE_INFER, "use models"))
            gw_tfs_route (req, http);
    }
    else if (strcmp (http->url, "/v2") == 0 || strncmp (http->url, "/v2/", 4) == 0) {
        if (gw_req_allow (req, MAAS_CURVE_INFER, "use models"))
            gw_kserve_route (req, http);
    }
    else if (strcmp (http->url, "/metrics") == 0 && get)
        s_metrics (req);
    else
        gw_req_error (req, 400, "Malformed request: %s %s", http->method, http->url);
}
