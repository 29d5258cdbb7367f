/*
 * The content tier's raw material: audio onsets (rises of the 5 ms energy
 * envelope, of the signal or of its first difference, over the 100 ms
 * before the rise), visual events (a frame that differs sharply from the
 * previous one after a few calm frames: a flash, a cut, a clapperboard), the
 * onsets near each visual event, and the robust offset estimate over a
 * sliding window.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "avsync.h"
#include "vqa/common.h"

/* Energies are floored here so digital silence has a finite level (dB). */
#define AV_ENERGY_FLOOR 1e-12
/* A refined onset is the first sample of the hop reaching this share of its peak. */
#define AV_ONSET_PEAK_SHARE 0.5

static double ring_onset(const AvAudio *a, size_t i)
{
    return a->onsets[(a->on_head + i) % AV_MAX_ONSETS];
}

static void push_onset(AvAudio *a, double t)
{
    if (a->on_count == AV_MAX_ONSETS) { /* full: the oldest goes */
        a->on_head = (a->on_head + 1) % AV_MAX_ONSETS;
        a->on_count--;
    }
    a->onsets[(a->on_head + a->on_count) % AV_MAX_ONSETS] = t;
    a->on_count++;
}

static double to_db(double energy)
{
    return 10.0 * log10(energy + AV_ENERGY_FLOOR);
}

static double hop_energy(const AvBand *b, int64_t n)
{
    return b->energy[n % AV_ENERGY_HOPS];
}

static float *hop_samples(const AvAudio *a, const AvBand *b, int64_t n)
{
    return b->hops + (size_t)(n % AV_KEPT_HOPS) * (size_t)a->hop_len;
}

/* Judge the finished hop n of one band against its baseline: the mean
 * energy of the AV_BASE_HOPS hops that end AV_ATTACK_HOPS before it. The gap
 * lets a sound that takes up to 50 ms to rise (a word, a door, a swell)
 * count as a rise over what came before it, not over its own beginning.
 * @return where the rise began, or NAN when this hop is no onset. */
static double band_hop(const AvAudio *a, AvBand *b, int64_t n)
{
    const int slot = (int)(n % AV_KEPT_HOPS);
    const float *hop = hop_samples(a, b, n);
    double sum_sq = 0;
    float peak = 0;
    for (int i = 0; i < a->hop_len; i++) {
        float x = fabsf(hop[i]);
        sum_sq += (double)x * x;
        if (x > peak)
            peak = x;
    }
    const double energy = sum_sq / a->hop_len;
    b->energy[n % AV_ENERGY_HOPS] = energy;
    b->hop_peak[slot] = peak;

    const int64_t base_end = n - AV_ATTACK_HOPS; /* exclusive */
    const int64_t base_start = base_end - AV_BASE_HOPS > 0 ? base_end - AV_BASE_HOPS : 0;
    const int base_count = base_end > base_start ? (int)(base_end - base_start) : 0;
    /* Half a baseline at least, so the first sound of a track is no onset. */
    if (base_count < AV_BASE_HOPS / 2)
        return NAN;
    double base = 0;
    for (int64_t k = base_start; k < base_end; k++)
        base += hop_energy(b, k);
    const double base_db = to_db(base / base_count);
    const double level_db = to_db(energy);
    if (level_db < a->min_level_db || level_db < base_db + a->rise_db)
        return NAN;
    /* Trace the rise back to where it began: the earliest hop from which on
     * every hop is at least half the rise above the baseline. A beep or a
     * hit rises within this hop (first = n); a word may take several. */
    int64_t first = n;
    while (first > base_end && to_db(hop_energy(b, first - 1)) >= base_db + a->rise_db / 2)
        first--;
    /* Within that hop, the first sample reaching half its peak: precise to
     * well under a millisecond for a beep or a click. */
    const float *rise = hop_samples(a, b, first);
    const float rise_peak = b->hop_peak[first % AV_KEPT_HOPS];
    int i = 0;
    while (i < a->hop_len - 1 && fabsf(rise[i]) < AV_ONSET_PEAK_SHARE * rise_peak)
        i++;
    return a->hop_t[first % AV_KEPT_HOPS] + (double)i / a->rate;
}

/* Judge the finished hop in every band; the earliest rise is the onset. */
static void finish_hop(AvAudio *a)
{
    const int64_t n = a->hop_n;
    double t = INFINITY;
    for (int k = 0; k < AV_BANDS; k++) {
        double band_t = band_hop(a, &a->band[k], n);
        if (band_t < t) /* false for NAN */
            t = band_t;
    }
    if (!isfinite(t) || a->hop_t[n % AV_KEPT_HOPS] - a->last_onset_t < AV_ONSET_REFRACTORY_S ||
        t - a->last_onset_t < AV_ONSET_REFRACTORY_S)
        return;
    push_onset(a, t);
    a->last_onset_t = t;
}

static int audio_restart(AvAudio *a, int rate)
{
    int hop_len = (int)lround(rate * AV_HOP_S);
    if (hop_len < 1)
        hop_len = 1;
    for (int k = 0; k < AV_BANDS; k++) {
        float *hops = realloc(a->band[k].hops, (size_t)hop_len * AV_KEPT_HOPS * sizeof(*hops));
        if (!hops)
            return VQA_ERR(ENOMEM);
        a->band[k].hops = hops;
    }
    a->hop_len = hop_len;
    a->hop_pos = 0;
    a->hop_n = 0; /* no baseline yet: the hops before a new rate are not compared with */
    a->last_x = 0;
    a->rate = rate;
    if (!a->seen)
        a->last_onset_t = -INFINITY;
    a->seen = 1;
    return 0;
}

int av_audio_feed(AvAudio *a, const VqaFrame *f)
{
    if (!a->seen || f->sample_rate != a->rate) {
        int err = audio_restart(a, f->sample_rate);
        if (err < 0)
            return err;
    }
    const float *const *planes = (const float *const *)(const void *)f->audio_planes;
    const float inv_channels = 1.0f / (float)f->channels;
    float *plain = hop_samples(a, &a->band[0], a->hop_n);
    float *diff = hop_samples(a, &a->band[1], a->hop_n);
    for (int i = 0; i < f->nb_samples; i++) {
        if (a->hop_pos == 0)
            a->hop_t[a->hop_n % AV_KEPT_HOPS] = f->t + (double)i / a->rate;
        float x = 0;
        for (int c = 0; c < f->channels; c++)
            x += planes[c][i];
        x *= inv_channels;
        plain[a->hop_pos] = x;
        diff[a->hop_pos] = x - a->last_x;
        a->last_x = x;
        if (++a->hop_pos == a->hop_len) {
            finish_hop(a);
            a->hop_n++;
            a->hop_pos = 0;
            plain = hop_samples(a, &a->band[0], a->hop_n);
            diff = hop_samples(a, &a->band[1], a->hop_n);
        }
    }
    /* Onsets are known up to the start of the hop still being filled, less
     * the rise a later hop may still trace back over. */
    double end_t = f->t + (double)(f->nb_samples - a->hop_pos - AV_ATTACK_HOPS * a->hop_len) /
                              a->rate;
    if (end_t > a->end_t)
        a->end_t = end_t;
    return 0;
}

void av_audio_free(AvAudio *a)
{
    for (int k = 0; k < AV_BANDS; k++) {
        free(a->band[k].hops);
        a->band[k].hops = NULL;
    }
}

static AvVisual *ring_visual(AvVideo *v, size_t i)
{
    return &v->events[(v->ev_head + i) % AV_MAX_VISUAL];
}

static const AvVisual *ring_visual_c(const AvVideo *v, size_t i)
{
    return &v->events[(v->ev_head + i) % AV_MAX_VISUAL];
}

static void push_visual(AvVideo *v, double t)
{
    if (v->ev_count == AV_MAX_VISUAL) {
        v->ev_head = (v->ev_head + 1) % AV_MAX_VISUAL;
        v->ev_count--;
    }
    *ring_visual(v, v->ev_count) = (AvVisual){ .t = t };
    v->ev_count++;
}

/* Mean |difference| from the previous picture as a fraction of 255, or -1. */
static double picture_difference(const AvVideo *v, const VqaFrame *f)
{
    if (!v->prev || v->prev_w != f->width || v->prev_h != f->height)
        return -1;
    uint64_t sum = 0;
    for (int y = 0; y < f->height; y++) {
        const uint8_t *row = f->data[0] + y * f->linesize[0];
        const uint8_t *old = v->prev + (size_t)y * f->width;
        uint32_t s = 0;
        for (int x = 0; x < f->width; x++)
            s += (uint32_t)abs((int)row[x] - (int)old[x]);
        sum += s;
    }
    return (double)sum / (255.0 * f->width * f->height);
}

static int keep_picture(AvVideo *v, const VqaFrame *f)
{
    size_t size = (size_t)f->width * f->height;
    if (!v->prev || v->prev_w != f->width || v->prev_h != f->height) {
        uint8_t *prev = realloc(v->prev, size);
        if (!prev)
            return VQA_ERR(ENOMEM);
        v->prev = prev;
        v->prev_w = f->width;
        v->prev_h = f->height;
    }
    for (int y = 0; y < f->height; y++)
        memcpy(v->prev + (size_t)y * f->width, f->data[0] + y * f->linesize[0],
               (size_t)f->width);
    return 0;
}

int av_video_feed(AvVideo *v, const VqaFrame *f)
{
    double diff = picture_difference(v, f);
    /* The interval between the pictures delivered, which may be subsampled. */
    if (v->seen && f->t > v->last_t)
        v->frame_s = f->t - v->last_t;
    else if (f->duration > 0)
        v->frame_s = f->duration;
    if (diff < 0) {
        v->history_count = 0; /* first picture or a new size: no history to compare with */
    } else {
        double calm = 0;
        for (int i = 0; i < v->history_count; i++)
            if (v->history[i] > calm)
                calm = v->history[i];
        if (v->history_count >= 2 && diff >= v->jump && diff >= v->rise * calm)
            push_visual(v, f->t);
        memmove(&v->history[1], &v->history[0], (AV_VIDEO_HISTORY - 1) * sizeof(double));
        v->history[0] = diff;
        if (v->history_count < AV_VIDEO_HISTORY)
            v->history_count++;
    }
    v->last_t = f->t;
    v->end_t = f->t + (v->frame_s > 0 ? v->frame_s : 0);
    v->seen = 1;
    return keep_picture(v, f);
}

void av_video_free(AvVideo *v)
{
    free(v->prev);
    v->prev = NULL;
}

const AvVisual *av_mature_next(AvVideo *v, const AvAudio *a, double search_s, int all)
{
    AvVisual *e = NULL;
    for (size_t i = 0; i < v->ev_count && !e; i++)
        if (!ring_visual(v, i)->mature)
            e = ring_visual(v, i);
    if (!e || (!all && !(a->seen && a->end_t >= e->t + search_s)))
        return NULL;
    /* Every onset within the search range is a candidate: the nearest one
     * is not always the right one (a word's second syllable, a bed's note). */
    e->nearby = 0;
    e->kept = 0;
    for (size_t i = 0; i < a->on_count; i++) {
        double d = ring_onset(a, i) - e->t;
        if (fabs(d) > search_s)
            continue;
        e->nearby++;
        int at = e->kept < AV_MAX_NEARBY ? e->kept++ : AV_MAX_NEARBY; /* insertion, nearest first */
        while (at > 0 && fabs(e->near_s[at - 1]) > fabs(d)) {
            if (at < AV_MAX_NEARBY)
                e->near_s[at] = e->near_s[at - 1];
            at--;
        }
        if (at < AV_MAX_NEARBY)
            e->near_s[at] = (float)d;
    }
    e->mature = 1;
    return e;
}

static int cmp_double(const void *x, const void *y)
{
    double a = *(const double *)x, b = *(const double *)y;
    return (a > b) - (a < b);
}

/* The offset of e nearest to center, if within agree_s of it. */
static int agrees(const AvVisual *e, double center, double agree_s, double *offset_s)
{
    double best = INFINITY;
    for (int k = 0; k < e->kept; k++)
        if (fabs(e->near_s[k] - center) < fabs(best - center))
            best = e->near_s[k];
    if (!(fabs(best - center) <= agree_s + 1e-9))
        return 0;
    *offset_s = best;
    return 1;
}

/* P(X >= k) for X ~ Poisson(mean): the upper tail, summed from k up so that
 * tiny probabilities keep their precision. */
static double poisson_tail(double mean, int k)
{
    if (k <= 0)
        return 1.0;
    if (mean <= 0)
        return 0.0;
    double term = exp(-mean + k * log(mean) - lgamma(k + 1.0));
    double sum = 0;
    for (int j = k; j < k + 200 && term > sum * 1e-17; j++) {
        sum += term;
        term *= mean / (j + 1);
    }
    return sum < 1.0 ? sum : 1.0;
}

static int in_window(const AvVisual *e, double from, double t_now)
{
    return e->mature && e->t > from && e->t <= t_now;
}

/* Where the window ending at t_now starts (exclusive): `window_s` back, or
 * further back to hold the last `window_events` mature visual events, but at
 * most `max_window_s`. A programme that cuts every 2 to 3 s has only 3 to 5
 * events in 10 s, too few to tell agreement from chance at 1e-3; stretching
 * the window keeps the evidence per estimate, not the time, constant. Dense
 * events (a sync pattern, a lively edit) fill `window_s` and change nothing. */
static double window_from(const AvVideo *v, double t_now, const AvCriteria *c)
{
    double from = t_now - c->window_s;
    if (c->window_events <= 0)
        return from;
    double floor = t_now - (c->max_window_s > c->window_s ? c->max_window_s : c->window_s);
    int held = 0;
    for (size_t i = v->ev_count; i-- > 0;) {
        const AvVisual *e = ring_visual_c(v, i);
        if (!e->mature || e->t > t_now)
            continue;
        if (e->t <= floor)
            break;
        if (++held >= c->window_events) {
            double before = nextafter(e->t, -INFINITY);
            return before < from ? before : from;
        }
    }
    /* fewer events than that since max_window_s ago: all of them */
    return held > 0 ? floor : from;
}

/* How likely the agreement is by chance: each visual event with `nearby`
 * onsets in the search range has one within agree_s of a given offset with
 * probability ~ 1 - exp(-density * 2 agree_s); the agreeing count is then
 * about Poisson, and the median could have settled on any of
 * search_s / agree_s offsets. */
static double chance_of(const AvVideo *v, double from, double t_now, const AvCriteria *c,
                        int pairs)
{
    double expected = 0;
    for (size_t i = 0; i < v->ev_count; i++) {
        const AvVisual *e = ring_visual_c(v, i);
        if (in_window(e, from, t_now))
            expected += 1.0 - exp(-e->nearby * c->agree_s / c->search_s);
    }
    double p = poisson_tail(expected, pairs) * (c->search_s / c->agree_s);
    return p < 1.0 ? p : 1.0;
}

static double median3(double a, double b, double c)
{
    return fmax(fmin(a, b), fmin(fmax(a, b), c));
}

/* Whether agreeing pair i (of n, in time order) is out of tolerance, judged
 * by the median of it and its neighbours: one word whose onset is a
 * consonant late does not make a crossing. */
static int pair_out(const double *offsets, int n, int i, const AvCriteria *c)
{
    double x = offsets[i];
    if (i > 0 && i < n - 1)
        x = median3(offsets[i - 1], x, offsets[i + 1]);
    else if (n >= 2) /* an end: with its one neighbour */
        x = 0.5 * (x + offsets[i == 0 ? 1 : i - 1]);
    return x < -c->early_s || x > c->late_s;
}

/* Where the defect starts, once the window's estimate is out of tolerance:
 * the first of the window's agreeing pairs from which on every one is out of
 * tolerance (for a constant offset the first pair; for a drift, where it
 * crossed), each judged with its neighbours. INFINITY if the last is in. */
static double run_start(const AvVideo *v, double from, double t_now, double center,
                        const AvCriteria *c)
{
    double times[AV_MAX_VISUAL], offsets[AV_MAX_VISUAL];
    int n = 0;
    for (size_t i = 0; i < v->ev_count; i++) {
        const AvVisual *e = ring_visual_c(v, i);
        if (in_window(e, from, t_now) && agrees(e, center, c->agree_s, &offsets[n]))
            times[n++] = e->t;
    }
    double start = INFINITY;
    for (int i = n - 1; i >= 0 && pair_out(offsets, n, i, c); i--)
        start = times[i];
    return start;
}

void av_estimate(const AvVideo *v, double t_now, const AvCriteria *c, AvEstimate *out)
{
    memset(out, 0, sizeof(*out));
    out->chance = 1.0;
    const double from = window_from(v, t_now, c);
    out->window_from = from;
    /* The median of each visual event's nearest onset: the lower middle, so
     * that with two camps of equal size it is one of them, not a mix. */
    double nearest[AV_MAX_VISUAL];
    int n = 0;
    for (size_t i = 0; i < v->ev_count; i++) {
        const AvVisual *e = ring_visual_c(v, i);
        if (!in_window(e, from, t_now))
            continue;
        out->events++;
        if (e->kept > 0)
            nearest[n++] = e->near_s[0];
    }
    if (n == 0)
        return;
    qsort(nearest, (size_t)n, sizeof(double), cmp_double);
    double center = nearest[(n - 1) / 2];
    /* The pairs that agree: each event's onset nearest that offset, within
     * agree_s of it. Every onset of an event counts, not only its nearest:
     * the nearest is not always the right one (a word's vowel after its
     * consonant, a note of the music bed). */
    double sum = 0;
    out->last_agree_t = -INFINITY;
    for (size_t i = 0; i < v->ev_count; i++) {
        const AvVisual *e = ring_visual_c(v, i);
        double offset_s;
        if (!in_window(e, from, t_now) || !agrees(e, center, c->agree_s, &offset_s))
            continue;
        sum += offset_s;
        out->pairs++;
        out->last_agree_t = e->t; /* the ring is in time order */
    }
    out->first_out_t = run_start(v, from, t_now, center, c);
    /* The mean of the agreeing pairs: visual events fall anywhere within a
     * frame, so the mean refines the frame-quantised offset. */
    out->offset_s = sum / out->pairs;
    out->confidence = (double)out->pairs / out->events;
    out->chance = chance_of(v, from, t_now, c, out->pairs);
    out->confident = out->pairs >= c->min_pairs && out->confidence >= c->min_confidence &&
                     out->chance <= c->max_chance;
}

double av_visual_after(const AvVideo *v, double t, double fallback)
{
    for (size_t i = 0; i < v->ev_count; i++)
        if (ring_visual_c(v, i)->t > t)
            return ring_visual_c(v, i)->t;
    return fallback;
}

void av_prune(AvVideo *v, AvAudio *a, const AvCriteria *c, double t_now)
{
    /* Later windows end later, so they start no earlier than this one. */
    const double from = window_from(v, t_now, c);
    while (v->ev_count > 0 && v->events[v->ev_head].mature && v->events[v->ev_head].t <= from) {
        v->ev_head = (v->ev_head + 1) % AV_MAX_VISUAL;
        v->ev_count--;
    }
    const double search_s = c->search_s;
    if (!v->seen)
        return; /* any onset may still meet a picture: the ring's size bounds them */
    /* No later visual event can come before the oldest unmatched one or the last picture. */
    double horizon = v->last_t;
    for (size_t i = 0; i < v->ev_count; i++)
        if (!ring_visual(v, i)->mature && ring_visual(v, i)->t < horizon)
            horizon = ring_visual(v, i)->t;
    while (a->on_count > 0 && a->onsets[a->on_head] < horizon - search_s) {
        a->on_head = (a->on_head + 1) % AV_MAX_ONSETS;
        a->on_count--;
    }
}
