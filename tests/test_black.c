/*
 * The black detector hosted directly: black, near-black and black with a
 * logo found with their bounds; a dark scene not; range awareness; the
 * minimum duration; a black run open at the end closed by the detector.
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
#define KIND "video.black"
#define W 320
#define H 240

typedef enum Look {
    LOOK_MOVING,   /* textured, moving */
    LOOK_FLAT,     /* one luma value everywhere (plus optional noise) */
    LOOK_LOGO,     /* luma 16 with a bright logo on 1% of the area */
} Look;

typedef struct Scenario {
    VqaColorRange range;
    Look look;
    int luma;          /* LOOK_FLAT */
    int noise;         /* amplitude added to LOOK_FLAT */
    double from_s, to_s;  /* the look lasts over [from_s, to_s); moving elsewhere */
    double total_s;
    const char *args;
} Scenario;

static void run(Harness *h, const Scenario *sc)
{
    VqaStreamInfo info = { .type = VQA_MEDIA_VIDEO, .frame_rate = FPS, .width = W, .height = H,
                           .range = sc->range };
    harness_start(h, "black", "black", sc->args, &info);
    HarnessPicture pic;
    harness_picture_init(&pic, W, H, sc->range);
    HarnessRng rng;
    harness_rng_seed(&rng, 7);
    for (int64_t i = 0; (double)i / FPS < sc->total_s - 1e-9; i++) {
        double t = (double)i / FPS;
        if (t < sc->from_s - 1e-9 || t >= sc->to_s - 1e-9) {
            harness_picture_pattern(&pic, (int)i);
        } else if (sc->look == LOOK_LOGO) {
            harness_picture_fill(&pic, 16);
            harness_picture_box(&pic, W - 40, 8, 32, 24, 235); /* 768 px = 1% */
        } else {
            harness_picture_fill(&pic, (uint8_t)sc->luma);
            if (sc->noise)
                harness_picture_noise(&pic, sc->noise, &rng);
        }
        harness_picture_time(&pic, i, FPS);
        assert_int_equal(harness_process(h, &pic.frame), 0);
    }
    harness_picture_free(&pic);
    harness_finish(h);
}

static void assert_one_black(const Harness *h, double start_s, double end_s)
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
    assert_int_equal(s->severity, VQA_SEVERITY_ERROR);
    assert_true(e->value >= 0.98 && e->value <= 1.0);
}

static void assert_no_event(const Harness *h)
{
    if (h->event_count)
        harness_dump(h);
    assert_int_equal(h->event_count, 0);
}

static void test_full_black(void **state)
{
    (void)state;
    Harness h;
    const Scenario sc = { VQA_RANGE_LIMITED, LOOK_FLAT, 16, 0, 1.0, 3.0, 4.0, NULL };
    run(&h, &sc);
    assert_one_black(&h, 1.0, 3.0);
    assert_near(harness_find(&h, KIND, VQA_EVENT_END, 0)->value, 1.0, 1e-9);
    assert_null(strstr(harness_find(&h, KIND, VQA_EVENT_END, 0)->details, "closed_by"));
    harness_close(&h);
}

static void test_near_black(void **state)
{
    (void)state;
    Harness h;
    const Scenario sc = { VQA_RANGE_LIMITED, LOOK_FLAT, 20, 3, 1.0, 3.0, 4.0, NULL };
    run(&h, &sc);
    assert_one_black(&h, 1.0, 3.0);
    harness_close(&h);
}

static void test_black_with_logo(void **state)
{
    (void)state;
    Harness h;
    const Scenario sc = { VQA_RANGE_LIMITED, LOOK_LOGO, 0, 0, 1.0, 3.0, 4.0, NULL };
    run(&h, &sc);
    assert_one_black(&h, 1.0, 3.0);
    assert_near(harness_find(&h, KIND, VQA_EVENT_END, 0)->value, 0.99, 0.001);
    harness_close(&h);
}

static void test_dark_scene_is_not_black(void **state)
{
    (void)state;
    Harness h;
    const Scenario sc = { VQA_RANGE_LIMITED, LOOK_FLAT, 60, 10, 0.0, 4.0, 4.0, NULL };
    run(&h, &sc);
    assert_no_event(&h);
    harness_close(&h);
}

static void test_full_range(void **state)
{
    (void)state;
    Harness h;
    /* Full range: dark is luma <= 25.5, so 20 is black ... */
    const Scenario black = { VQA_RANGE_FULL, LOOK_FLAT, 20, 0, 1.0, 3.0, 4.0, NULL };
    run(&h, &black);
    assert_one_black(&h, 1.0, 3.0);
    harness_close(&h);
    /* ... and 30 is not, though it would be in limited range (<= 37.9). */
    const Scenario grey = { VQA_RANGE_FULL, LOOK_FLAT, 30, 0, 1.0, 3.0, 4.0, NULL };
    run(&h, &grey);
    assert_no_event(&h);
    harness_close(&h);
    const Scenario limited = { VQA_RANGE_LIMITED, LOOK_FLAT, 30, 0, 1.0, 3.0, 4.0, NULL };
    run(&h, &limited);
    assert_one_black(&h, 1.0, 3.0);
    harness_close(&h);
    const Scenario forty = { VQA_RANGE_FULL, LOOK_FLAT, 40, 0, 1.0, 3.0, 4.0, NULL };
    run(&h, &forty);
    assert_no_event(&h);
    harness_close(&h);
}

static void test_short_black_not_reported(void **state)
{
    (void)state;
    Harness h;
    const Scenario sc = { VQA_RANGE_LIMITED, LOOK_FLAT, 16, 0, 1.0, 1.8, 3.0, NULL };
    run(&h, &sc);
    assert_no_event(&h);
    harness_close(&h);
    const Scenario shorter = { VQA_RANGE_LIMITED, LOOK_FLAT, 16, 0, 1.0, 1.8, 3.0,
                               "min_duration=0.5" };
    run(&h, &shorter);
    assert_one_black(&h, 1.0, 1.8);
    harness_close(&h);
}

static void test_ends_black(void **state)
{
    (void)state;
    Harness h;
    const Scenario sc = { VQA_RANGE_LIMITED, LOOK_FLAT, 16, 0, 1.0, 4.0, 4.0, NULL };
    run(&h, &sc);
    assert_one_black(&h, 1.0, 4.0);
    const HarnessEvent *e = harness_find(&h, KIND, VQA_EVENT_END, 0);
    assert_near(e->t, 4.0, 1e-9);
    assert_non_null(strstr(e->details, "\"closed_by\":\"eos\""));
    harness_close(&h);
}

static void test_picture_threshold_option(void **state)
{
    (void)state;
    Harness h;
    /* A 1% logo is fine at 0.98 but not when 99.5% must be dark. */
    const Scenario sc = { VQA_RANGE_LIMITED, LOOK_LOGO, 0, 0, 1.0, 3.0, 4.0,
                          "picture_threshold=0.995" };
    run(&h, &sc);
    assert_no_event(&h);
    harness_close(&h);
}

static void test_descriptor(void **state)
{
    (void)state;
    Harness h;
    assert_int_equal(harness_open(&h, "black", "black", NULL, NULL), 0);
    assert_string_equal(h.desc->name, "black");
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_full_black),
        cmocka_unit_test(test_near_black),
        cmocka_unit_test(test_black_with_logo),
        cmocka_unit_test(test_dark_scene_is_not_black),
        cmocka_unit_test(test_full_range),
        cmocka_unit_test(test_short_black_not_reported),
        cmocka_unit_test(test_ends_black),
        cmocka_unit_test(test_picture_threshold_option),
        cmocka_unit_test(test_descriptor),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
