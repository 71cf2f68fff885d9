/*
 * show.c - the `show` verb (print findings files without running anything),
 * and the read-symbolize-print step `run` ends with too: `report`'s
 * reading (reportset.c) without merging repeats, so every finding of a run
 * is printed, as it is read, with suppressions applied (--suppressions, or
 * suppressions= in LOCKGRAPH_OPTIONS). Memory: one finding at a time.
 *
 * Does: read each file with findings.c, print with summary.c, pick the exit
 * code of `show`: 0 without findings, the --exit-code value (default 66)
 * with, 2 when nothing was found but some input could not be read (a missing
 * file, a corrupt line; not a last line cut short, which only means the
 * writer died).
 * Does not: spawn programs or touch the environment (run.c does).
 */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "findings.h"
#include "reportset.h"
#include "symbolize.h"

/* Each finding printed the moment it is read, then dropped. */
static int print_one(void *arg, struct lg_report *r, const struct lg_group *g, size_t number)
{
    struct lg_summary_opts *opts = arg;
    /* Notes about its modules first: stderr may be the same terminal. */
    lg_symbolizer_prepare(r->sym, g->finding->modules, g->finding->n_modules);
    lg_summary_print_one(g->finding, number, opts);
    return 0;
}

void lg_print_reports(char *const *paths, size_t n, const char *where, const char *status_line,
                      const char *none_line, const char *supp_path, struct lg_summary_opts *opts,
                      struct lg_report_result *result)
{
    memset(result, 0, sizeof *result);
    struct lg_report r;
    const char *supp[1] = {supp_path};
    if (lg_report_open(&r, paths, n, supp, supp_path ? 1 : 0, 0, stderr) != 0) {
        lg_report_free(&r);
        if (!supp_path) {
            fprintf(stderr, "lockgraph: out of memory\n");
            exit(LG_EXIT_TOOL_FAILED);
        }
        /* The findings still matter more than the suppressions: all of
         * them are shown, and the caller hears the suppressions failed. */
        result->supp_failed = true;
        if (lg_report_open(&r, paths, n, NULL, 0, 0, stderr) != 0) {
            fprintf(stderr, "lockgraph: out of memory\n");
            exit(LG_EXIT_TOOL_FAILED);
        }
    }
    fflush(stderr);
    opts->sym = r.sym;
    if (lg_report_read(&r, print_one, opts) != 0) {
        fprintf(stderr, "lockgraph: out of memory\n");
        exit(LG_EXIT_TOOL_FAILED);
    }
    fflush(opts->out);
    if (r.suppressed)
        lg_report_print_suppressions(&r, opts->out);
    if (status_line)
        fprintf(opts->out, "%s\n", status_line);
    result->counts = r.seen.c;
    if (none_line && result->counts.findings == 0)
        fprintf(opts->out, "%s\n", none_line);
    else
        lg_summary_closing_tally(opts->out, &r.seen, &r.set, r.suppressed, where);
    opts->sym = NULL;

    result->corrupt_lines = r.set.corrupt_lines;
    result->truncated_lines = r.set.truncated_lines;
    result->unreadable_files = r.set.unreadable_files;
    lg_report_free(&r);
}

__attribute__((format(printf, 1, 2))) static int show_usage_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "lockgraph show: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n\n");
    va_end(ap);
    lg_usage_verb(stderr, "show");
    return LG_EXIT_USAGE;
}

int lg_cmd_show(int argc, char **argv)
{
    int exit_code = LG_EXIT_FINDINGS;
    const char *supp = NULL;
    char env_supp[4096];
    /* --help anywhere among the options: the usage, nothing read. */
    if (lg_help_asked(argc, argv)) {
        lg_usage_verb(stdout, "show");
        return LG_EXIT_OK;
    }
    /* Options and files in any order, as `report` takes them; "--" ends
     * the options, for a file whose name starts with '-'. */
    char **paths = calloc((size_t)argc, sizeof *paths);
    size_t n = 0;
    bool options_done = false;
    int rc = -1;
    if (!paths)
        return LG_EXIT_TOOL_FAILED;
    for (int i = 1; i < argc && rc < 0; i++) {
        const char *a = argv[i];
        if (options_done || a[0] != '-' || a[1] == '\0') {
            paths[n++] = argv[i];
        } else if (strcmp(a, "--") == 0) {
            options_done = true;
        } else if (strncmp(a, "--suppressions=", 15) == 0 || strcmp(a, "--suppressions") == 0) {
            const char *v = a[14] == '=' ? a + 15 : (i + 1 < argc ? argv[++i] : NULL);
            if (!v || !*v)
                rc = show_usage_error("--suppressions needs a file name");
            supp = v;
        } else if (strncmp(a, "--exit-code=", 12) == 0 || strcmp(a, "--exit-code") == 0) {
            const char *v = a[11] == '=' ? a + 12 : (i + 1 < argc ? argv[++i] : NULL);
            if (!v)
                rc = show_usage_error("%s needs a value", a);
            else if (!lg_parse_exit_code(v, &exit_code))
                rc = show_usage_error("bad --exit-code '%s' (want 0 to 255)", v);
        } else {
            rc = show_usage_error("unknown option '%s'", a);
        }
    }
    if (rc < 0 && n == 0)
        rc = show_usage_error("no findings file given");
    if (rc >= 0) {
        free(paths);
        return rc;
    }

    const char *where = n == 1 ? paths[0] : "the files given";
    char where_buf[64];
    if (n > 1) {
        snprintf(where_buf, sizeof where_buf, "%zu files", n);
        where = where_buf;
    }

    if (!supp && lg_supp_from_options(getenv("LOCKGRAPH_OPTIONS"), env_supp, sizeof env_supp))
        supp = env_supp;
    struct lg_summary_opts opts = {.out = stdout};
    struct lg_report_result r;
    lg_print_reports(paths, n, where, NULL, NULL, supp, &opts, &r);
    free(paths);

    if (r.supp_failed)
        return LG_EXIT_USAGE;
    if (r.counts.findings > 0)
        return exit_code;
    if (r.unreadable_files > 0 || r.corrupt_lines > 0)
        return LG_EXIT_USAGE;
    return LG_EXIT_OK;
}
