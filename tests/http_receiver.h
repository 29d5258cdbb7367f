/*
 * A tiny HTTP/1.1 receiver on 127.0.0.1 for the webhook tests: it records
 * every request (method, path, headers, body) and answers with a chosen
 * status, or never answers at all. One thread, poll(), keep-alive, a few
 * connections at once. Test support only.
 */
#ifndef VQA_TESTS_HTTP_RECEIVER_H
#define VQA_TESTS_HTTP_RECEIVER_H

#include <stddef.h>

typedef enum ReceiverMode {
    RECEIVER_ANSWER = 0,  /**< answer every request (status from the plan) */
    RECEIVER_HANG = 1,    /**< accept and read requests, never answer */
} ReceiverMode;

typedef struct ReceiverRequest {
    char method[16];
    char path[256];
    char content_type[128];  /**< the Content-Type header's value, or "" */
    char x_test[128];        /**< the X-Test header's value, or "" (for custom headers) */
    char *body;              /**< NUL-terminated */
    size_t body_len;
    int status;              /**< the status answered, 0 if none */
} ReceiverRequest;

typedef struct HttpReceiver HttpReceiver;

/**
 * Start a receiver on an ephemeral loopback port.
 * @param fail_first the first fail_first requests are answered with fail_status
 *                   (e.g. 503), the rest with 200
 * @return NULL on failure.
 */
HttpReceiver *receiver_start(ReceiverMode mode, int fail_first, int fail_status);
int receiver_port(const HttpReceiver *r);
/** "http://127.0.0.1:PORT/path" into buf. */
void receiver_url(const HttpReceiver *r, const char *path, char *buf, size_t size);
/** How many complete requests were received so far. */
size_t receiver_count(HttpReceiver *r);
/** Wait until at least n requests were received. @return 0, or -1 after timeout_ms. */
int receiver_wait(HttpReceiver *r, size_t n, int timeout_ms);
/** A copy of request i (body malloc'd: free it with receiver_request_free). @return 0 or -1. */
int receiver_request(HttpReceiver *r, size_t i, ReceiverRequest *out);
void receiver_request_free(ReceiverRequest *req);
/** Stop the thread, close every socket, free. NULL-safe. */
void receiver_stop(HttpReceiver **r);

/**
 * A loopback port where nothing listens: a socket bound to it and never put
 * in listen state, so connecting is refused and no one else takes the port.
 * @param fd receives the socket (close it when done)
 * @return the port, or -1.
 */
int receiver_dead_port(int *fd);

#endif
