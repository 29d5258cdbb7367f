/*
 * The context: settings, plugins, worker pools, the stream list and the
 * serialised event callback.
 */
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "clocale.h"
#include "clock.h"
#include "internal.h"
#include "logging.h"
#include "mem.h"

#define DEFAULT_QUEUE_FRAMES 16
#define DEFAULT_IO_THREADS 2
/* How often the watch thread looks for stalled live inputs. */
#define WATCH_INTERVAL_NS 100000000

void vqa_default_settings(VqaSettings *s)
{
    if (!s)
        return;
    memset(s, 0, sizeof(*s));
    s->queue_frames = DEFAULT_QUEUE_FRAMES;
    s->logger.level = VQA_LOG_WARNING;
}

static int check_settings(const VqaSettings *s)
{
    const VqaLogger *log = &s->logger;
    if (s->n_threads < 0 || s->n_threads > 1024) {
        vqa_log(log, VQA_LOG_ERROR, "n_threads=%d is out of range [0, 1024]", s->n_threads);
        return VQA_ERR(EINVAL);
    }
    if (s->n_io_threads < 0 || s->n_io_threads > 256) {
        vqa_log(log, VQA_LOG_ERROR, "n_io_threads=%d is out of range [0, 256]", s->n_io_threads);
        return VQA_ERR(EINVAL);
    }
    if (s->queue_frames < 0 || s->queue_frames > 4096) {
        vqa_log(log, VQA_LOG_ERROR, "queue_frames=%d is out of range [0, 4096]", s->queue_frames);
        return VQA_ERR(EINVAL);
    }
    return 0;
}

static int copy_plugin_paths(VqaContext *ctx, const char *const *paths)
{
    size_t n = 0;
    while (paths && paths[n])
        n++;
    ctx->plugin_paths = vqa_calloc(n + 1, sizeof(char *));
    if (!ctx->plugin_paths)
        return VQA_ERR(ENOMEM);
    for (size_t i = 0; i < n; i++)
        if (!(ctx->plugin_paths[i] = vqa_strdup(paths[i])))
            return VQA_ERR(ENOMEM);
    ctx->settings.plugin_paths = (const char *const *)ctx->plugin_paths;
    return 0;
}

static int cores(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n < 1 ? 1 : n > 256 ? 256 : (int)n;
}

/*
 * The watch thread: what only the wall clock can tell about live inputs (a
 * stall). It runs only in contexts that have had a live pull stream.
 */
static void *watch_main(void *arg)
{
    VqaContext *ctx = arg;
    vqa_thread_use_c_locale();
    pthread_mutex_lock(&ctx->lock);
    while (!ctx->watch_stop) {
        struct timespec next;
        clock_gettime(CLOCK_MONOTONIC, &next);
        next.tv_nsec += WATCH_INTERVAL_NS;
        if (next.tv_nsec >= 1000000000L) {
            next.tv_sec++;
            next.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&ctx->watch_cond, &ctx->lock, &next);
        if (ctx->watch_stop)
            break;
        size_t n = ctx->nb_streams;
        VqaStream **list = vqa_malloc((n ? n : 1) * sizeof(*list));
        for (size_t i = 0; list && i < n; i++) {
            list[i] = ctx->streams[i];
            vqa_stream_hold(list[i]);
        }
        pthread_mutex_unlock(&ctx->lock);
        double now = vqa_monotonic_s();
        for (size_t i = 0; list && i < n; i++) {
            vqa_demux_watch(list[i], now);
            vqa_stream_release(list[i]);
        }
        vqa_free(list);
        pthread_mutex_lock(&ctx->lock);
    }
    pthread_mutex_unlock(&ctx->lock);
    return NULL;
}

static void stop_watch(VqaContext *ctx)
{
    pthread_mutex_lock(&ctx->lock);
    int started = ctx->watch_started;
    ctx->watch_stop = 1;
    pthread_cond_broadcast(&ctx->watch_cond);
    pthread_mutex_unlock(&ctx->lock);
    if (started)
        pthread_join(ctx->watch_thread, NULL);
}

int vqa_open(VqaContext **out, const VqaSettings *s)
{
    if (!out || !s)
        return VQA_ERR(EINVAL);
    *out = NULL;
    int err = check_settings(s);
    if (err < 0)
        return err;
    VqaContext *ctx = vqa_calloc(1, sizeof(*ctx));
    if (!ctx)
        return VQA_ERR(ENOMEM);
    ctx->settings = *s;
    if (!ctx->settings.queue_frames)
        ctx->settings.queue_frames = DEFAULT_QUEUE_FRAMES;
    pthread_mutex_init(&ctx->lock, NULL);
    pthread_mutex_init(&ctx->event_lock, NULL);
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&ctx->watch_cond, &attr);
    pthread_condattr_destroy(&attr);
    err = copy_plugin_paths(ctx, s->plugin_paths);
    if (err >= 0)
        err = vqa_registry_open(&ctx->registry, &ctx->settings.logger, ctx->settings.plugin_paths);
    if (err >= 0)
        err = vqa_pool_open(&ctx->compute, s->n_threads ? s->n_threads : cores(), "vqa-work");
    if (err >= 0)
        err = vqa_pool_open(&ctx->io, s->n_io_threads ? s->n_io_threads : DEFAULT_IO_THREADS,
                            "vqa-io");
    if (err < 0) {
        vqa_close(&ctx);
        return err;
    }
    vqa_log(&ctx->settings.logger, VQA_LOG_INFO, "libvqa %s: %d workers, %zu plugins",
            vqa_version(), vqa_pool_threads(ctx->compute), vqa_plugin_count(ctx));
    *out = ctx;
    return 0;
}

void vqa_close(VqaContext **pctx)
{
    VqaContext *ctx = pctx ? *pctx : NULL;
    if (!ctx)
        return;
    /* Stop everything first, so that every open defect is ended, then wait. */
    for (size_t i = 0; i < ctx->nb_streams; i++)
        vqa_stream_stop(ctx->streams[i]);
    for (size_t i = 0; i < ctx->nb_streams; i++)
        vqa_stream_wait(ctx->streams[i], -1);
    stop_watch(ctx);
    /* Joining the pools runs what is still queued; no stream is touched after. */
    vqa_pool_close(&ctx->compute);
    vqa_pool_close(&ctx->io);
    /* No event can come now; before the registry, since a plugin may implement a sink. */
    vqa_sinks_close(&ctx->sinks);
    /* A stream still listed has two references, the list's and the host's
     * handle; vqa_close frees both (the handle is invalid afterwards). */
    for (size_t i = 0; i < ctx->nb_streams; i++) {
        vqa_stream_release(ctx->streams[i]);
        vqa_stream_release(ctx->streams[i]);
    }
    vqa_free(ctx->streams);
    vqa_registry_close(&ctx->registry);
    for (size_t i = 0; ctx->plugin_paths && ctx->plugin_paths[i]; i++)
        vqa_free(ctx->plugin_paths[i]);
    vqa_free(ctx->plugin_paths);
    pthread_mutex_destroy(&ctx->lock);
    pthread_mutex_destroy(&ctx->event_lock);
    pthread_cond_destroy(&ctx->watch_cond);
    vqa_free(ctx);
    *pctx = NULL;
}

int vqa_context_add_stream(VqaContext *ctx, VqaStream *s)
{
    pthread_mutex_lock(&ctx->lock);
    if (ctx->nb_streams == ctx->cap_streams) {
        size_t cap = ctx->cap_streams ? 2 * ctx->cap_streams : 8;
        VqaStream **list = vqa_realloc(ctx->streams, cap * sizeof(*list));
        if (!list) {
            pthread_mutex_unlock(&ctx->lock);
            return VQA_ERR(ENOMEM);
        }
        ctx->streams = list;
        ctx->cap_streams = cap;
    }
    ctx->streams[ctx->nb_streams++] = s;
    int err = 0;
    if (!s->push && (s->settings.live || s->settings.realtime)) {
        /* A live reader blocks its I/O thread while it waits for data: one
         * thread each, plus the base ones for everything else. */
        ctx->blocking_readers++;
        int base = ctx->settings.n_io_threads ? ctx->settings.n_io_threads : DEFAULT_IO_THREADS;
        err = vqa_pool_grow(ctx->io, base + (int)ctx->blocking_readers);
        if (err >= 0 && s->settings.live && !ctx->watch_started && !ctx->watch_stop) {
            err = pthread_create(&ctx->watch_thread, NULL, watch_main, ctx) ? VQA_ERR(EAGAIN) : 0;
            ctx->watch_started = err >= 0;
        }
        if (err < 0) {
            ctx->nb_streams--;
            ctx->blocking_readers--;
        }
    }
    pthread_mutex_unlock(&ctx->lock);
    return err;
}

void vqa_context_remove_stream(VqaContext *ctx, VqaStream *s)
{
    int found = 0;
    pthread_mutex_lock(&ctx->lock);
    for (size_t i = 0; i < ctx->nb_streams; i++) {
        if (ctx->streams[i] == s) {
            ctx->streams[i] = ctx->streams[--ctx->nb_streams];
            found = 1;
            break;
        }
    }
    pthread_mutex_unlock(&ctx->lock);
    if (found)
        vqa_stream_release(s); /* the list's reference */
}

void vqa_context_dispatch(VqaContext *ctx, const VqaEvent *ev)
{
    pthread_mutex_lock(&ctx->event_lock);
    vqa_sinks_dispatch(&ctx->sinks, ev); /* only copies: a sink never holds the caller up */
    if (ctx->settings.on_event)
        ctx->settings.on_event(ctx->settings.event_cookie, ev);
    pthread_mutex_unlock(&ctx->event_lock);
}

size_t vqa_plugin_count(const VqaContext *ctx)
{
    return ctx ? vqa_registry_plugin_count(ctx->registry) : 0;
}

const VqaPluginInfo *vqa_plugin_get(const VqaContext *ctx, size_t i)
{
    if (!ctx || i >= vqa_registry_plugin_count(ctx->registry))
        return NULL;
    return vqa_registry_plugin(ctx->registry, i);
}

size_t vqa_plugin_failure_count(const VqaContext *ctx)
{
    return ctx ? vqa_registry_failure_count(ctx->registry) : 0;
}

const VqaPluginFailure *vqa_plugin_failure_get(const VqaContext *ctx, size_t i)
{
    return ctx && i < vqa_registry_failure_count(ctx->registry)
               ? vqa_registry_failure(ctx->registry, i)
               : NULL;
}

const VqaDetectorClass *vqa_detector_find(const VqaContext *ctx, const char *name)
{
    return ctx && name ? vqa_registry_find(ctx->registry, name) : NULL;
}

int vqa_detector_spec_check(const VqaContext *ctx, const char *spec, char *msg, size_t msg_size)
{
    if (!ctx)
        return VQA_ERR(EINVAL);
    char local[512];
    VqaSpec parsed = { 0 };
    int err = vqa_spec_parse(ctx->registry, spec, &parsed, msg ? msg : local,
                             msg ? msg_size : sizeof(local));
    vqa_spec_free(&parsed);
    return err;
}
