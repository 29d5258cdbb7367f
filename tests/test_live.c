/*
 * Live inputs on loopback: a server that accepts and never sends, sources
 * killed and restarted (MPEG-TS over TCP, RTMP), an HLS playlist that stops
 * updating and jumps, a playlist that points outside the whitelist, analysis
 * overload, and stopping many live streams at once. Every server is started
 * and stopped here; every wait is bounded.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <sys/socket.h>
#include <unistd.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <libavformat/avio.h>
#include <libavutil/log.h>

#include "loopback.h"
#include "media.h"

/* Bounds on waits for what must happen: generous, they only catch hangs. */
#define EVENT_WAIT_S 20.0
#define STOP_WAIT_MS 10000

typedef struct Live {
    VqaContext *ctx;
    LbRecorder rec;
} Live;

static void log_stderr(void *cookie, VqaLogLevel level, const char *msg)
{
    (void)cookie;
    fprintf(stderr, "libvqa %s: %s\n", vqa_log_level_name(level), msg);
}

static void live_open(Live *l)
{
    lb_recorder_init(&l->rec);
    VqaSettings s;
    vqa_default_settings(&s);
    s.on_event = lb_record;
    s.event_cookie = &l->rec;
    s.logger.level = getenv("VQA_TEST_LOG") ? VQA_LOG_INFO : VQA_LOG_NONE;
    s.logger.callback = log_stderr;
    assert_int_equal(vqa_open(&l->ctx, &s), 0);
}

static void live_close(Live *l)
{
    vqa_close(&l->ctx);
    lb_recorder_free(&l->rec);
}

static VqaStream *add_live(Live *l, const char *url, const char *detectors,
                           void (*tune)(VqaStreamSettings *))
{
    VqaStreamSettings ss;
    vqa_stream_default_settings(&ss);
    ss.url = url;
    ss.id = "live";
    ss.detectors = detectors;
    ss.live = 1;
    if (tune)
        tune(&ss);
    VqaStream *s = NULL;
    assert_int_equal(vqa_stream_add(l->ctx, &s, &ss), 0);
    return s;
}

/* ffmpeg ARGS OUT */
static int media_ffmpeg_to(const char *args, const char *out)
{
    char cmd[2048];
    snprintf(cmd, sizeof(cmd), "%s %s", args, out);
    return media_ffmpeg(cmd);
}

/* The stream.gap with the largest value whose details contain needle (or any); 0 if found. */
static int largest_gap(LbRecorder *r, const char *needle, LbEvent *out)
{
    LbEvent e;
    int found = -1;
    for (size_t i = 0; lb_get(r, "stream.gap", VQA_EVENT_INSTANT, i, &e) == 0; i++) {
        if ((needle && !strstr(e.details, needle)) || (found == 0 && e.value <= out->value))
            continue;
        *out = e;
        found = 0;
    }
    return found;
}

static double media_time(VqaStream *s)
{
    VqaStreamStats st;
    vqa_stream_get_stats(s, &st);
    return st.media_time;
}

/* ---- a server that accepts and never sends ---- */

/* Start one; url receives the channel URL on it. */
static LbHttp *silent_server(char *url, size_t size)
{
    LbHttp *srv = NULL;
    assert_int_equal(lb_http_start(&srv, NULL, LB_HTTP_SILENT), 0);
    snprintf(url, size, "http://127.0.0.1:%d/channel.ts", lb_http_port(srv));
    return srv;
}

static void quick_stall(VqaStreamSettings *ss)
{
    ss->stall_timeout = 0.5;
    ss->io_timeout = 60; /* longer than the test: the stall, not a timeout, is what shows */
}

static void test_silent_server_stalls_and_stops(void **state)
{
    (void)state;
    char url[128];
    LbHttp *srv = silent_server(url, sizeof(url));
    Live l;
    live_open(&l);
    VqaStream *s = add_live(&l, url, "freeze,silence", quick_stall);
    assert_true(lb_wait_for(&l.rec, "stream.stall", VQA_EVENT_START, NULL, 1, EVENT_WAIT_S));
    VqaStreamStats st;
    vqa_stream_get_stats(s, &st);
    assert_int_equal(st.state, VQA_INPUT_OPENING); /* never got past the open */
    double t0 = lb_now();
    vqa_stream_stop(s);
    assert_int_equal(vqa_stream_wait(s, STOP_WAIT_MS), VQA_ERROR_STOPPED);
    fprintf(stderr, "stop of a stream blocked in its open: %.3f s\n", lb_now() - t0);
    /* the stall is closed with the stream, once */
    assert_int_equal(lb_count(&l.rec, "stream.stall", VQA_EVENT_START, NULL), 1);
    assert_int_equal(lb_count(&l.rec, "stream.stall", VQA_EVENT_END, "closed_by"), 1);
    assert_true(lb_balanced(&l.rec));
    vqa_stream_remove(&s);
    live_close(&l);
    lb_http_stop(&srv);
}

static void timeout_twice(VqaStreamSettings *ss)
{
    ss->stall_timeout = -1;
    ss->io_timeout = 0.3;
    ss->reconnect = 2;
    ss->reconnect_max_delay = 0.5;
}

static void test_io_timeout_reconnects_then_gives_up(void **state)
{
    (void)state;
    char url[128];
    LbHttp *srv = silent_server(url, sizeof(url));
    Live l;
    live_open(&l);
    VqaStream *s = add_live(&l, url, "freeze", timeout_twice);
    int ret = vqa_stream_wait(s, (int)(EVENT_WAIT_S * 1000));
    assert_int_equal(ret, VQA_ERR(ETIMEDOUT)); /* ended: the input timed out for good */
    VqaStreamStats st;
    vqa_stream_get_stats(s, &st);
    assert_int_equal(st.reconnects, 2);
    assert_int_equal(lb_http_connections(srv), 3);
    /* two errors that announce a reconnect, then the final one without */
    assert_int_equal(lb_count(&l.rec, "stream.error", VQA_EVENT_INSTANT, "\"reconnect\""), 2);
    assert_int_equal(lb_count(&l.rec, "stream.error", VQA_EVENT_INSTANT, "no data for"), 3);
    assert_int_equal(lb_count(&l.rec, "stream.stall", -1, NULL), 0); /* disabled */
    vqa_stream_remove(&s);
    live_close(&l);
    lb_http_stop(&srv);
}

static void test_stop_many_live_streams(void **state)
{
    (void)state;
    enum { N = 100 };
    char url[128];
    LbHttp *srv = silent_server(url, sizeof(url));
    Live l;
    live_open(&l);
    for (int i = 0; i < N; i++) {
        VqaStreamSettings ss;
        vqa_stream_default_settings(&ss);
        ss.url = url;
        ss.live = 1;
        ss.io_timeout = 60;
        VqaStream *s = NULL;
        assert_int_equal(vqa_stream_add(l.ctx, &s, &ss), 0);
    }
    double until = lb_now() + EVENT_WAIT_S;
    while (lb_http_connections(srv) < N && lb_now() < until)
        lb_sleep(0.05);
    assert_int_equal(lb_http_connections(srv), N); /* every reader waits at once */
    double t0 = lb_now();
    vqa_close(&l.ctx);
    double took = lb_now() - t0;
    fprintf(stderr, "vqa_close with %d live streams blocked in reads: %.3f s\n", N, took);
    assert_true(took < 5.0); /* a hang check; the figure is in docs/live.md */
    lb_recorder_free(&l.rec);
    lb_http_stop(&srv);
}

/* ---- a source killed and restarted ---- */

static const char *still_clip(void)
{
    static char *path;
    if (!path) {
        path = media_path("still.mp4");
        /* one picture held for 12 s with a tone: a freeze from the start */
        assert_int_equal(media_ffmpeg_to("-f lavfi -i testsrc2=s=320x240:r=25:d=0.04 "
                                      "-f lavfi -i sine=f=440:sample_rate=48000:d=12 "
                                      "-vf tpad=stop_mode=clone:stop_duration=12 -t 12 "
                                      "-c:v libx264 -preset ultrafast -g 25 -pix_fmt yuv420p "
                                      "-c:a aac -b:a 96k -shortest -movflags +faststart",
                                      path),
                         0);
    }
    return path;
}

static void reconnecting(VqaStreamSettings *ss)
{
    ss->stall_timeout = 1.0;
    ss->io_timeout = 3.0;
    ss->reconnect = VQA_RECONNECT_FOREVER;
    ss->reconnect_max_delay = 0.5;
}

static void restart_source(const char *format, const char *url_fmt)
{
    int port = lb_free_port();
    assert_true(port > 0);
    char url[160], listen_url[200], args[1024];
    snprintf(url, sizeof(url), url_fmt, port);
    snprintf(listen_url, sizeof(listen_url), "%s%s", url,
             !strncmp(url, "srt:", 4)   ? "?mode=listener"
             : !strcmp(format, "mpegts") ? "?listen=1"
                                         : "");
    snprintf(args, sizeof(args), "-re -i %s -c copy -f %s %s %s", still_clip(), format,
             !strcmp(format, "flv") ? "-listen 1" : "", listen_url);

    Live l;
    live_open(&l);
    pid_t src = lb_spawn_ffmpeg(args);
    assert_true(src > 0);
    VqaStream *s = add_live(&l, url, "freeze:min_duration=1,silence", reconnecting);
    assert_true(lb_wait_for(&l.rec, "video.freeze", VQA_EVENT_START, NULL, 1, EVENT_WAIT_S));
    double before = media_time(s);
    lb_kill(src); /* the server dies mid-stream */
    assert_true(lb_wait_for(&l.rec, "stream.error", VQA_EVENT_INSTANT, "\"reconnect\"", 1,
                            EVENT_WAIT_S));
    assert_true(lb_wait_for(&l.rec, "stream.stall", VQA_EVENT_START, NULL, 1, EVENT_WAIT_S));
    src = lb_spawn_ffmpeg(args); /* and comes back */
    assert_true(src > 0);
    assert_true(lb_wait_for(&l.rec, "stream.stall", VQA_EVENT_END, NULL, 1, EVENT_WAIT_S));
    assert_true(lb_wait_for(&l.rec, "stream.gap", VQA_EVENT_INSTANT, "reconnect", 1,
                            EVENT_WAIT_S));
    double until = lb_now() + EVENT_WAIT_S; /* analysis resumes past the gap */
    while (media_time(s) < before + 3.0 && lb_now() < until)
        lb_sleep(0.05);
    assert_true(media_time(s) >= before + 3.0);
    VqaStreamStats st;
    vqa_stream_get_stats(s, &st);
    assert_true(st.reconnects >= 1);
    vqa_stream_stop(s);
    assert_int_equal(vqa_stream_wait(s, STOP_WAIT_MS), VQA_ERROR_STOPPED);
    lb_kill(src);

    /* The picture stayed frozen across the reconnect: one freeze, not two. */
    assert_int_equal(lb_count(&l.rec, "video.freeze", VQA_EVENT_START, NULL), 1);
    assert_int_equal(lb_count(&l.rec, "video.freeze", VQA_EVENT_END, "closed_by"), 1);
    assert_int_equal(lb_count(&l.rec, "stream.stall", VQA_EVENT_START, NULL),
                     lb_count(&l.rec, "stream.stall", VQA_EVENT_END, NULL));
    LbEvent gap, stall;
    assert_int_equal(largest_gap(&l.rec, "\"cause\":\"reconnect\"", &gap), 0);
    assert_int_equal(lb_get(&l.rec, "stream.stall", VQA_EVENT_START, 0, &stall), 0);
    assert_true(gap.value > 0.5); /* the media missed while the server was down */
    assert_true(gap.t >= stall.t);
    assert_true(lb_balanced(&l.rec));
    vqa_stream_remove(&s);
    live_close(&l);
}

static void test_tcp_ts_source_restarts(void **state)
{
    (void)state;
    restart_source("mpegts", "tcp://127.0.0.1:%d");
}

static void test_srt_source_restarts(void **state)
{
    (void)state;
    if (!avio_find_protocol_name("srt://127.0.0.1:1") ||
        strcmp(avio_find_protocol_name("srt://127.0.0.1:1"), "srt")) {
        fprintf(stderr, "this FFmpeg has no SRT: skipped\n");
        skip();
    }
    restart_source("mpegts", "srt://127.0.0.1:%d");
}

static void test_rtmp_source_restarts(void **state)
{
    (void)state;
    restart_source("flv", "rtmp://127.0.0.1:%d/live/channel");
}

/* ---- HLS that stops updating, then jumps to the live edge ---- */

typedef struct Playlist {
    const char *dir;
    int first, last;       /* segments listed */
    pthread_mutex_t lock;
} Playlist;

static void write_playlist(const char *dir, int first, int last)
{
    char tmp[600], path[600];
    snprintf(tmp, sizeof(tmp), "%s/live.m3u8.tmp", dir);
    snprintf(path, sizeof(path), "%s/live.m3u8", dir);
    FILE *f = fopen(tmp, "w");
    assert_non_null(f);
    fprintf(f, "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:1\n"
               "#EXT-X-MEDIA-SEQUENCE:%d\n", first);
    for (int i = first; i <= last; i++)
        fprintf(f, "#EXTINF:1.000000,\nseg%03d.ts\n", i);
    fclose(f);
    assert_int_equal(rename(tmp, path), 0); /* the server never sees half a playlist */
}

static void make_hls_segments(const char *dir)
{
    char args[1200];
    snprintf(args, sizeof(args),
             "-f lavfi -i testsrc2=s=320x240:r=25:d=20 -f lavfi -i sine=f=440:d=20 "
             "-c:v libx264 -preset ultrafast -g 25 -pix_fmt yuv420p -c:a aac "
             "-f hls -hls_time 1 -hls_list_size 0 -hls_segment_filename %s/seg%%03d.ts",
             dir);
    char out[600];
    snprintf(out, sizeof(out), "%s/full.m3u8", dir);
    assert_int_equal(media_ffmpeg_to(args, out), 0);
}

static void hls_tune(VqaStreamSettings *ss)
{
    ss->stall_timeout = 1.5;
    ss->io_timeout = 30;
}

static void test_hls_stalls_and_recovers(void **state)
{
    (void)state;
    char *dir = media_path("hls");
    char mk[700];
    snprintf(mk, sizeof(mk), "mkdir -p %s", dir);
    assert_int_equal(system(mk), 0);
    make_hls_segments(dir);
    write_playlist(dir, 0, 2);
    LbHttp *srv = NULL;
    assert_int_equal(lb_http_start(&srv, dir, LB_HTTP_FILES), 0);
    char url[128];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/live.m3u8", lb_http_port(srv));
    Live l;
    live_open(&l);
    VqaStream *s = add_live(&l, url, "freeze,silence", hls_tune);
    /* a segment a second, like an encoder: 3..6 */
    for (int k = 3; k <= 6; k++) {
        lb_sleep(1.0);
        write_playlist(dir, k - 2, k);
    }
    /* the encoder stops: the playlist does not change */
    assert_true(lb_wait_for(&l.rec, "stream.stall", VQA_EVENT_START, NULL, 1, EVENT_WAIT_S));
    assert_int_equal(lb_count(&l.rec, "stream.stall", VQA_EVENT_END, NULL), 0);
    /* and comes back at the live edge: segments 7..10 were never published */
    for (int k = 11; k <= 14; k++) {
        write_playlist(dir, k - 2, k);
        lb_sleep(1.0);
    }
    assert_true(lb_wait_for(&l.rec, "stream.stall", VQA_EVENT_END, NULL, 1, EVENT_WAIT_S));
    assert_true(lb_wait_for(&l.rec, "stream.gap", VQA_EVENT_INSTANT, NULL, 1, EVENT_WAIT_S));
    LbEvent stall_end, gap;
    assert_int_equal(lb_get(&l.rec, "stream.stall", VQA_EVENT_END, 0, &stall_end), 0);
    assert_true(stall_end.value >= 1.5); /* wall seconds without data */
    assert_int_equal(largest_gap(&l.rec, NULL, &gap), 0);
    assert_true(gap.value > 1.0); /* media that was never published */
    vqa_stream_stop(s);
    assert_int_equal(vqa_stream_wait(s, STOP_WAIT_MS), VQA_ERROR_STOPPED);
    assert_int_equal(lb_count(&l.rec, "stream.error", -1, NULL), 0);
    assert_true(lb_balanced(&l.rec));
    vqa_stream_remove(&s);
    live_close(&l);
    lb_http_stop(&srv);
    free(dir);
}

static void http_only(VqaStreamSettings *ss)
{
    ss->protocols = "http,tcp";
    ss->live = 0;
}

static void test_hls_outside_whitelist_is_refused(void **state)
{
    (void)state;
    char *dir = media_path("hls-refused");
    char mk[700];
    snprintf(mk, sizeof(mk), "mkdir -p %s", dir);
    assert_int_equal(system(mk), 0);
    char *secret = media_path("secret.ts");
    assert_int_equal(media_ffmpeg_to("-f lavfi -i testsrc2=d=1 -c:v libx264 -preset ultrafast "
                                     "-f mpegts", secret), 0);
    char path[700];
    snprintf(path, sizeof(path), "%s/index.m3u8", dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fprintf(f, "#EXTM3U\n#EXT-X-TARGETDURATION:1\n#EXT-X-MEDIA-SEQUENCE:0\n"
               "#EXTINF:1.0,\nfile://%s\n#EXT-X-ENDLIST\n", secret);
    fclose(f);
    LbHttp *srv = NULL;
    assert_int_equal(lb_http_start(&srv, dir, LB_HTTP_FILES), 0);
    char url[128];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/index.m3u8", lb_http_port(srv));
    Live l;
    live_open(&l);
    VqaStream *s = add_live(&l, url, "freeze", http_only);
    int ret = vqa_stream_wait(s, (int)(EVENT_WAIT_S * 1000));
    assert_true(ret < 0 && ret != VQA_ERR(ETIMEDOUT)); /* nothing could be read */
    assert_true(lb_count(&l.rec, "stream.error", VQA_EVENT_INSTANT, "protocol 'file' is not "
                                                                    "on the whitelist") >= 1);
    VqaStreamStats st;
    vqa_stream_get_stats(s, &st);
    assert_int_equal(st.frames_decoded, 0);
    vqa_stream_remove(&s);
    live_close(&l);
    lb_http_stop(&srv);
    free(secret);
    free(dir);
}

/* ---- MPEG-TS over UDP with transport errors ---- */

typedef struct UdpSender {
    const uint8_t *data;
    size_t size;
    double seconds;   /* spread over this long, like a constant-rate multiplex */
    int port;
} UdpSender;

static void *send_udp(void *arg)
{
    UdpSender *u = arg;
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in to = { .sin_family = AF_INET, .sin_port = htons((uint16_t)u->port),
                              .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    enum { DATAGRAM = 7 * 188 };
    double start = lb_now();
    for (size_t off = 0; off < u->size; off += DATAGRAM) {
        double due = start + u->seconds * (double)off / (double)u->size;
        double wait = due - lb_now();
        if (wait > 0)
            lb_sleep(wait);
        size_t n = u->size - off < DATAGRAM ? u->size - off : DATAGRAM;
        sendto(fd, u->data + off, n, 0, (struct sockaddr *)&to, sizeof(to));
    }
    close(fd);
    return NULL;
}

static unsigned ts_pid(const uint8_t *p)
{
    return ((p[1] & 0x1fu) << 8) | p[2];
}

/* Drop three packets of the video PID (a continuity error) and every PAT for a while. */
static size_t damage_ts(uint8_t *ts, size_t size, size_t *pat_dropped)
{
    size_t n = size / 188, out = 0, video = 0;
    *pat_dropped = 0;
    for (size_t i = 0; i < n; i++) {
        const uint8_t *p = ts + i * 188;
        int drop = 0;
        if (ts_pid(p) == 0x100 && (++video == 300 || video == 301 || video == 302))
            drop = 1;
        if (ts_pid(p) == 0 && i > n * 4 / 10 && i < n * 7 / 10) {
            drop = 1;
            (*pat_dropped)++;
        }
        if (!drop)
            memmove(ts + out++ * 188, p, 188);
    }
    return out * 188;
}

static void udp_tune(VqaStreamSettings *ss)
{
    ss->stall_timeout = 3;
}

static void test_udp_ts_transport_errors(void **state)
{
    (void)state;
    char *ts_path = media_path("cbr.ts");
    /* constant rate, PAT/PMT every 0.1 s: ffmpeg's defaults for a broadcast-like mux */
    assert_int_equal(media_ffmpeg_to("-f lavfi -i testsrc2=s=320x240:r=25:d=6 "
                                     "-f lavfi -i sine=d=6 -c:v libx264 -preset ultrafast "
                                     "-b:v 800k -c:a aac -f mpegts -muxrate 1200k "
                                     "-pat_period 0.1", ts_path), 0);
    size_t size = 0;
    uint8_t *ts = (uint8_t *)media_read_file(ts_path, &size);
    assert_non_null(ts);
    size_t pat_dropped = 0;
    size = damage_ts(ts, size, &pat_dropped);
    assert_true(pat_dropped >= 10); /* more than a second of PAT */

    UdpSender u = { .data = ts, .size = size, .seconds = 6.0, .port = lb_free_port() };
    char url[128];
    snprintf(url, sizeof(url), "udp://127.0.0.1:%d", u.port);
    Live l;
    live_open(&l);
    VqaStream *s = add_live(&l, url, "freeze", udp_tune);
    lb_sleep(0.3); /* the socket is bound when the stream opens */
    pthread_t sender;
    assert_int_equal(pthread_create(&sender, NULL, send_udp, &u), 0);
    pthread_join(sender, NULL);
    assert_true(lb_wait_for(&l.rec, "stream.ts_pat", VQA_EVENT_END, NULL, 1, EVENT_WAIT_S));
    assert_true(lb_wait_for(&l.rec, "stream.ts_cc", VQA_EVENT_INSTANT, "\"pid\":256", 1,
                            EVENT_WAIT_S));
    vqa_stream_stop(s);
    assert_int_equal(vqa_stream_wait(s, STOP_WAIT_MS), VQA_ERROR_STOPPED);
    LbEvent pat;
    assert_int_equal(lb_get(&l.rec, "stream.ts_pat", VQA_EVENT_END, 0, &pat), 0);
    assert_true(pat.value > 1.0 && pat.value < 3.0); /* ~1.8 s of the 6 s had no PAT */
    assert_int_equal(lb_count(&l.rec, "stream.ts_pat", VQA_EVENT_START, NULL), 1);
    assert_int_equal(lb_count(&l.rec, "stream.ts_sync_loss", -1, NULL), 0); /* not injected */
    assert_int_equal(lb_count(&l.rec, "stream.ts_pmt", -1, NULL), 0);
    assert_true(lb_balanced(&l.rec));
    vqa_stream_remove(&s);
    live_close(&l);
    free(ts);
    free(ts_path);
}

/* ---- analysis slower than the input ---- */

static void test_overload_drops_are_reported(void **state)
{
    (void)state;
    char *clip = media_path("defects.mp4");
    assert_int_equal(media_make_defect_clip(clip), 0);
    Live l;
    live_open(&l);
    VqaStreamSettings ss;
    vqa_stream_default_settings(&ss);
    ss.url = clip;
    ss.live = 1; /* read as fast as the file allows: the probe cannot keep up */
    ss.detectors = "probe_a:delay_us=15000";
    VqaStream *s = NULL;
    assert_int_equal(vqa_stream_add(l.ctx, &s, &ss), 0);
    assert_int_equal(vqa_stream_wait(s, 60000), 0);
    VqaDetectorStats ds;
    int64_t dropped = 0;
    for (size_t i = 0; vqa_stream_get_detector_stats(s, i, &ds) == 0; i++)
        dropped += ds.frames_dropped;
    VqaStreamStats st;
    vqa_stream_get_stats(s, &st);
    assert_true(st.frames_dropped > 0); /* the probe could not keep up */
    /* every frame a detector missed is in a reported span, and every packet
     * the input dropped is in one too */
    long long frames = 0, packets = 0;
    LbEvent e;
    for (size_t i = 0; lb_get(&l.rec, "stream.gap", VQA_EVENT_INSTANT, i, &e) == 0; i++) {
        assert_non_null(strstr(e.details, "\"cause\":\"overload\""));
        const char *f = strstr(e.details, "\"frames\":");
        const char *p = strstr(e.details, "\"packets\":");
        frames += f ? atoll(f + 9) : 0;
        packets += p ? atoll(p + 10) : 0;
        assert_true(e.value >= 0);
    }
    assert_int_equal(frames, dropped);
    assert_int_equal(packets, st.frames_dropped - dropped);
    vqa_stream_remove(&s);
    live_close(&l);
    free(clip);
}

int main(void)
{
    if (!getenv("VQA_TEST_LOG"))
        av_log_set_level(AV_LOG_QUIET); /* FFmpeg's own lines: only when asked */
    setenv("VQA_PLUGIN_PATH", VQA_BUILD_PLUGIN_DIR ":" VQA_PROBE_PLUGIN_DIR, 1);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_silent_server_stalls_and_stops),
        cmocka_unit_test(test_io_timeout_reconnects_then_gives_up),
        cmocka_unit_test(test_stop_many_live_streams),
        cmocka_unit_test(test_tcp_ts_source_restarts),
        cmocka_unit_test(test_rtmp_source_restarts),
        cmocka_unit_test(test_srt_source_restarts),
        cmocka_unit_test(test_hls_stalls_and_recovers),
        cmocka_unit_test(test_hls_outside_whitelist_is_refused),
        cmocka_unit_test(test_udp_ts_transport_errors),
        cmocka_unit_test(test_overload_drops_are_reported),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
