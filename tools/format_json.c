/*
 * format_json.c - `lockgraph report --format json`: the report as one JSON
 * document for other programs.
 *
 * Does: each distinct finding as the library wrote it (any kind, known or
 * not), with every stack symbolized beside it ("second_stack" gets
 * "second_stack_symbolized"), every place it was seen, and the counts,
 * suppressions and input problems of the whole report. Written as it is
 * made (jsonout.h): one finding, and one place it was seen, in memory at
 * a time.
 * Does not: add interpretation the finding does not carry (the text and
 * HTML reports do that); the shape of a finding is FINDINGS.md's.
 */
#include <json.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "format.h"
#include "jsonout.h"
#include "symjson.h"

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
static void symbolize_tree(struct lg_symbolizer *sym, const struct lg_finding *f, json_object *v,
                           int depth)
{
    if (depth > 8)
        return;
    if (json_object_is_type(v, json_type_array)) {
        size_t n = json_object_array_length(v);
        for (size_t i = 0; i < n; i++)
            symbolize_tree(sym, f, json_object_array_get_idx(v, i), depth + 1);
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
            json_object *frames = lg_frames_json(sym, f->modules, f->n_modules, &s);
            if (frames)
                json_object_object_add(v, name, frames);
            free(s.pcs);
        } else {
            symbolize_tree(sym, f, m, depth + 1);
        }
    }
    free(keys);
}

struct json {
    struct lg_report *r;
    FILE *out;
    struct lg_json_splice findings;
};

static void *begin(struct lg_report *r, FILE *out, const struct lg_format_opts *o)
{
    (void)o;
    struct json *j = calloc(1, sizeof *j);
    json_object *root = json_object_new_object();
    if (!j || !root) {
        free(j);
        json_object_put(root);
        return NULL;
    }
    j->r = r;
    j->out = out;
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
    for (size_t i = 0; i < r->n_groups; i++) {
        const char *k = lg_finding_kind(r->groups[i].finding);
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
    json_object_array_add(findings, lg_json_splice_mark());
    json_object_object_add(root, "findings", findings);
    int rc = lg_json_splice_begin(&j->findings, root, out, 0);
    json_object_put(root);
    if (rc != 0) {
        free(j);
        return NULL;
    }
    return j;
}

static json_object *seen_json(const struct lg_seen *m)
{
    json_object *e = json_object_new_object();
    json_object_object_add(e, "file", json_object_new_string(m->file));
    json_object_object_add(e, "line", json_object_new_int64((int64_t)m->line));
    json_object_object_add(e, "pid", json_object_new_int64(m->pid));
    return e;
}

static int group(void *state, const struct lg_group *g, size_t number)
{
    struct json *j = state;
    const struct lg_finding *f = g->finding;
    json_object *o = json_object_new_object();
    if (!o)
        return -1;
    json_object_object_add(o, "kind", json_object_new_string(lg_finding_kind(f)));
    json_object_object_add(o, "number", json_object_new_int64((int64_t)number));
    json_object_object_add(o, "count", json_object_new_int64((int64_t)g->n));
    json_object_object_add(o, "processes", json_object_new_int64((int64_t)g->processes));
    json_object_object_add(o, "code_paths", json_object_new_int64((int64_t)g->paths));
    json_object *occ = json_object_new_array();
    json_object_array_add(occ, lg_json_splice_mark());
    json_object_object_add(o, "occurrences", occ);
    json_object *copy = NULL;
    if (f->raw && json_object_deep_copy(f->raw, &copy, NULL) == 0 && copy) {
        symbolize_tree(j->r->sym, f, copy, 0);
        json_object_object_add(o, "finding", copy);
    }
    /* The places, one at a time: a finding seen a hundred thousand times
     * is a hundred thousand of them. */
    struct lg_json_splice places;
    size_t indent = lg_json_splice_item_begin(&j->findings);
    int rc = lg_json_splice_begin(&places, o, j->out, indent);
    json_object_put(o);
    if (rc != 0)
        return -1;
    for (size_t i = 0; i < g->n_seen && rc == 0; i++) {
        json_object *e = seen_json(&g->seen[i]);
        rc = e ? lg_json_splice_item(&places, e) : -1;
        json_object_put(e);
    }
    lg_json_splice_end(&places);
    return rc;
}

static int end(void *state)
{
    struct json *j = state;
    lg_json_splice_end(&j->findings);
    fputc('\n', j->out);
    free(j);
    return 0;
}

const struct lg_format lg_format_json = {.name = "json",
                                         .utf8 = true,
                                         .all_seen = true,
                                         .streams = false,
                                         .begin = begin,
                                         .group = group,
                                         .end = end};
