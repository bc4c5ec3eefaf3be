/*  mpjson.h: JSON ⇄ msgpack for the jobs routes: a job's params arrive as
 *  JSON and travel as msgpack; a stored result or header goes back as JSON. */
#ifndef GW_MPJSON_H
#define GW_MPJSON_H

#include "buf.h"

#include <jansson.h>
#include <msgpack.h>

//  VALUE packed onto PK: objects as maps, arrays, strings, integers, reals
//  (as float64), true/false, null.
void gw_mpjson_pack (msgpack_packer *pk, const json_t *value);
//  OBJ written as JSON into BUF: float32 with the shortest writer, bin as
//  {"bytes": N} (the size only), map keys that are not strings as "?".
void gw_mpjson_write (gw_buf_t *buf, const msgpack_object *obj);

#endif
