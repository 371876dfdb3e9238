/*
 * cv_wal — corvid's write-ahead log: segment files written with aligned
 * direct I/O, group commit, CRC32C (ISA-L) on every record and every batch,
 * and a recovery scan that stops at the first damaged batch.
 *
 * Contract
 * - Single-threaded: one owner (the sequencer lcore) calls everything. No
 *   call blocks on the disk except cv_wal_open (recovery scan),
 *   cv_wal_close, cv_wal_purge, cv_wal_check, and cv_wal_poll at a segment
 *   roll-over (create + fallocate the next segment and fsync the directory,
 *   once per segment_bytes) or with the PWRITE backend; appends copy into a
 *   pre-allocated batch buffer, writes are submitted and reaped by
 *   cv_wal_poll.
 * - No allocation after cv_wal_open: batch buffers (2 x max_batch bytes,
 *   4096-aligned) are allocated there. cv_wal_append copies the payload.
 * - Group commit: while one batch write is in flight, appends fill the next
 *   batch; cv_wal_poll submits it when the previous one completed. One write
 *   (plus, for backends that need it, one fdatasync) per batch. A batch is
 *   durable when its write (and sync) completed; cv_wal_durable_zxid() then
 *   covers every record in it. Records become durable in append order.
 * - zxids must strictly increase across appends (-EINVAL otherwise).
 *
 * On-disk format (all integers little-endian; BLOCK = 4096)
 *   Directory: segment files "log.<first zxid, 16 lower-case hex digits>".
 *   A segment is preallocated (fallocate) to segment_bytes; a batch that
 *   does not fit closes the segment and opens the next one.
 *   The segment header is written together with the segment's first batch
 *   (one write); a segment without a valid batch is never part of the log.
 *   Segment header, one BLOCK:
 *     u64 magic "CVWALSEG", u32 version (1), u32 block size (4096),
 *     u64 ensemble id, u64 epoch, i64 first zxid, u64 segment sequence
 *     (+1 per segment), u32 crc32c of the preceding 48 bytes; zero padding
 *     to BLOCK.
 *   Batches follow, each starting on a BLOCK boundary:
 *     batch header (48 bytes): u32 magic "CVBT", u32 record count,
 *       u32 payload bytes (records only, excluding padding), u32 zero,
 *       u64 batch sequence (global, +1 per batch, continuing across
 *       segments), i64 first zxid, i64 last zxid, u32 crc32c over header
 *       bytes 0..39 followed by the payload, u32 zero;
 *     records: u32 payload length, u32 type, i64 zxid, u32 crc32c over these
 *       16 bytes and the payload, then the payload; no alignment inside;
 *     zero padding to the next BLOCK boundary.
 *   A batch is valid iff its magic, counts, zxid range (records strictly
 *   increasing from first to last zxid, above the previous batch's),
 *   sequence (previous + 1) and both its CRC and every record CRC check.
 *   Torn writes therefore surface as an invalid batch.
 *
 * Recovery (cv_wal_open)
 * - Segments are read in order; every valid batch is handed to the replay
 *   callback, record by record. The scan ends at the first invalid batch.
 * - Damage at the tail (nothing valid after the first invalid batch, in any
 *   later block of that segment or any later segment) is a torn or lost
 *   last write: the log is truncated there (later segments removed) and
 *   appends continue from that point. Damage followed by a valid batch with a
 *   higher sequence is corruption in the middle of acknowledged history:
 *   cv_wal_open fails with -EUCLEAN and changes nothing on disk, and
 *   cv_wal_check reports where.
 * - A segment ends where its batches end (the rest is unused preallocated
 *   space) when the next segment continues the sequence; otherwise that is
 *   where the scan ends. Truncation zeroes the BLOCK at the truncation point
 *   (so nothing stale there can validate again) and removes the segments
 *   after it, including a last segment whose header or first batch is torn.
 *
 * Truncation (cv_wal_truncate)
 * - The commit point is a marker file "truncate" in the directory (written
 *   as "truncate.tmp", fdatasync'ed, renamed, directory fsynced): u64 magic
 *   "CVWALTRN", u32 version (1), u32 batch bytes, i64 zxid, u64 first zxid
 *   of the segment cut (or of the first segment removed), u64 cut offset,
 *   u64 segment size, u32 "a segment is cut", u32 zero, u32 zero, u32
 *   crc32c over bytes 0..59 and the batch; then the batch: the one that
 *   straddles zxid, re-encoded with only its records <= zxid (same
 *   sequence), to be written at the cut offset.
 * - Then: write that batch in place, cut the segment after it (ftruncate,
 *   then fallocate back to its size: zeroes), remove every later segment,
 *   remove the marker. cv_wal_open finds a marker first and redoes these
 *   steps (each is idempotent), so a crash before the marker is durable
 *   leaves the old log and one after it the truncated log. The only write
 *   over kept data is the straddling batch, and it is redone from the
 *   marker if torn. A marker that does not verify fails the open with
 *   -EUCLEAN (it is synced before it is renamed, so that is damage).
 * - The log carries on after the kept records: the next batch has the next
 *   sequence, in the cut segment at the cut point. Later zxids may jump
 *   (nothing in the format requires consecutive zxids).
 *
 * Backends (cv_wal_config.backend)
 * - CV_WAL_IO_URING: liburing, O_DIRECT, writes with RWF_DSYNC, completions
 *   reaped without blocking. If io_uring cannot be set up (kernel without
 *   it, or disabled), the log falls back to CV_WAL_IO_PWRITE and says so in
 *   cv_wal_stats.uring_fallback.
 * - CV_WAL_IO_PWRITE: O_DIRECT pwrite + fdatasync, synchronous, for systems
 *   without io_uring (the write happens inside cv_wal_poll).
 * - Test-only hooks (struct cv_wal_io) replace the backend to inject stalls,
 *   lost unsynced writes, torn sectors and reordering.
 */
#ifndef CV_WAL_H
#define CV_WAL_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define CV_WAL_BLOCK 4096u

enum cv_wal_backend { CV_WAL_IO_URING, CV_WAL_IO_PWRITE };

struct cv_wal_io; /* test-only backend override (cv_wal_io.h) */

struct cv_wal_config {
    const char *dir;        /* segment directory (created if missing) */
    uint64_t segment_bytes; /* preallocated size of a segment (default 64 MiB),
                               multiple of BLOCK, >= BLOCK + max_batch */
    uint32_t max_batch;     /* bytes per batch buffer, multiple of BLOCK (default 1 MiB) */
    enum cv_wal_backend backend;
    int direct; /* O_DIRECT (default 1; 0 for tmpfs in tests) */
    uint64_t ensemble_id, epoch;
    const struct cv_wal_io *io; /* NULL: the configured backend */
};

void cv_wal_config_defaults(struct cv_wal_config *cfg);

/* A record handed to the replay callback during recovery. */
struct cv_wal_rec {
    int64_t zxid;
    uint32_t type;
    const uint8_t *data;
    uint32_t len;
};

/* Called for every valid record in log order; a non-zero return (use a
 * negative errno) stops recovery and cv_wal_open returns it, having changed
 * nothing on disk. */
typedef int (*cv_wal_replay_fn)(void *ctx, const struct cv_wal_rec *r);

struct cv_wal;

/* Recover the directory (replaying records with zxid > after_zxid) and open
 * it for appends. 0, -EUCLEAN (damage not at the tail), -EINVAL (bad
 * config), -ENOMEM, or another negative errno from the file system. */
int cv_wal_open(struct cv_wal **out, const struct cv_wal_config *cfg, int64_t after_zxid,
                cv_wal_replay_fn replay, void *ctx);
/* Waits for the write in flight, then closes. Unsubmitted appends are lost. */
void cv_wal_close(struct cv_wal *w);

/* Queue one record. 0; -EAGAIN when the open batch is full and a write is
 * in flight or a full batch already waits for one (poll, then retry);
 * -EMSGSIZE if it can never fit a batch; -EINVAL if zxid does not increase;
 * the disk error if the log failed. */
int cv_wal_append(struct cv_wal *w, int64_t zxid, uint32_t type, const void *data, uint32_t len);

/* Reap a completed write and submit the open batch if none is in flight.
 * Returns 1 if anything progressed, 0 if not, a negative errno if the disk
 * failed (the log is then unusable: the caller must stop). */
int cv_wal_poll(struct cv_wal *w);

/* Highest zxid known durable (0 before anything). */
int64_t cv_wal_durable_zxid(const struct cv_wal *w);
/* io_uring backend: an eventfd that becomes readable when a write completes
 * (an idle poller may sleep in epoll on it instead of spinning: the kernel
 * worker finishing a RWF_DSYNC write then gets the CPU); -1 otherwise. */
int cv_wal_wake_fd(const struct cv_wal *w);
/* Highest zxid appended. */
int64_t cv_wal_last_zxid(const struct cv_wal *w);

struct cv_wal_stats {
    uint64_t batches, records, bytes, segments;
    uint64_t write_ns_last, write_ns_max; /* submit -> durable of a batch */
    uint64_t write_ns_min, write_ns_sum;  /* over `batches` */
    uint64_t slow_syncs;                  /* batches slower than slow_ns */
    uint64_t hist[32];                    /* batch write latency, bucket i: [2^i, 2^(i+1)) us
                                             (bucket 0 also < 1 us, bucket 31 also longer) */
    uint64_t writes;                      /* writes submitted (one per batch) */
    uint64_t slow_ns;                     /* the slow-sync threshold */
    enum cv_wal_backend backend;          /* the backend in use */
    int uring_fallback;                   /* 1: io_uring was asked for but unavailable */
};
void cv_wal_get_stats(const struct cv_wal *w, struct cv_wal_stats *st);
void cv_wal_set_slow_threshold_ms(struct cv_wal *w, uint32_t ms);

/* Drop segments whose records are all <= zxid (judged by the next
 * segment's first zxid), oldest first, keeping at least `keep` segments and
 * always the one being written. Returns how many were removed, or a
 * negative errno. */
int cv_wal_purge(struct cv_wal *w, int64_t zxid, unsigned keep);

/* Drop every record with zxid > zxid (zxid < 1: every record), including
 * appends queued and the write in flight (waited for first). Blocking;
 * durable when it returns. Appends then continue after the last record kept
 * (cv_wal_last_zxid, cv_wal_durable_zxid): any zxid above it. Crash-safe: a
 * crash at any point leaves either the old log or the truncated one, never
 * losing a record <= zxid (see "Truncation" above). 0, or a negative errno
 * (the log is then unusable, as after a failed write). */
int cv_wal_truncate(struct cv_wal *w, int64_t zxid);

/* Report the state of a log directory without changing it (corvid
 * --check-data): writes a human-readable summary to buf. 0 if the log is
 * clean or damaged only at the tail, -EUCLEAN otherwise. */
int cv_wal_check(const char *dir, char *buf, size_t cap);

/* Decode one batch that starts at p (exposed for the fuzz target and the
 * recovery scan): validates all of it first, then calls fn (may be NULL)
 * per record; a non-zero return from fn stops and is returned. Never reads
 * outside [p, p + n). Returns the batch's length rounded up to BLOCK (which
 * exceeds n only if n is not a BLOCK multiple), or -EBADMSG. expect_seq 0
 * accepts any non-zero sequence. */
long cv_wal_decode_batch(const uint8_t *p, size_t n, uint64_t expect_seq, cv_wal_replay_fn fn,
                         void *ctx);

/* Batch encoder over a caller buffer (used by the log, tests and the fuzz
 * target): init, add records, seal. */
#define CV_WAL_BATCH_HDR  48u
#define CV_WAL_RECORD_HDR 20u
struct cv_wal_batch {
    uint8_t *p;
    size_t cap, used; /* used includes the batch header */
    uint32_t count;
    int64_t first_zxid, last_zxid;
};
/* p: cap bytes, cap a BLOCK multiple >= BLOCK. */
void cv_wal_batch_init(struct cv_wal_batch *b, void *p, size_t cap);
/* 0, -ENOSPC (does not fit), -EINVAL (zxid does not increase). */
int cv_wal_batch_add(struct cv_wal_batch *b, int64_t zxid, uint32_t type, const void *data,
                     uint32_t len);
/* Write the header and CRC, zero the padding. Returns the length rounded up
 * to BLOCK. The batch must hold at least one record. */
size_t cv_wal_batch_seal(struct cv_wal_batch *b, uint64_t seq);

#ifdef __cplusplus
}
#endif
#endif /* CV_WAL_H */
