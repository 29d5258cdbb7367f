/*
 * `vqa monitor` as an operator runs it: two named inputs read in real time,
 * heartbeats to a file, and SIGINT while defects are open — every open
 * defect gets its end and the tool exits 0.
 */
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "loopback.h"
#include "media.h"

#define WAIT_S 30.0

static pid_t start_monitor(char *const argv[], const char *out_path)
{
    pid_t pid = fork();
    if (pid == 0) {
        int fd = open(out_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fd < 0 || dup2(fd, STDOUT_FILENO) < 0)
            _exit(127);
        execv(VQA_TOOL_PATH, argv);
        _exit(127);
    }
    return pid;
}

/* Wait until the file holds `needle`, or the time is up. */
static int wait_for_text(const char *path, const char *needle, double timeout_s)
{
    double end = lb_now() + timeout_s;
    for (;;) {
        char *text = media_read_file(path, NULL);
        int found = text && strstr(text, needle);
        free(text);
        if (found)
            return 1;
        if (lb_now() > end)
            return 0;
        lb_sleep(0.05);
    }
}

static int exit_status(pid_t pid)
{
    int status = 0;
    double end = lb_now() + WAIT_S;
    while (waitpid(pid, &status, WNOHANG) == 0) {
        if (lb_now() > end) {
            kill(pid, SIGKILL);
            waitpid(pid, &status, 0);
            return -1;
        }
        lb_sleep(0.02);
    }
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static void test_sigint_closes_open_defects_and_exits_0(void **state)
{
    (void)state;
    char *clip = media_path("defects.mp4");
    char *events = media_path("monitor-events.jsonl");
    char *stats = media_path("monitor-stats.jsonl");
    assert_int_equal(media_make_defect_clip(clip), 0);
    char cam1[600], cam2[600];
    snprintf(cam1, sizeof(cam1), "cam1=%s", clip);
    snprintf(cam2, sizeof(cam2), "cam2=%s", clip);
    char *argv[] = { "vqa", "monitor", "-q", "-d", "freeze:min_duration=1,silence:min_duration=1",
                     "--stats", stats, "--stats-interval", "0.5", cam1, cam2, NULL };
    double t0 = lb_now();
    pid_t pid = start_monitor(argv, events);
    assert_true(pid > 0);
    /* the freeze [3,6) is confirmed at 4 s of the clip, read in real time */
    assert_true(wait_for_text(events, "\"stream\":\"cam2\",\"detector\":\"freeze\","
                                      "\"kind\":\"video.freeze\",\"state\":\"start\"", WAIT_S));
    assert_true(wait_for_text(events, "\"stream\":\"cam1\",\"detector\":\"freeze\","
                                      "\"kind\":\"video.freeze\",\"state\":\"start\"", WAIT_S));
    double confirmed = lb_now() - t0;
    kill(pid, SIGINT);
    assert_int_equal(exit_status(pid), 0);
    /* real time, not as fast as possible: the freeze cannot be confirmed before 4 s */
    assert_true(confirmed >= 3.5);

    MediaEvent *ev = NULL;
    size_t n = 0;
    assert_int_equal(media_read_events(events, &ev, &n), 0);
    assert_true(media_events_balanced(ev, n));
    for (int i = 0; i < 2; i++) {
        const char *id = i ? "cam2" : "cam1";
        long start = media_find_event(ev, n, id, "video.freeze", "start");
        long end = media_find_event(ev, n, id, "video.freeze", "end");
        assert_true(start >= 0 && end > start);
        assert_true(ev[start].t > 2.9 && ev[start].t < 3.1);
        /* stopped while the freeze went on: closed at the last media time seen */
        assert_non_null(strstr(ev[end].details, "\"closed_by\":\"eos\""));
        assert_true(ev[end].t < MEDIA_CLIP_DURATION_S - 1);
    }
    free(ev);

    /* heartbeats: one line per stream, while running and once at the end */
    char *text = media_read_file(stats, NULL);
    assert_non_null(text);
    assert_non_null(strstr(text, "\"stream\":\"cam1\",\"state\":\"running\""));
    assert_non_null(strstr(text, "\"stream\":\"cam2\",\"state\":\"ended\""));
    assert_non_null(strstr(text, "\"frames_dropped\":0"));
    for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n"))
        assert_true(media_json_valid(line));
    free(text);
    free(stats);
    free(events);
    free(clip);
}

static void test_file_end_ends_the_monitor(void **state)
{
    (void)state;
    char *clip = media_path("short.mp4");
    char *events = media_path("monitor-short.jsonl");
    char args[700];
    snprintf(args, sizeof(args), "-f lavfi -i color=c=black:s=160x120:r=25:d=1.5 -c:v libx264 "
             "-preset ultrafast -pix_fmt yuv420p %s", clip);
    assert_int_equal(media_ffmpeg(args), 0);
    char *argv[] = { "vqa", "monitor", "-q", "--stats-interval", "0", "-d",
                     "black:min_duration=0.5", clip, NULL };
    pid_t pid = start_monitor(argv, events);
    assert_int_equal(exit_status(pid), 0); /* a file read to its end: done, status 0 */
    MediaEvent *ev = NULL;
    size_t n = 0;
    assert_int_equal(media_read_events(events, &ev, &n), 0);
    assert_true(media_find_event(ev, n, "0", "video.black", "start") >= 0);
    assert_true(media_events_balanced(ev, n));
    free(ev);
    free(events);
    free(clip);
}

int main(void)
{
    setenv("VQA_PLUGIN_PATH", VQA_BUILD_PLUGIN_DIR, 1);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sigint_closes_open_defects_and_exits_0),
        cmocka_unit_test(test_file_end_ends_the_monitor),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
