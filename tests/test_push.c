/*
 * Push mode: a host hands in pictures and samples it decoded itself, lent
 * (zero-copy) or copied, or as AVFrames through include/vqa/libav.h.
 */
#include <dlfcn.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <libavutil/frame.h>

#include "probe/probe.h"
#include "vqa/libav.h"
#include "vqa/vqa.h"

#define W 160
#define H 120

typedef struct Sink {
    char kind[32][64];
    VqaEventState state[32];
    double t[32];
    int n;
} Sink;

static void collect(void *cookie, const VqaEvent *ev)
{
    Sink *s = cookie;
    if (s->n < 32) {
        snprintf(s->kind[s->n], sizeof(s->kind[0]), "%s", ev->kind);
        s->state[s->n] = ev->state;
        s->t[s->n] = ev->t;
        s->n++;
    }
}

static VqaContext *open_ctx(Sink *sink)
{
    static const char *const paths[] = { VQA_PROBE_PLUGIN_DIR, VQA_BUILD_PLUGIN_DIR, NULL };
    VqaSettings s;
    vqa_default_settings(&s);
    s.n_threads = 2;
    s.on_event = collect;
    s.event_cookie = sink;
    s.plugin_paths = paths;
    memset(sink, 0, sizeof(*sink));
    VqaContext *ctx = NULL;
    assert_int_equal(vqa_open(&ctx, &s), 0);
    return ctx;
}

static VqaStream *add(VqaContext *ctx, const char *spec, int blocking)
{
    VqaStreamSettings ss;
    vqa_stream_default_settings(&ss);
    ss.detectors = spec;
    ss.push_blocking = blocking;
    VqaStream *st = NULL;
    assert_int_equal(vqa_stream_add(ctx, &st, &ss), 0);
    return st;
}

static ProbeRecord *probe_records(int *n)
{
    void *h = dlopen(VQA_PROBE_PLUGIN_DIR "/vqa-probe.so", RTLD_NOW | RTLD_NOLOAD);
    assert_non_null(h);
    ProbeLogFn fn = (ProbeLogFn)(uintptr_t)dlsym(h, "probe_log");
    dlclose(h);
    return fn(n);
}

static void reset_probe(void)
{
    void *h = dlopen(VQA_PROBE_PLUGIN_DIR "/vqa-probe.so", RTLD_NOW | RTLD_NOLOAD);
    if (!h)
        return;
    ((ProbeResetFn)(uintptr_t)dlsym(h, "probe_reset"))();
    dlclose(h);
}

/* A gray picture whose content moves with i, frozen between freeze_from and freeze_to. */
static void fill(uint8_t *luma, int i, int freeze_from, int freeze_to)
{
    int phase = i >= freeze_from && i < freeze_to ? freeze_from : i;
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++)
            luma[y * W + x] = (uint8_t)(60 + ((x + y + 3 * phase) & 63) * 2);
}

static void test_copied_pictures_are_the_librarys(void **state)
{
    (void)state;
    Sink sink;
    VqaContext *ctx = open_ctx(&sink);
    reset_probe();
    VqaStream *st = add(ctx, "probe_full", 1);
    uint8_t luma[W * H], chroma[W * H / 4];
    memset(chroma, 128, sizeof(chroma));
    for (int i = 0; i < 5; i++) {
        fill(luma, i, 0, 0);
        VqaPicture pic = { .pix_fmt = VQA_PIX_YUV420P, .width = W, .height = H,
                           .data = { luma, chroma, chroma }, .linesize = { W, W / 2, W / 2 },
                           .pts = i, .time_base = { 1, 25 } };
        assert_int_equal(vqa_stream_push_picture(st, &pic), 0);
        memset(luma, 0, sizeof(luma)); /* the caller may reuse its buffer at once */
    }
    vqa_stream_end(st);
    assert_int_equal(vqa_stream_wait(st, -1), 0);
    int n;
    ProbeRecord *r = probe_records(&n);
    assert_int_equal(n, 5);
    for (int i = 0; i < n; i++)
        assert_ptr_not_equal(r[i].data, luma);
    vqa_close(&ctx);
}

static void test_freeze_found_in_pushed_frames(void **state)
{
    (void)state;
    Sink sink;
    VqaContext *ctx = open_ctx(&sink);
    VqaStream *st = add(ctx, "freeze", 1);
    uint8_t luma[W * H];
    /* 25 fps: frozen from frame 50 (2.0 s) to frame 125 (5.0 s), 7 s in all. */
    for (int i = 0; i < 175; i++) {
        fill(luma, i, 50, 125);
        VqaPicture pic = { .pix_fmt = VQA_PIX_GRAY8, .width = W, .height = H,
                           .range = VQA_RANGE_FULL, .data = { luma }, .linesize = { W },
                           .pts = i * 3600, .time_base = { 1, 90000 } };
        assert_int_equal(vqa_stream_push_picture(st, &pic), 0);
    }
    vqa_stream_end(st);
    assert_int_equal(vqa_stream_wait(st, -1), 0);
    vqa_close(&ctx);
    assert_int_equal(sink.n, 2);
    assert_string_equal(sink.kind[0], "video.freeze");
    assert_int_equal(sink.state[0], VQA_EVENT_START);
    assert_true(fabs(sink.t[0] - 2.0) <= 0.04 + 1e-9);
    assert_int_equal(sink.state[1], VQA_EVENT_END);
    assert_true(fabs(sink.t[1] - 5.0) <= 0.04 + 1e-9);
}

static void test_avframe_bridge_is_zero_copy(void **state)
{
    (void)state;
    Sink sink;
    VqaContext *ctx = open_ctx(&sink);
    reset_probe();
    VqaStream *st = add(ctx, "probe_full", 1);
    AVFrame *f = av_frame_alloc();
    f->format = AV_PIX_FMT_YUV420P;
    f->width = W;
    f->height = H;
    assert_int_equal(av_frame_get_buffer(f, 0), 0);
    memset(f->data[0], 100, (size_t)f->linesize[0] * H);
    memset(f->data[1], 128, (size_t)f->linesize[1] * H / 2);
    memset(f->data[2], 128, (size_t)f->linesize[2] * H / 2);
    const void *pixels = f->data[0];
    f->pts = 0;
    assert_int_equal(vqa_stream_push_avframe(st, f, (AVRational){ 1, 25 }, 0), 0);
    av_frame_free(&f); /* the library holds its own reference */
    vqa_stream_end(st);
    assert_int_equal(vqa_stream_wait(st, -1), 0);
    int n;
    ProbeRecord *r = probe_records(&n);
    assert_int_equal(n, 1);
    assert_ptr_equal(r[0].data, pixels);
    vqa_close(&ctx);
}

static void test_bad_pushes_are_refused(void **state)
{
    (void)state;
    Sink sink;
    VqaContext *ctx = open_ctx(&sink);
    VqaStream *st = add(ctx, "probe_full", 0);
    uint8_t luma[W * H] = { 0 };
    VqaPicture pic = { .pix_fmt = VQA_PIX_GRAY8, .width = W, .height = H, .data = { luma },
                       .linesize = { W }, .time_base = { 1, 25 } };
    VqaPicture bad = pic;
    bad.width = 0;
    assert_int_equal(vqa_stream_push_picture(st, &bad), VQA_ERR(EINVAL));
    bad = pic;
    bad.time_base.den = 0;
    assert_int_equal(vqa_stream_push_picture(st, &bad), VQA_ERR(EINVAL));
    bad = pic;
    bad.pix_fmt = VQA_PIX_NONE;
    assert_int_equal(vqa_stream_push_picture(st, &bad), VQA_ERR(EINVAL));
    assert_int_equal(vqa_stream_push_picture(NULL, &pic), VQA_ERR(EINVAL));
    assert_int_equal(vqa_stream_push_samples(st, NULL), VQA_ERR(EINVAL));
    assert_int_equal(vqa_stream_end(st), 0);
    assert_int_equal(vqa_stream_push_picture(st, &pic), VQA_ERROR_STOPPED);
    assert_int_equal(vqa_stream_wait(st, -1), 0);
    /* A pull stream takes no pushed frames. */
    VqaStreamSettings ss;
    vqa_stream_default_settings(&ss);
    ss.url = "/nonexistent.mp4";
    ss.detectors = "probe_full";
    VqaStream *pull = NULL;
    assert_int_equal(vqa_stream_add(ctx, &pull, &ss), 0);
    assert_int_equal(vqa_stream_push_picture(pull, &pic), VQA_ERR(EINVAL));
    assert_int_equal(vqa_stream_end(pull), VQA_ERR(EINVAL));
    vqa_close(&ctx);
}

static atomic_int released;

static void release(void *opaque)
{
    (void)opaque;
    atomic_fetch_add(&released, 1);
}

static void test_full_queue_without_blocking_says_eagain(void **state)
{
    (void)state;
    Sink sink;
    VqaContext *ctx = open_ctx(&sink);
    VqaStream *st = add(ctx, "probe_full:delay_us=20000", 0);
    static uint8_t luma[W * H];
    int again = 0, accepted = 0;
    atomic_store(&released, 0);
    for (int i = 0; i < 200 && !again; i++) {
        VqaPicture pic = { .pix_fmt = VQA_PIX_GRAY8, .width = W, .height = H, .data = { luma },
                           .linesize = { W }, .pts = i, .time_base = { 1, 25 },
                           .free_cb = release };
        int err = vqa_stream_push_picture(st, &pic);
        if (err == VQA_ERR(EAGAIN))
            again = 1;
        else
            accepted += err == 0;
    }
    assert_true(again);
    vqa_stream_stop(st);
    vqa_stream_wait(st, -1);
    vqa_close(&ctx);
    /* Refused pictures stayed the caller's: only accepted ones come back. */
    assert_int_equal(atomic_load(&released), accepted);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_copied_pictures_are_the_librarys),
        cmocka_unit_test(test_freeze_found_in_pushed_frames),
        cmocka_unit_test(test_avframe_bridge_is_zero_copy),
        cmocka_unit_test(test_bad_pushes_are_refused),
        cmocka_unit_test(test_full_queue_without_blocking_says_eagain),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
