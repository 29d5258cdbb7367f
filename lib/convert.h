/*
 * Format conversion for the bus: one VqaConvert per (track, distinct format
 * a detector asked for). It turns a decoded AVFrame into a VqaFrame in that
 * format — without a copy when the formats already agree, through a cheap
 * luma box decimation for GRAY8 proxies, through swscale/swresample
 * otherwise — with pooled buffers, no per-frame allocation of pixel memory.
 */
#ifndef VQA_LIB_CONVERT_H
#define VQA_LIB_CONVERT_H

#include <libavutil/frame.h>
#include <libavutil/pixfmt.h>
#include <libavutil/samplefmt.h>

#include "vqa/frame.h"
#include "vqa/log.h"

/** A distinct output format: detectors whose InputSpec maps to equal keys share frames. */
typedef struct VqaFormatKey {
    VqaMediaType type;
    /* video */
    VqaPixelFormat pix_fmt;
    int max_width, max_height;   /* 0 = no limit */
    /* audio */
    VqaSampleFormat sample_fmt;
    int sample_rate;             /* 0 = as decoded */
    int channels;                /* 0 = as decoded */
} VqaFormatKey;

int vqa_format_key_equal(const VqaFormatKey *a, const VqaFormatKey *b);

typedef struct VqaConvert VqaConvert;

int vqa_convert_open(VqaConvert **out, const VqaFormatKey *key, const VqaLogger *log);
void vqa_convert_close(VqaConvert **c);

/**
 * Convert one decoded video frame. Output size: the source size scaled down
 * (never up), keeping the display aspect, to fit max_width x max_height.
 * Sets out->pix_fmt/width/height/range/source_width/source_height/data/
 * linesize and t = `t`, duration, flags (VQA_FRAME_KEY, VQA_FRAME_CORRUPT from
 * src), decode_errors (src->decode_error_flags). The caller sets track/index.
 * @param src not modified; the result may keep a reference to its buffers
 * @param out receives a new frame with one reference (caller owns it)
 * @return 0, VQA_ERR(ENOMEM), VQA_ERR(EINVAL) for a source format that
 *         cannot be converted.
 */
int vqa_convert_video(VqaConvert *c, const AVFrame *src, double t, double duration,
                      VqaFrame **out);

/**
 * Convert one decoded audio frame (src == NULL drains a resampler at the end).
 * out->t is the media time of the first output sample (src's t minus the
 * resampler's delay). Sets *out = NULL when no samples are ready yet.
 * @return 0, VQA_ERR(ENOMEM), VQA_ERR(EINVAL).
 */
int vqa_convert_audio(VqaConvert *c, const AVFrame *src, double t, VqaFrame **out);

/* Mapping between our enums and FFmpeg's; AV_PIX_FMT_NONE / AV_SAMPLE_FMT_NONE if none. */
enum AVPixelFormat vqa_pix_fmt_to_av(VqaPixelFormat f);
VqaPixelFormat vqa_pix_fmt_from_av(enum AVPixelFormat f);
enum AVSampleFormat vqa_sample_fmt_to_av(VqaSampleFormat f);
VqaSampleFormat vqa_sample_fmt_from_av(enum AVSampleFormat f);

#endif
