/* stack_shapes_nofp.c - the call shapes, built without frame pointers, and
 * the busy loop that signals interrupt. */
#define SHAPE(x) nofp_##x
#include "stack_shapes.inc"

int lg_shape_nofp(int depth, lg_shape_cb cb, void *arg)
{
    return nofp_entry(depth, cb, arg);
}

__attribute__((noinline)) static unsigned spin_step(unsigned x, int n)
{
    char *p = alloca((size_t)(n & 31) + 8);
    p[0] = (char)x;
    nofp_touch(p);
    return x * 2654435761u + (unsigned)p[0];
}

__attribute__((noinline)) static unsigned spin_deep(unsigned x, int n)
{
    return n > 0 ? spin_deep(spin_step(x, n), n - 1) + 1 : x;
}

void lg_shape_spin(volatile int *stop)
{
    unsigned x = 1;
    for (int i = 0; !*stop; i++)
        x = spin_deep(x, i & 7);
    nofp_touch(&x);
}
