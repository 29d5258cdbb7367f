/*
 * The scheduler: worker pool and strands.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "pool.h"
#include "vqa/common.h"

typedef struct Counted {
    VqaTask task;
    atomic_int *counter;
} Counted;

static void count_run(VqaTask *task)
{
    atomic_fetch_add(((Counted *)task)->counter, 1);
}

static void test_every_task_runs_before_close(void **state)
{
    (void)state;
    enum { N = 5000 };
    static Counted tasks[N];
    atomic_int counter = 0;
    VqaPool *pool = NULL;
    assert_int_equal(vqa_pool_open(&pool, 3, "t"), 0);
    assert_int_equal(vqa_pool_threads(pool), 3);
    for (int i = 0; i < N; i++) {
        tasks[i] = (Counted){ { count_run, NULL }, &counter };
        vqa_pool_submit(pool, &tasks[i].task);
    }
    vqa_pool_close(&pool);
    assert_null(pool);
    assert_int_equal(atomic_load(&counter), N);
}

static void test_bad_thread_counts_are_refused(void **state)
{
    (void)state;
    VqaPool *pool = NULL;
    assert_int_equal(vqa_pool_open(&pool, 0, "t"), VQA_ERR(EINVAL));
    assert_int_equal(vqa_pool_open(&pool, -3, "t"), VQA_ERR(EINVAL));
    assert_null(pool);
    vqa_pool_close(&pool); /* NULL-safe */
}

/* A strand that consumes a queue of numbers filled by several producers. */
typedef struct Serial {
    VqaStrand strand;
    pthread_mutex_t lock;
    int queue[40000];
    int head, tail;
    atomic_int inside;
    int overlaps;
    int last_seen[4];
    int out_of_order;
    int consumed;
    atomic_int holds;
} Serial;

static void serial_hold(void *owner)
{
    atomic_fetch_add(&((Serial *)owner)->holds, 1);
}

static void serial_release(void *owner)
{
    atomic_fetch_sub(&((Serial *)owner)->holds, 1);
}

static void serial_work(VqaStrand *strand)
{
    Serial *s = strand->owner;
    if (atomic_fetch_add(&s->inside, 1) != 0)
        s->overlaps++;
    for (int batch = 0; batch < 64; batch++) {
        pthread_mutex_lock(&s->lock);
        if (s->head == s->tail) {
            pthread_mutex_unlock(&s->lock);
            break;
        }
        int v = s->queue[s->head++];
        pthread_mutex_unlock(&s->lock);
        int producer = v / 10000, seq = v % 10000;
        if (seq <= s->last_seen[producer])
            s->out_of_order++;
        s->last_seen[producer] = seq;
        s->consumed++;
    }
    pthread_mutex_lock(&s->lock);
    int more = s->head != s->tail;
    pthread_mutex_unlock(&s->lock);
    atomic_fetch_sub(&s->inside, 1);
    if (more)
        vqa_strand_kick(strand);
}

typedef struct Producer {
    Serial *serial;
    int id;
} Producer;

static void *produce(void *arg)
{
    Producer *p = arg;
    for (int i = 1; i <= 9999; i++) {
        pthread_mutex_lock(&p->serial->lock);
        p->serial->queue[p->serial->tail++] = p->id * 10000 + i;
        pthread_mutex_unlock(&p->serial->lock);
        vqa_strand_kick(&p->serial->strand);
    }
    return NULL;
}

static void test_strand_runs_serially_and_in_order(void **state)
{
    (void)state;
    static Serial s;
    memset(&s, 0, sizeof(s));
    pthread_mutex_init(&s.lock, NULL);
    VqaPool *pool = NULL;
    assert_int_equal(vqa_pool_open(&pool, 4, "t"), 0);
    vqa_strand_init(&s.strand, pool, serial_work, &s, serial_hold, serial_release);
    pthread_t threads[4];
    Producer producers[4];
    for (int i = 0; i < 4; i++) {
        producers[i] = (Producer){ &s, i };
        pthread_create(&threads[i], NULL, produce, &producers[i]);
    }
    for (int i = 0; i < 4; i++)
        pthread_join(threads[i], NULL);
    vqa_pool_close(&pool);
    assert_int_equal(s.consumed, 4 * 9999);
    assert_int_equal(s.overlaps, 0);
    assert_int_equal(s.out_of_order, 0);
    assert_true(vqa_strand_idle(&s.strand));
    assert_int_equal(atomic_load(&s.holds), 0); /* every hold released */
    pthread_mutex_destroy(&s.lock);
}

/* Two strands on a two-thread pool must be able to run at the same time. */
typedef struct Meeting {
    VqaStrand a, b;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    int arrived;
    int met;
} Meeting;

static void meet_work(VqaStrand *strand)
{
    Meeting *m = strand->owner;
    struct timespec deadline;
    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_sec += 10; /* a bound so that a broken pool fails instead of hanging */
    pthread_mutex_lock(&m->lock);
    m->arrived++;
    pthread_cond_broadcast(&m->cond);
    while (m->arrived < 2) {
        if (pthread_cond_timedwait(&m->cond, &m->lock, &deadline))
            break;
    }
    if (m->arrived >= 2)
        m->met++;
    pthread_mutex_unlock(&m->lock);
}

static void test_strands_run_in_parallel(void **state)
{
    (void)state;
    static Meeting m;
    memset(&m, 0, sizeof(m));
    pthread_mutex_init(&m.lock, NULL);
    pthread_cond_init(&m.cond, NULL);
    VqaPool *pool = NULL;
    assert_int_equal(vqa_pool_open(&pool, 2, "t"), 0);
    vqa_strand_init(&m.a, pool, meet_work, &m, NULL, NULL);
    vqa_strand_init(&m.b, pool, meet_work, &m, NULL, NULL);
    vqa_strand_kick(&m.a);
    vqa_strand_kick(&m.b);
    vqa_pool_close(&pool);
    assert_int_equal(m.met, 2);
}

static void test_is_worker(void **state)
{
    (void)state;
    VqaPool *pool = NULL;
    assert_int_equal(vqa_pool_open(&pool, 1, "t"), 0);
    assert_false(vqa_pool_is_worker(pool));
    vqa_pool_close(&pool);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_task_runs_before_close),
        cmocka_unit_test(test_bad_thread_counts_are_refused),
        cmocka_unit_test(test_strand_runs_serially_and_in_order),
        cmocka_unit_test(test_strands_run_in_parallel),
        cmocka_unit_test(test_is_worker),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
