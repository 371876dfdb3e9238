// cv_tree snapshots: round trips restore identical trees; truncated or
// corrupted input is rejected with -EBADMSG and never read out of bounds
// (run under ASan in the sanitizer build).
#include "tree_test_util.h"

#include "cv_crc.h"

#include <algorithm>
#include <functional>
#include <random>

using namespace cvt;

namespace
{

struct Rng {
    std::mt19937_64 g;
    explicit Rng(uint64_t seed) : g(seed) {}
    uint64_t operator()(uint64_t n) { return g() % n; }
};

// A random tree with every kind of node, several ACL lists, large and null
// data, deletions, setData and setACL.
cv_tree *random_tree(uint64_t seed, int n)
{
    Rng r(seed);
    cv_tree *t = cv_tree_new();
    std::vector<uint32_t> acls = {cv_tree_acl_open(t)};
    acls.push_back(intern(t, {{31, "digest", "alice:xyz"}}));
    acls.push_back(intern(t, {{1, "world", "anyone"}, {31, "ip", "10.1.2.3"}}));
    acls.push_back(intern(t, {{3, "sasl", "bob@EXAMPLE"}, {5, "x509", ""}}));
    std::vector<std::string> parents = {"/", "/zookeeper"}, all;
    int64_t zxid = 0x100000000, time = 1700000000000;
    for (int i = 0; i < n; i++) {
        const std::string &pp = parents[r(parents.size())];
        std::string name;
        size_t nl = 1 + r(r(10) == 0 ? 40 : 8);
        for (size_t k = 0; k < nl; k++)
            name += (char)('a' + r(26));
        std::string path = (pp == "/" ? "" : pp) + "/" + name;
        size_t dl = r(20) == 0 ? 3000 + r(3000) : r(200);
        std::string data(dl, '\0');
        for (auto &c : data)
            c = (char)r(256);
        int64_t owner = 0;
        uint64_t k = r(100);
        if (k < 15)
            owner = (int64_t)(0x100000000000000ULL + r(20));
        else if (k < 22)
            owner = CV_OWNER_CONTAINER;
        else if (k < 28)
            owner = cv_owner_make_ttl(1 + (int64_t)r(100000));
        bool null = r(30) == 0;
        int rc =
            cv_tree_create(t, path.data(), path.size(), data.data(),
                           null ? -1 : (int32_t)data.size(), acls[r(acls.size())], owner, ++zxid,
                           time += (int64_t)r(1000), r(10) ? -1 : (int32_t)r(50), nullptr);
        if (rc == -EEXIST)
            continue;
        EXPECT_EQ(0, rc) << path;
        all.push_back(path);
        if (!cv_owner_is_session(owner))
            parents.push_back(path);
    }
    for (int i = 0; i < n / 10; i++) {
        const std::string &p = all[r(all.size())];
        std::string d(r(300), 'v');
        cv_tree_set_data(t, p.data(), p.size(), d.data(), (int32_t)d.size(), (int32_t)r(1000),
                         ++zxid, time += 7, nullptr);
        cv_tree_set_acl(t, p.data(), p.size(), acls[r(acls.size())], (int32_t)r(9), nullptr);
    }
    for (int i = 0; i < n / 10; i++) {
        const std::string &p = all[r(all.size())];
        cv_tree_delete(t, p.data(), p.size(), ++zxid); // ENOTEMPTY / ENOENT are fine
    }
    for (size_t i = 1; i < acls.size(); i++)
        cv_tree_acl_release(t, acls[i]);
    EXPECT_EQ(0, cv_tree_check(t));
    return t;
}

// Every node of a has an identical twin in b, and the counts agree.
void expect_same_tree(const cv_tree *a, const cv_tree *b)
{
    EXPECT_EQ(cv_tree_digest(a), cv_tree_digest(b));
    EXPECT_EQ(cv_tree_node_count(a), cv_tree_node_count(b));
    EXPECT_EQ(cv_tree_data_bytes(a), cv_tree_data_bytes(b));
    EXPECT_EQ(cv_tree_ephemeral_total(a), cv_tree_ephemeral_total(b));
    EXPECT_EQ(cv_tree_ephemeral_sessions(a), cv_tree_ephemeral_sessions(b));
    EXPECT_EQ(cv_tree_container_count(a), cv_tree_container_count(b));
    EXPECT_EQ(cv_tree_ttl_count(a), cv_tree_ttl_count(b));
    EXPECT_EQ(cv_tree_acl_count(a), cv_tree_acl_count(b));
    uint64_t seen = 0;
    std::function<void(const std::string &)> visit = [&](const std::string &p) {
        seen++;
        const cv_znode *x = look(a, p), *y = look(b, p);
        ASSERT_NE(nullptr, y) << p;
        cv_stat sx, sy;
        cv_znode_stat(a, x, &sx);
        cv_znode_stat(b, y, &sy);
        EXPECT_TRUE(stat_eq(sx, sy)) << p;
        cv_stat_persisted px, py;
        cv_znode_stat_persisted(x, &px);
        cv_znode_stat_persisted(y, &py);
        EXPECT_TRUE(pstat_eq(px, py)) << p;
        bool nx, ny;
        EXPECT_EQ(data_of(a, p, &nx), data_of(b, p, &ny)) << p;
        EXPECT_EQ(nx, ny) << p;
        EXPECT_TRUE(acl_list(a, cv_znode_acl_id(x)) == acl_list(b, cv_znode_acl_id(y))) << p;
        auto kx = children_of(a, p), ky = children_of(b, p);
        EXPECT_EQ(kx, ky) << p;
        for (auto &k : kx)
            visit((p == "/" ? "" : p) + "/" + k);
    };
    visit("/");
    EXPECT_EQ(cv_tree_node_count(a), seen);
}

TEST(TreeSnapshot, NewTreeRoundTrips)
{
    cv_tree *t = cv_tree_new();
    auto snap = snapshot(t);
    cv_tree *u = nullptr;
    ASSERT_EQ(0, cv_tree_deserialize(&u, snap.data(), snap.size()));
    expect_same_tree(t, u);
    EXPECT_EQ(0, cv_tree_check(u));
    EXPECT_EQ(cv_tree_acl_open(t), cv_tree_acl_open(u));
    EXPECT_EQ(snap, snapshot(u));
    cv_tree_free(t);
    cv_tree_free(u);
}

TEST(TreeSnapshot, RandomTreeOf10kNodesRoundTripsWithIdenticalDigestAndStats)
{
    cv_tree *t = random_tree(42, 10000);
    ASSERT_GT(cv_tree_node_count(t), 8000u);
    ASSERT_GT(cv_tree_ephemeral_total(t), 0u);
    ASSERT_GT(cv_tree_container_count(t), 0u);
    ASSERT_GT(cv_tree_ttl_count(t), 0u);
    auto snap = snapshot(t);
    cv_tree *u = nullptr;
    ASSERT_EQ(0, cv_tree_deserialize(&u, snap.data(), snap.size()));
    ASSERT_NE(nullptr, u);
    EXPECT_EQ(0, cv_tree_check(u));
    expect_same_tree(t, u);
    expect_same_tree(u, t);
    // ephemerals per session survive
    for (uint64_t s = 0; s < 20; s++) {
        int64_t o = (int64_t)(0x100000000000000ULL + s);
        std::vector<std::string> pa, pb;
        cv_tree_ephemerals(t, o, collect_cb, &pa);
        cv_tree_ephemerals(u, o, collect_cb, &pb);
        std::sort(pa.begin(), pa.end());
        std::sort(pb.begin(), pb.end());
        EXPECT_EQ(pa, pb);
    }
    // the format is canonical: the restored tree writes the same bytes
    EXPECT_EQ(snap, snapshot(u));
    // and the restored tree keeps working
    ASSERT_EQ(0, cv_tree_create(u, "/after", 6, "x", 1, cv_tree_acl_open(u), 0, 1LL << 40, 1, -1,
                                nullptr));
    EXPECT_EQ(0, cv_tree_check(u));
    cv_tree_free(t);
    cv_tree_free(u);
}

TEST(TreeSnapshot, WriteErrorsAreReturned)
{
    cv_tree *t = random_tree(1, 2000);
    int calls = 0;
    int rc = cv_tree_serialize(
        t,
        [](void *c, const void *, size_t) { return ++*static_cast<int *>(c) == 2 ? -ENOSPC : 0; },
        &calls);
    EXPECT_EQ(-ENOSPC, rc);
    cv_tree_free(t);
}

TEST(TreeSnapshot, EveryTruncationIsRejected)
{
    cv_tree *t = random_tree(7, 60);
    auto snap = snapshot(t);
    for (size_t n = 0; n < snap.size(); n++) {
        // a copy of exactly n bytes, so ASan sees any read past the end
        std::vector<uint8_t> cut(snap.begin(), snap.begin() + (long)n);
        cv_tree *u = reinterpret_cast<cv_tree *>(1);
        ASSERT_EQ(-EBADMSG, cv_tree_deserialize(&u, cut.data(), cut.size())) << n;
        EXPECT_EQ(nullptr, u);
    }
    std::vector<uint8_t> longer = snap;
    longer.push_back(0);
    cv_tree *u = nullptr;
    EXPECT_EQ(-EBADMSG, cv_tree_deserialize(&u, longer.data(), longer.size()));
    cv_tree_free(t);
}

TEST(TreeSnapshot, RandomByteFlipsAreRejected)
{
    cv_tree *t = random_tree(9, 200);
    auto snap = snapshot(t);
    Rng r(99);
    for (int i = 0; i < 3000; i++) {
        auto bad = snap;
        int flips = 1 + (int)r(3);
        for (int k = 0; k < flips; k++)
            bad[r(bad.size())] ^= (uint8_t)(1 + r(255));
        cv_tree *u = nullptr;
        EXPECT_EQ(-EBADMSG, cv_tree_deserialize(&u, bad.data(), bad.size())) << i;
    }
    cv_tree_free(t);
}

// The CRC stops random damage early; past it, the parser must still hold:
// corruption with a recomputed CRC is rejected, or (when it only touched an
// ACL list no node uses) yields a tree that passes the full check.
TEST(TreeSnapshot, CorruptionWithAValidCrcNeverCrashes)
{
    cv_tree *t = random_tree(11, 150);
    auto snap = snapshot(t);
    Rng r(1234);
    int accepted = 0;
    for (int i = 0; i < 4000; i++) {
        auto bad = snap;
        int flips = 1 + (int)r(2);
        for (int k = 0; k < flips; k++) {
            size_t at = r(bad.size() - 4);
            if (r(2))
                bad[at] ^= (uint8_t)(1u << r(8));
            else
                bad[at] = (uint8_t)r(256);
        }
        uint32_t c = cv_crc32c(bad.data(), bad.size() - 4);
        cv_jute_wr32(&bad[bad.size() - 4], c);
        cv_tree *u = nullptr;
        int rc = cv_tree_deserialize(&u, bad.data(), bad.size());
        if (rc == 0) {
            accepted++;
            EXPECT_EQ(0, cv_tree_check(u));
            cv_tree_free(u);
        } else {
            EXPECT_EQ(-EBADMSG, rc);
        }
    }
    EXPECT_LT(accepted, 400) << "the digest catches nearly all semantic damage";
    cv_tree_free(t);
}

TEST(TreeSnapshot, HandCraftedMalformedInputsAreRejected)
{
    cv_tree *t = cv_tree_new();
    auto good = snapshot(t);
    auto with_crc = [](std::vector<uint8_t> v) {
        cv_jute_wr32(&v[v.size() - 4], cv_crc32c(v.data(), v.size() - 4));
        return v;
    };
    auto rejects = [](const std::vector<uint8_t> &v) {
        cv_tree *u = nullptr;
        int rc = cv_tree_deserialize(&u, v.data(), v.size());
        cv_tree_free(u);
        return rc == -EBADMSG;
    };
    EXPECT_FALSE(rejects(good));
    auto v = good;
    v[0] = 'X'; // magic
    EXPECT_TRUE(rejects(with_crc(v)));
    v = good;
    v[7] = 2; // version
    EXPECT_TRUE(rejects(with_crc(v)));
    v = good;
    v[8] = 0x7f; // absurd node count: bounded by the bytes, no huge allocation
    EXPECT_TRUE(rejects(with_crc(v)));
    v = good;
    v[15] = 3; // fewer nodes than present
    EXPECT_TRUE(rejects(with_crc(v)));
    v = good;
    v[16] = 0xff; // absurd ACL count
    EXPECT_TRUE(rejects(with_crc(v)));
    v = good;
    v[19] = 0; // zero ACLs: nodes name ACLs that do not exist
    EXPECT_TRUE(rejects(with_crc(v)));
    std::vector<uint8_t> tiny(5, 0);
    EXPECT_TRUE(rejects(tiny));
    EXPECT_TRUE(rejects(std::vector<uint8_t>(40, 0xff)));
    cv_tree_free(t);
}

} // namespace
