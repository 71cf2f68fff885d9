/* fd I/O while holding a lock. Modes:
 *   held      write/pread on a regular file, writev/read on a pipe, a write
 *             to a file opened O_NONBLOCK (still waits for the disk), a
 *             write and read of a blocking pipe lockgraph never saw
 *             created: 7
 *   nolock    the same calls with no lock held: nothing
 *   nonblock  the same on pipes in O_NONBLOCK mode (pipe2, fcntl, and one
 *             lockgraph never saw created): nothing
 *   dedup     100,000 one-byte writes in a loop under one lock: one
 *             finding, final count 100,000
 *   allow     (io_allow=write,name:quiet) write under "loud" and read
 *             under "quiet" accepted; read under "loud", and under both,
 *             reported naming only "loud": 2
 *   unnamed   one write under an unnamed lock: 1 (its key, put in
 *             io_allow, silences it)
 *   cancel    a thread with a cancel pending writes under a lock: the
 *             finding is written (lockgraph's own write is no cancellation
 *             point), the thread is cancelled in the real write, and the
 *             next finding, from main, is written too: 2, no hang
 */
#define _GNU_SOURCE
#include "sc.h"
#include <fcntl.h>
#include <lockgraph.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;

static pthread_barrier_t bar;

static void unlock(void *mutex)
{
    pthread_mutex_unlock(mutex);
}

static void *cancelled(void *arg)
{
    int null = *(int *)arg;
    pthread_mutex_lock(&m);
    pthread_cleanup_push(unlock, &m);
    pthread_barrier_wait(&bar);
    pthread_barrier_wait(&bar); /* the cancel is pending from here */
    write(null, "x", 1);
    pthread_cleanup_pop(1);
    return NULL;
}

static int temp_file(int flags)
{
    char path[] = "/tmp/sc_io_fd.XXXXXX";
    int fd = mkstemp(path);
    if (fd < 0)
        exit(3);
    if (flags) {
        int fd2 = open(path, O_RDWR | flags);
        close(fd);
        fd = fd2;
    }
    unlink(path);
    return fd;
}

static void calls(int locked, int file, int nbfile, int p[2], int raw[2])
{
    char buf[8];
    struct iovec v = {"y", 1};
    if (locked)
        pthread_mutex_lock(&m);
    if (file >= 0) {
        write(file, "abc", 3);
        pread(file, buf, 3, 0);
    }
    if (nbfile >= 0)
        write(nbfile, "abc", 3);
    writev(p[1], &v, 1);
    read(p[0], buf, 1);
    write(raw[1], "z", 1);
    read(raw[0], buf, 1);
    if (locked)
        pthread_mutex_unlock(&m);
}

int main(int argc, char **argv)
{
    const char *mode = argc > 1 ? argv[1] : "held";
    int p[2], raw[2];
    lg_name_lock(&m, "fd lock");
    /* this thread has locked before: the no-lock path is the real one */
    pthread_mutex_lock(&m);
    pthread_mutex_unlock(&m);
    if (!strcmp(mode, "held") || !strcmp(mode, "nolock")) {
        pipe(p);
        if (syscall(SYS_pipe2, raw, 0) != 0) /* behind lockgraph's back */
            return 3;
        calls(!strcmp(mode, "held"), temp_file(0), temp_file(O_NONBLOCK), p, raw);
    } else if (!strcmp(mode, "nonblock")) {
        pipe2(p, O_NONBLOCK);
        if (syscall(SYS_pipe2, raw, O_NONBLOCK) != 0)
            return 3;
        calls(1, -1, -1, p, raw);
        pipe(p);
        fcntl(p[0], F_SETFL, fcntl(p[0], F_GETFL) | O_NONBLOCK);
        fcntl(p[1], F_SETFL, O_NONBLOCK);
        calls(1, -1, -1, p, raw);
    } else if (!strcmp(mode, "dedup")) {
        int null = open("/dev/null", O_WRONLY);
        pthread_mutex_lock(&m);
        for (int i = 0; i < 100000; i++)
            write(null, "x", 1);
        pthread_mutex_unlock(&m);
    } else if (!strcmp(mode, "allow")) {
        static pthread_mutex_t quiet = PTHREAD_MUTEX_INITIALIZER, loud = PTHREAD_MUTEX_INITIALIZER;
        lg_name_lock(&quiet, "quiet");
        lg_name_lock(&loud, "loud");
        char buf[1];
        pipe(p);
        pthread_mutex_lock(&loud);
        write(p[1], "abc", 3); /* allowed: write */
        pthread_mutex_unlock(&loud);
        pthread_mutex_lock(&quiet);
        read(p[0], buf, 1); /* allowed: the only lock held is quiet */
        pthread_mutex_unlock(&quiet);
        pthread_mutex_lock(&loud);
        read(p[0], buf, 1); /* reported: loud */
        pthread_mutex_unlock(&loud);
        pthread_mutex_lock(&quiet);
        pthread_mutex_lock(&loud);
        read(p[0], buf, 1); /* reported: loud, and quiet left out */
        pthread_mutex_unlock(&loud);
        pthread_mutex_unlock(&quiet);
    } else if (!strcmp(mode, "unnamed")) {
        pthread_mutex_t *u = malloc(sizeof(*u));
        pthread_mutex_init(u, NULL);
        int null = open("/dev/null", O_WRONLY);
        pthread_mutex_lock(u);
        write(null, "x", 1);
        pthread_mutex_unlock(u);
    } else if (!strcmp(mode, "cancel")) {
        int null = open("/dev/null", O_WRONLY);
        pthread_t t;
        void *res;
        pthread_barrier_init(&bar, NULL, 2);
        pthread_create(&t, NULL, cancelled, &null);
        pthread_barrier_wait(&bar);
        pthread_cancel(t);
        pthread_barrier_wait(&bar);
        pthread_join(t, &res);
        if (res != PTHREAD_CANCELED)
            return 4;
        pthread_mutex_lock(&m);
        usleep(1);
        pthread_mutex_unlock(&m);
    } else {
        return 2;
    }
    return 0;
}
