/*
 * Numbers in the "C" locale whatever the host application chose.
 *
 * libvqa writes numbers into JSON (events, details, sinks, statistics) and
 * reads them from option strings. printf and strtod follow LC_NUMERIC, so a
 * player that called setlocale(LC_ALL, "de_DE.UTF-8") would get "0,5" in
 * its events and have "0.5" refused as an option. POSIX per-thread locales
 * keep the host's choice for the host and give libvqa the C locale:
 *   - threads libvqa starts (workers, I/O, watch, sinks) call
 *     vqa_thread_use_c_locale() once, so plugins running on them format
 *     with '.' too;
 *   - public functions that parse or format on the caller's thread bracket
 *     that work with vqa_c_locale_enter() / vqa_c_locale_leave().
 * If the C locale object cannot be made (out of memory), everything falls
 * back to the thread's current locale.
 */
#ifndef VQA_LIB_CLOCALE_H
#define VQA_LIB_CLOCALE_H

#include <locale.h>

/** The calling thread formats and parses in the C locale from now on. */
void vqa_thread_use_c_locale(void);

/** Switch the calling thread to the C locale; @return what to restore. */
locale_t vqa_c_locale_enter(void);

/** Restore what vqa_c_locale_enter() returned. */
void vqa_c_locale_leave(locale_t previous);

#endif
