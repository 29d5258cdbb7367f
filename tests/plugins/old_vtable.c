/*
 * Fixture: a valid plugin from an older minor whose class ends right after
 * process(). The object in memory is a full class whose flush and close are
 * set, but the host must not read past struct_size: its copy has them NULL.
 */
#include <stddef.h>

#include "vqa/plugin.h"

static int old_process(VqaDetectorContext *ctx, const VqaFrame *frame)
{
    (void)ctx, (void)frame;
    return 0;
}

static int old_flush(VqaDetectorContext *ctx)
{
    (void)ctx;
    return VQA_ERR(EFAULT);
}

static void old_close(VqaDetectorContext *ctx)
{
    (void)ctx;
}

static const VqaDetectorClass old_class = {
    .struct_size = offsetof(VqaDetectorClass, flush),
    .name = "fixture_old_vtable",
    .input = { .type = VQA_MEDIA_AUDIO, .sample_fmt = VQA_SAMPLE_FLTP },
    .process = old_process,
    .flush = old_flush,
    .close = old_close,
};

static const VqaDetectorClass *const old_detectors[] = { &old_class, NULL };

static const VqaPluginDesc old_plugin = {
    .struct_size = sizeof(VqaPluginDesc),
    .abi_minor = 0,
    .name = "fixture-old-vtable",
    .version = "0.1",
    .detectors = old_detectors,
};

VQA_PLUGIN_DEFINE(old_plugin)
