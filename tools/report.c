/*
 * The report's data: events copied as they arrive, what each input was and
 * how far it was read, which detectors ran on it; then, after the scan, the
 * media passes (thumbnails, levels) and the document.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "report.h"

static char *dup_or_null(const char *s, int *failed)
{
    if (!s)
        return NULL;
    char *d = strdup(s);
    if (!d)
        *failed = 1;
    return d;
}

/* What the report says of an input before anything is known: its argument,
 * URL and stream id, split exactly as the scan splits them. */
static int describe_input(ReportInput *in, const char *arg, int index)
{
    char id[256];
    const char *url = cli_split_input(arg, id, sizeof(id));
    if (!id[0])
        snprintf(id, sizeof(id), "%d", index);
    int failed = 0;
    in->arg = dup_or_null(arg, &failed);
    in->url = dup_or_null(url, &failed);
    in->id = dup_or_null(id, &failed);
    return failed ? -ENOMEM : 0;
}

int report_open(Report *r, const char *path, char *const *inputs, int nb_inputs,
                const char *spec)
{
    memset(r, 0, sizeof(*r));
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    r->started_s = (double)ts.tv_sec;
    int failed = 0;
    r->path = dup_or_null(path, &failed);
    r->spec = dup_or_null(spec, &failed);
    r->inputs = calloc(nb_inputs > 0 ? (size_t)nb_inputs : 1, sizeof(*r->inputs));
    r->nb_inputs = r->inputs && nb_inputs > 0 ? (size_t)nb_inputs : 0;
    for (size_t i = 0; i < r->nb_inputs && !failed; i++)
        failed = describe_input(&r->inputs[i], inputs[i], (int)i) < 0;
    if (failed || !r->inputs) {
        report_close(r);
        return -ENOMEM;
    }
    r->f = fopen(path, "w");
    if (!r->f) {
        int err = errno;
        report_close(r);
        return -err;
    }
    return 0;
}

void report_input_added(Report *r, int index, int result)
{
    if (!r || index < 0 || (size_t)index >= r->nb_inputs)
        return;
    r->inputs[index].added = result >= 0;
    r->inputs[index].result = result < 0 ? result : 0;
}

static void copy_detectors(Report *r, ReportInput *in, VqaStream *stream)
{
    VqaDetectorStats ds;
    size_t n = 0;
    while (vqa_stream_get_detector_stats(stream, n, &ds) == 0)
        n++;
    if (n == 0)
        return;
    in->detectors = calloc(n, sizeof(*in->detectors));
    if (!in->detectors) {
        r->out_of_memory = 1;
        return;
    }
    for (size_t i = 0; i < n && vqa_stream_get_detector_stats(stream, i, &ds) == 0; i++) {
        ReportDetector *d = &in->detectors[in->nb_detectors++];
        snprintf(d->name, sizeof(d->name), "%s", ds.name);
        d->track = ds.track;
        d->type = ds.type;
        d->frames_analysed = ds.frames_analysed;
        d->cpu_seconds = ds.cpu_seconds;
    }
}

void report_input_done(Report *r, int index, VqaStream *stream, int result)
{
    if (!r || index < 0 || (size_t)index >= r->nb_inputs)
        return;
    ReportInput *in = &r->inputs[index];
    VqaStreamStats st;
    vqa_stream_get_stats(stream, &st);
    in->finished = 1;
    in->result = result;
    in->media_s = st.media_time;
    in->duration_s = st.duration;
    in->decode_errors = st.decode_errors;
    copy_detectors(r, in, stream);
}

void report_add_event(Report *r, const VqaEvent *event)
{
    if (r->nb_events == r->cap_events) {
        size_t cap = r->cap_events ? r->cap_events * 2 : 64;
        ReportEvent *grown = realloc(r->events, cap * sizeof(*grown));
        if (!grown) {
            r->out_of_memory = 1;
            return;
        }
        r->events = grown;
        r->cap_events = cap;
    }
    ReportEvent *ev = &r->events[r->nb_events];
    memset(ev, 0, sizeof(*ev));
    int failed = 0;
    ev->stream = dup_or_null(event->stream ? event->stream : "", &failed);
    ev->detector = dup_or_null(event->detector ? event->detector : "", &failed);
    ev->kind = dup_or_null(event->kind ? event->kind : "", &failed);
    ev->details = dup_or_null(event->details_json, &failed);
    if (failed) {
        free(ev->stream);
        free(ev->detector);
        free(ev->kind);
        free(ev->details);
        r->out_of_memory = 1;
        return;
    }
    ev->state = event->state;
    ev->severity = event->severity;
    ev->t = event->t;
    ev->duration = event->duration;
    ev->value = event->value;
    ev->has_value = event->has_value;
    ev->seq = r->nb_events++;
}

/* A defect of the picture: a video.* kind, or a plugin's own kind from a
 * detector that only looks at video. */
static int is_video_defect(const ReportInput *in, const ReportEvent *ev)
{
    if (ev->state == VQA_EVENT_END)
        return 0;
    if (!strncmp(ev->kind, "video.", 6))
        return 1;
    if (strncmp(ev->kind, "x-", 2))
        return 0;
    int video = 0;
    for (size_t i = 0; i < in->nb_detectors; i++) {
        if (strcmp(in->detectors[i].name, ev->detector))
            continue;
        if (in->detectors[i].type != VQA_MEDIA_VIDEO)
            return 0;
        video = 1;
    }
    return video;
}

static int compare_thumbs(const void *a, const void *b)
{
    const ReportThumb *x = a, *y = b;
    if (x->t != y->t)
        return x->t < y->t ? -1 : 1;
    return x->event < y->event ? -1 : x->event > y->event;
}

static void make_thumbnails(Report *r, ReportInput *in)
{
    size_t n = 0;
    for (size_t i = 0; i < r->nb_events; i++) {
        if (report_event_input(r, &r->events[i]) == in && is_video_defect(in, &r->events[i]))
            n++;
    }
    if (n == 0)
        return;
    size_t kept = n > REPORT_MAX_THUMBS ? REPORT_MAX_THUMBS : n;
    in->thumbs = calloc(kept, sizeof(*in->thumbs));
    if (!in->thumbs) {
        r->out_of_memory = 1;
        return;
    }
    in->nb_thumbs_skipped = n - kept;
    for (size_t i = 0; i < r->nb_events && in->nb_thumbs < kept; i++) {
        const ReportEvent *ev = &r->events[i];
        if (report_event_input(r, ev) != in || !is_video_defect(in, ev))
            continue;
        ReportThumb *th = &in->thumbs[in->nb_thumbs++];
        th->event = i;
        th->t = ev->t;
        th->frame_t = NAN;
    }
    qsort(in->thumbs, in->nb_thumbs, sizeof(*in->thumbs), compare_thumbs);
    report_media_thumbnails(in->url, in->thumbs, in->nb_thumbs, r, in->media_note,
                            sizeof(in->media_note));
}

/* One plot per audio track that an audio detector analysed. */
static void make_levels(Report *r, ReportInput *in)
{
    int tracks[64];
    size_t n = 0;
    for (size_t i = 0; i < in->nb_detectors; i++) {
        const ReportDetector *d = &in->detectors[i];
        if (d->type != VQA_MEDIA_AUDIO || d->frames_analysed == 0)
            continue;
        size_t j = 0;
        while (j < n && tracks[j] != d->track)
            j++;
        if (j == n && n < sizeof(tracks) / sizeof(tracks[0]))
            tracks[n++] = d->track;
    }
    if (n == 0)
        return;
    in->levels = calloc(n, sizeof(*in->levels));
    if (!in->levels) {
        r->out_of_memory = 1;
        return;
    }
    for (size_t i = 0; i < n; i++)
        in->levels[i].track = tracks[i];
    in->nb_levels = n;
    char note[sizeof(in->media_note)] = "";
    report_media_levels(in->url, in->duration_s > 0 ? in->duration_s : in->media_s, in->levels,
                        n, r, note, sizeof(note));
    if (note[0] && !in->media_note[0])
        snprintf(in->media_note, sizeof(in->media_note), "%s", note);
}

static void run_media_passes(Report *r)
{
    for (size_t i = 0; i < r->nb_inputs; i++) {
        ReportInput *in = &r->inputs[i];
        if (!in->added || !in->url || in->nb_detectors == 0)
            continue; /* nothing was decoded: nothing to show */
        if (r->cancel && r->cancel(r->cancel_cookie)) {
            r->interrupted = 1;
            return;
        }
        if (!report_media_rereadable(in->url, in->media_note, sizeof(in->media_note)))
            continue;
        make_thumbnails(r, in);
        make_levels(r, in);
    }
}

/* Which input each event belongs to, once: the document asks for every event. */
static void map_events(Report *r)
{
    int *map = malloc((r->nb_events ? r->nb_events : 1) * sizeof(*map));
    if (!map)
        return; /* report_event_input searches instead */
    for (size_t i = 0; i < r->nb_events; i++) {
        const ReportInput *in = report_event_input(r, &r->events[i]);
        map[i] = in ? (int)(in - r->inputs) : -1;
    }
    r->event_input = map;
}

int report_write(Report *r, double scan_wall_s, int interrupted, ReportCancel cancel,
                 void *cookie)
{
    map_events(r);
    r->scan_wall_s = scan_wall_s;
    r->interrupted = interrupted;
    r->cancel = cancel;
    r->cancel_cookie = cookie;
    run_media_passes(r);
    if (r->cancel && r->cancel(r->cancel_cookie))
        r->interrupted = 1;
    int ret = report_html_write(r);
    int err = fclose(r->f) == EOF ? errno : 0;
    r->f = NULL;
    return ret < 0 ? ret : -err;
}

static void free_input(ReportInput *in)
{
    free(in->arg);
    free(in->url);
    free(in->id);
    free(in->detectors);
    for (size_t i = 0; i < in->nb_thumbs; i++)
        free(in->thumbs[i].data_uri);
    free(in->thumbs);
    for (size_t i = 0; i < in->nb_levels; i++) {
        free(in->levels[i].rms_db);
        free(in->levels[i].peak_db);
    }
    free(in->levels);
}

void report_close(Report *r)
{
    if (r->f) {
        /* Never written (a usage error, the library did not start): leave no empty file. */
        fclose(r->f);
        if (r->path)
            unlink(r->path);
    }
    for (size_t i = 0; i < r->nb_events; i++) {
        free(r->events[i].stream);
        free(r->events[i].detector);
        free(r->events[i].kind);
        free(r->events[i].details);
    }
    free(r->events);
    free(r->event_input);
    for (size_t i = 0; r->inputs && i < r->nb_inputs; i++)
        free_input(&r->inputs[i]);
    free(r->inputs);
    free(r->path);
    free(r->spec);
    memset(r, 0, sizeof(*r));
}
