/*
 * `vqa scan`: one context, one pull stream per input, events as JSON Lines.
 *
 * SIGINT and SIGTERM are blocked in every thread (the mask is set before the
 * library starts its threads, which inherit it) and taken by a watcher thread
 * with sigwait, so no library function ever runs in a signal handler. The
 * first signal stops every stream: detectors flush, open defects get their
 * end events, and the tool exits 1 because the inputs were not read to their
 * end. A second signal, at least a second later, exits at once.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "vqa_tool.h"

#define STREAM_ID_MAX 256
/* A second signal sooner than this after the first is taken as the same request. */
#define REPEAT_SIGNAL_S 1.0

typedef struct ScanRun {
    pthread_mutex_t lock;       /* guards streams, nb_streams, done, interrupted */
    VqaStream **streams;
    const char **inputs;        /* the command-line argument of each stream, for messages */
    size_t nb_streams;
    int done;
    int interrupted;
    pthread_t watcher;
    sigset_t signals;
} ScanRun;

static void stop_all(ScanRun *run)
{
    pthread_mutex_lock(&run->lock);
    run->interrupted = 1;
    for (size_t i = 0; i < run->nb_streams; i++)
        vqa_stream_stop(run->streams[i]);
    pthread_mutex_unlock(&run->lock);
}

static double monotonic_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
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
        if (first_signal_s >= 0 && monotonic_s() - first_signal_s < REPEAT_SIGNAL_S)
            continue;
        if (first_signal_s >= 0) {
            static const char msg[] = "vqa: interrupted again, exiting at once\n";
            ssize_t ignored = write(STDERR_FILENO, msg, sizeof(msg) - 1);
            (void)ignored;
            _exit(TOOL_EXIT_INPUT);
        }
        first_signal_s = monotonic_s();
        fprintf(stderr, "vqa: %s: stopping every input\n", strsignal(sig));
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

static int check_spec(VqaContext *ctx, const char *spec)
{
    char msg[512] = "";
    int ret = vqa_detector_spec_check(ctx, spec, msg, sizeof(msg));
    if (ret >= 0)
        return 0;
    if (!msg[0])
        snprintf(msg, sizeof(msg), "%s",
                 ret == VQA_ERR(ENOENT)
                     ? "no detector found (see --plugin-path and VQA_PLUGIN_PATH)"
                     : vqa_strerror(ret));
    fprintf(stderr, "vqa: %s\n", msg);
    if (ret == VQA_ERR(ENOENT) && spec == NULL)
        fputs("Try 'vqa plugins' to see what was found.\n", stderr);
    return TOOL_EXIT_USAGE;
}

/* Add one stream per input. Settings the library refuses (EINVAL: the reason is
 * logged) are a usage error; any other failure (out of memory) marks that input failed. */
static int add_streams(ScanRun *run, VqaContext *ctx, const ToolOptions *opts)
{
    int status = TOOL_EXIT_OK;
    for (int i = 0; i < opts->nb_inputs; i++) {
        char id[STREAM_ID_MAX];
        VqaStreamSettings ss;
        vqa_stream_default_settings(&ss);
        ss.url = cli_split_input(opts->inputs[i], id, sizeof(id));
        if (!id[0])
            snprintf(id, sizeof(id), "%d", i);
        ss.id = id;
        ss.detectors = opts->detectors;
        ss.cost = opts->cost;
        ss.hwaccel = opts->hwaccel;
        VqaStream *stream = NULL;
        pthread_mutex_lock(&run->lock);
        int ret = run->interrupted ? VQA_ERROR_STOPPED : vqa_stream_add(ctx, &stream, &ss);
        if (ret >= 0) {
            run->inputs[run->nb_streams] = opts->inputs[i];
            run->streams[run->nb_streams++] = stream;
        }
        pthread_mutex_unlock(&run->lock);
        if (ret == VQA_ERR(EINVAL))
            return TOOL_EXIT_USAGE;
        if (ret < 0) {
            if (ret != VQA_ERROR_STOPPED)
                fprintf(stderr, "vqa: %s: %s\n", opts->inputs[i], vqa_strerror(ret));
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
            fprintf(stderr, "vqa: %s: %s\n", run->inputs[i], vqa_strerror(ret));
            status = TOOL_EXIT_INPUT;
        }
    }
    if (nb_stopped > 0)
        fprintf(stderr, "vqa: interrupted: %zu of %d input(s) not read to the end\n",
                nb_stopped, opts->nb_inputs);
    return status;
}

static int run_streams(ScanRun *run, VqaContext *ctx, const ToolOptions *opts)
{
    int ret = check_spec(ctx, opts->detectors);
    if (ret == 0)
        ret = tool_add_sinks(ctx, opts); /* after the spec: a usage error creates no file */
    if (ret != 0)
        return ret;
    run->streams = calloc((size_t)opts->nb_inputs, sizeof(*run->streams));
    run->inputs = calloc((size_t)opts->nb_inputs, sizeof(*run->inputs));
    if (!run->streams || !run->inputs) {
        fprintf(stderr, "vqa: %s\n", vqa_strerror(VQA_ERR(ENOMEM)));
        return TOOL_EXIT_INPUT;
    }
    int add_status = add_streams(run, ctx, opts);
    int wait_status = wait_streams(run, opts);
    return add_status != TOOL_EXIT_OK ? add_status : wait_status;
}

static int open_context(VqaContext **ctx, const ToolOptions *opts, EventSink *sink)
{
    VqaSettings s;
    vqa_default_settings(&s);
    s.n_threads = opts->n_threads;
    s.logger = cli_logger(opts->log_level);
    s.on_event = event_sink_write;
    s.event_cookie = sink;
    s.plugin_paths = opts->plugin_paths;
    int ret = vqa_open(ctx, &s);
    if (ret < 0)
        fprintf(stderr, "vqa: cannot start the library: %s\n", vqa_strerror(ret));
    return ret;
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
    int status = TOOL_EXIT_INPUT;
    if (watcher_start(&run) < 0) {
        fprintf(stderr, "vqa: cannot watch for signals\n");
    } else {
        VqaContext *ctx = NULL;
        if (open_context(&ctx, opts, &sink) >= 0)
            status = run_streams(&run, ctx, opts);
        /* vqa_close frees the streams: a late signal must not touch them. */
        pthread_mutex_lock(&run.lock);
        run.nb_streams = 0;
        pthread_mutex_unlock(&run.lock);
        /* Closing ends every stream, so no event can arrive after this; then it
         * drains the --sink/--webhook queues, each within its close timeout. */
        vqa_close(&ctx);
        watcher_stop(&run);
    }
    ret = event_sink_close(&sink);
    if (ret < 0) {
        fprintf(stderr, "vqa: writing events: %s\n", strerror(-ret));
        status = TOOL_EXIT_INPUT;
    }
    free(run.streams);
    free(run.inputs);
    pthread_mutex_destroy(&run.lock);
    return status;
}
