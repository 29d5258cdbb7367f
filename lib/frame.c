/*
 * VqaFrame: a public head and a private tail in one allocation. The tail
 * counts references and owns whatever the planes point into — a decoded
 * AVFrame (zero-copy), pooled AVBufferRefs, or a plain block.
 */
#include <stdatomic.h>
#include <stdint.h>

#include "frames.h"
#include "mem.h"

/* More audio channels than any real layout; a guard against garbage counts. */
#define MAX_AUDIO_PLANES 1024
#define DATA_ALIGN 64

typedef struct FrameBox {
    VqaFrame pub; /* first, so a VqaFrame pointer is a FrameBox pointer */
    atomic_int refs;
    AVFrame *held;
    AVBufferRef *bufs[VQA_FRAME_MAX_BUFFERS];
    int nb_bufs;
    void *block; /* unaligned start of the owned block, for vqa_free */
    int nb_planes;
    const uint8_t *planes[]; /* audio plane pointers */
} FrameBox;

static FrameBox *box_of(const VqaFrame *f)
{
    /* The tail is private, mutable state; the const on the head is a promise
     * about the published fields only. */
    return (FrameBox *)(uintptr_t)f;
}

VqaFrame *vqa_frame_alloc(int nb_audio_planes)
{
    if (nb_audio_planes < 0 || nb_audio_planes > MAX_AUDIO_PLANES)
        return NULL;
    size_t size = sizeof(FrameBox) + (size_t)nb_audio_planes * sizeof(const uint8_t *);
    FrameBox *b = vqa_calloc(1, size);
    if (!b)
        return NULL;
    atomic_init(&b->refs, 1);
    b->nb_planes = nb_audio_planes;
    if (nb_audio_planes > 0)
        b->pub.audio_planes = b->planes;
    return &b->pub;
}

const uint8_t **vqa_frame_audio_planes(VqaFrame *f, int *nb_planes)
{
    FrameBox *b = box_of(f);
    if (nb_planes)
        *nb_planes = b->nb_planes;
    return b->nb_planes > 0 ? b->planes : NULL;
}

const AVFrame *vqa_frame_hold_avframe(VqaFrame *f, const AVFrame *src)
{
    FrameBox *b = box_of(f);
    AVFrame *held = av_frame_alloc();
    if (!held)
        return NULL;
    if (av_frame_ref(held, src) < 0) {
        av_frame_free(&held);
        return NULL;
    }
    av_frame_free(&b->held);
    b->held = held;
    return held;
}

int vqa_frame_hold_buffer(VqaFrame *f, AVBufferRef *buf)
{
    FrameBox *b = box_of(f);
    if (b->nb_bufs >= VQA_FRAME_MAX_BUFFERS) {
        av_buffer_unref(&buf);
        return VQA_ERR(ENOSPC);
    }
    b->bufs[b->nb_bufs++] = buf;
    return 0;
}

uint8_t *vqa_frame_alloc_data(VqaFrame *f, size_t size)
{
    FrameBox *b = box_of(f);
    if (b->block || size > SIZE_MAX - DATA_ALIGN)
        return NULL;
    b->block = vqa_malloc(size + DATA_ALIGN);
    if (!b->block)
        return NULL;
    uintptr_t p = (uintptr_t)b->block;
    return (uint8_t *)((p + DATA_ALIGN - 1) & ~(uintptr_t)(DATA_ALIGN - 1));
}

int vqa_frame_refcount(const VqaFrame *f)
{
    return atomic_load(&box_of(f)->refs);
}

static void frame_free(FrameBox *b)
{
    av_frame_free(&b->held);
    for (int i = 0; i < b->nb_bufs; i++)
        av_buffer_unref(&b->bufs[i]);
    vqa_free(b->block);
    vqa_free(b);
}

const VqaFrame *vqa_frame_ref(const VqaFrame *frame)
{
    if (frame)
        atomic_fetch_add_explicit(&box_of(frame)->refs, 1, memory_order_relaxed);
    return frame;
}

void vqa_frame_unref(const VqaFrame **frame)
{
    if (!frame || !*frame)
        return;
    FrameBox *b = box_of(*frame);
    *frame = NULL;
    /* acq_rel: every reader's use of the data happens before the free. */
    if (atomic_fetch_sub_explicit(&b->refs, 1, memory_order_acq_rel) == 1)
        frame_free(b);
}

int vqa_sample_format_bytes(VqaSampleFormat fmt)
{
    switch (fmt) {
    case VQA_SAMPLE_S16:
    case VQA_SAMPLE_S16P:
        return 2;
    case VQA_SAMPLE_S32:
    case VQA_SAMPLE_S32P:
    case VQA_SAMPLE_FLT:
    case VQA_SAMPLE_FLTP:
        return 4;
    default:
        return 0;
    }
}

int vqa_sample_format_is_planar(VqaSampleFormat fmt)
{
    return fmt == VQA_SAMPLE_S16P || fmt == VQA_SAMPLE_S32P || fmt == VQA_SAMPLE_FLTP;
}

const char *vqa_pixel_format_name(VqaPixelFormat fmt)
{
    switch (fmt) {
    case VQA_PIX_GRAY8: return "gray8";
    case VQA_PIX_YUV420P: return "yuv420p";
    case VQA_PIX_YUV422P: return "yuv422p";
    case VQA_PIX_YUV444P: return "yuv444p";
    case VQA_PIX_NV12: return "nv12";
    case VQA_PIX_RGB24: return "rgb24";
    case VQA_PIX_RGBA: return "rgba";
    default: return "none";
    }
}

const char *vqa_sample_format_name(VqaSampleFormat fmt)
{
    switch (fmt) {
    case VQA_SAMPLE_S16: return "s16";
    case VQA_SAMPLE_S32: return "s32";
    case VQA_SAMPLE_FLT: return "flt";
    case VQA_SAMPLE_S16P: return "s16p";
    case VQA_SAMPLE_S32P: return "s32p";
    case VQA_SAMPLE_FLTP: return "fltp";
    default: return "none";
    }
}
