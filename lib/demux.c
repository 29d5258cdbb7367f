/*
 * Pull inputs: open a URL or path with libavformat, pick the tracks, read
 * packets on the I/O pool (never on a compute worker), and decode them on
 * the stream's decode strand. Read and decode failures become stream.error
 * events; an input that ends well before its declared duration is reported
 * as truncated.
 *
 * Live inputs: every open and read is bounded by the interrupt callback (the
 * stop flag and an I/O deadline), so a silent server cannot hold a reader
 * past its timeout nor a stop for long. A failed, timed-out or ended live
 * input is reopened with capped exponential backoff when the settings allow;
 * the decoders, the timeline and the detector instances carry over, so a
 * defect spanning a reconnect stays one defect and the lost media becomes a
 * stream.gap. The context's watch thread reports a stream.stall when a live
 * input delivers nothing for the stall timeout. When analysis cannot keep up
 * with a live input, packets are dropped up to the next key frame and the
 * span is reported as a stream.gap with "cause":"overload".
 *
 * What the reader learns is handed to the decode strand as notes in the
 * input queue, so that the converter's events stay in media-time order.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include <libavutil/error.h>
#include <libavutil/mem.h>

#include "clock.h"
#include "hwaccel.h"
#include "internal.h"
#include "json.h"
#include "logging.h"
#include "mem.h"

#define READ_BATCH 32
/* Report decode errors of a track at most once per second of media. */
#define ERROR_REPORT_INTERVAL_S 1.0
#define DEFAULT_LIVE_IO_TIMEOUT_S 10.0
#define DEFAULT_RECONNECT_MAX_DELAY_S 30.0
#define FIRST_RECONNECT_DELAY_S 0.5
/*
 * After a reopen, a first timestamp from a little before where the old
 * timeline ended (a server may resend what it had buffered) to the time the
 * input was away plus some slack after it is taken as the source's clock
 * running on; anything else is a new clock.
 */
#define CLOCK_RESEND_SLACK_S 1.0
#define CLOCK_CONTINUITY_SLACK_S 10.0
/* Realtime pacing follows the media's clock but never waits longer than this for one packet. */
#define PACE_MAX_WAIT_S 5.0
/* Whitelist refusals reported as events per stream; later ones are logged only. */
#define MAX_REFUSALS_REPORTED 8


/* Protocols a local file may lead to, and a network input (no local files). */
static const char local_protocols[] =
    "file,pipe,data,crypto,subfile,concat,http,https,httpproxy,tcp,tls,udp,udplite,rtp,srtp,"
    "rtmp,rtmps,rtmpt,rtmpts,srt,rist";
static const char network_protocols[] =
    "crypto,http,https,httpproxy,tcp,tls,udp,udplite,rtp,srtp,rtmp,rtmps,rtmpt,rtmpts,srt,rist";

static int map_av_error(int err)
{
    if (err == AVERROR_EOF)
        return VQA_ERROR_EOF;
    if (err == AVERROR_INVALIDDATA || err == AVERROR_DEMUXER_NOT_FOUND ||
        err == AVERROR_DECODER_NOT_FOUND || err == AVERROR_STREAM_NOT_FOUND)
        return VQA_ERROR_INVALID_DATA;
    if (err == AVERROR_PROTOCOL_NOT_FOUND)
        return VQA_ERR(EPROTONOSUPPORT);
    if (err == AVERROR_EXIT)
        return VQA_ERROR_STOPPED;
    if (err < 0 && err > -4096)
        return err; /* AVERROR(e) is -e on POSIX, as VQA_ERR(e) */
    return VQA_ERR(EIO);
}


static double io_timeout(const VqaStream *s)
{
    double t = s->settings.io_timeout;
    if (t == 0)
        return s->settings.live ? DEFAULT_LIVE_IO_TIMEOUT_S : -1;
    return t;
}

int vqa_demux_check_settings(const VqaStreamSettings *set, char *msg, size_t size)
{
    if (isnan(set->stall_timeout) || isnan(set->io_timeout) ||
        isnan(set->reconnect_max_delay) || set->reconnect_max_delay < 0) {
        snprintf(msg, size, "stall_timeout, io_timeout and reconnect_max_delay must be numbers"
                            " (reconnect_max_delay >= 0)");
        return VQA_ERR(EINVAL);
    }
    if (set->reconnect < VQA_RECONNECT_FOREVER) {
        snprintf(msg, size, "reconnect=%d: use a count >= 0 or VQA_RECONNECT_FOREVER (-1)",
                 set->reconnect);
        return VQA_ERR(EINVAL);
    }
    AVDictionary *opts = NULL;
    int err = set->input_options ? av_dict_parse_string(&opts, set->input_options, "=", ":", 0)
                                 : 0;
    av_dict_free(&opts);
    if (err < 0) {
        snprintf(msg, size, "input_options \"%s\": expected key=value:key=value",
                 set->input_options);
        return VQA_ERR(EINVAL);
    }
    return 0;
}

int vqa_demux_init(VqaStream *s, const VqaStreamSettings *set)
{
    const char *proto = avio_find_protocol_name(s->url);
    s->is_file = proto && (!strcmp(proto, "file") || !strcmp(proto, "pipe"));
    const char *protocols = set->protocols ? set->protocols
                            : s->is_file   ? local_protocols
                                           : network_protocols;
    s->protocols = vqa_strdup(protocols);
    s->input_options = set->input_options ? vqa_strdup(set->input_options) : NULL;
    s->demux_start_s = NAN;
    s->lost_wall_s = NAN;
    s->pace_wall_s = NAN;
    atomic_store(&s->last_data_ns, vqa_monotonic_ns());
    if (!s->protocols || (set->input_options && !s->input_options))
        return VQA_ERR(ENOMEM);
    return 0;
}

void vqa_input_note_free(VqaInputNote **pnote)
{
    VqaInputNote *note = *pnote;
    if (!note)
        return;
    for (size_t i = 0; i < note->nb_params; i++)
        avcodec_parameters_free(&note->params[i]);
    vqa_free(note->params);
    vqa_free(note->time_bases);
    vqa_free(note->details);
    vqa_free(note);
    *pnote = NULL;
}

/* Hand a note to the decode strand, in order with the packets. */
void vqa_demux_send_note(VqaStream *s, VqaInputNote *note)
{
    pthread_mutex_lock(&s->lock);
    if (s->hold_notes) { /* the input is opening: its timeline is not known yet */
        note->next = NULL;
        if (s->held_tail)
            s->held_tail->next = note;
        else
            s->held_head = note;
        s->held_tail = note;
        pthread_mutex_unlock(&s->lock);
        return;
    }
    pthread_mutex_unlock(&s->lock);
    VqaInputItem *item = vqa_calloc(1, sizeof(*item));
    if (!item) {
        vqa_log(s->log, VQA_LOG_ERROR, "stream %s: out of memory: an input note is lost", s->id);
        vqa_input_note_free(&note);
        return;
    }
    item->note = note;
    vqa_stream_enqueue_input(s, item);
}

/* An instant converter event, emitted in order by the decode strand. */
static void send_event(VqaStream *s, const char *kind, double t, double value, int has_value,
                       VqaSeverity severity, const char *details)
{
    VqaInputNote *note = vqa_calloc(1, sizeof(*note));
    char *copy = vqa_strdup(details);
    if (!note || !copy) {
        vqa_free(note);
        vqa_free(copy);
        vqa_log(s->log, VQA_LOG_ERROR, "stream %s: out of memory: %s event lost", s->id, kind);
        return;
    }
    *note = (VqaInputNote){ .kind = kind, .t = t, .value = value, .has_value = has_value,
                            .severity = severity, .details = copy };
    vqa_demux_send_note(s, note);
}

static double media_position(const VqaStream *s)
{
    return isnan(s->read_end_s) ? 0 : s->read_end_s;
}

/*
 * Note why the input failed for good: the status for vqa_stream_wait now,
 * the stream.error event when the decode strand reaches the end of input, so
 * that it comes after every event of the media read before the failure.
 */
static void note_input_error(VqaStream *s, int status, double t, const char *reason,
                             const char *extra_json)
{
    char quoted[300], details[420];
    vqa_json_quote(reason, quoted, sizeof(quoted));
    snprintf(details, sizeof(details), "{\"reason\":%s%s}", quoted, extra_json ? extra_json : "");
    vqa_log(s->log, VQA_LOG_ERROR, "stream %s: %s: %s", s->id, s->url, reason);
    char *copy = vqa_strdup(details);
    pthread_mutex_lock(&s->lock);
    if (!s->status)
        s->status = status;
    if (!s->input_error_details && copy) {
        s->input_error_details = copy;
        s->input_error_t = t;
        copy = NULL;
    }
    pthread_mutex_unlock(&s->lock);
    vqa_free(copy);
}

static void describe_failure(const VqaStream *s, const char *what, int av_err, char *reason,
                             size_t size)
{
    char text[AV_ERROR_MAX_STRING_SIZE] = "";
    if (av_err == AVERROR_EXIT && !atomic_load(&s->stop))
        snprintf(text, sizeof(text), "no data for %.1f s", io_timeout(s));
    else if (av_err == AVERROR_EOF)
        snprintf(text, sizeof(text), "the input ended");
    else
        av_strerror(av_err, text, sizeof(text));
    if (s->refusal[0])
        snprintf(reason, size, "%s: %.300s", what, s->refusal);
    else
        snprintf(reason, size, "%s: %s", what, text);
}

static int interrupt_cb(void *opaque)
{
    VqaStream *s = opaque;
    if (atomic_load(&s->stop))
        return 1;
    int64_t deadline = atomic_load(&s->io_deadline_ns);
    return deadline > 0 && vqa_monotonic_ns() > deadline;
}

/* The next blocking open or read may wait this long for data. */
static void arm_deadline(VqaStream *s)
{
    double timeout = io_timeout(s);
    atomic_store(&s->io_deadline_ns, timeout > 0 ? vqa_monotonic_ns() + (int64_t)(timeout * 1e9)
                                                 : 0);
}

static int protocol_allowed(const char *whitelist, const char *proto)
{
    size_t len = strlen(proto);
    for (const char *p = whitelist; *p;) {
        const char *comma = strchr(p, ',');
        size_t n = comma ? (size_t)(comma - p) : strlen(p);
        if (n == len && !strncmp(p, proto, n))
            return 1;
        p += n + (comma ? 1 : 0);
    }
    return 0;
}

/*
 * Every open, the input's own and those it makes (HLS segments and keys),
 * comes through here: a protocol off the whitelist is refused and the
 * refusal reported, rather than left to a line in FFmpeg's log.
 */
static int guarded_io_open(AVFormatContext *fmt, AVIOContext **pb, const char *url, int flags,
                           AVDictionary **options)
{
    VqaStream *s = fmt->opaque;
    const char *proto = avio_find_protocol_name(url);
    if (proto && !protocol_allowed(s->protocols, proto)) {
        char quoted_url[300];
        vqa_json_quote(url, quoted_url, sizeof(quoted_url));
        snprintf(s->refusal, sizeof(s->refusal),
                 "refused %s: protocol '%s' is not on the whitelist \"%s\"", quoted_url, proto,
                 s->protocols);
        vqa_log(s->log, VQA_LOG_ERROR, "stream %s: %s", s->id, s->refusal);
        if (pb != &fmt->pb && s->refused_reported++ < MAX_REFUSALS_REPORTED) {
            char quoted[420], details[800];
            vqa_json_quote(s->refusal, quoted, sizeof(quoted));
            snprintf(details, sizeof(details),
                     "{\"reason\":%s,\"url\":%s,\"protocol\":\"%.32s\"}", quoted, quoted_url,
                     proto);
            send_event(s, "stream.error", media_position(s), 0, 0, VQA_SEVERITY_ERROR, details);
        }
        return AVERROR(EPERM);
    }
    return s->io_open_default(fmt, pb, url, flags, options);
}

/* What the cost dial saves at the decoder, and where it decodes. */
static void set_video_cost(VqaStream *s, AVCodecContext *dec, const AVCodec *codec)
{
    if (s->settings.cost == VQA_COST_KEYFRAMES)
        dec->skip_frame = AVDISCARD_NONKEY;
    else if (s->settings.cost == VQA_COST_LIGHT)
        dec->skip_frame = AVDISCARD_NONREF;
    if (s->hwaccel)
        vqa_hwaccel_setup(dec, codec, s->hwaccel, s->log, s->id);
}

static int open_decoder(VqaStream *s, VqaTrack *track, const AVCodecParameters *par,
                        AVRational time_base)
{
    const AVCodec *codec = avcodec_find_decoder(par->codec_id);
    if (!codec) {
        vqa_log(s->log, VQA_LOG_WARNING, "stream %s: no decoder for %s track %d (%s)", s->id,
                track->type == VQA_MEDIA_VIDEO ? "video" : "audio", track->number,
                avcodec_get_name(par->codec_id));
        return AVERROR_DECODER_NOT_FOUND;
    }
    AVCodecContext *dec = avcodec_alloc_context3(codec);
    if (!dec)
        return AVERROR(ENOMEM);
    int err = avcodec_parameters_to_context(dec, par);
    if (err >= 0) {
        dec->thread_count = s->settings.decoder_threads;
        dec->pkt_timebase = time_base;
        if (par->codec_type == AVMEDIA_TYPE_VIDEO)
            set_video_cost(s, dec, codec);
        err = avcodec_open2(dec, codec, NULL);
    }
    if (err < 0) {
        avcodec_free_context(&dec);
        return err;
    }
    avcodec_free_context(&track->decoder);
    track->decoder = dec;
    track->time_base = time_base;
    return 0;
}

static int wanted(const VqaStreamSettings *set, enum AVMediaType type, int nth)
{
    if (type == AVMEDIA_TYPE_VIDEO)
        return set->video_track == VQA_TRACK_FIRST ? nth == 0 : set->video_track == nth;
    if (type == AVMEDIA_TYPE_AUDIO)
        return set->audio_tracks == VQA_TRACKS_ALL ? 1 : set->audio_tracks == nth;
    return 0;
}

/* Which (type, number) an AVStream would be among the input's tracks, or -1. */
static int track_number(const VqaStreamSettings *set, const AVStream *st, int *n_video,
                        int *n_audio)
{
    enum AVMediaType type = st->codecpar->codec_type;
    if (st->disposition & AV_DISPOSITION_ATTACHED_PIC)
        return -1;
    int nth = type == AVMEDIA_TYPE_VIDEO   ? (*n_video)++
              : type == AVMEDIA_TYPE_AUDIO ? (*n_audio)++
                                           : -1;
    return nth >= 0 && wanted(set, type, nth) ? nth : -1;
}

static VqaMediaType media_type(enum AVMediaType type)
{
    return type == AVMEDIA_TYPE_VIDEO ? VQA_MEDIA_VIDEO : VQA_MEDIA_AUDIO;
}

/* The first open: the input's tracks become the stream's for its lifetime. */
static int select_tracks(VqaStream *s)
{
    AVFormatContext *fmt = s->fmt;
    s->tracks = vqa_calloc(fmt->nb_streams, sizeof(*s->tracks));
    if (!s->tracks)
        return AVERROR(ENOMEM);
    int n_video = 0, n_audio = 0;
    for (unsigned i = 0; i < fmt->nb_streams; i++) {
        AVStream *st = fmt->streams[i];
        s->track_of_av_index[i] = -1;
        st->discard = AVDISCARD_ALL;
        int nth = track_number(&s->settings, st, &n_video, &n_audio);
        if (nth < 0)
            continue;
        VqaTrack *track = &s->tracks[s->nb_tracks];
        track->type = media_type(st->codecpar->codec_type);
        track->number = nth;
        track->av_index = (int)i;
        track->next_t = -1;
        if (track->type == VQA_MEDIA_VIDEO)
            track->frame_rate = av_q2d(av_guess_frame_rate(fmt, st, NULL));
        if (open_decoder(s, track, st->codecpar, st->time_base) < 0)
            continue;
        st->discard = AVDISCARD_DEFAULT;
        s->track_of_av_index[i] = (int)s->nb_tracks++;
    }
    return s->nb_tracks > 0 ? 0 : AVERROR_STREAM_NOT_FOUND;
}

/*
 * A reopen: the new input's streams are matched to the existing tracks by
 * type and number. The decoders are replaced on the decode strand (it owns
 * them), through the note made here; it goes out with the first packet,
 * when the new timeline is known.
 */
static int remap_tracks(VqaStream *s)
{
    AVFormatContext *fmt = s->fmt;
    VqaInputNote *note = vqa_calloc(1, sizeof(*note));
    if (!note)
        return AVERROR(ENOMEM);
    note->reopened = 1;
    note->nb_params = s->nb_tracks;
    note->params = vqa_calloc(s->nb_tracks, sizeof(*note->params));
    note->time_bases = vqa_calloc(s->nb_tracks, sizeof(*note->time_bases));
    if (!note->params || !note->time_bases) {
        vqa_input_note_free(&note);
        return AVERROR(ENOMEM);
    }
    int n_video = 0, n_audio = 0, found = 0;
    for (unsigned i = 0; i < fmt->nb_streams; i++) {
        AVStream *st = fmt->streams[i];
        s->track_of_av_index[i] = -1;
        st->discard = AVDISCARD_ALL;
        int nth = track_number(&s->settings, st, &n_video, &n_audio);
        for (size_t slot = 0; nth >= 0 && slot < s->nb_tracks; slot++) {
            VqaTrack *track = &s->tracks[slot];
            if (track->type != media_type(st->codecpar->codec_type) || track->number != nth ||
                note->params[slot])
                continue;
            note->params[slot] = avcodec_parameters_alloc();
            if (!note->params[slot] ||
                avcodec_parameters_copy(note->params[slot], st->codecpar) < 0) {
                vqa_input_note_free(&note);
                return AVERROR(ENOMEM);
            }
            note->time_bases[slot] = st->time_base;
            st->discard = AVDISCARD_DEFAULT;
            s->track_of_av_index[i] = (int)slot;
            found++;
            break;
        }
    }
    if (!found) {
        vqa_input_note_free(&note);
        return AVERROR_STREAM_NOT_FOUND;
    }
    vqa_input_note_free(&s->reopen_note);
    s->reopen_note = note;
    return 0;
}

static int open_input_held(VqaStream *s, const char **what);

/*
 * Open the input. What is noticed while it opens (probing reads ahead:
 * transport errors, refusals) waits until the timeline is known, then goes
 * out in order.
 */
static int open_input(VqaStream *s, const char **what)
{
    pthread_mutex_lock(&s->lock);
    s->hold_notes = 1;
    pthread_mutex_unlock(&s->lock);
    int err = open_input_held(s, what);
    pthread_mutex_lock(&s->lock);
    VqaInputNote *note = s->held_head;
    s->held_head = s->held_tail = NULL;
    s->hold_notes = 0;
    pthread_mutex_unlock(&s->lock);
    while (note) {
        VqaInputNote *next = note->next;
        vqa_demux_send_note(s, note);
        note = next;
    }
    return err;
}

static int open_input_held(VqaStream *s, const char **what)
{
    atomic_store(&s->input_state, s->opened ? VQA_INPUT_RECONNECTING : VQA_INPUT_OPENING);
    s->refusal[0] = '\0';
    AVFormatContext *fmt = avformat_alloc_context();
    if (!fmt)
        return AVERROR(ENOMEM);
    fmt->interrupt_callback = (AVIOInterruptCB){ interrupt_cb, s };
    fmt->opaque = s;
    s->io_open_default = fmt->io_open;
    fmt->io_open = guarded_io_open;
    fmt->protocol_whitelist = av_strdup(s->protocols);
    AVDictionary *opts = NULL;
    if (s->input_options)
        av_dict_parse_string(&opts, s->input_options, "=", ":", 0);
    arm_deadline(s);
    *what = "cannot open input";
    int err = fmt->protocol_whitelist ? 0 : AVERROR(ENOMEM);
    if (err >= 0 && vqa_tsinput_wanted(s)) {
        const char *proto = avio_find_protocol_name(s->url);
        if (!protocol_allowed(s->protocols, proto)) {
            snprintf(s->refusal, sizeof(s->refusal),
                     "refused: protocol '%s' is not on the whitelist \"%s\"", proto, s->protocols);
            err = AVERROR(EPERM);
        } else {
            err = vqa_tsinput_open(s, fmt, opts);
        }
    }
    if (err >= 0)
        err = avformat_open_input(&fmt, s->url, NULL, &opts);
    av_dict_free(&opts);
    if (err < 0) {
        avformat_free_context(fmt); /* NULL after a failed avformat_open_input */
        vqa_tsinput_close(s);
        return err;
    }
    s->fmt = fmt;
    arm_deadline(s);
    *what = "cannot read stream info";
    err = avformat_find_stream_info(fmt, NULL);
    if (err < 0)
        return err;
    int *map = vqa_realloc(s->track_of_av_index, (fmt->nb_streams + 1) * sizeof(int));
    if (!map)
        return AVERROR(ENOMEM);
    s->track_of_av_index = map;
    *what = "no decodable audio or video track";
    if (!s->tracks) {
        if (fmt->start_time != AV_NOPTS_VALUE)
            s->start_s = s->demux_start_s = fmt->start_time / (double)AV_TIME_BASE;
        if (fmt->duration != AV_NOPTS_VALUE && fmt->duration > 0) {
            /* vqa_stream_get_stats reads it under the lock, from any thread. */
            pthread_mutex_lock(&s->lock);
            s->duration_s = fmt->duration / (double)AV_TIME_BASE;
            pthread_mutex_unlock(&s->lock);
        }
        err = select_tracks(s);
    } else {
        err = remap_tracks(s);
    }
    if (err < 0)
        return err;
    vqa_log(s->log, VQA_LOG_INFO, "stream %s: opened %s (%s, %zu tracks, %.3f s)", s->id, s->url,
            fmt->iformat->name, s->nb_tracks, s->duration_s);
    return 0;
}

static void close_input(VqaStream *s)
{
    avformat_close_input(&s->fmt);
    vqa_tsinput_close(s);
}

static void end_input(VqaStream *s)
{
    vqa_tsinput_reset(s, 1); /* open transport intervals end before the stream does */
    atomic_store(&s->input_state, VQA_INPUT_ENDED);
    VqaInputItem *eos = vqa_calloc(1, sizeof(*eos));
    if (eos) {
        eos->eos = 1;
        vqa_stream_enqueue_input(s, eos);
    } else {
        vqa_log(s->log, VQA_LOG_ERROR, "stream %s: out of memory at end of input", s->id);
    }
}

/* A file that ends well short of the duration its container declares was cut. */
static void check_truncated(VqaStream *s, double read_end_s)
{
    if (s->duration_s <= 0 || isnan(read_end_s))
        return;
    double missing = s->duration_s - read_end_s;
    if (missing <= fmax(0.5, 0.05 * s->duration_s))
        return;
    char reason[128], extra[48];
    snprintf(reason, sizeof(reason), "truncated: input ends at %.3f s of %.3f s", read_end_s,
             s->duration_s);
    snprintf(extra, sizeof(extra), ",\"missing\":%.3f", missing);
    note_input_error(s, VQA_ERROR_INVALID_DATA, read_end_s, reason, extra);
}

/* The packets dropped since skip_start_t are one stream.gap, up to resume_t. */
static void end_skip(VqaStream *s, double resume_t)
{
    s->skipping = 0;
    char details[160];
    snprintf(details, sizeof(details),
             "{\"cause\":\"overload\",\"stage\":\"input\",\"packets\":%lld,"
             "\"resumed_at\":%.6f}", (long long)s->skipped_packets, resume_t);
    VqaInputNote *note = vqa_calloc(1, sizeof(*note));
    char *copy = vqa_strdup(details);
    if (!note || !copy) {
        vqa_free(note);
        vqa_free(copy);
        vqa_log(s->log, VQA_LOG_ERROR, "stream %s: out of memory: overload gap lost", s->id);
        return;
    }
    *note = (VqaInputNote){ .kind = "stream.gap", .t = s->skip_start_t,
                            .value = fmax(0, resume_t - s->skip_start_t), .has_value = 1,
                            .severity = VQA_SEVERITY_WARNING, .details = copy,
                            .reset_timeline = 1 };
    vqa_demux_send_note(s, note);
}

static int may_reconnect(const VqaStream *s, int av_err)
{
    if (atomic_load(&s->stop) || (av_err == AVERROR_EOF && s->is_file))
        return 0;
    int limit = s->settings.reconnect;
    return limit == VQA_RECONNECT_FOREVER || s->attempts < limit;
}

static double reconnect_delay(const VqaStream *s)
{
    double cap = s->settings.reconnect_max_delay > 0 ? s->settings.reconnect_max_delay
                                                     : DEFAULT_RECONNECT_MAX_DELAY_S;
    double delay = FIRST_RECONNECT_DELAY_S * pow(2, s->attempts > 0 ? s->attempts - 1 : 0);
    return fmin(delay, cap);
}

/*
 * The input failed, timed out or ended. A live input that may reconnect
 * says so in a stream.error and is reopened after a backoff; anything else
 * ends the stream (a file's end is its normal end).
 */
static void input_lost(VqaStream *s, const char *what, int av_err)
{
    close_input(s);
    if (s->skipping)
        end_skip(s, media_position(s));
    if (may_reconnect(s, av_err)) {
        vqa_tsinput_reset(s, 0); /* the next connection is checked afresh */
        s->attempts++;
        if (isnan(s->lost_wall_s))
            s->lost_wall_s = vqa_monotonic_s();
        char reason[400], quoted[420], details[600];
        describe_failure(s, what, av_err, reason, sizeof(reason));
        vqa_json_quote(reason, quoted, sizeof(quoted));
        double delay = reconnect_delay(s);
        snprintf(details, sizeof(details),
                 "{\"reason\":%s,\"reconnect\":{\"attempt\":%d,\"in\":%.3f}}", quoted, s->attempts,
                 delay);
        vqa_log(s->log, VQA_LOG_WARNING, "stream %s: %s; reconnecting in %.1f s (attempt %d)",
                s->id, reason, delay, s->attempts);
        send_event(s, "stream.error", media_position(s), 0, 0, VQA_SEVERITY_ERROR, details);
        atomic_store(&s->input_state, VQA_INPUT_RECONNECTING);
        vqa_strand_kick(&s->demux);
        return;
    }
    if (av_err == AVERROR_EOF) {
        check_truncated(s, s->read_end_s);
    } else if (!atomic_load(&s->stop)) {
        char reason[400];
        describe_failure(s, what, av_err, reason, sizeof(reason));
        int status = av_err == AVERROR_EXIT ? VQA_ERR(ETIMEDOUT) : map_av_error(av_err);
        note_input_error(s, status, media_position(s), reason, NULL);
    }
    end_input(s);
}

/* Media time of a packet's start (or end), relative to the reader's origin. */
static double packet_time_s(const VqaStream *s, const AVPacket *pkt, int end)
{
    const AVStream *st = s->fmt->streams[pkt->stream_index];
    int64_t ts = pkt->pts != AV_NOPTS_VALUE ? pkt->pts : pkt->dts;
    if (ts == AV_NOPTS_VALUE)
        return NAN;
    double abs_t = (ts + (end && pkt->duration > 0 ? pkt->duration : 0)) * av_q2d(st->time_base);
    return abs_t - (isnan(s->demux_start_s) ? 0 : s->demux_start_s);
}

/*
 * The first packet of a reopened input fixes its timeline: a source whose
 * clock ran on keeps it (the lost media shows as a gap), a new clock is
 * placed where the time the input was away says.
 */
static void place_reopened_timeline(VqaStream *s, const AVPacket *pkt)
{
    const AVStream *st = s->fmt->streams[pkt->stream_index];
    int64_t ts = pkt->pts != AV_NOPTS_VALUE ? pkt->pts : pkt->dts;
    if (ts == AV_NOPTS_VALUE || !s->reopen_note)
        return;
    double abs_t = ts * av_q2d(st->time_base);
    double away = isnan(s->lost_wall_s) ? 0 : vqa_monotonic_s() - s->lost_wall_s;
    double origin;
    if (isnan(s->read_end_s) || isnan(s->demux_start_s)) {
        origin = isnan(s->demux_start_s) ? abs_t : s->demux_start_s;
    } else {
        double continued = abs_t - s->demux_start_s;
        int same_clock = continued >= s->read_end_s - CLOCK_RESEND_SLACK_S &&
                         continued <= s->read_end_s + away + CLOCK_CONTINUITY_SLACK_S;
        origin = same_clock ? s->demux_start_s : abs_t - (s->read_end_s + away);
    }
    s->demux_start_s = origin;
    s->reopen_note->start_s = origin;
    s->lost_wall_s = NAN;
    s->pace_wall_s = NAN;
    VqaInputNote *note = s->reopen_note;
    s->reopen_note = NULL;
    vqa_demux_send_note(s, note);
}

/* Realtime: hold a packet back until the wall clock reaches its media time. */
static void pace(VqaStream *s, const AVPacket *pkt)
{
    const AVStream *st = s->fmt->streams[pkt->stream_index];
    int64_t ts = pkt->dts != AV_NOPTS_VALUE ? pkt->dts : pkt->pts;
    if (ts == AV_NOPTS_VALUE)
        return;
    double t = ts * av_q2d(st->time_base);
    double now = vqa_monotonic_s();
    double due = s->pace_wall_s + (t - s->pace_media_s);
    if (isnan(due) || due < now - PACE_MAX_WAIT_S || due > now + PACE_MAX_WAIT_S) {
        s->pace_wall_s = now; /* the first packet, or the clock jumped: follow from here */
        s->pace_media_s = t;
        return;
    }
    if (due > now)
        vqa_sleep_unless(due - now, &s->stop);
}

/*
 * Live overload: when the decode strand has fallen a full input queue
 * behind, packets are dropped — all of them, until the queue is half empty
 * and a video key frame arrives (the decoder needs one to go on cleanly).
 * The dropped span is reported as a stream.gap. @return 1 to keep the packet.
 */
static int admit_live_packet(VqaStream *s, const AVPacket *pkt, const VqaTrack *track)
{
    pthread_mutex_lock(&s->lock);
    size_t count = s->in_count, cap = s->in_cap;
    pthread_mutex_unlock(&s->lock);
    double t = packet_time_s(s, pkt, 0);
    if (!s->skipping) {
        if (count < cap)
            return 1;
        s->skipping = 1;
        s->skipped_packets = 0;
        s->skip_start_t = isnan(t) ? media_position(s) : t;
        vqa_log(s->log, VQA_LOG_WARNING, "stream %s: analysis behind the input at %.3f s: "
                "dropping packets", s->id, s->skip_start_t);
    }
    int has_video = 0;
    for (size_t i = 0; i < s->nb_tracks; i++)
        has_video |= s->tracks[i].type == VQA_MEDIA_VIDEO;
    int restart_point = track->type == VQA_MEDIA_VIDEO ? (pkt->flags & AV_PKT_FLAG_KEY) != 0
                                                      : !has_video;
    if (count <= cap / 2 && restart_point) {
        end_skip(s, isnan(t) ? media_position(s) : t);
        return 1;
    }
    s->skipped_packets++;
    atomic_fetch_add(&s->input_dropped, 1);
    return 0;
}

static int room_for_packet(VqaStream *s)
{
    if (s->settings.live)
        return 1; /* live inputs never wait: admit_live_packet drops instead */
    pthread_mutex_lock(&s->lock);
    int room = s->in_count < s->in_cap;
    if (!room)
        s->demux_parked = 1; /* the decode strand kicks us when it drains */
    pthread_mutex_unlock(&s->lock);
    return room;
}

/* Open (or reopen after the backoff) the input. @return 0 when there is one to read. */
static int ensure_open(VqaStream *s)
{
    if (s->fmt)
        return 0;
    if (s->opened && vqa_sleep_unless(reconnect_delay(s), &s->stop)) {
        end_input(s);
        return -1;
    }
    if (s->opened)
        atomic_fetch_add(&s->reconnects, 1);
    const char *what = "cannot open input";
    int err = atomic_load(&s->stop) ? AVERROR_EXIT : open_input(s, &what);
    s->opened = 1;
    if (err < 0) {
        input_lost(s, what, err);
        return -1;
    }
    return 0;
}

void vqa_demux_work(VqaStrand *strand)
{
    VqaStream *s = strand->owner;
    if (atomic_load(&s->stop)) {
        close_input(s);
        end_input(s);
        return;
    }
    if (ensure_open(s) < 0)
        return;
    for (int n = 0; n < READ_BATCH; n++) {
        if (atomic_load(&s->stop)) {
            close_input(s);
            end_input(s);
            return;
        }
        if (!room_for_packet(s))
            return;
        AVPacket *pkt = av_packet_alloc();
        arm_deadline(s);
        int err = pkt ? av_read_frame(s->fmt, pkt) : AVERROR(ENOMEM);
        if (err == AVERROR(EAGAIN)) {
            av_packet_free(&pkt);
            break;
        }
        if (err < 0) {
            av_packet_free(&pkt);
            input_lost(s, "read error", err);
            return;
        }
        int slot = s->track_of_av_index[pkt->stream_index];
        if (slot < 0) {
            av_packet_free(&pkt);
            continue;
        }
        s->attempts = 0; /* media flows: the next failure backs off from the start */
        vqa_stall_media_arrived(s);
        if (s->reopen_note)
            place_reopened_timeline(s, pkt);
        if (s->settings.realtime)
            pace(s, pkt);
        int keep = !s->settings.live || admit_live_packet(s, pkt, &s->tracks[slot]);
        double end_s = packet_time_s(s, pkt, 1);
        if (!isnan(end_s) && (isnan(s->read_end_s) || end_s > s->read_end_s)) {
            s->read_end_s = end_s;
            atomic_store(&s->read_media_time, end_s);
        }
        if (!keep) {
            av_packet_free(&pkt);
            continue;
        }
        VqaInputItem *item = vqa_calloc(1, sizeof(*item));
        if (!item) {
            av_packet_free(&pkt);
            input_lost(s, "read", AVERROR(ENOMEM));
            return;
        }
        item->packet = pkt;
        item->track = slot;
        atomic_fetch_add(&s->packets_read, 1);
        vqa_stream_enqueue_input(s, item);
    }
    vqa_strand_kick(strand);
}

void vqa_demux_apply_note(VqaStream *s, VqaInputNote *note)
{
    if (note->reopened) {
        for (size_t i = 0; i < note->nb_params && i < s->nb_tracks; i++) {
            VqaTrack *track = &s->tracks[i];
            if (note->params[i] &&
                open_decoder(s, track, note->params[i], note->time_bases[i]) < 0)
                vqa_log(s->log, VQA_LOG_ERROR, "stream %s: cannot reopen the decoder of %s "
                        "track %d", s->id, track->type == VQA_MEDIA_VIDEO ? "video" : "audio",
                        track->number);
        }
        s->start_s = note->start_s;
        s->reconnected = 1;
        s->reconnect_from_t = atomic_load(&s->media_time);
    }
    if (note->reset_timeline)
        for (size_t i = 0; i < s->nb_tracks; i++)
            s->tracks[i].next_t = -1;
    if (note->kind) {
        double t = note->t;
        if (note->on_stream_clock)
            t -= isnan(s->start_s) ? t : s->start_s;
        VqaEvent ev = { .stream = s->id, .detector = "converter", .kind = note->kind,
                        .state = note->state ? note->state : VQA_EVENT_INSTANT, .t = fmax(0, t),
                        .duration = note->duration, .value = note->value,
                        .has_value = note->has_value, .severity = note->severity,
                        .details_json = note->details };
        atomic_fetch_add(&s->events, 1);
        vqa_context_dispatch(s->ctx, &ev);
    }
    if (note->stall_over) {
        pthread_mutex_lock(&s->watch_lock);
        s->stall_value = note->value;
        pthread_mutex_unlock(&s->watch_lock);
        s->stall_over_pending = 1;
    }
}

static void decode_error(VqaStream *s, VqaTrack *track, int err)
{
    track->decode_errors++;
    atomic_fetch_add(&s->decode_errors, 1);
    double t = track->next_t >= 0 ? track->next_t : 0;
    if (track->errors_reported > 0 && t - track->last_error_report_t < ERROR_REPORT_INTERVAL_S)
        return;
    char text[AV_ERROR_MAX_STRING_SIZE] = "";
    av_strerror(err, text, sizeof(text));
    char quoted[AV_ERROR_MAX_STRING_SIZE + 16], details[320];
    vqa_json_quote(text, quoted, sizeof(quoted));
    snprintf(details, sizeof(details),
             "{\"reason\":\"decode error\",\"error\":%s,\"track\":%d,\"type\":\"%s\","
             "\"count\":%lld,\"new\":%lld}",
             quoted, track->number, track->type == VQA_MEDIA_VIDEO ? "video" : "audio",
             (long long)track->decode_errors,
             (long long)(track->decode_errors - track->errors_reported));
    vqa_log(s->log, VQA_LOG_WARNING, "stream %s: decode error on %s track %d at %.3f s: %s",
            s->id, track->type == VQA_MEDIA_VIDEO ? "video" : "audio", track->number, t, text);
    track->errors_reported = track->decode_errors;
    track->last_error_report_t = t;
    vqa_stream_emit(s, "stream.error", VQA_EVENT_INSTANT, t, 0, 0, VQA_SEVERITY_ERROR, details);
}

static int receive_frames(VqaStream *s, VqaTrack *track)
{
    for (;;) {
        int err = avcodec_receive_frame(track->decoder, s->scratch);
        if (err == AVERROR(EAGAIN) || err == AVERROR_EOF)
            return 0;
        if (err < 0) {
            decode_error(s, track, err);
            return 0;
        }
        AVFrame *frame = vqa_hwaccel_download(s->scratch, s->sw_scratch);
        err = frame ? vqa_bus_publish(s, track, frame, track->time_base) : AVERROR(EIO);
        av_frame_unref(s->scratch);
        if (!frame) {
            decode_error(s, track, err); /* the device's frame could not be read back */
            err = 0;
        }
        if (err < 0)
            return err;
    }
}

int vqa_demux_decode_packet(VqaStream *s, VqaInputItem *item)
{
    VqaTrack *track = &s->tracks[item->track];
    int err = avcodec_send_packet(track->decoder, item->packet);
    if (err == AVERROR(EAGAIN)) {
        err = receive_frames(s, track);
        if (err < 0)
            return err;
        err = avcodec_send_packet(track->decoder, item->packet);
    }
    if (err < 0 && err != AVERROR_EOF)
        decode_error(s, track, err);
    return receive_frames(s, track);
}

int vqa_demux_drain(VqaStream *s)
{
    for (size_t i = 0; i < s->nb_tracks; i++) {
        VqaTrack *track = &s->tracks[i];
        if (!track->decoder)
            continue;
        avcodec_send_packet(track->decoder, NULL);
        int err = receive_frames(s, track);
        if (err < 0)
            return err;
    }
    return 0;
}

void vqa_demux_close(VqaStream *s)
{
    close_input(s);
    vqa_tsinput_free(s);
    vqa_input_note_free(&s->reopen_note);
    vqa_free(s->protocols);
    vqa_free(s->input_options);
}
