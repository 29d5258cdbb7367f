/*
 * libvqa — version of the API and ABI.
 * This header is the single source of the version: meson reads it.
 */
#ifndef VQA_VERSION_H
#define VQA_VERSION_H

#define VQA_API_VERSION_MAJOR 1 /**< ABI major: the soname and the plugin dir follow it */
#define VQA_API_VERSION_MINOR 2 /**< grows with every API addition */
#define VQA_API_VERSION_PATCH 0

/** The version as one integer: major << 16 | minor << 8 | patch. */
#define VQA_API_VERSION_INT \
    ((VQA_API_VERSION_MAJOR << 16) | (VQA_API_VERSION_MINOR << 8) | VQA_API_VERSION_PATCH)

#endif /* VQA_VERSION_H */
