/*
 * symbolize.c - resolve recorded return addresses with elfutils libdwfl.
 *
 * Does: find the recorded module an address falls in, open that module's
 * file at its recorded load bias (one Dwfl per distinct module, cached for the
 * life of the symbolizer), check its build-id against the recorded one, and
 * look up function+offset and file:line. Separate debug info is found the
 * standard way (build-id or .gnu_debuglink under /usr/lib/debug).
 * Inlined calls are expanded from the DWARF scopes at the address, the way
 * eu-addr2line -i does.
 * C++ names are demangled with the C++ runtime's __cxa_demangle (once per
 * symbol: kept for the symbolizer's life); an inlined frame is named by its
 * DW_AT_linkage_name, demangled, so it is as qualified as a real one
 * (std::mutex::lock(), not lock).
 * Does not: read the running process (everything is offline).
 *
 * Why one Dwfl per module file rather than one per line's module set: each
 * line lists only the modules its own stacks touch, so the sets differ from
 * line to line while the modules repeat; caching per file reads its DWARF
 * once for the whole report, and a module reported alone cannot collide with
 * another module's address range. A file is opened at the load bias it was
 * first seen with; an address of the same file loaded elsewhere (another
 * process, ASLR) is moved to that bias by its offset in the module. Each
 * (file, offset) is looked up once: its frames are kept, so a stack seen in
 * a hundred thousand findings costs libdw one lookup per frame.
 */
#include "symbolize.h"

#include <dwarf.h>
#include <elfutils/libdw.h>
#include <elfutils/libdwfl.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "hash.h"
#include "u64map.h"

/* Source frames kept per address for inlined calls (callers ask for at
 * most this many). */
#define MAX_CHAIN 8

struct entry {
    char *path;
    uint64_t base;  /* the load bias the file is opened at */
    char *build_id; /* recorded, NULL when none */
    Dwfl *dwfl;     /* NULL when the module is unusable */
    Dwfl_Module *mod;
};

/* What one (file, offset) resolved to; pc and module_offset are filled in
 * per lookup. */
struct known {
    struct lg_frame base;
    bool has_debug; /* resolve() found the entry usable */
    bool chain_done;
    size_t n_chain;
    struct lg_frame chain[MAX_CHAIN];
};

struct lg_symbolizer {
    FILE *diag;
    struct entry *entries;
    size_t n, cap;
    struct lg_u64map by_file; /* hash of path and build-id -> entry index + 1 */
    struct lg_u64map by_addr; /* entry index << 48 | offset -> index in known */
    struct known *known;
    size_t n_known, cap_known;
    struct lg_u64map by_mangled; /* mangled name's address -> index in names */
    char **names;                /* demangled names, owned */
    size_t n_names, cap_names;
};

#ifdef LG_HAVE_CXA_DEMANGLE
/* The C++ runtime's demangler (cxxabi.h), declared here for C. */
extern char *__cxa_demangle(const char *mangled, char *out, size_t *len, int *status);
#endif

/* name, demangled when it is a C++ (Itanium ABI) name: the same string for
 * the symbolizer's life. Strings libdw hands out stay put while their Dwfl
 * lives (as long as the symbolizer), so a name is looked up by address.
 * Out of memory, or a name the demangler refuses: name itself. */
static const char *demangle(struct lg_symbolizer *s, const char *name)
{
#ifdef LG_HAVE_CXA_DEMANGLE
    if (!name || name[0] != '_' || name[1] != 'Z')
        return name;
    uint64_t v;
    if (lg_u64map_get(&s->by_mangled, (uint64_t)(uintptr_t)name, &v))
        return v < s->n_names ? s->names[v] : name;
    int status = 0;
    char *d = __cxa_demangle(name, NULL, NULL, &status);
    if (!d || status != 0) {
        free(d);
        d = NULL;
    }
    if (d && s->n_names == s->cap_names) {
        size_t cap = s->cap_names ? 2 * s->cap_names : 64;
        char **p = realloc(s->names, cap * sizeof *p);
        if (!p) {
            free(d);
            return name;
        }
        s->names = p;
        s->cap_names = cap;
    }
    /* A refused name is remembered too (index past the end), so it is
     * not handed to the demangler again. */
    uint64_t idx = d ? s->n_names : UINT64_MAX;
    if (lg_u64map_put(&s->by_mangled, (uint64_t)(uintptr_t)name, idx) != 0) {
        free(d);
        return name;
    }
    if (!d)
        return name;
    s->names[s->n_names++] = d;
    return d;
#else
    (void)s;
    return name;
#endif
}

static char *debuginfo_path; /* NULL: libdwfl's default search path */

static const Dwfl_Callbacks offline_callbacks = {
    .find_elf = dwfl_build_id_find_elf,
    .find_debuginfo = dwfl_standard_find_debuginfo,
    .section_address = dwfl_offline_section_address,
    .debuginfo_path = &debuginfo_path,
};

struct lg_symbolizer *lg_symbolizer_new(FILE *diag)
{
    struct lg_symbolizer *s = calloc(1, sizeof *s);
    if (s)
        s->diag = diag;
    return s;
}

void lg_symbolizer_free(struct lg_symbolizer *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->n; i++) {
        if (s->entries[i].dwfl)
            dwfl_end(s->entries[i].dwfl);
        free(s->entries[i].path);
        free(s->entries[i].build_id);
    }
    free(s->entries);
    lg_u64map_free(&s->by_file);
    lg_u64map_free(&s->by_addr);
    free(s->known);
    lg_u64map_free(&s->by_mangled);
    for (size_t i = 0; i < s->n_names; i++)
        free(s->names[i]);
    free(s->names);
    free(s);
}

static void note(struct lg_symbolizer *s, const char *path, const char *why)
{
    if (s->diag)
        fprintf(s->diag, "lockgraph: note: %s: %s; its frames are shown as module+offset\n", path,
                why);
}

static bool same_build_id(Dwfl_Module *mod, const char *recorded)
{
    const unsigned char *bits = NULL;
    GElf_Addr vaddr;
    int len = dwfl_module_build_id(mod, &bits, &vaddr);
    if (len <= 0)
        return false;
    if (strlen(recorded) != (size_t)len * 2)
        return false;
    for (int i = 0; i < len; i++) {
        char hex[3];
        snprintf(hex, sizeof hex, "%02x", bits[i]);
        if (strncasecmp(hex, recorded + 2 * i, 2) != 0)
            return false;
    }
    return true;
}

/* Open `m` as its own Dwfl. On failure, the entry keeps dwfl NULL and the
 * reason is written once. */
static void open_module(struct lg_symbolizer *s, struct entry *e)
{
    if (access(e->path, R_OK) != 0) {
        char why[256];
        snprintf(why, sizeof why, "cannot read the file (%s)", strerror(errno));
        note(s, e->path, why);
        return;
    }
    Dwfl *dwfl = dwfl_begin(&offline_callbacks);
    if (!dwfl) {
        note(s, e->path, dwfl_errmsg(-1));
        return;
    }
    dwfl_report_begin(dwfl);
    Dwfl_Module *mod = dwfl_report_elf(dwfl, e->path, e->path, -1, e->base, false);
    if (!mod || dwfl_report_end(dwfl, NULL, NULL) != 0) {
        char why[256];
        snprintf(why, sizeof why, "cannot load it (%s)", dwfl_errmsg(-1));
        note(s, e->path, why);
        dwfl_end(dwfl);
        return;
    }
    if (e->build_id && !same_build_id(mod, e->build_id)) {
        note(s, e->path,
             "its build-id differs from the one recorded (the file was rebuilt or "
             "replaced since the run)");
        dwfl_end(dwfl);
        return;
    }
    e->dwfl = dwfl;
    e->mod = mod;
    /* Usable, but without DWARF: functions from the symbol table, no
     * file:line. Worth saying once, with the cure. */
    Dwarf_Addr bias;
    if (!dwfl_module_getdwarf(mod, &bias) && s->diag)
        fprintf(s->diag,
                "lockgraph: note: %s: no debug info (build with -g, or install its debug "
                "package): its frames have no file:line, only function+offset where its "
                "symbol table names the function, else module+offset\n",
                e->path);
}

static uint64_t file_hash(const struct lg_module *m)
{
    uint64_t h = 1469598103934665603ull;
    for (const char *c = m->path; *c; c++)
        h = (h ^ (unsigned char)*c) * 1099511628211ull;
    h = lg_mix64(h);
    for (const char *c = m->build_id; c && *c; c++)
        h = (h ^ (unsigned char)(*c | 0x20)) * 1099511628211ull;
    return lg_mix64(h + (m->build_id ? 1 : 0));
}

static bool same_file(const struct entry *e, const struct lg_module *m)
{
    return strcmp(e->path, m->path) == 0 && (e->build_id == NULL) == (m->build_id == NULL) &&
           (!e->build_id || strcasecmp(e->build_id, m->build_id) == 0);
}

/* The cache entry for `m`'s file, opening it on first use at m's bias;
 * NULL only when out of memory. */
static struct entry *lookup_module(struct lg_symbolizer *s, const struct lg_module *m)
{
    uint64_t h = file_hash(m), v;
    /* Equal hashes of different files (never seen in practice) fall back
     * to a scan. */
    if (lg_u64map_get(&s->by_file, h, &v) && v && same_file(&s->entries[v - 1], m))
        return &s->entries[v - 1];
    for (size_t i = 0; i < s->n; i++)
        if (same_file(&s->entries[i], m))
            return &s->entries[i];
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 8;
        struct entry *p = realloc(s->entries, cap * sizeof *p);
        if (!p)
            return NULL;
        s->entries = p;
        s->cap = cap;
    }
    struct entry *e = &s->entries[s->n];
    memset(e, 0, sizeof *e);
    e->path = strdup(m->path);
    e->build_id = m->build_id ? strdup(m->build_id) : NULL;
    e->base = m->base;
    if (!e->path || (m->build_id && !e->build_id)) {
        free(e->path);
        free(e->build_id);
        return NULL;
    }
    s->n++;
    if (!lg_u64map_get(&s->by_file, h, &v))
        lg_u64map_put(&s->by_file, h, s->n); /* out of memory: found by the scan */
    open_module(s, e);
    return e;
}

void lg_symbolizer_prepare(struct lg_symbolizer *s, const struct lg_module *mods, size_t n_mods)
{
    for (size_t i = 0; i < n_mods; i++)
        lookup_module(s, &mods[i]);
    if (s->diag)
        fflush(s->diag);
}

/* The recorded module containing `addr`. When ranges nest (a non-PIE
 * executable has base 0), the one with the highest base is the tightest. */
static const struct lg_module *find_module(const struct lg_module *mods, size_t n, uint64_t addr)
{
    const struct lg_module *best = NULL;
    for (size_t i = 0; i < n; i++)
        if (mods[i].base <= addr && addr < mods[i].end && (!best || mods[i].base > best->base))
            best = &mods[i];
    return best;
}

/* The compile unit covering `addr`. libdw finds it through .debug_aranges,
 * which clang does not emit by default (and libdw 0.188 does not rebuild);
 * without it, walk the CUs and ask each whether it covers the address. */
static Dwarf_Die *find_cu(Dwfl_Module *mod, Dwarf_Addr addr, Dwarf_Addr *bias)
{
    Dwarf_Die *cu = dwfl_module_addrdie(mod, addr, bias);
    if (cu)
        return cu;
    while ((cu = dwfl_module_nextcu(mod, cu, bias)))
        if (dwarf_haspc(cu, addr - *bias) > 0)
            return cu;
    return NULL;
}

/* lg_symbolize, also giving the cache entry that has debug info for pc
 * (NULL when there is none). */
static struct entry *resolve_in(struct lg_symbolizer *s, struct entry *e, uint64_t pc,
                                uint64_t offset, struct lg_frame *out)
{
    memset(out, 0, sizeof *out);
    out->pc = pc;
    out->module_offset = offset;
    out->module = e->path;
    if (!e->dwfl)
        return NULL;
    /* A return address is the instruction after the call; the call itself,
     * and so its source line, is the byte before. The file is opened at
     * e->base: the address is moved there. */
    uint64_t addr = e->base + offset - (pc ? 1 : 0);

    GElf_Off off = 0;
    GElf_Sym sym;
    const char *name = dwfl_module_addrinfo(e->mod, addr, &off, &sym, NULL, NULL, NULL);
    if (name) {
        out->function = demangle(s, name);
        out->function_offset = off + 1; /* offset of pc, not of pc - 1 */
    }
    Dwfl_Line *line = dwfl_module_getsrc(e->mod, addr);
    if (line) {
        int lineno = 0;
        const char *file = dwfl_lineinfo(line, NULL, &lineno, NULL, NULL, NULL);
        if (file && lineno > 0) {
            out->file = file;
            out->line = lineno;
        }
    } else {
        /* No CU found through .debug_aranges: ask the CUs themselves. */
        Dwarf_Addr bias = 0;
        Dwarf_Die *cu = find_cu(e->mod, addr, &bias);
        Dwarf_Line *dl = cu ? dwarf_getsrc_die(cu, addr - bias) : NULL;
        int lineno = 0;
        const char *file = dl ? dwarf_linesrc(dl, NULL, NULL) : NULL;
        if (file && dwarf_lineno(dl, &lineno) == 0 && lineno > 0) {
            out->file = file;
            out->line = lineno;
        }
    }
    return e;
}

/* The cached answer for `pc` of a finding whose modules are mods: the
 * entry of its module's file and what it resolved to. NULL when pc is in
 * no recorded module or memory ran out (*out is then the plain answer). */
static struct known *lookup(struct lg_symbolizer *s, const struct lg_module *mods, size_t n_mods,
                            uint64_t pc, struct entry **ep, uint64_t *offset, struct lg_frame *out)
{
    memset(out, 0, sizeof *out);
    out->pc = pc;
    *ep = NULL;
    const struct lg_module *m = find_module(mods, n_mods, pc ? pc - 1 : 0);
    if (!m)
        return NULL;
    *offset = pc - m->base;
    out->module_offset = *offset;
    struct entry *e = lookup_module(s, m);
    if (!e)
        return NULL;
    *ep = e;
    out->module = e->path;
    size_t idx = (size_t)(e - s->entries);
    uint64_t key = ((uint64_t)idx << 48) | *offset, v;
    if (idx >= (1u << 16) || *offset >= (1ull << 48)) {
        resolve_in(s, e, pc, *offset, out);
        return NULL;
    }
    if (!lg_u64map_get(&s->by_addr, key, &v)) {
        if (s->n_known == s->cap_known) {
            size_t cap = s->cap_known ? 2 * s->cap_known : 256;
            struct known *p = realloc(s->known, cap * sizeof *p);
            if (!p) {
                resolve_in(s, e, pc, *offset, out);
                return NULL;
            }
            s->known = p;
            s->cap_known = cap;
        }
        if (lg_u64map_put(&s->by_addr, key, s->n_known) != 0) {
            resolve_in(s, e, pc, *offset, out);
            return NULL;
        }
        struct known *k = &s->known[s->n_known++];
        memset(k, 0, sizeof *k);
        k->has_debug = resolve_in(s, e, pc, *offset, &k->base) != NULL;
        v = s->n_known - 1;
    }
    struct known *k = &s->known[v];
    *out = k->base;
    out->pc = pc;
    out->module_offset = *offset;
    return k;
}

void lg_symbolize(struct lg_symbolizer *s, const struct lg_module *mods, size_t n_mods, uint64_t pc,
                  struct lg_frame *out)
{
    struct entry *e;
    uint64_t offset;
    lookup(s, mods, n_mods, pc, &e, &offset, out);
}

/* A DIE's name, following DW_AT_abstract_origin as inlined instances need. */
/* A function's name from its DIE: the linkage name demangled when it has
 * one (C++: qualified, with its parameters), else DW_AT_name (C). */
static const char *die_name(struct lg_symbolizer *s, Dwarf_Die *die)
{
    Dwarf_Attribute attr;
    const char *linkage = dwarf_formstring(dwarf_attr_integrate(die, DW_AT_linkage_name, &attr));
    if (!linkage)
        linkage = dwarf_formstring(dwarf_attr_integrate(die, DW_AT_MIPS_linkage_name, &attr));
    const char *d = linkage ? demangle(s, linkage) : NULL;
    if (d && d != linkage)
        return d;
    return dwarf_formstring(dwarf_attr_integrate(die, DW_AT_name, &attr));
}

/* The inlined chain at `offset` of entry e (resolved as `base`): fills
 * out[0..max) and returns how many, 1 when there is none. */
static size_t expand_inline(struct lg_symbolizer *s, struct entry *e, uint64_t offset, const struct lg_frame *basep,
                            struct lg_frame *out, size_t max)
{
    struct lg_frame base = *basep;
    out[0] = base;
    if (max < 2)
        return 1;

    uint64_t addr = e->base + offset - (base.pc ? 1 : 0);
    Dwarf_Addr bias = 0;
    Dwarf_Die *cu = find_cu(e->mod, addr, &bias);
    Dwarf_Die *scopes = NULL;
    int n_scopes = cu ? dwarf_getscopes(cu, addr - bias, &scopes) : -1;
    if (n_scopes <= 0)
        return 1;
    /* dwarf_getscopes follows an inlined function into its abstract
     * definition, losing the function it was inlined into; the physical
     * parents of the innermost inlined instance (dwarf_getscopes_die) are
     * the real chain, as eu-addr2line -i reads it. */
    int first = 0;
    while (first < n_scopes && dwarf_tag(&scopes[first]) != DW_TAG_inlined_subroutine &&
           dwarf_tag(&scopes[first]) != DW_TAG_subprogram)
        first++;
    if (first < n_scopes && dwarf_tag(&scopes[first]) == DW_TAG_inlined_subroutine) {
        Dwarf_Die *chain = NULL;
        int n_chain = dwarf_getscopes_die(&scopes[first], &chain);
        if (n_chain > 0) {
            free(scopes);
            scopes = chain;
            n_scopes = n_chain;
        }
    }

    Dwarf_Files *files = NULL;
    size_t n_files = 0;
    if (dwarf_getsrcfiles(cu, &files, &n_files) != 0)
        files = NULL;

    /* Scopes run innermost first. Each inlined subroutine is a frame at the
     * current position; its call site is the position in the frame that
     * encloses it. The enclosing subprogram ends the chain. */
    const char *file = base.file;
    int line = base.line;
    size_t k = 0;
    for (int i = 0; i < n_scopes && k < max; i++) {
        int tag = dwarf_tag(&scopes[i]);
        if (tag != DW_TAG_inlined_subroutine && tag != DW_TAG_subprogram)
            continue;
        struct lg_frame *fr = &out[k++];
        *fr = base;
        fr->file = file;
        fr->line = line;
        if (tag == DW_TAG_subprogram) {
            if (!fr->function)
                fr->function = die_name(s, &scopes[i]);
            break;
        }
        fr->inlined = true;
        fr->function = die_name(s, &scopes[i]);
        fr->function_offset = 0;

        Dwarf_Attribute attr;
        Dwarf_Word v;
        file = NULL;
        line = 0;
        if (files && dwarf_formudata(dwarf_attr(&scopes[i], DW_AT_call_file, &attr), &v) == 0 &&
            v < n_files)
            file = dwarf_filesrc(files, v, NULL, NULL);
        if (dwarf_formudata(dwarf_attr(&scopes[i], DW_AT_call_line, &attr), &v) == 0)
            line = (int)v;
        if (!file)
            line = 0;
    }
    free(scopes);
    if (k == 0) {
        out[0] = base;
        return 1;
    }
    return k;
}

size_t lg_symbolize_inline(struct lg_symbolizer *s, const struct lg_module *mods, size_t n_mods,
                           uint64_t pc, struct lg_frame *out, size_t max)
{
    struct entry *e;
    uint64_t offset = 0;
    struct lg_frame base;
    struct known *k = lookup(s, mods, n_mods, pc, &e, &offset, &base);
    if (!k) {
        out[0] = base;
        if (!e || !e->dwfl || max < 2)
            return 1;
        /* Not cached (out of memory): resolved afresh. */
        struct lg_frame plain;
        if (!resolve_in(s, e, pc, offset, &plain))
            return 1;
        return expand_inline(s, e, offset, &plain, out, max);
    }
    if (!k->has_debug || max < 2) {
        out[0] = base;
        return 1;
    }
    if (!k->chain_done) {
        k->n_chain = expand_inline(s, e, offset, &k->base, k->chain, MAX_CHAIN);
        k->chain_done = true;
    }
    size_t n = k->n_chain < max ? k->n_chain : max;
    for (size_t i = 0; i < n; i++) {
        out[i] = k->chain[i];
        out[i].pc = pc;
        out[i].module_offset = offset;
    }
    return n;
}
