/* cv_seq — the sequencer lcore of a standalone server. Contract in cv_seq.h. */
#include "cv_seq.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <rte_ring.h>

#include "cv_common.h"
#include "cv_jute.h"
#include "cv_store.h"

struct sconn {
    uint32_t gen;
    bool used;
    bool established;
    int64_t session;
    int32_t timeout;
    struct cv_acl_auth auth;
    char peer[48];
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
    int64_t t0_ms;
    uint8_t data[];
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
     * `appended` of them handed to the log */
    uint8_t *pq;
    size_t pq_cap, pq_head, pq_tail, pq_app;
    uint32_t pq_count, pq_appended;
    /* connections with requests held (per-session FIFO or back-pressure) */
    uint32_t *held_conns;
    uint32_t nheld_conns;
    /* expired sessions whose close is not prepared yet */
    int64_t exp_ids[64];
    unsigned exp_n, exp_i;
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
}

static void map_del(struct cv_seq *s, int64_t session)
{
    uint32_t i = map_hash(session) & s->map_mask;
    while (s->map_key[i] != session) {
        if (s->map_key[i] == 0)
            return;
        i = (i + 1) & s->map_mask;
    }
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

/* ---- sink: what apply reports ------------------------------------------------ */

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
    sc->established = true;
    sc->timeout = timeout;
    int n =
        cv_core_connect_response(s->core, session, timeout, true, (uint8_t *)s->text, s->text_cap);
    send_to(s, *c, CV_MSG_ESTABLISHED, s->text, n > 0 ? (size_t)n : 0, 0, session);
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

/* The connection is gone or replaced: its held requests are dropped, and
 * the io lcore still gets one answer for each. */
static void held_drop(struct cv_seq *s, uint32_t idx, struct cv_conn_ref ref)
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
    if (n)
        send_ref(s, ref, CV_MSG_CLOSE, NULL, 0, n, 0);
}

/* ---- connect ------------------------------------------------------------------ */

static void pend_push(struct cv_seq *s, int64_t zxid, int64_t session,
                      const struct cv_conn_ref *ref, int32_t xid, int64_t t0_ms, const uint8_t *txn,
                      size_t len);
static bool pend_room(const struct cv_seq *s);

static void handle_connect(struct cv_seq *s, uint32_t idx, const struct cv_msg *m)
{
    struct sconn *sc = &s->conns[idx];
    memset(sc, 0, sizeof *sc);
    sc->used = true;
    sc->gen = m->conn.gen;
    sc->last_op = "NA";
    sc->last_cxid = -1;
    sc->last_zxid = -1;
    sc->established_ms = cv_rt_now_ms();
    snprintf(sc->peer, sizeof sc->peer, "%s", m->peer);
    cv_acl_auth_init(&sc->auth);
    cv_acl_auth_add_ip(&sc->auth, sc->peer, strlen(sc->peer)); /* ZooKeeper's ip auth */
    s->st.received++;
    sc->received++;
    struct cv_connect_request cr;
    if (m->len < 4 || cv_proto_decode_connect_request(m->data + 4, m->len - 4, &cr)) {
        s->st.malformed++;
        send_to(s, idx, CV_MSG_CLOSE, NULL, 0, 0, 0);
        return;
    }
    s->st.connects++;
    int64_t now = cv_rt_now_ms();
    if (cr.session_id == 0) {
        int64_t id;
        int32_t to;
        size_t len;
        if (!pend_room(s) || cv_core_prepare_create_session(s->core, cr.timeout, now, &id, &to,
                                                            s->txn, s->txn_cap, &len)) {
            send_to(s, idx, CV_MSG_CLOSE, NULL, 0, 0, 0); /* the client retries */
            return;
        }
        sc->session = id;
        map_put(s, id, idx);
        /* S1/S5: on_created answers once the createSession is applied. */
        pend_push(s, cv_core_last_prepared(s->core), id, NULL, 0, now, s->txn, len);
        return;
    }
    int32_t timeout = 0;
    int rc = cv_core_validate_session(s->core, &cr, &timeout);
    if (rc != 0) {
        /* Expired, unknown or wrong password: ZooKeeper's "expired" answer. */
        s->st.expired++;
        int n = cv_core_connect_response(s->core, 0, 0, cr.has_read_only, (uint8_t *)s->text,
                                         s->text_cap);
        send_to(s, idx, CV_MSG_CLOSE, s->text, n > 0 ? (size_t)n : 0, 0, 0);
        return;
    }
    uint32_t *old = map_find(s, cr.session_id);
    if (old && *old != idx) {
        uint32_t o = *old;
        s->conns[o].session = 0;
        held_drop(s, o, conn_ref(s, o));
        send_to(s, o, CV_MSG_CLOSE, NULL, 0, 0, cr.session_id); /* it moved here */
        cv_core_drop_watches(s->core, cr.session_id);
        /* Its writes still in the log are answered to the old connection;
         * requests here must still come after them. */
        sc->last_write_zxid = s->conns[o].last_write_zxid;
    }
    map_put(s, cr.session_id, idx);
    sc->session = cr.session_id;
    sc->timeout = timeout;
    sc->established = true;
    cv_core_touch(s->core, cr.session_id, now);
    int n = cv_core_connect_response(s->core, cr.session_id, timeout, cr.has_read_only,
                                     (uint8_t *)s->text, s->text_cap);
    send_to(s, idx, CV_MSG_ESTABLISHED, s->text, n > 0 ? (size_t)n : 0, 0, cr.session_id);
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

/* A request of this connection was answered: its counters. */
static void answered(struct cv_seq *s, struct sconn *sc, int64_t t0_ms)
{
    int64_t now = cv_rt_now_ms();
    uint64_t lat = (uint64_t)(now - t0_ms) * 1000;
    sc->last_zxid = cv_core_last_applied(s->core);
    sc->last_response_ms = now;
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
}

static void serve_read(struct cv_seq *s, uint32_t idx, const struct cv_core_req *q)
{
    struct sconn *sc = &s->conns[idx];
    s->cur_has = false;
    struct cv_msg *out = cv_msg_get(s->rt, 4096);
    for (int attempt = 0; out; attempt++) {
        int n = cv_core_read(s->core, q, &s->sink, out->data, out->cap);
        if (n > 0) {
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
            return;
        }
        cv_msg_put(s->rt, out);
        out = NULL;
        if (n == -ENOBUFS && attempt == 0)
            out = cv_msg_get(s->rt, cv_msg_max(s->rt));
    }
    reply_header(s, idx, q->req->hdr.xid, CV_ZSYSTEMERROR, false);
}

/* Serve one request, or return CV_CORE_HOLD when it must wait (per-session
 * FIFO behind a write not yet applied, a session not yet created, or no
 * room for another prepared transaction); nothing is consumed then. */
static int handle_request(struct cv_seq *s, uint32_t idx, struct cv_msg *m)
{
    struct sconn *sc = &s->conns[idx];
    struct cv_request req;
    int rc = m->len >= 4 ? cv_proto_decode_request(m->data + 4, m->len - 4, &req) : -EBADMSG;
    if (rc == CV_PROTO_EUNKNOWN_OP && req.hdr.type == CV_OP_DELETE_CONTAINER)
        rc = 0; /* body unread: the core refuses it as ZooKeeper does */
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
    struct cv_core_req q = {sc->session, &sc->auth, &req};
    int64_t applied = cv_core_last_applied(s->core);
    if (req.hdr.type == CV_OP_AUTH) {
        int err = cv_acl_authenticate(&sc->auth, req.u.auth.scheme, req.u.auth.auth);
        if (err)
            s->st.auth_failed++;
        /* AUTHFAILED: ZooKeeper answers and then closes the connection. */
        reply_header(s, idx, req.hdr.xid, err, err != 0);
        answered(s, sc, m->t0);
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
        answered(s, sc, m->t0);
        return 0;
    }
    if (cv_core_is_read(req.hdr.type)) {
        /* Reads see the session's own earlier writes; sync answers after
         * every write prepared before it (ZooKeeper's pipeline order). */
        if (req.hdr.type == CV_OP_SYNC && m->wait < 0)
            m->wait = cv_core_last_prepared(s->core);
        if (sc->last_write_zxid > applied || m->wait > applied)
            return CV_CORE_HOLD;
        serve_read(s, idx, &q);
        answered(s, sc, m->t0);
        return 0;
    }
    size_t len;
    rc = pend_room(s) ? cv_core_prepare(s->core, &q, now, s->txn, s->txn_cap, &len) : -EBUSY;
    if (rc == CV_CORE_HOLD || rc == -EBUSY)
        return CV_CORE_HOLD; /* retried as transactions apply */
    if (rc) {
        reply_header(s, idx, req.hdr.xid, rc == -EINVAL ? CV_ZUNIMPLEMENTED : CV_ZSYSTEMERROR,
                     false);
        answered(s, sc, m->t0);
        return 0;
    }
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

/* A request from an io lcore; returns true if the message was kept. */
static bool request_arrived(struct cv_seq *s, uint32_t idx, struct cv_msg *m)
{
    struct sconn *sc = &s->conns[idx];
    s->st.received++;
    s->st.requests++;
    sc->received++;
    m->t0 = cv_rt_now_ms();
    m->wait = -1;
    cv_core_touch(s->core, sc->session, m->t0);
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

static struct pend *pend_at(const struct cv_seq *s, size_t off)
{
    return (struct pend *)(s->pq + off);
}

/* Entries never straddle the end: a reader at off with less than a header
 * left, or a zero size there, continues at 0. */
static size_t pend_norm(const struct cv_seq *s, size_t off)
{
    if (s->pq_cap - off < sizeof(struct pend) || pend_at(s, off)->size == 0)
        return 0;
    return off;
}

/* Room for the largest transaction at the tail (prepare checks this first,
 * so a prepared transaction always fits). */
static bool pend_room(const struct cv_seq *s)
{
    size_t need = PEND_ALIGN(sizeof(struct pend) + s->txn_cap);
    if (s->pq_count == 0)
        return s->pq_cap >= need;
    if (s->pq_tail > s->pq_head) /* free: [tail, cap) and [0, head) */
        return s->pq_cap - s->pq_tail >= need || s->pq_head > need;
    return s->pq_head - s->pq_tail > need;
}

static void pend_push(struct cv_seq *s, int64_t zxid, int64_t session,
                      const struct cv_conn_ref *ref, int32_t xid, int64_t t0_ms, const uint8_t *txn,
                      size_t len)
{
    size_t size = PEND_ALIGN(sizeof(struct pend) + len);
    if (s->pq_count == 0)
        s->pq_head = s->pq_tail = s->pq_app = 0;
    size_t off = s->pq_tail;
    if (s->pq_tail >= s->pq_head && s->pq_cap - s->pq_tail < size) {
        if (s->pq_cap - s->pq_tail >= sizeof(struct pend))
            pend_at(s, s->pq_tail)->size = 0; /* wrap marker */
        off = 0;
    }
    CV_VERIFY(pend_room(s)); /* callers checked; the rest is bookkeeping */
    struct pend *e = pend_at(s, off);
    e->size = (uint32_t)size;
    e->len = (uint32_t)len;
    e->zxid = zxid;
    e->session = session;
    e->has_conn = ref != NULL;
    if (ref)
        e->ref = *ref;
    e->xid = xid;
    e->t0_ms = t0_ms;
    memcpy(e->data, txn, len);
    s->pq_tail = off + size;
    s->pq_count++;
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
        answered(s, sc, e->t0_ms);
        if (sc->held_head)
            serve_held(s, idx); /* reads that waited for this write, in order */
    }
}

/* Apply every prepared transaction the log has acknowledged. */
static void apply_ready(struct cv_seq *s)
{
    int64_t acked = cv_store_acked_zxid(s->store);
    uint32_t n = 0;
    while (s->pq_count) {
        s->pq_head = pend_norm(s, s->pq_head);
        struct pend *e = pend_at(s, s->pq_head);
        if (e->zxid > acked || s->pq_appended == 0)
            break;
        s->pq_head += e->size;
        s->pq_count--;
        s->pq_appended--;
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

/* Hand prepared transactions to the log, progress it, apply what is durable. */
static int storage_poll(struct cv_seq *s)
{
    int work = 0;
    for (int round = 0; round < 2; round++) {
        while (s->pq_appended < s->pq_count) {
            s->pq_app = pend_norm(s, s->pq_app);
            struct pend *e = pend_at(s, s->pq_app);
            int rc = cv_store_append(s->store, e->zxid, e->data, e->len);
            if (rc == -EAGAIN)
                break;
            if (rc)
                disk_failed(rc);
            s->pq_app += e->size;
            s->pq_appended++;
            work++;
        }
        int rc = cv_store_poll(s->store, cv_rt_now_ms());
        if (rc < 0)
            disk_failed(rc);
        if (rc == 0)
            break;
        work++;
    }
    /* A write in flight keeps the reactor polling: an idle reactor sleeps
     * in epoll, which a disk completion does not wake. */
    if (s->pq_appended)
        work++;
    uint32_t before = s->pq_count;
    apply_ready(s);
    if (before != s->pq_count) {
        serve_all_held(s); /* syncs, and writes that waited for room */
        work++;
    }
    return work;
}

/* ---- timers ------------------------------------------------------------------- */

static int timers(struct cv_seq *s)
{
    int64_t now = cv_rt_now_ms();
    int work = 0;
    if (now >= s->next_expiry_ms && s->exp_i == s->exp_n) {
        s->next_expiry_ms = now + s->cfg.core.sess.tick_ms / 2 + 1;
        s->exp_n = (unsigned)cv_core_expired(s->core, now, s->exp_ids, 64);
        s->exp_i = 0;
    }
    /* Each expired session is closing now; its close is prepared as soon as
     * there is room (never dropped: it would stay closing forever). */
    while (s->exp_i < s->exp_n && pend_room(s)) {
        size_t len;
        int64_t id = s->exp_ids[s->exp_i];
        int rc = cv_core_prepare_expire(s->core, id, now, s->txn, s->txn_cap, &len);
        if (rc == -EBUSY)
            break;
        s->exp_i++;
        if (rc == 0)
            pend_push(s, cv_core_last_prepared(s->core), id, NULL, 0, now, s->txn, len);
        work++;
    }
    if (now >= s->next_housekeeping_ms) {
        s->next_housekeeping_ms = now + s->cfg.container_check_ms;
        for (int k = 0; k < 256 && pend_room(s); k++) {
            size_t len;
            if (cv_core_prepare_housekeeping(s->core, now, s->txn, s->txn_cap, &len))
                break;
            pend_push(s, cv_core_last_prepared(s->core), 0, NULL, 0, now, s->txn, len);
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
            case CV_MSG_CONNECT: handle_connect(s, idx, m); break;
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
                    cv_core_touch(s->core, sc->session, cv_rt_now_ms());
                    sc->received++;
                    sc->sent++;
                    s->st.received++;
                    s->st.sent++;
                }
                break;
            case CV_MSG_GONE:
                if (sc->used && sc->gen == m->conn.gen) {
                    uint32_t *c = sc->session ? map_find(s, sc->session) : NULL;
                    if (c && *c == idx) {
                        map_del(s, sc->session);
                        cv_core_drop_watches(s->core, sc->session);
                    }
                    held_drop(s, idx, m->conn);
                    sc->used = false;
                }
                break;
            }
            cv_msg_put(s->rt, m);
        }
        work += (int)n;
    }
    work += storage_poll(s);
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
    s->pq_cap = 64u << 20;
    if (s->pq_cap < 4 * (s->txn_cap + sizeof(struct pend)))
        s->pq_cap = PEND_ALIGN(4 * (s->txn_cap + sizeof(struct pend)));
    s->pq = malloc(s->pq_cap);
    if (!s->core || !s->conns || !s->held_conns || !s->map_key || !s->map_val || !s->txn ||
        !s->text || !s->pq) {
        snprintf(err, errlen, "sequencer: %s", why ? why : "out of memory");
        cv_seq_free(s);
        return -ENOMEM;
    }
    cv_tree_reserve(cv_core_tree(s->core), 1u << 16);
    int rc = cfg->store ? cv_store_open(&s->store, cfg->store, s->core, cv_rt_now_ms(), err, errlen)
                        : -EINVAL;
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
    if (s->store) {
        /* Answer nothing more; what is durable stays, the rest was never
         * acknowledged. */
        cv_store_close(s->store);
    }
    size_t n = s->conns ? (size_t)s->nio * s->cfg.conns_per_io : 0;
    for (size_t i = 0; i < n; i++)
        for (struct cv_msg *m = s->conns[i].held_head, *next; m; m = next) {
            next = m->link;
            cv_msg_put(s->rt, m);
        }
    cv_core_free(s->core);
    free(s->conns);
    free(s->held_conns);
    free(s->map_key);
    free(s->map_val);
    free(s->txn);
    free(s->text);
    free(s->pq);
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

void cv_seq_get_stats(const struct cv_seq *s, struct cv_seq_stats *st)
{
    *st = s->st;
    st->connections = 0;
    st->held_requests = 0;
    st->pending_txns = s->pq_count;
    size_t n = (size_t)s->nio * s->cfg.conns_per_io;
    for (size_t i = 0; i < n; i++) {
        st->connections += s->conns[i].used;
        st->held_requests += s->conns[i].nheld;
    }
}

void cv_seq_reset_stats(struct cv_seq *s)
{
    cv_store_reset_stats(s->store);
    int64_t started = s->st.started_ms;
    memset(&s->st, 0, sizeof s->st);
    s->st.started_ms = started;
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
