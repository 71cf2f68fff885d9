/*
 * summary_other.c - the text block of a finding of a kind this lockgraph
 * does not know (a newer library's): its fields one by one, stacks
 * symbolized, threads and locks described as known kinds describe them.
 */
#include "summary_int.h"

#include <json.h>
#include <stdlib.h>
#include <string.h>

/* A finding of a kind this lockgraph does not know is shown field by field,
 * this deep and this many elements of an array at most. */
#define MAX_OTHER_DEPTH 6
#define MAX_OTHER_ELEMS 20

/* Fields every finding has; the header already says what matters of them. */
static bool common_field(const char *key)
{
    static const char *const common[] = {"kind", "version", "seq", "pid", "time_ns", "modules"};
    for (size_t i = 0; i < sizeof common / sizeof *common; i++)
        if (strcmp(key, common[i]) == 0)
            return true;
    return false;
}

/* A stack: a non-empty array of hex address strings. Fills *s (to free). */
static bool as_stack(json_object *v, struct lg_stack *s)
{
    s->pcs = NULL;
    s->n = 0;
    if (!json_object_is_type(v, json_type_array))
        return false;
    size_t n = json_object_array_length(v);
    if (n == 0)
        return false;
    for (size_t i = 0; i < n; i++) {
        json_object *e = json_object_array_get_idx(v, i);
        const char *t = json_object_is_type(e, json_type_string) ? json_object_get_string(e) : "";
        if (t[0] != '0' || t[1] != 'x' || !t[2] ||
            strspn(t + 2, "0123456789abcdefABCDEF") != strlen(t + 2))
            return false;
    }
    if (!(s->pcs = calloc(n, sizeof *s->pcs)))
        return false;
    for (size_t i = 0; i < n; i++)
        s->pcs[i] = strtoull(json_object_get_string(json_object_array_get_idx(v, i)), NULL, 16);
    s->n = n;
    return true;
}

static void print_value(const struct lg_printer *p, const char *key, json_object *v, int depth);

static void print_members(const struct lg_printer *p, json_object *obj, int depth, bool skip_common)
{
    json_object_object_foreach(obj, k, v)
    {
        if (!(skip_common && common_field(k)))
            print_value(p, k, v, depth);
    }
}

/* One field, "   key: value", symbolizing what looks like a stack and
 * describing what looks like a thread or a lock the way known kinds do. */
static void print_value(const struct lg_printer *p, const char *key, json_object *v, int depth)
{
    FILE *out = p->out;
    int ind = 3 + 2 * depth;
    struct lg_stack st;
    fprintf(out, "%*s", ind, "");
    for (const char *c = key; *c; c++) /* keys come from the file: keep them printable */
        fputc((unsigned char)*c < ' ' || *c == 0x7f ? '?' : *c, out);
    fputc(':', out);
    if (depth >= MAX_OTHER_DEPTH) {
        fputs(" ...\n", out);
        return;
    }
    if (as_stack(v, &st)) {
        fputc('\n', out);
        char sub[64];
        snprintf(sub, sizeof sub, "%*s", ind + 2, "");
        lg__print_stack(p, &st, sub, false);
        free(st.pcs);
        return;
    }
    if (json_object_is_type(v, json_type_object)) {
        json_object *tid = NULL, *addr = NULL;
        struct lg_lock l;
        if (json_object_object_get_ex(v, "tid", &tid) && json_object_is_type(tid, json_type_int)) {
            struct lg_thread t = {.tid = (long)json_object_get_int64(tid)};
            json_object *x;
            if (json_object_object_get_ex(v, "seq", &x) && json_object_is_type(x, json_type_int))
                t.seq = (long)json_object_get_int64(x);
            if (json_object_object_get_ex(v, "name", &x) &&
                json_object_is_type(x, json_type_string))
                t.name = (char *)json_object_get_string(x);
            fputc(' ', out);
            lg__print_thread(p, &t);
            fputc('\n', out);
            return;
        }
        if (json_object_object_get_ex(v, "addr", &addr) && lg_lock_from_json(v, &l)) {
            fputc(' ', out);
            lg__print_lock_desc(p, &l);
            fputc('\n', out);
            lg_lock_free(&l);
            return;
        }
        fputc('\n', out);
        print_members(p, v, depth + 1, false);
        return;
    }
    if (json_object_is_type(v, json_type_array)) {
        size_t n = json_object_array_length(v);
        bool scalars = true;
        for (size_t i = 0; i < n && scalars; i++) {
            json_object *e = json_object_array_get_idx(v, i);
            scalars = !json_object_is_type(e, json_type_object) &&
                      !json_object_is_type(e, json_type_array);
        }
        if (scalars) {
            const char *t = json_object_to_json_string_ext(v, JSON_C_TO_STRING_SPACED);
            fprintf(out, " %.200s%s\n", t, strlen(t) > 200 ? "..." : "");
            return;
        }
        fprintf(out, " %zu %s\n", n, lg__plural(n, "element", "elements"));
        for (size_t i = 0; i < n; i++) {
            if (i == MAX_OTHER_ELEMS) {
                fprintf(out, "%*s... and %zu more\n", ind + 2, "", n - i);
                break;
            }
            char k[32];
            snprintf(k, sizeof k, "[%zu]", i);
            print_value(p, k, json_object_array_get_idx(v, i), depth + 1);
        }
        return;
    }
    if (json_object_is_type(v, json_type_string)) {
        fputc(' ', out);
        lg__put_quoted(out, json_object_get_string(v));
        fputc('\n', out);
        return;
    }
    fprintf(out, " %s\n", v ? json_object_to_json_string(v) : "null");
}

void lg__print_other(const struct lg_printer *p, size_t number)
{
    const struct lg_finding *f = p->f;
    FILE *out = p->out;
    lg__head_begin(p, false);
    fputs("== ", out);
    for (const char *c = lg_finding_kind(f); *c; c++)
        fputc((unsigned char)*c < ' ' || *c == 0x7f ? '?' : *c, out);
    fprintf(out, " #%zu (pid %ld): a kind this lockgraph does not know; its fields", number,
            f->pid);
    lg__head_end(p);
    if (f->raw)
        print_members(p, f->raw, 0, true);
    fputc('\n', out);
}
