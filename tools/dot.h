/*
 * dot.h - Graphviz DOT text for the lock graphs of `report`, `dot` and
 * `merge`, and rendering it with Graphviz's own `dot` program.
 *
 * The model: nodes are locks (numbered by the caller), labelled with what
 * names them; an edge A -> B says a thread took B while holding A. Edges on
 * a cycle are red and thick, the rest grey; labels come from the program
 * under test and are escaped here, so no name can break the file.
 */
#ifndef LG_TOOL_DOT_H
#define LG_TOOL_DOT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

enum lg_dot_style {
    LG_DOT_PLAIN, /* an edge of the graph */
    LG_DOT_CYCLE, /* an edge of a cycle: red */
    LG_DOT_GATED, /* made under a gate lock: dotted */
    LG_DOT_RANK,  /* against the declared ranks: orange, dashed */
};

void lg_dot_begin(FILE *out, const char *title);
/* Node `id`: `label` may hold newlines (one line each). */
void lg_dot_node(FILE *out, size_t id, const char *label, bool on_cycle);
/* `shared`: some side of it is a shared (read) lock. */
void lg_dot_edge(FILE *out, size_t from, size_t to, const char *label, enum lg_dot_style style,
                 bool shared);
void lg_dot_end(FILE *out);
/* A dashed box (a Graphviz cluster) around the nodes written until
 * lg_dot_cluster_end; `id` tells boxes apart, `label` names it. */
void lg_dot_cluster_begin(FILE *out, size_t id, const char *label);
void lg_dot_cluster_end(FILE *out);

/* `s` as the inside of a DOT string: quotes and backslashes escaped,
 * newlines as \n, other control bytes as '?'. */
void lg_dot_escape(FILE *out, const char *s);

/* The `dot` program: LOCKGRAPH_DOT when set, else `dot` on PATH; NULL when
 * there is none. */
const char *lg_dot_program(void);

/* Render DOT text as SVG with `dot -Tsvg`. Returns the SVG (to free), or
 * NULL with the reason in `why`. */
char *lg_dot_render_svg(const char *dot_text, size_t len, char *why, size_t whylen);

/* The same, to a file. Returns 0, or -1 with the reason in `why`. */
int lg_dot_render_file(const char *dot_text, size_t len, const char *format, const char *path,
                       char *why, size_t whylen);

#endif
