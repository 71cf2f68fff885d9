/*
 * dump.c - write the lock graph, folded by stable key, as JSON Lines.
 *
 * Nodes are walked through the list of all nodes and edges through each
 * node's lock-free edge set, so the dump stops nobody: it is a snapshot of
 * whatever is published while it runs. Keys are computed with no lockgraph
 * lock held (they may read symbol tables); dump_lock only keeps two dumps
 * from interleaving.
 *
 * Memory: two temporary hash tables (node -> key, key pair -> edge) sized
 * from the counts, mapped and unmapped here.
 */

#include "dump.h"
#include "alloc.h"
#include "graph.h"
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

static lg__lock_t dump_lock = LG__LOCK_INIT;

struct keyrec {
    char *key;
    const struct lg_node *first; /* the instance that speaks for the key */
    uint64_t instances;
};

struct edgerec {
    uint32_t from, to; /* keyrec indexes; from == UINT32_MAX: empty */
    uint64_t instances;
    uint8_t combos;
    bool ascending, descending; /* a key to itself: instance address order */
    int64_t gate;               /* keyrec of the gate every instance had, -1 none, -2 unset */
    const struct lg_edge *example;
};

struct dump {
    /* key string -> keyrec index */
    uint32_t *kslot; /* index + 1; 0 empty */
    uint32_t kmask;
    struct keyrec *k;
    uint32_t nk, capk;
    /* node -> keyrec index */
    const struct lg_node **nnode;
    uint32_t *nidx;
    uint64_t nmask;
    struct edgerec *e;
    uint64_t emask, ne;
    size_t ksize, nsize, nisize, esize, recsize;
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
static uint32_t key_index(struct dump *d, const char *key, const struct lg_node *n)
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
        d->k[d->nk] = (struct keyrec){.key = copy, .first = n};
        d->kslot[i] = ++d->nk;
        return d->nk - 1;
    }
}

static void node_put(struct dump *d, const struct lg_node *n, uint32_t idx)
{
    for (uint64_t i = hash_ptr(n) & d->nmask;; i = (i + 1) & d->nmask)
        if (!d->nnode[i]) {
            d->nnode[i] = n;
            d->nidx[i] = idx;
            return;
        }
}

static uint32_t node_get(const struct dump *d, const struct lg_node *n)
{
    for (uint64_t i = hash_ptr(n) & d->nmask;; i = (i + 1) & d->nmask) {
        if (d->nnode[i] == n)
            return d->nidx[i];
        if (!d->nnode[i])
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

static void put_lock_line(struct out *o, const struct keyrec *k)
{
    const struct lg_node *n = k->first;
    struct lg_buf *b = &o->b;
    lg__buf_str(b, "{\"kind\":\"graph-lock\",\"key\":");
    lg__buf_json_str(b, k->key);
    lg__buf_str(b, ",\"type\":\"");
    lg__buf_str(b, lg__report_type_name(n));
    lg__buf_str(b, "\",\"mode\":\"");
    lg__buf_str(b, lg__report_mode_name(n->mode));
    lg__buf_str(b, "\",\"instances\":");
    lg__buf_u64(b, k->instances);
    const char *name = atomic_load(&((struct lg_node *)n)->name);
    if (name) {
        lg__buf_str(b, ",\"name\":");
        lg__buf_json_str(b, name);
    }
    lg__buf_str(b, n->created ? ",\"created\":true" : ",\"created\":false");
    lg__buf_str(b, ",\"stack\":");
    lg__report_put_pcs(b, atomic_load(&((struct lg_node *)n)->stack));
    lg__report_put_class(b, n);
    lg__buf_char(b, '}');
    out_line_done(o);
}

static void put_edge_line(struct out *o, const struct dump *d, const struct edgerec *r)
{
    struct lg_buf *b = &o->b;
    const struct lg_edge *e = r->example;
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
    if (e->info.timed)
        lg__buf_str(b, ",\"timed\":true");
    lg__buf_str(b, ",\"thread\":");
    lg__report_put_thread(b, e->info.tid, e->info.thread_seq, e->info.thread_name);
    lg__buf_str(b, ",\"first_stack\":");
    lg__report_put_pcs(b, e->info.first);
    lg__buf_str(b, ",\"second_stack\":");
    lg__report_put_pcs(b, e->info.second);
    lg__buf_char(b, '}');
    out_line_done(o);
}

/* ---------------------------------------------------------------------- */

static bool prepare(struct dump *d, uint64_t nodes, uint64_t edges)
{
    d->capk = nodes > UINT32_MAX - 1 ? UINT32_MAX - 1 : (uint32_t)nodes;
    uint64_t kcap = pow2_at_least(nodes * 2);
    d->kmask = (uint32_t)(kcap - 1);
    d->ksize = kcap * sizeof(uint32_t);
    d->recsize = (nodes ? nodes : 1) * sizeof(struct keyrec);
    uint64_t ncap = pow2_at_least(nodes * 2);
    d->nmask = ncap - 1;
    d->nsize = ncap * sizeof(*d->nnode);
    d->nisize = ncap * sizeof(uint32_t);
    uint64_t ecap = pow2_at_least(edges * 2);
    d->emask = ecap - 1;
    d->esize = ecap * sizeof(struct edgerec);
    d->kslot = lg__map(d->ksize);
    d->k = lg__map(d->recsize);
    d->nnode = lg__map(d->nsize);
    d->nidx = lg__map(d->nisize);
    d->e = lg__map(d->esize);
    if (!d->kslot || !d->k || !d->nnode || !d->nidx || !d->e)
        return false;
    for (uint64_t i = 0; i <= d->emask; i++)
        d->e[i].from = UINT32_MAX;
    return true;
}

static void release(struct dump *d)
{
    for (uint32_t i = 0; d->k && i < d->nk; i++)
        lg__free(d->k[i].key, strlen(d->k[i].key) + 1);
    if (d->kslot)
        lg__unmap(d->kslot, d->ksize);
    if (d->k)
        lg__unmap(d->k, d->recsize);
    if (d->nnode)
        lg__unmap(d->nnode, d->nsize);
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

int lg__dump_graph(const char *pattern, bool at_exit)
{
    (void)at_exit;
    char path[LG_REPORT_PATH_MAX];
    lg__report_expand_path(pattern, path, sizeof(path));
    int cancel; /* write(2) is a cancellation point; dump_lock must not stay held */
    pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &cancel);
    lg__lock(&dump_lock);

    /* Count what is published now; later additions are left out. */
    struct lg_node *head = lg__graph_nodes();
    uint64_t nodes = 0, edges = 0;
    for (struct lg_node *n = head; n; n = n->all_next) {
        nodes++;
        struct lg_adj *a = atomic_load_explicit(&n->out, memory_order_acquire);
        edges += a ? a->count : 0;
    }
    struct dump d = {0};
    int rc = 0;
    if (!prepare(&d, nodes, edges)) {
        rc = say(path, "out of memory", 0);
        goto done;
    }
    char key[LG_KEY_MAX];
    uint64_t seen = 0;
    for (struct lg_node *n = head; n && seen < nodes; n = n->all_next, seen++) {
        lg__key_of(n, key);
        uint32_t i = key_index(&d, key, n);
        if (i == UINT32_MAX)
            continue;
        d.k[i].instances++;
        node_put(&d, n, i);
    }
    seen = 0;
    for (struct lg_node *n = head; n && seen < nodes; n = n->all_next, seen++) {
        uint32_t fi = node_get(&d, n);
        struct lg_adj *a = atomic_load_explicit(&n->out, memory_order_acquire);
        for (uint32_t s = 0; fi != UINT32_MAX && a && s <= a->mask; s++) {
            struct lg_edge *e = atomic_load_explicit(&a->slot[s], memory_order_acquire);
            uint32_t ti = e ? node_get(&d, e->to) : UINT32_MAX;
            if (ti == UINT32_MAX || d.ne * 2 > d.emask)
                continue;
            struct edgerec *r = edge_slot(&d, fi, ti);
            r->instances++;
            r->combos |= atomic_load_explicit(&e->combos, memory_order_relaxed);
            if (fi == ti) {
                r->ascending |= e->from->addr < e->to->addr;
                r->descending |= e->from->addr > e->to->addr;
            }
            struct lg_node *g = atomic_load_explicit(&e->gate, memory_order_relaxed);
            int64_t gi = g ? (int64_t)node_get(&d, g) : -1;
            if (gi == (int64_t)UINT32_MAX)
                gi = -1;
            r->gate = r->gate == -2 || r->gate == gi ? gi : -1;
            if (!r->example)
                r->example = e;
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
