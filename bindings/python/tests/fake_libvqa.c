/*
 * A stand-in for libvqa that reports another API version, so the binding's
 * version check can be seen refusing it. FAKE_API_VERSION is set by meson.
 */
#include "vqa/common.h"

const char *vqa_strerror(int err)
{
    (void)err;
    return "fake";
}

const char *vqa_version(void)
{
    return "fake";
}

unsigned vqa_version_api(void)
{
    return FAKE_API_VERSION;
}
