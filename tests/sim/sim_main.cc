// corvid_sim: run the deterministic simulator from the command line.
//   corvid_sim --seed 42                  one seed (prints the violation, if any)
//   corvid_sim --seeds 1000 [--first N]   many seeds
//   corvid_sim --seeds 0 --hours 8        soak: seeds until the time is up
// Every failing seed prints the one line that replays it exactly.
#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "sim.h"

extern "C" {
#include "cv_zab.h"
}

static void usage()
{
    puts("usage: corvid_sim [--seed S | --seeds N [--first S] [--hours H]] [--nodes N]\n"
         "                  [--observers N] [--clients M] [--keys K] [--duration-ms MS]\n"
         "                  [--disk-us MIN,MAX] [--fault-every-ms MS] [--counter-limit N]\n"
         "                  [--lag-resync N]\n"
         "                  [--mutate commit-early|skip-trunc|ack-early|expire-in-election]\n"
         "                  [--no-crashes] [--no-partitions] [--no-stalls] [--verbose]\n"
         "Runs simulated corvid ensembles under faults and checks linearizability, S1-S4\n"
         "and S6 after every run. Exit status 1 if any seed found a violation.");
}

int main(int argc, char **argv)
{
    sim::Options o;
    uint64_t seeds = 0, first = 1;
    bool one = false;
    double hours = 0;
    for (int i = 1; i < argc; i++) {
        std::string a = argv[i];
        auto val = [&]() -> const char * {
            if (i + 1 >= argc) {
                fprintf(stderr, "corvid_sim: %s needs a value\n", a.c_str());
                exit(2);
            }
            return argv[++i];
        };
        if (a == "--seed") {
            o.seed = strtoull(val(), nullptr, 10);
            one = true;
        } else if (a == "--seeds")
            seeds = strtoull(val(), nullptr, 10);
        else if (a == "--first")
            first = strtoull(val(), nullptr, 10);
        else if (a == "--hours")
            hours = atof(val());
        else if (a == "--nodes")
            o.nodes = atoi(val());
        else if (a == "--observers")
            o.observers = atoi(val());
        else if (a == "--clients")
            o.clients = atoi(val());
        else if (a == "--keys")
            o.keys = atoi(val());
        else if (a == "--duration-ms")
            o.duration_ms = atoll(val());
        else if (a == "--disk-us") {
            const char *v = val();
            o.disk_lat_min_us = atoll(v);
            const char *comma = strchr(v, ',');
            o.disk_lat_max_us = comma ? atoll(comma + 1) : o.disk_lat_min_us;
        } else if (a == "--fault-every-ms")
            o.fault_every_ms = atoll(val());
        else if (a == "--lag-resync")
            o.lag_resync = (uint32_t)strtoul(val(), nullptr, 10);
        else if (a == "--counter-limit")
            o.counter_limit = (uint32_t)strtoul(val(), nullptr, 10);
        else if (a == "--mutate") {
            std::string m = val();
            if (m == "commit-early")
                o.zab_mutate |= CV_ZAB_MUT_COMMIT_EARLY;
            else if (m == "skip-trunc")
                o.zab_mutate |= CV_ZAB_MUT_SKIP_TRUNC;
            else if (m == "ack-early")
                o.zab_mutate |= CV_ZAB_MUT_ACK_EARLY;
            else if (m == "expire-in-election")
                o.mut_expire_in_election = true;
            else {
                fprintf(stderr, "corvid_sim: unknown mutation %s\n", m.c_str());
                return 2;
            }
        } else if (a == "--no-crashes")
            o.crashes = false;
        else if (a == "--no-partitions")
            o.partitions = false;
        else if (a == "--no-stalls")
            o.disk_stalls = false;
        else if (a == "--verbose")
            o.verbose = true;
        else if (a == "--help" || a == "-h") {
            usage();
            return 0;
        } else {
            fprintf(stderr, "corvid_sim: unknown argument %s\n", a.c_str());
            usage();
            return 2;
        }
    }
    if (o.nodes < 1 || o.nodes > 9 || o.observers < 0 || o.observers > 4 || o.clients < 1 ||
        o.keys < 1) {
        fprintf(stderr, "corvid_sim: nodes 1..9, observers 0..4, clients and keys >= 1\n");
        return 2;
    }
    if (one || (!seeds && hours <= 0))
        seeds = 1, first = o.seed;
    auto start = std::chrono::steady_clock::now();
    uint64_t ran = 0, failed = 0;
    sim::Stats tot;
    for (uint64_t s = first; seeds == 0 || s < first + seeds; s++) {
        if (hours > 0 &&
            std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() >
                hours * 3600)
            break;
        o.seed = s;
        sim::Result r = sim::run_random(o);
        ran++;
        tot.ops += r.st.ops;
        tot.acked_writes += r.st.acked_writes;
        tot.crashes += r.st.crashes;
        tot.torn += r.st.torn;
        tot.partitions += r.st.partitions;
        tot.stalls += r.st.stalls;
        tot.elections += r.st.elections;
        tot.expired_told += r.st.expired_told;
        tot.truncs += r.st.truncs;
        tot.snaps_sent += r.st.snaps_sent;
        tot.epoch_rolls += r.st.epoch_rolls;
        tot.lag_detaches += r.st.lag_detaches;
        tot.lag_resyncs += r.st.lag_resyncs;
        if (!r.ok) {
            failed++;
            printf("seed %" PRIu64 ": VIOLATION %s\n  replay: %s\n", s, r.violation.c_str(),
                   r.repro.c_str());
            fflush(stdout);
        } else if (one) {
            printf("seed %" PRIu64 ": ok (%" PRIu64 " ops, %" PRIu64 " acked writes, %" PRIu64
                   " crashes, %" PRIu64 " elections)\n",
                   s, r.st.ops, r.st.acked_writes, r.st.crashes, r.st.elections);
        }
    }
    printf("corvid_sim: %" PRIu64 " seeds, %" PRIu64 " violations; %" PRIu64 " ops, %" PRIu64
           " acked writes, %" PRIu64 " crashes (%" PRIu64 " torn), %" PRIu64 " partitions, %" PRIu64
           " disk stalls, %" PRIu64 " elections, %" PRIu64 " sessions told expired, %" PRIu64
           " truncations, %" PRIu64 " snapshots sent, %" PRIu64 " epoch roll-overs, %" PRIu64
           " lag detaches, %" PRIu64 " in-place log resyncs\n",
           ran, failed, tot.ops, tot.acked_writes, tot.crashes, tot.torn, tot.partitions,
           tot.stalls, tot.elections, tot.expired_told, tot.truncs, tot.snaps_sent, tot.epoch_rolls,
           tot.lag_detaches, tot.lag_resyncs);
    return failed ? 1 : 0;
}
