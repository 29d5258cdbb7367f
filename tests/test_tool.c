/*
 * The vqa command-line tool, run as a separate process: exit statuses, events
 * on standard output only, the defect clip's events at the right times, broken
 * inputs, usage errors and the plugin listing.
 */
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "media.h"
#include "vqa/common.h"

#ifndef VQA_TOOL_PATH
#error "VQA_TOOL_PATH must name the built vqa tool"
#endif

#define TIME_TOLERANCE_S 0.1
#define MAX_ARGS 16

typedef struct Fixtures {
    char *clip;          /* the standard defect clip, index at the front */
    char *clip_moov_end; /* the same media with the index at the end */
} Fixtures;

/* The result of one run of the tool. */
typedef struct ToolRun {
    int status;          /* exit status, or 128 + signal */
    char *out;           /* standard output */
    char *err;           /* standard error */
    MediaEvent *ev;      /* standard output parsed as events */
    size_t nb_ev;
    int parsed;          /* 0 if standard output was valid JSON Lines events */
} ToolRun;

static char *temp_file(const char *stem)
{
    char name[64];
    snprintf(name, sizeof(name), "%s-XXXXXX", stem);
    char *path = media_path(name);
    assert_non_null(path);
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    return path;
}

static void child_exec(const char *const *args, const char *out_path, const char *err_path)
{
    const char *argv[MAX_ARGS + 2] = { "vqa" };
    for (int i = 0; args[i] && i < MAX_ARGS; i++)
        argv[i + 1] = args[i];
    int in = open("/dev/null", O_RDONLY);
    int out = open(out_path, O_WRONLY | O_TRUNC);
    int err = open(err_path, O_WRONLY | O_TRUNC);
    if (in < 0 || out < 0 || err < 0 || dup2(in, 0) < 0 || dup2(out, 1) < 0 ||
        dup2(err, 2) < 0)
        _exit(126);
    execv(VQA_TOOL_PATH, (char *const *)argv);
    _exit(127);
}

/* Run the tool with args (NULL-terminated, without argv[0]); capture everything. */
static void run_tool(ToolRun *run, const char *const *args)
{
    char *out_path = temp_file("stdout");
    char *err_path = temp_file("stderr");
    memset(run, 0, sizeof(*run));
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0)
        child_exec(args, out_path, err_path);
    int wstatus = 0;
    assert_int_equal(waitpid(pid, &wstatus, 0), pid);
    run->status = WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : 128 + WTERMSIG(wstatus);
    run->out = media_read_file(out_path, NULL);
    run->err = media_read_file(err_path, NULL);
    assert_non_null(run->out);
    assert_non_null(run->err);
    run->parsed = media_read_events(out_path, &run->ev, &run->nb_ev);
    if (run->status == 127 || run->status == 126)
        fail_msg("could not run %s", VQA_TOOL_PATH);
    unlink(out_path);
    unlink(err_path);
    free(out_path);
    free(err_path);
}

static void run_free(ToolRun *run)
{
    free(run->out);
    free(run->err);
    free(run->ev);
}

static void print_run(const ToolRun *run)
{
    fprintf(stderr, "exit %d\n--- stdout\n%s--- stderr\n%s---\n", run->status, run->out,
            run->err);
}

static void assert_status(const ToolRun *run, int expected)
{
    if (run->status != expected) {
        print_run(run);
        fail_msg("exit status %d, expected %d", run->status, expected);
    }
}

/* Find the one START/END pair of a kind in a stream and check its interval. */
static void assert_interval(const ToolRun *run, const char *stream, const char *kind,
                            double start_s, double end_s)
{
    long s = media_find_event(run->ev, run->nb_ev, stream, kind, "start");
    long e = media_find_event(run->ev, run->nb_ev, stream, kind, "end");
    if (s < 0 || e < 0) {
        print_run(run);
        fail_msg("no %s start/end in stream %s", kind, stream);
    }
    assert_true(fabs(run->ev[s].t - start_s) <= TIME_TOLERANCE_S);
    assert_true(fabs(run->ev[e].t - end_s) <= TIME_TOLERANCE_S);
    assert_true(run->ev[e].has_duration);
    assert_true(fabs(run->ev[e].duration - (end_s - start_s)) <= 2 * TIME_TOLERANCE_S);
}

static size_t count_kind(const ToolRun *run, const char *kind, const char *state)
{
    size_t n = 0;
    for (size_t i = 0; i < run->nb_ev; i++)
        n += !strcmp(run->ev[i].kind, kind) && (!state || !strcmp(run->ev[i].state, state));
    return n;
}

/* Events go to standard output only, and they are all well formed. */
static void assert_clean_output(const ToolRun *run)
{
    if (run->parsed != 0) {
        print_run(run);
        fail_msg("standard output is not JSON Lines events");
    }
    assert_null(strstr(run->err, "\"kind\""));
    assert_true(media_events_balanced(run->ev, run->nb_ev));
}

/* ---- fixtures ---- */

static int setup_media(void **state)
{
    Fixtures *fx = calloc(1, sizeof(*fx));
    if (!fx)
        return -1;
    fx->clip = media_path("defects.mp4");
    fx->clip_moov_end = media_path("defects-moov-end.mp4");
    if (!fx->clip || !fx->clip_moov_end || media_make_defect_clip(fx->clip) != 0)
        return -1;
    /* Remuxing without +faststart puts the index after the media data. */
    char args[8192];
    snprintf(args, sizeof(args), "-i '%s' -c copy '%s'", fx->clip, fx->clip_moov_end);
    if (media_ffmpeg(args) != 0)
        return -1;
    *state = fx;
    return 0;
}

static int teardown_media(void **state)
{
    Fixtures *fx = *state;
    if (fx) {
        free(fx->clip);
        free(fx->clip_moov_end);
        free(fx);
    }
    return 0;
}

/* Copy src to a new file cut to its first `bytes` bytes. */
static char *cut_copy(const char *src, const char *stem, off_t bytes)
{
    size_t size = 0;
    char *data = media_read_file(src, &size);
    assert_non_null(data);
    char *path = temp_file(stem);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, size, f), size);
    assert_int_equal(fclose(f), 0);
    assert_int_equal(truncate(path, bytes), 0);
    free(data);
    return path;
}

static char *truncated_copy(const char *src, const char *stem, double fraction)
{
    size_t size = 0;
    free(media_read_file(src, &size));
    return cut_copy(src, stem, (off_t)(size * fraction));
}

/* @return the file offset of the first video packet at or after t_s (ffprobe), or -1. */
static long video_packet_offset(const char *path, double t_s)
{
    char cmd[4400];
    snprintf(cmd, sizeof(cmd), "ffprobe -v error -select_streams v:0 -show_entries "
             "packet=pts_time,pos -of csv=p=0 '%s'", path);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    double pts_s = 0;
    long pos = -1, found = -1;
    while (fscanf(p, "%lf,%ld", &pts_s, &pos) == 2) {
        if (pts_s >= t_s && found < 0)
            found = pos;
    }
    pclose(p);
    return found;
}

/* @return the offset of a top-level MP4 box type in the file, or -1. */
static long box_offset(const char *path, const char *type)
{
    size_t size = 0;
    char *data = media_read_file(path, &size);
    assert_non_null(data);
    long found = -1;
    for (size_t pos = 0; pos + 8 <= size;) {
        const unsigned char *b = (const unsigned char *)data + pos;
        uint64_t box = (uint64_t)b[0] << 24 | b[1] << 16 | b[2] << 8 | b[3];
        if (!memcmp(b + 4, type, 4)) {
            found = (long)pos;
            break;
        }
        if (box < 8)
            break;
        pos += box;
    }
    free(data);
    return found;
}

/* ---- the defect clip ---- */

static void test_defect_clip_events(void **state)
{
    const Fixtures *fx = *state;
    ToolRun run;
    run_tool(&run, (const char *[]){ "scan", fx->clip, NULL });
    assert_status(&run, 0);
    assert_clean_output(&run);
    assert_interval(&run, "0", "video.freeze", MEDIA_FREEZE_START_S, MEDIA_FREEZE_END_S);
    assert_interval(&run, "0", "video.black", MEDIA_BLACK_START_S, MEDIA_BLACK_END_S);
    assert_interval(&run, "0", "audio.silence", MEDIA_SILENCE_START_S, MEDIA_SILENCE_END_S);
    assert_int_equal(count_kind(&run, "video.freeze", "start"), 1);
    assert_int_equal(count_kind(&run, "video.black", "start"), 1);
    assert_int_equal(count_kind(&run, "audio.silence", "start"), 1);
    assert_int_equal(count_kind(&run, "stream.error", NULL), 0);
    long s = media_find_event(run.ev, run.nb_ev, "0", "video.freeze", "start");
    assert_string_equal(run.ev[s].detector, "freeze");
    run_free(&run);
}

static void test_detector_spec_selects_and_configures(void **state)
{
    const Fixtures *fx = *state;
    ToolRun run;
    /* The freeze lasts 3 s: a 4 s minimum must hide it; black is not asked for. */
    run_tool(&run, (const char *[]){ "scan", "-d", "freeze:min_duration=4,silence",
                                     fx->clip, NULL });
    assert_status(&run, 0);
    assert_clean_output(&run);
    assert_int_equal(count_kind(&run, "video.freeze", NULL), 0);
    assert_int_equal(count_kind(&run, "video.black", NULL), 0);
    assert_interval(&run, "0", "audio.silence", MEDIA_SILENCE_START_S, MEDIA_SILENCE_END_S);
    run_free(&run);
}

static void test_stream_ids(void **state)
{
    const Fixtures *fx = *state;
    char named[4200];
    snprintf(named, sizeof(named), "clip_A.1=%s", fx->clip);
    ToolRun run;
    run_tool(&run, (const char *[]){ "scan", "--threads", "2", "-d", "black", named, fx->clip,
                                     NULL });
    assert_status(&run, 0);
    assert_clean_output(&run);
    assert_interval(&run, "clip_A.1", "video.black", MEDIA_BLACK_START_S, MEDIA_BLACK_END_S);
    assert_interval(&run, "1", "video.black", MEDIA_BLACK_START_S, MEDIA_BLACK_END_S);
    assert_int_equal(count_kind(&run, "video.black", "start"), 2);
    run_free(&run);
}

static void test_output_file(void **state)
{
    const Fixtures *fx = *state;
    char *events = temp_file("events");
    ToolRun run;
    run_tool(&run, (const char *[]){ "scan", "-d", "black", "-o", events, fx->clip, NULL });
    assert_status(&run, 0);
    assert_string_equal(run.out, "");
    MediaEvent *ev = NULL;
    size_t n = 0;
    assert_int_equal(media_read_events(events, &ev, &n), 0);
    assert_true(media_find_event(ev, n, "0", "video.black", "start") >= 0);
    assert_true(media_find_event(ev, n, "0", "video.black", "end") >= 0);
    free(ev);
    unlink(events);
    free(events);
    run_free(&run);
}

/* ---- inputs that cannot be read ---- */

/* Exit 1, a stream.error event for the stream on stdout, the reason on stderr. */
static void assert_input_error(const ToolRun *run, const char *stream)
{
    assert_status(run, 1);
    assert_clean_output(run);
    if (media_find_event(run->ev, run->nb_ev, stream, "stream.error", NULL) < 0) {
        print_run(run);
        fail_msg("no stream.error event for stream %s", stream);
    }
    assert_non_null(strstr(run->err, "vqa: "));
}

static void test_missing_file(void **state)
{
    (void)state;
    char *path = media_path("does-not-exist.mp4");
    ToolRun run;
    run_tool(&run, (const char *[]){ "scan", path, NULL });
    assert_input_error(&run, "0");
    run_free(&run);
    free(path);
}

static void test_equals_sign_in_url_is_not_an_id(void **state)
{
    (void)state;
    /* "/…/a" is not an id (it has slashes), so the whole argument is the path. */
    char *path = media_path("no/such=file.mp4");
    ToolRun run;
    run_tool(&run, (const char *[]){ "scan", path, NULL });
    assert_input_error(&run, "0");
    run_free(&run);
    free(path);
}

static void test_random_bytes(void **state)
{
    (void)state;
    char *path = temp_file("random");
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    uint32_t x = 0x9e3779b9u;
    for (int i = 0; i < 64 * 1024; i++) {
        x ^= x << 13, x ^= x >> 17, x ^= x << 5; /* xorshift: fixed, not random per run */
        fputc((int)(x & 0xff), f);
    }
    assert_int_equal(fclose(f), 0);
    ToolRun run;
    run_tool(&run, (const char *[]){ "scan", path, NULL });
    assert_input_error(&run, "0");
    run_free(&run);
    unlink(path);
    free(path);
}

static void test_text_file(void **state)
{
    (void)state;
    char *path = temp_file("notes.txt");
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    for (int i = 0; i < 200; i++)
        fprintf(f, "line %d: this is a text file, not audio or video.\n", i);
    assert_int_equal(fclose(f), 0);
    ToolRun run;
    run_tool(&run, (const char *[]){ "scan", path, NULL });
    assert_input_error(&run, "0");
    run_free(&run);
    unlink(path);
    free(path);
}

static void test_truncated_index_at_front(void **state)
{
    const Fixtures *fx = *state;
    assert_true(box_offset(fx->clip, "moov") < box_offset(fx->clip, "mdat"));
    char *path = truncated_copy(fx->clip, "cut-front", 0.4);
    ToolRun run;
    run_tool(&run, (const char *[]){ "scan", path, NULL });
    /* What was read is analysed and every defect opened is closed. */
    assert_input_error(&run, "0");
    for (size_t i = 0; i < run.nb_ev; i++)
        assert_true(run.ev[i].t <= MEDIA_CLIP_DURATION_S);
    run_free(&run);
    unlink(path);
    free(path);
}

/* Cut in the middle of the freeze and the silence: both must be closed where the input ends. */
static void test_truncated_mid_defect(void **state)
{
    const Fixtures *fx = *state;
    const double cut_s = 5.0;
    long offset = video_packet_offset(fx->clip, cut_s);
    assert_true(offset > 0);
    char *path = cut_copy(fx->clip, "cut-mid", (off_t)offset);
    ToolRun run;
    run_tool(&run, (const char *[]){ "scan", path, NULL });
    assert_input_error(&run, "0");
    long s = media_find_event(run.ev, run.nb_ev, "0", "video.freeze", "start");
    long e = media_find_event(run.ev, run.nb_ev, "0", "video.freeze", "end");
    if (s < 0 || e < 0) {
        print_run(&run);
        fail_msg("the freeze before the cut was not reported and closed");
    }
    assert_true(fabs(run.ev[s].t - MEDIA_FREEZE_START_S) <= TIME_TOLERANCE_S);
    assert_true(run.ev[e].t > MEDIA_FREEZE_START_S && run.ev[e].t <= cut_s + 0.5);
    assert_non_null(strstr(run.ev[e].details, "eos"));
    assert_int_equal(count_kind(&run, "video.black", NULL), 0);
    run_free(&run);
    unlink(path);
    free(path);
}

static void test_truncated_index_at_end(void **state)
{
    const Fixtures *fx = *state;
    long moov = box_offset(fx->clip_moov_end, "moov");
    assert_true(moov > box_offset(fx->clip_moov_end, "mdat"));
    char *path = truncated_copy(fx->clip_moov_end, "cut-end", 0.4);
    ToolRun run;
    run_tool(&run, (const char *[]){ "scan", path, NULL });
    assert_input_error(&run, "0");
    run_free(&run);
    unlink(path);
    free(path);
}

/* ---- usage errors ---- */

static void assert_usage_error(const char *const *args)
{
    ToolRun run;
    run_tool(&run, args);
    assert_status(&run, 2);
    assert_string_equal(run.out, "");
    assert_non_null(strstr(run.err, "vqa: "));
    run_free(&run);
}

static void test_bad_detector_specs(void **state)
{
    const Fixtures *fx = *state;
    assert_usage_error((const char *[]){ "scan", "-d", "nosuch", fx->clip, NULL });
    assert_usage_error((const char *[]){ "scan", "-d", "freeze:nosuch=1", fx->clip, NULL });
    assert_usage_error((const char *[]){ "scan", "-d", "freeze:min_duration=-5", fx->clip,
                                         NULL });
}

static void test_bad_command_lines(void **state)
{
    const Fixtures *fx = *state;
    assert_usage_error((const char *[]){ "scan", NULL });
    assert_usage_error((const char *[]){ NULL });
    assert_usage_error((const char *[]){ "frobnicate", fx->clip, NULL });
    assert_usage_error((const char *[]){ "scan", "--bogus", fx->clip, NULL });
    assert_usage_error((const char *[]){ "scan", "-Z", fx->clip, NULL });
    assert_usage_error((const char *[]){ "scan", fx->clip, "-d", NULL });
    assert_usage_error((const char *[]){ "scan", "--threads", "100000", fx->clip, NULL });
    assert_usage_error((const char *[]){ "scan", "--threads", "two", fx->clip, NULL });
    assert_usage_error((const char *[]){ "scan", "--log-level", "loud", fx->clip, NULL });
    assert_usage_error((const char *[]){ "plugins", "--threads", "2", NULL });
    assert_usage_error((const char *[]){ "monitor", NULL });
    assert_usage_error((const char *[]){ "monitor", "--stall-timeout", "0", fx->clip, NULL });
    assert_usage_error((const char *[]){ "monitor", "--reconnect", "often", fx->clip, NULL });
    assert_usage_error((const char *[]){ "monitor", "--input-options", "novalue", fx->clip,
                                         NULL });
    assert_usage_error((const char *[]){ "scan", "--stall-timeout", "2", fx->clip, NULL });
    assert_usage_error((const char *[]){ "plugins", "--stats", "x.jsonl", NULL });
    assert_usage_error((const char *[]){ "plugins", "--report", "r.html", NULL });
    assert_usage_error((const char *[]){ "plugins", "--progress", NULL });
    assert_usage_error((const char *[]){ "monitor", "--report", "r.html", fx->clip, NULL });
    assert_usage_error((const char *[]){ "monitor", "--no-progress", fx->clip, NULL });
    assert_usage_error((const char *[]){ "scan", "--report", "-", fx->clip, NULL });
    assert_usage_error((const char *[]){ "scan", "--report", fx->clip, NULL });
    assert_usage_error((const char *[]){ "scan", "--report", fx->clip, fx->clip, NULL });
    assert_usage_error((const char *[]){ "scan", "--report", "x.html", "-o", "x.html", fx->clip,
                                         NULL });
}

static void test_help_and_version(void **state)
{
    (void)state;
    ToolRun run;
    run_tool(&run, (const char *[]){ "--version", NULL });
    assert_status(&run, 0);
    assert_non_null(strstr(run.out, vqa_version()));
    run_free(&run);
    run_tool(&run, (const char *[]){ "scan", "--help", NULL });
    assert_status(&run, 0);
    assert_non_null(strstr(run.out, "Usage: vqa scan"));
    run_free(&run);
}

/* ---- plugins ---- */

static void test_plugins_json(void **state)
{
    (void)state;
    ToolRun run;
    run_tool(&run, (const char *[]){ "plugins", "--json", NULL });
    assert_status(&run, 0);
    assert_true(media_json_valid(run.out));
    static const char *const expected[] = {
        "\"name\":\"freeze\"", "\"name\":\"black\"", "\"name\":\"silence\"",
        "\"video.freeze\"", "\"video.black\"", "\"audio.silence\"",
        "\"name\":\"min_duration\"", "\"default\":", "\"min\":", "\"max\":",
        "\"failures\":[",
    };
    for (size_t i = 0; i < sizeof(expected) / sizeof(expected[0]); i++) {
        if (!strstr(run.out, expected[i]))
            fail_msg("%s not in: %s", expected[i], run.out);
    }
    run_free(&run);
}

static void test_plugins_text(void **state)
{
    (void)state;
    ToolRun run;
    run_tool(&run, (const char *[]){ "plugins", NULL });
    assert_status(&run, 0);
    assert_non_null(strstr(run.out, "detector freeze"));
    assert_non_null(strstr(run.out, "min_duration"));
    run_free(&run);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defect_clip_events),
        cmocka_unit_test(test_detector_spec_selects_and_configures),
        cmocka_unit_test(test_stream_ids),
        cmocka_unit_test(test_output_file),
        cmocka_unit_test(test_missing_file),
        cmocka_unit_test(test_equals_sign_in_url_is_not_an_id),
        cmocka_unit_test(test_random_bytes),
        cmocka_unit_test(test_text_file),
        cmocka_unit_test(test_truncated_index_at_front),
        cmocka_unit_test(test_truncated_mid_defect),
        cmocka_unit_test(test_truncated_index_at_end),
        cmocka_unit_test(test_bad_detector_specs),
        cmocka_unit_test(test_bad_command_lines),
        cmocka_unit_test(test_help_and_version),
        cmocka_unit_test(test_plugins_json),
        cmocka_unit_test(test_plugins_text),
    };
    return cmocka_run_group_tests_name("tool", tests, setup_media, teardown_media);
}
