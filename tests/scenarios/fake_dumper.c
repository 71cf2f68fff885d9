/* fake_dumper READY - stands in for a process under lockgraph that exits in
 * the middle of `lockgraph dump`: it listens on the dump socket the library
 * would (the abstract "lockgraph.PID"), writes READY once it does, and on
 * the first connection writes the start of a snapshot and exits. */
#define _GNU_SOURCE
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    if (argc != 2)
        return 2;
    struct sockaddr_un a;
    memset(&a, 0, sizeof a);
    a.sun_family = AF_UNIX;
    int n = snprintf(a.sun_path + 1, sizeof a.sun_path - 1, "lockgraph.%d", (int)getpid());
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    if (fd < 0 || bind(fd, (struct sockaddr *)&a, offsetof(struct sockaddr_un, sun_path) + 1 + n) ||
        listen(fd, 1))
        return 1;
    FILE *r = fopen(argv[1], "w");
    if (!r)
        return 1;
    fclose(r);
    int c = accept(fd, NULL, NULL);
    static const char part[] = "{\"kind\":\"live\",\"version\":1,\"pid\":1,\"modules\":[]}\n"
                               "{\"kind\":\"live-thread\",\"thread\":{\"tid\":1,";
    if (c < 0 || write(c, part, sizeof part - 1) < 0)
        return 1;
    _exit(0);
}
