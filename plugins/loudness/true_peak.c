/*
 * True peak by polyphase interpolation (see true_peak.h).
 *
 * The interpolator is a Hann-windowed sinc cut off at the input's Nyquist
 * frequency and spanning 48 points of the oversampled signal: 6 input
 * samples either side at 4x (the band-limited reconstruction BS.1770-4
 * Annex 2 describes, 12 taps per phase like its example filter), 12 at 2x;
 * the same design as libebur128's, which it agrees with to 0.01 dB
 * (tests/test_true_peak.c). Phase 0 is the samples themselves; phase p is
 * the point p/factor of the way to the next sample, a FIR over the last
 * `taps` samples, so at 4x every point of sample i lies between samples i-6
 * and i-5. Each phase is scaled to unit gain at DC, so a constant reads its
 * own value (libebur128's phases have 1.0009).
 *
 * Cost: 12 multiply-adds per phase and sample at 4x, in float, vectorised
 * over the block; a 48 kHz stereo stream takes a small fraction of what
 * libebur128's scalar double-precision interpolator took (docs/performance.md).
 */
#include "true_peak.h"

#include "../common/simd.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define TP_HISTORY (VQA_TP_MAX_TAPS - 1)
#define TP_PI 3.14159265358979323846

#define TP_CHUNK 64       /* points computed side by side */

/* As VQA_VECTORISE (../common/simd.h), and a float max becomes a SIMD max only when NaNs
 * and signed zeros may be ignored, which a peak of decoded audio can. Per point the taps
 * are still summed in order and without fused multiply-adds (AVX2 does not imply FMA),
 * so the baseline and the AVX2 versions give the same peaks. */
#if defined(__GNUC__) && !defined(__clang__)
#define TP_VECTORISE __attribute__((optimize("tree-vectorize", "vect-cost-model=dynamic", \
                                             "finite-math-only", "no-signed-zeros")))
#define TP_INLINE TP_VECTORISE static inline __attribute__((always_inline))
#elif defined(__GNUC__)
#define TP_VECTORISE
#define TP_INLINE static inline __attribute__((always_inline))
#else
#define TP_VECTORISE
#define TP_INLINE static inline
#endif

/* u in input samples from the point, half_span the window's half width. */
static double windowed_sinc(double u, double half_span)
{
    const double sinc = fabs(u) < 1e-9 ? 1.0 : sin(TP_PI * u) / (TP_PI * u);
    return sinc * 0.5 * (1.0 + cos(TP_PI * u / half_span));
}

/* The taps of phase p: tap t weighs the sample p/factor + half - 1 - t samples before the
 * point, the oldest of the last `taps` samples first. */
static void design(VqaTruePeak *tp)
{
    const int half = tp->taps / 2;
    for (int p = 1; p < tp->factor; p++) {
        double h[VQA_TP_MAX_TAPS], sum = 0;
        for (int t = 0; t < tp->taps; t++) {
            h[t] = windowed_sinc((double)p / tp->factor + (half - 1) - t, half);
            sum += h[t];
        }
        for (int t = 0; t < tp->taps; t++)
            tp->coef[p - 1][t] = (float)(h[t] / sum);
    }
}

int vqa_true_peak_setup(VqaTruePeak *tp, int sample_rate, int channels, int max_frames)
{
    const size_t line_len = (size_t)TP_HISTORY + (size_t)max_frames;
    float *lines = calloc(line_len * (size_t)channels, sizeof(*lines));
    free(tp->lines);
    memset(tp, 0, sizeof(*tp));
    if (!lines)
        return -1;
    tp->lines = lines;
    tp->channels = channels;
    tp->max_frames = max_frames;
    tp->factor = sample_rate < 96000 ? 4 : sample_rate < 192000 ? 2 : 1;
    tp->taps = VQA_TP_SPAN / tp->factor;
    design(tp);
    return 0;
}

void vqa_true_peak_free(VqaTruePeak *tp)
{
    free(tp->lines);
    memset(tp, 0, sizeof(*tp));
}

static float *line_of(VqaTruePeak *tp, int channel)
{
    return tp->lines + ((size_t)TP_HISTORY + (size_t)tp->max_frames) * (size_t)channel;
}

float *vqa_true_peak_input(VqaTruePeak *tp, int channel)
{
    return line_of(tp, channel) + TP_HISTORY;
}

/* max |x| over n samples. */
TP_INLINE float sample_peak(const float *restrict x, const int n)
{
    float peak = 0.0f;
    for (int i = 0; i < n; i++) {
        const float a = fabsf(x[i]);
        peak = peak > a ? peak : a;
    }
    return peak;
}

/* max |y| over the n points of one phase; x[0] is the oldest sample the first point
 * uses. A chunk of points at a time, tap by tap: every loop is a plain SIMD loop, and
 * each point still sums its taps in order. */
TP_INLINE float phase_peak(const float *restrict x, const float *restrict h, const int taps,
                           const int n)
{
    float peak = 0.0f;
    for (int i0 = 0; i0 < n; i0 += TP_CHUNK) {
        const int m = n - i0 < TP_CHUNK ? n - i0 : TP_CHUNK;
        float y[TP_CHUNK];
        for (int j = 0; j < m; j++)
            y[j] = h[0] * x[i0 + j];
        for (int t = 1; t < taps; t++) {
            const float c = h[t];
            const float *restrict xt = x + i0 + t;
            for (int j = 0; j < m; j++)
                y[j] += c * xt[j];
        }
        peak = fmaxf(peak, sample_peak(y, m));
    }
    return peak;
}

/* The true peak of one channel's block: its samples and the points of every phase. */
VQA_SIMD_CLONES TP_VECTORISE static float channel_peak(const VqaTruePeak *tp,
                                                       const float *line, const int n)
{
    /* Phase 0 of the points lags the samples by half the span: count both the block's
     * samples and the ones its points start from (whatever the block size). */
    const int lag = tp->factor > 1 ? tp->taps / 2 : 0;
    float peak = fmaxf(sample_peak(line + TP_HISTORY, n), sample_peak(line + TP_HISTORY - lag, n));
    for (int p = 1; p < tp->factor; p++)
        peak = fmaxf(peak, phase_peak(line + TP_HISTORY - (tp->taps - 1), tp->coef[p - 1],
                                      tp->taps, n));
    return peak;
}

double vqa_true_peak_block(VqaTruePeak *tp, int n)
{
    float peak = 0.0f;
    if (n <= 0 || !tp->lines)
        return 0.0;
    for (int c = 0; c < tp->channels; c++) {
        float *line = line_of(tp, c);
        const float v = channel_peak(tp, line, n);
        peak = v > peak ? v : peak;
        /* The block's last samples are the next block's history. */
        memmove(line, line + n, TP_HISTORY * sizeof(*line));
    }
    return peak;
}
