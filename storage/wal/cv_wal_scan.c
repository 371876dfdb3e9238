/*
 * cv_wal — the recovery scan (shared by cv_wal_open and cv_wal_check) and
 * cv_wal_check. Rules in cv_wal.h.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cv_wal_int.h"

/* ---- segment listing ----------------------------------------------------- */

static bool parse_name(const char *s, uint64_t *first)
{
    if (strncmp(s, "log.", 4) != 0 || strlen(s) != 20)
        return false;
    uint64_t v = 0;
    for (int i = 4; i < 20; i++) {
        char c = s[i];
        int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
        if (d < 0)
            return false;
        v = (v << 4) | (uint64_t)d;
    }
    *first = v;
    return true;
}

static int cmp_seg(const void *a, const void *b)
{
    const struct cv_wal_seg_name *x = a, *y = b;
    return x->first < y->first ? -1 : x->first > y->first;
}

int cv_wal__list(int dirfd, struct cv_wal_seg_name **out)
{
    *out = NULL;
    int fd = dup(dirfd);
    if (fd < 0)
        return -errno;
    DIR *d = fdopendir(fd);
    if (!d) {
        int e = -errno;
        close(fd);
        return e;
    }
    rewinddir(d);
    struct cv_wal_seg_name *v = NULL;
    int n = 0, cap = 0, rc = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        uint64_t first;
        if (!parse_name(de->d_name, &first))
            continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 16;
            struct cv_wal_seg_name *nv = realloc(v, (size_t)cap * sizeof *v);
            if (!nv) {
                rc = -ENOMEM;
                break;
            }
            v = nv;
        }
        v[n].first = first;
        memcpy(v[n].name, de->d_name, 21);
        n++;
    }
    closedir(d);
    if (rc) {
        free(v);
        return rc;
    }
    if (n)
        qsort(v, (size_t)n, sizeof *v, cmp_seg);
    *out = v;
    return n;
}

/* ---- reading segments ---------------------------------------------------- */

struct reader {
    int dirfd;
    uint8_t *buf;
    size_t cap, size;
    int loaded; /* segment index in buf, -1 none */
};

static int load(struct reader *rd, const struct cv_wal_scan *sc, int i)
{
    if (rd->loaded == i)
        return 0;
    rd->loaded = -1;
    int fd = openat(rd->dirfd, sc->segs[i].name, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    struct stat st;
    if (fstat(fd, &st) < 0) {
        int e = -errno;
        close(fd);
        return e;
    }
    size_t sz = (size_t)st.st_size;
    if (sz > rd->cap) {
        uint8_t *nb = realloc(rd->buf, sz);
        if (!nb) {
            close(fd);
            return -ENOMEM;
        }
        rd->buf = nb;
        rd->cap = sz;
    }
    size_t got = 0;
    while (got < sz) {
        ssize_t r = pread(fd, rd->buf + got, sz - got, (off_t)got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            int e = r < 0 ? -errno : -EIO;
            close(fd);
            return e;
        }
        got += (size_t)r;
    }
    close(fd);
    rd->size = sz;
    rd->loaded = i;
    return 0;
}

static bool all_zero(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i])
            return false;
    return true;
}

/* Any batch at a BLOCK boundary >= from in segment i that validates on its
 * own and carries a sequence above the scan's last one? One exception: a
 * segment's header and first batch go out in one write, and a crash may
 * persist some of its sectors and not others. A first batch that is the
 * next in sequence, in a segment whose header is invalid, is that write
 * torn (it was never durable), not history. */
static int find_later(struct reader *rd, struct cv_wal_scan *sc, int i, uint64_t from)
{
    int rc = load(rd, sc, i);
    if (rc)
        return rc;
    if (from < CV_WAL_BLOCK)
        from = CV_WAL_BLOCK;
    struct cv_wal_seg_hdr h;
    bool torn_hdr = !cv_wal__seg_hdr_read(rd->buf, rd->size, &h);
    for (uint64_t b = from; b + CV_WAL_BATCH_HDR <= rd->size; b += CV_WAL_BLOCK) {
        const uint8_t *p = rd->buf + b;
        if (cv_wal__decode(p, rd->size - b, 0, false, 0, 0, NULL, NULL, NULL) > 0 &&
            cv_wal__batch_seq(p) > sc->last_seq &&
            !(torn_hdr && b == CV_WAL_BLOCK && cv_wal__batch_seq(p) == sc->last_seq + 1)) {
            sc->middle = true;
            sc->good_seg = i;
            sc->good_off = b;
            sc->good_seq = cv_wal__batch_seq(p);
            return 1;
        }
    }
    return 0;
}

/* Does segment i continue the log: a header in sequence and a first batch
 * that follows the scan's last one? */
static int continues(struct reader *rd, struct cv_wal_scan *sc, int i)
{
    int rc = load(rd, sc, i);
    if (rc)
        return rc;
    struct cv_wal_seg_hdr h;
    if (!cv_wal__seg_hdr_read(rd->buf, rd->size, &h) || h.seg_seq != sc->last_seg_seq + 1 ||
        (uint64_t)h.first_zxid != sc->segs[i].first)
        return 0;
    return cv_wal__decode(rd->buf + CV_WAL_BLOCK, rd->size - CV_WAL_BLOCK, sc->last_seq + 1, true,
                          sc->last_zxid, h.first_zxid, NULL, NULL, NULL) > 0;
}

struct replay_ctx {
    cv_wal_replay_fn fn;
    void *ctx;
    int64_t after;
    struct cv_wal_scan *sc;
};

static int replay_one(void *ctx, const struct cv_wal_rec *r)
{
    struct replay_ctx *rc = ctx;
    rc->sc->records++;
    if (r->zxid <= rc->after || !rc->fn)
        return 0;
    int e = rc->fn(rc->ctx, r);
    if (e) {
        rc->sc->cb_ret = e;
        return -ECANCELED;
    }
    return 0;
}

/* The scan stopped at (s, off): classify what lies after it. */
static int stopped(struct reader *rd, struct cv_wal_scan *sc, int s, uint64_t off, const char *why)
{
    sc->stop_seg = s;
    sc->stop_off = off;
    sc->stop_why = why;
    for (int j = s; j < sc->nseg; j++) {
        int rc = find_later(rd, sc, j, j == s ? off : 0);
        if (rc)
            return rc < 0 ? rc : 0;
    }
    sc->remove_from = sc->end_seg == s ? s + 1 : s;
    if (sc->end_seg == s) {
        int rc = load(rd, sc, s);
        if (rc)
            return rc;
        if (sc->end_off < rd->size) {
            size_t n = rd->size - sc->end_off;
            sc->zero_end = !all_zero(rd->buf + sc->end_off, n < CV_WAL_BLOCK ? n : CV_WAL_BLOCK);
        }
    }
    if (!sc->zero_end && sc->remove_from == sc->nseg)
        sc->stop_why = NULL; /* zeroes or the end of the file: a clean end */
    else if (!sc->stop_why)
        sc->stop_why = "torn segment after the last valid batch";
    return 0;
}

int cv_wal__scan(int dirfd, int64_t after, cv_wal_replay_fn fn, void *ctx, struct cv_wal_scan *sc)
{
    memset(sc, 0, sizeof *sc);
    sc->end_seg = sc->stop_seg = sc->good_seg = -1;
    int n = cv_wal__list(dirfd, &sc->segs);
    if (n < 0)
        return n;
    sc->nseg = n;
    sc->remove_from = n;
    struct reader rd = {.dirfd = dirfd, .loaded = -1};
    struct replay_ctx rc = {.fn = fn, .ctx = ctx, .after = after, .sc = sc};
    int err = 0;
    for (int i = 0; i < n && !err; i++) {
        err = load(&rd, sc, i);
        if (err)
            break;
        uint64_t seg_size = rd.size;
        struct cv_wal_seg_hdr h;
        if (!cv_wal__seg_hdr_read(rd.buf, rd.size, &h) ||
            (i > 0 && h.seg_seq != sc->last_seg_seq + 1) ||
            (uint64_t)h.first_zxid != sc->segs[i].first) {
            err = stopped(&rd, sc, i, 0, "segment header invalid");
            break;
        }
        uint64_t off = CV_WAL_BLOCK;
        const char *why = "no valid batch";
        bool any = false;
        while (off < seg_size) {
            const uint8_t *p = rd.buf + off;
            long len = cv_wal__decode(p, seg_size - off, sc->last_seq ? sc->last_seq + 1 : 0, true,
                                      sc->last_zxid, any ? 0 : h.first_zxid, replay_one, &rc, &why);
            if (len == -ECANCELED && sc->cb_ret)
                goto out;
            if (len < 0)
                break;
            if (!sc->batches)
                sc->first_zxid = cv_wal__batch_first(p);
            sc->batches++;
            sc->last_seq = cv_wal__batch_seq(p);
            sc->last_zxid = cv_wal__batch_last(p);
            off += (uint64_t)len;
            any = true;
        }
        if (!any) {
            err = stopped(&rd, sc, i, CV_WAL_BLOCK, why);
            break;
        }
        sc->last_seg_seq = h.seg_seq;
        sc->end_seg = i;
        sc->end_off = off;
        sc->stop_seg = i;
        sc->stop_off = off;
        sc->stop_why = off >= seg_size ? NULL : why;
        /* The rest of this segment is unused space if the next one carries
         * on; it must not hold anything newer either way. */
        err = find_later(&rd, sc, i, off);
        if (err)
            break;
        if (i + 1 < n) {
            err = continues(&rd, sc, i + 1);
            if (err == 1) {
                err = 0;
                continue;
            }
            if (err)
                break;
        }
        err = stopped(&rd, sc, i, off, sc->stop_why);
        break;
    }
    if (err > 0)
        err = 0; /* find_later found middle damage: reported in sc */
out:
    free(rd.buf);
    return err;
}

void cv_wal__scan_free(struct cv_wal_scan *sc)
{
    free(sc->segs);
    sc->segs = NULL;
}

/* ---- cv_wal_check -------------------------------------------------------- */

int cv_wal_check(const char *dir, char *buf, size_t cap)
{
    size_t len = 0;
#define OUT(...)                                                                                   \
    do {                                                                                           \
        if (cap > len) {                                                                           \
            int k_ = snprintf(buf + len, cap - len, __VA_ARGS__);                                  \
            if (k_ > 0)                                                                            \
                len += (size_t)k_;                                                                 \
        }                                                                                          \
    } while (0)
    if (cap)
        buf[0] = 0;
    int dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dirfd < 0) {
        int e = -errno;
        OUT("wal %s: cannot open: %s\n", dir, strerror(-e));
        return e;
    }
    struct cv_wal_trunc tr;
    int marker = cv_wal__trunc_read(dirfd, &tr);
    free(tr.batch);
    struct cv_wal_scan sc;
    int rc = cv_wal__scan(dirfd, INT64_MAX, NULL, NULL, &sc);
    close(dirfd);
    if (marker < 0) {
        OUT("wal %s: the truncation marker %s does not verify (%s): opening refuses\n", dir,
            CV_WAL_TRUNC_NAME, strerror(-marker));
        cv_wal__scan_free(&sc);
        return marker;
    }
    if (marker > 0)
        OUT("wal %s: an interrupted truncation to zxid 0x%" PRIx64 " (marker %s): opening "
            "completes it first; what follows describes the files before that\n",
            dir, (uint64_t)tr.zxid, CV_WAL_TRUNC_NAME);
    if (rc) {
        OUT("wal %s: cannot read: %s\n", dir, strerror(-rc));
        cv_wal__scan_free(&sc);
        return rc;
    }
    OUT("wal %s: %d segment(s), %" PRIu64 " valid batch(es), %" PRIu64 " record(s)", dir, sc.nseg,
        sc.batches, sc.records);
    if (sc.batches)
        OUT(", zxids 0x%" PRIx64 "..0x%" PRIx64 ", batch seq ..%" PRIu64, (uint64_t)sc.first_zxid,
            (uint64_t)sc.last_zxid, sc.last_seq);
    OUT("\n");
    if (sc.middle && marker > 0) {
        OUT("(batches after the cut point are removed by the pending truncation)\n");
    } else if (sc.middle) {
        OUT("CORRUPT: damage in the middle of the log: %s at %s offset %" PRIu64
            ", followed by valid batch seq %" PRIu64 " at %s offset %" PRIu64
            "; recovery refuses to open it (-EUCLEAN)\n",
            sc.stop_why ? sc.stop_why : "end of valid batches", sc.segs[sc.stop_seg].name,
            sc.stop_off, sc.good_seq, sc.segs[sc.good_seg].name, sc.good_off);
        rc = -EUCLEAN;
    } else if (sc.nseg == 0) {
        OUT("end: empty log\n");
    } else if (!sc.stop_why) {
        OUT("end: clean, at %s offset %" PRIu64 "\n", sc.segs[sc.stop_seg].name, sc.stop_off);
    } else {
        OUT("tail damage: %s at %s offset %" PRIu64 " (a torn or lost last write); opening "
            "truncates the log there",
            sc.stop_why, sc.segs[sc.stop_seg].name, sc.stop_off);
        if (sc.remove_from < sc.nseg)
            OUT(" and removes %d segment(s) from %s", sc.nseg - sc.remove_from,
                sc.segs[sc.remove_from].name);
        OUT("\n");
    }
    cv_wal__scan_free(&sc);
    return rc;
#undef OUT
}
