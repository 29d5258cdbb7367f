/*
 * Fixture: built for an ABI minor newer than the host's, which must refuse it.
 */
#include "vqa/plugin.h"

static int newer_process(VqaDetectorContext *ctx, const VqaFrame *frame)
{
    (void)ctx, (void)frame;
    return 0;
}

static const VqaDetectorClass newer_class = {
    .struct_size = sizeof(VqaDetectorClass),
    .name = "fixture_newer_minor",
    .input = { .type = VQA_MEDIA_VIDEO, .pix_fmt = VQA_PIX_GRAY8 },
    .process = newer_process,
};

static const VqaDetectorClass *const newer_detectors[] = { &newer_class, NULL };

static const VqaPluginDesc newer_plugin = {
    .struct_size = sizeof(VqaPluginDesc),
    .abi_minor = VQA_PLUGIN_ABI_MINOR + 1,
    .name = "fixture-newer-minor",
    .version = "0.1",
    .detectors = newer_detectors,
};

VQA_PLUGIN_DEFINE(newer_plugin)
