/*
 * Alert latency on a live input: how long after a defect begins at the
 * input its start event is emitted, beyond the defect's minimum duration
 * (issue 5: at most min_duration + 100 ms).
 *
 *   latency [--udp | --file] [--video | --audio] [--runs N] CLIP
 *
 * One track at a time (--video: freeze and black; --audio: silence), so that
 * "when the media arrived" is that track's own arrival, not the other's.
 * --udp (default): `ffmpeg -re` sends CLIP as MPEG-TS over UDP on loopback
 *                  and libvqa reads the socket;
 * --file:          libvqa reads CLIP itself at the media's own speed.
 *
 * The source plays in real time, so media time t begins at the input at
 * W0 + t. W0 is estimated from the stream's media time, sampled every
 * millisecond while the clip plays (the median of wall - media time: a muxer
 * sends in bursts). An event with start t emitted at wall time E was late by
 * E - (W0 + t) - min_duration.
 * The clip is bench/latency.sh's: freeze, black and silence at known times;
 * the min_duration of each detector is set here so the expectation is known.
 */
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <vqa/vqa.h>

extern char **environ;

#define MAX_EVENTS 64
#define MIN_DURATION_S 1.0
#define TARGET_EXCESS_S 0.1
#define UDP_PORT 23456

typedef struct Arrival {
    char kind[32];
    double t, wall;
} Arrival;

typedef struct Sample {
    double t, wall;
} Sample;

typedef struct Run {
    pthread_mutex_t lock;
    Arrival ev[MAX_EVENTS];
    int n;
    Sample *samples;
    size_t nb_samples;
} Run;

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/*
 * W(t) = W0 + t: the source plays in real time, so media time t begins at
 * the input W0 + t. W0 is the median of (arrival - media time) over the
 * samples: robust to the bursts a muxer sends data in.
 */
static double start_of_media(const Run *run)
{
    double *offsets = calloc(run->nb_samples + 1, sizeof(double));
    size_t n = 0;
    for (size_t i = 0; offsets && i < run->nb_samples; i++)
        if (run->samples[i].t > 0.5)
            offsets[n++] = run->samples[i].wall - run->samples[i].t;
    double w0 = 0;
    if (n > 0) {
        qsort(offsets, n, sizeof(double), cmp_double);
        w0 = offsets[n / 2];
    }
    free(offsets);
    return w0;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void on_event(void *cookie, const VqaEvent *ev)
{
    Run *run = cookie;
    double wall = now_s();
    if (ev->state != VQA_EVENT_START)
        return;
    pthread_mutex_lock(&run->lock);
    if (run->n < MAX_EVENTS) {
        Arrival *a = &run->ev[run->n++];
        snprintf(a->kind, sizeof(a->kind), "%s", ev->kind);
        a->t = ev->t;
        a->wall = wall;
    }
    pthread_mutex_unlock(&run->lock);
}

static pid_t send_udp(const char *clip, int video)
{
    char url[64];
    snprintf(url, sizeof(url), "udp://127.0.0.1:%d?pkt_size=1316", UDP_PORT);
    /* A live encoder's output: no interleaving queue, one PES per frame, sent at once. */
    char *argv[] = { "ffmpeg", "-nostdin", "-loglevel", "error", "-re", "-i", (char *)clip,
                     "-map", video ? "0:v" : "0:a", "-c", "copy", "-max_interleave_delta", "0", "-flush_packets", "1",
                     "-muxdelay", "0", "-pes_payload_size", "0", "-f", "mpegts", url, NULL };
    pid_t pid = -1;
    return posix_spawnp(&pid, "ffmpeg", NULL, NULL, argv, environ) == 0 ? pid : -1;
}

static int measure(const char *clip, int udp, int video, Run *run)
{
    VqaSettings s;
    vqa_default_settings(&s);
    s.on_event = on_event;
    s.event_cookie = run;
    VqaContext *ctx = NULL;
    if (vqa_open(&ctx, &s) < 0)
        return -1;
    char url[64];
    snprintf(url, sizeof(url), "udp://127.0.0.1:%d?timeout=20000000", UDP_PORT);
    VqaStreamSettings ss;
    vqa_stream_default_settings(&ss);
    ss.url = udp ? url : clip;
    ss.live = 1;
    ss.realtime = !udp;
    if (video)
        ss.audio_tracks = VQA_TRACK_NONE;
    else
        ss.video_track = VQA_TRACK_NONE;
    ss.detectors = "freeze:min_duration=1,black:min_duration=1,silence:min_duration=1";
    VqaStream *stream = NULL;
    if (vqa_stream_add(ctx, &stream, &ss) < 0) {
        vqa_close(&ctx);
        return -1;
    }
    pid_t src = udp ? send_udp(clip, video) : 0;
    /* W(t): when each media time had arrived, sampled every millisecond */
    size_t cap = 1 << 16, n = 0;
    run->samples = calloc(cap, sizeof(*run->samples));
    double give_up = now_s() + 60;
    for (;;) {
        VqaStreamStats st;
        vqa_stream_get_stats(stream, &st);
        if (n < cap && (n == 0 || st.media_time > run->samples[n - 1].t)) {
            run->samples[n].t = st.media_time;
            run->samples[n].wall = now_s();
            n++;
        }
        if (st.finished || now_s() > give_up)
            break;
        if (udp && src > 0 && waitpid(src, NULL, WNOHANG) == src) {
            src = 0; /* the source has sent its clip */
            struct timespec settle = { 1, 0 };
            nanosleep(&settle, NULL);
            vqa_stream_stop(stream);
        }
        struct timespec ms = { 0, 1000000 };
        nanosleep(&ms, NULL);
    }
    run->nb_samples = n;
    int ret = n > 1 ? 0 : -1;
    vqa_stream_wait(stream, -1);
    vqa_close(&ctx);
    return ret;
}

int main(int argc, char **argv)
{
    int udp = 1, runs = 3, video = 1;
    const char *clip = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--udp"))
            udp = 1;
        else if (!strcmp(argv[i], "--file"))
            udp = 0;
        else if (!strcmp(argv[i], "--video"))
            video = 1;
        else if (!strcmp(argv[i], "--audio"))
            video = 0;
        else if (!strcmp(argv[i], "--runs") && i + 1 < argc)
            runs = atoi(argv[++i]);
        else
            clip = argv[i];
    }
    if (!clip || runs < 1) {
        fprintf(stderr, "usage: latency [--udp | --file] [--video | --audio] [--runs N] CLIP\n");
        return 2;
    }
    printf("| input | track | run | kind | starts at (media s) | emitted at (s, on the media clock) | "
           "late by (s) | beyond min_duration (s) | |\n"
           "| --- | --- | --- | --- | --- | --- | --- | --- | --- |\n");
    double worst = -1e9;
    int total = 0;
    for (int r = 0; r < runs; r++) {
        Run run = { .lock = PTHREAD_MUTEX_INITIALIZER };
        if (measure(clip, udp, video, &run) < 0) {
            fprintf(stderr, "latency: run %d: no media arrived\n", r + 1);
            return 1;
        }
        double w0 = start_of_media(&run);
        for (int i = 0; i < run.n; i++) {
            const Arrival *a = &run.ev[i];
            if (!strcmp(a->kind, "stream.stall"))
                continue; /* the wait for the source to start, not a defect of the clip */
            double late = a->wall - (w0 + a->t);
            double excess = late - MIN_DURATION_S;
            worst = excess > worst ? excess : worst;
            total++;
            printf("| %s | %s | %d | %s | %.3f | %.3f | %.3f | %+.3f | %s |\n",
                   udp ? "udp" : "file", video ? "video" : "audio", r + 1, a->kind, a->t, a->wall - w0, late, excess,
                   excess <= TARGET_EXCESS_S ? "PASS" : "FAIL");
        }
        free(run.samples);
    }
    printf("\n%d start events; worst: %+.3f s beyond min_duration (target <= %+.3f): %s\n", total,
           worst, TARGET_EXCESS_S, total > 0 && worst <= TARGET_EXCESS_S ? "PASS" : "FAIL");
    return 0;
}
