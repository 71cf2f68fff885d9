/*
 * suppress.c - read suppressions files and match findings against them.
 *
 * Does: parse `TYPE:GLOB ...` lines (comments and blank lines skipped),
 * refuse a bad line with file:line and why, collect a finding's lock names
 * and stacks, and match globs with fnmatch(3) against names, keys,
 * symbolized function names (without an ELF version) and source paths (whole,
 * as shown, or the file name alone).
 * Does not: decide what a report does with a suppressed finding.
 */
#include "suppress.h"

#include <errno.h>
#include <fnmatch.h>
#include <json.h>
#include <stdlib.h>
#include <string.h>

/* Frames of one address when calls were inlined. */
#define MAX_INLINE 8

static const struct {
    const char *name;
    enum lg_supp_type type;
} types[] = {
    {"kind", LG_SUPP_KIND},
    {"lock", LG_SUPP_LOCK},
    {"function", LG_SUPP_FUNCTION},
    {"file", LG_SUPP_FILE},
};

void lg_supp_init(struct lg_supp *s)
{
    memset(s, 0, sizeof *s);
}

static void free_rule(struct lg_supp_rule *r)
{
    for (size_t i = 0; i < r->n_pats; i++)
        free(r->pats[i].glob);
    free(r->pats);
    free(r->text);
}

void lg_supp_free(struct lg_supp *s)
{
    for (size_t i = 0; i < s->n; i++)
        free_rule(&s->rules[i]);
    free(s->rules);
    for (size_t i = 0; i < s->n_paths; i++)
        free(s->paths[i]);
    free(s->paths);
    lg_supp_init(s);
}

/* Parse one line's words into *r. Returns NULL, or why it is bad. */
static const char *parse_rule(char *line, struct lg_supp_rule *r, char *why, size_t whylen)
{
    char *save = NULL;
    for (char *w = strtok_r(line, " \t\r", &save); w; w = strtok_r(NULL, " \t\r", &save)) {
        char *colon = strchr(w, ':');
        size_t t = 0;
        if (colon) {
            *colon = '\0';
            while (t < sizeof types / sizeof *types && strcmp(types[t].name, w) != 0)
                t++;
            *colon = ':';
        }
        if (!colon || t == sizeof types / sizeof *types) {
            snprintf(why, whylen,
                     "'%.60s' is not a pattern: write TYPE:GLOB, TYPE being kind, lock, "
                     "function or file",
                     w);
            return why;
        }
        if (!colon[1]) {
            snprintf(why, whylen, "'%.60s' has an empty pattern", w);
            return why;
        }
        struct lg_supp_pattern *p = realloc(r->pats, (r->n_pats + 1) * sizeof *p);
        if (!p)
            return "out of memory";
        r->pats = p;
        p[r->n_pats].type = types[t].type;
        if (!(p[r->n_pats].glob = strdup(colon + 1)))
            return "out of memory";
        r->n_pats++;
    }
    return NULL;
}

static char *trim(char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    size_t n = strlen(s);
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r' || s[n - 1] == '\n'))
        s[--n] = '\0';
    return s;
}

int lg_supp_load(struct lg_supp *s, const char *path, FILE *diag)
{
    FILE *fp = fopen(path, "r");
    if (!fp) {
        fprintf(diag, "lockgraph: cannot open suppressions file %s: %s\n", path, strerror(errno));
        return -1;
    }
    char **paths = realloc(s->paths, (s->n_paths + 1) * sizeof *paths);
    if (!paths || !(paths[s->n_paths] = strdup(path))) {
        if (paths)
            s->paths = paths;
        fclose(fp);
        fprintf(diag, "lockgraph: out of memory\n");
        return -1;
    }
    s->paths = paths;
    const char *kept_path = s->paths[s->n_paths++];

    char *buf = NULL;
    size_t cap = 0, lineno = 0;
    ssize_t got;
    int rc = 0;
    while ((got = getline(&buf, &cap, fp)) >= 0) {
        lineno++;
        if (memchr(buf, '\0', (size_t)got)) {
            fprintf(diag, "lockgraph: %s:%zu: bad suppression: a NUL byte (not a text file?)\n",
                    path, lineno);
            rc = -1;
            continue;
        }
        char *hash = strchr(buf, '#');
        if (hash)
            *hash = '\0';
        char *line = trim(buf);
        if (!*line)
            continue;
        struct lg_supp_rule r = {.path = kept_path, .line = lineno};
        char why[160];
        if (!(r.text = strdup(line))) {
            fprintf(diag, "lockgraph: out of memory\n");
            rc = -1;
            break;
        }
        const char *bad = parse_rule(line, &r, why, sizeof why);
        if (bad) {
            fprintf(diag, "lockgraph: %s:%zu: bad suppression: %s\n", path, lineno, bad);
            free_rule(&r);
            rc = -1;
            continue;
        }
        if (s->n == s->cap) {
            size_t ncap = s->cap ? 2 * s->cap : 16;
            struct lg_supp_rule *p = realloc(s->rules, ncap * sizeof *p);
            if (!p) {
                free_rule(&r);
                fprintf(diag, "lockgraph: out of memory\n");
                rc = -1;
                break;
            }
            s->rules = p;
            s->cap = ncap;
        }
        s->rules[s->n++] = r;
    }
    if (ferror(fp)) {
        fprintf(diag, "lockgraph: %s:%zu: read error: %s\n", path, lineno + 1,
                strerror(errno ? errno : EIO));
        rc = -1;
    }
    free(buf);
    fclose(fp);
    return rc;
}

bool lg_supp_from_options(const char *options, char *buf, size_t len)
{
    static const char key[] = "suppressions=";
    bool found = false;
    /* Items are separated by ':' (lib/options.c); the last one given wins,
     * as in the library. */
    for (const char *p = options; p && *p;) {
        const char *end = strchr(p, ':');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        if (n > sizeof key - 1 && strncmp(p, key, sizeof key - 1) == 0 &&
            n - (sizeof key - 1) < len) {
            memcpy(buf, p + sizeof key - 1, n - (sizeof key - 1));
            buf[n - (sizeof key - 1)] = '\0';
            found = true;
        } else if (n == sizeof key - 1 && strncmp(p, key, n) == 0) {
            found = false; /* "suppressions=" clears it */
        }
        p = end ? end + 1 : p + n;
    }
    return found;
}

/* ---- matching ---- */

static bool glob(const char *pat, const char *text)
{
    return text && fnmatch(pat, text, 0) == 0;
}

static const char *base_name(const char *path)
{
    const char *s = strrchr(path, '/');
    return s ? s + 1 : path;
}

/* Does some frame of the subject's stacks match? Functions are compared
 * without an ELF symbol version ("pthread_create@@GLIBC_2.34"). */
static bool frame_matches(const struct lg_supp_pattern *p, const struct lg_supp_subject *subj,
                          struct lg_symbolizer *sym)
{
    for (size_t i = 0; i < subj->n_stacks; i++) {
        const struct lg_supp_stack *st = &subj->stacks[i];
        for (size_t k = 0; k < st->stack->n; k++) {
            struct lg_frame chain[MAX_INLINE];
            size_t n = lg_symbolize_inline(sym, st->mods, st->n_mods, st->stack->pcs[k], chain,
                                           MAX_INLINE);
            for (size_t c = 0; c < n; c++) {
                const struct lg_frame *fr = &chain[c];
                if (p->type == LG_SUPP_FUNCTION && fr->function) {
                    char name[512];
                    snprintf(name, sizeof name, "%.*s", (int)strcspn(fr->function, "@"),
                             fr->function);
                    if (glob(p->glob, name))
                        return true;
                }
                if (p->type == LG_SUPP_FILE && fr->file &&
                    (glob(p->glob, fr->file) || glob(p->glob, base_name(fr->file))))
                    return true;
            }
        }
    }
    return false;
}

static bool pattern_matches(const struct lg_supp_pattern *p, const struct lg_supp_subject *subj,
                            struct lg_symbolizer *sym)
{
    switch (p->type) {
    case LG_SUPP_KIND:
        return glob(p->glob, subj->kind);
    case LG_SUPP_LOCK:
        for (size_t i = 0; i < subj->n_locks; i++)
            if (glob(p->glob, subj->locks[i]))
                return true;
        return false;
    case LG_SUPP_FUNCTION:
    case LG_SUPP_FILE:
        return frame_matches(p, subj, sym);
    }
    return false;
}

const struct lg_supp_rule *lg_supp_match(struct lg_supp *s, const struct lg_supp_subject *subj,
                                         struct lg_symbolizer *sym)
{
    for (size_t i = 0; s && i < s->n; i++) {
        struct lg_supp_rule *r = &s->rules[i];
        size_t k = 0;
        /* Cheap patterns first would be faster; rules are short, and the
         * symbolizer caches. */
        while (k < r->n_pats && pattern_matches(&r->pats[k], subj, sym))
            k++;
        if (k == r->n_pats && r->n_pats > 0) {
            r->hits++;
            return r;
        }
    }
    return NULL;
}

/* ---- a finding as a subject ---- */

struct collect {
    const char **locks;
    size_t n_locks, cap_locks;
    struct lg_supp_stack *stacks;
    size_t n_stacks, cap_stacks;
    struct lg_stack *owned; /* stacks read from a kind this lockgraph does not know */
    size_t n_owned, cap_owned;
    const struct lg_finding *f;
    bool nomem;
};

static void add_name(struct collect *c, const char *name)
{
    if (!name)
        return;
    if (c->n_locks == c->cap_locks) {
        size_t cap = c->cap_locks ? 2 * c->cap_locks : 16;
        const char **p = realloc(c->locks, cap * sizeof *p);
        if (!p) {
            c->nomem = true;
            return;
        }
        c->locks = p;
        c->cap_locks = cap;
    }
    c->locks[c->n_locks++] = name;
}

static void add_stack(struct collect *c, const struct lg_stack *s)
{
    if (!s->n)
        return;
    if (c->n_stacks == c->cap_stacks) {
        size_t cap = c->cap_stacks ? 2 * c->cap_stacks : 16;
        struct lg_supp_stack *p = realloc(c->stacks, cap * sizeof *p);
        if (!p) {
            c->nomem = true;
            return;
        }
        c->stacks = p;
        c->cap_stacks = cap;
    }
    c->stacks[c->n_stacks++] =
        (struct lg_supp_stack){.stack = s, .mods = c->f->modules, .n_mods = c->f->n_modules};
}

static void add_lock(struct collect *c, const struct lg_lock *l)
{
    add_name(c, l->name);
    add_name(c, l->key);
    add_name(c, l->class_name);
    add_stack(c, &l->stack);
    /* Its lock class: the key, and where its locks are made (a wrapper's
     * caller is what tells two classes apart). */
    add_name(c, l->cls.key);
    add_stack(c, &l->cls.site);
}

/* A kind this lockgraph does not know: names and keys of the objects in
 * it, and whatever looks like a stack. */
static void walk_raw(struct collect *c, json_object *v, const char *key, int depth)
{
    if (depth > 8 || c->nomem)
        return;
    if (json_object_is_type(v, json_type_object)) {
        json_object_object_foreach(v, k, m)
        {
            if (strcmp(k, "modules") != 0)
                walk_raw(c, m, k, depth + 1);
        }
        return;
    }
    if (json_object_is_type(v, json_type_string)) {
        if (key &&
            (strcmp(key, "name") == 0 || strcmp(key, "key") == 0 || strcmp(key, "class") == 0))
            add_name(c, json_object_get_string(v));
        return;
    }
    if (!json_object_is_type(v, json_type_array))
        return;
    size_t n = json_object_array_length(v);
    bool stack = n > 0;
    for (size_t i = 0; i < n && stack; i++) {
        json_object *e = json_object_array_get_idx(v, i);
        stack = json_object_is_type(e, json_type_string) &&
                strncmp(json_object_get_string(e), "0x", 2) == 0;
    }
    if (!stack) {
        for (size_t i = 0; i < n; i++)
            walk_raw(c, json_object_array_get_idx(v, i), NULL, depth + 1);
        return;
    }
    if (c->n_owned == c->cap_owned) {
        /* add_stack keeps pointers into c->owned: allocated once, never
         * moved (a finding with more stacks than this keeps the first). */
        if (c->cap_owned)
            return;
        if (!(c->owned = calloc(64, sizeof *c->owned))) {
            c->nomem = true;
            return;
        }
        c->cap_owned = 64;
    }
    struct lg_stack *s = &c->owned[c->n_owned];
    if (!(s->pcs = calloc(n, sizeof *s->pcs))) {
        c->nomem = true;
        return;
    }
    s->n = n;
    for (size_t i = 0; i < n; i++)
        s->pcs[i] = strtoull(json_object_get_string(json_object_array_get_idx(v, i)), NULL, 16);
    c->n_owned++;
    add_stack(c, s);
}

const struct lg_supp_rule *lg_supp_match_finding(struct lg_supp *s, const struct lg_finding *f,
                                                 struct lg_symbolizer *sym)
{
    if (!s || s->n == 0)
        return NULL;
    struct collect c = {.f = f};
    for (size_t i = 0; i < f->n_locks; i++)
        add_lock(&c, &f->locks[i]);
    for (size_t i = 0; i < f->n_edges; i++) {
        add_stack(&c, &f->edges[i].first);
        add_stack(&c, &f->edges[i].second);
    }
    if (f->lock.type)
        add_lock(&c, &f->lock);
    add_stack(&c, &f->first_stack);
    add_stack(&c, &f->second_stack);
    add_stack(&c, &f->stack);
    for (size_t i = 0; i < f->n_held; i++) {
        add_lock(&c, &f->held[i].lock);
        add_stack(&c, &f->held[i].stack);
    }
    for (size_t i = 0; i < f->n_classes; i++)
        add_name(&c, f->classes[i]);
    /* The kinds read into structs above; any other (one this lockgraph
     * does not know, or one added to the reader but not here) is walked
     * as written. */
    if (f->kind > LG_KIND_DETECTOR_ERROR && f->raw)
        walk_raw(&c, f->raw, NULL, 0);

    struct lg_supp_subject subj = {.kind = lg_finding_kind(f),
                                   .locks = c.locks,
                                   .n_locks = c.n_locks,
                                   .stacks = c.stacks,
                                   .n_stacks = c.n_stacks};
    const struct lg_supp_rule *r = c.nomem ? NULL : lg_supp_match(s, &subj, sym);
    free(c.locks);
    free(c.stacks);
    for (size_t i = 0; i < c.n_owned; i++)
        free(c.owned[i].pcs);
    free(c.owned);
    return r;
}
