/*
 * A tiny HTTP/1.1 receiver for the webhook tests (see http_receiver.h).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "http_receiver.h"

#define MAX_CONNS 8
#define MAX_REQUESTS 4096
#define MAX_REQUEST_BYTES (1 << 20)

typedef struct Conn {
    int fd;
    char *buf;
    size_t len, cap;
} Conn;

struct HttpReceiver {
    ReceiverMode mode;
    int fail_first, fail_status;
    int listen_fd, port;
    pthread_t thread;
    atomic_int stop;
    Conn conns[MAX_CONNS];
    pthread_mutex_t lock;         /* guards the requests */
    pthread_cond_t cond;
    ReceiverRequest *requests;
    size_t nb_requests;
};

static void conn_close(Conn *c)
{
    if (c->fd >= 0)
        close(c->fd);
    free(c->buf);
    memset(c, 0, sizeof(*c));
    c->fd = -1;
}

/* The value of header `name` in the header block [head, end), into out. */
static void header_value(const char *head, const char *end, const char *name, char *out,
                         size_t size)
{
    size_t name_len = strlen(name);
    out[0] = '\0';
    for (const char *line = head; line < end;) {
        const char *eol = strstr(line, "\r\n");
        if (!eol || eol > end)
            eol = end;
        if ((size_t)(eol - line) > name_len && !strncasecmp(line, name, name_len) &&
            line[name_len] == ':') {
            const char *v = line + name_len + 1;
            while (*v == ' ')
                v++;
            snprintf(out, size, "%.*s", (int)(eol - v), v);
            return;
        }
        line = eol + 2;
    }
}

static void answer(Conn *c, int status)
{
    char reply[128];
    int n = snprintf(reply, sizeof(reply),
                     "HTTP/1.1 %d %s\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\nok",
                     status, status < 300 ? "OK" : "Failed");
    ssize_t ignored = send(c->fd, reply, (size_t)n, MSG_NOSIGNAL);
    (void)ignored;
}

/* Take every complete request out of the connection's buffer. */
static void parse_requests(HttpReceiver *r, Conn *c)
{
    for (;;) {
        if (c->len == 0)
            return;
        c->buf[c->len] = '\0';
        char *end = strstr(c->buf, "\r\n\r\n");
        if (!end)
            return;
        char length[32];
        header_value(c->buf, end, "Content-Length", length, sizeof(length));
        size_t body_len = (size_t)strtoul(length, NULL, 10);
        size_t head_len = (size_t)(end + 4 - c->buf);
        if (c->len < head_len + body_len)
            return;
        ReceiverRequest req;
        memset(&req, 0, sizeof(req));
        sscanf(c->buf, "%15s %255s", req.method, req.path);
        header_value(c->buf, end, "Content-Type", req.content_type, sizeof(req.content_type));
        header_value(c->buf, end, "X-Test", req.x_test, sizeof(req.x_test));
        req.body = malloc(body_len + 1);
        if (req.body) {
            memcpy(req.body, c->buf + head_len, body_len);
            req.body[body_len] = '\0';
            req.body_len = body_len;
        }
        pthread_mutex_lock(&r->lock);
        int fail = (int)r->nb_requests < r->fail_first;
        if (r->mode == RECEIVER_ANSWER)
            req.status = fail ? r->fail_status : 200;
        if (r->nb_requests < MAX_REQUESTS)
            r->requests[r->nb_requests++] = req;
        else
            free(req.body);
        pthread_cond_broadcast(&r->cond);
        pthread_mutex_unlock(&r->lock);
        if (r->mode == RECEIVER_ANSWER)
            answer(c, req.status);
        memmove(c->buf, c->buf + head_len + body_len, c->len - head_len - body_len);
        c->len -= head_len + body_len;
    }
}

static void conn_read(HttpReceiver *r, Conn *c)
{
    if (c->cap - c->len < 4096 + 1) {
        size_t cap = c->cap ? 2 * c->cap : 16384;
        char *buf = cap <= MAX_REQUEST_BYTES ? realloc(c->buf, cap) : NULL;
        if (!buf) {
            conn_close(c);
            return;
        }
        c->buf = buf;
        c->cap = cap;
    }
    ssize_t n = recv(c->fd, c->buf + c->len, c->cap - c->len - 1, 0);
    if (n <= 0) {
        conn_close(c);
        return;
    }
    c->len += (size_t)n;
    parse_requests(r, c);
}

static void accept_one(HttpReceiver *r)
{
    int fd = accept(r->listen_fd, NULL, NULL);
    if (fd < 0)
        return;
    for (int i = 0; i < MAX_CONNS; i++) {
        if (r->conns[i].fd < 0) {
            r->conns[i].fd = fd;
            return;
        }
    }
    close(fd); /* too many at once */
}

static void *receiver_main(void *arg)
{
    HttpReceiver *r = arg;
    while (!atomic_load(&r->stop)) {
        struct pollfd fds[MAX_CONNS + 1];
        int map[MAX_CONNS + 1];
        nfds_t n = 0;
        fds[n].fd = r->listen_fd;
        fds[n].events = POLLIN;
        map[n++] = -1;
        for (int i = 0; i < MAX_CONNS; i++) {
            if (r->conns[i].fd >= 0) {
                fds[n].fd = r->conns[i].fd;
                fds[n].events = POLLIN;
                map[n++] = i;
            }
        }
        if (poll(fds, n, 20) <= 0)
            continue;
        for (nfds_t i = 0; i < n; i++) {
            if (!(fds[i].revents & (POLLIN | POLLHUP | POLLERR)))
                continue;
            if (map[i] < 0)
                accept_one(r);
            else
                conn_read(r, &r->conns[map[i]]);
        }
    }
    return NULL;
}

static int listen_loopback(int *port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    struct sockaddr_in addr;
    memset(&addr, 0, sizeof(addr));
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof(addr);
    if (bind(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0 || listen(fd, 16) < 0 ||
        getsockname(fd, (struct sockaddr *)&addr, &len) < 0) {
        close(fd);
        return -1;
    }
    *port = ntohs(addr.sin_port);
    return fd;
}

HttpReceiver *receiver_start(ReceiverMode mode, int fail_first, int fail_status)
{
    HttpReceiver *r = calloc(1, sizeof(*r));
    if (!r)
        return NULL;
    r->requests = calloc(MAX_REQUESTS, sizeof(*r->requests));
    r->mode = mode;
    r->fail_first = fail_first;
    r->fail_status = fail_status;
    for (int i = 0; i < MAX_CONNS; i++)
        r->conns[i].fd = -1;
    pthread_mutex_init(&r->lock, NULL);
    pthread_cond_init(&r->cond, NULL);
    r->listen_fd = r->requests ? listen_loopback(&r->port) : -1;
    if (r->listen_fd < 0 || pthread_create(&r->thread, NULL, receiver_main, r) != 0) {
        if (r->listen_fd >= 0)
            close(r->listen_fd);
        free(r->requests);
        free(r);
        return NULL;
    }
    return r;
}

int receiver_port(const HttpReceiver *r)
{
    return r->port;
}

void receiver_url(const HttpReceiver *r, const char *path, char *buf, size_t size)
{
    snprintf(buf, size, "http://127.0.0.1:%d%s", r->port, path);
}

size_t receiver_count(HttpReceiver *r)
{
    pthread_mutex_lock(&r->lock);
    size_t n = r->nb_requests;
    pthread_mutex_unlock(&r->lock);
    return n;
}

int receiver_wait(HttpReceiver *r, size_t n, int timeout_ms)
{
    struct timespec deadline;
    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_sec += timeout_ms / 1000;
    deadline.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
    if (deadline.tv_nsec >= 1000000000L) {
        deadline.tv_sec++;
        deadline.tv_nsec -= 1000000000L;
    }
    int ret = 0;
    pthread_mutex_lock(&r->lock);
    while (r->nb_requests < n && ret == 0)
        if (pthread_cond_timedwait(&r->cond, &r->lock, &deadline) == ETIMEDOUT)
            ret = r->nb_requests < n ? -1 : 0;
    pthread_mutex_unlock(&r->lock);
    return ret;
}

int receiver_request(HttpReceiver *r, size_t i, ReceiverRequest *out)
{
    int ret = -1;
    pthread_mutex_lock(&r->lock);
    if (i < r->nb_requests) {
        *out = r->requests[i];
        out->body = r->requests[i].body ? strdup(r->requests[i].body) : NULL;
        ret = out->body ? 0 : -1;
    }
    pthread_mutex_unlock(&r->lock);
    return ret;
}

void receiver_request_free(ReceiverRequest *req)
{
    free(req->body);
    req->body = NULL;
}

void receiver_stop(HttpReceiver **pr)
{
    HttpReceiver *r = pr ? *pr : NULL;
    if (!r)
        return;
    atomic_store(&r->stop, 1);
    pthread_join(r->thread, NULL);
    for (int i = 0; i < MAX_CONNS; i++)
        conn_close(&r->conns[i]);
    close(r->listen_fd);
    for (size_t i = 0; i < r->nb_requests; i++)
        free(r->requests[i].body);
    free(r->requests);
    pthread_mutex_destroy(&r->lock);
    pthread_cond_destroy(&r->cond);
    free(r);
    *pr = NULL;
}

int receiver_dead_port(int *fd)
{
    *fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (*fd < 0)
        return -1;
    struct sockaddr_in addr;
    memset(&addr, 0, sizeof(addr));
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof(addr);
    if (bind(*fd, (struct sockaddr *)&addr, sizeof(addr)) < 0 ||
        getsockname(*fd, (struct sockaddr *)&addr, &len) < 0) {
        close(*fd);
        *fd = -1;
        return -1;
    }
    return ntohs(addr.sin_port);
}
