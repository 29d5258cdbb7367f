/*
 * Detector option tables and detector specs ("freeze:min_duration=1.5,black").
 */
#ifndef VQA_LIB_OPTIONS_H
#define VQA_LIB_OPTIONS_H

#include <stddef.h>

#include "registry.h"
#include "vqa/options.h"

/** Strings the host allocated for STRING options; freed after close(). */
typedef struct VqaOptionStore {
    char **strings;
    size_t count;
} VqaOptionStore;

/**
 * Store every option's default into priv, then apply `args` ("k=v:k=v", may
 * be NULL or empty). Unknown keys, malformed values and values out of
 * [min, max] fail with VQA_ERR(EINVAL) and a one-line reason in msg
 * ("freeze: min_duration=-1 is out of range [0, 3600]").
 * @param who detector name used in messages
 */
int vqa_options_apply(const char *who, const VqaOption *opts, void *priv, const char *args,
                      VqaOptionStore *store, char *msg, size_t msg_size);
void vqa_option_store_free(VqaOptionStore *store);

/** One detector chosen by a spec, with its option text. */
typedef struct VqaSpecItem {
    const VqaDetectorClass *cls;
    char *args; /**< "k=v:k=v" or NULL */
} VqaSpecItem;

typedef struct VqaSpec {
    VqaSpecItem *items;
    size_t count;
} VqaSpec;

/**
 * Parse and fully validate a spec against the registry (each item's options
 * are applied to a scratch state). NULL or "" means every detector found.
 * @return 0; VQA_ERR(EINVAL) (unknown detector, one given twice, bad option)
 *         with the reason in msg; VQA_ERR(ENOENT) if the result is empty.
 */
int vqa_spec_parse(const VqaRegistry *reg, const char *spec, VqaSpec *out,
                   char *msg, size_t msg_size);
void vqa_spec_free(VqaSpec *spec);

#endif
