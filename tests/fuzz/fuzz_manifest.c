/*  fuzz_manifest: a data set's manifest as a trainer reads it from Redis
 *  (HGETALL): the input's lines are the reply's strings, field and value in
 *  turn (up to 64), through maas_dataset_manifest_parse. Whoever can write
 *  the data set keys feeds it. */
#include "fuzz.h"
#include "dataset_store.h"

#include <hiredis/hiredis.h>
#include <stdlib.h>
#include <string.h>

#define S_STRINGS_MAX 64

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    char *text = malloc (size + 1);
    if (!text)
        return 0;
    memcpy (text, data, size);
    text[size] = '\0';
    redisReply strings[S_STRINGS_MAX], *items[S_STRINGS_MAX];
    size_t count = 0;
    for (char *line = text; count < S_STRINGS_MAX;) {
        char *end = memchr (line, '\n', (size_t) (text + size - line));
        size_t len = end ? (size_t) (end - line) : strlen (line);
        line[len] = '\0';
        strings[count] = (redisReply){.type = REDIS_REPLY_STRING, .len = len, .str = line};
        items[count] = &strings[count];
        count++;
        if (!end)
            break;
        line = end + 1;
    }
    redisReply reply = {.type = REDIS_REPLY_ARRAY, .elements = count, .element = items};
    maas_dataset_info_t info;
    maas_err_t err;
    (void) maas_dataset_manifest_parse ("fuzzed", &reply, &info, &err);
    maas_dataset_info_clear (&info);
    free (text);
    return 0;
}
