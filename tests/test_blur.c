/*
 * The blur detector hosted directly, on synthetic GRAY8 pictures: a moving
 * textured picture box-blurred for a while is found with its bounds; soft
 * content is its own norm; fades, dark and flat pictures are not blur; the
 * minimum duration, blur until the end, a reduced analysis rate (the host's,
 * and the detector's own sampling, which keeps the bounds exact) and a
 * lasting blur that becomes the norm. Then end to end on x264-encoded
 * testsrc2 through the library's pipeline.
 */
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
#define KIND "video.blur"
#define W 320
#define H 240
#define BLACK 16

typedef enum Look {
    LOOK_SHARP,     /* a moving checkerboard with fine noise */
    LOOK_BLURRED,   /* the same, box-blurred 7x7 */
    LOOK_SOFTER,    /* the same, box-blurred 7x7 then 11x11 */
    LOOK_FADE_OUT,  /* blurred 7x7 and dimmed linearly to black over the segment */
    LOOK_FADE_IN,   /* blurred 7x7 and brightened linearly from black */
    LOOK_BLACK,
    LOOK_DARK,      /* blurred 7x7 and dimmed to 10% of its brightness */
    LOOK_FLAT,      /* mid grey with +-1 of noise */
} Look;

typedef struct Segment {
    Look look;
    double until_s;  /* the segment lasts from the previous one's end to here */
} Segment;

typedef struct Scenario {
    const Segment *segments;
    size_t count;
    const char *args;
    int step;        /* feed every step-th frame (a reduced analysis rate); 0 = every frame */
} Scenario;

/* A picture and the scratch row a separable box blur needs. */
typedef struct Canvas {
    HarnessPicture pic;
    uint8_t *tmp;
    HarnessRng rng;
} Canvas;

static void texture(Canvas *c, int64_t index)
{
    /* 16 px cells scrolling 2 px right and 1 px down per frame, plus noise
     * of +-8: hard edges and fine grain, both lost when blurred. */
    HarnessPicture *pic = &c->pic;
    for (int y = 0; y < H; y++) {
        uint8_t *row = pic->pixels + y * pic->stride;
        const int v = (int)((y + index) / 16);
        for (int x = 0; x < W; x++) {
            const int u = (int)((x + 2 * index) / 16);
            const int base = (u + v) % 2 ? 170 : 70;
            row[x] = (uint8_t)(base + (int)(harness_rng_next(&c->rng) % 17) - 8);
        }
    }
}

/* Mean of the (2r+1) neighbours along one line, the edge pixel repeated. */
static void box_line(const uint8_t *src, ptrdiff_t step, int n, int r, uint8_t *dst)
{
    for (int i = 0; i < n; i++) {
        int sum = 0;
        for (int k = -r; k <= r; k++) {
            const int j = i + k < 0 ? 0 : i + k >= n ? n - 1 : i + k;
            sum += src[j * step];
        }
        dst[i] = (uint8_t)((sum + r) / (2 * r + 1));
    }
}

static void box_blur(Canvas *c, int r)
{
    HarnessPicture *pic = &c->pic;
    for (int y = 0; y < H; y++) {
        uint8_t *row = pic->pixels + y * pic->stride;
        box_line(row, 1, W, r, c->tmp);
        memcpy(row, c->tmp, W);
    }
    for (int x = 0; x < W; x++) {
        box_line(pic->pixels + x, pic->stride, H, r, c->tmp);
        for (int y = 0; y < H; y++)
            pic->pixels[y * pic->stride + x] = c->tmp[y];
    }
}

/* Scale the luma above black by k: a fade. */
static void dim(Canvas *c, double k)
{
    for (int y = 0; y < H; y++) {
        uint8_t *row = c->pic.pixels + y * c->pic.stride;
        for (int x = 0; x < W; x++)
            row[x] = (uint8_t)(BLACK + (row[x] - BLACK) * k + 0.5);
    }
}

static void render(Canvas *c, Look look, int64_t index, double from_s, double to_s, double t)
{
    const double k = (t - from_s) / (to_s - from_s);
    switch (look) {
    case LOOK_BLACK:
        harness_picture_fill(&c->pic, BLACK);
        return;
    case LOOK_FLAT:
        harness_picture_fill(&c->pic, 128);
        harness_picture_noise(&c->pic, 1, &c->rng);
        return;
    default:
        break;
    }
    texture(c, index);
    if (look == LOOK_SHARP)
        return;
    box_blur(c, 3);
    if (look == LOOK_SOFTER)
        box_blur(c, 5);
    else if (look == LOOK_FADE_OUT)
        dim(c, 1.0 - k);
    else if (look == LOOK_FADE_IN)
        dim(c, k);
    else if (look == LOOK_DARK)
        dim(c, 0.1);
}

static void run(Harness *h, const Scenario *sc)
{
    VqaStreamInfo info = { .type = VQA_MEDIA_VIDEO, .frame_rate = FPS, .width = W, .height = H,
                           .range = VQA_RANGE_LIMITED };
    harness_start(h, "blur", "blur", sc->args, &info);
    Canvas c;
    harness_picture_init(&c.pic, W, H, VQA_RANGE_LIMITED);
    c.tmp = malloc(W > H ? W : H);
    assert_non_null(c.tmp);
    harness_rng_seed(&c.rng, 11);
    const int step = sc->step > 0 ? sc->step : 1;
    const double total_s = sc->segments[sc->count - 1].until_s;
    size_t seg = 0;
    for (int64_t i = 0; (double)i / FPS < total_s - 1e-9; i += step) {
        const double t = (double)i / FPS;
        while (t >= sc->segments[seg].until_s - 1e-9)
            seg++;
        const double from_s = seg ? sc->segments[seg - 1].until_s : 0.0;
        render(&c, sc->segments[seg].look, i, from_s, sc->segments[seg].until_s, t);
        harness_picture_time(&c.pic, i, FPS);
        assert_int_equal(harness_process(h, &c.pic.frame), 0);
    }
    harness_picture_free(&c.pic);
    free(c.tmp);
    harness_finish(h);
}

static void run_segments(Harness *h, const Segment *segments, size_t count, const char *args)
{
    const Scenario sc = { segments, count, args, 0 };
    run(h, &sc);
}

#define RUN(h, segs, args) run_segments((h), (segs), sizeof(segs) / sizeof((segs)[0]), (args))

static void assert_one_blur(const Harness *h, double start_s, double end_s, double tolerance_s)
{
    if (harness_count(h, KIND, VQA_EVENT_START) != 1)
        harness_dump(h);
    assert_int_equal(harness_count(h, KIND, VQA_EVENT_START), 1);
    assert_int_equal(harness_count(h, KIND, VQA_EVENT_END), 1);
    const HarnessEvent *s = harness_find(h, KIND, VQA_EVENT_START, 0);
    const HarnessEvent *e = harness_find(h, KIND, VQA_EVENT_END, 0);
    if (s->t < start_s - tolerance_s || s->t > start_s + tolerance_s ||
        e->t < end_s - tolerance_s || e->t > end_s + tolerance_s)
        harness_dump(h);
    assert_near(s->t, start_s, tolerance_s);
    assert_near(e->t, end_s, tolerance_s);
    assert_false(e->by_host);
    assert_int_equal(s->severity, VQA_SEVERITY_WARNING);
    assert_true(s->has_value && e->has_value);
    assert_true(e->value > 0.5 && e->value <= 1.0);
}

static void assert_no_event(const Harness *h)
{
    if (h->event_count)
        harness_dump(h);
    assert_int_equal(h->event_count, 0);
}

static void test_blur_in_the_middle(void **state)
{
    (void)state;
    Harness h;
    const Segment segs[] = { { LOOK_SHARP, 4.0 }, { LOOK_BLURRED, 8.0 }, { LOOK_SHARP, 11.0 } };
    RUN(&h, segs, NULL);
    assert_one_blur(&h, 4.0, 8.0, FRAME_S + 1e-9);
    const HarnessEvent *e = harness_find(&h, KIND, VQA_EVENT_END, 0);
    assert_null(strstr(e->details, "closed_by"));
    assert_non_null(strstr(e->details, "\"baseline\":"));
    assert_non_null(strstr(e->details, "\"sharpness\":"));
    assert_non_null(strstr(e->details, "\"frames\":100"));
    harness_close(&h);
}

static void test_soft_content_is_its_own_norm(void **state)
{
    (void)state;
    Harness h;
    /* Blurred from the first frame: the stream's norm, nothing lost. */
    const Segment soft[] = { { LOOK_BLURRED, 10.0 } };
    RUN(&h, soft, NULL);
    assert_no_event(&h);
    harness_close(&h);
    /* Starting soft and turning sharp loses nothing either. */
    const Segment sharper[] = { { LOOK_BLURRED, 4.0 }, { LOOK_SHARP, 10.0 } };
    RUN(&h, sharper, NULL);
    assert_no_event(&h);
    harness_close(&h);
    /* But soft content that loses more detail still does. */
    const Segment softer[] = { { LOOK_BLURRED, 4.0 }, { LOOK_SOFTER, 8.0 },
                               { LOOK_BLURRED, 10.0 } };
    RUN(&h, softer, NULL);
    assert_one_blur(&h, 4.0, 8.0, FRAME_S + 1e-9);
    harness_close(&h);
}

static void test_fade_to_black_is_not_blur(void **state)
{
    (void)state;
    Harness h;
    /* The fades are blurred all through (encoders smooth dim pictures), for
     * longer than min_duration; black is the black detector's business. */
    const Segment segs[] = { { LOOK_SHARP, 4.0 }, { LOOK_FADE_OUT, 7.0 }, { LOOK_BLACK, 9.0 },
                             { LOOK_FADE_IN, 12.0 }, { LOOK_SHARP, 14.0 } };
    RUN(&h, segs, NULL);
    assert_no_event(&h);
    harness_close(&h);
    /* The same with the fade rule off: the blurred fade-out is reported. */
    RUN(&h, segs, "fade_ratio=0");
    assert_true(harness_count(&h, KIND, VQA_EVENT_START) >= 1);
    assert_near(harness_find(&h, KIND, VQA_EVENT_START, 0)->t, 4.0, FRAME_S + 1e-9);
    harness_close(&h);
}

static void test_dark_and_flat_pictures_are_not_blur(void **state)
{
    (void)state;
    Harness h;
    /* A dim blurred picture is left out as dark even with the fade rule off. */
    const Segment dark[] = { { LOOK_SHARP, 4.0 }, { LOOK_DARK, 8.0 }, { LOOK_SHARP, 10.0 } };
    RUN(&h, dark, "fade_ratio=0");
    assert_no_event(&h);
    harness_close(&h);
    /* Flat grey has no detail to lose ... */
    const Segment flat[] = { { LOOK_SHARP, 4.0 }, { LOOK_FLAT, 8.0 }, { LOOK_SHARP, 10.0 } };
    RUN(&h, flat, NULL);
    assert_no_event(&h);
    harness_close(&h);
    /* ... and reads as blur only once the flatness floor is off. */
    RUN(&h, flat, "min_activity=0");
    assert_one_blur(&h, 4.0, 8.0, FRAME_S + 1e-9);
    harness_close(&h);
}

static void test_short_blur_not_reported(void **state)
{
    (void)state;
    Harness h;
    const Segment segs[] = { { LOOK_SHARP, 4.0 }, { LOOK_BLURRED, 5.5 }, { LOOK_SHARP, 8.0 } };
    RUN(&h, segs, NULL);
    assert_no_event(&h);
    harness_close(&h);
    RUN(&h, segs, "min_duration=1");
    assert_one_blur(&h, 4.0, 5.5, FRAME_S + 1e-9);
    harness_close(&h);
}

static void test_blur_until_the_end(void **state)
{
    (void)state;
    Harness h;
    const Segment segs[] = { { LOOK_SHARP, 4.0 }, { LOOK_BLURRED, 8.0 } };
    RUN(&h, segs, NULL);
    assert_one_blur(&h, 4.0, 8.0, 1e-9);
    const HarnessEvent *e = harness_find(&h, KIND, VQA_EVENT_END, 0);
    assert_non_null(strstr(e->details, "\"closed_by\":\"eos\""));
    harness_close(&h);
}

static void test_reduced_analysis_rate(void **state)
{
    (void)state;
    Harness h;
    /* Every 5th frame (5 Hz, as a light-cost host delivers): the bounds are
     * good to one analysis interval and min_duration stays in seconds. */
    const Segment segs[] = { { LOOK_SHARP, 4.1 }, { LOOK_BLURRED, 8.1 }, { LOOK_SHARP, 11.0 } };
    const Scenario sc = { segs, 3, NULL, 5 };
    run(&h, &sc);
    assert_one_blur(&h, 4.1, 8.1, 5 * FRAME_S + 1e-9);
    harness_close(&h);
    const Segment short_segs[] = { { LOOK_SHARP, 4.1 }, { LOOK_BLURRED, 5.7 },
                                   { LOOK_SHARP, 8.0 } };
    const Scenario short_sc = { short_segs, 3, NULL, 5 };
    run(&h, &short_sc);
    assert_no_event(&h);
    harness_close(&h);
}

/* The START and END of the only run, and the END's details. */
static void run_bounds(Harness *h, const Segment *segs, size_t count, const char *args,
                       double *start_s, double *end_s, char *details, size_t size)
{
    run_segments(h, segs, count, args);
    assert_int_equal(harness_count(h, KIND, VQA_EVENT_START), 1);
    *start_s = harness_find(h, KIND, VQA_EVENT_START, 0)->t;
    const HarnessEvent *e = harness_find(h, KIND, VQA_EVENT_END, 0);
    *end_s = e->t;
    snprintf(details, size, "%s", strstr(e->details, "\"frames\""));
    harness_close(h);
}

/* Measuring 5 pictures a second (the default) and every picture give the same run,
 * to the frame, with bounds between measured pictures: the pictures in between were
 * kept and are measured once the verdict changes. Every kept picture is released (the
 * harness checks the balance of references). */
static void test_sampled_rate_keeps_exact_bounds(void **state)
{
    (void)state;
    Harness h;
    /* frames 103 and 207: not on the grid of measured pictures (every fifth one at 25 fps) */
    const Segment segs[] = { { LOOK_SHARP, 4.12 }, { LOOK_BLURRED, 8.28 }, { LOOK_SHARP, 11.0 } };
    const size_t n = sizeof(segs) / sizeof(segs[0]);
    double s0, e0, s1, e1;
    char d0[128], d1[128];
    run_bounds(&h, segs, n, "rate=0", &s0, &e0, d0, sizeof(d0));
    run_bounds(&h, segs, n, NULL, &s1, &e1, d1, sizeof(d1));
    assert_near(s0, 4.12, 1e-9);
    assert_near(e0, 8.28, 1e-9);
    assert_true(s1 == s0 && e1 == e0);
    assert_non_null(strstr(d0, "\"frames\":104"));
    assert_string_equal(d0, d1);
    /* A slow rate (2 Hz: 12 kept pictures between measured ones) and blur to the end. */
    const Segment to_end[] = { { LOOK_SHARP, 4.12 }, { LOOK_BLURRED, 8.28 } };
    run_bounds(&h, to_end, 2, "rate=2", &s1, &e1, d1, sizeof(d1));
    assert_near(s1, 4.12, 1e-9);
    assert_near(e1, 8.28, 1e-9);
    assert_non_null(strstr(d1, "\"frames\":104"));
}

/* What sampling gives up: a single sharp picture inside a blurred run breaks the run
 * when every picture is measured, but between two measured pictures it is not seen. */
static void test_sampled_rate_skips_one_frame_blip(void **state)
{
    (void)state;
    Harness h;
    const Segment segs[] = { { LOOK_SHARP, 4.0 }, { LOOK_BLURRED, 6.04 }, { LOOK_SHARP, 6.08 },
                             { LOOK_BLURRED, 9.0 }, { LOOK_SHARP, 11.0 } };
    RUN(&h, segs, "rate=0");
    assert_int_equal(harness_count(&h, KIND, VQA_EVENT_START), 2);
    assert_near(harness_find(&h, KIND, VQA_EVENT_END, 0)->t, 6.04, 1e-9);
    assert_near(harness_find(&h, KIND, VQA_EVENT_START, 1)->t, 6.08, 1e-9);
    harness_close(&h);
    RUN(&h, segs, NULL);
    assert_one_blur(&h, 4.0, 9.0, 1e-9);
    harness_close(&h);
}

static void test_warmup(void **state)
{
    (void)state;
    Harness h;
    /* Blurred before the norm is known: nothing to compare with. */
    const Segment segs[] = { { LOOK_SHARP, 0.5 }, { LOOK_BLURRED, 5.0 }, { LOOK_SHARP, 7.0 } };
    RUN(&h, segs, NULL);
    assert_no_event(&h);
    harness_close(&h);
    /* With a shorter warm-up the same blur is found from its start. */
    RUN(&h, segs, "warmup=0.25");
    assert_one_blur(&h, 0.5, 5.0, FRAME_S + 1e-9);
    harness_close(&h);
}

static void test_lasting_blur_becomes_the_norm(void **state)
{
    (void)state;
    Harness h;
    const Segment segs[] = { { LOOK_SHARP, 4.0 }, { LOOK_BLURRED, 20.0 } };
    RUN(&h, segs, "relearn_time=5");
    assert_int_equal(harness_count(&h, KIND, VQA_EVENT_START), 1);
    const HarnessEvent *s = harness_find(&h, KIND, VQA_EVENT_START, 0);
    const HarnessEvent *e = harness_find(&h, KIND, VQA_EVENT_END, 0);
    assert_near(s->t, 4.0, FRAME_S + 1e-9);
    /* Ended by the detector well before the input's end, not at eos. */
    assert_non_null(e);
    assert_true(e->t > 6.0 && e->t < 18.0);
    assert_null(strstr(e->details, "closed_by"));
    harness_close(&h);
}

static void test_descriptor(void **state)
{
    (void)state;
    Harness h;
    assert_int_equal(harness_open(&h, "blur", "blur", NULL, NULL), 0);
    assert_string_equal(h.desc->name, "blur");
    assert_string_equal(h.cls->name, "blur");
    assert_string_equal(h.cls->kinds[0], KIND);
    assert_null(h.cls->kinds[1]);
    assert_int_equal(h.cls->input.pix_fmt, VQA_PIX_GRAY8);
    assert_true(h.cls->input.max_width > 0 && h.cls->input.max_width <= 480);
    assert_true(h.cls->input.max_height > 0 && h.cls->input.max_height <= 480);
    assert_true(h.cls->flags & VQA_DETECTOR_TEMPORAL);
    int found_min_duration = 0;
    for (const VqaOption *o = h.cls->options; o->name; o++) {
        assert_non_null(o->help);
        assert_non_null(o->unit);
        assert_true(o->min <= o->default_num && o->default_num <= o->max);
        if (!strcmp(o->name, "min_duration")) {
            found_min_duration = 1;
            assert_near(o->default_num, 2.0, 1e-12);
        }
    }
    assert_true(found_min_duration);
    harness_close(&h);
    /* A picture that is not GRAY8 is refused. */
    assert_int_equal(harness_open(&h, "blur", "blur", NULL, NULL), 0);
    HarnessPicture pic;
    harness_picture_init(&pic, W, H, VQA_RANGE_LIMITED);
    pic.frame.pix_fmt = VQA_PIX_RGB24;
    assert_true(harness_process(&h, &pic.frame) < 0);
    harness_picture_free(&pic);
    harness_close(&h);
}

/* ---- end to end: x264 files through the library's pipeline ------------- */

#define MAX_EVENTS 64

typedef struct Sink {
    VqaEventState state[MAX_EVENTS];
    double t[MAX_EVENTS];
    char details[MAX_EVENTS][256];
    int n;
    int others;       /* events of other kinds (stream errors, ...) */
} Sink;

/* The encoded clips, in media_dir() (removed at exit). */
typedef struct Media {
    char blur_clip[320];
    char fade_clip[320];
} Media;

static void collect(void *cookie, const VqaEvent *ev)
{
    Sink *sink = cookie;
    if (strcmp(ev->kind, KIND) != 0) {
        sink->others++;
        return;
    }
    if (sink->n == MAX_EVENTS)
        return;
    sink->state[sink->n] = ev->state;
    sink->t[sink->n] = ev->t;
    snprintf(sink->details[sink->n], sizeof(sink->details[0]), "%s",
             ev->details_json ? ev->details_json : "");
    sink->n++;
}

/* Encode the lavfi graph in args to out (H.264, 25 fps GOP) with media_ffmpeg. */
static int encode(const char *args, const char *out)
{
    char cmd[1024];
    snprintf(cmd, sizeof(cmd), "%s -c:v libx264 -preset ultrafast -pix_fmt yuv420p -g 25 '%s'",
             args, out);
    return media_ffmpeg(cmd);
}

static int make_media(void **state)
{
    static Media media;
    char *blur = media_path("blur.mp4"), *fade = media_path("fade.mp4");
    if (!blur || !fade)
        return -1;
    snprintf(media.blur_clip, sizeof(media.blur_clip), "%s", blur);
    snprintf(media.fade_clip, sizeof(media.fade_clip), "%s", fade);
    free(blur);
    free(fade);
    *state = &media;
    /* boxblur's enable range is inclusive: the frame at 7.0 s is blurred too. */
    if (encode("-f lavfi -i testsrc2=s=320x240:r=25:d=10 "
               "-vf \"boxblur=10:enable='between(t,3,7)'\"", media.blur_clip) != 0)
        return -1;
    /* 3-5 s fade to black, 2 s of black, 7-9 s fade in. */
    return encode("-filter_complex \"testsrc2=s=320x240:r=25:d=5,fade=t=out:st=3:d=2[a];"
                  "color=c=black:s=320x240:r=25:d=2[b];"
                  "testsrc2=s=320x240:r=25:d=5,fade=t=in:st=0:d=2[c];"
                  "[a][b][c]concat=n=3:v=1:a=0[v]\" -map \"[v]\"", media.fade_clip) != 0
               ? -1 : 0;
}

static void scan(const char *url, const char *spec, Sink *sink)
{
    memset(sink, 0, sizeof(*sink));
    VqaSettings s;
    vqa_default_settings(&s);
    s.n_threads = 2;
    s.on_event = collect;
    s.event_cookie = sink;
    VqaContext *ctx = NULL;
    assert_int_equal(vqa_open(&ctx, &s), 0);
    VqaStreamSettings ss;
    vqa_stream_default_settings(&ss);
    ss.url = url;
    ss.detectors = spec;
    VqaStream *st = NULL;
    assert_int_equal(vqa_stream_add(ctx, &st, &ss), 0);
    assert_int_equal(vqa_stream_wait(st, -1), 0);
    vqa_stream_remove(&st);
    vqa_close(&ctx);
    assert_int_equal(sink->others, 0);
}

static void test_encoded_blur_found(void **state)
{
    const Media *media = *state;
    Sink sink;
    scan(media->blur_clip, "blur", &sink);
    if (sink.n != 2)
        fail_msg("expected one video.blur interval, got %d events", sink.n);
    assert_int_equal(sink.state[0], VQA_EVENT_START);
    assert_int_equal(sink.state[1], VQA_EVENT_END);
    assert_near(sink.t[0], 3.0, FRAME_S + 1e-6);
    assert_near(sink.t[1], 7.0, FRAME_S + 1e-6);
    assert_null(strstr(sink.details[1], "closed_by"));
}

static void test_encoded_fade_not_blur(void **state)
{
    const Media *media = *state;
    Sink sink;
    /* Even runs far shorter than the default minimum. */
    scan(media->fade_clip, "blur:min_duration=0.2", &sink);
    assert_int_equal(sink.n, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_blur_in_the_middle),
        cmocka_unit_test(test_soft_content_is_its_own_norm),
        cmocka_unit_test(test_fade_to_black_is_not_blur),
        cmocka_unit_test(test_dark_and_flat_pictures_are_not_blur),
        cmocka_unit_test(test_short_blur_not_reported),
        cmocka_unit_test(test_blur_until_the_end),
        cmocka_unit_test(test_reduced_analysis_rate),
        cmocka_unit_test(test_sampled_rate_keeps_exact_bounds),
        cmocka_unit_test(test_sampled_rate_skips_one_frame_blip),
        cmocka_unit_test(test_warmup),
        cmocka_unit_test(test_lasting_blur_becomes_the_norm),
        cmocka_unit_test(test_descriptor),
    };
    const struct CMUnitTest encoded[] = {
        cmocka_unit_test(test_encoded_blur_found),
        cmocka_unit_test(test_encoded_fade_not_blur),
    };
    const int failed = cmocka_run_group_tests(tests, NULL, NULL);
    return failed + cmocka_run_group_tests(encoded, make_media, NULL);
}
