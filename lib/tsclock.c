/*
 * A transport stream's own clock (see tsclock.h).
 */
#include "tsclock.h"

#include <string.h>

#define PCR_WRAP (((uint64_t)1 << 33) * 300)
#define PTS_MASK (((uint64_t)1 << 33) - 1)
/* A forward PCR step larger than this, without the discontinuity flag, is a
 * new time base (a spliced or concatenated file), not elapsed time. */
#define PCR_MAX_STEP_S 10.0
/* A timestamp further than this from its reference is not one to trust. */
#define TIMESTAMP_MAX_STEP_S 3600.0

void vqa_ts_clock_init(VqaTsStreamClock *c)
{
    memset(c, 0, sizeof(*c));
    c->pid = -1;
}

/* Fresh while PCRs come about as often as they did. */
static int pcr_fresh(const VqaTsStreamClock *c)
{
    return c->packet_index - c->pcr_packet <= 4 * c->interval_packets + 16;
}

static int on_refs(const VqaTsStreamClock *c)
{
    return c->has_placed && !pcr_fresh(c);
}

void vqa_ts_clock_packet(VqaTsStreamClock *c)
{
    c->packet_index++;
    /* Once the PCR is stale the packet rate says little (the PID that stopped
     * may have been most of it): timestamps take over when there are any. */
    if (!c->on || c->s_per_packet <= 0 || on_refs(c))
        return;
    double t = c->pcr_s + (double)(c->packet_index - c->pcr_packet) * c->s_per_packet;
    if (t > c->now_s)
        c->now_s = t;
}

/* A PCR interval is known: place the timestamps that came within it,
 * linearly by packet position. */
static void place_timestamps(VqaTsStreamClock *c, double step_s, uint64_t packets)
{
    for (size_t i = 0; i < c->n_refs; i++) {
        VqaTsTimestampRef *r = &c->refs[i];
        if (!r->pending)
            continue;
        r->pending = 0;
        r->placed = 1;
        c->has_placed = 1;
        r->ref_ts = r->pending_ts;
        r->ref_s = c->pcr_s + step_s * (double)(r->pending_packet - c->pcr_packet) /
                                  (double)packets;
    }
}

int vqa_ts_clock_pcr(VqaTsStreamClock *c, unsigned pid, uint64_t pcr, int discontinuity)
{
    if (c->pid >= 0 && (int)pid != c->pid) {
        if (pcr_fresh(c))
            return 0;
        discontinuity = 1; /* the clock's PID stopped carrying PCR: follow this one */
    }
    int started = !c->on;
    c->pid = (int)pid;
    if (started) {
        c->on = 1;
        c->now_s = c->pcr_s = 0;
        c->origin_s = (double)pcr / 27e6;
    } else {
        double step_s = (double)((pcr + PCR_WRAP - c->last_pcr) % PCR_WRAP) / 27e6;
        uint64_t packets = c->packet_index - c->pcr_packet;
        if (discontinuity || step_s > PCR_MAX_STEP_S) {
            c->pcr_s = c->now_s; /* a new time base continues from here */
            for (size_t i = 0; i < c->n_refs; i++)
                c->refs[i].pending = 0;
        } else {
            if (packets) {
                place_timestamps(c, step_s, packets);
                c->s_per_packet = step_s / (double)packets;
            }
            c->pcr_s += step_s;
            if (c->pcr_s > c->now_s)
                c->now_s = c->pcr_s;
            c->on_timestamps = 0;
            c->max_step_s = 0;
        }
        c->interval_packets = packets;
    }
    c->last_pcr = pcr;
    c->pcr_packet = c->packet_index;
    return started;
}

/* The DTS (else PTS) of a PES header. @return 0 if there is none. */
static int pes_timestamp(const uint8_t *p, size_t n, uint64_t *ts)
{
    if (n < 14 || p[0] != 0 || p[1] != 0 || p[2] != 1 || (p[6] & 0xC0) != 0x80)
        return 0;
    unsigned flags = p[7] >> 6;
    if (flags < 2 || (flags == 3 && n < 19))
        return 0;
    const uint8_t *q = p + (flags == 3 ? 14 : 9);
    *ts = (uint64_t)(q[0] >> 1 & 7) << 30 | (uint64_t)q[1] << 22 | (uint64_t)(q[2] >> 1) << 15 |
          (uint64_t)q[3] << 7 | q[4] >> 1;
    return 1;
}

static VqaTsTimestampRef *ref_of(VqaTsStreamClock *c, unsigned pid)
{
    for (size_t i = 0; i < c->n_refs; i++)
        if (c->refs[i].pid == pid)
            return &c->refs[i];
    if (c->n_refs == VQA_TS_CLOCK_REFS)
        return NULL;
    VqaTsTimestampRef *r = &c->refs[c->n_refs++];
    memset(r, 0, sizeof(*r));
    r->pid = (uint16_t)pid;
    return r;
}

double vqa_ts_clock_pes(VqaTsStreamClock *c, unsigned pid, const uint8_t *payload, size_t size)
{
    uint64_t ts;
    VqaTsTimestampRef *r;
    if (!c->on || !pes_timestamp(payload, size, &ts) || !(r = ref_of(c, pid)))
        return 0;
    if (pcr_fresh(c)) { /* placed when the next PCR tells where this interval ends */
        r->pending = 1;
        r->pending_ts = ts;
        r->pending_packet = c->packet_index;
        return 0;
    }
    double elapsed_s = (double)((ts - r->ref_ts) & PTS_MASK) / 90000.0;
    double step_s = r->ref_s + elapsed_s - c->now_s;
    if (!r->placed || elapsed_s >= TIMESTAMP_MAX_STEP_S || step_s <= 0)
        return 0; /* a step back (a reordered PTS) wraps round and is ignored */
    c->now_s += step_s;
    if (!c->on_timestamps) {
        c->on_timestamps = 1;
        return step_s;
    }
    if (step_s > c->max_step_s)
        c->max_step_s = step_s;
    return 0;
}

double vqa_ts_clock_uncertainty(const VqaTsStreamClock *c)
{
    return on_refs(c) ? c->max_step_s : 0;
}
