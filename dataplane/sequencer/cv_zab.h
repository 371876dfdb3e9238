/*
 * cv_zab — Zab atomic broadcast as a pure state machine: fast leader
 * election, discovery, synchronisation (DIFF / TRUNC / SNAP) and broadcast.
 *
 * Contract
 * - Pure: no I/O, no clocks, no threads, no global state. Events come in
 *   through the cv_zab_* calls (a peer message, a log append made durable, a
 *   tick, a transaction to propose); actions go out through the host's
 *   callbacks, synchronously, during the call that caused them. A callback
 *   must not call back into the same cv_zab (defer such work until the call
 *   returns). The same events in the same order give the same actions.
 * - Transport: the host delivers each peer's messages in order, without loss
 *   or duplication, for as long as the pair is not reset (cv_chan gives this
 *   over UDP). host->reset_peer breaks a pair (like closing a TCP
 *   connection); the host reports a pair broken by the other side, or by its
 *   own buffer overflow, with cv_zab_peer_reset.
 * - Log: host->append hands over one proposal (the host copies it) to be
 *   made durable asynchronously and in order; the host reports progress with
 *   cv_zab_logged. host->truncate and host->install and host->persist_epochs
 *   are durable when they return.
 * - State: host->apply is called once per committed transaction, in zxid
 *   order, on every server (leader, followers, observers). A follower applies
 *   a COMMIT for a proposal it holds even before its own append is durable
 *   (the proposal is durable on a quorum); it ACKs only what is durable (S4).
 *   Only committed transactions are ever applied, so TRUNC never has to undo
 *   applied state.
 * - Liveness rules (S4): pings travel independently of the log; the leader
 *   drops a follower only for silence (syncLimit ticks), never for log lag; a
 *   follower whose disk stalls stays connected and is simply not counted in
 *   the quorum of the proposals it has not logged.
 * - zxid = epoch << 32 | counter. The leader stops accepting proposals when
 *   the counter reaches counter_limit, lets the in-flight ones commit, and
 *   steps down so a new election starts a new epoch (ZooKeeper forces an
 *   election on counter overflow; this does it cleanly).
 * - Memory: cv_zab_new allocates the proposal history (committed proposals
 *   kept for DIFF, plus the uncommitted ones) as a byte ring; proposing and
 *   receiving proposals do not allocate. SNAP transfer buffers the snapshot
 *   (allocated per transfer, off the request path).
 */
#ifndef CV_ZAB_H
#define CV_ZAB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cv_peer.h"

#ifdef __cplusplus
extern "C" {
#endif

#define CV_ZAB_MAX_SERVERS 64 /* server ids 1..63 */

static inline int64_t cv_zab_epoch_of(int64_t zxid)
{
    return (int64_t)((uint64_t)zxid >> 32);
}
static inline int64_t cv_zab_zxid(int64_t epoch, uint32_t counter)
{
    return (int64_t)(((uint64_t)epoch << 32) | counter);
}

enum cv_zab_role { CV_ZAB_LOOKING = 0, CV_ZAB_FOLLOWING, CV_ZAB_LEADING, CV_ZAB_OBSERVING };

/* Test-only rule breakers: the simulator must catch each (tests/sim). */
enum {
    CV_ZAB_MUT_COMMIT_EARLY = 1u << 0, /* leader commits a proposal before a quorum logged it */
    CV_ZAB_MUT_SKIP_TRUNC = 1u << 1,   /* leader sends DIFF where TRUNC is needed */
    CV_ZAB_MUT_ACK_EARLY = 1u << 2,    /* follower ACKs a proposal before it is durable */
};

struct cv_zab_config {
    uint8_t self;       /* this server's id, 1..63 */
    uint64_t voters;    /* bit i: server i votes */
    uint64_t observers; /* bit i: server i observes (never votes) */
    /* Quorum verifier: whether the voters in `set` form a quorum. NULL:
     * majority of cfg.voters. */
    bool (*is_quorum)(void *ctx, uint64_t set);
    void *quorum_ctx;
    int64_t tick_ms;        /* tickTime */
    int32_t init_limit;     /* ticks allowed for discovery + sync */
    int32_t sync_limit;     /* ticks of silence before a peer is dropped */
    int64_t finalize_ms;    /* election: how long a quorum's agreement must hold */
    uint32_t history;       /* proposals kept (committed and not) */
    uint64_t history_bytes; /* bytes of proposals kept */
    uint32_t max_inflight;  /* proposed, not committed */
    uint32_t counter_limit; /* zxid counter at which the leader rolls the epoch */
    uint32_t snap_chunk;    /* SNAP chunk size */
    uint32_t max_touches;   /* sessions buffered between follower pings */
    /* Follower: when this many proposals wait for its disk, it stops feeding
     * the log (still applying commits and serving its clients), and once the
     * disk has caught up it asks the leader to resynchronise its log (RESYNC:
     * DIFF or SNAP) without leaving its role. 0: never (the log queue grows
     * with the lag). */
    uint32_t lag_resync;
    uint32_t mutate; /* CV_ZAB_MUT_*: tests only */
};

/* Defaults: majority, tick 2000 ms, initLimit 10, syncLimit 5, finalize 50 ms,
 * 65536 proposals / 256 MiB of history, 16384 in flight, counter limit
 * 0xfffffff0, 64 KiB SNAP chunks, 4096 touches, lag bound 8192. */
void cv_zab_config_init(struct cv_zab_config *cfg, uint8_t self, uint64_t voters,
                        uint64_t observers);

struct cv_zab_host {
    void *ctx;
    /* Send m to peer `to` (FIFO, reliable until the pair is reset). */
    void (*send)(void *ctx, uint8_t to, const struct cv_peer_msg *m);
    /* Break the pair with `to`: whatever is queued either way is dropped. */
    void (*reset_peer)(void *ctx, uint8_t to);
    /* Store acceptedEpoch and currentEpoch durably. */
    void (*persist_epochs)(void *ctx, int64_t accepted, int64_t current);
    /* Log one proposal (asynchronously; report with cv_zab_logged, in order). */
    void (*append)(void *ctx, int64_t zxid, const uint8_t *txn, size_t len);
    /* Drop every log record after zxid, including appends still in flight. */
    void (*truncate)(void *ctx, int64_t zxid);
    /* Apply one committed transaction. */
    void (*apply)(void *ctx, int64_t zxid, const uint8_t *txn, size_t len);
    /* Serialize the applied state (through write) and set *zxid to its last
     * applied zxid. 0 or a negative errno. */
    int (*snapshot)(void *ctx, int (*write)(void *w, const void *p, size_t n), void *w,
                    int64_t *zxid);
    /* Replace the applied state by a snapshot and empty the log: the log
     * continues after zxid. 0 or a negative errno (the sync is abandoned). */
    int (*install)(void *ctx, const uint8_t *snap, size_t len, int64_t zxid);
    /* The role changed. LOOKING: stop serving. FOLLOWING / OBSERVING /
     * LEADING: synchronised with the leader of `epoch`, serving. */
    void (*role)(void *ctx, enum cv_zab_role role, uint8_t leader, int64_t epoch);
    /* Leader: a client request a follower forwarded (cv_zab_forward). */
    void (*request)(void *ctx, uint8_t from, int64_t session, int64_t cookie, const uint8_t *req,
                    size_t len);
    /* Leader: a session a follower's client was heard from. */
    void (*touch)(void *ctx, int64_t session);
    /* Follower: the answer to cv_zab_sync: everything the leader had
     * proposed when it answered is at or below zxid. */
    void (*synced)(void *ctx, int64_t session, int64_t cookie, int64_t zxid);
};

struct cv_zab;

/* NULL: bad configuration (*why says which) or no memory. */
struct cv_zab *cv_zab_new(const struct cv_zab_config *cfg, const struct cv_zab_host *host,
                          const char **why);
void cv_zab_free(struct cv_zab *z);

/* ---- start-up (before cv_zab_start) -------------------------------------
 * What the disk holds: the epochs, the zxid of the applied state (snapshot
 * plus what the host applied from it), then each logged proposal after it,
 * in order. Logged proposals are not known to be committed: the election
 * decides their fate. -ENOSPC if the history cannot hold them, -EINVAL if
 * out of order. */
int cv_zab_load_state(struct cv_zab *z, int64_t accepted_epoch, int64_t current_epoch,
                      int64_t applied_zxid);
int cv_zab_load_proposal(struct cv_zab *z, int64_t zxid, const uint8_t *txn, size_t len);
/* Begin: LOOKING, first votes sent. */
void cv_zab_start(struct cv_zab *z, int64_t now);

/* ---- events -------------------------------------------------------------- */
/* One message from a peer (already decoded and checked by cv_peer). */
void cv_zab_recv(struct cv_zab *z, int64_t now, const struct cv_peer_msg *m);
/* The pair with peer was broken (it restarted, or our send buffer overflowed). */
void cv_zab_peer_reset(struct cv_zab *z, int64_t now, uint8_t peer);
/* Every proposal up to zxid is durable in the log. */
void cv_zab_logged(struct cv_zab *z, int64_t now, int64_t zxid);
/* Timers: call at least every tick_ms / 4. */
void cv_zab_tick(struct cv_zab *z, int64_t now);

/* ---- leader ---------------------------------------------------------------
 * The zxid the next proposal must carry (the host prepares the transaction
 * with it). */
int64_t cv_zab_next_zxid(const struct cv_zab *z);
/* Propose one transaction whose zxid is cv_zab_next_zxid. 0; -EAGAIN not an
 * established leader; -EBUSY too many in flight or the history is full
 * (retry after commits); -ERANGE the epoch is full (the leader steps down
 * once in-flight proposals commit); -EINVAL wrong zxid or empty. */
int cv_zab_propose(struct cv_zab *z, int64_t now, int64_t zxid, const uint8_t *txn, size_t len);
/* What cv_zab_propose would answer now for a transaction of len bytes (0
 * when it would accept it): check before preparing, since preparing
 * consumes the zxid. */
int cv_zab_can_propose(const struct cv_zab *z, size_t len);

/* ---- follower / observer -------------------------------------------------
 * Forward a client request to the leader (host->request there). -EAGAIN
 * unless following (synchronised). */
int cv_zab_forward(struct cv_zab *z, int64_t session, int64_t cookie, const uint8_t *req,
                   size_t len);
/* Ask the leader for the zxid every earlier proposal is at or below
 * (host->synced with it, or with zxid -1 when the leader could not take it:
 * ask again). The leader answers only once a quorum has heard from it after
 * the request arrived, so a deposed leader that does not know it yet never
 * answers (sync + read is linearizable). On the leader, for its own clients,
 * the answer comes the same way. -EAGAIN when not serving, -EBUSY when the
 * leader's queue of syncs is full. */
int cv_zab_sync(struct cv_zab *z, int64_t session, int64_t cookie);
/* A session was heard from: tell the leader with the next ping. */
void cv_zab_touch(struct cv_zab *z, int64_t session);

/* ---- inspection ----------------------------------------------------------- */
enum cv_zab_role cv_zab_role(const struct cv_zab *z);
/* LOOKING servers: 0. A follower in discovery / sync already names it. */
uint8_t cv_zab_leader(const struct cv_zab *z);
/* Serving: established leader, or follower / observer after UPTODATE. */
bool cv_zab_serving(const struct cv_zab *z);
int64_t cv_zab_accepted_epoch(const struct cv_zab *z);
int64_t cv_zab_current_epoch(const struct cv_zab *z);
int64_t cv_zab_last_proposed(const struct cv_zab *z); /* last zxid in the history */
int64_t cv_zab_last_logged(const struct cv_zab *z);
int64_t cv_zab_last_committed(const struct cv_zab *z);

struct cv_zab_stats {
    uint64_t elections;                           /* times LOOKING was entered */
    uint64_t proposals;                           /* proposed (leader) or received (follower) */
    uint64_t commits;                             /* transactions applied */
    uint64_t syncs_diff, syncs_trunc, syncs_snap; /* leader: syncs sent, by kind */
    uint64_t peers_dropped;                       /* leader: followers dropped for silence */
    uint64_t epoch_rolls;      /* leader: stepped down because the counter was full */
    uint64_t lag_detaches;     /* follower: stopped logging at the lag bound */
    uint64_t lag_resyncs;      /* follower: log resynchronised in place afterwards */
    uint64_t conflicts;        /* follower: told to truncate below what it committed (a broken
                                  invariant: committed history lost; never happens in Zab) */
    uint32_t followers;        /* leader: peers connected (syncing or synced), observers included */
    uint32_t synced_followers; /* leader: voters synced */
    uint32_t synced_observers; /* leader: observers synced */
    uint32_t pending_syncs;    /* leader: peers being synchronised */
};
void cv_zab_get_stats(const struct cv_zab *z, struct cv_zab_stats *st);

const char *cv_zab_role_name(enum cv_zab_role r);

#ifdef __cplusplus
}
#endif
#endif /* CV_ZAB_H */
