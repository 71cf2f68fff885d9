/*
 * symjson.c - symbolized stacks as JSON (see symjson.h).
 */
#include "symjson.h"

#include <json.h>
#include <stdio.h>
#include <string.h>

#include "summary.h"

#define MAX_INLINE 8

static json_object *hex(uint64_t v)
{
    char buf[32];
    snprintf(buf, sizeof buf, "0x%llx", (unsigned long long)v);
    return json_object_new_string(buf);
}

/* A symbol name without its ELF version. */
static json_object *func_name(const char *name)
{
    return json_object_new_string_len(name, (int)strcspn(name, "@"));
}

json_object *lg_frames_json(struct lg_symbolizer *sym, const struct lg_module *mods, size_t n_mods,
                            const struct lg_stack *s)
{
    json_object *arr = json_object_new_array();
    if (!arr)
        return NULL;
    for (size_t i = 0; i < s->n; i++) {
        struct lg_frame chain[MAX_INLINE];
        size_t n = lg_symbolize_inline(sym, mods, n_mods, s->pcs[i], chain, MAX_INLINE);
        for (size_t k = 0; k < n; k++) {
            const struct lg_frame *fr = &chain[k];
            json_object *o = json_object_new_object();
            if (!o) {
                json_object_put(arr);
                return NULL;
            }
            json_object_object_add(o, "pc", hex(fr->pc));
            if (fr->function)
                json_object_object_add(o, "function", func_name(fr->function));
            if (fr->file) {
                json_object_object_add(o, "file", json_object_new_string(lg_show_path(fr->file)));
                json_object_object_add(o, "line", json_object_new_int(fr->line));
            }
            if (fr->module) {
                json_object_object_add(o, "module", json_object_new_string(fr->module));
                json_object_object_add(o, "offset", hex(fr->module_offset));
            }
            if (fr->inlined)
                json_object_object_add(o, "inlined", json_object_new_boolean(1));
            json_object_array_add(arr, o);
        }
    }
    return arr;
}
