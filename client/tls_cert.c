/*  tls_cert.c: the stack's self-signed gateway certificate (tls_cert.h),
 *  through GnuTLS's x509 API. */
#include "tls_cert.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <gnutls/gnutls.h>
#include <gnutls/crypto.h>
#include <gnutls/x509.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define S_DAYS 825    //  the longest browsers accept; `maas up` keeps it until removed

//  DATA into PATH (created or truncated with MODE).
static int
s_write (const char *path, const gnutls_datum_t *data, mode_t mode, char *err, size_t err_size)
{
    int fd = open (path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
    bool ok = fd >= 0 && fchmod (fd, mode) == 0
        && write (fd, data->data, data->size) == (ssize_t) data->size;
    if (fd >= 0 && close (fd) != 0)
        ok = false;
    if (!ok)
        snprintf (err, err_size, "cannot write %s: %s", path, strerror (errno));
    return ok ? 0 : -1;
}

//  The names the certificate is good for: 127.0.0.1, localhost, IPV4.
static int
s_names (gnutls_x509_crt_t crt, const char *ipv4)
{
    const char *ips[] = {"127.0.0.1", ipv4};
    int rc = gnutls_x509_crt_set_subject_alt_name (crt, GNUTLS_SAN_DNSNAME, "localhost", 9,
                                                   GNUTLS_FSAN_APPEND);
    for (int i = 0; i < 2 && rc >= 0; i++) {
        struct in_addr addr;
        if (ips[i] && inet_pton (AF_INET, ips[i], &addr) == 1 && (i == 0 || addr.s_addr != 0)
            && (i == 0 || strcmp (ips[i], "127.0.0.1") != 0))
            rc = gnutls_x509_crt_set_subject_alt_name (crt, GNUTLS_SAN_IPADDRESS, &addr, 4,
                                                       GNUTLS_FSAN_APPEND);
    }
    return rc;
}

//  Fill CRT for KEY and sign it with KEY.
static int
s_certify (gnutls_x509_crt_t crt, gnutls_x509_privkey_t key, const char *ipv4)
{
    unsigned char serial[16];
    gnutls_rnd (GNUTLS_RND_NONCE, serial, sizeof serial);
    serial[0] &= 0x7f;    //  a positive number
    time_t now = time (NULL);
    const char *cn = "maas gateway (maas up --secure)";
    int rc = gnutls_x509_crt_set_version (crt, 3);
    if (rc >= 0)
        rc = gnutls_x509_crt_set_serial (crt, serial, sizeof serial);
    if (rc >= 0)
        rc = gnutls_x509_crt_set_activation_time (crt, now - 300);
    if (rc >= 0)
        rc = gnutls_x509_crt_set_expiration_time (crt, now + (time_t) S_DAYS * 86400);
    if (rc >= 0)
        rc = gnutls_x509_crt_set_dn_by_oid (crt, GNUTLS_OID_X520_COMMON_NAME, 0, cn, strlen (cn));
    if (rc >= 0)
        rc = s_names (crt, ipv4);
    //  Its own CA, so a client trusts it with --cacert alone.
    if (rc >= 0)
        rc = gnutls_x509_crt_set_basic_constraints (crt, 1, 0);
    if (rc >= 0)
        rc = gnutls_x509_crt_set_key_usage (
            crt, GNUTLS_KEY_DIGITAL_SIGNATURE | GNUTLS_KEY_KEY_CERT_SIGN);
    if (rc >= 0)
        rc = gnutls_x509_crt_set_key_purpose_oid (crt, GNUTLS_KP_TLS_WWW_SERVER, 0);
    if (rc >= 0)
        rc = gnutls_x509_crt_set_key (crt, key);
    if (rc >= 0)
        rc = gnutls_x509_crt_sign2 (crt, crt, key, GNUTLS_DIG_SHA256, 0);
    return rc;
}

int
maas_tls_self_signed (const char *cert_path, const char *key_path, const char *ipv4, char *err,
                      size_t err_size)
{
    gnutls_x509_privkey_t key = NULL;
    gnutls_x509_crt_t crt = NULL;
    gnutls_datum_t key_pem = {NULL, 0}, crt_pem = {NULL, 0};
    int rc = gnutls_x509_privkey_init (&key);
    if (rc >= 0)
        rc = gnutls_x509_privkey_generate (key, GNUTLS_PK_ECDSA,
                                           GNUTLS_CURVE_TO_BITS (GNUTLS_ECC_CURVE_SECP256R1), 0);
    if (rc >= 0)
        rc = gnutls_x509_crt_init (&crt);
    if (rc >= 0)
        rc = s_certify (crt, key, ipv4);
    if (rc >= 0)
        rc = gnutls_x509_privkey_export2 (key, GNUTLS_X509_FMT_PEM, &key_pem);
    if (rc >= 0)
        rc = gnutls_x509_crt_export2 (crt, GNUTLS_X509_FMT_PEM, &crt_pem);
    int result = -1;
    if (rc < 0)
        snprintf (err, err_size, "cannot make a TLS certificate: GnuTLS: %s", gnutls_strerror (rc));
    else if (s_write (key_path, &key_pem, 0600, err, err_size) == 0
             && s_write (cert_path, &crt_pem, 0644, err, err_size) == 0)
        result = 0;
    if (key_pem.data) {
        gnutls_memset (key_pem.data, 0, key_pem.size);
        gnutls_free (key_pem.data);
    }
    gnutls_free (crt_pem.data);
    if (crt)
        gnutls_x509_crt_deinit (crt);
    if (key)
        gnutls_x509_privkey_deinit (key);
    return result;
}
