/*
 * Fixture: an option whose default lies outside its own range.
 */
#include <stddef.h>

#include "vqa/plugin.h"

typedef struct BadPriv {
    double threshold;
} BadPriv;

static int bad_process(VqaDetectorContext *ctx, const VqaFrame *frame)
{
    (void)ctx, (void)frame;
    return 0;
}

static const VqaOption bad_options[] = {
    { "threshold", "default out of range", NULL, VQA_OPT_DOUBLE,
      offsetof(BadPriv, threshold), 5, NULL, 0, 1, 0, { NULL, NULL } },
    { NULL, NULL, NULL, VQA_OPT_NONE, 0, 0, NULL, 0, 0, 0, { NULL, NULL } },
};

static const VqaDetectorClass bad_class = {
    .struct_size = sizeof(VqaDetectorClass),
    .name = "fixture_bad_options",
    .priv_size = sizeof(BadPriv),
    .options = bad_options,
    .input = { .type = VQA_MEDIA_VIDEO, .pix_fmt = VQA_PIX_GRAY8 },
    .process = bad_process,
};

static const VqaDetectorClass *const bad_detectors[] = { &bad_class, NULL };

static const VqaPluginDesc bad_plugin = {
    .struct_size = sizeof(VqaPluginDesc),
    .abi_minor = VQA_PLUGIN_ABI_MINOR,
    .name = "fixture-bad-options",
    .version = "0.1",
    .detectors = bad_detectors,
};

VQA_PLUGIN_DEFINE(bad_plugin)
