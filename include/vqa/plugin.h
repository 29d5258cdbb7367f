/*
 * libvqa — the detector plugin ABI.
 *
 * A plugin is a shared module that exports one function, vqa_plugin_entry_v1
 * (the name carries the ABI major), returning a descriptor that lists its
 * detector classes. Use VQA_PLUGIN_DEFINE to export it. A plugin links
 * nothing from libvqa: it logs, emits events and keeps frames only through
 * the host functions in VqaDetectorContext.host.
 *
 * Versioning promises for ABI major 1:
 *  - VqaPluginDesc, VqaDetectorClass, VqaHostApi, VqaDetectorContext and
 *    VqaStreamInfo begin with their own size. New fields are only ever added
 *    at the end. The host copies a class into a zeroed struct of its own
 *    size, so fields a plugin did not know read as 0/NULL; it refuses a
 *    class larger than it knows (built for a newer minor) and one too small
 *    to hold the required callbacks.
 *  - A plugin built for a newer ABI minor than the host's is refused.
 *  - No signature changes: a changed callback gets a new name (process2).
 *
 * Lifecycle of one detector instance (one per stream and track):
 *   init(ctx, info) → process(ctx, frame)… → flush(ctx) → close(ctx)
 * close() runs even when init() failed, so it must cope with a partly set-up
 * state (the private state starts zeroed, with options filled in).
 *
 * Threading: calls for one instance never overlap and come from the
 * context's compute workers (any of them, one at a time). Frames arrive in
 * media-time order. Different instances run concurrently, so a plugin keeps
 * no mutable global state.
 */
#ifndef VQA_PLUGIN_H
#define VQA_PLUGIN_H

#include <stdarg.h>

#include "common.h"
#include "event.h"
#include "frame.h"
#include "log.h"
#include "options.h"

#ifdef __cplusplus
extern "C" {
#endif

#define VQA_PLUGIN_ABI_MAJOR 1
#define VQA_PLUGIN_ABI_MINOR 1
/** Name of the entry symbol for this ABI major. */
#define VQA_PLUGIN_ENTRY_NAME "vqa_plugin_entry_v1"

#if defined(_WIN32)
#define VQA_PLUGIN_EXPORT __declspec(dllexport)
#elif defined(__GNUC__) && __GNUC__ >= 4
#define VQA_PLUGIN_EXPORT __attribute__((visibility("default")))
#else
#define VQA_PLUGIN_EXPORT
#endif

typedef struct VqaDetectorContext VqaDetectorContext;

/** What a detector wants to receive; the converter makes it once per distinct format. */
typedef struct VqaInputSpec {
    VqaMediaType type;          /**< VIDEO or AUDIO (required) */
    VqaPixelFormat pix_fmt;     /**< video: the format to deliver (required) */
    int max_width, max_height;  /**< video: scale down (keeping aspect) to fit; 0 = full size */
    double max_rate_hz;         /**< deliver at most this many frames per second; 0 = every frame */
    VqaSampleFormat sample_fmt; /**< audio: the format to deliver (required) */
    int sample_rate;            /**< audio: resample to this rate; 0 = as decoded */
    int channels;               /**< audio: remix to this many channels; 0 = as decoded */
} VqaInputSpec;

/** What an instance is told at init(). */
typedef struct VqaStreamInfo {
    uint32_t struct_size;
    const char *stream_id;
    VqaMediaType type;
    int track;             /**< index among the stream's tracks of this type */
    int live;              /**< nonzero for a live input (frames may be dropped under overload) */
    double frame_rate;     /**< video: nominal frames per second, 0 if unknown */
    int width, height;     /**< video: size of the first frames delivered (it may change) */
    VqaColorRange range;   /**< video */
    int sample_rate;       /**< audio: rate of the buffers delivered */
    int channels;          /**< audio: channels of the buffers delivered */
    uint8_t reserved[32];
} VqaStreamInfo;

/**
 * One event from a detector. The host fills in the stream id and detector
 * name, checks the pairing (every START gets exactly one END; an END without
 * START or a second START for an open kind is dropped with a warning),
 * computes `duration` of an END itself, and closes whatever is still open
 * after flush() at the last media time seen with details {"closed_by":"eos"}.
 */
typedef struct VqaDetection {
    const char *kind;          /**< e.g. "video.freeze" */
    VqaEventState state;
    double t;                  /**< media time the state begins (a START is back-dated to onset) */
    double value;
    int has_value;
    VqaSeverity severity;      /**< 0 means WARNING */
    const char *details_json;  /**< a JSON object or NULL; copied by the host */
} VqaDetection;

/** Functions the host gives every instance. Check struct_size before using a later field. */
typedef struct VqaHostApi {
    uint32_t struct_size;
    /** Log through the context's logger. Thread: the calling worker. */
    void (*log)(VqaDetectorContext *ctx, VqaLogLevel level, const char *fmt, va_list args);
    /** Report an event. @return 0, or VQA_ERR(EINVAL) if it breaks the pairing rules. */
    int (*emit)(VqaDetectorContext *ctx, const VqaDetection *detection);
    /** Keep a frame beyond process(): transfer full. */
    const VqaFrame *(*frame_ref)(const VqaFrame *frame);
    /** Drop a kept frame; sets *frame to NULL. */
    void (*frame_unref)(const VqaFrame **frame);
} VqaHostApi;

/** The host's handle for one detector instance. Owned by the host. */
struct VqaDetectorContext {
    uint32_t struct_size;
    const VqaHostApi *host;     /**< never NULL */
    void *priv;                 /**< the class's priv_size bytes: zeroed, then options stored */
    const VqaStreamInfo *info;  /**< valid from init() to close() */
};

/** VqaDetectorClass.flags */
enum {
    /** Needs frames in order and one at a time (the host currently always does so). */
    VQA_DETECTOR_TEMPORAL = 1 << 0,
    /**
     * A somewhat smaller GRAY8 proxy serves this detector as well as the one
     * its max_width/max_height ask for. Where fitting them takes an odd
     * reduction factor k >= 3 (320 px from 854x480: k = 3), the host may
     * reduce by k + 1 instead (213x120), which it makes from the 2x2 block
     * sums it already shares between a track's proxies rather than by
     * reading the full picture once more. For detectors that measure shares
     * of the picture (black, freeze), not fine detail. A host that does not
     * know the flag delivers the k proxy.
     */
    VQA_DETECTOR_EVEN_PROXY = 1 << 1,
};

/**
 * A detector class: a sized vtable. Plugins declare it `static const`.
 * Required: name, input.type, process. The rest may be 0/NULL.
 */
typedef struct VqaDetectorClass {
    uint32_t struct_size;        /**< sizeof(VqaDetectorClass) as the plugin was built */
    const char *name;            /**< unique: [a-z0-9_-]+, e.g. "freeze" */
    const char *description;     /**< one line */
    const char *const *kinds;    /**< NULL-terminated list of the kinds it emits */
    uint32_t flags;              /**< VQA_DETECTOR_* */
    size_t priv_size;            /**< bytes of private state the host allocates (zeroed) */
    const VqaOption *options;    /**< table ending with a NULL name, or NULL */
    VqaInputSpec input;

    /** Prepare an instance. @return 0 or a negative error (the instance is then closed). */
    int (*init)(VqaDetectorContext *ctx);
    /**
     * Analyse one frame (immutable; valid during the call, take a ref to keep it).
     * @return 0, or a negative error: the instance is then flushed and closed,
     *         and the failure is reported as a stream.error event.
     */
    int (*process)(VqaDetectorContext *ctx, const VqaFrame *frame);
    /** The input ended or was stopped: report what is pending, end what is open. */
    int (*flush)(VqaDetectorContext *ctx);
    /** Free everything the instance holds. Runs even if init() failed. */
    void (*close)(VqaDetectorContext *ctx);

    /* ---- ABI 1.1 ---- */

    /**
     * A second input, of the other media type, for detectors that look at
     * picture and sound together (A/V sync). type VQA_MEDIA_NONE (the
     * default, and what a 1.0 plugin reads as) means none. With it the host
     * makes one instance per stream, fed with the first video track and the
     * first audio track through the same process(), in decoding order
     * (roughly media-time order; frame->type tells them apart). Since: ABI 1.1.
     */
    VqaInputSpec input2;
} VqaDetectorClass;

/** What the entry function returns. Static storage owned by the plugin. */
typedef struct VqaPluginDesc {
    uint32_t struct_size;        /**< sizeof(VqaPluginDesc) as the plugin was built */
    uint32_t abi_minor;          /**< VQA_PLUGIN_ABI_MINOR the plugin was built with */
    const char *name;            /**< plugin name, e.g. "freeze" */
    const char *version;         /**< the plugin's own version */
    const char *license;         /**< SPDX identifier */
    const char *description;
    const VqaDetectorClass *const *detectors; /**< NULL-terminated, at least one */
} VqaPluginDesc;

/** The entry function's type. */
typedef const VqaPluginDesc *(*VqaPluginEntryFn)(void);

/** Export `desc` (a VqaPluginDesc object) as this module's plugin descriptor. */
#define VQA_PLUGIN_DEFINE(desc)                                                 \
    VQA_PLUGIN_EXPORT const VqaPluginDesc *vqa_plugin_entry_v1(void);          \
    VQA_PLUGIN_EXPORT const VqaPluginDesc *vqa_plugin_entry_v1(void) { return &(desc); }

/**
 * Export a plugin made of one detector class, the common case: defines the
 * class list, the descriptor and the entry function. For example
 *
 *     VQA_PLUGIN_DEFINE_DETECTOR(black_class, "black", "1.0.0", "BSD-2-Clause",
 *                                "black picture detection")
 *
 * A plugin with several classes writes its VqaPluginDesc and uses
 * VQA_PLUGIN_DEFINE. (C, or C++20 for the designated initialisers.)
 */
#define VQA_PLUGIN_DEFINE_DETECTOR(cls, plugin_name, plugin_version, plugin_license,       \
                                   plugin_description)                                   \
    static const VqaDetectorClass *const vqa_plugin_detectors_[] = { &(cls), NULL };    \
    static const VqaPluginDesc vqa_plugin_desc_ = {                                      \
        .struct_size = sizeof(VqaPluginDesc),                                            \
        .abi_minor = VQA_PLUGIN_ABI_MINOR,                                               \
        .name = (plugin_name),                                                           \
        .version = (plugin_version),                                                     \
        .license = (plugin_license),                                                     \
        .description = (plugin_description),                                             \
        .detectors = vqa_plugin_detectors_,                                              \
    };                                                                                   \
    VQA_PLUGIN_DEFINE(vqa_plugin_desc_)

/* Convenience wrappers for plugin code. */

#if defined(__GNUC__)
__attribute__((format(printf, 3, 4)))
#endif
static inline void vqa_detector_log(VqaDetectorContext *ctx, VqaLogLevel level,
                                    const char *fmt, ...)
{
    va_list args;
    va_start(args, fmt);
    ctx->host->log(ctx, level, fmt, args);
    va_end(args);
}

/** Emit a START, END or INSTANT with a value and optional details. */
static inline int vqa_detector_emit(VqaDetectorContext *ctx, const char *kind,
                                    VqaEventState state, double t, double value,
                                    VqaSeverity severity, const char *details_json)
{
    VqaDetection d = { kind, state, t, value, 1, severity, details_json };
    return ctx->host->emit(ctx, &d);
}

#ifdef __cplusplus
}
#endif

#endif /* VQA_PLUGIN_H */
