/*
 * A transport stream's own clock, for the transport checks (tsmon.c) when the
 * bytes do not arrive in real time (files): the PCR of one PID, interpolated
 * by packet count between PCRs. When that PCR stops (often because its PID is
 * the video that went missing), PES timestamps of the other PIDs, placed on
 * the clock while the PCR was still there, carry it on.
 *
 * Plain struct, no allocation. Thread-safety: one thread at a time.
 */
#ifndef VQA_LIB_TSCLOCK_H
#define VQA_LIB_TSCLOCK_H

#include <stddef.h>
#include <stdint.h>

/** PIDs whose PES timestamps can stand in for the PCR (the first ones seen). */
#define VQA_TS_CLOCK_REFS 32

typedef struct VqaTsTimestampRef {
    uint16_t pid;
    uint8_t placed;           /* ref/ref_s hold */
    uint8_t pending;          /* pending_ts waits for the next PCR to be placed */
    uint64_t ref_ts;          /* a DTS/PTS, 90 kHz ... */
    double ref_s;             /* ... and where it came on the clock */
    uint64_t pending_ts, pending_packet;
} VqaTsTimestampRef;

typedef struct VqaTsStreamClock {
    double now_s;             /**< the clock: 0 at the first PCR, never goes back */
    int on;                   /**< a PCR has been seen */
    int pid;                  /* whose PCR drives it; -1 none yet */
    uint64_t packet_index, last_pcr, pcr_packet, interval_packets;
    double pcr_s, s_per_packet;
    double origin_s;          /**< the first PCR, seconds on the stream's own 27 MHz time base */
    int has_placed;           /* some timestamp is placed */
    int on_timestamps;        /* it has taken a step from PES timestamps */
    double max_step_s;        /* the largest such step since (the first aside) */
    size_t n_refs;
    VqaTsTimestampRef refs[VQA_TS_CLOCK_REFS];
} VqaTsStreamClock;

/** Set to "no PCR seen yet". */
void vqa_ts_clock_init(VqaTsStreamClock *c);

/** Every packet in sync, before its PCR or PES header is given: advances by interpolation. */
void vqa_ts_clock_packet(VqaTsStreamClock *c);

/**
 * A PCR (27 MHz) of the packet just counted.
 * @return 1 if this PCR started the clock (now_s = 0), else 0
 */
int vqa_ts_clock_pcr(VqaTsStreamClock *c, unsigned pid, uint64_t pcr, int discontinuity);

/**
 * The payload of a packet that starts a PES (unscrambled).
 * @return the first step the clock took from timestamps, in seconds: time the
 *         slow interpolation before it failed to count, which the caller should
 *         not count as having passed for what it watches; else 0
 */
double vqa_ts_clock_pes(VqaTsStreamClock *c, unsigned pid, const uint8_t *payload, size_t size);

/**
 * @return 0 while the PCR drives the clock; else the largest step the clock has
 *         taken on timestamps, which is how far off a time measured now may be
 */
double vqa_ts_clock_uncertainty(const VqaTsStreamClock *c);

#endif
