/*
 * report.c - format findings as JSON Lines and get them onto disk now.
 *
 * What it does not do: decide what is a finding (runtime.c) or symbolize
 * (the lockgraph tool does, offline, from the raw addresses and the module
 * map written with each finding).
 *
 * Everything here runs on the thread that found the problem, with
 * lg__busy set and no lockgraph lock held except report_lock around the
 * write itself. Module lookup (dl_iterate_phdr takes the loader's lock)
 * happens before report_lock is taken.
 */

#include "report.h"
#include "alloc.h"
#include "class.h"
#include "keys.h"
#include "options.h"
#include "ranks.h"
#include "registry.h"
#include "runstatus.h"
#include "stack.h"
#include "symbols.h"
#include "sync.h"
#include "util.h"

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <link.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define report_lock (lg__locks.report)
static int report_fd = -1; /* the findings file, once made */
static dev_t report_dev;
static ino_t report_ino;
static int dir_fd = -1; /* its directory (O_PATH), open from start */
static dev_t dir_dev;
static ino_t dir_ino;
static int spare_fd = -1;                       /* given up to make the file when the fds run out */
static char report_pattern[LG_REPORT_PATH_MAX]; /* absolute, %p kept */
static char report_path[LG_REPORT_PATH_MAX];    /* absolute, this process's */
static char dir_path[LG_REPORT_PATH_MAX];
static const char *report_name; /* its last component, in report_path */
static bool use_stderr;
static bool made_early; /* made before it was needed: removed at exit if still empty */
static pid_t file_pid;  /* the process report_path is for */
static atomic_uint_fast64_t seq;
static atomic_uint_fast64_t nfindings;
static atomic_bool oom_reported;

enum {
    K_CYCLE,
    K_SELF,
    K_UNLOCK,
    K_EXIT,
    K_RANK,
    K_RANK_CYCLE,
    K_DEADLOCK,
    K_LONG_WAIT,
    K_LONG_HOLD,
    K_IO,
    K_WAIT,
    K_FORK,
    K_FREED,
    K_ERROR,
    K_COUNT
};
static const char *const kind_names[] = {
    "lock-order-cycle", "self-deadlock",    "unlock-not-held",  "held-at-exit",
    "rank-violation",   "rank-order-cycle", "deadlock",         "long-wait",
    "long-hold",        "held-across-io",   "held-across-wait", "fork-with-locks-held",
    "held-lock-freed",  "detector-error"};
static atomic_uint_fast64_t nkind[K_COUNT];

/* ---------------------------------------------------------------------- */
/* The file.
 *
 * Where findings go, and what is promised about it:
 *  - The path is made absolute once, at start: after the program changes
 *    directory, and in its fork children, findings still go where the user
 *    asked, and messages name that path.
 *  - The file is made at the first finding, not at start: a process that
 *    finds nothing leaves no file (under the preload every `sh`, `env` and
 *    `timeout` of a script would otherwise leave an empty one). What a late
 *    creation needs is taken at start instead:
 *      the directory, held open (O_PATH): the file can be made after chdir
 *        and after chroot;
 *      a spare fd: given up to make the file when the program has used all
 *        the fds RLIMIT_NOFILE allows;
 *      the setuid family (interpose_proc.c) makes the file just before the
 *        process changes identity, while it still may create files there;
 *        such a file is removed at exit when it is still empty (and when its
 *        name is the process's own, %p: a shared name may be open elsewhere).
 *    These fds, and the file's once made, outlive a program closing every
 *    fd (the close shims in interpose_io.c leave lockgraph's own open);
 *    one the program dup2's over is opened again by its absolute path.
 *    Creating eagerly and removing empty files at exit was the other way;
 *    it leaves an empty file behind each process killed by a signal or
 *    replaced by exec with an executable lockgraph does not reach.
 *  - Never through a symbolic link, only a regular file of the process's
 *    user (lg__open_output): anything else is refused with a message.
 *  - When no file can be had, each finding goes to lockgraph's stderr
 *    whole, and `lockgraph run` is told (runstatus.h), so it never says
 *    "no findings" after one.
 */

static void expand_path(const char *pattern, char *out, size_t outlen)
{
    char tmp[256];
    struct lg_buf b;
    lg__buf_in(&b, tmp, sizeof(tmp));
    for (const char *p = pattern; *p; p++) {
        if (p[0] == '%' && p[1] == 'p') {
            lg__buf_u64(&b, (uint64_t)getpid());
            p++;
        } else if (p[0] == '%' && p[1] == '%') {
            lg__buf_char(&b, '%');
            p++;
        } else {
            lg__buf_char(&b, *p);
        }
    }
    lg__strlcpy(out, b.p ? b.p : "", outlen);
    lg__buf_free(&b);
}

static bool same_file(int fd, dev_t dev, ino_t ino)
{
    struct stat st;
    return fd >= 0 && fstat(fd, &st) == 0 && st.st_dev == dev && st.st_ino == ino;
}

static void say_open_failure(int err, const char *why)
{
    if (why) {
        lg__write_str(2, "lockgraph: report file '");
        lg__write_str(2, report_path);
        lg__write_str(2, "' ");
        lg__write_str(2, why);
        lg__write_str(2, ": not writing there; findings go to stderr\n");
        return;
    }
    lg__write_str(2, "lockgraph: cannot open report file '");
    lg__write_str(2, report_path);
    lg__write_str(2, "': ");
    lg__write_str(2, strerrordesc_np(err) ? strerrordesc_np(err) : "error");
    lg__write_str(2, "; findings go to stderr\n");
}

/* report_path, dir_path and report_name for this process. 0, or -1 after
 * saying why. */
static int set_path(void)
{
    expand_path(report_pattern, report_path, sizeof(report_path));
    char *slash = strrchr(report_path, '/');
    if (!slash || !slash[1]) {
        lg__write_str(2, "lockgraph: report file '");
        lg__write_str(2, report_path);
        lg__write_str(2, "' names a directory, not a file; findings go to stderr\n");
        return -1;
    }
    size_t n = (size_t)(slash - report_path);
    memcpy(dir_path, report_path, n);
    dir_path[n ? n : 1] = 0; /* "/x" is in "/" */
    report_name = slash + 1;
    return 0;
}

static int open_dir(void)
{
    int fd = (int)syscall(SYS_openat, AT_FDCWD, dir_path, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    fd = lg__fd_high(fd);
    struct stat st;
    if (fstat(fd, &st) != 0) {
        syscall(SYS_close, fd);
        return -1;
    }
    dir_fd = fd;
    dir_dev = st.st_dev;
    dir_ino = st.st_ino;
    lg__fd_own(fd);
    return 0;
}

/* Open the findings file, making it when it is not there. report_lock held
 * (or still single-threaded, at start). 0, or -1 after saying why. */
static int make_file(void)
{
    if (!same_file(dir_fd, dir_dev, dir_ino)) {
        lg__fd_disown(dir_fd); /* replaced by the program: not ours to close */
        dir_fd = -1;
        if (open_dir() != 0) {
            say_open_failure(errno, NULL);
            return -1;
        }
    }
    const char *why;
    int fd = lg__open_output(dir_fd, report_name, O_APPEND, &why);
    if (fd < 0 && (errno == EMFILE || errno == ENFILE) && same_file(spare_fd, dir_dev, dir_ino)) {
        lg__fd_disown(spare_fd);
        syscall(SYS_close, spare_fd);
        spare_fd = -1;
        fd = lg__open_output(dir_fd, report_name, O_APPEND, &why);
    }
    if (fd < 0) {
        say_open_failure(errno, why);
        return -1;
    }
    fd = lg__fd_high(fd);
    struct stat st;
    if (fstat(fd, &st) != 0) {
        say_open_failure(errno, NULL);
        syscall(SYS_close, fd);
        return -1;
    }
    report_fd = fd;
    report_dev = st.st_dev;
    report_ino = st.st_ino;
    lg__fd_own(fd);
    return 0;
}

void lg__report_open(void)
{
    file_pid = getpid();
    if (lg__path_absolute(lg__opt.report, report_pattern, sizeof(report_pattern)) != 0) {
        report_pattern[0] = 0;
        lg__strlcpy(report_path, lg__opt.report, sizeof(report_path));
        say_open_failure(ENAMETOOLONG, NULL);
        use_stderr = true;
        return;
    }
    if (set_path() != 0 || open_dir() != 0) {
        if (report_name)
            say_open_failure(errno, NULL);
        use_stderr = true;
        return;
    }
    spare_fd = (int)syscall(SYS_fcntl, dir_fd, F_DUPFD_CLOEXEC, LG_FD_HIGH);
    lg__fd_own(spare_fd);
    /* A file already there is checked (and opened) now, so a planted link
     * is refused before main; it is this process's when an earlier
     * executable of it made it early, and removed at exit if still empty.
     * A file not there is made at the first finding; whether it can be is
     * checked now, to say so before main. */
    struct stat st;
    if (fstatat(dir_fd, report_name, &st, AT_SYMLINK_NOFOLLOW) == 0) {
        if (make_file() != 0)
            use_stderr = true;
        else
            made_early = st.st_size == 0 && strstr(report_pattern, "%p");
    } else if (faccessat(dir_fd, ".", W_OK | X_OK, AT_EACCESS) != 0) {
        say_open_failure(errno, NULL);
        use_stderr = true;
    }
}

/* Write one whole line; report_lock held. Where it went: */
enum { TO_FILE, TO_STDERR, TO_NOWHERE };
static int write_line(const char *line, size_t len)
{
    if (!use_stderr && !same_file(report_fd, report_dev, report_ino)) {
        /* Not made yet, or replaced by the program: never close it, the
         * number is the program's now. */
        lg__fd_disown(report_fd);
        report_fd = -1;
        if (make_file() != 0)
            use_stderr = true;
    }
    if (!use_stderr && lg__write_all(report_fd, line, len) == 0)
        return TO_FILE;
    if (lg__write_all(2, "lockgraph: finding: ", 20) == 0 && lg__write_all(2, line, len) == 0)
        return TO_STDERR;
    return TO_NOWHERE;
}

static bool try_lock(lg__lock_t *l)
{
    int c = 0;
    return atomic_compare_exchange_strong_explicit(&l->state, &c, 1, memory_order_acquire,
                                                   memory_order_relaxed);
}

void lg__report_identity_changing(void)
{
    int cancel; /* openat is a cancellation point; report_lock must not stay held */
    pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &cancel);
    lg__lock(&report_lock);
    if (!use_stderr && getpid() == file_pid && !same_file(report_fd, report_dev, report_ino)) {
        lg__fd_disown(report_fd);
        report_fd = -1;
        if (make_file() == 0)
            made_early = strstr(report_pattern, "%p") != NULL;
        else
            use_stderr = true;
    }
    lg__unlock(&report_lock);
    pthread_setcancelstate(cancel, NULL);
}

void lg__report_leaving(void)
{
    /* From _exit too, perhaps in a signal handler that interrupted this
     * thread inside report_lock: only try it. */
    if (!made_early || getpid() != file_pid || !try_lock(&report_lock))
        return;
    struct stat st, named;
    if (made_early && same_file(report_fd, report_dev, report_ino) && fstat(report_fd, &st) == 0 &&
        st.st_size == 0 && same_file(dir_fd, dir_dev, dir_ino) &&
        fstatat(dir_fd, report_name, &named, AT_SYMLINK_NOFOLLOW) == 0 &&
        named.st_dev == st.st_dev && named.st_ino == st.st_ino &&
        unlinkat(dir_fd, report_name, 0) == 0) {
        /* A finding made after this (another thread, while exit runs the
         * destructors) makes the file again. */
        lg__fd_disown(report_fd);
        syscall(SYS_close, report_fd);
        report_fd = -1;
        made_early = false;
    }
    lg__unlock(&report_lock);
}

/* ---------------------------------------------------------------------- */
/* Addresses seen in a finding, for its module map.                        */

struct pcs {
    uintptr_t *p;
    size_t n, cap;
};

static void pcs_add(struct pcs *s, uintptr_t pc)
{
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 512;
        uintptr_t *p = lg__map(cap * sizeof(*p));
        if (!p)
            return;
        if (s->p) {
            memcpy(p, s->p, s->n * sizeof(*p));
            lg__unmap(s->p, s->cap * sizeof(*p));
        }
        s->p = p;
        s->cap = cap;
    }
    s->p[s->n++] = pc;
}

struct modctx {
    struct pcs *pcs;
    struct lg_buf *b;
    int count;
    /* ranges of the modules loaded now, to find frames none of them covers */
    uintptr_t lo[64], hi[64];
    int nranges;
};

/* Modules unloaded by dlclose, newest first: their map entries as written. */
struct lg_gone_module {
    struct lg_gone_module *next;
    uintptr_t lo, hi;
    size_t len;
    char json[];
};
static _Atomic(struct lg_gone_module *) gone_modules;

static void put_build_id(struct lg_buf *b, struct dl_phdr_info *info)
{
    static const char digits[] = "0123456789abcdef";
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type != PT_NOTE)
            continue;
        const char *p = (const char *)(info->dlpi_addr + ph->p_vaddr);
        const char *end = p + ph->p_memsz;
        while (p + sizeof(ElfW(Nhdr)) <= end) {
            const ElfW(Nhdr) *nh = (const ElfW(Nhdr) *)p;
            const char *name = p + sizeof(*nh);
            const char *desc = name + ((nh->n_namesz + 3) & ~3u);
            const char *next = desc + ((nh->n_descsz + 3) & ~3u);
            if (next > end)
                break;
            if (nh->n_type == NT_GNU_BUILD_ID && nh->n_namesz == 4 && memcmp(name, "GNU", 4) == 0) {
                lg__buf_str(b, ",\"build_id\":\"");
                for (uint32_t k = 0; k < nh->n_descsz; k++) {
                    unsigned char c = (unsigned char)desc[k];
                    lg__buf_char(b, digits[c >> 4]);
                    lg__buf_char(b, digits[c & 15]);
                }
                lg__buf_char(b, '"');
                return;
            }
            p = next;
        }
    }
}

static void put_module(struct lg_buf *b, struct dl_phdr_info *info, uintptr_t hi)
{
    const char *path = info->dlpi_name && info->dlpi_name[0] ? info->dlpi_name : lg__exe_path();
    lg__buf_str(b, "{\"path\":");
    lg__buf_json_str(b, path);
    lg__buf_str(b, ",\"base\":\"");
    lg__buf_hex(b, info->dlpi_addr);
    lg__buf_str(b, "\",\"end\":\"");
    lg__buf_hex(b, hi);
    lg__buf_char(b, '"');
    put_build_id(b, info);
    lg__buf_char(b, '}');
}

struct lg_gone_module *lg__report_module_leaving(struct dl_phdr_info *info)
{
    struct lg_buf b = {0};
    struct lg_gone_module *g = NULL;
    uintptr_t lo, hi;
    lg__module_range(info, &lo, &hi);
    put_module(&b, info, hi);
    if (!b.failed && b.p && (g = lg__alloc(sizeof(*g) + b.len + 1)) != NULL) {
        g->lo = lo;
        g->hi = hi;
        g->len = b.len;
        memcpy(g->json, b.p, b.len + 1);
    }
    lg__buf_free(&b);
    return g;
}

void lg__report_module_gone(struct lg_gone_module *g)
{
    if (!g)
        return;
    struct lg_gone_module *old = atomic_load(&gone_modules);
    do
        g->next = old;
    while (!atomic_compare_exchange_weak(&gone_modules, &old, g));
}

void lg__report_module_stays(struct lg_gone_module *g)
{
    if (g)
        lg__free(g, sizeof(*g) + g->len + 1);
}

static int one_module(struct dl_phdr_info *info, size_t size, void *arg)
{
    (void)size;
    struct modctx *m = arg;
    uintptr_t lo, hi;
    lg__module_range(info, &lo, &hi);
    if (m->nranges < 64) {
        m->lo[m->nranges] = lo;
        m->hi[m->nranges++] = hi;
    }
    bool used = false;
    for (size_t i = 0; i < m->pcs->n && !used; i++)
        used = m->pcs->p[i] >= lo && m->pcs->p[i] < hi;
    if (!used)
        return 0;
    if (m->count)
        lg__buf_char(m->b, ',');
    put_module(m->b, info, hi);
    m->count++;
    return 0;
}

/* Frames no loaded module covers were in a library unloaded since: name
 * the newest unloaded module that covered each. */
static void put_gone_modules(struct modctx *m)
{
    struct lg_gone_module *gone = atomic_load(&gone_modules);
    if (!gone)
        return;
    for (struct lg_gone_module *g = gone; g; g = g->next) {
        bool used = false;
        for (size_t i = 0; i < m->pcs->n && !used; i++) {
            uintptr_t pc = m->pcs->p[i];
            if (pc < g->lo || pc >= g->hi)
                continue;
            bool loaded = false;
            for (int r = 0; r < m->nranges && !loaded; r++)
                loaded = pc >= m->lo[r] && pc < m->hi[r];
            bool newer = false; /* a newer unloaded module claims it */
            for (struct lg_gone_module *n = gone; n != g && !newer; n = n->next)
                newer = pc >= n->lo && pc < n->hi;
            used = !loaded && !newer;
        }
        if (!used)
            continue;
        if (m->count)
            lg__buf_char(m->b, ',');
        lg__buf_put(m->b, g->json, g->len);
        m->count++;
    }
}

struct allctx {
    struct lg_buf *b;
    int count;
};

static int put_any_module(struct dl_phdr_info *info, size_t size, void *arg)
{
    (void)size;
    struct allctx *a = arg;
    uintptr_t lo, hi;
    lg__module_range(info, &lo, &hi);
    if (lo >= hi)
        return 0;
    if (a->count++)
        lg__buf_char(a->b, ',');
    put_module(a->b, info, hi);
    return 0;
}

void lg__report_put_modules(struct lg_buf *b)
{
    struct allctx a = {.b = b};
    lg__buf_char(b, '[');
    lg__iterate_modules(put_any_module, &a);
    for (struct lg_gone_module *g = atomic_load(&gone_modules); g; g = g->next) {
        if (a.count++)
            lg__buf_char(b, ',');
        lg__buf_put(b, g->json, g->len);
    }
    lg__buf_char(b, ']');
}

void lg__report_expand_path(const char *pattern, char *out, size_t outlen)
{
    expand_path(pattern, out, outlen);
}

const char *lg__report_exe_path(void)
{
    return lg__exe_path();
}

/* ---------------------------------------------------------------------- */
/* Pieces of a finding.                                                    */

static void put_stack(struct lg_buf *b, const struct lg_stack *s, struct pcs *pcs)
{
    lg__buf_char(b, '[');
    for (uint32_t i = 0; s && i < s->n; i++) {
        if (i)
            lg__buf_char(b, ',');
        lg__buf_char(b, '"');
        lg__buf_hex(b, s->pc[i]);
        lg__buf_char(b, '"');
        pcs_add(pcs, s->pc[i]);
    }
    lg__buf_char(b, ']');
}

void lg__report_put_class(struct lg_buf *b, const struct lg_node *n)
{
    const struct lg_rank_class *c = atomic_load(&((struct lg_node *)n)->cls);
    if (!c)
        return;
    lg__buf_str(b, ",\"class\":");
    lg__buf_json_str(b, c->label);
    int64_t rank = atomic_load(&((struct lg_rank_class *)c)->rank);
    if (rank != LG_NO_RANK) {
        lg__buf_str(b, ",\"rank\":");
        lg__buf_i64(b, rank);
    }
}

void lg__report_put_pcs(struct lg_buf *b, const struct lg_stack *s)
{
    lg__buf_char(b, '[');
    for (uint32_t i = 0; s && i < s->n; i++) {
        if (i)
            lg__buf_char(b, ',');
        lg__buf_char(b, '"');
        lg__buf_hex(b, s->pc[i]);
        lg__buf_char(b, '"');
    }
    lg__buf_char(b, ']');
}

const char *lg__report_mode_name(int mode)
{
    switch (mode) {
    case LG_MODE_RECURSIVE:
        return "recursive";
    case LG_MODE_ERRORCHECK:
        return "errorcheck";
    case LG_MODE_ADAPTIVE:
        return "adaptive";
    case LG_MODE_PREFER_READER:
        return "prefer-reader";
    case LG_MODE_PREFER_WRITER:
        return "prefer-writer";
    default:
        return "normal";
    }
}

const char *lg__report_type_name(const struct lg_node *n)
{
    if (n && n->type == LG_TYPE_SPIN)
        return "spin";
    if (n && n->type == LG_TYPE_RWLOCK)
        return "rwlock";
    if (n && n->type == LG_TYPE_SEM)
        return "semaphore";
    return "mutex";
}

/* ,"lock_class":{"id":..,"kind":..,"key":..,"site":..} for class k. The key
 * may read symbol tables: no lockgraph lock is held here. */
static void put_lock_class(struct lg_buf *b, const struct lg_class *k, struct pcs *pcs)
{
    char key[LG_KEY_MAX];
    lg__key_of_class(k, key);
    lg__buf_str(b, ",\"lock_class\":{\"id\":");
    lg__buf_u64(b, k->id);
    lg__buf_str(b, ",\"kind\":\"");
    lg__buf_str(b, lg__class_kind_name(k->kind));
    lg__buf_str(b, "\",\"key\":");
    lg__buf_json_str(b, key);
    if (k->kind == LG_CLASS_SITE || k->kind == LG_CLASS_CHAIN) {
        /* The init call's return address (and a wrapper's callers). */
        lg__buf_str(b, ",\"site\":");
        if (k->chain) {
            put_stack(b, k->chain, pcs);
        } else {
            lg__buf_str(b, "[\"");
            lg__buf_hex(b, k->key);
            lg__buf_str(b, "\"]");
            pcs_add(pcs, k->key);
        }
    }
    lg__buf_char(b, '}');
}

/* A lock named in a finding gets its class now if it had none yet (a lock
 * only ever taken alone: registry.h). No lockgraph lock is held here. */
static const struct lg_class *class_of(const struct lg_node *n)
{
    return lg__registry_class((struct lg_node *)n);
}

static void put_lock(struct lg_buf *b, const struct lg_node *n, uintptr_t addr, struct pcs *pcs)
{
    lg__buf_str(b, "{\"id\":");
    lg__buf_u64(b, n ? n->id : 0);
    lg__buf_str(b, ",\"addr\":\"");
    lg__buf_hex(b, n ? n->addr : addr);
    lg__buf_str(b, "\",\"type\":\"");
    lg__buf_str(b, lg__report_type_name(n));
    lg__buf_char(b, '"');
    if (!n) {
        lg__buf_char(b, '}');
        return;
    }
    lg__buf_str(b, ",\"mode\":\"");
    lg__buf_str(b, lg__report_mode_name(n->mode));
    lg__buf_char(b, '"');
    const char *name = atomic_load_explicit(&((struct lg_node *)n)->name, memory_order_acquire);
    if (name) {
        lg__buf_str(b, ",\"name\":");
        lg__buf_json_str(b, name);
    }
    lg__buf_str(b, n->created ? ",\"created\":true" : ",\"created\":false");
    if (atomic_load(&((struct lg_node *)n)->cls)) {
        char key[LG_KEY_MAX];
        lg__key_of(n, key);
        lg__buf_str(b, ",\"key\":");
        lg__buf_json_str(b, key);
        lg__report_put_class(b, n);
    }
    const struct lg_class *k = class_of(n);
    const struct lg_stack *where = lg__registry_where(n);
    if (where) {
        lg__buf_str(b, ",\"stack\":");
        put_stack(b, where, pcs);
    }
    if (k)
        put_lock_class(b, k, pcs);
    lg__buf_char(b, '}');
}

void lg__report_put_thread(struct lg_buf *b, int32_t tid, uint32_t tseq, const char *name)
{
    lg__buf_str(b, "{\"tid\":");
    lg__buf_i64(b, tid);
    lg__buf_str(b, ",\"seq\":");
    lg__buf_u64(b, tseq);
    lg__buf_str(b, ",\"name\":");
    lg__buf_json_str(b, name);
    lg__buf_char(b, '}');
}

static void put_self(struct lg_buf *b, const struct lg_thread *t)
{
    char name[16];
    lg__thread_name(name);
    lg__report_put_thread(b, t->tid, t->seq, name);
}

static void begin(struct lg_buf *b, int kind)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    lg__buf_str(b, "{\"kind\":\"");
    lg__buf_str(b, kind_names[kind]);
    lg__buf_str(b, "\",\"version\":1,\"seq\":");
    lg__buf_u64(b, atomic_fetch_add(&seq, 1) + 1);
    lg__buf_str(b, ",\"pid\":");
    lg__buf_i64(b, getpid());
    lg__buf_str(b, ",\"time_ns\":");
    lg__buf_u64(b, (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec);
}

static void finish_counted(struct lg_buf *b, struct pcs *pcs, int kind, struct lg_buf *human,
                           bool count);

/* Close the object with its module map, write it, say it on stderr. */
static void finish(struct lg_buf *b, struct pcs *pcs, int kind, struct lg_buf *human)
{
    finish_counted(b, pcs, kind, human, kind != K_ERROR);
}

/* The same; count: a new finding (not a closing count of an earlier one). */
static void finish_counted(struct lg_buf *b, struct pcs *pcs, int kind, struct lg_buf *human,
                           bool count)
{
    struct modctx m = {.pcs = pcs, .b = b};
    lg__buf_str(b, ",\"modules\":[");
    lg__iterate_modules(one_module, &m);
    put_gone_modules(&m);
    lg__buf_str(b, "]}\n");
    if (b->failed) {
        /* Could not even format it: say so rather than write half a line. */
        lg__write_str(2, "lockgraph: out of memory formatting a finding\n");
    } else {
        /* write(2), and reopening the file, are cancellation points: a
         * pending cancel must not unwind the thread holding report_lock. */
        int cancel;
        pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &cancel);
        lg__lock(&report_lock);
        int where = write_line(b->p, b->len);
        lg__unlock(&report_lock);
        pthread_setcancelstate(cancel, NULL);
        if (count && where != TO_FILE)
            lg__run_status_unfiled(where == TO_STDERR);
    }
    if (count) {
        atomic_fetch_add(&nfindings, 1);
        atomic_fetch_add(&nkind[kind], 1);
    } else if (kind == K_ERROR) {
        atomic_fetch_add(&nkind[kind], 1);
    }
    if (!lg__opt.quiet && human && human->p) {
        lg__buf_str(human, use_stderr ? "\n" : " [");
        if (!use_stderr) {
            lg__buf_str(human, report_path);
            lg__buf_str(human, "]\n");
        }
        (void)lg__write_all(2, human->p, human->len);
    }
    lg__buf_free(b);
    lg__buf_free(human);
    lg__unmap(pcs->p, pcs->cap * sizeof(uintptr_t));
}

static void human_lock(struct lg_buf *h, const struct lg_node *n)
{
    const char *name = n ? atomic_load(&((struct lg_node *)n)->name) : NULL;
    if (name) {
        lg__buf_json_str(h, name);
        lg__buf_char(h, ' ');
    }
    lg__buf_char(h, '(');
    lg__buf_str(h, lg__report_type_name(n));
    lg__buf_char(h, ' ');
    lg__buf_hex(h, n ? n->addr : 0);
    lg__buf_char(h, ')');
}

/* ---------------------------------------------------------------------- */
/* What a wait is on (held-across-wait, deadlock, the live dump).          */

static const char *const on_names[] = {"lock", "join", "cond", "barrier", "semaphore", "process"};

static void put_wait_on(struct lg_buf *b, const struct lg_wait_on *on, struct pcs *pcs)
{
    lg__buf_str(b, "{\"what\":\"");
    lg__buf_str(b, on->what < sizeof(on_names) / sizeof(on_names[0]) ? on_names[on->what] : "?");
    lg__buf_char(b, '"');
    switch (on->what) {
    case LG_ON_LOCK:
        lg__buf_str(b, ",\"lock\":");
        put_lock(b, on->node, on->addr, pcs);
        break;
    case LG_ON_JOIN:
        lg__buf_str(b, ",\"pthread\":\"");
        lg__buf_hex(b, on->addr);
        lg__buf_char(b, '"');
        if (on->tid) {
            lg__buf_str(b, ",\"thread\":");
            lg__report_put_thread(b, on->tid, on->tseq, on->tname);
        }
        break;
    case LG_ON_COND:
        lg__buf_str(b, ",\"cond\":\"");
        lg__buf_hex(b, on->addr);
        lg__buf_str(b, "\",\"mutex\":");
        put_lock(b, on->node, on->mutex, pcs);
        break;
    case LG_ON_BARRIER:
        lg__buf_str(b, ",\"barrier\":\"");
        lg__buf_hex(b, on->addr);
        lg__buf_char(b, '"');
        break;
    case LG_ON_SEM:
        lg__buf_str(b, ",\"semaphore\":\"");
        lg__buf_hex(b, on->addr);
        lg__buf_char(b, '"');
        if (on->name[0]) {
            lg__buf_str(b, ",\"name\":");
            lg__buf_json_str(b, on->name);
        }
        break;
    case LG_ON_PROCESS:
        if (on->has_pid) {
            lg__buf_str(b, ",\"pid\":");
            lg__buf_i64(b, on->pid);
        }
        break;
    }
    lg__buf_char(b, '}');
}

void lg__report_put_lock(struct lg_buf *b, const struct lg_node *n, uintptr_t addr)
{
    struct pcs pcs = {0}; /* the caller writes the whole module map */
    put_lock(b, n, addr, &pcs);
    lg__unmap(pcs.p, pcs.cap * sizeof(uintptr_t));
}

void lg__report_put_wait_on(struct lg_buf *b, const struct lg_wait_on *on)
{
    struct pcs pcs = {0}; /* the caller writes the whole module map */
    put_wait_on(b, on, &pcs);
    lg__unmap(pcs.p, pcs.cap * sizeof(uintptr_t));
}

/* " (joins thread 3)", " on cond 0x... (mutex 0x...)", ... */
static void human_wait_on(struct lg_buf *h, const struct lg_wait_on *on)
{
    switch (on->what) {
    case LG_ON_LOCK:
        lg__buf_str(h, " for ");
        human_lock(h, on->node);
        break;
    case LG_ON_JOIN:
        if (on->tid) {
            lg__buf_str(h, " (joins thread ");
            lg__buf_u64(h, on->tseq);
            lg__buf_str(h, ", tid ");
            lg__buf_i64(h, on->tid);
            lg__buf_char(h, ')');
        }
        break;
    case LG_ON_COND:
        lg__buf_str(h, " on cond ");
        lg__buf_hex(h, on->addr);
        break;
    case LG_ON_BARRIER:
        lg__buf_str(h, " on barrier ");
        lg__buf_hex(h, on->addr);
        break;
    case LG_ON_SEM:
        lg__buf_str(h, " on semaphore ");
        if (on->name[0])
            lg__buf_str(h, on->name);
        else
            lg__buf_hex(h, on->addr);
        break;
    case LG_ON_PROCESS:
        if (on->has_pid) {
            lg__buf_str(h, " for pid ");
            lg__buf_i64(h, on->pid);
        }
        break;
    }
}

/* ---------------------------------------------------------------------- */
/* Findings.                                                               */

/* The lock behind vertex v of a cycle, as the edge leaving it first saw it:
 * the instance when it still lives (or, for an instance vertex, is v's). */
static const struct lg_node *cycle_lock(const struct lg_vertex *v, const struct lg_edge *e)
{
    const struct lg_node *n = v->kind == LG_VERTEX_INSTANCE ? v->owner
                                                            : lg__registry_lookup(e->info.from_addr);
    return n && n->id == e->info.from_id && !atomic_load(&((struct lg_node *)n)->dead) ? n : NULL;
}

/* Closed by the locks themselves: each edge starts at the lock the one
 * before it ended at (always, for locks of one class nested together). */
static bool instance_closed(const struct lg_cycle *c)
{
    if (c->vertex[0]->kind == LG_VERTEX_INSTANCE)
        return true;
    for (uint32_t i = 0; i < c->n; i++)
        if (c->edge[i].info.to_id != c->edge[(i + 1) % c->n].info.from_id)
            return false;
    return true;
}

/* A lock of a cycle whose instance is gone: what its class and the edge
 * still say. */
static void put_cycle_class_lock(struct lg_buf *b, const struct lg_vertex *v,
                                 const struct lg_edge *e, struct pcs *pcs)
{
    const struct lg_class *k = v->kind == LG_VERTEX_CLASS ? v->owner : NULL;
    lg__buf_str(b, "{\"id\":");
    lg__buf_u64(b, v->id);
    lg__buf_str(b, ",\"addr\":\"");
    lg__buf_hex(b, e->info.from_addr);
    lg__buf_str(b, "\",\"type\":\"");
    lg__buf_str(b, !k ? "mutex" : k->type == LG_TYPE_SPIN ? "spin"
                                : k->type == LG_TYPE_RWLOCK ? "rwlock"
                                                              : "mutex");
    lg__buf_str(b, "\",\"mode\":\"");
    lg__buf_str(b, lg__report_mode_name(k ? k->mode : 0));
    lg__buf_char(b, '"');
    if (k && k->name) {
        lg__buf_str(b, ",\"name\":");
        lg__buf_json_str(b, k->name);
    }
    lg__buf_str(b, k && k->created ? ",\"created\":true" : ",\"created\":false");
    const struct lg_stack *where = k ? atomic_load(&((struct lg_class *)k)->stack) : NULL;
    if (where) {
        lg__buf_str(b, ",\"stack\":");
        put_stack(b, where, pcs);
    }
    if (k)
        put_lock_class(b, k, pcs);
    lg__buf_char(b, '}');
}

static void put_instance_ref(struct lg_buf *b, uint64_t id, uintptr_t addr)
{
    lg__buf_str(b, "{\"id\":");
    lg__buf_u64(b, id);
    lg__buf_str(b, ",\"addr\":\"");
    lg__buf_hex(b, addr);
    lg__buf_str(b, "\"}");
}

static void human_cycle_lock(struct lg_buf *h, const struct lg_vertex *v, const struct lg_edge *e,
                             bool by_class)
{
    const struct lg_node *n = cycle_lock(v, e);
    if (!by_class || v->kind != LG_VERTEX_CLASS) {
        if (n) {
            human_lock(h, n);
        } else {
            lg__buf_str(h, "(lock ");
            lg__buf_hex(h, e->info.from_addr);
            lg__buf_char(h, ')');
        }
        return;
    }
    char key[LG_KEY_MAX];
    lg__key_of_class(v->owner, key);
    lg__buf_str(h, key);
}

void lg__report_cycle(const struct lg_cycle *c)
{
    struct lg_buf b = {0}, h = {0};
    struct pcs pcs = {0};
    bool by_instance = instance_closed(c);
    begin(&b, K_CYCLE);
    lg__buf_str(&b, ",\"scope\":");
    lg__buf_str(&b, by_instance ? "\"instance\"" : "\"class\"");
    lg__buf_str(&b, ",\"timed\":");
    lg__buf_str(&b, c->timed ? "true" : "false");
    lg__buf_str(&b, ",\"single_thread\":");
    lg__buf_str(&b, c->single_thread ? "true" : "false");
    lg__buf_str(&b, ",\"locks\":[");
    for (uint32_t i = 0; i < c->n; i++) {
        if (i)
            lg__buf_char(&b, ',');
        const struct lg_node *n = cycle_lock(c->vertex[i], &c->edge[i]);
        if (!n) {
            put_cycle_class_lock(&b, c->vertex[i], &c->edge[i], &pcs);
            continue;
        }
        /* The instance, under the id the edges use. */
        struct lg_buf one = {0};
        put_lock(&one, n, 0, &pcs);
        const char *rest = one.p ? strchr(one.p, ',') : NULL;
        lg__buf_str(&b, "{\"id\":");
        lg__buf_u64(&b, c->vertex[i]->id);
        lg__buf_str(&b, ",\"lock_id\":");
        lg__buf_u64(&b, n->id);
        if (rest)
            lg__buf_str(&b, rest);
        else
            lg__buf_char(&b, '}');
        lg__buf_free(&one);
    }
    lg__buf_str(&b, "],\"edges\":[");
    for (uint32_t i = 0; i < c->n; i++) {
        const struct lg_edge *e = &c->edge[i];
        if (i)
            lg__buf_char(&b, ',');
        lg__buf_str(&b, "{\"from\":");
        lg__buf_u64(&b, e->from->id);
        lg__buf_str(&b, ",\"to\":");
        lg__buf_u64(&b, e->to->id);
        lg__buf_str(&b, ",\"from_lock\":");
        put_instance_ref(&b, e->info.from_id, e->info.from_addr);
        lg__buf_str(&b, ",\"to_lock\":");
        put_instance_ref(&b, e->info.to_id, e->info.to_addr);
        lg__buf_str(&b, ",\"thread\":");
        lg__report_put_thread(&b, e->info.tid, e->info.thread_seq, e->info.thread_name);
        lg__buf_str(&b, ",\"timed\":");
        lg__buf_str(&b, e->info.timed ? "true" : "false");
        lg__buf_str(&b, ",\"held\":");
        lg__buf_str(&b, c->combo[i] & 2 ? "\"exclusive\"" : "\"shared\"");
        lg__buf_str(&b, ",\"waited\":");
        lg__buf_str(&b, c->combo[i] & 1 ? "\"exclusive\"" : "\"shared\"");
        lg__buf_str(&b, ",\"first_stack\":");
        put_stack(&b, e->info.first, &pcs);
        lg__buf_str(&b, ",\"first_stack_exact\":");
        lg__buf_str(&b, e->info.first_exact ? "true" : "false");
        lg__buf_str(&b, ",\"second_stack\":");
        put_stack(&b, e->info.second, &pcs);
        lg__buf_char(&b, '}');
    }
    lg__buf_char(&b, ']');

    if (!lg__opt.quiet) {
        lg__buf_str(&h, "lockgraph: lock-order-cycle: potential deadlock among ");
        lg__buf_u64(&h, c->n);
        lg__buf_str(&h, by_instance ? " locks" : " lock classes (on different locks of each)");
        lg__buf_str(&h, c->timed ? " (a timed lock: it would stall): " : ": ");
        uint32_t shown = c->n < 8 ? c->n : 8;
        for (uint32_t i = 0; i < shown; i++) {
            human_cycle_lock(&h, c->vertex[i], &c->edge[i], !by_instance);
            lg__buf_str(&h, " -> ");
        }
        if (shown < c->n)
            lg__buf_str(&h, "... -> ");
        human_cycle_lock(&h, c->vertex[0], &c->edge[0], !by_instance);
        lg__buf_str(&h, c->single_thread ? "; all edges by one thread" : "");
    }
    finish(&b, &pcs, K_CYCLE, &h);
}

void lg__report_held_lock_freed(const struct lg_thread *t, const char *call,
                                const struct lg_node *n, uintptr_t addr,
                                const struct lg_thread *holder, const char *holder_name,
                                const struct lg_held *hold, const struct lg_stack *here)
{
    struct lg_buf b = {0}, h = {0};
    struct pcs pcs = {0};
    begin(&b, K_FREED);
    lg__buf_str(&b, ",\"call\":");
    lg__buf_json_str(&b, call);
    lg__buf_str(&b, ",\"lock\":");
    put_lock(&b, n, addr, &pcs);
    lg__buf_str(&b, ",\"thread\":");
    put_self(&b, t);
    lg__buf_str(&b, ",\"stack\":");
    put_stack(&b, here, &pcs);
    lg__buf_str(&b, ",\"holder\":");
    lg__report_put_thread(&b, holder->tid, holder->seq, holder_name);
    lg__buf_str(&b, ",\"holder_stack\":");
    if (hold->stack) {
        put_stack(&b, hold->stack, &pcs);
    } else {
        lg__buf_str(&b, "[\"");
        lg__buf_hex(&b, hold->pc);
        lg__buf_str(&b, "\"]");
        pcs_add(&pcs, hold->pc);
    }
    lg__buf_str(&b, hold->flags & LG_ACQ_READ ? ",\"held\":\"read\"" : ",\"held\":\"exclusive\"");
    if (!lg__opt.quiet) {
        lg__buf_str(&h, "lockgraph: held-lock-freed: ");
        lg__buf_str(&h, call);
        lg__buf_str(&h, " of ");
        human_lock(&h, n);
        lg__buf_str(&h, " by thread ");
        lg__buf_u64(&h, t->seq);
        lg__buf_str(&h, " while thread ");
        lg__buf_u64(&h, holder->seq);
        lg__buf_str(&h, " (tid ");
        lg__buf_i64(&h, holder->tid);
        lg__buf_str(&h, ") holds it");
    }
    finish(&b, &pcs, K_FREED, &h);
}

void lg__report_self_deadlock(const struct lg_thread *t, const struct lg_node *n,
                              const struct lg_stack *first, bool first_exact,
                              const struct lg_stack *second, bool timed)
{
    struct lg_buf b = {0}, h = {0};
    struct pcs pcs = {0};
    begin(&b, K_SELF);
    lg__buf_str(&b, ",\"timed\":");
    lg__buf_str(&b, timed ? "true" : "false");
    lg__buf_str(&b, ",\"lock\":");
    put_lock(&b, n, 0, &pcs);
    lg__buf_str(&b, ",\"thread\":");
    put_self(&b, t);
    lg__buf_str(&b, ",\"first_stack\":");
    put_stack(&b, first, &pcs);
    lg__buf_str(&b, ",\"first_stack_exact\":");
    lg__buf_str(&b, first_exact ? "true" : "false");
    lg__buf_str(&b, ",\"second_stack\":");
    put_stack(&b, second, &pcs);
    if (!lg__opt.quiet) {
        lg__buf_str(&h, "lockgraph: self-deadlock: thread ");
        lg__buf_u64(&h, t->seq);
        lg__buf_str(&h, " (tid ");
        lg__buf_i64(&h, t->tid);
        lg__buf_str(&h, ") locks ");
        human_lock(&h, n);
        lg__buf_str(&h, timed ? " again, which it already holds (timed: it will stall)"
                              : " again, which it already holds: it will hang");
    }
    finish(&b, &pcs, K_SELF, &h);
}

static const char *why_name(int why)
{
    switch (why) {
    case LG_WHY_RANK:
        return "rank";
    case LG_WHY_ORDER:
        return "order";
    default:
        return "same-class";
    }
}

static void human_rank(struct lg_buf *h, const struct lg_node *n)
{
    human_lock(h, n);
    const struct lg_rank_class *c = atomic_load(&((struct lg_node *)n)->cls);
    if (!c)
        return;
    lg__buf_str(h, " [");
    lg__buf_str(h, c->label);
    int64_t rank = atomic_load(&((struct lg_rank_class *)c)->rank);
    if (rank != LG_NO_RANK) {
        lg__buf_str(h, " rank ");
        lg__buf_i64(h, rank);
    }
    lg__buf_char(h, ']');
}

void lg__report_rank_violation(const struct lg_thread *t, const struct lg_node *n,
                               const struct lg_stack *here, const struct lg_rank_held *held,
                               int nheld)
{
    struct lg_buf b = {0}, h = {0};
    struct pcs pcs = {0};
    begin(&b, K_RANK);
    lg__buf_str(&b, ",\"lock\":");
    put_lock(&b, n, 0, &pcs);
    lg__buf_str(&b, ",\"thread\":");
    put_self(&b, t);
    lg__buf_str(&b, ",\"stack\":");
    put_stack(&b, here, &pcs);
    lg__buf_str(&b, ",\"held\":[");
    for (int i = 0; i < nheld; i++) {
        if (i)
            lg__buf_char(&b, ',');
        lg__buf_str(&b, "{\"lock\":");
        put_lock(&b, held[i].node, held[i].addr, &pcs);
        lg__buf_str(&b, ",\"stack\":");
        put_stack(&b, held[i].stack, &pcs);
        lg__buf_str(&b, held[i].exact ? ",\"stack_exact\":true" : ",\"stack_exact\":false");
        lg__buf_str(&b, ",\"why\":\"");
        lg__buf_str(&b, why_name(held[i].why));
        lg__buf_str(&b, "\"}");
    }
    lg__buf_char(&b, ']');
    if (!lg__opt.quiet) {
        lg__buf_str(&h, "lockgraph: rank-violation: thread ");
        lg__buf_u64(&h, t->seq);
        lg__buf_str(&h, " takes ");
        human_rank(&h, n);
        lg__buf_str(&h, " while holding ");
        for (int i = 0; i < nheld; i++) {
            if (i)
                lg__buf_str(&h, ", ");
            human_rank(&h, held[i].node);
            lg__buf_str(&h, " (");
            lg__buf_str(&h, why_name(held[i].why));
            lg__buf_char(&h, ')');
        }
    }
    finish(&b, &pcs, K_RANK, &h);
}

void lg__report_rank_order_cycle(const struct lg_rank_cycle *c)
{
    struct lg_buf b = {0}, h = {0};
    struct pcs pcs = {0};
    begin(&b, K_RANK_CYCLE);
    lg__buf_str(&b, ",\"classes\":[");
    /* The cycle comes back to its start; the finding lists each once. */
    uint32_t n = c->n > 1 && c->label[0] == c->label[c->n - 1] ? c->n - 1 : c->n;
    for (uint32_t i = 0; i < n; i++) {
        if (i)
            lg__buf_char(&b, ',');
        lg__buf_json_str(&b, c->label[i]);
    }
    lg__buf_char(&b, ']');
    if (!lg__opt.quiet) {
        lg__buf_str(&h, "lockgraph: rank-order-cycle: refused a declaration making ");
        for (uint32_t i = 0; i < c->n; i++) {
            if (i)
                lg__buf_str(&h, " < ");
            lg__buf_str(&h, c->label[i]);
        }
    }
    finish(&b, &pcs, K_RANK_CYCLE, &h);
}

static void put_dl_thread(struct lg_buf *b, const struct lg_dl_thread *d, struct pcs *pcs)
{
    lg__buf_str(b, "{\"thread\":");
    lg__report_put_thread(b, d->tid, d->seq, d->name);
    lg__buf_str(b, ",\"waits_for\":");
    if (d->on.what == LG_ON_JOIN) {
        /* A join is no lock: readers that only know locks see its type. */
        lg__buf_str(b, "{\"id\":0,\"addr\":\"");
        lg__buf_hex(b, d->on.addr);
        lg__buf_str(b, "\",\"type\":\"thread\"}");
        if (d->on.tid) {
            lg__buf_str(b, ",\"joins\":");
            lg__report_put_thread(b, d->on.tid, d->on.tseq, d->on.tname);
        }
    } else {
        put_lock(b, d->waits_for, d->addr, pcs);
    }
    if (d->on.what != LG_ON_LOCK) { /* a lock is waits_for itself */
        lg__buf_str(b, ",\"waits_on\":");
        put_wait_on(b, &d->on, pcs);
    }
    lg__buf_str(b, d->exclusive ? ",\"wait\":\"exclusive\"" : ",\"wait\":\"shared\"");
    if (d->timed)
        lg__buf_str(b, ",\"timed\":true");
    lg__buf_str(b, ",\"waiting_ms\":");
    lg__buf_u64(b, d->waited_ns / 1000000u);
    lg__buf_str(b, ",\"stack\":");
    put_stack(b, d->stack, pcs);
    lg__buf_str(b, d->stack_full ? ",\"stack_full\":true" : ",\"stack_full\":false");
    lg__buf_str(b, ",\"held\":[");
    for (uint32_t i = 0; i < d->nheld; i++) {
        if (i)
            lg__buf_char(b, ',');
        lg__buf_str(b, "{\"lock\":");
        put_lock(b, d->held[i].node, d->held[i].addr, pcs);
        lg__buf_str(b, ",\"stack\":");
        put_stack(b, d->held[i].stack, pcs);
        lg__buf_char(b, '}');
    }
    lg__buf_str(b, "]}");
}

static const char *gone_why(int why)
{
    switch (why) {
    case LG_GONE_ENDED:
        return "ended";
    case LG_GONE_FORK:
        return "not-in-process";
    default:
        return "unknown";
    }
}

static void put_gone_owner(struct lg_buf *b, const struct lg_gone_owner *g, struct pcs *pcs)
{
    lg__buf_str(b, ",\"gone_owner\":{\"thread\":");
    lg__report_put_thread(b, g->tid, g->seq, g->name);
    lg__buf_str(b, ",\"gone\":\"");
    lg__buf_str(b, gone_why(g->why));
    lg__buf_char(b, '"');
    if (g->took) {
        lg__buf_str(b, ",\"stack\":");
        put_stack(b, g->took, pcs);
    }
    if (g->where) {
        lg__buf_str(b, g->why == LG_GONE_FORK ? ",\"fork_stack\":" : ",\"end_stack\":");
        put_stack(b, g->where, pcs);
    }
    lg__buf_char(b, '}');
}

void lg__report_put_gone_owner(struct lg_buf *b, const struct lg_gone_owner *g)
{
    struct pcs pcs = {0}; /* the caller writes the whole module map */
    put_gone_owner(b, g, &pcs);
    lg__unmap(pcs.p, pcs.cap * sizeof(uintptr_t));
}

void lg__report_deadlock(const struct lg_dl_thread *threads, int n, bool by_watchdog,
                         const struct lg_gone_owner *gone)
{
    struct lg_buf b = {0}, h = {0};
    struct pcs pcs = {0};
    bool timed = false;
    for (int i = 0; i < n; i++)
        timed |= threads[i].timed;
    begin(&b, K_DEADLOCK);
    lg__buf_str(&b, timed ? ",\"timed\":true" : ",\"timed\":false");
    lg__buf_str(&b, by_watchdog ? ",\"found_by\":\"watchdog\"" : ",\"found_by\":\"waiter\"");
    lg__buf_str(&b, ",\"threads\":[");
    for (int i = 0; i < n; i++) {
        if (i)
            lg__buf_char(&b, ',');
        put_dl_thread(&b, &threads[i], &pcs);
    }
    lg__buf_char(&b, ']');
    if (gone)
        put_gone_owner(&b, gone, &pcs);
    if (!lg__opt.quiet) {
        lg__buf_str(&h, "lockgraph: DEADLOCK: ");
        lg__buf_i64(&h, n);
        if (gone)
            lg__buf_str(&h, n == 1 ? " thread waits" : " threads wait");
        else
            lg__buf_str(&h, n == 1 ? " thread is" : " threads are");
        if (gone)
            lg__buf_str(&h, gone->why == LG_GONE_FORK
                                ? " for a lock its owner took in another process (fork):"
                                : " for a lock whose owner has ended:");
        else
            lg__buf_str(&h, timed ? " stalled on each other (timed):" : " blocked on each other:");
        for (int i = 0; i < n; i++) {
            lg__buf_str(&h, "\n  thread ");
            lg__buf_u64(&h, threads[i].seq);
            lg__buf_str(&h, " (tid ");
            lg__buf_i64(&h, threads[i].tid);
            if (threads[i].on.what == LG_ON_JOIN) {
                lg__buf_str(&h, ") joins thread ");
                lg__buf_u64(&h, threads[(i + 1) % n].seq);
                continue;
            }
            lg__buf_str(&h, ") waits for ");
            human_lock(&h, threads[i].waits_for);
            if (gone && i == n - 1) {
                lg__buf_str(&h, ", held by tid ");
                lg__buf_i64(&h, gone->tid);
                lg__buf_str(&h, gone->why == LG_GONE_FORK    ? ", a thread of the parent process"
                                : gone->why == LG_GONE_ENDED ? ", which has ended"
                                                             : ", which is gone");
            } else {
                lg__buf_str(&h, ", held by thread ");
                lg__buf_u64(&h, threads[(i + 1) % n].seq);
            }
        }
        lg__buf_str(&h, "\n ");
    }
    finish(&b, &pcs, K_DEADLOCK, &h);
}

void lg__report_long_wait(const struct lg_dl_thread *waiter, const struct lg_dl_thread *owner,
                          const struct lg_stack *owner_took)
{
    struct lg_buf b = {0}, h = {0};
    struct pcs pcs = {0};
    begin(&b, K_LONG_WAIT);
    lg__buf_str(&b, ",\"threshold_ms\":");
    lg__buf_u64(&b, (uint64_t)lg__opt.watchdog * 1000u);
    lg__buf_str(&b, ",\"waiter\":");
    put_dl_thread(&b, waiter, &pcs);
    if (owner) {
        lg__buf_str(&b, ",\"owner\":{\"thread\":");
        lg__report_put_thread(&b, owner->tid, owner->seq, owner->name);
        if (owner_took) {
            lg__buf_str(&b, ",\"stack\":");
            put_stack(&b, owner_took, &pcs);
        }
        lg__buf_char(&b, '}');
    }
    if (!lg__opt.quiet) {
        lg__buf_str(&h, "lockgraph: long-wait: thread ");
        lg__buf_u64(&h, waiter->seq);
        lg__buf_str(&h, " has waited ");
        lg__buf_u64(&h, waiter->waited_ns / 1000000u);
        lg__buf_str(&h, " ms for ");
        human_lock(&h, waiter->waits_for);
        if (owner) {
            lg__buf_str(&h, ", held by thread ");
            lg__buf_u64(&h, owner->seq);
        }
    }
    finish(&b, &pcs, K_LONG_WAIT, &h);
}

void lg__report_long_hold(int32_t tid, uint32_t tseq, const struct lg_node *n, uintptr_t addr,
                          const struct lg_stack *where, uint64_t held_ns, uint64_t count,
                          uint64_t worst_ns, bool final)
{
    struct lg_buf b = {0}, h = {0};
    struct pcs pcs = {0};
    char name[16] = {0};
    if (!final)
        lg__thread_name(name);
    begin(&b, K_LONG_HOLD);
    lg__buf_str(&b, ",\"threshold_ms\":");
    lg__buf_u64(&b, (uint64_t)lg__opt.hold_warn_ms);
    lg__buf_str(&b, ",\"lock\":");
    put_lock(&b, n, addr, &pcs);
    lg__buf_str(&b, ",\"thread\":");
    lg__report_put_thread(&b, tid, tseq, name);
    lg__buf_str(&b, ",\"stack\":");
    put_stack(&b, where, &pcs);
    if (!final) {
        lg__buf_str(&b, ",\"held_ms\":");
        lg__buf_u64(&b, held_ns / 1000000u);
    }
    lg__buf_str(&b, ",\"count\":");
    lg__buf_u64(&b, count);
    lg__buf_str(&b, ",\"worst_ms\":");
    lg__buf_u64(&b, worst_ns / 1000000u);
    lg__buf_str(&b, final ? ",\"final\":true" : ",\"final\":false");
    if (!lg__opt.quiet && !final) {
        lg__buf_str(&h, "lockgraph: long-hold: thread ");
        lg__buf_u64(&h, tseq);
        lg__buf_str(&h, " held ");
        human_lock(&h, n);
        lg__buf_str(&h, " for ");
        lg__buf_u64(&h, held_ns / 1000000u);
        lg__buf_str(&h, " ms");
    }
    finish_counted(&b, &pcs, K_LONG_HOLD, &h, !final);
}

void lg__report_unlock_not_held(const struct lg_thread *t, uintptr_t addr,
                                const struct lg_node *n, const struct lg_stack *stack)
{
    struct lg_buf b = {0}, h = {0};
    struct pcs pcs = {0};
    begin(&b, K_UNLOCK);
    lg__buf_str(&b, ",\"lock\":");
    put_lock(&b, n, addr, &pcs);
    lg__buf_str(&b, ",\"thread\":");
    put_self(&b, t);
    lg__buf_str(&b, ",\"stack\":");
    put_stack(&b, stack, &pcs);
    if (!lg__opt.quiet) {
        lg__buf_str(&h, "lockgraph: unlock-not-held: thread ");
        lg__buf_u64(&h, t->seq);
        lg__buf_str(&h, " unlocks ");
        if (n)
            human_lock(&h, n);
        else {
            lg__buf_str(&h, "mutex ");
            lg__buf_hex(&h, addr);
        }
        lg__buf_str(&h, ", which it does not hold");
    }
    finish(&b, &pcs, K_UNLOCK, &h);
}

void lg__report_held_at_exit(const struct lg_thread *t)
{
    struct lg_buf b = {0}, h = {0};
    struct pcs pcs = {0};
    begin(&b, K_EXIT);
    lg__buf_str(&b, ",\"thread\":");
    put_self(&b, t);
    lg__buf_str(&b, ",\"held\":[");
    for (uint32_t i = 0, k = 0; i < t->held.n; i++) {
        const struct lg_held *e = &t->held.e[i];
        if (lg__held_is_hole(e))
            continue;
        if (k++)
            lg__buf_char(&b, ',');
        lg__buf_str(&b, "{\"lock\":");
        put_lock(&b, e->node, e->addr, &pcs);
        lg__buf_str(&b, ",\"stack\":");
        if (e->stack) {
            put_stack(&b, e->stack, &pcs);
        } else {
            lg__buf_str(&b, "[\"");
            lg__buf_hex(&b, e->pc);
            lg__buf_str(&b, "\"]");
            pcs_add(&pcs, e->pc);
        }
        lg__buf_char(&b, '}');
    }
    lg__buf_char(&b, ']');
    if (!lg__opt.quiet) {
        lg__buf_str(&h, "lockgraph: held-at-exit: thread ");
        lg__buf_u64(&h, t->seq);
        lg__buf_str(&h, " (tid ");
        lg__buf_i64(&h, t->tid);
        lg__buf_str(&h, ") ended holding ");
        lg__buf_u64(&h, lg__held_count(&t->held));
        lg__buf_str(&h, lg__held_count(&t->held) == 1 ? " lock" : " locks");
    }
    finish(&b, &pcs, K_EXIT, &h);
}

void lg__report_oom(void)
{
    if (atomic_exchange(&oom_reported, true))
        return;
    struct lg_buf b = {0}, h = {0};
    struct pcs pcs = {0};
    begin(&b, K_ERROR);
    lg__buf_str(&b, ",\"error\":\"out-of-memory\",\"message\":");
    lg__buf_json_str(&b, "lockgraph could not allocate memory for itself; some locks or edges "
                         "are not tracked from here on. The program keeps running.");
    lg__buf_str(&h, "lockgraph: out of memory inside the detector: some locks are no longer "
                    "tracked; the program keeps running");
    finish(&b, &pcs, K_ERROR, &h);
}

/* ---------------------------------------------------------------------- */
/* Locks held across blocking calls: held-across-io, held-across-wait.     */

/* Written when a (held sites, call site) pair is first seen, and again with
 * "final": true and the total count at exit when it grew (io.c). The
 * repeat is an update, not a new finding: not counted. Everything the line
 * says comes in f: this writer calls nothing of the I/O check's. */
void lg__report_held_across(const struct lg_across_finding *f, bool final)
{
    struct lg_buf b = {0}, h = {0};
    struct pcs pcs = {0};
    int kind = f->wait ? K_WAIT : K_IO;
    begin(&b, kind);
    lg__buf_str(&b, ",\"pair\":");
    lg__buf_u64(&b, f->pair);
    lg__buf_str(&b, ",\"count\":");
    lg__buf_u64(&b, f->count);
    lg__buf_str(&b, final ? ",\"final\":true" : ",\"final\":false");
    lg__buf_str(&b, ",\"call\":");
    lg__buf_json_str(&b, f->call);
    lg__buf_str(&b, ",\"family\":");
    lg__buf_json_str(&b, f->family);
    if (f->fd >= 0 || f->fd_type) {
        lg__buf_str(&b, ",\"fd\":{\"num\":");
        lg__buf_i64(&b, f->fd);
        if (f->fd_type) {
            lg__buf_str(&b, ",\"type\":\"");
            lg__buf_str(&b, f->fd_type);
            lg__buf_char(&b, '"');
        }
        if (f->fd_path) {
            lg__buf_str(&b, ",\"path\":");
            lg__buf_json_str(&b, f->fd_path);
        }
        if (f->fd_peer) {
            lg__buf_str(&b, f->fd_peer_local ? ",\"local\":" : ",\"peer\":");
            lg__buf_json_str(&b, f->fd_peer);
        }
        lg__buf_char(&b, '}');
    }
    if (f->on) {
        lg__buf_str(&b, ",\"waits_on\":");
        put_wait_on(&b, f->on, &pcs);
    }
    lg__buf_str(&b, ",\"thread\":");
    lg__report_put_thread(&b, f->tid, f->tseq, f->tname);
    lg__buf_str(&b, ",\"held\":[");
    for (uint32_t i = 0; i < f->nheld; i++) {
        const struct lg_across_held *e = &f->held[i];
        if (i)
            lg__buf_char(&b, ',');
        lg__buf_str(&b, "{\"lock\":");
        put_lock(&b, e->node, e->addr, &pcs);
        lg__buf_str(&b, ",\"key\":");
        lg__buf_json_str(&b, e->key);
        lg__buf_str(&b, e->shared ? ",\"shared\":true" : ",\"shared\":false");
        lg__buf_str(&b, ",\"stack\":");
        put_stack(&b, e->stack, &pcs);
        lg__buf_str(&b, e->exact ? ",\"stack_exact\":true}" : ",\"stack_exact\":false}");
    }
    lg__buf_str(&b, "],\"stack\":");
    put_stack(&b, f->stack, &pcs);
    if (!lg__opt.quiet && !final) {
        lg__buf_str(&h, f->wait ? "lockgraph: held-across-wait: thread "
                                : "lockgraph: held-across-io: thread ");
        lg__buf_u64(&h, f->tseq);
        lg__buf_str(&h, " (tid ");
        lg__buf_i64(&h, f->tid);
        lg__buf_str(&h, ") calls ");
        lg__buf_str(&h, f->call);
        if (f->fd >= 0) {
            lg__buf_str(&h, " on fd ");
            lg__buf_i64(&h, f->fd);
            if (f->fd_path) {
                lg__buf_str(&h, " (");
                lg__buf_str(&h, f->fd_path);
                lg__buf_char(&h, ')');
            }
        }
        if (f->on)
            human_wait_on(&h, f->on);
        lg__buf_str(&h, " holding ");
        for (uint32_t i = 0; i < f->nheld && i < 4; i++) {
            if (i)
                lg__buf_str(&h, ", ");
            human_lock(&h, f->held[i].node);
        }
        if (f->nheld > 4)
            lg__buf_str(&h, ", ...");
        lg__buf_str(&h, "; later calls from the same sites are counted, not repeated");
    }
    /* A final line updates a finding already written: not a new one. */
    finish_counted(&b, &pcs, kind, &h, !final);
}

/* ---------------------------------------------------------------------- */
/* fork-with-locks-held (gone.c, in a fork child, with on_fork=report).    */

void lg__report_fork_held(const struct lg_fork_thread *threads, int n,
                          const struct lg_stack *fork_stack)
{
    struct lg_buf b = {0}, h = {0};
    struct pcs pcs = {0};
    uint32_t locks = 0;
    begin(&b, K_FORK);
    lg__buf_str(&b, ",\"parent_pid\":");
    lg__buf_i64(&b, getppid());
    lg__buf_str(&b, ",\"threads\":[");
    for (int i = 0; i < n; i++) {
        const struct lg_fork_thread *t = &threads[i];
        if (i)
            lg__buf_char(&b, ',');
        lg__buf_str(&b, "{\"thread\":");
        lg__report_put_thread(&b, t->tid, t->seq, t->name);
        lg__buf_str(&b, ",\"held\":[");
        for (uint32_t j = 0; j < t->nheld; j++) {
            if (j)
                lg__buf_char(&b, ',');
            lg__buf_str(&b, "{\"lock\":");
            put_lock(&b, t->held[j].node, t->held[j].addr, &pcs);
            lg__buf_str(&b, ",\"stack\":");
            put_stack(&b, t->held[j].took, &pcs);
            lg__buf_char(&b, '}');
        }
        lg__buf_str(&b, "]}");
        locks += t->nheld;
    }
    lg__buf_str(&b, "],\"fork_stack\":");
    put_stack(&b, fork_stack, &pcs);
    if (!lg__opt.quiet) {
        lg__buf_str(&h, "lockgraph: fork-with-locks-held: this child of a fork inherited ");
        lg__buf_u64(&h, locks);
        lg__buf_str(&h, locks == 1 ? " lock" : " locks");
        lg__buf_str(&h, " locked by ");
        lg__buf_i64(&h, n);
        lg__buf_str(&h, n == 1 ? " thread" : " threads");
        lg__buf_str(&h, " of the parent that it does not have: taking one hangs");
    }
    finish(&b, &pcs, K_FORK, &h);
}

/* ---------------------------------------------------------------------- */

uint64_t lg__report_count(void)
{
    return atomic_load(&nfindings);
}

int lg__report_sync(void)
{
    int cancel;
    pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &cancel); /* as in finish */
    lg__lock(&report_lock);
    /* The system call, not fsync(): that is the I/O shim's, which would
     * check the caller's held locks and write a finding under report_lock. */
    int rc = (!use_stderr && same_file(report_fd, report_dev, report_ino))
                 ? (int)syscall(SYS_fsync, report_fd)
                 : 0;
    lg__unlock(&report_lock);
    pthread_setcancelstate(cancel, NULL);
    return rc;
}

void lg__report_exit_summary(void)
{
    uint64_t n = atomic_load(&nfindings);
    /* Under `lockgraph run`, run closes with the same count itself. */
    if (lg__opt.quiet || n == 0 || lg__run_status_attached())
        return;
    struct lg_buf h = {0};
    lg__buf_str(&h, "lockgraph: ");
    lg__buf_u64(&h, n);
    lg__buf_str(&h, n == 1 ? " finding (" : " findings (");
    bool first = true;
    for (int k = 0; k < K_ERROR; k++) {
        uint64_t c = atomic_load(&nkind[k]);
        if (!c)
            continue;
        if (!first)
            lg__buf_str(&h, ", ");
        first = false;
        lg__buf_u64(&h, c);
        lg__buf_char(&h, ' ');
        lg__buf_str(&h, kind_names[k]);
    }
    lg__buf_str(&h, ")");
    if (!use_stderr) {
        lg__buf_str(&h, " in ");
        lg__buf_str(&h, report_path);
    }
    lg__buf_str(&h, "; `lockgraph show FILE` prints them with symbols\n");
    if (h.p)
        (void)lg__write_all(2, h.p, h.len);
    lg__buf_free(&h);
}

void lg__report_lock_all(void)
{
    lg__lock(&report_lock);
}

void lg__report_unlock_all(void)
{
    lg__unlock(&report_lock);
}

void lg__report_reset_child(void)
{
    lg__lock_reset(&report_lock);
    atomic_store(&nfindings, 0);
    for (int k = 0; k < K_COUNT; k++)
        atomic_store(&nkind[k], 0);
    atomic_store(&seq, 0);
    file_pid = getpid();
    made_early = false; /* the parent's to remove, if anyone's */
    if (report_pattern[0] && strstr(report_pattern, "%p")) {
        /* The parent's file stays the parent's; ours is made at our first
         * finding, so a fork that execs right away leaves no file. */
        if (report_fd >= 0) {
            lg__fd_disown(report_fd);
            syscall(SYS_close, report_fd);
        }
        report_fd = -1;
        char parent_dir[LG_REPORT_PATH_MAX];
        lg__strlcpy(parent_dir, dir_path, sizeof(parent_dir));
        if (set_path() != 0) {
            use_stderr = true;
            return;
        }
        if (strcmp(parent_dir, dir_path) != 0) {
            /* %p in the directory: ours is another one, opened when needed */
            lg__fd_disown(dir_fd);
            lg__fd_disown(spare_fd);
            syscall(SYS_close, dir_fd);
            syscall(SYS_close, spare_fd);
            dir_fd = spare_fd = -1;
        }
        use_stderr = false;
    }
}
