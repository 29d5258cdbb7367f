/*
 * Embed libvqa in a host: scan one file with every detector found and print
 * its events as JSON Lines. Usage: embed FILE
 */
#include <stdio.h>

#include <vqa/vqa.h>

/* Calls are serialised per context, so printing needs no lock. */
static void print_event(void *cookie, const VqaEvent *event)
{
    char line[4096];
    (void)cookie;
    if (vqa_event_to_json(event, line, sizeof(line)) >= 0)
        puts(line);
}

static void print_log(void *cookie, VqaLogLevel level, const char *msg)
{
    (void)cookie;
    fprintf(stderr, "%s: %s\n", vqa_log_level_name(level), msg);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s FILE\n", argv[0]);
        return 2;
    }
    VqaSettings settings;
    vqa_default_settings(&settings);
    settings.on_event = print_event;
    settings.logger.callback = print_log;
    VqaContext *ctx = NULL;
    int ret = vqa_open(&ctx, &settings);
    if (ret < 0) {
        fprintf(stderr, "vqa_open: %s\n", vqa_strerror(ret));
        return 1;
    }
    VqaStreamSettings stream_settings;
    vqa_stream_default_settings(&stream_settings);
    stream_settings.url = argv[1];   /* detectors: NULL = every one found */
    VqaStream *stream = NULL;
    ret = vqa_stream_add(ctx, &stream, &stream_settings);
    if (ret == 0)
        ret = vqa_stream_wait(stream, -1);   /* the events arrive meanwhile */
    if (ret < 0)
        fprintf(stderr, "%s: %s\n", argv[1], vqa_strerror(ret));
    vqa_close(&ctx);
    return ret < 0 ? 1 : 0;
}
