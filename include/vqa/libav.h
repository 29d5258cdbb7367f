/*
 * libvqa — optional bridge for hosts that hold FFmpeg AVFrames.
 * Including this header needs FFmpeg's headers; the rest of the API does not.
 */
#ifndef VQA_LIBAV_H
#define VQA_LIBAV_H

#include <libavutil/frame.h>
#include <libavutil/rational.h>

#include "stream.h"

#ifdef __cplusplus
extern "C" {
#endif

/**
 * Push a decoded video or audio AVFrame to a push stream without copying it:
 * the library takes its own reference (av_frame_ref) and releases it when no
 * detector needs the data any more; the caller keeps its own reference and
 * may unref it at once. Any pixel or sample format FFmpeg can convert works.
 * @param time_base the time base of frame->pts
 * @param track     audio track index (ignored for video)
 * @return as vqa_stream_push_picture.
 */
VQA_API int vqa_stream_push_avframe(VqaStream *s, const AVFrame *frame,
                                    AVRational time_base, int track);

#ifdef __cplusplus
}
#endif

#endif /* VQA_LIBAV_H */
