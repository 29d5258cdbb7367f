/*
 * VqaFrame: reference counting across threads, ownership of the memory the
 * planes point to, and the small format helpers.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "frames.h"
#include "mem.h"

#define THREADS 4
#define ROUNDS 100000

static atomic_int freed_count;

static void counting_free(void *opaque, uint8_t *data)
{
    (void)opaque;
    av_free(data);
    atomic_fetch_add(&freed_count, 1);
}

/* A frame owning one AVBuffer whose free bumps freed_count. */
static VqaFrame *counted_frame(void)
{
    VqaFrame *f = vqa_frame_alloc(0);
    assert_non_null(f);
    uint8_t *mem = av_malloc(64);
    assert_non_null(mem);
    AVBufferRef *buf = av_buffer_create(mem, 64, counting_free, NULL, 0);
    assert_non_null(buf);
    assert_int_equal(vqa_frame_hold_buffer(f, buf), 0);
    f->data[0] = mem;
    return f;
}

static void *ref_unref_loop(void *arg)
{
    const VqaFrame *shared = arg;
    for (int i = 0; i < ROUNDS; i++) {
        const VqaFrame *r = vqa_frame_ref(shared);
        const VqaFrame *r2 = vqa_frame_ref(r);
        vqa_frame_unref(&r);
        vqa_frame_unref(&r2);
        if (r || r2)
            return (void *)1;
    }
    return NULL;
}

static void test_refcount_threads(void **state)
{
    (void)state;
    atomic_store(&freed_count, 0);
    const VqaFrame *f = counted_frame();
    pthread_t th[THREADS];
    for (int i = 0; i < THREADS; i++)
        assert_int_equal(pthread_create(&th[i], NULL, ref_unref_loop, (void *)f), 0);
    for (int i = 0; i < THREADS; i++) {
        void *ret;
        assert_int_equal(pthread_join(th[i], &ret), 0);
        assert_null(ret);
    }
    assert_int_equal(atomic_load(&freed_count), 0);
    assert_int_equal(vqa_frame_refcount(f), 1);
    vqa_frame_unref(&f);
    assert_null(f);
    assert_int_equal(atomic_load(&freed_count), 1);
}

/* Threads that each own their references and drop the last one somewhere. */
static void *drop_refs(void *arg)
{
    const VqaFrame **refs = arg;
    for (int i = 0; i < ROUNDS / 10; i++)
        vqa_frame_unref(&refs[i]);
    return NULL;
}

static void test_last_ref_in_any_thread(void **state)
{
    (void)state;
    atomic_store(&freed_count, 0);
    const VqaFrame *f = counted_frame();
    const VqaFrame **refs = calloc((size_t)THREADS * (ROUNDS / 10), sizeof(*refs));
    assert_non_null(refs);
    for (int i = 0; i < THREADS * (ROUNDS / 10); i++)
        refs[i] = vqa_frame_ref(f);
    vqa_frame_unref(&f); /* the threads now hold every reference */
    pthread_t th[THREADS];
    for (int i = 0; i < THREADS; i++)
        assert_int_equal(pthread_create(&th[i], NULL, drop_refs, refs + i * (ROUNDS / 10)), 0);
    for (int i = 0; i < THREADS; i++)
        assert_int_equal(pthread_join(th[i], NULL), 0);
    assert_int_equal(atomic_load(&freed_count), 1);
    free(refs);
}

static void test_unref_null(void **state)
{
    (void)state;
    vqa_frame_unref(NULL);
    const VqaFrame *none = NULL;
    vqa_frame_unref(&none);
    assert_null(none);
    assert_null(vqa_frame_ref(NULL));
}

static void test_hold_avframe_outlives_source(void **state)
{
    (void)state;
    AVFrame *src = av_frame_alloc();
    assert_non_null(src);
    src->format = AV_PIX_FMT_GRAY8;
    src->width = 16;
    src->height = 8;
    assert_int_equal(av_frame_get_buffer(src, 0), 0);
    memset(src->data[0], 77, (size_t)src->linesize[0] * 8);
    VqaFrame *f = vqa_frame_alloc(0);
    assert_non_null(f);
    const AVFrame *held = vqa_frame_hold_avframe(f, src);
    assert_non_null(held);
    assert_ptr_equal(held->data[0], src->data[0]);
    f->data[0] = held->data[0];
    av_frame_free(&src);
    assert_int_equal(f->data[0][15 + 7 * held->linesize[0]], 77);
    const VqaFrame *cf = f;
    vqa_frame_unref(&cf);
}

static void test_buffer_limit(void **state)
{
    (void)state;
    atomic_store(&freed_count, 0);
    VqaFrame *f = vqa_frame_alloc(0);
    assert_non_null(f);
    for (int i = 0; i <= VQA_FRAME_MAX_BUFFERS; i++) {
        uint8_t *mem = av_malloc(8);
        AVBufferRef *buf = av_buffer_create(mem, 8, counting_free, NULL, 0);
        assert_non_null(buf);
        int err = vqa_frame_hold_buffer(f, buf);
        assert_int_equal(err, i < VQA_FRAME_MAX_BUFFERS ? 0 : VQA_ERR(ENOSPC));
    }
    /* The refused buffer was released at once, the others with the frame. */
    assert_int_equal(atomic_load(&freed_count), 1);
    const VqaFrame *cf = f;
    vqa_frame_unref(&cf);
    assert_int_equal(atomic_load(&freed_count), VQA_FRAME_MAX_BUFFERS + 1);
}

static void test_audio_planes_and_data(void **state)
{
    (void)state;
    VqaFrame *f = vqa_frame_alloc(6);
    assert_non_null(f);
    int n = 0;
    const uint8_t **planes = vqa_frame_audio_planes(f, &n);
    assert_int_equal(n, 6);
    assert_ptr_equal((const void *)planes, (const void *)f->audio_planes);
    uint8_t *data = vqa_frame_alloc_data(f, 6 * 100);
    assert_non_null(data);
    assert_int_equal((uintptr_t)data % 64, 0);
    assert_null(vqa_frame_alloc_data(f, 10)); /* one block per frame */
    for (int i = 0; i < 6; i++) {
        memset(data + i * 100, i, 100);
        planes[i] = data + i * 100;
    }
    assert_int_equal(f->audio_planes[5][99], 5);
    const VqaFrame *cf = f;
    vqa_frame_unref(&cf);

    VqaFrame *v = vqa_frame_alloc(0);
    assert_non_null(v);
    assert_null(v->audio_planes);
    assert_null(vqa_frame_audio_planes(v, &n));
    assert_int_equal(n, 0);
    cf = v;
    vqa_frame_unref(&cf);
    assert_null(vqa_frame_alloc(-1));
}

static void test_alloc_failure(void **state)
{
    (void)state;
    vqa_mem_fail_after(0, 0);
    assert_null(vqa_frame_alloc(2));
    VqaFrame *f = vqa_frame_alloc(0);
    assert_non_null(f);
    vqa_mem_fail_after(0, 0);
    assert_null(vqa_frame_alloc_data(f, 100));
    assert_non_null(vqa_frame_alloc_data(f, 100));
    const VqaFrame *cf = f;
    vqa_frame_unref(&cf);
}

static void test_format_helpers(void **state)
{
    (void)state;
    assert_int_equal(vqa_sample_format_bytes(VQA_SAMPLE_S16), 2);
    assert_int_equal(vqa_sample_format_bytes(VQA_SAMPLE_S16P), 2);
    assert_int_equal(vqa_sample_format_bytes(VQA_SAMPLE_S32), 4);
    assert_int_equal(vqa_sample_format_bytes(VQA_SAMPLE_FLTP), 4);
    assert_int_equal(vqa_sample_format_bytes(VQA_SAMPLE_NONE), 0);
    assert_int_equal(vqa_sample_format_bytes((VqaSampleFormat)99), 0);
    assert_false(vqa_sample_format_is_planar(VQA_SAMPLE_S16));
    assert_false(vqa_sample_format_is_planar(VQA_SAMPLE_FLT));
    assert_true(vqa_sample_format_is_planar(VQA_SAMPLE_S32P));
    assert_true(vqa_sample_format_is_planar(VQA_SAMPLE_FLTP));
    assert_false(vqa_sample_format_is_planar(VQA_SAMPLE_NONE));

    assert_string_equal(vqa_pixel_format_name(VQA_PIX_GRAY8), "gray8");
    assert_string_equal(vqa_pixel_format_name(VQA_PIX_YUV420P), "yuv420p");
    assert_string_equal(vqa_pixel_format_name(VQA_PIX_NV12), "nv12");
    assert_string_equal(vqa_pixel_format_name(VQA_PIX_RGBA), "rgba");
    assert_string_equal(vqa_pixel_format_name(VQA_PIX_NONE), "none");
    assert_string_equal(vqa_pixel_format_name((VqaPixelFormat)42), "none");
    assert_string_equal(vqa_sample_format_name(VQA_SAMPLE_S16), "s16");
    assert_string_equal(vqa_sample_format_name(VQA_SAMPLE_FLTP), "fltp");
    assert_string_equal(vqa_sample_format_name(VQA_SAMPLE_NONE), "none");
    assert_string_equal(vqa_sample_format_name((VqaSampleFormat)-3), "none");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_refcount_threads),
        cmocka_unit_test(test_last_ref_in_any_thread),
        cmocka_unit_test(test_unref_null),
        cmocka_unit_test(test_hold_avframe_outlives_source),
        cmocka_unit_test(test_buffer_limit),
        cmocka_unit_test(test_audio_planes_and_data),
        cmocka_unit_test(test_alloc_failure),
        cmocka_unit_test(test_format_helpers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
