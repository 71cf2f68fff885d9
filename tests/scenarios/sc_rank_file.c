/* An unannotated program for rank files under the preload: a global table
 * lock and a static log lock (sym: keys), account locks on the heap made by
 * one function (a site: key). Modes:
 *
 *   good     table -> accounts (in address order) -> log, on 4 threads
 *   bad      before anything else, the table lock is taken while holding
 *            the log lock: against the ranks, with no cycle anywhere (the
 *            other order never runs)
 *   cycle    as good, then the bad order too: a lock-order cycle
 *   dump     as good, then lg_dump_graph(argv[2]) from inside the program
 */
#include "sc.h"
#include <lockgraph.h>
#include <string.h>

pthread_mutex_t table_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;

struct account {
    pthread_mutex_t lock;
    long balance;
};

static struct account *account_new(void)
{
    struct account *a = calloc(1, sizeof(*a));
    pthread_mutex_init(&a->lock, NULL);
    return a;
}

static struct account *accts[8];

static void transfer(struct account *from, struct account *to)
{
    struct account *lo = from < to ? from : to, *hi = from < to ? to : from;
    pthread_mutex_lock(&table_lock);
    pthread_mutex_lock(&lo->lock);
    pthread_mutex_lock(&hi->lock);
    from->balance--;
    to->balance++;
    pthread_mutex_lock(&log_lock);
    pthread_mutex_unlock(&log_lock);
    pthread_mutex_unlock(&hi->lock);
    pthread_mutex_unlock(&lo->lock);
    pthread_mutex_unlock(&table_lock);
}

static void *worker(void *arg)
{
    long k = (long)arg;
    for (int i = 0; i < 200; i++)
        transfer(accts[(i + k) % 8], accts[(i * 3 + k + 1) % 8 == (i + k) % 8 ? (i + k + 1) % 8
                                                                                : (i * 3 + k + 1) % 8]);
    return NULL;
}

static void log_then_table(void)
{
    pthread_mutex_lock(&log_lock);
    pthread_mutex_lock(&table_lock); /* against the order: log is taken last */
    pthread_mutex_unlock(&table_lock);
    pthread_mutex_unlock(&log_lock);
}

int main(int argc, char **argv)
{
    const char *mode = argc > 1 ? argv[1] : "good";
    for (int i = 0; i < 8; i++)
        accts[i] = account_new();
    if (strcmp(mode, "bad") == 0) {
        log_then_table();
        return 0;
    }
    pthread_t t[4];
    for (long i = 0; i < 4; i++)
        pthread_create(&t[i], NULL, worker, (void *)i);
    for (int i = 0; i < 4; i++)
        pthread_join(t[i], NULL);
    if (strcmp(mode, "cycle") == 0)
        log_then_table();
    if (strcmp(mode, "dump") == 0 && argc > 2 && lg_dump_graph(argv[2]) != 0)
        return 11;
    for (int i = 0; i < 8; i++) {
        pthread_mutex_destroy(&accts[i]->lock);
        free(accts[i]);
    }
    return 0;
}
