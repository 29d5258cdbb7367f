/*
 * Attributes for the plugins' hot loops (lib/convert.c has the same for the
 * core's). Header-only, like luma.h.
 *
 * VQA_VECTORISE: GCC 12 at -O2 vectorises only loops without an epilogue;
 * these loops need its full cost model to become SIMD (clang vectorises them
 * at -O2 anyway).
 *
 * VQA_SIMD_CLONES: the function is compiled twice, for baseline x86-64 (SSE2)
 * and for AVX2, and the loader picks the one the CPU runs (target_clones, an
 * ifunc; meson defines VQA_HAVE_TARGET_CLONES where it works: x86-64 with
 * glibc). Wider registers halve the cost of these integer loops on any CPU of
 * the last ten years. What such a function calls must be inlined into it
 * (VQA_SIMD_INLINE) to be compiled for AVX2 too.
 */
#ifndef VQA_PLUGINS_SIMD_H
#define VQA_PLUGINS_SIMD_H

#if defined(__GNUC__) && !defined(__clang__)
#define VQA_VECTORISE __attribute__((optimize("tree-vectorize", "vect-cost-model=dynamic")))
#else
#define VQA_VECTORISE
#endif

#if defined(__GNUC__)
#define VQA_SIMD_INLINE VQA_VECTORISE static inline __attribute__((always_inline))
#else
#define VQA_SIMD_INLINE static inline
#endif

#if defined(VQA_HAVE_TARGET_CLONES)
#define VQA_SIMD_CLONES __attribute__((target_clones("avx2", "default")))
#else
#define VQA_SIMD_CLONES
#endif

#endif
