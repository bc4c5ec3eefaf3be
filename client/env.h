/*  env.h: the environment the `maas` commands read, in one place. A
 *  command's entry reads it once (after the stack's env file is loaded,
 *  main.c) and hands the values down: helpers and libmaas never call
 *  getenv (scripts/getenv.py checks it). */
#ifndef MAAS_CLIENT_ENV_H
#define MAAS_CLIENT_ENV_H

#include "redis_url.h"

#include <stdbool.h>

//  Default broker frontend when neither --broker nor $MAAS_BROKER_FRONTEND says.
#define MAAS_CLI_BROKER_DEFAULT "tcp://127.0.0.1:5555"

//  Every variable a command reads; NULL when unset or empty. Borrowed from
//  the environment: valid until it changes (maas_stack_load_env).
typedef struct {
    const char *redis_url;    //  $MAAS_REDIS_URL
    const char *sentinels;    //  $MAAS_REDIS_SENTINELS
    const char *master;       //  $MAAS_REDIS_MASTER
    const char *broker;       //  $MAAS_BROKER_FRONTEND, or MAAS_CLI_BROKER_DEFAULT
    const char *state_dir;    //  $MAAS_STATE_DIR
    const char *bin_dir;      //  $MAAS_BIN_DIR: where `maas up` finds the programs
    const char *http;         //  $MAAS_HTTP: `maas up`'s gateway address
    const char *log_level;    //  $MAAS_LOG_LEVEL
    const char *user;         //  $USER: who moves an alias
    const char *curve_key;    //  $MAAS_CURVE_KEY: our CurveZMQ secret key file
    const char *broker_pk;    //  $MAAS_BROKER_KEY: the broker's public key file
} maas_cli_env_t;

//  The environment now.
maas_cli_env_t maas_cli_env (void);
//  Where a command's Redis is: URL (its --redis flag) or $MAAS_REDIS_URL
//  (or the default, NULL), behind $MAAS_REDIS_SENTINELS if set.
maas_redis_config_t maas_cli_redis (const maas_cli_env_t *env, const char *url);
//  The stack's state dir: $MAAS_STATE_DIR, else /tmp/maas-UID. The caller frees.
char *maas_cli_state_dir (const maas_cli_env_t *env);

#endif
