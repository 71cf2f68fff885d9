/*
 * dot.c - DOT text for lock graphs, the findings' lock graph (`lockgraph
 * dot FINDINGS...`, the picture of the HTML report), and rendering with
 * Graphviz.
 *
 * Does: escape every label; draw the findings' cycles with each lock once
 * (by its stable identity, so a lock in two cycles is one node), a
 * rank-violation as a dashed edge from each held lock to the one taken, a
 * self-deadlock as a loop; run `dot -Tsvg` on a temporary file and read its
 * output, saying why when it fails.
 * Does not: lay anything out itself; read graph files (merge.c draws the
 * union of those).
 */
#include "dot.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "report.h"

extern char **environ;

/* ---- writing DOT ---- */

void lg_dot_escape(FILE *out, const char *s)
{
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            fprintf(out, "\\%c", c);
        else if (c == '\n')
            fputs("\\n", out);
        else if (c < ' ' || c == 0x7f)
            fputc('?', out);
        else
            fputc(c, out);
    }
}

void lg_dot_begin(FILE *out, const char *title)
{
    fputs("digraph lockgraph {\n"
          "  graph [rankdir=LR, fontname=\"Helvetica\", fontsize=12, labelloc=t, label=\"",
          out);
    lg_dot_escape(out, title);
    fputs(
        "\"];\n"
        "  node [shape=box, style=\"rounded,filled\", fillcolor=\"#f4f4f4\", color=\"#888888\", "
        "fontname=\"Helvetica\", fontsize=10];\n"
        "  edge [fontname=\"Helvetica\", fontsize=9, color=\"#999999\", fontcolor=\"#555555\"];\n",
        out);
}

void lg_dot_node(FILE *out, size_t id, const char *label, bool on_cycle)
{
    fprintf(out, "  n%zu [label=\"", id);
    lg_dot_escape(out, label);
    fputc('"', out);
    if (on_cycle)
        fputs(", color=\"#c00000\", fillcolor=\"#fff0f0\", penwidth=1.5", out);
    fputs("];\n", out);
}

void lg_dot_edge(FILE *out, size_t from, size_t to, const char *label, enum lg_dot_style style,
                 bool shared)
{
    fprintf(out, "  n%zu -> n%zu [label=\"", from, to);
    lg_dot_escape(out, label ? label : "");
    fputc('"', out);
    switch (style) {
    case LG_DOT_CYCLE:
        fputs(", color=\"#c00000\", fontcolor=\"#c00000\", penwidth=2.2", out);
        break;
    case LG_DOT_GATED:
        fputs(", style=dotted", out);
        break;
    case LG_DOT_RANK:
        fputs(", color=\"#d08000\", fontcolor=\"#a06000\", style=dashed", out);
        break;
    case LG_DOT_PLAIN:
        break;
    }
    if (shared)
        fputs(", arrowhead=onormal", out);
    fputs("];\n", out);
}

void lg_dot_end(FILE *out)
{
    fputs("}\n", out);
}

/* ---- the findings' lock graph ---- */

struct node {
    uint64_t identity;
    const struct lg_finding *f; /* where it was first seen, for its label */
    const struct lg_lock *lock;
    bool on_cycle;
};

struct graph {
    struct node *nodes;
    size_t n, cap;
};

static size_t node_of(struct graph *g, const struct lg_finding *f, const struct lg_lock *l)
{
    bool stable;
    uint64_t id = lg_lock_identity(f, l, &stable);
    for (size_t i = 0; i < g->n; i++)
        if (g->nodes[i].identity == id)
            return i;
    if (g->n == g->cap) {
        size_t cap = g->cap ? 2 * g->cap : 16;
        struct node *p = realloc(g->nodes, cap * sizeof *p);
        if (!p)
            return SIZE_MAX;
        g->nodes = p;
        g->cap = cap;
    }
    g->nodes[g->n] = (struct node){.identity = id, .f = f, .lock = l};
    return g->n++;
}

static void lock_label(struct lg_report *r, const struct node *n, char *buf, size_t len)
{
    const struct lg_lock *l = n->lock;
    char site[1024] = "";
    size_t k;
    if (l->name)
        k = (size_t)snprintf(buf, len, "\"%s\"\n%s", l->name, l->type);
    else if (l->key)
        k = (size_t)snprintf(buf, len, "%s\n%s", l->key, l->type);
    else
        k = (size_t)snprintf(buf, len, "%s 0x%llx", l->type, (unsigned long long)l->addr);
    if (k < len && l->stack.n) {
        lg_site_text(r->sym, n->f->modules, n->f->n_modules, l->stack.pcs[0], site, sizeof site);
        snprintf(buf + k, len - k, "\n%s at %s", l->created ? "created" : "first locked", site);
    }
}

static size_t lock_index(const struct lg_finding *f, long id)
{
    for (size_t i = 0; i < f->n_locks; i++)
        if (f->locks[i].id == id)
            return i;
    return SIZE_MAX;
}

/* Where an edge's thread took its second lock, for a label: the innermost
 * source frame and the function it was called from (two tellers both in
 * transfer() differ by their caller). */
static void edge_site(struct lg_report *r, const struct lg_finding *f, const struct lg_stack *s,
                      char *buf, size_t len)
{
    if (s->n == 0) {
        snprintf(buf, len, "?");
        return;
    }
    struct lg_frame chain[8], outer;
    size_t n = lg_symbolize_inline(r->sym, f->modules, f->n_modules, s->pcs[0], chain, 8);
    lg_frame_text(&chain[0], buf, len);
    const char *caller = NULL;
    if (n > 1)
        caller = chain[1].function;
    else if (s->n > 1) {
        lg_symbolize(r->sym, f->modules, f->n_modules, s->pcs[1], &outer);
        caller = outer.function;
    }
    size_t k = strlen(buf);
    if (caller && k < len)
        snprintf(buf + k, len - k, "\nin %.*s", (int)strcspn(caller, "@"), caller);
}

/* One edge of the picture, added once the nodes are written. */
struct dedge {
    size_t from, to;
    char label[1100];
    enum lg_dot_style style;
};

void lg_report_dot(struct lg_report *r, FILE *out)
{
    struct graph g = {0};
    struct dedge *edges = NULL;
    size_t n_edges = 0, cap = 0;
    struct lg_numbering nb;
    lg_numbering_init(&nb);

    for (size_t gi = 0; gi < r->groups.n; gi++) {
        const struct lg_finding *f = &r->set.items[r->groups.items[gi].first];
        size_t number = lg_numbering_next(&nb, f);
        struct dedge add[64];
        size_t n_add = 0;
        if (f->kind == LG_KIND_CYCLE) {
            for (size_t i = 0; i < f->n_edges && n_add < 63; i++) {
                const struct lg_edge *e = &f->edges[i];
                size_t a = lock_index(f, e->from), b = lock_index(f, e->to);
                if (a == SIZE_MAX || b == SIZE_MAX)
                    continue;
                size_t na = node_of(&g, f, &f->locks[a]), nb2 = node_of(&g, f, &f->locks[b]);
                if (na == SIZE_MAX || nb2 == SIZE_MAX)
                    continue;
                g.nodes[na].on_cycle = g.nodes[nb2].on_cycle = true;
                char site[1024];
                edge_site(r, f, &e->second, site, sizeof site);
                struct dedge *d = &add[n_add++];
                d->from = na;
                d->to = nb2;
                d->style = LG_DOT_CYCLE;
                snprintf(d->label, sizeof d->label, "#%zu thread %ld\n%s", number, e->thread.seq,
                         site);
            }
            /* A cycle longer than a picture can hold: the rest as one edge
             * back to where it started. */
            if (f->n_edges > 63 && n_add == 63) {
                size_t a = lock_index(f, f->edges[62].to), b = lock_index(f, f->edges[0].from);
                size_t na = a == SIZE_MAX ? SIZE_MAX : node_of(&g, f, &f->locks[a]);
                size_t nb2 = b == SIZE_MAX ? SIZE_MAX : node_of(&g, f, &f->locks[b]);
                if (na != SIZE_MAX && nb2 != SIZE_MAX) {
                    struct dedge *d = &add[n_add++];
                    d->from = na;
                    d->to = nb2;
                    d->style = LG_DOT_CYCLE;
                    snprintf(d->label, sizeof d->label, "#%zu: %zu more edges, not drawn", number,
                             f->n_edges - 63);
                }
            }
        } else if (f->kind == LG_KIND_SELF_DEADLOCK) {
            size_t na = node_of(&g, f, &f->lock);
            if (na != SIZE_MAX) {
                g.nodes[na].on_cycle = true;
                struct dedge *d = &add[n_add++];
                d->from = d->to = na;
                d->style = LG_DOT_CYCLE;
                snprintf(d->label, sizeof d->label, "self-deadlock #%zu, thread %ld", number,
                         f->thread.seq);
            }
        } else if (f->kind == LG_KIND_RANK_VIOLATION) {
            size_t nt = node_of(&g, f, &f->lock);
            for (size_t i = 0; i < f->n_held && n_add < 64 && nt != SIZE_MAX; i++) {
                size_t nh = node_of(&g, f, &f->held[i].lock);
                if (nh == SIZE_MAX)
                    continue;
                struct dedge *d = &add[n_add++];
                d->from = nh;
                d->to = nt;
                d->style = LG_DOT_RANK;
                snprintf(d->label, sizeof d->label, "rank-violation #%zu (%s)", number,
                         f->held[i].why ? f->held[i].why : "order");
            }
        }
        for (size_t i = 0; i < n_add; i++) {
            if (n_edges == cap) {
                size_t ncap = cap ? 2 * cap : 16;
                struct dedge *p = realloc(edges, ncap * sizeof *p);
                if (!p)
                    break;
                edges = p;
                cap = ncap;
            }
            edges[n_edges++] = add[i];
        }
    }
    lg_numbering_free(&nb);

    lg_dot_begin(out, n_edges ? "lockgraph: the locks of the findings (red: a cycle)"
                              : "lockgraph: no lock-order cycle");
    for (size_t i = 0; i < g.n; i++) {
        char label[2048];
        lock_label(r, &g.nodes[i], label, sizeof label);
        lg_dot_node(out, i, label, g.nodes[i].on_cycle);
    }
    for (size_t i = 0; i < n_edges; i++)
        lg_dot_edge(out, edges[i].from, edges[i].to, edges[i].label, edges[i].style, false);
    lg_dot_end(out);
    free(edges);
    free(g.nodes);
}

/* ---- running Graphviz ---- */

const char *lg_dot_program(void)
{
    static char found[4096];
    const char *env = getenv("LOCKGRAPH_DOT");
    if (env && *env)
        return access(env, X_OK) == 0 ? env : NULL;
    const char *path = getenv("PATH");
    if (!path || !*path)
        path = "/usr/local/bin:/usr/bin:/bin";
    while (*path) {
        size_t n = strcspn(path, ":");
        if (n > 0 && n + 5 < sizeof found) {
            memcpy(found, path, n);
            strcpy(found + n, "/dot");
            struct stat st;
            if (stat(found, &st) == 0 && S_ISREG(st.st_mode) && access(found, X_OK) == 0)
                return found;
        }
        path += n;
        if (*path == ':')
            path++;
    }
    return NULL;
}

/* A temporary file holding `text`; its name in `name` (PATH_MAX). */
static int temp_file(char *name, size_t len, const char *suffix, const char *text, size_t tlen)
{
    const char *dir = getenv("TMPDIR");
    snprintf(name, len, "%s/lockgraph-dot.XXXXXX%s", dir && *dir ? dir : "/tmp", suffix);
    int fd = mkstemps(name, (int)strlen(suffix));
    if (fd < 0)
        return -1;
    for (size_t done = 0; done < tlen;) {
        ssize_t w = write(fd, text + done, tlen - done);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            close(fd);
            unlink(name);
            return -1;
        }
        done += (size_t)w;
    }
    close(fd);
    return 0;
}

static char *slurp(const char *path, size_t *len)
{
    FILE *fp = fopen(path, "r");
    if (!fp)
        return NULL;
    char *buf = NULL;
    size_t cap = 0;
    *len = 0;
    for (;;) {
        if (*len + 4096 + 1 > cap) {
            cap = cap ? 2 * cap : 65536;
            char *p = realloc(buf, cap);
            if (!p) {
                free(buf);
                fclose(fp);
                return NULL;
            }
            buf = p;
        }
        size_t got = fread(buf + *len, 1, cap - *len - 1, fp);
        *len += got;
        if (got == 0)
            break;
    }
    fclose(fp);
    buf[*len] = '\0';
    return buf;
}

char *lg_dot_render_svg(const char *dot_text, size_t len, char *why, size_t whylen)
{
    const char *prog = lg_dot_program();
    if (!prog) {
        snprintf(why, whylen, "Graphviz's dot program is not installed (apt-get install graphviz)");
        return NULL;
    }
    char in[4096], outp[4096], errp[4096];
    if (temp_file(in, sizeof in, ".dot", dot_text, len) != 0) {
        snprintf(why, whylen, "cannot write a temporary file: %s", strerror(errno));
        return NULL;
    }
    if (temp_file(outp, sizeof outp, ".svg", "", 0) != 0 ||
        temp_file(errp, sizeof errp, ".err", "", 0) != 0) {
        snprintf(why, whylen, "cannot write a temporary file: %s", strerror(errno));
        unlink(in);
        return NULL;
    }
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 2, errp, O_WRONLY | O_TRUNC, 0);
    char *argv[] = {(char *)prog, "-Tsvg", "-o", outp, in, NULL};
    pid_t pid;
    int err = posix_spawn(&pid, prog, &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    char *svg = NULL;
    if (err != 0) {
        snprintf(why, whylen, "cannot run %s: %s", prog, strerror(err));
    } else {
        int status = 0;
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
            ;
        size_t n = 0;
        if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
            svg = slurp(outp, &n);
            if (!svg || n == 0) {
                free(svg);
                svg = NULL;
                snprintf(why, whylen, "%s wrote nothing", prog);
            }
        } else {
            char *msg = slurp(errp, &n);
            if (msg)
                msg[strcspn(msg, "\n")] = '\0';
            snprintf(why, whylen, "%s failed%s%.200s", prog, msg && *msg ? ": " : "",
                     msg ? msg : "");
            free(msg);
        }
    }
    unlink(in);
    unlink(outp);
    unlink(errp);
    return svg;
}

int lg_dot_render_file(const char *dot_text, size_t len, const char *format, const char *path,
                       char *why, size_t whylen)
{
    (void)format; /* SVG only, for now */
    char *svg = lg_dot_render_svg(dot_text, len, why, whylen);
    if (!svg)
        return -1;
    int rc = lg_write_file(path, svg, strlen(svg), "dot");
    if (rc != 0)
        snprintf(why, whylen, "cannot write %s", path);
    free(svg);
    return rc;
}
