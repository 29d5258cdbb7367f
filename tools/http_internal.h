/*
 * Inside the HTTP server of `vqa monitor`: what http_server.c (the server,
 * requests, /events clients) and http_streams.c (what the server knows of the
 * streams, and /metrics and /streams made from it) share.
 */
#ifndef VQA_TOOL_HTTP_INTERNAL_H
#define VQA_TOOL_HTTP_INTERNAL_H

#include <pthread.h>
#include <stdio.h>
#include <time.h>

#include "http_server.h"

/* Open defects of one kind in one stream; kept at 0 once seen, so the series stays. */
typedef struct HttpKindCount {
    const char *kind;     /* interned */
    int open;
} HttpKindCount;

/* A defect whose start came and whose end has not. */
typedef struct HttpOpenDefect {
    const char *detector; /* interned */
    const char *kind;     /* interned */
    double t;             /* media time of the start */
} HttpOpenDefect;

/* One stream as the server knows it: from http_server_add_stream, or from its events. */
typedef struct HttpStreamEntry {
    const char *id;       /* interned */
    const char *url;      /* interned, password masked; NULL until added */
    VqaStream *handle;    /* NULL until added and after detaching */
    int has_final;        /* final and final_dets hold the counters taken when detached */
    VqaStreamStats final;
    VqaDetectorStats *final_dets;
    size_t nb_final_dets;
    HttpKindCount *kinds;
    size_t nb_kinds;
    HttpOpenDefect *open;
    size_t nb_open;
} HttpStreamEntry;

struct EventClient;

struct HttpServer {
    pthread_mutex_t streams_lock;  /* the handles (see http_server.c); taken before lock */
    pthread_mutex_t lock;          /* everything below */
    pthread_cond_t wake;           /* events queued for clients, or closing */
    pthread_cond_t clients_gone;   /* an /events client left */
    struct MHD_Daemon *daemon;
    int port;
    VqaLogger logger;
    size_t client_buffer_bytes;
    double keepalive_s;
    int max_event_clients;
    double client_timeout_s;
    int closing;
    struct EventClient *clients;
    int nb_clients;
    int64_t clients_total;
    int64_t events_dropped;
    /* Entries are only added, and freed with the server; strings interned
     * here live as long, so snapshots may point at them. */
    HttpStreamEntry **entries;
    size_t nb_entries;
    char **strings;
    size_t nb_strings;
};

/* What one request shows of a stream: copies, except for the interned strings. */
typedef struct HttpStreamView {
    const char *id;
    const char *url;
    int has_stats;
    VqaStreamStats stats;
    VqaDetectorStats *dets;
    size_t nb_dets;
    HttpKindCount *kinds;
    size_t nb_kinds;
    HttpOpenDefect *open;
    size_t nb_open;
} HttpStreamView;

typedef struct HttpSnapshot {
    HttpStreamView *streams;
    size_t nb_streams;
    HttpServerStats server;
} HttpSnapshot;

/* http_server.c */

/** CLOCK_MONOTONIC now + seconds, for pthread_cond_timedwait on the server's conds. */
struct timespec http_deadline(double seconds);

/* http_streams.c */

/** Count an event's start or end into its stream's open defects. Called with srv->lock held. */
void http_streams_track(HttpServer *srv, const VqaEvent *event);
/** Free the entries and interned strings (the server is stopped). */
void http_streams_free(HttpServer *srv);
/** Copy what the server knows and read each stream's counters. @return 0 or -ENOMEM. */
int http_snapshot_take(HttpServer *srv, HttpSnapshot *snap);
void http_snapshot_free(HttpSnapshot *snap);
/** Prometheus text format 0.0.4. */
void http_render_metrics(FILE *f, const HttpSnapshot *snap);
/** The /streams JSON array. */
void http_render_streams(FILE *f, const HttpSnapshot *snap);
/**
 * Copy url with the password of its user info masked ("rtmp://u:***@host/…";
 * user info without a password becomes "***"). @return malloc'd, or NULL.
 */
char *http_mask_url(const char *url);

#endif /* VQA_TOOL_HTTP_INTERNAL_H */
