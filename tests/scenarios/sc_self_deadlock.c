/* A normal mutex locked again by its owner: the thread hangs forever. The
 * finding must be on disk before it does; the test then kills us. */
#include "sc.h"
#include <unistd.h>

static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;

int main(void)
{
    pthread_mutex_lock(&m);
    write(1, "locked once\n", 12);
    pthread_mutex_lock(&m); /* hangs */
    return 0;
}
