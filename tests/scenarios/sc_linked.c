/* A test build linked with -llockgraph (no preload): the annotations work,
 * lg_finding_count() sees the cycle, lg_assert_* hold where they should,
 * lg_flush() holding a lock is no held-across-io. */
#include "sc.h"
#include <lockgraph.h>

static pthread_mutex_t a = PTHREAD_MUTEX_INITIALIZER, b = PTHREAD_MUTEX_INITIALIZER;

int main(void)
{
    if (!lg_active())
        return 10;
    lg_name_lock(&a, "first");
    if (lg_assert_no_locks_held() != 0)
        return 11;
    pthread_mutex_lock(&a);
    if (lg_assert_held(&a) != 0)
        return 12;
    pthread_mutex_unlock(&a);
    sc_lock2(&a, &b);
    if (lg_finding_count() != 0)
        return 13;
    sc_lock2(&b, &a);
    if (lg_finding_count() != 1)
        return 14;
    if (lg_flush() != 0)
        return 15;
    /* lockgraph's own fsync is no I/O of the program's, lock held or not
     * (it went through the I/O shim, which wrote a finding under the
     * report lock it was called with: a hang). */
    pthread_mutex_lock(&a);
    if (lg_flush() != 0)
        return 17;
    pthread_mutex_unlock(&a);
    /* on_assert=report in the test's options: the failed assertion says so
     * and returns -1 instead of aborting. */
    pthread_mutex_lock(&b);
    int r = lg_assert_no_locks_held();
    pthread_mutex_unlock(&b);
    return r == -1 ? 0 : 16;
}
