/*
 * format.h - the output formats of a findings report, behind one table.
 *
 * The model: a format is three calls - begin (the report is loaded: its
 * groups and counts are final, unless the format streams), one call per
 * distinct finding in order, and end - writing to one stream as it goes.
 * Each format is a leaf (format_text.c, format_json.c, format_sarif.c,
 * format_html.c, format_dot.c): it reads the report (reportset.h) and the
 * shared renderers (summary.h, symbolize.h, dot.h, jsonout.h), and never
 * another format. The verbs (report.c) pick one by name and drive it; what
 * one format needs of another (the HTML page's picture is the DOT format
 * drawn by Graphviz) the verb makes and hands over in the options.
 */
#ifndef LG_TOOL_FORMAT_H
#define LG_TOOL_FORMAT_H

#include <stdbool.h>
#include <stdio.h>

#include "reportset.h"

struct lg_format_opts {
    enum lg_markup markup; /* text: plain, or ANSI colour */
    const char *svg;       /* html: the lock graph drawn (an <svg> element), or NULL */
};

struct lg_format {
    const char *name;
    bool utf8;     /* the output must be valid UTF-8: written through lg_utf8_filter */
    bool all_seen; /* lists every place a finding was seen (LG_REPORT_ALL_SEEN) */
    bool streams;  /* begin and group may come before the input is all read */
    /* Start writing to `out`: returns the format's state, NULL when out of
     * memory. */
    void *(*begin)(struct lg_report *r, FILE *out, const struct lg_format_opts *o);
    /* One distinct finding, numbered per kind. 0, or -1 when out of memory. */
    int (*group)(void *state, const struct lg_group *g, size_t number);
    /* The rest; frees the state. 0, or -1 when out of memory. */
    int (*end)(void *state);
};

/* The formats, NULL-terminated: text, json, sarif, html, dot. */
extern const struct lg_format *const lg_formats[];

/* The format called `name`; NULL when there is none. */
const struct lg_format *lg_format_find(const char *name);

/* begin, every group of the loaded report, end. 0, or -1 when out of memory. */
int lg_format_write(const struct lg_format *fmt, struct lg_report *r, FILE *out,
                    const struct lg_format_opts *o);

/* The formats themselves (format_<name>.c). */
extern const struct lg_format lg_format_text, lg_format_json, lg_format_sarif, lg_format_html,
    lg_format_dot;

#endif
