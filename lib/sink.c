/*
 * Event sinks: one thread and one bounded queue per sink, so that a slow
 * file or a dead endpoint costs the event dispatch a copy and a lock, never
 * a wait.
 *
 * An event is turned into its JSON line once and shared by every sink's
 * queue (reference-counted). The dispatch runs under the context's event
 * lock, so every sink sees events in the callback's order. The sink thread
 * takes one event at a time, calls write() without the lock held, and
 * calls flush() whenever the queue runs empty or a flush is asked for.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <time.h>

#include "clocale.h"
#include "clock.h"
#include "internal.h"
#include "logging.h"
#include "mem.h"
#include "sinks.h"

#define DEFAULT_QUEUE_EVENTS 1024
#define MAX_QUEUE_EVENTS (1 << 20)
#define DEFAULT_CLOSE_TIMEOUT_MS 2000
/* Drops and failures are logged at most this often per sink. */
#define WARN_INTERVAL_S 1.0

/** One event, shared by the queues of every sink. */
typedef struct SinkItem {
    atomic_int refs;
    VqaEvent event;   /* its strings point into data */
    const char *json;
    size_t json_len;
    char data[];
} SinkItem;

/** A "this happened N times" counter logged at most once per interval. */
typedef struct RateLimit {
    double last_s;    /* when it was last logged; < 0 never */
    int64_t pending;  /* occurrences not logged yet */
} RateLimit;

struct VqaSink {
    VqaSinkClass cls;             /* the host's copy, zero-extended */
    void *opaque;
    char *name;
    VqaContext *ctx;
    const VqaLogger *log;
    VqaSinkSettings settings;
    pthread_t thread;

    pthread_mutex_t lock;         /* guards everything below */
    pthread_cond_t wake;          /* to the thread: an event, a flush request, closing */
    pthread_cond_t progress;      /* from the thread: flushed, finished */
    SinkItem **ring;
    size_t head, cap;
    int closing;                  /* no more events; drain, flush and stop */
    int aborting;                 /* the close timeout passed: stop now */
    int finished;                 /* the thread has left its loop */
    int busy;                     /* a write() is in progress */
    int dirty;                    /* written since the latest flush */
    int64_t done;                 /* events written, failed or discarded */
    int64_t flushed;              /* `done` when the latest flush began */
    int64_t flush_wanted;         /* flush once `done` reaches this */
    VqaSinkStats stats;
    RateLimit drops, failures;
};

/* ---- events ---- */

static size_t str_size(const char *s)
{
    return s ? strlen(s) + 1 : 0;
}

static char *put_str(char **cursor, const char *s)
{
    if (!s)
        return NULL;
    size_t n = strlen(s) + 1;
    char *out = *cursor;
    memcpy(out, s, n);
    *cursor += n;
    return out;
}

/* One allocation for the JSON line and a copy of the event's strings. */
static SinkItem *item_make(const VqaEvent *ev)
{
    int len = vqa_event_to_json(ev, NULL, 0);
    if (len < 0)
        return NULL;
    size_t strings = str_size(ev->stream) + str_size(ev->detector) + str_size(ev->kind) +
                     str_size(ev->details_json);
    SinkItem *item = vqa_malloc(sizeof(*item) + (size_t)len + 1 + strings);
    if (!item)
        return NULL;
    atomic_init(&item->refs, 1);
    item->event = *ev;
    char *cursor = item->data;
    vqa_event_to_json(ev, cursor, (size_t)len + 1);
    item->json = cursor;
    item->json_len = (size_t)len;
    cursor += len + 1;
    item->event.stream = put_str(&cursor, ev->stream);
    item->event.detector = put_str(&cursor, ev->detector);
    item->event.kind = put_str(&cursor, ev->kind);
    item->event.details_json = put_str(&cursor, ev->details_json);
    return item;
}

static void item_unref(SinkItem *item)
{
    if (item && atomic_fetch_sub(&item->refs, 1) == 1)
        vqa_free(item);
}

/* ---- small helpers ---- */

/* Count one occurrence; @return the count to log now, or 0 while within the interval. */
static int64_t rate_limit_hit(RateLimit *rl, double now_s)
{
    rl->pending++;
    if (rl->last_s >= 0 && now_s - rl->last_s < WARN_INTERVAL_S)
        return 0;
    rl->last_s = now_s;
    int64_t n = rl->pending;
    rl->pending = 0;
    return n;
}

static void deadline_after(struct timespec *ts, int timeout_ms)
{
    clock_gettime(CLOCK_MONOTONIC, ts);
    ts->tv_sec += timeout_ms / 1000;
    ts->tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
    if (ts->tv_nsec >= 1000000000L) {
        ts->tv_sec++;
        ts->tv_nsec -= 1000000000L;
    }
}

static void cond_init_monotonic(pthread_cond_t *cond)
{
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(cond, &attr);
    pthread_condattr_destroy(&attr);
}

int vqa_sink_backoff_ms(int retry, int initial_ms, int max_ms)
{
    if (retry < 1 || initial_ms <= 0)
        return 0;
    int64_t ms = initial_ms;
    for (int i = 1; i < retry && ms < max_ms; i++)
        ms *= 2;
    return (int)(ms < max_ms ? ms : max_ms);
}

/* ---- the sink's thread ---- */

static SinkItem *pop_locked(VqaSink *s)
{
    SinkItem *item = s->ring[s->head];
    s->ring[s->head] = NULL;
    s->head = (s->head + 1) % s->cap;
    s->stats.queue_length--;
    return item;
}

/* Called with the lock held; releases it around write(). */
static void write_one_locked(VqaSink *s)
{
    SinkItem *item = pop_locked(s);
    s->busy = 1;
    pthread_mutex_unlock(&s->lock);
    int err = s->cls.write(s->opaque, &item->event, item->json, item->json_len);
    item_unref(item);
    pthread_mutex_lock(&s->lock);
    s->busy = 0;
    s->done++;
    s->dirty = 1;
    if (err >= 0) {
        s->stats.events_written++;
        return;
    }
    s->stats.events_failed++;
    int64_t n = rate_limit_hit(&s->failures, vqa_monotonic_s());
    if (n > 0) { /* the logger may be slow: not with the lock held */
        pthread_mutex_unlock(&s->lock);
        vqa_log(s->log, VQA_LOG_WARNING, "sink %s: %lld event(s) not delivered: %s", s->name,
                (long long)n, vqa_strerror(err));
        pthread_mutex_lock(&s->lock);
    }
}

/* Called with the lock held; releases it around flush(). */
static void flush_locked(VqaSink *s)
{
    int64_t mark = s->done;
    s->dirty = 0;
    int err = 0;
    if (s->cls.flush) {
        pthread_mutex_unlock(&s->lock);
        err = s->cls.flush(s->opaque);
        pthread_mutex_lock(&s->lock);
    }
    s->flushed = mark;
    pthread_cond_broadcast(&s->progress);
    if (err < 0) {
        pthread_mutex_unlock(&s->lock);
        vqa_log(s->log, VQA_LOG_WARNING, "sink %s: flush failed: %s", s->name,
                vqa_strerror(err));
        pthread_mutex_lock(&s->lock);
    }
}

static void *sink_main(void *arg)
{
    VqaSink *s = arg;
    vqa_thread_use_c_locale();
    pthread_mutex_lock(&s->lock);
    while (!s->aborting) {
        int asked = s->flush_wanted > s->flushed && s->done >= s->flush_wanted;
        if (s->dirty && (s->stats.queue_length == 0 || asked))
            flush_locked(s);
        else if (s->stats.queue_length > 0)
            write_one_locked(s);
        else if (s->closing)
            break;
        else
            pthread_cond_wait(&s->wake, &s->lock);
    }
    s->finished = 1;
    pthread_cond_broadcast(&s->progress);
    pthread_mutex_unlock(&s->lock);
    return NULL;
}

/* ---- adding ---- */

void vqa_sink_default_settings(VqaSinkSettings *s)
{
    if (!s)
        return;
    memset(s, 0, sizeof(*s));
    s->queue_events = DEFAULT_QUEUE_EVENTS;
    s->close_timeout_ms = DEFAULT_CLOSE_TIMEOUT_MS;
}

static int check_class(const VqaLogger *log, const VqaSinkClass *cls)
{
    if (cls->struct_size > sizeof(VqaSinkClass)) {
        vqa_log(log, VQA_LOG_ERROR, "sink class of %u bytes: built for a newer libvqa "
                "(this one knows %zu)", (unsigned)cls->struct_size, sizeof(VqaSinkClass));
        return VQA_ERROR_PLUGIN_ABI;
    }
    if (cls->struct_size < offsetof(VqaSinkClass, write) + sizeof(cls->write) || !cls->name ||
        !cls->name[0] || !cls->write) {
        vqa_log(log, VQA_LOG_ERROR, "sink class without a name or a write callback");
        return VQA_ERR(EINVAL);
    }
    return 0;
}

static int check_settings(const VqaLogger *log, const char *name, const VqaSinkSettings *s)
{
    if (s->queue_events < 1 || s->queue_events > MAX_QUEUE_EVENTS) {
        vqa_log(log, VQA_LOG_ERROR, "sink %s: queue_events=%d is out of range [1, %d]", name,
                s->queue_events, MAX_QUEUE_EVENTS);
        return VQA_ERR(EINVAL);
    }
    if (s->close_timeout_ms < -1) {
        vqa_log(log, VQA_LOG_ERROR, "sink %s: close_timeout_ms=%d (-1 waits without bound)",
                name, s->close_timeout_ms);
        return VQA_ERR(EINVAL);
    }
    return 0;
}

static void sink_free(VqaSink *s)
{
    if (!s)
        return;
    for (size_t i = 0; s->ring && i < s->cap; i++)
        item_unref(s->ring[i]);
    vqa_free(s->ring);
    vqa_free(s->name);
    pthread_mutex_destroy(&s->lock);
    pthread_cond_destroy(&s->wake);
    pthread_cond_destroy(&s->progress);
    vqa_free(s);
}

static VqaSink *sink_alloc(VqaContext *ctx, const VqaSinkClass *cls, void *opaque,
                           const VqaSinkSettings *settings)
{
    VqaSink *s = vqa_calloc(1, sizeof(*s));
    if (!s)
        return NULL;
    pthread_mutex_init(&s->lock, NULL);
    cond_init_monotonic(&s->wake);
    cond_init_monotonic(&s->progress);
    memcpy(&s->cls, cls, cls->struct_size);
    s->opaque = opaque;
    s->ctx = ctx;
    s->log = &ctx->settings.logger;
    s->settings = *settings;
    s->cap = (size_t)settings->queue_events;
    s->drops.last_s = s->failures.last_s = -1;
    s->name = vqa_strdup(cls->name);
    s->ring = vqa_calloc(s->cap, sizeof(*s->ring));
    s->cls.name = s->name;
    if (!s->name || !s->ring) {
        sink_free(s);
        return NULL;
    }
    return s;
}

static int list_add(VqaContext *ctx, VqaSink *s)
{
    VqaSinkList *list = &ctx->sinks;
    pthread_mutex_lock(&ctx->event_lock);
    if (list->count == list->cap) {
        size_t cap = list->cap ? 2 * list->cap : 4;
        VqaSink **items = vqa_realloc(list->items, cap * sizeof(*items));
        if (!items) {
            pthread_mutex_unlock(&ctx->event_lock);
            return VQA_ERR(ENOMEM);
        }
        list->items = items;
        list->cap = cap;
    }
    list->items[list->count++] = s;
    pthread_mutex_unlock(&ctx->event_lock);
    return 0;
}

static void list_remove(VqaContext *ctx, VqaSink *s)
{
    VqaSinkList *list = &ctx->sinks;
    pthread_mutex_lock(&ctx->event_lock);
    for (size_t i = 0; i < list->count; i++) {
        if (list->items[i] == s) {
            /* Keep the order: sinks added first are served first. */
            memmove(&list->items[i], &list->items[i + 1],
                    (list->count - i - 1) * sizeof(*list->items));
            list->count--;
            break;
        }
    }
    pthread_mutex_unlock(&ctx->event_lock);
}

static int sink_start(VqaSink *s)
{
    int err = s->cls.open ? s->cls.open(s->opaque) : 0;
    if (err < 0) {
        /* The caller gets the code; the sink has likely said more itself. */
        vqa_log(s->log, VQA_LOG_INFO, "sink %s: open failed: %s", s->name, vqa_strerror(err));
        return err;
    }
    if (pthread_create(&s->thread, NULL, sink_main, s) != 0) {
        vqa_log(s->log, VQA_LOG_ERROR, "sink %s: cannot start its thread", s->name);
        return VQA_ERR(EAGAIN);
    }
    pthread_setname_np(s->thread, "vqa-sink");
    return 0;
}

static void sink_stop_thread(VqaSink *s);

int vqa_context_add_sink(VqaContext *ctx, VqaSink **out, const VqaSinkClass *cls, void *opaque,
                         const VqaSinkSettings *settings)
{
    if (out)
        *out = NULL;
    if (!ctx || !cls)
        return VQA_ERR(EINVAL);
    const VqaLogger *log = &ctx->settings.logger;
    int err = check_class(log, cls);
    if (err < 0)
        return err;
    /* From here on close() runs on failure, as the header promises. */
    VqaSinkSettings defaults;
    vqa_sink_default_settings(&defaults);
    if (!settings)
        settings = &defaults;
    err = check_settings(log, cls->name, settings);
    VqaSink *s = err < 0 ? NULL : sink_alloc(ctx, cls, opaque, settings);
    if (err >= 0 && !s)
        err = VQA_ERR(ENOMEM);
    if (err >= 0)
        err = sink_start(s);
    if (err >= 0 && (err = list_add(ctx, s)) < 0)
        sink_stop_thread(s);
    if (err < 0) {
        if (cls->close && cls->struct_size >= offsetof(VqaSinkClass, close) + sizeof(cls->close))
            cls->close(opaque);
        sink_free(s);
        return err;
    }
    vqa_log(log, VQA_LOG_INFO, "sink %s: added (queue %d events)", s->name,
            settings->queue_events);
    if (out)
        *out = s;
    return 0;
}

const VqaLogger *vqa_sink_context_logger(const VqaContext *ctx)
{
    return &ctx->settings.logger;
}

/* ---- dispatch ---- */

static void sink_enqueue(VqaSink *s, SinkItem *item)
{
    pthread_mutex_lock(&s->lock);
    if (item && !s->closing && (size_t)s->stats.queue_length < s->cap) {
        atomic_fetch_add(&item->refs, 1);
        s->ring[(s->head + (size_t)s->stats.queue_length) % s->cap] = item;
        s->stats.queue_length++;
        s->stats.events_queued++;
        pthread_cond_signal(&s->wake);
        pthread_mutex_unlock(&s->lock);
        return;
    }
    s->stats.events_dropped++;
    int64_t n = rate_limit_hit(&s->drops, vqa_monotonic_s());
    int64_t total = s->stats.events_dropped;
    pthread_mutex_unlock(&s->lock);
    if (n > 0)
        vqa_log(s->log, VQA_LOG_WARNING, "sink %s: %s, %lld event(s) dropped (%lld in all)",
                s->name, item ? "queue full" : "out of memory", (long long)n, (long long)total);
}

void vqa_sinks_dispatch(VqaSinkList *list, const VqaEvent *ev)
{
    if (list->count == 0)
        return;
    SinkItem *item = item_make(ev); /* NULL: every sink counts a drop */
    for (size_t i = 0; i < list->count; i++)
        sink_enqueue(list->items[i], item);
    item_unref(item);
}

/* ---- reading ---- */

const char *vqa_sink_name(const VqaSink *sink)
{
    return sink ? sink->name : NULL;
}

void vqa_sink_get_stats(const VqaSink *sink, VqaSinkStats *stats)
{
    if (!stats)
        return;
    memset(stats, 0, sizeof(*stats));
    if (!sink)
        return;
    VqaSink *s = (VqaSink *)sink; /* the lock is the only thing touched */
    pthread_mutex_lock(&s->lock);
    *stats = s->stats;
    pthread_mutex_unlock(&s->lock);
}

int vqa_sink_flush(VqaSink *s, int timeout_ms)
{
    if (!s)
        return VQA_ERR(EINVAL);
    struct timespec deadline;
    if (timeout_ms >= 0)
        deadline_after(&deadline, timeout_ms);
    int err = 0;
    pthread_mutex_lock(&s->lock);
    /* What `done` will be once everything queued so far has been handled. */
    int64_t target = s->done + s->stats.queue_length + s->busy;
    if (s->flush_wanted < target)
        s->flush_wanted = target;
    pthread_cond_signal(&s->wake);
    while (s->flushed < target && !s->finished && err == 0) {
        if (timeout_ms < 0)
            pthread_cond_wait(&s->progress, &s->lock);
        else if (pthread_cond_timedwait(&s->progress, &s->lock, &deadline) == ETIMEDOUT)
            err = VQA_ERR(ETIMEDOUT);
    }
    if (s->flushed < target && err == 0)
        err = VQA_ERR(ETIMEDOUT); /* the thread stopped before getting there */
    pthread_mutex_unlock(&s->lock);
    return err;
}

/* ---- closing ---- */

static void discard_queue_locked(VqaSink *s)
{
    while (s->stats.queue_length > 0) {
        item_unref(pop_locked(s));
        s->stats.events_discarded++;
        s->done++;
    }
}

static void begin_close(VqaSink *s)
{
    pthread_mutex_lock(&s->lock);
    s->closing = 1;
    pthread_cond_signal(&s->wake);
    pthread_mutex_unlock(&s->lock);
}

/* Wait for the thread until the deadline (NULL: without bound), then make it stop. */
static void finish_close(VqaSink *s, const struct timespec *deadline)
{
    pthread_mutex_lock(&s->lock);
    while (!s->finished) {
        if (!deadline) {
            pthread_cond_wait(&s->progress, &s->lock);
        } else if (pthread_cond_timedwait(&s->progress, &s->lock, deadline) == ETIMEDOUT) {
            break;
        }
    }
    if (!s->finished) {
        s->aborting = 1;
        discard_queue_locked(s);
        pthread_cond_signal(&s->wake);
        int busy = s->busy;
        pthread_mutex_unlock(&s->lock);
        vqa_log(s->log, VQA_LOG_WARNING, "sink %s: close timeout (%d ms) passed%s", s->name,
                s->settings.close_timeout_ms,
                busy ? ", interrupting the write in progress" : "");
        if (s->cls.interrupt)
            s->cls.interrupt(s->opaque);
        pthread_mutex_lock(&s->lock);
        while (!s->finished)
            pthread_cond_wait(&s->progress, &s->lock);
    }
    pthread_mutex_unlock(&s->lock);
    pthread_join(s->thread, NULL);
}

static void sink_stop_thread(VqaSink *s)
{
    begin_close(s);
    finish_close(s, NULL);
}

static void log_summary(const VqaSink *s)
{
    const VqaSinkStats *st = &s->stats;
    int lost = st->events_failed + st->events_dropped + st->events_discarded > 0;
    vqa_log(s->log, lost ? VQA_LOG_WARNING : VQA_LOG_INFO,
            "sink %s: closed: %lld event(s) written, %lld failed, %lld dropped (queue full), "
            "%lld discarded at close", s->name, (long long)st->events_written,
            (long long)st->events_failed, (long long)st->events_dropped,
            (long long)st->events_discarded);
}

/* After the thread has stopped: close the implementation, report, free. */
static void sink_release(VqaSink *s, VqaSinkStats *stats)
{
    if (s->cls.close)
        s->cls.close(s->opaque);
    log_summary(s);
    if (stats)
        *stats = s->stats;
    sink_free(s);
}

void vqa_sink_remove(VqaSink **psink, VqaSinkStats *stats)
{
    VqaSink *s = psink ? *psink : NULL;
    if (stats)
        memset(stats, 0, sizeof(*stats));
    if (!s)
        return;
    list_remove(s->ctx, s);
    begin_close(s);
    struct timespec deadline;
    if (s->settings.close_timeout_ms >= 0)
        deadline_after(&deadline, s->settings.close_timeout_ms);
    finish_close(s, s->settings.close_timeout_ms >= 0 ? &deadline : NULL);
    sink_release(s, stats);
    *psink = NULL;
}

void vqa_sinks_close(VqaSinkList *list)
{
    /* Every sink drains at once, each against its own deadline. */
    struct timespec *deadlines = NULL;
    if (list->count)
        deadlines = vqa_calloc(list->count, sizeof(*deadlines));
    for (size_t i = 0; i < list->count; i++) {
        VqaSink *s = list->items[i];
        begin_close(s);
        if (deadlines && s->settings.close_timeout_ms >= 0)
            deadline_after(&deadlines[i], s->settings.close_timeout_ms);
    }
    for (size_t i = 0; i < list->count; i++) {
        VqaSink *s = list->items[i];
        int bounded = s->settings.close_timeout_ms >= 0;
        struct timespec now;
        if (bounded && !deadlines) /* out of memory: no wait at all, but stop */
            clock_gettime(CLOCK_MONOTONIC, &now);
        finish_close(s, !bounded ? NULL : deadlines ? &deadlines[i] : &now);
        sink_release(s, NULL);
    }
    vqa_free(deadlines);
    vqa_free(list->items);
    memset(list, 0, sizeof(*list));
}
