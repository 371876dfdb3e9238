/*
 * cv_wal — appends, group commit, segment roll-over, the io_uring and
 * pwrite backends, open (recovery) and purge. Contract in cv_wal.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <liburing.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cv_common.h"
#include "cv_crc.h"
#include "cv_wal_int.h"
#include "cv_wal_io.h"

#define DEFAULT_SEGMENT_BYTES (64ull << 20)
#define DEFAULT_MAX_BATCH     (1u << 20)
#define DEFAULT_SLOW_MS       1000u

struct wbuf {
    uint8_t *mem; /* one BLOCK for a segment header, then the batch */
    struct cv_wal_batch b;
};

struct cv_wal {
    struct cv_wal_config cfg;
    char *dir;
    int dirfd;
    struct cv_wal_io io; /* the backend in use */

    /* built-in backends */
    struct io_uring ring;
    bool ring_up, uring_busy;
    int evfd; /* io_uring completions signal it (cv_wal_wake_fd); -1 none */
    bool pw_done;
    int64_t pw_res;

    struct wbuf buf[2];
    int open_i;   /* buffer being filled */
    int pending;  /* full buffer waiting for submission, or -1 */
    int inflight; /* buffer being written, or -1 */
    size_t inflight_len;
    int64_t inflight_last;
    uint32_t inflight_records;
    uint64_t inflight_t0;

    int fd; /* segment being appended to, or -1 */
    uint64_t seg_off, seg_size;
    uint64_t next_seq, next_seg_seq;
    int64_t durable, last;
    int err; /* sticky disk error */
    struct cv_wal_stats st;
};

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

void cv_wal_config_defaults(struct cv_wal_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->segment_bytes = DEFAULT_SEGMENT_BYTES;
    cfg->max_batch = DEFAULT_MAX_BATCH;
    cfg->backend = CV_WAL_IO_URING;
    cfg->direct = 1;
}

/* ---- backends ------------------------------------------------------------ */

static int be_open(void *ctx, const char *path, int flags)
{
    (void)ctx;
    int fd = open(path, flags | O_CLOEXEC, 0644);
    return fd < 0 ? -errno : fd;
}

static void be_close(void *ctx, int fd)
{
    (void)ctx;
    close(fd);
}

/* pwrite + fdatasync: the write happens in submit, reap hands the result. */
static int pw_submit(void *ctx, int fd, const void *buf, size_t len, uint64_t off)
{
    struct cv_wal *w = ctx;
    size_t done = 0;
    int64_t res = 0;
    while (done < len) {
        ssize_t r = pwrite(fd, (const uint8_t *)buf + done, len - done, (off_t)(off + done));
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            res = r < 0 ? -errno : -EIO;
            break;
        }
        done += (size_t)r;
    }
    if (res == 0)
        res = fdatasync(fd) < 0 ? -errno : (int64_t)done;
    w->pw_res = res;
    w->pw_done = true;
    return 0;
}

static int pw_reap(void *ctx, int64_t *res)
{
    struct cv_wal *w = ctx;
    if (!w->pw_done)
        return 0;
    w->pw_done = false;
    *res = w->pw_res;
    return 1;
}

/* io_uring: one O_DIRECT write with RWF_DSYNC per batch. */
static int ur_submit(void *ctx, int fd, const void *buf, size_t len, uint64_t off)
{
    struct cv_wal *w = ctx;
    struct io_uring_sqe *sqe = io_uring_get_sqe(&w->ring);
    if (!sqe)
        return -EBUSY;
    io_uring_prep_write(sqe, fd, buf, (unsigned)len, off);
    sqe->rw_flags = RWF_DSYNC;
    int r = io_uring_submit(&w->ring);
    if (r < 0)
        return r;
    if (r != 1)
        return -EIO;
    w->uring_busy = true;
    return 0;
}

static int ur_done(struct cv_wal *w, struct io_uring_cqe *cqe, int64_t *res)
{
    *res = cqe->res;
    io_uring_cqe_seen(&w->ring, cqe);
    w->uring_busy = false;
    return 1;
}

static int ur_reap(void *ctx, int64_t *res)
{
    struct cv_wal *w = ctx;
    struct io_uring_cqe *cqe;
    if (!w->uring_busy)
        return 0;
    int r = io_uring_peek_cqe(&w->ring, &cqe);
    if (r == -EAGAIN)
        return 0;
    if (w->evfd >= 0) {
        uint64_t v;
        (void)!read(w->evfd, &v, sizeof v); /* re-arm the wake-up */
    }
    if (r < 0) {
        *res = r;
        return 1;
    }
    return ur_done(w, cqe, res);
}

static int ur_wait(void *ctx, int64_t *res)
{
    struct cv_wal *w = ctx;
    struct io_uring_cqe *cqe;
    if (!w->uring_busy)
        return 0;
    int r;
    while ((r = io_uring_wait_cqe(&w->ring, &cqe)) == -EINTR)
        ;
    if (r < 0) {
        *res = r;
        return 1;
    }
    return ur_done(w, cqe, res);
}

static void setup_backend(struct cv_wal *w)
{
    if (w->cfg.io) {
        w->io = *w->cfg.io;
        w->st.backend = w->cfg.backend;
        return;
    }
    w->io = (struct cv_wal_io){.ctx = w, .open = be_open, .close = be_close};
    if (w->cfg.backend == CV_WAL_IO_URING) {
        if (io_uring_queue_init(4, &w->ring, 0) == 0) {
            w->ring_up = true;
            w->evfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
            if (w->evfd >= 0 && io_uring_register_eventfd(&w->ring, w->evfd) != 0) {
                close(w->evfd);
                w->evfd = -1;
            }
            w->io.submit = ur_submit;
            w->io.reap = ur_reap;
            w->io.wait = ur_wait;
            w->st.backend = CV_WAL_IO_URING;
            return;
        }
        w->st.uring_fallback = 1;
    }
    w->io.submit = pw_submit;
    w->io.reap = pw_reap;
    w->io.wait = pw_reap;
    w->st.backend = CV_WAL_IO_PWRITE;
}

/* ---- segments ------------------------------------------------------------ */

static int seg_flags(const struct cv_wal *w)
{
    return O_RDWR | (w->cfg.direct ? O_DIRECT : 0);
}

static int seg_path(const struct cv_wal *w, const char *name, char *path, size_t cap)
{
    int k = snprintf(path, cap, "%s/%s", w->dir, name);
    return k < 0 || (size_t)k >= cap ? -ENAMETOOLONG : 0;
}

static int sync_dir(const struct cv_wal *w)
{
    return fsync(w->dirfd) < 0 ? -errno : 0;
}

/* Close the current segment and create the next one, named after the first
 * zxid of the batch that opens it. Blocking, once per segment. */
static int roll(struct cv_wal *w, int64_t first_zxid)
{
    if (w->fd >= 0) {
        w->io.close(w->io.ctx, w->fd);
        w->fd = -1;
    }
    char name[24], path[4096];
    snprintf(name, sizeof name, "log.%016" PRIx64, (uint64_t)first_zxid);
    int rc = seg_path(w, name, path, sizeof path);
    if (rc)
        return rc;
    int fd = w->io.open(w->io.ctx, path, seg_flags(w) | O_CREAT | O_EXCL);
    if (fd < 0)
        return fd;
    if (fallocate(fd, 0, 0, (off_t)w->cfg.segment_bytes) < 0) {
        rc = errno == EOPNOTSUPP ? (ftruncate(fd, (off_t)w->cfg.segment_bytes) < 0 ? -errno : 0)
                                 : -errno;
        if (rc) {
            w->io.close(w->io.ctx, fd);
            unlinkat(w->dirfd, name, 0);
            return rc;
        }
    }
    rc = sync_dir(w);
    if (rc) {
        w->io.close(w->io.ctx, fd);
        return rc;
    }
    w->fd = fd;
    w->seg_off = 0;
    w->seg_size = w->cfg.segment_bytes;
    w->st.segments++;
    return 0;
}

/* ---- group commit -------------------------------------------------------- */

static void reset_buf(struct cv_wal *w, int i)
{
    cv_wal_batch_init(&w->buf[i].b, w->buf[i].mem + CV_WAL_BLOCK, w->cfg.max_batch);
}

static int submit(struct cv_wal *w, int i)
{
    struct wbuf *wb = &w->buf[i];
    size_t len = cv_wal_batch_seal(&wb->b, w->next_seq);
    const uint8_t *src = wb->b.p;
    if (w->fd < 0 || w->seg_off + len > w->seg_size) {
        int rc = roll(w, wb->b.first_zxid);
        if (rc)
            return rc;
        struct cv_wal_seg_hdr h = {
            .ensemble_id = w->cfg.ensemble_id,
            .epoch = w->cfg.epoch,
            .seg_seq = w->next_seg_seq++,
            .first_zxid = wb->b.first_zxid,
        };
        cv_wal__seg_hdr_write(wb->mem, &h);
        src = wb->mem; /* header and batch in one write */
        len += CV_WAL_BLOCK;
    }
    w->inflight_t0 = now_ns();
    int rc = w->io.submit(w->io.ctx, w->fd, src, len, w->seg_off);
    if (rc)
        return rc;
    w->seg_off += len;
    w->next_seq++;
    w->inflight = i;
    w->inflight_len = len;
    w->inflight_last = wb->b.last_zxid;
    w->inflight_records = wb->b.count;
    w->st.writes++;
    return 0;
}

static void account(struct cv_wal *w, uint64_t ns)
{
    struct cv_wal_stats *st = &w->st;
    st->batches++;
    st->records += w->inflight_records;
    st->bytes += w->inflight_len;
    st->write_ns_last = ns;
    st->write_ns_sum += ns;
    if (st->batches == 1 || ns < st->write_ns_min)
        st->write_ns_min = ns;
    if (ns > st->write_ns_max)
        st->write_ns_max = ns;
    if (ns > st->slow_ns)
        st->slow_syncs++;
    st->hist[cv_log2_bucket(ns / 1000, 32)]++;
}

/* 1: the write in flight completed; 0: none completed; < 0: disk error. */
static int complete(struct cv_wal *w, int got, int64_t res)
{
    if (got <= 0)
        return got;
    if (res < 0)
        return (int)res;
    if ((size_t)res != w->inflight_len)
        return -EIO;
    account(w, now_ns() - w->inflight_t0);
    w->durable = w->inflight_last;
    reset_buf(w, w->inflight);
    w->inflight = -1;
    return 1;
}

static int reap(struct cv_wal *w)
{
    if (w->inflight < 0)
        return 0;
    int64_t res = 0;
    int got = w->io.reap(w->io.ctx, &res);
    return complete(w, got, res);
}

static int fail(struct cv_wal *w, int rc)
{
    w->err = rc;
    return rc;
}

int cv_wal_poll(struct cv_wal *w)
{
    if (w->err)
        return w->err;
    int progressed = reap(w);
    if (progressed < 0)
        return fail(w, progressed);
    if (w->inflight >= 0)
        return progressed;
    int i = w->pending;
    if (i >= 0) {
        w->pending = -1;
    } else if (w->buf[w->open_i].b.count) {
        i = w->open_i;
        w->open_i ^= 1;
    } else {
        return progressed;
    }
    int rc = submit(w, i);
    if (rc)
        return fail(w, rc);
    rc = reap(w); /* the pwrite backend is done already */
    if (rc < 0)
        return fail(w, rc);
    return 1;
}

int cv_wal_append(struct cv_wal *w, int64_t zxid, uint32_t type, const void *data, uint32_t len)
{
    if (w->err)
        return w->err;
    if (zxid <= w->last)
        return -EINVAL;
    if ((uint64_t)CV_WAL_BATCH_HDR + CV_WAL_RECORD_HDR + len > w->cfg.max_batch)
        return -EMSGSIZE;
    int rc = cv_wal_batch_add(&w->buf[w->open_i].b, zxid, type, data, len);
    if (rc == -ENOSPC) {
        /* The open batch is full: it waits for submission in place and the
         * other buffer opens, if that one is neither in flight nor waiting. */
        if (w->inflight >= 0 || w->pending >= 0)
            return -EAGAIN;
        w->pending = w->open_i;
        w->open_i ^= 1;
        rc = cv_wal_batch_add(&w->buf[w->open_i].b, zxid, type, data, len);
    }
    if (rc)
        return rc;
    w->last = zxid;
    return 0;
}

int64_t cv_wal_durable_zxid(const struct cv_wal *w)
{
    return w->durable;
}

int64_t cv_wal_last_zxid(const struct cv_wal *w)
{
    return w->last;
}

void cv_wal_get_stats(const struct cv_wal *w, struct cv_wal_stats *st)
{
    *st = w->st;
}

void cv_wal_set_slow_threshold_ms(struct cv_wal *w, uint32_t ms)
{
    w->st.slow_ns = (uint64_t)ms * 1000000ull;
}

static int trunc_recover(int dirfd);

/* ---- open, close, purge -------------------------------------------------- */

static int check_config(const struct cv_wal_config *c)
{
    if (!c || !c->dir || !c->dir[0] || c->max_batch < CV_WAL_BLOCK || c->max_batch % CV_WAL_BLOCK ||
        c->segment_bytes % CV_WAL_BLOCK ||
        c->segment_bytes < (uint64_t)CV_WAL_BLOCK + c->max_batch ||
        (c->backend != CV_WAL_IO_URING && c->backend != CV_WAL_IO_PWRITE))
        return -EINVAL;
    if (c->io && (!c->io->open || !c->io->submit || !c->io->reap || !c->io->wait || !c->io->close))
        return -EINVAL;
    return 0;
}

/* Zero one BLOCK of a segment, durably (recovery's truncation point). */
static int zero_block(int dirfd, const char *name, uint64_t off)
{
    int fd = openat(dirfd, name, O_WRONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    static const uint8_t zero[CV_WAL_BLOCK];
    int rc = 0;
    ssize_t r = pwrite(fd, zero, sizeof zero, (off_t)off);
    if (r != (ssize_t)sizeof zero)
        rc = r < 0 ? -errno : -EIO;
    else if (fdatasync(fd) < 0)
        rc = -errno;
    close(fd);
    return rc;
}

/* Apply the scan's verdict on a torn tail: remove torn segments, zero the
 * truncation point. */
static int truncate_tail(struct cv_wal *w, const struct cv_wal_scan *sc)
{
    for (int j = sc->nseg - 1; j >= sc->remove_from; j--)
        if (unlinkat(w->dirfd, sc->segs[j].name, 0) < 0 && errno != ENOENT)
            return -errno;
    if (sc->zero_end) {
        int rc = zero_block(w->dirfd, sc->segs[sc->end_seg].name, sc->end_off);
        if (rc)
            return rc;
    }
    return sc->remove_from < sc->nseg ? sync_dir(w) : 0;
}

static int open_tail(struct cv_wal *w, const struct cv_wal_scan *sc)
{
    if (sc->end_seg < 0)
        return 0; /* the first batch creates a segment */
    char path[4096];
    int rc = seg_path(w, sc->segs[sc->end_seg].name, path, sizeof path);
    if (rc)
        return rc;
    int fd = w->io.open(w->io.ctx, path, seg_flags(w));
    if (fd < 0)
        return fd;
    struct stat st;
    if (fstat(fd, &st) < 0) {
        rc = -errno;
        w->io.close(w->io.ctx, fd);
        return rc;
    }
    w->fd = fd;
    w->seg_off = sc->end_off;
    w->seg_size = (uint64_t)st.st_size & ~(uint64_t)(CV_WAL_BLOCK - 1);
    return 0;
}

int cv_wal_wake_fd(const struct cv_wal *w)
{
    return w->evfd;
}

static void destroy(struct cv_wal *w)
{
    if (w->fd >= 0)
        w->io.close(w->io.ctx, w->fd);
    if (w->ring_up)
        io_uring_queue_exit(&w->ring);
    if (w->evfd >= 0)
        close(w->evfd);
    for (int i = 0; i < 2; i++)
        free(w->buf[i].mem);
    if (w->dirfd >= 0)
        close(w->dirfd);
    free(w->dir);
    free(w);
}

int cv_wal_open(struct cv_wal **out, const struct cv_wal_config *cfg, int64_t after_zxid,
                cv_wal_replay_fn replay, void *ctx)
{
    *out = NULL;
    int rc = check_config(cfg);
    if (rc)
        return rc;
    struct cv_wal *w = calloc(1, sizeof *w);
    if (w)
        w->evfd = -1;
    if (!w)
        return -ENOMEM;
    w->cfg = *cfg;
    w->fd = w->dirfd = -1;
    w->pending = w->inflight = -1;
    w->dir = strdup(cfg->dir);
    if (!w->dir) {
        destroy(w);
        return -ENOMEM;
    }
    w->cfg.dir = w->dir;
    w->st.slow_ns = (uint64_t)DEFAULT_SLOW_MS * 1000000ull;
    for (int i = 0; i < 2; i++) {
        void *p;
        if (posix_memalign(&p, CV_WAL_BLOCK, CV_WAL_BLOCK + (size_t)cfg->max_batch)) {
            destroy(w);
            return -ENOMEM;
        }
        w->buf[i].mem = p;
        reset_buf(w, i);
    }
    if (mkdir(w->dir, 0755) < 0 && errno != EEXIST) {
        rc = -errno;
        destroy(w);
        return rc;
    }
    w->dirfd = open(w->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (w->dirfd < 0) {
        rc = -errno;
        destroy(w);
        return rc;
    }

    rc = trunc_recover(w->dirfd); /* finish a truncation a crash interrupted */
    if (rc) {
        destroy(w);
        return rc;
    }
    struct cv_wal_scan sc;
    rc = cv_wal__scan(w->dirfd, after_zxid, replay, ctx, &sc);
    if (!rc && sc.cb_ret)
        rc = sc.cb_ret;
    else if (!rc && sc.middle)
        rc = -EUCLEAN;
    if (!rc)
        rc = truncate_tail(w, &sc);
    if (!rc) {
        setup_backend(w);
        rc = open_tail(w, &sc);
    }
    if (rc) {
        cv_wal__scan_free(&sc);
        destroy(w);
        return rc;
    }
    w->durable = w->last = sc.last_zxid;
    w->next_seq = sc.last_seq + 1;
    w->next_seg_seq = sc.last_seg_seq + 1;
    w->st.segments = (uint64_t)sc.remove_from;
    cv_wal__scan_free(&sc);
    *out = w;
    return 0;
}

void cv_wal_close(struct cv_wal *w)
{
    if (!w)
        return;
    if (w->inflight >= 0 && !w->err) {
        int64_t res = 0;
        int got = w->io.wait(w->io.ctx, &res);
        complete(w, got, res);
    }
    destroy(w);
}

int cv_wal_purge(struct cv_wal *w, int64_t zxid, unsigned keep)
{
    struct cv_wal_seg_name *segs;
    int n = cv_wal__list(w->dirfd, &segs);
    if (n < 0)
        return n;
    int removed = 0, rc = 0;
    /* Segment i holds zxids below segment i + 1's first; the last segment
     * (the one being written) always stays. */
    for (int i = 0; i + 1 < n && (unsigned)(n - removed) > keep; i++) {
        if ((int64_t)segs[i + 1].first - 1 > zxid)
            break;
        if (unlinkat(w->dirfd, segs[i].name, 0) < 0) {
            rc = -errno;
            break;
        }
        removed++;
    }
    free(segs);
    if (removed) {
        w->st.segments -= (uint64_t)removed < w->st.segments ? (uint64_t)removed : w->st.segments;
        int e = sync_dir(w);
        if (!rc)
            rc = e;
    }
    return rc ? rc : removed;
}

/* ---- truncation ------------------------------------------------------------
 * Commit point: the marker <dir>/truncate (written as truncate.tmp, synced,
 * renamed, directory synced). It holds everything the cut needs, including
 * the straddling batch re-encoded with only its kept records, so the cut is
 * a redo: (1) marker, (2)-(3) write the re-encoded batch in place, (4) cut
 * the segment after it and re-extend it with zeroes, (5)-(6) remove every
 * later segment, (7) remove the marker. A crash before (1) leaves the old
 * log; after it, cv_wal_open repeats (2)-(7) before scanning. Only (2) writes
 * over kept data, and it is redone from the marker if torn.
 *
 * Marker layout (little-endian): u64 magic "CVWALTRN", u32 version (1),
 * u32 batch bytes, i64 zxid, u64 segment first zxid, u64 cut offset,
 * u64 segment size, u32 has segment, u32 zero, u32 zero, u32 crc32c over
 * bytes 0..59 and the batch; the batch at offset 64. */

#define TRUNC_MAGIC "CVWALTRN"
#define TRUNC_HDR   64u

int cv_wal__truncate_stop;

int cv_wal__read_file(int dirfd, const char *name, uint8_t **buf, size_t *size)
{
    *buf = NULL;
    *size = 0;
    int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    struct stat sb;
    if (fstat(fd, &sb) < 0) {
        int e = -errno;
        close(fd);
        return e;
    }
    size_t sz = (size_t)sb.st_size;
    uint8_t *b = malloc(sz ? sz : 1);
    if (!b) {
        close(fd);
        return -ENOMEM;
    }
    size_t got = 0;
    while (got < sz) {
        ssize_t r = pread(fd, b + got, sz - got, (off_t)got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            int e = r < 0 ? -errno : -EIO;
            close(fd);
            free(b);
            return e;
        }
        got += (size_t)r;
    }
    close(fd);
    *buf = b;
    *size = sz;
    return 0;
}

int cv_wal__trunc_read(int dirfd, struct cv_wal_trunc *t)
{
    memset(t, 0, sizeof *t);
    uint8_t *b;
    size_t n;
    int rc = cv_wal__read_file(dirfd, CV_WAL_TRUNC_NAME, &b, &n);
    if (rc == -ENOENT)
        return 0;
    if (rc)
        return rc;
    uint32_t blen = n >= TRUNC_HDR ? cv_wal__get32(b + 12) : 0;
    if (n < TRUNC_HDR || memcmp(b, TRUNC_MAGIC, 8) != 0 || cv_wal__get32(b + 8) != 1 ||
        n != TRUNC_HDR + (size_t)blen || blen % CV_WAL_BLOCK ||
        cv_crc32c_update(cv_crc32c(b, 60), b + TRUNC_HDR, blen) != cv_wal__get32(b + 60)) {
        free(b);
        return -EUCLEAN;
    }
    t->zxid = (int64_t)cv_wal__get64(b + 16);
    t->seg_first = cv_wal__get64(b + 24);
    t->cut_off = cv_wal__get64(b + 32);
    t->seg_size = cv_wal__get64(b + 40);
    t->has_seg = cv_wal__get32(b + 48) != 0;
    t->blen = blen;
    if (blen) {
        t->batch = malloc(blen);
        if (!t->batch) {
            free(b);
            return -ENOMEM;
        }
        memcpy(t->batch, b + TRUNC_HDR, blen);
    }
    free(b);
    return 1;
}

static int write_all_sync(int fd, const void *p, size_t n, uint64_t off)
{
    size_t done = 0;
    while (done < n) {
        ssize_t r = pwrite(fd, (const uint8_t *)p + done, n - done, (off_t)(off + done));
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return r < 0 ? -errno : -EIO;
        done += (size_t)r;
    }
    return fdatasync(fd) < 0 ? -errno : 0;
}

static int trunc_write_marker(int dirfd, const struct cv_wal_trunc *t)
{
    size_t n = TRUNC_HDR + t->blen;
    uint8_t *b = calloc(1, n);
    if (!b)
        return -ENOMEM;
    memcpy(b, TRUNC_MAGIC, 8);
    cv_wal__put32(b + 8, 1);
    cv_wal__put32(b + 12, t->blen);
    cv_wal__put64(b + 16, (uint64_t)t->zxid);
    cv_wal__put64(b + 24, t->seg_first);
    cv_wal__put64(b + 32, t->cut_off);
    cv_wal__put64(b + 40, t->seg_size);
    cv_wal__put32(b + 48, t->has_seg ? 1 : 0);
    if (t->blen)
        memcpy(b + TRUNC_HDR, t->batch, t->blen);
    cv_wal__put32(b + 60, cv_crc32c_update(cv_crc32c(b, 60), b + TRUNC_HDR, t->blen));
    int fd = openat(dirfd, CV_WAL_TRUNC_TMP, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    int rc = fd < 0 ? -errno : write_all_sync(fd, b, n, 0);
    if (fd >= 0)
        close(fd);
    free(b);
    if (!rc && renameat(dirfd, CV_WAL_TRUNC_TMP, dirfd, CV_WAL_TRUNC_NAME) < 0)
        rc = -errno;
    if (!rc && fsync(dirfd) < 0)
        rc = -errno;
    if (rc)
        unlinkat(dirfd, CV_WAL_TRUNC_TMP, 0);
    return rc;
}

#define STOP(n)                                                                                    \
    do {                                                                                           \
        if (stop == (n))                                                                           \
            return -ECANCELED;                                                                     \
    } while (0)

/* Steps (2)-(7); idempotent. stop: test-only crash point (0: none). */
static int trunc_redo(int dirfd, const struct cv_wal_trunc *t, int stop)
{
    STOP(1);
    int rc = 0;
    if (t->has_seg) {
        char name[24];
        snprintf(name, sizeof name, "log.%016" PRIx64, t->seg_first);
        int fd = openat(dirfd, name, O_RDWR | O_CLOEXEC);
        if (fd < 0)
            return errno == ENOENT ? -EUCLEAN : -errno; /* the segment kept is gone */
        if (t->blen && stop == 2) {
            rc = write_all_sync(fd, t->batch, CV_WAL_BLOCK / 2, t->cut_off); /* torn */
            close(fd);
            return rc ? rc : -ECANCELED;
        }
        if (t->blen)
            rc = write_all_sync(fd, t->batch, t->blen, t->cut_off);
        if (!rc && stop == 3)
            rc = -ECANCELED;
        if (!rc && ftruncate(fd, (off_t)(t->cut_off + t->blen)) < 0)
            rc = -errno;
        if (!rc && fallocate(fd, 0, 0, (off_t)t->seg_size) < 0)
            rc =
                errno == EOPNOTSUPP ? (ftruncate(fd, (off_t)t->seg_size) < 0 ? -errno : 0) : -errno;
        if (!rc && fsync(fd) < 0)
            rc = -errno;
        close(fd);
        if (rc)
            return rc;
    }
    STOP(4);
    struct cv_wal_seg_name *segs;
    int n = cv_wal__list(dirfd, &segs);
    if (n < 0)
        return n;
    int removed = 0;
    for (int j = n - 1; j >= 0 && !rc; j--) {
        if (segs[j].first < t->seg_first || (t->has_seg && segs[j].first == t->seg_first))
            break;
        if (unlinkat(dirfd, segs[j].name, 0) < 0 && errno != ENOENT)
            rc = -errno;
        else if (++removed == 1 && stop == 5)
            rc = fsync(dirfd) < 0 ? -errno : -ECANCELED;
    }
    free(segs);
    if (!rc && removed && fsync(dirfd) < 0)
        rc = -errno;
    if (rc)
        return rc;
    STOP(6);
    if (unlinkat(dirfd, CV_WAL_TRUNC_NAME, 0) < 0 && errno != ENOENT)
        return -errno;
    return fsync(dirfd) < 0 ? -errno : 0;
}

#undef STOP

/* At open: finish a truncation a crash interrupted. */
static int trunc_recover(int dirfd)
{
    if (unlinkat(dirfd, CV_WAL_TRUNC_TMP, 0) < 0 && errno != ENOENT)
        return -errno;
    struct cv_wal_trunc t;
    int rc = cv_wal__trunc_read(dirfd, &t);
    if (rc <= 0)
        return rc;
    rc = trunc_redo(dirfd, &t, 0);
    free(t.batch);
    return rc;
}

/* Plan the cut of the log on disk at zxid: which segment keeps what. On
 * success *kept_last, *kept_seq (last kept batch's sequence) and
 * *kept_seg_seq describe the end of what is kept (0 when nothing is). */
static int trunc_plan(struct cv_wal *w, int64_t zxid, struct cv_wal_trunc *t, int64_t *kept_last,
                      uint64_t *kept_seq, uint64_t *kept_seg_seq, int *kept_segs)
{
    memset(t, 0, sizeof *t);
    t->zxid = zxid;
    *kept_last = 0;
    *kept_seq = *kept_seg_seq = 0;
    *kept_segs = 0;
    struct cv_wal_seg_name *segs;
    int n = cv_wal__list(w->dirfd, &segs);
    if (n < 0)
        return n;
    int k = -1;
    for (int i = 0; i < n; i++)
        if (zxid >= 0 && segs[i].first <= (uint64_t)zxid)
            k = i;
    if (k < 0) { /* nothing is kept: remove every segment */
        t->seg_first = 0;
        free(segs);
        return 0;
    }
    t->seg_first = segs[k].first;
    uint8_t *buf;
    size_t size;
    int rc = cv_wal__read_file(w->dirfd, segs[k].name, &buf, &size);
    free(segs);
    if (rc)
        return rc;
    struct cv_wal_seg_hdr h;
    if (!cv_wal__seg_hdr_read(buf, size, &h) || (uint64_t)h.first_zxid != t->seg_first) {
        free(buf);
        return -EUCLEAN;
    }
    uint64_t off = CV_WAL_BLOCK, seq = 0;
    int64_t last = 0;
    bool any = false;
    while (off < size) {
        const uint8_t *p = buf + off;
        long len = cv_wal__decode(p, size - off, seq ? seq + 1 : 0, any, last,
                                  any ? 0 : h.first_zxid, NULL, NULL, NULL);
        if (len < 0)
            break;
        if (cv_wal__batch_first(p) > zxid)
            break;
        seq = cv_wal__batch_seq(p);
        if (cv_wal__batch_last(p) > zxid) { /* straddles: re-encode its kept records */
            size_t plen = CV_WAL_BATCH_HDR + cv_wal__get32(p + 8);
            size_t cap = (size_t)cv_wal__round_block(plen);
            t->batch = malloc(cap);
            if (!t->batch) {
                free(buf);
                return -ENOMEM;
            }
            memcpy(t->batch, p, plen);
            struct cv_wal_batch b = {t->batch,
                                     cap,
                                     plen,
                                     cv_wal__batch_count(p),
                                     cv_wal__batch_first(p),
                                     cv_wal__batch_last(p)};
            cv_wal__batch_cut(&b, zxid);
            t->blen = (uint32_t)cv_wal_batch_seal(&b, seq);
            last = b.last_zxid;
            any = true;
            break;
        }
        last = cv_wal__batch_last(p);
        any = true;
        off += (uint64_t)len;
    }
    free(buf);
    if (!any)
        return -EUCLEAN; /* a segment of the live log without a valid first batch */
    t->has_seg = true;
    t->cut_off = off;
    t->seg_size = size;
    *kept_last = last;
    *kept_seq = seq;
    *kept_seg_seq = h.seg_seq;
    *kept_segs = k + 1;
    return 0;
}

int cv_wal_truncate(struct cv_wal *w, int64_t zxid)
{
    if (w->err)
        return w->err;
    if (w->inflight >= 0) {
        int64_t res = 0;
        int got = w->io.wait(w->io.ctx, &res);
        int rc = complete(w, got, res);
        if (rc < 0)
            return fail(w, rc);
        if (w->inflight >= 0)
            return fail(w, -EIO);
    }
    /* Queued appends: keep those <= zxid (the pending batch precedes the
     * open one). */
    if (w->pending >= 0) {
        cv_wal__batch_cut(&w->buf[w->pending].b, zxid);
        if (!w->buf[w->pending].b.count)
            w->pending = -1;
    }
    cv_wal__batch_cut(&w->buf[w->open_i].b, zxid);
    if (zxid >= w->durable) { /* nothing on disk to drop */
        const struct cv_wal_batch *ob = &w->buf[w->open_i].b;
        w->last = ob->count         ? ob->last_zxid
                  : w->pending >= 0 ? w->buf[w->pending].b.last_zxid
                                    : w->durable;
        return 0;
    }
    /* Everything queued was above durable, so above zxid: gone. */
    w->pending = -1;
    reset_buf(w, 0);
    reset_buf(w, 1);
    if (w->fd >= 0) {
        w->io.close(w->io.ctx, w->fd);
        w->fd = -1;
    }
    struct cv_wal_trunc t;
    int64_t kept_last;
    uint64_t kept_seq, kept_seg_seq;
    int kept_segs;
    int rc = trunc_plan(w, zxid, &t, &kept_last, &kept_seq, &kept_seg_seq, &kept_segs);
    if (!rc)
        rc = trunc_write_marker(w->dirfd, &t);
    if (!rc)
        rc = trunc_redo(w->dirfd, &t, cv_wal__truncate_stop);
    free(t.batch);
    if (rc)
        return fail(w, rc);
    if (t.has_seg) {
        char name[24], path[4096];
        snprintf(name, sizeof name, "log.%016" PRIx64, t.seg_first);
        rc = seg_path(w, name, path, sizeof path);
        int fd = rc ? rc : w->io.open(w->io.ctx, path, seg_flags(w));
        if (fd < 0)
            return fail(w, fd);
        w->fd = fd;
        w->seg_off = t.cut_off + t.blen;
        w->seg_size = t.seg_size & ~(uint64_t)(CV_WAL_BLOCK - 1);
        w->next_seq = kept_seq + 1;
        w->next_seg_seq = kept_seg_seq + 1;
    }
    /* else: an empty log; the first batch opens a segment, and any sequence
     * starts a log. */
    w->durable = w->last = kept_last;
    w->st.segments = (uint64_t)kept_segs;
    return 0;
}
