/*
 * reportpath.h - the report file name a run hands to liblockgraph, and the
 * files it turns into.
 *
 * The model: LOCKGRAPH_REPORT is a pattern where each "%p" becomes a process
 * id, so one run of a forking program leaves one file per process (each
 * made at its first finding). Before the run, a stale file at a fixed name is
 * removed (its findings would be read as new); after it, a %p pattern is
 * expanded to the files that match it with digits in place of %p and were
 * written since the run started.
 */
#ifndef LG_TOOL_REPORTPATH_H
#define LG_TOOL_REPORTPATH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <time.h>

bool lg_report_has_pid(const char *pattern);

/* Does `path` match `pattern`, with each %p standing for one or more digits? */
bool lg_report_match(const char *pattern, const char *path);

/*
 * Get ready for a run writing to `pattern`: make its directory when missing
 * (unless the directory has a %p), and remove what a fixed name holds from
 * an earlier run, refusing (as the library does) a symbolic link, anything
 * not a regular file, another user's file or one with other hard links.
 * Returns 0, or -1 after writing the reason to `diag`.
 */
int lg_report_prepare(const char *pattern, FILE *diag);

/* The pid in `path` where `pattern` has its first %p, or -1. */
long lg_report_pid(const char *pattern, const char *path);

/* The files of a run, in natural order (findings.99 before findings.100).
 * A fixed name yields itself when it exists; a %p pattern yields files whose
 * modification time is not before `since`. Returns 0, or -1 when out of
 * memory. Free with lg_report_list_free. */
int lg_report_list(const char *pattern, const struct timespec *since, char ***paths, size_t *n);
void lg_report_list_free(char **paths, size_t n);

#endif
