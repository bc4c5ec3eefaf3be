/*  main.c: maas-gateway: arguments, signals, logging; the HTTP gateway
 *  itself is gateway.c. Prints "maas-gateway: listening on http://A:P" once
 *  it accepts requests (the real port when --http asks for port 0). */
#include "gateway.h"

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char s_usage[] =
    "usage: maas-gateway [options]\n"
    "  --http ADDR:PORT       listen address (default " GW_HTTP_DEFAULT "; port 0: any)\n"
    "  --broker EP            broker frontend(s) ($MAAS_BROKER_FRONTEND, default "
    "tcp://127.0.0.1:5555)\n"
    "  --curve-key FILE       our secret key, CurveZMQ to the broker ($MAAS_CURVE_KEY)\n"
    "  --broker-key FILE      the broker's public key ($MAAS_BROKER_KEY)\n"
    "  --redis URL            registry ($MAAS_REDIS_URL)\n"
    "  --prefix P             Redis key prefix (default maas:)\n"
    "  --threads N            event loops (default: number of cores)\n"
    "  --request-timeout MS   each request's deadline, answered 504 (default 30000)\n"
    "  --max-body BYTES       largest request body, answered 413 (default 64 MiB)\n"
    "  --max-connections N    open connections, all threads (default 4096)\n"
    "  --idle-timeout S       close a connection silent this long (default 30)\n"
    "  --api-keys FILE        require an API key (maas keygen NAME --api FILE) on every\n"
    "                         route but /v2/health/live and /v2/health/ready ($MAAS_API_KEYS)\n"
    "  --tls-cert FILE        HTTPS with this PEM certificate (chain) ...\n"
    "  --tls-key FILE         ... and its PEM private key\n"
    "  --log-level L          debug|info|warn|error ($MAAS_LOG_LEVEL, default info)\n";

static int
s_option (gw_config_t *cfg, const char *name, const char *value)
{
    if (strcmp (name, "--http") == 0)
        cfg->http = value;
    else if (strcmp (name, "--broker") == 0)
        cfg->broker = value;
    else if (strcmp (name, "--curve-key") == 0)
        cfg->curve_key = value;
    else if (strcmp (name, "--broker-key") == 0)
        cfg->broker_key = value;
    else if (strcmp (name, "--redis") == 0)
        cfg->redis.url = value;
    else if (strcmp (name, "--prefix") == 0)
        cfg->prefix = value;
    else if (strcmp (name, "--threads") == 0)
        cfg->threads = atoi (value);
    else if (strcmp (name, "--request-timeout") == 0)
        cfg->request_timeout_ms = atoi (value);
    else if (strcmp (name, "--max-body") == 0)
        cfg->max_body = strtoull (value, NULL, 10);
    else if (strcmp (name, "--max-connections") == 0)
        cfg->max_connections = (unsigned) atoi (value);
    else if (strcmp (name, "--idle-timeout") == 0)
        cfg->idle_timeout_s = (unsigned) atoi (value);
    else if (strcmp (name, "--api-keys") == 0)
        cfg->api_keys = value;
    else if (strcmp (name, "--tls-cert") == 0)
        cfg->tls_cert = value;
    else if (strcmp (name, "--tls-key") == 0)
        cfg->tls_key = value;
    else if (strcmp (name, "--log-level") == 0 && maas_log_level_parse (value) >= 0)
        maas_log_set_level ((maas_log_level_t) maas_log_level_parse (value));
    else
        return -1;
    return 0;
}

static int
s_parse (gw_config_t *cfg, int argc, char **argv)
{
    long cores = sysconf (_SC_NPROCESSORS_ONLN);
    *cfg = (gw_config_t){.http = GW_HTTP_DEFAULT,
                         .broker = getenv ("MAAS_BROKER_FRONTEND"),
                         .curve_key = getenv (MAAS_CURVE_KEY_ENV),
                         .broker_key = getenv (MAAS_CURVE_BROKER_ENV),
                         .redis = {.url = getenv ("MAAS_REDIS_URL"),
                                   .sentinels = getenv ("MAAS_REDIS_SENTINELS"),
                                   .master = getenv ("MAAS_REDIS_MASTER")},
                         .threads = cores > 0 ? (int) cores : 1,
                         .request_timeout_ms = GW_TIMEOUT_DEFAULT_MS,
                         .max_body = GW_MAX_BODY_DEFAULT,
                         .max_connections = GW_MAX_CONNECTIONS_DEFAULT,
                         .idle_timeout_s = GW_IDLE_TIMEOUT_DEFAULT_S,
                         .api_keys = getenv (MAAS_APIKEY_ENV)};
    if (cfg->api_keys && !*cfg->api_keys)
        cfg->api_keys = NULL;
    if (!cfg->broker || !*cfg->broker)
        cfg->broker = "tcp://127.0.0.1:5555";
    for (int i = 1; i < argc; i++)
        if (i + 1 >= argc || s_option (cfg, argv[i], argv[i + 1]) != 0) {
            fprintf (stderr, "maas-gateway: unexpected '%s'\n%s", argv[i], s_usage);
            return -1;
        }
        else
            i++;
    if (cfg->threads < 1 || cfg->request_timeout_ms < 1 || cfg->max_body < 1
        || cfg->max_connections < (unsigned) cfg->threads) {
        fprintf (stderr,
                 "maas-gateway: --threads, --request-timeout, --max-body and "
                 "--max-connections must be positive (connections >= threads)\n");
        return -1;
    }
    return 0;
}

int
main (int argc, char **argv)
{
    if (argc >= 2 && (strcmp (argv[1], "--help") == 0 || strcmp (argv[1], "-h") == 0)) {
        fputs (s_usage, stdout);
        return 0;
    }
    char err[512];
    if (maas_log_setup (getenv ("MAAS_LOG_LEVEL"), err, sizeof err) != 0)
        maas_error ("gateway", "%s (logging at info)", err);    //  --log-level may still say
    gw_config_t cfg;
    if (s_parse (&cfg, argc, argv) != 0)
        return 2;
    //  Signals go to this thread only, which waits for them (sigwait).
    sigset_t set;
    sigemptyset (&set);
    sigaddset (&set, SIGINT);
    sigaddset (&set, SIGTERM);
    pthread_sigmask (SIG_BLOCK, &set, NULL);
    signal (SIGPIPE, SIG_IGN);
    gw_t *gw = gw_new (&cfg, err, sizeof err);
    if (!gw) {
        fprintf (stderr, "maas-gateway: %s\n", err);
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
