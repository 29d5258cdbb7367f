/*
 * libvqa — watch audio and video streams for the defects viewers notice.
 *
 * The umbrella header. A host typically:
 * @code
 *   VqaSettings s;
 *   vqa_default_settings(&s);
 *   s.on_event = my_callback;
 *   VqaContext *ctx;
 *   if (vqa_open(&ctx, &s) < 0) return 1;
 *   VqaStreamSettings ss;
 *   vqa_stream_default_settings(&ss);
 *   ss.url = "input.mp4";
 *   VqaStream *st;
 *   if (vqa_stream_add(ctx, &st, &ss) == 0)
 *       vqa_stream_wait(st, -1);
 *   vqa_close(&ctx);
 * @endcode
 */
#ifndef VQA_VQA_H
#define VQA_VQA_H

#include "common.h"
#include "context.h"
#include "event.h"
#include "frame.h"
#include "log.h"
#include "options.h"
#include "plugin.h"
#include "sink.h"
#include "stream.h"
#include "version.h"

#endif /* VQA_VQA_H */
