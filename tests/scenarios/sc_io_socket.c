/* Socket calls while holding a lock. Modes:
 *   held      over loopback TCP: connect, accept, send, recv, sendto,
 *             recvfrom, sendmsg, recvmsg, each under a lock: 8
 *   nolock    the same with no lock held: nothing
 *   nonblock  under a lock: MSG_DONTWAIT on blocking sockets, sockets made
 *             SOCK_NONBLOCK, or non-blocking by ioctl(FIONBIO) or fcntl:
 *             nothing
 */
#define _GNU_SOURCE
#include "sc.h"
#include <arpa/inet.h>
#include <fcntl.h>
#include <lockgraph.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
static int locked;

static void lock(void)
{
    if (locked)
        pthread_mutex_lock(&m);
}

static void unlock(void)
{
    if (locked)
        pthread_mutex_unlock(&m);
}

static int listener(struct sockaddr_in *a)
{
    int l = socket(AF_INET, SOCK_STREAM, 0);
    memset(a, 0, sizeof(*a));
    a->sin_family = AF_INET;
    a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof(*a);
    if (bind(l, (struct sockaddr *)a, sizeof(*a)) != 0 || listen(l, 4) != 0 ||
        getsockname(l, (struct sockaddr *)a, &len) != 0)
        exit(3);
    return l;
}

static void blocking_calls(void)
{
    struct sockaddr_in a;
    int l = listener(&a);
    int c = socket(AF_INET, SOCK_STREAM, 0);
    char buf[8];
    struct iovec v = {buf, 1};
    struct msghdr mh = {.msg_iov = &v, .msg_iovlen = 1};
    lock();
    connect(c, (struct sockaddr *)&a, sizeof(a));
    unlock();
    lock();
    int s = accept(l, NULL, NULL); /* a connection is pending: returns at once */
    unlock();
    lock();
    send(c, "ab", 2, 0);
    unlock();
    lock();
    recv(s, buf, 1, 0);
    unlock();
    lock();
    sendto(c, "cd", 2, 0, NULL, 0);
    unlock();
    lock();
    recvfrom(s, buf, 1, 0, NULL, NULL);
    unlock();
    lock();
    sendmsg(c, &mh, 0);
    unlock();
    lock();
    recvmsg(s, &mh, 0);
    unlock();
    close(s);
    close(c);
    close(l);
}

int main(int argc, char **argv)
{
    const char *mode = argc > 1 ? argv[1] : "held";
    lg_name_lock(&m, "net lock");
    pthread_mutex_lock(&m);
    pthread_mutex_unlock(&m);
    if (!strcmp(mode, "held") || !strcmp(mode, "nolock")) {
        locked = !strcmp(mode, "held");
        blocking_calls();
    } else if (!strcmp(mode, "nonblock")) {
        int sv[2], nb[2], io[2], fc[2];
        char buf[8];
        socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
        socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, nb);
        socketpair(AF_UNIX, SOCK_STREAM, 0, io);
        socketpair(AF_UNIX, SOCK_STREAM, 0, fc);
        int on = 1;
        ioctl(io[0], FIONBIO, &on);
        ioctl(io[1], FIONBIO, &on);
        fcntl(fc[0], F_SETFL, O_NONBLOCK);
        fcntl(fc[1], F_SETFL, O_NONBLOCK);
        pthread_mutex_lock(&m);
        send(sv[0], "a", 1, MSG_DONTWAIT);
        recv(sv[1], buf, 1, MSG_DONTWAIT);
        recv(sv[1], buf, 1, MSG_DONTWAIT); /* EAGAIN: it did not block */
        send(nb[0], "a", 1, 0);
        recv(nb[1], buf, 8, 0);
        recv(nb[1], buf, 8, 0);
        send(io[0], "a", 1, 0);
        recv(io[1], buf, 8, 0);
        write(fc[0], "a", 1);
        read(fc[1], buf, 8);
        struct sockaddr_in a;
        int l = listener(&a);
        fcntl(l, F_SETFL, O_NONBLOCK);
        accept(l, NULL, NULL); /* EAGAIN */
        int c = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
        connect(c, (struct sockaddr *)&a, sizeof(a)); /* EINPROGRESS at most */
        pthread_mutex_unlock(&m);
    } else {
        return 2;
    }
    return 0;
}
