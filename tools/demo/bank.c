/*
 * bank.c - the lockgraph demo: a bank whose transfers can deadlock.
 *
 * transfer(from, to, amount) locks `from`, then `to`: the two accounts in
 * argument order. Teller 1 moves money from checking to savings while
 * teller 2 moves money from savings to checking. If both get their first
 * lock at the same moment, each waits for the other forever.
 *
 * The tellers here run one after the other, so this program never hangs:
 * ordinary testing finds nothing. Under lockgraph the lock-order cycle is
 * reported anyway, with the stacks of both orders.
 *
 * The fix is to lock in a global order (say, by account number) whatever
 * the direction of the transfer: build with -DFIXED to see lockgraph stay
 * quiet.
 */
#include <lockgraph.h>
#include <pthread.h>
#include <stdio.h>

struct account {
    int number;
    long balance;
    pthread_mutex_t lock;
};

static struct account checking = {1, 500, PTHREAD_MUTEX_INITIALIZER};
static struct account savings = {2, 1000, PTHREAD_MUTEX_INITIALIZER};

static void transfer(struct account *from, struct account *to, long amount)
{
#ifdef FIXED
    struct account *first = from->number < to->number ? from : to;
    struct account *second = first == from ? to : from;
#else
    struct account *first = from, *second = to;
#endif
    pthread_mutex_lock(&first->lock);
    pthread_mutex_lock(&second->lock);
    from->balance -= amount;
    to->balance += amount;
    pthread_mutex_unlock(&second->lock);
    pthread_mutex_unlock(&first->lock);
}

static void *teller_to_savings(void *arg)
{
    (void)arg;
    for (int i = 0; i < 3; i++)
        transfer(&checking, &savings, 10);
    return NULL;
}

static void *teller_to_checking(void *arg)
{
    (void)arg;
    for (int i = 0; i < 3; i++)
        transfer(&savings, &checking, 5);
    return NULL;
}

int main(void)
{
    pthread_t t;

    /* Names show up in lockgraph's findings; without lockgraph they cost
     * nothing. */
    lg_name_lock(&checking.lock, "checking");
    lg_name_lock(&savings.lock, "savings");

    pthread_create(&t, NULL, teller_to_savings, NULL);
    pthread_join(t, NULL);
    pthread_create(&t, NULL, teller_to_checking, NULL);
    pthread_join(t, NULL);

    printf("checking %ld, savings %ld (total %ld)\n", checking.balance, savings.balance,
           checking.balance + savings.balance);
    return 0;
}
