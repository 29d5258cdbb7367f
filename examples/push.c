/*
 * A host that decodes by itself and pushes its pictures and samples to
 * libvqa (push mode: nothing is decoded twice). It makes up 8 s of media:
 *
 *   video, 25 fps gray8: moving stripes, but frozen from 3 s to 6 s;
 *   audio, 48 kHz stereo s16: a 440 Hz tone, silent from 2 s to 5 s;
 *
 * and prints the events: expect video.freeze [3, 6) and audio.silence [2, 5).
 * Usage: push [PLUGIN_DIR]
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include <vqa/vqa.h>

enum { WIDTH = 320, HEIGHT = 240, FPS = 25, RATE = 48000, CHANNELS = 2, CHUNK = 1024 };
static const double DURATION_S = 8.0;
static const double PI = 3.14159265358979323846;

static void print_event(void *cookie, const VqaEvent *event)
{
    char line[4096];
    (void)cookie;
    if (vqa_event_to_json(event, line, sizeof(line)) >= 0)
        puts(line);
}

/* Diagonal stripes that move with the frame number, except during the freeze. */
static void draw_picture(uint8_t *pixels, int frame)
{
    int phase = frame >= 3 * FPS && frame < 6 * FPS ? 3 * FPS : frame;
    for (int y = 0; y < HEIGHT; y++)
        for (int x = 0; x < WIDTH; x++)
            pixels[y * WIDTH + x] = (uint8_t)(((x + y + 6 * phase) / 8 % 2) ? 200 : 60);
}

static int push_picture(VqaStream *stream, uint8_t *pixels, int frame)
{
    draw_picture(pixels, frame);
    VqaPicture pic = {
        .pix_fmt = VQA_PIX_GRAY8, .width = WIDTH, .height = HEIGHT, .range = VQA_RANGE_FULL,
        .data = { pixels }, .linesize = { WIDTH },
        .pts = frame, .time_base = { 1, FPS },
        .flags = VQA_FRAME_KEY,
        .free_cb = NULL, /* the library copies the pixels before returning */
    };
    return vqa_stream_push_picture(stream, &pic);
}

/* CHUNK interleaved stereo samples starting at sample index `first`. */
static int push_samples(VqaStream *stream, int16_t *buf, int64_t first)
{
    for (int i = 0; i < CHUNK; i++) {
        double t = (double)(first + i) / RATE;
        int silent = t >= 2.0 && t < 5.0;
        int16_t v = silent ? 0 : (int16_t)(8192 * sin(2 * PI * 440 * t)); /* -12 dBFS */
        for (int c = 0; c < CHANNELS; c++)
            buf[i * CHANNELS + c] = v;
    }
    const uint8_t *planes[1] = { (const uint8_t *)buf };
    VqaSamples samples = {
        .sample_fmt = VQA_SAMPLE_S16, .sample_rate = RATE, .channels = CHANNELS,
        .nb_samples = CHUNK, .planes = planes, .track = 0,
        .pts = first, .time_base = { 1, RATE },
    };
    return vqa_stream_push_samples(stream, &samples);
}

/* Push both tracks in presentation order, as a decoder would hand them out. */
static int push_media(VqaStream *stream)
{
    static uint8_t pixels[WIDTH * HEIGHT];
    static int16_t audio[CHUNK * CHANNELS];
    int64_t next_sample = 0;
    int ret = 0;
    for (int frame = 0; ret == 0 && frame < (int)(DURATION_S * FPS); frame++) {
        ret = push_picture(stream, pixels, frame);
        int64_t until = (int64_t)(frame + 1) * RATE / FPS;
        for (; ret == 0 && next_sample < until; next_sample += CHUNK)
            ret = push_samples(stream, audio, next_sample);
    }
    return ret;
}

int main(int argc, char **argv)
{
    const char *plugin_paths[] = { argc > 1 ? argv[1] : NULL, NULL };
    VqaSettings settings;
    vqa_default_settings(&settings);
    settings.on_event = print_event;
    settings.plugin_paths = plugin_paths;
    VqaContext *ctx = NULL;
    int ret = vqa_open(&ctx, &settings);
    if (ret < 0) {
        fprintf(stderr, "vqa_open: %s\n", vqa_strerror(ret));
        return 1;
    }
    VqaStreamSettings stream_settings;
    vqa_stream_default_settings(&stream_settings);  /* url NULL: a push stream */
    stream_settings.id = "pushed";
    stream_settings.detectors = "freeze,silence";
    VqaStream *stream = NULL;
    ret = vqa_stream_add(ctx, &stream, &stream_settings);
    if (ret == 0)
        ret = push_media(stream);
    if (ret == 0)
        ret = vqa_stream_end(stream);
    if (ret == 0)
        ret = vqa_stream_wait(stream, -1);
    if (ret < 0)
        fprintf(stderr, "push: %s\n", vqa_strerror(ret));
    vqa_close(&ctx);
    return ret < 0 ? 1 : 0;
}
