/*
 * cv_snap — snapshot files: the core's state (tree + session table, as
 * cv_core_serialize writes it) at a zxid, with a whole-file CRC64 (ISA-L),
 * written to a temporary name, fsynced and renamed into place atomically.
 *
 * Contract
 * - File name "snapshot.<zxid, 16 lower-case hex digits>" in the snapshot
 *   directory; written as "snapshot.<zxid>.tmp", fdatasync'ed, renamed, and
 *   the directory fsynced. A crash at any point leaves either the previous
 *   set of snapshots or the new one complete; *.tmp files are ignored and
 *   removed by cv_snap_latest.
 * - Layout (little-endian): header (64 bytes): u64 magic "CVSNAP01",
 *   u32 version (1), u32 header bytes (64), i64 zxid, u64 ensemble id,
 *   u64 epoch, u64 body bytes, i64 wall time ms, u32 reserved (0),
 *   u32 crc32c of bytes 0..59 (at offset 60);
 *   then the body (cv_core_serialize output); then a trailer: u64 crc64
 *   (cv_crc64, ISA-L) over header + body, u64 magic "CVSNAPEN".
 * - A snapshot verifies iff header CRC, sizes, trailer magic and the CRC64
 *   all check. cv_snap_latest picks the newest snapshot that verifies and
 *   reports every newer one that does not (the caller logs them).
 * - cv_snap_write is synchronous (the caller runs it off the request path:
 *   a fork()ed child or a copy, see docs/storage.md); the write callback
 *   interface streams the body so the whole state is never copied twice.
 */
#ifndef CV_SNAP_H
#define CV_SNAP_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

struct cv_snap_info {
    int64_t zxid;
    uint64_t ensemble_id, epoch, body_bytes;
    int64_t time_ms;
};

/* Produces the body by calling write(wctx, p, n) as often as it likes
 * (cv_core_serialize has this shape). Returns 0 or a negative errno. */
typedef int (*cv_snap_body_fn)(void *ctx, int (*write)(void *wctx, const void *p, size_t n),
                               void *wctx);

/* Write dir/snapshot.<zxid> atomically (replacing one of the same zxid).
 * Uses info's zxid (>= 0, else -EINVAL), ensemble_id, epoch and time_ms as
 * given; body_bytes is ignored (the body's length is what body wrote). A
 * body return other than 0 fails the write. 0, or a negative errno (nothing
 * but possibly a removed .tmp file is left behind). */
int cv_snap_write(const char *dir, const struct cv_snap_info *info, cv_snap_body_fn body,
                  void *ctx);

/* Find the newest snapshot in dir (highest zxid) that verifies and whose
 * header zxid matches its name; load its body into a malloc'ed buffer
 * (*body, *len; the caller frees). *skipped counts the newer ones that did
 * not verify (unreadable ones included). Removes every *.tmp file (call it
 * at startup, not while a snapshot is being written). Returns 0, -ENOENT (no
 * snapshot verifies, or no directory), or another negative errno (-ENOMEM,
 * -EFBIG: a snapshot could not be loaded, older ones are not tried).
 * skipped may be NULL. */
int cv_snap_latest(const char *dir, struct cv_snap_info *info, uint8_t **body, size_t *len,
                   unsigned *skipped);

/* Verify one file (for cv_snap_latest, --check-data and the fuzz target's
 * decoder below). 0 or -EBADMSG / -errno. */
int cv_snap_verify_file(const char *path, struct cv_snap_info *info);

/* Decode and verify a whole snapshot image in memory: the header, sizes,
 * trailer and CRC64. On success *body points into p. 0 or -EBADMSG. */
int cv_snap_decode(const uint8_t *p, size_t n, struct cv_snap_info *info, const uint8_t **body,
                   size_t *body_len);

/* Remove all but the newest `keep` verified snapshots (autopurge
 * snapRetainCount; keep >= 1, else -EINVAL): every snapshot older than the
 * keep-th newest verified one is removed, verified or not. Damaged ones
 * newer than it stay (cv_snap_latest reports them); if fewer than `keep`
 * verify, nothing is removed. *.tmp files are left alone (a write may be
 * under way). Returns how many were removed, or a negative errno. */
int cv_snap_purge(const char *dir, unsigned keep);

#ifdef __cplusplus
}
#endif
#endif /* CV_SNAP_H */
