/* cv_store — recovery, log, snapshots and autopurge of a standalone server.
 * Contract in cv_store.h. */
#include "cv_store.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cv_common.h"
#include "cv_snap.h"
#include "cv_wal_io.h"

/* The last snapshots written or found, newest last: autopurge keeps the log
 * from the oldest retained one on. */
#define KNOWN_SNAPS 64

struct stall_io {
    const char *file;
    int64_t res;
    bool done;
    uint64_t checked_ns;
    bool stalled;
};

struct cv_store {
    struct cv_store_config cfg;
    struct cv_wal *wal;
    struct stall_io stall;
    struct cv_wal_io stall_ops;
    int64_t last_appended;
    /* replicated: everything <= base is durable in a snapshot (the one
     * recovered, or installed); the log's durable zxid counts above it */
    int64_t base;
    int64_t accepted_epoch, current_epoch;
    /* snapshots */
    int64_t since_snap, snap_due;
    pid_t child;
    int64_t child_zxid;
    uint64_t child_started_ns;
    int64_t known[KNOWN_SNAPS];
    unsigned nknown;
    int64_t next_purge_ms;
    uint64_t rng;
    struct cv_store_stats st;
};

static uint64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static int64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void cv_store_config_defaults(struct cv_store_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->force_sync = true;
    cfg->snap_count = 100000;
    cfg->snap_retain = 3;
    cfg->slow_ms = 1000;
    cfg->backend = CV_WAL_IO_URING;
}

void cv_store_paths(const char *data_dir, const char *data_log_dir, char *log, char *snap,
                    size_t cap)
{
    snprintf(log, cap, "%s/corvid-log", data_log_dir && data_log_dir[0] ? data_log_dir : data_dir);
    snprintf(snap, cap, "%s/corvid-snap", data_dir);
}

int64_t cv_store_dir_bytes(const char *dir)
{
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    DIR *d = dfd >= 0 ? fdopendir(dfd) : NULL;
    if (!d) {
        if (dfd >= 0)
            close(dfd);
        return 0;
    }
    int64_t total = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        struct stat sb;
        if (fstatat(dfd, e->d_name, &sb, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(sb.st_mode))
            total += sb.st_size;
    }
    closedir(d);
    return total;
}

/* ---- test-only stalling backend -------------------------------------------- */

static int st_open(void *ctx, const char *path, int flags)
{
    (void)ctx;
    int fd = open(path, flags | O_CLOEXEC, 0644);
    return fd < 0 ? -errno : fd;
}

static void st_close(void *ctx, int fd)
{
    (void)ctx;
    close(fd);
}

static int st_submit(void *ctx, int fd, const void *buf, size_t len, uint64_t off)
{
    struct stall_io *s = ctx;
    struct iovec iov = {(void *)buf, len};
    ssize_t r = pwritev2(fd, &iov, 1, (off_t)off, RWF_DSYNC);
    s->res = r < 0 ? -errno : (r == (ssize_t)len ? r : -EIO);
    s->done = true;
    struct stat sb; /* a batch submitted after the file appeared waits */
    s->stalled = stat(s->file, &sb) == 0;
    s->checked_ns = mono_ns();
    return 0;
}

static int st_reap(void *ctx, int64_t *res)
{
    struct stall_io *s = ctx;
    if (!s->done)
        return 0;
    uint64_t now = mono_ns();
    if (now - s->checked_ns >= 1000000) {
        struct stat sb;
        s->stalled = stat(s->file, &sb) == 0;
        s->checked_ns = now;
    }
    if (s->stalled)
        return 0;
    s->done = false;
    *res = s->res;
    return 1;
}

static int st_wait(void *ctx, int64_t *res)
{
    struct stall_io *s = ctx;
    if (!s->done)
        return 0;
    s->done = false;
    *res = s->res;
    return 1;
}

/* ---- recovery ----------------------------------------------------------------- */

struct replay_ctx {
    struct cv_core *core;
    uint64_t records;
    char *err;
    size_t errlen;
};

static int replay_one(void *ctx, const struct cv_wal_rec *r)
{
    struct replay_ctx *rc = ctx;
    int64_t applied = cv_core_last_applied(rc->core);
    if (r->zxid != applied + 1) {
        snprintf(rc->err, rc->errlen,
                 "log record zxid 0x%" PRIx64 " does not follow the state at 0x%" PRIx64
                 " (a gap in the history: a log segment or snapshot is missing)",
                 (uint64_t)r->zxid, (uint64_t)applied);
        return -EUCLEAN;
    }
    static const struct cv_core_sink none;
    int e = cv_core_apply(rc->core, r->data, r->len, &none);
    if (e) {
        snprintf(rc->err, rc->errlen, "log record zxid 0x%" PRIx64 " does not apply: %s",
                 (uint64_t)r->zxid, strerror(-e));
        return -EUCLEAN;
    }
    rc->records++;
    return 0;
}

/* replicated: hand a record to the caller, unapplied */
struct load_ctx {
    const struct cv_store_config *cfg;
    int64_t prev;
    uint64_t records;
    char *err;
    size_t errlen;
};

static int load_one(void *ctx, const struct cv_wal_rec *r)
{
    struct load_ctx *lc = ctx;
    if (r->zxid <= lc->prev) { /* the log's format already forbids this */
        snprintf(lc->err, lc->errlen,
                 "log record zxid 0x%" PRIx64 " does not follow 0x%" PRIx64 " (out of order)",
                 (uint64_t)r->zxid, (uint64_t)lc->prev);
        return -EUCLEAN;
    }
    if (lc->cfg->load && lc->cfg->load(lc->cfg->load_ctx, r->zxid, r->data, r->len) != 0) {
        snprintf(lc->err, lc->errlen, "log record zxid 0x%" PRIx64 " was refused by the loader",
                 (uint64_t)r->zxid);
        return -EUCLEAN;
    }
    lc->prev = r->zxid;
    lc->records++;
    return 0;
}

/* ---- epochs (ZooKeeper's acceptedEpoch / currentEpoch files) --------------- */

#define ACCEPTED_EPOCH "acceptedEpoch"
#define CURRENT_EPOCH  "currentEpoch"

/* 0 (absent: *v = 0), -EUCLEAN (not a decimal number), or -errno. */
static int read_epoch(int dfd, const char *name, int64_t *v)
{
    *v = 0;
    int fd = openat(dfd, name, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return errno == ENOENT ? 0 : -errno;
    char buf[64];
    ssize_t n = read(fd, buf, sizeof buf - 1);
    int e = n < 0 ? -errno : 0;
    close(fd);
    if (e)
        return e;
    buf[n] = 0;
    char *end;
    errno = 0;
    long long x = strtoll(buf, &end, 10);
    while (*end == '\n' || *end == '\r' || *end == ' ')
        end++;
    if (end == buf || *end || errno || x < 0)
        return -EUCLEAN;
    *v = x;
    return 0;
}

/* name.tmp written and fdatasync'ed (the caller renames it). */
static int write_epoch_tmp(int dfd, const char *tmp, int64_t v)
{
    char buf[32];
    int n = snprintf(buf, sizeof buf, "%" PRId64 "\n", v);
    int fd = openat(dfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return -errno;
    int rc = write(fd, buf, (size_t)n) == n ? 0 : -EIO;
    if (rc == 0 && fdatasync(fd) < 0)
        rc = -errno;
    close(fd);
    if (rc)
        unlinkat(dfd, tmp, 0);
    return rc;
}

void cv_store_epochs(const struct cv_store *st, int64_t *accepted, int64_t *current)
{
    *accepted = st->accepted_epoch;
    *current = st->current_epoch;
}

int cv_store_persist_epochs(struct cv_store *st, int64_t accepted, int64_t current)
{
    int dfd = open(st->cfg.snap_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0)
        return -errno;
    /* acceptedEpoch first, then currentEpoch (ZooKeeper's order: a crash in
     * between leaves the new accepted and the old current epoch). */
    const char *names[2] = {ACCEPTED_EPOCH, CURRENT_EPOCH};
    const int64_t vals[2] = {accepted, current};
    int rc = 0;
    for (int i = 0; i < 2 && !rc; i++) {
        char tmp[64];
        snprintf(tmp, sizeof tmp, "%s.tmp", names[i]);
        rc = write_epoch_tmp(dfd, tmp, vals[i]);
        if (!rc && renameat(dfd, tmp, dfd, names[i]) < 0) {
            rc = -errno;
            unlinkat(dfd, tmp, 0);
        }
        if (!rc && fsync(dfd) < 0)
            rc = -errno;
    }
    close(dfd);
    if (rc == 0) {
        st->accepted_epoch = accepted;
        st->current_epoch = current;
    }
    return rc;
}

static int snap_body(void *ctx, int (*write)(void *wctx, const void *p, size_t n), void *wctx)
{
    return cv_core_serialize(ctx, write, wctx);
}

static void remember_snap(struct cv_store *st, int64_t zxid)
{
    if (st->nknown == KNOWN_SNAPS) {
        memmove(st->known, st->known + 1, (KNOWN_SNAPS - 1) * sizeof st->known[0]);
        st->nknown--;
    }
    st->known[st->nknown++] = zxid;
}

/* A snapshot file at zxid is in place. */
static void snapshot_written(struct cv_store *st, int64_t zxid)
{
    st->st.snapshots++;
    st->st.last_snapshot_zxid = zxid;
    st->st.last_snapshot_ms = wall_ms();
    remember_snap(st, zxid);
}

static void schedule_snap(struct cv_store *st)
{
    /* ZooKeeper's SyncRequestProcessor: snapCount/2 + a random part, so
     * servers of an ensemble do not all snapshot at once. */
    st->rng = st->rng * 6364136223846793005ull + 1442695040888963407ull;
    int64_t half = st->cfg.snap_count / 2;
    st->snap_due = half + (half > 0 ? (int64_t)((st->rng >> 33) % (uint64_t)half) : 0);
    if (st->snap_due < 1)
        st->snap_due = 1;
    st->since_snap = 0;
}

int cv_store_open(struct cv_store **out, const struct cv_store_config *cfg, struct cv_core *core,
                  int64_t now_ms, char *err, size_t errlen)
{
    *out = NULL;
    snprintf(err, errlen, "storage: out of memory");
    struct cv_store *st = calloc(1, sizeof *st);
    if (!st)
        return -ENOMEM;
    st->cfg = *cfg;
    st->child = -1;
    st->rng = (uint64_t)mono_ns() | 1;
    st->st.recovered_snapshot_zxid = -1;
    st->st.last_snapshot_zxid = -1;
    st->st.last_snapshot_ms = -1;
    uint64_t t0 = mono_ns();
    if (mkdir(cfg->snap_dir, 0755) < 0 && errno != EEXIST) {
        int e = -errno;
        snprintf(err, errlen, "storage: cannot create %s: %s", cfg->snap_dir, strerror(-e));
        free(st);
        return e;
    }

    if (cfg->replicated) {
        int dfd = open(cfg->snap_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        int e = dfd < 0 ? -errno : read_epoch(dfd, ACCEPTED_EPOCH, &st->accepted_epoch);
        const char *which = ACCEPTED_EPOCH;
        if (!e) {
            e = read_epoch(dfd, CURRENT_EPOCH, &st->current_epoch);
            which = CURRENT_EPOCH;
        }
        if (dfd >= 0)
            close(dfd);
        if (e) {
            snprintf(err, errlen, "storage: cannot read %s/%s: %s", cfg->snap_dir, which,
                     e == -EUCLEAN ? "not a decimal epoch" : strerror(-e));
            free(st);
            return e;
        }
    }

    struct cv_snap_info info;
    uint8_t *body = NULL;
    size_t blen = 0;
    unsigned skipped = 0;
    int rc = cv_snap_latest(cfg->snap_dir, &info, &body, &blen, &skipped);
    if (rc == 0) {
        rc = cv_core_restore(core, body, blen, now_ms);
        free(body);
        if (rc) {
            snprintf(err, errlen,
                     "storage: snapshot 0x%" PRIx64 " in %s verifies but does not load: %s",
                     (uint64_t)info.zxid, cfg->snap_dir, strerror(-rc));
            free(st);
            return -EUCLEAN;
        }
        st->st.recovered_snapshot_zxid = info.zxid;
        remember_snap(st, info.zxid);
    } else if (rc != -ENOENT) {
        snprintf(err, errlen, "storage: cannot load a snapshot from %s: %s", cfg->snap_dir,
                 strerror(-rc));
        free(st);
        return rc;
    }
    if (skipped)
        fprintf(stderr,
                "corvid: warning: %u newer snapshot(s) in %s do not verify; recovering from "
                "the older one and the log\n",
                skipped, cfg->snap_dir);

    struct cv_wal_config wc;
    cv_wal_config_defaults(&wc);
    wc.dir = cfg->log_dir;
    wc.backend = cfg->backend;
    if (cfg->segment_bytes)
        wc.segment_bytes = cfg->segment_bytes;
    if (cfg->stall_file) {
        st->stall.file = cfg->stall_file;
        st->stall_ops =
            (struct cv_wal_io){&st->stall, st_open, st_submit, st_reap, st_wait, st_close};
        wc.io = &st->stall_ops;
        wc.backend = CV_WAL_IO_PWRITE;
    }
    struct replay_ctx rctx = {core, 0, err, errlen};
    int64_t snap_zxid = cv_core_last_applied(core);
    if (cfg->replicated && st->st.recovered_snapshot_zxid >= 0)
        snap_zxid = st->st.recovered_snapshot_zxid; /* the zxid it was written (installed) at */
    struct load_ctx lctx = {cfg, snap_zxid, 0, err, errlen};
    err[0] = 0;
    if (cfg->replicated)
        rc = cv_wal_open(&st->wal, &wc, snap_zxid, load_one, &lctx);
    else
        rc = cv_wal_open(&st->wal, &wc, snap_zxid, replay_one, &rctx);
    if (rc) {
        if (!err[0] && rc == -EUCLEAN) {
            char why[1024];
            cv_wal_check(cfg->log_dir, why, sizeof why);
            snprintf(err, errlen,
                     "storage: the log in %s is damaged before its end, so acknowledged "
                     "history would be lost; refusing to start (inspect with corvid "
                     "--check-data). %s",
                     cfg->log_dir, why);
        } else if (!err[0]) {
            snprintf(err, errlen, "storage: cannot open the log in %s: %s", cfg->log_dir,
                     strerror(-rc));
        } else {
            char tmp[768];
            snprintf(tmp, sizeof tmp, "%s", err);
            snprintf(err, errlen, "storage: %s; refusing to start (see corvid --check-data)", tmp);
        }
        free(st);
        return rc;
    }
    cv_wal_set_slow_threshold_ms(st->wal, cfg->slow_ms);
    if (cfg->replicated) {
        /* Nothing was applied: the caller applies what Zab commits. */
        cv_core_restart_clocks(core, now_ms);
        st->base = snap_zxid;
        int64_t wl = cv_wal_last_zxid(st->wal);
        st->last_appended = wl > snap_zxid ? wl : snap_zxid;
        st->st.recovered_records = lctx.records;
        st->st.recovery_ms = (mono_ns() - t0) / 1000000;
        schedule_snap(st);
        if (cfg->purge_interval_ms > 0)
            st->next_purge_ms = now_ms + cfg->purge_interval_ms;
        *out = st;
        return 0;
    }
    int64_t last = cv_core_last_applied(core);
    CV_VERIFY(cv_core_set_zxid(core, last) == 0);
    cv_core_restart_clocks(core, now_ms);
    st->last_appended = last;
    st->st.recovered_records = rctx.records;
    if (rctx.records > 0) {
        /* As ZooKeeper does after loading its database: a snapshot of what
         * was replayed, so restarts never replay an ever longer log (a
         * server restarted before each snapCount would otherwise never
         * snapshot). Written before serving; a failure is not fatal. */
        struct cv_snap_info si = {last, 0, 0, 0, wall_ms()};
        int wr = cv_snap_write(cfg->snap_dir, &si, snap_body, core);
        if (wr == 0) {
            snapshot_written(st, last);
        } else {
            fprintf(stderr, "corvid: warning: start-up snapshot into %s failed: %s\n",
                    cfg->snap_dir, strerror(-wr));
        }
    }
    st->st.recovery_ms = (mono_ns() - t0) / 1000000;
    schedule_snap(st);
    if (cfg->purge_interval_ms > 0)
        st->next_purge_ms = now_ms + cfg->purge_interval_ms;
    *out = st;
    return 0;
}

/* ---- snapshots ------------------------------------------------------------------- */

int cv_store_snapshot(struct cv_store *st, struct cv_core *core, int64_t now_ms)
{
    (void)now_ms;
    if (st->child > 0)
        return -EALREADY;
    int64_t zxid = cv_core_last_applied(core);
    uint64_t t0 = mono_ns();
    pid_t pid = fork();
    if (pid < 0)
        return -errno;
    if (pid == 0) {
        /* The child owns a copy-on-write image of the state at zxid; it dies
         * with the server (a half-written .tmp is ignored at start-up). */
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        /* Below the server: it shares the cores with the lcores and loadgen
         * alike. nice 10 (about a tenth of a core's share under load, so a
         * snapshot still finishes) and the lowest best-effort I/O priority. */
        setpriority(PRIO_PROCESS, 0, 10); /* failing is harmless: normal priority */
        syscall(SYS_ioprio_set, 1 /* IOPRIO_WHO_PROCESS */, 0, (2 << 13) | 7 /* BE, level 7 */);
        struct cv_snap_info info = {zxid, 0, 0, 0, wall_ms()};
        int rc = cv_snap_write(st->cfg.snap_dir, &info, snap_body, core);
        _exit(rc == 0 ? 0 : 1);
    }
    uint64_t us = (mono_ns() - t0) / 1000;
    st->st.fork_us_last = us;
    if (us > st->st.fork_us_max)
        st->st.fork_us_max = us;
    st->child = pid;
    st->child_zxid = zxid;
    st->child_started_ns = t0;
    schedule_snap(st);
    return 0;
}

void cv_store_applied(struct cv_store *st, struct cv_core *core, uint32_t n, int64_t now_ms)
{
    st->since_snap += n;
    if (st->since_snap >= st->snap_due && st->child < 0)
        cv_store_snapshot(st, core, now_ms);
}

static void reap_child(struct cv_store *st, bool block)
{
    if (st->child < 0)
        return;
    int status;
    pid_t r = waitpid(st->child, &status, block ? 0 : WNOHANG);
    if (r == 0 || (r < 0 && errno == EINTR))
        return;
    bool ok = r == st->child && WIFEXITED(status) && WEXITSTATUS(status) == 0;
    st->child = -1;
    uint64_t ms = (mono_ns() - st->child_started_ns) / 1000000;
    if (!ok) {
        st->st.snapshot_failures++;
        fprintf(stderr, "corvid: warning: snapshot at zxid 0x%" PRIx64 " into %s failed\n",
                (uint64_t)st->child_zxid, st->cfg.snap_dir);
        return;
    }
    st->st.snapshot_ms_last = ms;
    st->st.snapshot_ms_sum += ms;
    if (ms > st->st.snapshot_ms_max)
        st->st.snapshot_ms_max = ms;
    snapshot_written(st, st->child_zxid);
}

/* autopurge: keep snap_retain verified snapshots and the log they need. */
static void purge(struct cv_store *st)
{
    if (st->child > 0)
        return; /* a .tmp is being written; try at the next interval */
    int n = cv_snap_purge(st->cfg.snap_dir, st->cfg.snap_retain);
    if (n < 0)
        fprintf(stderr, "corvid: warning: autopurge of %s: %s\n", st->cfg.snap_dir, strerror(-n));
    if (st->nknown >= st->cfg.snap_retain) {
        int64_t oldest = st->known[st->nknown - st->cfg.snap_retain];
        int m = cv_wal_purge(st->wal, oldest, 1);
        if (m < 0)
            fprintf(stderr, "corvid: warning: autopurge of %s: %s\n", st->cfg.log_dir,
                    strerror(-m));
    }
    st->st.purges++;
}

/* ---- the request path ------------------------------------------------------------ */

int cv_store_truncate(struct cv_store *st, int64_t zxid)
{
    int rc = cv_wal_truncate(st->wal, zxid);
    if (rc)
        return rc;
    st->last_appended = cv_wal_last_zxid(st->wal);
    if (st->base > zxid)
        st->base = zxid; /* nothing above zxid is claimed durable any more */
    if (st->last_appended < st->base)
        st->last_appended = st->base;
    return 0;
}

/* Remove snapshots above zxid (install: the installed one must be the
 * newest). 0 or -errno. */
static int drop_snaps_above(struct cv_store *st, int64_t zxid)
{
    int dfd = open(st->cfg.snap_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    DIR *d = dfd >= 0 ? fdopendir(dfd) : NULL;
    if (!d) {
        int e = -errno;
        if (dfd >= 0)
            close(dfd);
        return e;
    }
    int removed = 0, rc = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        unsigned long long z;
        int end = 0;
        if (sscanf(e->d_name, "snapshot.%16llx%n", &z, &end) == 1 && strlen(e->d_name) == 25 &&
            end == 25 && (int64_t)z > zxid) {
            if (unlinkat(dfd, e->d_name, 0) < 0 && errno != ENOENT)
                rc = -errno;
            else
                removed++;
        }
    }
    if (removed && fsync(dfd) < 0 && !rc)
        rc = -errno;
    closedir(d);
    unsigned k = 0;
    for (unsigned i = 0; i < st->nknown; i++)
        if (st->known[i] <= zxid)
            st->known[k++] = st->known[i];
    st->nknown = k;
    return rc;
}

int cv_store_install(struct cv_store *st, struct cv_core *core, int64_t zxid, int64_t now_ms)
{
    (void)now_ms;
    /* A snapshot child writes the state before the install: let it finish
     * (its zxid is not above the installed one), so it cannot land later. */
    reap_child(st, true);
    /* 1. Records above zxid are not part of the installed history: drop them
     * first (crash-safe truncate), so that once the new snapshot is in place
     * nothing in the log can be loaded on top of it. */
    int rc = cv_wal_truncate(st->wal, zxid);
    if (!rc)
        rc = drop_snaps_above(st, zxid); /* none in Zab (zxid >= what was applied) */
    if (rc)
        return rc;
    /* 2. The new snapshot, durably: from here on recovery starts from it and
     * skips every record at or below zxid. */
    struct cv_snap_info si = {zxid, 0, 0, 0, wall_ms()};
    rc = cv_snap_write(st->cfg.snap_dir, &si, snap_body, core);
    if (rc) {
        st->st.snapshot_failures++;
        return rc;
    }
    snapshot_written(st, zxid);
    /* 3. The rest of the log is now below the snapshot: drop it all. */
    rc = cv_wal_truncate(st->wal, 0);
    if (rc)
        return rc;
    st->base = zxid;
    st->last_appended = zxid;
    schedule_snap(st);
    return 0;
}

int cv_store_append(struct cv_store *st, int64_t zxid, const uint8_t *txn, size_t len)
{
    int rc = cv_wal_append(st->wal, zxid, 0, txn, (uint32_t)len);
    if (rc == 0)
        st->last_appended = zxid;
    return rc;
}

int cv_store_poll(struct cv_store *st, int64_t now_ms)
{
    int rc = cv_wal_poll(st->wal);
    if (st->child > 0)
        reap_child(st, false);
    if (st->next_purge_ms && now_ms >= st->next_purge_ms) {
        st->next_purge_ms = now_ms + st->cfg.purge_interval_ms;
        purge(st);
    }
    return rc;
}

int cv_store_wake_fd(const struct cv_store *st)
{
    return cv_wal_wake_fd(st->wal);
}

int64_t cv_store_acked_zxid(const struct cv_store *st)
{
    if (!st->cfg.replicated)
        return st->cfg.force_sync ? cv_wal_durable_zxid(st->wal) : st->last_appended;
    int64_t d = st->cfg.force_sync ? cv_wal_durable_zxid(st->wal) : st->last_appended;
    return d > st->base ? d : st->base;
}

void cv_store_get_stats(const struct cv_store *st, struct cv_store_stats *out)
{
    *out = st->st;
    cv_wal_get_stats(st->wal, &out->wal);
}

void cv_store_reset_stats(struct cv_store *st)
{
    st->st.snapshot_ms_last = st->st.snapshot_ms_max = st->st.snapshot_ms_sum = 0;
    st->st.fork_us_last = st->st.fork_us_max = 0;
}

void cv_store_close(struct cv_store *st)
{
    if (!st)
        return;
    reap_child(st, true);
    cv_wal_close(st->wal);
    free(st);
}

/* ---- --check-data ---------------------------------------------------------------- */

int cv_store_check(const char *log_dir, const char *snap_dir, FILE *out)
{
    int bad = 0;
    struct dirent **names = NULL;
    int n = scandir(snap_dir, &names, NULL, alphasort);
    if (n < 0) {
        fprintf(out, "snapshots %s: %s\n", snap_dir, strerror(errno));
    } else {
        int found = 0, good = 0;
        for (int i = 0; i < n; i++) {
            const char *name = names[i]->d_name;
            if (strncmp(name, "snapshot.", 9) == 0) {
                char path[4096];
                snprintf(path, sizeof path, "%s/%s", snap_dir, name);
                struct cv_snap_info info;
                int rc = cv_snap_verify_file(path, &info);
                found++;
                if (rc == 0) {
                    good++;
                    fprintf(out, "snapshot %s: ok, zxid 0x%" PRIx64 ", %" PRIu64 " body bytes\n",
                            path, (uint64_t)info.zxid, info.body_bytes);
                } else {
                    fprintf(out, "snapshot %s: DOES NOT VERIFY (%s): skipped at start-up\n", path,
                            strerror(-rc));
                }
            }
            free(names[i]);
        }
        free(names);
        fprintf(out, "snapshots %s: %d file(s), %d verify\n", snap_dir, found, good);
    }
    char buf[4096];
    struct stat sb;
    if (stat(log_dir, &sb) < 0) {
        fprintf(out, "wal %s: %s (an empty log)\n", log_dir, strerror(errno));
    } else {
        int rc = cv_wal_check(log_dir, buf, sizeof buf);
        fputs(buf, out);
        bad = rc < 0; /* damaged history, or a log that cannot be read */
    }
    fprintf(out, "%s\n",
            bad ? "data: DAMAGED: corvid refuses to start on it"
                : "data: ok (any damage is at the log's tail; start-up truncates it)");
    return bad ? -EUCLEAN : 0;
}
