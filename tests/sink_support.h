/*
 * What the sink tests share: a growable list of lines, a callback that
 * collects events as JSON lines, a logger that keeps what it is told, and
 * synthetic events of varied length.
 */
#ifndef VQA_TESTS_SINK_SUPPORT_H
#define VQA_TESTS_SINK_SUPPORT_H

#include <pthread.h>
#include <stddef.h>

#include "vqa/vqa.h"

/** A list of malloc'd strings. Not thread-safe by itself. */
typedef struct Lines {
    char **v;
    size_t n, cap;
} Lines;

/** Append a copy of text[0..len). @return 0 or -1 (out of memory). */
int lines_add(Lines *l, const char *text, size_t len);
void lines_free(Lines *l);
/** @return 1 if both lists hold the same strings in the same order. */
int lines_equal(const Lines *a, const Lines *b);
/** @return 1 if both hold the same strings, in any order. */
int lines_same_set(const Lines *a, const Lines *b);
/** Split a file's text into lines (each without its "\n"). @return 0, or -1 if unreadable. */
int lines_read_file(const char *path, Lines *out);

/** A VqaEventCallback: cookie is a Lines; each event appended as its JSON line. */
void collect_json(void *cookie, const VqaEvent *ev);

/** Keeps log lines as "level: message\n". Thread-safe. */
typedef struct LogCapture {
    pthread_mutex_t lock;
    char *text;
    size_t len, cap;
} LogCapture;

void log_capture_init(LogCapture *c);
void log_capture_free(LogCapture *c);
/** A logger at `level` writing into c (and echoing to stderr when VQA_TEST_VERBOSE is set). */
VqaLogger log_capture_logger(LogCapture *c, VqaLogLevel level);
/** @return how many captured lines contain every one of the NULL-terminated needles. */
int log_capture_count(LogCapture *c, const char *const *needles);

/**
 * Event number i of a synthetic series: stream "s<i%3>", detector "synthetic",
 * kind "x-test.tick", instant, t = i/4, value i, details {"i":i,"pad":"…"} with
 * a pad of (i*37)%pad_max+1 characters. Strings live in buf.
 */
void synthetic_event(int i, int pad_max, VqaEvent *ev, char *buf, size_t size);

/** A temp directory (mkdtemp under $TMPDIR) and path joins; freed by the caller. */
char *temp_dir(const char *stem);
char *path_join(const char *dir, const char *name);
/** Remove dir and the files in it (no subdirectories). */
void remove_dir(const char *dir);

#endif
