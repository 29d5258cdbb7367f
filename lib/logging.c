/*
 * Logging through a context's VqaLogger.
 */
#include <stdio.h>
#include <string.h>

#include "logging.h"

void vqa_logv(const VqaLogger *log, VqaLogLevel level, const char *fmt, va_list args)
{
    if (!log || !log->callback || level > log->level || level <= VQA_LOG_NONE)
        return;
#if !VQA_LOGGING
    if (level > VQA_LOG_ERROR)
        return;
#endif
    char line[1024];
    int n = vsnprintf(line, sizeof(line), fmt, args);
    if (n < 0)
        return;
    size_t len = strlen(line);
    while (len > 0 && line[len - 1] == '\n')
        line[--len] = '\0';
    log->callback(log->cookie, level, line);
}

void vqa_log(const VqaLogger *log, VqaLogLevel level, const char *fmt, ...)
{
    va_list args;
    va_start(args, fmt);
    vqa_logv(log, level, fmt, args);
    va_end(args);
}

const char *vqa_log_level_name(VqaLogLevel level)
{
    switch (level) {
    case VQA_LOG_ERROR: return "error";
    case VQA_LOG_WARNING: return "warning";
    case VQA_LOG_INFO: return "info";
    case VQA_LOG_DEBUG: return "debug";
    case VQA_LOG_TRACE: return "trace";
    default: return "none";
    }
}
