/*
 * vqa_event_to_json: the JSON Lines shape of EVENTS.md.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "json.h"
#include "vqa/event.h"

static VqaEvent sample_event(void)
{
    VqaEvent e;
    memset(&e, 0, sizeof(e));
    e.stream = "0";
    e.detector = "freeze";
    e.kind = "video.freeze";
    e.state = VQA_EVENT_START;
    e.t = 3.0;
    e.value = 0.04;
    e.has_value = 1;
    e.severity = VQA_SEVERITY_WARNING;
    return e;
}

static void expect_json(const VqaEvent *e, const char *expected)
{
    char buf[512];
    int n = vqa_event_to_json(e, buf, sizeof(buf));
    assert_int_equal(n, (int)strlen(expected));
    assert_string_equal(buf, expected);
}

static void test_start_field_order(void **state)
{
    (void)state;
    VqaEvent e = sample_event();
    expect_json(&e, "{\"v\":1,\"stream\":\"0\",\"detector\":\"freeze\",\"kind\":\"video.freeze\","
                    "\"state\":\"start\",\"t\":3,\"value\":0.04,\"severity\":\"warning\"}");
}

static void test_end_has_duration_and_details(void **state)
{
    (void)state;
    VqaEvent e = sample_event();
    e.state = VQA_EVENT_END;
    e.t = 7.52;
    e.duration = 4.5200001;
    e.severity = VQA_SEVERITY_ERROR;
    e.details_json = "{\"closed_by\":\"eos\"}";
    expect_json(&e, "{\"v\":1,\"stream\":\"0\",\"detector\":\"freeze\",\"kind\":\"video.freeze\","
                    "\"state\":\"end\",\"t\":7.52,\"duration\":4.52,\"value\":0.04,"
                    "\"severity\":\"error\",\"details\":{\"closed_by\":\"eos\"}}");
}

static void test_no_value_no_duration_on_start(void **state)
{
    (void)state;
    VqaEvent e = sample_event();
    e.state = VQA_EVENT_INSTANT;
    e.has_value = 0;
    e.duration = 99; /* only END writes duration */
    e.severity = VQA_SEVERITY_INFO;
    e.details_json = ""; /* empty means no details */
    expect_json(&e, "{\"v\":1,\"stream\":\"0\",\"detector\":\"freeze\",\"kind\":\"video.freeze\","
                    "\"state\":\"instant\",\"t\":3,\"severity\":\"info\"}");
}

static void test_numbers(void **state)
{
    (void)state;
    VqaEvent e = sample_event();
    e.t = 0.1234567; /* six decimals, rounded */
    e.value = -60;
    char buf[512];
    assert_true(vqa_event_to_json(&e, buf, sizeof(buf)) > 0);
    assert_non_null(strstr(buf, "\"t\":0.123457,"));
    assert_non_null(strstr(buf, "\"value\":-60,"));

    e.t = -0.0000001; /* rounds to zero: never "-0" */
    e.value = 1e-7;
    assert_true(vqa_event_to_json(&e, buf, sizeof(buf)) > 0);
    assert_non_null(strstr(buf, "\"t\":0,"));
    assert_non_null(strstr(buf, "\"value\":0,"));
}

static void test_non_finite_is_null(void **state)
{
    (void)state;
    VqaEvent e = sample_event();
    e.state = VQA_EVENT_END;
    e.t = NAN;
    e.duration = INFINITY;
    e.value = -INFINITY;
    char buf[512];
    assert_true(vqa_event_to_json(&e, buf, sizeof(buf)) > 0);
    assert_non_null(strstr(buf, "\"t\":null,\"duration\":null,\"value\":null,"));
}

static void test_escaping(void **state)
{
    (void)state;
    VqaEvent e = sample_event();
    e.stream = "cam \"1\"\\a\n\x01\x7f";
    e.kind = "x-caf\xc3\xa9.bad\xff";
    e.has_value = 0;
    expect_json(&e, "{\"v\":1,\"stream\":\"cam \\\"1\\\"\\\\a\\u000a\\u0001\\u007f\","
                    "\"detector\":\"freeze\",\"kind\":\"x-caf\xc3\xa9.bad\\ufffd\","
                    "\"state\":\"start\",\"t\":3,\"severity\":\"warning\"}");
}

static void test_snprintf_semantics(void **state)
{
    (void)state;
    VqaEvent e = sample_event();
    char full[512];
    int len = vqa_event_to_json(&e, full, sizeof(full));
    assert_true(len > 20);

    /* Measuring needs no buffer. */
    assert_int_equal(vqa_event_to_json(&e, NULL, 0), len);

    char small[16];
    memset(small, 'X', sizeof(small));
    assert_int_equal(vqa_event_to_json(&e, small, 10), len);
    assert_int_equal(strlen(small), 9);
    assert_memory_equal(small, full, 9);
    assert_int_equal(small[10], 'X'); /* nothing written past size */

    char exact[512];
    assert_int_equal(vqa_event_to_json(&e, exact, (size_t)len), len);
    assert_int_equal(strlen(exact), (size_t)len - 1);
    assert_int_equal(vqa_event_to_json(&e, exact, (size_t)len + 1), len);
    assert_string_equal(exact, full);

    char one[1] = { 'X' };
    assert_int_equal(vqa_event_to_json(&e, one, 1), len);
    assert_int_equal(one[0], '\0');
}

static void test_invalid(void **state)
{
    (void)state;
    char buf[64];
    assert_int_equal(vqa_event_to_json(NULL, buf, sizeof(buf)), VQA_ERR(EINVAL));
    VqaEvent e = sample_event();
    e.kind = NULL;
    assert_int_equal(vqa_event_to_json(&e, buf, sizeof(buf)), VQA_ERR(EINVAL));
    e = sample_event();
    e.state = (VqaEventState)0;
    assert_int_equal(vqa_event_to_json(&e, buf, sizeof(buf)), VQA_ERR(EINVAL));
    e = sample_event();
    e.severity = (VqaSeverity)7;
    assert_int_equal(vqa_event_to_json(&e, buf, sizeof(buf)), VQA_ERR(EINVAL));
    e = sample_event();
    assert_int_equal(vqa_event_to_json(&e, NULL, 10), VQA_ERR(EINVAL));
}

static void test_names(void **state)
{
    (void)state;
    assert_string_equal(vqa_event_state_name(VQA_EVENT_START), "start");
    assert_string_equal(vqa_event_state_name(VQA_EVENT_END), "end");
    assert_string_equal(vqa_event_state_name(VQA_EVENT_INSTANT), "instant");
    assert_null(vqa_event_state_name((VqaEventState)0));
    assert_string_equal(vqa_severity_name(VQA_SEVERITY_INFO), "info");
    assert_string_equal(vqa_severity_name(VQA_SEVERITY_WARNING), "warning");
    assert_string_equal(vqa_severity_name(VQA_SEVERITY_ERROR), "error");
    assert_null(vqa_severity_name((VqaSeverity)4));
}

/* The core's own details quote text into fixed buffers: cut text stays one valid string. */
static void test_bounded_quote(void **state)
{
    (void)state;
    char out[16];
    assert_int_equal(vqa_json_quote("a\"b", out, sizeof(out)), 6);
    assert_string_equal(out, "\"a\\\"b\"");
    /* "héllo wörld" cut to fit 10 bytes: never inside é or ö, always closed. */
    size_t n = vqa_json_quote("h\xc3\xa9llo w\xc3\xb6rld", out, 10);
    assert_int_equal(n, strlen(out));
    assert_true(n <= 9);
    assert_int_equal(out[0], '"');
    assert_int_equal(out[n - 1], '"');
    assert_string_equal(out, "\"h\xc3\xa9llo \"");
    /* An escape that does not fit whole is left out, not split. */
    assert_int_equal(vqa_json_quote("ab\x01", out, 8), 4);
    assert_string_equal(out, "\"ab\"");
    assert_int_equal(vqa_json_quote(NULL, out, sizeof(out)), 2);
    assert_string_equal(out, "\"\"");
    assert_int_equal(vqa_json_quote("x", out, 2), 0);
    assert_string_equal(out, "");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_start_field_order),
        cmocka_unit_test(test_end_has_duration_and_details),
        cmocka_unit_test(test_no_value_no_duration_on_start),
        cmocka_unit_test(test_numbers),
        cmocka_unit_test(test_non_finite_is_null),
        cmocka_unit_test(test_escaping),
        cmocka_unit_test(test_snprintf_semantics),
        cmocka_unit_test(test_invalid),
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_bounded_quote),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
