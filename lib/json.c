/*
 * JSON string escaping.
 */
#include <stdio.h>
#include <string.h>

#include "json.h"

/* Length of the well-formed UTF-8 sequence at p, or 0 if it is not one. */
static size_t utf8_sequence(const unsigned char *p)
{
    size_t n;
    unsigned min, cp;
    if (p[0] < 0x80)
        return 1;
    if (p[0] >= 0xC2 && p[0] <= 0xDF) {
        n = 2, min = 0x80, cp = p[0] & 0x1Fu;
    } else if (p[0] >= 0xE0 && p[0] <= 0xEF) {
        n = 3, min = 0x800, cp = p[0] & 0x0Fu;
    } else if (p[0] >= 0xF0 && p[0] <= 0xF4) {
        n = 4, min = 0x10000, cp = p[0] & 0x07u;
    } else {
        return 0;
    }
    for (size_t i = 1; i < n; i++) {
        if ((p[i] & 0xC0) != 0x80)
            return 0; /* also stops at the NUL */
        cp = (cp << 6) | (p[i] & 0x3Fu);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
        return 0;
    return n;
}

size_t vqa_json_escape_char(const char *s, char out[VQA_JSON_ESCAPE_MAX], size_t *consumed)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t n = utf8_sequence(p);
    *consumed = n ? n : 1;
    if (*p == '"' || *p == '\\') {
        out[0] = '\\';
        out[1] = (char)*p;
        return 2;
    }
    if (*p < 0x20 || *p == 0x7F) {
        char esc[VQA_JSON_ESCAPE_MAX];
        snprintf(esc, sizeof(esc), "\\u%04x", *p);
        memcpy(out, esc, 6);
        return 6;
    }
    if (n == 0) {
        memcpy(out, "\\ufffd", 6);
        return 6;
    }
    memcpy(out, p, n);
    return n;
}

size_t vqa_json_quote(const char *src, char *dst, size_t size)
{
    if (size < 3) {
        if (size)
            dst[0] = '\0';
        return 0;
    }
    const char *p = src ? src : "";
    size_t n = 0;
    dst[n++] = '"';
    while (*p) {
        char esc[VQA_JSON_ESCAPE_MAX];
        size_t consumed;
        size_t len = vqa_json_escape_char(p, esc, &consumed);
        if (n + len + 2 > size) /* room for the closing quote and the NUL */
            break;
        memcpy(dst + n, esc, len);
        n += len;
        p += consumed;
    }
    dst[n++] = '"';
    dst[n] = '\0';
    return n;
}
