/*
 * dump.c - write the lock graph, its classes under their stable keys, as
 * JSON Lines.
 *
 * The classes alive now are copied out of class.c's list, and the edges are
 * read from each class vertex's lock-free edge set inside the caller's read
 * section (reclaim.h), so the dump stops nobody: it is a snapshot of
 * whatever is published while it runs. Classes whose keys are equal (locks
 * of their own class first taken at one site) are folded into one. Keys are
 * computed with no lockgraph lock held (they may read symbol tables);
 * dump_lock only keeps two dumps from interleaving.
 *
 * Memory: temporary tables (class -> key, key pair -> edge) sized from the
 * counts, mapped and unmapped here.
 */

#include "dump.h"
#include "alloc.h"
#include "class.h"
#include "graph.h"
#include "registry.h"
#include "keys.h"
#include "options.h"
#include "ranks.h"
#include "report.h"
#include "stack.h"
#include "sync.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define dump_lock (lg__locks.dump)

struct keyrec {
    char *key;
    const struct lg_class *first; /* the class that speaks for the key */
    uint64_t instances;
};

struct edgerec {
    uint32_t from, to; /* keyrec indexes; from == UINT32_MAX: empty */
    uint64_t instances;
    uint8_t combos;
    bool ascending, descending; /* a key to itself: instance address order */
    int64_t gate;               /* keyrec of the gate every edge had, -1 none, -2 unset */
    const struct lg_edge_info *example;
};

struct dump {
    /* key string -> keyrec index */
    uint32_t *kslot; /* index + 1; 0 empty */
    uint32_t kmask;
    struct keyrec *k;
    uint32_t nk, capk;
    /* class -> keyrec index */
    struct lg_class **classes; /* the snapshot */
    uint32_t nclasses;
    const struct lg_class **nclass;
    uint32_t *nidx;
    uint64_t nmask;
    struct edgerec *e;
    uint64_t emask, ne;
    size_t csize, ksize, nsize, nisize, esize, recsize;
};

static uint64_t hash_bytes(const char *s)
{
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

static uint64_t hash_ptr(const void *p)
{
    uint64_t x = (uint64_t)(uintptr_t)p;
    x = (x ^ (x >> 33)) * 0xff51afd7ed558ccdull;
    return x ^ (x >> 33);
}

static uint64_t pow2_at_least(uint64_t n)
{
    uint64_t c = 16;
    while (c < n)
        c <<= 1;
    return c;
}

/* The keyrec of key, added when new; UINT32_MAX when out of memory. */
static uint32_t key_index(struct dump *d, const char *key, const struct lg_class *c)
{
    for (uint32_t i = (uint32_t)hash_bytes(key) & d->kmask;; i = (i + 1) & d->kmask) {
        uint32_t v = d->kslot[i];
        if (v && strcmp(d->k[v - 1].key, key) == 0)
            return v - 1;
        if (v)
            continue;
        if (d->nk == d->capk)
            return UINT32_MAX;
        size_t len = strlen(key);
        char *copy = lg__alloc(len + 1);
        if (!copy)
            return UINT32_MAX;
        memcpy(copy, key, len + 1);
        d->k[d->nk] = (struct keyrec){.key = copy, .first = c};
        d->kslot[i] = ++d->nk;
        return d->nk - 1;
    }
}

static void class_put(struct dump *d, const struct lg_class *c, uint32_t idx)
{
    for (uint64_t i = hash_ptr(c) & d->nmask;; i = (i + 1) & d->nmask)
        if (!d->nclass[i]) {
            d->nclass[i] = c;
            d->nidx[i] = idx;
            return;
        }
}

static uint32_t class_get(const struct dump *d, const struct lg_class *c)
{
    for (uint64_t i = hash_ptr(c) & d->nmask;; i = (i + 1) & d->nmask) {
        if (d->nclass[i] == c)
            return d->nidx[i];
        if (!d->nclass[i])
            return UINT32_MAX;
    }
}

static struct edgerec *edge_slot(struct dump *d, uint32_t from, uint32_t to)
{
    uint64_t h = hash_ptr((const void *)(((uintptr_t)from << 32) | to));
    for (uint64_t i = h & d->emask;; i = (i + 1) & d->emask) {
        struct edgerec *r = &d->e[i];
        if (r->from == from && r->to == to)
            return r;
        if (r->from == UINT32_MAX) {
            r->from = from;
            r->to = to;
            r->gate = -2;
            d->ne++;
            return r;
        }
    }
}

/* ---------------------------------------------------------------------- */
/* Output, in chunks.                                                       */

struct out {
    int fd;
    struct lg_buf b;
    bool failed;
    int err;
};

static void out_flush(struct out *o)
{
    if (o->b.failed)
        o->failed = true;
    if (!o->failed && o->b.len && lg__write_all(o->fd, o->b.p, o->b.len) != 0) {
        o->failed = true;
        o->err = errno;
    }
    o->b.len = 0;
    o->b.failed = false;
}

static void out_line_done(struct out *o)
{
    lg__buf_char(&o->b, '\n');
    if (o->b.len > (64u << 10))
        out_flush(o);
}

static const char *type_name(unsigned type)
{
    return type == LG_TYPE_SPIN ? "spin" : type == LG_TYPE_RWLOCK ? "rwlock" : "mutex";
}

static void put_lock_line(struct out *o, const struct keyrec *k)
{
    const struct lg_class *c = k->first;
    struct lg_buf *b = &o->b;
    lg__buf_str(b, "{\"kind\":\"graph-lock\",\"key\":");
    lg__buf_json_str(b, k->key);
    lg__buf_str(b, ",\"type\":\"");
    lg__buf_str(b, type_name(c->type));
    lg__buf_str(b, "\",\"mode\":\"");
    lg__buf_str(b, lg__report_mode_name(c->mode));
    lg__buf_str(b, "\",\"instances\":");
    lg__buf_u64(b, k->instances);
    if (c->name) {
        lg__buf_str(b, ",\"name\":");
        lg__buf_json_str(b, c->name);
    }
    lg__buf_str(b, c->created ? ",\"created\":true" : ",\"created\":false");
    lg__buf_str(b, ",\"class_kind\":\"");
    lg__buf_str(b, lg__class_kind_name(c->kind));
    lg__buf_char(b, '"');
    lg__buf_str(b, ",\"stack\":");
    lg__report_put_pcs(b, atomic_load(&((struct lg_class *)c)->stack));
    lg__buf_char(b, '}');
    out_line_done(o);
}

static void put_edge_line(struct out *o, const struct dump *d, const struct edgerec *r)
{
    struct lg_buf *b = &o->b;
    const struct lg_edge_info *e = r->example;
    lg__buf_str(b, "{\"kind\":\"graph-edge\",\"from\":");
    lg__buf_json_str(b, d->k[r->from].key);
    lg__buf_str(b, ",\"to\":");
    lg__buf_json_str(b, d->k[r->to].key);
    lg__buf_str(b, ",\"instances\":");
    lg__buf_u64(b, r->instances);
    /* combos: bit LG_COMBO(held_excl, wait_excl) */
    bool held_excl = r->combos & ((1u << LG_COMBO(1, 0)) | (1u << LG_COMBO(1, 1)));
    bool wait_excl = r->combos & ((1u << LG_COMBO(0, 1)) | (1u << LG_COMBO(1, 1)));
    lg__buf_str(b, held_excl ? ",\"held\":\"exclusive\"" : ",\"held\":\"shared\"");
    lg__buf_str(b, wait_excl ? ",\"waited\":\"exclusive\"" : ",\"waited\":\"shared\"");
    if (r->from == r->to)
        lg__buf_str(b, r->ascending && r->descending ? ",\"address_order\":\"both\""
                       : r->ascending                ? ",\"address_order\":\"ascending\""
                                                     : ",\"address_order\":\"descending\"");
    if (r->gate >= 0) {
        lg__buf_str(b, ",\"gate\":");
        lg__buf_json_str(b, d->k[r->gate].key);
    }
    if (e->timed)
        lg__buf_str(b, ",\"timed\":true");
    lg__buf_str(b, ",\"thread\":");
    lg__report_put_thread(b, e->tid, e->thread_seq, e->thread_name);
    lg__buf_str(b, ",\"first_stack\":");
    lg__report_put_pcs(b, e->first);
    lg__buf_str(b, ",\"second_stack\":");
    lg__report_put_pcs(b, e->second);
    lg__buf_char(b, '}');
    out_line_done(o);
}

/* ---------------------------------------------------------------------- */

static bool prepare(struct dump *d, uint64_t classes, uint64_t edges)
{
    d->capk = classes > UINT32_MAX - 1 ? UINT32_MAX - 1 : (uint32_t)classes;
    uint64_t kcap = pow2_at_least(classes * 2);
    d->kmask = (uint32_t)(kcap - 1);
    d->ksize = kcap * sizeof(uint32_t);
    d->recsize = (classes ? classes : 1) * sizeof(struct keyrec);
    uint64_t ncap = pow2_at_least(classes * 2);
    d->nmask = ncap - 1;
    d->nsize = ncap * sizeof(*d->nclass);
    d->nisize = ncap * sizeof(uint32_t);
    uint64_t ecap = pow2_at_least(edges * 2);
    d->emask = ecap - 1;
    d->esize = ecap * sizeof(struct edgerec);
    d->kslot = lg__map(d->ksize);
    d->k = lg__map(d->recsize);
    d->nclass = lg__map(d->nsize);
    d->nidx = lg__map(d->nisize);
    d->e = lg__map(d->esize);
    if (!d->kslot || !d->k || !d->nclass || !d->nidx || !d->e)
        return false;
    for (uint64_t i = 0; i <= d->emask; i++)
        d->e[i].from = UINT32_MAX;
    return true;
}

static void release(struct dump *d)
{
    for (uint32_t i = 0; d->k && i < d->nk; i++)
        lg__free(d->k[i].key, strlen(d->k[i].key) + 1);
    if (d->classes)
        lg__unmap(d->classes, d->csize);
    if (d->kslot)
        lg__unmap(d->kslot, d->ksize);
    if (d->k)
        lg__unmap(d->k, d->recsize);
    if (d->nclass)
        lg__unmap(d->nclass, d->nsize);
    if (d->nidx)
        lg__unmap(d->nidx, d->nisize);
    if (d->e)
        lg__unmap(d->e, d->esize);
}

static int say(const char *path, const char *what, int err)
{
    if (!lg__opt.quiet) {
        lg__write_str(2, "lockgraph: graph file '");
        lg__write_str(2, path);
        lg__write_str(2, "': ");
        lg__write_str(2, what);
        if (err) {
            lg__write_str(2, ": ");
            lg__write_str(2, strerrordesc_np(err) ? strerrordesc_np(err) : "error");
        }
        lg__write_str(2, "\n");
    }
    return -1;
}

static bool class_alive(const struct lg_class *c)
{
    return lg__class_in_graph(c);
}

/* The class snapshot: every class alive now. */
static bool snapshot(struct dump *d)
{
    for (int tries = 0; tries < 4; tries++) {
        uint32_t want = lg__class_snapshot(NULL, 0) + 64;
        d->csize = want * sizeof(*d->classes);
        d->classes = lg__map(d->csize);
        if (!d->classes)
            return false;
        uint32_t n = lg__class_snapshot(d->classes, want);
        if (n <= want) {
            d->nclasses = n;
            return true;
        }
        lg__unmap(d->classes, d->csize);
        d->classes = NULL;
    }
    return false;
}

/* The keyrec of the class of the lock that gated an edge, -1 when it is
 * gone or not in the dump. */
static int64_t gate_index(const struct dump *d, uint64_t gate, uintptr_t gate_addr)
{
    if (!gate)
        return -1;
    struct lg_node *g = lg__registry_lookup(gate_addr);
    const struct lg_class *gc = g && g->id == gate ? atomic_load(&g->klass) : NULL;
    uint32_t i = gc ? class_get(d, gc) : UINT32_MAX;
    return i == UINT32_MAX ? -1 : (int64_t)i;
}

int lg__dump_graph(const char *pattern, bool at_exit)
{
    (void)at_exit;
    char path[LG_REPORT_PATH_MAX];
    lg__report_expand_path(pattern, path, sizeof(path));
    int cancel; /* write(2) is a cancellation point; dump_lock must not stay held */
    pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &cancel);
    lg__lock(&dump_lock);

    struct dump d = {0};
    int rc = 0;
    if (!snapshot(&d)) {
        rc = say(path, "out of memory", 0);
        goto done;
    }
    uint64_t edges = 0;
    for (uint32_t i = 0; i < d.nclasses; i++) {
        struct lg_vertex *v = atomic_load_explicit(&d.classes[i]->v, memory_order_acquire);
        struct lg_adj *a =
            v && class_alive(d.classes[i]) ? atomic_load_explicit(&v->out, memory_order_acquire)
                                           : NULL;
        edges += (a ? a->count : 0) + 1;
    }
    if (!prepare(&d, d.nclasses, edges)) {
        rc = say(path, "out of memory", 0);
        goto done;
    }
    char key[LG_KEY_MAX];
    for (uint32_t i = 0; i < d.nclasses; i++) {
        struct lg_class *c = d.classes[i];
        if (!class_alive(c) || c->wrapper)
            continue;
        lg__key_of_class(c, key);
        uint32_t k = key_index(&d, key, c);
        if (k == UINT32_MAX)
            continue;
        d.k[k].instances += atomic_load(&c->made);
        class_put(&d, c, k);
    }
    for (uint32_t i = 0; i < d.nclasses; i++) {
        struct lg_class *c = d.classes[i];
        uint32_t fi = class_get(&d, c);
        if (fi == UINT32_MAX)
            continue;
        struct lg_vertex *cv = atomic_load_explicit(&c->v, memory_order_acquire);
        struct lg_adj *a = cv ? atomic_load_explicit(&cv->out, memory_order_acquire) : NULL;
        for (uint32_t s = 0; a && s <= a->mask; s++) {
            struct lg_edge *e = atomic_load_explicit(&a->slot[s], memory_order_acquire);
            if (!e || e->from != cv || e->to->kind != LG_VERTEX_CLASS)
                continue; /* empty, a removed edge's hole */
            uint32_t ti = class_get(&d, e->to->owner);
            if (ti == UINT32_MAX || d.ne * 2 > d.emask)
                continue;
            struct edgerec *r = edge_slot(&d, fi, ti);
            r->instances++;
            r->combos |= atomic_load_explicit(&e->combos, memory_order_relaxed);
            int64_t gi = gate_index(&d, atomic_load_explicit(&e->gate, memory_order_relaxed),
                                    e->gate_addr);
            r->gate = r->gate == -2 || r->gate == gi ? gi : -1;
            if (!r->example)
                r->example = &e->info;
        }
        /* Its locks held together: one edge from the key to itself. */
        struct lg_self_nest *sn = atomic_load_explicit(&c->self, memory_order_acquire);
        if (sn && d.ne * 2 <= d.emask) {
            struct edgerec *r = edge_slot(&d, fi, fi);
            r->instances += atomic_load(&sn->count);
            r->combos |= atomic_load(&sn->combos);
            r->ascending |= atomic_load(&sn->ascending);
            r->descending |= atomic_load(&sn->descending);
            r->gate = -1;
            if (!r->example)
                r->example = &sn->first;
        }
    }

    /* Not through a link, and only a regular file of ours (util.h). */
    const char *why;
    int fd = lg__open_output(AT_FDCWD, path, O_TRUNC, &why);
    if (fd < 0) {
        rc = why ? say(path, why, 0) : say(path, "cannot write it", errno);
        goto done;
    }
    struct out o = {.fd = fd};
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    lg__buf_str(&o.b, "{\"kind\":\"graph\",\"version\":1,\"pid\":");
    lg__buf_i64(&o.b, getpid());
    lg__buf_str(&o.b, ",\"time_ns\":");
    lg__buf_u64(&o.b, (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec);
    lg__buf_str(&o.b, ",\"exe\":");
    lg__buf_json_str(&o.b, lg__report_exe_path());
    lg__buf_str(&o.b, ",\"modules\":");
    lg__report_put_modules(&o.b);
    lg__buf_char(&o.b, '}');
    out_line_done(&o);
    for (uint32_t i = 0; i < d.nk; i++)
        put_lock_line(&o, &d.k[i]);
    for (uint64_t i = 0; i <= d.emask; i++)
        if (d.e[i].from != UINT32_MAX)
            put_edge_line(&o, &d, &d.e[i]);
    lg__buf_str(&o.b, "{\"kind\":\"graph-end\",\"locks\":");
    lg__buf_u64(&o.b, d.nk);
    lg__buf_str(&o.b, ",\"edges\":");
    lg__buf_u64(&o.b, d.ne);
    lg__buf_char(&o.b, '}');
    out_line_done(&o);
    out_flush(&o);
    lg__buf_free(&o.b);
    syscall(SYS_close, fd);
    if (o.failed)
        rc = say(path, "could not write all of it", o.err);
done:
    release(&d);
    lg__unlock(&dump_lock);
    pthread_setcancelstate(cancel, NULL);
    return rc;
}

void lg__dump_lock_all(void)
{
    lg__lock(&dump_lock);
}

void lg__dump_unlock_all(void)
{
    lg__unlock(&dump_lock);
}

void lg__dump_reset_child(void)
{
    lg__lock_reset(&dump_lock);
}
