/*
 * libvqa — logging. Each context has its own logger; there is no process-wide hook.
 */
#ifndef VQA_LOG_H
#define VQA_LOG_H

#include "common.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum VqaLogLevel {
    VQA_LOG_NONE = 0,    /**< as a threshold: log nothing */
    VQA_LOG_ERROR = 1,   /**< something failed: an input, a plugin, a detector */
    VQA_LOG_WARNING = 2, /**< something is off but analysis goes on */
    VQA_LOG_INFO = 3,    /**< one line per notable step (stream opened, plugin loaded) */
    VQA_LOG_DEBUG = 4,   /**< detail for developers */
    VQA_LOG_TRACE = 5,   /**< per-frame detail */
} VqaLogLevel;

/**
 * Receives one log message.
 * @param cookie the logger's cookie
 * @param level  the message's level (never above the logger's threshold)
 * @param msg    one line of UTF-8 text without a trailing newline; valid only during the call
 * Called from any thread of the context (the caller of an API function, an I/O
 * thread or a compute worker), possibly from several at once: make it thread-safe.
 */
typedef void (*VqaLogCallback)(void *cookie, VqaLogLevel level, const char *msg);

typedef struct VqaLogger {
    VqaLogCallback callback; /**< NULL: messages are discarded (default) */
    void *cookie;            /**< passed back to the callback */
    VqaLogLevel level;       /**< threshold: messages above it are not formatted. Default WARNING */
} VqaLogger;

/** @return "error", "warning", "info", "debug", "trace" or "none". Thread-safety: Safe. */
VQA_API const char *vqa_log_level_name(VqaLogLevel level);

#ifdef __cplusplus
}
#endif

#endif /* VQA_LOG_H */
