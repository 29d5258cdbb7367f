/*
 * MPEG-TS transport checks: ETSI TR 101 290 priority 1 (§5.2.1) on the raw
 * bytes of an input, before any demuxer sees them. Internal to lib/.
 *
 * Kinds reported (docs/ts-checks.md has the full table):
 *   stream.ts_sync_loss  1.1  interval: 2 corrupted sync bytes in a row .. 5 good ones in a row
 *   stream.ts_sync_byte  1.2  instant: a sync byte is not 0x47 (rate-limited, with a count)
 *   stream.ts_pat        1.3  interval: no PAT section for pat_timeout_s;
 *                             instant: another table_id on PID 0, or PID 0 scrambled
 *   stream.ts_cc         1.4  instant: continuity counter error on a PID (rate-limited per PID)
 *   stream.ts_pmt        1.5  interval: a PMT announced in the PAT absent for pmt_timeout_s;
 *                             instant: an MPEG table_id other than 2 on a PMT PID, or scrambled
 *   stream.ts_pid        1.6  interval: an elementary PID of a PMT absent for its timeout
 * The PAT, PMT and PID intervals are one interval per kind, open while at
 * least one PID of that kind is missing (the event contract pairs starts and
 * ends per kind); details list the PIDs.
 *
 * How to drive it (the pull-input path, e.g. from lib/demux.c):
 *   1. m = vqa_tsmon_alloc(report, opaque); optionally vqa_tsmon_configure(m, &settings)
 *      (for a file or any input read faster or slower than real time, set
 *      settings.clock = VQA_TS_CLOCK_PCR; for live network inputs keep VQA_TS_CLOCK_WALL).
 *   2. Every block of bytes the input yields, in order and untouched, goes to
 *      vqa_tsmon_feed(m, data, size, vqa_monotonic_s()) before libavformat parses
 *      it: e.g. give avformat_open_input a custom AVIOContext (avio_alloc_context)
 *      whose read_packet reads from the real one (avio_open2 with the stream's
 *      interrupt callback), feeds what it read, and returns it unchanged. Only the
 *      input's own bytes: not HLS segments or keys opened through io_open.
 *      Any chunking is fine (1 byte, 1316-byte datagrams, 32 KiB reads).
 *      Feed each byte of the input once: libavformat seeks back after probing,
 *      so keep the highest offset fed and skip bytes below it when they are read
 *      again (fed twice they would be duplicated packets). A seek forward past it
 *      leaves a hole: call vqa_tsmon_reset first.
 *   3. About every 100 ms, also while no bytes arrive (the input stalls or is
 *      reconnecting), call vqa_tsmon_tick(m, vqa_monotonic_s()): timeouts of the
 *      wall clock fire from there. (With the PCR clock tick does nothing; harmless.)
 *   4. On end of input, on a reconnect (before the first bytes of the new
 *      connection) and before vqa_tsmon_free: vqa_tsmon_reset(m) closes every open
 *      interval (END with details.closed_by = "reset") and reports pending counts.
 *   5. vqa_tsmon_free(&m). It reports nothing.
 * Nothing is reported until the bytes are recognised as TS (8 sync bytes at
 * one spacing of 188, 192 or 204 bytes); an input that is not TS within
 * settings.probe_bytes is ignored until the next reset, at a cost of one
 * memchr pass over those bytes. vqa_tsmon_active() tells which case holds.
 *
 * Mapping a report to an event (VqaEvent): kind and state as given; t is the
 * stream's latest media time (the lead's choice), back-dated by late_s for a
 * START. value and details as documented in docs/ts-checks.md (the details of
 * a missing-table or missing-PID START repeat late_s for the user).
 *
 * Thread-safety: one thread at a time for every function except
 * vqa_tsmon_active and vqa_tsmon_get_counters, which may be called from any
 * thread at any time. The report callback runs on the thread that called
 * feed, tick or reset, inside that call; it must not call back into the monitor.
 */
#ifndef VQA_LIB_TSMON_H
#define VQA_LIB_TSMON_H

#include <stddef.h>
#include <stdint.h>

#include "vqa/event.h"
#include "vqa/log.h"

typedef struct VqaTsMon VqaTsMon;

/**
 * One check result.
 * @param kind         "stream.ts_sync_loss", … (static strings)
 * @param state        VQA_EVENT_START / VQA_EVENT_END / VQA_EVENT_INSTANT
 * @param late_s       START only: seconds (on the monitor's clock) since the condition
 *                     began, to back-date the event by; 0 otherwise
 * @param details_json a JSON object; valid only during the call
 */
typedef void (*VqaTsReport)(void *opaque, const char *kind, VqaEventState state,
                            VqaSeverity severity, double value, double late_s,
                            const char *details_json);

/** Where the timing rules (PAT/PMT/PID timeouts, rate limits) take their time from. */
typedef enum VqaTsClock {
    /** now_s of feed and tick: arrival time. For live inputs. */
    VQA_TS_CLOCK_WALL = 0,
    /** The stream's own clock: the PCR of the first PID that carries one, interpolated
     *  by packet count between PCRs (and after they stop). For files and anything not
     *  read in real time. Until the first PCR no timeout runs. */
    VQA_TS_CLOCK_PCR = 1,
} VqaTsClock;

typedef struct VqaTsMonSettings {
    VqaTsClock clock;            /**< default VQA_TS_CLOCK_WALL */
    double pat_timeout_s;        /**< PAT absent this long is an error. Default 0.5 (spec) */
    double pmt_timeout_s;        /**< a PMT absent this long is an error. Default 0.5 (spec) */
    double pid_timeout_s;        /**< a video or audio PID absent this long. Default 5.0 */
    double pid_timeout_other_s;  /**< any other PID of a PMT (subtitles, data); 0 = not checked.
                                      Default 0: such streams may be silent for minutes */
    double report_interval_s;    /**< instants of one kind and PID at most this often; errors in
                                      between are counted into the next one. Default 1.0 */
    size_t probe_bytes;          /**< give up recognising TS after this many bytes without it.
                                      Default 1 MiB */
    const VqaLogger *log;        /**< recognition and give-up lines; NULL: none. Must outlive m */
} VqaTsMonSettings;

/** Per-check error counts since alloc (not cleared by reset). */
typedef struct VqaTsMonCounters {
    uint64_t packets;       /**< packets checked (in sync) */
    uint64_t bytes_skipped; /**< bytes outside packets after recognition: garbage, lost sync */
    uint64_t sync_loss;     /**< times sync was lost */
    uint64_t sync_byte;     /**< corrupted sync bytes */
    uint64_t pat;           /**< PAT absences + wrong table_id + scrambled */
    uint64_t cc;            /**< continuity counter errors */
    uint64_t pmt;           /**< PMT absences (per PID) + wrong table_id + scrambled */
    uint64_t pid;           /**< elementary PIDs that went missing */
} VqaTsMonCounters;

void vqa_tsmon_default_settings(VqaTsMonSettings *s);

/**
 * @param report called for every result (required)
 * @return a monitor with default settings, or NULL on ENOMEM or a NULL report
 */
VqaTsMon *vqa_tsmon_alloc(VqaTsReport report, void *opaque);

/**
 * Change the settings. Best before the first feed; the clock may only change then
 * (later it is refused). @return 0, or VQA_ERR(EINVAL) for a negative or non-finite
 * timeout, a zero PAT/PMT/PID timeout, or a clock change after the first feed.
 */
int vqa_tsmon_configure(VqaTsMon *m, const VqaTsMonSettings *s);

/** Free the monitor and set *m to NULL; NULL and *m == NULL are fine. Reports nothing. */
void vqa_tsmon_free(VqaTsMon **m);

/** Bytes as read, any chunking; now_s = monotonic wall seconds (for the timing rules). */
void vqa_tsmon_feed(VqaTsMon *m, const uint8_t *data, size_t size, double now_s);

/** Called periodically (~every 100 ms) even when no bytes come, for "missing/late" rules. */
void vqa_tsmon_tick(VqaTsMon *m, double now_s);

/** @return the packet spacing (188, 192 or 204) once the input is recognised as TS, else 0. */
int vqa_tsmon_active(const VqaTsMon *m);

/** End of input / reconnect: close anything open (END events) and reset state. */
void vqa_tsmon_reset(VqaTsMon *m);

/** Counters for stats: per check, how many errors. */
void vqa_tsmon_get_counters(const VqaTsMon *m, VqaTsMonCounters *c);

/**
 * Where the bytes fed so far are on the stream's own time base (seconds of
 * the 27 MHz PCR clock, comparable to PTS/DTS / 90000), with the PCR clock;
 * NAN with the wall clock or before the first PCR. The host places events
 * on its media timeline with it: a file's bytes are read far ahead of its
 * packets. Same thread as feed (e.g. inside the report callback).
 */
double vqa_tsmon_position_s(const VqaTsMon *m);

#endif
