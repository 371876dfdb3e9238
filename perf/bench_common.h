/*
 * bench_common.h — what bench_tree and bench_core share: the clock, resident
 * memory, latency percentiles, the /bench/dXXX/nYYYYYY namespace and the
 * stride permutation ZkTreeBench.java uses too (so both sides visit znodes
 * in the same order). Header-only; benchmarks only.
 */
#ifndef CV_BENCH_COMMON_H
#define CV_BENCH_COMMON_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

static inline uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Resident memory of this process (/proc/self/statm), 0 if unreadable. */
static inline size_t rss_bytes(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    unsigned long size = 0, res = 0;
    if (f) {
        if (fscanf(f, "%lu %lu", &size, &res) != 2)
            res = 0;
        fclose(f);
    }
    return (size_t)res * (size_t)sysconf(_SC_PAGESIZE);
}

static inline int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

struct percentiles {
    uint32_t p50, p99, p999, max;
};

/* Sorts lat[0..n) (n > 0) and reads the percentiles off it. */
static inline struct percentiles percentiles_of(uint32_t *lat, uint64_t n)
{
    qsort(lat, n, sizeof(*lat), cmp_u32);
    struct percentiles p = {lat[n / 2], lat[(n * 99) / 100], lat[(n * 999) / 1000], lat[n - 1]};
    return p;
}

/* Znode i is /bench/dXXX/nYYYYYY, 1000 per directory. */
static inline size_t node_path(char *buf, uint64_t i)
{
    return (size_t)sprintf(buf, "/bench/d%03llu/n%06llu", (unsigned long long)(i / 1000),
                           (unsigned long long)i);
}

static inline size_t dir_path(char *buf, uint64_t d)
{
    return (size_t)sprintf(buf, "/bench/d%03llu", (unsigned long long)d);
}

static inline uint64_t gcd(uint64_t a, uint64_t b)
{
    while (b) {
        uint64_t t = a % b;
        a = b;
        b = t;
    }
    return a;
}

/* A stride coprime with n: i -> (i * stride) % n visits every index of
 * [0, n) once (the same in ZkTreeBench). */
static inline uint64_t stride_for(uint64_t n, uint64_t seed)
{
    uint64_t s = (n / 2 + 7919 + seed * 104729) % n;
    if (s == 0)
        s = 1;
    while (gcd(s, n) != 1)
        s++;
    return s;
}

#endif /* CV_BENCH_COMMON_H */
