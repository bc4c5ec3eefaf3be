/*  check_apikey.c: the HTTP API key store (shared/wire/apikey.c): keys
 *  added and looked up by token, wrong and removed tokens refused, the file
 *  holding only salted hashes, malformed lines refused with their line
 *  number, the file's mode, and a changed file noticed by refresh. */
#include "maas.h"
#include "support.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char *s_dir;
static char s_path[512];

static void
s_setup (void)
{
    s_dir = support_tempdir_new ("apikey");
    snprintf (s_path, sizeof s_path, "%s/api-keys", s_dir);
}

static void
s_teardown (void)
{
    support_tempdir_remove (&s_dir);
}

static void
s_add (const char *name, const char *roles, char token[MAAS_APIKEY_TOKEN_SIZE])
{
    maas_err_t err;
    ck_assert_msg (maas_apikey_add (s_path, name, roles, token, &err) == 0, "%s", err.text);
}

static void
s_write_file (const char *text, mode_t mode)
{
    FILE *file = fopen (s_path, "w");
    ck_assert_ptr_nonnull (file);
    fputs (text, file);
    fclose (file);
    ck_assert_int_eq (chmod (s_path, mode), 0);
}

static char *
s_slurp (void)
{
    static char text[8192];
    FILE *file = fopen (s_path, "r");
    ck_assert_ptr_nonnull (file);
    text[fread (text, 1, sizeof text - 1, file)] = '\0';
    fclose (file);
    return text;
}

START_TEST (test_add_lookup)
{
    char alice[MAAS_APIKEY_TOKEN_SIZE], bob[MAAS_APIKEY_TOKEN_SIZE];
    s_add ("alice", "infer", alice);
    s_add ("bob", "admin", bob);
    ck_assert_uint_eq (strlen (alice), MAAS_APIKEY_TOKEN_SIZE - 1);
    ck_assert_int_eq (strncmp (alice, "maas_", 5), 0);
    ck_assert_uint_eq (strspn (alice + 5,
                               "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                               "0123456789-_"),
                       43);
    ck_assert_str_ne (alice, bob);
    struct stat st;
    ck_assert_int_eq (stat (s_path, &st), 0);
    ck_assert_int_eq (st.st_mode & 0777, 0600);
    //  Hashed at rest: neither token, nor its random part, is in the file.
    const char *text = s_slurp ();
    ck_assert_ptr_null (strstr (text, alice + 5));
    ck_assert_ptr_null (strstr (text, bob + 5));
    ck_assert_ptr_nonnull (strstr (text, "\nalice infer "));
    maas_err_t err;
    maas_apikey_t *keys = maas_apikey_new (s_path, &err);
    ck_assert_msg (keys, "%s", err.text);
    ck_assert_uint_eq (maas_apikey_count (keys), 2);
    const char *name = NULL;
    ck_assert_int_eq (maas_apikey_lookup (keys, alice, &name), MAAS_CURVE_INFER);
    ck_assert_str_eq (name, "alice");
    ck_assert_int_eq (maas_apikey_lookup (keys, bob, &name), MAAS_CURVE_ADMIN);
    ck_assert_str_eq (name, "bob");
    ck_assert (maas_curve_allows (MAAS_CURVE_ADMIN, MAAS_CURVE_TRAIN));
    ck_assert (!maas_curve_allows (MAAS_CURVE_INFER, MAAS_CURVE_TRAIN));
    maas_apikey_destroy (&keys);
    maas_apikey_destroy (&keys);    //  safe twice
}
END_TEST

START_TEST (test_wrong_token)
{
    char token[MAAS_APIKEY_TOKEN_SIZE];
    s_add ("alice", "infer,train", token);
    maas_err_t err;
    maas_apikey_t *keys = maas_apikey_new (s_path, &err);
    ck_assert_msg (keys, "%s", err.text);
    ck_assert_int_eq (maas_apikey_lookup (keys, token, NULL), MAAS_CURVE_INFER | MAAS_CURVE_TRAIN);
    char wrong[MAAS_APIKEY_TOKEN_SIZE];
    memcpy (wrong, token, sizeof wrong);
    wrong[20] = wrong[20] == 'A' ? 'B' : 'A';    //  one character off
    ck_assert_int_eq (maas_apikey_lookup (keys, wrong, NULL), -1);
    wrong[20] = token[20];
    wrong[MAAS_APIKEY_TOKEN_SIZE - 2] = '\0';    //  one short
    ck_assert_int_eq (maas_apikey_lookup (keys, wrong, NULL), -1);
    ck_assert_int_eq (maas_apikey_lookup (keys, "", NULL), -1);
    ck_assert_int_eq (maas_apikey_lookup (keys, NULL, NULL), -1);
    //  The hash itself, as a token, is no key.
    const char *text = s_slurp ();
    char hash[80];
    ck_assert_int_eq (sscanf (strstr (text, "alice"), "alice %*s %*s %79s", hash), 1);
    ck_assert_int_eq (maas_apikey_lookup (keys, hash, NULL), -1);
    maas_apikey_destroy (&keys);
}
END_TEST

START_TEST (test_add_refused)
{
    char token[MAAS_APIKEY_TOKEN_SIZE];
    maas_err_t err;
    s_add ("alice", NULL, token);
    ck_assert_int_eq (maas_apikey_add (s_path, "alice", "infer", token, &err), -1);
    ck_assert_msg (strstr (err.text, "already has a key 'alice'"), "%s", err.text);
    ck_assert_int_eq (maas_apikey_add (s_path, "carol", "superuser", token, &err), -1);
    ck_assert_msg (strstr (err.text, "role 'superuser' unknown"), "%s", err.text);
    ck_assert_int_eq (maas_apikey_add (s_path, "a b", "infer", token, &err), -1);
    ck_assert_msg (strstr (err.text, "key name 'a b'"), "%s", err.text);
    ck_assert_int_eq (maas_apikey_add (s_path, "carol", "infer, train", token, &err), -1);
    //  A writer's leftover PATH.new stops the next one rather than being lost.
    char tmp[600];
    snprintf (tmp, sizeof tmp, "%s.new", s_path);
    FILE *file = fopen (tmp, "w");
    fclose (file);
    ck_assert_int_eq (maas_apikey_add (s_path, "carol", "infer", token, &err), -1);
    ck_assert_msg (strstr (err.text, "another maas keygen"), "%s", err.text);
    unlink (tmp);
    //  A key without a role: known, with no rights.
    maas_apikey_t *keys = maas_apikey_new (s_path, &err);
    ck_assert_msg (keys, "%s", err.text);
    ck_assert_uint_eq (maas_apikey_count (keys), 1);
    maas_apikey_destroy (&keys);
}
END_TEST

START_TEST (test_remove)
{
    char alice[MAAS_APIKEY_TOKEN_SIZE], bob[MAAS_APIKEY_TOKEN_SIZE];
    s_add ("alice", "infer", alice);
    s_add ("bob", "train", bob);
    maas_err_t err;
    ck_assert_int_eq (maas_apikey_remove (s_path, "alice", &err), 0);
    ck_assert_int_eq (maas_apikey_remove (s_path, "alice", &err), -1);
    ck_assert_int_eq (err.code, MAAS_ERR_NOT_FOUND);
    ck_assert_msg (strstr (err.text, "has no key 'alice'"), "%s", err.text);
    maas_apikey_t *keys = maas_apikey_new (s_path, &err);
    ck_assert_msg (keys, "%s", err.text);
    ck_assert_int_eq (maas_apikey_lookup (keys, alice, NULL), -1);
    ck_assert_int_eq (maas_apikey_lookup (keys, bob, NULL), MAAS_CURVE_TRAIN);
    ck_assert_ptr_nonnull (strstr (s_slurp (), "# maas API keys"));    //  the rest kept
    maas_apikey_destroy (&keys);
}
END_TEST

//  Each bad file is refused whole, naming the line.
START_TEST (test_malformed)
{
    const char *good = "ok infer 00112233445566778899aabbccddeeff "
                       "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\n";
    static const struct {
        const char *line;    //  the third line of the file
        const char *says;    //  in the message after "FILE:3: "
    } bad[] = {
        {"short infer 00112233\n", "got 3 words"},
        {"x infer 00 11 22\n", "got 5 words"},
        {"x infer zz112233445566778899aabbccddeeff "
         "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\n",
         "hex digits"},
        {"x infer 00112233445566778899aabbccddeeff 0011\n", "hex digits"},
        {"x root 00112233445566778899aabbccddeeff "
         "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\n",
         "role 'root' unknown"},
        {".hidden infer 00112233445566778899aabbccddeeff "
         "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\n",
         "key name '.hidden'"},
        {"ok infer 00112233445566778899aabbccddeeff "
         "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\n",
         "key 'ok' given twice"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char text[1024];
        snprintf (text, sizeof text, "# comment\n%s%s", good, bad[i].line);
        s_write_file (text, 0600);
        maas_err_t err;
        maas_apikey_t *keys = maas_apikey_new (s_path, &err);
        ck_assert_ptr_null (keys);
        char where[600];
        snprintf (where, sizeof where, "%s:3: ", s_path);
        ck_assert_msg (strstr (err.text, where) && strstr (err.text, bad[i].says), "case %zu: %s",
                       i, err.text);
    }
    //  Blank lines and comments are fine; the good line alone loads.
    char text[1024];
    snprintf (text, sizeof text, "\n  # indented comment\n%s\n", good);
    s_write_file (text, 0600);
    maas_err_t err;
    maas_apikey_t *keys = maas_apikey_new (s_path, &err);
    ck_assert_msg (keys, "%s", err.text);
    ck_assert_uint_eq (maas_apikey_count (keys), 1);
    maas_apikey_destroy (&keys);
}
END_TEST

START_TEST (test_file_mode)
{
    char token[MAAS_APIKEY_TOKEN_SIZE];
    s_add ("alice", "infer", token);
    maas_err_t err;
    ck_assert_int_eq (chmod (s_path, 0644), 0);    //  readable: hashes only, allowed
    maas_apikey_t *keys = maas_apikey_new (s_path, &err);
    ck_assert_msg (keys, "%s", err.text);
    maas_apikey_destroy (&keys);
    mode_t modes[] = {0620, 0602, 0666};
    for (size_t i = 0; i < 3; i++) {
        ck_assert_int_eq (chmod (s_path, modes[i]), 0);
        ck_assert_ptr_null (maas_apikey_new (s_path, &err));
        ck_assert_msg (strstr (err.text, "writable by group or others")
                           && strstr (err.text, "chmod 600"),
                       "%s", err.text);
    }
    ck_assert_int_eq (chmod (s_path, 0600), 0);
    char missing[600];
    snprintf (missing, sizeof missing, "%s/none", s_dir);
    ck_assert_ptr_null (maas_apikey_new (missing, &err));
    ck_assert_msg (strstr (err.text, "No such file"), "%s", err.text);
    ck_assert_ptr_null (maas_apikey_new (s_dir, &err));
    ck_assert_msg (strstr (err.text, "not a regular file"), "%s", err.text);
}
END_TEST

//  refresh: no stat before MAAS_APIKEY_CHECK_MS; a new key, a removed key,
//  a malformed file (old keys kept), a removed file (no key valid).
START_TEST (test_refresh)
{
    char alice[MAAS_APIKEY_TOKEN_SIZE], bob[MAAS_APIKEY_TOKEN_SIZE];
    s_add ("alice", "infer", alice);
    maas_err_t err;
    maas_apikey_t *keys = maas_apikey_new (s_path, &err);
    ck_assert_msg (keys, "%s", err.text);
    int64_t now = 1000000;
    ck_assert_int_eq (maas_apikey_refresh (keys, now, &err), 0);    //  unchanged
    s_add ("bob", "admin", bob);
    ck_assert_int_eq (maas_apikey_refresh (keys, now + 1, &err), 0);    //  too soon to look
    ck_assert_int_eq (maas_apikey_lookup (keys, bob, NULL), -1);
    now += MAAS_APIKEY_CHECK_MS;
    ck_assert_int_eq (maas_apikey_refresh (keys, now, &err), 1);
    ck_assert_int_eq (maas_apikey_lookup (keys, bob, NULL), MAAS_CURVE_ADMIN);
    ck_assert_int_eq (maas_apikey_remove (s_path, "alice", &err), 0);
    now += MAAS_APIKEY_CHECK_MS;
    ck_assert_int_eq (maas_apikey_refresh (keys, now, &err), 1);
    ck_assert_int_eq (maas_apikey_lookup (keys, alice, NULL), -1);
    //  Malformed: reported once, bob still valid.
    char text[4096];
    snprintf (text, sizeof text, "%sbroken line\n", s_slurp ());
    s_write_file (text, 0600);
    now += MAAS_APIKEY_CHECK_MS;
    ck_assert_int_eq (maas_apikey_refresh (keys, now, &err), -1);
    ck_assert_msg (strstr (err.text, ":3: expected NAME ROLES SALT HASH"), "%s", err.text);
    now += MAAS_APIKEY_CHECK_MS;
    ck_assert_int_eq (maas_apikey_refresh (keys, now, &err), 0);
    ck_assert_int_eq (maas_apikey_lookup (keys, bob, NULL), MAAS_CURVE_ADMIN);
    //  Gone: every key refused.
    ck_assert_int_eq (unlink (s_path), 0);
    now += MAAS_APIKEY_CHECK_MS;
    ck_assert_int_eq (maas_apikey_refresh (keys, now, &err), -1);
    ck_assert_int_eq (maas_apikey_lookup (keys, bob, NULL), -1);
    ck_assert_uint_eq (maas_apikey_count (keys), 0);
    maas_apikey_destroy (&keys);
}
END_TEST

static Suite *
s_suite (void)
{
    Suite *suite = suite_create ("apikey");
    TCase *core = tcase_create ("core");
    tcase_add_checked_fixture (core, s_setup, s_teardown);
    tcase_add_test (core, test_add_lookup);
    tcase_add_test (core, test_wrong_token);
    tcase_add_test (core, test_remove);
    tcase_add_test (core, test_refresh);
    suite_add_tcase (suite, core);
    TCase *errors = tcase_create ("errors");
    tcase_add_checked_fixture (errors, s_setup, s_teardown);
    tcase_add_test (errors, test_add_refused);
    tcase_add_test (errors, test_malformed);
    tcase_add_test (errors, test_file_mode);
    suite_add_tcase (suite, errors);
    return suite;
}

int
main (void)
{
    return support_run (s_suite ());
}
