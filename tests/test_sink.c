/*
 * Event sinks: a sink written against the public interface, the queue and
 * its drop accounting, flushing and the bounded close, and the JSON Lines
 * sink's rotation. Events are dispatched the way the library does it
 * (vqa_context_dispatch), from the test's own threads.
 */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "internal.h"
#include "sink_support.h"
#include "sinks.h"
#include "vqa/vqa.h"

/* Generous bounds that only catch a hang. */
#define LIVENESS_MS 30000

/* ---- a sink implemented by the test, through the public interface ---- */

typedef struct Recorder {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    Lines lines;            /* the JSON of every write, in order */
    int opens, closes, flushes, interrupts;
    int writes_entered;
    int block;              /* writes wait while set (and not interrupted) */
    int interrupted;
    int fail;               /* write returns VQA_ERR(EIO) */
    int open_result;
    int mismatches;         /* json that is not vqa_event_to_json(event), or bad order */
    int flushed_after_last; /* a flush came after the latest write */
    pthread_t adder;        /* the thread that added the sink */
    int on_adder_thread;    /* writes that ran on it (must be none) */
    int after_close;        /* callbacks after close (must be none) */
} Recorder;

static void recorder_init(Recorder *r)
{
    memset(r, 0, sizeof(*r));
    pthread_mutex_init(&r->lock, NULL);
    pthread_cond_init(&r->cond, NULL);
    r->adder = pthread_self();
}

static void recorder_free(Recorder *r)
{
    lines_free(&r->lines);
    pthread_mutex_destroy(&r->lock);
    pthread_cond_destroy(&r->cond);
}

static int rec_open(void *opaque)
{
    Recorder *r = opaque;
    pthread_mutex_lock(&r->lock);
    r->opens++;
    pthread_mutex_unlock(&r->lock);
    return r->open_result;
}

static int rec_write(void *opaque, const VqaEvent *event, const char *json, size_t json_len)
{
    Recorder *r = opaque;
    char expected[8192];
    int n = vqa_event_to_json(event, expected, sizeof(expected));
    pthread_mutex_lock(&r->lock);
    r->writes_entered++;
    pthread_cond_broadcast(&r->cond);
    while (r->block && !r->interrupted)
        pthread_cond_wait(&r->cond, &r->lock);
    if (n < 0 || (size_t)n != json_len || strlen(json) != json_len || strcmp(json, expected))
        r->mismatches++;
    r->on_adder_thread += pthread_equal(pthread_self(), r->adder) != 0;
    r->after_close += r->closes > 0;
    lines_add(&r->lines, json, json_len);
    r->flushed_after_last = 0;
    int ret = r->interrupted ? VQA_ERR(ECANCELED) : r->fail ? VQA_ERR(EIO) : 0;
    pthread_mutex_unlock(&r->lock);
    return ret;
}

static int rec_flush(void *opaque)
{
    Recorder *r = opaque;
    pthread_mutex_lock(&r->lock);
    r->flushes++;
    r->flushed_after_last = 1;
    r->after_close += r->closes > 0;
    pthread_cond_broadcast(&r->cond);
    pthread_mutex_unlock(&r->lock);
    return 0;
}

static void rec_close(void *opaque)
{
    Recorder *r = opaque;
    pthread_mutex_lock(&r->lock);
    r->closes++;
    pthread_mutex_unlock(&r->lock);
}

static void rec_interrupt(void *opaque)
{
    Recorder *r = opaque;
    pthread_mutex_lock(&r->lock);
    r->interrupts++;
    r->interrupted = 1;
    pthread_cond_broadcast(&r->cond);
    pthread_mutex_unlock(&r->lock);
}

static const VqaSinkClass recorder_class = {
    .struct_size = sizeof(VqaSinkClass),
    .name = "recorder",
    .open = rec_open,
    .write = rec_write,
    .flush = rec_flush,
    .close = rec_close,
    .interrupt = rec_interrupt,
};

static void wait_writes_entered(Recorder *r, int n)
{
    pthread_mutex_lock(&r->lock);
    while (r->writes_entered < n)
        pthread_cond_wait(&r->cond, &r->lock);
    pthread_mutex_unlock(&r->lock);
}

static void unblock(Recorder *r)
{
    pthread_mutex_lock(&r->lock);
    r->block = 0;
    pthread_cond_broadcast(&r->cond);
    pthread_mutex_unlock(&r->lock);
}

/* ---- context and events ---- */

typedef struct Fixture {
    VqaContext *ctx;
    Lines callback;   /* what the event callback saw, as JSON lines */
    LogCapture log;
} Fixture;

static void fixture_open(Fixture *f)
{
    memset(f, 0, sizeof(*f));
    log_capture_init(&f->log);
    VqaSettings s;
    vqa_default_settings(&s);
    s.n_threads = 1;
    s.on_event = collect_json;
    s.event_cookie = &f->callback;
    s.logger = log_capture_logger(&f->log, VQA_LOG_INFO);
    assert_int_equal(vqa_open(&f->ctx, &s), 0);
}

static void fixture_close(Fixture *f)
{
    vqa_close(&f->ctx);
    assert_null(f->ctx);
    lines_free(&f->callback);
    log_capture_free(&f->log);
}

static void dispatch_range(VqaContext *ctx, int from, int to, int pad_max)
{
    for (int i = from; i < to; i++) {
        char buf[4096];
        VqaEvent ev;
        synthetic_event(i, pad_max, &ev, buf, sizeof(buf));
        vqa_context_dispatch(ctx, &ev);
    }
}

static VqaSinkStats stats_of(const VqaSink *sink)
{
    VqaSinkStats st;
    vqa_sink_get_stats(sink, &st);
    return st;
}

/* ---- tests ---- */

static void test_backoff_schedule(void **state)
{
    (void)state;
    assert_int_equal(vqa_sink_backoff_ms(1, 500, 10000), 500);
    assert_int_equal(vqa_sink_backoff_ms(2, 500, 10000), 1000);
    assert_int_equal(vqa_sink_backoff_ms(3, 500, 10000), 2000);
    assert_int_equal(vqa_sink_backoff_ms(5, 500, 10000), 8000);
    assert_int_equal(vqa_sink_backoff_ms(6, 500, 10000), 10000); /* capped, not 16000 */
    assert_int_equal(vqa_sink_backoff_ms(100, 500, 10000), 10000); /* no overflow */
    assert_int_equal(vqa_sink_backoff_ms(0, 500, 10000), 0);
    assert_int_equal(vqa_sink_backoff_ms(3, 0, 10000), 0);
    assert_int_equal(vqa_sink_backoff_ms(4, 3000, 3000), 3000);
}

typedef struct Dispatcher {
    VqaContext *ctx;
    int from, to;
} Dispatcher;

static void *dispatch_thread(void *arg)
{
    Dispatcher *d = arg;
    dispatch_range(d->ctx, d->from, d->to, 120);
    return NULL;
}

/* A host's sink sees every event once, as the callback does and in its order, on
 * its own thread, with the JSON the library writes; a second sink comes and goes
 * while events flow. */
static void test_custom_sink_sees_every_event_in_callback_order(void **state)
{
    (void)state;
    Fixture f;
    fixture_open(&f);
    Recorder r, r2;
    recorder_init(&r);
    recorder_init(&r2);
    VqaSink *sink = NULL, *sink2 = NULL;
    VqaSinkSettings ss;
    vqa_sink_default_settings(&ss);
    ss.queue_events = 5000; /* nothing may be dropped here */
    assert_int_equal(vqa_context_add_sink(f.ctx, &sink, &recorder_class, &r, &ss), 0);
    assert_string_equal(vqa_sink_name(sink), "recorder");
    assert_int_equal(r.opens, 1);

    Dispatcher d[2] = { { f.ctx, 0, 1000 }, { f.ctx, 1000, 2000 } };
    pthread_t threads[2];
    for (int i = 0; i < 2; i++)
        assert_int_equal(pthread_create(&threads[i], NULL, dispatch_thread, &d[i]), 0);
    assert_int_equal(vqa_context_add_sink(f.ctx, &sink2, &recorder_class, &r2, &ss), 0);
    dispatch_range(f.ctx, 2000, 2010, 120);
    VqaSinkStats final2;
    vqa_sink_remove(&sink2, &final2);
    assert_null(sink2);
    for (int i = 0; i < 2; i++)
        pthread_join(threads[i], NULL);

    assert_int_equal(vqa_sink_flush(sink, LIVENESS_MS), 0);
    VqaSinkStats st = stats_of(sink);
    assert_int_equal(st.events_queued, 2010);
    assert_int_equal(st.events_written, 2010);
    assert_int_equal(st.events_dropped + st.events_failed + st.events_discarded, 0);
    assert_int_equal(st.queue_length, 0);
    pthread_mutex_lock(&r.lock);
    assert_true(lines_equal(&r.lines, &f.callback));
    assert_true(r.flushed_after_last);
    pthread_mutex_unlock(&r.lock);
    assert_int_equal(r.mismatches, 0);
    assert_int_equal(r.on_adder_thread, 0);

    /* The removed sink got a contiguous run of the same sequence, and its counts. */
    assert_int_equal(r2.opens, 1);
    assert_int_equal(r2.closes, 1);
    assert_int_equal(final2.events_written, (int64_t)r2.lines.n);
    assert_true(r2.lines.n >= 10);
    size_t first = 0;
    while (first < f.callback.n && strcmp(f.callback.v[first], r2.lines.v[0]))
        first++;
    assert_true(first + r2.lines.n <= f.callback.n);
    for (size_t i = 0; i < r2.lines.n; i++)
        assert_string_equal(r2.lines.v[i], f.callback.v[first + i]);
    assert_int_equal(r2.after_close, 0);

    fixture_close(&f);
    assert_int_equal(r.closes, 1);
    assert_int_equal(r.after_close, 0);
    recorder_free(&r);
    recorder_free(&r2);
}

static int count_close;

static void counting_close(void *opaque)
{
    (void)opaque;
    count_close++;
}

static int failing_open(void *opaque)
{
    (void)opaque;
    return VQA_ERR(EACCES);
}

static int noop_write(void *opaque, const VqaEvent *ev, const char *json, size_t len)
{
    (void)opaque, (void)ev, (void)json, (void)len;
    return 0;
}

/* The vtable is checked like a detector class: sizes, required callbacks; close runs
 * after any failure once the class was accepted. */
static void test_class_and_settings_checks(void **state)
{
    (void)state;
    Fixture f;
    fixture_open(&f);
    VqaSink *sink = (VqaSink *)&f; /* must be reset on failure */

    VqaSinkClass cls = { sizeof(VqaSinkClass), "checked", NULL, noop_write, NULL,
                         counting_close, NULL };
    VqaSinkClass bad = cls;
    bad.write = NULL;
    count_close = 0;
    assert_int_equal(vqa_context_add_sink(f.ctx, &sink, &bad, NULL, NULL), VQA_ERR(EINVAL));
    assert_null(sink);
    bad = cls;
    bad.name = "";
    assert_int_equal(vqa_context_add_sink(f.ctx, &sink, &bad, NULL, NULL), VQA_ERR(EINVAL));
    bad = cls;
    bad.struct_size = sizeof(VqaSinkClass) + 8; /* built for a newer libvqa */
    assert_int_equal(vqa_context_add_sink(f.ctx, &sink, &bad, NULL, NULL), VQA_ERROR_PLUGIN_ABI);
    assert_int_equal(vqa_context_add_sink(NULL, &sink, &cls, NULL, NULL), VQA_ERR(EINVAL));
    assert_int_equal(vqa_context_add_sink(f.ctx, &sink, NULL, NULL, NULL), VQA_ERR(EINVAL));
    assert_int_equal(count_close, 0); /* not accepted: close is not ours to call */

    VqaSinkSettings ss;
    vqa_sink_default_settings(&ss);
    assert_int_equal(ss.queue_events, 1024);
    assert_int_equal(ss.close_timeout_ms, 2000);
    ss.queue_events = 0;
    assert_int_equal(vqa_context_add_sink(f.ctx, &sink, &cls, NULL, &ss), VQA_ERR(EINVAL));
    assert_int_equal(count_close, 1);
    vqa_sink_default_settings(&ss);
    ss.close_timeout_ms = -2;
    assert_int_equal(vqa_context_add_sink(f.ctx, &sink, &cls, NULL, &ss), VQA_ERR(EINVAL));
    assert_int_equal(count_close, 2);
    bad = cls;
    bad.open = failing_open;
    assert_int_equal(vqa_context_add_sink(f.ctx, &sink, &bad, NULL, NULL), VQA_ERR(EACCES));
    assert_int_equal(count_close, 3);
    assert_null(sink);
    const char *const open_failed[] = { "sink checked: open failed", "permission denied", NULL };
    assert_int_equal(log_capture_count(&f.log, open_failed), 1);

    /* A class built before interrupt() existed: shorter, still served. */
    VqaSinkClass old = cls;
    old.struct_size = offsetof(VqaSinkClass, interrupt);
    assert_int_equal(vqa_context_add_sink(f.ctx, &sink, &old, NULL, NULL), 0);
    dispatch_range(f.ctx, 0, 3, 10);
    assert_int_equal(vqa_sink_flush(sink, LIVENESS_MS), 0);
    assert_int_equal(stats_of(sink).events_written, 3);
    vqa_sink_remove(&sink, NULL);
    assert_int_equal(count_close, 4);
    vqa_sink_remove(NULL, NULL); /* no-op */
    fixture_close(&f);
    assert_int_equal(count_close, 4);
}

/* A full queue drops, counts and says so, rate-limited; the dispatch never waits. */
static void test_queue_full_drops_are_counted_and_logged(void **state)
{
    (void)state;
    Fixture f;
    fixture_open(&f);
    Recorder r;
    recorder_init(&r);
    r.block = 1;
    VqaSinkSettings ss;
    vqa_sink_default_settings(&ss);
    ss.queue_events = 4;
    VqaSink *sink = NULL;
    assert_int_equal(vqa_context_add_sink(f.ctx, &sink, &recorder_class, &r, &ss), 0);
    dispatch_range(f.ctx, 0, 1, 10);
    wait_writes_entered(&r, 1); /* event 0 is in write(), held there */
    dispatch_range(f.ctx, 1, 11, 10);

    VqaSinkStats st = stats_of(sink);
    assert_int_equal(st.events_queued, 5);  /* 1 in write() + 4 queued */
    assert_int_equal(st.queue_length, 4);
    assert_int_equal(st.events_dropped, 6);
    assert_int_equal(st.events_written, 0);
    assert_int_equal(f.callback.n, 11);     /* the callback missed nothing */
    const char *const dropped[] = { "warning", "sink recorder", "queue full", NULL };
    int lines = log_capture_count(&f.log, dropped);
    assert_true(lines >= 1 && lines < 6);   /* not one line per drop */

    unblock(&r);
    assert_int_equal(vqa_sink_flush(sink, LIVENESS_MS), 0);
    st = stats_of(sink);
    assert_int_equal(st.events_written, 5);
    assert_int_equal(st.events_dropped, 6);
    /* The survivors are the first five, in order. */
    assert_int_equal(r.lines.n, 5);
    for (size_t i = 0; i < 5; i++)
        assert_string_equal(r.lines.v[i], f.callback.v[i]);
    VqaSinkStats final;
    vqa_sink_remove(&sink, &final);
    assert_int_equal(final.events_dropped, 6);
    const char *const summary[] = { "warning", "sink recorder: closed", "5 event(s) written",
                                    "6 dropped", NULL };
    assert_int_equal(log_capture_count(&f.log, summary), 1);
    fixture_close(&f);
    recorder_free(&r);
}

/* Write failures are counted, and logged with the reason. */
static void test_failed_writes_are_counted(void **state)
{
    (void)state;
    Fixture f;
    fixture_open(&f);
    Recorder r;
    recorder_init(&r);
    r.fail = 1;
    VqaSink *sink = NULL;
    assert_int_equal(vqa_context_add_sink(f.ctx, &sink, &recorder_class, &r, NULL), 0);
    dispatch_range(f.ctx, 0, 7, 10);
    assert_int_equal(vqa_sink_flush(sink, LIVENESS_MS), 0);
    VqaSinkStats st = stats_of(sink);
    assert_int_equal(st.events_failed, 7);
    assert_int_equal(st.events_written, 0);
    const char *const failed[] = { "warning", "not delivered", "input/output error", NULL };
    assert_true(log_capture_count(&f.log, failed) >= 1);
    fixture_close(&f);
    recorder_free(&r);
}

/* vqa_sink_flush waits for the write in progress, within its timeout. */
static void test_flush_waits_for_writes(void **state)
{
    (void)state;
    Fixture f;
    fixture_open(&f);
    Recorder r;
    recorder_init(&r);
    r.block = 1;
    VqaSink *sink = NULL;
    assert_int_equal(vqa_context_add_sink(f.ctx, &sink, &recorder_class, &r, NULL), 0);
    assert_int_equal(vqa_sink_flush(sink, 0), 0); /* nothing queued: done already */
    dispatch_range(f.ctx, 0, 2, 10);
    wait_writes_entered(&r, 1);
    assert_int_equal(vqa_sink_flush(sink, 20), VQA_ERR(ETIMEDOUT));
    unblock(&r);
    assert_int_equal(vqa_sink_flush(sink, -1), 0);
    pthread_mutex_lock(&r.lock);
    assert_int_equal(r.lines.n, 2);
    assert_true(r.flushed_after_last);
    pthread_mutex_unlock(&r.lock);
    assert_int_equal(vqa_sink_flush(NULL, 0), VQA_ERR(EINVAL));
    fixture_close(&f);
    recorder_free(&r);
}

/* Past the close timeout the queue is discarded and interrupt() ends the write. */
static void test_close_timeout_discards_and_interrupts(void **state)
{
    (void)state;
    Fixture f;
    fixture_open(&f);
    Recorder r;
    recorder_init(&r);
    r.block = 1;
    VqaSinkSettings ss;
    vqa_sink_default_settings(&ss);
    ss.close_timeout_ms = 50;
    VqaSink *sink = NULL;
    assert_int_equal(vqa_context_add_sink(f.ctx, &sink, &recorder_class, &r, &ss), 0);
    dispatch_range(f.ctx, 0, 4, 10);
    wait_writes_entered(&r, 1);
    VqaSinkStats final;
    vqa_sink_remove(&sink, &final);
    assert_int_equal(r.interrupts, 1);
    assert_int_equal(r.closes, 1);
    assert_int_equal(final.events_queued, 4);
    assert_int_equal(final.events_failed, 1);    /* the interrupted write */
    assert_int_equal(final.events_discarded, 3);
    assert_int_equal(final.events_written, 0);
    const char *const timeout[] = { "sink recorder: close timeout (50 ms)", NULL };
    assert_int_equal(log_capture_count(&f.log, timeout), 1);

    /* The same through vqa_close, which reports it in the log. */
    Recorder r2;
    recorder_init(&r2);
    r2.block = 1;
    assert_int_equal(vqa_context_add_sink(f.ctx, NULL, &recorder_class, &r2, &ss), 0);
    dispatch_range(f.ctx, 0, 6, 10);
    wait_writes_entered(&r2, 1);
    vqa_close(&f.ctx);
    assert_int_equal(r2.interrupts, 1);
    assert_int_equal(r2.closes, 1);
    const char *const summary[] = { "sink recorder: closed", "1 failed", "5 discarded", NULL };
    assert_int_equal(log_capture_count(&f.log, summary), 1);
    fixture_close(&f);
    recorder_free(&r);
    recorder_free(&r2);
}

static int slow_write(void *opaque, const VqaEvent *ev, const char *json, size_t len)
{
    usleep(1000);
    return rec_write(opaque, ev, json, len);
}

/* Without a bound (close_timeout_ms = -1) vqa_close writes everything first. */
static void test_close_drains_the_queue(void **state)
{
    (void)state;
    Fixture f;
    fixture_open(&f);
    Recorder r;
    recorder_init(&r);
    VqaSinkClass cls = recorder_class;
    cls.write = slow_write;
    VqaSinkSettings ss;
    vqa_sink_default_settings(&ss);
    ss.close_timeout_ms = -1;
    assert_int_equal(vqa_context_add_sink(f.ctx, NULL, &cls, &r, &ss), 0);
    dispatch_range(f.ctx, 0, 200, 50);
    Lines expected = f.callback;
    memset(&f.callback, 0, sizeof(f.callback));
    vqa_close(&f.ctx);
    assert_true(lines_equal(&r.lines, &expected));
    assert_true(r.flushed_after_last);
    assert_int_equal(r.interrupts, 0);
    assert_int_equal(r.closes, 1);
    assert_int_equal(r.after_close, 0);
    lines_free(&expected);
    fixture_close(&f);
    recorder_free(&r);
}

/* ---- the JSON Lines sink ---- */

static size_t file_size(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (size_t)st.st_size : (size_t)-1;
}

static char *numbered(const char *path, int n)
{
    char *p = malloc(strlen(path) + 16);
    assert_non_null(p);
    if (n == 0)
        sprintf(p, "%s", path);
    else
        sprintf(p, "%s.%d", path, n);
    return p;
}

/* Read path.(n_files-1) … path.1, path (oldest first) into one list. */
static void read_rotated(const char *path, int n_files, Lines *out, size_t max_bytes,
                         int *single_line_files)
{
    for (int i = n_files - 1; i >= 0; i--) {
        char *p = numbered(path, i);
        Lines one = { 0 };
        assert_int_equal(lines_read_file(p, &one), 0);
        size_t size = file_size(p);
        if (size > max_bytes) {
            assert_int_equal(one.n, 1); /* only a line longer than the limit overshoots */
            (*single_line_files)++;
        }
        for (size_t k = 0; k < one.n; k++)
            lines_add(out, one.v[k], strlen(one.v[k]));
        lines_free(&one);
        free(p);
    }
}

static int count_files(const char *path)
{
    int n = 0;
    for (;; n++) {
        char *p = numbered(path, n);
        int exists = access(p, F_OK) == 0;
        free(p);
        if (!exists)
            return n;
    }
}

static VqaSink *add_jsonl(VqaContext *ctx, const char *path, int64_t max_bytes, int keep)
{
    VqaJsonlSinkSettings js;
    vqa_jsonl_sink_default_settings(&js);
    assert_int_equal(js.keep, 5);
    assert_int_equal(js.max_bytes, 0);
    js.path = path;
    js.max_bytes = max_bytes;
    js.keep = keep;
    VqaSinkSettings ss;
    vqa_sink_default_settings(&ss);
    ss.queue_events = 10000;
    VqaSink *sink = NULL;
    assert_int_equal(vqa_context_add_jsonl_sink(ctx, &sink, &js, &ss), 0);
    assert_string_equal(vqa_sink_name(sink), "jsonl");
    return sink;
}

/* Small files rotate; across path.N … path every event is there once, in order. */
static void test_jsonl_rotation_keeps_every_event_in_order(void **state)
{
    (void)state;
    Fixture f;
    fixture_open(&f);
    char *dir = temp_dir("rotate");
    assert_non_null(dir);
    char *path = path_join(dir, "events.jsonl");
    VqaSink *sink = add_jsonl(f.ctx, path, 1000, 1000);
    dispatch_range(f.ctx, 0, 150, 200);
    /* One line longer than max_bytes gets a file of its own. */
    dispatch_range(f.ctx, 150, 151, 2000);
    dispatch_range(f.ctx, 151, 300, 200);
    assert_int_equal(vqa_sink_flush(sink, LIVENESS_MS), 0);
    VqaSinkStats st;
    vqa_sink_remove(&sink, &st);
    assert_int_equal(st.events_written, 300);

    int n_files = count_files(path);
    assert_true(n_files > 20); /* ~60 KB of events in files of at most 1000 bytes */
    Lines all = { 0 };
    int single = 0;
    read_rotated(path, n_files, &all, 1000, &single);
    assert_int_equal(single, 1);
    assert_true(lines_equal(&all, &f.callback));
    /* Files are filled before they rotate: only the one cut short by the long line
     * holds less than half the limit (the newest, path, is still being written). */
    int small = 0;
    for (int i = 1; i < n_files; i++) {
        char *p = numbered(path, i);
        small += file_size(p) <= 500;
        free(p);
    }
    assert_true(small <= 1);
    lines_free(&all);
    remove_dir(dir);
    free(path);
    free(dir);
    fixture_close(&f);
}

/* keep=N keeps the newest N full files; keep=0 keeps only the file being written. */
static void test_jsonl_keep_limit_drops_the_oldest(void **state)
{
    (void)state;
    for (int keep = 0; keep <= 2; keep += 2) {
        Fixture f;
        fixture_open(&f);
        char *dir = temp_dir("keep");
        char *path = path_join(dir, "events.jsonl");
        VqaSink *sink = add_jsonl(f.ctx, path, 600, keep);
        dispatch_range(f.ctx, 0, 100, 100);
        vqa_sink_remove(&sink, NULL);
        assert_int_equal(count_files(path), keep + 1);
        Lines kept = { 0 };
        int single = 0;
        read_rotated(path, keep + 1, &kept, 600, &single);
        assert_int_equal(single, 0);
        /* A run of the newest events, ending with the last one. */
        assert_true(kept.n > 0 && kept.n < f.callback.n);
        size_t offset = f.callback.n - kept.n;
        for (size_t i = 0; i < kept.n; i++)
            assert_string_equal(kept.v[i], f.callback.v[offset + i]);
        assert_true(file_size(path) <= 600);
        lines_free(&kept);
        remove_dir(dir);
        free(path);
        free(dir);
        fixture_close(&f);
    }
}

/* An existing file is appended to; a path that cannot be opened fails the add. */
static void test_jsonl_appends_and_reports_open_errors(void **state)
{
    (void)state;
    Fixture f;
    fixture_open(&f);
    char *dir = temp_dir("append");
    char *path = path_join(dir, "events.jsonl");
    FILE *file = fopen(path, "w");
    assert_non_null(file);
    fputs("{\"earlier\":true}\n", file);
    fclose(file);
    VqaSink *sink = add_jsonl(f.ctx, path, 0, 5);
    dispatch_range(f.ctx, 0, 3, 10);
    vqa_sink_remove(&sink, NULL);
    Lines lines = { 0 };
    assert_int_equal(lines_read_file(path, &lines), 0);
    assert_int_equal(lines.n, 4);
    assert_string_equal(lines.v[0], "{\"earlier\":true}");
    assert_string_equal(lines.v[3], f.callback.v[2]);
    lines_free(&lines);

    VqaJsonlSinkSettings js;
    vqa_jsonl_sink_default_settings(&js);
    char *missing = path_join(dir, "no/such/dir.jsonl");
    js.path = missing;
    assert_int_equal(vqa_context_add_jsonl_sink(f.ctx, &sink, &js, NULL), VQA_ERR(ENOENT));
    assert_null(sink);
    const char *const reason[] = { "error", "cannot open", "no/such/dir.jsonl", NULL };
    assert_int_equal(log_capture_count(&f.log, reason), 1);
    js.path = NULL;
    assert_int_equal(vqa_context_add_jsonl_sink(f.ctx, &sink, &js, NULL), VQA_ERR(EINVAL));
    js.path = path;
    js.keep = -1;
    assert_int_equal(vqa_context_add_jsonl_sink(f.ctx, &sink, &js, NULL), VQA_ERR(EINVAL));
    js.keep = 1;
    js.max_bytes = -5;
    assert_int_equal(vqa_context_add_jsonl_sink(f.ctx, &sink, &js, NULL), VQA_ERR(EINVAL));
    assert_int_equal(vqa_context_add_jsonl_sink(NULL, &sink, &js, NULL), VQA_ERR(EINVAL));
    free(missing);
    remove_dir(dir);
    free(path);
    free(dir);
    fixture_close(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_backoff_schedule),
        cmocka_unit_test(test_custom_sink_sees_every_event_in_callback_order),
        cmocka_unit_test(test_class_and_settings_checks),
        cmocka_unit_test(test_queue_full_drops_are_counted_and_logged),
        cmocka_unit_test(test_failed_writes_are_counted),
        cmocka_unit_test(test_flush_waits_for_writes),
        cmocka_unit_test(test_close_timeout_discards_and_interrupts),
        cmocka_unit_test(test_close_drains_the_queue),
        cmocka_unit_test(test_jsonl_rotation_keeps_every_event_in_order),
        cmocka_unit_test(test_jsonl_keep_limit_drops_the_oldest),
        cmocka_unit_test(test_jsonl_appends_and_reports_open_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
