/*
 * bench_loadgen — ZooKeeper-protocol load generator (the "loadgen" of
 * perf/LOADGEN.md), speaking the wire protocol through corvid's own codec
 * (cv_proto), so it drives corvid and Apache ZooKeeper identically.
 *
 *   bench_loadgen --host H --port P --op getData --conns 8 --outstanding 64
 *                 [--rate R] [--duration S | --ops N] [--warmup S] [--json] ...
 *   (bench_loadgen --help lists every option)
 *
 * Each connection is its own session (ConnectRequest handshake), a
 * non-blocking socket on an epoll loop. Every connection works in its own
 * subtree <prefix>/cN (default /bench/cN), created up front together with
 * --keys znodes kNNNNNNNN of --value-size bytes for the getData / setData /
 * exists / delete / mixed workloads; create makes new znodes
 * <prefix>/cN/<run tag>NNNNNNNNNN.
 *
 * Closed loop (default): every connection keeps --outstanding requests in
 * flight and sends a new one as soon as a reply comes back. Latency is from
 * the send to the reply.
 * Open loop (--rate R): requests follow a fixed schedule, R per second in
 * total, spread round-robin over the connections (each may have at most
 * --outstanding in flight, 1024 by default). Latency is measured from the
 * INTENDED send time of the schedule, not from when the request actually left,
 * so a server that stalls is charged for every request it delayed
 * (no coordinated omission). Requests the schedule wanted but that could not
 * be sent by the end are reported as "unsent".
 *
 * Latencies go into a log-linear histogram (HdrHistogram-like: exact below
 * 256 ns, then 128 sub-buckets per power of two, so a reported value, the
 * upper bound of its bucket, is within 0.8% of the truth; 60 s is the top).
 * Throughput counts replies to requests sent after --warmup that arrived
 * before the end of --duration (or, with --ops, until the last reply).
 *
 * Per-request state lives in preallocated per-connection rings and buffers:
 * nothing is allocated after start-up. Replies come back in order per
 * session (ZooKeeper's guarantee), which the ring checks by xid. Pings are
 * sent when a connection has sent nothing for a third of the session
 * timeout. A server error is counted by its ZooKeeper code; a lost
 * connection, a malformed or out-of-order reply, or a failed setup ends the
 * run with exit status 2.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "cv_proto.h"

/* ---- histogram ------------------------------------------------------------ */

#define LG_HIST_LIN     256u /* values below are exact (ns) */
#define LG_HIST_SUB     128u /* sub-buckets per power of two above */
#define LG_HIST_TOP_NS  60000000000ull
#define LG_HIST_OCTAVES 28u /* 2^8 .. 2^36 ns covers 60 s */
#define LG_HIST_BUCKETS (LG_HIST_LIN + LG_HIST_OCTAVES * LG_HIST_SUB)

struct lg_hist {
    uint64_t count;
    uint64_t sum_ns;
    uint64_t min_ns;
    uint64_t max_ns;
    uint64_t clamped; /* values above 60 s, recorded as 60 s */
    uint64_t b[LG_HIST_BUCKETS];
};

static unsigned hist_index(uint64_t v)
{
    if (v < LG_HIST_LIN)
        return (unsigned)v;
    unsigned e = 63u - (unsigned)__builtin_clzll(v); /* >= 8 */
    unsigned shift = e - 7u;
    return LG_HIST_LIN + (e - 8u) * LG_HIST_SUB + (unsigned)((v >> shift) - LG_HIST_SUB);
}

/* The largest value that lands in bucket i. */
static uint64_t hist_upper(unsigned i)
{
    if (i < LG_HIST_LIN)
        return i;
    unsigned o = (i - LG_HIST_LIN) / LG_HIST_SUB, s = (i - LG_HIST_LIN) % LG_HIST_SUB;
    unsigned shift = o + 1u;
    return (((uint64_t)LG_HIST_SUB + s + 1u) << shift) - 1u;
}

static void hist_record(struct lg_hist *h, uint64_t v)
{
    if (v > LG_HIST_TOP_NS) {
        v = LG_HIST_TOP_NS;
        h->clamped++;
    }
    if (h->count == 0 || v < h->min_ns)
        h->min_ns = v;
    if (v > h->max_ns)
        h->max_ns = v;
    h->count++;
    h->sum_ns += v;
    h->b[hist_index(v)]++;
}

static void hist_merge(struct lg_hist *d, const struct lg_hist *s)
{
    if (s->count == 0)
        return;
    if (d->count == 0 || s->min_ns < d->min_ns)
        d->min_ns = s->min_ns;
    if (s->max_ns > d->max_ns)
        d->max_ns = s->max_ns;
    d->count += s->count;
    d->sum_ns += s->sum_ns;
    d->clamped += s->clamped;
    for (unsigned i = 0; i < LG_HIST_BUCKETS; i++)
        d->b[i] += s->b[i];
}

/* Value at percentile pct (0..100], in ns: the upper bound of the bucket
 * holding the ceil(pct% * count)-th value, capped by the exact maximum. */
static uint64_t hist_pct(const struct lg_hist *h, double pct)
{
    if (h->count == 0)
        return 0;
    double want = pct / 100.0 * (double)h->count;
    uint64_t rank = (uint64_t)want;
    if ((double)rank < want)
        rank++;
    if (rank < 1)
        rank = 1;
    uint64_t seen = 0;
    for (unsigned i = 0; i < LG_HIST_BUCKETS; i++) {
        seen += h->b[i];
        if (seen >= rank) {
            uint64_t v = hist_upper(i);
            return v > h->max_ns ? h->max_ns : v;
        }
    }
    return h->max_ns;
}

/* ---- configuration and shared run state ---------------------------------- */

enum lg_work { W_CREATE, W_SET, W_GET, W_EXISTS, W_DELETE, W_MIXED };
static const char *const lg_work_name[] = {"create", "setData", "getData",
                                           "exists", "delete",  "mixed"};

/* Histogram kinds: one per operation the workloads send. */
enum lg_kind { K_CREATE, K_DELETE, K_EXISTS, K_GET, K_SET, LG_NKIND };
static const char *const lg_kind_name[] = {"create", "delete", "exists", "getData", "setData"};
static const int32_t lg_kind_op[] = {CV_OP_CREATE, CV_OP_DELETE, CV_OP_EXISTS, CV_OP_GET_DATA,
                                     CV_OP_SET_DATA};

#define LG_SETUP_DEPTH 256u
#define LG_PATH_MAX    200u
#define LG_NERR        128
#define LG_STALL_NS    10000000000ull /* no reply for 10 s with requests in flight: fail */
#define LG_MAX_WAIT_NS 50000000ull    /* epoll never sleeps longer (flags are polled) */

struct lg_cfg {
    const char *host;
    const char *port;
    const char *prefix;
    int conns;
    int outstanding;
    int threads;
    double rate;
    enum lg_work work;
    int mix_r, mix_w;
    int value_size;
    uint32_t keys;
    double duration; /* 0: until --ops */
    double warmup;
    uint64_t ops; /* 0: until --duration */
    int timeout_ms;
    uint64_t spin_ns; /* open loop: wake this early and spin */
    int json;
    int no_setup;
    char tag[16]; /* create workload: a per-run name prefix */
    uint8_t *value;
    struct sockaddr_storage addr;
    socklen_t addrlen;
    /* derived sizes */
    uint32_t ring_size;
    size_t frame_max;
    size_t out_cap;
    size_t in_cap;
};

struct lg_run {
    const struct lg_cfg *cfg;
    pthread_barrier_t bar;
    uint64_t t0;     /* schedule origin */
    uint64_t t_meas; /* t0 + warmup */
    uint64_t t_end;  /* t_meas + duration, or UINT64_MAX */
};

static volatile sig_atomic_t lg_interrupted;
static atomic_int lg_failed;

static void on_signal(int sig)
{
    (void)sig;
    lg_interrupted = 1;
}

static double cpu_seconds(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
           (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* ---- connections ---------------------------------------------------------- */

enum lg_phase { PH_SETUP, PH_RUN };

struct lg_slot {
    uint64_t intended_ns;
    int32_t xid;
    uint32_t key;
    int32_t op;
    uint8_t kind;
    uint8_t phase;
};

struct lg_conn {
    int fd;
    int gid; /* global connection number: the N of <prefix>/cN */
    int pollout;
    int ready; /* setup done */
    int exhausted;
    uint8_t *in;
    size_t in_len;
    uint8_t *out;
    size_t out_off, out_len;
    struct lg_slot *ring;
    uint32_t head, tail; /* in flight: tail - head */
    int32_t next_xid;
    int timeout_ms;
    int64_t session_id;
    uint64_t last_tx_ns;
    uint64_t rng;
    /* setup */
    uint32_t setup_step;
    int creates_done;
    uint32_t fix_next;
    uint8_t *need_set;
    /* workload cursors */
    uint64_t create_seq;
    uint32_t del_next;
    char path[LG_PATH_MAX + 32];
    size_t dir_len; /* "<prefix>/cN/" */
};

struct lg_thread {
    struct lg_run *run;
    const struct lg_cfg *cfg;
    int id;
    pthread_t tid;
    struct lg_conn *conns;
    int nconns;
    int ep;
    uint64_t inflight;
    uint64_t last_progress_ns;
    /* run */
    int stop_issuing;
    int stop_by_count; /* --ops reached or delete ran out of keys */
    uint64_t stop_ns;
    uint64_t quota; /* measured requests to send, 0 = unbounded */
    uint64_t issued_measured;
    double period_ns; /* open loop */
    uint64_t sched_k;
    uint32_t rr;
    int open_blocked;
    uint64_t unsent;
    uint64_t max_lag_ns;
    int exhausted_conns;
    /* results */
    uint64_t measured, in_window, t_last;
    uint64_t errs[LG_NERR];
    uint64_t err_other, err_total;
    struct lg_hist hist[LG_NKIND];
    struct lg_hist lag; /* open loop: send time - intended time */
};

static void fail(struct lg_thread *t, const char *fmt, ...)
{
    va_list ap;
    char msg[512];
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    /* Only the first failure is printed: the others are its consequences. */
    int expected = 0;
    if (atomic_compare_exchange_strong(&lg_failed, &expected, 1))
        fprintf(stderr, "loadgen: thread %d: %s\n", t ? t->id : -1, msg);
}

static uint64_t xorshift(uint64_t *s)
{
    uint64_t x = *s;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    *s = x;
    return x;
}

static void put_digits(char *p, uint64_t v, int width)
{
    for (int i = width - 1; i >= 0; i--) {
        p[i] = (char)('0' + v % 10);
        v /= 10;
    }
}

/* <prefix>/cN/kNNNNNNNN */
static size_t key_path(struct lg_conn *c, uint32_t key)
{
    char *p = c->path + c->dir_len;
    *p++ = 'k';
    put_digits(p, key, 8);
    return c->dir_len + 9;
}

/* <prefix>/cN/<tag>NNNNNNNNNN */
static size_t create_path(const struct lg_cfg *cfg, struct lg_conn *c, uint64_t seq)
{
    size_t tl = strlen(cfg->tag);
    memcpy(c->path + c->dir_len, cfg->tag, tl);
    put_digits(c->path + c->dir_len + tl, seq, 10);
    return c->dir_len + tl + 10;
}

static uint32_t conn_inflight(const struct lg_conn *c)
{
    return c->tail - c->head;
}

static void conn_lost(struct lg_thread *t, struct lg_conn *c, const char *why)
{
    fail(t, "connection %d (session 0x%" PRIx64 ") lost: %s, %u requests in flight", c->gid,
         (uint64_t)c->session_id, why, conn_inflight(c));
}

static int set_pollout(struct lg_thread *t, struct lg_conn *c, int on)
{
    struct epoll_event ev = {.events = EPOLLIN | (on ? EPOLLOUT : 0), .data.ptr = c};
    if (epoll_ctl(t->ep, EPOLL_CTL_MOD, c->fd, &ev) < 0) {
        fail(t, "epoll_ctl: %s", strerror(errno));
        return -1;
    }
    c->pollout = on;
    return 0;
}

static int conn_flush(struct lg_thread *t, struct lg_conn *c, uint64_t now)
{
    while (c->out_off < c->out_len) {
        ssize_t n =
            send(c->fd, c->out + c->out_off, c->out_len - c->out_off, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n > 0) {
            c->out_off += (size_t)n;
            c->last_tx_ns = now;
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return c->pollout ? 0 : set_pollout(t, c, 1);
        conn_lost(t, c, n < 0 ? strerror(errno) : "send returned 0");
        return -1;
    }
    c->out_off = c->out_len = 0;
    return c->pollout ? set_pollout(t, c, 0) : 0;
}

/* Encode one request into the connection's output buffer and remember it in
 * the ring. Returns 0, or -ENOBUFS when the buffer or the ring is full (the
 * caller retries later). */
static int conn_issue(struct lg_thread *t, struct lg_conn *c, int32_t op, int kind, size_t plen,
                      const uint8_t *data, int32_t dlen, uint32_t key, uint64_t intended, int phase)
{
    const struct lg_cfg *cfg = t->cfg;
    static const struct cv_acl open_acl = {
        31, {{(const uint8_t *)"world", 5}, {(const uint8_t *)"anyone", 6}}};
    if (conn_inflight(c) >= cfg->ring_size)
        return -ENOBUFS;
    if (cfg->out_cap - c->out_len < cfg->frame_max && c->out_off > 0) {
        memmove(c->out, c->out + c->out_off, c->out_len - c->out_off);
        c->out_len -= c->out_off;
        c->out_off = 0;
    }
    struct cv_request r;
    struct cv_jbuf path = {(const uint8_t *)c->path, (int32_t)plen};
    struct cv_jbuf val = {data, dlen};
    r.hdr.xid = c->next_xid;
    r.hdr.type = op;
    switch (op) {
    case CV_OP_CREATE:
        r.u.create.path = path;
        r.u.create.data = val;
        r.u.create.acl.count = 1;
        r.u.create.acl.raw_len = 0;
        r.u.create.acl.raw = NULL;
        r.u.create.acl.items = &open_acl;
        r.u.create.flags = 0;
        r.u.create.ttl = 0;
        break;
    case CV_OP_DELETE:
        r.u.path_version.path = path;
        r.u.path_version.version = -1;
        break;
    case CV_OP_EXISTS:
    case CV_OP_GET_DATA:
        r.u.path_watch.path = path;
        r.u.path_watch.watch = 0;
        break;
    case CV_OP_SET_DATA:
        r.u.set_data.path = path;
        r.u.set_data.data = val;
        r.u.set_data.version = -1;
        break;
    default: return -EINVAL;
    }
    int n = cv_proto_encode_request(c->out + c->out_len, cfg->out_cap - c->out_len, &r);
    if (n < 0)
        return n;
    c->out_len += (size_t)n;
    struct lg_slot *s = &c->ring[c->tail & (cfg->ring_size - 1)];
    s->intended_ns = intended;
    s->xid = c->next_xid;
    s->key = key;
    s->op = op;
    s->kind = (uint8_t)kind;
    s->phase = (uint8_t)phase;
    c->tail++;
    c->next_xid = c->next_xid == INT32_MAX ? 1 : c->next_xid + 1;
    if (t->inflight++ == 0)
        t->last_progress_ns = intended > t->last_progress_ns ? intended : t->last_progress_ns;
    return 0;
}

/* A request with no ring slot (ping). */
static int conn_send_bare(struct lg_thread *t, struct lg_conn *c, int32_t xid, int32_t op)
{
    const struct lg_cfg *cfg = t->cfg;
    struct cv_request r;
    r.hdr.xid = xid;
    r.hdr.type = op;
    if (cfg->out_cap - c->out_len < 64 && c->out_off > 0) {
        memmove(c->out, c->out + c->out_off, c->out_len - c->out_off);
        c->out_len -= c->out_off;
        c->out_off = 0;
    }
    int n = cv_proto_encode_request(c->out + c->out_len, cfg->out_cap - c->out_len, &r);
    if (n < 0)
        return n;
    c->out_len += (size_t)n;
    return 0;
}

/* ---- setup: <prefix>, <prefix>/cN and the keys --------------------------- */

static void setup_issue(struct lg_thread *t, struct lg_conn *c, uint64_t now)
{
    const struct lg_cfg *cfg = t->cfg;
    uint32_t nkeys = (cfg->work == W_CREATE) ? 0 : cfg->keys;
    uint32_t total = 2 + nkeys;
    if (cfg->no_setup) {
        c->ready = 1;
        return;
    }
    while (!c->ready && conn_inflight(c) < LG_SETUP_DEPTH) {
        int rc;
        if (c->setup_step == 0 && strcmp(cfg->prefix, "/") == 0)
            c->setup_step = 1; /* the root exists */
        if (c->setup_step < total) {
            uint32_t s = c->setup_step;
            if (s == 0) /* <prefix> */
                rc = conn_issue(t, c, CV_OP_CREATE, K_CREATE, strlen(cfg->prefix), NULL, 0,
                                UINT32_MAX, now, PH_SETUP);
            else if (s == 1) /* <prefix>/cN */
                rc = conn_issue(t, c, CV_OP_CREATE, K_CREATE, c->dir_len - 1, NULL, 0, UINT32_MAX,
                                now, PH_SETUP);
            else
                rc = conn_issue(t, c, CV_OP_CREATE, K_CREATE, key_path(c, s - 2), cfg->value,
                                cfg->value_size, s - 2, now, PH_SETUP);
            if (rc < 0)
                return;
            c->setup_step++;
            continue;
        }
        if (!c->creates_done) {
            if (conn_inflight(c) > 0)
                return;
            c->creates_done = 1;
        }
        /* Keys that existed already (an earlier run) get this run's value. */
        while (c->fix_next < nkeys && !c->need_set[c->fix_next])
            c->fix_next++;
        if (c->fix_next >= nkeys) {
            if (conn_inflight(c) == 0)
                c->ready = 1;
            return;
        }
        rc = conn_issue(t, c, CV_OP_SET_DATA, K_SET, key_path(c, c->fix_next), cfg->value,
                        cfg->value_size, c->fix_next, now, PH_SETUP);
        if (rc < 0)
            return;
        c->fix_next++;
    }
}

static void setup_reply(struct lg_thread *t, struct lg_conn *c, const struct lg_slot *s,
                        int32_t err)
{
    if (err == CV_ZOK)
        return;
    if (s->op == CV_OP_CREATE && err == CV_ZNODEEXISTS) {
        if (s->key != UINT32_MAX)
            c->need_set[s->key] = 1;
        return;
    }
    const char *name = cv_proto_err_name(err);
    fail(t, "setup on connection %d: %s (key %u) failed: %s (%d)", c->gid, cv_proto_op_name(s->op),
         s->key, name ? name : "?", err);
}

/* ---- the run ------------------------------------------------------------- */

/* The next workload request for c; 0, or -1 when c has nothing left. */
static int run_pick(struct lg_thread *t, struct lg_conn *c, int *kind, uint32_t *key, size_t *plen)
{
    const struct lg_cfg *cfg = t->cfg;
    switch (cfg->work) {
    case W_CREATE:
        *kind = K_CREATE;
        *key = 0;
        *plen = create_path(cfg, c, c->create_seq++);
        return 0;
    case W_DELETE:
        if (c->del_next >= cfg->keys) {
            if (!c->exhausted) {
                c->exhausted = 1;
                t->exhausted_conns++;
            }
            return -1;
        }
        *kind = K_DELETE;
        *key = c->del_next++;
        *plen = key_path(c, *key);
        return 0;
    case W_GET: *kind = K_GET; break;
    case W_SET: *kind = K_SET; break;
    case W_EXISTS: *kind = K_EXISTS; break;
    case W_MIXED:
        *kind = (int)(xorshift(&c->rng) % (uint64_t)(cfg->mix_r + cfg->mix_w)) < cfg->mix_r ? K_GET
                                                                                            : K_SET;
        break;
    }
    *key = (uint32_t)(xorshift(&c->rng) % cfg->keys);
    *plen = key_path(c, *key);
    return 0;
}

static int run_issue_one(struct lg_thread *t, struct lg_conn *c, uint64_t intended)
{
    const struct lg_cfg *cfg = t->cfg;
    int kind = K_GET;
    uint32_t key = 0;
    size_t plen = 0;
    uint64_t save_seq = c->create_seq;
    uint32_t save_del = c->del_next;
    if (run_pick(t, c, &kind, &key, &plen) < 0)
        return -1;
    int with_data = kind == K_CREATE || kind == K_SET;
    if (conn_issue(t, c, lg_kind_op[kind], kind, plen, with_data ? cfg->value : NULL,
                   with_data ? cfg->value_size : 0, key, intended, PH_RUN) < 0) {
        c->create_seq = save_seq; /* not sent: the name is still free */
        c->del_next = save_del;
        return -1;
    }
    if (intended >= t->run->t_meas) {
        t->issued_measured++;
        if (t->quota && t->issued_measured >= t->quota)
            t->stop_issuing = t->stop_by_count = 1;
    }
    return 0;
}

static void run_issue_closed(struct lg_thread *t, uint64_t now)
{
    const struct lg_cfg *cfg = t->cfg;
    for (int i = 0; i < t->nconns && !t->stop_issuing; i++) {
        struct lg_conn *c = &t->conns[i];
        while (!t->stop_issuing && conn_inflight(c) < (uint32_t)cfg->outstanding)
            if (run_issue_one(t, c, now) < 0)
                break;
    }
    if (t->exhausted_conns == t->nconns)
        t->stop_issuing = t->stop_by_count = 1;
}

static uint64_t sched_due(const struct lg_thread *t, uint64_t k)
{
    return t->run->t0 + (uint64_t)((double)k * t->period_ns);
}

static void run_issue_open(struct lg_thread *t, uint64_t now)
{
    const struct lg_cfg *cfg = t->cfg;
    t->open_blocked = 0;
    while (!t->stop_issuing) {
        uint64_t due = sched_due(t, t->sched_k);
        if (due >= t->run->t_end) {
            t->stop_issuing = 1;
            break;
        }
        if (due > now)
            break;
        int sent = 0;
        for (int tries = 0; tries < t->nconns && !sent; tries++) {
            struct lg_conn *c = &t->conns[t->rr];
            t->rr = (t->rr + 1) % (uint32_t)t->nconns;
            if (c->exhausted || conn_inflight(c) >= (uint32_t)cfg->outstanding)
                continue;
            if (run_issue_one(t, c, due) == 0)
                sent = 1;
        }
        if (t->exhausted_conns == t->nconns) {
            t->stop_issuing = t->stop_by_count = 1;
            break;
        }
        if (!sent) {
            t->open_blocked = 1; /* every connection is full: wait for replies */
            break;
        }
        if (now - due > t->max_lag_ns)
            t->max_lag_ns = now - due;
        hist_record(&t->lag, now - due);
        t->sched_k++;
    }
}

static void count_error(struct lg_thread *t, int32_t err)
{
    t->err_total++;
    if (err < 0 && err > -LG_NERR)
        t->errs[-err]++;
    else
        t->err_other++;
}

static void run_reply(struct lg_thread *t, const struct lg_slot *s, int32_t err, uint64_t now)
{
    if (err != CV_ZOK)
        count_error(t, err);
    if (s->intended_ns < t->run->t_meas)
        return;
    hist_record(&t->hist[s->kind], now - s->intended_ns);
    t->measured++;
    if (now <= t->run->t_end)
        t->in_window++;
    if (now > t->t_last)
        t->t_last = now;
}

/* Read what the socket has and handle every complete reply in it. */
static int conn_read(struct lg_thread *t, struct lg_conn *c)
{
    const struct lg_cfg *cfg = t->cfg;
    ssize_t n = recv(c->fd, c->in + c->in_len, cfg->in_cap - c->in_len, MSG_DONTWAIT);
    if (n == 0) {
        conn_lost(t, c, "closed by the server");
        return -1;
    }
    if (n < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
            return 0;
        conn_lost(t, c, strerror(errno));
        return -1;
    }
    uint64_t now = now_ns();
    c->in_len += (size_t)n;
    size_t pos = 0;
    for (;;) {
        uint32_t plen;
        int64_t fl = cv_proto_frame(c->in + pos, c->in_len - pos, (uint32_t)cfg->in_cap - 4, &plen);
        if (fl == 0)
            break;
        if (fl < 0) {
            fail(t, "connection %d: bad reply frame (%s, length %u)", c->gid, strerror((int)-fl),
                 plen);
            return -1;
        }
        const uint8_t *p = c->in + pos + 4;
        pos += (size_t)fl;
        if (plen < 16) {
            fail(t, "connection %d: reply of %u bytes is shorter than a ReplyHeader", c->gid, plen);
            return -1;
        }
        int32_t xid = (int32_t)cv_jute_rd32(p);
        if (xid == CV_XID_PING || xid == CV_XID_NOTIFICATION)
            continue;
        if (conn_inflight(c) == 0) {
            fail(t, "connection %d: reply xid %d with nothing in flight", c->gid, xid);
            return -1;
        }
        struct lg_slot *s = &c->ring[c->head & (cfg->ring_size - 1)];
        if (s->xid != xid) {
            fail(t, "connection %d: reply xid %d, expected %d (replies out of order)", c->gid, xid,
                 s->xid);
            return -1;
        }
        struct cv_response r;
        int rc = cv_proto_decode_response(p, plen, s->op, &r);
        if (rc < 0) {
            fail(t, "connection %d: malformed %s reply (%s)", c->gid, cv_proto_op_name(s->op),
                 strerror(-rc));
            return -1;
        }
        c->head++;
        t->inflight--;
        t->last_progress_ns = now;
        if (s->phase == PH_SETUP)
            setup_reply(t, c, s, r.hdr.err);
        else
            run_reply(t, s, r.hdr.err, now);
    }
    if (pos > 0) {
        memmove(c->in, c->in + pos, c->in_len - pos);
        c->in_len -= pos;
    }
    if (c->in_len == cfg->in_cap) {
        fail(t, "connection %d: reply larger than the %zu-byte buffer", c->gid, cfg->in_cap);
        return -1;
    }
    return 0;
}

static void send_pings(struct lg_thread *t, uint64_t now)
{
    for (int i = 0; i < t->nconns; i++) {
        struct lg_conn *c = &t->conns[i];
        uint64_t idle = (uint64_t)c->timeout_ms * 1000000ull / 3;
        if (now - c->last_tx_ns >= idle && c->out_len == c->out_off) {
            if (conn_send_bare(t, c, CV_XID_PING, CV_OP_PING) == 0)
                c->last_tx_ns = now; /* flushed below */
        }
    }
}

static uint64_t next_ping_ns(const struct lg_thread *t)
{
    uint64_t d = UINT64_MAX;
    for (int i = 0; i < t->nconns; i++) {
        const struct lg_conn *c = &t->conns[i];
        uint64_t at = c->last_tx_ns + (uint64_t)c->timeout_ms * 1000000ull / 3;
        if (at < d)
            d = at;
    }
    return d;
}

/* The event loop, for the setup phase or the run. Returns when the phase is
 * complete, or on failure (lg_failed set). */
static void event_loop(struct lg_thread *t, int phase)
{
    const struct lg_cfg *cfg = t->cfg;
    struct epoll_event evs[64];
    t->last_progress_ns = now_ns();
    for (;;) {
        if (atomic_load(&lg_failed))
            return;
        uint64_t now = now_ns();
        uint64_t deadline = now + LG_MAX_WAIT_NS;
        if (phase == PH_SETUP) {
            int all = 1;
            for (int i = 0; i < t->nconns; i++) {
                setup_issue(t, &t->conns[i], now);
                all &= t->conns[i].ready;
            }
            if (all)
                return;
        } else {
            if (lg_interrupted)
                t->stop_issuing = 1;
            /* Open loop: everything due before the end is sent, even if the
             * loop wakes up after it (run_issue_open stops at t_end). */
            if (!t->stop_issuing && cfg->rate > 0)
                run_issue_open(t, now);
            if (now >= t->run->t_end)
                t->stop_issuing = 1;
            if (!t->stop_issuing && cfg->rate <= 0)
                run_issue_closed(t, now);
            if (t->stop_issuing && !t->stop_ns)
                t->stop_ns = now;
            if (t->stop_issuing && t->inflight == 0)
                return;
            if (!t->stop_issuing) {
                if (t->run->t_end < deadline)
                    deadline = t->run->t_end;
                if (cfg->rate > 0 && !t->open_blocked) {
                    uint64_t due = sched_due(t, t->sched_k);
                    if (due < deadline)
                        deadline = due;
                }
            }
        }
        if (t->inflight > 0 && now - t->last_progress_ns > LG_STALL_NS) {
            fail(t, "no reply for %.0f s with %" PRIu64 " requests in flight",
                 (double)LG_STALL_NS / 1e9, t->inflight);
            return;
        }
        send_pings(t, now);
        for (int i = 0; i < t->nconns; i++)
            if (t->conns[i].out_len > t->conns[i].out_off && conn_flush(t, &t->conns[i], now) < 0)
                return;
        uint64_t ping = next_ping_ns(t);
        if (ping < deadline)
            deadline = ping;
        struct timespec ts = {0, 0};
        now = now_ns();
        if (deadline > now + cfg->spin_ns) {
            uint64_t w = deadline - now - cfg->spin_ns;
            ts.tv_sec = (time_t)(w / 1000000000ull);
            ts.tv_nsec = (long)(w % 1000000000ull);
        }
        int n = epoll_pwait2(t->ep, evs, 64, &ts, NULL);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            fail(t, "epoll_pwait2: %s", strerror(errno));
            return;
        }
        for (int i = 0; i < n; i++) {
            struct lg_conn *c = evs[i].data.ptr;
            if ((evs[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR)) && conn_read(t, c) < 0)
                return;
            if ((evs[i].events & EPOLLOUT) && conn_flush(t, c, now_ns()) < 0)
                return;
        }
    }
}

/* ---- sessions: blocking handshake, then non-blocking --------------------- */

static int read_frame_blocking(struct lg_conn *c, size_t cap, uint32_t *plen)
{
    for (;;) {
        int64_t fl = cv_proto_frame(c->in, c->in_len, (uint32_t)cap - 4, plen);
        if (fl > 0)
            return (int)fl;
        if (fl < 0)
            return (int)fl;
        ssize_t n = recv(c->fd, c->in + c->in_len, cap - c->in_len, 0);
        if (n == 0)
            return -ECONNRESET;
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        c->in_len += (size_t)n;
    }
}

static int send_all(int fd, const uint8_t *p, size_t len)
{
    while (len > 0) {
        ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return n < 0 ? -errno : -EIO;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

static int conn_open(struct lg_thread *t, struct lg_conn *c)
{
    const struct lg_cfg *cfg = t->cfg;
    struct timeval tv = {10, 0};
    int one = 1, rc;
    c->fd = socket(cfg->addr.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (c->fd < 0) {
        fail(t, "socket: %s", strerror(errno));
        return -1;
    }
    setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(c->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    if (connect(c->fd, (const struct sockaddr *)&cfg->addr, cfg->addrlen) < 0) {
        fail(t, "connection %d: connect to %s:%s: %s", c->gid, cfg->host, cfg->port,
             strerror(errno));
        return -1;
    }
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    static const uint8_t zero_passwd[16];
    struct cv_connect_request req = {0, 0, cfg->timeout_ms, 0, {zero_passwd, 16}, 0, 1};
    int n = cv_proto_encode_connect_request(c->out, cfg->out_cap, &req);
    if (n < 0 || (rc = send_all(c->fd, c->out, (size_t)n)) < 0) {
        fail(t, "connection %d: sending ConnectRequest: %s", c->gid, strerror(n < 0 ? -n : -rc));
        return -1;
    }
    uint32_t plen;
    int fl = read_frame_blocking(c, cfg->in_cap, &plen);
    if (fl < 0) {
        fail(t, "connection %d: no ConnectResponse: %s", c->gid, strerror(-fl));
        return -1;
    }
    struct cv_connect_response resp;
    rc = cv_proto_decode_connect_response(c->in + 4, plen, &resp);
    if (rc < 0) {
        fail(t, "connection %d: malformed ConnectResponse (%s)", c->gid, strerror(-rc));
        return -1;
    }
    if (resp.timeout <= 0 || resp.session_id == 0) {
        fail(t, "connection %d: the server refused the session (timeout %d)", c->gid, resp.timeout);
        return -1;
    }
    c->timeout_ms = resp.timeout;
    c->session_id = resp.session_id;
    memmove(c->in, c->in + fl, c->in_len - (size_t)fl);
    c->in_len -= (size_t)fl;
    c->last_tx_ns = now_ns();
    if (fcntl(c->fd, F_SETFL, fcntl(c->fd, F_GETFL) | O_NONBLOCK) < 0) {
        fail(t, "fcntl: %s", strerror(errno));
        return -1;
    }
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
    if (epoll_ctl(t->ep, EPOLL_CTL_ADD, c->fd, &ev) < 0) {
        fail(t, "epoll_ctl: %s", strerror(errno));
        return -1;
    }
    return 0;
}

/* closeSession, so the server does not keep the sessions until they expire.
 * Best effort: waits at most 2 s per connection. */
static void conn_close(struct lg_thread *t, struct lg_conn *c)
{
    if (c->fd < 0)
        return;
    if (!atomic_load(&lg_failed) && conn_inflight(c) == 0) {
        struct timeval tv = {2, 0};
        fcntl(c->fd, F_SETFL, fcntl(c->fd, F_GETFL) & ~O_NONBLOCK);
        setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        c->out_off = c->out_len = 0;
        if (conn_send_bare(t, c, c->next_xid, CV_OP_CLOSE_SESSION) == 0 &&
            send_all(c->fd, c->out, c->out_len) == 0) {
            for (;;) { /* until the reply, or the server closes */
                uint32_t plen;
                int fl = read_frame_blocking(c, t->cfg->in_cap, &plen);
                if (fl <= 0 || plen < 4 || (int32_t)cv_jute_rd32(c->in + 4) == c->next_xid)
                    break;
                memmove(c->in, c->in + fl, c->in_len - (size_t)fl);
                c->in_len -= (size_t)fl;
            }
        }
    }
    close(c->fd);
    c->fd = -1;
}

static void *thread_main(void *arg)
{
    struct lg_thread *t = arg;
    for (int i = 0; i < t->nconns && !atomic_load(&lg_failed); i++)
        if (conn_open(t, &t->conns[i]) < 0)
            break;
    if (!atomic_load(&lg_failed))
        event_loop(t, PH_SETUP);
    pthread_barrier_wait(&t->run->bar); /* setup done everywhere */
    pthread_barrier_wait(&t->run->bar); /* t0 set */
    if (!atomic_load(&lg_failed))
        event_loop(t, PH_RUN);
    if (t->cfg->rate > 0 && t->stop_ns && !t->stop_by_count) {
        /* Scheduled before the end but never sent: the server fell behind. */
        uint64_t end = t->stop_ns < t->run->t_end ? t->stop_ns : t->run->t_end;
        double span = (double)(end - t->run->t0) / t->period_ns; /* due < end */
        uint64_t want = (uint64_t)span;
        if ((double)want < span)
            want++;
        t->unsent = want > t->sched_k ? want - t->sched_k : 0;
    }
    for (int i = 0; i < t->nconns; i++)
        conn_close(t, &t->conns[i]);
    return NULL;
}

/* ---- options and report -------------------------------------------------- */

static void usage(FILE *f)
{
    fprintf(f, "usage: bench_loadgen [options]\n"
               "  --host H            server address (127.0.0.1)\n"
               "  --port P            client port (2181)\n"
               "  --op OP             create|setData|getData|exists|delete|mixed (getData)\n"
               "  --mix R:W           mixed: getData:setData ratio (9:1)\n"
               "  --conns N           connections, one session each (8)\n"
               "  --outstanding K     requests in flight per connection: closed loop (1);\n"
               "                      with --rate, the cap per connection (1024)\n"
               "  --rate R            open loop: R requests/s in total on a fixed schedule,\n"
               "                      latency from the intended send time\n"
               "  --value-size B      bytes of data for create/setData/the keys (100)\n"
               "  --keys N            znodes per connection for getData/setData/exists/\n"
               "                      mixed (100); delete: ceil(ops/conns), else 10000\n"
               "  --duration S        measured seconds (10 unless --ops is given)\n"
               "  --ops N             measured requests in total (stops at N)\n"
               "  --warmup S          seconds sent before measuring (1; 0 with --ops only)\n"
               "  --threads T         client threads, connections split among them (1)\n"
               "  --session-timeout MS  requested session timeout (30000)\n"
               "  --spin-us US        open loop: wake US early and spin, so requests leave on\n"
               "                      time (0: sleep to the deadline; the timer's wake-up\n"
               "                      delay, ~30 us here, then counts as latency, but no\n"
               "                      CPU is taken from a server on the same cores)\n"
               "  --prefix PATH       subtree root (/bench); connection N uses PATH/cN\n"
               "  --no-setup          create nothing up front (e.g. to see NONODE errors)\n"
               "  --json              one machine-readable line instead of the report\n");
}

static double parse_num(const char *opt, const char *s, double lo, double hi)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end || v < lo || v > hi) {
        fprintf(stderr, "loadgen: %s %s: expected a number in [%g, %g]\n", opt, s, lo, hi);
        exit(1);
    }
    return v;
}

static void parse_args(int argc, char **argv, struct lg_cfg *cfg)
{
    enum {
        O_HOST = 256,
        O_PORT,
        O_OP,
        O_MIX,
        O_CONNS,
        O_OUT,
        O_RATE,
        O_VALUE,
        O_KEYS,
        O_DUR,
        O_OPS,
        O_WARM,
        O_THREADS,
        O_TIMEOUT,
        O_PREFIX,
        O_SPIN,
        O_NOSETUP,
        O_JSON,
        O_HELP
    };
    static const struct option opts[] = {{"host", 1, NULL, O_HOST},
                                         {"port", 1, NULL, O_PORT},
                                         {"op", 1, NULL, O_OP},
                                         {"mix", 1, NULL, O_MIX},
                                         {"conns", 1, NULL, O_CONNS},
                                         {"outstanding", 1, NULL, O_OUT},
                                         {"rate", 1, NULL, O_RATE},
                                         {"value-size", 1, NULL, O_VALUE},
                                         {"keys", 1, NULL, O_KEYS},
                                         {"duration", 1, NULL, O_DUR},
                                         {"ops", 1, NULL, O_OPS},
                                         {"warmup", 1, NULL, O_WARM},
                                         {"threads", 1, NULL, O_THREADS},
                                         {"session-timeout", 1, NULL, O_TIMEOUT},
                                         {"prefix", 1, NULL, O_PREFIX},
                                         {"spin-us", 1, NULL, O_SPIN},
                                         {"no-setup", 0, NULL, O_NOSETUP},
                                         {"json", 0, NULL, O_JSON},
                                         {"help", 0, NULL, O_HELP},
                                         {NULL, 0, NULL, 0}};
    int have_out = 0, have_keys = 0, have_dur = 0, have_warm = 0, o;
    cfg->host = "127.0.0.1";
    cfg->port = "2181";
    cfg->prefix = "/bench";
    cfg->conns = 8;
    cfg->outstanding = 1;
    cfg->threads = 1;
    cfg->work = W_GET;
    cfg->mix_r = 9;
    cfg->mix_w = 1;
    cfg->value_size = 100;
    cfg->keys = 100;
    cfg->duration = 10;
    cfg->warmup = 1;
    cfg->timeout_ms = 30000;
    while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (o) {
        case O_HOST: cfg->host = optarg; break;
        case O_PORT: cfg->port = optarg; break;
        case O_OP: {
            int found = 0;
            for (int w = 0; w <= W_MIXED; w++)
                if (strcmp(optarg, lg_work_name[w]) == 0) {
                    cfg->work = (enum lg_work)w;
                    found = 1;
                }
            if (!found) {
                fprintf(stderr,
                        "loadgen: --op %s: expected one of create, setData, getData, "
                        "exists, delete, mixed\n",
                        optarg);
                exit(1);
            }
            break;
        }
        case O_MIX:
            if (sscanf(optarg, "%d:%d", &cfg->mix_r, &cfg->mix_w) != 2 || cfg->mix_r < 0 ||
                cfg->mix_w < 0 || cfg->mix_r + cfg->mix_w == 0 || cfg->mix_r > 1000000 ||
                cfg->mix_w > 1000000) {
                fprintf(stderr, "loadgen: --mix %s: expected READS:WRITES, e.g. 9:1\n", optarg);
                exit(1);
            }
            break;
        case O_CONNS: cfg->conns = (int)parse_num("--conns", optarg, 1, 4096); break;
        case O_OUT:
            cfg->outstanding = (int)parse_num("--outstanding", optarg, 1, 65536);
            have_out = 1;
            break;
        case O_RATE: cfg->rate = parse_num("--rate", optarg, 0.001, 1e9); break;
        case O_VALUE: cfg->value_size = (int)parse_num("--value-size", optarg, 0, 1000000); break;
        case O_KEYS:
            cfg->keys = (uint32_t)parse_num("--keys", optarg, 1, 99999999);
            have_keys = 1;
            break;
        case O_DUR:
            cfg->duration = parse_num("--duration", optarg, 0.001, 86400);
            have_dur = 1;
            break;
        case O_OPS: cfg->ops = (uint64_t)parse_num("--ops", optarg, 1, 1e12); break;
        case O_WARM:
            cfg->warmup = parse_num("--warmup", optarg, 0, 86400);
            have_warm = 1;
            break;
        case O_THREADS: cfg->threads = (int)parse_num("--threads", optarg, 1, 256); break;
        case O_TIMEOUT:
            cfg->timeout_ms = (int)parse_num("--session-timeout", optarg, 1, 3600000);
            break;
        case O_PREFIX: cfg->prefix = optarg; break;
        case O_SPIN:
            cfg->spin_ns = (uint64_t)(parse_num("--spin-us", optarg, 0, 10000) * 1000);
            break;
        case O_NOSETUP: cfg->no_setup = 1; break;
        case O_JSON: cfg->json = 1; break;
        case O_HELP: usage(stdout); exit(0);
        default: usage(stderr); exit(1);
        }
    }
    if (optind < argc) {
        fprintf(stderr, "loadgen: unexpected argument %s\n", argv[optind]);
        exit(1);
    }
    if (cfg->ops && !have_dur)
        cfg->duration = 0;
    if (cfg->ops && !have_dur && !have_warm)
        cfg->warmup = 0;
    if (cfg->rate > 0 && !have_out)
        cfg->outstanding = 1024;
    if (cfg->work == W_DELETE && !have_keys)
        cfg->keys = cfg->ops
                        ? (uint32_t)((cfg->ops + (uint64_t)cfg->conns - 1) / (uint64_t)cfg->conns)
                        : 10000;
    if (cfg->threads > cfg->conns)
        cfg->threads = cfg->conns;
    if (cfg->prefix[0] != '/' || strlen(cfg->prefix) > 100 ||
        (strlen(cfg->prefix) > 1 && cfg->prefix[strlen(cfg->prefix) - 1] == '/')) {
        fprintf(stderr,
                "loadgen: --prefix %s: expected an absolute path of at most 100 bytes, "
                "without a trailing /\n",
                cfg->prefix);
        exit(1);
    }
}

static void resolve(struct lg_cfg *cfg)
{
    struct addrinfo hints, *res;
    memset(&hints, 0, sizeof hints);
    hints.ai_socktype = SOCK_STREAM;
    int rc = getaddrinfo(cfg->host, cfg->port, &hints, &res);
    if (rc != 0) {
        fprintf(stderr, "loadgen: %s:%s: %s\n", cfg->host, cfg->port, gai_strerror(rc));
        exit(1);
    }
    memcpy(&cfg->addr, res->ai_addr, res->ai_addrlen);
    cfg->addrlen = res->ai_addrlen;
    freeaddrinfo(res);
}

static void *xcalloc(size_t n, size_t sz)
{
    void *p = calloc(n ? n : 1, sz);
    if (!p) {
        fprintf(stderr, "loadgen: out of memory\n");
        exit(1);
    }
    return p;
}

static double us(uint64_t ns)
{
    return (double)ns / 1000.0;
}

static void print_lat_text(const char *label, const struct lg_hist *h)
{
    printf("  %-10s n=%-9" PRIu64 " min %.1f  p50 %.1f  p90 %.1f  p99 %.1f  p99.9 %.1f  "
           "p99.99 %.1f  max %.1f  mean %.1f (us)\n",
           label, h->count, us(h->min_ns), us(hist_pct(h, 50)), us(hist_pct(h, 90)),
           us(hist_pct(h, 99)), us(hist_pct(h, 99.9)), us(hist_pct(h, 99.99)), us(h->max_ns),
           h->count ? us(h->sum_ns / h->count) : 0.0);
}

static void print_lat_json(const char *pfx, const struct lg_hist *h)
{
    printf("\"%sp50_us\":%.1f,\"%sp90_us\":%.1f,\"%sp99_us\":%.1f,\"%sp999_us\":%.1f,"
           "\"%sp9999_us\":%.1f,\"%smax_us\":%.1f,\"%smin_us\":%.1f,\"%smean_us\":%.1f",
           pfx, us(hist_pct(h, 50)), pfx, us(hist_pct(h, 90)), pfx, us(hist_pct(h, 99)), pfx,
           us(hist_pct(h, 99.9)), pfx, us(hist_pct(h, 99.99)), pfx, us(h->max_ns), pfx,
           us(h->min_ns), pfx, h->count ? us(h->sum_ns / h->count) : 0.0);
}

static void free_all(struct lg_cfg *cfg, struct lg_thread *th)
{
    for (int i = 0; th && i < cfg->threads; i++) {
        for (int j = 0; th[i].conns && j < th[i].nconns; j++) {
            struct lg_conn *c = &th[i].conns[j];
            if (c->fd >= 0)
                close(c->fd);
            free(c->in);
            free(c->out);
            free(c->ring);
            free(c->need_set);
        }
        free(th[i].conns);
        if (th[i].ep >= 0)
            close(th[i].ep);
    }
    free(th);
    free(cfg->value);
}

int main(int argc, char **argv)
{
    struct lg_cfg cfg;
    memset(&cfg, 0, sizeof cfg);
    parse_args(argc, argv, &cfg);
    resolve(&cfg);

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    prctl(PR_SET_TIMERSLACK, 1UL, 0UL, 0UL, 0UL); /* open-loop sends on time */

    /* Everything a request needs is allocated here, once. */
    uint32_t ring = 1;
    while (ring < (uint32_t)cfg.outstanding || ring < LG_SETUP_DEPTH)
        ring <<= 1;
    cfg.ring_size = ring;
    cfg.frame_max = (size_t)cfg.value_size + LG_PATH_MAX + 256;
    cfg.out_cap = (size_t)(ring + 4) * cfg.frame_max;
    cfg.in_cap = 256 * 1024 + 2 * cfg.frame_max;
    cfg.value = xcalloc((size_t)cfg.value_size, 1);
    for (int i = 0; i < cfg.value_size; i++)
        cfg.value[i] = (uint8_t)('a' + i % 26);
    uint64_t seed = now_ns() ^ ((uint64_t)getpid() << 32);
    snprintf(cfg.tag, sizeof cfg.tag, "r%06x-", (unsigned)(xorshift(&seed) & 0xffffff));

    struct lg_run run;
    memset(&run, 0, sizeof run);
    run.cfg = &cfg;
    run.t_meas = run.t_end = UINT64_MAX;
    pthread_barrier_init(&run.bar, NULL, (unsigned)cfg.threads + 1);

    struct lg_thread *th = xcalloc((size_t)cfg.threads, sizeof *th);
    for (int i = 0; i < cfg.threads; i++) {
        struct lg_thread *t = &th[i];
        t->run = &run;
        t->cfg = &cfg;
        t->id = i;
        t->nconns = cfg.conns / cfg.threads + (i < cfg.conns % cfg.threads);
        t->conns = xcalloc((size_t)t->nconns, sizeof *t->conns);
        t->ep = epoll_create1(EPOLL_CLOEXEC);
        if (t->ep < 0) {
            fprintf(stderr, "loadgen: epoll_create1: %s\n", strerror(errno));
            return 2;
        }
        if (cfg.ops)
            t->quota =
                cfg.ops / (uint64_t)cfg.threads + ((uint64_t)i < cfg.ops % (uint64_t)cfg.threads);
        for (int j = 0; j < t->nconns; j++) {
            struct lg_conn *c = &t->conns[j];
            c->fd = -1;
            c->gid = i + j * cfg.threads;
            c->in = xcalloc(cfg.in_cap, 1);
            c->out = xcalloc(cfg.out_cap, 1);
            c->ring = xcalloc(ring, sizeof *c->ring);
            c->need_set = xcalloc(cfg.keys, 1);
            c->next_xid = 1;
            c->rng = (seed ^ (0x9e3779b97f4a7c15ull * (uint64_t)(c->gid + 1))) | 1;
            c->dir_len = (size_t)snprintf(c->path, sizeof c->path, "%s/c%d/",
                                          strcmp(cfg.prefix, "/") ? cfg.prefix : "", c->gid);
        }
    }
    /* The thread's share of the rate: period per request. */
    for (int i = 0; i < cfg.threads && cfg.rate > 0; i++)
        th[i].period_ns = 1e9 / (cfg.rate * (double)th[i].nconns / (double)cfg.conns);

    for (int i = 0; i < cfg.threads; i++)
        if (pthread_create(&th[i].tid, NULL, thread_main, &th[i]) != 0) {
            fprintf(stderr, "loadgen: pthread_create failed\n");
            return 2;
        }
    pthread_barrier_wait(&run.bar); /* every session open and set up */
    double cpu0 = cpu_seconds();
    run.t0 = now_ns();
    run.t_meas = run.t0 + (uint64_t)(cfg.warmup * 1e9);
    run.t_end = cfg.duration > 0 ? run.t_meas + (uint64_t)(cfg.duration * 1e9) : UINT64_MAX;
    pthread_barrier_wait(&run.bar);
    for (int i = 0; i < cfg.threads; i++)
        pthread_join(th[i].tid, NULL);
    /* The client's own CPU use over the run: near cfg.threads means the
     * client, not the server, may be the bottleneck. */
    uint64_t t_done = now_ns();
    double client_cpu =
        t_done > run.t0 ? (cpu_seconds() - cpu0) / ((double)(t_done - run.t0) / 1e9) : 0;
    if (atomic_load(&lg_failed)) {
        fprintf(stderr, "loadgen: run failed\n");
        free_all(&cfg, th);
        return 2;
    }

    /* Sum the threads. */
    static struct lg_hist all, kind[LG_NKIND], lag;
    uint64_t in_window = 0, measured = 0, t_last = 0, unsent = 0, max_lag = 0, issued = 0;
    uint64_t errs[LG_NERR] = {0}, err_other = 0, err_total = 0;
    for (int i = 0; i < cfg.threads; i++) {
        struct lg_thread *t = &th[i];
        for (int k = 0; k < LG_NKIND; k++) {
            hist_merge(&kind[k], &t->hist[k]);
            hist_merge(&all, &t->hist[k]);
        }
        hist_merge(&lag, &t->lag);
        in_window += t->in_window;
        measured += t->measured;
        issued += t->issued_measured;
        if (t->t_last > t_last)
            t_last = t->t_last;
        unsent += t->unsent;
        if (t->max_lag_ns > max_lag)
            max_lag = t->max_lag_ns;
        for (int e = 0; e < LG_NERR; e++)
            errs[e] += t->errs[e];
        err_other += t->err_other;
        err_total += t->err_total;
    }
    /* The window: --duration, or until the last reply when the run ended
     * earlier (--ops, keys exhausted, interrupted). */
    uint64_t end = run.t_end;
    int early = run.t_end == UINT64_MAX || lg_interrupted;
    for (int i = 0; i < cfg.threads; i++)
        if (th[i].stop_by_count)
            early = 1;
    if (early)
        end = t_last < run.t_end ? t_last : run.t_end;
    double secs = end > run.t_meas ? (double)(end - run.t_meas) / 1e9 : 0;
    uint64_t counted = end == run.t_end ? in_window : measured;
    double rate = secs > 0 ? (double)counted / secs : 0;

    if (counted == 0)
        fprintf(stderr, "loadgen: warning: no request was measured%s\n",
                cfg.work == W_DELETE ? " (the warm-up deleted every key: raise --keys or "
                                       "use --warmup 0)"
                                     : "");
    else if (cfg.work == W_DELETE && cfg.ops && measured < cfg.ops)
        fprintf(stderr,
                "loadgen: warning: delete ran out of keys after %" PRIu64
                " measured requests (--keys %u per connection)\n",
                measured, cfg.keys);

    char mode[64];
    if (cfg.rate > 0)
        snprintf(mode, sizeof mode, "open loop %g/s", cfg.rate);
    else
        snprintf(mode, sizeof mode, "closed loop");
    if (cfg.json) {
        printf("{\"op\":\"%s\",\"mode\":\"%s\",\"target_rate\":%.1f,\"conns\":%d,"
               "\"outstanding\":%d,\"threads\":%d,\"value_size\":%d,\"keys\":%u,"
               "\"warmup_s\":%.3f,\"seconds\":%.3f,\"ops\":%" PRIu64 ",\"ops_per_sec\":%.1f,",
               lg_work_name[cfg.work], cfg.rate > 0 ? "open" : "closed", cfg.rate, cfg.conns,
               cfg.outstanding, cfg.threads, cfg.value_size, cfg.keys, cfg.warmup, secs, counted,
               rate);
        print_lat_json("", &all);
        printf(",\"latency_samples\":%" PRIu64 ",\"unsent\":%" PRIu64 ",\"max_send_lag_us\":%.1f,"
               "\"send_lag_p99_us\":%.1f,\"client_cpu\":%.2f,\"interrupted\":%s,\"errors_total\":"
               "%" PRIu64 ",\"errors\":{",
               all.count, unsent, us(max_lag), us(hist_pct(&lag, 99)), client_cpu,
               lg_interrupted ? "true" : "false", err_total);
        int first = 1;
        for (int e = 1; e < LG_NERR; e++)
            if (errs[e]) {
                const char *n = cv_proto_err_name(-e);
                printf("%s\"%s\":%" PRIu64, first ? "" : ",", n ? n : "?", errs[e]);
                first = 0;
            }
        if (err_other)
            printf("%s\"other\":%" PRIu64, first ? "" : ",", err_other);
        printf("},\"by_op\":{");
        first = 1;
        for (int k = 0; k < LG_NKIND; k++)
            if (kind[k].count) {
                printf("%s\"%s\":{\"n\":%" PRIu64 ",", first ? "" : ",", lg_kind_name[k],
                       kind[k].count);
                print_lat_json("", &kind[k]);
                printf("}");
                first = 0;
            }
        printf("}}\n");
    } else {
        printf("loadgen: %s on %s:%s: %d conns x %d outstanding, %s, %d thread%s, value %d B, "
               "keys %u/conn, warmup %.1f s\n",
               lg_work_name[cfg.work], cfg.host, cfg.port, cfg.conns, cfg.outstanding, mode,
               cfg.threads, cfg.threads > 1 ? "s" : "", cfg.value_size, cfg.keys, cfg.warmup);
        printf("  throughput %" PRIu64 " replies in %.3f s = %.1f ops/s%s\n", counted, secs, rate,
               lg_interrupted ? " (interrupted)" : "");
        print_lat_text("latency", &all);
        int nk = 0;
        for (int k = 0; k < LG_NKIND; k++)
            nk += kind[k].count > 0;
        for (int k = 0; k < LG_NKIND && nk > 1; k++)
            if (kind[k].count)
                print_lat_text(lg_kind_name[k], &kind[k]);
        if (cfg.rate > 0)
            printf("  schedule   send lag p50 %.1f  p99 %.1f  max %.1f us, %" PRIu64
                   " scheduled requests unsent%s\n",
                   us(hist_pct(&lag, 50)), us(hist_pct(&lag, 99)), us(max_lag), unsent,
                   unsent ? " (the server could not keep up: latencies understate)" : "");
        if (all.clamped)
            printf("  %" PRIu64 " latencies above 60 s were recorded as 60 s\n", all.clamped);
        printf("  client     %.2f CPUs busy during the run (%d thread%s)\n", client_cpu,
               cfg.threads, cfg.threads > 1 ? "s" : "");
        printf("  errors     ");
        if (!err_total)
            printf("none");
        for (int e = 1; e < LG_NERR; e++)
            if (errs[e]) {
                const char *n = cv_proto_err_name(-e);
                printf("%s %" PRIu64 " (%d)  ", n ? n : "?", errs[e], -e);
            }
        if (err_other)
            printf("other %" PRIu64, err_other);
        printf("\n");
    }
    (void)issued;
    free_all(&cfg, th);
    return 0;
}
