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
 * An encoder refreshing a still picture (a key frame re-quantising it, the
 * classic false "unfreeze" at low bit rates) changes it once, a little
 * everywhere and more in detailed tiles, and then repeats the new version.
 * So a key frame whose change is small in the median tile and moderate in the
 * worst (below `refresh`) is held as a pending reference: if the next frame
 * matches it, the freeze goes on from it; if not, the freeze ended at the key
 * frame. A ticker or real motion changes every frame and never confirms.
 * Right after motion stops an encoder also refines the still over a few
 * frames, and keeps touching it up by a level or two later on: such small
 * changes (within `settle` seconds of the onset, or never above twice the
 * noise) move the reference to the new version but keep the onset, so the
 * freeze is dated from when the picture really stopped.
 *
 * A black picture is the black detector's business: a black reference never
 * starts a candidate.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/luma.h"
#include "../common/simd.h"
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
    double refresh;        /* largest tile change a key-frame refresh may make; 0 = off */
    double settle_s;       /* how long after the onset refinements keep it */

    /* reference picture: the first frame of the candidate (a private copy) */
    uint8_t *ref;
    size_t ref_cap;
    int width, height;
    int have_ref;
    double ref_t;          /* onset of the candidate: its START time */

    /* a key frame that may be the encoder refreshing the still (a private copy) */
    uint8_t *pending;
    int have_pending;
    double pending_t;
    int64_t refreshes;

    /* per-tile scratch */
    uint16_t *col_sum;     /* one tile row's column sums of |difference| */
    size_t col_cap;
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
        if (r)
            p->ref = r;
        uint8_t *q = realloc(p->pending, need);
        if (q)
            p->pending = q;
        if (!r || !q)
            return VQA_ERR(ENOMEM);
        p->ref_cap = need;
    }
    if ((size_t)width > p->col_cap) {
        uint16_t *c = realloc(p->col_sum, (size_t)width * sizeof(*c));
        if (!c)
            return VQA_ERR(ENOMEM);
        p->col_sum = c;
        p->col_cap = (size_t)width;
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

static void copy_picture(uint8_t *dst, const VqaFrame *f)
{
    for (int y = 0; y < f->height; y++)
        memcpy(dst + (size_t)y * f->width, f->data[0] + y * f->linesize[0], (size_t)f->width);
}

static void take_reference(FreezePriv *p, const VqaFrame *f)
{
    copy_picture(p->ref, f);
    p->have_ref = 1;
    p->have_pending = 0;
    p->refreshes = 0;
    p->ref_t = f->t;
    p->frames = 1;
    p->sum_mad = 0;
    p->max_tile_diff = 0;
}

/*
 * Column sums of |cur - ref| over the rows [y0, y1) of one tile row: 16-bit
 * lanes (at most 64 rows x 255 fit), which the compiler vectorises 16 or 32
 * pixels at a time, where summing each tile's 16-pixel pieces of a row
 * stayed half scalar. The tiles then add up their columns.
 */
VQA_SIMD_CLONES VQA_VECTORISE static void column_diffs(const uint8_t *cur, ptrdiff_t cur_stride,
                                                       const uint8_t *ref, int w, int rows,
                                                       uint16_t *restrict col)
{
    for (int x = 0; x < w; x++)
        col[x] = 0;
    for (int y = 0; y < rows; y++) {
        const uint8_t *restrict c = cur + y * cur_stride;
        const uint8_t *restrict r = ref + (ptrdiff_t)y * w;
        for (int x = 0; x < w; x++) {
            const int d = c[x] - r[x];
            col[x] = (uint16_t)(col[x] + (d < 0 ? -d : d));
        }
    }
}

/* Per-tile MAD of f against ref (a width x height copy); returns the whole-frame MAD. */
static double tile_diff(FreezePriv *p, const uint8_t *ref_pic, const VqaFrame *f,
                        double *max_tile)
{
    const int tile = (int)p->tile_px;
    uint64_t total = 0;
    for (int ty = 0; ty < p->tiles_y; ty++) {
        const int y0 = ty * tile, rows = y0 + tile <= f->height ? tile : f->height - y0;
        column_diffs(f->data[0] + y0 * f->linesize[0], f->linesize[0],
                     ref_pic + (size_t)y0 * f->width, f->width, rows, p->col_sum);
        uint32_t *sums = p->tile_sum + (size_t)ty * p->tiles_x;
        for (int x0 = 0, tx = 0; x0 < f->width; x0 += tile, tx++) {
            const int x1 = x0 + tile < f->width ? x0 + tile : f->width;
            uint32_t s = 0;
            for (int x = x0; x < x1; x++)
                s += p->col_sum[x];
            sums[tx] = s;
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

/* Move the k-th smallest of v[0, n) to v[k], the smaller ones before it, the larger after
 * (Hoare's selection): the median of every frame's tiles without sorting them. */
static double select_kth(double *v, ptrdiff_t n, ptrdiff_t k)
{
    ptrdiff_t lo = 0, hi = n - 1;
    while (lo < hi) {
        const double pivot = v[lo + (hi - lo) / 2];
        ptrdiff_t i = lo, j = hi;
        while (i <= j) {
            while (v[i] < pivot)
                i++;
            while (v[j] > pivot)
                j--;
            if (i <= j) {
                const double t = v[i];
                v[i++] = v[j];
                v[j--] = t;
            }
        }
        if (k <= j)
            hi = j;
        else if (k >= i)
            lo = i;
        else
            break; /* v[j + 1 .. i - 1] all equal the pivot */
    }
    return v[k];
}

static double median_tile_mad(FreezePriv *p)
{
    const ptrdiff_t n = (ptrdiff_t)p->tiles_x * p->tiles_y;
    const double upper = select_kth(p->tile_mad, n, n / 2);
    if (n % 2)
        return upper;
    double lower = p->tile_mad[0]; /* the largest of the lower half */
    for (ptrdiff_t i = 1; i < n / 2; i++)
        lower = p->tile_mad[i] > lower ? p->tile_mad[i] : lower;
    return 0.5 * (lower + upper);
}

/*
 * Whether f matches the reference. Noise lifts every tile alike, so the
 * median tile MAD measures it; a ticker lifts a few tiles and leaves the
 * median alone. The lift is capped so a global change still counts.
 */
enum { DIFFERENT, SAME, REFRESHED, REFINED };

static int compare(FreezePriv *p, const uint8_t *ref, const VqaFrame *f, double *mad,
                   double *max_tile)
{
    *mad = tile_diff(p, ref, f, max_tile);
    if (*max_tile <= p->noise)
        return SAME;
    double median = median_tile_mad(p);
    double floor = median > p->noise_floor ? median : p->noise_floor;
    double cap = FREEZE_FLOOR_CAP * p->noise;
    if (floor > cap)
        floor = cap;
    if (*max_tile <= p->noise + floor)
        return SAME;
    /* A refresh re-quantises the whole still: small in the median tile, bounded in the worst. */
    if (p->refresh <= 0 || median > p->noise + floor || *max_tile > p->refresh)
        return DIFFERENT;
    return (f->flags & VQA_FRAME_KEY) ? REFRESHED : REFINED;
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
    char details[192];
    snprintf(details, sizeof(details),
             "{\"frames\":%lld,\"max_tile_diff\":%.3f,\"refreshes\":%lld%s}",
             (long long)p->frames, p->max_tile_diff, (long long)p->refreshes,
             eos ? ",\"closed_by\":\"eos\"" : "");
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
    p->have_pending = 0;
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

/* f matched the reference (or confirmed a refresh): the candidate grows. */
static int account_unchanged(VqaDetectorContext *ctx, FreezePriv *p, double mad,
                             double max_tile)
{
    p->frames++;
    p->sum_mad += mad;
    if (max_tile > p->max_tile_diff)
        p->max_tile_diff = max_tile;
    update_noise_floor(p, mad);
    return confirm_if_long(ctx, p, p->end_t);
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
    if (p->have_pending) {
        /* The key frame before this one changed the still: was it a refresh? */
        p->have_pending = 0;
        if (compare(p, p->pending, f, &mad, &max_tile) == SAME) {
            uint8_t *swap = p->ref;
            p->ref = p->pending;
            p->pending = swap;
            p->refreshes++;
            p->frames++; /* the refresh frame itself */
            return account_unchanged(ctx, p, mad, max_tile);
        }
        ret = drop_candidate(ctx, p, p->pending_t);
        if (!is_black(f))
            take_reference(p, f);
        return ret;
    }
    int verdict = compare(p, p->ref, f, &mad, &max_tile);
    if (verdict == REFRESHED) {
        copy_picture(p->pending, f);
        p->have_pending = 1;
        p->pending_t = f->t;
        return ret;
    }
    /* Refinements keep the candidate while the encoder settles the picture, and
     * later when no tile moves by more than twice the noise (still invisible). */
    int keeps_onset = f->t - p->ref_t <= p->settle_s + FREEZE_EPS_S ||
                      max_tile <= FREEZE_FLOOR_CAP * p->noise;
    if (verdict == REFINED && keeps_onset && !is_black(f)) {
        double onset_t = p->ref_t;
        int64_t frames = p->frames + 1, refreshes = p->refreshes + 1;
        take_reference(p, f);
        p->ref_t = onset_t;
        p->frames = frames;
        p->refreshes = refreshes;
        return confirm_if_long(ctx, p, p->end_t);
    }
    if (verdict != SAME) {
        ret = drop_candidate(ctx, p, f->t);
        if (!is_black(f))
            take_reference(p, f);
        return ret;
    }
    return account_unchanged(ctx, p, mad, max_tile);
}

/* A pending refresh at the end leaves the freeze open: it ends with the input. */
static int freeze_flush(VqaDetectorContext *ctx)
{
    FreezePriv *p = ctx->priv;
    int ret = p->active ? emit_end(ctx, p, p->end_t, 1) : 0;
    p->have_ref = 0;
    p->have_pending = 0;
    p->frames = 0;
    return ret;
}

static void freeze_close(VqaDetectorContext *ctx)
{
    FreezePriv *p = ctx->priv;
    free(p->ref);
    free(p->pending);
    p->pending = NULL;
    free(p->col_sum);
    p->col_sum = NULL;
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
    { "refresh", "largest per-tile change a key frame re-encoding the still may make "
      "(0 = off)", "levels", VQA_OPT_DOUBLE, offsetof(FreezePriv, refresh), 24.0, NULL, 0, 255,
      0, { NULL, NULL } },
    { "settle", "time after the onset in which small refinements by the encoder keep it", "s",
      VQA_OPT_DOUBLE, offsetof(FreezePriv, settle_s), 0.5, NULL, 0, 5, 0, { NULL, NULL } },
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
    /* Tile differences need no fine detail either: a proxy of 213x120 from 854x480
     * (4x4 boxes of the shared 2x2 sums) rather than 284x160 (3x3 boxes, a second read
     * of the picture); docs/performance.md says how that was checked. */
    .flags = VQA_DETECTOR_TEMPORAL | VQA_DETECTOR_EVEN_PROXY,
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

VQA_PLUGIN_DEFINE_DETECTOR(freeze_class, "freeze", "1.0.0", "BSD-2-Clause",
                           "video freeze detection")
