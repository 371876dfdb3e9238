// The production incidents behind S1-S4, replayed in the simulator (sim.h)
// with a fixed seed and a scripted fault instead of the random nemesis.
#include <gtest/gtest.h>

#include <cstdlib>
#include <string>

#include "sim.h"

extern "C" {
#include "cv_proto.h"
}

namespace
{

sim::Options quiet(int nodes, int clients)
{
    sim::Options o;
    o.seed = 11;
    o.verbose = getenv("CV_SIM_VERBOSE") != nullptr;
    o.nodes = nodes;
    o.clients = clients;
    o.loss = 0;
    o.dup = 0;
    o.crashes = o.partitions = o.disk_stalls = o.torn_writes = false;
    return o;
}

// Waits (simulated) until pred() or the time is up; returns pred().
template <class F> bool wait_for(sim::World &w, int64_t ms, F pred)
{
    for (int64_t t = 0; t < ms && !pred(); t += 10)
        w.run_for(10);
    return pred();
}

// An established leader and every one of the n servers serving.
bool all_serving(sim::World &w, int n)
{
    return wait_for(w, 5000, [&] {
        if (!w.leader())
            return false;
        for (int i = 1; i <= n; i++)
            if (!w.serving(i))
                return false;
        return true;
    });
}

// A real client reconnects when its connection closes (the server closes it
// when the session's expiry applies there): until it is told "expired".
bool reconnect_until_expired(sim::World &w, int c, int node, uint64_t count)
{
    for (int t = 0; t < 1000 && w.client_expired_count(c) < count; t++) {
        if (!w.client_connected(c) && t % 5 == 0)
            w.client_connect(c, node);
        w.run_for(10);
    }
    return w.client_expired_count(c) == count;
}

int follower(sim::World &w, int n, int not_this = 0)
{
    for (int i = 1; i <= n; i++)
        if (i != w.leader() && i != not_this)
            return i;
    return 0;
}

// (a) ZOOKEEPER-1208/2355 family: a client whose session expired reconnects
// to another server and pipelines SetWatches behind its ConnectRequest. It
// must be told "expired" and nothing of its may be registered anywhere.
TEST(Incidents, ExpiredSessionReconnectingElsewhereWithSetWatchesRegistersNothing)
{
    auto w = sim::make_world(quiet(3, 1));
    ASSERT_TRUE(all_serving(*w, 3));
    int a = follower(*w, 3), b = follower(*w, 3, a);
    w->client_connect(0, a);
    ASSERT_TRUE(wait_for(*w, 2000, [&] { return w->client_connected(0); }));
    int64_t s = w->client_session(0);
    int32_t x = w->client_create_ephemeral(0, "/a");
    ASSERT_TRUE(wait_for(*w, 2000, [&] { return w->client_result(0, x) != -1000; }));
    ASSERT_EQ(w->client_result(0, x), 0);
    x = w->client_exists(0, "/a", true);
    ASSERT_TRUE(wait_for(*w, 2000, [&] { return w->client_result(0, x) == 0; }));
    EXPECT_EQ(w->node_watch_count(a, s), 1);

    // Cut off until the session expires everywhere.
    w->client_block(0, true);
    ASSERT_TRUE(wait_for(*w, 20000, [&] {
        for (int i = 1; i <= 3; i++)
            if (w->node_session_live(i, s))
                return false;
        return true;
    }));
    w->client_block(0, false);
    w->client_connect(0, b);
    int32_t sw = w->client_set_watches(0, {"/a"}); // pipelined behind the ConnectRequest
    ASSERT_TRUE(wait_for(*w, 5000, [&] { return w->client_expired_count(0) == 1; }));
    EXPECT_EQ(w->client_result(0, sw), CV_ZSESSIONEXPIRED);
    for (int i = 1; i <= 3; i++) {
        EXPECT_EQ(w->node_watch_count(i, s), 0) << "node " << i;
        EXPECT_EQ(w->node_ephemeral_count(i, s), 0) << "node " << i;
    }
    EXPECT_EQ(w->check(), "");
}

// (b) ZOOKEEPER-2355 / 1159: after a session expires, its client starts a
// new session on a follower that lags behind; the new session must not see
// the old session's ephemeral there.
TEST(Incidents, ExpiryThenReadOnALaggingFollowerShowsNoGhostEphemeral)
{
    auto w = sim::make_world(quiet(3, 2));
    ASSERT_TRUE(all_serving(*w, 3));
    int l = w->leader(), a = follower(*w, 3), lag = follower(*w, 3, a);
    w->client_connect(0, a);
    ASSERT_TRUE(wait_for(*w, 2000, [&] { return w->client_connected(0); }));
    int64_t s = w->client_session(0);
    int32_t x = w->client_create_ephemeral(0, "/b");
    ASSERT_TRUE(wait_for(*w, 2000, [&] { return w->client_result(0, x) == 0; }));

    w->set_link_latency(l, lag, 400000); // everything from the leader arrives 400 ms late
    w->client_block(0, true);
    ASSERT_TRUE(wait_for(*w, 20000, [&] { return !w->node_session_live(l, s); }));
    w->client_block(0, false);
    ASSERT_TRUE(reconnect_until_expired(*w, 0, a, 1)); // by an up-to-date server
    EXPECT_TRUE(w->node_session_live(lag, s)) << "the follower should still be lagging";

    w->client_connect(1, lag); // a new session on the lagging follower
    ASSERT_TRUE(wait_for(*w, 5000, [&] { return w->client_connected(1); }));
    x = w->client_exists(1, "/b", false);
    ASSERT_TRUE(wait_for(*w, 5000, [&] { return w->client_result(1, x) != -1000; }));
    EXPECT_EQ(w->client_result(1, x), CV_ZNONODE);
    EXPECT_EQ(w->client_result_owner(1, x), 0);
    w->set_link_latency(l, lag, 0);
    w->run_for(2000);
    EXPECT_EQ(w->check(), "");
}

// (c) ZOOKEEPER-1496/3046 family: commits take 30 s (every disk), longer than
// the session timeout; a new session's createSession is still uncommitted
// when its client gives up, with an ephemeral create queued behind it. No
// ephemeral may end up owned by a session that is not live, and no server
// leaves its role because of the disks.
TEST(Incidents, CreateSessionDelayedPastTimeoutLeavesNoOrphanEphemeral)
{
    auto w = sim::make_world(quiet(3, 1));
    ASSERT_TRUE(all_serving(*w, 3));
    int a = follower(*w, 3);
    uint64_t roles[4];
    for (int i = 1; i <= 3; i++) {
        w->set_disk_latency(i, 30000000, 30000000);
        roles[i] = w->role_changes(i);
    }
    w->client_connect(0, a);
    int32_t x = w->client_create_ephemeral(0, "/c"); // queued behind the ConnectRequest
    w->run_for(5000);
    EXPECT_FALSE(w->client_connected(0)) << "the session cannot be answered before its commit";
    EXPECT_NE(w->client_result(0, x), 0);
    w->run_for(60000); // the createSession commits, then (nobody there) its expiry does
    for (int i = 1; i <= 3; i++) {
        w->set_disk_latency(i, 200, 3000);
        EXPECT_EQ(w->role_changes(i), roles[i]) << "node " << i << " changed role (S4)";
    }
    w->run_for(5000);
    EXPECT_EQ(w->check(), "");
}

// (d) ZOOKEEPER-2201 family: two followers of five take 30-50 s per fsync.
// Their clients keep working: no connection closed, no session expired, no
// election, and the ensemble commits with the healthy majority; past the lag
// bound they stop feeding their logs and resynchronise them afterwards.
TEST(Incidents, FollowersWithFortySecondFsyncsDisconnectNobody)
{
    auto w = sim::make_world(quiet(5, 2));
    ASSERT_TRUE(all_serving(*w, 5));
    int f1 = follower(*w, 5), f2 = follower(*w, 5, f1);
    w->set_disk_latency(f1, 30000000, 50000000);
    w->set_disk_latency(f2, 30000000, 50000000);
    uint64_t roles[6], closed[6];
    for (int i = 1; i <= 5; i++) {
        roles[i] = w->role_changes(i);
        closed[i] = w->conns_closed_by_servers(i);
    }
    w->client_connect(0, f1);
    w->client_connect(1, f2);
    ASSERT_TRUE(
        wait_for(*w, 3000, [&] { return w->client_connected(0) && w->client_connected(1); }));
    int writes = 0, reads = 0;
    for (int t = 0; t < 600; t++) { // 60 s of traffic through the slow followers
        int c = t % 2;
        int32_t x = t % 4 < 2 ? w->client_create_ephemeral(c, "/d" + std::to_string(t))
                              : w->client_exists(c, "/d" + std::to_string(t - 2), true);
        w->run_for(100);
        if (w->client_result(c, x) == 0)
            (t % 4 < 2 ? writes : reads)++;
    }
    EXPECT_GT(writes, 250) << "writes through slow followers commit with the healthy majority";
    EXPECT_GT(reads, 250);
    for (int c = 0; c < 2; c++) {
        EXPECT_TRUE(w->client_connected(c));
        EXPECT_EQ(w->client_expired_count(c), 0u);
    }
    for (int i = 1; i <= 5; i++) {
        EXPECT_EQ(w->role_changes(i), roles[i]) << "node " << i << " changed role";
        EXPECT_EQ(w->conns_closed_by_servers(i), closed[i]) << "node " << i << " closed a client";
    }
    // Both went past the lag bound: they stopped feeding their logs (and
    // kept serving); once their disks catch up, each log is resynchronised
    // in place, without a role change.
    EXPECT_GE(w->stats().lag_detaches, 2u);
    w->set_disk_latency(f1, 200, 3000);
    w->set_disk_latency(f2, 200, 3000);
    w->run_for(60000);
    EXPECT_GE(w->stats().lag_resyncs, 2u);
    for (int i = 1; i <= 5; i++)
        EXPECT_EQ(w->role_changes(i), roles[i]) << "node " << i << " changed role";
    EXPECT_EQ(w->check(), "");
}

} // namespace
