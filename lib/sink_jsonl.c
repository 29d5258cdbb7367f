/*
 * The JSON Lines file sink, with size-based rotation numbered as logrotate
 * does: `path` is written, `path.1` is the newest full file, `path.N` the
 * oldest kept.
 *
 * Lines are gathered in a buffer and written out when the sink's queue runs
 * empty (flush) or the buffer fills, so a burst of events costs a few
 * write(2) calls and a quiet stream shows each event at once. The size
 * counts buffered bytes too, so the decision to rotate is taken before the
 * line is placed, and a line never straddles two files.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "logging.h"
#include "mem.h"
#include "sinks.h"

#define DEFAULT_KEEP 5
#define MAX_KEEP 1000
#define BUFFER_BYTES (64 * 1024)

typedef struct JsonlSink {
    const VqaLogger *log;
    char *path;
    char *from, *to;       /* scratch for rotated names: path + ".NNNN" */
    int64_t max_bytes;
    int keep;
    int fd;
    int64_t size;          /* of the file, buffered bytes included */
    int64_t retry_rotation_at; /* after a failed rotation: size at which to try again */
    char *buf;
    size_t buf_len;
} JsonlSink;

void vqa_jsonl_sink_default_settings(VqaJsonlSinkSettings *s)
{
    if (!s)
        return;
    memset(s, 0, sizeof(*s));
    s->keep = DEFAULT_KEEP;
}

static int open_file(JsonlSink *j, int truncate)
{
    int flags = O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | (truncate ? O_TRUNC : 0);
    j->fd = open(j->path, flags, 0644);
    if (j->fd < 0) {
        int err = errno;
        vqa_log(j->log, VQA_LOG_ERROR, "sink jsonl: cannot open %s: %s", j->path, strerror(err));
        return VQA_ERR(err);
    }
    struct stat st;
    j->size = fstat(j->fd, &st) == 0 ? (int64_t)st.st_size : 0;
    return 0;
}

static int write_all(int fd, const char *data, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, data, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return VQA_ERR(errno);
        data += n;
        len -= (size_t)n;
    }
    return 0;
}

static int jsonl_flush(void *opaque)
{
    JsonlSink *j = opaque;
    if (j->buf_len == 0)
        return 0;
    int err = j->fd >= 0 ? write_all(j->fd, j->buf, j->buf_len) : VQA_ERR(EBADF);
    j->buf_len = 0; /* what did not go out is lost: retrying would duplicate the rest */
    return err;
}

static void rotated_name(const JsonlSink *j, char *out, int n)
{
    size_t len = strlen(j->path);
    memcpy(out, j->path, len);
    snprintf(out + len, 16, ".%d", n);
}

/* path.(keep-1) → path.keep, …, path → path.1; missing ones are skipped. */
static int shift_files(JsonlSink *j)
{
    for (int i = j->keep - 1; i >= 0; i--) {
        if (i == 0)
            snprintf(j->from, strlen(j->path) + 1, "%s", j->path);
        else
            rotated_name(j, j->from, i);
        rotated_name(j, j->to, i + 1);
        if (rename(j->from, j->to) < 0 && errno != ENOENT) {
            int err = errno;
            vqa_log(j->log, VQA_LOG_WARNING, "sink jsonl: cannot rename %s to %s: %s", j->from,
                    j->to, strerror(err));
            return VQA_ERR(err);
        }
    }
    return 0;
}

static int rotate(JsonlSink *j)
{
    int err = jsonl_flush(j);
    if (err < 0)
        return err;
    close(j->fd);
    j->fd = -1;
    if (j->keep == 0) {
        err = 0; /* reopened truncated below */
    } else if ((err = shift_files(j)) < 0) {
        /* Keep appending to the full file rather than lose events; try again later. */
        j->retry_rotation_at = j->size + j->max_bytes;
    }
    int open_err = open_file(j, err >= 0);
    return open_err < 0 ? open_err : 0;
}

static int jsonl_write(void *opaque, const VqaEvent *event, const char *json, size_t json_len)
{
    (void)event;
    JsonlSink *j = opaque;
    int64_t need = (int64_t)json_len + 1;
    if (j->max_bytes > 0 && j->size > 0 && j->size + need > j->max_bytes &&
        j->size >= j->retry_rotation_at) {
        int err = rotate(j);
        if (err < 0)
            return err;
    }
    if (j->fd < 0 && open_file(j, 0) < 0) /* a failed reopen is retried with each event */
        return VQA_ERR(EBADF);
    if (j->buf_len + (size_t)need > BUFFER_BYTES) {
        int err = jsonl_flush(j);
        if (err < 0)
            return err;
    }
    if ((size_t)need > BUFFER_BYTES) { /* a huge line goes out on its own */
        int err = write_all(j->fd, json, json_len);
        if (err >= 0)
            err = write_all(j->fd, "\n", 1);
        j->size += need;
        return err;
    }
    memcpy(j->buf + j->buf_len, json, json_len);
    j->buf[j->buf_len + json_len] = '\n';
    j->buf_len += (size_t)need;
    j->size += need;
    return 0;
}

static int jsonl_open(void *opaque)
{
    return open_file(opaque, 0);
}

static void jsonl_close(void *opaque)
{
    JsonlSink *j = opaque;
    int err = jsonl_flush(j);
    if (err < 0)
        vqa_log(j->log, VQA_LOG_WARNING, "sink jsonl: %s: %s", j->path, vqa_strerror(err));
    if (j->fd >= 0 && close(j->fd) < 0)
        vqa_log(j->log, VQA_LOG_WARNING, "sink jsonl: closing %s: %s", j->path,
                strerror(errno));
    vqa_free(j->path);
    vqa_free(j->from);
    vqa_free(j->to);
    vqa_free(j->buf);
    vqa_free(j);
}

static const VqaSinkClass jsonl_class = {
    .struct_size = sizeof(VqaSinkClass),
    .name = "jsonl",
    .open = jsonl_open,
    .write = jsonl_write,
    .flush = jsonl_flush,
    .close = jsonl_close,
};

static int check_jsonl(const VqaLogger *log, const VqaJsonlSinkSettings *js)
{
    if (!js || !js->path || !js->path[0]) {
        vqa_log(log, VQA_LOG_ERROR, "sink jsonl: no path given");
        return VQA_ERR(EINVAL);
    }
    if (js->max_bytes < 0 || js->keep < 0 || js->keep > MAX_KEEP) {
        vqa_log(log, VQA_LOG_ERROR, "sink jsonl: max_bytes=%lld keep=%d: max_bytes must be "
                ">= 0 and keep within [0, %d]", (long long)js->max_bytes, js->keep, MAX_KEEP);
        return VQA_ERR(EINVAL);
    }
    return 0;
}

int vqa_context_add_jsonl_sink(VqaContext *ctx, VqaSink **out, const VqaJsonlSinkSettings *js,
                               const VqaSinkSettings *settings)
{
    if (out)
        *out = NULL;
    if (!ctx)
        return VQA_ERR(EINVAL);
    const VqaLogger *log = vqa_sink_context_logger(ctx);
    int err = check_jsonl(log, js);
    if (err < 0)
        return err;
    JsonlSink *j = vqa_calloc(1, sizeof(*j));
    size_t name_size = strlen(js->path) + 16;
    if (j) {
        j->fd = -1;
        j->log = log;
        j->max_bytes = js->max_bytes;
        j->keep = js->keep;
        j->path = vqa_strdup(js->path);
        j->from = vqa_malloc(name_size);
        j->to = vqa_malloc(name_size);
        j->buf = vqa_malloc(BUFFER_BYTES);
    }
    if (!j || !j->path || !j->from || !j->to || !j->buf) {
        if (j)
            jsonl_close(j);
        return VQA_ERR(ENOMEM);
    }
    /* On failure the class's close has freed j. */
    return vqa_context_add_sink(ctx, out, &jsonl_class, j, settings);
}
