/*
 * format_dot.c - the findings' lock graph in Graphviz DOT (`lockgraph dot
 * FINDINGS...`, and the picture of the HTML report, which the verb draws).
 *
 * Does: draw the findings' cycles with each lock once (by its stable
 * identity, so a lock in two cycles is one node), a rank-violation as a
 * dashed edge from each held lock to the one taken, a self-deadlock as a
 * loop. A cycle between lock classes draws its classes as nodes (one per
 * class, folded by source line as the report groups them), labelled by
 * where their locks are made, and says on each edge which two locks it was
 * taken on. Memory: the locks and edges of the distinct findings.
 * Does not: write DOT syntax itself (dot.c), run Graphviz, or read graph
 * files (merge.c draws the union of those).
 */
#include <stdlib.h>
#include <string.h>

#include "classkey.h"
#include "dot.h"
#include "format.h"

struct node {
    uint64_t identity;
    const struct lg_finding *f; /* where it was first seen, for its label */
    const struct lg_lock *lock;
    bool on_cycle;
};


struct graph {
    struct node *nodes;
    size_t n, cap;
    struct lg_symbolizer *sym; /* folds classes by source line */
};

static size_t node_of(struct graph *g, const struct lg_finding *f, const struct lg_lock *l)
{
    bool stable;
    uint64_t id = lg_class_fold_identity(g->sym, f, l);
    id = id ? id : lg_lock_identity(f, l, &stable);
    for (size_t i = 0; i < g->n; i++)
        if (g->nodes[i].identity == id)
            return i;
    if (g->n == g->cap) {
        size_t cap = g->cap ? 2 * g->cap : 16;
        struct node *p = realloc(g->nodes, cap * sizeof *p);
        if (!p)
            return SIZE_MAX;
        g->nodes = p;
        g->cap = cap;
    }
    g->nodes[g->n] = (struct node){.identity = id, .f = f, .lock = l};
    return g->n++;
}

static void lock_label(struct lg_symbolizer *sym, const struct node *n, char *buf, size_t len)
{
    const struct lg_lock *l = n->lock;
    char site[1024] = "";
    size_t k;
    if (lg_finding_class_scope(n->f) &&
        lg_class_text(sym, n->f->modules, n->f->n_modules, l, false, site, sizeof site)) {
        /* A class: where its locks are made, a caller a line. */
        k = (size_t)snprintf(buf, len, "class %s\n", l->cls.key ? l->cls.key : "");
        for (const char *p = site; *p && k + 1 < len; p++) {
            if (strncmp(p, " called from ", 13) == 0) {
                buf[k++] = '\n';
                p++;
            }
            buf[k++] = *p;
        }
        buf[k < len ? k : len - 1] = '\0';
        return;
    }
    if (l->name)
        k = (size_t)snprintf(buf, len, "\"%s\"\n%s", l->name, l->type);
    else if (l->key)
        k = (size_t)snprintf(buf, len, "%s\n%s", l->key, l->type);
    else
        k = (size_t)snprintf(buf, len, "%s 0x%llx", l->type, (unsigned long long)l->addr);
    if (k < len && l->stack.n) {
        lg_site_text(sym, n->f->modules, n->f->n_modules, l->stack.pcs[0], site, sizeof site);
        snprintf(buf + k, len - k, "\n%s at %s", l->created ? "created" : "first locked", site);
    }
}

static size_t lock_index(const struct lg_finding *f, long id)
{
    for (size_t i = 0; i < f->n_locks; i++)
        if (f->locks[i].id == id)
            return i;
    return SIZE_MAX;
}

/* Where an edge's thread took its second lock, for a label: the innermost
 * source frame and the function it was called from (two tellers both in
 * transfer() differ by their caller). */
static void edge_site(struct lg_symbolizer *sym, const struct lg_finding *f,
                      const struct lg_stack *s, char *buf, size_t len)
{
    if (s->n == 0) {
        snprintf(buf, len, "?");
        return;
    }
    struct lg_frame chain[8], outer;
    size_t n = lg_symbolize_inline(sym, f->modules, f->n_modules, s->pcs[0], chain, 8);
    lg_frame_text(&chain[0], buf, len);
    const char *caller = NULL;
    if (n > 1)
        caller = chain[1].function;
    else if (s->n > 1) {
        lg_symbolize(sym, f->modules, f->n_modules, s->pcs[1], &outer);
        caller = outer.function;
    }
    size_t k = strlen(buf);
    if (caller && k < len)
        snprintf(buf + k, len - k, "\nin %.*s", (int)strcspn(caller, "@"), caller);
}

/* One edge of the picture, added once the nodes are written. */
struct dedge {
    size_t from, to;
    char label[1100];
    enum lg_dot_style style;
};

struct picture {
    struct lg_report *r;
    FILE *out;
    struct graph g;
    struct dedge *edges;
    size_t n_edges, cap;
};

static void *begin(struct lg_report *r, FILE *out, const struct lg_format_opts *o)
{
    (void)o;
    struct picture *pc = calloc(1, sizeof *pc);
    if (pc) {
        pc->r = r;
        pc->out = out;
        pc->g.sym = r->sym;
    }
    return pc;
}

/* The edges of one finding: a cycle's, a self-deadlock's loop, a rank
 * violation's from each held lock. */
static int group(void *state, const struct lg_group *grp, size_t number)
{
    struct picture *pc = state;
    struct graph *gr = &pc->g;
    const struct lg_finding *f = grp->finding;
    struct dedge add[64];
    size_t n_add = 0;
    if (f->kind == LG_KIND_CYCLE) {
        for (size_t i = 0; i < f->n_edges && n_add < 63; i++) {
            const struct lg_edge *e = &f->edges[i];
            size_t a = lock_index(f, e->from), b = lock_index(f, e->to);
            if (a == SIZE_MAX || b == SIZE_MAX)
                continue;
            size_t na = node_of(gr, f, &f->locks[a]), nb2 = node_of(gr, f, &f->locks[b]);
            if (na == SIZE_MAX || nb2 == SIZE_MAX)
                continue;
            gr->nodes[na].on_cycle = gr->nodes[nb2].on_cycle = true;
            char site[1024];
            edge_site(pc->r->sym, f, &e->second, site, sizeof site);
            struct dedge *d = &add[n_add++];
            d->from = na;
            d->to = nb2;
            d->style = LG_DOT_CYCLE;
            size_t k = (size_t)snprintf(d->label, sizeof d->label, "#%zu thread %ld\n%s", number,
                                        e->thread.seq, site);
            if (lg_finding_class_scope(f) && e->from_lock.known && e->to_lock.known &&
                k < sizeof d->label)
                snprintf(d->label + k, sizeof d->label - k, "\non 0x%llx -> 0x%llx",
                         (unsigned long long)e->from_lock.addr,
                         (unsigned long long)e->to_lock.addr);
        }
        /* A cycle longer than a picture can hold: the rest as one edge
         * back to where it started. */
        if (f->n_edges > 63 && n_add == 63) {
            size_t a = lock_index(f, f->edges[62].to), b = lock_index(f, f->edges[0].from);
            size_t na = a == SIZE_MAX ? SIZE_MAX : node_of(gr, f, &f->locks[a]);
            size_t nb2 = b == SIZE_MAX ? SIZE_MAX : node_of(gr, f, &f->locks[b]);
            if (na != SIZE_MAX && nb2 != SIZE_MAX) {
                struct dedge *d = &add[n_add++];
                d->from = na;
                d->to = nb2;
                d->style = LG_DOT_CYCLE;
                snprintf(d->label, sizeof d->label, "#%zu: %zu more edges, not drawn", number,
                         f->n_edges - 63);
            }
        }
    } else if (f->kind == LG_KIND_SELF_DEADLOCK) {
        size_t na = node_of(gr, f, &f->lock);
        if (na != SIZE_MAX) {
            gr->nodes[na].on_cycle = true;
            struct dedge *d = &add[n_add++];
            d->from = d->to = na;
            d->style = LG_DOT_CYCLE;
            snprintf(d->label, sizeof d->label, "self-deadlock #%zu, thread %ld", number,
                     f->thread.seq);
        }
    } else if (f->kind == LG_KIND_RANK_VIOLATION) {
        size_t nt = node_of(gr, f, &f->lock);
        for (size_t i = 0; i < f->n_held && n_add < 64 && nt != SIZE_MAX; i++) {
            size_t nh = node_of(gr, f, &f->held[i].lock);
            if (nh == SIZE_MAX)
                continue;
            struct dedge *d = &add[n_add++];
            d->from = nh;
            d->to = nt;
            d->style = LG_DOT_RANK;
            snprintf(d->label, sizeof d->label, "rank-violation #%zu (%s)", number,
                     f->held[i].why ? f->held[i].why : "order");
        }
    }
    for (size_t i = 0; i < n_add; i++) {
        if (pc->n_edges == pc->cap) {
            size_t ncap = pc->cap ? 2 * pc->cap : 16;
            struct dedge *p = realloc(pc->edges, ncap * sizeof *p);
            if (!p)
                break;
            pc->edges = p;
            pc->cap = ncap;
        }
        pc->edges[pc->n_edges++] = add[i];
    }
    return 0;
}

static int end(void *state)
{
    struct picture *pc = state;
    FILE *out = pc->out;
    lg_dot_begin(out, pc->n_edges ? "lockgraph: the locks of the findings (red: a cycle)"
                                  : "lockgraph: no lock-order cycle");
    for (size_t i = 0; i < pc->g.n; i++) {
        char label[2048];
        lock_label(pc->r->sym, &pc->g.nodes[i], label, sizeof label);
        lg_dot_node(out, i, label, pc->g.nodes[i].on_cycle);
    }
    for (size_t i = 0; i < pc->n_edges; i++)
        lg_dot_edge(out, pc->edges[i].from, pc->edges[i].to, pc->edges[i].label, pc->edges[i].style,
                    false);
    lg_dot_end(out);
    free(pc->edges);
    free(pc->g.nodes);
    free(pc);
    return 0;
}

const struct lg_format lg_format_dot = {.name = "dot",
                                        .utf8 = true,
                                        .all_seen = false,
                                        .streams = false,
                                        .begin = begin,
                                        .group = group,
                                        .end = end};
