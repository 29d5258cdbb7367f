/*
 * Hardware decoding through FFmpeg device contexts, with a logged fallback
 * to software whenever the device or the codec cannot do it.
 */
#ifndef VQA_LIB_HWACCEL_H
#define VQA_LIB_HWACCEL_H

#include <stddef.h>

#include <libavcodec/avcodec.h>

#include "vqa/log.h"

/** @return 0 if `name` is "auto" or a device type FFmpeg knows, else VQA_ERR(EINVAL) with msg. */
int vqa_hwaccel_check_name(const char *name, char *msg, size_t msg_size);

/**
 * Ask `dec` (not yet opened) to decode on a `name` device. On any failure
 * the decoder is left for software and the reason is logged at WARNING.
 * @return 1 when hardware decoding is set up, 0 when software it is.
 */
int vqa_hwaccel_setup(AVCodecContext *dec, const AVCodec *codec, const char *name,
                      const VqaLogger *log, const char *who);

/**
 * Make a decoded frame readable by the CPU: a hardware frame is copied into
 * `sw` (with its properties) and `sw` is returned; a software frame is
 * returned as it is. NULL on failure.
 */
AVFrame *vqa_hwaccel_download(AVFrame *frame, AVFrame *sw);

#endif
