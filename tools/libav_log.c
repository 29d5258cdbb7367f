/*
 * FFmpeg logs through one process-wide callback. The library never touches
 * it (a library must not change process-wide state); the tool, which owns
 * its process, routes FFmpeg's lines to standard error only when asked for
 * detail — libvqa's own log already says what matters, in one line.
 */
#include <stdio.h>
#include <string.h>

#include <libavutil/log.h>

#include "vqa_tool.h"

static void libav_line(void *avcl, int level, const char *fmt, va_list args)
{
    if (level > av_log_get_level())
        return;
    char line[1024];
    int print_prefix = 1;
    av_log_format_line(avcl, level, fmt, args, line, sizeof(line), &print_prefix);
    size_t len = strlen(line);
    while (len > 0 && line[len - 1] == '\n')
        line[--len] = '\0';
    if (len)
        fprintf(stderr, "vqa: ffmpeg: %s\n", line);
}

void tool_route_libav_log(VqaLogLevel level)
{
    int av_level = level >= VQA_LOG_TRACE   ? AV_LOG_DEBUG
                   : level >= VQA_LOG_DEBUG ? AV_LOG_INFO
                   : level >= VQA_LOG_INFO  ? AV_LOG_WARNING
                                            : AV_LOG_QUIET;
    av_log_set_level(av_level);
    av_log_set_callback(libav_line);
}
