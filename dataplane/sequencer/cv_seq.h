/*
 * cv_seq — the sequencer lcore of a server (standalone or ensemble member): it owns the pure core
 * (tree, sessions, watches), the table of client connections as the
 * sequencer knows them (session, authenticated ids, counters), and turns the
 * messages io lcores send into prepare / apply / read calls and their answers
 * into messages back.
 *
 * Contract
 * - Runs only on the sequencer lcore (cv_seq_poll is its poller). The io
 *   lcores reach it only through SPSC rings; everything here is owned by it.
 * - Every request an io lcore forwards is answered by exactly one message
 *   carrying answers = 1 (a reply, or a close), which is what the io lcore's
 *   outstanding-request accounting relies on.
 * - Connect (S1, S2, S5): a new session's ConnectResponse is sent only after
 *   its createSession is applied; a reconnect is validated (liveness and the
 *   keyed-MAC password) before anything else the connection sent is read; an
 *   invalid session gets ZooKeeper's "expired" ConnectResponse (timeout 0,
 *   session 0) and the connection is closed with nothing registered. A
 *   session that reconnects elsewhere has its old connection closed.
 * - Durability (S6): with storage configured, a write is prepared (its
 *   zxid and its validation against the outstanding changes decided at
 *   once), handed to the log, and applied and answered only when the log
 *   says it is durable (forceSync=no: once appended).
 * - Per-session FIFO: a read (or sync) waits until every write its
 *   connection sent before it is applied; requests behind a waiting one
 *   wait too, in order. sync also waits for every write prepared before it,
 *   from any session. Waiting requests stay in the sequencer (bounded by the
 *   io lcores' outstanding limit); a connection that goes away still gets
 *   one answer per request for its io lcore's accounting.
 * - S4, local part: nothing here blocks on the disk. While the log stalls,
 *   pings (answered by the io lcores), session touches and reads of
 *   sessions without pending writes go on; writes queue.
 * - Four-letter words are rendered by a hook the control plane provides,
 *   with read access to this sequencer's state.
 *
 * Ensemble member (cfg->ens set): the sequencer also runs cv_zab and polls
 * the UDP peer transport (cv_pnet). Writes go through Zab: the leader
 * prepares and proposes its own clients' writes and the ones followers
 * forward (with the session's authenticated ids); every member applies
 * committed transactions in zxid order and answers its own clients from
 * apply. Session rules (docs/replication.md):
 * - the connecting server chooses a new session's id and answers only after
 *   its createSession is applied locally (S1, S5);
 * - a reconnect is revalidated by a leader touch and a leader-confirmed
 *   sync, then decided from local applied state; "expired" is said only
 *   after the session's close is applied locally (S2);
 * - only the leader expires sessions; followers carry their clients' pings
 *   to it (S4: a disk stall never stops pings or touches);
 * - losing the leader (LOOKING) closes every client connection; clients
 *   reconnect elsewhere within their session timeout.
 * - sync is answered after a quorum confirmed the leader (cv_zab_sync) and
 *   this member applied everything the leader had proposed by then.
 * - readonlymode.enabled: see struct cv_seq_ensemble.read_only.
 * Reads are served locally (a follower may be behind, as in ZooKeeper);
 * a session's reads wait for its own outstanding writes (FIFO per session).
 */
#ifndef CV_SEQ_H
#define CV_SEQ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cv_core.h"
#include "cv_pnet.h"
#include "cv_runtime.h"
#include "cv_store.h"
#include "cv_zab.h"

#ifdef __cplusplus
extern "C" {
#endif

struct cv_seq;

struct cv_seq_hooks {
    void *ctx;
    /* Render the reply to a four-letter word into out (at most cap bytes);
     * return its length. */
    size_t (*fourlw)(void *ctx, struct cv_seq *seq, const char cmd[4], char *out, size_t cap);
};

/* Ensemble membership (cv_seq_config.ens). */
struct cv_seq_ensemble {
    struct cv_zab_config zab;   /* self, voters, observers, ticks and limits */
    struct cv_pnet_config pnet; /* the peer transport (every member's quorum address) */
    /* readonlymode.enabled: without a leader (after max(2 s, tickTime) of
     * LOOKING, as ZooKeeper waits), accept clients that allow read-only
     * mode: reads from local state, NOTREADONLY for writes and sync; every
     * such connection is closed when the member rejoins a quorum. */
    bool read_only;
};

struct cv_seq_config {
    struct cv_core_config core;
    const struct cv_seq_ensemble *ens;   /* NULL: standalone */
    uint32_t conns_per_io;               /* connection slots of each io lcore */
    int64_t container_check_ms;          /* how often containers / TTL nodes are checked */
    const struct cv_store_config *store; /* required (-EINVAL without) */
};

int cv_seq_new(struct cv_seq **out, struct cv_rt *rt, const struct cv_seq_config *cfg,
               struct rte_ring *const *from_io, struct rte_ring *const *to_io, unsigned nio,
               const struct cv_seq_hooks *hooks, char *err, size_t errlen);
void cv_seq_free(struct cv_seq *s);
/* cv_seq_new recovers the state from storage first: -EUCLEAN (with err)
 * when the data directory's history is damaged (the server must not start). */
int cv_seq_poll(void *seq);

/* ---- read access for the control plane (sequencer lcore only) ------------- */

struct cv_core *cv_seq_core(struct cv_seq *s);

struct cv_seq_stats {
    uint64_t received, sent; /* packets, as ZooKeeper counts them */
    uint64_t lat_min_us, lat_max_us, lat_sum_us, lat_count;
    uint64_t requests, writes, reads, connects, expired, auth_failed, malformed;
    uint32_t connections;
    uint32_t sessions_here; /* sessions whose connection is to this server */
    uint32_t pending_txns;  /* prepared, not yet applied (waiting for the log) */
    uint32_t held_requests; /* requests waiting in the sequencer (per-session FIFO) */
    int64_t started_ms;
    /* request latency (arrival at the sequencer -> answer), bucket i:
     * [2^i, 2^(i+1)) us as cv_wal_stats.hist; writes (arrival -> commit) apart */
    uint64_t lat_hist[32];
    uint64_t write_hist[32];
    uint64_t write_lat_sum_us;
    uint64_t lat_hist_sum_us; /* lat_hist's sum (srst keeps it, as the buckets) */
    /* ensemble: proposal handed to this member's log -> committed here */
    uint64_t prop_hist[32];
    uint64_t prop_count, prop_sum_us;
};
void cv_seq_get_stats(const struct cv_seq *s, struct cv_seq_stats *st);
void cv_seq_reset_stats(struct cv_seq *s);
/* Ensemble: the Zab state machine and the peer transport (NULL standalone). */
struct cv_zab *cv_seq_zab(struct cv_seq *s);
struct cv_pnet *cv_seq_pnet(struct cv_seq *s);
/* Ensemble figures the four-letter words print beside cv_zab's. */
struct cv_seq_ens_stats {
    int64_t leading_since_ms;                          /* -1 unless leading */
    int64_t proposal_last, proposal_min, proposal_max; /* bytes; -1 none (since srst) */
};
void cv_seq_get_ens_stats(const struct cv_seq *s, struct cv_seq_ens_stats *st);
/* An ensemble member without a leader serving read-only clients. */
bool cv_seq_read_only(const struct cv_seq *s);
/* The peer transport's socket (an idle reactor waits on it); -1 standalone. */
int cv_seq_peer_fd(const struct cv_seq *s);
/* Readable when a log write completes (-1: none). Once the caller has made
 * the sequencer lcore's idle wait include it, cv_seq_disk_wakes tells the
 * sequencer so: a write in flight then no longer keeps the lcore polling
 * (with more pollers than CPUs, spinning starved the kernel worker that
 * completes the write). */
int cv_seq_disk_fd(const struct cv_seq *s);
void cv_seq_disk_wakes(struct cv_seq *s);
/* Storage counters (recovery, log, snapshots). */
void cv_seq_store_stats(const struct cv_seq *s, struct cv_store_stats *out);
/* Start a snapshot of the applied state now: 0, -EALREADY (one is being
 * written), or -errno of fork. */
int cv_seq_snapshot_now(struct cv_seq *s);

struct cv_seq_conn_info {
    char peer[48];
    uint16_t port;
    int64_t session;
    int32_t timeout;
    uint64_t received, sent;
    int64_t established_ms, last_response_ms;
    int32_t last_cxid;
    int64_t last_zxid;
    const char *last_op; /* ZooKeeper's 4-letter op names: GETD, SETD, ... */
    uint64_t lat_min_us, lat_max_us, lat_sum_us, lat_count;
};
/* Visit every established connection; stop on a nonzero return. */
int cv_seq_foreach_conn(struct cv_seq *s, int (*fn)(void *ctx, const struct cv_seq_conn_info *c),
                        void *ctx);
void cv_seq_reset_conn_stats(struct cv_seq *s);

#ifdef __cplusplus
}
#endif
#endif /* CV_SEQ_H */
