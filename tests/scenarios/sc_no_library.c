/* Built with lockgraph.h but run without the library: every annotation is
 * a no-op and the program runs normally. */
#include "sc.h"
#include <lockgraph.h>

static pthread_mutex_t a = PTHREAD_MUTEX_INITIALIZER;

int main(void)
{
    lg_name_lock(&a, "a");
    pthread_mutex_lock(&a);
    int held = lg_assert_no_locks_held(); /* would fail under lockgraph */
    pthread_mutex_unlock(&a);
    return (lg_active() == 0 && lg_finding_count() == 0 && held == 0 && lg_flush() == 0) ? 0 : 1;
}
