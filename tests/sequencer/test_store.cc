// cv_store: recovery of a core from snapshots + the write-ahead log, the
// acknowledgement rule, injected stalls, and the refusals at start-up.
#include <gtest/gtest.h>

#include <cerrno>
#include <dirent.h>
#include <chrono>
#include <cstdio>
#include <fcntl.h>
#include <string>
#include <sys/stat.h>
#include <thread>
#include <unistd.h>

#include "../core/core_harness.h"
#include "cv_store.h"
#include "cv_wal.h"

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
    log = d.log();
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

} // namespace
