/*
 * The whole pipeline on real files: pull inputs through the converter, the
 * bus and the real detector plugins; bad inputs; many streams on a fixed
 * pool; the same events at every thread count.
 */
#include <dirent.h>
#include <fcntl.h>
#include <math.h>
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

#include "media.h"
#include "vqa/vqa.h"

#define MAX_EVENTS 512
/* One frame interval of the 25 fps clip. */
#define FRAME_S 0.04

typedef struct Collected {
    char stream[16], detector[32], kind[64], details[256];
    VqaEventState state;
    double t, duration;
} Collected;

typedef struct Sink {
    Collected ev[MAX_EVENTS];
    int n;
} Sink;

static void collect(void *cookie, const VqaEvent *ev)
{
    Sink *sink = cookie;
    if (sink->n == MAX_EVENTS)
        return;
    Collected *c = &sink->ev[sink->n++];
    snprintf(c->stream, sizeof(c->stream), "%s", ev->stream);
    snprintf(c->detector, sizeof(c->detector), "%s", ev->detector);
    snprintf(c->kind, sizeof(c->kind), "%s", ev->kind);
    snprintf(c->details, sizeof(c->details), "%s", ev->details_json ? ev->details_json : "");
    c->state = ev->state;
    c->t = ev->t;
    c->duration = ev->duration;
}

static char *clip_path;

static int make_fixtures(void **state)
{
    (void)state;
    clip_path = media_path("defects.mp4");
    return media_make_defect_clip(clip_path);
}

static int drop_fixtures(void **state)
{
    (void)state;
    free(clip_path);
    return 0;
}

static VqaContext *open_ctx(Sink *sink, int threads)
{
    VqaSettings s;
    vqa_default_settings(&s);
    s.n_threads = threads;
    s.on_event = collect;
    s.event_cookie = sink;
    sink->n = 0;
    VqaContext *ctx = NULL;
    assert_int_equal(vqa_open(&ctx, &s), 0);
    return ctx;
}

static int scan(VqaContext *ctx, const char *url, const char *spec, const char *id)
{
    VqaStreamSettings ss;
    vqa_stream_default_settings(&ss);
    ss.url = url;
    ss.detectors = spec;
    ss.id = id;
    VqaStream *st = NULL;
    assert_int_equal(vqa_stream_add(ctx, &st, &ss), 0);
    int err = vqa_stream_wait(st, -1);
    vqa_stream_remove(&st);
    return err;
}

static const Collected *find(const Sink *sink, const char *kind, VqaEventState state)
{
    for (int i = 0; i < sink->n; i++)
        if (!strcmp(sink->ev[i].kind, kind) && sink->ev[i].state == state)
            return &sink->ev[i];
    return NULL;
}

static int count(const Sink *sink, const char *kind, VqaEventState state)
{
    int n = 0;
    for (int i = 0; i < sink->n; i++)
        n += !strcmp(sink->ev[i].kind, kind) && sink->ev[i].state == state;
    return n;
}

/* Every start has exactly one end for the same stream, detector and kind. */
static void assert_balanced(const Sink *sink)
{
    for (int i = 0; i < sink->n; i++) {
        const Collected *a = &sink->ev[i];
        if (a->state != VQA_EVENT_START)
            continue;
        int ends = 0;
        for (int j = i + 1; j < sink->n; j++) {
            const Collected *b = &sink->ev[j];
            if (strcmp(a->stream, b->stream) || strcmp(a->detector, b->detector) ||
                strcmp(a->kind, b->kind))
                continue;
            if (b->state == VQA_EVENT_START)
                break;
            if (b->state == VQA_EVENT_END) {
                ends++;
                break;
            }
        }
        assert_int_equal(ends, 1);
    }
}

static void assert_interval(const Sink *sink, const char *kind, double start, double end,
                            double tolerance)
{
    const Collected *s = find(sink, kind, VQA_EVENT_START);
    const Collected *e = find(sink, kind, VQA_EVENT_END);
    if (!s || !e)
        fail_msg("no %s interval", kind);
    if (fabs(s->t - start) > tolerance || fabs(e->t - end) > tolerance)
        fail_msg("%s: [%.3f, %.3f) expected [%.3f, %.3f)", kind, s->t, e->t, start, end);
    assert_true(fabs(e->duration - (e->t - s->t)) < 1e-6);
}

static void test_defect_clip_gives_the_known_defects(void **state)
{
    (void)state;
    static Sink sink;
    VqaContext *ctx = open_ctx(&sink, 2);
    assert_int_equal(scan(ctx, clip_path, NULL, NULL), 0);
    vqa_close(&ctx);
    assert_balanced(&sink);
    assert_int_equal(count(&sink, "video.freeze", VQA_EVENT_START), 1);
    assert_int_equal(count(&sink, "video.black", VQA_EVENT_START), 1);
    assert_int_equal(count(&sink, "audio.silence", VQA_EVENT_START), 1);
    assert_interval(&sink, "video.freeze", MEDIA_FREEZE_START_S, MEDIA_FREEZE_END_S, FRAME_S);
    assert_interval(&sink, "video.black", MEDIA_BLACK_START_S, MEDIA_BLACK_END_S, FRAME_S);
    /* AAC framing (1024 samples) and priming blur the audio edges a little. */
    assert_interval(&sink, "audio.silence", MEDIA_SILENCE_START_S, MEDIA_SILENCE_END_S, 0.05);
    assert_string_equal(find(&sink, "video.freeze", VQA_EVENT_START)->stream, "0");
    assert_int_equal(count(&sink, "stream.error", VQA_EVENT_INSTANT), 0);
    assert_int_equal(count(&sink, "stream.gap", VQA_EVENT_INSTANT), 0);
}

static void test_detector_choice_and_options(void **state)
{
    (void)state;
    static Sink sink;
    VqaContext *ctx = open_ctx(&sink, 2);
    /* Only freeze, and with a minimum longer than the clip's freeze: nothing. */
    assert_int_equal(scan(ctx, clip_path, "freeze:min_duration=3.5", "only-freeze"), 0);
    assert_int_equal(sink.n, 0);
    assert_int_equal(scan(ctx, clip_path, "black", "only-black"), 0);
    assert_int_equal(count(&sink, "video.black", VQA_EVENT_START), 1);
    assert_int_equal(count(&sink, "video.freeze", VQA_EVENT_START), 0);
    assert_string_equal(sink.ev[0].stream, "only-black");
    VqaStreamSettings ss;
    vqa_stream_default_settings(&ss);
    ss.url = clip_path;
    VqaStream *st = NULL;
    ss.detectors = "freeze:min_duration=-1";
    assert_int_equal(vqa_stream_add(ctx, &st, &ss), VQA_ERR(EINVAL));
    ss.detectors = "nonexistent";
    assert_int_equal(vqa_stream_add(ctx, &st, &ss), VQA_ERR(EINVAL));
    ss.detectors = "freeze:bogus=1";
    assert_int_equal(vqa_stream_add(ctx, &st, &ss), VQA_ERR(EINVAL));
    assert_null(st);
    vqa_close(&ctx);
}

static void sort_events(Sink *sink)
{
    /* Order across detectors depends on scheduling; within one it must not. */
    for (int i = 1; i < sink->n; i++)
        for (int j = i; j > 0; j--) {
            Collected *a = &sink->ev[j - 1], *b = &sink->ev[j];
            int c = strcmp(a->detector, b->detector);
            if (c < 0 || (c == 0 && a->t <= b->t))
                break;
            Collected tmp = *a;
            *a = *b;
            *b = tmp;
        }
}

static void test_same_events_at_every_thread_count(void **state)
{
    (void)state;
    static Sink one, many;
    VqaContext *ctx = open_ctx(&one, 1);
    assert_int_equal(scan(ctx, clip_path, NULL, NULL), 0);
    vqa_close(&ctx);
    ctx = open_ctx(&many, 4);
    assert_int_equal(scan(ctx, clip_path, NULL, NULL), 0);
    vqa_close(&ctx);
    sort_events(&one);
    sort_events(&many);
    assert_true(one.n > 0);
    assert_int_equal(one.n, many.n);
    for (int i = 0; i < one.n; i++) {
        assert_string_equal(one.ev[i].kind, many.ev[i].kind);
        assert_int_equal(one.ev[i].state, many.ev[i].state);
        assert_true(fabs(one.ev[i].t - many.ev[i].t) < 1e-9);
    }
}

static int thread_count(void)
{
    DIR *dir = opendir("/proc/self/task");
    int n = 0;
    if (!dir)
        return -1;
    for (struct dirent *e; (e = readdir(dir));)
        n += e->d_name[0] != '.';
    closedir(dir);
    return n;
}

static void test_many_streams_share_a_fixed_pool(void **state)
{
    (void)state;
    enum { STREAMS = 12 };
    static Sink sink;
    int before = thread_count();
    VqaContext *ctx = open_ctx(&sink, 2);
    VqaStream *streams[STREAMS];
    int peak = 0;
    for (int i = 0; i < STREAMS; i++) {
        VqaStreamSettings ss;
        vqa_stream_default_settings(&ss);
        ss.url = clip_path;
        assert_int_equal(vqa_stream_add(ctx, &streams[i], &ss), 0);
        int now = thread_count();
        peak = now > peak ? now : peak;
    }
    while (vqa_stream_wait(streams[0], 20) == VQA_ERR(ETIMEDOUT)) {
        int now = thread_count();
        peak = now > peak ? now : peak;
    }
    for (int i = 0; i < STREAMS; i++)
        assert_int_equal(vqa_stream_wait(streams[i], -1), 0);
    /* 2 compute + 2 I/O threads, whatever the number of streams. */
    assert_true(peak - before <= 4);
    vqa_close(&ctx);
    for (int i = 0; i < STREAMS; i++) {
        char id[8];
        snprintf(id, sizeof(id), "%d", i);
        int freezes = 0, blacks = 0, silences = 0;
        for (int k = 0; k < sink.n; k++) {
            if (strcmp(sink.ev[k].stream, id) || sink.ev[k].state != VQA_EVENT_START)
                continue;
            freezes += !strcmp(sink.ev[k].kind, "video.freeze");
            blacks += !strcmp(sink.ev[k].kind, "video.black");
            silences += !strcmp(sink.ev[k].kind, "audio.silence");
        }
        assert_int_equal(freezes, 1);
        assert_int_equal(blacks, 1);
        assert_int_equal(silences, 1);
    }
}

static void test_missing_file_is_reported(void **state)
{
    (void)state;
    static Sink sink;
    VqaContext *ctx = open_ctx(&sink, 1);
    assert_int_equal(scan(ctx, "/nonexistent/clip.mp4", NULL, NULL), VQA_ERR(ENOENT));
    vqa_close(&ctx);
    assert_int_equal(sink.n, 1);
    assert_string_equal(sink.ev[0].kind, "stream.error");
    assert_string_equal(sink.ev[0].detector, "converter");
    assert_int_equal(sink.ev[0].state, VQA_EVENT_INSTANT);
    assert_non_null(strstr(sink.ev[0].details, "reason"));
}

static void write_file(const char *path, const void *data, size_t size)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, size, f), size);
    fclose(f);
}

static void test_not_media_is_reported(void **state)
{
    (void)state;
    static Sink sink;
    char *path = media_path("random.mp4");
    uint8_t junk[65536];
    srand(7);
    for (size_t i = 0; i < sizeof(junk); i++)
        junk[i] = (uint8_t)rand();
    write_file(path, junk, sizeof(junk));
    VqaContext *ctx = open_ctx(&sink, 1);
    int err = scan(ctx, path, NULL, NULL);
    vqa_close(&ctx);
    assert_true(err < 0);
    assert_int_equal(count(&sink, "stream.error", VQA_EVENT_INSTANT), 1);
    free(path);
}

static void test_truncated_file_keeps_and_closes_events(void **state)
{
    (void)state;
    static Sink sink;
    char *cut = media_path("cut.mp4");
    size_t size = 0;
    char *data = media_read_file(clip_path, &size);
    assert_non_null(data);
    /* 75 % of the bytes is about 8.5 s of media: past the freeze and the black. */
    write_file(cut, data, size * 75 / 100);
    free(data);
    VqaContext *ctx = open_ctx(&sink, 2);
    int err = scan(ctx, cut, NULL, NULL);
    vqa_close(&ctx);
    assert_true(err < 0);
    /* The cut is reported (a read error, and maybe the decoder's complaint too). */
    assert_true(count(&sink, "stream.error", VQA_EVENT_INSTANT) >= 1);
    /* What was seen before the cut is still reported, and closed. */
    assert_int_equal(count(&sink, "video.freeze", VQA_EVENT_START), 1);
    assert_int_equal(count(&sink, "video.black", VQA_EVENT_START), 1);
    assert_balanced(&sink);
    /* The converter's own events come in media-time order, like any detector's. */
    double last_t = -1;
    for (int i = 0; i < sink.n; i++) {
        if (strcmp(sink.ev[i].detector, "converter"))
            continue;
        assert_true(sink.ev[i].t >= last_t);
        last_t = sink.ev[i].t;
    }
    free(cut);
}

static void test_timestamp_jump_is_a_gap(void **state)
{
    (void)state;
    static Sink sink;
    char *gap = media_path("gap.ts");
    char args[1024];
    /* Shift everything after 5 s by one more second: one second of media is missing. */
    snprintf(args, sizeof(args),
             "-i %s -vf \"setpts=PTS+gte(T\\,5)*1/TB\" -af \"asetpts=PTS+gte(T\\,5)*1/TB\" "
             "-c:v libx264 -preset ultrafast -c:a aac -f mpegts %s",
             clip_path, gap);
    assert_int_equal(media_ffmpeg(args), 0);
    VqaContext *ctx = open_ctx(&sink, 2);
    assert_int_equal(scan(ctx, gap, "freeze", NULL), 0);
    vqa_close(&ctx);
    int gaps = 0;
    for (int i = 0; i < sink.n; i++) {
        if (strcmp(sink.ev[i].kind, "stream.gap"))
            continue;
        gaps++;
        assert_true(fabs(sink.ev[i].t - 5.0) < 0.1);
        assert_string_equal(sink.ev[i].detector, "converter");
    }
    assert_true(gaps >= 1); /* one per track */
    free(gap);
}

/* Scan the clip with one stream setting changed; returns the stream's statistics. */
static VqaStreamStats scan_with(Sink *sink, int cost, const char *hwaccel)
{
    VqaContext *ctx = open_ctx(sink, 2);
    VqaStreamSettings ss;
    vqa_stream_default_settings(&ss);
    ss.url = clip_path;
    ss.cost = cost;
    ss.hwaccel = hwaccel;
    VqaStream *st = NULL;
    assert_int_equal(vqa_stream_add(ctx, &st, &ss), 0);
    assert_int_equal(vqa_stream_wait(st, -1), 0);
    VqaStreamStats stats;
    vqa_stream_get_stats(st, &stats);
    vqa_close(&ctx);
    return stats;
}

static void test_cost_levels_trade_precision_for_work(void **state)
{
    (void)state;
    static Sink full, light, keys;
    VqaStreamStats s_full = scan_with(&full, VQA_COST_FULL, NULL);
    VqaStreamStats s_light = scan_with(&light, VQA_COST_LIGHT, NULL);
    VqaStreamStats s_keys = scan_with(&keys, VQA_COST_KEYFRAMES, NULL);
    /* light: video detectors at 5 fps instead of 25, edges within 1/5 s. */
    assert_interval(&light, "video.freeze", MEDIA_FREEZE_START_S, MEDIA_FREEZE_END_S, 0.2);
    assert_interval(&light, "video.black", MEDIA_BLACK_START_S, MEDIA_BLACK_END_S, 0.2);
    assert_true(s_light.frames_analysed < s_full.frames_analysed);
    /* keyframes: one decoded picture per 1 s GOP instead of 25, edges within a GOP. */
    assert_interval(&keys, "video.freeze", MEDIA_FREEZE_START_S, MEDIA_FREEZE_END_S, 1.0);
    assert_interval(&keys, "video.black", MEDIA_BLACK_START_S, MEDIA_BLACK_END_S, 1.0);
    assert_true(s_full.frames_decoded - s_keys.frames_decoded >= 200);
    /* Audio is analysed in full at every level, and skipped frames are no gap. */
    assert_interval(&keys, "audio.silence", MEDIA_SILENCE_START_S, MEDIA_SILENCE_END_S, 0.05);
    assert_int_equal(count(&light, "stream.gap", VQA_EVENT_INSTANT), 0);
    assert_int_equal(count(&keys, "stream.gap", VQA_EVENT_INSTANT), 0);
    assert_balanced(&light);
    assert_balanced(&keys);
}

static void test_hardware_decoding_falls_back_to_software(void **state)
{
    (void)state;
    static Sink soft, hard;
    VqaStreamStats s_soft = scan_with(&soft, VQA_COST_FULL, NULL);
    /* No GPU here: the device cannot be opened, the stream decodes in software. */
    VqaStreamStats s_hard = scan_with(&hard, VQA_COST_FULL, "vaapi");
    assert_int_equal(s_hard.frames_decoded, s_soft.frames_decoded);
    assert_int_equal(hard.n, soft.n);
    assert_interval(&hard, "video.freeze", MEDIA_FREEZE_START_S, MEDIA_FREEZE_END_S, FRAME_S);
    /* A device type FFmpeg does not know is refused when the stream is added. */
    VqaContext *ctx = open_ctx(&hard, 1);
    VqaStreamSettings ss;
    vqa_stream_default_settings(&ss);
    ss.url = clip_path;
    ss.hwaccel = "no-such-device";
    VqaStream *st = NULL;
    assert_int_equal(vqa_stream_add(ctx, &st, &ss), VQA_ERR(EINVAL));
    ss.hwaccel = NULL;
    ss.cost = 7;
    assert_int_equal(vqa_stream_add(ctx, &st, &ss), VQA_ERR(EINVAL));
    assert_null(st);
    vqa_close(&ctx);
}

static void test_stop_mid_file_closes_everything(void **state)
{
    (void)state;
    static Sink sink;
    VqaContext *ctx = open_ctx(&sink, 1);
    VqaStreamSettings ss;
    vqa_stream_default_settings(&ss);
    ss.url = clip_path;
    VqaStream *st = NULL;
    assert_int_equal(vqa_stream_add(ctx, &st, &ss), 0);
    vqa_stream_stop(st);
    int err = vqa_stream_wait(st, -1);
    assert_true(err == VQA_ERROR_STOPPED || err == 0);
    vqa_close(&ctx); /* also frees the stream */
    assert_balanced(&sink);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defect_clip_gives_the_known_defects),
        cmocka_unit_test(test_detector_choice_and_options),
        cmocka_unit_test(test_same_events_at_every_thread_count),
        cmocka_unit_test(test_many_streams_share_a_fixed_pool),
        cmocka_unit_test(test_missing_file_is_reported),
        cmocka_unit_test(test_not_media_is_reported),
        cmocka_unit_test(test_truncated_file_keeps_and_closes_events),
        cmocka_unit_test(test_timestamp_jump_is_a_gap),
        cmocka_unit_test(test_stop_mid_file_closes_everything),
        cmocka_unit_test(test_cost_levels_trade_precision_for_work),
        cmocka_unit_test(test_hardware_decoding_falls_back_to_software),
    };
    return cmocka_run_group_tests(tests, make_fixtures, drop_fixtures);
}
