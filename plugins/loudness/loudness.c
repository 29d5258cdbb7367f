/*
 * audio.loudness: short-term loudness (EBU R128, 3 s window) outside
 * target ± tolerance for min_duration; plus over-limit true peaks and a
 * programme summary at the end of the stream.
 *
 * The measurement is libebur128 (ITU-R BS.1770-4 K-weighting, gating);
 * this file schedules it and turns its readings into events. The histogram
 * mode keeps the state a fixed size, so a stream that runs for weeks costs no
 * more memory than a short one. Two things are done here instead, for cost
 * (docs/performance.md): the true peak (4x oversampling below 96 kHz) comes
 * from true_peak.c, vectorised, rather than libebur128's scalar interpolator,
 * which was a quarter of a 480p stream's analysis; and the momentary and
 * short-term readings are energy means of the meter's 100 ms blocks, so a
 * reading every 100 ms sums 100 ms of audio, not the whole 3 s window again.
 *
 * Every 100 ms of audio the short-term loudness is read. A reading describes
 * the 3 s window that ends there, so it is labelled with the window's centre
 * (end - 1.5 s): for a level step the reported bounds are then within 1.5 s
 * of the step on either side, never only late. Short-term below the absolute
 * gate (-70 LUFS) is silence, which is the silence detector's business: it
 * is in range here, so a quiet passage that fades out ends the alarm.
 *
 * Events of one detector must come out in media-time order, but a START is
 * back-dated by up to min_duration. So a true-peak event waits (one slot,
 * rate-limited) until no START earlier than it can still come.
 */
#include <ebur128.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "true_peak.h"
#include "vqa/plugin.h"

#define LOUDNESS_KIND "audio.loudness"
#define TRUE_PEAK_KIND "x-loudness.true_peak"
#define SUMMARY_KIND "x-loudness.summary"
#define LOUDNESS_MODE (EBUR128_MODE_M | EBUR128_MODE_S | EBUR128_MODE_I | EBUR128_MODE_LRA | \
                       EBUR128_MODE_HISTOGRAM)
#define HOP_S 0.1             /* how often the meter is read */
#define HOP_MS 100
#define MOMENTARY_HOPS 4      /* windows in 100 ms blocks */
#define SHORT_TERM_HOPS 30
#define LUFS_OFFSET -0.691    /* BS.1770: loudness = 10 log10(energy) - 0.691 */
#define MOMENTARY_S 0.4       /* BS.1770 momentary window */
#define SHORT_TERM_S 3.0      /* EBU R128 short-term window */
#define ABSOLUTE_GATE_LUFS -70.0
#define TRUE_PEAK_GAP_S 10.0  /* at most one true-peak event per this long */
#define LOUDNESS_EPS_S 1e-6
#define DETAILS_SIZE 256

enum { DIR_NONE = 0, DIR_HIGH = 1, DIR_LOW = -1 };

typedef struct LoudnessPriv {
    /* options */
    double target_lufs;
    double tolerance_lu;
    double min_duration_s;
    double true_peak_limit_dbtp;

    ebur128_state *meter;
    int sample_rate;
    int channels;
    float *scratch;             /* interleaving buffer for planar input: hop frames */
    VqaTruePeak tp;
    int64_t hop_len;            /* samples per channel between readings */
    /* Energies of the last SHORT_TERM_HOPS 100 ms blocks, newest at hop_next - 1; used
     * when a hop is exactly the meter's 100 ms window (the rate is a multiple of 10 Hz). */
    int block_readings;
    double hop_energy[SHORT_TERM_HOPS];
    int hop_next;
    int64_t hop_pos;
    double hop_start_t;         /* time of the current hop's first sample */
    int64_t since_config;       /* samples fed since the meter last (re)started */

    double start_t;             /* the first sample's time */
    double end_t;               /* last media time seen */
    double last_emit_t;         /* events never go back before this */
    int have_buffer;
    int evaluated;              /* a short-term reading has been taken */
    double last_centre_t;       /* label of the latest reading */
    double momentary_lufs;      /* latest readings */
    double short_term_lufs;
    double max_momentary_lufs;
    double max_short_term_lufs;
    double hop_peak;            /* highest true peak (linear) since the last reading */
    double max_peak;            /* highest true peak (linear) of the stream */

    /* the current out-of-range run */
    int run_dir;
    int active;                 /* START emitted */
    double onset_t;
    double onset_short_term_lufs;
    double onset_momentary_lufs;
    double run_extreme_lufs;
    double run_energy;          /* sum of 10^(L/10) over the run's readings */
    int64_t run_readings;
    double run_peak;

    /* a true-peak event waiting for its turn */
    int tp_pending;
    double tp_t;
    double tp_peak;
    int tp_count;               /* over-limit blocks folded into it */
    int tp_any;
    double tp_last_t;
} LoudnessPriv;

static double to_dbtp(double linear)
{
    return linear > 0 ? 20.0 * log10(linear) : -HUGE_VAL;
}

/* A level for JSON: a number, or null for -inf (nothing measured above the gate). */
static const char *json_db(char *buf, size_t size, double v)
{
    if (isfinite(v))
        snprintf(buf, size, "%.2f", v);
    else
        snprintf(buf, size, "null");
    return buf;
}

static double integrated_lufs(LoudnessPriv *p)
{
    double v = -HUGE_VAL;
    if (p->meter && ebur128_loudness_global(p->meter, &v) != EBUR128_SUCCESS)
        v = -HUGE_VAL;
    return v;
}

static int emit(VqaDetectorContext *ctx, LoudnessPriv *p, const char *kind,
                VqaEventState state, double t, double value, VqaSeverity severity,
                const char *details)
{
    /* A timestamp jump backwards must not reorder our events. */
    if (t < p->last_emit_t)
        t = p->last_emit_t;
    p->last_emit_t = t;
    VqaDetection d = { kind, state, t, value, isfinite(value), severity, details };
    return ctx->host->emit(ctx, &d);
}

static int emit_true_peak(VqaDetectorContext *ctx, LoudnessPriv *p)
{
    char details[DETAILS_SIZE], db[32];
    snprintf(details, sizeof(details), "{\"limit_dbtp\":%s,\"blocks\":%d}",
             json_db(db, sizeof(db), p->true_peak_limit_dbtp), p->tp_count);
    p->tp_pending = 0;
    return emit(ctx, p, TRUE_PEAK_KIND, VQA_EVENT_INSTANT, p->tp_t, to_dbtp(p->tp_peak),
                VQA_SEVERITY_WARNING, details);
}

/* The earliest time a future START can carry: held events up to it may go. */
static double horizon_t(const LoudnessPriv *p)
{
    if (p->run_dir != DIR_NONE && !p->active)
        return p->onset_t;
    return p->evaluated ? p->last_centre_t : p->start_t;
}

static int release_true_peak(VqaDetectorContext *ctx, LoudnessPriv *p)
{
    if (p->tp_pending && p->tp_t <= horizon_t(p) + LOUDNESS_EPS_S)
        return emit_true_peak(ctx, p);
    return 0;
}

/* A piece of the block starting at t: note its peak; over the limit, hold an event. */
static void note_true_peak(LoudnessPriv *p, double t, double peak)
{
    if (peak > p->hop_peak)
        p->hop_peak = peak;
    if (peak > p->max_peak)
        p->max_peak = peak;
    if (to_dbtp(peak) <= p->true_peak_limit_dbtp)
        return;
    if (p->tp_pending) {
        /* Still waiting: fold this block into it. */
        p->tp_count++;
        if (peak > p->tp_peak)
            p->tp_peak = peak;
        return;
    }
    if (p->tp_any && t < p->tp_last_t + TRUE_PEAK_GAP_S - LOUDNESS_EPS_S)
        return;
    p->tp_pending = 1;
    p->tp_any = 1;
    p->tp_t = t;
    p->tp_last_t = t;
    p->tp_peak = peak;
    p->tp_count = 1;
}

static int classify(const LoudnessPriv *p, double short_term_lufs)
{
    if (!(short_term_lufs >= ABSOLUTE_GATE_LUFS))
        return DIR_NONE; /* silence (or -inf): not ours */
    if (short_term_lufs > p->target_lufs + p->tolerance_lu)
        return DIR_HIGH;
    if (short_term_lufs < p->target_lufs - p->tolerance_lu)
        return DIR_LOW;
    return DIR_NONE;
}

static void run_details(LoudnessPriv *p, char *out, size_t size, double momentary_lufs,
                        int with_mean, int eos)
{
    char m[32], i[32], tp[32], mean[48] = "";
    if (with_mean && p->run_readings > 0) {
        double mean_lufs = 10.0 * log10(p->run_energy / (double)p->run_readings);
        snprintf(mean, sizeof(mean), ",\"mean_short_term\":%.2f", mean_lufs);
    }
    json_db(m, sizeof(m), momentary_lufs);
    json_db(i, sizeof(i), integrated_lufs(p));
    json_db(tp, sizeof(tp), to_dbtp(p->run_peak));
    snprintf(out, size,
             "{\"direction\":\"%s\",\"momentary\":%s,\"integrated\":%s,\"true_peak_dbtp\":%s"
             "%s%s}",
             p->run_dir == DIR_HIGH ? "high" : "low", m, i, tp, mean,
             eos ? ",\"closed_by\":\"eos\"" : "");
}

static int end_run(VqaDetectorContext *ctx, LoudnessPriv *p, double t, int eos)
{
    int ret = 0;
    if (p->active) {
        char details[DETAILS_SIZE];
        run_details(p, details, sizeof(details), p->momentary_lufs, 1, eos);
        ret = emit(ctx, p, LOUDNESS_KIND, VQA_EVENT_END, t, p->run_extreme_lufs,
                   VQA_SEVERITY_WARNING, details);
    }
    p->run_dir = DIR_NONE;
    p->active = 0;
    return ret;
}

static void begin_run(LoudnessPriv *p, int dir, double onset_t)
{
    p->run_dir = dir;
    p->active = 0;
    p->onset_t = onset_t;
    p->onset_short_term_lufs = p->short_term_lufs;
    p->onset_momentary_lufs = p->momentary_lufs;
    p->run_extreme_lufs = p->short_term_lufs;
    p->run_energy = 0;
    p->run_readings = 0;
    p->run_peak = 0;
}

/* Move the run with one reading labelled `centre_t`. */
static int judge(VqaDetectorContext *ctx, LoudnessPriv *p, double centre_t, int first)
{
    double s = p->short_term_lufs;
    int dir = classify(p, s);
    int ret = 0;
    if (p->run_dir != DIR_NONE && dir != p->run_dir)
        ret = end_run(ctx, p, centre_t, 0);
    if (dir == DIR_NONE)
        return ret;
    if (p->run_dir == DIR_NONE)
        /* With no earlier reading, the first window's whole span was out of range. */
        begin_run(p, dir, first ? p->start_t : centre_t);
    if ((dir == DIR_HIGH && s > p->run_extreme_lufs) ||
        (dir == DIR_LOW && s < p->run_extreme_lufs))
        p->run_extreme_lufs = s;
    p->run_energy += pow(10.0, s / 10.0);
    p->run_readings++;
    if (p->hop_peak > p->run_peak)
        p->run_peak = p->hop_peak;
    if (!p->active && centre_t + HOP_S - p->onset_t >= p->min_duration_s - LOUDNESS_EPS_S) {
        char details[DETAILS_SIZE];
        run_details(p, details, sizeof(details), p->onset_momentary_lufs, 0, 0);
        p->active = 1;
        int r = emit(ctx, p, LOUDNESS_KIND, VQA_EVENT_START, p->onset_t,
                     p->onset_short_term_lufs, VQA_SEVERITY_WARNING, details);
        if (ret == 0)
            ret = r;
    }
    return ret;
}

/* The energy mean of the newest `hops` blocks, as LUFS (-inf for none). */
static double blocks_lufs(const LoudnessPriv *p, int hops)
{
    double sum = 0;
    for (int i = 1; i <= hops; i++)
        sum += p->hop_energy[(p->hop_next - i + SHORT_TERM_HOPS) % SHORT_TERM_HOPS];
    return sum > 0 ? 10.0 * log10(sum / hops) + LUFS_OFFSET : -HUGE_VAL;
}

/* Momentary (*m) and short-term (*s) loudness now; each call is one hop later. Returns
 * which of them are available: bit 0 momentary, bit 1 short-term. */
static int window_readings(LoudnessPriv *p, double *m, double *s)
{
    int have = 0;
    if (p->block_readings) {
        double l = -HUGE_VAL;
        if (ebur128_loudness_window(p->meter, HOP_MS, &l) != EBUR128_SUCCESS)
            l = -HUGE_VAL;
        p->hop_energy[p->hop_next] = isfinite(l) ? pow(10.0, (l - LUFS_OFFSET) / 10.0) : 0.0;
        p->hop_next = (p->hop_next + 1) % SHORT_TERM_HOPS;
        const int64_t hops = p->since_config / p->hop_len;
        if (hops >= MOMENTARY_HOPS) {
            *m = blocks_lufs(p, MOMENTARY_HOPS);
            have |= 1;
        }
        if (hops >= SHORT_TERM_HOPS) {
            *s = blocks_lufs(p, SHORT_TERM_HOPS);
            have |= 2;
        }
        return have;
    }
    if (p->since_config >= (int64_t)llround(MOMENTARY_S * p->sample_rate) &&
        ebur128_loudness_momentary(p->meter, m) == EBUR128_SUCCESS)
        have |= 1;
    /* A short-term reading before 3 s would average in the meter's empty buffer. */
    if (p->since_config >= (int64_t)llround(SHORT_TERM_S * p->sample_rate) &&
        ebur128_loudness_shortterm(p->meter, s) == EBUR128_SUCCESS)
        have |= 2;
    return have;
}

/* Read the meter at media time t (the end of the audio fed so far). */
static int reading(VqaDetectorContext *ctx, LoudnessPriv *p, double t)
{
    int ret = 0;
    double m = -HUGE_VAL, s = -HUGE_VAL;
    const int have = window_readings(p, &m, &s);
    if (have & 1) {
        p->momentary_lufs = m;
        if (m > p->max_momentary_lufs)
            p->max_momentary_lufs = m;
    }
    if (have & 2) {
        double centre_t = t - SHORT_TERM_S / 2;
        int first = !p->evaluated;
        p->short_term_lufs = s;
        if (s > p->max_short_term_lufs)
            p->max_short_term_lufs = s;
        ret = judge(ctx, p, centre_t, first);
        p->evaluated = 1;
        if (centre_t > p->last_centre_t || first)
            p->last_centre_t = centre_t;
        p->hop_peak = 0;
    }
    int r = release_true_peak(ctx, p);
    return ret ? ret : r;
}

/* (Re)start the meter for a rate and channel count. */
static int configure(VqaDetectorContext *ctx, LoudnessPriv *p, int rate, int channels)
{
    if (!p->meter) {
        p->meter = ebur128_init((unsigned)channels, (unsigned long)rate, LOUDNESS_MODE);
        if (!p->meter) {
            vqa_detector_log(ctx, VQA_LOG_ERROR, "loudness: cannot meter %d channels at %d Hz",
                             channels, rate);
            return VQA_ERR(EINVAL);
        }
    } else {
        /* Keeps the histograms, so the integrated figure spans the change. */
        int err = ebur128_change_parameters(p->meter, (unsigned)channels, (unsigned long)rate);
        if (err != EBUR128_SUCCESS && err != EBUR128_ERROR_NO_CHANGE) {
            vqa_detector_log(ctx, VQA_LOG_ERROR, "loudness: cannot meter %d channels at %d Hz",
                             channels, rate);
            if (err == EBUR128_ERROR_NOMEM) {
                ebur128_destroy(&p->meter);
                return VQA_ERR(ENOMEM);
            }
            return VQA_ERR(EINVAL);
        }
    }
    p->hop_len = (int64_t)llround(HOP_S * rate);
    if (p->hop_len < 1)
        p->hop_len = 1;
    float *s = realloc(p->scratch, (size_t)p->hop_len * (size_t)channels * sizeof(*s));
    if (!s)
        return VQA_ERR(ENOMEM);
    p->scratch = s;
    if (vqa_true_peak_setup(&p->tp, rate, channels, (int)p->hop_len) < 0)
        return VQA_ERR(ENOMEM);
    /* The meter's window is whole milliseconds of frames: 100 ms is one hop exactly
     * only at a rate that is a multiple of 10 Hz (all the usual ones). */
    p->block_readings = rate % 10 == 0 && p->hop_len == rate / 10;
    memset(p->hop_energy, 0, sizeof(p->hop_energy));
    p->hop_next = 0;
    p->sample_rate = rate;
    p->channels = channels;
    p->hop_pos = 0;
    p->since_config = 0;
    return 0;
}

/* Feed n frames (n <= hop_len) from offset `from` and return their true peak (linear).
 * The meter reads interleaved samples, the true peak one channel at a time. */
static int feed(LoudnessPriv *p, const VqaFrame *f, int from, int n, double *peak)
{
    const size_t nch = (size_t)p->channels;
    const float *src;
    if (f->sample_fmt == VQA_SAMPLE_FLT) {
        src = (const float *)f->audio_planes[0] + (size_t)from * nch;
        for (size_t c = 0; c < nch; c++) {
            float *x = vqa_true_peak_input(&p->tp, (int)c);
            for (int i = 0; i < n; i++)
                x[i] = src[(size_t)i * nch + c];
        }
    } else {
        for (size_t c = 0; c < nch; c++) {
            const float *x = (const float *)f->audio_planes[c] + from;
            memcpy(vqa_true_peak_input(&p->tp, (int)c), x, (size_t)n * sizeof(*x));
            for (int i = 0; i < n; i++)
                p->scratch[(size_t)i * nch + c] = x[i];
        }
        src = p->scratch;
    }
    if (ebur128_add_frames_float(p->meter, src, (size_t)n) != EBUR128_SUCCESS)
        return VQA_ERR(ENOMEM);
    *peak = vqa_true_peak_block(&p->tp, n);
    return 0;
}

static int check_frame(VqaDetectorContext *ctx, const VqaFrame *f)
{
    if (f->type != VQA_MEDIA_AUDIO ||
        (f->sample_fmt != VQA_SAMPLE_FLT && f->sample_fmt != VQA_SAMPLE_FLTP) ||
        f->channels <= 0 || f->channels > 64 || f->sample_rate <= 0 || f->nb_samples < 0 ||
        !f->audio_planes) {
        vqa_detector_log(ctx, VQA_LOG_ERROR, "loudness: expected FLT or FLTP audio");
        return VQA_ERR(EINVAL);
    }
    return 0;
}

static int loudness_process(VqaDetectorContext *ctx, const VqaFrame *f)
{
    LoudnessPriv *p = ctx->priv;
    int ret = check_frame(ctx, f);
    if (ret < 0)
        return ret;
    if (!p->meter || f->sample_rate != p->sample_rate || f->channels != p->channels) {
        ret = configure(ctx, p, f->sample_rate, f->channels);
        if (ret < 0)
            return ret;
    }
    if (!p->have_buffer) {
        p->start_t = f->t;
        p->last_emit_t = f->t;
        p->have_buffer = 1;
    }
    double end = f->t + (double)f->nb_samples / f->sample_rate;
    if (end > p->end_t)
        p->end_t = end;
    for (int i = 0; i < f->nb_samples;) {
        int64_t room = p->hop_len - p->hop_pos;
        int n = (int64_t)(f->nb_samples - i) < room ? f->nb_samples - i : (int)room;
        if (p->hop_pos == 0)
            p->hop_start_t = f->t + (double)i / f->sample_rate;
        double peak = 0;
        int err = feed(p, f, i, n, &peak);
        if (err < 0)
            return err;
        /* Labelled by its 100 ms block, so buffer sizes do not move the event. */
        note_true_peak(p, p->hop_start_t, peak);
        i += n;
        p->hop_pos += n;
        p->since_config += n;
        if (p->hop_pos == p->hop_len) {
            p->hop_pos = 0;
            int r = reading(ctx, p, f->t + (double)i / f->sample_rate);
            if (r < 0 && ret == 0)
                ret = r;
        }
    }
    return ret;
}

static int emit_summary(VqaDetectorContext *ctx, LoudnessPriv *p)
{
    char i[32], lra[32], tp[32], m[32], s[32], details[DETAILS_SIZE];
    double integrated = integrated_lufs(p);
    double range_lu = -HUGE_VAL;
    if (ebur128_loudness_range(p->meter, &range_lu) != EBUR128_SUCCESS)
        range_lu = -HUGE_VAL;
    snprintf(details, sizeof(details),
             "{\"integrated\":%s,\"lra\":%s,\"true_peak_dbtp\":%s,\"max_momentary\":%s,"
             "\"max_short_term\":%s}",
             json_db(i, sizeof(i), integrated), json_db(lra, sizeof(lra), range_lu),
             json_db(tp, sizeof(tp), to_dbtp(p->max_peak)),
             json_db(m, sizeof(m), p->max_momentary_lufs),
             json_db(s, sizeof(s), p->max_short_term_lufs));
    return emit(ctx, p, SUMMARY_KIND, VQA_EVENT_INSTANT, p->end_t, integrated,
                VQA_SEVERITY_INFO, details);
}

static int loudness_flush(VqaDetectorContext *ctx)
{
    LoudnessPriv *p = ctx->priv;
    if (!p->meter || !p->have_buffer)
        return 0;
    /* A run not yet confirmed is shorter than min_duration: not a defect. */
    if (p->run_dir != DIR_NONE && !p->active)
        p->run_dir = DIR_NONE;
    int ret = 0;
    if (p->tp_pending)
        ret = emit_true_peak(ctx, p);
    if (p->active) {
        int r = end_run(ctx, p, p->end_t, 1);
        if (ret == 0)
            ret = r;
    }
    int r = emit_summary(ctx, p);
    return ret ? ret : r;
}

static int loudness_init(VqaDetectorContext *ctx)
{
    LoudnessPriv *p = ctx->priv;
    p->momentary_lufs = -HUGE_VAL;
    p->short_term_lufs = -HUGE_VAL;
    p->max_momentary_lufs = -HUGE_VAL;
    p->max_short_term_lufs = -HUGE_VAL;
    return 0;
}

static void loudness_close(VqaDetectorContext *ctx)
{
    LoudnessPriv *p = ctx->priv;
    if (p->meter)
        ebur128_destroy(&p->meter);
    free(p->scratch);
    p->scratch = NULL;
    vqa_true_peak_free(&p->tp);
}

static const VqaOption loudness_options[] = {
    { "target", "programme loudness aimed at", "LUFS", VQA_OPT_DOUBLE,
      offsetof(LoudnessPriv, target_lufs), -23.0, NULL, -70, 0, 0, { NULL, NULL } },
    { "tolerance", "short-term may stray this far from the target", "LU", VQA_OPT_DOUBLE,
      offsetof(LoudnessPriv, tolerance_lu), 5.0, NULL, 0.5, 30, 0, { NULL, NULL } },
    { "min_duration", "shortest out-of-range run reported", "s", VQA_OPT_DOUBLE,
      offsetof(LoudnessPriv, min_duration_s), 10.0, NULL, 0.1, 86400, 0, { NULL, NULL } },
    { "true_peak", "true peak above this is an x-loudness.true_peak event (20 = never)",
      "dBTP", VQA_OPT_DOUBLE, offsetof(LoudnessPriv, true_peak_limit_dbtp), -1.0, NULL, -30,
      20, 0, { NULL, NULL } },
    { NULL, NULL, NULL, VQA_OPT_NONE, 0, 0, NULL, 0, 0, 0, { NULL, NULL } },
};

static const char *const loudness_kinds[] = { LOUDNESS_KIND, TRUE_PEAK_KIND, SUMMARY_KIND,
                                              NULL };

static const VqaDetectorClass loudness_class = {
    .struct_size = sizeof(VqaDetectorClass),
    .name = "loudness",
    .description = "EBU R128 short-term loudness out of range, true-peak overs, programme "
                   "loudness (libebur128)",
    .kinds = loudness_kinds,
    .flags = VQA_DETECTOR_TEMPORAL,
    .priv_size = sizeof(LoudnessPriv),
    .options = loudness_options,
    /* Planar, as AAC and most decoders deliver it and as silence and clipping read it:
     * the converter then shares the decoder's planes with all three (flt works too). */
    .input = {
        .type = VQA_MEDIA_AUDIO,
        .sample_fmt = VQA_SAMPLE_FLTP,
    },
    .init = loudness_init,
    .process = loudness_process,
    .flush = loudness_flush,
    .close = loudness_close,
};

VQA_PLUGIN_DEFINE_DETECTOR(loudness_class, "loudness", "1.0.0", "BSD-2-Clause",
                           "EBU R128 / ITU-R BS.1770-4 loudness monitoring with libebur128")
