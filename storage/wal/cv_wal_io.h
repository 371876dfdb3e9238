/*
 * cv_wal_io — the write backend behind cv_wal, as a table of functions, so
 * tests can replace the disk (stalls, lost or torn unsynced writes).
 *
 * Contract
 * - cv_wal only writes segment files through this table; it reads them
 *   (recovery), creates, preallocates, removes them and fsyncs the directory
 *   with ordinary system calls on the real files.
 * - open: open(2) semantics (flags include O_RDWR and possibly O_CREAT,
 *   O_DIRECT); returns a descriptor >= 0 or -errno. The descriptor must be a
 *   real one on the file (cv_wal fallocates it).
 * - submit: start one write of len bytes (a BLOCK multiple, from a
 *   BLOCK-aligned buffer that stays untouched until the write completes) at
 *   offset off (a BLOCK multiple). The write is durable when it completes,
 *   like a write with RWF_DSYNC: no separate flush follows. cv_wal keeps at
 *   most one write in flight. 0 or -errno.
 * - reap: never blocks. 0 while the write is in flight; 1 when it completed,
 *   with *res the bytes written or -errno.
 * - wait: blocks until the write in flight completes; 1 with *res as for
 *   reap, or 0 if nothing is in flight. Only cv_wal_close calls it.
 * - close: closes a descriptor returned by open (no write in flight on it).
 */
#ifndef CV_WAL_IO_H
#define CV_WAL_IO_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

struct cv_wal_io {
    void *ctx;
    int (*open)(void *ctx, const char *path, int flags);
    int (*submit)(void *ctx, int fd, const void *buf, size_t len, uint64_t off);
    int (*reap)(void *ctx, int64_t *res);
    int (*wait)(void *ctx, int64_t *res);
    void (*close)(void *ctx, int fd);
};

#ifdef __cplusplus
}
#endif
#endif /* CV_WAL_IO_H */
