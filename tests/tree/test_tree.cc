// cv_tree unit tests: every operation's success and error paths, Stat rules
// (checked against Apache ZooKeeper 3.8.0), indexes, ACL cache, digest.
#include "tree_test_util.h"

#include <algorithm>
#include <functional>

using namespace cvt;

namespace
{

class Tree : public ::testing::Test
{
  protected:
    cv_tree *t = nullptr;
    uint32_t open = 0;

    void SetUp() override
    {
        t = cv_tree_new();
        ASSERT_NE(nullptr, t);
        open = cv_tree_acl_open(t);
    }
    void TearDown() override
    {
        EXPECT_EQ(0, cv_tree_check(t));
        cv_tree_free(t);
    }
    int create(const std::string &p, const std::string &d = "", int64_t zxid = 100,
               int64_t owner = 0, int32_t pcv = -1, int64_t time = 5000, cv_stat *st = nullptr,
               uint32_t acl = 0)
    {
        return cv_tree_create(t, p.data(), p.size(), d.data(), (int32_t)d.size(), acl ? acl : open,
                              owner, zxid, time, pcv, st);
    }
    int del(const std::string &p, int64_t zxid = 200)
    {
        return cv_tree_delete(t, p.data(), p.size(), zxid);
    }
    int set(const std::string &p, const std::string &d, int32_t version = 1, int64_t zxid = 300,
            int64_t time = 7000, cv_stat *st = nullptr)
    {
        return cv_tree_set_data(t, p.data(), p.size(), d.data(), (int32_t)d.size(), version, zxid,
                                time, st);
    }
};

void expect_stat(const cv_stat &s, int64_t czxid, int64_t mzxid, int64_t ctime, int64_t mtime,
                 int32_t version, int32_t cversion, int32_t aversion, int64_t owner, int32_t dlen,
                 int32_t nkids, int64_t pzxid)
{
    EXPECT_EQ(czxid, s.czxid);
    EXPECT_EQ(mzxid, s.mzxid);
    EXPECT_EQ(ctime, s.ctime);
    EXPECT_EQ(mtime, s.mtime);
    EXPECT_EQ(version, s.version);
    EXPECT_EQ(cversion, s.cversion);
    EXPECT_EQ(aversion, s.aversion);
    EXPECT_EQ(owner, s.ephemeral_owner);
    EXPECT_EQ(dlen, s.data_length);
    EXPECT_EQ(nkids, s.num_children);
    EXPECT_EQ(pzxid, s.pzxid);
}

// ---- system nodes -------------------------------------------------------------

TEST_F(Tree, NewTreeHasZooKeeperSystemNodesAsA38ServerShowsThem)
{
    // Values recorded from a fresh ZooKeeper 3.8.0 standalone server via kazoo.
    expect_stat(stat_of(t, "/"), 0, 0, 0, 0, 0, -1, 0, 0, 0, 1, 0);
    expect_stat(stat_of(t, "/zookeeper"), 0, 0, 0, 0, 0, -2, 0, 0, 0, 2, 0);
    expect_stat(stat_of(t, "/zookeeper/quota"), 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0);
    expect_stat(stat_of(t, "/zookeeper/config"), 0, 0, 0, 0, 0, 0, -1, 0, 0, 0, 0);
    for (const char *p : {"/", "/zookeeper", "/zookeeper/quota", "/zookeeper/config"}) {
        bool is_null = true;
        EXPECT_EQ("", data_of(t, p, &is_null));
        EXPECT_FALSE(is_null) << p << ": ZooKeeper uses new byte[0], not null";
    }
    std::vector<Acl> all = {{31, "world", "anyone"}}, read = {{1, "world", "anyone"}};
    EXPECT_EQ(all, acl_list(t, cv_znode_acl_id(look(t, "/"))));
    EXPECT_EQ(all, acl_list(t, cv_znode_acl_id(look(t, "/zookeeper"))));
    EXPECT_EQ(all, acl_list(t, cv_znode_acl_id(look(t, "/zookeeper/quota"))));
    EXPECT_EQ(read, acl_list(t, cv_znode_acl_id(look(t, "/zookeeper/config"))));
    EXPECT_EQ(std::vector<std::string>{"zookeeper"}, children_of(t, "/"));
    EXPECT_EQ((std::vector<std::string>{"quota", "config"}), children_of(t, "/zookeeper"));
    EXPECT_EQ(4u, cv_tree_node_count(t));
    EXPECT_EQ(0u, cv_tree_data_bytes(t));
    EXPECT_EQ(2u, cv_tree_acl_count(t));
    EXPECT_EQ(read, acl_list(t, cv_tree_acl_read_only(t)));
}

// ---- create -------------------------------------------------------------------

TEST_F(Tree, CreateSetsEveryStatFieldOfTheNewNode)
{
    cv_stat st;
    ASSERT_EQ(0, create("/a", "hello", 0x100000002, 0, -1, 1700000000123, &st));
    expect_stat(st, 0x100000002, 0x100000002, 1700000000123, 1700000000123, 0, 0, 0, 0, 5, 0,
                0x100000002);
    cv_stat again = stat_of(t, "/a");
    EXPECT_TRUE(stat_eq(st, again));
    EXPECT_EQ("hello", data_of(t, "/a"));
    EXPECT_EQ(open, cv_znode_acl_id(look(t, "/a")));
    EXPECT_EQ(0, cv_znode_owner(look(t, "/a")));
}

TEST_F(Tree, CreateWithParentCversionMinusOneIncrementsParentAndSetsPzxid)
{
    ASSERT_EQ(0, create("/p", "x", 2, 0, -1, 10));
    ASSERT_EQ(0, create("/p/a", "", 3, 0, -1, 20));
    expect_stat(stat_of(t, "/p"), 2, 2, 10, 10, 0, 1, 0, 0, 1, 1, 3);
    ASSERT_EQ(0, create("/p/b", "", 4, 0, -1, 30));
    expect_stat(stat_of(t, "/p"), 2, 2, 10, 10, 0, 2, 0, 0, 1, 2, 4);
    // the root saw one create: stored 1, one more child than before
    expect_stat(stat_of(t, "/"), 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 2);
}

TEST_F(Tree, CreateWithExplicitParentCversionStoresItOnlyWhenLarger)
{
    ASSERT_EQ(0, create("/p", "", 2));
    ASSERT_EQ(0, create("/p/a", "", 3, 0, 5));
    cv_stat_persisted ps;
    cv_znode_stat_persisted(look(t, "/p"), &ps);
    EXPECT_EQ(5, ps.cversion);
    EXPECT_EQ(3, ps.pzxid);
    EXPECT_EQ(9, stat_of(t, "/p").cversion); // 2 * 5 - 1
    // A txn carrying an older cversion (replayed over a fuzzy snapshot) leaves
    // the parent alone, pzxid included (DataTree.createNode).
    ASSERT_EQ(0, create("/p/b", "", 4, 0, 5));
    cv_znode_stat_persisted(look(t, "/p"), &ps);
    EXPECT_EQ(5, ps.cversion);
    EXPECT_EQ(3, ps.pzxid);
    EXPECT_EQ(2, stat_of(t, "/p").num_children);
}

TEST_F(Tree, ReportedCversionFollowsTheRealServerAcrossCreatesAndDeletes)
{
    // kazoo against ZooKeeper 3.8.0: create /p, /p/a, /p/b, delete /p/a,
    // sequential create (suffix 2), delete /p/b, sequential create (suffix 3):
    // cversion 0,1,2,3,4,5,6; pzxid the zxid of each step.
    ASSERT_EQ(0, create("/p", "x", 2));
    EXPECT_EQ(0, stat_of(t, "/p").cversion);
    ASSERT_EQ(0, create("/p/a", "", 3));
    EXPECT_EQ(1, stat_of(t, "/p").cversion);
    ASSERT_EQ(0, create("/p/b", "", 4));
    EXPECT_EQ(2, stat_of(t, "/p").cversion);
    ASSERT_EQ(0, del("/p/a", 5));
    EXPECT_EQ(3, stat_of(t, "/p").cversion);
    EXPECT_EQ(5, stat_of(t, "/p").pzxid);
    // The prepare step names sequential nodes and fills parentCVersion from
    // the stored value, as PrepRequestProcessor does.
    cv_stat_persisted ps;
    cv_znode_stat_persisted(look(t, "/p"), &ps);
    EXPECT_EQ(2, ps.cversion);
    ASSERT_EQ(0, create("/p/s0000000002", "", 6, 0, ps.cversion + 1));
    EXPECT_EQ(4, stat_of(t, "/p").cversion);
    ASSERT_EQ(0, del("/p/b", 7));
    EXPECT_EQ(5, stat_of(t, "/p").cversion);
    cv_znode_stat_persisted(look(t, "/p"), &ps);
    EXPECT_EQ(3, ps.cversion);
    ASSERT_EQ(0, create("/p/s0000000003", "", 8, 0, ps.cversion + 1));
    expect_stat(stat_of(t, "/p"), 2, 2, 5000, 5000, 0, 6, 0, 0, 1, 2, 8);
}

TEST_F(Tree, CreateFailsWithEnoentWithoutParent)
{
    uint64_t d = cv_tree_digest(t);
    EXPECT_EQ(-ENOENT, create("/a/b"));
    EXPECT_EQ(-ENOENT, create("/zookeeper/nope/x"));
    EXPECT_EQ(d, cv_tree_digest(t));
    EXPECT_EQ(4u, cv_tree_node_count(t));
}

TEST_F(Tree, CreateFailsWithEexistAndChangesNothing)
{
    ASSERT_EQ(0, create("/a", "one", 10));
    uint64_t d = cv_tree_digest(t);
    cv_stat root = stat_of(t, "/");
    EXPECT_EQ(-EEXIST, create("/a", "two", 11));
    EXPECT_EQ(-EEXIST, create("/", "", 12));
    EXPECT_EQ(-EEXIST, create("/zookeeper", "", 13));
    EXPECT_EQ(d, cv_tree_digest(t));
    EXPECT_EQ("one", data_of(t, "/a"));
    cv_stat root2 = stat_of(t, "/");
    EXPECT_TRUE(stat_eq(root, root2));
}

TEST_F(Tree, CreateRejectsImpossibleArgumentsWithEinval)
{
    ASSERT_EQ(0, create("/e", "", 10, 0x1234));
    EXPECT_EQ(-EINVAL, create("/e/child")) << "no children under a session ephemeral";
    EXPECT_EQ(-EINVAL, cv_tree_create(t, "/x", 2, "", -2, open, 0, 1, 1, -1, nullptr));
    EXPECT_EQ(-EINVAL, cv_tree_create(t, "/x", 2, "", 0, 0, 0, 1, 1, -1, nullptr));
    EXPECT_EQ(-EINVAL, cv_tree_create(t, "/x", 2, "", 0, 999, 0, 1, 1, -1, nullptr));
    EXPECT_EQ(-EINVAL, cv_tree_create(t, "x", 1, "", 0, open, 0, 1, 1, -1, nullptr));
    EXPECT_EQ(-EINVAL, cv_tree_create(t, "/x/", 3, "", 0, open, 0, 1, 1, -1, nullptr));
    EXPECT_EQ(nullptr, look(t, "/x"));
    // containers and TTL nodes may have children
    ASSERT_EQ(0, create("/c", "", 11, CV_OWNER_CONTAINER));
    EXPECT_EQ(0, create("/c/k", "", 12));
    ASSERT_EQ(0, create("/t", "", 13, cv_owner_make_ttl(1000)));
    EXPECT_EQ(0, create("/t/k", "", 14));
}

TEST_F(Tree, NullAndEmptyDataStayDistinct)
{
    ASSERT_EQ(0, cv_tree_create(t, "/n", 2, nullptr, -1, open, 0, 1, 1, -1, nullptr));
    ASSERT_EQ(0, create("/e", ""));
    bool is_null = false;
    EXPECT_EQ("", data_of(t, "/n", &is_null));
    EXPECT_TRUE(is_null);
    EXPECT_EQ("", data_of(t, "/e", &is_null));
    EXPECT_FALSE(is_null);
    EXPECT_EQ(0, stat_of(t, "/n").data_length) << "DataNode.copyStat: null data has length 0";
    EXPECT_NE(cv_tree_digest_recompute(t), 0u);
    ASSERT_EQ(0, cv_tree_set_data(t, "/e", 2, nullptr, -1, 1, 5, 5, nullptr));
    EXPECT_EQ("", data_of(t, "/e", &is_null));
    EXPECT_TRUE(is_null);
}

// ---- delete -------------------------------------------------------------------

TEST_F(Tree, DeleteRemovesNodeAndUpdatesOnlyParentPzxid)
{
    ASSERT_EQ(0, create("/p", "", 10));
    ASSERT_EQ(0, create("/p/a", "abc", 11));
    uint64_t bytes = cv_tree_data_bytes(t);
    ASSERT_EQ(0, del("/p/a", 12));
    EXPECT_EQ(nullptr, look(t, "/p/a"));
    expect_stat(stat_of(t, "/p"), 10, 10, 5000, 5000, 0, 2, 0, 0, 0, 0, 12);
    cv_stat_persisted ps;
    cv_znode_stat_persisted(look(t, "/p"), &ps);
    EXPECT_EQ(1, ps.cversion) << "deleteNode does not touch the stored cversion";
    EXPECT_EQ(bytes - 3, cv_tree_data_bytes(t));
    EXPECT_EQ(5u, cv_tree_node_count(t));
    EXPECT_TRUE(children_of(t, "/p").empty());
    // recreate after delete works
    ASSERT_EQ(0, create("/p/a", "z", 13));
    EXPECT_EQ("z", data_of(t, "/p/a"));
}

TEST_F(Tree, DeleteKeepsParentPzxidWhenZxidIsNotNewer)
{
    ASSERT_EQ(0, create("/p", "", 10));
    ASSERT_EQ(0, create("/p/a", "", 20));
    ASSERT_EQ(0, del("/p/a", 15));
    EXPECT_EQ(20, stat_of(t, "/p").pzxid);
    ASSERT_EQ(0, create("/p/b", "", 30));
    ASSERT_EQ(0, del("/p/b", 30));
    EXPECT_EQ(30, stat_of(t, "/p").pzxid);
}

TEST_F(Tree, DeleteErrorsLeaveTheTreeUnchanged)
{
    ASSERT_EQ(0, create("/p", "", 10));
    ASSERT_EQ(0, create("/p/a", "", 11));
    uint64_t d = cv_tree_digest(t);
    EXPECT_EQ(-ENOENT, del("/nope"));
    EXPECT_EQ(-ENOENT, del("/p/b"));
    EXPECT_EQ(-ENOENT, del("/nope/x"));
    EXPECT_EQ(-ENOTEMPTY, del("/p"));
    EXPECT_EQ(-ENOTEMPTY, del("/zookeeper"));
    EXPECT_EQ(-EINVAL, del("/"));
    EXPECT_EQ(d, cv_tree_digest(t));
    EXPECT_EQ(6u, cv_tree_node_count(t));
}

// ---- setData / setACL ---------------------------------------------------------------

TEST_F(Tree, SetDataSetsDataVersionMzxidMtimeAndNothingElse)
{
    ASSERT_EQ(0, create("/a", "old", 10, 0, -1, 1000));
    ASSERT_EQ(0, create("/a/k", "", 11, 0, -1, 1100));
    cv_stat st;
    ASSERT_EQ(0, set("/a", "newer data", 7, 0x200000005, 1700000000999, &st));
    expect_stat(st, 10, 0x200000005, 1000, 1700000000999, 7, 1, 0, 0, 10, 1, 11);
    cv_stat again = stat_of(t, "/a");
    EXPECT_TRUE(stat_eq(st, again));
    EXPECT_EQ("newer data", data_of(t, "/a"));
    EXPECT_EQ(10u, cv_tree_data_bytes(t));
    EXPECT_EQ(std::vector<std::string>{"k"}, children_of(t, "/a"));
}

TEST_F(Tree, SetDataGrowsToLargeRecordsAndShrinksBack)
{
    ASSERT_EQ(0, create("/a", "x", 10));
    ASSERT_EQ(0, create("/a/k", "", 11));
    size_t before = cv_tree_memory_bytes(t);
    for (size_t n : {100u, 2000u, 5000u, 1u << 20, 300u, 0u, 70000u, 3u}) {
        std::string d(n, 'q');
        for (size_t i = 0; i < n; i++)
            d[i] = (char)('a' + (i * 7) % 26);
        ASSERT_EQ(0, set("/a", d, (int32_t)n, 100 + n, 1, nullptr));
        EXPECT_EQ(d, data_of(t, "/a")) << n;
        EXPECT_EQ((int32_t)n, stat_of(t, "/a").data_length);
        EXPECT_EQ(n, cv_tree_data_bytes(t));
        if (n == (1u << 20)) {
            EXPECT_GE(cv_tree_memory_bytes(t), before + n);
        }
        ASSERT_EQ(0, cv_tree_check(t));
        // parent updates on a large record
        ASSERT_EQ(0, create("/a/x", "", 200 + n));
        ASSERT_EQ(0, del("/a/x", 300 + n));
        EXPECT_EQ(d, data_of(t, "/a"));
    }
    EXPECT_LT(cv_tree_memory_bytes(t), before + (1u << 20));
}

TEST_F(Tree, SetDataAcceptsItsOwnDataAsSource)
{
    std::string d(3000, 'z');
    ASSERT_EQ(0, create("/a", d, 10));
    for (int i = 0; i < 3; i++) {
        const cv_znode *n = look(t, "/a");
        const uint8_t *p;
        int32_t len;
        cv_znode_data(t, n, &p, &len);
        // same bytes, shorter and at an offset: all alias the record
        ASSERT_EQ(0, cv_tree_set_data(t, "/a", 2, p + 10, len - 10, i, 20 + i, 5, nullptr));
        d = d.substr(10);
        EXPECT_EQ(d, data_of(t, "/a"));
    }
    const cv_znode *n = look(t, "/a");
    const uint8_t *p;
    int32_t len;
    cv_znode_data(t, n, &p, &len);
    ASSERT_EQ(0, cv_tree_set_data(t, "/a", 2, p, 50, 9, 30, 5, nullptr));
    EXPECT_EQ(d.substr(0, 50), data_of(t, "/a"));
}

TEST_F(Tree, SetDataErrors)
{
    EXPECT_EQ(-ENOENT, set("/nope", "x"));
    ASSERT_EQ(0, create("/a", "x"));
    EXPECT_EQ(-EINVAL, cv_tree_set_data(t, "/a", 2, "", -3, 1, 1, 1, nullptr));
    EXPECT_EQ("x", data_of(t, "/a"));
}

TEST_F(Tree, SetAclSetsAclAndAversionOnly)
{
    ASSERT_EQ(0, create("/a", "d", 10, 0, -1, 1000));
    uint32_t id = intern(t, {{1, "digest", "u:h"}, {31, "ip", "10.0.0.1"}});
    cv_stat st;
    ASSERT_EQ(0, cv_tree_set_acl(t, "/a", 2, id, 4, &st));
    expect_stat(st, 10, 10, 1000, 1000, 0, 0, 4, 0, 1, 0, 10);
    EXPECT_EQ(id, cv_znode_acl_id(look(t, "/a")));
    EXPECT_EQ((std::vector<Acl>{{1, "digest", "u:h"}, {31, "ip", "10.0.0.1"}}), acl_list(t, id));
    EXPECT_EQ(2u, cv_tree_acl_refs(t, id)); // caller + node
    EXPECT_EQ(0, cv_tree_acl_release(t, id));
    EXPECT_EQ(1u, cv_tree_acl_refs(t, id));
    EXPECT_EQ(-ENOENT, cv_tree_set_acl(t, "/nope", 5, open, 1, nullptr));
    EXPECT_EQ(-EINVAL, cv_tree_set_acl(t, "/a", 2, 0, 1, nullptr));
    EXPECT_EQ(-EINVAL, cv_tree_set_acl(t, "/a", 2, 12345, 1, nullptr));
    // back to open: the custom list loses its last user and is freed
    ASSERT_EQ(0, cv_tree_set_acl(t, "/a", 2, open, 5, nullptr));
    EXPECT_EQ(0u, cv_tree_acl_refs(t, id));
    EXPECT_EQ(2u, cv_tree_acl_count(t));
    EXPECT_EQ(5, stat_of(t, "/a").aversion);
}

// ---- lookup, children, paths ----------------------------------------------------------

TEST_F(Tree, LookupFindsExactPathsOnly)
{
    ASSERT_EQ(0, create("/a"));
    ASSERT_EQ(0, create("/a/bb"));
    ASSERT_EQ(0, create("/a/bb/a-name-longer-than-eight-bytes"));
    EXPECT_NE(nullptr, look(t, "/a/bb/a-name-longer-than-eight-bytes"));
    EXPECT_NE(nullptr, look(t, "/a/bb"));
    EXPECT_EQ(nullptr, look(t, "/a/b"));
    EXPECT_EQ(nullptr, look(t, "/a/bbb"));
    EXPECT_EQ(nullptr, look(t, "/bb"));
    EXPECT_EQ(nullptr, look(t, ""));
    EXPECT_EQ(nullptr, look(t, "a"));
    EXPECT_EQ(nullptr, look(t, "/a/"));
    EXPECT_EQ(nullptr, look(t, "//a"));
    EXPECT_EQ(nullptr, look(t, "/a//bb"));
    // a length shorter than the string
    EXPECT_EQ(look(t, "/a"), cv_tree_lookup(t, "/a/bb", 2));
}

TEST_F(Tree, ChildrenIterateInCreationOrderAndSurviveDeletes)
{
    ASSERT_EQ(0, create("/p"));
    std::vector<std::string> want;
    for (int i = 0; i < 20; i++) {
        std::string n = "c" + std::to_string(i);
        ASSERT_EQ(0, create("/p/" + n, "", 10 + i));
        want.push_back(n);
    }
    EXPECT_EQ(want, children_of(t, "/p"));
    for (int i : {0, 19, 7, 8, 1}) {
        ASSERT_EQ(0, del("/p/c" + std::to_string(i), 100 + i));
        want.erase(std::find(want.begin(), want.end(), "c" + std::to_string(i)));
        EXPECT_EQ(want, children_of(t, "/p"));
        EXPECT_EQ((uint32_t)want.size(), cv_znode_num_children(look(t, "/p")));
    }
    ASSERT_EQ(0, create("/p/c0", "", 200));
    want.push_back("c0");
    EXPECT_EQ(want, children_of(t, "/p"));
    EXPECT_TRUE(children_of(t, "/p/c2").empty());
}

TEST_F(Tree, CountDescendantsCountsTheWholeSubtreeButNotTheNode)
{
    ASSERT_EQ(0, create("/a"));
    ASSERT_EQ(0, create("/a/b"));
    ASSERT_EQ(0, create("/a/b/c"));
    ASSERT_EQ(0, create("/a/b/d"));
    ASSERT_EQ(0, create("/a/e"));
    ASSERT_EQ(0, create("/f"));
    EXPECT_EQ(4u, cv_tree_count_descendants(t, look(t, "/a")));
    EXPECT_EQ(2u, cv_tree_count_descendants(t, look(t, "/a/b")));
    EXPECT_EQ(0u, cv_tree_count_descendants(t, look(t, "/a/e")));
    EXPECT_EQ(2u, cv_tree_count_descendants(t, look(t, "/zookeeper")));
    // "/": every node but the root (ZooKeeper: nodes.size() - 2, "" and "/")
    EXPECT_EQ(cv_tree_node_count(t) - 1, cv_tree_count_descendants(t, look(t, "/")));
    EXPECT_EQ(9u, cv_tree_count_descendants(t, look(t, "/")));
}

TEST_F(Tree, PathOfANodeIsRebuiltFromItsAncestors)
{
    ASSERT_EQ(0, create("/alpha"));
    ASSERT_EQ(0, create("/alpha/beta"));
    char buf[64];
    const cv_znode *n = look(t, "/alpha/beta");
    size_t l = cv_tree_path(t, n, buf, sizeof(buf));
    EXPECT_EQ("/alpha/beta", std::string(buf, l));
    EXPECT_EQ(11u, cv_tree_path(t, n, buf, 4)) << "too small: the needed length";
    l = cv_tree_path(t, look(t, "/"), buf, sizeof(buf));
    EXPECT_EQ("/", std::string(buf, l));
    const char *s;
    size_t nl;
    cv_znode_name(look(t, "/"), &s, &nl);
    EXPECT_EQ(0u, nl);
}

// ---- owners and indexes ---------------------------------------------------------------

TEST(TreeOwner, HelpersClassifyZooKeeperEphemeralTypes)
{
    EXPECT_FALSE(cv_owner_is_session(0));
    EXPECT_TRUE(cv_owner_is_session(0x100000001234));
    // 0xFFFF...FB: top byte 0xFF with reserved bits set: an unknown extended type
    EXPECT_FALSE(cv_owner_is_session(-5));
    EXPECT_FALSE(cv_owner_is_ttl(-5));
    EXPECT_TRUE(cv_owner_is_extended(-5));
    EXPECT_TRUE(cv_owner_is_container(INT64_MIN));
    EXPECT_FALSE(cv_owner_is_session(INT64_MIN));
    EXPECT_FALSE(cv_owner_is_ttl(INT64_MIN));
    int64_t o = cv_owner_make_ttl(5000);
    EXPECT_EQ((int64_t)0xff00000000001388ULL, o);
    EXPECT_TRUE(cv_owner_is_ttl(o));
    EXPECT_FALSE(cv_owner_is_session(o));
    EXPECT_EQ(5000, cv_owner_ttl_ms(o));
    EXPECT_EQ(CV_OWNER_TTL_MAX, cv_owner_ttl_ms(cv_owner_make_ttl(CV_OWNER_TTL_MAX)));
    EXPECT_EQ(0, cv_owner_make_ttl(0));
    EXPECT_EQ(0, cv_owner_make_ttl(-1));
    EXPECT_EQ(0, cv_owner_make_ttl(CV_OWNER_TTL_MAX + 1));
    EXPECT_EQ(0, cv_owner_ttl_ms(0x1234));
}

TEST_F(Tree, EphemeralIndexListsASessionsNodesWithoutScanning)
{
    const int64_t s1 = 0x100000000000abcLL, s2 = 0x200000000000def;
    ASSERT_EQ(0, create("/d"));
    ASSERT_EQ(0, create("/d/e1", "", 10, s1));
    ASSERT_EQ(0, create("/d/e2", "", 11, s2));
    ASSERT_EQ(0, create("/e3", "", 12, s1));
    ASSERT_EQ(0, create("/d/p", "", 13));
    EXPECT_EQ(s1, stat_of(t, "/d/e1").ephemeral_owner);
    EXPECT_EQ(s1, cv_znode_owner(look(t, "/d/e1")));
    EXPECT_EQ(2u, cv_tree_ephemeral_count(t, s1));
    EXPECT_EQ(1u, cv_tree_ephemeral_count(t, s2));
    EXPECT_EQ(0u, cv_tree_ephemeral_count(t, 0x77));
    EXPECT_EQ(3u, cv_tree_ephemeral_total(t));
    EXPECT_EQ(2u, cv_tree_ephemeral_sessions(t));
    std::vector<std::string> paths;
    ASSERT_EQ(0, cv_tree_ephemerals(t, s1, collect_cb, &paths));
    EXPECT_EQ((std::vector<std::string>{"/d/e1", "/e3"}), paths);
    std::vector<int64_t> owners;
    cv_tree_ephemeral_owners(
        t,
        [](void *c, int64_t s) {
            static_cast<std::vector<int64_t> *>(c)->push_back(s);
            return 0;
        },
        &owners);
    std::sort(owners.begin(), owners.end());
    EXPECT_EQ((std::vector<int64_t>{s1, s2}), owners);

    ASSERT_EQ(0, del("/d/e1", 20));
    paths.clear();
    ASSERT_EQ(0, cv_tree_ephemerals(t, s1, collect_cb, &paths));
    EXPECT_EQ(std::vector<std::string>{"/e3"}, paths);
    ASSERT_EQ(0, del("/e3", 21));
    EXPECT_EQ(0u, cv_tree_ephemeral_count(t, s1));
    EXPECT_EQ(1u, cv_tree_ephemeral_sessions(t));
    paths.clear();
    ASSERT_EQ(0, cv_tree_ephemerals(t, s1, collect_cb, &paths));
    EXPECT_TRUE(paths.empty());
    ASSERT_EQ(0, create("/e4", "", 22, s1)); // the session's entry comes back
    EXPECT_EQ(1u, cv_tree_ephemeral_count(t, s1));
    EXPECT_EQ(2u, cv_tree_ephemeral_total(t));
}

TEST_F(Tree, ManyEphemeralsOfOneSessionDeleteInAnyOrder)
{
    const int64_t s = 0x3000000000000042;
    for (int i = 0; i < 500; i++)
        ASSERT_EQ(0, create("/e" + std::to_string(i), "", 10 + i, s));
    EXPECT_EQ(500u, cv_tree_ephemeral_count(t, s));
    for (int i = 0; i < 500; i += 2)
        ASSERT_EQ(0, del("/e" + std::to_string(i), 1000 + i));
    std::vector<std::string> paths;
    ASSERT_EQ(0, cv_tree_ephemerals(t, s, collect_cb, &paths));
    ASSERT_EQ(250u, paths.size());
    EXPECT_EQ("/e1", paths.front());
    EXPECT_EQ("/e499", paths.back());
    ASSERT_EQ(0, cv_tree_check(t));
    // closeSession: collect, then delete
    for (auto &p : paths)
        ASSERT_EQ(0, del(p, 5000));
    EXPECT_EQ(0u, cv_tree_ephemeral_total(t));
    EXPECT_EQ(0u, cv_tree_ephemeral_sessions(t));
}

TEST_F(Tree, ListingCallbackCanStopEarly)
{
    const int64_t s = 0x55;
    for (int i = 0; i < 5; i++)
        ASSERT_EQ(0, create("/e" + std::to_string(i), "", 10 + i, s));
    int seen = 0;
    int rc = cv_tree_ephemerals(
        t, s,
        [](void *c, const char *, size_t, const cv_znode *) {
            return ++*static_cast<int *>(c) == 2 ? 42 : 0;
        },
        &seen);
    EXPECT_EQ(42, rc);
    EXPECT_EQ(2, seen);
}

TEST_F(Tree, ContainerCandidatesFollowContainerManager)
{
    ASSERT_EQ(0, create("/c1", "", 10, CV_OWNER_CONTAINER, -1, 1000));
    ASSERT_EQ(0, create("/c2", "", 11, CV_OWNER_CONTAINER, -1, 1000));
    ASSERT_EQ(0, create("/c3", "", 12, CV_OWNER_CONTAINER, -1, 1000));
    EXPECT_EQ(3u, cv_tree_container_count(t));
    EXPECT_EQ(0, stat_of(t, "/c1").ephemeral_owner) << "clients see 0 for containers";
    EXPECT_EQ(CV_OWNER_CONTAINER, cv_znode_owner(look(t, "/c1")));
    EXPECT_EQ(0u, cv_tree_ephemeral_total(t));
    // c1: had a child, now empty (cversion > 0) -> candidate
    ASSERT_EQ(0, create("/c1/k", "", 13));
    ASSERT_EQ(0, del("/c1/k", 14));
    // c2: has a child -> never
    ASSERT_EQ(0, create("/c2/k", "", 15));
    std::vector<std::string> got;
    ASSERT_EQ(0, cv_tree_container_candidates(t, 1000000, 0, collect_cb, &got));
    EXPECT_EQ(std::vector<std::string>{"/c1"}, got);
    // never used c3 goes once max_never_used has passed since its mtime
    got.clear();
    ASSERT_EQ(0, cv_tree_container_candidates(t, 1500, 500, collect_cb, &got));
    EXPECT_EQ(std::vector<std::string>{"/c1"}, got) << "elapsed must exceed the interval";
    got.clear();
    ASSERT_EQ(0, cv_tree_container_candidates(t, 1501, 500, collect_cb, &got));
    std::sort(got.begin(), got.end());
    EXPECT_EQ((std::vector<std::string>{"/c1", "/c3"}), got);
    ASSERT_EQ(0, del("/c1", 20));
    EXPECT_EQ(2u, cv_tree_container_count(t));
}

TEST_F(Tree, TtlCandidatesExpireOnMtimePlusTtl)
{
    ASSERT_EQ(0, create("/t1", "", 10, cv_owner_make_ttl(100), -1, 1000));
    ASSERT_EQ(0, create("/t2", "", 11, cv_owner_make_ttl(5000), -1, 1000));
    ASSERT_EQ(0, create("/t3", "", 12, cv_owner_make_ttl(100), -1, 1000));
    ASSERT_EQ(0, create("/t3/k", "", 13));
    ASSERT_EQ(0, create("/t0", "", 14, (int64_t)CV_OWNER_EXTENDED_MASK, -1, 0)); // ttl 0: never
    EXPECT_EQ(4u, cv_tree_ttl_count(t));
    EXPECT_EQ(0, stat_of(t, "/t1").ephemeral_owner);
    std::vector<std::string> got;
    ASSERT_EQ(0, cv_tree_ttl_candidates(t, 1100, collect_cb, &got));
    EXPECT_TRUE(got.empty()) << "elapsed == ttl is not expired";
    ASSERT_EQ(0, cv_tree_ttl_candidates(t, 1101, collect_cb, &got));
    EXPECT_EQ(std::vector<std::string>{"/t1"}, got);
    // setData moves mtime forward
    ASSERT_EQ(0, set("/t1", "x", 1, 20, 2000));
    got.clear();
    ASSERT_EQ(0, cv_tree_ttl_candidates(t, 2050, collect_cb, &got));
    EXPECT_TRUE(got.empty());
    got.clear();
    ASSERT_EQ(0, cv_tree_ttl_candidates(t, 100000, collect_cb, &got));
    std::sort(got.begin(), got.end());
    EXPECT_EQ((std::vector<std::string>{"/t1", "/t2"}), got);
    ASSERT_EQ(0, del("/t1", 30));
    EXPECT_EQ(3u, cv_tree_ttl_count(t));
}

// ---- ACL cache ------------------------------------------------------------------------

TEST_F(Tree, AclInternGivesIdenticalListsOneIdAndCopiesTheBytes)
{
    std::string scheme = "digest", id = "user:hash";
    cv_acl a[2] = {{31, {jb(scheme), jb(id)}}, {1, {jb("world"), jb("anyone")}}};
    uint32_t x, y, z, w;
    ASSERT_EQ(0, cv_tree_acl_intern(t, a, 2, &x));
    scheme[0] = 'X'; // the caller's buffer is reused
    id[0] = 'Y';
    EXPECT_EQ((std::vector<Acl>{{31, "digest", "user:hash"}, {1, "world", "anyone"}}),
              acl_list(t, x));
    cv_acl b[2] = {{31, {jb("digest"), jb("user:hash")}}, {1, {jb("world"), jb("anyone")}}};
    ASSERT_EQ(0, cv_tree_acl_intern(t, b, 2, &y));
    EXPECT_EQ(x, y);
    EXPECT_EQ(2u, cv_tree_acl_refs(t, x));
    cv_acl c[2] = {b[1], b[0]}; // order matters, as in ZooKeeper's cache
    ASSERT_EQ(0, cv_tree_acl_intern(t, c, 2, &z));
    EXPECT_NE(x, z);
    cv_acl d[1] = {{1, {jb("world"), jb("anyone")}}}; // equals READ_ACL_UNSAFE
    ASSERT_EQ(0, cv_tree_acl_intern(t, d, 1, &w));
    EXPECT_EQ(cv_tree_acl_read_only(t), w);
    EXPECT_EQ(4u, cv_tree_acl_count(t));
    for (uint32_t i : {x, y, z, w})
        EXPECT_EQ(0, cv_tree_acl_release(t, i));
    EXPECT_EQ(2u, cv_tree_acl_count(t)) << "unused lists are freed";
    EXPECT_EQ(-EINVAL, cv_tree_acl_release(t, x));
    std::vector<Acl> none;
    EXPECT_EQ(none, acl_list(t, x));
}

TEST_F(Tree, AclNullAndEmptyStringsAreDifferentLists)
{
    cv_acl n = {1, {{nullptr, -1}, {nullptr, -1}}};
    cv_acl e = {1, {{(const uint8_t *)"", 0}, {(const uint8_t *)"", 0}}};
    uint32_t a, b, c;
    ASSERT_EQ(0, cv_tree_acl_intern(t, &n, 1, &a));
    ASSERT_EQ(0, cv_tree_acl_intern(t, &e, 1, &b));
    ASSERT_EQ(0, cv_tree_acl_intern(t, nullptr, 0, &c));
    EXPECT_NE(a, b);
    EXPECT_NE(a, c);
    const cv_acl *l;
    int32_t cnt;
    ASSERT_EQ(0, cv_tree_acl_get(t, a, &l, &cnt));
    ASSERT_EQ(1, cnt);
    EXPECT_EQ(-1, l[0].id.scheme.len);
    ASSERT_EQ(0, cv_tree_acl_get(t, c, &l, &cnt));
    EXPECT_EQ(0, cnt);
    cv_acl bad = {1, {{nullptr, 3}, {nullptr, -1}}};
    uint32_t d;
    EXPECT_EQ(-EINVAL, cv_tree_acl_intern(t, &bad, 1, &d));
    bad.id.scheme.len = -2;
    EXPECT_EQ(-EINVAL, cv_tree_acl_intern(t, &bad, 1, &d));
    EXPECT_EQ(-EINVAL, cv_tree_acl_intern(t, &n, -1, &d));
    for (uint32_t i : {a, b, c})
        cv_tree_acl_release(t, i);
}

TEST_F(Tree, AclRefcountsFollowCreateSetAclAndDelete)
{
    uint32_t id = intern(t, {{31, "auth", ""}});
    ASSERT_EQ(0, create("/a", "", 10, 0, -1, 1, nullptr, id));
    ASSERT_EQ(0, create("/b", "", 11, 0, -1, 1, nullptr, id));
    ASSERT_EQ(0, cv_tree_acl_release(t, id)); // the caller is done
    EXPECT_EQ(2u, cv_tree_acl_refs(t, id));
    ASSERT_EQ(0, cv_tree_set_acl(t, "/a", 2, open, 1, nullptr));
    EXPECT_EQ(1u, cv_tree_acl_refs(t, id));
    ASSERT_EQ(0, cv_tree_set_acl(t, "/b", 2, id, 2, nullptr)); // same id again
    EXPECT_EQ(1u, cv_tree_acl_refs(t, id));
    ASSERT_EQ(0, del("/b", 20));
    EXPECT_EQ(0u, cv_tree_acl_refs(t, id));
    EXPECT_EQ(2u, cv_tree_acl_count(t));
    // the id is reused for the next new list
    uint32_t id2 = intern(t, {{3, "sasl", "bob"}});
    EXPECT_EQ(id, id2);
    cv_tree_acl_release(t, id2);
}

// ---- digest ----------------------------------------------------------------------------

TEST(TreeDigest, EqualForTheSameContentReachedInDifferentOrders)
{
    cv_tree *a = cv_tree_new(), *b = cv_tree_new();
    uint32_t oa = cv_tree_acl_open(a);
    uint32_t xa = intern(a, {{7, "digest", "x:y"}});
    // b interns other lists first, so its ids differ
    uint32_t junk = intern(b, {{1, "ip", "1.2.3.4"}});
    uint32_t xb = intern(b, {{7, "digest", "x:y"}});
    uint32_t ob = cv_tree_acl_open(b);
    EXPECT_NE(xa, xb);

    // a: /x, /x/a, /x/b, set /x/a, acl /x/b
    ASSERT_EQ(0, cv_tree_create(a, "/x", 2, "r", 1, oa, 0, 5, 50, -1, nullptr));
    ASSERT_EQ(0, cv_tree_create(a, "/x/a", 4, "1", 1, oa, 0, 10, 100, 1, nullptr));
    ASSERT_EQ(0, cv_tree_create(a, "/x/b", 4, "2", 1, oa, 0x99, 11, 110, 2, nullptr));
    ASSERT_EQ(0, cv_tree_set_data(a, "/x/a", 4, "one", 3, 1, 12, 120, nullptr));
    ASSERT_EQ(0, cv_tree_set_acl(a, "/x/b", 4, xa, 1, nullptr));
    // b: same final state, other order, plus a node that comes and goes
    ASSERT_EQ(0, cv_tree_create(b, "/x", 2, "r", 1, ob, 0, 5, 50, -1, nullptr));
    ASSERT_EQ(0, cv_tree_create(b, "/x/b", 4, "2", 1, xb, 0x99, 11, 110, 2, nullptr));
    ASSERT_EQ(0, cv_tree_create(b, "/x/tmp", 6, "t", 1, ob, 0, 9, 90, 0, nullptr));
    ASSERT_EQ(0, cv_tree_create(b, "/x/a", 4, "1", 1, ob, 0, 10, 100, 1, nullptr));
    ASSERT_EQ(0, cv_tree_set_acl(b, "/x/b", 4, xb, 1, nullptr));
    ASSERT_EQ(0, cv_tree_set_data(b, "/x/a", 4, "one", 3, 1, 12, 120, nullptr));
    ASSERT_EQ(0, cv_tree_delete(b, "/x/tmp", 6, 8));
    cv_tree_acl_release(b, junk);

    EXPECT_EQ(cv_tree_digest(a), cv_tree_digest(b));
    EXPECT_EQ(cv_tree_digest_recompute(a), cv_tree_digest(a));
    EXPECT_EQ(0, cv_tree_check(a));
    EXPECT_EQ(0, cv_tree_check(b));
    // one node's term: the digest without it agrees however that node differs
    EXPECT_EQ(0u, cv_tree_node_digest(a, "/nope", 5));
    ASSERT_EQ(0, cv_tree_set_data(a, "/x", 2, "r", 1, -1, 0, 777, nullptr));
    ASSERT_EQ(0, cv_tree_set_data(b, "/x", 2, "r", 1, -1, 0, 888, nullptr));
    EXPECT_NE(cv_tree_digest(a), cv_tree_digest(b));
    EXPECT_EQ(cv_tree_digest(a) - cv_tree_node_digest(a, "/x", 2),
              cv_tree_digest(b) - cv_tree_node_digest(b, "/x", 2));
    cv_tree_acl_release(a, xa);
    cv_tree_acl_release(b, xb);
    cv_tree_free(a);
    cv_tree_free(b);
}

TEST(TreeDigest, ChangesOnAnySingleFieldAndComesBackWhenUndone)
{
    auto base = []() {
        cv_tree *t = cv_tree_new();
        uint32_t o = cv_tree_acl_open(t);
        EXPECT_EQ(0, cv_tree_create(t, "/a", 2, "data", 4, o, 0, 10, 100, -1, nullptr));
        EXPECT_EQ(0, cv_tree_create(t, "/a/b", 4, "", 0, o, 0, 11, 101, -1, nullptr));
        return t;
    };
    cv_tree *t0 = base();
    const uint64_t d0 = cv_tree_digest(t0);
    struct Variant {
        const char *what;
        std::function<void(cv_tree *)> f;
    };
    std::vector<Variant> vs = {
        {"data byte",
         [](cv_tree *t) { cv_tree_set_data(t, "/a", 2, "dbta", 4, 0, 10, 100, nullptr); }},
        {"null data",
         [](cv_tree *t) { cv_tree_set_data(t, "/a/b", 4, nullptr, -1, 0, 11, 101, nullptr); }},
        {"version",
         [](cv_tree *t) { cv_tree_set_data(t, "/a", 2, "data", 4, 1, 10, 100, nullptr); }},
        {"mzxid", [](cv_tree *t) { cv_tree_set_data(t, "/a", 2, "data", 4, 0, 12, 100, nullptr); }},
        {"mtime", [](cv_tree *t) { cv_tree_set_data(t, "/a", 2, "data", 4, 0, 10, 102, nullptr); }},
        {"aversion",
         [](cv_tree *t) { cv_tree_set_acl(t, "/a", 2, cv_tree_acl_open(t), 1, nullptr); }},
        {"acl",
         [](cv_tree *t) { cv_tree_set_acl(t, "/a", 2, cv_tree_acl_read_only(t), 0, nullptr); }},
        {"pzxid",
         [](cv_tree *t) {
             cv_tree_create(t, "/a/c", 4, "", 0, cv_tree_acl_open(t), 0, 5, 1, 0, nullptr);
             cv_tree_delete(t, "/a/c", 4, 20);
             cv_tree_create(t, "/a/c", 4, "", 0, cv_tree_acl_open(t), 0, 5, 1, 0, nullptr);
             cv_tree_delete(t, "/a/c", 4, 1);
         }},
        {"cversion",
         [](cv_tree *t) {
             cv_tree_create(t, "/a/c", 4, "", 0, cv_tree_acl_open(t), 0, 11, 1, 2, nullptr);
             cv_tree_delete(t, "/a/c", 4, 1);
         }},
        {"extra node",
         [](cv_tree *t) {
             cv_tree_create(t, "/a/c", 4, "", 0, cv_tree_acl_open(t), 0, 5, 1, 0, nullptr);
         }},
        {"owner",
         [](cv_tree *t) {
             cv_tree_delete(t, "/a/b", 4, 1);
             cv_tree_create(t, "/a/b", 4, "", 0, cv_tree_acl_open(t), 0x42, 11, 101, 0, nullptr);
         }},
        {"name",
         [](cv_tree *t) {
             cv_tree_delete(t, "/a/b", 4, 1);
             cv_tree_create(t, "/a/x", 4, "", 0, cv_tree_acl_open(t), 0, 11, 101, 0, nullptr);
         }},
    };
    for (auto &v : vs) {
        cv_tree *t = base();
        v.f(t);
        EXPECT_NE(d0, cv_tree_digest(t)) << v.what;
        EXPECT_EQ(cv_tree_digest_recompute(t), cv_tree_digest(t)) << v.what;
        EXPECT_EQ(0, cv_tree_check(t)) << v.what;
        cv_tree_free(t);
    }
    // undoing a change restores the digest
    cv_tree *t = base();
    cv_tree_set_data(t, "/a", 2, "other", 5, 3, 30, 300, nullptr);
    cv_tree_set_data(t, "/a", 2, "data", 4, 0, 10, 100, nullptr);
    EXPECT_EQ(d0, cv_tree_digest(t));
    cv_tree_free(t);
    cv_tree_free(t0);
}

// ---- accounting -------------------------------------------------------------------------

TEST_F(Tree, AccountingTracksNodesDataAndMemory)
{
    size_t m0 = cv_tree_memory_bytes(t);
    EXPECT_GT(m0, 0u);
    ASSERT_EQ(0, create("/d"));
    const int n = 10000;
    for (int i = 0; i < n; i++)
        ASSERT_EQ(0, create("/d/n" + std::to_string(i), std::string(100, 'x'), 10 + i));
    EXPECT_EQ(n + 5u, cv_tree_node_count(t));
    EXPECT_EQ(n * 100u, cv_tree_data_bytes(t));
    size_t m1 = cv_tree_memory_bytes(t);
    // the first arena chunk (256 KiB) was already counted in m0
    EXPECT_GT(m1 + 256 * 1024, m0 + n * 100);
    EXPECT_LT(m1, m0 + n * 250) << "compact nodes";
    for (int i = 0; i < n; i++)
        ASSERT_EQ(0, del("/d/n" + std::to_string(i), 5000 + i));
    EXPECT_EQ(0u, cv_tree_data_bytes(t));
    // recreating reuses freed records: no growth
    size_t m2 = cv_tree_memory_bytes(t);
    for (int i = 0; i < n; i++)
        ASSERT_EQ(0, create("/d/n" + std::to_string(i), std::string(100, 'y'), 90000 + i));
    EXPECT_EQ(m2, cv_tree_memory_bytes(t));
}

TEST_F(Tree, ReservePresizesTablesSoCreatesDoNotGrowThem)
{
    ASSERT_EQ(0, cv_tree_reserve(t, 5000));
    ASSERT_EQ(0, create("/d"));
    ASSERT_EQ(0, create("/d/n0", std::string(40, 'x'), 10));
    size_t m = cv_tree_memory_bytes(t);
    for (int i = 1; i < 4000; i++)
        ASSERT_EQ(0, create("/d/n" + std::to_string(i), std::string(40, 'x'), 10 + i));
    // only arena chunks were added (256 KiB each), no table growth
    EXPECT_EQ(0u, (cv_tree_memory_bytes(t) - m) % (256 * 1024));
    EXPECT_EQ(0, cv_tree_reserve(t, 10)) << "shrinking is a no-op";
    EXPECT_EQ(-ENOMEM, cv_tree_reserve(t, 1ULL << 40));
}

TEST_F(Tree, DeepPathsWork)
{
    std::string p;
    for (int i = 0; i < 300; i++) {
        p += "/d" + std::to_string(i);
        ASSERT_EQ(0, create(p, "", 10 + i));
    }
    EXPECT_NE(nullptr, look(t, p));
    std::vector<char> buf(p.size());
    EXPECT_EQ(p.size(), cv_tree_path(t, look(t, p), buf.data(), buf.size()));
    EXPECT_EQ(p, std::string(buf.data(), buf.size()));
    EXPECT_EQ(299u, cv_tree_count_descendants(t, look(t, "/d0")));
}

TEST_F(Tree, ManyTreesLiveSideBySide)
{
    cv_tree *u = cv_tree_new();
    ASSERT_EQ(0, create("/only-in-t"));
    EXPECT_EQ(nullptr, cv_tree_lookup(u, "/only-in-t", 10));
    EXPECT_NE(cv_tree_digest(t), cv_tree_digest(u));
    cv_tree *v = cv_tree_new();
    EXPECT_EQ(cv_tree_digest(u), cv_tree_digest(v));
    cv_tree_free(u);
    cv_tree_free(v);
}

} // namespace
