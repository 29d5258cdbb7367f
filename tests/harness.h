/*
 * A host for one detector class without the pipeline: loads a plugin module
 * from the build, applies options, drives init/process/flush/close and
 * records the events, keeping the host's pairing rules (a START on an open
 * kind or an END without a START is refused and counted; END durations are
 * computed here; what is still open after flush is closed with
 * closed_by eos and marked as closed by the host).
 *
 * Also builds test media: GRAY8 pictures and FLTP audio as plain structs
 * owned by the test (no reference counting).
 *
 * Not thread-safe; one Harness per test.
 */
#ifndef VQA_TESTS_HARNESS_H
#define VQA_TESTS_HARNESS_H

#include <stddef.h>
#include <stdint.h>

#include "vqa/plugin.h"

#define HARNESS_MAX_EVENTS 64
#define HARNESS_LOG_SIZE 8192

typedef struct HarnessEvent {
    char kind[64];
    VqaEventState state;
    double t;
    double duration;      /**< END only: t minus the matching START's t */
    double value;
    int has_value;
    VqaSeverity severity;
    char details[256];    /**< "" when none */
    int by_host;          /**< an END the harness made for a defect left open after flush */
} HarnessEvent;

typedef struct Harness {
    VqaDetectorContext ctx;   /**< first: the host callbacks cast back to Harness */
    VqaHostApi host;
    VqaStreamInfo info;
    void *module;             /**< dlopen handle */
    const VqaPluginDesc *desc;
    const VqaDetectorClass *cls;
    void *priv;
    void *options_store;      /**< VqaOptionStore, kept opaque here */

    HarnessEvent events[HARNESS_MAX_EVENTS];
    size_t event_count;
    int rejected;             /**< emits refused for breaking the pairing or order rules */
    char open_kind[8][64];
    double open_t[8];
    size_t open_count;
    double last_event_t;

    char log[HARNESS_LOG_SIZE];
    size_t log_len;
    long refs;                /**< frame references outstanding at open (must match at close) */
    double end_t;             /**< last media time seen (t + duration of the latest frame) */
    int inited;
    int process_error;        /**< first negative return of process(), 0 if none */
} Harness;

/**
 * Load build/plugins/vqa-<plugin>.so, find class `detector`, store default
 * options then `args` ("k=v:k=v", may be NULL) and call init() with `info`
 * (struct_size is filled in; may be NULL for a zeroed one).
 * @return 0, or a negative code (with a reason in h->log); harness_close()
 *         must be called either way.
 */
int harness_open(Harness *h, const char *plugin, const char *detector, const char *args,
                 const VqaStreamInfo *info);

/** Feed one frame. @return process()'s result. */
int harness_process(Harness *h, const VqaFrame *frame);

/** Call flush(), then close what is still open as the real host does. @return flush()'s. */
int harness_flush(Harness *h);

/** close(), free the instance, dlclose. Safe after a failed open. */
void harness_close(Harness *h);

/** @return the number of events of `kind` (NULL = any) in `state` (0 = any). */
size_t harness_count(const Harness *h, const char *kind, VqaEventState state);

/** @return the n-th (from 0) event of `kind` in `state`, or NULL. */
const HarnessEvent *harness_find(const Harness *h, const char *kind, VqaEventState state,
                                 size_t n);

/** Write the events to stderr (for failing tests). */
void harness_dump(const Harness *h);

/** Fail the test unless |a - b| <= eps (in double, unlike cmocka's float compare). */
#define assert_near(a, b, eps) harness_assert_near((a), (b), (eps), #a, __FILE__, __LINE__)
void harness_assert_near(double a, double b, double eps, const char *expr, const char *file,
                         int line);

/* ---- media ------------------------------------------------------------- */

/** A small deterministic generator (xorshift), so tests need no global state. */
typedef struct HarnessRng {
    uint64_t state;
} HarnessRng;

void harness_rng_seed(HarnessRng *rng, uint64_t seed);
uint32_t harness_rng_next(HarnessRng *rng);
/** @return uniform in [0, 1). */
double harness_rng_uniform(HarnessRng *rng);
/** @return normal, mean 0, standard deviation 1. */
double harness_rng_normal(HarnessRng *rng);

/** A GRAY8 picture owned by the test. */
typedef struct HarnessPicture {
    VqaFrame frame;     /**< data[0] points into pixels */
    uint8_t *pixels;
    int width, height;
    ptrdiff_t stride;
} HarnessPicture;

/** Allocate a w x h picture (stride padded past the width, to catch stride bugs). */
void harness_picture_init(HarnessPicture *pic, int width, int height, VqaColorRange range);
void harness_picture_free(HarnessPicture *pic);
/** Set the timing of frame `index` at `fps` (t = index / fps, duration = 1 / fps). */
void harness_picture_time(HarnessPicture *pic, int64_t index, double fps);

void harness_picture_fill(HarnessPicture *pic, uint8_t luma);
/** A busy texture that shifts with `phase` (every pixel changes when phase changes). */
void harness_picture_pattern(HarnessPicture *pic, int phase);
/** Add uniform integer noise in [-amplitude, +amplitude] to every pixel (clamped). */
void harness_picture_noise(HarnessPicture *pic, int amplitude, HarnessRng *rng);
/** Fill a rectangle (clipped to the picture). */
void harness_picture_box(HarnessPicture *pic, int x, int y, int w, int h, uint8_t luma);

/** FLTP audio owned by the test: whole signals, fed in chunks of any size. */
typedef struct HarnessAudio {
    int channels;
    int sample_rate;
    int64_t nb_samples;       /**< per channel */
    float *planes[8];
} HarnessAudio;

void harness_audio_init(HarnessAudio *a, int channels, int sample_rate, double duration_s);
void harness_audio_free(HarnessAudio *a);
/** Sine of peak level `dbfs` on channel ch (-1 = all) over [from_s, to_s). */
void harness_audio_sine(HarnessAudio *a, int ch, double from_s, double to_s, double freq_hz,
                        double dbfs);
/** Gaussian noise of RMS level `dbfs` on channel ch (-1 = all) over [from_s, to_s). */
void harness_audio_noise(HarnessAudio *a, int ch, double from_s, double to_s, double dbfs,
                         HarnessRng *rng);
/** Digital zero on channel ch (-1 = all) over [from_s, to_s). */
void harness_audio_silence(HarnessAudio *a, int ch, double from_s, double to_s);

/**
 * Feed the whole signal in buffers of `chunk` samples (the last one shorter),
 * starting at media time t0. @return the first negative process() result, or 0.
 */
int harness_feed_audio(Harness *h, const HarnessAudio *a, int chunk, double t0);

/** harness_open, failing the test (after a dump of what was logged) if it fails. */
void harness_start(Harness *h, const char *plugin, const char *detector, const char *args,
                   const VqaStreamInfo *info);

/** harness_flush, failing the test if it fails or if any event broke the host's rules. */
void harness_finish(Harness *h);

#endif
