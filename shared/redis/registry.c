/*  registry.c: the model registry over synchronous hiredis. Every write is
 *  one Lua script touching only the keys of one model (hash tag {name}), so
 *  it is atomic and announces itself on the registry channel. */
#include "registry.h"
#include "clock.h"
#include "log.h"
#include "model.h"
#include "redis.h"
#include "signature.h"

#include <assert.h>
#include <ctype.h>
#include <errno.h>
#include <fnmatch.h>
#include <stdarg.h>
#include <hiredis/hiredis.h>
#include <inttypes.h>
#include <poll.h>
#include <pwd.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define S_PREFIX_MAX 64     //  longest key prefix accepted
#define S_KEY_MAX    256    //  room for prefix + model:{name}:suffix

struct _maas_registry_t {
    maas_redis_t *redis;    //  link to Redis, owned
    char *prefix;           //  key prefix ("maas:"), owned
    char *channel;          //  prefix + "registry", owned
    char actor[128];        //  who alias moves are recorded as (user@host, job id)
    maas_err_t err;         //  why the last call failed
};

//  Publish: KEYS model hash, versions zset, job index hash. ARGV version-key
//  prefix, channel, name, job id, blob, sha256, format, inputs, outputs,
//  size, created_ms, metrics, tags, description, weights_sha256. Version numbers come from
//  a counter that deletes never lower, so a (name, version) is never reused.
static const char s_publish_lua[] =
    "if ARGV[4] ~= '' then\n"
    "  local v = redis.call('HGET', KEYS[3], ARGV[4])\n"
    "  if v then return {tonumber(v), 0} end\n"
    "end\n"
    "local n = redis.call('HINCRBY', KEYS[1], 'next_version', 1)\n"
    "redis.call('HSET', ARGV[1] .. n, 'blob', ARGV[5], 'sha256', ARGV[6], 'format', ARGV[7],\n"
    "  'inputs', ARGV[8], 'outputs', ARGV[9], 'size', ARGV[10], 'created_ms', ARGV[11],\n"
    "  'metrics', ARGV[12], 'job_id', ARGV[4], 'tags', ARGV[13], 'description', ARGV[14],\n"
    "  'weights_sha256', ARGV[15])\n"
    "redis.call('ZADD', KEYS[2], n, n)\n"
    "redis.call('HSET', KEYS[1], 'latest', n, 'updated_ms', ARGV[11])\n"
    "redis.call('HSETNX', KEYS[1], 'created_ms', ARGV[11])\n"
    "if ARGV[14] ~= '' then redis.call('HSET', KEYS[1], 'description', ARGV[14]) end\n"
    "if ARGV[4] ~= '' then redis.call('HSET', KEYS[3], ARGV[4], n) end\n"
    "redis.call('PUBLISH', ARGV[2], 'publish ' .. ARGV[3] .. ' ' .. n)\n"
    "return {n, 1}\n";

//  The alias scripts share KEYS model hash, versions zset, aliases hash,
//  history list; ARGV channel, name, actor, now_ms, history cap, then their
//  own. moved() records one alias move, "MS ALIAS FROM TO WHO" (0: no
//  version), newest first, keeping the last `cap`.
#define S_ALIAS_PRELUDE                                                                            \
    "local function moved (alias, from, to)\n"                                                     \
    "  redis.call('LPUSH', KEYS[4], table.concat({ARGV[4], alias, from, to, ARGV[3]}, ' '))\n"     \
    "  redis.call('LTRIM', KEYS[4], 0, tonumber(ARGV[5]) - 1)\n"                                   \
    "end\n"

//  Alias: ARGV[6] alias, ARGV[7] version.
static const char s_alias_lua[] = S_ALIAS_PRELUDE
    "if redis.call('EXISTS', KEYS[1]) == 0 then\n"
    "  return redis.error_reply('unknown model ' .. ARGV[2]) end\n"
    "if not redis.call('ZSCORE', KEYS[2], ARGV[7]) then\n"
    "  return redis.error_reply('model ' .. ARGV[2] .. ' has no version ' .. ARGV[7]) end\n"
    "local from = redis.call('HGET', KEYS[3], ARGV[6]) or '0'\n"
    "if from ~= ARGV[7] then moved(ARGV[6], from, ARGV[7]) end\n"
    "redis.call('HSET', KEYS[3], ARGV[6], ARGV[7])\n"
    "redis.call('PUBLISH', ARGV[1], 'alias ' .. ARGV[2] .. ' ' .. ARGV[6] .. ' ' .. ARGV[7])\n"
    "return 1\n";

//  Unalias: ARGV[6] alias.
static const char s_unalias_lua[] = S_ALIAS_PRELUDE
    "local from = redis.call('HGET', KEYS[3], ARGV[6])\n"
    "if not from then\n"
    "  return redis.error_reply('model ' .. ARGV[2] .. \" has no alias '\" .. ARGV[6] .. \"'\")\n"
    "end\n"
    "redis.call('HDEL', KEYS[3], ARGV[6])\n"
    "moved(ARGV[6], from, '0')\n"
    "redis.call('PUBLISH', ARGV[1], 'unalias ' .. ARGV[2] .. ' ' .. ARGV[6])\n"
    "return 1\n";

//  Delete: KEYS[5] job index. ARGV[6] version key, ARGV[7] version, ARGV[8]
//  force ("1"). A forced delete unaliases (and records it) first.
static const char s_delete_lua[] = S_ALIAS_PRELUDE
    "if redis.call('EXISTS', KEYS[1]) == 0 then\n"
    "  return redis.error_reply('unknown model ' .. ARGV[2]) end\n"
    "if not redis.call('ZSCORE', KEYS[2], ARGV[7]) then\n"
    "  return redis.error_reply('model ' .. ARGV[2] .. ' has no version ' .. ARGV[7]) end\n"
    "local all = redis.call('HGETALL', KEYS[3])\n"
    "local held = {}\n"
    "for i = 1, #all, 2 do if all[i + 1] == ARGV[7] then held[#held + 1] = all[i] end end\n"
    "if #held > 0 and ARGV[8] ~= '1' then\n"
    "  return redis.error_reply('model ' .. ARGV[2] .. '@' .. ARGV[7] .. ' is aliased by '\n"
    "    .. table.concat(held, ', ') .. '; move the alias first or force the delete') end\n"
    "for _, a in ipairs(held) do\n"
    "  redis.call('HDEL', KEYS[3], a)\n"
    "  moved(a, ARGV[7], '0')\n"
    "  redis.call('PUBLISH', ARGV[1], 'unalias ' .. ARGV[2] .. ' ' .. a)\n"
    "end\n"
    "local job = redis.call('HGET', ARGV[6], 'job_id')\n"
    "if job and job ~= '' then redis.call('HDEL', KEYS[5], job) end\n"
    "redis.call('DEL', ARGV[6], ARGV[6] .. ':tags')\n"
    "redis.call('ZREM', KEYS[2], ARGV[7])\n"
    "local top = redis.call('ZRANGE', KEYS[2], -1, -1)\n"
    "redis.call('HSET', KEYS[1], 'latest', top[1] or 0)\n"
    "redis.call('PUBLISH', ARGV[1], 'delete ' .. ARGV[2] .. ' ' .. ARGV[7])\n"
    "return 1\n";

//  Delete a whole model: KEYS[5] job index, KEYS[6] model tags. ARGV[6]
//  version-key prefix, ARGV[7] force. Refused while aliased unless forced;
//  answers the versions deleted, each announced, and the aliases removed.
static const char s_delete_model_lua[] =
    "if redis.call('EXISTS', KEYS[1]) == 0 then\n"
    "  return redis.error_reply('unknown model ' .. ARGV[2]) end\n"
    "local aliases = redis.call('HKEYS', KEYS[3])\n"
    "if #aliases > 0 and ARGV[7] ~= '1' then\n"
    "  return redis.error_reply('model ' .. ARGV[2] .. ' has aliases ' .. table.concat(aliases,\n"
    "    ', ') .. '; remove them first or force the delete') end\n"
    "for _, a in ipairs(aliases) do\n"
    "  redis.call('PUBLISH', ARGV[1], 'unalias ' .. ARGV[2] .. ' ' .. a) end\n"
    "local versions = redis.call('ZRANGE', KEYS[2], 0, -1)\n"
    "for _, v in ipairs(versions) do\n"
    "  redis.call('DEL', ARGV[6] .. v, ARGV[6] .. v .. ':tags')\n"
    "  redis.call('PUBLISH', ARGV[1], 'delete ' .. ARGV[2] .. ' ' .. v)\n"
    "end\n"
    "redis.call('DEL', KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6])\n"
    "return versions\n";

//  Edit a description or tag: KEYS model hash, versions zset, target hash
//  (model hash, version hash, or a tags hash). ARGV name, version ("0" for
//  the model itself), field, value, "del" to remove the field instead.
static const char s_edit_lua[] =
    "if redis.call('EXISTS', KEYS[1]) == 0 then\n"
    "  return redis.error_reply('unknown model ' .. ARGV[1]) end\n"
    "if ARGV[2] ~= '0' and not redis.call('ZSCORE', KEYS[2], ARGV[2]) then\n"
    "  return redis.error_reply('model ' .. ARGV[1] .. ' has no version ' .. ARGV[2]) end\n"
    "if ARGV[5] == 'del' then\n"
    "  if redis.call('HDEL', KEYS[3], ARGV[3]) == 0 then\n"
    "    return redis.error_reply(\"no tag '\" .. ARGV[3] .. \"' on \" .. ARGV[1]\n"
    "      .. (ARGV[2] ~= '0' and ('@' .. ARGV[2]) or '')) end\n"
    "else redis.call('HSET', KEYS[3], ARGV[3], ARGV[4]) end\n"
    "return 1\n";

//  -- names and references

static bool
s_name_chars_ok (const char *name)
{
    size_t len = name ? strlen (name) : 0;
    if (len == 0 || len > MAAS_REGISTRY_NAME_MAX || !isalnum ((unsigned char) name[0]))
        return false;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char) name[i];
        if (!isalnum (c) && c != '.' && c != '_' && c != '-')
            return false;
    }
    return true;
}

bool
maas_registry_name_valid (const char *name)
{
    return s_name_chars_ok (name);
}

bool
maas_registry_alias_valid (const char *alias)
{
    return s_name_chars_ok (alias) && isalpha ((unsigned char) alias[0])
        && strcmp (alias, "latest") != 0;
}

static bool
s_all_digits (const char *text)
{
    if (!*text)
        return false;
    for (; *text; text++)
        if (!isdigit ((unsigned char) *text))
            return false;
    return true;
}

//  Parse a decimal version >= 1; 0 when TEXT is not one.
static uint64_t
s_parse_version (const char *text)
{
    if (!text || !s_all_digits (text) || strlen (text) > 18)
        return 0;
    return strtoull (text, NULL, 10);
}

//  MLflow's spellings: "models:/NAME@ALIAS", "models:/NAME/VER" and
//  "NAME/VER" become "NAME@ALIAS" and "NAME@VER" in OUT. -1 when SPEC is
//  too long to be a reference.
static int
s_ref_normalise (const char *spec, char *out, size_t size)
{
    if (strncmp (spec, "models:/", 8) == 0)
        spec += 8;
    if (strlen (spec) >= size)
        return -1;
    snprintf (out, size, "%s", spec);
    char *slash = strchr (out, '/');
    if (slash && !strchr (out, '@'))
        *slash = '@';
    return 0;
}

//  What follows the name in GIVEN: REF after '/' (SLASHED) must be a
//  version number, after '@' (AT) a version, an alias or 'latest'.
static int
s_ref_tail_check (const char *given, const char *ref, bool slashed, bool at, maas_err_t *err)
{
    if (slashed && !s_parse_version (ref)) {
        maas_err_set (err, MAAS_ERR_INPUT, "model '%s': after '/' comes a version number (1, 2...)",
                      given);
        return -1;
    }
    if (at
        && !(s_parse_version (ref) || maas_registry_alias_valid (ref)
             || strcmp (ref, "latest") == 0)) {
        maas_err_set (err, MAAS_ERR_INPUT,
                      "model '%s': after '@' comes a version (1, 2...), an alias or 'latest'",
                      given);
        return -1;
    }
    return 0;
}

int
maas_registry_ref_parse (maas_registry_ref_t *self, const char *spec, maas_err_t *err)
{
    memset (self, 0, sizeof *self);
    const char *given = spec;
    char plain[2 * MAAS_REGISTRY_NAME_MAX + 8];
    if (s_ref_normalise (given, plain, sizeof plain) != 0) {
        maas_err_set (err, MAAS_ERR_INPUT, "model '%.80s...': name longer than %d characters",
                      given, MAAS_REGISTRY_NAME_MAX);
        return -1;
    }
    spec = plain;
    bool slashed = strchr (given + (strncmp (given, "models:/", 8) == 0 ? 8 : 0), '/') != NULL;
    const char *at = strchr (spec, '@');
    size_t name_len = at ? (size_t) (at - spec) : strlen (spec);
    if (name_len > MAAS_REGISTRY_NAME_MAX) {
        maas_err_set (err, MAAS_ERR_INPUT, "model '%s': name longer than %d characters", spec,
                      MAAS_REGISTRY_NAME_MAX);
        return -1;
    }
    memcpy (self->name, spec, name_len);
    if (!maas_registry_name_valid (self->name)) {
        maas_err_set (err, MAAS_ERR_INPUT,
                      "model '%s': a name is letters, digits, '.', '_' or '-' and starts with "
                      "a letter or digit",
                      spec);
        return -1;
    }
    const char *ref = at ? at + 1 : "";
    if (s_ref_tail_check (given, ref, slashed, at != NULL, err) != 0)
        return -1;
    snprintf (self->ref, sizeof self->ref, "%s", ref);
    return 0;
}

int
maas_registry_size_check (const char *name, size_t bytes, maas_err_t *err)
{
    if (bytes <= MAAS_REGISTRY_BLOB_MAX)
        return 0;
    maas_err_set (err, MAAS_ERR_INPUT,
                  "model %s: %zu bytes is over the registry's limit of %zu bytes (%zu MiB; "
                  "docs/model-format.md, Limits)",
                  name, bytes, MAAS_REGISTRY_BLOB_MAX, MAAS_REGISTRY_BLOB_MAX >> 20);
    return -1;
}

void
maas_registry_sha256_hex (const void *data, size_t size, char hex[65])
{
    unsigned char digest[crypto_hash_sha256_BYTES];
    crypto_hash_sha256 (digest, data, size);
    sodium_bin2hex (hex, 65, digest, sizeof digest);
}

//  -- connection and commands

//  Whether a command can be sent again when its connection broke before
//  the reply (it may have run): reads and SADD; of the scripts, alias, and
//  publish under a train job id (it answers the version made the first
//  time). Not publish without a job id, unalias or delete.
static bool
s_repeatable (int argc, const char **argv)
{
    if (strcmp (argv[0], "EVAL") != 0)
        return true;
    return argv[1] == s_alias_lua || (argv[1] == s_publish_lua && argc > 9 && argv[9][0]);
}

//  Run one command (binary-safe) over the link; scripts (writes) ask
//  Sentinel where the master is first. Returns the reply (caller frees),
//  or NULL with self->err set on a connection failure or an error reply
//  (a Lua error_reply text is ours, so it is the message as it is).
static redisReply *
s_command (maas_registry_t *self, int argc, const char **argv, const size_t *lens)
{
    if (maas_redis_ready (self->redis, strcmp (argv[0], "EVAL") == 0) == 0) {
        redisReply *reply =
            maas_redis_command (self->redis, s_repeatable (argc, argv), argc, argv, lens);
        if (reply)
            return reply;
    }
    const maas_err_t *why = maas_redis_err (self->redis);
    if (why->code == MAAS_ERR_REPLY)
        maas_err_copy (&self->err, why);
    else
        maas_err_set (&self->err, why->code, "registry: %s", why->text);
    maas_debug ("registry", "failed reason=\"%s\"", self->err.text);
    return NULL;
}

//  Same for a command of plain strings, NULL-terminated.
static redisReply *
s_commandv (maas_registry_t *self, const char **argv)
{
    int argc = 0;
    size_t lens[24];
    for (; argv[argc]; argc++) {
        assert (argc < 24);
        lens[argc] = strlen (argv[argc]);
    }
    return s_command (self, argc, argv, lens);
}

//  "maas:model:{NAME}" + SUFFIX into KEY.
static void
s_key (const maas_registry_t *self, char key[S_KEY_MAX], const char *name, const char *suffix)
{
    snprintf (key, S_KEY_MAX, "%smodel:{%s}%s", self->prefix, name, suffix);
}

static void
s_version_key (const maas_registry_t *self, char key[S_KEY_MAX], const char *name, uint64_t version)
{
    snprintf (key, S_KEY_MAX, "%smodel:{%s}:v%" PRIu64, self->prefix, name, version);
}

static int
s_check_name (maas_registry_t *self, const char *name)
{
    if (maas_registry_name_valid (name))
        return 0;
    return maas_err_set (&self->err, MAAS_ERR_INPUT,
                         "model '%s': a name is 1-%d letters, digits, '.', '_' or '-'",
                         name ? name : "", MAAS_REGISTRY_NAME_MAX);
}

//  Add NAME to the set `list` reads. Outside the publish script because the
//  set spans models (another cluster slot); SADD is idempotent, and a
//  publish that fails here is reported, so the caller retries it.
static int
s_index_name (maas_registry_t *self, const char *name)
{
    char key[S_KEY_MAX];
    snprintf (key, sizeof key, "%smodels", self->prefix);
    redisReply *reply = s_commandv (self, (const char *[]){"SADD", key, name, NULL});
    if (!reply)
        return -1;
    freeReplyObject (reply);
    return 0;
}

//  -- lifecycle

//  "PREFIX" + "registry" (the announcement channel), or NULL on failure.
static char *
s_channel (const char *prefix)
{
    char *channel = malloc (strlen (prefix) + sizeof MAAS_REGISTRY_CHANNEL);
    if (channel)
        sprintf (channel, "%s%s", prefix, MAAS_REGISTRY_CHANNEL);
    return channel;
}

//  "user@host" from USER (else the uid's login name, else "uidN") and the
//  host name.
void
maas_registry_set_user (maas_registry_t *self, const char *user)
{
    char host[64] = "localhost", fallback[32], buf[1024];
    if (gethostname (host, sizeof host) != 0)
        snprintf (host, sizeof host, "localhost");
    host[sizeof host - 1] = 0;
    struct passwd pw, *found = NULL;
    if ((!user || !*user) && getpwuid_r (getuid (), &pw, buf, sizeof buf, &found) == 0 && found)
        user = found->pw_name;
    if (!user || !*user) {
        snprintf (fallback, sizeof fallback, "uid%u", (unsigned) getuid ());
        user = fallback;
    }
    char actor[sizeof self->actor];
    snprintf (actor, sizeof actor, "%.40s@%.63s", user, host);
    maas_registry_set_actor (self, actor);
}

maas_registry_t *
maas_registry_open (const maas_redis_config_t *redis, const char *prefix, maas_err_t *err)
{
    prefix = prefix ? prefix : MAAS_REGISTRY_PREFIX_DEFAULT;
    if (strlen (prefix) > S_PREFIX_MAX) {
        maas_err_set (err, MAAS_ERR_INPUT, "registry: key prefix longer than %d characters",
                      S_PREFIX_MAX);
        return NULL;
    }
    if (sodium_init () < 0) {
        maas_err_set (err, MAAS_ERR_NOMEM, "registry: libsodium failed to initialise");
        return NULL;
    }
    maas_registry_t *self = calloc (1, sizeof *self);
    if (!self || !(self->prefix = strdup (prefix)) || !(self->channel = s_channel (prefix))) {
        maas_err_set (err, MAAS_ERR_NOMEM, "registry: out of memory");
        maas_registry_destroy (&self);
        return NULL;
    }
    maas_registry_set_user (self, NULL);
    if (!(self->redis = maas_redis_new (redis, MAAS_REGISTRY_TIMEOUT_MS, err)))
        maas_registry_destroy (&self);
    return self;
}

maas_registry_t *
maas_registry_new (const char *redis_url, const char *prefix, maas_err_t *err)
{
    maas_redis_config_t redis = {.url = redis_url};
    return maas_registry_open (&redis, prefix, err);
}

void
maas_registry_destroy (maas_registry_t **self_p)
{
    assert (self_p);
    maas_registry_t *self = *self_p;
    if (!self)
        return;
    maas_redis_destroy (&self->redis);
    free (self->prefix);
    free (self->channel);
    free (self);
    *self_p = NULL;
}

const char *
maas_registry_error (const maas_registry_t *self)
{
    assert (self);
    return self->err.text;
}

const char *
maas_registry_channel (const maas_registry_t *self)
{
    assert (self);
    return self->channel;
}

//  -- writing

static int
s_check_meta (maas_registry_t *self, const char *name, size_t size,
              const maas_registry_meta_t *meta)
{
    if (s_check_name (self, name) != 0)
        return -1;
    if (size == 0)
        return maas_err_set (&self->err, MAAS_ERR_INPUT, "model %s: blob of 0 bytes (empty file?)",
                             name);
    if (maas_registry_size_check (name, size, &self->err) != 0)
        return -1;
    if (meta->job_id && strlen (meta->job_id) > 128)
        return maas_err_set (&self->err, MAAS_ERR_INPUT,
                             "model %s: job id longer than 128 characters", name);
    return 0;
}

//  What publish reads from the blob itself.
typedef struct {
    int format;            //  model format version
    size_t inputs;         //  features per row
    size_t outputs;        //  values per row
    char metrics[1024];    //  numeric metadata as a JSON object
    char weights[65];      //  maas_model_weights_sha256
} s_facts_t;

//  Numeric metadata of MODEL (accuracy, loss...) as a JSON object into OUT.
static void
s_metrics_json (const maas_model_t *model, char *out, size_t size)
{
    size_t used = (size_t) snprintf (out, size, "{");
    for (size_t i = 0; i < maas_model_meta_count (model) && used < size; i++) {
        maas_meta_entry_t entry = maas_model_meta_at (model, i);
        size_t key_len = strlen (entry.key);
        bool stamp = key_len > 3 && strcmp (entry.key + key_len - 3, "_ms") == 0;
        if (entry.type == MAAS_META_STR || stamp || strpbrk (entry.key, "\"\\"))
            continue;
        used += (size_t) snprintf (out + used, size - used, "%s\"%s\":%.15g", used > 1 ? "," : "",
                                   entry.key, entry.number);
    }
    if (used + 2 > size)    //  too many to list: keep the object valid
        used = 1;
    snprintf (out + used, size - used, "}");
}

//  Decode BLOB as a model into FACTS; -1 with the decoder's reason.
static int
s_read_facts (maas_registry_t *self, const char *name, const void *blob, size_t size,
              s_facts_t *facts)
{
    maas_err_t why;
    maas_model_t *model = maas_model_decode (blob, size, &why);
    if (!model)
        return maas_err_set (&self->err, MAAS_ERR_INPUT, "model %s: not a valid model file: %s",
                             name, why.text);
    const maas_mlp_t *mlp = maas_model_mlp_const (model);
    facts->format = maas_model_format (model);
    facts->inputs = maas_mlp_inputs (mlp);
    facts->outputs = maas_mlp_outputs (mlp);
    s_metrics_json (model, facts->metrics, sizeof facts->metrics);
    maas_model_weights_sha256 (model, facts->weights);
    maas_model_destroy (&model);
    return 0;
}

//  Run the publish script; *VERSION and *FRESH (false: the job id had
//  published before) from its reply.
static int
s_publish_eval (maas_registry_t *self, const char *name, const void *blob, size_t size,
                const maas_registry_meta_t *meta, const s_facts_t *facts, uint64_t *version,
                bool *fresh)
{
    char model[S_KEY_MAX], versions[S_KEY_MAX], jobs[S_KEY_MAX], vprefix[S_KEY_MAX];
    s_key (self, model, name, "");
    s_key (self, versions, name, ":versions");
    s_key (self, jobs, name, ":jobs");
    s_key (self, vprefix, name, ":v");
    char sha[65], format[16], inputs[24], outputs[24], bytes[24], now[24];
    maas_registry_sha256_hex (blob, size, sha);
    snprintf (format, sizeof format, "%d", facts->format);
    snprintf (inputs, sizeof inputs, "%zu", facts->inputs);
    snprintf (outputs, sizeof outputs, "%zu", facts->outputs);
    snprintf (bytes, sizeof bytes, "%zu", size);
    snprintf (now, sizeof now, "%" PRId64, maas_clock_wall_ms ());
    const char *argv[] = {"EVAL",
                          s_publish_lua,
                          "3",
                          model,
                          versions,
                          jobs,
                          vprefix,
                          self->channel,
                          name,
                          meta->job_id ? meta->job_id : "",
                          blob,
                          sha,
                          format,
                          inputs,
                          outputs,
                          bytes,
                          now,
                          meta->metrics ? meta->metrics : facts->metrics,
                          meta->tags ? meta->tags : "",
                          meta->description ? meta->description : "",
                          facts->weights};
    size_t lens[21];
    for (int i = 0; i < 21; i++)
        lens[i] = i == 10 ? size : strlen (argv[i]);
    redisReply *reply = s_command (self, 21, argv, lens);
    if (!reply)
        return -1;
    int rc = 0;
    if (reply->type != REDIS_REPLY_ARRAY || reply->elements != 2
        || reply->element[0]->type != REDIS_REPLY_INTEGER)
        rc = maas_err_set (&self->err, MAAS_ERR_INPUT, "model %s: unexpected reply to publish",
                           name);
    else {
        *version = (uint64_t) reply->element[0]->integer;
        *fresh = reply->element[1]->integer == 1;
    }
    freeReplyObject (reply);
    return rc;
}

int
maas_registry_publish (maas_registry_t *self, const char *name, const void *blob, size_t size,
                       const maas_registry_meta_t *meta, uint64_t *version, bool *created)
{
    assert (self && meta && version);
    bool fresh = false;
    s_facts_t facts;
    if (s_check_meta (self, name, size, meta) != 0
        || s_read_facts (self, name, blob, size, &facts) != 0
        || s_publish_eval (self, name, blob, size, meta, &facts, version, &fresh) != 0
        || s_index_name (self, name) != 0)
        return -1;
    if (created)
        *created = fresh;
    maas_info ("registry", "published model=%s version=%" PRIu64 " bytes=%zu new=%d", name,
               *version, size, fresh);
    return 0;
}

//  Run one of the alias-family scripts (s_alias_lua...) on NAME with the
//  shared KEYS and ARGV (see S_ALIAS_PRELUDE), then EXTRA: up to 3 more
//  arguments (NULL-terminated) and, when JOBS, the job index and model
//  tags as KEYS[5], KEYS[6]. The reply, or NULL with self->err.
static redisReply *
s_alias_eval (maas_registry_t *self, const char *script, const char *name, bool jobs,
              const char *const *extra)
{
    char keys[6][S_KEY_MAX], now[24], cap[16];
    const char *suffix[] = {"", ":versions", ":aliases", ":history", ":jobs", ":tags"};
    for (int i = 0; i < 6; i++)
        s_key (self, keys[i], name, suffix[i]);
    snprintf (now, sizeof now, "%" PRId64, maas_clock_wall_ms ());
    snprintf (cap, sizeof cap, "%d", MAAS_REGISTRY_HISTORY_MAX);
    const char *argv[20] = {"EVAL", script, jobs ? "6" : "4"};
    int argc = 3;
    for (int i = 0; i < (jobs ? 6 : 4); i++)
        argv[argc++] = keys[i];
    const char *shared[] = {self->channel, name, self->actor, now, cap};
    for (int i = 0; i < 5; i++)
        argv[argc++] = shared[i];
    for (int i = 0; extra[i]; i++)
        argv[argc++] = extra[i];
    argv[argc] = NULL;
    return s_commandv (self, argv);
}

int
maas_registry_alias (maas_registry_t *self, const char *name, const char *alias, uint64_t version)
{
    assert (self);
    if (s_check_name (self, name) != 0)
        return -1;
    if (!maas_registry_alias_valid (alias))
        return maas_err_set (&self->err, MAAS_ERR_INPUT,
                             "alias '%s': an alias starts with a letter, is letters, digits, "
                             "'.', '_' or '-', and is not 'latest'",
                             alias ? alias : "");
    char number[24];
    snprintf (number, sizeof number, "%" PRIu64, version);
    redisReply *reply =
        s_alias_eval (self, s_alias_lua, name, false, (const char *[]){alias, number, NULL});
    if (!reply)
        return -1;
    freeReplyObject (reply);
    maas_info ("registry", "alias model=%s alias=%s version=%" PRIu64 " by=%s", name, alias,
               version, self->actor);
    return 0;
}

int
maas_registry_unalias (maas_registry_t *self, const char *name, const char *alias)
{
    assert (self);
    if (s_check_name (self, name) != 0)
        return -1;
    if (!alias || !*alias)
        return maas_err_set (&self->err, MAAS_ERR_INPUT, "model %s: which alias?", name);
    redisReply *reply =
        s_alias_eval (self, s_unalias_lua, name, false, (const char *[]){alias, NULL});
    if (!reply)
        return -1;
    freeReplyObject (reply);
    maas_info ("registry", "unalias model=%s alias=%s by=%s", name, alias, self->actor);
    return 0;
}

int
maas_registry_delete (maas_registry_t *self, const char *name, uint64_t version, bool force)
{
    assert (self);
    if (s_check_name (self, name) != 0)
        return -1;
    char vkey[S_KEY_MAX], number[24];
    s_version_key (self, vkey, name, version);
    snprintf (number, sizeof number, "%" PRIu64, version);
    redisReply *reply = s_alias_eval (self, s_delete_lua, name, true,
                                      (const char *[]){vkey, number, force ? "1" : "0", NULL});
    if (!reply)
        return -1;
    freeReplyObject (reply);
    maas_info ("registry", "deleted model=%s version=%" PRIu64 " force=%d", name, version, force);
    return 0;
}

//  The version numbers of REPLY (an array of them, or NULL after a failed
//  command, which it frees) into *VERSIONS (malloc'd; NULL when none) and
//  *COUNT. 0, or -1 with self->err.
static int
s_take_versions (maas_registry_t *self, redisReply *reply, uint64_t **versions, size_t *count)
{
    if (!reply)
        return -1;
    size_t n = reply->type == REDIS_REPLY_ARRAY ? reply->elements : 0;
    if (n && !(*versions = malloc (n * sizeof **versions))) {
        freeReplyObject (reply);
        return maas_err_set (&self->err, MAAS_ERR_NOMEM, "registry: out of memory");
    }
    for (size_t i = 0; i < n; i++)
        (*versions)[i] = s_parse_version (reply->element[i]->str);
    *count = n;
    freeReplyObject (reply);
    return 0;
}

//  Drop NAME from the set `list` reads (another slot, as s_index_name).
static int
s_unindex_name (maas_registry_t *self, const char *name)
{
    char key[S_KEY_MAX];
    snprintf (key, sizeof key, "%smodels", self->prefix);
    redisReply *reply = s_commandv (self, (const char *[]){"SREM", key, name, NULL});
    if (!reply)
        return -1;
    freeReplyObject (reply);
    return 0;
}

int
maas_registry_delete_model (maas_registry_t *self, const char *name, bool force,
                            uint64_t **versions, size_t *count)
{
    assert (self && versions && count);
    *versions = NULL;
    *count = 0;
    if (s_check_name (self, name) != 0)
        return -1;
    char vprefix[S_KEY_MAX];
    s_key (self, vprefix, name, ":v");
    redisReply *reply = s_alias_eval (self, s_delete_model_lua, name, true,
                                      (const char *[]){vprefix, force ? "1" : "0", NULL});
    if (s_take_versions (self, reply, versions, count) != 0)
        return -1;
    maas_info ("registry", "deleted model=%s versions=%zu force=%d", name, *count, force);
    return s_unindex_name (self, name);
}

//  Run the edit script on NAME[@VERSION] (0: the model) against the hash
//  SUFFIX names ("" the record itself, ":tags" its tags): set FIELD to
//  VALUE, or remove FIELD when VALUE is NULL.
static int
s_edit (maas_registry_t *self, const char *name, uint64_t version, const char *suffix,
        const char *field, const char *value)
{
    if (s_check_name (self, name) != 0)
        return -1;
    char model[S_KEY_MAX], versions[S_KEY_MAX], target[S_KEY_MAX], number[24];
    s_key (self, model, name, "");
    s_key (self, versions, name, ":versions");
    if (version)
        s_version_key (self, target, name, version);
    else
        s_key (self, target, name, "");
    snprintf (target + strlen (target), S_KEY_MAX - strlen (target), "%s", suffix);
    snprintf (number, sizeof number, "%" PRIu64, version);
    redisReply *reply =
        s_commandv (self,
                    (const char *[]){"EVAL", s_edit_lua, "3", model, versions, target, name, number,
                                     field, value ? value : "", value ? "set" : "del", NULL});
    if (!reply)
        return -1;
    freeReplyObject (reply);
    return 0;
}

int
maas_registry_describe (maas_registry_t *self, const char *name, uint64_t version, const char *text)
{
    assert (self && text);
    if (strlen (text) > MAAS_REGISTRY_TEXT_MAX)
        return maas_err_set (&self->err, MAAS_ERR_INPUT,
                             "model %s: description longer than %d bytes", name,
                             MAAS_REGISTRY_TEXT_MAX);
    return s_edit (self, name, version, "", "description", text);
}

//  A tag key is a name; a value at most MAAS_REGISTRY_TEXT_MAX bytes of
//  printable text without ',' (tags are listed as "k=v,k2=v2").
static int
s_check_tag (maas_registry_t *self, const char *key, const char *value)
{
    if (!maas_registry_name_valid (key))
        return maas_err_set (&self->err, MAAS_ERR_INPUT,
                             "tag '%s': a key is 1-%d letters, digits, '.', '_' or '-'",
                             key ? key : "", MAAS_REGISTRY_NAME_MAX);
    bool ok = !value || strlen (value) <= MAAS_REGISTRY_TEXT_MAX;
    for (const unsigned char *c = (const unsigned char *) value; ok && c && *c; c++)
        ok = *c >= 0x20 && *c != ',';
    if (!ok)
        return maas_err_set (&self->err, MAAS_ERR_INPUT,
                             "tag %s: a value is at most %d bytes, without ',' or control "
                             "characters",
                             key, MAAS_REGISTRY_TEXT_MAX);
    return 0;
}

int
maas_registry_tag (maas_registry_t *self, const char *name, uint64_t version, const char *key,
                   const char *value)
{
    assert (self && value);
    if (s_check_tag (self, key, value) != 0)
        return -1;
    return s_edit (self, name, version, ":tags", key, value);
}

int
maas_registry_untag (maas_registry_t *self, const char *name, uint64_t version, const char *key)
{
    assert (self);
    if (s_check_tag (self, key, NULL) != 0)
        return -1;
    return s_edit (self, name, version, ":tags", key, NULL);
}

int
maas_registry_set_threshold (maas_registry_t *self, const char *name, uint64_t version,
                             double threshold)
{
    assert (self);
    if (!(threshold >= 0 && threshold < 1))
        return maas_err_set (&self->err, MAAS_ERR_INPUT,
                             "model %s@%" PRIu64 ": a threshold is a number above 0 and below 1",
                             name, version);
    char value[32], line[MAAS_REGISTRY_NAME_MAX + 48];
    //  0 is stored as is (not deleted), so clearing checks the version exists.
    snprintf (value, sizeof value, "%.9g", threshold);
    if (s_edit (self, name, version, "", "threshold", value) != 0)
        return -1;
    //  Workers cache versions for good: tell them to read it again.
    snprintf (line, sizeof line, "threshold %s %" PRIu64, name, version);
    redisReply *reply = s_commandv (self, (const char *[]){"PUBLISH", self->channel, line, NULL});
    if (!reply)
        return -1;
    freeReplyObject (reply);
    maas_info ("registry", "threshold model=%s version=%" PRIu64 " value=%s", name, version,
               threshold > 0 ? value : "default");
    return 0;
}

int
maas_registry_threshold (maas_registry_t *self, const char *name, uint64_t version,
                         double *threshold)
{
    assert (self && threshold);
    *threshold = 0;
    if (s_check_name (self, name) != 0)
        return -1;
    char vkey[S_KEY_MAX];
    s_version_key (self, vkey, name, version);
    redisReply *reply = s_commandv (self, (const char *[]){"HGET", vkey, "threshold", NULL});
    if (!reply)
        return -1;
    if (reply->type == REDIS_REPLY_STRING)
        *threshold = strtod (reply->str, NULL);
    freeReplyObject (reply);
    return 0;
}

void
maas_registry_set_actor (maas_registry_t *self, const char *who)
{
    assert (self && who);
    snprintf (self->actor, sizeof self->actor, "%s", *who ? who : "unknown");
    //  The history entry is space-separated: WHO is its last field, so
    //  spaces in it are harmless, but newlines would split a line.
    for (char *c = self->actor; *c; c++)
        if ((unsigned char) *c < 0x20)
            *c = '_';
}

//  -- reading

//  1 if model NAME exists, 0 if not, -1 on a Redis failure.
static int
s_model_exists (maas_registry_t *self, const char *name)
{
    char model[S_KEY_MAX];
    s_key (self, model, name, "");
    redisReply *reply = s_commandv (self, (const char *[]){"EXISTS", model, NULL});
    if (!reply)
        return -1;
    int exists = reply->type == REDIS_REPLY_INTEGER && reply->integer == 1;
    freeReplyObject (reply);
    return exists;
}

//  Fail with "unknown model NAME" when the model is missing, else with
//  "model NAME has no WHAT".
static int
s_fail_missing (maas_registry_t *self, const char *name, const char *what)
{
    int exists = s_model_exists (self, name);
    if (exists < 0)
        return -1;
    if (!exists)
        return maas_err_set (&self->err, MAAS_ERR_INPUT, "unknown model %s", name);
    return maas_err_set (&self->err, MAAS_ERR_INPUT, "model %s has no %s", name, what);
}

//  HGET KEY FIELD as a version number into *VERSION (0 when missing).
static int
s_hget_version (maas_registry_t *self, const char *key, const char *field, uint64_t *version)
{
    redisReply *reply = s_commandv (self, (const char *[]){"HGET", key, field, NULL});
    if (!reply)
        return -1;
    *version = reply->type == REDIS_REPLY_STRING ? s_parse_version (reply->str) : 0;
    freeReplyObject (reply);
    return 0;
}

static int
s_resolve_number (maas_registry_t *self, const char *name, const char *ref, uint64_t *version)
{
    //  Versions are members by their number: "02" is version 2, as an alias
    //  move reads it.
    char versions[S_KEY_MAX], number[24];
    snprintf (number, sizeof number, "%" PRIu64, s_parse_version (ref));
    s_key (self, versions, name, ":versions");
    redisReply *reply = s_commandv (self, (const char *[]){"ZSCORE", versions, number, NULL});
    if (!reply)
        return -1;
    bool found = reply->type == REDIS_REPLY_STRING;
    freeReplyObject (reply);
    if (!found) {
        char what[64];
        snprintf (what, sizeof what, "version %s", number);
        return s_fail_missing (self, name, what);
    }
    *version = s_parse_version (ref);
    return 0;
}

int
maas_registry_resolve (maas_registry_t *self, const char *name, const char *ref, uint64_t *version)
{
    assert (self && version);
    if (s_check_name (self, name) != 0)
        return -1;
    ref = ref ? ref : "";
    if (s_all_digits (ref)) {
        if (!s_parse_version (ref))
            return maas_err_set (&self->err, MAAS_ERR_INPUT,
                                 "model %s: version '%s' is not a number >= 1", name, ref);
        return s_resolve_number (self, name, ref, version);
    }
    bool latest = !*ref || strcmp (ref, "latest") == 0;
    char key[S_KEY_MAX], what[MAAS_REGISTRY_NAME_MAX + 16];
    s_key (self, key, name, latest ? "" : ":aliases");
    if (s_hget_version (self, key, latest ? "latest" : ref, version) != 0)
        return -1;
    if (*version)
        return 0;
    if (latest)
        snprintf (what, sizeof what, "versions");
    else
        snprintf (what, sizeof what, "alias '%s'", ref);
    return s_fail_missing (self, name, what);
}

static char *
s_dup_field (const redisReply *field)
{
    return strdup (field->type == REDIS_REPLY_STRING ? field->str : "");
}

static long long
s_int_field (const redisReply *field)
{
    return field->type == REDIS_REPLY_STRING ? strtoll (field->str, NULL, 10) : 0;
}

//  The fields of hash KEY whose value is VERSION, comma-separated (every
//  field, as "field=value", when VERSION is 0), or NULL on failure. Caller
//  frees.
static char *
s_hash_text (maas_registry_t *self, const char *key, uint64_t version)
{
    redisReply *reply = s_commandv (self, (const char *[]){"HGETALL", key, NULL});
    if (!reply)
        return NULL;
    size_t cap = 1;
    for (size_t i = 0; i < reply->elements; i++)
        cap += reply->element[i]->len + 2;
    char *text = calloc (1, cap);
    for (size_t i = 0; text && i + 1 < reply->elements; i += 2) {
        const char *alias = reply->element[i]->str, *target = reply->element[i + 1]->str;
        if (version && s_parse_version (target) != version)
            continue;
        size_t used = strlen (text);
        snprintf (text + used, cap - used, version ? "%s%s" : "%s%s=%s", used ? "," : "", alias,
                  target);
    }
    freeReplyObject (reply);
    if (!text)
        maas_err_set (&self->err, MAAS_ERR_INPUT, "registry: out of memory");
    return text;
}

//  Aliases of NAME pointing at VERSION (all, "alias=N", when 0); as above.
static char *
s_aliases_text (maas_registry_t *self, const char *name, uint64_t version)
{
    char key[S_KEY_MAX];
    s_key (self, key, name, ":aliases");
    return s_hash_text (self, key, version);
}

//  Every "key=value" of hash KEY (a tags hash), comma-separated; as above.
static char *
s_pairs_text (maas_registry_t *self, const char *key)
{
    return s_hash_text (self, key, 0);
}

static void
s_info_fill (maas_registry_info_t *info, const redisReply *reply)
{
    redisReply **f = reply->element;
    snprintf (info->sha256, sizeof info->sha256, "%s",
              f[0]->type == REDIS_REPLY_STRING ? f[0]->str : "");
    info->format = (int) s_int_field (f[1]);
    info->inputs = (size_t) s_int_field (f[2]);
    info->outputs = (size_t) s_int_field (f[3]);
    info->blob_size = (size_t) s_int_field (f[4]);
    info->created_ms = s_int_field (f[5]);
    info->metrics = s_dup_field (f[6]);
    info->job_id = s_dup_field (f[7]);
    info->tags = s_dup_field (f[8]);
    info->description = s_dup_field (f[9]);
    snprintf (info->weights_sha256, sizeof info->weights_sha256, "%s",
              f[10]->type == REDIS_REPLY_STRING ? f[10]->str : "");
    info->threshold = f[11]->type == REDIS_REPLY_STRING ? strtod (f[11]->str, NULL) : 0;
}

int
maas_registry_info (maas_registry_t *self, const char *name, uint64_t version,
                    maas_registry_info_t *info)
{
    assert (self && info);
    memset (info, 0, sizeof *info);
    if (s_check_name (self, name) != 0)
        return -1;
    char vkey[S_KEY_MAX];
    s_version_key (self, vkey, name, version);
    redisReply *reply =
        s_commandv (self,
                    (const char *[]){"HMGET", vkey, "sha256", "format", "inputs", "outputs", "size",
                                     "created_ms", "metrics", "job_id", "tags", "description",
                                     "weights_sha256", "threshold", NULL});
    if (!reply)
        return -1;
    bool found = reply->type == REDIS_REPLY_ARRAY && reply->elements == 12
        && reply->element[0]->type == REDIS_REPLY_STRING;
    if (found)
        s_info_fill (info, reply);
    freeReplyObject (reply);
    if (!found) {
        char what[64];
        snprintf (what, sizeof what, "version %" PRIu64, version);
        return s_fail_missing (self, name, what);
    }
    info->name = strdup (name);
    info->version = version;
    info->aliases = s_aliases_text (self, name, version);
    char tags[S_KEY_MAX];
    s_version_key (self, tags, name, version);
    strcat (tags, ":tags");
    info->kv_tags = s_pairs_text (self, tags);
    if (!info->name || !info->metrics || !info->job_id || !info->tags || !info->description
        || !info->aliases || !info->kv_tags) {
        maas_registry_info_clear (info);
        return maas_err_set (&self->err, MAAS_ERR_INPUT,
                             "model %s@%" PRIu64 ": out of memory or connection lost", name,
                             version);
    }
    return 0;
}

void
maas_registry_info_clear (maas_registry_info_t *info)
{
    assert (info);
    free (info->name);
    free (info->metrics);
    free (info->job_id);
    free (info->tags);
    free (info->description);
    free (info->aliases);
    free (info->kv_tags);
    memset (info, 0, sizeof *info);
}

int
maas_registry_fetch (maas_registry_t *self, const char *name, uint64_t version, uint8_t **blob,
                     size_t *size, char *sha256)
{
    assert (self && blob && size);
    *blob = NULL;
    *size = 0;
    if (s_check_name (self, name) != 0)
        return -1;
    char vkey[S_KEY_MAX];
    s_version_key (self, vkey, name, version);
    redisReply *reply = s_commandv (self, (const char *[]){"HMGET", vkey, "blob", "sha256", NULL});
    if (!reply)
        return -1;
    redisReply **f = reply->element;
    if (reply->type != REDIS_REPLY_ARRAY || reply->elements != 2 || f[0]->type != REDIS_REPLY_STRING
        || f[1]->type != REDIS_REPLY_STRING) {
        freeReplyObject (reply);
        char what[64];
        snprintf (what, sizeof what, "version %" PRIu64, version);
        return s_fail_missing (self, name, what);
    }
    char actual[65];
    maas_registry_sha256_hex (f[0]->str, f[0]->len, actual);
    int rc = 0;
    if (strcmp (actual, f[1]->str) != 0)
        rc = maas_err_set (&self->err, MAAS_ERR_INPUT,
                           "model %s@%" PRIu64 ": stored blob fails its sha256 check "
                           "(corrupted: %zu bytes, sha256 %.12s..., expected %.12s...)",
                           name, version, f[0]->len, actual, f[1]->str);
    else if (!(*blob = malloc (f[0]->len)))
        rc = maas_err_set (&self->err, MAAS_ERR_INPUT,
                           "model %s@%" PRIu64 ": out of memory for %zu bytes", name, version,
                           f[0]->len);
    else {
        memcpy (*blob, f[0]->str, f[0]->len);
        *size = f[0]->len;
        if (sha256)
            memcpy (sha256, actual, 65);
    }
    freeReplyObject (reply);
    return rc;
}

int
maas_registry_versions (maas_registry_t *self, const char *name, uint64_t **versions, size_t *count)
{
    assert (self && versions && count);
    *versions = NULL;
    *count = 0;
    if (s_check_name (self, name) != 0)
        return -1;
    char key[S_KEY_MAX];
    s_key (self, key, name, ":versions");
    redisReply *reply = s_commandv (self, (const char *[]){"ZRANGE", key, "0", "-1", NULL});
    if (s_take_versions (self, reply, versions, count) != 0)
        return -1;
    if (*count)
        return 0;
    int exists = s_model_exists (self, name);
    return exists > 0 ? 0
        : exists < 0  ? -1
                      : maas_err_set (&self->err, MAAS_ERR_INPUT, "unknown model %s", name);
}

static int
s_name_cmp (const void *a, const void *b)
{
    return strcmp (((const maas_registry_model_t *) a)->name,
                   ((const maas_registry_model_t *) b)->name);
}

//  The latest version's sha256 and weights hash into MODEL ("" if none).
static int
s_latest_hashes (maas_registry_t *self, maas_registry_model_t *model)
{
    if (!model->latest)
        return 0;
    char vkey[S_KEY_MAX];
    s_version_key (self, vkey, model->name, model->latest);
    redisReply *reply =
        s_commandv (self, (const char *[]){"HMGET", vkey, "sha256", "weights_sha256", NULL});
    if (!reply)
        return -1;
    if (reply->type == REDIS_REPLY_ARRAY && reply->elements == 2) {
        redisReply **f = reply->element;
        snprintf (model->sha256, sizeof model->sha256, "%s",
                  f[0]->type == REDIS_REPLY_STRING ? f[0]->str : "");
        snprintf (model->weights_sha256, sizeof model->weights_sha256, "%s",
                  f[1]->type == REDIS_REPLY_STRING ? f[1]->str : "");
    }
    freeReplyObject (reply);
    return 0;
}

//  Fill MODEL (whose name is set) from its model hash and versions.
static int
s_model_summary (maas_registry_t *self, maas_registry_model_t *model)
{
    char key[S_KEY_MAX], versions[S_KEY_MAX];
    s_key (self, key, model->name, "");
    s_key (self, versions, model->name, ":versions");
    redisReply *reply = s_commandv (
        self, (const char *[]){"HMGET", key, "latest", "updated_ms", "description", NULL});
    if (!reply)
        return -1;
    model->latest = (uint64_t) s_int_field (reply->element[0]);
    model->updated_ms = s_int_field (reply->element[1]);
    model->description = s_dup_field (reply->element[2]);
    freeReplyObject (reply);
    reply = s_commandv (self, (const char *[]){"ZCARD", versions, NULL});
    if (!reply)
        return -1;
    model->versions = (size_t) reply->integer;
    freeReplyObject (reply);
    model->aliases = s_aliases_text (self, model->name, 0);
    s_key (self, key, model->name, ":tags");
    model->tags = s_pairs_text (self, key);
    if (!model->description || !model->aliases || !model->tags)
        return maas_err_set (&self->err, MAAS_ERR_INPUT, "registry: out of memory");
    return s_latest_hashes (self, model);
}

int
maas_registry_list (maas_registry_t *self, maas_registry_model_t **models, size_t *count)
{
    assert (self && models && count);
    *models = NULL;
    *count = 0;
    char key[S_KEY_MAX];
    snprintf (key, sizeof key, "%smodels", self->prefix);
    redisReply *reply = s_commandv (self, (const char *[]){"SMEMBERS", key, NULL});
    if (!reply)
        return -1;
    size_t n = reply->type == REDIS_REPLY_ARRAY ? reply->elements : 0;
    maas_registry_model_t *list = n ? calloc (n, sizeof *list) : NULL;
    if (n && !list) {
        freeReplyObject (reply);
        return maas_err_set (&self->err, MAAS_ERR_INPUT, "registry: out of memory");
    }
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        list[i].name = strdup (reply->element[i]->str);
        rc = list[i].name ? s_model_summary (self, &list[i])
                          : maas_err_set (&self->err, MAAS_ERR_INPUT, "out of memory");
    }
    freeReplyObject (reply);
    if (rc != 0) {
        maas_registry_models_free (&list, n);
        return -1;
    }
    if (n)
        qsort (list, n, sizeof *list, s_name_cmp);
    *models = list;
    *count = n;
    return 0;
}

static void
s_model_clear (maas_registry_model_t *model)
{
    free (model->name);
    free (model->aliases);
    free (model->description);
    free (model->tags);
}

void
maas_registry_models_free (maas_registry_model_t **models_p, size_t count)
{
    assert (models_p);
    maas_registry_model_t *models = *models_p;
    for (size_t i = 0; models && i < count; i++)
        s_model_clear (&models[i]);
    free (models);
    *models_p = NULL;
}

//  Whether MODEL has every "key=value" of TAGS (a tags text is
//  comma-separated and values hold no ',', so ",k=v," finds one exactly).
static bool
s_has_tags (const maas_registry_model_t *model, const char *const *tags, size_t n_tags)
{
    for (size_t i = 0; i < n_tags; i++) {
        size_t size = strlen (model->tags) + 3;
        char *haystack = malloc (size), *needle = malloc (strlen (tags[i]) + 3);
        bool found = haystack && needle;
        if (found) {
            snprintf (haystack, size, ",%s,", model->tags);
            sprintf (needle, ",%s,", tags[i]);
            found = strstr (haystack, needle) != NULL;
        }
        free (haystack);
        free (needle);
        if (!found)
            return false;
    }
    return true;
}

int
maas_registry_search (maas_registry_t *self, const char *glob, const char *const *tags,
                      size_t n_tags, maas_registry_model_t **models, size_t *count)
{
    assert (self && models && count);
    if (maas_registry_list (self, models, count) != 0)
        return -1;
    size_t kept = 0;
    for (size_t i = 0; i < *count; i++) {
        maas_registry_model_t *model = &(*models)[i];
        if ((!glob || fnmatch (glob, model->name, 0) == 0) && s_has_tags (model, tags, n_tags)) {
            (*models)[kept++] = *model;
            continue;
        }
        s_model_clear (model);
    }
    *count = kept;
    return 0;
}

//  One history line "MS ALIAS FROM TO WHO" into MOVE; false if malformed.
static bool
s_move_parse (maas_registry_move_t *move, const char *line)
{
    memset (move, 0, sizeof *move);
    long long ms = 0;
    unsigned long long from = 0, to = 0;
    int used = 0;
    if (sscanf (line, "%lld %64s %llu %llu %n", &ms, move->alias, &from, &to, &used) != 4)
        return false;
    move->at_ms = ms;
    move->from = from;
    move->to = to;
    snprintf (move->who, sizeof move->who, "%s", line + used);
    return true;
}

int
maas_registry_history (maas_registry_t *self, const char *name, const char *alias,
                       maas_registry_move_t **moves, size_t *count)
{
    assert (self && moves && count);
    *moves = NULL;
    *count = 0;
    if (s_check_name (self, name) != 0)
        return -1;
    char key[S_KEY_MAX];
    s_key (self, key, name, ":history");
    redisReply *reply = s_commandv (self, (const char *[]){"LRANGE", key, "0", "-1", NULL});
    if (!reply)
        return -1;
    size_t n = reply->type == REDIS_REPLY_ARRAY ? reply->elements : 0;
    if (n && !(*moves = calloc (n, sizeof **moves))) {
        freeReplyObject (reply);
        return maas_err_set (&self->err, MAAS_ERR_NOMEM, "registry: out of memory");
    }
    for (size_t i = 0; i < n; i++) {
        maas_registry_move_t *move = &(*moves)[*count];
        if (reply->element[i]->type == REDIS_REPLY_STRING
            && s_move_parse (move, reply->element[i]->str)
            && (!alias || strcmp (move->alias, alias) == 0))
            (*count)++;
    }
    freeReplyObject (reply);
    if (*count || s_model_exists (self, name) > 0)
        return 0;
    free (*moves);
    *moves = NULL;
    return s_fail_missing (self, name, "history");
}

//  -- announcements

int
maas_registry_event_parse (maas_registry_event_t *event, const char *text, size_t len)
{
    memset (event, 0, sizeof *event);
    char line[3 * (MAAS_REGISTRY_NAME_MAX + 1) + 32], verb[16], arg[64];
    if (len >= sizeof line)
        return -1;
    memcpy (line, text, len);
    line[len] = 0;
    char extra[64] = "";
    int fields = sscanf (line, "%15s %64s %63s %63s", verb, event->name, arg, extra);
    if (fields < 2 || !maas_registry_name_valid (event->name))
        return -1;
    if (strcmp (verb, "publish") == 0 || strcmp (verb, "delete") == 0
        || strcmp (verb, "threshold") == 0) {
        event->type = *verb == 'p' ? MAAS_REGISTRY_EV_PUBLISH
            : *verb == 'd'         ? MAAS_REGISTRY_EV_DELETE
                                   : MAAS_REGISTRY_EV_THRESHOLD;
        event->version = fields == 3 ? s_parse_version (arg) : 0;
        return event->version ? 0 : -1;
    }
    if (fields < 3 || !maas_registry_alias_valid (arg))
        return -1;
    snprintf (event->alias, sizeof event->alias, "%s", arg);
    if (strcmp (verb, "unalias") == 0 && fields == 3) {
        event->type = MAAS_REGISTRY_EV_UNALIAS;
        return 0;
    }
    event->type = MAAS_REGISTRY_EV_ALIAS;
    event->version = fields == 4 ? s_parse_version (extra) : 0;
    return strcmp (verb, "alias") == 0 && event->version ? 0 : -1;
}

struct _maas_registry_watch_t {
    maas_redis_t *redis;    //  subscribed link, owned (only read from after SUBSCRIBE)
    char *channel;          //  channel subscribed to, owned
};

maas_registry_watch_t *
maas_registry_watch_open (const maas_redis_config_t *redis, const char *prefix, maas_err_t *err)
{
    maas_registry_watch_t *self = calloc (1, sizeof *self);
    if (!self || !(self->channel = s_channel (prefix ? prefix : MAAS_REGISTRY_PREFIX_DEFAULT))) {
        maas_err_set (err, MAAS_ERR_NOMEM, "registry watch: out of memory");
        maas_registry_watch_destroy (&self);
        return NULL;
    }
    if (!(self->redis = maas_redis_new (redis, MAAS_REGISTRY_TIMEOUT_MS, err))) {
        maas_registry_watch_destroy (&self);
        return NULL;
    }
    redisReply *reply = maas_redis_commandf (self->redis, false, "SUBSCRIBE %s", self->channel);
    bool subscribed = reply && reply->type == REDIS_REPLY_ARRAY && reply->elements == 3;
    if (!subscribed)
        maas_err_set (err, MAAS_ERR_IO, "registry watch: SUBSCRIBE %s failed: %s", self->channel,
                      reply ? "unexpected reply" : maas_redis_err (self->redis)->text);
    if (reply)
        freeReplyObject (reply);
    if (!subscribed)
        maas_registry_watch_destroy (&self);
    return self;
}

maas_registry_watch_t *
maas_registry_watch_new (const char *redis_url, const char *prefix, maas_err_t *err)
{
    maas_redis_config_t redis = {.url = redis_url};
    return maas_registry_watch_open (&redis, prefix, err);
}

void
maas_registry_watch_destroy (maas_registry_watch_t **self_p)
{
    assert (self_p);
    maas_registry_watch_t *self = *self_p;
    if (!self)
        return;
    maas_redis_destroy (&self->redis);
    free (self->channel);
    free (self);
    *self_p = NULL;
}

int
maas_registry_watch_fd (const maas_registry_watch_t *self)
{
    assert (self);
    return maas_redis_context (self->redis)->fd;
}

//  1 with *EVENT from a pub/sub REPLY that is an announcement; 0 otherwise.
static int
s_watch_decode (const redisReply *reply, maas_registry_event_t *event)
{
    if (reply->type != REDIS_REPLY_ARRAY || reply->elements != 3
        || reply->element[0]->type != REDIS_REPLY_STRING
        || strcmp (reply->element[0]->str, "message") != 0
        || reply->element[2]->type != REDIS_REPLY_STRING)
        return 0;
    if (maas_registry_event_parse (event, reply->element[2]->str, reply->element[2]->len) != 0) {
        maas_warn ("registry", "ignored announcement text=\"%.80s\"", reply->element[2]->str);
        return 0;
    }
    return 1;
}

int
maas_registry_watch_next (maas_registry_watch_t *self, maas_registry_event_t *event, int timeout_ms)
{
    assert (self && event);
    //  A master that hangs, or is cut off, while Sentinel promotes another
    //  keeps this connection open and silent: announcements made on the new
    //  master would never arrive. Sentinel is asked at most once a second.
    if (maas_redis_master_moved (self->redis, "connection=announcements"))
        return -1;
    redisContext *ctx = maas_redis_context (self->redis);
    int64_t deadline = maas_clock_mono_ms () + (timeout_ms > 0 ? timeout_ms : 0);
    while (true) {
        void *reply = NULL;
        if (redisGetReplyFromReader (ctx, &reply) != REDIS_OK)
            return -1;
        if (reply) {
            int got = s_watch_decode (reply, event);
            freeReplyObject (reply);
            if (got)
                return 1;
            continue;
        }
        int64_t left = deadline - maas_clock_mono_ms ();
        struct pollfd item = {.fd = ctx->fd, .events = POLLIN};
        int ready = poll (&item, 1, timeout_ms < 0 ? -1 : left > 0 ? (int) left : 0);
        if (ready < 0 && errno != EINTR)
            return -1;
        if (ready == 0)
            return 0;
        if (ready > 0 && redisBufferRead (ctx) != REDIS_OK) {
            maas_warn ("registry", "watch lost reason=\"%s\"", ctx->errstr);
            return -1;
        }
    }
}
