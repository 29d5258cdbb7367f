/*
 * Allocation wrappers: every allocation in lib/ goes through these so that
 * tests can inject failures.
 */
#ifndef VQA_LIB_MEM_H
#define VQA_LIB_MEM_H

#include <stddef.h>

void *vqa_malloc(size_t size);
void *vqa_calloc(size_t n, size_t size);
void *vqa_realloc(void *ptr, size_t size);
char *vqa_strdup(const char *s);
/** Like strndup. */
char *vqa_strndup(const char *s, size_t n);
void vqa_free(void *ptr);
/** Free *ptr and set it to NULL. */
void vqa_freep(void *ptr);

/**
 * Test hook: make the allocation `n` calls from now fail (0 = the next one),
 * and every one after it when `sticky`. A negative n turns injection off.
 */
void vqa_mem_fail_after(long n, int sticky);

#endif
