/*
 * Fixture: a shared module that is no plugin at all (no entry symbol).
 */
#include "vqa/plugin.h"

VQA_PLUGIN_EXPORT int fixture_no_entry_answer(void);

VQA_PLUGIN_EXPORT int fixture_no_entry_answer(void)
{
    return 42;
}
