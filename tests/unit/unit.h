/*
 * unit.h - shared by the CUnit suites in tests/unit: each test_<module>.c
 * defines one lg_suite_<module>() that registers its suite; unit_main.c runs
 * one suite by name, or all of them.
 */
#ifndef LG_TEST_UNIT_H
#define LG_TEST_UNIT_H

#include <CUnit/CUnit.h>

#define LG_SUITES(X)                                                                               \
    X(graph) X(registry) X(held) X(options) X(util) X(stack) X(alloc) X(ranks) X(keys) X(sem)

#define LG_SUITE_DECL(name) void lg_suite_##name(void);
LG_SUITES(LG_SUITE_DECL)
#undef LG_SUITE_DECL

/* CU_add_test, unless LG_TEST_FILTER is set and not part of the name. */
#include <stdlib.h>
#include <string.h>
static inline void lg_add_test(CU_pSuite s, const char *name, CU_TestFunc fn)
{
    const char *f = getenv("LG_TEST_FILTER");
    if (!f || strstr(name, f))
        CU_add_test(s, name, fn);
}

/* Deterministic pseudo-random numbers (xorshift64*), so failures repeat. */
static inline unsigned long long lg_test_rand(unsigned long long *s)
{
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return *s * 2685821657736338717ull;
}

#endif
