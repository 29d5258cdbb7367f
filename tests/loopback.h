/*
 * Loopback peers for the live-input tests: a small HTTP file server (that can
 * also accept and never answer), child processes (an ffmpeg source) and a
 * thread-safe event recorder. Everything binds to 127.0.0.1 on a port the
 * kernel picks, and is stopped by the test that started it.
 */
#ifndef VQA_TESTS_LOOPBACK_H
#define VQA_TESTS_LOOPBACK_H

#include <pthread.h>
#include <stddef.h>
#include <sys/types.h>

#include <vqa/vqa.h>

typedef enum LbHttpMode {
    LB_HTTP_FILES = 0,  /**< GET /name serves root/name (HTTP/1.1, Connection: close) */
    LB_HTTP_SILENT = 1, /**< accept connections, never read or answer */
} LbHttpMode;

typedef struct LbHttp LbHttp;

/** Start a server on 127.0.0.1. @return 0 or -errno. */
int lb_http_start(LbHttp **out, const char *root, LbHttpMode mode);
int lb_http_port(const LbHttp *h);
/** How many connections were accepted so far. */
int lb_http_connections(LbHttp *h);
/** Close the listening socket and every connection, join the thread. NULL-safe. */
void lb_http_stop(LbHttp **h);

/** A port that was free a moment ago on 127.0.0.1 (for servers started by another process). */
int lb_free_port(void);

/** Start "ffmpeg -nostdin -hide_banner -loglevel error ARGS" (split on spaces). @return pid or -1. */
pid_t lb_spawn_ffmpeg(const char *args);
/** SIGKILL and reap. */
void lb_kill(pid_t pid);

/** Events of a context, recorded from the callback (thread-safe). */
typedef struct LbEvent {
    char stream[64], detector[64], kind[64];
    VqaEventState state;
    double t, duration, value;
    char details[512];
} LbEvent;

typedef struct LbRecorder {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    LbEvent *ev;
    size_t n, cap;
} LbRecorder;

void lb_recorder_init(LbRecorder *r);
void lb_recorder_free(LbRecorder *r);
/** A VqaEventCallback; cookie is the LbRecorder. */
void lb_record(void *cookie, const VqaEvent *ev);
/** Count the events of a kind and state (state < 0: any) whose details contain `needle` (or NULL). */
size_t lb_count(LbRecorder *r, const char *kind, int state, const char *needle);
/**
 * Wait until lb_count(kind, state, needle) >= n or timeout_s passes.
 * @return 1 when reached, 0 on timeout.
 */
int lb_wait_for(LbRecorder *r, const char *kind, int state, const char *needle, size_t n,
                double timeout_s);
/** Copy of the i-th event matching (kind, state); 0 if found. */
int lb_get(LbRecorder *r, const char *kind, int state, size_t i, LbEvent *out);
/** Every start has one end after it, per (stream, detector, kind). @return 1 if so. */
int lb_balanced(LbRecorder *r);

/** Monotonic seconds. */
double lb_now(void);
/** Sleep seconds. */
void lb_sleep(double s);

#endif
