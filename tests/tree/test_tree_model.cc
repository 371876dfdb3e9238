// Differential test: thousands of seeded random operations applied both to
// cv_tree and to a plain reference model (std::map of paths) written from
// ZooKeeper 3.8.0's DataTree rules; results, Stats, data, ACLs, children,
// indexes and candidate listings must agree throughout.
#include "tree_test_util.h"

#include <algorithm>
#include <functional>
#include <map>
#include <random>
#include <set>

using namespace cvt;

namespace
{

struct MNode {
    std::string data;
    bool null = false;
    cv_stat_persisted s{};
    std::vector<Acl> acl;
    std::vector<std::string> kids; // creation order, as cv_tree keeps them
};

std::string parent_of(const std::string &p)
{
    size_t i = p.rfind('/');
    return i == 0 ? "/" : p.substr(0, i);
}

std::string name_of(const std::string &p)
{
    return p.substr(p.rfind('/') + 1);
}

class Model
{
  public:
    std::map<std::string, MNode> m;

    explicit Model(const cv_tree *t)
    {
        for (const char *p : {"/", "/zookeeper", "/zookeeper/quota", "/zookeeper/config"}) {
            MNode n;
            n.acl = acl_list(t, cv_znode_acl_id(look(t, p)));
            m[p] = n;
        }
        m["/"].kids = {"zookeeper"};
        m["/zookeeper"].kids = {"quota", "config"};
        m["/zookeeper/config"].s.aversion = -1;
    }

    int create(const std::string &p, const std::string &d, bool null, const std::vector<Acl> &acl,
               int64_t owner, int64_t zxid, int64_t time, int32_t pcv)
    {
        std::string pp = parent_of(p);
        auto it = m.find(pp);
        if (it == m.end())
            return -ENOENT;
        if (cv_owner_is_session(it->second.s.ephemeral_owner))
            return -EINVAL;
        if (m.count(p))
            return -EEXIST;
        MNode &par = it->second;
        int32_t cv = pcv == -1 ? par.s.cversion + 1 : pcv;
        if (cv > par.s.cversion) {
            par.s.cversion = cv;
            par.s.pzxid = zxid;
        }
        par.kids.push_back(name_of(p));
        MNode n;
        n.data = null ? "" : d;
        n.null = null;
        n.s = {zxid, zxid, time, time, 0, 0, 0, owner, zxid};
        n.acl = acl;
        m[p] = n;
        return 0;
    }

    int del(const std::string &p, int64_t zxid)
    {
        if (p == "/")
            return -EINVAL;
        auto it = m.find(p);
        if (it == m.end())
            return -ENOENT;
        if (!it->second.kids.empty())
            return -ENOTEMPTY;
        MNode &par = m[parent_of(p)];
        auto &k = par.kids;
        k.erase(std::find(k.begin(), k.end(), name_of(p)));
        if (zxid > par.s.pzxid)
            par.s.pzxid = zxid;
        m.erase(it);
        return 0;
    }

    int set(const std::string &p, const std::string &d, bool null, int32_t ver, int64_t zxid,
            int64_t time)
    {
        auto it = m.find(p);
        if (it == m.end())
            return -ENOENT;
        it->second.data = null ? "" : d;
        it->second.null = null;
        it->second.s.version = ver;
        it->second.s.mzxid = zxid;
        it->second.s.mtime = time;
        return 0;
    }

    int set_acl(const std::string &p, const std::vector<Acl> &acl, int32_t aver)
    {
        auto it = m.find(p);
        if (it == m.end())
            return -ENOENT;
        it->second.acl = acl;
        it->second.s.aversion = aver;
        return 0;
    }

    static cv_stat reported(const MNode &n)
    {
        cv_stat st;
        st.czxid = n.s.czxid;
        st.mzxid = n.s.mzxid;
        st.ctime = n.s.ctime;
        st.mtime = n.s.mtime;
        st.version = n.s.version;
        st.cversion = n.s.cversion * 2 - (int32_t)n.kids.size();
        st.aversion = n.s.aversion;
        st.ephemeral_owner = cv_owner_is_session(n.s.ephemeral_owner) ? n.s.ephemeral_owner : 0;
        st.data_length = (int32_t)n.data.size();
        st.num_children = (int32_t)n.kids.size();
        st.pzxid = n.s.pzxid;
        return st;
    }
};

void expect_node(const cv_tree *t, const Model &md, const std::string &p)
{
    auto it = md.m.find(p);
    const cv_znode *n = look(t, p);
    if (it == md.m.end()) {
        EXPECT_EQ(nullptr, n) << p;
        return;
    }
    ASSERT_NE(nullptr, n) << p;
    cv_stat want = Model::reported(it->second), got;
    cv_znode_stat(t, n, &got);
    EXPECT_EQ(want.czxid, got.czxid) << p;
    EXPECT_EQ(want.mzxid, got.mzxid) << p;
    EXPECT_EQ(want.ctime, got.ctime) << p;
    EXPECT_EQ(want.mtime, got.mtime) << p;
    EXPECT_EQ(want.version, got.version) << p;
    EXPECT_EQ(want.cversion, got.cversion) << p;
    EXPECT_EQ(want.aversion, got.aversion) << p;
    EXPECT_EQ(want.ephemeral_owner, got.ephemeral_owner) << p;
    EXPECT_EQ(want.data_length, got.data_length) << p;
    EXPECT_EQ(want.num_children, got.num_children) << p;
    EXPECT_EQ(want.pzxid, got.pzxid) << p;
    EXPECT_EQ(it->second.s.ephemeral_owner, cv_znode_owner(n)) << p;
    bool null;
    EXPECT_EQ(it->second.data, data_of(t, p, &null)) << p;
    EXPECT_EQ(it->second.null, null) << p;
    EXPECT_TRUE(it->second.acl == acl_list(t, cv_znode_acl_id(n))) << p;
    EXPECT_EQ(it->second.kids, children_of(t, p)) << p;
}

void expect_all(const cv_tree *t, const Model &md, int64_t now)
{
    ASSERT_EQ(0, cv_tree_check(t));
    EXPECT_EQ(md.m.size(), cv_tree_node_count(t));
    uint64_t bytes = 0;
    std::map<int64_t, std::vector<std::string>> eph;
    std::vector<std::string> cont, ttl;
    std::set<std::vector<Acl>> acls;
    for (auto &[p, n] : md.m) {
        expect_node(t, md, p);
        bytes += n.data.size();
        acls.insert(n.acl);
        int64_t o = n.s.ephemeral_owner;
        int64_t elapsed = now - n.s.mtime;
        if (cv_owner_is_session(o))
            eph[o].push_back(p);
        if (cv_owner_is_container(o) && n.kids.empty() && (n.s.cversion > 0 || elapsed > 60000))
            cont.push_back(p);
        if (cv_owner_is_ttl(o) && n.kids.empty() && cv_owner_ttl_ms(o) != 0 &&
            elapsed > cv_owner_ttl_ms(o))
            ttl.push_back(p);
    }
    EXPECT_EQ(bytes, cv_tree_data_bytes(t));
    uint64_t total = 0;
    for (auto &[o, v] : eph) {
        std::vector<std::string> got;
        ASSERT_EQ(0, cv_tree_ephemerals(t, o, collect_cb, &got));
        std::sort(got.begin(), got.end());
        EXPECT_EQ(v, got) << o;
        total += v.size();
    }
    EXPECT_EQ(total, cv_tree_ephemeral_total(t));
    EXPECT_EQ(eph.size(), cv_tree_ephemeral_sessions(t));
    std::vector<std::string> got;
    ASSERT_EQ(0, cv_tree_container_candidates(t, now, 60000, collect_cb, &got));
    std::sort(got.begin(), got.end());
    EXPECT_EQ(cont, got);
    got.clear();
    ASSERT_EQ(0, cv_tree_ttl_candidates(t, now, collect_cb, &got));
    std::sort(got.begin(), got.end());
    EXPECT_EQ(ttl, got);
    // ACL lists alive: those nodes use, plus the tree's own two
    acls.insert({{31, "world", "anyone"}});
    acls.insert({{1, "world", "anyone"}});
    EXPECT_EQ(acls.size(), cv_tree_acl_count(t));
}

void run(uint64_t seed, int ops)
{
    std::mt19937_64 g(seed);
    auto r = [&](uint64_t n) { return g() % n; };
    cv_tree *t = cv_tree_new();
    Model md(t);
    const std::vector<std::vector<Acl>> pool = {
        {{31, "world", "anyone"}},
        {{31, "digest", "u:pw"}},
        {{1, "world", "anyone"}, {31, "auth", ""}},
        {},
    };
    const std::vector<std::string> names = {
        "a", "b", "c", "d", "lock-0000000001", "a-component-longer-than-a-word"};
    auto rand_path = [&]() {
        std::string p = r(20) == 0 ? "/zookeeper" : "";
        size_t depth = 1 + r(4);
        for (size_t i = 0; i < depth; i++)
            p += "/" + names[r(names.size())];
        return p;
    };
    auto rand_data = [&](bool *null) {
        *null = r(15) == 0;
        size_t n = r(12) == 0 ? 2048 + r(3000) : r(120);
        std::string d(n, 0);
        for (auto &c : d)
            c = (char)r(256);
        return d;
    };
    int64_t zxid = 0x100000000, time = 1700000000000;
    int errors = 0;
    for (int i = 0; i < ops; i++) {
        zxid++;
        time += (int64_t)r(2000);
        uint64_t k = r(100);
        std::string p = rand_path();
        int want, got;
        if (k < 42) {
            bool null;
            std::string d = rand_data(&null);
            int64_t owner = 0;
            uint64_t o = r(100);
            if (o < 25)
                owner = (int64_t)(0x100000000000000ULL + r(5));
            else if (o < 33)
                owner = CV_OWNER_CONTAINER;
            else if (o < 41)
                owner = cv_owner_make_ttl(1 + (int64_t)r(20000));
            int32_t pcv = -1;
            if (r(5) == 0) {
                auto it = md.m.find(parent_of(p));
                pcv = it == md.m.end() ? 0 : it->second.s.cversion + (int32_t)r(3) - 1;
            }
            const auto &acl = pool[r(pool.size())];
            uint32_t id = intern(t, acl);
            want = md.create(p, d, null, acl, owner, zxid, time, pcv);
            got = cv_tree_create(t, p.data(), p.size(), d.data(), null ? -1 : (int32_t)d.size(), id,
                                 owner, zxid, time, pcv, nullptr);
            ASSERT_EQ(0, cv_tree_acl_release(t, id));
        } else if (k < 70) {
            int64_t z = r(4) == 0 ? zxid - (int64_t)r(50) : zxid;
            if (r(3) == 0) { // delete something that exists, leaves first
                auto it = md.m.begin();
                std::advance(it, (long)r(md.m.size()));
                p = it->first;
            }
            want = md.del(p, z);
            got = cv_tree_delete(t, p.data(), p.size(), z);
        } else if (k < 90) {
            bool null;
            std::string d = rand_data(&null);
            int32_t ver = (int32_t)r(100);
            want = md.set(p, d, null, ver, zxid, time);
            got = cv_tree_set_data(t, p.data(), p.size(), d.data(), null ? -1 : (int32_t)d.size(),
                                   ver, zxid, time, nullptr);
        } else {
            const auto &acl = pool[r(pool.size())];
            uint32_t id = intern(t, acl);
            int32_t av = (int32_t)r(10);
            want = md.set_acl(p, acl, av);
            got = cv_tree_set_acl(t, p.data(), p.size(), id, av, nullptr);
            ASSERT_EQ(0, cv_tree_acl_release(t, id));
        }
        ASSERT_EQ(want, got) << "op " << i << " kind " << k << " path " << p;
        errors += want != 0;
        expect_node(t, md, p);
        if (p != "/")
            expect_node(t, md, parent_of(p));
        if (i % 500 == 499)
            expect_all(t, md, time + (int64_t)r(30000));
        if (::testing::Test::HasFailure())
            FAIL() << "diverged at op " << i << " seed " << seed;
    }
    expect_all(t, md, time);
    EXPECT_GT(errors, ops / 10) << "error paths exercised";
    EXPECT_GT(md.m.size(), 30u);

    // the final state survives a snapshot round trip
    auto snap = snapshot(t);
    cv_tree *u = nullptr;
    ASSERT_EQ(0, cv_tree_deserialize(&u, snap.data(), snap.size()));
    EXPECT_EQ(cv_tree_digest(t), cv_tree_digest(u));
    expect_all(u, md, time);
    cv_tree_free(u);
    cv_tree_free(t);
}

TEST(TreeModel, RandomOperationsMatchTheReferenceModelSeed1)
{
    run(1, 20000);
}
TEST(TreeModel, RandomOperationsMatchTheReferenceModelSeed2)
{
    run(2, 20000);
}
TEST(TreeModel, RandomOperationsMatchTheReferenceModelSeed3)
{
    run(0xC0FFEE, 20000);
}

// Out-of-memory at every allocation point: an operation either succeeds or
// returns -ENOMEM with the tree exactly as before; retried, it lands where a
// tree that never failed is.
TEST(TreeModel, AllocationFailuresLeaveTheTreeUnchanged)
{
    cv_tree *a = cv_tree_new(), *b = cv_tree_new();
    std::mt19937_64 g(77);
    auto r = [&](uint64_t n) { return g() % n; };
    const std::vector<std::vector<Acl>> pool = {{{31, "world", "anyone"}}, {{1, "digest", "x:y"}}};
    const std::vector<std::string> names = {"a", "b", "c", "a-long-name-for-the-hash"};
    int64_t zxid = 100;
    int failures = 0;
    for (int i = 0; i < 4000; i++) {
        std::string p;
        for (size_t d = 1 + r(3); d > 0; d--)
            p += "/" + names[r(names.size())];
        std::string data(r(8) == 0 ? 2500 + r(4000) : r(150), 'd');
        int kind = (int)r(4);
        int64_t owner = r(4) == 0 ? 0x42 + (int64_t)r(3) : r(8) == 0 ? CV_OWNER_CONTAINER : 0;
        const auto &acl = pool[r(pool.size())];
        int32_t ver = (int32_t)r(50);
        zxid++;
        auto apply = [&](cv_tree *t) {
            int rc = 0;
            uint32_t id = 0;
            if (kind == 0 || kind == 3) {
                rc = cv_tree_acl_intern(t, nullptr, 0, &id); // exercise intern too
                if (rc)
                    return rc;
                cv_tree_acl_release(t, id);
                std::vector<cv_acl> v;
                for (auto &x : acl)
                    v.push_back(cv_acl{x.perms, {jb(x.scheme), jb(x.id)}});
                rc = cv_tree_acl_intern(t, v.data(), (int32_t)v.size(), &id);
                if (rc)
                    return rc;
            }
            switch (kind) {
            case 0:
                rc = cv_tree_create(t, p.data(), p.size(), data.data(), (int32_t)data.size(), id,
                                    owner, zxid, zxid, -1, nullptr);
                break;
            case 1: rc = cv_tree_delete(t, p.data(), p.size(), zxid); break;
            case 2:
                rc = cv_tree_set_data(t, p.data(), p.size(), data.data(), (int32_t)data.size(), ver,
                                      zxid, zxid, nullptr);
                break;
            default: rc = cv_tree_set_acl(t, p.data(), p.size(), id, ver, nullptr);
            }
            if (id)
                cv_tree_acl_release(t, id);
            return rc;
        };
        int want = apply(a);
        uint64_t before = cv_tree_digest(b), count = cv_tree_node_count(b);
        cv_tree_fail_alloc_after(b, (int64_t)r(4));
        int got = apply(b);
        cv_tree_fail_alloc_after(b, -1);
        if (got == -ENOMEM) {
            failures++;
            ASSERT_EQ(before, cv_tree_digest(b)) << "op " << i;
            ASSERT_EQ(count, cv_tree_node_count(b));
            ASSERT_EQ(0, cv_tree_check(b)) << "op " << i;
            got = apply(b);
        }
        ASSERT_EQ(want, got) << "op " << i << " kind " << kind << " " << p;
        ASSERT_EQ(cv_tree_digest(a), cv_tree_digest(b)) << "op " << i;
        if (i % 200 == 0) {
            ASSERT_EQ(0, cv_tree_check(b));
        }
    }
    EXPECT_GT(failures, 50);
    EXPECT_EQ(0, cv_tree_check(b));
    EXPECT_EQ(cv_tree_acl_count(a), cv_tree_acl_count(b));
    cv_tree_free(a);
    cv_tree_free(b);
}

// Deleting everything in random order returns the tree to a fresh tree's digest.
TEST(TreeModel, CreatingAndDeletingEverythingRestoresTheFreshDigest)
{
    cv_tree *fresh = cv_tree_new();
    cv_tree *t = cv_tree_new();
    std::mt19937_64 g(5);
    std::vector<std::string> made;
    int64_t zxid = 10;
    for (int i = 0; i < 3000; i++) {
        std::string p = made.empty() || g() % 3 == 0 ? "" : made[g() % made.size()];
        p += "/n" + std::to_string(i);
        int64_t owner = g() % 4 ? 0 : 0x77;
        ASSERT_EQ(0, cv_tree_create(t, p.data(), p.size(), "x", 1, cv_tree_acl_open(t), owner,
                                    ++zxid, 1, 0, nullptr));
        if (!owner)
            made.push_back(p);
    }
    // delete deepest first
    std::vector<std::string> all;
    std::function<void(const std::string &)> collect = [&](const std::string &p) {
        for (auto &k : children_of(t, p)) {
            std::string c = (p == "/" ? "" : p) + "/" + k;
            collect(c);
            if (c.rfind("/zookeeper", 0) != 0)
                all.push_back(c);
        }
    };
    collect("/");
    for (auto &p : all)
        ASSERT_EQ(0, cv_tree_delete(t, p.data(), p.size(), 0)) << p;
    EXPECT_EQ(cv_tree_digest(fresh), cv_tree_digest(t));
    EXPECT_EQ(0, cv_tree_check(t));
    EXPECT_EQ(0u, cv_tree_ephemeral_total(t));
    cv_tree_free(t);
    cv_tree_free(fresh);
}

} // namespace
