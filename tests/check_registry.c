/*  check_registry.c: the model registry against a real redis-server:
 *  versions, aliases, deletes, announcements, concurrent publishers in
 *  separate processes, corrupted blobs, a dead Redis. */
#include "support.h"
#include "maas.h"

#include <check.h>
#include <hiredis/hiredis.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

SUPPORT_REGISTRY_FIXTURE (s_redis, s_reg, s_setup, s_teardown)

//  An encoded 4 -> 8 -> 3 model whose weights are seeded by LABEL (the
//  caller frees it).
static uint8_t *
s_blob (const char *label, size_t *size)
{
    uint64_t seed = 1469598103934665603ULL;
    for (const char *c = label; *c; c++)
        seed = (seed ^ (uint8_t) *c) * 1099511628211ULL;
    maas_layer_spec_t layers[] = {{8, MAAS_ACT_RELU}, {3, MAAS_ACT_SOFTMAX}};
    maas_model_t *model = support_model_new (4, layers, 2, seed);
    uint8_t *blob;
    maas_err_t err;
    ck_assert_msg (maas_model_encode (model, &blob, size, &err) == 0, "%s", err.text);
    maas_model_destroy (&model);
    return blob;
}

static uint64_t
s_publish (maas_registry_t *reg, const char *name, const char *label, const char *job)
{
    maas_registry_meta_t meta = {.job_id = job,
                                 .metrics = "{\"accuracy\":0.9}",
                                 .tags = "iris,test",
                                 .description = "a test model"};
    uint64_t version = 0;
    size_t size;
    uint8_t *blob = s_blob (label, &size);
    int rc = maas_registry_publish (reg, name, blob, size, &meta, &version, NULL);
    free (blob);
    ck_assert_msg (rc == 0, "%s", maas_registry_error (reg));
    return version;
}

static void
s_assert_error (int rc, const char *expected)
{
    ck_assert_int_eq (rc, -1);
    ck_assert_msg (strstr (maas_registry_error (s_reg), expected), "error '%s' lacks '%s'",
                   maas_registry_error (s_reg), expected);
}

//  -- core

START_TEST (test_publish_numbers_versions)
{
    ck_assert_uint_eq (s_publish (s_reg, "iris", "blob-one", NULL), 1);
    ck_assert_uint_eq (s_publish (s_reg, "iris", "blob-two", NULL), 2);
    ck_assert_uint_eq (s_publish (s_reg, "digits", "other", NULL), 1);
    uint64_t version;
    ck_assert_int_eq (maas_registry_resolve (s_reg, "iris", NULL, &version), 0);
    ck_assert_uint_eq (version, 2);
    ck_assert_int_eq (maas_registry_resolve (s_reg, "iris", "latest", &version), 0);
    ck_assert_uint_eq (version, 2);
    ck_assert_int_eq (maas_registry_resolve (s_reg, "iris", "1", &version), 0);
    ck_assert_uint_eq (version, 1);
    //  A version is its number however it is spelt, as an alias move reads it.
    ck_assert_int_eq (maas_registry_resolve (s_reg, "iris", "02", &version), 0);
    ck_assert_uint_eq (version, 2);
    s_assert_error (maas_registry_resolve (s_reg, "iris", "003", &version), "has no version 3");
    uint8_t *blob;
    size_t size;
    char sha[65];
    ck_assert_int_eq (maas_registry_fetch (s_reg, "iris", 1, &blob, &size, sha), 0);
    size_t original_size;
    uint8_t *original = s_blob ("blob-one", &original_size);
    ck_assert_uint_eq (size, original_size);
    ck_assert (memcmp (blob, original, size) == 0);
    free (blob);
    char expected[65];
    maas_registry_sha256_hex (original, size, expected);
    ck_assert_str_eq (sha, expected);
    free (original);
}
END_TEST

START_TEST (test_info_holds_metadata)
{
    s_publish (s_reg, "iris", "blob-one", "job-7");
    ck_assert_int_eq (maas_registry_alias (s_reg, "iris", "production", 1), 0);
    maas_registry_info_t info;
    ck_assert_int_eq (maas_registry_info (s_reg, "iris", 1, &info), 0);
    ck_assert_str_eq (info.name, "iris");
    ck_assert_uint_eq (info.version, 1);
    ck_assert_int_eq (info.format, 1);
    ck_assert_uint_eq (info.inputs, 4);
    ck_assert_uint_eq (info.outputs, 3);
    size_t size;
    free (s_blob ("blob-one", &size));
    ck_assert_uint_eq (info.blob_size, size);
    ck_assert_str_eq (info.metrics, "{\"accuracy\":0.9}");
    ck_assert_str_eq (info.job_id, "job-7");
    ck_assert_str_eq (info.tags, "iris,test");
    ck_assert_str_eq (info.description, "a test model");
    ck_assert_str_eq (info.aliases, "production");
    ck_assert_int_gt (info.created_ms, 1700000000000LL);
    ck_assert_uint_eq (strlen (info.sha256), 64);
    maas_registry_info_clear (&info);
    ck_assert_ptr_null (info.name);
}
END_TEST

START_TEST (test_publish_idempotent_on_job_id)
{
    maas_registry_meta_t meta = {.job_id = "job-1"};
    uint64_t version;
    bool created;
    size_t size;
    uint8_t *blob = s_blob ("a", &size);
    ck_assert_int_eq (maas_registry_publish (s_reg, "m", blob, size, &meta, &version, &created), 0);
    ck_assert (created);
    ck_assert_uint_eq (version, 1);
    ck_assert_int_eq (maas_registry_publish (s_reg, "m", blob, size, &meta, &version, &created), 0);
    ck_assert (!created);
    ck_assert_uint_eq (version, 1);
    meta.job_id = "job-2";
    ck_assert_int_eq (maas_registry_publish (s_reg, "m", blob, size, &meta, &version, &created), 0);
    free (blob);
    ck_assert (created);
    ck_assert_uint_eq (version, 2);
    uint64_t *versions;
    size_t count;
    ck_assert_int_eq (maas_registry_versions (s_reg, "m", &versions, &count), 0);
    ck_assert_uint_eq (count, 2);
    free (versions);
}
END_TEST

START_TEST (test_delete_moves_latest_never_reuses)
{
    for (int i = 0; i < 3; i++)
        s_publish (s_reg, "iris", "x", NULL);
    ck_assert_int_eq (maas_registry_delete (s_reg, "iris", 3, false), 0);
    uint64_t version;
    ck_assert_int_eq (maas_registry_resolve (s_reg, "iris", NULL, &version), 0);
    ck_assert_uint_eq (version, 2);
    s_assert_error (maas_registry_resolve (s_reg, "iris", "3", &version), "has no version 3");
    ck_assert_uint_eq (s_publish (s_reg, "iris", "y", NULL), 4);
    ck_assert_int_eq (maas_registry_delete (s_reg, "iris", 1, false), 0);
    ck_assert_int_eq (maas_registry_delete (s_reg, "iris", 2, false), 0);
    ck_assert_int_eq (maas_registry_delete (s_reg, "iris", 4, false), 0);
    s_assert_error (maas_registry_resolve (s_reg, "iris", NULL, &version), "has no versions");
    uint64_t *versions;
    size_t count;
    ck_assert_int_eq (maas_registry_versions (s_reg, "iris", &versions, &count), 0);
    ck_assert_uint_eq (count, 0);
    ck_assert_ptr_null (versions);
}
END_TEST

START_TEST (test_list_models)
{
    s_publish (s_reg, "zeta", "x", NULL);
    s_publish (s_reg, "alpha", "x", NULL);
    s_publish (s_reg, "alpha", "y", NULL);
    ck_assert_int_eq (maas_registry_alias (s_reg, "alpha", "production", 1), 0);
    ck_assert_int_eq (maas_registry_alias (s_reg, "alpha", "staging", 2), 0);
    maas_registry_model_t *models;
    size_t count;
    ck_assert_int_eq (maas_registry_list (s_reg, &models, &count), 0);
    ck_assert_uint_eq (count, 2);
    ck_assert_str_eq (models[0].name, "alpha");
    ck_assert_uint_eq (models[0].latest, 2);
    ck_assert_uint_eq (models[0].versions, 2);
    ck_assert (strstr (models[0].aliases, "production=1"));
    ck_assert (strstr (models[0].aliases, "staging=2"));
    ck_assert_str_eq (models[0].description, "a test model");
    ck_assert_str_eq (models[1].name, "zeta");
    maas_registry_models_free (&models, count);
    ck_assert_ptr_null (models);
}
END_TEST

START_TEST (test_keys_use_hash_tags)
{
    s_publish (s_reg, "iris", "x", "job-1");
    ck_assert_int_eq (maas_registry_alias (s_reg, "iris", "production", 1), 0);
    redisContext *ctx = redisConnectUnix (support_redis_socket (s_redis));
    redisReply *reply = redisCommand (ctx, "KEYS *");
    ck_assert_uint_eq (reply->elements, 7);    //  with :history
    for (size_t i = 0; i < reply->elements; i++) {
        const char *key = reply->element[i]->str;
        ck_assert_msg (strncmp (key, "maas:model:{iris}", 17) == 0
                           || strcmp (key, "maas:models") == 0,
                       "unexpected key %s", key);
    }
    freeReplyObject (reply);
    reply = redisCommand (ctx, "HGET maas:model:{iris}:aliases production");
    ck_assert_str_eq (reply->str, "1");
    freeReplyObject (reply);
    redisFree (ctx);
}
END_TEST

START_TEST (test_ref_parse)
{
    maas_registry_ref_t ref;
    maas_err_t err;
    ck_assert_int_eq (maas_registry_ref_parse (&ref, "iris", &err), 0);
    ck_assert_str_eq (ref.name, "iris");
    ck_assert_str_eq (ref.ref, "");
    ck_assert_int_eq (maas_registry_ref_parse (&ref, "iris@12", &err), 0);
    ck_assert_str_eq (ref.ref, "12");
    ck_assert_int_eq (maas_registry_ref_parse (&ref, "iris-v2.1@production", &err), 0);
    ck_assert_str_eq (ref.name, "iris-v2.1");
    ck_assert_str_eq (ref.ref, "production");
    ck_assert_int_eq (maas_registry_ref_parse (&ref, "iris@latest", &err), 0);
    ck_assert_int_eq (maas_registry_ref_parse (&ref, "ir{is}", &err), -1);
    ck_assert (strstr (err.text, "a name is"));
    ck_assert_int_eq (maas_registry_ref_parse (&ref, "iris@", &err), -1);
    ck_assert_int_eq (maas_registry_ref_parse (&ref, "iris@0", &err), -1);
    ck_assert_int_eq (maas_registry_ref_parse (&ref, "iris@1x", &err), -1);
    ck_assert_int_eq (maas_registry_ref_parse (&ref, "@3", &err), -1);
    //  MLflow's spellings name the same thing.
    ck_assert_int_eq (maas_registry_ref_parse (&ref, "iris/12", &err), 0);
    ck_assert_str_eq (ref.name, "iris");
    ck_assert_str_eq (ref.ref, "12");
    ck_assert_int_eq (maas_registry_ref_parse (&ref, "models:/iris/3", &err), 0);
    ck_assert_str_eq (ref.name, "iris");
    ck_assert_str_eq (ref.ref, "3");
    ck_assert_int_eq (maas_registry_ref_parse (&ref, "models:/iris@champion", &err), 0);
    ck_assert_str_eq (ref.ref, "champion");
    ck_assert_int_eq (maas_registry_ref_parse (&ref, "models:/iris", &err), 0);
    ck_assert_str_eq (ref.name, "iris");
    ck_assert_str_eq (ref.ref, "");
    ck_assert_int_eq (maas_registry_ref_parse (&ref, "iris/production", &err), -1);
    ck_assert (strstr (err.text, "after '/' comes a version number"));
    ck_assert_int_eq (maas_registry_ref_parse (&ref, "models:/iris/3/4", &err), -1);
    ck_assert (!maas_registry_alias_valid ("latest"));
    ck_assert (!maas_registry_alias_valid ("3d"));
    ck_assert (maas_registry_alias_valid ("canary-2"));
}
END_TEST

//  rm NAME: versions, aliases, tags, history and the name itself go; the
//  name can be published again from version 1.
START_TEST (test_delete_model_entirely)
{
    s_publish (s_reg, "iris", "a", "job-1");
    s_publish (s_reg, "iris", "b", NULL);
    s_publish (s_reg, "other", "c", NULL);
    ck_assert_int_eq (maas_registry_alias (s_reg, "iris", "production", 2), 0);
    ck_assert_int_eq (maas_registry_tag (s_reg, "iris", 0, "team", "vision"), 0);
    ck_assert_int_eq (maas_registry_tag (s_reg, "iris", 1, "stage", "tried"), 0);
    uint64_t *versions = NULL;
    size_t count = 0;
    s_assert_error (maas_registry_delete_model (s_reg, "iris", false, &versions, &count),
                    "has aliases production");
    ck_assert_int_eq (maas_registry_delete_model (s_reg, "iris", true, &versions, &count), 0);
    ck_assert_uint_eq (count, 2);
    ck_assert_uint_eq (versions[0], 1);
    ck_assert_uint_eq (versions[1], 2);
    free (versions);
    maas_registry_model_t *models;
    ck_assert_int_eq (maas_registry_list (s_reg, &models, &count), 0);
    ck_assert_uint_eq (count, 1);
    ck_assert_str_eq (models[0].name, "other");
    maas_registry_models_free (&models, count);
    redisContext *redis = redisConnectUnix (support_redis_socket (s_redis));
    redisReply *keys = redisCommand (redis, "KEYS maas:model:{iris}*");
    ck_assert_uint_eq (keys->elements, 0);
    freeReplyObject (keys);
    redisFree (redis);
    s_assert_error (maas_registry_delete_model (s_reg, "iris", false, &versions, &count),
                    "unknown model iris");
    ck_assert_uint_eq (s_publish (s_reg, "iris", "a", "job-1"), 1);
}
END_TEST

//  Descriptions and tags on a model and on a version are edited in place,
//  beside the records; search filters on name and model tags.
START_TEST (test_describe_tag_search)
{
    s_publish (s_reg, "iris", "a", NULL);
    s_publish (s_reg, "digits", "b", NULL);
    ck_assert_int_eq (maas_registry_describe (s_reg, "iris", 1, "the first cut"), 0);
    ck_assert_int_eq (maas_registry_describe (s_reg, "iris", 0, "flower classifier"), 0);
    ck_assert_int_eq (maas_registry_tag (s_reg, "iris", 1, "stage", "candidate"), 0);
    ck_assert_int_eq (maas_registry_tag (s_reg, "iris", 1, "reviewed", "yes"), 0);
    ck_assert_int_eq (maas_registry_tag (s_reg, "iris", 0, "team", "botany"), 0);
    ck_assert_int_eq (maas_registry_tag (s_reg, "digits", 0, "team", "vision"), 0);
    ck_assert_int_eq (maas_registry_untag (s_reg, "iris", 1, "reviewed"), 0);
    s_assert_error (maas_registry_untag (s_reg, "iris", 1, "reviewed"),
                    "no tag 'reviewed' on iris@1");
    s_assert_error (maas_registry_tag (s_reg, "iris", 7, "a", "b"), "model iris has no version 7");
    s_assert_error (maas_registry_tag (s_reg, "nosuch", 0, "a", "b"), "unknown model nosuch");
    s_assert_error (maas_registry_tag (s_reg, "iris", 0, "a b", "c"), "tag 'a b': a key is");
    s_assert_error (maas_registry_tag (s_reg, "iris", 0, "a", "b,c"), "without ','");
    maas_registry_info_t info;
    ck_assert_int_eq (maas_registry_info (s_reg, "iris", 1, &info), 0);
    ck_assert_str_eq (info.description, "the first cut");
    ck_assert_str_eq (info.kv_tags, "stage=candidate");
    ck_assert_str_eq (info.tags, "iris,test");    //  the publish-time tags stay
    maas_registry_info_clear (&info);
    maas_registry_model_t *models;
    size_t count;
    ck_assert_int_eq (
        maas_registry_search (s_reg, NULL, (const char *[]){"team=botany"}, 1, &models, &count), 0);
    ck_assert_uint_eq (count, 1);
    ck_assert_str_eq (models[0].name, "iris");
    ck_assert_str_eq (models[0].description, "flower classifier");
    ck_assert_str_eq (models[0].tags, "team=botany");
    maas_registry_models_free (&models, count);
    ck_assert_int_eq (maas_registry_search (s_reg, "d*", NULL, 0, &models, &count), 0);
    ck_assert_uint_eq (count, 1);
    ck_assert_str_eq (models[0].name, "digits");
    maas_registry_models_free (&models, count);
    ck_assert_int_eq (
        maas_registry_search (s_reg, "*", (const char *[]){"team=bot"}, 1, &models, &count), 0);
    ck_assert_uint_eq (count, 0);
    maas_registry_models_free (&models, count);
}
END_TEST

//  The weights hash is recorded per version: the same weights published
//  with other metadata have another file sha256 but the same weights hash.
START_TEST (test_weights_hash_recorded)
{
    size_t size_a, size_b;
    uint8_t *a = s_blob ("same", &size_a), *b = s_blob ("same", &size_b);
    maas_model_t *model = maas_model_decode (b, size_b, NULL);
    ck_assert_int_eq (maas_model_meta_set_str (model, "job_id", "second run"), 0);
    free (b);
    ck_assert_int_eq (maas_model_encode (model, &b, &size_b, NULL), 0);
    char expected[65];
    maas_model_weights_sha256 (model, expected);
    maas_model_destroy (&model);
    maas_registry_meta_t meta = {0};
    uint64_t v1, v2;
    ck_assert_int_eq (maas_registry_publish (s_reg, "iris", a, size_a, &meta, &v1, NULL), 0);
    ck_assert_int_eq (maas_registry_publish (s_reg, "iris", b, size_b, &meta, &v2, NULL), 0);
    maas_registry_info_t one, two;
    ck_assert_int_eq (maas_registry_info (s_reg, "iris", v1, &one), 0);
    ck_assert_int_eq (maas_registry_info (s_reg, "iris", v2, &two), 0);
    ck_assert_str_ne (one.sha256, two.sha256);
    ck_assert_str_eq (one.weights_sha256, two.weights_sha256);
    ck_assert_str_eq (one.weights_sha256, expected);
    maas_registry_info_clear (&one);
    maas_registry_info_clear (&two);
    maas_registry_model_t *models;
    size_t count;
    ck_assert_int_eq (maas_registry_list (s_reg, &models, &count), 0);
    ck_assert_str_eq (models[0].weights_sha256, expected);
    maas_registry_models_free (&models, count);
    free (a);
    free (b);
}
END_TEST

//  -- aliases

START_TEST (test_alias_resolves_and_moves)
{
    s_publish (s_reg, "iris", "a", NULL);
    s_publish (s_reg, "iris", "b", NULL);
    ck_assert_int_eq (maas_registry_alias (s_reg, "iris", "production", 1), 0);
    uint64_t version;
    ck_assert_int_eq (maas_registry_resolve (s_reg, "iris", "production", &version), 0);
    ck_assert_uint_eq (version, 1);
    ck_assert_int_eq (maas_registry_alias (s_reg, "iris", "production", 2), 0);
    ck_assert_int_eq (maas_registry_resolve (s_reg, "iris", "production", &version), 0);
    ck_assert_uint_eq (version, 2);
    s_assert_error (maas_registry_alias (s_reg, "iris", "production", 9), "has no version 9");
    ck_assert_int_eq (maas_registry_resolve (s_reg, "iris", "production", &version), 0);
    ck_assert_uint_eq (version, 2);
    s_assert_error (maas_registry_alias (s_reg, "iris", "latest", 1), "not 'latest'");
    s_assert_error (maas_registry_alias (s_reg, "nosuch", "production", 1), "unknown model nosuch");
    ck_assert_int_eq (maas_registry_unalias (s_reg, "iris", "production"), 0);
    s_assert_error (maas_registry_resolve (s_reg, "iris", "production", &version),
                    "model iris has no alias 'production'");
    s_assert_error (maas_registry_unalias (s_reg, "iris", "production"), "no alias");
}
END_TEST

//  A child moves an alias back and forth between 1 and 2 while the parent
//  resolves it: every resolution sees one of the two, never a gap.
//  Every alias move is recorded, newest first, with who made it.
START_TEST (test_alias_history)
{
    s_publish (s_reg, "iris", "a", NULL);
    s_publish (s_reg, "iris", "b", NULL);
    ck_assert_int_eq (maas_registry_alias (s_reg, "iris", "production", 1), 0);
    maas_registry_set_actor (s_reg, "job 01JTEST");
    ck_assert_int_eq (maas_registry_alias (s_reg, "iris", "production", 2), 0);
    ck_assert_int_eq (maas_registry_alias (s_reg, "iris", "production", 2), 0);    //  no move
    ck_assert_int_eq (maas_registry_alias (s_reg, "iris", "staging", 1), 0);
    ck_assert_int_eq (maas_registry_delete (s_reg, "iris", 2, true), 0);
    maas_registry_move_t *moves;
    size_t count;
    ck_assert_int_eq (maas_registry_history (s_reg, "iris", "production", &moves, &count), 0);
    ck_assert_uint_eq (count, 3);
    ck_assert_uint_eq (moves[0].from, 2);    //  the forced delete unaliased it
    ck_assert_uint_eq (moves[0].to, 0);
    ck_assert_uint_eq (moves[1].from, 1);
    ck_assert_uint_eq (moves[1].to, 2);
    ck_assert_str_eq (moves[1].who, "job 01JTEST");
    ck_assert_uint_eq (moves[2].from, 0);
    ck_assert_uint_eq (moves[2].to, 1);
    ck_assert (strchr (moves[2].who, '@'));    //  user@host by default
    ck_assert (moves[2].at_ms > 1700000000000LL && moves[0].at_ms >= moves[2].at_ms);
    free (moves);
    ck_assert_int_eq (maas_registry_history (s_reg, "iris", NULL, &moves, &count), 0);
    ck_assert_uint_eq (count, 4);
    free (moves);
    s_assert_error (maas_registry_history (s_reg, "nosuch", NULL, &moves, &count),
                    "unknown model nosuch");
}
END_TEST

START_TEST (test_alias_moves_are_atomic)
{
    s_publish (s_reg, "iris", "a", NULL);
    s_publish (s_reg, "iris", "b", NULL);
    ck_assert_int_eq (maas_registry_alias (s_reg, "iris", "production", 1), 0);
    pid_t child = fork ();
    ck_assert_int_ge (child, 0);
    if (child == 0) {
        maas_registry_destroy (&s_reg);    //  the child's copy of the parent's
        maas_err_t err;
        maas_registry_t *reg = maas_registry_new (support_redis_url (s_redis), NULL, &err);
        int failures = reg ? 0 : 1;
        for (int i = 0; reg && i < 400; i++)
            failures += maas_registry_alias (reg, "iris", "production", 1 + i % 2) != 0;
        maas_registry_destroy (&reg);
        _exit (failures ? 1 : 0);
    }
    int seen[3] = {0};
    for (int i = 0; i < 400; i++) {
        uint64_t version = 0;
        ck_assert_int_eq (maas_registry_resolve (s_reg, "iris", "production", &version), 0);
        ck_assert (version == 1 || version == 2);
        seen[version]++;
    }
    int status;
    ck_assert_int_eq (waitpid (child, &status, 0), child);
    ck_assert (WIFEXITED (status) && WEXITSTATUS (status) == 0);
    ck_assert_int_eq (seen[1] + seen[2], 400);
}
END_TEST

START_TEST (test_delete_aliased_refused_unless_forced)
{
    s_publish (s_reg, "iris", "a", NULL);
    s_publish (s_reg, "iris", "b", NULL);
    ck_assert_int_eq (maas_registry_alias (s_reg, "iris", "production", 1), 0);
    ck_assert_int_eq (maas_registry_alias (s_reg, "iris", "staging", 1), 0);
    s_assert_error (maas_registry_delete (s_reg, "iris", 1, false), "aliased by");
    ck_assert (strstr (maas_registry_error (s_reg), "production"));
    ck_assert (strstr (maas_registry_error (s_reg), "staging"));
    uint64_t version;
    ck_assert_int_eq (maas_registry_resolve (s_reg, "iris", "1", &version), 0);
    ck_assert_int_eq (maas_registry_delete (s_reg, "iris", 1, true), 0);
    s_assert_error (maas_registry_resolve (s_reg, "iris", "production", &version), "no alias");
    s_assert_error (maas_registry_resolve (s_reg, "iris", "1", &version), "no version 1");
    s_assert_error (maas_registry_delete (s_reg, "iris", 1, false), "no version 1");
}
END_TEST

//  -- concurrency

#define S_PUBLISHERS 4
#define S_EACH       25

//  Child: publish S_EACH versions, write each number to FD, exit.
static void
s_publisher_child (const char *url, int fd)
{
    maas_err_t err;
    maas_registry_t *reg = maas_registry_new (url, NULL, &err);
    maas_registry_meta_t meta = {0};
    size_t size;
    uint8_t *blob = s_blob ("shared", &size);
    int code = reg ? 0 : 1;
    for (int i = 0; reg && i < S_EACH; i++) {
        uint64_t version;
        if (maas_registry_publish (reg, "shared", blob, size, &meta, &version, NULL) != 0
            || write (fd, &version, sizeof version) != sizeof version)
            code = 1;
    }
    maas_registry_destroy (&reg);
    free (blob);
    _exit (code);
}

START_TEST (test_concurrent_publishes_get_distinct_versions)
{
    int fds[2];
    ck_assert_int_eq (pipe (fds), 0);
    pid_t children[S_PUBLISHERS];
    for (int i = 0; i < S_PUBLISHERS; i++) {
        children[i] = fork ();
        ck_assert_int_ge (children[i], 0);
        if (children[i] == 0) {
            maas_registry_destroy (&s_reg);
            close (fds[0]);
            s_publisher_child (support_redis_url (s_redis), fds[1]);
        }
    }
    close (fds[1]);
    bool seen[S_PUBLISHERS * S_EACH + 1] = {false};
    uint64_t version;
    int got = 0;
    while (read (fds[0], &version, sizeof version) == sizeof version) {
        ck_assert (version >= 1 && version <= S_PUBLISHERS * S_EACH);
        ck_assert_msg (!seen[version], "version %" PRIu64 " published twice", version);
        seen[version] = true;
        got++;
    }
    close (fds[0]);
    for (int i = 0; i < S_PUBLISHERS; i++) {
        int status;
        ck_assert_int_eq (waitpid (children[i], &status, 0), children[i]);
        ck_assert (WIFEXITED (status) && WEXITSTATUS (status) == 0);
    }
    ck_assert_int_eq (got, S_PUBLISHERS * S_EACH);
    ck_assert_int_eq (maas_registry_resolve (s_reg, "shared", NULL, &version), 0);
    ck_assert_uint_eq (version, S_PUBLISHERS * S_EACH);
}
END_TEST

//  -- announcements

START_TEST (test_changes_are_announced)
{
    maas_err_t err;
    maas_registry_watch_t *watch =
        maas_registry_watch_new (support_redis_url (s_redis), NULL, &err);
    ck_assert_msg (watch, "%s", err.text);
    ck_assert_int_ge (maas_registry_watch_fd (watch), 0);
    maas_registry_event_t event;
    ck_assert_int_eq (maas_registry_watch_next (watch, &event, 0), 0);
    s_publish (s_reg, "iris", "a", NULL);
    ck_assert_int_eq (maas_registry_alias (s_reg, "iris", "production", 1), 0);
    ck_assert_int_eq (maas_registry_delete (s_reg, "iris", 1, true), 0);
    ck_assert_int_eq (maas_registry_watch_next (watch, &event, 2000), 1);
    ck_assert_int_eq (event.type, MAAS_REGISTRY_EV_PUBLISH);
    ck_assert_str_eq (event.name, "iris");
    ck_assert_uint_eq (event.version, 1);
    ck_assert_int_eq (maas_registry_watch_next (watch, &event, 2000), 1);
    ck_assert_int_eq (event.type, MAAS_REGISTRY_EV_ALIAS);
    ck_assert_str_eq (event.alias, "production");
    ck_assert_uint_eq (event.version, 1);
    ck_assert_int_eq (maas_registry_watch_next (watch, &event, 2000), 1);
    ck_assert_int_eq (event.type, MAAS_REGISTRY_EV_UNALIAS);
    ck_assert_str_eq (event.alias, "production");
    ck_assert_int_eq (maas_registry_watch_next (watch, &event, 2000), 1);
    ck_assert_int_eq (event.type, MAAS_REGISTRY_EV_DELETE);
    ck_assert_uint_eq (event.version, 1);
    ck_assert_int_eq (maas_registry_watch_next (watch, &event, 50), 0);
    support_redis_kill (s_redis);
    ck_assert_int_eq (maas_registry_watch_next (watch, &event, 2000), -1);
    maas_registry_watch_destroy (&watch);
    ck_assert_ptr_null (watch);
    support_redis_restart (s_redis);
}
END_TEST

START_TEST (test_event_parse_rejects_garbage)
{
    maas_registry_event_t event;
    const char *bad[] = {"",
                         "publish",
                         "publish iris",
                         "publish iris x",
                         "alias iris 3",
                         "alias iris production",
                         "unalias iris",
                         "frobnicate iris 3",
                         "publish {bad} 3",
                         "delete iris 0"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        ck_assert_msg (maas_registry_event_parse (&event, bad[i], strlen (bad[i])) == -1,
                       "accepted '%s'", bad[i]);
    const char *good = "alias iris canary 12";
    ck_assert_int_eq (maas_registry_event_parse (&event, good, strlen (good)), 0);
    ck_assert_uint_eq (event.version, 12);
}
END_TEST

//  -- errors

START_TEST (test_bad_input_refused)
{
    maas_registry_meta_t meta = {0};
    uint64_t version;
    s_assert_error (maas_registry_publish (s_reg, "a b", "x", 1, &meta, &version, NULL),
                    "a name is");
    s_assert_error (maas_registry_publish (s_reg, "", "x", 1, &meta, &version, NULL), "a name is");
    s_assert_error (maas_registry_publish (s_reg, "ok", "x", 0, &meta, &version, NULL),
                    "blob of 0 bytes");
    s_assert_error (maas_registry_publish (s_reg, "ok", "junk", 4, &meta, &version, NULL),
                    "model ok: not a valid model file");
    //  Over the limit: refused on its size alone, before a byte is read, with
    //  the message a train job's check gives (maas_registry_size_check).
    maas_err_t why;
    ck_assert_int_eq (maas_registry_size_check ("ok", MAAS_REGISTRY_BLOB_MAX + 1, &why), -1);
    ck_assert_int_eq (maas_registry_size_check ("ok", MAAS_REGISTRY_BLOB_MAX, &why), 0);
    s_assert_error (
        maas_registry_publish (s_reg, "ok", "x", MAAS_REGISTRY_BLOB_MAX + 1, &meta, &version, NULL),
        "model ok: 268435457 bytes is over the registry's limit of 268435456 bytes");
    s_assert_error (maas_registry_resolve (s_reg, "nosuch", NULL, &version),
                    "unknown model nosuch");
    s_assert_error (maas_registry_resolve (s_reg, "nosuch", "prod", &version),
                    "unknown model nosuch");
    s_publish (s_reg, "iris", "a", NULL);
    s_assert_error (maas_registry_resolve (s_reg, "iris", "7", &version),
                    "model iris has no version 7");
    s_assert_error (maas_registry_resolve (s_reg, "iris", "0", &version), "not a number >= 1");
    maas_registry_info_t info;
    s_assert_error (maas_registry_info (s_reg, "iris", 7, &info), "has no version 7");
    uint8_t *blob;
    size_t size;
    s_assert_error (maas_registry_fetch (s_reg, "iris", 7, &blob, &size, NULL), "has no version 7");
    ck_assert_ptr_null (blob);
}
END_TEST

START_TEST (test_corrupted_blob_detected)
{
    s_publish (s_reg, "iris", "the real blob", NULL);
    redisContext *ctx = redisConnectUnix (support_redis_socket (s_redis));
    freeReplyObject (redisCommand (ctx, "HSET maas:model:{iris}:v1 blob %s", "tampered"));
    redisFree (ctx);
    uint8_t *blob;
    size_t size;
    s_assert_error (maas_registry_fetch (s_reg, "iris", 1, &blob, &size, NULL),
                    "model iris@1: stored blob fails its sha256 check");
    ck_assert_ptr_null (blob);
}
END_TEST

START_TEST (test_dead_redis_then_back)
{
    s_publish (s_reg, "iris", "a", NULL);
    support_redis_kill (s_redis);
    uint64_t version;
    ck_assert_int_eq (maas_registry_resolve (s_reg, "iris", NULL, &version), -1);
    ck_assert_int_eq (maas_registry_resolve (s_reg, "iris", NULL, &version), -1);
    ck_assert (strstr (maas_registry_error (s_reg), "redis"));
    support_redis_restart (s_redis);
    //  The restarted server is empty (no persistence): reconnecting works.
    s_assert_error (maas_registry_resolve (s_reg, "iris", NULL, &version), "unknown model");
    ck_assert_uint_eq (s_publish (s_reg, "iris", "a", NULL), 1);
    maas_err_t err;
    support_redis_kill (s_redis);
    ck_assert_ptr_null (maas_registry_new (support_redis_url (s_redis), NULL, &err));
    ck_assert (strstr (err.text, "redis"));
    support_redis_restart (s_redis);
}
END_TEST

//  A normal restart (SIGTERM, the same server again with its AOF) between
//  two calls on one registry: the next call reconnects and finds the data.
START_TEST (test_redis_restart_between_calls)
{
    support_redis_t *redis = support_redis_start_aof ();
    maas_registry_t *reg = support_registry_new (redis);
    ck_assert_uint_eq (s_publish (reg, "iris", "a", "job-1"), 1);
    support_redis_bounce (redis);
    uint64_t version = 0;
    ck_assert_msg (maas_registry_resolve (reg, "iris", NULL, &version) == 0, "%s",
                   maas_registry_error (reg));
    ck_assert_uint_eq (version, 1);
    support_redis_bounce (redis);
    ck_assert_uint_eq (s_publish (reg, "iris", "b", "job-2"), 2);
    maas_registry_destroy (&reg);
    support_redis_stop (&redis);
}
END_TEST

//  -- the real `maas` binary

//  Run `maas model ARGS` (a shell fragment) against the test Redis, stdout
//  into DIR/out and stderr into DIR/err. Returns the exit code.
static int
s_cli (const char *dir, const char *args)
{
    char *maas = support_build_path ("client/maas"), *script = NULL;
    ck_assert (asprintf (&script, "cd %s && %s model %s --redis %s >out 2>err", dir, maas, args,
                         support_redis_url (s_redis))
               > 0);
    const char *argv[] = {"/bin/sh", "-c", script, NULL};
    support_proc_t *proc = support_proc_start (argv, NULL, NULL);
    int code = support_proc_wait (proc, 20000);
    support_proc_stop (&proc);
    free (script);
    free (maas);
    return code;
}

//  Contents of DIR/NAME (caller frees).
static char *
s_slurp (const char *dir, const char *name)
{
    char *path = NULL, *text = calloc (1, 65536);
    ck_assert (asprintf (&path, "%s/%s", dir, name) > 0);
    FILE *file = fopen (path, "rb");
    ck_assert_msg (file, "no %s", path);
    size_t got = fread (text, 1, 65535, file);
    text[got] = 0;
    fclose (file);
    free (path);
    return text;
}

static void
s_assert_out (const char *dir, const char *name, const char *expected)
{
    char *text = s_slurp (dir, name);
    ck_assert_msg (strstr (text, expected), "%s: '%s' lacks '%s'", name, text, expected);
    free (text);
}

//  Who moved an alias: the library's default is the uid's login name, not
//  $USER (libmaas reads no environment); a caller names the user, as `maas
//  model` does with its $USER.
START_TEST (test_actor_user)
{
    setenv ("USER", "envuser", 1);    //  this test's process only (fork mode)
    s_publish (s_reg, "who", "a", NULL);
    maas_registry_set_user (s_reg, NULL);
    ck_assert_int_eq (maas_registry_alias (s_reg, "who", "production", 1), 0);
    maas_registry_set_user (s_reg, "ana");
    ck_assert_int_eq (maas_registry_alias (s_reg, "who", "staging", 1), 0);
    maas_registry_move_t *moves;
    size_t count;
    ck_assert_int_eq (maas_registry_history (s_reg, "who", "production", &moves, &count), 0);
    ck_assert_uint_eq (count, 1);
    ck_assert_msg (strchr (moves[0].who, '@') && strncmp (moves[0].who, "envuser@", 8) != 0, "%s",
                   moves[0].who);
    free (moves);
    ck_assert_int_eq (maas_registry_history (s_reg, "who", "staging", &moves, &count), 0);
    ck_assert_uint_eq (count, 1);
    ck_assert_msg (strncmp (moves[0].who, "ana@", 4) == 0, "%s", moves[0].who);
    free (moves);
    //  The CLI records its $USER.
    char *dir = support_tempdir_new ("cli-user"), out[600];
    ck_assert_int_eq (s_cli (dir, "alias who canary 1"), 0);
    ck_assert_int_eq (s_cli (dir, "history who canary --json"), 0);
    snprintf (out, sizeof out, "%s/out", dir);
    ck_assert (support_file_has (out, "\"who\":\"envuser@"));
    support_tempdir_remove (&dir);
}
END_TEST

START_TEST (test_cli_round_trip)
{
    char *dir = support_tempdir_new ("cli");
    char *path = NULL;
    ck_assert (asprintf (&path, "%s/model.bin", dir) > 0);
    size_t size;
    uint8_t *blob = s_blob ("cli", &size);
    FILE *file = fopen (path, "wb");
    ck_assert_uint_eq (fwrite (blob, 1, size, file), size);
    fclose (file);
    char bytes[32];
    snprintf (bytes, sizeof bytes, "\"bytes\":%zu", size);
    ck_assert_int_eq (s_cli (dir, "publish iris model.bin --job j1 --description 'first one'"), 0);
    s_assert_out (dir, "out", "iris@1");
    ck_assert_int_eq (s_cli (dir, "publish iris model.bin --job j1 --json"), 0);
    s_assert_out (dir, "out", "{\"model\":\"iris\",\"version\":1,\"created\":false}");
    ck_assert_int_eq (s_cli (dir, "publish iris model.bin --tags 'a,b'"), 0);
    ck_assert_int_eq (s_cli (dir, "alias iris production 1"), 0);
    ck_assert_int_eq (s_cli (dir, "list"), 0);
    s_assert_out (dir, "out", "production=1");
    ck_assert_int_eq (s_cli (dir, "list --json"), 0);
    s_assert_out (dir, "out", "\"latest\":2,\"versions\":2");
    ck_assert_int_eq (s_cli (dir, "show iris@production --json"), 0);
    s_assert_out (dir, "out", "\"version\":1,");
    s_assert_out (dir, "out", bytes);
    s_assert_out (dir, "out", "\"inputs\":4,\"outputs\":3");
    s_assert_out (dir, "out", "\"aliases\":[\"production\"]");
    s_assert_out (dir, "out", "\"description\":\"first one\"");
    ck_assert_int_eq (s_cli (dir, "show iris"), 0);
    s_assert_out (dir, "out", "iris@2");
    ck_assert_int_eq (s_cli (dir, "rm iris@1"), 1);
    s_assert_out (dir, "err", "is aliased by production");
    ck_assert_int_eq (s_cli (dir, "export iris@1 copy.bin"), 0);
    ck_assert_int_eq (s_cli (dir, "rm iris@1 --force"), 0);
    ck_assert_int_eq (s_cli (dir, "show iris@1"), 1);
    s_assert_out (dir, "err", "model iris has no version 1");
    ck_assert_int_eq (s_cli (dir, "show nosuch@production"), 1);
    s_assert_out (dir, "err", "unknown model nosuch");
    ck_assert_int_eq (s_cli (dir, "frobnicate"), 2);
    char *original = s_slurp (dir, "model.bin"), *copy = s_slurp (dir, "copy.bin");
    ck_assert (memcmp (original, copy, size) == 0);
    free (blob);
    free (original);
    free (copy);
    free (path);
    support_tempdir_remove (&dir);
}
END_TEST

//  Write the blob labelled LABEL to DIR/FILE.
static void
s_write_blob (const char *dir, const char *file, const char *label)
{
    char *path = NULL;
    ck_assert (asprintf (&path, "%s/%s", dir, file) > 0);
    size_t size;
    uint8_t *blob = s_blob (label, &size);
    FILE *out = fopen (path, "wb");
    ck_assert_uint_eq (fwrite (blob, 1, size, out), size);
    fclose (out);
    free (blob);
    free (path);
}

//  describe, tag, untag, search, versions, history, rm NAME and the MLflow
//  reference spellings, as a user types them.
START_TEST (test_cli_mlflow_verbs)
{
    char *dir = support_tempdir_new ("cli-mlflow");
    s_write_blob (dir, "a.bin", "a");
    s_write_blob (dir, "b.bin", "b");
    ck_assert_int_eq (s_cli (dir, "publish iris a.bin"), 0);
    ck_assert_int_eq (s_cli (dir, "publish iris b.bin"), 0);
    ck_assert_int_eq (s_cli (dir, "publish digits a.bin"), 0);
    ck_assert_int_eq (s_cli (dir, "describe iris 'flower classifier'"), 0);
    s_assert_out (dir, "out", "described iris");
    ck_assert_int_eq (s_cli (dir, "describe iris/1 'first cut' --json"), 0);
    s_assert_out (dir, "out", "{\"model\":\"iris\",\"version\":1,\"description\":\"first cut\"}");
    ck_assert_int_eq (s_cli (dir, "tag iris team=botany owner=ana"), 0);
    s_assert_out (dir, "out", "tagged iris owner=ana");
    ck_assert_int_eq (s_cli (dir, "tag models:/iris/2 stage=candidate"), 0);
    ck_assert_int_eq (s_cli (dir, "untag iris owner"), 0);
    ck_assert_int_eq (s_cli (dir, "untag iris owner"), 1);
    s_assert_out (dir, "err", "no tag 'owner' on iris");
    ck_assert_int_eq (s_cli (dir, "tag iris nokey"), 2);
    ck_assert_int_eq (s_cli (dir, "search --tag team=botany"), 0);
    s_assert_out (dir, "out", "flower classifier");
    ck_assert_int_eq (s_cli (dir, "search --name 'd*' --json"), 0);
    char *out = s_slurp (dir, "out");
    ck_assert_msg (strstr (out, "\"name\":\"digits\"") && !strstr (out, "iris"), "%s", out);
    free (out);
    ck_assert_int_eq (s_cli (dir, "show models:/iris/2 --json"), 0);
    s_assert_out (dir, "out", "\"tag_values\":{\"stage\":\"candidate\"}");
    s_assert_out (dir, "out", "\"weights_sha256\":\"");
    ck_assert_int_eq (s_cli (dir, "alias iris production 1"), 0);
    ck_assert_int_eq (s_cli (dir, "alias iris production 2"), 0);
    ck_assert_int_eq (s_cli (dir, "show models:/iris@production"), 0);
    s_assert_out (dir, "out", "model        iris@2");
    s_assert_out (dir, "out", "tags         stage=candidate");
    ck_assert_int_eq (s_cli (dir, "history iris production"), 0);
    s_assert_out (dir, "out", " 1        2        ");
    s_assert_out (dir, "out", " -        1        ");
    ck_assert_int_eq (s_cli (dir, "history iris production --json"), 0);
    s_assert_out (dir, "out", "\"from\":1,\"to\":2,\"who\":\"");
    ck_assert_int_eq (s_cli (dir, "versions iris"), 0);
    s_assert_out (dir, "out", "VERSION  CREATED");
    ck_assert_int_eq (s_cli (dir, "versions iris --json"), 0);
    s_assert_out (dir, "out", "{\"model\":\"iris\",\"versions\":[{\"version\":1,");
    s_assert_out (dir, "out", "\"aliases\":\"production\"}]}");
    ck_assert_int_eq (s_cli (dir, "rm iris"), 1);
    s_assert_out (dir, "err", "has aliases production");
    ck_assert_int_eq (s_cli (dir, "rm iris --force"), 0);
    s_assert_out (dir, "out", "deleted iris@1\ndeleted iris@2\ndeleted model iris\n");
    ck_assert_int_eq (s_cli (dir, "list"), 0);
    out = s_slurp (dir, "out");
    ck_assert_msg (strstr (out, "digits") && !strstr (out, "iris"), "%s", out);
    free (out);
    ck_assert_int_eq (s_cli (dir, "versions iris"), 1);
    s_assert_out (dir, "err", "unknown model iris");
    support_tempdir_remove (&dir);
}
END_TEST

static Suite *
s_suite (void)
{
    Suite *suite = suite_create ("registry");
    TCase *core = tcase_create ("core");
    tcase_add_checked_fixture (core, s_setup, s_teardown);
    tcase_add_test (core, test_publish_numbers_versions);
    tcase_add_test (core, test_info_holds_metadata);
    tcase_add_test (core, test_publish_idempotent_on_job_id);
    tcase_add_test (core, test_delete_moves_latest_never_reuses);
    tcase_add_test (core, test_list_models);
    tcase_add_test (core, test_keys_use_hash_tags);
    tcase_add_test (core, test_ref_parse);
    tcase_add_test (core, test_delete_model_entirely);
    tcase_add_test (core, test_describe_tag_search);
    tcase_add_test (core, test_weights_hash_recorded);
    suite_add_tcase (suite, core);
    TCase *aliases = tcase_create ("aliases");
    tcase_add_checked_fixture (aliases, s_setup, s_teardown);
    tcase_add_test (aliases, test_alias_resolves_and_moves);
    tcase_add_test (aliases, test_alias_moves_are_atomic);
    tcase_add_test (aliases, test_alias_history);
    tcase_add_test (aliases, test_delete_aliased_refused_unless_forced);
    suite_add_tcase (suite, aliases);
    TCase *concurrency = tcase_create ("concurrency");
    tcase_add_checked_fixture (concurrency, s_setup, s_teardown);
    tcase_add_test (concurrency, test_concurrent_publishes_get_distinct_versions);
    suite_add_tcase (suite, concurrency);
    TCase *announce = tcase_create ("announce");
    tcase_add_checked_fixture (announce, s_setup, s_teardown);
    tcase_add_test (announce, test_changes_are_announced);
    tcase_add_test (announce, test_event_parse_rejects_garbage);
    suite_add_tcase (suite, announce);
    TCase *errors = tcase_create ("errors");
    tcase_add_checked_fixture (errors, s_setup, s_teardown);
    tcase_add_test (errors, test_bad_input_refused);
    tcase_add_test (errors, test_corrupted_blob_detected);
    tcase_add_test (errors, test_dead_redis_then_back);
    tcase_add_test (errors, test_redis_restart_between_calls);
    suite_add_tcase (suite, errors);
    TCase *cli = tcase_create ("cli");
    tcase_add_checked_fixture (cli, s_setup, s_teardown);
    tcase_add_test (cli, test_cli_round_trip);
    tcase_add_test (cli, test_actor_user);
    tcase_add_test (cli, test_cli_mlflow_verbs);
    suite_add_tcase (suite, cli);
    return suite;
}

int
main (void)
{
    return support_run (s_suite ());
}
