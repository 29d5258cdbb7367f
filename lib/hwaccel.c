/*
 * Hardware decoding with a software fallback.
 */
#include <stdio.h>
#include <string.h>

#include <libavutil/hwcontext.h>
#include <libavutil/pixdesc.h>

#include "hwaccel.h"
#include "logging.h"
#include "vqa/common.h"

/* Device types tried, in order, for "auto". */
static const enum AVHWDeviceType auto_types[] = {
    AV_HWDEVICE_TYPE_CUDA, AV_HWDEVICE_TYPE_VAAPI, AV_HWDEVICE_TYPE_QSV,
    AV_HWDEVICE_TYPE_VDPAU, AV_HWDEVICE_TYPE_NONE,
};

int vqa_hwaccel_check_name(const char *name, char *msg, size_t msg_size)
{
    if (!name || !strcmp(name, "auto") ||
        av_hwdevice_find_type_by_name(name) != AV_HWDEVICE_TYPE_NONE)
        return 0;
    char known[256] = "";
    size_t len = 0;
    for (enum AVHWDeviceType t = av_hwdevice_iterate_types(AV_HWDEVICE_TYPE_NONE);
         t != AV_HWDEVICE_TYPE_NONE && len < sizeof(known);
         t = av_hwdevice_iterate_types(t))
        len += (size_t)snprintf(known + len, sizeof(known) - len, "%s%s", len ? ", " : "",
                                av_hwdevice_get_type_name(t));
    snprintf(msg, msg_size, "unknown hardware decoder '%s' (this FFmpeg knows: auto%s%s)", name,
             len ? ", " : "", known);
    return VQA_ERR(EINVAL);
}

/* The hardware pixel format the codec uses with a device type, or NONE. */
static enum AVPixelFormat hw_format(const AVCodec *codec, enum AVHWDeviceType type)
{
    for (int i = 0;; i++) {
        const AVCodecHWConfig *cfg = avcodec_get_hw_config(codec, i);
        if (!cfg)
            return AV_PIX_FMT_NONE;
        if ((cfg->methods & AV_CODEC_HW_CONFIG_METHOD_HW_DEVICE_CTX) && cfg->device_type == type)
            return cfg->pix_fmt;
    }
}

/* Pick the hardware format when offered; otherwise the decoder's first
 * software choice, so a stream the device cannot take still decodes. */
static enum AVPixelFormat get_format(AVCodecContext *dec, const enum AVPixelFormat *fmts)
{
    enum AVPixelFormat want = (enum AVPixelFormat)(intptr_t)dec->opaque;
    for (const enum AVPixelFormat *f = fmts; *f != AV_PIX_FMT_NONE; f++)
        if (*f == want)
            return *f;
    for (const enum AVPixelFormat *f = fmts; *f != AV_PIX_FMT_NONE; f++) {
        const AVPixFmtDescriptor *d = av_pix_fmt_desc_get(*f);
        if (d && !(d->flags & AV_PIX_FMT_FLAG_HWACCEL))
            return *f;
    }
    return AV_PIX_FMT_NONE;
}

static int try_device(AVCodecContext *dec, const AVCodec *codec, enum AVHWDeviceType type,
                      char *why, size_t why_size)
{
    enum AVPixelFormat fmt = hw_format(codec, type);
    if (fmt == AV_PIX_FMT_NONE) {
        snprintf(why, why_size, "%s cannot decode %s", av_hwdevice_get_type_name(type),
                 codec->name);
        return -1;
    }
    AVBufferRef *device = NULL;
    int err = av_hwdevice_ctx_create(&device, type, NULL, NULL, 0);
    if (err < 0) {
        char text[AV_ERROR_MAX_STRING_SIZE] = "";
        av_strerror(err, text, sizeof(text));
        snprintf(why, why_size, "no %s device: %s", av_hwdevice_get_type_name(type), text);
        return -1;
    }
    dec->hw_device_ctx = device;
    dec->opaque = (void *)(intptr_t)fmt;
    dec->get_format = get_format;
    return 0;
}

int vqa_hwaccel_setup(AVCodecContext *dec, const AVCodec *codec, const char *name,
                      const VqaLogger *log, const char *who)
{
    char why[256] = "";
    if (strcmp(name, "auto")) {
        if (try_device(dec, codec, av_hwdevice_find_type_by_name(name), why, sizeof(why)) == 0)
            goto done;
    } else {
        for (const enum AVHWDeviceType *t = auto_types; *t != AV_HWDEVICE_TYPE_NONE; t++)
            if (try_device(dec, codec, *t, why, sizeof(why)) == 0)
                goto done;
        snprintf(why, sizeof(why), "no hardware decoder works for %s", codec->name);
    }
    vqa_log(log, VQA_LOG_WARNING, "stream %s: hardware decoding unavailable (%s): decoding in "
            "software", who, why);
    return 0;
done:
    vqa_log(log, VQA_LOG_INFO, "stream %s: decoding %s on %s", who, codec->name,
            av_hwdevice_get_type_name(((AVHWDeviceContext *)dec->hw_device_ctx->data)->type));
    return 1;
}

AVFrame *vqa_hwaccel_download(AVFrame *frame, AVFrame *sw)
{
    if (!frame->hw_frames_ctx)
        return frame;
    av_frame_unref(sw);
    if (av_hwframe_transfer_data(sw, frame, 0) < 0 || av_frame_copy_props(sw, frame) < 0)
        return NULL;
    return sw;
}
