/* A test build linked with -llockgraph (no preload): the I/O shims are in
 * the library it links, so they see its calls. 1,000 writes under a named
 * lock: one finding at once (lg_finding_count), count 1,000 at exit. */
#define _GNU_SOURCE
#include "sc.h"
#include <fcntl.h>
#include <lockgraph.h>
#include <unistd.h>

static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;

int main(void)
{
    if (!lg_active())
        return 10;
    lg_name_lock(&m, "linked lock");
    int null = open("/dev/null", O_WRONLY);
    write(null, "x", 1); /* no lock: nothing */
    if (lg_finding_count() != 0)
        return 11;
    pthread_mutex_lock(&m);
    for (int i = 0; i < 1000; i++)
        write(null, "x", 1);
    pthread_mutex_unlock(&m);
    return lg_finding_count() == 1 ? 0 : 12;
}
