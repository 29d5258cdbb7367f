/*
 * What the HTTP server knows of the streams — their handles, and the defects
 * their events opened and have not closed yet — and the /metrics and
 * /streams documents made from it.
 *
 * A request takes a snapshot first (http_snapshot_take) and renders it with
 * no lock held, so a slow render never holds up the event callback.
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "http_internal.h"
#include "vqa_tool.h"

/* ---- tracking (srv->lock held) ---- */

/* The server's copy of s: one per distinct string, freed with the server. */
static const char *intern(HttpServer *srv, const char *s)
{
    for (size_t i = 0; i < srv->nb_strings; i++) {
        if (!strcmp(srv->strings[i], s))
            return srv->strings[i];
    }
    char **grown = realloc(srv->strings, (srv->nb_strings + 1) * sizeof(*grown));
    if (!grown)
        return NULL;
    srv->strings = grown;
    char *copy = strdup(s);
    if (!copy)
        return NULL;
    srv->strings[srv->nb_strings++] = copy;
    return copy;
}

static HttpStreamEntry *entry_for(HttpServer *srv, const char *id)
{
    const char *key = intern(srv, id);
    if (!key)
        return NULL;
    for (size_t i = 0; i < srv->nb_entries; i++) {
        if (srv->entries[i]->id == key)
            return srv->entries[i];
    }
    HttpStreamEntry **grown = realloc(srv->entries, (srv->nb_entries + 1) * sizeof(*grown));
    if (!grown)
        return NULL;
    srv->entries = grown;
    HttpStreamEntry *e = calloc(1, sizeof(*e));
    if (!e)
        return NULL;
    e->id = key;
    srv->entries[srv->nb_entries++] = e;
    return e;
}

static HttpKindCount *kind_for(HttpStreamEntry *e, const char *kind)
{
    for (size_t i = 0; i < e->nb_kinds; i++) {
        if (e->kinds[i].kind == kind)
            return &e->kinds[i];
    }
    HttpKindCount *grown = realloc(e->kinds, (e->nb_kinds + 1) * sizeof(*grown));
    if (!grown)
        return NULL;
    e->kinds = grown;
    e->kinds[e->nb_kinds] = (HttpKindCount){ .kind = kind, .open = 0 };
    return &e->kinds[e->nb_kinds++];
}

static HttpOpenDefect *find_open(HttpStreamEntry *e, const char *detector, const char *kind)
{
    for (size_t i = 0; i < e->nb_open; i++) {
        if (e->open[i].detector == detector && e->open[i].kind == kind)
            return &e->open[i];
    }
    return NULL;
}

static void track_start(HttpStreamEntry *e, HttpKindCount *kc, const char *detector,
                        const char *kind, double t)
{
    HttpOpenDefect *d = find_open(e, detector, kind);
    if (d) { /* a second start without an end breaks the contract: keep one */
        d->t = t;
        return;
    }
    HttpOpenDefect *grown = realloc(e->open, (e->nb_open + 1) * sizeof(*grown));
    if (!grown)
        return;
    e->open = grown;
    e->open[e->nb_open++] = (HttpOpenDefect){ .detector = detector, .kind = kind, .t = t };
    kc->open++;
}

static void track_end(HttpStreamEntry *e, HttpKindCount *kc, const char *detector,
                      const char *kind)
{
    HttpOpenDefect *d = find_open(e, detector, kind);
    if (!d)
        return;
    *d = e->open[--e->nb_open];
    kc->open--;
}

void http_streams_track(HttpServer *srv, const VqaEvent *event)
{
    if (!event->stream || !event->kind ||
        (event->state != VQA_EVENT_START && event->state != VQA_EVENT_END))
        return;
    HttpStreamEntry *e = entry_for(srv, event->stream);
    const char *detector = intern(srv, event->detector ? event->detector : "");
    const char *kind = intern(srv, event->kind);
    HttpKindCount *kc = e && kind ? kind_for(e, kind) : NULL;
    if (!kc || !detector)
        return; /* out of memory: the count misses this event, nothing worse */
    if (event->state == VQA_EVENT_START)
        track_start(e, kc, detector, kind, event->t);
    else
        track_end(e, kc, detector, kind);
}

void http_streams_free(HttpServer *srv)
{
    for (size_t i = 0; i < srv->nb_entries; i++) {
        HttpStreamEntry *e = srv->entries[i];
        free(e->final_dets);
        free(e->kinds);
        free(e->open);
        free(e);
    }
    free(srv->entries);
    for (size_t i = 0; i < srv->nb_strings; i++)
        free(srv->strings[i]);
    free(srv->strings);
    srv->entries = NULL;
    srv->strings = NULL;
    srv->nb_entries = srv->nb_strings = 0;
}

/* ---- streams ---- */

char *http_mask_url(const char *url)
{
    const char *scheme_end = strstr(url, "://");
    if (!scheme_end)
        return strdup(url);
    const char *host = scheme_end + 3;
    const char *at = NULL;
    for (const char *p = host; *p && !strchr("/?#", *p); p++) {
        if (*p == '@')
            at = p;
    }
    if (!at)
        return strdup(url);
    const char *colon = memchr(host, ':', (size_t)(at - host));
    const char *keep_end = colon ? colon + 1 : host; /* keep "user:" or nothing */
    size_t head = (size_t)(keep_end - url);
    size_t len = head + 3 + strlen(at) + 1;
    char *masked = malloc(len);
    if (masked)
        snprintf(masked, len, "%.*s***%s", (int)head, url, at);
    return masked;
}

int http_server_add_stream(HttpServer *srv, VqaStream *stream, const char *url)
{
    char *masked = http_mask_url(url ? url : "");
    if (!masked)
        return -ENOMEM;
    int ret = 0;
    pthread_mutex_lock(&srv->streams_lock);
    pthread_mutex_lock(&srv->lock);
    HttpStreamEntry *e = entry_for(srv, vqa_stream_id(stream));
    const char *interned = intern(srv, masked);
    if (!e || !interned) {
        ret = -ENOMEM;
    } else if (e->handle || e->has_final) {
        ret = -EEXIST; /* two streams with one id would make one series of two */
    } else {
        e->handle = stream;
        e->url = interned;
    }
    pthread_mutex_unlock(&srv->lock);
    pthread_mutex_unlock(&srv->streams_lock);
    free(masked);
    return ret;
}

/* Every detector instance's counters. @return 0 or -ENOMEM. */
static int read_detectors(VqaStream *stream, VqaDetectorStats **out, size_t *nb)
{
    size_t cap = 0;
    *out = NULL;
    *nb = 0;
    for (;;) {
        if (*nb == cap) {
            size_t grown_cap = cap ? cap * 2 : 8;
            VqaDetectorStats *grown = realloc(*out, grown_cap * sizeof(*grown));
            if (!grown)
                return -ENOMEM;
            *out = grown;
            cap = grown_cap;
        }
        if (vqa_stream_get_detector_stats(stream, *nb, &(*out)[*nb]) < 0)
            return 0;
        (*nb)++;
    }
}

void http_server_detach_streams(HttpServer *srv)
{
    pthread_mutex_lock(&srv->streams_lock);
    for (size_t i = 0;; i++) {
        /* The entries array may grow under lock while we read counters. */
        pthread_mutex_lock(&srv->lock);
        HttpStreamEntry *e = i < srv->nb_entries ? srv->entries[i] : NULL;
        VqaStream *handle = e ? e->handle : NULL;
        pthread_mutex_unlock(&srv->lock);
        if (!e)
            break;
        if (!handle)
            continue;
        /* Only this thread writes these, under streams_lock, which readers hold. */
        vqa_stream_get_stats(handle, &e->final);
        if (read_detectors(handle, &e->final_dets, &e->nb_final_dets) < 0)
            e->nb_final_dets = 0;
        pthread_mutex_lock(&srv->lock);
        e->has_final = 1;
        e->handle = NULL;
        pthread_mutex_unlock(&srv->lock);
    }
    pthread_mutex_unlock(&srv->streams_lock);
}

/* ---- snapshots ---- */

static int copy_tracking(HttpStreamView *v, const HttpStreamEntry *e)
{
    v->id = e->id;
    v->url = e->url;
    if (e->nb_kinds) {
        v->kinds = malloc(e->nb_kinds * sizeof(*v->kinds));
        if (!v->kinds)
            return -ENOMEM;
        memcpy(v->kinds, e->kinds, e->nb_kinds * sizeof(*v->kinds));
        v->nb_kinds = e->nb_kinds;
    }
    if (e->nb_open) {
        v->open = malloc(e->nb_open * sizeof(*v->open));
        if (!v->open)
            return -ENOMEM;
        memcpy(v->open, e->open, e->nb_open * sizeof(*v->open));
        v->nb_open = e->nb_open;
    }
    return 0;
}

static int copy_stats(HttpStreamView *v, const HttpStreamEntry *e, VqaStream *handle)
{
    if (handle) {
        vqa_stream_get_stats(handle, &v->stats);
        v->has_stats = 1;
        return read_detectors(handle, &v->dets, &v->nb_dets);
    }
    if (!e->has_final)
        return 0;
    v->stats = e->final;
    v->has_stats = 1;
    if (e->nb_final_dets) {
        v->dets = malloc(e->nb_final_dets * sizeof(*v->dets));
        if (!v->dets)
            return -ENOMEM;
        memcpy(v->dets, e->final_dets, e->nb_final_dets * sizeof(*v->dets));
        v->nb_dets = e->nb_final_dets;
    }
    return 0;
}

int http_snapshot_take(HttpServer *srv, HttpSnapshot *snap)
{
    int ret = 0;
    memset(snap, 0, sizeof(*snap));
    pthread_mutex_lock(&srv->streams_lock);
    pthread_mutex_lock(&srv->lock);
    size_t n = srv->nb_entries;
    snap->streams = n ? calloc(n, sizeof(*snap->streams)) : NULL;
    VqaStream **handles = n ? calloc(n, sizeof(*handles)) : NULL;
    HttpStreamEntry **entries = n ? calloc(n, sizeof(*entries)) : NULL;
    if (n && (!snap->streams || !handles || !entries))
        ret = -ENOMEM;
    for (size_t i = 0; ret == 0 && i < n; i++) {
        ret = copy_tracking(&snap->streams[i], srv->entries[i]);
        entries[i] = srv->entries[i];
        handles[i] = srv->entries[i]->handle;
        snap->nb_streams = i + 1;
    }
    snap->server.event_clients = srv->nb_clients;
    snap->server.event_clients_total = srv->clients_total;
    snap->server.events_dropped = srv->events_dropped;
    pthread_mutex_unlock(&srv->lock);
    /* Counters are read without srv->lock: the library may hold its own locks
     * while it calls the event callback, which takes srv->lock. Entries stay
     * (they are never freed before the server; only the array of them may
     * move) and streams_lock keeps the handles from being detached meanwhile. */
    for (size_t i = 0; ret == 0 && i < snap->nb_streams; i++)
        ret = copy_stats(&snap->streams[i], entries[i], handles[i]);
    pthread_mutex_unlock(&srv->streams_lock);
    free(handles);
    free(entries);
    if (ret < 0)
        http_snapshot_free(snap);
    return ret;
}

void http_snapshot_free(HttpSnapshot *snap)
{
    for (size_t i = 0; i < snap->nb_streams; i++) {
        free(snap->streams[i].dets);
        free(snap->streams[i].kinds);
        free(snap->streams[i].open);
    }
    free(snap->streams);
    memset(snap, 0, sizeof(*snap));
}

/* ---- /metrics: Prometheus text exposition format 0.0.4 ---- */

static void metric_family(FILE *f, const char *name, const char *type, const char *help)
{
    fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* A label value: backslash, double quote and line feed escaped, as the format asks. */
static void label_value(FILE *f, const char *v)
{
    fputc('"', f);
    for (const char *p = v; *p; p++) {
        if (*p == '\\')
            fputs("\\\\", f);
        else if (*p == '"')
            fputs("\\\"", f);
        else if (*p == '\n')
            fputs("\\n", f);
        else
            fputc(*p, f);
    }
    fputc('"', f);
}

static void sample_value(FILE *f, double v)
{
    if (isnan(v))
        fputs(" NaN\n", f);
    else if (isinf(v))
        fputs(v > 0 ? " +Inf\n" : " -Inf\n", f);
    else if (v == floor(v) && fabs(v) < 1e15)
        fprintf(f, " %.0f\n", v);
    else
        fprintf(f, " %.15g\n", v);
}

/* name{stream="…"[,extra="…"]} value */
static void stream_sample(FILE *f, const char *name, const char *stream, const char *extra,
                          const char *extra_value, double v)
{
    fprintf(f, "%s{stream=", name);
    label_value(f, stream);
    if (extra) {
        fprintf(f, ",%s=", extra);
        label_value(f, extra_value);
    }
    fputc('}', f);
    sample_value(f, v);
}

enum StreamField {
    SF_PACKETS, SF_DECODED, SF_ANALYSED, SF_DROPPED, SF_DECODE_ERRORS, SF_EVENTS,
    SF_RECONNECTS, SF_MEDIA_TIME, SF_LATENCY,
};

static const struct StreamMetric {
    enum StreamField field;
    const char *name, *type, *help;
} stream_metrics[] = {
    { SF_PACKETS, "vqa_stream_packets_read_total", "counter", "Packets read from the input." },
    { SF_DECODED, "vqa_stream_frames_decoded_total", "counter",
      "Video and audio frames out of the decoders." },
    { SF_ANALYSED, "vqa_stream_frames_analysed_total", "counter",
      "Frames handed to detectors, summed over the detectors." },
    { SF_DROPPED, "vqa_stream_frames_dropped_total", "counter",
      "Frames detectors missed and packets the reader dropped because analysis fell behind." },
    { SF_DECODE_ERRORS, "vqa_stream_decode_errors_total", "counter",
      "Packets or frames the decoders rejected." },
    { SF_EVENTS, "vqa_stream_events_total", "counter", "Events reported for the stream." },
    { SF_RECONNECTS, "vqa_stream_reconnects_total", "counter", "Times the input was reopened." },
    { SF_MEDIA_TIME, "vqa_stream_media_time_seconds", "gauge",
      "The latest media time read, seconds since the stream's start." },
    { SF_LATENCY, "vqa_stream_analysis_latency_seconds", "gauge",
      "How far analysis is behind the input, seconds of media." },
};

static double stream_field(const VqaStreamStats *st, enum StreamField field)
{
    switch (field) {
    case SF_PACKETS: return (double)st->packets_read;
    case SF_DECODED: return (double)st->frames_decoded;
    case SF_ANALYSED: return (double)st->frames_analysed;
    case SF_DROPPED: return (double)st->frames_dropped;
    case SF_DECODE_ERRORS: return (double)st->decode_errors;
    case SF_EVENTS: return (double)st->events;
    case SF_RECONNECTS: return st->reconnects;
    case SF_MEDIA_TIME: return st->media_time;
    case SF_LATENCY: return st->latency;
    }
    return NAN;
}

static void render_stream_metrics(FILE *f, const HttpSnapshot *snap)
{
    for (size_t m = 0; m < sizeof(stream_metrics) / sizeof(stream_metrics[0]); m++) {
        const struct StreamMetric *sm = &stream_metrics[m];
        metric_family(f, sm->name, sm->type, sm->help);
        for (size_t i = 0; i < snap->nb_streams; i++) {
            const HttpStreamView *v = &snap->streams[i];
            if (v->has_stats)
                stream_sample(f, sm->name, v->id, NULL, NULL, stream_field(&v->stats, sm->field));
        }
    }
    metric_family(f, "vqa_stream_state", "gauge",
                  "The input's state: 1 for the current one, 0 for the others.");
    for (size_t i = 0; i < snap->nb_streams; i++) {
        const HttpStreamView *v = &snap->streams[i];
        for (int s = VQA_INPUT_OPENING; v->has_stats && s <= VQA_INPUT_ENDED; s++)
            stream_sample(f, "vqa_stream_state", v->id, "state", vqa_input_state_name(s),
                          v->stats.state == s);
    }
    metric_family(f, "vqa_stream_open_defects", "gauge",
                  "Defects whose start was reported and whose end was not, by kind.");
    for (size_t i = 0; i < snap->nb_streams; i++) {
        const HttpStreamView *v = &snap->streams[i];
        for (size_t k = 0; k < v->nb_kinds; k++)
            stream_sample(f, "vqa_stream_open_defects", v->id, "kind", v->kinds[k].kind,
                          v->kinds[k].open);
    }
}

enum DetectorField { DF_CPU, DF_ANALYSED, DF_DROPPED, DF_MEDIA_TIME };

static const struct DetectorMetric {
    enum DetectorField field;
    const char *name, *type, *help;
} detector_metrics[] = {
    { DF_CPU, "vqa_detector_cpu_seconds_total", "counter",
      "Thread CPU time spent in the detector's callbacks." },
    { DF_ANALYSED, "vqa_detector_frames_analysed_total", "counter",
      "Frames the detector processed." },
    { DF_DROPPED, "vqa_detector_frames_dropped_total", "counter",
      "Frames the detector missed because analysis fell behind." },
    { DF_MEDIA_TIME, "vqa_detector_media_time_seconds", "gauge",
      "End of the latest frame the detector processed, seconds of media." },
};

static double detector_field(const VqaDetectorStats *d, enum DetectorField field)
{
    switch (field) {
    case DF_CPU: return d->cpu_seconds;
    case DF_ANALYSED: return (double)d->frames_analysed;
    case DF_DROPPED: return (double)d->frames_dropped;
    case DF_MEDIA_TIME: return d->media_time;
    }
    return NAN;
}

static void render_detector_metrics(FILE *f, const HttpSnapshot *snap)
{
    for (size_t m = 0; m < sizeof(detector_metrics) / sizeof(detector_metrics[0]); m++) {
        const struct DetectorMetric *dm = &detector_metrics[m];
        metric_family(f, dm->name, dm->type, dm->help);
        for (size_t i = 0; i < snap->nb_streams; i++) {
            const HttpStreamView *v = &snap->streams[i];
            for (size_t d = 0; d < v->nb_dets; d++) {
                fprintf(f, "%s{stream=", dm->name);
                label_value(f, v->id);
                fputs(",detector=", f);
                label_value(f, v->dets[d].name);
                fprintf(f, ",track=\"%d\"}", v->dets[d].track);
                sample_value(f, detector_field(&v->dets[d], dm->field));
            }
        }
    }
}

void http_render_metrics(FILE *f, const HttpSnapshot *snap)
{
    render_stream_metrics(f, snap);
    render_detector_metrics(f, snap);
    metric_family(f, "vqa_http_event_clients", "gauge", "Clients connected to /events.");
    fprintf(f, "vqa_http_event_clients %d\n", snap->server.event_clients);
    metric_family(f, "vqa_http_events_dropped_total", "counter",
                  "Events not sent to /events clients that read too slowly, summed over them.");
    fprintf(f, "vqa_http_events_dropped_total %" PRId64 "\n", snap->server.events_dropped);
    metric_family(f, "vqa_build_info", "gauge", "The libvqa version; always 1.");
    fputs("vqa_build_info{version=", f);
    label_value(f, vqa_version());
    fputs("} 1\n", f);
}

/* ---- /streams ---- */

static const char *media_type_name(VqaMediaType type)
{
    return type == VQA_MEDIA_VIDEO ? "video" : type == VQA_MEDIA_AUDIO ? "audio" : "none";
}

static void render_counters(JsonWriter *w, const VqaStreamStats *st)
{
    json_begin_object(w, "counters");
    json_num(w, "packets_read", (double)st->packets_read);
    json_num(w, "frames_decoded", (double)st->frames_decoded);
    json_num(w, "frames_analysed", (double)st->frames_analysed);
    json_num(w, "frames_dropped", (double)st->frames_dropped);
    json_num(w, "decode_errors", (double)st->decode_errors);
    json_num(w, "events", (double)st->events);
    json_num(w, "reconnects", st->reconnects);
    json_end_object(w);
}

static void render_stream(JsonWriter *w, const HttpStreamView *v)
{
    json_begin_object(w, NULL);
    json_str(w, "id", v->id);
    json_str(w, "url", v->url);
    json_str(w, "state", vqa_input_state_name(v->stats.state));
    json_num(w, "media_time", v->stats.media_time);
    json_num(w, "duration", v->stats.duration);
    json_num(w, "latency", v->stats.latency);
    render_counters(w, &v->stats);
    json_begin_array(w, "open_defects");
    for (size_t k = 0; k < v->nb_open; k++) {
        json_begin_object(w, NULL);
        json_str(w, "detector", v->open[k].detector);
        json_str(w, "kind", v->open[k].kind);
        json_num(w, "t", v->open[k].t);
        json_end_object(w);
    }
    json_end_array(w);
    json_begin_array(w, "detectors");
    for (size_t d = 0; d < v->nb_dets; d++) {
        const VqaDetectorStats *ds = &v->dets[d];
        json_begin_object(w, NULL);
        json_str(w, "name", ds->name);
        json_str(w, "type", media_type_name(ds->type));
        json_num(w, "track", ds->track);
        json_num(w, "frames_analysed", (double)ds->frames_analysed);
        json_num(w, "frames_dropped", (double)ds->frames_dropped);
        json_num(w, "cpu_seconds", ds->cpu_seconds);
        json_num(w, "media_time", ds->media_time);
        json_end_object(w);
    }
    json_end_array(w);
    json_end_object(w);
}

void http_render_streams(FILE *f, const HttpSnapshot *snap)
{
    JsonWriter w;
    json_init(&w, f);
    json_begin_array(&w, NULL);
    /* Streams known only from their events (in the moment before they are
     * added) have no counters yet: they appear once added. */
    for (size_t i = 0; i < snap->nb_streams; i++) {
        if (snap->streams[i].url && snap->streams[i].has_stats)
            render_stream(&w, &snap->streams[i]);
    }
    json_end_array(&w);
    fputc('\n', f);
}
