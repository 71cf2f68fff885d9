/*
 * dedupe.c - group findings that are the same cycle or the same code.
 *
 * Does: give each finding up to two signatures - what it is about (the
 * locks of a cycle, by stable identity) and where it happened (its
 * acquisition sites as module + offset) - and join findings that share
 * either, with a union-find over the signatures sorted.
 * Does not: symbolize (module + offset is enough to compare), or decide
 * what is shown (report.c).
 */
#include "dedupe.h"
#include "hash.h"

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
uint64_t lg_lock_identity(const struct lg_finding *f, const struct lg_lock *l, bool *stable)
{
    *stable = true;
    if (l->key)
        return hash_str(l->key, 10);
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

/* sig[0]: where (the code); sig[1]: what (the locks), 0 when none. */
static void signatures(const struct lg_finding *f, uint64_t sig[2])
{
    struct bag b = {0};
    bool stable = true, s;
    sig[0] = sig[1] = 0;
    uint64_t kind = hash_str(lg_finding_kind(f), 30);
    switch (f->kind) {
    case LG_KIND_CYCLE:
        for (size_t i = 0; i < f->n_edges; i++)
            bag_add(&b, combine(top_site(f, &f->edges[i].first), top_site(f, &f->edges[i].second)));
        sig[0] = bag_value(&b, kind);
        memset(&b, 0, sizeof b);
        for (size_t i = 0; i < f->n_locks; i++) {
            bag_add(&b, lg_lock_identity(f, &f->locks[i], &s));
            stable = stable && s;
        }
        /* Anonymous heap locks are only "the same" within a process, which
         * the library already reports once. */
        sig[1] = stable ? bag_value(&b, kind + 1) : 0;
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
    signatures(f, sig);
    return sig[0];
}

/* ---- union-find ---- */

static size_t find(size_t *parent, size_t x)
{
    while (parent[x] != x) {
        parent[x] = parent[parent[x]];
        x = parent[x];
    }
    return x;
}

static void unite(size_t *parent, size_t a, size_t b)
{
    a = find(parent, a);
    b = find(parent, b);
    /* The earlier finding stays the root: a group is shown by its first. */
    if (a < b)
        parent[b] = a;
    else if (b < a)
        parent[a] = b;
}

struct keyed {
    uint64_t key;
    size_t idx;
};

static int by_key(const void *a, const void *b)
{
    const struct keyed *x = a, *y = b;
    if (x->key != y->key)
        return x->key < y->key ? -1 : 1;
    return x->idx < y->idx ? -1 : x->idx > y->idx;
}

static void unite_equal(size_t *parent, struct keyed *k, size_t n)
{
    qsort(k, n, sizeof *k, by_key);
    for (size_t i = 1; i < n; i++)
        if (k[i].key && k[i].key == k[i - 1].key)
            unite(parent, k[i].idx, k[i - 1].idx);
}

void lg_groups_free(struct lg_groups *g)
{
    for (size_t i = 0; i < g->n; i++)
        free(g->items[i].members);
    free(g->items);
    g->items = NULL;
    g->n = 0;
}

static int by_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* Distinct values of vals[members[i]] among a group's members; `tmp` has
 * room for all of them. */
static size_t distinct(const size_t *members, size_t n, const uint64_t *vals, uint64_t *tmp)
{
    for (size_t i = 0; i < n; i++)
        tmp[i] = vals[members[i]];
    qsort(tmp, n, sizeof *tmp, by_u64);
    size_t count = 0;
    for (size_t i = 0; i < n; i++)
        if (i == 0 || tmp[i] != tmp[i - 1])
            count++;
    return count;
}

int lg_group_findings(const struct lg_findings *set, const bool *skip, bool merge,
                      struct lg_groups *out)
{
    size_t n = set->n;
    out->items = NULL;
    out->n = 0;
    size_t *parent = calloc(n ? n : 1, sizeof *parent);
    size_t *group_of = calloc(n ? n : 1, sizeof *group_of);
    struct keyed *k = calloc(n ? n : 1, sizeof *k);
    uint64_t *where = calloc(n ? n : 1, sizeof *where);
    uint64_t *proc = calloc(n ? n : 1, sizeof *proc);
    uint64_t(*sig)[2] = calloc(n ? n : 1, sizeof *sig);
    uint64_t *tmp = calloc(n ? n : 1, sizeof *tmp);
    int rc = -1;
    if (!parent || !group_of || !k || !where || !proc || !sig || !tmp)
        goto done;

    for (size_t i = 0; i < n; i++) {
        parent[i] = i;
        if (skip && skip[i])
            continue; /* no signature: joins nothing */
        signatures(&set->items[i], sig[i]);
        where[i] = sig[i][0];
        proc[i] = combine(hash_str(set->items[i].file, 40), (uint64_t)set->items[i].pid);
    }
    if (merge) {
        for (int s = 0; s < 2; s++) {
            for (size_t i = 0; i < n; i++)
                k[i] = (struct keyed){.key = sig[i][s], .idx = i};
            unite_equal(parent, k, n);
        }
    }

    /* Groups in order of their first finding. */
    size_t groups = 0;
    for (size_t i = 0; i < n; i++)
        if (!(skip && skip[i]) && find(parent, i) == i)
            group_of[i] = groups++;
    if (!(out->items = calloc(groups ? groups : 1, sizeof *out->items)))
        goto done;
    out->n = groups;
    for (size_t i = 0; i < n; i++) {
        if (skip && skip[i])
            continue;
        struct lg_group *g = &out->items[group_of[find(parent, i)]];
        if (g->n == 0)
            g->first = i;
        /* Doubling at powers of two: no capacity field needed. */
        if ((g->n & (g->n - 1)) == 0) {
            size_t *m = realloc(g->members, (g->n ? 2 * g->n : 1) * sizeof *m);
            if (!m)
                goto done;
            g->members = m;
        }
        g->members[g->n++] = i;
    }
    for (size_t i = 0; i < groups; i++) {
        struct lg_group *g = &out->items[i];
        g->processes = distinct(g->members, g->n, proc, tmp);
        g->paths = distinct(g->members, g->n, where, tmp);
    }
    rc = 0;
done:
    if (rc != 0)
        lg_groups_free(out);
    free(parent);
    free(group_of);
    free(k);
    free(where);
    free(proc);
    free(sig);
    free(tmp);
    return rc;
}
