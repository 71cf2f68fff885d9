/*
 * format_text.c - `lockgraph report` as text: each distinct finding's
 * block (summary.c) with where else it was seen, the suppressions used,
 * and the closing line. Streams: without dedupe, each finding is printed
 * as it is read.
 */
#include <stdlib.h>

#include "format.h"

struct text {
    struct lg_report *r;
    FILE *out;
    enum lg_markup markup;
};

static void *begin(struct lg_report *r, FILE *out, const struct lg_format_opts *o)
{
    struct text *t = malloc(sizeof *t);
    if (t)
        *t = (struct text){.r = r, .out = out, .markup = o->markup};
    return t;
}

static int group(void *state, const struct lg_group *g, size_t number)
{
    struct text *t = state;
    lg_report_print_group(t->r, g, number, t->out, t->markup);
    return 0;
}

static int end(void *state)
{
    struct text *t = state;
    lg_report_print_suppressions(t->r, t->out);
    lg_report_closing(t->r, t->out, NULL);
    fflush(t->out);
    free(t);
    return 0;
}

const struct lg_format lg_format_text = {.name = "text",
                                         .utf8 = false,
                                         .all_seen = false,
                                         .streams = true,
                                         .begin = begin,
                                         .group = group,
                                         .end = end};
