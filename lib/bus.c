/*
 * The frame bus: one decoded frame is converted once per distinct format
 * its subscribers asked for, and a reference of the result goes to every
 * subscriber's queue — no copies. A video track's GRAY8 proxies also share
 * one reduction of the picture (convert.h, VqaLumaBase), so the full-size
 * luma plane is read once per picture however many proxy sizes there are. Time is normalised here (EVENTS.md:
 * relative to the stream's start) and forward timestamp jumps are reported
 * as stream.gap.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include <libavutil/version.h>

#include "internal.h"
#include "logging.h"
#include "mem.h"

/* EVENTS.md: a jump of more than this beyond the expected next timestamp is a gap. */
#define GAP_THRESHOLD_S 0.2
/* Rounding slack of the analysis-rate limit. */
#define RATE_EPS_S 1e-6

static int64_t frame_duration_ts(const AVFrame *f)
{
#if LIBAVUTIL_VERSION_INT >= AV_VERSION_INT(57, 30, 100)
    return f->duration;
#else
    return f->pkt_duration;
#endif
}

static double frame_duration_s(const VqaTrack *track, const AVFrame *f, AVRational tb)
{
    if (track->type == VQA_MEDIA_AUDIO)
        return f->sample_rate > 0 ? (double)f->nb_samples / f->sample_rate : 0;
    int64_t d = frame_duration_ts(f);
    if (d > 0)
        return d * av_q2d(tb);
    return track->frame_rate > 0 ? 1.0 / track->frame_rate : 0;
}

/* What a class wants from a track of this type (its input or its input2). */
static const VqaInputSpec *spec_for(const VqaDetectorClass *cls, VqaMediaType type)
{
    if (cls->input.type == type)
        return &cls->input;
    return cls->input2.type == type ? &cls->input2 : NULL;
}

static VqaFormatKey key_of(const VqaDetectorClass *cls, const VqaInputSpec *in)
{
    VqaFormatKey k = { .type = in->type };
    if (in->type == VQA_MEDIA_VIDEO) {
        k.pix_fmt = in->pix_fmt;
        k.max_width = in->max_width;
        k.max_height = in->max_height;
        k.even_factor = (cls->flags & VQA_DETECTOR_EVEN_PROXY) && in->pix_fmt == VQA_PIX_GRAY8;
    } else {
        k.sample_fmt = in->sample_fmt;
        k.sample_rate = in->sample_rate;
        k.channels = in->channels;
    }
    return k;
}

static int add_to_group(VqaStream *s, VqaTrack *track, VqaDetectorInstance *d)
{
    VqaFormatKey key = key_of(d->cls, spec_for(d->cls, track->type));
    VqaFormatGroup *g = NULL;
    for (size_t i = 0; i < track->nb_groups; i++)
        if (vqa_format_key_equal(&track->groups[i].key, &key))
            g = &track->groups[i];
    if (!g) {
        VqaFormatGroup *groups =
            vqa_realloc(track->groups, (track->nb_groups + 1) * sizeof(*groups));
        if (!groups)
            return VQA_ERR(ENOMEM);
        track->groups = groups;
        g = &groups[track->nb_groups];
        memset(g, 0, sizeof(*g));
        g->key = key;
        int err = vqa_convert_open(&g->convert, &key, s->log);
        if (err < 0)
            return err;
        track->nb_groups++;
        if (key.type == VQA_MEDIA_VIDEO && key.pix_fmt == VQA_PIX_GRAY8 &&
            (key.max_width || key.max_height)) {
            if (!track->luma_base && (err = vqa_luma_base_open(&track->luma_base)) < 0)
                return err;
            vqa_convert_set_luma_base(g->convert, track->luma_base);
        }
    }
    VqaDetectorInstance **subs = vqa_realloc(g->subs, (g->nb_subs + 1) * sizeof(*subs));
    if (!subs)
        return VQA_ERR(ENOMEM);
    g->subs = subs;
    g->subs[g->nb_subs++] = d;
    return 0;
}

/* An A/V detector (one with input2) has one instance per stream, made with
 * whichever of its two tracks comes first and subscribed to both. */
static VqaDetectorInstance *av_instance(const VqaStream *s, const VqaDetectorClass *cls)
{
    for (size_t i = 0; i < s->nb_instances; i++)
        if (s->instances[i]->cls == cls)
            return s->instances[i];
    return NULL;
}

/* Create the track's detector instances when its first frame arrives. */
static int make_instances(VqaStream *s, VqaTrack *track)
{
    track->instances_made = 1;
    for (size_t i = 0; i < s->spec.count; i++) {
        const VqaSpecItem *item = &s->spec.items[i];
        if (!spec_for(item->cls, track->type))
            continue;
        if (item->cls->input2.type != VQA_MEDIA_NONE) {
            if (track->number != 0)
                continue; /* A/V detectors pair the first tracks */
            VqaDetectorInstance *existing = av_instance(s, item->cls);
            if (existing) {
                int err = add_to_group(s, track, existing);
                if (err < 0)
                    return err;
                continue;
            }
        }
        VqaDetectorInstance *d;
        int err = vqa_detector_create(s, track, item, &d);
        if (err < 0)
            return err;
        /* Readers of the list (stats, backpressure) hold the lock. */
        pthread_mutex_lock(&s->lock);
        VqaDetectorInstance **list =
            vqa_realloc(s->instances, (s->nb_instances + 1) * sizeof(*list));
        if (list) {
            s->instances = list;
            s->instances[s->nb_instances++] = d;
            s->active_detectors++;
        }
        pthread_mutex_unlock(&s->lock);
        if (!list) {
            vqa_detector_free(&d);
            return VQA_ERR(ENOMEM);
        }
        err = add_to_group(s, track, d);
        if (err < 0)
            return err;
    }
    return 0;
}

static double normalise_time(VqaStream *s, VqaTrack *track, const AVFrame *frame, AVRational tb)
{
    int64_t pts = frame->best_effort_timestamp != AV_NOPTS_VALUE ? frame->best_effort_timestamp
                                                                  : frame->pts;
    if (pts == AV_NOPTS_VALUE)
        return track->next_t >= 0 ? track->next_t : 0;
    double abs_t = pts * av_q2d(tb);
    if (isnan(s->start_s))
        s->start_s = abs_t;
    return abs_t - s->start_s;
}

static void note_gap(VqaStream *s, VqaTrack *track, double t)
{
    char details[128];
    double missing = t - track->next_t;
    snprintf(details, sizeof(details), "{\"track\":%d,\"type\":\"%s\",\"resumed_at\":%.6f}",
             track->number, track->type == VQA_MEDIA_VIDEO ? "video" : "audio", t);
    vqa_log(s->log, VQA_LOG_INFO, "stream %s: %.3f s missing at %.3f s", s->id, missing,
            track->next_t);
    vqa_stream_emit(s, "stream.gap", VQA_EVENT_INSTANT, track->next_t, missing, 1,
                    VQA_SEVERITY_WARNING, details);
}

/*
 * Live overload: a detector whose queue was full missed a span of frames.
 * Nothing is skipped silently: the span is a stream.gap of its own.
 */
static void report_dropped_span(VqaStream *s, VqaDetectorInstance *d)
{
    pthread_mutex_lock(&s->lock);
    double start = d->drop_start_t, end = d->drop_end_t;
    long long frames = (long long)d->drop_frames;
    d->drop_frames = 0;
    d->drop_report = 0;
    pthread_mutex_unlock(&s->lock);
    char details[200];
    snprintf(details, sizeof(details),
             "{\"cause\":\"overload\",\"stage\":\"detector\",\"detector\":\"%.64s\","
             "\"track\":%d,\"frames\":%lld}", d->cls->name, d->track->number, frames);
    vqa_log(s->log, VQA_LOG_WARNING, "stream %s: %s missed %lld frames (%.3f s at %.3f s): "
            "analysis behind the input", s->id, d->cls->name, frames, end - start, start);
    vqa_stream_emit(s, "stream.gap", VQA_EVENT_INSTANT, start, end - start, 1,
                    VQA_SEVERITY_WARNING, details);
}

/*
 * The first frame after a reopened input: the media lost while it was away
 * is one gap of the stream (not one per track), from where the media
 * analysed so far ended. @return the frame flags it calls for.
 */
static uint32_t note_reconnect_gap(VqaStream *s, double t)
{
    for (size_t i = 0; i < s->nb_tracks; i++)
        s->tracks[i].next_t = -1; /* each track's first frame is no gap of its own */
    double missing = t - s->reconnect_from_t;
    if (missing <= GAP_THRESHOLD_S)
        return 0;
    char details[96];
    snprintf(details, sizeof(details), "{\"cause\":\"reconnect\",\"resumed_at\":%.6f}", t);
    vqa_log(s->log, VQA_LOG_INFO, "stream %s: %.3f s lost across a reconnect at %.3f s", s->id,
            missing, s->reconnect_from_t);
    vqa_stream_emit(s, "stream.gap", VQA_EVENT_INSTANT, s->reconnect_from_t, missing, 1,
                    VQA_SEVERITY_WARNING, details);
    return VQA_FRAME_DISCONTINUITY;
}

/* Hand one converted frame to the group's subscribers that want it. */
static void fan_out(VqaStream *s, VqaFormatGroup *g, VqaFrame *out, const int *wants)
{
    for (size_t i = 0; i < g->nb_subs; i++) {
        VqaDetectorInstance *d = g->subs[i];
        if (wants[i] && !d->inited && !d->failed)
            vqa_detector_start(d, out);
    }
    const VqaFrame *ref = out;
    pthread_mutex_lock(&s->lock);
    for (size_t i = 0; i < g->nb_subs; i++) {
        if (!wants[i])
            continue;
        if (out->type == VQA_MEDIA_VIDEO) /* the analysis rate limits pictures only */
            g->subs[i]->last_delivered_t = out->t;
        vqa_detector_enqueue_locked(g->subs[i], vqa_frame_ref(out), s->settings.live);
    }
    pthread_mutex_unlock(&s->lock);
    vqa_frame_unref(&ref);
    for (size_t i = 0; i < g->nb_subs; i++)
        if (g->subs[i]->drop_report)
            report_dropped_span(s, g->subs[i]);
}

static int publish_group(VqaStream *s, VqaTrack *track, VqaFormatGroup *g, const AVFrame *frame,
                         double t, double duration, uint32_t extra_flags)
{
    int wants_stack[16];
    int *wants = g->nb_subs <= 16 ? wants_stack : vqa_calloc(g->nb_subs, sizeof(int));
    if (!wants)
        return VQA_ERR(ENOMEM);
    int any = 0;
    for (size_t i = 0; i < g->nb_subs; i++) {
        const VqaDetectorInstance *d = g->subs[i];
        /* Subsample to the detector's analysis rate, with half a frame of slack, and a
         * microsecond for rounding where the duration is unknown (0.4 + 0.2 > 0.6). */
        wants[i] = !d->failed &&
                   (frame == NULL || track->type == VQA_MEDIA_AUDIO ||
                    t + duration / 2 + RATE_EPS_S >= d->last_delivered_t + d->min_interval_s);
        any |= wants[i];
    }
    int err = 0;
    VqaFrame *out = NULL;
    if (any) {
        if (track->type == VQA_MEDIA_VIDEO)
            err = vqa_convert_video(g->convert, frame, t, duration, &out);
        else
            err = vqa_convert_audio(g->convert, frame, t, &out);
    }
    if (out) {
        out->track = track->number;
        out->index = track->frames - 1;
        out->flags |= extra_flags;
        fan_out(s, g, out, wants);
    }
    if (wants != wants_stack)
        vqa_free(wants);
    return err;
}

int vqa_bus_publish(VqaStream *s, VqaTrack *track, AVFrame *frame, AVRational time_base)
{
    int video = track->type == VQA_MEDIA_VIDEO;
    /* A pull decoder already skips these; a pushed stream is filtered here. */
    if (video && s->settings.cost == VQA_COST_KEYFRAMES && !frame->key_frame)
        return 0;
    double t = normalise_time(s, track, frame, time_base);
    double duration = frame_duration_s(track, frame, time_base);
    uint32_t flags = 0;
    /* Below full cost the decoder skips video frames on purpose: not a gap. */
    if (s->reconnected) {
        s->reconnected = 0;
        flags |= note_reconnect_gap(s, t);
    }
    int contiguous = !video || s->settings.cost == VQA_COST_FULL;
    if (contiguous && track->next_t >= 0 && t > track->next_t + GAP_THRESHOLD_S) {
        note_gap(s, track, t);
        flags |= VQA_FRAME_DISCONTINUITY;
    }
    if (s->stall_over_pending) { /* after the gap: the stall ends where media resumes */
        s->stall_over_pending = 0;
        vqa_demux_stall_over(s, t, 0);
    }
    track->next_t = t + duration;
    track->frames++;
    atomic_fetch_add(&s->frames_decoded, 1);
    if (t + duration > atomic_load(&s->media_time))
        atomic_store(&s->media_time, t + duration);
    if (!track->instances_made) {
        int err = make_instances(s, track);
        if (err < 0)
            return err;
    }
    vqa_luma_base_next(track->luma_base); /* a new picture */
    for (size_t i = 0; i < track->nb_groups; i++) {
        int err = publish_group(s, track, &track->groups[i], frame, t, duration, flags);
        if (err < 0 && err != VQA_ERR(EINVAL))
            return err;
    }
    return 0;
}

void vqa_bus_end(VqaStream *s)
{
    if (!atomic_load(&s->stop)) {
        /* Resamplers hold a few samples back: let them out. */
        for (size_t i = 0; i < s->nb_tracks; i++) {
            VqaTrack *track = &s->tracks[i];
            if (track->type != VQA_MEDIA_AUDIO)
                continue;
            for (size_t j = 0; j < track->nb_groups; j++)
                publish_group(s, track, &track->groups[j], NULL, track->next_t, 0, 0);
        }
    }
    for (size_t i = 0; i < s->nb_instances; i++) { /* spans missed up to the end */
        VqaDetectorInstance *d = s->instances[i];
        pthread_mutex_lock(&s->lock);
        d->drop_report |= d->drop_frames > 0;
        pthread_mutex_unlock(&s->lock);
        if (d->drop_report)
            report_dropped_span(s, d);
    }
    pthread_mutex_lock(&s->lock);
    for (size_t i = 0; i < s->nb_instances; i++)
        vqa_detector_enqueue_eos_locked(s->instances[i]);
    s->converter_done = 1;
    vqa_stream_check_finished_locked(s);
    pthread_mutex_unlock(&s->lock);
}

int vqa_bus_has_room_locked(const VqaStream *s)
{
    for (size_t i = 0; i < s->nb_instances; i++) {
        const VqaDetectorInstance *d = s->instances[i];
        if (!d->failed && d->q_count >= d->q_limit)
            return 0;
    }
    return 1;
}

void vqa_bus_free_track(VqaTrack *track)
{
    for (size_t i = 0; i < track->nb_groups; i++) {
        vqa_convert_close(&track->groups[i].convert);
        vqa_free(track->groups[i].subs);
    }
    vqa_free(track->groups);
    track->groups = NULL;
    track->nb_groups = 0;
    vqa_luma_base_close(&track->luma_base);
    avcodec_free_context(&track->decoder);
}
