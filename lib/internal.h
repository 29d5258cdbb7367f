/*
 * The shapes shared by the context, streams, the bus and detector
 * instances. Only lib/ sees these.
 *
 * Data flow of one stream:
 *   input (demux strand on the I/O pool, or the host's push calls)
 *     → input queue (packets or decoded frames, bounded)
 *     → decode strand (compute pool): decode, normalise time, notice gaps
 *     → bus: convert once per distinct format, fan a reference out to
 *       each subscribed detector's queue (bounded)
 *     → one strand per detector instance (compute pool): process in order
 *     → events → the context's callback (serialised)
 */
#ifndef VQA_LIB_INTERNAL_H
#define VQA_LIB_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>

#include "convert.h"
#include "options.h"
#include "pool.h"
#include "registry.h"
#include "sinks.h"
#include "vqa/context.h"
#include "vqa/stream.h"

#define VQA_MAX_OPEN_DEFECTS 16

struct VqaContext {
    VqaSettings settings;
    char **plugin_paths;          /* owned copy of settings.plugin_paths */
    VqaRegistry *registry;
    VqaPool *compute;             /* analysis: decode, convert, detectors */
    VqaPool *io;                  /* opening and reading inputs only */
    pthread_mutex_t event_lock;   /* serialises the event callback; guards sinks */
    VqaSinkList sinks;            /* event sinks, each with its own thread and queue */
    pthread_mutex_t lock;         /* guards the stream list */
    VqaStream **streams;
    size_t nb_streams, cap_streams;
    unsigned next_index;
    size_t blocking_readers;      /* live pull streams ever added: one I/O thread each */
    pthread_t watch_thread;       /* stall watch, started with the first live stream */
    pthread_cond_t watch_cond;
    int watch_started, watch_stop;
};

/**
 * What the input side tells the decode strand in order with the media: an
 * event to emit, a reopened input's new decoders and timeline, the end of
 * a stall. Owned by its item.
 */
typedef struct VqaInputNote {
    const char *kind;             /* a converter event to emit, or NULL */
    VqaEventState state;          /* 0: instant */
    double t, value, duration;
    int has_value;
    VqaSeverity severity;
    char *details;                /* JSON object, owned */
    int reset_timeline;           /* media was skipped (and reported): no gap check next */
    int reopened;                 /* the input was reopened: */
    AVCodecParameters **params;   /*   per track slot, NULL if the track is gone */
    size_t nb_params;
    AVRational *time_bases;       /*   per track slot */
    double start_s;               /*   the timeline origin from now on */
    int stall_over;               /* media flows again after a stall */
    int on_stream_clock;          /* t is on the input's own time base, not yet the timeline */
    struct VqaInputNote *next;    /* held while the input opens */
} VqaInputNote;

/** An item of a stream's input queue. */
typedef struct VqaInputItem {
    struct VqaInputItem *next;
    AVPacket *packet;             /* pull: a packet of `track` */
    AVFrame *frame;               /* push: a decoded frame */
    VqaInputNote *note;           /* pull: news from the input side */
    AVRational time_base;         /* push: of frame->pts */
    VqaMediaType type;            /* push: which kind of track */
    int track;                    /* pull: track slot; push: audio track number */
    int eos;                      /* the input has ended (or stops) */
} VqaInputItem;

typedef struct VqaTrack VqaTrack;
typedef struct VqaDetectorInstance VqaDetectorInstance;

/** One distinct output format of a track and the detectors that read it. */
typedef struct VqaFormatGroup {
    VqaFormatKey key;
    VqaConvert *convert;
    VqaDetectorInstance **subs;
    size_t nb_subs;
} VqaFormatGroup;

struct VqaTrack {
    VqaMediaType type;
    int number;                   /* index among the stream's tracks of this type */
    int av_index;                 /* pull: index of the AVStream; push: -1 */
    AVCodecContext *decoder;      /* pull only */
    AVRational time_base;
    double frame_rate;
    int64_t frames;               /* frames out of the decoder (or pushed) */
    double next_t;                /* expected media time of the next frame; < 0 unknown */
    double last_end_t;            /* end of the latest frame */
    int64_t decode_errors, errors_reported;
    double last_error_report_t;
    int instances_made;
    VqaFormatGroup *groups;
    size_t nb_groups;
    VqaLumaBase *luma_base;       /* 2x2 luma sums shared by the GRAY8 proxies (bus.c) */
};

typedef struct VqaOpenDefect {
    char *kind;
    double t_start;
} VqaOpenDefect;

struct VqaDetectorInstance {
    VqaDetectorContext pub;       /* first: plugins see this part */
    VqaStreamInfo info;
    VqaStream *stream;
    const VqaDetectorClass *cls;
    VqaOptionStore options;
    VqaTrack *track;
    double min_interval_s;        /* from input.max_rate_hz */
    double last_delivered_t;
    /* queue, guarded by the stream lock */
    const VqaFrame **queue;
    size_t q_head, q_count, q_cap;
    size_t q_limit;               /* the bound: files wait, live inputs drop beyond it */
    int eos_queued;
    VqaStrand strand;
    /* touched only by the instance's strand (and the decode strand before the first frame) */
    int inited;                   /* init() succeeded */
    atomic_int failed;            /* init or process failed: frames are dropped */
    int flushing;
    int done;
    double last_t;                /* end of the latest frame processed */
    VqaOpenDefect open[VQA_MAX_OPEN_DEFECTS];
    size_t nb_open;
    /* live overload, touched by the decode strand under the stream lock: the
     * span of frames this instance missed, reported once it gets frames again */
    int64_t drop_frames;
    double drop_start_t, drop_end_t;
    int drop_report;              /* the span is complete: report it */
    atomic_llong analysed, dropped;
    atomic_llong cpu_ns;          /* thread CPU time spent in process() */
    _Atomic double media_time;    /* last_t, for readers on other threads */
};

struct VqaStream {
    atomic_int refs;
    VqaContext *ctx;
    const VqaLogger *log;
    char *id, *url;
    char *hwaccel;                /* pull: device type asked for, or NULL */
    VqaStreamSettings settings;
    VqaSpec spec;
    int push;                     /* push mode */

    pthread_mutex_t lock;         /* guards everything below that is not atomic */
    pthread_cond_t cond;          /* finished, room in the input queue */
    VqaInputItem *in_head, *in_tail;
    size_t in_count, in_cap;
    int input_ended;              /* EOS item queued */
    int demux_parked, decode_parked;
    int converter_done;           /* EOS published to every detector */
    int finished;
    int status;                   /* 0 or the input's error */
    char *input_error_details;    /* the input's stream.error, emitted at the end of input */
    double input_error_t;
    size_t active_detectors;
    atomic_int stop;

    /* pull input, touched by the demux strand */
    AVFormatContext *fmt;
    char *protocols;              /* the whitelist in force */
    char *input_options;
    int is_file;                  /* a local file: its end is the end */
    int opened;                   /* the first open was tried */
    int attempts;                 /* failed opens and reads since media last flowed */
    int refused_reported;         /* URLs refused by the whitelist, reported */
    VqaStrand demux;
    double read_end_s;            /* end of the latest packet read, media seconds */
    double demux_start_s;         /* the timeline origin as the reader sees it */
    double lost_wall_s;           /* when the input was lost, monotonic seconds */
    double pace_wall_s, pace_media_s; /* realtime: media time pace_media_s was due at pace_wall_s */
    int skipping;                 /* live overload: packets dropped until a key frame */
    int64_t skipped_packets;
    double skip_start_t;
    atomic_llong io_deadline_ns;  /* the interrupt callback gives up after this; 0: never */
    /* transport checks of a TS byte stream (tsmon.h): the reader feeds it
     * through its own AVIOContext, the watch thread ticks it; ts_lock
     * serialises the two */
    struct VqaTsMon *tsmon;
    pthread_mutex_t ts_lock;
    AVIOContext *ts_inner;        /* the input's own I/O, read through ts_pb */
    AVIOContext *ts_pb;
    int64_t ts_fed_to;            /* bytes below this offset were fed already */
    int ts_closed;                /* the input has ended: no more reports */
    int hold_notes;               /* opening: notes wait (under lock) until the timeline is known */
    VqaInputNote *held_head, *held_tail;
    double ts_open_t[8];          /* start time of each open interval kind (tsmon's kinds) */
    const char *ts_open_kind[8];
    VqaInputNote *reopen_note;    /* a reopened input's decoders, sent with its first packet */
    char refusal[400];            /* why the whitelist refused an open, for the error */
    int (*io_open_default)(AVFormatContext *fmt, AVIOContext **pb, const char *url, int flags,
                           AVDictionary **options);

    /* stall watch (live pull inputs), guarded by watch_lock */
    pthread_mutex_t watch_lock;
    int stall_state;              /* STALL_* in demux.c */
    double stall_wall_s;          /* when the stall began */
    double stall_t;               /* its media time */
    double stall_value;           /* wall seconds it lasted, once over */
    atomic_llong last_data_ns;    /* when the input last delivered a packet */
    int stall_over_pending;       /* decode strand: end the stall at the next frame */
    int reconnected;              /* decode strand: the next frame follows a reopen */
    double reconnect_from_t;      /* where the media analysed before it ended */

    /* decode strand state */
    VqaStrand decode;
    VqaTrack *tracks;
    size_t nb_tracks;
    int *track_of_av_index;       /* pull: AVStream index → track slot, -1 if unused */
    double start_s;               /* media time origin, NAN until known */
    VqaDetectorInstance **instances;
    size_t nb_instances;
    AVFrame *scratch;
    AVFrame *sw_scratch;          /* a hardware frame copied for the CPU */

    /* statistics */
    atomic_int input_state;       /* VqaInputState */
    atomic_int reconnects;
    _Atomic double read_media_time; /* read_end_s, for readers on other threads */
    atomic_llong packets_read, frames_decoded, decode_errors, events, input_dropped;
    _Atomic double media_time;
    double duration_s;
};

/* context.c */
void vqa_context_dispatch(VqaContext *ctx, const VqaEvent *ev);
int vqa_context_add_stream(VqaContext *ctx, VqaStream *s);
void vqa_context_remove_stream(VqaContext *ctx, VqaStream *s);

/* stream.c */
void vqa_stream_hold(void *stream);
void vqa_stream_release(void *stream);
/** Emit an input event (detector "converter"). details_json may be NULL. */
void vqa_stream_emit(VqaStream *s, const char *kind, VqaEventState state, double t,
                     double value, int has_value, VqaSeverity severity, const char *details_json);
/** Queue an input item; the queue may exceed its bound by the caller's choice. */
void vqa_stream_enqueue_input(VqaStream *s, VqaInputItem *item);
/** Called with the lock held: finish if the converter and every detector are done. */
void vqa_stream_check_finished_locked(VqaStream *s);
void vqa_input_item_free(VqaInputItem *item);
/**
 * Queue a pushed frame, waiting for room (or not, per the settings).
 * On success the library owns item; on error the caller keeps it.
 * @return 0, VQA_ERR(EAGAIN), VQA_ERROR_STOPPED.
 */
int vqa_stream_push_item(VqaStream *s, VqaInputItem *item);

/* demux.c: pull inputs */
/** Check the live-input settings; msg gets the reason. */
int vqa_demux_check_settings(const VqaStreamSettings *set, char *msg, size_t size);
/** Set up a pull stream's reader state (whitelist, options) from its settings. */
int vqa_demux_init(VqaStream *s, const VqaStreamSettings *set);
void vqa_demux_work(VqaStrand *strand);
/** Reader thread (or the watch thread): hand a note to the decode strand, in order. */
void vqa_demux_send_note(VqaStream *s, VqaInputNote *note);

/* tsinput.c: transport checks on the raw bytes of a pull input */
/** Does the input carry a raw byte stream that may be MPEG-TS? */
int vqa_tsinput_wanted(const VqaStream *s);
/** Open the input's own I/O behind a byte-feeding AVIOContext; sets fmt->pb. */
int vqa_tsinput_open(VqaStream *s, AVFormatContext *fmt, const AVDictionary *opts);
/** End open intervals (before a reconnect; for_good: at the end, no more reports). */
void vqa_tsinput_reset(VqaStream *s, int for_good);
/** Close the I/O of this connection (NULL-safe when none). */
void vqa_tsinput_close(VqaStream *s);
/** The watch thread: wall-clock timeouts. */
void vqa_tsinput_tick(VqaStream *s, double now_s);
void vqa_tsinput_free(VqaStream *s);
/** Decode strand: act on a note from the input side. */
void vqa_demux_apply_note(VqaStream *s, VqaInputNote *note);
void vqa_input_note_free(VqaInputNote **note);

/* stall.c: stream.stall of live pull inputs */
/** The context's watch thread: start or keep a stall of a live input (and tick TS checks). */
void vqa_demux_watch(VqaStream *s, double now_s);
/** Reader: a packet arrived; a stall that was open is over (the decode strand ends it). */
void vqa_stall_media_arrived(VqaStream *s);
/** Decode strand: media flows again at t (or the input ends, closed_by_eos). */
void vqa_demux_stall_over(VqaStream *s, double t, int closed_by_eos);
int vqa_demux_decode_packet(VqaStream *s, VqaInputItem *item);
int vqa_demux_drain(VqaStream *s);
void vqa_demux_close(VqaStream *s);

/* bus.c */
/** Deliver one decoded frame of a track: time, gaps, instances, conversion, fan-out. */
int vqa_bus_publish(VqaStream *s, VqaTrack *track, AVFrame *frame, AVRational time_base);
/** Drain resamplers and queue EOS to every instance. */
void vqa_bus_end(VqaStream *s);
/** With the stream lock held: is there room in every detector queue? */
int vqa_bus_has_room_locked(const VqaStream *s);
void vqa_bus_free_track(VqaTrack *track);

/* detector.c */
int vqa_detector_create(VqaStream *s, VqaTrack *track, const VqaSpecItem *item,
                        VqaDetectorInstance **out);
/** Init with the first frame it will see. Failure is reported and the instance is marked failed. */
void vqa_detector_start(VqaDetectorInstance *d, const VqaFrame *first);
/** With the stream lock held: queue a frame reference (transfer full) or drop it when full. */
void vqa_detector_enqueue_locked(VqaDetectorInstance *d, const VqaFrame *frame, int live);
void vqa_detector_enqueue_eos_locked(VqaDetectorInstance *d);
void vqa_detector_free(VqaDetectorInstance **d);

#endif
