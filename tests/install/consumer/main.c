/* Linked against an installed liblockgraph through find_package: the
 * annotations reach the library and an AB/BA cycle is counted. */
#include <lockgraph.h>
#include <pthread.h>

static pthread_mutex_t a = PTHREAD_MUTEX_INITIALIZER, b = PTHREAD_MUTEX_INITIALIZER;

int main(void)
{
    lg_name_lock(&a, "a");
    pthread_mutex_lock(&a);
    pthread_mutex_lock(&b);
    pthread_mutex_unlock(&b);
    pthread_mutex_unlock(&a);
    pthread_mutex_lock(&b);
    pthread_mutex_lock(&a);
    pthread_mutex_unlock(&a);
    pthread_mutex_unlock(&b);
    return lg_active() && lg_finding_count() == 1 ? 0 : 1;
}
