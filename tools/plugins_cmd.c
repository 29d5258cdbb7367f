/*
 * `vqa plugins`: every plugin loaded, its detectors and their options, and
 * every plugin file that failed to load with the reason; as text or as one
 * JSON document (--json).
 */
#include <float.h>
#include <math.h>
#include <string.h>

#include "vqa_tool.h"

static int is_numeric(VqaOptionType type)
{
    return type == VQA_OPT_INT || type == VQA_OPT_DOUBLE;
}

/* Ranges at or beyond ±DBL_MAX mean "unbounded". */
static int bounded(double v)
{
    return isfinite(v) && fabs(v) < DBL_MAX;
}

/* ---- text ---- */

static void text_default(FILE *f, const VqaOption *o)
{
    switch (o->type) {
    case VQA_OPT_BOOL: fputs(o->default_num != 0 ? "true" : "false", f); break;
    case VQA_OPT_STRING: fprintf(f, "\"%s\"", o->default_str ? o->default_str : ""); break;
    default: fprintf(f, "%g", o->default_num); break;
    }
}

static void text_option(FILE *f, const VqaOption *o, int name_width)
{
    fprintf(f, "      %-*s  %-6s default ", name_width, o->name, vqa_option_type_name(o->type));
    text_default(f, o);
    if (is_numeric(o->type) && (bounded(o->min) || bounded(o->max))) {
        char lo[32] = "-inf", hi[32] = "inf";
        if (bounded(o->min))
            snprintf(lo, sizeof(lo), "%g", o->min);
        if (bounded(o->max))
            snprintf(hi, sizeof(hi), "%g", o->max);
        fprintf(f, ", range %s to %s", lo, hi);
    }
    if (o->unit && *o->unit)
        fprintf(f, " %s", o->unit);
    if (o->flags & VQA_OPT_FLAG_DEPRECATED)
        fputs(" (deprecated)", f);
    fprintf(f, "\n        %s\n", o->help ? o->help : "");
}

static void text_input(FILE *f, const char *label, const VqaInputSpec *in)
{
    if (in->type == VQA_MEDIA_VIDEO) {
        fprintf(f, "    %s: video %s", label, vqa_pixel_format_name(in->pix_fmt));
        if (in->max_width > 0 || in->max_height > 0)
            fprintf(f, ", at most %dx%d", in->max_width, in->max_height);
    } else {
        fprintf(f, "    %s: audio %s", label, vqa_sample_format_name(in->sample_fmt));
        if (in->sample_rate > 0)
            fprintf(f, ", %d Hz", in->sample_rate);
        if (in->channels > 0)
            fprintf(f, ", %d channel(s)", in->channels);
    }
    if (in->max_rate_hz > 0)
        fprintf(f, ", at most %g frames/s", in->max_rate_hz);
    fputc('\n', f);
}

static void text_detector(FILE *f, const VqaDetectorClass *d)
{
    fprintf(f, "  detector %s: %s\n", d->name, d->description ? d->description : "");
    fputs("    kinds:", f);
    for (const char *const *k = d->kinds; k && *k; k++)
        fprintf(f, " %s", *k);
    fputc('\n', f);
    text_input(f, "input", &d->input);
    if (d->input2.type != VQA_MEDIA_NONE)
        text_input(f, "input2", &d->input2);
    int name_width = 0;
    for (const VqaOption *o = d->options; o && o->name; o++) {
        if ((int)strlen(o->name) > name_width)
            name_width = (int)strlen(o->name);
    }
    if (name_width > 0) {
        fputs("    options:\n", f);
        for (const VqaOption *o = d->options; o->name; o++)
            text_option(f, o, name_width);
    }
}

static void print_text(FILE *f, const VqaContext *ctx)
{
    size_t n = vqa_plugin_count(ctx);
    if (n == 0)
        fputs("No plugin found (see --plugin-path and VQA_PLUGIN_PATH).\n", f);
    for (size_t i = 0; i < n; i++) {
        const VqaPluginInfo *p = vqa_plugin_get(ctx, i);
        fprintf(f, "%s %s (%s): %s\n", p->name, p->version ? p->version : "?",
                p->license ? p->license : "no license given",
                p->description ? p->description : "");
        fprintf(f, "  path: %s\n", p->path);
        for (size_t j = 0; j < p->nb_detectors; j++)
            text_detector(f, p->detectors[j]);
        fputc('\n', f);
    }
    size_t nb_failed = vqa_plugin_failure_count(ctx);
    if (nb_failed > 0)
        fputs("Not loaded:\n", f);
    for (size_t i = 0; i < nb_failed; i++) {
        const VqaPluginFailure *fail = vqa_plugin_failure_get(ctx, i);
        fprintf(f, "  %s: %s: %s\n", fail->path, vqa_plugin_status_name(fail->status),
                fail->reason ? fail->reason : "");
    }
}

/* ---- JSON ---- */

/* A range bound, or null when the option has none. */
static void json_bound(JsonWriter *w, const char *key, const VqaOption *o, double v)
{
    if (is_numeric(o->type) && bounded(v))
        json_num(w, key, v);
    else
        json_null(w, key);
}

static void json_option(JsonWriter *w, const VqaOption *o)
{
    json_begin_object(w, NULL);
    json_str(w, "name", o->name);
    json_str(w, "type", vqa_option_type_name(o->type));
    if (o->type == VQA_OPT_BOOL)
        json_bool(w, "default", o->default_num != 0);
    else if (o->type == VQA_OPT_STRING)
        json_str(w, "default", o->default_str);
    else
        json_num(w, "default", o->default_num);
    json_bound(w, "min", o, o->min);
    json_bound(w, "max", o, o->max);
    json_str(w, "unit", o->unit);
    json_str(w, "help", o->help);
    json_bool(w, "deprecated", o->flags & VQA_OPT_FLAG_DEPRECATED);
    json_end_object(w);
}

static void json_input(JsonWriter *w, const char *key, const VqaInputSpec *in)
{
    json_begin_object(w, key);
    if (in->type == VQA_MEDIA_VIDEO) {
        json_str(w, "type", "video");
        json_str(w, "pix_fmt", vqa_pixel_format_name(in->pix_fmt));
        json_num(w, "max_width", in->max_width);
        json_num(w, "max_height", in->max_height);
    } else {
        json_str(w, "type", "audio");
        json_str(w, "sample_fmt", vqa_sample_format_name(in->sample_fmt));
        json_num(w, "sample_rate", in->sample_rate);
        json_num(w, "channels", in->channels);
    }
    json_num(w, "max_rate_hz", in->max_rate_hz);
    json_end_object(w);
}

static void json_detector(JsonWriter *w, const VqaDetectorClass *d)
{
    json_begin_object(w, NULL);
    json_str(w, "name", d->name);
    json_str(w, "description", d->description);
    json_begin_array(w, "kinds");
    for (const char *const *k = d->kinds; k && *k; k++)
        json_str(w, NULL, *k);
    json_end_array(w);
    json_bool(w, "temporal", d->flags & VQA_DETECTOR_TEMPORAL);
    json_input(w, "input", &d->input);
    if (d->input2.type != VQA_MEDIA_NONE)
        json_input(w, "input2", &d->input2);
    json_begin_array(w, "options");
    for (const VqaOption *o = d->options; o && o->name; o++)
        json_option(w, o);
    json_end_array(w);
    json_end_object(w);
}

static void json_plugin(JsonWriter *w, const VqaPluginInfo *p)
{
    json_begin_object(w, NULL);
    json_str(w, "path", p->path);
    json_str(w, "name", p->name);
    json_str(w, "version", p->version);
    json_str(w, "license", p->license);
    json_str(w, "description", p->description);
    json_num(w, "abi_minor", p->abi_minor);
    json_begin_array(w, "detectors");
    for (size_t j = 0; j < p->nb_detectors; j++)
        json_detector(w, p->detectors[j]);
    json_end_array(w);
    json_end_object(w);
}

static void print_json(FILE *f, const VqaContext *ctx)
{
    JsonWriter w;
    json_init(&w, f);
    json_begin_object(&w, NULL);
    json_str(&w, "version", vqa_version());
    json_begin_array(&w, "plugins");
    for (size_t i = 0; i < vqa_plugin_count(ctx); i++)
        json_plugin(&w, vqa_plugin_get(ctx, i));
    json_end_array(&w);
    json_begin_array(&w, "failures");
    for (size_t i = 0; i < vqa_plugin_failure_count(ctx); i++) {
        const VqaPluginFailure *fail = vqa_plugin_failure_get(ctx, i);
        json_begin_object(&w, NULL);
        json_str(&w, "path", fail->path);
        json_str(&w, "status", vqa_plugin_status_name(fail->status));
        json_str(&w, "reason", fail->reason);
        json_end_object(&w);
    }
    json_end_array(&w);
    json_end_object(&w);
    fputc('\n', f);
}

int cmd_plugins(const ToolOptions *opts)
{
    VqaSettings s;
    vqa_default_settings(&s);
    s.n_threads = 1;
    s.n_io_threads = 1;
    /* Load failures are part of the listing; logging them too would say it twice. */
    s.logger = cli_logger(opts->log_level_set ? opts->log_level : VQA_LOG_ERROR);
    s.plugin_paths = opts->plugin_paths;
    VqaContext *ctx = NULL;
    int ret = vqa_open(&ctx, &s);
    if (ret < 0) {
        fprintf(stderr, "vqa: cannot start the library: %s\n", vqa_strerror(ret));
        return TOOL_EXIT_INPUT;
    }
    if (opts->json)
        print_json(stdout, ctx);
    else
        print_text(stdout, ctx);
    vqa_close(&ctx);
    if (fflush(stdout) == EOF) {
        perror("vqa: writing the list");
        return TOOL_EXIT_INPUT;
    }
    return TOOL_EXIT_OK;
}
