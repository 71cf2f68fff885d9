/*
 * symbolize.c - resolve recorded return addresses with elfutils libdwfl.
 *
 * Does: find the recorded module an address falls in, open that module's
 * file at its recorded load bias (one Dwfl per distinct module, cached for the
 * life of the symbolizer), check its build-id against the recorded one, and
 * look up function+offset and file:line. Separate debug info is found the
 * standard way (build-id or .gnu_debuglink under /usr/lib/debug).
 * Does not: read the running process (everything is offline), demangle C++
 * names, or expand inlined frames.
 *
 * Why one Dwfl per module rather than one per line's module set: each line
 * lists only the modules its own stacks touch, so the sets differ from line
 * to line while the modules repeat; caching per module reads each file's DWARF
 * once for the whole report, and a module reported alone cannot collide with
 * another module's address range.
 */
#include "symbolize.h"

#include <elfutils/libdwfl.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

struct entry {
    char *path;
    uint64_t base;
    char *build_id; /* recorded, NULL when none */
    Dwfl *dwfl;     /* NULL when the module is unusable */
    Dwfl_Module *mod;
};

struct lg_symbolizer {
    FILE *diag;
    struct entry *entries;
    size_t n, cap;
};

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
}

/* The cache entry for `m`, opening it on first use; NULL only when out of
 * memory. */
static struct entry *lookup_module(struct lg_symbolizer *s, const struct lg_module *m)
{
    for (size_t i = 0; i < s->n; i++) {
        struct entry *e = &s->entries[i];
        if (e->base == m->base && strcmp(e->path, m->path) == 0 &&
            (e->build_id == NULL) == (m->build_id == NULL) &&
            (!e->build_id || strcasecmp(e->build_id, m->build_id) == 0))
            return e;
    }
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
    open_module(s, e);
    return e;
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

void lg_symbolize(struct lg_symbolizer *s, const struct lg_module *mods, size_t n_mods, uint64_t pc,
                  struct lg_frame *out)
{
    memset(out, 0, sizeof *out);
    out->pc = pc;
    /* A return address is the instruction after the call; the call itself,
     * and so its source line, is the byte before. */
    uint64_t addr = pc ? pc - 1 : 0;

    const struct lg_module *m = find_module(mods, n_mods, addr);
    if (!m)
        return;
    out->module_offset = pc - m->base;
    struct entry *e = lookup_module(s, m);
    if (!e) {
        out->module = NULL;
        return;
    }
    out->module = e->path;
    if (!e->dwfl)
        return;

    GElf_Off off = 0;
    GElf_Sym sym;
    const char *name = dwfl_module_addrinfo(e->mod, addr, &off, &sym, NULL, NULL, NULL);
    if (name) {
        out->function = name;
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
    }
}
