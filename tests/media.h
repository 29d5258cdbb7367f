/*
 * Media fixtures for the tests: a private temp directory, an ffmpeg runner,
 * the standard defect clip, and a small reader for the tool's JSON Lines.
 *
 * Shared by the tool tests and the pipeline tests. Not thread-safe except
 * media_dir(), which may be called from any thread.
 */
#ifndef VQA_TESTS_MEDIA_H
#define VQA_TESTS_MEDIA_H

#include <stddef.h>

/**
 * A per-process temp directory under $TMPDIR (default /tmp), made with
 * mkdtemp on first use and removed with its files at exit (set
 * VQA_KEEP_MEDIA=1 to keep it). @return its path; aborts the test run if it
 * cannot be made.
 */
const char *media_dir(void);

/** @return media_dir()/name, malloc'd (the caller frees), or NULL on ENOMEM. */
char *media_path(const char *name);

/**
 * Run "ffmpeg -nostdin -hide_banner -loglevel error -y ARGS" through system().
 * @return the exit status (0 = ok), or -1 if it could not be run.
 */
int media_ffmpeg(const char *args);

/* The standard defect clip: 10 s, 25 fps, 320x240, H.264 (libx264 -preset ultrafast,
 * yuv420p, -g 25) + AAC 48 kHz stereo, in an .mp4 with the index (moov) at the front:
 *   video 0–3 s moving testsrc2, 3–6 s one frame of testsrc2 repeated (a freeze),
 *         6–8 s black, 8–10 s moving testsrc2;
 *   audio 0–4 s 440 Hz sine at -12 dBFS, 4–7 s digital silence, 7–10 s sine.
 * Expected with defaults: video.freeze [3,6), video.black [6,8) (and no freeze
 * over the black), audio.silence [4,7). */
#define MEDIA_CLIP_DURATION_S 10.0
#define MEDIA_FREEZE_START_S 3.0
#define MEDIA_FREEZE_END_S 6.0
#define MEDIA_BLACK_START_S 6.0
#define MEDIA_BLACK_END_S 8.0
#define MEDIA_SILENCE_START_S 4.0
#define MEDIA_SILENCE_END_S 7.0

/** Write the standard defect clip to path. @return 0, or ffmpeg's nonzero status. */
int media_make_defect_clip(const char *path);

/** One event of the tool's output, as far as the tests care. */
typedef struct MediaEvent {
    char stream[64];
    char detector[64];
    char kind[64];
    char state[16];      /**< "start", "end", "instant" */
    double t;
    double duration;     /**< END only; 0 otherwise */
    int has_duration;
    char details[256];   /**< the raw "details" object (truncated), or "" */
} MediaEvent;

/**
 * Read a JSON Lines file of events. Every non-empty line must be one JSON
 * object with at least stream, detector, kind, state and t.
 * @param out receives a malloc'd array (the caller frees; NULL when empty)
 * @return 0, or -1 if the file cannot be read or a line is not a valid event
 *         (the line number is printed to stderr).
 */
int media_read_events(const char *jsonl_path, MediaEvent **out, size_t *n);

/** @return 1 if text is exactly one valid JSON value (with surrounding blanks), else 0. */
int media_json_valid(const char *text);

/** Read a whole file into a malloc'd NUL-terminated string (NULL on failure). */
char *media_read_file(const char *path, size_t *size);

/**
 * Check the pairing rule: every start of (stream, detector, kind) is followed
 * by exactly one end before the next start, and nothing stays open.
 * @return 1 if it holds, 0 otherwise (the offending event is printed to stderr).
 */
int media_events_balanced(const MediaEvent *ev, size_t n);

/** @return the index of the first event of that stream/kind/state, or -1. */
long media_find_event(const MediaEvent *ev, size_t n, const char *stream,
                      const char *kind, const char *state);

#endif /* VQA_TESTS_MEDIA_H */
