/*
 * sync.c - lockgraph's own locks, together (see sync.h).
 */
#include "sync.h"

/* Every lock of the library on a page of its own: a fork's handlers write
 * them all, and after the fork each page written is copied on both sides. */
struct lg__locks lg__locks __attribute__((aligned(4096)));
