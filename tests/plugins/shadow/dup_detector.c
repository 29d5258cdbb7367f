/*
 * Fixture: a plugin with a new name but a detector name ("fixture_good")
 * that the good fixture already registered; it must be SHADOWED.
 */
#include "vqa/plugin.h"

static int dup_process(VqaDetectorContext *ctx, const VqaFrame *frame)
{
    (void)ctx, (void)frame;
    return 0;
}

static const VqaDetectorClass dup_class = {
    .struct_size = sizeof(VqaDetectorClass),
    .name = "fixture_good",
    .input = { .type = VQA_MEDIA_AUDIO, .sample_fmt = VQA_SAMPLE_S16 },
    .process = dup_process,
};

static const VqaDetectorClass *const dup_detectors[] = { &dup_class, NULL };

static const VqaPluginDesc dup_plugin = {
    .struct_size = sizeof(VqaPluginDesc),
    .abi_minor = VQA_PLUGIN_ABI_MINOR,
    .name = "fixture-dup-detector",
    .version = "0.1",
    .detectors = dup_detectors,
};

VQA_PLUGIN_DEFINE(dup_plugin)
