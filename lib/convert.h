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
    int even_factor;             /* VQA_DETECTOR_EVEN_PROXY: an odd box factor k >= 3 may be
                                    k + 1, made from the shared 2x2 sums */
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
 * A track's luma plane reduced once per picture to the sums of its 2x2
 * blocks, shared by that track's GRAY8 proxies: a proxy whose box factor is
 * even is made from this plane, a quarter of the picture, so several proxies
 * read the full-size picture once between them instead of once each, with
 * the same pixels (each output is still the rounded mean of its k x k
 * block). The bus keeps one per video track and calls vqa_luma_base_next()
 * before converting each picture; the plane is made by the first proxy that
 * needs it. Its buffer is kept from picture to picture (no allocation unless
 * the picture size grows).
 * Thread-safety: used by the one thread that converts the track's frames.
 */
typedef struct VqaLumaBase VqaLumaBase;

/** @return 0 or VQA_ERR(ENOMEM); *out is NULL on failure. */
int vqa_luma_base_open(VqaLumaBase **out);
/** Frees it and sets *b to NULL; NULL is accepted. Converters using it must not be used after. */
void vqa_luma_base_close(VqaLumaBase **b);
/** A new picture: the next proxy recomputes the plane. */
void vqa_luma_base_next(VqaLumaBase *b);
/** How many pictures it has reduced so far (once per picture however many proxies). */
int64_t vqa_luma_base_count(const VqaLumaBase *b);
/** Let c make its even-factor proxies from b (NULL: from the picture itself). b outlives c's use. */
void vqa_convert_set_luma_base(VqaConvert *c, VqaLumaBase *b);

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
