/*
 * `vqa monitor --http`: the server. libmicrohttpd runs one thread per
 * connection, so an /events client's thread may wait for events inside the
 * content reader without holding up anyone else; the event callback only
 * appends to each client's bounded ring under `lock` and signals.
 *
 * Two locks, always taken in this order when both are needed:
 *   streams_lock  the stream handles: held while requests read their counters
 *                 and while they are detached. Never taken by the event
 *                 callback, so reading counters from the library (whose own
 *                 locks may be held while it calls the event callback) cannot
 *                 deadlock against it.
 *   lock          everything else: tracked defects, clients and their rings.
 *                 Held only for copies, never across I/O or a library call.
 *
 * What /metrics and /streams show is rendered in http_streams.c from a
 * snapshot taken under these locks.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "http_internal.h"

#define DEFAULT_CLIENT_BUFFER_BYTES (256 * 1024)
/* Room for the comments and a drop notice in an empty ring, whatever is asked. */
#define MIN_CLIENT_BUFFER_BYTES 1024
#define DEFAULT_KEEPALIVE_S 15.0
#define DEFAULT_MAX_EVENT_CLIENTS 16
/* Every connection has a thread: /events clients, scrapers and a margin. */
#define MAX_CONNECTIONS 64
/* An idle connection is closed after this long; so is an /events client that
 * takes no data (a stuck client: by TCP_USER_TIMEOUT, since libmicrohttpd's own
 * timeout does not see a connection waiting to write). */
#define CONNECTION_TIMEOUT_S 60
/* How long closing waits for /events clients to take what was queued for them. */
#define CLOSE_GRACE_S 1.0
#define SSE_BLOCK_BYTES 4096
#define LISTEN_BACKLOG 64

static const char SSE_HELLO[] = ": vqa events\n\n";
static const char SSE_KEEPALIVE[] = ": keep-alive\n\n";

/* ---- the listen address ---- */

static int parse_port(const char *text, int *port)
{
    if (!text[0] || strspn(text, "0123456789") != strlen(text) || strlen(text) > 5)
        return -1;
    long v = strtol(text, NULL, 10);
    if (v > 65535)
        return -1;
    *port = (int)v;
    return 0;
}

static int parse_host(const char *start, size_t len, HttpListen *out)
{
    unsigned char addr[sizeof(struct in6_addr)];
    if (len >= sizeof(out->host))
        return -1;
    memcpy(out->host, start, len);
    out->host[len] = '\0';
    if (!strcmp(out->host, "localhost"))
        snprintf(out->host, sizeof(out->host), "127.0.0.1");
    out->ipv6 = 0;
    return inet_pton(AF_INET, out->host, addr) == 1 ? 0 : -1;
}

int http_listen_parse(const char *text, HttpListen *out)
{
    memset(out, 0, sizeof(*out));
    snprintf(out->host, sizeof(out->host), "127.0.0.1");
    const char *colon = strrchr(text, ':');
    if (text[0] == '[') {
        const char *close = strchr(text, ']');
        unsigned char addr[sizeof(struct in6_addr)];
        size_t len = close ? (size_t)(close - text - 1) : 0;
        if (!close || close[1] != ':' || len == 0 || len >= sizeof(out->host))
            return -1;
        memcpy(out->host, text + 1, len);
        out->host[len] = '\0';
        out->ipv6 = 1;
        if (inet_pton(AF_INET6, out->host, addr) != 1)
            return -1;
        return parse_port(close + 2, &out->port);
    }
    if (!colon)
        return parse_port(text, &out->port);
    if (colon != text && parse_host(text, (size_t)(colon - text), out) < 0)
        return -1;
    return parse_port(colon + 1, &out->port);
}

/* A bound, listening socket. @return the descriptor or -errno. */
static int listen_socket(const HttpListen *l, int *port)
{
    struct sockaddr_storage ss;
    socklen_t len;
    memset(&ss, 0, sizeof(ss));
    if (l->ipv6) {
        struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
        a->sin6_family = AF_INET6;
        a->sin6_port = htons((uint16_t)l->port);
        inet_pton(AF_INET6, l->host, &a->sin6_addr);
        len = sizeof(*a);
    } else {
        struct sockaddr_in *a = (struct sockaddr_in *)&ss;
        a->sin_family = AF_INET;
        a->sin_port = htons((uint16_t)l->port);
        inet_pton(AF_INET, l->host, &a->sin_addr);
        len = sizeof(*a);
    }
    int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    int on = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
    if (bind(fd, (struct sockaddr *)&ss, len) < 0 || listen(fd, LISTEN_BACKLOG) < 0 ||
        getsockname(fd, (struct sockaddr *)&ss, &len) < 0) {
        int err = errno;
        close(fd);
        return -err;
    }
    *port = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
                                           : ((struct sockaddr_in *)&ss)->sin_port);
    return fd;
}

/* ---- logging ---- */

static void server_log(HttpServer *srv, VqaLogLevel level, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

static void server_log(HttpServer *srv, VqaLogLevel level, const char *fmt, ...)
{
    if (!srv->logger.callback || level > srv->logger.level)
        return;
    char msg[512];
    va_list args;
    va_start(args, fmt);
    vsnprintf(msg, sizeof(msg), fmt, args);
    va_end(args);
    srv->logger.callback(srv->logger.cookie, level, msg);
}

/* libmicrohttpd's own messages (a client that went away, a bad request): debug. */
static void mhd_log(void *cls, const char *fmt, va_list args)
{
    HttpServer *srv = cls;
    if (!srv->logger.callback || srv->logger.level < VQA_LOG_DEBUG)
        return;
    char msg[512];
    vsnprintf(msg, sizeof(msg), fmt, args);
    size_t len = strlen(msg);
    while (len > 0 && (msg[len - 1] == '\n' || msg[len - 1] == '\r'))
        msg[--len] = '\0';
    server_log(srv, VQA_LOG_DEBUG, "http: %s", msg);
}

/* ---- /events clients: a bounded ring each ---- */

typedef struct EventClient {
    struct EventClient *prev, *next;
    HttpServer *srv;
    char *ring;
    size_t cap, head, len;
    int64_t gap;         /* events dropped since the last notice */
    int64_t unlogged;    /* events dropped and noticed, not logged yet */
    char peer[64];
} EventClient;

static void ring_put(EventClient *c, const char *data, size_t n)
{
    size_t tail = (c->head + c->len) % c->cap;
    size_t first = n < c->cap - tail ? n : c->cap - tail;
    memcpy(c->ring + tail, data, first);
    memcpy(c->ring, data + first, n - first);
    c->len += n;
}

static size_t ring_get(EventClient *c, char *buf, size_t max)
{
    size_t n = c->len < max ? c->len : max;
    size_t first = n < c->cap - c->head ? n : c->cap - c->head;
    memcpy(buf, c->ring + c->head, first);
    memcpy(buf + first, c->ring, n - first);
    c->head = (c->head + n) % c->cap;
    c->len -= n;
    return n;
}

/*
 * "data: <json>\n\n". A JSON line has no line break of its own, but a
 * plugin's details may carry one (JSON allows it as whitespace): each line
 * becomes a data line of its own, which a client joins back with "\n".
 * @return malloc'd, or NULL.
 */
static char *sse_frame(const char *json, size_t len, size_t *out_len)
{
    static const char prefix[] = "data: ";
    size_t breaks = 0;
    for (size_t i = 0; i < len; i++)
        breaks += json[i] == '\n' || json[i] == '\r';
    char *frame = malloc(len + (breaks + 1) * (sizeof(prefix) - 1 + 1) + 2);
    if (!frame)
        return NULL;
    size_t n = 0;
    memcpy(frame, prefix, sizeof(prefix) - 1);
    n += sizeof(prefix) - 1;
    for (size_t i = 0; i < len; i++) {
        if (json[i] == '\r' && i + 1 < len && json[i + 1] == '\n')
            continue; /* CR LF is one break, written at the LF */
        if (json[i] == '\n' || json[i] == '\r') {
            frame[n++] = '\n';
            memcpy(frame + n, prefix, sizeof(prefix) - 1);
            n += sizeof(prefix) - 1;
        } else {
            frame[n++] = json[i];
        }
    }
    frame[n++] = '\n';
    frame[n++] = '\n';
    *out_len = n;
    return frame;
}

static int drop_notice(char *buf, size_t size, int64_t dropped)
{
    return snprintf(buf, size, "event: dropped\ndata: {\"dropped\":%lld}\n\n",
                    (long long)dropped);
}

/* Queue one SSE frame for a client, or count it dropped. Called with srv->lock held.
 * After a drop, the notice goes in front of the next frame that fits with it,
 * so it stands exactly where the gap is. */
static void client_offer(EventClient *c, const char *frame, size_t n)
{
    size_t need = n;
    char notice[96];
    int notice_len = 0;
    if (c->gap > 0) {
        notice_len = drop_notice(notice, sizeof(notice), c->gap);
        need += (size_t)notice_len;
    }
    if (need > c->cap - c->len) {
        c->gap++;
        c->srv->events_dropped++;
        return;
    }
    if (notice_len > 0) {
        ring_put(c, notice, (size_t)notice_len);
        c->unlogged += c->gap; /* logged by the client's thread: no I/O here */
        c->gap = 0;
    }
    ring_put(c, frame, n);
}

/*
 * The content reader of an /events response: runs on the client's own
 * connection thread, so it may wait. Returns queued bytes, a drop notice
 * when the ring ran dry after a gap, a keep-alive comment when nothing came
 * for a while, and the end of the stream when the server closes (after the
 * client has taken what was queued).
 */
static ssize_t sse_read(void *cls, uint64_t pos, char *buf, size_t max)
{
    (void)pos;
    EventClient *c = cls;
    HttpServer *srv = c->srv;
    struct timespec deadline = http_deadline(srv->keepalive_s);
    ssize_t n = 0;
    pthread_mutex_lock(&srv->lock);
    for (;;) {
        if (c->len == 0 && c->gap > 0) {
            char notice[96];
            ring_put(c, notice, (size_t)drop_notice(notice, sizeof(notice), c->gap));
            c->unlogged += c->gap;
            c->gap = 0;
        }
        if (c->len > 0) {
            n = (ssize_t)ring_get(c, buf, max);
            break;
        }
        if (srv->closing) {
            n = MHD_CONTENT_READER_END_OF_STREAM;
            break;
        }
        if (pthread_cond_timedwait(&srv->wake, &srv->lock, &deadline) == ETIMEDOUT) {
            ring_put(c, SSE_KEEPALIVE, sizeof(SSE_KEEPALIVE) - 1); /* the ring is empty */
            deadline = http_deadline(srv->keepalive_s);
        }
    }
    int64_t noticed = c->unlogged;
    c->unlogged = 0;
    pthread_mutex_unlock(&srv->lock);
    if (noticed > 0)
        server_log(srv, VQA_LOG_WARNING, "http: /events client %s reads too slowly: "
                   "%lld event(s) dropped for it", c->peer, (long long)noticed);
    return n;
}

/* The response is done (sent, or the client went away): forget the client. */
static void sse_free(void *cls)
{
    EventClient *c = cls;
    HttpServer *srv = c->srv;
    pthread_mutex_lock(&srv->lock);
    if (c->prev)
        c->prev->next = c->next;
    else
        srv->clients = c->next;
    if (c->next)
        c->next->prev = c->prev;
    srv->nb_clients--;
    pthread_cond_broadcast(&srv->clients_gone);
    pthread_mutex_unlock(&srv->lock);
    server_log(srv, VQA_LOG_INFO, "http: /events client %s left", c->peer);
    free(c->ring);
    free(c);
}

static void describe_peer(struct MHD_Connection *conn, char *buf, size_t size)
{
    const union MHD_ConnectionInfo *info =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    char host[INET6_ADDRSTRLEN] = "?";
    int port = 0;
    if (info && info->client_addr && info->client_addr->sa_family == AF_INET) {
        const struct sockaddr_in *a = (const struct sockaddr_in *)info->client_addr;
        inet_ntop(AF_INET, &a->sin_addr, host, sizeof(host));
        port = ntohs(a->sin_port);
    } else if (info && info->client_addr && info->client_addr->sa_family == AF_INET6) {
        const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)info->client_addr;
        inet_ntop(AF_INET6, &a->sin6_addr, host, sizeof(host));
        port = ntohs(a->sin6_port);
    }
    snprintf(buf, size, "%s:%d", host, port);
}

/* Register a client. @return it, or NULL when full (*busy set) or out of memory. */
static EventClient *client_new(HttpServer *srv, struct MHD_Connection *conn, int *busy)
{
    EventClient *c = calloc(1, sizeof(*c));
    if (c)
        c->ring = malloc(srv->client_buffer_bytes);
    if (!c || !c->ring) {
        if (c)
            free(c);
        return NULL;
    }
    c->srv = srv;
    c->cap = srv->client_buffer_bytes;
    describe_peer(conn, c->peer, sizeof(c->peer));
    ring_put(c, SSE_HELLO, sizeof(SSE_HELLO) - 1);
    pthread_mutex_lock(&srv->lock);
    *busy = srv->nb_clients >= srv->max_event_clients || srv->closing;
    if (!*busy) {
        c->next = srv->clients;
        if (c->next)
            c->next->prev = c;
        srv->clients = c;
        srv->nb_clients++;
        srv->clients_total++;
    }
    pthread_mutex_unlock(&srv->lock);
    if (*busy) {
        free(c->ring);
        free(c);
        return NULL;
    }
    server_log(srv, VQA_LOG_INFO, "http: /events client %s joined", c->peer);
    return c;
}

/* ---- requests ---- */

static enum MHD_Result reply(struct MHD_Connection *conn, unsigned status,
                             const char *content_type, char *body, size_t len,
                             enum MHD_ResponseMemoryMode mode)
{
    struct MHD_Response *r = MHD_create_response_from_buffer(len, body, mode);
    if (!r) {
        if (mode == MHD_RESPMEM_MUST_FREE)
            free(body);
        return MHD_NO;
    }
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, content_type);
    MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    if (status == MHD_HTTP_METHOD_NOT_ALLOWED)
        MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, MHD_HTTP_METHOD_GET);
    enum MHD_Result ret = MHD_queue_response(conn, status, r);
    MHD_destroy_response(r);
    return ret;
}

static enum MHD_Result reply_text(struct MHD_Connection *conn, unsigned status,
                                  const char *text)
{
    return reply(conn, status, "text/plain; charset=utf-8", (char *)text, strlen(text),
                 MHD_RESPMEM_PERSISTENT);
}

static enum MHD_Result serve_events(HttpServer *srv, struct MHD_Connection *conn)
{
    int busy = 0;
    EventClient *c = client_new(srv, conn, &busy);
    if (!c)
        return busy ? reply_text(conn, MHD_HTTP_SERVICE_UNAVAILABLE, "too many /events clients\n")
                    : reply_text(conn, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory\n");
    /* The kernel gives up on the connection when the client takes nothing (a
     * zero window) or acknowledges nothing for that long; the send fails and
     * libmicrohttpd ends the response. */
    const union MHD_ConnectionInfo *info =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
    unsigned timeout_ms = (unsigned)(srv->client_timeout_s * 1000);
    if (info)
        setsockopt(info->connect_fd, IPPROTO_TCP, TCP_USER_TIMEOUT, &timeout_ms,
                   sizeof(timeout_ms));
    /* From here on sse_free owns the client, whatever happens to the response. */
    struct MHD_Response *r = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, SSE_BLOCK_BYTES,
                                                               sse_read, c, sse_free);
    if (!r) {
        sse_free(c);
        return MHD_NO;
    }
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "text/event-stream");
    MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-cache");
    enum MHD_Result ret = MHD_queue_response(conn, MHD_HTTP_OK, r);
    MHD_destroy_response(r);
    return ret;
}

/* Render a document into memory and send it; the renderer writes to a FILE. */
static enum MHD_Result serve_rendered(HttpServer *srv, struct MHD_Connection *conn,
                                      const char *content_type,
                                      void (*render)(FILE *, const HttpSnapshot *))
{
    char *body = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&body, &len);
    HttpSnapshot snap;
    if (!f || http_snapshot_take(srv, &snap) < 0) {
        if (f)
            fclose(f);
        free(body);
        return reply_text(conn, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory\n");
    }
    render(f, &snap);
    http_snapshot_free(&snap);
    if (fclose(f) != 0) {
        free(body);
        return reply_text(conn, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory\n");
    }
    return reply(conn, MHD_HTTP_OK, content_type, body, len, MHD_RESPMEM_MUST_FREE);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version,
                                  const char *upload_data, size_t *upload_data_size,
                                  void **req_cls)
{
    (void)version;
    (void)upload_data;
    (void)upload_data_size;
    (void)req_cls;
    HttpServer *srv = cls;
    if (strcmp(method, MHD_HTTP_METHOD_GET) != 0)
        return reply_text(conn, MHD_HTTP_METHOD_NOT_ALLOWED, "only GET is served\n");
    if (!strcmp(url, "/metrics"))
        return serve_rendered(srv, conn, "text/plain; version=0.0.4; charset=utf-8",
                              http_render_metrics);
    if (!strcmp(url, "/streams"))
        return serve_rendered(srv, conn, "application/json", http_render_streams);
    if (!strcmp(url, "/events"))
        return serve_events(srv, conn);
    return reply_text(conn, MHD_HTTP_NOT_FOUND,
                      "not found: the endpoints are /metrics, /events and /streams\n");
}

/* ---- the server ---- */

struct timespec http_deadline(double seconds)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    double whole = (double)(long long)seconds;
    ts.tv_sec += (time_t)whole;
    ts.tv_nsec += (long)((seconds - whole) * 1e9);
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    return ts;
}

static int init_cond(pthread_cond_t *cond)
{
    pthread_condattr_t attr;
    if (pthread_condattr_init(&attr) != 0)
        return -1;
    int ret = pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    if (ret == 0)
        ret = pthread_cond_init(cond, &attr);
    pthread_condattr_destroy(&attr);
    return ret == 0 ? 0 : -1;
}

void http_server_default_settings(HttpServerSettings *s)
{
    memset(s, 0, sizeof(*s));
    snprintf(s->listen.host, sizeof(s->listen.host), "127.0.0.1");
    s->client_buffer_bytes = DEFAULT_CLIENT_BUFFER_BYTES;
    s->keepalive_s = DEFAULT_KEEPALIVE_S;
    s->max_event_clients = DEFAULT_MAX_EVENT_CLIENTS;
    s->client_timeout_s = CONNECTION_TIMEOUT_S;
}

static HttpServer *server_alloc(const HttpServerSettings *s)
{
    HttpServer *srv = calloc(1, sizeof(*srv));
    if (!srv)
        return NULL;
    srv->logger = s->logger;
    srv->client_buffer_bytes = s->client_buffer_bytes ? s->client_buffer_bytes
                                                      : DEFAULT_CLIENT_BUFFER_BYTES;
    if (srv->client_buffer_bytes < MIN_CLIENT_BUFFER_BYTES)
        srv->client_buffer_bytes = MIN_CLIENT_BUFFER_BYTES;
    srv->keepalive_s = s->keepalive_s > 0 ? s->keepalive_s : DEFAULT_KEEPALIVE_S;
    srv->max_event_clients = s->max_event_clients > 0 ? s->max_event_clients
                                                      : DEFAULT_MAX_EVENT_CLIENTS;
    srv->client_timeout_s = s->client_timeout_s > 0 ? s->client_timeout_s
                                                    : CONNECTION_TIMEOUT_S;
    if (pthread_mutex_init(&srv->lock, NULL) != 0) {
        free(srv);
        return NULL;
    }
    pthread_mutex_init(&srv->streams_lock, NULL);
    if (init_cond(&srv->wake) < 0 || init_cond(&srv->clients_gone) < 0) {
        pthread_mutex_destroy(&srv->lock);
        pthread_mutex_destroy(&srv->streams_lock);
        free(srv);
        return NULL;
    }
    return srv;
}

static void server_free(HttpServer *srv)
{
    http_streams_free(srv);
    pthread_cond_destroy(&srv->wake);
    pthread_cond_destroy(&srv->clients_gone);
    pthread_mutex_destroy(&srv->lock);
    pthread_mutex_destroy(&srv->streams_lock);
    free(srv);
}

int http_server_open(HttpServer **out, const HttpServerSettings *s)
{
    *out = NULL;
    HttpServer *srv = server_alloc(s);
    if (!srv)
        return -ENOMEM;
    int fd = listen_socket(&s->listen, &srv->port);
    if (fd < 0) {
        server_free(srv);
        return fd;
    }
    unsigned flags = MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD |
                     MHD_USE_AUTO | MHD_USE_ERROR_LOG | (s->listen.ipv6 ? MHD_USE_IPv6 : 0);
    srv->daemon = MHD_start_daemon(flags, 0, NULL, NULL, on_request, srv,
                                   MHD_OPTION_LISTEN_SOCKET, fd,
                                   MHD_OPTION_CONNECTION_LIMIT, (unsigned)MAX_CONNECTIONS,
                                   MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)CONNECTION_TIMEOUT_S,
                                   MHD_OPTION_EXTERNAL_LOGGER, mhd_log, srv,
                                   MHD_OPTION_END);
    if (!srv->daemon) {
        /* Whether libmicrohttpd closed it depends on where it failed. */
        if (fcntl(fd, F_GETFD) != -1)
            close(fd);
        server_free(srv);
        return -EIO;
    }
    *out = srv;
    return 0;
}

int http_server_port(const HttpServer *srv)
{
    return srv->port;
}

void http_server_publish(HttpServer *srv, const VqaEvent *event)
{
    char line[2048];
    char *json = line;
    int len = vqa_event_to_json(event, line, sizeof(line));
    if (len < 0)
        return;
    if ((size_t)len >= sizeof(line)) {
        json = malloc((size_t)len + 1);
        if (!json)
            return;
        vqa_event_to_json(event, json, (size_t)len + 1);
    }
    size_t frame_len = 0;
    char *frame = sse_frame(json, (size_t)len, &frame_len);
    if (json != line)
        free(json);
    pthread_mutex_lock(&srv->lock);
    http_streams_track(srv, event);
    if (frame) {
        for (EventClient *c = srv->clients; c; c = c->next)
            client_offer(c, frame, frame_len);
        pthread_cond_broadcast(&srv->wake);
    } else {
        for (EventClient *c = srv->clients; c; c = c->next) {
            c->gap++;
            srv->events_dropped++;
        }
    }
    pthread_mutex_unlock(&srv->lock);
    free(frame);
}

void http_server_get_stats(HttpServer *srv, HttpServerStats *st)
{
    pthread_mutex_lock(&srv->lock);
    st->event_clients = srv->nb_clients;
    st->event_clients_total = srv->clients_total;
    st->events_dropped = srv->events_dropped;
    pthread_mutex_unlock(&srv->lock);
}

void http_server_close(HttpServer **psrv)
{
    HttpServer *srv = psrv ? *psrv : NULL;
    if (!srv)
        return;
    *psrv = NULL;
    /* Let every reader hand over what is queued and end its stream; a client
     * that does not read is cut off by MHD_stop_daemon after the grace time. */
    struct timespec deadline = http_deadline(CLOSE_GRACE_S);
    pthread_mutex_lock(&srv->lock);
    srv->closing = 1;
    pthread_cond_broadcast(&srv->wake);
    while (srv->nb_clients > 0 &&
           pthread_cond_timedwait(&srv->clients_gone, &srv->lock, &deadline) != ETIMEDOUT) {
    }
    pthread_mutex_unlock(&srv->lock);
    MHD_stop_daemon(srv->daemon);
    server_free(srv);
}
