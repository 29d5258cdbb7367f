/*
 * The report's second look at a file input, after the scan: the video frame
 * at each video defect's start, made small and JPEG-encoded for a data: URI,
 * and the audio level per window of each analysed audio track.
 *
 * Times follow the event contract: media seconds since the container's
 * start_time (else since the first timestamp seen), so a thumbnail is the
 * frame the detector saw at the event's t.
 *
 * Every pass runs under an interrupt callback that gives up when the scan's
 * signal watcher asks, or after REPORT_PASS_BUDGET_S of wall time, so a slow
 * disk cannot hold the tool for ever.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/base64.h>
#include <libavutil/pixdesc.h>
#include <libswscale/swscale.h>

#include "report.h"

/* Closer than this to the current position, decoding forward beats seeking. */
#define SEEK_AHEAD_S 2.0
/* JPEG quantiser scale for thumbnails (2 best … 31 worst). */
#define THUMB_QSCALE 4
/* No input needs more windows than this (a day at one second). */
#define MAX_WINDOWS 86400

typedef struct Pass {
    const Report *r;
    double deadline_s;
    int timed_out;
    int cancelled;
} Pass;

static double mono_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static int interrupt_cb(void *opaque)
{
    Pass *p = opaque;
    if (p->r->cancel && p->r->cancel(p->r->cancel_cookie))
        p->cancelled = 1;
    else if (mono_s() > p->deadline_s)
        p->timed_out = 1;
    return p->cancelled || p->timed_out;
}

/* "scheme:" at the front, as FFmpeg reads a URL; "" when there is none. */
static size_t scheme_length(const char *url)
{
    size_t n = strspn(url, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+.-");
    return n > 1 && url[n] == ':' ? n : 0;
}

int report_media_rereadable(const char *url, char *why, size_t why_size)
{
    const char *path = url;
    size_t scheme = scheme_length(url);
    if (scheme) {
        if (scheme != 4 || strncmp(url, "file", 4)) {
            snprintf(why, why_size, "thumbnails and levels are made for files only: a URL "
                                    "may not give the same media twice");
            return 0;
        }
        path = url + 5;
    }
    struct stat st;
    if (stat(path, &st) != 0 || !S_ISREG(st.st_mode)) {
        snprintf(why, why_size, "no thumbnails or levels: the input is not a regular file");
        return 0;
    }
    return 1;
}

static void set_note(char *note, size_t size, const char *what, int err)
{
    if (note[0])
        return;
    char text[128];
    av_strerror(err, text, sizeof(text));
    snprintf(note, size, "%s: %s", what, text);
}

static void pass_note(const Pass *p, char *note, size_t size, const char *what)
{
    if (p->cancelled)
        snprintf(note, size, "%s: interrupted", what);
    else if (p->timed_out)
        snprintf(note, size, "%s: stopped after %.0f s", what, REPORT_PASS_BUDGET_S);
}

static int open_file(AVFormatContext **out, const char *url, Pass *p)
{
    AVFormatContext *fmt = avformat_alloc_context();
    if (!fmt)
        return AVERROR(ENOMEM);
    fmt->interrupt_callback = (AVIOInterruptCB){ interrupt_cb, p };
    AVDictionary *opts = NULL;
    av_dict_set(&opts, "protocol_whitelist", "file", 0);
    int err = avformat_open_input(&fmt, url, NULL, &opts);
    av_dict_free(&opts);
    if (err < 0)
        return err; /* fmt is freed on failure */
    err = avformat_find_stream_info(fmt, NULL);
    if (err < 0) {
        avformat_close_input(&fmt);
        return err;
    }
    *out = fmt;
    return 0;
}

/* The nth stream of a type, counted as the library counts tracks. */
static int nth_stream(const AVFormatContext *fmt, enum AVMediaType type, int nth)
{
    for (unsigned i = 0; i < fmt->nb_streams; i++) {
        const AVStream *st = fmt->streams[i];
        if (st->codecpar->codec_type != type || (st->disposition & AV_DISPOSITION_ATTACHED_PIC))
            continue;
        if (nth-- == 0)
            return (int)i;
    }
    return -1;
}

static int open_decoder(AVCodecContext **out, const AVStream *st)
{
    const AVCodec *codec = avcodec_find_decoder(st->codecpar->codec_id);
    if (!codec)
        return AVERROR_DECODER_NOT_FOUND;
    AVCodecContext *dec = avcodec_alloc_context3(codec);
    if (!dec)
        return AVERROR(ENOMEM);
    int err = avcodec_parameters_to_context(dec, st->codecpar);
    if (err >= 0) {
        dec->pkt_timebase = st->time_base;
        dec->thread_count = 1; /* a few frames per thumbnail: threads only add delay */
        err = avcodec_open2(dec, codec, NULL);
    }
    if (err < 0) {
        avcodec_free_context(&dec);
        return err;
    }
    *out = dec;
    return 0;
}

static double frame_seconds(const AVFrame *f, AVRational tb)
{
    int64_t ts = f->best_effort_timestamp != AV_NOPTS_VALUE ? f->best_effort_timestamp : f->pts;
    return ts == AV_NOPTS_VALUE ? NAN : ts * av_q2d(tb);
}

/* ---- thumbnails ---- */

/* The thumbnail size: the picture's display aspect inside the thumbnail box. */
static void thumb_size(const AVFrame *f, int *w, int *h)
{
    double sar = f->sample_aspect_ratio.num > 0 && f->sample_aspect_ratio.den > 0
                     ? av_q2d(f->sample_aspect_ratio)
                     : 1.0;
    double dar = f->width * sar / f->height;
    double tw = REPORT_THUMB_MAX_W, th = tw / dar;
    if (th > REPORT_THUMB_MAX_H) {
        th = REPORT_THUMB_MAX_H;
        tw = th * dar;
    }
    *w = (int)(tw / 2 + 0.5) * 2;
    *h = (int)(th / 2 + 0.5) * 2;
    *w = *w < 2 ? 2 : *w;
    *h = *h < 2 ? 2 : *h;
}

static int scale_frame(const AVFrame *src, AVFrame *dst)
{
    struct SwsContext *sws =
        sws_getContext(src->width, src->height, src->format, dst->width, dst->height,
                       dst->format, SWS_BICUBIC, NULL, NULL, NULL);
    if (!sws)
        return AVERROR(EINVAL);
    /* swscale reads the range from the pixel format only: say what the frame says. */
    int *inv, *table, src_range, dst_range, bright, contrast, sat;
    if (sws_getColorspaceDetails(sws, &inv, &src_range, &table, &dst_range, &bright, &contrast,
                                 &sat) >= 0) {
        if (src->color_range == AVCOL_RANGE_JPEG)
            src_range = 1;
        sws_setColorspaceDetails(sws, inv, src_range, table, 1, bright, contrast, sat);
    }
    int err = sws_scale(sws, (const uint8_t *const *)src->data, src->linesize, 0, src->height,
                        dst->data, dst->linesize);
    sws_freeContext(sws);
    return err < 0 ? err : 0;
}

static int encode_jpeg(const AVFrame *pic, AVPacket *pkt)
{
    const AVCodec *codec = avcodec_find_encoder(AV_CODEC_ID_MJPEG);
    if (!codec)
        return AVERROR_ENCODER_NOT_FOUND;
    AVCodecContext *enc = avcodec_alloc_context3(codec);
    if (!enc)
        return AVERROR(ENOMEM);
    enc->width = pic->width;
    enc->height = pic->height;
    enc->pix_fmt = pic->format;
    enc->color_range = AVCOL_RANGE_JPEG;
    enc->time_base = (AVRational){ 1, 25 };
    enc->flags |= AV_CODEC_FLAG_QSCALE;
    enc->global_quality = FF_QP2LAMBDA * THUMB_QSCALE;
    int err = avcodec_open2(enc, codec, NULL);
    if (err >= 0)
        err = avcodec_send_frame(enc, pic);
    if (err >= 0)
        err = avcodec_receive_packet(enc, pkt);
    avcodec_free_context(&enc);
    return err;
}

/* Make the data: URI of a small JPEG of frame. */
static int thumbnail_uri(const AVFrame *frame, char **uri)
{
    static const char prefix[] = "data:image/jpeg;base64,";
    AVFrame *pic = av_frame_alloc();
    AVPacket *pkt = av_packet_alloc();
    int err = pic && pkt ? 0 : AVERROR(ENOMEM);
    if (err >= 0) {
        thumb_size(frame, &pic->width, &pic->height);
        pic->format = AV_PIX_FMT_YUVJ420P;
        pic->color_range = AVCOL_RANGE_JPEG;
        pic->quality = FF_QP2LAMBDA * THUMB_QSCALE;
        err = av_frame_get_buffer(pic, 0);
    }
    if (err >= 0)
        err = scale_frame(frame, pic);
    if (err >= 0)
        err = encode_jpeg(pic, pkt);
    if (err >= 0) {
        size_t b64 = AV_BASE64_SIZE((size_t)pkt->size);
        *uri = malloc(sizeof(prefix) - 1 + b64);
        if (!*uri) {
            err = AVERROR(ENOMEM);
        } else {
            memcpy(*uri, prefix, sizeof(prefix) - 1);
            av_base64_encode(*uri + sizeof(prefix) - 1, (int)b64, pkt->data, pkt->size);
        }
    }
    av_packet_free(&pkt);
    av_frame_free(&pic);
    return err;
}

typedef struct Thumbs {
    AVFormatContext *fmt;
    AVCodecContext *dec;
    int index;            /* the video stream */
    AVRational tb;
    double start_s;       /* the time origin; NAN until known */
    double tolerance_s;   /* half a frame */
    AVFrame *cur;         /* the latest frame decoded */
    double cur_t;
    int have_cur;
    int eof;              /* the decoder was drained */
    AVPacket *pkt;
} Thumbs;

/* Receive the next frame into t->cur. @return 0, AVERROR_EOF, or an error. */
static int next_frame(Thumbs *t)
{
    for (;;) {
        int err = avcodec_receive_frame(t->dec, t->cur);
        if (err >= 0) {
            double s = frame_seconds(t->cur, t->tb);
            if (isnan(s)) {
                s = t->have_cur ? t->cur_t + 2 * t->tolerance_s : 0;
            } else {
                if (isnan(t->start_s))
                    t->start_s = s; /* no container start: the first timestamp is the origin */
                s -= t->start_s;
            }
            t->cur_t = s;
            t->have_cur = 1;
            return 0;
        }
        if (err != AVERROR(EAGAIN) || t->eof)
            return err;
        err = av_read_frame(t->fmt, t->pkt);
        if (err == AVERROR_EOF) {
            t->eof = 1;
            avcodec_send_packet(t->dec, NULL);
            continue;
        }
        if (err < 0)
            return err;
        if (t->pkt->stream_index == t->index)
            avcodec_send_packet(t->dec, t->pkt); /* a broken packet only costs a frame */
        av_packet_unref(t->pkt);
    }
}

static void seek_to(Thumbs *t, double target_s)
{
    if (isnan(t->start_s))
        return; /* no origin to seek by: decode forward from where we are */
    int64_t ts = (int64_t)((target_s + t->start_s) * AV_TIME_BASE);
    if (avformat_seek_file(t->fmt, -1, INT64_MIN, ts, ts, 0) < 0)
        return;
    avcodec_flush_buffers(t->dec);
    t->have_cur = 0;
    t->eof = 0;
}

/* Leave in t->cur the first frame at or after target_s (or the last frame). */
static int frame_at(Thumbs *t, double target_s)
{
    if (t->have_cur && t->cur_t >= target_s - t->tolerance_s)
        return 0;
    if (t->have_cur ? target_s - t->cur_t > SEEK_AHEAD_S : target_s > SEEK_AHEAD_S)
        seek_to(t, target_s);
    AVFrame *last = av_frame_alloc();
    if (!last)
        return AVERROR(ENOMEM);
    int err;
    double last_t = 0;
    int have_last = 0;
    while ((err = next_frame(t)) >= 0 && t->cur_t < target_s - t->tolerance_s) {
        av_frame_unref(last);
        av_frame_move_ref(last, t->cur);
        last_t = t->cur_t;
        have_last = 1;
    }
    if (err == AVERROR_EOF && have_last) {
        /* The event is at the very end: show the last picture. */
        av_frame_unref(t->cur);
        av_frame_move_ref(t->cur, last);
        t->cur_t = last_t;
        t->have_cur = 1;
        err = 0;
    } else if (err < 0) {
        t->have_cur = 0;
    }
    av_frame_free(&last);
    return err;
}

static int thumbs_open(Thumbs *t, const char *url, Pass *p)
{
    memset(t, 0, sizeof(*t));
    t->start_s = NAN;
    int err = open_file(&t->fmt, url, p);
    if (err < 0)
        return err;
    t->index = nth_stream(t->fmt, AVMEDIA_TYPE_VIDEO, 0);
    if (t->index < 0)
        return AVERROR_STREAM_NOT_FOUND;
    AVStream *st = t->fmt->streams[t->index];
    for (unsigned i = 0; i < t->fmt->nb_streams; i++)
        t->fmt->streams[i]->discard = (int)i == t->index ? AVDISCARD_DEFAULT : AVDISCARD_ALL;
    t->tb = st->time_base;
    if (t->fmt->start_time != AV_NOPTS_VALUE)
        t->start_s = t->fmt->start_time / (double)AV_TIME_BASE;
    double fps = av_q2d(av_guess_frame_rate(t->fmt, st, NULL));
    t->tolerance_s = fps > 0 ? 0.5 / fps : 0.02;
    t->cur = av_frame_alloc();
    t->pkt = av_packet_alloc();
    if (!t->cur || !t->pkt)
        return AVERROR(ENOMEM);
    return open_decoder(&t->dec, st);
}

static void thumbs_close(Thumbs *t)
{
    av_frame_free(&t->cur);
    av_packet_free(&t->pkt);
    avcodec_free_context(&t->dec);
    avformat_close_input(&t->fmt);
}

int report_media_thumbnails(const char *url, ReportThumb *thumbs, size_t n, const Report *r,
                            char *note, size_t note_size)
{
    Pass pass = { r, mono_s() + REPORT_PASS_BUDGET_S, 0, 0 };
    Thumbs t;
    int err = thumbs_open(&t, url, &pass);
    if (err < 0)
        set_note(note, note_size, "no thumbnails", err);
    for (size_t i = 0; err >= 0 && i < n; i++) {
        if (frame_at(&t, thumbs[i].t) < 0)
            break; /* past the end, or the input failed: the rest stay without */
        thumbs[i].frame_t = t.cur_t;
        if (thumbnail_uri(t.cur, &thumbs[i].data_uri) < 0)
            thumbs[i].data_uri = NULL;
    }
    pass_note(&pass, note, note_size, "thumbnails");
    thumbs_close(&t);
    return err;
}

/* ---- audio levels ---- */

double report_level_window(double duration_s)
{
    static const double windows[] = { 0.1, 0.2, 0.5, 1, 2, 5, 10, 30, 60, 120, 300, 600 };
    size_t n = sizeof(windows) / sizeof(windows[0]);
    if (!(duration_s > 0))
        return 1.0;
    for (size_t i = 0; i < n; i++) {
        if (duration_s / windows[i] <= REPORT_MAX_LEVEL_POINTS)
            return windows[i];
    }
    return windows[n - 1];
}

typedef struct LevelTrack {
    ReportLevels *out;
    int index;            /* the stream */
    AVCodecContext *dec;
    AVRational tb;
    double next_t;        /* where the next frame starts if it has no timestamp */
    double *sum_sq;       /* per window, becomes out->rms_db */
    double *peak;         /* per window, becomes out->peak_db */
    int64_t *count;
    size_t cap;
} LevelTrack;

static int grow_windows(LevelTrack *lt, size_t need)
{
    if (need <= lt->cap)
        return 0;
    if (need > MAX_WINDOWS)
        return AVERROR(ERANGE);
    size_t cap = lt->cap ? lt->cap : 256;
    while (cap < need)
        cap *= 2;
    cap = cap > MAX_WINDOWS ? MAX_WINDOWS : cap;
    double *s = realloc(lt->sum_sq, cap * sizeof(*s));
    if (s)
        lt->sum_sq = s;
    double *p = realloc(lt->peak, cap * sizeof(*p));
    if (p)
        lt->peak = p;
    int64_t *c = realloc(lt->count, cap * sizeof(*c));
    if (c)
        lt->count = c;
    if (!s || !p || !c)
        return AVERROR(ENOMEM);
    for (size_t i = lt->cap; i < cap; i++) {
        lt->sum_sq[i] = lt->peak[i] = 0;
        lt->count[i] = 0;
    }
    lt->cap = cap;
    return 0;
}

/* Sample i of channel ch, as a fraction of full scale. */
static double sample_at(const AVFrame *f, int planar, enum AVSampleFormat packed, int channels,
                        int ch, int i)
{
    const uint8_t *base = f->extended_data[planar ? ch : 0];
    int k = planar ? i : i * channels + ch;
    switch (packed) {
    case AV_SAMPLE_FMT_U8: return (base[k] - 128) / 128.0;
    case AV_SAMPLE_FMT_S16: return ((const int16_t *)base)[k] / 32768.0;
    case AV_SAMPLE_FMT_S32: return ((const int32_t *)base)[k] / 2147483648.0;
    case AV_SAMPLE_FMT_S64: return ((const int64_t *)base)[k] / 9223372036854775808.0;
    case AV_SAMPLE_FMT_FLT: return ((const float *)base)[k];
    case AV_SAMPLE_FMT_DBL: return ((const double *)base)[k];
    default: return 0;
    }
}

static int add_frame(LevelTrack *lt, const AVFrame *f, double start_s)
{
    double t0 = frame_seconds(f, lt->tb);
    t0 = isnan(t0) ? lt->next_t : t0 - start_s;
    int channels = f->ch_layout.nb_channels;
    if (f->sample_rate <= 0 || channels <= 0)
        return 0;
    lt->next_t = t0 + (double)f->nb_samples / f->sample_rate;
    lt->out->channels = channels;
    lt->out->sample_rate = f->sample_rate;
    int planar = av_sample_fmt_is_planar(f->format);
    enum AVSampleFormat packed = av_get_packed_sample_fmt(f->format);
    double window = lt->out->window_s;
    for (int i = 0; i < f->nb_samples; i++) {
        double t = t0 + (double)i / f->sample_rate;
        if (t < 0)
            continue;
        size_t w = (size_t)(t / window);
        if (w >= MAX_WINDOWS)
            break; /* a timestamp far off: the plot ends here */
        int err = grow_windows(lt, w + 1);
        if (err < 0)
            return err;
        for (int ch = 0; ch < channels; ch++) {
            double v = sample_at(f, planar, packed, channels, ch, i);
            lt->sum_sq[w] += v * v;
            lt->peak[w] = fabs(v) > lt->peak[w] ? fabs(v) : lt->peak[w];
        }
        lt->count[w] += channels;
        lt->out->n = w + 1 > lt->out->n ? w + 1 : lt->out->n;
    }
    return 0;
}

static double to_db(double v)
{
    double db = v > 0 ? 20 * log10(v) : REPORT_LEVEL_FLOOR_DB;
    return db < REPORT_LEVEL_FLOOR_DB ? REPORT_LEVEL_FLOOR_DB : db;
}

/* Turn the sums into levels; the arrays move into the ReportLevels. */
static void finish_track(LevelTrack *lt)
{
    ReportLevels *out = lt->out;
    for (size_t w = 0; w < out->n; w++) {
        if (lt->count[w] == 0) {
            lt->sum_sq[w] = lt->peak[w] = NAN;
            continue;
        }
        lt->sum_sq[w] = to_db(sqrt(lt->sum_sq[w] / (double)lt->count[w]));
        lt->peak[w] = to_db(lt->peak[w]);
    }
    out->rms_db = lt->sum_sq;
    out->peak_db = lt->peak;
    lt->sum_sq = lt->peak = NULL;
    free(lt->count);
    lt->count = NULL;
}

static int decode_packet(LevelTrack *lt, const AVPacket *pkt, AVFrame *frame, double start_s)
{
    int err = avcodec_send_packet(lt->dec, pkt);
    if (err < 0 && err != AVERROR_EOF)
        return 0; /* a broken packet only costs its samples */
    while ((err = avcodec_receive_frame(lt->dec, frame)) >= 0) {
        err = add_frame(lt, frame, start_s);
        av_frame_unref(frame);
        if (err < 0)
            return err;
    }
    return err == AVERROR(EAGAIN) || err == AVERROR_EOF ? 0 : err;
}

static int read_levels(AVFormatContext *fmt, LevelTrack *lts, size_t n)
{
    AVPacket *pkt = av_packet_alloc();
    AVFrame *frame = av_frame_alloc();
    if (!pkt || !frame) {
        av_packet_free(&pkt);
        av_frame_free(&frame);
        return AVERROR(ENOMEM);
    }
    double start_s = fmt->start_time != AV_NOPTS_VALUE ? fmt->start_time / (double)AV_TIME_BASE
                                                       : 0;
    int err;
    while ((err = av_read_frame(fmt, pkt)) >= 0) {
        for (size_t i = 0; i < n && err >= 0; i++) {
            if (lts[i].dec && pkt->stream_index == lts[i].index)
                err = decode_packet(&lts[i], pkt, frame, start_s);
        }
        av_packet_unref(pkt);
        if (err < 0)
            break;
    }
    if (err == AVERROR_EOF) {
        err = 0;
        for (size_t i = 0; i < n && err >= 0; i++) {
            if (lts[i].dec)
                err = decode_packet(&lts[i], NULL, frame, start_s);
        }
    }
    av_packet_free(&pkt);
    av_frame_free(&frame);
    return err;
}

int report_media_levels(const char *url, double duration_s, ReportLevels *levels, size_t n,
                        const Report *r, char *note, size_t note_size)
{
    Pass pass = { r, mono_s() + REPORT_PASS_BUDGET_S, 0, 0 };
    AVFormatContext *fmt = NULL;
    LevelTrack *lts = calloc(n, sizeof(*lts));
    int err = lts ? open_file(&fmt, url, &pass) : AVERROR(ENOMEM);
    if (err < 0) {
        set_note(note, note_size, "no audio levels", err);
        free(lts);
        return err;
    }
    for (unsigned i = 0; i < fmt->nb_streams; i++)
        fmt->streams[i]->discard = AVDISCARD_ALL;
    for (size_t i = 0; i < n; i++) {
        lts[i].out = &levels[i];
        levels[i].window_s = report_level_window(duration_s);
        lts[i].index = nth_stream(fmt, AVMEDIA_TYPE_AUDIO, levels[i].track);
        if (lts[i].index < 0 || open_decoder(&lts[i].dec, fmt->streams[lts[i].index]) < 0)
            continue;
        fmt->streams[lts[i].index]->discard = AVDISCARD_DEFAULT;
        lts[i].tb = fmt->streams[lts[i].index]->time_base;
    }
    err = read_levels(fmt, lts, n);
    if (err < 0)
        set_note(note, note_size, "audio levels incomplete", err);
    pass_note(&pass, note, note_size, "audio levels");
    for (size_t i = 0; i < n; i++) {
        if (lts[i].cap)
            finish_track(&lts[i]);
        else
            levels[i].n = 0;
        free(lts[i].sum_sq);
        free(lts[i].peak);
        free(lts[i].count);
        avcodec_free_context(&lts[i].dec);
    }
    free(lts);
    avformat_close_input(&fmt);
    return err;
}
