/*
 * Small JSON helpers for the event details the core writes itself.
 */
#ifndef VQA_LIB_JSON_H
#define VQA_LIB_JSON_H

#include <stddef.h>

/**
 * Write src as a quoted, escaped JSON string into dst (always NUL-terminated
 * and always a complete JSON string: text that does not fit is cut at a
 * character boundary before the closing quote).
 * @return the length written, excluding the NUL.
 */
size_t vqa_json_quote(const char *src, char *dst, size_t size);

#endif
