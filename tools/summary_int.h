/*
 * summary_int.h - what the files of the text report share (internal to
 * summary*.c): the printer one finding is printed with, and the pieces
 * every kind's block is made of.
 *
 * The model: summary.c picks the block for a finding's kind from its table
 * and hands it a printer; each summary_<what>.c renders one family of
 * kinds; summary_core.c holds what they all use (markup, symbolized
 * stacks, threads, locks, quoting of text from the program under test).
 * Nothing here decides what is a finding or an exit code.
 */
#ifndef LG_TOOL_SUMMARY_INT_H
#define LG_TOOL_SUMMARY_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "summary.h"

struct lg_printer {
    FILE *out;
    struct lg_symbolizer *sym;
    const struct lg_finding *f;
    const struct lg_module *mods; /* the module map stacks are symbolized with */
    size_t n_mods;
    enum lg_markup markup;
    const struct lg_summary_opts *opts; /* NULL for the helpers other reports call */
    char cwd[4096];
    size_t cwd_len;
};

#define SGR_RESET "\033[0m"
#define SGR_HEAD "\033[1m"   /* a finding's first line */
#define SGR_BAD "\033[1;31m" /* what deadlocks */
#define SGR_FUNC "\033[1m"   /* a function in a stack */
#define SGR_WHERE "\033[36m" /* its file:line, or module+offset */
#define SGR_WARN "\033[33m"  /* a finding that does not hang by itself */

void lg__printer_init(struct lg_printer *p, FILE *out, struct lg_symbolizer *sym,
                      const struct lg_module *mods, size_t n_mods);

/* ANSI markup, written only when the printer colours (LG_MARKUP_ANSI). */
void lg__sgr(const struct lg_printer *p, const char *code);
/* A finding's first line: bold, red for what hangs; head_end ends it and
 * lets the caller annotate it (opts->annotate). */
void lg__head_begin(const struct lg_printer *p, bool hangs);
void lg__head_end(const struct lg_printer *p);

/* Text from the program, quoted with anything that could garble a
 * terminal escaped; a word (a class label, a key) bare when it is one
 * plain word, else quoted. */
void lg__put_quoted(FILE *out, const char *s);
void lg__put_word(FILE *out, const char *s);
const char *lg__plural(size_t n, const char *one, const char *many);

/* A resolved frame, the innermost source frame of a pc, a whole stack
 * ("#0 ..." lines; `drop_repeat`: a reconstructed first_stack). */
void lg__frame_text(const struct lg_printer *p, const struct lg_frame *fr, char *buf, size_t len);
void lg__site_text(const struct lg_printer *p, uint64_t pc, char *buf, size_t len);
/* The first frame of s in the program's own source (past system headers:
 * std::mutex::lock, lock_guard), else frame 0, as lg__site_text. */
struct lg_stack;
void lg__site_text_of(const struct lg_printer *p, const struct lg_stack *s, char *buf, size_t len);
void lg__print_stack(const struct lg_printer *p, const struct lg_stack *s, const char *indent,
                     bool drop_repeat);

/* "thread 2 "name" (tid 1234)"; _named leaves an empty name out. */
void lg__print_thread(const struct lg_printer *p, const struct lg_thread *t);
void lg__print_thread_named(const struct lg_printer *p, const struct lg_thread *t);

/* A lock in full: "mutex 0x... "name" (normal), created at SITE [key K,
 * class C, rank N]"; and the rank fields alone. */
void lg__print_lock_desc(const struct lg_printer *p, const struct lg_lock *l);
void lg__print_rank_fields(const struct lg_printer *p, const struct lg_lock *l, bool with_key);

/* A lock's class in words (FINDINGS.md "Lock classes"): "every mutex
 * (normal) made by mutex_create (x.c:56) called from conn_new (x.c:61)",
 * "every mutex made at conn_new (x.c:63)", "every mutex named "account"",
 * "the mutex 0x... (never initialized: a class of its own), first locked
 * at f (x.c:9)"; then, `with_key`, " [key K]". False (nothing printed)
 * for a lock without a class. */
bool lg__print_class_desc(const struct lg_printer *p, const struct lg_lock *l, bool with_key);
/* Where a class's locks are made: "made by A (x.c:1) called from B
 * (x.c:2)" for a chain, "made at A (x.c:1)" for a site. False (nothing
 * printed) when the class has no site. */
bool lg__print_class_made(const struct lg_printer *p, const struct lg_lock_class *k);

/* The blocks, one function per kind, each printing f = p->f numbered
 * `number` (summary_cycle.c, summary_misuse.c, summary_rank.c,
 * summary_wait.c, summary_hold.c, summary_other.c). */
void lg__print_cycle(const struct lg_printer *p, size_t number);
void lg__print_self_deadlock(const struct lg_printer *p, size_t number);
void lg__print_unlock_not_held(const struct lg_printer *p, size_t number);
void lg__print_held_at_exit(const struct lg_printer *p, size_t number);
void lg__print_detector_error(const struct lg_printer *p, size_t number);
void lg__print_rank_violation(const struct lg_printer *p, size_t number);
void lg__print_rank_cycle(const struct lg_printer *p, size_t number);
void lg__print_deadlock(const struct lg_printer *p, size_t number);
void lg__print_long_wait(const struct lg_printer *p, size_t number);
void lg__print_long_hold(const struct lg_printer *p, size_t number);
void lg__print_held_across_io(const struct lg_printer *p, size_t number);
void lg__print_held_across_wait(const struct lg_printer *p, size_t number);
void lg__print_fork_held(const struct lg_printer *p, size_t number);
void lg__print_held_lock_freed(const struct lg_printer *p, size_t number);
void lg__print_other(const struct lg_printer *p, size_t number);

#endif
