// cv_store: recovery of a core from snapshots + the write-ahead log, the
// acknowledgement rule, injected stalls, and the refusals at start-up.
#include <gtest/gtest.h>

#include <cerrno>
#include <dirent.h>
#include <chrono>
#include <cstdio>
#include <fcntl.h>
#include <string>
#include <utility>
#include <vector>
#include <sys/stat.h>
#include <thread>
#include <unistd.h>

#include "../core/core_harness.h"
#include "cv_store.h"
#include "cv_wal.h"
#include "cv_wal_int.h" // cv_wal__truncate_stop: injected crashes

namespace
{

using cvt::Bytes;

struct TmpDir {
    std::string path;
    TmpDir()
    {
        char t[] = "/tmp/cv-store-XXXXXX";
        path = mkdtemp(t);
    }
    ~TmpDir() { (void)!system(("rm -rf " + path).c_str()); }
    std::string log() const { return path + "/log"; }
    std::string snap() const { return path + "/snap"; }
};

cv_store_config config(const TmpDir &d)
{
    static std::string log, snap; // outlive the call, as the store copies only the pointers
    if (log != d.log())           // unchanged: earlier configs of the same directory stay valid
        log = d.log();
    if (snap != d.snap())
        snap = d.snap();
    cv_store_config c;
    cv_store_config_defaults(&c);
    c.log_dir = log.c_str();
    c.snap_dir = snap.c_str();
    c.segment_bytes = 4u << 20;
    c.snap_count = 1000000; // snapshots only when a test asks
    return c;
}

cv_core *fresh_core()
{
    return cvt::new_core();
}

// Poll until the log says zxid is acknowledged (bounded).
void wait_acked(cv_store *st, int64_t zxid)
{
    for (int i = 0; i < 20000 && cv_store_acked_zxid(st) < zxid; i++) {
        ASSERT_GE(cv_store_poll(st, 0), 0);
        if (cv_store_acked_zxid(st) < zxid)
            std::this_thread::sleep_for(std::chrono::microseconds(100));
    }
    ASSERT_GE(cv_store_acked_zxid(st), zxid);
}

// Append every txn of log[from..) one batch each, and wait until durable.
void persist(cv_store *st, const std::vector<Bytes> &log, size_t from)
{
    for (size_t i = from; i < log.size(); i++) {
        int64_t zxid = (int64_t)i + 1;
        ASSERT_EQ(cv_store_append(st, zxid, log[i].data(), log[i].size()), 0);
        wait_acked(st, zxid);
    }
}

// Some history: two sessions, nodes, data, an ephemeral, a closed session.
void build_history(cvt::Core &k, int n)
{
    int64_t a = k.connect(10000), b = k.connect(6000);
    k.write(a, k.create("/app", "root"), CV_OP_CREATE);
    for (int i = 0; i < n; i++)
        k.write(i % 2 ? a : b, k.create("/app/n" + std::to_string(i), std::string(100, 'x')),
                CV_OP_CREATE);
    k.write(b, k.create("/app/eph", "e", 1 /* ephemeral */), CV_OP_CREATE);
    int64_t c = k.connect(4000);
    k.write(c, k.create("/app/gone", "g", 1), CV_OP_CREATE);
    k.close(c);
}

int open_store(cv_store **st, const cv_store_config &c, cv_core *core, int64_t now,
               std::string *msg = nullptr)
{
    char err[2048] = "";
    int rc = cv_store_open(st, &c, core, now, err, sizeof err);
    if (msg)
        *msg = err;
    return rc;
}

// A server's life: open an empty store, make the whole log durable, stop.
void log_all(const cv_store_config &c, const std::vector<Bytes> &log)
{
    cv_store *st;
    cv_core *live = fresh_core();
    ASSERT_EQ(open_store(&st, c, live, 0), 0);
    persist(st, log, 0);
    cv_store_close(st);
    cv_core_free(live);
}

TEST(Store, RecoversTheSameStateFromTheLogAlone)
{
    TmpDir d;
    cvt::Core k;
    build_history(k, 50);
    cv_store_config c = config(d);
    log_all(c, k.log);
    cv_store *st;

    cv_core *r = fresh_core();
    ASSERT_EQ(open_store(&st, c, r, 5), 0);
    cv_store_stats ss;
    cv_store_get_stats(st, &ss);
    EXPECT_EQ(ss.recovered_snapshot_zxid, -1);
    EXPECT_EQ(ss.recovered_records, k.log.size());
    EXPECT_EQ(cv_core_last_applied(r), (int64_t)k.log.size());
    EXPECT_EQ(cv_core_last_prepared(r), (int64_t)k.log.size()); // the next zxid follows on
    EXPECT_EQ(cv_core_digest(r), cv_core_digest(k.c()));
    cv_store_close(st);
    cv_core_free(r);
}

TEST(Store, RecoveryThatReplayedTheLogWritesASnapshotSoTheNextStartReplaysNothing)
{
    TmpDir d;
    cvt::Core k;
    build_history(k, 20);
    cv_store_config c = config(d);
    log_all(c, k.log);
    cv_store *st;
    for (int start = 0; start < 2; start++) {
        cv_core *r = fresh_core();
        ASSERT_EQ(open_store(&st, c, r, 0), 0);
        cv_store_stats ss;
        cv_store_get_stats(st, &ss);
        if (start == 0) {
            EXPECT_EQ(ss.recovered_records, k.log.size());
            EXPECT_EQ(ss.last_snapshot_zxid, (int64_t)k.log.size()) << "no start-up snapshot";
        } else {
            EXPECT_EQ(ss.recovered_snapshot_zxid, (int64_t)k.log.size());
            EXPECT_EQ(ss.recovered_records, 0u);
        }
        EXPECT_EQ(cv_core_digest(r), cv_core_digest(k.c()));
        cv_store_close(st);
        cv_core_free(r);
    }
}

TEST(Store, SnapshotPlusTheLogAfterItRecoversTheSameState)
{
    TmpDir d;
    cvt::Core k;
    build_history(k, 30);
    size_t at_snap = k.log.size();
    cv_store_config c = config(d);
    cv_store *st;
    cv_core *live = fresh_core();
    ASSERT_EQ(open_store(&st, c, live, 0), 0);
    persist(st, k.log, 0);
    // The live core applies what is durable; the snapshot is of its state.
    for (const Bytes &t : k.log) {
        static const cv_core_sink none{};
        ASSERT_EQ(cv_core_apply(live, t.data(), t.size(), &none), 0);
    }
    ASSERT_EQ(cv_store_snapshot(st, live, 0), 0);
    EXPECT_EQ(cv_store_snapshot(st, live, 0), -EALREADY); // one at a time
    cv_store_stats ss{};
    for (int i = 0; i < 5000 && ss.snapshots == 0; i++) {
        cv_store_poll(st, 0);
        cv_store_get_stats(st, &ss);
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    ASSERT_EQ(ss.snapshots, 1u);
    EXPECT_EQ(ss.last_snapshot_zxid, (int64_t)at_snap);
    int64_t s2 = k.connect(5000);
    for (int i = 0; i < 20; i++)
        k.write(s2, k.create("/later" + std::to_string(i), "l"), CV_OP_CREATE);
    persist(st, k.log, at_snap);
    cv_store_close(st);
    cv_core_free(live);

    cv_core *r = fresh_core();
    ASSERT_EQ(open_store(&st, c, r, 5), 0);
    cv_store_get_stats(st, &ss);
    EXPECT_EQ(ss.recovered_snapshot_zxid, (int64_t)at_snap);
    EXPECT_EQ(ss.recovered_records, k.log.size() - at_snap);
    EXPECT_EQ(cv_core_digest(r), cv_core_digest(k.c()));
    cv_store_close(st);
    cv_core_free(r);
}

TEST(Store, SessionClocksRestartAtRecoverySoNobodyExpiresForTheDowntime)
{
    TmpDir d;
    cvt::Core k; // sessions created at k.now (2023)
    int64_t a = k.connect(6000);
    k.write(a, k.create("/e", "", 1), CV_OP_CREATE);
    cv_store_config c = config(d);
    log_all(c, k.log);
    cv_store *st;

    const int64_t restart = k.now + 3600 * 1000; // an hour later
    cv_core *r = fresh_core();
    ASSERT_EQ(open_store(&st, c, r, restart), 0);
    int64_t ids[4];
    EXPECT_EQ(cv_core_expired(r, restart + 5000, ids, 4), 0u) << "expired within its timeout";
    EXPECT_EQ(cv_core_touch(r, a, restart + 5000), 0);
    EXPECT_EQ(cv_core_expired(r, restart + 5000 + 6000 + 2000, ids, 4), 1u);
    cv_store_close(st);
    cv_core_free(r);
}

TEST(Store, ForceSyncNoAcknowledgesWhatIsAppended)
{
    TmpDir d;
    cvt::Core k;
    build_history(k, 3);
    cv_store_config c = config(d);
    c.force_sync = false;
    cv_store *st;
    cv_core *live = fresh_core();
    ASSERT_EQ(open_store(&st, c, live, 0), 0);
    ASSERT_EQ(cv_store_append(st, 1, k.log[0].data(), k.log[0].size()), 0);
    EXPECT_EQ(cv_store_acked_zxid(st), 1); // before any poll: not yet written
    cv_store_close(st);
    cv_core_free(live);
}

TEST(Store, StallFileWithholdsDurabilityUntilRemoved)
{
    TmpDir d;
    cvt::Core k;
    build_history(k, 2);
    cv_store_config c = config(d);
    std::string stall = d.path + "/stall";
    c.stall_file = stall.c_str();
    cv_store *st;
    cv_core *live = fresh_core();
    ASSERT_EQ(open_store(&st, c, live, 0), 0);
    persist(st, k.log, 0); // no stall yet
    int64_t s = k.connect(5000);
    int fd = open(stall.c_str(), O_CREAT | O_WRONLY, 0644);
    ASSERT_GE(fd, 0);
    close(fd);
    size_t z = k.log.size();
    ASSERT_EQ(cv_store_append(st, (int64_t)z, k.log[z - 1].data(), k.log[z - 1].size()), 0);
    (void)s;
    auto t0 = std::chrono::steady_clock::now();
    while (std::chrono::steady_clock::now() - t0 < std::chrono::milliseconds(200)) {
        ASSERT_GE(cv_store_poll(st, 0), 0); // never blocks
        ASSERT_LT(cv_store_acked_zxid(st), (int64_t)z) << "acknowledged during the stall";
    }
    cv_store_stats ss;
    cv_store_get_stats(st, &ss);
    unlink(stall.c_str());
    wait_acked(st, (int64_t)z);
    cv_store_get_stats(st, &ss);
    EXPECT_GE(ss.wal.write_ns_max, 200u * 1000000u) << "the stall counts as write latency";
    cv_store_close(st);
    cv_core_free(live);
}

// Flip one byte of the log segment at off.
void flip(const TmpDir &d, off_t off)
{
    std::string seg = d.log() + "/log.0000000000000001";
    int fd = open(seg.c_str(), O_RDWR);
    ASSERT_GE(fd, 0) << seg;
    uint8_t b;
    ASSERT_EQ(pread(fd, &b, 1, off), 1);
    b ^= 0x5a;
    ASSERT_EQ(pwrite(fd, &b, 1, off), 1);
    close(fd);
}

TEST(Store, DamageBeforeTheEndOfTheLogRefusesToStartAndCheckSaysWhere)
{
    TmpDir d;
    cvt::Core k;
    build_history(k, 10);
    cv_store_config c = config(d);
    cv_store *st;
    cv_core *live = fresh_core();
    ASSERT_EQ(open_store(&st, c, live, 0), 0);
    persist(st, k.log, 0); // one batch per record: batch i at block i + 1
    cv_store_close(st);
    cv_core_free(live);
    flip(d, 2 * CV_WAL_BLOCK + 60); // inside the second batch; later batches are valid

    cv_core *r = fresh_core();
    std::string msg;
    EXPECT_EQ(open_store(&st, c, r, 0, &msg), -EUCLEAN);
    EXPECT_NE(msg.find("refusing to start"), std::string::npos) << msg;
    cv_core_free(r);
    char *out = nullptr;
    size_t outlen = 0;
    FILE *f = open_memstream(&out, &outlen);
    EXPECT_EQ(cv_store_check(d.log().c_str(), d.snap().c_str(), f), -EUCLEAN);
    fclose(f);
    std::string report(out, outlen);
    free(out);
    EXPECT_NE(report.find("CORRUPT"), std::string::npos) << report;
    EXPECT_NE(report.find("DAMAGED"), std::string::npos) << report;
}

TEST(Store, TornLastBatchIsDroppedAndAppendsContinueAfterIt)
{
    TmpDir d;
    cvt::Core k;
    build_history(k, 10);
    cv_store_config c = config(d);
    log_all(c, k.log);
    cv_store *st;
    size_t n = k.log.size();
    flip(d, (off_t)(n * CV_WAL_BLOCK + 60)); // the last batch: never acknowledged as a whole

    char *out = nullptr;
    size_t outlen = 0;
    FILE *f = open_memstream(&out, &outlen);
    EXPECT_EQ(cv_store_check(d.log().c_str(), d.snap().c_str(), f), 0);
    fclose(f);
    free(out);
    cv_core *r = fresh_core();
    ASSERT_EQ(open_store(&st, c, r, 0), 0);
    EXPECT_EQ(cv_core_last_applied(r), (int64_t)n - 1);
    // The transaction is prepared again under the same zxid and logged anew.
    ASSERT_EQ(cv_store_append(st, (int64_t)n, k.log[n - 1].data(), k.log[n - 1].size()), 0);
    wait_acked(st, (int64_t)n);
    cv_store_close(st);
    cv_core_free(r);
    cv_core *r2 = fresh_core();
    ASSERT_EQ(open_store(&st, c, r2, 0), 0);
    EXPECT_EQ(cv_core_digest(r2), cv_core_digest(k.c()));
    cv_store_close(st);
    cv_core_free(r2);
}

TEST(Store, AGapBetweenTheSnapshotAndTheLogRefusesToStart)
{
    TmpDir d;
    cvt::Core k;
    build_history(k, 10);
    cv_store_config c = config(d);
    // A log that starts at zxid 5 with nothing before it: records 1..4 are
    // missing from a state that starts empty.
    cv_wal_config wc;
    cv_wal_config_defaults(&wc);
    std::string log = d.log();
    mkdir(log.c_str(), 0755);
    wc.dir = log.c_str();
    wc.segment_bytes = 4u << 20;
    wc.backend = CV_WAL_IO_PWRITE;
    cv_wal *w;
    ASSERT_EQ(cv_wal_open(&w, &wc, 0, nullptr, nullptr), 0);
    for (size_t i = 4; i < k.log.size(); i++)
        ASSERT_EQ(cv_wal_append(w, (int64_t)i + 1, 0, k.log[i].data(), (uint32_t)k.log[i].size()),
                  0);
    while (cv_wal_durable_zxid(w) < (int64_t)k.log.size())
        ASSERT_GE(cv_wal_poll(w), 0);
    cv_wal_close(w);

    cv_core *r = fresh_core();
    cv_store *st;
    std::string msg;
    EXPECT_EQ(open_store(&st, c, r, 0, &msg), -EUCLEAN);
    EXPECT_NE(msg.find("gap"), std::string::npos) << msg;
    cv_core_free(r);
}

// Files in dir whose names start with prefix (not *.tmp).
int count_files(const std::string &dir, const std::string &prefix)
{
    int n = 0;
    if (DIR *dp = opendir(dir.c_str())) {
        while (dirent *e = readdir(dp)) {
            std::string name = e->d_name;
            if (name.rfind(prefix, 0) == 0 && name.find(".tmp") == std::string::npos)
                n++;
        }
        closedir(dp);
    }
    return n;
}

TEST(Store, AutopurgeKeepsSnapRetainCountSnapshotsAndTheLogTheyNeed)
{
    TmpDir d;
    cvt::Core k;
    int64_t s = k.connect(10000);
    cv_store_config c = config(d);
    c.segment_bytes = 2u << 20; // ~500 one-record batches per segment
    c.snap_retain = 3;
    c.purge_interval_ms = 1000;
    cv_store *st;
    cv_core *live = fresh_core();
    ASSERT_EQ(open_store(&st, c, live, 0), 0);
    size_t done = 0;
    static const cv_core_sink none{};
    for (int round = 0; round < 5; round++) {
        for (int i = 0; i < 400; i++)
            k.write(s, k.create("/r" + std::to_string(round) + "-" + std::to_string(i), "v"),
                    CV_OP_CREATE);
        persist(st, k.log, done);
        for (size_t i = done; i < k.log.size(); i++)
            ASSERT_EQ(cv_core_apply(live, k.log[i].data(), k.log[i].size(), &none), 0);
        done = k.log.size();
        ASSERT_EQ(cv_store_snapshot(st, live, 0), 0);
        cv_store_stats ss{};
        for (int w = 0; w < 5000 && ss.snapshots < (uint64_t)round + 1; w++) {
            cv_store_poll(st, 0);
            cv_store_get_stats(st, &ss);
            std::this_thread::sleep_for(std::chrono::milliseconds(1));
        }
        ASSERT_EQ(ss.snapshots, (uint64_t)round + 1);
    }
    int segs_before = count_files(d.log(), "log.");
    ASSERT_GE(segs_before, 4);
    EXPECT_EQ(count_files(d.snap(), "snapshot."), 5);
    cv_store_poll(st, 999); // not due yet
    EXPECT_EQ(count_files(d.snap(), "snapshot."), 5);
    cv_store_poll(st, 1000);
    EXPECT_EQ(count_files(d.snap(), "snapshot."), 3);
    int segs_after = count_files(d.log(), "log.");
    EXPECT_LT(segs_after, segs_before) << "segments before the oldest kept snapshot are purged";
    cv_store_close(st);
    cv_core_free(live);
    // What is left still recovers everything.
    cv_core *r = fresh_core();
    ASSERT_EQ(open_store(&st, c, r, 0), 0);
    EXPECT_EQ(cv_core_digest(r), cv_core_digest(k.c()));
    cv_store_close(st);
    cv_core_free(r);
}

// ---- replicated mode ------------------------------------------------------------

using Loaded = std::vector<std::pair<int64_t, Bytes>>;

int collect_load(void *ctx, int64_t zxid, const uint8_t *txn, size_t len)
{
    static_cast<Loaded *>(ctx)->push_back({zxid, Bytes(txn, txn + len)});
    return 0;
}

cv_store_config replicated(const TmpDir &d, Loaded *out)
{
    cv_store_config c = config(d);
    c.replicated = true;
    c.load = collect_load;
    c.load_ctx = out;
    return c;
}

Bytes payload(int64_t zxid, size_t n = 40)
{
    Bytes b(n, (uint8_t)(zxid * 7));
    for (size_t i = 0; i < 8 && i < n; i++)
        b[i] = (uint8_t)(zxid >> (8 * i));
    return b;
}

void append_durable(cv_store *st, int64_t zxid, const Bytes &txn)
{
    ASSERT_EQ(cv_store_append(st, zxid, txn.data(), txn.size()), 0);
    wait_acked(st, zxid);
}

// Reopen replicated and return what was loaded (the store is closed again).
Loaded reopen_loaded(const TmpDir &d, cv_core **core_out = nullptr, int *rc_out = nullptr)
{
    Loaded got;
    cv_store_config c = replicated(d, &got);
    cv_core *r = fresh_core();
    cv_store *st;
    std::string msg;
    int rc = open_store(&st, c, r, 0, &msg);
    if (rc_out)
        *rc_out = rc;
    else
        EXPECT_EQ(rc, 0) << msg;
    if (rc == 0)
        cv_store_close(st);
    if (core_out)
        *core_out = r;
    else
        cv_core_free(r);
    return got;
}

void wait_snapshots(cv_store *st, uint64_t n)
{
    cv_store_stats ss{};
    for (int i = 0; i < 5000 && ss.snapshots < n; i++) {
        cv_store_poll(st, 0);
        cv_store_get_stats(st, &ss);
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    ASSERT_EQ(ss.snapshots, n);
}

int write_bytes(void *ctx, const void *p, size_t n)
{
    auto *b = static_cast<Bytes *>(ctx);
    b->insert(b->end(), (const uint8_t *)p, (const uint8_t *)p + n);
    return 0;
}

TEST(StoreReplicated, OpenHandsRecordsAfterTheSnapshotToLoadAndLeavesCoreAtTheSnapshot)
{
    TmpDir d;
    cvt::Core k;
    build_history(k, 40);
    const size_t at_snap = 30, n = k.log.size();
    Loaded none;
    cv_store_config c = replicated(d, &none);
    cv_store *st;
    cv_core *live = fresh_core();
    ASSERT_EQ(open_store(&st, c, live, 0), 0);
    EXPECT_TRUE(none.empty());
    persist(st, k.log, 0);
    static const cv_core_sink sink{};
    for (size_t i = 0; i < at_snap; i++) // only these were committed and applied
        ASSERT_EQ(cv_core_apply(live, k.log[i].data(), k.log[i].size(), &sink), 0);
    uint64_t digest_at_snap = cv_core_digest(live);
    cv_store_applied(st, live, (uint32_t)at_snap, 0);
    ASSERT_EQ(cv_store_snapshot(st, live, 0), 0);
    wait_snapshots(st, 1);
    cv_store_close(st);
    cv_core_free(live);

    cv_core *r = nullptr;
    Loaded got = reopen_loaded(d, &r);
    ASSERT_EQ(got.size(), n - at_snap) << "records at or below the snapshot are skipped";
    for (size_t i = 0; i < got.size(); i++) {
        EXPECT_EQ(got[i].first, (int64_t)(at_snap + i + 1));
        EXPECT_EQ(got[i].second, k.log[at_snap + i]);
    }
    EXPECT_EQ(cv_core_last_applied(r), (int64_t)at_snap) << "loaded records are not applied";
    EXPECT_EQ(cv_core_digest(r), digest_at_snap);
    cv_core_free(r);
    EXPECT_EQ(count_files(d.snap(), "snapshot."), 1) << "no start-up snapshot in replicated mode";
}

TEST(StoreReplicated, ALoadThatRefusesARecordFailsTheOpen)
{
    TmpDir d;
    Loaded none;
    cv_store_config c = replicated(d, &none);
    cv_store *st;
    cv_core *live = fresh_core();
    ASSERT_EQ(open_store(&st, c, live, 0), 0);
    append_durable(st, 1, payload(1));
    cv_store_close(st);
    cv_core_free(live);
    c.load = [](void *, int64_t, const uint8_t *, size_t) { return 1; };
    cv_core *r = fresh_core();
    std::string msg;
    EXPECT_EQ(open_store(&st, c, r, 0, &msg), -EUCLEAN);
    EXPECT_NE(msg.find("refused"), std::string::npos) << msg;
    cv_core_free(r);
}

std::string slurp(const std::string &path)
{
    std::string s;
    if (FILE *f = fopen(path.c_str(), "r")) {
        char buf[256];
        size_t n;
        while ((n = fread(buf, 1, sizeof buf, f)) > 0)
            s.append(buf, n);
        fclose(f);
    }
    return s;
}

TEST(StoreReplicated, EpochsReadAsZeroWhenAbsentAndPersistAcrossReopen)
{
    TmpDir d;
    Loaded none;
    cv_store_config c = replicated(d, &none);
    cv_store *st;
    cv_core *core = fresh_core();
    ASSERT_EQ(open_store(&st, c, core, 0), 0);
    int64_t acc = -1, cur = -1;
    cv_store_epochs(st, &acc, &cur);
    EXPECT_EQ(acc, 0);
    EXPECT_EQ(cur, 0);
    ASSERT_EQ(cv_store_persist_epochs(st, 7, 6), 0);
    cv_store_epochs(st, &acc, &cur);
    EXPECT_EQ(acc, 7);
    EXPECT_EQ(cur, 6);
    EXPECT_EQ(slurp(d.snap() + "/acceptedEpoch"), "7\n") << "ZooKeeper's format";
    EXPECT_EQ(slurp(d.snap() + "/currentEpoch"), "6\n");
    EXPECT_EQ(count_files(d.snap(), "acceptedEpoch.tmp"), 0);
    cv_store_close(st);
    cv_core_free(core);

    core = fresh_core();
    ASSERT_EQ(open_store(&st, c, core, 0), 0);
    cv_store_epochs(st, &acc, &cur);
    EXPECT_EQ(acc, 7);
    EXPECT_EQ(cur, 6);
    ASSERT_EQ(cv_store_persist_epochs(st, 8, 8), 0);
    cv_store_close(st);
    cv_core_free(core);

    core = fresh_core();
    ASSERT_EQ(open_store(&st, c, core, 0), 0);
    cv_store_epochs(st, &acc, &cur);
    EXPECT_EQ(acc, 8);
    EXPECT_EQ(cur, 8);
    cv_store_close(st);
    cv_core_free(core);

    FILE *f = fopen((d.snap() + "/currentEpoch").c_str(), "w");
    fputs("eight\n", f);
    fclose(f);
    core = fresh_core();
    std::string msg;
    EXPECT_EQ(open_store(&st, c, core, 0, &msg), -EUCLEAN);
    EXPECT_NE(msg.find("currentEpoch"), std::string::npos) << msg;
    cv_core_free(core);
}

TEST(StoreReplicated, TruncateDropsTheSuffixIncludingAppendsInFlightAndLaterEpochAppendsSurvive)
{
    TmpDir d;
    Loaded none;
    cv_store_config c = replicated(d, &none);
    std::string stall = d.path + "/stall";
    c.stall_file = stall.c_str();
    cv_store *st;
    cv_core *core = fresh_core();
    ASSERT_EQ(open_store(&st, c, core, 0), 0);
    for (int64_t z = 1; z <= 10; z++)
        append_durable(st, z, payload(z));
    int fd = open(stall.c_str(), O_CREAT | O_WRONLY, 0644);
    ASSERT_GE(fd, 0);
    close(fd);
    for (int64_t z = 11; z <= 13; z++)
        ASSERT_EQ(cv_store_append(st, z, payload(z).data(), payload(z).size()), 0);
    ASSERT_EQ(cv_store_poll(st, 0), 1); // 11..13 in flight, held by the stall
    for (int64_t z = 14; z <= 15; z++)  // queued behind it
        ASSERT_EQ(cv_store_append(st, z, payload(z).data(), payload(z).size()), 0);
    EXPECT_EQ(cv_store_acked_zxid(st), 10);

    ASSERT_EQ(cv_store_truncate(st, 12), 0); // inside the batch in flight
    EXPECT_EQ(cv_store_acked_zxid(st), 12) << "what is kept is durable when truncate returns";
    unlink(stall.c_str());
    EXPECT_EQ(cv_store_append(st, 12, payload(12).data(), payload(12).size()), -EINVAL);
    const int64_t e2 = (int64_t)2 << 32;
    append_durable(st, e2 | 1, payload(e2 | 1));
    append_durable(st, e2 | 2, payload(e2 | 2));
    cv_store_close(st);
    cv_core_free(core);

    Loaded got = reopen_loaded(d);
    std::vector<int64_t> want = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, e2 | 1, e2 | 2};
    ASSERT_EQ(got.size(), want.size());
    for (size_t i = 0; i < want.size(); i++) {
        EXPECT_EQ(got[i].first, want[i]);
        EXPECT_EQ(got[i].second, payload(want[i]));
    }
}

TEST(StoreReplicated, TruncateToAZxidInsideABatchKeepsItsHeadAndAppendsContinue)
{
    TmpDir d;
    Loaded none;
    cv_store_config c = replicated(d, &none);
    cv_store *st;
    cv_core *core = fresh_core();
    ASSERT_EQ(open_store(&st, c, core, 0), 0);
    for (int64_t z = 1; z <= 20; z++) // one batch
        ASSERT_EQ(cv_store_append(st, z, payload(z).data(), payload(z).size()), 0);
    wait_acked(st, 20);
    cv_store_stats ss;
    cv_store_get_stats(st, &ss);
    ASSERT_EQ(ss.wal.batches, 1u);
    ASSERT_EQ(cv_store_truncate(st, 7), 0);
    EXPECT_EQ(cv_store_acked_zxid(st), 7);
    for (int64_t z = 8; z <= 10; z++) // the same zxids again, other content
        append_durable(st, z, payload(z, 99));
    ASSERT_EQ(cv_store_truncate(st, 100), 0); // above everything: a no-op
    append_durable(st, 11, payload(11, 99));
    cv_store_close(st);
    cv_core_free(core);

    Loaded got = reopen_loaded(d);
    ASSERT_EQ(got.size(), 11u);
    for (int64_t z = 1; z <= 11; z++) {
        EXPECT_EQ(got[z - 1].first, z);
        EXPECT_EQ(got[z - 1].second, payload(z, z <= 7 ? 40 : 99));
    }
    // The log stays clean for --check-data.
    char *out = nullptr;
    size_t outlen = 0;
    FILE *f = open_memstream(&out, &outlen);
    EXPECT_EQ(cv_store_check(d.log().c_str(), d.snap().c_str(), f), 0);
    fclose(f);
    std::string report(out, outlen);
    free(out);
    EXPECT_NE(report.find("end: clean"), std::string::npos) << report;
}

TEST(StoreReplicated, TruncateDropsQueuedAppendsWithoutWritingThem)
{
    TmpDir d;
    Loaded none;
    cv_store_config c = replicated(d, &none);
    cv_store *st;
    cv_core *core = fresh_core();
    ASSERT_EQ(open_store(&st, c, core, 0), 0);
    append_durable(st, 1, payload(1));
    append_durable(st, 2, payload(2));
    for (int64_t z = 3; z <= 6; z++) // queued, never polled
        ASSERT_EQ(cv_store_append(st, z, payload(z).data(), payload(z).size()), 0);
    ASSERT_EQ(cv_store_truncate(st, 4), 0); // keeps 3 and 4 queued
    EXPECT_EQ(cv_store_append(st, 5, payload(5, 77).data(), 77), 0);
    wait_acked(st, 5);
    cv_store_close(st);
    cv_core_free(core);
    Loaded got = reopen_loaded(d);
    ASSERT_EQ(got.size(), 5u);
    EXPECT_EQ(got[3].second, payload(4));
    EXPECT_EQ(got[4].second, payload(5, 77));
}

// Big records: a few batches per (small) segment, so a cut spans segments.
void fill_segments(cv_store *st, int64_t n)
{
    for (int64_t z = 1; z <= n; z++) {
        ASSERT_EQ(cv_store_append(st, z, payload(z, 150000).data(), 150000), 0);
        if (z % 2 == 0)
            wait_acked(st, z); // two records a batch
    }
    wait_acked(st, n);
}

TEST(StoreReplicated, TruncateInterruptedAtAnyStepRecoversTheTruncatedLog)
{
    for (int stop = 1; stop <= 6; stop++) {
        SCOPED_TRACE("crash after step " + std::to_string(stop));
        TmpDir d;
        Loaded none;
        cv_store_config c = replicated(d, &none);
        c.segment_bytes = (1u << 20) + CV_WAL_BLOCK; // 3 batches (6 records) a segment
        cv_store *st;
        cv_core *core = fresh_core();
        ASSERT_EQ(open_store(&st, c, core, 0), 0);
        fill_segments(st, 40);
        ASSERT_GE(count_files(d.log(), "log."), 3);
        cv_wal__truncate_stop = stop;
        int rc = cv_store_truncate(st, 9); // inside batch (9, 10) of the second segment
        cv_wal__truncate_stop = 0;
        EXPECT_EQ(rc, -ECANCELED);
        cv_store_close(st); // the crash
        cv_core_free(core);

        Loaded got = reopen_loaded(d);
        ASSERT_EQ(got.size(), 9u);
        for (int64_t z = 1; z <= 9; z++)
            EXPECT_EQ(got[z - 1].second, payload(z, 150000));
        EXPECT_EQ(count_files(d.log(), "log."), 2);
        EXPECT_EQ(count_files(d.log(), "truncate"), 0) << "the marker is gone once redone";

        core = fresh_core();
        ASSERT_EQ(open_store(&st, c, core, 0), 0);
        EXPECT_EQ(cv_store_acked_zxid(st), 9);
        append_durable(st, 10, payload(10, 5));
        cv_store_close(st);
        cv_core_free(core);
        got = reopen_loaded(d);
        ASSERT_EQ(got.size(), 10u);
        EXPECT_EQ(got[9].second, payload(10, 5));
    }
}

TEST(StoreReplicated, TruncateAcrossSegmentsAndToNothing)
{
    TmpDir d;
    Loaded none;
    cv_store_config c = replicated(d, &none);
    c.segment_bytes = (1u << 20) + CV_WAL_BLOCK;
    cv_store *st;
    cv_core *core = fresh_core();
    ASSERT_EQ(open_store(&st, c, core, 0), 0);
    fill_segments(st, 40);
    ASSERT_EQ(cv_store_truncate(st, 30), 0); // at a batch boundary in a later segment
    EXPECT_EQ(cv_store_acked_zxid(st), 30);
    cv_store_close(st);
    cv_core_free(core);
    EXPECT_EQ(reopen_loaded(d).size(), 30u);

    core = fresh_core();
    ASSERT_EQ(open_store(&st, c, core, 0), 0);
    ASSERT_EQ(cv_store_truncate(st, 0), 0); // everything
    EXPECT_EQ(cv_store_acked_zxid(st), 0);
    EXPECT_EQ(count_files(d.log(), "log."), 0);
    append_durable(st, 5, payload(5));
    cv_store_close(st);
    cv_core_free(core);
    Loaded got = reopen_loaded(d);
    ASSERT_EQ(got.size(), 1u);
    EXPECT_EQ(got[0].first, 5);
}

TEST(StoreReplicated, InstallReplacesStateAndLogAndSurvivesReopen)
{
    TmpDir d;
    cvt::Core k;
    build_history(k, 25);
    const int64_t x = (int64_t)k.log.size();
    Bytes image;
    ASSERT_EQ(cv_core_serialize(k.c(), write_bytes, &image), 0);

    Loaded none;
    cv_store_config c = replicated(d, &none);
    cv_store *st;
    cv_core *core = fresh_core();
    ASSERT_EQ(open_store(&st, c, core, 0), 0);
    for (int64_t z = 1; z <= 5; z++)
        append_durable(st, z, payload(z));
    for (int64_t z = x + 1; z <= x + 3; z++) // divergent proposals above the snapshot
        append_durable(st, z, payload(z));
    ASSERT_EQ(cv_store_append(st, x + 4, payload(x + 4).data(), 40), 0); // queued

    cv_core *restored = fresh_core();
    ASSERT_EQ(cv_core_restore(restored, image.data(), image.size(), 0), 0);
    ASSERT_EQ(cv_store_install(st, restored, x, 0), 0);
    EXPECT_EQ(cv_store_acked_zxid(st), x) << "the installed state is durable";
    EXPECT_EQ(count_files(d.log(), "log."), 0) << "the whole log is dropped";
    append_durable(st, x + 1, payload(x + 1, 99));
    cv_store_stats ss;
    cv_store_get_stats(st, &ss);
    EXPECT_EQ(ss.last_snapshot_zxid, x);
    cv_store_close(st);
    cv_core_free(core);
    cv_core_free(restored);

    cv_core *r = nullptr;
    Loaded got = reopen_loaded(d, &r);
    EXPECT_EQ(cv_core_digest(r), cv_core_digest(k.c()));
    EXPECT_EQ(cv_core_last_applied(r), x);
    ASSERT_EQ(got.size(), 1u);
    EXPECT_EQ(got[0].first, x + 1);
    EXPECT_EQ(got[0].second, payload(x + 1, 99));
    cv_core_free(r);
}

TEST(StoreReplicated, InstallInterruptedRecoversTheOldLogOrTheNewSnapshot)
{
    cvt::Core k;
    build_history(k, 10);
    const int64_t x = (int64_t)k.log.size();
    Bytes image;
    ASSERT_EQ(cv_core_serialize(k.c(), write_bytes, &image), 0);
    for (int divergent = 0; divergent < 2; divergent++) {
        SCOPED_TRACE(divergent ? "records above the snapshot" : "records below only");
        TmpDir d;
        Loaded none;
        cv_store_config c = replicated(d, &none);
        cv_store *st;
        cv_core *core = fresh_core();
        ASSERT_EQ(open_store(&st, c, core, 0), 0);
        for (int64_t z = 1; z <= 3; z++)
            append_durable(st, z, payload(z));
        if (divergent)
            append_durable(st, x + 1, payload(x + 1));
        cv_core *restored = fresh_core();
        ASSERT_EQ(cv_core_restore(restored, image.data(), image.size(), 0), 0);
        cv_wal__truncate_stop = 4; // the first truncate that touches the disk
        EXPECT_EQ(cv_store_install(st, restored, x, 0), -ECANCELED);
        cv_wal__truncate_stop = 0;
        cv_store_close(st);
        cv_core_free(core);
        cv_core_free(restored);

        cv_core *r = nullptr;
        Loaded got = reopen_loaded(d, &r);
        if (divergent) { // crashed in step 1: the old state without what is above x
            EXPECT_EQ(cv_core_last_applied(r), 0);
            ASSERT_EQ(got.size(), 3u);
            EXPECT_EQ(got[2].first, 3);
        } else { // crashed dropping the log: the new snapshot
            EXPECT_EQ(cv_core_digest(r), cv_core_digest(k.c()));
            EXPECT_TRUE(got.empty());
        }
        cv_core_free(r);
    }
}

TEST(StoreReplicated, SnapshotAheadOfTheLogRecoversAndAppendsContinue)
{
    TmpDir d;
    cvt::Core k;
    build_history(k, 20);
    const int64_t n = (int64_t)k.log.size();
    Loaded none;
    cv_store_config c = replicated(d, &none);
    cv_store *st;
    cv_core *live = fresh_core();
    ASSERT_EQ(open_store(&st, c, live, 0), 0);
    persist(st, std::vector<Bytes>(k.log.begin(), k.log.begin() + 5), 0); // log: 1..5
    static const cv_core_sink sink{};
    for (const Bytes &t : k.log) // a follower applies commits before its log has them
        ASSERT_EQ(cv_core_apply(live, t.data(), t.size(), &sink), 0);
    ASSERT_EQ(cv_store_snapshot(st, live, 0), 0);
    wait_snapshots(st, 1);
    cv_store_close(st);
    cv_core_free(live);

    cv_core *r = nullptr;
    Loaded got = reopen_loaded(d, &r);
    EXPECT_TRUE(got.empty()) << "every log record is at or below the snapshot";
    EXPECT_EQ(cv_core_digest(r), cv_core_digest(k.c()));
    cv_core_free(r);

    cv_core *core = fresh_core();
    ASSERT_EQ(open_store(&st, c, core, 0), 0);
    EXPECT_EQ(cv_store_acked_zxid(st), n) << "the snapshot's state is durable";
    append_durable(st, n + 1, payload(n + 1));
    cv_store_close(st);
    cv_core_free(core);
    got = reopen_loaded(d);
    ASSERT_EQ(got.size(), 1u);
    EXPECT_EQ(got[0].first, n + 1);
}

TEST(StoreReplicated, EpochJumpInTheLogIsAcceptedButStandaloneStillRefusesItAsAGap)
{
    TmpDir d;
    cvt::Core k;
    build_history(k, 3);
    const int64_t e1 = (int64_t)1 << 32;
    Loaded none;
    cv_store_config c = replicated(d, &none);
    cv_store *st;
    cv_core *core = fresh_core();
    ASSERT_EQ(open_store(&st, c, core, 0), 0);
    for (int64_t z = 1; z <= 3; z++)
        append_durable(st, z, k.log[z - 1]);
    append_durable(st, e1 | 1, k.log[3]); // a new epoch restarts the counter
    cv_store_close(st);
    cv_core_free(core);

    Loaded got = reopen_loaded(d);
    ASSERT_EQ(got.size(), 4u);
    EXPECT_EQ(got[3].first, e1 | 1);

    cv_store_config sc = config(d);
    cv_core *r = fresh_core();
    std::string msg;
    EXPECT_EQ(open_store(&st, sc, r, 0, &msg), -EUCLEAN);
    EXPECT_NE(msg.find("gap"), std::string::npos) << msg;
    cv_core_free(r);
}

TEST(StoreReplicated, AutopurgeKeepsEveryRecordAboveTheNewestSnapshot)
{
    TmpDir d;
    cvt::Core k;
    int64_t s = k.connect(10000);
    for (int i = 0; i < 30; i++)
        k.write(s, k.create("/p" + std::to_string(i), "v"), CV_OP_CREATE);
    Loaded none;
    cv_store_config c = replicated(d, &none);
    c.segment_bytes = (1u << 20) + CV_WAL_BLOCK;
    c.snap_retain = 1;
    c.purge_interval_ms = 10;
    cv_store *st;
    cv_core *live = fresh_core();
    ASSERT_EQ(open_store(&st, c, live, 0), 0);
    // Big uncommitted-looking records after the committed ones, over several segments.
    persist(st, k.log, 0);
    const int64_t n = (int64_t)k.log.size();
    for (int64_t z = n + 1; z <= n + 30; z++) {
        ASSERT_EQ(cv_store_append(st, z, payload(z, 150000).data(), 150000), 0);
        wait_acked(st, z);
    }
    ASSERT_GE(count_files(d.log(), "log."), 3);
    static const cv_core_sink sink{};
    for (const Bytes &t : k.log)
        ASSERT_EQ(cv_core_apply(live, t.data(), t.size(), &sink), 0);
    ASSERT_EQ(cv_store_snapshot(st, live, 0), 0);
    wait_snapshots(st, 1);
    cv_store_poll(st, 10); // autopurge
    cv_store_close(st);
    cv_core_free(live);
    Loaded got = reopen_loaded(d);
    ASSERT_EQ(got.size(), 30u);
    EXPECT_EQ(got[0].first, n + 1);
}

} // namespace
