/*
 * format_sarif.c - `lockgraph report --format sarif`: SARIF 2.1.0, so CI code
 * scanning (GitHub's, GitLab's, any SARIF viewer) can show the findings
 * next to the code.
 *
 * Does: one rule per kind (kinds this lockgraph does not know get a rule of
 * their own name); one result per distinct finding, its location the first
 * source frame of the stack that matters most (where a cycle's first edge
 * took its second lock, where a lock was taken again, ...), every other
 * stack's source frame as a related location, a cycle's edges as a code
 * flow of one thread flow per edge, and every stack whole under `stacks`;
 * a partial fingerprint so a viewer can follow a finding from run to run;
 * detector errors and input problems as tool notifications.
 * Paths under the current directory are written relative to %SRCROOT%,
 * which is where a CI job runs from; others as file:// URIs. Written as it
 * is made (jsonout.h): one result in memory at a time.
 * Does not: validate itself (tests/tool/check_sarif.c does), or embed the
 * source.
 */
#include <json.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "format.h"
#include "jsonout.h"

#define MAX_INLINE 8
#define SRCROOT "%SRCROOT%"
/* Edges of a cycle given stacks and thread flows. */
#define MAX_EDGES 100

/* ---- building blocks ---- */

static json_object *text_message(const char *text)
{
    json_object *m = json_object_new_object();
    json_object_object_add(m, "text", json_object_new_string(text));
    return m;
}

/* Percent-encode what a URI path may not hold as it is. */
static void uri_append(char *out, size_t len, const char *path)
{
    size_t k = strlen(out);
    for (const unsigned char *c = (const unsigned char *)path; *c && k + 4 < len; c++) {
        if ((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') ||
            strchr("-._~/!$&'()*+,;=:@", *c))
            out[k++] = (char)*c;
        else
            k += (size_t)snprintf(out + k, len - k, "%%%02X", *c);
    }
    out[k] = '\0';
}

/* A frame's place: the source file and line when known, else the module
 * and the offset in it. */
static json_object *frame_location(const struct lg_frame *fr, const char *message)
{
    json_object *loc = json_object_new_object(), *phys = json_object_new_object();
    json_object *art = json_object_new_object();
    char uri[4096] = "";
    if (fr->file) {
        const char *shown = lg_show_path(fr->file);
        if (shown[0] == '/') {
            strcpy(uri, "file://");
            uri_append(uri, sizeof uri, shown);
        } else {
            uri_append(uri, sizeof uri, shown);
            json_object_object_add(art, "uriBaseId", json_object_new_string(SRCROOT));
        }
        json_object_object_add(art, "uri", json_object_new_string(uri));
        json_object_object_add(phys, "artifactLocation", art);
        if (fr->line > 0) {
            json_object *region = json_object_new_object();
            json_object_object_add(region, "startLine", json_object_new_int(fr->line));
            json_object_object_add(phys, "region", region);
        }
    } else {
        if (fr->module) {
            strcpy(uri, "file://");
            uri_append(uri, sizeof uri, fr->module);
            json_object_object_add(art, "uri", json_object_new_string(uri));
            json_object_object_add(phys, "artifactLocation", art);
        } else {
            json_object_put(art);
        }
        json_object *addr = json_object_new_object();
        if (fr->module)
            json_object_object_add(addr, "relativeAddress",
                                   json_object_new_int64((int64_t)fr->module_offset));
        else
            json_object_object_add(addr, "absoluteAddress", json_object_new_int64((int64_t)fr->pc));
        json_object_object_add(phys, "address", addr);
    }
    json_object_object_add(loc, "physicalLocation", phys);
    if (fr->function) {
        json_object *ll = json_object_new_array(), *l = json_object_new_object();
        json_object_object_add(
            l, "name", json_object_new_string_len(fr->function, (int)strcspn(fr->function, "@")));
        json_object_object_add(l, "kind", json_object_new_string("function"));
        json_object_array_add(ll, l);
        json_object_object_add(loc, "logicalLocations", ll);
    }
    if (message)
        json_object_object_add(loc, "message", text_message(message));
    return loc;
}

struct ctx {
    struct lg_report *r;
    const struct lg_finding *f;
    json_object *related; /* relatedLocations of the result being built */
    json_object *stacks;
    int next_id;
};

/* The frame of `s` a reader wants to see: the first with a source line
 * (the code that took the lock, past frames of a library without debug
 * info), else the first. False for an empty stack. */
static bool best_frame(struct ctx *c, const struct lg_stack *s, struct lg_frame *out)
{
    if (s->n == 0)
        return false;
    for (size_t i = 0; i < s->n; i++) {
        struct lg_frame chain[MAX_INLINE];
        lg_symbolize_inline(c->r->sym, c->f->modules, c->f->n_modules, s->pcs[i], chain,
                            MAX_INLINE);
        if (chain[0].file) {
            *out = chain[0];
            return true;
        }
        if (i == 0)
            *out = chain[0];
    }
    return true;
}

/* A stack whole, as a SARIF stack. */
static void add_stack_only(struct ctx *c, const struct lg_stack *s, const char *what)
{
    if (s->n == 0)
        return;
    json_object *st = json_object_new_object(), *frames = json_object_new_array();
    json_object_object_add(st, "message", text_message(what));
    for (size_t i = 0; i < s->n; i++) {
        struct lg_frame chain[MAX_INLINE];
        size_t n = lg_symbolize_inline(c->r->sym, c->f->modules, c->f->n_modules, s->pcs[i], chain,
                                       MAX_INLINE);
        for (size_t k = 0; k < n; k++) {
            json_object *fr = json_object_new_object();
            json_object_object_add(fr, "location", frame_location(&chain[k], NULL));
            if (chain[k].module)
                json_object_object_add(fr, "module", json_object_new_string(chain[k].module));
            json_object_array_add(frames, fr);
        }
    }
    json_object_object_add(st, "frames", frames);
    json_object_array_add(c->stacks, st);
}

/* A stack whole, as a SARIF stack; and its best frame as a related
 * location. */
static void add_stack(struct ctx *c, const struct lg_stack *s, const char *what)
{
    struct lg_frame best;
    if (!best_frame(c, s, &best))
        return;
    json_object *rel = frame_location(&best, what);
    json_object_object_add(rel, "id", json_object_new_int(c->next_id++));
    json_object_array_add(c->related, rel);
    add_stack_only(c, s, what);
}

/* How a report calls a lock: its name, else its key, else type and address. */
static void lock_text(const struct lg_lock *l, char *buf, size_t len)
{
    if (l->name)
        snprintf(buf, len, "\"%s\"", l->name);
    else if (l->key)
        snprintf(buf, len, "%s", l->key);
    else
        snprintf(buf, len, "%s 0x%llx", l->type ? l->type : "lock", (unsigned long long)l->addr);
}

static void lock_text_ctx(struct ctx *c, const struct lg_lock *l, char *buf, size_t len)
{
    (void)c;
    lock_text(l, buf, len);
}

static const struct lg_lock *cycle_lock(const struct lg_finding *f, long id, size_t *idx)
{
    for (size_t i = 0; i < f->n_locks; i++)
        if (f->locks[i].id == id) {
            *idx = i;
            return &f->locks[i];
        }
    return NULL;
}

static void site(struct ctx *c, const struct lg_stack *s, char *buf, size_t len)
{
    if (s->n == 0)
        snprintf(buf, len, "an unrecorded place");
    else
        lg_site_text(c->r->sym, c->f->modules, c->f->n_modules, s->pcs[0], buf, len);
}

/* ---- one result ---- */

static const struct {
    const char *id, *name, *level, *text;
} rules[] = {
    {"lock-order-cycle", "LockOrderCycle", "error",
     "Locks taken in an order that forms a cycle: threads running these paths at once can "
     "deadlock, even if this run did not hang."},
    {"self-deadlock", "SelfDeadlock", "error",
     "A thread blocks on a non-recursive lock it already holds: it waits for itself forever."},
    {"unlock-not-held", "UnlockNotHeld", "warning",
     "A thread unlocks a lock it does not hold: undefined behaviour for most lock types."},
    {"held-at-exit", "HeldAtExit", "warning",
     "A thread ended while holding locks: every later taker of those locks waits forever."},
    {"rank-violation", "RankViolation", "warning",
     "A lock taken against the declared lock order (ranks): the first step of a possible "
     "deadlock, caught before the opposite order ever runs."},
    {"rank-order-cycle", "RankOrderCycle", "warning",
     "The declared lock order contradicts itself; the declaration that closed the cycle was "
     "refused."},
    {"deadlock", "Deadlock", "error",
     "Threads are blocked on each other right now, each waiting for a lock the next one holds: "
     "the program hangs (or, with timed locks, stalls)."},
    {"long-wait", "LongWait", "warning",
     "A thread waited for a lock longer than the watchdog's setting."},
    {"long-hold", "LongHold", "warning",
     "A lock was held longer than hold_warn_ms: every other thread that wants it waits as "
     "long."},
    {"held-across-io", "HeldAcrossIo", "warning",
     "A blocking I/O call made while holding a lock: every thread that wants the lock waits "
     "for the disk, the peer or the timer too."},
    {"held-across-wait", "HeldAcrossWait", "warning",
     "A wait on another thread or process (a join, a condition wait holding more than its "
     "mutex, a semaphore, a barrier, waitpid) made while holding a lock: whoever must end the "
     "wait may need the lock first."},
    {"fork-with-locks-held", "ForkWithLocksHeld", "warning",
     "The process forked while other threads held locks: in the child those locks stay locked "
     "for good, and taking one hangs."},
    {"held-lock-freed", "HeldLockFreed", "warning",
     "A lock freed, unmapped, unloaded or destroyed while a thread holds it: the holder's "
     "unlock, and any thread waiting for it, act on memory that is gone or a destroyed lock."},
};

static const char *level_of(const char *kind)
{
    for (size_t i = 0; i < sizeof rules / sizeof *rules; i++)
        if (strcmp(rules[i].id, kind) == 0)
            return rules[i].level;
    return "warning";
}

/* How a class cycle's message calls a class: "C1 (every mutex made by
 * mutex_create (x.c:56) called from conn_new (x.c:61))". */
static void class_text(struct ctx *c, const struct lg_lock *l, char *buf, size_t len)
{
    if (!lg_class_text(c->r->sym, c->f->modules, c->f->n_modules, l, false, buf, len))
        lock_text(l, buf, len);
}

static void cycle_result(struct ctx *c, json_object *res, char *msg, size_t len)
{
    const struct lg_finding *f = c->f;
    bool classes = lg_finding_class_scope(f);
    size_t k;
    if (classes)
        k = (size_t)snprintf(msg, len,
                             "Potential deadlock between %zu lock classes: never on one pair of "
                             "locks in this run, but locks of these kinds taken in these orders "
                             "on the same objects can deadlock",
                             f->n_locks);
    else
        k = (size_t)snprintf(msg, len, "Potential deadlock: a lock-order cycle among %zu locks",
                             f->n_locks);
    json_object *flows = json_object_new_array(), *cf = json_object_new_object();
    json_object *tfs = json_object_new_array();
    for (size_t i = 0; i < f->n_edges; i++) {
        const struct lg_edge *e = &f->edges[i];
        size_t ia = 0, ib = 0;
        const struct lg_lock *a = cycle_lock(f, e->from, &ia), *b = cycle_lock(f, e->to, &ib);
        char la[1200] = "?", lb[1200] = "?", sa[1024], sb[1024], what[3000];
        if (a)
            (classes ? class_text : lock_text_ctx)(c, a, la, sizeof la);
        if (b)
            (classes ? class_text : lock_text_ctx)(c, b, lb, sizeof lb);
        if (k < len && i < 8) {
            site(c, &e->second, sb, sizeof sb);
            if (classes)
                k += (size_t)snprintf(msg + k, len - k,
                                      "%s thread %ld holds a C%zu lock (%s) and takes a C%zu lock "
                                      "(%s) at %s",
                                      i ? ";" : ":", e->thread.seq, ia + 1, la, ib + 1, lb, sb);
            else
                k += (size_t)snprintf(msg + k, len - k,
                                      "%s thread %ld holds L%zu %s and takes L%zu %s at %s",
                                      i ? ";" : ":", e->thread.seq, ia + 1, la, ib + 1, lb, sb);
        }
        /* A thousand-lock cycle: the message names the first edges, the
         * stacks and flows the first MAX_EDGES (viewers cap locations). */
        if (i >= MAX_EDGES)
            continue;
        char ia_s[64] = "", ib_s[64] = "";
        if (classes && e->from_lock.known)
            snprintf(ia_s, sizeof ia_s, " 0x%llx", (unsigned long long)e->from_lock.addr);
        if (classes && e->to_lock.known)
            snprintf(ib_s, sizeof ib_s, " 0x%llx", (unsigned long long)e->to_lock.addr);
        if (classes)
            snprintf(what, sizeof what, "thread %ld holds C%zu lock%s, taken here", e->thread.seq,
                     ia + 1, ia_s);
        else
            snprintf(what, sizeof what, "thread %ld holds L%zu %s, taken here", e->thread.seq,
                     ia + 1, la);
        add_stack(c, &e->first, what);
        if (classes)
            snprintf(what, sizeof what, "thread %ld, holding C%zu lock%s, takes C%zu lock%s here",
                     e->thread.seq, ia + 1, ia_s, ib + 1, ib_s);
        else
            snprintf(what, sizeof what, "thread %ld, holding L%zu %s, takes L%zu %s here",
                     e->thread.seq, ia + 1, la, ib + 1, lb);
        add_stack(c, &e->second, what);

        /* A thread flow per edge: the thread takes one lock, then blocks
         * for the next. */
        struct lg_frame fa, fb;
        json_object *locs = json_object_new_array();
        site(c, &e->first, sa, sizeof sa);
        if (best_frame(c, &e->first, &fa)) {
            json_object *tl = json_object_new_object();
            if (classes)
                snprintf(what, sizeof what, "takes a C%zu lock%s", ia + 1, ia_s);
            else
                snprintf(what, sizeof what, "takes L%zu %s", ia + 1, la);
            json_object_object_add(tl, "location", frame_location(&fa, what));
            json_object_array_add(locs, tl);
        }
        if (best_frame(c, &e->second, &fb)) {
            json_object *tl = json_object_new_object();
            if (classes)
                snprintf(what, sizeof what,
                         "then waits for a C%zu lock%s: the next thread may hold the same one",
                         ib + 1, ib_s);
            else
                snprintf(what, sizeof what, "then waits for L%zu %s, held by the next thread",
                         ib + 1, lb);
            json_object_object_add(tl, "location", frame_location(&fb, what));
            json_object_array_add(locs, tl);
        }
        if (json_object_array_length(locs) == 0) {
            json_object_put(locs);
            continue;
        }
        json_object *tf = json_object_new_object();
        char id[64];
        snprintf(id, sizeof id, "edge %zu: thread %ld", i + 1, e->thread.seq);
        json_object_object_add(tf, "id", json_object_new_string(id));
        json_object_object_add(tf, "locations", locs);
        json_object_array_add(tfs, tf);
    }
    if (k < len)
        snprintf(msg + k, len - k, "%s.", f->n_edges > 8 ? "; ..." : "");
    if (json_object_array_length(tfs) > 0) {
        json_object_object_add(
            cf, "message",
            text_message(classes ? "Each thread holds a lock of one class and waits for a lock "
                                   "of the next: on the same objects, none can go on."
                                 : "Each thread holds one lock of the cycle and waits for the "
                                   "next: none can go on."));
        json_object_object_add(cf, "threadFlows", tfs);
        json_object_array_add(flows, cf);
        json_object_object_add(res, "codeFlows", flows);
    } else {
        json_object_put(tfs);
        json_object_put(cf);
        json_object_put(flows);
    }
}

/* A deadlock: thread i holds L(i+1), which thread i-1 waits for, and
 * waits for L(i+2), which thread i+1 holds (as the text report labels
 * them). The first thread's wait is the location; every other wait and
 * each held lock are related locations, and each thread a thread flow. */
/* A deadlock that is no lock cycle: through a join, or on a lock whose owner
 * is gone. Each thread, then the gone owner. */
static void wait_deadlock_result(struct ctx *c, char *msg, size_t len)
{
    const struct lg_finding *f = c->f;
    size_t n = f->n_waiters;
    size_t k = (size_t)snprintf(msg, len, "Deadlock (now, not a prediction):");
    for (size_t i = 0; i < n && i < MAX_EDGES; i++) {
        const struct lg_waiter *w = &f->waiters[i];
        const struct lg_waiter *next =
            i + 1 < n || !f->gone.known ? &f->waiters[(i + 1) % n] : NULL;
        char l[256], sw[1024], what[1600];
        bool join = w->joins_known || (w->waits_for.type && !strcmp(w->waits_for.type, "thread"));
        site(c, &w->stack, sw, sizeof sw);
        long other = join && w->joins_known ? w->joins.seq : next ? next->thread.seq : 0;
        lock_text(&w->waits_for, l, sizeof l);
        if (join)
            snprintf(what, sizeof what, "thread %ld joins thread %ld here", w->thread.seq, other);
        else
            snprintf(what, sizeof what, "thread %ld waits for %s here", w->thread.seq, l);
        if (k < len && i < 8)
            k += (size_t)snprintf(msg + k, len - k, "%s %s", i ? ";" : "", what);
        if (k < len && i < 8)
            k += (size_t)snprintf(msg + k, len - k, " (%s)", sw);
        if (i == 0)
            add_stack_only(c, &w->stack, what);
        else
            add_stack(c, &w->stack, what);
        for (size_t h = 0; h < w->n_held; h++) {
            lock_text(&w->held[h].lock, l, sizeof l);
            snprintf(what, sizeof what, "thread %ld holds %s, taken here", w->thread.seq, l);
            add_stack(c, &w->held[h].stack, what);
        }
    }
    if (f->gone.known) {
        bool fork = f->gone.gone && !strcmp(f->gone.gone, "not-in-process");
        char what[256];
        if (k < len)
            snprintf(msg + k, len - k, "; the lock's owner, thread %ld (tid %ld), %s.",
                     f->gone.thread.seq, f->gone.thread.tid,
                     fork ? "is a thread of the parent process, not of this fork child"
                          : "has ended without letting it go");
        snprintf(what, sizeof what, "the gone owner (tid %ld) took the lock here",
                 f->gone.thread.tid);
        add_stack(c, &f->gone.stack, what);
        add_stack(c, &f->gone.where,
                  f->gone.fork ? "the fork was made here" : "the owner thread ended here");
    } else if (k < len) {
        snprintf(msg + k, len - k, ".");
    }
}

static void deadlock_result(struct ctx *c, json_object *res, char *msg, size_t len)
{
    const struct lg_finding *f = c->f;
    size_t n = f->n_waiters;
    bool plain = !f->gone.known;
    for (size_t i = 0; i < n && plain; i++)
        plain = !f->waiters[i].joins_known &&
                !(f->waiters[i].waits_for.type && !strcmp(f->waiters[i].waits_for.type, "thread"));
    if (!plain) {
        wait_deadlock_result(c, msg, len);
        return;
    }
    size_t k = (size_t)snprintf(msg, len,
                                "Deadlock (now, not a prediction): %zu thread%s blocked "
                                "on each other",
                                n, n == 1 ? " is" : "s are");
    json_object *tfs = json_object_new_array();
    for (size_t i = 0; i < n && i < MAX_EDGES; i++) {
        const struct lg_waiter *w = &f->waiters[i], *prev = &f->waiters[(i + n - 1) % n];
        char lh[256], lw[256], sw[1024], what[1600];
        lock_text(&prev->waits_for, lh, sizeof lh);
        lock_text(&w->waits_for, lw, sizeof lw);
        size_t lh_n = i + 1, lw_n = (i + 1) % n + 1;
        if (k < len && i < 8) {
            site(c, &w->stack, sw, sizeof sw);
            k += (size_t)snprintf(msg + k, len - k,
                                  "%s thread %ld holds L%zu %s and waits for L%zu %s at %s",
                                  i ? ";" : ":", w->thread.seq, lh_n, lh, lw_n, lw, sw);
        }
        snprintf(what, sizeof what, "thread %ld waits for L%zu %s here, %ld ms so far%s",
                 w->thread.seq, lw_n, lw, w->waiting_ms,
                 w->stack_full ? "" : " (only the lock call's frame is known)");
        if (i == 0)
            add_stack_only(c, &w->stack, what);
        else
            add_stack(c, &w->stack, what);
        const struct lg_stack *held_at = NULL;
        for (size_t h = 0; h < w->n_held; h++) {
            const struct lg_held *e = &w->held[h];
            char l[256];
            lock_text(&e->lock, l, sizeof l);
            bool in_cycle =
                e->lock.id == prev->waits_for.id && e->lock.addr == prev->waits_for.addr;
            if (in_cycle) {
                held_at = &e->stack;
                snprintf(what, sizeof what, "thread %ld took L%zu %s here", w->thread.seq, lh_n, l);
            } else {
                snprintf(what, sizeof what, "thread %ld also holds %s, taken here", w->thread.seq,
                         l);
            }
            add_stack(c, &e->stack, what);
        }

        /* The thread's flow: it took its lock, then waits for the next. */
        struct lg_frame fr;
        json_object *locs = json_object_new_array();
        if (held_at && best_frame(c, held_at, &fr)) {
            json_object *tl = json_object_new_object();
            snprintf(what, sizeof what, "takes L%zu %s", lh_n, lh);
            json_object_object_add(tl, "location", frame_location(&fr, what));
            json_object_array_add(locs, tl);
        }
        if (best_frame(c, &w->stack, &fr)) {
            json_object *tl = json_object_new_object();
            snprintf(what, sizeof what, "waits for L%zu %s, held by thread %ld", lw_n, lw,
                     f->waiters[(i + 1) % n].thread.seq);
            json_object_object_add(tl, "location", frame_location(&fr, what));
            json_object_array_add(locs, tl);
        }
        if (json_object_array_length(locs) == 0) {
            json_object_put(locs);
            continue;
        }
        json_object *tf = json_object_new_object();
        char id[64];
        snprintf(id, sizeof id, "thread %ld", w->thread.seq);
        json_object_object_add(tf, "id", json_object_new_string(id));
        json_object_object_add(tf, "locations", locs);
        json_object_array_add(tfs, tf);
    }
    if (k < len)
        snprintf(msg + k, len - k, "%s.%s%s", n > 8 ? "; ..." : "",
                 f->timed ? " A wait has a timeout: a stall until it expires." : "",
                 f->found_by && strcmp(f->found_by, "watchdog") == 0 ? " Found by the watchdog."
                                                                     : "");
    if (json_object_array_length(tfs) > 0) {
        json_object *flows = json_object_new_array(), *cf = json_object_new_object();
        json_object_object_add(cf, "message",
                               text_message("Each thread holds a lock the one before it waits "
                                            "for, and waits for one the next holds."));
        json_object_object_add(cf, "threadFlows", tfs);
        json_object_array_add(flows, cf);
        json_object_object_add(res, "codeFlows", flows);
    } else {
        json_object_put(tfs);
    }
}

/* "fd 3 (/dev/null)", "fd 4 (socket:[1], peer 127.0.0.1:80)", or "". */
static void fd_text(const struct lg_fd *fd, char *buf, size_t len)
{
    if (!fd->present) {
        snprintf(buf, len, "%s", "");
        return;
    }
    snprintf(buf, len, " on fd %ld (%s%s%s%s%s)", fd->num, fd->type ? fd->type : "?",
             fd->path ? " " : "", fd->path ? fd->path : "", fd->peer ? ", peer " : "",
             fd->peer ? fd->peer : "");
}

/* The message and stacks of each kind; returns the stack whose best frame
 * is the result's location (NULL for none). */
static const struct lg_stack *kind_result(struct ctx *c, json_object *res, char *msg, size_t len)
{
    const struct lg_finding *f = c->f;
    char l[256], s[1024], what[1400];
    switch (f->kind) {
    case LG_KIND_CYCLE:
        cycle_result(c, res, msg, len);
        return f->n_edges ? &f->edges[0].second : NULL;
    case LG_KIND_SELF_DEADLOCK:
        lock_text(&f->lock, l, sizeof l);
        site(c, &f->second_stack, s, sizeof s);
        snprintf(msg, len, "Self-deadlock: thread %ld takes %s %s again at %s while holding it.",
                 f->thread.seq, f->lock.type, l, s);
        snprintf(what, sizeof what, "thread %ld first took %s here", f->thread.seq, l);
        add_stack(c, &f->first_stack, what);
        snprintf(what, sizeof what, "and takes it again here");
        add_stack(c, &f->second_stack, what);
        return &f->second_stack;
    case LG_KIND_UNLOCK_NOT_HELD:
        lock_text(&f->lock, l, sizeof l);
        site(c, &f->stack, s, sizeof s);
        snprintf(msg, len, "Thread %ld unlocks %s %s, which it does not hold, at %s.",
                 f->thread.seq, f->lock.type, l, s);
        add_stack(c, &f->stack, "unlocked here");
        return &f->stack;
    case LG_KIND_HELD_AT_EXIT:
        snprintf(msg, len, "Thread %ld ended holding %zu lock%s.", f->thread.seq, f->n_held,
                 f->n_held == 1 ? "" : "s");
        for (size_t i = 0; i < f->n_held; i++) {
            lock_text(&f->held[i].lock, l, sizeof l);
            snprintf(what, sizeof what, "%s, still held, was taken here", l);
            add_stack(c, &f->held[i].stack, what);
        }
        return f->n_held ? &f->held[0].stack : NULL;
    case LG_KIND_RANK_VIOLATION: {
        lock_text(&f->lock, l, sizeof l);
        site(c, &f->stack, s, sizeof s);
        size_t k =
            (size_t)snprintf(msg, len, "Rank violation: thread %ld takes %s at %s while holding",
                             f->thread.seq, l, s);
        for (size_t i = 0; i < f->n_held && k < len; i++) {
            char h[256];
            lock_text(&f->held[i].lock, h, sizeof h);
            k += (size_t)snprintf(msg + k, len - k, "%s %s (%s)", i ? "," : "", h,
                                  f->held[i].why ? f->held[i].why : "order");
        }
        if (k < len)
            snprintf(msg + k, len - k, ", against the declared lock order.");
        add_stack(c, &f->stack, "the lock is taken here");
        for (size_t i = 0; i < f->n_held; i++) {
            lock_text(&f->held[i].lock, l, sizeof l);
            snprintf(what, sizeof what, "while %s, taken here, is held", l);
            add_stack(c, &f->held[i].stack, what);
        }
        return &f->stack;
    }
    case LG_KIND_RANK_CYCLE: {
        size_t k = (size_t)snprintf(msg, len, "The declared lock order contradicts itself:");
        for (size_t i = 0; i < f->n_classes && k < len; i++)
            k += (size_t)snprintf(msg + k, len - k, " %s <", f->classes[i]);
        if (k < len)
            snprintf(msg + k, len - k, " %s.", f->n_classes ? f->classes[0] : "?");
        return NULL;
    }
    case LG_KIND_DETECTOR_ERROR:
        return NULL; /* a notification, not a result */
    case LG_KIND_DEADLOCK:
        deadlock_result(c, res, msg, len);
        return f->n_waiters ? &f->waiters[0].stack : NULL;
    case LG_KIND_LONG_WAIT: {
        const struct lg_waiter *w = &f->waiters[0];
        lock_text(&w->waits_for, l, sizeof l);
        site(c, &w->stack, s, sizeof s);
        size_t k = (size_t)snprintf(msg, len,
                                    "Long wait: thread %ld has waited %ld ms (watchdog: %ld ms) "
                                    "for %s %s at %s",
                                    w->thread.seq, w->waiting_ms, f->threshold_ms,
                                    w->waits_for.type, l, s);
        if (f->owner.known && k < len) {
            char so[1024];
            site(c, &f->owner.stack, so, sizeof so);
            snprintf(msg + k, len - k, "; thread %ld holds it, taken at %s.", f->owner.thread.seq,
                     so);
            snprintf(what, sizeof what, "thread %ld, which holds %s, took it here",
                     f->owner.thread.seq, l);
            add_stack(c, &f->owner.stack, what);
        } else if (k < len) {
            snprintf(msg + k, len - k, ".");
        }
        snprintf(what, sizeof what, "thread %ld waits for %s here", w->thread.seq, l);
        add_stack(c, &w->stack, what);
        return &w->stack;
    }
    case LG_KIND_LONG_HOLD:
        lock_text(&f->lock, l, sizeof l);
        site(c, &f->stack, s, sizeof s);
        if (f->final)
            snprintf(msg, len,
                     "Long hold: %s %s, taken at %s, was held past hold_warn_ms (%ld ms) %ld "
                     "times, the longest %ld ms.",
                     f->lock.type, l, s, f->threshold_ms, f->count, f->worst_ms);
        else
            snprintf(msg, len, "Long hold: thread %ld held %s %s, taken at %s, for %ld ms%s.",
                     f->thread.seq, f->lock.type, l, s, f->has_held_ms ? f->held_ms : f->worst_ms,
                     f->threshold_ms ? " (past hold_warn_ms)" : "");
        add_stack(c, &f->stack, "the lock is taken here");
        return &f->stack;
    case LG_KIND_HELD_ACROSS_IO:
    case LG_KIND_HELD_ACROSS_WAIT: {
        bool wait = f->kind == LG_KIND_HELD_ACROSS_WAIT;
        char fd[600] = "";
        if (wait && f->waits_on)
            snprintf(fd, sizeof fd, " (waiting on %s)", f->waits_on);
        else if (!wait)
            fd_text(&f->fd, fd, sizeof fd);
        site(c, &f->stack, s, sizeof s);
        size_t k = (size_t)snprintf(msg, len,
                                    "Lock held across %s: thread %ld calls %s%s at %s "
                                    "while holding",
                                    wait ? "a wait" : "I/O", f->thread.seq,
                                    f->call ? f->call
                                    : wait  ? "a wait"
                                            : "an I/O call",
                                    fd, s);
        for (size_t i = 0; i < f->n_held && k < len; i++) {
            lock_text(&f->held[i].lock, l, sizeof l);
            k += (size_t)snprintf(msg + k, len - k, "%s %s", i ? "," : "", l);
        }
        if (k < len)
            snprintf(msg + k, len - k, "; %ld call%s from these sites.", f->count,
                     f->count == 1 ? "" : "s");
        snprintf(what, sizeof what, "%s is called here",
                 f->call ? f->call
                 : wait  ? "the wait"
                         : "the I/O call");
        add_stack(c, &f->stack, what);
        for (size_t i = 0; i < f->n_held; i++) {
            lock_text(&f->held[i].lock, l, sizeof l);
            snprintf(what, sizeof what, "%s, held across the call, was taken here", l);
            add_stack(c, &f->held[i].stack, what);
        }
        return &f->stack;
    }
    case LG_KIND_FORK_HELD: {
        size_t locks = 0;
        for (size_t i = 0; i < f->n_waiters; i++)
            locks += f->waiters[i].n_held;
        site(c, &f->stack, s, sizeof s);
        snprintf(msg, len,
                 "Fork with locks held: process %ld forked at %s while %zu other thread%s held "
                 "%zu lock%s; in the child (pid %ld) they stay locked for good.",
                 f->parent_pid, s, f->n_waiters, f->n_waiters == 1 ? "" : "s", locks,
                 locks == 1 ? "" : "s", f->pid);
        add_stack(c, &f->stack, "the fork is made here");
        for (size_t i = 0; i < f->n_waiters; i++)
            for (size_t h = 0; h < f->waiters[i].n_held; h++) {
                lock_text(&f->waiters[i].held[h].lock, l, sizeof l);
                snprintf(what, sizeof what, "thread %ld of the parent took %s here",
                         f->waiters[i].thread.seq, l);
                add_stack(c, &f->waiters[i].held[h].stack, what);
            }
        return &f->stack;
    }
    case LG_KIND_HELD_LOCK_FREED: {
        lock_text(&f->lock, l, sizeof l);
        site(c, &f->stack, s, sizeof s);
        bool destroy = f->call && strstr(f->call, "_destroy");
        bool self = f->owner.known && f->owner.thread.tid == f->thread.tid;
        bool read = f->hold && strcmp(f->hold, "read") == 0;
        char holder[64] = "a thread";
        if (self)
            snprintf(holder, sizeof holder, "it");
        else if (f->owner.known)
            snprintf(holder, sizeof holder, "thread %ld", f->owner.thread.seq);
        /* lock_text says the type itself, but for a named or keyed lock. */
        bool typed = !f->lock.name && !f->lock.key;
        snprintf(msg, len, "Held lock %s: thread %ld %s %s%s%s at %s (%s) while %s holds it%s.",
                 destroy ? "destroyed" : "freed", f->thread.seq,
                 destroy ? "destroys" : "frees the memory of", typed ? "" : f->lock.type,
                 typed ? "" : " ", l, s, f->call ? f->call : "?", holder,
                 read ? " for reading" : "");
        snprintf(what, sizeof what, "%s %s here", f->call ? f->call : "freed", l);
        add_stack(c, &f->stack, what);
        if (f->owner.known) {
            snprintf(what, sizeof what, "thread %ld took %s here and still holds it",
                     f->owner.thread.seq, l);
            add_stack(c, &f->owner.stack, what);
        }
        return &f->stack;
    }
    default: {
        /* LG_KIND_OTHER, and a kind added to the reader but not here yet:
         * each field by name; the first thing that looks like a stack is
         * the location. */
        size_t k = (size_t)snprintf(
            msg, len, "%s (a kind this lockgraph does not know):", lg_finding_kind(f));
        const struct lg_stack *first = NULL;
        struct lg_stack owned[16] = {{0}};
        size_t n_owned = 0;
        if (!f->raw)
            return NULL;
        json_object_object_foreach(f->raw, key, v)
        {
            if (!strcmp(key, "kind") || !strcmp(key, "modules") || !strcmp(key, "version") ||
                !strcmp(key, "seq") || !strcmp(key, "time_ns"))
                continue;
            bool stack = json_object_is_type(v, json_type_array) &&
                         json_object_array_length(v) > 0 && n_owned < 16;
            for (size_t i = 0; stack && i < json_object_array_length(v); i++) {
                json_object *e = json_object_array_get_idx(v, i);
                stack = json_object_is_type(e, json_type_string) &&
                        strncmp(json_object_get_string(e), "0x", 2) == 0;
            }
            if (stack) {
                struct lg_stack *st = &owned[n_owned];
                st->n = json_object_array_length(v);
                st->pcs = calloc(st->n, sizeof *st->pcs);
                if (!st->pcs)
                    continue;
                for (size_t i = 0; i < st->n; i++)
                    st->pcs[i] =
                        strtoull(json_object_get_string(json_object_array_get_idx(v, i)), NULL, 16);
                n_owned++;
                add_stack(c, st, key);
                if (!first)
                    first = st;
            } else if (k < len) {
                k += (size_t)snprintf(msg + k, len - k, " %s=%.120s;", key,
                                      json_object_to_json_string(v));
            }
        }
        /* The location is computed by the caller before these go. */
        if (first) {
            struct lg_frame fr;
            if (best_frame(c, first, &fr)) {
                json_object *locs = json_object_new_array();
                json_object_array_add(locs, frame_location(&fr, NULL));
                json_object_object_add(res, "locations", locs);
            }
        }
        for (size_t i = 0; i < n_owned; i++) {
            free(owned[i].pcs);
            owned[i].pcs = NULL;
        }
        return NULL;
    }
    }
}

static int rule_index(json_object *rules_arr, const char *kind)
{
    size_t n = json_object_array_length(rules_arr);
    for (size_t i = 0; i < n; i++) {
        json_object *id = json_object_object_get(json_object_array_get_idx(rules_arr, i), "id");
        if (strcmp(json_object_get_string(id), kind) == 0)
            return (int)i;
    }
    json_object *rule = json_object_new_object();
    json_object_object_add(rule, "id", json_object_new_string(kind));
    char text[256];
    snprintf(text, sizeof text, "Findings of kind %s, from a newer lockgraph library.", kind);
    json_object_object_add(rule, "shortDescription", text_message(text));
    json_object *conf = json_object_new_object();
    json_object_object_add(conf, "level", json_object_new_string("warning"));
    json_object_object_add(rule, "defaultConfiguration", conf);
    json_object_array_add(rules_arr, rule);
    return (int)n;
}

static json_object *result(struct lg_report *r, const struct lg_group *g, json_object *rules_arr)
{
    const struct lg_finding *f = g->finding;
    struct ctx c = {.r = r,
                    .f = f,
                    .related = json_object_new_array(),
                    .stacks = json_object_new_array(),
                    .next_id = 1};
    json_object *res = json_object_new_object();
    const char *kind = lg_finding_kind(f);
    json_object_object_add(res, "ruleId", json_object_new_string(kind));
    json_object_object_add(res, "ruleIndex", json_object_new_int(rule_index(rules_arr, kind)));
    json_object_object_add(res, "level", json_object_new_string(level_of(kind)));

    char msg[4096] = "";
    const struct lg_stack *main_stack = kind_result(&c, res, msg, sizeof msg);
    if (g->n > 1) {
        size_t k = strlen(msg);
        snprintf(msg + k, sizeof msg - k, " Seen %zu times in %zu processes.", g->n, g->processes);
    }
    json_object_object_add(res, "message", text_message(msg));
    struct lg_frame fr;
    if (main_stack && best_frame(&c, main_stack, &fr)) {
        json_object *locs = json_object_new_array();
        json_object_array_add(locs, frame_location(&fr, NULL));
        json_object_object_add(res, "locations", locs);
    }
    if (json_object_array_length(c.related))
        json_object_object_add(res, "relatedLocations", c.related);
    else
        json_object_put(c.related);
    if (json_object_array_length(c.stacks))
        json_object_object_add(res, "stacks", c.stacks);
    else
        json_object_put(c.stacks);

    /* The same finding in another run, even rebuilt elsewhere, keeps its
     * fingerprint: it is made of module offsets, not addresses. */
    char fp[32];
    snprintf(fp, sizeof fp, "%016llx", (unsigned long long)lg_finding_signature(f));
    json_object *fps = json_object_new_object();
    json_object_object_add(fps, "lockgraph/v1", json_object_new_string(fp));
    json_object_object_add(res, "partialFingerprints", fps);

    json_object *props = json_object_new_object();
    json_object_object_add(props, "count", json_object_new_int64((int64_t)g->n));
    json_object_object_add(props, "processes", json_object_new_int64((int64_t)g->processes));
    if (f->kind == LG_KIND_CYCLE && f->scope)
        json_object_object_add(props, "scope", json_object_new_string(f->scope));
    json_object *occ = json_object_new_array();
    for (size_t i = 0; i < g->n && i < g->n_seen && i < 100; i++) {
        const struct lg_seen *m = &g->seen[i];
        char where[4200];
        snprintf(where, sizeof where, "%s:%zu (pid %ld)", m->file, m->line, m->pid);
        json_object_array_add(occ, json_object_new_string(where));
    }
    json_object_object_add(props, "occurrences", occ);
    /* The whole text block, as `lockgraph report` prints it. */
    char *text = NULL;
    size_t len = 0;
    FILE *fp_text = open_memstream(&text, &len);
    if (fp_text) {
        struct lg_summary_opts o = {.out = fp_text, .sym = r->sym};
        lg_summary_print_one(f, 1, &o);
        fclose(fp_text);
        json_object_object_add(props, "report", json_object_new_string(text));
        free(text);
    }
    json_object_object_add(res, "properties", props);
    return res;
}

static void notification(json_object *list, const char *level, const char *text)
{
    json_object *n = json_object_new_object();
    json_object_object_add(n, "level", json_object_new_string(level));
    json_object_object_add(n, "message", text_message(text));
    json_object_array_add(list, n);
}

struct sarif {
    struct lg_report *r;
    json_object *rules; /* a reference: the results name their rule by index */
    struct lg_json_splice results;
};

static void *begin(struct lg_report *r, FILE *out, const struct lg_format_opts *o)
{
    (void)o;
    struct sarif *sf = calloc(1, sizeof *sf);
    json_object *root = json_object_new_object();
    if (!sf || !root) {
        free(sf);
        json_object_put(root);
        return NULL;
    }
    sf->r = r;
    json_object_object_add(root, "$schema",
                           json_object_new_string("https://json.schemastore.org/sarif-2.1.0.json"));
    json_object_object_add(root, "version", json_object_new_string("2.1.0"));
    json_object *runs = json_object_new_array(), *run = json_object_new_object();
    json_object *tool = json_object_new_object(), *driver = json_object_new_object();
    json_object_object_add(driver, "name", json_object_new_string("lockgraph"));
    json_object_object_add(driver, "version", json_object_new_string(LG_VERSION));
    json_object_object_add(driver, "semanticVersion", json_object_new_string(LG_VERSION));
    json_object *rules_arr = json_object_new_array();
    for (size_t i = 0; i < sizeof rules / sizeof *rules; i++) {
        json_object *rule = json_object_new_object();
        json_object_object_add(rule, "id", json_object_new_string(rules[i].id));
        json_object_object_add(rule, "name", json_object_new_string(rules[i].name));
        json_object_object_add(rule, "shortDescription", text_message(rules[i].text));
        json_object_object_add(rule, "fullDescription", text_message(rules[i].text));
        json_object *conf = json_object_new_object();
        json_object_object_add(conf, "level", json_object_new_string(rules[i].level));
        json_object_object_add(rule, "defaultConfiguration", conf);
        json_object_object_add(
            rule, "help",
            text_message("See FINDINGS.md in lockgraph for the finding's fields and README.md "
                         "for what is and is not a deadlock."));
        json_object_array_add(rules_arr, rule);
    }

    /* Rules come before the results: a kind this lockgraph does not know
     * gets its rule here, in the order its first result will come. Detector
     * errors are notifications, not results. */
    json_object *notes = json_object_new_array();
    for (size_t i = 0; i < r->n_groups; i++) {
        const struct lg_finding *f = r->groups[i].finding;
        if (f->kind == LG_KIND_DETECTOR_ERROR) {
            char text[1024];
            snprintf(text, sizeof text, "lockgraph could not do its job fully in pid %ld: %s%s%s",
                     f->pid, f->error ? f->error : "unknown error", f->message ? ": " : "",
                     f->message ? f->message : "");
            notification(notes, "warning", text);
            continue;
        }
        rule_index(rules_arr, lg_finding_kind(f));
    }
    sf->rules = json_object_get(rules_arr);
    json_object_object_add(driver, "rules", rules_arr);
    json_object_object_add(tool, "driver", driver);
    json_object_object_add(run, "tool", tool);

    char cwd[4096], uri[4200] = "file://";
    if (getcwd(cwd, sizeof cwd)) {
        uri_append(uri, sizeof uri, cwd);
        if (uri[strlen(uri) - 1] != '/')
            strcat(uri, "/");
        json_object *bases = json_object_new_object(), *src = json_object_new_object();
        json_object_object_add(src, "uri", json_object_new_string(uri));
        json_object_object_add(bases, SRCROOT, src);
        json_object_object_add(run, "originalUriBaseIds", bases);
    }

    char text[256];
    if (r->set.unreadable_files) {
        snprintf(text, sizeof text, "%zu findings file%s could not be read.",
                 r->set.unreadable_files, r->set.unreadable_files == 1 ? "" : "s");
        notification(notes, "error", text);
    }
    if (r->set.corrupt_lines + r->set.truncated_lines) {
        snprintf(text, sizeof text, "%zu unreadable line%s skipped.",
                 r->set.corrupt_lines + r->set.truncated_lines,
                 r->set.corrupt_lines + r->set.truncated_lines == 1 ? "" : "s");
        notification(notes, "warning", text);
    }
    if (r->suppressed) {
        snprintf(text, sizeof text, "%zu finding%s suppressed.", r->suppressed,
                 r->suppressed == 1 ? "" : "s");
        notification(notes, "note", text);
    }
    json_object *invs = json_object_new_array(), *inv = json_object_new_object();
    json_object_object_add(inv, "executionSuccessful",
                           json_object_new_boolean(!lg_report_input_failed(r)));
    if (json_object_array_length(notes))
        json_object_object_add(inv, "toolExecutionNotifications", notes);
    else
        json_object_put(notes);
    json_object_array_add(invs, inv);
    json_object_object_add(run, "invocations", invs);
    json_object *results = json_object_new_array();
    json_object_array_add(results, lg_json_splice_mark());
    json_object_object_add(run, "results", results);
    json_object_array_add(runs, run);
    json_object_object_add(root, "runs", runs);

    int rc = lg_json_splice_begin(&sf->results, root, out, 0);
    json_object_put(root);
    if (rc != 0) {
        json_object_put(sf->rules);
        free(sf);
        return NULL;
    }
    return sf;
}

static int group(void *state, const struct lg_group *g, size_t number)
{
    (void)number;
    struct sarif *sf = state;
    if (g->finding->kind == LG_KIND_DETECTOR_ERROR)
        return 0; /* a notification, given at the start */
    json_object *res = result(sf->r, g, sf->rules);
    int rc = res ? lg_json_splice_item(&sf->results, res) : -1;
    json_object_put(res);
    return rc;
}

static int end(void *state)
{
    struct sarif *sf = state;
    lg_json_splice_end(&sf->results);
    fputc('\n', sf->results.out);
    json_object_put(sf->rules);
    free(sf);
    return 0;
}

const struct lg_format lg_format_sarif = {.name = "sarif",
                                          .utf8 = true,
                                          .all_seen = false,
                                          .streams = false,
                                          .begin = begin,
                                          .group = group,
                                          .end = end};
