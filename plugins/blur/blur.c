/*
 * video.blur: the picture has lost detail well below the stream's own norm,
 * for min_duration.
 *
 * Measure. On a GRAY8 proxy of at most 480x480, sharpness is the ratio of
 * the picture's second-difference energy to its first-difference energy,
 * both cored (differences of up to BLUR_CORE_LEVELS are noise):
 *     S = sum(|l - 2c + r|' + |u - 2c + d|') / sum(|r - c|' + |d - c|')
 * A step edge spread over w pixels keeps its first-difference sum (the total
 * variation of a monotonic edge does not change under blur) while its
 * second differences fall as 1/w, so S behaves like an inverse edge width
 * (the idea of Marziliano et al. 2002, without the Canny pass and the edge
 * tracing that make FFmpeg's blurdetect cost 10-14x a decode). Being a
 * ratio, S does not depend on contrast: a low-contrast scene or a fade is
 * not "blurred" for having little gradient energy, and since natural
 * pictures are roughly scale-invariant, S varies less between scenes than
 * the variance of the Laplacian most blur scores use (lavfi sources at
 * 1080p, x264: 1.2 mandelbrot .. 1.7 testsrc2 .. 2.0 pixel art, while a
 * 1080p boxblur of radius 2 / 4 / 10 takes testsrc2 to 62% / 40% / 14%).
 *
 * Proxy. 480 rather than the 320 black and freeze share: at 320 (1080p
 * decimated 6x) a radius-4 blur still keeps 65% of the detail and passes;
 * at 480 it keeps 40% and is found. The cost (docs/performance.md): the
 * proxy comes from the 2x2 sums the converter shares between proxies, and
 * the measure is one SIMD pass (compiled for AVX2 too): measuring every
 * picture cost about 2% of decoding at 1080p and 7% at 480p, at 5 pictures a
 * second about 0.5% and 2% (in instructions; the proxy itself not included).
 *
 * Rate. Loss of detail against a norm that moves over seconds is a slow
 * property: the measure runs on `rate` pictures a second (5), and the
 * pictures in between are kept (references to the proxies, no copy). When a
 * measured picture changes the verdict of the one measured before (blurred
 * or not), the kept pictures are measured in order first, so a run still
 * begins and ends at the exact frame, as if every picture had been measured;
 * otherwise they share the verdict and values of the measured picture that
 * stands for them. The interval is kept under half of min_duration, so no
 * reportable run fits between two measured pictures. What sampling can miss
 * is a break of a few frames inside a run (or a blurred blip inside sharp
 * pictures), neither of which lasts min_duration. Timing uses frame times,
 * not counts, so a host that delivers fewer frames (--cost light) keeps
 * min_duration in seconds.
 *
 * Norm. S is compared with the stream's own baseline, a time-weighted
 * running mean of log S (a plain mean over the warm-up, then an exponential
 * average with time constant baseline_time); a frame is blurred when
 * S < ratio x baseline. Each frame moves the baseline by at most a factor of
 * two's worth of its weight, so a scene cut cannot drag it; blurred frames
 * feed it only with the much longer relearn_time, so a real blur does not
 * become the norm while it lasts, but content that stays soft (a stream that
 * begins on sharp graphics and continues as film) stops being reported. An
 * inherently soft stream is its own norm and is never reported. A new
 * picture size (another rendition) changes the scale of S: the norms then
 * start again with a new warm-up, and an open run ends there.
 *
 * Not blur. A frame is left out (counted as not blurred, and not fed to the
 * sharpness norm) when it is dark (90% of its pixels at or below 10% of the
 * luma range: black is the black detector's business), flat (mean luma step
 * between neighbours below min_activity: no detail to lose), or part of a
 * fade (mean luma above black below fade_ratio of its own slow norm, which
 * dark frames do not update, so fade-ins after black are caught too; encoders
 * smooth dim pictures, which would otherwise read as blur).
 *
 * Events. START back-dated to the first blurred frame, END at the first
 * frame that is not blurred; value = blur score = share of the normal detail
 * that is lost, 1 - mean(S / baseline) over the run, clamped to 0..1
 * (0 = as sharp as usual, 1 = no detail left); details give the baseline
 * and the run's sharpness (geometric means of S) and its frame count.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "../common/simd.h"
#include "vqa/plugin.h"

#define BLUR_KIND "video.blur"
#define BLUR_EPS_S 1e-6
#ifndef BLUR_PROXY_SIZE
#define BLUR_PROXY_SIZE 480
#endif
/* Dark pixels: at or below 10% of the luma range, as the black detector. */
#define BLUR_DARK_LEVEL 0.10
#define BLUR_DARK_SHARE 0.90
/* Largest step (in log S) one frame may pull the baseline by: a factor of 2. */
#define BLUR_MAX_LOG_STEP 0.6931471805599453
/* Differences up to this many luma levels are quantisation, dither and coding
 * noise: uncored, the noise of an x264-encoded blurred testsrc2 keeps S at
 * 35-45% of the sharp picture's; cored, at 13-22%. */
#define BLUR_CORE_LEVELS 2
/* Floor for S so that its log stays finite on a perfectly linear ramp. */
#define BLUR_MIN_SHARPNESS 1e-3
/* Most pictures kept between two measured ones (a 5 Hz rate at 120 fps needs 23);
 * with more, the next picture is measured whatever the rate. */
#define BLUR_MAX_KEPT 32

typedef struct BlurPriv {
    /* options */
    double min_duration_s;
    double ratio;            /* blurred when S < ratio x baseline */
    double warmup_s;
    double baseline_time_s;  /* time constant of the norm */
    double relearn_time_s;   /* time constant at which lasting blur becomes the norm */
    double fade_ratio;
    double min_activity;     /* luma levels */
    double rate_hz;          /* pictures measured per second; 0 = every one */

    /* pictures received since the last measured one, kept (see "Rate" above) */
    const VqaFrame *kept[BLUR_MAX_KEPT];
    int nb_kept;
    double measured_t;       /* time of the last measured picture */
    int have_measured;

    /* the stream's norms */
    int width, height;       /* proxy size the norms belong to */
    double log_base;         /* log of the baseline sharpness */
    double base_time_s;      /* seconds of frames in the baseline */
    int64_t base_frames;
    double bright_base;      /* mean luma above black, slow norm of non-dark frames */
    int have_bright;

    /* the current blurred run */
    int in_run;
    int active;              /* START emitted */
    double onset_t;
    int64_t frames;
    double sum_rel;          /* sum of S / baseline over the run */
    double sum_log_sharp;    /* sum of log S over the run */
    double sum_log_base;

    double last_t;
    double last_span_s;
    double end_t;            /* the last analysed frame's end */
    int have_frame;
} BlurPriv;

/* What one proxy frame shows. */
typedef struct BlurMeasure {
    double sharpness;    /* S, see the top of the file */
    double activity;     /* mean |first difference| per pixel, luma levels */
    double brightness;   /* mean luma above black, luma levels */
    double dark_share;
} BlurMeasure;

/* The sums of one interior row: widening adds the compiler vectorises. */
typedef struct RowSums {
    uint32_t d1, d2, luma, dark;
} RowSums;

/* Sums over the whole picture. */
typedef struct PictureSums {
    uint64_t d1, d2, luma, dark;
} PictureSums;

VQA_SIMD_INLINE RowSums row_sums(const uint8_t *restrict up, const uint8_t *restrict row,
                                  const uint8_t *restrict down, const int w,
                                  const uint8_t dark_limit)
{
    uint32_t d1 = 0, d2 = 0, luma = 0, dark = 0;
    for (int x = 1; x < w - 1; x++) {
        const int c = row[x];
        int dx = row[x + 1] - c, dy = down[x] - c;
        int lx = row[x - 1] - 2 * c + row[x + 1], ly = up[x] - 2 * c + down[x];
        dx = (dx < 0 ? -dx : dx) - BLUR_CORE_LEVELS;
        dy = (dy < 0 ? -dy : dy) - BLUR_CORE_LEVELS;
        lx = (lx < 0 ? -lx : lx) - BLUR_CORE_LEVELS;
        ly = (ly < 0 ? -ly : ly) - BLUR_CORE_LEVELS;
        d1 += (uint32_t)((dx > 0 ? dx : 0) + (dy > 0 ? dy : 0));
        d2 += (uint32_t)((lx > 0 ? lx : 0) + (ly > 0 ? ly : 0));
        luma += (uint32_t)c;
        dark += c <= dark_limit;
    }
    return (RowSums){ d1, d2, luma, dark };
}

/* One pass over the interior (the one-pixel border has no neighbours). */
VQA_SIMD_CLONES VQA_VECTORISE static PictureSums picture_sums(const VqaFrame *f,
                                                              const uint8_t dark_limit)
{
    PictureSums t = { 0, 0, 0, 0 };
    for (int y = 1; y < f->height - 1; y++) {
        const uint8_t *row = f->data[0] + (ptrdiff_t)y * f->linesize[0];
        RowSums s = row_sums(row - f->linesize[0], row, row + f->linesize[0], f->width,
                             dark_limit);
        t.d1 += s.d1;
        t.d2 += s.d2;
        t.luma += s.luma;
        t.dark += s.dark;
    }
    return t;
}

static BlurMeasure measure(const VqaFrame *f)
{
    const int full = f->range == VQA_RANGE_FULL;
    const double black = full ? 0.0 : 16.0;
    const uint8_t dark_limit = (uint8_t)(black + BLUR_DARK_LEVEL * (full ? 255.0 : 219.0));
    const PictureSums t = picture_sums(f, dark_limit);
    const uint64_t d1 = t.d1, d2 = t.d2, luma = t.luma, dark = t.dark;
    const double n = (double)(f->width - 2) * (double)(f->height - 2);
    BlurMeasure m;
    m.sharpness = d1 ? fmax((double)d2 / (double)d1, BLUR_MIN_SHARPNESS) : BLUR_MIN_SHARPNESS;
    m.activity = (double)d1 / n;
    m.brightness = fmax((double)luma / n - black, 0.0);
    m.dark_share = (double)dark / n;
    return m;
}

/* How long this frame stands for: its own duration, or the gap to the
 * previous analysed frame when frames were skipped (reduced rate, overload). */
static double frame_span(const BlurPriv *p, const VqaDetectorContext *ctx, const VqaFrame *f)
{
    double span = f->duration > 0 ? f->duration : 0;
    if (p->have_frame && f->t - p->last_t > span)
        span = f->t - p->last_t;
    if (span <= 0 && p->last_span_s > 0)
        span = p->last_span_s;
    if (span <= 0 && ctx->info && ctx->info->frame_rate > 0)
        span = 1.0 / ctx->info->frame_rate;
    return span;
}

static double clamp01(double v)
{
    return v < 0 ? 0 : v > 1 ? 1 : v;
}

static int emit_event(VqaDetectorContext *ctx, BlurPriv *p, VqaEventState state, double t,
                      int eos)
{
    const double n = (double)p->frames;
    char details[192];
    snprintf(details, sizeof(details),
             "{\"baseline\":%.4f,\"sharpness\":%.4f,\"frames\":%lld%s}",
             exp(p->sum_log_base / n), exp(p->sum_log_sharp / n), (long long)p->frames,
             eos ? ",\"closed_by\":\"eos\"" : "");
    p->active = state == VQA_EVENT_START;
    return vqa_detector_emit(ctx, BLUR_KIND, state, t, clamp01(1.0 - p->sum_rel / n),
                             VQA_SEVERITY_WARNING, details);
}

/* Feed one frame's sharpness to the norm; see the top of the file. */
static void update_baseline(BlurPriv *p, double log_s, double span_s, int blurred)
{
    if (p->base_frames++ == 0) {
        p->log_base = log_s;
        p->base_time_s = span_s;
        return;
    }
    double a = 1.0 - exp(-span_s / (blurred ? p->relearn_time_s : p->baseline_time_s));
    if (p->base_time_s < p->warmup_s && a < 1.0 / (double)p->base_frames)
        a = 1.0 / (double)p->base_frames; /* a plain mean until the norm is known */
    double step = log_s - p->log_base;
    if (p->base_time_s >= p->warmup_s) /* a scene cut cannot drag a known norm */
        step = step > BLUR_MAX_LOG_STEP ? BLUR_MAX_LOG_STEP
               : step < -BLUR_MAX_LOG_STEP ? -BLUR_MAX_LOG_STEP : step;
    p->log_base += a * step;
    p->base_time_s += span_s;
}

static void update_brightness(BlurPriv *p, double brightness, double span_s)
{
    if (!p->have_bright) {
        p->bright_base = brightness;
        p->have_bright = 1;
        return;
    }
    p->bright_base += (1.0 - exp(-span_s / p->baseline_time_s)) * (brightness - p->bright_base);
}

/* A new proxy size changes S's scale: forget the norms. */
static void reset_norms(BlurPriv *p, const VqaFrame *f)
{
    p->width = f->width;
    p->height = f->height;
    p->base_frames = 0;
    p->base_time_s = 0;
    p->have_bright = 0;
}

/* Whether a picture of measure m is blurred against the norms as they stand (no update);
 * *rel = its sharpness relative to the baseline (1 when left out or not yet known). */
static int verdict(const BlurPriv *p, const BlurMeasure *m, double *rel)
{
    *rel = 1.0;
    const int dark = m->dark_share >= BLUR_DARK_SHARE;
    const int flat = m->activity < p->min_activity;
    const int fade = p->have_bright && m->brightness < p->fade_ratio * p->bright_base;
    if (dark || flat || fade)
        return 0;
    const int known = p->base_frames > 0 && p->base_time_s >= p->warmup_s - BLUR_EPS_S;
    if (known)
        *rel = exp(log(m->sharpness) - p->log_base);
    return known && *rel < p->ratio;
}

/* @return 1 if the frame is blurred, 0 if not; updates the norms. */
static int classify(BlurPriv *p, const BlurMeasure *m, double span_s, double *rel)
{
    const int blurred = verdict(p, m, rel);
    const int dark = m->dark_share >= BLUR_DARK_SHARE;
    const int flat = m->activity < p->min_activity;
    const int fade = p->have_bright && m->brightness < p->fade_ratio * p->bright_base;
    if (!dark)
        update_brightness(p, m->brightness, span_s);
    if (!(dark || flat || fade))
        update_baseline(p, log(m->sharpness), span_s, blurred);
    return blurred;
}

static int check_frame(VqaDetectorContext *ctx, const VqaFrame *f)
{
    if (f->type != VQA_MEDIA_VIDEO || f->pix_fmt != VQA_PIX_GRAY8 || !f->data[0] ||
        f->width < 3 || f->height < 3 || f->linesize[0] < f->width) {
        vqa_detector_log(ctx, VQA_LOG_ERROR, "blur: expected a GRAY8 picture of 3x3 or more");
        return VQA_ERR(EINVAL);
    }
    return 0;
}

/*
 * Classify one measured picture and run the event logic. `frames` is how
 * many pictures it stands for: itself and the kept ones before it that share
 * its verdict (they count in the run's frames and means).
 */
static int analyse(VqaDetectorContext *ctx, const VqaFrame *f, const BlurMeasure *mp,
                   int64_t frames)
{
    BlurPriv *p = ctx->priv;
    int ret;
    /* The norms weigh a picture by the time it stands for (span_s, which covers the
     * pictures skipped before it); the media seen ends with its own duration. */
    const double span_s = frame_span(p, ctx, f);
    const double own_s = f->duration > 0 ? f->duration
                         : ctx->info && ctx->info->frame_rate > 0 ? 1.0 / ctx->info->frame_rate
                         : span_s;
    p->last_t = f->t;
    p->last_span_s = span_s;
    p->end_t = f->t + own_s;
    p->have_frame = 1;
    if (f->width != p->width || f->height != p->height)
        reset_norms(p, f);

    const BlurMeasure m = *mp;
    const double base = exp(p->log_base);
    double rel = 1.0;
    if (!classify(p, &m, span_s, &rel)) {
        ret = p->active ? emit_event(ctx, p, VQA_EVENT_END, f->t, 0) : 0;
        p->in_run = 0;
        return ret;
    }
    if (!p->in_run) {
        p->in_run = 1;
        p->onset_t = f->t;
        p->frames = 0;
        p->sum_rel = p->sum_log_sharp = p->sum_log_base = 0;
    }
    p->frames += frames;
    p->sum_rel += rel * (double)frames;
    p->sum_log_sharp += log(m.sharpness) * (double)frames;
    p->sum_log_base += log(base) * (double)frames;
    if (p->active || p->end_t - p->onset_t < p->min_duration_s - BLUR_EPS_S)
        return 0;
    return emit_event(ctx, p, VQA_EVENT_START, p->onset_t, 0);
}

static void drop_kept(BlurPriv *p, const VqaDetectorContext *ctx)
{
    for (int i = 0; i < p->nb_kept; i++)
        ctx->host->frame_unref(&p->kept[i]);
    p->nb_kept = 0;
}

/*
 * Measure f, the picture due after the kept ones. If its verdict is the one
 * the last measured picture had, it stands for the kept pictures too; if it
 * differs, the change lies among them: each is measured, in order.
 */
static int measure_due(VqaDetectorContext *ctx, const VqaFrame *f)
{
    BlurPriv *p = ctx->priv;
    const BlurMeasure m = measure(f);
    double rel;
    const int same_size = f->width == p->width && f->height == p->height;
    int ret = 0;
    p->measured_t = f->t;
    p->have_measured = 1;
    if (p->nb_kept > 0 && (!same_size || verdict(p, &m, &rel) != p->in_run)) {
        for (int i = 0; i < p->nb_kept && ret >= 0; i++) {
            const BlurMeasure mk = measure(p->kept[i]);
            ret = analyse(ctx, p->kept[i], &mk, 1);
        }
        drop_kept(p, ctx);
        return ret < 0 ? ret : analyse(ctx, f, &m, 1);
    }
    const int64_t frames = 1 + p->nb_kept;
    drop_kept(p, ctx);
    return analyse(ctx, f, &m, frames);
}

/* Kept pictures still waiting (the input ends, or their size changes): the last
 * of them is measured as if due. */
static int settle_kept(VqaDetectorContext *ctx)
{
    BlurPriv *p = ctx->priv;
    if (p->nb_kept == 0)
        return 0;
    const VqaFrame *last = p->kept[--p->nb_kept];
    int ret = measure_due(ctx, last);
    ctx->host->frame_unref(&last);
    return ret;
}

/* Whether f is to be measured now: see "Rate" at the top of the file. */
static int is_due(const BlurPriv *p, const VqaFrame *f)
{
    if (p->rate_hz <= 0 || !p->have_measured || p->nb_kept == BLUR_MAX_KEPT)
        return 1;
    double interval_s = 1.0 / p->rate_hz;
    if (interval_s > p->min_duration_s / 2)
        interval_s = p->min_duration_s / 2;
    /* half a frame of slack, as the host's own rate limit */
    return f->t + f->duration / 2 >= p->measured_t + interval_s - BLUR_EPS_S;
}

static int blur_process(VqaDetectorContext *ctx, const VqaFrame *f)
{
    BlurPriv *p = ctx->priv;
    int ret = check_frame(ctx, f);
    if (ret < 0)
        return ret;
    if (p->nb_kept > 0 &&
        (f->width != p->kept[0]->width || f->height != p->kept[0]->height)) {
        ret = settle_kept(ctx); /* another rendition: the kept ones belong to the old norms */
        if (ret < 0)
            return ret;
    }
    if (is_due(p, f))
        return measure_due(ctx, f);
    const VqaFrame *kept = ctx->host->frame_ref(f);
    if (!kept) /* the host could not keep it: measure it now */
        return measure_due(ctx, f);
    p->kept[p->nb_kept++] = kept;
    return 0;
}

static int blur_flush(VqaDetectorContext *ctx)
{
    BlurPriv *p = ctx->priv;
    int ret = settle_kept(ctx);
    if (ret < 0)
        return ret;
    ret = p->active ? emit_event(ctx, p, VQA_EVENT_END, p->end_t, 1) : 0;
    p->in_run = 0;
    return ret;
}

static void blur_close(VqaDetectorContext *ctx)
{
    drop_kept(ctx->priv, ctx);
}

static const VqaOption blur_options[] = {
    { "min_duration", "shortest blurred run reported", "s", VQA_OPT_DOUBLE,
      offsetof(BlurPriv, min_duration_s), 2.0, NULL, 0.04, 86400, 0, { NULL, NULL } },
    { "ratio", "a frame is blurred when its sharpness is below this share of the stream's norm",
      "fraction", VQA_OPT_DOUBLE, offsetof(BlurPriv, ratio), 0.5, NULL, 0.05, 0.95, 0,
      { NULL, NULL } },
    { "warmup", "seconds of usable pictures that set the norm before anything is reported",
      "s", VQA_OPT_DOUBLE, offsetof(BlurPriv, warmup_s), 3.0, NULL, 0, 600, 0, { NULL, NULL } },
    { "baseline_time", "time constant at which the norm follows the stream", "s",
      VQA_OPT_DOUBLE, offsetof(BlurPriv, baseline_time_s), 10.0, NULL, 0.5, 3600, 0,
      { NULL, NULL } },
    { "relearn_time", "time constant at which lasting blur becomes the norm", "s",
      VQA_OPT_DOUBLE, offsetof(BlurPriv, relearn_time_s), 60.0, NULL, 1, 86400, 0,
      { NULL, NULL } },
    { "fade_ratio", "a picture dimmer than this share of the stream's usual brightness is a "
      "fade, never blur (0 = off)", "fraction", VQA_OPT_DOUBLE, offsetof(BlurPriv, fade_ratio),
      0.5, NULL, 0, 1, 0, { NULL, NULL } },
    { "min_activity", "pictures with a smaller mean luma step between neighbours (beyond the "
      "noise) are flat, never blur", "luma levels", VQA_OPT_DOUBLE,
      offsetof(BlurPriv, min_activity), 0.25, NULL,
      0, 64, 0, { NULL, NULL } },
    { "rate", "pictures measured per second while nothing changes; around a change every "
      "picture is (0 = every picture)", "Hz", VQA_OPT_DOUBLE, offsetof(BlurPriv, rate_hz), 5.0,
      NULL, 0, 1000, 0, { NULL, NULL } },
    { NULL, NULL, NULL, VQA_OPT_NONE, 0, 0, NULL, 0, 0, 0, { NULL, NULL } },
};

static const char *const blur_kinds[] = { BLUR_KIND, NULL };

static const VqaDetectorClass blur_class = {
    .struct_size = sizeof(VqaDetectorClass),
    .name = "blur",
    .description = "loss of detail against the stream's own norm (edge-width ratio, fade aware)",
    .kinds = blur_kinds,
    .flags = VQA_DETECTOR_TEMPORAL,
    .priv_size = sizeof(BlurPriv),
    .options = blur_options,
    .input = {
        .type = VQA_MEDIA_VIDEO,
        .pix_fmt = VQA_PIX_GRAY8,
        .max_width = BLUR_PROXY_SIZE,
        .max_height = BLUR_PROXY_SIZE,
    },
    .process = blur_process,
    .flush = blur_flush,
    .close = blur_close,
};

VQA_PLUGIN_DEFINE_DETECTOR(blur_class, "blur", "1.1.0", "BSD-2-Clause",
                           "blur detection against the stream's own norm")
