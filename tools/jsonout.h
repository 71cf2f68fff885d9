/*
 * jsonout.h - writing the tool's JSON documents (report --format json,
 * SARIF, merge --format json) as they are made, in json-c's pretty layout.
 *
 * The model: a document is built with json-c except one array that may be
 * long (the findings, the results, the places a finding was seen); that
 * array holds a placeholder, the document is laid out once, and the text
 * around the placeholder is written before and after the array's
 * elements, each laid out on its own and indented to where it stands.
 * The bytes are those json-c writes for the whole document, but only one
 * element is in memory at a time.
 */
#ifndef LG_TOOL_JSONOUT_H
#define LG_TOOL_JSONOUT_H

#include <json.h>
#include <stdbool.h>
#include <stdio.h>

/* json-c's layout of every document the tool writes. */
#define LG_JSON_FLAGS                                                                              \
    (JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED | JSON_C_TO_STRING_NOSLASHESCAPE)

/* The placeholder: put it (lg_json_splice_mark()) as the only element of
 * the array to stream. */
json_object *lg_json_splice_mark(void);

struct lg_json_splice {
    FILE *out;
    char *text;       /* the document laid out, placeholder included */
    size_t head_len;  /* text before the placeholder's line */
    const char *tail; /* text after it */
    size_t indent;    /* the placeholder's indentation, in spaces */
    size_t outer;     /* indentation of the document itself (nested splices) */
    bool any;         /* an element was written */
};

/*
 * Lay out `doc` (which holds the placeholder once; put by the caller) and
 * write the text before the array's elements. `outer`: spaces every line
 * but the first is indented by (0 for a whole document; the indentation
 * of an element being written, for an array inside it). Returns 0, or -1
 * when out of memory or the placeholder is missing (nothing written).
 */
int lg_json_splice_begin(struct lg_json_splice *s, json_object *doc, FILE *out, size_t outer);
/* One element, laid out and indented; -1 when out of memory. */
int lg_json_splice_item(struct lg_json_splice *s, json_object *item);
/* Start an element written by other means (a document with a splice of
 * its own): the separator and indentation are written; returns the
 * indentation the element's own lines take (its `outer`). */
size_t lg_json_splice_item_begin(struct lg_json_splice *s);
/* The text after the elements; frees the layout. */
void lg_json_splice_end(struct lg_json_splice *s);

/* Write `text` with every line after the first indented by `indent`
 * spaces. */
void lg_json_put_indented(FILE *out, const char *text, size_t indent);

#endif
