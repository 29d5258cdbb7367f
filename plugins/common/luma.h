/*
 * Luma helpers shared by the picture detectors. Header-only: each plugin
 * compiles its own copy and still reaches the core only through plugin.h.
 */
#ifndef VQA_PLUGINS_LUMA_H
#define VQA_PLUGINS_LUMA_H

#include <stdint.h>

#include "vqa/frame.h"

/**
 * Share of a GRAY8 picture's pixels at or below black level plus `fraction`
 * of the luma range: limited range (16..235) unless the frame says full.
 * One compare-and-count pass per row, which the compiler vectorises; counted
 * in pieces of 255 pixels in 8-bit lanes (32 pixels per AVX2 step, where a
 * 32-bit count takes four widening steps per 32 pixels).
 */
static inline double vqa_luma_dark_share(const VqaFrame *f, double fraction)
{
    double level = f->range == VQA_RANGE_FULL ? fraction * 255.0 : 16.0 + fraction * 219.0;
    if (level >= 255.0)
        return 1.0;
    const uint8_t limit = (uint8_t)level; /* luma <= 37.9 means luma <= 37 */
    uint64_t dark = 0;
    for (int y = 0; y < f->height; y++) {
        const uint8_t *row = f->data[0] + y * f->linesize[0];
        for (int x0 = 0; x0 < f->width; x0 += 255) {
            const int n = f->width - x0 < 255 ? f->width - x0 : 255;
            uint8_t count = 0;
            for (int x = 0; x < n; x++)
                count = (uint8_t)(count + (row[x0 + x] <= limit));
            dark += count;
        }
    }
    return (double)dark / ((double)f->width * f->height);
}

#endif
