/*  reply.c: an infer job's outcome as the HTTP answer its request asked
 *  for: TF Serving predictions/outputs/results, or KServe v2 outputs (JSON or
 *  binary), and the status of a job that did not succeed. */
#include "gateway.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

//  HTTP status of a job that did not succeed, from its status and error.
static unsigned
s_failure_status (const maas_result_t *result)
{
    const char *why = result->error ? result->error : "";
    if (strcmp (result->status, "expired") == 0)
        return 504;
    if (strcmp (result->status, "cancelled") == 0)
        return 499;
    if (strcmp (result->status, "rejected") == 0)
        return strstr (why, "overload") || strstr (why, "max-jobs") ? 429 : 503;
    if (strcmp (result->status, "lost") == 0)
        return 503;
    if (strstr (why, "unknown model") || strstr (why, " has no "))
        return 404;
    if (strstr (why, "(--max-rows)"))
        return 413;    //  the request is fine, only too big for one job
    if (strstr (why, "expected ") || strstr (why, "input:") || strstr (why, "params:"))
        return 400;
    return 500;
}

static void
s_error (gw_buf_t *buf, const char *status, const char *text)
{
    gw_buf_puts (buf, "{\"error\": ");
    char line[768];
    snprintf (line, sizeof line, "job %s: %s", status, text);
    gw_json_str (buf, line);
    gw_buf_puts (buf, "}");
}

static void
s_tf_predict (const gw_reply_spec_t *spec, const maas_infer_result_t *out, gw_buf_t *buf)
{
    bool flat = spec->scalars && out->outputs == 1;
    gw_buf_puts (buf, spec->style == GW_STYLE_TF_COLUMNAR ? "{\"outputs\":" : "{\"predictions\":");
    gw_json_f32_array (buf, out->values, out->rows * out->outputs, flat ? 0 : out->outputs);
    gw_buf_puts (buf, "}");
}

//  One [label, score] pair of class K: the model's label when the result
//  carries them, else K.
static void
s_tf_class (const maas_infer_result_t *out, size_t k, float score, gw_buf_t *buf)
{
    gw_buf_puts (buf, k ? ",[" : "[");
    if (k < out->n_class_labels)
        gw_json_str (buf, out->class_labels[k]);
    else
        gw_buf_printf (buf, "\"%zu\"", k);
    gw_buf_puts (buf, ",");
    gw_json_f32 (buf, score);
    gw_buf_puts (buf, "]");
}

//  {"results": [[["benign", p0], ["malignant", p1]], ...]}: every class with
//  its probability, named by the model's labels ("0", "1", ... without
//  them); 400 for a regression model.
static unsigned
s_tf_classify (const maas_infer_result_t *out, gw_buf_t *buf)
{
    if (!out->classes) {
        s_error (buf, "failed", "classify needs a classifier (sigmoid or softmax output)");
        return 400;
    }
    gw_buf_puts (buf, "{\"results\":[");
    for (size_t r = 0; r < out->rows; r++) {
        const float *row = out->values + r * out->outputs;
        gw_buf_puts (buf, r ? ",[" : "[");
        if (out->outputs == 1) {
            s_tf_class (out, 0, 1.0f - row[0], buf);
            s_tf_class (out, 1, row[0], buf);
        }
        for (size_t k = 0; out->outputs > 1 && k < out->outputs; k++)
            s_tf_class (out, k, row[k], buf);
        gw_buf_puts (buf, "]");
    }
    gw_buf_puts (buf, "]}");
    return 200;
}

static unsigned
s_tf_regress (const maas_infer_result_t *out, gw_buf_t *buf)
{
    if (out->outputs != 1) {
        s_error (buf, "failed", "regress needs a model with one output");
        return 400;
    }
    gw_buf_puts (buf, "{\"results\":");
    gw_json_f32_array (buf, out->values, out->rows, 0);
    gw_buf_puts (buf, "}");
    return 200;
}

//  KServe v2: the answer's opening, up to its outputs: the model, its
//  version and the request's id when it gave one.
static void
s_v2_head (const gw_reply_spec_t *spec, const maas_infer_result_t *out, gw_buf_t *buf)
{
    gw_buf_puts (buf, "{\"model_name\":");
    gw_json_str (buf, spec->model);
    gw_buf_printf (buf, ",\"model_version\":\"%" PRIu64 "\"", out->version);
    if (spec->id) {
        gw_buf_puts (buf, ",\"id\":");
        gw_json_str (buf, spec->id);
    }
}

//  KServe v2: the JSON part; the values inline, or their size when binary.
static void
s_v2 (const gw_reply_spec_t *spec, const maas_infer_result_t *out, gw_buf_t *buf)
{
    s_v2_head (spec, out, buf);
    gw_buf_printf (buf, ",\"outputs\":[{\"name\":\"y\",\"shape\":[%zu,%zu],\"datatype\":\"FP32\",",
                   out->rows, out->outputs);
    size_t count = out->rows * out->outputs;
    if (spec->style == GW_STYLE_V2_BINARY)
        gw_buf_printf (buf, "\"parameters\":{\"binary_data_size\":%zu}}]}", count * 4);
    else {
        gw_buf_puts (buf, "\"data\":");
        gw_json_f32_array (buf, out->values, count, 0);
        gw_buf_puts (buf, "}]}");
    }
}

//  KServe v2 classification: one BYTES output of rows × K strings
//  "probability:class:label", best first (Triton's classification extension).
static unsigned
s_v2_classify (const gw_reply_spec_t *spec, const maas_infer_result_t *out, gw_buf_t *buf)
{
    if (!out->top_k) {
        s_error (buf, "failed", "classification needs a classifier (sigmoid or softmax output)");
        return 400;
    }
    s_v2_head (spec, out, buf);
    gw_buf_printf (buf,
                   ",\"outputs\":[{\"name\":\"y\",\"shape\":[%zu,%zu],\"datatype\":\"BYTES\","
                   "\"data\":[",
                   out->rows, out->top_k);
    for (size_t i = 0; i < out->rows * out->top_k; i++) {
        char score[GW_F32_TEXT_MAX], number[24], text[GW_F32_TEXT_MAX + 300];
        gw_f32_format (out->top_scores[i], score);
        int32_t c = out->top_classes[i];
        snprintf (number, sizeof number, "%" PRId32, c);
        snprintf (text, sizeof text, "%s:%" PRId32 ":%s", score, c,
                  (size_t) c < out->n_class_labels ? out->class_labels[c] : number);
        gw_buf_puts (buf, i ? "," : "");
        gw_json_str (buf, text);
    }
    gw_buf_puts (buf, "]}]}");
    return 200;
}

//  KServe v1 :explain: {"predictions": f(x) per row, "explanations": one
//  object per row and output attributed, attributions in the model's input
//  order (docs/http.md).
static void
s_explain_one (const maas_explain_result_t *out, size_t r, size_t k, gw_buf_t *buf)
{
    size_t at = r * out->outputs + k;
    int64_t index = out->output == MAAS_EXPLAIN_OUTPUT_ALL ? (int64_t) k : out->output;
    gw_buf_printf (buf, "%s{\"row\":%zu,\"output_index\":%" PRId64 ",\"method\":\"%s\"",
                   at ? "," : "", r, index, maas_explain_method_name (out->method));
    if (out->method == MAAS_EXPLAIN_INTEGRATED_GRADIENTS)
        gw_buf_printf (buf, ",\"n_steps\":%zu", out->steps);
    gw_buf_puts (buf, ",\"instance_output\":");
    gw_json_f32 (buf, out->instance_output[at]);
    gw_buf_puts (buf, ",\"baseline_output\":");
    gw_json_f32 (buf, out->baseline_output[at]);
    gw_buf_puts (buf, ",\"approximation_error\":");
    gw_json_f32 (buf, out->approximation_error[at]);
    gw_buf_puts (buf, ",\"attributions\":[");
    const float *row = out->attributions + r * out->inputs * out->outputs + k;
    for (size_t j = 0; j < out->inputs; j++) {
        gw_buf_puts (buf, j ? "," : "");
        gw_json_f32 (buf, row[j * out->outputs]);
    }
    gw_buf_puts (buf, "]}");
}

static unsigned
s_explain (const gw_reply_spec_t *spec, const maas_result_t *result, gw_buf_t *buf)
{
    maas_explain_result_t out;
    maas_err_t err;
    if (maas_explain_result_parse (&out, result->data, result->size, &err) != 0) {
        s_error (buf, "unreadable", err.text);
        return 500;
    }
    gw_buf_puts (buf, "{\"model_name\":");
    gw_json_str (buf, spec->model);
    gw_buf_printf (buf, ",\"model_version\":\"%" PRIu64 "\",\"predictions\":", out.version);
    gw_json_f32_array (buf, out.instance_output, out.rows * out.outputs, out.outputs);
    gw_buf_puts (buf, ",\"baseline\":");
    gw_json_f32_array (buf, out.baseline, out.inputs, 0);
    if (spec->feature_names) {    //  the names of the attributions' inputs, in order
        gw_buf_puts (buf, ",\"feature_names\":");
        gw_buf_puts (buf, spec->feature_names);
    }
    gw_buf_puts (buf, ",\"explanations\":[");
    for (size_t r = 0; r < out.rows; r++)
        for (size_t k = 0; k < out.outputs; k++)
            s_explain_one (&out, r, k, buf);
    gw_buf_puts (buf, "]}");
    maas_explain_result_clear (&out);
    return 200;
}

unsigned
gw_reply_write (const gw_reply_spec_t *spec, const maas_result_t *result, gw_buf_t *buf,
                size_t *header_len)
{
    if (strcmp (result->status, "succeeded") != 0) {
        s_error (buf, result->status, result->error ? result->error : "no reason given");
        return s_failure_status (result);
    }
    if (spec->style == GW_STYLE_EXPLAIN)
        return s_explain (spec, result, buf);
    maas_infer_result_t out;
    maas_err_t err;
    if (maas_infer_result_parse (&out, result->data, result->size, &err) != 0) {
        s_error (buf, "unreadable", err.text);
        return 500;
    }
    unsigned status = 200;
    if (spec->style == GW_STYLE_TF_PREDICT || spec->style == GW_STYLE_TF_COLUMNAR)
        s_tf_predict (spec, &out, buf);
    else if (spec->style == GW_STYLE_TF_CLASSIFY)
        status = s_tf_classify (&out, buf);
    else if (spec->style == GW_STYLE_TF_REGRESS)
        status = s_tf_regress (&out, buf);
    else if (spec->style == GW_STYLE_V2_CLASSIFY)
        status = s_v2_classify (spec, &out, buf);
    else
        s_v2 (spec, &out, buf);
    *header_len = buf->size;
    if (spec->style == GW_STYLE_V2_BINARY) {
        uint8_t *bytes = malloc (out.rows * out.outputs * 4 + 1);
        if (bytes) {
            maas_codec_f32_to_le (bytes, out.values, out.rows * out.outputs);
            gw_buf_append (buf, bytes, out.rows * out.outputs * 4);
        }
        else
            buf->failed = true;
        free (bytes);
    }
    maas_infer_result_clear (&out);
    return status;
}
