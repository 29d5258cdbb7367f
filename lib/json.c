/*
 * JSON string quoting.
 */
#include <stdio.h>
#include <string.h>

#include "json.h"

/* Bytes in the UTF-8 sequence a lead byte starts (1 for ASCII and stray bytes). */
static size_t utf8_length(unsigned char lead)
{
    if (lead >= 0xF0)
        return 4;
    if (lead >= 0xE0)
        return 3;
    if (lead >= 0xC0)
        return 2;
    return 1;
}

size_t vqa_json_quote(const char *src, char *dst, size_t size)
{
    if (size < 3) {
        if (size)
            dst[0] = '\0';
        return 0;
    }
    const unsigned char *p = (const unsigned char *)(src ? src : "");
    size_t n = 0;
    dst[n++] = '"';
    while (*p) {
        char esc[8];
        size_t len, consumed = 1;
        if (*p == '"' || *p == '\\') {
            esc[0] = '\\';
            esc[1] = (char)*p;
            len = 2;
        } else if (*p < 0x20) {
            len = (size_t)snprintf(esc, sizeof(esc), "\\u%04x", *p);
        } else {
            len = consumed = strnlen((const char *)p, utf8_length(*p));
            memcpy(esc, p, len);
        }
        /* Keep room for the closing quote and the NUL; never split a sequence. */
        if (n + len + 2 > size)
            break;
        memcpy(dst + n, esc, len);
        n += len;
        p += consumed;
    }
    dst[n++] = '"';
    dst[n] = '\0';
    return n;
}
