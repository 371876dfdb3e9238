/*
 * bench_core — cv_core micro-benchmark: the pure write path (client request
 * -> cv_core_prepare -> cv_core_apply), apply alone (transaction bytes ->
 * cv_core_apply, as a follower or a log replay does) and the read path
 * (cv_core_read), on one core holding N znodes, plus memory per znode.
 *
 *   bench_core [--nodes N] [--data BYTES] [--seed S] [--reserve] [--json]
 *
 * One cv_core, one session (createSession prepared and applied first), then
 *   (a) create  N znodes /bench/dXXX/nYYYYYY (1000 per directory, directories
 *       created first and not timed) with BYTES (default 100) of data, world
 *       ACL, in index order;
 *   (b) setData every znode (version -1) in a pseudo-random order;
 *   (c) getData every znode in another pseudo-random order.
 * Each operation is a real client request: its frame is encoded up front
 * (the client's work, not timed); the timed region is cv_proto_decode_request
 * of that frame + cv_core_prepare + cv_core_apply with a sink that receives
 * the reply frame (writes), or decode + cv_core_read into a reply buffer
 * (reads). Prepare writes the transaction straight into a log buffer; after
 * (c) the log is applied again to a fresh core with cv_core_apply alone (no
 * reply sink, as a follower / recovery replays it), timed per transaction,
 * and the two cores' digests must match.
 *
 * Latency: per operation, clock_gettime(CLOCK_MONOTONIC) around it (~20 ns
 * of it is the clock itself). Throughput: operations / the sum of those
 * per-operation times (so the client-side request encoding is excluded; the
 * ZooKeeper side, perf/zk/ZkTreeBench.java, uses the same definition). The
 * loop's wall-clock rate is printed too.
 * Memory after (a): the growth of cv_tree_memory_bytes (the tree's own
 * accounting) and of resident memory (/proc/self/statm), both / N. Every
 * benchmark buffer is allocated and touched before the baseline.
 * A small warm-up run (20000 znodes, separate core) precedes the measured one.
 * --reserve pre-sizes the tree's tables (cv_tree_reserve) as a server may at
 * start-up; by default the create figures include the tables' growth.
 * --json prints one machine-readable line (perf/tree_vs_zookeeper.sh).
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bench_common.h"
#include "cv_core.h"

struct result {
    const char *key; /* JSON key */
    const char *name;
    uint64_t ops;
    double busy_s; /* sum of per-operation times */
    double wall_s; /* the timed loop's wall clock */
    uint32_t p50, p99, p999, max;
};

static void summarize(struct result *r, uint32_t *lat, uint64_t n, double wall_s)
{
    uint64_t sum = 0;
    for (uint64_t i = 0; i < n; i++)
        sum += lat[i];
    struct percentiles p = percentiles_of(lat, n);
    r->ops = n;
    r->busy_s = (double)sum / 1e9;
    r->wall_s = wall_s;
    r->p50 = p.p50;
    r->p99 = p.p99;
    r->p999 = p.p999;
    r->max = p.max;
}

static uint32_t clamp_ns(uint64_t d)
{
    return (uint32_t)(d > UINT32_MAX ? UINT32_MAX : d);
}

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* The reply sink: ZooKeeper's FinalRequestProcessor would send the frame;
 * we keep its error code and count bytes so nothing is optimized away. */
struct replies {
    uint64_t bytes;
    uint64_t count;
    int32_t last_err;
};

static void on_reply(void *ctx, int64_t session, const uint8_t *frame, size_t len)
{
    struct replies *r = ctx;
    (void)session;
    r->bytes += len;
    r->count++;
    /* frame: length, xid, zxid, err */
    r->last_err = len >= 20 ? (int32_t)be32(frame + 16) : -999;
}

static struct cv_core *new_core(uint32_t max_frame)
{
    struct cv_core_config cfg;
    cv_core_config_init(&cfg, 2000);
    memcpy(cfg.sess.secret, "0123456789abcdef0123456789abcdef", 32);
    cfg.sess.secret_len = 32;
    cfg.server_id = 1;
    cfg.start_ms = 1700000000000;
    cfg.max_frame = max_frame;
    const char *why = NULL;
    struct cv_core *c = cv_core_new(&cfg, &why);
    if (!c)
        fprintf(stderr, "bench_core: cv_core_new: %s\n", why ? why : "out of memory");
    return c;
}

/* The transaction log: prepare writes into it, the replay reads it. */
struct log {
    uint8_t *buf;
    size_t len, cap;
    size_t *off; /* start of each txn; off[count] == len */
    size_t count, max;
};

/* One write as the sequencer sees it: decode the request frame (length
 * prefix included), prepare its transaction straight into the log, apply it
 * with the reply sink. 0 or the first error. */
static int do_write(struct cv_core *c, int64_t session, struct log *log,
                    const struct cv_core_sink *sink, const uint8_t *frame, size_t flen, int64_t now)
{
    struct cv_request d;
    int rc = cv_proto_decode_request(frame + 4, flen - 4, &d);
    size_t l = 0;
    if (rc == 0) {
        struct cv_core_req q = {session, NULL, &d, false};
        rc = cv_core_prepare(c, &q, now, log->buf + log->len, log->cap - log->len, &l);
    }
    if (rc == 0)
        rc = cv_core_apply(c, log->buf + log->len, l, sink);
    if (rc == 0) {
        log->len += l;
        log->off[++log->count] = log->len;
    }
    return rc;
}

struct run {
    uint64_t n, seed;
    long dlen;
    int reserve;
    struct result res[5]; /* create, setData, getData, apply create, apply setData */
    double mem_per, rss_per, payload_per;
    uint64_t ndirs;
    uint64_t digest;
};

#define FAIL(...)                                                                                  \
    do {                                                                                           \
        fprintf(stderr, "bench_core: " __VA_ARGS__);                                               \
        fprintf(stderr, "\n");                                                                     \
        goto out;                                                                                  \
    } while (0)

static int run_bench(struct run *R)
{
    const uint64_t n = R->n;
    const long dlen = R->dlen;
    const uint64_t ndirs = (n + 999) / 1000;
    R->ndirs = ndirs;
    int ok = 0;
    struct cv_core *c = NULL, *c2 = NULL;
    char path[64];
    const size_t frame_max = (size_t)dlen + 160; /* a create / setData request frame */
    const size_t req_cap = n * frame_max;
    const size_t txn_max = (size_t)dlen + 200; /* a create / setData transaction */

    /* Everything the benchmark itself needs is allocated and touched before
     * the baseline, so the RSS delta is the core's. */
    struct log log = {0};
    log.max = 2 * n + ndirs + 8;
    log.cap = log.max * txn_max;
    log.buf = malloc(log.cap);
    log.off = malloc((log.max + 1) * sizeof(*log.off));
    uint32_t *lat = malloc(n * sizeof(*lat));
    uint8_t *req = malloc(req_cap);
    uint8_t *data = malloc((size_t)dlen + 1);
    uint8_t *data2 = malloc((size_t)dlen + 1);
    size_t out_cap = (size_t)dlen + 1024;
    uint8_t *outbuf = malloc(out_cap);
    if (!log.buf || !log.off || !lat || !req || !data || !data2 || !outbuf)
        FAIL("out of memory");
    /* Non-zero fill: gcc turns malloc + memset(0) into calloc, which would
     * leave the pages untouched. */
    memset(log.buf, 0x5a, log.cap);
    memset(log.off, 0x5a, (log.max + 1) * sizeof(*log.off));
    memset(lat, 0x5a, n * sizeof(*lat));
    memset(req, 0x5a, req_cap);
    memset(outbuf, 0x5a, out_cap);
    for (long i = 0; i < dlen; i++) {
        data[i] = (uint8_t)('a' + (i * 7 + (long)R->seed) % 26);
        data2[i] = (uint8_t)('A' + (i * 11 + (long)R->seed) % 26);
    }

    struct cv_acl open_acl = {31, {{(const uint8_t *)"world", 5}, {(const uint8_t *)"anyone", 6}}};
    struct replies rep = {0, 0, 0};
    struct cv_core_sink sink = {&rep, on_reply, NULL, NULL, NULL, NULL};
    int64_t ms = 1700000000000;
    int32_t xid = 0;
    uint64_t t0;

    c = new_core(CV_PROTO_DEFAULT_MAX_FRAME);
    if (!c)
        goto out;
    size_t rss0 = rss_bytes();
    size_t mem0 = cv_tree_memory_bytes(cv_core_tree(c));
    if (R->reserve && cv_tree_reserve(cv_core_tree(c), n + ndirs + 8) != 0)
        FAIL("cv_tree_reserve failed");

    /* the session */
    int64_t session = 0;
    int32_t timeout = 0;
    size_t tl = 0;
    log.off[0] = 0;
    if (cv_core_prepare_create_session(c, 30000, ms, &session, &timeout, log.buf, log.cap, &tl) !=
            0 ||
        cv_core_apply(c, log.buf, tl, NULL) != 0)
        FAIL("createSession failed");
    log.len = tl;
    log.off[++log.count] = log.len;

    /* directories (not timed), through the same path */
    for (uint64_t d = 0; d <= ndirs; d++) {
        size_t pl = d == 0 ? (size_t)sprintf(path, "/bench") : dir_path(path, d - 1);
        struct cv_request r;
        memset(&r, 0, sizeof r);
        r.hdr.xid = ++xid;
        r.hdr.type = CV_OP_CREATE;
        r.u.create.path = (struct cv_jbuf){(const uint8_t *)path, (int32_t)pl};
        r.u.create.data = (struct cv_jbuf){(const uint8_t *)"", 0};
        r.u.create.acl = (struct cv_jvec){1, 0, NULL, &open_acl};
        int fl = cv_proto_encode_request(req, req_cap, &r);
        if (fl <= 0)
            FAIL("encode request: %d", fl);
        if (do_write(c, session, &log, &sink, req, (size_t)fl, ms) != 0 || rep.last_err != 0)
            FAIL("create %s failed", path);
    }

    /* (a) create: encode every request frame first (the client's work) */
    size_t pos = 0;
    for (uint64_t i = 0; i < n; i++) {
        size_t pl = node_path(path, i);
        struct cv_request r;
        memset(&r, 0, sizeof r);
        r.hdr.xid = ++xid;
        r.hdr.type = CV_OP_CREATE;
        r.u.create.path = (struct cv_jbuf){(const uint8_t *)path, (int32_t)pl};
        r.u.create.data = (struct cv_jbuf){data, (int32_t)dlen};
        r.u.create.acl = (struct cv_jvec){1, 0, NULL, &open_acl};
        int fl = cv_proto_encode_request(req + pos, req_cap - pos, &r);
        if (fl <= 0)
            FAIL("encode request: %d", fl);
        pos += (size_t)fl;
    }
    size_t first_create = log.count;
    pos = 0;
    t0 = now_ns();
    for (uint64_t i = 0; i < n; i++) {
        size_t fl = 4 + be32(req + pos);
        uint64_t a = now_ns();
        int rc = do_write(c, session, &log, &sink, req + pos, fl, ms + (int64_t)i);
        uint64_t b = now_ns();
        if (rc != 0 || rep.last_err != 0)
            FAIL("create #%llu: rc %d err %d", (unsigned long long)i, rc, rep.last_err);
        lat[i] = clamp_ns(b - a);
        pos += fl;
    }
    summarize(&R->res[0], lat, n, (double)(now_ns() - t0) / 1e9);
    size_t rss1 = rss_bytes();
    size_t mem1 = cv_tree_memory_bytes(cv_core_tree(c));
    R->mem_per = (double)(mem1 - mem0) / (double)n;
    R->rss_per = (double)(rss1 > rss0 ? rss1 - rss0 : 0) / (double)n;

    /* (b) setData, pseudo-random order */
    uint64_t stride = stride_for(n, R->seed), idx = 0;
    pos = 0;
    for (uint64_t i = 0; i < n; i++) {
        idx = (idx + stride) % n;
        size_t pl = node_path(path, idx);
        struct cv_request r;
        memset(&r, 0, sizeof r);
        r.hdr.xid = ++xid;
        r.hdr.type = CV_OP_SET_DATA;
        r.u.set_data.path = (struct cv_jbuf){(const uint8_t *)path, (int32_t)pl};
        r.u.set_data.data = (struct cv_jbuf){(i & 1) ? data : data2, (int32_t)dlen};
        r.u.set_data.version = -1;
        int fl = cv_proto_encode_request(req + pos, req_cap - pos, &r);
        if (fl <= 0)
            FAIL("encode request: %d", fl);
        pos += (size_t)fl;
    }
    size_t first_set = log.count;
    pos = 0;
    t0 = now_ns();
    for (uint64_t i = 0; i < n; i++) {
        size_t fl = 4 + be32(req + pos);
        uint64_t a = now_ns();
        int rc = do_write(c, session, &log, &sink, req + pos, fl, ms + (int64_t)(n + i));
        uint64_t b = now_ns();
        if (rc != 0 || rep.last_err != 0)
            FAIL("setData #%llu: rc %d err %d", (unsigned long long)i, rc, rep.last_err);
        lat[i] = clamp_ns(b - a);
        pos += fl;
    }
    summarize(&R->res[1], lat, n, (double)(now_ns() - t0) / 1e9);
    size_t last_set = log.count;

    /* (c) getData, another pseudo-random order */
    stride = stride_for(n, R->seed + 1);
    pos = 0;
    for (uint64_t i = 0; i < n; i++) {
        idx = (idx + stride) % n;
        size_t pl = node_path(path, idx);
        struct cv_request r;
        memset(&r, 0, sizeof r);
        r.hdr.xid = ++xid;
        r.hdr.type = CV_OP_GET_DATA;
        r.u.path_watch.path = (struct cv_jbuf){(const uint8_t *)path, (int32_t)pl};
        int fl = cv_proto_encode_request(req + pos, req_cap - pos, &r);
        if (fl <= 0)
            FAIL("encode request: %d", fl);
        pos += (size_t)fl;
    }
    uint64_t check = 0;
    pos = 0;
    t0 = now_ns();
    for (uint64_t i = 0; i < n; i++) {
        size_t fl = 4 + be32(req + pos);
        uint64_t a = now_ns();
        struct cv_request d;
        int rc = cv_proto_decode_request(req + pos + 4, fl - 4, &d);
        if (rc == 0) {
            struct cv_core_req q = {session, NULL, &d, false};
            rc = cv_core_read(c, &q, NULL, outbuf, out_cap);
        }
        uint64_t b = now_ns();
        /* reply: len, xid, zxid, err, data (len + bytes), Stat */
        if (rc < 20 || be32(outbuf + 16) != 0 || be32(outbuf + 20) != (uint32_t)dlen)
            FAIL("getData #%llu: rc %d", (unsigned long long)i, rc);
        check += outbuf[24];
        lat[i] = clamp_ns(b - a);
        pos += fl;
    }
    summarize(&R->res[2], lat, n, (double)(now_ns() - t0) / 1e9);
    if (check == 0)
        FAIL("getData returned nothing");
    R->digest = cv_core_digest(c);
    cv_core_free(c);
    c = NULL;

    /* apply alone: the log, from empty, into a fresh core */
    c2 = new_core(CV_PROTO_DEFAULT_MAX_FRAME);
    if (!c2)
        goto out;
    if (R->reserve && cv_tree_reserve(cv_core_tree(c2), n + ndirs + 8) != 0)
        FAIL("cv_tree_reserve failed");
    for (size_t k = 0; k < first_create; k++)
        if (cv_core_apply(c2, log.buf + log.off[k], log.off[k + 1] - log.off[k], NULL) != 0)
            FAIL("replay txn %zu", k);
    for (int phase = 0; phase < 2; phase++) {
        size_t from = phase ? first_set : first_create, to = phase ? last_set : first_set;
        t0 = now_ns();
        for (size_t k = from; k < to; k++) {
            const uint8_t *p = log.buf + log.off[k];
            size_t l = log.off[k + 1] - log.off[k];
            uint64_t a = now_ns();
            int rc = cv_core_apply(c2, p, l, NULL);
            uint64_t b = now_ns();
            if (rc != 0)
                FAIL("replay txn %zu: %d", k, rc);
            lat[k - from] = clamp_ns(b - a);
        }
        summarize(&R->res[3 + phase], lat, to - from, (double)(now_ns() - t0) / 1e9);
    }
    if (cv_core_digest(c2) != R->digest)
        FAIL("replayed core's digest differs from the original's");
    R->payload_per = (double)(log.off[first_set] - log.off[first_create]) / (double)n;
    ok = 1;
out:
    cv_core_free(c);
    cv_core_free(c2);
    free(log.buf);
    free(log.off);
    free(lat);
    free(req);
    free(data);
    free(data2);
    free(outbuf);
    return ok ? 0 : -1;
}

static void usage(const char *argv0)
{
    fprintf(stderr, "usage: %s [--nodes N] [--data BYTES] [--seed S] [--reserve] [--json]\n",
            argv0);
    exit(2);
}

int main(int argc, char **argv)
{
    struct run R;
    memset(&R, 0, sizeof R);
    R.n = 1000000;
    R.seed = 1;
    R.dlen = 100;
    int json = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--nodes") && i + 1 < argc)
            R.n = strtoull(argv[++i], NULL, 10);
        else if (!strcmp(argv[i], "--data") && i + 1 < argc)
            R.dlen = strtol(argv[++i], NULL, 10);
        else if (!strcmp(argv[i], "--seed") && i + 1 < argc)
            R.seed = strtoull(argv[++i], NULL, 10);
        else if (!strcmp(argv[i], "--reserve"))
            R.reserve = 1;
        else if (!strcmp(argv[i], "--json"))
            json = 1;
        else
            usage(argv[0]);
    }
    if (R.n < 2 || R.n > 10000000 || R.dlen < 0 || R.dlen > 65536) {
        fprintf(stderr, "bench_core: --nodes must be 2..10000000 and --data 0..65536\n");
        return 2;
    }

    /* warm-up: a small separate run */
    struct run W = R;
    W.n = R.n < 20000 ? R.n : 20000;
    if (run_bench(&W) != 0 || run_bench(&R) != 0)
        return 1;

    static const char *keys[5] = {"create", "set", "get", "apply_create", "apply_set"};
    static const char *names[5] = {"create (decode+prepare+apply)",
                                   "setData (decode+prepare+apply)", "getData (decode+read)",
                                   "create apply only", "setData apply only"};
    if (json) {
        printf("{\"impl\":\"corvid\",\"nodes\":%llu,\"data\":%ld,\"reserve\":%d",
               (unsigned long long)R.n, R.dlen, R.reserve);
        for (int i = 0; i < 5; i++)
            printf(",\"%s\":{\"ops_s\":%.0f,\"wall_ops_s\":%.0f,\"p50\":%u,\"p99\":%u,"
                   "\"p999\":%u,\"max\":%u}",
                   keys[i], (double)R.res[i].ops / R.res[i].busy_s,
                   (double)R.res[i].ops / R.res[i].wall_s, R.res[i].p50, R.res[i].p99,
                   R.res[i].p999, R.res[i].max);
        printf(",\"bytes_per_znode\":%.1f,\"rss_per_znode\":%.1f,\"txn_bytes_per_create\":%.1f}\n",
               R.mem_per, R.rss_per, R.payload_per);
        return 0;
    }
    printf("corvid cv_core benchmark: %llu znodes (/bench/dXXX/nYYYYYY, 1000 per dir, %llu dirs), "
           "%ld-byte data, one session%s\n",
           (unsigned long long)R.n, (unsigned long long)R.ndirs, R.dlen,
           R.reserve ? ", tables reserved up front" : "");
    printf("\nmemory after create (znodes + their directories)\n");
    printf("  %-34s %8.1f B/znode\n", "cv_tree_memory_bytes delta", R.mem_per);
    printf("  %-34s %8.1f B/znode\n", "RSS delta (/proc/self/statm)", R.rss_per);
    printf("  %-34s %8.1f B\n", "create transaction (log bytes)", R.payload_per);
    printf("\n%-31s %9s %11s %11s %8s %8s %8s %9s\n", "op", "ops", "ops/s", "wall ops/s", "p50 ns",
           "p99 ns", "p999 ns", "max ns");
    for (int i = 0; i < 5; i++)
        printf("%-31s %9llu %11.0f %11.0f %8u %8u %8u %9u\n", names[i],
               (unsigned long long)R.res[i].ops, (double)R.res[i].ops / R.res[i].busy_s,
               (double)R.res[i].ops / R.res[i].wall_s, R.res[i].p50, R.res[i].p99, R.res[i].p999,
               R.res[i].max);
    printf("(ops/s = ops / sum of per-op times; latency includes ~20 ns of clock_gettime; "
           "replayed digest %016llx matches)\n",
           (unsigned long long)R.digest);
    return 0;
}
