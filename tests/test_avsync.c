/*
 * avsync: the flash-and-beep pattern (a white frame and a 40 ms 1 kHz beep
 * once a second) fed as interleaved pictures and audio buffers to one
 * instance, with the audio shifted by known amounts; the audio clock tier
 * with timestamps that drift from the samples; and the same pattern encoded
 * by the ffmpeg CLI (H.264 + AAC) through the whole pipeline.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "harness.h"
#include "media.h"
#include "vqa/vqa.h"

#define KIND "av.sync"
#define OFFSET_KIND "x-avsync.offset"
#define FPS 25
#define FRAME_S (1.0 / FPS)
#define RATE 16000
#define CHUNK 640              /* 40 ms of audio per buffer */
#define SIZE 64
/* Flashes at k + FLASH_PHASE_S: frame 5 of each second, never the first frame. */
#define FLASH_PHASE_S 0.2
#define FLASH_FRAME 5
#define BEEP_S 0.04

/* One synthetic programme. Offsets are audio minus picture, positive = audio late. */
typedef struct Clip {
    double duration_s;
    double offset_s;           /* for every flash ... */
    double alt_offset_s;       /* ... except those in [alt_from_s, alt_to_s) */
    double alt_from_s, alt_to_s;
    int no_beeps, no_flashes;
    double noise_dbfs;         /* a noise bed under the beeps; 0 = none */
    double audio_lead_s;       /* audio buffers handed over this much ahead of the pictures */
    double clock_rate;         /* audio timestamps advance this much per second of samples */
    uint64_t random_seed;      /* nonzero: flashes and beeps at unrelated random times */
    int dense;                 /* with random_seed: 2 visual events and 3 onsets a second */
    int sparse;                /* with random_seed: a visual event every 2.5 s on average */
    const double *flash_times; /* flashes (on frame times) instead of one a second */
    size_t n_flash_times;
    double ramp_s;             /* beeps fade in over this long (a slow attack) */
    int hiss;                  /* hiss bursts over a loud hum instead of beeps */
    int video_every;           /* deliver only every n-th picture, as cost=light does */
    const char *args;          /* detector options */
} Clip;

static double flash_offset(const Clip *c, double flash_t)
{
    return flash_t >= c->alt_from_s && flash_t < c->alt_to_s ? c->alt_offset_s : c->offset_s;
}

/* The sound that goes with a flash, added to what is there: a 40 ms 1 kHz
 * beep at -6 dBFS (faded in over ramp_s), or an 80 ms burst of white noise
 * at -34 dBFS RMS, a consonant's hiss. */
static void add_sound(const Clip *c, HarnessAudio *a, double at_s, HarnessRng *rng)
{
    int64_t i0 = (int64_t)llround(at_s * RATE);
    int64_t i1 = i0 + (int64_t)llround((c->hiss ? 0.08 : BEEP_S + c->ramp_s) * RATE);
    const double amp = pow(10.0, (c->hiss ? -34 : -6) / 20.0);
    for (int64_t i = i0 < 0 ? 0 : i0; i < i1 && i < a->nb_samples; i++) {
        double x = c->hiss ? harness_rng_normal(rng)
                           : sin(2.0 * M_PI * 1000 * (double)i / RATE) *
                                 (c->ramp_s > 0 ? fmin(1.0, (double)(i - i0) / (c->ramp_s * RATE)) : 1);
        a->planes[0][i] += (float)(amp * x);
    }
}

static void make_audio(const Clip *c, HarnessAudio *a)
{
    harness_audio_init(a, 1, RATE, c->duration_s);
    if (c->noise_dbfs < 0) {
        HarnessRng rng;
        harness_rng_seed(&rng, 7);
        harness_audio_noise(a, 0, 0, c->duration_s, c->noise_dbfs, &rng);
    }
    if (c->hiss || c->ramp_s > 0) {
        /* a 150 Hz hum at -20 dBFS under the hiss: 14 dB louder than it, but
         * not in its first difference */
        if (c->hiss)
            harness_audio_sine(a, 0, 0, c->duration_s, 150, -20);
        HarnessRng rng;
        harness_rng_seed(&rng, 11);
        for (double t = FLASH_PHASE_S; t < c->duration_s; t += 1.0)
            add_sound(c, a, t + flash_offset(c, t), &rng);
        return;
    }
    if (c->no_beeps)
        return;
    if (c->random_seed) {
        HarnessRng rng;
        harness_rng_seed(&rng, c->random_seed * 31 + 1);
        double min_gap_s = c->dense ? 0.1 : 0.2, spread_s = c->dense ? 0.4 : 1.6;
        for (double t = 0.5; t < c->duration_s - 0.1;
             t += min_gap_s + spread_s * harness_rng_uniform(&rng))
            harness_audio_sine(a, 0, t, t + BEEP_S, 1000, -6);
        return;
    }
    for (size_t i = 0; i < c->n_flash_times; i++) {
        double at = c->flash_times[i] + flash_offset(c, c->flash_times[i]);
        if (at >= 0)
            harness_audio_sine(a, 0, at, at + BEEP_S, 1000, -6);
    }
    for (double t = FLASH_PHASE_S; t < c->duration_s && !c->flash_times; t += 1.0) {
        double at = t + flash_offset(c, t);
        if (at >= 0)
            harness_audio_sine(a, 0, at, at + BEEP_S, 1000, -6);
    }
}

static void feed_audio_chunk(Harness *h, const Clip *c, const HarnessAudio *a, int64_t pos)
{
    int n = a->nb_samples - pos < CHUNK ? (int)(a->nb_samples - pos) : CHUNK;
    const uint8_t *planes[1] = { (const uint8_t *)(a->planes[0] + pos) };
    double rate = c->clock_rate > 0 ? c->clock_rate : 1.0;
    VqaFrame f = {
        .type = VQA_MEDIA_AUDIO,
        .index = pos / CHUNK,
        .t = rate * (double)pos / RATE,
        .duration = (double)n / RATE,
        .sample_fmt = VQA_SAMPLE_FLTP,
        .sample_rate = RATE,
        .channels = 1,
        .nb_samples = n,
        .audio_planes = planes,
    };
    assert_int_equal(harness_process(h, &f), 0);
}

/* Run the clip through a fresh instance, interleaved as a demuxer would. */
static void run_clip(Harness *h, const Clip *c)
{
    harness_start(h, "avsync", "avsync", c->args, NULL);
    HarnessAudio a;
    make_audio(c, &a);
    HarnessPicture pic;
    harness_picture_init(&pic, SIZE, SIZE, VQA_RANGE_LIMITED);
    int64_t frames = (int64_t)llround(c->duration_s * FPS), frame = 0, pos = 0;
    HarnessRng rng;
    harness_rng_seed(&rng, c->random_seed);
    while (frame < frames || pos < a.nb_samples) {
        double video_t = (double)frame / FPS;
        double audio_t = (double)pos / RATE - c->audio_lead_s;
        if (frame < frames && (pos >= a.nb_samples || video_t <= audio_t)) {
            harness_picture_time(&pic, frame, FPS);
            int flash = !c->no_flashes && frame % FPS == FLASH_FRAME;
            if (c->flash_times) {
                flash = 0;
                for (size_t i = 0; i < c->n_flash_times; i++)
                    flash |= llround(c->flash_times[i] * FPS) == frame;
            }
            if (c->random_seed) { /* 0.4, 1 or 2 a second, never two frames in a row */
                double rate = c->sparse ? 0.8 : c->dense ? 4.0 : 2.0;
                flash = frame % 2 == 1 && harness_rng_uniform(&rng) < rate / FPS;
            }
            harness_picture_fill(&pic, flash ? 235 : 16);
            if (c->video_every <= 1 || frame % c->video_every == FLASH_FRAME % c->video_every)
                assert_int_equal(harness_process(h, &pic.frame), 0);
            frame++;
        } else {
            feed_audio_chunk(h, c, &a, pos);
            pos += CHUNK;
        }
    }
    harness_picture_free(&pic);
    harness_audio_free(&a);
    harness_finish(h);
}

static const HarnessEvent *only_start(const Harness *h)
{
    if (harness_count(h, KIND, VQA_EVENT_START) != 1)
        harness_dump(h);
    assert_int_equal(harness_count(h, KIND, VQA_EVENT_START), 1);
    assert_int_equal(harness_count(h, KIND, VQA_EVENT_END), 1);
    return harness_find(h, KIND, VQA_EVENT_START, 0);
}

static void assert_no_event(const Harness *h)
{
    if (harness_count(h, KIND, 0) != 0)
        harness_dump(h);
    assert_int_equal(harness_count(h, KIND, 0), 0);
}

/* Audio 200 ms late all along: found, measured within a frame, back-dated to the
 * first flash, closed at the end. Audio handed over ahead of the pictures, as
 * a demuxer may, changes nothing. */
static void test_audio_late(void **state)
{
    (void)state;
    const double leads[] = { 0, 0.4, -0.3 };
    for (size_t i = 0; i < sizeof(leads) / sizeof(leads[0]); i++) {
        Harness h;
        Clip c = { .duration_s = 20, .offset_s = 0.2, .audio_lead_s = leads[i] };
        run_clip(&h, &c);
        const HarnessEvent *s = only_start(&h);
        assert_near(s->value, 200, 1000 * FRAME_S);
        assert_near(s->value, 200, 1); /* beeps start exactly on a sample here */
        assert_near(s->t, FLASH_PHASE_S, FRAME_S);
        assert_non_null(strstr(s->details, "\"tier\":\"content\""));
        const HarnessEvent *e = harness_find(&h, KIND, VQA_EVENT_END, 0);
        assert_false(e->by_host);
        assert_non_null(strstr(e->details, "\"closed_by\":\"eos\""));
        assert_near(e->t, 20, FRAME_S);
        harness_close(&h);
    }
}

static void test_audio_early(void **state)
{
    (void)state;
    Harness h;
    Clip c = { .duration_s = 20, .offset_s = -0.1 };
    run_clip(&h, &c);
    const HarnessEvent *s = only_start(&h);
    assert_near(s->value, -100, 1000 * FRAME_S);
    assert_near(s->t, FLASH_PHASE_S, FRAME_S);
    harness_close(&h);
}

/* Over a noise bed at -30 dBFS the beeps (-6 dBFS peak) still stand out. */
static void test_audio_late_over_noise(void **state)
{
    (void)state;
    Harness h;
    Clip c = { .duration_s = 20, .offset_s = 0.3, .noise_dbfs = -30 };
    run_clip(&h, &c);
    const HarnessEvent *s = only_start(&h);
    assert_near(s->value, 300, 1000 * FRAME_S);
    harness_close(&h);
}

/* In sync and 80 ms late (inside BT.1359's 125 ms): nothing, while the
 * offset reports still measure the true offset. */
static void test_within_tolerance(void **state)
{
    (void)state;
    const double offsets[] = { 0, 0.08, -0.04 };
    for (size_t i = 0; i < sizeof(offsets) / sizeof(offsets[0]); i++) {
        Harness h;
        Clip c = { .duration_s = 20, .offset_s = offsets[i], .args = "report_interval=1" };
        run_clip(&h, &c);
        assert_no_event(&h);
        size_t n = harness_count(&h, OFFSET_KIND, VQA_EVENT_INSTANT);
        assert_true(n >= 10);
        for (size_t k = 0; k < n; k++)
            assert_near(harness_find(&h, OFFSET_KIND, 0, k)->value, 1000 * offsets[i], 1);
        harness_close(&h);
    }
}

/* Late for the first 3 s (or 3 s in the middle) only: shorter than min_duration. */
static void test_short_offset_not_reported(void **state)
{
    (void)state;
    const double from[] = { 0, 8 };
    for (size_t i = 0; i < 2; i++) {
        Harness h;
        Clip c = { .duration_s = 20, .alt_offset_s = 0.2, .alt_from_s = from[i],
                   .alt_to_s = from[i] + 3 };
        run_clip(&h, &c);
        assert_no_event(&h);
        harness_close(&h);
    }
}

/* Late from 0 to 10 s, then in sync: START at the first flash, END at the
 * first flash back in sync. */
static void test_offset_ends(void **state)
{
    (void)state;
    Harness h;
    Clip c = { .duration_s = 25, .offset_s = 0, .alt_offset_s = 0.2, .alt_from_s = 0,
               .alt_to_s = 10 };
    run_clip(&h, &c);
    const HarnessEvent *s = only_start(&h);
    assert_near(s->t, FLASH_PHASE_S, FRAME_S);
    assert_near(s->value, 200, 1000 * FRAME_S);
    const HarnessEvent *e = harness_find(&h, KIND, VQA_EVENT_END, 0);
    assert_near(e->t, 10 + FLASH_PHASE_S, FRAME_S);
    assert_null(strstr(e->details, "closed_by"));
    harness_close(&h);
}

/* No beeps (silence, or a noise bed without onsets), no flashes, pictures
 * 200 ms apart (the flash is delivered, but cannot be placed within a frame):
 * nothing to pair, nothing reported, no crash. */
static void test_nothing_to_pair(void **state)
{
    (void)state;
    const Clip clips[] = {
        { .duration_s = 15, .offset_s = 0.2, .no_beeps = 1 },
        { .duration_s = 15, .offset_s = 0.2, .no_beeps = 1, .noise_dbfs = -20 },
        { .duration_s = 15, .offset_s = 0.2, .no_flashes = 1 },
        { .duration_s = 0.5, .offset_s = 0.2 },
        { .duration_s = 15, .offset_s = 0.2, .video_every = 5 },
    };
    for (size_t i = 0; i < sizeof(clips) / sizeof(clips[0]); i++) {
        Harness h;
        run_clip(&h, &clips[i]);
        assert_no_event(&h);
        if (clips[i].video_every)
            assert_non_null(strstr(h.log, "no content estimate"));
        harness_close(&h);
    }
}

/* Flashes and beeps about once a second each (or 2 and 3 a second), but
 * unrelated: pairs form and some agree by chance, nothing is reported. (Over
 * an hour of each, share and pair count alone gave 2 and 16 false defects.) */
static void test_unrelated_events(void **state)
{
    (void)state;
    for (uint64_t seed = 1; seed <= 10; seed++) {
        Harness h;
        Clip c = { .duration_s = 60, .random_seed = seed, .dense = seed > 5,
                   .args = "report_interval=1" };
        run_clip(&h, &c);
        assert_no_event(&h);
        harness_close(&h);
    }
}

/* Flashes 3.4 to 4.4 s apart at irregular times, the pace of a calm edit's
 * cuts: at most 3 in a 10 s window, too few to rule out chance at 1e-3. The
 * window reaches back to hold 10 visual events (window_events), so the
 * offset is found, from the first flash, and measured within a frame;
 * without that (window_events=0) it is never confident. */
static void test_sparse_events(void **state)
{
    (void)state;
    double times[32];
    size_t n = 0;
    HarnessRng rng;
    harness_rng_seed(&rng, 3);
    for (double t = 0.52; t < 58 && n < 32; 
         t += (85 + (int)(harness_rng_uniform(&rng) * 25)) * FRAME_S)
        times[n++] = t;
    const double offsets[] = { 0.2, -0.1 };
    for (size_t i = 0; i < 2; i++) {
        Harness h;
        Clip c = { .duration_s = 60, .offset_s = offsets[i], .flash_times = times,
                   .n_flash_times = n };
        run_clip(&h, &c);
        const HarnessEvent *s = only_start(&h);
        assert_near(s->value, 1000 * offsets[i], 1000 * FRAME_S);
        assert_near(s->t, times[0], FRAME_S);
        harness_close(&h);
        c.args = "window_events=0";
        run_clip(&h, &c);
        assert_no_event(&h);
        harness_close(&h);
    }
    /* in sync: measured, nothing reported */
    Harness h;
    Clip c = { .duration_s = 60, .flash_times = times, .n_flash_times = n,
               .args = "report_interval=1" };
    run_clip(&h, &c);
    assert_no_event(&h);
    size_t reports = harness_count(&h, OFFSET_KIND, VQA_EVENT_INSTANT);
    assert_true(reports >= 10);
    for (size_t k = 0; k < reports; k++)
        assert_near(harness_find(&h, OFFSET_KIND, 0, k)->value, 0, 1);
    harness_close(&h);
}

/* Sounds that are not a clean beep. A beep faded in over 40 ms (a slow
 * attack, like a word or a door): its onset is traced back to where it
 * began rising, so the offset is measured within a frame. Hiss bursts (a
 * consonant) 14 dB under a 150 Hz hum: no rise at all in the signal's
 * energy, a clear one in its first difference. */
static void test_soft_sounds(void **state)
{
    (void)state;
    const Clip clips[] = {
        { .duration_s = 20, .offset_s = 0.2, .ramp_s = 0.04 },
        { .duration_s = 20, .offset_s = -0.1, .ramp_s = 0.04 },
        { .duration_s = 20, .offset_s = 0.2, .hiss = 1 },
        { .duration_s = 20, .offset_s = -0.1, .hiss = 1 },
    };
    for (size_t i = 0; i < sizeof(clips) / sizeof(clips[0]); i++) {
        Harness h;
        run_clip(&h, &clips[i]);
        const HarnessEvent *s = only_start(&h);
        assert_near(s->value, 1000 * clips[i].offset_s, 1000 * FRAME_S);
        assert_near(s->t, FLASH_PHASE_S, FRAME_S);
        harness_close(&h);
    }
}

/* 150 ms late all along, but the flash at 8.2 s has its beep only 115 ms
 * late: inside the tolerance, yet in agreement with the rest. One pair does
 * not make a crossing: the defect still starts at the first flash. */
static void test_one_pair_in_tolerance(void **state)
{
    (void)state;
    Harness h;
    Clip c = { .duration_s = 25, .offset_s = 0.15, .alt_offset_s = 0.115, .alt_from_s = 8,
               .alt_to_s = 9 };
    run_clip(&h, &c);
    const HarnessEvent *s = only_start(&h);
    assert_near(s->value, 150, 1000 * FRAME_S);
    assert_near(s->t, FLASH_PHASE_S, FRAME_S);
    harness_close(&h);
}

/* Sparse unrelated events, where the window reaches furthest back: a visual
 * event every 2.5 s on average and about one onset a second (or three), for
 * 10 x 2 minutes. The chance test still holds: nothing is reported. */
static void test_unrelated_sparse_events(void **state)
{
    (void)state;
    for (uint64_t seed = 101; seed <= 110; seed++) {
        Harness h;
        Clip c = { .duration_s = 120, .random_seed = seed, .sparse = 1, .dense = seed > 105 };
        run_clip(&h, &c);
        assert_no_event(&h);
        harness_close(&h);
    }
}

/* Audio timestamps running 0.5% slow against the samples: a player that
 * follows them presents the sound early, by 45 ms once 9 s of samples have
 * played; reported from there, by the clock tier. */
static void test_clock_drift(void **state)
{
    (void)state;
    Harness h;
    Clip c = { .duration_s = 30, .no_beeps = 1, .no_flashes = 1, .clock_rate = 0.995 };
    run_clip(&h, &c);
    const HarnessEvent *s = only_start(&h);
    assert_non_null(strstr(s->details, "\"tier\":\"clock\""));
    /* timestamp error = -0.005 * sample time: beyond 45 ms from sample time 9 s */
    assert_near(s->t, 9.0 * 0.995, 2 * CHUNK * 0.995 / RATE);
    /* the value is the offset when confirmed, 5 s later */
    assert_true(s->value < -45 && s->value > -75);
    harness_close(&h);

    /* Running fast: late, reported beyond 125 ms (sample time 25 s); and not at
     * all with clock=off. */
    Clip fast = { .duration_s = 40, .no_beeps = 1, .no_flashes = 1, .clock_rate = 1.005 };
    run_clip(&h, &fast);
    s = only_start(&h);
    assert_near(s->t, 25.0 * 1.005, 2 * CHUNK * 1.005 / RATE);
    assert_true(s->value > 125 && s->value < 160);
    harness_close(&h);
    fast.args = "clock=off";
    run_clip(&h, &fast);
    assert_no_event(&h);
    harness_close(&h);
}

static void test_descriptor(void **state)
{
    (void)state;
    Harness h;
    assert_int_equal(harness_open(&h, "avsync", "avsync", NULL, NULL), 0);
    assert_int_equal(h.cls->input.type, VQA_MEDIA_VIDEO);
    assert_int_equal(h.cls->input.pix_fmt, VQA_PIX_GRAY8);
    assert_int_equal(h.cls->input2.type, VQA_MEDIA_AUDIO);
    assert_int_equal(h.cls->input2.channels, 1);
    for (const VqaOption *o = h.cls->options; o->name; o++) {
        assert_non_null(o->help);
        if (o->type != VQA_OPT_BOOL)
            assert_non_null(o->unit);
        assert_true(o->min <= o->default_num && o->default_num <= o->max);
    }
    harness_close(&h);
    assert_true(harness_open(&h, "avsync", "avsync", "early_ms=-1", NULL) < 0);
    harness_close(&h);
}

/* ---- encoded media through the whole pipeline -------------------------- */

typedef struct Found {
    int starts, ends, instants;
    double start_t, start_value, end_t;
    double offsets_ms[64];
    char details[256];
} Found;

static void collect(void *cookie, const VqaEvent *ev)
{
    Found *f = cookie;
    if (!strcmp(ev->kind, OFFSET_KIND) && f->instants < 64) {
        f->offsets_ms[f->instants++] = ev->value;
    } else if (!strcmp(ev->kind, KIND) && ev->state == VQA_EVENT_START) {
        f->starts++;
        f->start_t = ev->t;
        f->start_value = ev->value;
        snprintf(f->details, sizeof(f->details), "%s", ev->details_json ? ev->details_json : "");
    } else if (!strcmp(ev->kind, KIND) && ev->state == VQA_EVENT_END) {
        f->ends++;
        f->end_t = ev->t;
    }
}

/* 20 s at 25 fps: a white frame at frame 5 of each second, a 40 ms beep at
 * the same time plus `shift_s` (aevalsrc: exact to the sample), audio then
 * delayed by `adelay_ms`; H.264 + AAC in MP4. */
static char *make_clip(const char *name, double shift_s, int adelay_ms)
{
    char *path = media_path(name);
    assert_non_null(path);
    char cmd[1024];
    snprintf(cmd, sizeof(cmd),
             "-f lavfi -i \"color=black:s=160x120:r=25:d=20,format=yuv420p,"
             "geq=lum='if(eq(mod(N\\,25)\\,5)\\,235\\,16)':cb=128:cr=128\" "
             "-f lavfi -i \"aevalsrc='0.5*sin(2*PI*1000*t)*lt(mod(t-%.3f\\,1)\\,0.04)'"
             ":s=48000:d=20,adelay=%d|%d,atrim=0:20\" "
             "-c:v libx264 -preset ultrafast -g 25 -pix_fmt yuv420p -c:a aac -b:a 96k "
             "-movflags +faststart %s",
             FLASH_PHASE_S + shift_s, adelay_ms, adelay_ms, path);
    assert_int_equal(media_ffmpeg(cmd), 0);
    return path;
}

static void scan_with(const char *path, const char *detectors, Found *found)
{
    memset(found, 0, sizeof(*found));
    VqaSettings s;
    vqa_default_settings(&s);
    s.n_threads = 2;
    s.on_event = collect;
    s.event_cookie = found;
    VqaContext *ctx = NULL;
    assert_int_equal(vqa_open(&ctx, &s), 0);
    VqaStreamSettings ss;
    vqa_stream_default_settings(&ss);
    ss.url = path;
    ss.detectors = detectors;
    VqaStream *st = NULL;
    assert_int_equal(vqa_stream_add(ctx, &st, &ss), 0);
    assert_int_equal(vqa_stream_wait(st, -1), 0);
    vqa_stream_remove(&st);
    vqa_close(&ctx);
}

static void scan(const char *path, Found *found)
{
    scan_with(path, "avsync:report_interval=1", found);
}

static double median_offset(Found *f)
{
    assert_true(f->instants >= 5);
    for (int i = 1; i < f->instants; i++)
        for (int j = i; j > 0 && f->offsets_ms[j - 1] > f->offsets_ms[j]; j--) {
            double x = f->offsets_ms[j];
            f->offsets_ms[j] = f->offsets_ms[j - 1];
            f->offsets_ms[j - 1] = x;
        }
    return f->offsets_ms[(f->instants - 1) / 2];
}

static void test_encoded_clips(void **state)
{
    (void)state;
    static const struct {
        const char *name;
        double shift_s;
        int adelay_ms;
        double truth_ms;
    } cases[] = {
        { "avsync-0.mp4", 0, 0, 0 },
        { "avsync-late200.mp4", 0, 200, 200 },
        { "avsync-early100.mp4", -0.1, 0, -100 },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char *path = make_clip(cases[i].name, cases[i].shift_s, cases[i].adelay_ms);
        Found f;
        scan(path, &f);
        double measured = median_offset(&f);
        fprintf(stderr, "avsync: %s: measured %.1f ms (truth %.0f), %d reports, %d starts "
                "%s\n", cases[i].name, measured, cases[i].truth_ms, f.instants, f.starts,
                f.details);
        assert_near(measured, cases[i].truth_ms, 1000 * FRAME_S);
        if (cases[i].truth_ms == 0) {
            assert_int_equal(f.starts, 0);
        } else {
            assert_int_equal(f.starts, 1);
            assert_int_equal(f.ends, 1);
            assert_near(f.start_value, cases[i].truth_ms, 1000 * FRAME_S);
            assert_near(f.start_t, FLASH_PHASE_S, FRAME_S);
            assert_non_null(strstr(f.details, "\"tier\":\"content\""));
        }
        free(path);
    }
}

/* The in-sync clip remuxed with its audio timestamps running 1% fast
 * (asetpts, PCM in Matroska): the clock tier finds the audio late from
 * the point where the timestamps are 125 ms ahead of the samples. */
static void test_encoded_clock_drift(void **state)
{
    (void)state;
    char *clip = make_clip("avsync-clock.mp4", 0, 0);
    char *path = media_path("avsync-clock.mkv");
    char cmd[1024];
    snprintf(cmd, sizeof(cmd), "-i %s -c:v copy -af asetpts=PTS*1.01 -c:a pcm_s16le %s", clip,
             path);
    assert_int_equal(media_ffmpeg(cmd), 0);
    Found f;
    scan(path, &f);
    fprintf(stderr, "avsync: clock drift 1%%: start %.3f s value %.1f ms %s\n", f.start_t,
            f.start_value, f.details);
    assert_int_equal(f.starts, 1);
    assert_non_null(strstr(f.details, "\"tier\":\"clock\""));
    /* 125 ms ahead at 12.5 s of samples, stamped 12.625 s; buffers are 1024 samples */
    assert_near(f.start_t, 12.625, 1024.0 / 48000 + 0.005);
    assert_true(f.start_value > 125);
    free(clip);
    free(path);
}

/* The corpus's natural-content items (bench/corpus/make.py, at 160x120): an
 * edit of real photographs cut every 1.1 to 3.2 s, recorded speech and
 * effects on most cuts, a music bed. At the defaults, the in-sync edit gives
 * no av.sync; with the soundtrack 200 ms late, one av.sync from a start
 * within the scorer's 6 s, its value within two frames. */
static void test_natural_clips(void **state)
{
    (void)state;
    static const char *const needs[] = {
        "/usr/share/backgrounds/mate/nature/Aqua.jpg",
        "/usr/share/sounds/freedesktop/stereo/camera-shutter.oga",
        "/usr/share/sounds/Oxygen-Sys-Log-In-Long.ogg",
    };
    for (size_t i = 0; i < sizeof(needs) / sizeof(needs[0]); i++) {
        FILE *probe = fopen(needs[i], "rb");
        if (!probe) {
            fprintf(stderr, "avsync: %s is missing (scripts/setup.sh installs it): skipped\n",
                    needs[i]);
            skip();
        }
        fclose(probe);
    }
    char *dir = media_path("natural");
    char cmd[2048];
    snprintf(cmd, sizeof(cmd), "python3 %s/bench/corpus/make.py --small --jobs 2 "
             "--only natural_in,natural_late_200 %s", VQA_SOURCE_ROOT, dir);
    assert_int_equal(system(cmd), 0);
    static const struct {
        const char *name;
        double truth_ms;
    } cases[] = { { "natural_in", 0 }, { "natural_late_200", 200 } };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char path[2048];
        snprintf(path, sizeof(path), "%s/%s.mp4", dir, cases[i].name);
        Found f;
        scan_with(path, "avsync", &f);
        fprintf(stderr, "avsync: %s: %d starts, value %.1f ms at %.2f s %s\n", cases[i].name,
                f.starts, f.start_value, f.start_t, f.details);
        if (cases[i].truth_ms == 0) {
            assert_int_equal(f.starts, 0);
            continue;
        }
        assert_int_equal(f.starts, 1);
        assert_int_equal(f.ends, 1);
        assert_near(f.start_value, cases[i].truth_ms, 2000 * FRAME_S);
        assert_true(f.start_t <= 6.0);
        assert_non_null(strstr(f.details, "\"tier\":\"content\""));
    }
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_audio_late),
        cmocka_unit_test(test_audio_early),
        cmocka_unit_test(test_audio_late_over_noise),
        cmocka_unit_test(test_within_tolerance),
        cmocka_unit_test(test_short_offset_not_reported),
        cmocka_unit_test(test_offset_ends),
        cmocka_unit_test(test_nothing_to_pair),
        cmocka_unit_test(test_unrelated_events),
        cmocka_unit_test(test_sparse_events),
        cmocka_unit_test(test_unrelated_sparse_events),
        cmocka_unit_test(test_soft_sounds),
        cmocka_unit_test(test_one_pair_in_tolerance),
        cmocka_unit_test(test_clock_drift),
        cmocka_unit_test(test_descriptor),
        cmocka_unit_test(test_encoded_clips),
        cmocka_unit_test(test_encoded_clock_drift),
        cmocka_unit_test(test_natural_clips),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
