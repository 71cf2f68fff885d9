/*
 * test_accounts.c - a test with a potential deadlock no run of it hangs on:
 * transfer(from, to) locks the two accounts in argument order, and two
 * tellers transfer in opposite directions, one after the other. lockgraph
 * reports the lock-order cycle; ACCOUNTS_FIXED locks them in one order
 * (by address) and nothing is found.
 *
 *   test_accounts [--quick]   (--quick: fewer transfers)
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

struct account {
    pthread_mutex_t lock;
    long balance;
};

static struct account savings = {PTHREAD_MUTEX_INITIALIZER, 100};
static struct account checking = {PTHREAD_MUTEX_INITIALIZER, 100};
static int rounds = 1000;

static void transfer(struct account *from, struct account *to, long amount)
{
    struct account *first = from, *second = to;
#ifdef ACCOUNTS_FIXED
    if ((uintptr_t)first > (uintptr_t)second) {
        first = to;
        second = from;
    }
#endif
    pthread_mutex_lock(&first->lock);
    pthread_mutex_lock(&second->lock);
    from->balance -= amount;
    to->balance += amount;
    pthread_mutex_unlock(&second->lock);
    pthread_mutex_unlock(&first->lock);
}

static void *to_checking(void *arg)
{
    (void)arg;
    for (int i = 0; i < rounds; i++)
        transfer(&savings, &checking, 1);
    return NULL;
}

static void *to_savings(void *arg)
{
    (void)arg;
    for (int i = 0; i < rounds; i++)
        transfer(&checking, &savings, 1);
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "--quick") == 0)
        rounds = 10;
    /* One teller after the other: this run never hangs. */
    pthread_t t;
    pthread_create(&t, NULL, to_checking, NULL);
    pthread_join(t, NULL);
    pthread_create(&t, NULL, to_savings, NULL);
    pthread_join(t, NULL);
    if (savings.balance + checking.balance != 200) {
        fprintf(stderr, "test_accounts: money was lost\n");
        return 1;
    }
    printf("test_accounts: ok\n");
    return 0;
}
