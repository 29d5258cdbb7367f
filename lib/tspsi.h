/*
 * MPEG-TS program-specific information (ISO/IEC 13818-1 §2.4.4): section
 * reassembly from packet payloads, the MPEG-2 CRC, and the two tables the
 * transport checks need (PAT and PMT). Internal to lib/ (used by tsmon.c).
 *
 * Pure functions and caller-owned structs: no allocation, no logging.
 * Thread-safety: each VqaTsSection is used by one thread at a time.
 */
#ifndef VQA_LIB_TSPSI_H
#define VQA_LIB_TSPSI_H

#include <stddef.h>
#include <stdint.h>

#define VQA_TS_PACKET_SIZE 188
#define VQA_TS_SYNC_BYTE 0x47
#define VQA_TS_NULL_PID 0x1FFF
#define VQA_TS_PID_COUNT 8192

/* PAT and PMT sections are at most 1024 bytes (section_length <= 1021). */
#define VQA_TS_SECTION_MAX 1024

/** Most programs one PAT section, or elementary streams one PMT, can list. */
#define VQA_TS_MAX_PROGRAMS 256
#define VQA_TS_MAX_ES 256

/** What an elementary stream carries, for the PID timeout that applies. */
typedef enum VqaTsEsType {
    VQA_TS_ES_OTHER = 0,  /**< subtitles, teletext, data, unknown */
    VQA_TS_ES_VIDEO = 1,
    VQA_TS_ES_AUDIO = 2,
} VqaTsEsType;

/** Receives what the assembler finds on one PID. */
typedef struct VqaTsSectionSink {
    /** A section begins with this table_id (called before its bytes are complete). */
    void (*start)(void *opaque, unsigned table_id);
    /** A complete section whose CRC is right (or that has no CRC); valid during the call. */
    void (*done)(void *opaque, const uint8_t *section, size_t size);
    void *opaque;
} VqaTsSectionSink;

/** Reassembles the sections of one PID. Zero-initialise before use. */
typedef struct VqaTsSection {
    uint8_t buf[VQA_TS_SECTION_MAX];
    size_t have;     /* bytes of the current section held */
    int open;        /* a section has begun and is not complete */
} VqaTsSection;

/**
 * Feed one packet's payload (after any adaptation field).
 * @param unit_start   the packet's payload_unit_start_indicator: payload[0] is a pointer_field
 * @param continuous   0 when packets of this PID were lost just before: a partial section is
 *                     dropped rather than completed with unrelated bytes
 */
void vqa_ts_section_push(VqaTsSection *a, const uint8_t *payload, size_t size, int unit_start,
                         int continuous, const VqaTsSectionSink *sink);

/** Drop any partial section. */
void vqa_ts_section_reset(VqaTsSection *a);

/** MPEG-2 CRC-32 (poly 0x04C11DB7, no reflection, init all ones); 0 over a whole good section. */
uint32_t vqa_ts_crc32(const uint8_t *data, size_t size);

typedef struct VqaTsPatEntry {
    uint16_t program_number;  /**< 0 is the network PID (NIT), not a program */
    uint16_t pid;
} VqaTsPatEntry;

typedef struct VqaTsPat {
    uint16_t transport_stream_id;
    uint8_t version;
    uint8_t current;          /**< current_next_indicator */
    uint8_t section_number, last_section_number;
    size_t n_entries;
    VqaTsPatEntry entries[VQA_TS_MAX_PROGRAMS];
} VqaTsPat;

typedef struct VqaTsEs {
    uint16_t pid;
    uint8_t stream_type;
    uint8_t type;             /**< VqaTsEsType */
} VqaTsEs;

typedef struct VqaTsPmt {
    uint16_t program_number;
    uint8_t version;
    uint8_t current;
    uint16_t pcr_pid;
    size_t n_es;
    VqaTsEs es[VQA_TS_MAX_ES];
} VqaTsPmt;

/** Parse a complete PAT section (table_id 0). @return 0, or -1 if it is malformed. */
int vqa_ts_parse_pat(const uint8_t *section, size_t size, VqaTsPat *pat);

/** Parse a complete PMT section (table_id 2). @return 0, or -1 if it is malformed. */
int vqa_ts_parse_pmt(const uint8_t *section, size_t size, VqaTsPmt *pmt);

/**
 * Classify an elementary stream by its stream_type and, for private PES
 * (0x06), its ES_info descriptors (AC-3, E-AC-3, DTS, AAC, registration "Opus"…).
 * @return a VqaTsEsType
 */
VqaTsEsType vqa_ts_es_type(unsigned stream_type, const uint8_t *descriptors, size_t size);

/** @return "video", "audio" or "other". */
const char *vqa_ts_es_type_name(VqaTsEsType type);

#endif
