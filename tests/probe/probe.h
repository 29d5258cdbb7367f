/*
 * What the probe fixture plugin records, shared by the plugin and the tests.
 */
#ifndef VQA_TESTS_PROBE_H
#define VQA_TESTS_PROBE_H

#include <stdint.h>

#define PROBE_MAX_RECORDS 100000

enum { PROBE_A, PROBE_B, PROBE_FULL, PROBE_AUDIO, PROBE_AV, PROBE_EVEN, PROBE_RATE, PROBE_COUNT };

typedef struct ProbeRecord {
    int detector;            /* PROBE_* */
    int type;                /* VQA_MEDIA_VIDEO or VQA_MEDIA_AUDIO */
    const void *instance;    /* the detector instance (its private state) */
    const void *data;        /* first plane of the frame received */
    int64_t index;
    double t;
    int width, height, nb_samples;
    unsigned long thread;
    double enter_s, leave_s; /* monotonic clock */
    int overlapped_self;     /* another call of the same detector was running */
} ProbeRecord;

typedef ProbeRecord *(*ProbeLogFn)(int *count);
typedef void (*ProbeResetFn)(void);

#endif
