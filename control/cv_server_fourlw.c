/* Four-letter words of the standalone server: fills cv_fourlw's view from
 * the sequencer's state (runs on the sequencer lcore, as its hook). */
#include "cv_server_fourlw.h"

#include <arpa/inet.h>
#include <stdlib.h>
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
    v.zxid = cv_core_last_applied(core);
    v.latency.count = (int64_t)st.lat_count;
    v.latency.total = (int64_t)(st.lat_sum_us / 1000);
    v.latency.min = (int64_t)(st.lat_min_us / 1000);
    v.latency.max = (int64_t)(st.lat_max_us / 1000);
    v.packets_received = (int64_t)st.received;
    v.packets_sent = (int64_t)st.sent;
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
    v.proposal_last = v.proposal_min = v.proposal_max = -1;
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
    /* Until storage lands, say so where operators look. */
    static const char mem[] = "Storage: in-memory only (no durable log yet)\n";
    if (n > 0 && (memcmp(cmd, "srvr", 4) == 0 || memcmp(cmd, "stat", 4) == 0) &&
        memcmp(out, "Zookeeper version", 17) == 0 && (size_t)n + sizeof mem < cap) {
        memcpy(out + n, mem, sizeof mem);
        n += (int)sizeof mem - 1;
    }
    if (actions & CV_FOURLW_RESET_CONN_STATS)
        cv_seq_reset_conn_stats(seq);
    if (actions & CV_FOURLW_RESET_SERVER_STATS)
        cv_seq_reset_stats(seq);
    return n > 0 ? (size_t)n : 0;
}
