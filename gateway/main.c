/*  main.c: maas-gateway: arguments, signals, logging; the HTTP gateway
 *  itself is gateway.c. Prints "maas-gateway: listening on http://A:P" once
 *  it accepts requests (the real port when --http asks for port 0). */
#include "gateway.h"
#include "options.h"
#include "redis_url.h"

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char s_summary[] =
    "usage: maas-gateway [OPTIONS]\n\n"
    "HTTP/1.1 in front of a maas broker: TF Serving and KServe v2 routes, jobs,\n"
    "metrics (docs/http.md).\n\n";
static const char s_epilog[] =
    "\n  --api-keys: every route but /v2/health/live and /v2/health/ready needs\n"
    "  Authorization: Bearer (maas keygen NAME --api FILE); the file is re-read\n"
    "  when it changes. Behind Sentinel: $MAAS_REDIS_SENTINELS, $MAAS_REDIS_MASTER.\n";

//  Flags and environment into CFG (defaults set here). 0 to run, 1 after
//  --help/--version, -1 after saying what is wrong.
static int
s_parse (gw_config_t *cfg, int argc, char **argv)
{
    long cores = sysconf (_SC_NPROCESSORS_ONLN);
    *cfg = (gw_config_t){.http = GW_HTTP_DEFAULT,
                         .broker = "tcp://127.0.0.1:5555",
                         .redis = {.sentinels = getenv ("MAAS_REDIS_SENTINELS"),
                                   .master = getenv ("MAAS_REDIS_MASTER")},
                         .threads = cores > 0 ? (int) cores : 1,
                         .request_timeout_ms = GW_TIMEOUT_DEFAULT_MS,
                         .max_body = GW_MAX_BODY_DEFAULT};
    int connections = GW_MAX_CONNECTIONS_DEFAULT, idle_s = GW_IDLE_TIMEOUT_DEFAULT_S;
    const char *log_level = "info";
    const maas_option_t table[] = {
        {"--http", NULL, MAAS_OPT_STRING, 0, 0, NULL, &cfg->http, "ADDR:PORT",
         "listen address (port 0: any)", NULL},
        {"--broker", "MAAS_BROKER_FRONTEND", MAAS_OPT_STRING, 0, 0, NULL, &cfg->broker, "EP",
         "broker frontend(s), comma-separated", NULL},
        MAAS_CURVE_OPTIONS (&cfg->curve_key, &cfg->broker_key),
        {"--redis", "MAAS_REDIS_URL", MAAS_OPT_URL, 0, 0, NULL, &cfg->redis.url, "URL",
         "registry and job records", MAAS_REDIS_URL_DEFAULT},
        {"--prefix", NULL, MAAS_OPT_STRING, 0, 0, NULL, &cfg->prefix, "P", "Redis key prefix",
         "maas:"},
        {"--threads", NULL, MAAS_OPT_INT, 1, 256, NULL, &cfg->threads, "N",
         "event loops, each with its own socket to the broker", "the number of cores"},
        {"--request-timeout", NULL, MAAS_OPT_MS, 1, 3600000, NULL, &cfg->request_timeout_ms, "MS",
         "each request's deadline, answered 504", NULL},
        {"--max-body", NULL, MAAS_OPT_UINT, 1, (long long) 1 << 31, NULL, &cfg->max_body, "BYTES",
         "largest request body, answered 413", NULL},
        {"--max-connections", NULL, MAAS_OPT_INT, 1, 1000000, NULL, &connections, "N",
         "open connections, all threads (at least --threads)", NULL},
        {"--idle-timeout", NULL, MAAS_OPT_INT, 1, 86400, NULL, &idle_s, "S",
         "close a connection silent this long", NULL},
        {"--api-keys", MAAS_APIKEY_ENV, MAAS_OPT_STRING, 0, 0, NULL, &cfg->api_keys, "FILE",
         "require an API key on every route (see below)", "none"},
        {"--tls-cert", NULL, MAAS_OPT_STRING, 0, 0, NULL, &cfg->tls_cert, "FILE",
         "HTTPS with this PEM certificate (chain), with --tls-key", "none"},
        {"--tls-key", NULL, MAAS_OPT_STRING, 0, 0, NULL, &cfg->tls_key, "FILE",
         "the certificate's PEM private key", "none"},
        {"--log-level", "MAAS_LOG_LEVEL", MAAS_OPT_CHOICE, 0, 0, MAAS_OPTIONS_LOG_LEVELS,
         &log_level, "L", "log level", NULL},
    };
    const maas_options_t options = {"maas-gateway", s_summary, s_epilog, table,
                                    sizeof table / sizeof table[0]};
    int rc = maas_options_main (&options, argc, argv, getenv);
    if (rc != 0)
        return rc;
    maas_log_set_level ((maas_log_level_t) maas_log_level_parse (log_level));
    cfg->max_connections = (unsigned) connections;
    cfg->idle_timeout_s = (unsigned) idle_s;
    if (cfg->api_keys && !*cfg->api_keys)
        cfg->api_keys = NULL;
    if (cfg->max_connections < (unsigned) cfg->threads) {
        fprintf (stderr, "maas-gateway: --max-connections %u is fewer than --threads %d\n",
                 cfg->max_connections, cfg->threads);
        return -1;
    }
    return 0;
}

int
main (int argc, char **argv)
{
    maas_err_t err;
    if (maas_log_setup (getenv ("MAAS_LOG_LEVEL"), &err) != 0)
        maas_error ("gateway", "%s (logging at info)", err.text);    //  --log-level may still say
    gw_config_t cfg;
    int parsed = s_parse (&cfg, argc, argv);
    if (parsed != 0)
        return parsed > 0 ? 0 : 2;
    //  Signals go to this thread only, which waits for them (sigwait).
    sigset_t set;
    sigemptyset (&set);
    sigaddset (&set, SIGINT);
    sigaddset (&set, SIGTERM);
    pthread_sigmask (SIG_BLOCK, &set, NULL);
    signal (SIGPIPE, SIG_IGN);
    gw_t *gw = gw_new (&cfg, err.text, sizeof err.text);
    if (!gw) {
        fprintf (stderr, "maas-gateway: %s\n", err.text);
        return 1;
    }
    char host[64];
    snprintf (host, sizeof host, "%.*s", (int) strcspn (cfg.http, ":"), cfg.http);
    const char *scheme = cfg.tls_cert ? "https" : "http";
    maas_info ("gateway", "listening %s=%s:%d threads=%d broker=%s api_keys=%s", scheme, host,
               gw_port (gw), cfg.threads, cfg.broker, cfg.api_keys ? cfg.api_keys : "none");
    printf ("maas-gateway: listening on %s://%s:%d\n", scheme, host, gw_port (gw));
    fflush (stdout);
    int sig;
    sigwait (&set, &sig);
    maas_info ("gateway", "stopping signal=%d", sig);
    gw_destroy (&gw);
    return 0;
}
