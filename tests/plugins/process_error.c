/*
 * Fixture: a valid plugin whose process() fails with VQA_ERR(EIO) on the
 * third frame it sees, for pipeline tests.
 */
#include "vqa/plugin.h"

typedef struct ProcessErrorPriv {
    int64_t frames;
} ProcessErrorPriv;

static int process_error_process(VqaDetectorContext *ctx, const VqaFrame *frame)
{
    ProcessErrorPriv *p = ctx->priv;
    (void)frame;
    if (++p->frames == 3)
        return VQA_ERR(EIO);
    return 0;
}

static const VqaDetectorClass process_error_class = {
    .struct_size = sizeof(VqaDetectorClass),
    .name = "fixture_process_error",
    .description = "process() fails on the third frame",
    .flags = VQA_DETECTOR_TEMPORAL,
    .priv_size = sizeof(ProcessErrorPriv),
    .input = { .type = VQA_MEDIA_VIDEO, .pix_fmt = VQA_PIX_GRAY8 },
    .process = process_error_process,
};

static const VqaDetectorClass *const process_error_detectors[] = { &process_error_class, NULL };

static const VqaPluginDesc process_error_plugin = {
    .struct_size = sizeof(VqaPluginDesc),
    .abi_minor = VQA_PLUGIN_ABI_MINOR,
    .name = "fixture-process-error",
    .version = "0.1",
    .detectors = process_error_detectors,
};

VQA_PLUGIN_DEFINE(process_error_plugin)
