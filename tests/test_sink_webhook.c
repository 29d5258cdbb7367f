/*
 * The webhook sink against receivers the test runs on loopback (one that
 * answers, one that fails first, one that accepts and never answers, and a
 * port where nothing listens), and whole scans with every kind of sink: the
 * same events reach the callback, the JSON Lines file and the webhook, and
 * dead endpoints cost lost webhook events, never a slower or incomplete scan.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "http_receiver.h"
#include "internal.h"
#include "media.h"
#include "sink_support.h"
#include "vqa/vqa.h"

/* Generous bounds that only catch a hang. */
#define LIVENESS_MS 60000

typedef struct Fixture {
    VqaContext *ctx;
    Lines callback;
    LogCapture log;
} Fixture;

static char *clip_path;

static void fixture_open(Fixture *f, int threads)
{
    memset(f, 0, sizeof(*f));
    log_capture_init(&f->log);
    VqaSettings s;
    vqa_default_settings(&s);
    s.n_threads = threads;
    s.on_event = collect_json;
    s.event_cookie = &f->callback;
    s.logger = log_capture_logger(&f->log, VQA_LOG_INFO);
    assert_int_equal(vqa_open(&f->ctx, &s), 0);
}

static void fixture_close(Fixture *f)
{
    vqa_close(&f->ctx);
    lines_free(&f->callback);
    log_capture_free(&f->log);
}

static VqaWebhookSinkSettings webhook_settings(const char *url)
{
    VqaWebhookSinkSettings w;
    vqa_webhook_sink_default_settings(&w);
    w.url = url;
    return w;
}

#if VQA_TEST_WEBHOOK

static void dispatch_range(VqaContext *ctx, int from, int to)
{
    for (int i = from; i < to; i++) {
        char buf[4096];
        VqaEvent ev;
        synthetic_event(i, 300, &ev, buf, sizeof(buf));
        vqa_context_dispatch(ctx, &ev);
    }
}

static VqaSinkStats stats_of(const VqaSink *sink)
{
    VqaSinkStats st;
    vqa_sink_get_stats(sink, &st);
    return st;
}

/* Every request's body, in the order received. */
static void receiver_bodies(HttpReceiver *r, Lines *out)
{
    size_t n = receiver_count(r);
    for (size_t i = 0; i < n; i++) {
        ReceiverRequest req;
        assert_int_equal(receiver_request(r, i, &req), 0);
        lines_add(out, req.body, req.body_len);
        receiver_request_free(&req);
    }
}

/* Run one pull stream of the defect clip to its end. */
static void scan_clip(VqaContext *ctx)
{
    VqaStreamSettings ss;
    vqa_stream_default_settings(&ss);
    ss.url = clip_path;
    ss.id = "clip";
    VqaStream *st = NULL;
    assert_int_equal(vqa_stream_add(ctx, &st, &ss), 0);
    assert_int_equal(vqa_stream_wait(st, -1), 0); /* the scan completes, without error */
    vqa_stream_remove(&st);
}

/* A receiver on loopback (see receiver_start) and its URL for path. */
static HttpReceiver *start_receiver(ReceiverMode mode, int fail_first, int fail_status,
                                   const char *path, char *url, size_t url_size)
{
    HttpReceiver *rx = receiver_start(mode, fail_first, fail_status);
    assert_non_null(rx);
    receiver_url(rx, path, url, url_size);
    return rx;
}

/* Each event is POSTed once, as its JSON line, with the headers asked for. */
static void test_webhook_posts_each_event_once(void **state)
{
    (void)state;
    Fixture f;
    fixture_open(&f, 1);
    char url[128];
    HttpReceiver *rx = start_receiver(RECEIVER_ANSWER, 0, 0, "/hook", url, sizeof(url));
    static const char *const headers[] = { "X-Test: token-42", NULL };
    VqaWebhookSinkSettings w = webhook_settings(url);
    assert_int_equal(w.timeout_ms, 5000);
    assert_int_equal(w.max_retries, 3);
    w.headers = headers;
    VqaSink *sink = NULL;
    assert_int_equal(vqa_context_add_webhook_sink(f.ctx, &sink, &w, NULL), 0);
    assert_string_equal(vqa_sink_name(sink), "webhook");
    dispatch_range(f.ctx, 0, 100);
    assert_int_equal(vqa_sink_flush(sink, LIVENESS_MS), 0);
    VqaSinkStats st = stats_of(sink);
    assert_int_equal(st.events_written, 100);
    assert_int_equal(st.events_failed + st.events_dropped, 0);

    assert_int_equal(receiver_count(rx), 100);
    Lines bodies = { 0 };
    receiver_bodies(rx, &bodies);
    assert_true(lines_equal(&bodies, &f.callback));
    for (size_t i = 0; i < 100; i++) {
        ReceiverRequest req;
        assert_int_equal(receiver_request(rx, i, &req), 0);
        assert_string_equal(req.method, "POST");
        assert_string_equal(req.path, "/hook");
        assert_string_equal(req.content_type, "application/json");
        assert_string_equal(req.x_test, "token-42");
        receiver_request_free(&req);
    }
    lines_free(&bodies);
    fixture_close(&f);
    receiver_stop(&rx);
}

/* 503 is retried (after the backoff) until it succeeds; the event arrives once. */
static void test_webhook_retries_server_errors(void **state)
{
    (void)state;
    Fixture f;
    fixture_open(&f, 1);
    char url[128];
    HttpReceiver *rx = start_receiver(RECEIVER_ANSWER, 2, 503, "/", url, sizeof(url));
    VqaWebhookSinkSettings w = webhook_settings(url);
    w.backoff_initial_ms = 10;
    w.backoff_max_ms = 20;
    VqaSink *sink = NULL;
    assert_int_equal(vqa_context_add_webhook_sink(f.ctx, &sink, &w, NULL), 0);
    dispatch_range(f.ctx, 0, 2);
    assert_int_equal(vqa_sink_flush(sink, LIVENESS_MS), 0);
    VqaSinkStats st = stats_of(sink);
    assert_int_equal(st.events_written, 2);
    assert_int_equal(st.events_failed, 0);
    /* 503, 503, 200 for the first event, 200 for the second. */
    assert_int_equal(receiver_count(rx), 4);
    Lines bodies = { 0 };
    receiver_bodies(rx, &bodies);
    for (size_t i = 0; i < 3; i++)
        assert_string_equal(bodies.v[i], f.callback.v[0]);
    assert_string_equal(bodies.v[3], f.callback.v[1]);
    const char *const retry[] = { "HTTP status 503", "retry 2 of 3 in 20 ms", NULL };
    assert_int_equal(log_capture_count(&f.log, retry), 1);
    lines_free(&bodies);
    fixture_close(&f);
    receiver_stop(&rx);
}

/* A client error is final: no retry, the event counts as failed. So does an
 * endpoint that refuses connections, once the retries are spent. */
static void test_webhook_gives_up(void **state)
{
    (void)state;
    Fixture f;
    fixture_open(&f, 1);
    char url[128];
    HttpReceiver *rx = start_receiver(RECEIVER_ANSWER, 1000, 404, "/missing", url, sizeof(url));
    VqaWebhookSinkSettings w = webhook_settings(url);
    w.backoff_initial_ms = 1;
    w.backoff_max_ms = 1;
    VqaSink *sink = NULL;
    assert_int_equal(vqa_context_add_webhook_sink(f.ctx, &sink, &w, NULL), 0);
    dispatch_range(f.ctx, 0, 3);
    assert_int_equal(vqa_sink_flush(sink, LIVENESS_MS), 0);
    VqaSinkStats st = stats_of(sink);
    assert_int_equal(st.events_failed, 3);
    assert_int_equal(st.events_written, 0);
    assert_int_equal(receiver_count(rx), 3);
    vqa_sink_remove(&sink, NULL);

    int dead_fd;
    int port = receiver_dead_port(&dead_fd);
    assert_true(port > 0);
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/", port);
    w = webhook_settings(url);
    w.max_retries = 2;
    w.backoff_initial_ms = 1;
    w.backoff_max_ms = 2;
    assert_int_equal(vqa_context_add_webhook_sink(f.ctx, &sink, &w, NULL), 0);
    dispatch_range(f.ctx, 3, 5);
    assert_int_equal(vqa_sink_flush(sink, LIVENESS_MS), 0);
    st = stats_of(sink);
    assert_int_equal(st.events_failed, 2);
    assert_int_equal(st.events_written, 0);
    const char *const refused[] = { "after 3 attempt(s)", NULL };
    assert_int_equal(log_capture_count(&f.log, refused), 2);
    const char *const warned[] = { "warning", "not delivered", "onnection refused", NULL };
    assert_true(log_capture_count(&f.log, warned) >= 1);
    fixture_close(&f);
    close(dead_fd);
    receiver_stop(&rx);
}

/* Settings the sink cannot use are refused before anything starts. */
static void test_webhook_bad_settings(void **state)
{
    (void)state;
    Fixture f;
    fixture_open(&f, 1);
    VqaSink *sink = NULL;
    VqaWebhookSinkSettings w = webhook_settings("ftp://127.0.0.1/x");
    assert_int_equal(vqa_context_add_webhook_sink(f.ctx, &sink, &w, NULL), VQA_ERR(EINVAL));
    w = webhook_settings(NULL);
    assert_int_equal(vqa_context_add_webhook_sink(f.ctx, &sink, &w, NULL), VQA_ERR(EINVAL));
    assert_int_equal(vqa_context_add_webhook_sink(f.ctx, &sink, NULL, NULL), VQA_ERR(EINVAL));
    w = webhook_settings("http://127.0.0.1:9/");
    w.timeout_ms = 0;
    assert_int_equal(vqa_context_add_webhook_sink(f.ctx, &sink, &w, NULL), VQA_ERR(EINVAL));
    w = webhook_settings("http://127.0.0.1:9/");
    w.backoff_initial_ms = 5000;
    w.backoff_max_ms = 100;
    assert_int_equal(vqa_context_add_webhook_sink(f.ctx, &sink, &w, NULL), VQA_ERR(EINVAL));
    static const char *const bad_header[] = { "no colon here", NULL };
    w = webhook_settings("http://127.0.0.1:9/");
    w.headers = bad_header;
    assert_int_equal(vqa_context_add_webhook_sink(f.ctx, &sink, &w, NULL), VQA_ERR(EINVAL));
    static const char *const split_header[] = { "X-A: 1\r\nX-B: 2", NULL };
    w.headers = split_header;
    assert_int_equal(vqa_context_add_webhook_sink(f.ctx, &sink, &w, NULL), VQA_ERR(EINVAL));
    assert_null(sink);
    VqaSinkSettings ss;
    vqa_sink_default_settings(&ss);
    ss.queue_events = -1;
    w = webhook_settings("http://127.0.0.1:9/");
    assert_int_equal(vqa_context_add_webhook_sink(f.ctx, &sink, &w, &ss), VQA_ERR(EINVAL));
    fixture_close(&f);
}

/* A real scan: the callback, a JSON Lines file and a webhook get the same events. */
static void test_scan_events_reach_every_sink(void **state)
{
    (void)state;
    Fixture f;
    fixture_open(&f, 2);
    char url[128];
    HttpReceiver *rx = start_receiver(RECEIVER_ANSWER, 0, 0, "/events", url, sizeof(url));
    VqaWebhookSinkSettings w = webhook_settings(url);
    VqaSink *hook = NULL, *file = NULL;
    assert_int_equal(vqa_context_add_webhook_sink(f.ctx, &hook, &w, NULL), 0);
    char *dir = temp_dir("scan");
    char *path = path_join(dir, "events.jsonl");
    VqaJsonlSinkSettings js;
    vqa_jsonl_sink_default_settings(&js);
    js.path = path;
    assert_int_equal(vqa_context_add_jsonl_sink(f.ctx, &file, &js, NULL), 0);

    scan_clip(f.ctx);
    assert_int_equal(vqa_sink_flush(hook, LIVENESS_MS), 0);
    assert_int_equal(vqa_sink_flush(file, LIVENESS_MS), 0);
    assert_true(f.callback.n >= 6); /* freeze, black and silence, start and end */
    Lines bodies = { 0 }, lines = { 0 };
    receiver_bodies(rx, &bodies);
    assert_int_equal(lines_read_file(path, &lines), 0);
    assert_true(lines_equal(&bodies, &f.callback));
    assert_true(lines_equal(&lines, &f.callback));
    lines_free(&bodies);
    lines_free(&lines);
    fixture_close(&f);
    receiver_stop(&rx);
    remove_dir(dir);
    free(path);
    free(dir);
}

/* Dead endpoints — one refusing connections, one that accepts and never answers —
 * lose their own events but nothing else: the scan completes with the same events
 * in the callback and the JSON Lines file as a scan without them; the losses are
 * counted; closing is bounded by the close timeout. */
static void test_dead_endpoints_do_not_hold_up_a_scan(void **state)
{
    (void)state;
    Fixture ref;
    fixture_open(&ref, 2);
    scan_clip(ref.ctx);

    Fixture f;
    fixture_open(&f, 2);
    HttpReceiver *hang = receiver_start(RECEIVER_HANG, 0, 0);
    assert_non_null(hang);
    int dead_fd;
    int dead_port = receiver_dead_port(&dead_fd);
    assert_true(dead_port > 0);
    char hang_url[128], dead_url[128];
    receiver_url(hang, "/hang", hang_url, sizeof(hang_url));
    snprintf(dead_url, sizeof(dead_url), "http://127.0.0.1:%d/dead", dead_port);

    VqaSinkSettings small;
    vqa_sink_default_settings(&small);
    small.queue_events = 1;
    small.close_timeout_ms = 200;
    VqaWebhookSinkSettings w = webhook_settings(hang_url);
    w.timeout_ms = 600000; /* the hung request outlives the scan: only interrupt() ends it */
    VqaSink *hung = NULL, *refused = NULL, *file = NULL;
    assert_int_equal(vqa_context_add_webhook_sink(f.ctx, &hung, &w, &small), 0);
    w = webhook_settings(dead_url);
    w.backoff_initial_ms = w.backoff_max_ms = 600000; /* the first retry outlasts it too */
    assert_int_equal(vqa_context_add_webhook_sink(f.ctx, &refused, &w, &small), 0);
    char *dir = temp_dir("dead");
    char *path = path_join(dir, "events.jsonl");
    VqaJsonlSinkSettings js;
    vqa_jsonl_sink_default_settings(&js);
    js.path = path;
    assert_int_equal(vqa_context_add_jsonl_sink(f.ctx, &file, &js, NULL), 0);

    scan_clip(f.ctx);
    assert_true(lines_same_set(&f.callback, &ref.callback));
    assert_int_equal(vqa_sink_flush(file, LIVENESS_MS), 0);
    Lines lines = { 0 };
    assert_int_equal(lines_read_file(path, &lines), 0);
    assert_true(lines_equal(&lines, &f.callback));

    int64_t total = (int64_t)f.callback.n;
    assert_true(total >= 6);
    assert_int_equal(receiver_wait(hang, 1, LIVENESS_MS), 0);
    const VqaSink *dead[] = { hung, refused };
    for (int i = 0; i < 2; i++) {
        VqaSinkStats st = stats_of(dead[i]);
        assert_int_equal(st.events_written, 0);
        assert_int_equal(st.events_queued + st.events_dropped, total);
        assert_true(st.events_queued <= 2); /* one in write(), one queued */
        assert_true(st.events_dropped >= total - 2);
    }
    const char *const dropped[] = { "warning", "sink webhook", "queue full", NULL };
    assert_true(log_capture_count(&f.log, dropped) >= 1);

    vqa_close(&f.ctx);
    const char *const interrupted[] = { "sink webhook: close timeout (200 ms)", NULL };
    assert_int_equal(log_capture_count(&f.log, interrupted), 2);
    const char *const summary[] = { "sink webhook: closed", "0 event(s) written", NULL };
    assert_int_equal(log_capture_count(&f.log, summary), 2);
    assert_int_equal(receiver_count(hang), 1); /* the first event, never answered */

    lines_free(&lines);
    fixture_close(&f);
    fixture_close(&ref);
    receiver_stop(&hang);
    close(dead_fd);
    remove_dir(dir);
    free(path);
    free(dir);
}

#else /* built without libcurl */

static void test_webhook_unavailable(void **state)
{
    (void)state;
    Fixture f;
    fixture_open(&f, 1);
    VqaSink *sink = NULL;
    VqaWebhookSinkSettings w = webhook_settings("http://127.0.0.1:9/");
    assert_int_equal(vqa_context_add_webhook_sink(f.ctx, &sink, &w, NULL), VQA_ERR(ENOSYS));
    assert_null(sink);
    const char *const why[] = { "without libcurl", NULL };
    assert_int_equal(log_capture_count(&f.log, why), 1);
    fixture_close(&f);
}

#endif

static int make_fixtures(void **state)
{
    (void)state;
    /* Loopback only: a proxy from the environment must not see these requests. */
    setenv("no_proxy", "127.0.0.1,localhost", 1);
    setenv("NO_PROXY", "127.0.0.1,localhost", 1);
    clip_path = media_path("defects.mp4");
    return clip_path ? media_make_defect_clip(clip_path) : -1;
}

static int drop_fixtures(void **state)
{
    (void)state;
    free(clip_path);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
#if VQA_TEST_WEBHOOK
        cmocka_unit_test(test_webhook_posts_each_event_once),
        cmocka_unit_test(test_webhook_retries_server_errors),
        cmocka_unit_test(test_webhook_gives_up),
        cmocka_unit_test(test_webhook_bad_settings),
        cmocka_unit_test(test_scan_events_reach_every_sink),
        cmocka_unit_test(test_dead_endpoints_do_not_hold_up_a_scan),
#else
        cmocka_unit_test(test_webhook_unavailable),
#endif
    };
    return cmocka_run_group_tests(tests, make_fixtures, drop_fixtures);
}
