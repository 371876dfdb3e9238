/* Publishing into the counter registry, views from it, and the admin
 * mailbox (see cv_server.h). */
#include "cv_server.h"
#include "cv_server_fourlw.h"

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include <rte_cycles.h>
#include <rte_ring.h>

static int64_t open_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    int64_t n = 0;
    if (!d)
        return 0;
    while (readdir(d))
        n++;
    closedir(d);
    return n > 2 ? n - 3 : 0; /* ., .. and the directory's own fd */
}

/* ---- publishing ------------------------------------------------------------ */

#define SET(id, val)  cv_metric_set(sl, CV_M_##id, (uint64_t)(val))
#define SETI(id, val) cv_metric_set_i(sl, CV_M_##id, (int64_t)(val))

static void publish_zab(struct cv_metrics_slot *sl, struct cv_server *srv, struct cv_seq *seq)
{
    struct cv_zab *z = cv_seq_zab(seq);
    if (!z) {
        SET(MODE, 0);
        SET(SERVING, 1);
        SETI(LEADER_ID, 0);
        SETI(LEADING_SINCE_MS, 0);
        SETI(PROPOSAL_LAST, -1);
        SETI(PROPOSAL_MIN, -1);
        SETI(PROPOSAL_MAX, -1);
        return;
    }
    enum cv_zab_role r = cv_zab_role(z);
    struct cv_zab_stats zs;
    cv_zab_get_stats(z, &zs);
    struct cv_seq_ens_stats es;
    cv_seq_get_ens_stats(seq, &es);
    bool serving = cv_zab_serving(z);
    bool leading = r == CV_ZAB_LEADING;
    enum cv_fourlw_mode mode = leading                 ? CV_FOURLW_LEADER
                               : r == CV_ZAB_OBSERVING ? CV_FOURLW_OBSERVER
                                                       : CV_FOURLW_FOLLOWER;
    if (cv_seq_read_only(seq)) {
        serving = true;
        mode = CV_FOURLW_READ_ONLY;
    }
    SET(MODE, mode);
    SET(SERVING, serving);
    uint32_t voters = 0;
    for (uint32_t i = 0; i < srv->cfg->nservers; i++)
        voters += srv->cfg->servers[i].role == CV_ROLE_PARTICIPANT;
    SET(QUORUM_SIZE, voters);
    SETI(LEADER_ID, serving && mode != CV_FOURLW_READ_ONLY ? cv_zab_leader(z) : -1);
    SETI(LEADING_SINCE_MS, leading && es.leading_since_ms > 0 ? es.leading_since_ms : 0);
    SETI(PROPOSAL_LAST, leading ? es.proposal_last : -1);
    SETI(PROPOSAL_MIN, leading ? es.proposal_min : -1);
    SETI(PROPOSAL_MAX, leading ? es.proposal_max : -1);
    SET(LEARNERS, leading ? zs.followers : 0);
    SET(SYNCED_FOLLOWERS, leading ? zs.synced_followers : 0);
    SET(SYNCED_OBSERVERS, leading ? zs.synced_observers : 0);
    SET(PENDING_SYNCS, leading ? zs.pending_syncs : 0);
    SET(ELECTIONS, zs.elections);
    SET(PROPOSALS, zs.proposals);
    SET(COMMITS, zs.commits);
    SET(SYNCS_DIFF, zs.syncs_diff);
    SET(SYNCS_TRUNC, zs.syncs_trunc);
    SET(SYNCS_SNAP, zs.syncs_snap);
    SET(PEERS_DROPPED, zs.peers_dropped);
    SET(LAG_DETACHES, zs.lag_detaches);
    SET(LAG_RESYNCS, zs.lag_resyncs);
    SET(ACK_LAG, zs.proposals > zs.commits ? zs.proposals - zs.commits : 0);
}

void cv_server_publish_seq(struct cv_server *srv, struct cv_seq *seq)
{
    struct cv_metrics_slot *sl = srv->seq_slot;
    struct cv_core *core = cv_seq_core(seq);
    struct cv_seq_stats st;
    cv_seq_get_stats(seq, &st);
    SET(PACKETS_RECEIVED, st.received);
    SET(PACKETS_SENT, st.sent);
    SET(REQUESTS, st.requests);
    SET(READS, st.reads);
    SET(WRITES, st.writes);
    SET(CONNECTS, st.connects);
    SET(SESSIONS_EXPIRED, st.expired);
    SET(AUTH_FAILED, st.auth_failed);
    SET(MALFORMED, st.malformed);
    SET(LAT_COUNT, st.lat_count);
    SET(LAT_SUM_US, st.lat_sum_us);
    SET(LAT_MIN_US, st.lat_min_us);
    SET(LAT_MAX_US, st.lat_max_us);
    /* Requests in the sequencer not answered yet: writes waiting for the log
     * and requests held behind them (ZooKeeper: its processors' queues). */
    SET(OUTSTANDING, (uint64_t)st.pending_txns + st.held_requests);
    SET(PENDING_TXNS, st.pending_txns);
    SET(HELD_REQUESTS, st.held_requests);
    SET(CONNECTIONS, st.connections);
    SET(SESSIONS_CONNECTED, st.sessions_here);
    SETI(STARTED_MS, st.started_ms);
    uint64_t wcount = 0;
    for (int b = 0; b < 32; b++)
        wcount += st.write_hist[b];
    uint64_t lcount = 0;
    for (int b = 0; b < 32; b++)
        lcount += st.lat_hist[b];
    cv_hist_publish(sl, CV_H_REQUEST_LATENCY, st.lat_hist, 32, lcount, st.lat_hist_sum_us);
    cv_hist_publish(sl, CV_H_COMMIT_LATENCY, st.write_hist, 32, wcount, st.write_lat_sum_us);
    cv_hist_publish(sl, CV_H_PROPOSAL_COMMIT, st.prop_hist, 32, st.prop_count, st.prop_sum_us);

    SETI(ZXID, cv_core_last_applied(core));
    struct cv_tree *t = cv_core_tree(core);
    /* ZooKeeper's DataTree keys the root twice ("" and "/"): its node count
     * is one more than the znodes there are. Scripts compare with it. */
    SET(ZNODE_COUNT, cv_tree_node_count(t) + 1);
    SET(EPHEMERALS, cv_tree_ephemeral_total(t));
    SET(DATA_SIZE, cv_tree_data_bytes(t));
    uint32_t nsess = cv_sess_count(cv_core_sessions(core));
    SET(SESSIONS, nsess);
    struct cv_watch_stats ws;
    cv_watch_get_stats(cv_core_watches(core), &ws);
    SET(WATCH_COUNT, ws.watches);
    SET(WATCH_SESSIONS, ws.sessions);
    SET(WATCH_PATHS, ws.paths);
    publish_zab(sl, srv, seq);

    struct cv_store_stats ss;
    cv_seq_store_stats(seq, &ss);
    const struct cv_wal_stats *w = &ss.wal;
    SET(FSYNC_SLOW, w->slow_syncs);
    SET(LOG_BATCHES, w->batches);
    SET(LOG_RECORDS, w->records);
    SET(LOG_BYTES, w->bytes);
    SET(LOG_WRITE_MIN_US, w->write_ns_min / 1000);
    SET(LOG_WRITE_MAX_US, w->write_ns_max / 1000);
    SET(LOG_BACKEND, w->backend == CV_WAL_IO_URING);
    cv_hist_publish(sl, CV_H_LOG_WRITE, w->hist, 32, w->batches, w->write_ns_sum / 1000);
    SET(SNAPSHOTS, ss.snapshots);
    SET(SNAPSHOT_FAILURES, ss.snapshot_failures);
    SET(SNAPSHOT_MS_LAST, ss.snapshot_ms_last);
    SET(SNAPSHOT_MS_MAX, ss.snapshot_ms_max);
    SET(SNAPSHOT_MS_SUM, ss.snapshot_ms_sum);
    SETI(SNAPSHOT_ZXID, ss.last_snapshot_zxid);
    SETI(SNAPSHOT_TIME_MS, ss.last_snapshot_ms > 0 ? ss.last_snapshot_ms : 0);
    SET(SNAPSHOT_FORK_MAX_US, ss.fork_us_max);
    SET(RECOVERED_RECORDS, ss.recovered_records);
    SET(RECOVERY_MS, ss.recovery_ms);
}

void cv_lcore_pub_init(struct cv_lcore_pub *p, struct cv_metrics_slot *slot,
                       struct cv_reactor *reactor)
{
    memset(p, 0, sizeof *p);
    p->slot = slot;
    p->reactor = reactor;
    p->period_tsc = rte_get_tsc_hz() / 1000;
}

static void publish_lcore(struct cv_lcore_pub *p)
{
    struct cv_metrics_slot *sl = p->slot;
    SET(LCORE_ITERATIONS, p->reactor->iterations);
    SET(LCORE_BUSY, p->reactor->busy_iterations);
    SET(LCORE_SLEEPS, p->reactor->sleeps);
    if (p->io) {
        struct cv_io_stats st;
        cv_io_get_stats(p->io, &st);
        SET(IO_ACCEPTED, st.accepted);
        SET(IO_CLOSED, st.closed);
        SET(IO_REFUSED, st.refused_per_ip + st.refused_full);
        SET(IO_BAD_FRAMES, st.bad_frames);
        SET(IO_SLOW_READERS, st.slow_readers);
        SET(IO_PINGS, st.pings);
        SET(IO_FRAMES_IN, st.frames_in);
        SET(IO_BYTES_IN, st.bytes_in);
        SET(IO_OPEN, st.open);
        SET(IO_OUTSTANDING, st.outstanding);
        SET(IO_RING_TO_SEQ, p->to_seq ? rte_ring_count(p->to_seq) : 0);
        SET(IO_RING_FROM_SEQ, p->from_seq ? rte_ring_count(p->from_seq) : 0);
    }
}

#undef SET
#undef SETI

/* ---- the mailbox, sequencer side ------------------------------------------ */

struct fill {
    struct cv_ctl_box *b;
    size_t len;
    size_t n;
};

static void *box_take(struct fill *f, size_t size)
{
    size = (size + 7) & ~(size_t)7;
    if (f->len + size > f->b->cap) {
        f->b->truncated = true;
        return NULL;
    }
    void *p = f->b->buf + f->len;
    f->len += size;
    return p;
}

static int put_pair(void *ctx, int64_t session, const char *path, size_t len, unsigned kinds)
{
    struct fill *f = ctx;
    struct cv_ctl_pair *p = box_take(f, CV_CTL_PAIR_SIZE(len));
    if (!p)
        return 1;
    p->session = session;
    p->kinds = kinds;
    p->len = (uint32_t)len;
    memcpy(p->path, path, len);
    p->path[len] = 0;
    f->n++;
    return 0;
}

static int fill_conn(void *ctx, const struct cv_seq_conn_info *c)
{
    struct fill *f = ctx;
    struct cv_fourlw_conn *o = box_take(f, sizeof *o);
    if (!o)
        return 1;
    cv_server_conn_record(c, o);
    f->n++;
    return 0;
}

static void serve_box(struct cv_server *srv, struct cv_seq *seq)
{
    struct cv_ctl_box *b = srv->ctl;
    uint64_t posted = __atomic_load_n(&b->posted, __ATOMIC_ACQUIRE);
    if (posted == b->done)
        return;
    unsigned what = b->what;
    struct cv_core *core = cv_seq_core(seq);
    struct fill f = {b, 0, 0};
    b->truncated = false;
    b->nconns = b->nsessions = b->npairs = b->neph = 0;
    b->pairs_len = b->eph_len = 0;
    if (what & CV_CTL_RESET_CONNS)
        cv_seq_reset_conn_stats(seq);
    if (what & CV_CTL_RESET_STATS)
        cv_seq_reset_stats(seq);
    if (what & CV_CTL_SNAPSHOT)
        b->snapshot_rc = cv_seq_snapshot_now(seq);
    if (what & CV_CTL_CHECK) {
        struct cv_tree *t = cv_core_tree(core);
        b->check_rc = cv_tree_check(t); /* prints the first violation to stderr */
        snprintf(b->check_msg, sizeof b->check_msg, "%s",
                 b->check_rc ? "a tree invariant is broken (the first violation is in the "
                               "server's log)"
                             : "ok");
        /* what replicas must agree on: without /zookeeper/config, whose
         * mtime is each member's start time */
        b->digest = cv_tree_digest(t) - cv_tree_node_digest(t, "/zookeeper/config", 17);
        b->node_count = (int64_t)cv_tree_node_count(t) + 1;
    }
    b->zxid = cv_core_last_applied(core);
    if (what & CV_CTL_CONNS) {
        b->conns_off = f.len;
        f.n = 0;
        cv_seq_foreach_conn(seq, fill_conn, &f);
        b->nconns = f.n;
    }
    if (what & CV_CTL_SESSIONS) {
        b->sessions_off = f.len;
        struct cv_sess_info infos[256];
        const int64_t *after = NULL;
        int64_t last;
        for (;;) {
            size_t n = cv_sess_list(cv_core_sessions(core), after, infos, 256);
            for (size_t i = 0; i < n; i++) {
                struct cv_fourlw_session *o = box_take(&f, sizeof *o);
                if (!o)
                    break;
                o->id = infos[i].id;
                o->expire_wall_ms = infos[i].deadline;
                b->nsessions++;
            }
            if (n < 256 || b->truncated)
                break;
            last = infos[n - 1].id;
            after = &last;
        }
    }
    if (what & CV_CTL_WATCHES) {
        b->pairs_off = f.len;
        f.n = 0;
        cv_server_walk_watches(seq, what & CV_CTL_WATCHES_BYPATH, put_pair, &f);
        b->npairs = f.n;
        b->pairs_len = f.len - b->pairs_off;
    }
    if (what & CV_CTL_EPHEMERALS) {
        b->eph_off = f.len;
        f.n = 0;
        cv_server_walk_ephemerals(seq, put_pair, &f);
        b->neph = f.n;
        b->eph_len = f.len - b->eph_off;
    }
    cv_server_publish_seq(srv, seq);
    __atomic_store_n(&b->done, posted, __ATOMIC_RELEASE);
}

int cv_server_lcore_poll(void *arg)
{
    struct cv_lcore_pub *p = arg;
    if (p->srv && p->srv->ctl)
        serve_box(p->srv, p->seq);
    uint64_t now = rte_get_tsc_cycles();
    if (now < p->next_tsc)
        return 0;
    p->next_tsc = now + p->period_tsc;
    publish_lcore(p);
    if (p->srv)
        cv_server_publish_seq(p->srv, p->seq);
    return 0;
}

/* ---- views ------------------------------------------------------------------- */

void cv_server_read(const struct cv_server *srv, struct cv_metrics_read *r)
{
    cv_metrics_read(srv->metrics, r);
    r->v[CV_M_OPEN_FDS] = open_fds();
    struct rlimit rl;
    r->v[CV_M_MAX_FDS] = getrlimit(RLIMIT_NOFILE, &rl) == 0 ? (int64_t)rl.rlim_cur : 0;
}

static bool lookup(void *ctx, const char *key, double *value)
{
    const struct cv_metrics_read *r = ctx;
    int id = cv_metrics_find_zk(key);
    if (id >= 0) {
        *value = (double)r->v[id];
        return true;
    }
    if (strcmp(key, "cnt_startup_txns_loaded") == 0 ||
        strcmp(key, "cnt_startup_txns_load_time") == 0)
        *value = 1;
    else if (strcmp(key, "sum_startup_txns_loaded") == 0 ||
             strcmp(key, "max_startup_txns_loaded") == 0 ||
             strcmp(key, "min_startup_txns_loaded") == 0 ||
             strcmp(key, "avg_startup_txns_loaded") == 0)
        *value = (double)r->v[CV_M_RECOVERED_RECORDS];
    else if (strcmp(key, "sum_startup_txns_load_time") == 0 ||
             strcmp(key, "max_startup_txns_load_time") == 0 ||
             strcmp(key, "min_startup_txns_load_time") == 0 ||
             strcmp(key, "avg_startup_txns_load_time") == 0)
        *value = (double)r->v[CV_M_RECOVERY_MS];
    else if (strcmp(key, "cnt_snapshottime") == 0)
        *value = (double)r->v[CV_M_SNAPSHOTS];
    else if (strcmp(key, "sum_snapshottime") == 0)
        *value = (double)r->v[CV_M_SNAPSHOT_MS_SUM];
    else if (strcmp(key, "max_snapshottime") == 0)
        *value = (double)r->v[CV_M_SNAPSHOT_MS_MAX];
    else if (strcmp(key, "avg_snapshottime") == 0)
        *value = r->v[CV_M_SNAPSHOTS]
                     ? (double)r->v[CV_M_SNAPSHOT_MS_SUM] / (double)r->v[CV_M_SNAPSHOTS]
                     : 0;
    else if (strcmp(key, "learner_proposal_received_count") == 0 ||
             strcmp(key, "learner_commit_received_count") == 0) {
        int64_t mode = r->v[CV_M_MODE];
        bool learner = mode == CV_FOURLW_FOLLOWER || mode == CV_FOURLW_OBSERVER;
        *value = learner ? (double)r->v[key[8] == 'p' ? CV_M_PROPOSALS : CV_M_COMMITS] : 0;
    } else
        return false;
    return true;
}

void cv_server_view(const struct cv_server *srv, const struct cv_metrics_read *r,
                    struct cv_fourlw_view *v)
{
    memset(v, 0, sizeof *v);
    v->config = srv->cfg;
    v->version = srv->version;
    v->env = &srv->env;
    v->mode = (enum cv_fourlw_mode)r->v[CV_M_MODE];
    v->serving = r->v[CV_M_SERVING] != 0;
    if (v->mode != CV_FOURLW_STANDALONE && v->mode != CV_FOURLW_READ_ONLY)
        v->peer_state = !v->serving                     ? "looking - election"
                        : v->mode == CV_FOURLW_LEADER   ? "leading - broadcast"
                        : v->mode == CV_FOURLW_OBSERVER ? "observing - broadcast"
                                                        : "following - broadcast";
    if (v->mode == CV_FOURLW_READ_ONLY)
        v->peer_state = "looking - election";
    const int64_t *x = r->v;
    v->zxid = x[CV_M_ZXID];
    /* ZooKeeper keeps latencies in ms */
    v->latency.count = x[CV_M_LAT_COUNT];
    v->latency.total = x[CV_M_LAT_SUM_US] / 1000;
    v->latency.min = x[CV_M_LAT_MIN_US] / 1000;
    v->latency.max = x[CV_M_LAT_MAX_US] / 1000;
    v->packets_received = x[CV_M_PACKETS_RECEIVED];
    v->packets_sent = x[CV_M_PACKETS_SENT];
    v->outstanding_requests = x[CV_M_OUTSTANDING];
    v->node_count = x[CV_M_ZNODE_COUNT];
    v->watch_count = x[CV_M_WATCH_COUNT];
    v->ephemerals_count = x[CV_M_EPHEMERALS];
    v->approximate_data_size = x[CV_M_DATA_SIZE];
    v->global_sessions = x[CV_M_SESSIONS];
    v->num_connections = x[CV_M_CONNECTIONS];
    v->open_fds = x[CV_M_OPEN_FDS];
    v->max_fds = x[CV_M_MAX_FDS];
    v->uptime_ms = x[CV_M_STARTED_MS] ? cv_rt_now_ms() - x[CV_M_STARTED_MS] : 0;
    v->quorum_size = (int32_t)x[CV_M_QUORUM_SIZE];
    v->learners = x[CV_M_LEARNERS];
    v->synced_followers = x[CV_M_SYNCED_FOLLOWERS];
    v->synced_observers = x[CV_M_SYNCED_OBSERVERS];
    v->pending_syncs = x[CV_M_PENDING_SYNCS];
    v->leader_uptime_ms =
        x[CV_M_LEADING_SINCE_MS] > 0 ? cv_rt_now_ms() - x[CV_M_LEADING_SINCE_MS] : 0;
    v->proposal_last = x[CV_M_PROPOSAL_LAST];
    v->proposal_min = x[CV_M_PROPOSAL_MIN];
    v->proposal_max = x[CV_M_PROPOSAL_MAX];
    v->observer_master_id = x[CV_M_LEADER_ID];
    v->response_last = v->response_min = v->response_max = -1;
    v->watch_sessions = x[CV_M_WATCH_SESSIONS];
    v->watch_paths = x[CV_M_WATCH_PATHS];
    v->watch_pairs = x[CV_M_WATCH_COUNT];
    const struct cv_hist *fs = &r->h[CV_H_LOG_WRITE];
    v->fsync_time.count = x[CV_M_LOG_BATCHES];
    v->fsync_time.total = (int64_t)(fs->sum_us / 1000);
    v->fsync_time.min = x[CV_M_LOG_WRITE_MIN_US] / 1000;
    v->fsync_time.max = x[CV_M_LOG_WRITE_MAX_US] / 1000;
    v->mntr_lookup = lookup;
    v->mntr_ctx = (void *)r;
}

void cv_server_dir_sizes(const struct cv_server *srv, struct cv_fourlw_view *v)
{
    /* ZooKeeper sums its snapshot and log directories on each call, too. */
    char log[CV_CONFIG_PATH_MAX + 32], snap[CV_CONFIG_PATH_MAX + 32];
    cv_store_paths(srv->cfg->data_dir, srv->cfg->data_log_dir, log, snap, sizeof log);
    v->data_dir_size = cv_store_dir_bytes(snap);
    v->log_dir_size = cv_store_dir_bytes(log);
}

size_t cv_server_mntr_extra(const struct cv_metrics_read *r, char *out, size_t cap)
{
    size_t len = 0;
#define OUT(...)                                                                                   \
    do {                                                                                           \
        if (len < cap) {                                                                           \
            int k_ = snprintf(out + len, cap - len, __VA_ARGS__);                                  \
            len += k_ > 0 ? (size_t)k_ : 0;                                                        \
        }                                                                                          \
    } while (0)
    /* ZooKeeper 3.5's name for the slow-sync count (3.8 has it in srvr's JSON only) */
    OUT("zk_fsync_threshold_exceed_count\t%" PRId64 "\n", r->v[CV_M_FSYNC_SLOW]);
    for (int id = 0; id < CV_M_COUNT; id++) {
        const char *zk = cv_metric_defs[id].zk;
        if (zk && strncmp(zk, "corvid_", 7) == 0)
            OUT("zk_%s\t%" PRId64 "\n", zk, r->v[id]);
    }
    OUT("zk_corvid_log_backend\t%s\n", r->v[CV_M_LOG_BACKEND] ? "io_uring" : "pwrite");
    /* the log write latency histogram: cumulative counts per power-of-two
     * bucket of microseconds */
    const struct cv_hist *h = &r->h[CV_H_LOG_WRITE];
    uint64_t cum = 0, total = 0;
    int last = 0;
    for (int b = 0; b < CV_HIST_BUCKETS; b++) {
        total += h->bucket[b];
        if (h->bucket[b])
            last = b;
    }
    for (int b = 0; b <= last && b < CV_HIST_BUCKETS - 1; b++) {
        cum += h->bucket[b];
        OUT("zk_corvid_log_write_us_le_%llu\t%" PRIu64 "\n", 1ull << (b + 1), cum);
    }
    OUT("zk_corvid_log_write_us_le_inf\t%" PRIu64 "\n", total);
#undef OUT
    return len < cap ? len : cap - 1;
}

/* ---- the mailbox, control-plane side --------------------------------------- */

struct cv_ctl_box *cv_ctl_new(size_t cap)
{
    struct cv_ctl_box *b = NULL;
    if (posix_memalign((void **)&b, 64, sizeof *b))
        return NULL;
    memset(b, 0, sizeof *b);
    b->buf = malloc(cap);
    pthread_mutex_t *mu = malloc(sizeof *mu);
    if (!b->buf || !mu) {
        free(b->buf);
        free(mu);
        free(b);
        return NULL;
    }
    pthread_mutex_init(mu, NULL);
    b->lock = mu;
    b->cap = cap;
    return b;
}

void cv_ctl_free(struct cv_ctl_box *b)
{
    if (!b)
        return;
    pthread_mutex_destroy(b->lock);
    free(b->lock);
    free(b->buf);
    free(b);
}

void cv_ctl_lock(struct cv_ctl_box *b)
{
    pthread_mutex_lock(b->lock);
}

void cv_ctl_unlock(struct cv_ctl_box *b)
{
    pthread_mutex_unlock(b->lock);
}

static bool wait_done(struct cv_ctl_box *b, uint64_t want, int timeout_ms)
{
    struct timespec nap = {0, 100000}; /* 0.1 ms */
    for (int64_t waited_us = 0;; waited_us += 100) {
        if (__atomic_load_n(&b->done, __ATOMIC_ACQUIRE) == want)
            return true;
        if (waited_us >= (int64_t)timeout_ms * 1000)
            return false;
        nanosleep(&nap, NULL);
    }
}

int cv_ctl_call(struct cv_ctl_box *b, unsigned what, int timeout_ms)
{
    /* a request that timed out earlier is finished first */
    if (!wait_done(b, b->posted, timeout_ms))
        return -ETIMEDOUT;
    b->what = what;
    uint64_t want = b->posted + 1;
    __atomic_store_n(&b->posted, want, __ATOMIC_RELEASE);
    return wait_done(b, want, timeout_ms) ? 0 : -ETIMEDOUT;
}

static int walk_pairs(const struct cv_ctl_box *b, size_t off, size_t len, cv_fourlw_visit_fn visit,
                      void *vctx)
{
    for (size_t o = off; o < off + len;) {
        const struct cv_ctl_pair *p = (const void *)(b->buf + o);
        int rc = visit(vctx, p->session, p->path, p->len, p->kinds);
        if (rc)
            return rc;
        o += CV_CTL_PAIR_SIZE(p->len);
    }
    return 0;
}

int cv_ctl_walk_watches(void *box, bool by_path, cv_fourlw_visit_fn visit, void *vctx)
{
    const struct cv_ctl_box *b = box;
    (void)by_path; /* the request chose the order (CV_CTL_WATCHES_BYPATH) */
    return walk_pairs(b, b->pairs_off, b->pairs_len, visit, vctx);
}

int cv_ctl_walk_ephemerals(void *box, cv_fourlw_visit_fn visit, void *vctx)
{
    const struct cv_ctl_box *b = box;
    return walk_pairs(b, b->eph_off, b->eph_len, visit, vctx);
}
