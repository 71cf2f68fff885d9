/*
 * fake_preload.c - a stand-in for liblockgraph.so, for testing the `run`
 * verb on its own: when LGTEST_CANNED names a file, its lines are appended
 * to LOCKGRAPH_REPORT (with %p as the pid) when the program starts. It
 * watches no locks. Like the library it tells run it started, and that the
 * program ended, through the run status record (lib/runstatus.h);
 * LGTEST_STDERR_FINDINGS=N says N findings went to stderr instead of a
 * file. Test support only; the real library's end-to-end tests live with
 * the library.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "runstatus.h"

static struct lg_run_status *status;

__attribute__((constructor)) static void attach_status(void)
{
    const char *path = getenv(LG_RUN_STATUS_ENV);
    int fd = path ? open(path, O_RDWR | O_CLOEXEC) : -1;
    if (fd < 0)
        return;
    void *p = mmap(NULL, LG_RUN_STATUS_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    close(fd);
    if (p == MAP_FAILED)
        return;
    status = p;
    __atomic_fetch_add(&status->started, 1, __ATOMIC_RELAXED);
    if (status->main_pid == getpid()) {
        snprintf(status->main_exe, sizeof status->main_exe, "fake");
        __atomic_store_n(&status->main_state, LG_RUN_MAIN_WATCHED, __ATOMIC_RELEASE);
    }
    const char *n = getenv("LGTEST_STDERR_FINDINGS");
    if (n)
        __atomic_fetch_add(&status->to_stderr, strtoull(n, NULL, 10), __ATOMIC_RELAXED);
}

__attribute__((destructor)) static void program_ended(void)
{
    if (status && status->main_pid == getpid())
        __atomic_store_n(&status->main_state, LG_RUN_MAIN_ENDED, __ATOMIC_RELEASE);
}

/* dash leaves through _exit, which runs no destructor. */
void _exit(int code)
{
    program_ended();
    for (;;)
        syscall(SYS_exit_group, code);
}

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
