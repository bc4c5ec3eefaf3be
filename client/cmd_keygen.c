/*  cmd_keygen.c: `maas keygen NAME [--role R] [--dir DIR]`, a CurveZMQ key
 *  pair in czmq's certificate format, or with `--api FILE` an HTTP API key
 *  for maas-gateway (docs/security.md); and the client every CLI command
 *  that talks to a broker opens (keys from the env). */
#include "commands.h"
#include "env.h"
#include "maas.h"

#include <stdio.h>
#include <stdlib.h>

static const char s_summary[] =
    "usage: maas keygen NAME [--role ROLES] [--dir DIR]\n"
    "       maas keygen NAME --api FILE [--role ROLES] [--remove]\n\n"
    "Writes a CurveZMQ key pair: DIR/NAME (the public key, for the broker's\n"
    "--clients or --workers directory) and DIR/NAME_secret (mode 0600, for\n"
    "--curve-key). ROLES, comma-separated, say what a client key may submit:\n"
    "infer, train, publish (or alias), admin.\n\n"
    "With --api FILE: adds an HTTP API key NAME to FILE (maas-gateway\n"
    "--api-keys; created mode 0600) and prints its token once on stdout;\n"
    "FILE keeps only a salted hash. --remove takes key NAME out of FILE.\n\n";

//  `--api FILE`: add key NAME with ROLE, or remove it.
static int
s_api_key (const char *file, const char *name, const char *role, bool remove)
{
    maas_err_t err;
    char token[MAAS_APIKEY_TOKEN_SIZE];
    int rc = remove ? maas_apikey_remove (file, name, &err)
                    : maas_apikey_add (file, name, role, token, &err);
    if (rc != 0) {
        fprintf (stderr, "maas keygen: %s\n", err.text);
        return 1;
    }
    if (remove)
        fprintf (stderr, "maas keygen: removed API key '%s' from %s\n", name, file);
    else
        printf ("%s\n", token);    //  the only copy: the file holds a hash
    return 0;
}

int
maas_cmd_keygen (int argc, char **argv)
{
    const char *role = "infer", *dir = ".", *api = NULL;
    bool remove = false;
    const maas_option_t table[] = {
        {"--role", NULL, MAAS_OPT_STRING, 0, 0, NULL, &role, "ROLES",
         "rights of a client key (none for a worker's)", NULL},
        {"--dir", NULL, MAAS_OPT_STRING, 0, 0, NULL, &dir, "DIR", "where to write the files", NULL},
        {"--api", NULL, MAAS_OPT_STRING, 0, 0, NULL, &api, "FILE",
         "an HTTP API key in FILE instead (maas-gateway --api-keys)", "none"},
        {"--remove", NULL, MAAS_OPT_BOOL, 0, 0, NULL, &remove, NULL,
         "with --api: remove key NAME from FILE", NULL},
    };
    const maas_options_t options = {"maas keygen", s_summary, NULL, table,
                                    sizeof table / sizeof table[0]};
    int next = 0, code = 0;
    if (maas_cli_options (&options, argc, argv, &next, &code))
        return code;
    if (next != argc - 1) {
        fprintf (stderr, "maas keygen: give one NAME (see --help)\n");
        return 2;
    }
    const char *name = argv[next];
    if (remove && !api) {
        fprintf (stderr,
                 "maas keygen: --remove needs --api FILE (remove a CurveZMQ key's "
                 "files with rm)\n");
        return 2;
    }
    if (api)
        return s_api_key (api, name, role, remove);
    maas_err_t err;
    if (maas_curve_rights_parse (role, &err) < 0
        || maas_curve_keygen (dir, NULL, name, role, &err) != 0) {
        fprintf (stderr, "maas keygen: %s\n", err.text);
        return 1;
    }
    printf ("%s/%s\n%s/%s_secret\n", dir, name, dir, name);
    return 0;
}

maas_client_t *
maas_cli_client (const char *command, const char *endpoints)
{
    maas_err_t err;
    maas_client_t *client = maas_client_new (endpoints, &err);
    if (!client)
        fprintf (stderr, "%s: %s (--broker)\n", command, err.text);
    maas_cli_env_t env = maas_cli_env ();
    if (client && (env.curve_key || env.broker_pk)
        && maas_client_set_curve (client, env.curve_key, env.broker_pk) != 0) {
        fprintf (stderr, "%s: %s (--curve-key, --broker-key)\n", command,
                 maas_client_error (client));
        maas_client_destroy (&client);
    }
    return client;
}
