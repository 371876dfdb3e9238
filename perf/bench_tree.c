/*
 * bench_tree — cv_tree micro-benchmark: memory per znode and per-operation
 * throughput / latency for create, setData, getData (lookup + Stat + data)
 * and delete, plus snapshot write / read.
 *
 *   bench_tree [--nodes N] [--data BYTES] [--seed S] [--reserve] [--no-snapshot]
 *
 * --reserve pre-sizes the tree's tables (cv_tree_reserve) as a server would at
 * start-up; without it the create figures include the tables' growth.
 * Paths are /bench/dXXX/nYYYYYY, 1000 znodes per directory, as the ZooKeeper
 * comparison the lead runs uses. Latency is measured per operation with
 * clock_gettime (CLOCK_MONOTONIC, ~20 ns of it is the clock itself);
 * throughput is operations over the wall time of the timed loop. Reads and
 * setData visit the znodes in a pseudo-random order (a stride permutation).
 * Memory: cv_tree_memory_bytes (the tree's own accounting) and the growth of
 * resident memory (/proc/self/statm) across building the tree, both divided
 * by N.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bench_common.h"
#include "cv_tree.h"

struct result {
    const char *name;
    uint64_t ops;
    double secs;
    uint32_t p50, p99, p999, max;
};

static void summarize(struct result *r, uint32_t *lat, uint64_t n)
{
    struct percentiles p = percentiles_of(lat, n);
    r->p50 = p.p50;
    r->p99 = p.p99;
    r->p999 = p.p999;
    r->max = p.max;
}

struct sink {
    uint8_t *buf;
    size_t len, cap;
};

static int sink_write(void *ctx, const void *p, size_t n)
{
    struct sink *s = ctx;
    if (s->len + n > s->cap) {
        size_t ncap = s->cap ? s->cap * 2 : (1u << 20);
        while (ncap < s->len + n)
            ncap *= 2;
        uint8_t *nb = realloc(s->buf, ncap);
        if (!nb)
            return -ENOMEM;
        s->buf = nb;
        s->cap = ncap;
    }
    memcpy(s->buf + s->len, p, n);
    s->len += n;
    return 0;
}

static void usage(const char *argv0)
{
    fprintf(stderr, "usage: %s [--nodes N] [--data BYTES] [--seed S] [--reserve] [--no-snapshot]\n",
            argv0);
    exit(2);
}

int main(int argc, char **argv)
{
    uint64_t n = 1000000, seed = 1;
    long dlen = 100;
    int do_snapshot = 1, reserve = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--nodes") && i + 1 < argc)
            n = strtoull(argv[++i], NULL, 10);
        else if (!strcmp(argv[i], "--data") && i + 1 < argc)
            dlen = strtol(argv[++i], NULL, 10);
        else if (!strcmp(argv[i], "--seed") && i + 1 < argc)
            seed = strtoull(argv[++i], NULL, 10);
        else if (!strcmp(argv[i], "--reserve"))
            reserve = 1;
        else if (!strcmp(argv[i], "--no-snapshot"))
            do_snapshot = 0;
        else
            usage(argv[0]);
    }
    if (n == 0 || n > 100000000 || dlen < 0 || dlen > (1 << 20)) {
        fprintf(stderr, "bench_tree: --nodes must be 1..100000000 and --data 0..1048576\n");
        return 2;
    }
    uint64_t ndirs = (n + 999) / 1000;

    /* Everything the benchmark itself needs is allocated and touched before
     * the baseline, so the RSS delta is the tree's. */
    uint32_t *lat = malloc(n * sizeof(*lat));
    uint8_t *data = malloc((size_t)dlen + 1);
    uint8_t *data2 = malloc((size_t)dlen + 1);
    if (!lat || !data || !data2) {
        fprintf(stderr, "bench_tree: out of memory\n");
        return 1;
    }
    memset(lat, 0, n * sizeof(*lat));
    for (long i = 0; i < dlen; i++) {
        data[i] = (uint8_t)('a' + (i * 7 + (long)seed) % 26);
        data2[i] = (uint8_t)('A' + (i * 11 + (long)seed) % 26);
    }
    char path[64];
    struct result res[4];
    memset(res, 0, sizeof(res));

    size_t rss0 = rss_bytes();
    struct cv_tree *t = cv_tree_new();
    if (!t) {
        fprintf(stderr, "bench_tree: cv_tree_new failed\n");
        return 1;
    }
    size_t mem0 = cv_tree_memory_bytes(t);
    if (reserve && cv_tree_reserve(t, n + ndirs + 8) != 0) {
        fprintf(stderr, "bench_tree: cv_tree_reserve failed\n");
        return 1;
    }
    uint32_t acl = cv_tree_acl_open(t);
    int64_t zxid = 0x100000000, ms = 1700000000000;

    /* directories (not timed) */
    if (cv_tree_create(t, "/bench", 6, "", 0, acl, 0, ++zxid, ms, -1, NULL) != 0)
        return 1;
    for (uint64_t d = 0; d < ndirs; d++) {
        size_t l = dir_path(path, d);
        if (cv_tree_create(t, path, l, "", 0, acl, 0, ++zxid, ms, -1, NULL) != 0)
            return 1;
    }

    /* create */
    uint64_t t0 = now_ns();
    for (uint64_t i = 0; i < n; i++) {
        size_t l = node_path(path, i);
        uint64_t a = now_ns();
        int rc = cv_tree_create(t, path, l, data, (int32_t)dlen, acl, 0, ++zxid, ms + (int64_t)i,
                                -1, NULL);
        uint64_t b = now_ns();
        if (rc != 0) {
            fprintf(stderr, "bench_tree: create %s: %d\n", path, rc);
            return 1;
        }
        lat[i] = (uint32_t)(b - a > UINT32_MAX ? UINT32_MAX : b - a);
    }
    res[0] = (struct result){"create", n, (double)(now_ns() - t0) / 1e9, 0, 0, 0, 0};
    summarize(&res[0], lat, n);
    size_t rss1 = rss_bytes();
    size_t mem1 = cv_tree_memory_bytes(t);

    /* setData, random order */
    uint64_t stride = stride_for(n, seed);
    uint64_t idx = 0;
    t0 = now_ns();
    for (uint64_t i = 0; i < n; i++) {
        idx = (idx + stride) % n;
        size_t l = node_path(path, idx);
        uint64_t a = now_ns();
        int rc = cv_tree_set_data(t, path, l, (i & 1) ? data : data2, (int32_t)dlen, 1, ++zxid,
                                  ms + (int64_t)(n + i), NULL);
        uint64_t b = now_ns();
        if (rc != 0) {
            fprintf(stderr, "bench_tree: setData %s: %d\n", path, rc);
            return 1;
        }
        lat[i] = (uint32_t)(b - a > UINT32_MAX ? UINT32_MAX : b - a);
    }
    res[1] = (struct result){"setData", n, (double)(now_ns() - t0) / 1e9, 0, 0, 0, 0};
    summarize(&res[1], lat, n);

    /* getData = lookup + Stat + data, random order */
    uint64_t check = 0;
    stride = stride_for(n, seed + 1);
    t0 = now_ns();
    for (uint64_t i = 0; i < n; i++) {
        idx = (idx + stride) % n;
        size_t l = node_path(path, idx);
        uint64_t a = now_ns();
        const struct cv_znode *z = cv_tree_lookup(t, path, l);
        struct cv_stat st;
        const uint8_t *p = NULL;
        int32_t len = 0;
        if (z) {
            cv_znode_stat(t, z, &st);
            cv_znode_data(t, z, &p, &len);
        }
        uint64_t b = now_ns();
        if (!z || len != dlen) {
            fprintf(stderr, "bench_tree: getData %s failed\n", path);
            return 1;
        }
        check += (uint64_t)st.mzxid + (len ? p[len - 1] : 0);
        lat[i] = (uint32_t)(b - a > UINT32_MAX ? UINT32_MAX : b - a);
    }
    res[2] = (struct result){"getData", n, (double)(now_ns() - t0) / 1e9, 0, 0, 0, 0};
    summarize(&res[2], lat, n);

    /* snapshot */
    double ser_s = 0, de_s = 0;
    size_t snap_bytes = 0;
    int snap_ok = 1;
    if (do_snapshot) {
        struct sink s = {NULL, 0, 0};
        t0 = now_ns();
        int rc = cv_tree_serialize(t, sink_write, &s);
        ser_s = (double)(now_ns() - t0) / 1e9;
        snap_bytes = s.len;
        struct cv_tree *u = NULL;
        if (rc == 0) {
            t0 = now_ns();
            rc = cv_tree_deserialize(&u, s.buf, s.len);
            de_s = (double)(now_ns() - t0) / 1e9;
        }
        snap_ok = rc == 0 && u && cv_tree_digest(u) == cv_tree_digest(t);
        cv_tree_free(u);
        free(s.buf);
    }

    /* delete, random order */
    stride = stride_for(n, seed + 2);
    t0 = now_ns();
    for (uint64_t i = 0; i < n; i++) {
        idx = (idx + stride) % n;
        size_t l = node_path(path, idx);
        uint64_t a = now_ns();
        int rc = cv_tree_delete(t, path, l, ++zxid);
        uint64_t b = now_ns();
        if (rc != 0) {
            fprintf(stderr, "bench_tree: delete %s: %d\n", path, rc);
            return 1;
        }
        lat[i] = (uint32_t)(b - a > UINT32_MAX ? UINT32_MAX : b - a);
    }
    res[3] = (struct result){"delete", n, (double)(now_ns() - t0) / 1e9, 0, 0, 0, 0};
    summarize(&res[3], lat, n);

    double mem_per = (double)(mem1 - mem0) / (double)n;
    double rss_per = (double)(rss1 > rss0 ? rss1 - rss0 : 0) / (double)n;
    printf("corvid cv_tree benchmark: %llu znodes (/bench/dXXX/nYYYYYY, 1000 per dir, %llu dirs), "
           "%ld-byte data%s\n",
           (unsigned long long)n, (unsigned long long)ndirs, dlen,
           reserve ? ", tables reserved up front" : "");
    printf("\nmemory after create (znodes + their directories)\n");
    printf("  %-34s %12.1f MiB  %8.1f B/znode\n", "cv_tree_memory_bytes delta",
           (double)(mem1 - mem0) / 1048576.0, mem_per);
    printf("  %-34s %12.1f MiB  %8.1f B/znode\n", "RSS delta (/proc/self/statm)",
           (double)(rss1 > rss0 ? rss1 - rss0 : 0) / 1048576.0, rss_per);
    printf("  %-34s %12.1f B/znode (path component + data payload)\n", "of which payload",
           (double)dlen + 7.0);
    printf("\n%-10s %12s %14s %9s %9s %9s %10s\n", "op", "ops", "ops/s", "p50 ns", "p99 ns",
           "p999 ns", "max ns");
    for (int i = 0; i < 4; i++)
        printf("%-10s %12llu %14.0f %9u %9u %9u %10u\n", res[i].name,
               (unsigned long long)res[i].ops, (double)res[i].ops / res[i].secs, res[i].p50,
               res[i].p99, res[i].p999, res[i].max);
    if (do_snapshot)
        printf("\nsnapshot: %.1f MiB (%.1f B/znode); serialize %.3f s (%.0f MiB/s); "
               "deserialize %.3f s (%.0f znodes/s)%s\n",
               (double)snap_bytes / 1048576.0, (double)snap_bytes / (double)n, ser_s,
               (double)snap_bytes / 1048576.0 / ser_s, de_s, (double)n / de_s,
               snap_ok ? "" : "  ** ROUND TRIP FAILED **");
    printf("(getData check %llu; latency includes ~20 ns of clock_gettime)\n",
           (unsigned long long)(check & 0xffff));
    cv_tree_free(t);
    free(lat);
    free(data);
    free(data2);
    return snap_ok ? 0 : 1;
}
