// Determinism: a random log of transactions (CV_REPLAY_TXNS, default one
// million; sanitizer builds use fewer) produced by a leader, applied from
// empty to two fresh cores, gives the leader's digest on both; applied with a
// snapshot in the middle (serialize, restore into a third core, continue) it
// gives the same digest again, at every checkpoint.
#include <cstdlib>
#include <random>

#include "core_harness.h"

using namespace cvt;

namespace
{

struct Log {
    std::vector<uint8_t> bytes;
    std::vector<size_t> off; // start of each txn; off.back() == bytes.size()
    Log() { off.push_back(0); }
    void add(const uint8_t *p, size_t n)
    {
        bytes.insert(bytes.end(), p, p + n);
        off.push_back(bytes.size());
    }
    size_t size() const { return off.size() - 1; }
};

uint64_t txns()
{
    const char *e = getenv("CV_REPLAY_TXNS");
    return e ? strtoull(e, nullptr, 10) : 1000000;
}

cv_core *fresh()
{
    cv_core_config cfg;
    cv_core_config_init(&cfg, 1000);
    memcpy(cfg.sess.secret, "0123456789abcdef0123456789abcdef", 32);
    cfg.sess.secret_len = 32;
    cfg.server_id = 1;
    cfg.start_ms = 1700000000000;
    cfg.extended_types = true;
    cfg.max_outstanding = 1024;
    return cv_core_new(&cfg, nullptr);
}

// The leader: random writes from a handful of sessions, prepared and applied
// with up to 8 transactions in flight.
void generate(cv_core *c, uint64_t n, Log *log, uint32_t seed)
{
    std::mt19937 rng(seed);
    auto pick = [&](uint32_t k) { return std::uniform_int_distribution<uint32_t>(0, k - 1)(rng); };
    std::vector<uint8_t> out(1 << 20);
    std::deque<std::pair<size_t, size_t>> inflight; // offsets in pending
    std::vector<uint8_t> pending;
    std::vector<int64_t> sessions;
    int64_t now = 1700000000000;
    cv_acl acl = {31, {cv_jstr("world"), cv_jstr("anyone")}};
    char path[64], data[128];
    memset(data, 'x', sizeof data);
    auto apply_front = [&]() {
        auto [o, l] = inflight.front();
        inflight.pop_front();
        ASSERT_EQ(cv_core_apply(c, pending.data() + o, l, nullptr), 0);
        log->add(pending.data() + o, l);
        if (inflight.empty())
            pending.clear();
    };
    auto queue = [&](size_t len) {
        inflight.push_back({pending.size(), len});
        pending.insert(pending.end(), out.begin(), out.begin() + (long)len);
    };
    while (log->size() + inflight.size() < n) {
        now += pick(3);
        size_t len = 0;
        if (sessions.size() < 4 || pick(2000) == 0) {
            int64_t id;
            int32_t to;
            if (cv_core_prepare_create_session(c, 10000, now, &id, &to, out.data(), out.size(),
                                               &len) == 0) {
                queue(len);
                sessions.push_back(id);
            }
        } else {
            int64_t s = sessions[pick((uint32_t)sessions.size())];
            snprintf(path, sizeof path, "/d%u/n%u", pick(20), pick(400));
            cv_request r;
            memset(&r, 0, sizeof r);
            r.hdr.xid = (int32_t)log->size();
            uint32_t kind = pick(100);
            if (kind < 3) { // parents come and go rarely
                snprintf(path, sizeof path, "/d%u", pick(20));
                r.hdr.type = CV_OP_CREATE;
                r.u.create = {
                    cv_jstr(path), {(const uint8_t *)data, 10}, {1, 0, nullptr, &acl}, 0, 0};
            } else if (kind < 40) {
                r.hdr.type = pick(2) ? CV_OP_CREATE : CV_OP_CREATE2;
                r.u.create = {cv_jstr(path),
                              {(const uint8_t *)data, (int32_t)pick(100)},
                              {1, 0, nullptr, &acl},
                              (int32_t)pick(4),
                              0};
            } else if (kind < 70) {
                r.hdr.type = CV_OP_SET_DATA;
                r.u.set_data = {cv_jstr(path), {(const uint8_t *)data, (int32_t)pick(100)}, -1};
            } else if (kind < 95) {
                r.hdr.type = CV_OP_DELETE;
                r.u.path_version = {cv_jstr(path), -1};
            } else if (kind < 99) {
                cv_multi_op ops[2];
                memset(ops, 0, sizeof ops);
                ops[0].hdr = {CV_OP_CREATE, 0, -1};
                ops[0].u.create = {cv_jstr(path), cv_jstr("m"), {1, 0, nullptr, &acl}, 1, 0};
                ops[1].hdr = {CV_OP_SET_DATA, 0, -1};
                ops[1].u.set_data = {cv_jstr(path), cv_jstr("n"), -1};
                r.hdr.type = CV_OP_MULTI;
                r.u.multi = {2, 0, nullptr, ops, cv_multi_end()};
                // Encode + decode so the core sees wire-format vectors.
                std::vector<uint8_t> f(4096);
                int fl = cv_proto_encode_request(f.data(), f.size(), &r);
                ASSERT_GT(fl, 0);
                cv_request d;
                ASSERT_EQ(cv_proto_decode_request(f.data() + 4, (size_t)fl - 4, &d), 0);
                cv_core_req q{s, nullptr, &d, false};
                if (cv_core_prepare(c, &q, now, out.data(), out.size(), &len) == 0)
                    queue(len);
                if (inflight.size() > pick(8))
                    apply_front();
                continue;
            } else {
                r.hdr.type = CV_OP_CLOSE_SESSION;
                sessions.erase(std::find(sessions.begin(), sessions.end(), s));
            }
            cv_core_req q{s, nullptr, &r, false};
            int rc = cv_core_prepare(c, &q, now, out.data(), out.size(), &len);
            if (rc == 0)
                queue(len);
            else
                ASSERT_TRUE(rc == CV_CORE_HOLD || rc == -EBUSY) << rc;
        }
        if (inflight.size() > pick(8))
            apply_front();
    }
    while (!inflight.empty())
        apply_front();
}

int write_vec(void *ctx, const void *p, size_t n)
{
    auto *v = static_cast<std::vector<uint8_t> *>(ctx);
    v->insert(v->end(), (const uint8_t *)p, (const uint8_t *)p + n);
    return 0;
}

} // namespace

TEST(CoreReplay, SameLogFromEmptyGivesIdenticalDigestsWithOrWithoutASnapshotInTheMiddle)
{
    uint64_t n = txns();
    cv_core *leader = fresh();
    Log log;
    generate(leader, n, &log, 42);
    ASSERT_EQ(log.size(), n);
    uint64_t want = cv_core_digest(leader);

    // Twice from empty, checking digests agree at checkpoints.
    cv_core *a = fresh(), *b = fresh();
    std::vector<uint64_t> checkpoints;
    for (size_t i = 0; i < log.size(); i++) {
        const uint8_t *t = log.bytes.data() + log.off[i];
        size_t len = log.off[i + 1] - log.off[i];
        ASSERT_EQ(cv_core_apply(a, t, len, nullptr), 0) << "txn " << i;
        ASSERT_EQ(cv_core_apply(b, t, len, nullptr), 0) << "txn " << i;
        if (i % 100000 == 99999) {
            ASSERT_EQ(cv_core_digest(a), cv_core_digest(b)) << "after " << i + 1;
            checkpoints.push_back(cv_core_digest(a));
        }
    }
    EXPECT_EQ(cv_core_digest(a), want);
    EXPECT_EQ(cv_core_digest(b), want);
    EXPECT_EQ(cv_tree_check(cv_core_tree(a)), 0);
    EXPECT_GT(cv_tree_node_count(cv_core_tree(a)), 100u);

    // A snapshot in the middle, restored into a third core, then the rest.
    cv_core *c = fresh();
    size_t half = log.size() / 2;
    for (size_t i = 0; i < half; i++)
        ASSERT_EQ(
            cv_core_apply(c, log.bytes.data() + log.off[i], log.off[i + 1] - log.off[i], nullptr),
            0);
    std::vector<uint8_t> snap;
    ASSERT_EQ(cv_core_serialize(c, write_vec, &snap), 0);
    uint64_t at_half = cv_core_digest(c);
    cv_core_free(c);
    c = fresh();
    ASSERT_EQ(cv_core_restore(c, snap.data(), snap.size(), 1700000000000), 0);
    EXPECT_EQ(cv_core_digest(c), at_half);
    for (size_t i = half; i < log.size(); i++) {
        ASSERT_EQ(
            cv_core_apply(c, log.bytes.data() + log.off[i], log.off[i + 1] - log.off[i], nullptr),
            0)
            << "txn " << i;
        if (i % 100000 == 99999) {
            ASSERT_EQ(cv_core_digest(c), checkpoints[i / 100000]) << "after " << i + 1;
        }
    }
    EXPECT_EQ(cv_core_digest(c), want);

    // A corrupted snapshot is refused, not half-loaded.
    snap[snap.size() / 2] ^= 0x40;
    cv_core *d = fresh();
    EXPECT_EQ(cv_core_restore(d, snap.data(), snap.size(), 0), -EBADMSG);
    cv_core_free(d);
    for (cv_core *x : {leader, a, b, c})
        cv_core_free(x);
}

TEST(CoreReplay, ApplyingATransactionTwiceOrOutOfOrderIsRefused)
{
    Core k;
    int64_t s = k.connect();
    k.write(s, k.create("/x", ""), CV_OP_CREATE);
    const Bytes &last = k.log.back();
    EXPECT_EQ(cv_core_apply(k.c(), last.data(), last.size(), k.sink()), -EINVAL);
    Bytes junk = last;
    junk.resize(junk.size() - 3);
    EXPECT_EQ(cv_core_apply(k.c(), junk.data(), junk.size(), k.sink()), -EBADMSG);
}

TEST(CoreReplay, ASnapshotTakenWhileChangesAreOutstandingHoldsTheAppliedStateOnly)
{
    cvt::Core k;
    int64_t s = k.connect();
    k.write(s, k.create("/applied", "a"), CV_OP_CREATE);
    uint64_t before = cv_core_digest(k.c());
    cvt::Bytes pending, closing;
    ASSERT_EQ(k.prepare(s, k.create("/pending", "p"), &pending), 0);
    ASSERT_EQ(k.prepare(s, k.req(CV_OP_CLOSE_SESSION), &closing), 0); // marks s closing
    std::vector<uint8_t> snap;
    ASSERT_EQ(cv_core_serialize(k.c(), write_vec, &snap), 0);
    cv_core *c = fresh();
    ASSERT_EQ(cv_core_restore(c, snap.data(), snap.size(), k.now), 0);
    EXPECT_EQ(cv_core_digest(c), before);
    EXPECT_EQ(cv_core_last_applied(c), cv_core_last_applied(k.c()));
    // The outstanding transactions come back from the log and apply on top.
    ASSERT_EQ(cv_core_apply(c, pending.data(), pending.size(), nullptr), 0);
    ASSERT_EQ(cv_core_apply(c, closing.data(), closing.size(), nullptr), 0);
    k.apply(pending);
    k.apply(closing);
    EXPECT_EQ(cv_core_digest(c), cv_core_digest(k.c()));
    cv_core_free(c);
}
