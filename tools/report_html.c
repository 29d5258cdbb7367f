/*
 * The report document: one HTML file with its style, script, plots and
 * pictures inside. Everything that comes from outside the tool — file
 * names, stream ids, detector names, kinds, details — goes through
 * html_text, in text and in (always double-quoted) attribute values alike.
 * The script reads the page's own data-* attributes and never builds markup.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "report.h"

static const char style[] =
    "body{font:14px/1.45 system-ui,sans-serif;margin:0 24px 48px;color:#1d1d1f;"
    "background:#fff}\n"
    "h1{font-size:22px;margin:20px 0 4px}h2{font-size:18px;margin:32px 0 8px;"
    "padding-bottom:4px;border-bottom:2px solid #ddd}h3{font-size:15px;margin:20px 0 6px}\n"
    ".meta{color:#555;margin:2px 0}.note{color:#9a4a00}.error{color:#b00020;font-weight:600}\n"
    "table{border-collapse:collapse;font-size:12.5px}th,td{padding:3px 8px;"
    "border-bottom:1px solid #e6e6e6;text-align:left;vertical-align:top}\n"
    "th{background:#f4f4f6;position:sticky;top:0}td.num{text-align:right;"
    "font-variant-numeric:tabular-nums}\n"
    "table.events{width:100%}tr.ev:target{background:#fff3c4}\n"
    "tr.sev-error td.sev{color:#b00020;font-weight:600}tr.sev-warning td.sev{color:#9a4a00}\n"
    "code.details{white-space:pre-wrap;word-break:break-all;font-size:11.5px;color:#444}\n"
    ".swatch{display:inline-block;width:11px;height:11px;border-radius:2px;"
    "margin-right:5px;vertical-align:-1px}\n"
    ".legend{display:flex;flex-wrap:wrap;gap:4px 16px;margin:4px 0 8px;font-size:13px}\n"
    ".thumbs{display:flex;flex-wrap:wrap;gap:14px}figure.thumb{margin:0;font-size:12px;"
    "width:240px}figure.thumb img{display:block;border:1px solid #ccc;"
    "max-width:240px}\n"
    ".nopic{width:238px;height:134px;border:1px dashed #bbb;color:#888;display:flex;"
    "align-items:center;justify-content:center}\n"
    "svg{display:block;width:100%;height:auto;max-width:1200px}"
    "svg text{font:11px system-ui,sans-serif;fill:#444}\n"
    ".hidden{display:none}\n";

/* Toggling a kind in a section's legend hides its bars, pictures and rows. */
static const char script[] =
    "(function () {\n"
    "  document.querySelectorAll('section.input').forEach(function (sec) {\n"
    "    sec.querySelectorAll('input.kind-toggle').forEach(function (box) {\n"
    "      box.addEventListener('change', function () {\n"
    "        var kind = box.getAttribute('data-kind');\n"
    "        sec.querySelectorAll('[data-kind]').forEach(function (el) {\n"
    "          if (el.tagName !== 'INPUT' && el.getAttribute('data-kind') === kind)\n"
    "            el.classList.toggle('hidden', !box.checked);\n"
    "        });\n"
    "      });\n"
    "    });\n"
    "  });\n"
    "})();\n";

void html_text(FILE *f, const char *s)
{
    if (!s)
        return;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        switch (*p) {
        case '&': fputs("&amp;", f); break;
        case '<': fputs("&lt;", f); break;
        case '>': fputs("&gt;", f); break;
        case '"': fputs("&quot;", f); break;
        case '\'': fputs("&#39;", f); break;
        default:
            /* Control characters are not allowed in HTML text. */
            if ((*p < 0x20 && *p != '\n' && *p != '\t') || *p == 0x7f)
                fputs("\xEF\xBF\xBD", f);
            else
                fputc(*p, f);
        }
    }
}

void report_kind_color(const char *kind, char *buf, size_t size)
{
    static const struct { const char *kind, *color; } known[] = {
        { "video.freeze", "#1f77b4" },   { "video.black", "#3a3a3a" },
        { "video.blockiness", "#d62728" }, { "video.blur", "#9467bd" },
        { "audio.silence", "#2ca02c" },  { "audio.clipping", "#ff7f0e" },
        { "audio.loudness", "#b5a400" }, { "av.sync", "#17becf" },
        { "stream.gap", "#8c564b" },     { "stream.stall", "#e377c2" },
        { "stream.error", "#b00020" },
    };
    for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++) {
        if (!strcmp(kind, known[i].kind)) {
            snprintf(buf, size, "%s", known[i].color);
            return;
        }
    }
    /* Other kinds: a hue from the name, so a kind keeps its colour across reports. */
    unsigned h = 2166136261u;
    for (const unsigned char *p = (const unsigned char *)kind; *p; p++)
        h = (h ^ *p) * 16777619u;
    snprintf(buf, size, "hsl(%u,55%%,45%%)", h % 360);
}

const ReportInput *report_event_input(const Report *r, const ReportEvent *ev)
{
    if (r->event_input) {
        int i = r->event_input[ev->seq];
        return i >= 0 ? &r->inputs[i] : NULL;
    }
    for (size_t i = 0; i < r->nb_inputs; i++) {
        if (r->inputs[i].id && !strcmp(r->inputs[i].id, ev->stream))
            return &r->inputs[i];
    }
    return NULL;
}

static void write_time_attr(FILE *f, const char *name, double v)
{
    /* The precision of the JSON Lines (microseconds), so a script can match the two. */
    fprintf(f, " %s=\"%.6f\"", name, v);
}

static void write_event_row(FILE *f, const ReportEvent *ev)
{
    const char *state = vqa_event_state_name(ev->state);
    const char *sev = vqa_severity_name(ev->severity);
    char color[32];
    report_kind_color(ev->kind, color, sizeof(color));
    fprintf(f, "<tr class=\"ev sev-%s\" id=\"ev-%zu\" data-stream=\"", sev ? sev : "", ev->seq);
    html_text(f, ev->stream);
    fputs("\" data-detector=\"", f);
    html_text(f, ev->detector);
    fputs("\" data-kind=\"", f);
    html_text(f, ev->kind);
    fprintf(f, "\" data-state=\"%s\"", state ? state : "");
    write_time_attr(f, "data-t", ev->t);
    if (ev->state == VQA_EVENT_END)
        write_time_attr(f, "data-duration", ev->duration);
    fputs("><td>", f);
    html_text(f, ev->stream);
    fputs("</td><td>", f);
    html_text(f, ev->detector);
    fprintf(f, "</td><td><span class=\"swatch\" style=\"background:%s\"></span>", color);
    html_text(f, ev->kind);
    fprintf(f, "</td><td>%s</td><td class=\"num\">%.3f</td><td class=\"num\">", state ? state : "",
            ev->t);
    if (ev->state == VQA_EVENT_END)
        fprintf(f, "%.3f", ev->duration);
    fputs("</td><td class=\"num\">", f);
    if (ev->has_value && isfinite(ev->value))
        fprintf(f, "%.6g", ev->value);
    fprintf(f, "</td><td class=\"sev\">%s</td><td><code class=\"details\">", sev ? sev : "");
    html_text(f, ev->details);
    fputs("</code></td></tr>\n", f);
}

static void write_event_table(FILE *f, const Report *r, const ReportInput *in)
{
    fputs("<table class=\"events\"><thead><tr><th>stream</th><th>detector</th><th>kind</th>"
          "<th>state</th><th>t (s)</th><th>duration (s)</th><th>value</th><th>severity</th>"
          "<th>details</th></tr></thead>\n<tbody>\n",
          f);
    for (size_t i = 0; i < r->nb_events; i++) {
        if (report_event_input(r, &r->events[i]) == in)
            write_event_row(f, &r->events[i]);
    }
    fputs("</tbody></table>\n", f);
}

static void write_thumb(FILE *f, const Report *r, const ReportThumb *th)
{
    const ReportEvent *ev = &r->events[th->event];
    char color[32];
    report_kind_color(ev->kind, color, sizeof(color));
    fputs("<figure class=\"thumb\" data-kind=\"", f);
    html_text(f, ev->kind);
    fputc('"', f);
    write_time_attr(f, "data-t", ev->t);
    if (isfinite(th->frame_t))
        write_time_attr(f, "data-frame-t", th->frame_t);
    fprintf(f, "><a href=\"#ev-%zu\">", ev->seq);
    if (th->data_uri) {
        fprintf(f, "<img src=\"%s\" alt=\"", th->data_uri); /* base64: nothing to escape */
        html_text(f, ev->kind);
        fprintf(f, " at %.3f s\">", ev->t);
    } else {
        fputs("<div class=\"nopic\">no picture</div>", f);
    }
    fprintf(f, "</a><figcaption><span class=\"swatch\" style=\"background:%s\"></span>", color);
    html_text(f, ev->kind);
    fprintf(f, " from %.3f s", ev->t);
    if (isfinite(th->frame_t) && fabs(th->frame_t - ev->t) > 0.0005)
        fprintf(f, " (picture at %.3f s)", th->frame_t);
    fputs("</figcaption></figure>\n", f);
}

static void write_thumbs(FILE *f, const Report *r, const ReportInput *in)
{
    if (in->nb_thumbs == 0)
        return;
    fputs("<h3>Video defects</h3>\n<div class=\"thumbs\">\n", f);
    for (size_t i = 0; i < in->nb_thumbs; i++)
        write_thumb(f, r, &in->thumbs[i]);
    fputs("</div>\n", f);
    if (in->nb_thumbs_skipped > 0)
        fprintf(f, "<p class=\"note\">%zu more video defects have no picture (at most %d per "
                   "input).</p>\n",
                in->nb_thumbs_skipped, REPORT_MAX_THUMBS);
}

/* The kinds of an input's events, with counts of starts and instants, as a legend. */
static void write_legend(FILE *f, const Report *r, const ReportInput *in)
{
    ReportKind *kinds = NULL;
    size_t n = report_input_kinds(r, in, &kinds);
    fputs("<div class=\"legend\">", f);
    for (size_t i = 0; i < n; i++) {
        char color[32];
        report_kind_color(kinds[i].kind, color, sizeof(color));
        fputs("<label><input type=\"checkbox\" class=\"kind-toggle\" checked data-kind=\"", f);
        html_text(f, kinds[i].kind);
        fprintf(f, "\"> <span class=\"swatch\" style=\"background:%s\"></span>", color);
        html_text(f, kinds[i].kind);
        fprintf(f, " (%zu)</label>", kinds[i].count);
    }
    if (n == 0)
        fputs("<span>no events</span>", f);
    fputs("</div>\n", f);
    free(kinds);
}

static void write_result(FILE *f, const ReportInput *in)
{
    if (!in->added)
        fputs("<p class=\"error\">not analysed: ", f);
    else if (!in->finished)
        fputs("<p class=\"error\">not finished", f);
    else if (in->result == VQA_ERROR_STOPPED)
        fputs("<p class=\"error\">interrupted before the end", f);
    else if (in->result < 0)
        fputs("<p class=\"error\">could not be read to the end: ", f);
    else
        fputs("<p class=\"meta\">read to the end", f);
    if (in->result < 0 && in->result != VQA_ERROR_STOPPED)
        html_text(f, vqa_strerror(in->result));
    fprintf(f, "; media read %.3f s", in->media_s);
    if (in->duration_s > 0)
        fprintf(f, " of %.3f s", in->duration_s);
    if (in->decode_errors > 0)
        fprintf(f, "; %lld decode errors", (long long)in->decode_errors);
    fputs("</p>\n", f);
}

static void write_detectors(FILE *f, const ReportInput *in)
{
    if (in->nb_detectors == 0)
        return;
    fputs("<details><summary>Detectors that ran</summary><table><thead><tr><th>detector</th>"
          "<th>track</th><th>frames analysed</th><th>CPU (s)</th></tr></thead><tbody>\n",
          f);
    for (size_t i = 0; i < in->nb_detectors; i++) {
        const ReportDetector *d = &in->detectors[i];
        fputs("<tr><td>", f);
        html_text(f, d->name);
        fprintf(f, "</td><td>%s %d</td><td class=\"num\">%lld</td><td class=\"num\">%.3f</td>"
                   "</tr>\n",
                d->type == VQA_MEDIA_VIDEO ? "video" : d->type == VQA_MEDIA_AUDIO ? "audio" : "?",
                d->track, (long long)d->frames_analysed, d->cpu_seconds);
    }
    fputs("</tbody></table></details>\n", f);
}

static void write_levels(FILE *f, const Report *r, const ReportInput *in, double length_s)
{
    if (in->nb_levels == 0)
        return;
    fputs("<h3>Audio level</h3>\n", f);
    for (size_t i = 0; i < in->nb_levels; i++) {
        const ReportLevels *lv = &in->levels[i];
        fprintf(f, "<p class=\"meta\">audio track %d", lv->track);
        if (lv->n > 0)
            fprintf(f, ": %d channel%s, %d Hz; RMS of all channels and peak sample per %g s, "
                       "dBFS (a full-scale sine has an RMS of -3 dBFS)",
                    lv->channels, lv->channels == 1 ? "" : "s", lv->sample_rate, lv->window_s);
        else
            fputs(": no samples could be decoded", f);
        fputs("</p>\n", f);
        if (lv->n > 0)
            report_svg_levels(f, r, in, lv, length_s);
    }
}

static void write_input(FILE *f, const Report *r, const ReportInput *in, size_t index)
{
    fprintf(f, "<section class=\"input\" id=\"input-%zu\" data-stream=\"", index);
    html_text(f, in->id);
    fputs("\">\n<h2>Stream <code>", f);
    html_text(f, in->id);
    fputs("</code>: ", f);
    html_text(f, in->url ? in->url : in->arg);
    fputs("</h2>\n", f);
    if (in->arg && in->url && strcmp(in->arg, in->url)) {
        fputs("<p class=\"meta\">given as <code>", f);
        html_text(f, in->arg);
        fputs("</code></p>\n", f);
    }
    const ReportInput *owner = NULL;
    for (size_t i = 0; i < index && in->id; i++) {
        if (r->inputs[i].id && !strcmp(r->inputs[i].id, in->id) && !owner)
            owner = &r->inputs[i];
    }
    write_result(f, in);
    if (owner) {
        fputs("<p class=\"note\">another input has the same stream id: its events are shown "
              "there.</p>\n</section>\n",
              f);
        return;
    }
    write_detectors(f, in);
    if (in->media_note[0]) {
        fputs("<p class=\"note\">", f);
        html_text(f, in->media_note);
        fputs("</p>\n", f);
    }
    double length_s = report_input_length(r, in);
    fputs("<h3>Timeline</h3>\n", f);
    write_legend(f, r, in);
    report_svg_timeline(f, r, in, length_s);
    write_levels(f, r, in, length_s);
    write_thumbs(f, r, in);
    fputs("<h3>Events</h3>\n", f);
    write_event_table(f, r, in);
    fputs("</section>\n", f);
}

/* Events whose stream id names no input: the library should never make one. */
static void write_orphans(FILE *f, const Report *r)
{
    size_t n = 0;
    for (size_t i = 0; i < r->nb_events; i++)
        n += report_event_input(r, &r->events[i]) == NULL;
    if (n == 0)
        return;
    fputs("<section class=\"input\" id=\"input-other\">\n<h2>Events of no input</h2>\n", f);
    write_event_table(f, r, NULL);
    fputs("</section>\n", f);
}

static void write_head(FILE *f)
{
    fputs("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
          "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
          "img-src data:; style-src 'unsafe-inline'; script-src 'unsafe-inline'\">\n"
          "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
          "<title>vqa scan report</title>\n<style>\n",
          f);
    fputs(style, f);
    fputs("</style>\n</head>\n<body>\n", f);
}

static void write_summary(FILE *f, const Report *r)
{
    char when[64] = "";
    time_t t = (time_t)r->started_s;
    struct tm tm;
    if (gmtime_r(&t, &tm))
        strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S UTC", &tm);
    fprintf(f, "<h1>vqa scan report</h1>\n<p class=\"meta\">vqa %s, started %s, took %.1f s; "
               "%zu input%s, %zu events; detectors: <code>",
            vqa_version(), when, r->scan_wall_s, r->nb_inputs, r->nb_inputs == 1 ? "" : "s",
            r->nb_events);
    html_text(f, r->spec ? r->spec : "every detector found, with its defaults");
    fputs("</code></p>\n", f);
    if (r->interrupted)
        fputs("<p class=\"error\">The scan was interrupted: inputs were not read to their end "
              "and pictures or levels may be missing.</p>\n",
              f);
    if (r->out_of_memory)
        fputs("<p class=\"error\">Out of memory: some events are missing from this "
              "report.</p>\n",
              f);
    if (r->nb_inputs > 1) {
        fputs("<ul>\n", f);
        for (size_t i = 0; i < r->nb_inputs; i++) {
            fprintf(f, "<li><a href=\"#input-%zu\">stream <code>", i);
            html_text(f, r->inputs[i].id);
            fputs("</code></a>: ", f);
            html_text(f, r->inputs[i].url ? r->inputs[i].url : r->inputs[i].arg);
            fputs("</li>\n", f);
        }
        fputs("</ul>\n", f);
    }
}

int report_html_write(const Report *r)
{
    FILE *f = r->f;
    write_head(f);
    write_summary(f, r);
    for (size_t i = 0; i < r->nb_inputs; i++)
        write_input(f, r, &r->inputs[i], i);
    write_orphans(f, r);
    fprintf(f, "<script>\n%s</script>\n</body>\n</html>\n", script);
    if (fflush(f) == EOF || ferror(f))
        return -(errno ? errno : EIO);
    return 0;
}
