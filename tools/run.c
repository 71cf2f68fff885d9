/*
 * run.c - the `run` verb: run a program with liblockgraph.so preloaded, wait
 * for it, then report what the library found.
 *
 * Does: find the library, choose and clean the report location, set
 * LD_PRELOAD / LOCKGRAPH_REPORT / LOCKGRAPH_OPTIONS, fork and exec the
 * program (telling "not found" from "not executable" like a shell), forward
 * the signals a user sends to lockgraph, wait, print the findings of every
 * process of the run, and pick the exit code.
 * Does not: parse findings or format them (findings.c, summary.c), or look
 * inside the program: a static or setuid program ignores LD_PRELOAD, and
 * then simply reports nothing.
 */
#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "reportpath.h"
#include "suppress.h"

#ifndef LG_INSTALL_LIBDIR
#define LG_INSTALL_LIBDIR "/usr/local/lib"
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
    lg_usage(stderr);
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
    int i = 1;
    for (; i < argc; i++) {
        const char *arg = argv[i];
        if (strcmp(arg, "--") == 0)
            break;
        if (strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0) {
            lg_usage(stdout);
            return -1;
        }
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
static int set_env(const char *lib, const char *report, const struct run_args *a)
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
static pid_t spawn(char **argv, int *exec_errno)
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

static bool all_empty(char **paths, size_t n)
{
    struct stat st;
    for (size_t i = 0; i < n; i++)
        if (stat(paths[i], &st) != 0 || st.st_size != 0)
            return false;
    return true;
}

static int report_and_exit_code(const struct run_args *a, const char *pattern, const char *tmpdir,
                                const struct timespec *start, pid_t pid, int status)
{
    char **paths = NULL;
    size_t n = 0;
    /* A fixed name was truncated before the run; only %p names need the
     * start time to tell this run's files from older ones. */
    if (lg_report_list(pattern, lg_report_has_pid(pattern) ? start : NULL, &paths, &n) != 0) {
        fprintf(stderr, "lockgraph: out of memory listing %s\n", pattern);
        n = 0;
    }

    char status_line[128] = "";
    if (WIFEXITED(status) && WEXITSTATUS(status) != 0)
        snprintf(status_line, sizeof status_line, "lockgraph: the program exited with status %d",
                 WEXITSTATUS(status));
    else if (WIFSIGNALED(status))
        snprintf(status_line, sizeof status_line,
                 "lockgraph: the program was killed by signal %d (%s)%s", WTERMSIG(status),
                 strsignal(WTERMSIG(status)), WCOREDUMP(status) ? ", core dumped" : "");

    /* A temporary directory that received nothing (or only empty files)
     * is litter in /tmp: it goes. A directory with findings stays, since
     * the summary points at it. */
    bool discard = tmpdir && all_empty(paths, n);

    char *where = malloc(strlen(pattern) + (n > 0 ? strlen(paths[0]) : 0) + 64);
    if (!where) {
        fprintf(stderr, "lockgraph: out of memory\n");
        exit(LG_EXIT_TOOL_FAILED);
    }
    if (discard)
        strcpy(where, "none written");
    else if (n == 0)
        sprintf(where, "none written (%s)", pattern);
    else if (n == 1)
        strcpy(where, paths[0]);
    else
        sprintf(where, "%s (%zu files)", pattern, n);

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
    lg_print_reports(paths, n, where, *status_line ? status_line : NULL, NULL,
                     have_supp ? supp : NULL, &opts, &r);
    free(where);

    if (discard) {
        for (size_t i = 0; i < n; i++)
            unlink(paths[i]);
        rmdir(tmpdir);
    }
    lg_report_list_free(paths, n);

    if (r.counts.findings > 0)
        return a->exit_code;
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

    char *lib = find_library();
    if (!lib)
        return LG_EXIT_TOOL_FAILED;

    char tmpdir[PATH_MAX] = "";
    char pattern_buf[PATH_MAX + 32];
    const char *pattern = NULL;
    if (a.report) {
        pattern = absolute(a.report, pattern_buf, sizeof pattern_buf);
        if (!pattern) {
            fprintf(stderr, "lockgraph: report name too long: %s\n", a.report);
            free(lib);
            return LG_EXIT_TOOL_FAILED;
        }
    }
    if (!pattern) {
        const char *base = getenv("TMPDIR");
        char base_buf[PATH_MAX];
        if (!base || !*base || !(base = absolute(base, base_buf, sizeof base_buf)))
            base = "/tmp";
        int n = snprintf(tmpdir, sizeof tmpdir, "%s/lockgraph.XXXXXX", base);
        if (n < 0 || (size_t)n >= sizeof tmpdir) {
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
        snprintf(pattern_buf, sizeof pattern_buf, "%s/findings.%%p.jsonl", tmpdir);
        pattern = pattern_buf;
    } else if (lg_report_prepare(pattern, stderr) != 0) {
        free(lib);
        return LG_EXIT_TOOL_FAILED;
    }

    rc = set_env(lib, pattern, &a);
    free(lib);
    if (rc != 0) {
        if (*tmpdir)
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
    pid_t pid = spawn(a.argv, &exec_errno);
    if (pid < 0) {
        fprintf(stderr, "lockgraph: cannot %s '%s': %s\n", pid == -2 ? "start" : "run", a.argv[0],
                strerror(exec_errno));
        if (*tmpdir)
            rmdir(tmpdir);
        if (pid == -2)
            return LG_EXIT_TOOL_FAILED;
        return exec_errno == ENOENT ? LG_EXIT_NOT_FOUND : LG_EXIT_CANNOT_EXEC;
    }
    int status = wait_child(pid);
    return report_and_exit_code(&a, pattern, *tmpdir ? tmpdir : NULL, &start, pid, status);
}
