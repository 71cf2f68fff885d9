/*
 * dump.h - the graph file: the whole lock graph with lock instances folded
 * into their stable keys (FINDINGS.md, "The graph file"), for merging runs
 * and proposing rank files.
 */
#ifndef LG_DUMP_H
#define LG_DUMP_H

#include <stdbool.h>

/* Write the graph to pattern (%p: the pid), replacing the file. Returns 0,
 * or -1 after saying why on stderr (unless quiet). Walks the graph without
 * stopping the program: locks and edges made meanwhile may or may not be in
 * it. Never called with a lockgraph lock held. */
int lg__dump_graph(const char *pattern, bool at_exit);

/* fork support: see sync.h for the order. */
void lg__dump_lock_all(void);
void lg__dump_unlock_all(void);
void lg__dump_reset_child(void);

#endif
