/*
 * merge.c - the `merge` verb, and the union of graph files as text, JSON
 * and DOT.
 *
 * Does: read every graph file (a file that cannot be used is named and
 * left out, the rest still merged), union them by key (keygraph.c), find
 * the cycles, suppress those a suppressions rule matches (its keys and
 * names are the locks, its edges' stacks the stacks), and print each cycle:
 * its locks, each edge with the files it came from and one instance's
 * symbolized stacks, a lockdep-style scenario, and whether one run already
 * had it. Exit: 1 a cycle, 0 none, 2 no cycle but some input could not be
 * read, or bad usage.
 * Does not: read findings files (report.c), or write rank files (ranks.c).
 */
#include "merge.h"

#include <json.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "dot.h"
#include "outfile.h"
#include "summary.h"
#include "symjson.h"

/* Files named for one edge before "and N more". */
#define MAX_FILES_NAMED 4

static const char *plural(size_t n, const char *one, const char *many)
{
    return n == 1 ? one : many;
}

/* ---- loading ---- */

static void suppress_cycles(struct lg_merge *m)
{
    for (size_t c = 0; c < m->n_cycles; c++) {
        const struct lg_keycycle *cy = &m->cycles[c];
        size_t also = 0;
        for (size_t i = 0; i < cy->n; i++) {
            struct lg_keyedge_view e;
            struct lg_keynode_view v;
            lg_keygraph_edge_view(m->kg, cy->edges[i], &e);
            lg_keygraph_node_view(m->kg, e.from, &v);
            also += v.n_also;
        }
        const char **locks = calloc(2 * cy->n + also + 1, sizeof *locks);
        struct lg_supp_stack *stacks = calloc(3 * cy->n + 1, sizeof *stacks);
        size_t nl = 0, ns = 0;
        if (!locks || !stacks) {
            free(locks);
            free(stacks);
            continue;
        }
        for (size_t i = 0; i < cy->n; i++) {
            struct lg_keyedge_view e;
            struct lg_keynode_view v;
            lg_keygraph_edge_view(m->kg, cy->edges[i], &e);
            lg_keygraph_node_view(m->kg, e.from, &v);
            locks[nl++] = v.key;
            for (size_t k = 0; k < v.n_also; k++)
                locks[nl++] = v.also[k];
            if (v.lock && v.lock->name)
                locks[nl++] = v.lock->name;
            const struct lg_graph_file *g = lg_keygraph_file(m->kg, e.files[0]);
            const struct lg_graph_edge *l = e.inst;
            stacks[ns++] = (struct lg_supp_stack){&l->first, g->modules, g->n_modules};
            stacks[ns++] = (struct lg_supp_stack){&l->second, g->modules, g->n_modules};
            if (v.lock) {
                const struct lg_graph_file *lg = lg_keygraph_file(m->kg, v.lock_file);
                stacks[ns++] = (struct lg_supp_stack){&v.lock->stack, lg->modules, lg->n_modules};
            }
        }
        struct lg_supp_subject subj = {.kind = "lock-order-cycle",
                                       .locks = locks,
                                       .n_locks = nl,
                                       .stacks = stacks,
                                       .n_stacks = ns};
        if (lg_supp_match(&m->supp, &subj, m->sym)) {
            m->hidden[c] = true;
            m->suppressed++;
        }
        free(locks);
        free(stacks);
    }
}

int lg_merge_load(struct lg_merge *m, char *const *paths, size_t n_paths,
                  const char *const *supp_paths, size_t n_supp, FILE *diag)
{
    memset(m, 0, sizeof *m);
    m->paths = paths;
    m->n_paths = n_paths;
    lg_supp_init(&m->supp);
    bool bad = false;
    for (size_t i = 0; i < n_supp; i++)
        if (lg_supp_load(&m->supp, supp_paths[i], diag) != 0)
            bad = true;
    if (bad) {
        fprintf(diag, "lockgraph: the suppressions could not be read; nothing reported\n");
        return -1;
    }
    m->kg = lg_keygraph_new();
    m->sym = lg_symbolizer_new(diag);
    if (!m->kg || !m->sym) {
        fprintf(diag, "lockgraph: out of memory\n");
        return -1;
    }
    /* Classes whose init sites are one source line are one node. */
    lg_keygraph_fold_sites(m->kg, m->sym);
    /* One file at a time: read, folded in, its lines dropped. */
    for (size_t i = 0; i < n_paths; i++) {
        struct lg_graph_file g;
        if (lg_graph_read(paths[i], &g, diag) != 0) {
            m->unreadable++;
            continue;
        }
        m->bad_lines += g.bad_lines;
        m->n_files++;
        if (lg_keygraph_take(m->kg, &g) != 0) {
            fprintf(diag, "lockgraph: out of memory\n");
            return -1;
        }
    }
    if (lg_keygraph_cycles(m->kg, LG_MERGE_MAX_CYCLES, &m->cycles, &m->n_cycles, &m->capped) != 0 ||
        !(m->hidden = calloc(m->n_cycles ? m->n_cycles : 1, sizeof *m->hidden))) {
        fprintf(diag, "lockgraph: out of memory\n");
        return -1;
    }
    suppress_cycles(m);
    fflush(diag);
    return 0;
}

void lg_merge_free(struct lg_merge *m)
{
    lg_keycycles_free(m->cycles, m->n_cycles);
    lg_keygraph_free(m->kg);
    free(m->hidden);
    lg_supp_free(&m->supp);
    lg_symbolizer_free(m->sym);
    memset(m, 0, sizeof *m);
}

size_t lg_merge_shown(const struct lg_merge *m, size_t *only_union)
{
    size_t n = 0, u = 0;
    for (size_t c = 0; c < m->n_cycles; c++) {
        if (m->hidden[c])
            continue;
        n++;
        if (m->cycles[c].single_file == SIZE_MAX)
            u++;
    }
    if (only_union)
        *only_union = u;
    return n;
}

/* ---- text ---- */

/* A key as it is when it is one plain word, else quoted. */
static void put_key(FILE *out, const char *key)
{
    for (const char *c = key; *c; c++)
        if ((unsigned char)*c <= ' ' || *c == '"' || *c == '\\' || *c == 0x7f) {
            lg_put_quoted(out, key);
            return;
        }
    fputs(key, out);
}

static void file_name(FILE *out, const struct lg_graph_file *g)
{
    fprintf(out, "%s (pid %ld)", g->path, g->pid);
}

static void print_files(struct lg_merge *m, const struct lg_keyedge_view *e, FILE *out)
{
    for (size_t i = 0; i < e->n_files; i++) {
        if (i == MAX_FILES_NAMED && e->n_files > MAX_FILES_NAMED + 1) {
            fprintf(out, " and %zu more files", e->n_files - i);
            break;
        }
        if (i > 0)
            fputs(i + 1 == e->n_files ? " and " : ", ", out);
        file_name(out, lg_keygraph_file(m->kg, e->files[i]));
    }
}

/* The lockdep-style table, for threads that ran in different processes:
 * they are lettered, since their numbers belong to their own runs. Lock
 * classes (`classes`) are C1, C2...: the threads meet on one lock of each. */
static void print_scenario(FILE *out, size_t n, bool classes)
{
    const char *l = classes ? "C" : "L";
    char a[64], b[64];
    if (n == 2) {
        fprintf(out, "   Possible scenario, when these paths run at once in one process%s:\n",
                classes ? ", on the same C1 lock and C2 lock" : "");
        fprintf(out, "       %-24s%s\n", "thread A (edge 1)", "thread B (edge 2)");
        fprintf(out, "       %-24s%s\n", "--------", "--------");
        fprintf(out, "       lock(%s1)\n", l);
        snprintf(a, sizeof a, "lock(%s2)", l);
        fprintf(out, "       %-24s%s\n", "", a);
        fprintf(out, "       lock(%s2)  <- waits for thread B\n", l);
        snprintf(b, sizeof b, "lock(%s1)  <- waits for thread A: deadlock", l);
        fprintf(out, "       %-24s%s\n", "", b);
        return;
    }
    if (classes)
        fputs("   Possible scenario, when these paths run at once in one process: each thread\n"
              "   holds a lock of one class and waits for the lock of the next class that the\n"
              "   next thread holds:\n",
              out);
    else
        fputs("   Possible scenario, when these paths run at once in one process: each thread\n"
              "   holds one lock and waits for the next:\n",
              out);
    for (size_t i = 0; i < n; i++) {
        if (i == LG_SUMMARY_MAX_EDGES - 1 && n > LG_SUMMARY_MAX_EDGES) {
            fprintf(out, "       ... %zu more steps ...\n", n - LG_SUMMARY_MAX_EDGES);
            i = n - 1;
        }
        fprintf(out, "       thread #%zu (edge %zu) holds %s%zu, waits for %s%zu%s\n", i + 1, i + 1,
                l, i + 1, l, i + 1 == n ? 1 : i + 2, i + 1 == n ? ": deadlock" : "");
    }
}

static void print_cycle(struct lg_merge *m, size_t c, size_t number, FILE *out)
{
    const struct lg_keycycle *cy = &m->cycles[c];
    size_t n = cy->n, shown = n < LG_SUMMARY_MAX_EDGES ? n : LG_SUMMARY_MAX_EDGES;
    /* The graph files' vertices are lock classes (C1, C2..., as the
     * findings report names them), or locks (L1...: classes=0). */
    bool classes = lg_keygraph_classes(m->kg);
    const char *l = classes ? "C" : "L";
    if (classes)
        fprintf(out, "== merged lock-order-cycle #%zu: potential deadlock between %zu lock %s; ",
                number, n, plural(n, "class", "classes"));
    else
        fprintf(out, "== merged lock-order-cycle #%zu: potential deadlock among %zu %s; ", number,
                n, plural(n, "lock", "locks"));
    if (cy->single_file == SIZE_MAX) {
        fputs("only the union of the runs shows it\n", out);
    } else {
        file_name(out, lg_keygraph_file(m->kg, cy->single_file));
        fputs(" already had it\n", out);
    }
    for (size_t i = 0; i < shown; i++) {
        struct lg_keyedge_view e;
        struct lg_keynode_view v;
        lg_keygraph_edge_view(m->kg, cy->edges[i], &e);
        lg_keygraph_node_view(m->kg, e.from, &v);
        fprintf(out, "   %s %s%zu ", classes ? "class" : "lock", l, i + 1);
        put_key(out, v.key);
        if (v.file != SIZE_MAX)
            fprintf(out, " (in %s only: an address is not stable across runs)",
                    lg_keygraph_file(m->kg, v.file)->path);
        fputs(": ", out);
        lg_keygraph_describe_node(m->kg, e.from, out, m->sym);
        fputc('\n', out);
    }
    if (n > shown)
        fprintf(out, "   ... and %zu more %s (%s%zu to %s%zu)\n", n - shown,
                classes ? "classes" : "locks", l, shown + 1, l, n);
    fputc('\n', out);

    for (size_t i = 0; i < shown; i++) {
        struct lg_keyedge_view e;
        lg_keygraph_edge_view(m->kg, cy->edges[i], &e);
        const struct lg_graph_file *g = lg_keygraph_file(m->kg, e.files[0]);
        const struct lg_graph_edge *gl = e.inst;
        size_t a = i + 1, b = i + 1 == n ? 1 : i + 2;
        fprintf(out, "   edge %s%zu -> %s%zu, from ", l, a, l, b);
        print_files(m, &e, out);
        fprintf(out, ", %ld %s", e.instances, plural((size_t)e.instances, "instance", "instances"));
        if (!e.held_exclusive)
            fprintf(out, ", %s%zu held shared", l, a);
        if (!e.waited_exclusive)
            fprintf(out, ", %s%zu waited for shared", l, b);
        if (e.gate) {
            fputs(", under gate ", out);
            put_key(out, e.gate);
        }
        fprintf(out, ":\n     one instance, %s:%zu", g->path, gl->line);
        if (gl->thread.tid || gl->thread.seq || gl->thread.name) {
            fputs(", by ", out);
            lg_print_thread(out, &gl->thread);
        }
        if (gl->timed)
            fputs(", with a timed lock", out);
        fprintf(out, ":\n     holds %s%s%zu%s, taken at:\n", classes ? "a " : "", l, a,
                classes ? " lock" : "");
        lg_print_stack(out, m->sym, g->modules, g->n_modules, &gl->first, "       ",
                       !gl->first_exact);
        fprintf(out, "     then takes %s%s%zu%s at:\n", classes ? "a " : "", l, b,
                classes ? " lock" : "");
        lg_print_stack(out, m->sym, g->modules, g->n_modules, &gl->second, "       ", false);
    }
    if (n > shown)
        fprintf(out, "   ... and %zu more edges, %s%zu -> ... -> %s1, not shown in full\n",
                n - shown, l, shown + 1, l);
    fputc('\n', out);
    print_scenario(out, n, classes);
    if (cy->single_file == SIZE_MAX) {
        /* Which run had which part. */
        fputs("   No single run had the whole cycle:", out);
        for (size_t f = 0; f < lg_keygraph_n_files(m->kg); f++) {
            size_t count = 0;
            for (size_t i = 0; i < n; i++) {
                struct lg_keyedge_view e;
                lg_keygraph_edge_view(m->kg, cy->edges[i], &e);
                for (size_t j = 0; j < e.n_files; j++)
                    if (e.files[j] == f)
                        count++;
            }
            if (count == 0)
                continue;
            fputs("\n     ", out);
            fputs(lg_keygraph_file(m->kg, f)->path, out);
            fputs(" has", out);
            const char *sep = " ";
            for (size_t i = 0; i < n && i < LG_SUMMARY_MAX_EDGES; i++) {
                struct lg_keyedge_view e;
                lg_keygraph_edge_view(m->kg, cy->edges[i], &e);
                for (size_t j = 0; j < e.n_files; j++)
                    if (e.files[j] == f) {
                        fprintf(out, "%s%s%zu -> %s%zu", sep, l, i + 1, l,
                                i + 1 == n ? (size_t)1 : i + 2);
                        sep = ", ";
                    }
            }
        }
        fputc('\n', out);
    }
    if (classes)
        fputs("   Fix: take locks of these classes in one order everywhere, or guard all the "
              "paths with one\n   outer lock.\n\n",
              out);
    else
        fputs("   Fix: take these locks in one order everywhere, or guard all the paths with one "
              "outer lock.\n\n",
              out);
}

static void closing(struct lg_merge *m, FILE *out)
{
    size_t only_union = 0, shown = lg_merge_shown(m, &only_union);
    if (shown == 0)
        fprintf(out, "lockgraph merge: no lock-order cycle");
    else
        fprintf(out,
                "lockgraph merge: %zu lock-order %s (%zu only in the union, %zu already in one "
                "run)",
                shown, plural(shown, "cycle", "cycles"), only_union, shown - only_union);
    /* What the nodes are: lock classes, or (classes=0, earlier versions)
     * the locks of one stable key each. */
    size_t nodes = lg_keygraph_n_nodes(m->kg);
    fprintf(out, " in the union of %zu graph %s: %zu %s, %zu %s", m->n_files,
            plural(m->n_files, "file", "files"), nodes,
            lg_keygraph_classes(m->kg) ? plural(nodes, "lock class", "lock classes")
                                       : plural(nodes, "key", "keys"),
            lg_keygraph_n_edges(m->kg), plural(lg_keygraph_n_edges(m->kg), "edge", "edges"));
    if (m->capped)
        fprintf(out, "; more cycles than the %d listed", LG_MERGE_MAX_CYCLES);
    if (m->suppressed)
        fprintf(out, "; %zu suppressed", m->suppressed);
    if (m->bad_lines)
        fprintf(out, "; %zu bad %s skipped", m->bad_lines, plural(m->bad_lines, "line", "lines"));
    if (m->unreadable)
        fprintf(out, "; %zu unreadable %s", m->unreadable, plural(m->unreadable, "file", "files"));
    fputc('\n', out);
}

void lg_merge_text(struct lg_merge *m, FILE *out)
{
    size_t number = 0;
    for (size_t c = 0; c < m->n_cycles; c++)
        if (!m->hidden[c])
            print_cycle(m, c, ++number, out);
    for (size_t i = 0; i < m->supp.n; i++) {
        const struct lg_supp_rule *r = &m->supp.rules[i];
        if (r->hits)
            fprintf(out, "suppressed %zu %s by %s:%zu (%s)\n", r->hits,
                    plural(r->hits, "cycle", "cycles"), r->path, r->line, r->text);
    }
    closing(m, out);
    fflush(out);
}

/* ---- JSON ---- */

static json_object *str_or_null(const char *s)
{
    return s ? json_object_new_string(s) : NULL;
}

static json_object *thread_json(const struct lg_thread *t)
{
    json_object *o = json_object_new_object();
    json_object_object_add(o, "tid", json_object_new_int64(t->tid));
    json_object_object_add(o, "seq", json_object_new_int64(t->seq));
    if (t->name)
        json_object_object_add(o, "name", json_object_new_string(t->name));
    return o;
}

static json_object *cycle_json(struct lg_merge *m, size_t c, size_t number)
{
    const struct lg_keycycle *cy = &m->cycles[c];
    json_object *o = json_object_new_object(), *locks = json_object_new_array();
    json_object *edges = json_object_new_array();
    json_object_object_add(o, "number", json_object_new_int64((int64_t)number));
    /* As a finding's: between lock classes, or between locks (by key). */
    json_object_object_add(
        o, "scope", json_object_new_string(lg_keygraph_classes(m->kg) ? "class" : "instance"));
    json_object_object_add(o, "only_in_union",
                           json_object_new_boolean(cy->single_file == SIZE_MAX));
    json_object_object_add(
        o, "single_run",
        cy->single_file == SIZE_MAX
            ? NULL
            : json_object_new_string(lg_keygraph_file(m->kg, cy->single_file)->path));
    for (size_t i = 0; i < cy->n; i++) {
        struct lg_keyedge_view e;
        struct lg_keynode_view v, w;
        lg_keygraph_edge_view(m->kg, cy->edges[i], &e);
        lg_keygraph_node_view(m->kg, e.from, &v);
        lg_keygraph_node_view(m->kg, e.to, &w);
        char la[32], lb[32];
        snprintf(la, sizeof la, "L%zu", i + 1);
        snprintf(lb, sizeof lb, "L%zu", i + 1 == cy->n ? (size_t)1 : i + 2);

        json_object *l = json_object_new_object();
        json_object_object_add(l, "label", json_object_new_string(la));
        json_object_object_add(l, "key", json_object_new_string(v.key));
        if (v.n_also) {
            /* Keys of one class, folded by source line. */
            json_object *also = json_object_new_array();
            for (size_t k = 0; k < v.n_also; k++)
                json_object_array_add(also, json_object_new_string(v.also[k]));
            json_object_object_add(l, "also_keys", also);
        }
        if (v.lock) {
            json_object_object_add(l, "class_kind", str_or_null(v.lock->class_kind));
            const struct lg_graph_file *lf = lg_keygraph_file(m->kg, v.lock_file);
            json_object_object_add(l, "type", json_object_new_string(v.lock->type));
            json_object_object_add(l, "name", str_or_null(v.lock->name));
            json_object_object_add(l, "created", json_object_new_boolean(v.lock->created));
            json_object_object_add(
                l, "stack_symbolized",
                lg_frames_json(m->sym, lf->modules, lf->n_modules, &v.lock->stack));
        }
        json_object_array_add(locks, l);

        json_object *ej = json_object_new_object(), *files = json_object_new_array();
        json_object_object_add(ej, "from", json_object_new_string(la));
        json_object_object_add(ej, "to", json_object_new_string(lb));
        json_object_object_add(ej, "from_key", json_object_new_string(v.key));
        json_object_object_add(ej, "to_key", json_object_new_string(w.key));
        json_object_object_add(ej, "instances", json_object_new_int64(e.instances));
        json_object_object_add(ej, "held",
                               json_object_new_string(e.held_exclusive ? "exclusive" : "shared"));
        json_object_object_add(ej, "waited",
                               json_object_new_string(e.waited_exclusive ? "exclusive" : "shared"));
        json_object_object_add(ej, "gate", str_or_null(e.gate));
        for (size_t j = 0; j < e.n_files; j++)
            json_object_array_add(
                files, json_object_new_string(lg_keygraph_file(m->kg, e.files[j])->path));
        json_object_object_add(ej, "files", files);
        const struct lg_graph_file *g = lg_keygraph_file(m->kg, e.files[0]);
        const struct lg_graph_edge *gl = e.inst;
        json_object *ex = json_object_new_object();
        json_object_object_add(ex, "file", json_object_new_string(g->path));
        json_object_object_add(ex, "line", json_object_new_int64((int64_t)gl->line));
        json_object_object_add(ex, "pid", json_object_new_int64(g->pid));
        json_object_object_add(ex, "thread", thread_json(&gl->thread));
        json_object_object_add(ex, "first_stack_symbolized",
                               lg_frames_json(m->sym, g->modules, g->n_modules, &gl->first));
        json_object_object_add(ex, "second_stack_symbolized",
                               lg_frames_json(m->sym, g->modules, g->n_modules, &gl->second));
        json_object_object_add(ej, "example", ex);
        json_object_array_add(edges, ej);
    }
    json_object_object_add(o, "locks", locks);
    json_object_object_add(o, "edges", edges);
    return o;
}

int lg_merge_json(struct lg_merge *m, FILE *out)
{
    json_object *root = json_object_new_object();
    if (!root)
        return -1;
    json_object_object_add(root, "tool", json_object_new_string("lockgraph"));
    json_object_object_add(root, "version", json_object_new_string(LG_VERSION));
    json_object_object_add(root, "format", json_object_new_int(1));
    json_object *files = json_object_new_array();
    for (size_t i = 0; i < m->n_files; i++) {
        const struct lg_graph_file *g = lg_keygraph_file(m->kg, i);
        json_object *f = json_object_new_object();
        json_object_object_add(f, "path", json_object_new_string(g->path));
        json_object_object_add(f, "pid", json_object_new_int64(g->pid));
        json_object_object_add(f, "exe", str_or_null(g->exe));
        json_object_object_add(f, "complete", json_object_new_boolean(g->complete));
        /* "locks": its graph-lock lines, lock classes when "classes". */
        json_object_object_add(f, "locks", json_object_new_int64((int64_t)g->read_locks));
        json_object_object_add(f, "classes", json_object_new_boolean(g->classes));
        json_object_object_add(f, "edges", json_object_new_int64((int64_t)g->read_edges));
        json_object_array_add(files, f);
    }
    json_object_object_add(root, "files", files);
    json_object *cycles = json_object_new_array();
    size_t number = 0;
    for (size_t c = 0; c < m->n_cycles; c++)
        if (!m->hidden[c])
            json_object_array_add(cycles, cycle_json(m, c, ++number));
    json_object_object_add(root, "cycles", cycles);
    size_t only_union = 0, shown = lg_merge_shown(m, &only_union);
    json_object *sum = json_object_new_object();
    json_object_object_add(sum, "cycles", json_object_new_int64((int64_t)shown));
    json_object_object_add(sum, "only_in_union", json_object_new_int64((int64_t)only_union));
    json_object_object_add(sum, "suppressed", json_object_new_int64((int64_t)m->suppressed));
    json_object_object_add(sum, "capped", json_object_new_boolean(m->capped));
    json_object_object_add(sum, "keys", json_object_new_int64((int64_t)lg_keygraph_n_nodes(m->kg)));
    json_object_object_add(sum, "edges",
                           json_object_new_int64((int64_t)lg_keygraph_n_edges(m->kg)));
    json_object_object_add(sum, "unreadable_files", json_object_new_int64((int64_t)m->unreadable));
    json_object_object_add(sum, "bad_lines", json_object_new_int64((int64_t)m->bad_lines));
    json_object_object_add(root, "summary", sum);
    const char *s = json_object_to_json_string_ext(
        root, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED | JSON_C_TO_STRING_NOSLASHESCAPE);
    int rc = s ? 0 : -1;
    if (s) {
        fputs(s, out);
        fputc('\n', out);
    }
    json_object_put(root);
    return rc;
}

/* ---- DOT ---- */

void lg_merge_dot(struct lg_merge *m, FILE *out)
{
    size_t nn = lg_keygraph_n_nodes(m->kg), ne = lg_keygraph_n_edges(m->kg);
    /* Edges on a shown cycle: their cycle numbers. */
    char **labels = calloc(ne ? ne : 1, sizeof *labels);
    bool *on_cycle = calloc(nn ? nn : 1, sizeof *on_cycle);
    size_t number = 0;
    for (size_t c = 0; labels && on_cycle && c < m->n_cycles; c++) {
        if (m->hidden[c])
            continue;
        number++;
        const struct lg_keycycle *cy = &m->cycles[c];
        for (size_t i = 0; i < cy->n; i++) {
            size_t k = cy->edges[i];
            struct lg_keyedge_view e;
            lg_keygraph_edge_view(m->kg, k, &e);
            on_cycle[e.from] = true;
            char add[32];
            snprintf(add, sizeof add, "%s#%zu", labels[k] ? ", " : "", number);
            size_t old = labels[k] ? strlen(labels[k]) : 0;
            char *p = realloc(labels[k], old + strlen(add) + 1);
            if (!p)
                continue;
            memcpy(p + old, add, strlen(add) + 1);
            labels[k] = p;
        }
    }
    bool classes = lg_keygraph_classes(m->kg);
    lg_dot_begin(out, classes ? "lockgraph merge: the union of the lock-class graphs"
                              : "lockgraph merge: the union of the lock graphs");
    for (size_t v = 0; v < nn; v++) {
        struct lg_keynode_view nv;
        lg_keygraph_node_view(m->kg, v, &nv);
        char *desc = NULL;
        size_t len = 0;
        FILE *d = open_memstream(&desc, &len);
        if (d) {
            if (nv.lock && nv.lock->name) {
                lg_put_quoted(d, nv.lock->name);
                fputc('\n', d);
            }
            /* "class KEY", as the findings' picture labels a class. */
            fprintf(d, "%s%s", classes ? "class " : "", nv.key);
            if (nv.lock && nv.lock->stack.n) {
                const struct lg_graph_file *g = lg_keygraph_file(m->kg, nv.lock_file);
                char site[1024];
                lg_site_text(m->sym, g->modules, g->n_modules, nv.lock->stack.pcs[0], site,
                             sizeof site);
                fprintf(d, "\n%s at %s", nv.lock->created ? "created" : "first locked", site);
            }
            fclose(d);
        }
        lg_dot_node(out, v, desc ? desc : nv.key, on_cycle && on_cycle[v]);
        free(desc);
    }
    for (size_t k = 0; k < ne; k++) {
        struct lg_keyedge_view e;
        lg_keygraph_edge_view(m->kg, k, &e);
        /* Which run it came from: the first file, and how many more. */
        char label[512], more[32] = "";
        const char *path = lg_keygraph_file(m->kg, e.files[0])->path, *slash = strrchr(path, '/');
        if (e.n_files > 1)
            snprintf(more, sizeof more, " +%zu", e.n_files - 1);
        snprintf(label, sizeof label, "%s%s%ldx\n%s%s", labels && labels[k] ? labels[k] : "",
                 labels && labels[k] ? ": " : "", e.instances, slash ? slash + 1 : path, more);
        lg_dot_edge(out, e.from, e.to, label,
                    labels && labels[k] ? LG_DOT_CYCLE : (e.gate ? LG_DOT_GATED : LG_DOT_PLAIN),
                    !e.held_exclusive || !e.waited_exclusive);
    }
    lg_dot_end(out);
    for (size_t k = 0; labels && k < ne; k++)
        free(labels[k]);
    free(labels);
    free(on_cycle);
}

/* ---- the verb ---- */

__attribute__((format(printf, 1, 2))) static int usage_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "lockgraph merge: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n\n");
    va_end(ap);
    lg_usage_verb(stderr, "merge");
    return LG_EXIT_USAGE;
}

/* The value of option `name` at argv[*i] ("--name V", "--name=V", "-oV"),
 * "" when it has none, NULL when argv[*i] is another option. */
static const char *opt_value(int argc, char **argv, int *i, const char *name)
{
    const char *a = argv[*i];
    size_t n = strlen(name);
    if (strncmp(a, name, n) != 0)
        return NULL;
    if (a[n] == '\0')
        return *i + 1 < argc ? argv[++*i] : "";
    if (a[n] == '=' && name[1] == '-')
        return a + n + 1;
    if (name[1] != '-')
        return a + n;
    return NULL;
}

int lg_cmd_merge(int argc, char **argv)
{
    const char *output = NULL, *supp[16];
    size_t n_supp = 0;
    bool json = false, options_done = false;
    char env_supp[4096];
    if (lg_help_asked(argc, argv)) {
        lg_usage_verb(stdout, "merge");
        return LG_EXIT_OK;
    }
    char **paths = calloc((size_t)argc, sizeof *paths);
    size_t n = 0;
    if (!paths)
        return LG_EXIT_TOOL_FAILED;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v;
        if (options_done || a[0] != '-' || a[1] == '\0') {
            paths[n++] = argv[i];
            continue;
        }
        if (strcmp(a, "--") == 0) {
            options_done = true;
        } else if ((v = opt_value(argc, argv, &i, "-o")) ||
                   (v = opt_value(argc, argv, &i, "--output"))) {
            if (!*v || output) {
                free(paths);
                return usage_error("%s", output ? "-o given twice" : "-o needs a file name");
            }
            output = v;
        } else if ((v = opt_value(argc, argv, &i, "--format"))) {
            if (strcmp(v, "json") == 0)
                json = true;
            else if (strcmp(v, "text") == 0)
                json = false;
            else {
                free(paths);
                return usage_error("unknown format '%s' (text or json)", v);
            }
        } else if ((v = opt_value(argc, argv, &i, "--suppressions"))) {
            if (!*v || n_supp == 16) {
                free(paths);
                return usage_error("--suppressions needs a file name");
            }
            supp[n_supp++] = v;
        } else {
            free(paths);
            return usage_error("unknown option '%s'", a);
        }
    }
    if (n == 0) {
        free(paths);
        return usage_error("no graph file given");
    }
    if (n_supp == 0 && lg_supp_from_options(getenv("LOCKGRAPH_OPTIONS"), env_supp, sizeof env_supp))
        supp[n_supp++] = env_supp;

    struct lg_merge m;
    int rc;
    if (lg_merge_load(&m, paths, n, supp, n_supp, stderr) != 0) {
        rc = LG_EXIT_USAGE;
        goto done;
    }
    fflush(stderr);
    bool to_file = output && strcmp(output, "-") != 0;
    if (to_file && m.n_files == 0) {
        /* Nothing read: a report of nothing is not written. */
        closing(&m, stderr);
        fprintf(stderr, "lockgraph merge: no input could be read; %s not written\n", output);
        rc = LG_EXIT_USAGE;
        goto done;
    }
    /* Written as it is made (its size follows the cycles); JSON must be
     * valid UTF-8 whatever the keys and paths hold. */
    struct lg_outfile out;
    if (lg_outfile_open(&out, output, json, "merge") != 0) {
        rc = LG_EXIT_USAGE;
        goto done;
    }
    if (json)
        lg_merge_json(&m, out.fp);
    else
        lg_merge_text(&m, out.fp);
    if (lg_outfile_commit(&out) != 0)
        rc = LG_EXIT_USAGE;
    else if (lg_merge_shown(&m, NULL) > 0)
        rc = LG_EXIT_CYCLE;
    else if (m.unreadable > 0 || m.n_files == 0)
        rc = LG_EXIT_USAGE;
    else
        rc = LG_EXIT_OK;
    if (to_file && rc != LG_EXIT_USAGE)
        closing(&m, stderr);
done:
    lg_merge_free(&m);
    free(paths);
    return rc;
}
