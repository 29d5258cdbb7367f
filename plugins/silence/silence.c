/*
 * audio.silence: every channel of the track below `level` for min_duration.
 *
 * FFmpeg's silencedetect compares each sample's magnitude, so hum or dither
 * just above the level never reads as silent. Here each channel's RMS over
 * short windows (`window`, 20 ms by default) is compared instead; a window is
 * silent only when every channel is below the level, so a single dead
 * channel next to a live one is not silence of the track. Windows run across
 * buffer boundaries: buffers may be of any size. Times come from the sample
 * count since the last buffer whose time was not where we expected it.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vqa/plugin.h"

#define SILENCE_KIND "audio.silence"
#define SILENCE_EPS_S 1e-6
/* Floor of the reported level, so digital zero still gives a finite value. */
#define SILENCE_FLOOR_DBFS -150.0

typedef struct SilencePriv {
    /* options */
    double min_duration_s;
    double level_dbfs;
    double window_s;

    /* the window being filled */
    int sample_rate;
    int channels;
    int64_t window_len;     /* samples per channel */
    int64_t window_pos;     /* samples in the window so far */
    double window_t;        /* media time of the window's first sample */
    double *sum_sq;         /* per channel */
    float window_peak;
    int window_zero;        /* every sample of the window is exactly 0 */
    double level_sq;        /* (10^(level/20))^2: the RMS limit, squared */

    /* the current silent run */
    int in_run;
    int active;             /* START emitted */
    double onset_t;
    float run_peak;
    int run_zero;

    double next_t;          /* where the next buffer should start */
    double end_t;           /* last media time seen */
    int have_buffer;
} SilencePriv;

static double to_dbfs(double peak)
{
    double db = peak > 0 ? 20.0 * log10(peak) : SILENCE_FLOOR_DBFS;
    return db < SILENCE_FLOOR_DBFS ? SILENCE_FLOOR_DBFS : db;
}

static int emit_end(VqaDetectorContext *ctx, SilencePriv *p, double t, int eos)
{
    char details[96];
    snprintf(details, sizeof(details), "{\"digital_zero\":%s,\"channels\":%d%s}",
             p->run_zero ? "true" : "false", p->channels, eos ? ",\"closed_by\":\"eos\"" : "");
    p->active = 0;
    return vqa_detector_emit(ctx, SILENCE_KIND, VQA_EVENT_END, t, to_dbfs(p->run_peak),
                             VQA_SEVERITY_WARNING, details);
}

/* Judge the window [window_t, window_t + window_pos / rate) and move the run. */
static int finish_window(VqaDetectorContext *ctx, SilencePriv *p)
{
    if (p->window_pos == 0)
        return 0;
    int silent = 1;
    double limit = p->level_sq * (double)p->window_pos;
    for (int c = 0; c < p->channels; c++)
        if (p->sum_sq[c] >= limit)
            silent = 0;
    double t = p->window_t;
    double end = t + (double)p->window_pos / p->sample_rate;
    int ret = 0;
    if (!silent) {
        if (p->active)
            ret = emit_end(ctx, p, t, 0);
        p->in_run = 0;
    } else {
        if (!p->in_run) {
            p->in_run = 1;
            p->onset_t = t;
            p->run_peak = 0;
            p->run_zero = 1;
        }
        if (p->window_peak > p->run_peak)
            p->run_peak = p->window_peak;
        p->run_zero &= p->window_zero;
        if (!p->active && end - p->onset_t >= p->min_duration_s - SILENCE_EPS_S) {
            char details[80];
            snprintf(details, sizeof(details), "{\"digital_zero\":%s,\"channels\":%d}",
                     p->run_zero ? "true" : "false", p->channels);
            p->active = 1;
            ret = vqa_detector_emit(ctx, SILENCE_KIND, VQA_EVENT_START, p->onset_t,
                                    to_dbfs(p->run_peak), VQA_SEVERITY_WARNING, details);
        }
    }
    memset(p->sum_sq, 0, (size_t)p->channels * sizeof(*p->sum_sq));
    p->window_pos = 0;
    p->window_peak = 0;
    p->window_zero = 1;
    p->window_t = end;
    return ret;
}

/* (Re)configure for a rate and channel count; the caller judges the open window first. */
static int configure(SilencePriv *p, int rate, int channels)
{
    if (channels != p->channels || !p->sum_sq) {
        double *s = realloc(p->sum_sq, (size_t)channels * sizeof(*s));
        if (!s)
            return VQA_ERR(ENOMEM);
        p->sum_sq = s;
    }
    memset(p->sum_sq, 0, (size_t)channels * sizeof(*p->sum_sq));
    p->sample_rate = rate;
    p->channels = channels;
    p->window_len = (int64_t)llround(p->window_s * rate);
    if (p->window_len < 1)
        p->window_len = 1;
    p->window_pos = 0;
    p->window_peak = 0;
    p->window_zero = 1;
    return 0;
}

static int silence_init(VqaDetectorContext *ctx)
{
    SilencePriv *p = ctx->priv;
    double level = pow(10.0, p->level_dbfs / 20.0);
    p->level_sq = level * level;
    return 0;
}

/* Add n samples per channel starting at offset `from` to the window. */
static void accumulate(SilencePriv *p, const VqaFrame *f, int from, int n)
{
    float peak = p->window_peak;
    int zero = p->window_zero;
    for (int c = 0; c < p->channels; c++) {
        const float *x = (const float *)f->audio_planes[c] + from;
        double sum = 0;
        for (int i = 0; i < n; i++) {
            float a = fabsf(x[i]);
            sum += (double)x[i] * x[i];
            if (a > peak)
                peak = a;
        }
        p->sum_sq[c] += sum;
        if (sum != 0)
            zero = 0;
    }
    p->window_peak = peak;
    p->window_zero = zero;
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
    if (p->active) {
        int r = emit_end(ctx, p, p->end_t, 1);
        if (ret == 0)
            ret = r;
    }
    p->in_run = 0;
    return ret;
}

static void silence_close(VqaDetectorContext *ctx)
{
    SilencePriv *p = ctx->priv;
    free(p->sum_sq);
    p->sum_sq = NULL;
}

static const VqaOption silence_options[] = {
    { "min_duration", "shortest silence reported", "s", VQA_OPT_DOUBLE,
      offsetof(SilencePriv, min_duration_s), 2.0, NULL, 0.01, 86400, 0, { NULL, NULL } },
    { "level", "a window is silent when every channel's RMS is below this", "dBFS",
      VQA_OPT_DOUBLE, offsetof(SilencePriv, level_dbfs), -60.0, NULL, -150, 0, 0,
      { NULL, NULL } },
    { "window", "length of the RMS window", "s", VQA_OPT_DOUBLE,
      offsetof(SilencePriv, window_s), 0.02, NULL, 0.001, 1.0, 0, { NULL, NULL } },
    { NULL, NULL, NULL, VQA_OPT_NONE, 0, 0, NULL, 0, 0, 0, { NULL, NULL } },
};

static const char *const silence_kinds[] = { SILENCE_KIND, NULL };

static const VqaDetectorClass silence_class = {
    .struct_size = sizeof(VqaDetectorClass),
    .name = "silence",
    .description = "every channel below a level (windowed RMS), digital zero told apart",
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

static const VqaDetectorClass *const silence_detectors[] = { &silence_class, NULL };

static const VqaPluginDesc silence_plugin = {
    .struct_size = sizeof(VqaPluginDesc),
    .abi_minor = VQA_PLUGIN_ABI_MINOR,
    .name = "silence",
    .version = "1.0.0",
    .license = "BSD-2-Clause",
    .description = "audio silence detection",
    .detectors = silence_detectors,
};

VQA_PLUGIN_DEFINE(silence_plugin)
