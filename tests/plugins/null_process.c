/*
 * Fixture: a well-sized class without the one required callback.
 */
#include "vqa/plugin.h"

static const VqaDetectorClass null_class = {
    .struct_size = sizeof(VqaDetectorClass),
    .name = "fixture_null_process",
    .input = { .type = VQA_MEDIA_VIDEO, .pix_fmt = VQA_PIX_GRAY8 },
    .process = NULL,
};

static const VqaDetectorClass *const null_detectors[] = { &null_class, NULL };

static const VqaPluginDesc null_plugin = {
    .struct_size = sizeof(VqaPluginDesc),
    .abi_minor = VQA_PLUGIN_ABI_MINOR,
    .name = "fixture-null-process",
    .version = "0.1",
    .detectors = null_detectors,
};

VQA_PLUGIN_DEFINE(null_plugin)
