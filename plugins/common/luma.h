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
 * One compare-and-count pass per row, which the compiler vectorises.
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
        uint32_t n = 0;
        for (int x = 0; x < f->width; x++)
            n += row[x] <= limit;
        dark += n;
    }
    return (double)dark / ((double)f->width * f->height);
}

#endif
