/*
 * dedupe.c - group findings that are the same cycle or the same code.
 *
 * Does: give each finding up to two signatures - what it is about (the
 * locks of a cycle, by stable identity) and where it happened (its
 * acquisition sites as module + offset) - and join findings that share
 * either, with a union-find over the signatures sorted. A cycle between
 * lock classes is the same as another when both its classes and its code
 * are, and never the same finding as one the locks close: the same
 * classes inverted on different objects and on the same ones are two
 * things to know.
 * Does not: symbolize (module + offset is enough to compare), or decide
 * what is shown (report.c).
 */
#include "dedupe.h"
#include "hash.h"
#include "u64map.h"

#include <json.h>
#include <stdlib.h>
#include <string.h>

/* ---- hashing ---- */

static uint64_t hash_str(const char *s, uint64_t seed)
{
    uint64_t h = 1469598103934665603ull ^ lg_mix64(seed);
    for (; s && *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return lg_mix64(h);
}

static uint64_t combine(uint64_t a, uint64_t b)
{
    return lg_mix64(a * 0x9e3779b97f4a7c15ull + b + 0x632be59bd9b4e019ull);
}

/* An order-independent sum of parts: rotations of a cycle, or the same
 * sites listed in another order, give one value. */
struct bag {
    uint64_t sum, x;
    size_t n;
};

static void bag_add(struct bag *b, uint64_t v)
{
    b->sum += lg_mix64(v);
    b->x ^= lg_mix64(v + 0x1234567);
    b->n++;
}

static uint64_t bag_value(const struct bag *b, uint64_t seed)
{
    return combine(combine(b->sum, b->x), combine(b->n, seed));
}

static const char *base_name(const char *path)
{
    const char *s = strrchr(path, '/');
    return s ? s + 1 : path;
}

static const struct lg_module *module_of(const struct lg_finding *f, uint64_t addr)
{
    const struct lg_module *best = NULL;
    for (size_t i = 0; i < f->n_modules; i++) {
        const struct lg_module *m = &f->modules[i];
        if (m->base <= addr && addr < m->end && (!best || m->base > best->base))
            best = m;
    }
    return best;
}

/* A module by what stays the same across runs: its build-id, else its
 * file name. */
static uint64_t module_hash(const struct lg_module *m)
{
    return m->build_id ? hash_str(m->build_id, 1) : hash_str(base_name(m->path), 2);
}

uint64_t lg_site_hash(const struct lg_finding *f, uint64_t pc)
{
    if (pc == 0)
        return 0;
    const struct lg_module *m = module_of(f, pc - 1);
    if (!m)
        return combine(combine((uint64_t)f->pid, hash_str(f->file, 3)), pc);
    return combine(module_hash(m), pc - m->base);
}

static uint64_t top_site(const struct lg_finding *f, const struct lg_stack *s)
{
    return s->n ? lg_site_hash(f, s->pcs[0]) : 0;
}

/* A lock by what names it across runs: its key; its name (with its
 * creation site, when it has one); a global's place in its module; its
 * creation site; else, only within its process, its address. The second
 * value says whether the identity holds across processes. */
static bool class_kind_is(const struct lg_lock *l, const char *kind)
{
    return l->cls.kind && strcmp(l->cls.kind, kind) == 0;
}

uint64_t lg_lock_identity(const struct lg_finding *f, const struct lg_lock *l, bool *stable)
{
    *stable = true;
    if (l->key)
        return hash_str(l->key, 10);
    /* A class made by code (or named) is the same in every run of the
     * build: its key says which. A lock of its own class (never
     * initialized) is named below, by its place. */
    if (l->cls.known && l->cls.key &&
        (class_kind_is(l, "site") || class_kind_is(l, "chain") || class_kind_is(l, "name")))
        return hash_str(l->cls.key, 15);
    uint64_t site = l->created ? top_site(f, &l->stack) : 0;
    if (l->name)
        return combine(hash_str(l->name, 11), site);
    const struct lg_module *m = module_of(f, l->addr);
    if (m)
        return combine(module_hash(m), combine(l->addr - m->base, 12));
    if (site)
        return combine(site, 13);
    *stable = false;
    return combine(combine((uint64_t)f->pid, hash_str(f->file, 14)), l->addr);
}

/* ---- a kind this lockgraph does not know: its fields ---- */

static bool ignored_field(const char *key)
{
    /* What differs between two processes making the same finding. */
    static const char *const skip[] = {"kind",    "version", "seq", "pid",
                                       "time_ns", "modules", "tid", "id"};
    for (size_t i = 0; i < sizeof skip / sizeof *skip; i++)
        if (strcmp(key, skip[i]) == 0)
            return true;
    return false;
}

static uint64_t value_hash(const struct lg_finding *f, json_object *v, int depth)
{
    if (depth > 8)
        return 0;
    switch (json_object_get_type(v)) {
    case json_type_object: {
        struct bag b = {0};
        json_object_object_foreach(v, k, m)
        {
            if (!ignored_field(k))
                bag_add(&b, combine(hash_str(k, 20), value_hash(f, m, depth + 1)));
        }
        return bag_value(&b, 21);
    }
    case json_type_array: {
        uint64_t h = 22;
        size_t n = json_object_array_length(v);
        for (size_t i = 0; i < n; i++)
            h = combine(h, value_hash(f, json_object_array_get_idx(v, i), depth + 1));
        return h;
    }
    case json_type_string: {
        /* An address in a module is compared as module + offset; any other
         * address (a heap lock's) differs between processes: ignored. */
        const char *s = json_object_get_string(v);
        if (s[0] == '0' && s[1] == 'x' && s[2] &&
            strspn(s + 2, "0123456789abcdefABCDEF") == strlen(s + 2)) {
            uint64_t a = strtoull(s, NULL, 16);
            return module_of(f, a ? a - 1 : 0) ? lg_site_hash(f, a) : 23;
        }
        return hash_str(s, 24);
    }
    case json_type_null:
        return 25;
    default:
        return hash_str(json_object_to_json_string(v), 26);
    }
}

/* ---- signatures ---- */

/* How the grouper tells the locks of a cycle apart. */
struct identity {
    lg_class_identity_fn fn;
    void *arg;
};

static uint64_t cycle_lock_identity(const struct identity *id, const struct lg_finding *f,
                                    const struct lg_lock *l, bool *stable)
{
    uint64_t v = id && id->fn ? id->fn(id->arg, f, l) : 0;
    if (v) {
        *stable = true;
        return combine(v, 16);
    }
    return lg_lock_identity(f, l, stable);
}

/* sig[0]: where (the code); sig[1]: what (the locks), 0 when none. */
static void signatures(const struct lg_finding *f, const struct identity *id, uint64_t sig[2])
{
    struct bag b = {0};
    bool stable = true, s;
    sig[0] = sig[1] = 0;
    uint64_t kind = hash_str(lg_finding_kind(f), 30);
    switch (f->kind) {
    case LG_KIND_CYCLE:
        /* Between classes: a finding of its own kind (earlier files, with
         * no scope, keep the signatures they had), the same when both its
         * classes and its code are (below). */
        if (lg_finding_class_scope(f))
            kind = combine(kind, 35);
        for (size_t i = 0; i < f->n_edges; i++)
            bag_add(&b, combine(top_site(f, &f->edges[i].first), top_site(f, &f->edges[i].second)));
        sig[0] = bag_value(&b, kind);
        memset(&b, 0, sizeof b);
        for (size_t i = 0; i < f->n_locks; i++) {
            bag_add(&b, cycle_lock_identity(id, f, &f->locks[i], &s));
            stable = stable && s;
        }
        /* Anonymous heap locks are only "the same" within a process, which
         * the library already reports once. */
        sig[1] = stable ? bag_value(&b, kind + 1) : 0;
        if (lg_finding_class_scope(f)) {
            /* The same classes and the same code: one finding. The same
             * code on other classes (a lock made through a helper, or
             * not) is another inversion, and so are the same classes
             * inverted by other code. */
            if (sig[1])
                sig[0] = combine(sig[0], sig[1]);
            sig[1] = 0;
        }
        break;
    case LG_KIND_SELF_DEADLOCK:
        sig[0] =
            combine(kind, combine(top_site(f, &f->first_stack), top_site(f, &f->second_stack)));
        break;
    case LG_KIND_UNLOCK_NOT_HELD:
        sig[0] = combine(kind, combine(top_site(f, &f->stack), lg_lock_identity(f, &f->lock, &s)));
        break;
    case LG_KIND_HELD_AT_EXIT:
        for (size_t i = 0; i < f->n_held; i++)
            bag_add(&b, combine(top_site(f, &f->held[i].stack),
                                lg_lock_identity(f, &f->held[i].lock, &s)));
        sig[0] = bag_value(&b, kind);
        break;
    case LG_KIND_RANK_VIOLATION:
        for (size_t i = 0; i < f->n_held; i++)
            bag_add(&b, top_site(f, &f->held[i].stack));
        sig[0] = combine(bag_value(&b, kind), top_site(f, &f->stack));
        break;
    case LG_KIND_RANK_CYCLE:
        for (size_t i = 0; i < f->n_classes; i++)
            bag_add(&b, hash_str(f->classes[i], 31));
        sig[0] = bag_value(&b, kind);
        break;
    case LG_KIND_DETECTOR_ERROR:
        sig[0] = combine(kind, hash_str(f->error, 32));
        break;
    case LG_KIND_DEADLOCK:
        /* Like a cycle: where each awaited lock was created (or first
         * taken) and where its thread waits; or the same locks. */
        for (size_t i = 0; i < f->n_waiters; i++)
            bag_add(&b, combine(top_site(f, &f->waiters[i].waits_for.stack),
                                top_site(f, &f->waiters[i].stack)));
        sig[0] = bag_value(&b, kind);
        memset(&b, 0, sizeof b);
        for (size_t i = 0; i < f->n_waiters; i++) {
            bag_add(&b, lg_lock_identity(f, &f->waiters[i].waits_for, &s));
            stable = stable && s;
        }
        sig[1] = stable ? bag_value(&b, kind + 1) : 0;
        if (f->gone.known) {
            /* A gone owner is no cycle: the same lock left by a thread that
             * ended and inherited across a fork are two problems. */
            sig[0] =
                combine(sig[0], combine(hash_str(f->gone.gone, 34), top_site(f, &f->gone.stack)));
            sig[1] = 0;
        }
        break;
    case LG_KIND_LONG_WAIT:
        sig[0] = combine(kind, combine(f->n_waiters ? top_site(f, &f->waiters[0].stack) : 0,
                                       top_site(f, &f->owner.stack)));
        break;
    case LG_KIND_HELD_LOCK_FREED:
        /* Where it was freed (by which call) and where its holder took it. */
        sig[0] = combine(combine(kind, hash_str(f->call, 36)),
                         combine(top_site(f, &f->stack), top_site(f, &f->owner.stack)));
        break;
    case LG_KIND_LONG_HOLD:
        /* The library's own unit: one acquisition site. */
        sig[0] = combine(kind, top_site(f, &f->stack));
        break;
    case LG_KIND_HELD_ACROSS_IO:
    case LG_KIND_HELD_ACROSS_WAIT:
        /* The library's pair: the call and where it is made, and where
         * each held lock was taken. */
        for (size_t i = 0; i < f->n_held; i++)
            bag_add(&b, top_site(f, &f->held[i].stack));
        sig[0] =
            combine(combine(bag_value(&b, kind), top_site(f, &f->stack)), hash_str(f->call, 33));
        break;
    default:
        /* LG_KIND_OTHER, and a kind added to the reader but not here yet:
         * its fields, as written. */
        sig[0] = combine(kind, f->raw ? value_hash(f, f->raw, 0) : 0);
        break;
    }
    /* 0 means "no signature"; a real one that happens to be 0 is moved. */
    if (sig[0] == 0)
        sig[0] = 1;
}

uint64_t lg_finding_signature(const struct lg_finding *f)
{
    uint64_t sig[2];
    signatures(f, NULL, sig);
    return sig[0];
}

/* ---- sets of hashes, small until they grow ---- */

/* Most groups hold one process and one code path: the first value is kept
 * inline, a table made only for a second. */
struct hset {
    uint64_t first;
    bool has_first;
    struct lg_u64map more;
};

static int hset_add(struct hset *h, uint64_t v)
{
    if (!h->has_first) {
        h->first = v;
        h->has_first = true;
        return 0;
    }
    if (v == h->first)
        return 0;
    return lg_u64map_put(&h->more, v, 1);
}

static size_t hset_count(const struct hset *h)
{
    return (h->has_first ? 1 : 0) + lg_u64map_count(&h->more);
}

static int hset_merge(struct hset *into, const struct hset *from)
{
    if (from->has_first && hset_add(into, from->first) != 0)
        return -1;
    size_t i = 0;
    uint64_t k, v;
    while (lg_u64map_next(&from->more, &i, &k, &v))
        if (hset_add(into, k) != 0)
            return -1;
    return 0;
}

static void hset_free(struct hset *h)
{
    lg_u64map_free(&h->more);
    memset(h, 0, sizeof *h);
}

/* ---- the grouper ---- */

struct ggroup {
    size_t parent; /* union-find over groups: a group merged into another points at it */
    size_t first;  /* index of the finding shown: the earliest */
    struct lg_finding *finding;
    size_t n;
    struct lg_seen *seen; /* sorted by index; at most keep */
    size_t n_seen, cap_seen;
    struct hset procs, paths;
};

struct lg_grouper {
    bool merge, owns;
    struct identity id; /* how the locks of cycles are told apart */
    size_t keep;
    struct ggroup *g;
    size_t n, cap;
    struct lg_u64map by_sig; /* signature -> a group (follow parent to its root) */
    char **files;            /* the file names findings came from, interned */
    size_t n_files, cap_files;
    struct lg_group *out; /* lg_grouper_groups' answer */
    size_t n_out;
};

struct lg_grouper *lg_grouper_new(bool merge, bool owns, size_t keep)
{
    struct lg_grouper *gr = calloc(1, sizeof *gr);
    if (gr) {
        gr->merge = merge;
        gr->owns = owns;
        gr->keep = keep ? keep : 1;
        lg_u64map_init(&gr->by_sig);
    }
    return gr;
}

void lg_grouper_fold_classes(struct lg_grouper *gr, lg_class_identity_fn fn, void *arg)
{
    gr->id.fn = fn;
    gr->id.arg = arg;
}

static void group_release(struct lg_grouper *gr, struct ggroup *g)
{
    if (gr->owns && g->finding) {
        lg_finding_free(g->finding);
        free(g->finding);
    }
    g->finding = NULL;
    free(g->seen);
    g->seen = NULL;
    g->n_seen = g->cap_seen = 0;
    hset_free(&g->procs);
    hset_free(&g->paths);
}

void lg_grouper_free(struct lg_grouper *gr)
{
    if (!gr)
        return;
    for (size_t i = 0; i < gr->n; i++)
        group_release(gr, &gr->g[i]);
    free(gr->g);
    lg_u64map_free(&gr->by_sig);
    for (size_t i = 0; i < gr->n_files; i++)
        free(gr->files[i]);
    free(gr->files);
    free(gr->out);
    free(gr);
}

static size_t root(struct lg_grouper *gr, size_t x)
{
    while (gr->g[x].parent != x) {
        gr->g[x].parent = gr->g[gr->g[x].parent].parent;
        x = gr->g[x].parent;
    }
    return x;
}

static bool grow(void **arr, size_t n, size_t *cap, size_t size)
{
    if (n < *cap)
        return true;
    size_t ncap = *cap ? 2 * *cap : 16;
    void *p = realloc(*arr, ncap * size);
    if (!p)
        return false;
    *arr = p;
    *cap = ncap;
    return true;
}

/* The interned copy of a file name: findings come file by file, so the
 * last one is nearly always it. */
static const char *intern(struct lg_grouper *gr, const char *file)
{
    if (!file)
        file = "";
    for (size_t i = gr->n_files; i > 0 && i + 4 > gr->n_files; i--)
        if (strcmp(gr->files[i - 1], file) == 0)
            return gr->files[i - 1];
    char *copy = strdup(file);
    if (!copy || !grow((void **)&gr->files, gr->n_files, &gr->cap_files, sizeof *gr->files)) {
        free(copy);
        return NULL;
    }
    gr->files[gr->n_files++] = copy;
    return copy;
}

/* Merge `b` (sorted, nb) into g's seen (sorted), keeping the first gr->keep. */
static int seen_merge(struct lg_grouper *gr, struct ggroup *g, const struct lg_seen *b, size_t nb)
{
    size_t na = g->n_seen, total = na + nb < gr->keep ? na + nb : gr->keep;
    struct lg_seen *m = malloc((total ? total : 1) * sizeof *m);
    if (!m)
        return -1;
    size_t i = 0, j = 0, k = 0;
    while (k < total) {
        if (j == nb || (i < na && g->seen[i].index < b[j].index))
            m[k++] = g->seen[i++];
        else
            m[k++] = b[j++];
    }
    free(g->seen);
    g->seen = m;
    g->n_seen = g->cap_seen = total;
    return 0;
}

static int seen_add(struct lg_grouper *gr, struct ggroup *g, const struct lg_seen *s)
{
    if (g->n_seen == gr->keep && g->seen[g->n_seen - 1].index < s->index)
        return 0; /* later than every occurrence kept: only counted */
    if (g->n_seen < gr->keep && (g->n_seen == 0 || g->seen[g->n_seen - 1].index < s->index)) {
        if (!grow((void **)&g->seen, g->n_seen, &g->cap_seen, sizeof *g->seen))
            return -1;
        g->seen[g->n_seen++] = *s;
        return 0;
    }
    return seen_merge(gr, g, s, 1);
}

/* Group b joins group a (both roots); the earlier first stays shown. */
static int unite_groups(struct lg_grouper *gr, size_t a, size_t b)
{
    if (gr->g[b].first < gr->g[a].first) {
        size_t t = a;
        a = b;
        b = t;
    }
    struct ggroup *ga = &gr->g[a], *gb = &gr->g[b];
    if (seen_merge(gr, ga, gb->seen, gb->n_seen) != 0 || hset_merge(&ga->procs, &gb->procs) != 0 ||
        hset_merge(&ga->paths, &gb->paths) != 0)
        return -1;
    ga->n += gb->n;
    gb->parent = a;
    group_release(gr, gb);
    return 0;
}

int lg_grouper_add(struct lg_grouper *gr, size_t index, struct lg_finding *f)
{
    uint64_t sig[2];
    signatures(f, &gr->id, sig);
    uint64_t proc = combine(hash_str(f->file, 40), (uint64_t)f->pid);
    struct lg_seen seen = {.line = f->line, .pid = f->pid, .index = index};
    if (!(seen.file = intern(gr, f->file)))
        goto nomem;
    free(gr->out); /* any earlier answer is stale */
    gr->out = NULL;

    size_t target = SIZE_MAX;
    if (gr->merge) {
        for (int s = 0; s < 2; s++) {
            uint64_t v;
            if (!sig[s] || !lg_u64map_get(&gr->by_sig, sig[s] * 2 + (uint64_t)s, &v))
                continue;
            size_t r = root(gr, (size_t)v);
            if (target == SIZE_MAX)
                target = r;
            else if (r != target && unite_groups(gr, target, r) != 0)
                goto nomem;
            target = root(gr, target);
        }
    }
    if (target == SIZE_MAX) {
        if (!grow((void **)&gr->g, gr->n, &gr->cap, sizeof *gr->g))
            goto nomem;
        target = gr->n++;
        struct ggroup *g = &gr->g[target];
        memset(g, 0, sizeof *g);
        g->parent = target;
        g->first = index;
        g->finding = f;
        f = NULL; /* kept */
    }
    struct ggroup *g = &gr->g[target];
    if (f && index < g->first) {
        /* Findings out of order: the earlier one is shown. */
        struct lg_finding *t = g->finding;
        g->finding = f;
        g->first = index;
        f = t;
    }
    g->n++;
    if (seen_add(gr, g, &seen) != 0 || hset_add(&g->procs, proc) != 0 ||
        hset_add(&g->paths, sig[0]) != 0)
        goto nomem;
    if (gr->merge)
        for (int s = 0; s < 2; s++) {
            uint64_t v;
            if (sig[s] && !lg_u64map_get(&gr->by_sig, sig[s] * 2 + (uint64_t)s, &v) &&
                lg_u64map_put(&gr->by_sig, sig[s] * 2 + (uint64_t)s, target) != 0)
                goto nomem;
        }
    if (f && gr->owns) {
        lg_finding_free(f);
        free(f);
    }
    return 0;
nomem:
    if (f && gr->owns) {
        lg_finding_free(f);
        free(f);
    }
    return -1;
}

static int by_first(const void *a, const void *b)
{
    const struct lg_group *x = a, *y = b;
    return x->first < y->first ? -1 : x->first > y->first;
}

size_t lg_grouper_groups(struct lg_grouper *gr, const struct lg_group **out)
{
    if (!gr->out) {
        size_t n = 0;
        for (size_t i = 0; i < gr->n; i++)
            if (gr->g[i].parent == i)
                n++;
        if (!(gr->out = calloc(n ? n : 1, sizeof *gr->out))) {
            *out = NULL;
            return 0;
        }
        gr->n_out = 0;
        for (size_t i = 0; i < gr->n; i++) {
            struct ggroup *g = &gr->g[i];
            if (g->parent != i)
                continue;
            gr->out[gr->n_out++] = (struct lg_group){.first = g->first,
                                                     .finding = g->finding,
                                                     .n = g->n,
                                                     .processes = hset_count(&g->procs),
                                                     .paths = hset_count(&g->paths),
                                                     .seen = g->seen,
                                                     .n_seen = g->n_seen};
        }
        qsort(gr->out, gr->n_out, sizeof *gr->out, by_first);
    }
    *out = gr->out;
    return gr->n_out;
}

/* ---- a whole set at once ---- */

void lg_groups_free(struct lg_groups *g)
{
    for (size_t i = 0; i < g->n; i++)
        free(g->items[i].members);
    free(g->items);
    g->items = NULL;
    g->n = 0;
}

int lg_group_findings(const struct lg_findings *set, const bool *skip, bool merge,
                      struct lg_groups *out)
{
    out->items = NULL;
    out->n = 0;
    struct lg_grouper *gr = lg_grouper_new(merge, false, SIZE_MAX);
    if (!gr)
        return -1;
    int rc = -1;
    for (size_t i = 0; i < set->n; i++)
        if (!(skip && skip[i]) && lg_grouper_add(gr, i, (struct lg_finding *)&set->items[i]) != 0)
            goto done;
    const struct lg_group *gs;
    size_t n = lg_grouper_groups(gr, &gs);
    if (!gs || !(out->items = calloc(n ? n : 1, sizeof *out->items)))
        goto done;
    out->n = n;
    for (size_t i = 0; i < n; i++) {
        out->items[i] = gs[i];
        out->items[i].seen = NULL;
        out->items[i].n_seen = 0;
        if (!(out->items[i].members = malloc((gs[i].n_seen ? gs[i].n_seen : 1) * sizeof(size_t))))
            goto done;
        for (size_t k = 0; k < gs[i].n_seen; k++)
            out->items[i].members[k] = gs[i].seen[k].index;
    }
    rc = 0;
done:
    if (rc != 0)
        lg_groups_free(out);
    lg_grouper_free(gr);
    return rc;
}
