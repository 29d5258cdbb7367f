/*
 * `vqa monitor`: live inputs in real time. Every input is a live stream
 * (frames are dropped with accounting when analysis falls behind, stalls
 * are reported) that reconnects when it fails; a file is read at its own
 * speed, like a channel. Events go out as JSON Lines; a heartbeat line per
 * stream goes to standard error (or --stats FILE) every --stats-interval.
 *
 * The main thread waits for SIGINT/SIGTERM with sigtimedwait (the signals
 * are blocked in every thread, so no library function ever runs in a signal
 * handler), writes the heartbeats between signals, and notices when every
 * input has ended. A signal stops every stream: detectors flush, open
 * defects get their end events, and the tool exits 0 — stopping is how a
 * monitor is meant to end.
 *
 * With --http a server (http_server.c) sees every stream and event: the
 * event callback hands it each event, which it only copies.
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "vqa_tool.h"
#ifdef VQA_TOOL_HTTP
#include "http_server.h"
#endif

#define STREAM_ID_MAX 256
/* How often the main thread looks at the streams when no signal comes. */
#define POLL_INTERVAL_S 0.2

typedef struct MonitorRun {
    const ToolOptions *opts;
    VqaStream **streams;
    const char **inputs;
    size_t nb_streams;
    FILE *stats;               /* heartbeats: standard error or --stats FILE */
    sigset_t signals;
    EventSink *sink;
    struct HttpServer *http;   /* --http, or NULL */
} MonitorRun;

static void on_event(void *cookie, const VqaEvent *event)
{
    MonitorRun *run = cookie;
    event_sink_write(run->sink, event);
#ifdef VQA_TOOL_HTTP
    if (run->http)
        http_server_publish(run->http, event);
#endif
}

/* --http: start serving before the library starts, so no event is missed. */
static int http_open(MonitorRun *run)
{
#ifdef VQA_TOOL_HTTP
    const ToolOptions *opts = run->opts;
    if (!opts->http)
        return TOOL_EXIT_OK;
    HttpServerSettings hs;
    http_server_default_settings(&hs);
    http_listen_parse(opts->http, &hs.listen); /* checked by cli_parse */
    hs.logger = cli_logger(opts->log_level);
    int ret = http_server_open(&run->http, &hs);
    if (ret < 0) {
        fprintf(stderr, "vqa: --http %s: %s\n", opts->http, strerror(-ret));
        return TOOL_EXIT_INPUT;
    }
    if (opts->log_level >= VQA_LOG_WARNING)
        fprintf(stderr, "vqa: http: serving /metrics, /events and /streams on http://%s%s%s:%d/\n",
                hs.listen.ipv6 ? "[" : "", hs.listen.host, hs.listen.ipv6 ? "]" : "",
                http_server_port(run->http));
#else
    (void)run;
#endif
    return TOOL_EXIT_OK;
}

static int http_add(MonitorRun *run, VqaStream *stream, const char *url)
{
#ifdef VQA_TOOL_HTTP
    int ret = run->http ? http_server_add_stream(run->http, stream, url) : 0;
    if (ret == -EEXIST) {
        fprintf(stderr, "vqa: stream id '%s' is given twice; --http needs distinct ids\n",
                vqa_stream_id(stream));
        return TOOL_EXIT_USAGE;
    }
    if (ret < 0) {
        fprintf(stderr, "vqa: %s\n", vqa_strerror(VQA_ERR(ENOMEM)));
        return TOOL_EXIT_INPUT;
    }
#else
    (void)run, (void)stream, (void)url;
#endif
    return TOOL_EXIT_OK;
}

/* Before the streams are freed: the server keeps their last counters. */
static void http_detach(MonitorRun *run)
{
#ifdef VQA_TOOL_HTTP
    if (run->http)
        http_server_detach_streams(run->http);
#else
    (void)run;
#endif
}

static void http_close(MonitorRun *run)
{
#ifdef VQA_TOOL_HTTP
    http_server_close(&run->http);
#else
    (void)run;
#endif
}

/* A local file is paced at its own speed; a URL is live by nature. */
static int is_local_file(const char *url)
{
    return !strstr(url, "://") || !strncmp(url, "file:", 5);
}

static int add_streams(MonitorRun *run, VqaContext *ctx)
{
    const ToolOptions *opts = run->opts;
    for (int i = 0; i < opts->nb_inputs; i++) {
        char id[STREAM_ID_MAX];
        VqaStreamSettings ss;
        cli_stream_settings(opts, i, &ss, id, sizeof(id));
        ss.live = 1;
        ss.realtime = is_local_file(ss.url);
        ss.stall_timeout = opts->stall_timeout;
        ss.io_timeout = opts->io_timeout;
        ss.reconnect = opts->reconnect;
        ss.reconnect_max_delay = opts->reconnect_max_delay;
        ss.protocols = opts->protocols;
        ss.input_options = opts->input_options;
        VqaStream *stream = NULL;
        int ret = vqa_stream_add(ctx, &stream, &ss);
        if (ret == VQA_ERR(EINVAL))
            return TOOL_EXIT_USAGE; /* the library logged why */
        if (ret < 0) {
            fprintf(stderr, "vqa: %s: %s\n", opts->inputs[i], vqa_strerror(ret));
            return TOOL_EXIT_INPUT;
        }
        run->inputs[run->nb_streams] = opts->inputs[i];
        run->streams[run->nb_streams++] = stream;
        int status = http_add(run, stream, ss.url);
        if (status != TOOL_EXIT_OK)
            return status;
    }
    return TOOL_EXIT_OK;
}

/* One heartbeat line per stream: a JSON object, so that it can be parsed. */
static void write_heartbeats(MonitorRun *run)
{
    time_t wall = time(NULL);
    struct tm tm;
    char stamp[32];
    gmtime_r(&wall, &tm);
    strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%SZ", &tm);
    for (size_t i = 0; i < run->nb_streams; i++) {
        VqaStreamStats st;
        vqa_stream_get_stats(run->streams[i], &st);
        JsonWriter w;
        json_init(&w, run->stats);
        json_begin_object(&w, NULL);
        json_str(&w, "heartbeat", stamp);
        json_str(&w, "stream", vqa_stream_id(run->streams[i]));
        json_str(&w, "state", vqa_input_state_name(st.state));
        json_num(&w, "media_time", st.media_time);
        json_num(&w, "frames_decoded", (double)st.frames_decoded);
        json_num(&w, "frames_analysed", (double)st.frames_analysed);
        json_num(&w, "frames_dropped", (double)st.frames_dropped);
        json_num(&w, "latency", st.latency);
        json_num(&w, "reconnects", st.reconnects);
        json_num(&w, "decode_errors", (double)st.decode_errors);
        json_num(&w, "events", (double)st.events);
        json_end_object(&w);
        fputc('\n', run->stats);
    }
    fflush(run->stats);
}

static int all_finished(MonitorRun *run)
{
    for (size_t i = 0; i < run->nb_streams; i++)
        if (vqa_stream_wait(run->streams[i], 0) == VQA_ERR(ETIMEDOUT))
            return 0;
    return 1;
}

/* Run until a signal comes or every input has ended. @return 1 when signalled. */
static int watch(MonitorRun *run)
{
    double interval = run->opts->stats_interval;
    double next_stats = cli_now_s() + interval;
    for (;;) {
        struct timespec wait = { 0, (long)(POLL_INTERVAL_S * 1e9) };
        int sig = sigtimedwait(&run->signals, NULL, &wait);
        if (sig == SIGINT || sig == SIGTERM) {
            fprintf(stderr, "vqa: %s: closing every input\n", strsignal(sig));
            return 1;
        }
        if (interval > 0 && cli_now_s() >= next_stats) {
            write_heartbeats(run);
            next_stats += interval;
        }
        if (all_finished(run))
            return 0;
    }
}

/* Stop every stream and wait: open defects get their ends. @return the exit status. */
static int finish(MonitorRun *run, int signalled)
{
    for (size_t i = 0; i < run->nb_streams; i++)
        vqa_stream_stop(run->streams[i]);
    int status = TOOL_EXIT_OK;
    for (size_t i = 0; i < run->nb_streams; i++) {
        int ret = vqa_stream_wait(run->streams[i], -1);
        if (ret < 0 && ret != VQA_ERROR_STOPPED && !signalled) {
            fprintf(stderr, "vqa: %s: %s\n", run->inputs[i], vqa_strerror(ret));
            status = TOOL_EXIT_INPUT;
        }
    }
    if (run->opts->stats_interval > 0)
        write_heartbeats(run); /* the final state of each stream */
    return status;
}

static int monitor(MonitorRun *run)
{
    const ToolOptions *opts = run->opts;
    VqaSettings s;
    vqa_default_settings(&s);
    s.n_threads = opts->n_threads;
    s.logger = cli_logger(opts->log_level);
    s.on_event = on_event;
    s.event_cookie = run;
    s.plugin_paths = opts->plugin_paths;
    VqaContext *ctx = NULL;
    int ret = vqa_open(&ctx, &s);
    if (ret < 0) {
        fprintf(stderr, "vqa: cannot start the library: %s\n", vqa_strerror(ret));
        return TOOL_EXIT_INPUT;
    }
    int status = cli_check_spec(ctx, opts->detectors);
    if (status == TOOL_EXIT_OK)
        status = tool_add_sinks(ctx, opts);
    if (status == TOOL_EXIT_OK)
        status = add_streams(run, ctx);
    if (status == TOOL_EXIT_OK) {
        int signalled = watch(run);
        status = finish(run, signalled);
    }
    http_detach(run);
    vqa_close(&ctx); /* stops whatever is left, then drains the sinks (bounded) */
    return status;
}

int cmd_monitor(const ToolOptions *opts)
{
    MonitorRun run = { .opts = opts, .stats = stderr };
    sigemptyset(&run.signals);
    sigaddset(&run.signals, SIGINT);
    sigaddset(&run.signals, SIGTERM);
    /* Blocked before the library starts its threads, which inherit the mask. */
    if (pthread_sigmask(SIG_BLOCK, &run.signals, NULL) != 0) {
        fprintf(stderr, "vqa: cannot block signals\n");
        return TOOL_EXIT_INPUT;
    }
    if (opts->stats_path && !(run.stats = fopen(opts->stats_path, "a"))) {
        fprintf(stderr, "vqa: %s: %s\n", opts->stats_path, strerror(errno));
        return TOOL_EXIT_INPUT;
    }
    EventSink sink;
    int ret = event_sink_open(&sink, opts->output_path);
    if (ret < 0) {
        fprintf(stderr, "vqa: %s: %s\n", opts->output_path, strerror(-ret));
        if (run.stats != stderr)
            fclose(run.stats);
        return TOOL_EXIT_INPUT;
    }
    run.streams = calloc((size_t)opts->nb_inputs, sizeof(*run.streams));
    run.inputs = calloc((size_t)opts->nb_inputs, sizeof(*run.inputs));
    run.sink = &sink;
    int status = TOOL_EXIT_INPUT;
    if (!run.streams || !run.inputs)
        fprintf(stderr, "vqa: %s\n", vqa_strerror(VQA_ERR(ENOMEM)));
    else if ((status = http_open(&run)) == TOOL_EXIT_OK)
        status = monitor(&run);
    http_close(&run); /* every /events client gets the last events, then its end */
    ret = event_sink_close(&sink);
    if (ret < 0) {
        fprintf(stderr, "vqa: writing events: %s\n", strerror(-ret));
        status = TOOL_EXIT_INPUT;
    }
    if (run.stats != stderr && fclose(run.stats) != 0) {
        fprintf(stderr, "vqa: %s: %s\n", opts->stats_path, strerror(errno));
        status = TOOL_EXIT_INPUT;
    }
    free(run.streams);
    free(run.inputs);
    return status;
}
