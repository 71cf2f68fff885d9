/*
 * summary_core.c - the pieces every block of the text report is made of.
 *
 * Does: colour (ANSI) or folding marks (HTML), symbolized frames and
 * stacks with inlined calls expanded, threads, locks with where each was
 * created and its rank fields, and the quoting that keeps text from the
 * program under test from garbling a terminal.
 * Does not: print a whole finding (summary_<kind family>.c), or read
 * anything but the symbolizer's answers.
 */
#include "summary_int.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Frames printed per stack: library stacks are short, but a corrupt or
 * hand-made file must not flood the terminal. */
#define MAX_FRAMES 64

/* Source frames shown for one address whose calls were inlined. */
#define MAX_INLINE 8

void lg__printer_init(struct lg_printer *p, FILE *out, struct lg_symbolizer *sym,
                      const struct lg_module *mods, size_t n_mods)
{
    memset(p, 0, sizeof *p);
    p->out = out;
    p->sym = sym;
    p->mods = mods;
    p->n_mods = n_mods;
    if (getcwd(p->cwd, sizeof p->cwd))
        p->cwd_len = strlen(p->cwd);
    if (p->cwd_len == 1) /* "/": every path is under it, nothing to shorten */
        p->cwd_len = 0;
}

/* ---- markup: colour on a terminal, marks for the HTML page ---- */

void lg__sgr(const struct lg_printer *p, const char *code)
{
    if (p->markup == LG_MARKUP_ANSI)
        fputs(code, p->out);
}

/* The first line of a finding: bold, red for what hangs. Ended by
 * head_end, which also lets the caller of lg_summary_print annotate it. */
void lg__head_begin(const struct lg_printer *p, bool hangs)
{
    lg__sgr(p, hangs ? SGR_BAD : SGR_HEAD);
}

void lg__head_end(const struct lg_printer *p)
{
    lg__sgr(p, SGR_RESET);
    fputc('\n', p->out);
    if (p->opts && p->opts->annotate)
        p->opts->annotate(p->out, p->f, p->opts->annotate_arg);
}

/* ---- small text helpers ---- */

static const char *basename_of(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash ? slash + 1 : path;
}

/* Source paths under the current directory are shown relative to it: short
 * enough to read, still enough to open. Others stay absolute. */
static const char *show_path(const struct lg_printer *p, const char *path)
{
    if (p->cwd_len && strncmp(path, p->cwd, p->cwd_len) == 0 && path[p->cwd_len] == '/')
        return path + p->cwd_len + 1;
    return path;
}

/* Names come from the program under test: print them quoted, with anything
 * that could garble a terminal escaped. */
void lg__put_quoted(FILE *out, const char *s)
{
    fputc('"', out);
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch == '"' || ch == '\\')
            fprintf(out, "\\%c", ch);
        else if (ch < 0x20 || ch == 0x7f)
            fprintf(out, "\\x%02x", ch);
        else
            fputc(ch, out);
    }
    fputc('"', out);
}

/* Length of a symbol name without its ELF version ("__libc_start_main@@GLIBC_2.34"):
 * the version says nothing about where the code is. */
static int name_len(const char *name)
{
    return (int)strcspn(name, "@");
}

void lg__frame_text(const struct lg_printer *p, const struct lg_frame *fr, char *buf, size_t len)
{
    bool c = p->markup == LG_MARKUP_ANSI;
    const char *f0 = c ? SGR_FUNC : "", *w0 = c ? SGR_WHERE : "", *r = c ? SGR_RESET : "";
    if (fr->function && fr->file)
        snprintf(buf, len, "%s%.*s%s (%s%s:%d%s)", f0, name_len(fr->function), fr->function, r, w0,
                 show_path(p, fr->file), fr->line, r);
    else if (fr->function && fr->module)
        snprintf(buf, len, "%s%.*s%s+0x%" PRIx64 " (%s%s+0x%" PRIx64 "%s)", f0,
                 name_len(fr->function), fr->function, r, fr->function_offset, w0,
                 basename_of(fr->module), fr->module_offset, r);
    else if (fr->module)
        snprintf(buf, len, "0x%" PRIx64 " (%s%s+0x%" PRIx64 "%s)", fr->pc, w0,
                 basename_of(fr->module), fr->module_offset, r);
    else
        snprintf(buf, len, "0x%" PRIx64 " (in no recorded module)", fr->pc);
}

/* The innermost source frame of `pc`: with inlining, the helper that really
 * made the call. */
void lg__site_text(const struct lg_printer *p, uint64_t pc, char *buf, size_t len)
{
    struct lg_frame chain[MAX_INLINE];
    lg_symbolize_inline(p->sym, p->mods, p->n_mods, pc, chain, MAX_INLINE);
    lg__frame_text(p, &chain[0], buf, len);
}

/* Is this frame's source a system header (the C++ standard library's
 * std::mutex::lock, lock_guard, __gthread_mutex_lock...)? */
static bool in_system_header(const struct lg_frame *fr)
{
    return fr->file && (strncmp(fr->file, "/usr/include/", 13) == 0 ||
                        strncmp(fr->file, "/usr/lib/gcc/", 13) == 0 ||
                        strncmp(fr->file, "/usr/lib/llvm", 13) == 0);
}

/* Where a lock was first locked or created, as one frame: the first frame
 * of the stack (inlined ones included) in the program's own source. A C++
 * lock is taken through std::mutex::lock and lock_guard, which live in
 * system headers (inlined at -O2, real calls at -O0): naming the program's
 * line tells the reader which lock it is; the whole stack is printed
 * wherever a stack is. Frame 0 when no frame has source outside them (no
 * debug info, or a lock taken inside the C library). */
void lg__site_text_of(const struct lg_printer *p, const struct lg_stack *s, char *buf, size_t len)
{
    for (size_t i = 0; i < s->n && i < 8; i++) {
        struct lg_frame chain[MAX_INLINE];
        size_t k = lg_symbolize_inline(p->sym, p->mods, p->n_mods, s->pcs[i], chain, MAX_INLINE);
        for (size_t j = 0; j < k; j++) {
            if (!chain[j].file)
                goto first; /* no source from here on: not the program's line */
            if (!in_system_header(&chain[j])) {
                lg__frame_text(p, &chain[j], buf, len);
                return;
            }
        }
    }
first:
    lg__site_text(p, s->n ? s->pcs[0] : 0, buf, len);
}

static void resolve(const struct lg_printer *p, uint64_t pc, struct lg_frame *fr)
{
    lg_symbolize(p->sym, p->mods, p->n_mods, pc, fr);
}

/* A stack as "#0 ..." lines. With `drop_repeat` (a first_stack that was not
 * captured whole), frame 1 is dropped when it is the same function as frame
 * 0: FINDINGS.md explains it is then the same call, matched twice. */
void lg__print_stack(const struct lg_printer *p, const struct lg_stack *s, const char *indent,
                     bool drop_repeat)
{
    if (s->n == 0) {
        fprintf(p->out, "%s(no stack recorded)\n", indent);
        return;
    }
    /* The HTML page folds a stack under its first frame. */
    if (p->markup == LG_MARKUP_MARKS)
        fputs(LG_MARK_STACK_BEGIN "\n", p->out);
    size_t skip = (size_t)-1;
    if (drop_repeat && s->n >= 2) {
        struct lg_frame a, b;
        resolve(p, s->pcs[0], &a);
        resolve(p, s->pcs[1], &b);
        if (a.function && b.function && strcmp(a.function, b.function) == 0 && a.module == b.module)
            skip = 1;
    }
    size_t shown = 0;
    for (size_t i = 0; i < s->n; i++) {
        if (i == skip)
            continue;
        if (shown >= MAX_FRAMES) {
            fprintf(p->out, "%s... %zu more frames\n", indent, s->n - i);
            break;
        }
        /* One address can stand for several source frames when calls were
         * inlined: each gets its own line, as a debugger would show. */
        struct lg_frame chain[MAX_INLINE];
        size_t n = lg_symbolize_inline(p->sym, p->mods, p->n_mods, s->pcs[i], chain, MAX_INLINE);
        for (size_t k = 0; k < n; k++) {
            char text[1024];
            lg__frame_text(p, &chain[k], text, sizeof text);
            fprintf(p->out, "%s#%zu %s%s\n", indent, shown++, text,
                    chain[k].inlined ? " (inlined)" : "");
        }
    }
    if (p->markup == LG_MARKUP_MARKS)
        fputs(LG_MARK_STACK_END "\n", p->out);
}

void lg__print_thread(const struct lg_printer *p, const struct lg_thread *t)
{
    fprintf(p->out, "thread %ld", t->seq);
    if (t->name) {
        fputc(' ', p->out);
        lg__put_quoted(p->out, t->name);
    }
    fprintf(p->out, " (tid %ld)", t->tid);
}

/* A word from the program (a class label, a key): bare when it is one
 * plain word, else quoted like a name. */
void lg__put_word(FILE *out, const char *s)
{
    for (const char *c = s; *c; c++)
        if ((unsigned char)*c <= ' ' || *c == '"' || *c == '\\' || *c == 0x7f) {
            lg__put_quoted(out, s);
            return;
        }
    fputs(*s ? s : "\"\"", out);
}

/* A ranked lock's fields: " [key K, class C, rank N]" in a lock's full
 * description (`with_key`), " (class C, rank N)" after its short name.
 * Nothing for a lock outside any ranked class. */
void lg__print_rank_fields(const struct lg_printer *p, const struct lg_lock *l, bool with_key)
{
    with_key = with_key && l->key;
    /* A class of one key is labelled by the key: saying it twice is noise. */
    const char *class_name =
        l->class_name && !(l->key && strcmp(l->class_name, l->key) == 0) ? l->class_name : NULL;
    if (!with_key && !class_name && !l->has_rank)
        return;
    fputs(with_key ? " [" : " (", p->out);
    const char *sep = "";
    if (with_key) {
        fputs("key ", p->out);
        lg__put_word(p->out, l->key);
        sep = ", ";
    }
    if (class_name) {
        fprintf(p->out, "%sclass ", sep);
        lg__put_word(p->out, class_name);
        sep = ", ";
    }
    if (l->has_rank)
        fprintf(p->out, "%srank %ld", sep, l->rank);
    fputc(with_key ? ']' : ')', p->out);
}

/* "mutex 0x7ffd5c1e3a40 "account 1" (normal), created at bank_open (bank.c:40)",
 * then "[key K, class C, rank N]" for a ranked lock. */
void lg__print_lock_desc(const struct lg_printer *p, const struct lg_lock *l)
{
    fprintf(p->out, "%s 0x%" PRIx64, l->type, l->addr);
    if (l->name) {
        fputc(' ', p->out);
        lg__put_quoted(p->out, l->name);
    }
    if (l->mode)
        fprintf(p->out, " (%s)", l->mode);
    if (l->id == 0 && l->stack.n == 0) {
        fprintf(p->out, ", never seen locked by lockgraph");
    } else if (l->stack.n > 0) {
        char text[1024];
        lg__site_text_of(p, &l->stack, text, sizeof text);
        fprintf(p->out, ", %s at %s", l->created ? "created" : "first locked", text);
    }
    lg__print_rank_fields(p, l, true);
}

static bool is_kind(const struct lg_lock_class *k, const char *kind)
{
    return k->kind && strcmp(k->kind, kind) == 0;
}

bool lg__print_class_made(const struct lg_printer *p, const struct lg_lock_class *k)
{
    if (!k->known || k->site.n == 0)
        return false;
    char text[1024];
    bool chain = is_kind(k, "chain") || k->site.n > 1;
    lg__site_text(p, k->site.pcs[0], text, sizeof text);
    fprintf(p->out, "made %s %s", chain ? "by" : "at", text);
    /* A chain's callers, up to the one that made the lock for a purpose;
     * a hand-made file may hold many: the first few are enough. */
    for (size_t i = 1; i < k->site.n && i < 8; i++) {
        lg__site_text(p, k->site.pcs[i], text, sizeof text);
        fprintf(p->out, " called from %s", text);
    }
    if (k->site.n > 8)
        fprintf(p->out, " (and %zu more callers)", k->site.n - 8);
    return true;
}

bool lg__print_class_desc(const struct lg_printer *p, const struct lg_lock *l, bool with_key)
{
    const struct lg_lock_class *k = &l->cls;
    if (!k->known)
        return false;
    FILE *out = p->out;
    if (is_kind(k, "addr") || (!is_kind(k, "name") && k->site.n == 0)) {
        fprintf(out, "the %s 0x%" PRIx64, l->type, l->addr);
        if (l->name) {
            fputc(' ', out);
            lg__put_quoted(out, l->name);
        }
        if (l->mode)
            fprintf(out, " (%s)", l->mode);
        if (is_kind(k, "addr"))
            fputs(", a class of its own (never initialized)", out);
        if (l->stack.n > 0) {
            char text[1024];
            lg__site_text_of(p, &l->stack, text, sizeof text);
            fprintf(out, ", %s at %s", l->created ? "created" : "first locked", text);
        }
    } else {
        fprintf(out, "every %s", l->type);
        if (l->mode)
            fprintf(out, " (%s)", l->mode);
        if (is_kind(k, "name")) {
            fputs(" named ", out);
            /* The class's name is its key's, without "name:". */
            const char *name = l->name                                          ? l->name
                               : k->key && strncmp(k->key, "name:", 5) == 0 ? k->key + 5
                                                                             : NULL;
            if (name)
                lg__put_quoted(out, name);
            else
                fputs("as its key says", out);
        } else {
            fputc(' ', out);
            lg__print_class_made(p, k);
        }
    }
    if (with_key && k->key) {
        fputs(" [key ", out);
        lg__put_word(out, k->key);
        fputc(']', out);
    }
    return true;
}

const char *lg__plural(size_t n, const char *one, const char *many)
{
    return n == 1 ? one : many;
}

/* The thread as print_thread shows it, an empty name left out (a thread
 * seen at exit may have lost its name). */
void lg__print_thread_named(const struct lg_printer *p, const struct lg_thread *t)
{
    struct lg_thread u = *t;
    if (u.name && !*u.name)
        u.name = NULL;
    lg__print_thread(p, &u);
}
