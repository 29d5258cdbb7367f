/*
 * Stalls of live pull inputs: the context's watch thread starts a
 * stream.stall when nothing has arrived for the stall timeout; the reader
 * notes that media flows again; the decode strand ends the stall at the next
 * frame it publishes (after any gap), or with the stream. watch_lock guards
 * the state between the three.
 */
#include <stdio.h>

#include "clock.h"
#include "internal.h"
#include "logging.h"
#include "mem.h"

/* EVENTS.md: a live input that delivers nothing for 2 s is stalled. */
#define DEFAULT_STALL_TIMEOUT_S 2.0

/* Stall states (VqaStream.stall_state): a stall starts on the watch thread,
 * the reader sees media flow again, the decode strand ends the stall at the
 * next frame it publishes. Closed: the input has ended; no stall starts. */
enum { STALL_NONE, STALL_OPEN, STALL_RESUMED, STALL_CLOSED };

static double stall_timeout(const VqaStream *s)
{
    double t = s->settings.stall_timeout;
    return t == 0 ? DEFAULT_STALL_TIMEOUT_S : t;
}

/* Media flows: note it for the stall watch, and end a stall that was open. */
void vqa_stall_media_arrived(VqaStream *s)
{
    int64_t now = vqa_monotonic_ns();
    atomic_store(&s->last_data_ns, now);
    atomic_store(&s->input_state, VQA_INPUT_RUNNING);
    pthread_mutex_lock(&s->watch_lock);
    int resumed = s->stall_state == STALL_OPEN;
    if (resumed)
        s->stall_state = STALL_RESUMED;
    double stalled = now / 1e9 - s->stall_wall_s;
    pthread_mutex_unlock(&s->watch_lock);
    if (!resumed)
        return;
    VqaInputNote *note = vqa_calloc(1, sizeof(*note));
    if (note) {
        note->stall_over = 1;
        note->value = stalled;
        vqa_demux_send_note(s, note);
    }
}

/*
 * The watch thread, about every 100 ms: a live input silent for the stall
 * timeout starts a stream.stall, back-dated to when its data stopped.
 */
void vqa_demux_watch(VqaStream *s, double now_s)
{
    vqa_tsinput_tick(s, now_s); /* transport timeouts run on the wall clock too */
    if (s->push || !s->settings.live || stall_timeout(s) <= 0)
        return;
    double last = atomic_load(&s->last_data_ns) / 1e9;
    double silent = now_s - last;
    if (silent < stall_timeout(s) || atomic_load(&s->stop))
        return;
    pthread_mutex_lock(&s->watch_lock);
    if (s->stall_state == STALL_NONE) {
        s->stall_state = STALL_OPEN;
        s->stall_wall_s = last;
        s->stall_t = atomic_load(&s->media_time); /* where analysed media ends */
        int state = atomic_load(&s->input_state);
        if (state == VQA_INPUT_RUNNING)
            atomic_store(&s->input_state, VQA_INPUT_STALLED);
        char details[160];
        snprintf(details, sizeof(details), "{\"timeout\":%.3f,\"input\":\"%s\"}",
                 stall_timeout(s), vqa_input_state_name(state));
        vqa_log(s->log, VQA_LOG_WARNING, "stream %s: no data for %.1f s", s->id, silent);
        VqaEvent ev = { .stream = s->id, .detector = "converter", .kind = "stream.stall",
                        .state = VQA_EVENT_START, .t = s->stall_t, .value = silent,
                        .has_value = 1, .severity = VQA_SEVERITY_ERROR, .details_json = details };
        atomic_fetch_add(&s->events, 1);
        vqa_context_dispatch(s->ctx, &ev);
    }
    pthread_mutex_unlock(&s->watch_lock);
}

void vqa_demux_stall_over(VqaStream *s, double t, int closed_by_eos)
{
    pthread_mutex_lock(&s->watch_lock);
    int open = s->stall_state == STALL_OPEN || s->stall_state == STALL_RESUMED;
    if (open) {
        double stalled = closed_by_eos ? vqa_monotonic_s() - s->stall_wall_s : s->stall_value;
        if (t < s->stall_t)
            t = s->stall_t;
        char details[96];
        snprintf(details, sizeof(details), closed_by_eos ? "{\"closed_by\":\"eos\"}" : "{}");
        VqaEvent ev = { .stream = s->id, .detector = "converter", .kind = "stream.stall",
                        .state = VQA_EVENT_END, .t = t, .duration = t - s->stall_t,
                        .value = stalled, .has_value = 1, .severity = VQA_SEVERITY_ERROR,
                        .details_json = details };
        vqa_log(s->log, VQA_LOG_INFO, "stream %s: data again after %.1f s", s->id, stalled);
        atomic_fetch_add(&s->events, 1);
        vqa_context_dispatch(s->ctx, &ev);
    }
    s->stall_state = closed_by_eos ? STALL_CLOSED : STALL_NONE;
    pthread_mutex_unlock(&s->watch_lock);
}
