/*
 * cv_store — the durable state of a server (standalone, or an ensemble
 * member in replicated mode, see below): recovery at start
 * (newest verified snapshot, then the write-ahead log after it), the log on
 * the request path (group commit through cv_wal), periodic snapshots written
 * by a fork()ed child (copy-on-write: the sequencer pauses only for the
 * fork), and autopurge of old snapshots and log segments.
 *
 * Contract
 * - Owned by the sequencer lcore: single-threaded, like cv_wal. Only
 *   cv_store_open (recovery), cv_store_close and cv_store_check block on the
 *   disk; cv_store_poll does not, except as cv_wal_poll documents (segment
 *   roll-over), for the fork() of a snapshot (once per snap_count
 *   transactions) and for an autopurge run (once per purge interval).
 * - Acknowledgement (S6): cv_store_acked_zxid() is the highest zxid that may
 *   be applied and answered. With force_sync it is the log's durable zxid;
 *   without (forceSync=no, ZooKeeper's name) it is the last appended zxid:
 *   records are still written, but an answer does not wait for the disk.
 * - Recovery applies every record after the snapshot through cv_core_apply
 *   (no sink: nobody is connected yet) and requires consecutive zxids; a gap,
 *   a record the core refuses, or log damage that is not at the tail fails
 *   cv_store_open with -EUCLEAN and a message (the server exits with status
 *   2). Session expiry clocks restart at the time of recovery, so a client
 *   whose timeout has not passed since the restart keeps its session. When
 *   log records were replayed, a snapshot of the recovered state is written
 *   before cv_store_open returns (as ZooKeeper does at start-up), so the
 *   next start replays only what came after it.
 * - Layout: log segments in <log_dir>, snapshots in <snap_dir> (the server
 *   uses <dataLogDir>/corvid-log and <dataDir>/corvid-snap: not ZooKeeper's
 *   version-2, so the two can never read each other's files).
 * - Replicated mode (cfg.replicated: an ensemble member under Zab):
 *   - cv_store_open restores the newest verified snapshot into core, then
 *     hands every log record with zxid > the snapshot's zxid to cfg->load,
 *     in log order, WITHOUT applying it (Zab decides which are committed;
 *     the caller applies those through cv_core_apply). Records at or below
 *     the snapshot's zxid are skipped. zxids need only strictly increase (a
 *     new epoch restarts the counter at 1; a truncate followed by appends of
 *     a later epoch leaves a jump). A load return other than 0 fails the
 *     open with -EUCLEAN. The torn-tail / damaged-middle rules are those of
 *     standalone mode. No start-up snapshot is written (nothing was applied)
 *     and the zxid counters of core are left as the snapshot set them (the
 *     caller sets them: cv_core_set_zxid). Session clocks restart as above.
 *   - The epochs are read at open from <snap_dir>/acceptedEpoch and
 *     <snap_dir>/currentEpoch (decimal text and a newline, as ZooKeeper
 *     writes them in version-2; absent: 0; anything else fails the open
 *     with -EUCLEAN).
 *   - cv_store_append / _poll / _applied / _snapshot work as in standalone
 *     mode. A periodic snapshot is of core's applied state, whose zxid may
 *     be above the log's durable zxid (a follower applies a commit before
 *     its own append is durable) or below records the log holds
 *     (uncommitted proposals): recovery hands only records above the
 *     snapshot's zxid to load either way.
 *   - cv_store_acked_zxid is what a follower may ACK: the log's durable
 *     zxid (forceSync=yes) or last appended zxid (forceSync=no), but never
 *     less than the zxid of the snapshot recovered or installed (that state
 *     is durable too).
 *   - Autopurge removes only log segments whose records are all at or below
 *     the oldest retained snapshot, so never a record above the newest one.
 * - Test-only: with stall_file set, log writes go through a pwrite backend
 *   whose completions are withheld while that file exists (an injected disk
 *   stall: checked when a batch is submitted, then at most once per ms).
 */
#ifndef CV_STORE_H
#define CV_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "cv_core.h"
#include "cv_wal.h"

#ifdef __cplusplus
extern "C" {
#endif

struct cv_store_config {
    const char *log_dir;       /* write-ahead log segments */
    const char *snap_dir;      /* snapshot files */
    bool force_sync;           /* answer only what is durable (forceSync=yes) */
    int64_t snap_count;        /* snapshot after snap_count/2 + rand(snap_count/2) txns */
    uint32_t snap_retain;      /* autopurge.snapRetainCount (>= 1) */
    int64_t purge_interval_ms; /* autopurge.purgeInterval; 0 = never */
    uint32_t slow_ms;          /* fsync.warningthresholdms */
    uint64_t segment_bytes;    /* 0: cv_wal's default */
    enum cv_wal_backend backend;
    const char *stall_file; /* test-only, NULL normally */
    bool replicated;        /* ensemble member: see "Replicated mode" in the contract */
    /* replicated: called at open for each log record after the snapshot, in
     * log order (zxids strictly increasing; epochs may jump). Return 0, or
     * nonzero to fail the open with -EUCLEAN. NULL: records are skipped. */
    int (*load)(void *ctx, int64_t zxid, const uint8_t *txn, size_t len);
    void *load_ctx;
};

void cv_store_config_defaults(struct cv_store_config *cfg);

/* The server's directories: <data_log_dir or data_dir>/corvid-log and
 * <data_dir>/corvid-snap (data_log_dir NULL or "": data_dir). */
void cv_store_paths(const char *data_dir, const char *data_log_dir, char *log, char *snap,
                    size_t cap);

/* Bytes of the regular files in dir (dirs: datadir_size / logdir_size);
 * 0 if it cannot be read. */
int64_t cv_store_dir_bytes(const char *dir);

struct cv_store_stats {
    struct cv_wal_stats wal;
    uint64_t snapshots, snapshot_failures;
    uint64_t snapshot_ms_last, snapshot_ms_max, snapshot_ms_sum; /* fork -> file in place */
    uint64_t fork_us_last, fork_us_max; /* the sequencer's pause for fork() */
    int64_t last_snapshot_zxid;
    int64_t last_snapshot_ms; /* when that snapshot was in place (wall ms); -1: none */
    uint64_t purges;
    int64_t recovered_snapshot_zxid; /* -1: started without a snapshot */
    uint64_t recovered_records;      /* log records replayed at start */
    uint64_t recovery_ms;
};

struct cv_store;

/* Recover core (fresh from cv_core_new) from the directories (created if
 * missing) and open the log for appends. 0; -EUCLEAN (damaged history:
 * refuse to start), or another negative errno; err says what and where. */
int cv_store_open(struct cv_store **out, const struct cv_store_config *cfg, struct cv_core *core,
                  int64_t now_ms, char *err, size_t errlen);
/* Waits for the write in flight and a snapshot child, then closes. */
void cv_store_close(struct cv_store *st);

/* Queue one transaction (as cv_core_prepare wrote it). 0, -EAGAIN (the log
 * has no room now: cv_store_poll and retry), or the disk's error. */
int cv_store_append(struct cv_store *st, int64_t zxid, const uint8_t *txn, size_t len);
/* Progress the log, reap a snapshot child, run autopurge when due. 1 if the
 * log progressed, 0 if not, a negative errno if the disk failed. */
int cv_store_poll(struct cv_store *st, int64_t now_ms);
/* Highest zxid that may be applied and answered (see the contract). In
 * replicated mode: the highest zxid a follower may ACK (the log's durable
 * zxid, or appended with forceSync=no, and at least the snapshot's). */
int64_t cv_store_acked_zxid(const struct cv_store *st);
/* cv_wal_wake_fd of the log: readable when a log write completes; -1 none. */
int cv_store_wake_fd(const struct cv_store *st);
/* The core applied n more transactions: start a snapshot when due. */
void cv_store_applied(struct cv_store *st, struct cv_core *core, uint32_t n, int64_t now_ms);
/* Snapshot now (unless one is running): 0, -EALREADY, or -errno of fork. */
int cv_store_snapshot(struct cv_store *st, struct cv_core *core, int64_t now_ms);

/* ---- replicated mode (Zab's host callbacks) ------------------------------ */

/* acceptedEpoch and currentEpoch as read at open (replicated mode; 0 when
 * absent, and always 0 in standalone mode) or last persisted. */
void cv_store_epochs(const struct cv_store *st, int64_t *accepted, int64_t *current);
/* Store both durably: for each file, <name>.tmp written and fdatasync'ed,
 * renamed, the directory fsynced; acceptedEpoch first, then currentEpoch
 * (a crash in between leaves the new accepted epoch and the old current
 * one, as in ZooKeeper). 0 or -errno. */
int cv_store_persist_epochs(struct cv_store *st, int64_t accepted, int64_t current);
/* Drop every log record with zxid > zxid, including appends queued or in
 * flight (the write in flight is waited for first). Blocking; durable when
 * it returns. Later appends continue after the records kept: any zxid
 * greater than the last one kept (a later epoch may jump). Crash-safe: a
 * crash at any point leaves the old log or the truncated one, never losing
 * a record <= zxid (cv_wal_truncate: a marker file is the commit point and
 * recovery redoes the cut). 0 or -errno (the log is then unusable, like
 * after a failed write). */
int cv_store_truncate(struct cv_store *st, int64_t zxid);
/* SNAP sync: core already holds state restored (by the caller,
 * cv_core_restore) at zxid. Waits for a running snapshot child, then:
 * (1) truncates the log to zxid (as cv_store_truncate), (2) writes a
 * snapshot of core at zxid synchronously and durably, removing any
 * snapshot above zxid first, so it is the newest, (3) drops the whole log.
 * Appends continue after zxid. After a crash the server recovers either
 * the old snapshot and the old log without its records above zxid (a crash
 * in (1): those records are what the install replaces anyway; with none
 * above zxid, that is exactly the old state) or the new snapshot (from (2)
 * on: every record left is at or below zxid and is skipped). 0 or -errno. */
int cv_store_install(struct cv_store *st, struct cv_core *core, int64_t zxid, int64_t now_ms);

void cv_store_get_stats(const struct cv_store *st, struct cv_store_stats *out);
void cv_store_reset_stats(struct cv_store *st);

/* Report the state of a data directory pair without changing it (corvid
 * --check-data): every snapshot (verified or not), the log's batches and
 * where damage is. Returns 0 (clean or damaged only at the log's tail:
 * start-up repairs it) or -EUCLEAN (start-up would refuse). */
int cv_store_check(const char *log_dir, const char *snap_dir, FILE *out);

#ifdef __cplusplus
}
#endif
#endif /* CV_STORE_H */
