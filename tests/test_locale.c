/*
 * A host application that set a locale with a decimal comma (a player
 * localised for Germany calls setlocale(LC_ALL, "")) still gets JSON with
 * decimal points from libvqa and may still write options as "0.5"; its own
 * formatting keeps its locale.
 *
 * The locale is compiled by localedef into a temporary directory (LOCPATH),
 * from the definitions of Debian's `locales` package (scripts/setup.sh
 * installs it), so the test needs no locale installed system-wide.
 */
#include <locale.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "media.h"
#include "vqa/vqa.h"

#define MAX_EVENTS 256

typedef struct Collected {
    char json[1024];
    int truncated;
} Collected;

typedef struct Events {
    Collected ev[MAX_EVENTS];
    int n;
} Events;

static char *clip_path;
static char locale_dir[] = "/tmp/vqa-locale-XXXXXX";

/* The host's own formatting, to prove which locale the host thread is in. */
static void host_format(char *out, size_t size, double v)
{
    snprintf(out, size, "%.1f", v);
}

static int make_fixtures(void **state)
{
    (void)state;
    if (!mkdtemp(locale_dir))
        return -1;
    char cmd[512];
    snprintf(cmd, sizeof(cmd), "localedef -i de_DE -f UTF-8 %s/de_DE.UTF-8 >/dev/null 2>&1",
             locale_dir);
    if (system(cmd) != 0) {
        fprintf(stderr, "localedef could not build de_DE.UTF-8 (is Debian's 'locales' "
                        "package installed? scripts/setup.sh installs it)\n");
        return -1;
    }
    setenv("LOCPATH", locale_dir, 1);
    if (!setlocale(LC_ALL, "de_DE.UTF-8")) {
        fprintf(stderr, "setlocale(de_DE.UTF-8) failed with LOCPATH=%s\n", locale_dir);
        return -1;
    }
    clip_path = media_path("defects.mp4");
    return media_make_defect_clip(clip_path);
}

static int drop_fixtures(void **state)
{
    (void)state;
    setlocale(LC_ALL, "C");
    char cmd[512];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", locale_dir);
    int rc = system(cmd);
    free(clip_path);
    return rc;
}

/* The premise: this thread's printf writes a decimal comma. */
static void test_host_locale_has_decimal_comma(void **state)
{
    (void)state;
    char text[32];
    host_format(text, sizeof(text), 0.5);
    assert_string_equal(text, "0,5");
    assert_string_equal(localeconv()->decimal_point, ",");
}

static void test_event_json_uses_decimal_point(void **state)
{
    (void)state;
    VqaEvent ev = { .stream = "s", .detector = "d", .kind = "video.black",
                    .state = VQA_EVENT_END, .t = 12.25, .duration = 2.5, .value = 0.125,
                    .has_value = 1, .severity = VQA_SEVERITY_WARNING };
    char json[512];
    assert_true(vqa_event_to_json(&ev, json, sizeof(json)) > 0);
    assert_non_null(strstr(json, "\"t\":12.25"));
    assert_non_null(strstr(json, "\"duration\":2.5"));
    assert_non_null(strstr(json, "\"value\":0.125"));
    assert_true(media_json_valid(json));
    /* the host's locale is as it was */
    char text[32];
    host_format(text, sizeof(text), 0.5);
    assert_string_equal(text, "0,5");
}

static void collect(void *cookie, const VqaEvent *ev)
{
    Events *events = cookie;
    if (events->n == MAX_EVENTS)
        return;
    Collected *c = &events->ev[events->n++];
    int n = vqa_event_to_json(ev, c->json, sizeof(c->json));
    c->truncated = n < 0 || (size_t)n >= sizeof(c->json);
}

/* Options with a fraction parse, and every event the plugins write on the
 * workers (details included) is JSON. */
static void test_pipeline_under_decimal_comma(void **state)
{
    (void)state;
    Events *events = calloc(1, sizeof(*events));
    assert_non_null(events);
    VqaSettings s;
    vqa_default_settings(&s);
    s.n_threads = 2;
    s.on_event = collect;
    s.event_cookie = events;
    VqaContext *ctx = NULL;
    assert_int_equal(vqa_open(&ctx, &s), 0);

    VqaStreamSettings ss;
    vqa_stream_default_settings(&ss);
    ss.url = clip_path;
    ss.id = "clip";
    ss.detectors = "freeze:min_duration=1.5,black:min_duration=0.5,silence:min_duration=1.5";
    VqaStream *st = NULL;
    assert_int_equal(vqa_stream_add(ctx, &st, &ss), 0);
    assert_int_equal(vqa_stream_wait(st, -1), 0);
    vqa_stream_remove(&st);
    vqa_close(&ctx);

    int starts = 0, with_fraction = 0;
    for (int i = 0; i < events->n; i++) {
        const Collected *c = &events->ev[i];
        assert_false(c->truncated);
        if (!media_json_valid(c->json))
            fail_msg("not JSON under a decimal-comma locale: %s", c->json);
        starts += strstr(c->json, "\"state\":\"start\"") != NULL;
        /* a number with a fraction somewhere: a decimal point was written */
        for (const char *p = c->json; (p = strchr(p, '.')) != NULL; p++)
            if (p > c->json && p[-1] >= '0' && p[-1] <= '9' && p[1] >= '0' && p[1] <= '9') {
                with_fraction++;
                break;
            }
    }
    /* the clip's freeze, black and silence */
    assert_true(starts >= 3);
    assert_true(with_fraction > 0);

    char text[32];
    host_format(text, sizeof(text), 0.5);
    assert_string_equal(text, "0,5");
    free(events);
}

/* Option syntax does not depend on the host's locale. */
static void test_option_with_decimal_point(void **state)
{
    (void)state;
    VqaSettings s;
    vqa_default_settings(&s);
    VqaContext *ctx = NULL;
    assert_int_equal(vqa_open(&ctx, &s), 0);
    char msg[256] = "";
    if (vqa_detector_spec_check(ctx, "black:min_duration=0.5,freeze:noise=2.5", msg,
                                sizeof(msg)) != 0)
        fail_msg("refused: %s", msg);
    vqa_close(&ctx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_host_locale_has_decimal_comma),
        cmocka_unit_test(test_event_json_uses_decimal_point),
        cmocka_unit_test(test_pipeline_under_decimal_comma),
        cmocka_unit_test(test_option_with_decimal_point),
    };
    return cmocka_run_group_tests(tests, make_fixtures, drop_fixtures);
}
