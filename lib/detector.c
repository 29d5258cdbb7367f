/*
 * Detector instances: the host side of the plugin ABI. Each instance has a
 * bounded queue of frame references and a strand that feeds them to the
 * plugin in order. The host keeps the event contract whatever the plugin
 * does: starts and ends are paired, durations computed here, and anything
 * left open is closed at the last media time seen.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "clock.h"
#include "internal.h"
#include "logging.h"
#include "mem.h"

#define DETECTOR_BATCH 16

static void host_log(VqaDetectorContext *pub, VqaLogLevel level, const char *fmt, va_list args)
{
    VqaDetectorInstance *d = (VqaDetectorInstance *)pub;
    const VqaLogger *log = d->stream->log;
    /* Plugins may log per frame at TRACE: format nothing nobody will read. */
    if (!log->callback || level > log->level || level <= VQA_LOG_NONE)
        return;
    char msg[900];
    vsnprintf(msg, sizeof(msg), fmt, args);
    vqa_log(d->stream->log, level, "stream %s: %s: %s", d->stream->id, d->cls->name, msg);
}

/* details with "closed_by":"eos" added, for ends produced by a flush. */
static char *details_closed_by_eos(const char *details)
{
    static const char tag[] = "\"closed_by\":\"eos\"";
    if (details && strstr(details, "\"closed_by\""))
        return vqa_strdup(details);
    const char *body = details ? strchr(details, '{') : NULL;
    int empty = !body || body[1 + strspn(body + 1, " \t\r\n")] == '}';
    size_t len = sizeof(tag) + 3 + (body ? strlen(body) : 0);
    char *out = vqa_malloc(len);
    if (!out)
        return NULL;
    if (empty)
        snprintf(out, len, "{%s}", tag);
    else
        snprintf(out, len, "{%s,%s", tag, body + 1);
    return out;
}

static void dispatch(VqaDetectorInstance *d, const char *kind, VqaEventState state, double t,
                     double duration, double value, int has_value, VqaSeverity severity,
                     const char *details)
{
    VqaEvent ev = {
        .stream = d->stream->id,
        .detector = d->cls->name,
        .kind = kind,
        .state = state,
        .t = t,
        .duration = duration,
        .value = value,
        .has_value = has_value,
        .severity = severity ? severity : VQA_SEVERITY_WARNING,
        .details_json = details,
    };
    atomic_fetch_add(&d->stream->events, 1);
    vqa_context_dispatch(d->stream->ctx, &ev);
}

static VqaOpenDefect *find_open(VqaDetectorInstance *d, const char *kind)
{
    for (size_t i = 0; i < d->nb_open; i++)
        if (!strcmp(d->open[i].kind, kind))
            return &d->open[i];
    return NULL;
}

static int emit_start(VqaDetectorInstance *d, const VqaDetection *det)
{
    if (find_open(d, det->kind) || d->nb_open == VQA_MAX_OPEN_DEFECTS) {
        vqa_log(d->stream->log, VQA_LOG_WARNING,
                "stream %s: %s: start of %s while one is open: dropped", d->stream->id,
                d->cls->name, det->kind);
        return VQA_ERR(EINVAL);
    }
    char *kind = vqa_strdup(det->kind);
    if (!kind)
        return VQA_ERR(ENOMEM);
    d->open[d->nb_open++] = (VqaOpenDefect){ kind, det->t };
    dispatch(d, det->kind, VQA_EVENT_START, det->t, 0, det->value, det->has_value,
             det->severity, det->details_json);
    return 0;
}

static int emit_end(VqaDetectorInstance *d, const VqaDetection *det)
{
    VqaOpenDefect *open = find_open(d, det->kind);
    if (!open) {
        vqa_log(d->stream->log, VQA_LOG_WARNING,
                "stream %s: %s: end of %s without a start: dropped", d->stream->id, d->cls->name,
                det->kind);
        return VQA_ERR(EINVAL);
    }
    double t = det->t < open->t_start ? open->t_start : det->t;
    char *details = d->flushing ? details_closed_by_eos(det->details_json) : NULL;
    dispatch(d, det->kind, VQA_EVENT_END, t, t - open->t_start, det->value, det->has_value,
             det->severity, details ? details : det->details_json);
    vqa_free(details);
    vqa_free(open->kind);
    *open = d->open[--d->nb_open];
    return 0;
}

static int host_emit(VqaDetectorContext *pub, const VqaDetection *det)
{
    VqaDetectorInstance *d = (VqaDetectorInstance *)pub;
    if (!det || !det->kind || !det->kind[0] || !isfinite(det->t))
        return VQA_ERR(EINVAL);
    switch (det->state) {
    case VQA_EVENT_START: return emit_start(d, det);
    case VQA_EVENT_END: return emit_end(d, det);
    case VQA_EVENT_INSTANT:
        dispatch(d, det->kind, VQA_EVENT_INSTANT, det->t, 0, det->value, det->has_value,
                 det->severity, det->details_json);
        return 0;
    default: return VQA_ERR(EINVAL);
    }
}

static const VqaFrame *host_frame_ref(const VqaFrame *f)
{
    return vqa_frame_ref(f);
}

static const VqaHostApi host_api = {
    .struct_size = sizeof(VqaHostApi),
    .log = host_log,
    .emit = host_emit,
    .frame_ref = host_frame_ref,
    .frame_unref = vqa_frame_unref,
};

/* Close what the plugin left open, at the last media time it saw. */
static void close_leftovers(VqaDetectorInstance *d)
{
    d->flushing = 1;
    while (d->nb_open > 0) {
        VqaDetection det = { .kind = d->open[0].kind, .state = VQA_EVENT_END, .t = d->last_t };
        char kind[128];
        snprintf(kind, sizeof(kind), "%s", d->open[0].kind);
        det.kind = kind;
        emit_end(d, &det);
    }
}

static void report_failure(VqaDetectorInstance *d, const char *what, int err)
{
    char details[256];
    snprintf(details, sizeof(details), "{\"reason\":\"%s failed: %s\",\"code\":%d}", what,
             vqa_strerror(err), err);
    vqa_log(d->stream->log, VQA_LOG_ERROR, "stream %s: detector %s: %s failed: %s",
            d->stream->id, d->cls->name, what, vqa_strerror(err));
    dispatch(d, "stream.error", VQA_EVENT_INSTANT, d->last_t, 0, 0, 0, VQA_SEVERITY_ERROR,
             details);
}

static void finish_instance(VqaDetectorInstance *d)
{
    if (d->inited && d->cls->flush) {
        d->flushing = 1;
        int err = d->cls->flush(&d->pub);
        if (err < 0)
            report_failure(d, "flush", err);
    }
    close_leftovers(d);
    if (d->cls->close && !d->done)
        d->cls->close(&d->pub);
    d->done = 1;
    pthread_mutex_lock(&d->stream->lock);
    d->stream->active_detectors--;
    vqa_stream_check_finished_locked(d->stream);
    pthread_mutex_unlock(&d->stream->lock);
}

static void process_one(VqaDetectorInstance *d, const VqaFrame *frame)
{
    if (d->failed || atomic_load(&d->stream->stop)) {
        atomic_fetch_add(&d->dropped, 1);
        return;
    }
    int err = d->cls->process(&d->pub, frame);
    double end = frame->t + frame->duration;
    if (end > d->last_t)
        d->last_t = end;
    atomic_store(&d->media_time, d->last_t);
    atomic_fetch_add(&d->analysed, 1);
    if (err < 0) {
        report_failure(d, "process", err);
        d->failed = 1;
    }
}

static void detector_batch(VqaDetectorInstance *d, VqaStream *s);

static void detector_work(VqaStrand *strand)
{
    VqaDetectorInstance *d = strand->owner;
    VqaStream *s = d->stream;
    /* CPU time per batch, not per frame: the clock read is a system call. */
    int64_t cpu_start = vqa_thread_cpu_ns();
    detector_batch(d, s);
    atomic_fetch_add(&d->cpu_ns, vqa_thread_cpu_ns() - cpu_start);
}

/* Up to DETECTOR_BATCH frames, then yield (or finish the instance at EOS). */
static void detector_batch(VqaDetectorInstance *d, VqaStream *s)
{
    for (int n = 0; n < DETECTOR_BATCH; n++) {
        pthread_mutex_lock(&s->lock);
        if (d->q_count == 0) {
            int eos = d->eos_queued && !d->done;
            pthread_mutex_unlock(&s->lock);
            if (eos)
                finish_instance(d);
            return;
        }
        const VqaFrame *frame = d->queue[d->q_head];
        d->q_head = (d->q_head + 1) % d->q_cap;
        d->q_count--;
        /* Wake a producer waiting for room once the queue is half empty. */
        if (s->decode_parked && d->q_count <= d->q_limit / 2) {
            s->decode_parked = 0;
            vqa_strand_kick(&s->decode);
        }
        pthread_mutex_unlock(&s->lock);
        process_one(d, frame);
        vqa_frame_unref(&frame);
    }
    vqa_strand_kick(&d->strand); /* more to do: yield to others first */
}

/* A queued run of an instance keeps its stream (which owns it) alive. */
static void hold_stream(void *instance)
{
    vqa_stream_hold(((VqaDetectorInstance *)instance)->stream);
}

static void release_stream(void *instance)
{
    vqa_stream_release(((VqaDetectorInstance *)instance)->stream);
}

int vqa_detector_create(VqaStream *s, VqaTrack *track, const VqaSpecItem *item,
                        VqaDetectorInstance **out)
{
    VqaDetectorInstance *d = vqa_calloc(1, sizeof(*d));
    if (!d)
        return VQA_ERR(ENOMEM);
    d->stream = s;
    d->cls = item->cls;
    d->track = track;
    d->q_limit = d->q_cap = (size_t)s->ctx->settings.queue_frames;
    d->queue = vqa_calloc(d->q_cap, sizeof(*d->queue));
    d->pub.priv = vqa_calloc(1, d->cls->priv_size ? d->cls->priv_size : 1);
    if (!d->queue || !d->pub.priv) {
        vqa_detector_free(&d);
        return VQA_ERR(ENOMEM);
    }
    char msg[256];
    int err = vqa_options_apply(d->cls->name, d->cls->options, d->pub.priv, item->args,
                                &d->options, msg, sizeof(msg));
    if (err < 0) { /* the spec was checked at add time: this is unexpected */
        vqa_log(s->log, VQA_LOG_ERROR, "stream %s: %s", s->id, msg);
        vqa_detector_free(&d);
        return err;
    }
    d->pub.struct_size = sizeof(d->pub);
    d->pub.host = &host_api;
    d->pub.info = &d->info;
    double rate = d->cls->input.max_rate_hz;
    int sees_video = d->cls->input.type == VQA_MEDIA_VIDEO ||
                     d->cls->input2.type == VQA_MEDIA_VIDEO;
    if (sees_video && s->settings.cost == VQA_COST_LIGHT &&
        (rate <= 0 || rate > VQA_COST_LIGHT_RATE_HZ))
        rate = VQA_COST_LIGHT_RATE_HZ;
    d->min_interval_s = rate > 0 ? 1.0 / rate : 0;
    d->last_delivered_t = -INFINITY;
    atomic_init(&d->analysed, 0);
    atomic_init(&d->dropped, 0);
    atomic_init(&d->cpu_ns, 0);
    atomic_init(&d->media_time, 0.0);
    vqa_strand_init(&d->strand, s->ctx->compute, detector_work, d, hold_stream, release_stream);
    *out = d;
    return 0;
}

void vqa_detector_start(VqaDetectorInstance *d, const VqaFrame *first)
{
    VqaStream *s = d->stream;
    d->info = (VqaStreamInfo){
        .struct_size = sizeof(VqaStreamInfo),
        .stream_id = s->id,
        .type = d->track->type,
        .track = d->track->number,
        .live = s->settings.live,
        .frame_rate = d->track->frame_rate,
        .width = first->width,
        .height = first->height,
        .range = first->range,
        .sample_rate = first->sample_rate,
        .channels = first->channels,
    };
    d->last_t = first->t;
    int err = d->cls->init ? d->cls->init(&d->pub) : 0;
    if (err < 0) {
        report_failure(d, "init", err);
        d->failed = 1;
        return;
    }
    d->inited = 1;
}

static int grow_queue(VqaDetectorInstance *d)
{
    size_t cap = 2 * d->q_cap;
    const VqaFrame **q = vqa_calloc(cap, sizeof(*q));
    if (!q)
        return VQA_ERR(ENOMEM);
    for (size_t i = 0; i < d->q_count; i++)
        q[i] = d->queue[(d->q_head + i) % d->q_cap];
    vqa_free(d->queue);
    d->queue = q;
    d->q_cap = cap;
    d->q_head = 0;
    return 0;
}

void vqa_detector_enqueue_locked(VqaDetectorInstance *d, const VqaFrame *frame, int live)
{
    if (d->failed) {
        atomic_fetch_add(&d->dropped, 1);
        vqa_frame_unref(&frame);
        return;
    }
    if (live && d->q_count >= d->q_limit) {
        if (d->drop_frames++ == 0)
            d->drop_start_t = frame->t;
        d->drop_end_t = frame->t + frame->duration;
        atomic_fetch_add(&d->dropped, 1);
        vqa_frame_unref(&frame);
        return;
    }
    if (d->drop_frames > 0) { /* the missed span is complete: the bus reports it */
        d->drop_end_t = frame->t;
        d->drop_report = 1;
    }
    /* A file's producer waits for room before each packet, but one packet or the
     * decoder's drain can yield several frames: grow rather than drop. */
    if (d->q_count == d->q_cap && grow_queue(d) < 0) {
        vqa_log(d->stream->log, VQA_LOG_ERROR, "stream %s: %s: out of memory: frame dropped",
                d->stream->id, d->cls->name);
        atomic_fetch_add(&d->dropped, 1);
        vqa_frame_unref(&frame);
        return;
    }
    d->queue[(d->q_head + d->q_count) % d->q_cap] = frame;
    d->q_count++;
    vqa_strand_kick(&d->strand);
}

void vqa_detector_enqueue_eos_locked(VqaDetectorInstance *d)
{
    d->eos_queued = 1;
    vqa_strand_kick(&d->strand);
}

void vqa_detector_free(VqaDetectorInstance **pd)
{
    VqaDetectorInstance *d = *pd;
    if (!d)
        return;
    while (d->q_count > 0) {
        const VqaFrame *f = d->queue[d->q_head];
        d->q_head = (d->q_head + 1) % d->q_cap;
        d->q_count--;
        vqa_frame_unref(&f);
    }
    for (size_t i = 0; i < d->nb_open; i++)
        vqa_free(d->open[i].kind);
    vqa_option_store_free(&d->options);
    vqa_free(d->queue);
    vqa_free(d->pub.priv);
    vqa_free(d);
    *pd = NULL;
}
