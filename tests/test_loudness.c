/*
 * The loudness detector hosted directly on synthetic stereo, and through the
 * whole pipeline on a WAV file measured by FFmpeg's ebur128 filter too.
 *
 * Reference levels come from BS.1770 itself: a 1 kHz sine in both channels
 * of a stereo pair reads (to within 0.01 LU) its peak level in dBFS as LUFS,
 * because the K-weighting gain at 1 kHz (+0.69 dB) cancels the -0.691
 * constant and the two channels' mean squares (peak^2 / 2 each) sum to
 * peak^2. So -23 dBFS peak is -23 LUFS.
 *
 * Edges: a short-term reading covers the 3 s before it and is labelled with
 * the window's centre. For a step of D dB from the target, the reading
 * crosses the range edge (tolerance T) once a fraction
 * f = (10^(T/10) - 1) / (10^(D/10) - 1) of the window holds the new level,
 * so the reported START is 1.5 - 3f s before the step and the END as much
 * after its end; readings come every 100 ms, hence a tolerance of one hop.
 *
 * Skipped (exit 77) when the plugin was not built (no libebur128).
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "harness.h"
#include "media.h"
#include "vqa/vqa.h"

#define RATE 48000
#define KIND "audio.loudness"
#define TP_KIND "x-loudness.true_peak"
#define SUMMARY_KIND "x-loudness.summary"
#define HOP_S 0.1              /* the detector reads the meter every 100 ms */
#define WINDOW_S 3.0           /* short-term window */
#define TARGET_LUFS -23.0
#define TOLERANCE_LU 5.0
#define TONE_HZ 1000.0
#define HISTOGRAM_LU (0.05 + 1e-6) /* half a bin of libebur128's histogram mode */
#define PLUGIN_FILE VQA_BUILD_PLUGIN_DIR "/vqa-loudness.so"

/* Feed FLT (interleaved) buffers of `chunk` frames, as the converter delivers them. */
static void feed_interleaved(Harness *h, const HarnessAudio *a, int chunk)
{
    float *buf = malloc((size_t)chunk * (size_t)a->channels * sizeof(*buf));
    assert_non_null(buf);
    int64_t index = 0;
    for (int64_t pos = 0; pos < a->nb_samples; pos += chunk, index++) {
        int n = a->nb_samples - pos < chunk ? (int)(a->nb_samples - pos) : chunk;
        for (int i = 0; i < n; i++)
            for (int c = 0; c < a->channels; c++)
                buf[(size_t)i * (size_t)a->channels + (size_t)c] = a->planes[c][pos + i];
        const uint8_t *planes[1] = { (const uint8_t *)buf };
        VqaFrame f = {
            .type = VQA_MEDIA_AUDIO, .index = index,
            .t = (double)pos / a->sample_rate, .duration = (double)n / a->sample_rate,
            .sample_fmt = VQA_SAMPLE_FLT, .sample_rate = a->sample_rate,
            .channels = a->channels, .nb_samples = n, .audio_planes = planes,
        };
        assert_int_equal(harness_process(h, &f), 0);
    }
    free(buf);
}

/* planar: feed FLTP through the harness instead of FLT. */
static void run(Harness *h, const HarnessAudio *a, int chunk, const char *args, int planar)
{
    VqaStreamInfo info = { .type = VQA_MEDIA_AUDIO, .sample_rate = a->sample_rate,
                           .channels = a->channels };
    harness_start(h, "loudness", "loudness", args, &info);
    if (planar)
        assert_int_equal(harness_feed_audio(h, a, chunk, 0.0), 0);
    else
        feed_interleaved(h, a, chunk);
    harness_finish(h);
}

/* A stereo 1 kHz programme at `dbfs` peak (= LUFS), total_s long. */
static void programme(HarnessAudio *a, double total_s, double dbfs)
{
    harness_audio_init(a, 2, RATE, total_s);
    harness_audio_sine(a, -1, 0.0, total_s, TONE_HZ, dbfs);
}

/* How far the labelled edge lies inside a step of step_db (see the top). */
static double edge_offset_s(double step_db)
{
    double f = (pow(10.0, TOLERANCE_LU / 10.0) - 1.0) / (pow(10.0, fabs(step_db) / 10.0) - 1.0);
    return WINDOW_S / 2 - WINDOW_S * f;
}

/*
 * The integrated loudness BS.1770 defines for a programme given as 100 ms
 * segments of known loudness (e[i] = 10^(L/10), 0 for silence): 400 ms
 * blocks every 100 ms, the absolute gate at -70 LUFS, then the relative
 * gate 10 LU below the mean of what passed. The oracle for our synthetic
 * signals (the FFmpeg cross-check below is the independent one).
 */
static double bs1770_integrated(const double *e, int n)
{
    double sum = 0, gated_sum = 0;
    int count = 0, gated = 0;
    for (int pass = 0; pass < 2; pass++) {
        double gate = pass == 0 ? pow(10.0, -70.0 / 10.0) : sum / count / 10.0;
        for (int k = 3; k < n; k++) {
            double b = (e[k - 3] + e[k - 2] + e[k - 1] + e[k]) / 4.0;
            if (pass == 0 && b >= gate) {
                sum += b;
                count++;
            } else if (pass == 1 && b >= gate && b >= pow(10.0, -7.0)) {
                gated_sum += b;
                gated++;
            }
        }
        if (count == 0)
            return -HUGE_VAL;
    }
    return 10.0 * log10(gated_sum / gated);
}

/* Segment energies of a programme at `lufs` over [0, total_s), and a change over a span. */
static int segments_init(double *e, double total_s, double lufs)
{
    int n = (int)llround(total_s / HOP_S);
    for (int i = 0; i < n; i++)
        e[i] = pow(10.0, lufs / 10.0);
    return n;
}

static void segments_set(double *e, double from_s, double to_s, double energy)
{
    for (long i = lround(from_s / HOP_S); i < lround(to_s / HOP_S); i++)
        e[i] = energy;
}

/* A number in a details object, e.g. detail(e->details, "integrated"). */
static double detail(const char *details, const char *key)
{
    char pattern[64];
    snprintf(pattern, sizeof(pattern), "\"%s\":", key);
    const char *at = strstr(details, pattern);
    if (!at)
        fail_msg("no %s in %s", key, details);
    return strtod(at + strlen(pattern), NULL);
}

static const HarnessEvent *summary_of(const Harness *h)
{
    assert_int_equal(harness_count(h, SUMMARY_KIND, VQA_EVENT_INSTANT), 1);
    const HarnessEvent *s = harness_find(h, SUMMARY_KIND, VQA_EVENT_INSTANT, 0);
    assert_near(s->t, h->end_t, 1e-9);
    assert_int_equal(s->severity, VQA_SEVERITY_INFO);
    return s;
}

static void assert_one_interval(const Harness *h, double start_s, double end_s, double tol_s,
                                const char *direction)
{
    if (harness_count(h, KIND, VQA_EVENT_START) != 1)
        harness_dump(h);
    assert_int_equal(harness_count(h, KIND, VQA_EVENT_START), 1);
    assert_int_equal(harness_count(h, KIND, VQA_EVENT_END), 1);
    const HarnessEvent *s = harness_find(h, KIND, VQA_EVENT_START, 0);
    const HarnessEvent *e = harness_find(h, KIND, VQA_EVENT_END, 0);
    assert_near(s->t, start_s, tol_s);
    assert_near(e->t, end_s, tol_s);
    char want[32];
    snprintf(want, sizeof(want), "\"direction\":\"%s\"", direction);
    assert_non_null(strstr(s->details, want));
    assert_non_null(strstr(e->details, want));
}

static void test_steady_programme(void **state)
{
    (void)state;
    HarnessAudio a;
    programme(&a, 20.0, TARGET_LUFS);
    Harness h;
    run(&h, &a, 1024, NULL, 0);
    assert_int_equal(harness_count(&h, KIND, 0), 0);
    assert_int_equal(harness_count(&h, TP_KIND, 0), 0);
    const HarnessEvent *s = summary_of(&h);
    /* The histogram mode bins blocks by 0.1 LU: the figure is a bin's centre. */
    assert_near(s->value, TARGET_LUFS, HISTOGRAM_LU);
    assert_near(detail(s->details, "integrated"), TARGET_LUFS, HISTOGRAM_LU);
    assert_near(detail(s->details, "max_short_term"), TARGET_LUFS, 0.05);
    assert_near(detail(s->details, "max_momentary"), TARGET_LUFS, 0.05);
    assert_near(detail(s->details, "lra"), 0.0, HISTOGRAM_LU);
    /* A sampled 1 kHz sine's true peak is its peak. */
    assert_near(detail(s->details, "true_peak_dbtp"), TARGET_LUFS, 0.05);
    harness_close(&h);
    harness_audio_free(&a);
}

static void test_loud_passage(void **state)
{
    (void)state;
    HarnessAudio a;
    programme(&a, 34.0, TARGET_LUFS);
    harness_audio_sine(&a, -1, 8.0, 23.0, TONE_HZ, TARGET_LUFS + 10.0);
    Harness h;
    run(&h, &a, 1024, NULL, 0);
    double edge_s = edge_offset_s(10.0); /* 0.78 s */
    assert_one_interval(&h, 8.0 - edge_s, 23.0 + edge_s, HOP_S + 1e-6, "high");
    const HarnessEvent *s = harness_find(&h, KIND, VQA_EVENT_START, 0);
    const HarnessEvent *e = harness_find(&h, KIND, VQA_EVENT_END, 0);
    /* START: the first reading past the edge; END: the loudest reading (the passage). */
    assert_true(s->value > TARGET_LUFS + TOLERANCE_LU && s->value < TARGET_LUFS + 6.0);
    assert_near(e->value, TARGET_LUFS + 10.0, 0.05);
    assert_true(detail(e->details, "mean_short_term") > TARGET_LUFS + 8.0);
    assert_near(detail(e->details, "true_peak_dbtp"), TARGET_LUFS + 10.0, 0.05);
    assert_null(strstr(e->details, "closed_by"));
    assert_false(e->by_host);
    assert_int_equal(harness_count(&h, TP_KIND, 0), 0);
    double seg[340];
    int n = segments_init(seg, 34.0, TARGET_LUFS);
    segments_set(seg, 8.0, 23.0, pow(10.0, (TARGET_LUFS + 10.0) / 10.0));
    assert_near(summary_of(&h)->value, bs1770_integrated(seg, n), HISTOGRAM_LU);
    harness_close(&h);
    harness_audio_free(&a);
}

static void test_short_burst_not_reported(void **state)
{
    (void)state;
    HarnessAudio a;
    programme(&a, 24.0, TARGET_LUFS);
    harness_audio_sine(&a, -1, 8.0, 16.0, TONE_HZ, TARGET_LUFS + 10.0);
    Harness h;
    run(&h, &a, 1024, NULL, 0);
    assert_int_equal(harness_count(&h, KIND, 0), 0);
    harness_close(&h);
    /* The same burst is found once the minimum is below its length. */
    double edge_s = edge_offset_s(10.0);
    run(&h, &a, 1024, "min_duration=8", 0);
    assert_one_interval(&h, 8.0 - edge_s, 16.0 + edge_s, HOP_S + 1e-6, "high");
    harness_close(&h);
    harness_audio_free(&a);
}

static void test_quiet_passage_is_low(void **state)
{
    (void)state;
    HarnessAudio a;
    programme(&a, 34.0, TARGET_LUFS);
    harness_audio_sine(&a, -1, 8.0, 23.0, TONE_HZ, TARGET_LUFS - 10.0);
    Harness h;
    run(&h, &a, 1024, NULL, 0);
    /* Down-steps: f uses the energy that leaves the window, so the edge is 3 s
     * minus the up-step's, i.e. the START comes after the step. */
    double f_in = (1.0 - pow(10.0, -TOLERANCE_LU / 10.0)) / (1.0 - pow(10.0, -10.0 / 10.0));
    double edge_s = WINDOW_S / 2 - WINDOW_S * f_in;
    assert_one_interval(&h, 8.0 - edge_s, 23.0 + edge_s, HOP_S + 1e-6, "low");
    assert_near(harness_find(&h, KIND, VQA_EVENT_END, 0)->value, TARGET_LUFS - 10.0, 0.05);
    harness_close(&h);
    harness_audio_free(&a);
}

static void test_silence_is_not_low(void **state)
{
    (void)state;
    HarnessAudio a;
    programme(&a, 38.0, TARGET_LUFS);
    harness_audio_silence(&a, -1, 6.0, 19.0);
    HarnessRng rng;
    harness_rng_seed(&rng, 5);
    /* -80 dBFS RMS noise: about -80 LUFS, below the absolute gate. */
    harness_audio_silence(&a, -1, 22.0, 35.0);
    harness_audio_noise(&a, -1, 22.0, 35.0, -80.0, &rng);
    Harness h;
    run(&h, &a, 1024, NULL, 0);
    assert_int_equal(harness_count(&h, KIND, 0), 0);
    /* Gated out of the programme figure too, but for the 400 ms blocks that
     * straddle the four edges: partly silent, yet above the relative gate
     * (-0.22 LU here; counting the silence would give -5 LU). */
    double seg[380];
    int n = segments_init(seg, 38.0, TARGET_LUFS);
    segments_set(seg, 6.0, 19.0, 0.0);
    segments_set(seg, 22.0, 35.0, 0.0);
    double expect = bs1770_integrated(seg, n);
    assert_true(expect < TARGET_LUFS - 0.2);
    assert_near(summary_of(&h)->value, expect, HISTOGRAM_LU);
    harness_close(&h);
    harness_audio_free(&a);
}

static void test_true_peak_over(void **state)
{
    (void)state;
    HarnessAudio a;
    programme(&a, 12.0, TARGET_LUFS);
    harness_audio_sine(&a, -1, 5.0, 7.0, TONE_HZ, -0.5);
    Harness h;
    run(&h, &a, 1024, NULL, 0);
    assert_int_equal(harness_count(&h, TP_KIND, 0), 1);
    const HarnessEvent *e = harness_find(&h, TP_KIND, VQA_EVENT_INSTANT, 0);
    assert_near(e->t, 5.0, HOP_S + 1e-6);
    assert_near(e->value, -0.5, 0.05);
    assert_int_equal(harness_count(&h, KIND, 0), 0); /* 2 s is no loudness defect */
    harness_close(&h);
    /* -2 dBTP is under the default limit of -1, but over a limit of -3. */
    harness_audio_sine(&a, -1, 5.0, 7.0, TONE_HZ, -2.0);
    run(&h, &a, 1024, NULL, 0);
    assert_int_equal(harness_count(&h, TP_KIND, 0), 0);
    harness_close(&h);
    run(&h, &a, 1024, "true_peak=-3", 0);
    assert_int_equal(harness_count(&h, TP_KIND, 0), 1);
    harness_close(&h);
    harness_audio_free(&a);
}

/* Overs inside a loudness run: rate-limited, and held so the back-dated START comes first. */
static void test_true_peak_rate_limited_in_order(void **state)
{
    (void)state;
    HarnessAudio a;
    programme(&a, 28.0, TARGET_LUFS);
    harness_audio_sine(&a, -1, 3.0, 24.0, TONE_HZ, -0.5);
    Harness h;
    run(&h, &a, 1024, NULL, 0); /* run() asserts nothing was refused as out of order */
    assert_int_equal(harness_count(&h, TP_KIND, 0), 3);
    for (size_t i = 0; i < 3; i++)
        assert_near(harness_find(&h, TP_KIND, VQA_EVENT_INSTANT, i)->t, 3.0 + 10.0 * (double)i,
                    HOP_S + 1e-6);
    double edge_s = edge_offset_s(22.5);
    assert_one_interval(&h, 3.0 - edge_s, 24.0 + edge_s, HOP_S + 1e-6, "high");
    const HarnessEvent *s = harness_find(&h, KIND, VQA_EVENT_START, 0);
    assert_near(detail(s->details, "true_peak_dbtp"), -0.5, 0.05);
    harness_close(&h);
    harness_audio_free(&a);
}

static void test_ends_loud(void **state)
{
    (void)state;
    HarnessAudio a;
    programme(&a, 15.0, TARGET_LUFS + 10.0);
    Harness h;
    run(&h, &a, 1024, NULL, 0);
    /* Out of range from the first reading on: back-dated to the first sample. */
    assert_one_interval(&h, 0.0, 15.0, 1e-9, "high");
    const HarnessEvent *e = harness_find(&h, KIND, VQA_EVENT_END, 0);
    assert_false(e->by_host);
    assert_non_null(strstr(e->details, "\"closed_by\":\"eos\""));
    harness_close(&h);
    harness_audio_free(&a);
}

static void test_buffer_sizes_and_layouts_agree(void **state)
{
    (void)state;
    HarnessAudio a;
    programme(&a, 16.0, TARGET_LUFS);
    harness_audio_sine(&a, -1, 3.0, 14.0, TONE_HZ, -0.5);
    Harness ref;
    run(&ref, &a, 1024, NULL, 0);
    assert_int_equal(harness_count(&ref, KIND, VQA_EVENT_START), 1);
    static const struct { int chunk, planar; } runs[] = {
        { 1024, 1 }, { 7, 0 }, { 4801, 1 }, { 100000, 0 },
    };
    for (size_t i = 0; i < sizeof(runs) / sizeof(runs[0]); i++) {
        Harness h;
        run(&h, &a, runs[i].chunk, NULL, runs[i].planar);
        assert_int_equal(h.event_count, ref.event_count);
        for (size_t k = 0; k < h.event_count; k++) {
            assert_string_equal(h.events[k].kind, ref.events[k].kind);
            assert_int_equal(h.events[k].state, ref.events[k].state);
            assert_near(h.events[k].t, ref.events[k].t, 1e-6);
            assert_near(h.events[k].value, ref.events[k].value, 1e-6);
        }
        harness_close(&h);
    }
    harness_close(&ref);
    harness_audio_free(&a);
}

/* The meter is read from its 100 ms blocks when a hop is exactly 100 ms (a rate that is a
 * multiple of 10 Hz), straight from its 400 ms and 3 s windows otherwise: both readings
 * give the same events. */
static void test_rates_agree(void **state)
{
    (void)state;
    static const int rates[] = { 48000, 44100, 11025 };
    Harness ref;
    for (size_t r = 0; r < sizeof(rates) / sizeof(rates[0]); r++) {
        HarnessAudio a;
        harness_audio_init(&a, 2, rates[r], 30.0);
        harness_audio_sine(&a, -1, 0.0, 30.0, TONE_HZ, TARGET_LUFS);
        harness_audio_sine(&a, -1, 8.0, 21.0, TONE_HZ, TARGET_LUFS + 10.0);
        Harness h;
        run(r == 0 ? &ref : &h, &a, 1024, NULL, r % 2);
        harness_audio_free(&a);
        if (r == 0) {
            assert_one_interval(&ref, 8.0 - edge_offset_s(10.0), 21.0 + edge_offset_s(10.0),
                                HOP_S + 1e-6, "high");
            continue;
        }
        assert_int_equal(h.event_count, ref.event_count);
        for (size_t k = 0; k < h.event_count; k++) {
            assert_string_equal(h.events[k].kind, ref.events[k].kind);
            assert_int_equal(h.events[k].state, ref.events[k].state);
            /* A reading every 100 ms of whole samples: 1102 or 1103 at 11025 Hz. */
            assert_near(h.events[k].t, ref.events[k].t, HOP_S + 1e-3);
            /* K-weighting at 1 kHz depends a little on the rate (bilinear transform). */
            assert_near(h.events[k].value, ref.events[k].value, 0.1);
        }
        harness_close(&h);
    }
    harness_close(&ref);
}

static void test_descriptor(void **state)
{
    (void)state;
    Harness h;
    assert_int_equal(harness_open(&h, "loudness", "loudness", NULL, NULL), 0);
    assert_string_equal(h.desc->name, "loudness");
    assert_int_equal(h.cls->input.type, VQA_MEDIA_AUDIO);
    assert_int_equal(h.cls->input.sample_fmt, VQA_SAMPLE_FLTP);
    assert_int_equal(h.cls->input.sample_rate, 0);
    assert_int_equal(h.cls->input.channels, 0);
    int n = 0;
    for (const VqaOption *o = h.cls->options; o->name; o++, n++) {
        assert_non_null(o->help);
        assert_non_null(o->unit);
        assert_true(o->min <= o->default_num && o->default_num <= o->max);
    }
    assert_int_equal(n, 4);
    harness_close(&h);
    /* The flush of an instance that saw nothing reports nothing. */
    assert_int_equal(harness_open(&h, "loudness", "loudness", "target=-24:tolerance=2", NULL),
                     0);
    assert_int_equal(harness_flush(&h), 0);
    assert_int_equal(h.event_count, 0);
    harness_close(&h);
    assert_true(harness_open(&h, "loudness", "loudness", "tolerance=0.1", NULL) < 0);
    harness_close(&h);
}

/* ---- against FFmpeg ---------------------------------------------------- */

typedef struct Summary {
    VqaEvent event;          /* details pointer not kept */
    double true_peak_dbtp;
} Summary;

static void pipeline_event(void *cookie, const VqaEvent *ev)
{
    Summary *summary = cookie;
    if (!strcmp(ev->kind, SUMMARY_KIND)) {
        summary->event = *ev;
        summary->true_peak_dbtp = detail(ev->details_json, "true_peak_dbtp");
    }
}

/* FFmpeg's summary figure after "Summary:", e.g. key "I:" or "LRA:". */
static double ffmpeg_summary(const char *log, const char *key)
{
    const char *at = strstr(log, "Summary:");
    assert_non_null(at);
    at = strstr(at, key);
    assert_non_null(at);
    return strtod(at + strlen(key), NULL);
}

static void test_agrees_with_ffmpeg(void **state)
{
    (void)state;
    char *wav = media_path("loudness.wav");
    char *log = media_path("ebur128.log");
    char cmd[1024];
    /* 20 s of two independent pink noises, with a quiet stretch for the relative gate. */
    snprintf(cmd, sizeof(cmd),
             "-f lavfi -i anoisesrc=c=pink:r=48000:a=0.25:seed=11:d=20 "
             "-f lavfi -i anoisesrc=c=pink:r=48000:a=0.25:seed=12:d=20 -filter_complex "
             "\"[0][1]amerge=inputs=2,volume='if(lt(t,8),1,if(lt(t,13),0.05,0.5))':eval=frame\" "
             "-c:a pcm_s16le %s", wav);
    assert_int_equal(media_ffmpeg(cmd), 0);
    snprintf(cmd, sizeof(cmd),
             "ffmpeg -nostdin -hide_banner -nostats -i %s -af ebur128=framelog=verbose:peak=true "
             "-f null - 2> %s", wav, log);
    int status = system(cmd);
    assert_true(status != -1 && WIFEXITED(status) && WEXITSTATUS(status) == 0);
    char *text = media_read_file(log, NULL);
    assert_non_null(text);
    double ff_i = ffmpeg_summary(text, "I:");
    double ff_lra = ffmpeg_summary(text, "LRA:");
    double ff_tp = ffmpeg_summary(text, "Peak:");
    free(text);

    Summary summary = { 0 };
    VqaSettings s;
    vqa_default_settings(&s);
    s.n_threads = 1;
    s.on_event = pipeline_event;
    s.event_cookie = &summary;
    VqaContext *ctx = NULL;
    assert_int_equal(vqa_open(&ctx, &s), 0);
    VqaStreamSettings ss;
    vqa_stream_default_settings(&ss);
    ss.url = wav;
    ss.detectors = "loudness";
    VqaStream *st = NULL;
    assert_int_equal(vqa_stream_add(ctx, &st, &ss), 0);
    assert_int_equal(vqa_stream_wait(st, -1), 0);
    vqa_stream_remove(&st);
    vqa_close(&ctx);
    assert_non_null(summary.event.kind);
    assert_true(summary.event.has_value);
    fprintf(stderr, "loudness: ours I %.2f LUFS, FFmpeg I %.1f LUFS (LRA %.1f LU); "
            "true peak ours %.2f dBTP, FFmpeg %.1f dBFS\n",
            summary.event.value, ff_i, ff_lra, summary.true_peak_dbtp, ff_tp);
    /* FFmpeg prints one decimal: allow its rounding on top of 0.1 LU. */
    assert_near(summary.event.value, ff_i, 0.1 + 0.05);
    /* Its true peak oversamples 4x with swresample's filter, ours with a 12-tap one. */
    assert_near(summary.true_peak_dbtp, ff_tp, 0.1 + 0.05);
    free(wav);
    free(log);
}

int main(void)
{
    if (access(PLUGIN_FILE, F_OK) != 0) {
        fprintf(stderr, "test_loudness: %s not built (no libebur128): skipped\n", PLUGIN_FILE);
        return 77;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_steady_programme),
        cmocka_unit_test(test_loud_passage),
        cmocka_unit_test(test_short_burst_not_reported),
        cmocka_unit_test(test_quiet_passage_is_low),
        cmocka_unit_test(test_silence_is_not_low),
        cmocka_unit_test(test_true_peak_over),
        cmocka_unit_test(test_true_peak_rate_limited_in_order),
        cmocka_unit_test(test_ends_loud),
        cmocka_unit_test(test_buffer_sizes_and_layouts_agree),
        cmocka_unit_test(test_rates_agree),
        cmocka_unit_test(test_descriptor),
        cmocka_unit_test(test_agrees_with_ffmpeg),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
