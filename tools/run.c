/*
 * run.c - the `run` verb: run a program with liblockgraph.so preloaded, wait
 * for it, then report what the library found.
 *
 * Does: check the options with the library's own parser, find the
 * library, refuse a program LD_PRELOAD cannot reach (static, set-user-ID,
 * file capabilities), choose and clean the report location, set LD_PRELOAD /
 * LOCKGRAPH_REPORT / LOCKGRAPH_OPTIONS / LOCKGRAPH_RUN_STATUS, fork and exec
 * the program (telling "not found" from "not executable" like a shell),
 * forward the signals a user sends to lockgraph, wait, print the findings of
 * every process of the run, say when findings reached only stderr or the
 * program was not watched after all, and pick the exit code.
 * Does not: parse findings or format them (findings.c, summary.c).
 *
 * "No findings" is said only when the library watched the program to its end
 * and every finding it made is in a file: the run status record
 * (lib/runstatus.h), which every process of the run maps at start, says
 * whether the library started in the program, whether the program's last
 * executable was watched, and how many findings went to stderr instead.
 */
#include <elf.h>
#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "reportpath.h"
#include "suppress.h"

/* The library's own option table and parser, and the run status record
 * (lib/): shared, so run refuses exactly what the library would. */
#include "options.h"
#include "runstatus.h"

#ifndef LG_INSTALL_LIBDIR
#define LG_INSTALL_LIBDIR "/usr/local/lib"
#endif
/* The install's library directory relative to its bin directory. */
#ifndef LG_BIN_TO_LIBDIR
#define LG_BIN_TO_LIBDIR "../lib"
#endif

#define LIB_NAME "liblockgraph.so"

/* Signals a user sends to stop a run; lockgraph passes them on and stays to
 * report what was found before the program died. */
static const int forwarded[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT};

/* The running child, or 0 once it has ended (so a late signal is not sent
 * to a recycled pid). */
static volatile sig_atomic_t child_pid;

struct run_args {
    const char *report;  /* --report, NULL for a fresh temp directory */
    const char *options; /* --options, NULL to keep the environment's */
    bool quiet;
    int exit_code;
    char **argv; /* the program and its arguments */
};

__attribute__((format(printf, 1, 2))) static int usage_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "lockgraph run: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n\n");
    va_end(ap);
    lg_usage_verb(stderr, "run");
    return LG_EXIT_USAGE;
}

/* Options come before a mandatory "--", so an option meant for the program
 * can never be taken for ours. Returns 0, or an exit code to stop with. */
static int parse_args(int argc, char **argv, struct run_args *a)
{
    a->exit_code = LG_EXIT_FINDINGS;
    /* run prints every finding itself when the program ends; the library's
     * own lines would say it twice. --live keeps them, to watch a program
     * that hangs. */
    a->quiet = true;
    /* --help among our options, wherever it is (`run --report x --help`):
     * run's usage, and nothing is run. After "--" it is the program's. */
    if (lg_help_asked(argc, argv)) {
        lg_usage_verb(stdout, "run");
        return -1;
    }
    int i = 1;
    for (; i < argc; i++) {
        const char *arg = argv[i];
        if (strcmp(arg, "--") == 0)
            break;
        if (strcmp(arg, "--quiet") == 0 || strcmp(arg, "-q") == 0) {
            a->quiet = true;
            continue;
        }
        if (strcmp(arg, "--live") == 0) {
            a->quiet = false;
            continue;
        }
        static const char *const with_value[] = {"--report", "--options", "--exit-code"};
        size_t k = 0, len = 0;
        for (; k < 3; k++) {
            len = strlen(with_value[k]);
            if (strncmp(arg, with_value[k], len) == 0 && (arg[len] == '\0' || arg[len] == '='))
                break;
        }
        if (k == 3) {
            if (arg[0] == '-')
                return usage_error("unknown option '%s'", arg);
            return usage_error("'%s': put -- before the program to run", arg);
        }
        const char *value = arg[len] == '=' ? arg + len + 1 : NULL;
        if (!value) {
            if (i + 1 >= argc || strcmp(argv[i + 1], "--") == 0)
                return usage_error("%s needs a value", with_value[k]);
            value = argv[++i];
        }
        if (k == 0) {
            if (!*value)
                return usage_error("--report needs a file name");
            a->report = value;
        } else if (k == 1) {
            a->options = value;
        } else if (!lg_parse_exit_code(value, &a->exit_code)) {
            return usage_error("bad --exit-code '%s' (want 0 to 255)", value);
        }
    }
    if (i >= argc)
        return usage_error("missing -- before the program to run");
    if (i + 1 >= argc)
        return usage_error("no program to run after --");
    a->argv = argv + i + 1;
    return 0;
}

/* The library's parser, on the options the program will get: a bad one
 * would stop the program before main (exit 2) and the run would look like
 * the program's failure, so it is refused here, before anything starts. */
static int check_options(const struct run_args *a)
{
    const char *opts = a->options ? a->options : getenv("LOCKGRAPH_OPTIONS");
    struct lg_options o;
    char err[512];
    lg__options_defaults(&o);
    if (lg__options_parse(opts, &o, err, sizeof err) == 0)
        return 0;
    fprintf(stderr, "lockgraph run: %s: %s; nothing was run\n",
            a->options ? "--options" : "LOCKGRAPH_OPTIONS", err);
    return LG_EXIT_USAGE;
}

/* ---- the library ---- */

static bool readable_file(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode) && access(path, R_OK) == 0;
}

/* LOCKGRAPH_LIB wins; else ../lib beside this executable, which is right
 * both in the build tree (build/tools/lockgraph, build/lib/) and under an
 * install prefix (bin/, lib/); else the configured install libdir. Returns
 * an absolute path to free, or NULL after saying where it looked. */
static char *find_library(void)
{
    const char *env = getenv("LOCKGRAPH_LIB");
    if (env && *env) {
        if (!readable_file(env)) {
            fprintf(stderr, "lockgraph: LOCKGRAPH_LIB=%s: not a readable file\n", env);
            return NULL;
        }
        return realpath(env, NULL);
    }

    char beside[PATH_MAX + 32] = "";
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n > 0) {
        exe[n] = '\0';
        char *slash = strrchr(exe, '/');
        if (slash) {
            *slash = '\0';
            snprintf(beside, sizeof beside, "%s/../lib/" LIB_NAME, exe);
            if (readable_file(beside))
                return realpath(beside, NULL);
            /* An install prefix whose library directory is not lib/
             * (lib/x86_64-linux-gnu under /usr, say), moved or unpacked
             * elsewhere (dpkg -x). */
            char rel[PATH_MAX + 64];
            snprintf(rel, sizeof rel, "%s/" LG_BIN_TO_LIBDIR "/" LIB_NAME, exe);
            if (strcmp(LG_BIN_TO_LIBDIR, "../lib") != 0 && readable_file(rel))
                return realpath(rel, NULL);
        }
    }
    const char *installed = LG_INSTALL_LIBDIR "/" LIB_NAME;
    if (readable_file(installed))
        return realpath(installed, NULL);

    fprintf(stderr,
            "lockgraph: cannot find " LIB_NAME " (looked at %s%s%s); set LOCKGRAPH_LIB "
            "to its path\n",
            beside, *beside ? " and " : "", installed);
    return NULL;
}

/* ---- can the program be watched at all? ---- */

/* `name` as execvp finds it: with a '/' as it is, else along PATH. NULL when
 * not found (spawn says so). Free the result. */
static char *find_program(const char *name)
{
    if (strchr(name, '/'))
        return strdup(name);
    const char *path = getenv("PATH");
    if (!path || !*path)
        path = "/bin:/usr/bin";
    for (const char *p = path;;) {
        const char *end = strchr(p, ':');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        char *full = malloc(len + strlen(name) + 3);
        if (!full)
            return NULL;
        sprintf(full, "%.*s/%s", (int)len, len ? p : ".", name);
        struct stat st;
        if (stat(full, &st) == 0 && S_ISREG(st.st_mode) && access(full, X_OK) == 0)
            return full;
        free(full);
        if (!end)
            return NULL;
        p = end + 1;
    }
}

/* Does the ELF file have a program interpreter (the dynamic loader, which
 * is what reads LD_PRELOAD)? -1 when it is not ELF or cannot be read. */
static int has_interp(int fd)
{
    unsigned char id[EI_NIDENT];
    if (pread(fd, id, sizeof id, 0) != (ssize_t)sizeof id || memcmp(id, ELFMAG, SELFMAG) != 0)
        return -1;
    bool is64 = id[EI_CLASS] == ELFCLASS64;
    Elf64_Ehdr eh;
    if (is64) {
        if (pread(fd, &eh, sizeof eh, 0) != (ssize_t)sizeof eh)
            return -1;
    } else {
        Elf32_Ehdr e32;
        if (pread(fd, &e32, sizeof e32, 0) != (ssize_t)sizeof e32)
            return -1;
        eh.e_phoff = e32.e_phoff;
        eh.e_phnum = e32.e_phnum;
        eh.e_phentsize = e32.e_phentsize;
    }
    for (unsigned i = 0; i < eh.e_phnum && i < 4096; i++) {
        uint32_t type;
        if (pread(fd, &type, sizeof type, (off_t)(eh.e_phoff + (uint64_t)i * eh.e_phentsize)) !=
            (ssize_t)sizeof type)
            return -1;
        if (type == PT_INTERP)
            return 1;
    }
    return 0;
}

/* Why the loader would not preload liblockgraph.so into the program at
 * `path` (a script: into its interpreter), or NULL when it would. */
static const char *unwatchable(const char *path, char *what, size_t len, int depth)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return NULL; /* exec will say why */
    char head[256];
    ssize_t n = pread(fd, head, sizeof head - 1, 0);
    if (n >= 2 && head[0] == '#' && head[1] == '!') {
        close(fd);
        head[n] = '\0';
        char *interp = head + 2;
        interp += strspn(interp, " \t");
        interp[strcspn(interp, " \t\n")] = '\0';
        return *interp && depth < 4 ? unwatchable(interp, what, len, depth + 1) : NULL;
    }
    int interp = has_interp(fd);
    struct stat st;
    struct statvfs vfs;
    bool st_ok = fstat(fd, &st) == 0;
    bool nosuid = fstatvfs(fd, &vfs) == 0 && (vfs.f_flag & ST_NOSUID);
    close(fd);
    snprintf(what, len, "%s", path);
    /* The dynamic loader run as a program (ld-linux-x86-64.so.2 ./prog) has
     * no interpreter of its own, and reads LD_PRELOAD itself. */
    const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
    if (interp == 0 && strncmp(base, "ld-", 3) != 0 && strncmp(base, "ld.so", 5) != 0)
        return "is statically linked: no dynamic loader runs in it to read LD_PRELOAD";
    if (interp < 0 || !st_ok || nosuid)
        return NULL;
    /* Secure mode (AT_SECURE): the effective ids differ from the real ones
     * after exec, or file capabilities raise an unprivileged user's. */
    if ((st.st_mode & S_ISUID) && st.st_uid != getuid())
        return "is set-user-ID, so the loader runs it in secure mode and ignores LD_PRELOAD";
    if ((st.st_mode & S_ISGID) && st.st_gid != getgid())
        return "is set-group-ID, so the loader runs it in secure mode and ignores LD_PRELOAD";
    if (getuid() != 0 && getxattr(path, "security.capability", NULL, 0) > 0)
        return "has file capabilities, so the loader runs it in secure mode and ignores "
               "LD_PRELOAD";
    return NULL;
}

/* 0, or LG_EXIT_NOT_WATCHED after saying why and what to do instead. */
static int check_watchable(const char *prog)
{
    char *path = find_program(prog);
    if (!path)
        return 0;
    char what[PATH_MAX];
    const char *why = unwatchable(path, what, sizeof what, 0);
    bool script = strcmp(what, path) != 0;
    free(path);
    if (!why)
        return 0;
    fprintf(stderr,
            "lockgraph: cannot watch %s: %s%s %s.\n"
            "lockgraph: instead, %s, or link a test build of it with -llockgraph (see "
            "\"Linked into a test build\" in the README).\n",
            prog, script ? "its interpreter " : "it", script ? what : "", why,
            strstr(why, "statically") ? "build it dynamically linked"
                                      : "run a copy without the set-user-ID or set-group-ID "
                                        "bits or the capabilities, as the user it would run as");
    return LG_EXIT_NOT_WATCHED;
}

/* ---- the run status record (lib/runstatus.h) ---- */

struct status {
    char path[PATH_MAX];
    struct lg_run_status *page; /* NULL when it could not be made */
};

/* In dir, made by us alone (O_EXCL), whole (the library maps it shared). */
static void status_create(struct status *st, const char *dir)
{
    st->page = NULL;
    snprintf(st->path, sizeof st->path, "%s/run-status", dir);
    int fd = open(st->path, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0) {
        st->path[0] = '\0';
        return;
    }
    static char page[LG_RUN_STATUS_SIZE];
    struct lg_run_status hdr = {.magic = LG_RUN_STATUS_MAGIC, .version = LG_RUN_STATUS_VERSION};
    memcpy(page, &hdr, sizeof hdr);
    void *p = MAP_FAILED;
    if (write(fd, page, sizeof page) == (ssize_t)sizeof page)
        p = mmap(NULL, LG_RUN_STATUS_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    close(fd);
    if (p != MAP_FAILED)
        st->page = p;
}

static void status_remove(struct status *st)
{
    if (st->page)
        munmap(st->page, LG_RUN_STATUS_SIZE);
    st->page = NULL;
    if (st->path[0])
        unlink(st->path);
}

/* ---- the environment of the program ---- */

/* True when the colon-separated options set `key`. */
static bool options_have(const char *opts, const char *key)
{
    size_t klen = strlen(key);
    for (const char *p = opts; p && *p;) {
        if (strncmp(p, key, klen) == 0 && p[klen] == '=')
            return true;
        p = strchr(p, ':');
        if (p)
            p++;
    }
    return false;
}

/* Returns 0, or the exit code to stop with after saying why. */
static int set_env(const char *lib, const char *report, const char *status,
                   const struct run_args *a)
{
    /* LD_PRELOAD splits on spaces and colons: such a path cannot be
     * preloaded at all, so say so instead of running without it. */
    if (strpbrk(lib, " :")) {
        fprintf(stderr,
                "lockgraph: cannot preload %s: LD_PRELOAD cannot hold a path with spaces "
                "or colons\n",
                lib);
        return LG_EXIT_TOOL_FAILED;
    }
    const char *opts = a->options ? a->options : getenv("LOCKGRAPH_OPTIONS");
    if (opts && options_have(opts, "report")) {
        fprintf(stderr, "lockgraph: use --report FILE instead of report= in the options, "
                        "so that lockgraph reads the files the library writes\n");
        return LG_EXIT_USAGE;
    }

    /* Ours goes first so its pthread functions are the ones found; what the
     * user preloaded still loads, after it. */
    const char *old = getenv("LD_PRELOAD");
    size_t len = strlen(lib) + (old ? strlen(old) : 0) + 2;
    char *preload = malloc(len);
    int rc = -1;
    if (preload) {
        snprintf(preload, len, "%s%s%s", lib, old && *old ? ":" : "", old && *old ? old : "");
        rc = setenv("LD_PRELOAD", preload, 1);
        free(preload);
    }
    if (rc == 0)
        rc = setenv("LOCKGRAPH_REPORT", report, 1);
    if (rc == 0)
        rc = *status ? setenv(LG_RUN_STATUS_ENV, status, 1) : unsetenv(LG_RUN_STATUS_ENV);
    if (rc == 0 && a->quiet) {
        size_t olen = (opts ? strlen(opts) : 0) + 16;
        char *q = malloc(olen);
        rc = -1;
        if (q) {
            snprintf(q, olen, "%s%squiet=1", opts && *opts ? opts : "", opts && *opts ? ":" : "");
            rc = setenv("LOCKGRAPH_OPTIONS", q, 1);
            free(q);
        }
    } else if (rc == 0 && a->options) {
        rc = setenv("LOCKGRAPH_OPTIONS", a->options, 1);
    }
    if (rc != 0) {
        fprintf(stderr, "lockgraph: cannot set the environment: %s\n", strerror(errno));
        return LG_EXIT_TOOL_FAILED;
    }
    return 0;
}

/* ---- the child ---- */

static void forward(int sig, siginfo_t *info, void *uctx)
{
    (void)uctx;
    pid_t pid = (pid_t)child_pid;
    /* A signal from the terminal (Ctrl-C) went to the whole foreground
     * process group, the program included; sending it again could turn a
     * graceful stop into a forced one. Only signals sent to lockgraph alone
     * (kill, timeout(1), a CI runner) need passing on. */
    if (pid > 0 && info->si_code <= 0)
        kill(pid, sig);
}

static void set_handlers(bool install)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sigemptyset(&sa.sa_mask);
    if (install) {
        sa.sa_sigaction = forward;
        sa.sa_flags = SA_SIGINFO | SA_RESTART;
    } else {
        sa.sa_handler = SIG_DFL;
    }
    for (size_t i = 0; i < sizeof forwarded / sizeof forwarded[0]; i++)
        sigaction(forwarded[i], &sa, NULL);
}

static void mask_signals(int how)
{
    sigset_t set;
    sigemptyset(&set);
    for (size_t i = 0; i < sizeof forwarded / sizeof forwarded[0]; i++)
        sigaddset(&set, forwarded[i]);
    sigprocmask(how, &set, NULL);
}

/* Fork and exec argv. Returns the child's pid; -1 with *exec_errno set when
 * the program could not be executed (the child is then reaped); -2 with
 * *exec_errno set when lockgraph could not even fork. */
static pid_t spawn(char **argv, struct lg_run_status *status, int *exec_errno)
{
    int pipefd[2];
    *exec_errno = 0;
    /* The child reports a failed exec through this pipe; a successful exec
     * closes it (O_CLOEXEC), so the parent reads 0 bytes. */
    if (pipe2(pipefd, O_CLOEXEC) != 0) {
        *exec_errno = errno;
        return -2;
    }
    /* Blocked until child_pid is set, so a signal cannot arrive in between
     * and be lost. */
    mask_signals(SIG_BLOCK);
    set_handlers(true);
    pid_t pid = fork();
    if (pid == 0) {
        close(pipefd[0]);
        set_handlers(false);
        mask_signals(SIG_UNBLOCK);
        /* The library in this process, after exec, knows it is the
         * program run started by this pid. */
        if (status)
            __atomic_store_n(&status->main_pid, (int32_t)getpid(), __ATOMIC_RELEASE);
        execvp(argv[0], argv);
        int e = errno;
        ssize_t w = write(pipefd[1], &e, sizeof e);
        (void)w;
        _exit(LG_EXIT_NOT_FOUND);
    }
    int fork_errno = errno;
    close(pipefd[1]);
    if (pid < 0) {
        close(pipefd[0]);
        mask_signals(SIG_UNBLOCK);
        *exec_errno = fork_errno;
        return -2;
    }
    child_pid = pid;
    mask_signals(SIG_UNBLOCK);

    int e = 0;
    ssize_t got;
    do
        got = read(pipefd[0], &e, sizeof e);
    while (got < 0 && errno == EINTR);
    close(pipefd[0]);
    if (got == (ssize_t)sizeof e) {
        while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
            ;
        child_pid = 0;
        *exec_errno = e ? e : ENOEXEC;
        return -1;
    }
    return pid;
}

/* Wait for the child; returns its wait status. */
static int wait_child(pid_t pid)
{
    siginfo_t info;
    /* Wait without reaping first: while the zombie exists its pid cannot be
     * reused, so clearing child_pid before reaping closes the window in which
     * a forwarded signal could hit an unrelated process. */
    while (waitid(P_PID, (id_t)pid, &info, WEXITED | WNOWAIT) != 0 && errno == EINTR)
        ;
    child_pid = 0;
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    return status;
}

/* ---- after the run ---- */

/* Empty findings files of processes that have ended: a process killed
 * before it could remove a file it made early. One still running (a daemon
 * left behind) keeps its file: it may yet write to it. */
static void remove_empty(const char *pattern, char **paths, size_t *n)
{
    size_t k = 0;
    for (size_t i = 0; i < *n; i++) {
        struct stat st;
        long pid = lg_report_pid(pattern, paths[i]);
        if (pid > 0 && lstat(paths[i], &st) == 0 && S_ISREG(st.st_mode) && st.st_size == 0 &&
            kill((pid_t)pid, 0) != 0 && errno == ESRCH && unlink(paths[i]) == 0) {
            free(paths[i]);
            continue;
        }
        paths[k++] = paths[i];
    }
    *n = k;
}

/* Text appended to a buffer, cut short when full. */
struct text {
    char *p;
    size_t len, used;
};

__attribute__((format(printf, 2, 3))) static void add(struct text *t, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int w = vsnprintf(t->p + t->used, t->len - t->used, fmt, ap);
    va_end(ap);
    if (w > 0)
        t->used = (size_t)w < t->len - t->used ? t->used + (size_t)w : t->len - 1;
}

/* What the run status record says beyond the files: lines for the end of the
 * report into `lines`, the closing line for a run whose files hold no finding
 * into `none`. Returns findings that reached no file; *not_watched is set
 * when the program was not watched (to its end). */
static uint64_t status_verdict(const struct lg_run_status *page, int status, char *lines,
                               size_t lines_len, char *none, size_t none_len, bool *not_watched)
{
    *not_watched = false;
    lines[0] = none[0] = '\0';
    if (!page)
        return 0;
    uint32_t started = __atomic_load_n(&page->started, __ATOMIC_ACQUIRE);
    uint32_t main_state = __atomic_load_n(&page->main_state, __ATOMIC_ACQUIRE);
    uint64_t to_stderr = __atomic_load_n(&page->to_stderr, __ATOMIC_ACQUIRE);
    uint64_t lost = __atomic_load_n(&page->lost, __ATOMIC_ACQUIRE);
    struct text t = {lines, lines_len, 0};
    if (to_stderr)
        add(&t,
            "lockgraph: %llu %s could not be written to a report file and went to the "
            "program's stderr instead (the \"lockgraph: finding:\" lines above; the "
            "\"lockgraph:\" line before them says why)\n",
            (unsigned long long)to_stderr, to_stderr == 1 ? "finding" : "findings");
    if (lost)
        add(&t,
            "lockgraph: %llu %s could be written nowhere: no report file, and the program had "
            "replaced lockgraph's stderr\n",
            (unsigned long long)lost, lost == 1 ? "finding" : "findings");
    if (started == 0) {
        *not_watched = true;
        add(&t,
            "lockgraph: nothing was watched: liblockgraph.so never started in the program or in "
            "any process it ran (did something clear LD_PRELOAD, or run a static or set-user-ID "
            "executable?)\n");
    } else if (main_state == LG_RUN_MAIN_NONE) {
        *not_watched = true;
        add(&t,
            "lockgraph: the program itself was not watched (lockgraph started only in %u other "
            "%s it ran)\n",
            started, started == 1 ? "process" : "processes");
    } else if (main_state == LG_RUN_MAIN_WATCHED && WIFEXITED(status)) {
        /* Watched when it started, but what ended was not: it replaced
         * itself (exec) with something the library did not reach. */
        *not_watched = true;
        char exe[sizeof page->main_exe];
        memcpy(exe, page->main_exe, sizeof exe);
        exe[sizeof exe - 1] = '\0';
        add(&t,
            "lockgraph: the program was not watched to its end: %s ran another executable in "
            "its place (exec), which lockgraph did not reach (LD_PRELOAD cleared, or a static "
            "or set-user-ID executable)\n",
            *exe ? exe : "it");
    }
    if (t.used && lines[t.used - 1] == '\n')
        lines[t.used - 1] = '\0';
    uint64_t unfiled = to_stderr + lost;
    if (unfiled)
        snprintf(none, none_len,
                 "lockgraph: %llu %s, none in a report file (see above); report: none written",
                 (unsigned long long)unfiled, unfiled == 1 ? "finding" : "findings");
    else if (*not_watched)
        snprintf(none, none_len, "lockgraph: no findings, because %s; report: none written",
                 started ? "the program was not watched to its end" : "nothing was watched");
    return unfiled;
}

static int report_and_exit_code(const struct run_args *a, const char *pattern, const char *tmpdir,
                                const struct timespec *start, const struct status *st, pid_t pid,
                                int status)
{
    char **paths = NULL;
    size_t n = 0;
    /* A fixed name was removed before the run; only %p names need the
     * start time to tell this run's files from older ones. */
    if (lg_report_list(pattern, lg_report_has_pid(pattern) ? start : NULL, &paths, &n) != 0) {
        fprintf(stderr, "lockgraph: out of memory listing %s\n", pattern);
        n = 0;
    }
    if (lg_report_has_pid(pattern))
        remove_empty(pattern, paths, &n);

    char status_line[2048] = "", extra[1536], none[256];
    bool not_watched;
    uint64_t unfiled =
        status_verdict(st->page, status, extra, sizeof extra, none, sizeof none, &not_watched);
    size_t used = 0;
    if (WIFEXITED(status) && WEXITSTATUS(status) != 0)
        used =
            (size_t)snprintf(status_line, sizeof status_line,
                             "lockgraph: the program exited with status %d", WEXITSTATUS(status));
    else if (WIFSIGNALED(status))
        used = (size_t)snprintf(status_line, sizeof status_line,
                                "lockgraph: the program was killed by signal %d (%s)%s",
                                WTERMSIG(status), strsignal(WTERMSIG(status)),
                                WCOREDUMP(status) ? ", core dumped" : "");
    if (*extra && used < sizeof status_line)
        snprintf(status_line + used, sizeof status_line - used, "%s%s", used ? "\n" : "", extra);

    char *where = malloc(strlen(pattern) + (n > 0 ? strlen(paths[0]) : 0) + 64);
    if (!where) {
        fprintf(stderr, "lockgraph: out of memory\n");
        exit(LG_EXIT_TOOL_FAILED);
    }
    if (n == 0) {
        if (tmpdir)
            strcpy(where, "none written");
        else
            sprintf(where, "none written (%s)", pattern);
    } else if (n == 1) {
        strcpy(where, paths[0]);
    } else {
        sprintf(where, "%s (%zu files)", pattern, n);
    }

    /* stderr: the program's stdout is its own (lockgraph run -- prog > file
     * must leave file exactly as the program wrote it). */
    struct lg_summary_opts opts = {
        .out = stderr,
        .program_pid = pid,
        .program_completed = WIFEXITED(status),
    };
    struct lg_report_result r;
    /* suppressions= in the options is the tool's to apply (the library
     * only accepts it). */
    char supp[4096];
    const char *opts_text = a->options ? a->options : getenv("LOCKGRAPH_OPTIONS");
    bool have_supp = lg_supp_from_options(opts_text, supp, sizeof supp);
    lg_print_reports(paths, n, where, *status_line ? status_line : NULL, *none ? none : NULL,
                     have_supp ? supp : NULL, &opts, &r);
    free(where);
    lg_report_list_free(paths, n);

    if (r.counts.findings > 0 || unfiled > 0)
        return a->exit_code;
    if (not_watched)
        return LG_EXIT_NOT_WATCHED;
    if (WIFEXITED(status))
        return WEXITSTATUS(status);
    if (WIFSIGNALED(status))
        return 128 + WTERMSIG(status);
    return LG_EXIT_TOOL_FAILED;
}

/* `path` made absolute against the current directory: the program may
 * change directory before the library opens its report, and lockgraph must
 * then still find it. Returns buf, or NULL when it does not fit. */
static const char *absolute(const char *path, char *buf, size_t len)
{
    char cwd[PATH_MAX];
    int n;
    if (path[0] == '/')
        n = snprintf(buf, len, "%s", path);
    else if (getcwd(cwd, sizeof cwd))
        n = snprintf(buf, len, "%s/%s", cwd, path);
    else
        return NULL;
    return n >= 0 && (size_t)n < len ? buf : NULL;
}

int lg_cmd_run(int argc, char **argv)
{
    struct run_args a = {0};
    int rc = parse_args(argc, argv, &a);
    if (rc != 0)
        return rc < 0 ? LG_EXIT_OK : rc;
    if ((rc = check_options(&a)) != 0)
        return rc;

    char *lib = find_library();
    if (!lib)
        return LG_EXIT_TOOL_FAILED;
    if ((rc = check_watchable(a.argv[0])) != 0) {
        free(lib);
        return rc;
    }

    /* The run's own directory: the run status record, and the findings
     * too unless --report names a place. */
    char tmpdir[PATH_MAX] = "";
    const char *base = getenv("TMPDIR");
    char base_buf[PATH_MAX];
    if (!base || !*base || !(base = absolute(base, base_buf, sizeof base_buf)))
        base = "/tmp";
    int len = snprintf(tmpdir, sizeof tmpdir, "%s/lockgraph.XXXXXX", base);
    if (len < 0 || (size_t)len >= sizeof tmpdir) {
        fprintf(stderr, "lockgraph: TMPDIR is too long: %s\n", base);
        free(lib);
        return LG_EXIT_TOOL_FAILED;
    }
    if (!mkdtemp(tmpdir)) {
        fprintf(stderr, "lockgraph: cannot make a report directory in %s: %s\n", base,
                strerror(errno));
        free(lib);
        return LG_EXIT_TOOL_FAILED;
    }

    char pattern_buf[PATH_MAX + 32];
    const char *pattern = NULL;
    if (a.report) {
        pattern = absolute(a.report, pattern_buf, sizeof pattern_buf);
        if (!pattern || strlen(pattern) >= LG_REPORT_PATH_MAX) {
            fprintf(stderr, "lockgraph: report name too long: %s\n", a.report);
            rc = LG_EXIT_TOOL_FAILED;
        } else if (lg_report_prepare(pattern, stderr) != 0) {
            rc = LG_EXIT_TOOL_FAILED;
        }
    } else {
        snprintf(pattern_buf, sizeof pattern_buf, "%s/findings.%%p.jsonl", tmpdir);
        pattern = pattern_buf;
    }
    struct status st = {.path = ""};
    if (rc == 0) {
        status_create(&st, tmpdir);
        rc = set_env(lib, pattern, st.page ? st.path : "", &a);
    }
    free(lib);
    if (rc != 0) {
        status_remove(&st);
        rmdir(tmpdir);
        return rc;
    }

    /* File times come from the kernel's coarse clock; comparing them with
     * the same clock keeps a file written in the first milliseconds. */
    struct timespec start;
    clock_gettime(CLOCK_REALTIME_COARSE, &start);

    fflush(stdout);
    fflush(stderr);
    int exec_errno = 0;
    pid_t pid = spawn(a.argv, st.page, &exec_errno);
    if (pid < 0) {
        fprintf(stderr, "lockgraph: cannot %s '%s': %s\n", pid == -2 ? "start" : "run", a.argv[0],
                strerror(exec_errno));
        status_remove(&st);
        rmdir(tmpdir);
        if (pid == -2)
            return LG_EXIT_TOOL_FAILED;
        return exec_errno == ENOENT ? LG_EXIT_NOT_FOUND : LG_EXIT_CANNOT_EXEC;
    }
    int status = wait_child(pid);
    rc = report_and_exit_code(&a, pattern, a.report ? NULL : tmpdir, &start, &st, pid, status);
    /* The run's directory is litter in /tmp once the status record is
     * gone, unless findings are in it: the summary points at them. */
    status_remove(&st);
    rmdir(tmpdir);
    return rc;
}
