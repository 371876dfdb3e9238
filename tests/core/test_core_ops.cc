// cv_core: every opcode's success and error paths, every node type and Stat
// field, as ZooKeeper 3.8's PrepRequestProcessor / DataTree /
// FinalRequestProcessor define them.
#include "core_harness.h"

using namespace cvt;

class CoreOps : public ::testing::Test
{
  protected:
    Core k;
    int64_t s = 0;
    void SetUp() override { s = k.connect(); }
};

TEST_F(CoreOps, NewSessionIsCreatedOnlyWhenItsTransactionApplies)
{
    Bytes out(256);
    size_t len;
    int64_t id;
    int32_t to;
    ASSERT_EQ(
        cv_core_prepare_create_session(k.c(), 30000, k.now, &id, &to, out.data(), out.size(), &len),
        0);
    EXPECT_EQ(to, 20000); // clamped to 20 x tickTime
    EXPECT_FALSE(cv_sess_is_live(cv_core_sessions(k.c()), id));
    // Its requests are held, never prepared, until then.
    Bytes txn;
    EXPECT_EQ(k.prepare(id, k.create("/held", ""), &txn), CV_CORE_HOLD);
    EXPECT_EQ(cv_core_last_prepared(k.c()), cv_core_last_applied(k.c()) + 1);
    out.resize(len);
    k.apply(out);
    EXPECT_TRUE(cv_sess_is_live(cv_core_sessions(k.c()), id));
    EXPECT_EQ(k.created.back(), id);
    EXPECT_EQ(k.write(id, k.create("/held", ""), CV_OP_CREATE).err(), 0);
}

TEST_F(CoreOps, CreateReturnsPathAndSetsEveryStatField)
{
    k.now = 1700000001000;
    Reply r = k.write(s, k.create("/a", "hello", 0, CV_OP_CREATE2), CV_OP_CREATE2);
    ASSERT_EQ(r.err(), 0);
    EXPECT_EQ(str(r.r.u.create.path), "/a");
    const cv_stat &st = r.r.u.create.stat;
    int64_t z = cv_core_last_applied(k.c());
    EXPECT_EQ(st.czxid, z);
    EXPECT_EQ(st.mzxid, z);
    EXPECT_EQ(st.pzxid, z);
    EXPECT_EQ(st.ctime, 1700000001000);
    EXPECT_EQ(st.mtime, 1700000001000);
    EXPECT_EQ(st.version, 0);
    EXPECT_EQ(st.cversion, 0);
    EXPECT_EQ(st.aversion, 0);
    EXPECT_EQ(st.ephemeral_owner, 0);
    EXPECT_EQ(st.data_length, 5);
    EXPECT_EQ(st.num_children, 0);
    Reply g = k.read(s, k.get("/a"));
    EXPECT_EQ(str(g.r.u.get_data.data), "hello");
}

TEST_F(CoreOps, ChildCreateAndDeleteMoveParentCversionAndPzxid)
{
    k.write(s, k.create("/p", ""), CV_OP_CREATE);
    k.write(s, k.create("/p/a", ""), CV_OP_CREATE);
    cv_stat p1 = k.stat(s, "/p");
    EXPECT_EQ(p1.cversion, 1);
    EXPECT_EQ(p1.num_children, 1);
    EXPECT_EQ(p1.pzxid, cv_core_last_applied(k.c()));
    k.write(s, k.del("/p/a"), CV_OP_DELETE);
    cv_stat p2 = k.stat(s, "/p");
    EXPECT_EQ(p2.cversion, 2); // as the real server shows it
    EXPECT_EQ(p2.num_children, 0);
    EXPECT_EQ(p2.pzxid, cv_core_last_applied(k.c()));
    EXPECT_EQ(p2.mzxid, p1.mzxid);
}

TEST_F(CoreOps, SequentialNamesComeFromTheParentCversion)
{
    k.write(s, k.create("/q", ""), CV_OP_CREATE);
    Reply a = k.write(s, k.create("/q/n-", "", 2), CV_OP_CREATE);
    Reply b = k.write(s, k.create("/q/n-", "", 2), CV_OP_CREATE);
    EXPECT_EQ(str(a.r.u.create.path), "/q/n-0000000000");
    EXPECT_EQ(str(b.r.u.create.path), "/q/n-0000000001");
    k.write(s, k.del("/q/n-0000000000"), CV_OP_DELETE);
    Reply c = k.write(s, k.create("/q/n-", "", 2), CV_OP_CREATE);
    EXPECT_EQ(str(c.r.u.create.path), "/q/n-0000000002");
    // A trailing slash is a legal sequential prefix.
    Reply d = k.write(s, k.create("/q/", "", 2), CV_OP_CREATE);
    EXPECT_EQ(str(d.r.u.create.path), "/q/0000000003");
}

TEST_F(CoreOps, SequentialNamesAccountForOutstandingCreates)
{
    k.write(s, k.create("/q", ""), CV_OP_CREATE);
    Bytes t1, t2;
    ASSERT_EQ(k.prepare(s, k.create("/q/x", "", 2), &t1), 0);
    ASSERT_EQ(k.prepare(s, k.create("/q/x", "", 2), &t2), 0); // before t1 applies
    k.apply(t1);
    k.apply(t2);
    Reply r = k.read(s, k.get("/q", false, CV_OP_GET_CHILDREN));
    ASSERT_EQ(r.r.u.children.children.count, 2);
    EXPECT_EQ(k.stat(s, "/q/x0000000001").version, 0);
}

TEST_F(CoreOps, CreateErrors)
{
    k.write(s, k.create("/e", ""), CV_OP_CREATE);
    EXPECT_EQ(k.write(s, k.create("/e", ""), CV_OP_CREATE).err(), CV_ZNODEEXISTS);
    EXPECT_EQ(k.write(s, k.create("/nope/x", ""), CV_OP_CREATE).err(), CV_ZNONODE);
    EXPECT_EQ(k.write(s, k.create("/e/", ""), CV_OP_CREATE).err(), CV_ZBADARGUMENTS);
    EXPECT_EQ(k.write(s, k.create("/e//x", ""), CV_OP_CREATE).err(), CV_ZNONODE);
    EXPECT_EQ(k.write(s, k.create("/e/./x", ""), CV_OP_CREATE).err(), CV_ZNONODE);
    EXPECT_EQ(k.write(s, k.create("/e/.", ""), CV_OP_CREATE).err(), CV_ZBADARGUMENTS);
    EXPECT_EQ(k.write(s, k.create("no-slash", ""), CV_OP_CREATE).err(), CV_ZBADARGUMENTS);
    EXPECT_EQ(k.write(s, k.create("/e/\x01", ""), CV_OP_CREATE).err(), CV_ZBADARGUMENTS);
    EXPECT_EQ(k.write(s, k.create("/", ""), CV_OP_CREATE).err(), CV_ZNODEEXISTS);
    EXPECT_EQ(k.write(s, k.create("/e/x", "", 9), CV_OP_CREATE).err(), CV_ZBADARGUMENTS);
    EXPECT_EQ(k.write(s, k.create("/e/x", "", 0, CV_OP_CREATE, {}), CV_OP_CREATE).err(),
              CV_ZINVALIDACL);
    EXPECT_EQ(
        k.write(s, k.create("/e/x", "", 0, CV_OP_CREATE, {{31, "bogus", "x"}}), CV_OP_CREATE).err(),
        CV_ZINVALIDACL);
    // Ephemerals may not have children.
    k.write(s, k.create("/eph", "", 1), CV_OP_CREATE);
    EXPECT_EQ(k.write(s, k.create("/eph/c", ""), CV_OP_CREATE).err(), CV_ZNOCHILDRENFOREPHEMERALS);
    // Failed writes consume a zxid, as in ZooKeeper.
    int64_t before = cv_core_last_applied(k.c());
    k.write(s, k.create("/e", ""), CV_OP_CREATE);
    EXPECT_EQ(cv_core_last_applied(k.c()), before + 1);
}

TEST_F(CoreOps, EphemeralsBelongToTheirSessionAndGoWithIt)
{
    int64_t s2 = k.connect();
    Reply r = k.write(s2, k.create("/eph", "x", 1, CV_OP_CREATE2), CV_OP_CREATE2);
    EXPECT_EQ(r.r.u.create.stat.ephemeral_owner, s2);
    Reply e = k.read(s2, k.path_req(CV_OP_GET_EPHEMERALS, "/"));
    ASSERT_EQ(e.r.u.children.children.count, 1);
    k.close(s2);
    EXPECT_EQ(k.read(s, k.get("/eph", false, CV_OP_EXISTS)).err(), CV_ZNONODE);
    EXPECT_EQ(k.closed.back(), s2);
    EXPECT_FALSE(cv_sess_is_live(cv_core_sessions(k.c()), s2));
    // A closed session's requests are refused.
    EXPECT_EQ(k.read(s2, k.get("/")).err(), CV_ZSESSIONEXPIRED);
}

TEST_F(CoreOps, ContainerAndTtlNodesEncodeTheirOwner)
{
    Reply c = k.write(s, k.create("/c", "", 4, CV_OP_CREATE_CONTAINER), CV_OP_CREATE_CONTAINER);
    ASSERT_EQ(c.err(), 0);
    EXPECT_EQ(c.r.u.create.stat.ephemeral_owner, 0); // reported as 0, as ZooKeeper
    Reply t =
        k.write(s, k.create("/t", "", 5, CV_OP_CREATE_TTL, open_acl(), 5000), CV_OP_CREATE_TTL);
    ASSERT_EQ(t.err(), 0);
    EXPECT_EQ(cv_tree_ttl_count(cv_core_tree(k.c())), 1u);
    EXPECT_EQ(cv_tree_container_count(cv_core_tree(k.c())), 1u);
    // TTL out of range, TTL on a non-TTL mode.
    EXPECT_EQ(
        k.write(s, k.create("/t2", "", 5, CV_OP_CREATE_TTL, open_acl(), 0), CV_OP_CREATE_TTL).err(),
        CV_ZBADARGUMENTS);
    EXPECT_EQ(k.write(s, k.create("/t2", "", 0, CV_OP_CREATE_TTL, open_acl(), 10), CV_OP_CREATE_TTL)
                  .err(),
              CV_ZBADARGUMENTS);
}

TEST(CoreOpsNoExtended, TtlNodesNeedExtendedTypes)
{
    Core k(1000, false);
    int64_t s = k.connect();
    EXPECT_EQ(
        k.write(s, k.create("/t", "", 5, CV_OP_CREATE_TTL, open_acl(), 5000), CV_OP_CREATE_TTL)
            .err(),
        CV_ZUNIMPLEMENTED);
}

TEST_F(CoreOps, HousekeepingDeletesEmptiedContainersAndExpiredTtlNodes)
{
    k.write(s, k.create("/c", "", 4, CV_OP_CREATE_CONTAINER), CV_OP_CREATE_CONTAINER);
    Bytes out(4096);
    size_t len;
    // A container that never had a child stays.
    EXPECT_EQ(cv_core_prepare_housekeeping(k.c(), k.now, out.data(), out.size(), &len), -ENOENT);
    k.write(s, k.create("/c/x", ""), CV_OP_CREATE);
    k.write(s, k.del("/c/x"), CV_OP_DELETE);
    ASSERT_EQ(cv_core_prepare_housekeeping(k.c(), k.now, out.data(), out.size(), &len), 0);
    out.resize(len);
    k.apply(out);
    EXPECT_EQ(k.read(s, k.get("/c", false, CV_OP_EXISTS)).err(), CV_ZNONODE);

    k.write(s, k.create("/t", "", 5, CV_OP_CREATE_TTL, open_acl(), 5000), CV_OP_CREATE_TTL);
    Bytes o2(4096);
    EXPECT_EQ(cv_core_prepare_housekeeping(k.c(), k.now + 4000, o2.data(), o2.size(), &len),
              -ENOENT);
    ASSERT_EQ(cv_core_prepare_housekeeping(k.c(), k.now + 6000, o2.data(), o2.size(), &len), 0);
    o2.resize(len);
    k.apply(o2);
    EXPECT_EQ(k.read(s, k.get("/t", false, CV_OP_EXISTS)).err(), CV_ZNONODE);
}

TEST_F(CoreOps, SetDataChecksVersionAndUpdatesStat)
{
    k.write(s, k.create("/v", "0"), CV_OP_CREATE);
    k.now += 500;
    Reply r = k.write(s, k.set("/v", "1", 0), CV_OP_SET_DATA);
    ASSERT_EQ(r.err(), 0);
    EXPECT_EQ(r.r.u.stat.stat.version, 1);
    EXPECT_EQ(r.r.u.stat.stat.mtime, k.now);
    EXPECT_EQ(r.r.u.stat.stat.mzxid, cv_core_last_applied(k.c()));
    EXPECT_LT(r.r.u.stat.stat.czxid, r.r.u.stat.stat.mzxid);
    EXPECT_EQ(k.write(s, k.set("/v", "2", 0), CV_OP_SET_DATA).err(), CV_ZBADVERSION);
    EXPECT_EQ(k.write(s, k.set("/v", "2", -1), CV_OP_SET_DATA).r.u.stat.stat.version, 2);
    EXPECT_EQ(k.write(s, k.set("/none", "2"), CV_OP_SET_DATA).err(), CV_ZNONODE);
    EXPECT_EQ(k.write(s, k.set("/v/", "2"), CV_OP_SET_DATA).err(), CV_ZBADARGUMENTS);
}

TEST_F(CoreOps, DeleteErrors)
{
    k.write(s, k.create("/d", ""), CV_OP_CREATE);
    k.write(s, k.create("/d/c", ""), CV_OP_CREATE);
    EXPECT_EQ(k.write(s, k.del("/d"), CV_OP_DELETE).err(), CV_ZNOTEMPTY);
    EXPECT_EQ(k.write(s, k.del("/d/c", 5), CV_OP_DELETE).err(), CV_ZBADVERSION);
    EXPECT_EQ(k.write(s, k.del("/d/none"), CV_OP_DELETE).err(), CV_ZNONODE);
    EXPECT_EQ(k.write(s, k.del("/"), CV_OP_DELETE).err(), CV_ZBADARGUMENTS);
    EXPECT_EQ(k.write(s, k.del("/zookeeper"), CV_OP_DELETE).err(), CV_ZBADARGUMENTS);
    EXPECT_EQ(k.write(s, k.del("/d/c", 0), CV_OP_DELETE).err(), 0);
    EXPECT_EQ(k.write(s, k.del("/d"), CV_OP_DELETE).err(), 0);
}

TEST_F(CoreOps, AclsAreEnforcedPerOperation)
{
    cv_acl_auth alice, other;
    cv_acl_auth_init(&alice);
    cv_acl_auth_init(&other);
    ASSERT_EQ(cv_acl_authenticate(&alice, cv_jstr("digest"), cv_jstr("alice:pw1")), 0);
    // auth scheme expands to the creator's digest id.
    Reply c = k.write(s, k.create("/sec", "secret", 0, CV_OP_CREATE, {{31, "auth", ""}}),
                      CV_OP_CREATE, &alice);
    ASSERT_EQ(c.err(), 0);
    cv_request ga = k.path_req(CV_OP_GET_ACL, "/sec");
    Reply acl = k.read(s, ga, &alice);
    ASSERT_EQ(acl.r.u.get_acl.acl.count, 1);
    cv_jvec_iter it;
    cv_acl a;
    cv_jvec_iter_init(&it, &acl.r.u.get_acl.acl, &cv_rec_acl);
    ASSERT_TRUE(cv_jvec_next(&it, &a));
    EXPECT_EQ(str(a.id.id), "alice:0H3LR71td7bmv+FwKgVasiS36rc=");
    // Everyone else: NOAUTH for reads and writes.
    EXPECT_EQ(k.read(s, k.get("/sec"), &other).err(), CV_ZNOAUTH);
    // exists checks no ACL in ZooKeeper 3.8.0 (the real server answers it).
    EXPECT_EQ(k.read(s, k.get("/sec", false, CV_OP_EXISTS), &other).err(), 0);
    EXPECT_EQ(k.write(s, k.set("/sec", "x"), CV_OP_SET_DATA, &other).err(), CV_ZNOAUTH);
    EXPECT_EQ(k.write(s, k.create("/sec/c", ""), CV_OP_CREATE, &other).err(), CV_ZNOAUTH);
    EXPECT_EQ(k.read(s, ga, &other).err(), CV_ZNOAUTH);
    EXPECT_EQ(k.read(s, k.get("/sec"), &alice).err(), 0);
    // Read-only ACL: getACL works but digest ids are masked without ADMIN.
    k.write(
        s,
        k.create("/ro", "", 0, CV_OP_CREATE,
                 {{1, "world", "anyone"}, {31, "digest", "alice:0H3LR71td7bmv+FwKgVasiS36rc="}}),
        CV_OP_CREATE, &alice);
    Reply masked = k.read(s, k.path_req(CV_OP_GET_ACL, "/ro"), &other);
    ASSERT_EQ(masked.err(), 0);
    cv_jvec_iter_init(&it, &masked.r.u.get_acl.acl, &cv_rec_acl);
    cv_jvec_next(&it, &a);
    ASSERT_TRUE(cv_jvec_next(&it, &a));
    EXPECT_EQ(str(a.id.id), "alice:x");
    EXPECT_EQ(k.write(s, k.set("/ro", "x"), CV_OP_SET_DATA, &other).err(), CV_ZNOAUTH);
}

TEST_F(CoreOps, SetAclChecksAversionAndAdmin)
{
    k.write(s, k.create("/a", ""), CV_OP_CREATE);
    cv_request r = k.req(CV_OP_SET_ACL);
    r.u.set_acl = {jb(k.keep("/a")), k.acl_vec({{1, "world", "anyone"}}), 0};
    Reply ok = k.write(s, k.wire(r), CV_OP_SET_ACL);
    ASSERT_EQ(ok.err(), 0);
    EXPECT_EQ(ok.r.u.stat.stat.aversion, 1);
    cv_request again = k.req(CV_OP_SET_ACL);
    again.u.set_acl = {jb(k.keep("/a")), k.acl_vec(open_acl()), 0};
    EXPECT_EQ(k.write(s, k.wire(again), CV_OP_SET_ACL).err(), CV_ZNOAUTH); // no ADMIN now
}

TEST(CoreSuper, SuperDigestPassesEveryCheck)
{
    Core k(1000, true, [](cv_core_config &cfg) {
        cfg.super_digest = "super:lK75jTNcA+U9vtVEw5vB51mj/w4="; // super:secret
    });
    int64_t s = k.connect();
    cv_acl_auth alice, root;
    cv_acl_auth_init(&alice);
    cv_acl_auth_init(&root);
    cv_acl_authenticate(&alice, cv_jstr("digest"), cv_jstr("alice:pw1"));
    cv_acl_authenticate(&root, cv_jstr("digest"), cv_jstr("super:secret"));
    ASSERT_EQ(
        k.write(s, k.create("/p", "x", 0, CV_OP_CREATE, {{31, "auth", ""}}), CV_OP_CREATE, &alice)
            .err(),
        0);
    EXPECT_EQ(k.read(s, k.get("/p"), &root).err(), 0);
    EXPECT_EQ(k.write(s, k.set("/p", "y"), CV_OP_SET_DATA, &root).err(), 0);
    cv_acl_auth nobody;
    cv_acl_auth_init(&nobody);
    EXPECT_EQ(k.read(s, k.get("/p"), &nobody).err(), CV_ZNOAUTH);
}

TEST_F(CoreOps, MultiIsAllOrNothingWithZooKeeperErrorReporting)
{
    k.write(s, k.create("/m", ""), CV_OP_CREATE);
    cv_multi_op ops[3];
    memset(ops, 0, sizeof ops);
    ops[0].hdr = {CV_OP_CREATE, 0, -1};
    ops[0].u.create = {jb(k.keep("/m/a")), jb(k.keep("x")), k.acl_vec(open_acl()), 0, 0};
    ops[1].hdr = {CV_OP_CHECK, 0, -1};
    ops[1].u.path_version = {jb(k.keep("/m")), 7}; // wrong version
    ops[2].hdr = {CV_OP_SET_DATA, 0, -1};
    ops[2].u.set_data = {jb(k.keep("/m/a")), jb(k.keep("y")), -1};
    cv_request r = k.req(CV_OP_MULTI);
    r.u.multi = {3, 0, nullptr, ops, cv_multi_end()};
    Reply rep = k.write(s, k.wire(r), CV_OP_MULTI);
    EXPECT_EQ(rep.err(), 0); // failures travel in the results
    cv_multi_iter it;
    cv_multi_result res;
    cv_multi_iter_init(&it, &rep.r.u.multi);
    int32_t errs[3];
    for (int i = 0; i < 3; i++) {
        ASSERT_TRUE(cv_multi_next_result(&it, &res));
        EXPECT_EQ(res.hdr.type, CV_OP_ERROR);
        errs[i] = res.u.error.value;
    }
    EXPECT_EQ(errs[0], 0);
    EXPECT_EQ(errs[1], CV_ZBADVERSION);
    EXPECT_EQ(errs[2], CV_ZRUNTIMEINCONSISTENCY);
    EXPECT_EQ(k.read(s, k.get("/m/a", false, CV_OP_EXISTS)).err(), CV_ZNONODE);

    // The same with the right version: every op applies, later ops see earlier ones.
    ops[1].u.path_version.version = 0;
    cv_request ok = k.req(CV_OP_MULTI);
    ok.u.multi = {3, 0, nullptr, ops, cv_multi_end()};
    Reply good = k.write(s, k.wire(ok), CV_OP_MULTI);
    cv_multi_iter_init(&it, &good.r.u.multi);
    ASSERT_TRUE(cv_multi_next_result(&it, &res));
    EXPECT_EQ(res.hdr.type, CV_OP_CREATE);
    EXPECT_EQ(str(res.u.create.path), "/m/a");
    ASSERT_TRUE(cv_multi_next_result(&it, &res));
    EXPECT_EQ(res.hdr.type, CV_OP_CHECK);
    ASSERT_TRUE(cv_multi_next_result(&it, &res));
    EXPECT_EQ(res.hdr.type, CV_OP_SET_DATA);
    EXPECT_EQ(res.u.set_data.stat.version, 1);
    EXPECT_EQ(str(k.read(s, k.get("/m/a")).r.u.get_data.data), "y");
}

TEST_F(CoreOps, FailedMultiLeavesLaterPreparesUnaffected)
{
    k.write(s, k.create("/f", ""), CV_OP_CREATE);
    cv_multi_op ops[2];
    memset(ops, 0, sizeof ops);
    ops[0].hdr = {CV_OP_CREATE, 0, -1};
    ops[0].u.create = {jb(k.keep("/f/x")), jb(k.keep("")), k.acl_vec(open_acl()), 2, 0};
    ops[1].hdr = {CV_OP_DELETE, 0, -1};
    ops[1].u.path_version = {jb(k.keep("/nope")), -1};
    cv_request r = k.req(CV_OP_MULTI);
    r.u.multi = {2, 0, nullptr, ops, cv_multi_end()};
    Bytes t1, t2;
    ASSERT_EQ(k.prepare(s, k.wire(r), &t1), 0);
    // The rolled-back sequential create must not have advanced the parent.
    ASSERT_EQ(k.prepare(s, k.create("/f/x", "", 2), &t2), 0);
    k.apply(t1);
    k.apply(t2);
    EXPECT_EQ(k.stat(s, "/f/x0000000000").version, 0);
}

TEST_F(CoreOps, MultiReadAnswersEachOpIndependently)
{
    k.write(s, k.create("/r", "d"), CV_OP_CREATE);
    cv_multi_op ops[2];
    memset(ops, 0, sizeof ops);
    ops[0].hdr = {CV_OP_GET_DATA, 0, -1};
    ops[0].u.path_watch = {jb(k.keep("/r")), 0};
    ops[1].hdr = {CV_OP_GET_CHILDREN, 0, -1};
    ops[1].u.path_watch = {jb(k.keep("/missing")), 0};
    cv_request r = k.req(CV_OP_MULTI_READ);
    r.u.multi = {2, 0, nullptr, ops, cv_multi_end()};
    int64_t before = cv_core_last_prepared(k.c());
    Reply rep = k.read(s, k.wire(r));
    EXPECT_EQ(cv_core_last_prepared(k.c()), before); // reads take no zxid
    cv_multi_iter it;
    cv_multi_result res;
    cv_multi_iter_init(&it, &rep.r.u.multi);
    ASSERT_TRUE(cv_multi_next_result(&it, &res));
    EXPECT_EQ(str(res.u.get_data.data), "d");
    ASSERT_TRUE(cv_multi_next_result(&it, &res));
    EXPECT_EQ(res.hdr.type, CV_OP_ERROR);
    EXPECT_EQ(res.u.error.value, CV_ZNONODE);
}

TEST_F(CoreOps, WatchesFireOnceWithZooKeeperEventTypes)
{
    int64_t w = k.connect();
    k.write(s, k.create("/w", ""), CV_OP_CREATE);
    k.read(w, k.get("/w", true));                     // data watch
    k.read(w, k.get("/w", true, CV_OP_GET_CHILDREN)); // child watch
    k.read(w, k.get("/w/new", true, CV_OP_EXISTS));   // exists on a missing node
    k.write(s, k.create("/w/new", ""), CV_OP_CREATE);
    k.write(s, k.set("/w", "x"), CV_OP_SET_DATA);
    k.write(s, k.set("/w", "y"), CV_OP_SET_DATA); // data watch already fired
    ASSERT_EQ(k.events.size(), 3u);
    EXPECT_EQ(k.events[0].type, CV_WATCH_EV_NODE_CREATED);
    EXPECT_EQ(k.events[0].path, "/w/new");
    EXPECT_EQ(k.events[1].type, CV_WATCH_EV_NODE_CHILDREN_CHANGED);
    EXPECT_EQ(k.events[1].path, "/w");
    EXPECT_EQ(k.events[2].type, CV_WATCH_EV_NODE_DATA_CHANGED);
    for (const auto &e : k.events)
        EXPECT_EQ(e.session, w);
}

// ZooKeeper 3.8 as Debian ships it (CVE-2024-23944 fix): an event reaches only
// a connection that may READ the znode it is about; the watch is used up anyway.
TEST_F(CoreOps, WatchEventsGoOnlyToSessionsThatMayReadTheNode)
{
    cv_acl_auth alice;
    cv_acl_auth_init(&alice);
    ASSERT_EQ(cv_acl_authenticate(&alice, cv_jstr("digest"), cv_jstr("alice:pw1")), 0);
    int64_t a = k.connect(), b = k.connect();
    k.auths[a] = &alice;
    uint32_t acls_before = cv_tree_acl_count(cv_core_tree(k.c()));
    for (int64_t w : {a, b}) {
        k.read(w, k.get("/sec", true, CV_OP_EXISTS));
        k.read(w, k.get("/", true, CV_OP_GET_CHILDREN));
    }
    k.write(s, k.create("/sec", "", 0, CV_OP_CREATE, {{31, "auth", ""}}), CV_OP_CREATE, &alice);
    // NodeCreated carries /sec's ACL (alice only); NodeChildrenChanged on "/"
    // carries the root's (open).
    ASSERT_EQ(k.events.size(), 3u);
    EXPECT_EQ(k.events[0].session, a);
    EXPECT_EQ(k.events[0].type, CV_WATCH_EV_NODE_CREATED);
    EXPECT_EQ(k.events[1].type, CV_WATCH_EV_NODE_CHILDREN_CHANGED);
    EXPECT_EQ(k.events[2].type, CV_WATCH_EV_NODE_CHILDREN_CHANGED);
    EXPECT_EQ(k.events[1].session + k.events[2].session, a + b);
    // b's exists watch was consumed without an event: nothing arrives later
    // either, even once b could read the node.
    k.events.clear();
    k.write(s, k.set_acl("/sec", {{31, "world", "anyone"}}), CV_OP_SET_ACL, &alice);
    k.write(s, k.set("/sec", "x"), CV_OP_SET_DATA);
    EXPECT_TRUE(k.events.empty());
    // NodeDeleted is judged by the deleted node's ACL, kept alive for it.
    k.write(s, k.set_acl("/sec", {{31, "auth", ""}}), CV_OP_SET_ACL, &alice);
    for (int64_t w : {a, b})
        k.read(w, k.get("/sec", true, CV_OP_EXISTS));
    k.write(s, k.del("/sec"), CV_OP_DELETE, &alice);
    ASSERT_EQ(k.events.size(), 1u);
    EXPECT_EQ(k.events[0].session, a);
    EXPECT_EQ(k.events[0].type, CV_WATCH_EV_NODE_DELETED);
    EXPECT_EQ(cv_tree_acl_count(cv_core_tree(k.c())), acls_before);
    cv_watch_stats st;
    cv_watch_get_stats(cv_core_watches(k.c()), &st);
    EXPECT_EQ(st.watches, 0u);
}

// ZooKeeper's watches belong to the connection: when it goes, they go, and the
// client re-registers them with SetWatches on its next connection.
TEST_F(CoreOps, DroppedConnectionTakesItsWatchesAlong)
{
    int64_t w = k.connect();
    k.write(s, k.create("/d", ""), CV_OP_CREATE);
    k.read(w, k.get("/d", true));
    cv_request aw = k.req(CV_OP_ADD_WATCH);
    aw.u.path_type = {jb(k.keep("/d")), 1};
    EXPECT_EQ(k.read(w, k.wire(aw)).err(), 0);
    EXPECT_EQ(cv_core_drop_watches(k.c(), w), 1u); // one (path, session) entry
    k.write(s, k.set("/d", "x"), CV_OP_SET_DATA);
    k.write(s, k.create("/d/e", ""), CV_OP_CREATE);
    EXPECT_TRUE(k.events.empty());
    EXPECT_EQ(cv_core_drop_watches(k.c(), w), 0u);
}

TEST_F(CoreOps, PersistentRecursiveWatchSeesDescendantsAndStays)
{
    cv_request aw = k.req(CV_OP_ADD_WATCH);
    aw.u.path_type = {jb(k.keep("/tree")), 1};
    Reply r = k.read(s, k.wire(aw));
    EXPECT_EQ(r.err(), 0);
    k.write(s, k.create("/tree", ""), CV_OP_CREATE);
    k.write(s, k.create("/tree/a", ""), CV_OP_CREATE);
    k.write(s, k.set("/tree/a", "1"), CV_OP_SET_DATA);
    k.write(s, k.del("/tree/a"), CV_OP_DELETE);
    ASSERT_EQ(k.events.size(), 4u);
    EXPECT_EQ(k.events[3].type, CV_WATCH_EV_NODE_DELETED);
}

TEST_F(CoreOps, SetWatchesFiresWhatChangedSinceTheClientsZxid)
{
    k.write(s, k.create("/sw", "0"), CV_OP_CREATE);
    k.write(s, k.create("/sw2", "0"), CV_OP_CREATE);
    int64_t seen = cv_core_last_applied(k.c());
    k.write(s, k.set("/sw", "1"), CV_OP_SET_DATA);
    k.write(s, k.create("/sw2/kid", ""), CV_OP_CREATE);
    int64_t w = k.connect();
    cv_jbuf data[3] = {jb(k.keep("/sw")), jb(k.keep("/gone")), jb(k.keep("/sw2"))};
    cv_jbuf exist[1] = {jb(k.keep("/sw2/kid"))};
    cv_jbuf child[1] = {jb(k.keep("/sw2"))};
    cv_request r = k.req(CV_OP_SET_WATCHES);
    r.hdr.xid = CV_XID_SET_WATCHES;
    r.u.set_watches.relative_zxid = seen;
    r.u.set_watches.data = {3, 0, nullptr, data};
    r.u.set_watches.exist = {1, 0, nullptr, exist};
    r.u.set_watches.child = {1, 0, nullptr, child};
    Reply rep = k.read(w, k.wire(r));
    EXPECT_EQ(rep.err(), 0);
    ASSERT_EQ(k.events.size(), 4u);
    EXPECT_EQ(k.events[0].type, CV_WATCH_EV_NODE_DATA_CHANGED); // /sw changed since
    EXPECT_EQ(k.events[1].type, CV_WATCH_EV_NODE_DELETED);      // /gone
    EXPECT_EQ(k.events[2].type, CV_WATCH_EV_NODE_CREATED);      // /sw2/kid exists now
    EXPECT_EQ(k.events[3].type, CV_WATCH_EV_NODE_CHILDREN_CHANGED);
    // /sw2's data watch did not fire (unchanged) and is registered.
    k.write(s, k.set("/sw2", "1"), CV_OP_SET_DATA);
    ASSERT_EQ(k.events.size(), 5u);
    EXPECT_EQ(k.events[4].path, "/sw2");
}

TEST_F(CoreOps, RemoveAndCheckWatchesAnswerNoWatcher)
{
    k.write(s, k.create("/rw", ""), CV_OP_CREATE);
    cv_request chk = k.req(CV_OP_CHECK_WATCHES);
    chk.u.path_type = {jb(k.keep("/rw")), 2};
    EXPECT_EQ(k.read(s, k.wire(chk)).err(), CV_ZNOWATCHER);
    k.read(s, k.get("/rw", true));
    EXPECT_EQ(k.read(s, k.wire(chk)).err(), 0);
    cv_request rm = k.req(CV_OP_REMOVE_WATCHES);
    rm.u.path_type = {jb(k.keep("/rw")), 3};
    EXPECT_EQ(k.read(s, k.wire(rm)).err(), 0);
    EXPECT_EQ(k.read(s, k.wire(rm)).err(), CV_ZNOWATCHER);
    k.write(s, k.set("/rw", "x"), CV_OP_SET_DATA);
    EXPECT_TRUE(k.events.empty());
}

// As ZooKeeper 3.8: create and create2 inside a multi answer the path only
// (type create); container and TTL creates answer path + Stat (type create2).
TEST_F(CoreOps, MultiCreateResultTypesFollowZooKeeper)
{
    const int32_t types[4] = {CV_OP_CREATE2, CV_OP_CREATE_CONTAINER, CV_OP_CREATE_TTL,
                              CV_OP_CREATE};
    const int32_t flags[4] = {0, 4, 5, 0};
    cv_multi_op ops[4];
    memset(ops, 0, sizeof ops);
    for (int i = 0; i < 4; i++) {
        ops[i].hdr = {types[i], 0, -1};
        ops[i].u.create = {jb(k.keep("/mc" + std::to_string(i))), jb(k.keep("")),
                           k.acl_vec(open_acl()), flags[i],
                           types[i] == CV_OP_CREATE_TTL ? 60000 : 0};
    }
    cv_request r = k.req(CV_OP_MULTI);
    r.u.multi = {4, 0, nullptr, ops, cv_multi_end()};
    Reply rep = k.write(s, k.wire(r), CV_OP_MULTI);
    ASSERT_EQ(rep.err(), 0);
    cv_multi_iter it;
    cv_multi_result res;
    cv_multi_iter_init(&it, &rep.r.u.multi);
    const int32_t want[4] = {CV_OP_CREATE, CV_OP_CREATE2, CV_OP_CREATE2, CV_OP_CREATE};
    for (int i = 0; i < 4; i++) {
        ASSERT_TRUE(cv_multi_next_result(&it, &res));
        EXPECT_EQ(res.hdr.type, want[i]) << i;
        EXPECT_EQ(str(res.u.create.path), "/mc" + std::to_string(i));
    }
}

// Only the server deletes containers: a client's deleteContainer is logged as
// an ErrorTxn (BADARGUMENTS), as ZooKeeper 3.8 does, and deletes nothing.
TEST_F(CoreOps, ClientDeleteContainerIsAnErrorTxn)
{
    k.write(s, k.create("/box", "", 4, CV_OP_CREATE_CONTAINER), CV_OP_CREATE_CONTAINER);
    int64_t before = cv_core_last_applied(k.c());
    cv_request r = k.req(CV_OP_DELETE_CONTAINER);
    r.u.path.path = jb(k.keep("/box"));
    EXPECT_EQ(k.write(s, r, CV_OP_DELETE_CONTAINER).err(), CV_ZBADARGUMENTS);
    EXPECT_EQ(cv_core_last_applied(k.c()), before + 1);
    EXPECT_EQ(k.read(s, k.get("/box", false, CV_OP_EXISTS)).err(), 0);
}

// ZooKeeper 3.8.0 logs createTTL with a non-TTL mode and ttl < 0, then dies
// applying it; corvid refuses it.
TEST_F(CoreOps, CreateTtlWithANonTtlModeIsRefused)
{
    for (int32_t mode : {0, 1, 2, 3})
        EXPECT_EQ(k.write(s, k.create("/nt", "", mode, CV_OP_CREATE_TTL, open_acl(), -1),
                          CV_OP_CREATE_TTL)
                      .err(),
                  CV_ZBADARGUMENTS)
            << mode;
    EXPECT_EQ(k.read(s, k.get("/nt", false, CV_OP_EXISTS)).err(), CV_ZNONODE);
}

// Reads validate no path, as ZooKeeper: "" is the root in its DataTree, a
// null path fails inside the server (MARSHALLINGERROR), addWatch takes "".
TEST_F(CoreOps, ReadsTakeAnyPath)
{
    Reply root = k.read(s, k.get("", false, CV_OP_GET_CHILDREN2));
    ASSERT_EQ(root.err(), 0);
    EXPECT_EQ(root.r.u.children.stat.num_children, 1); // /zookeeper
    cv_request nul = k.req(CV_OP_GET_DATA);
    nul.u.path_watch = {{nullptr, -1}, 0};
    EXPECT_EQ(k.read(s, nul).err(), CV_ZMARSHALLINGERROR);
    cv_request aw = k.req(CV_OP_ADD_WATCH);
    aw.u.path_type = {jb(k.keep("")), 0};
    EXPECT_EQ(k.read(s, k.wire(aw)).err(), 0);
    aw.u.path_type = {jb(k.keep("/x")), 2}; // not an AddWatchMode
    EXPECT_EQ(k.read(s, k.wire(aw)).err(), CV_ZMARSHALLINGERROR);
    cv_request chk = k.req(CV_OP_CHECK_WATCHES);
    chk.u.path_type = {jb(k.keep("")), 2};
    EXPECT_EQ(k.read(s, k.wire(chk)).err(), CV_ZNOWATCHER); // persistent, not data
    chk.u.path_type = {jb(k.keep("/x")), 0};                // not a WatcherType
    EXPECT_EQ(k.read(s, k.wire(chk)).err(), CV_ZMARSHALLINGERROR);
}

TEST_F(CoreOps, ReadsOfEveryKind)
{
    k.write(s, k.create("/k", "v"), CV_OP_CREATE);
    k.write(s, k.create("/k/a", ""), CV_OP_CREATE);
    k.write(s, k.create("/k/a/b", ""), CV_OP_CREATE);
    Reply c2 = k.read(s, k.get("/k", false, CV_OP_GET_CHILDREN2));
    ASSERT_EQ(c2.err(), 0);
    EXPECT_EQ(c2.r.u.children.children.count, 1);
    EXPECT_EQ(c2.r.u.children.stat.num_children, 1);
    Reply n = k.read(s, k.path_req(CV_OP_GET_ALL_CHILDREN_NUMBER, "/k"));
    EXPECT_EQ(n.r.u.number.value, 2);
    Reply sy = k.read(s, k.path_req(CV_OP_SYNC, "/k"));
    EXPECT_EQ(str(sy.r.u.path.path), "/k");
    Reply cfg = k.read(s, k.get("/zookeeper/config"));
    ASSERT_EQ(cfg.err(), 0);
    EXPECT_EQ(cfg.r.u.get_data.stat.aversion, -1);
    Reply ping = k.read(s, k.req(CV_OP_PING));
    EXPECT_EQ(ping.r.hdr.xid, CV_XID_PING);
    EXPECT_EQ(ping.r.hdr.zxid, cv_core_last_applied(k.c()));
    cv_acl_auth a;
    cv_acl_auth_init(&a);
    cv_acl_auth_add_ip(&a, "127.0.0.1", 9);
    cv_acl_authenticate(&a, cv_jstr("digest"), cv_jstr("bob:pw"));
    Reply who = k.read(s, k.req(CV_OP_WHO_AM_I), &a);
    ASSERT_EQ(who.r.u.who_am_i.client_info.count, 2);
    cv_jvec_iter it;
    cv_client_info ci;
    cv_jvec_iter_init(&it, &who.r.u.who_am_i.client_info, &cv_rec_client_info);
    cv_jvec_next(&it, &ci);
    EXPECT_EQ(str(ci.auth_scheme), "ip");
    EXPECT_EQ(str(ci.user), "127.0.0.1");
    cv_jvec_next(&it, &ci);
    EXPECT_EQ(str(ci.user), "bob");
    EXPECT_EQ(k.read(s, k.get("/none")).err(), CV_ZNONODE);
    EXPECT_EQ(k.read(s, k.get("/none", false, CV_OP_GET_CHILDREN)).err(), CV_ZNONODE);
}

TEST_F(CoreOps, ReconfigOnAStandaloneServerIsRefusedLikeZooKeeper)
{
    cv_request r = k.req(CV_OP_RECONFIG);
    Reply rep = k.write(s, k.wire(r), CV_OP_RECONFIG);
    EXPECT_EQ(rep.err(), CV_ZRECONFIGDISABLED);
}

TEST_F(CoreOps, ReconnectValidatesPasswordAndLiveness)
{
    uint8_t frame[128];
    int n = cv_core_connect_response(k.c(), s, 10000, true, frame, sizeof frame);
    ASSERT_GT(n, 0);
    cv_connect_response resp;
    ASSERT_EQ(cv_proto_decode_connect_response(frame + 4, (size_t)n - 4, &resp), 0);
    EXPECT_EQ(resp.session_id, s);
    EXPECT_EQ(resp.timeout, 10000);
    ASSERT_EQ(resp.passwd.len, 16);
    uint8_t pw[16];
    memcpy(pw, resp.passwd.ptr, 16);
    cv_connect_request cr = {0, 0, 10000, s, {pw, 16}, 0, 1};
    int32_t to = 0;
    EXPECT_EQ(cv_core_validate_session(k.c(), &cr, &to), 0);
    EXPECT_EQ(to, 10000);
    pw[3] ^= 1; // a wrong password is refused
    EXPECT_EQ(cv_core_validate_session(k.c(), &cr, &to), CV_ZSESSIONEXPIRED);
    pw[3] ^= 1;
    k.close(s);
    EXPECT_EQ(cv_core_validate_session(k.c(), &cr, &to), CV_ZSESSIONEXPIRED);
    // The "expired" answer: timeout 0, session 0.
    n = cv_core_connect_response(k.c(), 0, 0, true, frame, sizeof frame);
    ASSERT_EQ(cv_proto_decode_connect_response(frame + 4, (size_t)n - 4, &resp), 0);
    EXPECT_EQ(resp.timeout, 0);
    EXPECT_EQ(resp.session_id, 0);
}

TEST_F(CoreOps, ExpiredSessionsAreClosedThroughTheLog)
{
    int64_t e = k.connect(4000);
    k.write(e, k.create("/mine", "", 1), CV_OP_CREATE);
    int64_t out[8];
    EXPECT_EQ(cv_core_expired(k.c(), k.now + 3000, out, 8), 0u);
    cv_core_touch(k.c(), s, k.now + 5000); // s stays alive
    size_t n = cv_core_expired(k.c(), k.now + 6000, out, 8);
    ASSERT_EQ(n, 1u);
    EXPECT_EQ(out[0], e);
    // Expired but not yet closed: still there, already refusing requests.
    EXPECT_EQ(k.read(s, k.get("/mine", false, CV_OP_EXISTS)).err(), 0);
    EXPECT_EQ(k.read(e, k.get("/")).err(), CV_ZSESSIONEXPIRED);
    Bytes txn(1 << 16);
    size_t len;
    ASSERT_EQ(cv_core_prepare_expire(k.c(), e, k.now + 6000, txn.data(), txn.size(), &len), 0);
    txn.resize(len);
    k.apply(txn);
    EXPECT_EQ(k.read(s, k.get("/mine", false, CV_OP_EXISTS)).err(), CV_ZNONODE);
}
