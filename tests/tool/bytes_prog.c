/*
 * bytes_prog.c - load the module named by its first argument (bytes_lib.c,
 * wherever the test put it) and call the function named by its second.
 */
#include <dlfcn.h>
#include <stdio.h>

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: bytes_prog MODULE FUNCTION\n");
        return 2;
    }
    void *h = dlopen(argv[1], RTLD_NOW);
    if (!h) {
        fprintf(stderr, "bytes_prog: %s\n", dlerror());
        return 2;
    }
    void (*fn)(void) = (void (*)(void))dlsym(h, argv[2]);
    if (!fn) {
        fprintf(stderr, "bytes_prog: %s\n", dlerror());
        return 2;
    }
    fn();
    return 0;
}
