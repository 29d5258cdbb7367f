/*
 * `vqa scan`: one context, one pull stream per input, events as JSON Lines.
 *
 * SIGINT and SIGTERM are blocked in every thread (the mask is set before the
 * library starts its threads, which inherit it) and taken by a watcher thread
 * with sigwait, so no library function ever runs in a signal handler. The
 * first signal stops every stream: detectors flush, open defects get their
 * end events, and the tool exits 1 because the inputs were not read to their
 * end. A second signal, at least a second later, exits at once.
 *
 * With --report the events are also kept for the HTML report, written after
 * the library is closed (report*.c); the progress line (progress.c) samples
 * every stream's counters from its own thread while the scan runs.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "report.h"
#include "vqa_tool.h"

#define STREAM_ID_MAX 256
/* A second signal sooner than this after the first is taken as the same request. */
#define REPEAT_SIGNAL_S 1.0

typedef struct ScanRun {
    pthread_mutex_t lock;       /* guards streams, nb_streams, done, interrupted */
    VqaStream **streams;
    const char **inputs;        /* the command-line argument of each stream, for messages */
    int *input_index;           /* the position of each stream's input on the command line */
    size_t nb_streams;
    int done;
    int interrupted;
    pthread_t watcher;
    sigset_t signals;
    EventSink *sink;
    Progress progress;
    Report *report;             /* NULL without --report */
} ScanRun;

static void stop_all(ScanRun *run)
{
    pthread_mutex_lock(&run->lock);
    run->interrupted = 1;
    for (size_t i = 0; i < run->nb_streams; i++)
        vqa_stream_stop(run->streams[i]);
    pthread_mutex_unlock(&run->lock);
}

static void *watch_signals(void *arg)
{
    ScanRun *run = arg;
    double first_signal_s = -1;
    for (;;) {
        int sig = 0;
        if (sigwait(&run->signals, &sig) != 0)
            continue;
        pthread_mutex_lock(&run->lock);
        int done = run->done;
        pthread_mutex_unlock(&run->lock);
        if (done)
            return NULL;
        if (sig == SIGUSR1)
            continue;
        /* `timeout` and process-group kills deliver one request twice at
         * once: only a signal well after the first one means "hurry". */
        if (first_signal_s >= 0 && cli_now_s() - first_signal_s < REPEAT_SIGNAL_S)
            continue;
        if (first_signal_s >= 0) {
            static const char msg[] = "vqa: interrupted again, exiting at once\n";
            ssize_t ignored = write(STDERR_FILENO, msg, sizeof(msg) - 1);
            (void)ignored;
            _exit(TOOL_EXIT_INPUT);
        }
        first_signal_s = cli_now_s();
        progress_message(&run->progress, "vqa: %s: stopping every input\n", strsignal(sig));
        stop_all(run);
    }
}

/* Block the signals in this thread before the library starts its own. */
static int watcher_start(ScanRun *run)
{
    sigemptyset(&run->signals);
    sigaddset(&run->signals, SIGINT);
    sigaddset(&run->signals, SIGTERM);
    sigaddset(&run->signals, SIGUSR1); /* wakes the watcher when the scan ends */
    if (pthread_sigmask(SIG_BLOCK, &run->signals, NULL) != 0)
        return -1;
    if (pthread_create(&run->watcher, NULL, watch_signals, run) != 0)
        return -1;
    return 0;
}

static void watcher_stop(ScanRun *run)
{
    pthread_mutex_lock(&run->lock);
    run->done = 1;
    pthread_mutex_unlock(&run->lock);
    pthread_kill(run->watcher, SIGUSR1);
    pthread_join(run->watcher, NULL);
}

/* Add one stream per input. Settings the library refuses (EINVAL: the reason is
 * logged) are a usage error; any other failure (out of memory) marks that input failed. */
static int add_streams(ScanRun *run, VqaContext *ctx, const ToolOptions *opts)
{
    int status = TOOL_EXIT_OK;
    for (int i = 0; i < opts->nb_inputs; i++) {
        char id[STREAM_ID_MAX];
        VqaStreamSettings ss;
        cli_stream_settings(opts, i, &ss, id, sizeof(id));
        VqaStream *stream = NULL;
        pthread_mutex_lock(&run->lock);
        int ret = run->interrupted ? VQA_ERROR_STOPPED : vqa_stream_add(ctx, &stream, &ss);
        if (ret >= 0) {
            run->inputs[run->nb_streams] = opts->inputs[i];
            run->input_index[run->nb_streams] = i;
            run->streams[run->nb_streams++] = stream;
        }
        pthread_mutex_unlock(&run->lock);
        if (run->report)
            report_input_added(run->report, i, ret);
        if (ret == VQA_ERR(EINVAL))
            return TOOL_EXIT_USAGE;
        if (ret < 0) {
            if (ret != VQA_ERROR_STOPPED)
                progress_message(&run->progress, "vqa: %s: %s\n", opts->inputs[i],
                                 vqa_strerror(ret));
            status = TOOL_EXIT_INPUT;
        }
    }
    return status;
}

static int wait_streams(ScanRun *run, const ToolOptions *opts)
{
    int status = TOOL_EXIT_OK;
    size_t nb_stopped = 0;
    /* Streams are only appended, and adding is over: no lock needed to read them. */
    for (size_t i = 0; i < run->nb_streams; i++) {
        int ret = vqa_stream_wait(run->streams[i], -1);
        if (ret == VQA_ERROR_STOPPED) {
            nb_stopped++;
            status = TOOL_EXIT_INPUT;
        } else if (ret < 0) {
            progress_message(&run->progress, "vqa: %s: %s\n", run->inputs[i],
                             vqa_strerror(ret));
            status = TOOL_EXIT_INPUT;
        }
        if (run->report)
            report_input_done(run->report, run->input_index[i], run->streams[i], ret);
    }
    progress_stop(&run->progress);
    if (nb_stopped > 0)
        fprintf(stderr, "vqa: interrupted: %zu of %d input(s) not read to the end\n",
                nb_stopped, opts->nb_inputs);
    return status;
}

static int run_streams(ScanRun *run, VqaContext *ctx, const ToolOptions *opts)
{
    int ret = cli_check_spec(ctx, opts->detectors);
    if (ret == 0)
        ret = tool_add_sinks(ctx, opts); /* after the spec: a usage error creates no file */
    if (ret != 0)
        return ret;
    run->streams = calloc((size_t)opts->nb_inputs, sizeof(*run->streams));
    run->inputs = calloc((size_t)opts->nb_inputs, sizeof(*run->inputs));
    run->input_index = calloc((size_t)opts->nb_inputs, sizeof(*run->input_index));
    if (!run->streams || !run->inputs || !run->input_index) {
        fprintf(stderr, "vqa: %s\n", vqa_strerror(VQA_ERR(ENOMEM)));
        return TOOL_EXIT_INPUT;
    }
    if (progress_start(&run->progress) < 0)
        fprintf(stderr, "vqa: cannot show progress\n");
    int add_status = add_streams(run, ctx, opts);
    int wait_status = wait_streams(run, opts);
    return add_status != TOOL_EXIT_OK ? add_status : wait_status;
}

/* The event callback: the library calls it from one thread at a time. */
static void on_event(void *cookie, const VqaEvent *event)
{
    ScanRun *run = cookie;
    event_sink_write(run->sink, event);
    progress_count_event(&run->progress, event);
    if (run->report)
        report_add_event(run->report, event);
}

/* The progress line's view of the scan: media read and length over every stream. */
static void sample_streams(void *cookie, ProgressSample *out)
{
    ScanRun *run = cookie;
    memset(out, 0, sizeof(*out));
    int duration_known = 1;
    pthread_mutex_lock(&run->lock);
    for (size_t i = 0; i < run->nb_streams; i++) {
        VqaStreamStats st;
        vqa_stream_get_stats(run->streams[i], &st);
        out->media_s += st.media_time;
        out->duration_s += st.duration;
        duration_known &= st.duration > 0;
        out->nb_finished += st.finished != 0;
    }
    out->nb_inputs = (int)run->nb_streams;
    pthread_mutex_unlock(&run->lock);
    if (!duration_known)
        out->duration_s = 0;
}

/* The report's media passes stop when a signal came. */
static int scan_interrupted(void *cookie)
{
    ScanRun *run = cookie;
    pthread_mutex_lock(&run->lock);
    int interrupted = run->interrupted;
    pthread_mutex_unlock(&run->lock);
    return interrupted;
}

static int open_context(VqaContext **ctx, const ToolOptions *opts, ScanRun *run)
{
    VqaSettings s;
    vqa_default_settings(&s);
    s.n_threads = opts->n_threads;
    s.logger = cli_logger(opts->log_level);
    if (run->progress.enabled) {
        /* Log lines step around the progress line. */
        s.logger.callback = progress_log;
        s.logger.cookie = &run->progress;
    }
    s.on_event = on_event;
    s.event_cookie = run;
    s.plugin_paths = opts->plugin_paths;
    int ret = vqa_open(ctx, &s);
    if (ret < 0)
        fprintf(stderr, "vqa: cannot start the library: %s\n", vqa_strerror(ret));
    return ret;
}

static int progress_wanted(const ToolOptions *opts)
{
    if (opts->progress == TOOL_PROGRESS_AUTO)
        return isatty(STDERR_FILENO);
    return opts->progress == TOOL_PROGRESS_ON;
}

/* Analyse, then close the library: every event has arrived when this returns. */
static int scan_inputs(ScanRun *run, const ToolOptions *opts)
{
    int status = TOOL_EXIT_INPUT;
    VqaContext *ctx = NULL;
    if (open_context(&ctx, opts, run) >= 0)
        status = run_streams(run, ctx, opts);
    progress_stop(&run->progress); /* in case run_streams left early */
    /* vqa_close frees the streams: a late signal must not touch them. */
    pthread_mutex_lock(&run->lock);
    run->nb_streams = 0;
    pthread_mutex_unlock(&run->lock);
    /* Closing ends every stream, so no event can arrive after this; then it
     * drains the --sink/--webhook queues, each within its close timeout. */
    vqa_close(&ctx);
    return status;
}

/* Create the report file now, so a bad path fails before any work. */
static int start_report(ScanRun *run, Report *report, const ToolOptions *opts)
{
    if (!opts->report_path)
        return 0;
    int ret = report_open(report, opts->report_path, opts->inputs, opts->nb_inputs,
                          opts->detectors);
    if (ret < 0) {
        fprintf(stderr, "vqa: %s: %s\n", opts->report_path, strerror(-ret));
        return -1;
    }
    run->report = report;
    return 0;
}

static int write_report(ScanRun *run, const ToolOptions *opts, double wall_s)
{
    int ret = report_write(run->report, wall_s, scan_interrupted(run), scan_interrupted, run);
    if (ret < 0) {
        fprintf(stderr, "vqa: %s: %s\n", opts->report_path, strerror(-ret));
        return TOOL_EXIT_INPUT;
    }
    return TOOL_EXIT_OK;
}

int cmd_scan(const ToolOptions *opts)
{
    EventSink sink;
    int ret = event_sink_open(&sink, opts->output_path);
    if (ret < 0) {
        fprintf(stderr, "vqa: %s: %s\n", opts->output_path, strerror(-ret));
        return TOOL_EXIT_INPUT;
    }
    ScanRun run;
    memset(&run, 0, sizeof(run));
    pthread_mutex_init(&run.lock, NULL);
    run.sink = &sink;
    progress_init(&run.progress, progress_wanted(opts), sample_streams, &run);
    Report report;
    int status = TOOL_EXIT_INPUT;
    if (start_report(&run, &report, opts) < 0) {
        /* asked for and cannot be written: nothing is scanned */
    } else if (watcher_start(&run) < 0) {
        fprintf(stderr, "vqa: cannot watch for signals\n");
    } else {
        double start_s = cli_now_s();
        status = scan_inputs(&run, opts);
        /* A usage error scanned nothing: no report then (report_close removes the file). */
        if (run.report && status != TOOL_EXIT_USAGE) {
            int report_status = write_report(&run, opts, cli_now_s() - start_s);
            status = status != TOOL_EXIT_OK ? status : report_status;
            /* A signal during the report's media passes cut the report short. */
            if (scan_interrupted(&run))
                status = TOOL_EXIT_INPUT;
        }
        watcher_stop(&run);
    }
    if (run.report)
        report_close(run.report);
    ret = event_sink_close(&sink);
    if (ret < 0) {
        fprintf(stderr, "vqa: writing events: %s\n", strerror(-ret));
        status = TOOL_EXIT_INPUT;
    }
    free(run.streams);
    free(run.inputs);
    free(run.input_index);
    progress_destroy(&run.progress);
    pthread_mutex_destroy(&run.lock);
    return status;
}
