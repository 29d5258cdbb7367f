/*
 * Clocks: wall time for timeouts and pacing (monotonic, never jumps), and
 * a thread's CPU time for per-detector accounting.
 */
#ifndef VQA_LIB_CLOCK_H
#define VQA_LIB_CLOCK_H

#include <stdint.h>

/** Monotonic wall clock, nanoseconds. */
int64_t vqa_monotonic_ns(void);

/** Monotonic wall clock, seconds. */
double vqa_monotonic_s(void);

/** CPU time consumed by the calling thread, nanoseconds. */
int64_t vqa_thread_cpu_ns(void);

/**
 * Sleep up to `seconds`, waking early when *stop becomes nonzero (checked
 * every few milliseconds). @return nonzero when stopped.
 */
int vqa_sleep_unless(double seconds, const _Atomic int *stop);

#endif
