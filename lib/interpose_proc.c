/*
 * interpose_proc.c - the shims for what a process does to itself beyond
 * locks: leaving through _exit or _Exit, and changing its user or groups.
 *
 * _exit, _Exit: exit() runs lockgraph's destructor; these do not, so they
 * do its two async-signal-safe parts here: remove a findings file made
 * early and still empty, and tell `lockgraph run` the program was watched
 * to its end (lbzip2 and many fork children leave this way).
 *
 * setuid and the rest of the family: the findings file is made at the first
 * finding (report.c), and after a process has given up its user it may no
 * longer create files where its findings go. Each of these calls makes the
 * file first, while it still may.
 *
 * (close, close_range and closefrom leave lockgraph's own fds open: see
 * lg__fd_own in util.h; their shims are in interpose_io.c.)
 *
 * Every shim has one shape: lockgraph's part (skipped unless lockgraph is
 * running, and when the call comes from inside it), then the real call.
 * Nothing here allocates or takes a lock that could be held already: the
 * exit shims only try report_lock.
 */
#include "interpose_proc.h"
#include "report.h"
#include "runstatus.h"
#include "runtime.h"

#include <dlfcn.h>
#include <grp.h>
#include <stdlib.h>
#include <sys/fsuid.h>
#include <sys/syscall.h>
#include <unistd.h>

#define LG_EXPORT __attribute__((visibility("default")))

/* X(name, parameter list, argument list); each returns int. */
#define LG_IDENTITY_TABLE(X)                                                                       \
    X(setuid, (uid_t u), (u))                                                                      \
    X(seteuid, (uid_t u), (u))                                                                     \
    X(setreuid, (uid_t r, uid_t e), (r, e))                                                        \
    X(setresuid, (uid_t r, uid_t e, uid_t s), (r, e, s))                                           \
    X(setfsuid, (uid_t u), (u))                                                                    \
    X(setgid, (gid_t g), (g))                                                                      \
    X(setegid, (gid_t g), (g))                                                                     \
    X(setregid, (gid_t r, gid_t e), (r, e))                                                        \
    X(setresgid, (gid_t r, gid_t e, gid_t s), (r, e, s))                                           \
    X(setfsgid, (gid_t g), (g))                                                                    \
    X(setgroups, (size_t n, const gid_t *list), (n, list))                                         \
    X(initgroups, (const char *user, gid_t g), (user, g))

#define LG_REAL_PTR(name, params, args) static int(*real_##name) params;
LG_IDENTITY_TABLE(LG_REAL_PTR)
static void (*real__exit)(int);
static void (*real__Exit)(int);

static void *resolve(const char *name)
{
    int saved = lg__busy;
    lg__busy = 1; /* dlsym may call in (malloc, locks) */
    void *p = dlsym(RTLD_NEXT, name);
    lg__busy = saved;
    return p;
}

void lg__interpose_proc_resolve(void)
{
#define LG_RESOLVE_ID(name, params, args) real_##name = (int(*) params)resolve(#name);
    LG_IDENTITY_TABLE(LG_RESOLVE_ID)
    real__exit = (void (*)(int))resolve("_exit");

    real__Exit = (void (*)(int))resolve("_Exit");
}

static bool active(void)
{
    return !lg__busy && atomic_load_explicit(&lg__state, memory_order_acquire) == LG_STATE_ACTIVE;
}

/* ---- identity ---- */

static void identity_changing(void)
{
    if (!active())
        return;
    lg__busy = 1;
    lg__report_identity_changing();
    lg__busy = 0;
}

#define LG_ID_SHIM(name, params, args)                                                             \
    LG_EXPORT int name params                                                                      \
    {                                                                                              \
        identity_changing();                                                                       \
        if (!real_##name)                                                                          \
            real_##name = (int(*) params)resolve(#name);                                           \
        return real_##name args;                                                                   \
    }
LG_IDENTITY_TABLE(LG_ID_SHIM)

/* ---- leaving ---- */

/* No dlsym here (it may take the loader's lock, held by another thread of a
 * parent at fork): before start the system call does it, as glibc does. */
static _Noreturn void leave(void (*real)(int), int status)
{
    if (atomic_load_explicit(&lg__state, memory_order_acquire) == LG_STATE_ACTIVE) {
        lg__report_leaving();
        lg__run_status_ended();
    }
    if (real)
        real(status);
    for (;;)
        syscall(SYS_exit_group, status);
}

LG_EXPORT void _exit(int status)
{
    leave(real__exit, status);
}

LG_EXPORT void _Exit(int status)
{
    leave(real__Exit, status);
}
