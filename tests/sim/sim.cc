// The deterministic simulator (see sim.h for what it models and checks).
#include "sim.h"

#include <algorithm>
#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <cstdarg>

extern "C" {
#include "cv_chan.h"
#include "cv_core.h"
#include "cv_crc.h"
#include "cv_lincheck.h"
#include "cv_peer.h"
#include "cv_zab.h"
}

namespace sim
{

using Bytes = std::vector<uint8_t>;

// ---- PRNG (xoshiro256**, seeded by splitmix64) ------------------------------

struct Rng {
    uint64_t s[4];
    explicit Rng(uint64_t seed)
    {
        for (auto &x : s) {
            seed += 0x9e3779b97f4a7c15ull;
            uint64_t z = seed;
            z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
            z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
            x = z ^ (z >> 31);
        }
    }
    static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
    uint64_t next()
    {
        uint64_t r = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;
        s[2] ^= s[0];
        s[3] ^= s[1];
        s[1] ^= s[2];
        s[0] ^= s[3];
        s[2] ^= t;
        s[3] = rotl(s[3], 45);
        return r;
    }
    uint64_t below(uint64_t n) { return n ? next() % n : 0; }
    int64_t range(int64_t lo, int64_t hi)
    {
        return hi <= lo ? lo : lo + (int64_t)below(hi - lo + 1);
    }
    bool chance(double p) { return (double)(next() >> 11) * (1.0 / 9007199254740992.0) < p; }
};

static uint64_t fnv(const uint8_t *p, size_t n)
{
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++)
        h = (h ^ p[i]) * 1099511628211ull;
    return h;
}

static cv_jbuf jb(const std::string &s)
{
    return {(const uint8_t *)s.data(), (int32_t)s.size()};
}

class WorldImpl;

// ---- a server ---------------------------------------------------------------

struct Rec {
    int64_t zxid;
    Bytes txn;
    uint32_t crc;
};

// What survives a crash.
struct Disk {
    std::vector<Rec> log;
    Bytes snap;
    int64_t snap_zxid = 0;
    bool has_snap = false;
    int64_t accepted = 0, current = 0;
    uint64_t boots = 0;
};

enum ConnState { C_CREATING, C_REVALIDATING, C_OPEN };

struct Conn {
    int64_t id;
    int client;
    ConnState st;
    int64_t session = 0;
    cv_connect_request cr{};
    Bytes passwd;
    Bytes connect_frame;
    int64_t wait_zxid = -1; // revalidation / sync: apply up to here first
    bool sync_sent = false;
    uint32_t sync_seq = 0; // answers to an earlier sync are ignored
    std::deque<Bytes> q;   // request frames (with length prefix), in order
    bool inflight = false;
    int32_t inflight_xid = 0;
    int64_t last_heard = 0;
};

struct Fwd {
    uint8_t from;
    int64_t session, cookie;
    Bytes body;
};

class Node
{
  public:
    WorldImpl *w;
    int id;
    bool up = false;
    Disk disk;
    cv_core *core = nullptr;
    cv_zab *zab = nullptr;
    std::vector<cv_chan *> chan;
    std::deque<Rec> pending;
    std::vector<Rec> flushing;
    bool busy = false;
    int64_t disk_min, disk_max, stall_until = 0;
    uint64_t resets = 0;
    std::map<int64_t, Conn> conns;
    std::map<int64_t, int64_t> by_session;
    std::deque<Fwd> leader_q;
    int64_t skew_ms = 0;
    int32_t drift_ppm = 0;
    uint64_t applies = 0, conns_closed = 0, role_changes = 0;
    std::set<int> broken;
    int64_t chan_wake = INT64_MAX;
    bool leading = false;
    cv_zab_stats seen{};         // counters already added to the world's stats
    Bytes buf = Bytes(1 << 21);  // prepare / read / reply frames
    Bytes wire = Bytes(1 << 21); // peer messages (a payload may point into buf)

    int64_t lnow() const;
    void boot();
    void crash(bool torn);
    void kick_disk();
    void flush_tx();
    void after_event();
    void pump();
    void recv_dgram(int from, const Bytes &d);
    void close_conn(int64_t cid, bool notify_client);
    void on_client_frame(int64_t cid, const Bytes &f);
    void on_connect(int client, int64_t cid, const Bytes &f);
    void send_client(const Conn &c, const uint8_t *f, size_t n);
    int leader_prepare(int64_t session, const cv_request &r);
    int leader_create_session(int64_t id, int32_t timeout);
    void touch(int64_t session);
    void finish_connect(Conn &c);

    // cv_core sink
    static void s_reply(void *ctx, int64_t session, const uint8_t *f, size_t n);
    static void s_notify(void *ctx, int64_t session, const uint8_t *f, size_t n);
    static void s_created(void *ctx, int64_t session, int32_t timeout);
    static void s_closed(void *ctx, int64_t session);
    cv_core_sink sink{};
    // cv_zab host
    static void h_send(void *ctx, uint8_t to, const cv_peer_msg *m);
    static void h_reset(void *ctx, uint8_t to);
    static void h_persist(void *ctx, int64_t a, int64_t c);
    static void h_append(void *ctx, int64_t zxid, const uint8_t *t, size_t n);
    static void h_truncate(void *ctx, int64_t zxid);
    static void h_apply(void *ctx, int64_t zxid, const uint8_t *t, size_t n);
    static int h_snapshot(void *ctx, int (*wr)(void *, const void *, size_t), void *wctx,
                          int64_t *zxid);
    static int h_install(void *ctx, const uint8_t *s, size_t n, int64_t zxid);
    static void h_role(void *ctx, enum cv_zab_role r, uint8_t leader, int64_t epoch);
    static void h_request(void *ctx, uint8_t from, int64_t session, int64_t cookie,
                          const uint8_t *req, size_t n);
    static void h_touch(void *ctx, int64_t session);
    static void h_synced(void *ctx, int64_t session, int64_t cookie, int64_t zxid);
};

// ---- a client ------------------------------------------------------------------

enum HKind { H_NONE, H_READ, H_SYNCREAD, H_WRITE, H_CAS, H_CAS_READ, H_OTHER };

struct Pend {
    int32_t xid;
    int32_t op;
    int64_t call_us;
    HKind kind = H_NONE;
    int key = -1;
    int64_t value = 0;
    int32_t expect = 0;
    size_t hist = SIZE_MAX; // index in the key's history
};

struct Client {
    int id;
    int64_t session = 0;
    Bytes passwd;
    int32_t timeout = 0;
    int node = 0;
    int64_t conn = 0;
    uint64_t node_boot = 0;
    enum { DISC, CONNECTING, CONNECTED } st = DISC;
    int64_t last_heard = 0, last_sent = 0;
    int32_t xid = 1;
    std::map<int32_t, Pend> pend;
    bool autop = false, blocked = false;
    std::map<int32_t, int32_t> results;
    std::map<int32_t, int64_t> owners;
    uint64_t expired = 0;
    int64_t counter = 0;
    std::vector<std::string> ephemerals;
    int64_t up_t = 0, down_t = 0; // TCP is FIFO: last delivery time each way
    bool broken = false;          // a message was lost while cut off: the connection is dead
};

// ---- the world -------------------------------------------------------------------

struct Ev {
    int64_t t;
    uint64_t seq;
    std::function<void()> fn;
    bool operator<(const Ev &o) const { return t != o.t ? t > o.t : seq > o.seq; }
};

struct LedgerEnt {
    uint64_t hash, digest;
    int node;
};

class WorldImpl : public World
{
  public:
    Options o;
    Rng rng;
    int64_t now_us = 0;
    uint64_t seq = 0;
    std::priority_queue<Ev> evq;
    int n_servers;
    std::vector<std::unique_ptr<Node>> nodes; // 1..n
    std::vector<Client> clients;
    std::vector<std::vector<bool>> blocked;       // [from][to] node links
    std::vector<std::vector<int64_t>> link_extra; // extra latency
    std::string violation;
    Stats st;
    std::map<int64_t, LedgerEnt> ledger;
    std::vector<std::vector<cv_lc_op>> hist;
    std::map<int64_t, int64_t> told_expired; // session -> time its client was told (us)
    std::map<int64_t, int32_t> sess_timeout;
    std::map<int64_t, int64_t> leader_heard; // session -> us (the newest epoch's leader)
    std::map<int64_t, int64_t> epoch_start;  // epoch -> us established
    int64_t max_epoch = 0;
    bool nemesis = false;
    int64_t next_conn = 1;
    bool setup_done = false;

    explicit WorldImpl(const Options &opt) : o(opt), rng(opt.seed)
    {
        n_servers = o.nodes + o.observers;
        nodes.resize(n_servers + 1);
        blocked.assign(n_servers + 1, std::vector<bool>(n_servers + 1, false));
        link_extra.assign(n_servers + 1, std::vector<int64_t>(n_servers + 1, 0));
        for (int i = 1; i <= n_servers; i++) {
            nodes[i] = std::make_unique<Node>();
            Node &n = *nodes[i];
            n.w = this;
            n.id = i;
            n.disk_min = o.disk_lat_min_us;
            n.disk_max = o.disk_lat_max_us;
            if (o.clock_skew) {
                n.skew_ms = rng.range(-5000, 5000);
                n.drift_ppm = (int32_t)rng.range(-10000, 10000);
            }
        }
        clients.resize(o.clients);
        for (int c = 0; c < o.clients; c++)
            clients[c].id = c;
        hist.resize(o.keys);
        for (int i = 1; i <= n_servers; i++)
            nodes[i]->boot();
        for (int i = 1; i <= n_servers; i++)
            schedule_tick(i);
    }
    ~WorldImpl() override
    {
        for (int i = 1; i <= n_servers; i++)
            if (nodes[i]->up)
                nodes[i]->crash(false);
    }

    void fail(const std::string &why)
    {
        if (violation.empty()) {
            violation = why;
            if (o.verbose)
                fprintf(stderr, "[%" PRId64 " ms] VIOLATION %s\n", now_us / 1000, why.c_str());
        }
    }
    void log(const char *fmt, ...) __attribute__((format(printf, 2, 3)))
    {
        if (!o.verbose)
            return;
        va_list ap;
        va_start(ap, fmt);
        fprintf(stderr, "[%8.3f] ", (double)now_us / 1000.0);
        vfprintf(stderr, fmt, ap);
        fputc('\n', stderr);
        va_end(ap);
    }

    void at(int64_t t, std::function<void()> fn) { evq.push({t, seq++, std::move(fn)}); }
    void after(int64_t us, std::function<void()> fn) { at(now_us + us, std::move(fn)); }

    void schedule_tick(int i)
    {
        Node *n = nodes[i].get();
        after(o.tick_ms * 1000 / 4, [this, n, i] {
            if (n->up)
                cv_zab_tick(n->zab, n->lnow());
            node_housekeeping(*n);
            schedule_tick(i);
        });
    }

    void node_housekeeping(Node &n);
    void client_tick(int c);

    void run_for(int64_t ms) override
    {
        int64_t end = now_us + ms * 1000;
        while (!evq.empty() && evq.top().t <= end) {
            Ev e = evq.top();
            evq.pop();
            now_us = e.t;
            e.fn();
            for (int i = 1; i <= n_servers; i++)
                if (nodes[i]->up)
                    nodes[i]->after_event();
        }
        now_us = end;
    }
    int64_t now_ms() const override { return now_us / 1000; }

    // network between servers
    void dgram(int from, int to, const Bytes &d)
    {
        st.dgrams++;
        if (blocked[from][to] || rng.chance(o.loss)) {
            st.dgrams_lost++;
            return;
        }
        int copies = rng.chance(o.dup) ? 2 : 1;
        for (int k = 0; k < copies; k++) {
            int64_t lat = rng.range(o.lat_min_us, o.lat_max_us) + link_extra[from][to];
            if (rng.chance(0.01))
                lat *= 10; // a long tail reorders
            Node *dst = nodes[to].get();
            uint64_t boot = dst->disk.boots;
            after(lat, [this, dst, boot, from, d] {
                if (dst->up && dst->disk.boots == boot && !blocked[from][dst->id])
                    dst->recv_dgram(from, d);
            });
        }
    }

    // client <-> server: a TCP connection (reliable, FIFO, until closed)
    int64_t client_lat() { return rng.range(o.lat_min_us, o.lat_max_us); }
    void to_server(int c, const Bytes &f);
    void to_client(int c, int node, int64_t conn, const Bytes &f);
    void client_disconnected(int c, int node, int64_t conn);
    void close_to_client(int c, int node, int64_t conn)
    {
        Client &cl = clients[c];
        cl.down_t = std::max(now_us + client_lat(), cl.down_t + 1);
        at(cl.down_t, [this, c, node, conn] { client_disconnected(c, node, conn); });
    }
    void client_frame(int c, int node, int64_t conn, const Bytes &f);
    int32_t client_send(int c, const Bytes &frame_wo_xid, int32_t op, Pend p);
    void client_fail_pending(Client &cl, bool expired);
    void client_workload(int c);
    void record_result(Client &cl, Pend &p, const cv_response &r);

    // ledger: every apply anywhere
    void applied(Node &n, int64_t zxid, const uint8_t *t, size_t len)
    {
        uint64_t h = fnv(t, len), d = cv_core_digest(n.core);
        auto it = ledger.find(zxid);
        if (it == ledger.end()) {
            ledger[zxid] = {h, d, n.id};
            check_expiry_txn(t, len, zxid);
        } else if (it->second.hash != h) {
            char b[160];
            snprintf(b, sizeof b,
                     "S6: node %d applied a different transaction at zxid 0x%" PRIx64
                     " than node %d",
                     n.id, zxid, it->second.node);
            fail(b);
        } else if (it->second.digest != d) {
            char b[160];
            snprintf(b, sizeof b,
                     "replicas differ: node %d's state digest after zxid 0x%" PRIx64
                     " differs from node %d's",
                     n.id, zxid, it->second.node);
            fail(b);
        }
        st.max_zxid_counter = std::max<uint64_t>(st.max_zxid_counter, (uint32_t)zxid);
    }
    void check_expiry_txn(const uint8_t *t, size_t len, int64_t zxid)
    {
        cv_txn tx;
        if (cv_proto_decode_txn(t, len, &tx) || tx.hdr.type != CV_OP_CLOSE_SESSION || tx.hdr.cxid)
            return;
        int64_t s = tx.hdr.client_id, e = cv_zab_epoch_of(zxid);
        auto to = sess_timeout.find(s);
        if (to == sess_timeout.end() || !epoch_start.count(e))
            return;
        int64_t since = epoch_start[e];
        auto h = leader_heard.find(s);
        if (h != leader_heard.end())
            since = std::max(since, h->second);
        if (now_us - since < (int64_t)to->second * 1000 / 2) {
            char b[200];
            snprintf(b, sizeof b,
                     "S4: session 0x%" PRIx64 " expired %" PRId64 " ms after the leader last heard"
                     " of it or epoch %" PRId64 " began (timeout %d ms)",
                     s, (now_us - since) / 1000, e, to->second);
            fail(b);
        }
    }

    // ---- World ----
    int leader() const override
    {
        for (int i = 1; i <= n_servers; i++)
            if (nodes[i]->up && cv_zab_role(nodes[i]->zab) == CV_ZAB_LEADING &&
                cv_zab_serving(nodes[i]->zab) && cv_zab_current_epoch(nodes[i]->zab) == max_epoch)
                return i;
        return 0;
    }
    bool serving(int i) const override { return nodes[i]->up && cv_zab_serving(nodes[i]->zab); }
    void crash(int i, bool torn) override
    {
        if (!nodes[i]->up)
            return;
        st.crashes++;
        if (torn)
            st.torn++;
        log("crash node %d%s", i, torn ? " (torn write)" : "");
        nodes[i]->crash(torn);
    }
    void restart(int i) override
    {
        if (nodes[i]->up)
            return;
        log("restart node %d", i);
        nodes[i]->boot();
    }
    void partition(const std::vector<int> &a) override
    {
        std::set<int> sa(a.begin(), a.end());
        for (int i = 1; i <= n_servers; i++)
            for (int j = 1; j <= n_servers; j++)
                if (i != j && (sa.count(i) != sa.count(j)))
                    blocked[i][j] = true;
        st.partitions++;
    }
    void block(int from, int to, bool b) override { blocked[from][to] = b; }
    void heal() override
    {
        for (auto &row : blocked)
            std::fill(row.begin(), row.end(), false);
    }
    void set_disk_latency(int i, int64_t lo, int64_t hi) override
    {
        nodes[i]->disk_min = lo;
        nodes[i]->disk_max = hi;
    }
    void set_link_latency(int from, int to, int64_t extra) override
    {
        link_extra[from][to] = extra;
    }
    void client_connect(int c, int node) override;
    void client_block(int c, bool b) override { clients[c].blocked = b; }
    void client_auto(int c, bool on) override
    {
        bool was = clients[c].autop;
        clients[c].autop = on;
        if (on && !was)
            client_workload(c);
    }
    bool client_connected(int c) const override { return clients[c].st == Client::CONNECTED; }
    int64_t client_session(int c) const override { return clients[c].session; }
    uint64_t client_expired_count(int c) const override { return clients[c].expired; }
    uint64_t conns_closed_by_servers(int i) const override { return nodes[i]->conns_closed; }
    uint64_t role_changes(int i) const override { return nodes[i]->role_changes; }
    int32_t client_create_ephemeral(int c, const std::string &path) override;
    int32_t client_exists(int c, const std::string &path, bool watch) override;
    int32_t client_set_watches(int c, const std::vector<std::string> &paths) override;
    int32_t client_result(int c, int32_t xid) const override
    {
        auto it = clients[c].results.find(xid);
        return it == clients[c].results.end() ? -1000 : it->second;
    }
    int64_t client_result_owner(int c, int32_t xid) const override
    {
        auto it = clients[c].owners.find(xid);
        return it == clients[c].owners.end() ? 0 : it->second;
    }
    int node_watch_count(int i, int64_t s) const override
    {
        return nodes[i]->up ? (int)cv_watch_session_count(cv_core_watches(nodes[i]->core), s) : 0;
    }
    int node_ephemeral_count(int i, int64_t s) const override
    {
        return nodes[i]->up ? (int)cv_tree_ephemeral_count(cv_core_tree(nodes[i]->core), s) : 0;
    }
    bool node_session_live(int i, int64_t s) const override
    {
        return nodes[i]->up && cv_sess_is_live(cv_core_sessions(nodes[i]->core), s);
    }
    std::string check() override;
    std::string settle() override;
    Stats stats() const override { return st; }

    void nemesis_step();
    void setup_keys();
};

// ---- Node ------------------------------------------------------------------------

int64_t Node::lnow() const
{
    int64_t ms = w->now_us / 1000;
    return 1700000000000 + ms + ms * drift_ppm / 1000000 + skew_ms;
}

static uint32_t rec_crc(int64_t zxid, const Bytes &t)
{
    uint32_t c = cv_crc32c(&zxid, sizeof zxid);
    return cv_crc32c_update(c, t.data(), t.size());
}

void Node::boot()
{
    disk.boots++;
    up = true;
    busy = false;
    pending.clear();
    flushing.clear();
    conns.clear();
    by_session.clear();
    leader_q.clear();
    broken.clear();
    leading = false;
    seen = cv_zab_stats{};
    chan_wake = INT64_MAX;

    cv_core_config cc;
    cv_core_config_init(&cc, (int32_t)w->o.tick_ms);
    memcpy(cc.sess.secret, "corvid-simulator-shared-secret!!", 32);
    cc.sess.secret_len = 32;
    cc.server_id = (uint8_t)id;
    cc.start_ms = lnow() + (int64_t)disk.boots * 1000;
    cc.sess.min_timeout_ms = (int32_t)(2 * w->o.tick_ms);
    cc.sess.max_timeout_ms = (int32_t)(20 * w->o.tick_ms) > w->o.session_timeout_ms * 2
                                 ? (int32_t)(20 * w->o.tick_ms)
                                 : w->o.session_timeout_ms * 2;
    cc.max_outstanding = 8192;
    const char *why = nullptr;
    core = cv_core_new(&cc, &why);
    if (!core) {
        w->fail(std::string("cv_core_new: ") + (why ? why : "?"));
        return;
    }
    sink.ctx = this;
    sink.reply = s_reply;
    sink.notify = s_notify;
    sink.session_created = s_created;
    sink.session_closed = s_closed;

    uint64_t voters = 0, observers = 0;
    for (int i = 1; i <= w->o.nodes; i++)
        voters |= 1ull << i;
    for (int i = w->o.nodes + 1; i <= w->n_servers; i++)
        observers |= 1ull << i;
    cv_zab_config zc;
    cv_zab_config_init(&zc, (uint8_t)id, voters, observers);
    zc.tick_ms = w->o.tick_ms;
    zc.init_limit = 10;
    zc.sync_limit = 5;
    zc.finalize_ms = w->o.tick_ms / 2;
    zc.history = 1 << 16;
    zc.history_bytes = 64u << 20;
    zc.max_inflight = 4096;
    zc.snap_chunk = 4096;
    zc.mutate = w->o.zab_mutate;
    if (w->o.counter_limit)
        zc.counter_limit = w->o.counter_limit;
    zc.lag_resync = w->o.lag_resync;
    cv_zab_host h{};
    h.ctx = this;
    h.send = h_send;
    h.reset_peer = h_reset;
    h.persist_epochs = h_persist;
    h.append = h_append;
    h.truncate = h_truncate;
    h.apply = h_apply;
    h.snapshot = h_snapshot;
    h.install = h_install;
    h.role = h_role;
    h.request = h_request;
    h.touch = h_touch;
    h.synced = h_synced;
    zab = cv_zab_new(&zc, &h, &why);
    if (!zab) {
        w->fail(std::string("cv_zab_new: ") + (why ? why : "?"));
        return;
    }
    chan.assign(w->n_servers + 1, nullptr);
    cv_chan_config ch;
    cv_chan_config_init(&ch);
    ch.max_dgram = 9000;
    for (int p = 1; p <= w->n_servers; p++)
        if (p != id)
            chan[p] = cv_chan_new(&ch, (disk.boots << 32) | ++resets);

    // Recovery: the snapshot, then the log after it (up to the first bad record).
    int64_t base = 0;
    if (disk.has_snap) {
        if (cv_core_restore(core, disk.snap.data(), disk.snap.size(), lnow())) {
            w->fail("snapshot restore failed");
            return;
        }
        base = disk.snap_zxid;
    }
    cv_zab_load_state(zab, disk.accepted, disk.current, base);
    for (size_t i = 0; i < disk.log.size(); i++) {
        Rec &r = disk.log[i];
        if (rec_crc(r.zxid, r.txn) != r.crc) {
            w->log("node %d: torn record at zxid 0x%" PRIx64 ", log cut there", id, r.zxid);
            disk.log.resize(i);
            break;
        }
        if (r.zxid <= base)
            continue;
        int rc = cv_zab_load_proposal(zab, r.zxid, r.txn.data(), r.txn.size());
        if (rc) {
            w->fail("cv_zab_load_proposal failed on recovery");
            return;
        }
    }
    cv_zab_start(zab, lnow());
}

void Node::crash(bool torn)
{
    up = false;
    // The flush in progress: some of its records made it, maybe one torn.
    if (busy && !flushing.empty()) {
        size_t k = (size_t)w->rng.below(flushing.size() + 1);
        for (size_t i = 0; i < k; i++)
            disk.log.push_back(flushing[i]);
        if (torn && k < flushing.size()) {
            Rec r = flushing[k];
            if (!r.txn.empty())
                r.txn.resize(r.txn.size() / 2); // half the record reached the platter
            disk.log.push_back(r);
        }
    }
    for (auto &kv : conns)
        w->close_to_client(kv.second.client, id, kv.first);
    conns.clear();
    by_session.clear();
    cv_zab_free(zab);
    zab = nullptr;
    cv_core_free(core);
    core = nullptr;
    for (auto *c : chan)
        if (c)
            cv_chan_free(c);
    chan.clear();
    pending.clear();
    flushing.clear();
    busy = false;
}

void Node::kick_disk()
{
    if (busy || pending.empty() || !up)
        return;
    flushing.assign(pending.begin(), pending.end());
    pending.clear();
    busy = true;
    int64_t d = w->rng.range(disk_min, disk_max);
    if (stall_until > w->now_us)
        d += stall_until - w->now_us;
    uint64_t boot = disk.boots;
    w->after(d, [this, boot] {
        if (!up || disk.boots != boot)
            return;
        int64_t last = -1;
        for (auto &r : flushing) {
            disk.log.push_back(r);
            last = r.zxid;
        }
        flushing.clear();
        busy = false;
        if (last >= 0)
            cv_zab_logged(zab, lnow(), last);
        kick_disk();
    });
}

void Node::flush_tx()
{
    for (int p = 1; p <= w->n_servers; p++) {
        if (!chan[p])
            continue;
        uint8_t d[9200];
        size_t n;
        while ((n = cv_chan_poll_tx(chan[p], lnow(), d, sizeof d)) > 0)
            w->dgram(id, p, Bytes(d, d + n));
    }
    int64_t due = INT64_MAX;
    for (int p = 1; p <= w->n_servers; p++)
        if (chan[p])
            due = std::min(due, cv_chan_next_due(chan[p]));
    if (due != INT64_MAX && due < chan_wake) {
        chan_wake = due;
        int64_t at_us = w->now_us + std::max<int64_t>(0, due - lnow()) * 1000 + 1;
        uint64_t boot = disk.boots;
        w->at(at_us, [this, boot] {
            if (up && disk.boots == boot)
                chan_wake = INT64_MAX; // after_event polls the channels
        });
    }
}

void Node::after_event()
{
    // Pairs that overflowed are reset now (not from inside a zab call).
    while (!broken.empty()) {
        int p = *broken.begin();
        broken.erase(broken.begin());
        cv_chan_reset(chan[p], (disk.boots << 32) | ++resets);
        cv_zab_peer_reset(zab, lnow(), (uint8_t)p);
    }
    pump();
    flush_tx();
}

// cv_chan's deliver callback: collect the messages of one datagram.
static void collect(void *msgs, const uint8_t *m, size_t n)
{
    static_cast<std::vector<Bytes> *>(msgs)->emplace_back(m, m + n);
}

void Node::recv_dgram(int from, const Bytes &d)
{
    std::vector<Bytes> msgs;
    if (cv_chan_recv(chan[from], d.data(), d.size(), lnow(), collect, &msgs) == CV_CHAN_RESET) {
        // The pair broke (the peer restarted or reset it): tell the protocol,
        // then take the datagram again as the new pair's first.
        cv_zab_peer_reset(zab, lnow(), (uint8_t)from);
        if (!up)
            return;
        cv_chan_recv(chan[from], d.data(), d.size(), lnow(), collect, &msgs);
    }
    for (auto &m : msgs) {
        if (!up)
            return;
        size_t off = 0;
        while (off < m.size()) {
            cv_peer_msg pm;
            size_t used = 0;
            if (cv_peer_decode(m.data() + off, m.size() - off, &pm, &used)) {
                w->fail("a peer message failed to decode");
                return;
            }
            if (pm.from != from) {
                w->fail("a peer message names the wrong sender");
                return;
            }
            cv_zab_recv(zab, lnow(), &pm);
            off += used;
        }
    }
}

void Node::h_send(void *ctx, uint8_t to, const cv_peer_msg *m)
{
    Node *n = static_cast<Node *>(ctx);
    int len = cv_peer_encode(m, n->wire.data(), n->wire.size());
    if (len < 0) {
        n->w->fail("cv_peer_encode failed for a message cv_zab produced");
        return;
    }
    if (!n->chan[to] || n->broken.count(to))
        return;
    if (cv_chan_send(n->chan[to], n->wire.data(), (size_t)len))
        n->broken.insert(to);
}
void Node::h_reset(void *ctx, uint8_t to)
{
    Node *n = static_cast<Node *>(ctx);
    if (n->chan[to])
        cv_chan_reset(n->chan[to], (n->disk.boots << 32) | ++n->resets);
    n->broken.erase(to);
}
void Node::h_persist(void *ctx, int64_t a, int64_t c)
{
    Node *n = static_cast<Node *>(ctx);
    n->disk.accepted = a;
    n->disk.current = c;
}
void Node::h_append(void *ctx, int64_t zxid, const uint8_t *t, size_t len)
{
    Node *n = static_cast<Node *>(ctx);
    Bytes b(t, t + len);
    n->pending.push_back({zxid, b, rec_crc(zxid, b)});
    n->kick_disk();
}
void Node::h_truncate(void *ctx, int64_t zxid)
{
    Node *n = static_cast<Node *>(ctx);
    n->w->st.truncs++;
    auto cut = [zxid](std::vector<Rec> &v) {
        v.erase(std::remove_if(v.begin(), v.end(), [zxid](const Rec &r) { return r.zxid > zxid; }),
                v.end());
    };
    cut(n->disk.log);
    cut(n->flushing);
    n->pending.erase(std::remove_if(n->pending.begin(), n->pending.end(),
                                    [zxid](const Rec &r) { return r.zxid > zxid; }),
                     n->pending.end());
}
void Node::h_apply(void *ctx, int64_t zxid, const uint8_t *t, size_t len)
{
    Node *n = static_cast<Node *>(ctx);
    int rc = cv_core_apply(n->core, t, len, &n->sink);
    if (rc) {
        char b[120];
        snprintf(b, sizeof b, "node %d: cv_core_apply of zxid 0x%" PRIx64 " failed: %d", n->id,
                 zxid, rc);
        n->w->fail(b);
        return;
    }
    n->w->applied(*n, zxid, t, len);
    if (++n->applies % (uint64_t)n->w->o.snap_every == 0) {
        Bytes s;
        cv_core_serialize(
            n->core,
            [](void *c, const void *p, size_t k) {
                auto *v = static_cast<Bytes *>(c);
                v->insert(v->end(), (const uint8_t *)p, (const uint8_t *)p + k);
                return 0;
            },
            &s);
        n->disk.snap = s;
        n->disk.snap_zxid = zxid;
        n->disk.has_snap = true;
    }
}
int Node::h_snapshot(void *ctx, int (*wr)(void *, const void *, size_t), void *wctx, int64_t *zxid)
{
    Node *n = static_cast<Node *>(ctx);
    n->w->st.snaps_sent++;
    *zxid = cv_zab_last_committed(n->zab);
    return cv_core_serialize(n->core, wr, wctx);
}
int Node::h_install(void *ctx, const uint8_t *s, size_t len, int64_t zxid)
{
    Node *n = static_cast<Node *>(ctx);
    int rc = cv_core_restore(n->core, s, len, n->lnow());
    if (rc)
        return rc;
    n->disk.snap.assign(s, s + len);
    n->disk.snap_zxid = zxid;
    n->disk.has_snap = true;
    n->disk.log.clear();
    n->pending.clear();
    n->flushing.clear();
    return 0;
}
void Node::h_role(void *ctx, enum cv_zab_role r, uint8_t leader, int64_t epoch)
{
    Node *n = static_cast<Node *>(ctx);
    WorldImpl *w = n->w;
    n->role_changes++;
    w->log("node %d: %s (leader %d, epoch %" PRId64 ")", n->id, cv_zab_role_name(r), leader, epoch);
    n->leading = false;
    if (r == CV_ZAB_LOOKING) {
        w->st.elections++;
        std::vector<int64_t> ids;
        for (auto &kv : n->conns)
            ids.push_back(kv.first);
        for (int64_t c : ids)
            n->close_conn(c, true);
        n->leader_q.clear();
        cv_core_abandon(n->core, n->lnow());
        return;
    }
    if (r == CV_ZAB_LEADING) {
        // S4: every session's clock restarts with the new leader (the
        // mutation switch instead pretends the election took forever).
        int64_t t = n->lnow();
        if (w->o.mut_expire_in_election)
            t -= 100LL * w->o.session_timeout_ms;
        cv_core_abandon(n->core, t);
        cv_core_set_zxid(n->core, cv_zab_next_zxid(n->zab) - 1);
        n->leading = true;
        if (epoch > w->max_epoch) {
            w->max_epoch = epoch;
            w->epoch_start[epoch] = w->now_us;
        }
    }
}
void Node::h_request(void *ctx, uint8_t from, int64_t session, int64_t cookie, const uint8_t *req,
                     size_t len)
{
    Node *n = static_cast<Node *>(ctx);
    n->leader_q.push_back({from, session, cookie, Bytes(req, req + len)});
}
void Node::h_touch(void *ctx, int64_t session)
{
    static_cast<Node *>(ctx)->touch(session);
}
void Node::h_synced(void *ctx, int64_t session, int64_t cookie, int64_t zxid)
{
    Node *n = static_cast<Node *>(ctx);
    (void)session;
    auto it = n->conns.find(cookie >> 16);
    if (it == n->conns.end() || !it->second.sync_sent || it->second.wait_zxid >= 0 ||
        (uint32_t)(cookie & 0xffff) != (it->second.sync_seq & 0xffff))
        return;
    n->w->log("node %d: synced conn %" PRId64 " zxid 0x%" PRIx64, n->id, cookie >> 16, zxid);
    if (zxid < 0)
        it->second.sync_sent = false; // the leader was busy: ask again
    else
        it->second.wait_zxid = zxid;
}

void Node::touch(int64_t session)
{
    if (leading) {
        if (cv_core_touch(core, session, lnow()) == 0 && cv_zab_current_epoch(zab) == w->max_epoch)
            w->leader_heard[session] = w->now_us;
    } else {
        cv_zab_touch(zab, session);
    }
}

void Node::s_reply(void *ctx, int64_t session, const uint8_t *f, size_t n)
{
    Node *nd = static_cast<Node *>(ctx);
    auto it = nd->by_session.find(session);
    if (it == nd->by_session.end())
        return;
    Conn &c = nd->conns[it->second];
    int32_t xid =
        (int32_t)((uint32_t)f[4] << 24 | (uint32_t)f[5] << 16 | (uint32_t)f[6] << 8 | f[7]);
    if (c.st != C_OPEN || !c.inflight || c.inflight_xid != xid)
        return;
    nd->send_client(c, f, n);
    c.inflight = false;
    c.q.pop_front();
}
void Node::s_notify(void *ctx, int64_t session, const uint8_t *f, size_t n)
{
    Node *nd = static_cast<Node *>(ctx);
    auto it = nd->by_session.find(session);
    if (it != nd->by_session.end() && nd->conns[it->second].st == C_OPEN)
        nd->send_client(nd->conns[it->second], f, n);
}
void Node::s_created(void *ctx, int64_t session, int32_t timeout)
{
    Node *nd = static_cast<Node *>(ctx);
    nd->w->sess_timeout[session] = timeout;
    auto it = nd->by_session.find(session);
    if (it == nd->by_session.end())
        return;
    Conn &c = nd->conns[it->second];
    if (c.st != C_CREATING)
        return;
    c.cr.timeout = timeout;
    int len = cv_core_connect_response(nd->core, session, timeout, c.cr.has_read_only != 0,
                                       nd->buf.data(), nd->buf.size());
    nd->send_client(c, nd->buf.data(), (size_t)len);
    c.st = C_OPEN;
}
void Node::s_closed(void *ctx, int64_t session)
{
    Node *nd = static_cast<Node *>(ctx);
    auto it = nd->by_session.find(session);
    if (it != nd->by_session.end())
        nd->close_conn(it->second, true);
}

void Node::send_client(const Conn &c, const uint8_t *f, size_t n)
{
    w->to_client(c.client, id, c.id, Bytes(f, f + n));
}

void Node::close_conn(int64_t cid, bool notify_client)
{
    auto it = conns.find(cid);
    if (it == conns.end())
        return;
    Conn &c = it->second;
    conns_closed++;
    if (c.session) {
        auto bs = by_session.find(c.session);
        if (bs != by_session.end() && bs->second == cid) {
            by_session.erase(bs);
            cv_core_drop_watches(core, c.session);
        }
    }
    int client = c.client;
    conns.erase(it);
    if (notify_client)
        w->close_to_client(client, id, cid);
}

void Node::on_connect(int client, int64_t cid, const Bytes &f)
{
    w->log("node %d: connect from client %d, conn %" PRId64, id, client, cid);
    Conn &c = conns[cid];
    c.id = cid;
    c.client = client;
    c.connect_frame = f; // c.cr points into it: the Conn stays where it is in the map
    c.last_heard = w->now_us;
    if (cv_proto_decode_connect_request(c.connect_frame.data() + 4, c.connect_frame.size() - 4,
                                        &c.cr) ||
        !cv_zab_serving(zab)) {
        close_conn(cid, true);
        return;
    }
    int64_t sid = c.cr.session_id ? c.cr.session_id : cv_core_new_session_id(core);
    auto old = by_session.find(sid);
    if (old != by_session.end())
        close_conn(old->second, true);
    Conn &cc = conns[cid];
    cc.session = sid;
    cc.st = cc.cr.session_id ? C_REVALIDATING : C_CREATING;
    by_session[sid] = cid;
    if (cc.st == C_CREATING) {
        if (leading) {
            int rc = leader_create_session(cc.session, cc.cr.timeout);
            if (rc)
                close_conn(cid, true);
        } else {
            // Forward a ConnectRequest naming the id this server chose.
            cv_connect_request cr = cc.cr;
            cr.session_id = cc.session;
            int len = cv_proto_encode_connect_request(buf.data(), buf.size(), &cr);
            if (len < 4 || cv_zab_forward(zab, cc.session, -1, buf.data() + 4, (size_t)len - 4))
                close_conn(cid, true);
        }
    } else {
        // Revalidate: the leader touches the session; this server answers
        // once it has applied everything the leader had proposed by then.
        touch(cc.session);
        cc.sync_sent = true;
        if (cv_zab_sync(zab, cc.session, cid << 16 | (++cc.sync_seq & 0xffff)))
            close_conn(cid, true);
    }
}

void Node::finish_connect(Conn &c)
{
    c.sync_sent = false;
    c.wait_zxid = -1;
    int32_t timeout = 0;
    int rc = cv_core_validate_session(core, &c.cr, &timeout);
    if (rc == CV_CORE_HOLD)
        return;
    if (rc == 0) {
        int len = cv_core_connect_response(core, c.session, timeout, c.cr.has_read_only != 0,
                                           buf.data(), buf.size());
        send_client(c, buf.data(), (size_t)len);
        c.st = C_OPEN;
        touch(c.session);
        return;
    }
    // S2: "expired" only once this server has applied the session's close.
    cv_sess_info info;
    if (cv_sess_get(cv_core_sessions(core), c.session, &info) == 0 && info.closing &&
        c.cr.passwd.len >= 0)
        return;
    w->log("node %d: session 0x%" PRIx64 " expired for client %d (validate %d, committed 0x%" PRIx64
           ")",
           id, c.session, c.client, rc, cv_zab_last_committed(zab));
    int len = cv_core_connect_response(core, 0, 0, c.cr.has_read_only != 0, buf.data(), buf.size());
    send_client(c, buf.data(), (size_t)len);
    by_session.erase(c.session);
    c.session = 0;
    close_conn(c.id, true);
}

int Node::leader_create_session(int64_t sid, int32_t timeout)
{
    if (cv_zab_can_propose(zab, 64))
        return 1;
    size_t len = 0;
    int32_t to = 0;
    int rc = cv_core_prepare_create_session_id(core, sid, timeout, lnow(), &to, buf.data(),
                                               buf.size(), &len);
    if (rc == -EBUSY)
        return 1;
    if (rc)
        return -1;
    rc = cv_zab_propose(zab, lnow(), cv_core_last_prepared(core), buf.data(), len);
    if (rc) {
        w->fail("propose failed after can_propose said yes");
        return -1;
    }
    return 0;
}

int Node::leader_prepare(int64_t session, const cv_request &r)
{
    if (cv_zab_can_propose(zab, 1 << 20))
        return 1;
    cv_core_req q{session, nullptr, &r, false};
    size_t len = 0;
    int rc = cv_core_prepare(core, &q, lnow(), buf.data(), buf.size(), &len);
    if (rc == CV_CORE_HOLD || rc == -EBUSY)
        return 1;
    if (rc)
        return -1;
    if (cv_zab_propose(zab, lnow(), cv_core_last_prepared(core), buf.data(), len)) {
        w->fail("propose failed after can_propose said yes");
        return -1;
    }
    return 0;
}

void Node::on_client_frame(int64_t cid, const Bytes &f)
{
    auto it = conns.find(cid);
    if (it == conns.end())
        return;
    Conn &c = it->second;
    c.last_heard = w->now_us;
    cv_request r;
    if (f.size() < 12 || cv_proto_decode_request(f.data() + 4, f.size() - 4, &r)) {
        close_conn(cid, true);
        return;
    }
    if (r.hdr.type == CV_OP_PING && c.st == C_OPEN) {
        touch(c.session);
        cv_response rep{};
        rep.hdr = {-2, cv_zab_last_committed(zab), 0};
        rep.op = CV_OP_PING;
        int n = cv_proto_encode_response(buf.data(), buf.size(), &rep);
        send_client(c, buf.data(), (size_t)n);
        return;
    }
    c.q.push_back(f); // S1: nothing is processed before the session is validated
}

void Node::pump()
{
    if (!up)
        return;
    // Leader: forwarded requests, in arrival order.
    while (leading && !leader_q.empty()) {
        Fwd &fw = leader_q.front();
        int rc;
        if (fw.cookie == -1) {
            cv_connect_request cr;
            if (cv_proto_decode_connect_request(fw.body.data(), fw.body.size(), &cr)) {
                leader_q.pop_front();
                continue;
            }
            rc = leader_create_session(cr.session_id, cr.timeout);
        } else {
            cv_request r;
            if (cv_proto_decode_request(fw.body.data(), fw.body.size(), &r)) {
                leader_q.pop_front();
                continue;
            }
            rc = leader_prepare(fw.session, r);
        }
        if (rc > 0)
            break;
        leader_q.pop_front();
    }
    int64_t committed = cv_zab_last_committed(zab);
    std::vector<int64_t> ids;
    for (auto &kv : conns)
        ids.push_back(kv.first);
    for (int64_t cid : ids) {
        auto it = conns.find(cid);
        if (it == conns.end())
            continue;
        Conn &c = it->second;
        if (c.st == C_REVALIDATING) {
            if (!c.sync_sent &&
                cv_zab_sync(zab, c.session, cid << 16 | (++c.sync_seq & 0xffff)) == 0)
                c.sync_sent = true;
            if (c.wait_zxid >= 0 && committed >= c.wait_zxid)
                finish_connect(c);
            continue;
        }
        while (c.st == C_OPEN && !c.inflight && !c.q.empty()) {
            const Bytes &f = c.q.front();
            cv_request r;
            cv_proto_decode_request(f.data() + 4, f.size() - 4, &r);
            touch(c.session);
            int32_t op = r.hdr.type;
            if (op == CV_OP_SYNC) {
                if (c.wait_zxid < 0 && !c.sync_sent) {
                    c.sync_sent = true;
                    if (cv_zab_sync(zab, c.session, cid << 16 | (++c.sync_seq & 0xffff))) {
                        close_conn(cid, true);
                        break;
                    }
                }
                if (c.wait_zxid < 0 || committed < c.wait_zxid)
                    break;
                c.wait_zxid = -1;
                c.sync_sent = false;
            }
            if (cv_core_is_read(op)) {
                cv_core_req q{c.session, nullptr, &r, false};
                int n = cv_core_read(core, &q, &sink, buf.data(), buf.size());
                if (n == CV_CORE_HOLD)
                    break;
                if (n > 0)
                    send_client(c, buf.data(), (size_t)n);
                c.q.pop_front();
                continue;
            }
            // A write: the reply comes from apply (s_reply), which may even
            // run inside the call below (a single-server quorum): mark it
            // in flight first, and look the connection up again after.
            c.inflight = true;
            c.inflight_xid = r.hdr.xid;
            int64_t session = c.session;
            int rc = leading
                         ? leader_prepare(session, r)
                         : (cv_zab_forward(zab, session, cid, f.data() + 4, f.size() - 4) ? -1 : 0);
            auto again = conns.find(cid);
            if (again == conns.end())
                break;
            if (rc > 0)
                again->second.inflight = false; // retry later
            if (rc < 0)
                close_conn(cid, true);
            if (rc != 0)
                break;
        }
    }
}

void WorldImpl::node_housekeeping(Node &n)
{
    if (!n.up)
        return;
    cv_zab_stats zs;
    cv_zab_get_stats(n.zab, &zs);
    st.epoch_rolls += zs.epoch_rolls - n.seen.epoch_rolls;
    st.lag_detaches += zs.lag_detaches - n.seen.lag_detaches;
    st.lag_resyncs += zs.lag_resyncs - n.seen.lag_resyncs;
    n.seen = zs;
    if (zs.conflicts)
        fail("S6: node " + std::to_string(n.id) +
             " was told to truncate below a transaction it had committed (committed history "
             "lost)");
    // Leader: expire sessions (S3: by committed closeSession transactions).
    if (n.leading) {
        int64_t ids[64];
        size_t k = cv_core_expired(n.core, n.lnow(), ids, 64);
        for (size_t i = 0; i < k; i++) {
            if (cv_zab_can_propose(n.zab, 64))
                break;
            size_t len = 0;
            log("node %d: expires session 0x%" PRIx64, n.id, ids[i]);
            if (cv_core_prepare_expire(n.core, ids[i], n.lnow(), n.buf.data(), n.buf.size(),
                                       &len) == 0)
                cv_zab_propose(n.zab, n.lnow(), cv_core_last_prepared(n.core), n.buf.data(), len);
        }
    }
    // Connections silent for longer than their session's timeout.
    std::vector<int64_t> dead;
    for (auto &kv : n.conns) {
        int64_t limit = kv.second.st == C_OPEN && kv.second.cr.timeout > 0
                            ? (int64_t)kv.second.cr.timeout * 1000
                            : (int64_t)o.session_timeout_ms * 2000;
        if (now_us - kv.second.last_heard > limit)
            dead.push_back(kv.first);
    }
    for (int64_t c : dead)
        n.close_conn(c, true);
}

// ---- clients -----------------------------------------------------------------------

void WorldImpl::client_connect(int c, int node)
{
    Client &cl = clients[c];
    if (cl.st != Client::DISC && nodes[cl.node]->up)
        nodes[cl.node]->close_conn(cl.conn, false);
    client_fail_pending(cl, false);
    cl.node = node;
    cl.conn = next_conn++;
    cl.broken = false;
    log("client %d connects to node %d (session 0x%" PRIx64 ")", c, node, cl.session);
    cl.node_boot = nodes[node]->disk.boots;
    cl.st = Client::CONNECTING;
    cl.last_heard = now_us;
    cv_connect_request cr{};
    cr.timeout = o.session_timeout_ms;
    cr.session_id = cl.session;
    Bytes pw(16, 0);
    if (cl.session)
        pw = cl.passwd;
    cr.passwd = {pw.data(), 16};
    Bytes f(256);
    int n = cv_proto_encode_connect_request(f.data(), f.size(), &cr);
    f.resize((size_t)n);
    int64_t conn = cl.conn;
    cl.up_t = std::max(now_us + client_lat(), cl.up_t + 1);
    at(cl.up_t, [this, c, node, conn, f, boot = cl.node_boot] {
        Node &nd = *nodes[node];
        if (!nd.up || nd.disk.boots != boot || clients[c].blocked) {
            client_disconnected(c, node, conn);
            return;
        }
        nd.on_connect(c, conn, f);
    });
}

void WorldImpl::to_server(int c, const Bytes &f)
{
    Client &cl = clients[c];
    cl.last_sent = now_us;
    if (cl.blocked)
        cl.broken = true; // lost in a partition: nothing more flows on this connection
    if (cl.broken)
        return; // the client notices by its timeout
    int node = cl.node;
    int64_t conn = cl.conn;
    cl.up_t = std::max(now_us + client_lat(), cl.up_t + 1);
    at(cl.up_t, [this, node, conn, f, boot = cl.node_boot] {
        Node &nd = *nodes[node];
        if (nd.up && nd.disk.boots == boot)
            nd.on_client_frame(conn, f);
    });
}

void WorldImpl::to_client(int c, int node, int64_t conn, const Bytes &f)
{
    Client &cl = clients[c];
    if (cl.blocked || cl.conn != conn || cl.node != node)
        cl.broken = cl.broken || (cl.conn == conn && cl.node == node);
    if (cl.broken && cl.conn == conn && cl.node == node)
        return;
    cl.down_t = std::max(now_us + client_lat(), cl.down_t + 1);
    at(cl.down_t, [this, c, node, conn, f] { client_frame(c, node, conn, f); });
}

void WorldImpl::client_fail_pending(Client &cl, bool expired)
{
    for (auto &kv : cl.pend) {
        Pend &p = kv.second;
        cl.results[p.xid] = expired ? CV_ZSESSIONEXPIRED : CV_ZCONNECTIONLOSS;
        if (p.hist != SIZE_MAX) {
            cv_lc_op &h = hist[p.key][p.hist];
            if (h.kind == CV_LC_READ)
                h.outcome = CV_LC_FAIL; // no observation
            else {
                h.outcome = CV_LC_UNKNOWN;
                st.unknown_writes++;
            }
        }
    }
    cl.pend.clear();
}

void WorldImpl::client_disconnected(int c, int node, int64_t conn)
{
    Client &cl = clients[c];
    if (cl.node != node || cl.conn != conn || cl.st == Client::DISC)
        return;
    cl.st = Client::DISC;
    client_fail_pending(cl, false);
    if (cl.autop) {
        int next = 1 + (int)rng.below((uint64_t)n_servers);
        after(rng.range(1000, 50000), [this, c, next] {
            if (clients[c].st == Client::DISC && clients[c].autop)
                client_connect(c, next);
        });
    }
}

int32_t WorldImpl::client_send(int c, const Bytes &frame, int32_t op, Pend p)
{
    Client &cl = clients[c];
    int32_t xid = cl.xid++;
    Bytes f = frame;
    f[4] = (uint8_t)(xid >> 24);
    f[5] = (uint8_t)(xid >> 16);
    f[6] = (uint8_t)(xid >> 8);
    f[7] = (uint8_t)xid;
    p.xid = xid;
    p.op = op;
    p.call_us = now_us;
    cl.pend[xid] = p;
    st.ops++;
    to_server(c, f); // while connecting: pipelined behind the ConnectRequest, as real clients do
    return xid;
}

static Bytes encode_req(const cv_request &r)
{
    Bytes f(1 << 16);
    int n = cv_proto_encode_request(f.data(), f.size(), &r);
    f.resize(n > 0 ? (size_t)n : 0);
    return f;
}

static cv_request base_req(int32_t type)
{
    cv_request r;
    memset(&r, 0, sizeof r);
    r.hdr.type = type;
    return r;
}

static std::string key_path(int k)
{
    return "/k" + std::to_string(k);
}

void WorldImpl::client_frame(int c, int node, int64_t conn, const Bytes &f)
{
    Client &cl = clients[c];
    if (cl.node != node || cl.conn != conn || cl.st == Client::DISC)
        return;
    cl.last_heard = now_us;
    if (cl.st == Client::CONNECTING) {
        cv_connect_response cr;
        if (cv_proto_decode_connect_response(f.data() + 4, f.size() - 4, &cr)) {
            fail("client could not decode a ConnectResponse");
            return;
        }
        if (cr.timeout <= 0 || cr.session_id == 0) {
            // Expired: from now on nobody may see this session's ephemerals.
            if (cl.session) {
                told_expired.emplace(cl.session, now_us);
                st.expired_told++;
                cl.expired++;
                log("client %d told session 0x%" PRIx64 " expired", c, cl.session);
            }
            client_fail_pending(cl, true);
            cl.session = 0;
            cl.st = Client::DISC;
            cl.ephemerals.clear();
            if (cl.autop)
                after(rng.range(1000, 20000), [this, c] {
                    if (clients[c].st == Client::DISC && clients[c].autop)
                        client_connect(c, 1 + (int)rng.below((uint64_t)n_servers));
                });
            return;
        }
        if (cl.session && cl.session != cr.session_id)
            fail("a reconnect returned a different session id");
        cl.session = cr.session_id;
        cl.passwd.assign(cr.passwd.ptr, cr.passwd.ptr + cr.passwd.len);
        cl.timeout = cr.timeout;
        cl.st = Client::CONNECTED;
        return;
    }
    int32_t xid =
        (int32_t)((uint32_t)f[4] << 24 | (uint32_t)f[5] << 16 | (uint32_t)f[6] << 8 | f[7]);
    if (xid == -2 || xid == -1)
        return; // ping reply, watch event
    auto it = cl.pend.find(xid);
    if (it == cl.pend.end()) {
        fail("a reply for a request the client did not send");
        return;
    }
    if (it != cl.pend.begin()) {
        log("client %d: reply xid %d op %d, first pending xid %d op %d, node %d", c, xid,
            it->second.op, cl.pend.begin()->first, cl.pend.begin()->second.op, node);
        fail("replies out of order (per-session FIFO broken)");
        return;
    }
    Pend p = it->second;
    cl.pend.erase(it);
    cv_response r;
    if (cv_proto_decode_response(f.data() + 4, f.size() - 4, p.op, &r)) {
        fail("client could not decode a reply");
        return;
    }
    cl.results[xid] = r.hdr.err;
    record_result(cl, p, r);
    if (p.op == CV_OP_CLOSE_SESSION && r.hdr.err == 0) {
        cl.session = 0; // closed by request: the next connection starts a new one
        cl.ephemerals.clear();
    }
}

void WorldImpl::record_result(Client &cl, Pend &p, const cv_response &r)
{
    int32_t err = r.hdr.err;
    if (p.op == CV_OP_EXISTS && err == 0) {
        int64_t owner = r.u.stat.stat.ephemeral_owner;
        cl.owners[p.xid] = owner;
        auto t = told_expired.find(owner);
        if (owner && t != told_expired.end() && t->second < p.call_us) {
            char b[200];
            snprintf(b, sizeof b,
                     "S2: client %d saw an ephemeral of session 0x%" PRIx64
                     " after that session's client was told it expired",
                     cl.id, owner);
            fail(b);
        }
    }
    if (p.op == CV_OP_CREATE2 && err == 0)
        cl.ephemerals.push_back(
            std::string((const char *)r.u.create.path.ptr, (size_t)r.u.create.path.len));
    if (p.kind == H_CAS_READ && err == 0 && cl.st == Client::CONNECTED) {
        // The CAS proper: setData with the version just read.
        Pend q;
        q.kind = H_CAS;
        q.key = p.key;
        q.value = ((int64_t)cl.id << 40) | ++cl.counter;
        q.expect = r.u.get_data.stat.version;
        cv_request w = base_req(CV_OP_SET_DATA);
        std::string path = key_path(p.key), val = std::to_string(q.value);
        w.u.set_data = {jb(path), jb(val), q.expect};
        cv_lc_op h{};
        h.call = now_us;
        h.client = cl.id;
        h.kind = CV_LC_CAS;
        h.outcome = CV_LC_UNKNOWN;
        h.value = q.value;
        h.expect = q.expect;
        h.version = -1;
        q.hist = hist[p.key].size();
        hist[p.key].push_back(h);
        client_send(cl.id, encode_req(w), CV_OP_SET_DATA, q);
    }
    if (p.hist == SIZE_MAX)
        return;
    cv_lc_op &h = hist[p.key][p.hist];
    h.ret = now_us;
    if (h.kind == CV_LC_READ) {
        if (err == 0) {
            h.outcome = CV_LC_OK;
            std::string v((const char *)r.u.get_data.data.ptr,
                          r.u.get_data.data.len > 0 ? (size_t)r.u.get_data.data.len : 0);
            h.value = strtoll(v.c_str(), nullptr, 10);
            h.version = r.u.get_data.stat.version;
            if (h.sync)
                st.sync_reads++;
            else
                st.reads++;
        } else {
            h.outcome = CV_LC_FAIL;
        }
        return;
    }
    if (err == 0) {
        h.outcome = CV_LC_OK;
        h.version = r.u.stat.stat.version;
        st.acked_writes++;
    } else if (err == CV_ZBADVERSION) {
        h.outcome = CV_LC_FAIL;
    } else {
        h.outcome = CV_LC_UNKNOWN;
        st.unknown_writes++;
    }
}

void WorldImpl::client_workload(int c)
{
    Client &cl = clients[c];
    if (!cl.autop)
        return;
    after(rng.range(2000, 40000), [this, c] { client_workload(c); });
    if (cl.st != Client::CONNECTED || cl.pend.size() >= 3 || !setup_done)
        return;
    int k = (int)rng.below((uint64_t)o.keys);
    std::string path = key_path(k);
    uint64_t dice = rng.below(100);
    cv_lc_op h{};
    h.call = now_us;
    h.client = c;
    h.version = -1;
    Pend p;
    p.key = k;
    if (dice < 30) { // blind write
        p.kind = H_WRITE;
        p.value = ((int64_t)c << 40) | ++cl.counter;
        cv_request r = base_req(CV_OP_SET_DATA);
        std::string val = std::to_string(p.value);
        r.u.set_data = {jb(path), jb(val), -1};
        h.kind = CV_LC_WRITE;
        h.outcome = CV_LC_UNKNOWN;
        h.value = p.value;
        p.hist = hist[k].size();
        hist[k].push_back(h);
        client_send(c, encode_req(r), CV_OP_SET_DATA, p);
    } else if (dice < 50) { // CAS: read, then setData with its version
        p.kind = H_CAS_READ;
        cv_request r = base_req(CV_OP_GET_DATA);
        r.u.path_watch = {jb(path), 0};
        h.kind = CV_LC_READ;
        h.outcome = CV_LC_FAIL;
        p.hist = hist[k].size();
        hist[k].push_back(h);
        client_send(c, encode_req(r), CV_OP_GET_DATA, p);
    } else if (dice < 68) { // plain read (with a watch, now and then)
        p.kind = H_READ;
        cv_request r = base_req(CV_OP_GET_DATA);
        r.u.path_watch = {jb(path), (uint8_t)rng.chance(0.3)};
        h.kind = CV_LC_READ;
        h.outcome = CV_LC_FAIL;
        p.hist = hist[k].size();
        hist[k].push_back(h);
        client_send(c, encode_req(r), CV_OP_GET_DATA, p);
    } else if (dice < 80) { // sync, then read: linearizable
        cv_request s = base_req(CV_OP_SYNC);
        s.u.path.path = jb(path);
        Pend ps;
        client_send(c, encode_req(s), CV_OP_SYNC, ps);
        p.kind = H_SYNCREAD;
        cv_request r = base_req(CV_OP_GET_DATA);
        r.u.path_watch = {jb(path), 0};
        h.kind = CV_LC_READ;
        h.sync = 1;
        h.outcome = CV_LC_FAIL;
        p.hist = hist[k].size();
        hist[k].push_back(h);
        client_send(c, encode_req(r), CV_OP_GET_DATA, p);
    } else if (dice < 88) { // an ephemeral of this session
        std::string e = "/e/c" + std::to_string(c) + "-" + std::to_string(++cl.counter);
        client_create_ephemeral(c, e);
    } else if (dice < 97) { // look at someone's ephemeral (S2)
        int other = (int)rng.below((uint64_t)o.clients);
        if (!clients[other].ephemerals.empty())
            client_exists(c, clients[other].ephemerals.back(), rng.chance(0.5));
    } else if (dice < 99) { // close the session; start a new one later
        cv_request r = base_req(CV_OP_CLOSE_SESSION);
        Pend q;
        client_send(c, encode_req(r), CV_OP_CLOSE_SESSION, q);
    } else { // move to another server with the same session
        client_connect(c, 1 + (int)rng.below((uint64_t)n_servers));
    }
}

int32_t WorldImpl::client_create_ephemeral(int c, const std::string &path)
{
    cv_request r = base_req(CV_OP_CREATE2);
    static const std::string scheme = "world", id = "anyone";
    static cv_acl acl = {31, {jb(scheme), jb(id)}};
    r.u.create.path = jb(path);
    r.u.create.data = jb(path);
    r.u.create.acl = {1, 0, nullptr, &acl};
    r.u.create.flags = 1; // EPHEMERAL
    Pend p;
    return client_send(c, encode_req(r), CV_OP_CREATE2, p);
}

int32_t WorldImpl::client_exists(int c, const std::string &path, bool watch)
{
    cv_request r = base_req(CV_OP_EXISTS);
    r.u.path_watch = {jb(path), (uint8_t)watch};
    Pend p;
    return client_send(c, encode_req(r), CV_OP_EXISTS, p);
}

int32_t WorldImpl::client_set_watches(int c, const std::vector<std::string> &paths)
{
    cv_request r = base_req(CV_OP_SET_WATCHES);
    std::vector<cv_jbuf> v;
    for (auto &s : paths)
        v.push_back(jb(s));
    r.u.set_watches.relative_zxid = 0;
    r.u.set_watches.data = {(int32_t)v.size(), 0, nullptr, v.data()};
    r.u.set_watches.exist = {0, 0, nullptr, nullptr};
    r.u.set_watches.child = {0, 0, nullptr, nullptr};
    Pend p;
    return client_send(c, encode_req(r), CV_OP_SET_WATCHES, p);
}

void WorldImpl::client_tick(int c)
{
    Client &cl = clients[c];
    after(o.tick_ms * 1000 / 2, [this, c] { client_tick(c); });
    if (cl.st == Client::DISC)
        return;
    int64_t to = cl.timeout > 0 ? cl.timeout : o.session_timeout_ms;
    if (now_us - cl.last_heard > to * 1000 * 2 / 3) {
        // ZooKeeper's client: no word from the server for 2/3 of the timeout.
        Node &nd = *nodes[cl.node];
        if (nd.up && nd.disk.boots == cl.node_boot)
            nd.close_conn(cl.conn, false);
        client_disconnected(c, cl.node, cl.conn);
        return;
    }
    if (cl.st == Client::CONNECTED && now_us - cl.last_sent > to * 1000 / 3) {
        cv_request r = base_req(CV_OP_PING);
        Bytes f = encode_req(r);
        f[4] = f[5] = f[6] = 0xff;
        f[7] = 0xfe; // xid -2
        to_server(c, f);
    }
}

// ---- setup, nemesis, settle, checks ------------------------------------------------

void WorldImpl::setup_keys()
{
    // Client 0 creates the registers (value 0, version 0) and /e.
    Client &cl = clients[0];
    for (int tries = 0; tries < 400 && cl.st != Client::CONNECTED; tries++) {
        if (cl.st == Client::DISC)
            client_connect(0, 1 + (int)rng.below((uint64_t)n_servers));
        run_for(100);
    }
    std::vector<std::string> paths{"/e"};
    for (int k = 0; k < o.keys; k++)
        paths.push_back(key_path(k));
    static const std::string scheme = "world", id = "anyone";
    static cv_acl acl = {31, {jb(scheme), jb(id)}};
    for (auto &path : paths) {
        for (int tries = 0; tries < 50; tries++) {
            if (cl.st != Client::CONNECTED) {
                if (cl.st == Client::DISC)
                    client_connect(0, 1 + (int)rng.below((uint64_t)n_servers));
                run_for(200);
                continue;
            }
            cv_request r = base_req(CV_OP_CREATE);
            std::string zero = "0";
            r.u.create.path = jb(path);
            r.u.create.data = jb(zero);
            r.u.create.acl = {1, 0, nullptr, &acl};
            Pend p;
            int32_t xid = client_send(0, encode_req(r), CV_OP_CREATE, p);
            for (int i = 0; i < 100 && client_result(0, xid) == -1000; i++)
                run_for(20);
            int32_t res = client_result(0, xid);
            if (res == 0 || res == CV_ZNODEEXISTS)
                break;
        }
    }
    setup_done = true;
}

void WorldImpl::nemesis_step()
{
    if (!nemesis)
        return;
    after(rng.range(o.fault_every_ms / 2, o.fault_every_ms * 3 / 2) * 1000,
          [this] { nemesis_step(); });
    std::vector<int> acts;
    if (o.crashes)
        acts.push_back(0);
    if (o.partitions)
        acts.insert(acts.end(), {1, 2});
    if (o.disk_stalls)
        acts.push_back(3);
    acts.push_back(4); // client cut off (sessions expire)
    int a = acts[rng.below(acts.size())];
    int n = 1 + (int)rng.below((uint64_t)n_servers);
    if (a == 0) {
        bool torn = o.torn_writes && rng.chance(0.5);
        crash(n, torn);
        after(rng.range(200, 3000) * 1000, [this, n] { restart(n); });
    } else if (a == 1) {
        std::vector<int> side;
        for (int i = 1; i <= n_servers; i++)
            if (rng.chance(0.5))
                side.push_back(i);
        log("partition (%zu servers on one side)", side.size());
        partition(side);
        after(rng.range(500, 4000) * 1000, [this] { heal(); });
    } else if (a == 2) {
        int m = 1 + (int)rng.below((uint64_t)n_servers);
        if (m != n) {
            log("one-way block %d -> %d", n, m);
            block(n, m, true);
            after(rng.range(500, 4000) * 1000, [this, n, m] { block(n, m, false); });
        }
    } else if (a == 3) {
        int64_t d = rng.range(500, 5000) * 1000;
        log("disk stall on node %d for %" PRId64 " ms", n, d / 1000);
        nodes[n]->stall_until = std::max(nodes[n]->stall_until, now_us + d);
        st.stalls++;
    } else {
        int c = (int)rng.below((uint64_t)o.clients);
        client_block(c, true);
        after(rng.range(500, 3 * (int64_t)o.session_timeout_ms) * 1000,
              [this, c] { client_block(c, false); });
    }
}

std::string WorldImpl::settle()
{
    nemesis = false;
    heal();
    for (auto &cl : clients)
        cl.blocked = false;
    for (int i = 1; i <= n_servers; i++) {
        nodes[i]->stall_until = 0;
        restart(i);
    }
    for (auto &cl : clients)
        cl.autop = false;
    // A leader, everyone serving, everyone caught up.
    bool ok = false;
    for (int t = 0; t < 600 && !ok; t++) {
        run_for(100);
        int l = leader();
        if (!l)
            continue;
        ok = true;
        for (int i = 1; i <= n_servers; i++)
            if (!serving(i) ||
                cv_zab_last_committed(nodes[i]->zab) != cv_zab_last_committed(nodes[l]->zab))
                ok = false;
    }
    if (!ok)
        return "liveness: no leader with every server serving and caught up within 60 s after "
               "the faults stopped";
    // Final linearizable reads of every register.
    Client &cl = clients[0];
    for (int k = 0; k < o.keys; k++) {
        for (int tries = 0; tries < 20; tries++) {
            if (cl.st != Client::CONNECTED) {
                if (cl.st == Client::DISC)
                    client_connect(0,
                                   leader() ? leader() : 1 + (int)rng.below((uint64_t)n_servers));
                run_for(500);
                continue;
            }
            std::string path = key_path(k);
            cv_request s = base_req(CV_OP_SYNC);
            s.u.path.path = jb(path);
            Pend ps;
            client_send(0, encode_req(s), CV_OP_SYNC, ps);
            cv_request r = base_req(CV_OP_GET_DATA);
            r.u.path_watch = {jb(path), 0};
            cv_lc_op h{};
            h.call = now_us;
            h.client = 0;
            h.kind = CV_LC_READ;
            h.sync = 1;
            h.outcome = CV_LC_FAIL;
            h.version = -1;
            Pend p;
            p.kind = H_SYNCREAD;
            p.key = k;
            p.hist = hist[k].size();
            hist[k].push_back(h);
            int32_t xid = client_send(0, encode_req(r), CV_OP_GET_DATA, p);
            for (int i = 0; i < 200 && client_result(0, xid) == -1000; i++)
                run_for(10);
            if (client_result(0, xid) == 0)
                break;
        }
    }
    run_for(2 * o.session_timeout_ms);
    return "";
}

std::string WorldImpl::check()
{
    if (!violation.empty())
        return violation;
    // Every register's history.
    for (int k = 0; k < o.keys; k++) {
        std::vector<cv_lc_op> ops;
        for (auto h : hist[k]) {
            if (h.kind == CV_LC_READ && h.outcome != CV_LC_OK)
                continue;
            if (h.outcome == CV_LC_UNKNOWN)
                h.ret = INT64_MAX;
            ops.push_back(h);
        }
        cv_lc_result res{};
        int rc = cv_lc_check(ops.data(), ops.size(), 0, 0, &res);
        if (rc == 0) {
            if (o.verbose && res.bad >= 0) {
                const cv_lc_op &b = ops[(size_t)res.bad];
                for (auto &h : ops)
                    if (h.call < b.ret + 20000 && (h.ret > b.call - 200000 || h.ret == INT64_MAX))
                        fprintf(stderr,
                                "  op client %d kind %d outcome %d sync %d value %" PRId64
                                " version %d expect %d call %" PRId64 " ret %" PRId64 "\n",
                                h.client, h.kind, h.outcome, h.sync, h.value, h.version, h.expect,
                                h.call, h.ret);
            }
            return "linearizability: " + key_path(k) + ": " + res.why;
        }
        if (rc < 0)
            return "linearizability: " + key_path(k) + ": checker gave up (" + std::to_string(rc) +
                   ")";
    }
    // S1 / S3 on every replica: no ephemeral or watch of a session that is not live.
    for (int i = 1; i <= n_servers; i++) {
        Node &n = *nodes[i];
        if (!n.up)
            continue;
        struct Ctx {
            Node *n;
            int64_t bad;
        } ctx{&n, 0};
        cv_tree_ephemeral_owners(
            cv_core_tree(n.core),
            [](void *c, int64_t s) {
                auto *x = static_cast<Ctx *>(c);
                if (!cv_sess_is_live(cv_core_sessions(x->n->core), s)) {
                    x->bad = s;
                    return 1;
                }
                return 0;
            },
            &ctx);
        if (ctx.bad) {
            char b[160];
            snprintf(b, sizeof b,
                     "S3: node %d holds an ephemeral of session 0x%" PRIx64
                     ", which is not live there",
                     i, ctx.bad);
            return b;
        }
        cv_watch_foreach_by_session(
            cv_core_watches(n.core),
            [](void *c, int64_t s, const char *, size_t, unsigned) {
                auto *x = static_cast<Ctx *>(c);
                auto it = x->n->by_session.find(s);
                if (!cv_sess_is_live(cv_core_sessions(x->n->core), s) ||
                    it == x->n->by_session.end() || x->n->conns[it->second].st != C_OPEN) {
                    x->bad = s;
                    return 1;
                }
                return 0;
            },
            &ctx);
        if (ctx.bad) {
            char b[160];
            snprintf(b, sizeof b,
                     "S1: node %d holds a watch of session 0x%" PRIx64
                     ", which is not live with an open connection there",
                     i, ctx.bad);
            return b;
        }
    }
    // Replicas: same state at the end.
    int l = leader();
    for (int i = 1; l && i <= n_servers; i++) {
        Node &n = *nodes[i];
        if (!n.up || cv_zab_last_committed(n.zab) != cv_zab_last_committed(nodes[l]->zab))
            continue;
        auto it = ledger.find(cv_zab_last_committed(n.zab));
        if (it != ledger.end() &&
            cv_tree_digest(cv_core_tree(n.core)) != cv_tree_digest(cv_core_tree(nodes[l]->core)))
            return "replicas differ at the end: node " + std::to_string(i) + " vs leader " +
                   std::to_string(l);
    }
    return "";
}

std::string repro_line(const Options &o)
{
    char b[600];
    snprintf(b, sizeof b,
             "corvid_sim --seed %" PRIu64 " --nodes %d --observers %d --clients %d --keys %d "
             "--duration-ms %" PRId64 " --disk-us %" PRId64 ",%" PRId64 " --fault-every-ms %" PRId64
             " --counter-limit %u --lag-resync %u%s%s%s%s",
             o.seed, o.nodes, o.observers, o.clients, o.keys, o.duration_ms, o.disk_lat_min_us,
             o.disk_lat_max_us, o.fault_every_ms, o.counter_limit, o.lag_resync,
             o.zab_mutate & CV_ZAB_MUT_COMMIT_EARLY ? " --mutate commit-early" : "",
             o.zab_mutate & CV_ZAB_MUT_SKIP_TRUNC ? " --mutate skip-trunc" : "",
             o.zab_mutate & CV_ZAB_MUT_ACK_EARLY ? " --mutate ack-early" : "",
             o.mut_expire_in_election ? " --mutate expire-in-election" : "");
    return b;
}

std::unique_ptr<World> make_world(const Options &o)
{
    auto w = std::make_unique<WorldImpl>(o);
    for (int c = 0; c < o.clients; c++)
        w->client_tick(c);
    return w;
}

Result run_random(const Options &o)
{
    Result res;
    res.repro = repro_line(o);
    auto w = std::make_unique<WorldImpl>(o);
    for (int c = 0; c < o.clients; c++)
        w->client_tick(c);
    w->run_for(1000); // first election
    w->setup_keys();
    for (int c = 0; c < o.clients; c++) {
        if (c)
            w->client_connect(c, 1 + (int)w->rng.below((uint64_t)w->n_servers));
        w->client_auto(c, true);
    }
    w->nemesis = true;
    w->nemesis_step();
    w->run_for(o.duration_ms);
    std::string why = w->settle();
    if (why.empty())
        why = w->check();
    res.ok = why.empty();
    res.violation = why;
    res.st = w->st;
    return res;
}

} // namespace sim
