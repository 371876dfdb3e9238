// cv_core's ensemble entry points: a session id chosen by the server the
// client connected to (prepared by the leader), and abandoning what a leader
// prepared when it loses leadership (cv_core_abandon).
#include "core_harness.h"

using namespace cvt;

TEST(CoreEnsemble, SessionIdChosenElsewhereIsPreparedAndAppliedAsGiven)
{
    Core k;
    // Another server (id 2) chose the id; this core prepares it as leader.
    cv_sess_idgen g;
    ASSERT_EQ(cv_sess_idgen_init(&g, 2, k.now), 0);
    int64_t id = cv_sess_idgen_next(&g, cv_core_sessions(k.c()));
    Bytes out(256);
    size_t len = 0;
    int32_t to = 0;
    ASSERT_EQ(cv_core_prepare_create_session_id(k.c(), id, 30000, k.now, &to, out.data(),
                                                out.size(), &len),
              0);
    EXPECT_EQ(to, 20000); // negotiated as for any new session
    // The same id again, while pending: refused.
    size_t len2 = 0;
    Bytes out2(256);
    EXPECT_EQ(cv_core_prepare_create_session_id(k.c(), id, 30000, k.now, &to, out2.data(),
                                                out2.size(), &len2),
              -EEXIST);
    out.resize(len);
    k.apply(out);
    EXPECT_TRUE(cv_sess_is_live(cv_core_sessions(k.c()), id));
    EXPECT_EQ(k.created.back(), id);
    // Live now: still refused; id 0 is never valid.
    EXPECT_EQ(cv_core_prepare_create_session_id(k.c(), id, 30000, k.now, &to, out2.data(),
                                                out2.size(), &len2),
              -EEXIST);
    EXPECT_EQ(cv_core_prepare_create_session_id(k.c(), 0, 30000, k.now, &to, out2.data(),
                                                out2.size(), &len2),
              -EINVAL);
}

TEST(CoreEnsemble, NewSessionIdsCarryThisServersIdAndAreNotInUse)
{
    Core k;
    int64_t s = k.connect();
    int64_t id = cv_core_new_session_id(k.c());
    EXPECT_NE(id, s);
    EXPECT_EQ((uint64_t)id >> 56, 1u); // the harness core is server 1
}

TEST(CoreEnsemble, AbandonForgetsPreparedChangesAndRestartsClocks)
{
    Core k;
    int64_t s = k.connect();
    k.apply([&] {
        Bytes t;
        EXPECT_EQ(k.prepare(s, k.create("/a", "x"), &t), 0);
        return t;
    }());
    uint64_t digest = cv_core_digest(k.c());
    // A leader prepares a create, a delete, a new session and a close...
    Bytes t1, t2, t3(256), t4;
    ASSERT_EQ(k.prepare(s, k.create("/b", "y"), &t1), 0);
    ASSERT_EQ(k.prepare(s, k.del("/a"), &t2), 0);
    size_t len;
    int64_t ns;
    int32_t to;
    ASSERT_EQ(
        cv_core_prepare_create_session(k.c(), 10000, k.now, &ns, &to, t3.data(), t3.size(), &len),
        0);
    ASSERT_EQ(k.prepare(s, k.req(CV_OP_CLOSE_SESSION), &t4), 0);
    EXPECT_GT(cv_core_outstanding(k.c()), 0u);
    // ...then loses leadership: none of it happened.
    k.now += 5000;
    cv_core_abandon(k.c(), k.now);
    EXPECT_EQ(cv_core_outstanding(k.c()), 0u);
    EXPECT_EQ(cv_core_last_prepared(k.c()), cv_core_last_applied(k.c()));
    EXPECT_EQ(cv_core_digest(k.c()), digest);
    // Prepare sees the applied state again: /b can be created, /a still exists,
    // the session is live (not closing) and its clock restarted at now.
    Bytes again;
    EXPECT_EQ(k.prepare(s, k.create("/b", "z"), &again), 0);
    k.apply(again);
    EXPECT_EQ(k.write(s, k.create("/a", ""), CV_OP_CREATE).err(), CV_ZNODEEXISTS);
    int64_t expired[4];
    EXPECT_EQ(cv_core_expired(k.c(), k.now + 9000, expired, 4), 0u);
    EXPECT_EQ(cv_core_expired(k.c(), k.now + 12000, expired, 4), 1u);
    // The new session's id was never created; a new leader may prepare it anew.
    EXPECT_FALSE(cv_sess_is_live(cv_core_sessions(k.c()), ns));
}
