/*
 * Fixture: a valid plugin "fixture-good" with one video detector that has an
 * option of every type. It counts frames and reports nothing, so tests can
 * check loading, option storage and the full-size class copy.
 */
#include <stddef.h>

#include "vqa/plugin.h"

typedef struct GoodPriv {
    int enabled;
    int64_t count;
    double level_db;
    const char *label;
    int64_t frames_seen;
} GoodPriv;

static int good_process(VqaDetectorContext *ctx, const VqaFrame *frame)
{
    GoodPriv *p = ctx->priv;
    (void)frame;
    p->frames_seen++;
    return 0;
}

static const VqaOption good_options[] = {
    { "enabled", "a bool", NULL, VQA_OPT_BOOL, offsetof(GoodPriv, enabled),
      1, NULL, 0, 1, 0, { NULL, NULL } },
    { "count", "an int", "frames", VQA_OPT_INT, offsetof(GoodPriv, count),
      5, NULL, 0, 100, 0, { NULL, NULL } },
    { "level", "a double", "dBFS", VQA_OPT_DOUBLE, offsetof(GoodPriv, level_db),
      -20, NULL, -60, 0, 0, { NULL, NULL } },
    { "label", "a string", NULL, VQA_OPT_STRING, offsetof(GoodPriv, label),
      0, "hello", 0, 0, VQA_OPT_FLAG_DEPRECATED, { NULL, NULL } },
    { NULL, NULL, NULL, VQA_OPT_NONE, 0, 0, NULL, 0, 0, 0, { NULL, NULL } },
};

static const char *const good_kinds[] = { "x-fixture.good", NULL };

static const VqaDetectorClass good_class = {
    .struct_size = sizeof(VqaDetectorClass),
    .name = "fixture_good",
    .description = "counts frames, reports nothing",
    .kinds = good_kinds,
    .priv_size = sizeof(GoodPriv),
    .options = good_options,
    .input = { .type = VQA_MEDIA_VIDEO, .pix_fmt = VQA_PIX_GRAY8 },
    .process = good_process,
};

static const VqaDetectorClass *const good_detectors[] = { &good_class, NULL };

static const VqaPluginDesc good_plugin = {
    .struct_size = sizeof(VqaPluginDesc),
    .abi_minor = VQA_PLUGIN_ABI_MINOR,
    .name = "fixture-good",
    .version = "0.1",
    .license = "BSD-2-Clause",
    .description = "a valid fixture plugin",
    .detectors = good_detectors,
};

VQA_PLUGIN_DEFINE(good_plugin)
