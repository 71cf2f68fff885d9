/*
 * reportpath.c - prepare and expand the LOCKGRAPH_REPORT pattern of a run.
 *
 * Does: remove a stale fixed-name report (never through a link), make its
 * directory, expand a %p pattern with glob(3) and keep only names with
 * digits where %p was and written since the run began.
 * Does not: read or parse the files (findings.c does), or make the
 * temporary directory (run.c does).
 */
#include "reportpath.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

bool lg_report_has_pid(const char *pattern)
{
    return strstr(pattern, "%p") != NULL;
}

bool lg_report_match(const char *pat, const char *s)
{
    for (;;) {
        if (pat[0] == '%' && pat[1] == 'p') {
            /* One or more digits; try each length, since the text after
             * %p may itself start with a digit. */
            for (size_t k = 0; isdigit((unsigned char)s[k]); k++)
                if (lg_report_match(pat + 2, s + k + 1))
                    return true;
            return false;
        }
        if (*pat != *s)
            return false;
        if (*pat == '\0')
            return true;
        pat++;
        s++;
    }
}

/* mkdir -p of dir; 0 or -1 with errno. */
static int make_dirs(char *dir)
{
    struct stat st;
    if (stat(dir, &st) == 0)
        return S_ISDIR(st.st_mode) ? 0 : (errno = ENOTDIR, -1);
    if (errno != ENOENT)
        return -1;
    char *slash = strrchr(dir, '/');
    if (slash && slash != dir) {
        *slash = '\0';
        int rc = make_dirs(dir);
        *slash = '/';
        if (rc != 0)
            return -1;
    }
    return mkdir(dir, 0777) == 0 || errno == EEXIST ? 0 : -1;
}

int lg_report_prepare(const char *pattern, FILE *diag)
{
    /* The directory: made when missing (the README's `--report
     * out/lg.%p.jsonl` in a fresh checkout), unless it has a %p of its own. */
    const char *slash = strrchr(pattern, '/');
    if (slash && slash != pattern) {
        char *dir = strndup(pattern, (size_t)(slash - pattern));
        if (!dir)
            return -1;
        int rc = 0;
        if (!strstr(dir, "%p") && make_dirs(dir) != 0) {
            fprintf(diag, "lockgraph: cannot make the report directory %s: %s\n", dir,
                    strerror(errno));
            rc = -1;
        } else if (!strstr(dir, "%p") && access(dir, W_OK | X_OK) != 0) {
            fprintf(diag, "lockgraph: cannot write reports into %s: %s\n", dir, strerror(errno));
            rc = -1;
        }
        free(dir);
        if (rc != 0)
            return rc;
    }
    if (lg_report_has_pid(pattern))
        return 0;
    /* A fixed name: what is there is an earlier run's, and would be read
     * as this one's. Removed (the library makes the file at its first
     * finding, so a clean run leaves none), but never through a link, and
     * only a regular file of this user: anything else is not lockgraph's
     * to touch, nor to write to. */
    struct stat st;
    if (lstat(pattern, &st) != 0) {
        if (errno == ENOENT)
            return 0;
        fprintf(diag, "lockgraph: report file %s: %s\n", pattern, strerror(errno));
        return -1;
    }
    const char *why = S_ISLNK(st.st_mode)      ? "is a symbolic link"
                      : !S_ISREG(st.st_mode)   ? "is not a regular file"
                      : st.st_uid != geteuid() ? "belongs to another user"
                      : st.st_nlink > 1        ? "has other hard links"
                                               : NULL;
    if (why) {
        fprintf(diag, "lockgraph: report file %s %s: not writing there; name another one\n",
                pattern, why);
        return -1;
    }
    if (unlink(pattern) != 0) {
        fprintf(diag, "lockgraph: cannot remove the stale report %s: %s\n", pattern,
                strerror(errno));
        return -1;
    }
    return 0;
}

long lg_report_pid(const char *pattern, const char *path)
{
    const char *p = strstr(pattern, "%p");
    if (!p || strncmp(pattern, path, (size_t)(p - pattern)) != 0)
        return -1;
    const char *d = path + (p - pattern);
    long pid = 0;
    int digits = 0;
    for (; isdigit((unsigned char)*d) && digits < 10; d++, digits++)
        pid = pid * 10 + (*d - '0');
    return digits ? pid : -1;
}

/* The pattern as a glob: metacharacters escaped, %p as "*". */
static char *to_glob(const char *pattern)
{
    char *g = malloc(strlen(pattern) * 2 + 1);
    if (!g)
        return NULL;
    char *o = g;
    for (const char *p = pattern; *p; p++) {
        if (p[0] == '%' && p[1] == 'p') {
            *o++ = '*';
            p++;
            continue;
        }
        if (strchr("*?[\\", *p))
            *o++ = '\\';
        *o++ = *p;
    }
    *o = '\0';
    return g;
}

static int natural_order(const void *a, const void *b)
{
    return strverscmp(*(char *const *)a, *(char *const *)b);
}

static bool not_before(const struct timespec *t, const struct timespec *since)
{
    return t->tv_sec > since->tv_sec ||
           (t->tv_sec == since->tv_sec && t->tv_nsec >= since->tv_nsec);
}

int lg_report_list(const char *pattern, const struct timespec *since, char ***paths, size_t *n)
{
    *paths = NULL;
    *n = 0;
    struct stat st;

    if (!lg_report_has_pid(pattern)) {
        if (stat(pattern, &st) != 0)
            return 0;
        *paths = malloc(sizeof **paths);
        if (!*paths || !((*paths)[0] = strdup(pattern))) {
            free(*paths);
            *paths = NULL;
            return -1;
        }
        *n = 1;
        return 0;
    }

    char *g = to_glob(pattern);
    if (!g)
        return -1;
    glob_t gl;
    int grc = glob(g, 0, NULL, &gl);
    free(g);
    if (grc == GLOB_NOMATCH)
        return 0;
    if (grc != 0)
        return -1;

    char **out = calloc(gl.gl_pathc ? gl.gl_pathc : 1, sizeof *out);
    if (!out) {
        globfree(&gl);
        return -1;
    }
    size_t k = 0;
    for (size_t i = 0; i < gl.gl_pathc; i++) {
        const char *path = gl.gl_pathv[i];
        if (!lg_report_match(pattern, path) || stat(path, &st) != 0 || !S_ISREG(st.st_mode))
            continue;
        /* A file of an earlier run whose pid came round again is older
         * than this run: leave it alone. */
        if (since && !not_before(&st.st_mtim, since))
            continue;
        if (!(out[k] = strdup(path))) {
            lg_report_list_free(out, k);
            globfree(&gl);
            return -1;
        }
        k++;
    }
    globfree(&gl);
    qsort(out, k, sizeof *out, natural_order);
    *paths = out;
    *n = k;
    return 0;
}

void lg_report_list_free(char **paths, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(paths[i]);
    free(paths);
}
