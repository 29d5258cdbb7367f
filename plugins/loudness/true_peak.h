/*
 * True peak (ITU-R BS.1770-4 Annex 2): the highest absolute value of the
 * signal oversampled 4x (2x from 96 kHz, none from 192 kHz), so that peaks
 * between the samples count. Used by the loudness detector in place of
 * libebur128's own true-peak mode, whose scalar double-precision
 * interpolator cost as much as a third of a 480p stream's whole analysis
 * (docs/performance.md); this one runs the same kind of filter over a block
 * at a time in float, in loops the compiler vectorises.
 *
 * Thread-safety: one VqaTruePeak belongs to one detector instance.
 */
#ifndef VQA_PLUGINS_TRUE_PEAK_H
#define VQA_PLUGINS_TRUE_PEAK_H

#include <stddef.h>

/* The interpolator spans 48 points of the oversampled signal: 12 input
 * samples (6 either side) at 4x, 24 at 2x. */
#define VQA_TP_SPAN 48
#define VQA_TP_MAX_FACTOR 4
#define VQA_TP_MAX_TAPS (VQA_TP_SPAN / 2)

typedef struct VqaTruePeak {
    int factor;          /* oversampling: 4, 2 or 1 */
    int taps;            /* per phase: VQA_TP_SPAN / factor */
    int channels;
    int max_frames;      /* largest block vqa_true_peak_block() accepts */
    /* coef[p - 1]: the phase p / factor of the way from one sample to the next */
    float coef[VQA_TP_MAX_FACTOR - 1][VQA_TP_MAX_TAPS];
    /* per channel: VQA_TP_MAX_TAPS - 1 past samples, then room for max_frames */
    float *lines;
} VqaTruePeak;

/**
 * Set up for a rate and channel count; a set-up VqaTruePeak may be set up
 * again (the history restarts). @return 0, or -1 when out of memory (the
 * state is then empty but may be freed or set up again).
 */
int vqa_true_peak_setup(VqaTruePeak *tp, int sample_rate, int channels, int max_frames);

void vqa_true_peak_free(VqaTruePeak *tp);

/**
 * Where the next block's samples of `channel` go (max_frames floats): fill
 * it for every channel, then call vqa_true_peak_block().
 */
float *vqa_true_peak_input(VqaTruePeak *tp, int channel);

/**
 * The true peak (linear, 1.0 = 0 dBTP) of the n samples just written, over
 * all channels: the highest of the samples and of the points interpolated
 * between them. Interpolation needs samples on both sides, so the points
 * reach back into the previous block by half the filter span (6 samples at
 * 4x), as do the samples counted with them. n <= max_frames.
 */
double vqa_true_peak_block(VqaTruePeak *tp, int n);

#endif
