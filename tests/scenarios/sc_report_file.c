/*
 * sc_report_file - what a program does to its own process, then an AB/BA
 * inversion: the finding must still reach the findings file (or, where no
 * file may be had, stderr), and nowhere the user did not ask.
 *
 *   sc_report_file MODE [DIR]
 *
 * MODE, each then closes the cycle unless it says otherwise:
 *   chdir          chdir("/") (the report path was relative), then fork: the
 *                  child closes the cycle too, in its own file
 *   chroot         chroot into DIR/jail (made here)
 *   setuid         setgid/setuid to 65534 (the report directory is root's)
 *   closefds       close every fd, stderr too
 *   fork-daemon    fork; the child setuid(65534), closes every fd, chdir("/")
 *                  and closes the cycle; the parent waits for it, clean
 *   nofile         use every fd RLIMIT_NOFILE allows (1024, the usual soft
 *                  limit, above lockgraph's own fds)
 *   stderr-data    put DIR/data on fd 2, as a daemon puts its log there
 *   daemon-data    close every fd, open DIR/data (it becomes fd 0), dup it to
 *                  1 and 2
 *   symlink        plant a symbolic link at this process's findings file
 *                  name, to DIR/victim, before the first finding
 *   dangling       the same, to DIR/new-victim, which does not exist
 *   seteuid-back   seteuid(65534) and back, then no finding: the file made
 *                  before the change is removed at exit
 *   seteuid-_exit  the same, leaving through _exit
 *   nothing-_exit  no finding, leave through _exit
 */
#define _GNU_SOURCE
#include "sc.h"

#include <fcntl.h>
#include <grp.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static pthread_mutex_t a = PTHREAD_MUTEX_INITIALIZER, b = PTHREAD_MUTEX_INITIALIZER;

static void cycle(void)
{
    sc_lock2(&a, &b);
    sc_lock2(&b, &a);
}

static void close_every_fd(void)
{
    struct rlimit rl;
    getrlimit(RLIMIT_NOFILE, &rl);
    for (long fd = 0; fd < (long)rl.rlim_cur && fd < 65536; fd++)
        close((int)fd);
}

static void become_nobody(void)
{
    if (setgroups(0, NULL) != 0 || setgid(65534) != 0 || setuid(65534) != 0) {
        perror("setuid");
        exit(3);
    }
}

/* This process's findings file, from LOCKGRAPH_REPORT (%p: our pid). */
static void report_name(char *out, size_t len)
{
    const char *r = getenv("LOCKGRAPH_REPORT");
    const char *p = r ? strstr(r, "%p") : NULL;
    if (!p) {
        fprintf(stderr, "LOCKGRAPH_REPORT has no %%p\n");
        exit(3);
    }
    snprintf(out, len, "%.*s%ld%s", (int)(p - r), r, (long)getpid(), p + 2);
}

int main(int argc, char **argv)
{
    const char *mode = argc > 1 ? argv[1] : "";
    const char *dir = argc > 2 ? argv[2] : "/tmp";
    char path[4096];

    if (!strcmp(mode, "chdir")) {
        if (chdir("/") != 0)
            return 3;
        pid_t pid = fork();
        if (pid == 0) {
            cycle();
            _exit(0);
        }
        int st;
        waitpid(pid, &st, 0);
        if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
            return 4;
    } else if (!strcmp(mode, "chroot")) {
        snprintf(path, sizeof path, "%s/jail", dir);
        mkdir(path, 0755);
        if (chroot(path) != 0 || chdir("/") != 0) {
            perror("chroot");
            return 3;
        }
    } else if (!strcmp(mode, "setuid")) {
        become_nobody();
    } else if (!strcmp(mode, "closefds")) {
        close_every_fd();
    } else if (!strcmp(mode, "fork-daemon")) {
        pid_t pid = fork();
        if (pid == 0) {
            setsid();
            become_nobody();
            close_every_fd();
            if (chdir("/") != 0)
                _exit(3);
            cycle();
            _exit(0);
        }
        int st;
        waitpid(pid, &st, 0);
        return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : 4;
    } else if (!strcmp(mode, "nofile")) {
        struct rlimit rl;
        getrlimit(RLIMIT_NOFILE, &rl);
        rl.rlim_cur = rl.rlim_max < 1024 ? rl.rlim_max : 1024;
        if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
            return 3;
        int n = 0;
        while (open("/dev/null", O_RDONLY) >= 0)
            n++;
        if (n == 0)
            return 3;
    } else if (!strcmp(mode, "stderr-data")) {
        snprintf(path, sizeof path, "%s/data", dir);
        int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fd < 0 || dup2(fd, 2) != 2)
            return 3;
        close(fd);
        dprintf(2, "data\n");
    } else if (!strcmp(mode, "daemon-data")) {
        close_every_fd();
        snprintf(path, sizeof path, "%s/data", dir);
        if (open(path, O_RDWR | O_CREAT | O_TRUNC, 0644) != 0 || dup(0) != 1 || dup(0) != 2)
            return 3;
        dprintf(2, "data\n");
    } else if (!strcmp(mode, "symlink") || !strcmp(mode, "dangling")) {
        char name[4096];
        report_name(name, sizeof name);
        snprintf(path, sizeof path, "%s/%s", dir,
                 !strcmp(mode, "symlink") ? "victim" : "new-victim");
        if (symlink(path, name) != 0) {
            perror("symlink");
            return 3;
        }
    } else if (!strcmp(mode, "seteuid-back") || !strcmp(mode, "seteuid-_exit")) {
        if (seteuid(65534) != 0 || seteuid(0) != 0)
            return 3;
        if (!strcmp(mode, "seteuid-_exit"))
            _exit(0);
        return 0;
    } else if (!strcmp(mode, "nothing-_exit")) {
        sc_lock2(&a, &b);
        _exit(0);
    } else {
        fprintf(stderr, "unknown mode '%s'\n", mode);
        return 2;
    }
    cycle();
    return 0;
}
