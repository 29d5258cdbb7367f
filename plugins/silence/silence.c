/*
 * audio.silence: every channel of the track below `level` for min_duration.
 * x-silence.channel: some channels, not all, below `level` for min_duration
 * while the others play (a dead channel: an unplugged microphone, a broken
 * downmix, a missing language track on one pair).
 *
 * FFmpeg's silencedetect compares each sample's magnitude, so hum or dither
 * just above the level never reads as silent. Here each channel's RMS over
 * short windows (`window`, 20 ms by default) is compared instead. Windows
 * run across buffer boundaries: buffers may be of any size. Times come from
 * the sample count since the last buffer whose time was not where expected.
 *
 * Two kinds, because the host pairs START and END per (stream, detector,
 * kind): a dead channel and a silent track overlap in time, so they cannot
 * share audio.silence. At most one of the two is open at a time:
 *  - audio.silence is open while every channel is silent (after min_duration,
 *    back-dated to the onset).
 *  - x-silence.channel is open while at least one channel has been silent for
 *    min_duration and the track as a whole is not in audio.silence; its START
 *    is back-dated to the earliest dead channel's onset, and its END is the
 *    first window in which no channel is dead. details.channels lists the
 *    dead channels (those dead at START on the START, every channel dead at
 *    some point of the event on the END), with "scope":"channels".
 *  - When the rest of the track falls silent too and that lasts min_duration,
 *    the channel event ends at the onset of the track's silence and
 *    audio.silence starts there; if channels are still dead when the track
 *    plays again, a new channel event starts where audio.silence ended.
 *    A START is never put before the detector's previous event, so the
 *    intervals never overlap.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vqa/plugin.h"

#define SILENCE_KIND "audio.silence"
#define CHANNEL_KIND "x-silence.channel"
#define SILENCE_EPS_S 1e-6
/* Floor of the reported level, so digital zero still gives a finite value. */
#define SILENCE_FLOOR_DBFS -150.0

/* One channel: its part of the current window, and its own silent run. */
typedef struct SilenceChannel {
    double sum_sq;          /* of the window so far */
    float peak;             /* of the window so far */
    int zero;               /* every sample of the window is exactly 0 */
    int in_run;
    double onset_t;
    float run_peak;
    int run_zero;
    int in_event;           /* dead at some point of the open channel event */
} SilenceChannel;

/* An interval being tracked: the whole track's silence or the dead channels'. */
typedef struct SilenceRun {
    int in_run;
    int active;             /* START emitted */
    double onset_t;
    float peak;
    int zero;
} SilenceRun;

typedef struct SilencePriv {
    /* options */
    double min_duration_s;
    double level_dbfs;
    double window_s;
    int report_channels;

    /* the window being filled */
    int sample_rate;
    int channels;
    int64_t window_len;     /* samples per channel */
    int64_t window_pos;     /* samples in the window so far */
    double window_t;        /* media time of the window's first sample */
    SilenceChannel *chan;
    double level_sq;        /* (10^(level/20))^2: the RMS limit, squared */

    SilenceRun track;       /* audio.silence */
    SilenceRun dead;        /* x-silence.channel (in_run unused) */
    double last_emit_t;     /* no START before this: intervals never overlap */

    double next_t;          /* where the next buffer should start */
    double end_t;           /* last media time seen */
    int have_buffer;
} SilencePriv;

static double to_dbfs(double peak)
{
    double db = peak > 0 ? 20.0 * log10(peak) : SILENCE_FLOOR_DBFS;
    return db < SILENCE_FLOOR_DBFS ? SILENCE_FLOOR_DBFS : db;
}

static int emit(VqaDetectorContext *ctx, SilencePriv *p, const char *kind,
                VqaEventState state, double t, double peak, const char *details)
{
    p->last_emit_t = t;
    return vqa_detector_emit(ctx, kind, state, t, to_dbfs(peak), VQA_SEVERITY_WARNING,
                             details);
}

static int emit_track(VqaDetectorContext *ctx, SilencePriv *p, VqaEventState state,
                      double t, int eos)
{
    char details[96];
    snprintf(details, sizeof(details), "{\"digital_zero\":%s,\"channels\":%d%s}",
             p->track.zero ? "true" : "false", p->channels,
             eos ? ",\"closed_by\":\"eos\"" : "");
    p->track.active = state == VQA_EVENT_START;
    return emit(ctx, p, SILENCE_KIND, state, t, p->track.peak, details);
}

/* The channel event: details list the channels with in_event set. */
static int emit_dead(VqaDetectorContext *ctx, SilencePriv *p, VqaEventState state,
                     double t, int eos)
{
    size_t size = (size_t)p->channels * 12 + 96;
    char *details = malloc(size);
    if (!details)
        return VQA_ERR(ENOMEM);
    size_t len = (size_t)snprintf(details, size, "{\"scope\":\"channels\",\"channels\":[");
    for (int c = 0, n = 0; c < p->channels; c++)
        if (p->chan[c].in_event)
            len += (size_t)snprintf(details + len, size - len, "%s%d", n++ ? "," : "", c);
    snprintf(details + len, size - len, "],\"digital_zero\":%s%s}",
             p->dead.zero ? "true" : "false", eos ? ",\"closed_by\":\"eos\"" : "");
    p->dead.active = state == VQA_EVENT_START;
    int ret = emit(ctx, p, CHANNEL_KIND, state, t, p->dead.peak, details);
    free(details);
    return ret;
}

static int dead_for_long(const SilencePriv *p, const SilenceChannel *k, double end)
{
    return k->in_run && end - k->onset_t >= p->min_duration_s - SILENCE_EPS_S;
}

/* Window [t, end) judged, the track not in audio.silence: open, grow or close
 * the channel event. */
static int update_dead(VqaDetectorContext *ctx, SilencePriv *p, double t, double end)
{
    double onset = INFINITY;
    for (int c = 0; c < p->channels; c++)
        if (dead_for_long(p, &p->chan[c], end) && p->chan[c].onset_t < onset)
            onset = p->chan[c].onset_t;
    if (onset == INFINITY)
        return p->dead.active ? emit_dead(ctx, p, VQA_EVENT_END, t, 0) : 0;
    int starting = !p->dead.active;
    if (starting) {
        for (int c = 0; c < p->channels; c++)
            p->chan[c].in_event = 0;
        p->dead.peak = 0;
        p->dead.zero = 1;
    }
    for (int c = 0; c < p->channels; c++) {
        SilenceChannel *k = &p->chan[c];
        if (!dead_for_long(p, k, end))
            continue;
        k->in_event = 1;
        p->dead.peak = k->run_peak > p->dead.peak ? k->run_peak : p->dead.peak;
        p->dead.zero &= k->run_zero;
    }
    if (!starting)
        return 0;
    p->dead.onset_t = onset > p->last_emit_t ? onset : p->last_emit_t;
    return emit_dead(ctx, p, VQA_EVENT_START, p->dead.onset_t, 0);
}

/* Window [t, end) judged: move the whole track's silent run. */
static int update_track(VqaDetectorContext *ctx, SilencePriv *p, int all_silent, double t,
                        double end, float peak, int zero)
{
    SilenceRun *r = &p->track;
    if (!all_silent) {
        r->in_run = 0;
        return r->active ? emit_track(ctx, p, VQA_EVENT_END, t, 0) : 0;
    }
    if (!r->in_run) {
        r->in_run = 1;
        r->onset_t = t;
        r->peak = 0;
        r->zero = 1;
    }
    r->peak = peak > r->peak ? peak : r->peak;
    r->zero &= zero;
    if (r->active || end - r->onset_t < p->min_duration_s - SILENCE_EPS_S)
        return 0;
    int ret = 0;
    if (p->dead.active) {
        /* The rest of the track fell silent too: one audio.silence from its onset. */
        double t_end = r->onset_t > p->dead.onset_t ? r->onset_t : p->dead.onset_t;
        ret = emit_dead(ctx, p, VQA_EVENT_END, t_end, 0);
    }
    int err = emit_track(ctx, p, VQA_EVENT_START, r->onset_t, 0);
    return ret ? ret : err;
}

/* Judge the window [window_t, window_t + window_pos / rate) and move the runs. */
static int finish_window(VqaDetectorContext *ctx, SilencePriv *p)
{
    if (p->window_pos == 0)
        return 0;
    double t = p->window_t;
    double end = t + (double)p->window_pos / p->sample_rate;
    double limit = p->level_sq * (double)p->window_pos;
    int all_silent = 1, zero = 1;
    float peak = 0;
    for (int c = 0; c < p->channels; c++) {
        SilenceChannel *k = &p->chan[c];
        if (k->sum_sq < limit) {
            if (!k->in_run) {
                k->in_run = 1;
                k->onset_t = t;
                k->run_peak = 0;
                k->run_zero = 1;
            }
            k->run_peak = k->peak > k->run_peak ? k->peak : k->run_peak;
            k->run_zero &= k->zero;
        } else {
            k->in_run = 0;
            all_silent = 0;
        }
        peak = k->peak > peak ? k->peak : peak;
        zero &= k->zero;
        k->sum_sq = 0;
        k->peak = 0;
        k->zero = 1;
    }
    int ret = update_track(ctx, p, all_silent, t, end, peak, zero);
    if (p->report_channels && !p->track.active) {
        int r = update_dead(ctx, p, t, end);
        ret = ret ? ret : r;
    }
    p->window_pos = 0;
    p->window_t = end;
    return ret;
}

/* (Re)configure for a rate and channel count; the caller judges the open window first.
 * A new channel count starts the channels' runs afresh. */
static int configure(SilencePriv *p, int rate, int channels)
{
    if (channels != p->channels || !p->chan) {
        SilenceChannel *k = calloc((size_t)channels, sizeof(*k));
        if (!k)
            return VQA_ERR(ENOMEM);
        free(p->chan);
        p->chan = k;
    }
    for (int c = 0; c < channels; c++) {
        p->chan[c].sum_sq = 0;
        p->chan[c].peak = 0;
        p->chan[c].zero = 1;
    }
    p->sample_rate = rate;
    p->channels = channels;
    p->window_len = (int64_t)llround(p->window_s * rate);
    if (p->window_len < 1)
        p->window_len = 1;
    p->window_pos = 0;
    return 0;
}

static int silence_init(VqaDetectorContext *ctx)
{
    SilencePriv *p = ctx->priv;
    double level = pow(10.0, p->level_dbfs / 20.0);
    p->level_sq = level * level;
    p->last_emit_t = -INFINITY;
    return 0;
}

/* Add n samples per channel starting at offset `from` to the window. */
static void accumulate(SilencePriv *p, const VqaFrame *f, int from, int n)
{
    for (int c = 0; c < p->channels; c++) {
        SilenceChannel *k = &p->chan[c];
        const float *x = (const float *)f->audio_planes[c] + from;
        double sum = 0;
        float peak = k->peak;
        for (int i = 0; i < n; i++) {
            float a = fabsf(x[i]);
            sum += (double)x[i] * x[i];
            peak = a > peak ? a : peak;
        }
        k->sum_sq += sum;
        k->peak = peak;
        if (sum != 0)
            k->zero = 0;
    }
    p->window_pos += n;
}

static int silence_process(VqaDetectorContext *ctx, const VqaFrame *f)
{
    SilencePriv *p = ctx->priv;
    if (f->type != VQA_MEDIA_AUDIO || f->sample_fmt != VQA_SAMPLE_FLTP || f->channels <= 0 ||
        f->sample_rate <= 0 || f->nb_samples < 0 || !f->audio_planes) {
        vqa_detector_log(ctx, VQA_LOG_ERROR, "silence: expected FLTP audio");
        return VQA_ERR(EINVAL);
    }
    int ret = 0;
    if (!p->have_buffer || f->sample_rate != p->sample_rate || f->channels != p->channels) {
        ret = finish_window(ctx, p);
        /* Channel indices mean something else after a layout change. */
        if (p->dead.active && f->channels != p->channels) {
            int r = emit_dead(ctx, p, VQA_EVENT_END, p->window_t, 0);
            ret = ret ? ret : r;
        }
        int err = configure(p, f->sample_rate, f->channels);
        if (err < 0)
            return err;
        p->window_t = f->t;
    } else if (fabs(f->t - p->next_t) > p->window_s) {
        /* A jump in time: the window cannot straddle it. */
        ret = finish_window(ctx, p);
        p->window_t = f->t;
    }
    p->have_buffer = 1;
    double buf_dur = (double)f->nb_samples / f->sample_rate;
    p->next_t = f->t + buf_dur;
    if (p->next_t > p->end_t)
        p->end_t = p->next_t;

    for (int i = 0; i < f->nb_samples;) {
        int64_t room = p->window_len - p->window_pos;
        int n = (int64_t)(f->nb_samples - i) < room ? f->nb_samples - i : (int)room;
        accumulate(p, f, i, n);
        i += n;
        if (p->window_pos == p->window_len) {
            int r = finish_window(ctx, p);
            if (r < 0 && ret == 0)
                ret = r;
        }
    }
    return ret;
}

static int silence_flush(VqaDetectorContext *ctx)
{
    SilencePriv *p = ctx->priv;
    int ret = p->have_buffer ? finish_window(ctx, p) : 0;
    /* At most one of the two is open. */
    int r = 0;
    if (p->track.active)
        r = emit_track(ctx, p, VQA_EVENT_END, p->end_t, 1);
    else if (p->dead.active)
        r = emit_dead(ctx, p, VQA_EVENT_END, p->end_t, 1);
    p->track.in_run = 0;
    return ret ? ret : r;
}

static void silence_close(VqaDetectorContext *ctx)
{
    SilencePriv *p = ctx->priv;
    free(p->chan);
    p->chan = NULL;
}

static const VqaOption silence_options[] = {
    { "min_duration", "shortest silence reported (of the track, or of a channel)", "s",
      VQA_OPT_DOUBLE, offsetof(SilencePriv, min_duration_s), 2.0, NULL, 0.01, 86400, 0,
      { NULL, NULL } },
    { "level", "a window is silent when every channel's RMS is below this", "dBFS",
      VQA_OPT_DOUBLE, offsetof(SilencePriv, level_dbfs), -60.0, NULL, -150, 0, 0,
      { NULL, NULL } },
    { "window", "length of the RMS window", "s", VQA_OPT_DOUBLE,
      offsetof(SilencePriv, window_s), 0.02, NULL, 0.001, 1.0, 0, { NULL, NULL } },
    { "channels", "report channels silent while others play, as x-silence.channel with "
      "details.channels", NULL, VQA_OPT_BOOL, offsetof(SilencePriv, report_channels), 1, NULL,
      0, 1, 0, { NULL, NULL } },
    { NULL, NULL, NULL, VQA_OPT_NONE, 0, 0, NULL, 0, 0, 0, { NULL, NULL } },
};

static const char *const silence_kinds[] = { SILENCE_KIND, CHANNEL_KIND, NULL };

static const VqaDetectorClass silence_class = {
    .struct_size = sizeof(VqaDetectorClass),
    .name = "silence",
    .description = "every channel below a level (audio.silence), or some channels while others "
                   "play (x-silence.channel); windowed RMS, digital zero told apart",
    .kinds = silence_kinds,
    .flags = VQA_DETECTOR_TEMPORAL,
    .priv_size = sizeof(SilencePriv),
    .options = silence_options,
    .input = {
        .type = VQA_MEDIA_AUDIO,
        .sample_fmt = VQA_SAMPLE_FLTP,
    },
    .init = silence_init,
    .process = silence_process,
    .flush = silence_flush,
    .close = silence_close,
};

VQA_PLUGIN_DEFINE_DETECTOR(silence_class, "silence", "1.1.0", "BSD-2-Clause",
                           "audio silence detection: the whole track and dead channels")
