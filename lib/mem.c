/*
 * Allocation wrappers with failure injection for tests.
 */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "mem.h"

/* Countdown to an injected failure: < 0 means off. Tests are single-process,
 * so one atomic is enough; it is not state that changes behaviour otherwise. */
static atomic_long fail_countdown = -1;
static atomic_int fail_sticky = 0;

static int should_fail(void)
{
    long n = atomic_load(&fail_countdown);
    if (n < 0)
        return 0;
    if (n == 0) {
        if (!atomic_load(&fail_sticky))
            atomic_store(&fail_countdown, -1);
        return 1;
    }
    atomic_fetch_sub(&fail_countdown, 1);
    return 0;
}

void vqa_mem_fail_after(long n, int sticky)
{
    atomic_store(&fail_sticky, sticky);
    atomic_store(&fail_countdown, n < 0 ? -1 : n);
}

void *vqa_malloc(size_t size)
{
    return should_fail() ? NULL : malloc(size ? size : 1);
}

void *vqa_calloc(size_t n, size_t size)
{
    return should_fail() ? NULL : calloc(n ? n : 1, size ? size : 1);
}

void *vqa_realloc(void *ptr, size_t size)
{
    return should_fail() ? NULL : realloc(ptr, size ? size : 1);
}

char *vqa_strndup(const char *s, size_t n)
{
    if (!s)
        return NULL;
    size_t len = strnlen(s, n);
    char *d = vqa_malloc(len + 1);
    if (d) {
        memcpy(d, s, len);
        d[len] = '\0';
    }
    return d;
}

char *vqa_strdup(const char *s)
{
    return s ? vqa_strndup(s, strlen(s)) : NULL;
}

void vqa_free(void *ptr)
{
    free(ptr);
}

void vqa_freep(void *ptr)
{
    void **p = ptr;
    free(*p);
    *p = NULL;
}
