/*
 * The HTTP server of `vqa monitor --http` (tools/http_server.c,
 * tools/http_streams.c) on its own, with a raw-socket HTTP/1.0 client: the
 * listen address syntax, routes and methods, metrics with awkward label
 * values, open defects, the stream list, and /events fan-out — a client that
 * never reads gets its events dropped and counted without holding up the
 * publisher or the other clients, keep-alive comments, clients that leave
 * are forgotten, and closing ends every client, also one that never reads.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "http_internal.h"
#include "media.h"
#include "vqa/vqa.h"

/* A generous bound on any wait for the server, to catch hangs, not to time anything. */
#define LIVENESS_MS 30000

/* ---- a minimal client ---- */

typedef struct Buf {
    char *data;   /* NUL-terminated */
    size_t len, cap;
} Buf;

static void buf_append(Buf *b, const char *data, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        b->cap = (b->len + n + 1) * 2;
        b->data = realloc(b->data, b->cap);
        assert_non_null(b->data);
    }
    memcpy(b->data + b->len, data, n);
    b->len += n;
    b->data[b->len] = '\0';
}

static void buf_consume(Buf *b, size_t n)
{
    memmove(b->data, b->data + n, b->len - n + 1);
    b->len -= n;
}

static int connect_to(int port, int rcvbuf)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    if (rcvbuf > 0) /* before connect, so the advertised window is small from the start */
        assert_int_equal(setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf)), 0);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    return fd;
}

static void send_request(int fd, const char *method, const char *path)
{
    char req[256];
    int n = snprintf(req, sizeof(req), "%s %s HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n", method, path);
    assert_int_equal(write(fd, req, (size_t)n), n);
}

/* Read what comes. @return bytes read, 0 at the end of the connection. */
static size_t read_some(int fd, Buf *b)
{
    struct pollfd p = { .fd = fd, .events = POLLIN };
    int ready = poll(&p, 1, LIVENESS_MS);
    if (ready == 0)
        fail_msg("nothing from the server for %d ms", LIVENESS_MS);
    char chunk[65536];
    ssize_t n = read(fd, chunk, sizeof(chunk));
    if (n < 0 && errno == ECONNRESET)
        return 0;
    assert_true(n >= 0);
    buf_append(b, chunk, (size_t)n);
    return (size_t)n;
}

typedef struct Reply {
    int status;
    Buf raw;
    const char *body;   /* points into raw */
} Reply;

static void request(int port, const char *method, const char *path, Reply *r)
{
    memset(r, 0, sizeof(*r));
    int fd = connect_to(port, 0);
    send_request(fd, method, path);
    while (read_some(fd, &r->raw) > 0) {
    }
    close(fd);
    assert_non_null(r->raw.data);
    assert_int_equal(sscanf(r->raw.data, "HTTP/1.%*d %d", &r->status), 1);
    char *end = strstr(r->raw.data, "\r\n\r\n");
    assert_non_null(end);
    r->body = end + 4;
}

static int has_header(const Reply *r, const char *line)
{
    size_t head_len = (size_t)(r->body - r->raw.data);
    const char *hit = strstr(r->raw.data, line);
    return hit && (size_t)(hit - r->raw.data) < head_len;
}

static void reply_free(Reply *r)
{
    free(r->raw.data);
}

static void assert_contains(const char *text, const char *needle)
{
    if (!strstr(text, needle))
        fail_msg("'%s' not in:\n%s", needle, text);
}

/* An /events client: the request sent and the response head read. */
static int sse_connect(int port, int rcvbuf, Buf *b)
{
    int fd = connect_to(port, rcvbuf);
    send_request(fd, "GET", "/events");
    memset(b, 0, sizeof(*b));
    return fd;
}

static void sse_read_head(int fd, Buf *b)
{
    while (!b->data || !strstr(b->data, "\r\n\r\n")) {
        if (read_some(fd, b) == 0)
            fail_msg("the connection ended before the response head");
    }
    assert_contains(b->data, "HTTP/1.1 200");
    assert_contains(b->data, "Content-Type: text/event-stream");
    buf_consume(b, (size_t)(strstr(b->data, "\r\n\r\n") + 4 - b->data));
}

/* The next SSE block (up to its blank line), malloc'd; NULL at the end of the stream. */
static char *sse_next(int fd, Buf *b)
{
    for (;;) {
        char *end = b->data ? strstr(b->data, "\n\n") : NULL;
        if (end) {
            size_t n = (size_t)(end - b->data) + 2;
            char *block = strndup(b->data, n);
            assert_non_null(block);
            buf_consume(b, n);
            return block;
        }
        if (read_some(fd, b) == 0)
            return NULL;
    }
}

/* The next block that is not a comment. */
static char *sse_next_event(int fd, Buf *b)
{
    for (;;) {
        char *block = sse_next(fd, b);
        if (!block || block[0] != ':')
            return block;
        free(block);
    }
}

/* ---- the server under test ---- */

static HttpServer *start_timeout(size_t buffer, double keepalive_s, int max_clients,
                                 double client_timeout_s)
{
    HttpServerSettings s;
    http_server_default_settings(&s);
    assert_int_equal(http_listen_parse("127.0.0.1:0", &s.listen), 0);
    s.client_buffer_bytes = buffer;
    s.keepalive_s = keepalive_s;
    s.max_event_clients = max_clients;
    s.client_timeout_s = client_timeout_s;
    HttpServer *srv = NULL;
    assert_int_equal(http_server_open(&srv, &s), 0);
    assert_true(http_server_port(srv) > 0);
    return srv;
}

static HttpServer *start(size_t buffer, double keepalive_s, int max_clients)
{
    return start_timeout(buffer, keepalive_s, max_clients, 0);
}

/* An event whose details carry an index and padding to make it `size` bytes or so. */
static void make_event(VqaEvent *ev, char *details, size_t details_size, int i, size_t pad)
{
    char padding[4096];
    if (pad >= sizeof(padding))
        pad = sizeof(padding) - 1;
    memset(padding, 'x', pad);
    padding[pad] = '\0';
    snprintf(details, details_size, "{\"i\":%06d,\"pad\":\"%s\"}", i, padding);
    *ev = (VqaEvent){ .stream = "s", .detector = "test", .kind = "x-test.tick",
                      .state = VQA_EVENT_INSTANT, .t = i * 0.04, .severity = VQA_SEVERITY_INFO,
                      .details_json = details };
}

static char *expected_frame(const VqaEvent *ev)
{
    char json[8192];
    int len = vqa_event_to_json(ev, json, sizeof(json));
    assert_true(len > 0 && (size_t)len < sizeof(json));
    size_t size = (size_t)len + 16;
    char *frame = malloc(size);
    assert_non_null(frame);
    snprintf(frame, size, "data: %s\n\n", json);
    return frame;
}

static int event_index(const char *block)
{
    const char *p = strstr(block, "\"i\":");
    assert_non_null(p);
    return atoi(p + 4);
}

/* ---- tests ---- */

static void test_listen_parse(void **state)
{
    (void)state;
    static const struct { const char *text; const char *host; int port, ipv6; } good[] = {
        { "8080", "127.0.0.1", 8080, 0 },         { ":9100", "127.0.0.1", 9100, 0 },
        { "0.0.0.0:80", "0.0.0.0", 80, 0 },
        { "192.168.1.20:65535", "192.168.1.20", 65535, 0 },
        { "[::1]:8080", "::1", 8080, 1 },         { "[::]:0", "::", 0, 1 },
        { "localhost:8000", "127.0.0.1", 8000, 0 },
    };
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        HttpListen l;
        if (http_listen_parse(good[i].text, &l) != 0)
            fail_msg("'%s' refused", good[i].text);
        assert_string_equal(l.host, good[i].host);
        assert_int_equal(l.port, good[i].port);
        assert_int_equal(l.ipv6, good[i].ipv6);
    }
    static const char *const bad[] = {
        "", ":", "http", "65536", "-1", "80x", "1.2.3:80", "256.0.0.1:80", "1.2.3.4:",
        "example.com:80", "[::1]", "[::1]80", "[zz::1]:80", "::1:80", "1.2.3.4:8080:1",
        "[::1]:", " 80", "123456",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        HttpListen l;
        if (http_listen_parse(bad[i], &l) == 0)
            fail_msg("'%s' accepted", bad[i]);
    }
}

static void test_address_in_use(void **state)
{
    (void)state;
    HttpServer *first = start(0, 0, 0);
    HttpServerSettings s;
    http_server_default_settings(&s);
    s.listen.port = http_server_port(first);
    HttpServer *second = NULL;
    assert_int_equal(http_server_open(&second, &s), -EADDRINUSE);
    assert_null(second);
    http_server_close(&first);
    assert_null(first);
    http_server_close(&first); /* NULL is a no-op */
}

static void test_routes_and_methods(void **state)
{
    (void)state;
    HttpServer *srv = start(0, 0, 0);
    int port = http_server_port(srv);
    Reply r;
    request(port, "GET", "/nope", &r);
    assert_int_equal(r.status, 404);
    reply_free(&r);
    request(port, "GET", "/", &r);
    assert_int_equal(r.status, 404);
    reply_free(&r);
    request(port, "GET", "/metrics/extra", &r);
    assert_int_equal(r.status, 404);
    reply_free(&r);
    static const char *const methods[] = { "POST", "PUT", "DELETE", "HEAD" };
    for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++) {
        request(port, methods[i], "/metrics", &r);
        assert_int_equal(r.status, 405);
        assert_true(has_header(&r, "Allow: GET\r\n"));
        reply_free(&r);
    }
    request(port, "GET", "/metrics", &r);
    assert_int_equal(r.status, 200);
    assert_true(has_header(&r, "Content-Type: text/plain; version=0.0.4"));
    assert_contains(r.body, "# TYPE vqa_http_event_clients gauge\nvqa_http_event_clients 0\n");
    reply_free(&r);
    request(port, "GET", "/streams", &r);
    assert_int_equal(r.status, 200);
    assert_true(has_header(&r, "Content-Type: application/json"));
    assert_string_equal(r.body, "[]\n");
    reply_free(&r);
    http_server_close(&srv);
}

static VqaContext *open_context(void)
{
    static const char *const paths[] = { VQA_BUILD_PLUGIN_DIR, NULL };
    VqaSettings s;
    vqa_default_settings(&s);
    s.n_threads = 1;
    s.plugin_paths = paths;
    VqaContext *ctx = NULL;
    assert_int_equal(vqa_open(&ctx, &s), 0);
    return ctx;
}

static VqaStream *push_stream(VqaContext *ctx, const char *id)
{
    VqaStreamSettings ss;
    vqa_stream_default_settings(&ss);
    ss.id = id;
    ss.detectors = "freeze";
    VqaStream *st = NULL;
    assert_int_equal(vqa_stream_add(ctx, &st, &ss), 0);
    return st;
}

static void push_pictures(VqaStream *st, int n)
{
    uint8_t luma[64 * 48];
    for (int i = 0; i < n; i++) {
        memset(luma, 16 + 20 * i, sizeof(luma));
        VqaPicture pic = { .pix_fmt = VQA_PIX_GRAY8, .width = 64, .height = 48,
                           .range = VQA_RANGE_FULL, .data = { luma }, .linesize = { 64 },
                           .pts = i, .time_base = { 1, 25 } };
        assert_int_equal(vqa_stream_push_picture(st, &pic), 0);
    }
    assert_int_equal(vqa_stream_end(st), 0);
    assert_int_equal(vqa_stream_wait(st, -1), 0);
}

static void publish_defect(HttpServer *srv, const char *stream, const char *kind,
                           VqaEventState state, double t)
{
    VqaEvent ev = { .stream = stream, .detector = "freeze", .kind = kind, .state = state,
                    .t = t, .duration = state == VQA_EVENT_END ? 1.0 : 0.0,
                    .severity = VQA_SEVERITY_WARNING };
    http_server_publish(srv, &ev);
}

#define ODD_ID "cam \"1\"\\x\nline"
#define ODD_LABEL "stream=\"cam \\\"1\\\"\\\\x\\nline\""

static void test_metrics_and_streams(void **state)
{
    (void)state;
    HttpServer *srv = start(0, 0, 0);
    int port = http_server_port(srv);
    VqaContext *ctx = open_context();
    VqaStream *st = push_stream(ctx, ODD_ID);
    assert_int_equal(http_server_add_stream(srv, st, "rtmp://user:secret@host:1935/live?x=1"), 0);
    VqaStream *twin = push_stream(ctx, ODD_ID);
    assert_int_equal(http_server_add_stream(srv, twin, "other"), -EEXIST);
    push_pictures(st, 10);
    publish_defect(srv, ODD_ID, "video.freeze", VQA_EVENT_START, 1.5);
    publish_defect(srv, ODD_ID, "x-odd.\"kind\"", VQA_EVENT_START, 2.0);

    Reply r;
    request(port, "GET", "/metrics", &r);
    assert_int_equal(r.status, 200);
    assert_contains(r.body, "vqa_stream_frames_decoded_total{" ODD_LABEL "} 10\n");
    assert_contains(r.body, "vqa_stream_state{" ODD_LABEL ",state=\"ended\"} 1\n");
    assert_contains(r.body, "vqa_stream_state{" ODD_LABEL ",state=\"running\"} 0\n");
    assert_contains(r.body, "vqa_detector_frames_analysed_total{" ODD_LABEL
                            ",detector=\"freeze\",track=\"0\"} 10\n");
    assert_contains(r.body, "# TYPE vqa_detector_cpu_seconds_total counter\n"
                            "vqa_detector_cpu_seconds_total{" ODD_LABEL);
    assert_contains(r.body, "vqa_stream_open_defects{" ODD_LABEL ",kind=\"video.freeze\"} 1\n");
    assert_contains(r.body,
                    "vqa_stream_open_defects{" ODD_LABEL ",kind=\"x-odd.\\\"kind\\\"\"} 1\n");
    reply_free(&r);

    request(port, "GET", "/streams", &r);
    assert_true(media_json_valid(r.body));
    assert_contains(r.body, "\"url\":\"rtmp://user:***@host:1935/live?x=1\"");
    assert_null(strstr(r.body, "secret"));
    assert_contains(r.body, "\"state\":\"ended\"");
    assert_contains(r.body, "\"frames_decoded\":10");
    assert_contains(r.body, "\"open_defects\":[{\"detector\":\"freeze\",\"kind\":\"video.freeze\","
                            "\"t\":1.5},{\"detector\":\"freeze\",\"kind\":\"x-odd.\\\"kind\\\"\"");
    reply_free(&r);

    /* An end closes its defect; the series stays, at 0. Detached, the last counters stay. */
    publish_defect(srv, ODD_ID, "video.freeze", VQA_EVENT_END, 2.5);
    http_server_detach_streams(srv);
    vqa_close(&ctx);
    request(port, "GET", "/metrics", &r);
    assert_contains(r.body, "vqa_stream_open_defects{" ODD_LABEL ",kind=\"video.freeze\"} 0\n");
    assert_contains(r.body, "vqa_stream_frames_decoded_total{" ODD_LABEL "} 10\n");
    assert_contains(r.body, "vqa_detector_frames_analysed_total{" ODD_LABEL);
    reply_free(&r);
    request(port, "GET", "/streams", &r);
    assert_contains(r.body, "\"open_defects\":[{\"detector\":\"freeze\",\"kind\":\"x-odd.");
    reply_free(&r);
    http_server_close(&srv);
}

static void test_url_masking(void **state)
{
    (void)state;
    static const char *const cases[][2] = {
        { "rtmp://u:pw@h/live", "rtmp://u:***@h/live" },
        { "https://token@h/x.m3u8", "https://***@h/x.m3u8" },
        { "srt://h:9000?passphrase=a@b", "srt://h:9000?passphrase=a@b" },
        { "clip.mp4", "clip.mp4" },
        { "http://h/a@b", "http://h/a@b" },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char *masked = http_mask_url(cases[i][0]);
        assert_non_null(masked);
        assert_string_equal(masked, cases[i][1]);
        free(masked);
    }
}

/*
 * One client never reads (a tiny receive window); another reads every event.
 * Publishing never waits: the stuck client's events are dropped and counted,
 * the reader gets every one, in order. When the stuck client reads at last,
 * it gets what was queued, then a notice of how many it missed at the place
 * it missed them, then new events.
 */
static void test_slow_client_drops(void **state)
{
    (void)state;
    enum { N = 2000, PAD = 1000 };
    HttpServer *srv = start(16 * 1024, 60, 0);
    int port = http_server_port(srv);
    Buf slow_buf, fast_buf;
    int slow = sse_connect(port, 2048, &slow_buf);
    int fast = sse_connect(port, 0, &fast_buf);
    sse_read_head(slow, &slow_buf);
    sse_read_head(fast, &fast_buf);
    HttpServerStats hs;
    http_server_get_stats(srv, &hs);
    assert_int_equal(hs.event_clients, 2);

    char details[8192];
    VqaEvent ev;
    for (int i = 0; i < N; i++) {
        make_event(&ev, details, sizeof(details), i, PAD);
        http_server_publish(srv, &ev);
        char *want = expected_frame(&ev);
        char *got = sse_next_event(fast, &fast_buf);
        assert_non_null(got);
        assert_string_equal(got, want);
        free(got);
        free(want);
    }
    http_server_get_stats(srv, &hs);
    assert_true(hs.events_dropped > 0);

    /* Everything is either delivered in order or counted by a notice where it is missing. */
    int next = 0, notices = 0;
    int64_t noticed = 0;
    while (next < N) {
        char *block = sse_next_event(slow, &slow_buf);
        assert_non_null(block);
        long long dropped = 0;
        if (sscanf(block, "event: dropped\ndata: {\"dropped\":%lld}", &dropped) == 1) {
            assert_true(dropped > 0);
            next += (int)dropped;
            noticed += dropped;
            notices++;
        } else {
            assert_int_equal(event_index(block), next);
            next++;
        }
        free(block);
    }
    assert_int_equal(next, N);
    assert_true(notices >= 1);
    assert_int_equal(noticed, hs.events_dropped);

    make_event(&ev, details, sizeof(details), N, 10);
    http_server_publish(srv, &ev);
    char *want = expected_frame(&ev);
    char *got = sse_next_event(slow, &slow_buf);
    assert_string_equal(got, want);
    free(got);
    free(want);
    close(slow);
    close(fast);
    free(slow_buf.data);
    free(fast_buf.data);
    http_server_close(&srv);
}

static void wait_for_clients(HttpServer *srv, int n)
{
    HttpServerStats hs;
    for (int waited_ms = 0;; waited_ms += 10) {
        http_server_get_stats(srv, &hs);
        if (hs.event_clients == n)
            return;
        if (waited_ms > LIVENESS_MS)
            fail_msg("%d /events clients, expected %d", hs.event_clients, n);
        usleep(10000);
    }
}

static void test_keepalive_and_leaving_clients(void **state)
{
    (void)state;
    HttpServer *srv = start(0, 0.05, 0);
    Buf b;
    int fd = sse_connect(http_server_port(srv), 0, &b);
    sse_read_head(fd, &b);
    char *hello = sse_next(fd, &b);
    assert_string_equal(hello, ": vqa events\n\n");
    free(hello);
    char *idle = sse_next(fd, &b);
    assert_string_equal(idle, ": keep-alive\n\n");
    free(idle);
    wait_for_clients(srv, 1);
    close(fd);
    free(b.data);
    /* The next keep-alive finds the connection gone. */
    wait_for_clients(srv, 0);
    HttpServerStats hs;
    http_server_get_stats(srv, &hs);
    assert_int_equal(hs.event_clients_total, 1);
    http_server_close(&srv);
}

/* Fill a client that never reads. @return the number of events published. */
static int fill_stuck_client(HttpServer *srv)
{
    char details[8192];
    VqaEvent ev;
    HttpServerStats hs = { 0 };
    int i = 0;
    for (; hs.events_dropped == 0; i++) {
        assert_true(i < 1000000);
        make_event(&ev, details, sizeof(details), i, 1000);
        http_server_publish(srv, &ev);
        http_server_get_stats(srv, &hs);
    }
    return i;
}

/* A client that takes nothing for the client timeout is disconnected and forgotten. */
static void test_stuck_client_is_disconnected(void **state)
{
    (void)state;
    HttpServer *srv = start_timeout(4096, 0.2, 0, 1.0); /* a keep-alive finds it gone */
    Buf b;
    int fd = sse_connect(http_server_port(srv), 1024, &b);
    wait_for_clients(srv, 1);
    assert_true(fill_stuck_client(srv) > 0);
    wait_for_clients(srv, 0);
    /* What it gets when it reads at last ends, rather than going on. */
    while (read_some(fd, &b) > 0)
        buf_consume(&b, b.len);
    close(fd);
    free(b.data);
    http_server_close(&srv);
}

static void test_too_many_clients(void **state)
{
    (void)state;
    HttpServer *srv = start(0, 0, 1);
    Buf b;
    int fd = sse_connect(http_server_port(srv), 0, &b);
    sse_read_head(fd, &b);
    Reply r;
    request(http_server_port(srv), "GET", "/events", &r);
    assert_int_equal(r.status, 503);
    reply_free(&r);
    close(fd);
    free(b.data);
    http_server_close(&srv);
}

/* Closing hands a reading client its last event and ends its stream; a client
 * that never reads is cut off rather than waited for. */
static void test_close_ends_every_client(void **state)
{
    (void)state;
    HttpServer *srv = start(16 * 1024, 60, 0);
    int port = http_server_port(srv);
    Buf stuck_buf, reader_buf;
    int stuck = sse_connect(port, 2048, &stuck_buf);
    int reader = sse_connect(port, 0, &reader_buf);
    sse_read_head(stuck, &stuck_buf);
    sse_read_head(reader, &reader_buf);
    wait_for_clients(srv, 2);
    char details[8192];
    VqaEvent ev;
    HttpServerStats hs = { 0 };
    for (int i = 0; hs.events_dropped == 0; i++) { /* until the stuck client is full */
        assert_true(i < 100000);
        make_event(&ev, details, sizeof(details), i, 1000);
        http_server_publish(srv, &ev);
        char *got = sse_next_event(reader, &reader_buf);
        assert_int_equal(event_index(got), i);
        free(got);
        http_server_get_stats(srv, &hs);
    }
    make_event(&ev, details, sizeof(details), 999999, 10);
    http_server_publish(srv, &ev);
    char *last = expected_frame(&ev);
    http_server_close(&srv);

    char *got = sse_next_event(reader, &reader_buf);
    assert_non_null(got);
    assert_string_equal(got, last);
    free(got);
    assert_null(sse_next_event(reader, &reader_buf)); /* the end of the stream */
    while (read_some(stuck, &stuck_buf) > 0)          /* the stuck one ends too */
        buf_consume(&stuck_buf, stuck_buf.len);
    free(last);
    close(stuck);
    close(reader);
    free(stuck_buf.data);
    free(reader_buf.data);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_listen_parse),
        cmocka_unit_test(test_address_in_use),
        cmocka_unit_test(test_routes_and_methods),
        cmocka_unit_test(test_metrics_and_streams),
        cmocka_unit_test(test_url_masking),
        cmocka_unit_test(test_slow_client_drops),
        cmocka_unit_test(test_keepalive_and_leaving_clients),
        cmocka_unit_test(test_stuck_client_is_disconnected),
        cmocka_unit_test(test_too_many_clients),
        cmocka_unit_test(test_close_ends_every_client),
    };
    return cmocka_run_group_tests_name("http_server", tests, NULL, NULL);
}
