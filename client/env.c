/*  env.c: the one reader of the environment for the `maas` commands
 *  (besides main.c); see env.h. */
#include "env.h"
#include "curve.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

//  NAME's value, NULL when unset or empty: an empty variable says nothing.
static const char *
s_get (const char *name)
{
    const char *value = getenv (name);
    return value && *value ? value : NULL;
}

maas_cli_env_t
maas_cli_env (void)
{
    const char *broker = s_get ("MAAS_BROKER_FRONTEND");
    return (maas_cli_env_t){.redis_url = s_get ("MAAS_REDIS_URL"),
                            .sentinels = s_get ("MAAS_REDIS_SENTINELS"),
                            .master = s_get ("MAAS_REDIS_MASTER"),
                            .broker = broker ? broker : MAAS_CLI_BROKER_DEFAULT,
                            .state_dir = s_get ("MAAS_STATE_DIR"),
                            .bin_dir = s_get ("MAAS_BIN_DIR"),
                            .http = getenv ("MAAS_HTTP"),    //  "" is a value: the default
                            .log_level = s_get ("MAAS_LOG_LEVEL"),
                            .user = s_get ("USER"),
                            .curve_key = s_get (MAAS_CURVE_KEY_ENV),
                            .broker_pk = s_get (MAAS_CURVE_BROKER_ENV)};
}

maas_redis_config_t
maas_cli_redis (const maas_cli_env_t *env, const char *url)
{
    return (maas_redis_config_t){.url = url && *url ? url : env->redis_url,
                                 .sentinels = env->sentinels,
                                 .master = env->master};
}

char *
maas_cli_state_dir (const maas_cli_env_t *env)
{
    char *dir = NULL;
    if (env->state_dir)
        dir = strdup (env->state_dir);
    else if (asprintf (&dir, "/tmp/maas-%u", (unsigned) getuid ()) < 0)
        dir = NULL;
    return dir;
}
