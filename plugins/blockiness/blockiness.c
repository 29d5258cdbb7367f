/*
 * video.blockiness: block corruption (macroblocking) from packet loss or
 * bitstream errors; value = the corrupted share of the picture, 0-1.
 *
 * Two kinds of evidence, because neither is reliable alone (decoders do not
 * set their error flags consistently across codecs, and pictures have edges
 * of their own):
 *
 *  - decoder: decode_errors or the CORRUPT flag on a frame. The damage then
 *    propagates through prediction, so the frames after it stay corrupted
 *    until a key frame arrives without errors and with the picture back to
 *    its baseline (or `propagation` seconds pass without fresh evidence, for
 *    streams without key frames).
 *  - picture: on the block grid (block_size, 16 = an MPEG/H.264 macroblock)
 *    a block boundary is "broken" when the luma step across it exceeds the
 *    gradient just inside the blocks by far more than the stream's own
 *    block-edge baseline; a block is suspicious when two or more of its
 *    sides are broken (a pasted or concealed block stands out on several
 *    sides, whereas an edge of the content that happens to lie on the grid
 *    breaks one side per block). The picture share is the suspicious blocks'
 *    share above its own running baseline, so compression blocking that is
 *    the stream's norm (high everywhere, all the time) does not count. A key
 *    frame without decoder errors references nothing and is trusted: blocks
 *    it shows anyway are a new coding norm (I-frame pulsing, a bitrate
 *    switch) and reseed the baselines. Picture evidence alone therefore
 *    misses corruption that lands exactly on an unflagged key frame.
 *
 * The grid only exists at full resolution, so the input is GRAY8 at full
 * size (the converter hands over the decoder's luma plane without a copy)
 * and the cost is kept down by sampling every other pixel along each
 * boundary (4 reads per sample, a few rows of sums and flags as scratch).
 * Both kinds of boundary are scanned in SIMD loops over whole rows (see
 * blk_vertical_sums), the edge level is summed in integers, and the scan is
 * also compiled for AVX2 (../common/simd.h): with the same results, it takes
 * less than half the time per picture it did (docs/performance.md). Sampling every fourth row along the vertical boundaries would save
 * another fifth, but made the evidence noisy enough for a false alarm on a
 * 320x240 clip of the accuracy corpus (300 blocks: 3 blocks are the 1%
 * threshold). Decoder flags are evidence on every frame.
 *
 * A run of min_frames consecutive corrupted frames is reported, START
 * back-dated to its first frame, END at the first clean frame. The value is
 * the PEAK corrupted share over the run (the picture at its worst, which is
 * what an operator judges); the mean is in details. Severity is error when
 * the decoder confirmed the corruption, warning for picture evidence only.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/simd.h"
#include "vqa/plugin.h"

#define BLK_KIND "video.blockiness"
/* Smallest mean excess step (luma levels) across a boundary that can count
 * as broken, at sensitivity 1: well above grain and mild coding noise. */
#define BLK_EDGE_MIN 12.0
/* A broken boundary must also exceed this multiple of the stream's mean
 * block-edge excess, so heavy but uniform compression blocking is the norm. */
#define BLK_EDGE_K 4.0
/* Exponential baselines follow the last ~1/rate clean frames. */
#define BLK_BASE_RATE 0.05
/* Picture evidence must also stand this many mean deviations above the
 * baseline share: content alone moves the share by a few blocks on small or
 * graphic pictures. */
#define BLK_DEV_K 4.0
/* Picture-only evidence still moves the baselines, this much slower, so a
 * lasting change of content (not of the decoder's health) is absorbed. */
#define BLK_SLOW_FACTOR 0.1
/* Sample every COL_STEP-th column along a horizontal boundary and every ROW_STEP-th
 * row along a vertical one. */
#define BLK_COL_STEP 2
#define BLK_ROW_STEP 2

typedef struct BlkPriv {
    /* options */
    int64_t min_frames;
    double share_threshold;
    double sensitivity;
    int64_t block_size;
    double propagation_s;
    int use_decoder;

    /* per-picture scratch: one MB row's boundary sums, per-sample excess across its
     * bottom boundary, column sums of the steps along its sampled rows, broken flags */
    int32_t *vsum, *hsum;
    int16_t *excess;
    uint16_t *steps;
    uint8_t *bottom, *top, *vert;
    int cols_alloc;

    /* the stream's baselines (clean frames only) */
    int base_w, base_h;
    int have_base;
    double base_edge;        /* mean excess step over all boundary segments */
    double base_share;       /* share of suspicious blocks */
    double base_dev;         /* its mean absolute deviation: how much content moves it */

    /* decoder-reported corruption propagating through prediction */
    int propagating;
    double evidence_t;       /* last frame with decoder or picture evidence */

    /* the current run of corrupted frames */
    int in_run;
    int active;              /* START emitted */
    int decoder_cause;
    double onset_t;
    int64_t frames;
    double max_share, sum_share;
    uint32_t errors_seen;
    int corrupt_flag_seen;

    double end_t;            /* last frame's t + duration */
    double last_t;
} BlkPriv;

/* What one picture shows on the block grid. */
typedef struct BlkScan {
    double share;            /* suspicious blocks / all blocks */
    double mean_edge;        /* mean excess step over all segments */
} BlkScan;

/* Sums of the positive excess over a picture's boundary segments, by direction (in the
 * units of the sums: 2 x excess per sample). */
typedef struct BlkEdges {
    int64_t horizontal, vertical;
} BlkEdges;

/* Samples per segment along a horizontal and a vertical boundary. */
static int blk_samples_h(int b)
{
    return (b + BLK_COL_STEP - 1) / BLK_COL_STEP;
}

static int blk_samples_v(int b)
{
    return (b + BLK_ROW_STEP - 1) / BLK_ROW_STEP;
}

static int blk_ensure_rows(BlkPriv *p, int cols)
{
    if (cols <= p->cols_alloc)
        return 0;
    /* one allocation: the two rows of sums, the excess samples, the column sums, three
     * rows of flags */
    const size_t samples = (size_t)cols * (size_t)blk_samples_h((int)p->block_size);
    const size_t width = (size_t)cols * (size_t)p->block_size;
    int32_t *mem = realloc(p->vsum, 2 * sizeof(int32_t) * (size_t)cols +
                                        sizeof(int16_t) * samples + sizeof(uint16_t) * width +
                                        3 * (size_t)cols);
    if (!mem)
        return VQA_ERR(ENOMEM);
    p->vsum = mem;
    p->hsum = mem + cols;
    p->excess = (int16_t *)(p->hsum + cols);
    p->steps = (uint16_t *)(p->excess + samples);
    p->bottom = (uint8_t *)(p->steps + width);
    p->top = p->bottom + cols;
    p->vert = p->top + cols;
    p->cols_alloc = cols;
    return 0;
}

static inline int absdiff(int a, int b)
{
    return a > b ? a - b : b - a;
}

/* Excess of a horizontal boundary between rows y-1 and y, over columns [x0, x0 + len):
 * twice the step across it minus the steps on either side (what the content itself does
 * there), summed over every other column. */
static int blk_horizontal_sum(const uint8_t *base, ptrdiff_t stride, int y, int x0, int len)
{
    const uint8_t *r0 = base + (y - 2) * stride + x0, *r1 = r0 + stride;
    const uint8_t *r2 = r1 + stride, *r3 = r2 + stride;
    int sum = 0;
    for (int x = 0; x < len; x += BLK_COL_STEP)
        sum += 2 * absdiff(r2[x], r1[x]) - absdiff(r1[x], r0[x]) - absdiff(r3[x], r2[x]);
    return sum;
}

/* Each block's sum of its n samples; inlined with n constant for the usual block size. */
VQA_SIMD_INLINE void blk_block_sums(const int16_t *restrict excess, const int n, const int cols,
                                  int32_t *restrict sums)
{
    for (int bx = 0; bx < cols; bx++) {
        int32_t sum = 0;
        for (int t = 0; t < n; t++)
            sum += excess[bx * n + t];
        sums[bx] = sum;
    }
}

/* blk_horizontal_sum for every block of the boundary above row y at once, for an even
 * block size: the excess of each sampled column into one row (a plain SIMD loop), then
 * each block's sum of its b / 2 samples. */
VQA_SIMD_INLINE void blk_horizontal_row(const uint8_t *base, ptrdiff_t stride, int y, int b,
                                         int cols, int16_t *restrict excess,
                                         int32_t *restrict sums)
{
    const uint8_t *restrict r0 = base + (y - 2) * stride, *restrict r1 = r0 + stride;
    const uint8_t *restrict r2 = r1 + stride, *restrict r3 = r2 + stride;
    const int per_block = b / BLK_COL_STEP, n = cols * per_block;
    for (int j = 0; j < n; j++) {
        const int x = BLK_COL_STEP * j;
        excess[j] = (int16_t)(2 * absdiff(r2[x], r1[x]) - absdiff(r1[x], r0[x]) -
                              absdiff(r3[x], r2[x]));
    }
    if (per_block == 8)
        blk_block_sums(excess, 8, cols, sums); /* 16 x 16 macroblocks */
    else
        blk_block_sums(excess, per_block, cols, sums);
}

/* The same for every vertical boundary x = b, 2b, ... over the sampled rows [y0, y1) of a
 * block row, into sums[bx]. Gathering the 4 pixels around each boundary row by row does
 * not vectorise; instead every column's step |r[x] - r[x-1]| is summed down the rows
 * (a plain SIMD loop over the row, 16 bits: at most 32 rows of 255), and the boundary
 * at x0 is 2 S[x0] - S[x0-1] - S[x0+1] of those column sums, the same integers. */
VQA_SIMD_INLINE void blk_vertical_sums(const uint8_t *luma, ptrdiff_t stride, int y0, int y1,
                                       int b, int cols, uint16_t *restrict steps,
                                       int32_t *restrict sums)
{
    const int n = cols * b;
    const uint8_t *restrict r = luma + y0 * stride;
    for (int x = 1; x < n; x++) {
        const uint8_t a = r[x], c = r[x - 1];
        steps[x] = (uint8_t)(a > c ? a - c : c - a);
    }
    for (int y = y0 + BLK_ROW_STEP; y < y1; y += BLK_ROW_STEP) {
        r = luma + y * stride;
        for (int x = 1; x < n; x++) {
            const uint8_t a = r[x], c = r[x - 1];
            steps[x] = (uint16_t)(steps[x] + (uint8_t)(a > c ? a - c : c - a));
        }
    }
    sums[0] = 0;
    for (int bx = 1; bx < cols; bx++) {
        const int x0 = bx * b;
        sums[bx] = 2 * steps[x0] - steps[x0 - 1] - steps[x0 + 1];
    }
}

/* Flag the boundaries of MB row `by` (its bottom edge and its vertical edges) and count
 * its blocks with two or more broken sides. `thr` is the broken level of a mean excess
 * step; the positive excess of every segment is added to *edges. */
VQA_SIMD_INLINE int blk_scan_row(BlkPriv *p, const VqaFrame *f, int by, int rows, int cols,
                                 double thr, BlkEdges *edges)
{
    const int b = (int)p->block_size;
    const uint8_t *luma = f->data[0];
    const ptrdiff_t stride = f->linesize[0];
    /* Sums hold 2 x excess per sample. */
    const double thr_h = 2.0 * thr * blk_samples_h(b), thr_v = 2.0 * thr * blk_samples_v(b);
    blk_vertical_sums(luma, stride, by * b, (by + 1) * b, b, cols, p->steps, p->vsum);
    if (by + 1 == rows)
        memset(p->hsum, 0, sizeof(*p->hsum) * (size_t)cols); /* the picture's edge */
    else if (b % BLK_COL_STEP == 0)
        blk_horizontal_row(luma, stride, (by + 1) * b, b, cols, p->excess, p->hsum);
    else
        for (int bx = 0; bx < cols; bx++)
            p->hsum[bx] = blk_horizontal_sum(luma, stride, (by + 1) * b, bx * b, b);
    int64_t pos_h = 0, pos_v = 0;
    for (int bx = 0; bx < cols; bx++) {
        const int h = p->hsum[bx];
        const int v = p->vsum[bx];
        p->bottom[bx] = h >= thr_h;
        p->vert[bx] = bx > 0 && v >= thr_v;
        pos_h += h > 0 ? h : 0;
        pos_v += v > 0 ? v : 0;
    }
    edges->horizontal += pos_h;
    edges->vertical += pos_v;
    int suspicious = 0;
    for (int bx = 0; bx < cols; bx++) {
        int sides = p->top[bx] + p->bottom[bx] + p->vert[bx];
        sides += bx + 1 < cols ? p->vert[bx + 1] : 0;
        suspicious += sides >= 2;
    }
    memcpy(p->top, p->bottom, (size_t)cols);
    return suspicious;
}

VQA_SIMD_CLONES VQA_VECTORISE static int blk_scan(BlkPriv *p, const VqaFrame *f, BlkScan *out)
{
    const int b = (int)p->block_size;
    const int cols = f->width / b, rows = f->height / b;
    out->share = 0;
    out->mean_edge = 0;
    if (cols < 3 || rows < 3)
        return 0; /* too small to hold a grid worth judging */
    int ret = blk_ensure_rows(p, cols);
    if (ret < 0)
        return ret;
    double edge_thr = BLK_EDGE_MIN / p->sensitivity;
    if (p->have_base && BLK_EDGE_K * p->base_edge / p->sensitivity > edge_thr)
        edge_thr = BLK_EDGE_K * p->base_edge / p->sensitivity;
    memset(p->top, 0, (size_t)cols);
    BlkEdges edges = { 0, 0 };
    long suspicious = 0;
    for (int by = 0; by < rows; by++)
        suspicious += blk_scan_row(p, f, by, rows, cols, edge_thr, &edges);
    out->share = (double)suspicious / ((double)cols * rows);
    /* Each segment's mean excess, averaged over the two segments of every block. */
    const double edge_sum = (double)edges.horizontal / (2.0 * blk_samples_h(b)) +
                            (double)edges.vertical / (2.0 * blk_samples_v(b));
    out->mean_edge = edge_sum / (2.0 * cols * rows);
    return 0;
}

/* Scan a picture; the first one of a stream (or of a new size) sets the baselines: its
 * block edges are scanned twice, the second time against its own edge level, so a stream
 * that is blocky from the start has that as its norm. */
static int blk_scan_seeded(BlkPriv *p, const VqaFrame *f, BlkScan *s)
{
    if (p->have_base && p->base_w == f->width && p->base_h == f->height)
        return blk_scan(p, f, s);
    p->have_base = 0;
    int ret = blk_scan(p, f, s);
    if (ret < 0)
        return ret;
    p->base_w = f->width;
    p->base_h = f->height;
    p->base_edge = s->mean_edge;
    p->have_base = 1;
    if ((ret = blk_scan(p, f, s)) < 0)
        return ret;
    p->base_share = s->share;
    p->base_dev = p->share_threshold; /* cautious until the stream has shown its norm */
    return 0;
}

static void blk_update_base(BlkPriv *p, const BlkScan *s, double rate)
{
    p->base_edge += rate * (s->mean_edge - p->base_edge);
    double dev = s->share > p->base_share ? s->share - p->base_share : p->base_share - s->share;
    p->base_dev += rate * (dev - p->base_dev);
    p->base_share += rate * (s->share - p->base_share);
}

static int blk_emit_start(VqaDetectorContext *ctx, BlkPriv *p)
{
    char details[96];
    snprintf(details, sizeof(details), "{\"cause\":\"%s\",\"frames\":%lld}",
             p->decoder_cause ? "decoder" : "picture", (long long)p->frames);
    p->active = 1;
    return vqa_detector_emit(ctx, BLK_KIND, VQA_EVENT_START, p->onset_t, p->max_share,
                             p->decoder_cause ? VQA_SEVERITY_ERROR : VQA_SEVERITY_WARNING,
                             details);
}

static int blk_emit_end(VqaDetectorContext *ctx, BlkPriv *p, double t, int eos)
{
    char details[256];
    snprintf(details, sizeof(details),
             "{\"cause\":\"%s\",\"frames\":%lld,\"max_share\":%.4f,\"mean_share\":%.4f,"
             "\"decode_errors\":%u,\"corrupt_flag\":%s%s}",
             p->decoder_cause ? "decoder" : "picture", (long long)p->frames, p->max_share,
             p->frames ? p->sum_share / (double)p->frames : 0.0, (unsigned)p->errors_seen,
             p->corrupt_flag_seen ? "true" : "false", eos ? ",\"closed_by\":\"eos\"" : "");
    p->active = 0;
    return vqa_detector_emit(ctx, BLK_KIND, VQA_EVENT_END, t, p->max_share,
                             p->decoder_cause ? VQA_SEVERITY_ERROR : VQA_SEVERITY_WARNING,
                             details);
}

static int blk_check_frame(VqaDetectorContext *ctx, const VqaFrame *f)
{
    if (f->type == VQA_MEDIA_VIDEO && f->pix_fmt == VQA_PIX_GRAY8 && f->data[0] &&
        f->width > 0 && f->height > 0 && f->linesize[0] >= f->width)
        return 0;
    vqa_detector_log(ctx, VQA_LOG_ERROR, "blockiness: expected a GRAY8 picture");
    return VQA_ERR(EINVAL);
}

enum { BLK_CLEAN, BLK_PICTURE, BLK_DECODER, BLK_RESEED };

/* Decide whether this frame is corrupted (BLK_PICTURE or BLK_DECODER by cause) and how
 * much of it; updates the propagation state and the baselines (from clean frames only, so a
 * corruption never becomes the norm). BLK_RESEED: a clean key frame whose blocks stand out
 * anyway, which is a new coding norm (I-frame pulsing, a bitrate switch): a key frame
 * references nothing, so without decoder errors it is taken as correctly decoded. */
static int blk_judge(BlkPriv *p, const VqaFrame *f, const BlkScan *s, double *share)
{
    uint32_t errors = p->use_decoder ? f->decode_errors : 0;
    int flagged = p->use_decoder && (f->flags & VQA_FRAME_CORRUPT);
    int decoder = errors != 0 || flagged;
    double excess = p->have_base ? s->share - p->base_share : 0.0;
    int picture = excess >= p->share_threshold && excess >= BLK_DEV_K * p->base_dev;
    if (picture && !decoder && !p->propagating && (f->flags & VQA_FRAME_KEY))
        return BLK_RESEED;
    if (decoder || (picture && p->propagating))
        p->evidence_t = f->t;
    if (decoder)
        p->propagating = 1;
    else if (p->propagating && !picture &&
             ((f->flags & VQA_FRAME_KEY) || f->t - p->evidence_t > p->propagation_s))
        p->propagating = 0; /* recovered: a clean key frame, or no evidence for long */
    if (!p->propagating && !picture) {
        blk_update_base(p, s, BLK_BASE_RATE);
        return BLK_CLEAN;
    }
    if (!p->propagating) /* a lasting change of content must end up as the norm */
        blk_update_base(p, s, BLK_BASE_RATE * BLK_SLOW_FACTOR);
    *share = excess > 0 ? excess : 0.0;
    if (p->propagating && *share < p->share_threshold)
        *share = p->share_threshold; /* confirmed, though the picture hides it */
    return decoder ? BLK_DECODER : BLK_PICTURE;
}

static int blk_process(VqaDetectorContext *ctx, const VqaFrame *f)
{
    BlkPriv *p = ctx->priv;
    int ret = blk_check_frame(ctx, f);
    if (ret < 0)
        return ret;
    double dur = f->duration > 0 ? f->duration : f->t > p->last_t ? f->t - p->last_t : 0;
    p->last_t = f->t;
    p->end_t = f->t + dur;

    BlkScan scan;
    if ((ret = blk_scan_seeded(p, f, &scan)) < 0)
        return ret;
    double share = 0;
    int verdict = blk_judge(p, f, &scan, &share);
    if (verdict == BLK_RESEED) {
        p->have_base = 0;
        if ((ret = blk_scan_seeded(p, f, &scan)) < 0)
            return ret;
        verdict = BLK_CLEAN;
    }
    vqa_detector_log(ctx, VQA_LOG_TRACE,
                     "blockiness: t=%.3f blocks=%.4f base=%.4f dev=%.4f edge=%.2f base_edge=%.2f "
                     "errors=%u flags=%u verdict=%d", f->t, scan.share, p->base_share, p->base_dev,
                     scan.mean_edge, p->base_edge, (unsigned)f->decode_errors,
                     (unsigned)f->flags, verdict);
    if (verdict == BLK_CLEAN) {
        ret = p->active ? blk_emit_end(ctx, p, f->t, 0) : 0;
        p->in_run = 0;
        return ret;
    }
    if (!p->in_run) {
        p->in_run = 1;
        p->onset_t = f->t;
        p->frames = 0;
        p->max_share = p->sum_share = 0;
        p->decoder_cause = 0;
        p->errors_seen = 0;
        p->corrupt_flag_seen = 0;
    }
    if (verdict == BLK_DECODER) {
        p->errors_seen |= f->decode_errors;
        p->corrupt_flag_seen |= (f->flags & VQA_FRAME_CORRUPT) != 0;
    }
    p->frames++;
    p->sum_share += share;
    if (share > p->max_share)
        p->max_share = share;
    p->decoder_cause |= verdict == BLK_DECODER;
    if (p->active || p->frames < p->min_frames)
        return 0;
    return blk_emit_start(ctx, p);
}

static int blk_flush(VqaDetectorContext *ctx)
{
    BlkPriv *p = ctx->priv;
    int ret = p->active ? blk_emit_end(ctx, p, p->end_t, 1) : 0;
    p->in_run = 0;
    p->propagating = 0;
    return ret;
}

static void blk_close(VqaDetectorContext *ctx)
{
    BlkPriv *p = ctx->priv;
    free(p->vsum);
    p->vsum = p->hsum = NULL;
    p->excess = NULL;
    p->steps = NULL;
    p->bottom = p->top = p->vert = NULL;
    p->cols_alloc = 0;
}

static const VqaOption blk_options[] = {
    { "min_frames", "consecutive corrupted frames before a report", "frames", VQA_OPT_INT,
      offsetof(BlkPriv, min_frames), 2, NULL, 1, 100000, 0, { NULL, NULL } },
    { "share_threshold", "share of the blocks, above the stream's norm, that makes a picture "
      "corrupted", "fraction", VQA_OPT_DOUBLE, offsetof(BlkPriv, share_threshold), 0.01, NULL,
      0.0001, 1, 0, { NULL, NULL } },
    { "sensitivity", "scales how small a block-edge discontinuity counts (higher = finds more)",
      "factor", VQA_OPT_DOUBLE, offsetof(BlkPriv, sensitivity), 1.0, NULL, 0.1, 10, 0,
      { NULL, NULL } },
    { "block_size", "block grid checked (16 = MPEG/H.264 macroblock)", "px", VQA_OPT_INT,
      offsetof(BlkPriv, block_size), 16, NULL, 4, 64, 0, { NULL, NULL } },
    { "propagation", "longest a decoder-reported corruption is held without fresh evidence "
      "when no clean key frame comes", "s", VQA_OPT_DOUBLE, offsetof(BlkPriv, propagation_s),
      10.0, NULL, 0, 3600, 0, { NULL, NULL } },
    { "decoder_flags", "use the decoder's error flags as evidence", NULL, VQA_OPT_BOOL,
      offsetof(BlkPriv, use_decoder), 1, NULL, 0, 1, 0, { NULL, NULL } },
    { NULL, NULL, NULL, VQA_OPT_NONE, 0, 0, NULL, 0, 0, 0, { NULL, NULL } },
};

static const char *const blk_kinds[] = { BLK_KIND, NULL };

static const VqaDetectorClass blk_class = {
    .struct_size = sizeof(VqaDetectorClass),
    .name = "blockiness",
    .description = "block corruption / macroblocking (decoder errors + block-grid evidence)",
    .kinds = blk_kinds,
    .flags = VQA_DETECTOR_TEMPORAL,
    .priv_size = sizeof(BlkPriv),
    .options = blk_options,
    /* Full size: a downscaled picture has no block grid left to see. */
    .input = {
        .type = VQA_MEDIA_VIDEO,
        .pix_fmt = VQA_PIX_GRAY8,
    },
    .process = blk_process,
    .flush = blk_flush,
    .close = blk_close,
};

static const VqaDetectorClass *const blk_detectors[] = { &blk_class, NULL };

static const VqaPluginDesc blk_plugin = {
    .struct_size = sizeof(VqaPluginDesc),
    .abi_minor = VQA_PLUGIN_ABI_MINOR,
    .name = "blockiness",
    .version = "1.0.0",
    .license = "BSD-2-Clause",
    .description = "block corruption detection",
    .detectors = blk_detectors,
};

VQA_PLUGIN_DEFINE(blk_plugin)
