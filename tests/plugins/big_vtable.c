/*
 * Fixture: a detector class larger than the host knows (as a plugin built
 * for a newer minor that forgot to say so would have). The host must refuse
 * it rather than ignore callbacks it cannot see.
 */
#include "vqa/plugin.h"

typedef struct FutureClass {
    VqaDetectorClass base;
    uint8_t future_fields[64];
} FutureClass;

static int big_process(VqaDetectorContext *ctx, const VqaFrame *frame)
{
    (void)ctx, (void)frame;
    return 0;
}

static const FutureClass big_class = {
    .base = {
        .struct_size = sizeof(VqaDetectorClass) + 64,
        .name = "fixture_big_vtable",
        .input = { .type = VQA_MEDIA_VIDEO, .pix_fmt = VQA_PIX_GRAY8 },
        .process = big_process,
    },
};

static const VqaDetectorClass *const big_detectors[] = { &big_class.base, NULL };

static const VqaPluginDesc big_plugin = {
    .struct_size = sizeof(VqaPluginDesc),
    .abi_minor = VQA_PLUGIN_ABI_MINOR,
    .name = "fixture-big-vtable",
    .version = "0.1",
    .detectors = big_detectors,
};

VQA_PLUGIN_DEFINE(big_plugin)
