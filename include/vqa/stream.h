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
    /**
     * Live pull inputs: seconds without any data before a stream.stall event
     * starts (wall clock). 0 (default): 2.0 s; < 0: no stall events.
     * Since: 1.2.
     */
    double stall_timeout;
    /**
     * Pull inputs: seconds an open or a read may wait for data before it is
     * abandoned as failed (then reconnected if `reconnect` allows).
     * 0 (default): 10 s for live inputs, none for files; < 0: none.
     * Since: 1.2.
     */
    double io_timeout;
    /**
     * The longest wait between reconnect attempts, seconds. Attempts back off
     * exponentially from 0.5 s up to this. 0 (default): 30 s. Since: 1.2.
     */
    double reconnect_max_delay;
    /**
     * Comma-separated protocols the input and everything it refers to (HLS
     * segments, keys) may be read through, as FFmpeg names them
     * ("http,https,tcp,tls,crypto"). Copied. Default NULL: every protocol
     * libvqa knows for a local path; for a network URL the same without
     * file, pipe and data, so a remote playlist cannot read local files.
     * Since: 1.2.
     */
    const char *protocols;
    /**
     * FFmpeg options for opening the input, "key=value:key=value" (e.g.
     * "listen=1" or "user_agent=probe"). Copied. Default NULL. Since: 1.2.
     */
    const char *input_options;
    /**
     * Pull inputs: how often to reopen an input that failed, timed out or
     * ended: 0 (default) never, N times, or VQA_RECONNECT_FOREVER. A live
     * input that ends is reopened too (a server restart); a file that ends
     * has ended. Since: 1.2.
     */
    int reconnect;
    /**
     * Pull inputs: read at the media's own speed (like `ffmpeg -re`), so a
     * file behaves as a live channel. Default 0. Since: 1.2.
     */
    int realtime;
    uint8_t reserved[8]; /* keeps the struct at its 1.0 size */
} VqaStreamSettings;

/** VqaStreamSettings.reconnect: reopen a failed input for as long as the stream runs. */
#define VQA_RECONNECT_FOREVER (-1)

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
    /** Since 1.2: the input's VqaInputState. */
    int state;
    /** Since 1.2: how often the input was reopened. */
    int reconnects;
    /**
     * Since 1.2: how far analysis is behind the input, seconds of media: the
     * latest media time read minus the latest media time every detector has
     * finished. Near 0 when analysis keeps up.
     */
    double latency;
    uint8_t reserved[16];
} VqaStreamStats;

/** VqaStreamStats.state. Since: 1.2. */
typedef enum VqaInputState {
    VQA_INPUT_OPENING = 0,      /**< opening the input (or waiting for the first push) */
    VQA_INPUT_RUNNING = 1,      /**< media flows */
    VQA_INPUT_STALLED = 2,      /**< a live input delivered nothing for the stall timeout */
    VQA_INPUT_RECONNECTING = 3, /**< waiting to reopen a failed input */
    VQA_INPUT_ENDED = 4,        /**< the input ended, failed for good or was stopped */
} VqaInputState;

/** @return a short name for a state ("opening", "running", …). Since: 1.2. */
VQA_API const char *vqa_input_state_name(int state);

/** Read the counters. Thread-safety: Safe. */
VQA_API void vqa_stream_get_stats(VqaStream *s, VqaStreamStats *stats);

/** Counters of one detector instance of a stream; a snapshot. Since: 1.2. */
typedef struct VqaDetectorStats {
    char name[64];              /**< the detector's name */
    int track;                  /**< 0-based among tracks of its type */
    VqaMediaType type;          /**< the track's type */
    int64_t frames_analysed;    /**< frames it processed */
    int64_t frames_dropped;     /**< frames it missed under live overload */
    double cpu_seconds;         /**< thread CPU time of its strand: its callbacks and their queue */
    double media_time;          /**< end of the latest frame it processed, seconds */
    uint8_t reserved[32];
} VqaDetectorStats;

/**
 * Read the counters of the i-th detector instance. Instances start with the
 * first frame of their track, so their number can grow while the stream runs.
 * @return 0, or VQA_ERR(ERANGE) when i is past the last instance.
 * Thread-safety: Safe. Since: 1.2.
 */
VQA_API int vqa_stream_get_detector_stats(VqaStream *s, size_t i, VqaDetectorStats *stats);

#ifdef __cplusplus
}
#endif

#endif /* VQA_STREAM_H */
