/*
 * symjson.h - a recorded stack symbolized, as JSON: what the JSON outputs
 * (report --format json, merge --format json) put beside each raw stack.
 */
#ifndef LG_TOOL_SYMJSON_H
#define LG_TOOL_SYMJSON_H

#include "findings.h"
#include "symbolize.h"

struct json_object;

/* A stack symbolized: [{"pc","function","file","line","module","offset",
 * "inlined"}], inlined calls expanded; absent parts left out. NULL when out
 * of memory. */
struct json_object *lg_frames_json(struct lg_symbolizer *sym, const struct lg_module *mods,
                                   size_t n_mods, const struct lg_stack *s);

#endif
