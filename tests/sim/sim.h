// The deterministic simulator: N corvid nodes (cv_core + cv_zab + cv_chan per
// peer pair), M ZooKeeper clients speaking the real wire codec, a simulated
// network (latency, loss, duplication, reordering, partitions of any shape,
// one-way links), simulated disks (latency, stalls, torn writes, unsynced
// writes lost on crash) and per-node clocks (offset and drift), all driven by
// one seeded PRNG in one thread: a seed replays exactly.
//
// Checkers (World::check, and online during the run):
//  - linearizability of every register's history (cv_lincheck: writes, CAS and
//    sync+read linearizable; plain reads sequentially consistent per session);
//  - S6: replicas apply the same transaction at every zxid, with the same
//    state digest after it; an acknowledged write's zxid is never applied
//    differently, and every node ends with it applied;
//  - S1/S3: no ephemeral or watch owned by a session that is not live, on any
//    replica; S2: no client reads an ephemeral of a session after that
//    session's client was told it expired; S4: no session expires sooner
//    than its timeout after the leader last heard of it or the epoch began.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <queue>
#include <set>
#include <string>
#include <vector>

namespace sim
{

struct Options {
    uint64_t seed = 1;
    int nodes = 3;     // voters
    int observers = 0; // extra servers that observe
    int clients = 5;
    int keys = 3;
    int64_t duration_ms = 20000; // simulated time with faults, then heal and settle
    int64_t tick_ms = 100;
    int32_t session_timeout_ms = 1500;
    // network
    int64_t lat_min_us = 100, lat_max_us = 3000;
    double loss = 0.02, dup = 0.01;
    // faults (the nemesis picks among the enabled ones)
    bool crashes = true, partitions = true, disk_stalls = true, torn_writes = true;
    bool clock_skew = true;
    int64_t fault_every_ms = 1500; // mean time between nemesis actions
    int64_t disk_lat_min_us = 200, disk_lat_max_us = 3000;
    int64_t snap_every = 200;   // applies between a node's snapshots
    uint32_t counter_limit = 0; // zxid counter at which a leader rolls the epoch (0: default)
    uint32_t lag_resync = 64;   // follower's log backlog that detaches it (cv_zab_config)
    uint32_t zab_mutate = 0;    // CV_ZAB_MUT_*
    bool mut_expire_in_election = false;
    bool verbose = false;
};

struct Stats {
    uint64_t ops = 0, acked_writes = 0, unknown_writes = 0, reads = 0, sync_reads = 0;
    uint64_t crashes = 0, torn = 0, partitions = 0, stalls = 0, elections = 0;
    uint64_t expired_told = 0, dgrams = 0, dgrams_lost = 0, snaps_sent = 0, truncs = 0;
    uint64_t max_zxid_counter = 0;
    uint64_t epoch_rolls = 0;
    uint64_t lag_detaches = 0, lag_resyncs = 0;
};

struct Result {
    bool ok = true;
    std::string violation; // first violation, empty when ok
    Stats st;
    std::string repro; // one line that replays this run
};

std::string repro_line(const Options &o);

// One simulated run with the random nemesis.
Result run_random(const Options &o);

class World;
// Scenario access (tests/sim/test_sim_scenarios.cc): the world is built
// without a nemesis and driven step by step.
std::unique_ptr<World> make_world(const Options &o);

class World
{
  public:
    virtual ~World() = default;
    virtual void run_for(int64_t ms) = 0;
    virtual int64_t now_ms() const = 0;
    // nodes are 1..N(+observers)
    virtual int leader() const = 0; // an established leader, 0 if none
    virtual bool serving(int node) const = 0;
    virtual void crash(int node, bool torn) = 0;
    virtual void restart(int node) = 0;
    virtual void partition(const std::vector<int> &side_a) = 0; // a | rest (both ways)
    virtual void block(int from, int to, bool blocked) = 0;     // one way, node ids
    virtual void heal() = 0;
    virtual void set_disk_latency(int node, int64_t min_us, int64_t max_us) = 0;
    virtual void set_link_latency(int from, int to, int64_t extra_us) = 0;
    // clients: 0..M-1
    virtual void client_connect(int client, int node) = 0;   // (re)connect to node
    virtual void client_block(int client, bool blocked) = 0; // cut from every node
    virtual void client_auto(int client, bool on) = 0;       // random workload on/off
    virtual bool client_connected(int client) const = 0;
    virtual int64_t client_session(int client) const = 0;
    virtual uint64_t client_expired_count(int client) const = 0;
    virtual uint64_t conns_closed_by_servers(int node) const = 0;
    virtual uint64_t role_changes(int node) const = 0;
    // queue a request (frame built by the client); returns its xid
    virtual int32_t client_create_ephemeral(int client, const std::string &path) = 0;
    virtual int32_t client_exists(int client, const std::string &path, bool watch) = 0;
    virtual int32_t client_set_watches(int client, const std::vector<std::string> &paths) = 0;
    // result of a request: -1000 while pending, else the error code
    virtual int32_t client_result(int client, int32_t xid) const = 0;
    virtual int64_t client_result_owner(int client, int32_t xid) const = 0; // exists: owner
    virtual int node_watch_count(int node, int64_t session) const = 0;
    virtual int node_ephemeral_count(int node, int64_t session) const = 0;
    virtual bool node_session_live(int node, int64_t session) const = 0;
    // every checker; returns "" or the first violation
    virtual std::string check() = 0;
    // heal, restart, let it settle, final reads; returns "" or why it did not
    virtual std::string settle() = 0;
    virtual Stats stats() const = 0;
};

} // namespace sim
