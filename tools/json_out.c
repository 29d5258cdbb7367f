/*
 * JSON output of the tool: string and number writers, and the event sink that
 * writes one event per line (JSON Lines) with vqa_event_to_json.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "vqa_tool.h"

void json_write_string(FILE *f, const char *s)
{
    if (!s) {
        fputs("null", f);
        return;
    }
    fputc('"', f);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        switch (*p) {
        case '"': fputs("\\\"", f); break;
        case '\\': fputs("\\\\", f); break;
        case '\n': fputs("\\n", f); break;
        case '\r': fputs("\\r", f); break;
        case '\t': fputs("\\t", f); break;
        default:
            if (*p < 0x20)
                fprintf(f, "\\u%04x", *p);
            else
                fputc(*p, f);
        }
    }
    fputc('"', f);
}

void json_write_number(FILE *f, double v)
{
    if (!isfinite(v)) {
        fputs("null", f);
        return;
    }
    /* Integers print without an exponent or fraction; others round-trip. */
    if (v == floor(v) && fabs(v) < 1e15)
        fprintf(f, "%.0f", v);
    else
        fprintf(f, "%.17g", v);
}

void json_init(JsonWriter *w, FILE *f)
{
    memset(w, 0, sizeof(*w));
    w->f = f;
}

/* Separate from the previous item and write the member name, if any. */
static void json_item(JsonWriter *w, const char *key)
{
    if (w->has_items[w->depth])
        fputc(',', w->f);
    w->has_items[w->depth] = 1;
    if (key) {
        json_write_string(w->f, key);
        fputc(':', w->f);
    }
}

static void json_open(JsonWriter *w, const char *key, char bracket)
{
    json_item(w, key);
    fputc(bracket, w->f);
    if (w->depth + 1 < (int)sizeof(w->has_items))
        w->depth++;
    w->has_items[w->depth] = 0;
}

static void json_close(JsonWriter *w, char bracket)
{
    fputc(bracket, w->f);
    if (w->depth > 0)
        w->depth--;
}

void json_begin_object(JsonWriter *w, const char *key) { json_open(w, key, '{'); }
void json_end_object(JsonWriter *w) { json_close(w, '}'); }
void json_begin_array(JsonWriter *w, const char *key) { json_open(w, key, '['); }
void json_end_array(JsonWriter *w) { json_close(w, ']'); }

void json_str(JsonWriter *w, const char *key, const char *value)
{
    json_item(w, key);
    json_write_string(w->f, value);
}

void json_num(JsonWriter *w, const char *key, double value)
{
    json_item(w, key);
    json_write_number(w->f, value);
}

void json_bool(JsonWriter *w, const char *key, int value)
{
    json_item(w, key);
    fputs(value ? "true" : "false", w->f);
}

void json_null(JsonWriter *w, const char *key)
{
    json_item(w, key);
    fputs("null", w->f);
}

int event_sink_open(EventSink *sink, const char *path)
{
    memset(sink, 0, sizeof(*sink));
    if (!path || !strcmp(path, "-")) {
        sink->file = stdout;
        return 0;
    }
    sink->file = fopen(path, "w");
    if (!sink->file)
        return -errno;
    sink->owns_file = 1;
    return 0;
}

void event_sink_write(void *cookie, const VqaEvent *event)
{
    EventSink *sink = cookie;
    char line[2048];
    char *buf = line;
    int len = vqa_event_to_json(event, line, sizeof(line));
    if (len < 0)
        return;
    if ((size_t)len >= sizeof(line)) {
        buf = malloc((size_t)len + 1);
        if (!buf) {
            sink->write_error = sink->write_error ? sink->write_error : ENOMEM;
            return;
        }
        vqa_event_to_json(event, buf, (size_t)len + 1);
    }
    /* The library serialises calls per context, so no lock is needed here.
     * Flushing each line lets a reader follow the events as they happen. */
    if (fwrite(buf, 1, (size_t)len, sink->file) != (size_t)len || fputc('\n', sink->file) == EOF ||
        fflush(sink->file) == EOF) {
        if (!sink->write_error)
            sink->write_error = errno ? errno : EIO;
    } else {
        sink->nb_events++;
    }
    if (buf != line)
        free(buf);
}

int event_sink_close(EventSink *sink)
{
    int err = sink->write_error;
    if (!sink->file)
        return 0;
    if (fflush(sink->file) == EOF && !err)
        err = errno ? errno : EIO;
    if (sink->owns_file && fclose(sink->file) == EOF && !err)
        err = errno ? errno : EIO;
    sink->file = NULL;
    return -err;
}
