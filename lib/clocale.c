#include "clocale.h"

#include <pthread.h>

static pthread_once_t c_locale_once = PTHREAD_ONCE_INIT;
static locale_t c_locale;

static void make_c_locale(void)
{
    c_locale = newlocale(LC_ALL_MASK, "C", (locale_t)0);
}

/* (locale_t)0 when it could not be made. Lives until the process ends. */
static locale_t get_c_locale(void)
{
    pthread_once(&c_locale_once, make_c_locale);
    return c_locale;
}

void vqa_thread_use_c_locale(void)
{
    locale_t c = get_c_locale();
    if (c)
        uselocale(c);
}

locale_t vqa_c_locale_enter(void)
{
    locale_t c = get_c_locale();
    return c ? uselocale(c) : (locale_t)0;
}

void vqa_c_locale_leave(locale_t previous)
{
    /* uselocale(0) only queries, so a failed enter leaves nothing to undo */
    if (previous)
        uselocale(previous);
}
