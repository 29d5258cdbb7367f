/*
 * Internal logging through a context's VqaLogger. No stdio in lib/.
 */
#ifndef VQA_LIB_LOGGING_H
#define VQA_LIB_LOGGING_H

#include <stdarg.h>

#include "vqa/log.h"

#if defined(__GNUC__)
#define VQA_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define VQA_PRINTF(a, b)
#endif

/** Log one line (no trailing newline needed; one is stripped). `log` may be NULL. */
void vqa_log(const VqaLogger *log, VqaLogLevel level, const char *fmt, ...) VQA_PRINTF(3, 4);
void vqa_logv(const VqaLogger *log, VqaLogLevel level, const char *fmt, va_list args);

#endif
