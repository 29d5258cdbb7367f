/*
 * The avsync plugin's parts, shared between its two files: the event finders
 * (audio onsets, visual events) and the offset estimate of the content tier
 * live in avsync_onsets.c; options, the clock tier, the defect runs and the
 * class in avsync.c. Private to the plugin.
 */
#ifndef VQA_PLUGINS_AVSYNC_H
#define VQA_PLUGINS_AVSYNC_H

#include <stddef.h>
#include <stdint.h>

#include "vqa/frame.h"

/* Audio envelope: RMS over 5 ms hops; the baseline is the mean energy of the
 * 100 ms before the hop, so a beep after silence or a hit over a quiet bed
 * both read as a sharp rise. */
#define AV_HOP_S 0.005
#define AV_BASE_HOPS 20
/* A sound may take this many hops (50 ms) to rise: the baseline ends this
 * far before the hop judged, and the onset is traced back over them. */
#define AV_ATTACK_HOPS 10
#define AV_ENERGY_HOPS (AV_BASE_HOPS + AV_ATTACK_HOPS + 1)
#define AV_KEPT_HOPS (AV_ATTACK_HOPS + 1)
/* Two onsets closer than this are one sound (a beep's own ripple). */
#define AV_ONSET_REFRACTORY_S 0.1
/* Frames whose difference must stay well below an event's (flash, cut). */
#define AV_VIDEO_HISTORY 4

/* Bounded memory: at most this many event times are kept. */
#define AV_MAX_ONSETS 2048
#define AV_MAX_VISUAL 512

/* Onsets are looked for in two bands: the signal itself and its first
 * difference (+6 dB per octave), where a consonant, a click or a hit stands
 * out over a bed whose energy is in the low and middle frequencies. */
#define AV_BANDS 2

/** One band's envelope. */
typedef struct AvBand {
    float *hops;             /* the samples of the last AV_KEPT_HOPS hops, a ring;
                              * hop n is at (n % AV_KEPT_HOPS) * hop_len */
    float hop_peak[AV_KEPT_HOPS];      /* each kept hop's peak */
    double energy[AV_ENERGY_HOPS];     /* mean square of the last hops, ring by hop_n */
} AvBand;

/** Audio onsets from the energy envelope, with times precise to a sample. */
typedef struct AvAudio {
    double rise_db;          /* option: rise over the baseline that makes an onset */
    double min_level_db;     /* option: an onset's hop must reach this level (dBFS) */

    int rate;                /* of the buffers (0 before the first) */
    int hop_len;             /* samples per hop */
    int hop_pos;             /* samples in the hop being filled */
    int64_t hop_n;           /* the hop being filled, counted since the last restart */
    double hop_t[AV_KEPT_HOPS];        /* media time of each kept hop's first sample */
    float last_x;            /* the previous sample, for the difference band */
    AvBand band[AV_BANDS];
    double last_onset_t;
    double end_t;            /* audio analysed up to here */
    int seen;

    double onsets[AV_MAX_ONSETS]; /* ring, in time order */
    size_t on_head, on_count;
} AvAudio;

/* A visual event keeps the offsets of at most this many onsets (the nearest). */
#define AV_MAX_NEARBY 8

/** One visual event: a frame that differs sharply from a calm history. */
typedef struct AvVisual {
    double t;                /* the event frame's media time */
    float near_s[AV_MAX_NEARBY]; /* audio onsets within the search range, minus t */
    int kept;                /* entries in near_s */
    int nearby;              /* audio onsets within the search range (all of them) */
    int mature;              /* all audio around it has been analysed */
} AvVisual;

/** Visual events from the frame difference of a small GRAY8 proxy. */
typedef struct AvVideo {
    double jump;             /* option: mean |difference| (fraction of 255) of an event */
    double rise;             /* option: and this many times the recent frames' difference */

    uint8_t *prev;           /* the previous picture, packed */
    int prev_w, prev_h;
    double history[AV_VIDEO_HISTORY]; /* differences of the previous frames, newest first */
    int history_count;
    double last_t, frame_s;  /* last frame's time and the frame interval */
    double end_t;
    int seen;

    AvVisual events[AV_MAX_VISUAL]; /* ring, in time order */
    size_t ev_head, ev_count;
} AvVideo;

/** The content tier's view of the last `window` seconds. */
typedef struct AvEstimate {
    int confident;
    double offset_s;         /* mean of the pairs that agree with the estimate */
    double confidence;       /* agreeing pairs / visual events in the window */
    int pairs;               /* agreeing pairs */
    int events;              /* visual events in the window */
    double chance;           /* probability that as many pairs agree by chance */
    double last_agree_t;     /* latest visual event of an agreeing pair */
    double first_out_t;      /* agreeing pairs from here on are each out of tolerance */
    double window_from;      /* the window was (window_from, t_now] */
} AvEstimate;

/** Analyse one audio buffer (any channel count, FLTP). @return 0 or VQA_ERR(ENOMEM). */
int av_audio_feed(AvAudio *a, const VqaFrame *f);
void av_audio_free(AvAudio *a);

/** Analyse one GRAY8 picture. @return 0 or VQA_ERR(ENOMEM). */
int av_video_feed(AvVideo *v, const VqaFrame *f);
void av_video_free(AvVideo *v);

/**
 * Match the oldest visual event that is not yet mature, if the audio around
 * it (search_s either side) has been analysed or `all` is set.
 * @return the event (now mature) or NULL when none is ready.
 */
const AvVisual *av_mature_next(AvVideo *v, const AvAudio *a, double search_s, int all);

/** What makes an estimate confident. */
typedef struct AvCriteria {
    double window_s;         /* visual events in (t_now - window_s, t_now] count, ... */
    int window_events;       /* ... or the last this many, if that reaches further back, ... */
    double max_window_s;     /* ... but never before t_now - max_window_s */
    double search_s;         /* the matching range either side */
    double agree_s;          /* pairs agree when within this of the median */
    int min_pairs;
    double min_confidence;
    double max_chance;
    double early_s, late_s;  /* the tolerance, for first_out_t */
} AvCriteria;

/** Estimate the offset over the mature visual events of the window ending at t_now. */
void av_estimate(const AvVideo *v, double t_now, const AvCriteria *crit, AvEstimate *out);

/** @return the time of the first visual event after t, or `fallback`. */
double av_visual_after(const AvVideo *v, double t, double fallback);

/** Forget visual events no later window can hold, and audio onsets no visual
 * event can match any more. */
void av_prune(AvVideo *v, AvAudio *a, const AvCriteria *crit, double t_now);

#endif /* VQA_PLUGINS_AVSYNC_H */
