/*
 * bench_disk_floor — the raw device floor for a durable log write: how long
 * one aligned 4096-byte O_DIRECT write, made durable, takes on the disk that
 * holds --dir. The durable-write benchmark (perf/server_vs_zookeeper.sh
 * --durable-writes, perf/DURABLE.md) runs it on the directory the servers'
 * dataDir lives on and compares corvid's one-outstanding latency with it.
 *
 *   bench_disk_floor [--dir DIR] [--count N] [--warmup W]
 *                    [--mode all|pwrite|pwritev2|uring] [--overwrite] [--json]
 *
 * For each mode: a fresh file in DIR is preallocated with fallocate to
 * (W + N) blocks, opened with O_DIRECT, and written front to back with
 * W + N sequential 4096-byte writes at queue depth one (each write waits for
 * the previous one to be durable); the first W (default 10) are not
 * measured. The file is removed afterwards. Modes:
 *   pwrite    pwrite() then fdatasync()
 *   pwritev2  pwritev2() with RWF_DSYNC (the write returns when durable)
 *   uring     io_uring write with RWF_DSYNC, submitted and reaped one by one
 *             (liburing; the way storage/wal's CV_WAL_IO_URING backend writes)
 * Latency is per write, from the system call (or io_uring submission) to its
 * return (or completion), CLOCK_MONOTONIC; percentiles are exact over the N
 * samples. ops/s is N / the wall time of the measured writes.
 *
 * By default the writes land in fallocated, never-written blocks (unwritten
 * extents), which is what a log writing into a preallocated segment does: on
 * ext4 and XFS making such a write durable also commits the extent
 * conversion. --overwrite first fills the file with zeros (written and
 * synced, not measured), so the measured writes overwrite initialised
 * blocks: the device's own floor, without file-system metadata.
 *
 * Output: a table, or with --json one line
 *   {"dir":..., "fs":..., "device":..., "block":4096, "count":N,
 *    "prealloc":"fallocate"|"fallocate+zero-fill",
 *    "modes":{"pwrite":{"ops_per_sec","mean_us","min_us","p50_us","p99_us",
 *             "p999_us","max_us"} | {"error":"..."}, "pwritev2":..., "uring":...},
 *    "best":"<mode with the lowest p50>", "best_p50_us":...}
 * Exit status: 0 when every requested mode ran; 1 on a usage error, when DIR
 * cannot take O_DIRECT files or fallocate, or when a requested mode failed
 * (with --mode all, io_uring being unavailable is reported, not fatal).
 */
#include <errno.h>
#include <fcntl.h>
#include <liburing.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/uio.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "bench_common.h"

#define BLOCK 4096u

enum mode { M_PWRITE, M_PWRITEV2, M_URING, M_COUNT };
static const char *const mode_key[M_COUNT] = {"pwrite", "pwritev2", "uring"};
static const char *const mode_desc[M_COUNT] = {"pwrite + fdatasync", "pwritev2 RWF_DSYNC",
                                               "io_uring write RWF_DSYNC"};

struct result {
    int ran;          /* 1: the figures below are valid */
    char error[160];  /* why the mode did not run (ran == 0) */
    double ops_per_s; /* count / wall time */
    double mean_us, min_us, p50_us, p99_us, p999_us, max_us;
};

struct cfg {
    const char *dir;
    unsigned count, warmup;
    int modes[M_COUNT]; /* 1: run it */
    int explicit_mode;  /* --mode named one mode: its failure is fatal */
    int overwrite, json;
};

/* One durable write of BLOCK bytes at off. 0, or a negative errno. */
typedef int (*write_fn)(void *ctx, int fd, const void *buf, off_t off);

static int write_pwrite(void *ctx, int fd, const void *buf, off_t off)
{
    (void)ctx;
    ssize_t n = pwrite(fd, buf, BLOCK, off);
    if (n < 0)
        return -errno;
    if (n != (ssize_t)BLOCK)
        return -EIO;
    return fdatasync(fd) ? -errno : 0;
}

static int write_pwritev2(void *ctx, int fd, const void *buf, off_t off)
{
    (void)ctx;
    struct iovec iov = {.iov_base = (void *)buf, .iov_len = BLOCK};
    ssize_t n = pwritev2(fd, &iov, 1, off, RWF_DSYNC);
    if (n < 0)
        return -errno;
    return n == (ssize_t)BLOCK ? 0 : -EIO;
}

static int write_uring(void *ctx, int fd, const void *buf, off_t off)
{
    struct io_uring *ring = ctx;
    struct io_uring_sqe *sqe = io_uring_get_sqe(ring);
    if (!sqe)
        return -EBUSY;
    io_uring_prep_write(sqe, fd, buf, BLOCK, (uint64_t)off);
    sqe->rw_flags = RWF_DSYNC;
    int rc = io_uring_submit(ring);
    if (rc < 0)
        return rc;
    struct io_uring_cqe *cqe;
    rc = io_uring_wait_cqe(ring, &cqe);
    if (rc < 0)
        return rc;
    int res = cqe->res;
    io_uring_cqe_seen(ring, cqe);
    if (res < 0)
        return res;
    return res == (int)BLOCK ? 0 : -EIO;
}

/* The file system's name for the few types this is likely to meet. */
static const char *fs_name(const char *dir)
{
    struct statfs s;
    if (statfs(dir, &s))
        return "unknown";
    switch ((unsigned long)s.f_type) {
    case 0xEF53: return "ext4";
    case 0x58465342: return "xfs";
    case 0x9123683E: return "btrfs";
    case 0x01021994: return "tmpfs";
    case 0x858458F6: return "ramfs";
    case 0x794C7630: return "overlayfs";
    case 0x2FC12FC1: return "zfs";
    case 0xF2F52010: return "f2fs";
    default: return "other";
    }
}

/* The block device holding dir, e.g. "vda" ("unknown" if /sys does not say). */
static void device_name(const char *dir, char *out, size_t cap)
{
    struct stat st;
    char link[64], target[256];
    snprintf(out, cap, "unknown");
    if (stat(dir, &st))
        return;
    snprintf(link, sizeof link, "/sys/dev/block/%u:%u", major(st.st_dev), minor(st.st_dev));
    ssize_t n = readlink(link, target, sizeof target - 1);
    if (n <= 0)
        return;
    target[n] = '\0';
    const char *base = strrchr(target, '/');
    snprintf(out, cap, "%s", base ? base + 1 : target);
}

/* Create, preallocate and open (O_DIRECT) a fresh file in dir; it is
 * unlinked at once, so nothing is left behind. Returns the fd, or -1 with
 * r->error set. */
static int open_file(const struct cfg *c, struct result *r, const void *zero)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/bench_disk_floor.XXXXXX", c->dir);
    int tmp = mkstemp(path);
    if (tmp < 0) {
        snprintf(r->error, sizeof r->error, "cannot create a file in %s: %s", c->dir,
                 strerror(errno));
        return -1;
    }
    close(tmp);
    int fd = open(path, O_RDWR | O_DIRECT);
    int open_err = errno;
    unlink(path);
    if (fd < 0) {
        if (open_err == EINVAL) /* the file exists: only O_DIRECT can be refused */
            snprintf(r->error, sizeof r->error, "O_DIRECT is not supported on %s (%s)", c->dir,
                     fs_name(c->dir));
        else
            snprintf(r->error, sizeof r->error, "cannot open a file in %s with O_DIRECT: %s",
                     c->dir, strerror(open_err));
        return -1;
    }
    off_t len = (off_t)(c->warmup + c->count) * BLOCK;
    if (fallocate(fd, 0, 0, len)) {
        snprintf(r->error, sizeof r->error, "fallocate on %s (%s): %s", c->dir, fs_name(c->dir),
                 strerror(errno));
        close(fd);
        return -1;
    }
    if (fsync(fd)) { /* the allocation itself is not part of any measured write */
        snprintf(r->error, sizeof r->error, "fsync: %s", strerror(errno));
        close(fd);
        return -1;
    }
    for (off_t off = 0; c->overwrite && off < len; off += BLOCK)
        if (pwrite(fd, zero, BLOCK, off) != (ssize_t)BLOCK) {
            snprintf(r->error, sizeof r->error, "zero-fill: %s", strerror(errno));
            close(fd);
            return -1;
        }
    if (c->overwrite && fsync(fd)) {
        snprintf(r->error, sizeof r->error, "fsync: %s", strerror(errno));
        close(fd);
        return -1;
    }
    return fd;
}

/* Run one mode into *r. lat: count slots. */
static void run_mode(const struct cfg *c, enum mode m, uint8_t *buf, const uint8_t *zero,
                     uint32_t *lat, struct result *r)
{
    struct io_uring ring;
    void *ctx = NULL;
    write_fn fn = m == M_PWRITE ? write_pwrite : m == M_PWRITEV2 ? write_pwritev2 : write_uring;
    memset(r, 0, sizeof *r);
    if (m == M_URING) {
        int rc = io_uring_queue_init(4, &ring, 0);
        if (rc < 0) {
            snprintf(r->error, sizeof r->error, "io_uring unavailable: %s", strerror(-rc));
            return;
        }
        ctx = &ring;
    }
    int fd = open_file(c, r, zero);
    if (fd >= 0) {
        uint64_t sum = 0, t0 = 0;
        int rc = 0;
        for (unsigned i = 0; i < c->warmup + c->count && rc == 0; i++) {
            buf[0] = (uint8_t)i; /* every block differs */
            if (i == c->warmup)
                t0 = now_ns();
            uint64_t s = now_ns();
            rc = fn(ctx, fd, buf, (off_t)i * BLOCK);
            uint64_t d = now_ns() - s;
            if (i >= c->warmup) {
                lat[i - c->warmup] = (uint32_t)(d > UINT32_MAX ? UINT32_MAX : d);
                sum += d;
            }
        }
        uint64_t wall = now_ns() - t0;
        close(fd);
        if (rc) {
            snprintf(r->error, sizeof r->error, "%s failed: %s", mode_desc[m], strerror(-rc));
        } else {
            struct percentiles p = percentiles_of(lat, c->count);
            r->ran = 1;
            r->ops_per_s = (double)c->count * 1e9 / (double)wall;
            r->mean_us = (double)sum / c->count / 1e3;
            r->min_us = lat[0] / 1e3;
            r->p50_us = p.p50 / 1e3;
            r->p99_us = p.p99 / 1e3;
            r->p999_us = p.p999 / 1e3;
            r->max_us = p.max / 1e3;
        }
    }
    if (ctx)
        io_uring_queue_exit(&ring);
}

static void usage(FILE *f)
{
    fprintf(f, "usage: bench_disk_floor [options]\n"
               "  --dir DIR        directory on the disk to measure (/tmp); use the\n"
               "                   directory the server's dataDir lives on\n"
               "  --count N        measured writes per mode (2000)\n"
               "  --warmup W       unmeasured writes before them (10)\n"
               "  --mode M         all|pwrite|pwritev2|uring (all)\n"
               "  --overwrite      zero-fill the file first: overwrite initialised blocks\n"
               "                   instead of writing into fallocated (unwritten) ones\n"
               "  --json           one machine-readable line instead of the table\n");
}

static unsigned parse_count(const char *opt, const char *s, unsigned lo)
{
    char *end;
    errno = 0;
    unsigned long v = strtoul(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > 10000000) {
        fprintf(stderr, "bench_disk_floor: %s %s: expected an integer in [%u, 10000000]\n", opt, s,
                lo);
        exit(1);
    }
    return (unsigned)v;
}

static void parse_args(int argc, char **argv, struct cfg *c)
{
    *c = (struct cfg){.dir = "/tmp", .count = 2000, .warmup = 10, .modes = {1, 1, 1}};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int has_val = i + 1 < argc;
        if (!strcmp(a, "--dir") && has_val) {
            c->dir = argv[++i];
        } else if (!strcmp(a, "--count") && has_val) {
            c->count = parse_count(a, argv[++i], 1);
        } else if (!strcmp(a, "--warmup") && has_val) {
            c->warmup = parse_count(a, argv[++i], 0);
        } else if (!strcmp(a, "--mode") && has_val) {
            const char *m = argv[++i];
            int found = !strcmp(m, "all");
            for (int k = 0; k < M_COUNT; k++) {
                c->modes[k] = found || !strcmp(m, mode_key[k]);
                if (!found && c->modes[k])
                    c->explicit_mode = 1;
            }
            if (!found && !c->explicit_mode) {
                fprintf(stderr,
                        "bench_disk_floor: --mode %s: expected all, pwrite, pwritev2 "
                        "or uring\n",
                        m);
                exit(1);
            }
        } else if (!strcmp(a, "--overwrite")) {
            c->overwrite = 1;
        } else if (!strcmp(a, "--json")) {
            c->json = 1;
        } else if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage(stdout);
            exit(0);
        } else {
            fprintf(stderr, "bench_disk_floor: unexpected argument %s\n", a);
            usage(stderr);
            exit(1);
        }
    }
}

/* Writes s as a JSON string (only '"' and '\\' need escaping in what we print). */
static void json_str(const char *s)
{
    putchar('"');
    for (; *s; s++) {
        if (*s == '"' || *s == '\\')
            putchar('\\');
        putchar(*s);
    }
    putchar('"');
}

int main(int argc, char **argv)
{
    struct cfg c;
    parse_args(argc, argv, &c);
    struct stat st;
    if (stat(c.dir, &st) || !S_ISDIR(st.st_mode)) {
        fprintf(stderr, "bench_disk_floor: %s is not a directory\n", c.dir);
        return 1;
    }
    if (!strcmp(fs_name(c.dir), "tmpfs"))
        fprintf(stderr,
                "bench_disk_floor: warning: %s is on tmpfs (memory, which accepts "
                "O_DIRECT): these figures are not a disk's floor\n",
                c.dir);
    uint8_t *buf, *zero;
    uint32_t *lat = malloc(sizeof(*lat) * c.count);
    if (posix_memalign((void **)&buf, BLOCK, BLOCK) ||
        posix_memalign((void **)&zero, BLOCK, BLOCK) || !lat) {
        fprintf(stderr, "bench_disk_floor: out of memory\n");
        return 1;
    }
    for (unsigned i = 0; i < BLOCK; i++)
        buf[i] = (uint8_t)(i * 131 + 7);
    memset(zero, 0, BLOCK);

    struct result res[M_COUNT] = {0};
    int status = 0, best = -1;
    for (int m = 0; m < M_COUNT; m++) {
        if (!c.modes[m])
            continue;
        run_mode(&c, (enum mode)m, buf, zero, lat, &res[m]);
        if (res[m].ran && (best < 0 || res[m].p50_us < res[best].p50_us))
            best = m;
        /* A file system that cannot do O_DIRECT or fallocate fails every
         * mode the same way: stop at the first. */
        if (!res[m].ran && m != M_URING && status == 0) {
            fprintf(stderr, "bench_disk_floor: %s\n", res[m].error);
            status = 1;
            break;
        }
        if (!res[m].ran && c.explicit_mode) {
            fprintf(stderr, "bench_disk_floor: %s\n", res[m].error);
            status = 1;
        }
    }

    char dev[256];
    device_name(c.dir, dev, sizeof dev);
    const char *prealloc = c.overwrite ? "fallocate+zero-fill" : "fallocate";
    if (c.json) {
        printf("{\"dir\":");
        json_str(c.dir);
        printf(",\"fs\":\"%s\",\"device\":", fs_name(c.dir));
        json_str(dev);
        printf(",\"block\":%u,\"count\":%u,\"prealloc\":\"%s\",\"modes\":{", BLOCK, c.count,
               prealloc);
        int first = 1;
        for (int m = 0; m < M_COUNT; m++) {
            if (!c.modes[m] || (!res[m].ran && !res[m].error[0]))
                continue;
            printf("%s\"%s\":{", first ? "" : ",", mode_key[m]);
            first = 0;
            if (res[m].ran) {
                printf("\"ops_per_sec\":%.1f,\"mean_us\":%.1f,\"min_us\":%.1f,\"p50_us\":%.1f,"
                       "\"p99_us\":%.1f,\"p999_us\":%.1f,\"max_us\":%.1f}",
                       res[m].ops_per_s, res[m].mean_us, res[m].min_us, res[m].p50_us,
                       res[m].p99_us, res[m].p999_us, res[m].max_us);
            } else {
                printf("\"error\":");
                json_str(res[m].error);
                printf("}");
            }
        }
        printf("}");
        if (best >= 0)
            printf(",\"best\":\"%s\",\"best_p50_us\":%.1f", mode_key[best], res[best].p50_us);
        printf("}\n");
    } else {
        printf("bench_disk_floor: %s (%s on %s), %u x %u B sequential O_DIRECT writes per mode "
               "at queue depth 1, each durable; file: %s (%u warm-up writes)\n",
               c.dir, fs_name(c.dir), dev, c.count, BLOCK, prealloc, c.warmup);
        printf("  %-26s %9s %9s %9s %9s %9s %9s %9s\n", "mode", "ops/s", "mean", "min", "p50",
               "p99", "p999", "max");
        for (int m = 0; m < M_COUNT; m++) {
            if (!c.modes[m] || (!res[m].ran && !res[m].error[0]))
                continue;
            if (res[m].ran)
                printf("  %-26s %9.0f %9.1f %9.1f %9.1f %9.1f %9.1f %9.1f\n", mode_desc[m],
                       res[m].ops_per_s, res[m].mean_us, res[m].min_us, res[m].p50_us,
                       res[m].p99_us, res[m].p999_us, res[m].max_us);
            else
                printf("  %-26s %s\n", mode_desc[m], res[m].error);
        }
        printf("  (latencies in microseconds)\n");
        if (best >= 0)
            printf("  floor: %s, p50 %.1f us\n", mode_desc[best], res[best].p50_us);
    }
    free(lat);
    free(buf);
    free(zero);
    return status;
}
