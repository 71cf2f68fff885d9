/*
 * jsonout.c - a long JSON array written element by element, in the layout
 * json-c gives the whole document (see jsonout.h).
 */
#include "jsonout.h"

#include <stdlib.h>
#include <string.h>

#define MARK "\x01lockgraph-splice\x01"

json_object *lg_json_splice_mark(void)
{
    return json_object_new_string(MARK);
}

void lg_json_put_indented(FILE *out, const char *text, size_t indent)
{
    for (const char *p = text; *p;) {
        const char *nl = strchr(p, '\n');
        size_t n = nl ? (size_t)(nl - p) + 1 : strlen(p);
        fwrite(p, 1, n, out);
        p += n;
        if (nl && *p)
            fprintf(out, "%*s", (int)indent, "");
    }
}

int lg_json_splice_begin(struct lg_json_splice *s, json_object *doc, FILE *out, size_t outer)
{
    memset(s, 0, sizeof *s);
    const char *laid = json_object_to_json_string_ext(doc, LG_JSON_FLAGS);
    /* The placeholder as json-c writes it: control bytes as \u0001. */
    const char *mark = laid ? strstr(laid, "\"\\u0001lockgraph-splice\\u0001\"") : NULL;
    if (!mark || !(s->text = strdup(laid)))
        return -1;
    mark = s->text + (mark - laid);
    const char *line = mark;
    while (line > s->text && line[-1] != '\n')
        line--;
    s->out = out;
    s->head_len = (size_t)(line - s->text);
    s->indent = (size_t)(mark - line);
    const char *nl = strchr(mark, '\n');
    s->tail = nl ? nl + 1 : mark + strlen(mark);
    s->outer = outer;
    /* The head ends with the array's opening line. */
    char saved = s->text[s->head_len];
    s->text[s->head_len] = '\0';
    lg_json_put_indented(out, s->text, outer);
    s->text[s->head_len] = saved;
    return 0;
}

size_t lg_json_splice_item_begin(struct lg_json_splice *s)
{
    if (s->any)
        fputs(",\n", s->out);
    fprintf(s->out, "%*s", (int)(s->outer + s->indent), "");
    s->any = true;
    return s->outer + s->indent;
}

int lg_json_splice_item(struct lg_json_splice *s, json_object *item)
{
    const char *laid = json_object_to_json_string_ext(item, LG_JSON_FLAGS);
    if (!laid)
        return -1;
    lg_json_put_indented(s->out, laid, lg_json_splice_item_begin(s));
    return 0;
}

void lg_json_splice_end(struct lg_json_splice *s)
{
    if (s->any)
        fputc('\n', s->out);
    /* The tail starts at the closing bracket's line: indent it too. */
    fprintf(s->out, "%*s", (int)s->outer, "");
    lg_json_put_indented(s->out, s->tail, s->outer);
    free(s->text);
    s->text = NULL;
}
