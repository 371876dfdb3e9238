/* Four-letter words of a running server: the registry's figures plus the
 * sequencer's live tables (runs on the sequencer lcore, as its hook). */
#include "cv_server_fourlw.h"

#include <arpa/inet.h>
#include <string.h>

#include "cv_fourlw.h"

void cv_server_conn_record(const struct cv_seq_conn_info *c, struct cv_fourlw_conn *o)
{
    memset(o, 0, sizeof *o);
    struct sockaddr_in *a4 = (struct sockaddr_in *)&o->remote;
    struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&o->remote;
    if (inet_pton(AF_INET, c->peer, &a4->sin_addr) == 1) {
        a4->sin_family = AF_INET;
        a4->sin_port = htons(c->port);
    } else if (inet_pton(AF_INET6, c->peer, &a6->sin6_addr) == 1) {
        a6->sin6_family = AF_INET6;
        a6->sin6_port = htons(c->port);
    }
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
}

struct conns_ctx {
    struct cv_fourlw_conn *arr;
    size_t n, cap;
};

static int collect_conn(void *ctx, const struct cv_seq_conn_info *c)
{
    struct conns_ctx *x = ctx;
    if (x->n == x->cap)
        return 1;
    cv_server_conn_record(c, &x->arr[x->n++]);
    return 0;
}

int cv_server_walk_watches(void *ctx, bool by_path, cv_fourlw_visit_fn visit, void *vctx)
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

int cv_server_walk_ephemerals(void *ctx, cv_fourlw_visit_fn visit, void *vctx)
{
    struct owners_ctx o = {cv_core_tree(cv_seq_core(ctx)), {visit, vctx, 0}};
    return cv_tree_ephemeral_owners(o.t, eph_owner, &o);
}

size_t cv_server_fourlw(void *ctx, struct cv_seq *seq, const char cmd[4], char *out, size_t cap)
{
    struct cv_server *srv = ctx;
    struct cv_core *core = cv_seq_core(seq);
    cv_server_publish_seq(srv, seq);
    static struct cv_metrics_read r; /* the sequencer lcore's only */
    cv_server_read(srv, &r);
    struct cv_fourlw_view v;
    cv_server_view(srv, &r, &v);
    if (memcmp(cmd, "dirs", 4) == 0 || memcmp(cmd, "conf", 4) == 0)
        cv_server_dir_sizes(srv, &v);
    struct conns_ctx cc = {srv->conns, 0, srv->conns_cap};
    cv_seq_foreach_conn(seq, collect_conn, &cc);
    v.conns = cc.arr;
    v.nconns = cc.n;
    v.num_connections = 0; /* the list itself */
    struct cv_sess_info infos[256];
    size_t ns = cv_sess_list(cv_core_sessions(core), NULL, infos, 256);
    for (size_t i = 0; i < ns && i < srv->sessions_cap; i++) {
        srv->sessions[i].id = infos[i].id;
        srv->sessions[i].expire_wall_ms = infos[i].deadline;
    }
    v.sessions = srv->sessions;
    v.nsessions = ns < srv->sessions_cap ? ns : srv->sessions_cap;
    v.walk_watches = cv_server_walk_watches;
    v.walk_ephemerals = cv_server_walk_ephemerals;
    v.walk_ctx = seq;
    unsigned actions = 0;
    int n = cv_fourlw_render(cmd, &v, out, cap, &actions);
    if (n > 0 && memcmp(cmd, "mntr", 4) == 0 && memcmp(out, "zk_version", 10) == 0)
        n += (int)cv_server_mntr_extra(&r, out + n, cap - (size_t)n);
    if (actions & CV_FOURLW_RESET_CONN_STATS)
        cv_seq_reset_conn_stats(seq);
    if (actions & CV_FOURLW_RESET_SERVER_STATS)
        cv_seq_reset_stats(seq);
    if (actions)
        cv_server_publish_seq(srv, seq);
    return n > 0 ? (size_t)n : 0;
}
