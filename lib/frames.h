/*
 * Internal side of VqaFrame: allocation and ownership of the memory a frame's
 * planes point to. A VqaFrame is the public head of one allocation whose
 * private tail holds the reference count, what keeps the planes alive, and
 * the audio plane pointer array.
 *
 * A frame is built by one thread (the converter): allocate it, attach the
 * owner(s) of its memory, fill the public fields, then publish it. After
 * publication it is immutable and only vqa_frame_ref/vqa_frame_unref touch it.
 *
 * Thread-safety: the functions below are for the building thread only.
 */
#ifndef VQA_LIB_FRAMES_H
#define VQA_LIB_FRAMES_H

#include <libavutil/buffer.h>
#include <libavutil/frame.h>

#include "vqa/frame.h"

/** A frame may hold at most this many AVBufferRefs (one per plane is plenty). */
#define VQA_FRAME_MAX_BUFFERS 4

/**
 * Allocate a zeroed frame with one reference (the caller's).
 * @param nb_audio_planes room for this many audio plane pointers (0 for video);
 *        the array is reachable through vqa_frame_audio_planes() and is
 *        already assigned to frame->audio_planes when nonzero.
 * @return the frame, or NULL on ENOMEM or nb_audio_planes < 0 (or absurdly large).
 * Free it with vqa_frame_unref() (also before publication).
 */
VqaFrame *vqa_frame_alloc(int nb_audio_planes);

/**
 * Writable view of the frame's audio plane pointer array (the same storage
 * frame->audio_planes points to); NULL when the frame was allocated without one.
 * @param nb_planes receives the array's capacity; may be NULL
 */
const uint8_t **vqa_frame_audio_planes(VqaFrame *f, int *nb_planes);

/**
 * Keep the data of an AVFrame alive for as long as the VqaFrame lives
 * (zero-copy). Takes a new reference to src's buffers (av_frame_ref); src
 * itself stays the caller's and may be freed at once. A frame holds at most
 * one AVFrame; a second call replaces the first.
 * If src is not reference-counted, av_frame_ref copies its data: always read
 * the plane pointers from the returned AVFrame, not from src.
 * @return the held AVFrame (owned by f; valid until f is freed), or NULL on ENOMEM.
 */
const AVFrame *vqa_frame_hold_avframe(VqaFrame *f, const AVFrame *src);

/**
 * Hand a buffer to the frame: f owns `buf` afterwards (transfer full) and
 * unrefs it when freed — which returns it to its AVBufferPool, if any.
 * On failure (more than VQA_FRAME_MAX_BUFFERS) the buffer is unreffed too,
 * so the caller never has to clean up `buf`.
 * @return 0, or VQA_ERR(ENOSPC).
 */
int vqa_frame_hold_buffer(VqaFrame *f, AVBufferRef *buf);

/**
 * Allocate plain memory owned by the frame (freed with it), for results that
 * come neither from a decoder nor from a pool. At most one block per frame.
 * @return the block (uninitialised, size bytes, 64-byte aligned) or NULL on
 *         ENOMEM or when the frame already owns a block.
 */
uint8_t *vqa_frame_alloc_data(VqaFrame *f, size_t size);

/** @return the current reference count (for tests and assertions only). */
int vqa_frame_refcount(const VqaFrame *f);

#endif
