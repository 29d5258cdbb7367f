/*
 * A minimal third-party detector plugin: "brightness" reports an instant
 * event, x-brightness.dark, each time the picture turns dark.
 *
 * It is built outside the libvqa source tree with only the installed headers
 * (see the Makefile) and links nothing from libvqa: everything it needs from
 * the host comes through the VqaDetectorContext it is handed.
 */
#include <stddef.h>

#include <vqa/plugin.h>

typedef struct Brightness {
    double threshold; /* option: mean luma (fraction of the range) below which it is dark */
    int dark;         /* whether the previous picture was dark */
} Brightness;

static const VqaOption brightness_options[] = {
    {
        .name = "threshold",
        .help = "mean luma, as a fraction of the luma range, below which a picture is dark",
        .unit = "fraction",
        .type = VQA_OPT_DOUBLE,
        .offset = offsetof(Brightness, threshold),
        .default_num = 0.1,
        .min = 0.0,
        .max = 1.0,
    },
    { .name = NULL },
};

/* Mean luma of a gray8 picture as a fraction of its nominal range, 0–1. */
static double mean_luma(const VqaFrame *frame)
{
    uint64_t sum = 0;
    for (int y = 0; y < frame->height; y++) {
        const uint8_t *row = frame->data[0] + y * frame->linesize[0];
        for (int x = 0; x < frame->width; x++)
            sum += row[x];
    }
    double mean = (double)sum / ((double)frame->width * frame->height);
    /* Limited ("TV") range puts black at 16 and white at 235. */
    double level = frame->range == VQA_RANGE_FULL ? mean / 255.0 : (mean - 16.0) / 219.0;
    return level < 0.0 ? 0.0 : level > 1.0 ? 1.0 : level;
}

static int brightness_process(VqaDetectorContext *ctx, const VqaFrame *frame)
{
    Brightness *b = ctx->priv;
    if (frame->width <= 0 || frame->height <= 0)
        return 0;
    double level = mean_luma(frame);
    int dark = level < b->threshold;
    if (dark && !b->dark) {
        vqa_detector_log(ctx, VQA_LOG_DEBUG, "dark at %.3f s (mean luma %.3f)", frame->t, level);
        vqa_detector_emit(ctx, "x-brightness.dark", VQA_EVENT_INSTANT, frame->t, level,
                          VQA_SEVERITY_INFO, NULL);
    }
    b->dark = dark;
    return 0;
}

static const char *const brightness_kinds[] = { "x-brightness.dark", NULL };

static const VqaDetectorClass brightness_class = {
    .struct_size = sizeof(VqaDetectorClass),
    .name = "brightness",
    .description = "Reports when the picture turns dark (an example plugin)",
    .kinds = brightness_kinds,
    .flags = VQA_DETECTOR_TEMPORAL,
    .priv_size = sizeof(Brightness),
    .options = brightness_options,
    /* A small gray picture five times a second is plenty for a mean. */
    .input = {
        .type = VQA_MEDIA_VIDEO,
        .pix_fmt = VQA_PIX_GRAY8,
        .max_width = 160,
        .max_height = 120,
        .max_rate_hz = 5.0,
    },
    .process = brightness_process,
};

VQA_PLUGIN_DEFINE_DETECTOR(brightness_class, "brightness", "1.0.0", "BSD-2-Clause",
                           "Example third-party plugin: reports dark pictures")
