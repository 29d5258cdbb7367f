/*
 * Hosting one detector class directly, and making test media. See harness.h.
 */
#include <dlfcn.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "harness.h"
#include "options.h"

#ifndef VQA_BUILD_PLUGIN_DIR
#error "VQA_BUILD_PLUGIN_DIR must name the build's plugin directory"
#endif

#define HARNESS_PAD 32  /* bytes of row padding in test pictures */
#define HARNESS_PI 3.14159265358979323846

static Harness *harness_of(VqaDetectorContext *ctx)
{
    return (Harness *)ctx; /* ctx is the first member */
}

static void log_append(Harness *h, const char *fmt, ...)
{
    va_list args;
    va_start(args, fmt);
    if (h->log_len < sizeof(h->log) - 1) {
        int n = vsnprintf(h->log + h->log_len, sizeof(h->log) - h->log_len, fmt, args);
        if (n > 0)
            h->log_len += (size_t)n;
        if (h->log_len > sizeof(h->log) - 1)
            h->log_len = sizeof(h->log) - 1;
    }
    va_end(args);
}

static void host_log(VqaDetectorContext *ctx, VqaLogLevel level, const char *fmt, va_list args)
{
    Harness *h = harness_of(ctx);
    char line[512];
    vsnprintf(line, sizeof(line), fmt, args);
    log_append(h, "[%d] %s\n", (int)level, line);
}

static int kind_declared(const Harness *h, const char *kind)
{
    for (const char *const *k = h->cls->kinds; k && *k; k++)
        if (!strcmp(*k, kind))
            return 1;
    return 0;
}

static int find_open(const Harness *h, const char *kind)
{
    for (size_t i = 0; i < h->open_count; i++)
        if (!strcmp(h->open_kind[i], kind))
            return (int)i;
    return -1;
}

static HarnessEvent *record(Harness *h, const VqaDetection *d)
{
    if (h->event_count == HARNESS_MAX_EVENTS)
        return NULL;
    HarnessEvent *e = &h->events[h->event_count++];
    memset(e, 0, sizeof(*e));
    snprintf(e->kind, sizeof(e->kind), "%s", d->kind);
    e->state = d->state;
    e->t = d->t;
    e->value = d->value;
    e->has_value = d->has_value;
    e->severity = d->severity ? d->severity : VQA_SEVERITY_WARNING;
    if (d->details_json)
        snprintf(e->details, sizeof(e->details), "%s", d->details_json);
    return e;
}

static int reject(Harness *h, const char *why, const VqaDetection *d)
{
    h->rejected++;
    log_append(h, "harness: rejected %s at %.6f: %s\n", d->kind ? d->kind : "(null)", d->t,
               why);
    return VQA_ERR(EINVAL);
}

static int host_emit(VqaDetectorContext *ctx, const VqaDetection *d)
{
    Harness *h = harness_of(ctx);
    if (!d || !d->kind || !kind_declared(h, d->kind))
        return reject(h, "kind not declared by the class", d);
    if (!isfinite(d->t) || d->t < h->last_event_t - 1e-9)
        return reject(h, "time out of order", d);
    int open = find_open(h, d->kind);
    if (d->state == VQA_EVENT_START) {
        if (open >= 0 || h->open_count == 8)
            return reject(h, "START while one is open", d);
        snprintf(h->open_kind[h->open_count], sizeof(h->open_kind[0]), "%s", d->kind);
        h->open_t[h->open_count++] = d->t;
    } else if (d->state == VQA_EVENT_END) {
        if (open < 0)
            return reject(h, "END without START", d);
        if (d->t < h->open_t[open])
            return reject(h, "END before its START", d);
    } else if (d->state != VQA_EVENT_INSTANT) {
        return reject(h, "bad state", d);
    }
    HarnessEvent *e = record(h, d);
    if (!e)
        return reject(h, "too many events", d);
    if (d->state == VQA_EVENT_END) {
        e->duration = d->t - h->open_t[open];
        h->open_count--;
        memmove(h->open_kind[open], h->open_kind[open + 1],
                (h->open_count - (size_t)open) * sizeof(h->open_kind[0]));
        memmove(&h->open_t[open], &h->open_t[open + 1],
                (h->open_count - (size_t)open) * sizeof(h->open_t[0]));
    }
    h->last_event_t = d->t;
    return 0;
}

/* frame_ref/unref carry no context, so the balance is counted per process;
 * the tests are single-threaded and each harness compares against the count
 * it saw at open. */
static long frame_refs_outstanding;

/* The tests draw every picture into one buffer, while the real host's frames
 * are immutable: a kept GRAY8 picture is therefore a copy, which lives until
 * its unref (a plugin that keeps frames sees what it was given). */
typedef struct KeptPicture {
    VqaFrame frame;
    uint8_t *pixels;
    struct KeptPicture *next;
} KeptPicture;
static KeptPicture *kept_pictures;

static const VqaFrame *host_frame_ref(const VqaFrame *frame)
{
    if (!frame)
        return NULL;
    frame_refs_outstanding++;
    if (frame->type != VQA_MEDIA_VIDEO || frame->pix_fmt != VQA_PIX_GRAY8 || !frame->data[0])
        return frame;
    KeptPicture *k = calloc(1, sizeof(*k));
    uint8_t *pixels = k ? malloc((size_t)frame->width * frame->height) : NULL;
    if (!pixels) {
        free(k);
        return NULL;
    }
    for (int y = 0; y < frame->height; y++)
        memcpy(pixels + (size_t)y * frame->width, frame->data[0] + y * frame->linesize[0],
               (size_t)frame->width);
    k->frame = *frame;
    k->frame.data[0] = pixels;
    k->frame.linesize[0] = frame->width;
    k->pixels = pixels;
    k->next = kept_pictures;
    kept_pictures = k;
    return &k->frame;
}

static void host_frame_unref(const VqaFrame **frame)
{
    if (!frame || !*frame)
        return;
    frame_refs_outstanding--;
    for (KeptPicture **link = &kept_pictures; *link; link = &(*link)->next) {
        if (&(*link)->frame == *frame) {
            KeptPicture *k = *link;
            *link = k->next;
            free(k->pixels);
            free(k);
            break;
        }
    }
    *frame = NULL;
}

int harness_open(Harness *h, const char *plugin, const char *detector, const char *args,
                 const VqaStreamInfo *info)
{
    memset(h, 0, sizeof(*h));
    h->last_event_t = -INFINITY;
    h->refs = frame_refs_outstanding;
    char path[1024];
    snprintf(path, sizeof(path), "%s/vqa-%s.so", VQA_BUILD_PLUGIN_DIR, plugin);
    h->module = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!h->module) {
        log_append(h, "harness: %s\n", dlerror());
        return VQA_ERR(ENOENT);
    }
    VqaPluginEntryFn entry = NULL;
    void *sym = dlsym(h->module, VQA_PLUGIN_ENTRY_NAME);
    memcpy(&entry, &sym, sizeof(entry));
    h->desc = entry ? entry() : NULL;
    if (!h->desc || h->desc->struct_size != sizeof(VqaPluginDesc) || !h->desc->detectors)
        return VQA_ERROR_PLUGIN_ABI;
    for (const VqaDetectorClass *const *c = h->desc->detectors; *c; c++)
        if (!strcmp((*c)->name, detector))
            h->cls = *c;
    if (!h->cls || h->cls->struct_size != sizeof(VqaDetectorClass) || !h->cls->process)
        return VQA_ERR(ENOENT);

    h->priv = calloc(1, h->cls->priv_size ? h->cls->priv_size : 1);
    h->options_store = calloc(1, sizeof(VqaOptionStore));
    if (!h->priv || !h->options_store)
        return VQA_ERR(ENOMEM);
    char msg[256] = "";
    int ret = vqa_options_apply(h->cls->name, h->cls->options, h->priv, args,
                                h->options_store, msg, sizeof(msg));
    if (ret < 0) {
        log_append(h, "harness: options: %s\n", msg);
        return ret;
    }
    if (info)
        h->info = *info;
    h->info.struct_size = sizeof(VqaStreamInfo);
    if (!h->info.stream_id)
        h->info.stream_id = "test";
    h->host = (VqaHostApi){ sizeof(VqaHostApi), host_log, host_emit, host_frame_ref,
                            host_frame_unref };
    h->ctx = (VqaDetectorContext){ sizeof(VqaDetectorContext), &h->host, h->priv, &h->info };
    h->inited = 1;
    return h->cls->init ? h->cls->init(&h->ctx) : 0;
}

static double frame_end(const VqaFrame *f)
{
    if (f->type == VQA_MEDIA_AUDIO && f->sample_rate > 0)
        return f->t + (double)f->nb_samples / f->sample_rate;
    return f->t + f->duration;
}

int harness_process(Harness *h, const VqaFrame *frame)
{
    int ret = h->cls->process(&h->ctx, frame);
    if (frame_end(frame) > h->end_t)
        h->end_t = frame_end(frame);
    if (ret < 0 && !h->process_error)
        h->process_error = ret;
    return ret;
}

int harness_flush(Harness *h)
{
    int ret = h->cls->flush ? h->cls->flush(&h->ctx) : 0;
    while (h->open_count > 0) {
        VqaDetection d = { h->open_kind[0], VQA_EVENT_END, h->end_t, 0, 0,
                           VQA_SEVERITY_WARNING, "{\"closed_by\":\"eos\"}" };
        if (host_emit(&h->ctx, &d) == 0)
            h->events[h->event_count - 1].by_host = 1;
        else
            break;
    }
    return ret;
}

void harness_close(Harness *h)
{
    if (h->inited && h->cls->close)
        h->cls->close(&h->ctx);
    h->inited = 0;
    if (h->options_store) {
        vqa_option_store_free(h->options_store);
        free(h->options_store);
        h->options_store = NULL;
    }
    free(h->priv);
    h->priv = NULL;
    if (h->module)
        dlclose(h->module);
    h->module = NULL;
    assert_int_equal(frame_refs_outstanding, h->refs);
}

size_t harness_count(const Harness *h, const char *kind, VqaEventState state)
{
    size_t n = 0;
    for (size_t i = 0; i < h->event_count; i++)
        if ((!kind || !strcmp(h->events[i].kind, kind)) && (!state || h->events[i].state == state))
            n++;
    return n;
}

const HarnessEvent *harness_find(const Harness *h, const char *kind, VqaEventState state,
                                 size_t n)
{
    for (size_t i = 0; i < h->event_count; i++) {
        const HarnessEvent *e = &h->events[i];
        if ((!kind || !strcmp(e->kind, kind)) && (!state || e->state == state) && n-- == 0)
            return e;
    }
    return NULL;
}

void harness_dump(const Harness *h)
{
    for (size_t i = 0; i < h->event_count; i++) {
        const HarnessEvent *e = &h->events[i];
        fprintf(stderr, "  %s %s t=%.4f dur=%.4f value=%.4f %s%s\n", e->kind,
                e->state == VQA_EVENT_START ? "start" : e->state == VQA_EVENT_END ? "end" : "inst",
                e->t, e->duration, e->value, e->details, e->by_host ? " (by host)" : "");
    }
    if (h->log_len)
        fprintf(stderr, "%s", h->log);
}

void harness_assert_near(double a, double b, double eps, const char *expr, const char *file,
                         int line)
{
    if (fabs(a - b) <= eps)
        return;
    fprintf(stderr, "%s:%d: %s = %.9g, expected %.9g +- %.3g\n", file, line, expr, a, b, eps);
    fail();
}

/* ---- media ------------------------------------------------------------- */

void harness_rng_seed(HarnessRng *rng, uint64_t seed)
{
    rng->state = seed ? seed : 0x9e3779b97f4a7c15ull;
}

uint32_t harness_rng_next(HarnessRng *rng)
{
    uint64_t x = rng->state;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    rng->state = x;
    return (uint32_t)(x >> 32);
}

double harness_rng_uniform(HarnessRng *rng)
{
    return harness_rng_next(rng) / 4294967296.0;
}

double harness_rng_normal(HarnessRng *rng)
{
    double u1 = harness_rng_uniform(rng), u2 = harness_rng_uniform(rng);
    if (u1 < 1e-300)
        u1 = 1e-300;
    return sqrt(-2.0 * log(u1)) * cos(2.0 * HARNESS_PI * u2);
}

void harness_picture_init(HarnessPicture *pic, int width, int height, VqaColorRange range)
{
    memset(pic, 0, sizeof(*pic));
    pic->width = width;
    pic->height = height;
    pic->stride = width + HARNESS_PAD;
    pic->pixels = malloc((size_t)pic->stride * height);
    assert_non_null(pic->pixels);
    /* Padding past the width holds bright junk a detector must not read as picture. */
    memset(pic->pixels, 0xAB, (size_t)pic->stride * height);
    VqaFrame *f = &pic->frame;
    f->type = VQA_MEDIA_VIDEO;
    f->pix_fmt = VQA_PIX_GRAY8;
    f->width = f->source_width = width;
    f->height = f->source_height = height;
    f->range = range;
    f->data[0] = pic->pixels;
    f->linesize[0] = pic->stride;
}

void harness_picture_free(HarnessPicture *pic)
{
    free(pic->pixels);
    pic->pixels = NULL;
    pic->frame.data[0] = NULL;
}

void harness_picture_time(HarnessPicture *pic, int64_t index, double fps)
{
    pic->frame.index = index;
    pic->frame.t = (double)index / fps;
    pic->frame.duration = 1.0 / fps;
}

void harness_picture_fill(HarnessPicture *pic, uint8_t luma)
{
    for (int y = 0; y < pic->height; y++)
        memset(pic->pixels + y * pic->stride, luma, (size_t)pic->width);
}

void harness_picture_pattern(HarnessPicture *pic, int phase)
{
    for (int y = 0; y < pic->height; y++) {
        uint8_t *row = pic->pixels + y * pic->stride;
        for (int x = 0; x < pic->width; x++) {
            /* A texture that scrolls 3 px per phase step and never repeats. */
            int u = x + 3 * phase;
            int v = (u * 37 + y * 91 + (u / 8) * (y / 8) * 29) % 180;
            row[x] = (uint8_t)(40 + v);
        }
    }
}

void harness_picture_noise(HarnessPicture *pic, int amplitude, HarnessRng *rng)
{
    for (int y = 0; y < pic->height; y++) {
        uint8_t *row = pic->pixels + y * pic->stride;
        for (int x = 0; x < pic->width; x++) {
            int v = row[x] + (int)(harness_rng_next(rng) % (uint32_t)(2 * amplitude + 1)) -
                    amplitude;
            row[x] = (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
        }
    }
}

void harness_picture_box(HarnessPicture *pic, int x, int y, int w, int h, uint8_t luma)
{
    for (int yy = y < 0 ? 0 : y; yy < y + h && yy < pic->height; yy++)
        for (int xx = x < 0 ? 0 : x; xx < x + w && xx < pic->width; xx++)
            pic->pixels[yy * pic->stride + xx] = luma;
}

void harness_audio_init(HarnessAudio *a, int channels, int sample_rate, double duration_s)
{
    assert_true(channels > 0 && channels <= 8);
    memset(a, 0, sizeof(*a));
    a->channels = channels;
    a->sample_rate = sample_rate;
    a->nb_samples = (int64_t)llround(duration_s * sample_rate);
    for (int c = 0; c < channels; c++) {
        a->planes[c] = calloc((size_t)a->nb_samples + 1, sizeof(float));
        assert_non_null(a->planes[c]);
    }
}

void harness_audio_free(HarnessAudio *a)
{
    for (int c = 0; c < a->channels; c++) {
        free(a->planes[c]);
        a->planes[c] = NULL;
    }
}

static void sample_span(const HarnessAudio *a, double from_s, double to_s, int64_t *i0,
                        int64_t *i1)
{
    *i0 = llround(from_s * a->sample_rate);
    *i1 = llround(to_s * a->sample_rate);
    if (*i0 < 0)
        *i0 = 0;
    if (*i1 > a->nb_samples)
        *i1 = a->nb_samples;
}

void harness_audio_sine(HarnessAudio *a, int ch, double from_s, double to_s, double freq_hz,
                        double dbfs)
{
    int64_t i0, i1;
    sample_span(a, from_s, to_s, &i0, &i1);
    double amp = pow(10.0, dbfs / 20.0);
    for (int c = 0; c < a->channels; c++) {
        if (ch >= 0 && c != ch)
            continue;
        for (int64_t i = i0; i < i1; i++)
            a->planes[c][i] = (float)(amp * sin(2.0 * HARNESS_PI * freq_hz * i / a->sample_rate));
    }
}

void harness_audio_noise(HarnessAudio *a, int ch, double from_s, double to_s, double dbfs,
                         HarnessRng *rng)
{
    int64_t i0, i1;
    sample_span(a, from_s, to_s, &i0, &i1);
    double rms = pow(10.0, dbfs / 20.0);
    for (int c = 0; c < a->channels; c++) {
        if (ch >= 0 && c != ch)
            continue;
        for (int64_t i = i0; i < i1; i++)
            a->planes[c][i] = (float)(rms * harness_rng_normal(rng));
    }
}

void harness_audio_silence(HarnessAudio *a, int ch, double from_s, double to_s)
{
    int64_t i0, i1;
    sample_span(a, from_s, to_s, &i0, &i1);
    for (int c = 0; c < a->channels; c++) {
        if (ch >= 0 && c != ch)
            continue;
        for (int64_t i = i0; i < i1; i++)
            a->planes[c][i] = 0.0f;
    }
}

int harness_feed_audio(Harness *h, const HarnessAudio *a, int chunk, double t0)
{
    const uint8_t *planes[8];
    int64_t index = 0;
    for (int64_t pos = 0; pos < a->nb_samples; pos += chunk, index++) {
        int n = a->nb_samples - pos < chunk ? (int)(a->nb_samples - pos) : chunk;
        for (int c = 0; c < a->channels; c++)
            planes[c] = (const uint8_t *)(a->planes[c] + pos);
        VqaFrame f = {
            .type = VQA_MEDIA_AUDIO,
            .index = index,
            .t = t0 + (double)pos / a->sample_rate,
            .duration = (double)n / a->sample_rate,
            .sample_fmt = VQA_SAMPLE_FLTP,
            .sample_rate = a->sample_rate,
            .channels = a->channels,
            .nb_samples = n,
            .audio_planes = planes,
        };
        int ret = harness_process(h, &f);
        if (ret < 0)
            return ret;
    }
    return 0;
}

void harness_start(Harness *h, const char *plugin, const char *detector, const char *args,
                   const VqaStreamInfo *info)
{
    int ret = harness_open(h, plugin, detector, args, info);
    if (ret < 0)
        harness_dump(h);
    assert_int_equal(ret, 0);
}

void harness_finish(Harness *h)
{
    assert_int_equal(harness_flush(h), 0);
    if (h->rejected)
        harness_dump(h);
    assert_int_equal(h->rejected, 0);
}
