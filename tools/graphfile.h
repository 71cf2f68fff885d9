/*
 * graphfile.h - a graph file (FINDINGS.md "The graph file") as C structs.
 *
 * The model: a process's whole lock graph, whose vertices are lock classes
 * named by stable key (FINDINGS.md "Lock classes"). A `graph`
 * header (with the module map every stack in the file is symbolized with),
 * one `graph-lock` per key, one `graph-edge` per ordered key pair, and a
 * `graph-end` line whose absence means the file was cut short. Keys stay
 * opaque text here; keygraph.h is what gives them meaning.
 */
#ifndef LG_TOOL_GRAPHFILE_H
#define LG_TOOL_GRAPHFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "findings.h"

struct lg_graph_lock {
    char *key;        /* never NULL or empty after parsing */
    char *type;       /* "mutex", ...; never NULL ("mutex" when absent) */
    char *mode;       /* "normal", "prefer-reader", ...; NULL when absent */
    long instances;   /* lock instances folded into this key; 0 when absent */
    char *name;       /* NULL when absent */
    char *class_name; /* the ranked class's label; NULL when absent */
    char *class_kind; /* the lock class the key stands for: "site", "chain", "addr",
                         "name" (read as text); NULL in files of earlier versions */
    bool has_rank;
    long rank;
    bool created; /* stack is where one instance was created, else first locked */
    struct lg_stack stack;
    size_t line; /* in its file, for messages */
};

struct lg_graph_edge {
    char *from, *to; /* keys; never NULL or empty after parsing */
    long instances;
    char *held, *waited;     /* "exclusive" / "shared"; NULL when absent */
    char *address_order;     /* from == to only: "ascending", "descending", "both"
                                (read as text); NULL when absent */
    char *gate;              /* the key every instance edge was made under; NULL: none */
    bool timed;              /* the example was a timed lock */
    struct lg_thread thread; /* one instance edge: */
    bool first_exact;
    struct lg_stack first, second;
    size_t line;
};

struct lg_graph_file {
    char *path;
    long version, pid;
    int64_t time_ns;
    char *exe; /* NULL when absent */
    struct lg_module *modules;
    size_t n_modules;

    struct lg_graph_lock *locks;
    size_t n_locks, cap_locks;
    struct lg_graph_edge *edges;
    size_t n_edges, cap_edges;

    size_t read_locks, read_edges; /* lines read: n_locks and n_edges, also once
                                      the lines are freed (lg_graph_free_lines) */
    bool classes;  /* its vertices are lock classes (a graph-lock line of class_kind site,
                      chain or name: written with classes=1); false: each is the locks
                      of one key, a class of its own each (classes=0, or every lock
                      was; a file of an earlier version). What to call them. */
    bool complete; /* the graph-end line was read */
    long end_locks, end_edges; /* its counts */
    size_t bad_lines;          /* skipped, each reported with file:line */
    size_t unknown_lines;      /* kinds this reader does not know: ignored */
    bool cut_line;             /* the last line had no newline: ignored */
};

/*
 * Read the graph file at `path` into *g. Problems go to `diag`, one line
 * each naming the file (and line): a bad line is skipped and reading goes
 * on; a file without graph-end is used as far as it goes, with a warning.
 * Returns 0 when the file was read (check g->complete and g->bad_lines),
 * -1 when it could not be used at all: it cannot be opened or read, is
 * empty, or does not start with a `graph` header; *g is then empty.
 */
int lg_graph_read(const char *path, struct lg_graph_file *g, FILE *diag);

/* What a graph file's vertices are, for counts: "lock class" or "lock"
 * (lg_graph_noun(classes, n): the plural when n != 1). */
const char *lg_graph_noun(bool classes, size_t n);

void lg_graph_free(struct lg_graph_file *g);
/* Free the lock and edge lines, keep the rest (n_locks, n_edges become 0). */
void lg_graph_free_lines(struct lg_graph_file *g);
/* One line's members (the struct itself is the caller's). */
void lg_graph_lock_free(struct lg_graph_lock *l);
void lg_graph_edge_free(struct lg_graph_edge *e);

#endif
