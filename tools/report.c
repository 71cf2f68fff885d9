/*
 * report.c - the `report` verb: findings files from one or many processes
 * and runs, suppressed and deduplicated, as text, JSON, SARIF or HTML.
 *
 * Does: parse `report [options] FILE...`; load the report (read, suppress,
 * group); write the chosen format to stdout or -o FILE (under a temporary
 * name, renamed into place); the text format with colour on a terminal; the
 * exit code: 0 nothing found, 1 findings, 2 the input could not be read (a
 * file missing or unreadable, a corrupt line, a bad suppressions file) or
 * bad usage.
 * Does not: parse findings (findings.c), print a finding's block
 * (summary.c), or build the other formats (report_json.c, sarif.c, html.c,
 * dot.c).
 */
#include "report.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "dot.h"
#include "merge.h"

/* Places named in "seen N times: ..." before "and N more". */
#define MAX_SEEN_NAMED 4

/* ---- loading ---- */

int lg_report_load(struct lg_report *r, char *const *paths, size_t n_paths,
                   const char *const *supp_paths, size_t n_supp, unsigned flags, FILE *diag)
{
    memset(r, 0, sizeof *r);
    r->paths = paths;
    r->n_paths = n_paths;
    lg_findings_init(&r->set);
    lg_supp_init(&r->supp);

    int bad = 0;
    for (size_t i = 0; i < n_supp; i++)
        if (lg_supp_load(&r->supp, supp_paths[i], diag) != 0)
            bad = -1;
    if (bad) {
        fprintf(diag, "lockgraph: the suppressions could not be read; nothing reported\n");
        return -1;
    }
    for (size_t i = 0; i < n_paths; i++) {
        size_t empty = r->set.empty_files;
        lg_findings_read_file(&r->set, paths[i], diag);
        /* The library opens its file at start-up: an empty one is a
         * process that found nothing, worth a word when it is asked
         * about by name. */
        if ((flags & LG_REPORT_NOTE_EMPTY) && r->set.empty_files > empty)
            fprintf(diag,
                    "lockgraph: %s: note: empty: no findings (a process that found "
                    "nothing, or one that has not found anything yet)\n",
                    paths[i]);
    }
    fflush(diag);

    r->sym = lg_symbolizer_new(diag);
    r->hidden = calloc(r->set.n ? r->set.n : 1, sizeof *r->hidden);
    if (!r->sym || !r->hidden) {
        fprintf(diag, "lockgraph: out of memory\n");
        return -1;
    }
    for (size_t i = 0; i < r->set.n; i++)
        if (lg_supp_match_finding(&r->supp, &r->set.items[i], r->sym)) {
            r->hidden[i] = true;
            r->suppressed++;
        }
    if (lg_group_findings(&r->set, r->hidden, (flags & LG_REPORT_DEDUPE) != 0, &r->groups) != 0) {
        fprintf(diag, "lockgraph: out of memory\n");
        return -1;
    }
    return 0;
}

void lg_report_free(struct lg_report *r)
{
    lg_groups_free(&r->groups);
    lg_findings_free(&r->set);
    lg_supp_free(&r->supp);
    lg_symbolizer_free(r->sym);
    free(r->hidden);
    memset(r, 0, sizeof *r);
}

size_t lg_report_distinct(const struct lg_report *r)
{
    size_t n = 0;
    for (size_t i = 0; i < r->groups.n; i++)
        if (r->set.items[r->groups.items[i].first].kind != LG_KIND_DETECTOR_ERROR)
            n++;
    return n;
}

size_t lg_report_total(const struct lg_report *r)
{
    size_t n = 0;
    for (size_t i = 0; i < r->groups.n; i++)
        if (r->set.items[r->groups.items[i].first].kind != LG_KIND_DETECTOR_ERROR)
            n += r->groups.items[i].n;
    return n;
}

bool lg_report_input_failed(const struct lg_report *r)
{
    return r->set.unreadable_files > 0 || r->set.corrupt_lines > 0;
}

/* ---- text ---- */

static const char *plural(size_t n, const char *one, const char *many)
{
    return n == 1 ? one : many;
}

struct annotation {
    struct lg_report *r;
    const struct lg_group *g;
};

/* "   seen 3 times, in 2 processes: a.jsonl:1 (pid 10), b.jsonl:4 (pid 11), ..." */
static void annotate(FILE *out, const struct lg_finding *f, void *arg)
{
    struct annotation *a = arg;
    const struct lg_group *g = a->g;
    if (g->n == 1) {
        /* Several files: say which one each finding is from. */
        if (a->r->n_paths > 1)
            fprintf(out, "   in %s:%zu\n", f->file, f->line);
        return;
    }
    fprintf(out, "   seen %zu times, in %zu %s", g->n, g->processes,
            plural(g->processes, "process", "processes"));
    if (g->paths > 1)
        fprintf(out, ", by %zu code paths (the first shown; --no-dedupe shows each)", g->paths);
    fputc(':', out);
    for (size_t i = 0; i < g->n; i++) {
        if (i == MAX_SEEN_NAMED && g->n > MAX_SEEN_NAMED + 1) {
            fprintf(out, " and %zu more", g->n - i);
            break;
        }
        const struct lg_finding *m = &a->r->set.items[g->members[i]];
        fprintf(out, "%s %s:%zu (pid %ld)", i ? "," : "", m->file, m->line, m->pid);
    }
    fputc('\n', out);
}

void lg_report_print_group(struct lg_report *r, const struct lg_group *g, size_t number, FILE *out,
                           enum lg_markup markup)
{
    struct annotation a = {.r = r, .g = g};
    struct lg_summary_opts o = {
        .out = out, .sym = r->sym, .markup = markup, .annotate = annotate, .annotate_arg = &a};
    lg_summary_print_one(&r->set.items[g->first], number, &o);
}

void lg_report_closing(struct lg_report *r, FILE *out, const char *where)
{
    size_t distinct = lg_report_distinct(r), total = lg_report_total(r);
    /* Kinds counted over the findings shown, one per group. */
    bool *not_first = malloc((r->set.n ? r->set.n : 1) * sizeof *not_first);
    size_t processes = 0, errors = 0;
    for (size_t i = 0; not_first && i < r->set.n; i++)
        not_first[i] = true;
    for (size_t i = 0; i < r->groups.n; i++) {
        const struct lg_group *g = &r->groups.items[i];
        if (not_first)
            not_first[g->first] = false;
        if (r->set.items[g->first].kind == LG_KIND_DETECTOR_ERROR)
            errors++;
    }
    struct lg_summary_counts c;
    lg_summary_count_visible(&r->set, r->hidden, &c);
    processes = c.processes;

    if (distinct == 0) {
        fputs("lockgraph: no findings", out);
    } else {
        fprintf(out, "lockgraph: %zu %s (", distinct,
                total > distinct ? plural(distinct, "distinct finding", "distinct findings")
                                 : plural(distinct, "finding", "findings"));
        if (not_first)
            lg_summary_kinds(out, &r->set, not_first);
        fputc(')', out);
        if (total > distinct)
            fprintf(out, " from %zu findings", total);
        fprintf(out, " in %zu %s", processes, plural(processes, "process", "processes"));
    }
    free(not_first);
    if (r->suppressed)
        fprintf(out, "; %zu suppressed", r->suppressed);
    if (errors)
        fprintf(out, "; %zu detector %s (results may be incomplete)", errors,
                plural(errors, "error", "errors"));
    size_t bad = r->set.corrupt_lines + r->set.truncated_lines;
    if (bad)
        fprintf(out, "; %zu unreadable %s skipped", bad, plural(bad, "line", "lines"));
    if (r->set.unreadable_files)
        fprintf(out, "; %zu unreadable %s", r->set.unreadable_files,
                plural(r->set.unreadable_files, "file", "files"));
    if (where)
        fprintf(out, "; report: %s\n", where);
    else if (r->n_paths == 1)
        fprintf(out, "; report: %s\n", r->paths[0]);
    else
        fprintf(out, "; report: %zu files\n", r->n_paths);
}

/* "suppressed 2 findings by sup.txt:3 (lock:log*)", a line per rule used. */
void lg_report_print_suppressions(struct lg_report *r, FILE *out)
{
    for (size_t i = 0; i < r->supp.n; i++) {
        const struct lg_supp_rule *rule = &r->supp.rules[i];
        if (rule->hits == 0)
            continue;
        fprintf(out, "suppressed %zu %s by %s:%zu (", rule->hits,
                plural(rule->hits, "finding", "findings"), rule->path, rule->line);
        for (const char *c = rule->text; *c; c++)
            fputc((unsigned char)*c < ' ' ? '?' : *c, out);
        fputs(")\n", out);
    }
}

void lg_report_text(struct lg_report *r, FILE *out, enum lg_markup markup)
{
    struct lg_numbering nb;
    lg_numbering_init(&nb);
    for (size_t i = 0; i < r->groups.n; i++) {
        const struct lg_group *g = &r->groups.items[i];
        lg_report_print_group(r, g, lg_numbering_next(&nb, &r->set.items[g->first]), out, markup);
    }
    lg_numbering_free(&nb);
    lg_report_print_suppressions(r, out);
    lg_report_closing(r, out, NULL);
    fflush(out);
}

/* ---- output files ---- */

int lg_write_file(const char *path, const char *text, size_t len, const char *who)
{
    if (!path || strcmp(path, "-") == 0) {
        if (fwrite(text, 1, len, stdout) != len || fflush(stdout) != 0) {
            fprintf(stderr, "lockgraph %s: cannot write to stdout: %s\n", who, strerror(errno));
            return -1;
        }
        return 0;
    }
    size_t tlen = strlen(path) + 16;
    char *tmp = malloc(tlen);
    if (!tmp) {
        fprintf(stderr, "lockgraph %s: out of memory\n", who);
        return -1;
    }
    snprintf(tmp, tlen, "%s.XXXXXX", path);
    int fd = mkstemp(tmp);
    if (fd < 0) {
        fprintf(stderr, "lockgraph %s: cannot write %s: %s\n", who, path, strerror(errno));
        free(tmp);
        return -1;
    }
    /* mkstemp makes it 0600; an artifact is as readable as any new file. */
    mode_t mask = umask(0);
    umask(mask);
    (void)fchmod(fd, 0666 & ~mask);
    int err = 0;
    for (size_t done = 0; done < len && !err;) {
        ssize_t w = write(fd, text + done, len - done);
        if (w < 0 && errno != EINTR)
            err = errno;
        else if (w > 0)
            done += (size_t)w;
    }
    if (close(fd) != 0 && !err)
        err = errno;
    if (!err && rename(tmp, path) != 0)
        err = errno;
    if (err) {
        fprintf(stderr, "lockgraph %s: cannot write %s: %s\n", who, path, strerror(err));
        unlink(tmp);
        free(tmp);
        return -1;
    }
    free(tmp);
    return 0;
}

/* ---- the verb ---- */

enum format { FMT_TEXT, FMT_JSON, FMT_SARIF, FMT_HTML };

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
    enum format format;
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
        if (strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0) {
            lg_usage_verb(stdout, a->verb);
            return LG_EXIT_OK;
        }
        if (report && ((v = option_value(argc, argv, &i, "--format", &missing)) ||
                       (v = option_value(argc, argv, &i, "-f", &missing)))) {
            if (strcmp(v, "text") == 0)
                a->format = FMT_TEXT;
            else if (strcmp(v, "json") == 0)
                a->format = FMT_JSON;
            else if (strcmp(v, "sarif") == 0)
                a->format = FMT_SARIF;
            else if (strcmp(v, "html") == 0)
                a->format = FMT_HTML;
            else
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
    bool any = false;
    for (size_t i = 0; i < r->groups.n && !any; i++)
        any = r->set.items[r->groups.items[i].first].kind == LG_KIND_CYCLE;
    if (!any)
        return NULL;
    if (!lg_dot_program()) {
        fprintf(stderr, "lockgraph report: note: Graphviz's dot is not installed; the page "
                        "lists each cycle instead of drawing it (apt-get install graphviz)\n");
        return NULL;
    }
    FILE *fp = open_memstream(&dot, &len);
    if (!fp)
        return NULL;
    lg_report_dot(r, fp);
    fclose(fp);
    char *svg = lg_dot_render_svg(dot, len, why, sizeof why);
    if (!svg)
        fprintf(stderr,
                "lockgraph report: note: could not draw the lock graph (%s); the page "
                "lists each cycle instead\n",
                why);
    free(dot);
    return svg;
}

int lg_cmd_report(int argc, char **argv)
{
    struct args a = {.verb = "report"};
    int rc = parse_args(argc, argv, &a);
    if (rc >= 0) {
        free(a.paths);
        return rc;
    }
    struct lg_report r;
    if (lg_report_load(&r, a.paths, a.n_paths, a.supp, a.n_supp,
                       (a.dedupe ? LG_REPORT_DEDUPE : 0) | LG_REPORT_NOTE_EMPTY, stderr) != 0) {
        lg_report_free(&r);
        free(a.paths);
        return LG_EXIT_USAGE;
    }

    char *buf = NULL, *svg = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&buf, &len);
    if (!out) {
        fprintf(stderr, "lockgraph report: out of memory\n");
        exit(LG_EXIT_TOOL_FAILED);
    }
    int wrc = 0;
    switch (a.format) {
    case FMT_TEXT:
        lg_report_text(&r, out, want_color(a.color, a.output) ? LG_MARKUP_ANSI : LG_MARKUP_NONE);
        break;
    case FMT_JSON:
        wrc = lg_report_json(&r, out);
        break;
    case FMT_SARIF:
        wrc = lg_report_sarif(&r, out);
        break;
    case FMT_HTML:
        svg = picture(&r);
        wrc = lg_report_html(&r, out, svg);
        free(svg);
        break;
    }
    fclose(out);
    fflush(stderr);
    if (wrc != 0) {
        fprintf(stderr, "lockgraph report: out of memory\n");
        rc = LG_EXIT_TOOL_FAILED;
    } else if (lg_write_file(a.output, buf, len, "report") != 0) {
        rc = LG_EXIT_USAGE;
    } else {
        if (a.output && strcmp(a.output, "-") != 0 && a.format != FMT_TEXT) {
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
    free(buf);
    lg_report_free(&r);
    free(a.paths);
    return rc;
}

/* ---- `lockgraph dot` ---- */

/* Is `path` a graph file (its first line the `graph` header)? -1 when it
 * cannot be opened: the loaders say so. */
static int is_graph_file(const char *path)
{
    FILE *fp = fopen(path, "r");
    if (!fp)
        return -1;
    char *line = NULL;
    size_t cap = 0;
    ssize_t got;
    int yes = 0;
    while ((got = getline(&line, &cap, fp)) >= 0) {
        if (strspn(line, " \t\r\n") == (size_t)got)
            continue;
        yes = lg_is_graph_header(line, (size_t)got - (line[got - 1] == '\n'));
        break;
    }
    free(line);
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

    char *buf = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&buf, &len);
    if (!out) {
        free(a.paths);
        return LG_EXIT_TOOL_FAILED;
    }
    bool failed;
    if (graphs) {
        struct lg_merge m;
        if (lg_merge_load(&m, a.paths, a.n_paths, a.supp, a.n_supp, stderr) != 0) {
            lg_merge_free(&m);
            fclose(out);
            free(buf);
            free(a.paths);
            return LG_EXIT_USAGE;
        }
        lg_merge_dot(&m, out);
        failed = m.unreadable > 0 || m.n_files == 0;
        lg_merge_free(&m);
    } else {
        struct lg_report r;
        if (lg_report_load(&r, a.paths, a.n_paths, a.supp, a.n_supp,
                           LG_REPORT_DEDUPE | LG_REPORT_NOTE_EMPTY, stderr) != 0) {
            lg_report_free(&r);
            fclose(out);
            free(buf);
            free(a.paths);
            return LG_EXIT_USAGE;
        }
        lg_report_dot(&r, out);
        failed = lg_report_input_failed(&r);
        lg_report_free(&r);
    }
    fclose(out);
    fflush(stderr);

    rc = failed ? LG_EXIT_USAGE : LG_EXIT_OK;
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
