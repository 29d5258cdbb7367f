/*
 * lib/tsmon.c and lib/tspsi.c: ETSI TR 101 290 priority 1 checks on raw TS bytes.
 *
 * Two sources of streams: a small muxer here that writes PAT, PMT, a video
 * and an audio PID on a 10 ms grid (each packet with the time it "arrives",
 * so faults land at known times and the wall clock can be faked), and real
 * streams from ffmpeg's mpegts muxer. Faults are injected into the bytes:
 * corrupted sync bytes, garbage, lost and duplicated packets, PSI left out,
 * a PID that stops.
 *
 * TSMON_DUMP=1 prints every event each test saw.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "media.h"
#include "mem.h"
#include "tsmon.h"
#include "tspsi.h"

#define PMT_PID 0x100
#define VIDEO_PID 0x101
#define AUDIO_PID 0x102
#define STEP_S 0.01
/* ffmpeg's PIDs, fixed by -mpegts_pmt_start_pid / -mpegts_start_pid */
#define FF_PMT_PID 0x1000
#define FF_VIDEO_PID 0x100
#define FF_AUDIO_PID 0x101
#define FF_MUXRATE 600000.0

/* ---- what the monitor reports ---- */

typedef struct Ev {
    char kind[32];
    VqaEventState state;
    double value;
    double late_s;
    double now;          /* the test's clock when it was reported */
    char details[512];
} Ev;

typedef struct Rec {
    Ev *ev;
    size_t n, cap;
    double now;
} Rec;

static void on_report(void *opaque, const char *kind, VqaEventState state, VqaSeverity severity,
                      double value, double late_s, const char *details)
{
    Rec *r = opaque;
    assert_true(severity >= VQA_SEVERITY_INFO && severity <= VQA_SEVERITY_ERROR);
    assert_non_null(details);
    /* only a START is back-dated */
    assert_true(state == VQA_EVENT_START ? late_s >= 0 : late_s == 0);
    if (!media_json_valid(details))
        fail_msg("details of %s are not JSON: %s", kind, details);
    if (r->n == r->cap) {
        r->cap = r->cap ? r->cap * 2 : 32;
        r->ev = realloc(r->ev, r->cap * sizeof(*r->ev));
        assert_non_null(r->ev);
    }
    Ev *e = &r->ev[r->n++];
    snprintf(e->kind, sizeof(e->kind), "%s", kind);
    e->state = state;
    e->value = value;
    e->late_s = late_s;
    e->now = r->now;
    snprintf(e->details, sizeof(e->details), "%s", details);
}

static void dump(const Rec *r);
static void rec_free(Rec *r)
{
    if (getenv("TSMON_DUMP"))
        dump(r);
    free(r->ev);
    memset(r, 0, sizeof(*r));
}

static size_t count_ev(const Rec *r, const char *kind, VqaEventState state)
{
    size_t n = 0;
    for (size_t i = 0; i < r->n; i++)
        n += !strcmp(r->ev[i].kind, kind) && r->ev[i].state == state;
    return n;
}

/* @return the nth (0-based) event of that kind and state, failing the test if absent. */
static const Ev *get_ev(const Rec *r, const char *kind, VqaEventState state, size_t nth)
{
    for (size_t i = 0; i < r->n; i++)
        if (!strcmp(r->ev[i].kind, kind) && r->ev[i].state == state && nth-- == 0)
            return &r->ev[i];
    fail_msg("no event %s state %d", kind, (int)state);
    return NULL;
}

static double num_field(const Ev *e, const char *name)
{
    char key[64];
    snprintf(key, sizeof(key), "\"%s\":", name);
    const char *p = strstr(e->details, key);
    if (!p)
        fail_msg("no %s in %s", name, e->details);
    return strtod(p + strlen(key), NULL);
}

static int has_text(const Ev *e, const char *text)
{
    return strstr(e->details, text) != NULL;
}

static void dump(const Rec *r)
{
    for (size_t i = 0; i < r->n; i++)
        fprintf(stderr, "  [%6.3f] %-20s %d value %.3f %s\n", r->ev[i].now, r->ev[i].kind,
                (int)r->ev[i].state, r->ev[i].value, r->ev[i].details);
}

/* Starts and ends alternate per kind and nothing stays open. */
static void assert_balanced(const Rec *r)
{
    for (size_t i = 0; i < r->n; i++) {
        if (r->ev[i].state == VQA_EVENT_INSTANT)
            continue;
        int open = 0;
        for (size_t j = 0; j <= i; j++) {
            if (strcmp(r->ev[j].kind, r->ev[i].kind) || r->ev[j].state == VQA_EVENT_INSTANT)
                continue;
            if ((r->ev[j].state == VQA_EVENT_START) == open) {
                dump(r);
                fail_msg("unbalanced %s at event %zu", r->ev[i].kind, j);
            }
            open = !open;
        }
    }
    for (size_t i = 0; i < r->n; i++)
        if (r->ev[i].state != VQA_EVENT_INSTANT &&
            count_ev(r, r->ev[i].kind, VQA_EVENT_START) != count_ev(r, r->ev[i].kind,
                                                                     VQA_EVENT_END))
            fail_msg("%s left open", r->ev[i].kind);
}

static void dump_if(const Rec *r)
{
    if (getenv("TSMON_DUMP"))
        dump(r);
}

static void assert_no_events(const Rec *r)
{
    if (r->n) {
        dump(r);
        fail_msg("expected no events, got %zu", r->n);
    }
}

/* ---- a small muxer ---- */

typedef struct Mux {
    uint8_t *buf;
    size_t len, cap;
    double *t;           /* arrival time of each packet */
    size_t n, tcap;
    uint8_t next_cc[VQA_TS_PID_COUNT];
    unsigned stride;     /* 188; 192 or 204 with 4 or 16 other bytes after each packet */
} Mux;

typedef struct Packet {
    unsigned pid;
    int pusi;
    const uint8_t *payload;
    size_t n;            /* 0: adaptation field only */
    int has_pcr;
    uint64_t pcr;
    int discontinuity;
    int scrambled;
    int cc;              /* -1: the muxer's own counter */
} Packet;

static void mux_init(Mux *x, unsigned stride)
{
    memset(x, 0, sizeof(*x));
    x->stride = stride;
}

static void mux_free(Mux *x)
{
    free(x->buf);
    free(x->t);
    memset(x, 0, sizeof(*x));
}

static void put_bytes(Mux *x, const uint8_t *p, size_t n)
{
    if (x->len + n > x->cap) {
        x->cap = (x->len + n) * 2;
        x->buf = realloc(x->buf, x->cap);
        assert_non_null(x->buf);
    }
    memcpy(x->buf + x->len, p, n);
    x->len += n;
}

static void put_packet(Mux *x, const uint8_t p[188], double t)
{
    put_bytes(x, p, 188);
    if (x->stride > 188) { /* RS parity after the packet, or the next packet's M2TS time code */
        uint8_t extra[16];
        memset(extra, 0xA5, sizeof(extra));
        put_bytes(x, extra, x->stride - 188);
    }
    if (x->n == x->tcap) {
        x->tcap = x->tcap ? x->tcap * 2 : 1024;
        x->t = realloc(x->t, x->tcap * sizeof(*x->t));
        assert_non_null(x->t);
    }
    x->t[x->n++] = t;
}

/* One 188-byte packet: header, adaptation field when needed (PCR, flags,
 * stuffing), payload. Consumes a continuity count when it has payload. */
static void build_packet(Mux *x, const Packet *s, uint8_t out[188])
{
    memset(out, 0xFF, 188);
    unsigned cc = s->cc >= 0 ? (unsigned)s->cc
                  : s->n    ? x->next_cc[s->pid]++ & 15u
                            : (x->next_cc[s->pid] - 1u) & 15u;
    int need_af = s->has_pcr || s->discontinuity || s->n < 184;
    size_t af_len = need_af ? (s->n ? 183 - s->n : 183) : 0;
    assert_true(s->n <= 184 && (!(s->has_pcr) || af_len >= 7) &&
                (!s->discontinuity || af_len >= 1));
    unsigned afc = (need_af ? 2u : 0u) | (s->n ? 1u : 0u);
    out[0] = 0x47;
    out[1] = (uint8_t)((s->pusi ? 0x40 : 0) | (s->pid >> 8));
    out[2] = (uint8_t)(s->pid & 0xFF);
    out[3] = (uint8_t)((s->scrambled ? 0x80 : 0) | afc << 4 | cc);
    if (need_af) {
        out[4] = (uint8_t)af_len;
        if (af_len) {
            out[5] = (uint8_t)((s->discontinuity ? 0x80 : 0) | (s->has_pcr ? 0x10 : 0));
            if (s->has_pcr) {
                uint64_t base = s->pcr / 300, ext = s->pcr % 300;
                out[6] = (uint8_t)(base >> 25);
                out[7] = (uint8_t)(base >> 17);
                out[8] = (uint8_t)(base >> 9);
                out[9] = (uint8_t)(base >> 1);
                out[10] = (uint8_t)((base & 1) << 7 | 0x7E | ext >> 8);
                out[11] = (uint8_t)ext;
            }
        }
    }
    if (s->n)
        memcpy(out + 188 - s->n, s->payload, s->n);
}

static void emit_packet(Mux *x, const Packet *s, double t)
{
    uint8_t p[188];
    build_packet(x, s, p);
    put_packet(x, p, t);
}

static size_t put_crc(uint8_t *sec, size_t n)
{
    uint32_t crc = vqa_ts_crc32(sec, n);
    sec[n] = (uint8_t)(crc >> 24);
    sec[n + 1] = (uint8_t)(crc >> 16);
    sec[n + 2] = (uint8_t)(crc >> 8);
    sec[n + 3] = (uint8_t)crc;
    return n + 4;
}

/* programs: pairs {program_number, pmt_pid}. @return the section's size. */
static size_t make_pat(uint8_t *sec, unsigned version, const unsigned (*progs)[2], size_t np)
{
    size_t body = 5 + 4 * np + 4;
    sec[0] = 0x00;
    sec[1] = (uint8_t)(0xB0 | body >> 8);
    sec[2] = (uint8_t)body;
    sec[3] = 0x00;
    sec[4] = 0x01;
    sec[5] = (uint8_t)(0xC1 | version << 1);
    sec[6] = sec[7] = 0;
    for (size_t i = 0; i < np; i++) {
        sec[8 + 4 * i] = (uint8_t)(progs[i][0] >> 8);
        sec[9 + 4 * i] = (uint8_t)progs[i][0];
        sec[10 + 4 * i] = (uint8_t)(0xE0 | progs[i][1] >> 8);
        sec[11 + 4 * i] = (uint8_t)progs[i][1];
    }
    return put_crc(sec, 8 + 4 * np);
}

typedef struct EsSpec {
    unsigned type, pid;
    const uint8_t *desc;
    size_t desc_len;
} EsSpec;

static size_t make_pmt(uint8_t *sec, unsigned program, unsigned version, unsigned pcr_pid,
                       const EsSpec *es, size_t n_es)
{
    size_t p = 12;
    for (size_t i = 0; i < n_es; i++) {
        sec[p] = (uint8_t)es[i].type;
        sec[p + 1] = (uint8_t)(0xE0 | es[i].pid >> 8);
        sec[p + 2] = (uint8_t)es[i].pid;
        sec[p + 3] = (uint8_t)(0xF0 | es[i].desc_len >> 8);
        sec[p + 4] = (uint8_t)es[i].desc_len;
        if (es[i].desc_len)
            memcpy(sec + p + 5, es[i].desc, es[i].desc_len);
        p += 5 + es[i].desc_len;
    }
    size_t body = p - 3 + 4;
    sec[0] = 0x02;
    sec[1] = (uint8_t)(0xB0 | body >> 8);
    sec[2] = (uint8_t)body;
    sec[3] = (uint8_t)(program >> 8);
    sec[4] = (uint8_t)program;
    sec[5] = (uint8_t)(0xC1 | version << 1);
    sec[6] = sec[7] = 0;
    sec[8] = (uint8_t)(0xE0 | pcr_pid >> 8);
    sec[9] = (uint8_t)pcr_pid;
    sec[10] = 0xF0;
    sec[11] = 0;
    return put_crc(sec, p);
}

/* A section in one packet: pointer_field 0, the section, 0xFF stuffing. */
static void emit_section(Mux *x, unsigned pid, const uint8_t *sec, size_t n, double t)
{
    uint8_t payload[184];
    memset(payload, 0xFF, sizeof(payload));
    payload[0] = 0;
    memcpy(payload + 1, sec, n);
    emit_packet(x, &(Packet){ .pid = pid, .pusi = 1, .payload = payload, .n = 184, .cc = -1 },
                t);
}

/* Faults of the generated stream. */
typedef struct Drop {
    unsigned pid;
    double from_s, to_s;
    int lose;            /* 1: the packets are made (counters advance) and lost on the way;
                            0: they are never sent */
} Drop;

typedef struct Gen {
    double duration_s;
    Drop drop[4];
    size_t n_drop;
    int ghost_program;   /* the PAT also lists program 2 with a PMT on 0x200 that never comes */
} Gen;

static int dropped(const Gen *g, unsigned pid, double t, int *lose)
{
    for (size_t i = 0; i < g->n_drop; i++) {
        if (g->drop[i].pid == pid && t >= g->drop[i].from_s - 1e-9 && t < g->drop[i].to_s - 1e-9) {
            *lose = g->drop[i].lose;
            return 1;
        }
    }
    return 0;
}

static void gen_put(Mux *x, const Gen *g, const Packet *s, double t)
{
    int lose = 0;
    if (!dropped(g, s->pid, t, &lose)) {
        emit_packet(x, s, t);
    } else if (lose) {
        uint8_t p[188];
        build_packet(x, s, p); /* its continuity count is used up */
    }
}

/* A PES header with a PTS (90 kHz) at the start of payload; the rest is a pattern. */
static void pes_payload(uint8_t *p, size_t n, unsigned stream_id, double pts_s, long seed)
{
    uint64_t pts = (uint64_t)llround(pts_s * 90000);
    for (size_t i = 0; i < n; i++)
        p[i] = (uint8_t)(seed * 31 + (long)i * 7);
    p[0] = 0;
    p[1] = 0;
    p[2] = 1;
    p[3] = (uint8_t)stream_id;
    p[4] = p[5] = 0; /* unbounded length */
    p[6] = 0x80;
    p[7] = 0x80;     /* PTS only */
    p[8] = 5;
    p[9] = (uint8_t)(0x21 | (pts >> 29 & 0x0E));
    p[10] = (uint8_t)(pts >> 22);
    p[11] = (uint8_t)(pts >> 14 | 1);
    p[12] = (uint8_t)(pts >> 7);
    p[13] = (uint8_t)(pts << 1 | 1);
}

/* Every 10 ms a video packet (PCR every 40 ms), every 20 ms an audio packet,
 * every 100 ms PAT and PMT. Each video and audio packet starts a PES. */
static void gen_stream(Mux *x, const Gen *g)
{
    static const unsigned progs[2][2] = { { 1, PMT_PID }, { 2, 0x200 } };
    const EsSpec es[2] = { { 0x1B, VIDEO_PID, NULL, 0 }, { 0x0F, AUDIO_PID, NULL, 0 } };
    uint8_t pat[64], pmt[64], payload[184];
    size_t pat_n = make_pat(pat, 0, progs, g->ghost_program ? 2 : 1);
    size_t pmt_n = make_pmt(pmt, 1, 0, VIDEO_PID, es, 2);
    long steps = lround(g->duration_s / STEP_S);
    for (long k = 0; k < steps; k++) {
        double t = (double)k * STEP_S;
        int lose = 0;
        if (k % 10 == 0) {
            if (!dropped(g, 0, t, &lose))
                emit_section(x, 0, pat, pat_n, t);
            if (!dropped(g, PMT_PID, t, &lose))
                emit_section(x, PMT_PID, pmt, pmt_n, t);
        }
        int pcr = k % 4 == 0;
        size_t n = pcr ? 176 : 184;
        pes_payload(payload, n, 0xE0, t + 1.3, k);
        gen_put(x, g,
                &(Packet){ .pid = VIDEO_PID, .pusi = 1, .payload = payload, .n = n,
                           .has_pcr = pcr, .pcr = (uint64_t)llround((t + 1.0) * 27e6), .cc = -1 },
                t);
        if (k % 2 == 0) {
            pes_payload(payload, 184, 0xC0, t + 1.2, k + 1000);
            gen_put(x, g,
                    &(Packet){ .pid = AUDIO_PID, .pusi = 1, .payload = payload, .n = 184,
                               .cc = -1 },
                    t);
        }
    }
}

static size_t packet_at(const Mux *x, double t)
{
    for (size_t i = 0; i < x->n; i++)
        if (x->t[i] >= t - 1e-9)
            return i;
    return x->n;
}

/* The packet index of the first packet of pid at or after time t. */
static size_t pid_packet_at(const Mux *x, unsigned pid, double t)
{
    for (size_t i = packet_at(x, t); i < x->n; i++) {
        const uint8_t *p = x->buf + i * x->stride;
        if ((unsigned)((p[1] & 0x1F) << 8 | p[2]) == pid)
            return i;
    }
    fail_msg("no packet of PID %u after %.3f s", pid, t);
    return 0;
}

/* ---- feeding ---- */

static uint32_t rng_next(uint32_t *s)
{
    *s = *s * 1664525u + 1013904223u;
    return *s >> 8;
}

/* Wall clock: each packet arrives at its time; the bytes of one instant go in
 * chunks of `chunk` bytes (0: random sizes from seed). */
static void feed_wall(VqaTsMon *m, Rec *r, const Mux *x, size_t chunk, uint32_t seed)
{
    size_t i = 0;
    while (i < x->n) {
        size_t j = i;
        while (j < x->n && x->t[j] == x->t[i])
            j++;
        r->now = x->t[i];
        size_t pos = i * x->stride, end = j * x->stride;
        while (pos < end) {
            size_t k = chunk ? chunk : 1 + rng_next(&seed) % 3000;
            if (k > end - pos)
                k = end - pos;
            vqa_tsmon_feed(m, x->buf + pos, k, r->now);
            pos += k;
        }
        i = j;
    }
}

/* Ticks (no bytes) from `from_s` to `to_s` every 0.1 s. */
static void tick_wall(VqaTsMon *m, Rec *r, double from_s, double to_s)
{
    for (double t = from_s; t <= to_s + 1e-9; t += 0.1) {
        r->now = t;
        vqa_tsmon_tick(m, t);
    }
}

/* Any clock: bytes in chunks of `chunk` (0: random 1..70000 from seed), now_s fixed. */
static void feed_bytes(VqaTsMon *m, const uint8_t *data, size_t size, size_t chunk, uint32_t seed)
{
    size_t pos = 0;
    while (pos < size) {
        size_t k = chunk ? chunk : 1 + rng_next(&seed) % 70000;
        if (k > size - pos)
            k = size - pos;
        vqa_tsmon_feed(m, data + pos, k, 0);
        pos += k;
    }
}

static VqaTsMon *new_mon(Rec *r, VqaTsClock clock)
{
    VqaTsMon *m = vqa_tsmon_alloc(on_report, r);
    assert_non_null(m);
    VqaTsMonSettings s;
    vqa_tsmon_default_settings(&s);
    s.clock = clock;
    assert_int_equal(vqa_tsmon_configure(m, &s), 0);
    return m;
}

/* A wall-clock monitor over the whole mux, reset at the end (counters may be NULL). */
static void monitor_wall(Rec *r, const Mux *x, size_t chunk, uint32_t seed,
                         VqaTsMonCounters *counters)
{
    VqaTsMon *m = new_mon(r, VQA_TS_CLOCK_WALL);
    feed_wall(m, r, x, chunk, seed);
    vqa_tsmon_reset(m);
    if (counters)
        vqa_tsmon_get_counters(m, counters);
    vqa_tsmon_free(&m);
}

static void run_gen(Rec *r, const Gen *g, VqaTsMonCounters *counters)
{
    Mux x;
    mux_init(&x, 188);
    gen_stream(&x, g);
    monitor_wall(r, &x, 0, 7, counters);
    mux_free(&x);
    assert_balanced(r);
}

/* ---- PSI ---- */

static void test_crc_check_value(void **state)
{
    (void)state;
    /* The CRC-32/MPEG-2 check value of the catalogue of CRC parameters. */
    assert_int_equal(vqa_ts_crc32((const uint8_t *)"123456789", 9), 0x0376E6E7);
    uint8_t sec[64];
    static const unsigned progs[1][2] = { { 1, 0x100 } };
    size_t n = make_pat(sec, 3, progs, 1);
    assert_int_equal(vqa_ts_crc32(sec, n), 0);
    VqaTsPat pat;
    assert_int_equal(vqa_ts_parse_pat(sec, n, &pat), 0);
    assert_int_equal(pat.version, 3);
    assert_int_equal(pat.n_entries, 1);
    assert_int_equal(pat.entries[0].pid, 0x100);
    sec[9] ^= 1;
    assert_int_not_equal(vqa_ts_crc32(sec, n), 0);
    assert_int_equal(vqa_ts_parse_pat(sec, n - 1, &pat), -1);
}

typedef struct Sections {
    unsigned starts[8];
    size_t n_starts, n_done;
    size_t sizes[8];
} Sections;

static void sec_start(void *opaque, unsigned table_id)
{
    Sections *s = opaque;
    if (s->n_starts < 8)
        s->starts[s->n_starts] = table_id;
    s->n_starts++;
}

static void sec_done(void *opaque, const uint8_t *section, size_t size)
{
    Sections *s = opaque;
    assert_int_equal(vqa_ts_crc32(section, size), 0);
    if (s->n_done < 8)
        s->sizes[s->n_done] = size;
    s->n_done++;
}

static void test_section_assembly(void **state)
{
    (void)state;
    /* A PMT of 40 streams (about 220 bytes) spans two packets; then two
     * sections in one packet; then a section cut short by a lost packet. */
    EsSpec es[40];
    for (unsigned i = 0; i < 40; i++)
        es[i] = (EsSpec){ 0x1B, 0x200 + i, NULL, 0 };
    uint8_t pmt[512], payload[184];
    size_t n = make_pmt(pmt, 7, 1, 0x200, es, 40);
    assert_true(n > 184);
    Sections got = { 0 };
    VqaTsSectionSink sink = { sec_start, sec_done, &got };
    VqaTsSection a = { 0 };
    payload[0] = 0;
    memcpy(payload + 1, pmt, 183);
    vqa_ts_section_push(&a, payload, 184, 1, 1, &sink);
    assert_int_equal(got.n_starts, 1);
    assert_int_equal(got.n_done, 0);
    memset(payload, 0xFF, sizeof(payload));
    memcpy(payload, pmt + 183, n - 183);
    vqa_ts_section_push(&a, payload, 184, 0, 1, &sink);
    assert_int_equal(got.n_done, 1);
    assert_int_equal(got.sizes[0], n);
    VqaTsPmt parsed;
    assert_int_equal(vqa_ts_parse_pmt(pmt, n, &parsed), 0);
    assert_int_equal(parsed.n_es, 40);
    assert_int_equal(parsed.es[39].pid, 0x200 + 39);
    assert_int_equal(parsed.es[0].type, VQA_TS_ES_VIDEO);

    static const unsigned progs[1][2] = { { 1, 0x100 } };
    uint8_t pat[32];
    size_t pn = make_pat(pat, 0, progs, 1);
    memset(payload, 0xFF, sizeof(payload));
    payload[0] = 0;
    memcpy(payload + 1, pat, pn);
    memcpy(payload + 1 + pn, pat, pn);
    memset(&got, 0, sizeof(got));
    vqa_ts_section_push(&a, payload, 184, 1, 1, &sink);
    assert_int_equal(got.n_starts, 2);
    assert_int_equal(got.n_done, 2);

    memset(&got, 0, sizeof(got));
    payload[0] = 0;
    memcpy(payload + 1, pmt, 183);
    vqa_ts_section_push(&a, payload, 184, 1, 1, &sink);
    memset(payload, 0xFF, sizeof(payload));
    memcpy(payload, pmt + 183, n - 183);
    vqa_ts_section_push(&a, payload, 184, 0, 0, &sink); /* a packet was lost between */
    assert_int_equal(got.n_starts, 1);
    assert_int_equal(got.n_done, 0);
}

static void test_es_types(void **state)
{
    (void)state;
    static const uint8_t ac3[] = { 0x6A, 0x01, 0x00 };
    static const uint8_t opus[] = { 0x05, 0x04, 'O', 'p', 'u', 's' };
    static const uint8_t teletext[] = { 0x56, 0x05, 'e', 'n', 'g', 0x09, 0x00 };
    assert_int_equal(vqa_ts_es_type(0x1B, NULL, 0), VQA_TS_ES_VIDEO);
    assert_int_equal(vqa_ts_es_type(0x24, NULL, 0), VQA_TS_ES_VIDEO);
    assert_int_equal(vqa_ts_es_type(0x0F, NULL, 0), VQA_TS_ES_AUDIO);
    assert_int_equal(vqa_ts_es_type(0x06, ac3, sizeof(ac3)), VQA_TS_ES_AUDIO);
    assert_int_equal(vqa_ts_es_type(0x06, opus, sizeof(opus)), VQA_TS_ES_AUDIO);
    assert_int_equal(vqa_ts_es_type(0x06, teletext, sizeof(teletext)), VQA_TS_ES_OTHER);
    assert_int_equal(vqa_ts_es_type(0x86, NULL, 0), VQA_TS_ES_OTHER); /* SCTE-35 */
    assert_int_equal(vqa_ts_es_type(0x06, ac3, 2), VQA_TS_ES_OTHER);  /* truncated descriptor */
}

/* ---- clean streams ---- */

static void test_clean_stream_no_events(void **state)
{
    (void)state;
    Rec r = { 0 };
    Gen g = { .duration_s = 3 };
    VqaTsMonCounters c;
    run_gen(&r, &g, &c);
    assert_no_events(&r);
    assert_true(c.packets > 400);
    assert_int_equal(c.cc + c.pat + c.pmt + c.pid + c.sync_byte + c.sync_loss, 0);
    rec_free(&r);
}

static void test_recognition(void **state)
{
    (void)state;
    Rec r = { 0 };
    Mux x;
    mux_init(&x, 188);
    gen_stream(&x, &(Gen){ .duration_s = 1 });
    VqaTsMon *m = new_mon(&r, VQA_TS_CLOCK_WALL);
    /* garbage first (no 0x47 in it), then seven packets: not yet TS */
    uint8_t junk[300];
    memset(junk, 0x11, sizeof(junk));
    vqa_tsmon_feed(m, junk, sizeof(junk), 0);
    vqa_tsmon_feed(m, x.buf, 7 * 188, 0);
    assert_int_equal(vqa_tsmon_active(m), 0);
    vqa_tsmon_feed(m, x.buf + 7 * 188, x.len - 7 * 188, 0);
    assert_int_equal(vqa_tsmon_active(m), 188);
    VqaTsMonCounters c;
    vqa_tsmon_get_counters(m, &c);
    assert_int_equal(c.packets, x.n); /* the leading junk is not a packet and not an error */
    vqa_tsmon_reset(m);
    assert_int_equal(vqa_tsmon_active(m), 0);
    vqa_tsmon_free(&m);
    assert_null(m);
    vqa_tsmon_free(&m);
    vqa_tsmon_free(NULL);
    assert_no_events(&r);
    mux_free(&x);
    rec_free(&r);
}

static void test_192_and_204_byte_packets(void **state)
{
    (void)state;
    static const unsigned strides[] = { 192, 204 };
    for (size_t k = 0; k < 2; k++) {
        Rec r = { 0 };
        Mux x;
        mux_init(&x, strides[k]);
        gen_stream(&x, &(Gen){ .duration_s = 2 });
        VqaTsMon *m = new_mon(&r, VQA_TS_CLOCK_WALL);
        feed_wall(m, &r, &x, 0, 3);
        assert_int_equal(vqa_tsmon_active(m), (int)strides[k]);
        assert_no_events(&r);
        vqa_tsmon_reset(m);
        /* The same checks work at that spacing: a lost video packet, a bad sync byte. */
        mux_free(&x);
        mux_init(&x, strides[k]);
        gen_stream(&x, &(Gen){ .duration_s = 2, .n_drop = 1,
                               .drop = { { VIDEO_PID, 1.0, 1.0 + STEP_S, 1 } } });
        x.buf[packet_at(&x, 1.5) * strides[k]] = 0x07;
        feed_wall(m, &r, &x, 0, 4);
        vqa_tsmon_reset(m);
        assert_int_equal(r.n, 3);
        assert_int_equal(count_ev(&r, "stream.ts_sync_byte", VQA_EVENT_INSTANT), 1);
        const Ev *cc = get_ev(&r, "stream.ts_cc", VQA_EVENT_INSTANT, 0);
        assert_int_equal(num_field(cc, "pid"), VIDEO_PID);
        assert_true(fabs(cc->now - 1.01) < 1e-9);
        vqa_tsmon_free(&m);
        mux_free(&x);
        rec_free(&r);
    }
}

/* ---- 1.1 and 1.2: sync ---- */

static void test_one_bad_sync_byte(void **state)
{
    (void)state;
    Rec r = { 0 };
    Mux x;
    mux_init(&x, 188);
    gen_stream(&x, &(Gen){ .duration_s = 2 });
    size_t i = pid_packet_at(&x, VIDEO_PID, 1.0);
    x.buf[i * 188] = 0x46;
    VqaTsMonCounters c;
    monitor_wall(&r, &x, 0, 5, &c);
    assert_int_equal(count_ev(&r, "stream.ts_sync_loss", VQA_EVENT_START), 0);
    assert_int_equal(count_ev(&r, "stream.ts_sync_byte", VQA_EVENT_INSTANT), 1);
    const Ev *e = get_ev(&r, "stream.ts_sync_byte", VQA_EVENT_INSTANT, 0);
    assert_true(fabs(e->now - 1.0) < 1e-9);
    assert_int_equal(num_field(e, "count"), 1);
    assert_int_equal(num_field(e, "byte"), 0x46);
    assert_int_equal(c.sync_byte, 1);
    assert_int_equal(c.sync_loss, 0);
    /* The packet is dropped as a decoder would drop it: its PID misses it. */
    assert_int_equal(c.cc, 1);
    assert_int_equal(num_field(get_ev(&r, "stream.ts_cc", VQA_EVENT_INSTANT, 0), "pid"),
                     VIDEO_PID);
    assert_int_equal(c.packets, x.n - 1);
    mux_free(&x);
    rec_free(&r);
}

static void test_sync_loss_and_regain(void **state)
{
    (void)state;
    Rec r = { 0 };
    Mux x;
    mux_init(&x, 188);
    gen_stream(&x, &(Gen){ .duration_s = 3 });
    size_t first = packet_at(&x, 1.0);
    for (size_t i = first; i < first + 10; i++)
        x.buf[i * 188] = 0x00;
    VqaTsMonCounters c;
    monitor_wall(&r, &x, 0, 9, &c);
    assert_balanced(&r);
    assert_int_equal(count_ev(&r, "stream.ts_sync_loss", VQA_EVENT_START), 1);
    const Ev *start = get_ev(&r, "stream.ts_sync_loss", VQA_EVENT_START, 0);
    const Ev *end = get_ev(&r, "stream.ts_sync_loss", VQA_EVENT_END, 0);
    assert_true(start < end);
    assert_false(has_text(end, "closed_by"));
    /* the ten corrupted packets are skipped and the eleventh (with four more) regains sync */
    assert_int_equal(end->value, 10 * 188);
    assert_int_equal(num_field(end, "skipped_bytes"), 10 * 188);
    assert_int_equal(c.sync_loss, 1);
    assert_int_equal(c.sync_byte, 2); /* the two that declare the loss, in one instant */
    assert_int_equal(count_ev(&r, "stream.ts_sync_byte", VQA_EVENT_INSTANT), 1);
    assert_int_equal(get_ev(&r, "stream.ts_sync_byte", VQA_EVENT_INSTANT, 0)->value, 2);
    assert_int_equal(c.packets, x.n - 10);
    assert_int_equal(c.bytes_skipped, 10 * 188);
    mux_free(&x);
    rec_free(&r);
}

static void test_resync_after_garbage(void **state)
{
    (void)state;
    Rec r = { 0 };
    Mux x, y;
    mux_init(&x, 188);
    gen_stream(&x, &(Gen){ .duration_s = 3 });
    /* 500 bytes inserted after the packets of 1.0 s: sync bytes among them, but
     * never five at 188-byte spacing. */
    size_t cut = packet_at(&x, 1.01);
    uint8_t junk[500];
    uint32_t seed = 99;
    for (size_t i = 0; i < sizeof(junk); i++)
        junk[i] = (uint8_t)rng_next(&seed);
    junk[0] = junk[188] = 0x12;
    junk[100] = junk[288] = junk[476] = 0x47;
    mux_init(&y, 188);
    put_bytes(&y, x.buf, cut * 188);
    put_bytes(&y, junk, sizeof(junk));
    put_bytes(&y, x.buf + cut * 188, x.len - cut * 188);
    VqaTsMon *m = new_mon(&r, VQA_TS_CLOCK_PCR);
    for (size_t chunk = 1; chunk <= 4096; chunk *= 8) {
        feed_bytes(m, y.buf, y.len, chunk, 0);
        vqa_tsmon_reset(m);
        assert_balanced(&r);
        assert_int_equal(r.n, 3);
        const Ev *end = get_ev(&r, "stream.ts_sync_loss", VQA_EVENT_END, 0);
        assert_int_equal(end->value, 500);
        assert_int_equal(count_ev(&r, "stream.ts_sync_byte", VQA_EVENT_INSTANT), 1);
        assert_int_equal(get_ev(&r, "stream.ts_sync_byte", VQA_EVENT_INSTANT, 0)->value, 2);
        /* no packet was lost, so no continuity error follows the regained sync */
        assert_int_equal(count_ev(&r, "stream.ts_cc", VQA_EVENT_INSTANT), 0);
        rec_free(&r);
    }
    vqa_tsmon_free(&m);
    mux_free(&x);
    mux_free(&y);
}

static void test_sync_byte_rate_limit(void **state)
{
    (void)state;
    Rec r = { 0 };
    Mux x;
    mux_init(&x, 188);
    gen_stream(&x, &(Gen){ .duration_s = 4 });
    /* every 4th packet from 1.0 s to 1.5 s: isolated errors, no loss */
    size_t a = packet_at(&x, 1.0), b = packet_at(&x, 1.5), n_bad = 0;
    for (size_t i = a; i < b; i += 4, n_bad++)
        x.buf[i * 188] = 0x48;
    monitor_wall(&r, &x, 0, 1, NULL);
    assert_int_equal(count_ev(&r, "stream.ts_sync_loss", VQA_EVENT_START), 0);
    assert_int_equal(count_ev(&r, "stream.ts_sync_byte", VQA_EVENT_INSTANT), 2);
    const Ev *e1 = get_ev(&r, "stream.ts_sync_byte", VQA_EVENT_INSTANT, 0);
    const Ev *e2 = get_ev(&r, "stream.ts_sync_byte", VQA_EVENT_INSTANT, 1);
    assert_int_equal(e1->value, 1);
    assert_int_equal(e2->value, n_bad - 1);
    assert_int_equal(num_field(e2, "total"), n_bad);
    assert_true(e2->now - e1->now >= 1.0 - 1e-9 && e2->now - e1->now < 1.2);
    rec_free(&r);
    mux_free(&x);
}

/* ---- 1.4: continuity ---- */

static void test_cc_lost_packet(void **state)
{
    (void)state;
    Rec r = { 0 };
    Gen g = { .duration_s = 2, .n_drop = 1, .drop = { { AUDIO_PID, 1.0, 1.0 + STEP_S, 1 } } };
    VqaTsMonCounters c;
    run_gen(&r, &g, &c);
    assert_int_equal(r.n, 1);
    const Ev *e = get_ev(&r, "stream.ts_cc", VQA_EVENT_INSTANT, 0);
    assert_int_equal(num_field(e, "pid"), AUDIO_PID);
    assert_int_equal(num_field(e, "count"), 1);
    assert_int_equal((int)num_field(e, "got"), ((int)num_field(e, "expected") + 1) & 15);
    assert_true(has_text(e, "\"reason\":\"discontinuity\""));
    assert_true(fabs(e->now - 1.02) < 1e-9);
    assert_int_equal(c.cc, 1);
    rec_free(&r);
}

static void test_cc_duplicates(void **state)
{
    (void)state;
    Rec r = { 0 };
    Mux x, y;
    mux_init(&x, 188);
    gen_stream(&x, &(Gen){ .duration_s = 3 });
    size_t once = pid_packet_at(&x, VIDEO_PID, 1.0), twice = pid_packet_at(&x, VIDEO_PID, 2.0);
    mux_init(&y, 188);
    for (size_t i = 0; i < x.n; i++) {
        int copies = 1 + (i == once) + 2 * (i == twice);
        for (int k = 0; k < copies; k++)
            put_packet(&y, x.buf + i * 188, x.t[i]);
    }
    monitor_wall(&r, &y, 0, 2, NULL);
    /* one duplicate is allowed; a packet sent three times is an error */
    assert_int_equal(r.n, 1);
    const Ev *e = get_ev(&r, "stream.ts_cc", VQA_EVENT_INSTANT, 0);
    assert_true(fabs(e->now - 2.0) < 1e-9);
    assert_true(has_text(e, "\"reason\":\"duplicate\""));
    assert_int_equal(num_field(e, "pid"), VIDEO_PID);
    mux_free(&x);
    mux_free(&y);
    rec_free(&r);
}

static void test_cc_same_counter_new_content(void **state)
{
    (void)state;
    /* Same counter, different payload: not a duplicate but 16 lost packets. */
    Rec r = { 0 };
    Mux x;
    mux_init(&x, 188);
    gen_stream(&x, &(Gen){ .duration_s = 1 });
    uint8_t payload[184];
    memset(payload, 0x33, sizeof(payload));
    emit_packet(&x, &(Packet){ .pid = 0x300, .payload = payload, .n = 184, .cc = 5 }, 1.0);
    payload[0] = 0x34;
    emit_packet(&x, &(Packet){ .pid = 0x300, .payload = payload, .n = 184, .cc = 5 }, 1.0);
    monitor_wall(&r, &x, 188, 0, NULL);
    assert_int_equal(r.n, 1);
    assert_true(has_text(&r.ev[0], "\"reason\":\"discontinuity\""));
    assert_int_equal(num_field(&r.ev[0], "pid"), 0x300);
    mux_free(&x);
    rec_free(&r);
}

static void test_cc_exceptions(void **state)
{
    (void)state;
    /* Adaptation-only packets keep the counter; a discontinuity_indicator
     * allows a jump; null packets are never checked. */
    Rec r = { 0 };
    Mux x;
    mux_init(&x, 188);
    gen_stream(&x, &(Gen){ .duration_s = 1 });
    uint8_t payload[184];
    memset(payload, 0x21, sizeof(payload));
    double t = 1.0;
    for (int i = 0; i < 40; i++, t += 0.005) {
        payload[0] = (uint8_t)i;
        emit_packet(&x, &(Packet){ .pid = 0x300, .payload = payload, .n = 184, .cc = -1 }, t);
        emit_packet(&x, &(Packet){ .pid = 0x300, .has_pcr = 1, .pcr = 27000000u, .cc = -1 }, t);
        emit_packet(&x, &(Packet){ .pid = 0x1FFF, .payload = payload, .n = 184, .cc = i * 5 & 15 },
                    t);
    }
    emit_packet(&x, &(Packet){ .pid = 0x300, .payload = payload, .n = 100, .discontinuity = 1,
                               .cc = 9 },
                t);
    payload[0] = 0x77;
    emit_packet(&x, &(Packet){ .pid = 0x300, .payload = payload, .n = 184, .cc = 10 }, t);
    VqaTsMon *m = new_mon(&r, VQA_TS_CLOCK_WALL);
    feed_wall(m, &r, &x, 0, 11);
    VqaTsMonCounters c;
    vqa_tsmon_get_counters(m, &c);
    assert_int_equal(c.packets, x.n);
    /* ...but without the flag the same jump is an error */
    mux_free(&x);
    mux_init(&x, 188);
    payload[0] = 0x78;
    emit_packet(&x, &(Packet){ .pid = 0x300, .payload = payload, .n = 184, .cc = 3 }, t);
    feed_wall(m, &r, &x, 0, 12);
    vqa_tsmon_reset(m);
    vqa_tsmon_free(&m);
    assert_int_equal(r.n, 1);
    assert_int_equal(num_field(&r.ev[0], "expected"), 11);
    assert_int_equal(num_field(&r.ev[0], "got"), 3);
    mux_free(&x);
    rec_free(&r);
}

static void test_cc_rate_limit_per_pid(void **state)
{
    (void)state;
    Rec r = { 0 };
    Mux x, y;
    mux_init(&x, 188);
    gen_stream(&x, &(Gen){ .duration_s = 4, .n_drop = 1,
                           .drop = { { AUDIO_PID, 1.2, 1.22, 1 } } });
    /* lose every other video packet over 0.5 s: 25 errors */
    mux_init(&y, 188);
    size_t n_video = 0;
    for (size_t i = 0; i < x.n; i++) {
        const uint8_t *p = x.buf + i * 188;
        int video = ((p[1] & 0x1F) << 8 | p[2]) == VIDEO_PID;
        if (video && x.t[i] >= 1.0 && x.t[i] < 1.5 && n_video++ % 2 == 1)
            continue;
        put_packet(&y, p, x.t[i]);
    }
    VqaTsMon *m = new_mon(&r, VQA_TS_CLOCK_WALL);
    feed_wall(m, &r, &y, 0, 13);
    VqaTsMonCounters c;
    vqa_tsmon_get_counters(m, &c);
    vqa_tsmon_reset(m);
    vqa_tsmon_free(&m);
    /* video: the first error at once, the other 24 in one event a second later;
     * the audio PID has its own limit */
    size_t n_cc = count_ev(&r, "stream.ts_cc", VQA_EVENT_INSTANT);
    assert_int_equal(n_cc, 3);
    double sum = 0;
    const Ev *video[2] = { NULL, NULL };
    size_t nv = 0;
    for (size_t i = 0; i < n_cc; i++) {
        const Ev *e = get_ev(&r, "stream.ts_cc", VQA_EVENT_INSTANT, i);
        if (num_field(e, "pid") == VIDEO_PID && nv < 2)
            video[nv++] = e;
        sum += e->value;
    }
    assert_int_equal(nv, 2);
    assert_int_equal(video[0]->value, 1);
    assert_int_equal(video[1]->value, 24);
    assert_true(video[1]->now - video[0]->now >= 1.0 - 1e-9);
    assert_true(video[1]->now - video[0]->now < 1.15);
    assert_int_equal(sum, c.cc);
    assert_int_equal(c.cc, 26);
    mux_free(&x);
    mux_free(&y);
    rec_free(&r);
}

/* ---- 1.3 and 1.5: PAT and PMT ---- */

static void test_pat_missing(void **state)
{
    (void)state;
    Rec r = { 0 };
    /* PATs at 0.9 s and then 2.0 s: absent for 1.1 s */
    Gen g = { .duration_s = 3, .n_drop = 1, .drop = { { 0, 0.95, 1.95, 0 } } };
    VqaTsMonCounters c;
    run_gen(&r, &g, &c);
    assert_int_equal(r.n, 2);
    const Ev *start = get_ev(&r, "stream.ts_pat", VQA_EVENT_START, 0);
    const Ev *end = get_ev(&r, "stream.ts_pat", VQA_EVENT_END, 0);
    /* reported on the first check after 0.9 + 0.5 s, late_s counting from 0.9 s */
    assert_true(start->now > 1.4 - 1e-9 && start->now <= 1.52);
    assert_true(fabs(start->value - (start->now - 0.9)) < 1e-6);
    assert_true(fabs(start->late_s - start->value) < 1e-9);
    assert_true(fabs(num_field(start, "late_s") - start->late_s) < 1e-3);
    assert_int_equal(num_field(start, "pid"), 0);
    assert_true(fabs(end->now - 2.0) < 1e-9);
    assert_true(fabs(end->value - 1.1) < 1e-6);
    assert_int_equal(c.pat, 1);
    rec_free(&r);

    /* 0.4 s without a PAT is within the spec */
    Gen ok = { .duration_s = 3, .n_drop = 1, .drop = { { 0, 0.95, 1.25, 0 } } };
    run_gen(&r, &ok, NULL);
    assert_no_events(&r);
    rec_free(&r);
}

static void test_pat_bad_table_and_scrambled(void **state)
{
    (void)state;
    Rec r = { 0 };
    Mux x;
    mux_init(&x, 188);
    gen_stream(&x, &(Gen){ .duration_s = 1 });
    uint8_t sec[64];
    size_t n = make_pmt(sec, 1, 0, VIDEO_PID, NULL, 0);
    emit_section(&x, 0, sec, n, 1.0); /* a PMT on PID 0 */
    uint8_t payload[184];
    memset(payload, 0xFF, sizeof(payload));
    emit_packet(&x, &(Packet){ .pid = 0, .pusi = 1, .payload = payload, .n = 184, .scrambled = 1,
                               .cc = -1 },
                2.5);
    uint8_t pmt[64];
    const EsSpec es[2] = { { 0x1B, VIDEO_PID, NULL, 0 }, { 0x0F, AUDIO_PID, NULL, 0 } };
    emit_section(&x, PMT_PID, pmt, make_pmt(pmt, 1, 0, VIDEO_PID, es, 2), 2.5);
    VqaTsMon *m = new_mon(&r, VQA_TS_CLOCK_WALL);
    feed_wall(m, &r, &x, 0, 8);
    VqaTsMonCounters c;
    vqa_tsmon_get_counters(m, &c);
    vqa_tsmon_free(&m); /* free reports nothing, even with intervals open */
    assert_int_equal(count_ev(&r, "stream.ts_pat", VQA_EVENT_INSTANT), 2);
    const Ev *bad = get_ev(&r, "stream.ts_pat", VQA_EVENT_INSTANT, 0);
    assert_true(has_text(bad, "\"reason\":\"table_id\""));
    assert_int_equal(num_field(bad, "table_id"), 2);
    const Ev *scr = get_ev(&r, "stream.ts_pat", VQA_EVENT_INSTANT, 1);
    assert_true(has_text(scr, "\"reason\":\"scrambled\""));
    assert_int_equal(c.pat, 3); /* the two instants and the absence from 1.0 s */
    assert_int_equal(count_ev(&r, "stream.ts_pmt", VQA_EVENT_INSTANT), 0);
    /* absent from 0.9 s to 2.5 s; the PAT is still absent when the monitor is freed */
    assert_int_equal(count_ev(&r, "stream.ts_pmt", VQA_EVENT_START), 1);
    assert_int_equal(count_ev(&r, "stream.ts_pmt", VQA_EVENT_END), 1);
    assert_int_equal(count_ev(&r, "stream.ts_pat", VQA_EVENT_START), 1);
    assert_int_equal(count_ev(&r, "stream.ts_pat", VQA_EVENT_END), 0);
    mux_free(&x);
    rec_free(&r);
}

static void test_pmt_missing(void **state)
{
    (void)state;
    Rec r = { 0 };
    Gen g = { .duration_s = 3, .n_drop = 1, .drop = { { PMT_PID, 0.95, 1.75, 0 } } };
    run_gen(&r, &g, NULL);
    assert_int_equal(r.n, 2);
    const Ev *start = get_ev(&r, "stream.ts_pmt", VQA_EVENT_START, 0);
    const Ev *end = get_ev(&r, "stream.ts_pmt", VQA_EVENT_END, 0);
    assert_int_equal(num_field(start, "pid"), PMT_PID);
    assert_int_equal(num_field(start, "program"), 1);
    assert_true(start->value > 0.5 && start->value <= 0.61);
    assert_true(fabs(end->value - 0.9) < 1e-6);
    assert_true(has_text(end, "\"pids\":[256]"));
    rec_free(&r);
}

static void test_pmt_never_sent(void **state)
{
    (void)state;
    /* The PAT announces program 2 on PMT PID 0x200, which never comes. */
    Rec r = { 0 };
    Gen g = { .duration_s = 2, .ghost_program = 1 };
    run_gen(&r, &g, NULL);
    dump_if(&r);
    assert_int_equal(r.n, 2);
    const Ev *start = get_ev(&r, "stream.ts_pmt", VQA_EVENT_START, 0);
    assert_int_equal(num_field(start, "pid"), 0x200);
    assert_int_equal(num_field(start, "program"), 2);
    assert_true(start->now > 0.5 - 1e-9 && start->now <= 0.65);
    const Ev *end = get_ev(&r, "stream.ts_pmt", VQA_EVENT_END, 0);
    assert_true(has_text(end, "\"closed_by\":\"reset\""));
    rec_free(&r);
}

/* ---- 1.6: PIDs ---- */

static void test_pid_stops(void **state)
{
    (void)state;
    Rec r = { 0 };
    /* video stops at 2.0 s (last packet 1.99 s) for good; the stream goes on to 8 s */
    Gen g = { .duration_s = 8, .n_drop = 1, .drop = { { VIDEO_PID, 2.0, 100, 0 } } };
    run_gen(&r, &g, NULL);
    assert_int_equal(r.n, 2);
    const Ev *start = get_ev(&r, "stream.ts_pid", VQA_EVENT_START, 0);
    assert_int_equal(num_field(start, "pid"), VIDEO_PID);
    assert_true(has_text(start, "\"type\":\"video\""));
    assert_int_equal(num_field(start, "stream_type"), 0x1B);
    assert_int_equal(num_field(start, "timeout_s"), 5);
    assert_true(start->now > 6.99 && start->now <= 7.12);
    assert_true(start->value > 5.0 && start->value <= 5.13);
    const Ev *end = get_ev(&r, "stream.ts_pid", VQA_EVENT_END, 0);
    assert_true(has_text(end, "\"closed_by\":\"reset\""));
    rec_free(&r);
}

static void test_pid_timeout_configurable_and_two_pids(void **state)
{
    (void)state;
    Rec r = { 0 };
    Mux x;
    mux_init(&x, 188);
    /* audio gone 1.0-2.5 s, video gone 1.5-3.0 s: one interval for both */
    gen_stream(&x, &(Gen){ .duration_s = 4, .n_drop = 2,
                           .drop = { { AUDIO_PID, 1.0, 2.5, 0 }, { VIDEO_PID, 1.5, 3.0, 0 } } });
    VqaTsMon *m = vqa_tsmon_alloc(on_report, &r);
    VqaTsMonSettings s;
    vqa_tsmon_default_settings(&s);
    s.pid_timeout_s = 0.3;
    assert_int_equal(vqa_tsmon_configure(m, &s), 0);
    feed_wall(m, &r, &x, 0, 21);
    VqaTsMonCounters c;
    vqa_tsmon_get_counters(m, &c);
    vqa_tsmon_reset(m);
    vqa_tsmon_free(&m);
    assert_balanced(&r);
    assert_int_equal(r.n, 2);
    const Ev *start = get_ev(&r, "stream.ts_pid", VQA_EVENT_START, 0);
    const Ev *end = get_ev(&r, "stream.ts_pid", VQA_EVENT_END, 0);
    assert_int_equal(num_field(start, "pid"), AUDIO_PID);
    assert_true(start->now > 1.27 && start->now <= 1.42);
    assert_true(fabs(end->now - 3.0) < 1e-9);
    assert_true(has_text(end, "\"pids\":[258,257]"));
    assert_true(fabs(end->value - (3.0 - 0.98)) < 1e-6); /* from the last audio packet */
    assert_int_equal(c.pid, 2);
    mux_free(&x);
    rec_free(&r);
}

static void test_stall_reported_by_tick(void **state)
{
    (void)state;
    /* The input delivers nothing from 1.0 s to 7.0 s: only ticks come. */
    Rec r = { 0 };
    Mux x;
    mux_init(&x, 188);
    gen_stream(&x, &(Gen){ .duration_s = 8 });
    Mux head, tail;
    mux_init(&head, 188);
    mux_init(&tail, 188);
    for (size_t i = 0; i < x.n; i++)
        if (x.t[i] < 1.0 || x.t[i] >= 7.0)
            put_packet(x.t[i] < 1.0 ? &head : &tail, x.buf + i * 188, x.t[i]);
    VqaTsMon *m = new_mon(&r, VQA_TS_CLOCK_WALL);
    feed_wall(m, &r, &head, 0, 5);
    tick_wall(m, &r, 1.0, 6.95);
    assert_int_equal(count_ev(&r, "stream.ts_pat", VQA_EVENT_START), 1);
    assert_int_equal(count_ev(&r, "stream.ts_pmt", VQA_EVENT_START), 1);
    assert_int_equal(count_ev(&r, "stream.ts_pid", VQA_EVENT_START), 1);
    assert_true(get_ev(&r, "stream.ts_pat", VQA_EVENT_START, 0)->now < 1.52);
    assert_true(get_ev(&r, "stream.ts_pid", VQA_EVENT_START, 0)->now < 6.12);
    assert_int_equal(count_ev(&r, "stream.ts_pat", VQA_EVENT_END), 0);
    feed_wall(m, &r, &tail, 0, 6);
    assert_int_equal(count_ev(&r, "stream.ts_pat", VQA_EVENT_END), 1);
    assert_int_equal(count_ev(&r, "stream.ts_pmt", VQA_EVENT_END), 1);
    assert_int_equal(count_ev(&r, "stream.ts_pid", VQA_EVENT_END), 1);
    assert_true(fabs(get_ev(&r, "stream.ts_pat", VQA_EVENT_END, 0)->value - 6.1) < 1e-6);
    /* the packets of the stall were lost: each PID's counter jumps */
    assert_int_equal(count_ev(&r, "stream.ts_cc", VQA_EVENT_INSTANT), 4);
    vqa_tsmon_reset(m);
    vqa_tsmon_free(&m);
    assert_balanced(&r);
    assert_int_equal(r.n, 10);
    mux_free(&x);
    mux_free(&head);
    mux_free(&tail);
    rec_free(&r);
}

/* ---- chunking, the PCR clock, other inputs ---- */

/* The faults of several tests at once, so that chunking is tried on all of them. */
static void make_faulty_stream(Mux *x)
{
    mux_init(x, 188);
    gen_stream(x, &(Gen){ .duration_s = 9, .n_drop = 4,
                          .drop = { { 0, 1.0, 2.0, 0 }, { PMT_PID, 6.0, 6.8, 0 },
                                    { AUDIO_PID, 2.5, 2.52, 1 }, { VIDEO_PID, 3.0, 100, 0 } } });
    size_t i = packet_at(x, 4.0);
    x->buf[i * 188] = 0x00;
    i = packet_at(x, 5.0);
    for (size_t k = i; k < i + 6; k++)
        x->buf[k * 188] = 0x00;
}

static void events_equal(const Rec *a, const Rec *b)
{
    if (a->n != b->n) {
        dump(a);
        fprintf(stderr, "versus\n");
        dump(b);
    }
    assert_int_equal(a->n, b->n);
    for (size_t i = 0; i < a->n; i++) {
        assert_string_equal(a->ev[i].kind, b->ev[i].kind);
        assert_int_equal(a->ev[i].state, b->ev[i].state);
        assert_true(a->ev[i].value == b->ev[i].value);
        assert_string_equal(a->ev[i].details, b->ev[i].details);
    }
}

static void test_chunking_gives_identical_results(void **state)
{
    (void)state;
    Mux x;
    make_faulty_stream(&x);
    Rec ref = { 0 };
    VqaTsMon *m = new_mon(&ref, VQA_TS_CLOCK_PCR);
    vqa_tsmon_feed(m, x.buf, x.len, 0);
    vqa_tsmon_reset(m);
    vqa_tsmon_free(&m);
    dump_if(&ref);
    assert_balanced(&ref);
    /* every fault is there, on the stream's own clock */
    assert_int_equal(count_ev(&ref, "stream.ts_pat", VQA_EVENT_START), 1);
    assert_int_equal(count_ev(&ref, "stream.ts_pmt", VQA_EVENT_START), 1);
    assert_int_equal(count_ev(&ref, "stream.ts_pid", VQA_EVENT_START), 1);
    assert_int_equal(count_ev(&ref, "stream.ts_sync_loss", VQA_EVENT_START), 1);
    assert_true(count_ev(&ref, "stream.ts_sync_byte", VQA_EVENT_INSTANT) >= 2);
    assert_true(count_ev(&ref, "stream.ts_cc", VQA_EVENT_INSTANT) >= 1);
    assert_true(fabs(get_ev(&ref, "stream.ts_pat", VQA_EVENT_END, 0)->value - 1.1) < 0.02);

    static const size_t chunks[] = { 1, 7, 187, 188, 189, 1316, 65536, 200000, 0, 0 };
    for (size_t k = 0; k < sizeof(chunks) / sizeof(chunks[0]); k++) {
        Rec r = { 0 };
        m = new_mon(&r, VQA_TS_CLOCK_PCR);
        feed_bytes(m, x.buf, x.len, chunks[k], (uint32_t)k);
        vqa_tsmon_reset(m);
        vqa_tsmon_free(&m);
        events_equal(&ref, &r);
        rec_free(&r);
    }
    rec_free(&ref);
    mux_free(&x);
}

static void test_wall_chunking_identical(void **state)
{
    (void)state;
    Mux x;
    make_faulty_stream(&x);
    Rec ref = { 0 };
    monitor_wall(&ref, &x, 188, 0, NULL);
    assert_true(ref.n >= 8);
    for (uint32_t seed = 1; seed <= 3; seed++) {
        Rec r = { 0 };
        monitor_wall(&r, &x, seed == 3 ? 1 : 0, seed, NULL);
        events_equal(&ref, &r);
        rec_free(&r);
    }
    rec_free(&ref);
    mux_free(&x);
}

static void test_pcr_clock_ignores_arrival_time(void **state)
{
    (void)state;
    /* The PCR clock takes no time from the caller: a clean stream fed with
     * wild now_s values, and ticks far in the future, report nothing. */
    Rec r = { 0 };
    Mux x;
    mux_init(&x, 188);
    gen_stream(&x, &(Gen){ .duration_s = 3 });
    VqaTsMon *m = new_mon(&r, VQA_TS_CLOCK_PCR);
    for (size_t i = 0; i < x.n; i++) {
        vqa_tsmon_feed(m, x.buf + i * 188, 188, (double)(i % 7) * 100.0);
        vqa_tsmon_tick(m, 1e6 + (double)i);
    }
    vqa_tsmon_reset(m);
    /* ...and a clock change is refused once bytes came, allowed after a reset */
    VqaTsMonSettings s;
    vqa_tsmon_default_settings(&s);
    s.clock = VQA_TS_CLOCK_WALL;
    vqa_tsmon_feed(m, x.buf, 188, 0);
    assert_int_equal(vqa_tsmon_configure(m, &s), VQA_ERR(EINVAL));
    vqa_tsmon_reset(m);
    assert_int_equal(vqa_tsmon_configure(m, &s), 0);
    vqa_tsmon_free(&m);
    assert_no_events(&r);
    mux_free(&x);
    rec_free(&r);
}

static void test_not_ts_random_bytes(void **state)
{
    (void)state;
    Rec r = { 0 };
    size_t n = 3 << 20;
    uint8_t *junk = malloc(n);
    assert_non_null(junk);
    uint32_t seed = 5;
    for (size_t i = 0; i < n; i++)
        junk[i] = (uint8_t)rng_next(&seed);
    /* sync bytes at 188 spacing, but only four in a row */
    for (size_t i = 0; i < 4; i++)
        junk[1000 + i * 188] = 0x47;
    VqaTsMon *m = new_mon(&r, VQA_TS_CLOCK_WALL);
    feed_bytes(m, junk, n, 0, 3);
    tick_wall(m, &r, 0, 10);
    assert_int_equal(vqa_tsmon_active(m), 0);
    /* given up after probe_bytes: even real TS is ignored until a reset */
    Mux x;
    mux_init(&x, 188);
    gen_stream(&x, &(Gen){ .duration_s = 1, .ghost_program = 1 });
    feed_wall(m, &r, &x, 0, 1);
    assert_int_equal(vqa_tsmon_active(m), 0);
    vqa_tsmon_reset(m);
    feed_wall(m, &r, &x, 0, 1);
    assert_int_equal(vqa_tsmon_active(m), 188);
    assert_int_equal(count_ev(&r, "stream.ts_pmt", VQA_EVENT_START), 1);
    vqa_tsmon_free(&m);
    assert_int_equal(r.n, 1);
    free(junk);
    mux_free(&x);
    rec_free(&r);
}

static void test_configure_rejects_bad_values(void **state)
{
    (void)state;
    Rec r = { 0 };
    VqaTsMon *m = vqa_tsmon_alloc(on_report, &r);
    VqaTsMonSettings s;
    vqa_tsmon_default_settings(&s);
    assert_true(s.pat_timeout_s == 0.5 && s.pmt_timeout_s == 0.5 && s.pid_timeout_s == 5.0);
    s.pat_timeout_s = -1;
    assert_int_equal(vqa_tsmon_configure(m, &s), VQA_ERR(EINVAL));
    vqa_tsmon_default_settings(&s);
    s.pid_timeout_s = NAN;
    assert_int_equal(vqa_tsmon_configure(m, &s), VQA_ERR(EINVAL));
    vqa_tsmon_default_settings(&s);
    s.pmt_timeout_s = 0;
    assert_int_equal(vqa_tsmon_configure(m, &s), VQA_ERR(EINVAL));
    vqa_tsmon_default_settings(&s);
    s.clock = (VqaTsClock)7;
    assert_int_equal(vqa_tsmon_configure(m, &s), VQA_ERR(EINVAL));
    assert_int_equal(vqa_tsmon_configure(NULL, &s), VQA_ERR(EINVAL));
    assert_null(vqa_tsmon_alloc(NULL, NULL));
    /* NULL monitors are ignored */
    vqa_tsmon_feed(NULL, (const uint8_t *)"x", 1, 0);
    vqa_tsmon_tick(NULL, 0);
    vqa_tsmon_reset(NULL);
    assert_int_equal(vqa_tsmon_active(NULL), 0);
    vqa_tsmon_free(&m);
    rec_free(&r);
}

static void test_allocation_failures(void **state)
{
    (void)state;
    Rec r = { 0 };
    vqa_mem_fail_after(0, 0);
    assert_null(vqa_tsmon_alloc(on_report, &r));
    vqa_mem_fail_after(1, 0);
    assert_null(vqa_tsmon_alloc(on_report, &r));
    vqa_mem_fail_after(-1, 0);
    Mux x;
    mux_init(&x, 188);
    gen_stream(&x, &(Gen){ .duration_s = 2 });
    /* Every allocation after the monitor's fails for a while: checks go
     * without the PIDs they cannot track, and nothing breaks. */
    for (long after = 0; after < 8; after++) {
        VqaTsMon *m = vqa_tsmon_alloc(on_report, &r);
        assert_non_null(m);
        vqa_mem_fail_after(after, 1);
        feed_bytes(m, x.buf, x.len / 2, 1316, 0);
        vqa_mem_fail_after(-1, 0);
        feed_bytes(m, x.buf + x.len / 2, x.len - x.len / 2, 1316, 0);
        vqa_tsmon_reset(m);
        vqa_tsmon_free(&m);
        assert_balanced(&r);
        rec_free(&r);
    }
    mux_free(&x);
}

static void test_damaged_streams_stay_consistent(void **state)
{
    (void)state;
    /* Random byte damage (sync bytes, headers, adaptation fields, sections):
     * whatever is reported is well-formed and every start gets its end. */
    Mux x;
    mux_init(&x, 188);
    gen_stream(&x, &(Gen){ .duration_s = 4, .ghost_program = 1 });
    uint8_t *copy = malloc(x.len);
    assert_non_null(copy);
    uint32_t seed = 12345;
    size_t total_events = 0;
    for (int round = 0; round < 24; round++) {
        memcpy(copy, x.buf, x.len);
        size_t every = 50 + rng_next(&seed) % 2000;
        for (size_t i = rng_next(&seed) % every; i < x.len; i += 1 + rng_next(&seed) % every)
            copy[i] = (uint8_t)rng_next(&seed);
        Rec r = { 0 };
        VqaTsMon *m = new_mon(&r, round % 2 ? VQA_TS_CLOCK_PCR : VQA_TS_CLOCK_WALL);
        for (size_t pos = 0; pos < x.len;) {
            size_t k = 1 + rng_next(&seed) % 5000;
            if (k > x.len - pos)
                k = x.len - pos;
            r.now = x.t[pos / 188];
            vqa_tsmon_feed(m, copy + pos, k, r.now);
            pos += k;
        }
        vqa_tsmon_reset(m);
        vqa_tsmon_free(&m);
        assert_balanced(&r);
        total_events += r.n;
        rec_free(&r);
    }
    assert_true(total_events > 24); /* the damage was seen */
    /* The table parsers on arbitrary bytes: they accept or refuse, nothing more. */
    uint8_t sec[VQA_TS_SECTION_MAX];
    for (int round = 0; round < 2000; round++) {
        size_t n = rng_next(&seed) % sizeof(sec);
        for (size_t i = 0; i < n; i++)
            sec[i] = (uint8_t)rng_next(&seed);
        if (n >= 3) { /* a consistent section_length more often than chance */
            sec[0] = round % 2 ? 0x02 : 0x00;
            sec[1] = (uint8_t)(0xB0 | (n - 3) >> 8);
            sec[2] = (uint8_t)(n - 3);
        }
        VqaTsPmt pmt;
        VqaTsPat pat;
        int ok = round % 2 ? vqa_ts_parse_pmt(sec, n, &pmt) : vqa_ts_parse_pat(sec, n, &pat);
        if (ok == 0 && round % 2)
            assert_true(pmt.n_es <= VQA_TS_MAX_ES);
        else if (ok == 0)
            assert_true(pat.n_entries <= VQA_TS_MAX_PROGRAMS);
    }
    free(copy);
    mux_free(&x);
}

/* ---- real streams from ffmpeg ---- */

static char *ffmpeg_ts(const char *name, int cbr, size_t *size)
{
    char *path = media_path(name);
    assert_non_null(path);
    char args[1024];
    snprintf(args, sizeof(args),
             "-f lavfi -i testsrc2=s=160x120:r=25:d=6 -f lavfi -i sine=f=440:sample_rate=48000:d=6 "
             "-c:v libx264 -preset ultrafast -g 25 -pix_fmt yuv420p %s -c:a aac -b:a 64k "
             "-mpegts_pmt_start_pid 0x1000 -mpegts_start_pid 0x100 %s -f mpegts '%s'",
             cbr ? "-b:v 200k -maxrate 200k -bufsize 200k" : "", cbr ? "-muxrate 600k" : "",
             path);
    assert_int_equal(media_ffmpeg(args), 0);
    char *data = media_read_file(path, size);
    assert_non_null(data);
    assert_true(*size > 100000);
    free(path);
    return data;
}

static unsigned pid_of(const uint8_t *p)
{
    return (unsigned)(p[1] & 0x1F) << 8 | p[2];
}

static void test_ffmpeg_clean_pcr_clock(void **state)
{
    (void)state;
    size_t size;
    uint8_t *ts = (uint8_t *)ffmpeg_ts("vbr.ts", 0, &size);
    Rec r = { 0 };
    VqaTsMon *m = new_mon(&r, VQA_TS_CLOCK_PCR);
    feed_bytes(m, ts, size, 0, 17);
    assert_int_equal(vqa_tsmon_active(m), 188);
    vqa_tsmon_reset(m);
    VqaTsMonCounters c;
    vqa_tsmon_get_counters(m, &c);
    vqa_tsmon_free(&m);
    assert_no_events(&r);
    assert_int_equal(c.packets, size / 188);
    free(ts);
    rec_free(&r);
}

static void test_ffmpeg_cbr_wall_clock(void **state)
{
    (void)state;
    /* A constant-rate mux (with null packets) fed at its own rate in 7-packet
     * datagrams, as UDP would bring it. */
    size_t size;
    uint8_t *ts = (uint8_t *)ffmpeg_ts("cbr.ts", 1, &size);
    Rec r = { 0 };
    VqaTsMon *m = new_mon(&r, VQA_TS_CLOCK_WALL);
    for (size_t pos = 0; pos < size; pos += 1316) {
        r.now = (double)pos * 8 / FF_MUXRATE;
        vqa_tsmon_feed(m, ts + pos, size - pos < 1316 ? size - pos : 1316, r.now);
    }
    vqa_tsmon_reset(m);
    assert_no_events(&r);
    /* The same bytes with the datagrams of 2.0-3.0 s held back until 3.0 s
     * (a network stall): the PAT, PMT are late; the PIDs are within 5 s. */
    for (size_t pos = 0; pos < size; pos += 1316) {
        double t = (double)pos * 8 / FF_MUXRATE;
        r.now = t >= 2.0 && t < 3.0 ? 3.0 : t;
        if (t < 2.0 || t >= 3.0)
            vqa_tsmon_tick(m, r.now);
        vqa_tsmon_feed(m, ts + pos, size - pos < 1316 ? size - pos : 1316, r.now);
    }
    vqa_tsmon_reset(m);
    vqa_tsmon_free(&m);
    assert_balanced(&r);
    assert_int_equal(count_ev(&r, "stream.ts_pat", VQA_EVENT_START), 1);
    assert_int_equal(count_ev(&r, "stream.ts_pmt", VQA_EVENT_START), 1);
    assert_int_equal(count_ev(&r, "stream.ts_pid", VQA_EVENT_START), 0);
    assert_int_equal(num_field(get_ev(&r, "stream.ts_pmt", VQA_EVENT_START, 0), "pid"),
                     FF_PMT_PID);
    assert_true(get_ev(&r, "stream.ts_pat", VQA_EVENT_END, 0)->value > 0.9);
    free(ts);
    rec_free(&r);
}

static void test_ffmpeg_faults(void **state)
{
    (void)state;
    size_t size;
    uint8_t *ts = (uint8_t *)ffmpeg_ts("faults.ts", 0, &size);
    size_t n = size / 188, kept = 0;
    /* PAT gone over the middle third; audio gone from 40 % on; one lost video
     * packet at 20 %; a sync loss at 80 %. */
    uint8_t *out = malloc(size);
    assert_non_null(out);
    int lost_video = 0;
    for (size_t i = 0; i < n; i++) {
        const uint8_t *p = ts + i * 188;
        unsigned pid = pid_of(p);
        if (pid == 0 && i > n / 3 && i < 2 * n / 3)
            continue;
        if (pid == FF_AUDIO_PID && i > 2 * n / 5)
            continue;
        if (pid == FF_VIDEO_PID && i > n / 5 && !lost_video && (p[3] & 0x10)) {
            lost_video = 1;
            continue;
        }
        memcpy(out + kept++ * 188, p, 188);
    }
    for (size_t i = 4 * kept / 5; i < 4 * kept / 5 + 3; i++)
        out[i * 188] = 0xB8;
    Rec ref = { 0 };
    VqaTsMonSettings s;
    vqa_tsmon_default_settings(&s);
    s.clock = VQA_TS_CLOCK_PCR;
    s.pid_timeout_s = 1.0;
    for (int run = 0; run < 4; run++) {
        Rec r = { 0 };
        VqaTsMon *m = vqa_tsmon_alloc(on_report, &r);
        assert_int_equal(vqa_tsmon_configure(m, &s), 0);
        feed_bytes(m, out, kept * 188, run == 0 ? 188 * 7 : 0, (uint32_t)run);
        vqa_tsmon_reset(m);
        vqa_tsmon_free(&m);
        if (run == 0) {
            ref = r;
            continue;
        }
        events_equal(&ref, &r);
        rec_free(&r);
    }
    assert_balanced(&ref);
    const Ev *pat = get_ev(&ref, "stream.ts_pat", VQA_EVENT_END, 0);
    assert_true(pat->value > 1.0 && pat->value < 3.0);
    const Ev *pid = get_ev(&ref, "stream.ts_pid", VQA_EVENT_START, 0);
    assert_int_equal(num_field(pid, "pid"), FF_AUDIO_PID);
    assert_true(has_text(pid, "\"type\":\"audio\""));
    assert_int_equal(count_ev(&ref, "stream.ts_sync_loss", VQA_EVENT_START), 1);
    /* the lost video packet, and the PAT's counter when it comes back */
    assert_int_equal(count_ev(&ref, "stream.ts_cc", VQA_EVENT_INSTANT), 2);
    assert_int_equal(num_field(get_ev(&ref, "stream.ts_cc", VQA_EVENT_INSTANT, 0), "pid"),
                     FF_VIDEO_PID);
    assert_int_equal(num_field(get_ev(&ref, "stream.ts_cc", VQA_EVENT_INSTANT, 1), "pid"), 0);
    assert_int_equal(count_ev(&ref, "stream.ts_pmt", VQA_EVENT_START), 0);
    free(out);
    free(ts);
    rec_free(&ref);
}

static void test_ffmpeg_pcr_pid_stops(void **state)
{
    (void)state;
    /* ffmpeg carries the PCR on the video PID. When video stops, the PCR clock
     * goes on with the audio's timestamps, so the 1 s timeout is about 1 s of
     * stream time, not 1 s of the (six times smaller) audio byte rate. The
     * audio comes in PES of about 0.34 s, so the clock moves in such steps and
     * timeouts wait one step longer; the PAT and PMT, every 0.1 s, are not
     * reported late. */
    size_t size;
    uint8_t *ts = (uint8_t *)ffmpeg_ts("pcrstop.ts", 0, &size);
    size_t n = size / 188, kept = 0;
    uint8_t *out = malloc(size);
    assert_non_null(out);
    for (size_t i = 0; i < n; i++)
        if (pid_of(ts + i * 188) != FF_VIDEO_PID || i < n / 3)
            memcpy(out + kept++ * 188, ts + i * 188, 188);
    Rec r = { 0 };
    VqaTsMonSettings s;
    vqa_tsmon_default_settings(&s);
    s.clock = VQA_TS_CLOCK_PCR;
    s.pid_timeout_s = 1.0;
    VqaTsMon *m = vqa_tsmon_alloc(on_report, &r);
    assert_int_equal(vqa_tsmon_configure(m, &s), 0);
    feed_bytes(m, out, kept * 188, 1316, 0);
    vqa_tsmon_reset(m);
    vqa_tsmon_free(&m);
    dump_if(&r);
    assert_balanced(&r);
    assert_int_equal(r.n, 2);
    const Ev *start = get_ev(&r, "stream.ts_pid", VQA_EVENT_START, 0);
    assert_int_equal(num_field(start, "pid"), FF_VIDEO_PID);
    assert_true(start->value > 1.0 && start->value < 2.0);
    /* closed at the end: open from about 2 s of the 6 s clip */
    const Ev *end = get_ev(&r, "stream.ts_pid", VQA_EVENT_END, 0);
    assert_true(end->value > 3.0 && end->value < 5.0);
    free(out);
    free(ts);
    rec_free(&r);
}

static void test_mp4_gives_nothing(void **state)
{
    (void)state;
    char *path = media_path("clip.mp4");
    assert_non_null(path);
    char args[512];
    snprintf(args, sizeof(args),
             "-f lavfi -i testsrc2=s=160x120:r=25:d=4 -f lavfi -i sine=d=4 -c:v libx264 "
             "-preset ultrafast -pix_fmt yuv420p -c:a aac '%s'",
             path);
    assert_int_equal(media_ffmpeg(args), 0);
    size_t size;
    uint8_t *mp4 = (uint8_t *)media_read_file(path, &size);
    assert_non_null(mp4);
    for (int clock = 0; clock < 2; clock++) {
        Rec r = { 0 };
        VqaTsMon *m = new_mon(&r, clock ? VQA_TS_CLOCK_PCR : VQA_TS_CLOCK_WALL);
        for (size_t pos = 0; pos < size; pos += 32768) {
            r.now = (double)pos / 50000.0;
            vqa_tsmon_feed(m, mp4 + pos, size - pos < 32768 ? size - pos : 32768, r.now);
            vqa_tsmon_tick(m, r.now);
        }
        tick_wall(m, &r, r.now, r.now + 10);
        assert_int_equal(vqa_tsmon_active(m), 0);
        vqa_tsmon_reset(m);
        VqaTsMonCounters c;
        vqa_tsmon_get_counters(m, &c);
        vqa_tsmon_free(&m);
        assert_no_events(&r);
        assert_int_equal(c.packets, 0);
        rec_free(&r);
    }
    free(mp4);
    free(path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_crc_check_value),
        cmocka_unit_test(test_section_assembly),
        cmocka_unit_test(test_es_types),
        cmocka_unit_test(test_clean_stream_no_events),
        cmocka_unit_test(test_recognition),
        cmocka_unit_test(test_192_and_204_byte_packets),
        cmocka_unit_test(test_one_bad_sync_byte),
        cmocka_unit_test(test_sync_loss_and_regain),
        cmocka_unit_test(test_resync_after_garbage),
        cmocka_unit_test(test_sync_byte_rate_limit),
        cmocka_unit_test(test_cc_lost_packet),
        cmocka_unit_test(test_cc_duplicates),
        cmocka_unit_test(test_cc_same_counter_new_content),
        cmocka_unit_test(test_cc_exceptions),
        cmocka_unit_test(test_cc_rate_limit_per_pid),
        cmocka_unit_test(test_pat_missing),
        cmocka_unit_test(test_pat_bad_table_and_scrambled),
        cmocka_unit_test(test_pmt_missing),
        cmocka_unit_test(test_pmt_never_sent),
        cmocka_unit_test(test_pid_stops),
        cmocka_unit_test(test_pid_timeout_configurable_and_two_pids),
        cmocka_unit_test(test_stall_reported_by_tick),
        cmocka_unit_test(test_chunking_gives_identical_results),
        cmocka_unit_test(test_wall_chunking_identical),
        cmocka_unit_test(test_pcr_clock_ignores_arrival_time),
        cmocka_unit_test(test_not_ts_random_bytes),
        cmocka_unit_test(test_configure_rejects_bad_values),
        cmocka_unit_test(test_allocation_failures),
        cmocka_unit_test(test_damaged_streams_stay_consistent),
        cmocka_unit_test(test_ffmpeg_clean_pcr_clock),
        cmocka_unit_test(test_ffmpeg_cbr_wall_clock),
        cmocka_unit_test(test_ffmpeg_faults),
        cmocka_unit_test(test_ffmpeg_pcr_pid_stops),
        cmocka_unit_test(test_mp4_gives_nothing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
