/*
 * The loudness plugin's true peak (plugins/loudness/true_peak.c) against
 * libebur128's own true-peak mode, which it replaces for cost, and against
 * peaks known from the signal: block by block on noise, tones, a clipped
 * tone and a tone near a quarter of the rate, at 48, 96 and 192 kHz, in any
 * block size.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>
#include <ebur128.h>

#include "true_peak.h"

#define TP_PI 3.14159265358979323846
#define CHANNELS 2
/* The two interpolators differ in their coefficients' scale (ours has unit gain at DC,
 * libebur128's 1.0009): 0.008 dB; anything beyond this is a real difference. */
#define AGREE_DB 0.02

static double db(double linear)
{
    return 20.0 * log10(linear);
}

/* A test signal, sample n of channel c: noise, tones, a clipped tone, 12 kHz. */
static float signal_at(int64_t n, int c, int rate, uint32_t *seed)
{
    const int64_t part = n / rate; /* one second each */
    const double t = (double)n / rate;
    switch (part % 4) {
    case 0:
        *seed = *seed * 1664525u + 1013904223u;
        return (float)((((*seed >> 8) / 16777216.0) - 0.5) * 1.6);
    case 1:
        return (float)(0.9 * sin(2 * TP_PI * (1000.0 + 3000.0 * c) * t + c));
    case 2: {
        double v = 1.5 * sin(2 * TP_PI * 997.0 * t);
        return (float)(v > 1 ? 1 : v < -1 ? -1 : v);
    }
    default:
        return (float)(0.5 * sin(2 * TP_PI * 12000.0 * t + TP_PI / 4));
    }
}

/* Feed `seconds` of the signal in blocks of `block`, comparing every block with libebur128. */
static void agree_with_libebur128(int rate, int block, double seconds)
{
    ebur128_state *st = ebur128_init(CHANNELS, (unsigned long)rate, EBUR128_MODE_TRUE_PEAK);
    assert_non_null(st);
    VqaTruePeak tp = { 0 };
    assert_int_equal(vqa_true_peak_setup(&tp, rate, CHANNELS, block), 0);
    float *interleaved = malloc(sizeof(float) * (size_t)block * CHANNELS);
    assert_non_null(interleaved);
    uint32_t seed = 1;
    const int64_t total = (int64_t)(seconds * rate);
    double worst_db = 0, highest = 0;
    for (int64_t pos = 0; pos < total; pos += block) {
        const int n = total - pos < block ? (int)(total - pos) : block;
        for (int i = 0; i < n; i++)
            for (int c = 0; c < CHANNELS; c++) {
                const float v = signal_at(pos + i, c, rate, &seed);
                interleaved[i * CHANNELS + c] = v;
                vqa_true_peak_input(&tp, c)[i] = v;
            }
        assert_int_equal(ebur128_add_frames_float(st, interleaved, (size_t)n), EBUR128_SUCCESS);
        double ref = 0;
        for (unsigned c = 0; c < CHANNELS; c++) {
            double v = 0;
            assert_int_equal(ebur128_prev_true_peak(st, c, &v), EBUR128_SUCCESS);
            ref = fmax(ref, v);
        }
        const double ours = vqa_true_peak_block(&tp, n);
        const double d = db(ours / ref);
        if (fabs(d) > fabs(worst_db))
            worst_db = d;
        highest = fmax(highest, ours);
        if (fabs(d) > AGREE_DB)
            fail_msg("%d Hz, blocks of %d, at sample %lld: ours %.5f, libebur128 %.5f (%.3f dB)",
                     rate, block, (long long)pos, ours, ref, d);
    }
    /* The clipped tone overshoots full scale between its samples below 192 kHz. */
    if (rate < 192000)
        assert_true(highest > 1.005);
    print_message("%d Hz, blocks of %d: largest difference %.4f dB\n", rate, block, worst_db);
    free(interleaved);
    vqa_true_peak_free(&tp);
    ebur128_destroy(&st);
}

static void test_agrees_48k(void **state)
{
    (void)state;
    agree_with_libebur128(48000, 4800, 8.0);
    agree_with_libebur128(44100, 4410, 4.0);
}

static void test_agrees_96k_and_192k(void **state)
{
    (void)state;
    agree_with_libebur128(96000, 9600, 4.0);   /* 2x */
    agree_with_libebur128(192000, 19200, 4.0); /* sample peak */
}

static void test_agrees_in_any_block_size(void **state)
{
    (void)state;
    agree_with_libebur128(48000, 7, 4.0);
    agree_with_libebur128(48000, 1, 0.5);
    agree_with_libebur128(48000, 1021, 4.0);
}

/* The peak of `amp` x sin(2 pi f t) at 48 kHz, fed in blocks of `block`. */
static double sine_true_peak(double freq_hz, double amp, int block, double *sample_peak)
{
    const int rate = 48000;
    VqaTruePeak tp = { 0 };
    assert_int_equal(vqa_true_peak_setup(&tp, rate, 1, block), 0);
    double peak = 0;
    *sample_peak = 0;
    for (int64_t pos = 0; pos < rate; pos += block) {
        float *x = vqa_true_peak_input(&tp, 0);
        for (int i = 0; i < block; i++) {
            x[i] = (float)(amp * sin(2 * TP_PI * freq_hz * (double)(pos + i) / rate));
            *sample_peak = fmax(*sample_peak, fabs(x[i]));
        }
        peak = fmax(peak, vqa_true_peak_block(&tp, block));
    }
    vqa_true_peak_free(&tp);
    return peak;
}

static void test_peak_between_samples(void **state)
{
    (void)state;
    /* 8 kHz at 48 kHz: the samples fall every 60 degrees of the sine, so the highest reads
     * sin(60) = -1.25 dB; 4x oversampling has a point every 15 degrees, at the crest, read
     * within the interpolator's ripple at a sixth of the rate (+0.36 dB, as libebur128). */
    double sp = 0;
    double peak = sine_true_peak(8000.0, 0.5, 4800, &sp);
    assert_true(fabs(db(sp / 0.5) - db(sin(TP_PI / 3))) < 0.01);
    assert_true(db(peak / 0.5) > -0.05 && db(peak / 0.5) < 0.4);
    /* The same when the crest comes right after a block boundary (blocks of 5). */
    double peak5 = sine_true_peak(8000.0, 0.5, 5, &sp);
    assert_true(fabs(db(peak5 / peak)) < 1e-4);
    /* A 1 kHz tone reads its amplitude. */
    assert_true(fabs(db(sine_true_peak(1000.0, 0.25, 4800, &sp) / 0.25)) < 0.01);
}

static void test_constant_and_silence(void **state)
{
    (void)state;
    VqaTruePeak tp = { 0 };
    assert_int_equal(vqa_true_peak_setup(&tp, 48000, 1, 64), 0);
    float *x = vqa_true_peak_input(&tp, 0);
    for (int i = 0; i < 64; i++)
        x[i] = 0.0f;
    assert_true(vqa_true_peak_block(&tp, 64) == 0.0);
    for (int b = 0; b < 3; b++) { /* unit gain at DC: a constant reads itself */
        x = vqa_true_peak_input(&tp, 0);
        for (int i = 0; i < 64; i++)
            x[i] = -0.5f;
        const double v = vqa_true_peak_block(&tp, 64);
        if (b > 0)
            assert_true(fabs(v - 0.5) < 1e-6);
    }
    assert_true(vqa_true_peak_block(&tp, 0) == 0.0);
    /* Set up again for another layout: the history starts empty. */
    assert_int_equal(vqa_true_peak_setup(&tp, 96000, 3, 16), 0);
    assert_int_equal(tp.factor, 2);
    for (int c = 0; c < 3; c++)
        for (int i = 0; i < 16; i++)
            vqa_true_peak_input(&tp, c)[i] = 0.0f;
    assert_true(vqa_true_peak_block(&tp, 16) == 0.0);
    vqa_true_peak_free(&tp);
    assert_null(tp.lines);
    vqa_true_peak_free(&tp); /* twice is harmless */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_agrees_48k),
        cmocka_unit_test(test_agrees_96k_and_192k),
        cmocka_unit_test(test_agrees_in_any_block_size),
        cmocka_unit_test(test_peak_between_samples),
        cmocka_unit_test(test_constant_and_silence),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
