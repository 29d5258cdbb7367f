/*
 * Fixture: a valid plugin whose init() always fails with VQA_ERR(EIO), for
 * pipeline tests (the instance must be closed and the failure reported).
 */
#include "vqa/plugin.h"

typedef struct InitFailPriv {
    int closed;
} InitFailPriv;

static int init_fail_init(VqaDetectorContext *ctx)
{
    vqa_detector_log(ctx, VQA_LOG_DEBUG, "fixture_init_fail: failing init on purpose");
    return VQA_ERR(EIO);
}

static int init_fail_process(VqaDetectorContext *ctx, const VqaFrame *frame)
{
    (void)ctx, (void)frame;
    return 0;
}

static void init_fail_close(VqaDetectorContext *ctx)
{
    InitFailPriv *p = ctx->priv;
    p->closed = 1;
}

static const VqaDetectorClass init_fail_class = {
    .struct_size = sizeof(VqaDetectorClass),
    .name = "fixture_init_fail",
    .description = "init() fails with EIO",
    .priv_size = sizeof(InitFailPriv),
    .input = { .type = VQA_MEDIA_VIDEO, .pix_fmt = VQA_PIX_GRAY8 },
    .init = init_fail_init,
    .process = init_fail_process,
    .close = init_fail_close,
};

static const VqaDetectorClass *const init_fail_detectors[] = { &init_fail_class, NULL };

static const VqaPluginDesc init_fail_plugin = {
    .struct_size = sizeof(VqaPluginDesc),
    .abi_minor = VQA_PLUGIN_ABI_MINOR,
    .name = "fixture-init-fail",
    .version = "0.1",
    .detectors = init_fail_detectors,
};

VQA_PLUGIN_DEFINE(init_fail_plugin)
