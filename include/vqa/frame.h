/*
 * libvqa — the frames on the bus: immutable, reference-counted video pictures
 * and audio buffers, published once and read by every detector without a copy.
 */
#ifndef VQA_FRAME_H
#define VQA_FRAME_H

#include "common.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum VqaMediaType {
    VQA_MEDIA_NONE = 0,
    VQA_MEDIA_VIDEO = 1,
    VQA_MEDIA_AUDIO = 2,
} VqaMediaType;

/** Pixel formats a detector may ask for and a host may push. 8 bits per sample. */
typedef enum VqaPixelFormat {
    VQA_PIX_NONE = 0,
    VQA_PIX_GRAY8 = 1,   /**< luma only: the cheapest proxy, serves freeze and black */
    VQA_PIX_YUV420P = 2, /**< planar Y, U, V; chroma halved both ways */
    VQA_PIX_YUV422P = 3, /**< planar; chroma halved horizontally */
    VQA_PIX_YUV444P = 4, /**< planar; full chroma */
    VQA_PIX_NV12 = 5,    /**< Y plane, then interleaved U/V at half size */
    VQA_PIX_RGB24 = 6,   /**< packed R, G, B */
    VQA_PIX_RGBA = 7,    /**< packed R, G, B, A */
} VqaPixelFormat;

/** Sample formats. Planar ("P") formats have one plane per channel. */
typedef enum VqaSampleFormat {
    VQA_SAMPLE_NONE = 0,
    VQA_SAMPLE_S16 = 1,
    VQA_SAMPLE_S32 = 2,
    VQA_SAMPLE_FLT = 3,
    VQA_SAMPLE_S16P = 4,
    VQA_SAMPLE_S32P = 5,
    VQA_SAMPLE_FLTP = 6,
} VqaSampleFormat;

/** Whether 8-bit luma spans 16–235 (limited, "TV") or 0–255 (full, "PC"). */
typedef enum VqaColorRange {
    VQA_RANGE_UNSPECIFIED = 0, /**< treat as limited, the broadcast norm */
    VQA_RANGE_LIMITED = 1,
    VQA_RANGE_FULL = 2,
} VqaColorRange;

/** VqaFrame.flags */
enum {
    VQA_FRAME_KEY = 1 << 0,           /**< a key (intra) frame */
    VQA_FRAME_CORRUPT = 1 << 1,       /**< the decoder marked the frame corrupt */
    VQA_FRAME_DISCONTINUITY = 1 << 2, /**< media is missing before this frame (a gap) */
};

/** VqaFrame.decode_errors: what the decoder reported (FFmpeg's decode_error_flags). */
enum {
    VQA_DECODE_ERR_INVALID_BITSTREAM = 1 << 0,
    VQA_DECODE_ERR_MISSING_REFERENCE = 1 << 1,
    VQA_DECODE_ERR_CONCEALMENT_ACTIVE = 1 << 2,
    VQA_DECODE_ERR_DECODE_SLICES = 1 << 3,
};

/**
 * One video picture or one audio buffer.
 *
 * Published frames are immutable: nobody writes to them or their data once
 * they are on the bus. They are reference-counted; a detector that wants to
 * keep one beyond its process() call takes a reference (vqa_frame_ref) and
 * drops it later (vqa_frame_unref).
 *
 * Thread-safety: Safe to read from any thread; ref/unref are atomic.
 */
typedef struct VqaFrame {
    VqaMediaType type;
    int track;         /**< index among the stream's tracks of this type (audio track 0, 1, …) */
    int64_t index;     /**< sequence number of this frame within its track, from 0 */
    double t;          /**< media time in seconds relative to the stream's start (EVENTS.md) */
    double duration;   /**< seconds this frame lasts; 0 when unknown */
    uint32_t flags;    /**< VQA_FRAME_* */
    uint32_t decode_errors; /**< VQA_DECODE_ERR_* */

    /* video */
    VqaPixelFormat pix_fmt;
    int width, height;
    VqaColorRange range;
    int source_width, source_height; /**< size of the decoded picture this one was made from */
    const uint8_t *data[4];          /**< planes; unused ones NULL */
    ptrdiff_t linesize[4];           /**< bytes per row of each plane */

    /* audio */
    VqaSampleFormat sample_fmt;
    int sample_rate;
    int channels;
    int nb_samples;                      /**< samples per channel */
    const uint8_t *const *audio_planes;  /**< `channels` planes if planar, else one interleaved */

    uint8_t reserved[32];
} VqaFrame;

/**
 * Take a new reference to a frame.
 * @return frame itself (transfer full: the caller owns the new reference)
 */
VQA_API const VqaFrame *vqa_frame_ref(const VqaFrame *frame);

/**
 * Drop a reference; the frame is freed with its last reference.
 * @param frame pointer to the caller's reference; set to NULL. NULL or *frame == NULL is a no-op.
 */
VQA_API void vqa_frame_unref(const VqaFrame **frame);

/** @return bytes per sample of a format (per channel), 0 for NONE. */
VQA_API int vqa_sample_format_bytes(VqaSampleFormat fmt);

/** @return nonzero if the format is planar. */
VQA_API int vqa_sample_format_is_planar(VqaSampleFormat fmt);

/** @return a short name ("gray8", "yuv420p", …) or "none". */
VQA_API const char *vqa_pixel_format_name(VqaPixelFormat fmt);

/** @return a short name ("s16", "fltp", …) or "none". */
VQA_API const char *vqa_sample_format_name(VqaSampleFormat fmt);

#ifdef __cplusplus
}
#endif

#endif /* VQA_FRAME_H */
