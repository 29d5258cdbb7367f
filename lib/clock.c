#include <time.h>

#include "clock.h"

/* How often a sleeping reader looks at its stop flag: stop stays well under a second. */
#define STOP_POLL_S 0.02

static int64_t read_ns(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int64_t vqa_monotonic_ns(void)
{
    return read_ns(CLOCK_MONOTONIC);
}

double vqa_monotonic_s(void)
{
    return vqa_monotonic_ns() / 1e9;
}

int64_t vqa_thread_cpu_ns(void)
{
    return read_ns(CLOCK_THREAD_CPUTIME_ID);
}

int vqa_sleep_unless(double seconds, const _Atomic int *stop)
{
    double end = vqa_monotonic_s() + seconds;
    for (;;) {
        if (*stop)
            return 1;
        double left = end - vqa_monotonic_s();
        if (left <= 0)
            return 0;
        double step = left < STOP_POLL_S ? left : STOP_POLL_S;
        struct timespec ts = { 0, (long)(step * 1e9) };
        nanosleep(&ts, NULL);
    }
}
