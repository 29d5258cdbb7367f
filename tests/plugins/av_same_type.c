/*
 * Fixture: a second input of the same media type as the first (ABI 1.1),
 * which the host cannot feed: refused as a bad descriptor.
 */
#include "vqa/plugin.h"

static int av_process(VqaDetectorContext *ctx, const VqaFrame *frame)
{
    (void)ctx;
    (void)frame;
    return 0;
}

static const VqaDetectorClass av_class = {
    .struct_size = sizeof(VqaDetectorClass),
    .name = "fixture_av_same_type",
    .input = { .type = VQA_MEDIA_VIDEO, .pix_fmt = VQA_PIX_GRAY8 },
    .input2 = { .type = VQA_MEDIA_VIDEO, .pix_fmt = VQA_PIX_GRAY8 },
    .process = av_process,
};

static const VqaDetectorClass *const av_detectors[] = { &av_class, NULL };

static const VqaPluginDesc av_plugin = {
    .struct_size = sizeof(VqaPluginDesc),
    .abi_minor = VQA_PLUGIN_ABI_MINOR,
    .name = "fixture-av-same-type",
    .version = "0.1",
    .detectors = av_detectors,
};

VQA_PLUGIN_DEFINE(av_plugin)
