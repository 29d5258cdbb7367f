/*
 * Event sinks inside the library: the context's list of sinks, the
 * dispatch that copies an event into every sink's queue, and what the
 * built-in sinks share. The public side is include/vqa/sink.h.
 */
#ifndef VQA_LIB_SINKS_H
#define VQA_LIB_SINKS_H

#include <stddef.h>

#include "vqa/log.h"
#include "vqa/sink.h"

/** The sinks of a context. Guarded by the context's event lock. */
typedef struct VqaSinkList {
    VqaSink **items;
    size_t count, cap;
} VqaSinkList;

/**
 * Queue an event for every sink of the list; never blocks on a sink (a
 * full queue drops the event for that sink and counts it). Called with the
 * context's event lock held, so every sink sees the callback's order.
 */
void vqa_sinks_dispatch(VqaSinkList *list, const VqaEvent *ev);

/**
 * Close every sink of the list at once (each within its close timeout),
 * then free the list. Called by vqa_close once no event can come any more.
 */
void vqa_sinks_close(VqaSinkList *list);

/**
 * The wait before retry number `retry` (1 = the first retry): initial_ms
 * doubled for each retry after the first, capped at max_ms.
 */
int vqa_sink_backoff_ms(int retry, int initial_ms, int max_ms);

/** The context's logger, for the built-in sinks' own messages. */
const VqaLogger *vqa_sink_context_logger(const VqaContext *ctx);

#endif
