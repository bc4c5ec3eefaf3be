/*  redis_url.h: where Redis is, from one URL string, and a connection to it.
 *  Every maas program takes its Redis location the same way: --redis URL or
 *  $MAAS_REDIS_URL, "redis://[[user]:password@]host[:port][/db]" or
 *  "unix://[[user]:password@]/path/to/redis.sock[?db=N]". */
#ifndef MAAS_REDIS_URL_H
#define MAAS_REDIS_URL_H

#include "err.h"
#include "export.h"

#include <hiredis/hiredis.h>

#ifdef __cplusplus
extern "C" {
#endif

#define MAAS_REDIS_URL_DEFAULT "redis://127.0.0.1:6379"

typedef struct {
    char *host;        //  TCP host, NULL for a unix socket; owned
    int port;          //  TCP port (6379 by default)
    char *path;        //  unix socket path, NULL for TCP; owned
    char *user;        //  ACL user, NULL for "default"; owned
    char *password;    //  AUTH password, NULL for none; owned
    int db;            //  SELECTed database, 0 by default
} maas_redis_url_t;

//  Parse URL into *SELF (zeroed first). Returns 0, or -1 with a reason
//  ("redis URL 'x': unknown scheme, use redis:// or unix://") in ERR.
MAAS_EXPORT int maas_redis_url_parse (maas_redis_url_t *self, const char *url, maas_err_t *err);
//  Free what a parse allocated; the struct itself is the caller's.
MAAS_EXPORT void maas_redis_url_clear (maas_redis_url_t *self);
//  URL to use: URL if not NULL or "", else the default. (A program's main
//  reads $MAAS_REDIS_URL into URL; the library reads no environment.)
MAAS_EXPORT const char *maas_redis_url_pick (const char *url);
//  TEXT (a URL, or a Sentinel list "[user:]pass@host:port,...") as it may be
//  shown in a log or a message: every password replaced by "***"
//  ("redis://maas-broker:***@10.0.0.5:6379/0"). Writes at most SIZE bytes to
//  OUT (truncated) and returns OUT. TEXT NULL gives "".
MAAS_EXPORT char *maas_redis_url_mask (const char *text, char *out, size_t size);
//  One Sentinel of a list: "[[user]:password@]host:port" into *SELF (zeroed
//  first; HOST, PORT, USER, PASSWORD). 0, or -1 when it is not that form.
MAAS_EXPORT int maas_redis_sentinel_parse (maas_redis_url_t *self, const char *item, size_t len);

//  Where Redis is: the URL, and the Sentinels that know its master. Strings
//  are borrowed (copied by whoever keeps them: maas_redis_new).
typedef struct {
    const char *url;          //  redis:// or unix:// URL; NULL or "": the default
    const char *sentinels;    //  "host:port,host:port", or NULL/"" for none
    const char *master;       //  master name behind Sentinel; NULL: "mymaster"
} maas_redis_config_t;

//  The calls below are implemented in redis.c over the same code as
//  maas_redis_t, for callers not yet converted to it.

//  Where Redis is now. When CONFIG lists Sentinels ("host:port,host:port"),
//  asks each in turn for the current master of CONFIG's master (default
//  "mymaster") and returns its address with the URL's credentials and
//  database; otherwise parses the URL. So a program that reconnects through
//  this follows a failover. 0, or -1 with ERR.
MAAS_EXPORT int maas_redis_locate (maas_redis_url_t *self, const maas_redis_config_t *config,
                                   maas_err_t *err);

//  Connected, authenticated context on database db, with TIMEOUT_MS for
//  connecting and for each command (0: no timeout). NULL with a reason in
//  ERR ("redis unix:///x.sock: connection refused") on failure. Finds the
//  master through Sentinel as maas_redis_locate does, and then refuses a
//  server that is not (or no longer) the master.
MAAS_EXPORT redisContext *maas_redis_connect (const maas_redis_config_t *config, int timeout_ms,
                                              maas_err_t *err);
//  Send AUTH and SELECT as URL asks on an already connected context
//  (used after reconnecting). Returns 0, or -1 with ERR.
MAAS_EXPORT int maas_redis_handshake (redisContext *ctx, const maas_redis_url_t *url,
                                      maas_err_t *err);

#ifdef __cplusplus
}
#endif

#endif
