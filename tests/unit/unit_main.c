/*
 * unit_main.c - runs the unit suites: `lockgraph_unit [suite]`.
 * Exit status 0 only when every test of the chosen suites passed.
 */
#include "unit.h"

#include "reclaim.h"

#include <CUnit/Basic.h>
#include <stdio.h>
#include <string.h>

int main(int argc, char **argv)
{
    if (CU_initialize_registry() != CUE_SUCCESS)
        return 2;
    lg__reclaim_init(); /* grace periods, as at start-up */
    const char *only = argc > 1 ? argv[1] : NULL;
    int matched = 0;
#define LG_SUITE_ADD(name)                                                                         \
    if (!only || strcmp(only, #name) == 0) {                                                       \
        lg_suite_##name();                                                                         \
        matched++;                                                                                 \
    }
    LG_SUITES(LG_SUITE_ADD)
    if (!matched) {
        fprintf(stderr, "no suite named '%s'\n", only);
        CU_cleanup_registry();
        return 2;
    }
    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_basic_run_tests();
    unsigned failed = CU_get_number_of_failures() + CU_get_number_of_tests_failed();
    unsigned run = CU_get_number_of_tests_run();
    CU_cleanup_registry();
    return (failed == 0 && run > 0) ? 0 : 1;
}
