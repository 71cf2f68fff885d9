/* Waiting calls while holding a lock. Modes:
 *   held      poll, ppoll, select, pselect, epoll_wait, epoll_pwait, each
 *             with a 1 ms timeout on an fd with nothing to read: 6
 *   nolock    the same with no lock held: nothing
 *   nonblock  the same with zero timeouts, under the lock: nothing
 */
#define _GNU_SOURCE
#include "sc.h"
#include <lockgraph.h>
#include <poll.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/select.h>
#include <unistd.h>

static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;

static void waits(int locked, int ms)
{
    int p[2];
    pipe(p);
    int ep = epoll_create1(0);
    struct epoll_event ev = {.events = EPOLLIN, .data.fd = p[0]}, out;
    epoll_ctl(ep, EPOLL_CTL_ADD, p[0], &ev);
    struct pollfd pf = {.fd = p[0], .events = POLLIN};
    struct timespec ts = {0, ms * 1000000L};
    struct timeval tv = {0, ms * 1000L};
    fd_set rs;
    if (locked)
        pthread_mutex_lock(&m);
    poll(&pf, 1, ms);
    ppoll(&pf, 1, &ts, NULL);
    FD_ZERO(&rs);
    FD_SET(p[0], &rs);
    select(p[0] + 1, &rs, NULL, NULL, &tv);
    FD_ZERO(&rs);
    FD_SET(p[0], &rs);
    pselect(p[0] + 1, &rs, NULL, NULL, &ts, NULL);
    epoll_wait(ep, &out, 1, ms);
    epoll_pwait(ep, &out, 1, ms, NULL);
    if (locked)
        pthread_mutex_unlock(&m);
}

int main(int argc, char **argv)
{
    const char *mode = argc > 1 ? argv[1] : "held";
    lg_name_lock(&m, "wait lock");
    pthread_mutex_lock(&m);
    pthread_mutex_unlock(&m);
    if (!strcmp(mode, "held"))
        waits(1, 1);
    else if (!strcmp(mode, "nolock"))
        waits(0, 1);
    else if (!strcmp(mode, "nonblock"))
        waits(1, 0);
    else
        return 2;
    return 0;
}
