/* stack_shapes_fp.c - the call shapes, built with frame pointers. */
#define SHAPE(x) fp_##x
#include "stack_shapes.inc"

int lg_shape_fp(int depth, lg_shape_cb cb, void *arg)
{
    return fp_entry(depth, cb, arg);
}
