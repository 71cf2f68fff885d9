/*
 * stack_shapes.h - call shapes for test_stack.c's unwinder comparisons.
 *
 * The same functions are compiled twice, with and without frame pointers
 * (stack_shapes_fp.c, stack_shapes_nofp.c), and once into a shared library
 * (stack_lib.c): each calls down depth levels, through a frame made with
 * alloca (its CFA is rbp-based even without frame pointers) and one with a
 * 64-byte aligned local (a realigned stack), then calls cb(arg).
 */
#ifndef LG_TEST_STACK_SHAPES_H
#define LG_TEST_STACK_SHAPES_H

typedef void (*lg_shape_cb)(void *arg);

int lg_shape_fp(int depth, lg_shape_cb cb, void *arg);
int lg_shape_nofp(int depth, lg_shape_cb cb, void *arg);
int lg_shape_lib(int depth, lg_shape_cb cb, void *arg);
/* A busy loop with calls, for signals to interrupt anywhere: runs until
 * *stop is set. Compiled without frame pointers. */
void lg_shape_spin(volatile int *stop);

#endif
