/*  jobs.c: jobs over HTTP: POST /v1/jobs submits any job (202 and where to
 *  look), GET /v1/jobs/ID reads its hash in Redis (docs/redis.md), DELETE
 *  cancels it. A client-given id makes a submit idempotent. */
#include "gateway.h"
#include "mpjson.h"
#include "sse.h"

#include <ctype.h>
#include <hiredis/hiredis.h>
#include <stdlib.h>
#include <string.h>

static bool
s_id_valid (const char *id)
{
    size_t len = strlen (id);
    for (const char *c = id; *c; c++)
        if (!isalnum ((unsigned char) *c) && !strchr ("._-", *c))
            return false;
    return len > 0 && len <= MAAS_PROTO_ID_MAX;
}

static void
s_done (const maas_result_t *result, void *arg)
{
    gw_stats_job (arg, result->status);
}

//  Infer rows of "instances" for SPEC->model: *COUNT floats into *X and
//  the shape params. 0 or the HTTP status to answer, with ERR.
static int
s_infer_input (gw_req_t *req, const json_t *body, maas_submit_t *spec, float **x, size_t *count,
               msgpack_sbuffer *params, char *err, size_t err_size)
{
    gw_model_t model;
    const char *ref = spec->alias ? spec->alias : "";
    char number[32];
    if (spec->version > 0) {
        snprintf (number, sizeof number, "%lld", (long long) spec->version);
        ref = number;
    }
    int status = gw_models_lookup (gw_req_models (req), spec->model ? spec->model : "", ref, &model,
                                   err, err_size);
    if (status)
        return status;
    *count = 0;
    if (gw_json_floats (json_object_get (body, "instances"), x, count, err, err_size) != 0)
        return 400;
    if (*count == 0 || *count % model.inputs) {
        snprintf (err, err_size, "'instances': %zu values are not rows of %zu", *count,
                  model.inputs);
        return 400;
    }
    msgpack_sbuffer_destroy (params);
    maas_infer_params_pack (params, *count / model.inputs, model.inputs);
    spec->version = (int64_t) model.version;
    spec->alias = NULL;
    return 0;
}

static void
s_accepted (gw_req_t *req, const char *id, const char *status)
{
    gw_buf_t buf;
    gw_buf_init (&buf);
    gw_buf_puts (&buf, "{\"id\":");
    gw_json_str (&buf, id);
    gw_buf_printf (&buf, ",\"status\":\"%s\"}", status);
    char location[MAAS_PROTO_ID_MAX + 32];
    snprintf (location, sizeof location, "Location: /v1/jobs/%s", id);
    size_t size;
    char *body = gw_buf_take (&buf, &size);
    gw_req_reply (req, 202, "application/json", body, size, location);
}

//  Send SPEC with the COUNT floats of X (may be NULL) as payload; 202.
static void
s_send (gw_req_t *req, const maas_submit_t *spec, const float *x, size_t count)
{
    uint8_t *payload = count ? malloc (count * 4) : NULL;
    if (count && !payload) {
        gw_req_error (req, 500, "gateway: out of memory");
        return;
    }
    if (count)
        maas_codec_f32_to_le (payload, x, count);
    maas_client_t *client = gw_req_client (req);
    char id[MAAS_PROTO_ID_MAX + 1];
    int rc = maas_client_submit (client, spec, payload, count * 4, s_done, gw_req_stats (req), id);
    free (payload);
    if (rc == 0)
        s_accepted (req, id, "queued");
    else if (spec->id && strstr (maas_client_error (client), "already"))
        s_accepted (req, spec->id, "queued");    //  the same submit again: idempotent
    else
        gw_req_error (req, 400, "%s", maas_client_error (client));
}

//  With --api-keys, a job of KIND needs the right the broker asks of it.
static bool
s_may_submit (gw_req_t *req, const char *kind)
{
    char what[96];
    snprintf (what, sizeof what, "submit '%.48s' jobs", kind);
    return gw_req_allow (req, maas_curve_right_for (kind), what);
}

static void
s_submit (gw_req_t *req, const json_t *body)
{
    maas_submit_t spec = {.id = json_string_value (json_object_get (body, "id")),
                          .kind = json_string_value (json_object_get (body, "kind")),
                          .model = json_string_value (json_object_get (body, "model")),
                          .version = json_integer_value (json_object_get (body, "version")),
                          .alias = json_string_value (json_object_get (body, "alias")),
                          .priority =
                              (int) json_integer_value (json_object_get (body, "priority"))};
    char err[512];
    msgpack_sbuffer params;
    msgpack_sbuffer_init (&params);
    float *x = NULL;
    size_t count = 0;
    int status = 0;
    if (!spec.kind || (spec.id && !s_id_valid (spec.id))) {
        snprintf (err, sizeof err,
                  "give \"kind\" (infer, train, ...) and an optional \"id\" of 1-%d "
                  "letters, digits, '.', '_' or '-'",
                  MAAS_PROTO_ID_MAX);
        status = 400;
    }
    else if (!s_may_submit (req, spec.kind))
        status = -1;    //  answered 403, before the model is looked up
    else if (strcmp (spec.kind, "infer") == 0)
        status = s_infer_input (req, body, &spec, &x, &count, &params, err, sizeof err);
    else if (json_object_get (body, "params")) {
        msgpack_packer pk;
        msgpack_packer_init (&pk, &params, msgpack_sbuffer_write);
        gw_mpjson_pack (&pk, json_object_get (body, "params"));
    }
    spec.params = params.size ? params.data : NULL;
    spec.params_size = params.size;
    if (status > 0)
        gw_req_error (req, (unsigned) status, "%s", err);
    else if (status == 0)
        s_send (req, &spec, x, count);
    free (x);
    msgpack_sbuffer_destroy (&params);
}

//  -- reading a job's hash

static const redisReply *
s_field (const redisReply *hash, const char *name)
{
    for (size_t i = 0; i + 1 < hash->elements; i += 2)
        if (strcmp (hash->element[i]->str, name) == 0)
            return hash->element[i + 1];
    return NULL;
}

//  A string field as "name":"value" (skipped when absent).
static void
s_text (gw_buf_t *buf, const redisReply *hash, const char *name)
{
    const redisReply *value = s_field (hash, name);
    if (!value || value->type != REDIS_REPLY_STRING || !value->len)
        return;
    gw_buf_printf (buf, ",\"%s\":", name);
    char text[1024];
    snprintf (text, sizeof text, "%.*s", (int) (value->len < 1023 ? value->len : 1023), value->str);
    gw_json_str (buf, text);
}

//  A numeric field as "name":number (skipped when absent).
static void
s_number (gw_buf_t *buf, const redisReply *hash, const char *name)
{
    const redisReply *value = s_field (hash, name);
    if (value && value->type == REDIS_REPLY_STRING && value->len)
        gw_buf_printf (buf, ",\"%s\":%.17g", name, strtod (value->str, NULL));
}

//  The msgpack field NAME as "name":JSON; an infer result as predictions.
static void
s_msgpack (gw_buf_t *buf, const redisReply *hash, const char *name, bool infer)
{
    const redisReply *value = s_field (hash, name);
    if (!value || value->type != REDIS_REPLY_STRING || !value->len)
        return;
    gw_buf_printf (buf, ",\"%s\":", name);
    maas_infer_result_t out;
    maas_err_t err;
    if (infer && maas_infer_result_parse (&out, value->str, value->len, &err) == 0) {
        gw_buf_printf (buf, "{\"version\":%llu,\"predictions\":", (unsigned long long) out.version);
        gw_json_f32_array (buf, out.values, out.rows * out.outputs, out.outputs);
        gw_buf_puts (buf, "}");
        maas_infer_result_clear (&out);
        return;
    }
    msgpack_unpacked top;
    msgpack_unpacked_init (&top);
    if (maas_codec_unpack (value->str, value->len, 0, &top, NULL) == 0)
        gw_mpjson_write (buf, &top.data);
    else
        gw_buf_puts (buf, "null");
    msgpack_unpacked_destroy (&top);
}

void
gw_jobs_json (gw_buf_t *buf, const char *id, const redisReply *hash)
{
    gw_buf_puts (buf, "{\"id\":");
    gw_json_str (buf, id);
    s_text (buf, hash, "status");
    s_msgpack (buf, hash, "header", false);
    s_number (buf, hash, "progress");
    s_text (buf, hash, "progress_message");
    s_text (buf, hash, "worker");
    s_number (buf, hash, "attempts");
    s_number (buf, hash, "started_ms");
    s_number (buf, hash, "finished_ms");
    s_text (buf, hash, "error");
    const redisReply *header = s_field (hash, "header");
    bool infer = header && header->type == REDIS_REPLY_STRING
        && memmem (header->str, header->len, "infer", 5);
    s_msgpack (buf, hash, "result", infer);
    gw_buf_puts (buf, "}");
}

//  HGETALL of job ID; NULL after answering when Redis or the job is missing.
static redisReply *
s_hash (gw_req_t *req, const char *id, redisContext **ctx)
{
    const gw_config_t *config = gw_req_config (req);
    maas_err_t err;
    *ctx = maas_redis_connect (&config->redis, 2000, &err);
    if (!*ctx) {
        gw_req_error (req, 503, "job store unavailable: %s", err.text);
        return NULL;
    }
    redisReply *hash =
        redisCommand (*ctx, "HGETALL %sjob:%s",
                      config->prefix ? config->prefix : MAAS_REGISTRY_PREFIX_DEFAULT, id);
    if (!hash || hash->type != REDIS_REPLY_ARRAY)
        gw_req_error (req, 503, "job store unavailable: %s", (*ctx)->errstr);
    else if (hash->elements == 0)
        gw_req_error (req, 404, "job %s: not known (never submitted, untracked, or expired)", id);
    else
        return hash;
    if (hash)
        freeReplyObject (hash);
    return NULL;
}

//  With --api-keys, cancelling a job needs the right to submit its kind
//  (the "kind" of its stored header; admin if that cannot be read).
static bool
s_may_cancel (gw_req_t *req, const redisReply *hash)
{
    const redisReply *header = s_field (hash, "header");
    char kind[64] = "";
    msgpack_unpacked top;
    msgpack_unpacked_init (&top);
    maas_codec_map_t map;
    if (header && header->type == REDIS_REPLY_STRING
        && maas_codec_unpack (header->str, header->len, 0, &top, NULL) == 0
        && maas_codec_map_init (&map, &top.data, "header") == 0)
        maas_codec_map_str_copy (&map, "kind", kind, sizeof kind);
    msgpack_unpacked_destroy (&top);
    char what[96];
    snprintf (what, sizeof what, "cancel '%s' jobs", *kind ? kind : "unknown");
    return gw_req_allow (req, maas_curve_right_for (kind), what);
}

static void
s_job (gw_req_t *req, const char *id, bool cancel)
{
    redisContext *ctx = NULL;
    redisReply *hash = s_hash (req, id, &ctx);
    if (hash && cancel && s_may_cancel (req, hash)) {
        if (maas_client_cancel (gw_req_client (req), id) == 0)
            s_accepted (req, id, "cancelling");
        else
            gw_req_error (req, 503, "%s", maas_client_error (gw_req_client (req)));
    }
    else if (hash && !cancel) {
        gw_buf_t buf;
        gw_buf_init (&buf);
        gw_jobs_json (&buf, id, hash);
        gw_req_json (req, 200, &buf);
    }
    if (hash)
        freeReplyObject (hash);
    if (ctx)
        redisFree (ctx);
}

void
gw_jobs_route (gw_req_t *req, const gw_http_t *http)
{
    gw_req_set_route (req, GW_ROUTE_JOBS);
    char id[MAAS_PROTO_ID_MAX + 16];
    snprintf (id, sizeof id, "%s", http->url[8] ? http->url + 9 : "");
    size_t len = strlen (id);
    bool events = len > 7 && strcmp (id + len - 7, "/events") == 0;
    if (events)
        id[len - 7] = 0;
    bool post = strcmp (http->method, "POST") == 0;
    if (post && !*id) {
        json_error_t jerr;
        json_t *body = json_loadb (http->body, http->body_size, 0, &jerr);
        if (json_is_object (body))
            s_submit (req, body);
        else
            gw_req_error (req, 400, "JSON Parse error: %s",
                          body ? "the body must be an object" : jerr.text);
        json_decref (body);
    }
    else if (*id && !s_id_valid (id))
        gw_req_error (req, 400, "job id '%.64s': 1-%d letters, digits, '.', '_' or '-'", id,
                      MAAS_PROTO_ID_MAX);
    else if (events && strcmp (http->method, "GET") == 0)
        gw_sse_start (req, gw_req_sse (req), id);
    else if (*id && strcmp (http->method, "GET") == 0)
        s_job (req, id, false);
    else if (*id && strcmp (http->method, "DELETE") == 0)
        s_job (req, id, true);
    else
        gw_req_error (req, 400, "Malformed request: %s %s", http->method, http->url);
}
