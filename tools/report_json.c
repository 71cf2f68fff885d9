/*
 * report_json.c - `lockgraph report --format json`: the report as one JSON
 * document for other programs.
 *
 * Does: each distinct finding as the library wrote it (any kind, known or
 * not), with every stack symbolized beside it ("second_stack" gets
 * "second_stack_symbolized"), where else it was seen, and the counts,
 * suppressions and input problems of the whole report.
 * Does not: add interpretation the finding does not carry (the text and
 * HTML reports do that); the shape of a finding is FINDINGS.md's.
 */
#include <json.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "report.h"

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

json_object *lg_report_frames_json(struct lg_symbolizer *sym, const struct lg_module *mods,
                                   size_t n_mods, const struct lg_stack *s)
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

static bool is_stack(json_object *v, struct lg_stack *s)
{
    s->pcs = NULL;
    s->n = 0;
    if (!json_object_is_type(v, json_type_array))
        return false;
    size_t n = json_object_array_length(v);
    for (size_t i = 0; i < n; i++) {
        json_object *e = json_object_array_get_idx(v, i);
        if (!json_object_is_type(e, json_type_string) ||
            strncmp(json_object_get_string(e), "0x", 2) != 0)
            return false;
    }
    if (n == 0 || !(s->pcs = calloc(n, sizeof *s->pcs)))
        return false;
    for (size_t i = 0; i < n; i++)
        s->pcs[i] = strtoull(json_object_get_string(json_object_array_get_idx(v, i)), NULL, 16);
    s->n = n;
    return true;
}

/* Beside every stack in `v`, its frames. Keys are gathered first: an
 * object may not change while it is walked. */
static void symbolize_tree(struct lg_report *r, const struct lg_finding *f, json_object *v,
                           int depth)
{
    if (depth > 8)
        return;
    if (json_object_is_type(v, json_type_array)) {
        size_t n = json_object_array_length(v);
        for (size_t i = 0; i < n; i++)
            symbolize_tree(r, f, json_object_array_get_idx(v, i), depth + 1);
        return;
    }
    if (!json_object_is_type(v, json_type_object))
        return;
    size_t n = (size_t)json_object_object_length(v), k = 0;
    const char **keys = calloc(n ? n : 1, sizeof *keys);
    if (!keys)
        return;
    json_object_object_foreach(v, key, m)
    {
        (void)m;
        keys[k++] = key;
    }
    for (size_t i = 0; i < k; i++) {
        json_object *m = json_object_object_get(v, keys[i]);
        struct lg_stack s;
        if (strcmp(keys[i], "modules") == 0)
            continue;
        if (is_stack(m, &s)) {
            char name[256];
            snprintf(name, sizeof name, "%s_symbolized", keys[i]);
            json_object *frames = lg_report_frames_json(r->sym, f->modules, f->n_modules, &s);
            if (frames)
                json_object_object_add(v, name, frames);
            free(s.pcs);
        } else {
            symbolize_tree(r, f, m, depth + 1);
        }
    }
    free(keys);
}

static json_object *group_json(struct lg_report *r, const struct lg_group *g, size_t number)
{
    const struct lg_finding *f = &r->set.items[g->first];
    json_object *o = json_object_new_object();
    json_object_object_add(o, "kind", json_object_new_string(lg_finding_kind(f)));
    json_object_object_add(o, "number", json_object_new_int64((int64_t)number));
    json_object_object_add(o, "count", json_object_new_int64((int64_t)g->n));
    json_object_object_add(o, "processes", json_object_new_int64((int64_t)g->processes));
    json_object_object_add(o, "code_paths", json_object_new_int64((int64_t)g->paths));
    json_object *occ = json_object_new_array();
    for (size_t i = 0; i < g->n; i++) {
        const struct lg_finding *m = &r->set.items[g->members[i]];
        json_object *e = json_object_new_object();
        json_object_object_add(e, "file", json_object_new_string(m->file));
        json_object_object_add(e, "line", json_object_new_int64((int64_t)m->line));
        json_object_object_add(e, "pid", json_object_new_int64(m->pid));
        json_object_array_add(occ, e);
    }
    json_object_object_add(o, "occurrences", occ);
    json_object *copy = NULL;
    if (f->raw && json_object_deep_copy(f->raw, &copy, NULL) == 0 && copy) {
        symbolize_tree(r, f, copy, 0);
        json_object_object_add(o, "finding", copy);
    }
    return o;
}

int lg_report_json(struct lg_report *r, FILE *out)
{
    json_object *root = json_object_new_object();
    if (!root)
        return -1;
    json_object_object_add(root, "tool", json_object_new_string("lockgraph"));
    json_object_object_add(root, "version", json_object_new_string(LG_VERSION));
    json_object_object_add(root, "format", json_object_new_int(1));

    json_object *inputs = json_object_new_array();
    for (size_t i = 0; i < r->n_paths; i++)
        json_object_array_add(inputs, json_object_new_string(r->paths[i]));
    json_object_object_add(root, "inputs", inputs);

    json_object *problems = json_object_new_object();
    json_object_object_add(problems, "unreadable_files",
                           json_object_new_int64((int64_t)r->set.unreadable_files));
    json_object_object_add(problems, "corrupt_lines",
                           json_object_new_int64((int64_t)r->set.corrupt_lines));
    json_object_object_add(problems, "truncated_lines",
                           json_object_new_int64((int64_t)r->set.truncated_lines));
    json_object_object_add(problems, "unknown_kinds",
                           json_object_new_int64((int64_t)r->set.unknown_lines));
    json_object_object_add(root, "problems", problems);

    json_object *summary = json_object_new_object();
    json_object_object_add(summary, "distinct",
                           json_object_new_int64((int64_t)lg_report_distinct(r)));
    json_object_object_add(summary, "findings", json_object_new_int64((int64_t)lg_report_total(r)));
    json_object_object_add(summary, "suppressed", json_object_new_int64((int64_t)r->suppressed));
    json_object *by_kind = json_object_new_object();
    for (size_t i = 0; i < r->groups.n; i++) {
        const char *k = lg_finding_kind(&r->set.items[r->groups.items[i].first]);
        json_object *v = json_object_object_get(by_kind, k);
        json_object_object_add(by_kind, k,
                               json_object_new_int64(v ? json_object_get_int64(v) + 1 : 1));
    }
    json_object_object_add(summary, "by_kind", by_kind);
    json_object_object_add(root, "summary", summary);

    json_object *supp = json_object_new_array();
    for (size_t i = 0; i < r->supp.n; i++) {
        const struct lg_supp_rule *rule = &r->supp.rules[i];
        json_object *e = json_object_new_object();
        json_object_object_add(e, "file", json_object_new_string(rule->path));
        json_object_object_add(e, "line", json_object_new_int64((int64_t)rule->line));
        json_object_object_add(e, "rule", json_object_new_string(rule->text));
        json_object_object_add(e, "suppressed", json_object_new_int64((int64_t)rule->hits));
        json_object_array_add(supp, e);
    }
    json_object_object_add(root, "suppressions", supp);

    json_object *findings = json_object_new_array();
    struct lg_numbering nb;
    lg_numbering_init(&nb);
    for (size_t i = 0; i < r->groups.n; i++) {
        const struct lg_group *g = &r->groups.items[i];
        json_object_array_add(findings,
                              group_json(r, g, lg_numbering_next(&nb, &r->set.items[g->first])));
    }
    lg_numbering_free(&nb);
    json_object_object_add(root, "findings", findings);

    const char *text = json_object_to_json_string_ext(
        root, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED | JSON_C_TO_STRING_NOSLASHESCAPE);
    int rc = text ? 0 : -1;
    if (text) {
        fputs(text, out);
        fputc('\n', out);
    }
    json_object_put(root);
    return rc;
}
