/*
 * fuzz_findings.c - a libFuzzer target for everything a findings file goes
 * through: the line reader, the parser of every kind (and of kinds it does
 * not know), grouping repeats, and printing each format (text, JSON,
 * SARIF, DOT, HTML).
 *
 * The input is one findings file. Module paths are dropped before anything
 * is symbolized, so a fuzzed path never makes the target open a file (a
 * FIFO or a device would hang it); the symbolizer is still called and falls
 * back to addresses. Any crash or leak it finds is kept under
 * tests/tool/fuzz-regressions/ and replayed by fuzz_replay.c in every test
 * run.
 *
 * Built only with a compiler that has -fsanitize=fuzzer (clang), see
 * tests/tool/CMakeLists.txt.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "format.h"
#include "outfile.h"
#include "jsonl.h"
#include "reportset.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static FILE *sink(void)
{
    static FILE *null;
    if (!null)
        null = fopen("/dev/null", "w");
    return null;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0 || size > (1u << 20))
        return 0;
    char *copy = malloc(size);
    if (!copy)
        return 0;
    memcpy(copy, data, size);
    FILE *fp = fmemopen(copy, size, "r");
    if (!fp) {
        free(copy);
        return 0;
    }

    struct lg_report r;
    char *paths[] = {"fuzz.jsonl"};
    struct lg_findings set;
    lg_findings_init(&set);
    if (lg_report_open(&r, paths, 1, NULL, 0, LG_REPORT_DEDUPE, sink()) != 0) {
        lg_report_free(&r);
        fclose(fp);
        free(copy);
        return 0;
    }
    lg_symbolizer_free(r.sym);
    r.sym = lg_symbolizer_new(NULL);

    struct lg_jsonl_reader rd;
    lg_jsonl_open(&rd, fp);
    const char *text;
    size_t len;
    char err[512];
    enum lg_jsonl_next next;
    while ((next = lg_jsonl_next(&rd, &text, &len)) == LG_JSONL_LINE || next == LG_JSONL_LONG) {
        if (next != LG_JSONL_LINE)
            continue;
        /* Twice: once into the report, once into a set for the plain summary. */
        for (int pass = 0; pass < 2; pass++) {
            struct lg_finding f;
            bool unknown;
            if (lg_finding_parse(text, len, &f, &unknown, err, sizeof err) != 1)
                break;
            /* Never open a file the input names. */
            for (size_t i = 0; i < f.n_modules; i++) {
                free(f.modules[i].path);
                f.modules[i].path = strdup("/nonexistent/fuzz");
            }
            f.file = strdup("fuzz.jsonl");
            f.line = rd.lineno;
            if (pass == 0) {
                lg_report_add(&r, &f);
                continue;
            }
            if (set.n == set.cap) {
                size_t cap = set.cap ? 2 * set.cap : 8;
                struct lg_finding *p = realloc(set.items, cap * sizeof *p);
                if (!p) {
                    lg_finding_free(&f);
                    break;
                }
                set.items = p;
                set.cap = cap;
            }
            set.items[set.n++] = f;
        }
    }
    if (next == LG_JSONL_CUT)
        lg_json_is_cut_object(text, len);
    lg_jsonl_close(&rd);
    fclose(fp);
    free(copy);

    if (r.sym && lg_report_finish(&r) == 0) {
        FILE *out = sink();
        struct lg_format_opts o = {.markup = LG_MARKUP_ANSI};
        for (size_t i = 0; lg_formats[i]; i++) {
            FILE *f = lg_formats[i]->utf8 ? lg_utf8_filter(out) : out;
            if (f) {
                lg_format_write(lg_formats[i], &r, f, &o);
                if (f != out)
                    fclose(f);
            }
        }
        struct lg_summary_opts so = {.out = out, .sym = r.sym};
        lg_summary_print(&set, &so);
        lg_summary_closing(out, &set, "fuzz");
    }
    lg_findings_free(&set);
    lg_report_free(&r);
    return 0;
}
