// Random seeds through the simulator (sim.h), and the mutation checks: each
// deliberately broken rule must be caught by the checkers within a bounded
// number of seeds.
#include <gtest/gtest.h>

#include <cstdlib>
#include <string>

#include "sim.h"

extern "C" {
#include "cv_zab.h"
}

namespace
{

uint64_t seeds_from_env(uint64_t dflt)
{
    const char *s = getenv("CV_SIM_SEEDS");
    return s ? strtoull(s, nullptr, 10) : dflt;
}

void run_seeds(sim::Options o, uint64_t first, uint64_t n)
{
    sim::Stats tot;
    for (uint64_t s = first; s < first + n; s++) {
        o.seed = s;
        sim::Result r = sim::run_random(o);
        ASSERT_TRUE(r.ok) << "seed " << s << ": " << r.violation << "\n  replay: " << r.repro;
        tot.ops += r.st.ops;
        tot.acked_writes += r.st.acked_writes;
        tot.crashes += r.st.crashes;
        tot.elections += r.st.elections;
        tot.truncs += r.st.truncs;
        tot.snaps_sent += r.st.snaps_sent;
        tot.expired_told += r.st.expired_told;
    }
    printf("%llu seeds: %llu ops, %llu acked writes, %llu crashes, %llu elections, %llu "
           "truncations, %llu snapshots sent, %llu sessions told expired\n",
           (unsigned long long)n, (unsigned long long)tot.ops, (unsigned long long)tot.acked_writes,
           (unsigned long long)tot.crashes, (unsigned long long)tot.elections,
           (unsigned long long)tot.truncs, (unsigned long long)tot.snaps_sent,
           (unsigned long long)tot.expired_told);
    // The runs must have done real work, or the checks prove nothing.
    EXPECT_GT(tot.acked_writes, n * 10);
    EXPECT_GT(tot.crashes, 0u);
    EXPECT_GT(tot.elections, n);
}

TEST(Seeds, ThreeNodesUnderFaultsStayLinearizableAndLoseNothing)
{
    sim::Options o;
    o.nodes = 3;
    run_seeds(o, 1, seeds_from_env(100) * 5 / 10);
}

TEST(Seeds, FiveNodesUnderFaultsStayLinearizableAndLoseNothing)
{
    sim::Options o;
    o.nodes = 5;
    o.clients = 6;
    run_seeds(o, 100001, seeds_from_env(100) * 2 / 10);
}

TEST(Seeds, ThreeNodesUnderHarshFaultsAndSlowDisksLoseNothing)
{
    // The configuration the ack-early mutation is caught in: faults every
    // ~0.5 s, appends taking 5-60 ms.
    sim::Options o;
    o.fault_every_ms = 500;
    o.disk_lat_min_us = 5000;
    o.disk_lat_max_us = 60000;
    run_seeds(o, 400001, seeds_from_env(100) / 10);
}

TEST(Seeds, ThreeNodesAndAnObserverStayLinearizable)
{
    sim::Options o;
    o.nodes = 3;
    o.observers = 1;
    run_seeds(o, 200001, seeds_from_env(100) * 2 / 10);
}

TEST(Seeds, EpochRollsOverCleanlyWhenTheZxidCounterFills)
{
    // A tiny counter limit: leaders step down every few hundred proposals and
    // a new epoch begins, under the same faults and checks.
    sim::Options o;
    o.counter_limit = 300;
    uint64_t rolls = 0;
    for (uint64_t s = 300001; s < 300001 + seeds_from_env(100) / 20; s++) {
        o.seed = s;
        sim::Result r = sim::run_random(o);
        ASSERT_TRUE(r.ok) << "seed " << s << ": " << r.violation << "\n  replay: " << r.repro;
        rolls += r.st.epoch_rolls;
        EXPECT_LT(r.st.max_zxid_counter, 300u);
    }
    EXPECT_GT(rolls, 0u);
}

TEST(Seeds, SameSeedReplaysExactly)
{
    sim::Options o;
    o.seed = 7;
    sim::Result a = sim::run_random(o), b = sim::run_random(o);
    EXPECT_EQ(a.ok, b.ok);
    EXPECT_EQ(a.st.ops, b.st.ops);
    EXPECT_EQ(a.st.acked_writes, b.st.acked_writes);
    EXPECT_EQ(a.st.dgrams, b.st.dgrams);
    EXPECT_EQ(a.st.elections, b.st.elections);
    EXPECT_NE(a.repro.find("--seed 7"), std::string::npos);
}

// A mutation is caught when some seed among the first `budget` fails.
std::string caught(sim::Options o, uint64_t budget)
{
    for (uint64_t s = 1; s <= budget; s++) {
        o.seed = s;
        sim::Result r = sim::run_random(o);
        if (!r.ok) {
            printf("caught by seed %llu: %s\n  replay: %s\n", (unsigned long long)s,
                   r.violation.c_str(), r.repro.c_str());
            return r.violation;
        }
    }
    return "";
}

TEST(Mutations, ApplyBeforeQuorumIsCaught)
{
    sim::Options o;
    o.zab_mutate = CV_ZAB_MUT_COMMIT_EARLY;
    EXPECT_NE(caught(o, 200), "");
}

TEST(Mutations, SkippingTruncIsCaught)
{
    sim::Options o;
    o.zab_mutate = CV_ZAB_MUT_SKIP_TRUNC;
    EXPECT_NE(caught(o, 300), "");
}

TEST(Mutations, AckBeforeDurableIsCaught)
{
    sim::Options o;
    o.zab_mutate = CV_ZAB_MUT_ACK_EARLY;
    o.fault_every_ms = 500; // the loss needs crashes while slow appends are pending
    o.disk_lat_min_us = 5000;
    o.disk_lat_max_us = 60000;
    EXPECT_NE(caught(o, 300), "");
}

TEST(Mutations, ExpiringSessionsDuringAnElectionIsCaught)
{
    sim::Options o;
    o.mut_expire_in_election = true;
    std::string why = caught(o, 100);
    EXPECT_NE(why.find("S4"), std::string::npos) << why;
}

} // namespace
