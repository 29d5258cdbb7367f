/*
 * libvqa — event sinks: deliver every event of a context beyond the event
 * callback (a JSON Lines file with rotation, an HTTP webhook, or a sink the
 * host or a plugin implements), without ever holding up analysis.
 *
 * Each sink has its own thread and a bounded queue. Dispatching an event
 * only copies it (one JSON line and the event's strings, shared by every
 * sink) into each queue; when a sink's queue is full the event is dropped
 * for that sink alone and counted. So a slow disk or a dead endpoint loses
 * that sink's events under load, but never slows detection, the callback or
 * the other sinks. A sink sees the events in the order the event callback
 * sees them.
 *
 * Since: 1.2.
 */
#ifndef VQA_SINK_H
#define VQA_SINK_H

#include "common.h"
#include "context.h"
#include "event.h"

#ifdef __cplusplus
extern "C" {
#endif

/**
 * A sink implementation: a sized vtable, like VqaDetectorClass. Declare it
 * `static const` and set struct_size to sizeof(VqaSinkClass). The library
 * copies it into a zeroed struct of its own size, so callbacks added in a
 * later version read as NULL for a class built against this header; a class
 * larger than the library knows (built for a newer version) is refused.
 * Required: name, write. Every other callback may be NULL.
 *
 * `opaque` is the pointer given to vqa_context_add_sink; the library never
 * looks into it. Thread: open() and close() run on the thread that adds or
 * removes the sink (vqa_context_add_sink, vqa_sink_remove, vqa_close);
 * write() and flush() run on the sink's own thread, one call at a time, and
 * never concurrently with open() or close(). Since: 1.2.
 */
typedef struct VqaSinkClass {
    uint32_t struct_size;   /**< sizeof(VqaSinkClass) as the sink was built */
    const char *name;       /**< for logs, e.g. "jsonl"; copied */

    /**
     * Prepare (open a file, allocate a connection). Called once, before the
     * sink's thread starts. @return 0 or a negative error: vqa_context_add_sink
     * then fails with it (close() still runs).
     */
    int (*open)(void *opaque);
    /**
     * Deliver one event.
     * @param event the event; valid only during the call
     * @param json  the event as one JSON line (vqa_event_to_json), NUL-terminated,
     *              without a newline; valid only during the call
     * @param json_len strlen(json)
     * @return 0 when delivered, or a negative error: the event is counted as
     *         failed (retrying is the sink's own business).
     */
    int (*write)(void *opaque, const VqaEvent *event, const char *json, size_t json_len);
    /**
     * Make what was written durable or visible (flush a buffer). Called
     * whenever the queue runs empty, when vqa_sink_flush asks, and before
     * close(). @return 0 or a negative error (logged).
     */
    int (*flush)(void *opaque);
    /** Free everything. Runs once, even when open() failed. */
    void (*close)(void *opaque);
    /**
     * Make a write() or flush() in progress return soon, and later ones fail
     * fast. Called once, from the closing thread, when the close timeout has
     * passed before the queue was written; may run concurrently with write()
     * and flush(). Without it, closing waits for the call in progress to
     * return by itself.
     */
    void (*interrupt)(void *opaque);
} VqaSinkClass;

/** Settings every sink has. Fill with vqa_sink_default_settings. Since: 1.2. */
typedef struct VqaSinkSettings {
    /** Events queued for the sink before new ones are dropped. 1–1048576, default 1024. */
    int queue_events;
    /**
     * How long closing (vqa_close, vqa_sink_remove) waits for the queue to be
     * written and flushed, in ms. When it passes, the events still queued are
     * discarded (and counted), interrupt() is called, and closing waits for the
     * write in progress to return. Default 2000; 0 = discard at once; -1 = wait
     * without bound.
     */
    int close_timeout_ms;
    uint8_t reserved[32];
} VqaSinkSettings;

/**
 * An event sink added to a context.
 * Thread-safety: Safe. Owned by the context: valid until vqa_sink_remove or
 * vqa_close.
 */
typedef struct VqaSink VqaSink;

/** Counters of a sink. Since: 1.2. */
typedef struct VqaSinkStats {
    int64_t events_queued;    /**< events accepted into the queue */
    int64_t events_written;   /**< write() returned 0 */
    int64_t events_failed;    /**< write() returned an error */
    int64_t events_dropped;   /**< not queued: the queue was full (or out of memory) */
    int64_t events_discarded; /**< still queued when the close timeout passed */
    int64_t queue_length;     /**< queued now, not yet handed to write() */
    uint8_t reserved[64];
} VqaSinkStats;

/** Fill settings with the defaults. Thread-safety: Safe. Since: 1.2. */
VQA_API void vqa_sink_default_settings(VqaSinkSettings *s);

/**
 * Add a sink implemented by the host (or a plugin): from now on it receives
 * every event of the context. open() is called here, then the sink's thread
 * starts.
 * @param out      receives the sink handle (may be NULL)
 * @param cls      the vtable (read during this call only; copied)
 * @param opaque   passed to every callback; owned by the caller, who must keep
 *                 it valid until close() has been called
 * @param settings NULL for the defaults
 * @return 0, VQA_ERR(EINVAL) for a NULL ctx or cls, a class without name or
 *         write, or settings out of range; VQA_ERROR_PLUGIN_ABI for a class
 *         larger than this library knows; VQA_ERR(ENOMEM); VQA_ERR(EAGAIN) when
 *         the thread could not be started; or open()'s error. close() has run
 *         when this fails after the class was accepted.
 * Thread-safety: Safe; not from a sink callback or the event callback.
 */
VQA_API int vqa_context_add_sink(VqaContext *ctx, VqaSink **out, const VqaSinkClass *cls,
                                 void *opaque, const VqaSinkSettings *settings);

/** The built-in JSON Lines sink. Fill with vqa_jsonl_sink_default_settings. Since: 1.2. */
typedef struct VqaJsonlSinkSettings {
    /** The file (copied). Created if missing, appended to if it exists. Required. */
    const char *path;
    /**
     * Rotate before a line would make the file larger than this. 0 (default):
     * never. A line longer than max_bytes gets a file of its own.
     */
    int64_t max_bytes;
    /**
     * Rotated files kept, as logrotate numbers them: `path.1` is the newest,
     * `path.N` the oldest; on rotation `path.N` is deleted, each `path.i`
     * becomes `path.(i+1)` and `path` becomes `path.1`. 0–1000, default 5.
     * 0 keeps none: the full file is truncated.
     */
    int keep;
    uint8_t reserved[32];
} VqaJsonlSinkSettings;

/** Fill settings with the defaults. Thread-safety: Safe. Since: 1.2. */
VQA_API void vqa_jsonl_sink_default_settings(VqaJsonlSinkSettings *s);

/**
 * Add a sink that appends each event as one line (plus "\n") to a file,
 * rotating it by size. Lines are buffered and written out whenever the
 * queue runs empty, so a reader sees them within moments; a line is never
 * split across two files.
 * @param settings as vqa_context_add_sink (NULL: defaults)
 * @return as vqa_context_add_sink; VQA_ERR(EINVAL) for a missing path or
 *         values out of range; the errno of opening the file (e.g.
 *         VQA_ERR(ENOENT), VQA_ERR(EACCES)), logged with the path.
 * Thread-safety: Safe; not from a sink callback or the event callback.
 */
VQA_API int vqa_context_add_jsonl_sink(VqaContext *ctx, VqaSink **out,
                                       const VqaJsonlSinkSettings *jsonl,
                                       const VqaSinkSettings *settings);

/** The built-in webhook sink. Fill with vqa_webhook_sink_default_settings. Since: 1.2. */
typedef struct VqaWebhookSinkSettings {
    /** http:// or https:// URL each event is POSTed to (copied). Required. */
    const char *url;
    /**
     * Extra request headers, "Name: value" each, NULL-terminated (copied), or
     * NULL. Content-Type: application/json is always sent.
     */
    const char *const *headers;
    /** Limit on one request, connecting included, in ms. 1–600000, default 5000. */
    int timeout_ms;
    /** Retries after a failed request: 0–100, default 3. */
    int max_retries;
    /**
     * Waits between attempts, in ms: backoff_initial_ms before the first retry,
     * doubling for each further one, never more than backoff_max_ms.
     * Defaults 500 and 10000; 0–3600000, initial <= max.
     */
    int backoff_initial_ms;
    int backoff_max_ms;
    uint8_t reserved[32];
} VqaWebhookSinkSettings;

/** Fill settings with the defaults. Thread-safety: Safe. Since: 1.2. */
VQA_API void vqa_webhook_sink_default_settings(VqaWebhookSinkSettings *s);

/**
 * Add a sink that POSTs each event, one request per event, with the event's
 * JSON line as the body (Content-Type: application/json). A 2xx answer is a
 * delivery. A connection failure, a timeout, 408, 429 or a 5xx answer is
 * retried after the backoff; any other answer fails the event at once.
 * Redirects are not followed. Events are delivered one at a time, in order;
 * while an event is retried the queue fills and further events are dropped
 * (and counted) rather than held up.
 * @return as vqa_context_add_sink; VQA_ERR(EINVAL) for a URL that is not
 *         http(s) or values out of range; VQA_ERR(ENOSYS) when the library
 *         was built without libcurl (meson option `webhook`).
 * Thread-safety: Safe; not from a sink callback or the event callback.
 */
VQA_API int vqa_context_add_webhook_sink(VqaContext *ctx, VqaSink **out,
                                         const VqaWebhookSinkSettings *webhook,
                                         const VqaSinkSettings *settings);

/** @return the sink's name (its class name), valid as long as the sink. */
VQA_API const char *vqa_sink_name(const VqaSink *sink);

/**
 * Read the sink's counters. They only grow, except queue_length; at any moment
 * events_queued = events_written + events_failed + events_discarded +
 * queue_length + (1 if a write() is in progress).
 * Thread-safety: Safe.
 */
VQA_API void vqa_sink_get_stats(const VqaSink *sink, VqaSinkStats *stats);

/**
 * Wait until every event queued before this call has been handed to write()
 * and flush() has returned after it.
 * @param timeout_ms how long to wait; < 0 without bound
 * @return 0, or VQA_ERR(ETIMEDOUT).
 * Thread-safety: Safe; not from a sink callback or the event callback.
 */
VQA_API int vqa_sink_flush(VqaSink *sink, int timeout_ms);

/**
 * Take a sink out of its context: it receives no further event, its queue is
 * written and flushed within its close_timeout_ms, then close() runs.
 * vqa_close does the same for every sink still added (all at once, so it waits
 * at most the longest close timeout, plus any write() that ignores interrupt()).
 * @param sink  set to NULL; NULL is a no-op
 * @param stats receives the final counters (may be NULL)
 * Thread-safety: Safe; not from a sink callback or the event callback.
 */
VQA_API void vqa_sink_remove(VqaSink **sink, VqaSinkStats *stats);

#ifdef __cplusplus
}
#endif

#endif /* VQA_SINK_H */
