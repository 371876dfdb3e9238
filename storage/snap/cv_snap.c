/* cv_snap — snapshot files. Contract and layout in cv_snap.h. */
#include "cv_snap.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cv_crc.h"

#define HDR_BYTES     64
#define TRL_BYTES     16
#define HDR_CRC_OFF   60 /* crc32c of bytes 0..59 */
#define SNAP_VERSION  1
#define WBUF_BYTES    (1u << 20) /* write buffer */
#define RBUF_BYTES    (1u << 20) /* verify_file read chunk */
#define NAME_PREFIX   "snapshot."
#define NAME_PFX_LEN  9
#define NAME_LEN      (NAME_PFX_LEN + 16)
#define TMP_SUFFIX    ".tmp"
#define CRC64_XZ_POLY 0xC96C5795D7870F42ull /* CRC-64/XZ, reflected */

static const uint8_t MAGIC[8] = {'C', 'V', 'S', 'N', 'A', 'P', '0', '1'};
static const uint8_t END_MAGIC[8] = {'C', 'V', 'S', 'N', 'A', 'P', 'E', 'N'};

/* ---- little-endian fields ------------------------------------------------- */

static void put32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static void put64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static uint32_t get32(const uint8_t *p)
{
    uint32_t v = 0;
    for (int i = 3; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}

static uint64_t get64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}

/* ---- CRC64 combine ---------------------------------------------------------
 * The header (which holds the body length) is only known once the body has
 * been streamed, but the CRC64 covers header + body. CRCs are linear, so
 * crc(H || B) = shift(crc(H), |B| zero bytes) ^ crc(B) (zlib's
 * crc32_combine, here for the reflected CRC-64/XZ polynomial). */

static uint64_t gf2_times(const uint64_t *mat, uint64_t vec)
{
    uint64_t sum = 0;
    for (; vec; vec >>= 1, mat++)
        if (vec & 1)
            sum ^= *mat;
    return sum;
}

static void gf2_square(uint64_t *sq, const uint64_t *mat)
{
    for (int n = 0; n < 64; n++)
        sq[n] = gf2_times(mat, mat[n]);
}

static uint64_t crc64_combine(uint64_t crc1, uint64_t crc2, uint64_t len2)
{
    uint64_t even[64], odd[64];
    if (len2 == 0)
        return crc1;
    odd[0] = CRC64_XZ_POLY; /* the operator for one zero bit */
    for (int n = 1; n < 64; n++)
        odd[n] = 1ull << (n - 1);
    gf2_square(even, odd); /* two zero bits */
    gf2_square(odd, even); /* four zero bits */
    for (;;) {
        gf2_square(even, odd); /* first pass: one zero byte */
        if (len2 & 1)
            crc1 = gf2_times(even, crc1);
        len2 >>= 1;
        if (!len2)
            break;
        gf2_square(odd, even);
        if (len2 & 1)
            crc1 = gf2_times(odd, crc1);
        len2 >>= 1;
        if (!len2)
            break;
    }
    return crc1 ^ crc2;
}

/* ---- header ---------------------------------------------------------------- */

static void encode_header(uint8_t *h, const struct cv_snap_info *info, uint64_t body_bytes)
{
    memcpy(h, MAGIC, 8);
    put32(h + 8, SNAP_VERSION);
    put32(h + 12, HDR_BYTES);
    put64(h + 16, (uint64_t)info->zxid);
    put64(h + 24, info->ensemble_id);
    put64(h + 32, info->epoch);
    put64(h + 40, body_bytes);
    put64(h + 48, (uint64_t)info->time_ms);
    put32(h + 56, 0); /* reserved */
    put32(h + HDR_CRC_OFF, cv_crc32c(h, HDR_CRC_OFF));
}

/* The 64 header bytes alone: magic, version, size, CRC32C, reserved. */
static int decode_header(const uint8_t *h, struct cv_snap_info *info)
{
    if (memcmp(h, MAGIC, 8) != 0 || get32(h + 8) != SNAP_VERSION || get32(h + 12) != HDR_BYTES ||
        get32(h + HDR_CRC_OFF) != cv_crc32c(h, HDR_CRC_OFF) || get32(h + 56) != 0)
        return -EBADMSG;
    info->zxid = (int64_t)get64(h + 16);
    info->ensemble_id = get64(h + 24);
    info->epoch = get64(h + 32);
    info->body_bytes = get64(h + 40);
    info->time_ms = (int64_t)get64(h + 48);
    if (info->body_bytes > UINT64_MAX - HDR_BYTES - TRL_BYTES)
        return -EBADMSG;
    return 0;
}

int cv_snap_decode(const uint8_t *p, size_t n, struct cv_snap_info *info, const uint8_t **body,
                   size_t *body_len)
{
    struct cv_snap_info in;
    if (!p || n < HDR_BYTES + TRL_BYTES || decode_header(p, &in) != 0)
        return -EBADMSG;
    if (in.body_bytes != (uint64_t)(n - HDR_BYTES - TRL_BYTES))
        return -EBADMSG;
    const uint8_t *t = p + n - TRL_BYTES;
    if (memcmp(t + 8, END_MAGIC, 8) != 0 || get64(t) != cv_crc64(p, n - TRL_BYTES))
        return -EBADMSG;
    if (info)
        *info = in;
    if (body)
        *body = p + HDR_BYTES;
    if (body_len)
        *body_len = n - HDR_BYTES - TRL_BYTES;
    return 0;
}

/* ---- raw I/O --------------------------------------------------------------- */

static int write_all(int fd, const uint8_t *p, size_t n)
{
    while (n > 0) {
        ssize_t k = write(fd, p, n);
        if (k < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        if (k == 0)
            return -EIO;
        p += k;
        n -= (size_t)k;
    }
    return 0;
}

/* Reads up to n bytes; returns how many (fewer only at end of file) or -errno. */
static ssize_t read_full(int fd, uint8_t *p, size_t n)
{
    size_t got = 0;
    while (got < n) {
        ssize_t k = read(fd, p + got, n - got);
        if (k < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        if (k == 0)
            break;
        got += (size_t)k;
    }
    return (ssize_t)got;
}

static void name_of(char *out, size_t cap, int64_t zxid, bool tmp)
{
    snprintf(out, cap, NAME_PREFIX "%016" PRIx64 "%s", (uint64_t)zxid, tmp ? TMP_SUFFIX : "");
}

/* "snapshot.<16 lower-case hex>" -> 1 (zxid set), with ".tmp" -> 2, else 0. */
static int parse_name(const char *s, int64_t *zxid)
{
    if (strncmp(s, NAME_PREFIX, NAME_PFX_LEN) != 0)
        return 0;
    uint64_t v = 0;
    for (int i = NAME_PFX_LEN; i < NAME_LEN; i++) {
        char c = s[i];
        if (c >= '0' && c <= '9')
            v = (v << 4) | (uint64_t)(c - '0');
        else if (c >= 'a' && c <= 'f')
            v = (v << 4) | (uint64_t)(c - 'a' + 10);
        else
            return 0;
    }
    if (v > (uint64_t)INT64_MAX)
        return 0;
    *zxid = (int64_t)v;
    if (s[NAME_LEN] == '\0')
        return 1;
    return strcmp(s + NAME_LEN, TMP_SUFFIX) == 0 ? 2 : 0;
}

/* ---- write ----------------------------------------------------------------- */

struct wstate {
    int fd;
    int err; /* sticky: the first write error */
    uint8_t *buf;
    size_t used;
    uint64_t body_bytes;
    uint64_t body_crc;
};

static int flush(struct wstate *w)
{
    if (w->err == 0 && w->used > 0)
        w->err = write_all(w->fd, w->buf, w->used);
    w->used = 0;
    return w->err;
}

static int body_write(void *ctx, const void *p, size_t n)
{
    struct wstate *w = ctx;
    const uint8_t *b = p;
    if (w->err)
        return w->err;
    if (n == 0)
        return 0;
    if (!p)
        return w->err = -EINVAL;
    w->body_crc = cv_crc64_update(w->body_crc, b, n);
    w->body_bytes += n;
    while (n > 0) {
        if (w->used == 0 && n >= WBUF_BYTES) /* a huge piece: no copy */
            return w->err = write_all(w->fd, b, n);
        size_t k = WBUF_BYTES - w->used < n ? WBUF_BYTES - w->used : n;
        memcpy(w->buf + w->used, b, k);
        w->used += k;
        b += k;
        n -= k;
        if (w->used == WBUF_BYTES && flush(w))
            return w->err;
    }
    return 0;
}

/* Writes the open tmp file: placeholder header, body, trailer, real header. */
static int write_file(int fd, const struct cv_snap_info *info, cv_snap_body_fn body, void *ctx)
{
    struct wstate w = {.fd = fd, .buf = malloc(WBUF_BYTES)};
    if (!w.buf)
        return -ENOMEM;
    memset(w.buf, 0, HDR_BYTES); /* the header is written last, at offset 0 */
    w.used = HDR_BYTES;
    int rc = body(ctx, body_write, &w);
    if (rc > 0)
        rc = -EIO; /* not a valid return; do not report success */
    if (rc == 0)
        rc = w.err;
    if (rc == 0) {
        uint8_t hdr[HDR_BYTES], trl[TRL_BYTES];
        encode_header(hdr, info, w.body_bytes);
        put64(trl, crc64_combine(cv_crc64(hdr, HDR_BYTES), w.body_crc, w.body_bytes));
        memcpy(trl + 8, END_MAGIC, 8);
        if (WBUF_BYTES - w.used < TRL_BYTES)
            rc = flush(&w);
        if (rc == 0) {
            memcpy(w.buf + w.used, trl, TRL_BYTES);
            w.used += TRL_BYTES;
            rc = flush(&w);
        }
        while (rc == 0) {
            ssize_t k = pwrite(fd, hdr, HDR_BYTES, 0);
            if (k == HDR_BYTES)
                break;
            rc = k < 0 ? (errno == EINTR ? 0 : -errno) : -EIO;
        }
    }
    free(w.buf);
    return rc;
}

int cv_snap_write(const char *dir, const struct cv_snap_info *info, cv_snap_body_fn body, void *ctx)
{
    char tmp[64], fin[64];
    if (!dir || !info || !body || info->zxid < 0)
        return -EINVAL;
    name_of(tmp, sizeof tmp, info->zxid, true);
    name_of(fin, sizeof fin, info->zxid, false);
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0)
        return -errno;
    int rc = 0;
    int fd = openat(dfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        rc = -errno;
        close(dfd);
        return rc;
    }
    rc = write_file(fd, info, body, ctx);
    if (rc == 0 && fdatasync(fd) != 0)
        rc = -errno;
    if (close(fd) != 0 && rc == 0)
        rc = -errno;
    if (rc == 0 && renameat(dfd, tmp, dfd, fin) != 0)
        rc = -errno;
    if (rc != 0) {
        unlinkat(dfd, tmp, 0);
    } else if (fsync(dfd) != 0) {
        /* The rename may not be durable: report failure and leave nothing. */
        rc = -errno;
        unlinkat(dfd, fin, 0);
    }
    close(dfd);
    return rc;
}

/* ---- directory listing ------------------------------------------------------ */

struct entry {
    int64_t zxid;
};

static int by_zxid_desc(const void *a, const void *b)
{
    int64_t x = ((const struct entry *)a)->zxid, y = ((const struct entry *)b)->zxid;
    return x < y ? 1 : x > y ? -1 : 0;
}

/* The snapshots in dir, newest first (malloc'ed *out). Removes *.tmp files
 * when remove_tmp. Returns the directory fd (the caller closes it) or -errno. */
static int list_snaps(const char *dir, bool remove_tmp, struct entry **out, size_t *count)
{
    *out = NULL;
    *count = 0;
    if (!dir)
        return -EINVAL;
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0)
        return -errno;
    int lfd = dup(dfd);
    DIR *d = lfd < 0 ? NULL : fdopendir(lfd);
    if (!d) {
        int rc = -errno;
        if (lfd >= 0)
            close(lfd);
        close(dfd);
        return rc;
    }
    struct entry *v = NULL;
    size_t n = 0, cap = 0;
    int rc = 0;
    for (;;) {
        errno = 0;
        struct dirent *e = readdir(d);
        if (!e) {
            rc = -errno;
            break;
        }
        int64_t zxid;
        int kind = parse_name(e->d_name, &zxid);
        if (kind == 2 && remove_tmp) {
            unlinkat(dfd, e->d_name, 0);
        } else if (kind == 1) {
            if (n == cap) {
                size_t ncap = cap ? cap * 2 : 16;
                struct entry *nv = realloc(v, ncap * sizeof *v);
                if (!nv) {
                    rc = -ENOMEM;
                    break;
                }
                v = nv;
                cap = ncap;
            }
            v[n++].zxid = zxid;
        }
    }
    closedir(d);
    if (rc != 0) {
        free(v);
        close(dfd);
        return rc;
    }
    if (n > 1)
        qsort(v, n, sizeof *v, by_zxid_desc);
    *out = v;
    *count = n;
    return dfd;
}

/* ---- verify ------------------------------------------------------------------ */

/* Streams the file through the CRCs without holding it in memory. */
static int verify_fd(int fd, struct cv_snap_info *info)
{
    struct stat st;
    if (fstat(fd, &st) != 0)
        return -errno;
    if (!S_ISREG(st.st_mode))
        return -EBADMSG;
    uint8_t hdr[HDR_BYTES], trl[TRL_BYTES];
    ssize_t k = read_full(fd, hdr, HDR_BYTES);
    if (k < 0)
        return (int)k;
    struct cv_snap_info in;
    if (k != HDR_BYTES || decode_header(hdr, &in) != 0)
        return -EBADMSG;
    if ((uint64_t)st.st_size != HDR_BYTES + in.body_bytes + TRL_BYTES)
        return -EBADMSG;
    uint8_t *buf = malloc(RBUF_BYTES);
    if (!buf)
        return -ENOMEM;
    uint64_t crc = cv_crc64(hdr, HDR_BYTES), left = in.body_bytes;
    int rc = 0;
    while (left > 0) {
        size_t want = left < RBUF_BYTES ? (size_t)left : RBUF_BYTES;
        k = read_full(fd, buf, want);
        if (k < 0) {
            rc = (int)k;
            break;
        }
        if ((size_t)k != want) {
            rc = -EBADMSG;
            break;
        }
        crc = cv_crc64_update(crc, buf, want);
        left -= want;
    }
    free(buf);
    if (rc != 0)
        return rc;
    k = read_full(fd, trl, TRL_BYTES);
    if (k < 0)
        return (int)k;
    if (k != TRL_BYTES || memcmp(trl + 8, END_MAGIC, 8) != 0 || get64(trl) != crc)
        return -EBADMSG;
    uint8_t extra;
    k = read_full(fd, &extra, 1); /* the file grew since fstat */
    if (k != 0)
        return k < 0 ? (int)k : -EBADMSG;
    if (info)
        *info = in;
    return 0;
}

int cv_snap_verify_file(const char *path, struct cv_snap_info *info)
{
    if (!path)
        return -EINVAL;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    int rc = verify_fd(fd, info);
    close(fd);
    return rc;
}

/* ---- latest -------------------------------------------------------------------- */

/* Loads and decodes dir/snapshot.<zxid>; on success the body is moved to
 * the front of the malloc'ed image and handed over. -EBADMSG: damaged. */
static int load_snap(int dfd, int64_t zxid, struct cv_snap_info *info, uint8_t **body, size_t *len)
{
    char name[64];
    name_of(name, sizeof name, zxid, false);
    int fd = openat(dfd, name, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    struct stat st;
    int rc = 0;
    uint8_t *img = NULL;
    if (fstat(fd, &st) != 0) {
        rc = -errno;
    } else if (!S_ISREG(st.st_mode) || st.st_size < HDR_BYTES + TRL_BYTES) {
        rc = -EBADMSG;
    } else if ((uint64_t)st.st_size > SIZE_MAX - 1) {
        rc = -EFBIG;
    } else if (!(img = malloc((size_t)st.st_size + 1))) { /* +1: notices growth */
        rc = -ENOMEM;
    } else {
        size_t n = (size_t)st.st_size;
        ssize_t k = read_full(fd, img, n + 1);
        const uint8_t *b;
        size_t blen;
        struct cv_snap_info in;
        if (k < 0)
            rc = (int)k;
        else if ((size_t)k != n || cv_snap_decode(img, n, &in, &b, &blen) != 0 || in.zxid != zxid)
            rc = -EBADMSG; /* a short / long read, damage, or a renamed file */
        else {
            memmove(img, b, blen);
            uint8_t *shrunk = realloc(img, blen ? blen : 1);
            *body = shrunk ? shrunk : img;
            *len = blen;
            *info = in;
            img = NULL;
        }
    }
    free(img);
    close(fd);
    return rc;
}

int cv_snap_latest(const char *dir, struct cv_snap_info *info, uint8_t **body, size_t *len,
                   unsigned *skipped)
{
    if (skipped)
        *skipped = 0;
    if (!info || !body || !len)
        return -EINVAL;
    *body = NULL;
    *len = 0;
    struct entry *v;
    size_t n;
    int dfd = list_snaps(dir, true, &v, &n);
    if (dfd < 0)
        return dfd;
    int rc = -ENOENT;
    for (size_t i = 0; i < n; i++) {
        int r = load_snap(dfd, v[i].zxid, info, body, len);
        if (r == 0) {
            rc = 0;
            break;
        }
        if (r == -ENOMEM || r == -EFBIG) { /* no fallback: the snapshot may be fine */
            rc = r;
            break;
        }
        if (r == -ENOENT) /* removed since it was listed */
            continue;
        if (skipped)
            (*skipped)++;
    }
    free(v);
    close(dfd);
    return rc;
}

/* ---- purge ---------------------------------------------------------------------- */

int cv_snap_purge(const char *dir, unsigned keep)
{
    if (keep < 1)
        return -EINVAL;
    struct entry *v;
    size_t n;
    int dfd = list_snaps(dir, false, &v, &n);
    if (dfd < 0)
        return dfd;
    /* Find the keep-th newest verified snapshot; everything older goes.
     * Damaged snapshots newer than it stay (cv_snap_latest reports them). */
    size_t i, verified = 0;
    int rc = 0;
    for (i = 0; i < n && verified < keep; i++) {
        char name[64];
        name_of(name, sizeof name, v[i].zxid, false);
        int fd = openat(dfd, name, O_RDONLY | O_CLOEXEC);
        if (fd < 0) {
            if (errno == ENOENT)
                continue;
            rc = -errno;
            break;
        }
        struct cv_snap_info in;
        int r = verify_fd(fd, &in);
        close(fd);
        if (r == 0 && in.zxid == v[i].zxid)
            verified++;
        else if (r == -ENOMEM) {
            rc = r;
            break;
        }
    }
    int removed = 0;
    if (rc == 0 && verified == keep) {
        for (; i < n; i++) {
            char name[64];
            name_of(name, sizeof name, v[i].zxid, false);
            if (unlinkat(dfd, name, 0) == 0)
                removed++;
            else if (errno != ENOENT && rc == 0)
                rc = -errno;
        }
    }
    free(v);
    close(dfd);
    return rc != 0 ? rc : removed;
}
