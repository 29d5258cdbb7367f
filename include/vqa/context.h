/*
 * libvqa — the context: a worker pool, the plugins found, the event callback
 * and the logger, shared by every stream added to it.
 */
#ifndef VQA_CONTEXT_H
#define VQA_CONTEXT_H

#include "common.h"
#include "event.h"
#include "log.h"
#include "plugin.h"
#include "stream.h"

#ifdef __cplusplus
extern "C" {
#endif

/**
 * Receives every event of every stream of the context.
 * Called from a compute worker or an I/O thread of the context, never from
 * two threads at once (calls are serialised per context), so the callback
 * may write to a file without locking. It must not block for long (it holds
 * up the stream's analysis) and must not call vqa_stream_remove or vqa_close.
 */
typedef void (*VqaEventCallback)(void *cookie, const VqaEvent *event);

typedef struct VqaSettings {
    /** Compute workers shared by all streams. Default 0: one per core. */
    int n_threads;
    /** Threads for opening and reading inputs (never used for analysis). Default 0: 2. */
    int n_io_threads;
    /** Frames queued per detector before the input waits (files) or drops (live). Default 16. */
    int queue_frames;
    VqaLogger logger;                /**< default: no callback, level WARNING */
    VqaEventCallback on_event;       /**< default NULL: events are counted but go nowhere */
    void *event_cookie;
    /**
     * Plugin directories searched first, in order (NULL-terminated array of
     * paths; copied). Then VQA_PLUGIN_PATH (colon-separated), then the
     * installed directory (overridden by VQA_PLUGIN_SYSTEM_PATH; an empty
     * value disables it). A plugin name found earlier wins.
     */
    const char *const *plugin_paths;
    uint8_t reserved[64];
} VqaSettings;

/**
 * A monitoring context.
 * Thread-safety: Safe. Streams may be added and removed from any thread.
 */
typedef struct VqaContext VqaContext;

/** Fill settings with the defaults. Thread-safety: Safe. */
VQA_API void vqa_default_settings(VqaSettings *s);

/**
 * Create a context: start its threads and load the plugins. A plugin that
 * fails to load is logged and listed by vqa_plugin_failure_get; it never
 * makes this fail.
 * @param out receives the context (owned by the caller; free with vqa_close)
 * @return 0, VQA_ERR(EINVAL) for bad settings, VQA_ERR(ENOMEM), or VQA_ERR(EAGAIN)
 *         when threads could not be started.
 */
VQA_API int vqa_open(VqaContext **out, const VqaSettings *s);

/**
 * Stop every stream (their open defects are ended), wait for them, free all.
 * @param ctx the context; set to NULL. NULL is a no-op.
 */
VQA_API void vqa_close(VqaContext **ctx);

/** Why a plugin file was not loaded. */
typedef enum VqaPluginStatus {
    VQA_PLUGIN_LOADED = 0,
    VQA_PLUGIN_OPEN_FAILED = 1,    /**< dlopen failed (the loader's text is the reason) */
    VQA_PLUGIN_NOT_A_PLUGIN = 2,   /**< no vqa_plugin_entry_v1 (maybe another ABI major) */
    VQA_PLUGIN_ABI_MISMATCH = 3,   /**< built for a newer ABI minor, or sizes the host cannot use */
    VQA_PLUGIN_BAD_DESCRIPTOR = 4, /**< missing name, detectors or required callbacks */
    VQA_PLUGIN_SHADOWED = 5,       /**< a plugin or detector of the same name was found earlier */
} VqaPluginStatus;

/** @return a short name for a status ("open-failed", …). */
VQA_API const char *vqa_plugin_status_name(VqaPluginStatus status);

/** A loaded plugin. Owned by the context; valid until vqa_close. */
typedef struct VqaPluginInfo {
    const char *path;
    const char *name, *version, *license, *description;
    uint32_t abi_minor;
    size_t nb_detectors;
    const VqaDetectorClass *const *detectors; /**< the host's full-size copies */
} VqaPluginInfo;

/** A plugin file that was not loaded. Owned by the context. */
typedef struct VqaPluginFailure {
    const char *path;
    VqaPluginStatus status;
    const char *reason;
} VqaPluginFailure;

/** @return how many plugins were loaded. */
VQA_API size_t vqa_plugin_count(const VqaContext *ctx);
/** @return the i-th loaded plugin, or NULL past the end. */
VQA_API const VqaPluginInfo *vqa_plugin_get(const VqaContext *ctx, size_t i);
/** @return how many plugin files were not loaded (including shadowed ones). */
VQA_API size_t vqa_plugin_failure_count(const VqaContext *ctx);
/** @return the i-th failure, or NULL past the end. */
VQA_API const VqaPluginFailure *vqa_plugin_failure_get(const VqaContext *ctx, size_t i);
/** @return the detector class of that name, or NULL. */
VQA_API const VqaDetectorClass *vqa_detector_find(const VqaContext *ctx, const char *name);

/**
 * Check a detector spec ("freeze:min_duration=1.5,black") without adding a stream.
 * @param msg receives a one-line reason on failure (may be NULL)
 * @return 0, VQA_ERR(EINVAL) with the reason, VQA_ERR(ENOENT) when the spec
 *         is NULL and no detector is loaded.
 */
VQA_API int vqa_detector_spec_check(const VqaContext *ctx, const char *spec,
                                    char *msg, size_t msg_size);

#ifdef __cplusplus
}
#endif

#endif /* VQA_CONTEXT_H */
