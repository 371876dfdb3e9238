/*
 * cv_wal internals shared by cv_wal.c (appends, backends), cv_wal_format.c
 * (encoding, decoding) and cv_wal_scan.c (recovery scan, check).
 */
#ifndef CV_WAL_INT_H
#define CV_WAL_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "cv_wal.h"

#define CV_WAL_SEG_MAGIC   "CVWALSEG"
#define CV_WAL_BATCH_MAGIC "CVBT"
#define CV_WAL_VERSION     1u
#define CV_WAL_SEG_HDR     52u /* bytes of the segment header that carry data (48 + crc) */

static inline void cv_wal__put32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static inline void cv_wal__put64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static inline uint32_t cv_wal__get32(const uint8_t *p)
{
    uint32_t v = 0;
    for (int i = 3; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}

static inline uint64_t cv_wal__get64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}

static inline uint64_t cv_wal__round_block(uint64_t n)
{
    return (n + CV_WAL_BLOCK - 1) & ~(uint64_t)(CV_WAL_BLOCK - 1);
}

/* A decoded segment header. */
struct cv_wal_seg_hdr {
    uint64_t ensemble_id, epoch, seg_seq;
    int64_t first_zxid;
};

/* Fill one BLOCK at p with a segment header. */
void cv_wal__seg_hdr_write(uint8_t *p, const struct cv_wal_seg_hdr *h);
/* Validate the segment header at the start of [p, p + n). */
bool cv_wal__seg_hdr_read(const uint8_t *p, size_t n, struct cv_wal_seg_hdr *h);

/* cv_wal_decode_batch with two more checks: when has_floor, the batch's
 * first zxid must exceed floor; when first_zxid is non-zero, it must equal
 * it. *why (if not NULL) says what failed. */
long cv_wal__decode(const uint8_t *p, size_t n, uint64_t expect_seq, bool has_floor, int64_t floor,
                    int64_t first_zxid, cv_wal_replay_fn fn, void *ctx, const char **why);
/* Sequence and zxid range of a batch header that cv_wal__decode accepted. */
static inline uint64_t cv_wal__batch_seq(const uint8_t *p)
{
    return cv_wal__get64(p + 16);
}
static inline int64_t cv_wal__batch_first(const uint8_t *p)
{
    return (int64_t)cv_wal__get64(p + 24);
}
static inline int64_t cv_wal__batch_last(const uint8_t *p)
{
    return (int64_t)cv_wal__get64(p + 32);
}
static inline uint32_t cv_wal__batch_count(const uint8_t *p)
{
    return cv_wal__get32(p + 4);
}

/* Keep only the records of b with zxid <= zxid (empty: b is re-initialised). */
void cv_wal__batch_cut(struct cv_wal_batch *b, int64_t zxid);

/* ---- truncation marker (cv_wal.c) ----
 * cv_wal_truncate commits by writing <dir>/truncate (tmp, fsync, rename,
 * fsync dir), then cuts the segment files, then removes the marker;
 * cv_wal_open redoes an interrupted cut from the marker before scanning. */
#define CV_WAL_TRUNC_NAME "truncate"
#define CV_WAL_TRUNC_TMP  "truncate.tmp"
struct cv_wal_trunc {
    int64_t zxid;       /* records > zxid are dropped */
    uint64_t seg_first; /* the segment cut (has_seg), or the first one removed */
    bool has_seg;       /* segment seg_first keeps [0, cut_off) + batch */
    uint64_t cut_off;   /* where the kept bytes of that segment end */
    uint64_t seg_size;  /* its size, restored (zero-filled) after the cut */
    uint32_t blen;      /* bytes of the re-encoded straddling batch (0: none) */
    uint8_t *batch;     /* malloc'ed, blen bytes */
};
/* 1 and *t filled (free t->batch) if a marker is present; 0 if not; -EUCLEAN
 * if it does not verify; another negative errno if it cannot be read. */
int cv_wal__trunc_read(int dirfd, struct cv_wal_trunc *t);
/* Test-only: cv_wal_truncate stops (as a crash would) after step n of the
 * cut (1 marker written, 2 straddling batch torn, 3 batch written, 4 segment
 * cut, 5 one later segment removed, 6 all removed) and fails with
 * -ECANCELED. 0: never. */
extern int cv_wal__truncate_stop;

/* Read a whole file of dirfd into *buf (malloc'ed; free it). */
int cv_wal__read_file(int dirfd, const char *name, uint8_t **buf, size_t *size);

/* ---- directory scan (cv_wal_scan.c) ---- */

struct cv_wal_seg_name {
    uint64_t first; /* from the name */
    char name[24];  /* "log." + 16 hex digits */
};

/* Segment files of dir sorted by first zxid into *out (malloc'ed; free it).
 * Returns how many, or a negative errno. */
int cv_wal__list(int dirfd, struct cv_wal_seg_name **out);

struct cv_wal_scan {
    /* the log as found */
    int nseg;
    struct cv_wal_seg_name *segs;
    uint64_t batches, records;
    int64_t first_zxid, last_zxid; /* of the valid prefix (0 if empty) */
    uint64_t last_seq, last_seg_seq;
    /* where appends continue: segment index (-1: start a new one) and offset */
    int end_seg;
    uint64_t end_off;
    bool zero_end;   /* the BLOCK at end_off holds garbage: zero it */
    int remove_from; /* segments [remove_from, nseg) are torn tail: remove */
    /* where the scan stopped */
    int stop_seg; /* -1 if no segments */
    uint64_t stop_off;
    const char *stop_why; /* NULL: clean end (zeroes or the end of the file) */
    /* damage in the middle: a valid batch after the stop point */
    bool middle;
    int good_seg;
    uint64_t good_off, good_seq;
    int cb_ret; /* non-zero: the replay callback stopped the scan */
};

/* Read-only analysis of the log in dirfd; valid records with zxid > after
 * go to fn (may be NULL) in order. 0, or a negative errno if the directory
 * could not be read (damage is reported in *sc, not as an error). */
int cv_wal__scan(int dirfd, int64_t after, cv_wal_replay_fn fn, void *ctx, struct cv_wal_scan *sc);
void cv_wal__scan_free(struct cv_wal_scan *sc);

#endif /* CV_WAL_INT_H */
