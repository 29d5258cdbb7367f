/*
 * Worker pool and strands.
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "clocale.h"
#include "mem.h"
#include "pool.h"
#include "vqa/common.h"

struct VqaPool {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    VqaTask *head, *tail;
    int closing;
    int n_threads;
    pthread_t *threads;
    char name[16];
};

/* Which pool, if any, the current thread works for. */
static _Thread_local const VqaPool *current_pool;

static void *worker_main(void *arg)
{
    VqaPool *pool = arg;
    current_pool = pool;
    vqa_thread_use_c_locale();
    pthread_mutex_lock(&pool->lock);
    for (;;) {
        while (!pool->head && !pool->closing)
            pthread_cond_wait(&pool->cond, &pool->lock);
        VqaTask *task = pool->head;
        if (!task)
            break; /* closing and drained */
        pool->head = task->next;
        if (!pool->head)
            pool->tail = NULL;
        pthread_mutex_unlock(&pool->lock);
        task->run(task);
        pthread_mutex_lock(&pool->lock);
    }
    pthread_mutex_unlock(&pool->lock);
    return NULL;
}

int vqa_pool_open(VqaPool **out, int n_threads, const char *name)
{
    if (!out || n_threads < 1 || n_threads > 1024)
        return VQA_ERR(EINVAL);
    VqaPool *pool = vqa_calloc(1, sizeof(*pool));
    if (!pool)
        return VQA_ERR(ENOMEM);
    pool->threads = vqa_calloc((size_t)n_threads, sizeof(*pool->threads));
    if (!pool->threads) {
        vqa_free(pool);
        return VQA_ERR(ENOMEM);
    }
    pthread_mutex_init(&pool->lock, NULL);
    pthread_cond_init(&pool->cond, NULL);
    snprintf(pool->name, sizeof(pool->name), "%s", name ? name : "vqa");
    for (int i = 0; i < n_threads; i++) {
        if (pthread_create(&pool->threads[i], NULL, worker_main, pool)) {
            pool->n_threads = i;
            vqa_pool_close(&pool);
            return VQA_ERR(EAGAIN);
        }
        char tname[16];
        snprintf(tname, sizeof(tname), "%.10s-%d", pool->name, i);
        pthread_setname_np(pool->threads[i], tname);
        pool->n_threads = i + 1;
    }
    *out = pool;
    return 0;
}

int vqa_pool_grow(VqaPool *pool, int n_threads)
{
    pthread_mutex_lock(&pool->lock);
    int err = 0;
    if (n_threads > pool->n_threads && !pool->closing) {
        pthread_t *threads = vqa_realloc(pool->threads, (size_t)n_threads * sizeof(*threads));
        if (threads)
            pool->threads = threads;
        else
            err = VQA_ERR(ENOMEM);
        for (int i = pool->n_threads; !err && i < n_threads; i++) {
            if (pthread_create(&pool->threads[i], NULL, worker_main, pool)) {
                err = VQA_ERR(EAGAIN);
                break;
            }
            char tname[16];
            snprintf(tname, sizeof(tname), "%.10s-%d", pool->name, i);
            pthread_setname_np(pool->threads[i], tname);
            pool->n_threads = i + 1;
        }
    }
    pthread_mutex_unlock(&pool->lock);
    return err;
}

void vqa_pool_close(VqaPool **ppool)
{
    VqaPool *pool = ppool ? *ppool : NULL;
    if (!pool)
        return;
    pthread_mutex_lock(&pool->lock);
    pool->closing = 1;
    pthread_cond_broadcast(&pool->cond);
    pthread_mutex_unlock(&pool->lock);
    for (int i = 0; i < pool->n_threads; i++)
        pthread_join(pool->threads[i], NULL);
    pthread_mutex_destroy(&pool->lock);
    pthread_cond_destroy(&pool->cond);
    vqa_free(pool->threads);
    vqa_free(pool);
    *ppool = NULL;
}

void vqa_pool_submit(VqaPool *pool, VqaTask *task)
{
    task->next = NULL;
    pthread_mutex_lock(&pool->lock);
    if (pool->tail)
        pool->tail->next = task;
    else
        pool->head = task;
    pool->tail = task;
    pthread_cond_signal(&pool->cond);
    pthread_mutex_unlock(&pool->lock);
}

int vqa_pool_threads(VqaPool *pool)
{
    if (!pool)
        return 0;
    pthread_mutex_lock(&pool->lock);
    int n = pool->n_threads;
    pthread_mutex_unlock(&pool->lock);
    return n;
}

int vqa_pool_is_worker(const VqaPool *pool)
{
    return pool && current_pool == pool;
}

/* Strand states: a kick during a run asks for one more run afterwards. */
enum { STRAND_IDLE, STRAND_QUEUED, STRAND_RUNNING, STRAND_RUNNING_KICKED };

static void strand_run(VqaTask *task)
{
    VqaStrand *s = (VqaStrand *)task;
    void *owner = s->owner;
    void (*release)(void *) = s->release;
    atomic_store(&s->state, STRAND_RUNNING);
    s->work(s);
    int expected = STRAND_RUNNING;
    if (!atomic_compare_exchange_strong(&s->state, &expected, STRAND_IDLE)) {
        /* Kicked while running: go round again, through the queue for fairness.
         * The hold taken for this run carries over to the next one. */
        atomic_store(&s->state, STRAND_QUEUED);
        vqa_pool_submit(s->pool, &s->task);
        return;
    }
    /* The strand may be freed once released: touch nothing of it after. */
    if (release)
        release(owner);
}

void vqa_strand_init(VqaStrand *s, VqaPool *pool, VqaStrandWork work, void *owner,
                     void (*hold)(void *), void (*release)(void *))
{
    memset(s, 0, sizeof(*s));
    atomic_init(&s->state, STRAND_IDLE);
    s->task.run = strand_run;
    s->pool = pool;
    s->work = work;
    s->owner = owner;
    s->hold = hold;
    s->release = release;
}

void vqa_strand_kick(VqaStrand *s)
{
    int state = atomic_load(&s->state);
    for (;;) {
        if (state == STRAND_IDLE) {
            /* The caller holds the owner, so a speculative hold cannot be its last. */
            if (s->hold)
                s->hold(s->owner);
            if (atomic_compare_exchange_weak(&s->state, &state, STRAND_QUEUED)) {
                vqa_pool_submit(s->pool, &s->task);
                return;
            }
            if (s->release)
                s->release(s->owner);
        } else if (state == STRAND_RUNNING) {
            if (atomic_compare_exchange_weak(&s->state, &state, STRAND_RUNNING_KICKED))
                return;
        } else {
            return; /* a run is already coming */
        }
    }
}

int vqa_strand_idle(VqaStrand *s)
{
    return atomic_load(&s->state) == STRAND_IDLE;
}
