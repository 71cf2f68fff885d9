/*
 * interpose_proc.h - the shims for what a process does to itself beyond
 * locks: leave through _exit/_Exit, change its user or groups.
 */
#ifndef LG_INTERPOSE_PROC_H
#define LG_INTERPOSE_PROC_H

/* Find the real functions (dlsym), once, at start. */
void lg__interpose_proc_resolve(void);

#endif
