/*
 * Option tables (vqa_options_apply) and detector specs (vqa_spec_parse).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "mem.h"
#include "options.h"

typedef struct TestPriv {
    int flag;
    int64_t count;
    double level_db;
    const char *label;
    const char *none;
} TestPriv;

static const VqaOption test_opts[] = {
    { "flag", "a bool", NULL, VQA_OPT_BOOL, offsetof(TestPriv, flag),
      1, NULL, 0, 1, 0, { NULL, NULL } },
    { "count", "an int", NULL, VQA_OPT_INT, offsetof(TestPriv, count),
      16, NULL, 4, 64, 0, { NULL, NULL } },
    { "level", "a double", "dBFS", VQA_OPT_DOUBLE, offsetof(TestPriv, level_db),
      -60, NULL, -120, 0, 0, { NULL, NULL } },
    { "label", "a string", NULL, VQA_OPT_STRING, offsetof(TestPriv, label),
      0, "main", 0, 0, 0, { NULL, NULL } },
    { "none", "a string without default", NULL, VQA_OPT_STRING, offsetof(TestPriv, none),
      0, NULL, 0, 0, VQA_OPT_FLAG_DEPRECATED, { NULL, NULL } },
    { NULL, NULL, NULL, VQA_OPT_NONE, 0, 0, NULL, 0, 0, 0, { NULL, NULL } },
};

/* Apply args to a fresh state; returns the error, message in msg. */
static int apply(const char *args, TestPriv *p, char *msg, size_t msg_size)
{
    VqaOptionStore store = { 0 };
    memset(p, 0xAB, sizeof(*p)); /* defaults must overwrite whatever was there */
    int err = vqa_options_apply("tester", test_opts, p, args, &store, msg, msg_size);
    vqa_option_store_free(&store);
    p->label = p->none = NULL; /* freed with the store */
    return err;
}

static void test_defaults_stored(void **state)
{
    (void)state;
    TestPriv p;
    memset(&p, 0xAB, sizeof(p));
    VqaOptionStore store = { 0 };
    char msg[256];
    assert_int_equal(vqa_options_apply("tester", test_opts, &p, NULL, &store, msg, sizeof(msg)),
                     0);
    assert_int_equal(p.flag, 1);
    assert_int_equal(p.count, 16);
    assert_true(p.level_db == -60.0);
    assert_string_equal(p.label, "main");
    assert_null(p.none);
    assert_int_equal(store.count, 1);
    assert_ptr_equal(store.strings[0], p.label); /* a host copy, not the table's string */
    assert_ptr_not_equal(p.label, test_opts[3].default_str);
    vqa_option_store_free(&store);
    assert_int_equal(store.count, 0);
    assert_null(store.strings);
}

static void test_every_type_parsed(void **state)
{
    (void)state;
    TestPriv p;
    memset(&p, 0, sizeof(p));
    VqaOptionStore store = { 0 };
    char msg[256];
    int err = vqa_options_apply("tester", test_opts, &p,
                                "flag=off:count=32:level=-1.5:label=studio b:none=x", &store,
                                msg, sizeof(msg));
    assert_int_equal(err, 0);
    assert_int_equal(p.flag, 0);
    assert_int_equal(p.count, 32);
    assert_true(p.level_db == -1.5);
    assert_string_equal(p.label, "studio b");
    assert_string_equal(p.none, "x");
    vqa_option_store_free(&store);
}

static void test_bool_spellings(void **state)
{
    (void)state;
    static const char *const yes[] = { "flag=1", "flag=true", "flag=YES", "flag=on" };
    static const char *const no[] = { "flag=0", "flag=False", "flag=no", "flag=OFF" };
    TestPriv p;
    char msg[256];
    for (size_t i = 0; i < 4; i++) {
        assert_int_equal(apply(yes[i], &p, msg, sizeof(msg)), 0);
        assert_int_equal(p.flag, 1);
        assert_int_equal(apply(no[i], &p, msg, sizeof(msg)), 0);
        assert_int_equal(p.flag, 0);
    }
    assert_int_equal(apply("flag=maybe", &p, msg, sizeof(msg)), VQA_ERR(EINVAL));
    assert_non_null(strstr(msg, "tester: flag=maybe is not a boolean"));
}

static void test_numbers(void **state)
{
    (void)state;
    TestPriv p;
    char msg[256];
    assert_int_equal(apply("level=2e-1:count=8.0", &p, msg, sizeof(msg)), VQA_ERR(EINVAL));
    assert_string_equal(msg, "tester: level=2e-1 is out of range [-120, 0]");
    assert_int_equal(apply("level=-0.2:count=8.0", &p, msg, sizeof(msg)), 0);
    assert_true(p.level_db == -0.2);
    assert_int_equal(p.count, 8);
    assert_int_equal(apply("level=-60", &p, msg, sizeof(msg)), 0);
    assert_int_equal(apply("level=0", &p, msg, sizeof(msg)), 0);
    assert_int_equal(apply("level=-120", &p, msg, sizeof(msg)), 0); /* bounds inclusive */

    assert_int_equal(apply("count=1.5", &p, msg, sizeof(msg)), VQA_ERR(EINVAL));
    assert_string_equal(msg, "tester: count=1.5 is not an integer");
    assert_int_equal(apply("level=abc", &p, msg, sizeof(msg)), VQA_ERR(EINVAL));
    assert_string_equal(msg, "tester: level=abc is not a number");
    assert_int_equal(apply("level=nan", &p, msg, sizeof(msg)), VQA_ERR(EINVAL));
    assert_int_equal(apply("level=-1e999", &p, msg, sizeof(msg)), VQA_ERR(EINVAL));
    assert_int_equal(apply("level=", &p, msg, sizeof(msg)), VQA_ERR(EINVAL));
    assert_int_equal(apply("count=12abc", &p, msg, sizeof(msg)), VQA_ERR(EINVAL));
}

static void test_range_messages(void **state)
{
    (void)state;
    TestPriv p;
    char msg[256];
    assert_int_equal(apply("count=65", &p, msg, sizeof(msg)), VQA_ERR(EINVAL));
    assert_string_equal(msg, "tester: count=65 is out of range [4, 64]");
    assert_int_equal(apply("count=3", &p, msg, sizeof(msg)), VQA_ERR(EINVAL));
    assert_string_equal(msg, "tester: count=3 is out of range [4, 64]");
    assert_int_equal(apply("level=-120.5", &p, msg, sizeof(msg)), VQA_ERR(EINVAL));
    assert_string_equal(msg, "tester: level=-120.5 is out of range [-120, 0]");
}

static void test_unknown_and_malformed_keys(void **state)
{
    (void)state;
    TestPriv p;
    char msg[256];
    assert_int_equal(apply("foo=1", &p, msg, sizeof(msg)), VQA_ERR(EINVAL));
    assert_string_equal(msg, "tester: unknown option 'foo' (options: flag, count, level, "
                             "label, none)");
    assert_int_equal(apply("count", &p, msg, sizeof(msg)), VQA_ERR(EINVAL));
    assert_non_null(strstr(msg, "'count' needs a value"));
    assert_int_equal(apply("=5", &p, msg, sizeof(msg)), VQA_ERR(EINVAL));

    VqaOptionStore store = { 0 };
    int dummy = 0;
    assert_int_equal(vqa_options_apply("bare", NULL, &dummy, "x=1", &store, msg, sizeof(msg)),
                     VQA_ERR(EINVAL));
    assert_string_equal(msg, "bare: unknown option 'x' (it has no options)");
    assert_int_equal(vqa_options_apply("bare", NULL, NULL, "", &store, msg, sizeof(msg)), 0);
    vqa_option_store_free(&store);
}

static void test_whitespace_and_empty_items(void **state)
{
    (void)state;
    TestPriv p;
    char msg[256];
    assert_int_equal(apply(" count = 5 : : level= -3 :", &p, msg, sizeof(msg)), 0);
    assert_int_equal(p.count, 5);
    assert_true(p.level_db == -3.0);
    assert_int_equal(apply("", &p, msg, sizeof(msg)), 0);
    assert_int_equal(p.count, 16);
}

static void test_later_value_wins_and_small_msg(void **state)
{
    (void)state;
    TestPriv p;
    char msg[12];
    assert_int_equal(apply("count=5:count=6", &p, msg, sizeof(msg)), 0);
    assert_int_equal(p.count, 6);
    assert_int_equal(apply("count=1000", &p, msg, sizeof(msg)), VQA_ERR(EINVAL));
    assert_int_equal(strlen(msg), sizeof(msg) - 1); /* cut, still terminated */
    assert_int_equal(apply("count=1000", &p, NULL, 0), VQA_ERR(EINVAL));
}

static void test_type_names(void **state)
{
    (void)state;
    assert_string_equal(vqa_option_type_name(VQA_OPT_BOOL), "bool");
    assert_string_equal(vqa_option_type_name(VQA_OPT_INT), "int");
    assert_string_equal(vqa_option_type_name(VQA_OPT_DOUBLE), "double");
    assert_string_equal(vqa_option_type_name(VQA_OPT_STRING), "string");
    assert_string_equal(vqa_option_type_name(VQA_OPT_NONE), "none");
    assert_string_equal(vqa_option_type_name((VqaOptionType)42), "none");
}

/* ---- specs, against a registry holding two fixture plugins -------------- */

static int open_registry(void **state)
{
    setenv("VQA_PLUGIN_PATH", "", 1);
    setenv("VQA_PLUGIN_SYSTEM_PATH", "", 1);
    VqaRegistry *reg = NULL;
    if (vqa_registry_open(&reg, NULL, NULL) < 0)
        return -1;
    if (vqa_registry_load_file(reg, VQA_FIXTURE_PLUGIN_DIR "/good.so") != VQA_PLUGIN_LOADED ||
        vqa_registry_load_file(reg, VQA_FIXTURE_PLUGIN_DIR "/old_vtable.so") !=
            VQA_PLUGIN_LOADED) {
        vqa_registry_close(&reg);
        return -1;
    }
    *state = reg;
    return 0;
}

static int close_registry(void **state)
{
    VqaRegistry *reg = *state;
    vqa_registry_close(&reg);
    return 0;
}

static void test_spec_empty_means_all(void **state)
{
    const VqaRegistry *reg = *state;
    static const char *const blanks[] = { NULL, "", "  \t" };
    for (size_t i = 0; i < 3; i++) {
        VqaSpec spec;
        char msg[256];
        assert_int_equal(vqa_spec_parse(reg, blanks[i], &spec, msg, sizeof(msg)), 0);
        assert_int_equal(spec.count, 2);
        assert_string_equal(spec.items[0].cls->name, "fixture_good");
        assert_string_equal(spec.items[1].cls->name, "fixture_old_vtable");
        assert_null(spec.items[0].args);
        vqa_spec_free(&spec);
        assert_int_equal(spec.count, 0);
    }
}

static void test_spec_items_and_args(void **state)
{
    const VqaRegistry *reg = *state;
    VqaSpec spec;
    char msg[256];
    assert_int_equal(vqa_spec_parse(reg, "  fixture_old_vtable , fixture_good:count=7:level=-3.5 ",
                                    &spec, msg, sizeof(msg)), 0);
    assert_int_equal(spec.count, 2);
    assert_ptr_equal(spec.items[0].cls, vqa_registry_find(reg, "fixture_old_vtable"));
    assert_null(spec.items[0].args);
    assert_ptr_equal(spec.items[1].cls, vqa_registry_find(reg, "fixture_good"));
    assert_string_equal(spec.items[1].args, "count=7:level=-3.5");
    vqa_spec_free(&spec);

    assert_int_equal(vqa_spec_parse(reg, "fixture_good:", &spec, msg, sizeof(msg)), 0);
    assert_int_equal(spec.count, 1);
    assert_null(spec.items[0].args);
    vqa_spec_free(&spec);
}

static void expect_spec_error(const VqaRegistry *reg, const char *text, const char *expected)
{
    VqaSpec spec;
    char msg[256];
    assert_int_equal(vqa_spec_parse(reg, text, &spec, msg, sizeof(msg)), VQA_ERR(EINVAL));
    assert_string_equal(msg, expected);
    assert_int_equal(spec.count, 0);
    assert_null(spec.items);
}

static void test_spec_errors(void **state)
{
    const VqaRegistry *reg = *state;
    expect_spec_error(reg, "frezee", "unknown detector 'frezee' (available: fixture_good, "
                                     "fixture_old_vtable)");
    expect_spec_error(reg, "fixture_good, fixture_good:count=5",
                      "detector 'fixture_good' given twice");
    expect_spec_error(reg, "fixture_old_vtable,fixture_good:count=101",
                      "fixture_good: count=101 is out of range [0, 100]");
    expect_spec_error(reg, "fixture_good:foo=1",
                      "fixture_good: unknown option 'foo' (options: enabled, count, level, "
                      "label)");
    expect_spec_error(reg, "fixture_old_vtable:x=1",
                      "fixture_old_vtable: unknown option 'x' (it has no options)");
    expect_spec_error(reg, "fixture_good,,fixture_old_vtable",
                      "detector spec has an empty item");
    expect_spec_error(reg, ":count=1", "detector spec has an item without a detector name");
}

static void test_spec_empty_registry(void **state)
{
    (void)state;
    VqaRegistry *reg = NULL;
    assert_int_equal(vqa_registry_open(&reg, NULL, NULL), 0);
    VqaSpec spec;
    char msg[256];
    assert_int_equal(vqa_spec_parse(reg, NULL, &spec, msg, sizeof(msg)), VQA_ERR(ENOENT));
    assert_int_equal(spec.count, 0);
    assert_int_equal(vqa_spec_parse(reg, "freeze", &spec, msg, sizeof(msg)), VQA_ERR(EINVAL));
    assert_string_equal(msg, "unknown detector 'freeze' (no detector is loaded)");
    vqa_registry_close(&reg);
}

static void test_spec_out_of_memory(void **state)
{
    const VqaRegistry *reg = *state;
    for (long n = 0; n < 6; n++) {
        VqaSpec spec;
        char msg[256];
        vqa_mem_fail_after(n, 0);
        int err = vqa_spec_parse(reg, "fixture_good:label=x,fixture_old_vtable", &spec, msg,
                                 sizeof(msg));
        vqa_mem_fail_after(-1, 0);
        assert_true(err == 0 || err == VQA_ERR(ENOMEM));
        if (err < 0)
            assert_int_equal(spec.count, 0);
        vqa_spec_free(&spec);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults_stored),
        cmocka_unit_test(test_every_type_parsed),
        cmocka_unit_test(test_bool_spellings),
        cmocka_unit_test(test_numbers),
        cmocka_unit_test(test_range_messages),
        cmocka_unit_test(test_unknown_and_malformed_keys),
        cmocka_unit_test(test_whitespace_and_empty_items),
        cmocka_unit_test(test_later_value_wins_and_small_msg),
        cmocka_unit_test(test_type_names),
        cmocka_unit_test_setup_teardown(test_spec_empty_means_all, open_registry,
                                        close_registry),
        cmocka_unit_test_setup_teardown(test_spec_items_and_args, open_registry, close_registry),
        cmocka_unit_test_setup_teardown(test_spec_errors, open_registry, close_registry),
        cmocka_unit_test(test_spec_empty_registry),
        cmocka_unit_test_setup_teardown(test_spec_out_of_memory, open_registry, close_registry),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
