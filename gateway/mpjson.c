/*  mpjson.c: JSON ⇄ msgpack (mpjson.h). */
#include "mpjson.h"

#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

void
gw_mpjson_pack (msgpack_packer *pk, const json_t *value)
{
    const char *key;
    const json_t *item;
    size_t i;
    switch (json_typeof (value)) {
        case JSON_OBJECT:
            msgpack_pack_map (pk, json_object_size (value));
            json_object_foreach ((json_t *) value, key, item)
            {
                msgpack_pack_str_with_body (pk, key, strlen (key));
                gw_mpjson_pack (pk, item);
            }
            break;
        case JSON_ARRAY:
            msgpack_pack_array (pk, json_array_size (value));
            json_array_foreach (value, i, item) gw_mpjson_pack (pk, item);
            break;
        case JSON_STRING:
            msgpack_pack_str_with_body (pk, json_string_value (value), json_string_length (value));
            break;
        case JSON_INTEGER: msgpack_pack_int64 (pk, json_integer_value (value)); break;
        case JSON_REAL: msgpack_pack_double (pk, json_real_value (value)); break;
        case JSON_TRUE: msgpack_pack_true (pk); break;
        case JSON_FALSE: msgpack_pack_false (pk); break;
        default: msgpack_pack_nil (pk);
    }
}

//  The shortest of %.15g..%.17g that reads back to the same double.
static void
s_f64 (gw_buf_t *buf, double value)
{
    char text[32];
    for (int digits = 15; digits <= 17; digits++) {
        snprintf (text, sizeof text, "%.*g", digits, value);
        if (strtod (text, NULL) == value)
            break;
    }
    gw_buf_puts (buf, isfinite (value) ? text : "null");
}

static void
s_str (gw_buf_t *buf, const char *data, size_t size)
{
    char text[1024];
    snprintf (text, sizeof text, "%.*s", (int) (size < sizeof text ? size : sizeof text - 1), data);
    gw_json_str (buf, text);
}

void
gw_mpjson_write (gw_buf_t *buf, const msgpack_object *obj)
{
    switch (obj->type) {
        case MSGPACK_OBJECT_BOOLEAN: gw_buf_puts (buf, obj->via.boolean ? "true" : "false"); break;
        case MSGPACK_OBJECT_POSITIVE_INTEGER: gw_buf_printf (buf, "%" PRIu64, obj->via.u64); break;
        case MSGPACK_OBJECT_NEGATIVE_INTEGER: gw_buf_printf (buf, "%" PRId64, obj->via.i64); break;
        case MSGPACK_OBJECT_FLOAT32: gw_json_f32 (buf, (float) obj->via.f64); break;
        case MSGPACK_OBJECT_FLOAT64: s_f64 (buf, obj->via.f64); break;
        case MSGPACK_OBJECT_STR: s_str (buf, obj->via.str.ptr, obj->via.str.size); break;
        case MSGPACK_OBJECT_BIN:
            gw_buf_printf (buf, "{\"bytes\":%" PRIu32 "}", obj->via.bin.size);
            break;
        case MSGPACK_OBJECT_ARRAY:
            gw_buf_puts (buf, "[");
            for (uint32_t i = 0; i < obj->via.array.size; i++) {
                gw_buf_puts (buf, i ? "," : "");
                gw_mpjson_write (buf, &obj->via.array.ptr[i]);
            }
            gw_buf_puts (buf, "]");
            break;
        case MSGPACK_OBJECT_MAP:
            gw_buf_puts (buf, "{");
            for (uint32_t i = 0; i < obj->via.map.size; i++) {
                const msgpack_object *key = &obj->via.map.ptr[i].key;
                gw_buf_puts (buf, i ? "," : "");
                if (key->type == MSGPACK_OBJECT_STR)
                    s_str (buf, key->via.str.ptr, key->via.str.size);
                else
                    gw_buf_puts (buf, "\"?\"");
                gw_buf_puts (buf, ":");
                gw_mpjson_write (buf, &obj->via.map.ptr[i].val);
            }
            gw_buf_puts (buf, "}");
            break;
        default: gw_buf_puts (buf, "null");
    }
}
