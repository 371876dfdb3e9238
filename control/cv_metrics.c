/* The counter registry: definitions, slots and the summing read (see cv_metrics.h). */
#include "cv_metrics.h"

#include <stdlib.h>
#include <string.h>

const struct cv_metric_def cv_metric_defs[CV_M_COUNT] = {
#define CV_M_DEF(id, kind, flags, name, zk, scale, help)                                           \
    [CV_M_##id] = {name, zk, CV_METRIC_##kind, flags, scale, help},
    CV_METRICS(CV_M_DEF)
#undef CV_M_DEF
};

const struct cv_hist_def cv_hist_defs[CV_H_COUNT] = {
#define CV_H_DEF(id, name, help) [CV_H_##id] = {name, help},
    CV_HISTS(CV_H_DEF)
#undef CV_H_DEF
};

struct cv_metrics *cv_metrics_new(void)
{
    struct cv_metrics *m = NULL;
    if (posix_memalign((void **)&m, 64, sizeof *m))
        return NULL;
    memset(m, 0, sizeof *m);
    return m;
}

void cv_metrics_free(struct cv_metrics *m)
{
    free(m);
}

struct cv_metrics_slot *cv_metrics_claim(struct cv_metrics *m, unsigned i, unsigned lcore)
{
    if (i >= CV_METRICS_SLOTS)
        return NULL;
    m->slot[i].lcore = lcore;
    __atomic_store_n(&m->slot[i].used, true, __ATOMIC_RELEASE);
    return &m->slot[i];
}

void cv_hist_publish(struct cv_metrics_slot *s, enum cv_hist_id id, const uint64_t *bucket,
                     unsigned nbuckets, uint64_t count, uint64_t sum_us)
{
    struct cv_hist *h = &s->h[id];
    for (unsigned b = 0; b < CV_HIST_BUCKETS; b++) {
        uint64_t v = b < nbuckets ? bucket[b] : 0;
        if (b == CV_HIST_BUCKETS - 1)
            for (unsigned k = CV_HIST_BUCKETS; k < nbuckets; k++)
                v += bucket[k];
        __atomic_store_n(&h->bucket[b], v, __ATOMIC_RELAXED);
    }
    __atomic_store_n(&h->count, count, __ATOMIC_RELAXED);
    __atomic_store_n(&h->sum_us, sum_us, __ATOMIC_RELAXED);
}

void cv_metrics_read(const struct cv_metrics *m, struct cv_metrics_read *out)
{
    memset(out, 0, sizeof *out);
    for (unsigned i = 0; i < CV_METRICS_SLOTS; i++) {
        const struct cv_metrics_slot *s = &m->slot[i];
        if (!__atomic_load_n(&s->used, __ATOMIC_ACQUIRE))
            continue;
        unsigned k = out->nslots++;
        out->slot[k].lcore = s->lcore;
        for (unsigned id = 0; id < CV_M_COUNT; id++) {
            int64_t v = (int64_t)__atomic_load_n(&s->v[id], __ATOMIC_RELAXED);
            out->slot[k].v[id] = v;
            out->v[id] += v;
        }
        for (unsigned id = 0; id < CV_H_COUNT; id++) {
            const struct cv_hist *h = &s->h[id];
            for (unsigned b = 0; b < CV_HIST_BUCKETS; b++)
                out->h[id].bucket[b] += __atomic_load_n(&h->bucket[b], __ATOMIC_RELAXED);
            out->h[id].count += __atomic_load_n(&h->count, __ATOMIC_RELAXED);
            out->h[id].sum_us += __atomic_load_n(&h->sum_us, __ATOMIC_RELAXED);
        }
    }
}

int cv_metrics_find_zk(const char *key)
{
    for (int id = 0; id < CV_M_COUNT; id++)
        if (cv_metric_defs[id].zk && strcmp(cv_metric_defs[id].zk, key) == 0)
            return id;
    return -1;
}

int cv_metrics_find(const char *name)
{
    for (int id = 0; id < CV_M_COUNT; id++)
        if (strcmp(cv_metric_defs[id].name, name) == 0)
            return id;
    return -1;
}
