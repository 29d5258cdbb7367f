/*
 * libvqa — defect events, as EVENTS.md defines them.
 */
#ifndef VQA_EVENT_H
#define VQA_EVENT_H

#include "common.h"

#ifdef __cplusplus
extern "C" {
#endif

/** The event contract version written as "v". */
#define VQA_EVENT_CONTRACT_VERSION 1

typedef enum VqaEventState {
    VQA_EVENT_START = 1,   /**< a defect began at t (back-dated to its onset) */
    VQA_EVENT_END = 2,     /**< the defect that started duration seconds earlier ended at t */
    VQA_EVENT_INSTANT = 3, /**< a point event */
} VqaEventState;

typedef enum VqaSeverity {
    VQA_SEVERITY_INFO = 1,
    VQA_SEVERITY_WARNING = 2,
    VQA_SEVERITY_ERROR = 3,
} VqaSeverity;

/**
 * One event. Strings are NUL-terminated UTF-8.
 *
 * Lifetime: an event handed to a callback, and every string in it, is valid
 * only during that call; copy what you keep.
 */
typedef struct VqaEvent {
    const char *stream;       /**< the stream's id */
    const char *detector;     /**< the plugin's detector name, or "converter" for input events */
    const char *kind;         /**< "video.freeze", "audio.silence", …, or "x-plugin.foo" */
    VqaEventState state;
    double t;                 /**< media seconds since the stream's start when the state begins */
    double duration;          /**< on END only: seconds since the matching START */
    double value;             /**< the headline measure; meaningful when has_value */
    int has_value;
    VqaSeverity severity;
    const char *details_json; /**< a JSON object ("{...}") with further measures, or NULL */
    uint8_t reserved[32];
} VqaEvent;

/** @return "start", "end" or "instant" (NULL for an invalid value). */
VQA_API const char *vqa_event_state_name(VqaEventState state);

/** @return "info", "warning" or "error" (NULL for an invalid value). */
VQA_API const char *vqa_severity_name(VqaSeverity severity);

/**
 * Write an event as one line of JSON (EVENTS.md), without the trailing newline.
 * Behaves like snprintf: writes at most size bytes including the NUL and
 * returns the length the whole line needs (excluding the NUL).
 * @return the length, or VQA_ERR(EINVAL) for a NULL or malformed event.
 * Thread-safety: Safe.
 */
VQA_API int vqa_event_to_json(const VqaEvent *event, char *buf, size_t size);

#ifdef __cplusplus
}
#endif

#endif /* VQA_EVENT_H */
