/*  tls_cert.h: a self-signed certificate for the local stack's gateway
 *  (`maas up --secure`), made with GnuTLS so no openssl binary is needed. */
#ifndef MAAS_CLIENT_TLS_CERT_H
#define MAAS_CLIENT_TLS_CERT_H

#include <stddef.h>

//  Write a new ECDSA P-256 key to KEY_PATH (mode 0600) and a certificate
//  for it, signed by itself, to CERT_PATH (0644): valid for 825 days, for
//  127.0.0.1, localhost and IPV4 (an address, or NULL), usable as its own
//  CA (curl --cacert CERT_PATH). Returns 0, or -1 with ERR.
int maas_tls_self_signed (const char *cert_path, const char *key_path, const char *ipv4, char *err,
                          size_t err_size);

#endif
