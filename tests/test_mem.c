/*
 * lib/mem.c failure injection: the hook other tests use to reach ENOMEM paths.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "mem.h"

static int reset(void **state)
{
    (void)state;
    vqa_mem_fail_after(-1, 0);
    return 0;
}

static void test_off_by_default(void **state)
{
    (void)state;
    void *p = vqa_malloc(16);
    assert_non_null(p);
    vqa_free(p);
    char *s = vqa_strdup("abc");
    assert_string_equal(s, "abc");
    vqa_freep(&s);
    assert_null(s);
}

static void test_fail_next_once(void **state)
{
    (void)state;
    vqa_mem_fail_after(0, 0);
    assert_null(vqa_malloc(16));
    void *p = vqa_calloc(2, 8); /* not sticky: the one after works */
    assert_non_null(p);
    vqa_free(p);
}

static void test_fail_after_n(void **state)
{
    (void)state;
    vqa_mem_fail_after(2, 0);
    void *a = vqa_malloc(1);
    void *b = vqa_calloc(1, 1);
    void *c = vqa_malloc(1);
    void *d = vqa_malloc(1);
    assert_non_null(a);
    assert_non_null(b);
    assert_null(c);
    assert_non_null(d);
    vqa_free(a);
    vqa_free(b);
    vqa_free(d);
}

static void test_sticky_then_off(void **state)
{
    (void)state;
    vqa_mem_fail_after(1, 1);
    char *first = vqa_strdup("kept");
    assert_non_null(first);
    assert_null(vqa_malloc(1));
    assert_null(vqa_calloc(1, 1));
    assert_null(vqa_realloc(first, 64)); /* a failed realloc keeps the old block */
    assert_null(vqa_strndup("abc", 2));
    assert_string_equal(first, "kept");
    vqa_mem_fail_after(-1, 0);
    char *grown = vqa_realloc(first, 64);
    assert_non_null(grown);
    assert_string_equal(grown, "kept");
    vqa_free(grown);
}

static void test_strndup_and_null(void **state)
{
    (void)state;
    char *s = vqa_strndup("abcdef", 3);
    assert_string_equal(s, "abc");
    vqa_free(s);
    assert_null(vqa_strdup(NULL));
    vqa_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_off_by_default, reset),
        cmocka_unit_test_teardown(test_fail_next_once, reset),
        cmocka_unit_test_teardown(test_fail_after_n, reset),
        cmocka_unit_test_teardown(test_sticky_then_off, reset),
        cmocka_unit_test_teardown(test_strndup_and_null, reset),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
