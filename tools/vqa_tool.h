/*
 * The vqa command-line tool: what its parts share.
 *
 *   cli.c          command line → ToolOptions, usage text, the stderr logger
 *   scan.c         `vqa scan`: one context, one pull stream per input, signals
 *   monitor.c      `vqa monitor`: live inputs in real time, reconnects, heartbeats
 *   http_server.c  `vqa monitor --http`: the server, /events clients (http_server.h)
 *   http_streams.c `vqa monitor --http`: what it knows of the streams; /metrics, /streams
 *   plugins_cmd.c  `vqa plugins`: what was loaded and what failed, text or JSON
 *   json_out.c     JSON writing and the event sink (JSON Lines)
 *   sinks.c        --sink and --webhook: parsing, and adding them to a context
 *   progress.c     the progress line on standard error, and log lines that step around it
 *   report*.c      `scan --report`: the HTML report (report.h)
 *   vqa.c          main: dispatch to a command
 */
#ifndef VQA_TOOL_H
#define VQA_TOOL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>

#include <vqa/vqa.h>

/** Exit statuses, fixed by the design. */
enum {
    TOOL_EXIT_OK = 0,    /**< every input analysed (defects found are not failures) */
    TOOL_EXIT_INPUT = 1, /**< an input could not be opened or read, or the run failed */
    TOOL_EXIT_USAGE = 2, /**< a usage error */
};

/** ToolOptions.progress */
enum {
    TOOL_PROGRESS_AUTO = 0, /**< a progress line when standard error is a terminal */
    TOOL_PROGRESS_ON = 1,   /**< --progress */
    TOOL_PROGRESS_OFF = 2,  /**< --no-progress */
};

typedef enum ToolCommand {
    TOOL_CMD_NONE = 0,
    TOOL_CMD_SCAN,
    TOOL_CMD_MONITOR,
    TOOL_CMD_PLUGINS,
    TOOL_CMD_HELP,
    TOOL_CMD_VERSION,
} ToolCommand;

typedef enum ToolSinkType {
    TOOL_SINK_JSONL = 1,
    TOOL_SINK_WEBHOOK,
} ToolSinkType;

/** One --sink or --webhook. */
typedef struct ToolSink {
    ToolSinkType type;
    char *path;                    /**< jsonl: the file (malloc'd) */
    long long max_bytes;           /**< jsonl: rotate beyond this size, 0 never */
    int keep;                      /**< jsonl: rotated files kept, -1 the library's default */
    const char *url;               /**< webhook: points into argv */
} ToolSink;

/** The parsed command line. Strings point into argv. */
typedef struct ToolOptions {
    ToolCommand command;
    const char *detectors;         /**< -d SPEC, NULL: every detector */
    const char **plugin_paths;     /**< NULL-terminated (malloc'd array), or NULL */
    size_t nb_plugin_paths;
    int n_threads;                 /**< --threads, 0: one per core */
    int cost;                      /**< --cost: VQA_COST_* */
    const char *hwaccel;           /**< --hwaccel TYPE, or NULL */
    const char *output_path;       /**< -o FILE, NULL or "-": standard output */
    const char *report_path;       /**< --report FILE, or NULL */
    int progress;                  /**< TOOL_PROGRESS_* */
    VqaLogLevel log_level;
    int log_level_set;             /**< -v, -q or --log-level was given */
    int json;                      /**< plugins --json */
    /* monitor */
    double stall_timeout;          /**< --stall-timeout S, 0: the library's default */
    double io_timeout;             /**< --timeout S, 0: the library's default */
    int reconnect;                 /**< --reconnect N|forever (default forever) */
    double reconnect_max_delay;    /**< --reconnect-max-delay S, 0: default */
    const char *protocols;         /**< --protocols LIST */
    const char *input_options;     /**< --input-options K=V:K=V */
    const char *stats_path;        /**< --stats FILE, NULL: standard error */
    double stats_interval;         /**< --stats-interval S (default 10) */
    ToolSink *sinks;               /**< --sink and --webhook, in order (malloc'd) */
    size_t nb_sinks;
    const char *http;              /**< --http [ADDR:]PORT (checked), NULL: no server */
    char **inputs;                 /**< points into argv */
    int nb_inputs;
} ToolOptions;

/* cli.c */

/**
 * Parse the command line. On a usage error the message is already printed.
 * @return 0, TOOL_EXIT_USAGE, or -ENOMEM.
 */
int cli_parse(ToolOptions *opts, int argc, char **argv);
void cli_free(ToolOptions *opts);
/** Print the full help to f. */
void cli_print_help(FILE *f);
/** Print "vqa: MESSAGE" and the hint to stderr. @return TOOL_EXIT_USAGE. */
int cli_usage_error(const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 1, 2)))
#endif
    ;
/** Monotonic seconds. */
double cli_now_s(void);
/**
 * Check a detector spec before any stream starts; print the reason.
 * @return 0, or TOOL_EXIT_USAGE.
 */
int cli_check_spec(VqaContext *ctx, const char *spec);
/** A logger writing "vqa: LEVEL: message" lines to standard error. */
VqaLogger cli_logger(VqaLogLevel level);
/**
 * Split an input argument: "ID=URL" gives id and url when ID matches
 * [A-Za-z0-9_.-]+ and URL is not empty; otherwise the whole argument is the URL.
 * @param id receives the id (NUL-terminated) or "" when there is none
 * @return the URL part (points into arg)
 */
const char *cli_split_input(const char *arg, char *id, size_t id_size);
/**
 * Stream settings of input i from the options shared by scan and monitor:
 * url and id (the "ID=" part, else the input's index, written to id),
 * detectors, cost level, hardware decoding.
 */
void cli_stream_settings(const ToolOptions *opts, int i, VqaStreamSettings *ss, char *id,
                         size_t id_size);

/* sinks.c */

/** Parse "jsonl:PATH[:max_bytes=N][:keep=K]". @return 0, TOOL_EXIT_USAGE (printed), -ENOMEM. */
int cli_parse_sink(const char *spec, ToolSink *sink);
/** Check a --webhook URL. @return 0 or TOOL_EXIT_USAGE (printed). */
int cli_parse_webhook(const char *url, ToolSink *sink);
/**
 * Add every sink of the command line to the context; the first that fails is
 * reported on standard error. @return TOOL_EXIT_OK, TOOL_EXIT_INPUT (cannot
 * open) or TOOL_EXIT_USAGE (not supported by this build).
 */
int tool_add_sinks(VqaContext *ctx, const ToolOptions *opts);

/* json_out.c */

/** Write s as a JSON string ("null" for NULL). */
void json_write_string(FILE *f, const char *s);
/** Write a number; non-finite values become null. */
void json_write_number(FILE *f, double v);

/** Writes a JSON document as a stream of calls; commas are placed for the caller. */
typedef struct JsonWriter {
    FILE *f;
    int depth;
    unsigned char has_items[32]; /**< per nesting level: something was written already */
} JsonWriter;

void json_init(JsonWriter *w, FILE *f);
/** Begin an object or array; key is the member name inside an object, NULL elsewhere. */
void json_begin_object(JsonWriter *w, const char *key);
void json_end_object(JsonWriter *w);
void json_begin_array(JsonWriter *w, const char *key);
void json_end_array(JsonWriter *w);
void json_str(JsonWriter *w, const char *key, const char *value);
/** A number; non-finite values become null. */
void json_num(JsonWriter *w, const char *key, double value);
void json_bool(JsonWriter *w, const char *key, int value);
void json_null(JsonWriter *w, const char *key);

/** Writes events as JSON Lines; one per context (events arrive serialised). */
typedef struct EventSink {
    FILE *file;
    int owns_file;
    int write_error;   /**< errno of the first failed write, 0 if none */
    long long nb_events;
} EventSink;

/** Open the sink on path (NULL or "-": standard output). @return 0 or -errno. */
int event_sink_open(EventSink *sink, const char *path);
/** A VqaEventCallback; cookie is the EventSink. One line per event, flushed. */
void event_sink_write(void *cookie, const VqaEvent *event);
/** Flush and close. @return 0, or -errno of the first write or close error. */
int event_sink_close(EventSink *sink);

/* progress.c */

/** What the progress line shows; filled by the scan. */
typedef struct ProgressSample {
    double media_s;    /**< media seconds read, summed over the inputs */
    double duration_s; /**< their durations summed; 0 when any is unknown */
    int nb_inputs;
    int nb_finished;
} ProgressSample;

/** Fills a sample; called from the progress thread. */
typedef void (*ProgressSampler)(void *cookie, ProgressSample *out);

/**
 * The progress line on standard error and the lock every other writer of
 * standard error takes while it runs. Thread-safety: progress_count_event,
 * progress_message and progress_log may be called from any thread; the
 * rest from the thread that owns it.
 */
typedef struct Progress {
    int enabled;
    int running;
    ProgressSampler sampler;
    void *cookie;
    pthread_t thread;
    pthread_mutex_t lock; /* guards stop, shown_len and writes to stderr */
    pthread_cond_t wake;
    int stop;
    size_t shown_len;     /* characters of the line on screen, 0 when erased */
    double start_s;
    atomic_llong defects;
} Progress;

/** Set up; enabled 0 makes every call a plain write (no line, no summary). */
void progress_init(Progress *p, int enabled, ProgressSampler sampler, void *cookie);
/** Start the clock and, when enabled, the thread drawing the line. @return 0 or -1. */
int progress_start(Progress *p);
/** Stop drawing, erase the line and print the one-line summary (when enabled). */
void progress_stop(Progress *p);
void progress_destroy(Progress *p);
/** Count an event: starts and instants of severity warning or error are defects. */
void progress_count_event(Progress *p, const VqaEvent *event);
long long progress_defects(Progress *p);
/** Write to standard error, erasing the line first when it is shown. */
void progress_message(Progress *p, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
/** A VqaLogger callback (cookie: the Progress) writing "vqa: LEVEL: message" lines. */
void progress_log(void *cookie, VqaLogLevel level, const char *msg);

/* commands */
int cmd_scan(const ToolOptions *opts);
int cmd_monitor(const ToolOptions *opts);

/** Show FFmpeg's own log lines on standard error only at -v and above. */
void tool_route_libav_log(VqaLogLevel level);
int cmd_plugins(const ToolOptions *opts);

#endif /* VQA_TOOL_H */
