/*
 * ranks.c - declared lock order: the rank file parser, the closure of the
 * declared order, the check, and which lock belongs to which class.
 *
 * Everything here may run inside the watched program, from a shim: no
 * stdio, no host malloc, no pthread lock.
 */

#include "ranks.h"
#include "alloc.h"
#include "graph.h"
#include "held.h"
#include "keys.h"
#include "registry.h"
#include "seen.h"
#include "sync.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#define HASH_BITS 12
#define HASH_SIZE (1u << HASH_BITS)
#define MAX_FILE (16u << 20)
#define MAX_CLOSURE_CLASSES 8192 /* closure rows are n^2 bits */
#define MAX_TOKENS 256

struct keyent {
    struct keyent *next;
    struct lg_rank_class *cls;
    char key[];
};

struct order {
    uint32_t a, b; /* class a before class b */
    int line;
};

/* Row i: the classes that must be taken before class i. */
struct closure {
    uint32_t n, words;
    uint64_t bits[];
};

struct lg_ranks {
    lg__lock_t lock; /* declarations; never held while computing a key */
    _Atomic(struct keyent *) keys[HASH_SIZE];
    _Atomic(struct lg_rank_class *) labels[HASH_SIZE];
    struct lg_rank_class **cls;
    uint32_t ncls, capcls;
    struct order *ord;
    uint32_t nord, capord;
    _Atomic(struct closure *) closure;
    atomic_bool stale; /* declarations changed since the closure was built */
    atomic_bool any_name, any_sym, any_site;
};

_Atomic(struct lg_ranks *) lg__ranks;

static uint32_t hash_str(const char *s)
{
    uint32_t h = 2166136261u;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 16777619u;
    return h & (HASH_SIZE - 1);
}

static char *copy_str(const char *s)
{
    size_t len = strlen(s);
    char *p = lg__alloc(len + 1);
    if (p)
        memcpy(p, s, len + 1);
    return p;
}

struct lg_ranks *lg__ranks_new(void)
{
    return lg__alloc(sizeof(struct lg_ranks));
}

uint32_t lg__ranks_class_count(const struct lg_ranks *r)
{
    return r->ncls;
}

/* ---------------------------------------------------------------------- */
/* Classes and keys. Writers hold r->lock; readers need none.              */

static struct lg_rank_class *find_label(const struct lg_ranks *r, const char *label)
{
    for (struct lg_rank_class *c = atomic_load_explicit(&r->labels[hash_str(label)],
                                                   memory_order_acquire);
         c; c = c->next)
        if (strcmp(c->label, label) == 0)
            return c;
    return NULL;
}

static struct keyent *find_keyent(const struct lg_ranks *r, const char *key)
{
    for (struct keyent *k = atomic_load_explicit(&r->keys[hash_str(key)], memory_order_acquire);
         k; k = k->next)
        if (strcmp(k->key, key) == 0)
            return k;
    return NULL;
}

struct lg_rank_class *lg__ranks_find(const struct lg_ranks *r, const char *key_or_label)
{
    if (!r)
        return NULL;
    if (strchr(key_or_label, ':')) {
        struct keyent *k = find_keyent(r, key_or_label);
        return k ? k->cls : NULL;
    }
    return find_label(r, key_or_label);
}

/* Room for one more element in an array of n of *cap, doubling it. */
static bool grow(void **array, uint32_t n, uint32_t *cap, size_t elem)
{
    if (n < *cap)
        return true;
    uint32_t c = *cap ? *cap * 2 : 64;
    void *p = lg__alloc(c * elem);
    if (!p)
        return false;
    if (*array) {
        memcpy(p, *array, n * elem);
        lg__free(*array, *cap * elem);
    }
    *array = p;
    *cap = c;
    return true;
}

static struct lg_rank_class *new_class(struct lg_ranks *r, const char *label)
{
    if (!grow((void **)&r->cls, r->ncls, &r->capcls, sizeof(*r->cls)))
        return NULL;
    struct lg_rank_class *c = lg__alloc(sizeof(*c));
    char *l = copy_str(label);
    if (!c || !l) {
        if (c)
            lg__free(c, sizeof(*c));
        return NULL;
    }
    c->label = l;
    c->idx = r->ncls;
    atomic_store(&c->rank, LG_NO_RANK);
    r->cls[r->ncls++] = c;
    _Atomic(struct lg_rank_class *) *head = &r->labels[hash_str(l)];
    c->next = atomic_load_explicit(head, memory_order_relaxed);
    atomic_store_explicit(head, c, memory_order_release);
    return c;
}

static bool map_key(struct lg_ranks *r, const char *key, struct lg_rank_class *c)
{
    size_t len = strlen(key);
    struct keyent *k = lg__alloc(sizeof(*k) + len + 1);
    if (!k)
        return false;
    memcpy(k->key, key, len + 1);
    k->cls = c;
    _Atomic(struct keyent *) *head = &r->keys[hash_str(key)];
    k->next = atomic_load_explicit(head, memory_order_relaxed);
    atomic_store_explicit(head, k, memory_order_release);
    if (strncmp(key, "name:", 5) == 0)
        atomic_store(&r->any_name, true);
    else if (strncmp(key, "sym:", 4) == 0)
        atomic_store(&r->any_sym, true);
    else
        atomic_store(&r->any_site, true);
    return true;
}

/* The class of a key, made (one key, labelled by the key) when new. */
static struct lg_rank_class *class_of_key(struct lg_ranks *r, const char *key)
{
    struct keyent *k = find_keyent(r, key);
    if (k)
        return k->cls;
    struct lg_rank_class *c = new_class(r, key);
    if (c && !map_key(r, key, c))
        return NULL;
    return c;
}

static bool add_order(struct lg_ranks *r, uint32_t a, uint32_t b, int line)
{
    if (!grow((void **)&r->ord, r->nord, &r->capord, sizeof(*r->ord)))
        return false;
    r->ord[r->nord++] = (struct order){a, b, line};
    return true;
}

/* ---------------------------------------------------------------------- */
/* The closure of the declared order.                                      */

static void sort_i64(int64_t *v, uint32_t n)
{
    /* insertion sort into place; n is the number of distinct ranks given,
     * tens in practice, so the simple way is fine up to a few thousand */
    for (uint32_t i = 1; i < n; i++) {
        int64_t x = v[i];
        uint32_t j = i;
        for (; j > 0 && v[j - 1] > x; j--)
            v[j] = v[j - 1];
        v[j] = x;
    }
}

struct dag {
    uint32_t nodes;     /* classes, then one node per distinct rank */
    uint32_t *succ_off, *succ, *pred_off, *pred;
    uint32_t nedges;
};

static void *scratch(size_t size)
{
    return size ? lg__map(size) : NULL;
}

static void unscratch(void *p, size_t size)
{
    if (p)
        lg__unmap(p, size);
}

/* The cycle through the nodes Kahn's algorithm could not remove (each has
 * a predecessor among them): walk predecessors until one repeats. */
static void extract_cycle(const struct lg_ranks *r, const struct dag *g, const uint32_t *indeg,
                          struct lg_rank_cycle *cyc, int *line)
{
    uint32_t n = r->ncls, start = 0;
    while (start < g->nodes && indeg[start] == 0)
        start++;
    size_t seensize = g->nodes * sizeof(uint32_t);
    uint32_t *pos = scratch(seensize); /* position on the walk + 1 */
    uint32_t *walk = scratch(seensize);
    cyc->n = 0;
    *line = 0;
    if (!pos || !walk || start == g->nodes)
        goto out;
    uint32_t len = 0, x = start;
    while (!pos[x]) {
        pos[x] = ++len;
        walk[len - 1] = x;
        uint32_t next = x;
        for (uint32_t e = g->pred_off[x]; e < g->pred_off[x + 1]; e++)
            if (indeg[g->pred[e]] > 0) {
                next = g->pred[e];
                break;
            }
        x = next;
    }
    /* walk[pos[x]-1 .. len) is the cycle, against the edges' direction. */
    uint32_t first = pos[x] - 1;
    uint32_t prev = UINT32_MAX, firstreal = UINT32_MAX;
    for (uint32_t i = len; i-- > first;) {
        uint32_t v = walk[i];
        if (v >= n)
            continue; /* a rank level, not a class */
        if (cyc->n < LG_RANK_CYCLE_MAX - 1)
            cyc->label[cyc->n++] = r->cls[v]->label;
        if (firstreal == UINT32_MAX)
            firstreal = v;
        for (uint32_t o = 0; prev != UINT32_MAX && o < r->nord; o++)
            if (r->ord[o].a == prev && r->ord[o].b == v && r->ord[o].line > *line)
                *line = r->ord[o].line;
        prev = v;
    }
    for (uint32_t o = 0; prev != UINT32_MAX && o < r->nord; o++)
        if (r->ord[o].a == prev && r->ord[o].b == firstreal && r->ord[o].line > *line)
            *line = r->ord[o].line;
    if (cyc->n)
        cyc->label[cyc->n++] = r->cls[firstreal]->label; /* back to the start */
out:
    unscratch(pos, seensize);
    unscratch(walk, seensize);
}

/* Check the declared order for a cycle and, with rows, rebuild and publish
 * its closure; r->lock held. -1 with *cyc on a cycle (cyc->n == 0: out of
 * memory). *line: the latest line among the cycle's order declarations.
 * Without rows the closure is only marked stale: a program declaring many
 * orders one call at a time gets one closure, built at its next check. */
static int build_closure(struct lg_ranks *r, struct lg_rank_cycle *cyc, int *line, bool rows_now)
{
    cyc->n = 0;
    *line = 0;
    if (r->nord == 0) {
        atomic_store_explicit(&r->closure, NULL, memory_order_release);
        atomic_store_explicit(&r->stale, false, memory_order_release);
        return 0;
    }
    uint32_t n = r->ncls;
    int rc = -1;
    /* Distinct ranks, sorted: one level node each. */
    size_t rsize = n * sizeof(int64_t);
    int64_t *ranks = scratch(rsize);
    uint32_t k = 0;
    for (uint32_t i = 0; ranks && i < n; i++) {
        int64_t v = atomic_load(&r->cls[i]->rank);
        if (v != LG_NO_RANK)
            ranks[k++] = v;
    }
    sort_i64(ranks, k);
    uint32_t u = 0;
    for (uint32_t i = 0; i < k; i++)
        if (u == 0 || ranks[u - 1] != ranks[i])
            ranks[u++] = ranks[i];
    k = u;

    struct dag g = {.nodes = n + k};
    uint32_t maxedges = r->nord + 2 * n + k;
    size_t esize = maxedges * 2 * sizeof(uint32_t), osize = (g.nodes + 1) * sizeof(uint32_t);
    uint32_t *ea = scratch(esize), *eb = ea ? ea + maxedges : NULL;
    g.succ_off = scratch(osize);
    g.pred_off = scratch(osize);
    g.succ = scratch(maxedges * sizeof(uint32_t));
    g.pred = scratch(maxedges * sizeof(uint32_t));
    uint32_t *indeg = scratch(osize), *queue = scratch(osize), *fill = scratch(osize);
    uint32_t words = (n + 63) / 64;
    size_t rowsize = (size_t)g.nodes * words * sizeof(uint64_t);
    uint64_t *rows = NULL;
    if ((k && !ranks) || !ea || !g.succ_off || !g.pred_off || !g.succ || !g.pred || !indeg ||
        !queue || !fill || n > MAX_CLOSURE_CLASSES)
        goto out;

    /* Edges: declared orders; a ranked class before the level after its
     * rank; each level before the next and before the classes of the next
     * rank. */
    uint32_t m = 0;
    for (uint32_t o = 0; o < r->nord; o++, m++) {
        ea[m] = r->ord[o].a;
        eb[m] = r->ord[o].b;
    }
    for (uint32_t i = 0; i < n; i++) {
        int64_t v = atomic_load(&r->cls[i]->rank);
        if (v == LG_NO_RANK)
            continue;
        uint32_t lo = 0, hi = k;
        while (lo < hi) {
            uint32_t mid = (lo + hi) / 2;
            if (ranks[mid] < v)
                lo = mid + 1;
            else
                hi = mid;
        }
        ea[m] = i;
        eb[m++] = n + lo;
        if (lo > 0) {
            ea[m] = n + lo - 1;
            eb[m++] = i;
        }
    }
    for (uint32_t l = 0; l + 1 < k; l++, m++) {
        ea[m] = n + l;
        eb[m] = n + l + 1;
    }
    g.nedges = m;
    for (uint32_t e = 0; e < m; e++) {
        g.succ_off[ea[e] + 1]++;
        g.pred_off[eb[e] + 1]++;
    }
    for (uint32_t x = 0; x < g.nodes; x++) {
        g.succ_off[x + 1] += g.succ_off[x];
        g.pred_off[x + 1] += g.pred_off[x];
    }
    memcpy(fill, g.succ_off, osize);
    for (uint32_t e = 0; e < m; e++)
        g.succ[fill[ea[e]]++] = eb[e];
    memcpy(fill, g.pred_off, osize);
    for (uint32_t e = 0; e < m; e++)
        g.pred[fill[eb[e]]++] = ea[e];

    /* Kahn's algorithm. */
    uint32_t qh = 0, qt = 0;
    for (uint32_t x = 0; x < g.nodes; x++) {
        indeg[x] = g.pred_off[x + 1] - g.pred_off[x];
        if (!indeg[x])
            queue[qt++] = x;
    }
    while (qh < qt) {
        uint32_t x = queue[qh++];
        for (uint32_t e = g.succ_off[x]; e < g.succ_off[x + 1]; e++)
            if (--indeg[g.succ[e]] == 0)
                queue[qt++] = g.succ[e];
    }
    if (qt < g.nodes) {
        extract_cycle(r, &g, indeg, cyc, line);
        goto out;
    }

    if (!rows_now) {
        atomic_store_explicit(&r->stale, true, memory_order_release);
        rc = 0;
        goto out;
    }
    /* Rows in topological order: everything before x is before its
     * successors, and so is x. */
    rows = scratch(rowsize);
    if (!rows)
        goto out;
    for (uint32_t q = 0; q < qt; q++) {
        uint32_t x = queue[q];
        uint64_t *rx = rows + (size_t)x * words;
        for (uint32_t e = g.succ_off[x]; e < g.succ_off[x + 1]; e++) {
            uint64_t *ry = rows + (size_t)g.succ[e] * words;
            for (uint32_t w = 0; w < words; w++)
                ry[w] |= rx[w];
            if (x < n)
                ry[x / 64] |= 1ull << (x % 64);
        }
    }
    size_t csize = sizeof(struct closure) + (size_t)n * words * sizeof(uint64_t);
    struct closure *c = lg__alloc(csize);
    if (!c)
        goto out;
    c->n = n;
    c->words = words;
    memcpy(c->bits, rows, (size_t)n * words * sizeof(uint64_t));
    /* The old closure may still be read by a check in flight: kept. */
    atomic_store_explicit(&r->closure, c, memory_order_release);
    atomic_store_explicit(&r->stale, false, memory_order_release);
    rc = 0;
out:
    unscratch(ranks, rsize);
    unscratch(ea, esize);
    unscratch(g.succ_off, osize);
    unscratch(g.pred_off, osize);
    unscratch(g.succ, maxedges * sizeof(uint32_t));
    unscratch(g.pred, maxedges * sizeof(uint32_t));
    unscratch(indeg, osize);
    unscratch(queue, osize);
    unscratch(fill, osize);
    unscratch(rows, rowsize);
    return rc;
}

/* ---------------------------------------------------------------------- */
/* The check.                                                              */

enum lg_why lg__ranks_check(struct lg_ranks *r, const struct lg_rank_class *h, uintptr_t haddr,
                            const struct lg_rank_class *c, uintptr_t addr)
{
    if (h == c) {
        switch (atomic_load_explicit(&((struct lg_rank_class *)c)->same, memory_order_relaxed)) {
        case LG_SAME_ANY:
            return LG_WHY_NONE;
        case LG_SAME_ADDRESS:
            return haddr < addr ? LG_WHY_NONE : LG_WHY_SAME;
        default:
            return LG_WHY_SAME;
        }
    }
    int64_t hr = atomic_load_explicit(&((struct lg_rank_class *)h)->rank, memory_order_relaxed);
    int64_t cr = atomic_load_explicit(&((struct lg_rank_class *)c)->rank, memory_order_relaxed);
    if (hr != LG_NO_RANK && cr != LG_NO_RANK && cr <= hr)
        return LG_WHY_RANK;
    if (__builtin_expect(atomic_load_explicit(&r->stale, memory_order_acquire), 0)) {
        struct lg_rank_cycle ignored;
        int line;
        lg__lock(&r->lock);
        if (atomic_load(&r->stale))
            (void)build_closure(r, &ignored, &line, true);
        lg__unlock(&r->lock);
    }
    const struct closure *cl = atomic_load_explicit(&r->closure, memory_order_acquire);
    if (cl && h->idx < cl->n && c->idx < cl->n &&
        (cl->bits[(size_t)h->idx * cl->words + c->idx / 64] >> (c->idx % 64) & 1))
        return LG_WHY_ORDER;
    return LG_WHY_NONE;
}

static struct lg_seen violations = LG_SEEN_INIT(16);

bool lg__ranks_first_time(uintptr_t held_pc, uintptr_t pc)
{
    return lg__seen_first(&violations, (uint64_t)held_pc * 0x9e3779b97f4a7c15ull ^ pc);
}

/* ---------------------------------------------------------------------- */
/* Which class a lock is in.                                               */

void lg__ranks_classify(struct lg_node *n)
{
    struct lg_ranks *r = atomic_load_explicit(&lg__ranks, memory_order_acquire);
    if (!r || !n)
        return;
    char key[LG_KEY_MAX];
    struct keyent *k = NULL;
    if (atomic_load(&r->any_name) && lg__key_name(n, key))
        k = find_keyent(r, key);
    if (!k && atomic_load(&r->any_sym) && lg__key_sym(n, key))
        k = find_keyent(r, key);
    if (!k && atomic_load(&r->any_site) && lg__key_site(n, key))
        k = find_keyent(r, key);
    struct lg_rank_class *old =
        atomic_exchange_explicit(&n->cls, k ? k->cls : NULL, memory_order_acq_rel);
    if (old != (k ? k->cls : NULL))
        lg__chain_forget(); /* chains through n were checked under its old rank */
}

/* ---------------------------------------------------------------------- */
/* Declarations through the API.                                           */

/* A key, or a class label, or a bare lock name (a name: key). *made is set
 * when this made a new class. */
static struct lg_rank_class *resolve_api(struct lg_ranks *r, const char *key, bool *made)
{
    char k[LG_KEY_MAX] = "name:";
    if (strchr(key, ':'))
        lg__strlcpy(k, key, sizeof(k));
    else {
        struct lg_rank_class *c = find_label(r, key);
        if (c)
            return c;
        lg__key_put(k, key); /* the key of locks named so */
    }
    struct keyent *e = find_keyent(r, k);
    if (e)
        return e->cls;
    *made = true;
    if (strchr(key, ':'))
        return class_of_key(r, k);
    /* A new class for a lock name is labelled by the bare name. */
    struct lg_rank_class *c = new_class(r, key);
    return c && map_key(r, k, c) ? c : NULL;
}

int lg__ranks_set_rank(struct lg_ranks *r, const char *key, int64_t rank, int same,
                       struct lg_rank_cycle *cycle)
{
    struct lg_rank_cycle scratch_cycle;
    if (!cycle)
        cycle = &scratch_cycle;
    cycle->n = 0;
    bool made = false;
    lg__lock(&r->lock);
    struct lg_rank_class *c = resolve_api(r, key, &made);
    int rc = c ? 0 : -1;
    if (c) {
        int64_t old = atomic_load(&c->rank);
        atomic_store(&c->rank, rank);
        int line;
        /* A refused rank publishes nothing: putting the old one back is all. */
        if (old != rank && build_closure(r, cycle, &line, false) != 0) {
            atomic_store(&c->rank, old);
            rc = -1;
        } else if (same >= 0) {
            atomic_store(&c->same, (uint8_t)same);
        }
    }
    lg__unlock(&r->lock);
    return rc == 0 && made ? 1 : rc;
}

int lg__ranks_add_order(struct lg_ranks *r, const char *before, const char *after,
                        struct lg_rank_cycle *cycle)
{
    struct lg_rank_cycle scratch_cycle;
    if (!cycle)
        cycle = &scratch_cycle;
    cycle->n = 0;
    bool made = false;
    lg__lock(&r->lock);
    struct lg_rank_class *a = resolve_api(r, before, &made), *b = resolve_api(r, after, &made);
    int rc = -1, line;
    if (a && a == b) {
        cycle->n = 2;
        cycle->label[0] = cycle->label[1] = a->label;
    } else if (a && b && add_order(r, a->idx, b->idx, 0)) {
        rc = build_closure(r, cycle, &line, false);
        if (rc != 0)
            r->nord--; /* refused: nothing was published */
    }
    lg__unlock(&r->lock);
    return rc == 0 && made ? 1 : rc;
}

/* ---------------------------------------------------------------------- */
/* The rank file.                                                          */

struct pctx {
    struct lg_ranks *r;
    const char *file;
    int line;
    char *err;
    size_t errlen;
};

static int perr(struct pctx *p, const char *a, const char *b, const char *c)
{
    struct lg_buf m = {0};
    lg__buf_str(&m, p->file ? p->file : "ranks");
    if (p->line > 0) {
        lg__buf_char(&m, ':');
        lg__buf_i64(&m, p->line);
    }
    lg__buf_str(&m, ": ");
    lg__buf_str(&m, a);
    if (b)
        lg__buf_str(&m, b);
    if (c)
        lg__buf_str(&m, c);
    p->err[0] = 0;
    if (m.p)
        lg__strlcpy(p->err, m.p, p->errlen);
    else
        lg__strlcpy(p->err, "out of memory", p->errlen);
    lg__buf_free(&m);
    return -1;
}

static bool is_label(const char *s)
{
    if (!*s)
        return false;
    for (; *s; s++) {
        char ch = *s;
        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
              ch == '_' || ch == '-' || ch == '.'))
            return false;
    }
    return true;
}

static bool is_hex_number(const char *s)
{
    if (s[0] != '0' || s[1] != 'x' || !s[2])
        return false;
    for (s += 2; *s; s++)
        if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'f') || (*s >= 'A' && *s <= 'F')))
            return false;
    return true;
}

/* NULL when key is well formed, else why not. */
static const char *bad_key(const char *key)
{
    if (strncmp(key, "name:", 5) == 0)
        return key[5] ? NULL : ": a name: key needs the lock's name after the colon";
    if (strncmp(key, "sym:", 4) == 0) {
        const char *colon = strchr(key + 4, ':');
        if (!colon || colon == key + 4 || !colon[1])
            return ": a sym: key is sym:MODULE:SYMBOL";
        return NULL;
    }
    if (strncmp(key, "site:", 5) == 0) {
        const char *plus = NULL;
        for (const char *q = key + 5; (q = strstr(q, "+0x")) != NULL; q++)
            plus = q; /* the last one: module names may hold a '+' */
        if (!plus || plus == key + 5 || !is_hex_number(plus + 1))
            return ": a site: key is site:MODULE+0xOFFSET";
        return NULL;
    }
    if (strncmp(key, "addr:", 5) == 0)
        return ": addr: keys change from run to run and cannot be ranked";
    return ": not a key (name:, sym: or site:) or a class name";
}

/* A lock in a rank or order line: a key (its class, made when new) or a
 * class declared earlier. */
static int resolve(struct pctx *p, const char *tok, struct lg_rank_class **out)
{
    if (!strchr(tok, ':')) {
        *out = find_label(p->r, tok);
        if (!*out)
            return perr(p, "'", tok,
                        "' is not a declared class (declare it with a class line first) "
                        "nor a key (name:, sym: or site:)");
        return 0;
    }
    const char *why = bad_key(tok);
    if (why)
        return perr(p, "'", tok, why);
    *out = class_of_key(p->r, tok);
    return *out ? 0 : perr(p, "out of memory", NULL, NULL);
}

static int parse_rank(struct pctx *p, char **tok, int ntok)
{
    if (ntok < 3 || ntok > 4)
        return perr(p, "expected 'rank NUMBER LOCK [same=strict|address|any]'", NULL, NULL);
    const char *num = tok[1];
    int64_t v = 0;
    for (const char *q = num; *q; q++) {
        if (*q < '0' || *q > '9' || v > 214748364 || (v == 214748364 && *q > '7'))
            return perr(p, "rank '", num, "' is not a whole number from 0 to 2147483647");
        v = v * 10 + (*q - '0');
    }
    if (!*num)
        return perr(p, "rank needs a number", NULL, NULL);
    int same = -1;
    if (ntok == 4) {
        if (strcmp(tok[3], "same=strict") == 0)
            same = LG_SAME_STRICT;
        else if (strcmp(tok[3], "same=address") == 0)
            same = LG_SAME_ADDRESS;
        else if (strcmp(tok[3], "same=any") == 0)
            same = LG_SAME_ANY;
        else
            return perr(p, "'", tok[3], "': expected same=strict, same=address or same=any");
    }
    struct lg_rank_class *c;
    if (resolve(p, tok[2], &c))
        return -1;
    int64_t old = atomic_load(&c->rank);
    if (old != LG_NO_RANK && old != v) {
        struct lg_buf b = {0};
        lg__buf_str(&b, " already has rank ");
        lg__buf_i64(&b, old);
        lg__buf_str(&b, " (line ");
        lg__buf_i64(&b, c->line);
        lg__buf_char(&b, ')');
        int rc = perr(p, c->label, b.p ? b.p : " already has a rank", NULL);
        lg__buf_free(&b);
        return rc;
    }
    atomic_store(&c->rank, v);
    c->line = p->line;
    if (same >= 0)
        atomic_store(&c->same, (uint8_t)same);
    return 0;
}

static int parse_class(struct pctx *p, char **tok, int ntok)
{
    if (ntok < 3)
        return perr(p, "expected 'class NAME KEY...'", NULL, NULL);
    if (!is_label(tok[1]))
        return perr(p, "class name '", tok[1],
                    "' may hold only letters, digits, '_', '-' and '.'");
    if (find_label(p->r, tok[1]))
        return perr(p, "class '", tok[1], "' is declared twice");
    for (int i = 2; i < ntok; i++) {
        const char *why = bad_key(tok[i]);
        if (why)
            return perr(p, "'", tok[i], why);
        struct keyent *k = find_keyent(p->r, tok[i]);
        if (k)
            return perr(p, tok[i], " is already in class ", k->cls->label);
    }
    struct lg_rank_class *c = new_class(p->r, tok[1]);
    if (!c)
        return perr(p, "out of memory", NULL, NULL);
    for (int i = 2; i < ntok; i++)
        if (!map_key(p->r, tok[i], c))
            return perr(p, "out of memory", NULL, NULL);
    return 0;
}

static int parse_order(struct pctx *p, char **tok, int ntok)
{
    if (ntok < 4 || ntok % 2 != 0)
        return perr(p, "expected 'order LOCK < LOCK [< LOCK ...]'", NULL, NULL);
    struct lg_rank_class *prev = NULL;
    for (int i = 1; i < ntok; i += 2) {
        if (i > 1 && strcmp(tok[i - 1], "<") != 0)
            return perr(p, "expected '<' between locks, found '", tok[i - 1], "'");
        struct lg_rank_class *c;
        if (resolve(p, tok[i], &c))
            return -1;
        if (prev == c)
            return perr(p, "'", tok[i], "' cannot come before itself");
        if (prev && !add_order(p->r, prev->idx, c->idx, p->line))
            return perr(p, "out of memory", NULL, NULL);
        prev = c;
    }
    return 0;
}

static int parse_line(struct pctx *p, char *s, size_t len)
{
    char *tok[MAX_TOKENS];
    int ntok = 0;
    size_t i = 0;
    while (i < len) {
        while (i < len && (s[i] == ' ' || s[i] == '\t' || s[i] == '\r'))
            s[i++] = 0;
        if (i >= len || s[i] == '#')
            break;
        if (ntok == MAX_TOKENS)
            return perr(p, "too many words on one line", NULL, NULL);
        tok[ntok++] = &s[i];
        while (i < len && s[i] != ' ' && s[i] != '\t' && s[i] != '\r' && s[i] != '#')
            i++;
        if (i < len && s[i] == '#') {
            s[i] = 0;
            break;
        }
    }
    if (i < len)
        s[i] = 0;
    if (ntok == 0)
        return 0;
    if (strcmp(tok[0], "rank") == 0)
        return parse_rank(p, tok, ntok);
    if (strcmp(tok[0], "class") == 0)
        return parse_class(p, tok, ntok);
    if (strcmp(tok[0], "order") == 0)
        return parse_order(p, tok, ntok);
    return perr(p, "unknown declaration '", tok[0], "' (expected rank, class or order)");
}

int lg__ranks_parse(struct lg_ranks *r, const char *text, size_t len, const char *file,
                    char *err, size_t errlen)
{
    struct pctx p = {.r = r, .file = file, .err = err, .errlen = errlen};
    char *copy = lg__map(len + 1); /* lines are cut up in place */
    if (!copy && len)
        return perr(&p, "out of memory", NULL, NULL);
    if (len)
        memcpy(copy, text, len);
    int rc = 0;
    lg__lock(&r->lock);
    size_t start = 0;
    for (size_t i = 0; i <= len && rc == 0; i++) {
        if (i < len && copy[i] != '\n')
            continue;
        p.line++;
        copy[i] = 0; /* the line's end (copy[len] is the mapping's spare byte) */
        if (memchr(copy + start, 0, i - start))
            rc = perr(&p, "a NUL byte: not a text file", NULL, NULL);
        else
            rc = parse_line(&p, copy + start, i - start);
        start = i + 1;
    }
    if (rc == 0) {
        struct lg_rank_cycle cyc;
        int line;
        if (build_closure(r, &cyc, &line, true) != 0) {
            p.line = line;
            if (cyc.n == 0) {
                rc = perr(&p, "out of memory (or more than 8192 locks with order lines)", NULL,
                          NULL);
            } else {
                struct lg_buf b = {0};
                for (uint32_t i = 0; i < cyc.n; i++) {
                    if (i)
                        lg__buf_str(&b, " < ");
                    lg__buf_str(&b, cyc.label[i]);
                }
                rc = perr(&p, "the declared order has a cycle: ", b.p ? b.p : "?", NULL);
                lg__buf_free(&b);
            }
        }
    }
    lg__unlock(&r->lock);
    if (copy)
        lg__unmap(copy, len + 1);
    return rc;
}

int lg__ranks_load(struct lg_ranks *r, const char *path, char *err, size_t errlen)
{
    struct pctx p = {.r = r, .file = path, .err = err, .errlen = errlen};
    int fd = (int)syscall(SYS_openat, AT_FDCWD, path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || syscall(SYS_fstat, fd, &st) != 0) {
        int e = errno;
        if (fd >= 0)
            syscall(SYS_close, fd);
        const char *why = strerrordesc_np(e);
        return perr(&p, "cannot open the rank file: ", why ? why : "error", NULL);
    }
    if (!S_ISREG(st.st_mode) || (size_t)st.st_size > MAX_FILE) {
        syscall(SYS_close, fd);
        return perr(&p, "not a regular file of at most 16 MiB", NULL, NULL);
    }
    size_t size = (size_t)st.st_size, got = 0;
    char *buf = lg__map(size + 1);
    if (!buf) {
        syscall(SYS_close, fd);
        return perr(&p, "out of memory", NULL, NULL);
    }
    while (got < size) {
        long k = syscall(SYS_read, fd, buf + got, size - got);
        if (k <= 0)
            break;
        got += (size_t)k;
    }
    syscall(SYS_close, fd);
    int rc = lg__ranks_parse(r, buf, got, path, err, errlen);
    lg__unmap(buf, size + 1);
    return rc;
}

void lg__ranks_lock_all(void)
{
    struct lg_ranks *r = atomic_load(&lg__ranks);
    if (r)
        lg__lock(&r->lock);
}

void lg__ranks_unlock_all(void)
{
    struct lg_ranks *r = atomic_load(&lg__ranks);
    if (r)
        lg__unlock(&r->lock);
}

void lg__ranks_reset_child(void)
{
    struct lg_ranks *r = atomic_load(&lg__ranks);
    if (r)
        lg__lock_reset(&r->lock);
}
