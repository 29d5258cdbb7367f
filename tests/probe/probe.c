/*
 * A fixture plugin for the bus and scheduler tests: its detectors record
 * every frame they receive (which buffer, which time, which thread, when)
 * in a log the test reads through probe_log(), can be slow, can fail, and
 * can open defects that the host must close.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <time.h>

#include "probe.h"
#include "vqa/plugin.h"

typedef struct ProbePriv {
    int64_t delay_us;
    int64_t fail_at;
    int fail_init;
    double start_at, end_at;
} ProbePriv;

/* Fixture only: the log is global so the test can read it across dlopen. */
static ProbeRecord records[PROBE_MAX_RECORDS];
static atomic_int nb_records;
static atomic_int in_process[8];

VQA_PLUGIN_EXPORT ProbeRecord *probe_log(int *count);
VQA_PLUGIN_EXPORT void probe_reset(void);

ProbeRecord *probe_log(int *count)
{
    *count = atomic_load(&nb_records);
    return records;
}

void probe_reset(void)
{
    atomic_store(&nb_records, 0);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static int probe_init(VqaDetectorContext *ctx)
{
    const ProbePriv *p = ctx->priv;
    return p->fail_init ? VQA_ERR(EIO) : 0;
}

static int probe_process(VqaDetectorContext *ctx, const VqaFrame *frame, int id)
{
    ProbePriv *p = ctx->priv;
    int concurrent = atomic_fetch_add(&in_process[id], 1);
    double enter = now_s();
    if (p->delay_us > 0) {
        struct timespec ts = { p->delay_us / 1000000, (p->delay_us % 1000000) * 1000 };
        nanosleep(&ts, NULL);
    }
    int n = atomic_fetch_add(&nb_records, 1);
    if (n < PROBE_MAX_RECORDS) {
        records[n] = (ProbeRecord){
            .detector = id,
            .type = frame->type,
            .instance = ctx->priv,
            .data = frame->type == VQA_MEDIA_VIDEO ? frame->data[0] : frame->audio_planes[0],
            .index = frame->index,
            .t = frame->t,
            .width = frame->width,
            .height = frame->height,
            .nb_samples = frame->nb_samples,
            .thread = (unsigned long)pthread_self(),
            .enter_s = enter,
            .leave_s = now_s(),
            .overlapped_self = concurrent > 0,
        };
    }
    atomic_fetch_sub(&in_process[id], 1);
    if (p->start_at >= 0 && frame->t >= p->start_at && frame->t - p->start_at < 1e-6)
        vqa_detector_emit(ctx, "x-probe.mark", VQA_EVENT_START, frame->t, 1, VQA_SEVERITY_INFO,
                          NULL);
    if (p->end_at >= 0 && frame->t >= p->end_at && frame->t - p->end_at < 1e-6)
        vqa_detector_emit(ctx, "x-probe.mark", VQA_EVENT_END, frame->t, 1, VQA_SEVERITY_INFO,
                          "{\"by\":\"probe\"}");
    if (p->fail_at >= 0 && frame->index == p->fail_at)
        return VQA_ERR(EIO);
    return 0;
}

#define PROBE_OPTIONS                                                                          \
    static const VqaOption probe_options[] = {                                                 \
        { "delay_us", "sleep this long per frame", "us", VQA_OPT_INT,                          \
          offsetof(ProbePriv, delay_us), 0, NULL, 0, 1e6, 0, { 0 } },                          \
        { "fail_at", "fail process() at this frame index", NULL, VQA_OPT_INT,                  \
          offsetof(ProbePriv, fail_at), -1, NULL, -1, 1e9, 0, { 0 } },                         \
        { "fail_init", "fail init()", NULL, VQA_OPT_BOOL, offsetof(ProbePriv, fail_init), 0,   \
          NULL, 0, 1, 0, { 0 } },                                                              \
        { "start_at", "start x-probe.mark at this media time", "s", VQA_OPT_DOUBLE,            \
          offsetof(ProbePriv, start_at), -1, NULL, -1, 1e9, 0, { 0 } },                        \
        { "end_at", "end x-probe.mark at this media time", "s", VQA_OPT_DOUBLE,                \
          offsetof(ProbePriv, end_at), -1, NULL, -1, 1e9, 0, { 0 } },                          \
        { NULL },                                                                              \
    }
PROBE_OPTIONS;

static const char *const probe_kinds[] = { "x-probe.mark", NULL };

#define PROBE_CLASS(var, id, cname, itype, pix, maxw, maxh, sfmt, type2)                       \
    PROBE_CLASS_EX(var, id, cname, itype, pix, maxw, maxh, sfmt, type2, 0, 0)

/* extra_flags: VQA_DETECTOR_* beyond TEMPORAL; rate: input.max_rate_hz */
#define PROBE_CLASS_EX(var, id, cname, itype, pix, maxw, maxh, sfmt, type2, extra_flags, rate)   \
    static int var##_process(VqaDetectorContext *ctx, const VqaFrame *frame)                   \
    {                                                                                          \
        return probe_process(ctx, frame, id);                                                  \
    }                                                                                          \
    static const VqaDetectorClass var = {                                                      \
        .struct_size = sizeof(VqaDetectorClass),                                               \
        .name = cname,                                                                         \
        .description = "records what it receives (test fixture)",                             \
        .kinds = probe_kinds,                                                                  \
        .flags = VQA_DETECTOR_TEMPORAL | (extra_flags),                                        \
        .priv_size = sizeof(ProbePriv),                                                        \
        .options = probe_options,                                                              \
        .input = { .type = itype, .pix_fmt = pix, .max_width = maxw, .max_height = maxh,       \
                   .max_rate_hz = (rate), .sample_fmt = sfmt },                                \
        .init = probe_init,                                                                    \
        .process = var##_process,                                                              \
        .input2 = { .type = type2, .sample_fmt = VQA_SAMPLE_FLTP },                            \
    }

PROBE_CLASS(probe_a, PROBE_A, "probe_a", VQA_MEDIA_VIDEO, VQA_PIX_GRAY8, 64, 64, VQA_SAMPLE_NONE,
            VQA_MEDIA_NONE);
PROBE_CLASS(probe_b, PROBE_B, "probe_b", VQA_MEDIA_VIDEO, VQA_PIX_GRAY8, 64, 64, VQA_SAMPLE_NONE,
            VQA_MEDIA_NONE);
PROBE_CLASS(probe_full, PROBE_FULL, "probe_full", VQA_MEDIA_VIDEO, VQA_PIX_YUV420P, 0, 0, VQA_SAMPLE_NONE,
            VQA_MEDIA_NONE);
PROBE_CLASS(probe_audio, PROBE_AUDIO, "probe_audio", VQA_MEDIA_AUDIO, VQA_PIX_NONE, 0, 0, VQA_SAMPLE_FLTP,
            VQA_MEDIA_NONE);
PROBE_CLASS(probe_av, PROBE_AV, "probe_av", VQA_MEDIA_VIDEO, VQA_PIX_GRAY8, 64, 64, VQA_SAMPLE_NONE,
            VQA_MEDIA_AUDIO);
/* 320x240 fits 120x120 with a factor of 3, which EVEN_PROXY lets the host round up to 4. */
PROBE_CLASS_EX(probe_even, PROBE_EVEN, "probe_even", VQA_MEDIA_VIDEO, VQA_PIX_GRAY8, 120, 120,
               VQA_SAMPLE_NONE, VQA_MEDIA_NONE, VQA_DETECTOR_EVEN_PROXY, 0);
PROBE_CLASS_EX(probe_rate, PROBE_RATE, "probe_rate", VQA_MEDIA_VIDEO, VQA_PIX_GRAY8, 64, 64,
               VQA_SAMPLE_NONE, VQA_MEDIA_NONE, 0, 5.0);

static const VqaDetectorClass *const probe_classes[] = {
    &probe_a, &probe_b, &probe_full, &probe_audio, &probe_av, &probe_even, &probe_rate, NULL,
};

static const VqaPluginDesc probe_plugin = {
    .struct_size = sizeof(VqaPluginDesc),
    .abi_minor = VQA_PLUGIN_ABI_MINOR,
    .name = "probe",
    .version = "1.0.0",
    .license = "BSD-2-Clause",
    .description = "test fixture that records what the bus delivers",
    .detectors = probe_classes,
};

VQA_PLUGIN_DEFINE(probe_plugin)
