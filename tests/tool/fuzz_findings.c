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

#include "jsonl.h"
#include "report.h"

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
    memset(&r, 0, sizeof r);
    char *paths[] = {"fuzz.jsonl"};
    r.paths = paths;
    r.n_paths = 1;
    lg_findings_init(&r.set);

    struct lg_jsonl_reader rd;
    lg_jsonl_open(&rd, fp);
    const char *text;
    size_t len;
    char err[512];
    while (lg_jsonl_next(&rd, &text, &len) == LG_JSONL_LINE) {
        struct lg_finding f;
        bool unknown;
        if (lg_finding_parse(text, len, &f, &unknown, err, sizeof err) != 1)
            continue;
        /* Never open a file the input names. */
        for (size_t i = 0; i < f.n_modules; i++) {
            free(f.modules[i].path);
            f.modules[i].path = strdup("/nonexistent/fuzz");
        }
        f.file = strdup("fuzz.jsonl");
        f.line = rd.lineno;
        if (r.set.n == r.set.cap) {
            size_t cap = r.set.cap ? 2 * r.set.cap : 8;
            struct lg_finding *p = realloc(r.set.items, cap * sizeof *p);
            if (!p) {
                lg_finding_free(&f);
                break;
            }
            r.set.items = p;
            r.set.cap = cap;
        }
        r.set.items[r.set.n++] = f;
    }
    lg_jsonl_close(&rd);
    fclose(fp);
    free(copy);

    r.sym = lg_symbolizer_new(NULL);
    r.hidden = calloc(r.set.n ? r.set.n : 1, sizeof *r.hidden);
    if (r.sym && r.hidden && lg_group_findings(&r.set, NULL, true, &r.groups) == 0) {
        FILE *out = sink();
        lg_report_text(&r, out, LG_MARKUP_ANSI);
        lg_report_json(&r, out);
        lg_report_sarif(&r, out);
        lg_report_dot(&r, out);
        lg_report_html(&r, out, NULL);
        struct lg_summary_opts o = {.out = out, .sym = r.sym};
        lg_summary_print(&r.set, &o);
        lg_summary_closing(out, &r.set, "fuzz");
    }
    lg_report_free(&r);
    return 0;
}
