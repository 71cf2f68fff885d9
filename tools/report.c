/*
 * report.c - the `report` and `dot` verbs: findings files from one or many
 * processes and runs, suppressed and deduplicated, in the format asked
 * for; `dot` also draws the union of graph files.
 *
 * Does: parse `report [options] FILE...` and `dot [options] FILE...`;
 * read the report (reportset.c) and drive the chosen format through the
 * format table (format.h): text streams when every finding is shown
 * (--no-dedupe), the rest are written once the input is read; the HTML
 * page's picture is the DOT format drawn by Graphviz, made here and handed
 * over. Output goes to stdout or -o FILE (under a temporary name, renamed
 * into place); when no input could be read at all, no file is written.
 * Exit: 0 nothing found, 1 findings, 2 the input could not be read (a file
 * missing or unreadable, a corrupt line, a bad suppressions file) or bad
 * usage.
 * Does not: parse findings (findings.c), render any format (format_*.c),
 * or merge graph files (merge.c).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "dot.h"
#include "format.h"
#include "jsonl.h"
#include "merge.h"
#include "outfile.h"

/* ---- the verb ---- */

__attribute__((format(printf, 2, 3))) static int usage_error(const char *verb, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "lockgraph %s: ", verb);
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n\n");
    va_end(ap);
    lg_usage_verb(stderr, verb);
    return LG_EXIT_USAGE;
}

/* The options `report` and `dot` share, and the files. */
struct args {
    const char *verb;
    const struct lg_format *format;
    const char *output; /* -o */
    const char *svg;    /* dot --svg */
    const char *supp[16];
    size_t n_supp;
    int color; /* -1 auto, 0 never, 1 always */
    bool dedupe;
    char **paths;
    size_t n_paths;
    char env_supp[4096];
};

/* Value of an option written "--opt VALUE" or "--opt=VALUE" (or "-o
 * VALUE", "-oVALUE" for one-letter ones). Returns NULL when `arg` is not
 * `name`; sets *missing when it is but has no value. */
static const char *option_value(int argc, char **argv, int *i, const char *name, bool *missing)
{
    const char *a = argv[*i];
    size_t n = strlen(name);
    if (strncmp(a, name, n) != 0)
        return NULL;
    if (a[n] == '=' && name[1] == '-')
        return a + n + 1;
    if (a[n] == '\0') {
        if (*i + 1 >= argc) {
            *missing = true;
            return NULL;
        }
        return argv[++*i];
    }
    if (name[1] != '-') /* -oFILE */
        return a + n;
    return NULL;
}

/* Returns -1 to go on, or an exit code. */
static int parse_args(int argc, char **argv, struct args *a)
{
    a->color = -1;
    a->dedupe = true;
    a->format = &lg_format_text;
    /* --help anywhere among the options, even where a value would go
     * (`report -o --help`): the usage, nothing read or written. */
    if (lg_help_asked(argc, argv)) {
        lg_usage_verb(stdout, a->verb);
        return LG_EXIT_OK;
    }
    a->paths = calloc((size_t)argc, sizeof *a->paths);
    if (!a->paths) {
        fprintf(stderr, "lockgraph %s: out of memory\n", a->verb);
        return LG_EXIT_USAGE;
    }
    bool report = strcmp(a->verb, "report") == 0;
    bool options_done = false;
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i], *v;
        bool missing = false;
        if (options_done || arg[0] != '-' || arg[1] == '\0') {
            a->paths[a->n_paths++] = argv[i];
            continue;
        }
        if (strcmp(arg, "--") == 0) {
            options_done = true;
            continue;
        }
        if (report && ((v = option_value(argc, argv, &i, "--format", &missing)) ||
                       (v = option_value(argc, argv, &i, "-f", &missing)))) {
            a->format = lg_format_find(v);
            /* DOT is the `dot` verb's. */
            if (!a->format || a->format == &lg_format_dot)
                return usage_error(a->verb, "unknown format '%s' (text, json, sarif or html)", v);
        } else if ((v = option_value(argc, argv, &i, "--output", &missing)) ||
                   (v = option_value(argc, argv, &i, "-o", &missing))) {
            if (!*v)
                return usage_error(a->verb, "-o needs a file name");
            if (a->output)
                return usage_error(a->verb, "-o given twice");
            a->output = v;
        } else if (!report && (v = option_value(argc, argv, &i, "--svg", &missing))) {
            if (!*v)
                return usage_error(a->verb, "--svg needs a file name");
            a->svg = v;
        } else if ((v = option_value(argc, argv, &i, "--suppressions", &missing))) {
            if (!*v)
                return usage_error(a->verb, "--suppressions needs a file name");
            if (a->n_supp == sizeof a->supp / sizeof *a->supp)
                return usage_error(a->verb, "too many --suppressions files");
            a->supp[a->n_supp++] = v;
        } else if (report && ((v = option_value(argc, argv, &i, "--color", &missing)) ||
                              (v = option_value(argc, argv, &i, "--colour", &missing)))) {
            if (strcmp(v, "auto") == 0)
                a->color = -1;
            else if (strcmp(v, "always") == 0)
                a->color = 1;
            else if (strcmp(v, "never") == 0)
                a->color = 0;
            else
                return usage_error(a->verb, "bad --color '%s' (auto, always or never)", v);
        } else if (report && strcmp(arg, "--no-dedupe") == 0) {
            a->dedupe = false;
        } else if (missing) {
            return usage_error(a->verb, "%s needs a value", arg);
        } else {
            return usage_error(a->verb, "unknown option '%s'", arg);
        }
        if (missing)
            return usage_error(a->verb, "%s needs a value", arg);
    }
    if (a->n_paths == 0)
        return usage_error(a->verb, "no findings file given");
    /* LOCKGRAPH_OPTIONS names a suppressions file for the tool to apply
     * when none is given on the command line. */
    if (a->n_supp == 0 &&
        lg_supp_from_options(getenv("LOCKGRAPH_OPTIONS"), a->env_supp, sizeof a->env_supp))
        a->supp[a->n_supp++] = a->env_supp;
    return -1;
}

static bool want_color(int color, const char *output)
{
    if (color >= 0)
        return color == 1;
    if (output && strcmp(output, "-") != 0)
        return false;
    const char *nc = getenv("NO_COLOR");
    if (nc && *nc)
        return false;
    const char *term = getenv("TERM");
    if (term && strcmp(term, "dumb") == 0)
        return false;
    return isatty(STDOUT_FILENO);
}

/* The picture for the page: the findings' lock graph drawn by Graphviz,
 * or NULL (with a note) when it cannot be. */
static char *picture(struct lg_report *r)
{
    char *dot = NULL, why[256];
    size_t len = 0;
    if (!lg_report_has_cycle(r))
        return NULL;
    if (!lg_dot_program()) {
        fprintf(stderr, "lockgraph report: note: Graphviz's dot is not installed; the page "
                        "lists each cycle instead of drawing it (apt-get install graphviz)\n");
        return NULL;
    }
    FILE *fp = open_memstream(&dot, &len);
    FILE *clean = fp ? lg_utf8_filter(fp) : NULL;
    struct lg_format_opts o = {0};
    int rc = clean ? lg_format_write(&lg_format_dot, r, clean, &o) : -1;
    if (clean)
        fclose(clean);
    if (fp)
        fclose(fp);
    char *svg = NULL;
    if (rc == 0 && !(svg = lg_dot_render_svg(dot, len, why, sizeof why)))
        fprintf(stderr,
                "lockgraph report: note: could not draw the lock graph (%s); the page "
                "lists each cycle instead\n",
                why);
    free(dot);
    return svg;
}

/* Without dedupe, a format that streams gets each finding as it is read. */
struct streaming {
    const struct lg_format *fmt;
    void *state;
};

static int stream_one(void *arg, struct lg_report *r, const struct lg_group *g, size_t number)
{
    (void)r;
    struct streaming *s = arg;
    return s->fmt->group(s->state, g, number);
}

/* Nothing could be read: a report file would say only that. The closing
 * line says what happened; the file is not written. */
static void not_written(struct lg_report *r, const char *verb, const char *path)
{
    lg_report_closing(r, stderr, NULL);
    fprintf(stderr, "lockgraph %s: no input could be read; %s not written\n", verb, path);
}

int lg_cmd_report(int argc, char **argv)
{
    struct args a = {.verb = "report"};
    int rc = parse_args(argc, argv, &a);
    if (rc >= 0) {
        free(a.paths);
        return rc;
    }
    const struct lg_format *fmt = a.format;
    struct lg_format_opts o = {.markup = fmt == &lg_format_text && want_color(a.color, a.output)
                                             ? LG_MARKUP_ANSI
                                             : LG_MARKUP_NONE};
    unsigned flags = (a.dedupe ? LG_REPORT_DEDUPE : 0) | LG_REPORT_NOTE_EMPTY |
                     (fmt->all_seen ? LG_REPORT_ALL_SEEN : 0);
    struct lg_report r;
    struct lg_outfile out;
    bool out_open = false;
    char *svg = NULL;
    int wrc = 0;
    if (lg_report_open(&r, a.paths, a.n_paths, a.supp, a.n_supp, flags, stderr) != 0) {
        rc = LG_EXIT_USAGE;
        goto done;
    }
    if (!a.dedupe && fmt->streams) {
        /* Every finding shown: printed as it is read, none kept. */
        if (lg_outfile_open(&out, a.output, fmt->utf8, "report") != 0) {
            rc = LG_EXIT_USAGE;
            goto done;
        }
        out_open = true;
        struct streaming s = {.fmt = fmt, .state = fmt->begin(&r, out.fp, &o)};
        wrc = -1;
        if (s.state) {
            wrc = lg_report_read(&r, stream_one, &s);
            if (fmt->end(s.state) != 0)
                wrc = -1;
        }
    } else {
        if (lg_report_read(&r, NULL, NULL) != 0) {
            rc = LG_EXIT_TOOL_FAILED;
            goto done;
        }
        if (fmt == &lg_format_html)
            o.svg = svg = picture(&r);
        fflush(stderr);
        if (lg_outfile_open(&out, a.output, fmt->utf8, "report") != 0) {
            rc = LG_EXIT_USAGE;
            goto done;
        }
        out_open = true;
        wrc = lg_format_write(fmt, &r, out.fp, &o);
    }
    fflush(stderr);
    if (wrc != 0) {
        fprintf(stderr, "lockgraph report: out of memory\n");
        lg_outfile_discard(&out);
        rc = LG_EXIT_TOOL_FAILED;
    } else if (lg_outfile_is_file(&out) && lg_report_nothing_read(&r)) {
        lg_outfile_discard(&out);
        not_written(&r, "report", a.output);
        rc = LG_EXIT_USAGE;
    } else if (lg_outfile_commit(&out) != 0) {
        rc = LG_EXIT_USAGE;
    } else {
        if (lg_outfile_is_file(&out) && fmt != &lg_format_text) {
            /* The file holds the report; a line on stderr says what is in it. */
            lg_report_closing(&r, stderr, a.output);
        }
        if (lg_report_distinct(&r) > 0)
            rc = LG_EXIT_CYCLE;
        else if (lg_report_input_failed(&r))
            rc = LG_EXIT_USAGE;
        else
            rc = LG_EXIT_OK;
    }
    out_open = false;
done:
    if (out_open)
        lg_outfile_discard(&out);
    free(svg);
    lg_report_free(&r);
    free(a.paths);
    return rc;
}

/* ---- `lockgraph dot` ---- */

/* Is `path` a graph file (its first line the `graph` header)? -1 when it
 * cannot be opened or read: the loaders say so. */
static int is_graph_file(const char *path)
{
    FILE *fp = fopen(path, "r");
    if (!fp)
        return -1;
    struct lg_jsonl_reader rd;
    lg_jsonl_open(&rd, fp);
    const char *line;
    size_t len;
    enum lg_jsonl_next next;
    int yes = 0;
    while ((next = lg_jsonl_next(&rd, &line, &len)) == LG_JSONL_LINE) {
        if (strspn(line, " \t\r") == len)
            continue;
        yes = lg_is_graph_header(line, len);
        break;
    }
    if (next == LG_JSONL_ERROR || next == LG_JSONL_ENDLESS)
        yes = -1;
    lg_jsonl_close(&rd);
    fclose(fp);
    return yes;
}

int lg_cmd_dot(int argc, char **argv)
{
    struct args a = {.verb = "dot"};
    int rc = parse_args(argc, argv, &a);
    if (rc >= 0) {
        free(a.paths);
        return rc;
    }
    size_t graphs = 0, findings = 0;
    for (size_t i = 0; i < a.n_paths; i++) {
        int g = is_graph_file(a.paths[i]);
        if (g > 0)
            graphs++;
        else if (g == 0)
            findings++;
    }
    if (graphs && findings) {
        free(a.paths);
        return usage_error("dot", "give findings files or graph files, not both");
    }
    if (a.svg && !lg_dot_program()) {
        fprintf(stderr, "lockgraph dot: --svg needs Graphviz's dot program, which is not installed "
                        "(apt-get install graphviz; or set LOCKGRAPH_DOT)\n");
        free(a.paths);
        return LG_EXIT_USAGE;
    }

    /* The DOT text is made in memory (it follows the distinct findings, or
     * the union's keys and edges), valid UTF-8, then written and drawn. */
    char *buf = NULL;
    size_t len = 0;
    FILE *mem = open_memstream(&buf, &len);
    FILE *out = mem ? lg_utf8_filter(mem) : NULL;
    if (!out) {
        if (mem)
            fclose(mem);
        free(buf);
        free(a.paths);
        return LG_EXIT_TOOL_FAILED;
    }
    bool failed, nothing;
    if (graphs) {
        struct lg_merge m;
        if (lg_merge_load(&m, a.paths, a.n_paths, a.supp, a.n_supp, stderr) != 0) {
            lg_merge_free(&m);
            fclose(out);
            fclose(mem);
            free(buf);
            free(a.paths);
            return LG_EXIT_USAGE;
        }
        lg_merge_dot(&m, out);
        failed = m.unreadable > 0 || m.n_files == 0;
        nothing = m.n_files == 0;
        lg_merge_free(&m);
    } else {
        struct lg_report r;
        struct lg_format_opts o = {0};
        if (lg_report_load(&r, a.paths, a.n_paths, a.supp, a.n_supp,
                           LG_REPORT_DEDUPE | LG_REPORT_NOTE_EMPTY, stderr) != 0) {
            lg_report_free(&r);
            fclose(out);
            fclose(mem);
            free(buf);
            free(a.paths);
            return LG_EXIT_USAGE;
        }
        if (lg_format_write(&lg_format_dot, &r, out, &o) != 0) {
            fprintf(stderr, "lockgraph dot: out of memory\n");
            rc = LG_EXIT_TOOL_FAILED;
        }
        failed = lg_report_input_failed(&r);
        nothing = lg_report_nothing_read(&r);
        lg_report_free(&r);
    }
    fclose(out);
    fclose(mem);
    fflush(stderr);
    if (rc == LG_EXIT_TOOL_FAILED) {
        free(buf);
        free(a.paths);
        return rc;
    }

    rc = failed ? LG_EXIT_USAGE : LG_EXIT_OK;
    bool to_file = a.output && strcmp(a.output, "-") != 0;
    if (nothing && (to_file || a.svg)) {
        /* No input: neither a DOT file nor a picture of nothing. */
        fprintf(stderr, "lockgraph dot: no input could be read; %s%s%s not written\n",
                to_file ? a.output : "", to_file && a.svg ? " and " : "", a.svg ? a.svg : "");
        free(buf);
        free(a.paths);
        return LG_EXIT_USAGE;
    }
    if ((a.output || !a.svg) && lg_write_file(a.output, buf, len, "dot") != 0)
        rc = LG_EXIT_USAGE;
    if (a.svg) {
        char why[512];
        if (lg_dot_render_file(buf, len, "svg", a.svg, why, sizeof why) != 0) {
            fprintf(stderr, "lockgraph dot: --svg %s: %s\n", a.svg, why);
            rc = LG_EXIT_USAGE;
        }
    }
    free(buf);
    free(a.paths);
    return rc;
}
