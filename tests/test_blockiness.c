/*
 * The blockiness detector, hosted directly on synthetic pictures: pasted
 * garbage blocks found with their bounds and share; one corrupted frame not
 * reported; decoder flags confirm corruption that propagates to the next
 * clean key frame (or for `propagation` s); compression blocking that is
 * the stream's norm not reported. Then end to end through the library: an
 * H.264 transport stream with a few damaged TS packets, whose truth comes
 * from decoding the clean and the damaged file and comparing the pictures;
 * a clean and a heavily compressed stream not reported.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "harness.h"
#include "media.h"
#include "vqa/vqa.h"

#define FPS 25.0
#define FRAME_S (1.0 / FPS)
#define KIND "video.blockiness"
#define W 640
#define H 368
#define MB 16

typedef enum Look {
    LOOK_CLEAN,     /* smooth moving picture */
    LOOK_GARBAGE,   /* the clean picture with a region of random 16x16 blocks */
    LOOK_QUANTISED, /* every 8x8 block flattened to a coarse level (compression blocking) */
    LOOK_OFFSET,    /* the garbage region's blocks only shifted in level (faint concealment) */
} Look;

typedef struct Scenario {
    Look look;            /* over frames [from, to); LOOK_CLEAN elsewhere, unless */
    int quantised_always; /* the whole stream is LOOK_QUANTISED (the clean look) */
    int from, to;
    int error_from, error_to; /* frames carrying decode_errors (CONCEALMENT_ACTIVE) */
    int key_every;        /* VQA_FRAME_KEY on every n-th frame; 0 = only frame 0 */
    int total;
    const char *args;
    int quiet_frame;      /* if > 0: this frame inside [from, to) is painted clean */
} Scenario;

/* A natural-ish picture: low-frequency waves that drift, plus a little grain. The waves
 * are separable (sin(a + b) = sin a cos b + cos a sin b), so each costs a few multiplies. */
static void paint_clean(HarnessPicture *pic, int phase, HarnessRng *rng)
{
    static const double k1 = 1.0 / 27.0, k2 = 1.0 / 21.0, k3 = 1.0 / 14.0;
    double sx1[W], sx3[W], cx3[W];
    for (int x = 0; x < pic->width && x < W; x++) {
        sx1[x] = 50.0 * sin((x + 2.0 * phase) * k1);
        sx3[x] = 30.0 * sin((0.7 * x + 3.0 * phase) * k3);
        cx3[x] = 30.0 * cos((0.7 * x + 3.0 * phase) * k3);
    }
    for (int y = 0; y < pic->height; y++) {
        uint8_t *row = pic->pixels + y * pic->stride;
        double cy2 = cos((y - phase) * k2), cy3 = cos(0.4 * y * k3), sy3 = sin(0.4 * y * k3);
        for (int x = 0; x < pic->width && x < W; x++) {
            double v = 120.0 + sx1[x] * cy2 + sx3[x] * cy3 + cx3[x] * sy3;
            v += (double)(harness_rng_next(rng) % 5) - 2.0;
            row[x] = (uint8_t)(v < 16 ? 16 : v > 235 ? 235 : v);
        }
    }
}

/* 12 x 8 macroblocks of random flat-ish blocks: 96 of the 920 blocks, 10.4%. */
#define GARBAGE_BX 10
#define GARBAGE_BY 6
#define GARBAGE_COLS 12
#define GARBAGE_ROWS 8
#define GARBAGE_SHARE ((double)(GARBAGE_COLS * GARBAGE_ROWS) / ((W / MB) * (H / MB)))

static void paint_garbage(HarnessPicture *pic, HarnessRng *rng)
{
    for (int by = GARBAGE_BY; by < GARBAGE_BY + GARBAGE_ROWS; by++)
        for (int bx = GARBAGE_BX; bx < GARBAGE_BX + GARBAGE_COLS; bx++) {
            int dc = 16 + (int)(harness_rng_next(rng) % 220);
            int slope = (int)(harness_rng_next(rng) % 5) - 2;
            for (int y = 0; y < MB; y++) {
                uint8_t *row = pic->pixels + (by * MB + y) * pic->stride + bx * MB;
                for (int x = 0; x < MB; x++) {
                    int v = dc + slope * (x - MB / 2) / 2;
                    row[x] = (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
                }
            }
        }
}

/* Heavy quantisation: each 8x8 block becomes its mean, rounded to a step of 12. */
static void quantise(HarnessPicture *pic)
{
    for (int by = 0; by + 8 <= pic->height; by += 8)
        for (int bx = 0; bx + 8 <= pic->width; bx += 8) {
            int sum = 0;
            for (int y = 0; y < 8; y++)
                for (int x = 0; x < 8; x++)
                    sum += pic->pixels[(by + y) * pic->stride + bx + x];
            int level = (sum / 64 + 6) / 12 * 12;
            for (int y = 0; y < 8; y++)
                memset(pic->pixels + (by + y) * pic->stride + bx, level, 8);
        }
}

/* Every other block of the garbage region lifted by 24 levels: the picture stays smooth inside
 * each block, only the block edges step, as where concealment pasted a stale patch. */
static void paint_offset(HarnessPicture *pic)
{
    for (int by = GARBAGE_BY; by < GARBAGE_BY + GARBAGE_ROWS; by++)
        for (int bx = GARBAGE_BX + (by & 1); bx < GARBAGE_BX + GARBAGE_COLS; bx += 2)
            for (int y = 0; y < MB; y++) {
                uint8_t *row = pic->pixels + (by * MB + y) * pic->stride + bx * MB;
                for (int x = 0; x < MB; x++)
                    row[x] = (uint8_t)(row[x] + 24 > 255 ? 255 : row[x] + 24);
            }
}

static void paint(HarnessPicture *pic, const Scenario *sc, int i, HarnessRng *rng)
{
    paint_clean(pic, i, rng);
    int in = i >= sc->from && i < sc->to && !(sc->quiet_frame > 0 && i == sc->quiet_frame);
    if (in && sc->look == LOOK_OFFSET)
        paint_offset(pic);
    if ((in && sc->look == LOOK_QUANTISED) || sc->quantised_always)
        quantise(pic);
    if (in && sc->look == LOOK_GARBAGE)
        paint_garbage(pic, rng);
}

static void run(Harness *h, const Scenario *sc)
{
    VqaStreamInfo info = { .type = VQA_MEDIA_VIDEO, .frame_rate = FPS, .width = W, .height = H,
                           .range = VQA_RANGE_LIMITED };
    harness_start(h, "blockiness", "blockiness", sc->args, &info);
    HarnessPicture pic;
    harness_picture_init(&pic, W, H, VQA_RANGE_LIMITED);
    HarnessRng rng;
    harness_rng_seed(&rng, 11);
    for (int i = 0; i < sc->total; i++) {
        paint(&pic, sc, i, &rng);
        harness_picture_time(&pic, i, FPS);
        pic.frame.flags = 0;
        if (i == 0 || (sc->key_every && i % sc->key_every == 0))
            pic.frame.flags |= VQA_FRAME_KEY;
        pic.frame.decode_errors = i >= sc->error_from && i < sc->error_to
                                      ? VQA_DECODE_ERR_CONCEALMENT_ACTIVE
                                      : 0;
        assert_int_equal(harness_process(h, &pic.frame), 0);
    }
    harness_picture_free(&pic);
    harness_finish(h);
}

/* Exactly one event, [start_frame, end_frame) within a frame; returns its END. */
static const HarnessEvent *assert_one_event(const Harness *h, int start_frame, int end_frame,
                                            VqaSeverity severity, const char *cause)
{
    if (harness_count(h, KIND, VQA_EVENT_START) != 1)
        harness_dump(h);
    assert_int_equal(harness_count(h, KIND, VQA_EVENT_START), 1);
    assert_int_equal(harness_count(h, KIND, VQA_EVENT_END), 1);
    const HarnessEvent *s = harness_find(h, KIND, VQA_EVENT_START, 0);
    const HarnessEvent *e = harness_find(h, KIND, VQA_EVENT_END, 0);
    assert_near(s->t, start_frame * FRAME_S, FRAME_S + 1e-9);
    assert_near(e->t, end_frame * FRAME_S, FRAME_S + 1e-9);
    assert_int_equal(s->severity, severity);
    assert_int_equal(e->severity, severity);
    char want[64];
    snprintf(want, sizeof(want), "\"cause\":\"%s\"", cause);
    assert_non_null(strstr(e->details, want));
    return e;
}

static void assert_no_event(const Harness *h)
{
    if (h->event_count)
        harness_dump(h);
    assert_int_equal(h->event_count, 0);
}

static void test_garbage_blocks_found(void **state)
{
    (void)state;
    Harness h;
    const Scenario sc = { LOOK_GARBAGE, 0, 50, 58, 0, 0, 30, 100, NULL };
    run(&h, &sc);
    const HarnessEvent *e = assert_one_event(&h, 50, 58, VQA_SEVERITY_WARNING, "picture");
    assert_near(e->value, GARBAGE_SHARE, 0.05);
    assert_false(e->by_host);
    assert_null(strstr(e->details, "closed_by"));
    harness_close(&h);
}

static void test_single_corrupt_frame_not_reported(void **state)
{
    (void)state;
    Harness h;
    const Scenario sc = { LOOK_GARBAGE, 0, 50, 51, 0, 0, 30, 100, NULL };
    run(&h, &sc);
    assert_no_event(&h);
    harness_close(&h);
    /* Picture evidence alone must last min_frames_picture (6) frames: 5 are not enough,
     * while 5 frames the decoder reports errors on are (min_frames, 2). */
    const Scenario five = { LOOK_GARBAGE, 0, 50, 55, 0, 0, 30, 100, NULL };
    run(&h, &five);
    assert_no_event(&h);
    harness_close(&h);
    const Scenario five_flagged = { LOOK_GARBAGE, 0, 50, 55, 50, 55, 5, 100, NULL };
    run(&h, &five_flagged);
    assert_int_equal(harness_count(&h, KIND, VQA_EVENT_START), 1);
    harness_close(&h);
    /* Both are options: 8 picture frames are not enough for 10, 5 flagged ones not for 8. */
    const Scenario ten = { LOOK_GARBAGE, 0, 50, 58, 0, 0, 30, 100, "min_frames_picture=10" };
    run(&h, &ten);
    assert_no_event(&h);
    harness_close(&h);
    const Scenario eight = { LOOK_GARBAGE, 0, 50, 55, 50, 55, 5, 100, "min_frames=8" };
    run(&h, &eight);
    assert_no_event(&h);
    harness_close(&h);
}

static void test_decoder_errors_propagate_to_clean_key(void **state)
{
    (void)state;
    Harness h;
    /* Errors on frame 40 only, a clean picture, key frames every 30: corrupted until 60. */
    const Scenario sc = { LOOK_CLEAN, 0, 0, 0, 40, 41, 30, 100, NULL };
    run(&h, &sc);
    const HarnessEvent *e = assert_one_event(&h, 40, 60, VQA_SEVERITY_ERROR, "decoder");
    assert_non_null(strstr(e->details, "\"decode_errors\":4"));
    /* The picture shows nothing, so the share is the floor: the share threshold. */
    assert_near(e->value, 0.01, 1e-9);
    harness_close(&h);
}

static void test_decoder_errors_without_key_frames(void **state)
{
    (void)state;
    Harness h;
    /* No key frame after the errors: held for `propagation` s after the last evidence. */
    const Scenario sc = { LOOK_CLEAN, 0, 0, 0, 40, 42, 0, 100, "propagation=1" };
    run(&h, &sc);
    assert_one_event(&h, 40, 41 + 25 + 1, VQA_SEVERITY_ERROR, "decoder");
    harness_close(&h);
    /* ... and with decoder flags ignored, a clean picture is clean. */
    const Scenario off = { LOOK_CLEAN, 0, 0, 0, 40, 42, 30, 100, "decoder_flags=0" };
    run(&h, &off);
    assert_no_event(&h);
    harness_close(&h);
}

static void test_garbage_with_errors_is_decoder_confirmed(void **state)
{
    (void)state;
    Harness h;
    /* Garbage 50-54 with errors on 50; key frames every 25: the picture recovers at 55 but
     * the corruption is held until the clean key frame at 75. */
    const Scenario sc = { LOOK_GARBAGE, 0, 50, 55, 50, 51, 25, 100, NULL };
    run(&h, &sc);
    const HarnessEvent *e = assert_one_event(&h, 50, 75, VQA_SEVERITY_ERROR, "decoder");
    assert_near(e->value, GARBAGE_SHARE, 0.05);
    harness_close(&h);
}

static void test_compression_blocking_is_not_corruption(void **state)
{
    (void)state;
    Harness h;
    /* Uniform 8x8 blocking from the first frame: the stream's norm. */
    const Scenario sc = { LOOK_CLEAN, 1, 0, 0, 0, 0, 25, 100, NULL };
    run(&h, &sc);
    assert_no_event(&h);
    harness_close(&h);
    /* Heavier coding from a clean key frame on (a bitrate switch, I-frame pulsing): the
     * new norm, not corruption. */
    const Scenario switched = { LOOK_QUANTISED, 0, 60, 100, 0, 0, 30, 100, NULL };
    run(&h, &switched);
    assert_no_event(&h);
    harness_close(&h);
    /* On top of that norm, garbage blocks still stand out. */
    const Scenario both = { LOOK_GARBAGE, 1, 50, 58, 0, 0, 30, 100, NULL };
    run(&h, &both);
    const HarnessEvent *e = assert_one_event(&h, 50, 58, VQA_SEVERITY_WARNING, "picture");
    assert_near(e->value, GARBAGE_SHARE, 0.05);
    harness_close(&h);
}

/* Picture evidence that lapses for a frame inside a run does not split it: once reported, the
 * run is held until the picture has been quiet for `hold` s, and its END is back-dated to
 * when it went quiet. */
static void test_picture_run_held_across_a_quiet_frame(void **state)
{
    (void)state;
    Harness h;
    const Scenario sc = { LOOK_GARBAGE, 0, 62, 82, 0, 0, 30, 100, NULL, 70 };
    run(&h, &sc);
    assert_one_event(&h, 62, 82, VQA_SEVERITY_WARNING, "picture");
    harness_close(&h);
    /* With no hold, the quiet frame ends the run and the rest is a second report. */
    const Scenario no_hold = { LOOK_GARBAGE, 0, 62, 82, 0, 0, 30, 100, "hold=0", 70 };
    run(&h, &no_hold);
    assert_int_equal(harness_count(&h, KIND, VQA_EVENT_START), 2);
    harness_close(&h);
}

/* Blocks only lifted in level, in a checkerboard (no garbage content inside them): found with
 * their bounds and a plausible share, also with the lasting-step evidence on (whose back-dating
 * must not move the onset before the first shifted frame). */
static void test_level_shifted_blocks_found(void **state)
{
    (void)state;
    Harness h;
    const Scenario sc = { LOOK_OFFSET, 0, 50, 70, 0, 0, 0, 100, "lasting=1" };
    run(&h, &sc);
    const HarnessEvent *e = assert_one_event(&h, 50, 70, VQA_SEVERITY_WARNING, "picture");
    assert_true(e->value > 0.02 && e->value < 0.25);
    harness_close(&h);
}

static void test_corruption_open_at_the_end(void **state)
{
    (void)state;
    Harness h;
    const Scenario sc = { LOOK_GARBAGE, 0, 90, 100, 0, 0, 25, 100, NULL };
    run(&h, &sc);
    const HarnessEvent *e = assert_one_event(&h, 90, 100, VQA_SEVERITY_WARNING, "picture");
    assert_false(e->by_host); /* closed by the detector's flush */
    assert_non_null(strstr(e->details, "\"closed_by\":\"eos\""));
    harness_close(&h);
}

/* ---- end to end: a damaged H.264 transport stream -------------------------- */

#define TS_PACKET 188
#define TS_VIDEO_PID 0x100 /* ffmpeg's mpegts muxer puts the first stream there */
#define CLIP_W 320
#define CLIP_H 240
#define CLIP_FRAMES 150
/* A frame differs from the clean decode when its PSNR is below this. */
#define DAMAGE_PSNR_DB 40.0

typedef struct Interval {
    int n;              /* events seen */
    double start, end;  /* the first START and its END */
    double next_start;  /* the second START, if any */
    char details[256];
} Interval;

static void collect(void *cookie, const VqaEvent *ev)
{
    Interval *iv = cookie;
    if (strcmp(ev->kind, KIND))
        return;
    if (ev->state == VQA_EVENT_START && iv->n == 1)
        iv->next_start = ev->t;
    if (ev->state == VQA_EVENT_START && iv->n++ == 0)
        iv->start = ev->t;
    if (ev->state == VQA_EVENT_END && iv->n == 1) {
        iv->end = ev->t;
        snprintf(iv->details, sizeof(iv->details), "%s", ev->details_json ? ev->details_json
                                                                          : "");
    }
}

static void scan_file(const char *path, Interval *iv)
{
    memset(iv, 0, sizeof(*iv));
    VqaSettings s;
    vqa_default_settings(&s);
    s.n_threads = 2;
    s.on_event = collect;
    s.event_cookie = iv;
    VqaContext *ctx = NULL;
    assert_int_equal(vqa_open(&ctx, &s), 0);
    VqaStreamSettings ss;
    vqa_stream_default_settings(&ss);
    ss.url = path;
    ss.detectors = "blockiness";
    VqaStream *st = NULL;
    assert_int_equal(vqa_stream_add(ctx, &st, &ss), 0);
    assert_int_equal(vqa_stream_wait(st, -1), 0);
    vqa_stream_remove(&st);
    vqa_close(&ctx);
}

/* Overwrite the payload of `count` video packets from `from_byte` on, keeping every TS
 * header, PES start (PUSI) and adaptation field intact, so only coded data is hit. */
static void damage_ts(uint8_t *ts, size_t size, size_t from_byte, int count)
{
    HarnessRng rng;
    harness_rng_seed(&rng, 5);
    for (size_t k = from_byte / TS_PACKET; k < size / TS_PACKET && count > 0; k++) {
        const uint8_t *hdr = ts + k * TS_PACKET;
        int pid = ((hdr[1] & 0x1f) << 8) | hdr[2];
        if (hdr[0] != 0x47 || pid != TS_VIDEO_PID || (hdr[1] & 0x40) || (hdr[3] & 0x20))
            continue;
        for (size_t o = 20; o < TS_PACKET; o++)
            ts[k * TS_PACKET + o] = (uint8_t)harness_rng_next(&rng);
        count--;
    }
}

static char *decode_gray(const char *ts, const char *name, size_t *size)
{
    char *raw = media_path(name);
    char args[1024];
    snprintf(args, sizeof(args), "-i %s -f rawvideo -pix_fmt gray %s", ts, raw);
    assert_int_equal(media_ffmpeg(args), 0);
    char *data = media_read_file(raw, size);
    assert_non_null(data);
    free(raw);
    return data;
}

/* Frames whose picture differs from the clean decode: [*first, *end). */
static void damaged_frames(const char *clean_ts, const char *bad_ts, int *first, int *end)
{
    size_t na = 0, nb = 0;
    char *a = decode_gray(clean_ts, "clean.gray", &na);
    char *b = decode_gray(bad_ts, "bad.gray", &nb);
    const size_t frame = (size_t)CLIP_W * CLIP_H;
    assert_int_equal(na, frame * CLIP_FRAMES);
    assert_int_equal(nb, na); /* concealment keeps every frame */
    *first = *end = -1;
    for (int i = 0; i < CLIP_FRAMES; i++) {
        double se = 0;
        for (size_t j = 0; j < frame; j++) {
            double d = (double)(uint8_t)a[i * frame + j] - (uint8_t)b[i * frame + j];
            se += d * d;
        }
        double psnr = se > 0 ? 10.0 * log10(255.0 * 255.0 * (double)frame / se) : 99.0;
        if (psnr < DAMAGE_PSNR_DB && *first < 0)
            *first = i;
        if (psnr < DAMAGE_PSNR_DB)
            *end = i + 1;
    }
    free(a);
    free(b);
}

static void test_damaged_transport_stream(void **state)
{
    (void)state;
    char *clean = media_path("clean.ts"), *bad = media_path("bad.ts");
    char args[1024];
    /* No B-frames and a 2 s GOP: the damage propagates until the next key frame. */
    snprintf(args, sizeof(args),
             "-f lavfi -i testsrc2=size=%dx%d:rate=25:duration=6 -c:v libx264 -preset "
             "ultrafast -g 50 -bf 0 -pix_fmt yuv420p -f mpegts %s", CLIP_W, CLIP_H, clean);
    assert_int_equal(media_ffmpeg(args), 0);
    size_t size = 0;
    uint8_t *ts = (uint8_t *)media_read_file(clean, &size);
    assert_non_null(ts);
    /* A sixth into the file: a P-frame of the first GOP. */
    damage_ts(ts, size, size / 6, 3);
    FILE *out = fopen(bad, "wb");
    assert_non_null(out);
    assert_int_equal(fwrite(ts, 1, size, out), size);
    fclose(out);
    free(ts);

    int first = -1, end = -1;
    damaged_frames(clean, bad, &first, &end);
    assert_true(first > 0 && end > first + 1); /* the damage shows, on 2+ frames */

    Interval iv;
    scan_file(bad, &iv);
    if (iv.n != 1)
        fail_msg("damage over frames [%d, %d): %d events, [%.3f, %.3f) then from %.3f", first,
                 end, iv.n, iv.start, iv.end, iv.next_start);
    if (fabs(iv.start - first * FRAME_S) > FRAME_S + 1e-6 ||
        fabs(iv.end - end * FRAME_S) > FRAME_S + 1e-6)
        fail_msg("event [%.3f, %.3f) for damage over [%.3f, %.3f) %s", iv.start, iv.end,
                 first * FRAME_S, end * FRAME_S, iv.details);
    scan_file(clean, &iv);
    assert_int_equal(iv.n, 0);
    free(clean);
    free(bad);
}

/* Real compression blocking: x264 at QP 48, whose key frames are blockier than the
 * P-frames before them (the blocking jumps every 2 s), is no corruption. */
static void test_heavy_compression_is_not_corruption(void **state)
{
    (void)state;
    char *path = media_path("qp48.ts");
    char args[1024];
    snprintf(args, sizeof(args),
             "-f lavfi -i testsrc2=size=640x360:rate=25:duration=6 -c:v libx264 -preset "
             "ultrafast -qp 48 -g 50 -bf 0 -pix_fmt yuv420p -f mpegts %s", path);
    assert_int_equal(media_ffmpeg(args), 0);
    Interval iv;
    scan_file(path, &iv);
    if (iv.n)
        fail_msg("event [%.3f, %.3f) %s", iv.start, iv.end, iv.details);
    free(path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_garbage_blocks_found),
        cmocka_unit_test(test_single_corrupt_frame_not_reported),
        cmocka_unit_test(test_decoder_errors_propagate_to_clean_key),
        cmocka_unit_test(test_decoder_errors_without_key_frames),
        cmocka_unit_test(test_garbage_with_errors_is_decoder_confirmed),
        cmocka_unit_test(test_compression_blocking_is_not_corruption),
        cmocka_unit_test(test_corruption_open_at_the_end),
        cmocka_unit_test(test_picture_run_held_across_a_quiet_frame),
        cmocka_unit_test(test_level_shifted_blocks_found),
        cmocka_unit_test(test_damaged_transport_stream),
        cmocka_unit_test(test_heavy_compression_is_not_corruption),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
