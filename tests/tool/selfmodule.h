/*
 * selfmodule.h - test helper: the module record (FINDINGS.md "module") of the
 * running test executable, built from dl_iterate_phdr the way liblockgraph
 * builds it, so tests can symbolize their own functions.
 */
#ifndef LG_TOOL_TEST_SELFMODULE_H
#define LG_TOOL_TEST_SELFMODULE_H

#include "findings.h"

/* Fill *m for the main executable; 0 on success. Free with
 * selfmodule_free. */
int selfmodule_get(struct lg_module *m);
void selfmodule_free(struct lg_module *m);

#endif
