/*
 * The scheduler's building blocks: a fixed pool of worker threads and
 * strands — serial executors that run on a pool.
 *
 * A strand runs its work function on some worker of its pool, never on two
 * at once, however often it is kicked: this is how each detector instance
 * sees its frames in order while different instances and streams run in
 * parallel, and how a thousand streams share a handful of threads.
 */
#ifndef VQA_LIB_POOL_H
#define VQA_LIB_POOL_H

#include <stdatomic.h>

typedef struct VqaTask {
    void (*run)(struct VqaTask *task);
    struct VqaTask *next;
} VqaTask;

typedef struct VqaPool VqaPool;

/**
 * Start n_threads workers named "<name>-<i>".
 * @return 0, VQA_ERR(EINVAL), VQA_ERR(ENOMEM) or VQA_ERR(EAGAIN).
 */
int vqa_pool_open(VqaPool **out, int n_threads, const char *name);

/** Run every task already queued, then join the workers and free the pool. NULL-safe. */
void vqa_pool_close(VqaPool **pool);

/** Queue a task (FIFO). The task's memory must stay valid until it has run. */
void vqa_pool_submit(VqaPool *pool, VqaTask *task);

int vqa_pool_threads(VqaPool *pool);

/**
 * Add workers until the pool has n_threads (never removes any). The I/O
 * pool grows this way: each live input blocks one reader while it waits
 * for data. @return 0, VQA_ERR(ENOMEM) or VQA_ERR(EAGAIN).
 */
int vqa_pool_grow(VqaPool *pool, int n_threads);

/** @return nonzero when called from one of this pool's workers. */
int vqa_pool_is_worker(const VqaPool *pool);

typedef struct VqaStrand VqaStrand;

/**
 * Does whatever the strand's owner has pending. Runs on a worker of the
 * strand's pool, never concurrently with itself. To keep the pool fair it
 * should do a bounded batch and vqa_strand_kick itself if more is left.
 */
typedef void (*VqaStrandWork)(VqaStrand *strand);

struct VqaStrand {
    VqaTask task;           /* private */
    atomic_int state;       /* private */
    VqaPool *pool;
    VqaStrandWork work;
    void *owner;
    /* Keep the owner alive while a run is queued or in progress. */
    void (*hold)(void *owner);
    void (*release)(void *owner);
};

void vqa_strand_init(VqaStrand *s, VqaPool *pool, VqaStrandWork work, void *owner,
                     void (*hold)(void *), void (*release)(void *));

/** Make sure work runs (again) after this call, on the strand's pool. Thread-safe. */
void vqa_strand_kick(VqaStrand *s);

/** @return nonzero when no run is queued or in progress. */
int vqa_strand_idle(VqaStrand *s);

#endif
