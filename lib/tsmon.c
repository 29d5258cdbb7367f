/*
 * MPEG-TS transport checks, ETSI TR 101 290 priority 1 (see tsmon.h and
 * docs/ts-checks.md).
 *
 * Bytes are copied into one fixed buffer (a slice of at most SLICE_BYTES at a
 * time plus the few bytes a partial packet or a sync search leaves over), so
 * memory does not depend on how the caller chunks its reads, and any chunking
 * gives the same packets in the same order.
 *
 * Per-PID state is allocated only for PIDs that occur or that a table names;
 * a 16 KiB index maps a PID to it.
 */
#include "tsmon.h"

#include <math.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "logging.h"
#include "mem.h"
#include "tsclock.h"
#include "tspsi.h"
#include "vqa/common.h"

#define SLICE_BYTES 65536
#define PROBE_SYNCS 8  /* sync bytes in a row before unknown bytes count as TS */
#define LOCK_SYNCS 5   /* TR 101 290 1.1: correct sync bytes in a row that end a sync loss */
#define MAX_STRIDE 204
#define PROBE_LOOKAHEAD ((PROBE_SYNCS - 1) * MAX_STRIDE + 1)
#define BUF_BYTES (SLICE_BYTES + PROBE_LOOKAHEAD)
#define CHECK_PERIOD_S 0.1
#define TIME_EPSILON_S 1e-6 /* "more than 0.5 s" is not met by rounding */
#define MAX_LISTED_PIDS 16
#define DETAILS_MAX 512

enum SyncState { SYNC_HUNT, SYNC_LOCKED, SYNC_LOST, SYNC_NOT_TS };
enum Role { ROLE_NONE, ROLE_PAT, ROLE_PMT, ROLE_ES };
enum Check { CHECK_PAT, CHECK_PMT, CHECK_PID, N_CHECKS };
/* How a packet continues its PID: as the next one, as an allowed duplicate, or after a loss. */
enum Continuity { CC_NEXT, CC_DUPLICATE, CC_BROKEN };
enum Counter { C_PACKETS, C_SKIPPED, C_SYNC_LOSS, C_SYNC_BYTE, C_PAT, C_CC, C_PMT, C_PID, C_N };

static const unsigned strides[] = { 188, 192, 204 };
static const char *const check_kind[N_CHECKS] = { "stream.ts_pat", "stream.ts_pmt",
                                                  "stream.ts_pid" };
static const int check_counter[N_CHECKS] = { C_PAT, C_PMT, C_PID };

/* Instants of one kind and PID: the first is reported at once, later ones are
 * counted and reported together once report_interval_s has passed. */
typedef struct RateLimit {
    double last_s;
    uint32_t pending;
    int reported;
} RateLimit;

typedef struct PidState {
    uint16_t pid;
    int8_t cc;              /* last continuity_counter of a packet with payload; -1 unknown */
    uint8_t dups;           /* copies of the last packet seen after it */
    uint8_t role;           /* enum Role */
    uint8_t wanted;         /* the role the tables give it (scratch of update_roles) */
    uint8_t es_type;        /* VqaTsEsType, for ROLE_ES */
    uint8_t stream_type;
    uint8_t missing;        /* counted in its check's interval */
    uint16_t program;
    uint64_t payload_hash;  /* of the last packet with payload: tells a duplicate from a loss */
    double ok_s;            /* when its check was last satisfied (or it began to be watched) */
    RateLimit cc_limit;
    uint64_t cc_total;
    unsigned cc_expected, cc_got;
    int cc_duplicate;
    RateLimit table_limit;  /* wrong table_id or scrambling on PID 0 / a PMT PID */
    const char *table_reason;
    unsigned table_id;
    VqaTsSection *section;  /* PAT/PMT PIDs only */
} PidState;

typedef struct Program {
    uint16_t number, pmt_pid;
    uint8_t pat_version, pat_section;
    int pmt_version;        /* -1 before its first PMT */
    size_t n_es;
    VqaTsEs *es;
} Program;

/* One interval per check, open while at least one of its PIDs is missing. */
typedef struct Interval {
    int open;
    double onset_s;
    size_t n_missing;
    uint16_t pids[MAX_LISTED_PIDS]; /* every PID missing during the interval (the first ones) */
    size_t n_pids, more;
} Interval;

struct VqaTsMon {
    VqaTsReport report;
    void *opaque;
    VqaTsMonSettings set;
    int fed;

    uint8_t *buf;
    size_t len;
    int sync;                /* enum SyncState */
    unsigned stride;
    uint64_t probed;         /* bytes searched before recognition */
    uint64_t lost_bytes;     /* bytes skipped during the current sync loss */
    RateLimit sync_limit;
    uint64_t sync_byte_total;
    unsigned last_bad_sync;

    double now_s;            /* the monitor's clock: wall, or stream.now_s */
    int clock_on;            /* timeouts run */
    double next_check_s;
    VqaTsStreamClock stream; /* VQA_TS_CLOCK_PCR */

    uint16_t pid_slot[VQA_TS_PID_COUNT]; /* 1 + index into pids; 0 = none */
    PidState **pids;
    size_t n_pids, cap_pids;
    Program *programs;
    size_t n_programs, cap_programs;
    Interval iv[N_CHECKS];

    _Atomic int active;
    _Atomic uint64_t counters[C_N];
};

/* ---- small helpers ---- */

/* Single writer: a relaxed load and store is enough for readers on other threads. */
static void count_add(VqaTsMon *m, int c, uint64_t n)
{
    uint64_t v = atomic_load_explicit(&m->counters[c], memory_order_relaxed);
    atomic_store_explicit(&m->counters[c], v + n, memory_order_relaxed);
}

VQA_PRINTF(6, 7)
static void emit(VqaTsMon *m, const char *kind, VqaEventState state, VqaSeverity severity,
                 double value, const char *fmt, ...)
{
    char details[DETAILS_MAX];
    va_list args;
    va_start(args, fmt);
    vsnprintf(details, sizeof(details), fmt, args);
    va_end(args);
    m->report(m->opaque, kind, state, severity, value, 0, details);
}

/* n more errors. @return whether to report now. */
static int limit_hit(RateLimit *l, unsigned n, double now_s, double interval_s)
{
    l->pending += n;
    return !l->reported || now_s - l->last_s >= interval_s;
}

static int limit_due(const RateLimit *l, double now_s, double interval_s)
{
    return l->pending && now_s - l->last_s >= interval_s;
}

static uint32_t limit_take(RateLimit *l, double now_s)
{
    uint32_t n = l->pending;
    l->pending = 0;
    l->last_s = now_s;
    l->reported = 1;
    return n;
}

/* Word-wise FNV-style mix: cheap enough for every packet, and a duplicate is a
 * byte-identical payload (ISO/IEC 13818-1 §2.4.3.3). */
static uint64_t payload_hash(const uint8_t *p, size_t n)
{
    uint64_t h = 0xcbf29ce484222325u;
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t w;
        memcpy(&w, p + i, 8);
        h = (h ^ w) * 0x100000001b3u;
        h ^= h >> 29;
    }
    for (; i < n; i++)
        h = (h ^ p[i]) * 0x100000001b3u;
    return h ^ n;
}

static PidState *pid_state(VqaTsMon *m, unsigned pid)
{
    if (m->pid_slot[pid])
        return m->pids[m->pid_slot[pid] - 1];
    if (m->n_pids == m->cap_pids) {
        size_t cap = m->cap_pids ? m->cap_pids * 2 : 16;
        PidState **bigger = vqa_realloc(m->pids, cap * sizeof(*bigger));
        if (!bigger)
            return NULL;
        m->pids = bigger;
        m->cap_pids = cap;
    }
    PidState *st = vqa_calloc(1, sizeof(*st));
    if (!st)
        return NULL; /* the PID goes unchecked; the next packet tries again */
    st->pid = (uint16_t)pid;
    st->cc = -1;
    st->ok_s = m->now_s;
    m->pids[m->n_pids++] = st;
    m->pid_slot[pid] = (uint16_t)m->n_pids;
    return st;
}

static int check_of(const PidState *st)
{
    return st->role == ROLE_PAT ? CHECK_PAT : st->role == ROLE_PMT ? CHECK_PMT : CHECK_PID;
}

static double timeout_of(const VqaTsMon *m, const PidState *st)
{
    switch (st->role) {
    case ROLE_PAT: return m->set.pat_timeout_s;
    case ROLE_PMT: return m->set.pmt_timeout_s;
    case ROLE_ES:
        return st->es_type == VQA_TS_ES_OTHER ? m->set.pid_timeout_other_s : m->set.pid_timeout_s;
    default: return 0;
    }
}

/* ---- missing PAT / PMT / PIDs: one interval per check ---- */

static void pid_list_json(const Interval *iv, char *out, size_t size)
{
    size_t n = (size_t)snprintf(out, size, "[");
    for (size_t i = 0; i < iv->n_pids && n < size; i++)
        n += (size_t)snprintf(out + n, size - n, "%s%u", i ? "," : "", iv->pids[i]);
    if (n < size)
        snprintf(out + n, size - n, "]");
}

static void start_details(const VqaTsMon *m, const PidState *st, double late_s, char *out,
                          size_t size)
{
    double timeout_s = timeout_of(m, st);
    if (st->role == ROLE_PAT)
        snprintf(out, size, "{\"pid\":0,\"table\":\"PAT\",\"late_s\":%.3f,\"timeout_s\":%.3f}",
                 late_s, timeout_s);
    else if (st->role == ROLE_PMT)
        snprintf(out, size,
                 "{\"pid\":%u,\"program\":%u,\"table\":\"PMT\",\"late_s\":%.3f,"
                 "\"timeout_s\":%.3f}",
                 st->pid, st->program, late_s, timeout_s);
    else
        snprintf(out, size,
                 "{\"pid\":%u,\"program\":%u,\"stream_type\":%u,\"type\":\"%s\","
                 "\"late_s\":%.3f,\"timeout_s\":%.3f}",
                 st->pid, st->program, st->stream_type,
                 vqa_ts_es_type_name((VqaTsEsType)st->es_type), late_s, timeout_s);
}

static void set_missing(VqaTsMon *m, PidState *st, double late_s)
{
    int check = check_of(st);
    Interval *iv = &m->iv[check];
    st->missing = 1;
    iv->n_missing++;
    count_add(m, check_counter[check], 1);
    int listed = 0;
    for (size_t i = 0; i < iv->n_pids; i++)
        listed |= iv->pids[i] == st->pid;
    if (!listed && iv->n_pids < MAX_LISTED_PIDS)
        iv->pids[iv->n_pids++] = st->pid;
    else if (!listed)
        iv->more++;
    if (iv->open) {
        vqa_log(m->set.log, VQA_LOG_INFO, "%s: PID %u missing too (%.3f s)", check_kind[check],
                st->pid, late_s);
        return;
    }
    char details[DETAILS_MAX];
    start_details(m, st, late_s, details, sizeof(details));
    iv->open = 1;
    iv->onset_s = st->ok_s;
    m->report(m->opaque, check_kind[check], VQA_EVENT_START, VQA_SEVERITY_ERROR, late_s, late_s,
              details);
}

static void close_interval(VqaTsMon *m, int check, const char *closed_by)
{
    Interval *iv = &m->iv[check];
    char pids[MAX_LISTED_PIDS * 6 + 4], by[48] = "";
    pid_list_json(iv, pids, sizeof(pids));
    if (closed_by)
        snprintf(by, sizeof(by), ",\"closed_by\":\"%s\"", closed_by);
    double lasted_s = m->now_s - iv->onset_s;
    emit(m, check_kind[check], VQA_EVENT_END, VQA_SEVERITY_ERROR, lasted_s,
         "{\"pids\":%s,\"more_pids\":%zu,\"missing_s\":%.3f%s}", pids, iv->more, lasted_s, by);
    memset(iv, 0, sizeof(*iv));
}

/* The PID is back (or no longer watched, when closed_by says why). */
static void clear_missing(VqaTsMon *m, PidState *st, const char *closed_by)
{
    int check = check_of(st);
    Interval *iv = &m->iv[check];
    st->missing = 0;
    if (iv->n_missing && --iv->n_missing == 0)
        close_interval(m, check, closed_by);
}

static void satisfied(VqaTsMon *m, PidState *st)
{
    st->ok_s = m->now_s;
    if (st->missing)
        clear_missing(m, st, NULL);
}

/* ---- rate-limited instants ---- */

static void report_cc(VqaTsMon *m, PidState *st)
{
    uint32_t n = limit_take(&st->cc_limit, m->now_s);
    emit(m, "stream.ts_cc", VQA_EVENT_INSTANT, VQA_SEVERITY_WARNING, n,
         "{\"pid\":%u,\"count\":%u,\"total\":%llu,\"expected\":%u,\"got\":%u,\"reason\":\"%s\"}",
         st->pid, n, (unsigned long long)st->cc_total, st->cc_expected, st->cc_got,
         st->cc_duplicate ? "duplicate" : "discontinuity");
}

static void report_table(VqaTsMon *m, PidState *st)
{
    uint32_t n = limit_take(&st->table_limit, m->now_s);
    emit(m, st->pid == 0 ? "stream.ts_pat" : "stream.ts_pmt", VQA_EVENT_INSTANT,
         VQA_SEVERITY_ERROR, n, "{\"pid\":%u,\"count\":%u,\"reason\":\"%s\",\"table_id\":%u}",
         st->pid, n, st->table_reason, st->table_id);
}

static void report_sync_byte(VqaTsMon *m)
{
    uint32_t n = limit_take(&m->sync_limit, m->now_s);
    emit(m, "stream.ts_sync_byte", VQA_EVENT_INSTANT, VQA_SEVERITY_WARNING, n,
         "{\"count\":%u,\"total\":%llu,\"byte\":%u,\"packet_size\":%u}", n,
         (unsigned long long)m->sync_byte_total, m->last_bad_sync, m->stride);
}

static void cc_error(VqaTsMon *m, PidState *st, unsigned expected, unsigned got, int duplicate)
{
    count_add(m, C_CC, 1);
    st->cc_total++;
    st->cc_expected = expected;
    st->cc_got = got;
    st->cc_duplicate = duplicate;
    if (limit_hit(&st->cc_limit, 1, m->now_s, m->set.report_interval_s))
        report_cc(m, st);
}

static void table_error(VqaTsMon *m, PidState *st, const char *reason, unsigned table_id)
{
    count_add(m, st->role == ROLE_PAT ? C_PAT : C_PMT, 1);
    st->table_reason = reason;
    st->table_id = table_id;
    if (limit_hit(&st->table_limit, 1, m->now_s, m->set.report_interval_s))
        report_table(m, st);
}

static void sync_byte_error(VqaTsMon *m, unsigned byte, unsigned n)
{
    count_add(m, C_SYNC_BYTE, n);
    m->sync_byte_total += n;
    m->last_bad_sync = byte;
    if (limit_hit(&m->sync_limit, n, m->now_s, m->set.report_interval_s))
        report_sync_byte(m);
}

/* ---- timers ---- */

static void check_timers(VqaTsMon *m)
{
    double now = m->now_s, interval = m->set.report_interval_s;
    /* On PES timestamps the stream clock moves in steps, one per PES, each off
     * by the mux's buffering: a timeout waits as long again as the largest step. */
    double slack_s = TIME_EPSILON_S;
    if (m->set.clock == VQA_TS_CLOCK_PCR)
        slack_s += vqa_ts_clock_uncertainty(&m->stream);
    /* on a fixed grid, so that how the bytes are chunked does not move the checks */
    m->next_check_s += CHECK_PERIOD_S;
    if (m->next_check_s <= now)
        m->next_check_s = now + CHECK_PERIOD_S;
    for (size_t i = 0; i < m->n_pids; i++) {
        PidState *st = m->pids[i];
        double timeout_s = timeout_of(m, st);
        if (timeout_s > 0 && !st->missing && now - st->ok_s > timeout_s + slack_s)
            set_missing(m, st, now - st->ok_s);
        if (limit_due(&st->cc_limit, now, interval))
            report_cc(m, st);
        if (limit_due(&st->table_limit, now, interval))
            report_table(m, st);
    }
    if (limit_due(&m->sync_limit, now, interval))
        report_sync_byte(m);
}

/* Timeouts count from here: every watched PID was "seen" now. */
static void clock_start(VqaTsMon *m)
{
    m->clock_on = 1;
    m->next_check_s = m->now_s + CHECK_PERIOD_S;
    for (size_t i = 0; i < m->n_pids; i++)
        m->pids[i]->ok_s = m->now_s;
}

static void wall_time(VqaTsMon *m, double now_s)
{
    if (m->set.clock == VQA_TS_CLOCK_WALL && isfinite(now_s) && now_s > m->now_s)
        m->now_s = now_s;
}

static void stream_timestamp(VqaTsMon *m, unsigned pid, const uint8_t *payload, size_t n)
{
    /* The first step onto timestamps makes up for the slow interpolation
     * since the last PCR: that time was not seen to pass for anything watched. */
    double forgiven_s = vqa_ts_clock_pes(&m->stream, pid, payload, n);
    for (size_t i = 0; forgiven_s > 0 && i < m->n_pids; i++)
        m->pids[i]->ok_s += forgiven_s;
    m->now_s = m->stream.now_s;
}

/* ---- tables ---- */

static Program *find_program(VqaTsMon *m, unsigned number)
{
    for (size_t i = 0; i < m->n_programs; i++)
        if (m->programs[i].number == number)
            return &m->programs[i];
    return NULL;
}

static void mark_wanted(VqaTsMon *m, unsigned pid, int role, const Program *prog,
                        const VqaTsEs *es)
{
    if (pid == 0 || pid == VQA_TS_NULL_PID)
        return;
    PidState *st = pid_state(m, pid);
    if (!st)
        return;
    if (role == ROLE_PMT) {
        st->wanted = ROLE_PMT;
        st->program = prog->number;
        return;
    }
    /* A table PID is not also watched as an elementary stream; of two programs
     * sharing a PID, the one that gives it a timeout wins. */
    if (st->wanted == ROLE_PMT || (st->wanted == ROLE_ES && es->type == VQA_TS_ES_OTHER))
        return;
    st->wanted = ROLE_ES;
    st->es_type = es->type;
    st->stream_type = es->stream_type;
    st->program = prog->number;
}

/* Give every PID the role the PAT and PMTs now give it. A PID that gains a
 * role is watched from now on; one that loses it stops counting as missing. */
static void update_roles(VqaTsMon *m)
{
    for (size_t i = 0; i < m->n_pids; i++)
        m->pids[i]->wanted = m->pids[i]->pid == 0 ? ROLE_PAT : ROLE_NONE;
    for (size_t i = 0; i < m->n_programs; i++)
        mark_wanted(m, m->programs[i].pmt_pid, ROLE_PMT, &m->programs[i], NULL);
    for (size_t i = 0; i < m->n_programs; i++)
        for (size_t j = 0; j < m->programs[i].n_es; j++)
            mark_wanted(m, m->programs[i].es[j].pid, ROLE_ES, &m->programs[i],
                        &m->programs[i].es[j]);
    for (size_t i = 0; i < m->n_pids; i++) {
        PidState *st = m->pids[i];
        if (st->role == st->wanted)
            continue;
        if (st->missing)
            clear_missing(m, st, "table_update");
        st->role = st->wanted;
        st->ok_s = m->now_s;
    }
}

static void drop_program(VqaTsMon *m, size_t i)
{
    vqa_free(m->programs[i].es);
    m->programs[i] = m->programs[--m->n_programs];
}

static int listed_in(const VqaTsPat *pat, unsigned number)
{
    for (size_t i = 0; i < pat->n_entries; i++)
        if (pat->entries[i].program_number == number)
            return 1;
    return 0;
}

static void add_program(VqaTsMon *m, const VqaTsPat *pat, const VqaTsPatEntry *e)
{
    Program *prog = find_program(m, e->program_number);
    if (!prog) {
        if (m->n_programs == m->cap_programs) {
            size_t cap = m->cap_programs ? m->cap_programs * 2 : 4;
            Program *bigger = vqa_realloc(m->programs, cap * sizeof(*bigger));
            if (!bigger)
                return;
            m->programs = bigger;
            m->cap_programs = cap;
        }
        prog = &m->programs[m->n_programs++];
        memset(prog, 0, sizeof(*prog));
        prog->number = e->program_number;
        prog->pmt_version = -1;
    }
    if (prog->pmt_pid != e->pid) { /* moved: its old PMT says nothing about the new PID */
        vqa_freep(&prog->es);
        prog->n_es = 0;
        prog->pmt_version = -1;
        prog->pmt_pid = e->pid;
    }
    prog->pat_version = pat->version;
    prog->pat_section = pat->section_number;
}

static void on_pat(VqaTsMon *m, const uint8_t *section, size_t size)
{
    VqaTsPat pat;
    if (vqa_ts_parse_pat(section, size, &pat) < 0 || !pat.current)
        return;
    /* A section replaces what the same section (or an older version) said;
     * the other sections of a multi-section PAT keep their programs. */
    for (size_t i = m->n_programs; i-- > 0;) {
        const Program *prog = &m->programs[i];
        if ((prog->pat_section == pat.section_number || prog->pat_version != pat.version) &&
            !listed_in(&pat, prog->number))
            drop_program(m, i);
    }
    for (size_t i = 0; i < pat.n_entries; i++)
        if (pat.entries[i].program_number != 0) /* 0 names the network PID (NIT) */
            add_program(m, &pat, &pat.entries[i]);
    update_roles(m);
}

static void on_pmt(VqaTsMon *m, const PidState *st, const uint8_t *section, size_t size)
{
    VqaTsPmt pmt;
    if (vqa_ts_parse_pmt(section, size, &pmt) < 0 || !pmt.current)
        return;
    Program *prog = find_program(m, pmt.program_number);
    if (!prog || prog->pmt_pid != st->pid || prog->pmt_version == pmt.version)
        return;
    VqaTsEs *es = NULL;
    if (pmt.n_es) {
        es = vqa_malloc(pmt.n_es * sizeof(*es));
        if (!es)
            return; /* keep the old list; the next repetition tries again */
        memcpy(es, pmt.es, pmt.n_es * sizeof(*es));
    }
    vqa_free(prog->es);
    prog->es = es;
    prog->n_es = pmt.n_es;
    prog->pmt_version = pmt.version;
    update_roles(m);
}

typedef struct PsiContext {
    VqaTsMon *m;
    PidState *st;
} PsiContext;

static void psi_start(void *opaque, unsigned table_id)
{
    PsiContext *c = opaque;
    if (c->st->role == ROLE_PAT) {
        if (table_id == 0x00)
            satisfied(c->m, c->st);
        else
            table_error(c->m, c->st, "table_id", table_id);
    } else if (c->st->role == ROLE_PMT) {
        /* Private sections (0x40-0xFE) may share a PMT PID; MPEG's own tables may not. */
        if (table_id == 0x02)
            satisfied(c->m, c->st);
        else if (table_id < 0x40)
            table_error(c->m, c->st, "table_id", table_id);
    }
}

static void psi_done(void *opaque, const uint8_t *section, size_t size)
{
    PsiContext *c = opaque;
    if (c->st->role == ROLE_PAT && section[0] == 0x00)
        on_pat(c->m, section, size);
    else if (c->st->role == ROLE_PMT && section[0] == 0x02)
        on_pmt(c->m, c->st, section, size);
}

static void psi_packet(VqaTsMon *m, PidState *st, const uint8_t *p, const uint8_t *payload,
                       size_t n, int continuity)
{
    if (continuity == CC_DUPLICATE)
        return;
    if (p[3] >> 6) { /* transport_scrambling_control */
        table_error(m, st, "scrambled", 0);
        return;
    }
    if (!st->section && !(st->section = vqa_calloc(1, sizeof(*st->section))))
        return;
    PsiContext ctx = { m, st };
    const VqaTsSectionSink sink = { psi_start, psi_done, &ctx };
    vqa_ts_section_push(st->section, payload, n, p[1] & 0x40, continuity == CC_NEXT, &sink);
}

/* ---- packets ---- */

/* TR 101 290 1.4 with its exceptions: packets without payload do not advance
 * the counter and are not checked, one duplicate is allowed, and the
 * discontinuity_indicator announces a legal jump. */
static int check_cc(VqaTsMon *m, PidState *st, const uint8_t *p, int discontinuity,
                    const uint8_t *payload, size_t n)
{
    unsigned cc = p[3] & 0x0F;
    int prev = st->cc;
    uint64_t h = payload_hash(payload, n);
    int same = h == st->payload_hash;
    st->cc = (int8_t)cc;
    st->payload_hash = h;
    if (prev < 0 || discontinuity) {
        st->dups = 0;
        return CC_BROKEN;
    }
    unsigned expected = ((unsigned)prev + 1) & 0x0F;
    if (cc == (unsigned)prev) {
        if (same && st->dups++ == 0)
            return CC_DUPLICATE;
        if (!same)
            st->dups = 0; /* not a copy: a whole cycle of 16 packets is gone */
        cc_error(m, st, expected, cc, same);
        return same ? CC_DUPLICATE : CC_BROKEN;
    }
    st->dups = 0;
    if (cc == expected)
        return CC_NEXT;
    cc_error(m, st, expected, cc, 0);
    return CC_BROKEN;
}

static void process_packet(VqaTsMon *m, const uint8_t *p)
{
    count_add(m, C_PACKETS, 1);
    unsigned pid = (unsigned)(p[1] & 0x1F) << 8 | p[2];
    int afc = (p[3] >> 4) & 3, discontinuity = 0, has_pcr = 0;
    uint64_t pcr = 0;
    size_t offset = 4;
    if (afc & 2) {
        unsigned af = p[4];
        if (af > ((afc & 1) ? 182u : 183u))
            afc = 0; /* a malformed adaptation field: nothing in the packet is trusted */
        if (afc && af >= 1)
            discontinuity = p[5] & 0x80;
        if (afc && af >= 7 && (p[5] & 0x10)) {
            uint64_t base = (uint64_t)p[6] << 25 | (uint64_t)p[7] << 17 | (uint64_t)p[8] << 9 |
                            (uint64_t)p[9] << 1 | p[10] >> 7;
            pcr = base * 300 + ((unsigned)(p[10] & 1) << 8 | p[11]);
            has_pcr = 1;
        }
        offset = 5 + af;
    }
    int tei = p[1] & 0x80, pcr_clock = m->set.clock == VQA_TS_CLOCK_PCR;
    if (pcr_clock) {
        vqa_ts_clock_packet(&m->stream);
        if (has_pcr && !tei && pid != VQA_TS_NULL_PID &&
            vqa_ts_clock_pcr(&m->stream, pid, pcr, discontinuity)) {
            m->now_s = m->stream.now_s;
            clock_start(m);
        }
        m->now_s = m->stream.now_s;
    }
    if (m->clock_on && m->now_s >= m->next_check_s)
        check_timers(m);
    /* Null packets are stuffing; with transport_error_indicator set the header
     * itself may be wrong; control 00 is reserved and decoders discard it. */
    if (pid == VQA_TS_NULL_PID || tei || afc == 0)
        return;
    PidState *st = pid_state(m, pid);
    if (!st)
        return;
    size_t n = (afc & 1) ? VQA_TS_PACKET_SIZE - offset : 0;
    if (pcr_clock && (p[1] & 0x40) && !(p[3] >> 6) && n)
        stream_timestamp(m, pid, p + offset, n);
    int continuity = CC_NEXT;
    if (afc & 1)
        continuity = check_cc(m, st, p, discontinuity, p + offset, n);
    if (st->role == ROLE_ES)
        satisfied(m, st);
    else if ((st->role == ROLE_PAT || st->role == ROLE_PMT) && n)
        psi_packet(m, st, p, p + offset, n, continuity);
}

/* ---- sync ---- */

static int syncs_at(const uint8_t *b, size_t pos, unsigned stride, int count)
{
    for (int i = 0; i < count; i++)
        if (b[pos + (size_t)i * stride] != VQA_TS_SYNC_BYTE)
            return 0;
    return 1;
}

static void recognised(VqaTsMon *m, unsigned stride)
{
    m->stride = stride;
    m->sync = SYNC_LOCKED;
    atomic_store(&m->active, (int)stride);
    vqa_log(m->set.log, VQA_LOG_INFO, "MPEG-TS recognised (%u-byte packets) after %llu bytes",
            stride, (unsigned long long)m->probed);
    PidState *pat = pid_state(m, 0);
    if (pat)
        pat->role = ROLE_PAT;
    if (m->set.clock == VQA_TS_CLOCK_WALL)
        clock_start(m);
}

/* Before recognition: PROBE_SYNCS sync bytes at one of the spacings. */
static size_t scan_probe(VqaTsMon *m, const uint8_t *b, size_t len, size_t pos)
{
    size_t start = pos;
    while (pos + PROBE_LOOKAHEAD <= len) {
        const uint8_t *hit = memchr(b + pos, VQA_TS_SYNC_BYTE, len - PROBE_LOOKAHEAD + 1 - pos);
        if (!hit) {
            pos = len - PROBE_LOOKAHEAD + 1;
            break;
        }
        pos = (size_t)(hit - b);
        for (size_t i = 0; i < sizeof(strides) / sizeof(strides[0]); i++) {
            if (syncs_at(b, pos, strides[i], PROBE_SYNCS)) {
                m->probed += pos - start;
                recognised(m, strides[i]);
                return pos;
            }
        }
        pos++;
    }
    m->probed += pos - start;
    if (m->probed > m->set.probe_bytes) {
        m->sync = SYNC_NOT_TS;
        vqa_log(m->set.log, VQA_LOG_INFO,
                "not MPEG-TS (no sync in the first %llu bytes): transport checks off",
                (unsigned long long)m->probed);
        return len;
    }
    return pos;
}

static void sync_lost(VqaTsMon *m)
{
    count_add(m, C_SYNC_LOSS, 1);
    m->sync = SYNC_LOST;
    m->lost_bytes = 0;
    emit(m, "stream.ts_sync_loss", VQA_EVENT_START, VQA_SEVERITY_ERROR, 2,
         "{\"packet_size\":%u,\"corrupted_sync_bytes\":2}", m->stride);
}

/* Sync is back: what was open on a PID before the loss cannot be continued. */
static void sync_regained(VqaTsMon *m, const char *closed_by)
{
    char by[48] = "";
    if (closed_by)
        snprintf(by, sizeof(by), ",\"closed_by\":\"%s\"", closed_by);
    emit(m, "stream.ts_sync_loss", VQA_EVENT_END, VQA_SEVERITY_ERROR, (double)m->lost_bytes,
         "{\"packet_size\":%u,\"skipped_bytes\":%llu%s}", m->stride,
         (unsigned long long)m->lost_bytes, by);
    m->sync = SYNC_LOCKED;
    for (size_t i = 0; i < m->n_pids; i++) {
        m->pids[i]->cc = -1;
        if (m->pids[i]->section)
            vqa_ts_section_reset(m->pids[i]->section);
    }
}

/* During a sync loss: LOCK_SYNCS sync bytes at the known spacing end it. */
static size_t scan_relock(VqaTsMon *m, const uint8_t *b, size_t len, size_t pos)
{
    size_t start = pos, need = (size_t)(LOCK_SYNCS - 1) * m->stride + 1;
    while (pos + need <= len) {
        const uint8_t *hit = memchr(b + pos, VQA_TS_SYNC_BYTE, len - need + 1 - pos);
        if (!hit) {
            pos = len - need + 1;
            break;
        }
        pos = (size_t)(hit - b);
        if (syncs_at(b, pos, m->stride, LOCK_SYNCS)) {
            m->lost_bytes += pos - start;
            count_add(m, C_SKIPPED, pos - start);
            sync_regained(m, NULL);
            return pos;
        }
        pos++;
    }
    m->lost_bytes += pos - start;
    count_add(m, C_SKIPPED, pos - start);
    return pos;
}

/* In sync: one packet per stride. A single bad sync byte drops its packet;
 * two in a row (TR 101 290 1.1) lose sync. */
static size_t scan_locked(VqaTsMon *m, const uint8_t *b, size_t len, size_t pos)
{
    size_t stride = m->stride;
    while (len - pos >= stride) {
        if (b[pos] == VQA_TS_SYNC_BYTE) {
            process_packet(m, b + pos);
            pos += stride;
            continue;
        }
        if (len - pos < stride + 1)
            break; /* the next sync byte decides */
        if (b[pos + stride] == VQA_TS_SYNC_BYTE) {
            sync_byte_error(m, b[pos], 1);
            count_add(m, C_SKIPPED, stride);
            pos += stride;
            continue;
        }
        sync_byte_error(m, b[pos + stride], 2);
        sync_lost(m);
        count_add(m, C_SKIPPED, 1); /* the search for sync starts at the next byte */
        m->lost_bytes = 1;
        return pos + 1;
    }
    return pos;
}

/* @return how many bytes of b are used up; the rest waits for more data. */
static size_t scan(VqaTsMon *m, const uint8_t *b, size_t len)
{
    size_t pos = 0;
    for (;;) {
        int before = m->sync;
        switch (m->sync) {
        case SYNC_HUNT: pos = scan_probe(m, b, len, pos); break;
        case SYNC_LOST: pos = scan_relock(m, b, len, pos); break;
        case SYNC_LOCKED: pos = scan_locked(m, b, len, pos); break;
        default: return len;
        }
        if (m->sync == before)
            return pos;
    }
}

/* ---- API ---- */

void vqa_tsmon_default_settings(VqaTsMonSettings *s)
{
    memset(s, 0, sizeof(*s));
    s->clock = VQA_TS_CLOCK_WALL;
    s->pat_timeout_s = 0.5;
    s->pmt_timeout_s = 0.5;
    s->pid_timeout_s = 5.0;
    s->pid_timeout_other_s = 0;
    s->report_interval_s = 1.0;
    s->probe_bytes = 1 << 20;
}

VqaTsMon *vqa_tsmon_alloc(VqaTsReport report, void *opaque)
{
    if (!report)
        return NULL;
    VqaTsMon *m = vqa_calloc(1, sizeof(*m));
    if (!m)
        return NULL;
    m->buf = vqa_malloc(BUF_BYTES);
    if (!m->buf) {
        vqa_free(m);
        return NULL;
    }
    m->report = report;
    m->opaque = opaque;
    vqa_ts_clock_init(&m->stream);
    vqa_tsmon_default_settings(&m->set);
    return m;
}

static int timeout_ok(double t, int zero_ok)
{
    return isfinite(t) && (t > 0 || (zero_ok && t == 0));
}

int vqa_tsmon_configure(VqaTsMon *m, const VqaTsMonSettings *s)
{
    if (!m || !s || !timeout_ok(s->pat_timeout_s, 0) || !timeout_ok(s->pmt_timeout_s, 0) ||
        !timeout_ok(s->pid_timeout_s, 0) || !timeout_ok(s->pid_timeout_other_s, 1) ||
        !timeout_ok(s->report_interval_s, 1) ||
        (s->clock != VQA_TS_CLOCK_WALL && s->clock != VQA_TS_CLOCK_PCR))
        return VQA_ERR(EINVAL);
    if (s->clock != m->set.clock && m->fed)
        return VQA_ERR(EINVAL);
    m->set = *s;
    return 0;
}

static void free_tables(VqaTsMon *m)
{
    for (size_t i = 0; i < m->n_pids; i++) {
        vqa_free(m->pids[i]->section);
        vqa_free(m->pids[i]);
    }
    vqa_freep(&m->pids);
    m->n_pids = m->cap_pids = 0;
    memset(m->pid_slot, 0, sizeof(m->pid_slot));
    for (size_t i = 0; i < m->n_programs; i++)
        vqa_free(m->programs[i].es);
    vqa_freep(&m->programs);
    m->n_programs = m->cap_programs = 0;
}

void vqa_tsmon_free(VqaTsMon **pm)
{
    if (!pm || !*pm)
        return;
    VqaTsMon *m = *pm;
    free_tables(m);
    vqa_free(m->buf);
    vqa_free(m);
    *pm = NULL;
}

void vqa_tsmon_feed(VqaTsMon *m, const uint8_t *data, size_t size, double now_s)
{
    if (!m || (!data && size))
        return;
    m->fed = 1;
    wall_time(m, now_s);
    if (m->sync == SYNC_NOT_TS)
        return;
    if (m->clock_on && m->set.clock == VQA_TS_CLOCK_WALL && m->now_s >= m->next_check_s)
        check_timers(m); /* a stall before these bytes shows as the lateness it caused */
    while (size > 0) {
        size_t k = BUF_BYTES - m->len < size ? BUF_BYTES - m->len : size;
        memcpy(m->buf + m->len, data, k);
        m->len += k;
        data += k;
        size -= k;
        size_t used = scan(m, m->buf, m->len);
        memmove(m->buf, m->buf + used, m->len - used);
        m->len -= used;
    }
}

void vqa_tsmon_tick(VqaTsMon *m, double now_s)
{
    if (!m)
        return;
    wall_time(m, now_s);
    if (m->clock_on && m->set.clock == VQA_TS_CLOCK_WALL && m->now_s >= m->next_check_s)
        check_timers(m);
}

int vqa_tsmon_active(const VqaTsMon *m)
{
    return m ? atomic_load(&((VqaTsMon *)m)->active) : 0;
}

void vqa_tsmon_reset(VqaTsMon *m)
{
    if (!m)
        return;
    for (size_t i = 0; i < m->n_pids; i++) {
        PidState *st = m->pids[i];
        if (st->cc_limit.pending)
            report_cc(m, st);
        if (st->table_limit.pending)
            report_table(m, st);
        st->missing = 0;
    }
    if (m->sync_limit.pending)
        report_sync_byte(m);
    if (m->sync == SYNC_LOST)
        sync_regained(m, "reset");
    for (int c = 0; c < N_CHECKS; c++)
        if (m->iv[c].open)
            close_interval(m, c, "reset");
    free_tables(m);
    memset(m->iv, 0, sizeof(m->iv));
    memset(&m->sync_limit, 0, sizeof(m->sync_limit));
    m->fed = 0;
    m->len = 0;
    m->sync = SYNC_HUNT;
    m->stride = 0;
    m->probed = m->lost_bytes = m->sync_byte_total = 0;
    m->now_s = 0;
    m->clock_on = 0;
    vqa_ts_clock_init(&m->stream);
    atomic_store(&m->active, 0);
}

void vqa_tsmon_get_counters(const VqaTsMon *m, VqaTsMonCounters *c)
{
    memset(c, 0, sizeof(*c));
    if (!m)
        return;
    VqaTsMon *mm = (VqaTsMon *)m; /* atomic loads need a non-const object in C11 */
    uint64_t v[C_N];
    for (int i = 0; i < C_N; i++)
        v[i] = atomic_load_explicit(&mm->counters[i], memory_order_relaxed);
    c->packets = v[C_PACKETS];
    c->bytes_skipped = v[C_SKIPPED];
    c->sync_loss = v[C_SYNC_LOSS];
    c->sync_byte = v[C_SYNC_BYTE];
    c->pat = v[C_PAT];
    c->cc = v[C_CC];
    c->pmt = v[C_PMT];
    c->pid = v[C_PID];
}

double vqa_tsmon_position_s(const VqaTsMon *m)
{
    if (m->set.clock != VQA_TS_CLOCK_PCR || !m->stream.on)
        return NAN;
    return m->stream.origin_s + m->stream.now_s;
}
