/*
 * audio.clipping: runs of samples at full scale.
 *
 * A sample is clipped when |x| >= `level`. The default sits a hair below
 * 32767/32768, the largest positive 16-bit sample once the host has turned
 * it into float, so hard clipping of 16-bit audio counts on both sides while
 * a limiter's plateau (0.98, 0.99) or a loud clean tone does not. Float
 * input above 1.0 always counts, since `level` is at most 1.0.
 *
 * A run of `min_run` or more consecutive clipped samples on one channel is a
 * clipping run; a single full-scale sample is an ordinary peak. Runs (on any
 * channel) less than `merge_gap` apart form one event: the START is
 * back-dated to the first run's first sample and emitted as soon as that run
 * is `min_run` long; the END is put at the end of the last run, once
 * `merge_gap` has passed without a run (or at flush, or at a break in the
 * input). The START carries no value; the END carries the share of clipped
 * samples over the event's span and all channels, and the severity: error
 * above `error_share`, else warning.
 *
 * Samples are visited in time order across channels, so events come out in
 * media-time order whatever the channel count, and runs cross buffer
 * boundaries freely. Times come from the sample count since the last
 * buffer whose time was not where expected (decoder jitter below
 * CLIP_JUMP_S is absorbed); a larger jump, or a change of rate or channel
 * count, ends the runs and the event at the last sample before it.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vqa/plugin.h"

#define CLIP_KIND "audio.clipping"
#define CLIP_JUMP_S 0.005

typedef struct ClipChannel {
    int64_t run_len;       /* consecutive clipped samples so far (0 = none) */
    int64_t run_start;     /* sample index of the run's first sample */
    float run_peak;        /* largest |x| of the run */
    int in_event;          /* had a run in the current event */
} ClipChannel;

typedef struct ClipPriv {
    /* options */
    double level;
    int64_t min_run;
    double merge_gap_s;
    double error_share;

    int sample_rate;
    int channels;
    ClipChannel *chan;
    int64_t gap_samples;   /* merge_gap in samples */

    /* time: sample `pos` (counted from the last rebase) is at base_t + pos / rate */
    double base_t;
    int64_t pos;
    int have_buffer;
    double end_t;          /* last media time seen */

    /* the current event */
    int active;            /* START emitted */
    int open_runs;         /* confirmed runs still going on */
    int64_t ev_start;      /* first sample of the first run */
    int64_t ev_last_end;   /* one past the last sample of the latest finished run */
    int64_t ev_runs;
    int64_t ev_clipped;
    int ev_channels;
    float ev_peak;
} ClipPriv;

static double time_of(const ClipPriv *p, int64_t pos)
{
    return p->base_t + (double)pos / p->sample_rate;
}

static int emit_end(VqaDetectorContext *ctx, ClipPriv *p, int eos)
{
    int64_t span = p->ev_last_end - p->ev_start;
    double share = span > 0 ? (double)p->ev_clipped / ((double)span * p->channels) : 0;
    double peak_dbfs = 20.0 * log10(p->ev_peak > 0 ? p->ev_peak : 1e-9);
    char details[200];
    snprintf(details, sizeof(details),
             "{\"runs\":%lld,\"clipped_samples\":%lld,\"channels_affected\":%d,"
             "\"peak_dbfs\":%.2f%s}",
             (long long)p->ev_runs, (long long)p->ev_clipped, p->ev_channels, peak_dbfs,
             eos ? ",\"closed_by\":\"eos\"" : "");
    p->active = 0;
    VqaSeverity sev = share > p->error_share ? VQA_SEVERITY_ERROR : VQA_SEVERITY_WARNING;
    return vqa_detector_emit(ctx, CLIP_KIND, VQA_EVENT_END, time_of(p, p->ev_last_end), share,
                             sev, details);
}

/* Channel c's run became min_run long: it joins the current event or opens one. */
static int run_confirmed(VqaDetectorContext *ctx, ClipPriv *p, int c)
{
    ClipChannel *k = &p->chan[c];
    int ret = 0;
    if (p->active && p->open_runs == 0 && k->run_start - p->ev_last_end >= p->gap_samples)
        ret = emit_end(ctx, p, 0);
    p->open_runs++;
    if (!p->active) {
        p->active = 1;
        p->ev_start = k->run_start;
        p->ev_last_end = k->run_start;
        p->ev_runs = 0;
        p->ev_clipped = 0;
        p->ev_channels = 0;
        p->ev_peak = 0;
        for (int i = 0; i < p->channels; i++)
            p->chan[i].in_event = 0;
        /* The value (the clipped share) is known only at the END. */
        VqaDetection d = { CLIP_KIND, VQA_EVENT_START, time_of(p, k->run_start), 0, 0,
                           VQA_SEVERITY_WARNING, NULL };
        int r = ctx->host->emit(ctx, &d);
        if (ret == 0)
            ret = r;
    }
    if (!k->in_event) {
        k->in_event = 1;
        p->ev_channels++;
    }
    return ret;
}

/* Channel c's run stops before sample end_pos. */
static void run_ended(ClipPriv *p, int c, int64_t end_pos)
{
    ClipChannel *k = &p->chan[c];
    if (k->run_len >= p->min_run) {
        p->open_runs--;
        p->ev_runs++;
        p->ev_clipped += k->run_len;
        if (k->run_peak > p->ev_peak)
            p->ev_peak = k->run_peak;
        if (end_pos > p->ev_last_end)
            p->ev_last_end = end_pos;
    }
    k->run_len = 0;
}

/* The event is over once merge_gap has passed since its last run and no run
 * that could still join it is forming. */
static int event_over(const ClipPriv *p)
{
    if (!p->active || p->open_runs > 0 || p->pos - p->ev_last_end < p->gap_samples)
        return 0;
    for (int c = 0; c < p->channels; c++)
        if (p->chan[c].run_len > 0 && p->chan[c].run_start - p->ev_last_end < p->gap_samples)
            return 0;
    return 1;
}

/* End every run at the current position and the event with it. */
static int close_all(VqaDetectorContext *ctx, ClipPriv *p, int eos)
{
    for (int c = 0; c < p->channels; c++)
        if (p->chan[c].run_len > 0)
            run_ended(p, c, p->pos);
    return p->active ? emit_end(ctx, p, eos) : 0;
}

static int configure(ClipPriv *p, int rate, int channels)
{
    ClipChannel *chan = calloc((size_t)channels, sizeof(*chan));
    if (!chan)
        return VQA_ERR(ENOMEM);
    free(p->chan);
    p->chan = chan;
    p->sample_rate = rate;
    p->channels = channels;
    p->gap_samples = (int64_t)llround(p->merge_gap_s * rate);
    return 0;
}

/* No sample of the buffer reaches the level and no run is forming. */
static int buffer_quiet(const ClipPriv *p, const VqaFrame *f)
{
    for (int c = 0; c < p->channels; c++) {
        if (p->chan[c].run_len > 0)
            return 0;
        const float *x = (const float *)f->audio_planes[c];
        float peak = 0;
        for (int i = 0; i < f->nb_samples; i++) {
            float a = fabsf(x[i]);
            peak = a > peak ? a : peak;
        }
        if (!(peak < p->level))
            return 0;
    }
    return 1;
}

static int scan(VqaDetectorContext *ctx, ClipPriv *p, const VqaFrame *f)
{
    int ret = 0;
    if (buffer_quiet(p, f)) {
        /* Nothing can start here, so a pending END loses nothing by waiting
         * for the end of the buffer (its time is that of the last run). */
        p->pos += f->nb_samples;
        return event_over(p) ? emit_end(ctx, p, 0) : 0;
    }
    for (int i = 0; i < f->nb_samples; i++) {
        for (int c = 0; c < p->channels; c++) {
            ClipChannel *k = &p->chan[c];
            float a = fabsf(((const float *)f->audio_planes[c])[i]);
            if (a >= p->level) {
                if (k->run_len == 0) {
                    k->run_start = p->pos;
                    k->run_peak = 0;
                }
                k->run_len++;
                k->run_peak = a > k->run_peak ? a : k->run_peak;
                if (k->run_len == p->min_run) {
                    int r = run_confirmed(ctx, p, c);
                    ret = ret ? ret : r;
                }
            } else if (k->run_len > 0) {
                run_ended(p, c, p->pos);
            }
        }
        p->pos++;
        if (event_over(p)) {
            int r = emit_end(ctx, p, 0);
            ret = ret ? ret : r;
        }
    }
    return ret;
}

static int clip_process(VqaDetectorContext *ctx, const VqaFrame *f)
{
    ClipPriv *p = ctx->priv;
    if (f->type != VQA_MEDIA_AUDIO || f->sample_fmt != VQA_SAMPLE_FLTP || f->channels <= 0 ||
        f->sample_rate <= 0 || f->nb_samples < 0 || !f->audio_planes) {
        vqa_detector_log(ctx, VQA_LOG_ERROR, "clipping: expected FLTP audio");
        return VQA_ERR(EINVAL);
    }
    int ret = 0;
    if (!p->have_buffer || f->sample_rate != p->sample_rate || f->channels != p->channels) {
        ret = p->have_buffer ? close_all(ctx, p, 0) : 0;
        int err = configure(p, f->sample_rate, f->channels);
        if (err < 0)
            return err;
        p->base_t = f->t;
        p->pos = 0;
    } else if (fabs(f->t - time_of(p, p->pos)) > CLIP_JUMP_S) {
        /* Media is missing (or repeated): a run cannot straddle the jump. */
        ret = close_all(ctx, p, 0);
        p->base_t = f->t;
        p->pos = 0;
    }
    p->have_buffer = 1;
    int r = scan(ctx, p, f);
    double end = time_of(p, p->pos);
    if (end > p->end_t)
        p->end_t = end;
    return ret ? ret : r;
}

static int clip_flush(VqaDetectorContext *ctx)
{
    ClipPriv *p = ctx->priv;
    /* The event still open (or waiting out merge_gap) ends where its last run did, or at
     * the last sample if clipping lasts to the end; closed_by eos either way, as the host
     * marks every END made during flush. */
    return p->have_buffer ? close_all(ctx, p, 1) : 0;
}

static void clip_close(VqaDetectorContext *ctx)
{
    ClipPriv *p = ctx->priv;
    free(p->chan);
    p->chan = NULL;
}

static const VqaOption clip_options[] = {
    { "level", "a sample is clipped when |x| reaches this (32767/32768 = 16-bit full scale)",
      "fraction", VQA_OPT_DOUBLE, offsetof(ClipPriv, level), 0.99996, NULL, 0.5, 1.0, 0,
      { NULL, NULL } },
    { "min_run", "consecutive clipped samples on one channel that make a run", "samples",
      VQA_OPT_INT, offsetof(ClipPriv, min_run), 3, NULL, 1, 1000, 0, { NULL, NULL } },
    { "merge_gap", "runs closer than this are one event", "s", VQA_OPT_DOUBLE,
      offsetof(ClipPriv, merge_gap_s), 0.5, NULL, 0, 60, 0, { NULL, NULL } },
    { "error_share", "severity error above this share of clipped samples", "fraction",
      VQA_OPT_DOUBLE, offsetof(ClipPriv, error_share), 0.01, NULL, 0, 1, 0, { NULL, NULL } },
    { NULL, NULL, NULL, VQA_OPT_NONE, 0, 0, NULL, 0, 0, 0, { NULL, NULL } },
};

static const char *const clip_kinds[] = { CLIP_KIND, NULL };

static const VqaDetectorClass clip_class = {
    .struct_size = sizeof(VqaDetectorClass),
    .name = "clipping",
    .description = "runs of samples at full scale, merged into events",
    .kinds = clip_kinds,
    .flags = VQA_DETECTOR_TEMPORAL,
    .priv_size = sizeof(ClipPriv),
    .options = clip_options,
    .input = {
        .type = VQA_MEDIA_AUDIO,
        .sample_fmt = VQA_SAMPLE_FLTP,
    },
    .process = clip_process,
    .flush = clip_flush,
    .close = clip_close,
};

VQA_PLUGIN_DEFINE_DETECTOR(clip_class, "clipping", "1.0.0", "BSD-2-Clause",
                           "audio clipping detection")
