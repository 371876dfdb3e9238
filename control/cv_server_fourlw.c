/* Four-letter words of the standalone server: fills cv_fourlw's view from
 * the sequencer's state (runs on the sequencer lcore, as its hook). */
#include "cv_server_fourlw.h"

#include <arpa/inet.h>
#include <stdlib.h>
#include <inttypes.h>
#include <string.h>
#include <sys/resource.h>
#include <dirent.h>

#include "cv_fourlw.h"

struct conns_ctx {
    struct cv_fourlw_conn *arr;
    size_t n, cap;
};

static int collect_conn(void *ctx, const struct cv_seq_conn_info *c)
{
    struct conns_ctx *x = ctx;
    if (x->n == x->cap)
        return 1;
    struct cv_fourlw_conn *o = &x->arr[x->n++];
    memset(o, 0, sizeof *o);
    struct sockaddr_in *a4 = (struct sockaddr_in *)&o->remote;
    struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&o->remote;
    if (inet_pton(AF_INET, c->peer, &a4->sin_addr) == 1)
        a4->sin_family = AF_INET;
    else if (inet_pton(AF_INET6, c->peer, &a6->sin6_addr) == 1)
        a6->sin6_family = AF_INET6;
    o->interest_ops = 1;
    o->received = (int64_t)c->received;
    o->sent = (int64_t)c->sent;
    o->session_id = c->session;
    o->last_op = c->last_op;
    o->established_ms = c->established_ms;
    o->timeout = c->timeout;
    o->last_cxid = c->last_cxid;
    o->last_zxid = c->last_zxid;
    o->last_response_ms = c->last_response_ms;
    o->latency.count = (int64_t)c->lat_count;
    o->latency.total = (int64_t)(c->lat_sum_us / 1000);
    o->latency.min = (int64_t)(c->lat_min_us / 1000);
    o->latency.max = (int64_t)(c->lat_max_us / 1000);
    o->expire_wall_ms = c->last_response_ms + c->timeout;
    return 0;
}

static int walk_watches(void *ctx, bool by_path, cv_fourlw_visit_fn visit, void *vctx)
{
    struct cv_watches *w = cv_core_watches(cv_seq_core(ctx));
    return by_path ? cv_watch_foreach_by_path(w, visit, vctx)
                   : cv_watch_foreach_by_session(w, visit, vctx);
}

struct eph_ctx {
    cv_fourlw_visit_fn visit;
    void *vctx;
    int64_t session;
};

static int eph_one(void *ctx, const char *path, size_t len, const struct cv_znode *n)
{
    struct eph_ctx *e = ctx;
    (void)n;
    return e->visit(e->vctx, e->session, path, len, 0);
}

struct owners_ctx {
    struct cv_tree *t;
    struct eph_ctx e;
};

static int eph_owner(void *ctx, int64_t session)
{
    struct owners_ctx *o = ctx;
    o->e.session = session;
    return cv_tree_ephemerals(o->t, session, eph_one, &o->e);
}

static int walk_ephemerals(void *ctx, cv_fourlw_visit_fn visit, void *vctx)
{
    struct owners_ctx o = {cv_core_tree(cv_seq_core(ctx)), {visit, vctx, 0}};
    return cv_tree_ephemeral_owners(o.t, eph_owner, &o);
}

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

/* mntr lines for the log and snapshots beyond ZooKeeper's own keys: the
 * slow-sync counter under ZooKeeper 3.5's name, and the log write latency
 * histogram as cumulative counts per power-of-two bucket (microseconds). */
static size_t mntr_storage(const struct cv_seq_stats *st, const struct cv_store_stats *ss,
                           char *out, size_t cap)
{
    size_t len = 0;
#define OUT(...)                                                                                   \
    do {                                                                                           \
        if (len < cap) {                                                                           \
            int k_ = snprintf(out + len, cap - len, __VA_ARGS__);                                  \
            len += k_ > 0 ? (size_t)k_ : 0;                                                        \
        }                                                                                          \
    } while (0)
    OUT("zk_corvid_pending_txns\t%u\n", st->pending_txns);
    OUT("zk_corvid_held_requests\t%u\n", st->held_requests);
    const struct cv_wal_stats *w = &ss->wal;
    OUT("zk_fsync_threshold_exceed_count\t%" PRIu64 "\n", w->slow_syncs);
    OUT("zk_corvid_log_backend\t%s\n", w->backend == CV_WAL_IO_URING ? "io_uring" : "pwrite");
    OUT("zk_corvid_log_batches\t%" PRIu64 "\n", w->batches);
    OUT("zk_corvid_log_records\t%" PRIu64 "\n", w->records);
    OUT("zk_corvid_log_bytes\t%" PRIu64 "\n", w->bytes);
    OUT("zk_corvid_log_write_max_us\t%" PRIu64 "\n", w->write_ns_max / 1000);
    uint64_t cum = 0;
    int last = 0;
    for (int b = 0; b < 32; b++)
        if (w->hist[b])
            last = b;
    for (int b = 0; b <= last && b < 31; b++) {
        cum += w->hist[b];
        OUT("zk_corvid_log_write_us_le_%llu\t%" PRIu64 "\n", 1ull << (b + 1), cum);
    }
    OUT("zk_corvid_log_write_us_le_inf\t%" PRIu64 "\n", w->batches);
    OUT("zk_corvid_snapshot_last_zxid\t%" PRId64 "\n", ss->last_snapshot_zxid);
    OUT("zk_corvid_snapshot_failures\t%" PRIu64 "\n", ss->snapshot_failures);
    OUT("zk_corvid_snapshot_fork_max_us\t%" PRIu64 "\n", ss->fork_us_max);
#undef OUT
    return len < cap ? len : cap - 1;
}

struct lookup_ctx {
    struct cv_store_stats ss;
    struct cv_zab_stats zs;
    bool ensemble, leading;
};

/* ZooKeeper's own keys that storage and Zab feed. */
static bool mntr_lookup(void *ctx, const char *key, double *value)
{
    struct lookup_ctx *lc = ctx;
    const struct cv_store_stats *ss = &lc->ss;
    const struct cv_zab_stats *zs = &lc->zs;
    if (lc->ensemble && strcmp(key, "looking_count") == 0)
        *value = (double)zs->elections;
    else if (lc->leading && strcmp(key, "proposal_count") == 0)
        *value = (double)zs->proposals;
    else if (lc->leading && strcmp(key, "commit_count") == 0)
        *value = (double)zs->commits;
    else if (lc->leading && strcmp(key, "diff_count") == 0)
        *value = (double)zs->syncs_diff;
    else if (lc->ensemble && !lc->leading && strcmp(key, "learner_proposal_received_count") == 0)
        *value = (double)zs->proposals;
    else if (lc->ensemble && !lc->leading && strcmp(key, "learner_commit_received_count") == 0)
        *value = (double)zs->commits;
    else if (strcmp(key, "snap_count") == 0)
        *value = (double)ss->snapshots;
    else if (strcmp(key, "cnt_snapshottime") == 0)
        *value = (double)ss->snapshots;
    else if (strcmp(key, "sum_snapshottime") == 0)
        *value = (double)ss->snapshot_ms_sum;
    else if (strcmp(key, "max_snapshottime") == 0)
        *value = (double)ss->snapshot_ms_max;
    else if (strcmp(key, "avg_snapshottime") == 0)
        *value = ss->snapshots ? (double)ss->snapshot_ms_sum / (double)ss->snapshots : 0;
    else if (strcmp(key, "cnt_startup_txns_loaded") == 0 ||
             strcmp(key, "cnt_startup_txns_load_time") == 0)
        *value = 1;
    else if (strcmp(key, "sum_startup_txns_loaded") == 0 ||
             strcmp(key, "max_startup_txns_loaded") == 0 ||
             strcmp(key, "min_startup_txns_loaded") == 0 ||
             strcmp(key, "avg_startup_txns_loaded") == 0)
        *value = (double)ss->recovered_records;
    else if (strcmp(key, "sum_startup_txns_load_time") == 0 ||
             strcmp(key, "max_startup_txns_load_time") == 0 ||
             strcmp(key, "min_startup_txns_load_time") == 0 ||
             strcmp(key, "avg_startup_txns_load_time") == 0)
        *value = (double)ss->recovery_ms;
    else
        return false;
    return true;
}

size_t cv_server_fourlw(void *ctx, struct cv_seq *seq, const char cmd[4], char *out, size_t cap)
{
    struct cv_server_4lw *srv = ctx;
    struct cv_core *core = cv_seq_core(seq);
    struct cv_seq_stats st;
    cv_seq_get_stats(seq, &st);
    struct cv_fourlw_view v;
    memset(&v, 0, sizeof v);
    v.config = srv->cfg;
    v.version = srv->version;
    v.serving = true;
    v.mode = CV_FOURLW_STANDALONE;
    v.proposal_last = v.proposal_min = v.proposal_max = -1;
    struct lookup_ctx lc;
    memset(&lc, 0, sizeof lc);
    struct cv_zab *z = cv_seq_zab(seq);
    if (z) {
        /* An ensemble member: its role as ZooKeeper names it. */
        enum cv_zab_role r = cv_zab_role(z);
        struct cv_zab_stats zs;
        cv_zab_get_stats(z, &zs);
        lc.zs = zs;
        lc.ensemble = true;
        lc.leading = r == CV_ZAB_LEADING;
        struct cv_seq_ens_stats es;
        cv_seq_get_ens_stats(seq, &es);
        if (lc.leading) {
            v.leader_uptime_ms =
                es.leading_since_ms >= 0 ? cv_rt_now_ms() - es.leading_since_ms : 0;
            v.proposal_last = es.proposal_last;
            v.proposal_min = es.proposal_min;
            v.proposal_max = es.proposal_max;
            v.synced_observers = zs.synced_observers;
        }
        v.serving = cv_zab_serving(z);
        v.mode = r == CV_ZAB_LEADING     ? CV_FOURLW_LEADER
                 : r == CV_ZAB_OBSERVING ? CV_FOURLW_OBSERVER
                                         : CV_FOURLW_FOLLOWER;
        v.peer_state = !v.serving              ? "looking - election"
                       : r == CV_ZAB_LEADING   ? "leading - broadcast"
                       : r == CV_ZAB_OBSERVING ? "observing - broadcast"
                                               : "following - broadcast";
        for (uint32_t i = 0; i < srv->cfg->nservers; i++)
            v.quorum_size += srv->cfg->servers[i].role == CV_ROLE_PARTICIPANT;
        v.learners = zs.followers;
        v.synced_followers = zs.synced_followers;
        v.pending_syncs = zs.pending_syncs;
        v.observer_master_id = cv_zab_leader(z);
        if (cv_seq_read_only(seq)) {
            v.serving = true;
            v.mode = CV_FOURLW_READ_ONLY;
        }
    }
    v.zxid = cv_core_last_applied(core);
    v.latency.count = (int64_t)st.lat_count;
    v.latency.total = (int64_t)(st.lat_sum_us / 1000);
    v.latency.min = (int64_t)(st.lat_min_us / 1000);
    v.latency.max = (int64_t)(st.lat_max_us / 1000);
    v.packets_received = (int64_t)st.received;
    v.packets_sent = (int64_t)st.sent;
    /* Requests in the sequencer not answered yet: writes waiting for the log
     * and requests held behind them (ZooKeeper: its processors' queues). */
    v.outstanding_requests = (int64_t)st.pending_txns + (int64_t)st.held_requests;
    struct cv_tree *t = cv_core_tree(core);
    /* ZooKeeper's DataTree keys the root twice ("" and "/"): its node count
     * is one more than the znodes there are. Scripts compare with it. */
    v.node_count = (int64_t)cv_tree_node_count(t) + 1;
    v.ephemerals_count = (int64_t)cv_tree_ephemeral_total(t);
    v.approximate_data_size = (int64_t)cv_tree_data_bytes(t);
    v.global_sessions = cv_sess_count(cv_core_sessions(core));
    struct cv_watch_stats ws;
    cv_watch_get_stats(cv_core_watches(core), &ws);
    v.watch_count = (int64_t)ws.watches;
    v.watch_sessions = (int64_t)ws.sessions;
    v.watch_paths = (int64_t)ws.paths;
    v.watch_pairs = (int64_t)ws.watches;
    v.open_fds = open_fds();
    struct rlimit rl;
    v.max_fds = getrlimit(RLIMIT_NOFILE, &rl) == 0 ? (int64_t)rl.rlim_cur : 0;
    v.uptime_ms = cv_rt_now_ms() - st.started_ms;
    v.response_last = v.response_min = v.response_max = -1;
    if (memcmp(cmd, "dirs", 4) == 0 || memcmp(cmd, "conf", 4) == 0) {
        /* ZooKeeper sums its snapshot and log directories on each call, too. */
        char log[CV_CONFIG_PATH_MAX + 32], snap[CV_CONFIG_PATH_MAX + 32];
        cv_store_paths(srv->cfg->data_dir, srv->cfg->data_log_dir, log, snap, sizeof log);
        v.data_dir_size = cv_store_dir_bytes(snap);
        v.log_dir_size = cv_store_dir_bytes(log);
    }
    struct cv_store_stats ss;
    cv_seq_store_stats(seq, &ss);
    lc.ss = ss;
    const struct cv_wal_stats *w = &ss.wal;
    v.fsync_time.count = (int64_t)w->batches;
    v.fsync_time.total = (int64_t)(w->write_ns_sum / 1000000);
    v.fsync_time.min = (int64_t)(w->write_ns_min / 1000000);
    v.fsync_time.max = (int64_t)(w->write_ns_max / 1000000);
    v.mntr_lookup = mntr_lookup;
    v.mntr_ctx = &lc;
    struct conns_ctx cc = {srv->conns, 0, srv->conns_cap};
    cv_seq_foreach_conn(seq, collect_conn, &cc);
    v.conns = cc.arr;
    v.nconns = cc.n;
    struct cv_sess_info infos[256];
    size_t ns = cv_sess_list(cv_core_sessions(core), NULL, infos, 256);
    for (size_t i = 0; i < ns && i < srv->sessions_cap; i++) {
        srv->sessions[i].id = infos[i].id;
        srv->sessions[i].expire_wall_ms = infos[i].deadline;
    }
    v.sessions = srv->sessions;
    v.nsessions = ns < srv->sessions_cap ? ns : srv->sessions_cap;
    v.walk_watches = walk_watches;
    v.walk_ephemerals = walk_ephemerals;
    v.walk_ctx = seq;
    v.env = &srv->env;
    unsigned actions = 0;
    int n = cv_fourlw_render(cmd, &v, out, cap, &actions);
    if (n > 0 && memcmp(cmd, "mntr", 4) == 0 && memcmp(out, "zk_version", 10) == 0)
        n += (int)mntr_storage(&st, &ss, out + n, cap - (size_t)n);
    if (actions & CV_FOURLW_RESET_CONN_STATS)
        cv_seq_reset_conn_stats(seq);
    if (actions & CV_FOURLW_RESET_SERVER_STATS)
        cv_seq_reset_stats(seq);
    return n > 0 ? (size_t)n : 0;
}
