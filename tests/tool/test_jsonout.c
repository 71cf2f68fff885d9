/*
 * test_jsonout.c - jsonout.c: a document written with its long array
 * spliced in element by element is byte for byte what json-c writes for
 * the whole document, nested splices, empty arrays and escaped text
 * included.
 */
#include <CUnit/Basic.h>
#include <json.h>
#include <stdlib.h>
#include <string.h>

#include "jsonout.h"

static json_object *element(int i)
{
    json_object *o = json_object_new_object();
    json_object_object_add(o, "n", json_object_new_int(i));
    json_object_object_add(o, "name", json_object_new_string("a \"quoted\"\nname/\x01"));
    json_object_object_add(o, "empty", json_object_new_array());
    json_object *places = json_object_new_array();
    for (int k = 0; k < i; k++) {
        json_object *p = json_object_new_object();
        json_object_object_add(p, "line", json_object_new_int(k));
        json_object_array_add(places, p);
    }
    json_object_object_add(o, "places", places);
    return o;
}

static json_object *document(int n, bool marks)
{
    json_object *root = json_object_new_object();
    json_object_object_add(root, "tool", json_object_new_string("lockgraph"));
    json_object *items = json_object_new_array();
    if (marks)
        json_object_array_add(items, lg_json_splice_mark());
    else
        for (int i = 0; i < n; i++)
            json_object_array_add(items, element(i));
    json_object_object_add(root, "items", items);
    json_object_object_add(root, "after", json_object_new_boolean(1));
    return root;
}

/* The document of n elements written whole by json-c, and spliced. */
static void check(int n)
{
    json_object *whole = document(n, false);
    char *want = strdup(json_object_to_json_string_ext(whole, LG_JSON_FLAGS));
    json_object_put(whole);

    char *got = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&got, &len);
    json_object *doc = document(n, true);
    struct lg_json_splice s;
    CU_ASSERT_EQUAL_FATAL(lg_json_splice_begin(&s, doc, out, 0), 0);
    json_object_put(doc);
    for (int i = 0; i < n; i++) {
        /* Each element with a splice of its own for its places. */
        json_object *e = element(0);
        json_object_object_del(e, "n");
        json_object *fresh = json_object_new_object();
        json_object_object_add(fresh, "n", json_object_new_int(i));
        json_object_object_add(fresh, "name", json_object_new_string("a \"quoted\"\nname/\x01"));
        json_object_object_add(fresh, "empty", json_object_new_array());
        json_object *places = json_object_new_array();
        json_object_array_add(places, lg_json_splice_mark());
        json_object_object_add(fresh, "places", places);
        json_object_put(e);
        struct lg_json_splice inner;
        size_t indent = lg_json_splice_item_begin(&s);
        CU_ASSERT_EQUAL_FATAL(lg_json_splice_begin(&inner, fresh, out, indent), 0);
        json_object_put(fresh);
        for (int k = 0; k < i; k++) {
            json_object *p = json_object_new_object();
            json_object_object_add(p, "line", json_object_new_int(k));
            CU_ASSERT_EQUAL(lg_json_splice_item(&inner, p), 0);
            json_object_put(p);
        }
        lg_json_splice_end(&inner);
    }
    lg_json_splice_end(&s);
    fclose(out);
    if (strcmp(got, want) != 0) {
        fprintf(stderr, "\n  %d elements:\n--- json-c\n%s\n--- spliced\n%s\n", n, want, got);
        CU_FAIL("spliced text differs from json-c's");
    }
    free(got);
    free(want);
}

static void test_splice(void)
{
    check(0);
    check(1);
    check(3);
}

static void test_no_mark(void)
{
    json_object *doc = document(2, false);
    struct lg_json_splice s;
    CU_ASSERT_EQUAL(lg_json_splice_begin(&s, doc, stdout, 0), -1);
    json_object_put(doc);
}

int main(void)
{
    if (CU_initialize_registry() != CUE_SUCCESS)
        return 1;
    CU_pSuite s = CU_add_suite("jsonout", NULL, NULL);
    CU_add_test(s, "spliced = whole, nested and empty", test_splice);
    CU_add_test(s, "no placeholder", test_no_mark);
    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_basic_run_tests();
    unsigned failed = CU_get_number_of_failures();
    CU_cleanup_registry();
    return failed ? 1 : 0;
}
