/*
 * Version queries.
 */
#include "vqa/common.h"

#define VQA_STR2(x) #x
#define VQA_STR(x) VQA_STR2(x)

const char *vqa_version(void)
{
    return VQA_STR(VQA_API_VERSION_MAJOR) "." VQA_STR(VQA_API_VERSION_MINOR) "." VQA_STR(
        VQA_API_VERSION_PATCH);
}

unsigned vqa_version_api(void)
{
    return VQA_API_VERSION_INT;
}
