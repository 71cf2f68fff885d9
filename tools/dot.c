/*
 * dot.c - DOT text for lock graphs, and rendering it with Graphviz.
 *
 * Does: write the graph, its nodes and edges with every label escaped; run
 * `dot -Tsvg` on a temporary file and read its output, saying why when it
 * fails.
 * Does not: decide what a graph shows (format_dot.c draws the findings'
 * locks, merge_dot in merge.c the union of graph files); lay anything out
 * itself.
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

#include "outfile.h"

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

void lg_dot_cluster_begin(FILE *out, size_t id, const char *label)
{
    fprintf(out, "  subgraph cluster_%zu {\n    label=\"", id);
    lg_dot_escape(out, label);
    fputs("\";\n    style=\"dashed,rounded\"; color=\"#888888\"; fontname=\"Helvetica\"; "
          "fontsize=10; labeljust=l;\n",
          out);
}

void lg_dot_cluster_end(FILE *out)
{
    fputs("  }\n", out);
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
