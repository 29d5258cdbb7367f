/*
 * The plugin registry: finds plugin modules in the search path, loads them
 * with dlopen, checks every size and version, and keeps normalised copies of
 * their detector classes. Load failures are data, never crashes.
 */
#ifndef VQA_LIB_REGISTRY_H
#define VQA_LIB_REGISTRY_H

#include "vqa/context.h"

typedef struct VqaRegistry VqaRegistry;

/**
 * Build the search path and load every plugin found:
 *   1. host_paths (NULL-terminated, may be NULL), in order;
 *   2. each entry of the colon-separated VQA_PLUGIN_PATH;
 *   3. VQA_PLUGIN_SYSTEM_PATH if set (empty = none), else the installed dir.
 * Each directory is scanned for "*.so" in name order. A plugin whose name, or
 * any of whose detector names, was already registered is SHADOWED.
 * Failures are logged at WARNING with path, status and reason.
 * @return 0, or VQA_ERR(ENOMEM). Finding no plugin at all is not an error.
 */
int vqa_registry_open(VqaRegistry **out, const VqaLogger *log, const char *const *host_paths);
void vqa_registry_close(VqaRegistry **reg);

/** Load one file (used by open; exposed for tests). @return its status. */
VqaPluginStatus vqa_registry_load_file(VqaRegistry *reg, const char *path);

size_t vqa_registry_plugin_count(const VqaRegistry *reg);
const VqaPluginInfo *vqa_registry_plugin(const VqaRegistry *reg, size_t i);
size_t vqa_registry_failure_count(const VqaRegistry *reg);
const VqaPluginFailure *vqa_registry_failure(const VqaRegistry *reg, size_t i);

/** Every detector class of every loaded plugin, in load order. */
size_t vqa_registry_detector_count(const VqaRegistry *reg);
const VqaDetectorClass *vqa_registry_detector(const VqaRegistry *reg, size_t i);
const VqaDetectorClass *vqa_registry_find(const VqaRegistry *reg, const char *name);

/** The installed plugin directory compiled in ($libdir/vqa-1). */
const char *vqa_registry_system_dir(void);

#endif
