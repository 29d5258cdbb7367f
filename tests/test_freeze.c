/*
 * The freeze detector hosted directly: exact and noisy freezes found with
 * their bounds, still content with a moving element, black and too-short
 * freezes not reported, a freeze open at the end closed by the detector.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "harness.h"

#define FPS 25.0
#define FRAME_S (1.0 / FPS)
#define KIND "video.freeze"
#define W 320
#define H 240

/* What frame i of a scenario looks like. */
typedef enum Look {
    LOOK_MOVING,      /* texture scrolling every frame */
    LOOK_FROZEN,      /* the texture at a fixed phase */
    LOOK_FROZEN_NOISY,/* the same, with fresh +-2 noise every frame */
    LOOK_BOX,         /* the fixed texture with a box moving in a corner */
    LOOK_BLACK,       /* luma 16 */
    LOOK_SMALL,       /* a frozen picture of another size */
    LOOK_BRIGHTER,    /* the frozen picture 8 levels brighter everywhere */
    LOOK_REFRESHED,   /* frozen, re-encoded anew on each key frame (every 12th) */
    LOOK_REFRESHED_NOKEY, /* the same changes, on frames not marked as key frames */
} Look;

#define GOP 12

typedef struct Segment {
    Look look;
    double until_s;   /* the segment covers frames up to this time */
} Segment;

static void draw(HarnessPicture *pic, Look look, int64_t i, HarnessRng *rng)
{
    switch (look) {
    case LOOK_MOVING:
        harness_picture_pattern(pic, (int)i);
        break;
    case LOOK_FROZEN:
    case LOOK_SMALL:
        harness_picture_pattern(pic, 1000);
        break;
    case LOOK_FROZEN_NOISY:
        harness_picture_pattern(pic, 1000);
        harness_picture_noise(pic, 2, rng);
        break;
    case LOOK_BOX: {
        harness_picture_pattern(pic, 1000);
        int step = (int)(i % 48);
        int x = 8 + (step < 24 ? 2 * step : 2 * (48 - step));
        harness_picture_box(pic, x, 8, 12, 12, 0);
        break;
    }
    case LOOK_BLACK:
        harness_picture_fill(pic, 16);
        break;
    case LOOK_REFRESHED:
    case LOOK_REFRESHED_NOKEY: {
        /* Each key frame re-quantises the still: detail (the left strip) moves by up
         * to 20 levels, the rest by a level; the frames after it repeat it. */
        harness_picture_pattern(pic, 1000);
        int version = (int)(i / GOP);
        for (int y = 0; y < pic->height; y++)
            for (int x = 0; x < pic->width; x++) {
                int swing = x < 32 ? 20 : 1;
                int d = (x * 7 + y * 13 + version * 31) % (2 * swing + 1) - swing;
                uint8_t *px = &pic->pixels[y * pic->stride + x];
                *px = (uint8_t)(*px + d < 16 ? 16 : *px + d > 235 ? 235 : *px + d);
            }
        break;
    }
    case LOOK_BRIGHTER:
        harness_picture_pattern(pic, 1000);
        for (int y = 0; y < pic->height; y++)
            for (int x = 0; x < pic->width; x++)
                pic->pixels[y * pic->stride + x] += 8;
        break;
    }
}

/* Feed the segments frame by frame, then flush. */
static void run(Harness *h, const char *args, const Segment *segs, size_t nsegs)
{
    VqaStreamInfo info = { .type = VQA_MEDIA_VIDEO, .frame_rate = FPS, .width = W, .height = H };
    harness_start(h, "freeze", "freeze", args, &info);
    HarnessPicture big, small;
    harness_picture_init(&big, W, H, VQA_RANGE_LIMITED);
    harness_picture_init(&small, W / 2, H / 2, VQA_RANGE_LIMITED);
    HarnessRng rng;
    harness_rng_seed(&rng, 42);
    int64_t i = 0;
    for (size_t s = 0; s < nsegs; s++) {
        for (; (double)i / FPS < segs[s].until_s - 1e-9; i++) {
            HarnessPicture *pic = segs[s].look == LOOK_SMALL ? &small : &big;
            draw(pic, segs[s].look, i, &rng);
            harness_picture_time(pic, i, FPS);
            int key = i % GOP == 0 && segs[s].look != LOOK_REFRESHED_NOKEY;
            pic->frame.flags = key ? VQA_FRAME_KEY : 0;
            assert_int_equal(harness_process(h, &pic->frame), 0);
        }
    }
    harness_picture_free(&big);
    harness_picture_free(&small);
    harness_finish(h);
}

static void assert_one_freeze(const Harness *h, double start_s, double end_s)
{
    if (harness_count(h, KIND, VQA_EVENT_START) != 1)
        harness_dump(h);
    assert_int_equal(harness_count(h, KIND, VQA_EVENT_START), 1);
    assert_int_equal(harness_count(h, KIND, VQA_EVENT_END), 1);
    const HarnessEvent *s = harness_find(h, KIND, VQA_EVENT_START, 0);
    const HarnessEvent *e = harness_find(h, KIND, VQA_EVENT_END, 0);
    assert_near(s->t, start_s, FRAME_S + 1e-9);
    assert_near(e->t, end_s, FRAME_S + 1e-9);
    assert_false(e->by_host);
    assert_near(e->duration, e->t - s->t, 1e-9);
}

static void test_exact_repeat(void **state)
{
    (void)state;
    Harness h;
    const Segment segs[] = { { LOOK_MOVING, 3.0 }, { LOOK_FROZEN, 6.0 }, { LOOK_MOVING, 8.0 } };
    run(&h, NULL, segs, 3);
    assert_one_freeze(&h, 3.0, 6.0);
    const HarnessEvent *e = harness_find(&h, KIND, VQA_EVENT_END, 0);
    assert_near(e->value, 0.0, 1e-9);
    assert_non_null(strstr(e->details, "\"frames\":75"));
    assert_null(strstr(e->details, "closed_by"));
    harness_close(&h);
}

/* A low-bit-rate encoder redraws a still on every key frame: still a freeze. */
static void test_key_frame_refresh_is_still_a_freeze(void **state)
{
    (void)state;
    Harness h;
    const Segment segs[] = { { LOOK_MOVING, 3.0 }, { LOOK_REFRESHED, 7.0 },
                             { LOOK_MOVING, 9.0 } };
    run(&h, NULL, segs, 3);
    assert_one_freeze(&h, 3.0, 7.0);
    const HarnessEvent *e = harness_find(&h, KIND, VQA_EVENT_END, 0);
    assert_null(strstr(e->details, "\"refreshes\":0"));
    harness_close(&h);
    /* With refreshes not allowed, every redraw breaks it up. */
    run(&h, "refresh=0", segs, 3);
    assert_int_equal(harness_count(&h, KIND, VQA_EVENT_START), 0);
    harness_close(&h);
}

/* The same visible changes on ordinary frames are changes: no freeze. */
static void test_refresh_needs_a_key_frame(void **state)
{
    (void)state;
    Harness h;
    const Segment segs[] = { { LOOK_MOVING, 3.0 }, { LOOK_REFRESHED_NOKEY, 7.0 },
                             { LOOK_MOVING, 9.0 } };
    run(&h, NULL, segs, 3);
    assert_int_equal(harness_count(&h, KIND, VQA_EVENT_START), 0);
    harness_close(&h);
}

static void test_noisy_freeze(void **state)
{
    (void)state;
    Harness h;
    const Segment segs[] = {
        { LOOK_MOVING, 1.0 }, { LOOK_FROZEN_NOISY, 4.0 }, { LOOK_MOVING, 5.0 },
    };
    run(&h, NULL, segs, 3);
    assert_one_freeze(&h, 1.0, 4.0);
    /* The value measures the noise: well above 0, below the threshold. */
    const HarnessEvent *e = harness_find(&h, KIND, VQA_EVENT_END, 0);
    assert_true(e->value > 0.5 && e->value < 4.0);
    harness_close(&h);
}

static void test_moving_box_is_not_freeze(void **state)
{
    (void)state;
    Harness h;
    const Segment segs[] = { { LOOK_BOX, 6.0 } };
    run(&h, NULL, segs, 1);
    if (h.event_count)
        harness_dump(&h);
    assert_int_equal(h.event_count, 0);
    harness_close(&h);
}

static void test_short_freeze_not_reported(void **state)
{
    (void)state;
    Harness h;
    const Segment segs[] = { { LOOK_MOVING, 2.0 }, { LOOK_FROZEN, 3.5 }, { LOOK_MOVING, 5.0 } };
    run(&h, NULL, segs, 3);
    assert_int_equal(h.event_count, 0);
    harness_close(&h);

    /* The same input with min_duration=1 does hold a freeze. */
    run(&h, "min_duration=1", segs, 3);
    assert_one_freeze(&h, 2.0, 3.5);
    harness_close(&h);
}

static void test_black_is_not_freeze(void **state)
{
    (void)state;
    Harness h;
    const Segment segs[] = { { LOOK_MOVING, 1.0 }, { LOOK_BLACK, 5.0 }, { LOOK_MOVING, 6.0 } };
    run(&h, NULL, segs, 3);
    if (h.event_count)
        harness_dump(&h);
    assert_int_equal(h.event_count, 0);
    harness_close(&h);
}

static void test_ends_frozen(void **state)
{
    (void)state;
    Harness h;
    const Segment segs[] = { { LOOK_MOVING, 1.0 }, { LOOK_FROZEN, 4.0 } };
    run(&h, NULL, segs, 2);
    assert_one_freeze(&h, 1.0, 4.0);
    const HarnessEvent *e = harness_find(&h, KIND, VQA_EVENT_END, 0);
    assert_near(e->t, 4.0, 1e-9);   /* last frame's t + its duration */
    assert_non_null(strstr(e->details, "\"closed_by\":\"eos\""));
    harness_close(&h);
}

static void test_size_change_splits(void **state)
{
    (void)state;
    Harness h;
    const Segment segs[] = { { LOOK_FROZEN, 3.0 }, { LOOK_SMALL, 6.0 } };
    run(&h, NULL, segs, 2);
    assert_int_equal(harness_count(&h, KIND, VQA_EVENT_START), 2);
    assert_near(harness_find(&h, KIND, VQA_EVENT_END, 0)->t, 3.0, 1e-9);
    assert_near(harness_find(&h, KIND, VQA_EVENT_START, 1)->t, 3.0, 1e-9);
    assert_near(harness_find(&h, KIND, VQA_EVENT_END, 1)->t, 6.0, 1e-9);
    harness_close(&h);
}

static void test_uniform_change_is_change(void **state)
{
    (void)state;
    Harness h;
    /* A shift of every pixel looks like noise to the median, but the adaptive
     * lift is capped: the picture did change, so the freeze is split. */
    const Segment segs[] = { { LOOK_FROZEN, 3.0 }, { LOOK_BRIGHTER, 6.0 } };
    run(&h, NULL, segs, 2);
    assert_int_equal(harness_count(&h, KIND, VQA_EVENT_START), 2);
    assert_near(harness_find(&h, KIND, VQA_EVENT_END, 0)->t, 3.0, 1e-9);
    assert_near(harness_find(&h, KIND, VQA_EVENT_START, 1)->t, 3.0, 1e-9);
    harness_close(&h);
}

static void test_descriptor(void **state)
{
    (void)state;
    Harness h;
    assert_int_equal(harness_open(&h, "freeze", "freeze", NULL, NULL), 0);
    assert_string_equal(h.desc->name, "freeze");
    assert_string_equal(h.desc->version, "1.0.0");
    assert_string_equal(h.desc->license, "BSD-2-Clause");
    assert_int_equal(h.cls->input.pix_fmt, VQA_PIX_GRAY8);
    assert_true(h.cls->flags & VQA_DETECTOR_TEMPORAL);
    for (const VqaOption *o = h.cls->options; o->name; o++) {
        assert_non_null(o->help);
        assert_non_null(o->unit);
        assert_true(o->min <= o->default_num && o->default_num <= o->max);
    }
    harness_close(&h);
}

static void test_bad_options_refused(void **state)
{
    (void)state;
    Harness h;
    assert_true(harness_open(&h, "freeze", "freeze", "noise=51", NULL) < 0);
    harness_close(&h);
    assert_true(harness_open(&h, "freeze", "freeze", "min_duration=0", NULL) < 0);
    harness_close(&h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_exact_repeat),
        cmocka_unit_test(test_key_frame_refresh_is_still_a_freeze),
        cmocka_unit_test(test_refresh_needs_a_key_frame),
        cmocka_unit_test(test_noisy_freeze),
        cmocka_unit_test(test_moving_box_is_not_freeze),
        cmocka_unit_test(test_short_freeze_not_reported),
        cmocka_unit_test(test_black_is_not_freeze),
        cmocka_unit_test(test_ends_frozen),
        cmocka_unit_test(test_size_change_splits),
        cmocka_unit_test(test_uniform_change_is_change),
        cmocka_unit_test(test_descriptor),
        cmocka_unit_test(test_bad_options_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
