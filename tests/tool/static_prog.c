/* static_prog.c - linked -static: LD_PRELOAD cannot reach it, so
 * `lockgraph run` must refuse to run it (test_cli.sh run-watched). */
#include <stdio.h>

int main(void)
{
    puts("static program ran");
    return 0;
}
