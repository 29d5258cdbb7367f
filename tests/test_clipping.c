/*
 * The clipping detector hosted directly: hard-clipped sine found with its
 * bounds and share, bursts merged or not by the gap, short runs, a loud
 * clean tone and a limiter plateau not found, float overs found, clipping
 * up to the end closed by the detector, and buffer sizes that do not change
 * the result. One end-to-end check runs a clipped 16-bit WAV made by ffmpeg
 * through the whole pipeline.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "harness.h"
#include "media.h"
#include "vqa/vqa.h"

#define RATE 48000
#define KIND "audio.clipping"
/* A 1 kHz sine at +12 dBFS hard-clipped to full scale reaches it 2 samples after a zero
 * crossing; the bursts below start and end on zero crossings, so the detector's bounds
 * fall within this of the burst's. */
#define BOUND_TOL_S 0.001
#define BURST_FREQ_HZ 1000.0
#define BURST_DBFS 12.0
#define TONE_DBFS -6.0
/* Share of samples at full scale in that sine: |sin| >= 1/4 holds for 21 of the 24 samples
 * of each half period at 1 kHz sampled at 48 kHz. */
#define CLIPPED_SHARE (21.0 / 24.0)

static void run(Harness *h, const HarnessAudio *a, int chunk, const char *args)
{
    VqaStreamInfo info = { .type = VQA_MEDIA_AUDIO, .sample_rate = a->sample_rate,
                           .channels = a->channels };
    harness_start(h, "clipping", "clipping", args, &info);
    assert_int_equal(harness_feed_audio(h, a, chunk, 0.0), 0);
    harness_finish(h);
}

/* Clamp channel ch (-1 = all) over [from_s, to_s) to [-1, 32767/32768], as a 16-bit
 * converter would. */
static void hard_clip(HarnessAudio *a, int ch, double from_s, double to_s)
{
    const float top = 32767.0f / 32768.0f;
    int64_t i0 = llround(from_s * a->sample_rate), i1 = llround(to_s * a->sample_rate);
    for (int c = 0; c < a->channels; c++) {
        if (ch >= 0 && c != ch)
            continue;
        for (int64_t i = i0; i < i1 && i < a->nb_samples; i++) {
            float *x = &a->planes[c][i];
            *x = *x > top ? top : *x < -1.0f ? -1.0f : *x;
        }
    }
}

/* A clean tone with clipped bursts [from[i], to[i]) on channel ch (-1 = all). */
static void tone_with_bursts(HarnessAudio *a, int channels, double total_s, int ch,
                             const double *from_s, const double *to_s, int bursts)
{
    harness_audio_init(a, channels, RATE, total_s);
    harness_audio_sine(a, -1, 0.0, total_s, 440.0, TONE_DBFS);
    for (int i = 0; i < bursts; i++) {
        harness_audio_sine(a, ch, from_s[i], to_s[i], BURST_FREQ_HZ, BURST_DBFS);
        hard_clip(a, ch, from_s[i], to_s[i]);
    }
}

static void assert_event(const Harness *h, size_t n, double start_s, double end_s)
{
    if (harness_count(h, KIND, VQA_EVENT_START) <= n)
        harness_dump(h);
    const HarnessEvent *s = harness_find(h, KIND, VQA_EVENT_START, n);
    const HarnessEvent *e = harness_find(h, KIND, VQA_EVENT_END, n);
    assert_non_null(s);
    assert_non_null(e);
    assert_near(s->t, start_s, BOUND_TOL_S);
    assert_near(e->t, end_s, BOUND_TOL_S);
    assert_false(e->by_host);
}

static void assert_no_event(const Harness *h)
{
    if (h->event_count)
        harness_dump(h);
    assert_int_equal(h->event_count, 0);
}

static void test_hard_clipped_sine(void **state)
{
    (void)state;
    HarnessAudio a;
    const double from[] = { 1.0 }, to[] = { 2.5 };
    tone_with_bursts(&a, 2, 4.0, -1, from, to, 1);
    Harness h;
    run(&h, &a, 1024, NULL);
    assert_int_equal(harness_count(&h, KIND, VQA_EVENT_START), 1);
    assert_int_equal(harness_count(&h, KIND, VQA_EVENT_END), 1);
    assert_event(&h, 0, 1.0, 2.5);
    const HarnessEvent *e = harness_find(&h, KIND, VQA_EVENT_END, 0);
    assert_near(e->value, CLIPPED_SHARE, 0.01);
    assert_int_equal(e->severity, VQA_SEVERITY_ERROR);
    /* Two runs per period of 1 kHz per channel over 1.5 s. */
    assert_non_null(strstr(e->details, "\"runs\":6000"));
    assert_non_null(strstr(e->details, "\"channels_affected\":2"));
    assert_non_null(strstr(e->details, "\"peak_dbfs\":0.00"));
    assert_null(strstr(e->details, "closed_by"));
    harness_close(&h);
    harness_audio_free(&a);
}

static void test_bursts_merge_within_gap(void **state)
{
    (void)state;
    HarnessAudio a;
    /* 0.3 s apart: one event over both. */
    const double from[] = { 1.0, 1.5 }, to[] = { 1.2, 1.7 };
    tone_with_bursts(&a, 2, 3.0, -1, from, to, 2);
    Harness h;
    run(&h, &a, 1024, NULL);
    assert_int_equal(harness_count(&h, KIND, VQA_EVENT_START), 1);
    assert_event(&h, 0, 1.0, 1.7);
    /* The share counts the quiet gap between the bursts: 0.4 s clipped out of 0.7 s. */
    const HarnessEvent *e = harness_find(&h, KIND, VQA_EVENT_END, 0);
    assert_near(e->value, CLIPPED_SHARE * 0.4 / 0.7, 0.01);
    harness_close(&h);
    harness_audio_free(&a);
}

static void test_bursts_apart_are_two_events(void **state)
{
    (void)state;
    HarnessAudio a;
    /* 0.8 s apart, on the right channel only. */
    const double from[] = { 1.0, 2.0 }, to[] = { 1.2, 2.2 };
    tone_with_bursts(&a, 2, 3.0, 1, from, to, 2);
    Harness h;
    run(&h, &a, 1024, NULL);
    assert_int_equal(harness_count(&h, KIND, VQA_EVENT_START), 2);
    assert_int_equal(harness_count(&h, KIND, VQA_EVENT_END), 2);
    assert_event(&h, 0, 1.0, 1.2);
    assert_event(&h, 1, 2.0, 2.2);
    const HarnessEvent *e = harness_find(&h, KIND, VQA_EVENT_END, 1);
    assert_non_null(strstr(e->details, "\"channels_affected\":1"));
    /* One channel of two clipped. */
    assert_near(e->value, CLIPPED_SHARE / 2, 0.01);
    harness_close(&h);
    /* With a longer merge gap they are one. */
    run(&h, &a, 1024, "merge_gap=1");
    assert_int_equal(harness_count(&h, KIND, VQA_EVENT_START), 1);
    assert_event(&h, 0, 1.0, 2.2);
    harness_close(&h);
    harness_audio_free(&a);
}

/* Put pairs of full-scale samples every 10 ms on channel 0 over [from_s, to_s). */
static void pairs_at_full_scale(HarnessAudio *a, double from_s, double to_s, int len)
{
    for (int64_t i = llround(from_s * RATE); i < llround(to_s * RATE); i += RATE / 100)
        for (int k = 0; k < len; k++)
            a->planes[0][i + k] = k % 2 ? 1.0f : 32767.0f / 32768.0f;
}

static void test_short_runs_ignored(void **state)
{
    (void)state;
    HarnessAudio a;
    harness_audio_init(&a, 2, RATE, 3.0);
    harness_audio_sine(&a, -1, 0.0, 3.0, 440.0, TONE_DBFS);
    pairs_at_full_scale(&a, 1.0, 2.0, 2);
    Harness h;
    run(&h, &a, 1024, NULL);
    assert_no_event(&h);
    harness_close(&h);
    /* The same pairs are runs when two samples are enough. */
    run(&h, &a, 1024, "min_run=2");
    assert_int_equal(harness_count(&h, KIND, VQA_EVENT_START), 1);
    assert_event(&h, 0, 1.0, 1.99 + 2.0 / RATE);
    const HarnessEvent *e = harness_find(&h, KIND, VQA_EVENT_END, 0);
    assert_non_null(strstr(e->details, "\"runs\":100"));
    assert_non_null(strstr(e->details, "\"clipped_samples\":200"));
    harness_close(&h);
    harness_audio_free(&a);
}

static void test_loud_tone_and_limiter_not_clipping(void **state)
{
    (void)state;
    HarnessAudio a;
    harness_audio_init(&a, 2, RATE, 3.0);
    /* A clean tone peaking at 0.9 ... */
    harness_audio_sine(&a, -1, 0.0, 1.5, 1000.0, 20.0 * log10(0.9));
    /* ... then a limiter holding a loud tone flat at 0.98. */
    harness_audio_sine(&a, -1, 1.5, 3.0, 1000.0, BURST_DBFS);
    for (int c = 0; c < 2; c++)
        for (int64_t i = llround(1.5 * RATE); i < a.nb_samples; i++)
            a.planes[c][i] = fmaxf(-0.98f, fminf(0.98f, a.planes[c][i]));
    Harness h;
    run(&h, &a, 1024, NULL);
    assert_no_event(&h);
    harness_close(&h);
    /* A lower level catches the plateau (and only it). */
    run(&h, &a, 1024, "level=0.97");
    assert_int_equal(harness_count(&h, KIND, VQA_EVENT_START), 1);
    assert_event(&h, 0, 1.5, 3.0);
    harness_close(&h);
    harness_audio_free(&a);
}

static void test_float_overs(void **state)
{
    (void)state;
    HarnessAudio a;
    harness_audio_init(&a, 1, RATE, 2.0);
    harness_audio_sine(&a, 0, 0.0, 2.0, 440.0, TONE_DBFS);
    /* Float audio overshooting to 1.2 (+1.6 dBFS), not clamped. */
    harness_audio_sine(&a, 0, 0.5, 1.0, BURST_FREQ_HZ, 20.0 * log10(1.2));
    Harness h;
    run(&h, &a, 1024, NULL);
    assert_int_equal(harness_count(&h, KIND, VQA_EVENT_START), 1);
    assert_event(&h, 0, 0.5, 1.0);
    const HarnessEvent *e = harness_find(&h, KIND, VQA_EVENT_END, 0);
    assert_non_null(strstr(e->details, "\"peak_dbfs\":1.58"));
    harness_close(&h);
    /* The highest level still counts anything above full scale. */
    run(&h, &a, 1024, "level=1");
    assert_int_equal(harness_count(&h, KIND, VQA_EVENT_START), 1);
    harness_close(&h);
    harness_audio_free(&a);
}

static void test_clipping_at_end(void **state)
{
    (void)state;
    HarnessAudio a;
    const double from[] = { 1.0 }, to[] = { 2.0 };
    tone_with_bursts(&a, 2, 2.0, -1, from, to, 1);
    /* Full scale up to the very last sample. */
    a.planes[0][a.nb_samples - 3] = a.planes[0][a.nb_samples - 2] = -1.0f;
    a.planes[0][a.nb_samples - 1] = -1.0f;
    Harness h;
    run(&h, &a, 1024, NULL);
    assert_int_equal(harness_count(&h, KIND, VQA_EVENT_START), 1);
    const HarnessEvent *e = harness_find(&h, KIND, VQA_EVENT_END, 0);
    assert_near(e->t, 2.0, 1e-9);
    assert_non_null(strstr(e->details, "\"closed_by\":\"eos\""));
    assert_false(e->by_host);
    harness_close(&h);
    harness_audio_free(&a);

    /* Clipping stops 0.2 s before the end, inside the merge gap: the event still ends
     * where the clipping did, closed by the end of input. */
    const double from2[] = { 1.0 }, to2[] = { 1.8 };
    tone_with_bursts(&a, 2, 2.0, -1, from2, to2, 1);
    run(&h, &a, 1024, NULL);
    assert_int_equal(harness_count(&h, KIND, VQA_EVENT_START), 1);
    assert_event(&h, 0, 1.0, 1.8);
    e = harness_find(&h, KIND, VQA_EVENT_END, 0);
    assert_non_null(strstr(e->details, "\"closed_by\":\"eos\""));
    harness_close(&h);
    harness_audio_free(&a);
}

static void test_buffer_sizes_agree(void **state)
{
    (void)state;
    HarnessAudio a;
    const double from[] = { 0.5, 1.1, 2.4 }, to[] = { 0.7, 1.3, 3.0 };
    tone_with_bursts(&a, 2, 3.0, -1, from, to, 3);
    pairs_at_full_scale(&a, 1.85, 2.0, 3);
    Harness ref;
    run(&ref, &a, 1024, NULL);
    assert_int_equal(harness_count(&ref, KIND, VQA_EVENT_START), 2);
    static const int chunks[] = { 1, 2, 3, 7, 1023, 4801, 48000, 144000 };
    for (size_t i = 0; i < sizeof(chunks) / sizeof(chunks[0]); i++) {
        Harness h;
        run(&h, &a, chunks[i], NULL);
        assert_int_equal(h.event_count, ref.event_count);
        for (size_t k = 0; k < h.event_count; k++) {
            assert_int_equal(h.events[k].state, ref.events[k].state);
            assert_near(h.events[k].t, ref.events[k].t, 1e-9);
            assert_near(h.events[k].value, ref.events[k].value, 1e-12);
            assert_string_equal(h.events[k].details, ref.events[k].details);
        }
        harness_close(&h);
    }
    harness_close(&ref);
    harness_audio_free(&a);
}

static void test_time_jump_ends_event(void **state)
{
    (void)state;
    HarnessAudio a;
    const double from[] = { 0.0 }, to[] = { 1.0 };
    tone_with_bursts(&a, 1, 1.0, -1, from, to, 1);
    Harness h;
    VqaStreamInfo info = { .type = VQA_MEDIA_AUDIO, .sample_rate = RATE, .channels = 1 };
    assert_int_equal(harness_open(&h, "clipping", "clipping", NULL, &info), 0);
    assert_int_equal(harness_feed_audio(&h, &a, 960, 0.0), 0);
    /* The same second again 10 s later: media was missing in between. */
    assert_int_equal(harness_feed_audio(&h, &a, 960, 11.0), 0);
    assert_int_equal(harness_flush(&h), 0);
    assert_int_equal(h.rejected, 0);
    assert_int_equal(harness_count(&h, KIND, VQA_EVENT_START), 2);
    assert_event(&h, 0, 0.0, 1.0);
    assert_event(&h, 1, 11.0, 12.0);
    harness_close(&h);
    harness_audio_free(&a);
}

static void test_descriptor(void **state)
{
    (void)state;
    Harness h;
    assert_int_equal(harness_open(&h, "clipping", "clipping", NULL, NULL), 0);
    assert_string_equal(h.desc->name, "clipping");
    assert_string_equal(h.cls->kinds[0], KIND);
    assert_null(h.cls->kinds[1]);
    assert_int_equal(h.cls->input.sample_fmt, VQA_SAMPLE_FLTP);
    assert_int_equal(h.cls->input.sample_rate, 0);
    assert_int_equal(h.cls->input.channels, 0);
    for (const VqaOption *o = h.cls->options; o->name; o++) {
        assert_non_null(o->help);
        assert_non_null(o->unit);
        assert_true(o->min <= o->default_num && o->default_num <= o->max);
    }
    harness_close(&h);
    /* The level is a fraction of full scale: above 1 is refused. */
    assert_true(harness_open(&h, "clipping", "clipping", "level=1.5", NULL) < 0);
    harness_close(&h);
}

/* ---- end to end ------------------------------------------------------------ */

typedef struct Sink {
    int starts, ends;
    double start_t, end_t;
    char details[256];
} Sink;

static void collect(void *cookie, const VqaEvent *ev)
{
    Sink *sink = cookie;
    if (strcmp(ev->kind, KIND))
        return;
    if (ev->state == VQA_EVENT_START) {
        sink->starts++;
        sink->start_t = ev->t;
    } else if (ev->state == VQA_EVENT_END) {
        sink->ends++;
        sink->end_t = ev->t;
        snprintf(sink->details, sizeof(sink->details), "%s",
                 ev->details_json ? ev->details_json : "");
    }
}

/* Scan one file with the clipping detector through the library. */
static void scan_file(const char *path, Sink *sink)
{
    VqaSettings s;
    vqa_default_settings(&s);
    s.n_threads = 2;
    s.on_event = collect;
    s.event_cookie = sink;
    VqaContext *ctx = NULL;
    assert_int_equal(vqa_open(&ctx, &s), 0);
    VqaStreamSettings ss;
    vqa_stream_default_settings(&ss);
    ss.url = path;
    ss.detectors = "clipping";
    ss.id = "wav";
    VqaStream *st = NULL;
    assert_int_equal(vqa_stream_add(ctx, &st, &ss), 0);
    assert_int_equal(vqa_stream_wait(st, -1), 0);
    vqa_stream_remove(&st);
    vqa_close(&ctx);
}

static void test_wav_end_to_end(void **state)
{
    (void)state;
    char *wav = media_path("clipped.wav");
    assert_non_null(wav);
    char args[512];
    /* A 997 Hz sine at half scale, amplified 4x over [1, 2) s into 16-bit clipping (the
     * sine crosses zero at whole seconds, so clipping begins 1/12 period after 1 s). */
    snprintf(args, sizeof(args),
             "-f lavfi -i "
             "\"aevalsrc=0.5*sin(2*PI*997*t)*if(between(t\\,1\\,2-1/96000)\\,4\\,1):"
             "s=48000:d=3\" -ac 2 -c:a pcm_s16le %s", wav);
    int status = media_ffmpeg(args);
    if (status == 0) {
        Sink sink = { 0 };
        scan_file(wav, &sink);
        assert_int_equal(sink.starts, 1);
        assert_int_equal(sink.ends, 1);
        assert_near(sink.start_t, 1.0, BOUND_TOL_S);
        assert_near(sink.end_t, 2.0, BOUND_TOL_S);
        assert_non_null(strstr(sink.details, "\"channels_affected\":2"));
        assert_non_null(strstr(sink.details, "\"peak_dbfs\":0.00"));
    }
    free(wav);
    assert_int_equal(status, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hard_clipped_sine),
        cmocka_unit_test(test_bursts_merge_within_gap),
        cmocka_unit_test(test_bursts_apart_are_two_events),
        cmocka_unit_test(test_short_runs_ignored),
        cmocka_unit_test(test_loud_tone_and_limiter_not_clipping),
        cmocka_unit_test(test_float_overs),
        cmocka_unit_test(test_clipping_at_end),
        cmocka_unit_test(test_buffer_sizes_agree),
        cmocka_unit_test(test_time_jump_ends_event),
        cmocka_unit_test(test_descriptor),
        cmocka_unit_test(test_wav_end_to_end),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
