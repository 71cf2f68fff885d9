/*
 * fake_preload.c - a stand-in for liblockgraph.so, for testing the `run`
 * verb on its own: when LGTEST_CANNED names a file, its lines are appended
 * to LOCKGRAPH_REPORT (with %p as the pid) when the program starts. It
 * watches no locks. Test support only; the real library's end-to-end tests
 * live with the library.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

__attribute__((constructor)) static void write_canned_findings(void)
{
    const char *canned = getenv("LGTEST_CANNED");
    const char *report = getenv("LOCKGRAPH_REPORT");
    if (!canned || !report)
        return;
    char path[4096];
    const char *p = strstr(report, "%p");
    if (p)
        snprintf(path, sizeof path, "%.*s%ld%s", (int)(p - report), report, (long)getpid(), p + 2);
    else
        snprintf(path, sizeof path, "%s", report);
    FILE *in = fopen(canned, "r");
    FILE *out = fopen(path, "a");
    if (in && out) {
        char buf[4096];
        size_t n;
        while ((n = fread(buf, 1, sizeof buf, in)) > 0)
            fwrite(buf, 1, n, out);
    }
    if (in)
        fclose(in);
    if (out)
        fclose(out);
}
