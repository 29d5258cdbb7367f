/*
 * Streams: the public lifecycle (add, wait, stop, remove), the input queue
 * that feeds the decode strand, and the decode strand itself.
 *
 * Backpressure: for files the decode strand parks when any detector queue
 * is full and the demux strand parks when the input queue is full; both are
 * kicked again when their consumer has drained half its queue. Nothing is
 * dropped. For live streams the decode strand never waits: a detector whose
 * queue is full misses the frame, and the miss is counted.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "hwaccel.h"
#include "internal.h"
#include "logging.h"
#include "mem.h"

#define DECODE_BATCH 8
#define INPUT_QUEUE_PACKETS 64
/* A live input's queue: a few seconds of packets absorb a hiccup of the workers. */
#define LIVE_INPUT_QUEUE_PACKETS 256
/* A push stream's tracks: one video and up to this many audio tracks. */
#define PUSH_MAX_AUDIO_TRACKS 16

void vqa_stream_default_settings(VqaStreamSettings *s)
{
    if (!s)
        return;
    memset(s, 0, sizeof(*s));
    s->decoder_threads = 1;
    s->video_track = VQA_TRACK_FIRST;
    s->audio_tracks = VQA_TRACKS_ALL;
    s->push_blocking = 1;
    s->cost = VQA_COST_FULL;
}

void vqa_input_item_free(VqaInputItem *item)
{
    if (!item)
        return;
    av_packet_free(&item->packet);
    av_frame_free(&item->frame);
    vqa_input_note_free(&item->note);
    vqa_free(item);
}

static void stream_free(VqaStream *s)
{
    vqa_demux_close(s);
    for (size_t i = 0; i < s->nb_instances; i++)
        vqa_detector_free(&s->instances[i]);
    vqa_free(s->instances);
    for (size_t i = 0; i < s->nb_tracks; i++)
        vqa_bus_free_track(&s->tracks[i]);
    vqa_free(s->tracks);
    vqa_free(s->track_of_av_index);
    while (s->held_head) {
        VqaInputNote *next = s->held_head->next;
        vqa_input_note_free(&s->held_head);
        s->held_head = next;
    }
    pthread_mutex_destroy(&s->watch_lock);
    pthread_mutex_destroy(&s->ts_lock);
    while (s->in_head) {
        VqaInputItem *next = s->in_head->next;
        vqa_input_item_free(s->in_head);
        s->in_head = next;
    }
    av_frame_free(&s->scratch);
    av_frame_free(&s->sw_scratch);
    vqa_spec_free(&s->spec);
    pthread_mutex_destroy(&s->lock);
    pthread_cond_destroy(&s->cond);
    vqa_free(s->input_error_details);
    vqa_free(s->id);
    vqa_free(s->url);
    vqa_free(s->hwaccel);
    vqa_free(s);
}

void vqa_stream_hold(void *stream)
{
    VqaStream *s = stream;
    atomic_fetch_add(&s->refs, 1);
}

void vqa_stream_release(void *stream)
{
    VqaStream *s = stream;
    if (atomic_fetch_sub(&s->refs, 1) == 1)
        stream_free(s);
}

void vqa_stream_emit(VqaStream *s, const char *kind, VqaEventState state, double t,
                     double value, int has_value, VqaSeverity severity, const char *details_json)
{
    VqaEvent ev = {
        .stream = s->id,
        .detector = "converter",
        .kind = kind,
        .state = state,
        .t = t,
        .value = value,
        .has_value = has_value,
        .severity = severity,
        .details_json = details_json,
    };
    atomic_fetch_add(&s->events, 1);
    vqa_context_dispatch(s->ctx, &ev);
}

void vqa_stream_enqueue_input(VqaStream *s, VqaInputItem *item)
{
    pthread_mutex_lock(&s->lock);
    if (s->input_ended) { /* only one end, and nothing after it */
        pthread_mutex_unlock(&s->lock);
        vqa_input_item_free(item);
        return;
    }
    item->next = NULL;
    if (s->in_tail)
        s->in_tail->next = item;
    else
        s->in_head = item;
    s->in_tail = item;
    s->in_count++;
    if (item->eos)
        s->input_ended = 1;
    vqa_strand_kick(&s->decode);
    pthread_mutex_unlock(&s->lock);
}

void vqa_stream_check_finished_locked(VqaStream *s)
{
    if (s->finished || !s->converter_done || s->active_detectors > 0)
        return;
    s->finished = 1;
    if (!s->status && atomic_load(&s->stop))
        s->status = VQA_ERROR_STOPPED;
    vqa_log(s->log, VQA_LOG_INFO, "stream %s: finished (%s)", s->id,
            s->status ? vqa_strerror(s->status) : "complete");
    pthread_cond_broadcast(&s->cond);
}

/* Take the next input item, or park when the detectors have no room. */
static VqaInputItem *next_item(VqaStream *s)
{
    pthread_mutex_lock(&s->lock);
    VqaInputItem *item = s->in_head;
    if (item && !item->eos && !item->note && !atomic_load(&s->stop) && !s->settings.live &&
        !vqa_bus_has_room_locked(s)) {
        s->decode_parked = 1;
        item = NULL;
    }
    if (item) {
        s->in_head = item->next;
        if (!s->in_head)
            s->in_tail = NULL;
        s->in_count--;
        if (s->demux_parked && s->in_count <= s->in_cap / 2) {
            s->demux_parked = 0;
            vqa_strand_kick(&s->demux);
        }
        if (s->push)
            pthread_cond_broadcast(&s->cond); /* room for a waiting pusher */
    }
    pthread_mutex_unlock(&s->lock);
    return item;
}

static VqaTrack *push_track(VqaStream *s, VqaMediaType type, int number)
{
    for (size_t i = 0; i < s->nb_tracks; i++)
        if (s->tracks[i].type == type && s->tracks[i].number == number)
            return &s->tracks[i];
    VqaTrack *track = &s->tracks[s->nb_tracks++];
    track->type = type;
    track->number = number;
    track->av_index = -1;
    track->next_t = -1;
    return track;
}

static int decode_item(VqaStream *s, VqaInputItem *item)
{
    if (item->note) {
        vqa_demux_apply_note(s, item->note);
        return 0;
    }
    if (item->packet)
        return vqa_demux_decode_packet(s, item);
    VqaTrack *track = push_track(s, item->type, item->type == VQA_MEDIA_VIDEO ? 0 : item->track);
    track->time_base = item->time_base;
    return vqa_bus_publish(s, track, item->frame, item->time_base);
}

static void end_of_input(VqaStream *s)
{
    if (!atomic_load(&s->stop) && s->fmt) {
        int err = vqa_demux_drain(s);
        if (err < 0)
            vqa_log(s->log, VQA_LOG_ERROR, "stream %s: %s", s->id, vqa_strerror(err));
    }
    pthread_mutex_lock(&s->lock);
    char *details = s->input_error_details;
    s->input_error_details = NULL;
    pthread_mutex_unlock(&s->lock);
    if (details)
        vqa_stream_emit(s, "stream.error", VQA_EVENT_INSTANT, s->input_error_t, 0, 0,
                        VQA_SEVERITY_ERROR, details);
    vqa_free(details);
    vqa_demux_stall_over(s, atomic_load(&s->media_time), 1);
    vqa_bus_end(s);
}

static void decode_work(VqaStrand *strand)
{
    VqaStream *s = strand->owner;
    for (int n = 0; n < DECODE_BATCH; n++) {
        VqaInputItem *item = next_item(s);
        if (!item)
            return;
        if (item->eos) {
            vqa_input_item_free(item);
            end_of_input(s);
            return;
        }
        int err = atomic_load(&s->stop) && !item->note ? 0 : decode_item(s, item);
        vqa_input_item_free(item);
        if (err < 0) {
            /* Only resource failures get here; the stream cannot go on. */
            vqa_log(s->log, VQA_LOG_ERROR, "stream %s: analysis failed: %s", s->id,
                    vqa_strerror(err));
            pthread_mutex_lock(&s->lock);
            if (!s->status)
                s->status = err;
            pthread_mutex_unlock(&s->lock);
            vqa_stream_stop(s);
        }
    }
    vqa_strand_kick(strand);
}

static int stream_init(VqaContext *ctx, VqaStream *s, const VqaStreamSettings *set)
{
    atomic_init(&s->refs, 2); /* the caller's handle and the context's list */
    atomic_init(&s->stop, 0);
    s->ctx = ctx;
    s->log = &ctx->settings.logger;
    s->settings = *set;
    s->settings.id = s->settings.url = s->settings.detectors = s->settings.hwaccel = NULL;
    s->settings.protocols = s->settings.input_options = NULL; /* copied by vqa_demux_init */
    s->push = !set->url;
    s->start_s = NAN;
    s->read_end_s = NAN;
    s->in_cap = s->push            ? (size_t)ctx->settings.queue_frames
                : s->settings.live ? LIVE_INPUT_QUEUE_PACKETS
                                   : INPUT_QUEUE_PACKETS;
    pthread_mutex_init(&s->lock, NULL);
    pthread_mutex_init(&s->watch_lock, NULL);
    pthread_mutex_init(&s->ts_lock, NULL);
    pthread_cond_init(&s->cond, NULL);
    vqa_strand_init(&s->decode, ctx->compute, decode_work, s, vqa_stream_hold, vqa_stream_release);
    vqa_strand_init(&s->demux, ctx->io, vqa_demux_work, s, vqa_stream_hold, vqa_stream_release);
    s->scratch = av_frame_alloc();
    s->sw_scratch = av_frame_alloc();
    s->url = set->url ? vqa_strdup(set->url) : NULL;
    s->hwaccel = set->hwaccel ? vqa_strdup(set->hwaccel) : NULL;
    if (s->push)
        s->tracks = vqa_calloc(1 + PUSH_MAX_AUDIO_TRACKS, sizeof(*s->tracks));
    pthread_mutex_lock(&ctx->lock);
    unsigned index = ctx->next_index++;
    pthread_mutex_unlock(&ctx->lock);
    char index_id[16];
    snprintf(index_id, sizeof(index_id), "%u", index);
    s->id = vqa_strdup(set->id ? set->id : index_id);
    if (!s->push && s->url && vqa_demux_init(s, set) < 0)
        return VQA_ERR(ENOMEM);
    if (!s->scratch || !s->sw_scratch || !s->id || (set->url && !s->url) ||
        (s->push && !s->tracks) || (set->hwaccel && !s->hwaccel))
        return VQA_ERR(ENOMEM);
    return 0;
}

static int check_settings(const VqaContext *ctx, const VqaStreamSettings *set)
{
    const VqaLogger *log = &ctx->settings.logger;
    if (set->decoder_threads < 0 || set->decoder_threads > 64) {
        vqa_log(log, VQA_LOG_ERROR, "decoder_threads=%d is out of range [0, 64]",
                set->decoder_threads);
        return VQA_ERR(EINVAL);
    }
    if (set->video_track < VQA_TRACK_NONE || set->audio_tracks < VQA_TRACK_NONE) {
        vqa_log(log, VQA_LOG_ERROR, "invalid track selection");
        return VQA_ERR(EINVAL);
    }
    if (set->cost < VQA_COST_FULL || set->cost > VQA_COST_KEYFRAMES) {
        vqa_log(log, VQA_LOG_ERROR, "cost=%d is not a cost level (0 full, 1 light, 2 keyframes)",
                set->cost);
        return VQA_ERR(EINVAL);
    }
    char msg[400];
    if (vqa_hwaccel_check_name(set->hwaccel, msg, sizeof(msg)) < 0) {
        vqa_log(log, VQA_LOG_ERROR, "%s", msg);
        return VQA_ERR(EINVAL);
    }
    if (set->id && !set->id[0]) {
        vqa_log(log, VQA_LOG_ERROR, "a stream id must not be empty");
        return VQA_ERR(EINVAL);
    }
    if (vqa_demux_check_settings(set, msg, sizeof(msg)) < 0) {
        vqa_log(log, VQA_LOG_ERROR, "%s", msg);
        return VQA_ERR(EINVAL);
    }
    return 0;
}

int vqa_stream_add(VqaContext *ctx, VqaStream **out, const VqaStreamSettings *set)
{
    if (!ctx || !out || !set)
        return VQA_ERR(EINVAL);
    *out = NULL;
    int err = check_settings(ctx, set);
    if (err < 0)
        return err;
    VqaSpec spec = { 0 };
    char msg[512];
    err = vqa_spec_parse(ctx->registry, set->detectors, &spec, msg, sizeof(msg));
    if (err < 0) {
        vqa_log(&ctx->settings.logger, VQA_LOG_ERROR, "%s", msg);
        return err;
    }
    VqaStream *s = vqa_calloc(1, sizeof(*s));
    if (!s) {
        vqa_spec_free(&spec);
        return VQA_ERR(ENOMEM);
    }
    s->spec = spec;
    err = stream_init(ctx, s, set);
    if (err >= 0)
        err = vqa_context_add_stream(ctx, s);
    if (err < 0) {
        stream_free(s);
        return err;
    }
    vqa_log(s->log, VQA_LOG_INFO, "stream %s: added (%s, %zu detectors)", s->id,
            s->push ? "push" : s->url, s->spec.count);
    if (!s->push)
        vqa_strand_kick(&s->demux);
    *out = s;
    return 0;
}

const char *vqa_stream_id(const VqaStream *s)
{
    return s ? s->id : NULL;
}

int vqa_stream_wait(VqaStream *s, int timeout_ms)
{
    if (!s)
        return VQA_ERR(EINVAL);
    struct timespec deadline;
    clock_gettime(CLOCK_REALTIME, &deadline);
    if (timeout_ms >= 0) {
        deadline.tv_sec += timeout_ms / 1000;
        deadline.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
        if (deadline.tv_nsec >= 1000000000L) {
            deadline.tv_sec++;
            deadline.tv_nsec -= 1000000000L;
        }
    }
    pthread_mutex_lock(&s->lock);
    int err = 0;
    while (!s->finished && !err) {
        if (timeout_ms < 0)
            pthread_cond_wait(&s->cond, &s->lock);
        else if (pthread_cond_timedwait(&s->cond, &s->lock, &deadline) == ETIMEDOUT)
            err = s->finished ? 0 : VQA_ERR(ETIMEDOUT);
    }
    if (!err)
        err = s->status;
    pthread_mutex_unlock(&s->lock);
    return err;
}

void vqa_stream_stop(VqaStream *s)
{
    if (!s || atomic_exchange(&s->stop, 1))
        return;
    vqa_log(s->log, VQA_LOG_INFO, "stream %s: stopping", s->id);
    pthread_mutex_lock(&s->lock);
    pthread_cond_broadcast(&s->cond); /* release blocked pushers */
    s->decode_parked = 0;
    vqa_strand_kick(&s->decode);
    pthread_mutex_unlock(&s->lock);
    if (s->push) {
        VqaInputItem *eos = vqa_calloc(1, sizeof(*eos));
        if (eos) {
            eos->eos = 1;
            vqa_stream_enqueue_input(s, eos);
        }
    } else {
        vqa_strand_kick(&s->demux); /* it ends the input when it sees the stop */
    }
}

void vqa_stream_remove(VqaStream **ps)
{
    VqaStream *s = ps ? *ps : NULL;
    if (!s)
        return;
    vqa_stream_stop(s);
    vqa_stream_wait(s, -1);
    vqa_context_remove_stream(s->ctx, s);
    vqa_stream_release(s);
    *ps = NULL;
}

int vqa_stream_push_item(VqaStream *s, VqaInputItem *item)
{
    pthread_mutex_lock(&s->lock);
    for (;;) {
        if (atomic_load(&s->stop) || s->input_ended) {
            pthread_mutex_unlock(&s->lock);
            return VQA_ERROR_STOPPED;
        }
        if (s->in_count < s->in_cap)
            break;
        if (s->settings.live) {
            pthread_mutex_unlock(&s->lock);
            atomic_fetch_add(&s->input_dropped, 1);
            vqa_input_item_free(item); /* the library owns it now: counted as dropped */
            return 0;
        }
        if (!s->settings.push_blocking) {
            pthread_mutex_unlock(&s->lock);
            return VQA_ERR(EAGAIN);
        }
        pthread_cond_wait(&s->cond, &s->lock);
    }
    pthread_mutex_unlock(&s->lock);
    atomic_store(&s->input_state, VQA_INPUT_RUNNING);
    vqa_stream_enqueue_input(s, item);
    return 0;
}

int vqa_stream_end(VqaStream *s)
{
    if (!s || !s->push)
        return VQA_ERR(EINVAL);
    VqaInputItem *eos = vqa_calloc(1, sizeof(*eos));
    if (!eos)
        return VQA_ERR(ENOMEM);
    eos->eos = 1;
    vqa_stream_enqueue_input(s, eos);
    return 0;
}

/*
 * How far analysis trails the input: the media time read so far minus the
 * media time the slowest running detector has finished.
 */
static double analysis_latency_locked(VqaStream *s)
{
    double read = fmax(atomic_load(&s->read_media_time), atomic_load(&s->media_time));
    double slowest = INFINITY;
    for (size_t i = 0; i < s->nb_instances; i++) {
        const VqaDetectorInstance *d = s->instances[i];
        if (!atomic_load(&d->failed))
            slowest = fmin(slowest, atomic_load(&d->media_time));
    }
    if (isinf(slowest) || read <= slowest)
        return 0;
    return read - slowest;
}

void vqa_stream_get_stats(VqaStream *s, VqaStreamStats *st)
{
    if (!s || !st)
        return;
    memset(st, 0, sizeof(*st));
    st->packets_read = atomic_load(&s->packets_read);
    st->frames_decoded = atomic_load(&s->frames_decoded);
    st->decode_errors = atomic_load(&s->decode_errors);
    st->events = atomic_load(&s->events);
    st->media_time = atomic_load(&s->media_time);
    st->frames_dropped = atomic_load(&s->input_dropped);
    pthread_mutex_lock(&s->lock);
    for (size_t i = 0; i < s->nb_instances; i++) {
        st->frames_analysed += atomic_load(&s->instances[i]->analysed);
        st->frames_dropped += atomic_load(&s->instances[i]->dropped);
    }
    st->duration = s->duration_s;
    st->finished = s->finished;
    st->latency = analysis_latency_locked(s);
    pthread_mutex_unlock(&s->lock);
    st->state = st->finished ? VQA_INPUT_ENDED : atomic_load(&s->input_state);
    st->reconnects = atomic_load(&s->reconnects);
}

int vqa_stream_get_detector_stats(VqaStream *s, size_t i, VqaDetectorStats *st)
{
    if (!s || !st)
        return VQA_ERR(EINVAL);
    memset(st, 0, sizeof(*st));
    pthread_mutex_lock(&s->lock);
    if (i >= s->nb_instances) {
        pthread_mutex_unlock(&s->lock);
        return VQA_ERR(ERANGE);
    }
    const VqaDetectorInstance *d = s->instances[i];
    snprintf(st->name, sizeof(st->name), "%s", d->cls->name);
    st->track = d->track->number;
    st->type = d->track->type;
    st->frames_analysed = atomic_load(&d->analysed);
    st->frames_dropped = atomic_load(&d->dropped);
    st->cpu_seconds = atomic_load(&d->cpu_ns) / 1e9;
    st->media_time = atomic_load(&d->media_time);
    pthread_mutex_unlock(&s->lock);
    return 0;
}

const char *vqa_input_state_name(int state)
{
    switch (state) {
    case VQA_INPUT_OPENING: return "opening";
    case VQA_INPUT_RUNNING: return "running";
    case VQA_INPUT_STALLED: return "stalled";
    case VQA_INPUT_RECONNECTING: return "reconnecting";
    case VQA_INPUT_ENDED: return "ended";
    }
    return "unknown";
}
