/*
 * The progress line of `vqa scan`: position, speed and defects so far on
 * standard error, redrawn in place with '\r' at most PROGRESS_PERIOD_S apart
 * and erased at the end, where a one-line summary takes its place.
 *
 * Anything else written to standard error while the line is shown (log
 * lines, the tool's messages) goes through progress_message or progress_log,
 * which erase the line first under the same lock, so text never lands in the
 * middle of it; the next tick draws it again below.
 *
 * The line is erased with spaces rather than a terminal escape sequence, so
 * it works on any terminal, and a forced --progress into a file stays legible.
 */
#include <stdarg.h>
#include <string.h>
#include <time.h>

#include "vqa_tool.h"

/* At most four updates a second: faster is unreadable and costs a terminal write each. */
#define PROGRESS_PERIOD_S 0.25
/* Below this much wall time the speed is noise. */
#define SPEED_MIN_WALL_S 0.1

/* "m:ss.s", or "h:mm:ss.s" from an hour on. */
static void format_media_time(char *buf, size_t size, double s)
{
    if (!(s >= 0))
        s = 0;
    long tenths = (long)(s * 10 + 0.5);
    long secs = tenths / 10;
    if (secs >= 3600)
        snprintf(buf, size, "%ld:%02ld:%02ld.%ld", secs / 3600, secs / 60 % 60, secs % 60,
                 tenths % 10);
    else
        snprintf(buf, size, "%ld:%02ld.%ld", secs / 60, secs % 60, tenths % 10);
}

void progress_init(Progress *p, int enabled, ProgressSampler sampler, void *cookie)
{
    memset(p, 0, sizeof(*p));
    p->enabled = enabled;
    p->sampler = sampler;
    p->cookie = cookie;
    pthread_mutex_init(&p->lock, NULL);
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&p->wake, &attr);
    pthread_condattr_destroy(&attr);
    atomic_init(&p->defects, 0);
}

void progress_destroy(Progress *p)
{
    pthread_cond_destroy(&p->wake);
    pthread_mutex_destroy(&p->lock);
}

void progress_count_event(Progress *p, const VqaEvent *event)
{
    /* A defect is something that began; an "info" instant (a loudness
     * summary, a periodic measure) is a report, not a defect. */
    if (event->state == VQA_EVENT_END || event->severity == VQA_SEVERITY_INFO)
        return;
    atomic_fetch_add(&p->defects, 1);
}

long long progress_defects(Progress *p)
{
    return atomic_load(&p->defects);
}

/* Erase the line if it is shown. Called with the lock held. */
static void clear_locked(Progress *p)
{
    if (p->shown_len == 0)
        return;
    fprintf(stderr, "\r%*s\r", (int)p->shown_len, "");
    fflush(stderr);
    p->shown_len = 0;
}

static int format_line(Progress *p, const ProgressSample *s, double wall_s, char *buf,
                       size_t size)
{
    char pos[32], total[32];
    size_t len = 0;
    format_media_time(pos, sizeof(pos), s->media_s);
    len += (size_t)snprintf(buf, size, "vqa: ");
    if (s->nb_inputs > 1)
        len += (size_t)snprintf(buf + len, size - len, "%d/%d inputs done, ", s->nb_finished,
                                s->nb_inputs);
    if (s->duration_s > 0) {
        format_media_time(total, sizeof(total), s->duration_s);
        double pct = 100.0 * s->media_s / s->duration_s;
        len += (size_t)snprintf(buf + len, size - len, "%s / %s (%.0f%%)", pos, total,
                                pct > 100 ? 100 : pct);
    } else {
        len += (size_t)snprintf(buf + len, size - len, "%s", pos);
    }
    if (len < size && wall_s >= SPEED_MIN_WALL_S)
        len += (size_t)snprintf(buf + len, size - len, ", %.1fx real time", s->media_s / wall_s);
    if (len < size) {
        long long n = progress_defects(p);
        len += (size_t)snprintf(buf + len, size - len, ", %lld defect%s", n, n == 1 ? "" : "s");
    }
    return len < size ? (int)len : (int)size - 1;
}

/* Draw the line over the previous one. Called with the lock held. */
static void draw_locked(Progress *p, const ProgressSample *s)
{
    char line[256];
    int len = format_line(p, s, cli_now_s() - p->start_s, line, sizeof(line));
    /* Pad with spaces over whatever the longer previous line left. */
    int pad = p->shown_len > (size_t)len ? (int)p->shown_len - len : 0;
    fprintf(stderr, "\r%s%*s", line, pad, "");
    fflush(stderr);
    p->shown_len = (size_t)len + (size_t)pad;
}

static void *progress_main(void *arg)
{
    Progress *p = arg;
    pthread_mutex_lock(&p->lock);
    while (!p->stop) {
        /* Sample without our lock: the sampler takes the scan's lock, and a
         * thread holding that one may log, which takes ours. */
        pthread_mutex_unlock(&p->lock);
        ProgressSample s;
        p->sampler(p->cookie, &s);
        pthread_mutex_lock(&p->lock);
        if (p->stop)
            break;
        draw_locked(p, &s);
        struct timespec until;
        clock_gettime(CLOCK_MONOTONIC, &until);
        long long ns = until.tv_nsec + (long long)(PROGRESS_PERIOD_S * 1e9);
        until.tv_sec += (time_t)(ns / 1000000000);
        until.tv_nsec = (long)(ns % 1000000000);
        while (!p->stop && pthread_cond_timedwait(&p->wake, &p->lock, &until) == 0) {
        }
    }
    pthread_mutex_unlock(&p->lock);
    return NULL;
}

int progress_start(Progress *p)
{
    p->start_s = cli_now_s();
    if (!p->enabled)
        return 0;
    if (pthread_create(&p->thread, NULL, progress_main, p) != 0) {
        p->enabled = 0;
        return -1;
    }
    p->running = 1;
    return 0;
}

void progress_stop(Progress *p)
{
    if (!p->running)
        return;
    pthread_mutex_lock(&p->lock);
    p->stop = 1;
    pthread_cond_signal(&p->wake);
    pthread_mutex_unlock(&p->lock);
    pthread_join(p->thread, NULL);
    p->running = 0;

    ProgressSample s;
    p->sampler(p->cookie, &s);
    double wall_s = cli_now_s() - p->start_s;
    char media[32];
    format_media_time(media, sizeof(media), s.media_s);
    long long n = progress_defects(p);
    pthread_mutex_lock(&p->lock);
    clear_locked(p);
    fprintf(stderr, "vqa: scanned %s of media in %.1f s", media, wall_s);
    if (wall_s >= SPEED_MIN_WALL_S)
        fprintf(stderr, " (%.1fx real time)", s.media_s / wall_s);
    fprintf(stderr, ", %lld defect%s\n", n, n == 1 ? "" : "s");
    pthread_mutex_unlock(&p->lock);
}

void progress_message(Progress *p, const char *fmt, ...)
{
    va_list args;
    va_start(args, fmt);
    pthread_mutex_lock(&p->lock);
    clear_locked(p);
    vfprintf(stderr, fmt, args);
    pthread_mutex_unlock(&p->lock);
    va_end(args);
}

void progress_log(void *cookie, VqaLogLevel level, const char *msg)
{
    progress_message(cookie, "vqa: %s: %s\n", vqa_log_level_name(level), msg);
}
