/*
 * The plugin registry against the fixture plugins in tests/plugins: every
 * load failure kind, search order, shadowing and the full-size class copies.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "mem.h"
#include "registry.h"

#define FIXTURES VQA_FIXTURE_PLUGIN_DIR
#define SHADOW VQA_FIXTURE_PLUGIN_DIR "/shadow"

typedef struct LogCapture {
    char lines[32][512];
    size_t count;
} LogCapture;

static void capture_log(void *cookie, VqaLogLevel level, const char *msg)
{
    LogCapture *cap = cookie;
    if (level <= VQA_LOG_WARNING && cap->count < 32)
        snprintf(cap->lines[cap->count++], sizeof(cap->lines[0]), "%s", msg);
}

static int captured(const LogCapture *cap, const char *text)
{
    for (size_t i = 0; i < cap->count; i++) {
        if (strcmp(cap->lines[i], text) == 0)
            return 1;
    }
    return 0;
}

/* Only what a test names explicitly is searched. */
static void set_search_env(const char *plugin_path, const char *system_path)
{
    if (plugin_path)
        setenv("VQA_PLUGIN_PATH", plugin_path, 1);
    else
        unsetenv("VQA_PLUGIN_PATH");
    if (system_path)
        setenv("VQA_PLUGIN_SYSTEM_PATH", system_path, 1);
    else
        unsetenv("VQA_PLUGIN_SYSTEM_PATH");
}

static VqaRegistry *open_empty(const VqaLogger *log)
{
    set_search_env(NULL, "");
    VqaRegistry *reg = NULL;
    assert_int_equal(vqa_registry_open(&reg, log, NULL), 0);
    assert_non_null(reg);
    return reg;
}

static const VqaPluginFailure *last_failure(const VqaRegistry *reg)
{
    size_t n = vqa_registry_failure_count(reg);
    assert_true(n > 0);
    return vqa_registry_failure(reg, n - 1);
}

static void expect_refused(VqaRegistry *reg, const char *file, VqaPluginStatus status,
                           const char *reason_part)
{
    char path[1024];
    snprintf(path, sizeof(path), "%s/%s", FIXTURES, file);
    size_t before = vqa_registry_failure_count(reg);
    assert_int_equal(vqa_registry_load_file(reg, path), status);
    assert_int_equal(vqa_registry_failure_count(reg), before + 1);
    const VqaPluginFailure *f = last_failure(reg);
    assert_string_equal(f->path, path);
    assert_int_equal(f->status, status);
    if (!strstr(f->reason, reason_part))
        fail_msg("%s: reason '%s' lacks '%s'", file, f->reason, reason_part);
}

static void test_every_failure_kind(void **state)
{
    (void)state;
    LogCapture cap = { .count = 0 };
    VqaLogger log = { capture_log, &cap, VQA_LOG_DEBUG };
    VqaRegistry *reg = open_empty(&log);
    char newer[64];
    snprintf(newer, sizeof(newer), "built for ABI 1.%d, host supports 1.%d",
             VQA_PLUGIN_ABI_MINOR + 1, VQA_PLUGIN_ABI_MINOR);

    expect_refused(reg, "garbage.so", VQA_PLUGIN_OPEN_FAILED, "garbage.so");
    expect_refused(reg, "missing.so", VQA_PLUGIN_OPEN_FAILED, "missing.so");
    expect_refused(reg, "no_entry.so", VQA_PLUGIN_NOT_A_PLUGIN, "no vqa_plugin_entry_v1");
    expect_refused(reg, "abi_major.so", VQA_PLUGIN_NOT_A_PLUGIN, "vqa_plugin_entry_v2");
    expect_refused(reg, "newer_minor.so", VQA_PLUGIN_ABI_MISMATCH, newer);
    expect_refused(reg, "big_vtable.so", VQA_PLUGIN_ABI_MISMATCH,
                   "detector 'fixture_big_vtable': vtable larger than the host knows");
    expect_refused(reg, "small_vtable.so", VQA_PLUGIN_ABI_MISMATCH,
                   "detector 'fixture_small_vtable': vtable too small");
    expect_refused(reg, "null_process.so", VQA_PLUGIN_BAD_DESCRIPTOR,
                   "detector 'fixture_null_process': process() is NULL");
    expect_refused(reg, "bad_options.so", VQA_PLUGIN_BAD_DESCRIPTOR,
                   "option 'threshold': default 5 is outside [0, 1]");
    expect_refused(reg, "av_same_type.so", VQA_PLUGIN_BAD_DESCRIPTOR,
                   "detector 'fixture_av_same_type': input2 must be of the other media type");
    assert_int_equal(vqa_registry_plugin_count(reg), 0);
    assert_int_equal(vqa_registry_detector_count(reg), 0);

    /* Each refusal is logged as a warning naming path, status and reason. */
    char line[1024];
    snprintf(line, sizeof(line), "plugin %s/newer_minor.so: abi-mismatch: %s", FIXTURES, newer);
    assert_true(captured(&cap, line));
    snprintf(line, sizeof(line), "plugin %s/null_process.so: bad-descriptor: detector "
             "'fixture_null_process': process() is NULL", FIXTURES);
    assert_true(captured(&cap, line));
    vqa_registry_close(&reg);
    assert_null(reg);
}

static void test_good_plugin_info(void **state)
{
    (void)state;
    VqaRegistry *reg = open_empty(NULL);
    const char *path = FIXTURES "/good.so";
    assert_int_equal(vqa_registry_load_file(reg, path), VQA_PLUGIN_LOADED);
    assert_int_equal(vqa_registry_plugin_count(reg), 1);
    const VqaPluginInfo *info = vqa_registry_plugin(reg, 0);
    assert_string_equal(info->path, path);
    assert_ptr_not_equal(info->path, path); /* a copy */
    assert_string_equal(info->name, "fixture-good");
    assert_string_equal(info->version, "0.1");
    assert_string_equal(info->license, "BSD-2-Clause");
    assert_int_equal(info->abi_minor, VQA_PLUGIN_ABI_MINOR);
    assert_int_equal(info->nb_detectors, 1);
    const VqaDetectorClass *cls = info->detectors[0];
    assert_ptr_equal(vqa_registry_find(reg, "fixture_good"), cls);
    assert_ptr_equal(vqa_registry_detector(reg, 0), cls);
    assert_null(vqa_registry_detector(reg, 1));
    assert_null(vqa_registry_plugin(reg, 1));
    assert_null(vqa_registry_find(reg, "fixture"));
    assert_int_equal(cls->struct_size, sizeof(VqaDetectorClass));
    assert_int_equal(cls->input.type, VQA_MEDIA_VIDEO);
    assert_int_equal(cls->input.pix_fmt, VQA_PIX_GRAY8);
    assert_non_null(cls->process);
    assert_null(cls->init);
    assert_string_equal(cls->options[3].name, "label");
    assert_string_equal(cls->kinds[0], "x-fixture.good");

    /* Loading the same file again: its names are taken, by itself. */
    assert_int_equal(vqa_registry_load_file(reg, path), VQA_PLUGIN_SHADOWED);
    assert_int_equal(vqa_registry_plugin_count(reg), 1);
    vqa_registry_close(&reg);
}

static void test_short_vtable_reads_zero(void **state)
{
    (void)state;
    VqaRegistry *reg = open_empty(NULL);
    assert_int_equal(vqa_registry_load_file(reg, FIXTURES "/old_vtable.so"), VQA_PLUGIN_LOADED);
    const VqaDetectorClass *cls = vqa_registry_find(reg, "fixture_old_vtable");
    assert_non_null(cls);
    /* The plugin's object has flush and close set beyond its declared size. */
    assert_int_equal(cls->struct_size, sizeof(VqaDetectorClass));
    assert_non_null(cls->process);
    assert_null(cls->flush);
    assert_null(cls->close);
    assert_int_equal(cls->input.type, VQA_MEDIA_AUDIO);
    vqa_registry_close(&reg);
}

static void expect_failure_path(const VqaRegistry *reg, size_t i, const char *file)
{
    const VqaPluginFailure *f = vqa_registry_failure(reg, i);
    assert_non_null(f);
    char path[1024];
    snprintf(path, sizeof(path), "%s/%s", FIXTURES, file);
    assert_string_equal(f->path, path);
}

static void test_directory_in_name_order(void **state)
{
    (void)state;
    set_search_env(NULL, "");
    const char *const paths[] = { FIXTURES, NULL };
    VqaRegistry *reg = NULL;
    assert_int_equal(vqa_registry_open(&reg, NULL, paths), 0);
    static const char *const loaded[] = { "fixture_good", "fixture_init_fail",
                                          "fixture_old_vtable", "fixture_process_error" };
    assert_int_equal(vqa_registry_detector_count(reg), 4);
    assert_int_equal(vqa_registry_plugin_count(reg), 4);
    for (size_t i = 0; i < 4; i++)
        assert_string_equal(vqa_registry_detector(reg, i)->name, loaded[i]);
    static const char *const refused[] = { "abi_major.so", "av_same_type.so", "bad_options.so",
                                           "big_vtable.so", "garbage.so", "newer_minor.so",
                                           "no_entry.so", "null_process.so", "small_vtable.so" };
    assert_int_equal(vqa_registry_failure_count(reg), 9);
    for (size_t i = 0; i < 9; i++)
        expect_failure_path(reg, i, refused[i]);
    assert_null(vqa_registry_failure(reg, 9));
    vqa_registry_close(&reg);
}

/* Which file provides a detector, and how many refusals were shadowing. */
static const char *provider(const VqaRegistry *reg, const char *detector)
{
    const VqaDetectorClass *cls = vqa_registry_find(reg, detector);
    for (size_t i = 0; cls && i < vqa_registry_plugin_count(reg); i++) {
        const VqaPluginInfo *info = vqa_registry_plugin(reg, i);
        for (size_t j = 0; j < info->nb_detectors; j++) {
            if (info->detectors[j] == cls)
                return info->path;
        }
    }
    return NULL;
}

static size_t count_shadowed(const VqaRegistry *reg, const char *by)
{
    size_t n = 0;
    char reason[1024];
    snprintf(reason, sizeof(reason), "shadowed by %s", by);
    for (size_t i = 0; i < vqa_registry_failure_count(reg); i++) {
        const VqaPluginFailure *f = vqa_registry_failure(reg, i);
        if (f->status == VQA_PLUGIN_SHADOWED) {
            assert_string_equal(f->reason, reason);
            n++;
        }
    }
    return n;
}

static void test_host_path_before_env(void **state)
{
    (void)state;
    set_search_env(SHADOW, "");
    const char *const paths[] = { FIXTURES, NULL };
    VqaRegistry *reg = NULL;
    assert_int_equal(vqa_registry_open(&reg, NULL, paths), 0);
    assert_string_equal(provider(reg, "fixture_good"), FIXTURES "/good.so");
    /* shadow/good.so by plugin name, shadow/dup_detector.so by detector name */
    assert_int_equal(count_shadowed(reg, FIXTURES "/good.so"), 2);
    vqa_registry_close(&reg);

    /* The other way round the shadow directory wins: its first module, dup_detector.so,
     * claims "fixture_good" and both good.so files are shadowed by it. */
    const char *const shadow_first[] = { SHADOW, NULL };
    set_search_env(FIXTURES, "");
    assert_int_equal(vqa_registry_open(&reg, NULL, shadow_first), 0);
    assert_string_equal(provider(reg, "fixture_good"), SHADOW "/dup_detector.so");
    assert_int_equal(count_shadowed(reg, SHADOW "/dup_detector.so"), 2);
    vqa_registry_close(&reg);
}

static void test_env_before_system(void **state)
{
    (void)state;
    VqaRegistry *reg = NULL;
    set_search_env(FIXTURES, SHADOW);
    assert_int_equal(vqa_registry_open(&reg, NULL, NULL), 0);
    assert_string_equal(provider(reg, "fixture_good"), FIXTURES "/good.so");
    assert_int_equal(count_shadowed(reg, FIXTURES "/good.so"), 2);
    vqa_registry_close(&reg);

    /* Empty and missing entries are skipped; order within VQA_PLUGIN_PATH holds. */
    set_search_env("::/nonexistent/vqa:" SHADOW "::" FIXTURES ":", "");
    assert_int_equal(vqa_registry_open(&reg, NULL, NULL), 0);
    assert_string_equal(provider(reg, "fixture_good"), SHADOW "/dup_detector.so");
    assert_int_equal(vqa_registry_plugin_count(reg), 4);
    vqa_registry_close(&reg);

    /* The system path is searched when nothing else provides a plugin. */
    set_search_env(NULL, SHADOW);
    assert_int_equal(vqa_registry_open(&reg, NULL, NULL), 0);
    assert_string_equal(provider(reg, "fixture_good"), SHADOW "/dup_detector.so");
    vqa_registry_close(&reg);
}

static void test_same_directory_twice(void **state)
{
    (void)state;
    set_search_env(FIXTURES "/.", "");
    const char *const paths[] = { FIXTURES, FIXTURES "/", NULL };
    VqaRegistry *reg = NULL;
    assert_int_equal(vqa_registry_open(&reg, NULL, paths), 0);
    assert_int_equal(vqa_registry_plugin_count(reg), 4);
    assert_int_equal(vqa_registry_failure_count(reg), 9); /* no self-shadowing */
    vqa_registry_close(&reg);
}

static void test_no_plugins_at_all(void **state)
{
    (void)state;
    const char *const paths[] = { "/nonexistent/one", "", NULL };
    set_search_env("/nonexistent/two", "");
    VqaRegistry *reg = NULL;
    assert_int_equal(vqa_registry_open(&reg, NULL, paths), 0);
    assert_int_equal(vqa_registry_plugin_count(reg), 0);
    assert_int_equal(vqa_registry_failure_count(reg), 0);
    assert_int_equal(vqa_registry_detector_count(reg), 0);
    assert_null(vqa_registry_plugin(reg, 0));
    assert_null(vqa_registry_failure(reg, 0));
    assert_null(vqa_registry_detector(reg, 0));
    assert_null(vqa_registry_find(reg, "freeze"));
    vqa_registry_close(&reg);
    vqa_registry_close(&reg); /* NULL is a no-op */
    vqa_registry_close(NULL);
    assert_int_equal(vqa_registry_plugin_count(NULL), 0);
    assert_null(vqa_registry_find(NULL, "freeze"));
    assert_int_equal(vqa_registry_open(NULL, NULL, NULL), VQA_ERR(EINVAL));
}

static void test_system_dir_default(void **state)
{
    (void)state;
    const char *dir = vqa_registry_system_dir();
    assert_non_null(dir);
    assert_non_null(strstr(dir, "vqa-1"));
    /* With VQA_PLUGIN_SYSTEM_PATH unset the installed dir is searched; it may
     * not exist here, which must not be an error. */
    set_search_env(NULL, NULL);
    VqaRegistry *reg = NULL;
    assert_int_equal(vqa_registry_open(&reg, NULL, NULL), 0);
    vqa_registry_close(&reg);
}

static void test_out_of_memory(void **state)
{
    (void)state;
    const char *const paths[] = { FIXTURES, SHADOW, NULL };
    set_search_env(NULL, "");
    int failed = 0;
    for (long n = 0; n < 400; n++) {
        VqaRegistry *reg = NULL;
        vqa_mem_fail_after(n, 0);
        int err = vqa_registry_open(&reg, NULL, paths);
        vqa_mem_fail_after(-1, 0);
        assert_true(err == 0 || err == VQA_ERR(ENOMEM));
        if (err < 0) {
            assert_null(reg);
            failed++;
        } else if (vqa_registry_plugin_count(reg) == 4 &&
                   vqa_registry_failure_count(reg) == 10) {
            vqa_registry_close(&reg);
            break; /* the injected failure came after the last allocation */
        }
        vqa_registry_close(&reg);
    }
    assert_true(failed > 10);
}

static void test_status_names(void **state)
{
    (void)state;
    assert_string_equal(vqa_plugin_status_name(VQA_PLUGIN_LOADED), "loaded");
    assert_string_equal(vqa_plugin_status_name(VQA_PLUGIN_OPEN_FAILED), "open-failed");
    assert_string_equal(vqa_plugin_status_name(VQA_PLUGIN_NOT_A_PLUGIN), "not-a-plugin");
    assert_string_equal(vqa_plugin_status_name(VQA_PLUGIN_ABI_MISMATCH), "abi-mismatch");
    assert_string_equal(vqa_plugin_status_name(VQA_PLUGIN_BAD_DESCRIPTOR), "bad-descriptor");
    assert_string_equal(vqa_plugin_status_name(VQA_PLUGIN_SHADOWED), "shadowed");
    assert_string_equal(vqa_plugin_status_name((VqaPluginStatus)99), "unknown");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_failure_kind),
        cmocka_unit_test(test_good_plugin_info),
        cmocka_unit_test(test_short_vtable_reads_zero),
        cmocka_unit_test(test_directory_in_name_order),
        cmocka_unit_test(test_host_path_before_env),
        cmocka_unit_test(test_env_before_system),
        cmocka_unit_test(test_same_directory_twice),
        cmocka_unit_test(test_no_plugins_at_all),
        cmocka_unit_test(test_system_dir_default),
        cmocka_unit_test(test_out_of_memory),
        cmocka_unit_test(test_status_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
