/*
 * runstatus.h - what the processes of a `lockgraph run` tell the command
 * that started them, beyond their findings files.
 *
 * `lockgraph run` makes a file of LG_RUN_STATUS_SIZE bytes holding this
 * record, and names it in LOCKGRAPH_RUN_STATUS. Every process in which the
 * library starts maps it shared, once, at start: the mapping outlives
 * chdir, chroot, setuid and a program closing every fd, and is inherited by
 * fork children. Fields are updated with atomic operations only; run reads
 * them after the program has ended.
 *
 * With it, run can tell a clean run from one that was not watched at all
 * (the library never started: LD_PRELOAD cleared, a static or set-user-ID
 * executable exec'd), and count findings that reached no findings file.
 *
 * Shared by the library (runstatus.c) and the command (tools/run.c), so it
 * uses plain integer fields and the compiler's __atomic builtins.
 */
#ifndef LG_RUNSTATUS_H
#define LG_RUNSTATUS_H

#include <stdint.h>

#define LG_RUN_STATUS_ENV "LOCKGRAPH_RUN_STATUS"
#define LG_RUN_STATUS_MAGIC 0x6c677273u /* "lgrs" */
#define LG_RUN_STATUS_VERSION 1u
#define LG_RUN_STATUS_SIZE 4096

/* main_state: the program run started, as its last executable left it. */
enum {
    LG_RUN_MAIN_NONE = 0, /* the library never started in it */
    LG_RUN_MAIN_WATCHED,  /* started in its current executable, has not ended */
    LG_RUN_MAIN_ENDED     /* left through exit or _exit, watched to the end */
};

struct lg_run_status {
    uint32_t magic;   /* set by run */
    uint32_t version; /* set by run */
    int32_t main_pid; /* set by run's child before it execs the program */
    uint32_t started; /* processes in which the library started */
    uint32_t main_state;
    uint32_t reserved;
    uint64_t to_stderr; /* findings that went to stderr only: no findings file */
    uint64_t lost;      /* findings written nowhere (no file, and stderr gone) */
    char main_exe[256]; /* the program's last executable the library saw */
};

/* The library's side (runstatus.c); the command uses only the record. */
#include <stdbool.h>
/* At start: map the record if LOCKGRAPH_RUN_STATUS names one, count this
 * process, and when it is the program run started, mark it watched. */
void lg__run_status_attach(const char *exe);
bool lg__run_status_attached(void);
/* In a fork child: not the program run started. */
void lg__run_status_fork_child(void);
/* The process is leaving through exit or _exit (async-signal-safe). */
void lg__run_status_ended(void);
/* A finding reached stderr only (to_stderr), or nowhere. */
void lg__run_status_unfiled(bool to_stderr);

#endif
