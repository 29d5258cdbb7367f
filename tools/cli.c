/*
 * The command line of `vqa`: commands, options, usage errors and the stderr logger.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "vqa_tool.h"
#ifdef VQA_TOOL_HTTP
#include "http_server.h"
#endif

#define THREADS_MAX 1024

enum {
    OPT_PLUGIN_PATH = 256,
    OPT_THREADS,
    OPT_LOG_LEVEL,
    OPT_JSON,
    OPT_VERSION,
    OPT_COST,
    OPT_HWACCEL,
    OPT_STALL_TIMEOUT,
    OPT_TIMEOUT,
    OPT_RECONNECT,
    OPT_RECONNECT_MAX_DELAY,
    OPT_PROTOCOLS,
    OPT_INPUT_OPTIONS,
    OPT_STATS,
    OPT_STATS_INTERVAL,
    OPT_SINK,
    OPT_WEBHOOK,
    OPT_HTTP,
    OPT_REPORT,
    OPT_PROGRESS,
    OPT_NO_PROGRESS,
};

/* Seconds options of `monitor`: the most any of them takes. */
#define SECONDS_MAX 86400.0
#define DEFAULT_STATS_INTERVAL_S 10.0

static const struct option long_options[] = {
    { "detectors", required_argument, NULL, 'd' },
    { "plugin-path", required_argument, NULL, OPT_PLUGIN_PATH },
    { "threads", required_argument, NULL, OPT_THREADS },
    { "cost", required_argument, NULL, OPT_COST },
    { "hwaccel", required_argument, NULL, OPT_HWACCEL },
    { "output", required_argument, NULL, 'o' },
    { "sink", required_argument, NULL, OPT_SINK },
    { "webhook", required_argument, NULL, OPT_WEBHOOK },
    { "report", required_argument, NULL, OPT_REPORT },
    { "progress", no_argument, NULL, OPT_PROGRESS },
    { "no-progress", no_argument, NULL, OPT_NO_PROGRESS },
    { "verbose", no_argument, NULL, 'v' },
    { "quiet", no_argument, NULL, 'q' },
    { "log-level", required_argument, NULL, OPT_LOG_LEVEL },
    { "json", no_argument, NULL, OPT_JSON },
    { "stall-timeout", required_argument, NULL, OPT_STALL_TIMEOUT },
    { "timeout", required_argument, NULL, OPT_TIMEOUT },
    { "reconnect", required_argument, NULL, OPT_RECONNECT },
    { "reconnect-max-delay", required_argument, NULL, OPT_RECONNECT_MAX_DELAY },
    { "protocols", required_argument, NULL, OPT_PROTOCOLS },
    { "input-options", required_argument, NULL, OPT_INPUT_OPTIONS },
    { "stats", required_argument, NULL, OPT_STATS },
    { "stats-interval", required_argument, NULL, OPT_STATS_INTERVAL },
    { "http", required_argument, NULL, OPT_HTTP },
    { "help", no_argument, NULL, 'h' },
    { "version", no_argument, NULL, OPT_VERSION },
    { NULL, 0, NULL, 0 },
};

void cli_print_help(FILE *f)
{
    fputs("Usage: vqa scan [OPTIONS] INPUT...\n"
          "       vqa plugins [--json] [--plugin-path DIR]\n"
          "       vqa monitor [OPTIONS] INPUT...\n"
          "       vqa --version | --help\n"
          "\n"
          "Watch audio/video inputs for defects (freeze, black, silence, ...).\n"
          "`scan` analyses files or URLs as fast as possible and writes every event\n"
          "as one JSON object per line on standard output; logs go to standard error.\n"
          "An INPUT written as ID=URL uses ID as the stream id in events; otherwise the\n"
          "id is the input's position: \"0\", \"1\", ...\n"
          "\n"
          "Options:\n"
          "  -d, --detectors SPEC   detectors and options, e.g.\n"
          "                         'freeze:min_duration=1.5,black,silence'\n"
          "                         (default: every detector found, with its defaults)\n"
          "      --plugin-path DIR  look for plugins in DIR first (repeatable)\n"
          "      --threads N        analysis threads, 0 = one per core (default 0)\n"
          "      --cost LEVEL       full (default: every frame), light (no B-frames,\n"
          "                         video analysed at 5 fps) or keyframes (key frames only)\n"
          "      --hwaccel TYPE     decode video on vaapi, cuda, ... or auto; falls back\n"
          "                         to software with a warning\n"
          "  -o, --output FILE      write events to FILE instead of standard output\n"
          "      --sink jsonl:PATH[:max_bytes=N][:keep=K]\n"
          "                         also append events to PATH, rotated past N bytes\n"
          "                         (suffix k, M, G) into PATH.1 ... PATH.K (default 5)\n"
          "      --webhook URL      also POST each event to URL (http or https)\n"
          "                         --sink and --webhook are repeatable; a slow or dead\n"
          "                         one loses its own events, never slows the analysis\n"
          "      --report FILE      (scan) also write a self-contained HTML report:\n"
          "                         timelines, event table, thumbnails, audio levels\n"
          "      --progress         (scan) show a progress line on standard error even\n"
          "                         when it is not a terminal\n"
          "      --no-progress      (scan) never show it (default: only on a terminal)\n"
          "  -v, --verbose          log more (repeat for more detail)\n"
          "  -q, --quiet            log errors only\n"
          "      --log-level LEVEL  none, error, warning, info, debug or trace\n"
          "      --json             (plugins) print one JSON document\n"
          "\n"
          "`monitor` watches live inputs (HLS, RTMP, SRT, UDP/TCP MPEG-TS, ...) in real\n"
          "time; files are read at their own speed. It reconnects inputs that fail and\n"
          "runs until every input has ended or it is interrupted (SIGINT/SIGTERM close\n"
          "every open defect and exit 0). Monitor options:\n"
          "      --stall-timeout S  stream.stall after S s without data (default 2)\n"
          "      --timeout S        give up an open or read after S s without data and\n"
          "                         reconnect (default 10)\n"
          "      --reconnect N      reopen a failed input up to N times in a row, or\n"
          "                         'forever' (default)\n"
          "      --reconnect-max-delay S  longest wait between attempts (default 30)\n"
          "      --protocols LIST   protocols an input may use, e.g. 'http,tcp,tls'\n"
          "                         (default: all; network inputs may not read files)\n"
          "      --input-options K=V:K=V  FFmpeg options for opening every input\n"
          "      --stats FILE       heartbeat lines (JSON) to FILE instead of stderr\n"
          "      --stats-interval S seconds between heartbeats (default 10, 0 = none)\n"
          "      --http [ADDR:]PORT serve /metrics (Prometheus), /events (live events,\n"
          "                         Server-Sent Events) and /streams (JSON) over HTTP;\n"
          "                         ADDR defaults to 127.0.0.1\n"
          "  -h, --help             show this help\n"
          "      --version          print the library version\n"
          "\n"
          "Plugins are searched in --plugin-path, then $VQA_PLUGIN_PATH (colon-separated),\n"
          "then the installed plugin directory.\n"
          "\n"
          "Exit status: 0 every input analysed (defects found are not failures),\n"
          "1 an input could not be opened or read (or the scan was interrupted),\n"
          "2 usage error.\n",
          f);
}

int cli_usage_error(const char *fmt, ...)
{
    va_list args;
    va_start(args, fmt);
    fputs("vqa: ", stderr);
    vfprintf(stderr, fmt, args);
    fputs("\nTry 'vqa --help'.\n", stderr);
    va_end(args);
    return TOOL_EXIT_USAGE;
}

static void log_to_stderr(void *cookie, VqaLogLevel level, const char *msg)
{
    (void)cookie;
    /* One call per line: stdio locks the stream per call, so lines from
     * several threads never interleave. */
    fprintf(stderr, "vqa: %s: %s\n", vqa_log_level_name(level), msg);
}

VqaLogger cli_logger(VqaLogLevel level)
{
    VqaLogger logger = { log_to_stderr, NULL, level };
    return logger;
}

const char *cli_split_input(const char *arg, char *id, size_t id_size)
{
    const char *eq = strchr(arg, '=');
    size_t len = eq ? (size_t)(eq - arg) : 0;
    id[0] = '\0';
    if (!eq || len == 0 || len >= id_size || eq[1] == '\0')
        return arg;
    if (strspn(arg, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-") != len)
        return arg;
    memcpy(id, arg, len);
    id[len] = '\0';
    return eq + 1;
}

void cli_stream_settings(const ToolOptions *opts, int i, VqaStreamSettings *ss, char *id,
                         size_t id_size)
{
    vqa_stream_default_settings(ss);
    ss->url = cli_split_input(opts->inputs[i], id, id_size);
    if (!id[0])
        snprintf(id, id_size, "%d", i);
    ss->id = id;
    ss->detectors = opts->detectors;
    ss->cost = opts->cost;
    ss->hwaccel = opts->hwaccel;
}

static int parse_log_level(const char *name, VqaLogLevel *out)
{
    for (int l = VQA_LOG_NONE; l <= VQA_LOG_TRACE; l++) {
        if (!strcmp(name, vqa_log_level_name((VqaLogLevel)l))) {
            *out = (VqaLogLevel)l;
            return 0;
        }
    }
    return -1;
}

static int parse_threads(const char *text, int *out)
{
    char *end;
    errno = 0;
    long n = strtol(text, &end, 10);
    if (errno || end == text || *end || n < 0 || n > THREADS_MAX)
        return -1;
    *out = (int)n;
    return 0;
}

static int add_plugin_path(ToolOptions *opts, const char *dir)
{
    const char **paths = realloc(opts->plugin_paths,
                                 (opts->nb_plugin_paths + 2) * sizeof(*paths));
    if (!paths)
        return -ENOMEM;
    paths[opts->nb_plugin_paths++] = dir;
    paths[opts->nb_plugin_paths] = NULL;
    opts->plugin_paths = paths;
    return 0;
}

static ToolCommand parse_command(const char *word)
{
    static const struct { const char *name; ToolCommand cmd; } commands[] = {
        { "scan", TOOL_CMD_SCAN }, { "monitor", TOOL_CMD_MONITOR },
        { "plugins", TOOL_CMD_PLUGINS }, { "help", TOOL_CMD_HELP },
        { "--help", TOOL_CMD_HELP }, { "-h", TOOL_CMD_HELP },
        { "--version", TOOL_CMD_VERSION }, { "version", TOOL_CMD_VERSION },
    };
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
        if (!strcmp(word, commands[i].name))
            return commands[i].cmd;
    }
    return TOOL_CMD_NONE;
}

static const char *long_name(int c);

static int monitor_only(int c)
{
    return (c >= OPT_STALL_TIMEOUT && c <= OPT_STATS_INTERVAL) || c == OPT_HTTP;
}

/* The report and the progress line belong to a scan, which has an end. */
static int scan_only(int c)
{
    return c == OPT_REPORT || c == OPT_PROGRESS || c == OPT_NO_PROGRESS;
}

/* Options `plugins` does not take, the one only it takes, and those of one command only. */
static int option_fits(ToolCommand cmd, int c)
{
    if (cmd == TOOL_CMD_PLUGINS)
        return c != 'd' && c != 'o' && c != OPT_THREADS && c != OPT_COST && c != OPT_HWACCEL &&
               c != OPT_SINK && c != OPT_WEBHOOK && !monitor_only(c) && !scan_only(c);
    if (cmd == TOOL_CMD_SCAN && monitor_only(c))
        return 0;
    if (cmd == TOOL_CMD_MONITOR && scan_only(c))
        return 0;
    return c != OPT_JSON;
}

/* A number of seconds in [min, SECONDS_MAX]. */
static int parse_seconds(const char *text, double min, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(text, &end);
    if (errno || end == text || *end || !(v >= min && v <= SECONDS_MAX))
        return -1;
    *out = v;
    return 0;
}

/* --http [ADDR:]PORT, checked here so that a bad one is a usage error. */
static int parse_http(ToolOptions *opts)
{
#ifdef VQA_TOOL_HTTP
    HttpListen listen;
    if (http_listen_parse(optarg, &listen) < 0)
        return cli_usage_error("--http takes [ADDRESS:]PORT (ADDRESS: a numeric IPv4 address, "
                               "[IPv6] or localhost; PORT: 0 to 65535), not '%s'", optarg);
    opts->http = optarg;
    return 0;
#else
    (void)opts;
    return cli_usage_error("--http is not built into this vqa (it needs libmicrohttpd: "
                           "install it and rebuild with -Dhttp=enabled)");
#endif
}

static int apply_monitor_option(ToolOptions *opts, int c)
{
    double v;
    switch (c) {
    case OPT_STALL_TIMEOUT:
    case OPT_TIMEOUT:
    case OPT_RECONNECT_MAX_DELAY:
        if (parse_seconds(optarg, 0.1, &v) < 0)
            return cli_usage_error("--%s takes seconds from 0.1 to %.0f, not '%s'",
                                   long_name(c), SECONDS_MAX, optarg);
        *(c == OPT_STALL_TIMEOUT ? &opts->stall_timeout
          : c == OPT_TIMEOUT     ? &opts->io_timeout
                                 : &opts->reconnect_max_delay) = v;
        break;
    case OPT_STATS_INTERVAL:
        if (parse_seconds(optarg, 0, &opts->stats_interval) < 0)
            return cli_usage_error("--stats-interval takes seconds from 0 to %.0f, not '%s'",
                                   SECONDS_MAX, optarg);
        break;
    case OPT_RECONNECT:
        if (!strcmp(optarg, "forever")) {
            opts->reconnect = VQA_RECONNECT_FOREVER;
        } else if (parse_threads(optarg, &opts->reconnect) < 0) {
            return cli_usage_error("--reconnect takes a count from 0 to %d or 'forever', "
                                   "not '%s'", THREADS_MAX, optarg);
        }
        break;
    case OPT_PROTOCOLS: opts->protocols = optarg; break;
    case OPT_INPUT_OPTIONS: opts->input_options = optarg; break;
    case OPT_STATS: opts->stats_path = optarg; break;
    case OPT_HTTP: return parse_http(opts);
    }
    return 0;
}

/* getopt reports the offending option in optopt (short) or argv[optind-1] (long). */
static int bad_option(int c, char **argv)
{
    const char *arg = argv[optind - 1];
    if (c == ':') {
        if (optopt && optopt < 256 && arg[1] != '-')
            return cli_usage_error("option '-%c' needs an argument", optopt);
        return cli_usage_error("option '%s' needs an argument", arg);
    }
    if (optopt && arg[0] == '-' && arg[1] != '-')
        return cli_usage_error("unknown option '-%c'", optopt);
    return cli_usage_error("unknown option '%s'", arg);
}

/* The long name of an option, for messages: argv may hold its argument instead. */
static const char *long_name(int c)
{
    for (const struct option *o = long_options; o->name; o++) {
        if (o->val == c)
            return o->name;
    }
    return "?";
}

static int parse_cost(const char *text, int *out)
{
    static const char *const names[] = { "full", "light", "keyframes" };
    static const int levels[] = { VQA_COST_FULL, VQA_COST_LIGHT, VQA_COST_KEYFRAMES };
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        if (!strcmp(text, names[i])) {
            *out = levels[i];
            return 0;
        }
    }
    return -1;
}

static int add_sink(ToolOptions *opts, int c, const char *arg)
{
    ToolSink *sinks = realloc(opts->sinks, (opts->nb_sinks + 1) * sizeof(*sinks));
    if (!sinks)
        return -ENOMEM;
    opts->sinks = sinks;
    int ret = c == OPT_SINK ? cli_parse_sink(arg, &sinks[opts->nb_sinks])
                            : cli_parse_webhook(arg, &sinks[opts->nb_sinks]);
    if (ret == 0)
        opts->nb_sinks++;
    return ret;
}

static int apply_option(ToolOptions *opts, int c, char **argv)
{
    if (!option_fits(opts->command, c))
        return cli_usage_error("option '--%s' does not apply to '%s'", long_name(c), argv[0]);
    switch (c) {
    case 'd': opts->detectors = optarg; break;
    case 'o': opts->output_path = optarg; break;
    case OPT_PLUGIN_PATH: return add_plugin_path(opts, optarg);
    case OPT_THREADS:
        if (parse_threads(optarg, &opts->n_threads) < 0)
            return cli_usage_error("--threads takes a number from 0 to %d, not '%s'",
                                   THREADS_MAX, optarg);
        break;
    case 'v':
        if (opts->log_level < VQA_LOG_TRACE)
            opts->log_level++;
        opts->log_level_set = 1;
        break;
    case 'q': opts->log_level = VQA_LOG_ERROR; opts->log_level_set = 1; break;
    case OPT_LOG_LEVEL:
        if (parse_log_level(optarg, &opts->log_level) < 0)
            return cli_usage_error("unknown log level '%s' (none, error, warning, info, "
                                   "debug, trace)", optarg);
        opts->log_level_set = 1;
        break;
    case OPT_COST:
        if (parse_cost(optarg, &opts->cost) < 0)
            return cli_usage_error("--cost takes full, light or keyframes, not '%s'", optarg);
        break;
    case OPT_HWACCEL: opts->hwaccel = optarg; break;
    case OPT_SINK:
    case OPT_WEBHOOK: return add_sink(opts, c, optarg);
    case OPT_REPORT:
        if (!optarg[0] || !strcmp(optarg, "-"))
            return cli_usage_error("--report takes a file name (standard output carries "
                                   "the events)");
        opts->report_path = optarg;
        break;
    case OPT_PROGRESS: opts->progress = TOOL_PROGRESS_ON; break;
    case OPT_NO_PROGRESS: opts->progress = TOOL_PROGRESS_OFF; break;
    case OPT_JSON: opts->json = 1; break;
    case OPT_STALL_TIMEOUT:
    case OPT_TIMEOUT:
    case OPT_RECONNECT:
    case OPT_RECONNECT_MAX_DELAY:
    case OPT_PROTOCOLS:
    case OPT_INPUT_OPTIONS:
    case OPT_STATS:
    case OPT_STATS_INTERVAL:
    case OPT_HTTP:
        return apply_monitor_option(opts, c);
    case 'h': opts->command = TOOL_CMD_HELP; break;
    case OPT_VERSION: opts->command = TOOL_CMD_VERSION; break;
    default: return bad_option(c, argv);
    }
    return 0;
}

static int check_inputs(const ToolOptions *opts)
{
    if ((opts->command == TOOL_CMD_SCAN || opts->command == TOOL_CMD_MONITOR) &&
        opts->nb_inputs == 0)
        return cli_usage_error("no input given");
    if (opts->command == TOOL_CMD_PLUGINS && opts->nb_inputs > 0)
        return cli_usage_error("'plugins' takes no arguments, got '%s'", opts->inputs[0]);
    /* The report file is created before the scan: never over an input or the events. */
    for (int i = 0; opts->report_path && i < opts->nb_inputs; i++) {
        char id[256];
        if (!strcmp(cli_split_input(opts->inputs[i], id, sizeof(id)), opts->report_path))
            return cli_usage_error("--report %s is also an input", opts->report_path);
    }
    if (opts->report_path && opts->output_path && !strcmp(opts->report_path, opts->output_path))
        return cli_usage_error("--report and -o name the same file");
    return 0;
}

int cli_parse(ToolOptions *opts, int argc, char **argv)
{
    memset(opts, 0, sizeof(*opts));
    opts->log_level = VQA_LOG_WARNING;
    opts->reconnect = VQA_RECONNECT_FOREVER;
    opts->stats_interval = DEFAULT_STATS_INTERVAL_S;
    if (argc < 2)
        return cli_usage_error("no command given (scan, plugins or monitor)");
    opts->command = parse_command(argv[1]);
    if (opts->command == TOOL_CMD_NONE) {
        if (argv[1][0] == '-')
            return cli_usage_error("unknown option '%s'", argv[1]);
        return cli_usage_error("unknown command '%s' (scan, plugins or monitor)", argv[1]);
    }
    if (opts->command == TOOL_CMD_HELP || opts->command == TOOL_CMD_VERSION)
        return 0;

    /* Parse the command's own argument vector: argv[1] plays argv[0]. */
    int sub_argc = argc - 1;
    char **sub_argv = argv + 1;
    optind = 1;
    opterr = 0;
    int c;
    while ((c = getopt_long(sub_argc, sub_argv, ":d:o:vqh", long_options, NULL)) != -1) {
        int ret = apply_option(opts, c, sub_argv);
        if (ret != 0)
            return ret;
    }
    if (opts->command == TOOL_CMD_HELP || opts->command == TOOL_CMD_VERSION)
        return 0;
    opts->inputs = sub_argv + optind;
    opts->nb_inputs = sub_argc - optind;
    return check_inputs(opts);
}

void cli_free(ToolOptions *opts)
{
    free(opts->plugin_paths);
    opts->plugin_paths = NULL;
    for (size_t i = 0; i < opts->nb_sinks; i++)
        free(opts->sinks[i].path);
    free(opts->sinks);
    opts->sinks = NULL;
    opts->nb_sinks = 0;
    opts->nb_plugin_paths = 0;
}

double cli_now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

int cli_check_spec(VqaContext *ctx, const char *spec)
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
