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
 * taken on. Two locks of one class in one finding (an instance cycle
 * closed by two accounts made at one site, transfer(a, b) against
 * transfer(b, a); two of them nested against their declared order) are
 * drawn as two nodes, each lock by its address, inside a dashed box that
 * names their class: their one class node would be a loop, which reads as
 * a lock taken twice. Memory: the locks and edges of the distinct findings.
 * Does not: write DOT syntax itself (dot.c), run Graphviz, or read graph
 * files (merge.c draws the union of those).
 */
#include <stdlib.h>
#include <string.h>

#include "classkey.h"
#include "dot.h"
#include "format.h"
#include "hash.h"

struct node {
    uint64_t identity;
    const struct lg_finding *f; /* where it was first seen, for its label */
    const struct lg_lock *lock;
    bool on_cycle;
    uint64_t cluster; /* one lock among others of its class: the class's identity; 0 none */
};

struct graph {
    struct node *nodes;
    size_t n, cap;
    struct lg_symbolizer *sym; /* folds classes by source line */
};

/* What a lock is drawn as: its class (folded by source line), or the lock
 * itself when it has none. */
static uint64_t identity_of(struct graph *g, const struct lg_finding *f, const struct lg_lock *l)
{
    bool stable;
    uint64_t id = lg_class_fold_identity(g->sym, f, l);
    return id ? id : lg_lock_identity(f, l, &stable);
}

/* One lock of a class drawn among others of it: the lock at its address
 * with its number, in its process (pid, file). */
static uint64_t instance_identity(uint64_t cls, const struct lg_finding *f, const struct lg_lock *l)
{
    uint64_t h = lg_mix64(cls ^ 0x696e7374ull);
    h = lg_mix64(h ^ l->addr);
    h = lg_mix64(h ^ (uint64_t)l->id);
    h = lg_mix64(h ^ (uint64_t)f->pid);
    for (const char *c = f->file ? f->file : ""; *c; c++)
        h = (h ^ (unsigned char)*c) * 1099511628211ull;
    h = lg_mix64(h);
    return h ? h : 1;
}

/* The node of lock `l` of finding `f`: its class's, or with `alone` its
 * own inside its class's box. */
static size_t node_of_as(struct graph *g, const struct lg_finding *f, const struct lg_lock *l,
                         bool alone)
{
    uint64_t cls = identity_of(g, f, l), id = alone ? instance_identity(cls, f, l) : cls;
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
    g->nodes[g->n] = (struct node){.identity = id, .f = f, .lock = l, .cluster = alone ? cls : 0};
    return g->n++;
}

static size_t node_of(struct graph *g, const struct lg_finding *f, const struct lg_lock *l)
{
    return node_of_as(g, f, l, false);
}

/* Two different locks of the finding that would be one node. */
static bool same_node_other_lock(struct graph *g, const struct lg_finding *f,
                                 const struct lg_lock *a, const struct lg_lock *b)
{
    return (a->addr != b->addr || a->id != b->id) && identity_of(g, f, a) == identity_of(g, f, b);
}

/* Does lock i of a cycle share its node with another lock of the cycle?
 * Only a cycle the locks close can have two of one class (a class cycle
 * lists one lock per class). */
static bool cycle_lock_alone(struct graph *g, const struct lg_finding *f, size_t i)
{
    if (lg_finding_class_scope(f))
        return false;
    for (size_t j = 0; j < f->n_locks; j++)
        if (j != i && same_node_other_lock(g, f, &f->locks[i], &f->locks[j]))
            return true;
    return false;
}

static void lock_label(struct lg_symbolizer *sym, const struct node *n, char *buf, size_t len)
{
    const struct lg_lock *l = n->lock;
    char site[1024] = "";
    size_t k;
    if (n->cluster) {
        /* One of several locks of its class (the box names the class):
         * this lock, by name and address. */
        if (l->name)
            snprintf(buf, len, "\"%s\"\n%s 0x%llx", l->name, l->type, (unsigned long long)l->addr);
        else
            snprintf(buf, len, "%s 0x%llx", l->type, (unsigned long long)l->addr);
        return;
    }
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

/* The box around locks of one class drawn one by one: how many, and the
 * class as a class node names it ("class KEY", where its locks are made),
 * else where the first of them was made. */
static void class_box_label(struct lg_symbolizer *sym, const struct node *n, size_t count,
                            char *buf, size_t len)
{
    const struct lg_lock *l = n->lock;
    char site[1024] = "";
    size_t k = (size_t)snprintf(buf, len, "%zu locks of one class", count);
    if (k < len && l->cls.known && l->cls.key)
        k += (size_t)snprintf(buf + k, len - k, ": %s", l->cls.key);
    if (k < len && lg_class_text(sym, n->f->modules, n->f->n_modules, l, false, site, sizeof site))
        snprintf(buf + k, len - k, "\n%s", site);
    else if (k < len && l->stack.n) {
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
            size_t na = node_of_as(gr, f, &f->locks[a], cycle_lock_alone(gr, f, a));
            size_t nb2 = node_of_as(gr, f, &f->locks[b], cycle_lock_alone(gr, f, b));
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
            size_t na = a == SIZE_MAX ? SIZE_MAX
                                      : node_of_as(gr, f, &f->locks[a], cycle_lock_alone(gr, f, a));
            size_t nb2 = b == SIZE_MAX
                             ? SIZE_MAX
                             : node_of_as(gr, f, &f->locks[b], cycle_lock_alone(gr, f, b));
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
        /* Two locks of one class nested against its policy (same=strict,
         * address order): each lock its own node, as in a cycle. */
        bool alone = false;
        for (size_t i = 0; i < f->n_held; i++)
            if (same_node_other_lock(gr, f, &f->lock, &f->held[i].lock))
                alone = true;
        size_t nt = node_of_as(gr, f, &f->lock, alone);
        for (size_t i = 0; i < f->n_held && n_add < 64 && nt != SIZE_MAX; i++) {
            size_t nh = node_of_as(gr, f, &f->held[i].lock,
                                   same_node_other_lock(gr, f, &f->lock, &f->held[i].lock));
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
    struct node *nodes = pc->g.nodes;
    for (size_t i = 0; i < pc->g.n; i++) {
        if (nodes[i].cluster)
            continue;
        char label[2048];
        lock_label(pc->r->sym, &nodes[i], label, sizeof label);
        lg_dot_node(out, i, label, nodes[i].on_cycle);
    }
    /* Locks drawn one by one among others of their class: a box per
     * class, named as a class node would be. */
    for (size_t i = 0; i < pc->g.n; i++) {
        if (!nodes[i].cluster)
            continue;
        bool first = true;
        for (size_t j = 0; j < i && first; j++)
            if (nodes[j].cluster == nodes[i].cluster)
                first = false;
        if (!first)
            continue;
        size_t count = 0;
        for (size_t j = i; j < pc->g.n; j++)
            count += nodes[j].cluster == nodes[i].cluster;
        char label[2048];
        class_box_label(pc->r->sym, &nodes[i], count, label, sizeof label);
        lg_dot_cluster_begin(out, i, label);
        for (size_t j = i; j < pc->g.n; j++) {
            if (nodes[j].cluster != nodes[i].cluster)
                continue;
            char nl[2048];
            lock_label(pc->r->sym, &nodes[j], nl, sizeof nl);
            lg_dot_node(out, j, nl, nodes[j].on_cycle);
        }
        lg_dot_cluster_end(out);
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
