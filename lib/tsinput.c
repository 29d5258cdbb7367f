/*
 * Transport checks on a pull input: an input whose protocol carries raw
 * bytes (or a .ts file) is opened through an AVIOContext of ours in front
 * of its own, which hands every byte to tsmon (tsmon.h) once and in order
 * before libavformat parses it. Reports become converter events through
 * the input queue, like the reader's other notes. See docs/ts-checks.md.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <libavutil/mem.h>

#include "clock.h"
#include "internal.h"
#include "logging.h"
#include "mem.h"
#include "tsmon.h"

#define TS_IO_BUFFER 32768
/* A read this far past the bytes fed is a seek, not a look at the file's tail. */
#define TS_SEEK_AHEAD_BYTES (64LL << 20)

/* Which inputs carry a raw byte stream that may be MPEG-TS. */
int vqa_tsinput_wanted(const VqaStream *s)
{
    const char *proto = avio_find_protocol_name(s->url);
    if (!proto)
        return 0;
    static const char *const byte_protocols[] = { "udp", "udplite", "tcp", "srt", "rtp", "unix" };
    for (size_t i = 0; i < sizeof(byte_protocols) / sizeof(byte_protocols[0]); i++)
        if (!strcmp(proto, byte_protocols[i]))
            return 1;
    const char *ext = strrchr(s->url, '.');
    return s->is_file && ext &&
           (!strcasecmp(ext, ".ts") || !strcasecmp(ext, ".m2ts") || !strcasecmp(ext, ".mts") ||
            !strcasecmp(ext, ".trp"));
}

/* tsmon's report: an interval start is back-dated by late_s; its end gets the duration. */
static void ts_report(void *opaque, const char *kind, VqaEventState state, VqaSeverity severity,
                      double value, double late_s, const char *details_json)
{
    VqaStream *s = opaque;
    /* A file's bytes are read far ahead of its packets: place on its own clock. */
    double position = vqa_tsmon_position_s(s->tsmon);
    int on_stream_clock = !isnan(position);
    double t = on_stream_clock ? position : atomic_load(&s->read_media_time);
    double duration = 0;
    size_t slot = 0, n = sizeof(s->ts_open_kind) / sizeof(s->ts_open_kind[0]);
    while (slot < n && s->ts_open_kind[slot] && strcmp(s->ts_open_kind[slot], kind))
        slot++;
    if (state == VQA_EVENT_START) {
        t -= late_s;
        if (slot < n) {
            s->ts_open_kind[slot] = kind;
            s->ts_open_t[slot] = t;
        }
    } else if (state == VQA_EVENT_END && slot < n && s->ts_open_kind[slot]) {
        t = fmax(t, s->ts_open_t[slot]);
        duration = t - s->ts_open_t[slot];
        s->ts_open_kind[slot] = NULL;
    }
    VqaInputNote *note = vqa_calloc(1, sizeof(*note));
    char *copy = vqa_strdup(details_json);
    if (!note || !copy) {
        vqa_free(note);
        vqa_free(copy);
        vqa_log(s->log, VQA_LOG_ERROR, "stream %s: out of memory: %s event lost", s->id, kind);
        return;
    }
    *note = (VqaInputNote){ .kind = kind, .state = state, .t = t, .duration = duration,
                            .value = value, .has_value = 1, .severity = severity,
                            .details = copy, .on_stream_clock = on_stream_clock };
    vqa_demux_send_note(s, note);
}

/*
 * Feed bytes read at offset pos, each byte once and in order: the demuxer
 * seeks back after probing (bytes seen again are skipped) and a file's
 * duration estimate reads its tail before the middle (bytes ahead of what was
 * fed wait until they are read in order). Only a read that stays far ahead
 * is a real seek: the checks then start afresh there.
 */
static void ts_feed(VqaStream *s, const uint8_t *buf, int n, int64_t pos)
{
    pthread_mutex_lock(&s->ts_lock);
    if (!s->ts_closed && s->tsmon) {
        if (pos > s->ts_fed_to && pos - s->ts_fed_to > TS_SEEK_AHEAD_BYTES) {
            vqa_tsmon_reset(s->tsmon);
            s->ts_fed_to = pos;
        }
        if (pos > s->ts_fed_to) {
            pthread_mutex_unlock(&s->ts_lock);
            return;
        }
        int64_t skip = s->ts_fed_to - pos;
        if (skip < n) {
            vqa_tsmon_feed(s->tsmon, buf + skip, (size_t)(n - skip), vqa_monotonic_s());
            s->ts_fed_to = pos + n;
        }
    }
    pthread_mutex_unlock(&s->ts_lock);
}

static int ts_read(void *opaque, uint8_t *buf, int size)
{
    VqaStream *s = opaque;
    int64_t pos = avio_tell(s->ts_inner);
    int n = avio_read_partial(s->ts_inner, buf, size);
    if (n > 0)
        ts_feed(s, buf, n, pos);
    return n == 0 ? AVERROR_EOF : n;
}

static int64_t ts_seek(void *opaque, int64_t offset, int whence)
{
    VqaStream *s = opaque;
    if (whence == AVSEEK_SIZE)
        return avio_size(s->ts_inner);
    return avio_seek(s->ts_inner, offset, whence & ~AVSEEK_FORCE);
}

/* Close the checks of this connection: open intervals end (before a reconnect or the end). */
void vqa_tsinput_reset(VqaStream *s, int for_good)
{
    pthread_mutex_lock(&s->ts_lock);
    if (s->tsmon && !s->ts_closed)
        vqa_tsmon_reset(s->tsmon);
    s->ts_fed_to = 0;
    s->ts_closed |= for_good;
    pthread_mutex_unlock(&s->ts_lock);
}

void vqa_tsinput_close(VqaStream *s)
{
    if (s->ts_pb) {
        av_freep(&s->ts_pb->buffer);
        avio_context_free(&s->ts_pb);
    }
    avio_closep(&s->ts_inner);
}

/*
 * Open the input's own I/O and put an AVIOContext in front of it that feeds
 * every byte to the transport checks. @return 0 (fmt->pb set), or an AVERROR.
 */
int vqa_tsinput_open(VqaStream *s, AVFormatContext *fmt, const AVDictionary *opts)
{
    if (!s->tsmon) {
        VqaTsMon *m = vqa_tsmon_alloc(ts_report, s);
        VqaTsMonSettings set;
        vqa_tsmon_default_settings(&set);
        /* a file is read faster or slower than real time: its own clock times it */
        set.clock = s->is_file ? VQA_TS_CLOCK_PCR : VQA_TS_CLOCK_WALL;
        set.log = s->log;
        if (!m || vqa_tsmon_configure(m, &set) < 0) {
            vqa_tsmon_free(&m);
            return AVERROR(ENOMEM);
        }
        pthread_mutex_lock(&s->ts_lock); /* the watch thread ticks it from now on */
        s->tsmon = m;
        pthread_mutex_unlock(&s->ts_lock);
    }
    AVDictionary *io_opts = NULL;
    av_dict_copy(&io_opts, opts, 0);
    av_dict_set(&io_opts, "protocol_whitelist", s->protocols, 0);
    int err = avio_open2(&s->ts_inner, s->url, AVIO_FLAG_READ, &fmt->interrupt_callback,
                         &io_opts);
    av_dict_free(&io_opts);
    if (err < 0)
        return err;
    uint8_t *buffer = av_malloc(TS_IO_BUFFER);
    s->ts_pb = buffer ? avio_alloc_context(buffer, TS_IO_BUFFER, 0, s, ts_read, NULL,
                                           s->ts_inner->seekable ? ts_seek : NULL)
                      : NULL;
    if (!s->ts_pb) {
        av_free(buffer);
        vqa_tsinput_close(s);
        return AVERROR(ENOMEM);
    }
    s->ts_pb->seekable = s->ts_inner->seekable;
    pthread_mutex_lock(&s->ts_lock);
    s->ts_fed_to = 0;
    pthread_mutex_unlock(&s->ts_lock);
    fmt->pb = s->ts_pb;
    fmt->flags |= AVFMT_FLAG_CUSTOM_IO;
    return 0;
}

void vqa_tsinput_tick(VqaStream *s, double now_s)
{
    pthread_mutex_lock(&s->ts_lock);
    if (s->tsmon && !s->ts_closed)
        vqa_tsmon_tick(s->tsmon, now_s);
    pthread_mutex_unlock(&s->ts_lock);
}

void vqa_tsinput_free(VqaStream *s)
{
    vqa_tsmon_free(&s->tsmon);
}
