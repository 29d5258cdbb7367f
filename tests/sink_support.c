/*
 * What the sink tests share (see sink_support.h).
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sink_support.h"

int lines_add(Lines *l, const char *text, size_t len)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? 2 * l->cap : 64;
        char **v = realloc(l->v, cap * sizeof(*v));
        if (!v)
            return -1;
        l->v = v;
        l->cap = cap;
    }
    char *copy = malloc(len + 1);
    if (!copy)
        return -1;
    memcpy(copy, text, len);
    copy[len] = '\0';
    l->v[l->n++] = copy;
    return 0;
}

void lines_free(Lines *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->v[i]);
    free(l->v);
    memset(l, 0, sizeof(*l));
}

int lines_equal(const Lines *a, const Lines *b)
{
    if (a->n != b->n)
        return 0;
    for (size_t i = 0; i < a->n; i++)
        if (strcmp(a->v[i], b->v[i]))
            return 0;
    return 1;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int lines_same_set(const Lines *a, const Lines *b)
{
    if (a->n != b->n)
        return 0;
    char **x = malloc((a->n + 1) * sizeof(*x));
    char **y = malloc((b->n + 1) * sizeof(*y));
    int same = x && y;
    if (same) {
        memcpy(x, a->v, a->n * sizeof(*x));
        memcpy(y, b->v, b->n * sizeof(*y));
        qsort(x, a->n, sizeof(*x), cmp_str);
        qsort(y, b->n, sizeof(*y), cmp_str);
        for (size_t i = 0; i < a->n && same; i++)
            same = !strcmp(x[i], y[i]);
    }
    free(x);
    free(y);
    return same;
}

int lines_read_file(const char *path, Lines *out)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return -1;
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    int ret = 0;
    while ((n = getline(&line, &cap, f)) >= 0 && ret == 0) {
        if (n == 0 || line[n - 1] != '\n')
            ret = -1; /* every line must be complete */
        else
            ret = lines_add(out, line, (size_t)n - 1);
    }
    free(line);
    fclose(f);
    return ret;
}

void collect_json(void *cookie, const VqaEvent *ev)
{
    Lines *l = cookie;
    char buf[8192];
    int n = vqa_event_to_json(ev, buf, sizeof(buf));
    if (n < 0 || (size_t)n >= sizeof(buf))
        n = snprintf(buf, sizeof(buf), "unexpected event");
    lines_add(l, buf, (size_t)n);
}

void log_capture_init(LogCapture *c)
{
    memset(c, 0, sizeof(*c));
    pthread_mutex_init(&c->lock, NULL);
}

void log_capture_free(LogCapture *c)
{
    free(c->text);
    pthread_mutex_destroy(&c->lock);
}

static void capture(void *cookie, VqaLogLevel level, const char *msg)
{
    LogCapture *c = cookie;
    if (getenv("VQA_TEST_VERBOSE"))
        fprintf(stderr, "log: %s: %s\n", vqa_log_level_name(level), msg);
    size_t need = strlen(msg) + 32;
    pthread_mutex_lock(&c->lock);
    if (c->len + need >= c->cap) {
        size_t cap = (c->cap + need) * 2;
        char *text = realloc(c->text, cap);
        if (!text) {
            pthread_mutex_unlock(&c->lock);
            return;
        }
        c->text = text;
        c->cap = cap;
    }
    c->len += (size_t)snprintf(c->text + c->len, c->cap - c->len, "%s: %s\n",
                               vqa_log_level_name(level), msg);
    pthread_mutex_unlock(&c->lock);
}

VqaLogger log_capture_logger(LogCapture *c, VqaLogLevel level)
{
    VqaLogger logger = { capture, c, level };
    return logger;
}

int log_capture_count(LogCapture *c, const char *const *needles)
{
    int count = 0;
    pthread_mutex_lock(&c->lock);
    for (char *line = c->text; line && line < c->text + c->len;) {
        char *eol = strchr(line, '\n');
        *eol = '\0';
        int all = 1;
        for (size_t i = 0; needles[i] && all; i++)
            all = strstr(line, needles[i]) != NULL;
        count += all;
        *eol = '\n';
        line = eol + 1;
    }
    pthread_mutex_unlock(&c->lock);
    return count;
}

void synthetic_event(int i, int pad_max, VqaEvent *ev, char *buf, size_t size)
{
    memset(ev, 0, sizeof(*ev));
    int pad = pad_max > 0 ? (i * 37) % pad_max + 1 : 1;
    int n = snprintf(buf, size, "s%d", i % 3) + 1;
    ev->stream = buf;
    char *details = buf + n;
    int m = snprintf(details, size - (size_t)n, "{\"i\":%d,\"pad\":\"%0*d\"}", i, pad, 0);
    if (m < 0 || (size_t)(n + m) >= size)
        details[0] = '\0';
    ev->detector = "synthetic";
    ev->kind = "x-test.tick";
    ev->state = VQA_EVENT_INSTANT;
    ev->t = i / 4.0;
    ev->value = i;
    ev->has_value = 1;
    ev->severity = VQA_SEVERITY_INFO;
    ev->details_json = details;
}

char *temp_dir(const char *stem)
{
    const char *tmp = getenv("TMPDIR");
    char *path = malloc(4096);
    if (!path)
        return NULL;
    snprintf(path, 4096, "%s/vqa-%s-XXXXXX", tmp && tmp[0] ? tmp : "/tmp", stem);
    if (!mkdtemp(path)) {
        free(path);
        return NULL;
    }
    return path;
}

char *path_join(const char *dir, const char *name)
{
    size_t n = strlen(dir) + strlen(name) + 2;
    char *path = malloc(n);
    if (path)
        snprintf(path, n, "%s/%s", dir, name);
    return path;
}

void remove_dir(const char *dir)
{
    DIR *d = opendir(dir);
    if (d) {
        struct dirent *e;
        while ((e = readdir(d))) {
            if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
                continue;
            char *p = path_join(dir, e->d_name);
            if (p)
                unlink(p);
            free(p);
        }
        closedir(d);
    }
    rmdir(dir);
}
