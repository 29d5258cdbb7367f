/*
 * The format converter: zero-copy paths really share memory, the GRAY8 box
 * proxy matches a plain reference computation, swscale/swresample paths give
 * plausible pixels and samples, pooled buffers are recycled, flags map.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <libavutil/channel_layout.h>
#include <libavutil/pixdesc.h>

#include "convert.h"
#include "frames.h"
#include "mem.h"

/* ---- helpers ----------------------------------------------------------- */

static AVFrame *make_video(enum AVPixelFormat fmt, int w, int h)
{
    AVFrame *f = av_frame_alloc();
    assert_non_null(f);
    f->format = fmt;
    f->width = w;
    f->height = h;
    assert_int_equal(av_frame_get_buffer(f, 0), 0);
    return f;
}

/* Fill every plane with a constant (per plane). */
static void fill_planes(AVFrame *f, int y, int u, int v)
{
    const int vals[3] = { y, u, v };
    const AVPixFmtDescriptor *d = av_pix_fmt_desc_get(f->format);
    for (int p = 0; p < 3 && f->data[p]; p++) {
        const int rows = p ? AV_CEIL_RSHIFT(f->height, d->log2_chroma_h) : f->height;
        memset(f->data[p], vals[p], (size_t)f->linesize[p] * rows);
    }
}

/* Deterministic noise in the luma plane. */
static void fill_luma_noise(AVFrame *f, uint32_t seed)
{
    for (int y = 0; y < f->height; y++)
        for (int x = 0; x < f->width; x++) {
            seed = seed * 1664525u + 1013904223u;
            f->data[0][y * f->linesize[0] + x] = (uint8_t)(seed >> 24);
        }
}

static VqaConvert *open_video(VqaPixelFormat fmt, int max_w, int max_h)
{
    VqaFormatKey key = { .type = VQA_MEDIA_VIDEO, .pix_fmt = fmt, .max_width = max_w,
                         .max_height = max_h };
    VqaConvert *c = NULL;
    assert_int_equal(vqa_convert_open(&c, &key, NULL), 0);
    assert_non_null(c);
    return c;
}

static VqaConvert *open_audio(VqaSampleFormat fmt, int rate, int channels)
{
    VqaFormatKey key = { .type = VQA_MEDIA_AUDIO, .sample_fmt = fmt, .sample_rate = rate,
                         .channels = channels };
    VqaConvert *c = NULL;
    assert_int_equal(vqa_convert_open(&c, &key, NULL), 0);
    return c;
}

static void drop(VqaFrame **f)
{
    const VqaFrame *cf = *f;
    vqa_frame_unref(&cf);
    *f = NULL;
}

/* ---- GRAY8 box proxy ----------------------------------------------------- */

/* out must be src's luma reduced by k: each pixel the rounded mean of its k x k block. */
static void assert_box_of(const AVFrame *src, const VqaFrame *out, int k)
{
    const int w = src->width, h = src->height;
    assert_int_equal(out->pix_fmt, VQA_PIX_GRAY8);
    assert_int_equal(out->width, w / k);
    assert_int_equal(out->height, h / k);
    for (int oy = 0; oy < out->height; oy++)
        for (int ox = 0; ox < out->width; ox++) {
            unsigned sum = 0;
            for (int y = 0; y < k; y++)
                for (int x = 0; x < k; x++)
                    sum += src->data[0][(oy * k + y) * src->linesize[0] + ox * k + x];
            const unsigned expect = (sum + (unsigned)(k * k) / 2) / (unsigned)(k * k);
            const unsigned got = out->data[0][oy * out->linesize[0] + ox];
            if (got != expect)
                fail_msg("%dx%d k=%d at (%d,%d): got %u want %u", w, h, k, ox, oy, got, expect);
        }
}

/* base: a shared VqaLumaBase, or NULL to reduce the picture itself. */
static void check_box_with(enum AVPixelFormat src_fmt, int w, int h, int max_w, int max_h,
                           int k, VqaLumaBase *base)
{
    AVFrame *src = make_video(src_fmt, w, h);
    fill_planes(src, 0, 128, 128);
    fill_luma_noise(src, (uint32_t)(w * 31 + h));
    VqaConvert *c = open_video(VQA_PIX_GRAY8, max_w, max_h);
    vqa_convert_set_luma_base(c, base);
    vqa_luma_base_next(base);
    VqaFrame *out = NULL;
    assert_int_equal(vqa_convert_video(c, src, 1.5, 0.04, &out), 0);
    assert_box_of(src, out, k);
    assert_int_equal(out->source_width, w);
    assert_int_equal(out->source_height, h);
    assert_null(out->data[1]);
    assert_true(out->t == 1.5);
    drop(&out);
    vqa_convert_close(&c);
    assert_null(c);
    av_frame_free(&src);
}

static void check_box(enum AVPixelFormat src_fmt, int w, int h, int max_w, int max_h, int k)
{
    check_box_with(src_fmt, w, h, max_w, max_h, k, NULL);
    /* From the 2x2 sums (even k up to 128), or the picture again (odd k). */
    VqaLumaBase *base = NULL;
    assert_int_equal(vqa_luma_base_open(&base), 0);
    check_box_with(src_fmt, w, h, max_w, max_h, k, base);
    assert_int_equal(vqa_luma_base_count(base), k % 2 == 0 && k <= 128 ? 1 : 0);
    vqa_luma_base_close(&base);
    assert_null(base);
}

static void test_box_proxy_matches_reference(void **state)
{
    (void)state;
    check_box(AV_PIX_FMT_YUV420P, 1920, 1080, 320, 0, 6);  /* 1080p -> 320x180 */
    check_box(AV_PIX_FMT_YUV420P, 1920, 1080, 320, 320, 6);
    check_box(AV_PIX_FMT_NV12, 1280, 720, 0, 240, 3);
    check_box(AV_PIX_FMT_GRAY8, 64, 48, 32, 24, 2);
    check_box(AV_PIX_FMT_YUV444P, 1000, 1000, 125, 125, 8);
    check_box(AV_PIX_FMT_YUVJ422P, 641, 479, 100, 100, 7); /* odd sizes, odd factor */
    check_box(AV_PIX_FMT_YUV420P, 17, 9, 4, 4, 5);
    check_box(AV_PIX_FMT_YUV420P, 853, 480, 320, 0, 3);
    check_box(AV_PIX_FMT_GRAY8, 1000, 600, 4, 0, 250); /* near the largest exact factor */
    check_box(AV_PIX_FMT_GRAY8, 1280, 640, 10, 0, 128); /* largest factor from 2x2 sums */
    check_box(AV_PIX_FMT_GRAY8, 1300, 650, 10, 0, 130); /* just beyond: the picture again */
}

/* Every factor through the three ways of dividing (a constant, a 32-bit and a 64-bit
 * reciprocal), on noise and on all-white blocks (the largest sums), with and without
 * the shared 2x2 sums. */
static void test_box_every_factor(void **state)
{
    (void)state;
    VqaLumaBase *base = NULL;
    assert_int_equal(vqa_luma_base_open(&base), 0);
    for (int k = 2; k <= 34; k++) {
        const int w = 7 * k - 1, h = 5 * k + 1; /* odd sizes: 6 x 5 out of max 7 wide */
        AVFrame *src = make_video(AV_PIX_FMT_YUV420P, w, h);
        for (int white = 0; white <= 1; white++) {
            fill_planes(src, 255, 128, 128);
            if (!white)
                fill_luma_noise(src, (uint32_t)k);
            for (int shared = 0; shared <= 1; shared++) {
                VqaConvert *c = open_video(VQA_PIX_GRAY8, 7, 0);
                vqa_convert_set_luma_base(c, shared ? base : NULL);
                vqa_luma_base_next(base);
                VqaFrame *out = NULL;
                assert_int_equal(vqa_convert_video(c, src, 0, 0, &out), 0);
                assert_box_of(src, out, k);
                drop(&out);
                vqa_convert_close(&c);
            }
        }
        av_frame_free(&src);
    }
    vqa_luma_base_close(&base);
}

/* The proxies of one track share one reduction per picture, and a new picture (after
 * vqa_luma_base_next) is reduced again: the sums are never stale. */
static void test_box_shared_base(void **state)
{
    (void)state;
    static const int maxes[] = { 480, 320, 64, 160 }; /* 1080p: k = 4, 6, 30, 12 */
    static const int factors[] = { 4, 6, 30, 12 };
    VqaLumaBase *base = NULL;
    assert_int_equal(vqa_luma_base_open(&base), 0);
    VqaConvert *c[4];
    for (int i = 0; i < 4; i++) {
        c[i] = open_video(VQA_PIX_GRAY8, maxes[i], maxes[i]);
        vqa_convert_set_luma_base(c[i], base);
    }
    AVFrame *src = make_video(AV_PIX_FMT_YUV420P, 1920, 1080);
    fill_planes(src, 0, 128, 128);
    for (int pic = 0; pic < 3; pic++) {
        fill_luma_noise(src, (uint32_t)(pic + 1)); /* same buffer, new content */
        vqa_luma_base_next(base);
        for (int i = 0; i < 4; i++) {
            VqaFrame *out = NULL;
            assert_int_equal(vqa_convert_video(c[i], src, 0, 0, &out), 0);
            assert_box_of(src, out, factors[i]);
            drop(&out);
        }
        assert_int_equal(vqa_luma_base_count(base), pic + 1);
    }
    /* A smaller picture of another track size: the sums follow it. */
    AVFrame *small = make_video(AV_PIX_FMT_YUV420P, 854, 480);
    fill_planes(small, 0, 128, 128);
    fill_luma_noise(small, 99);
    vqa_luma_base_next(base);
    VqaFrame *out = NULL;
    assert_int_equal(vqa_convert_video(c[1], small, 0, 0, &out), 0);
    assert_box_of(small, out, 3); /* odd: from the picture */
    drop(&out);
    assert_int_equal(vqa_convert_video(c[2], small, 0, 0, &out), 0);
    assert_box_of(small, out, 14);
    drop(&out);
    assert_int_equal(vqa_luma_base_count(base), 4);
    for (int i = 0; i < 4; i++)
        vqa_convert_close(&c[i]);
    vqa_luma_base_close(&base);
    vqa_luma_base_close(&base); /* NULL is accepted */
    vqa_luma_base_next(NULL);
    assert_int_equal(vqa_luma_base_count(NULL), 0);
    av_frame_free(&src);
    av_frame_free(&small);
}

/* One proxy of src with an even_factor key (VQA_DETECTOR_EVEN_PROXY) and max_w x max_w. */
static void check_even_proxy(const AVFrame *src, int max_w, VqaLumaBase *base, int k)
{
    VqaFormatKey key = { .type = VQA_MEDIA_VIDEO, .pix_fmt = VQA_PIX_GRAY8, .max_width = max_w,
                         .max_height = max_w, .even_factor = 1 };
    VqaConvert *c = NULL;
    assert_int_equal(vqa_convert_open(&c, &key, NULL), 0);
    vqa_convert_set_luma_base(c, base);
    vqa_luma_base_next(base);
    VqaFrame *out = NULL;
    assert_int_equal(vqa_convert_video(c, src, 0, 0, &out), 0);
    assert_box_of(src, out, k);
    drop(&out);
    vqa_convert_close(&c);
}

/* A detector that accepts a smaller proxy gets the next even factor where the one that
 * fits is odd, from the shared sums: the same pixels as a reference 4x4 box. Even
 * factors, and odd ones without shared sums, are left alone. */
static void test_box_even_factor(void **state)
{
    (void)state;
    VqaLumaBase *base = NULL;
    assert_int_equal(vqa_luma_base_open(&base), 0);
    AVFrame *src = make_video(AV_PIX_FMT_YUV420P, 854, 480);
    fill_planes(src, 0, 128, 128);
    fill_luma_noise(src, 480);
    check_even_proxy(src, 320, base, 4);                /* 3 -> 4: 213x120 */
    assert_int_equal(vqa_luma_base_count(base), 1);     /* made from the 2x2 sums */
    check_even_proxy(src, 320, NULL, 3);                /* no shared sums: the picture */
    check_even_proxy(src, 480, base, 2);                /* already even */
    check_even_proxy(src, 854, base, 1);                /* no reduction at all: shared */
    check_even_proxy(src, 90, base, 10);                /* 9 -> 10 */
    av_frame_free(&src);
    src = make_video(AV_PIX_FMT_YUV420P, 1920, 1080);
    fill_planes(src, 0, 128, 128);
    fill_luma_noise(src, 1080);
    check_even_proxy(src, 320, base, 6);                /* 1080p: 6 as before */
    av_frame_free(&src);
    vqa_luma_base_close(&base);

    VqaFormatKey a = { .type = VQA_MEDIA_VIDEO, .pix_fmt = VQA_PIX_GRAY8, .max_width = 320 };
    VqaFormatKey b = a;
    b.even_factor = 1; /* a different proxy: not one group */
    assert_false(vqa_format_key_equal(&a, &b));
}

/* A luma plane at an odd address or with an odd stride (a host's own buffer) is read
 * byte by byte and gives the same proxy. */
static void test_box_unaligned_plane(void **state)
{
    (void)state;
    const int w = 64, h = 32, stride = 67;
    uint8_t *mem = malloc((size_t)stride * h + 1);
    assert_non_null(mem);
    AVFrame *src = av_frame_alloc();
    assert_non_null(src);
    src->format = AV_PIX_FMT_GRAY8;
    src->width = w;
    src->height = h;
    src->data[0] = mem + 1;
    src->linesize[0] = stride;
    for (int i = 0; i < stride * h; i++)
        src->data[0][i] = (uint8_t)(i * 37 + (i >> 5));
    VqaLumaBase *base = NULL;
    assert_int_equal(vqa_luma_base_open(&base), 0);
    VqaConvert *c = open_video(VQA_PIX_GRAY8, 16, 0);
    vqa_convert_set_luma_base(c, base);
    vqa_luma_base_next(base);
    VqaFrame *out = NULL;
    assert_int_equal(vqa_convert_video(c, src, 0, 0, &out), 0);
    assert_box_of(src, out, 4);
    drop(&out);
    vqa_convert_close(&c);
    vqa_luma_base_close(&base);
    av_frame_free(&src);
    free(mem);
}

static void test_box_extremes(void **state)
{
    (void)state;
    /* All white and all black blocks must stay exactly white and black. */
    AVFrame *src = make_video(AV_PIX_FMT_YUV420P, 640, 360);
    VqaConvert *c = open_video(VQA_PIX_GRAY8, 64, 64);
    for (int v = 0; v <= 255; v += 255) {
        fill_planes(src, v, 128, 128);
        VqaFrame *out = NULL;
        assert_int_equal(vqa_convert_video(c, src, 0, 0, &out), 0);
        assert_int_equal(out->width, 64);
        assert_int_equal(out->height, 36);
        for (int y = 0; y < out->height; y++)
            for (int x = 0; x < out->width; x++)
                assert_int_equal(out->data[0][y * out->linesize[0] + x], v);
        drop(&out);
    }
    vqa_convert_close(&c);
    av_frame_free(&src);
}

/* ---- sizes and aspect ------------------------------------------------------- */

static void convert_size(VqaPixelFormat fmt, int w, int h, AVRational sar, int max_w, int max_h,
                         int *ow, int *oh)
{
    AVFrame *src = make_video(AV_PIX_FMT_YUV420P, w, h);
    fill_planes(src, 100, 128, 128);
    src->sample_aspect_ratio = sar;
    VqaConvert *c = open_video(fmt, max_w, max_h);
    VqaFrame *out = NULL;
    assert_int_equal(vqa_convert_video(c, src, 0, 0, &out), 0);
    *ow = out->width;
    *oh = out->height;
    if (fmt != VQA_PIX_RGB24)
        assert_int_equal(out->data[0][(out->height / 2) * out->linesize[0] + out->width / 2], 100);
    drop(&out);
    vqa_convert_close(&c);
    av_frame_free(&src);
}

static void test_aspect_kept(void **state)
{
    (void)state;
    int w, h;
    convert_size(VQA_PIX_YUV420P, 1920, 1080, (AVRational){ 0, 1 }, 640, 640, &w, &h);
    assert_int_equal(w, 640);
    assert_int_equal(h, 360);
    convert_size(VQA_PIX_YUV420P, 1280, 720, (AVRational){ 1, 1 }, 0, 100, &w, &h);
    assert_int_equal(h, 100);
    assert_true(w == 178 || w == 176); /* even, aspect within a pixel */
    /* Never up: a small source stays as it is. */
    convert_size(VQA_PIX_RGB24, 320, 240, (AVRational){ 0, 1 }, 1920, 1080, &w, &h);
    assert_int_equal(w, 320);
    assert_int_equal(h, 240);
    /* Anamorphic PAL 16:9 keeps its display aspect (1047.3 : 576), square pixels out. */
    convert_size(VQA_PIX_YUV420P, 720, 576, (AVRational){ 16, 11 }, 0, 288, &w, &h);
    assert_int_equal(h, 288);
    assert_true(fabs((double)w / h - 720.0 * 16 / 11 / 576) < 0.01);
    assert_int_equal(w % 2, 0);
    convert_size(VQA_PIX_GRAY8, 720, 576, (AVRational){ 16, 11 }, 0, 288, &w, &h);
    assert_int_equal(h, 288);
    assert_true(fabs((double)w / h - 720.0 * 16 / 11 / 576) < 0.01);
}

/* ---- zero-copy ----------------------------------------------------------------- */

static void test_zero_copy_same_format(void **state)
{
    (void)state;
    AVFrame *src = make_video(AV_PIX_FMT_YUV420P, 320, 240);
    fill_planes(src, 50, 60, 70);
    uint8_t *planes[3] = { src->data[0], src->data[1], src->data[2] };
    VqaConvert *c = open_video(VQA_PIX_YUV420P, 640, 480); /* limit above the source */
    VqaFrame *out = NULL;
    assert_int_equal(vqa_convert_video(c, src, 0, 0, &out), 0);
    for (int i = 0; i < 3; i++) {
        assert_ptr_equal(out->data[i], planes[i]);
        assert_int_equal(out->linesize[i], src->linesize[i]);
    }
    assert_null(out->data[3]);
    av_frame_free(&src); /* the frame keeps the buffers alive */
    assert_int_equal(out->data[0][239 * out->linesize[0] + 319], 50);
    assert_int_equal(out->data[2][119 * out->linesize[2] + 159], 70);
    vqa_convert_close(&c); /* and outlives the converter */
    assert_int_equal(out->data[1][0], 60);
    drop(&out);
}

static void test_zero_copy_luma(void **state)
{
    (void)state;
    const enum AVPixelFormat fmts[] = { AV_PIX_FMT_NV12, AV_PIX_FMT_YUV422P, AV_PIX_FMT_YUVJ420P,
                                        AV_PIX_FMT_GRAY8 };
    VqaConvert *c = open_video(VQA_PIX_GRAY8, 0, 0);
    for (size_t i = 0; i < sizeof(fmts) / sizeof(fmts[0]); i++) {
        AVFrame *src = make_video(fmts[i], 99, 77);
        fill_luma_noise(src, 7);
        const uint8_t *luma = src->data[0];
        const uint8_t corner = luma[76 * src->linesize[0] + 98];
        VqaFrame *out = NULL;
        assert_int_equal(vqa_convert_video(c, src, 0, 0, &out), 0);
        assert_ptr_equal(out->data[0], luma);
        assert_null(out->data[1]);
        assert_int_equal(out->width, 99);
        assert_int_equal(out->height, 77);
        av_frame_free(&src);
        assert_int_equal(out->data[0][76 * out->linesize[0] + 98], corner);
        drop(&out);
    }
    vqa_convert_close(&c);
}

/* ---- range ------------------------------------------------------------------ */

static VqaColorRange range_after(enum AVPixelFormat fmt, enum AVColorRange range, int max_w)
{
    AVFrame *src = make_video(fmt, 64, 64);
    fill_planes(src, 16, 128, 128);
    src->color_range = range;
    VqaConvert *c = open_video(VQA_PIX_GRAY8, max_w, 0);
    VqaFrame *out = NULL;
    assert_int_equal(vqa_convert_video(c, src, 0, 0, &out), 0);
    /* Luma values are never expanded or compressed. */
    assert_int_equal(out->data[0][0], 16);
    VqaColorRange r = out->range;
    drop(&out);
    vqa_convert_close(&c);
    av_frame_free(&src);
    return r;
}

static void test_range_preserved(void **state)
{
    (void)state;
    for (int max_w = 0; max_w <= 16; max_w += 16) { /* zero-copy and box */
        assert_int_equal(range_after(AV_PIX_FMT_YUV420P, AVCOL_RANGE_JPEG, max_w),
                         VQA_RANGE_FULL);
        assert_int_equal(range_after(AV_PIX_FMT_YUV420P, AVCOL_RANGE_MPEG, max_w),
                         VQA_RANGE_LIMITED);
        assert_int_equal(range_after(AV_PIX_FMT_YUV420P, AVCOL_RANGE_UNSPECIFIED, max_w),
                         VQA_RANGE_UNSPECIFIED);
        assert_int_equal(range_after(AV_PIX_FMT_YUVJ420P, AVCOL_RANGE_UNSPECIFIED, max_w),
                         VQA_RANGE_FULL);
    }
}

/* ---- swscale --------------------------------------------------------------- */

static void test_yuv_to_rgb(void **state)
{
    (void)state;
    /* BT.601 limited-range pure red: Y 81, Cb 90, Cr 240. */
    AVFrame *src = make_video(AV_PIX_FMT_YUV420P, 64, 48);
    fill_planes(src, 81, 90, 240);
    src->color_range = AVCOL_RANGE_MPEG;
    src->colorspace = AVCOL_SPC_SMPTE170M;
    VqaConvert *c = open_video(VQA_PIX_RGB24, 0, 0);
    VqaFrame *out = NULL;
    assert_int_equal(vqa_convert_video(c, src, 0, 0, &out), 0);
    assert_int_equal(out->pix_fmt, VQA_PIX_RGB24);
    assert_int_equal(out->width, 64);
    assert_int_equal(out->range, VQA_RANGE_FULL);
    const uint8_t *px = out->data[0] + 20 * out->linesize[0] + 30 * 3;
    assert_true(px[0] > 235);
    assert_true(px[1] < 20);
    assert_true(px[2] < 20);
    drop(&out);
    vqa_convert_close(&c);
    av_frame_free(&src);
}

static void test_rgb_to_gray_full_range(void **state)
{
    (void)state;
    AVFrame *src = make_video(AV_PIX_FMT_RGB24, 40, 30);
    VqaConvert *c = open_video(VQA_PIX_GRAY8, 20, 0);
    for (int v = 0; v <= 255; v += 255) {
        for (int y = 0; y < 30; y++)
            memset(src->data[0] + y * src->linesize[0], v, 40 * 3);
        VqaFrame *out = NULL;
        assert_int_equal(vqa_convert_video(c, src, 0, 0, &out), 0);
        assert_int_equal(out->width, 20);
        assert_int_equal(out->height, 15);
        assert_int_equal(out->range, VQA_RANGE_FULL);
        assert_true(abs(out->data[0][7 * out->linesize[0] + 10] - v) <= 1);
        drop(&out);
    }
    vqa_convert_close(&c);
    av_frame_free(&src);
}

static void test_ten_bit_source(void **state)
{
    (void)state;
    AVFrame *src = make_video(AV_PIX_FMT_YUV420P10LE, 64, 32);
    for (int p = 0; p < 3; p++) {
        const int rows = p ? 16 : 32, cols = p ? 32 : 64;
        for (int y = 0; y < rows; y++) {
            uint16_t *row = (uint16_t *)(src->data[p] + y * src->linesize[p]);
            for (int x = 0; x < cols; x++)
                row[x] = p ? 512 : 400;
        }
    }
    src->color_range = AVCOL_RANGE_MPEG;
    VqaConvert *c = open_video(VQA_PIX_GRAY8, 32, 0);
    VqaFrame *out = NULL;
    assert_int_equal(vqa_convert_video(c, src, 0, 0, &out), 0);
    assert_int_equal(out->width, 32);
    assert_int_equal(out->height, 16);
    assert_int_equal(out->range, VQA_RANGE_LIMITED);
    if (abs(out->data[0][8 * out->linesize[0] + 16] - 100) > 1)
        fail_msg("10-bit 400 became %d", out->data[0][8 * out->linesize[0] + 16]);
    drop(&out);
    vqa_convert_close(&c);
    av_frame_free(&src);
}

/* ---- pools ------------------------------------------------------------------- */

static void check_pool_reuse(VqaPixelFormat fmt, int max_w)
{
    AVFrame *src = make_video(AV_PIX_FMT_YUV420P, 640, 360);
    fill_planes(src, 90, 100, 110);
    VqaConvert *c = open_video(fmt, max_w, 0);
    VqaFrame *a = NULL, *b = NULL, *again = NULL;
    assert_int_equal(vqa_convert_video(c, src, 0, 0, &a), 0);
    assert_ptr_not_equal(a->data[0], src->data[0]);
    /* While the first is held, the second needs a buffer of its own. */
    assert_int_equal(vqa_convert_video(c, src, 0, 0, &b), 0);
    assert_ptr_not_equal(a->data[0], b->data[0]);
    const uint8_t *recycled = a->data[0];
    drop(&a);
    assert_int_equal(vqa_convert_video(c, src, 0, 0, &again), 0);
    assert_ptr_equal(again->data[0], recycled);
    drop(&b);
    drop(&again);
    vqa_convert_close(&c);
    av_frame_free(&src);
}

static void test_pool_reuse(void **state)
{
    (void)state;
    check_pool_reuse(VQA_PIX_GRAY8, 160);  /* box path */
    check_pool_reuse(VQA_PIX_RGB24, 160);  /* swscale path */
    check_pool_reuse(VQA_PIX_NV12, 0);     /* swscale, full size */
}

/* ---- size changes, flags, errors ---------------------------------------------- */

static void test_size_change(void **state)
{
    (void)state;
    static const int sizes[][4] = {
        /* w, h, expected out w, h at max_width 160 */
        { 640, 360, 160, 90 }, { 1280, 720, 160, 90 }, { 320, 240, 160, 120 },
        { 100, 80, 100, 80 },  { 640, 360, 160, 90 },
    };
    const VqaPixelFormat fmts[] = { VQA_PIX_GRAY8, VQA_PIX_RGB24, VQA_PIX_YUV420P };
    for (size_t f = 0; f < 3; f++) {
        VqaConvert *c = open_video(fmts[f], 160, 0);
        for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
            AVFrame *src = make_video(AV_PIX_FMT_YUV420P, sizes[i][0], sizes[i][1]);
            fill_planes(src, 200, 128, 128);
            VqaFrame *out = NULL;
            assert_int_equal(vqa_convert_video(c, src, 0, 0, &out), 0);
            assert_int_equal(out->width, sizes[i][2]);
            assert_int_equal(out->height, sizes[i][3]);
            const uint8_t v = out->data[0][(out->height - 1) * out->linesize[0]];
            assert_true(fmts[f] == VQA_PIX_RGB24 ? abs(v - 215) <= 3 : v == 200);
            drop(&out);
            av_frame_free(&src);
        }
        vqa_convert_close(&c);
    }
}

static void test_flags_mapped(void **state)
{
    (void)state;
    AVFrame *src = make_video(AV_PIX_FMT_YUV420P, 32, 32);
    fill_planes(src, 16, 128, 128);
    VqaConvert *c = open_video(VQA_PIX_GRAY8, 16, 0);
    VqaFrame *out = NULL;

    src->key_frame = 1;
    src->pict_type = AV_PICTURE_TYPE_I;
    assert_int_equal(vqa_convert_video(c, src, 2.0, 0.5, &out), 0);
    assert_int_equal(out->flags, VQA_FRAME_KEY);
    assert_int_equal(out->decode_errors, 0);
    assert_true(out->duration == 0.5);
    drop(&out);

    src->key_frame = 0;
    src->pict_type = AV_PICTURE_TYPE_P;
    src->flags |= AV_FRAME_FLAG_CORRUPT;
    src->decode_error_flags = FF_DECODE_ERROR_INVALID_BITSTREAM |
                              FF_DECODE_ERROR_CONCEALMENT_ACTIVE;
    assert_int_equal(vqa_convert_video(c, src, 0, 0, &out), 0);
    assert_int_equal(out->flags, VQA_FRAME_CORRUPT);
    assert_int_equal(out->decode_errors,
                     VQA_DECODE_ERR_INVALID_BITSTREAM | VQA_DECODE_ERR_CONCEALMENT_ACTIVE);
    drop(&out);

    src->flags = 0;
    src->decode_error_flags = FF_DECODE_ERROR_MISSING_REFERENCE | FF_DECODE_ERROR_DECODE_SLICES;
    src->pict_type = AV_PICTURE_TYPE_I; /* an intra picture without the key flag */
    assert_int_equal(vqa_convert_video(c, src, 0, 0, &out), 0);
    assert_int_equal(out->flags, VQA_FRAME_KEY);
    assert_int_equal(out->decode_errors,
                     VQA_DECODE_ERR_MISSING_REFERENCE | VQA_DECODE_ERR_DECODE_SLICES);
    drop(&out);
    vqa_convert_close(&c);
    av_frame_free(&src);
}

static void count_warnings(void *cookie, VqaLogLevel level, const char *msg)
{
    (void)msg;
    if (level == VQA_LOG_WARNING)
        (*(int *)cookie)++;
}

static void test_unsupported_source(void **state)
{
    (void)state;
    int warnings = 0;
    VqaLogger log = { count_warnings, &warnings, VQA_LOG_DEBUG };
    VqaFormatKey key = { .type = VQA_MEDIA_VIDEO, .pix_fmt = VQA_PIX_GRAY8 };
    VqaConvert *c = NULL;
    assert_int_equal(vqa_convert_open(&c, &key, &log), 0);
    uint8_t dummy[16];
    AVFrame *src = av_frame_alloc();
    src->format = AV_PIX_FMT_VAAPI; /* a hardware surface: not ours to read */
    src->width = 4;
    src->height = 4;
    src->data[0] = dummy;
    VqaFrame *out = (VqaFrame *)1;
    assert_int_equal(vqa_convert_video(c, src, 0, 0, &out), VQA_ERR(EINVAL));
    assert_null(out);
    assert_int_equal(vqa_convert_video(c, src, 0, 0, &out), VQA_ERR(EINVAL));
    assert_int_equal(warnings, 1); /* once, not per frame */
    src->data[0] = NULL;
    av_frame_free(&src);
    vqa_convert_close(&c);

    key.type = VQA_MEDIA_NONE;
    assert_int_equal(vqa_convert_open(&c, &key, NULL), VQA_ERR(EINVAL));
    assert_null(c);
    key.type = VQA_MEDIA_VIDEO;
    key.pix_fmt = (VqaPixelFormat)99;
    assert_int_equal(vqa_convert_open(&c, &key, NULL), VQA_ERR(EINVAL));
    assert_null(c);
    key.pix_fmt = VQA_PIX_GRAY8;
    key.max_width = -1;
    assert_int_equal(vqa_convert_open(&c, &key, NULL), VQA_ERR(EINVAL));
    assert_null(c);
    vqa_convert_close(&c);
    vqa_convert_close(NULL);
}

static void test_format_mapping(void **state)
{
    (void)state;
    for (int f = VQA_PIX_GRAY8; f <= VQA_PIX_RGBA; f++)
        assert_int_equal(vqa_pix_fmt_from_av(vqa_pix_fmt_to_av((VqaPixelFormat)f)), f);
    for (int f = VQA_SAMPLE_S16; f <= VQA_SAMPLE_FLTP; f++)
        assert_int_equal(vqa_sample_fmt_from_av(vqa_sample_fmt_to_av((VqaSampleFormat)f)), f);
    assert_int_equal(vqa_pix_fmt_to_av(VQA_PIX_NV12), AV_PIX_FMT_NV12);
    assert_int_equal(vqa_pix_fmt_to_av(VQA_PIX_NONE), AV_PIX_FMT_NONE);
    assert_int_equal(vqa_pix_fmt_from_av(AV_PIX_FMT_YUV420P10LE), VQA_PIX_NONE);
    assert_int_equal(vqa_sample_fmt_to_av(VQA_SAMPLE_FLTP), AV_SAMPLE_FMT_FLTP);
    assert_int_equal(vqa_sample_fmt_from_av(AV_SAMPLE_FMT_DBL), VQA_SAMPLE_NONE);

    VqaFormatKey a = { .type = VQA_MEDIA_VIDEO, .pix_fmt = VQA_PIX_GRAY8, .max_width = 320 };
    VqaFormatKey b = a;
    b.sample_rate = 48000; /* audio fields do not matter for video */
    assert_true(vqa_format_key_equal(&a, &b));
    b.max_height = 240;
    assert_false(vqa_format_key_equal(&a, &b));
    VqaFormatKey x = { .type = VQA_MEDIA_AUDIO, .sample_fmt = VQA_SAMPLE_FLTP, .channels = 1 };
    VqaFormatKey y = x;
    assert_true(vqa_format_key_equal(&x, &y));
    y.sample_rate = 16000;
    assert_false(vqa_format_key_equal(&x, &y));
    assert_false(vqa_format_key_equal(&a, &x));
}

/* ---- audio --------------------------------------------------------------------- */

static AVFrame *make_audio(enum AVSampleFormat fmt, int rate, int channels, int nb_samples)
{
    AVFrame *f = av_frame_alloc();
    assert_non_null(f);
    f->format = fmt;
    f->sample_rate = rate;
    f->nb_samples = nb_samples;
    av_channel_layout_default(&f->ch_layout, channels);
    assert_int_equal(av_frame_get_buffer(f, 0), 0);
    return f;
}

static void test_audio_zero_copy(void **state)
{
    (void)state;
    AVFrame *src = make_audio(AV_SAMPLE_FMT_FLTP, 48000, 6, 1024);
    for (int ch = 0; ch < 6; ch++)
        ((float *)src->extended_data[ch])[1023] = (float)ch;
    const VqaSampleFormat fmts[] = { VQA_SAMPLE_FLTP, VQA_SAMPLE_NONE };
    for (int i = 0; i < 2; i++) {
        VqaConvert *c = open_audio(fmts[i], i ? 0 : 48000, i ? 0 : 6);
        VqaFrame *out = NULL;
        assert_int_equal(vqa_convert_audio(c, src, 3.0, &out), 0);
        assert_non_null(out);
        assert_int_equal(out->type, VQA_MEDIA_AUDIO);
        assert_int_equal(out->sample_fmt, VQA_SAMPLE_FLTP);
        assert_int_equal(out->channels, 6);
        assert_int_equal(out->nb_samples, 1024);
        assert_true(out->t == 3.0);
        assert_true(fabs(out->duration - 1024.0 / 48000) < 1e-12);
        for (int ch = 0; ch < 6; ch++)
            assert_ptr_equal(out->audio_planes[ch], src->extended_data[ch]);
        /* Draining a converter that never resampled gives nothing. */
        VqaFrame *none = (VqaFrame *)1;
        assert_int_equal(vqa_convert_audio(c, NULL, 4.0, &none), 0);
        assert_null(none);
        vqa_convert_close(&c);
        const float last = ((const float *)out->audio_planes[5])[1023];
        assert_true(last == 5.0f);
        drop(&out);
    }
    /* Packed audio: one interleaved plane. */
    AVFrame *s16 = make_audio(AV_SAMPLE_FMT_S16, 44100, 2, 512);
    VqaConvert *c = open_audio(VQA_SAMPLE_S16, 0, 2);
    VqaFrame *out = NULL;
    assert_int_equal(vqa_convert_audio(c, s16, 0, &out), 0);
    assert_ptr_equal(out->audio_planes[0], s16->data[0]);
    assert_int_equal(out->sample_rate, 44100);
    av_frame_free(&s16);
    drop(&out);
    vqa_convert_close(&c);
    av_frame_free(&src);
}

static void test_audio_planes_count(void **state)
{
    (void)state;
    AVFrame *src = make_audio(AV_SAMPLE_FMT_S16, 48000, 2, 256);
    memset(src->data[0], 0, 256 * 4);
    VqaConvert *c = open_audio(VQA_SAMPLE_S16P, 0, 6); /* upmix to 5.1, planar */
    VqaFrame *out = NULL;
    int total = 0;
    assert_int_equal(vqa_convert_audio(c, src, 0, &out), 0);
    if (out) {
        assert_int_equal(out->channels, 6);
        assert_int_equal(out->sample_fmt, VQA_SAMPLE_S16P);
        for (int ch = 0; ch < 6; ch++)
            assert_non_null(out->audio_planes[ch]);
        total += out->nb_samples;
        drop(&out);
    }
    assert_int_equal(vqa_convert_audio(c, NULL, 0, &out), 0);
    if (out) {
        total += out->nb_samples;
        drop(&out);
    }
    assert_int_equal(total, 256);
    vqa_convert_close(&c);
    av_frame_free(&src);
}

/* Feed one second of a 1 kHz sine (amplitude 0.5, both channels) as S16
 * stereo 44.1 kHz; expect one second of FLTP mono 48 kHz at the same level. */
static void test_audio_resample(void **state)
{
    (void)state;
    VqaConvert *c = open_audio(VQA_SAMPLE_FLTP, 48000, 1);
    const int in_rate = 44100, chunk = 1024;
    float *all = calloc(48000 + 4096, sizeof(float));
    assert_non_null(all);
    int total = 0, fed = 0, frames = 0;
    double expect_t = 0;
    while (fed < in_rate) {
        const int n = in_rate - fed < chunk ? in_rate - fed : chunk;
        AVFrame *src = make_audio(AV_SAMPLE_FMT_S16, in_rate, 2, n);
        int16_t *s = (int16_t *)src->data[0];
        for (int i = 0; i < n; i++)
            s[2 * i] = s[2 * i + 1] =
                (int16_t)lrint(16383.5 * sin(2 * M_PI * 1000.0 * (fed + i) / in_rate));
        VqaFrame *out = NULL;
        assert_int_equal(vqa_convert_audio(c, src, (double)fed / in_rate, &out), 0);
        fed += n;
        av_frame_free(&src);
        if (!out)
            continue;
        assert_int_equal(out->sample_fmt, VQA_SAMPLE_FLTP);
        assert_int_equal(out->channels, 1);
        assert_int_equal(out->sample_rate, 48000);
        /* Output times follow on from each other despite the resampler's delay. */
        assert_true(fabs(out->t - expect_t) < 1.5 / 48000);
        expect_t = out->t + out->duration;
        assert_true(total + out->nb_samples <= 48000 + 4096);
        memcpy(all + total, out->audio_planes[0], (size_t)out->nb_samples * sizeof(float));
        total += out->nb_samples;
        frames++;
        drop(&out);
    }
    VqaFrame *tail = NULL;
    assert_int_equal(vqa_convert_audio(c, NULL, 1.0, &tail), 0);
    if (tail) {
        assert_true(fabs(tail->t - expect_t) < 1.5 / 48000);
        memcpy(all + total, tail->audio_planes[0], (size_t)tail->nb_samples * sizeof(float));
        total += tail->nb_samples;
        drop(&tail);
    }
    assert_true(frames > 30);
    assert_true(abs(total - 48000) <= 1);
    double sq = 0;
    for (int i = 4800; i < 43200; i++)
        sq += (double)all[i] * all[i];
    const double rms = sqrt(sq / (43200 - 4800));
    assert_true(fabs(rms - 0.5 / sqrt(2.0)) < 0.01);
    free(all);
    vqa_convert_close(&c);
}

/* Every allocation failure is reported as ENOMEM and leaks nothing (ASan). */
static void test_alloc_failures(void **state)
{
    (void)state;
    AVFrame *pic = make_video(AV_PIX_FMT_YUV420P, 640, 360);
    fill_planes(pic, 50, 128, 128);
    AVFrame *snd = make_audio(AV_SAMPLE_FMT_S16, 44100, 2, 1024);
    memset(snd->data[0], 0, 1024 * 4);
    const VqaPixelFormat fmts[] = { VQA_PIX_GRAY8, VQA_PIX_RGB24, VQA_PIX_YUV420P };
    for (long n = 0; n < 6; n++) {
        for (size_t i = 0; i < 3; i++) {
            VqaConvert *c = open_video(fmts[i], i == 2 ? 0 : 160, 0);
            vqa_mem_fail_after(n, 0);
            VqaFrame *out = NULL;
            const int err = vqa_convert_video(c, pic, 0, 0, &out);
            vqa_mem_fail_after(-1, 0);
            assert_true(err == 0 || err == VQA_ERR(ENOMEM));
            assert_true((err == 0) == (out != NULL));
            drop(&out);
            vqa_convert_close(&c);
        }
        VqaConvert *c = open_audio(VQA_SAMPLE_FLTP, 48000, 1);
        vqa_mem_fail_after(n, 0);
        VqaFrame *out = NULL;
        const int err = vqa_convert_audio(c, snd, 0, &out);
        vqa_mem_fail_after(-1, 0);
        assert_true(err == 0 || err == VQA_ERR(ENOMEM));
        drop(&out);
        vqa_convert_close(&c);
    }
    av_frame_free(&pic);
    av_frame_free(&snd);
}

/* A source whose rate changes mid-stream gets a new resampler. */
static void test_audio_input_change(void **state)
{
    (void)state;
    VqaConvert *c = open_audio(VQA_SAMPLE_FLT, 16000, 1);
    const int rates[] = { 48000, 44100, 8000 };
    for (int i = 0; i < 3; i++) {
        AVFrame *src = make_audio(AV_SAMPLE_FMT_FLTP, rates[i], 2, rates[i] / 10);
        for (int ch = 0; ch < 2; ch++)
            for (int s = 0; s < src->nb_samples; s++)
                ((float *)src->extended_data[ch])[s] = 0.25f;
        int total = 0;
        VqaFrame *out = NULL;
        assert_int_equal(vqa_convert_audio(c, src, i, &out), 0);
        for (int drain = 0; drain < 2; drain++) {
            if (out) {
                assert_int_equal(out->sample_rate, 16000);
                assert_int_equal(out->sample_fmt, VQA_SAMPLE_FLT);
                total += out->nb_samples;
                drop(&out);
            }
            if (!drain)
                assert_int_equal(vqa_convert_audio(c, NULL, i + 0.1, &out), 0);
        }
        assert_true(abs(total - 1600) <= 1);
        av_frame_free(&src);
    }
    vqa_convert_close(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_box_proxy_matches_reference),
        cmocka_unit_test(test_box_extremes),
        cmocka_unit_test(test_box_every_factor),
        cmocka_unit_test(test_box_shared_base),
        cmocka_unit_test(test_box_even_factor),
        cmocka_unit_test(test_box_unaligned_plane),
        cmocka_unit_test(test_aspect_kept),
        cmocka_unit_test(test_zero_copy_same_format),
        cmocka_unit_test(test_zero_copy_luma),
        cmocka_unit_test(test_range_preserved),
        cmocka_unit_test(test_yuv_to_rgb),
        cmocka_unit_test(test_rgb_to_gray_full_range),
        cmocka_unit_test(test_ten_bit_source),
        cmocka_unit_test(test_pool_reuse),
        cmocka_unit_test(test_size_change),
        cmocka_unit_test(test_flags_mapped),
        cmocka_unit_test(test_unsupported_source),
        cmocka_unit_test(test_format_mapping),
        cmocka_unit_test(test_audio_zero_copy),
        cmocka_unit_test(test_audio_planes_count),
        cmocka_unit_test(test_audio_resample),
        cmocka_unit_test(test_audio_input_change),
        cmocka_unit_test(test_alloc_failures),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
