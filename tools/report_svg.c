/*
 * The report's plots, as inline SVG on one media-time axis: the defect
 * timeline (a lane per kind; a bar per start/end pair, a diamond per
 * instant) and the audio level of each analysed track with the audio
 * defects shaded. Both share the left margin and the width, so a time
 * lines up across them.
 *
 * Each bar, diamond and shaded span carries data-kind and data-t, and links
 * to its row of the event table; the level plot carries its values as
 * data-rms and data-peak, so a script (or a test) reads what is drawn.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "report.h"

#define SVG_W 1200
#define SVG_LEFT 150      /* lane labels and the dB scale */
#define SVG_RIGHT 16
#define LANE_H 24
#define TOP 6
#define AXIS_H 26
#define LEVELS_H 210
#define MAX_TICKS 12

typedef enum SegType { SEG_CLOSED, SEG_OPEN, SEG_INSTANT } SegType;

/* Called per defect: [start->t, end_t), or an instant at start->t. */
typedef void (*SegmentFn)(void *ctx, const ReportEvent *start, double end_t, SegType type);

static double x_of(double t, double length_s)
{
    double frac = length_s > 0 ? t / length_s : 0;
    frac = frac < 0 ? 0 : frac > 1 ? 1 : frac;
    return SVG_LEFT + frac * (SVG_W - SVG_LEFT - SVG_RIGHT);
}

double report_input_length(const Report *r, const ReportInput *in)
{
    double len = in->duration_s > in->media_s ? in->duration_s : in->media_s;
    for (size_t i = 0; i < r->nb_events; i++) {
        const ReportEvent *ev = &r->events[i];
        if (report_event_input(r, ev) == in && isfinite(ev->t) && ev->t > len)
            len = ev->t;
    }
    return len > 0 ? len : 1.0;
}

static int compare_kinds(const void *a, const void *b)
{
    return strcmp(((const ReportKind *)a)->kind, ((const ReportKind *)b)->kind);
}

size_t report_input_kinds(const Report *r, const ReportInput *in, ReportKind **out)
{
    ReportKind *kinds = NULL;
    size_t n = 0, cap = 0;
    for (size_t i = 0; i < r->nb_events; i++) {
        const ReportEvent *ev = &r->events[i];
        if (report_event_input(r, ev) != in)
            continue;
        size_t k = 0;
        while (k < n && strcmp(kinds[k].kind, ev->kind))
            k++;
        if (k == n) {
            if (n == cap) {
                cap = cap ? cap * 2 : 8;
                ReportKind *grown = realloc(kinds, cap * sizeof(*grown));
                if (!grown)
                    break; /* the plot shows the kinds it has room for */
                kinds = grown;
            }
            kinds[n++] = (ReportKind){ ev->kind, 0 };
        }
        kinds[k].count += ev->state != VQA_EVENT_END;
    }
    if (n > 1)
        qsort(kinds, n, sizeof(*kinds), compare_kinds);
    *out = kinds;
    return n;
}

/* Pair each end with the open start of its detector and kind; starts left
 * open (the library closes every one, but a cut-short run may not) run to
 * the end of the axis. */
static void walk_segments(const Report *r, const ReportInput *in, double length_s,
                          SegmentFn fn, void *ctx)
{
    const ReportEvent **open = NULL;
    size_t nb_open = 0, cap = 0;
    for (size_t i = 0; i < r->nb_events; i++) {
        const ReportEvent *ev = &r->events[i];
        if (report_event_input(r, ev) != in)
            continue;
        if (ev->state == VQA_EVENT_INSTANT) {
            fn(ctx, ev, ev->t, SEG_INSTANT);
        } else if (ev->state == VQA_EVENT_START) {
            if (nb_open == cap) {
                cap = cap ? cap * 2 : 16;
                const ReportEvent **grown = realloc(open, cap * sizeof(*grown));
                if (!grown)
                    continue;
                open = grown;
            }
            open[nb_open++] = ev;
        } else if (ev->state == VQA_EVENT_END) {
            for (size_t k = nb_open; k-- > 0;) {
                if (!strcmp(open[k]->kind, ev->kind) && !strcmp(open[k]->detector, ev->detector)) {
                    fn(ctx, open[k], ev->t, SEG_CLOSED);
                    memmove(&open[k], &open[k + 1], (nb_open - k - 1) * sizeof(*open));
                    nb_open--;
                    break;
                }
            }
        }
    }
    for (size_t k = 0; k < nb_open; k++)
        fn(ctx, open[k], length_s, SEG_OPEN);
    free(open);
}

/* A step of 1, 2 or 5 times a power of ten (or whole minutes and hours)
 * that puts at most MAX_TICKS ticks on the axis. */
static double tick_step(double length_s)
{
    static const double steps[] = { 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 15, 30,
                                    60, 120, 300, 600, 900, 1800, 3600, 7200, 14400, 43200 };
    for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
        if (length_s / steps[i] <= MAX_TICKS)
            return steps[i];
    }
    return 86400;
}

static void tick_label(char *buf, size_t size, double t, double step)
{
    if (step >= 60) {
        long s = (long)(t + 0.5);
        if (s >= 3600)
            snprintf(buf, size, "%ld:%02ld:%02ld", s / 3600, s / 60 % 60, s % 60);
        else
            snprintf(buf, size, "%ld:%02ld", s / 60, s % 60);
    } else {
        int decimals = step >= 1 ? 0 : step >= 0.1 ? 1 : 2;
        snprintf(buf, size, "%.*f s", decimals, t);
    }
}

/* Ticks and labels along y_axis; grid lines up to y_top. */
static void write_axis(FILE *f, double length_s, int y_top, int y_axis)
{
    double step = tick_step(length_s);
    fprintf(f, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#999\"/>\n", SVG_LEFT,
            y_axis, SVG_W - SVG_RIGHT, y_axis);
    for (int i = 0; i * step <= length_s + 1e-9 && i <= MAX_TICKS + 1; i++) {
        double t = i * step;
        double x = x_of(t, length_s);
        char label[32];
        tick_label(label, sizeof(label), t, step);
        fprintf(f, "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" stroke=\"#e3e3e3\"/>"
                   "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" stroke=\"#999\"/>"
                   "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">%s</text>\n",
                x, y_top, x, y_axis, x, y_axis, x, y_axis + 5, x, y_axis + 17, label);
    }
}

static void write_title(FILE *f, const ReportEvent *start, double end_t, SegType type)
{
    fputs("<title>", f);
    html_text(f, start->kind);
    if (type == SEG_INSTANT)
        fprintf(f, " at %.3f s", start->t);
    else
        fprintf(f, " %.3f–%.3f s (%.3f s%s)", start->t, end_t, end_t - start->t,
                type == SEG_OPEN ? ", not closed" : "");
    if (start->has_value && isfinite(start->value))
        fprintf(f, ", value %.4g", start->value);
    fputs(" — ", f);
    html_text(f, start->detector);
    fputs("</title>", f);
}

/* The opening of a linked, tagged shape: <a class=... data-kind data-t href>. */
static void open_link(FILE *f, const char *cls, const ReportEvent *ev, double end_t, SegType type)
{
    fprintf(f, "<a class=\"%s\" href=\"#ev-%zu\" data-kind=\"", cls, ev->seq);
    html_text(f, ev->kind);
    fprintf(f, "\" data-t=\"%.6f\"", ev->t); /* as precise as the JSON Lines */
    if (type != SEG_INSTANT)
        fprintf(f, " data-end=\"%.6f\"", end_t);
    fputc('>', f);
}

typedef struct TimelineCtx {
    FILE *f;
    const ReportKind *kinds;
    size_t nb_kinds;
    double length_s;
} TimelineCtx;

static void timeline_segment(void *opaque, const ReportEvent *ev, double end_t, SegType type)
{
    TimelineCtx *c = opaque;
    size_t lane = 0;
    while (lane < c->nb_kinds && strcmp(c->kinds[lane].kind, ev->kind))
        lane++;
    if (lane == c->nb_kinds)
        return;
    char color[32];
    report_kind_color(ev->kind, color, sizeof(color));
    double y = TOP + (double)lane * LANE_H;
    double x0 = x_of(ev->t, c->length_s);
    open_link(c->f, type == SEG_INSTANT ? "mark" : "seg", ev, end_t, type);
    if (type == SEG_INSTANT) {
        double yc = y + LANE_H / 2.0;
        fprintf(c->f, "<path d=\"M%.1f %.1fl6 7l-6 7l-6-7z\" fill=\"%s\" stroke=\"#fff\"/>",
                x0, yc - 7, color);
    } else {
        double w = x_of(end_t, c->length_s) - x0;
        fprintf(c->f, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%d\" rx=\"2\" "
                      "fill=\"%s\"%s/>",
                x0, y + 4, w < 2 ? 2 : w, LANE_H - 8, color,
                type == SEG_OPEN ? " fill-opacity=\"0.5\"" : "");
    }
    write_title(c->f, ev, end_t, type);
    fputs("</a>\n", c->f);
}

void report_svg_timeline(FILE *f, const Report *r, const ReportInput *in, double length_s)
{
    ReportKind *kinds = NULL;
    size_t n = report_input_kinds(r, in, &kinds);
    int lanes = n > 0 ? (int)n : 1;
    int y_axis = TOP + lanes * LANE_H;
    fprintf(f, "<svg class=\"timeline\" viewBox=\"0 0 %d %d\" role=\"img\" "
               "aria-label=\"defects on a media-time axis\">\n",
            SVG_W, y_axis + AXIS_H);
    for (int k = 0; k < lanes; k++) {
        int y = TOP + k * LANE_H;
        fprintf(f, "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"%s\"/>"
                   "<text x=\"%d\" y=\"%d\" text-anchor=\"end\">",
                SVG_LEFT, y, SVG_W - SVG_LEFT - SVG_RIGHT, LANE_H, k % 2 ? "#fafafa" : "#f1f1f4",
                SVG_LEFT - 8, y + LANE_H / 2 + 4);
        html_text(f, n > 0 ? kinds[k].kind : "no defects");
        fputs("</text>\n", f);
    }
    write_axis(f, length_s, TOP, y_axis);
    TimelineCtx ctx = { f, kinds, n, length_s };
    walk_segments(r, in, length_s, timeline_segment, &ctx);
    fputs("</svg>\n", f);
    free(kinds);
}

/* ---- audio levels ---- */

static double y_of_db(double db)
{
    double top = TOP + 4, bottom = LEVELS_H - AXIS_H;
    db = db > 0 ? 0 : db < REPORT_LEVEL_FLOOR_DB ? REPORT_LEVEL_FLOOR_DB : db;
    return top + db / REPORT_LEVEL_FLOOR_DB * (bottom - top);
}

typedef struct LevelsCtx {
    FILE *f;
    double length_s;
} LevelsCtx;

/* Audio defects shaded over the plot's whole height. */
static void levels_segment(void *opaque, const ReportEvent *ev, double end_t, SegType type)
{
    LevelsCtx *c = opaque;
    if (strncmp(ev->kind, "audio.", 6))
        return;
    char color[32];
    report_kind_color(ev->kind, color, sizeof(color));
    double x0 = x_of(ev->t, c->length_s);
    double w = type == SEG_INSTANT ? 2 : x_of(end_t, c->length_s) - x0;
    open_link(c->f, "span", ev, end_t, type);
    fprintf(c->f, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"%s\" "
                  "fill-opacity=\"0.16\"/>",
            x0, y_of_db(0), w < 2 ? 2 : w, y_of_db(REPORT_LEVEL_FLOOR_DB) - y_of_db(0), color);
    write_title(c->f, ev, end_t, type);
    fputs("</a>\n", c->f);
}

static void write_values_attr(FILE *f, const char *name, const double *v, size_t n)
{
    fprintf(f, " %s=\"", name);
    for (size_t i = 0; i < n; i++)
        fprintf(f, i ? ",%.2f" : "%.2f", v[i]); /* NAN prints as "nan" */
    fputc('"', f);
}

/* A line through the window centres, broken where a window has no samples. */
static void write_polyline(FILE *f, const ReportLevels *lv, const double *v, double length_s,
                           const char *color, double width)
{
    int open = 0;
    for (size_t i = 0; i < lv->n; i++) {
        if (isnan(v[i])) {
            if (open)
                fputs("\"/>\n", f);
            open = 0;
            continue;
        }
        if (!open)
            fprintf(f, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"%.1f\" "
                       "stroke-linejoin=\"round\" points=\"",
                    color, width);
        double x = x_of(((double)i + 0.5) * lv->window_s, length_s);
        fprintf(f, open ? " %.1f,%.1f" : "%.1f,%.1f", x, y_of_db(v[i]));
        open = 1;
    }
    if (open)
        fputs("\"/>\n", f);
}

void report_svg_levels(FILE *f, const Report *r, const ReportInput *in,
                       const ReportLevels *lv, double length_s)
{
    fputs("<svg class=\"levels\" data-stream=\"", f);
    html_text(f, in->id);
    fprintf(f, "\" data-track=\"%d\" data-window=\"%g\"", lv->track, lv->window_s);
    write_values_attr(f, "data-rms", lv->rms_db, lv->n);
    write_values_attr(f, "data-peak", lv->peak_db, lv->n);
    fprintf(f, " viewBox=\"0 0 %d %d\" role=\"img\" aria-label=\"audio level, dBFS\">\n", SVG_W,
            LEVELS_H);
    int y_axis = LEVELS_H - AXIS_H;
    for (int db = 0; db >= (int)REPORT_LEVEL_FLOOR_DB; db -= 20) {
        double y = y_of_db(db);
        fprintf(f, "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" stroke=\"#e3e3e3\"/>"
                   "<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\">%d dBFS</text>\n",
                SVG_LEFT, y, SVG_W - SVG_RIGHT, y, SVG_LEFT - 8, y + 4, db);
    }
    write_axis(f, length_s, TOP + 4, y_axis);
    LevelsCtx ctx = { f, length_s };
    walk_segments(r, in, length_s, levels_segment, &ctx);
    write_polyline(f, lv, lv->peak_db, length_s, "#f2a541", 1.2);
    write_polyline(f, lv, lv->rms_db, length_s, "#1f5fbf", 1.8);
    fprintf(f, "<text x=\"%d\" y=\"%d\" text-anchor=\"end\" style=\"fill:#1f5fbf\">RMS</text>"
               "<text x=\"%d\" y=\"%d\" text-anchor=\"end\" style=\"fill:#c77c00\">peak</text>\n",
            SVG_W - SVG_RIGHT - 50, TOP + 14, SVG_W - SVG_RIGHT, TOP + 14);
    fputs("</svg>\n", f);
}
