/*
 * `vqa scan --report FILE`: one self-contained HTML file per scan.
 *
 *   report.c        collects events and per-input facts during the scan,
 *                   then runs the media passes and writes the document
 *   report_media.c  re-reads a file input: thumbnails of video defects,
 *                   audio levels per window (libavformat/libavcodec/swscale)
 *   report_html.c   the HTML: escaping, summary, event table, thumbnails
 *   report_svg.c    the SVG plots: defect timeline, audio levels
 *
 * The document has no reference to anything outside itself: styles and the
 * script are inline, pictures are data: URIs, and a Content-Security-Policy
 * forbids every fetch, so even injected markup could not load anything.
 */
#ifndef VQA_TOOL_REPORT_H
#define VQA_TOOL_REPORT_H

#include <stdint.h>
#include <stdio.h>

#include "vqa_tool.h"

/* The most thumbnails per input: the report stays a size a browser opens. */
#define REPORT_MAX_THUMBS 100
/* Thumbnails fit in this box, aspect kept. */
#define REPORT_THUMB_MAX_W 240
#define REPORT_THUMB_MAX_H 180
/* Wall-clock budget of each media pass over one input (seconds). */
#define REPORT_PASS_BUDGET_S 120.0
/* The audio plot has at most this many windows. */
#define REPORT_MAX_LEVEL_POINTS 1500
/* Levels below this are drawn at it (digital silence has no level). */
#define REPORT_LEVEL_FLOOR_DB (-100.0)

/** One event, copied out of the callback. */
typedef struct ReportEvent {
    char *stream;
    char *detector;
    char *kind;
    char *details;        /**< the details JSON object, or NULL */
    VqaEventState state;
    VqaSeverity severity;
    double t;
    double duration;
    double value;
    int has_value;
    size_t seq;           /**< arrival order */
} ReportEvent;

/** A detector instance that ran on an input. */
typedef struct ReportDetector {
    char name[64];
    int track;
    VqaMediaType type;
    int64_t frames_analysed;
    double cpu_seconds;
} ReportDetector;

/** Audio levels of one track, one value per window of window_s seconds. */
typedef struct ReportLevels {
    int track;            /**< 0-based among the input's audio tracks */
    double window_s;
    size_t n;
    double *rms_db;       /**< dBFS, all channels together; NAN: no samples in the window */
    double *peak_db;      /**< dBFS of the largest sample; NAN as above */
    int channels;
    int sample_rate;
} ReportLevels;

/** The thumbnail of one video defect. */
typedef struct ReportThumb {
    size_t event;         /**< index into Report.events */
    double t;             /**< the event's start */
    double frame_t;       /**< the time of the frame shown */
    char *data_uri;       /**< "data:image/jpeg;base64,…", NULL when none could be made */
} ReportThumb;

typedef struct ReportInput {
    char *arg;            /**< the command-line argument */
    char *url;
    char *id;             /**< the stream id of its events */
    int added;            /**< a stream was made for it */
    int finished;         /**< report_input_done was called */
    int result;           /**< vqa_stream_wait's result, or the add error */
    double media_s;       /**< the latest media time read */
    double duration_s;    /**< the container's duration, 0 if unknown */
    int64_t decode_errors;
    ReportDetector *detectors;
    size_t nb_detectors;
    ReportThumb *thumbs;
    size_t nb_thumbs;
    size_t nb_thumbs_skipped; /**< video defects past REPORT_MAX_THUMBS */
    ReportLevels *levels;
    size_t nb_levels;
    char media_note[256]; /**< why thumbnails or levels are missing, or "" */
} ReportInput;

/** Asked between steps of the media passes: nonzero stops them. */
typedef int (*ReportCancel)(void *cookie);

typedef struct Report {
    FILE *f;
    char *path;
    ReportEvent *events;
    size_t nb_events;
    size_t cap_events;
    int out_of_memory;    /**< an event could not be kept */
    ReportInput *inputs;
    size_t nb_inputs;
    int *event_input;     /**< per event: the index of its input or -1 (set by report_write) */
    char *spec;           /**< the -d spec, or NULL */
    double started_s;     /**< CLOCK_REALTIME at the start */
    double scan_wall_s;   /**< seconds the scan took */
    int interrupted;      /**< the scan or the media passes were interrupted */
    ReportCancel cancel;
    void *cancel_cookie;
} Report;

/* report.c — used by scan.c */

/**
 * Create the report file at once (so a bad path fails before the scan) and
 * describe the inputs (command-line arguments, ID=URL as the scan reads them).
 * @return 0 or -errno (the file is not created).
 */
int report_open(Report *r, const char *path, char *const *inputs, int nb_inputs,
                const char *spec);
/** The stream of input index was added (added = 1) or failed to be (result). */
void report_input_added(Report *r, int index, int result);
/** Copy the counters of a finished stream; call before vqa_close. */
void report_input_done(Report *r, int index, VqaStream *stream, int result);
/** Keep a copy of an event. Called from the event callback (serialised). */
void report_add_event(Report *r, const VqaEvent *event);
/**
 * Run the media passes and write the document.
 * @param cancel asked while re-reading inputs; may be NULL
 * @return 0, or -errno of a failed write (a missing thumbnail is not a failure)
 */
int report_write(Report *r, double scan_wall_s, int interrupted, ReportCancel cancel,
                 void *cookie);
/** Free everything; closes the file if report_write was not called. */
void report_close(Report *r);

/* report_media.c */

/**
 * Whether an input can be read again for thumbnails and levels: only regular
 * local files can (a URL may not give the same media twice).
 * @return 1, or 0 with the reason in why
 */
int report_media_rereadable(const char *url, char *why, size_t why_size);
/**
 * Decode the video frame at each thumb's t (sorted by t) and set data_uri.
 * @return 0, or a negative AVERROR when the input or its video could not be
 *         opened (note says why); thumbs it could not make stay NULL.
 */
int report_media_thumbnails(const char *url, ReportThumb *thumbs, size_t n, const Report *r,
                            char *note, size_t note_size);
/**
 * Decode the audio tracks levels[i].track and fill the windows.
 * @param duration_s the input's length, to choose the window (0: unknown)
 * @return 0, or a negative AVERROR (note says why)
 */
int report_media_levels(const char *url, double duration_s, ReportLevels *levels, size_t n,
                        const Report *r, char *note, size_t note_size);
/** The window the level plot uses for an input of this length. */
double report_level_window(double duration_s);

/* report_html.c */

/** Write text with &, <, >, " and ' escaped; control characters become U+FFFD. */
void html_text(FILE *f, const char *s);
/** Write the whole document. @return 0 or -errno. */
int report_html_write(const Report *r);
/** The input an event belongs to (the first with its stream id), or NULL. */
const ReportInput *report_event_input(const Report *r, const ReportEvent *ev);
/** A kind of an input's events and how many starts and instants it has. */
typedef struct ReportKind {
    const char *kind;
    size_t count;
} ReportKind;
/**
 * The kinds of an input's events, sorted by name.
 * @param out receives a malloc'd array (the caller frees), NULL when there are none
 * @return the number of kinds
 */
size_t report_input_kinds(const Report *r, const ReportInput *in, ReportKind **out);
/** The colour of a kind: fixed for the known kinds, derived from the name otherwise. */
void report_kind_color(const char *kind, char *buf, size_t size);

/* report_svg.c */

/** The defect timeline of one input: one lane per kind. */
void report_svg_timeline(FILE *f, const Report *r, const ReportInput *in, double length_s);
/** The level plot of one audio track, with the input's audio defects shaded. */
void report_svg_levels(FILE *f, const Report *r, const ReportInput *in,
                       const ReportLevels *lv, double length_s);
/** The media length a plot of this input spans: duration, media read and events. */
double report_input_length(const Report *r, const ReportInput *in);

#endif /* VQA_TOOL_REPORT_H */
