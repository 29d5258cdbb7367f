/*
 * MPEG-TS sections, CRC, PAT and PMT (see tspsi.h).
 */
#include "tspsi.h"

#include <string.h>

#define SECTION_HEADER 3
#define STUFFING 0xFF

uint32_t vqa_ts_crc32(const uint8_t *data, size_t size)
{
    /* Bitwise: sections are small and rare (a few per 100 ms), so a table is not worth it. */
    uint32_t crc = 0xFFFFFFFFu;
    for (size_t i = 0; i < size; i++) {
        crc ^= (uint32_t)data[i] << 24;
        for (int bit = 0; bit < 8; bit++)
            crc = crc & 0x80000000u ? (crc << 1) ^ 0x04C11DB7u : crc << 1;
    }
    return crc;
}

void vqa_ts_section_reset(VqaTsSection *a)
{
    a->open = 0;
    a->have = 0;
}

static size_t section_total(const VqaTsSection *a)
{
    return SECTION_HEADER + (((size_t)(a->buf[1] & 0x0F) << 8) | a->buf[2]);
}

static void section_finish(VqaTsSection *a, const VqaTsSectionSink *sink)
{
    size_t total = a->have;
    int has_crc = a->buf[1] & 0x80; /* section_syntax_indicator: long form ends in CRC_32 */
    a->open = 0;
    if (has_crc && (total < SECTION_HEADER + 4 || vqa_ts_crc32(a->buf, total) != 0))
        return;
    if (sink->done)
        sink->done(sink->opaque, a->buf, total);
}

/* Add bytes to the open section. @return how many were used (the rest is
 * another section or stuffing). */
static size_t section_append(VqaTsSection *a, const uint8_t *p, size_t n,
                             const VqaTsSectionSink *sink)
{
    size_t used = 0;
    if (a->have < SECTION_HEADER) {
        size_t k = SECTION_HEADER - a->have < n ? SECTION_HEADER - a->have : n;
        memcpy(a->buf + a->have, p, k);
        a->have += k;
        used = k;
        if (a->have < SECTION_HEADER)
            return used;
    }
    size_t total = section_total(a);
    if (total > VQA_TS_SECTION_MAX) { /* not a PSI section we know: drop it */
        vqa_ts_section_reset(a);
        return n;
    }
    size_t k = total - a->have < n - used ? total - a->have : n - used;
    memcpy(a->buf + a->have, p + used, k);
    a->have += k;
    used += k;
    if (a->have == total)
        section_finish(a, sink);
    return used;
}

static void section_begin(VqaTsSection *a, unsigned table_id, const VqaTsSectionSink *sink)
{
    a->open = 1;
    a->have = 0;
    if (sink->start)
        sink->start(sink->opaque, table_id);
}

void vqa_ts_section_push(VqaTsSection *a, const uint8_t *payload, size_t size, int unit_start,
                         int continuous, const VqaTsSectionSink *sink)
{
    if (!continuous)
        vqa_ts_section_reset(a);
    if (!unit_start) {
        if (a->open)
            section_append(a, payload, size, sink); /* what follows its end is stuffing */
        return;
    }
    if (size == 0)
        return;
    size_t pointer = payload[0];
    const uint8_t *p = payload + 1;
    size_t n = size - 1;
    if (pointer > n) { /* a broken pointer_field: nothing in this packet can be placed */
        vqa_ts_section_reset(a);
        return;
    }
    if (a->open)
        section_append(a, p, pointer, sink);
    /* A new section starts here, so anything still open was cut short. */
    vqa_ts_section_reset(a);
    p += pointer;
    n -= pointer;
    while (n > 0 && p[0] != STUFFING) {
        section_begin(a, p[0], sink);
        size_t used = section_append(a, p, n, sink);
        if (a->open)
            break; /* continues in the next packet */
        p += used;
        n -= used;
    }
}

/* The long-form header shared by PAT and PMT. @return the end of the table body
 * (where CRC_32 begins), or 0 when the header is malformed. */
static size_t long_header(const uint8_t *s, size_t size, unsigned table_id, size_t min_size)
{
    if (size < min_size || s[0] != table_id || !(s[1] & 0x80))
        return 0;
    size_t total = SECTION_HEADER + (((size_t)(s[1] & 0x0F) << 8) | s[2]);
    if (total != size)
        return 0;
    return size - 4;
}

int vqa_ts_parse_pat(const uint8_t *s, size_t size, VqaTsPat *pat)
{
    size_t end = long_header(s, size, 0x00, 12);
    if (!end || (end - 8) % 4 != 0)
        return -1;
    pat->transport_stream_id = (uint16_t)(s[3] << 8 | s[4]);
    pat->version = (s[5] >> 1) & 0x1F;
    pat->current = s[5] & 1;
    pat->section_number = s[6];
    pat->last_section_number = s[7];
    pat->n_entries = 0;
    for (size_t p = 8; p + 4 <= end && pat->n_entries < VQA_TS_MAX_PROGRAMS; p += 4) {
        VqaTsPatEntry *e = &pat->entries[pat->n_entries++];
        e->program_number = (uint16_t)(s[p] << 8 | s[p + 1]);
        e->pid = (uint16_t)((s[p + 2] & 0x1F) << 8 | s[p + 3]);
    }
    return 0;
}

int vqa_ts_parse_pmt(const uint8_t *s, size_t size, VqaTsPmt *pmt)
{
    size_t end = long_header(s, size, 0x02, 16);
    if (!end)
        return -1;
    pmt->program_number = (uint16_t)(s[3] << 8 | s[4]);
    pmt->version = (s[5] >> 1) & 0x1F;
    pmt->current = s[5] & 1;
    pmt->pcr_pid = (uint16_t)((s[8] & 0x1F) << 8 | s[9]);
    size_t p = 12 + (((size_t)(s[10] & 0x0F) << 8) | s[11]);
    if (p > end)
        return -1;
    pmt->n_es = 0;
    while (p + 5 <= end) {
        size_t info = ((size_t)(s[p + 3] & 0x0F) << 8) | s[p + 4];
        if (p + 5 + info > end)
            return -1;
        if (pmt->n_es < VQA_TS_MAX_ES) {
            VqaTsEs *es = &pmt->es[pmt->n_es++];
            es->stream_type = s[p];
            es->pid = (uint16_t)((s[p + 1] & 0x1F) << 8 | s[p + 2]);
            es->type = (uint8_t)vqa_ts_es_type(s[p], s + p + 5, info);
        }
        p += 5 + info;
    }
    return p == end ? 0 : -1;
}

/* A private PES (stream_type 0x06) says what it carries in its descriptors. */
static VqaTsEsType private_es_type(const uint8_t *d, size_t size)
{
    static const char *const audio_formats[] = { "AC-3", "EAC3", "DTS1", "DTS2", "DTS3", "Opus",
                                                 "mlpa", "AC-4" };
    for (size_t p = 0; p + 2 <= size; p += 2 + (size_t)d[p + 1]) {
        unsigned tag = d[p], len = d[p + 1];
        if (p + 2 + len > size)
            break;
        if (tag == 0x6A || tag == 0x7A || tag == 0x7B || tag == 0x7C) /* AC-3 E-AC-3 DTS AAC */
            return VQA_TS_ES_AUDIO;
        if (tag == 0x05 && len >= 4) { /* registration_descriptor: format_identifier */
            for (size_t i = 0; i < sizeof(audio_formats) / sizeof(audio_formats[0]); i++)
                if (!memcmp(d + p + 2, audio_formats[i], 4))
                    return VQA_TS_ES_AUDIO;
        }
    }
    return VQA_TS_ES_OTHER;
}

VqaTsEsType vqa_ts_es_type(unsigned stream_type, const uint8_t *descriptors, size_t size)
{
    switch (stream_type) {
    case 0x01: case 0x02: case 0x10: case 0x1B: case 0x20: case 0x24: case 0x33: case 0x42:
    case 0xD1: case 0xEA:
        /* MPEG-1/2, MPEG-4 part 2, H.264, MVC, HEVC, VVC, AVS, Dirac, VC-1 */
        return VQA_TS_ES_VIDEO;
    case 0x03: case 0x04: case 0x0F: case 0x11: case 0x1C: case 0x81: case 0x87:
        return VQA_TS_ES_AUDIO; /* MPEG audio, AAC (ADTS, LATM, raw), ATSC AC-3 and E-AC-3 */
    case 0x06:
        return private_es_type(descriptors, size);
    default:
        return VQA_TS_ES_OTHER;
    }
}

const char *vqa_ts_es_type_name(VqaTsEsType type)
{
    switch (type) {
    case VQA_TS_ES_VIDEO: return "video";
    case VQA_TS_ES_AUDIO: return "audio";
    default: return "other";
    }
}
