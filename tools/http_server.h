/*
 * The HTTP side of `vqa monitor --http`: Prometheus metrics, live events as
 * Server-Sent Events and a JSON view of the streams, served by libmicrohttpd.
 *
 *   GET /metrics   Prometheus text exposition format 0.0.4
 *   GET /events    text/event-stream: one `data: <JSON line>` per event
 *   GET /streams   JSON array: each stream's state, counters and open defects
 *
 * The monitor owns one server. Its event callback hands every event to
 * http_server_publish, which only copies the event into memory the server
 * owns (a bounded buffer per /events client) under a lock that no thread
 * holds across I/O or a library call: analysis is never held up by a client.
 * Statistics are read from the streams when a request comes.
 *
 * Thread-safety: every function may be called from any thread, except that
 * http_server_close must be the last call and no call may run concurrently
 * with it.
 */
#ifndef VQA_TOOL_HTTP_SERVER_H
#define VQA_TOOL_HTTP_SERVER_H

#include <stddef.h>
#include <stdint.h>

#include <vqa/vqa.h>

/** Longest host part of a listen address, with the NUL ("[v6]" brackets removed). */
#define HTTP_HOST_MAX 64

/** Where the server listens. */
typedef struct HttpListen {
    char host[HTTP_HOST_MAX]; /**< numeric IPv4 or IPv6 address */
    int port;                 /**< 0: any free port (the server says which) */
    int ipv6;
} HttpListen;

/**
 * Parse "[ADDRESS:]PORT": "8080", ":8080", "127.0.0.1:8080", "0.0.0.0:9100",
 * "[::1]:8080", "localhost:8080". ADDRESS is a numeric IPv4 address, an IPv6
 * address in brackets, or "localhost"; without one the server listens on
 * 127.0.0.1 only. PORT is 0–65535 (0: any free port).
 * @return 0, or -1 when text is not such an address (out is then undefined).
 */
int http_listen_parse(const char *text, HttpListen *out);

typedef struct HttpServer HttpServer;

typedef struct HttpServerSettings {
    HttpListen listen;
    /** Bytes of events kept for one slow /events client. 0: 256 KiB; at least 1 KiB. */
    size_t client_buffer_bytes;
    /** Seconds between keep-alive comments to an idle /events client. 0: 15 s. */
    double keepalive_s;
    /** /events clients served at once; more get 503. 0: 16. */
    int max_event_clients;
    /**
     * An /events client whose connection takes no data for this long (it does
     * not read, or its host is gone) is disconnected. 0: 60 s.
     */
    double client_timeout_s;
    /** Where the server logs (client drops at warning, libmicrohttpd at debug). */
    VqaLogger logger;
} HttpServerSettings;

/** Fill settings with the defaults: 127.0.0.1, port 0, the defaults above, no logger. */
void http_server_default_settings(HttpServerSettings *s);

/**
 * Bind the listening socket and start serving (the server's threads inherit
 * the caller's signal mask).
 * @param out receives the server (the caller closes it with http_server_close)
 * @return 0, or -errno (e.g. -EADDRINUSE, -EACCES) when the address cannot be
 *         bound; -ENOMEM; -EIO when libmicrohttpd does not start.
 */
int http_server_open(HttpServer **out, const HttpServerSettings *s);

/** @return the port the server listens on (the one chosen when asked for 0). */
int http_server_port(const HttpServer *srv);

/**
 * Show a stream on /metrics and /streams. The handle must stay valid until
 * http_server_detach_streams. url is copied (a password in it is masked).
 * @return 0 or -ENOMEM.
 */
int http_server_add_stream(HttpServer *srv, VqaStream *stream, const char *url);

/**
 * Hand an event to the server: counts open defects of its stream and kind,
 * and queues it for every /events client (dropping it, with a count, for a
 * client whose buffer is full). Never waits for the network.
 * Meant to be called from the context's event callback.
 */
void http_server_publish(HttpServer *srv, const VqaEvent *event);

/**
 * Take a last snapshot of every stream's counters and stop reading the
 * handles: call before the streams are freed (vqa_close). Requests keep
 * being answered from the snapshot.
 */
void http_server_detach_streams(HttpServer *srv);

/** What the server has done; a snapshot. */
typedef struct HttpServerStats {
    int event_clients;           /**< /events clients connected now */
    int64_t event_clients_total; /**< /events clients served since the start */
    int64_t events_dropped;      /**< events dropped for slow clients, over all clients */
} HttpServerStats;

void http_server_get_stats(HttpServer *srv, HttpServerStats *st);

/**
 * Close every /events client (each gets what was queued for it, then the end
 * of the stream), stop serving and free the server. A client that does not
 * read is cut off, never waited for. NULL is a no-op; *srv is set to NULL.
 */
void http_server_close(HttpServer **srv);

#endif /* VQA_TOOL_HTTP_SERVER_H */
