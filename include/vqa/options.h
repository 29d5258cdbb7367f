/*
 * libvqa — detector option tables. A detector declares its options in a
 * table; the host fills defaults, parses "key=value", range-checks, and
 * stores the values into the detector's private state before init().
 */
#ifndef VQA_OPTIONS_H
#define VQA_OPTIONS_H

#include "common.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum VqaOptionType {
    VQA_OPT_NONE = 0,   /**< terminates a table (with name == NULL) */
    VQA_OPT_BOOL = 1,   /**< stored as int: 0 or 1; accepts 0/1/true/false/yes/no/on/off */
    VQA_OPT_INT = 2,    /**< stored as int64_t */
    VQA_OPT_DOUBLE = 3, /**< stored as double */
    VQA_OPT_STRING = 4, /**< stored as const char *; host-owned, valid until close() */
} VqaOptionType;

/** VqaOption.flags */
enum {
    VQA_OPT_FLAG_DEPRECATED = 1 << 0, /**< accepted, but setting it logs a warning */
};

/**
 * One option of a detector. Tables end with an entry whose name is NULL.
 * The layout is frozen for ABI major 1.
 */
typedef struct VqaOption {
    const char *name;        /**< key, e.g. "min_duration" */
    const char *help;        /**< one line for `vqa plugins` */
    const char *unit;        /**< "s", "dBFS", "fraction", … or NULL */
    VqaOptionType type;
    size_t offset;           /**< where the value lives in the detector's private state */
    double default_num;      /**< default for BOOL, INT and DOUBLE */
    const char *default_str; /**< default for STRING (may be NULL) */
    double min, max;         /**< inclusive range for INT and DOUBLE */
    uint32_t flags;          /**< VQA_OPT_FLAG_* */
    const void *reserved[2];
} VqaOption;

/** @return "bool", "int", "double", "string" or "none". */
VQA_API const char *vqa_option_type_name(VqaOptionType type);

#ifdef __cplusplus
}
#endif

#endif /* VQA_OPTIONS_H */
