/* Durability calls while holding a lock. Modes:
 *   held      fsync, fdatasync, sync_file_range with a WAIT flag, msync
 *             with MS_SYNC, on a small temporary file: 4
 *   nolock    the same with no lock held: nothing
 *   nonblock  msync(MS_ASYNC) and sync_file_range(WRITE) only start
 *             write-out, under the lock: nothing
 */
#define _GNU_SOURCE
#include "sc.h"
#include <fcntl.h>
#include <lockgraph.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;

int main(int argc, char **argv)
{
    const char *mode = argc > 1 ? argv[1] : "held";
    lg_name_lock(&m, "sync lock");
    pthread_mutex_lock(&m);
    pthread_mutex_unlock(&m);
    char path[] = "/tmp/sc_io_sync.XXXXXX";
    int fd = mkstemp(path);
    unlink(path);
    if (fd < 0 || ftruncate(fd, 4096) != 0)
        return 3;
    char *map = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (map == MAP_FAILED)
        return 3;
    map[0] = 'x';
    int held = !strcmp(mode, "held");
    if (held || !strcmp(mode, "nolock")) {
        if (held)
            pthread_mutex_lock(&m);
        fsync(fd);
        fdatasync(fd);
        sync_file_range(fd, 0, 4096, SYNC_FILE_RANGE_WRITE | SYNC_FILE_RANGE_WAIT_AFTER);
        msync(map, 4096, MS_SYNC);
        if (held)
            pthread_mutex_unlock(&m);
    } else if (!strcmp(mode, "nonblock")) {
        pthread_mutex_lock(&m);
        msync(map, 4096, MS_ASYNC);
        sync_file_range(fd, 0, 4096, SYNC_FILE_RANGE_WRITE);
        pthread_mutex_unlock(&m);
    } else {
        return 2;
    }
    return 0;
}
