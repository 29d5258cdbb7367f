/*
 * Push mode: pictures and samples the host decoded, as VqaPicture /
 * VqaSamples or as AVFrames (include/vqa/libav.h). Everything becomes an
 * AVFrame, so pushed and pulled media share one path through the bus.
 * Lent memory is wrapped without a copy; the host's free callback runs once
 * the last detector has let go.
 */
#include <string.h>

#include <libavutil/imgutils.h>

#include "internal.h"
#include "mem.h"
#include "vqa/libav.h"

/* The host's free callback, armed only once the library owns the data:
 * on an error the caller keeps it, so freeing our wrapper must not call it. */
typedef struct LentMemory {
    void (*free_cb)(void *opaque);
    void *opaque;
    int armed;
} LentMemory;

static void lent_free(void *cookie, uint8_t *data)
{
    (void)data;
    LentMemory *lent = cookie;
    if (lent->armed)
        lent->free_cb(lent->opaque);
    vqa_free(lent);
}

static LentMemory *lend(AVFrame *frame, const uint8_t *data, void (*free_cb)(void *), void *opaque)
{
    LentMemory *lent = vqa_calloc(1, sizeof(*lent));
    if (!lent)
        return NULL;
    lent->free_cb = free_cb;
    lent->opaque = opaque;
    frame->buf[0] = av_buffer_create((uint8_t *)data, 1, lent_free, lent, AV_BUFFER_FLAG_READONLY);
    if (!frame->buf[0]) {
        vqa_free(lent);
        return NULL;
    }
    return lent;
}

static int push(VqaStream *s, AVFrame *frame, AVRational tb, VqaMediaType type, int track,
                LentMemory *lent)
{
    VqaInputItem *item = vqa_calloc(1, sizeof(*item));
    if (!item) {
        av_frame_free(&frame);
        return VQA_ERR(ENOMEM);
    }
    item->frame = frame;
    item->time_base = tb;
    item->type = type;
    item->track = track;
    if (lent)
        lent->armed = 1;
    int err = vqa_stream_push_item(s, item);
    if (err < 0) {
        if (lent)
            lent->armed = 0;
        vqa_input_item_free(item);
    }
    return err;
}

static int check_push(const VqaStream *s, VqaRational tb)
{
    if (!s || !s->push || tb.num <= 0 || tb.den <= 0)
        return VQA_ERR(EINVAL);
    return 0;
}

int vqa_stream_push_picture(VqaStream *s, const VqaPicture *pic)
{
    if (!pic || check_push(s, pic->time_base) < 0)
        return VQA_ERR(EINVAL);
    enum AVPixelFormat fmt = vqa_pix_fmt_to_av(pic->pix_fmt);
    if (fmt == AV_PIX_FMT_NONE || pic->width <= 0 || pic->height <= 0 || !pic->data[0] ||
        av_image_check_size((unsigned)pic->width, (unsigned)pic->height, 0, NULL) < 0)
        return VQA_ERR(EINVAL);
    AVFrame *frame = av_frame_alloc();
    if (!frame)
        return VQA_ERR(ENOMEM);
    frame->format = fmt;
    frame->width = pic->width;
    frame->height = pic->height;
    frame->pts = pic->pts;
    frame->color_range = pic->range == VQA_RANGE_FULL      ? AVCOL_RANGE_JPEG
                         : pic->range == VQA_RANGE_LIMITED ? AVCOL_RANGE_MPEG
                                                           : AVCOL_RANGE_UNSPECIFIED;
    frame->key_frame = !!(pic->flags & VQA_FRAME_KEY);
    if (pic->flags & VQA_FRAME_CORRUPT)
        frame->flags |= AV_FRAME_FLAG_CORRUPT;
    LentMemory *lent = NULL;
    if (pic->free_cb) {
        for (int i = 0; i < 4; i++) {
            frame->data[i] = (uint8_t *)pic->data[i];
            frame->linesize[i] = (int)pic->linesize[i];
        }
        lent = lend(frame, pic->data[0], pic->free_cb, pic->opaque);
        if (!lent) {
            av_frame_free(&frame);
            return VQA_ERR(ENOMEM);
        }
    } else {
        int linesize[4];
        for (int i = 0; i < 4; i++)
            linesize[i] = (int)pic->linesize[i];
        if (av_frame_get_buffer(frame, 0) < 0) {
            av_frame_free(&frame);
            return VQA_ERR(ENOMEM);
        }
        av_image_copy(frame->data, frame->linesize, (const uint8_t **)pic->data, linesize, fmt,
                      pic->width, pic->height);
    }
    AVRational tb = { pic->time_base.num, pic->time_base.den };
    return push(s, frame, tb, VQA_MEDIA_VIDEO, 0, lent);
}

static int fill_samples(AVFrame *frame, const VqaSamples *in, enum AVSampleFormat fmt,
                        LentMemory **lent)
{
    int planar = av_sample_fmt_is_planar(fmt);
    int nb_planes = planar ? in->channels : 1;
    if (in->free_cb && nb_planes <= AV_NUM_DATA_POINTERS) {
        for (int i = 0; i < nb_planes; i++)
            frame->data[i] = (uint8_t *)in->planes[i];
        frame->linesize[0] = in->nb_samples * av_get_bytes_per_sample(fmt) *
                             (planar ? 1 : in->channels);
        *lent = lend(frame, in->planes[0], in->free_cb, in->opaque);
        return *lent ? 0 : AVERROR(ENOMEM);
    }
    /* Copy (no free callback, or more planes than an AVFrame holds inline). */
    int err = av_frame_get_buffer(frame, 0);
    if (err < 0)
        return err;
    av_samples_copy(frame->extended_data, (uint8_t *const *)in->planes, 0, 0, in->nb_samples,
                    in->channels, fmt);
    return 0;
}

int vqa_stream_push_samples(VqaStream *s, const VqaSamples *in)
{
    if (!in || check_push(s, in->time_base) < 0)
        return VQA_ERR(EINVAL);
    enum AVSampleFormat fmt = vqa_sample_fmt_to_av(in->sample_fmt);
    if (fmt == AV_SAMPLE_FMT_NONE || in->sample_rate <= 0 || in->channels <= 0 ||
        in->channels > 64 || in->nb_samples <= 0 || !in->planes || in->track < 0 ||
        in->track >= 16)
        return VQA_ERR(EINVAL);
    for (int i = 0; i < (av_sample_fmt_is_planar(fmt) ? in->channels : 1); i++)
        if (!in->planes[i])
            return VQA_ERR(EINVAL);
    AVFrame *frame = av_frame_alloc();
    if (!frame)
        return VQA_ERR(ENOMEM);
    frame->format = fmt;
    frame->sample_rate = in->sample_rate;
    frame->nb_samples = in->nb_samples;
    frame->pts = in->pts;
    av_channel_layout_default(&frame->ch_layout, in->channels);
    LentMemory *lent = NULL;
    if (fill_samples(frame, in, fmt, &lent) < 0) {
        if (lent)
            lent->armed = 0;
        av_frame_free(&frame);
        return VQA_ERR(ENOMEM);
    }
    AVRational tb = { in->time_base.num, in->time_base.den };
    return push(s, frame, tb, VQA_MEDIA_AUDIO, in->track, lent);
}

int vqa_stream_push_avframe(VqaStream *s, const AVFrame *src, AVRational time_base, int track)
{
    if (!src || check_push(s, (VqaRational){ time_base.num, time_base.den }) < 0)
        return VQA_ERR(EINVAL);
    int video = src->width > 0 && src->height > 0;
    int audio = src->nb_samples > 0 && src->sample_rate > 0;
    if (video == audio || (audio && (track < 0 || track >= 16)))
        return VQA_ERR(EINVAL);
    AVFrame *frame = av_frame_clone(src); /* a new reference: no pixel is copied */
    if (!frame)
        return VQA_ERR(ENOMEM);
    return push(s, frame, time_base, video ? VQA_MEDIA_VIDEO : VQA_MEDIA_AUDIO,
                video ? 0 : track, NULL);
}
