/*
 * The silence detector hosted directly: digital silence and low noise found
 * with their bounds, a quiet passage not; a dead channel next to a live one
 * reported as x-silence.channel with its index, never as audio.silence, and
 * handed over to audio.silence when the whole track falls silent; silence
 * open at the end closed by the detector; buffer sizes do not change the
 * result.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "harness.h"

#define RATE 48000
#define KIND "audio.silence"
#define CHANNEL_KIND "x-silence.channel"
#define WINDOW_S 0.02          /* the detector's default window */
#define TONE_DBFS -12.0
/* Bounds that fall inside a window, so the tolerance is really exercised. */
#define GAP_FROM_S 2.013
#define GAP_TO_S 5.007

static void run(Harness *h, const HarnessAudio *a, int chunk, const char *args)
{
    VqaStreamInfo info = { .type = VQA_MEDIA_AUDIO, .sample_rate = a->sample_rate,
                           .channels = a->channels };
    harness_start(h, "silence", "silence", args, &info);
    assert_int_equal(harness_feed_audio(h, a, chunk, 0.0), 0);
    harness_finish(h);
}

static void assert_one_silence(const Harness *h, double start_s, double end_s)
{
    if (harness_count(h, KIND, VQA_EVENT_START) != 1)
        harness_dump(h);
    assert_int_equal(harness_count(h, KIND, VQA_EVENT_START), 1);
    assert_int_equal(harness_count(h, KIND, VQA_EVENT_END), 1);
    const HarnessEvent *s = harness_find(h, KIND, VQA_EVENT_START, 0);
    const HarnessEvent *e = harness_find(h, KIND, VQA_EVENT_END, 0);
    assert_near(s->t, start_s, WINDOW_S + 1e-9);
    assert_near(e->t, end_s, WINDOW_S + 1e-9);
    /* The detector's own bounds never claim tone as silence. */
    assert_true(s->t >= start_s - 1e-9);
    assert_true(e->t <= end_s + 1e-9);
    assert_false(e->by_host);
}

static void assert_no_event(const Harness *h)
{
    if (h->event_count)
        harness_dump(h);
    assert_int_equal(h->event_count, 0);
}

/* Stereo: tone, then [GAP_FROM_S, GAP_TO_S) left to the caller, then tone. */
static void tone_gap_tone(HarnessAudio *a, double total_s)
{
    harness_audio_init(a, 2, RATE, total_s);
    harness_audio_sine(a, -1, 0.0, total_s, 440.0, TONE_DBFS);
    harness_audio_silence(a, -1, GAP_FROM_S, GAP_TO_S);
}

static void test_digital_silence(void **state)
{
    (void)state;
    HarnessAudio a;
    tone_gap_tone(&a, 7.0);
    Harness h;
    run(&h, &a, 1024, NULL);
    assert_one_silence(&h, GAP_FROM_S, GAP_TO_S);
    const HarnessEvent *e = harness_find(&h, KIND, VQA_EVENT_END, 0);
    assert_near(e->value, -150.0, 1e-9);
    assert_non_null(strstr(e->details, "\"digital_zero\":true"));
    assert_non_null(strstr(e->details, "\"channels\":2"));
    assert_null(strstr(e->details, "closed_by"));
    harness_close(&h);
    harness_audio_free(&a);
}

static void test_low_noise_is_silence(void **state)
{
    (void)state;
    HarnessAudio a;
    tone_gap_tone(&a, 7.0);
    HarnessRng rng;
    harness_rng_seed(&rng, 3);
    harness_audio_noise(&a, -1, GAP_FROM_S, GAP_TO_S, -70.0, &rng);
    Harness h;
    run(&h, &a, 1024, NULL);
    assert_one_silence(&h, GAP_FROM_S, GAP_TO_S);
    const HarnessEvent *e = harness_find(&h, KIND, VQA_EVENT_END, 0);
    assert_non_null(strstr(e->details, "\"digital_zero\":false"));
    /* Peak of Gaussian noise at -70 dBFS RMS: a few times the RMS, far from the tone. */
    assert_true(e->value > -70.0 && e->value < -50.0);
    harness_close(&h);
    harness_audio_free(&a);
}

static void test_quiet_passage_is_not_silence(void **state)
{
    (void)state;
    HarnessAudio a;
    tone_gap_tone(&a, 7.0);
    harness_audio_sine(&a, -1, GAP_FROM_S, GAP_TO_S, 1000.0, -40.0);
    Harness h;
    run(&h, &a, 1024, NULL);
    assert_no_event(&h);
    harness_close(&h);
    harness_audio_free(&a);
}

/* The n-th event of kind spans [start_s, end_s) within one window, inside the truth. */
static void assert_interval(const Harness *h, const char *kind, size_t n, double start_s,
                            double end_s)
{
    const HarnessEvent *s = harness_find(h, kind, VQA_EVENT_START, n);
    const HarnessEvent *e = harness_find(h, kind, VQA_EVENT_END, n);
    if (!s || !e)
        harness_dump(h);
    assert_non_null(s);
    assert_non_null(e);
    assert_near(s->t, start_s, WINDOW_S + 1e-9);
    assert_near(e->t, end_s, WINDOW_S + 1e-9);
    assert_true(s->t >= start_s - 1e-9);
    assert_true(e->t <= end_s + 1e-9);
    assert_false(e->by_host);
}

static void test_dead_channel_is_not_silence(void **state)
{
    (void)state;
    HarnessAudio a;
    /* 3 channels: the middle one dead over [GAP_FROM_S, GAP_TO_S), the others play. */
    harness_audio_init(&a, 3, RATE, 7.0);
    harness_audio_sine(&a, -1, 0.0, 7.0, 440.0, TONE_DBFS);
    harness_audio_silence(&a, 1, GAP_FROM_S, GAP_TO_S);
    Harness h;
    run(&h, &a, 1024, NULL);
    assert_int_equal(harness_count(&h, KIND, 0), 0);
    assert_int_equal(harness_count(&h, CHANNEL_KIND, VQA_EVENT_START), 1);
    assert_int_equal(harness_count(&h, CHANNEL_KIND, VQA_EVENT_END), 1);
    assert_interval(&h, CHANNEL_KIND, 0, GAP_FROM_S, GAP_TO_S);
    const HarnessEvent *s = harness_find(&h, CHANNEL_KIND, VQA_EVENT_START, 0);
    const HarnessEvent *e = harness_find(&h, CHANNEL_KIND, VQA_EVENT_END, 0);
    assert_non_null(strstr(s->details, "\"channels\":[1]"));
    assert_non_null(strstr(e->details, "\"channels\":[1]"));
    assert_non_null(strstr(e->details, "\"scope\":\"channels\""));
    assert_non_null(strstr(e->details, "\"digital_zero\":true"));
    assert_near(e->value, -150.0, 1e-9);
    harness_close(&h);
    /* The option turns the channel report off. */
    run(&h, &a, 1024, "channels=0");
    assert_no_event(&h);
    harness_close(&h);
    harness_audio_free(&a);
}

static void test_dead_channel_noise_and_short(void **state)
{
    (void)state;
    HarnessAudio a;
    /* Right channel: low noise for 3 s (dead), later a 1 s dropout (too short). */
    harness_audio_init(&a, 2, RATE, 9.0);
    harness_audio_sine(&a, -1, 0.0, 9.0, 440.0, TONE_DBFS);
    HarnessRng rng;
    harness_rng_seed(&rng, 5);
    harness_audio_noise(&a, 1, GAP_FROM_S, GAP_TO_S, -70.0, &rng);
    harness_audio_silence(&a, 0, 6.5, 7.5);
    Harness h;
    run(&h, &a, 1024, NULL);
    assert_int_equal(harness_count(&h, KIND, 0), 0);
    assert_int_equal(harness_count(&h, CHANNEL_KIND, VQA_EVENT_START), 1);
    assert_interval(&h, CHANNEL_KIND, 0, GAP_FROM_S, GAP_TO_S);
    const HarnessEvent *e = harness_find(&h, CHANNEL_KIND, VQA_EVENT_END, 0);
    assert_non_null(strstr(e->details, "\"channels\":[1]"));
    assert_non_null(strstr(e->details, "\"digital_zero\":false"));
    assert_true(e->value > -70.0 && e->value < -50.0);
    harness_close(&h);
    harness_audio_free(&a);
}

static void test_all_silent_is_track_silence_only(void **state)
{
    (void)state;
    HarnessAudio a;
    tone_gap_tone(&a, 7.0);
    Harness h;
    run(&h, &a, 1024, NULL);
    assert_int_equal(harness_count(&h, CHANNEL_KIND, 0), 0);
    assert_one_silence(&h, GAP_FROM_S, GAP_TO_S);
    harness_close(&h);
    harness_audio_free(&a);
}

/*
 * The right channel dies at 1 s, the left follows at 3 s, the left returns at 6 s and
 * the right at 8 s. Documented: the channel event ends where the track's silence
 * begins, audio.silence covers [3, 6), and a new channel event runs from 6 to 8 s.
 */
static void test_channel_then_track_silence(void **state)
{
    (void)state;
    HarnessAudio a;
    harness_audio_init(&a, 2, RATE, 10.0);
    harness_audio_sine(&a, -1, 0.0, 10.0, 440.0, TONE_DBFS);
    harness_audio_silence(&a, 1, 1.0, 8.0);
    harness_audio_silence(&a, 0, 3.0, 6.0);
    Harness h;
    run(&h, &a, 1024, NULL);
    assert_int_equal(harness_count(&h, KIND, VQA_EVENT_START), 1);
    assert_int_equal(harness_count(&h, CHANNEL_KIND, VQA_EVENT_START), 2);
    assert_int_equal(harness_count(&h, CHANNEL_KIND, VQA_EVENT_END), 2);
    assert_interval(&h, CHANNEL_KIND, 0, 1.0, 3.0);
    assert_interval(&h, KIND, 0, 3.0, 6.0);
    assert_interval(&h, CHANNEL_KIND, 1, 6.0, 8.0);
    /* Never two open at once: each ends no later than the next begins. */
    assert_true(harness_find(&h, CHANNEL_KIND, VQA_EVENT_END, 0)->t <=
                harness_find(&h, KIND, VQA_EVENT_START, 0)->t);
    assert_true(harness_find(&h, KIND, VQA_EVENT_END, 0)->t <=
                harness_find(&h, CHANNEL_KIND, VQA_EVENT_START, 1)->t);
    assert_non_null(strstr(harness_find(&h, CHANNEL_KIND, VQA_EVENT_START, 1)->details,
                           "\"channels\":[1]"));
    harness_close(&h);

    /* The left channel's silence too short for the track: the channel event goes on. */
    harness_audio_sine(&a, 0, 4.5, 6.0, 440.0, TONE_DBFS);
    run(&h, &a, 1024, NULL);
    assert_int_equal(harness_count(&h, KIND, 0), 0);
    assert_int_equal(harness_count(&h, CHANNEL_KIND, VQA_EVENT_START), 1);
    assert_interval(&h, CHANNEL_KIND, 0, 1.0, 8.0);
    harness_close(&h);
    harness_audio_free(&a);
}

static void test_dead_channel_at_end(void **state)
{
    (void)state;
    HarnessAudio a;
    harness_audio_init(&a, 2, RATE, 5.0);
    harness_audio_sine(&a, -1, 0.0, 5.0, 440.0, TONE_DBFS);
    harness_audio_silence(&a, 0, 2.0, 5.0);
    Harness h;
    run(&h, &a, 1000, NULL);
    assert_int_equal(harness_count(&h, KIND, 0), 0);
    assert_interval(&h, CHANNEL_KIND, 0, 2.0, 5.0);
    const HarnessEvent *e = harness_find(&h, CHANNEL_KIND, VQA_EVENT_END, 0);
    assert_non_null(strstr(e->details, "\"channels\":[0]"));
    assert_non_null(strstr(e->details, "\"closed_by\":\"eos\""));
    harness_close(&h);
    harness_audio_free(&a);
}

static void test_ends_silent(void **state)
{
    (void)state;
    HarnessAudio a;
    tone_gap_tone(&a, GAP_TO_S);
    Harness h;
    run(&h, &a, 1024, NULL);
    assert_one_silence(&h, GAP_FROM_S, GAP_TO_S);
    const HarnessEvent *e = harness_find(&h, KIND, VQA_EVENT_END, 0);
    assert_near(e->t, (double)a.nb_samples / RATE, 1e-9);  /* the last sample's end */
    assert_non_null(strstr(e->details, "\"closed_by\":\"eos\""));
    harness_close(&h);
    harness_audio_free(&a);
}

static void test_short_silence_not_reported(void **state)
{
    (void)state;
    HarnessAudio a;
    harness_audio_init(&a, 2, RATE, 5.0);
    harness_audio_sine(&a, -1, 0.0, 5.0, 440.0, TONE_DBFS);
    harness_audio_silence(&a, -1, 1.0, 2.5);
    Harness h;
    run(&h, &a, 1024, NULL);
    assert_no_event(&h);
    harness_close(&h);
    run(&h, &a, 1024, "min_duration=1");
    assert_one_silence(&h, 1.0, 2.5);
    harness_close(&h);
    harness_audio_free(&a);
}

static void test_buffer_sizes_agree(void **state)
{
    (void)state;
    HarnessAudio a;
    tone_gap_tone(&a, 7.0);
    /* A dead channel before the track's silence and after it, to the end. */
    harness_audio_silence(&a, 1, 0.5, 7.0);
    Harness ref;
    run(&ref, &a, 1024, NULL);
    assert_one_silence(&ref, GAP_FROM_S, GAP_TO_S);
    assert_int_equal(harness_count(&ref, CHANNEL_KIND, VQA_EVENT_START), 2);
    static const int chunks[] = { 1023, 1, 7, 960, 4801, 48000 };
    for (size_t i = 0; i < sizeof(chunks) / sizeof(chunks[0]); i++) {
        Harness h;
        run(&h, &a, chunks[i], NULL);
        assert_int_equal(h.event_count, ref.event_count);
        for (size_t k = 0; k < h.event_count; k++) {
            assert_int_equal(h.events[k].state, ref.events[k].state);
            assert_string_equal(h.events[k].kind, ref.events[k].kind);
            assert_string_equal(h.events[k].details, ref.events[k].details);
            assert_near(h.events[k].t, ref.events[k].t, 1e-6);
            assert_near(h.events[k].value, ref.events[k].value, 1e-6);
        }
        harness_close(&h);
    }
    harness_close(&ref);
    harness_audio_free(&a);
}

static void test_mono_and_level_option(void **state)
{
    (void)state;
    HarnessAudio a;
    harness_audio_init(&a, 1, 44100, 6.0);
    harness_audio_sine(&a, 0, 0.0, 6.0, 440.0, -40.0);
    Harness h;
    run(&h, &a, 512, NULL);
    assert_no_event(&h);
    harness_close(&h);
    /* Raising the level to -30 dBFS makes the -40 dBFS tone silence: the whole input. */
    run(&h, &a, 512, "level=-30");
    assert_one_silence(&h, 0.0, 6.0);
    harness_close(&h);
    harness_audio_free(&a);
}

static void test_descriptor(void **state)
{
    (void)state;
    Harness h;
    assert_int_equal(harness_open(&h, "silence", "silence", NULL, NULL), 0);
    assert_string_equal(h.desc->name, "silence");
    assert_string_equal(h.desc->version, "1.1.0");
    assert_string_equal(h.cls->kinds[0], KIND);
    assert_string_equal(h.cls->kinds[1], CHANNEL_KIND);
    assert_string_equal(h.desc->license, "BSD-2-Clause");
    assert_int_equal(h.cls->input.sample_fmt, VQA_SAMPLE_FLTP);
    assert_true(h.cls->flags & VQA_DETECTOR_TEMPORAL);
    for (const VqaOption *o = h.cls->options; o->name; o++) {
        assert_non_null(o->help);
        assert_true(o->unit || o->type == VQA_OPT_BOOL);
        assert_true(o->min <= o->default_num && o->default_num <= o->max);
    }
    harness_close(&h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_digital_silence),
        cmocka_unit_test(test_low_noise_is_silence),
        cmocka_unit_test(test_quiet_passage_is_not_silence),
        cmocka_unit_test(test_dead_channel_is_not_silence),
        cmocka_unit_test(test_dead_channel_noise_and_short),
        cmocka_unit_test(test_all_silent_is_track_silence_only),
        cmocka_unit_test(test_channel_then_track_silence),
        cmocka_unit_test(test_dead_channel_at_end),
        cmocka_unit_test(test_ends_silent),
        cmocka_unit_test(test_short_silence_not_reported),
        cmocka_unit_test(test_buffer_sizes_agree),
        cmocka_unit_test(test_mono_and_level_option),
        cmocka_unit_test(test_descriptor),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
