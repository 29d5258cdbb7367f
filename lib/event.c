/*
 * Events as JSON Lines (EVENTS.md): one object per event, fields in a fixed
 * order so that lines can be compared as text.
 */
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "clocale.h"
#include "json.h"
#include "vqa/event.h"

/* Appends to a caller buffer with snprintf semantics: counts every byte it
 * would write, stores only what fits (leaving room for the NUL). */
typedef struct JsonWriter {
    char *buf;
    size_t size;
    size_t len;
} JsonWriter;

static void put_bytes(JsonWriter *w, const char *s, size_t n)
{
    if (w->len < w->size) {
        size_t room = w->size - 1 - w->len;
        memcpy(w->buf + w->len, s, n < room ? n : room);
    }
    w->len += n;
}

static void put_str(JsonWriter *w, const char *s)
{
    put_bytes(w, s, strlen(s));
}

/* A JSON string; bytes that are not UTF-8 become U+FFFD so the line stays valid. */
static void put_quoted(JsonWriter *w, const char *s)
{
    put_bytes(w, "\"", 1);
    while (*s) {
        char esc[VQA_JSON_ESCAPE_MAX];
        size_t consumed;
        size_t n = vqa_json_escape_char(s, esc, &consumed);
        put_bytes(w, esc, n);
        s += consumed;
    }
    put_bytes(w, "\"", 1);
}

/* Six decimals without trailing zeros: 3.0 → "3", 0.04 → "0.04". */
static void put_number(JsonWriter *w, double v)
{
    if (!isfinite(v)) {
        put_str(w, "null");
        return;
    }
    char num[400]; /* %.6f of DBL_MAX needs 316 bytes */
    locale_t host_locale = vqa_c_locale_enter(); /* JSON's '.', whatever the host's LC_NUMERIC */
    int n = snprintf(num, sizeof(num), "%.6f", v);
    vqa_c_locale_leave(host_locale);
    if (n <= 0 || (size_t)n >= sizeof(num)) {
        put_str(w, "null");
        return;
    }
    size_t len = (size_t)n;
    while (len > 0 && num[len - 1] == '0')
        len--;
    if (len > 0 && num[len - 1] == '.')
        len--;
    num[len] = '\0';
    put_str(w, strcmp(num, "-0") == 0 ? "0" : num);
}

static void put_field_str(JsonWriter *w, const char *key, const char *value)
{
    put_str(w, ",\"");
    put_str(w, key);
    put_str(w, "\":");
    put_quoted(w, value);
}

static void put_field_num(JsonWriter *w, const char *key, double value)
{
    put_str(w, ",\"");
    put_str(w, key);
    put_str(w, "\":");
    put_number(w, value);
}

const char *vqa_event_state_name(VqaEventState state)
{
    switch (state) {
    case VQA_EVENT_START: return "start";
    case VQA_EVENT_END: return "end";
    case VQA_EVENT_INSTANT: return "instant";
    }
    return NULL;
}

const char *vqa_severity_name(VqaSeverity severity)
{
    switch (severity) {
    case VQA_SEVERITY_INFO: return "info";
    case VQA_SEVERITY_WARNING: return "warning";
    case VQA_SEVERITY_ERROR: return "error";
    }
    return NULL;
}

int vqa_event_to_json(const VqaEvent *event, char *buf, size_t size)
{
    if (!event || !event->stream || !event->detector || !event->kind || (!buf && size))
        return VQA_ERR(EINVAL);
    const char *state = vqa_event_state_name(event->state);
    const char *severity = vqa_severity_name(event->severity);
    if (!state || !severity)
        return VQA_ERR(EINVAL);

    JsonWriter w = { buf, size, 0 };
    char head[32];
    snprintf(head, sizeof(head), "{\"v\":%d", VQA_EVENT_CONTRACT_VERSION);
    put_str(&w, head);
    put_field_str(&w, "stream", event->stream);
    put_field_str(&w, "detector", event->detector);
    put_field_str(&w, "kind", event->kind);
    put_field_str(&w, "state", state);
    put_field_num(&w, "t", event->t);
    if (event->state == VQA_EVENT_END)
        put_field_num(&w, "duration", event->duration);
    if (event->has_value)
        put_field_num(&w, "value", event->value);
    put_field_str(&w, "severity", severity);
    if (event->details_json && event->details_json[0]) {
        put_str(&w, ",\"details\":");
        put_str(&w, event->details_json);
    }
    put_str(&w, "}");

    if (size)
        buf[w.len < size ? w.len : size - 1] = '\0';
    if (w.len > INT_MAX)
        return VQA_ERR(EOVERFLOW);
    return (int)w.len;
}
