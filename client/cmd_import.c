/*  cmd_import.c: the two `maas model` verbs that cross formats:
 *  `import NAME FILE` (a Keras .h5/.keras or ONNX file published as the
 *  next version of NAME) and `export NAME@VER --format onnx FILE`.
 *  cmd_model.c parses their flags and calls these. */
#include "commands.h"
#include "maas.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

bool
maas_cmd_signature_given (const maas_cmd_signature_t *sig)
{
    return sig && (sig->labels || sig->input_scale || sig->output_name);
}

int
maas_cmd_signature_apply (maas_model_t *model, const maas_cmd_signature_t *sig)
{
    char err[512] = "";
    int rc = 0;
    if (sig->labels)
        rc = maas_model_set_labels_text (model, sig->labels, err, sizeof err);
    if (rc == 0 && sig->input_scale) {
        char *end;
        double scale = strtod (sig->input_scale, &end);
        rc = maas_model_set_input_scale (model, scale, err, sizeof err);
        if (*end || end == sig->input_scale) {
            snprintf (err, sizeof err, "--input-scale needs a number, not '%s'", sig->input_scale);
            rc = -1;
        }
    }
    if (rc == 0 && sig->output_name)
        rc = maas_model_set_output_name (model, sig->output_name, err, sizeof err);
    if (rc != 0)
        fprintf (stderr, "maas model: %s\n", err);
    return rc;
}

int
maas_cmd_model_import (maas_registry_t *reg, const char *name, const char *file,
                       const maas_registry_meta_t *meta, const maas_cmd_signature_t *sig, bool json)
{
    maas_model_err_t err;
    maas_model_t *model = maas_model_import_file (file, &err);
    uint8_t *blob = NULL;
    size_t size = 0;
    if (model && maas_cmd_signature_given (sig) && maas_cmd_signature_apply (model, sig) != 0) {
        maas_model_destroy (&model);
        return 1;
    }
    if (!model || maas_model_encode (model, &blob, &size, &err) != 0) {
        fprintf (stderr, "maas model: import: %s\n", err.text);
        maas_model_destroy (&model);
        return 1;
    }
    uint64_t version = 0;
    int rc = maas_registry_publish (reg, name, blob, size, meta, &version, NULL);
    free (blob);
    char shape[512];
    maas_model_describe (model, shape, sizeof shape);
    const char *format = maas_model_meta_str (model, "import_format");
    if (rc != 0)
        fprintf (stderr, "maas model: %s\n", maas_registry_error (reg));
    else if (json)    //  names are [A-Za-z0-9._-]; format and shape are ours
        printf ("{\"model\":\"%s\",\"version\":%" PRIu64 ",\"format\":\"%s\",\"shape\":\"%s\"}\n",
                name, version, format, shape);
    else
        printf ("imported %s as %s@%" PRIu64 " (%s, %s)\n", file, name, version, format, shape);
    maas_model_destroy (&model);
    return rc == 0 ? 0 : 1;
}

int
maas_cmd_model_export_onnx (maas_registry_t *reg, const char *name, uint64_t version,
                            const char *file, bool json)
{
    uint8_t *blob = NULL;
    size_t size;
    if (maas_registry_fetch (reg, name, version, &blob, &size, NULL) != 0) {
        fprintf (stderr, "maas model: %s\n", maas_registry_error (reg));
        return 1;
    }
    maas_model_err_t err;
    maas_model_t *model = maas_model_decode (blob, size, &err);
    int rc = model ? maas_export_onnx_file (model, file, &err) : -1;
    maas_model_destroy (&model);
    free (blob);
    if (rc != 0)
        fprintf (stderr, "maas model: export: %s\n", err.text);
    else if (json)
        printf ("{\"model\":\"%s\",\"version\":%" PRIu64 ",\"format\":\"onnx\"}\n", name, version);
    else
        printf ("exported %s@%" PRIu64 " as %s (onnx opset %d)\n", name, version, file,
                MAAS_EXPORT_ONNX_OPSET);
    return rc == 0 ? 0 : 1;
}
