/*
 * Pull inputs: open a URL or path with libavformat, pick the tracks, read
 * packets on the I/O pool (never on a compute worker), and decode them on
 * the stream's decode strand. Read and decode failures become stream.error
 * events; an input that ends well before its declared duration is reported
 * as truncated.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include <libavutil/error.h>

#include "hwaccel.h"
#include "internal.h"
#include "json.h"
#include "logging.h"
#include "mem.h"

#define READ_BATCH 32
/* Report decode errors of a track at most once per second of media. */
#define ERROR_REPORT_INTERVAL_S 1.0

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

/*
 * Note why the input failed: the status for vqa_stream_wait now, the
 * stream.error event when the decode strand reaches the end of input, so
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

static void input_failed(VqaStream *s, const char *what, int av_err)
{
    char text[AV_ERROR_MAX_STRING_SIZE] = "";
    av_strerror(av_err, text, sizeof(text));
    char reason[256];
    snprintf(reason, sizeof(reason), "%s: %s", what, text);
    double t = isnan(s->read_end_s) ? 0 : s->read_end_s;
    note_input_error(s, map_av_error(av_err), t, reason, NULL);
}

static int interrupt_cb(void *opaque)
{
    VqaStream *s = opaque;
    return atomic_load(&s->stop);
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

static int open_decoder(VqaStream *s, VqaTrack *track, const AVStream *st)
{
    const AVCodec *codec = avcodec_find_decoder(st->codecpar->codec_id);
    if (!codec) {
        vqa_log(s->log, VQA_LOG_WARNING, "stream %s: no decoder for track %d (%s)", s->id,
                st->index, avcodec_get_name(st->codecpar->codec_id));
        return AVERROR_DECODER_NOT_FOUND;
    }
    AVCodecContext *dec = avcodec_alloc_context3(codec);
    if (!dec)
        return AVERROR(ENOMEM);
    int err = avcodec_parameters_to_context(dec, st->codecpar);
    if (err >= 0) {
        dec->thread_count = s->settings.decoder_threads;
        dec->pkt_timebase = st->time_base;
        if (st->codecpar->codec_type == AVMEDIA_TYPE_VIDEO)
            set_video_cost(s, dec, codec);
        err = avcodec_open2(dec, codec, NULL);
    }
    if (err < 0) {
        avcodec_free_context(&dec);
        return err;
    }
    track->decoder = dec;
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

static int select_tracks(VqaStream *s)
{
    AVFormatContext *fmt = s->fmt;
    s->tracks = vqa_calloc(fmt->nb_streams, sizeof(*s->tracks));
    s->track_of_av_index = vqa_calloc(fmt->nb_streams, sizeof(int));
    if (!s->tracks || !s->track_of_av_index)
        return AVERROR(ENOMEM);
    int n_video = 0, n_audio = 0;
    for (unsigned i = 0; i < fmt->nb_streams; i++) {
        AVStream *st = fmt->streams[i];
        enum AVMediaType type = st->codecpar->codec_type;
        s->track_of_av_index[i] = -1;
        st->discard = AVDISCARD_ALL;
        if (st->disposition & AV_DISPOSITION_ATTACHED_PIC)
            continue;
        int nth = type == AVMEDIA_TYPE_VIDEO   ? n_video++
                  : type == AVMEDIA_TYPE_AUDIO ? n_audio++
                                               : -1;
        if (nth < 0 || !wanted(&s->settings, type, nth))
            continue;
        VqaTrack *track = &s->tracks[s->nb_tracks];
        track->type = type == AVMEDIA_TYPE_VIDEO ? VQA_MEDIA_VIDEO : VQA_MEDIA_AUDIO;
        track->number = nth;
        track->av_index = (int)i;
        track->time_base = st->time_base;
        track->next_t = -1;
        if (type == AVMEDIA_TYPE_VIDEO)
            track->frame_rate = av_q2d(av_guess_frame_rate(fmt, st, NULL));
        if (open_decoder(s, track, st) < 0)
            continue;
        st->discard = AVDISCARD_DEFAULT;
        s->track_of_av_index[i] = (int)s->nb_tracks++;
    }
    return s->nb_tracks > 0 ? 0 : AVERROR_STREAM_NOT_FOUND;
}

static int open_input(VqaStream *s)
{
    AVFormatContext *fmt = avformat_alloc_context();
    if (!fmt)
        return AVERROR(ENOMEM);
    fmt->interrupt_callback = (AVIOInterruptCB){ interrupt_cb, s };
    int err = avformat_open_input(&fmt, s->url, NULL, NULL);
    if (err < 0) {
        input_failed(s, "cannot open input", err);
        return err;
    }
    s->fmt = fmt;
    err = avformat_find_stream_info(fmt, NULL);
    if (err < 0) {
        input_failed(s, "cannot read stream info", err);
        return err;
    }
    if (fmt->start_time != AV_NOPTS_VALUE)
        s->start_s = fmt->start_time / (double)AV_TIME_BASE;
    if (fmt->duration != AV_NOPTS_VALUE && fmt->duration > 0)
        s->duration_s = fmt->duration / (double)AV_TIME_BASE;
    err = select_tracks(s);
    if (err < 0) {
        input_failed(s, "no decodable audio or video track", err);
        return err;
    }
    atomic_store(&s->input_state, VQA_INPUT_RUNNING);
    vqa_log(s->log, VQA_LOG_INFO, "stream %s: opened %s (%s, %zu tracks, %.3f s)", s->id, s->url,
            fmt->iformat->name, s->nb_tracks, s->duration_s);
    return 0;
}

static void end_input(VqaStream *s)
{
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

/* Media time at which a packet's data ends, relative to the stream start. */
static double packet_end_s(const VqaStream *s, const AVPacket *pkt)
{
    const AVStream *st = s->fmt->streams[pkt->stream_index];
    int64_t ts = pkt->pts != AV_NOPTS_VALUE ? pkt->pts : pkt->dts;
    if (ts == AV_NOPTS_VALUE)
        return NAN;
    double start = isnan(s->start_s) ? 0 : s->start_s;
    return (ts + (pkt->duration > 0 ? pkt->duration : 0)) * av_q2d(st->time_base) - start;
}

static int room_for_packet(VqaStream *s)
{
    pthread_mutex_lock(&s->lock);
    int room = s->in_count < s->in_cap;
    if (!room)
        s->demux_parked = 1; /* the decode strand kicks us when it drains */
    pthread_mutex_unlock(&s->lock);
    return room;
}

void vqa_demux_work(VqaStrand *strand)
{
    VqaStream *s = strand->owner;
    if (!s->opened) {
        s->opened = 1;
        if (atomic_load(&s->stop) || open_input(s) < 0) {
            end_input(s);
            return;
        }
    }
    for (int n = 0; n < READ_BATCH; n++) {
        if (atomic_load(&s->stop)) {
            end_input(s);
            return;
        }
        if (!room_for_packet(s))
            return;
        AVPacket *pkt = av_packet_alloc();
        int err = pkt ? av_read_frame(s->fmt, pkt) : AVERROR(ENOMEM);
        if (err == AVERROR(EAGAIN)) {
            av_packet_free(&pkt);
            break;
        }
        if (err < 0) {
            av_packet_free(&pkt);
            if (err != AVERROR_EOF && !atomic_load(&s->stop))
                input_failed(s, "read error", err);
            else if (err == AVERROR_EOF)
                check_truncated(s, s->read_end_s);
            end_input(s);
            return;
        }
        int slot = s->track_of_av_index[pkt->stream_index];
        if (slot < 0) {
            av_packet_free(&pkt);
            continue;
        }
        double end_s = packet_end_s(s, pkt);
        if (!isnan(end_s) && (isnan(s->read_end_s) || end_s > s->read_end_s)) {
            s->read_end_s = end_s;
            atomic_store(&s->read_media_time, end_s);
        }
        VqaInputItem *item = vqa_calloc(1, sizeof(*item));
        if (!item) {
            av_packet_free(&pkt);
            input_failed(s, "read", AVERROR(ENOMEM));
            end_input(s);
            return;
        }
        item->packet = pkt;
        item->track = slot;
        atomic_fetch_add(&s->packets_read, 1);
        vqa_stream_enqueue_input(s, item);
    }
    vqa_strand_kick(strand);
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
    avformat_close_input(&s->fmt);
}
