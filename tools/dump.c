/*
 * dump.c - the `dump` verb: ask a running process under lockgraph who holds
 * what and who waits for whom, right now, and print it symbolized: every
 * thread, the locks it holds (where it took them), what it waits for (a
 * lock and its owner, a thread it joins, a condition variable and its
 * mutex, a semaphore, a barrier, a child process), and every deadlock.
 *
 * How: the library's dump thread listens on the abstract unix socket
 * "lockgraph.PID" (lib/live.h) and writes a snapshot as JSON Lines when
 * connected to; nothing in the process is stopped or signalled. This file
 * connects, reads to the end, checks that the snapshot is whole (its last
 * line is "live-end"), and prints it.
 *
 * Exit: 0 no thread is deadlocked, 1 some are, 2 an error (bad usage, no
 * such process, a process not running lockgraph or with its dump off, not
 * permitted, a process that exited or stopped answering mid-dump).
 */
#include <errno.h>
#include <json.h>
#include <stdarg.h>
#include <stddef.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "jsonl.h"
#include "outfile.h"
#include "summary.h"
#include "symbolize.h"

enum { DUMP_OK = 0, DUMP_DEADLOCK = 1, DUMP_ERROR = 2 };

__attribute__((format(printf, 1, 2))) static int fail(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("lockgraph dump: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    return DUMP_ERROR;
}

/* ---- asking ---- */

/* Does /proc/PID/maps name liblockgraph? 1 yes, 0 no, -1 cannot tell
 * (errno: EACCES for another user's process). */
static int runs_lockgraph(long pid)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%ld/maps", pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    char line[4096];
    int found = 0;
    while (!found && fgets(line, sizeof line, f))
        found = strstr(line, "liblockgraph") != NULL;
    fclose(f);
    return found;
}

/* The process's real user id from /proc/PID/status, or -1. */
static long owner_uid(long pid)
{
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%ld/status", pid);
    FILE *f = fopen(path, "r");
    long uid = -1;
    while (f && fgets(line, sizeof line, f))
        if (sscanf(line, "Uid: %ld", &uid) == 1)
            break;
    if (f)
        fclose(f);
    return uid;
}

/* Connect and read the whole answer into *out (NUL-terminated). Returns
 * DUMP_OK or DUMP_ERROR after saying why. */
static int ask(long pid, int timeout_ms, char **out, size_t *outlen)
{
    char proc[64];
    struct stat st;
    snprintf(proc, sizeof proc, "/proc/%ld", pid);
    if (stat(proc, &st) != 0)
        return fail("no process %ld", pid);
    long uid = owner_uid(pid);
    if (uid >= 0 && geteuid() != 0 && (uid_t)uid != geteuid())
        return fail("not permitted: process %ld belongs to another user (uid %ld)", pid, uid);

    struct sockaddr_un a;
    memset(&a, 0, sizeof a);
    a.sun_family = AF_UNIX;
    int n = snprintf(a.sun_path + 1, sizeof a.sun_path - 1, "lockgraph.%ld", pid);
    socklen_t len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + (size_t)n);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return fail("socket: %s", strerror(errno));
    if (connect(fd, (struct sockaddr *)&a, len) != 0) {
        int e = errno;
        close(fd);
        int lg = runs_lockgraph(pid);
        if (lg == 0)
            return fail("process %ld is not running lockgraph (no liblockgraph in it; start it "
                        "with `lockgraph run` or LD_PRELOAD=liblockgraph.so)",
                        pid);
        if (lg < 0 && errno == EACCES)
            return fail("not permitted to look at process %ld", pid);
        if (lg < 0 && stat(proc, &st) != 0)
            return fail("process %ld exited", pid);
        return fail("process %ld runs lockgraph but does not answer (%s): its dump is off "
                    "(dump=0), it is still starting, or it is in another network namespace",
                    pid, strerror(e));
    }
    size_t cap = 1 << 16, got = 0;
    char *buf = malloc(cap);
    if (!buf) {
        close(fd);
        return fail("out of memory");
    }
    for (;;) {
        struct pollfd p = {fd, POLLIN, 0};
        int r = poll(&p, 1, timeout_ms);
        if (r == 0) {
            free(buf);
            close(fd);
            return fail("process %ld stopped answering in the middle of the dump (%d ms)", pid,
                        timeout_ms);
        }
        if (r < 0 && errno == EINTR)
            continue;
        if (got + 4096 + 1 > cap) {
            char *bigger = realloc(buf, cap * 2);
            if (!bigger) {
                free(buf);
                close(fd);
                return fail("out of memory");
            }
            buf = bigger;
            cap *= 2;
        }
        ssize_t k = read(fd, buf + got, cap - got - 1);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            break;
        got += (size_t)k;
    }
    close(fd);
    buf[got] = 0;
    *out = buf;
    *outlen = got;
    return DUMP_OK;
}

/* ---- the snapshot ---- */

struct snap {
    json_object *head;    /* "live" */
    json_object *threads; /* array of "live-thread" */
    json_object *deadlocks;
    struct lg_module *mods;
    size_t n_mods;
    struct lg_symbolizer *sym;
};

/* Split the answer into its lines; DUMP_ERROR when it is not whole. */
static int parse(long pid, char *text, struct snap *s)
{
    s->threads = json_object_new_array();
    s->deadlocks = json_object_new_array();
    bool ended = false;
    for (char *line = text, *next; line && *line; line = next) {
        next = strchr(line, '\n');
        if (!next)
            return fail("process %ld exited (or closed the connection) in the middle of the "
                        "dump: its last line is cut short",
                        pid);
        *next++ = 0;
        /* Module paths and names with the bytes the library meant
         * (jsonl.h): a module in a directory not named in UTF-8 still
         * symbolizes. */
        size_t blen;
        char *bytes = lg_json_bytes_unescape(line, strlen(line), &blen);
        json_object *o = json_tokener_parse(bytes ? bytes : line);
        free(bytes);
        const char *kind = json_object_get_string(lg_json_member(o, "kind"));
        if (!o || !kind) {
            json_object_put(o);
            return fail("process %ld sent a line that is not a dump line", pid);
        }
        if (strcmp(kind, "live-error") == 0) {
            const char *err = json_object_get_string(lg_json_member(o, "error"));
            const char *msg = json_object_get_string(lg_json_member(o, "message"));
            bool denied = err && strcmp(err, "not-permitted") == 0;
            int rc = fail("%s: %s", denied ? "not permitted" : "the process could not dump",
                          msg ? msg : "the process refused the dump");
            json_object_put(o);
            return rc;
        }
        if (strcmp(kind, "live") == 0 && !s->head) {
            s->head = o;
            continue;
        }
        if (strcmp(kind, "live-thread") == 0)
            json_object_array_add(s->threads, o);
        else if (strcmp(kind, "live-deadlock") == 0)
            json_object_array_add(s->deadlocks, o);
        else {
            ended |= strcmp(kind, "live-end") == 0;
            json_object_put(o);
        }
    }
    if (!s->head)
        return fail("process %ld answered nothing: it exited during the dump", pid);
    if (!ended)
        return fail("process %ld exited (or closed the connection) in the middle of the dump: "
                    "it is not whole",
                    pid);
    struct lg_json_ctx c = {0};
    char err[256];
    c.err = err;
    c.errlen = sizeof err;
    if (!lg_json_modules(&c, s->head, &s->mods, &s->n_mods))
        return fail("process %ld sent a bad module map: %s", pid, err);
    return DUMP_OK;
}

static void snap_free(struct snap *s)
{
    json_object_put(s->head);
    json_object_put(s->threads);
    json_object_put(s->deadlocks);
    lg_modules_free(s->mods, s->n_mods);
    if (s->sym)
        lg_symbolizer_free(s->sym);
}

static bool read_stack(json_object *arr, struct lg_stack *out)
{
    struct lg_json_ctx c = {0};
    json_object *holder = json_object_new_object();
    json_object_object_add(holder, "stack", json_object_get(arr));
    bool ok = arr && lg_json_stack(&c, holder, "stack", out);
    json_object_put(holder);
    return ok;
}

/* ---- text ---- */

static void put_thread(FILE *out, json_object *t)
{
    long seq = json_object_get_int64(lg_json_member(t, "seq"));
    const char *name = json_object_get_string(lg_json_member(t, "name"));
    if (seq)
        fprintf(out, "thread %ld ", seq);
    else
        fputs("thread ", out);
    if (name && *name) {
        lg_put_quoted(out, name);
        fputc(' ', out);
    }
    fprintf(out, "(tid %ld)", (long)json_object_get_int64(lg_json_member(t, "tid")));
}

static void put_site(FILE *out, const struct snap *s, json_object *stack)
{
    struct lg_stack st = {0};
    if (read_stack(stack, &st) && st.n) {
        char buf[1024];
        lg_site_text(s->sym, s->mods, s->n_mods, st.pcs[0], buf, sizeof buf);
        fputs(buf, out);
    }
    lg_stack_free(&st);
}

/* "mutex sym:prog:table (0x...)", with where it was made or first taken.
 * key: its stable key, NULL when not known. */
static void put_lock(FILE *out, const struct snap *s, json_object *l, const char *key)
{
    const char *type = json_object_get_string(lg_json_member(l, "type"));
    const char *name = json_object_get_string(lg_json_member(l, "name"));
    fprintf(out, "%s ", type ? type : "lock");
    if (name) {
        lg_put_quoted(out, name);
        fputc(' ', out);
    } else if (key && strncmp(key, "addr:", 5) != 0) {
        fprintf(out, "%s ", key);
    }
    fprintf(out, "(%s)", json_object_get_string(lg_json_member(l, "addr")));
    json_object *where = lg_json_member(l, "stack");
    if (where && json_object_array_length(where)) {
        bool created = json_object_get_boolean(lg_json_member(l, "created"));
        fputs(created ? " (made at " : " (first taken at ", out);
        put_site(out, s, where);
        fputc(')', out);
    }
}

/* drop_repeat: a held lock's stack, rebuilt from the wait's (frame 1 may
 * repeat frame 0's function). */
static void print_stack(FILE *out, const struct snap *s, json_object *arr, const char *indent,
                        bool drop_repeat)
{
    struct lg_stack st = {0};
    if (read_stack(arr, &st))
        lg_print_stack(out, s->sym, s->mods, s->n_mods, &st, indent, drop_repeat);
    lg_stack_free(&st);
}

static void print_wait(FILE *out, const struct snap *s, json_object *w)
{
    json_object *on = lg_json_member(w, "on");
    const char *what = json_object_get_string(lg_json_member(on, "what"));
    fputs("  waits ", out);
    if (!what)
        what = "?";
    if (strcmp(what, "lock") == 0) {
        fputs("for ", out);
        put_lock(out, s, lg_json_member(on, "lock"),
                 json_object_get_string(lg_json_member(w, "key")));
    } else if (strcmp(what, "join") == 0) {
        fputs("to join ", out);
        json_object *t = lg_json_member(on, "thread");
        if (t)
            put_thread(out, t);
        else
            fprintf(out, "thread %s", json_object_get_string(lg_json_member(on, "pthread")));
    } else if (strcmp(what, "cond") == 0) {
        fprintf(out, "on condition variable %s, with ",
                json_object_get_string(lg_json_member(on, "cond")));
        put_lock(out, s, lg_json_member(on, "mutex"), NULL);
    } else if (strcmp(what, "semaphore") == 0) {
        const char *name = json_object_get_string(lg_json_member(on, "name"));
        fprintf(out, "on semaphore %s", json_object_get_string(lg_json_member(on, "semaphore")));
        if (name) {
            fputc(' ', out);
            lg_put_quoted(out, name);
        }
    } else if (strcmp(what, "barrier") == 0) {
        fprintf(out, "at barrier %s", json_object_get_string(lg_json_member(on, "barrier")));
    } else if (strcmp(what, "process") == 0) {
        json_object *p = lg_json_member(on, "pid");
        if (p)
            fprintf(out, "for process %ld", (long)json_object_get_int64(p));
        else
            fputs("for a child process", out);
    } else {
        fprintf(out, "on %s", what);
    }
    json_object *owner = lg_json_member(w, "owner");
    if (owner && strcmp(what, "join") != 0) {
        fputs(", held by ", out);
        put_thread(out, owner);
        if (json_object_get_boolean(lg_json_member(w, "owner_gone")))
            fputs(", which is gone", out);
    }
    fprintf(out, ", for %ld ms%s\n", (long)json_object_get_int64(lg_json_member(w, "waiting_ms")),
            json_object_get_boolean(lg_json_member(w, "timed")) ? " (timed)" : "");
    print_stack(out, s, lg_json_member(w, "stack"), "      ", false);
}

static void print_text(FILE *out, long pid, const struct snap *s)
{
    size_t n = json_object_array_length(s->threads);
    fprintf(out, "lockgraph dump of process %ld (%s): %zu thread%s\n", pid,
            json_object_get_string(lg_json_member(s->head, "exe")), n, n == 1 ? "" : "s");
    for (size_t i = 0; i < n; i++) {
        json_object *t = json_object_array_get_idx(s->threads, i);
        fputc('\n', out);
        put_thread(out, lg_json_member(t, "thread"));
        if (!json_object_get_boolean(lg_json_member(t, "tracked"))) {
            fputs(": running, no lock or watched wait seen yet\n", out);
            continue;
        }
        fprintf(out, ": %s\n", json_object_get_string(lg_json_member(t, "state")));
        json_object *w = lg_json_member(t, "waits");
        if (w)
            print_wait(out, s, w);
        json_object *held = lg_json_member(t, "held");
        size_t nh = held ? json_object_array_length(held) : 0;
        for (size_t k = 0; k < nh; k++) {
            json_object *h = json_object_array_get_idx(held, k);
            fputs("  holds ", out);
            put_lock(out, s, lg_json_member(h, "lock"),
                     json_object_get_string(lg_json_member(h, "key")));
            long count = (long)json_object_get_int64(lg_json_member(h, "count"));
            if (count > 1)
                fprintf(out, " %ld times", count);
            json_object *ms = lg_json_member(h, "held_ms");
            if (ms)
                fprintf(out, ", for %ld ms", (long)json_object_get_int64(ms));
            fputs(", taken at\n", out);
            print_stack(out, s, lg_json_member(h, "stack"), "      ", true);
        }
        if (!w && !nh)
            fputs("  holds no lock\n", out);
    }
    size_t nd = json_object_array_length(s->deadlocks);
    for (size_t i = 0; i < nd; i++) {
        json_object *d = json_object_array_get_idx(s->deadlocks, i);
        json_object *tids = lg_json_member(d, "threads");
        json_object *gone = lg_json_member(d, "gone_owner");
        fprintf(out, "\nDEADLOCK #%zu: ", i + 1);
        for (size_t k = 0; k < json_object_array_length(tids); k++)
            fprintf(out, "%stid %ld", k ? " -> " : "",
                    (long)json_object_get_int64(json_object_array_get_idx(tids, k)));
        if (gone) {
            const char *why = json_object_get_string(lg_json_member(gone, "gone"));
            fputs(" waits for a lock held by ", out);
            put_thread(out, lg_json_member(gone, "thread"));
            fputs(why && strcmp(why, "ended") == 0 ? ", which has ended\n"
                  : why && strcmp(why, "not-in-process") == 0
                      ? ", a thread of the parent process (it does not exist in this one)\n"
                      : ", which is gone\n",
                  out);
            if (lg_json_member(gone, "stack")) {
                fputs("  it took the lock at\n", out);
                print_stack(out, s, lg_json_member(gone, "stack"), "      ", true);
            }
            if (lg_json_member(gone, "end_stack")) {
                fputs("  it ended at\n", out);
                print_stack(out, s, lg_json_member(gone, "end_stack"), "      ", false);
            }
            if (lg_json_member(gone, "fork_stack")) {
                fputs("  the fork was made at\n", out);
                print_stack(out, s, lg_json_member(gone, "fork_stack"), "      ", false);
            }
        } else {
            fprintf(out, " -> tid %ld: each waits for the next, for good\n",
                    (long)json_object_get_int64(json_object_array_get_idx(tids, 0)));
        }
    }
    fprintf(out, "\n%s\n", nd ? (nd == 1 ? "1 deadlock." : "deadlocks found.") : "no deadlock.");
}

/* ---- JSON ---- */

/* Every "stack", "end_stack" and "fork_stack" array of addresses becomes an
 * array of symbolized frames. */
static void symbolize_tree(const struct snap *s, json_object *o)
{
    if (json_object_is_type(o, json_type_array)) {
        for (size_t i = 0; i < json_object_array_length(o); i++)
            symbolize_tree(s, json_object_array_get_idx(o, i));
        return;
    }
    if (!json_object_is_type(o, json_type_object))
        return;
    json_object_object_foreach(o, key, val)
    {
        bool stack = strcmp(key, "stack") == 0 || strcmp(key, "end_stack") == 0 ||
                     strcmp(key, "fork_stack") == 0;
        if (!stack || !json_object_is_type(val, json_type_array)) {
            symbolize_tree(s, val);
            continue;
        }
        for (size_t i = 0; i < json_object_array_length(val); i++) {
            json_object *pc = json_object_array_get_idx(val, i);
            if (!json_object_is_type(pc, json_type_string))
                continue;
            struct lg_frame fr;
            lg_symbolize(s->sym, s->mods, s->n_mods, strtoull(json_object_get_string(pc), NULL, 16),
                         &fr);
            json_object *f = json_object_new_object();
            json_object_object_add(f, "pc", json_object_get(pc));
            if (fr.function)
                json_object_object_add(f, "function", json_object_new_string(fr.function));
            if (fr.file) {
                json_object_object_add(f, "file", json_object_new_string(fr.file));
                json_object_object_add(f, "line", json_object_new_int(fr.line));
            }
            if (fr.module)
                json_object_object_add(f, "module", json_object_new_string(fr.module));
            json_object_array_put_idx(val, i, f);
        }
    }
}

static void print_json(FILE *out, const struct snap *s, long pid)
{
    json_object *doc = json_object_new_object();
    json_object_object_add(doc, "pid", json_object_new_int64(pid));
    json_object_object_add(doc, "exe", json_object_get(lg_json_member(s->head, "exe")));
    json_object_object_add(doc, "time_ns", json_object_get(lg_json_member(s->head, "time_ns")));
    json_object_object_add(doc, "deadlocked",
                           json_object_new_boolean(json_object_array_length(s->deadlocks) > 0));
    json_object_object_add(doc, "threads", json_object_get(s->threads));
    json_object_object_add(doc, "deadlocks", json_object_get(s->deadlocks));
    symbolize_tree(s, doc);
    fputs(json_object_to_json_string_ext(doc, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED |
                                                  JSON_C_TO_STRING_NOSLASHESCAPE),
          out);
    fputc('\n', out);
    json_object_put(doc);
}

/* ---- the verb ---- */

int lg_cmd_dump(int argc, char **argv)
{
    bool json = false;
    int timeout_ms = 10000;
    long pid = 0;
    if (lg_help_asked(argc, argv)) {
        lg_usage_verb(stdout, "dump");
        return DUMP_OK;
    }
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--format") == 0 && i + 1 < argc) {
            const char *v = argv[++i];
            if (strcmp(v, "json") == 0)
                json = true;
            else if (strcmp(v, "text") != 0)
                return fail("unknown format '%s' (text or json)", v);
        } else if (strncmp(a, "--format=", 9) == 0) {
            json = strcmp(a + 9, "json") == 0;
            if (!json && strcmp(a + 9, "text") != 0)
                return fail("unknown format '%s' (text or json)", a + 9);
        } else if (strcmp(a, "--timeout") == 0 && i + 1 < argc) {
            char *end;
            double sec = strtod(argv[++i], &end);
            if (*end || sec <= 0 || sec > 3600)
                return fail("bad --timeout '%s' (seconds, up to 3600)", argv[i]);
            timeout_ms = (int)(sec * 1000);
        } else if (a[0] == '-' && a[1]) {
            return fail("unknown option '%s'\nusage: lockgraph dump [--format text|json] "
                        "[--timeout SECONDS] PID",
                        a);
        } else if (pid) {
            return fail("one PID only");
        } else {
            char *end;
            pid = strtol(a, &end, 10);
            if (*end || pid <= 0)
                return fail("'%s' is not a process id", a);
        }
    }
    if (!pid)
        return fail("no process id given\nusage: lockgraph dump [--format text|json] "
                    "[--timeout SECONDS] PID");
    char *text = NULL;
    size_t len = 0;
    int rc = ask(pid, timeout_ms, &text, &len);
    if (rc != DUMP_OK)
        return rc;
    struct snap s = {0};
    rc = parse(pid, text, &s);
    free(text);
    if (rc != DUMP_OK) {
        snap_free(&s);
        return rc;
    }
    s.sym = lg_symbolizer_new(stderr);
    if (json) {
        /* Valid UTF-8 whatever the names and module paths hold, as
         * report's JSON: a byte that is not is U+FFFD. */
        FILE *u = lg_utf8_filter(stdout);
        print_json(u ? u : stdout, &s, pid);
        if (u)
            fclose(u);
        fflush(stdout);
    } else {
        print_text(stdout, pid, &s);
    }
    rc = json_object_array_length(s.deadlocks) ? DUMP_DEADLOCK : DUMP_OK;
    snap_free(&s);
    return rc;
}
