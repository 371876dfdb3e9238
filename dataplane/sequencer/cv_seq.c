/* cv_seq — the sequencer lcore of a standalone server. Contract in cv_seq.h. */
#include "cv_seq.h"

#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <rte_ring.h>

#include "cv_common.h"
#include "cv_jute.h"
#include "cv_store.h"

#define CV_SEQ_WQ 64 /* ensemble: writes of one connection in flight through Zab */

struct sconn {
    uint32_t gen;
    bool used;
    bool established;
    int64_t session;
    int32_t timeout;
    struct cv_acl_auth auth;
    char peer[48];
    uint16_t peer_port;
    uint64_t received, sent;
    int64_t established_ms, last_response_ms;
    int32_t last_cxid;
    int64_t last_zxid;
    const char *last_op;
    uint64_t lat_min_us, lat_max_us, lat_sum_us, lat_count;
    /* per-session FIFO: the newest write of this connection that is prepared
     * (it may not be applied yet), and requests that wait behind it */
    int64_t last_write_zxid;
    struct cv_msg *held_head, *held_tail;
    uint32_t nheld;
    bool in_held_list;
    /* ensemble: writes handed to Zab, answered from apply in this order */
    struct {
        int32_t xid;
        int64_t t0;
    } wq[CV_SEQ_WQ];
    uint8_t wq_head, wq_n;
    uint8_t reval;          /* reconnect: 1 sync to send, 2 sync sent, 3 synced */
    uint8_t creating;       /* new session: waiting for its createSession */
    int64_t reval_zxid;     /* what must be applied before deciding */
    uint32_t sync_seq;      /* matches cv_zab_sync answers to their request */
    int64_t sync_zxid;      /* the answer to a client's sync (see ens_request) */
    struct cv_msg *connect; /* the ConnectRequest while revalidating */
    int64_t touch_fwd_ms;   /* follower: last touch sent to the leader */
    uint8_t ro;             /* a read-only mode connection (no leader) */
};

/* A prepared transaction waiting for the log (pending FIFO entry). */
struct pend {
    uint32_t size; /* bytes of the entry, header included, multiple of 8 */
    uint32_t len;  /* transaction bytes */
    int64_t zxid;
    int64_t session;
    struct cv_conn_ref ref; /* the requesting connection, if has_conn */
    int32_t xid;
    uint8_t has_conn;
    uint8_t pad[3];
    int64_t t0_us; /* when the request reached the sequencer (cv_rt_mono_us; 0: no request) */
    uint8_t data[];
};

/* A FIFO of variable-size entries in one preallocated byte ring. */
struct pring {
    uint8_t *buf;
    size_t cap, head, tail, app;
    uint32_t count, appended;
};

/* Ensemble: the state of a member beyond the standalone sequencer. */
/* When a proposal reached this member's log queue (zxid-tagged slots). */
#define CV_SEQ_PROP_TIMES 4096
struct prop_time {
    int64_t zxid, us;
};

struct ens {
    struct prop_time prop_t[CV_SEQ_PROP_TIMES];
    struct cv_zab *zab;
    struct cv_pnet *pnet;
    struct cv_pnet_cb pcb;
    uint8_t *wire; /* one encoded peer message */
    size_t wire_cap;
    bool leading;
    bool progress;   /* something a held request may wait for happened */
    struct pring lq; /* leader: requests followers forwarded, in arrival order */
    int64_t next_tick_ms;
    uint64_t role_changes, bad_peer_msgs;
    int64_t looking_since; /* read-only mode starts a while after LOOKING */
    bool trace;            /* CORVID_TRACE_PEERS */
    int64_t leading_since;
    int64_t prop_last, prop_min, prop_max;
    /* recovery: log records after the snapshot, before Zab exists */
    uint8_t *load;
    size_t load_len, load_cap;
    uint64_t load_n;
};

struct cv_seq {
    struct cv_rt *rt;
    struct cv_seq_config cfg;
    struct cv_core *core;
    struct rte_ring *from_io[CV_RT_MAX_LCORES], *to_io[CV_RT_MAX_LCORES];
    unsigned nio;
    struct cv_seq_hooks hooks;
    struct sconn *conns; /* nio * conns_per_io */
    /* session -> connection index (open addressing, linear probing) */
    int64_t *map_key;
    uint32_t *map_val;
    uint32_t map_mask;
    uint8_t *txn;
    size_t txn_cap;
    char *text;
    size_t text_cap;
    struct cv_core_sink sink;
    struct cv_seq_stats st;
    int64_t next_expiry_ms, next_housekeeping_ms;
    /* the transaction being applied: its reply answers this request */
    struct cv_conn_ref cur_ref;
    int64_t cur_session;
    bool cur_has, cur_answered;
    /* durable storage: recovery, the log, snapshots */
    struct cv_store *store;
    /* prepared transactions in zxid order: [head, tail) with the first
     * `appended` of them handed to the log (ensemble: proposals Zab gave to
     * the log, kept until durable) */
    struct pring pq;
    /* connections with requests held (per-session FIFO or back-pressure) */
    uint32_t *held_conns;
    uint32_t nheld_conns;
    /* expired sessions whose close is not prepared yet */
    int64_t exp_ids[64];
    unsigned exp_n, exp_i;
    struct ens *ens;      /* NULL: standalone */
    uint32_t nreval;      /* ensemble: connections revalidating a session */
    uint32_t nused;       /* connections in use (conns[].used) */
    uint32_t nmapped;     /* sessions with a connection here (the session map) */
    bool msg_starved;     /* a read waits for a free message */
    struct cv_msg *spare; /* a large message kept for a read's large reply */
    bool disk_wakes;      /* a log completion wakes the idle reactor */
    uint32_t sync_ctr;    /* ensemble: tags cv_zab_sync requests */
};

/* ---- session -> connection map -------------------------------------------- */

static uint32_t map_hash(int64_t k)
{
    uint64_t h = (uint64_t)k * 0x9e3779b97f4a7c15ull;
    return (uint32_t)(h >> 32);
}

static uint32_t *map_find(struct cv_seq *s, int64_t session)
{
    for (uint32_t i = map_hash(session) & s->map_mask;; i = (i + 1) & s->map_mask) {
        if (s->map_key[i] == 0)
            return NULL;
        if (s->map_key[i] == session)
            return &s->map_val[i];
    }
}

static void map_put(struct cv_seq *s, int64_t session, uint32_t conn)
{
    uint32_t *v = map_find(s, session);
    if (v) {
        *v = conn;
        return;
    }
    uint32_t i = map_hash(session) & s->map_mask;
    while (s->map_key[i] != 0)
        i = (i + 1) & s->map_mask;
    s->map_key[i] = session;
    s->map_val[i] = conn;
    s->nmapped++;
}

static void map_del(struct cv_seq *s, int64_t session)
{
    uint32_t i = map_hash(session) & s->map_mask;
    while (s->map_key[i] != session) {
        if (s->map_key[i] == 0)
            return;
        i = (i + 1) & s->map_mask;
    }
    s->nmapped--;
    /* backward-shift deletion keeps probe chains intact */
    uint32_t j = i;
    for (;;) {
        s->map_key[i] = 0;
        for (;;) {
            j = (j + 1) & s->map_mask;
            if (s->map_key[j] == 0)
                return;
            uint32_t home = map_hash(s->map_key[j]) & s->map_mask;
            if ((j > i && (home <= i || home > j)) || (j < i && home <= i && home > j))
                break;
        }
        s->map_key[i] = s->map_key[j];
        s->map_val[i] = s->map_val[j];
        i = j;
    }
}

/* ---- messages to io lcores ------------------------------------------------- */

static uint32_t conn_index(const struct cv_seq *s, const struct cv_conn_ref *r)
{
    return r->io * s->cfg.conns_per_io + r->slot;
}

static struct cv_conn_ref conn_ref(const struct cv_seq *s, uint32_t idx)
{
    struct cv_conn_ref r = {(uint16_t)(idx / s->cfg.conns_per_io), 0, idx % s->cfg.conns_per_io,
                            s->conns[idx].gen};
    return r;
}

/* Send to a connection; the io ring has room for every message we can have
 * taken from the pools, so the enqueue only waits while the io lcore drains. */
static void send_ref(struct cv_seq *s, struct cv_conn_ref ref, uint16_t type, const void *data,
                     size_t len, uint32_t answers, int64_t session);

static void send_to(struct cv_seq *s, uint32_t idx, uint16_t type, const void *data, size_t len,
                    uint32_t answers, int64_t session)
{
    send_ref(s, conn_ref(s, idx), type, data, len, answers, session);
}

/* Answer exactly the connection incarnation a message came from (a stale one
 * is dropped by its io lcore, which still counts the answer). */
static void send_ref(struct cv_seq *s, struct cv_conn_ref ref, uint16_t type, const void *data,
                     size_t len, uint32_t answers, int64_t session)
{
    uint32_t idx = conn_index(s, &ref);
    struct cv_msg *m;
    while (!(m = cv_msg_get(s->rt, len)) && !cv_rt_stopping())
        ;
    if (!m)
        return;
    m->type = type;
    m->conn = ref;
    m->len = (uint32_t)len;
    m->answers = answers;
    m->session = session;
    m->zxid = cv_core_last_applied(s->core);
    if (len)
        memcpy(m->data, data, len);
    struct rte_ring *r = s->to_io[m->conn.io];
    while (rte_ring_enqueue(r, m) != 0 && !cv_rt_stopping())
        ;
    if (type == CV_MSG_SEND || type == CV_MSG_ESTABLISHED) {
        s->conns[idx].sent++;
        s->st.sent++;
    }
}

/* ---- connect answers ---------------------------------------------------------- */

/* The ConnectResponse of a live session (readOnly set for a read-only mode
 * session); the io lcore then reads what the client pipelined. */
static void send_established(struct cv_seq *s, uint32_t idx, int64_t session, int32_t timeout,
                             bool has_read_only, bool read_only)
{
    int n = cv_core_connect_response(s->core, session, timeout, has_read_only || read_only,
                                     (uint8_t *)s->text, s->text_cap);
    if (n > 0 && read_only)
        s->text[n - 1] = 1; /* the trailing readOnly byte */
    send_to(s, idx, CV_MSG_ESTABLISHED, s->text, n > 0 ? (size_t)n : 0, 0, session);
}

/* Expired, unknown or wrong password: ZooKeeper's "expired" answer, then
 * the connection closes. */
static void send_expired(struct cv_seq *s, uint32_t idx, bool has_read_only)
{
    s->st.expired++;
    int n = cv_core_connect_response(s->core, 0, 0, has_read_only, (uint8_t *)s->text, s->text_cap);
    send_to(s, idx, CV_MSG_CLOSE, s->text, n > 0 ? (size_t)n : 0, 0, 0);
}

/* ---- sink: what apply reports ------------------------------------------------ */

static void ens_reply(struct cv_seq *s, int64_t session, const uint8_t *frame, size_t len);
static void conn_release(struct cv_seq *s, uint32_t idx, struct cv_conn_ref ref, bool close);

static void on_reply(void *ctx, int64_t session, const uint8_t *frame, size_t len)
{
    struct cv_seq *s = ctx;
    if (s->cur_has && session == s->cur_session && !s->cur_answered) {
        /* The requesting connection incarnation, even if the session has
         * moved since (a stale one drops it and still counts the answer). */
        s->cur_answered = true;
        send_ref(s, s->cur_ref, CV_MSG_SEND, frame, len, 1, session);
        return;
    }
    if (s->ens) {
        ens_reply(s, session, frame, len);
        return;
    }
    uint32_t *c = map_find(s, session);
    if (c)
        send_to(s, *c, CV_MSG_SEND, frame, len, 0, session);
}

static void on_notify(void *ctx, int64_t session, const uint8_t *frame, size_t len)
{
    struct cv_seq *s = ctx;
    uint32_t *c = map_find(s, session);
    if (c)
        send_to(s, *c, CV_MSG_SEND, frame, len, 0, session);
}

static const struct cv_acl_auth *on_auth_of(void *ctx, int64_t session)
{
    struct cv_seq *s = ctx;
    uint32_t *c = map_find(s, session);
    return c ? &s->conns[*c].auth : NULL;
}

static void serve_held(struct cv_seq *s, uint32_t idx);

static void on_created(void *ctx, int64_t session, int32_t timeout)
{
    struct cv_seq *s = ctx;
    uint32_t *c = map_find(s, session);
    if (!c)
        return;
    struct sconn *sc = &s->conns[*c];
    if (s->ens && !sc->creating)
        return; /* a reconnect of the same id cannot exist; be strict */
    sc->creating = 0;
    sc->established = true;
    sc->timeout = timeout;
    send_established(s, *c, session, timeout, true, false);
}

static void on_closed(void *ctx, int64_t session)
{
    struct cv_seq *s = ctx;
    uint32_t *c = map_find(s, session);
    if (!c)
        return;
    uint32_t idx = *c;
    map_del(s, session);
    s->conns[idx].session = 0;
    if (s->ens) {
        conn_release(s, idx, conn_ref(s, idx), true);
        return;
    }
    send_to(s, idx, CV_MSG_CLOSE, NULL, 0, 0, session);
}

/* ---- held requests ------------------------------------------------------------- */

static void held_push(struct cv_seq *s, uint32_t idx, struct cv_msg *m)
{
    struct sconn *sc = &s->conns[idx];
    m->link = NULL;
    if (sc->held_tail)
        sc->held_tail->link = m;
    else
        sc->held_head = m;
    sc->held_tail = m;
    sc->nheld++;
    if (!sc->in_held_list) {
        sc->in_held_list = true;
        s->held_conns[s->nheld_conns++] = idx;
    }
}

static void held_unlist(struct cv_seq *s, uint32_t idx)
{
    struct sconn *sc = &s->conns[idx];
    if (!sc->in_held_list)
        return;
    sc->in_held_list = false;
    for (uint32_t i = 0; i < s->nheld_conns; i++) {
        if (s->held_conns[i] == idx) {
            s->held_conns[i] = s->held_conns[--s->nheld_conns];
            break;
        }
    }
}

/* The connection no longer speaks for its session: unmapped and the
 * session's watches dropped, unless the session has moved to another one. */
static void forget_session(struct cv_seq *s, uint32_t idx)
{
    int64_t session = s->conns[idx].session;
    uint32_t *c = session ? map_find(s, session) : NULL;
    if (c && *c == idx) {
        map_del(s, session);
        cv_core_drop_watches(s->core, session);
    }
}

/* Return the connection's held requests to the pool; how many there were. */
static uint32_t held_free(struct cv_seq *s, uint32_t idx)
{
    struct sconn *sc = &s->conns[idx];
    uint32_t n = sc->nheld;
    for (struct cv_msg *m = sc->held_head, *next; m; m = next) {
        next = m->link;
        cv_msg_put(s->rt, m);
    }
    sc->held_head = sc->held_tail = NULL;
    sc->nheld = 0;
    held_unlist(s, idx);
    return n;
}

/* ---- connect ------------------------------------------------------------------ */

static void pend_push(struct cv_seq *s, int64_t zxid, int64_t session,
                      const struct cv_conn_ref *ref, int32_t xid, int64_t t0_us, const uint8_t *txn,
                      size_t len);
static bool pend_room(const struct cv_seq *s);

static bool ens_connect(struct cv_seq *s, uint32_t idx, struct cv_msg *m,
                        const struct cv_connect_request *cr);
static void take_session(struct cv_seq *s, uint32_t idx, int64_t session);

/* Returns true when the message was kept (an ensemble reconnect). */
static bool handle_connect(struct cv_seq *s, uint32_t idx, struct cv_msg *m)
{
    struct sconn *sc = &s->conns[idx];
    s->nused += !sc->used;
    memset(sc, 0, sizeof *sc);
    sc->used = true;
    sc->gen = m->conn.gen;
    sc->last_op = "NA";
    sc->last_cxid = -1;
    sc->last_zxid = -1;
    sc->established_ms = cv_rt_now_ms();
    snprintf(sc->peer, sizeof sc->peer, "%s", m->peer);
    sc->peer_port = m->peer_port;
    cv_acl_auth_init(&sc->auth);
    cv_acl_auth_add_ip(&sc->auth, sc->peer, strlen(sc->peer)); /* ZooKeeper's ip auth */
    s->st.received++;
    sc->received++;
    struct cv_connect_request cr;
    if (m->len < 4 || cv_proto_decode_connect_request(m->data + 4, m->len - 4, &cr)) {
        s->st.malformed++;
        send_to(s, idx, CV_MSG_CLOSE, NULL, 0, 0, 0);
        return false;
    }
    s->st.connects++;
    if (s->ens)
        return ens_connect(s, idx, m, &cr);
    int64_t now = cv_rt_now_ms();
    if (cr.session_id == 0) {
        int64_t id;
        int32_t to;
        size_t len;
        if (!pend_room(s) || cv_core_prepare_create_session(s->core, cr.timeout, now, &id, &to,
                                                            s->txn, s->txn_cap, &len)) {
            send_to(s, idx, CV_MSG_CLOSE, NULL, 0, 0, 0); /* the client retries */
            return false;
        }
        sc->session = id;
        map_put(s, id, idx);
        /* S1/S5: on_created answers once the createSession is applied. */
        pend_push(s, cv_core_last_prepared(s->core), id, NULL, 0, 0, s->txn, len);
        return false;
    }
    int32_t timeout = 0;
    int rc = cv_core_validate_session(s->core, &cr, &timeout);
    if (rc != 0) {
        send_expired(s, idx, cr.has_read_only);
        return false;
    }
    uint32_t *old = map_find(s, cr.session_id);
    if (old && *old != idx) {
        /* Its writes still in the log are answered to the old connection;
         * requests here must still come after them. */
        sc->last_write_zxid = s->conns[*old].last_write_zxid;
    }
    take_session(s, idx, cr.session_id); /* it moved here */
    sc->timeout = timeout;
    sc->established = true;
    cv_core_touch(s->core, cr.session_id, now);
    send_established(s, idx, cr.session_id, timeout, cr.has_read_only, false);
    return false;
}

/* ---- requests ------------------------------------------------------------------ */

static const char *op_name(int32_t op)
{
    switch (op) {
    case CV_OP_CREATE:
    case CV_OP_CREATE2:
    case CV_OP_CREATE_CONTAINER:
    case CV_OP_CREATE_TTL: return "CREA";
    case CV_OP_DELETE: return "DELE";
    case CV_OP_EXISTS: return "EXIS";
    case CV_OP_GET_DATA: return "GETD";
    case CV_OP_SET_DATA: return "SETD";
    case CV_OP_GET_ACL: return "GETA";
    case CV_OP_SET_ACL: return "SETA";
    case CV_OP_GET_CHILDREN:
    case CV_OP_GET_CHILDREN2: return "GETC";
    case CV_OP_SYNC: return "SYNC";
    case CV_OP_PING: return "PING";
    case CV_OP_MULTI: return "MULT";
    case CV_OP_MULTI_READ: return "MLTR";
    case CV_OP_CLOSE_SESSION: return "CLOS";
    case CV_OP_SET_WATCHES: return "SETW";
    case CV_OP_SET_WATCHES2: return "STW2";
    case CV_OP_ADD_WATCH: return "ADDW";
    case CV_OP_CHECK_WATCHES: return "CHKW";
    case CV_OP_REMOVE_WATCHES: return "REMW";
    case CV_OP_WHO_AM_I: return "HOMI";
    case CV_OP_GET_EPHEMERALS: return "GETE";
    case CV_OP_GET_ALL_CHILDREN_NUMBER: return "GETACN";
    case CV_OP_CHECK: return "CHEC";
    case CV_OP_RECONFIG: return "RECO";
    }
    return "NA";
}

static void reply_with(struct cv_seq *s, struct cv_conn_ref ref, int64_t session, int32_t xid,
                       int64_t zxid, int32_t err, bool close)
{
    struct cv_response r;
    memset(&r, 0, sizeof r);
    r.hdr.xid = xid;
    r.hdr.zxid = zxid;
    r.hdr.err = err;
    uint8_t f[32];
    int n = cv_proto_encode_response(f, sizeof f, &r);
    send_ref(s, ref, close ? CV_MSG_CLOSE : CV_MSG_SEND, f, n > 0 ? (size_t)n : 0, 1, session);
}

static void reply_header(struct cv_seq *s, uint32_t idx, int32_t xid, int32_t err, bool close)
{
    reply_with(s, conn_ref(s, idx), s->conns[idx].session, xid, cv_core_last_applied(s->core), err,
               close);
}

/* A request of this connection was answered: its counters. t0_us: when it
 * reached the sequencer (cv_rt_mono_us); write: it was a write (committed). */
static void answered(struct cv_seq *s, struct sconn *sc, int64_t t0_us, bool write)
{
    int64_t now_us = cv_rt_mono_us();
    uint64_t lat = now_us > t0_us ? (uint64_t)(now_us - t0_us) : 0;
    unsigned b = cv_log2_bucket(lat, 32);
    sc->last_zxid = cv_core_last_applied(s->core);
    sc->last_response_ms = cv_rt_now_ms();
    if (!sc->lat_count || lat < sc->lat_min_us)
        sc->lat_min_us = lat;
    if (lat > sc->lat_max_us)
        sc->lat_max_us = lat;
    sc->lat_sum_us += lat;
    sc->lat_count++;
    if (!s->st.lat_count || lat < s->st.lat_min_us)
        s->st.lat_min_us = lat;
    if (lat > s->st.lat_max_us)
        s->st.lat_max_us = lat;
    s->st.lat_sum_us += lat;
    s->st.lat_count++;
    s->st.lat_hist[b]++;
    s->st.lat_hist_sum_us += lat;
    if (write) {
        s->st.write_hist[b]++;
        s->st.write_lat_sum_us += lat;
    }
}

/* Answer a read. The reply goes into a small message (most replies fit),
 * else into the spare large one the sequencer keeps for this: a read runs
 * once, because some have effects (a watch set or removed) that must not
 * happen before the reply of a read that is then held, nor twice. false:
 * no message is free (the io lcores hold them all in flight) and nothing
 * ran; the caller holds the request and the sequencer retries it on its
 * next poll (msg_starved). */
static bool serve_read(struct cv_seq *s, uint32_t idx, const struct cv_core_req *q)
{
    struct sconn *sc = &s->conns[idx];
    s->cur_has = false;
    if (!s->spare)
        s->spare = cv_msg_get(s->rt, cv_msg_max(s->rt));
    struct cv_msg *out = s->spare ? cv_msg_get(s->rt, 1) : NULL;
    if (!out) {
        s->msg_starved = true;
        return false;
    }
    int n = cv_core_read(s->core, q, &s->sink, out->data, out->cap);
    if (n == -ENOBUFS && out->cap < cv_msg_max(s->rt)) {
        cv_msg_put(s->rt, out);
        out = s->spare;
        s->spare = NULL;
        n = cv_core_read(s->core, q, &s->sink, out->data, out->cap);
    }
    if (n <= 0) {
        cv_msg_put(s->rt, out);
        reply_header(s, idx, q->req->hdr.xid, CV_ZSYSTEMERROR, false);
        return true;
    }
    out->type = CV_MSG_SEND;
    out->conn = conn_ref(s, idx);
    out->len = (uint32_t)n;
    out->answers = 1;
    out->session = sc->session;
    out->zxid = cv_core_last_applied(s->core);
    while (rte_ring_enqueue(s->to_io[out->conn.io], out) != 0 && !cv_rt_stopping())
        ;
    sc->sent++;
    s->st.sent++;
    return true;
}

static int ens_request(struct cv_seq *s, uint32_t idx, struct cv_msg *m,
                       const struct cv_core_req *q);

/* cv_core_prepare refused a write outright: ZooKeeper's error for it (an
 * operation this server does not implement, or a system error); 0. */
static int prepare_refused(struct cv_seq *s, uint32_t idx, const struct cv_msg *m, int32_t xid,
                           int rc)
{
    reply_header(s, idx, xid, rc == -EINVAL ? CV_ZUNIMPLEMENTED : CV_ZSYSTEMERROR, false);
    answered(s, &s->conns[idx], m->t0, false);
    return 0;
}

/* A request frame (without its length), as the core takes it: deleteContainer
 * is accepted with its body unread (the core refuses it as ZooKeeper does). */
static int decode_request(const uint8_t *p, size_t len, struct cv_request *req)
{
    int rc = cv_proto_decode_request(p, len, req);
    if (rc == CV_PROTO_EUNKNOWN_OP && req->hdr.type == CV_OP_DELETE_CONTAINER)
        rc = 0;
    return rc;
}

/* Serve one request, or return CV_CORE_HOLD when it must wait (per-session
 * FIFO behind a write not yet applied, a session not yet created, or no
 * room for another prepared transaction); nothing is consumed then. */
static int handle_request(struct cv_seq *s, uint32_t idx, struct cv_msg *m)
{
    struct sconn *sc = &s->conns[idx];
    struct cv_request req;
    int rc = m->len >= 4 ? decode_request(m->data + 4, m->len - 4, &req) : -EBADMSG;
    if (rc == CV_PROTO_EUNKNOWN_OP) {
        if (req.hdr.type == CV_OP_CREATE_SESSION) {
            /* A valid opcode to ZooKeeper, whose preparation then fails. */
            reply_header(s, idx, req.hdr.xid, CV_ZMARSHALLINGERROR, false);
        } else {
            /* ZooKeeper's UnimplementedRequestProcessor: zxid -1, then the
             * connection (not the session) is closed. */
            reply_with(s, conn_ref(s, idx), sc->session, req.hdr.xid, -1, CV_ZUNIMPLEMENTED, true);
        }
        return 0;
    }
    if (rc) {
        s->st.malformed++; /* ZooKeeper closes a connection it cannot decode */
        send_to(s, idx, CV_MSG_CLOSE, NULL, 0, 1, sc->session);
        return 0;
    }
    int64_t now = cv_rt_now_ms();
    struct cv_core_req q = {sc->session, &sc->auth, &req, false};
    int64_t applied = cv_core_last_applied(s->core);
    if (req.hdr.type == CV_OP_AUTH) {
        int err = cv_acl_authenticate(&sc->auth, req.u.auth.scheme, req.u.auth.auth);
        if (err)
            s->st.auth_failed++;
        /* AUTHFAILED: ZooKeeper answers and then closes the connection. */
        reply_header(s, idx, req.hdr.xid, err, err != 0);
        answered(s, sc, m->t0, false);
        return 0;
    }
    if (req.hdr.type == CV_OP_SASL) {
        /* No SASL server is configured: ZooKeeper 3.8 answers zxid 0, OK and
         * a SetSASLResponse with a null token, and keeps the connection. */
        struct cv_response r;
        memset(&r, 0, sizeof r);
        r.hdr.xid = req.hdr.xid;
        r.op = CV_OP_SASL;
        r.has_body = 1;
        r.u.sasl.token.len = -1;
        uint8_t f[32];
        int n = cv_proto_encode_response(f, sizeof f, &r);
        send_to(s, idx, CV_MSG_SEND, f, n > 0 ? (size_t)n : 0, 1, sc->session);
        answered(s, sc, m->t0, false);
        return 0;
    }
    if (s->ens)
        return ens_request(s, idx, m, &q);
    if (cv_core_is_read(req.hdr.type)) {
        /* Reads see the session's own earlier writes; sync answers after
         * every write prepared before it (ZooKeeper's pipeline order). */
        if (req.hdr.type == CV_OP_SYNC && m->wait < 0)
            m->wait = cv_core_last_prepared(s->core);
        if (sc->last_write_zxid > applied || m->wait > applied)
            return CV_CORE_HOLD;
        if (!serve_read(s, idx, &q))
            return CV_CORE_HOLD;
        answered(s, sc, m->t0, false);
        return 0;
    }
    size_t len;
    rc = pend_room(s) ? cv_core_prepare(s->core, &q, now, s->txn, s->txn_cap, &len) : -EBUSY;
    if (rc == CV_CORE_HOLD || rc == -EBUSY)
        return CV_CORE_HOLD; /* retried as transactions apply */
    if (rc)
        return prepare_refused(s, idx, m, req.hdr.xid, rc);
    int64_t zxid = cv_core_last_prepared(s->core);
    struct cv_conn_ref ref = conn_ref(s, idx);
    sc->last_write_zxid = zxid;
    pend_push(s, zxid, sc->session, &ref, req.hdr.xid, m->t0, s->txn, len);
    return 0;
}

/* Serve the connection's held requests in order, as far as they can go. */
static void serve_held(struct cv_seq *s, uint32_t idx)
{
    struct sconn *sc = &s->conns[idx];
    struct cv_msg *m;
    while ((m = sc->held_head)) {
        if (handle_request(s, idx, m) == CV_CORE_HOLD)
            return;
        sc->held_head = m->link;
        if (!sc->held_head)
            sc->held_tail = NULL;
        sc->nheld--;
        cv_msg_put(s->rt, m);
    }
    held_unlist(s, idx);
}

static void serve_all_held(struct cv_seq *s)
{
    /* serve_held may unlist entries: walk from the end. */
    for (uint32_t i = s->nheld_conns; i-- > 0;) {
        if (i < s->nheld_conns)
            serve_held(s, s->held_conns[i]);
    }
}

/* A client was heard from: restart its session's clock here, and (a
 * follower) tell the leader, at most every tick / 4 per connection. */
static void sess_touch(struct cv_seq *s, struct sconn *sc, int64_t now)
{
    cv_core_touch(s->core, sc->session, now);
    if (s->ens && !s->ens->leading && sc->session &&
        now - sc->touch_fwd_ms >= s->cfg.core.sess.tick_ms / 4) {
        sc->touch_fwd_ms = now;
        cv_zab_touch(s->ens->zab, sc->session);
    }
}

/* A request from an io lcore; returns true if the message was kept. */
static bool request_arrived(struct cv_seq *s, uint32_t idx, struct cv_msg *m)
{
    struct sconn *sc = &s->conns[idx];
    s->st.received++;
    s->st.requests++;
    sc->received++;
    m->t0 = cv_rt_mono_us();
    m->wait = -1;
    sess_touch(s, sc, cv_rt_now_ms());
    if (m->len >= 12) {
        int32_t op = (int32_t)cv_jute_rd32(m->data + 8);
        sc->last_op = op_name(op);
        sc->last_cxid = (int32_t)cv_jute_rd32(m->data + 4);
        if (op != CV_OP_AUTH && op != CV_OP_SASL) {
            if (cv_core_is_read(op))
                s->st.reads++;
            else
                s->st.writes++;
        }
    }
    if (!sc->held_head && handle_request(s, idx, m) != CV_CORE_HOLD)
        return false;
    held_push(s, idx, m);
    return true;
}

static void handle_fourlw(struct cv_seq *s, uint32_t idx, const struct cv_msg *m)
{
    char cmd[4];
    memcpy(cmd, m->data, 4);
    size_t n = s->hooks.fourlw ? s->hooks.fourlw(s->hooks.ctx, s, cmd, s->text, s->text_cap) : 0;
    (void)idx;
    send_ref(s, m->conn, CV_MSG_CLOSE, s->text, n, 0, 0);
}

/* ---- prepared transactions: log, then apply ----------------------------------- */

#define PEND_ALIGN(n) (((n) + 7) & ~(size_t)7)

static struct pend *pend_at(const struct pring *q, size_t off)
{
    return (struct pend *)(q->buf + off);
}

/* Entries never straddle the end: a reader at off with less than a header
 * left, or a zero size there, continues at 0. */
static size_t pend_norm(const struct pring *q, size_t off)
{
    if (q->cap - off < sizeof(struct pend) || pend_at(q, off)->size == 0)
        return 0;
    return off;
}

/* Room for an entry of len bytes at the tail. */
static bool ring_room(const struct pring *q, size_t len)
{
    size_t need = PEND_ALIGN(sizeof(struct pend) + len);
    if (q->count == 0)
        return q->cap >= need;
    if (q->tail > q->head) /* free: [tail, cap) and [0, head) */
        return q->cap - q->tail >= need || q->head > need;
    return q->head - q->tail > need;
}

/* Room for the largest transaction at the tail (prepare checks this first,
 * so a prepared transaction always fits). */
static bool pend_room(const struct cv_seq *s)
{
    return ring_room(&s->pq, s->txn_cap);
}

static struct pend *ring_push(struct pring *q, size_t len)
{
    size_t size = PEND_ALIGN(sizeof(struct pend) + len);
    if (q->count == 0)
        q->head = q->tail = q->app = 0;
    size_t off = q->tail;
    if (q->tail >= q->head && q->cap - q->tail < size) {
        if (q->cap - q->tail >= sizeof(struct pend))
            pend_at(q, q->tail)->size = 0; /* wrap marker */
        off = 0;
    }
    CV_VERIFY(ring_room(q, len)); /* callers checked; the rest is bookkeeping */
    struct pend *e = pend_at(q, off);
    memset(e, 0, sizeof *e);
    e->size = (uint32_t)size;
    e->len = (uint32_t)len;
    q->tail = off + size;
    q->count++;
    return e;
}

static struct pend *ring_front(struct pring *q)
{
    q->head = pend_norm(q, q->head);
    return pend_at(q, q->head);
}

static void ring_pop(struct pring *q)
{
    struct pend *e = ring_front(q);
    q->head += e->size;
    q->count--;
    if (q->appended)
        q->appended--;
}

static void pend_push(struct cv_seq *s, int64_t zxid, int64_t session,
                      const struct cv_conn_ref *ref, int32_t xid, int64_t t0_us, const uint8_t *txn,
                      size_t len)
{
    struct pend *e = ring_push(&s->pq, len);
    e->zxid = zxid;
    e->session = session;
    e->has_conn = ref != NULL;
    if (ref)
        e->ref = *ref;
    e->xid = xid;
    e->t0_us = t0_us;
    memcpy(e->data, txn, len);
}

static void apply_one(struct cv_seq *s, struct pend *e)
{
    s->cur_has = e->has_conn;
    s->cur_ref = e->ref;
    s->cur_session = e->session;
    s->cur_answered = false;
    CV_VERIFY(cv_core_apply(s->core, e->data, e->len, &s->sink) == 0);
    s->cur_has = false;
    if (!e->has_conn)
        return;
    if (!s->cur_answered)
        reply_with(s, e->ref, e->session, e->xid, e->zxid, CV_ZOK, false);
    uint32_t idx = conn_index(s, &e->ref);
    struct sconn *sc = &s->conns[idx];
    if (sc->used && sc->gen == e->ref.gen) {
        answered(s, sc, e->t0_us, true);
        if (sc->held_head)
            serve_held(s, idx); /* reads that waited for this write, in order */
    }
}

/* Apply every prepared transaction the log has acknowledged. */
static void apply_ready(struct cv_seq *s)
{
    int64_t acked = cv_store_acked_zxid(s->store);
    uint32_t n = 0;
    while (s->pq.count) {
        struct pend *e = ring_front(&s->pq);
        if (e->zxid > acked || s->pq.appended == 0)
            break;
        ring_pop(&s->pq);
        apply_one(s, e);
        n++;
    }
    if (n)
        cv_store_applied(s->store, s->core, n, cv_rt_now_ms());
}

static void disk_failed(int rc)
{
    /* ZooKeeper exits when its log cannot be written; so does corvid: what
     * was acknowledged is durable, nothing else was acknowledged. */
    fprintf(stderr, "corvid: FATAL: the transaction log cannot be written: %s; exiting\n",
            strerror(-rc));
    _exit(14);
}

static int ens_logged(struct cv_seq *s);
static int ens_poll(struct cv_seq *s);

/* Hand prepared transactions to the log, progress it, apply what is durable. */
static int storage_poll(struct cv_seq *s)
{
    int work = 0;
    for (int round = 0; round < 2; round++) {
        while (s->pq.appended < s->pq.count) {
            s->pq.app = pend_norm(&s->pq, s->pq.app);
            struct pend *e = pend_at(&s->pq, s->pq.app);
            int rc = cv_store_append(s->store, e->zxid, e->data, e->len);
            if (rc == -EAGAIN)
                break;
            if (rc)
                disk_failed(rc);
            s->pq.app += e->size;
            s->pq.appended++;
            work++;
        }
        int rc = cv_store_poll(s->store, cv_rt_now_ms());
        if (rc < 0)
            disk_failed(rc);
        if (rc == 0)
            break;
        work++;
    }
    /* A write in flight keeps the reactor polling, unless its completion
     * wakes the reactor's idle wait (cv_seq_disk_wakes). */
    if (s->pq.appended && !s->disk_wakes)
        work++;
    if (s->ens)
        return work + ens_logged(s);
    uint32_t before = s->pq.count;
    apply_ready(s);
    if (before != s->pq.count) {
        serve_all_held(s); /* syncs, and writes that waited for room */
        work++;
    }
    return work;
}

/* ---- ensemble ------------------------------------------------------------------- */

static void ens_fatal(const char *what, int64_t zxid)
{
    fprintf(stderr, "corvid: FATAL: %s (zxid 0x%" PRIx64 "); exiting\n", what, (uint64_t)zxid);
    _exit(15);
}

static void ens_propose(struct cv_seq *s, size_t len)
{
    int64_t zxid = cv_core_last_prepared(s->core);
    struct ens *e = s->ens;
    e->prop_last = (int64_t)len;
    if (e->prop_min < 0 || (int64_t)len < e->prop_min)
        e->prop_min = (int64_t)len;
    if ((int64_t)len > e->prop_max)
        e->prop_max = (int64_t)len;
    /* cv_zab_can_propose said yes before the prepare consumed the zxid. */
    if (cv_zab_propose(s->ens->zab, cv_rt_now_ms(), zxid, s->txn, len))
        ens_fatal("a proposal was refused after cv_zab_can_propose accepted it", zxid);
}

/* Release a connection's sequencer state: its held requests and (ensemble)
 * its writes in flight through Zab are answered, for the io lcore's
 * accounting, by one CLOSE (close, or any answers owed); a connection that
 * is gone or replaced still gets one answer for each. */
static void conn_release(struct cv_seq *s, uint32_t idx, struct cv_conn_ref ref, bool close)
{
    struct sconn *sc = &s->conns[idx];
    uint32_t n = held_free(s, idx) + sc->wq_n;
    sc->wq_n = 0;
    sc->creating = 0;
    if (sc->reval) {
        sc->reval = 0;
        s->nreval--;
    }
    if (sc->connect) {
        cv_msg_put(s->rt, sc->connect);
        sc->connect = NULL;
    }
    if (close || n)
        send_ref(s, ref, CV_MSG_CLOSE, NULL, 0, n, 0);
}

/* A reply from apply: it answers the connection's oldest write in flight,
 * or nobody here (another member's client, or a connection since gone). */
static void ens_reply(struct cv_seq *s, int64_t session, const uint8_t *frame, size_t len)
{
    uint32_t *c = map_find(s, session);
    if (!c || len < 8)
        return;
    struct sconn *sc = &s->conns[*c];
    if (!sc->wq_n || (int32_t)cv_jute_rd32(frame + 4) != sc->wq[sc->wq_head].xid)
        return;
    int64_t t0 = sc->wq[sc->wq_head].t0;
    sc->wq_head = (uint8_t)((sc->wq_head + 1) % CV_SEQ_WQ);
    sc->wq_n--;
    send_to(s, *c, CV_MSG_SEND, frame, len, 1, session);
    answered(s, sc, t0, true);
    if (sc->held_head)
        s->ens->progress = true;
}

static void wq_push(struct sconn *sc, int32_t xid, int64_t t0)
{
    unsigned i = (sc->wq_head + sc->wq_n) % CV_SEQ_WQ;
    sc->wq[i].xid = xid;
    sc->wq[i].t0 = t0;
    sc->wq_n++;
}

/* The answer may come inside cv_zab_sync (a leader that is a quorum by
 * itself): the state it lands in is set up before the call. */
static void reval_start(struct cv_seq *s, uint32_t idx)
{
    struct sconn *sc = &s->conns[idx];
    sc->sync_seq = ++s->sync_ctr;
    sc->reval = 2;
    if (cv_zab_sync(s->ens->zab, sc->session, (int64_t)idx << 32 | sc->sync_seq) != 0)
        sc->reval = 1; /* ask again at the next progress */
}

/* A reconnect whose leader-confirmed sync is applied here: decide. */
static void reval_finish(struct cv_seq *s, uint32_t idx)
{
    struct sconn *sc = &s->conns[idx];
    struct cv_connect_request cr;
    struct cv_msg *m = sc->connect;
    if (cv_proto_decode_connect_request(m->data + 4, m->len - 4, &cr))
        return; /* decoded once already */
    int32_t timeout = 0;
    int rc = cv_core_validate_session(s->core, &cr, &timeout);
    if (rc == CV_CORE_HOLD)
        return;
    if (rc != 0) {
        /* S2: "expired" only once the session's close is applied here. */
        struct cv_sess_info info;
        if (cv_sess_get(cv_core_sessions(s->core), sc->session, &info) == 0 && info.closing)
            return;
        uint32_t *c = map_find(s, sc->session);
        if (c && *c == idx)
            map_del(s, sc->session);
        sc->session = 0;
        send_expired(s, idx, cr.has_read_only);
        conn_release(s, idx, conn_ref(s, idx), false);
        return;
    }
    sc->reval = 0;
    s->nreval--;
    cv_msg_put(s->rt, sc->connect);
    sc->connect = NULL;
    sc->timeout = timeout;
    sc->established = true;
    sess_touch(s, sc, cv_rt_now_ms());
    send_established(s, idx, sc->session, timeout, cr.has_read_only, false);
}

static void reval_all(struct cv_seq *s)
{
    size_t n = (size_t)s->nio * s->cfg.conns_per_io;
    int64_t applied = cv_core_last_applied(s->core);
    for (size_t i = 0; i < n && s->nreval; i++) {
        struct sconn *sc = &s->conns[i];
        if (!sc->used || !sc->reval)
            continue;
        if (sc->reval == 1)
            reval_start(s, (uint32_t)i);
        if (sc->reval == 3 && applied >= sc->reval_zxid)
            reval_finish(s, (uint32_t)i);
    }
}

/* Leader: room for one more proposal of up to len bytes. */
static bool ens_can_propose(struct cv_seq *s, size_t len)
{
    return s->ens->leading && cv_zab_can_propose(s->ens->zab, len) == 0;
}

/* A reconnecting session moves to connection idx: a connection here that
 * held it is closed (its requests answered) and its watches dropped. */
static void take_session(struct cv_seq *s, uint32_t idx, int64_t session)
{
    uint32_t *old = map_find(s, session);
    if (old && *old != idx) {
        uint32_t o = *old;
        s->conns[o].session = 0;
        conn_release(s, o, conn_ref(s, o), true);
        cv_core_drop_watches(s->core, session);
    }
    map_put(s, session, idx);
    s->conns[idx].session = session;
}

/* Read-only mode is on: enabled, no leader, and LOOKING for a while. */
static bool ro_ready(const struct cv_seq *s, int64_t now)
{
    const struct ens *e = s->ens;
    int64_t wait = s->cfg.ens->zab.tick_ms > 2000 ? s->cfg.ens->zab.tick_ms : 2000;
    return s->cfg.ens->read_only && cv_zab_role(e->zab) == CV_ZAB_LOOKING &&
           now - e->looking_since >= wait;
}

/* A client that allows read-only mode, while there is no leader: a session
 * known here (as last applied) keeps its id; a new one gets a local id that
 * no quorum knows (ZooKeeper's read-only sessions); the ConnectResponse says
 * readOnly. Nothing is written to the replicated state. */
static bool ro_connect(struct cv_seq *s, uint32_t idx, const struct cv_connect_request *cr)
{
    struct sconn *sc = &s->conns[idx];
    int64_t id = cr->session_id;
    int32_t timeout = cr->timeout;
    if (timeout < s->cfg.core.sess.min_timeout_ms)
        timeout = s->cfg.core.sess.min_timeout_ms;
    if (timeout > s->cfg.core.sess.max_timeout_ms)
        timeout = s->cfg.core.sess.max_timeout_ms;
    if (id && cv_core_validate_session(s->core, cr, &timeout) != 0) {
        send_expired(s, idx, cr->has_read_only);
        return false;
    }
    if (!id)
        id = cv_core_new_session_id(s->core);
    take_session(s, idx, id);
    sc->timeout = timeout;
    sc->established = true;
    sc->ro = 1;
    send_established(s, idx, id, timeout, true, true);
    return false;
}

static bool ens_connect(struct cv_seq *s, uint32_t idx, struct cv_msg *m,
                        const struct cv_connect_request *cr)
{
    struct ens *e = s->ens;
    struct sconn *sc = &s->conns[idx];
    int64_t now = cv_rt_now_ms();
    if (!cv_zab_serving(e->zab)) {
        if (ro_ready(s, now) && cr->has_read_only && cr->read_only)
            return ro_connect(s, idx, cr);
        send_to(s, idx, CV_MSG_CLOSE, NULL, 0, 0, 0); /* no leader: try another member */
        return false;
    }
    if (cr->session_id == 0) {
        /* S1/S5: this member chooses the id; the ConnectResponse waits for
         * the createSession to be applied here (on_created). */
        int64_t id = cv_core_new_session_id(s->core);
        int rc;
        /* Mapped first: a one-voter quorum applies inside the proposal. */
        sc->session = id;
        sc->creating = 1;
        map_put(s, id, idx);
        if (e->leading) {
            int32_t to;
            size_t len;
            rc = ens_can_propose(s, 256)
                     ? cv_core_prepare_create_session_id(s->core, id, cr->timeout, now, &to, s->txn,
                                                         s->txn_cap, &len)
                     : -EBUSY;
            if (rc == 0)
                ens_propose(s, len);
        } else {
            struct cv_connect_request fwd = *cr;
            fwd.session_id = id;
            int len = cv_proto_encode_connect_request(s->txn, s->txn_cap, &fwd);
            rc = len < 4 ? -EINVAL : cv_zab_forward(e->zab, id, -1, s->txn + 4, (size_t)len - 4);
        }
        if (rc) {
            map_del(s, id);
            sc->session = 0;
            sc->creating = 0;
            send_to(s, idx, CV_MSG_CLOSE, NULL, 0, 0, 0); /* the client retries */
        }
        return false;
    }
    take_session(s, idx, cr->session_id);
    sc->connect = m;
    sc->reval = 1;
    s->nreval++;
    /* Revalidate: the leader hears of the session (its clock restarts),
     * then a leader-confirmed sync tells what must be applied here first. */
    if (e->leading)
        cv_core_touch(s->core, sc->session, now);
    else
        cv_zab_touch(e->zab, sc->session);
    reval_start(s, idx);
    return true;
}

/* A request of an established session, in an ensemble member. Writes a
 * follower forwards carry the session's ids (cv_peer_fwd_encode). */
static int ens_request(struct cv_seq *s, uint32_t idx, struct cv_msg *m,
                       const struct cv_core_req *q)
{
    struct ens *e = s->ens;
    struct sconn *sc = &s->conns[idx];
    int32_t op = q->req->hdr.type;
    int64_t applied = cv_core_last_applied(s->core);
    if (sc->ro) {
        /* Read-only mode: reads from local state; what needs a quorum gets
         * NOTREADONLY (ZooKeeper's ReadOnlyRequestProcessor); a close ends
         * the connection. */
        if (cv_core_is_read(op) && op != CV_OP_SYNC) {
            struct cv_core_req lq = *q;
            lq.local_session = true;
            if (!serve_read(s, idx, &lq))
                return CV_CORE_HOLD;
        } else if (op == CV_OP_CLOSE_SESSION) {
            reply_header(s, idx, q->req->hdr.xid, CV_ZOK, true);
        } else {
            reply_header(s, idx, q->req->hdr.xid, CV_ZNOTREADONLY, false);
        }
        answered(s, sc, m->t0, false);
        return 0;
    }
    if (cv_core_is_read(op)) {
        /* FIFO per session: after this connection's writes in flight. */
        if (sc->wq_n)
            return CV_CORE_HOLD;
        if (op == CV_OP_SYNC) {
            /* m->wait: -1 not asked, -2 asked (sc->sync_zxid has the
             * answer: -2 none yet, -1 ask again), else the zxid to apply. */
            if (m->wait == -1) {
                sc->sync_seq = ++s->sync_ctr;
                sc->sync_zxid = -2;
                m->wait = -2;
                if (cv_zab_sync(e->zab, sc->session, (int64_t)idx << 32 | sc->sync_seq)) {
                    m->wait = -1;
                    return CV_CORE_HOLD; /* leader busy, or no leader (closing) */
                }
            }
            if (m->wait == -2) {
                if (sc->sync_zxid == -2)
                    return CV_CORE_HOLD;
                m->wait = sc->sync_zxid; /* -1: the leader was busy, ask again */
            }
            if (m->wait < 0 || m->wait > applied)
                return CV_CORE_HOLD;
        }
        if (!serve_read(s, idx, q))
            return CV_CORE_HOLD;
        answered(s, sc, m->t0, false);
        return 0;
    }
    if (sc->wq_n == CV_SEQ_WQ)
        return CV_CORE_HOLD;
    int64_t now = cv_rt_now_ms();
    if (e->leading) {
        if (!ens_can_propose(s, s->txn_cap))
            return CV_CORE_HOLD;
        size_t len;
        int rc = cv_core_prepare(s->core, q, now, s->txn, s->txn_cap, &len);
        if (rc == CV_CORE_HOLD || rc == -EBUSY)
            return CV_CORE_HOLD;
        if (rc)
            return prepare_refused(s, idx, m, q->req->hdr.xid, rc);
        wq_push(sc, q->req->hdr.xid, m->t0); /* a one-voter quorum applies inside propose */
        ens_propose(s, len);
        return 0;
    }
    int flen =
        cv_peer_fwd_encode(s->txn, s->txn_cap, &sc->auth, sizeof sc->auth, m->data + 4, m->len - 4);
    if (flen < 0 || cv_zab_forward(e->zab, sc->session, 0, s->txn, (size_t)flen))
        return CV_CORE_HOLD; /* no leader: the connection is closed with LOOKING */
    wq_push(sc, q->req->hdr.xid, m->t0);
    return 0;
}

/* Leader: prepare and propose what followers forwarded, in arrival order. */
static int leader_pump(struct cv_seq *s)
{
    struct ens *e = s->ens;
    int work = 0;
    int64_t now = cv_rt_now_ms();
    while (e->leading && e->lq.count) {
        struct pend *en = ring_front(&e->lq);
        int rc = 0;
        size_t len = 0;
        if (en->zxid == -1) {
            struct cv_connect_request cr;
            int32_t to;
            if (cv_proto_decode_connect_request(en->data, en->len, &cr) == 0) {
                if (!ens_can_propose(s, 256))
                    break;
                rc = cv_core_prepare_create_session_id(s->core, cr.session_id, cr.timeout, now, &to,
                                                       s->txn, s->txn_cap, &len);
                if (rc == -EBUSY)
                    break;
                if (rc == 0)
                    ens_propose(s, len);
            }
        } else {
            struct cv_acl_auth auth;
            struct cv_request req;
            const uint8_t *ap, *rp;
            uint32_t alen;
            size_t rlen;
            if (cv_peer_fwd_decode(en->data, en->len, &ap, &alen, &rp, &rlen) == 0 &&
                alen == sizeof auth && decode_request(rp, rlen, &req) == 0) {
                memcpy(&auth, ap, alen);
                if (cv_acl_auth_check(&auth))
                    cv_acl_auth_init(&auth); /* no ids: only world-readable ACLs pass */
                if (!ens_can_propose(s, s->txn_cap))
                    break;
                struct cv_core_req q = {en->session, &auth, &req, false};
                rc = cv_core_prepare(s->core, &q, now, s->txn, s->txn_cap, &len);
                if (rc == CV_CORE_HOLD || rc == -EBUSY)
                    break;
                if (rc == 0)
                    ens_propose(s, len);
            }
        }
        ring_pop(&e->lq);
        work++;
    }
    return work;
}

/* Proposals the log made durable: tell Zab (it ACKs, or commits). */
static int ens_logged(struct cv_seq *s)
{
    int64_t durable = cv_store_acked_zxid(s->store), last = -1;
    while (s->pq.count && s->pq.appended && ring_front(&s->pq)->zxid <= durable) {
        last = ring_front(&s->pq)->zxid;
        ring_pop(&s->pq);
    }
    if (last < 0)
        return 0;
    cv_zab_logged(s->ens->zab, cv_rt_now_ms(), last);
    return 1;
}

/* ---- Zab host callbacks ---- */

/* CORVID_TRACE_PEERS=1: every peer message in and out on stderr (debugging). */
static void trace_peer(const struct cv_seq *s, const char *dir, uint8_t peer,
                       const struct cv_peer_msg *m)
{
    if (!s->ens->trace)
        return;
    fprintf(stderr,
            "corvid: peer %s %u %-10s epoch %" PRId64 " zxid 0x%" PRIx64 " a %" PRId64 " b %" PRId64
            " len %u (t %" PRId64 ")\n",
            dir, peer, cv_peer_type_name(m->type), m->epoch, (uint64_t)m->zxid, m->a, m->b, m->len,
            cv_rt_now_ms() % 100000);
}

static void h_send(void *ctx, uint8_t to, const struct cv_peer_msg *m)
{
    struct cv_seq *s = ctx;
    trace_peer(s, "->", to, m);
    int len = cv_peer_encode(m, s->ens->wire, s->ens->wire_cap);
    if (len > 0) /* -EPIPE: the pair is reported broken at the next poll */
        cv_pnet_send(s->ens->pnet, to, s->ens->wire, (size_t)len);
}

static void h_reset(void *ctx, uint8_t to)
{
    struct cv_seq *s = ctx;
    if (s->ens->trace)
        fprintf(stderr, "corvid: peer %u: pair reset by Zab\n", to);
    cv_pnet_reset(s->ens->pnet, to);
}

static void h_persist(void *ctx, int64_t accepted, int64_t current)
{
    struct cv_seq *s = ctx;
    int rc = cv_store_persist_epochs(s->store, accepted, current);
    if (rc)
        disk_failed(rc);
}

static void h_append(void *ctx, int64_t zxid, const uint8_t *txn, size_t len)
{
    struct cv_seq *s = ctx;
    if (!ring_room(&s->pq, len))
        ens_fatal("the log queue is full (the disk is far behind)", zxid);
    int64_t now_us = cv_rt_mono_us();
    pend_push(s, zxid, 0, NULL, 0, now_us, txn, len);
    struct prop_time *pt = &s->ens->prop_t[(uint64_t)zxid % CV_SEQ_PROP_TIMES];
    pt->zxid = zxid;
    pt->us = now_us;
}

static void h_truncate(void *ctx, int64_t zxid)
{
    struct cv_seq *s = ctx;
    struct pring *q = &s->pq;
    /* Entries are in zxid order: cut the suffix above zxid. */
    size_t off = q->head;
    for (uint32_t i = 0; i < q->count; i++) {
        off = pend_norm(q, off);
        struct pend *e = pend_at(q, off);
        if (e->zxid > zxid) {
            q->tail = off;
            q->count = i;
            if (q->appended > i) {
                q->appended = i;
                q->app = off;
            }
            break;
        }
        off += e->size;
    }
    int rc = cv_store_truncate(s->store, zxid);
    if (rc)
        disk_failed(rc);
}

static void h_apply(void *ctx, int64_t zxid, const uint8_t *txn, size_t len)
{
    struct cv_seq *s = ctx;
    s->cur_has = false;
    if (cv_core_apply(s->core, txn, len, &s->sink))
        ens_fatal("a committed transaction could not be applied", zxid);
    struct prop_time *pt = &s->ens->prop_t[(uint64_t)zxid % CV_SEQ_PROP_TIMES];
    if (pt->zxid == zxid) { /* proposal -> commit latency (not for synced history) */
        int64_t now_us = cv_rt_mono_us();
        uint64_t lat = now_us > pt->us ? (uint64_t)(now_us - pt->us) : 0;
        s->st.prop_hist[cv_log2_bucket(lat, 32)]++;
        s->st.prop_count++;
        s->st.prop_sum_us += lat;
        pt->zxid = 0;
    }
    int64_t now = cv_rt_now_ms();
    cv_store_applied(s->store, s->core, 1, now);
    s->ens->progress = true;
}

static int h_snapshot(void *ctx, int (*write)(void *w, const void *p, size_t n), void *w,
                      int64_t *zxid)
{
    struct cv_seq *s = ctx;
    *zxid = cv_core_last_applied(s->core);
    return cv_core_serialize(s->core, write, w);
}

static int h_install(void *ctx, const uint8_t *snap, size_t len, int64_t zxid)
{
    struct cv_seq *s = ctx;
    int64_t now = cv_rt_now_ms();
    int rc = cv_core_restore(s->core, snap, len, now);
    if (rc)
        return rc;
    cv_core_refresh_config_node(s->core);
    memset(&s->pq.head, 0, sizeof s->pq - offsetof(struct pring, head));
    rc = cv_store_install(s->store, s->core, zxid, now);
    if (rc)
        disk_failed(rc);
    return 0;
}

static void close_all_clients(struct cv_seq *s)
{
    size_t n = (size_t)s->nio * s->cfg.conns_per_io;
    for (size_t i = 0; i < n; i++) {
        struct sconn *sc = &s->conns[i];
        if (!sc->used)
            continue;
        forget_session(s, (uint32_t)i);
        sc->session = 0;
        conn_release(s, (uint32_t)i, conn_ref(s, (uint32_t)i), true);
        sc->established = false;
    }
}

static void h_role(void *ctx, enum cv_zab_role r, uint8_t leader, int64_t epoch)
{
    struct cv_seq *s = ctx;
    struct ens *e = s->ens;
    int64_t now = cv_rt_now_ms();
    e->leading = false;
    e->lq.count = 0;
    s->exp_n = s->exp_i = 0;
    e->role_changes++;
    /* Read-only connections end when a quorum is back (as ZooKeeper's
     * read-only server shuts down); the others when the leader is lost. */
    close_all_clients(s);
    if (r == CV_ZAB_LOOKING) {
        /* No leader: clients reconnect to a member that has one. */
        e->looking_since = now;
        cv_core_abandon(s->core, now);
        fprintf(stderr, "corvid: LOOKING (election %" PRIu64 ")\n", e->role_changes);
        return;
    }
    if (r == CV_ZAB_LEADING) {
        /* S4: every session's clock restarts with the new leader. */
        cv_core_abandon(s->core, now);
        cv_core_set_zxid(s->core, cv_zab_next_zxid(e->zab) - 1);
        e->leading = true;
        e->leading_since = now;
        s->next_expiry_ms = now + s->cfg.core.sess.tick_ms;
    }
    fprintf(stderr, "corvid: %s, leader %u, epoch %" PRId64 "\n", cv_zab_role_name(r), leader,
            epoch);
}

static void h_request(void *ctx, uint8_t from, int64_t session, int64_t cookie, const uint8_t *req,
                      size_t len)
{
    struct cv_seq *s = ctx;
    struct ens *e = s->ens;
    if (!ring_room(&e->lq, len)) {
        /* Overload: break the pair; the follower's clients reconnect. */
        cv_pnet_break(e->pnet, from);
        return;
    }
    struct pend *en = ring_push(&e->lq, len);
    en->zxid = cookie;
    en->session = session;
    en->has_conn = from;
    memcpy(en->data, req, len);
}

static void h_touch(void *ctx, int64_t session)
{
    struct cv_seq *s = ctx;
    cv_core_touch(s->core, session, cv_rt_now_ms());
}

static void h_synced(void *ctx, int64_t session, int64_t cookie, int64_t zxid)
{
    struct cv_seq *s = ctx;
    uint32_t idx = (uint32_t)((uint64_t)cookie >> 32), seq = (uint32_t)cookie;
    (void)session;
    if (idx >= (size_t)s->nio * s->cfg.conns_per_io)
        return;
    struct sconn *sc = &s->conns[idx];
    if (!sc->used || sc->sync_seq != seq)
        return;
    s->ens->progress = true;
    if (sc->reval == 2) {
        if (zxid < 0) {
            sc->reval = 1; /* the leader was busy: ask again */
        } else {
            sc->reval = 3;
            sc->reval_zxid = zxid;
        }
        return;
    }
    sc->sync_zxid = zxid < 0 ? -1 : zxid; /* for the SYNC waiting (ens_request) */
}

/* ---- peer transport callbacks ---- */

static void p_deliver(void *ctx, uint8_t from, const uint8_t *msg, size_t len)
{
    struct cv_seq *s = ctx;
    int64_t now = cv_rt_now_ms();
    size_t off = 0;
    while (off < len) {
        struct cv_peer_msg pm;
        size_t used = 0;
        if (cv_peer_decode(msg + off, len - off, &pm, &used) || pm.from != from) {
            s->ens->bad_peer_msgs++;
            return;
        }
        trace_peer(s, "<-", from, &pm);
        cv_zab_recv(s->ens->zab, now, &pm);
        off += used;
    }
}

static void p_broken(void *ctx, uint8_t from)
{
    struct cv_seq *s = ctx;
    if (s->ens->trace)
        fprintf(stderr, "corvid: peer %u: pair broken\n", from);
    cv_zab_peer_reset(s->ens->zab, cv_rt_now_ms(), from);
}

static void p_unreachable(void *ctx, uint8_t peer)
{
    struct cv_seq *s = ctx;
    if (s->ens->trace)
        fprintf(stderr, "corvid: peer %u: port unreachable\n", peer);
    /* Its process is gone (a TCP reset in ZooKeeper's transport): the
     * pair is broken now, not after syncLimit ticks of silence. */
    cv_zab_peer_reset(s->ens->zab, cv_rt_now_ms(), peer);
}

static int ens_poll(struct cv_seq *s)
{
    struct ens *e = s->ens;
    int64_t now = cv_rt_now_ms();
    int work = cv_pnet_poll(e->pnet, now, &e->pcb);
    if (now >= e->next_tick_ms) {
        /* Often enough for Zab's short timers (FOLLOWERINFO repeats every
         * finalize_ms), cheap: a tick with nothing due does nothing. */
        e->next_tick_ms = now + 10;
        cv_zab_tick(e->zab, now);
        e->progress = true; /* held syncs retry after a busy leader */
    }
    work += leader_pump(s);
    if (e->progress) {
        e->progress = false;
        if (s->nreval)
            reval_all(s);
        serve_all_held(s);
        work++;
    }
    return work;
}

/* Recovery: log records after the snapshot, kept until Zab exists. */
static int load_record(void *ctx, int64_t zxid, const uint8_t *txn, size_t len)
{
    struct ens *e = ctx;
    size_t need = e->load_len + 12 + len;
    if (need > e->load_cap) {
        size_t cap = e->load_cap ? e->load_cap : 1u << 20;
        while (cap < need)
            cap *= 2;
        uint8_t *p = realloc(e->load, cap);
        if (!p)
            return -ENOMEM;
        e->load = p;
        e->load_cap = cap;
    }
    uint32_t l = (uint32_t)len;
    memcpy(e->load + e->load_len, &zxid, 8);
    memcpy(e->load + e->load_len + 8, &l, 4);
    memcpy(e->load + e->load_len + 12, txn, len);
    e->load_len = need;
    e->load_n++;
    return 0;
}

static int ens_open(struct cv_seq *s, const struct cv_seq_config *cfg, char *err, size_t errlen)
{
    struct ens *e = s->ens;
    struct cv_store_config stc = *cfg->store;
    stc.replicated = true;
    stc.load = load_record;
    stc.load_ctx = e;
    int rc = cv_store_open(&s->store, &stc, s->core, cv_rt_now_ms(), err, errlen);
    if (rc)
        return rc;
    cv_core_refresh_config_node(s->core); /* a snapshot may hold an older one */
    struct cv_zab_host h = {
        s,          h_send,    h_reset, h_persist, h_append, h_truncate, h_apply,
        h_snapshot, h_install, h_role,  h_request, h_touch,  h_synced,
    };
    const char *why = NULL;
    e->zab = cv_zab_new(&cfg->ens->zab, &h, &why);
    if (!e->zab) {
        snprintf(err, errlen, "atomic broadcast: %s", why ? why : "out of memory");
        return -EINVAL;
    }
    int64_t accepted, current;
    cv_store_epochs(s->store, &accepted, &current);
    rc = cv_zab_load_state(e->zab, accepted, current, cv_core_last_applied(s->core));
    for (size_t off = 0; rc == 0 && off < e->load_len;) {
        int64_t zxid;
        uint32_t l;
        memcpy(&zxid, e->load + off, 8);
        memcpy(&l, e->load + off + 8, 4);
        rc = cv_zab_load_proposal(e->zab, zxid, e->load + off + 12, l);
        off += 12 + l;
    }
    free(e->load);
    e->load = NULL;
    if (rc) {
        snprintf(err, errlen,
                 "recovery: %" PRIu64 " log records after the newest snapshot do not fit Zab's "
                 "history (%s): this member cannot start on this log (docs/replication.md)",
                 e->load_n, strerror(-rc));
        return -EUCLEAN;
    }
    rc = cv_pnet_new(&e->pnet, &cfg->ens->pnet, err, errlen);
    if (rc)
        return rc;
    e->looking_since = cv_rt_now_ms();
    e->prop_last = e->prop_min = e->prop_max = -1;
    const char *tr = getenv("CORVID_TRACE_PEERS");
    e->trace = tr && *tr && strcmp(tr, "0") != 0;
    e->pcb.ctx = s;
    e->pcb.deliver = p_deliver;
    e->pcb.broken = p_broken;
    e->pcb.unreachable = p_unreachable;
    cv_zab_start(e->zab, cv_rt_now_ms());
    return 0;
}

/* ---- timers ------------------------------------------------------------------- */

static int timers(struct cv_seq *s)
{
    int64_t now = cv_rt_now_ms();
    int work = 0;
    if (s->ens && !s->ens->leading)
        return 0; /* only the leader expires sessions and checks containers */
    if (now >= s->next_expiry_ms && s->exp_i == s->exp_n) {
        s->next_expiry_ms = now + s->cfg.core.sess.tick_ms / 2 + 1;
        s->exp_n = (unsigned)cv_core_expired(s->core, now, s->exp_ids, 64);
        s->exp_i = 0;
    }
    /* Each expired session is closing now; its close is prepared as soon as
     * there is room (never dropped: it would stay closing forever). */
    while (s->exp_i < s->exp_n && (s->ens ? ens_can_propose(s, 256) : pend_room(s))) {
        size_t len;
        int64_t id = s->exp_ids[s->exp_i];
        int rc = cv_core_prepare_expire(s->core, id, now, s->txn, s->txn_cap, &len);
        if (rc == -EBUSY)
            break;
        s->exp_i++;
        if (rc == 0 && s->ens)
            ens_propose(s, len);
        else if (rc == 0)
            pend_push(s, cv_core_last_prepared(s->core), id, NULL, 0, 0, s->txn, len);
        work++;
    }
    if (now >= s->next_housekeeping_ms) {
        s->next_housekeeping_ms = now + s->cfg.container_check_ms;
        for (int k = 0; k < 256 && (s->ens ? ens_can_propose(s, s->txn_cap) : pend_room(s)); k++) {
            size_t len;
            if (cv_core_prepare_housekeeping(s->core, now, s->txn, s->txn_cap, &len))
                break;
            if (s->ens)
                ens_propose(s, len);
            else
                pend_push(s, cv_core_last_prepared(s->core), 0, NULL, 0, 0, s->txn, len);
            work++;
        }
    }
    return work;
}

int cv_seq_poll(void *arg)
{
    struct cv_seq *s = arg;
    int work = 0;
    for (unsigned i = 0; i < s->nio; i++) {
        void *msgs[32];
        unsigned n = rte_ring_dequeue_burst(s->from_io[i], msgs, 32, NULL);
        for (unsigned k = 0; k < n; k++) {
            struct cv_msg *m = msgs[k];
            uint32_t idx = conn_index(s, &m->conn);
            struct sconn *sc = &s->conns[idx];
            switch (m->type) {
            case CV_MSG_CONNECT:
                if (handle_connect(s, idx, m))
                    continue; /* kept while the session is revalidated */
                break;
            case CV_MSG_FOURLW: handle_fourlw(s, idx, m); break;
            case CV_MSG_REQUEST:
                if (sc->used && sc->gen == m->conn.gen && sc->established) {
                    if (request_arrived(s, idx, m))
                        continue; /* held: not returned to the pool yet */
                } else {
                    send_ref(s, m->conn, CV_MSG_CLOSE, NULL, 0, 1, 0);
                }
                break;
            case CV_MSG_TOUCH:
                if (sc->used && sc->gen == m->conn.gen && sc->session) {
                    sess_touch(s, sc, cv_rt_now_ms());
                    sc->received++;
                    sc->sent++;
                    s->st.received++;
                    s->st.sent++;
                }
                break;
            case CV_MSG_GONE:
                if (sc->used && sc->gen == m->conn.gen) {
                    forget_session(s, idx);
                    conn_release(s, idx, m->conn, false);
                    sc->used = false;
                    s->nused--;
                }
                break;
            }
            cv_msg_put(s->rt, m);
        }
        work += (int)n;
    }
    work += storage_poll(s);
    if (s->ens)
        work += ens_poll(s);
    if (s->msg_starved) {
        /* reads waited for a free message: the io lcores return them */
        s->msg_starved = false;
        serve_all_held(s);
        work++;
    }
    return work + timers(s);
}

/* ---- life cycle and inspection --------------------------------------------- */

int cv_seq_new(struct cv_seq **out, struct cv_rt *rt, const struct cv_seq_config *cfg,
               struct rte_ring *const *from_io, struct rte_ring *const *to_io, unsigned nio,
               const struct cv_seq_hooks *hooks, char *err, size_t errlen)
{
    struct cv_seq *s = calloc(1, sizeof *s);
    if (!s)
        return -ENOMEM;
    s->rt = rt;
    s->cfg = *cfg;
    s->cfg.store = NULL;
    s->nio = nio;
    for (unsigned i = 0; i < nio; i++) {
        s->from_io[i] = from_io[i];
        s->to_io[i] = to_io[i];
    }
    if (hooks)
        s->hooks = *hooks;
    const char *why = NULL;
    s->core = cv_core_new(&cfg->core, &why);
    size_t nconns = (size_t)nio * cfg->conns_per_io;
    uint32_t map = 1;
    while (map < 2 * nconns)
        map <<= 1;
    s->map_mask = map - 1;
    s->conns = calloc(nconns, sizeof *s->conns);
    s->held_conns = calloc(nconns, sizeof *s->held_conns);
    s->map_key = calloc(map, sizeof *s->map_key);
    s->map_val = calloc(map, sizeof *s->map_val);
    s->txn_cap = (size_t)cfg->core.max_frame + 65536;
    s->txn = malloc(s->txn_cap);
    s->text_cap = 8u << 20;
    s->text = malloc(s->text_cap);
    s->pq.cap = (cfg->ens ? 256u : 64u) << 20;
    if (s->pq.cap < 4 * (s->txn_cap + sizeof(struct pend)))
        s->pq.cap = PEND_ALIGN(4 * (s->txn_cap + sizeof(struct pend)));
    s->pq.buf = malloc(s->pq.cap);
    if (cfg->ens) {
        s->ens = calloc(1, sizeof *s->ens);
        if (s->ens) {
            s->ens->wire_cap = CV_PEER_MAX_PAYLOAD + CV_PEER_OVERHEAD;
            s->ens->wire = malloc(s->ens->wire_cap);
            s->ens->lq.cap = 64u << 20;
            s->ens->lq.buf = malloc(s->ens->lq.cap);
        }
        if (!s->ens || !s->ens->wire || !s->ens->lq.buf) {
            snprintf(err, errlen, "sequencer: out of memory");
            cv_seq_free(s);
            return -ENOMEM;
        }
    }
    if (!s->core || !s->conns || !s->held_conns || !s->map_key || !s->map_val || !s->txn ||
        !s->text || !s->pq.buf) {
        snprintf(err, errlen, "sequencer: %s", why ? why : "out of memory");
        cv_seq_free(s);
        return -ENOMEM;
    }
    cv_tree_reserve(cv_core_tree(s->core), 1u << 16);
    int rc = !cfg->store ? -EINVAL
             : s->ens    ? ens_open(s, cfg, err, errlen)
                      : cv_store_open(&s->store, cfg->store, s->core, cv_rt_now_ms(), err, errlen);
    if (rc) {
        if (!cfg->store)
            snprintf(err, errlen, "sequencer: no storage configured");
        cv_seq_free(s);
        return rc;
    }
    s->sink.ctx = s;
    s->sink.reply = on_reply;
    s->sink.notify = on_notify;
    s->sink.auth_of = on_auth_of;
    s->sink.session_created = on_created;
    s->sink.session_closed = on_closed;
    s->st.started_ms = cv_rt_now_ms();
    s->next_housekeeping_ms = s->st.started_ms + cfg->container_check_ms;
    *out = s;
    return 0;
}

void cv_seq_free(struct cv_seq *s)
{
    if (!s)
        return;
    if (s->spare)
        cv_msg_put(s->rt, s->spare);
    if (s->store) {
        /* Answer nothing more; what is durable stays, the rest was never
         * acknowledged. */
        cv_store_close(s->store);
    }
    if (s->ens) {
        if (s->ens->pnet) {
            struct cv_pnet_stats ps;
            cv_pnet_get_stats(s->ens->pnet, &ps);
            fprintf(stderr,
                    "corvid: peer transport: %" PRIu64 " datagrams out, %" PRIu64 " in, %" PRIu64
                    " retransmitted, %" PRIu64 " pair resets, %" PRIu64 " send errors, %" PRIu64
                    " undecodable peer messages\n",
                    ps.dgrams_tx, ps.dgrams_rx, ps.retransmits, ps.resets, ps.send_errors,
                    s->ens->bad_peer_msgs);
        }
        cv_zab_free(s->ens->zab);
        cv_pnet_free(s->ens->pnet);
        free(s->ens->wire);
        free(s->ens->lq.buf);
        free(s->ens->load);
        free(s->ens);
    }
    size_t n = s->conns ? (size_t)s->nio * s->cfg.conns_per_io : 0;
    for (size_t i = 0; i < n; i++) {
        for (struct cv_msg *m = s->conns[i].held_head, *next; m; m = next) {
            next = m->link;
            cv_msg_put(s->rt, m);
        }
        if (s->conns[i].connect)
            cv_msg_put(s->rt, s->conns[i].connect);
    }
    cv_core_free(s->core);
    free(s->conns);
    free(s->held_conns);
    free(s->map_key);
    free(s->map_val);
    free(s->txn);
    free(s->text);
    free(s->pq.buf);
    free(s);
}

void cv_seq_store_stats(const struct cv_seq *s, struct cv_store_stats *out)
{
    cv_store_get_stats(s->store, out);
}

struct cv_core *cv_seq_core(struct cv_seq *s)
{
    return s->core;
}

struct cv_zab *cv_seq_zab(struct cv_seq *s)
{
    return s->ens ? s->ens->zab : NULL;
}

struct cv_pnet *cv_seq_pnet(struct cv_seq *s)
{
    return s->ens ? s->ens->pnet : NULL;
}

void cv_seq_get_ens_stats(const struct cv_seq *s, struct cv_seq_ens_stats *st)
{
    st->leading_since_ms = s->ens && s->ens->leading ? s->ens->leading_since : -1;
    st->proposal_last = s->ens ? s->ens->prop_last : -1;
    st->proposal_min = s->ens ? s->ens->prop_min : -1;
    st->proposal_max = s->ens ? s->ens->prop_max : -1;
}

bool cv_seq_read_only(const struct cv_seq *s)
{
    return s->ens && ro_ready(s, cv_rt_now_ms());
}

int cv_seq_disk_fd(const struct cv_seq *s)
{
    return cv_store_wake_fd(s->store);
}

void cv_seq_disk_wakes(struct cv_seq *s)
{
    s->disk_wakes = true;
}

int cv_seq_peer_fd(const struct cv_seq *s)
{
    return s->ens && s->ens->pnet ? cv_pnet_fd(s->ens->pnet) : -1;
}

void cv_seq_get_stats(const struct cv_seq *s, struct cv_seq_stats *st)
{
    /* O(connections holding requests): the control plane asks every ms */
    *st = s->st;
    st->connections = s->nused;
    st->sessions_here = s->nmapped;
    st->held_requests = 0;
    st->pending_txns = s->pq.count;
    for (uint32_t i = 0; i < s->nheld_conns; i++)
        st->held_requests += s->conns[s->held_conns[i]].nheld;
}

int cv_seq_snapshot_now(struct cv_seq *s)
{
    return cv_store_snapshot(s->store, s->core, cv_rt_now_ms());
}

void cv_seq_reset_stats(struct cv_seq *s)
{
    cv_store_reset_stats(s->store);
    /* srst resets ZooKeeper's figures; the histograms are Prometheus
     * counters and keep counting. */
    struct cv_seq_stats keep = s->st;
    memset(&s->st, 0, sizeof s->st);
    if (s->ens)
        s->ens->prop_last = s->ens->prop_min = s->ens->prop_max = -1;
    s->st.started_ms = keep.started_ms;
    memcpy(s->st.lat_hist, keep.lat_hist, sizeof keep.lat_hist);
    s->st.lat_hist_sum_us = keep.lat_hist_sum_us;
    memcpy(s->st.write_hist, keep.write_hist, sizeof keep.write_hist);
    s->st.write_lat_sum_us = keep.write_lat_sum_us;
    memcpy(s->st.prop_hist, keep.prop_hist, sizeof keep.prop_hist);
    s->st.prop_count = keep.prop_count;
    s->st.prop_sum_us = keep.prop_sum_us;
}

int cv_seq_foreach_conn(struct cv_seq *s, int (*fn)(void *ctx, const struct cv_seq_conn_info *c),
                        void *ctx)
{
    size_t n = (size_t)s->nio * s->cfg.conns_per_io;
    for (size_t i = 0; i < n; i++) {
        const struct sconn *c = &s->conns[i];
        if (!c->used)
            continue;
        struct cv_seq_conn_info info;
        memset(&info, 0, sizeof info);
        snprintf(info.peer, sizeof info.peer, "%s", c->peer);
        info.port = c->peer_port;
        info.session = c->session;
        info.timeout = c->timeout;
        info.received = c->received;
        info.sent = c->sent;
        info.established_ms = c->established_ms;
        info.last_response_ms = c->last_response_ms;
        info.last_cxid = c->last_cxid;
        info.last_zxid = c->last_zxid;
        info.last_op = c->last_op;
        info.lat_min_us = c->lat_min_us;
        info.lat_max_us = c->lat_max_us;
        info.lat_sum_us = c->lat_sum_us;
        info.lat_count = c->lat_count;
        int rc = fn(ctx, &info);
        if (rc)
            return rc;
    }
    return 0;
}

void cv_seq_reset_conn_stats(struct cv_seq *s)
{
    size_t n = (size_t)s->nio * s->cfg.conns_per_io;
    for (size_t i = 0; i < n; i++) {
        struct sconn *c = &s->conns[i];
        c->received = c->sent = 0;
        c->lat_min_us = c->lat_max_us = c->lat_sum_us = c->lat_count = 0;
        c->last_op = "NA";
        c->last_cxid = -1;
        c->last_zxid = -1;
    }
}
