/*
 * Media fixtures for the tests (see media.h).
 */
#include "media.h"

#include <ctype.h>
#include <ftw.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* The directory is made once per process and shared by every test in it,
 * so it has to live in static storage; pthread_once guards its creation. */
static pthread_once_t media_dir_once = PTHREAD_ONCE_INIT;
static char media_dir_path[4096];
static pid_t media_dir_owner;

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static void media_dir_cleanup(void)
{
    const char *keep = getenv("VQA_KEEP_MEDIA");
    /* A forked child that calls exit() must not delete the parent's files. */
    if (getpid() != media_dir_owner || (keep && *keep && strcmp(keep, "0") != 0))
        return;
    nftw(media_dir_path, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static void media_dir_make(void)
{
    const char *tmp = getenv("TMPDIR");
    if (!tmp || !*tmp)
        tmp = "/tmp";
    snprintf(media_dir_path, sizeof(media_dir_path), "%s/vqa-media-XXXXXX", tmp);
    if (!mkdtemp(media_dir_path)) {
        perror("media_dir: mkdtemp");
        abort();
    }
    media_dir_owner = getpid();
    atexit(media_dir_cleanup);
}

const char *media_dir(void)
{
    pthread_once(&media_dir_once, media_dir_make);
    return media_dir_path;
}

char *media_path(const char *name)
{
    const char *dir = media_dir();
    size_t len = strlen(dir) + 1 + strlen(name) + 1;
    char *path = malloc(len);
    if (path)
        snprintf(path, len, "%s/%s", dir, name);
    return path;
}

int media_ffmpeg(const char *args)
{
    static const char prefix[] = "ffmpeg -nostdin -hide_banner -loglevel error -y ";
    size_t len = sizeof(prefix) + strlen(args);
    char *cmd = malloc(len);
    if (!cmd)
        return -1;
    snprintf(cmd, len, "%s%s", prefix, args);
    int status = system(cmd);
    free(cmd);
    if (status == -1 || !WIFEXITED(status))
        return -1;
    return WEXITSTATUS(status);
}

int media_make_defect_clip(const char *path)
{
    /* Each video segment is its own source so the boundaries fall on exact
     * frames. The frozen part holds testsrc2's frame at 3.0 s, which differs
     * from the frame before it, so the freeze begins at 3.0 s sharp.
     * 0.25 full scale is -12 dBFS. */
    static const char graph[] =
        "testsrc2=s=320x240:r=25:d=3[v1];"
        "testsrc2=s=320x240:r=25:d=4,trim=start_frame=75:end_frame=76,"
        "setpts=PTS-STARTPTS,loop=loop=74:size=1:start=0[v2];"
        "color=c=black:s=320x240:r=25:d=2[v3];"
        "testsrc2=s=320x240:r=25:d=10,trim=start=8,setpts=PTS-STARTPTS[v4];"
        "[v1][v2][v3][v4]concat=n=4:v=1:a=0,format=yuv420p[v];"
        "aevalsrc='if(gte(t\\,4)*lt(t\\,7)\\,0\\,0.25*sin(2*PI*440*t))'"
        ":s=48000:c=stereo:d=10[a]";
    const char *fmt = "-filter_complex \"%s\" -map '[v]' -map '[a]' "
                      "-c:v libx264 -preset ultrafast -pix_fmt yuv420p -g 25 "
                      "-c:a aac -b:a 128k -ar 48000 -ac 2 -movflags +faststart '%s'";
    size_t len = strlen(fmt) + sizeof(graph) + strlen(path) + 1;
    char *args = malloc(len);
    if (!args)
        return -1;
    snprintf(args, len, fmt, graph, path);
    int ret = media_ffmpeg(args);
    free(args);
    return ret;
}

char *media_read_file(const char *path, size_t *size)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 4096, len = 0;
    char *buf = malloc(cap);
    while (buf) {
        len += fread(buf + len, 1, cap - len - 1, f);
        if (len < cap - 1)
            break;
        char *bigger = realloc(buf, cap * 2);
        if (!bigger) {
            free(buf);
            buf = NULL;
            break;
        }
        buf = bigger;
        cap *= 2;
    }
    if (buf && ferror(f)) {
        free(buf);
        buf = NULL;
    }
    fclose(f);
    if (buf) {
        buf[len] = '\0';
        if (size)
            *size = len;
    }
    return buf;
}

/* ---- a small JSON scanner: enough to validate and to pick top-level fields ---- */

static const char *skip_ws(const char *p)
{
    while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')
        p++;
    return p;
}

static const char *skip_value(const char *p, int depth);

/* Scan a string starting at its opening quote; copy its raw contents (escapes
 * kept) into out when given. @return the position after the closing quote or NULL. */
static const char *scan_string(const char *p, char *out, size_t out_size)
{
    size_t n = 0;
    if (*p++ != '"')
        return NULL;
    while (*p && *p != '"') {
        if ((unsigned char)*p < 0x20)
            return NULL;
        if (*p == '\\') {
            if (!p[1] || !strchr("\"\\/bfnrtu", p[1]))
                return NULL;
            if (out && n + 1 < out_size)
                out[n++] = *p;
            p++;
        }
        if (out && n + 1 < out_size)
            out[n++] = *p;
        p++;
    }
    if (out && out_size)
        out[n] = '\0';
    return *p == '"' ? p + 1 : NULL;
}

static const char *skip_digits(const char *p)
{
    const char *start = p;
    while (isdigit((unsigned char)*p))
        p++;
    return p > start ? p : NULL;
}

/* JSON's number grammar (RFC 8259), not strtod: it would follow the
 * locale, and accepts more (hex, "inf", a leading '+'). */
static const char *skip_number(const char *p)
{
    if (*p == '-')
        p++;
    if (*p == '0')
        p++;
    else if (!(p = skip_digits(p)))
        return NULL;
    if (*p == '.' && !(p = skip_digits(p + 1)))
        return NULL;
    if (*p == 'e' || *p == 'E') {
        p++;
        if (*p == '+' || *p == '-')
            p++;
        if (!(p = skip_digits(p)))
            return NULL;
    }
    return p;
}

static const char *skip_container(const char *p, int depth)
{
    char close = *p == '{' ? '}' : ']';
    int is_object = *p == '{';
    p = skip_ws(p + 1);
    if (*p == close)
        return p + 1;
    for (;;) {
        if (is_object) {
            p = scan_string(p, NULL, 0);
            if (!p)
                return NULL;
            p = skip_ws(p);
            if (*p++ != ':')
                return NULL;
        }
        p = skip_value(skip_ws(p), depth + 1);
        if (!p)
            return NULL;
        p = skip_ws(p);
        if (*p == close)
            return p + 1;
        if (*p++ != ',')
            return NULL;
        p = skip_ws(p);
    }
}

static const char *skip_value(const char *p, int depth)
{
    if (depth > 64)
        return NULL;
    if (*p == '{' || *p == '[')
        return skip_container(p, depth);
    if (*p == '"')
        return scan_string(p, NULL, 0);
    if (!strncmp(p, "true", 4))
        return p + 4;
    if (!strncmp(p, "false", 5))
        return p + 5;
    if (!strncmp(p, "null", 4))
        return p + 4;
    return skip_number(p);
}

int media_json_valid(const char *text)
{
    const char *p = skip_value(skip_ws(text), 0);
    return p && *skip_ws(p) == '\0';
}

static void copy_raw(char *dst, size_t size, const char *begin, const char *end)
{
    size_t len = (size_t)(end - begin);
    if (len >= size)
        len = size - 1;
    memcpy(dst, begin, len);
    dst[len] = '\0';
}

/* Store one top-level member of an event. @return position after the value, or NULL. */
static const char *parse_member(const char *p, MediaEvent *ev, unsigned *seen)
{
    char key[32];
    p = scan_string(p, key, sizeof(key));
    if (!p)
        return NULL;
    p = skip_ws(p);
    if (*p++ != ':')
        return NULL;
    p = skip_ws(p);
    struct { const char *name; char *dst; size_t size; unsigned bit; } strs[] = {
        { "stream", ev->stream, sizeof(ev->stream), 1 },
        { "detector", ev->detector, sizeof(ev->detector), 2 },
        { "kind", ev->kind, sizeof(ev->kind), 4 },
        { "state", ev->state, sizeof(ev->state), 8 },
    };
    for (size_t i = 0; i < sizeof(strs) / sizeof(strs[0]); i++) {
        if (!strcmp(key, strs[i].name)) {
            *seen |= strs[i].bit;
            return *p == '"' ? scan_string(p, strs[i].dst, strs[i].size) : NULL;
        }
    }
    const char *end = skip_value(p, 1);
    if (!end)
        return NULL;
    if (!strcmp(key, "t")) {
        *seen |= 16;
        ev->t = strtod(p, NULL);
    } else if (!strcmp(key, "duration")) {
        ev->duration = strtod(p, NULL);
        ev->has_duration = 1;
    } else if (!strcmp(key, "details")) {
        copy_raw(ev->details, sizeof(ev->details), p, end);
    }
    return end;
}

static int parse_event_line(const char *line, MediaEvent *ev)
{
    unsigned seen = 0;
    memset(ev, 0, sizeof(*ev));
    if (!media_json_valid(line))
        return -1;
    const char *p = skip_ws(line);
    if (*p != '{')
        return -1;
    p = skip_ws(p + 1);
    while (*p == '"') {
        p = parse_member(p, ev, &seen);
        if (!p)
            return -1;
        p = skip_ws(p);
        if (*p == ',')
            p = skip_ws(p + 1);
    }
    return seen == 31 ? 0 : -1;
}

int media_read_events(const char *jsonl_path, MediaEvent **out, size_t *n)
{
    char *text = media_read_file(jsonl_path, NULL);
    *out = NULL;
    *n = 0;
    if (!text)
        return -1;
    size_t cap = 0, line_no = 0;
    int ret = 0;
    for (char *line = text; line && *line; line_no++) {
        char *nl = strchr(line, '\n');
        if (nl)
            *nl = '\0';
        if (*skip_ws(line)) {
            if (*n == cap) {
                cap = cap ? cap * 2 : 16;
                MediaEvent *bigger = realloc(*out, cap * sizeof(**out));
                if (!bigger) {
                    ret = -1;
                    break;
                }
                *out = bigger;
            }
            if (parse_event_line(line, &(*out)[*n]) < 0) {
                fprintf(stderr, "%s:%zu: not an event: %s\n", jsonl_path, line_no + 1, line);
                ret = -1;
                break;
            }
            (*n)++;
        }
        line = nl ? nl + 1 : NULL;
    }
    free(text);
    return ret;
}

static int same_key(const MediaEvent *a, const MediaEvent *b)
{
    return !strcmp(a->stream, b->stream) && !strcmp(a->detector, b->detector) &&
           !strcmp(a->kind, b->kind);
}

int media_events_balanced(const MediaEvent *ev, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        int start = !strcmp(ev[i].state, "start");
        if (!start && strcmp(ev[i].state, "end"))
            continue;
        /* The next start/end of the same key must be of the opposite state. */
        size_t j = i + 1;
        while (j < n && (!same_key(&ev[i], &ev[j]) || !strcmp(ev[j].state, "instant")))
            j++;
        int ok = start ? j < n && !strcmp(ev[j].state, "end") : 1;
        if (!start) {
            /* an end must have a start before it: look back for the previous one */
            long k = (long)i - 1;
            while (k >= 0 && (!same_key(&ev[i], &ev[k]) || !strcmp(ev[k].state, "instant")))
                k--;
            ok = k >= 0 && !strcmp(ev[k].state, "start");
        }
        if (!ok) {
            fprintf(stderr, "unbalanced event: stream %s %s %s %s at %.3f\n", ev[i].stream,
                    ev[i].detector, ev[i].kind, ev[i].state, ev[i].t);
            return 0;
        }
    }
    return 1;
}

long media_find_event(const MediaEvent *ev, size_t n, const char *stream,
                      const char *kind, const char *state)
{
    for (size_t i = 0; i < n; i++) {
        if ((!stream || !strcmp(ev[i].stream, stream)) && !strcmp(ev[i].kind, kind) &&
            (!state || !strcmp(ev[i].state, state)))
            return (long)i;
    }
    return -1;
}
