/*
 * io.c - locks held across blocking calls (see io.h for the model).
 *
 * What it does: given an I/O call that a shim saw made with a lock held and
 * that could block by its arguments, decide whether it really can (the fd
 * table), whether the allowlist accepts it, and count it against its pair
 * of sites; the first call of a pair becomes a held-across-io finding. A
 * wait on another thread or process (a join, a condition wait holding more
 * than its mutex, a semaphore, a barrier, waitpid) goes the same way, with
 * its own switch (on_wait) and allowlist (wait_allow), and becomes a
 * held-across-wait finding. Pair numbers are shared by both kinds.
 * What it does not: interpose anything (interpose_io.c, interpose_wait.c
 * do) or format JSON (report.c does, from what it is given).
 *
 * The cost model: a call whose pair is already known costs a walk of the
 * held stack, a hash, a lock-free bucket probe and one atomic add. A new
 * pair costs a stack unwind, an fstat, a readlink and a module-map walk,
 * once per pair for the life of the process.
 *
 * Locking: io_lock (sync.h order: after threads, before alloc) guards only
 * insertion into the pair table. Stacks are captured and interned before
 * it is taken; the finding is written after it is released.
 */

#include "io.h"
#include "keys.h"
#include "symbols.h"
#include "alloc.h"
#include "graph.h"
#include "registry.h"
#include "options.h"
#include "report.h"
#include "sem.h"
#include "stack.h"
#include "sync.h"
#include "util.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <link.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

unsigned char lg__io_fdtab[LG_IO_FD_MAX] LG_LARGE_BSS;

static const char *const call_names[] = {
#define NAME_OF(id, name, family) #name,
    LG_IO_CALLS(NAME_OF) LG_WAIT_CALLS(NAME_OF)
#undef NAME_OF
};
static const char *const call_families[] = {
#define FAMILY_OF(id, name, family) #family,
    LG_IO_CALLS(FAMILY_OF) LG_WAIT_CALLS(FAMILY_OF)
#undef FAMILY_OF
};

const char *lg__io_call_name(int call)
{
    return (unsigned)call < LG_IO_NCALLS ? call_names[call] : "?";
}

const char *lg__io_call_family(int call)
{
    return (unsigned)call < LG_IO_NCALLS ? call_families[call] : "?";
}

/* ---------------------------------------------------------------------- */
/* Small formatting helpers: no stdio here.                                */

struct out {
    char *p, *end; /* end: the last byte, kept for the NUL */
};

static void out_str(struct out *o, const char *s, size_t n)
{
    while (n-- && *s && o->p < o->end)
        *o->p++ = *s++;
    *o->p = 0;
}

static void out_cstr(struct out *o, const char *s)
{
    out_str(o, s, strlen(s));
}

static void out_uint(struct out *o, uint64_t v, unsigned base)
{
    char d[24];
    int n = 0;
    do
        d[n++] = "0123456789abcdef"[v % base];
    while ((v /= base) != 0);
    while (n && o->p < o->end)
        *o->p++ = d[--n];
    *o->p = 0;
}

static const char *basename_of(const char *path)
{
    const char *s = strrchr(path, '/');
    return s ? s + 1 : path;
}

/* ---------------------------------------------------------------------- */
/* The allowlists: io_allow for the I/O calls, wait_allow for the waits.   */

static struct lg_io_allow allow, wait_allow;
static atomic_bool sites_unresolved;
static char exe_base[256];

static bool starts(const char *s, size_t n, const char *prefix)
{
    size_t k = strlen(prefix);
    return n >= k && memcmp(s, prefix, k) == 0;
}

static bool parse_hex(const char *s, size_t n, uintptr_t *out)
{
    if (n < 3 || n > 18 || s[0] != '0' || (s[1] != 'x' && s[1] != 'X'))
        return false;
    uintptr_t v = 0;
    for (size_t i = 2; i < n; i++) {
        char c = s[i];
        int d = c >= '0' && c <= '9'   ? c - '0'
                : c >= 'a' && c <= 'f' ? c - 'a' + 10
                : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                       : -1;
        if (d < 0)
            return false;
        v = v << 4 | (uintptr_t)d;
    }
    *out = v;
    return true;
}

static int allow_fail(char *err, size_t errlen, const char *a, const char *item, size_t n,
                      const char *b)
{
    char k[64];
    size_t c = n < sizeof(k) - 1 ? n : sizeof(k) - 1;
    memcpy(k, item, c);
    k[c] = 0;
    if (err && errlen) {
        err[0] = 0;
        lg__strlcat(err, a, errlen);
        lg__strlcat(err, k, errlen);
        lg__strlcat(err, b, errlen);
    }
    return -1;
}

int lg__io_allow_parse(const char *s, size_t len, struct lg_io_allow *out, char *err, size_t errlen)
{
    return lg__allow_parse(s, len, out, err, errlen, false);
}

int lg__allow_parse(const char *s, size_t len, struct lg_io_allow *out, char *err, size_t errlen,
                    bool waits)
{
    struct lg_io_allow scratch;
    struct lg_io_allow *a = out ? out : &scratch;
    memset(a, 0, sizeof(*a));
    size_t i = 0;
    while (i < len) {
        size_t j = i;
        while (j < len && s[j] != ',')
            j++;
        const char *item = s + i;
        size_t n = j - i;
        i = j + 1;
        if (n == 0)
            continue;
        bool lock = starts(item, n, "name:") || starts(item, n, "site:") ||
                    starts(item, n, "addr:") || starts(item, n, "sym:");
        if (lock && a->nlocks == LG_IO_ALLOW_LOCKS)
            return allow_fail(err, errlen, "too many lock keys (32 at most) at '", item, n, "'");
        struct lg_io_allow_lock *l = &a->lock[a->nlocks];
        if (starts(item, n, "name:")) {
            if (n == 5)
                return allow_fail(err, errlen, "'", item, n, "' needs a lock name");
            *l = (struct lg_io_allow_lock){.kind = LG_ALLOW_NAME, .s = item + 5, .len = n - 5};
            a->nlocks++;
        } else if (starts(item, n, "site:")) {
            const char *plus = NULL;
            for (size_t k = n; k > 5; k--)
                if (item[k - 1] == '+') {
                    plus = item + k - 1;
                    break;
                }
            uintptr_t off;
            if (!plus || plus == item + 5 ||
                !parse_hex(plus + 1, (size_t)(item + n - plus - 1), &off))
                return allow_fail(err, errlen, "'", item, n, "' is not site:MODULE+0xOFFSET");
            *l = (struct lg_io_allow_lock){
                .kind = LG_ALLOW_SITE, .s = item + 5, .len = (size_t)(plus - item - 5), .off = off};
            a->nlocks++;
        } else if (starts(item, n, "addr:")) {
            uintptr_t addr;
            if (!parse_hex(item + 5, n - 5, &addr))
                return allow_fail(err, errlen, "'", item, n, "' is not addr:0xADDRESS");
            *l = (struct lg_io_allow_lock){.kind = LG_ALLOW_ADDR, .off = addr};
            a->nlocks++;
        } else if (starts(item, n, "sym:")) {
            /* sym:MODULE:SYMBOL[+0xOFF] (SYMBOL may be FILE:NAME) */
            const char *colon = memchr(item + 4, ':', n - 4);
            uintptr_t off = 0;
            size_t end = n;
            for (size_t k = n; colon && k > (size_t)(colon - item) + 1; k--)
                if (item[k - 1] == '+') {
                    if (!parse_hex(item + k, n - k, &off))
                        return allow_fail(err, errlen, "'", item, n,
                                          "' is not sym:MODULE:SYMBOL[+0xOFFSET]");
                    end = k - 1;
                    break;
                }
            if (!colon || colon == item + 4 || end <= (size_t)(colon - item) + 1)
                return allow_fail(err, errlen, "'", item, n,
                                  "' is not sym:MODULE:SYMBOL[+0xOFFSET]");
            *l = (struct lg_io_allow_lock){
                .kind = LG_ALLOW_SYM, .s = item + 4, .len = end - 4, .off = off};
            a->nlocks++;
        } else {
            int call = -1;
            int lo = waits ? LG_IO_FIRST_WAIT : 0, hi = waits ? LG_IO_NCALLS : LG_IO_FIRST_WAIT;
            for (int c = lo; c < hi && call < 0; c++)
                if (strlen(call_names[c]) == n && memcmp(call_names[c], item, n) == 0)
                    call = c;
            if (call < 0)
                return allow_fail(err, errlen, "'", item, n,
                                  waits ? "' is neither a watched wait (pthread_join, sem_wait, "
                                          "pthread_cond_wait, waitpid, ...) nor a lock key "
                                          "(name:NAME, sym:MODULE:SYMBOL, site:MODULE+0xOFF, "
                                          "addr:0xADDR)"
                                        : "' is neither a watched call (read, write, ...) nor a "
                                          "lock key (name:NAME, sym:MODULE:SYMBOL, "
                                          "site:MODULE+0xOFF, addr:0xADDR)");
            a->calls[call >> 6] |= 1ull << (call & 63);
        }
    }
    return 0;
}

struct site_query {
    bool missing;
};

static int resolve_one(struct dl_phdr_info *info, size_t size, void *arg)
{
    (void)size;
    struct lg_io_allow *al = arg;
    const char *base =
        info->dlpi_name && info->dlpi_name[0] ? basename_of(info->dlpi_name) : exe_base;
    for (int i = 0; i < al->nlocks; i++) {
        struct lg_io_allow_lock *l = &al->lock[i];
        if (l->kind != LG_ALLOW_SITE || __atomic_load_n(&l->addr, __ATOMIC_RELAXED))
            continue;
        if (strlen(base) == l->len && memcmp(base, l->s, l->len) == 0)
            __atomic_store_n(&l->addr, info->dlpi_addr + l->off, __ATOMIC_RELAXED);
    }
    return 0;
}

/* Turn site:MODULE+0xOFF items into addresses for the modules loaded now.
 * Walks the module map (the loader's lock): on new pairs only. */
static bool resolve_list(struct lg_io_allow *al)
{
    if (!al->nlocks)
        return false;
    lg__iterate_modules(resolve_one, al);
    for (int i = 0; i < al->nlocks; i++) {
        struct lg_io_allow_lock *l = &al->lock[i];
        const char *colon = l->kind == LG_ALLOW_SYM ? memchr(l->s, ':', l->len) : NULL;
        uintptr_t a;
        if (colon && !__atomic_load_n(&l->addr, __ATOMIC_RELAXED) &&
            lg__symbol_addr(l->s, (size_t)(colon - l->s), colon + 1,
                            l->len - (size_t)(colon + 1 - l->s), &a))
            __atomic_store_n(&l->addr, a + l->off, __ATOMIC_RELAXED);
    }
    bool missing = false;
    for (int i = 0; i < al->nlocks; i++)
        missing |= (al->lock[i].kind == LG_ALLOW_SITE || al->lock[i].kind == LG_ALLOW_SYM) &&
                   !__atomic_load_n(&al->lock[i].addr, __ATOMIC_RELAXED);
    return missing;
}

static void resolve_sites(void)
{
    bool missing = resolve_list(&allow);
    missing |= resolve_list(&wait_allow);
    atomic_store(&sites_unresolved, missing);
}

static bool lock_allowed(const struct lg_io_allow *al, const struct lg_held *h)
{
    const struct lg_node *n = h->node;
    for (int i = 0; i < al->nlocks; i++) {
        const struct lg_io_allow_lock *l = &al->lock[i];
        switch (l->kind) {
        case LG_ALLOW_NAME: {
            const char *name =
                n ? atomic_load_explicit(&((struct lg_node *)n)->name, memory_order_acquire) : NULL;
            if (name && strncmp(name, l->s, l->len) == 0 && name[l->len] == 0)
                return true;
            break;
        }
        case LG_ALLOW_SITE: {
            uintptr_t a = __atomic_load_n(&l->addr, __ATOMIC_RELAXED);
            const struct lg_stack *s = n ? lg__registry_where(n) : NULL;
            if (a && s && s->n && s->pc[0] == a)
                return true;
            break;
        }
        case LG_ALLOW_ADDR:
            if (h->addr == l->off)
                return true;
            break;
        case LG_ALLOW_SYM:
            if (h->addr == __atomic_load_n(&l->addr, __ATOMIC_RELAXED))
                return true;
            break;
        }
    }
    return false;
}

static inline bool call_allowed(const struct lg_io_allow *al, int call)
{
    return (al->calls[call >> 6] >> (call & 63)) & 1;
}

/* A held entry that says nothing: accepted by the allowlist, or a
 * semaphore taken for a lock that has since turned out to be a counter
 * (another thread posted it: sem.h). */
static inline bool held_skipped(const struct lg_io_allow *al, const struct lg_held *e)
{
    return lg__held_is_hole(e) || (al->nlocks && lock_allowed(al, e)) ||
           (__builtin_expect(atomic_load_explicit(&lg__sem_stale_seen, memory_order_relaxed), 0) &&
            e->node && e->node->type == LG_TYPE_SEM && lg__sem_hold_stale(e->addr));
}

void lg__io_init(void)
{
    char err[256];
    if (lg__io_allow_parse(lg__opt.io_allow, strlen(lg__opt.io_allow), &allow, err, sizeof(err)) !=
        0)
        memset(&allow, 0, sizeof(allow)); /* cannot happen: the option parser checked it */
    if (lg__allow_parse(lg__opt.wait_allow, strlen(lg__opt.wait_allow), &wait_allow, err,
                        sizeof(err), true) != 0)
        memset(&wait_allow, 0, sizeof(wait_allow)); /* as above */
    lg__strlcpy(exe_base, basename_of(lg__exe_path()), sizeof(exe_base));
    if (allow.nlocks || wait_allow.nlocks)
        resolve_sites();
}

/* ---------------------------------------------------------------------- */
/* The fd table.                                                           */

void lg__io_fd_nonblock(int fd, bool on)
{
    if ((unsigned)fd >= LG_IO_FD_MAX)
        return;
    unsigned char old = __atomic_load_n(&lg__io_fdtab[fd], __ATOMIC_RELAXED), v;
    do
        v = (unsigned char)(LG_FD_KNOWN | (old & LG_FD_TYPE_MASK) | (on ? LG_FD_NONBLOCK : 0));
    while (!__atomic_compare_exchange_n(&lg__io_fdtab[fd], &old, v, true, __ATOMIC_RELAXED,
                                        __ATOMIC_RELAXED));
}

static unsigned type_of_mode(mode_t m)
{
    if (S_ISREG(m))
        return LG_FD_T_REG;
    if (S_ISSOCK(m))
        return LG_FD_T_SOCK;
    if (S_ISFIFO(m))
        return LG_FD_T_PIPE;
    if (S_ISCHR(m))
        return LG_FD_T_CHR;
    if (S_ISBLK(m))
        return LG_FD_T_BLK;
    if (S_ISDIR(m))
        return LG_FD_T_DIR;
    return LG_FD_T_OTHER;
}

/* Can a call that O_NONBLOCK makes non-blocking block on fd? Learns what
 * the table does not know yet, once per fd: fcntl(F_GETFL), then fstat only
 * when the fd is non-blocking and its type decides (O_NONBLOCK does not
 * stop a regular file or a block device from waiting for the disk). */
static bool fd_blocks(int fd)
{
    unsigned v = lg__io_fd_get(fd);
    if (!(v & LG_FD_KNOWN)) {
        long fl = syscall(SYS_fcntl, fd, F_GETFL);
        if (fl < 0)
            return false; /* not an open fd: the call fails at once */
        v = LG_FD_KNOWN | ((fl & O_NONBLOCK) ? LG_FD_NONBLOCK : 0);
        unsigned char expect = 0;
        if ((unsigned)fd < LG_IO_FD_MAX)
            __atomic_compare_exchange_n(&lg__io_fdtab[fd], &expect, (unsigned char)v, false,
                                        __ATOMIC_RELAXED, __ATOMIC_RELAXED);
    }
    if (!(v & LG_FD_NONBLOCK))
        return true;
    unsigned type = v & LG_FD_TYPE_MASK;
    if (type == LG_FD_T_UNKNOWN) {
        struct stat st;
        if (fstat(fd, &st) != 0)
            return false;
        type = type_of_mode(st.st_mode);
        unsigned char expect = (unsigned char)v;
        if ((unsigned)fd < LG_IO_FD_MAX)
            __atomic_compare_exchange_n(&lg__io_fdtab[fd], &expect, (unsigned char)(v | type),
                                        false, __ATOMIC_RELAXED, __ATOMIC_RELAXED);
    }
    return type == LG_FD_T_REG || type == LG_FD_T_BLK;
}

/* ---------------------------------------------------------------------- */
/* Pairs of sites.                                                         */

/* The key: the call, its return address, and the return addresses of the
 * lock calls of the held locks the allowlist does not accept, innermost
 * first, at most KEY_MAX of them. */
#define KEY_MAX 64

struct key {
    int call;
    uintptr_t pc;
    uint32_t n;
    uint64_t hash;
    uintptr_t site[KEY_MAX];
};

struct record {
    size_t size;
    struct lg_across_finding f;
    struct lg_wait_on on;
    char fd_path[256];
    char fd_peer[128];
    struct lg_across_held held[];
};

struct pair {
    struct pair *next;
    uint64_t hash;
    uintptr_t pc;
    int call;
    uint32_t n;
    atomic_uint_fast64_t count;
    atomic_uint_fast64_t written; /* the count last written */
    struct record *rec;
    uintptr_t site[];
};

#define NBUCKETS 4096
static _Atomic(struct pair *) buckets[NBUCKETS] LG_LARGE_BSS;
#define io_lock (lg__locks.io)
static atomic_uint_fast64_t npairs; /* written under io_lock; 0: buckets untouched */

static inline uint64_t mix(uint64_t h, uint64_t v)
{
    h ^= v;
    h *= 0x9e3779b97f4a7c15ull;
    return h ^ (h >> 29);
}

/* False when the allowlist accepts every held lock. */
static bool make_key(const struct lg_io_allow *al, const struct lg_thread *t,
                     const struct lg_io_call_info *c, struct key *k)
{
    k->call = c->call;
    k->pc = c->pc;
    k->n = 0;
    uint64_t h = mix((uint64_t)c->call + 1, c->pc);
    bool any = false;
    for (int i = (int)t->held.n - 1; i >= 0; i--) {
        const struct lg_held *e = &t->held.e[i];
        if (held_skipped(al, e))
            continue;
        any = true;
        if (k->n < KEY_MAX) {
            k->site[k->n++] = e->pc;
            h = mix(h, e->pc);
        }
    }
    k->hash = h;
    return any;
}

static inline bool same_sites(const uintptr_t *a, const uintptr_t *b, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++) /* n is 1 or 2 almost always: no memcmp call */
        if (a[i] != b[i])
            return false;
    return true;
}

static struct pair *find(const struct key *k)
{
    struct pair *p = atomic_load_explicit(&buckets[k->hash & (NBUCKETS - 1)], memory_order_acquire);
    for (; p; p = p->next)
        if (p->hash == k->hash && p->pc == k->pc && p->call == k->call && p->n == k->n &&
            same_sites(p->site, k->site, k->n))
            return p;
    return NULL;
}

/* ---- describing what a new pair is about ---- */

static const char *type_name(unsigned type)
{
    static const char *const names[] = {"unknown",     "file",         "socket",    "pipe",
                                        "char-device", "block-device", "directory", "other"};
    return names[type & 7];
}

static void put_port(struct out *o, uint16_t port_be)
{
    out_cstr(o, ":");
    out_uint(o, ntohs(port_be), 10);
}

static void put_in6(struct out *o, const unsigned char *a)
{
    /* RFC 5952: the longest run of two or more zero groups becomes "::". */
    uint16_t g[8];
    for (int i = 0; i < 8; i++)
        g[i] = (uint16_t)(a[2 * i] << 8 | a[2 * i + 1]);
    int best = -1, bestlen = 1;
    for (int i = 0; i < 8;) {
        int j = i;
        while (j < 8 && g[j] == 0)
            j++;
        if (j - i > bestlen) {
            best = i;
            bestlen = j - i;
        }
        i = j > i ? j : i + 1;
    }
    for (int i = 0; i < 8; i++) {
        if (i == best) {
            out_cstr(o, "::");
            i += bestlen - 1;
            continue;
        }
        if (i && i != best + bestlen)
            out_cstr(o, ":");
        out_uint(o, g[i], 16);
    }
}

static bool put_sockaddr(struct out *o, const struct sockaddr_storage *ss, socklen_t len)
{
    if (ss->ss_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)ss;
        const unsigned char *a = (const unsigned char *)&in->sin_addr;
        for (int i = 0; i < 4; i++) {
            if (i)
                out_cstr(o, ".");
            out_uint(o, a[i], 10);
        }
        put_port(o, in->sin_port);
        return true;
    }
    if (ss->ss_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)ss;
        out_cstr(o, "[");
        put_in6(o, (const unsigned char *)&in6->sin6_addr);
        out_cstr(o, "]");
        put_port(o, in6->sin6_port);
        return true;
    }
    if (ss->ss_family == AF_UNIX) {
        const struct sockaddr_un *un = (const struct sockaddr_un *)ss;
        size_t n = len > offsetof(struct sockaddr_un, sun_path)
                       ? len - offsetof(struct sockaddr_un, sun_path)
                       : 0;
        if (n == 0) {
            out_cstr(o, "unix:unnamed");
        } else if (un->sun_path[0] == 0) {
            out_cstr(o, "unix:@");
            out_str(o, un->sun_path + 1, n - 1);
        } else {
            out_cstr(o, "unix:");
            out_str(o, un->sun_path, n);
        }
        return true;
    }
    return false;
}

/* What fd is, where that is cheap to know: its type, the kernel's name for
 * it (a path, "pipe:[ino]", "socket:[ino]", "anon_inode:[eventpoll]") and,
 * for a socket, the peer ("127.0.0.1:6379", "unix:/run/x.sock") or, when
 * it is not connected, its local address. */
static void describe_fd(int fd, const void *to, unsigned tolen, struct record *r)
{
    r->f.fd = fd;
    if (fd < 0)
        return;
    struct stat st;
    if (fstat(fd, &st) != 0) {
        r->f.fd_type = "closed";
        return;
    }
    unsigned type = type_of_mode(st.st_mode);
    r->f.fd_type = type_name(type);
    char link[40];
    struct out o = {link, link + sizeof(link) - 1};
    out_cstr(&o, "/proc/self/fd/");
    out_uint(&o, (unsigned)fd, 10);
    ssize_t n = readlink(link, r->fd_path, sizeof(r->fd_path) - 1);
    if (n > 0) {
        r->fd_path[n] = 0;
        r->f.fd_path = r->fd_path;
    }
    if (type != LG_FD_T_SOCK)
        return;
    struct sockaddr_storage ss;
    socklen_t len = sizeof(ss);
    struct out p = {r->fd_peer, r->fd_peer + sizeof(r->fd_peer) - 1};
    if (to && tolen >= sizeof(sa_family_t)) { /* connect, sendto: where to */
        len = tolen < sizeof(ss) ? tolen : sizeof(ss);
        memset(&ss, 0, sizeof(ss));
        memcpy(&ss, to, len);
    } else if (getpeername(fd, (struct sockaddr *)&ss, &len) != 0) {
        len = sizeof(ss);
        if (getsockname(fd, (struct sockaddr *)&ss, &len) != 0)
            return;
        r->f.fd_peer_local = true;
    }
    if (put_sockaddr(&p, &ss, len))
        r->f.fd_peer = r->fd_peer;
}

/* The io_allow key of each held lock: its stable key (keys.h), the same a
 * rank file or graph file gives it; addr:0xADDR for a lock never seen. */
static void held_keys(struct record *r)
{
    for (uint32_t i = 0; i < r->f.nheld; i++) {
        struct lg_across_held *h = &r->held[i];
        if (h->node) {
            lg__key_of(h->node, h->key);
        } else {
            struct out o = {h->key, h->key + sizeof(h->key) - 1};
            out_cstr(&o, "addr:0x");
            out_uint(&o, h->addr, 16);
        }
    }
}

static void act(bool wait)
{
    if (lg__alloc_failed())
        lg__report_oom();
    if (wait && lg__opt.on_wait == LG_ACTION_ABORT) {
        lg__write_str(2, "lockgraph: on_wait=abort: aborting\n");
        abort();
    }
    if (!wait && lg__opt.on_io == LG_ACTION_ABORT) {
        lg__write_str(2, "lockgraph: on_io=abort: aborting\n");
        abort();
    }
}

/* A pair seen for the first time: everything a finding needs, then insert
 * it (unless another thread just did) and report it. */
static void new_pair(const struct lg_io_allow *al, struct lg_thread *t,
                     const struct lg_io_call_info *c, const struct key *k)
{
    uintptr_t pcs[LG_STACK_MAX], cfas[LG_STACK_MAX];
    int n = lg__stack_capture(pcs, cfas, (int)lg__opt.stack_depth);

    uint32_t nheld = 0;
    for (uint32_t i = 0; i < t->held.n; i++)
        nheld += !held_skipped(al, &t->held.e[i]);
    size_t size = sizeof(struct record) + nheld * sizeof(struct lg_across_held);
    struct record *r = lg__alloc(size);
    if (!r) {
        lg__report_oom();
        return;
    }
    r->size = size;
    r->f.tid = t->tid;
    r->f.tseq = t->seq;
    lg__thread_name(r->f.tname);
    r->f.call = lg__io_call_name(c->call);
    r->f.family = lg__io_call_family(c->call);
    r->f.wait = lg__io_is_wait(c->call);
    r->f.fd = -1;
    if (c->on) {
        r->on = *c->on;
        r->f.on = &r->on;
    }
    r->f.stack = lg__stack_intern(pcs, n);
    r->f.held = r->held;
    for (uint32_t i = 0, j = 0; i < t->held.n; i++) {
        const struct lg_held *e = &t->held.e[i];
        if (held_skipped(al, e))
            continue;
        struct lg_across_held *h = &r->held[j++];
        h->node = e->node;
        h->addr = e->addr;
        h->shared = (e->flags & LG_ACQ_SHARED) != 0;
        if (e->stack) {
            h->stack = e->stack;
            h->exact = true;
        } else {
            uintptr_t f[LG_STACK_MAX];
            int m = lg__stack_splice(e->pc, e->cfa, pcs, cfas, n, f, (int)lg__opt.stack_depth);
            h->stack = lg__stack_intern(f, m);
        }
        r->f.nheld = j;
    }
    held_keys(r);
    describe_fd(c->fd, c->to, c->tolen, r);

    lg__lock(&io_lock);
    struct pair *p = find(k);
    if (p) {
        lg__unlock(&io_lock);
        atomic_fetch_add_explicit(&p->count, 1, memory_order_relaxed);
        lg__free(r, size);
        return;
    }
    p = lg__alloc(sizeof(*p) + k->n * sizeof(uintptr_t));
    if (!p) {
        lg__unlock(&io_lock);
        lg__free(r, size);
        lg__report_oom();
        return;
    }
    p->hash = k->hash;
    p->pc = k->pc;
    p->call = k->call;
    p->n = k->n;
    memcpy(p->site, k->site, k->n * sizeof(uintptr_t));
    atomic_init(&p->count, 1);
    atomic_init(&p->written, 1);
    r->f.pair = atomic_load_explicit(&npairs, memory_order_relaxed) + 1;
    atomic_store_explicit(&npairs, r->f.pair, memory_order_relaxed);
    r->f.count = 1;
    p->rec = r;
    _Atomic(struct pair *) *b = &buckets[k->hash & (NBUCKETS - 1)];
    p->next = atomic_load_explicit(b, memory_order_relaxed);
    atomic_store_explicit(b, p, memory_order_release);
    lg__unlock(&io_lock);

    lg__report_held_across(&r->f, false);
    act(r->f.wait);
}

void lg__io_check(struct lg_thread *t, const struct lg_io_call_info *c)
{
    bool wait = lg__io_is_wait(c->call);
    const struct lg_io_allow *al = wait ? &wait_allow : &allow;
    if ((wait ? lg__opt.on_wait : lg__opt.on_io) == LG_ACTION_OFF || call_allowed(al, c->call))
        return;
    if ((c->how & LG_IO_FD_NB) && (c->fd < 0 || !fd_blocks(c->fd)))
        return; /* non-blocking, or no fd at all: EBADF at once */
    struct key k;
    if (!make_key(al, t, c, &k))
        return;
    struct pair *p = find(&k);
    if (__builtin_expect(p != NULL, 1)) {
        atomic_fetch_add_explicit(&p->count, 1, memory_order_relaxed);
        return;
    }
    if (atomic_load_explicit(&sites_unresolved, memory_order_relaxed)) {
        /* A library named by a site: item may have been loaded since. */
        resolve_sites();
        if (!make_key(al, t, c, &k))
            return;
        if ((p = find(&k)) != NULL) {
            atomic_fetch_add_explicit(&p->count, 1, memory_order_relaxed);
            return;
        }
    }
    new_pair(al, t, c, &k);
}

void lg__io_exit(void)
{
    /* Nothing was ever recorded: leave the buckets' pages unmade. */
    if (!atomic_load_explicit(&npairs, memory_order_acquire))
        return;
    for (int i = 0; i < NBUCKETS; i++) {
        for (struct pair *p = atomic_load(&buckets[i]); p; p = p->next) {
            uint64_t c = atomic_load(&p->count);
            uint64_t old = atomic_exchange(&p->written, c);
            if (c <= old)
                continue;
            struct lg_across_finding f = p->rec->f;
            f.count = c;
            lg__report_held_across(&f, true);
        }
    }
}

void lg__io_lock_all(void)
{
    lg__lock(&io_lock);
}

void lg__io_unlock_all(void)
{
    lg__unlock(&io_lock);
}

void lg__io_reset_child(void)
{
    lg__lock_reset(&io_lock);
    /* The parent's pairs are in the parent's report; the child starts its
     * own (its first call of each pair is a finding in its own file). */
    if (atomic_load_explicit(&npairs, memory_order_relaxed)) {
        for (int i = 0; i < NBUCKETS; i++)
            atomic_store_explicit(&buckets[i], NULL, memory_order_relaxed);
        atomic_store_explicit(&npairs, 0, memory_order_relaxed);
    }
}
