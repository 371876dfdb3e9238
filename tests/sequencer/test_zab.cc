// cv_zab on its own: configuration checks, election by (epoch, zxid, id), a
// pluggable quorum verifier, DIFF / TRUNC / SNAP chosen as the histories
// require, commit only with a quorum. A minimal harness: perfect FIFO
// delivery, appends durable at the next step. (Faults, crashes and the
// checkers live in the simulator, tests/sim.)
#include <gtest/gtest.h>

#include <cstring>
#include <deque>
#include <map>
#include <string>
#include <vector>

extern "C" {
#include "cv_zab.h"
}

namespace
{

using Bytes = std::vector<uint8_t>;

struct Net;

struct Node {
    Net *net;
    uint8_t id;
    cv_zab *z = nullptr;
    std::vector<std::pair<int64_t, Bytes>> pending_log, log;
    std::vector<int64_t> applied;
    int64_t acc = 0, cur = 0;
    enum cv_zab_role role = CV_ZAB_LOOKING;
    bool disk_stuck = false;
    bool up = true;
};

struct Msg {
    uint8_t from, to;
    Bytes b;
};

struct Net {
    std::map<uint8_t, Node> nodes;
    std::deque<Msg> q;
    std::map<std::string, int> sent; // per type name
    int64_t now = 1000;
    bool (*quorum)(void *, uint64_t) = nullptr;

    static Node *N(void *c) { return static_cast<Node *>(c); }

    void add(uint8_t id, uint64_t voters, uint64_t observers = 0)
    {
        Node &n = nodes[id];
        n.net = this;
        n.id = id;
        cv_zab_config cfg;
        cv_zab_config_init(&cfg, id, voters, observers);
        cfg.tick_ms = 100;
        cfg.finalize_ms = 20;
        cfg.history = 64;
        cfg.max_inflight = 32;
        cfg.history_bytes = 1 << 20;
        cfg.is_quorum = quorum;
        cv_zab_host h{};
        h.ctx = &n;
        h.send = [](void *c, uint8_t to, const cv_peer_msg *m) {
            Bytes b(cv_peer_encoded_len(m));
            ASSERT_EQ(cv_peer_encode(m, b.data(), b.size()), (int)b.size());
            N(c)->net->q.push_back({N(c)->id, to, b});
            N(c)->net->sent[cv_peer_type_name(m->type)]++;
        };
        h.reset_peer = [](void *, uint8_t) {};
        h.persist_epochs = [](void *c, int64_t a, int64_t cu) {
            N(c)->acc = a;
            N(c)->cur = cu;
        };
        h.append = [](void *c, int64_t zxid, const uint8_t *t, size_t n) {
            N(c)->pending_log.push_back({zxid, Bytes(t, t + n)});
        };
        h.truncate = [](void *c, int64_t zxid) {
            auto &l = N(c)->log;
            while (!l.empty() && l.back().first > zxid)
                l.pop_back();
            N(c)->pending_log.clear();
        };
        h.apply = [](void *c, int64_t zxid, const uint8_t *, size_t) {
            N(c)->applied.push_back(zxid);
        };
        h.snapshot = [](void *c, int (*w)(void *, const void *, size_t), void *wc, int64_t *zxid) {
            *zxid = N(c)->applied.empty() ? 0 : N(c)->applied.back();
            return w(wc, "snapshot", 8);
        };
        h.install = [](void *c, const uint8_t *, size_t, int64_t zxid) {
            N(c)->log.clear();
            N(c)->applied.push_back(zxid); // marks "state replaced up to zxid"
            return 0;
        };
        h.role = [](void *c, enum cv_zab_role r, uint8_t, int64_t) { N(c)->role = r; };
        h.request = [](void *, uint8_t, int64_t, int64_t, const uint8_t *, size_t) {};
        h.touch = [](void *, int64_t) {};
        h.synced = [](void *, int64_t, int64_t, int64_t) {};
        const char *why = nullptr;
        n.z = cv_zab_new(&cfg, &h, &why);
        ASSERT_NE(n.z, nullptr) << (why ? why : "");
    }
    ~Net()
    {
        for (auto &kv : nodes)
            cv_zab_free(kv.second.z);
    }
    void start()
    {
        for (auto &kv : nodes)
            cv_zab_start(kv.second.z, now);
    }
    // Deliver everything, make appends durable, tick: `steps` times 10 ms.
    void run(int steps)
    {
        for (int s = 0; s < steps; s++) {
            now += 10;
            while (!q.empty()) {
                Msg m = q.front();
                q.pop_front();
                Node &dst = nodes[m.to];
                if (!dst.up || !nodes[m.from].up)
                    continue;
                cv_peer_msg pm;
                size_t used;
                ASSERT_EQ(cv_peer_decode(m.b.data(), m.b.size(), &pm, &used), 0);
                cv_zab_recv(dst.z, now, &pm);
            }
            for (auto &kv : nodes) {
                Node &n = kv.second;
                if (!n.up)
                    continue;
                if (!n.disk_stuck && !n.pending_log.empty()) {
                    int64_t last = n.pending_log.back().first;
                    n.log.insert(n.log.end(), n.pending_log.begin(), n.pending_log.end());
                    n.pending_log.clear();
                    cv_zab_logged(n.z, now, last);
                }
                cv_zab_tick(n.z, now);
            }
        }
    }
    uint8_t leader()
    {
        for (auto &kv : nodes)
            if (kv.second.up && cv_zab_role(kv.second.z) == CV_ZAB_LEADING &&
                cv_zab_serving(kv.second.z))
                return kv.first;
        return 0;
    }
    int propose(uint8_t l, const char *txn)
    {
        Node &n = nodes[l];
        return cv_zab_propose(n.z, now, cv_zab_next_zxid(n.z), (const uint8_t *)txn, strlen(txn));
    }
};

const uint64_t k123 = (1u << 1) | (1u << 2) | (1u << 3);

TEST(ZabConfig, RejectsAServerOutsideTheEnsembleAndBadLimits)
{
    cv_zab_host h{};
    cv_zab_config c;
    const char *why = nullptr;
    cv_zab_config_init(&c, 4, k123, 0);
    EXPECT_EQ(cv_zab_new(&c, &h, &why), nullptr);
    EXPECT_NE(std::string(why).find("not in the ensemble"), std::string::npos);
    cv_zab_config_init(&c, 1, k123, 1u << 1);
    EXPECT_EQ(cv_zab_new(&c, &h, &why), nullptr);
    EXPECT_NE(std::string(why).find("both voter and observer"), std::string::npos);
    cv_zab_config_init(&c, 1, k123, 0);
    c.tick_ms = 0;
    EXPECT_EQ(cv_zab_new(&c, &h, &why), nullptr);
    cv_zab_config_init(&c, 1, k123, 0);
    EXPECT_EQ(cv_zab_new(&c, &h, &why), nullptr); // callbacks missing
    EXPECT_NE(std::string(why).find("callback"), std::string::npos);
}

TEST(ZabElection, TheServerWithTheNewestHistoryLeadsAndEveryoneSyncs)
{
    Net net;
    for (uint8_t i = 1; i <= 3; i++)
        net.add(i, k123);
    // Server 1 has logged more of epoch 1 than the others: it must lead,
    // although server 3 has the highest id.
    for (uint8_t i = 1; i <= 3; i++)
        ASSERT_EQ(cv_zab_load_state(net.nodes[i].z, 1, 1, 0), 0);
    for (uint32_t c = 1; c <= 3; c++)
        ASSERT_EQ(cv_zab_load_proposal(net.nodes[1].z, cv_zab_zxid(1, c), (const uint8_t *)"t", 1),
                  0);
    ASSERT_EQ(cv_zab_load_proposal(net.nodes[2].z, cv_zab_zxid(1, 1), (const uint8_t *)"t", 1), 0);
    net.start();
    net.run(100);
    EXPECT_EQ(net.leader(), 1);
    for (uint8_t i = 1; i <= 3; i++) {
        EXPECT_EQ(cv_zab_current_epoch(net.nodes[i].z), 2) << (int)i;
        // The old epoch's proposals are committed by the new leader and
        // applied everywhere, once.
        EXPECT_EQ(net.nodes[i].applied,
                  (std::vector<int64_t>{cv_zab_zxid(1, 1), cv_zab_zxid(1, 2), cv_zab_zxid(1, 3)}))
            << (int)i;
    }
    EXPECT_GE(net.sent["DIFF"], 2);
}

TEST(ZabSync, FollowerWithAnUncommittedOldProposalIsTruncated)
{
    Net net;
    for (uint8_t i = 1; i <= 3; i++)
        net.add(i, k123);
    for (uint8_t i = 1; i <= 3; i++)
        ASSERT_EQ(cv_zab_load_state(net.nodes[i].z, 2, 2, 0), 0);
    // 1 and 2 hold epoch 2's history; 3 still holds a proposal of epoch 1
    // nobody else logged (it was never committed).
    ASSERT_EQ(cv_zab_load_proposal(net.nodes[1].z, cv_zab_zxid(1, 1), (const uint8_t *)"a", 1), 0);
    ASSERT_EQ(cv_zab_load_proposal(net.nodes[1].z, cv_zab_zxid(2, 1), (const uint8_t *)"b", 1), 0);
    ASSERT_EQ(cv_zab_load_proposal(net.nodes[2].z, cv_zab_zxid(1, 1), (const uint8_t *)"a", 1), 0);
    ASSERT_EQ(cv_zab_load_proposal(net.nodes[2].z, cv_zab_zxid(2, 1), (const uint8_t *)"b", 1), 0);
    ASSERT_EQ(cv_zab_load_state(net.nodes[3].z, 1, 1, 0), 0);
    ASSERT_EQ(cv_zab_load_proposal(net.nodes[3].z, cv_zab_zxid(1, 1), (const uint8_t *)"a", 1), 0);
    ASSERT_EQ(cv_zab_load_proposal(net.nodes[3].z, cv_zab_zxid(1, 2), (const uint8_t *)"x", 1), 0);
    net.start();
    net.run(100);
    ASSERT_NE(net.leader(), 0);
    EXPECT_EQ(net.sent["TRUNC"], 1);
    EXPECT_EQ(net.nodes[3].applied, (std::vector<int64_t>{cv_zab_zxid(1, 1), cv_zab_zxid(2, 1)}));
    EXPECT_EQ(cv_zab_last_proposed(net.nodes[3].z), cv_zab_zxid(2, 1));
}

TEST(ZabBroadcast, ProposalsCommitOnlyWithAQuorumThatLoggedThem)
{
    Net net;
    for (uint8_t i = 1; i <= 3; i++)
        net.add(i, k123);
    net.start();
    net.run(100);
    uint8_t l = net.leader();
    ASSERT_NE(l, 0);
    uint8_t f1 = l == 1 ? 2 : 1, f2 = 6 - l - f1;
    // Both followers' disks stuck: nothing commits (the leader alone is no quorum).
    net.nodes[f1].disk_stuck = net.nodes[f2].disk_stuck = true;
    ASSERT_EQ(net.propose(l, "w1"), 0);
    net.run(20);
    EXPECT_TRUE(net.nodes[l].applied.empty());
    // One follower's disk recovers: leader + it are a quorum.
    net.nodes[f1].disk_stuck = false;
    net.run(20);
    ASSERT_EQ(net.nodes[l].applied.size(), 1u);
    // S4: the follower whose disk is still stuck applies the commit anyway,
    // and is still following.
    EXPECT_EQ(net.nodes[f2].applied.size(), 1u);
    EXPECT_EQ(cv_zab_role(net.nodes[f2].z), CV_ZAB_FOLLOWING);
}

// A weighted verifier: server 1 alone is a quorum.
bool one_decides(void *, uint64_t set)
{
    return (set >> 1) & 1;
}

TEST(ZabQuorum, APluggableVerifierDecidesWhoIsAQuorum)
{
    Net net;
    net.quorum = one_decides;
    for (uint8_t i = 1; i <= 3; i++)
        net.add(i, k123);
    net.nodes[2].up = net.nodes[3].up = false; // only server 1 runs
    cv_zab_start(net.nodes[1].z, net.now);
    net.run(200);
    EXPECT_EQ(net.leader(), 1);
    ASSERT_EQ(net.propose(1, "w"), 0);
    net.run(5);
    EXPECT_EQ(net.nodes[1].applied.size(), 1u);
}

} // namespace
