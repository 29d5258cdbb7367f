/*
 * The frame bus and scheduler seen through a stream: fan-out without
 * copies, one conversion per distinct format, order per detector,
 * backpressure for files, counted drops for live inputs, parallel
 * detectors, and defects closed when a stream stops or is removed.
 */
#include <dlfcn.h>
#include <math.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "probe/probe.h"
#include "vqa/vqa.h"

#define W 320
#define H 240
#define MAX_EVENTS 256

typedef struct Recorded {
    char detector[32], kind[64], details[256];
    VqaEventState state;
    double t, duration;
} Recorded;

static Recorded events[MAX_EVENTS];
static int nb_events;
static atomic_int freed;
static ProbeLogFn probe_log;
static ProbeResetFn probe_reset;

static void on_event(void *cookie, const VqaEvent *ev)
{
    (void)cookie;
    if (nb_events == MAX_EVENTS)
        return;
    Recorded *r = &events[nb_events++];
    snprintf(r->detector, sizeof(r->detector), "%s", ev->detector);
    snprintf(r->kind, sizeof(r->kind), "%s", ev->kind);
    snprintf(r->details, sizeof(r->details), "%s", ev->details_json ? ev->details_json : "");
    r->state = ev->state;
    r->t = ev->t;
    r->duration = ev->duration;
}

static void free_picture(void *opaque)
{
    free(opaque);
    atomic_fetch_add(&freed, 1);
}

static VqaContext *open_ctx(int threads, int queue_frames)
{
    static const char *const paths[] = { VQA_PROBE_PLUGIN_DIR, NULL };
    VqaSettings s;
    vqa_default_settings(&s);
    s.n_threads = threads;
    s.queue_frames = queue_frames;
    s.on_event = on_event;
    s.plugin_paths = paths;
    VqaContext *ctx = NULL;
    assert_int_equal(vqa_open(&ctx, &s), 0);
    if (!probe_log) {
        void *h = dlopen(VQA_PROBE_PLUGIN_DIR "/vqa-probe.so", RTLD_NOW | RTLD_NOLOAD);
        assert_non_null(h);
        probe_log = (ProbeLogFn)(uintptr_t)dlsym(h, "probe_log");
        probe_reset = (ProbeResetFn)(uintptr_t)dlsym(h, "probe_reset");
        assert_non_null(probe_log);
        assert_non_null(probe_reset);
        /* keep the extra reference: the module stays loaded for the test's life */
    }
    probe_reset();
    nb_events = 0;
    atomic_store(&freed, 0);
    return ctx;
}

static VqaStream *add_push(VqaContext *ctx, const char *spec, int live, int blocking)
{
    VqaStreamSettings ss;
    vqa_stream_default_settings(&ss);
    ss.detectors = spec;
    ss.live = live;
    ss.push_blocking = blocking;
    VqaStream *st = NULL;
    assert_int_equal(vqa_stream_add(ctx, &st, &ss), 0);
    return st;
}

/* A lent YUV420P picture whose luma says its index. */
static int push_picture(VqaStream *st, int i, const uint8_t **luma_out)
{
    uint8_t *buf = malloc(W * H * 3 / 2);
    memset(buf, 16 + (i * 7) % 200, W * H);
    memset(buf + W * H, 128, W * H / 2);
    VqaPicture pic = {
        .pix_fmt = VQA_PIX_YUV420P, .width = W, .height = H, .range = VQA_RANGE_LIMITED,
        .data = { buf, buf + W * H, buf + W * H + W * H / 4 },
        .linesize = { W, W / 2, W / 2 },
        .pts = i, .time_base = { 1, 25 },
        .free_cb = free_picture, .opaque = buf,
    };
    if (luma_out)
        *luma_out = buf;
    int err = vqa_stream_push_picture(st, &pic);
    if (err < 0)
        free(buf);
    return err;
}

static int records_of(int detector, ProbeRecord *out, int max)
{
    int n, k = 0;
    ProbeRecord *all = probe_log(&n);
    for (int i = 0; i < n && k < max; i++)
        if (all[i].detector == detector)
            out[k++] = all[i];
    return k;
}

static void test_fan_out_shares_one_conversion(void **state)
{
    (void)state;
    enum { N = 30 };
    VqaContext *ctx = open_ctx(2, 16);
    VqaStream *st = add_push(ctx, "probe_a,probe_b,probe_full", 0, 1);
    const uint8_t *pushed[N];
    for (int i = 0; i < N; i++)
        assert_int_equal(push_picture(st, i, &pushed[i]), 0);
    assert_int_equal(vqa_stream_end(st), 0);
    assert_int_equal(vqa_stream_wait(st, -1), 0);
    static ProbeRecord a[N], b[N], full[N];
    assert_int_equal(records_of(PROBE_A, a, N), N);
    assert_int_equal(records_of(PROBE_B, b, N), N);
    assert_int_equal(records_of(PROBE_FULL, full, N), N);
    for (int i = 0; i < N; i++) {
        /* Same format asked twice: one conversion, one buffer read by both. */
        assert_ptr_equal(a[i].data, b[i].data);
        assert_int_equal(a[i].width, 64);
        assert_int_equal(a[i].height, 48);
        /* The full-size picture is the host's own memory: no copy at all. */
        assert_ptr_equal(full[i].data, pushed[i]);
        assert_int_equal(full[i].width, W);
        assert_true(fabs(full[i].t - i / 25.0) < 1e-9);
    }
    vqa_stream_remove(&st);
    assert_null(st);
    /* Every lent picture went back to the host exactly once. */
    assert_int_equal(atomic_load(&freed), N);
    vqa_close(&ctx);
    assert_null(ctx);
}

/* A detector that accepts an even-factor proxy (VQA_DETECTOR_EVEN_PROXY) gets 80x60 where
 * 120x120 fits 320x240 with a factor of 3 (lib/convert.c: the next even factor, made from
 * the shared 2x2 sums); the same limits without the flag keep the factor of 3. A declared
 * analysis rate (max_rate_hz = 5) delivers every fifth picture of a 25 fps stream. */
static void test_even_proxy_and_declared_rate(void **state)
{
    (void)state;
    enum { N = 50 };
    VqaContext *ctx = open_ctx(2, 16);
    VqaStream *st = add_push(ctx, "probe_even,probe_rate,probe_full", 0, 1);
    for (int i = 0; i < N; i++)
        assert_int_equal(push_picture(st, i, NULL), 0);
    assert_int_equal(vqa_stream_end(st), 0);
    assert_int_equal(vqa_stream_wait(st, -1), 0);
    static ProbeRecord even[N], rate[N];
    assert_int_equal(records_of(PROBE_EVEN, even, N), N);
    for (int i = 0; i < N; i++) {
        assert_int_equal(even[i].width, 80);
        assert_int_equal(even[i].height, 60);
    }
    assert_int_equal(records_of(PROBE_RATE, rate, N), N / 5);
    for (int i = 0; i < N / 5; i++) {
        assert_int_equal(rate[i].index, 5 * i);
        assert_true(fabs(rate[i].t - i * 0.2) < 1e-9);
    }
    vqa_stream_remove(&st);
    vqa_close(&ctx);
}

static void test_files_wait_for_a_slow_detector(void **state)
{
    (void)state;
    enum { N = 100, QUEUE = 4 };
    VqaContext *ctx = open_ctx(2, QUEUE);
    VqaStream *st = add_push(ctx, "probe_a:delay_us=2000", 0, 1);
    int behind_max = 0;
    for (int i = 0; i < N; i++) {
        assert_int_equal(push_picture(st, i, NULL), 0);
        int done;
        probe_log(&done);
        if (i + 1 - done > behind_max)
            behind_max = i + 1 - done;
    }
    vqa_stream_end(st);
    assert_int_equal(vqa_stream_wait(st, -1), 0);
    static ProbeRecord a[N];
    assert_int_equal(records_of(PROBE_A, a, N), N);
    for (int i = 0; i < N; i++)
        assert_int_equal(a[i].index, i); /* all of them, in order */
    /* The producer was held back: it never ran far ahead of the detector
     * (input queue + detector queue + the frames in hand). */
    assert_true(behind_max <= 2 * QUEUE + 4);
    VqaStreamStats stats;
    vqa_stream_get_stats(st, &stats);
    assert_int_equal(stats.frames_dropped, 0);
    assert_int_equal(stats.frames_analysed, N);
    vqa_close(&ctx);
}

static void test_live_drops_are_counted(void **state)
{
    (void)state;
    enum { N = 60 };
    VqaContext *ctx = open_ctx(1, 4);
    VqaStream *st = add_push(ctx, "probe_a:delay_us=5000", 1, 1);
    for (int i = 0; i < N; i++)
        assert_int_equal(push_picture(st, i, NULL), 0);
    vqa_stream_end(st);
    assert_int_equal(vqa_stream_wait(st, -1), 0);
    VqaStreamStats stats;
    vqa_stream_get_stats(st, &stats);
    assert_true(stats.frames_dropped > 0);
    assert_int_equal(stats.frames_analysed + stats.frames_dropped, N);
    int n;
    probe_log(&n);
    assert_int_equal(n, stats.frames_analysed);
    vqa_close(&ctx);
    assert_int_equal(atomic_load(&freed), N); /* dropped frames are released too */
}

static int intervals_overlap(const ProbeRecord *x, const ProbeRecord *y)
{
    return x->enter_s < y->leave_s && y->enter_s < x->leave_s;
}

static void test_detectors_run_in_parallel_each_in_order(void **state)
{
    (void)state;
    enum { N = 40 };
    VqaContext *ctx = open_ctx(2, 16);
    VqaStream *st = add_push(ctx, "probe_a:delay_us=3000,probe_full:delay_us=3000", 0, 1);
    for (int i = 0; i < N; i++)
        assert_int_equal(push_picture(st, i, NULL), 0);
    vqa_stream_end(st);
    assert_int_equal(vqa_stream_wait(st, -1), 0);
    static ProbeRecord a[N], full[N];
    assert_int_equal(records_of(PROBE_A, a, N), N);
    assert_int_equal(records_of(PROBE_FULL, full, N), N);
    int overlaps = 0;
    for (int i = 0; i < N; i++) {
        assert_false(a[i].overlapped_self);
        assert_false(full[i].overlapped_self);
        assert_int_equal(a[i].index, i);
        assert_int_equal(full[i].index, i);
        for (int j = 0; j < N; j++)
            overlaps += intervals_overlap(&a[i], &full[j]);
    }
    assert_true(overlaps > 0);
    vqa_close(&ctx);
}

static int count_events(const char *kind, VqaEventState state)
{
    int n = 0;
    for (int i = 0; i < nb_events; i++)
        n += !strcmp(events[i].kind, kind) && events[i].state == state;
    return n;
}

static const Recorded *find_event(const char *kind, VqaEventState state)
{
    for (int i = 0; i < nb_events; i++)
        if (!strcmp(events[i].kind, kind) && events[i].state == state)
            return &events[i];
    return NULL;
}

static void test_stop_closes_open_defects(void **state)
{
    (void)state;
    VqaContext *ctx = open_ctx(2, 4);
    VqaStream *st = add_push(ctx, "probe_a:start_at=0:delay_us=2000", 0, 1);
    for (int i = 0; i < 20; i++)
        assert_int_equal(push_picture(st, i, NULL), 0);
    vqa_stream_stop(st);
    assert_int_equal(vqa_stream_wait(st, -1), VQA_ERROR_STOPPED);
    assert_int_equal(push_picture(st, 20, NULL), VQA_ERROR_STOPPED);
    assert_int_equal(count_events("x-probe.mark", VQA_EVENT_START), 1);
    assert_int_equal(count_events("x-probe.mark", VQA_EVENT_END), 1);
    const Recorded *end = find_event("x-probe.mark", VQA_EVENT_END);
    assert_non_null(end);
    const char *details = end ? end->details : "";
    assert_non_null(strstr(details, "\"closed_by\":\"eos\""));
    assert_true(end->duration >= 0);
    vqa_close(&ctx);
    assert_int_equal(atomic_load(&freed), 20);
}

static void test_remove_closes_open_defects(void **state)
{
    (void)state;
    VqaContext *ctx = open_ctx(2, 16);
    VqaStream *st = add_push(ctx, "probe_a:start_at=0.2", 0, 1);
    for (int i = 0; i < 10; i++)
        assert_int_equal(push_picture(st, i, NULL), 0);
    /* Remove once the defect is open (frame 5 at 0.2 s has been analysed). */
    int seen = 0;
    for (int tries = 0; tries < 5000 && seen < 6; tries++) {
        struct timespec ms = { 0, 1000000 };
        nanosleep(&ms, NULL);
        probe_log(&seen);
    }
    assert_true(seen >= 6);
    vqa_stream_remove(&st);
    assert_int_equal(count_events("x-probe.mark", VQA_EVENT_START), 1);
    assert_int_equal(count_events("x-probe.mark", VQA_EVENT_END), 1);
    vqa_close(&ctx);
}

static void test_start_end_pairing_and_duration(void **state)
{
    (void)state;
    VqaContext *ctx = open_ctx(2, 16);
    VqaStream *st = add_push(ctx, "probe_a:start_at=0.4:end_at=0.8", 0, 1);
    for (int i = 0; i < 25; i++)
        assert_int_equal(push_picture(st, i, NULL), 0);
    vqa_stream_end(st);
    assert_int_equal(vqa_stream_wait(st, -1), 0);
    const Recorded *start = find_event("x-probe.mark", VQA_EVENT_START);
    const Recorded *end = find_event("x-probe.mark", VQA_EVENT_END);
    assert_non_null(start);
    assert_non_null(end);
    assert_true(fabs(start->t - 0.4) < 1e-9);
    assert_true(fabs(end->t - 0.8) < 1e-9);
    assert_true(fabs(end->duration - 0.4) < 1e-9);
    assert_null(strstr(end->details, "closed_by"));
    vqa_close(&ctx);
}

static void test_failing_detectors_are_reported_and_isolated(void **state)
{
    (void)state;
    enum { N = 12 };
    VqaContext *ctx = open_ctx(2, 16);
    VqaStream *st = add_push(ctx, "probe_a:fail_init=1,probe_b:fail_at=3,probe_full", 0, 1);
    for (int i = 0; i < N; i++)
        assert_int_equal(push_picture(st, i, NULL), 0);
    vqa_stream_end(st);
    assert_int_equal(vqa_stream_wait(st, -1), 0);
    static ProbeRecord r[N];
    assert_int_equal(records_of(PROBE_A, r, N), 0);
    assert_int_equal(records_of(PROBE_B, r, N), 4); /* frames 0..3, then it failed */
    assert_int_equal(records_of(PROBE_FULL, r, N), N);
    int errors_a = 0, errors_b = 0;
    for (int i = 0; i < nb_events; i++) {
        if (strcmp(events[i].kind, "stream.error"))
            continue;
        errors_a += !strcmp(events[i].detector, "probe_a") && strstr(events[i].details, "init");
        errors_b += !strcmp(events[i].detector, "probe_b") && strstr(events[i].details, "process");
    }
    assert_int_equal(errors_a, 1);
    assert_int_equal(errors_b, 1);
    vqa_close(&ctx);
}

static void test_audio_fan_out_without_copy(void **state)
{
    (void)state;
    enum { N = 10, SAMPLES = 1024 };
    VqaContext *ctx = open_ctx(2, 16);
    VqaStream *st = add_push(ctx, "probe_audio", 0, 1);
    const void *pushed[N];
    for (int i = 0; i < N; i++) {
        float *buf = calloc(2 * SAMPLES, sizeof(float));
        const uint8_t *planes[2] = { (uint8_t *)buf, (uint8_t *)(buf + SAMPLES) };
        VqaSamples in = {
            .sample_fmt = VQA_SAMPLE_FLTP, .sample_rate = 48000, .channels = 2,
            .nb_samples = SAMPLES, .planes = planes, .pts = (int64_t)i * SAMPLES,
            .time_base = { 1, 48000 }, .free_cb = free_picture, .opaque = buf,
        };
        pushed[i] = buf;
        assert_int_equal(vqa_stream_push_samples(st, &in), 0);
    }
    vqa_stream_end(st);
    assert_int_equal(vqa_stream_wait(st, -1), 0);
    static ProbeRecord r[N];
    assert_int_equal(records_of(PROBE_AUDIO, r, N), N);
    for (int i = 0; i < N; i++) {
        assert_ptr_equal(r[i].data, pushed[i]);
        assert_int_equal(r[i].nb_samples, SAMPLES);
    }
    vqa_close(&ctx);
    assert_int_equal(atomic_load(&freed), N);
}

static void push_samples(VqaStream *st, int i, int samples)
{
    float *buf = calloc(2 * (size_t)samples, sizeof(float));
    const uint8_t *planes[2] = { (uint8_t *)buf, (uint8_t *)(buf + samples) };
    VqaSamples in = {
        .sample_fmt = VQA_SAMPLE_FLTP, .sample_rate = 48000, .channels = 2,
        .nb_samples = samples, .planes = planes, .pts = (int64_t)i * samples,
        .time_base = { 1, 48000 }, .free_cb = free_picture, .opaque = buf,
    };
    assert_int_equal(vqa_stream_push_samples(st, &in), 0);
}

/* A detector with a second input sees both tracks through one instance. */
static void test_av_detector_gets_both_tracks(void **state)
{
    (void)state;
    enum { N = 20 };
    VqaContext *ctx = open_ctx(2, 16);
    VqaStream *st = add_push(ctx, "probe_av", 0, 1);
    for (int i = 0; i < N; i++) {
        assert_int_equal(push_picture(st, i, NULL), 0);
        push_samples(st, i, 1920); /* 40 ms, like a 25 fps frame */
    }
    vqa_stream_end(st);
    assert_int_equal(vqa_stream_wait(st, -1), 0);
    static ProbeRecord r[2 * N];
    assert_int_equal(records_of(PROBE_AV, r, 2 * N), 2 * N);
    int video = 0, audio = 0;
    int64_t last_video = -1, last_audio = -1;
    for (int i = 0; i < 2 * N; i++) {
        assert_ptr_equal(r[i].instance, r[0].instance); /* one instance */
        assert_false(r[i].overlapped_self);
        if (r[i].type == VQA_MEDIA_VIDEO) {
            video++;
            assert_int_equal(r[i].width, 64); /* the video input's format */
            assert_true(r[i].index > last_video);
            last_video = r[i].index;
        } else {
            audio++;
            assert_int_equal(r[i].nb_samples, 1920);
            assert_true(r[i].index > last_audio);
            last_audio = r[i].index;
        }
    }
    assert_int_equal(video, N);
    assert_int_equal(audio, N);
    vqa_close(&ctx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fan_out_shares_one_conversion),
        cmocka_unit_test(test_even_proxy_and_declared_rate),
        cmocka_unit_test(test_files_wait_for_a_slow_detector),
        cmocka_unit_test(test_live_drops_are_counted),
        cmocka_unit_test(test_detectors_run_in_parallel_each_in_order),
        cmocka_unit_test(test_stop_closes_open_defects),
        cmocka_unit_test(test_remove_closes_open_defects),
        cmocka_unit_test(test_start_end_pairing_and_duration),
        cmocka_unit_test(test_failing_detectors_are_reported_and_isolated),
        cmocka_unit_test(test_audio_fan_out_without_copy),
        cmocka_unit_test(test_av_detector_gets_both_tracks),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
