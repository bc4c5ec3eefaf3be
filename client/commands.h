/*  commands.h: the `maas` CLI's command groups, one file each
 *  (client/cmd_<group>.c). Each takes the arguments after its name
 *  (argv[0] is the group name) and returns the process exit code. */
#ifndef MAAS_CLIENT_COMMANDS_H
#define MAAS_CLIENT_COMMANDS_H

#include "client.h"
#include "options.h"
#include "model.h"
#include "registry.h"

#include <stdbool.h>
#include <stdint.h>

typedef int (maas_cmd_fn) (int argc, char **argv);

typedef struct {
    const char *name;       //  first word on the command line
    maas_cmd_fn *run;       //  the command group's entry point
    const char *summary;    //  one line for `maas --help`
    bool broker;            //  talks to a broker: takes --curve-key, --broker-key
} maas_cmd_t;

//  -- one prototype per command group; keep in the order of main.c's table
int maas_cmd_version (int argc, char **argv);
int maas_cmd_dataset (int argc, char **argv);
int maas_cmd_model (int argc, char **argv);
int maas_cmd_infer (int argc, char **argv);
int maas_cmd_explain (int argc, char **argv);
int maas_cmd_status (int argc, char **argv);
int maas_cmd_train (int argc, char **argv);
int maas_cmd_job (int argc, char **argv);
int maas_cmd_jobs (int argc, char **argv);
int maas_cmd_cancel (int argc, char **argv);
int maas_cmd_up (int argc, char **argv);
int maas_cmd_down (int argc, char **argv);
int maas_cmd_ps (int argc, char **argv);
int maas_cmd_score (int argc, char **argv);
int maas_cmd_synth (int argc, char **argv);
int maas_cmd_keygen (int argc, char **argv);

//  Rows of the flags many commands take, spelt one way (WHAT: what the
//  command finds there, for --help).
#define MAAS_CLI_OPT_BROKER(target)                                                                \
    {                                                                                              \
        "--broker", "MAAS_BROKER_FRONTEND", MAAS_OPT_STRING, 0, 0, NULL, (target), "EP",           \
            "broker frontend(s), comma-separated", MAAS_CLI_BROKER_DEFAULT                         \
    }
#define MAAS_CLI_OPT_REDIS(target, what)                                                           \
    {                                                                                              \
        "--redis", "MAAS_REDIS_URL", MAAS_OPT_URL, 0, 0, NULL, (target), "URL", (what),            \
            MAAS_REDIS_URL_DEFAULT                                                                 \
    }
#define MAAS_CLI_OPT_PREFIX(target)                                                                \
    {                                                                                              \
        "--prefix", NULL, MAAS_OPT_STRING, 0, 0, NULL, (target), "P", "Redis key prefix", "maas:"  \
    }
#define MAAS_CLI_OPT_JSON(target, what)                                                            \
    {                                                                                              \
        "--json", NULL, MAAS_OPT_BOOL, 0, 0, NULL, (target), NULL, (what), NULL                    \
    }

//  Read a command's ARGV with its table OPTIONS (prog "maas infer"):
//  flags anywhere, one wording for bad values and unknown flags
//  (shared/base/options.h), positional words moved to ARGV[*NEXT..ARGC) in
//  their order. true when the command ends here with exit *CODE: 0 after
//  --help (on stdout), 2 after the message on stderr.
bool maas_cli_options (const maas_options_t *options, int argc, char **argv, int *next, int *code);

//  A client of ENDPOINTS with the CurveZMQ keys of the command's env
//  (env.h: $MAAS_CURVE_KEY, $MAAS_BROKER_KEY, which main.c sets from
//  --curve-key, --broker-key and the stack's env file sets under `maas up
//  --secure`), if any. NULL after saying why on stderr, prefixed with COMMAND.
maas_client_t *maas_cli_client (const char *command, const char *endpoints);

//  -- verbs of `maas model` that cross formats (cmd_import.c); exit codes

//  The signature flags of publish and import (strings borrowed; NULL, 0:
//  not given).
typedef struct {
    const char *labels;         //  --labels a,b,c: one per class
    double input_scale;         //  --input-scale X (1e-30..1e30): inputs are multiplied by X
    const char *output_name;    //  --output-name NAME
} maas_cmd_signature_t;

//  true when SIG sets anything.
bool maas_cmd_signature_given (const maas_cmd_signature_t *sig);
//  Apply SIG to MODEL. 0, or -1 after saying why on stderr.
int maas_cmd_signature_apply (maas_model_t *model, const maas_cmd_signature_t *sig);
//  Import FILE (Keras .h5/.keras, ONNX) and publish it as NAME's next
//  version, with SIG applied.
int maas_cmd_model_import (maas_registry_t *reg, const char *name, const char *file,
                           const maas_registry_meta_t *meta, const maas_cmd_signature_t *sig,
                           bool json);
//  Write NAME@VERSION to FILE as ONNX.
int maas_cmd_model_export_onnx (maas_registry_t *reg, const char *name, uint64_t version,
                                const char *file, bool json);

#endif
