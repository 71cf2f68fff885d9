/*
 * symbols.c - module table and data-symbol lookup for stable keys.
 *
 * Reads ELF files itself (a few header checks and one symbol array) rather
 * than through libelf: this runs inside the watched program, where it may not
 * call the host's malloc or stdio. Files are opened with raw system calls so
 * that no interposed function is involved.
 */

#include "symbols.h"
#include "alloc.h"
#include "stack.h"
#include "sync.h"
#include "util.h"

#include <elf.h>
#include <fcntl.h>
#include <link.h>
#include <stdatomic.h>
#include <stddef.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

struct sym {
    uintptr_t value, size; /* ELF address and size */
    const char *name;
    const char *file; /* source file of a local symbol, or NULL */
};

struct mod {
    uintptr_t lo, hi, bias;
    char *path;
    const char *base;
    bool tried; /* symbol table looked for; under sym_lock */
    size_t nsyms;
    struct sym *syms; /* data symbols, sorted by value */
    size_t nfuncs;
    struct sym *funcs; /* function symbols, sorted by value */
};

struct modtab {
    unsigned long long adds, subs; /* loader counters when it was made */
    uint32_t n;
    struct mod *m[];
};

#define MAX_MODULES 4096

static _Atomic(struct modtab *) table;
#define sym_lock (lg__locks.symbols)

/* ---------------------------------------------------------------------- */
/* The module table.                                                       */

static int read_counts(struct dl_phdr_info *info, size_t size, void *arg)
{
    unsigned long long *c = arg;
    if (size >= offsetof(struct dl_phdr_info, dlpi_subs) + sizeof(info->dlpi_subs)) {
        c[0] = info->dlpi_adds;
        c[1] = info->dlpi_subs;
    }
    return 1;
}

struct collect {
    const struct modtab *old;
    struct mod **m;
    uint32_t n;
};

static const char *module_path(const struct dl_phdr_info *info)
{
    if (info->dlpi_name && info->dlpi_name[0])
        return info->dlpi_name;
    return lg__exe_path();
}

static int collect_one(struct dl_phdr_info *info, size_t size, void *arg)
{
    (void)size;
    struct collect *c = arg;
    if (c->n == MAX_MODULES)
        return 1;
    uintptr_t lo, hi;
    lg__module_range(info, &lo, &hi);
    if (lo >= hi)
        return 0;
    const char *path = module_path(info);
    /* The same module as in the last table: keep its record and symbols. */
    for (uint32_t i = 0; c->old && i < c->old->n; i++) {
        struct mod *o = c->old->m[i];
        if (o->lo == lo && o->bias == info->dlpi_addr && strcmp(o->path, path) == 0) {
            c->m[c->n++] = o;
            return 0;
        }
    }
    size_t len = strlen(path);
    struct mod *m = lg__alloc(sizeof(*m));
    char *copy = lg__alloc(len + 1);
    if (!m || !copy) {
        if (m)
            lg__free(m, sizeof(*m));
        if (copy)
            lg__free(copy, len + 1);
        return 0;
    }
    memcpy(copy, path, len + 1);
    m->lo = lo;
    m->hi = hi;
    m->bias = info->dlpi_addr;
    m->path = copy;
    const char *slash = strrchr(copy, '/');
    m->base = slash ? slash + 1 : copy;
    c->m[c->n++] = m;
    return 0;
}

/* A new table from the loader's list. Old tables are never freed: a reader
 * may still be looking at one. */
static struct modtab *refresh(void)
{
    struct collect c = {.old = atomic_load_explicit(&table, memory_order_acquire)};
    unsigned long long counts[2] = {0, 0};
    size_t tmpsize = MAX_MODULES * sizeof(struct mod *);
    c.m = lg__map(tmpsize);
    if (!c.m)
        return NULL;
    lg__iterate_modules(read_counts, counts);
    lg__iterate_modules(collect_one, &c);
    size_t size = sizeof(struct modtab) + c.n * sizeof(struct mod *);
    struct modtab *t = lg__alloc(size);
    if (t) {
        t->adds = counts[0];
        t->subs = counts[1];
        t->n = c.n;
        memcpy(t->m, c.m, c.n * sizeof(struct mod *));
        atomic_store_explicit(&table, t, memory_order_release);
    }
    lg__unmap(c.m, tmpsize);
    return t;
}

static struct mod *find(const struct modtab *t, uintptr_t addr)
{
    for (uint32_t i = 0; t && i < t->n; i++)
        if (addr >= t->m[i]->lo && addr < t->m[i]->hi)
            return t->m[i];
    return NULL;
}

bool lg__loader_unsafe;
#define loader_lock (lg__locks.loader)

int lg__iterate_modules(int (*cb)(struct dl_phdr_info *, size_t, void *), void *data)
{
    if (lg__loader_unsafe)
        return 0;
    lg__lock(&loader_lock);
    int r = dl_iterate_phdr(cb, data);
    lg__unlock(&loader_lock);
    return r;
}

void lg__loader_lock_all(void)
{
    lg__lock(&loader_lock);
}

void lg__loader_unlock_all(void)
{
    lg__unlock(&loader_lock);
}

void lg__loader_reset_child(void)
{
    lg__lock_reset(&loader_lock);
}

bool lg__module_of(uintptr_t addr, struct lg_modinfo *out)
{
    if (lg__loader_unsafe)
        return false;
    struct modtab *t = atomic_load_explicit(&table, memory_order_acquire);
    struct mod *m = find(t, addr);
    if (!m) {
        /* Most misses are heap addresses; rebuild only when the loader's
         * list changed since the table was made. */
        unsigned long long counts[2] = {~0ull, ~0ull};
        lg__iterate_modules(read_counts, counts);
        if (!t || counts[0] != t->adds || counts[1] != t->subs || counts[0] == ~0ull)
            m = find(refresh(), addr);
    }
    if (!m)
        return false;
    out->lo = m->lo;
    out->hi = m->hi;
    out->bias = m->bias;
    out->path = m->path;
    out->base = m->base;
    out->priv = m;
    return true;
}

/* A child looking a lock's module up (a new lock's site: is it a wrapper?)
 * then reads this table, a few pages of lockgraph's, instead of walking the
 * loader's list, which reads a page of every module's headers: pages a
 * fresh fork child has not mapped, each a page fault (stress-ng's workers
 * spent a millisecond each on it, 27 modules). Once per loader change. */
void lg__symbols_fork_prepare(void)
{
    if (!lg__loader_unsafe && !atomic_load_explicit(&table, memory_order_acquire))
        (void)refresh();
}

void lg__symbols_modules_changed(void)
{
    atomic_store_explicit(&table, NULL, memory_order_release);
}

/* ---------------------------------------------------------------------- */
/* Symbol tables.                                                          */

static bool sym_less(const struct sym *a, const struct sym *b)
{
    return a->value < b->value || (a->value == b->value && a->size > b->size);
}

static void sift(struct sym *s, size_t i, size_t n)
{
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= n)
            return;
        if (c + 1 < n && sym_less(&s[c], &s[c + 1]))
            c++;
        if (!sym_less(&s[i], &s[c]))
            return;
        struct sym t = s[i];
        s[i] = s[c];
        s[c] = t;
        i = c;
    }
}

/* Heapsort: qsort may call the host's malloc. */
static void sort_syms(struct sym *s, size_t n)
{
    for (size_t i = n / 2; i-- > 0;)
        sift(s, i, n);
    for (size_t k = n; k-- > 1;) {
        struct sym t = s[0];
        s[0] = s[k];
        s[k] = t;
        sift(s, 0, k);
    }
}

static bool is_data(const ElfW(Sym) * y)
{
    int type = ELF64_ST_TYPE(y->st_info);
    return (type == STT_OBJECT || type == STT_COMMON) && y->st_shndx != SHN_UNDEF &&
           y->st_size > 0;
}

static bool is_func(const ElfW(Sym) * y)
{
    return (ELF64_ST_TYPE(y->st_info) == STT_FUNC || ELF64_ST_TYPE(y->st_info) == STT_GNU_IFUNC) &&
           y->st_shndx != SHN_UNDEF && y->st_size > 0;
}

/* The symbols of the ELF file mapped at p (size bytes) that `want` accepts,
 * sorted; NULL when none (or out of memory). */
static struct sym *collect(const ElfW(Sym) * ys, size_t ny, const char *strs, size_t strsize,
                           bool (*want)(const ElfW(Sym) *), size_t *count)
{
    size_t n = 0;
    for (size_t i = 0; i < ny; i++)
        n += want(&ys[i]) && ys[i].st_name < strsize;
    *count = 0;
    if (n == 0)
        return NULL;
    struct sym *s = lg__alloc(n * sizeof(*s));
    if (!s)
        return NULL;
    const char *file = NULL;
    size_t k = 0;
    for (size_t i = 0; i < ny && k < n; i++) {
        const ElfW(Sym) *y = &ys[i];
        if (y->st_name >= strsize)
            continue;
        if (ELF64_ST_TYPE(y->st_info) == STT_FILE) {
            file = strs + y->st_name;
            continue;
        }
        if (!want(y))
            continue;
        s[k].value = y->st_value;
        s[k].size = y->st_size;
        s[k].name = strs + y->st_name;
        s[k].file = ELF64_ST_BIND(y->st_info) == STB_LOCAL && file && file[0] ? file : NULL;
        k++;
    }
    sort_syms(s, k);
    *count = k;
    return s;
}

/* The symbols of the ELF file mapped at p (size bytes); sets m->syms and
 * m->funcs. */
static void parse_elf(struct mod *m, const unsigned char *p, size_t size)
{
    const ElfW(Ehdr) *eh = (const ElfW(Ehdr) *)p;
    if (size < sizeof(*eh) || memcmp(eh->e_ident, ELFMAG, SELFMAG) != 0 ||
        eh->e_ident[EI_CLASS] != (sizeof(void *) == 8 ? ELFCLASS64 : ELFCLASS32) ||
        eh->e_shentsize != sizeof(ElfW(Shdr)) || eh->e_shoff == 0 ||
        eh->e_shoff > size || (size - eh->e_shoff) / sizeof(ElfW(Shdr)) < eh->e_shnum)
        return;
    const ElfW(Shdr) *sh = (const ElfW(Shdr) *)(p + eh->e_shoff);
    const ElfW(Shdr) *symsec = NULL;
    for (int want = SHT_SYMTAB; !symsec && want; want = want == SHT_SYMTAB ? SHT_DYNSYM : 0)
        for (unsigned i = 0; i < eh->e_shnum && !symsec; i++)
            if (sh[i].sh_type == (unsigned)want)
                symsec = &sh[i];
    if (!symsec || symsec->sh_link >= eh->e_shnum ||
        symsec->sh_entsize != sizeof(ElfW(Sym)) || symsec->sh_offset > size ||
        symsec->sh_size > size - symsec->sh_offset)
        return;
    const ElfW(Shdr) *strsec = &sh[symsec->sh_link];
    if (strsec->sh_offset > size || strsec->sh_size > size - strsec->sh_offset ||
        strsec->sh_size == 0)
        return;
    const char *strs = (const char *)(p + strsec->sh_offset);
    size_t strsize = strsec->sh_size;
    if (strs[strsize - 1] != 0)
        return; /* every name must end inside the table */
    const ElfW(Sym) *ys = (const ElfW(Sym) *)(p + symsec->sh_offset);
    size_t ny = symsec->sh_size / sizeof(ElfW(Sym));

    m->syms = collect(ys, ny, strs, strsize, is_data, &m->nsyms);
    m->funcs = collect(ys, ny, strs, strsize, is_func, &m->nfuncs);
}

/* Read m's symbols once; sym_lock held. The file stays mapped: the names
 * point into it. */
static void load(struct mod *m)
{
    m->tried = true;
    int fd = (int)syscall(SYS_openat, AT_FDCWD, m->path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return;
    struct stat st;
    if (syscall(SYS_fstat, fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size <= 0) {
        syscall(SYS_close, fd);
        return;
    }
    size_t size = (size_t)st.st_size;
    void *p = mmap(NULL, size, PROT_READ, MAP_PRIVATE, fd, 0);
    syscall(SYS_close, fd);
    if (p == MAP_FAILED)
        return;
    parse_elf(m, p, size);
    if (!m->syms && !m->funcs)
        munmap(p, size);
}

static bool name_unique(const struct mod *m, const struct sym *y)
{
    for (size_t i = 0; i < m->nsyms; i++)
        if (&m->syms[i] != y && strcmp(m->syms[i].name, y->name) == 0)
            return false;
    return true;
}

bool lg__symbol_of(const struct lg_modinfo *mi, uintptr_t addr, char *name, size_t namelen,
                   uintptr_t *off)
{
    struct mod *m = mi->priv;
    if (!m || addr < m->lo || addr >= m->hi)
        return false;
    lg__lock(&sym_lock);
    if (!m->tried)
        load(m);
    lg__unlock(&sym_lock);
    if (!m->syms) /* set, if ever, under the lock just released */
        return false;
    uintptr_t v = addr - m->bias;
    size_t lo = 0, hi = m->nsyms;
    while (lo < hi) { /* first symbol with value > v */
        size_t mid = lo + (hi - lo) / 2;
        if (m->syms[mid].value <= v)
            lo = mid + 1;
        else
            hi = mid;
    }
    /* Symbols may nest (a struct and an alias inside it): the nearest
     * start that still covers v, looking back a little. */
    for (size_t i = lo, tries = 0; i-- > 0 && tries < 16; tries++) {
        const struct sym *y = &m->syms[i];
        if (v - y->value < y->size) {
            name[0] = 0;
            if (y->file && !name_unique(m, y)) {
                const char *slash = strrchr(y->file, '/');
                lg__strlcat(name, slash ? slash + 1 : y->file, namelen);
                lg__strlcat(name, ":", namelen);
            }
            lg__strlcat(name, y->name, namelen);
            *off = v - y->value;
            return true;
        }
    }
    return false;
}

bool lg__function_of(const struct lg_modinfo *mi, uintptr_t pc, char *name, size_t namelen)
{
    struct mod *m = mi->priv;
    if (!m || pc < m->lo || pc >= m->hi)
        return false;
    lg__lock(&sym_lock);
    if (!m->tried)
        load(m);
    lg__unlock(&sym_lock);
    if (!m->funcs)
        return false;
    uintptr_t v = pc - m->bias;
    size_t lo = 0, hi = m->nfuncs;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (m->funcs[mid].value <= v)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo == 0 || v - m->funcs[lo - 1].value >= m->funcs[lo - 1].size)
        return false;
    name[0] = 0;
    lg__strlcat(name, m->funcs[lo - 1].name, namelen);
    return true;
}

void lg__symbols_lock_all(void)
{
    lg__lock(&sym_lock);
}

void lg__symbols_unlock_all(void)
{
    lg__unlock(&sym_lock);
}

void lg__symbols_reset_child(void)
{
    lg__lock_reset(&sym_lock);
}

bool lg__symbol_addr(const char *module, size_t mlen, const char *sym, size_t slen,
                     uintptr_t *addr)
{
    struct modtab *t = atomic_load_explicit(&table, memory_order_acquire);
    if (!t)
        t = refresh();
    struct mod *m = NULL;
    for (uint32_t i = 0; t && i < t->n && !m; i++)
        if (strlen(t->m[i]->base) == mlen && memcmp(t->m[i]->base, module, mlen) == 0)
            m = t->m[i];
    if (!m)
        return false;
    lg__lock(&sym_lock);
    if (!m->tried)
        load(m);
    lg__unlock(&sym_lock);
    /* "FILE:NAME" names a static symbol of one source file. */
    const char *colon = memchr(sym, ':', slen);
    const char *name = colon ? colon + 1 : sym;
    size_t nlen = colon ? slen - (size_t)(colon + 1 - sym) : slen;
    size_t flen = colon ? (size_t)(colon - sym) : 0;
    for (size_t i = 0; i < m->nsyms; i++) {
        const struct sym *y = &m->syms[i];
        if (strlen(y->name) != nlen || memcmp(y->name, name, nlen) != 0)
            continue;
        if (colon) {
            const char *f = y->file ? strrchr(y->file, '/') : NULL;
            f = f ? f + 1 : y->file;
            if (!f || strlen(f) != flen || memcmp(f, sym, flen) != 0)
                continue;
        }
        *addr = m->bias + y->value;
        return true;
    }
    return false;
}
