/* dlopen/dlclose: a library's static mutexes are taken A then B, the
 * library is unloaded, loaded again (at the same address: checked, exit 4
 * if not), and its new mutexes are taken B then A. Different locks: nothing
 * to report. With "keep", the library stays loaded between the two: a real
 * cycle, which must be reported. With "stacks", the library takes two of
 * this program's mutexes A then B and is unloaded, then the program takes B
 * then A: a cycle whose A -> B stacks are in a library no longer loaded, so
 * the finding's module map must still name it. argv[1]: the library. */
#include <pthread.h>
#include <dlfcn.h>
#include <stdio.h>
#include <string.h>

static void *load(const char *path, void (**ab)(void), void (**ba)(void), void **addr)
{
    void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        fprintf(stderr, "%s\n", dlerror());
        return NULL;
    }
    *(void **)ab = dlsym(h, "dl_lock_ab");
    *(void **)ba = dlsym(h, "dl_lock_ba");
    void *(*where)(void);
    *(void **)&where = dlsym(h, "dl_lock_address");
    *addr = where();
    return h;
}

int main(int argc, char **argv)
{
    if (argc < 2)
        return 2;
    int keep = argc > 2 && strcmp(argv[2], "keep") == 0;
    if (argc > 2 && strcmp(argv[2], "stacks") == 0) {
        static pthread_mutex_t a = PTHREAD_MUTEX_INITIALIZER, b = PTHREAD_MUTEX_INITIALIZER;
        void *h = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
        if (!h)
            return 3;
        void (*pair)(pthread_mutex_t *, pthread_mutex_t *);
        *(void **)&pair = dlsym(h, "dl_lock_pair");
        pair(&a, &b);
        dlclose(h);
        pthread_mutex_lock(&b);
        pthread_mutex_lock(&a);
        pthread_mutex_unlock(&a);
        pthread_mutex_unlock(&b);
        return 0;
    }
    void (*ab)(void), (*ba)(void);
    void *addr1, *addr2;
    void *h = load(argv[1], &ab, &ba, &addr1);
    if (!h)
        return 3;
    ab();
    if (!keep) {
        dlclose(h);
        h = load(argv[1], &ab, &ba, &addr2);
        if (!h)
            return 3;
        if (addr2 != addr1)
            return 4; /* not at the same address: the test would prove nothing */
    }
    ba();
    dlclose(h);
    return 0;
}
