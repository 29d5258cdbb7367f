/*
 * Format conversion for the bus (see convert.h). Three video paths, cheapest
 * first: share the decoder's planes (same format, no scaling; or GRAY8 taken
 * from the luma plane of an 8-bit YUV picture), a luma box decimation for
 * small GRAY8 proxies (general scaling costs a third of decode time, see
 * shared/research/performance.md), and swscale for everything else. Audio is
 * shared as is when it already matches, resampled with swresample otherwise.
 *
 * The box proxies of one track share a VqaLumaBase: the picture's 2x2 block
 * sums, made once per picture. Every proxy with an even factor k (all three
 * default ones at 1080p: 4, 6, 30) is then the k/2 x k/2 box of that plane,
 * a quarter of the picture's size, so the full-size luma is read once per
 * picture rather than once per proxy; an odd factor reads the picture, unless
 * the detectors asked for it accept the next even factor (black and freeze:
 * 320 px from 854x480 is then 213x120 rather than 284x160).
 *
 * Thread-safety: one VqaConvert is used by one thread at a time (its track's
 * converter). The frames it returns are independent of it and may outlive it.
 */
#include <math.h>
#include <string.h>

#include <libavutil/channel_layout.h>
#include <libavutil/imgutils.h>
#include <libavutil/opt.h>
#include <libavutil/pixdesc.h>
#include <libswresample/swresample.h>
#include <libswscale/swscale.h>

#include "convert.h"
#include "frames.h"
#include "logging.h"
#include "mem.h"

#define BUF_ALIGN 64
/* The box path keeps column sums in 16 bits and divides by a reciprocal that
 * is exact only while 256 * k^4 < 2^40: both hold up to this factor. */
#define BOX_MAX_FACTOR 255
/* From 2x2 sums (up to 1020 each), k/2 of them still fit a 16-bit column sum. */
#define BASE_MAX_FACTOR 128
#define RECIP_SHIFT 40
/* Up to this factor the division also works in 32 bits, which SIMD lanes have: with
 * M = ceil(2^24 / k^2) and e = M k^2 - 2^24 < k^2, floor(s M / 2^24) = floor(s / k^2)
 * for every s < 256 k^2 while 256 k^2 e <= 2^24, i.e. k^4 <= 2^16; and s M stays
 * below 2^32 (255.5 x 2^24 + 255.5 k^2). */
#define RECIP32_MAX_FACTOR 16
#define RECIP32_SHIFT 24

/* GCC 12 at -O2 vectorises only loops without an epilogue; the box loops need
 * its full cost model to become SIMD (clang vectorises them at -O2 anyway).
 * SIMD_INLINE: a helper inlined into its caller, so it is compiled for
 * whatever the caller targets. SIMD_CLONES: the per-picture kernels are
 * compiled twice, baseline x86-64 and AVX2, and the loader picks what the CPU
 * runs (target_clones, an ifunc; meson defines VQA_HAVE_TARGET_CLONES on
 * x86-64 with glibc, and not in sanitizer builds, which therefore test the
 * baseline versions). plugins/common/simd.h is the same for the plugins. */
#if defined(__GNUC__) && !defined(__clang__)
#define VECTORISE __attribute__((optimize("tree-vectorize", "vect-cost-model=dynamic")))
#else
#define VECTORISE
#endif
#if defined(__GNUC__)
#define SIMD_INLINE VECTORISE static inline __attribute__((always_inline))
#else
#define SIMD_INLINE static inline
#endif
#if defined(VQA_HAVE_TARGET_CLONES)
#define SIMD_CLONES __attribute__((target_clones("avx2", "default")))
#else
#define SIMD_CLONES
#endif

typedef struct SwsKey {
    int src_w, src_h, src_fmt, src_full, colorspace;
    int dst_w, dst_h, dst_fmt, dst_full;
} SwsKey;

struct VqaConvert {
    VqaFormatKey key;
    const VqaLogger *log;
    int warned_unsupported;

    /* video */
    struct SwsContext *sws;
    SwsKey sws_key;
    AVBufferPool *pool;
    size_t pool_size;
    uint16_t *colsum;            /* box scratch: column sums of a row of blocks */
    size_t colsum_len;
    uint32_t *rowsum;            /* box scratch: one row of block sums */
    size_t rowsum_len;
    VqaLumaBase *base;           /* the track's, not ours; may be NULL */

    /* audio */
    SwrContext *swr;
    int swr_in_fmt, swr_in_rate;
    AVChannelLayout swr_in_layout;
    enum AVSampleFormat out_fmt;
    int out_rate, out_channels;
    AVBufferPool *apool;
    size_t apool_size;
};

/* ---- format mapping ---------------------------------------------------- */

enum AVPixelFormat vqa_pix_fmt_to_av(VqaPixelFormat f)
{
    switch (f) {
    case VQA_PIX_GRAY8: return AV_PIX_FMT_GRAY8;
    case VQA_PIX_YUV420P: return AV_PIX_FMT_YUV420P;
    case VQA_PIX_YUV422P: return AV_PIX_FMT_YUV422P;
    case VQA_PIX_YUV444P: return AV_PIX_FMT_YUV444P;
    case VQA_PIX_NV12: return AV_PIX_FMT_NV12;
    case VQA_PIX_RGB24: return AV_PIX_FMT_RGB24;
    case VQA_PIX_RGBA: return AV_PIX_FMT_RGBA;
    default: return AV_PIX_FMT_NONE;
    }
}

VqaPixelFormat vqa_pix_fmt_from_av(enum AVPixelFormat f)
{
    switch (f) {
    case AV_PIX_FMT_GRAY8: return VQA_PIX_GRAY8;
    case AV_PIX_FMT_YUV420P: return VQA_PIX_YUV420P;
    case AV_PIX_FMT_YUV422P: return VQA_PIX_YUV422P;
    case AV_PIX_FMT_YUV444P: return VQA_PIX_YUV444P;
    case AV_PIX_FMT_NV12: return VQA_PIX_NV12;
    case AV_PIX_FMT_RGB24: return VQA_PIX_RGB24;
    case AV_PIX_FMT_RGBA: return VQA_PIX_RGBA;
    default: return VQA_PIX_NONE;
    }
}

enum AVSampleFormat vqa_sample_fmt_to_av(VqaSampleFormat f)
{
    switch (f) {
    case VQA_SAMPLE_S16: return AV_SAMPLE_FMT_S16;
    case VQA_SAMPLE_S32: return AV_SAMPLE_FMT_S32;
    case VQA_SAMPLE_FLT: return AV_SAMPLE_FMT_FLT;
    case VQA_SAMPLE_S16P: return AV_SAMPLE_FMT_S16P;
    case VQA_SAMPLE_S32P: return AV_SAMPLE_FMT_S32P;
    case VQA_SAMPLE_FLTP: return AV_SAMPLE_FMT_FLTP;
    default: return AV_SAMPLE_FMT_NONE;
    }
}

VqaSampleFormat vqa_sample_fmt_from_av(enum AVSampleFormat f)
{
    switch (f) {
    case AV_SAMPLE_FMT_S16: return VQA_SAMPLE_S16;
    case AV_SAMPLE_FMT_S32: return VQA_SAMPLE_S32;
    case AV_SAMPLE_FMT_FLT: return VQA_SAMPLE_FLT;
    case AV_SAMPLE_FMT_S16P: return VQA_SAMPLE_S16P;
    case AV_SAMPLE_FMT_S32P: return VQA_SAMPLE_S32P;
    case AV_SAMPLE_FMT_FLTP: return VQA_SAMPLE_FLTP;
    default: return VQA_SAMPLE_NONE;
    }
}

int vqa_format_key_equal(const VqaFormatKey *a, const VqaFormatKey *b)
{
    if (a->type != b->type)
        return 0;
    if (a->type == VQA_MEDIA_VIDEO)
        return a->pix_fmt == b->pix_fmt && a->max_width == b->max_width &&
               a->max_height == b->max_height && !a->even_factor == !b->even_factor;
    if (a->type == VQA_MEDIA_AUDIO)
        return a->sample_fmt == b->sample_fmt && a->sample_rate == b->sample_rate &&
               a->channels == b->channels;
    return 1;
}

/* ---- open / close -------------------------------------------------------- */

int vqa_convert_open(VqaConvert **out, const VqaFormatKey *key, const VqaLogger *log)
{
    if (!out || !key)
        return VQA_ERR(EINVAL);
    *out = NULL;
    if ((key->type != VQA_MEDIA_VIDEO && key->type != VQA_MEDIA_AUDIO) ||
        key->max_width < 0 || key->max_height < 0 || key->sample_rate < 0 ||
        key->channels < 0 || key->pix_fmt < VQA_PIX_NONE || key->pix_fmt > VQA_PIX_RGBA ||
        key->sample_fmt < VQA_SAMPLE_NONE || key->sample_fmt > VQA_SAMPLE_FLTP) {
        vqa_log(log, VQA_LOG_ERROR, "convert: invalid output format");
        return VQA_ERR(EINVAL);
    }
    VqaConvert *c = vqa_calloc(1, sizeof(*c));
    if (!c)
        return VQA_ERR(ENOMEM);
    c->key = *key;
    c->log = log;
    c->swr_in_fmt = AV_SAMPLE_FMT_NONE;
    *out = c;
    return 0;
}

void vqa_convert_close(VqaConvert **pc)
{
    if (!pc || !*pc)
        return;
    VqaConvert *c = *pc;
    sws_freeContext(c->sws);
    /* Pools outlive this call while frames still hold their buffers. */
    av_buffer_pool_uninit(&c->pool);
    av_buffer_pool_uninit(&c->apool);
    vqa_free(c->colsum);
    vqa_free(c->rowsum);
    swr_free(&c->swr);
    av_channel_layout_uninit(&c->swr_in_layout);
    vqa_free(c);
    *pc = NULL;
}

/* ---- pooled buffers -------------------------------------------------------- */

static void block_free(void *opaque, uint8_t *data)
{
    (void)data;
    vqa_free(opaque);
}

/* Pool allocator: memory from lib/mem.h, aligned for SIMD. */
static AVBufferRef *block_alloc(void *opaque, size_t size)
{
    (void)opaque;
    if (size > SIZE_MAX - BUF_ALIGN)
        return NULL;
    void *block = vqa_malloc(size + BUF_ALIGN);
    if (!block)
        return NULL;
    uintptr_t p = ((uintptr_t)block + BUF_ALIGN - 1) & ~(uintptr_t)(BUF_ALIGN - 1);
    AVBufferRef *buf = av_buffer_create((uint8_t *)p, size, block_free, block, 0);
    if (!buf)
        vqa_free(block);
    return buf;
}

/* A buffer of exactly `size` bytes (exact = recreate the pool on any change,
 * as for video sizes) or at least `size` bytes (grow only, for audio). */
static AVBufferRef *pool_get(AVBufferPool **pool, size_t *pool_size, size_t size, int exact)
{
    if (!*pool || (exact ? *pool_size != size : *pool_size < size)) {
        av_buffer_pool_uninit(pool);
        *pool = av_buffer_pool_init2(size, NULL, block_alloc, NULL);
        if (!*pool)
            return NULL;
        *pool_size = size;
    }
    return av_buffer_pool_get(*pool);
}

/* ---- common frame fields --------------------------------------------------- */

static uint32_t corrupt_and_errors(const AVFrame *src, uint32_t *errors)
{
    /* FFmpeg's FF_DECODE_ERROR_* bits are the same as VQA_DECODE_ERR_*. */
    *errors = (uint32_t)src->decode_error_flags & 0xF;
    return (src->flags & AV_FRAME_FLAG_CORRUPT) ? VQA_FRAME_CORRUPT : 0;
}

static int is_key(const AVFrame *src)
{
#ifdef AV_FRAME_FLAG_KEY
    if (src->flags & AV_FRAME_FLAG_KEY)
        return 1;
#else
    if (src->key_frame)
        return 1;
#endif
    return src->pict_type == AV_PICTURE_TYPE_I;
}

static void set_video_common(VqaFrame *f, const AVFrame *src, double t, double duration)
{
    f->type = VQA_MEDIA_VIDEO;
    f->t = t;
    f->duration = duration;
    f->flags = corrupt_and_errors(src, &f->decode_errors);
    if (is_key(src))
        f->flags |= VQA_FRAME_KEY;
    f->source_width = src->width;
    f->source_height = src->height;
}

static void warn_unsupported(VqaConvert *c, const char *what, const char *name)
{
    if (c->warned_unsupported)
        return;
    c->warned_unsupported = 1;
    vqa_log(c->log, VQA_LOG_WARNING, "convert: cannot convert %s %s to the requested format",
            what, name ? name : "(unknown)");
}


/* ---- video: formats and sizes --------------------------------------------- */

static int is_yuvj(enum AVPixelFormat f)
{
    return f == AV_PIX_FMT_YUVJ420P || f == AV_PIX_FMT_YUVJ422P || f == AV_PIX_FMT_YUVJ444P ||
           f == AV_PIX_FMT_YUVJ440P || f == AV_PIX_FMT_YUVJ411P;
}

/* The yuvj* formats are the yuv* layouts with full range. */
static enum AVPixelFormat canonical_fmt(enum AVPixelFormat f)
{
    switch (f) {
    case AV_PIX_FMT_YUVJ420P: return AV_PIX_FMT_YUV420P;
    case AV_PIX_FMT_YUVJ422P: return AV_PIX_FMT_YUV422P;
    case AV_PIX_FMT_YUVJ444P: return AV_PIX_FMT_YUV444P;
    case AV_PIX_FMT_YUVJ440P: return AV_PIX_FMT_YUV440P;
    case AV_PIX_FMT_YUVJ411P: return AV_PIX_FMT_YUV411P;
    default: return f;
    }
}

static VqaColorRange source_range(const AVFrame *src)
{
    if (src->color_range == AVCOL_RANGE_JPEG || is_yuvj(src->format))
        return VQA_RANGE_FULL;
    if (src->color_range == AVCOL_RANGE_MPEG)
        return VQA_RANGE_LIMITED;
    return VQA_RANGE_UNSPECIFIED;
}

static int is_rgb(enum AVPixelFormat f)
{
    const AVPixFmtDescriptor *d = av_pix_fmt_desc_get(f);
    return d && (d->flags & AV_PIX_FMT_FLAG_RGB);
}

/* 8-bit luma alone in plane 0, one byte per pixel: a GRAY8 picture is a view of it. */
static int has_luma8_plane(enum AVPixelFormat f)
{
    const AVPixFmtDescriptor *d = av_pix_fmt_desc_get(f);
    const uint64_t not_yuv = AV_PIX_FMT_FLAG_RGB | AV_PIX_FMT_FLAG_PAL | AV_PIX_FMT_FLAG_HWACCEL |
                             AV_PIX_FMT_FLAG_BITSTREAM | AV_PIX_FMT_FLAG_FLOAT;
    if (!d || (d->flags & not_yuv) || d->nb_components < 1)
        return 0;
    return d->comp[0].plane == 0 && d->comp[0].step == 1 && d->comp[0].offset == 0 &&
           d->comp[0].shift == 0 && d->comp[0].depth == 8;
}

/* What to produce: the requested format, or for "any" (NONE) the decoded one
 * when we have a name for it. */
static enum AVPixelFormat target_fmt(const VqaConvert *c, enum AVPixelFormat src_fmt)
{
    if (c->key.pix_fmt != VQA_PIX_NONE)
        return vqa_pix_fmt_to_av(c->key.pix_fmt);
    enum AVPixelFormat canon = canonical_fmt(src_fmt);
    return vqa_pix_fmt_from_av(canon) != VQA_PIX_NONE ? canon : AV_PIX_FMT_YUV420P;
}

static double sar_of(const AVFrame *src)
{
    AVRational sar = src->sample_aspect_ratio;
    return sar.num > 0 && sar.den > 0 ? av_q2d(sar) : 1.0;
}

static int clamp_dim(long v, int max, int even)
{
    if (max > 0 && v > max)
        v = max;
    if (even)
        v &= ~1L;
    return (int)(v < (even ? 2 : 1) ? (even ? 2 : 1) : v);
}

/*
 * The output size: the source when it fits; otherwise the display size
 * (width times the sample aspect) scaled to fit, never wider or taller than
 * the source, with square pixels. Subsampled outputs get even sizes.
 */
static void fit_size(const AVFrame *src, const VqaFormatKey *key, enum AVPixelFormat dst,
                     int *ow, int *oh)
{
    const int w = src->width, h = src->height;
    *ow = w;
    *oh = h;
    if ((!key->max_width || w <= key->max_width) && (!key->max_height || h <= key->max_height))
        return;
    const double dw = w * sar_of(src), dh = h;
    double s = fmin(1.0, w / dw);
    if (key->max_width)
        s = fmin(s, key->max_width / dw);
    if (key->max_height)
        s = fmin(s, key->max_height / dh);
    const AVPixFmtDescriptor *d = av_pix_fmt_desc_get(dst);
    *ow = clamp_dim(lrint(dw * s), key->max_width, d && d->log2_chroma_w);
    *oh = clamp_dim(lrint(dh * s), key->max_height, d && d->log2_chroma_h);
}

/* ---- video: zero-copy ------------------------------------------------------ */

/* Let f point into src's planes (all of them, or just luma for GRAY8). */
static int share_planes(VqaFrame *f, const AVFrame *src, enum AVPixelFormat dst)
{
    const AVFrame *held = vqa_frame_hold_avframe(f, src);
    if (!held)
        return VQA_ERR(ENOMEM);
    const int nb_planes = dst == AV_PIX_FMT_GRAY8 ? 1 : av_pix_fmt_count_planes(dst);
    for (int i = 0; i < nb_planes && i < 4; i++) {
        f->data[i] = held->data[i];
        f->linesize[i] = held->linesize[i];
    }
    f->pix_fmt = vqa_pix_fmt_from_av(dst);
    f->width = held->width;
    f->height = held->height;
    f->range = is_rgb(dst) ? VQA_RANGE_FULL : source_range(src);
    return 0;
}

/* ---- video: luma box decimation -------------------------------------------- */

/* How one row of outputs is divided: by k*k, rounded (the half is added to each sum). */
typedef struct BoxDiv {
    int k;
    uint32_t half;
    uint32_t recip32;    /* k <= RECIP32_MAX_FACTOR */
    uint64_t recip;      /* any k */
} BoxDiv;

static BoxDiv box_div(const int k)
{
    const uint64_t kk = (uint64_t)k * k;
    BoxDiv d = { k, (uint32_t)(kk / 2), 0, ((UINT64_C(1) << RECIP_SHIFT) + kk - 1) / kk };
    if (k <= RECIP32_MAX_FACTOR)
        d.recip32 = (uint32_t)(((UINT64_C(1) << RECIP32_SHIFT) + kk - 1) / kk);
    return d;
}

/*
 * Each output: n adjacent column sums (k for a picture, k/2 for 2x2 sums),
 * rounded and divided by k*k. For factors up to 16 the sums go to a row
 * first and the division is a 32-bit multiply: two plain loops the compiler
 * turns into SIMD, where one loop with a 64-bit multiply stays scalar.
 * Inlined with a constant n at each call site so the compiler unrolls the
 * inner sum; box_row_const() is faster still where k is a constant too.
 */
SIMD_INLINE void box_row_out(const uint16_t *restrict colsum, const int n, const int ow,
                               const BoxDiv *div, uint32_t *restrict rowsum,
                               uint8_t *restrict dst)
{
    const uint32_t half = div->half;
    if (div->k > RECIP32_MAX_FACTOR) {
        const uint64_t recip = div->recip;
        for (int ox = 0; ox < ow; ox++) {
            uint32_t s = half;
            for (int j = 0; j < n; j++)
                s += colsum[ox * n + j];
            dst[ox] = (uint8_t)(((uint64_t)s * recip) >> RECIP_SHIFT);
        }
        return;
    }
    for (int ox = 0; ox < ow; ox++) {
        uint32_t s = half;
        for (int j = 0; j < n; j++)
            s += colsum[ox * n + j];
        rowsum[ox] = s;
    }
    const uint32_t recip = div->recip32;
    for (int ox = 0; ox < ow; ox++)
        dst[ox] = (uint8_t)((rowsum[ox] * recip) >> RECIP32_SHIFT);
}

/* box_row_out for constant n and k <= 16: a sum below 256 k^2 <= 65536 fits 16 bits, and
 * a 16-bit division by a constant is a SIMD multiply-high (pmulhuw) with shifts. */
SIMD_INLINE void box_row_const(const uint16_t *restrict colsum, const int n, const int k,
                               const int ow, uint8_t *restrict dst)
{
    const uint16_t kk = (uint16_t)(k * k);
    for (int ox = 0; ox < ow; ox++) {
        uint16_t s = kk / 2;
        for (int j = 0; j < n; j++)
            s = (uint16_t)(s + colsum[ox * n + j]);
        dst[ox] = (uint8_t)(s / kk);
    }
}

/* Sum k rows column by column: widening adds the compiler vectorises. */
SIMD_INLINE void box_col_sums(const uint8_t *row, const ptrdiff_t stride, const int k,
                              const int n, uint16_t *restrict colsum)
{
    for (int x = 0; x < n; x++)
        colsum[x] = row[x];
    for (int r = 1; r < k; r++) {
        const uint8_t *restrict p = row + r * stride;
        for (int x = 0; x < n; x++)
            colsum[x] = (uint16_t)(colsum[x] + p[x]);
    }
}

/*
 * Each output pixel is the rounded mean of a k x k block. The division by
 * k*k is a multiply by ceil(2^40 / k^2), exact for every sum that can occur
 * while k <= BOX_MAX_FACTOR.
 */
SIMD_CLONES VECTORISE static void box_decimate(const uint8_t *src, const ptrdiff_t src_stride,
                                               const int k, const int ow, const int oh,
                                               uint8_t *dst, const ptrdiff_t dst_stride,
                                               uint16_t *colsum, uint32_t *rowsum)
{
    const BoxDiv div = box_div(k);
    for (int oy = 0; oy < oh; oy++) {
        box_col_sums(src + (ptrdiff_t)oy * k * src_stride, src_stride, k, ow * k, colsum);
        uint8_t *d = dst + oy * dst_stride;
        switch (k) {
        case 2: box_row_const(colsum, 2, 2, ow, d); break;
        case 3: box_row_const(colsum, 3, 3, ow, d); break;
        case 4: box_row_const(colsum, 4, 4, ow, d); break;
        case 6: box_row_const(colsum, 6, 6, ow, d); break;
        case 8: box_row_const(colsum, 8, 8, ow, d); break;
        default: box_row_out(colsum, k, ow, &div, rowsum, d); break;
        }
    }
}

/* ---- video: the shared 2x2 sums ------------------------------------------------ */

struct VqaLumaBase {
    uint16_t *sum;          /* w x h sums of 2x2 blocks, rows `stride` apart */
    size_t cap;             /* elements allocated */
    int w, h;
    ptrdiff_t stride;
    int valid;              /* made from the current picture */
    const uint8_t *src;     /* which plane (a guard: valid is what vqa_luma_base_next clears) */
    int64_t count;
};

int vqa_luma_base_open(VqaLumaBase **out)
{
    if (!out)
        return VQA_ERR(EINVAL);
    *out = vqa_calloc(1, sizeof(**out));
    return *out ? 0 : VQA_ERR(ENOMEM);
}

void vqa_luma_base_close(VqaLumaBase **pb)
{
    if (!pb || !*pb)
        return;
    vqa_free((*pb)->sum);
    vqa_free(*pb);
    *pb = NULL;
}

void vqa_luma_base_next(VqaLumaBase *b)
{
    if (b)
        b->valid = 0;
}

int64_t vqa_luma_base_count(const VqaLumaBase *b)
{
    return b ? b->count : 0;
}

void vqa_convert_set_luma_base(VqaConvert *c, VqaLumaBase *b)
{
    if (c)
        c->base = b;
}

/* The 2x2 block sums under one pair of rows. */
SIMD_INLINE void sum2_row(const uint8_t *restrict r0, const uint8_t *restrict r1,
                               const int w, uint16_t *restrict out)
{
    for (int x = 0; x < w; x++)
        out[x] = (uint16_t)(r0[2 * x] + r0[2 * x + 1] + r1[2 * x] + r1[2 * x + 1]);
}

#if defined(__GNUC__)
/* The same, reading each pixel pair as one 16-bit word: its two bytes add up to the same
 * whatever the byte order, and the SIMD loop needs no shuffles (a quarter faster). Rows
 * must be 2-byte aligned. */
typedef uint16_t __attribute__((may_alias)) PixelPair;

SIMD_INLINE void sum2_row_pairs(const uint8_t *restrict r0, const uint8_t *restrict r1,
                                     const int w, uint16_t *restrict out)
{
    const PixelPair *p0 = (const PixelPair *)(const void *)r0;
    const PixelPair *p1 = (const PixelPair *)(const void *)r1;
    for (int x = 0; x < w; x++)
        out[x] = (uint16_t)((p0[x] & 0xFF) + (p0[x] >> 8) + (p1[x] & 0xFF) + (p1[x] >> 8));
}
#endif

/* All the 2x2 sums of a w x h plane of sums from a luma plane. */
SIMD_CLONES VECTORISE static void sum2_plane(const uint8_t *luma, const ptrdiff_t ls,
                                             const int w, const int h, uint16_t *sum,
                                             const ptrdiff_t stride)
{
#if defined(__GNUC__)
    if (!(((uintptr_t)luma | (uintptr_t)ls) & 1)) {
        for (int y = 0; y < h; y++)
            sum2_row_pairs(luma + 2 * y * ls, luma + (2 * y + 1) * ls, w, sum + y * stride);
        return;
    }
#endif
    for (int y = 0; y < h; y++)
        sum2_row(luma + 2 * y * ls, luma + (2 * y + 1) * ls, w, sum + y * stride);
}

/* The base for this picture, made now if it is not yet; NULL when out of memory. */
static const VqaLumaBase *luma_base_of(VqaLumaBase *b, const AVFrame *src)
{
    const int w = src->width / 2, h = src->height / 2;
    if (b->valid && b->src == src->data[0] && b->w == w && b->h == h)
        return b;
    const ptrdiff_t stride = FFALIGN(w, BUF_ALIGN / 2);
    const size_t need = (size_t)stride * (size_t)h;
    if (need > b->cap) {
        uint16_t *p = vqa_realloc(b->sum, need * sizeof(*p));
        if (!p)
            return NULL;
        b->sum = p;
        b->cap = need;
    }
    sum2_plane(src->data[0], src->linesize[0], w, h, b->sum, stride);
    b->w = w;
    b->h = h;
    b->stride = stride;
    b->src = src->data[0];
    b->valid = 1;
    b->count++;
    return b;
}

/* Sum m rows of 2x2 sums column by column. */
SIMD_INLINE void base_col_sums(const uint16_t *row, const ptrdiff_t stride, const int m,
                               const int n, uint16_t *restrict colsum)
{
    for (int x = 0; x < n; x++)
        colsum[x] = row[x];
    for (int r = 1; r < m; r++) {
        const uint16_t *restrict p = row + r * stride;
        for (int x = 0; x < n; x++)
            colsum[x] = (uint16_t)(colsum[x] + p[x]);
    }
}

/* box_decimate for an even k from the 2x2 sums: boxes of k/2 x k/2 sums. */
SIMD_CLONES VECTORISE static void box_from_base(const VqaLumaBase *b, const int k,
                                                const int ow, const int oh, uint8_t *dst,
                                                const ptrdiff_t dst_stride, uint16_t *colsum,
                                                uint32_t *rowsum)
{
    const int m = k / 2;
    const BoxDiv div = box_div(k);
    for (int oy = 0; oy < oh; oy++) {
        const uint16_t *row = b->sum + (ptrdiff_t)oy * m * b->stride;
        const uint16_t *sums = row;
        if (m > 1) {
            base_col_sums(row, b->stride, m, ow * m, colsum);
            sums = colsum;
        }
        uint8_t *d = dst + oy * dst_stride;
        switch (m) {
        case 1: box_row_const(sums, 1, 2, ow, d); break;
        case 2: box_row_const(sums, 2, 4, ow, d); break;
        case 3: box_row_const(sums, 3, 6, ow, d); break;
        case 4: box_row_const(sums, 4, 8, ow, d); break;
        case 7: box_row_const(sums, 7, 14, ow, d); break; /* 64 px from 480p */
        default: box_row_out(sums, m, ow, &div, rowsum, d); break;
        }
    }
}

/* The box factor, or 0 when the box path does not apply (non-square pixels,
 * a factor beyond the exact range, or an empty result). An odd factor reads
 * the whole picture once more; a detector that accepts a smaller proxy
 * (even_factor) gets the next even one, made from the shared 2x2 sums. */
static int box_factor(const AVFrame *src, const VqaFormatKey *key, const int have_base)
{
    if (sar_of(src) != 1.0)
        return 0;
    int k = 1;
    if (key->max_width)
        k = FFMAX(k, (src->width + key->max_width - 1) / key->max_width);
    if (key->max_height)
        k = FFMAX(k, (src->height + key->max_height - 1) / key->max_height);
    if (key->even_factor && have_base && k >= 3 && k % 2 && k + 1 <= BASE_MAX_FACTOR &&
        k + 1 <= src->width && k + 1 <= src->height)
        k++;
    if (k > BOX_MAX_FACTOR || k > src->width || k > src->height)
        return 0;
    return k;
}

static int box_proxy(VqaConvert *c, const AVFrame *src, const int k, VqaFrame *f)
{
    const int ow = src->width / k, oh = src->height / k;
    const ptrdiff_t stride = FFALIGN(ow, BUF_ALIGN);
    const size_t cols = (size_t)ow * k;
    if (c->colsum_len < cols) {
        uint16_t *p = vqa_realloc(c->colsum, cols * sizeof(*p));
        if (!p)
            return VQA_ERR(ENOMEM);
        c->colsum = p;
        c->colsum_len = cols;
    }
    if (c->rowsum_len < (size_t)ow) {
        uint32_t *p = vqa_realloc(c->rowsum, (size_t)ow * sizeof(*p));
        if (!p)
            return VQA_ERR(ENOMEM);
        c->rowsum = p;
        c->rowsum_len = (size_t)ow;
    }
    AVBufferRef *buf = pool_get(&c->pool, &c->pool_size, (size_t)stride * oh, 1);
    if (!buf)
        return VQA_ERR(ENOMEM);
    if (c->base && k % 2 == 0 && k <= BASE_MAX_FACTOR) {
        const VqaLumaBase *b = luma_base_of(c->base, src);
        if (!b) {
            av_buffer_unref(&buf);
            return VQA_ERR(ENOMEM);
        }
        box_from_base(b, k, ow, oh, buf->data, stride, c->colsum, c->rowsum);
    } else {
        box_decimate(src->data[0], src->linesize[0], k, ow, oh, buf->data, stride, c->colsum,
                     c->rowsum);
    }
    f->data[0] = buf->data;
    f->linesize[0] = stride;
    f->pix_fmt = VQA_PIX_GRAY8;
    f->width = ow;
    f->height = oh;
    f->range = source_range(src);
    return vqa_frame_hold_buffer(f, buf);
}

/* ---- video: swscale -------------------------------------------------------- */

static struct SwsContext *make_sws(const SwsKey *k)
{
    struct SwsContext *sws = sws_alloc_context();
    if (!sws)
        return NULL;
    const int down = k->dst_w < k->src_w || k->dst_h < k->src_h;
    /* Ranges must be set before init: swscale fixes its tables there. */
    if (av_opt_set_int(sws, "srcw", k->src_w, 0) < 0 ||
        av_opt_set_int(sws, "srch", k->src_h, 0) < 0 ||
        av_opt_set_int(sws, "src_format", canonical_fmt(k->src_fmt), 0) < 0 ||
        av_opt_set_int(sws, "dstw", k->dst_w, 0) < 0 ||
        av_opt_set_int(sws, "dsth", k->dst_h, 0) < 0 ||
        av_opt_set_int(sws, "dst_format", k->dst_fmt, 0) < 0 ||
        av_opt_set_int(sws, "sws_flags", down ? SWS_AREA : SWS_BILINEAR, 0) < 0 ||
        av_opt_set_int(sws, "src_range", k->src_full, 0) < 0 ||
        av_opt_set_int(sws, "dst_range", k->dst_full, 0) < 0 ||
        sws_init_context(sws, NULL, NULL) < 0) {
        sws_freeContext(sws);
        return NULL;
    }
    const int *coefs = sws_getCoefficients(k->colorspace);
    sws_setColorspaceDetails(sws, coefs, k->src_full, coefs, k->dst_full, 0, 1 << 16, 1 << 16);
    return sws;
}

static int ensure_sws(VqaConvert *c, const SwsKey *k)
{
    if (c->sws && !memcmp(&c->sws_key, k, sizeof(*k)))
        return 0;
    sws_freeContext(c->sws);
    c->sws = make_sws(k);
    if (!c->sws) {
        vqa_log(c->log, VQA_LOG_ERROR, "convert: cannot scale %dx%d %s to %dx%d %s", k->src_w,
                k->src_h, av_get_pix_fmt_name(k->src_fmt), k->dst_w, k->dst_h,
                av_get_pix_fmt_name(k->dst_fmt));
        return VQA_ERR(EINVAL);
    }
    c->sws_key = *k;
    return 0;
}

static int sws_convert(VqaConvert *c, const AVFrame *src, const enum AVPixelFormat dst_fmt,
                       const int ow, const int oh, VqaFrame *f)
{
    const enum AVPixelFormat src_fmt = src->format;
    if (!sws_isSupportedInput(canonical_fmt(src_fmt))) {
        warn_unsupported(c, "pixel format", av_get_pix_fmt_name(src_fmt));
        return VQA_ERR(EINVAL);
    }
    const int src_rgb = is_rgb(src_fmt), dst_rgb = is_rgb(dst_fmt);
    SwsKey k;
    memset(&k, 0, sizeof(k));
    k.src_w = src->width;
    k.src_h = src->height;
    k.src_fmt = src_fmt;
    k.colorspace = src->colorspace;
    /* Luma values keep their range: swscale always makes GRAY8 full range,
     * so a YUV source is declared full too and nothing is stretched. A gray
     * picture of RGB spans all of 0-255; YUV made from RGB is limited. */
    const int dst_gray = dst_fmt == AV_PIX_FMT_GRAY8;
    k.src_full = src_rgb || dst_gray || source_range(src) == VQA_RANGE_FULL;
    k.dst_full = dst_rgb || dst_gray || (!src_rgb && k.src_full);
    k.dst_w = ow;
    k.dst_h = oh;
    k.dst_fmt = dst_fmt;
    int err = ensure_sws(c, &k);
    if (err < 0)
        return err;
    const int size = av_image_get_buffer_size(dst_fmt, ow, oh, BUF_ALIGN);
    if (size < 0)
        return VQA_ERR(EINVAL);
    /* Padding: SIMD paths of swscale may touch a few bytes past a row. */
    AVBufferRef *buf = pool_get(&c->pool, &c->pool_size, (size_t)size + BUF_ALIGN, 1);
    if (!buf)
        return VQA_ERR(ENOMEM);
    uint8_t *dst[4] = { NULL };
    int dst_linesize[4] = { 0 };
    av_image_fill_arrays(dst, dst_linesize, buf->data, dst_fmt, ow, oh, BUF_ALIGN);
    if (sws_scale(c->sws, (const uint8_t *const *)src->data, src->linesize, 0, src->height, dst,
                  dst_linesize) <= 0) {
        av_buffer_unref(&buf);
        return VQA_ERR(EINVAL);
    }
    for (int i = 0; i < 4; i++) {
        f->data[i] = dst[i];
        f->linesize[i] = dst_linesize[i];
    }
    f->pix_fmt = vqa_pix_fmt_from_av(dst_fmt);
    f->width = ow;
    f->height = oh;
    if (dst_rgb || src_rgb)
        f->range = dst_rgb || dst_gray ? VQA_RANGE_FULL : VQA_RANGE_LIMITED;
    else
        f->range = source_range(src);
    return vqa_frame_hold_buffer(f, buf);
}

/* ---- video: entry ---------------------------------------------------------- */

static int convert_picture(VqaConvert *c, const AVFrame *src, VqaFrame *f)
{
    const enum AVPixelFormat src_fmt = src->format;
    const enum AVPixelFormat dst_fmt = target_fmt(c, src_fmt);
    const AVPixFmtDescriptor *d = av_pix_fmt_desc_get(src_fmt);
    if (!d || (d->flags & AV_PIX_FMT_FLAG_HWACCEL) || dst_fmt == AV_PIX_FMT_NONE) {
        warn_unsupported(c, "pixel format", d ? d->name : NULL);
        return VQA_ERR(EINVAL);
    }
    int ow, oh;
    fit_size(src, &c->key, dst_fmt, &ow, &oh);
    const int scaled = ow != src->width || oh != src->height;
    if (dst_fmt == AV_PIX_FMT_GRAY8 && has_luma8_plane(src_fmt)) {
        if (!scaled)
            return share_planes(f, src, dst_fmt);
        const int k = box_factor(src, &c->key, c->base != NULL);
        if (k > 1)
            return box_proxy(c, src, k, f);
    }
    if (!scaled && canonical_fmt(src_fmt) == dst_fmt)
        return share_planes(f, src, dst_fmt);
    return sws_convert(c, src, dst_fmt, ow, oh, f);
}

int vqa_convert_video(VqaConvert *c, const AVFrame *src, double t, double duration,
                      VqaFrame **out)
{
    if (!out)
        return VQA_ERR(EINVAL);
    *out = NULL;
    if (!c || !src || c->key.type != VQA_MEDIA_VIDEO || src->width <= 0 || src->height <= 0 ||
        !src->data[0])
        return VQA_ERR(EINVAL);
    VqaFrame *f = vqa_frame_alloc(0);
    if (!f)
        return VQA_ERR(ENOMEM);
    set_video_common(f, src, t, duration);
    int err = convert_picture(c, src, f);
    if (err < 0) {
        const VqaFrame *cf = f;
        vqa_frame_unref(&cf);
        return err;
    }
    *out = f;
    return 0;
}

/* ---- audio ------------------------------------------------------------------ */

typedef struct AudioTarget {
    enum AVSampleFormat fmt;
    int rate, channels;
} AudioTarget;

static AudioTarget audio_target(const VqaConvert *c, const AVFrame *src)
{
    AudioTarget tg;
    if (c->key.sample_fmt != VQA_SAMPLE_NONE)
        tg.fmt = vqa_sample_fmt_to_av(c->key.sample_fmt);
    else if (vqa_sample_fmt_from_av(src->format) != VQA_SAMPLE_NONE)
        tg.fmt = src->format;
    else
        tg.fmt = AV_SAMPLE_FMT_FLTP;
    tg.rate = c->key.sample_rate ? c->key.sample_rate : src->sample_rate;
    tg.channels = c->key.channels ? c->key.channels : src->ch_layout.nb_channels;
    return tg;
}

static void set_audio_fields(VqaFrame *f, const AudioTarget *tg, int nb_samples)
{
    f->type = VQA_MEDIA_AUDIO;
    f->sample_fmt = vqa_sample_fmt_from_av(tg->fmt);
    f->sample_rate = tg->rate;
    f->channels = tg->channels;
    f->nb_samples = nb_samples;
    f->duration = tg->rate > 0 ? (double)nb_samples / tg->rate : 0;
}

static int audio_share(const AVFrame *src, const AudioTarget *tg, double t, VqaFrame **out)
{
    const int nb_planes = av_sample_fmt_is_planar(tg->fmt) ? tg->channels : 1;
    VqaFrame *f = vqa_frame_alloc(nb_planes);
    if (!f)
        return VQA_ERR(ENOMEM);
    const AVFrame *held = vqa_frame_hold_avframe(f, src);
    if (!held) {
        const VqaFrame *cf = f;
        vqa_frame_unref(&cf);
        return VQA_ERR(ENOMEM);
    }
    const uint8_t **planes = vqa_frame_audio_planes(f, NULL);
    for (int i = 0; i < nb_planes; i++)
        planes[i] = held->extended_data[i];
    set_audio_fields(f, tg, held->nb_samples);
    f->flags = corrupt_and_errors(src, &f->decode_errors);
    f->t = t;
    *out = f;
    return 0;
}

/* The layout a source is mixed from: its own, or the default for its count. */
static int source_layout(const AVFrame *src, AVChannelLayout *layout)
{
    if (src->ch_layout.order == AV_CHANNEL_ORDER_UNSPEC) {
        av_channel_layout_default(layout, src->ch_layout.nb_channels);
        return 0;
    }
    return av_channel_layout_copy(layout, &src->ch_layout);
}

static int swr_matches(const VqaConvert *c, const AVFrame *src, const AudioTarget *tg,
                       const AVChannelLayout *in_layout)
{
    return c->swr && c->swr_in_fmt == src->format && c->swr_in_rate == src->sample_rate &&
           !av_channel_layout_compare(&c->swr_in_layout, in_layout) && c->out_fmt == tg->fmt &&
           c->out_rate == tg->rate && c->out_channels == tg->channels;
}

static int make_swr(VqaConvert *c, const AVFrame *src, const AudioTarget *tg,
                    AVChannelLayout *in_layout)
{
    AVChannelLayout out_layout = { 0 };
    int err = tg->channels == in_layout->nb_channels
                  ? av_channel_layout_copy(&out_layout, in_layout)
                  : (av_channel_layout_default(&out_layout, tg->channels), 0);
    swr_free(&c->swr);
    if (err >= 0)
        err = swr_alloc_set_opts2(&c->swr, &out_layout, tg->fmt, tg->rate, in_layout, src->format,
                                  src->sample_rate, 0, NULL);
    /* Normalise the mix so that a downmix never clips: stereo to mono is (L+R)/2. */
    if (err >= 0)
        err = av_opt_set_double(c->swr, "rematrix_maxval", 1.0, 0);
    if (err >= 0)
        err = swr_init(c->swr);
    av_channel_layout_uninit(&out_layout);
    if (err < 0) {
        swr_free(&c->swr);
        warn_unsupported(c, "sample format", av_get_sample_fmt_name(src->format));
        return err == AVERROR(ENOMEM) ? VQA_ERR(ENOMEM) : VQA_ERR(EINVAL);
    }
    av_channel_layout_uninit(&c->swr_in_layout);
    c->swr_in_layout = *in_layout; /* takes over the copy */
    memset(in_layout, 0, sizeof(*in_layout));
    c->swr_in_fmt = src->format;
    c->swr_in_rate = src->sample_rate;
    c->out_fmt = tg->fmt;
    c->out_rate = tg->rate;
    c->out_channels = tg->channels;
    return 0;
}

static int ensure_swr(VqaConvert *c, const AVFrame *src, const AudioTarget *tg)
{
    AVChannelLayout in_layout = { 0 };
    if (source_layout(src, &in_layout) < 0)
        return VQA_ERR(ENOMEM);
    int err = 0;
    if (!swr_matches(c, src, tg, &in_layout)) {
        if (c->swr)
            vqa_log(c->log, VQA_LOG_DEBUG, "convert: audio input changed, new resampler");
        err = make_swr(c, src, tg, &in_layout);
    }
    av_channel_layout_uninit(&in_layout);
    return err;
}

/* Run the resampler (src == NULL: flush) into a frame from the pool. */
static int audio_resample(VqaConvert *c, const AVFrame *src, double t, VqaFrame **out)
{
    const AudioTarget tg = { c->out_fmt, c->out_rate, c->out_channels };
    const int in_samples = src ? src->nb_samples : 0;
    const int cap = swr_get_out_samples(c->swr, in_samples);
    if (cap <= 0)
        return cap < 0 ? VQA_ERR(EINVAL) : 0;
    /* Samples still inside the resampler come out first. */
    const double delay_s = swr_get_delay(c->swr, 1000000) / 1e6;
    const int nb_planes = av_sample_fmt_is_planar(tg.fmt) ? tg.channels : 1;
    const int size = av_samples_get_buffer_size(NULL, tg.channels, cap, tg.fmt, 0);
    if (size < 0)
        return VQA_ERR(EINVAL);
    VqaFrame *f = vqa_frame_alloc(nb_planes);
    AVBufferRef *buf = f ? pool_get(&c->apool, &c->apool_size, (size_t)size, 0) : NULL;
    const VqaFrame *cf = f;
    if (!buf) {
        vqa_frame_unref(&cf);
        return VQA_ERR(ENOMEM);
    }
    uint8_t **planes = (uint8_t **)vqa_frame_audio_planes(f, NULL);
    av_samples_fill_arrays(planes, NULL, buf->data, tg.channels, cap, tg.fmt, 0);
    int err = vqa_frame_hold_buffer(f, buf);
    const int n = err < 0 ? err
                          : swr_convert(c->swr, planes, cap,
                                        src ? (const uint8_t **)src->extended_data : NULL,
                                        in_samples);
    if (n <= 0) {
        vqa_frame_unref(&cf);
        return n < 0 ? VQA_ERR(EINVAL) : 0;
    }
    set_audio_fields(f, &tg, n);
    if (src)
        f->flags = corrupt_and_errors(src, &f->decode_errors);
    f->t = t - delay_s;
    *out = f;
    return 0;
}

int vqa_convert_audio(VqaConvert *c, const AVFrame *src, double t, VqaFrame **out)
{
    if (!out)
        return VQA_ERR(EINVAL);
    *out = NULL;
    if (!c || c->key.type != VQA_MEDIA_AUDIO)
        return VQA_ERR(EINVAL);
    if (!src)
        return c->swr ? audio_resample(c, NULL, t, out) : 0;
    if (src->nb_samples <= 0 || src->sample_rate <= 0 || src->ch_layout.nb_channels <= 0 ||
        !src->extended_data) {
        warn_unsupported(c, "audio frame", av_get_sample_fmt_name(src->format));
        return VQA_ERR(EINVAL);
    }
    const AudioTarget tg = audio_target(c, src);
    if (tg.fmt == src->format && tg.rate == src->sample_rate &&
        tg.channels == src->ch_layout.nb_channels && !c->swr)
        return audio_share(src, &tg, t, out);
    int err = ensure_swr(c, src, &tg);
    if (err < 0)
        return err;
    return audio_resample(c, src, t, out);
}
