/* stdio while holding a lock: glibc's stdio reaches write(2) inside libc,
 * where interposing write sees nothing, so stdio is checked itself. Modes:
 *   held      on a temporary file: fwrite, fprintf, fputs, fputc, fflush,
 *             fgets, getline, fread; printf to stdout (/dev/null): 9, and no
 *             "write" finding from inside any of them
 *   nolock    the same with no lock held: nothing
 *   nonblock  under the lock, a memory stream (fmemopen: no fd) and a
 *             stream on an O_NONBLOCK pipe: nothing
 */
#define _GNU_SOURCE
#include "sc.h"
#include <fcntl.h>
#include <lockgraph.h>
#include <string.h>
#include <unistd.h>

static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;

static void calls(int locked)
{
    char path[] = "/tmp/sc_io_stdio.XXXXXX";
    int fd = mkstemp(path);
    unlink(path);
    FILE *f = fdopen(fd, "w+");
    char buf[64], *line = NULL;
    size_t cap = 0;
    if (!f)
        exit(3);
    if (locked)
        pthread_mutex_lock(&m);
    fwrite("hello\n", 1, 6, f);
    fprintf(f, "%d\n", 42);
    fputs("line\n", f);
    fputc('x', f);
    fflush(f);
    if (locked)
        pthread_mutex_unlock(&m);
    rewind(f);
    if (locked)
        pthread_mutex_lock(&m);
    fgets(buf, sizeof(buf), f);
    getline(&line, &cap, f);
    fread(buf, 1, 4, f);
    printf("%d\n", 7);
    if (locked)
        pthread_mutex_unlock(&m);
    free(line);
    fclose(f);
}

int main(int argc, char **argv)
{
    const char *mode = argc > 1 ? argv[1] : "held";
    lg_name_lock(&m, "stdio lock");
    pthread_mutex_lock(&m);
    pthread_mutex_unlock(&m);
    setvbuf(stdout, NULL, _IOFBF, 0);
    if (!strcmp(mode, "held") || !strcmp(mode, "nolock")) {
        calls(!strcmp(mode, "held"));
    } else if (!strcmp(mode, "nonblock")) {
        char mem[256];
        FILE *ms = fmemopen(mem, sizeof(mem), "w+");
        int p[2];
        pipe2(p, O_NONBLOCK);
        FILE *ps = fdopen(p[1], "w");
        if (!ms || !ps)
            return 3;
        pthread_mutex_lock(&m);
        fwrite("abc", 1, 3, ms);
        fprintf(ms, "%d", 1);
        fflush(ms);
        fwrite("abc", 1, 3, ps);
        fprintf(ps, "%d", 1);
        fflush(ps);
        pthread_mutex_unlock(&m);
    } else {
        return 2;
    }
    return 0;
}
