/*
 * av.sync: audio leads or lags the picture by more than the tolerance
 * (ITU-R BT.1359 detectability by default: more than 45 ms early or more than
 * 125 ms late) for min_duration. value = offset in ms, positive = audio late.
 *
 * One instance per stream sees both the first video track (a small GRAY8
 * proxy) and the first audio track (mono, 16 kHz), in decoding order. Two
 * tiers report through the same kind, with details.tier saying which:
 *
 *  - clock: the audio timestamps against the samples actually delivered.
 *    Sample n was captured at first_t + n / rate; a timestamp ahead of that
 *    (an encoder or capture clock running fast) makes a player that follows
 *    the timestamps present the sound late by the difference, behind makes
 *    it early. Steps over 0.2 s are the host's stream.gap and restart the
 *    reference; small ones add up.
 *  - content: visual events (flash, cut) and the audio onsets within
 *    `search` of each; over the last `window` seconds (or the last
 *    window_events visual events, if that reaches further back) the median
 *    offset of each event's nearest onset is the rough estimate, the events
 *    with an onset within one frame of it agree, and the mean of those
 *    offsets is the estimate; it counts only with min_pairs agreeing pairs
 *    making up min_confidence of the visual events, unlikely by chance.
 *
 * A defect starts back-dated to the first of the agreeing pairs that are each
 * out of tolerance (content) or the first out-of-tolerance buffer (clock),
 * and ends at the first visual event after the last agreeing pair, or the
 * first in-tolerance buffer. An estimate
 * without confidence changes nothing.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "avsync.h"
#include "vqa/plugin.h"

#define AVSYNC_KIND "av.sync"
#define AVSYNC_OFFSET_KIND "x-avsync.offset"
#define AVSYNC_EPS_S 1e-6
/* The host's own gap threshold: a larger step of the audio clock is a gap. */
#define AVSYNC_CLOCK_STEP_S 0.2
/* Pictures further apart than this cannot place a flash within a frame. */
#define AVSYNC_MAX_FRAME_S 0.1
/* Pairs agree within one frame, but never tighter than this. */
#define AVSYNC_MIN_AGREE_S 0.02
/* Reports wait up to a window: 120 s at one per 0.5 s. */
#define AVSYNC_MAX_INSTANTS 256

enum { TIER_NONE = 0, TIER_CONTENT = 1, TIER_CLOCK = 2 };

typedef struct AvRun {
    int in_run;              /* out of tolerance, maybe not yet for min_duration */
    int active;              /* START emitted */
    double onset_t;
    double last_t;           /* last time seen out of tolerance */
    double offset_ms;
    double confidence, chance;
    int pairs, events;
} AvRun;

typedef struct AvInstant {
    double t, offset_ms, confidence, chance;
    int pairs, events;
} AvInstant;

typedef struct AvSyncPriv {
    /* options */
    double early_ms, late_ms, min_duration_s, min_confidence, max_chance, window_s, search_ms;
    int64_t min_pairs, window_events;
    double max_window_s;
    double report_interval_s;
    int clock;
    double onset_rise_db, onset_level_db, video_jump, video_rise;

    AvAudio audio;
    AvVideo video;
    AvRun content, clock_run;
    int open_tier;           /* the tier whose START is open, TIER_NONE if none */

    /* the clock tier's reference */
    int clk_have, clk_rate;
    double clk_ref_t, clk_next_t;
    int64_t clk_samples;

    /* x-avsync.offset reports wait until no START can be back-dated before them */
    AvInstant instants[AVSYNC_MAX_INSTANTS];
    int inst_count;
    double last_report_t;

    double last_emit_t;
    double last_eval_t;      /* the latest content estimate */
    double last_window_from; /* and where its window started */
    double end_t;
    int slow_video_logged;
} AvSyncPriv;


static int release_instants(VqaDetectorContext *ctx, AvSyncPriv *p, double horizon);

/* Events of one detector go out in time order; a late back-dating is clamped. */
static int emit(VqaDetectorContext *ctx, AvSyncPriv *p, const char *kind, VqaEventState state,
                double t, double value, VqaSeverity severity, const char *details)
{
    if (t < p->last_emit_t)
        t = p->last_emit_t;
    p->last_emit_t = t;
    return vqa_detector_emit(ctx, kind, state, t, value, severity, details);
}

static void run_details(const AvRun *r, int tier, int eos, char *out, size_t size)
{
    if (tier == TIER_CLOCK)
        snprintf(out, size, "{\"tier\":\"clock\"%s}", eos ? ",\"closed_by\":\"eos\"" : "");
    else
        snprintf(out, size, "{\"tier\":\"content\",\"confidence\":%.3f,\"pairs\":%d,"
                 "\"events\":%d,\"chance\":%.2g%s}", r->confidence, r->pairs, r->events,
                 r->chance, eos ? ",\"closed_by\":\"eos\"" : "");
}

static int run_end(VqaDetectorContext *ctx, AvSyncPriv *p, AvRun *r, int tier, double t,
                   int eos)
{
    int ret = 0;
    if (r->active) {
        char details[160];
        run_details(r, tier, eos, details, sizeof(details));
        ret = release_instants(ctx, p, t);
        int err = emit(ctx, p, AVSYNC_KIND, VQA_EVENT_END, t, r->offset_ms,
                       VQA_SEVERITY_WARNING, details);
        if (ret == 0)
            ret = err;
        p->open_tier = TIER_NONE;
    }
    r->in_run = 0;
    r->active = 0;
    return ret;
}

/* The tier saw the offset out of tolerance from onset_t to last_t. */
static int run_out(VqaDetectorContext *ctx, AvSyncPriv *p, AvRun *r, int tier, double onset_t,
                   double last_t)
{
    if (!r->in_run) {
        r->in_run = 1;
        r->onset_t = onset_t;
        r->last_t = last_t;
    } else if (last_t > r->last_t) {
        r->last_t = last_t;
    }
    if (r->active || p->open_tier != TIER_NONE ||
        r->last_t - r->onset_t < p->min_duration_s - AVSYNC_EPS_S)
        return 0;
    char details[160];
    run_details(r, tier, 0, details, sizeof(details));
    r->active = 1;
    p->open_tier = tier;
    int ret = release_instants(ctx, p, r->onset_t); /* the reports before it go first */
    if (ret < 0)
        return ret;
    return emit(ctx, p, AVSYNC_KIND, VQA_EVENT_START, r->onset_t, r->offset_ms,
                VQA_SEVERITY_WARNING, details);
}

static int out_of_tolerance(const AvSyncPriv *p, double offset_ms)
{
    return offset_ms < -p->early_ms || offset_ms > p->late_ms;
}

/* ---- x-avsync.offset reports ------------------------------------------ */

/* Reports before this time can go out: no START or END will come before it.
 * A content START goes back at most to the oldest pair of the window, and
 * later windows start no earlier than the last one. */
static double report_horizon(const AvSyncPriv *p)
{
    double h = p->last_window_from;
    const AvRun *c = &p->content;
    if (c->in_run) {
        /* an open one ends at the first visual event after its last agreeing pair */
        double limit = c->active ? c->last_t : c->onset_t;
        if (limit < h)
            h = limit;
    }
    if (p->clock_run.in_run && !p->clock_run.active && p->clock_run.onset_t < h)
        h = p->clock_run.onset_t;
    return h;
}

/* Emit the queued reports up to horizon (all while the queue is full). */
static int release_instants(VqaDetectorContext *ctx, AvSyncPriv *p, double horizon)
{
    int done = 0, ret = 0;
    while (done < p->inst_count &&
           (p->instants[done].t <= horizon || p->inst_count - done >= AVSYNC_MAX_INSTANTS)) {
        const AvInstant *in = &p->instants[done++];
        char details[160];
        snprintf(details, sizeof(details),
                 "{\"confidence\":%.3f,\"pairs\":%d,\"events\":%d,\"chance\":%.2g}",
                 in->confidence, in->pairs, in->events, in->chance);
        int err = emit(ctx, p, AVSYNC_OFFSET_KIND, VQA_EVENT_INSTANT, in->t, in->offset_ms,
                       VQA_SEVERITY_INFO, details);
        if (err < 0 && ret == 0)
            ret = err;
    }
    memmove(p->instants, p->instants + done, (size_t)(p->inst_count - done) * sizeof(AvInstant));
    p->inst_count -= done;
    return ret;
}

static void queue_instant(AvSyncPriv *p, double t, const AvEstimate *est)
{
    if (p->report_interval_s <= 0 || t - p->last_report_t < p->report_interval_s - AVSYNC_EPS_S)
        return;
    if (p->inst_count == AVSYNC_MAX_INSTANTS)
        return; /* release_instants lets the oldest out before this can happen */
    p->instants[p->inst_count++] = (AvInstant){ t, est->offset_s * 1000.0, est->confidence,
                                                est->chance, est->pairs, est->events };
    p->last_report_t = t;
}

/* ---- content tier ------------------------------------------------------ */

static AvCriteria criteria(const AvSyncPriv *p)
{
    double frame_s = p->video.frame_s > 0 ? p->video.frame_s : 0.04;
    return (AvCriteria){
        .window_s = p->window_s,
        .window_events = (int)p->window_events,
        .max_window_s = p->max_window_s,
        .search_s = p->search_ms / 1000.0,
        .agree_s = frame_s > AVSYNC_MIN_AGREE_S ? frame_s : AVSYNC_MIN_AGREE_S,
        .min_pairs = (int)p->min_pairs,
        .min_confidence = p->min_confidence,
        .max_chance = p->max_chance,
        .early_s = p->early_ms / 1000.0,
        .late_s = p->late_ms / 1000.0,
    };
}

static int content_evaluate(VqaDetectorContext *ctx, AvSyncPriv *p, double t_now)
{
    if (p->video.frame_s > AVSYNC_MAX_FRAME_S)
        return 0; /* see warn_slow_video */
    const AvCriteria crit = criteria(p);
    AvEstimate est;
    av_estimate(&p->video, t_now, &crit, &est);
    p->last_eval_t = t_now;
    p->last_window_from = est.window_from;
    if (!est.confident)
        return 0; /* not knowing is no reason to start or end anything */
    queue_instant(p, t_now, &est);
    AvRun *r = &p->content;
    double offset_ms = est.offset_s * 1000.0;
    if (!out_of_tolerance(p, offset_ms)) {
        double end_t = av_visual_after(&p->video, r->last_t, t_now);
        return run_end(ctx, p, r, TIER_CONTENT, end_t, 0);
    }
    r->offset_ms = offset_ms;
    r->confidence = est.confidence;
    r->chance = est.chance;
    r->pairs = est.pairs;
    r->events = est.events;
    double onset_t = isfinite(est.first_out_t) ? est.first_out_t : est.last_agree_t;
    return run_out(ctx, p, r, TIER_CONTENT, onset_t, est.last_agree_t);
}

/* Pair every visual event whose audio has been analysed, estimating at each. */
static int content_step(VqaDetectorContext *ctx, AvSyncPriv *p, int all)
{
    const double search_s = p->search_ms / 1000.0;
    const AvVisual *e;
    double t_now = -INFINITY;
    while ((e = av_mature_next(&p->video, &p->audio, search_s, all)) != NULL) {
        t_now = e->t;
        int err = content_evaluate(ctx, p, t_now);
        if (err < 0)
            return err;
    }
    if (isfinite(t_now)) {
        const AvCriteria crit = criteria(p);
        av_prune(&p->video, &p->audio, &crit, t_now);
    }
    return 0;
}

/* Subsampled pictures (cost=light) cannot place a flash within a frame. */
static void warn_slow_video(VqaDetectorContext *ctx, AvSyncPriv *p)
{
    if (p->video.frame_s <= AVSYNC_MAX_FRAME_S || p->slow_video_logged)
        return;
    vqa_detector_log(ctx, VQA_LOG_WARNING, "avsync: pictures %.0f ms apart cannot place a "
                     "visual event; no content estimate while so", p->video.frame_s * 1000.0);
    p->slow_video_logged = 1;
}

/* ---- clock tier -------------------------------------------------------- */

static int clock_step(VqaDetectorContext *ctx, AvSyncPriv *p, const VqaFrame *f)
{
    double dur_s = (double)f->nb_samples / f->sample_rate;
    int step = p->clk_have && fabs(f->t - p->clk_next_t) > AVSYNC_CLOCK_STEP_S;
    int ret = 0;
    if (!p->clk_have || step || (f->flags & VQA_FRAME_DISCONTINUITY) ||
        f->sample_rate != p->clk_rate) {
        /* A gap or a new timeline: the offset so far is unknown from here on. */
        if (p->clk_have)
            ret = run_end(ctx, p, &p->clock_run, TIER_CLOCK, f->t, 0);
        p->clk_have = 1;
        p->clk_rate = f->sample_rate;
        p->clk_ref_t = f->t;
        p->clk_samples = 0;
    }
    double error_s = (f->t - p->clk_ref_t) - (double)p->clk_samples / p->clk_rate;
    p->clk_samples += f->nb_samples;
    p->clk_next_t = f->t + dur_s;
    AvRun *r = &p->clock_run;
    double offset_ms = error_s * 1000.0; /* stamps ahead of the samples: presented late */
    if (ret < 0 || !p->clock)
        return ret;
    if (!out_of_tolerance(p, offset_ms))
        return run_end(ctx, p, r, TIER_CLOCK, f->t, 0);
    r->offset_ms = offset_ms;
    return run_out(ctx, p, r, TIER_CLOCK, f->t, f->t + dur_s);
}

/* ---- the class --------------------------------------------------------- */

static int check_frame(VqaDetectorContext *ctx, const VqaFrame *f)
{
    if (f->type == VQA_MEDIA_VIDEO && f->pix_fmt == VQA_PIX_GRAY8 && f->data[0] &&
        f->width > 0 && f->height > 0 && f->linesize[0] >= f->width)
        return 0;
    if (f->type == VQA_MEDIA_AUDIO && f->sample_fmt == VQA_SAMPLE_FLTP && f->audio_planes &&
        f->sample_rate > 0 && f->channels > 0 && f->nb_samples >= 0)
        return 0;
    vqa_detector_log(ctx, VQA_LOG_ERROR, "avsync: expected GRAY8 pictures and FLTP audio");
    return VQA_ERR(EINVAL);
}

static int avsync_init(VqaDetectorContext *ctx)
{
    AvSyncPriv *p = ctx->priv;
    p->audio.rise_db = p->onset_rise_db;
    p->audio.min_level_db = p->onset_level_db;
    p->video.jump = p->video_jump;
    p->video.rise = p->video_rise;
    p->last_emit_t = -INFINITY;
    p->last_eval_t = -INFINITY;
    p->last_window_from = -INFINITY;
    p->last_report_t = -INFINITY;
    return 0;
}

static int avsync_process(VqaDetectorContext *ctx, const VqaFrame *f)
{
    AvSyncPriv *p = ctx->priv;
    int err = check_frame(ctx, f);
    if (err < 0)
        return err;
    double end_t;
    if (f->type == VQA_MEDIA_VIDEO) {
        err = av_video_feed(&p->video, f);
        end_t = p->video.end_t;
        warn_slow_video(ctx, p);
    } else {
        if (f->nb_samples == 0)
            return 0;
        err = av_audio_feed(&p->audio, f);
        if (err == 0)
            err = clock_step(ctx, p, f);
        end_t = f->t + (double)f->nb_samples / f->sample_rate;
    }
    if (end_t > p->end_t)
        p->end_t = end_t;
    if (err == 0)
        err = content_step(ctx, p, 0);
    int ret = release_instants(ctx, p, report_horizon(p));
    return err < 0 ? err : ret;
}

static int avsync_flush(VqaDetectorContext *ctx)
{
    AvSyncPriv *p = ctx->priv;
    int err = content_step(ctx, p, 1);
    int ret = release_instants(ctx, p, INFINITY);
    AvRun *open = p->open_tier == TIER_CLOCK ? &p->clock_run : &p->content;
    int end = run_end(ctx, p, open, p->open_tier, p->end_t, 1);
    p->content.in_run = 0;
    p->clock_run.in_run = 0;
    if (err < 0)
        return err;
    return ret < 0 ? ret : end;
}

static void avsync_close(VqaDetectorContext *ctx)
{
    AvSyncPriv *p = ctx->priv;
    av_audio_free(&p->audio);
    av_video_free(&p->video);
}

#define OPT_END { NULL, NULL, NULL, VQA_OPT_NONE, 0, 0, NULL, 0, 0, 0, { NULL, NULL } }

static const VqaOption avsync_options[] = {
    { "early_ms", "audio ahead of the picture by more than this is a defect", "ms",
      VQA_OPT_DOUBLE, offsetof(AvSyncPriv, early_ms), 45, NULL, 0, 10000, 0, { NULL, NULL } },
    { "late_ms", "audio behind the picture by more than this is a defect", "ms",
      VQA_OPT_DOUBLE, offsetof(AvSyncPriv, late_ms), 125, NULL, 0, 10000, 0, { NULL, NULL } },
    { "min_duration", "shortest offset reported", "s", VQA_OPT_DOUBLE,
      offsetof(AvSyncPriv, min_duration_s), 5.0, NULL, 0, 86400, 0, { NULL, NULL } },
    { "min_confidence", "share of visual events whose pair agrees with the estimate",
      "fraction", VQA_OPT_DOUBLE, offsetof(AvSyncPriv, min_confidence), 0.6, NULL, 0, 1, 0,
      { NULL, NULL } },
    { "max_chance", "an estimate counts when its pairs agree by chance at most this often",
      "probability", VQA_OPT_DOUBLE, offsetof(AvSyncPriv, max_chance), 1e-3, NULL, 0, 1, 0,
      { NULL, NULL } },
    { "min_pairs", "agreeing audio-visual pairs an estimate needs", "pairs", VQA_OPT_INT,
      offsetof(AvSyncPriv, min_pairs), 4, NULL, 2, AV_MAX_VISUAL, 0, { NULL, NULL } },
    { "window", "the estimate looks at the visual events of this many seconds", "s",
      VQA_OPT_DOUBLE, offsetof(AvSyncPriv, window_s), 10.0, NULL, 1, 120, 0, { NULL, NULL } },
    { "window_events", "the window reaches further back, up to max_window, to hold this many "
      "visual events (0 = never)", "events", VQA_OPT_INT, offsetof(AvSyncPriv, window_events), 10,
      NULL, 0, AV_MAX_VISUAL, 0, { NULL, NULL } },
    { "max_window", "how far back the window may reach for window_events", "s", VQA_OPT_DOUBLE,
      offsetof(AvSyncPriv, max_window_s), 60.0, NULL, 1, 600, 0, { NULL, NULL } },
    { "search", "an audio onset pairs with a visual event at most this far away", "ms",
      VQA_OPT_DOUBLE, offsetof(AvSyncPriv, search_ms), 500, NULL, 40, 2000, 0,
      { NULL, NULL } },
    { "report_interval", "emit x-avsync.offset with the estimate this often (0 = never)", "s",
      VQA_OPT_DOUBLE, offsetof(AvSyncPriv, report_interval_s), 0, NULL, 0, 3600, 0,
      { NULL, NULL } },
    { "clock", "also compare the audio timestamps with the samples delivered", NULL,
      VQA_OPT_BOOL, offsetof(AvSyncPriv, clock), 1, NULL, 0, 1, 0, { NULL, NULL } },
    { "onset_rise", "an audio onset rises this far above the 100 ms before it", "dB",
      VQA_OPT_DOUBLE, offsetof(AvSyncPriv, onset_rise_db), 12, NULL, 3, 60, 0,
      { NULL, NULL } },
    { "onset_level", "an audio onset reaches at least this level (5 ms RMS)", "dBFS",
      VQA_OPT_DOUBLE, offsetof(AvSyncPriv, onset_level_db), -50, NULL, -120, 0, 0,
      { NULL, NULL } },
    { "video_jump", "a visual event changes the picture by at least this mean difference",
      "fraction", VQA_OPT_DOUBLE, offsetof(AvSyncPriv, video_jump), 0.08, NULL, 0.005, 1, 0,
      { NULL, NULL } },
    { "video_rise", "and by this many times the largest of the 4 frames before", "ratio",
      VQA_OPT_DOUBLE, offsetof(AvSyncPriv, video_rise), 3, NULL, 1, 1000, 0, { NULL, NULL } },
    OPT_END,
};

static const char *const avsync_kinds[] = { AVSYNC_KIND, AVSYNC_OFFSET_KIND, NULL };

static const VqaDetectorClass avsync_class = {
    .struct_size = sizeof(VqaDetectorClass),
    .name = "avsync",
    .description = "audio ahead of or behind the picture (clock drift, onsets vs flashes/cuts)",
    .kinds = avsync_kinds,
    .flags = VQA_DETECTOR_TEMPORAL,
    .priv_size = sizeof(AvSyncPriv),
    .options = avsync_options,
    /* Only the mean frame difference is needed: a thumbnail serves. */
    .input = {
        .type = VQA_MEDIA_VIDEO,
        .pix_fmt = VQA_PIX_GRAY8,
        .max_width = 64,
        .max_height = 64,
    },
    .input2 = {
        .type = VQA_MEDIA_AUDIO,
        .sample_fmt = VQA_SAMPLE_FLTP,
        .sample_rate = 16000,
        .channels = 1,
    },
    .init = avsync_init,
    .process = avsync_process,
    .flush = avsync_flush,
    .close = avsync_close,
};

VQA_PLUGIN_DEFINE_DETECTOR(avsync_class, "avsync", "1.1.0", "BSD-2-Clause",
                           "audio/video synchronisation")
