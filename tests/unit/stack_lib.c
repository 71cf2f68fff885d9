/* stack_lib.c - the call shapes in a shared library of their own, built
 * without frame pointers: frames of another module. */
#define SHAPE(x) lib_##x
#include "stack_shapes.inc"

__attribute__((visibility("default"))) int lg_shape_lib(int depth, lg_shape_cb cb, void *arg)
{
    return lib_entry(depth, cb, arg);
}
