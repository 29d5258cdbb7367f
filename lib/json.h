/*
 * JSON string escaping, shared by the event writer and the event details the
 * core writes itself.
 */
#ifndef VQA_LIB_JSON_H
#define VQA_LIB_JSON_H

#include <stddef.h>

/** Longest escape of one character ("\ufffd" or "\u001f"), plus a NUL. */
#define VQA_JSON_ESCAPE_MAX 8

/**
 * Escape the character that starts at s (not at its NUL) for a JSON string:
 * quote and backslash get a backslash, control characters become \u00XX,
 * bytes that are not well-formed UTF-8 become \ufffd.
 * @param out receives the escaped bytes (not NUL-terminated)
 * @param consumed receives how many bytes of s were used
 * @return the number of bytes written to out
 */
size_t vqa_json_escape_char(const char *s, char out[VQA_JSON_ESCAPE_MAX], size_t *consumed);

/**
 * Write src as a quoted, escaped JSON string into dst. The result is always
 * NUL-terminated and always a complete JSON string: text that does not fit
 * is cut at a character boundary before the closing quote.
 * @return the length written, excluding the NUL.
 */
size_t vqa_json_quote(const char *src, char *dst, size_t size);

#endif
