/*
 * `vqa scan|monitor --sink ... --webhook ...`, run as a separate process: the events
 * on standard output, in the rotated JSON Lines files and at the webhook
 * receivers are the same; a dead webhook changes nothing but its own
 * counts; bad sink options are usage errors.
 */
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "http_receiver.h"
#include "media.h"
#include "sink_support.h"

#ifndef VQA_TOOL_PATH
#error "VQA_TOOL_PATH must name the built vqa tool"
#endif

#define MAX_ARGS 16

typedef struct ToolRun {
    int status;
    char *err;
    Lines out;   /* standard output, line by line */
} ToolRun;

static char *clip_path;
static char *black_path;   /* 2 s of black: one video.black start and end */
static char *work_dir;

static void run_tool(ToolRun *run, const char *const *args)
{
    char *out_path = path_join(work_dir, "stdout");
    char *err_path = path_join(work_dir, "stderr");
    memset(run, 0, sizeof(*run));
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        const char *argv[MAX_ARGS + 2] = { "vqa" };
        for (int i = 0; args[i] && i < MAX_ARGS; i++)
            argv[i + 1] = args[i];
        int in = open("/dev/null", O_RDONLY);
        int out = open(out_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        int err = open(err_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (in < 0 || out < 0 || err < 0 || dup2(in, 0) < 0 || dup2(out, 1) < 0 ||
            dup2(err, 2) < 0)
            _exit(126);
        execv(VQA_TOOL_PATH, (char *const *)argv);
        _exit(127);
    }
    int wstatus = 0;
    assert_int_equal(waitpid(pid, &wstatus, 0), pid);
    run->status = WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : 128 + WTERMSIG(wstatus);
    assert_int_equal(lines_read_file(out_path, &run->out), 0);
    run->err = media_read_file(err_path, NULL);
    assert_non_null(run->err);
    if (run->status == 126 || run->status == 127)
        fail_msg("could not run %s", VQA_TOOL_PATH);
    unlink(out_path);
    unlink(err_path);
    free(out_path);
    free(err_path);
}

static void run_free(ToolRun *run)
{
    lines_free(&run->out);
    free(run->err);
}

static void assert_status(const ToolRun *run, int expected)
{
    if (run->status != expected) {
        fprintf(stderr, "exit %d\n--- stdout: %zu lines\n--- stderr\n%s---\n", run->status,
                run->out.n, run->err);
        fail_msg("exit status %d, expected %d", run->status, expected);
    }
}

/* Small files rotate; oldest to newest they hold exactly what standard output got. */
static void test_sink_jsonl_rotates_and_matches_stdout(void **state)
{
    (void)state;
    char *path = path_join(work_dir, "events.jsonl");
    char spec[4200];
    snprintf(spec, sizeof(spec), "jsonl:%s:max_bytes=400:keep=100", path);
    const char *args[] = { "scan", "-q", "--sink", spec, clip_path, clip_path, NULL };
    ToolRun run;
    run_tool(&run, args);
    assert_status(&run, 0);
    assert_true(run.out.n >= 12); /* two inputs, freeze, black and silence each */

    Lines files = { 0 };
    int n_files = 0;
    char name[4200];
    for (;; n_files++) {
        snprintf(name, sizeof(name), n_files ? "%s.%d" : "%s", path, n_files);
        if (access(name, F_OK) != 0)
            break;
    }
    assert_true(n_files >= 3);
    for (int i = n_files - 1; i >= 0; i--) {
        snprintf(name, sizeof(name), i ? "%s.%d" : "%s", path, i);
        assert_int_equal(lines_read_file(name, &files), 0);
        unlink(name);
    }
    assert_true(lines_equal(&files, &run.out));
    lines_free(&files);
    run_free(&run);
    free(path);
}

#if VQA_TEST_WEBHOOK

static void bodies_of(HttpReceiver *rx, Lines *out)
{
    for (size_t i = 0; i < receiver_count(rx); i++) {
        ReceiverRequest req;
        assert_int_equal(receiver_request(rx, i, &req), 0);
        lines_add(out, req.body, req.body_len);
        receiver_request_free(&req);
    }
}

/* --webhook is repeatable: each receiver gets every event once, as on standard output. */
static void test_webhooks_get_every_event(void **state)
{
    (void)state;
    HttpReceiver *a = receiver_start(RECEIVER_ANSWER, 0, 0);
    HttpReceiver *b = receiver_start(RECEIVER_ANSWER, 0, 0);
    assert_non_null(a);
    assert_non_null(b);
    char url_a[128], url_b[128];
    receiver_url(a, "/a", url_a, sizeof(url_a));
    receiver_url(b, "/b", url_b, sizeof(url_b));
    const char *args[] = { "scan", "-q", "--webhook", url_a, "--webhook", url_b, clip_path,
                           NULL };
    ToolRun run;
    run_tool(&run, args);
    assert_status(&run, 0);
    assert_true(run.out.n >= 6);
    Lines got_a = { 0 }, got_b = { 0 };
    bodies_of(a, &got_a);
    bodies_of(b, &got_b);
    assert_true(lines_equal(&got_a, &run.out));
    assert_true(lines_equal(&got_b, &run.out));
    lines_free(&got_a);
    lines_free(&got_b);
    run_free(&run);
    receiver_stop(&a);
    receiver_stop(&b);
}

/* A webhook nobody answers: the same events on standard output, exit 0, and the
 * loss reported on standard error. */
static void test_dead_webhook_changes_nothing_else(void **state)
{
    (void)state;
    const char *plain_args[] = { "scan", "-q", clip_path, NULL };
    ToolRun plain;
    run_tool(&plain, plain_args);
    assert_status(&plain, 0);

    int fd;
    int port = receiver_dead_port(&fd);
    assert_true(port > 0);
    char url[64];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/", port);
    const char *args[] = { "scan", "--webhook", url, clip_path, NULL };
    ToolRun run;
    run_tool(&run, args);
    assert_status(&run, 0);
    assert_true(lines_same_set(&run.out, &plain.out));
    assert_non_null(strstr(run.err, "vqa: warning: sink webhook: closed: 0 event(s) written"));
    close(fd);
    run_free(&run);
    run_free(&plain);
}

#endif

static void expect_usage_error(const char *const *args, const char *message)
{
    ToolRun run;
    run_tool(&run, args);
    assert_status(&run, 2);
    assert_int_equal(run.out.n, 0);
    if (!strstr(run.err, message)) {
        fprintf(stderr, "stderr: %s\n", run.err);
        fail_msg("no '%s' on standard error", message);
    }
    run_free(&run);
}

static void test_bad_sink_options(void **state)
{
    (void)state;
    const char *unknown[] = { "scan", "--sink", "syslog:x", clip_path, NULL };
    expect_usage_error(unknown, "unknown sink");
    const char *no_path[] = { "scan", "--sink", "jsonl:", clip_path, NULL };
    expect_usage_error(no_path, "no file name");
    const char *bad_size[] = { "scan", "--sink", "jsonl:x:max_bytes=12Q", clip_path, NULL };
    expect_usage_error(bad_size, "max_bytes takes a size");
    const char *bad_keep[] = { "scan", "--sink", "jsonl:x:keep=1001", clip_path, NULL };
    expect_usage_error(bad_keep, "keep takes a number");
    const char *bad_url[] = { "scan", "--webhook", "ftp://127.0.0.1/", clip_path, NULL };
    expect_usage_error(bad_url, "not an http:// or https:// URL");
    const char *no_arg[] = { "scan", clip_path, "--webhook", NULL };
    expect_usage_error(no_arg, "needs an argument");
    const char *plugins[] = { "plugins", "--sink", "jsonl:x", NULL };
    expect_usage_error(plugins, "does not apply to 'plugins'");
#if !VQA_TEST_WEBHOOK
    const char *hook[] = { "scan", "--webhook", "http://127.0.0.1:9/", clip_path, NULL };
    expect_usage_error(hook, "no webhook support");
#endif

    /* A file that cannot be created stops the scan before it starts: exit 1. */
    char *missing = path_join(work_dir, "no/such/dir.jsonl");
    char spec[4200];
    snprintf(spec, sizeof(spec), "jsonl:%s", missing);
    const char *unopenable[] = { "scan", "--sink", spec, clip_path, NULL };
    ToolRun run;
    run_tool(&run, unopenable);
    assert_status(&run, 1);
    assert_int_equal(run.out.n, 0);
    assert_non_null(strstr(run.err, "no/such/dir.jsonl"));
    run_free(&run);
    free(missing);
}

/* A path with colons keeps them: only trailing known options are taken off. */
static void test_sink_path_with_colons(void **state)
{
    (void)state;
    char *path = path_join(work_dir, "a:b:keep.jsonl");
    char spec[4200];
    snprintf(spec, sizeof(spec), "jsonl:%s:keep=2", path);
    const char *args[] = { "scan", "-q", "-d", "black", "--sink", spec, clip_path, NULL };
    ToolRun run;
    run_tool(&run, args);
    assert_status(&run, 0);
    Lines lines = { 0 };
    assert_int_equal(lines_read_file(path, &lines), 0);
    assert_true(lines.n >= 2);
    assert_true(lines_equal(&lines, &run.out));
    unlink(path);
    lines_free(&lines);
    run_free(&run);
    free(path);
}

/* `monitor` takes the same sink options (files are read at their own speed). */
static void test_monitor_takes_sinks(void **state)
{
    (void)state;
    char *path = path_join(work_dir, "monitor.jsonl");
    char spec[4200];
    snprintf(spec, sizeof(spec), "jsonl:%s:max_bytes=1M", path);
    const char *args[] = { "monitor", "-q", "-d", "black", "--stats-interval", "0", "--sink",
                           spec, black_path, NULL };
    ToolRun run;
    run_tool(&run, args);
    assert_status(&run, 0);
    Lines lines = { 0 };
    assert_int_equal(lines_read_file(path, &lines), 0);
    assert_int_equal(lines.n, 2);
    assert_true(lines_equal(&lines, &run.out));
    assert_non_null(strstr(lines.v[0], "\"kind\":\"video.black\",\"state\":\"start\""));
    unlink(path);
    lines_free(&lines);
    run_free(&run);
    free(path);
}

static int make_fixtures(void **state)
{
    (void)state;
    setenv("no_proxy", "127.0.0.1,localhost", 1);
    setenv("NO_PROXY", "127.0.0.1,localhost", 1);
    work_dir = temp_dir("toolsinks");
    clip_path = media_path("defects.mp4");
    black_path = media_path("black2.mp4");
    if (!work_dir || !clip_path || !black_path || media_make_defect_clip(clip_path) != 0)
        return -1;
    char args[4200];
    snprintf(args, sizeof(args), "-f lavfi -i color=c=black:s=160x120:r=25:d=2 -c:v libx264 "
             "-preset ultrafast -pix_fmt yuv420p '%s'", black_path);
    return media_ffmpeg(args);
}

static int drop_fixtures(void **state)
{
    (void)state;
    if (work_dir)
        remove_dir(work_dir);
    free(work_dir);
    free(clip_path);
    free(black_path);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sink_jsonl_rotates_and_matches_stdout),
#if VQA_TEST_WEBHOOK
        cmocka_unit_test(test_webhooks_get_every_event),
        cmocka_unit_test(test_dead_webhook_changes_nothing_else),
#endif
        cmocka_unit_test(test_bad_sink_options),
        cmocka_unit_test(test_sink_path_with_colons),
        cmocka_unit_test(test_monitor_takes_sinks),
    };
    return cmocka_run_group_tests(tests, make_fixtures, drop_fixtures);
}
