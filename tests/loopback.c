#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "loopback.h"

extern char **environ;

#define LB_MAX_CONNECTIONS 256

struct LbHttp {
    int listen_fd;
    int port;
    LbHttpMode mode;
    char root[512];
    pthread_t thread;
    int stop_pipe[2];
    pthread_mutex_t lock;
    int conns[LB_MAX_CONNECTIONS]; /* silent mode keeps them open */
    int nb_conns;
    int accepted;
};

double lb_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

void lb_sleep(double s)
{
    struct timespec ts = { (time_t)s, (long)((s - (time_t)s) * 1e9) };
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR) {
    }
}

static int listen_loopback(int *port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        return -errno;
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    struct sockaddr_in addr = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t len = sizeof(addr);
    if (bind(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0 || listen(fd, 512) < 0 ||
        getsockname(fd, (struct sockaddr *)&addr, &len) < 0) {
        int err = -errno;
        close(fd);
        return err;
    }
    *port = ntohs(addr.sin_port);
    return fd;
}

int lb_free_port(void)
{
    int port = 0;
    int fd = listen_loopback(&port);
    if (fd < 0)
        return -1;
    close(fd);
    return port;
}

static void write_all(int fd, const void *data, size_t size)
{
    const char *p = data;
    while (size > 0) {
        ssize_t n = send(fd, p, size, MSG_NOSIGNAL);
        if (n <= 0)
            return;
        p += n;
        size -= (size_t)n;
    }
}

/* One request: "GET /name HTTP/1.x" → the file, or 404. */
static void serve_file(LbHttp *h, int fd)
{
    char req[2048] = "";
    size_t got = 0;
    while (got < sizeof(req) - 1 && !strstr(req, "\r\n\r\n")) {
        ssize_t n = recv(fd, req + got, sizeof(req) - 1 - got, 0);
        if (n <= 0)
            break;
        got += (size_t)n;
        req[got] = '\0';
    }
    req[got] = '\0';
    char name[512] = "";
    if (sscanf(req, "GET /%511s", name) != 1 || strstr(name, "..")) {
        static const char bad[] = "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n"
                                  "Connection: close\r\n\r\n";
        write_all(fd, bad, sizeof(bad) - 1);
        return;
    }
    char *query = strchr(name, '?');
    if (query)
        *query = '\0';
    char path[1100];
    snprintf(path, sizeof(path), "%s/%s", h->root, name);
    /* Read the whole file at once: a playlist may be rewritten while we serve it. */
    FILE *f = fopen(path, "rb");
    if (!f) {
        static const char missing[] = "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n"
                                      "Connection: close\r\n\r\n";
        write_all(fd, missing, sizeof(missing) - 1);
        return;
    }
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *body = malloc(size > 0 ? (size_t)size : 1);
    size_t n = body ? fread(body, 1, (size_t)size, f) : 0;
    fclose(f);
    const char *type = strstr(name, ".m3u8") ? "application/vnd.apple.mpegurl" : "video/mp2t";
    char head[256];
    int len = snprintf(head, sizeof(head),
                       "HTTP/1.1 200 OK\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
                       "Connection: close\r\n\r\n", type, n);
    write_all(fd, head, (size_t)len);
    write_all(fd, body, n);
    free(body);
}

static void *http_main(void *arg)
{
    LbHttp *h = arg;
    for (;;) {
        struct pollfd fds[2] = { { h->listen_fd, POLLIN, 0 }, { h->stop_pipe[0], POLLIN, 0 } };
        if (poll(fds, 2, -1) < 0 && errno != EINTR)
            break;
        if (fds[1].revents)
            break;
        if (!(fds[0].revents & POLLIN))
            continue;
        int fd = accept(h->listen_fd, NULL, NULL);
        if (fd < 0)
            continue;
        pthread_mutex_lock(&h->lock);
        h->accepted++;
        if (h->mode == LB_HTTP_SILENT && h->nb_conns < LB_MAX_CONNECTIONS) {
            h->conns[h->nb_conns++] = fd; /* held open, never answered */
            fd = -1;
        }
        pthread_mutex_unlock(&h->lock);
        if (fd >= 0) {
            if (h->mode == LB_HTTP_FILES)
                serve_file(h, fd);
            close(fd);
        }
    }
    return NULL;
}

int lb_http_start(LbHttp **out, const char *root, LbHttpMode mode)
{
    LbHttp *h = calloc(1, sizeof(*h));
    if (!h)
        return -ENOMEM;
    h->mode = mode;
    snprintf(h->root, sizeof(h->root), "%s", root ? root : ".");
    pthread_mutex_init(&h->lock, NULL);
    h->listen_fd = listen_loopback(&h->port);
    if (h->listen_fd < 0 || pipe(h->stop_pipe) < 0) {
        int err = h->listen_fd < 0 ? h->listen_fd : -errno;
        if (h->listen_fd >= 0)
            close(h->listen_fd);
        free(h);
        return err;
    }
    if (pthread_create(&h->thread, NULL, http_main, h)) {
        close(h->listen_fd);
        close(h->stop_pipe[0]);
        close(h->stop_pipe[1]);
        free(h);
        return -EAGAIN;
    }
    *out = h;
    return 0;
}

int lb_http_port(const LbHttp *h)
{
    return h->port;
}

int lb_http_connections(LbHttp *h)
{
    pthread_mutex_lock(&h->lock);
    int n = h->accepted;
    pthread_mutex_unlock(&h->lock);
    return n;
}

void lb_http_stop(LbHttp **ph)
{
    LbHttp *h = *ph;
    if (!h)
        return;
    ssize_t ignored = write(h->stop_pipe[1], "x", 1);
    (void)ignored;
    pthread_join(h->thread, NULL);
    close(h->listen_fd);
    close(h->stop_pipe[0]);
    close(h->stop_pipe[1]);
    for (int i = 0; i < h->nb_conns; i++)
        close(h->conns[i]);
    pthread_mutex_destroy(&h->lock);
    free(h);
    *ph = NULL;
}

pid_t lb_spawn_ffmpeg(const char *args)
{
    char *copy = strdup(args);
    char *argv[64] = { "ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error" };
    int argc = 5;
    for (char *save = NULL, *tok = strtok_r(copy, " ", &save); tok && argc < 63;
         tok = strtok_r(NULL, " ", &save))
        argv[argc++] = tok;
    argv[argc] = NULL;
    pid_t pid = -1;
    if (posix_spawnp(&pid, "ffmpeg", NULL, NULL, argv, environ) != 0)
        pid = -1;
    free(copy);
    return pid;
}

void lb_kill(pid_t pid)
{
    if (pid <= 0)
        return;
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
}

void lb_recorder_init(LbRecorder *r)
{
    memset(r, 0, sizeof(*r));
    pthread_mutex_init(&r->lock, NULL);
    pthread_cond_init(&r->cond, NULL);
}

void lb_recorder_free(LbRecorder *r)
{
    free(r->ev);
    pthread_mutex_destroy(&r->lock);
    pthread_cond_destroy(&r->cond);
}

void lb_record(void *cookie, const VqaEvent *ev)
{
    LbRecorder *r = cookie;
    pthread_mutex_lock(&r->lock);
    if (r->n == r->cap) {
        size_t cap = r->cap ? 2 * r->cap : 64;
        LbEvent *grown = realloc(r->ev, cap * sizeof(*grown));
        if (!grown) {
            pthread_mutex_unlock(&r->lock);
            return;
        }
        r->ev = grown;
        r->cap = cap;
    }
    LbEvent *e = &r->ev[r->n++];
    memset(e, 0, sizeof(*e));
    snprintf(e->stream, sizeof(e->stream), "%s", ev->stream);
    snprintf(e->detector, sizeof(e->detector), "%s", ev->detector);
    snprintf(e->kind, sizeof(e->kind), "%s", ev->kind);
    snprintf(e->details, sizeof(e->details), "%s", ev->details_json ? ev->details_json : "");
    e->state = ev->state;
    e->t = ev->t;
    e->duration = ev->duration;
    e->value = ev->value;
    pthread_cond_broadcast(&r->cond);
    pthread_mutex_unlock(&r->lock);
}

static size_t count_locked(LbRecorder *r, const char *kind, int state, const char *needle)
{
    size_t n = 0;
    for (size_t i = 0; i < r->n; i++)
        n += !strcmp(r->ev[i].kind, kind) && (state < 0 || (int)r->ev[i].state == state) &&
             (!needle || strstr(r->ev[i].details, needle));
    return n;
}

size_t lb_count(LbRecorder *r, const char *kind, int state, const char *needle)
{
    pthread_mutex_lock(&r->lock);
    size_t n = count_locked(r, kind, state, needle);
    pthread_mutex_unlock(&r->lock);
    return n;
}

int lb_wait_for(LbRecorder *r, const char *kind, int state, const char *needle, size_t n,
                double timeout_s)
{
    double end = lb_now() + timeout_s;
    pthread_mutex_lock(&r->lock);
    while (count_locked(r, kind, state, needle) < n && lb_now() < end) {
        pthread_mutex_unlock(&r->lock);
        lb_sleep(0.02);
        pthread_mutex_lock(&r->lock);
    }
    int ok = count_locked(r, kind, state, needle) >= n;
    pthread_mutex_unlock(&r->lock);
    return ok;
}

int lb_get(LbRecorder *r, const char *kind, int state, size_t i, LbEvent *out)
{
    pthread_mutex_lock(&r->lock);
    int found = -1;
    for (size_t k = 0; k < r->n; k++) {
        if (strcmp(r->ev[k].kind, kind) || (state >= 0 && (int)r->ev[k].state != state))
            continue;
        if (i-- == 0) {
            *out = r->ev[k];
            found = 0;
            break;
        }
    }
    pthread_mutex_unlock(&r->lock);
    return found;
}

int lb_balanced(LbRecorder *r)
{
    int ok = 1;
    pthread_mutex_lock(&r->lock);
    for (size_t i = 0; i < r->n && ok; i++) {
        if (r->ev[i].state != VQA_EVENT_START)
            continue;
        int open = 1;
        for (size_t k = i + 1; k < r->n; k++) {
            const LbEvent *e = &r->ev[k];
            if (strcmp(e->stream, r->ev[i].stream) || strcmp(e->detector, r->ev[i].detector) ||
                strcmp(e->kind, r->ev[i].kind))
                continue;
            if (e->state == VQA_EVENT_START)
                break;
            if (e->state == VQA_EVENT_END) {
                open = 0;
                break;
            }
        }
        if (open) {
            fprintf(stderr, "unbalanced: %s %s start at %.3f\n", r->ev[i].detector,
                    r->ev[i].kind, r->ev[i].t);
            ok = 0;
        }
    }
    pthread_mutex_unlock(&r->lock);
    return ok;
}
