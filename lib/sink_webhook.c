/*
 * The webhook sink: one HTTP POST per event, through libcurl.
 *
 * Requests go through a curl multi handle even though there is only ever
 * one at a time: curl_multi_poll can be woken from another thread
 * (curl_multi_wakeup), so interrupt() ends a hung request or a backoff wait
 * at once instead of after the request's own timeout. Built without libcurl
 * (meson -Dwebhook=disabled), adding a webhook fails with ENOSYS.
 */
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "logging.h"
#include "mem.h"
#include "sinks.h"

#define DEFAULT_TIMEOUT_MS 5000
#define MAX_TIMEOUT_MS 600000
#define DEFAULT_RETRIES 3
#define MAX_RETRIES 100
#define DEFAULT_BACKOFF_INITIAL_MS 500
#define DEFAULT_BACKOFF_MAX_MS 10000
#define MAX_BACKOFF_MS 3600000

void vqa_webhook_sink_default_settings(VqaWebhookSinkSettings *s)
{
    if (!s)
        return;
    memset(s, 0, sizeof(*s));
    s->timeout_ms = DEFAULT_TIMEOUT_MS;
    s->max_retries = DEFAULT_RETRIES;
    s->backoff_initial_ms = DEFAULT_BACKOFF_INITIAL_MS;
    s->backoff_max_ms = DEFAULT_BACKOFF_MAX_MS;
}

static int check_webhook(const VqaLogger *log, const VqaWebhookSinkSettings *w)
{
    if (!w || !w->url || (strncasecmp(w->url, "http://", 7) && strncasecmp(w->url, "https://", 8))) {
        vqa_log(log, VQA_LOG_ERROR, "sink webhook: '%s' is not an http:// or https:// URL",
                w && w->url ? w->url : "(none)");
        return VQA_ERR(EINVAL);
    }
    if (w->timeout_ms < 1 || w->timeout_ms > MAX_TIMEOUT_MS || w->max_retries < 0 ||
        w->max_retries > MAX_RETRIES || w->backoff_initial_ms < 0 ||
        w->backoff_max_ms > MAX_BACKOFF_MS || w->backoff_initial_ms > w->backoff_max_ms) {
        vqa_log(log, VQA_LOG_ERROR, "sink webhook: timeout_ms=%d max_retries=%d backoff %d-%d ms "
                "out of range (timeout 1-%d, retries 0-%d, backoff 0-%d with initial <= max)",
                w->timeout_ms, w->max_retries, w->backoff_initial_ms, w->backoff_max_ms,
                MAX_TIMEOUT_MS, MAX_RETRIES, MAX_BACKOFF_MS);
        return VQA_ERR(EINVAL);
    }
    for (size_t i = 0; w->headers && w->headers[i]; i++) {
        if (!strchr(w->headers[i], ':') || strpbrk(w->headers[i], "\r\n")) {
            vqa_log(log, VQA_LOG_ERROR, "sink webhook: header '%s' is not 'Name: value'",
                    w->headers[i]);
            return VQA_ERR(EINVAL);
        }
    }
    return 0;
}

#if VQA_WEBHOOK

#include <pthread.h>

#include <curl/curl.h>

typedef struct WebhookSink {
    const VqaLogger *log;
    char *url;
    struct curl_slist *headers;
    int timeout_ms, max_retries, backoff_initial_ms, backoff_max_ms;
    CURL *easy;
    CURLM *multi;
    atomic_int interrupted;
    char error[CURL_ERROR_SIZE];
    char user_agent[64];
} WebhookSink;

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_result = CURLE_FAILED_INIT;

/* libcurl wants one global initialisation before any handle; it is never
 * undone, since the host may use libcurl itself. */
static void curl_init_once(void)
{
    curl_init_result = curl_global_init(CURL_GLOBAL_DEFAULT);
}

static size_t discard_body(char *data, size_t size, size_t n, void *opaque)
{
    (void)data;
    (void)opaque;
    return size * n;
}

/* The outcome of one request: 0 delivered, > 0 worth retrying, < 0 final failure. */
typedef struct Attempt {
    int retry;
    int err;          /* VQA_ERR(...) when not delivered */
    long status;      /* HTTP status, 0 if none */
} Attempt;

static Attempt judge(WebhookSink *w, CURLcode code)
{
    Attempt a = { 0, 0, 0 };
    curl_easy_getinfo(w->easy, CURLINFO_RESPONSE_CODE, &a.status);
    if (code == CURLE_OK) {
        if (a.status >= 200 && a.status < 300)
            return a;
        a.err = VQA_ERR(EPROTO);
        a.retry = a.status == 408 || a.status == 429 || a.status >= 500;
        snprintf(w->error, sizeof(w->error), "HTTP status %ld", a.status);
        return a;
    }
    switch (code) {
    case CURLE_OPERATION_TIMEDOUT: a.err = VQA_ERR(ETIMEDOUT); break;
    case CURLE_COULDNT_CONNECT: a.err = VQA_ERR(ECONNREFUSED); break;
    case CURLE_COULDNT_RESOLVE_HOST: a.err = VQA_ERR(EHOSTUNREACH); break;
    default: a.err = VQA_ERR(EIO); break;
    }
    /* A bad URL or option is not going to get better. */
    a.retry = code != CURLE_URL_MALFORMAT && code != CURLE_UNSUPPORTED_PROTOCOL;
    if (!w->error[0])
        snprintf(w->error, sizeof(w->error), "%s", curl_easy_strerror(code));
    return a;
}

/* Run the easy handle on the multi handle until it ends or interrupt() is called. */
static CURLcode perform(WebhookSink *w)
{
    if (curl_multi_add_handle(w->multi, w->easy) != CURLM_OK)
        return CURLE_FAILED_INIT;
    CURLcode result = CURLE_ABORTED_BY_CALLBACK;
    int running = 1;
    while (running && !atomic_load(&w->interrupted)) {
        if (curl_multi_perform(w->multi, &running) != CURLM_OK)
            break;
        if (running && curl_multi_poll(w->multi, NULL, 0, 1000, NULL) != CURLM_OK)
            break;
    }
    int left = 0;
    CURLMsg *msg;
    while ((msg = curl_multi_info_read(w->multi, &left)))
        if (msg->msg == CURLMSG_DONE && msg->easy_handle == w->easy)
            result = msg->data.result;
    curl_multi_remove_handle(w->multi, w->easy);
    return result;
}

/* Sleep ms unless interrupted. @return nonzero when interrupted. */
static int backoff(WebhookSink *w, int ms)
{
    /* With no transfer added, curl_multi_poll only waits (and wakes on interrupt). */
    while (ms > 0 && !atomic_load(&w->interrupted)) {
        int step = ms < 1000 ? ms : 1000;
        curl_multi_poll(w->multi, NULL, 0, step, NULL);
        ms -= step;
    }
    return atomic_load(&w->interrupted);
}

static Attempt post_once(WebhookSink *w, const char *json, size_t json_len)
{
    w->error[0] = '\0';
    curl_easy_setopt(w->easy, CURLOPT_POSTFIELDS, json);
    curl_easy_setopt(w->easy, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)json_len);
    CURLcode code = perform(w);
    if (atomic_load(&w->interrupted)) {
        Attempt a = { 0, VQA_ERR(ECANCELED), 0 };
        snprintf(w->error, sizeof(w->error), "interrupted at close");
        return a;
    }
    return judge(w, code);
}

static int webhook_write(void *opaque, const VqaEvent *event, const char *json, size_t len)
{
    (void)event;
    WebhookSink *w = opaque;
    for (int attempt = 0;; attempt++) {
        Attempt a = post_once(w, json, len);
        if (a.err == 0)
            return 0;
        if (!a.retry || attempt >= w->max_retries) {
            vqa_log(w->log, VQA_LOG_INFO, "sink webhook: POST %s failed (%s) after %d "
                    "attempt(s); event dropped", w->url, w->error, attempt + 1);
            return a.err;
        }
        int wait_ms = vqa_sink_backoff_ms(attempt + 1, w->backoff_initial_ms, w->backoff_max_ms);
        vqa_log(w->log, VQA_LOG_INFO, "sink webhook: POST %s failed (%s); retry %d of %d "
                "in %d ms", w->url, w->error, attempt + 1, w->max_retries, wait_ms);
        if (backoff(w, wait_ms))
            return VQA_ERR(ECANCELED);
    }
}

static void webhook_interrupt(void *opaque)
{
    WebhookSink *w = opaque;
    atomic_store(&w->interrupted, 1);
    if (w->multi)
        curl_multi_wakeup(w->multi);
}

static void webhook_close(void *opaque)
{
    WebhookSink *w = opaque;
    if (w->multi)
        curl_multi_cleanup(w->multi);
    if (w->easy)
        curl_easy_cleanup(w->easy);
    curl_slist_free_all(w->headers);
    vqa_free(w->url);
    vqa_free(w);
}

static int set_options(WebhookSink *w)
{
    CURL *e = w->easy;
    int bad = 0;
    bad |= curl_easy_setopt(e, CURLOPT_URL, w->url) != CURLE_OK;
    bad |= curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L) != CURLE_OK; /* we are threaded */
    bad |= curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)w->timeout_ms) != CURLE_OK;
    bad |= curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, (long)w->timeout_ms) != CURLE_OK;
    bad |= curl_easy_setopt(e, CURLOPT_HTTPHEADER, w->headers) != CURLE_OK;
    bad |= curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, discard_body) != CURLE_OK;
    bad |= curl_easy_setopt(e, CURLOPT_ERRORBUFFER, w->error) != CURLE_OK;
    bad |= curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L) != CURLE_OK;
    snprintf(w->user_agent, sizeof(w->user_agent), "libvqa/%s", vqa_version());
    bad |= curl_easy_setopt(e, CURLOPT_USERAGENT, w->user_agent) != CURLE_OK;
#if LIBCURL_VERSION_NUM >= 0x075500
    bad |= curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https") != CURLE_OK;
#else
    bad |= curl_easy_setopt(e, CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS)) !=
           CURLE_OK;
#endif
    return bad ? VQA_ERR(EINVAL) : 0;
}

/* Handles are made before the sink's thread starts: a bad option fails the add. */
static int webhook_open(void *opaque)
{
    WebhookSink *w = opaque;
    pthread_once(&curl_once, curl_init_once);
    if (curl_init_result != CURLE_OK) {
        vqa_log(w->log, VQA_LOG_ERROR, "sink webhook: libcurl does not start: %s",
                curl_easy_strerror(curl_init_result));
        return VQA_ERR(EIO);
    }
    w->easy = curl_easy_init();
    w->multi = curl_multi_init();
    if (!w->easy || !w->multi)
        return VQA_ERR(ENOMEM);
    int err = set_options(w);
    if (err < 0)
        vqa_log(w->log, VQA_LOG_ERROR, "sink webhook: libcurl refuses the options for %s",
                w->url);
    return err;
}

static const VqaSinkClass webhook_class = {
    .struct_size = sizeof(VqaSinkClass),
    .name = "webhook",
    .open = webhook_open,
    .write = webhook_write,
    .close = webhook_close,
    .interrupt = webhook_interrupt,
};

static int make_headers(WebhookSink *w, const char *const *extra)
{
    /* "Expect:" (empty) keeps libcurl from waiting for "100 Continue" on larger bodies. */
    static const char *const fixed[] = { "Content-Type: application/json", "Expect:" };
    size_t nb_extra = 0;
    while (extra && extra[nb_extra])
        nb_extra++;
    for (size_t i = 0; i < 2 + nb_extra; i++) {
        struct curl_slist *list = curl_slist_append(w->headers, i < 2 ? fixed[i] : extra[i - 2]);
        if (!list)
            return VQA_ERR(ENOMEM); /* w->headers is still whole: close frees it */
        w->headers = list;
    }
    return 0;
}

int vqa_context_add_webhook_sink(VqaContext *ctx, VqaSink **out,
                                 const VqaWebhookSinkSettings *webhook,
                                 const VqaSinkSettings *settings)
{
    if (out)
        *out = NULL;
    if (!ctx)
        return VQA_ERR(EINVAL);
    const VqaLogger *log = vqa_sink_context_logger(ctx);
    int err = check_webhook(log, webhook);
    if (err < 0)
        return err;
    WebhookSink *w = vqa_calloc(1, sizeof(*w));
    if (!w)
        return VQA_ERR(ENOMEM);
    w->log = log;
    w->timeout_ms = webhook->timeout_ms;
    w->max_retries = webhook->max_retries;
    w->backoff_initial_ms = webhook->backoff_initial_ms;
    w->backoff_max_ms = webhook->backoff_max_ms;
    w->url = vqa_strdup(webhook->url);
    if (!w->url || make_headers(w, webhook->headers) < 0) {
        webhook_close(w);
        return VQA_ERR(ENOMEM);
    }
    /* On failure the class's close has freed w. */
    return vqa_context_add_sink(ctx, out, &webhook_class, w, settings);
}

#else /* !VQA_WEBHOOK */

int vqa_context_add_webhook_sink(VqaContext *ctx, VqaSink **out,
                                 const VqaWebhookSinkSettings *webhook,
                                 const VqaSinkSettings *settings)
{
    (void)settings;
    if (out)
        *out = NULL;
    if (!ctx)
        return VQA_ERR(EINVAL);
    const VqaLogger *log = vqa_sink_context_logger(ctx);
    int err = check_webhook(log, webhook);
    if (err < 0)
        return err;
    vqa_log(log, VQA_LOG_ERROR, "sink webhook: this libvqa was built without libcurl "
            "(meson option webhook)");
    return VQA_ERR(ENOSYS);
}

#endif
