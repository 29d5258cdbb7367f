/*
 * Event sinks on the command line: `--sink jsonl:PATH[:max_bytes=N][:keep=K]`
 * and `--webhook URL`, parsed with the other options (a bad one is a usage
 * error before anything starts) and added to the context by every command
 * that analyses inputs.
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "vqa_tool.h"

#define KEEP_MAX 1000

/* "10", "64k", "10M", "1G" (powers of 1024). */
static int parse_bytes(const char *text, long long *out)
{
    char *end;
    errno = 0;
    long long n = strtoll(text, &end, 10);
    if (errno || end == text || n < 0)
        return -1;
    long long unit = 1;
    if (*end && !end[1]) {
        switch (*end) {
        case 'k': case 'K': unit = 1LL << 10; break;
        case 'm': case 'M': unit = 1LL << 20; break;
        case 'g': case 'G': unit = 1LL << 30; break;
        default: return -1;
        }
        end++;
    }
    if (*end || n > LLONG_MAX / unit)
        return -1;
    *out = n * unit;
    return 0;
}

static int parse_keep(const char *text, int *out)
{
    char *end;
    errno = 0;
    long n = strtol(text, &end, 10);
    if (errno || end == text || *end || n < 0 || n > KEEP_MAX)
        return -1;
    *out = (int)n;
    return 0;
}

/* Take trailing ":key=value" options off path (modified in place). */
static int parse_jsonl_options(char *path, ToolSink *sink, const char *spec)
{
    for (;;) {
        char *colon = strrchr(path, ':');
        if (!colon)
            return 0;
        const char *opt = colon + 1;
        if (!strncmp(opt, "max_bytes=", 10)) {
            if (parse_bytes(opt + 10, &sink->max_bytes) < 0)
                return cli_usage_error("--sink '%s': max_bytes takes a size in bytes "
                                       "(suffix k, M or G allowed), not '%s'", spec, opt + 10);
        } else if (!strncmp(opt, "keep=", 5)) {
            if (parse_keep(opt + 5, &sink->keep) < 0)
                return cli_usage_error("--sink '%s': keep takes a number from 0 to %d, "
                                       "not '%s'", spec, KEEP_MAX, opt + 5);
        } else {
            return 0; /* a colon that belongs to the path */
        }
        *colon = '\0';
    }
}

int cli_parse_sink(const char *spec, ToolSink *sink)
{
    memset(sink, 0, sizeof(*sink));
    sink->keep = -1;
    if (strncmp(spec, "jsonl:", 6))
        return cli_usage_error("--sink '%s': unknown sink (use jsonl:PATH[:max_bytes=N]"
                               "[:keep=K], or --webhook URL)", spec);
    sink->type = TOOL_SINK_JSONL;
    sink->path = strdup(spec + 6);
    if (!sink->path)
        return -ENOMEM;
    int ret = parse_jsonl_options(sink->path, sink, spec);
    if (ret == 0 && !sink->path[0])
        ret = cli_usage_error("--sink '%s': no file name given", spec);
    if (ret != 0) {
        free(sink->path);
        sink->path = NULL;
    }
    return ret;
}

int cli_parse_webhook(const char *url, ToolSink *sink)
{
    memset(sink, 0, sizeof(*sink));
    if (strncasecmp(url, "http://", 7) && strncasecmp(url, "https://", 8))
        return cli_usage_error("--webhook '%s': not an http:// or https:// URL", url);
    sink->type = TOOL_SINK_WEBHOOK;
    sink->url = url;
    return 0;
}

static int add_one(VqaContext *ctx, const ToolSink *sink)
{
    if (sink->type == TOOL_SINK_JSONL) {
        VqaJsonlSinkSettings js;
        vqa_jsonl_sink_default_settings(&js);
        js.path = sink->path;
        js.max_bytes = sink->max_bytes;
        if (sink->keep >= 0)
            js.keep = sink->keep;
        return vqa_context_add_jsonl_sink(ctx, NULL, &js, NULL);
    }
    VqaWebhookSinkSettings ws;
    vqa_webhook_sink_default_settings(&ws);
    ws.url = sink->url;
    return vqa_context_add_webhook_sink(ctx, NULL, &ws, NULL);
}

int tool_add_sinks(VqaContext *ctx, const ToolOptions *opts)
{
    for (size_t i = 0; i < opts->nb_sinks; i++) {
        const ToolSink *sink = &opts->sinks[i];
        int ret = add_one(ctx, sink);
        if (ret >= 0)
            continue;
        const char *what = sink->type == TOOL_SINK_JSONL ? sink->path : sink->url;
        if (ret == VQA_ERR(ENOSYS)) {
            fprintf(stderr, "vqa: --webhook: this build of libvqa has no webhook support\n");
            return TOOL_EXIT_USAGE;
        }
        fprintf(stderr, "vqa: cannot deliver events to %s: %s\n", what, vqa_strerror(ret));
        return ret == VQA_ERR(EINVAL) ? TOOL_EXIT_USAGE : TOOL_EXIT_INPUT;
    }
    return TOOL_EXIT_OK;
}
