/*
 * video.freeze: the picture does not change (within noise) for min_duration.
 *
 * FFmpeg's freezedetect averages the difference over the whole frame, so a
 * ticker or a clock hides a freeze while grain on a re-encoded still raises
 * false alarms. Here the proxy is cut into tiles and each tile's mean
 * absolute difference (MAD) is taken against a reference: the first frame of
 * the candidate freeze. The picture is unchanged only if EVERY tile stays
 * under the noise threshold, so one moving tile keeps it alive, while noise
 * spread thinly over the picture does not. The threshold adapts: the base
 * `noise` plus a noise floor, taken from the median tile MAD of the frame
 * (noise raises every tile, a local change does not move the median) and a
 * running mean over frames already judged frozen; the lift is capped so a
 * global change can never pass for noise.
 *
 * A black picture is the black detector's business: a black reference never
 * starts a candidate.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/luma.h"
#include "vqa/plugin.h"

#define FREEZE_KIND "video.freeze"
/* The adaptive part of the threshold never exceeds this many times `noise`. */
#define FREEZE_FLOOR_CAP 2.0
/* Weight of a new frame in the running noise-floor estimate. */
#define FREEZE_FLOOR_ALPHA 0.1
/* Black picture: this share of pixels at or below 10% of the luma range. */
#define FREEZE_BLACK_SHARE 0.98
#define FREEZE_BLACK_PIXEL 0.10
/* Float slack when comparing durations built from frame times. */
#define FREEZE_EPS_S 1e-6

typedef struct FreezePriv {
    /* options */
    double min_duration_s;
    double noise;          /* luma levels */
    int64_t tile_px;
    double error_after_s;  /* END severity becomes error past this; 0 = never */

    /* reference picture: the first frame of the candidate (a private copy) */
    uint8_t *ref;
    size_t ref_cap;
    int width, height;
    int have_ref;
    double ref_t;

    /* per-tile scratch */
    uint32_t *tile_sum;
    double *tile_mad;
    size_t tile_cap;
    int tiles_x, tiles_y;

    /* the candidate freeze */
    int active;            /* START emitted */
    int64_t frames;        /* frames matching the reference, the reference included */
    double sum_mad;        /* sum of whole-frame MAD of the matching frames */
    double max_tile_diff;

    double noise_floor;    /* running estimate of the stream's noise, levels */
    double last_t;
    double last_duration_s;
    double end_t;          /* last frame's t + duration: the last media time seen */
    int have_frame;
} FreezePriv;

static double frame_duration(const FreezePriv *p, const VqaDetectorContext *ctx,
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

static int is_black(const VqaFrame *f)
{
    return vqa_luma_dark_share(f, FREEZE_BLACK_PIXEL) >= FREEZE_BLACK_SHARE;
}

static int alloc_for_size(FreezePriv *p, int width, int height)
{
    size_t need = (size_t)width * height;
    if (need > p->ref_cap) {
        uint8_t *r = realloc(p->ref, need);
        if (!r)
            return VQA_ERR(ENOMEM);
        p->ref = r;
        p->ref_cap = need;
    }
    int tile = (int)p->tile_px;
    p->tiles_x = (width + tile - 1) / tile;
    p->tiles_y = (height + tile - 1) / tile;
    size_t tiles = (size_t)p->tiles_x * p->tiles_y;
    if (tiles > p->tile_cap) {
        uint32_t *s = realloc(p->tile_sum, tiles * sizeof(*s));
        if (s)
            p->tile_sum = s;
        double *m = realloc(p->tile_mad, tiles * sizeof(*m));
        if (m)
            p->tile_mad = m;
        if (!s || !m)
            return VQA_ERR(ENOMEM);
        p->tile_cap = tiles;
    }
    p->width = width;
    p->height = height;
    return 0;
}

static void take_reference(FreezePriv *p, const VqaFrame *f)
{
    for (int y = 0; y < f->height; y++)
        memcpy(p->ref + (size_t)y * f->width, f->data[0] + y * f->linesize[0],
               (size_t)f->width);
    p->have_ref = 1;
    p->ref_t = f->t;
    p->frames = 1;
    p->sum_mad = 0;
    p->max_tile_diff = 0;
}

/* Per-tile MAD of f against the reference; returns the whole-frame MAD. */
static double tile_diff(FreezePriv *p, const VqaFrame *f, double *max_tile)
{
    const int tile = (int)p->tile_px;
    const size_t tiles = (size_t)p->tiles_x * p->tiles_y;
    memset(p->tile_sum, 0, tiles * sizeof(*p->tile_sum));
    uint64_t total = 0;
    for (int y = 0; y < f->height; y++) {
        const uint8_t *cur = f->data[0] + y * f->linesize[0];
        const uint8_t *ref = p->ref + (size_t)y * f->width;
        uint32_t *sums = p->tile_sum + (size_t)(y / tile) * p->tiles_x;
        for (int x0 = 0, tx = 0; x0 < f->width; x0 += tile, tx++) {
            int x1 = x0 + tile < f->width ? x0 + tile : f->width;
            uint32_t s = 0;
            for (int x = x0; x < x1; x++)
                s += (uint32_t)abs(cur[x] - ref[x]);
            sums[tx] += s;
            total += s;
        }
    }
    double max_mad = 0;
    for (int ty = 0; ty < p->tiles_y; ty++) {
        int h = ty * tile + tile <= f->height ? tile : f->height - ty * tile;
        for (int tx = 0; tx < p->tiles_x; tx++) {
            int w = tx * tile + tile <= f->width ? tile : f->width - tx * tile;
            size_t i = (size_t)ty * p->tiles_x + tx;
            p->tile_mad[i] = (double)p->tile_sum[i] / ((double)w * h);
            if (p->tile_mad[i] > max_mad)
                max_mad = p->tile_mad[i];
        }
    }
    *max_tile = max_mad;
    return (double)total / ((double)f->width * f->height);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median_tile_mad(FreezePriv *p)
{
    size_t n = (size_t)p->tiles_x * p->tiles_y;
    qsort(p->tile_mad, n, sizeof(*p->tile_mad), cmp_double);
    return n % 2 ? p->tile_mad[n / 2] : 0.5 * (p->tile_mad[n / 2 - 1] + p->tile_mad[n / 2]);
}

/*
 * Whether f matches the reference. Noise lifts every tile alike, so the
 * median tile MAD measures it; a ticker lifts a few tiles and leaves the
 * median alone. The lift is capped so a global change still counts.
 */
static int matches_reference(FreezePriv *p, const VqaFrame *f, double *mad, double *max_tile)
{
    *mad = tile_diff(p, f, max_tile);
    if (*max_tile <= p->noise)
        return 1;
    double median = median_tile_mad(p);
    double floor = median > p->noise_floor ? median : p->noise_floor;
    double cap = FREEZE_FLOOR_CAP * p->noise;
    if (floor > cap)
        floor = cap;
    return *max_tile <= p->noise + floor;
}

static void update_noise_floor(FreezePriv *p, double mad)
{
    /* Only frames judged unchanged feed the estimate, and the estimate is capped
     * where it is used, so motion cannot ratchet it up. */
    double cap = FREEZE_FLOOR_CAP * p->noise;
    double m = mad < cap ? mad : cap;
    p->noise_floor += FREEZE_FLOOR_ALPHA * (m - p->noise_floor);
}

static double mean_mad(const FreezePriv *p)
{
    return p->frames > 1 ? p->sum_mad / (double)(p->frames - 1) : 0.0;
}

static int emit_end(VqaDetectorContext *ctx, FreezePriv *p, double t, int eos)
{
    char details[160];
    snprintf(details, sizeof(details), "{\"frames\":%lld,\"max_tile_diff\":%.3f%s}",
             (long long)p->frames, p->max_tile_diff, eos ? ",\"closed_by\":\"eos\"" : "");
    VqaSeverity sev = p->error_after_s > 0 && t - p->ref_t > p->error_after_s
                          ? VQA_SEVERITY_ERROR : VQA_SEVERITY_WARNING;
    p->active = 0;
    return vqa_detector_emit(ctx, FREEZE_KIND, VQA_EVENT_END, t, mean_mad(p), sev, details);
}

/* The picture changed at t (or the candidate is void): end what is open. */
static int drop_candidate(VqaDetectorContext *ctx, FreezePriv *p, double t)
{
    int ret = p->active ? emit_end(ctx, p, t, 0) : 0;
    p->have_ref = 0;
    p->frames = 0;
    return ret;
}

static int check_frame(VqaDetectorContext *ctx, const VqaFrame *f)
{
    if (f->type != VQA_MEDIA_VIDEO || f->pix_fmt != VQA_PIX_GRAY8 || !f->data[0] ||
        f->width <= 0 || f->height <= 0 || f->linesize[0] < f->width) {
        vqa_detector_log(ctx, VQA_LOG_ERROR, "freeze: expected a GRAY8 picture");
        return VQA_ERR(EINVAL);
    }
    return 0;
}

static int confirm_if_long(VqaDetectorContext *ctx, FreezePriv *p, double end_t)
{
    if (p->active || end_t - p->ref_t < p->min_duration_s - FREEZE_EPS_S)
        return 0;
    char details[96];
    snprintf(details, sizeof(details), "{\"frames\":%lld,\"noise_threshold\":%.3f}",
             (long long)p->frames, p->noise + p->noise_floor);
    p->active = 1;
    return vqa_detector_emit(ctx, FREEZE_KIND, VQA_EVENT_START, p->ref_t, mean_mad(p),
                             VQA_SEVERITY_WARNING, details);
}

static int freeze_process(VqaDetectorContext *ctx, const VqaFrame *f)
{
    FreezePriv *p = ctx->priv;
    int ret = check_frame(ctx, f);
    if (ret < 0)
        return ret;
    double dur = frame_duration(p, ctx, f);
    p->last_t = f->t;
    p->last_duration_s = dur;
    p->end_t = f->t + dur;
    p->have_frame = 1;

    if (p->have_ref && (f->width != p->width || f->height != p->height))
        ret = drop_candidate(ctx, p, f->t);
    if (!p->have_ref || f->width != p->width || f->height != p->height) {
        int err = alloc_for_size(p, f->width, f->height);
        if (err < 0)
            return err;
    }
    if (!p->have_ref) {
        if (!is_black(f))
            take_reference(p, f);
        return ret;
    }
    double mad, max_tile;
    if (!matches_reference(p, f, &mad, &max_tile)) {
        ret = drop_candidate(ctx, p, f->t);
        if (!is_black(f))
            take_reference(p, f);
        return ret;
    }
    p->frames++;
    p->sum_mad += mad;
    if (max_tile > p->max_tile_diff)
        p->max_tile_diff = max_tile;
    update_noise_floor(p, mad);
    return confirm_if_long(ctx, p, p->end_t);
}

static int freeze_flush(VqaDetectorContext *ctx)
{
    FreezePriv *p = ctx->priv;
    int ret = p->active ? emit_end(ctx, p, p->end_t, 1) : 0;
    p->have_ref = 0;
    p->frames = 0;
    return ret;
}

static void freeze_close(VqaDetectorContext *ctx)
{
    FreezePriv *p = ctx->priv;
    free(p->ref);
    free(p->tile_sum);
    free(p->tile_mad);
    p->ref = NULL;
    p->tile_sum = NULL;
    p->tile_mad = NULL;
}

static const VqaOption freeze_options[] = {
    { "min_duration", "shortest freeze reported", "s", VQA_OPT_DOUBLE,
      offsetof(FreezePriv, min_duration_s), 2.0, NULL, 0.04, 86400, 0, { NULL, NULL } },
    { "noise", "largest per-tile mean difference still counted as no change", "levels",
      VQA_OPT_DOUBLE, offsetof(FreezePriv, noise), 2.0, NULL, 0, 50, 0, { NULL, NULL } },
    { "tile", "tile size on the proxy picture", "px", VQA_OPT_INT,
      offsetof(FreezePriv, tile_px), 16, NULL, 4, 64, 0, { NULL, NULL } },
    { "error_after", "freezes longer than this end with severity error (0 = never)", "s",
      VQA_OPT_DOUBLE, offsetof(FreezePriv, error_after_s), 10.0, NULL, 0, 86400, 0,
      { NULL, NULL } },
    { NULL, NULL, NULL, VQA_OPT_NONE, 0, 0, NULL, 0, 0, 0, { NULL, NULL } },
};

static const char *const freeze_kinds[] = { FREEZE_KIND, NULL };

static const VqaDetectorClass freeze_class = {
    .struct_size = sizeof(VqaDetectorClass),
    .name = "freeze",
    .description = "picture unchanged within noise (per-tile difference to a reference)",
    .kinds = freeze_kinds,
    .flags = VQA_DETECTOR_TEMPORAL,
    .priv_size = sizeof(FreezePriv),
    .options = freeze_options,
    .input = {
        .type = VQA_MEDIA_VIDEO,
        .pix_fmt = VQA_PIX_GRAY8,
        .max_width = 320,
        .max_height = 320,
    },
    .process = freeze_process,
    .flush = freeze_flush,
    .close = freeze_close,
};

static const VqaDetectorClass *const freeze_detectors[] = { &freeze_class, NULL };

static const VqaPluginDesc freeze_plugin = {
    .struct_size = sizeof(VqaPluginDesc),
    .abi_minor = VQA_PLUGIN_ABI_MINOR,
    .name = "freeze",
    .version = "1.0.0",
    .license = "BSD-2-Clause",
    .description = "video freeze detection",
    .detectors = freeze_detectors,
};

VQA_PLUGIN_DEFINE(freeze_plugin)
