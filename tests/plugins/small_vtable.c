/*
 * Fixture: a detector class whose declared size ends before process(), so
 * the host cannot use it.
 */
#include <stddef.h>

#include "vqa/plugin.h"

static const VqaDetectorClass small_class = {
    .struct_size = offsetof(VqaDetectorClass, process),
    .name = "fixture_small_vtable",
    .input = { .type = VQA_MEDIA_VIDEO, .pix_fmt = VQA_PIX_GRAY8 },
};

static const VqaDetectorClass *const small_detectors[] = { &small_class, NULL };

static const VqaPluginDesc small_plugin = {
    .struct_size = sizeof(VqaPluginDesc),
    .abi_minor = VQA_PLUGIN_ABI_MINOR,
    .name = "fixture-small-vtable",
    .version = "0.1",
    .detectors = small_detectors,
};

VQA_PLUGIN_DEFINE(small_plugin)
