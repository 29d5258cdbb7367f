/*
 * A fixture plugin for the report test: a video detector whose kind and
 * details are full of HTML — markup, quotes, ampersands, a script and a
 * network reference — so the test can check that `vqa scan --report`
 * escapes what plugins write. It opens its defect on the first frame,
 * closes it a second later, and marks one instant in between.
 */
#include "vqa/plugin.h"

#define HOSTILE_KIND "x-hostile.<b>\"'&amp;"
#define HOSTILE_DETAILS                                                                   \
    "{\"note\":\"</code><script>document.title='owned'</script><img src=//x onerror=1>\"," \
    "\"quote\":\"\\\" onmouseover=\\\"alert(1)\"}"

typedef struct HostilePriv {
    int started;
    int ended;
    int marked;
    double start_t;
} HostilePriv;

static int hostile_process(VqaDetectorContext *ctx, const VqaFrame *frame)
{
    HostilePriv *p = ctx->priv;
    int err = 0;
    if (!p->started) {
        p->started = 1;
        p->start_t = frame->t;
        err = vqa_detector_emit(ctx, HOSTILE_KIND, VQA_EVENT_START, frame->t, 1,
                                VQA_SEVERITY_WARNING, HOSTILE_DETAILS);
    } else if (!p->marked && frame->t >= p->start_t + 0.5) {
        p->marked = 1;
        err = vqa_detector_emit(ctx, HOSTILE_KIND, VQA_EVENT_INSTANT, frame->t, 2,
                                VQA_SEVERITY_ERROR, HOSTILE_DETAILS);
    } else if (!p->ended && frame->t >= p->start_t + 1.0) {
        p->ended = 1;
        err = vqa_detector_emit(ctx, HOSTILE_KIND, VQA_EVENT_END, frame->t, 3,
                                VQA_SEVERITY_WARNING, NULL);
    }
    return err < 0 ? err : 0;
}

static const char *const hostile_kinds[] = { HOSTILE_KIND, NULL };

static const VqaDetectorClass hostile_class = {
    .struct_size = sizeof(VqaDetectorClass),
    .name = "hostile",
    .description = "writes HTML into its kind and details",
    .kinds = hostile_kinds,
    .flags = VQA_DETECTOR_TEMPORAL,
    .priv_size = sizeof(HostilePriv),
    .input = { .type = VQA_MEDIA_VIDEO, .pix_fmt = VQA_PIX_GRAY8, .max_width = 64,
               .max_height = 64 },
    .process = hostile_process,
};

static const VqaDetectorClass *const hostile_detectors[] = { &hostile_class, NULL };

static const VqaPluginDesc hostile_plugin = {
    .struct_size = sizeof(VqaPluginDesc),
    .abi_minor = VQA_PLUGIN_ABI_MINOR,
    .name = "hostile",
    .version = "0.1",
    .license = "BSD-2-Clause",
    .description = "a fixture plugin that writes HTML into its events",
    .detectors = hostile_detectors,
};

VQA_PLUGIN_DEFINE(hostile_plugin)
