/*
 * merge.h - `lockgraph merge`: the lock graphs of many runs (test
 * processes, CI shards) as one, and the cycles only their union shows.
 *
 * The model: each run's graph file (graph= in LOCKGRAPH_OPTIONS) holds the
 * lock order that run took, folded by stable key; keygraph.c unions them and
 * finds every cycle that can deadlock under the runtime's rules. A cycle is
 * reported once, with the file (run) each edge came from and that edge's
 * symbolized stacks, and is marked as shown by a single run already or only
 * by the union. The same pipeline draws the union for `lockgraph dot`.
 */
#ifndef LG_TOOL_MERGE_H
#define LG_TOOL_MERGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "graphfile.h"
#include "keygraph.h"
#include "suppress.h"
#include "symbolize.h"

/* Cycles listed at most; a union with more says so. */
#define LG_MERGE_MAX_CYCLES 1000

struct lg_merge {
    char *const *paths;
    size_t n_paths;
    size_t n_files;    /* read, in the order given: lg_keygraph_file(kg, i) */
    size_t unreadable; /* files that could not be used at all */
    size_t bad_lines;  /* lines skipped in the files read */
    struct lg_keygraph *kg;
    struct lg_keycycle *cycles;
    size_t n_cycles;
    bool capped;
    bool *hidden; /* hidden[i]: cycle i was suppressed */
    size_t suppressed;
    struct lg_supp supp;
    struct lg_symbolizer *sym;
};

/* Read, union, find the cycles, apply the suppressions. Problems with the
 * graph files go to `diag` (and count in unreadable / bad_lines). Returns
 * 0, or -1 after saying why (a bad suppressions file, out of memory). */
int lg_merge_load(struct lg_merge *m, char *const *paths, size_t n_paths,
                  const char *const *supp_paths, size_t n_supp, FILE *diag);
void lg_merge_free(struct lg_merge *m);

/* Cycles not suppressed, and of those the ones no single run showed. */
size_t lg_merge_shown(const struct lg_merge *m, size_t *only_union);

void lg_merge_text(struct lg_merge *m, FILE *out);
int lg_merge_json(struct lg_merge *m, FILE *out);
/* The union's lock graph in DOT, the cycles' edges in red. */
void lg_merge_dot(struct lg_merge *m, FILE *out);

#endif
