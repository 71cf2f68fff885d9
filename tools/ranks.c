/*
 * ranks.c - the `ranks` verb: propose a rank file from the graph files of
 * clean runs.
 *
 * Does: parse `ranks [-o FILE] GRAPH...`; read every graph file
 * (graphfile.c), reporting every problem before giving up on any; union
 * and order them (keygraph.c); then either print the cycle that makes any
 * rank order impossible, or write the rank file to stdout or FILE. FILE is
 * written under a temporary name and renamed into place, so it is never
 * left half-written, and a run that fails leaves an existing FILE alone.
 * Exit: 0 rank file written, 1 the graphs have a cycle (nothing written),
 * 2 bad usage, a graph file that could not be read at all, or output that
 * could not be written.
 * Does not: run programs, or read findings files.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "graphfile.h"
#include "keygraph.h"
#include "symbolize.h"

__attribute__((format(printf, 1, 2))) static int ranks_usage_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "lockgraph ranks: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n\n");
    va_end(ap);
    lg_usage_verb(stderr, "ranks");
    return LG_EXIT_USAGE;
}

/* A temporary file beside `path`, to rename over it once complete.
 * Returns the stream, with its name in *tmp (to free), or NULL after saying
 * why. */
static FILE *open_beside(const char *path, char **tmp)
{
    size_t len = strlen(path) + 16;
    *tmp = malloc(len);
    if (!*tmp) {
        fprintf(stderr, "lockgraph ranks: out of memory\n");
        return NULL;
    }
    snprintf(*tmp, len, "%s.XXXXXX", path);
    int fd = mkstemp(*tmp);
    if (fd < 0) {
        fprintf(stderr, "lockgraph ranks: cannot write %s: %s\n", path, strerror(errno));
        free(*tmp);
        *tmp = NULL;
        return NULL;
    }
    /* mkstemp makes the file 0600; a rank file is as readable as any file
     * the user creates. Failing leaves it 0600: stricter, still usable. */
    mode_t mask = umask(0);
    umask(mask);
    (void)fchmod(fd, 0666 & ~mask);
    FILE *fp = fdopen(fd, "w");
    if (!fp) {
        fprintf(stderr, "lockgraph ranks: cannot write %s: %s\n", path, strerror(errno));
        close(fd);
        unlink(*tmp);
        free(*tmp);
        *tmp = NULL;
    }
    return fp;
}

/* Write the rank file to `path` ("-" or NULL: stdout). Returns an exit
 * code. */
static int write_output(const struct lg_keygraph *kg, const char *path, struct lg_symbolizer *sym)
{
    bool to_stdout = !path || strcmp(path, "-") == 0;
    char *tmp = NULL;
    FILE *out = to_stdout ? stdout : open_beside(path, &tmp);
    if (!out)
        return LG_EXIT_USAGE;
    lg_keygraph_write_ranks(kg, out, sym, stderr);

    int err = 0;
    if (fflush(out) != 0 || ferror(out))
        err = errno ? errno : EIO;
    if (to_stdout) {
        if (err) {
            fprintf(stderr, "lockgraph ranks: cannot write the rank file: %s\n", strerror(err));
            return LG_EXIT_USAGE;
        }
        return LG_EXIT_OK;
    }
    if (fclose(out) != 0 && !err)
        err = errno ? errno : EIO;
    if (!err && rename(tmp, path) != 0)
        err = errno;
    if (err) {
        fprintf(stderr, "lockgraph ranks: cannot write %s: %s\n", path, strerror(err));
        unlink(tmp);
        free(tmp);
        return LG_EXIT_USAGE;
    }
    free(tmp);
    fprintf(stderr, "lockgraph ranks: rank file written to %s\n", path);
    return LG_EXIT_OK;
}

int lg_cmd_ranks(int argc, char **argv)
{
    const char *output = NULL;
    if (lg_help_asked(argc, argv)) {
        lg_usage_verb(stdout, "ranks");
        return LG_EXIT_OK;
    }
    char **paths = calloc((size_t)argc, sizeof *paths);
    size_t n = 0;
    bool options_done = false;
    if (!paths) {
        fprintf(stderr, "lockgraph ranks: out of memory\n");
        return LG_EXIT_TOOL_FAILED;
    }

    /* Options may come after the files (`ranks a.jsonl b.jsonl -o r.txt`);
     * "--" ends them, for a graph file whose name starts with '-'. */
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *value = NULL;
        if (options_done || a[0] != '-' || a[1] == '\0') {
            paths[n++] = argv[i];
            continue;
        }
        if (strcmp(a, "--") == 0) {
            options_done = true;
            continue;
        }
        if (strcmp(a, "-o") == 0 || strcmp(a, "--output") == 0) {
            if (i + 1 >= argc) {
                free(paths);
                return ranks_usage_error("%s needs a file name", a);
            }
            value = argv[++i];
        } else if (strncmp(a, "--output=", 9) == 0) {
            value = a + 9;
        } else if (strncmp(a, "-o", 2) == 0) {
            value = a + 2;
        } else {
            free(paths);
            return ranks_usage_error("unknown option '%s'", a);
        }
        if (output || !*value) {
            free(paths);
            return ranks_usage_error("%s", output ? "-o given twice" : "-o needs a file name");
        }
        output = value;
    }
    if (n == 0) {
        free(paths);
        return ranks_usage_error("no graph file given");
    }

    /* Every file is read before giving up on any, so one run names every
     * problem. */
    struct lg_graph_file *files = calloc(n, sizeof *files);
    bool *ok = calloc(n, sizeof *ok);
    struct lg_keygraph *kg = lg_keygraph_new();
    struct lg_symbolizer *sym = lg_symbolizer_new(stderr);
    if (!files || !ok || !kg || !sym) {
        fprintf(stderr, "lockgraph ranks: out of memory\n");
        exit(LG_EXIT_TOOL_FAILED);
    }
    /* Classes whose init sites are one source line are one class. */
    lg_keygraph_fold_sites(kg, sym);
    size_t unreadable = 0;
    for (size_t i = 0; i < n; i++) {
        ok[i] = lg_graph_read(paths[i], &files[i], stderr) == 0;
        if (!ok[i])
            unreadable++;
    }

    int rc;
    if (unreadable) {
        fprintf(stderr,
                "lockgraph ranks: %zu of %zu graph %s could not be read; no rank file "
                "written\n",
                unreadable, n, n == 1 ? "file" : "files");
        rc = LG_EXIT_USAGE;
        goto done;
    }
    for (size_t i = 0; i < n; i++)
        if (lg_keygraph_add(kg, &files[i]) != 0) {
            fprintf(stderr, "lockgraph ranks: out of memory\n");
            rc = LG_EXIT_TOOL_FAILED;
            goto done;
        }
    fflush(stderr);
    switch (lg_keygraph_order(kg)) {
    case LG_KEYGRAPH_ORDERED:
        rc = write_output(kg, output, sym);
        break;
    case LG_KEYGRAPH_CYCLE:
        lg_keygraph_print_cycle(kg, stderr, sym);
        rc = LG_EXIT_CYCLE;
        break;
    default:
        fprintf(stderr, "lockgraph ranks: out of memory\n");
        rc = LG_EXIT_TOOL_FAILED;
        break;
    }

done:
    lg_keygraph_free(kg);
    lg_symbolizer_free(sym);
    for (size_t i = 0; i < n; i++)
        if (ok[i])
            lg_graph_free(&files[i]);
    free(files);
    free(ok);
    free(paths);
    return rc;
}
