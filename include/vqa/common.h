/*
 * libvqa — export macros, error codes and version queries shared by every header.
 */
#ifndef VQA_COMMON_H
#define VQA_COMMON_H

#include <errno.h>
#include <stddef.h>
#include <stdint.h>

#include "version.h"

#ifdef __cplusplus
extern "C" {
#endif

#ifndef VQA_API
#if defined(_WIN32)
#define VQA_API __declspec(dllimport)
#elif defined(__GNUC__) && __GNUC__ >= 4
#define VQA_API __attribute__((visibility("default")))
#else
#define VQA_API
#endif
#endif

/**
 * Turn a positive errno value into a libvqa error code. Every function that
 * can fail returns 0 (or a count) on success and a negative code on failure.
 */
#if EPERM > 0
#define VQA_ERR(e) (-(e))
#else
#define VQA_ERR(e) (e)
#endif

/** Named codes beyond errno, all negative and outside the errno range. */
enum {
    VQA_ERROR_EOF = -0x5651000,        /**< end of stream: no more data will come */
    VQA_ERROR_INVALID_DATA,            /**< the input is not media, or is damaged beyond use */
    VQA_ERROR_PLUGIN_ABI,              /**< a plugin was built for another ABI */
    VQA_ERROR_DETECTOR,                /**< a detector failed (init or process returned an error) */
    VQA_ERROR_STOPPED,                 /**< the stream was stopped before it ended */
};

/**
 * Describe an error code.
 * @return a static, NUL-terminated English string; never NULL.
 * Thread-safety: Safe.
 */
VQA_API const char *vqa_strerror(int err);

/** @return the library version as a string, e.g. "1.0.0". Thread-safety: Safe. */
VQA_API const char *vqa_version(void);

/** @return VQA_API_VERSION_INT of the library actually loaded. Thread-safety: Safe. */
VQA_API unsigned vqa_version_api(void);

#ifdef __cplusplus
}
#endif

#endif /* VQA_COMMON_H */
