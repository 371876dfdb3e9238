/*
 * cv_metrics — corvid's one registry of counters, gauges and latency
 * histograms: every figure mntr, the admin HTTP server, /metrics and the
 * DPDK telemetry commands print comes from here.
 *
 * Contract
 * - The metrics are a fixed list (CV_METRICS / CV_HISTS below), so a writer
 *   addresses one by its enum id: no lookup, no allocation, no lock.
 * - One slot per lcore (struct cv_metrics_slot, cache-line aligned, its
 *   histograms too): only that lcore writes it, with plain relaxed stores
 *   (no lock prefix, no atomic read-modify-write); any thread may read it.
 *   A reader sees each 64-bit value whole; values of different metrics may
 *   be from different moments (a reader sums what it finds).
 * - Readers (the control plane: HTTP threads, DPDK's telemetry thread, the
 *   sequencer rendering mntr) call cv_metrics_read, which sums the slots:
 *   a counter's total is the sum of its per-lcore parts; a gauge that one
 *   lcore owns (the sequencer's znode count) is read from wherever it is
 *   written, the other slots holding 0. Metrics flagged CV_MF_PER_LCORE are
 *   also exported per lcore (label lcore="N").
 * - Signed values (CV_MF_SIGNED) are stored as int64 bit patterns; -1 is
 *   ZooKeeper's "none" for BufferStats-like figures.
 * - Histograms: CV_HIST_BUCKETS power-of-two buckets of microseconds.
 *   bucket[b] counts samples with 2^b <= us < 2^(b+1) (bucket 0 also counts
 *   0); the last bucket also counts everything larger. count and sum (us)
 *   are kept beside them. Prometheus renders bucket b's upper bound
 *   ("le") as 2^(b+1) us in seconds.
 * - Names: `name` is the Prometheus name. Where ZooKeeper has the figure it
 *   is ZooKeeper's name (its PrometheusMetricsProvider exports mntr's keys
 *   without "zk_"), so ZooKeeper dashboards work; corvid's own figures are
 *   "corvid_"-prefixed. `zk` is the mntr key without "zk_" (NULL: not in
 *   mntr). `scale` converts the stored value to the exported unit
 *   (1e-6: microseconds stored, seconds exported).
 */
#ifndef CV_METRICS_H
#define CV_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cv_common.h"

#ifdef __cplusplus
extern "C" {
#endif

enum cv_metric_kind { CV_METRIC_COUNTER, CV_METRIC_GAUGE };

#define CV_MF_SIGNED    1u /* an int64 value (may be negative) */
#define CV_MF_PER_LCORE 2u /* also exported per lcore (label lcore) */

/* X(id, kind, flags, name, zk, scale, help) */
#define CV_METRICS(X)                                                                              \
    /* ---- the sequencer lcore: requests as ZooKeeper counts them -------- */                     \
    X(PACKETS_RECEIVED, COUNTER, 0, "packets_received", "packets_received", 1,                     \
      "Packets received from clients (requests and pings)")                                        \
    X(PACKETS_SENT, COUNTER, 0, "packets_sent", "packets_sent", 1,                                 \
      "Packets sent to clients (replies, pings and notifications)")                                \
    X(REQUESTS, COUNTER, 0, "corvid_requests_total", NULL, 1, "Requests the sequencer handled")    \
    X(READS, COUNTER, 0, "corvid_reads_total", NULL, 1, "Read requests answered")                  \
    X(WRITES, COUNTER, 0, "corvid_writes_total", NULL, 1, "Write requests answered")               \
    X(CONNECTS, COUNTER, 0, "corvid_connects_total", NULL, 1, "ConnectRequests handled")           \
    X(SESSIONS_EXPIRED, COUNTER, 0, "corvid_sessions_expired_total", NULL, 1,                      \
      "Connections refused because their session had expired")                                     \
    X(AUTH_FAILED, COUNTER, 0, "auth_failed_count", "auth_failed_count", 1,                        \
      "Authentication failures")                                                                   \
    X(MALFORMED, COUNTER, 0, "corvid_malformed_requests_total", NULL, 1,                           \
      "Requests that could not be decoded")                                                        \
    X(LAT_COUNT, COUNTER, 0, "corvid_latency_samples_total", NULL, 1,                              \
      "Requests whose latency was measured")                                                       \
    X(LAT_SUM_US, COUNTER, 0, "corvid_request_time_seconds_total", NULL, 1e-6,                     \
      "Time spent answering requests (the sum of their latencies)")                                \
    X(LAT_MIN_US, GAUGE, 0, "corvid_request_latency_min_seconds", NULL, 1e-6,                      \
      "Smallest request latency")                                                                  \
    X(LAT_MAX_US, GAUGE, 0, "corvid_request_latency_max_seconds", NULL, 1e-6,                      \
      "Largest request latency")                                                                   \
    X(OUTSTANDING, GAUGE, 0, "outstanding_requests", "outstanding_requests", 1,                    \
      "Requests in the sequencer not answered yet")                                                \
    X(PENDING_TXNS, GAUGE, 0, "corvid_pending_txns", "corvid_pending_txns", 1,                     \
      "Writes prepared, waiting for the log (or the quorum)")                                      \
    X(HELD_REQUESTS, GAUGE, 0, "corvid_held_requests", "corvid_held_requests", 1,                  \
      "Requests waiting behind their session's writes")                                            \
    X(CONNECTIONS, GAUGE, 0, "num_alive_connections", "num_alive_connections", 1,                  \
      "Client connections with a session or a pending connect")                                    \
    /* ---- the sequencer lcore: the tree, sessions, watches -------------- */                     \
    X(ZXID, GAUGE, CV_MF_SIGNED, "corvid_last_zxid", NULL, 1, "Last applied zxid")                 \
    X(ZNODE_COUNT, GAUGE, 0, "znode_count", "znode_count", 1,                                      \
      "Znodes (ZooKeeper's count: the root twice)")                                                \
    X(EPHEMERALS, GAUGE, 0, "ephemerals_count", "ephemerals_count", 1, "Ephemeral znodes")         \
    X(DATA_SIZE, GAUGE, 0, "approximate_data_size", "approximate_data_size", 1,                    \
      "Bytes of znode paths and data")                                                             \
    X(SESSIONS, GAUGE, 0, "global_sessions", "global_sessions", 1, "Live sessions")                \
    X(SESSIONS_CONNECTED, GAUGE, 0, "corvid_sessions_connected", NULL, 1,                          \
      "Sessions with a connection to this server")                                                 \
    X(WATCH_COUNT, GAUGE, 0, "watch_count", "watch_count", 1, "Watches (path, session) pairs")     \
    X(WATCH_SESSIONS, GAUGE, 0, "corvid_watch_sessions", NULL, 1, "Sessions holding a watch")      \
    X(WATCH_PATHS, GAUGE, 0, "corvid_watch_paths", NULL, 1, "Distinct watched paths")              \
    /* ---- the sequencer lcore: server state ---------------------------- */                      \
    X(MODE, GAUGE, 0, "corvid_server_mode", NULL, 1,                                               \
      "0 standalone, 1 leader, 2 follower, 3 observer, 4 read-only")                               \
    X(SERVING, GAUGE, 0, "corvid_serving", NULL, 1, "1 while the server serves clients")           \
    X(STARTED_MS, GAUGE, CV_MF_SIGNED, "corvid_start_time_seconds", NULL, 1e-3,                    \
      "When the server started (seconds since the epoch)")                                         \
    X(QUORUM_SIZE, GAUGE, 0, "quorum_size", "quorum_size", 1, "Voting members")                    \
    X(LEADER_ID, GAUGE, CV_MF_SIGNED, "corvid_leader_id", NULL, 1,                                 \
      "The leader's id (-1: none; 0 standalone)")                                                  \
    X(LEADING_SINCE_MS, GAUGE, CV_MF_SIGNED, "corvid_leader_start_time_seconds", NULL, 1e-3,       \
      "When this member became leader (seconds since the epoch; 0: not leading)")                  \
    X(LEARNERS, GAUGE, 0, "learners", "learners", 1, "Leader: peers connected")                    \
    X(SYNCED_FOLLOWERS, GAUGE, 0, "synced_followers", "synced_followers", 1,                       \
      "Leader: voters in sync")                                                                    \
    X(SYNCED_OBSERVERS, GAUGE, 0, "synced_observers", "synced_observers", 1,                       \
      "Leader: observers in sync")                                                                 \
    X(PENDING_SYNCS, GAUGE, 0, "pending_syncs", "pending_syncs", 1,                                \
      "Leader: peers being synchronised")                                                          \
    X(PROPOSAL_LAST, GAUGE, CV_MF_SIGNED, "last_proposal_size", "last_proposal_size", 1,           \
      "Bytes of the last proposal (-1: none)")                                                     \
    X(PROPOSAL_MIN, GAUGE, CV_MF_SIGNED, "min_proposal_size", "min_proposal_size", 1,              \
      "Smallest proposal, bytes (-1: none)")                                                       \
    X(PROPOSAL_MAX, GAUGE, CV_MF_SIGNED, "max_proposal_size", "max_proposal_size", 1,              \
      "Largest proposal, bytes (-1: none)")                                                        \
    X(ELECTIONS, COUNTER, 0, "looking_count", "looking_count", 1, "Times LOOKING was entered")     \
    X(PROPOSALS, COUNTER, 0, "proposal_count", "proposal_count", 1,                                \
      "Proposals sent (leader) or received (follower)")                                            \
    X(COMMITS, COUNTER, 0, "commit_count", "commit_count", 1, "Transactions committed")            \
    X(SYNCS_DIFF, COUNTER, 0, "diff_count", "diff_count", 1, "Leader: DIFF syncs sent")            \
    X(SYNCS_TRUNC, COUNTER, 0, "corvid_syncs_trunc_total", NULL, 1, "Leader: TRUNC syncs sent")    \
    X(SYNCS_SNAP, COUNTER, 0, "corvid_syncs_snap_total", NULL, 1, "Leader: SNAP syncs sent")       \
    X(PEERS_DROPPED, COUNTER, 0, "corvid_peers_dropped_total", NULL, 1,                            \
      "Leader: followers dropped for silence")                                                     \
    X(LAG_DETACHES, COUNTER, 0, "corvid_follower_lag_detaches_total", NULL, 1,                     \
      "Follower: times its log fell behind the lag bound")                                         \
    X(LAG_RESYNCS, COUNTER, 0, "corvid_follower_lag_resyncs_total", NULL, 1,                       \
      "Follower: log resynchronised in place")                                                     \
    X(ACK_LAG, GAUGE, 0, "corvid_follower_ack_lag", NULL, 1,                                       \
      "Proposals sent (leader) or received (follower) and not yet committed")                      \
    X(PEER_BAD_MESSAGES, COUNTER, 0, "corvid_peer_bad_messages_total", NULL, 1,                    \
      "Peer datagrams that failed to decode")                                                      \
    /* ---- the sequencer lcore: storage --------------------------------- */                      \
    X(FSYNC_SLOW, COUNTER, 0, "fsync_threshold_exceed_count", "fsync_threshold_exceed_count", 1,   \
      "Log writes slower than fsync.warningthresholdms")                                           \
    X(LOG_BATCHES, COUNTER, 0, "corvid_log_batches_total", "corvid_log_batches", 1,                \
      "Log writes (group commits)")                                                                \
    X(LOG_RECORDS, COUNTER, 0, "corvid_log_records_total", "corvid_log_records", 1,                \
      "Log records written")                                                                       \
    X(LOG_BYTES, COUNTER, 0, "corvid_log_bytes_total", "corvid_log_bytes", 1, "Log bytes written") \
    X(LOG_WRITE_MIN_US, GAUGE, 0, "corvid_log_write_min_seconds", NULL, 1e-6, "Fastest log write") \
    X(LOG_WRITE_MAX_US, GAUGE, 0, "corvid_log_write_max_seconds", "corvid_log_write_max_us", 1e-6, \
      "Slowest log write")                                                                         \
    X(LOG_BACKEND, GAUGE, 0, "corvid_log_backend", NULL, 1, "0 pwrite, 1 io_uring")                \
    X(SNAPSHOTS, COUNTER, 0, "snap_count", "snap_count", 1, "Snapshots written")                   \
    X(SNAPSHOT_FAILURES, COUNTER, 0, "corvid_snapshot_failures_total", "corvid_snapshot_failures", \
      1, "Snapshots that failed")                                                                  \
    X(SNAPSHOT_MS_LAST, GAUGE, 0, "corvid_snapshot_last_duration_seconds", NULL, 1e-3,             \
      "Duration of the last snapshot")                                                             \
    X(SNAPSHOT_MS_MAX, GAUGE, 0, "corvid_snapshot_max_duration_seconds", NULL, 1e-3,               \
      "Longest snapshot")                                                                          \
    X(SNAPSHOT_MS_SUM, COUNTER, 0, "corvid_snapshot_duration_seconds_total", NULL, 1e-3,           \
      "Time spent writing snapshots")                                                              \
    X(SNAPSHOT_ZXID, GAUGE, CV_MF_SIGNED, "corvid_snapshot_last_zxid",                             \
      "corvid_snapshot_last_zxid", 1, "zxid of the newest snapshot (-1: none)")                    \
    X(SNAPSHOT_TIME_MS, GAUGE, CV_MF_SIGNED, "corvid_snapshot_last_time_seconds", NULL, 1e-3,      \
      "When the newest snapshot was taken (seconds since the epoch; 0: none)")                     \
    X(SNAPSHOT_FORK_MAX_US, GAUGE, 0, "corvid_snapshot_fork_max_seconds",                          \
      "corvid_snapshot_fork_max_us", 1e-6, "Longest fork() of a snapshot")                         \
    X(RECOVERED_RECORDS, GAUGE, 0, "corvid_recovered_records", NULL, 1,                            \
      "Log records replayed at start-up")                                                          \
    X(RECOVERY_MS, GAUGE, 0, "corvid_recovery_seconds", NULL, 1e-3, "Start-up recovery time")      \
    X(LCORE_ITERATIONS, COUNTER, CV_MF_PER_LCORE, "corvid_lcore_iterations_total", NULL, 1,        \
      "Poll loop iterations")                                                                      \
    X(LCORE_BUSY, COUNTER, CV_MF_PER_LCORE, "corvid_lcore_busy_iterations_total", NULL, 1,         \
      "Poll loop iterations that did work (occupancy = busy / iterations)")                        \
    X(LCORE_SLEEPS, COUNTER, CV_MF_PER_LCORE, "corvid_lcore_sleeps_total", NULL, 1,                \
      "Times an adaptive poll loop slept")                                                         \
    /* ---- io lcores: connections and rings ---------------------------- */                       \
    X(IO_ACCEPTED, COUNTER, CV_MF_PER_LCORE, "corvid_io_accepted_total", NULL, 1,                  \
      "Connections accepted")                                                                      \
    X(IO_CLOSED, COUNTER, CV_MF_PER_LCORE, "corvid_io_closed_total", NULL, 1,                      \
      "Connections closed")                                                                        \
    X(IO_REFUSED, COUNTER, CV_MF_PER_LCORE, "connection_rejected", "connection_rejected", 1,       \
      "Connections refused (maxClientCnxns or no free slot)")                                      \
    X(IO_BAD_FRAMES, COUNTER, CV_MF_PER_LCORE, "corvid_io_bad_frames_total", NULL, 1,              \
      "Connections closed for a malformed or oversized frame")                                     \
    X(IO_SLOW_READERS, COUNTER, CV_MF_PER_LCORE, "corvid_io_slow_readers_total", NULL, 1,          \
      "Connections closed because their output queue overflowed")                                  \
    X(IO_PINGS, COUNTER, CV_MF_PER_LCORE, "corvid_io_pings_total", NULL, 1,                        \
      "Pings answered on the io lcore")                                                            \
    X(IO_FRAMES_IN, COUNTER, CV_MF_PER_LCORE, "corvid_io_frames_received_total", NULL, 1,          \
      "Client frames received (connects, requests, pings)")                                        \
    X(IO_BYTES_IN, COUNTER, CV_MF_PER_LCORE, "bytes_received_count", "bytes_received_count", 1,    \
      "Bytes received from clients")                                                               \
    X(IO_OPEN, GAUGE, CV_MF_PER_LCORE, "corvid_io_connections", NULL, 1, "Open client sockets")    \
    X(IO_OUTSTANDING, GAUGE, CV_MF_PER_LCORE, "corvid_io_outstanding", NULL, 1,                    \
      "Requests forwarded to the sequencer, not answered yet")                                     \
    X(IO_RING_TO_SEQ, GAUGE, CV_MF_PER_LCORE, "corvid_ring_to_sequencer_depth", NULL, 1,           \
      "Messages waiting in the ring to the sequencer")                                             \
    X(IO_RING_FROM_SEQ, GAUGE, CV_MF_PER_LCORE, "corvid_ring_from_sequencer_depth", NULL, 1,       \
      "Messages waiting in the ring from the sequencer")                                           \
    /* ---- the process: filled at read time (cv_server_read), not published */                    \
    X(OPEN_FDS, GAUGE, 0, "open_file_descriptor_count", "open_file_descriptor_count", 1,           \
      "Open file descriptors")                                                                     \
    X(MAX_FDS, GAUGE, 0, "max_file_descriptor_count", "max_file_descriptor_count", 1,              \
      "File descriptor limit")

/* X(id, name, help): histograms of microseconds. */
#define CV_HISTS(X)                                                                                \
    X(REQUEST_LATENCY, "corvid_request_latency_seconds",                                           \
      "Time from a request's arrival at the sequencer to its answer")                              \
    X(LOG_WRITE, "corvid_log_write_seconds", "Duration of one log write (group commit)")           \
    X(COMMIT_LATENCY, "corvid_commit_latency_seconds",                                             \
      "Time from a client's write reaching the sequencer to its commit and answer")                \
    X(PROPOSAL_COMMIT, "corvid_proposal_commit_seconds",                                           \
      "Ensemble: time from a proposal reaching this member's log queue to its commit here")

enum cv_metric_id {
#define CV_M_ENUM(id, kind, flags, name, zk, scale, help) CV_M_##id,
    CV_METRICS(CV_M_ENUM)
#undef CV_M_ENUM
        CV_M_COUNT
};

enum cv_hist_id {
#define CV_H_ENUM(id, name, help) CV_H_##id,
    CV_HISTS(CV_H_ENUM)
#undef CV_H_ENUM
        CV_H_COUNT
};

struct cv_metric_def {
    const char *name; /* Prometheus name */
    const char *zk;   /* mntr key without "zk_", or NULL */
    enum cv_metric_kind kind;
    unsigned flags;
    double scale;
    const char *help;
};
extern const struct cv_metric_def cv_metric_defs[CV_M_COUNT];

struct cv_hist_def {
    const char *name; /* Prometheus name (a histogram in seconds) */
    const char *help;
};
extern const struct cv_hist_def cv_hist_defs[CV_H_COUNT];

#define CV_HIST_BUCKETS 32

struct cv_hist {
    uint64_t bucket[CV_HIST_BUCKETS];
    uint64_t count, sum_us;
};

#define CV_METRICS_SLOTS 17 /* CV_RT_MAX_LCORES + 1 for a thread outside the reactors */

struct cv_metrics_slot {
    uint64_t v[CV_M_COUNT];
    struct cv_hist h[CV_H_COUNT];
    unsigned lcore; /* the lcore id (EAL numbering) this slot belongs to */
    bool used;
} __attribute__((aligned(64)));

struct cv_metrics {
    struct cv_metrics_slot slot[CV_METRICS_SLOTS];
};

/* A zeroed registry (cache-line aligned), or NULL. */
struct cv_metrics *cv_metrics_new(void);
void cv_metrics_free(struct cv_metrics *m);
/* Slot i (0..CV_METRICS_SLOTS-1) claimed for lcore `lcore`; call at start-up,
 * before the lcores run. */
struct cv_metrics_slot *cv_metrics_claim(struct cv_metrics *m, unsigned i, unsigned lcore);

/* ---- writers (the slot's own lcore only) ---------------------------------- */

static inline void cv_metric_set(struct cv_metrics_slot *s, enum cv_metric_id id, uint64_t v)
{
    __atomic_store_n(&s->v[id], v, __ATOMIC_RELAXED);
}
static inline void cv_metric_set_i(struct cv_metrics_slot *s, enum cv_metric_id id, int64_t v)
{
    __atomic_store_n(&s->v[id], (uint64_t)v, __ATOMIC_RELAXED);
}
static inline void cv_metric_add(struct cv_metrics_slot *s, enum cv_metric_id id, uint64_t d)
{
    __atomic_store_n(&s->v[id], __atomic_load_n(&s->v[id], __ATOMIC_RELAXED) + d, __ATOMIC_RELAXED);
}
static inline void cv_hist_add(struct cv_metrics_slot *s, enum cv_hist_id id, uint64_t us)
{
    struct cv_hist *h = &s->h[id];
    uint64_t *b = &h->bucket[cv_log2_bucket(us, CV_HIST_BUCKETS)];
    __atomic_store_n(b, __atomic_load_n(b, __ATOMIC_RELAXED) + 1, __ATOMIC_RELAXED);
    __atomic_store_n(&h->count, __atomic_load_n(&h->count, __ATOMIC_RELAXED) + 1, __ATOMIC_RELAXED);
    __atomic_store_n(&h->sum_us, __atomic_load_n(&h->sum_us, __ATOMIC_RELAXED) + us,
                     __ATOMIC_RELAXED);
}
/* Publish a histogram a module keeps itself (same bucket layout). */
void cv_hist_publish(struct cv_metrics_slot *s, enum cv_hist_id id, const uint64_t *bucket,
                     unsigned nbuckets, uint64_t count, uint64_t sum_us);

/* ---- readers (any thread) -------------------------------------------------- */

struct cv_metrics_read {
    int64_t v[CV_M_COUNT]; /* summed over the slots (signed metrics: as int64) */
    struct cv_hist h[CV_H_COUNT];
    unsigned nslots; /* slots in use, in slot order */
    struct {
        unsigned lcore;
        int64_t v[CV_M_COUNT];
    } slot[CV_METRICS_SLOTS];
};
void cv_metrics_read(const struct cv_metrics *m, struct cv_metrics_read *out);

/* The metric whose mntr key (without "zk_") is key, or -1. */
int cv_metrics_find_zk(const char *key);
/* The metric with Prometheus name `name`, or -1. */
int cv_metrics_find(const char *name);

#ifdef __cplusplus
}
#endif
#endif /* CV_METRICS_H */
