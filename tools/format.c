/*
 * format.c - the table of the report's formats, and driving one over a
 * loaded report.
 */
#include "format.h"

#include <string.h>

const struct lg_format *const lg_formats[] = {
    &lg_format_text, &lg_format_json, &lg_format_sarif, &lg_format_html, &lg_format_dot, NULL,
};

const struct lg_format *lg_format_find(const char *name)
{
    for (size_t i = 0; lg_formats[i]; i++)
        if (strcmp(lg_formats[i]->name, name) == 0)
            return lg_formats[i];
    return NULL;
}

struct drive {
    const struct lg_format *fmt;
    void *state;
};

static int one(void *arg, struct lg_report *r, const struct lg_group *g, size_t number)
{
    (void)r;
    struct drive *d = arg;
    return d->fmt->group(d->state, g, number);
}

int lg_format_write(const struct lg_format *fmt, struct lg_report *r, FILE *out,
                    const struct lg_format_opts *o)
{
    struct drive d = {.fmt = fmt, .state = fmt->begin(r, out, o)};
    if (!d.state)
        return -1;
    int rc = lg_report_each_group(r, one, &d);
    if (fmt->end(d.state) != 0)
        rc = -1;
    return rc;
}
