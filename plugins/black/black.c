/*
 * video.black: at least picture_threshold of the picture is at or below the
 * black level plus pixel_threshold of the luma range, for min_duration.
 *
 * The threshold is range-aware (limited 16..235 unless the frame says full),
 * so near-black (luma 16-25 in limited range) counts, and the 2% slack lets a
 * small logo or bug in a corner leave the picture black. Unlike FFmpeg's
 * blackdetect, the START is reported as soon as min_duration has passed,
 * back-dated to the onset, and a stream ending black is closed at its end.
 */
#include <stdio.h>
#include <stdlib.h>

#include "../common/luma.h"
#include "vqa/plugin.h"

#define BLACK_KIND "video.black"
#define BLACK_EPS_S 1e-6

typedef struct BlackPriv {
    /* options */
    double min_duration_s;
    double pixel_threshold;   /* fraction of the luma range above black */
    double picture_threshold; /* share of dark pixels that makes a picture black */

    /* the current black run */
    int in_run;
    int active;               /* START emitted */
    double onset_t;
    int64_t frames;
    double sum_dark;          /* sum of the dark share of the run's frames */
    double min_dark;

    double last_t;
    double last_duration_s;
    double end_t;             /* last frame's t + duration */
    int have_frame;
} BlackPriv;

static double frame_duration(const BlackPriv *p, const VqaDetectorContext *ctx,
                             const VqaFrame *f)
{
    if (f->duration > 0)
        return f->duration;
    if (p->have_frame && f->t > p->last_t)
        return f->t - p->last_t;
    if (p->last_duration_s > 0)
        return p->last_duration_s;
    if (ctx->info && ctx->info->frame_rate > 0)
        return 1.0 / ctx->info->frame_rate;
    return 0;
}

static double mean_dark(const BlackPriv *p)
{
    return p->frames > 0 ? p->sum_dark / (double)p->frames : 0.0;
}

static int emit_end(VqaDetectorContext *ctx, BlackPriv *p, double t, int eos)
{
    char details[128];
    snprintf(details, sizeof(details), "{\"frames\":%lld,\"min_dark\":%.4f%s}",
             (long long)p->frames, p->min_dark, eos ? ",\"closed_by\":\"eos\"" : "");
    p->active = 0;
    return vqa_detector_emit(ctx, BLACK_KIND, VQA_EVENT_END, t, mean_dark(p),
                             VQA_SEVERITY_ERROR, details);
}

static int black_process(VqaDetectorContext *ctx, const VqaFrame *f)
{
    BlackPriv *p = ctx->priv;
    if (f->type != VQA_MEDIA_VIDEO || f->pix_fmt != VQA_PIX_GRAY8 || !f->data[0] ||
        f->width <= 0 || f->height <= 0 || f->linesize[0] < f->width) {
        vqa_detector_log(ctx, VQA_LOG_ERROR, "black: expected a GRAY8 picture");
        return VQA_ERR(EINVAL);
    }
    double dur = frame_duration(p, ctx, f);
    p->last_t = f->t;
    p->last_duration_s = dur;
    p->end_t = f->t + dur;
    p->have_frame = 1;

    double dark = vqa_luma_dark_share(f, p->pixel_threshold);
    if (dark < p->picture_threshold) {
        int ret = p->active ? emit_end(ctx, p, f->t, 0) : 0;
        p->in_run = 0;
        return ret;
    }
    if (!p->in_run) {
        p->in_run = 1;
        p->onset_t = f->t;
        p->frames = 0;
        p->sum_dark = 0;
        p->min_dark = 1.0;
    }
    p->frames++;
    p->sum_dark += dark;
    if (dark < p->min_dark)
        p->min_dark = dark;
    if (p->active || p->end_t - p->onset_t < p->min_duration_s - BLACK_EPS_S)
        return 0;
    char details[64];
    snprintf(details, sizeof(details), "{\"frames\":%lld}", (long long)p->frames);
    p->active = 1;
    return vqa_detector_emit(ctx, BLACK_KIND, VQA_EVENT_START, p->onset_t, mean_dark(p),
                             VQA_SEVERITY_ERROR, details);
}

static int black_flush(VqaDetectorContext *ctx)
{
    BlackPriv *p = ctx->priv;
    int ret = p->active ? emit_end(ctx, p, p->end_t, 1) : 0;
    p->in_run = 0;
    return ret;
}

static const VqaOption black_options[] = {
    { "min_duration", "shortest black run reported", "s", VQA_OPT_DOUBLE,
      offsetof(BlackPriv, min_duration_s), 1.0, NULL, 0.04, 86400, 0, { NULL, NULL } },
    { "pixel_threshold", "a pixel is dark at or below black level + this share of the range",
      "fraction", VQA_OPT_DOUBLE, offsetof(BlackPriv, pixel_threshold), 0.10, NULL, 0, 1, 0,
      { NULL, NULL } },
    { "picture_threshold", "a picture is black when this share of its pixels is dark",
      "fraction", VQA_OPT_DOUBLE, offsetof(BlackPriv, picture_threshold), 0.98, NULL, 0.5, 1,
      0, { NULL, NULL } },
    { NULL, NULL, NULL, VQA_OPT_NONE, 0, 0, NULL, 0, 0, 0, { NULL, NULL } },
};

static const char *const black_kinds[] = { BLACK_KIND, NULL };

static const VqaDetectorClass black_class = {
    .struct_size = sizeof(VqaDetectorClass),
    .name = "black",
    .description = "black picture (range-aware dark-pixel share, logo tolerant)",
    .kinds = black_kinds,
    /* A share of dark pixels does not need fine detail: a proxy of 213x120 from
     * 854x480 (4x4 boxes of the shared 2x2 sums) serves as well as 284x160 (3x3 boxes,
     * a second read of the picture), see docs/performance.md. */
    .flags = VQA_DETECTOR_TEMPORAL | VQA_DETECTOR_EVEN_PROXY,
    .priv_size = sizeof(BlackPriv),
    .options = black_options,
    .input = {
        .type = VQA_MEDIA_VIDEO,
        .pix_fmt = VQA_PIX_GRAY8,
        .max_width = 320,
        .max_height = 320,
    },
    .process = black_process,
    .flush = black_flush,
};

VQA_PLUGIN_DEFINE_DETECTOR(black_class, "black", "1.0.0", "BSD-2-Clause",
                           "black picture detection")
