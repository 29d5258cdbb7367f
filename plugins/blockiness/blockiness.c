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
 *  - lasting steps (option `lasting`, off by default): per boundary segment, a
 *    luma step that the gradients just inside the blocks do not explain, held
 *    for BLK_PERSIST pictures in a row where the stream's clean pictures
 *    seldom step (a norm per segment, learnt for BLK_WARMUP pictures; a clean
 *    key frame's own steps join it). It sees the faint edges of concealed
 *    patches baked into the picture by a transcoder, which the two-sided test
 *    above misses. It is off because content makes the same evidence: on a
 *    clean testsrc2 clip (even coded losslessly, x264 -qp 0) a slow diagonal
 *    band whose staircase repeats every 16/3 px puts one step on every
 *    vertical grid line, and while the band stands still for 3 pictures those
 *    steps are indistinguishable, segment by segment, from a concealed block's
 *    edge; the burst covers 8% of the blocks in a chain, as clustered as real
 *    damage. Neither clustering, nor the other sides of the block, nor an
 *    off-grid control (the largest step on the lines parallel to the boundary
 *    inside the blocks) separated it from corrupt_reencoded's damage
 *    (docs/accuracy.md).
 *
 * A run confirmed by the picture alone is held, once reported, until the
 * picture has shown no evidence for `hold` seconds (a transcoder's key frame
 * re-encodes the damage, so a key frame proves nothing there); its END is
 * back-dated to the first quiet picture. A run confirmed by the decoder is
 * held until a clean key frame or `propagation` seconds without evidence.
 *
 * The grid only exists at full resolution, so the input is GRAY8 at full
 * size (the converter hands over the decoder's luma plane without a copy)
 * and the cost is kept down by sampling every other pixel along each
 * boundary (4 reads per sample, a few rows of sums and flags as scratch).
 * Both kinds of boundary are scanned in SIMD loops over whole rows (see
 * blk_vertical_sums), the edge level is summed in integers, and the scan is
 * also compiled for AVX2 (../common/simd.h): with the same results, it takes
 * less than half the time per picture it did (docs/performance.md). Sampling
 * every fourth row along the vertical boundaries would save another fifth,
 * but made the evidence noisy enough for a false alarm on a 320x240 clip of
 * the accuracy corpus (300 blocks: 3 blocks are the 1% threshold). Decoder
 * flags are evidence on every frame.
 *
 * A run of min_frames consecutive corrupted frames is reported (of
 * min_frames_picture, 6, when no decoder error backs it: at 40 kbit/s a
 * clean 320x240 stream starved by its rate control showed 3 pictures of
 * grid evidence, concealed damage lasts to the next key frame), START
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
/* A boundary segment "steps" when the mean luma step across it is at least BLK_STEP_MIN levels
 * and at least BLK_STEP_RATIO times the mean gradient just inside the blocks plus one level: a
 * step the content next to it does not explain. Far below BLK_EDGE_MIN, so it sees the faint
 * edges of concealed or mispredicted blocks on flat areas, which a stream's own content and
 * coding also make everywhere; what counts is a segment that steps for BLK_PERSIST frames in a
 * row where the stream's clean pictures seldom do (less than BLK_USUAL_MAX of them). Moving
 * content crosses a grid line and leaves it within a frame or two; edges of the content that
 * lie on the grid are the norm; corruption stays where the decoder put it until the picture
 * is refreshed. */
#define BLK_STEP_MIN 6
#define BLK_STEP_RATIO 3
#define BLK_PERSIST 3
#define BLK_USUAL_MAX 0.25f
/* Lasting steps are scattered by coding at low rates too (skipped blocks keep a coarse patch):
 * their share must stand further above its baseline than the single-picture measure. */
#define BLK_LASTING_DEV_K 5.0
/* ... and by twice the share threshold: a still picture's small changes (a clock's digits)
 * last too, on a few blocks. */
#define BLK_LASTING_SHARE_K 2.0
/* Clean pictures the segments' norms learn from before lasting steps count: which segments
 * step, and how often, is only known once the stream has shown some. */
#define BLK_WARMUP 25
/* Sides of a block that must carry lasting steps: one is what content often leaves. */
#define BLK_LASTING_SIDES 1
/* How many pictures back a report can be back-dated to where its lasting steps began. */
#define BLK_RECENT 8
/* Sample every COL_STEP-th column along a horizontal boundary and every ROW_STEP-th
 * row along a vertical one. */
#define BLK_COL_STEP 2
#define BLK_ROW_STEP 2

typedef struct BlkPriv {
    /* options */
    int64_t min_frames;
    int64_t min_frames_picture;
    double share_threshold;
    double sensitivity;
    int64_t block_size;
    double propagation_s;
    double hold_s;
    int use_decoder;
    int use_lasting;

    /* per-picture scratch: one MB row's boundary sums, per-sample excess across its
     * bottom boundary, column sums of the steps along its sampled rows, broken flags */
    int32_t *vsum, *hsum;
    int16_t *excess;
    uint16_t *steps;
    uint8_t *bottom, *top, *vert;
    int32_t *hacross, *vacross; /* the same rows' sums of the step across the boundary alone */
    int16_t *across;
    int cols_alloc;

    /* per boundary segment of the grid (the bottom and the left side of every block, row
     * major): whether it steps in this picture, for how many pictures in a row it has, and
     * how often it does in the stream's clean pictures (0-1) */
    uint8_t *step_h, *step_v, *run_h, *run_v;
    uint8_t *side;           /* scratch: blocks with a lasting step on a side */
    float *usual_h, *usual_v;
    int segs_alloc, segs_n;

    /* the stream's baselines (clean frames only) */
    int base_w, base_h;
    int have_base;
    double base_edge;        /* mean excess step over all boundary segments */
    double base_share;       /* share of suspicious blocks */
    double base_dev;         /* its mean absolute deviation: how much content moves it */
    double base_pshare;      /* the same for the share of blocks with lasting new steps */
    double base_pdev;
    int have_steps;          /* the segments' baselines hold a picture of this size */
    int steps_seen;          /* pictures they have learnt from, up to BLK_WARMUP */
    double recent_t[BLK_RECENT]; /* the last pictures' times, newest first */
    int lasting_led;         /* the last picture evidence came from lasting steps */
    int recent_n;

    /* decoder-reported corruption propagating through prediction, or picture-confirmed
     * corruption held until the picture recovers */
    int propagating;
    int picture_hold;        /* propagating on picture evidence alone */
    int quiet, end_back;
    double quiet_t;          /* if quiet: the first picture without evidence since the last with */
    double end_at_t;         /* if end_back: a held run's END, back-dated to when it went quiet */
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
    double last_end_t;       /* the last END emitted, so a back-dated onset cannot precede it */
    double last_t;
} BlkPriv;

/* What one picture shows on the block grid. */
typedef struct BlkScan {
    double share;            /* suspicious blocks / all blocks */
    double mean_edge;        /* mean excess step over all segments */
    double pshare;           /* blocks with a lasting new step on a side / all blocks */
    double lasting_run;      /* how many pictures those steps have lasted, on average */
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
    int32_t *mem = realloc(p->vsum, 4 * sizeof(int32_t) * (size_t)cols +
                                        2 * sizeof(int16_t) * samples +
                                        sizeof(uint16_t) * width + 3 * (size_t)cols);
    if (!mem)
        return VQA_ERR(ENOMEM);
    p->vsum = mem;
    p->hsum = mem + cols;
    p->hacross = p->hsum + cols;
    p->vacross = p->hacross + cols;
    p->excess = (int16_t *)(p->vacross + cols);
    p->across = p->excess + samples;
    p->steps = (uint16_t *)(p->across + samples);
    p->bottom = (uint8_t *)(p->steps + width);
    p->top = p->bottom + cols;
    p->vert = p->top + cols;
    p->cols_alloc = cols;
    return 0;
}

/* Per-segment state for a grid of `blocks` blocks; new segments start clean and unusual. */
static int blk_ensure_segments(BlkPriv *p, int blocks)
{
    if (blocks <= p->segs_alloc)
        return 0;
    /* one allocation, the floats first for their alignment */
    float *mem = realloc(p->usual_h, (size_t)blocks * (2 * sizeof(float) + 5));
    if (!mem)
        return VQA_ERR(ENOMEM);
    p->usual_h = mem;
    p->usual_v = mem + blocks;
    p->step_h = (uint8_t *)(void *)(p->usual_v + blocks);
    p->step_v = p->step_h + blocks;
    p->run_h = p->step_v + blocks;
    p->run_v = p->run_h + blocks;
    p->side = p->run_v + blocks;
    p->segs_alloc = blocks;
    return 0;
}

static inline int absdiff(int a, int b)
{
    return a > b ? a - b : b - a;
}

/* Excess of a horizontal boundary between rows y-1 and y, over columns [x0, x0 + len):
 * twice the step across it minus the steps on either side (what the content itself does
 * there), summed over every other column. */
static int blk_horizontal_sum(const uint8_t *base, ptrdiff_t stride, int y, int x0, int len,
                              int32_t *across)
{
    const uint8_t *r0 = base + (y - 2) * stride + x0, *r1 = r0 + stride;
    const uint8_t *r2 = r1 + stride, *r3 = r2 + stride;
    int sum = 0, step = 0;
    for (int x = 0; x < len; x += BLK_COL_STEP) {
        step += absdiff(r2[x], r1[x]);
        sum += 2 * absdiff(r2[x], r1[x]) - absdiff(r1[x], r0[x]) - absdiff(r3[x], r2[x]);
    }
    *across = step;
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
                                         int16_t *restrict across, int32_t *restrict sums,
                                         int32_t *restrict across_sums, const int want_across)
{
    const uint8_t *restrict r0 = base + (y - 2) * stride, *restrict r1 = r0 + stride;
    const uint8_t *restrict r2 = r1 + stride, *restrict r3 = r2 + stride;
    const int per_block = b / BLK_COL_STEP, n = cols * per_block;
    for (int j = 0; j < n; j++) {
        const int x = BLK_COL_STEP * j;
        const int step = absdiff(r2[x], r1[x]);
        across[j] = (int16_t)step;
        excess[j] = (int16_t)(2 * step - absdiff(r1[x], r0[x]) - absdiff(r3[x], r2[x]));
    }
    if (per_block == 8) { /* 16 x 16 macroblocks */
        blk_block_sums(excess, 8, cols, sums);
        if (want_across)
            blk_block_sums(across, 8, cols, across_sums);
    } else {
        blk_block_sums(excess, per_block, cols, sums);
        if (want_across)
            blk_block_sums(across, per_block, cols, across_sums);
    }
}

/* The same for every vertical boundary x = b, 2b, ... over the sampled rows [y0, y1) of a
 * block row, into sums[bx]. Gathering the 4 pixels around each boundary row by row does
 * not vectorise; instead every column's step |r[x] - r[x-1]| is summed down the rows
 * (a plain SIMD loop over the row, 16 bits: at most 32 rows of 255), and the boundary
 * at x0 is 2 S[x0] - S[x0-1] - S[x0+1] of those column sums, the same integers. */
VQA_SIMD_INLINE void blk_vertical_sums(const uint8_t *luma, ptrdiff_t stride, int y0, int y1,
                                       int b, int cols, uint16_t *restrict steps,
                                       int32_t *restrict sums, int32_t *restrict across_sums)
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
    sums[0] = across_sums[0] = 0;
    for (int bx = 1; bx < cols; bx++) {
        const int x0 = bx * b;
        sums[bx] = 2 * steps[x0] - steps[x0 - 1] - steps[x0 + 1];
        across_sums[bx] = steps[x0];
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
    blk_vertical_sums(luma, stride, by * b, (by + 1) * b, b, cols, p->steps, p->vsum,
                      p->vacross);
    if (by + 1 == rows) { /* the picture's edge */
        memset(p->hsum, 0, sizeof(*p->hsum) * (size_t)cols);
        memset(p->hacross, 0, sizeof(*p->hacross) * (size_t)cols);
    } else if (b % BLK_COL_STEP == 0) {
        blk_horizontal_row(luma, stride, (by + 1) * b, b, cols, p->excess, p->across, p->hsum,
                           p->hacross, p->use_lasting);
    } else {
        for (int bx = 0; bx < cols; bx++)
            p->hsum[bx] = blk_horizontal_sum(luma, stride, (by + 1) * b, bx * b, b,
                                             &p->hacross[bx]);
    }
    /* A segment steps when A >= STEP_MIN n and A >= RATIO I / 2 + n, with A the sum of the
     * steps across it over its n samples and I that of the two gradients inside; the sums
     * above hold E = 2A - I, so I = 2A - E. */
    int64_t pos_h = 0, pos_v = 0;
    for (int bx = 0; bx < cols; bx++) {
        const int h = p->hsum[bx];
        const int v = p->vsum[bx];
        p->bottom[bx] = h >= thr_h;
        p->vert[bx] = bx > 0 && v >= thr_v;
        pos_h += h > 0 ? h : 0;
        pos_v += v > 0 ? v : 0;
    }
    if (p->use_lasting) { /* the steps cost a tenth of the scan: only when they are used */
        const int nh = blk_samples_h(b), nv = blk_samples_v(b);
        uint8_t *step_h = p->step_h + (size_t)by * cols, *step_v = p->step_v + (size_t)by * cols;
        for (int bx = 0; bx < cols; bx++) {
            const int h = p->hsum[bx], v = p->vsum[bx];
            const int ah = p->hacross[bx], av = p->vacross[bx];
            step_h[bx] = ah >= BLK_STEP_MIN * nh &&
                         2 * ah >= BLK_STEP_RATIO * (2 * ah - h) + 2 * nh;
            step_v[bx] = bx > 0 && av >= BLK_STEP_MIN * nv &&
                         2 * av >= BLK_STEP_RATIO * (2 * av - v) + 2 * nv;
        }
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
    out->pshare = 0;
    if (cols < 3 || rows < 3)
        return 0; /* too small to hold a grid worth judging */
    int ret = blk_ensure_rows(p, cols);
    if (ret < 0 || (ret = blk_ensure_segments(p, cols * rows)) < 0)
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

/* A segment whose step has lasted BLK_PERSIST pictures where clean pictures seldom step. */
static inline int blk_lasting(uint8_t run, float usual)
{
    return run >= BLK_PERSIST && usual < BLK_USUAL_MAX;
}

/* This picture's steps are the segments' norm, learnt on for BLK_WARMUP pictures. */
static void blk_seed_steps(BlkPriv *p)
{
    const int n = p->segs_n;
    for (int i = 0; i < n; i++) {
        p->usual_h[i] = p->step_h[i];
        p->usual_v[i] = p->step_v[i];
    }
    memcpy(p->run_h, p->step_h, (size_t)n);
    memcpy(p->run_v, p->step_v, (size_t)n);
    p->base_pshare = 0;
    p->base_pdev = p->share_threshold; /* cautious until the stream has shown its norm */
    p->have_steps = 1;
    p->steps_seen = 1;
}

/* Once per picture, after the scan: count how long each segment has stepped, and the share of
 * blocks with a lasting new step on one of their sides into s->pshare. The first picture of
 * a stream (or size) is the segments' norm. */
static void blk_track(BlkPriv *p, const VqaFrame *f, BlkScan *s)
{
    const int clean_key = (f->flags & VQA_FRAME_KEY) &&
                          !(p->use_decoder && (f->decode_errors || (f->flags & VQA_FRAME_CORRUPT)));
    const int b = (int)p->block_size;
    const int cols = f->width / b, rows = f->height / b, n = cols * rows;
    if (cols < 3 || rows < 3)
        return;
    if (p->segs_n != n)
        p->have_steps = 0; /* a new picture size: a new grid */
    if (!p->have_steps) {
        p->segs_n = n;
        blk_seed_steps(p);
        return;
    }
    if (clean_key) {
        /* Steps a clean key frame starts are its coding, not corruption; steps that were
         * there before it start counting again, so those of a corruption that it refreshed
         * away end here, and those baked into the picture upstream (a transcoder's key
         * frame re-encodes them) are back as lasting BLK_PERSIST pictures later. */
        for (int i = 0; i < n; i++) {
            if (p->step_h[i] && !p->run_h[i])
                p->usual_h[i] = 1.0f;
            if (p->step_v[i] && !p->run_v[i])
                p->usual_v[i] = 1.0f;
        }
        memset(p->run_h, 0, (size_t)n);
        memset(p->run_v, 0, (size_t)n);
    }
    for (int i = 0; i < n; i++) {
        p->run_h[i] = p->step_h[i] ? (uint8_t)(p->run_h[i] + (p->run_h[i] < 255)) : 0;
        p->run_v[i] = p->step_v[i] ? (uint8_t)(p->run_v[i] + (p->run_v[i] < 255)) : 0;
    }
    int lasting = 0, segments = 0, runs = 0;
    memset(p->side, 0, (size_t)n);
    for (int i = 0; i < n; i++) {
        if (blk_lasting(p->run_h[i], p->usual_h[i])) {
            p->side[i]++; /* the block above this bottom side and the one below */
            if (i + cols < n)
                p->side[i + cols]++;
            segments++;
            runs += p->run_h[i];
        }
        if (blk_lasting(p->run_v[i], p->usual_v[i])) {
            p->side[i]++; /* the block right of this left side and the one left of it */
            if (i % cols)
                p->side[i - 1]++;
            segments++;
            runs += p->run_v[i];
        }
    }
    for (int i = 0; i < n; i++)
        lasting += p->side[i] >= BLK_LASTING_SIDES;
    s->pshare = (double)lasting / n;
    s->lasting_run = segments ? (double)runs / segments : 0;
}

/* A clean key frame's steps are how this stream codes now (I-frame pulsing, a new bitrate):
 * they join the norm at once. */
static void blk_absorb_key(BlkPriv *p, const VqaFrame *f)
{
    const int b = (int)p->block_size, n = (f->width / b) * (f->height / b);
    if (!p->have_steps)
        return;
    for (int i = 0; i < n; i++) {
        if (p->step_h[i])
            p->usual_h[i] = 1.0f;
        if (p->step_v[i])
            p->usual_v[i] = 1.0f;
    }
}

static void blk_update_base(BlkPriv *p, const BlkScan *s, double rate)
{
    p->base_edge += rate * (s->mean_edge - p->base_edge);
    double dev = s->share > p->base_share ? s->share - p->base_share : p->base_share - s->share;
    p->base_dev += rate * (dev - p->base_dev);
    p->base_share += rate * (s->share - p->base_share);
    if (!p->have_steps)
        return;
    double pdev = s->pshare > p->base_pshare ? s->pshare - p->base_pshare
                                             : p->base_pshare - s->pshare;
    p->base_pdev += rate * (pdev - p->base_pdev); /* from a cautious start, like base_dev */
    /* the share's norm is a running mean while the segments learn, so it is not still
     * climbing from 0 when lasting steps begin to count */
    double share_rate = rate;
    if (p->steps_seen < BLK_WARMUP) {
        p->steps_seen++;
        if (share_rate < 1.0 / p->steps_seen)
            share_rate = 1.0 / p->steps_seen;
    }
    p->base_pshare += share_rate * (s->pshare - p->base_pshare);
    const float r = (float)rate;
    for (int i = 0; i < p->segs_n; i++) {
        p->usual_h[i] += r * ((float)p->step_h[i] - p->usual_h[i]);
        p->usual_v[i] += r * ((float)p->step_v[i] - p->usual_v[i]);
    }
}

/* The run's value: the picture's worst corrupted share; a run the decoder confirmed but the
 * picture does not show at all reports the share threshold. */
static double blk_value(const BlkPriv *p)
{
    return p->max_share > 0 ? p->max_share : p->share_threshold;
}

static int blk_emit_start(VqaDetectorContext *ctx, BlkPriv *p)
{
    char details[96];
    snprintf(details, sizeof(details), "{\"cause\":\"%s\",\"frames\":%lld}",
             p->decoder_cause ? "decoder" : "picture", (long long)p->frames);
    p->active = 1;
    if (!p->decoder_cause && !p->propagating) {
        /* confirmed by the picture alone: held until it recovers, like decoder errors */
        p->propagating = 1;
        p->picture_hold = 1;
    }
    return vqa_detector_emit(ctx, BLK_KIND, VQA_EVENT_START, p->onset_t, blk_value(p),
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
    p->last_end_t = t;
    return vqa_detector_emit(ctx, BLK_KIND, VQA_EVENT_END, t, blk_value(p),
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

/* Picture evidence: either measure stands above its running baseline by the share threshold
 * and by BLK_DEV_K of its mean deviation. Returns the larger excess share (0 if none) in
 * *share and whether it counts. */
static int blk_picture_evidence(BlkPriv *p, const BlkScan *s, double *share)
{
    const double garbage = p->have_base ? s->share - p->base_share : 0.0;
    const double lasting = p->use_lasting && p->have_steps && p->steps_seen >= BLK_WARMUP
                               ? s->pshare - p->base_pshare
                               : 0.0;
    *share = garbage > lasting ? garbage : lasting;
    if (*share < 0)
        *share = 0;
    const int by_garbage = garbage >= p->share_threshold && garbage >= BLK_DEV_K * p->base_dev;
    const int by_lasting = lasting >= BLK_LASTING_SHARE_K * p->share_threshold &&
                           lasting >= BLK_LASTING_DEV_K * p->base_pdev;
    p->lasting_led = by_lasting && lasting >= garbage;
    return by_garbage || by_lasting;
}

/* Decide whether this frame is corrupted (BLK_PICTURE or BLK_DECODER by cause) and how
 * much of it; updates the propagation state and the baselines (from clean frames only, so a
 * corruption never becomes the norm). BLK_RESEED: a clean key frame whose blocks stand out
 * anyway, which is a new coding norm (I-frame pulsing, a bitrate switch): a key frame
 * references nothing, so without decoder errors it is taken as correctly decoded.
 * Corruption confirmed by the decoder, or by the picture alone (a report was made), is held
 * until the picture recovers: a key frame without evidence, or `propagation` (decoder) or
 * `hold` (picture) seconds without any. *share is the picture's evidence, 0 if it shows none. */
static int blk_judge(BlkPriv *p, const VqaFrame *f, const BlkScan *s, double *share)
{
    uint32_t errors = p->use_decoder ? f->decode_errors : 0;
    int flagged = p->use_decoder && (f->flags & VQA_FRAME_CORRUPT);
    int decoder = errors != 0 || flagged;
    int picture = blk_picture_evidence(p, s, share);
    const int key = (f->flags & VQA_FRAME_KEY) != 0;
    int recovered = 0;
    if (picture && !decoder && !p->propagating && key)
        return BLK_RESEED;
    if (decoder || (picture && p->propagating))
        p->evidence_t = f->t;
    if (picture) {
        p->quiet = 0;
    } else if (!p->quiet) {
        p->quiet = 1;
        p->quiet_t = f->t;
    }
    if (decoder) {
        p->propagating = 1;
        p->picture_hold = 0;
    } else if (p->picture_hold && !picture && f->t - p->quiet_t >= p->hold_s) {
        /* The picture has shown no evidence for `hold` s (a key frame alone proves nothing
         * after a transcoder): it recovered when it went quiet. */
        p->propagating = 0;
        p->picture_hold = 0;
        p->end_at_t = p->quiet_t;
        p->end_back = 1;
        recovered = 1;
    } else if (p->propagating && !p->picture_hold && !picture &&
               (key || f->t - p->evidence_t > p->propagation_s)) {
        p->propagating = 0; /* recovered: a clean key frame, or no evidence for long */
        recovered = 1;
    }
    /* The segments' norm stood still while the content moved on: learn it again from the
     * recovered picture. */
    if (recovered && p->have_steps)
        blk_seed_steps(p);
    if (!p->propagating && !picture) {
        blk_update_base(p, s, BLK_BASE_RATE);
        if (key)
            blk_absorb_key(p, f);
        return BLK_CLEAN;
    }
    if (!p->propagating) /* a lasting change of content must end up as the norm */
        blk_update_base(p, s, BLK_BASE_RATE * BLK_SLOW_FACTOR);
    return decoder || (p->propagating && !p->picture_hold) ? BLK_DECODER : BLK_PICTURE;
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
    if (p->use_lasting)
        blk_track(p, f, &scan);
    double share = 0;
    int verdict = blk_judge(p, f, &scan, &share);
    if (verdict == BLK_RESEED) {
        p->have_base = 0;
        if ((ret = blk_scan_seeded(p, f, &scan)) < 0)
            return ret;
        if (p->have_steps) /* the new coding moves the steps too: learn them again */
            blk_seed_steps(p);
        verdict = BLK_CLEAN;
    }
    vqa_detector_log(ctx, VQA_LOG_TRACE,
                     "blockiness: t=%.3f blocks=%.4f base=%.4f dev=%.4f lasting=%.4f base=%.4f "
                     "dev=%.4f edge=%.2f base_edge=%.2f errors=%u flags=%u verdict=%d", f->t,
                     scan.share, p->base_share, p->base_dev, scan.pshare, p->base_pshare,
                     p->base_pdev, scan.mean_edge, p->base_edge, (unsigned)f->decode_errors,
                     (unsigned)f->flags, verdict);
    /* the recent pictures' times, for back-dating lasting steps to when they began */
    memmove(p->recent_t + 1, p->recent_t, sizeof(p->recent_t) - sizeof(p->recent_t[0]));
    p->recent_t[0] = f->t;
    if (p->recent_n < BLK_RECENT)
        p->recent_n++;
    if (verdict == BLK_CLEAN) {
        const double end_t = p->end_back ? p->end_at_t : f->t;
        p->end_back = 0;
        ret = p->active ? blk_emit_end(ctx, p, end_t, 0) : 0;
        p->in_run = 0;
        return ret;
    }
    if (!p->in_run) {
        p->in_run = 1;
        p->onset_t = f->t;
        p->frames = 0;
        /* Steps that have lasted BLK_PERSIST pictures were there on the pictures before:
         * the run began with them (not before the last report ended). */
        if (verdict == BLK_PICTURE && p->lasting_led) {
            int back = (int)(scan.lasting_run + 0.5) - 1;
            if (back > p->recent_n - 1)
                back = p->recent_n - 1;
            for (int k = back; k > 0; k--)
                if (p->recent_t[k] >= p->last_end_t) {
                    p->onset_t = p->recent_t[k];
                    p->frames = k;
                    break;
                }
        }
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
    /* Picture evidence alone must persist longer than the decoder's word: a
     * loss damages every picture up to the next key frame, while an encoder
     * starved by its rate control blocks up a few pictures and recovers. */
    int64_t needed = p->decoder_cause ? p->min_frames
                     : p->min_frames_picture > p->min_frames ? p->min_frames_picture
                                                             : p->min_frames;
    if (p->active || p->frames < needed)
        return 0;
    return blk_emit_start(ctx, p);
}

static int blk_flush(VqaDetectorContext *ctx)
{
    BlkPriv *p = ctx->priv;
    int ret = 0;
    if (p->active && p->picture_hold && p->quiet) /* held, and quiet up to the end: over */
        ret = blk_emit_end(ctx, p, p->quiet_t, 0);
    else if (p->active)
        ret = blk_emit_end(ctx, p, p->end_t, 1);
    p->in_run = 0;
    p->propagating = 0;
    p->picture_hold = 0;
    return ret;
}

static void blk_close(VqaDetectorContext *ctx)
{
    BlkPriv *p = ctx->priv;
    free(p->vsum);
    free(p->usual_h);
    p->step_h = p->step_v = p->run_h = p->run_v = p->side = NULL;
    p->usual_h = p->usual_v = NULL;
    p->segs_alloc = p->segs_n = 0;
    p->vsum = p->hsum = p->hacross = p->vacross = NULL;
    p->across = NULL;
    p->excess = NULL;
    p->steps = NULL;
    p->bottom = p->top = p->vert = NULL;
    p->cols_alloc = 0;
}

static const VqaOption blk_options[] = {
    { "min_frames", "consecutive corrupted frames before a report", "frames", VQA_OPT_INT,
      offsetof(BlkPriv, min_frames), 2, NULL, 1, 100000, 0, { NULL, NULL } },
    { "min_frames_picture", "consecutive frames before a report when only the picture shows "
      "the corruption (no decoder errors); at least min_frames", "frames", VQA_OPT_INT,
      offsetof(BlkPriv, min_frames_picture), 6, NULL, 1, 100000, 0, { NULL, NULL } },
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
    { "hold", "longest a corruption found in the picture alone is held, once reported, while "
      "the picture shows no evidence and no clean key frame comes", "s", VQA_OPT_DOUBLE,
      offsetof(BlkPriv, hold_s), 1.0, NULL, 0, 3600, 0, { NULL, NULL } },
    { "lasting", "also count new block-edge steps that last 3+ pictures (finds faint "
      "concealment re-encoded after a transcoder; experimental: synthetic content whose "
      "sharp edges stand still on the grid raises false alarms)", NULL, VQA_OPT_BOOL, offsetof(BlkPriv, use_lasting), 0, NULL, 0, 1, 0,
      { NULL, NULL } },
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

VQA_PLUGIN_DEFINE_DETECTOR(blk_class, "blockiness", "1.1.0", "BSD-2-Clause",
                           "block corruption detection")
