/*
 * Fixture: a plugin for ABI major 2. It exports only vqa_plugin_entry_v2, so
 * a major-1 host must report NOT_A_PLUGIN without calling anything.
 */
#include "vqa/plugin.h"

VQA_PLUGIN_EXPORT const void *vqa_plugin_entry_v2(void);

VQA_PLUGIN_EXPORT const void *vqa_plugin_entry_v2(void)
{
    static const int future_desc = 2;
    return &future_desc;
}
