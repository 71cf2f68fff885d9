/* Ranks declared in code (lockgraph.h). Built twice: run under the preload,
 * and linked with -llockgraph. The mode in argv[1] picks what to do; the
 * exit status says whether the API answered as it should (the findings file
 * is checked by the runner).
 *
 *   first        a (10) then c (30), b (20) then c are fine; b then a is a
 *                rank-violation the very first time, though a -> b never
 *                ran (no cycle), and repeating it from the same place
 *                reports nothing more
 *   address      16 locks of one class, nested in address order: nothing
 *   address_bad  ... and once against it: one violation (same-class)
 *   strict       two locks of a strict class nested: one violation
 *   order        cfg < table < stats declared; stats < cfg refused; table
 *                then cfg is a violation (order, through the chain)
 *   mixed        x 10, y 20, y < z: holding z, taking x is a violation
 *   trylock      holding b (20), trylock a (10): nothing (cannot block)
 *   late         locks named first, class ranked afterwards: still checked
 *   kinds        an rwlock (10), a spinlock (20), a mutex (30): in order is
 *                fine; the spinlock then a read of the rwlock is a violation
 */
#include "sc.h"
#include <lockgraph.h>
#include <string.h>

static pthread_mutex_t a, b, c, cfg, table, stats, x, y, z, s1, s2;
static pthread_mutex_t acct[16];
static pthread_rwlock_t rw = PTHREAD_RWLOCK_INITIALIZER;
static pthread_spinlock_t spin;

static void init_all(void)
{
    pthread_mutex_t *all[] = {&a, &b, &c, &cfg, &table, &stats, &x, &y, &z, &s1, &s2};
    for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
        pthread_mutex_init(all[i], NULL);
    for (int i = 0; i < 16; i++)
        pthread_mutex_init(&acct[i], NULL);
}

static void *b_then_a(void *arg)
{
    (void)arg;
    for (int i = 0; i < 100; i++)
        sc_lock2(&b, &a);
    return NULL;
}

static void transfer(int i, int j)
{
    sc_lock2(&acct[i], &acct[j]);
}

int main(int argc, char **argv)
{
    const char *mode = argc > 1 ? argv[1] : "first";
    if (!lg_active())
        return 10;
    init_all();
    if (strcmp(mode, "first") == 0) {
        if (lg_rank_lock(&a, 10, "a") != 0 || lg_rank_lock(&b, 20, "b") != 0 ||
            lg_rank_lock(&c, 30, "c") != 0)
            return 11;
        sc_lock2(&a, &c);
        sc_lock2(&b, &c);
        if (lg_finding_count() != 0)
            return 12;
        sc_run(b_then_a, NULL);
        return lg_finding_count() == 1 ? 0 : 13;
    }
    if (strcmp(mode, "address") == 0 || strcmp(mode, "address_bad") == 0) {
        if (lg_rank_class("account", 30, LG_NEST_ADDRESS) != 0)
            return 11;
        for (int i = 0; i < 16; i++)
            lg_name_lock(&acct[i], "account");
        for (int i = 0; i < 16; i++)
            for (int j = i + 1; j < 16; j++)
                transfer(i, j); /* acct[] is in address order */
        if (strcmp(mode, "address_bad") == 0)
            transfer(9, 3);
        return 0;
    }
    if (strcmp(mode, "strict") == 0) {
        lg_rank_lock(&s1, 40, "session");
        lg_rank_lock(&s2, 40, "session");
        sc_lock2(&s1, &s2);
        return 0;
    }
    if (strcmp(mode, "order") == 0) {
        lg_name_lock(&cfg, "cfg");
        lg_name_lock(&table, "table");
        lg_name_lock(&stats, "stats");
        if (lg_lock_order("cfg", "table") != 0 || lg_lock_order("table", "stats") != 0)
            return 11;
        if (lg_lock_order("stats", "cfg") != -1) /* would close a cycle */
            return 12;
        sc_lock2(&cfg, &stats); /* fine: cfg < table < stats */
        sc_lock2(&table, &cfg); /* cfg must come first */
        return 0;
    }
    if (strcmp(mode, "mixed") == 0) {
        lg_rank_lock(&x, 10, "x");
        lg_rank_lock(&y, 20, "y");
        lg_name_lock(&z, "z");
        if (lg_lock_order("y", "z") != 0)
            return 11;
        sc_lock2(&x, &z);
        sc_lock2(&z, &x);
        return 0;
    }
    if (strcmp(mode, "trylock") == 0) {
        lg_rank_lock(&a, 10, "a");
        lg_rank_lock(&b, 20, "b");
        pthread_mutex_lock(&b);
        if (pthread_mutex_trylock(&a) == 0)
            pthread_mutex_unlock(&a);
        pthread_mutex_unlock(&b);
        return 0;
    }
    if (strcmp(mode, "late") == 0) {
        lg_name_lock(&a, "early-a");
        lg_name_lock(&b, "early-b");
        if (lg_rank_class("early-a", 10, LG_NEST_KEEP) != 0 ||
            lg_rank_class("early-b", 20, LG_NEST_KEEP) != 0)
            return 11;
        sc_lock2(&b, &a);
        return 0;
    }
    if (strcmp(mode, "kinds") == 0) {
        pthread_spin_init(&spin, PTHREAD_PROCESS_PRIVATE);
        if (lg_rank_lock(&rw, 10, "table-rw") != 0 || lg_rank_lock(&spin, 20, "stats-spin") != 0 ||
            lg_rank_lock(&c, 30, "log-mutex") != 0)
            return 11;
        pthread_rwlock_wrlock(&rw);
        pthread_spin_lock(&spin);
        pthread_mutex_lock(&c);
        pthread_mutex_unlock(&c);
        pthread_spin_unlock(&spin);
        pthread_rwlock_unlock(&rw);
        pthread_spin_lock(&spin);
        pthread_rwlock_rdlock(&rw); /* against the ranks */
        pthread_rwlock_unlock(&rw);
        pthread_spin_unlock(&spin);
        return 0;
    }
    return 2;
}
