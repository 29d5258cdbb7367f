/*
 * libvqa — streams: inputs the context watches. A pull stream reads a URL or
 * path itself; a push stream receives pictures and samples the host decoded.
 */
#ifndef VQA_STREAM_H
#define VQA_STREAM_H

#include "common.h"
#include "frame.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct VqaContext VqaContext;

/**
 * One watched input.
 * Thread-safety: Safe. Every vqa_stream_* function may be called from any
 * thread, except that vqa_stream_remove must be the last call on a handle.
 */
typedef struct VqaStream VqaStream;

typedef struct VqaRational {
    int num, den;
} VqaRational;

/** VqaStreamSettings.audio_tracks / video_track special values */
enum {
    VQA_TRACKS_ALL = -1,  /**< audio_tracks: every audio track (default) */
    VQA_TRACK_FIRST = -1, /**< video_track: the first video track (default) */
    VQA_TRACK_NONE = -2,  /**< video_track / audio_tracks: none */
};

typedef struct VqaStreamSettings {
    /** The id used in events. Copied. Default NULL: the stream's index ("0", "1", …). */
    const char *id;
    /** Pull mode: the URL or path to open (copied). NULL (default): push mode. */
    const char *url;
    /**
     * Detectors and their options: "freeze:min_duration=1.5,black,silence".
     * Copied. Default NULL: every detector found, with its defaults.
     */
    const char *detectors;
    /** Decoder threads per track. Default 1 (best for many streams); 0 = FFmpeg's choice. */
    int decoder_threads;
    /** Video track: 0-based among video tracks, VQA_TRACK_FIRST (default) or VQA_TRACK_NONE. */
    int video_track;
    /** VQA_TRACKS_ALL (default), VQA_TRACK_NONE, or a single 0-based audio track index. */
    int audio_tracks;
    /**
     * Live input: when a detector falls behind, frames are dropped for it (and
     * counted) instead of holding the input back. Default 0: files — the
     * producer waits, nothing is dropped.
     */
    int live;
    /**
     * Push mode: when the queue is full, vqa_stream_push_* waits (default 1)
     * or returns VQA_ERR(EAGAIN) at once (0). Ignored for live streams, which drop.
     */
    int push_blocking;
    /** How much analysis the stream gets: VQA_COST_FULL (default), _LIGHT or _KEYFRAMES. */
    int cost;
    /**
     * Pull mode: decode video on this hardware device type ("vaapi", "cuda",
     * "qsv", … as FFmpeg names them, or "auto" for the first that works).
     * Copied. Default NULL: software. When the device cannot be opened the
     * stream decodes in software and says so in the log. Since: 1.1.
     */
    const char *hwaccel;
    uint8_t reserved[56]; /* keeps the struct at its 1.0 size */
} VqaStreamSettings;

/**
 * The cost dial (VqaStreamSettings.cost). Audio is always analysed in full:
 * it costs well under 1 % of a core per stream.
 * Since: 1.1.
 */
enum {
    /** Every frame decoded and analysed: every defect kind, frame-accurate. */
    VQA_COST_FULL = 0,
    /**
     * Frames nobody references (B-frames) are not decoded, and each video
     * detector sees at most VQA_COST_LIGHT_RATE_HZ frames per second.
     * Freeze, black and blur are found with edges within 1/5 s; block
     * corruption confined to skipped frames is missed; stream.gap is
     * detected on audio only.
     */
    VQA_COST_LIGHT = 1,
    /**
     * Only key frames are decoded: freeze and black are seen at key-frame
     * granularity (a freeze must span two key frames, edges are off by up to
     * one GOP); blockiness and blur see no useful input; stream.gap is
     * detected on audio only. A fraction of the decode cost.
     */
    VQA_COST_KEYFRAMES = 2,
};

/** The most frames per second a video detector sees at VQA_COST_LIGHT. */
#define VQA_COST_LIGHT_RATE_HZ 5.0

/** Fill settings with the defaults. Thread-safety: Safe. */
VQA_API void vqa_stream_default_settings(VqaStreamSettings *s);

/**
 * Add a stream and start it: a pull stream starts reading at once on the
 * context's I/O threads; a push stream waits for vqa_stream_push_*.
 *
 * The detector spec is checked before anything starts.
 * @param out receives the handle (owned by the caller until vqa_stream_remove;
 *            the context also frees it in vqa_close)
 * @return 0; VQA_ERR(EINVAL) for a bad spec (unknown detector or option, a
 *         value out of range: the reason is logged); VQA_ERR(ENOENT) when no
 *         detector is available; VQA_ERR(ENOMEM).
 *         Opening the input happens later: its failure is reported as a
 *         stream.error event and by vqa_stream_wait().
 */
VQA_API int vqa_stream_add(VqaContext *ctx, VqaStream **out, const VqaStreamSettings *s);

/** @return the stream's id (owned by the stream). */
VQA_API const char *vqa_stream_id(const VqaStream *s);

/**
 * Wait until the stream has ended and every detector has flushed.
 * @param timeout_ms < 0: wait for ever
 * @return 0 when the input was read to its end (defects found are not
 *         failures); VQA_ERR(ETIMEDOUT) if still running; the input's error
 *         (e.g. VQA_ERR(ENOENT), VQA_ERROR_INVALID_DATA) when it could not be
 *         opened or read completely; VQA_ERROR_STOPPED when stopped.
 */
VQA_API int vqa_stream_wait(VqaStream *s, int timeout_ms);

/**
 * Ask the stream to stop: reading ends, frames not yet analysed are dropped,
 * every detector is flushed so that open defects get their end events.
 * Returns at once; vqa_stream_wait tells when it is done. Idempotent.
 */
VQA_API void vqa_stream_stop(VqaStream *s);

/**
 * Stop (if running), wait for the end, and free the stream.
 * @param s the handle; set to NULL. NULL is a no-op.
 */
VQA_API void vqa_stream_remove(VqaStream **s);

/** A picture the host lends or gives to a push stream. */
typedef struct VqaPicture {
    VqaPixelFormat pix_fmt;
    int width, height;
    VqaColorRange range;
    const uint8_t *data[4];
    ptrdiff_t linesize[4];
    int64_t pts;             /**< presentation time in time_base units */
    VqaRational time_base;   /**< e.g. {1, 90000} */
    uint32_t flags;          /**< VQA_FRAME_KEY, VQA_FRAME_CORRUPT */
    /**
     * NULL: the library copies the pixels before returning. Otherwise the
     * library keeps the planes without a copy and calls free_cb(opaque) once,
     * from any thread, when no detector needs them any more.
     */
    void (*free_cb)(void *opaque);
    void *opaque;
    uint8_t reserved[32];
} VqaPicture;

/** Audio samples the host lends or gives to a push stream. */
typedef struct VqaSamples {
    VqaSampleFormat sample_fmt;
    int sample_rate;
    int channels;
    int nb_samples;                /**< per channel */
    const uint8_t *const *planes;  /**< `channels` planes if planar, else one */
    int track;                     /**< audio track index, 0 for the first */
    int64_t pts;
    VqaRational time_base;
    void (*free_cb)(void *opaque); /**< as in VqaPicture */
    void *opaque;
    uint8_t reserved[32];
} VqaSamples;

/**
 * Push one picture (push streams only). Pictures must come in presentation order.
 * @return 0; VQA_ERR(EAGAIN) when non-blocking and full; VQA_ERR(EINVAL) for
 *         a pull stream or a malformed picture; VQA_ERROR_STOPPED after
 *         stop/end. On any error free_cb is not called: the caller keeps the data.
 */
VQA_API int vqa_stream_push_picture(VqaStream *s, const VqaPicture *pic);

/** Push audio samples; as vqa_stream_push_picture. */
VQA_API int vqa_stream_push_samples(VqaStream *s, const VqaSamples *samples);

/**
 * Tell a push stream that no more input comes: detectors are flushed and
 * vqa_stream_wait returns 0 once they are done. @return 0 or VQA_ERR(EINVAL).
 */
VQA_API int vqa_stream_end(VqaStream *s);

/** Counters of a stream; a snapshot. */
typedef struct VqaStreamStats {
    int64_t packets_read;
    int64_t frames_decoded;     /**< video and audio frames out of the decoders (or pushed) */
    int64_t frames_analysed;    /**< frames handed to detectors, summed over detectors */
    int64_t frames_dropped;     /**< frames a detector did not get (live overload), summed */
    int64_t decode_errors;
    int64_t events;             /**< events emitted for this stream */
    double media_time;          /**< the latest media time seen, seconds */
    double duration;            /**< the container's duration, 0 if unknown */
    int finished;               /**< nonzero once vqa_stream_wait would return */
    uint8_t reserved[32];
} VqaStreamStats;

/** Read the counters. Thread-safety: Safe. */
VQA_API void vqa_stream_get_stats(VqaStream *s, VqaStreamStats *stats);

#ifdef __cplusplus
}
#endif

#endif /* VQA_STREAM_H */
