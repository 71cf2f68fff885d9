/*
 * keygraph.c - union graph files by key, find a cycle or a topological
 * order, and write the rank file that order proposes.
 *
 * Does: one node per key (per file for addr: keys), one edge per ordered
 * key pair, each remembering the first file's instance (for its stacks) and
 * every file it appeared in; Kahn's algorithm for the order and each key's
 * level (longest path to it); on a cycle, a walk back among the keys Kahn
 * could not place lands on a key of a cycle, and a breadth-first search from
 * it gives the shortest cycle through it; the rank file with a comment per
 * key (type, name, instances, symbolized creation site) and same= from the
 * address orders of its self-edges. With folding on, a site: key (a lock
 * class made at a site, or through a wrapper) whose sites symbolize to
 * the frames of a key seen before (classkey.h: an init helper inlined in
 * two places) is that key's node; a rank file names the keys of such a
 * node with a class line.
 * Does not: read files (graphfile.c), symbolize by itself (summary.c's
 * helpers, so sites read as in every other report), or decide exit codes.
 */
#include "keygraph.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "classkey.h"
#include "hash.h"
#include "summary.h"
#include "u64map.h"

#define NO_FILE SIZE_MAX

/* A cycle prints its first LG_SUMMARY_MAX_EDGES locks and edges in full,
 * as the findings report does. Files named in one comment before "and N
 * more": */
#define MAX_FILES_NAMED 4

struct self_note {
    size_t file;
    const char *order; /* address_order as written; NULL when absent */
};

struct node {
    const char *key;                  /* points into a file */
    size_t file;                      /* addr: keys: their file; else NO_FILE */
    const struct lg_graph_lock *lock; /* the first graph-lock line; NULL if only edges name it */
    size_t lock_file;
    long instances;            /* summed over the files */
    long min_inst, max_inst;   /* over its graph-lock lines */
    size_t n_files, last_file; /* files with a graph-lock line for it */
    struct self_note *self;    /* one per self-edge line */
    size_t n_self, cap_self;
    size_t level;
    const char **also; /* keys folded into this one (their sites are its source lines) */
    size_t n_also, cap_also;
    const char *fold; /* what they fold by (lg_class_fold_text); NULL when none is */
};

/* Keys whose sites symbolize to the same frames: the text, and the key
 * first seen with it, whose node they all are. */
struct fold {
    const char *text, *key; /* interned */
};

/* What one file says of an edge: all that is kept of its line once the
 * first file's (with the stacks) is kept whole. Strings are interned. */
struct edge_in {
    const char *held, *waited, *gate;
};

struct edge {
    size_t from, to;                  /* nodes */
    const struct lg_graph_edge *inst; /* the first file's line, for its stacks */
    size_t inst_file;
    long instances;
    size_t *files;      /* distinct files it is in, in the order added */
    struct edge_in *in; /* what each of those files says of it */
    size_t n_files, cap_files;
};

struct lg_keygraph {
    const struct lg_graph_file **files;
    size_t n_files, cap_files;
    bool *owned; /* owned[i]: files[i] was taken, and is freed with the keygraph */
    size_t cap_owned;
    /* Interned strings (keys, attributes): hash -> index in strs. */
    struct lg_u64map str_index;
    char **strs;
    size_t n_strs, cap_strs;
    /* Lines moved out of taken files (a key's first lock, an edge's first
     * instance), freed with the keygraph. */
    struct lg_graph_lock **kept_locks;
    size_t n_kept_locks, cap_kept_locks;
    struct lg_graph_edge **kept_edges;
    size_t n_kept_edges, cap_kept_edges;
    struct node *nodes;
    size_t n_nodes, cap_nodes;
    struct edge *edges;
    size_t n_edges, cap_edges;
    /* Open addressing, index + 1 (0 = empty), at most half full. */
    size_t *node_slots, n_node_slots;
    size_t *edge_slots, n_edge_slots;

    /* Folding by source line: NULL when off. */
    struct lg_symbolizer *fold_sym;
    struct lg_u64map fold_index; /* hash of a fold's text -> index in folds */
    struct fold *folds;
    size_t n_folds, cap_folds;

    bool ordered;
    size_t *sorted; /* after ordering: nodes by (level, key) */
    size_t *cycle;  /* after a cycle: its edges, in order */
    size_t n_cycle;
};

/* ---- small helpers ---- */

static bool grow(void **arr, size_t n, size_t *cap, size_t size)
{
    if (n < *cap)
        return true;
    size_t ncap = *cap ? *cap * 2 : 16;
    void *p = realloc(*arr, ncap * size);
    if (!p)
        return false;
    *arr = p;
    *cap = ncap;
    return true;
}

static bool is_addr_key(const char *key)
{
    return strncmp(key, "addr:", 5) == 0;
}

/* A rank file splits on blanks and cuts at '#': a key holding either (a
 * name with a space, say) cannot be written to one. */
static bool writable_key(const char *key)
{
    for (const unsigned char *c = (const unsigned char *)key; *c; c++)
        if (*c <= ' ' || *c == '#' || *c == 0x7f)
            return false;
    return *key != '\0';
}

static size_t hash_str(const char *s, size_t seed)
{
    uint64_t h = 1469598103934665603ull ^ seed;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return (size_t)(h ^ (h >> 29));
}

static size_t hash_pair(size_t a, size_t b)
{
    uint64_t h = (uint64_t)a * 0x9e3779b97f4a7c15ull ^ ((uint64_t)b + 0x632be59bd9b4e019ull);
    h ^= h >> 31;
    h *= 0xbf58476d1ce4e5b9ull;
    return (size_t)(h ^ (h >> 29));
}

/* ---- interned strings ---- */

/* The keygraph's copy of `s` (NULL for NULL); NULL with *failed set when
 * out of memory. Equal strings are one copy: a key named by a thousand
 * files is stored once. */
static const char *intern(struct lg_keygraph *kg, const char *s, bool *failed)
{
    if (!s)
        return NULL;
    uint64_t h = lg_mix64((uint64_t)hash_str(s, 7)), v;
    if (lg_u64map_get(&kg->str_index, h, &v) && strcmp(kg->strs[v], s) == 0)
        return kg->strs[v];
    char *copy = strdup(s);
    if (!copy || !grow((void **)&kg->strs, kg->n_strs, &kg->cap_strs, sizeof *kg->strs)) {
        free(copy);
        *failed = true;
        return NULL;
    }
    kg->strs[kg->n_strs] = copy;
    /* Another string of the same hash keeps the slot; this one is kept
     * without it. */
    if (!lg_u64map_get(&kg->str_index, h, &v) &&
        lg_u64map_put(&kg->str_index, h, kg->n_strs) != 0) {
        free(copy);
        *failed = true;
        return NULL;
    }
    kg->n_strs++;
    return copy;
}

/* ---- nodes and edges ---- */

static size_t node_hash(const char *key, size_t file)
{
    return hash_str(key, file == NO_FILE ? 0 : file + 1);
}

static bool rehash_nodes(struct lg_keygraph *kg)
{
    size_t n = kg->n_node_slots ? kg->n_node_slots * 2 : 64;
    size_t *slots = calloc(n, sizeof *slots);
    if (!slots)
        return false;
    for (size_t i = 0; i < kg->n_nodes; i++) {
        size_t h = node_hash(kg->nodes[i].key, kg->nodes[i].file) & (n - 1);
        while (slots[h])
            h = (h + 1) & (n - 1);
        slots[h] = i + 1;
    }
    free(kg->node_slots);
    kg->node_slots = slots;
    kg->n_node_slots = n;
    return true;
}

/* The node of `key` (in `file` for an addr: key), made on first sight.
 * Returns SIZE_MAX when out of memory. */
static size_t node_get(struct lg_keygraph *kg, const char *key, size_t file)
{
    if (!is_addr_key(key))
        file = NO_FILE;
    if (2 * (kg->n_nodes + 1) > kg->n_node_slots && !rehash_nodes(kg))
        return SIZE_MAX;
    size_t mask = kg->n_node_slots - 1;
    size_t h = node_hash(key, file) & mask;
    for (; kg->node_slots[h]; h = (h + 1) & mask) {
        struct node *n = &kg->nodes[kg->node_slots[h] - 1];
        if (n->file == file && strcmp(n->key, key) == 0)
            return kg->node_slots[h] - 1;
    }
    if (!grow((void **)&kg->nodes, kg->n_nodes, &kg->cap_nodes, sizeof *kg->nodes))
        return SIZE_MAX;
    struct node *n = &kg->nodes[kg->n_nodes];
    memset(n, 0, sizeof *n);
    n->key = key;
    n->file = file;
    kg->node_slots[h] = ++kg->n_nodes;
    return kg->n_nodes - 1;
}

static bool rehash_edges(struct lg_keygraph *kg)
{
    size_t n = kg->n_edge_slots ? kg->n_edge_slots * 2 : 64;
    size_t *slots = calloc(n, sizeof *slots);
    if (!slots)
        return false;
    for (size_t i = 0; i < kg->n_edges; i++) {
        size_t h = hash_pair(kg->edges[i].from, kg->edges[i].to) & (n - 1);
        while (slots[h])
            h = (h + 1) & (n - 1);
        slots[h] = i + 1;
    }
    free(kg->edge_slots);
    kg->edge_slots = slots;
    kg->n_edge_slots = n;
    return true;
}

static size_t edge_get(struct lg_keygraph *kg, size_t from, size_t to)
{
    if (2 * (kg->n_edges + 1) > kg->n_edge_slots && !rehash_edges(kg))
        return SIZE_MAX;
    size_t mask = kg->n_edge_slots - 1;
    size_t h = hash_pair(from, to) & mask;
    for (; kg->edge_slots[h]; h = (h + 1) & mask) {
        struct edge *e = &kg->edges[kg->edge_slots[h] - 1];
        if (e->from == from && e->to == to)
            return kg->edge_slots[h] - 1;
    }
    if (!grow((void **)&kg->edges, kg->n_edges, &kg->cap_edges, sizeof *kg->edges))
        return SIZE_MAX;
    struct edge *e = &kg->edges[kg->n_edges];
    memset(e, 0, sizeof *e);
    e->from = from;
    e->to = to;
    kg->edge_slots[h] = ++kg->n_edges;
    return kg->n_edges - 1;
}

/* ---- building ---- */

struct lg_keygraph *lg_keygraph_new(void)
{
    return calloc(1, sizeof(struct lg_keygraph));
}

void lg_keygraph_free(struct lg_keygraph *kg)
{
    if (!kg)
        return;
    for (size_t i = 0; i < kg->n_nodes; i++) {
        free(kg->nodes[i].self);
        free(kg->nodes[i].also);
    }
    free(kg->folds);
    lg_u64map_free(&kg->fold_index);
    for (size_t i = 0; i < kg->n_edges; i++) {
        free(kg->edges[i].files);
        free(kg->edges[i].in);
    }
    for (size_t i = 0; i < kg->n_files; i++)
        if (kg->owned && kg->owned[i]) {
            struct lg_graph_file *g = (struct lg_graph_file *)kg->files[i];
            lg_graph_free(g);
            free(g);
        }
    for (size_t i = 0; i < kg->n_kept_locks; i++) {
        lg_graph_lock_free(kg->kept_locks[i]);
        free(kg->kept_locks[i]);
    }
    for (size_t i = 0; i < kg->n_kept_edges; i++) {
        lg_graph_edge_free(kg->kept_edges[i]);
        free(kg->kept_edges[i]);
    }
    free(kg->kept_locks);
    free(kg->kept_edges);
    for (size_t i = 0; i < kg->n_strs; i++)
        free(kg->strs[i]);
    free(kg->strs);
    lg_u64map_free(&kg->str_index);
    free(kg->owned);
    free(kg->nodes);
    free(kg->edges);
    free(kg->node_slots);
    free(kg->edge_slots);
    free(kg->files);
    free(kg->sorted);
    free(kg->cycle);
    free(kg);
}

/* A taken file's line moved into the keygraph (the file's slot left
 * empty, freeable): NULL when out of memory. */
static const struct lg_graph_lock *keep_lock(struct lg_keygraph *kg, struct lg_graph_lock *l)
{
    struct lg_graph_lock *copy = malloc(sizeof *copy);
    if (!copy || !grow((void **)&kg->kept_locks, kg->n_kept_locks, &kg->cap_kept_locks,
                       sizeof *kg->kept_locks)) {
        free(copy);
        return NULL;
    }
    *copy = *l;
    memset(l, 0, sizeof *l);
    kg->kept_locks[kg->n_kept_locks++] = copy;
    return copy;
}

static const struct lg_graph_edge *keep_edge(struct lg_keygraph *kg, struct lg_graph_edge *e)
{
    struct lg_graph_edge *copy = malloc(sizeof *copy);
    if (!copy || !grow((void **)&kg->kept_edges, kg->n_kept_edges, &kg->cap_kept_edges,
                       sizeof *kg->kept_edges)) {
        free(copy);
        return NULL;
    }
    *copy = *e;
    memset(e, 0, sizeof *e);
    kg->kept_edges[kg->n_kept_edges++] = copy;
    return copy;
}

void lg_keygraph_fold_sites(struct lg_keygraph *kg, struct lg_symbolizer *sym)
{
    kg->fold_sym = sym;
}

/* The key `key` (interned, of file `g`) is folded into: a key seen before
 * whose sites symbolize to the same frames, or itself. *text: what it
 * folds by, NULL when it cannot (no site: key, no debug info). `cache`
 * holds the answers for this file (by the interned key's address). NULL
 * with *failed set when out of memory. */
static const char *fold_key(struct lg_keygraph *kg, const struct lg_graph_file *g,
                            struct lg_u64map *cache, const char *key, const char **text,
                            bool *failed)
{
    *text = NULL;
    if (!kg->fold_sym || !key || strncmp(key, "site:", 5) != 0)
        return key;
    uint64_t v;
    if (lg_u64map_get(cache, (uint64_t)(uintptr_t)key, &v)) {
        if (v == 0)
            return key;
        *text = kg->folds[v - 1].text;
        return kg->folds[v - 1].key;
    }
    uint64_t pcs[LG_CLASS_MAX_SITES];
    char buf[4096];
    size_t n = lg_class_key_sites(key, g->modules, g->n_modules, pcs, LG_CLASS_MAX_SITES);
    size_t idx = 0; /* 0: not folded; else the fold's index + 1 */
    if (n && lg_class_fold_text(kg->fold_sym, g->modules, g->n_modules, pcs, n, buf,
                                sizeof buf)) {
        uint64_t h = lg_mix64((uint64_t)hash_str(buf, 11));
        if (lg_u64map_get(&kg->fold_index, h, &v)) {
            if (strcmp(kg->folds[v].text, buf) == 0)
                idx = (size_t)v + 1; /* another text of the same hash: left alone */
        } else {
            const char *t = intern(kg, buf, failed);
            if (!t || !grow((void **)&kg->folds, kg->n_folds, &kg->cap_folds, sizeof *kg->folds) ||
                lg_u64map_put(&kg->fold_index, h, kg->n_folds) != 0) {
                *failed = true;
                return NULL;
            }
            kg->folds[kg->n_folds++] = (struct fold){.text = t, .key = key};
            idx = kg->n_folds;
        }
    }
    if (lg_u64map_put(cache, (uint64_t)(uintptr_t)key, idx) != 0) {
        *failed = true;
        return NULL;
    }
    if (!idx)
        return key;
    *text = kg->folds[idx - 1].text;
    return kg->folds[idx - 1].key;
}

/* The node of `key` (interned) in file `fi`, folded: SIZE_MAX when out of
 * memory (*failed set). */
static size_t folded_node(struct lg_keygraph *kg, const struct lg_graph_file *g, size_t fi,
                          struct lg_u64map *cache, const char *key, bool *failed)
{
    const char *text;
    const char *rep = *failed ? NULL : fold_key(kg, g, cache, key, &text, failed);
    if (!rep)
        return SIZE_MAX;
    size_t v = node_get(kg, rep, fi);
    if (v == SIZE_MAX)
        return SIZE_MAX;
    struct node *n = &kg->nodes[v];
    if (text)
        n->fold = text;
    if (rep != key) {
        size_t i = 0;
        while (i < n->n_also && n->also[i] != key)
            i++;
        if (i == n->n_also) {
            if (!grow((void **)&n->also, n->n_also, &n->cap_also, sizeof *n->also)) {
                *failed = true;
                return SIZE_MAX;
            }
            n->also[n->n_also++] = key;
        }
    }
    return v;
}

/* Fold in file `g`; with `take`, the lines kept are moved out of it.
 * `cache`: the keys of this file folded so far. */
static int add_file_lines(struct lg_keygraph *kg, struct lg_graph_file *g, bool take,
                          struct lg_u64map *cache)
{
    bool failed = false;
    if (!grow((void **)&kg->files, kg->n_files, &kg->cap_files, sizeof *kg->files) ||
        !grow((void **)&kg->owned, kg->n_files, &kg->cap_owned, sizeof *kg->owned))
        return -1;
    size_t fi = kg->n_files++;
    kg->files[fi] = g;
    kg->owned[fi] = false;

    for (size_t i = 0; i < g->n_locks; i++) {
        struct lg_graph_lock *l = &g->locks[i];
        const char *key = intern(kg, l->key, &failed);
        size_t v = failed ? SIZE_MAX : folded_node(kg, g, fi, cache, key, &failed);
        if (v == SIZE_MAX)
            return -1;
        struct node *n = &kg->nodes[v];
        n->instances += l->instances;
        if (n->n_files == 0 || l->instances < n->min_inst)
            n->min_inst = l->instances;
        if (n->n_files == 0 || l->instances > n->max_inst)
            n->max_inst = l->instances;
        if (n->n_files == 0 || n->last_file != fi) {
            n->n_files++;
            n->last_file = fi;
        }
        if (!n->lock) {
            n->lock = take ? keep_lock(kg, l) : l;
            n->lock_file = fi;
            if (!n->lock)
                return -1;
        }
    }
    for (size_t i = 0; i < g->n_edges; i++) {
        struct lg_graph_edge *ge = &g->edges[i];
        const char *from = intern(kg, ge->from, &failed), *to = intern(kg, ge->to, &failed);
        size_t u = failed ? SIZE_MAX : folded_node(kg, g, fi, cache, from, &failed);
        size_t v = u == SIZE_MAX ? SIZE_MAX : folded_node(kg, g, fi, cache, to, &failed);
        if (v == SIZE_MAX)
            return -1;
        if (u == v) {
            struct node *n = &kg->nodes[u];
            const char *order = intern(kg, ge->address_order, &failed);
            if (failed || !grow((void **)&n->self, n->n_self, &n->cap_self, sizeof *n->self))
                return -1;
            n->self[n->n_self++] = (struct self_note){.file = fi, .order = order};
            continue;
        }
        size_t k = edge_get(kg, u, v);
        if (k == SIZE_MAX)
            return -1;
        struct edge *e = &kg->edges[k];
        e->instances += ge->instances;
        if (e->n_files == 0 || e->files[e->n_files - 1] != fi) {
            size_t cap = e->cap_files;
            const char *gate = intern(kg, ge->gate, &failed), *text;
            /* A gate is a key too: the same lock as its folded node. */
            if (gate && !failed)
                gate = fold_key(kg, g, cache, gate, &text, &failed);
            struct edge_in in = {.held = intern(kg, ge->held, &failed),
                                 .waited = intern(kg, ge->waited, &failed),
                                 .gate = gate};
            if (failed || !grow((void **)&e->files, e->n_files, &cap, sizeof *e->files) ||
                !grow((void **)&e->in, e->n_files, &e->cap_files, sizeof *e->in))
                return -1;
            e->files[e->n_files] = fi;
            e->in[e->n_files++] = in;
        }
        if (!e->inst) {
            e->inst = take ? keep_edge(kg, ge) : ge;
            e->inst_file = fi;
            if (!e->inst)
                return -1;
        }
    }
    return 0;
}

static int add_file(struct lg_keygraph *kg, struct lg_graph_file *g, bool take)
{
    struct lg_u64map cache;
    lg_u64map_init(&cache);
    int rc = add_file_lines(kg, g, take, &cache);
    lg_u64map_free(&cache);
    return rc;
}

int lg_keygraph_add(struct lg_keygraph *kg, const struct lg_graph_file *g)
{
    return add_file(kg, (struct lg_graph_file *)g, false);
}

int lg_keygraph_take(struct lg_keygraph *kg, struct lg_graph_file *g)
{
    struct lg_graph_file *own = malloc(sizeof *own);
    if (!own)
        return -1;
    *own = *g;
    memset(g, 0, sizeof *g);
    int rc = add_file(kg, own, true);
    if (kg->n_files > 0 && kg->files[kg->n_files - 1] == own) {
        kg->owned[kg->n_files - 1] = true;
        /* What was kept has been moved out: the lines go, the header (path,
         * pid, modules, counts) stays. */
        lg_graph_free_lines(own);
    } else {
        lg_graph_free(own);
        free(own);
    }
    return rc;
}

/* ---- ordering ---- */

/* Adjacency in compressed rows: the edges of node v are idx[start[v] ..
 * start[v + 1]). */
struct rows {
    size_t *start, *idx;
};

static bool build_rows(const struct lg_keygraph *kg, bool outgoing, struct rows *r)
{
    r->start = calloc(kg->n_nodes + 1, sizeof *r->start);
    r->idx = calloc(kg->n_edges ? kg->n_edges : 1, sizeof *r->idx);
    if (!r->start || !r->idx)
        return false;
    for (size_t k = 0; k < kg->n_edges; k++)
        r->start[(outgoing ? kg->edges[k].from : kg->edges[k].to) + 1]++;
    for (size_t v = 0; v < kg->n_nodes; v++)
        r->start[v + 1] += r->start[v];
    size_t *fill = calloc(kg->n_nodes ? kg->n_nodes : 1, sizeof *fill);
    if (!fill)
        return false;
    for (size_t k = 0; k < kg->n_edges; k++) {
        size_t v = outgoing ? kg->edges[k].from : kg->edges[k].to;
        r->idx[r->start[v] + fill[v]++] = k;
    }
    free(fill);
    return true;
}

static void free_rows(struct rows *r)
{
    free(r->start);
    free(r->idx);
}

/* Nodes left unplaced by Kahn's algorithm each have an unplaced
 * predecessor, so walking predecessors must repeat a node: one on a cycle.
 * The shortest cycle through it is then a breadth-first search away. */
static bool find_cycle(struct lg_keygraph *kg, const bool *placed, const struct rows *out,
                       const struct rows *in)
{
    size_t n = kg->n_nodes, start = 0;
    while (start < n && placed[start])
        start++;
    bool *seen = calloc(n, sizeof *seen);
    size_t *parent = calloc(n, sizeof *parent); /* edge that reached a node */
    size_t *queue = calloc(n, sizeof *queue);
    if (!seen || !parent || !queue) {
        free(seen);
        free(parent);
        free(queue);
        return false;
    }

    size_t w = start;
    while (!seen[w]) {
        seen[w] = true;
        size_t next = w;
        for (size_t i = in->start[w]; i < in->start[w + 1]; i++)
            if (!placed[kg->edges[in->idx[i]].from]) {
                next = kg->edges[in->idx[i]].from;
                break;
            }
        w = next;
    }

    memset(seen, 0, n * sizeof *seen);
    size_t head = 0, tail = 0, closing = SIZE_MAX;
    queue[tail++] = w;
    seen[w] = true;
    while (head < tail && closing == SIZE_MAX) {
        size_t x = queue[head++];
        for (size_t i = out->start[x]; i < out->start[x + 1]; i++) {
            size_t k = out->idx[i], y = kg->edges[k].to;
            if (placed[y])
                continue;
            if (y == w) {
                closing = k;
                break;
            }
            if (!seen[y]) {
                seen[y] = true;
                parent[y] = k;
                queue[tail++] = y;
            }
        }
    }

    /* Back from the closing edge to w, then reversed into cycle order. */
    size_t len = 1;
    for (size_t x = kg->edges[closing].from; x != w; x = kg->edges[parent[x]].from)
        len++;
    kg->cycle = calloc(len, sizeof *kg->cycle);
    if (kg->cycle) {
        kg->n_cycle = len;
        size_t i = len;
        kg->cycle[--i] = closing;
        for (size_t x = kg->edges[closing].from; x != w; x = kg->edges[parent[x]].from)
            kg->cycle[--i] = parent[x];
        /* Start at the smallest key, so the report does not depend on the
         * order the files were given in. */
        size_t best = 0;
        for (size_t j = 1; j < len; j++)
            if (strcmp(kg->nodes[kg->edges[kg->cycle[j]].from].key,
                       kg->nodes[kg->edges[kg->cycle[best]].from].key) < 0)
                best = j;
        for (size_t j = 0; j < best; j++) {
            size_t first = kg->cycle[0];
            memmove(kg->cycle, kg->cycle + 1, (len - 1) * sizeof *kg->cycle);
            kg->cycle[len - 1] = first;
        }
    }
    free(seen);
    free(parent);
    free(queue);
    return kg->cycle != NULL;
}

static int by_level_then_key(const void *a, const void *b, void *arg)
{
    const struct lg_keygraph *kg = arg;
    const struct node *x = &kg->nodes[*(const size_t *)a];
    const struct node *y = &kg->nodes[*(const size_t *)b];
    if (x->level != y->level)
        return x->level < y->level ? -1 : 1;
    int c = strcmp(x->key, y->key);
    if (c)
        return c;
    return x->file < y->file ? -1 : x->file > y->file;
}

enum lg_keygraph_result lg_keygraph_order(struct lg_keygraph *kg)
{
    size_t n = kg->n_nodes;
    struct rows out = {0}, in = {0};
    size_t *indeg = calloc(n ? n : 1, sizeof *indeg);
    size_t *queue = calloc(n ? n : 1, sizeof *queue);
    bool *placed = calloc(n ? n : 1, sizeof *placed);
    enum lg_keygraph_result res = LG_KEYGRAPH_NOMEM;
    if (!indeg || !queue || !placed || !build_rows(kg, true, &out) || !build_rows(kg, false, &in))
        goto done;

    for (size_t k = 0; k < kg->n_edges; k++)
        indeg[kg->edges[k].to]++;
    size_t head = 0, tail = 0;
    for (size_t v = 0; v < n; v++) {
        kg->nodes[v].level = 0;
        if (indeg[v] == 0)
            queue[tail++] = v;
    }
    /* Each node is taken once all its predecessors are: its level is then
     * final, one more than the deepest of them. */
    while (head < tail) {
        size_t u = queue[head++];
        placed[u] = true;
        for (size_t i = out.start[u]; i < out.start[u + 1]; i++) {
            size_t v = kg->edges[out.idx[i]].to;
            if (kg->nodes[v].level < kg->nodes[u].level + 1)
                kg->nodes[v].level = kg->nodes[u].level + 1;
            if (--indeg[v] == 0)
                queue[tail++] = v;
        }
    }
    if (tail < n) {
        res = find_cycle(kg, placed, &out, &in) ? LG_KEYGRAPH_CYCLE : LG_KEYGRAPH_NOMEM;
        goto done;
    }
    /* Levels increase along every edge, so sorting by level is a
     * topological order; the key breaks ties so that the output does not
     * depend on the order of the files. */
    if (!(kg->sorted = calloc(n ? n : 1, sizeof *kg->sorted)))
        goto done;
    for (size_t v = 0; v < n; v++)
        kg->sorted[v] = v;
    qsort_r(kg->sorted, n, sizeof *kg->sorted, by_level_then_key, kg);
    kg->ordered = true;
    res = LG_KEYGRAPH_ORDERED;
done:
    free_rows(&out);
    free_rows(&in);
    free(indeg);
    free(queue);
    free(placed);
    return res;
}

/* 10 x (1 + level). A chain long enough to pass INT32_MAX would need some
 * 200 million keys in a row; not a graph anyone can record. */
static long rank_of_level(size_t level)
{
    return 10 * ((long)level + 1);
}

long lg_keygraph_rank_of(const struct lg_keygraph *kg, const char *key)
{
    if (!kg->ordered || is_addr_key(key))
        return -1;
    for (size_t v = 0; v < kg->n_nodes; v++) {
        const struct node *n = &kg->nodes[v];
        if (n->file != NO_FILE)
            continue;
        if (strcmp(n->key, key) == 0)
            return rank_of_level(n->level);
        for (size_t i = 0; i < n->n_also; i++)
            if (strcmp(n->also[i], key) == 0)
                return rank_of_level(n->level);
    }
    return -1;
}

/* ---- text ---- */

static const char *plural(size_t n, const char *one, const char *many)
{
    return n == 1 ? one : many;
}

/* Print a key as it is when it is one plain word, else quoted. */
static void put_key(FILE *out, const char *key)
{
    if (writable_key(key) && !strchr(key, '"') && !strchr(key, '\\'))
        fputs(key, out);
    else
        lg_put_quoted(out, key);
}

/* "mutex "table", 1 instance in each of 2 files, created at bank_open (bank.c:40)";
 * "; class C, rank N when recorded" when the run already ranked it. */
static void describe_node(const struct lg_keygraph *kg, const struct node *n, FILE *out,
                          struct lg_symbolizer *sym)
{
    const struct lg_graph_lock *l = n->lock;
    if (!l) {
        fputs("no graph-lock line for this key (only edges name it)", out);
        return;
    }
    fputs(l->type, out);
    if (l->name) {
        fputc(' ', out);
        lg_put_quoted(out, l->name);
    }
    /* Runs are not added up: a global lock is one instance in each. */
    if (n->n_files <= 1)
        fprintf(out, ", %ld %s", n->instances,
                plural((size_t)n->instances, "instance", "instances"));
    else if (n->min_inst == n->max_inst)
        fprintf(out, ", %ld %s in each of %zu files", n->max_inst,
                plural((size_t)n->max_inst, "instance", "instances"), n->n_files);
    else
        fprintf(out, ", up to %ld instances in one run, in %zu files", n->max_inst, n->n_files);
    const struct lg_graph_file *g = kg->files[n->lock_file];
    uint64_t pcs[LG_CLASS_MAX_SITES];
    size_t n_pcs = l->class_kind && strcmp(l->class_kind, "chain") == 0
                       ? lg_class_key_sites(l->key, g->modules, g->n_modules, pcs,
                                            LG_CLASS_MAX_SITES)
                       : 0;
    if (n_pcs > 1) {
        /* Made through a wrapper: the wrapper, then who called it. */
        char site[1024];
        for (size_t i = 0; i < n_pcs; i++) {
            lg_site_text(sym, g->modules, g->n_modules, pcs[i], site, sizeof site);
            fprintf(out, i ? " called from %s" : ", made by %s", site);
        }
    } else if (l->stack.n > 0) {
        char site[1024];
        lg_site_text(sym, g->modules, g->n_modules, l->stack.pcs[0], site, sizeof site);
        fprintf(out, ", %s at %s", l->created ? "created" : "first locked", site);
    } else {
        fputs(", no stack recorded", out);
    }
    if (l->class_name || l->has_rank) {
        fputs("; ", out);
        if (l->class_name) {
            fputs("class ", out);
            put_key(out, l->class_name);
        }
        if (l->has_rank)
            fprintf(out, "%srank %ld", l->class_name ? ", " : "", l->rank);
        fputs(" when recorded", out);
    }
    if (n->n_also) {
        fputs("; one class with ", out);
        for (size_t i = 0; i < n->n_also; i++) {
            if (i == MAX_FILES_NAMED && n->n_also > MAX_FILES_NAMED + 1) {
                fprintf(out, " and %zu more", n->n_also - i);
                break;
            }
            if (i)
                fputs(i + 1 == n->n_also ? " and " : ", ", out);
            put_key(out, n->also[i]);
        }
        /* The fold's first frame: "function\tfile\tline". */
        const char *t1 = n->fold ? strchr(n->fold, '\t') : NULL;
        const char *t2 = t1 ? strchr(t1 + 1, '\t') : NULL;
        if (t2) {
            char file[1024];
            snprintf(file, sizeof file, "%.*s", (int)(t2 - t1 - 1), t1 + 1);
            fprintf(out, " (their locks are made on one source line, %.*s at %s:%d)",
                    (int)(t1 - n->fold), n->fold, lg_show_path(file), atoi(t2 + 1));
        }
    }
}

/* ---- the cycle ---- */

static void print_files(const struct lg_keygraph *kg, const struct edge *e, FILE *out)
{
    for (size_t i = 0; i < e->n_files; i++) {
        if (i == MAX_FILES_NAMED && e->n_files > MAX_FILES_NAMED + 1) {
            fprintf(out, " and %zu more files", e->n_files - i);
            break;
        }
        if (i > 0)
            fputs(i + 1 == e->n_files ? " and " : ", ", out);
        fputs(kg->files[e->files[i]]->path, out);
    }
}

void lg_keygraph_print_cycle(const struct lg_keygraph *kg, FILE *dest, struct lg_symbolizer *sym)
{
    /* Composed in memory and written whole: the symbolizer's notes about
     * modules it cannot read go to stderr too, and must not land in the
     * middle of a line. */
    char *buf = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&buf, &len);
    if (!out)
        out = dest;
    size_t n = kg->n_cycle;
    /* Lock classes are C1, C2... as in the findings report; locks L1... */
    bool classes = lg_keygraph_classes(kg);
    const char *label = classes ? "C" : "L";
    fprintf(out,
            "lockgraph ranks: no rank order fits these graphs: together they have a cycle of %zu "
            "%s, a potential deadlock\n",
            n, lg_graph_noun(classes, n));
    size_t shown = n < LG_SUMMARY_MAX_EDGES ? n : LG_SUMMARY_MAX_EDGES;
    for (size_t i = 0; i < shown; i++) {
        const struct node *v = &kg->nodes[kg->edges[kg->cycle[i]].from];
        fprintf(out, "   %s %s%zu ", classes ? "class" : "lock", label, i + 1);
        put_key(out, v->key);
        if (v->file != NO_FILE)
            fprintf(out, " (in %s only: an address is not stable across runs)",
                    kg->files[v->file]->path);
        fputs(": ", out);
        describe_node(kg, v, out, sym);
        fputc('\n', out);
    }
    if (n > shown)
        fprintf(out, "   ... and %zu more %s (%s%zu to %s%zu)\n", n - shown,
                lg_graph_noun(classes, 2), label, shown + 1, label, n);
    fputc('\n', out);
    for (size_t i = 0; i < shown; i++) {
        const struct edge *e = &kg->edges[kg->cycle[i]];
        const struct lg_graph_file *g = kg->files[e->inst_file];
        const struct lg_graph_edge *ge = e->inst;
        size_t a = i + 1, b = i + 1 == n ? 1 : i + 2;
        fprintf(out, "   edge %s%zu -> %s%zu, in ", label, a, label, b);
        print_files(kg, e, out);
        fprintf(out, " (%ld %s)", e->instances,
                plural((size_t)e->instances, "instance", "instances"));
        fprintf(out, ":\n     one instance, %s:%zu", g->path, ge->line);
        if (ge->thread.tid || ge->thread.seq || ge->thread.name) {
            fputs(", by ", out);
            lg_print_thread(out, &ge->thread);
        }
        fprintf(out, ":\n     holds %s%s%zu%s, taken at:\n", classes ? "a " : "", label, a,
                classes ? " lock" : "");
        lg_print_stack(out, sym, g->modules, g->n_modules, &ge->first, "       ", !ge->first_exact);
        fprintf(out, "     then takes %s%s%zu%s at:\n", classes ? "a " : "", label, b,
                classes ? " lock" : "");
        lg_print_stack(out, sym, g->modules, g->n_modules, &ge->second, "       ", false);
    }
    if (n > shown)
        fprintf(out, "   ... and %zu more edges, %s%zu -> ... -> %s1, not shown in full\n",
                n - shown, label, shown + 1, label);
    fputs("   Fix the lock order (or guard both paths with one outer lock) and record the "
          "graphs again;\n   no rank file was written.\n",
          out);
    if (out != dest) {
        fclose(out);
        fwrite(buf, 1, len, dest);
        free(buf);
    }
    fflush(dest);
}

/* ---- the rank file ---- */

/* A comment is composed in memory, then written after "# " on one line
 * whatever names and paths it holds: a newline in a lock's name must not
 * end the comment and start a line the rank file reader would parse. */
struct comment {
    FILE *mem;
    char *buf;
    size_t len;
};

static FILE *comment_open(struct comment *c)
{
    c->buf = NULL;
    c->len = 0;
    c->mem = open_memstream(&c->buf, &c->len);
    return c->mem ? c->mem : fopen("/dev/null", "w");
}

static void comment_close(struct comment *c, FILE *fp, FILE *out)
{
    fclose(fp);
    if (!c->mem)
        return;
    fputs("# ", out);
    for (size_t i = 0; i < c->len; i++) {
        unsigned char ch = (unsigned char)c->buf[i];
        fputc(ch < ' ' || ch == 0x7f ? '?' : ch, out);
    }
    fputc('\n', out);
    free(c->buf);
}

/* What the self-edges of `n` say about nesting its instances, and so its
 * same= policy: "address" when every one was in ascending address order,
 * "any" otherwise (with *why saying how). */
static const char *same_policy(const struct node *n, const char **why)
{
    bool asc = false, desc = false, both = false, unknown = false;
    for (size_t i = 0; i < n->n_self; i++) {
        const char *o = n->self[i].order;
        if (o && strcmp(o, "ascending") == 0)
            asc = true;
        else if (o && strcmp(o, "descending") == 0)
            desc = true;
        else if (o && strcmp(o, "both") == 0)
            both = true;
        else
            unknown = true;
    }
    *why = NULL;
    if (asc && !desc && !both && !unknown)
        return "address";
    if (both || (asc && desc))
        *why = "in both address orders";
    else if (desc && !unknown)
        *why = "in descending address order";
    else
        *why = "in an address order not recorded";
    return "any";
}

static void print_self_notes(const struct lg_keygraph *kg, const struct node *n, FILE *out)
{
    const char *why;
    same_policy(n, &why);
    fprintf(out, "warning: its instances were nested %s (", why);
    for (size_t i = 0; i < n->n_self; i++) {
        if (i == MAX_FILES_NAMED && n->n_self > MAX_FILES_NAMED + 1) {
            fprintf(out, "; %zu more", n->n_self - i);
            break;
        }
        const char *o = n->self[i].order;
        fprintf(out, "%s%s: %s", i ? "; " : "", kg->files[n->self[i].file]->path,
                o ? o : "not recorded");
    }
    fputs("); same=any leaves them to the cycle detector", out);
}

/* A class label for a folded node (letters, digits, '_', '-', '.'): its
 * source line's function and line, "guard_init.23", and its node's
 * number when another node's label could be the same. */
static void fold_label(const struct lg_keygraph *kg, const struct node *n, char *buf, size_t len)
{
    const char *t = n->fold ? n->fold : "", *t1 = strchr(t, '\t');
    const char *t2 = t1 ? strchr(t1 + 1, '\t') : NULL;
    size_t k = 0;
    for (const char *c = t; t1 && c < t1 && k + 1 < len && k < 60; c++)
        buf[k++] = (*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
                           (*c >= '0' && *c <= '9') || *c == '_' || *c == '-' || *c == '.'
                       ? *c
                       : '_';
    buf[k] = '\0';
    if (t2)
        snprintf(buf + k, len - k, ".%d", atoi(t2 + 1));
    /* Two folds on lines of one number in functions of one name (other
     * files): tell them apart by node. */
    for (size_t v = 0; v < kg->n_nodes; v++) {
        const struct node *o = &kg->nodes[v];
        if (o == n || !o->n_also || !o->fold)
            continue;
        const char *o1 = strchr(o->fold, '\t'), *o2 = o1 ? strchr(o1 + 1, '\t') : NULL;
        if (o1 && t1 && o1 - o->fold == t1 - t && strncmp(o->fold, t, (size_t)(t1 - t)) == 0 &&
            o2 && t2 && atoi(o2 + 1) == atoi(t2 + 1)) {
            k = strlen(buf);
            snprintf(buf + k, len - k, ".%zu", (size_t)(n - kg->nodes) + 1);
            return;
        }
    }
}

void lg_keygraph_write_ranks(const struct lg_keygraph *kg, FILE *out, struct lg_symbolizer *sym,
                             FILE *warn)
{
    struct comment c;
    FILE *cm;
    fputs("# lockgraph ranks v1\n", out);
    fprintf(out, "# Proposed by `lockgraph ranks` from %zu graph %s:\n", kg->n_files,
            plural(kg->n_files, "file", "files"));
    for (size_t i = 0; i < kg->n_files; i++) {
        const struct lg_graph_file *g = kg->files[i];
        cm = comment_open(&c);
        fprintf(cm, "  %s (pid %ld%s%s)", g->path, g->pid, g->exe ? ", " : "",
                g->exe ? g->exe : "");
        comment_close(&c, cm, out);
    }
    if (lg_keygraph_classes(kg))
        fputs("# A lock class's rank is 10 x (1 + the longest chain of lock classes taken\n"
              "# before it): classes never nested share a rank, and there is room to insert\n"
              "# ranks between them. Only the orders these runs took are known here: review\n"
              "# before use.\n",
              out);
    else
        fputs("# A lock's rank is 10 x (1 + the longest chain of locks taken before it): locks\n"
              "# never nested share a rank, and there is room to insert ranks between them.\n"
              "# Only the orders these runs took are known here: review before use.\n",
              out);

    for (size_t i = 0; i < kg->n_files; i++) {
        const struct lg_graph_file *g = kg->files[i];
        if (!g->complete) {
            cm = comment_open(&c);
            fprintf(cm,
                    "warning: %s was cut short (no graph-end line): orders it lost are "
                    "not here",
                    g->path);
            comment_close(&c, cm, out);
        }
        if (g->bad_lines) {
            cm = comment_open(&c);
            fprintf(cm, "warning: %s: %zu bad %s skipped", g->path, g->bad_lines,
                    plural(g->bad_lines, "line", "lines"));
            comment_close(&c, cm, out);
        }
    }

    size_t addr = 0, unwritable = 0;
    for (size_t v = 0; v < kg->n_nodes; v++) {
        if (kg->nodes[v].file != NO_FILE)
            addr++;
        else if (!writable_key(kg->nodes[v].key))
            unwritable++;
    }
    if (addr)
        fprintf(out,
                "# %zu %s with an addr: key (no symbol or module could name %s: not stable\n"
                "# across runs) %s left out; locks taken after %s still rank above %s.\n",
                addr, plural(addr, "lock", "locks"), plural(addr, "it", "them"),
                plural(addr, "is", "are"), plural(addr, "it", "them"), plural(addr, "it", "them"));
    if (unwritable)
        fprintf(out,
                "# %zu %s left out: a rank file cannot hold a key with blanks or '#' (named on\n"
                "# the stderr of lockgraph ranks).\n",
                unwritable, plural(unwritable, "key is", "keys are"));
    if (kg->n_nodes == addr + unwritable)
        fputs("# No lock to rank in these graphs.\n", out);

    for (size_t i = 0; i < kg->n_nodes; i++) {
        const struct node *n = &kg->nodes[kg->sorted[i]];
        if (n->file != NO_FILE)
            continue;
        if (!writable_key(n->key)) {
            if (warn) {
                fputs("lockgraph ranks: warning: left out key ", warn);
                lg_put_quoted(warn, n->key);
                fputs(": a rank file cannot hold a key with blanks or '#'\n", warn);
            }
            continue;
        }
        fputc('\n', out);
        cm = comment_open(&c);
        describe_node(kg, n, cm, sym);
        comment_close(&c, cm, out);
        const char *same = NULL, *why = NULL;
        if (n->n_self > 0) {
            same = same_policy(n, &why);
            cm = comment_open(&c);
            if (why)
                print_self_notes(kg, n, cm);
            else
                fputs("its instances were nested, always in ascending address order", cm);
            comment_close(&c, cm, out);
        }
        const char *what = n->key;
        char label[128];
        if (n->n_also) {
            /* Keys folded into one: a class line names them together. */
            fold_label(kg, n, label, sizeof label);
            fprintf(out, "class %s %s", label, n->key);
            for (size_t k = 0; k < n->n_also; k++)
                if (writable_key(n->also[k]))
                    fprintf(out, " %s", n->also[k]);
            fputc('\n', out);
            what = label;
        }
        fprintf(out, "rank %ld %s", rank_of_level(n->level), what);
        if (same)
            fprintf(out, " same=%s", same);
        fputc('\n', out);
    }
    fflush(out);
}

/* ---- views, for the reports of other verbs ---- */

size_t lg_keygraph_n_files(const struct lg_keygraph *kg)
{
    return kg->n_files;
}

bool lg_keygraph_classes(const struct lg_keygraph *kg)
{
    for (size_t i = 0; i < kg->n_files; i++)
        if (kg->files[i]->classes)
            return true;
    return false;
}

const struct lg_graph_file *lg_keygraph_file(const struct lg_keygraph *kg, size_t i)
{
    return kg->files[i];
}

size_t lg_keygraph_n_nodes(const struct lg_keygraph *kg)
{
    return kg->n_nodes;
}

size_t lg_keygraph_n_edges(const struct lg_keygraph *kg)
{
    return kg->n_edges;
}

void lg_keygraph_node_view(const struct lg_keygraph *kg, size_t v, struct lg_keynode_view *out)
{
    const struct node *n = &kg->nodes[v];
    out->key = n->key;
    out->also = n->also;
    out->n_also = n->n_also;
    out->file = n->file == NO_FILE ? SIZE_MAX : n->file;
    out->lock = n->lock;
    out->lock_file = n->lock_file;
    out->n_self = n->n_self;
}

/* Exclusive unless every line says shared: the runtime's own rule for one
 * file ("exclusive when any instance edge was"), over all of them. */
static bool any_exclusive(const struct edge *e, bool held)
{
    for (size_t i = 0; i < e->n_files; i++) {
        const char *m = held ? e->in[i].held : e->in[i].waited;
        if (!m || strcmp(m, "shared") != 0)
            return true;
    }
    return false;
}

/* The gate every line of the edge shares, or NULL. An addr: key names a
 * lock only in its own file, so it gates edges of that file only. */
static const char *common_gate(const struct edge *e)
{
    const char *g = e->n_files ? e->in[0].gate : NULL;
    for (size_t i = 1; g && i < e->n_files; i++)
        if (!e->in[i].gate || strcmp(e->in[i].gate, g) != 0 || is_addr_key(g))
            g = NULL;
    return g;
}

void lg_keygraph_edge_view(const struct lg_keygraph *kg, size_t k, struct lg_keyedge_view *out)
{
    const struct edge *e = &kg->edges[k];
    out->from = e->from;
    out->to = e->to;
    out->instances = e->instances;
    out->files = e->files;
    out->inst = e->inst;
    out->n_files = e->n_files;
    out->held_exclusive = any_exclusive(e, true);
    out->waited_exclusive = any_exclusive(e, false);
    out->gate = common_gate(e);
}

void lg_keygraph_describe_node(const struct lg_keygraph *kg, size_t v, FILE *out,
                               struct lg_symbolizer *sym)
{
    describe_node(kg, &kg->nodes[v], out, sym);
}

/* ---- every cycle that can deadlock (`lockgraph merge`) ----
 *
 * The runtime's own rules, over the union: a lock blocks its waiter unless
 * it is held shared by one edge and waited for shared by the next (the
 * reader rule), and a cycle whose edges were all made under one gate lock
 * cannot deadlock. For an edge e = u -> v, a breadth-first search over
 * states (key, waited exclusively?, left e's gate yet?) from v back to u
 * finds the shortest cycle through e that both rules allow; each cycle is
 * kept once, as a set of keys. Only edges inside one strongly connected
 * component can be on a cycle, so the search stays inside e's, and an edge
 * already on a cycle kept is not searched from again. Every edge that lies
 * on some deadlocking cycle is thus in at least one reported cycle; other
 * cycles through edges already shown are not listed (Johnson's enumeration
 * of them all is exponential in the worst case). Cost: a search per edge
 * not yet covered, O(E * (V + E)) at worst. */

struct attrs {
    bool held, waited; /* exclusive */
    const char *gate;
};

/* Kosaraju's two passes, iteratively: comp[v] for every node. */
static bool components(const struct lg_keygraph *kg, const struct rows *out, const struct rows *in,
                       size_t *comp)
{
    size_t n = kg->n_nodes;
    size_t *order = calloc(n ? n : 1, sizeof *order), n_order = 0;
    size_t *stack = calloc(n ? n : 1, sizeof *stack), *pos = calloc(n ? n : 1, sizeof *pos);
    bool *seen = calloc(n ? n : 1, sizeof *seen);
    if (!order || !stack || !pos || !seen) {
        free(order);
        free(stack);
        free(pos);
        free(seen);
        return false;
    }
    for (size_t s = 0; s < n; s++) {
        if (seen[s])
            continue;
        size_t top = 0;
        stack[top++] = s;
        seen[s] = true;
        pos[s] = out->start[s];
        while (top) {
            size_t v = stack[top - 1];
            if (pos[v] < out->start[v + 1]) {
                size_t w = kg->edges[out->idx[pos[v]++]].to;
                if (!seen[w]) {
                    seen[w] = true;
                    pos[w] = out->start[w];
                    stack[top++] = w;
                }
            } else {
                order[n_order++] = v;
                top--;
            }
        }
    }
    for (size_t v = 0; v < n; v++)
        comp[v] = SIZE_MAX;
    size_t c = 0;
    for (size_t i = n_order; i-- > 0;) {
        size_t s = order[i];
        if (comp[s] != SIZE_MAX)
            continue;
        size_t top = 0;
        stack[top++] = s;
        comp[s] = c;
        while (top) {
            size_t v = stack[--top];
            for (size_t j = in->start[v]; j < in->start[v + 1]; j++) {
                size_t w = kg->edges[in->idx[j]].from;
                if (comp[w] == SIZE_MAX) {
                    comp[w] = c;
                    stack[top++] = w;
                }
            }
        }
        c++;
    }
    free(order);
    free(stack);
    free(pos);
    free(seen);
    return true;
}

static bool blocks(bool waited_excl, bool held_excl)
{
    return waited_excl || held_excl;
}

#define ST(node, bits) ((node)*4 + (bits))

/* Scratch space of the searches, 4 states per node. */
struct search {
    size_t *via;  /* edge that reached a state */
    size_t *prev; /* the state it came from */
    size_t *queue;
    uint32_t *mark;
    uint32_t epoch;
};

/* The shortest deadlocking cycle through edge k, as edge indices in cycle
 * order (k first) in *path; its length, 0 when there is none. */
static size_t cycle_through(const struct lg_keygraph *kg, size_t k, const struct attrs *at,
                            const struct rows *out, const size_t *comp, struct search *sr,
                            size_t *path)
{
    const struct edge *e = &kg->edges[k];
    size_t u = e->from, v = e->to;
    const char *gate = at[k].gate;
    unsigned s0 = (at[k].waited ? 1u : 0u) | (gate ? 0u : 2u);
    size_t head = 0, tail = 0, found = SIZE_MAX;
    uint32_t epoch = ++sr->epoch;
    sr->mark[ST(v, s0)] = epoch;
    sr->via[ST(v, s0)] = SIZE_MAX;
    sr->queue[tail++] = ST(v, s0);
    while (head < tail) {
        size_t st = sr->queue[head++], x = st / 4;
        unsigned bits = (unsigned)(st % 4);
        if (x == u) {
            /* u is held by k: it must block its waiter too. */
            if (blocks(bits & 1, at[k].held) && (bits & 2)) {
                found = st;
                break;
            }
            continue;
        }
        for (size_t i = out->start[x]; i < out->start[x + 1]; i++) {
            size_t f = out->idx[i], y = kg->edges[f].to;
            if (comp[y] != comp[u] || !blocks(bits & 1, at[f].held))
                continue;
            bool left = (bits & 2) || !at[f].gate || strcmp(at[f].gate, gate) != 0;
            size_t ns = ST(y, (at[f].waited ? 1u : 0u) | (left ? 2u : 0u));
            if (sr->mark[ns] == epoch)
                continue;
            sr->mark[ns] = epoch;
            sr->via[ns] = f;
            sr->prev[ns] = st;
            sr->queue[tail++] = ns;
        }
    }
    if (found == SIZE_MAX)
        return 0;
    size_t len = 0;
    for (size_t st = found; sr->via[st] != SIZE_MAX; st = sr->prev[st])
        len++;
    path[0] = k;
    size_t i = len;
    for (size_t st = found; sr->via[st] != SIZE_MAX; st = sr->prev[st])
        path[i--] = sr->via[st];
    return len + 1;
}

/* With its own lines only, would file `fi` show this cycle? It must hold
 * every edge, and the rules must allow the cycle with its attributes. */
static bool file_shows(const struct lg_keygraph *kg, const size_t *cyc, size_t n, size_t fi)
{
    const struct edge_in **l = calloc(n, sizeof *l);
    bool ok = l != NULL;
    for (size_t i = 0; ok && i < n; i++) {
        const struct edge *e = &kg->edges[cyc[i]];
        for (size_t j = 0; j < e->n_files && !l[i]; j++)
            if (e->files[j] == fi)
                l[i] = &e->in[j];
        ok = l[i] != NULL;
    }
    for (size_t i = 0; ok && i < n; i++) {
        const char *held = l[(i + 1) % n]->held, *waited = l[i]->waited;
        ok = blocks(!waited || strcmp(waited, "shared") != 0, !held || strcmp(held, "shared") != 0);
    }
    if (ok) {
        const char *g = l[0]->gate;
        for (size_t i = 1; g && i < n; i++)
            if (!l[i]->gate || strcmp(l[i]->gate, g) != 0)
                g = NULL;
        ok = g == NULL;
    }
    free(l);
    return ok;
}

static int by_size_t(const void *a, const void *b)
{
    size_t x = *(const size_t *)a, y = *(const size_t *)b;
    return x < y ? -1 : x > y;
}

void lg_keycycles_free(struct lg_keycycle *c, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(c[i].edges);
    free(c);
}

int lg_keygraph_cycles(const struct lg_keygraph *kg, size_t max, struct lg_keycycle **out,
                       size_t *n_out, bool *capped)
{
    size_t n = kg->n_nodes, m = kg->n_edges;
    struct rows rout = {0}, rin = {0};
    struct attrs *at = calloc(m ? m : 1, sizeof *at);
    bool *covered = calloc(m ? m : 1, sizeof *covered);
    size_t *comp = calloc(n ? n : 1, sizeof *comp);
    /* A shortest walk over states may pass a key twice (in two states): up
     * to 4 per key. */
    size_t *path = calloc(4 * n + 1, sizeof *path);
    size_t *keys = calloc(4 * n + 1, sizeof *keys);
    struct search sr = {.via = calloc(4 * n + 1, sizeof(size_t)),
                        .prev = calloc(4 * n + 1, sizeof(size_t)),
                        .queue = calloc(4 * n + 1, sizeof(size_t)),
                        .mark = calloc(4 * n + 1, sizeof(uint32_t))};
    struct lg_keycycle *cycles = NULL;
    size_t n_cycles = 0, cap = 0;
    /* Key sets of the cycles kept, sorted node lists, to keep each once. */
    size_t **sets = NULL;
    int rc = -1;
    *out = NULL;
    *n_out = 0;
    *capped = false;
    if (!at || !covered || !comp || !path || !keys || !sr.via || !sr.prev || !sr.queue ||
        !sr.mark || !build_rows(kg, true, &rout) || !build_rows(kg, false, &rin) ||
        !components(kg, &rout, &rin, comp))
        goto done;
    for (size_t k = 0; k < m; k++) {
        at[k].held = any_exclusive(&kg->edges[k], true);
        at[k].waited = any_exclusive(&kg->edges[k], false);
        at[k].gate = common_gate(&kg->edges[k]);
    }

    for (size_t k = 0; k < m; k++) {
        const struct edge *e = &kg->edges[k];
        /* An edge already on a cycle kept is shown; searching again from
         * it would cost a search per edge of a long ring. */
        if (comp[e->from] != comp[e->to] || covered[k])
            continue;
        size_t len = cycle_through(kg, k, at, &rout, comp, &sr, path);
        if (len == 0)
            continue;
        for (size_t i = 0; i < len; i++)
            covered[path[i]] = true;
        for (size_t i = 0; i < len; i++)
            keys[i] = kg->edges[path[i]].from;
        qsort(keys, len, sizeof *keys, by_size_t);
        size_t j = 0;
        while (j < n_cycles && !(cycles[j].n == len && !memcmp(sets[j], keys, len * sizeof *keys)))
            j++;
        if (j < n_cycles)
            continue;
        if (n_cycles == max) {
            *capped = true;
            break;
        }
        if (n_cycles == cap) {
            size_t ncap = cap ? 2 * cap : 16;
            struct lg_keycycle *c = realloc(cycles, ncap * sizeof *c);
            if (!c)
                goto done;
            cycles = c;
            size_t **s2 = realloc(sets, ncap * sizeof *s2);
            if (!s2)
                goto done;
            sets = s2;
            cap = ncap;
        }
        struct lg_keycycle *c = &cycles[n_cycles];
        memset(c, 0, sizeof *c);
        sets[n_cycles] = malloc(len * sizeof **sets);
        c->edges = malloc(len * sizeof *c->edges);
        if (!sets[n_cycles] || !c->edges) {
            free(sets[n_cycles]);
            free(c->edges);
            goto done;
        }
        memcpy(sets[n_cycles], keys, len * sizeof *keys);
        /* Start at the smallest key, as `ranks` does, so the report does
         * not depend on the order of the files. */
        size_t best = 0;
        for (size_t i = 1; i < len; i++)
            if (strcmp(kg->nodes[kg->edges[path[i]].from].key,
                       kg->nodes[kg->edges[path[best]].from].key) < 0)
                best = i;
        for (size_t i = 0; i < len; i++)
            c->edges[i] = path[(best + i) % len];
        c->n = len;
        c->single_file = SIZE_MAX;
        for (size_t i = 0; i < e->n_files && c->single_file == SIZE_MAX; i++)
            if (file_shows(kg, c->edges, len, e->files[i]))
                c->single_file = e->files[i];
        n_cycles++;
    }
    rc = 0;
done:
    for (size_t i = 0; i < n_cycles; i++)
        free(sets[i]);
    free(sets);
    if (rc == 0) {
        *out = cycles;
        *n_out = n_cycles;
    } else {
        lg_keycycles_free(cycles, n_cycles);
    }
    free_rows(&rout);
    free_rows(&rin);
    free(at);
    free(covered);
    free(comp);
    free(path);
    free(keys);
    free(sr.via);
    free(sr.prev);
    free(sr.queue);
    free(sr.mark);
    return rc;
}
