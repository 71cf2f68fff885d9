/*
 * classkey.c - a class key's sites, and the source frames two classes
 * fold by (classkey.h).
 *
 * Does: parse "site:MODULE+0xOFF<MODULE+0xOFF..." against a module map
 * (MODULE is the file name, %XX-escaped as the library writes keys; OFF
 * the ELF virtual address, so the run-time address is the module's load
 * bias plus OFF), symbolize each site to its innermost source frame.
 * Does not: decide what a report does with folded classes (dedupe.c,
 * keygraph.c), or read files.
 */
#include "classkey.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hash.h"

/* Frames one address expands to when calls were inlined. */
#define MAX_INLINE 8

static const char *base_name(const char *path)
{
    const char *s = strrchr(path, '/');
    return s ? s + 1 : path;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* The module named `name` (len bytes, %XX-escaped) in the map. */
static const struct lg_module *module_named(const struct lg_module *mods, size_t n_mods,
                                            const char *name, size_t len)
{
    char want[512];
    size_t k = 0;
    for (size_t i = 0; i < len && k + 1 < sizeof want; i++) {
        if (name[i] == '%' && i + 2 < len && hexval(name[i + 1]) >= 0 && hexval(name[i + 2]) >= 0) {
            want[k++] = (char)(hexval(name[i + 1]) * 16 + hexval(name[i + 2]));
            i += 2;
        } else {
            want[k++] = name[i];
        }
    }
    want[k] = '\0';
    for (size_t i = 0; i < n_mods; i++)
        if (mods[i].path && strcmp(base_name(mods[i].path), want) == 0)
            return &mods[i];
    return NULL;
}

size_t lg_class_key_sites(const char *key, const struct lg_module *mods, size_t n_mods,
                          uint64_t *pcs, size_t max)
{
    if (!key || strncmp(key, "site:", 5) != 0)
        return 0;
    size_t n = 0;
    const char *p = key + 5;
    for (;;) {
        const char *end = strchr(p, '<');
        if (!end)
            end = p + strlen(p);
        /* The last "+0x" of the part: a module's name may hold a '+'. */
        const char *plus = NULL;
        for (const char *q = p; q + 3 <= end; q++)
            if (q[0] == '+' && q[1] == '0' && q[2] == 'x')
                plus = q;
        if (!plus || plus == p || n == max)
            return 0;
        if (hexval(plus[3]) < 0)
            return 0;
        char *num_end;
        uint64_t off = strtoull(plus + 3, &num_end, 16);
        if (num_end != end || num_end == plus + 3)
            return 0;
        const struct lg_module *m = module_named(mods, n_mods, p, (size_t)(plus - p));
        if (!m)
            return 0;
        pcs[n++] = m->base + off;
        if (!*end)
            return n;
        p = end + 1;
    }
}

bool lg_class_fold_text(struct lg_symbolizer *sym, const struct lg_module *mods, size_t n_mods,
                        const uint64_t *pcs, size_t n, char *buf, size_t len)
{
    size_t k = 0;
    if (n == 0 || len == 0)
        return false;
    buf[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        struct lg_frame chain[MAX_INLINE];
        lg_symbolize_inline(sym, mods, n_mods, pcs[i], chain, MAX_INLINE);
        const struct lg_frame *fr = &chain[0];
        if (!fr->function || !fr->file || fr->line <= 0)
            return false;
        int w = snprintf(buf + k, len - k, "%s%.*s\t%s\t%d", i ? "\n" : "",
                         (int)strcspn(fr->function, "@"), fr->function, fr->file, fr->line);
        if (w < 0 || (size_t)w >= len - k)
            return false;
        k += (size_t)w;
    }
    return true;
}

static bool is_kind(const struct lg_lock_class *k, const char *kind)
{
    return k->kind && strcmp(k->kind, kind) == 0;
}

uint64_t lg_class_fold_identity(void *sym, const struct lg_finding *f, const struct lg_lock *l)
{
    const struct lg_lock_class *k = &l->cls;
    if (!sym || !k->known || k->site.n == 0 || !(is_kind(k, "site") || is_kind(k, "chain")))
        return 0;
    char text[4096];
    if (!lg_class_fold_text(sym, f->modules, f->n_modules, k->site.pcs, k->site.n, text,
                            sizeof text))
        return 0;
    uint64_t h = 1469598103934665603ull;
    for (const char *c = text; *c; c++)
        h = (h ^ (unsigned char)*c) * 1099511628211ull;
    h = lg_mix64(h ^ 0x636c617373ull);
    return h ? h : 1;
}
