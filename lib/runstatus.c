/*
 * runstatus.c - the library's side of runstatus.h: attach at start, mark the
 * end of the program's executable, count findings no file received.
 *
 * Everything after attach is an atomic operation on the shared page: no
 * lock, no allocation, async-signal-safe (the _exit shim calls it). Without
 * LOCKGRAPH_RUN_STATUS (not under `lockgraph run`) every call does nothing.
 */
#include "runstatus.h"
#include "util.h"

#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

static struct lg_run_status *page;
static pid_t main_pid; /* our pid when this process is the program run started, else 0 */

void lg__run_status_attach(const char *exe)
{
    const char *path = getenv(LG_RUN_STATUS_ENV);
    if (!path || !*path)
        return;
    int fd = (int)syscall(SYS_openat, AT_FDCWD, path, O_RDWR | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return;
    struct stat st;
    void *p = MAP_FAILED;
    /* Only the file run made: ours, regular, whole (a short file would
     * raise SIGBUS in the program at the first touch past its end). */
    if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_uid == geteuid() &&
        st.st_size >= LG_RUN_STATUS_SIZE)
        p = mmap(NULL, LG_RUN_STATUS_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    syscall(SYS_close, fd);
    if (p == MAP_FAILED)
        return;
    struct lg_run_status *s = p;
    if (s->magic != LG_RUN_STATUS_MAGIC || s->version != LG_RUN_STATUS_VERSION) {
        munmap(p, LG_RUN_STATUS_SIZE);
        return;
    }
    page = s;
    __atomic_fetch_add(&s->started, 1, __ATOMIC_RELAXED);
    pid_t me = getpid();
    if (__atomic_load_n(&s->main_pid, __ATOMIC_RELAXED) == me) {
        main_pid = me;
        lg__strlcpy(s->main_exe, exe, sizeof(s->main_exe));
        __atomic_store_n(&s->main_state, LG_RUN_MAIN_WATCHED, __ATOMIC_RELEASE);
    }
}

bool lg__run_status_attached(void)
{
    return page != NULL;
}

void lg__run_status_fork_child(void)
{
    main_pid = 0; /* a child of the program is not the program */
}

void lg__run_status_ended(void)
{
    /* getpid(): a vfork child shares our memory and must not end us. */
    if (page && main_pid && getpid() == main_pid)
        __atomic_store_n(&page->main_state, LG_RUN_MAIN_ENDED, __ATOMIC_RELEASE);
}

void lg__run_status_unfiled(bool to_stderr)
{
    if (page)
        __atomic_fetch_add(to_stderr ? &page->to_stderr : &page->lost, 1, __ATOMIC_RELAXED);
}
