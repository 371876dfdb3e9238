// cv_wal: on-disk format, group commit, both real backends, recovery rules
// (torn tail vs. damage in the middle), purge, and seeded crashes on a
// simulated disk.
#include <gtest/gtest.h>

#include <dirent.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <map>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "cv_wal.h"
#include "cv_wal_io.h"
#include "wal_test_io.h"

namespace
{

using waltest::SimDisk;
using waltest::StallIo;

struct Rec {
    int64_t zxid;
    uint32_t type;
    std::vector<uint8_t> data;
    bool operator==(const Rec &o) const
    {
        return zxid == o.zxid && type == o.type && data == o.data;
    }
};

int collect(void *ctx, const cv_wal_rec *r)
{
    static_cast<std::vector<Rec> *>(ctx)->push_back(
        {r->zxid, r->type, {r->data, r->data + r->len}});
    return 0;
}

struct TempDir {
    std::string path;
    TempDir()
    {
        char tmpl[] = "/tmp/cv_wal_test.XXXXXX";
        path = mkdtemp(tmpl);
    }
    ~TempDir() { std::system(("rm -rf '" + path + "'").c_str()); }
    std::string file(const std::string &name) const { return path + "/" + name; }
};

std::vector<std::string> segments(const std::string &dir)
{
    std::vector<std::string> v;
    DIR *d = opendir(dir.c_str());
    if (!d)
        return v;
    while (dirent *de = readdir(d))
        if (strncmp(de->d_name, "log.", 4) == 0)
            v.push_back(de->d_name);
    closedir(d);
    std::sort(v.begin(), v.end());
    return v;
}

std::vector<uint8_t> read_file(const std::string &path)
{
    std::vector<uint8_t> v;
    FILE *f = fopen(path.c_str(), "rb");
    if (!f)
        return v;
    uint8_t b[65536];
    size_t n;
    while ((n = fread(b, 1, sizeof b, f)) > 0)
        v.insert(v.end(), b, b + n);
    fclose(f);
    return v;
}

void write_at(const std::string &path, uint64_t off, const void *p, size_t n)
{
    int fd = open(path.c_str(), O_WRONLY);
    ASSERT_GE(fd, 0);
    ASSERT_EQ(pwrite(fd, p, n, (off_t)off), (ssize_t)n);
    close(fd);
}

void flip_byte(const std::string &path, uint64_t off)
{
    auto v = read_file(path);
    ASSERT_LT(off, v.size());
    uint8_t b = v[off] ^ 0x5a;
    write_at(path, off, &b, 1);
}

std::map<std::string, std::vector<uint8_t>> snapshot(const std::string &dir)
{
    std::map<std::string, std::vector<uint8_t>> m;
    for (auto &s : segments(dir))
        m[s] = read_file(dir + "/" + s);
    return m;
}

Rec make_rec(std::mt19937_64 &rng, int64_t zxid, size_t maxlen)
{
    Rec r{zxid, (uint32_t)(rng() % 20), std::vector<uint8_t>(rng() % (maxlen + 1))};
    for (auto &b : r.data)
        b = (uint8_t)rng();
    return r;
}

// Does the file system under dir accept O_DIRECT? (tmpfs does not.)
bool direct_io_works(const std::string &dir)
{
    struct statfs sf;
    if (statfs(dir.c_str(), &sf) == 0 && sf.f_type == TMPFS_MAGIC)
        return false;
    std::string p = dir + "/.direct_probe";
    int fd = open(p.c_str(), O_RDWR | O_CREAT | O_DIRECT, 0644);
    if (fd < 0)
        return false;
    close(fd);
    unlink(p.c_str());
    return true;
}

cv_wal_config small_config(const std::string &dir)
{
    cv_wal_config c;
    cv_wal_config_defaults(&c);
    c.dir = dir.c_str();
    c.segment_bytes = 64 << 10;
    c.max_batch = 16 << 10;
    c.backend = CV_WAL_IO_PWRITE;
    c.direct = direct_io_works(dir) ? 1 : 0;
    c.ensemble_id = 7;
    c.epoch = 1;
    return c;
}

int append(cv_wal *w, const Rec &r)
{
    return cv_wal_append(w, r.zxid, r.type, r.data.data(), (uint32_t)r.data.size());
}

void poll_until_durable(cv_wal *w)
{
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (cv_wal_durable_zxid(w) < cv_wal_last_zxid(w)) {
        ASSERT_GE(cv_wal_poll(w), 0);
        ASSERT_LT(std::chrono::steady_clock::now(), deadline) << "log never became durable";
    }
}

// One record per batch: append, then poll until durable.
void append_durable(cv_wal *w, const Rec &r)
{
    ASSERT_EQ(append(w, r), 0);
    poll_until_durable(w);
}

std::vector<Rec> reopen_all(const cv_wal_config &c, int *rc = nullptr)
{
    std::vector<Rec> got;
    cv_wal *w = nullptr;
    int r = cv_wal_open(&w, &c, 0, collect, &got);
    if (rc)
        *rc = r;
    else
        EXPECT_EQ(r, 0);
    cv_wal_close(w);
    return got;
}

// ---- format ----------------------------------------------------------------

struct Encoded {
    std::vector<Rec> recs;
    std::vector<uint8_t> buf;
    size_t used = 0, len = 0;
};

Encoded encode(uint64_t seed, int n, size_t maxlen, uint64_t seq)
{
    std::mt19937_64 rng(seed);
    Encoded e;
    e.buf.assign(64 << 10, 0xee);
    cv_wal_batch b;
    cv_wal_batch_init(&b, e.buf.data(), e.buf.size());
    int64_t z = 100;
    for (int i = 0; i < n; i++) {
        z += 1 + (int64_t)(rng() % 5);
        e.recs.push_back(make_rec(rng, z, maxlen));
        EXPECT_EQ(cv_wal_batch_add(&b, z, e.recs.back().type, e.recs.back().data.data(),
                                   (uint32_t)e.recs.back().data.size()),
                  0);
    }
    e.used = b.used;
    e.len = cv_wal_batch_seal(&b, seq);
    return e;
}

TEST(WalFormat, BatchRoundTripsEveryRecordByteForByte)
{
    Encoded e = encode(1, 40, 300, 9);
    std::vector<Rec> got;
    long n = cv_wal_decode_batch(e.buf.data(), e.buf.size(), 9, collect, &got);
    EXPECT_EQ(n, (long)e.len);
    EXPECT_EQ(got, e.recs);
}

TEST(WalFormat, LayoutMatchesTheDocumentedOffsets)
{
    Encoded e = encode(2, 2, 10, 0x1122334455667788ull);
    const uint8_t *p = e.buf.data();
    auto u32 = [&](size_t o) {
        return (uint32_t)p[o] | (uint32_t)p[o + 1] << 8 | (uint32_t)p[o + 2] << 16 |
               (uint32_t)p[o + 3] << 24;
    };
    auto u64 = [&](size_t o) { return (uint64_t)u32(o) | (uint64_t)u32(o + 4) << 32; };
    EXPECT_EQ(memcmp(p, "CVBT", 4), 0);
    EXPECT_EQ(u32(4), 2u);
    EXPECT_EQ(u32(8), (uint32_t)(e.used - CV_WAL_BATCH_HDR));
    EXPECT_EQ(u32(12), 0u);
    EXPECT_EQ(u64(16), 0x1122334455667788ull);
    EXPECT_EQ((int64_t)u64(24), e.recs[0].zxid);
    EXPECT_EQ((int64_t)u64(32), e.recs[1].zxid);
    EXPECT_EQ(u32(44), 0u);
    // First record: len, type, zxid, crc, payload.
    EXPECT_EQ(u32(48), (uint32_t)e.recs[0].data.size());
    EXPECT_EQ(u32(52), e.recs[0].type);
    EXPECT_EQ((int64_t)u64(56), e.recs[0].zxid);
    EXPECT_EQ(e.len % CV_WAL_BLOCK, 0u);
    for (size_t i = e.used; i < e.len; i++)
        ASSERT_EQ(p[i], 0) << "padding byte " << i;
}

TEST(WalFormat, AnyChangedByteBeforeThePaddingIsRejected)
{
    Encoded e = encode(3, 6, 40, 1);
    for (size_t i = 0; i < e.used; i++) {
        e.buf[i] ^= 0x01;
        ASSERT_EQ(cv_wal_decode_batch(e.buf.data(), e.len, 0, nullptr, nullptr), -EBADMSG)
            << "byte " << i;
        e.buf[i] ^= 0x01;
    }
    EXPECT_EQ(cv_wal_decode_batch(e.buf.data(), e.len, 0, nullptr, nullptr), (long)e.len);
}

TEST(WalFormat, EveryTruncationIsRejectedWithoutReadingPastIt)
{
    Encoded e = encode(4, 5, 100, 1);
    for (size_t n = 0; n < e.used; n++) {
        std::vector<uint8_t> cut(e.buf.begin(), e.buf.begin() + n); // exact-size heap copy
        ASSERT_EQ(cv_wal_decode_batch(cut.data(), n, 0, nullptr, nullptr), -EBADMSG) << n;
    }
}

TEST(WalFormat, ExpectedSequenceMustMatchAndZeroAcceptsAny)
{
    Encoded e = encode(5, 1, 10, 42);
    EXPECT_EQ(cv_wal_decode_batch(e.buf.data(), e.len, 41, nullptr, nullptr), -EBADMSG);
    EXPECT_EQ(cv_wal_decode_batch(e.buf.data(), e.len, 42, nullptr, nullptr), (long)e.len);
    EXPECT_EQ(cv_wal_decode_batch(e.buf.data(), e.len, 0, nullptr, nullptr), (long)e.len);
}

TEST(WalFormat, ReplayCallbackSeesNothingOfAnInvalidBatch)
{
    Encoded e = encode(6, 10, 50, 1);
    e.buf[e.used - 1] ^= 0xff; // last record's payload
    std::vector<Rec> got;
    EXPECT_EQ(cv_wal_decode_batch(e.buf.data(), e.len, 0, collect, &got), -EBADMSG);
    EXPECT_TRUE(got.empty());
}

// ---- appends, config ---------------------------------------------------------

TEST(WalAppend, RejectsNonIncreasingZxidsAndRecordsThatCanNeverFit)
{
    TempDir d;
    cv_wal_config c = small_config(d.path);
    cv_wal *w;
    ASSERT_EQ(cv_wal_open(&w, &c, 0, collect, nullptr), 0);
    uint8_t big[16 << 10] = {};
    EXPECT_EQ(cv_wal_append(w, 0, 1, "x", 1), -EINVAL);
    EXPECT_EQ(cv_wal_append(w, 5, 1, "x", 1), 0);
    EXPECT_EQ(cv_wal_append(w, 5, 1, "x", 1), -EINVAL);
    EXPECT_EQ(cv_wal_append(w, 4, 1, "x", 1), -EINVAL);
    EXPECT_EQ(cv_wal_append(w, 6, 1, big, sizeof big - CV_WAL_BATCH_HDR - CV_WAL_RECORD_HDR + 1),
              -EMSGSIZE);
    EXPECT_EQ(cv_wal_last_zxid(w), 5);
    cv_wal_close(w);
}

TEST(WalConfig, RejectsSizesThatAreNotBlockMultiplesOrTooSmall)
{
    TempDir d;
    cv_wal_config c = small_config(d.path);
    cv_wal *w;
    c.max_batch = 5000;
    EXPECT_EQ(cv_wal_open(&w, &c, 0, nullptr, nullptr), -EINVAL);
    c = small_config(d.path);
    c.segment_bytes = c.max_batch; // no room for the segment header
    EXPECT_EQ(cv_wal_open(&w, &c, 0, nullptr, nullptr), -EINVAL);
    c = small_config(d.path);
    c.dir = nullptr;
    EXPECT_EQ(cv_wal_open(&w, &c, 0, nullptr, nullptr), -EINVAL);
}

// ---- the two real backends ---------------------------------------------------

void backend_round_trip(cv_wal_backend backend, bool expect_uring)
{
    TempDir d;
    cv_wal_config c = small_config(d.path);
    c.backend = backend;
    c.segment_bytes = 1 << 20;
    c.max_batch = 64 << 10;
    cv_wal *w;
    ASSERT_EQ(cv_wal_open(&w, &c, 0, collect, nullptr), 0);
    cv_wal_stats st;
    cv_wal_get_stats(w, &st);
    if (expect_uring && st.uring_fallback)
        GTEST_SKIP() << "io_uring unavailable here (fell back to pwrite)";
    EXPECT_EQ(st.backend, backend);
    std::mt19937_64 rng(11);
    std::vector<Rec> recs;
    for (int i = 0; i < 300; i++) {
        recs.push_back(make_rec(rng, i + 1, 3000));
        int rc;
        while ((rc = append(w, recs.back())) == -EAGAIN)
            ASSERT_GE(cv_wal_poll(w), 0);
        ASSERT_EQ(rc, 0);
        if (i % 7 == 0) {
            ASSERT_GE(cv_wal_poll(w), 0);
        }
    }
    poll_until_durable(w);
    EXPECT_EQ(cv_wal_durable_zxid(w), 300);
    cv_wal_get_stats(w, &st);
    EXPECT_EQ(st.records, 300u);
    EXPECT_EQ(st.batches, st.writes);
    EXPECT_GT(st.write_ns_max, 0u);
    uint64_t hist = 0;
    for (auto h : st.hist)
        hist += h;
    EXPECT_EQ(hist, st.batches);
    cv_wal_close(w);
    EXPECT_EQ(reopen_all(c), recs);
}

TEST(WalBackend, PwriteAppendsBecomeDurableAndReplayIdentically)
{
    backend_round_trip(CV_WAL_IO_PWRITE, false);
}

TEST(WalBackend, UringAppendsBecomeDurableAndReplayIdentically)
{
    backend_round_trip(CV_WAL_IO_URING, true);
}

TEST(WalBackend, SegmentsAreOpenedWithDirectIoWhereTheFileSystemAllowsIt)
{
    TempDir d;
    if (!direct_io_works(d.path))
        GTEST_SKIP() << "file system refuses O_DIRECT";
    cv_wal_config c = small_config(d.path);
    ASSERT_EQ(c.direct, 1);
    cv_wal *w;
    ASSERT_EQ(cv_wal_open(&w, &c, 0, nullptr, nullptr), 0);
    append_durable(w, {1, 1, {1, 2, 3}});
    // The fd of the open segment carries O_DIRECT.
    bool found = false;
    DIR *fds = opendir("/proc/self/fd");
    while (dirent *de = readdir(fds)) {
        char link[512] = {}, p[300];
        snprintf(p, sizeof p, "/proc/self/fd/%s", de->d_name);
        if (readlink(p, link, sizeof link - 1) > 0 && strstr(link, "cv_wal_test") &&
            strstr(link, "/log.")) {
            found = true;
            EXPECT_TRUE(fcntl(atoi(de->d_name), F_GETFL) & O_DIRECT);
        }
    }
    closedir(fds);
    EXPECT_TRUE(found);
    cv_wal_close(w);
}

// ---- group commit with a stalled disk -----------------------------------------

TEST(WalGroupCommit, DurableZxidWaitsForTheStalledWriteAndPollNeverBlocks)
{
    TempDir d;
    StallIo io;
    io.hold = true;
    io.stall_ms = 100;
    cv_wal_config c = small_config(d.path);
    c.io = &io.io;
    cv_wal *w;
    ASSERT_EQ(cv_wal_open(&w, &c, 0, nullptr, nullptr), 0);
    std::vector<uint8_t> payload(1000, 0xab);
    ASSERT_EQ(cv_wal_append(w, 1, 1, payload.data(), 1000), 0);
    EXPECT_EQ(cv_wal_poll(w), 1); // submitted
    EXPECT_EQ(io.writes, 1);
    // While the write is stalled: durable stays, appends fill the next batch,
    // then -EAGAIN.
    int64_t z = 2;
    int rc;
    auto t0 = std::chrono::steady_clock::now();
    while ((rc = cv_wal_append(w, z, 1, payload.data(), 1000)) == 0) {
        z++;
        EXPECT_EQ(cv_wal_poll(w), 0);
        ASSERT_LT(z, 1000);
    }
    EXPECT_EQ(rc, -EAGAIN);
    for (int i = 0; i < 100; i++)
        EXPECT_EQ(cv_wal_poll(w), 0);
    auto waited = std::chrono::steady_clock::now() - t0;
    EXPECT_LT(waited, std::chrono::milliseconds(500)) << "poll blocked";
    EXPECT_EQ(cv_wal_durable_zxid(w), 0);
    EXPECT_EQ(io.writes, 1);
    // A 16 KiB batch holds 16 records of 1000 bytes (48 + 16 * 1020 bytes).
    EXPECT_EQ(z - 2, 16);
    std::this_thread::sleep_for(std::chrono::milliseconds(110));
    io.hold = false;
    EXPECT_EQ(cv_wal_poll(w), 1); // reaps write 1, submits the full batch
    EXPECT_EQ(cv_wal_durable_zxid(w), 1);
    EXPECT_EQ(io.writes, 2);
    EXPECT_EQ(cv_wal_append(w, z, 1, payload.data(), 1000), 0);
    poll_until_durable(w);
    EXPECT_EQ(cv_wal_durable_zxid(w), z);
    cv_wal_close(w);
    EXPECT_EQ(reopen_all(small_config(d.path)).size(), (size_t)z);
}

TEST(WalGroupCommit, AppendsDuringAWriteGoOutInExactlyOneMoreWrite)
{
    TempDir d;
    StallIo io;
    io.hold = true;
    cv_wal_config c = small_config(d.path);
    c.io = &io.io;
    cv_wal *w;
    ASSERT_EQ(cv_wal_open(&w, &c, 0, nullptr, nullptr), 0);
    ASSERT_EQ(cv_wal_append(w, 1, 1, "a", 1), 0);
    ASSERT_EQ(cv_wal_poll(w), 1);
    for (int64_t z = 2; z <= 101; z++) {
        ASSERT_EQ(cv_wal_append(w, z, 1, "bb", 2), 0);
        ASSERT_EQ(cv_wal_poll(w), 0);
    }
    io.hold = false;
    poll_until_durable(w);
    EXPECT_EQ(io.writes, 2);
    cv_wal_stats st;
    cv_wal_get_stats(w, &st);
    EXPECT_EQ(st.batches, 2u);
    EXPECT_EQ(st.records, 101u);
    cv_wal_close(w);
}

TEST(WalStats, WritesSlowerThanTheThresholdCountAsSlowSyncs)
{
    TempDir d;
    StallIo io;
    io.stall_ms = 40;
    cv_wal_config c = small_config(d.path);
    c.io = &io.io;
    cv_wal *w;
    ASSERT_EQ(cv_wal_open(&w, &c, 0, nullptr, nullptr), 0);
    cv_wal_stats st;
    cv_wal_get_stats(w, &st);
    EXPECT_EQ(st.slow_ns, 1000000000ull); // ZooKeeper's fsync.warningthresholdms default
    cv_wal_set_slow_threshold_ms(w, 20);
    append_durable(w, {1, 1, {}});
    io.stall_ms = 0;
    append_durable(w, {2, 1, {}});
    cv_wal_get_stats(w, &st);
    EXPECT_EQ(st.slow_syncs, 1u);
    EXPECT_GE(st.write_ns_max, 40000000u);
    EXPECT_LT(st.write_ns_last, 20000000u);
    EXPECT_EQ(st.hist[15], 1u); // 40 ms = 40000 us, in [2^15, 2^16)
    cv_wal_close(w);
}

// ---- segments -------------------------------------------------------------------

TEST(WalSegments, RollOverAndReopenReplaysEveryRecordInOrder)
{
    TempDir d;
    cv_wal_config c = small_config(d.path);
    c.segment_bytes = 32 << 10;
    c.max_batch = 8 << 10;
    cv_wal *w;
    ASSERT_EQ(cv_wal_open(&w, &c, 0, nullptr, nullptr), 0);
    std::mt19937_64 rng(21);
    std::vector<Rec> recs;
    int64_t z = 0;
    for (int i = 0; i < 200; i++) {
        z += 1 + (int64_t)(rng() % 3);
        recs.push_back(make_rec(rng, z, 2000));
        int rc;
        while ((rc = append(w, recs.back())) == -EAGAIN)
            ASSERT_GE(cv_wal_poll(w), 0);
        ASSERT_EQ(rc, 0);
        if (rng() % 3 == 0) {
            ASSERT_GE(cv_wal_poll(w), 0);
        }
    }
    poll_until_durable(w);
    cv_wal_stats st;
    cv_wal_get_stats(w, &st);
    cv_wal_close(w);
    auto segs = segments(d.path);
    ASSERT_GE(segs.size(), 5u);
    EXPECT_EQ(st.segments, segs.size());
    char first[32];
    snprintf(first, sizeof first, "log.%016llx", (unsigned long long)recs[0].zxid);
    EXPECT_EQ(segs[0], first);
    for (auto &s : segs) {
        EXPECT_EQ(read_file(d.file(s)).size(), (size_t)c.segment_bytes);
        // Named after the first zxid it holds.
        int64_t first = (int64_t)strtoull(s.c_str() + 4, nullptr, 16);
        EXPECT_TRUE(
            std::any_of(recs.begin(), recs.end(), [&](const Rec &r) { return r.zxid == first; }));
    }
    EXPECT_EQ(reopen_all(c), recs);
    // Reopen with after_zxid: only the later records are handed over.
    std::vector<Rec> tail;
    ASSERT_EQ(cv_wal_open(&w, &c, recs[150].zxid, collect, &tail), 0);
    EXPECT_EQ(tail, std::vector<Rec>(recs.begin() + 151, recs.end()));
    EXPECT_EQ(cv_wal_durable_zxid(w), recs.back().zxid);
    cv_wal_close(w);
    char buf[1024];
    EXPECT_EQ(cv_wal_check(d.path.c_str(), buf, sizeof buf), 0);
    EXPECT_TRUE(strstr(buf, "200 record(s)")) << buf;
    EXPECT_TRUE(strstr(buf, "clean")) << buf;
}

TEST(WalSegments, AppendsAfterReopenContinueTheSequence)
{
    TempDir d;
    cv_wal_config c = small_config(d.path);
    c.segment_bytes = 32 << 10;
    c.max_batch = 8 << 10;
    std::mt19937_64 rng(22);
    std::vector<Rec> recs;
    int64_t z = 0;
    for (int life = 0; life < 5; life++) {
        cv_wal *w;
        std::vector<Rec> got;
        ASSERT_EQ(cv_wal_open(&w, &c, 0, collect, &got), 0);
        ASSERT_EQ(got, recs);
        for (int i = 0; i < 20; i++) {
            recs.push_back(make_rec(rng, ++z, 1500));
            append_durable(w, recs.back());
        }
        cv_wal_close(w);
    }
    EXPECT_EQ(reopen_all(c), recs);
}

// ---- recovery -------------------------------------------------------------------

struct Written {
    TempDir d;
    cv_wal_config c;
    std::vector<Rec> recs;
    std::vector<uint64_t> batch_off; // file offsets of batches in the first segment
};

// n batches of one record each (< one BLOCK each) in one segment.
void write_batches(Written &wr, int n, uint64_t seed = 31)
{
    wr.c = small_config(wr.d.path);
    cv_wal *w;
    ASSERT_EQ(cv_wal_open(&w, &wr.c, 0, nullptr, nullptr), 0);
    std::mt19937_64 rng(seed);
    for (int i = 0; i < n; i++) {
        wr.recs.push_back(make_rec(rng, i + 1, 1000));
        wr.batch_off.push_back(CV_WAL_BLOCK * (uint64_t)(i + 1));
        append_durable(w, wr.recs.back());
    }
    cv_wal_close(w);
    ASSERT_EQ(segments(wr.d.path).size(), 1u);
}

void expect_truncated_and_appendable(Written &wr, size_t kept)
{
    std::vector<Rec> got;
    cv_wal *w;
    ASSERT_EQ(cv_wal_open(&w, &wr.c, 0, collect, &got), 0);
    EXPECT_EQ(got, std::vector<Rec>(wr.recs.begin(), wr.recs.begin() + (long)kept));
    EXPECT_EQ(cv_wal_durable_zxid(w), kept ? wr.recs[kept - 1].zxid : 0);
    std::vector<Rec> expect(wr.recs.begin(), wr.recs.begin() + (long)kept);
    std::mt19937_64 rng(99);
    for (int i = 0; i < 3; i++) {
        expect.push_back(make_rec(rng, 1000 + i, 2500));
        append_durable(w, expect.back());
    }
    cv_wal_close(w);
    EXPECT_EQ(reopen_all(wr.c), expect);
    char buf[1024];
    EXPECT_EQ(cv_wal_check(wr.d.path.c_str(), buf, sizeof buf), 0) << buf;
    EXPECT_TRUE(strstr(buf, "clean")) << buf;
}

TEST(WalRecovery, FileCutInsideTheLastBatchIsTruncatedThereAndAppendsContinue)
{
    Written wr;
    write_batches(wr, 6);
    std::string seg = wr.d.file(segments(wr.d.path)[0]);
    ASSERT_EQ(truncate(seg.c_str(), (off_t)wr.batch_off[5] + 700), 0);
    char buf[1024];
    EXPECT_EQ(cv_wal_check(wr.d.path.c_str(), buf, sizeof buf), 0);
    EXPECT_TRUE(strstr(buf, "tail damage")) << buf;
    expect_truncated_and_appendable(wr, 5);
}

TEST(WalRecovery, FlippedByteInTheLastBatchIsATornWriteAndItsBlockIsZeroed)
{
    Written wr;
    write_batches(wr, 6);
    std::string seg = wr.d.file(segments(wr.d.path)[0]);
    flip_byte(seg, wr.batch_off[5] + 100);
    cv_wal *w;
    ASSERT_EQ(cv_wal_open(&w, &wr.c, 0, nullptr, nullptr), 0);
    cv_wal_close(w);
    auto bytes = read_file(seg);
    EXPECT_TRUE(std::all_of(bytes.begin() + (long)wr.batch_off[5],
                            bytes.begin() + (long)wr.batch_off[5] + CV_WAL_BLOCK,
                            [](uint8_t b) { return b == 0; }));
    expect_truncated_and_appendable(wr, 5);
}

TEST(WalRecovery, TornFirstBatchLeavesAnEmptyLog)
{
    Written wr;
    write_batches(wr, 1);
    std::string seg = wr.d.file(segments(wr.d.path)[0]);
    flip_byte(seg, wr.batch_off[0] + 30);
    expect_truncated_and_appendable(wr, 0);
}

TEST(WalRecovery, CrcDamageBeforeAValidBatchRefusesToOpenAndChangesNothing)
{
    Written wr;
    write_batches(wr, 6);
    std::string name = segments(wr.d.path)[0];
    flip_byte(wr.d.file(name), wr.batch_off[2] + 60); // inside record payload
    auto before = snapshot(wr.d.path);
    std::vector<Rec> got;
    cv_wal *w = nullptr;
    EXPECT_EQ(cv_wal_open(&w, &wr.c, 0, collect, &got), -EUCLEAN);
    EXPECT_EQ(w, nullptr);
    EXPECT_EQ(snapshot(wr.d.path), before);
    char buf[1024];
    EXPECT_EQ(cv_wal_check(wr.d.path.c_str(), buf, sizeof buf), -EUCLEAN);
    EXPECT_TRUE(strstr(buf, "CORRUPT")) << buf;
    EXPECT_TRUE(strstr(buf, (name + " offset " + std::to_string(wr.batch_off[2])).c_str())) << buf;
    EXPECT_TRUE(strstr(buf, ("seq 4 at " + name).c_str())) << buf;
    EXPECT_EQ(snapshot(wr.d.path), before);
}

TEST(WalRecovery, DamagedLastBatchOfASegmentFollowedByAnotherSegmentRefusesToOpen)
{
    TempDir d;
    cv_wal_config c = small_config(d.path);
    c.segment_bytes = 16 << 10; // header + 3 one-block batches
    c.max_batch = 8 << 10;
    cv_wal *w;
    ASSERT_EQ(cv_wal_open(&w, &c, 0, nullptr, nullptr), 0);
    for (int64_t z = 1; z <= 6; z++)
        append_durable(w, {z, 1, std::vector<uint8_t>(100, (uint8_t)z)});
    cv_wal_close(w);
    auto segs = segments(d.path);
    ASSERT_EQ(segs.size(), 2u);
    flip_byte(d.file(segs[0]), 3 * CV_WAL_BLOCK + 70);
    auto before = snapshot(d.path);
    EXPECT_EQ(cv_wal_open(&w, &c, 0, nullptr, nullptr), -EUCLEAN);
    EXPECT_EQ(snapshot(d.path), before);
    char buf[1024];
    EXPECT_EQ(cv_wal_check(d.path.c_str(), buf, sizeof buf), -EUCLEAN);
    EXPECT_TRUE(strstr(buf, segs[1].c_str())) << buf;
}

TEST(WalRecovery, MissingMiddleSegmentRefusesToOpen)
{
    TempDir d;
    cv_wal_config c = small_config(d.path);
    c.segment_bytes = 16 << 10;
    c.max_batch = 8 << 10;
    cv_wal *w;
    ASSERT_EQ(cv_wal_open(&w, &c, 0, nullptr, nullptr), 0);
    for (int64_t z = 1; z <= 9; z++)
        append_durable(w, {z, 1, {1}});
    cv_wal_close(w);
    auto segs = segments(d.path);
    ASSERT_EQ(segs.size(), 3u);
    unlink(d.file(segs[1]).c_str());
    EXPECT_EQ(cv_wal_open(&w, &c, 0, nullptr, nullptr), -EUCLEAN);
    EXPECT_EQ(segments(d.path).size(), 2u);
}

TEST(WalRecovery, ZeroFilledPreallocatedTailIsACleanEnd)
{
    Written wr;
    write_batches(wr, 3);
    auto before = snapshot(wr.d.path);
    ASSERT_EQ(before.begin()->second.size(), (size_t)wr.c.segment_bytes);
    char buf[1024];
    EXPECT_EQ(cv_wal_check(wr.d.path.c_str(), buf, sizeof buf), 0);
    EXPECT_TRUE(strstr(buf, "end: clean")) << buf;
    EXPECT_EQ(reopen_all(wr.c), wr.recs);
    EXPECT_EQ(snapshot(wr.d.path), before);
}

// Four durable one-record batches in 16 KiB segments: the 4th opens the
// second segment, log.0000000000000004. Returns the records.
static std::vector<Rec> four_batches_over_two_segments(const cv_wal_config &c)
{
    cv_wal *w = nullptr;
    EXPECT_EQ(cv_wal_open(&w, &c, 0, nullptr, nullptr), 0);
    std::vector<Rec> recs;
    for (int64_t z = 1; z <= 4 && w; z++) {
        recs.push_back({z, 2, std::vector<uint8_t>(50, (uint8_t)z)});
        append_durable(w, recs.back());
    }
    cv_wal_close(w);
    return recs;
}

TEST(WalRecovery, TornSegmentHeaderAtTheTailRemovesThatSegment)
{
    TempDir d;
    cv_wal_config c = small_config(d.path);
    c.segment_bytes = 16 << 10;
    c.max_batch = 8 << 10;
    cv_wal *w;
    std::vector<Rec> recs = four_batches_over_two_segments(c);
    auto segs = segments(d.path);
    ASSERT_EQ(segs.size(), 2u); // the 4th batch opened log.0000000000000004
    ASSERT_EQ(truncate(d.file(segs[1]).c_str(), 300), 0); // torn header
    recs.pop_back();
    std::vector<Rec> got;
    ASSERT_EQ(cv_wal_open(&w, &c, 0, collect, &got), 0);
    EXPECT_EQ(got, recs);
    EXPECT_EQ(segments(d.path).size(), 1u);
    recs.push_back({10, 3, {9, 9}});
    append_durable(w, recs.back());
    cv_wal_close(w);
    EXPECT_EQ(segments(d.path).back(), "log.000000000000000a");
    EXPECT_EQ(reopen_all(c), recs);
}

// The roll-over write (segment header + first batch) torn so that the batch's
// sectors landed and the header's did not: it was never durable.
TEST(WalRecovery, RollOverWriteWithOnlyItsBatchPersistedIsATornTail)
{
    TempDir d;
    cv_wal_config c = small_config(d.path);
    c.segment_bytes = 16 << 10;
    c.max_batch = 8 << 10;
    std::vector<Rec> recs = four_batches_over_two_segments(c);
    auto segs = segments(d.path);
    ASSERT_EQ(segs.size(), 2u);
    std::vector<uint8_t> zero(CV_WAL_BLOCK, 0);
    write_at(d.file(segs[1]), 0, zero.data(), zero.size());
    recs.pop_back();
    char buf[1024];
    EXPECT_EQ(cv_wal_check(d.path.c_str(), buf, sizeof buf), 0) << buf;
    EXPECT_EQ(reopen_all(c), recs);
    EXPECT_EQ(segments(d.path).size(), 1u);
}

TEST(WalRecovery, SegmentWithADamagedHeaderAndTwoValidBatchesRefusesToOpen)
{
    TempDir d;
    cv_wal_config c = small_config(d.path);
    c.segment_bytes = 16 << 10;
    c.max_batch = 8 << 10;
    cv_wal *w;
    ASSERT_EQ(cv_wal_open(&w, &c, 0, nullptr, nullptr), 0);
    for (int64_t z = 1; z <= 5; z++)
        append_durable(w, {z, 2, std::vector<uint8_t>(50, (uint8_t)z)});
    cv_wal_close(w);
    auto segs = segments(d.path);
    ASSERT_EQ(segs.size(), 2u);
    flip_byte(d.file(segs[1]), 20); // the header's ensemble id
    auto before = snapshot(d.path);
    EXPECT_EQ(cv_wal_open(&w, &c, 0, nullptr, nullptr), -EUCLEAN);
    EXPECT_EQ(snapshot(d.path), before);
}

TEST(WalRecovery, ReplayErrorStopsOpenAndChangesNothing)
{
    Written wr;
    write_batches(wr, 3);
    flip_byte(wr.d.file(segments(wr.d.path)[0]), wr.batch_off[2] + 40); // torn tail
    auto before = snapshot(wr.d.path);
    cv_wal *w;
    auto fail = [](void *, const cv_wal_rec *r) { return r->zxid == 2 ? -ECANCELED : 0; };
    EXPECT_EQ(cv_wal_open(&w, &wr.c, 0, fail, nullptr), -ECANCELED);
    EXPECT_EQ(snapshot(wr.d.path), before);
}

// ---- purge ------------------------------------------------------------------------

TEST(WalPurge, RemovesWholeSegmentsBelowTheZxidAndKeepsTheNewest)
{
    TempDir d;
    cv_wal_config c = small_config(d.path);
    c.segment_bytes = 16 << 10; // 3 one-block batches per segment
    c.max_batch = 8 << 10;
    cv_wal *w;
    ASSERT_EQ(cv_wal_open(&w, &c, 0, nullptr, nullptr), 0);
    std::vector<Rec> recs;
    for (int64_t z = 1; z <= 12; z++) {
        recs.push_back({z, 1, {(uint8_t)z}});
        append_durable(w, recs.back());
    }
    ASSERT_EQ(segments(d.path).size(), 4u); // 1-3, 4-6, 7-9, 10-12
    EXPECT_EQ(cv_wal_purge(w, 2, 0), 0);    // log.1 also holds 3
    EXPECT_EQ(cv_wal_purge(w, 6, 3), 1);    // 1..3 and 4..6 are <= 6, but keep 3
    EXPECT_EQ(segments(d.path).front(), "log.0000000000000004");
    EXPECT_EQ(cv_wal_purge(w, 100, 0), 2); // never the segment being written
    EXPECT_EQ(segments(d.path), std::vector<std::string>{"log.000000000000000a"});
    cv_wal_stats st;
    cv_wal_get_stats(w, &st);
    EXPECT_EQ(st.segments, 1u);
    cv_wal_close(w);
    EXPECT_EQ(reopen_all(c), std::vector<Rec>(recs.begin() + 9, recs.end()));
}

// ---- simulated disk: seeded crashes --------------------------------------------------

TEST(WalSimDisk, SeededCrashesKeepEveryDurableRecordExactlyOnceAndInventNothing)
{
    int lives = 0;
    int torn = 0, subset = 0, lost = 0, whole = 0;
    // CV_WAL_SIM_SEEDS=N runs more seeds (40 lives each).
    uint64_t seeds =
        getenv("CV_WAL_SIM_SEEDS") ? strtoull(getenv("CV_WAL_SIM_SEEDS"), nullptr, 10) : 40;
    for (uint64_t seed = 1; seed <= seeds; seed++) {
        TempDir d;
        SimDisk sim(seed);
        std::mt19937_64 rng(seed * 7919);
        cv_wal_config c = small_config(d.path);
        c.direct = 0;
        c.io = &sim.io;
        std::vector<Rec> model; // what the log may hold, in order
        int64_t durable = 0;
        for (int life = 0; life < 40; life++, lives++) {
            sim.revive();
            char buf[1024];
            ASSERT_EQ(cv_wal_check(d.path.c_str(), buf, sizeof buf), 0)
                << "seed " << seed << " life " << life << ": " << buf;
            std::vector<Rec> got;
            cv_wal *w;
            ASSERT_EQ(cv_wal_open(&w, &c, 0, collect, &got), 0) << "seed " << seed;
            // A prefix of what was appended, holding every durable record.
            ASSERT_LE(got.size(), model.size()) << "seed " << seed << " life " << life;
            for (size_t i = 0; i < got.size(); i++)
                ASSERT_EQ(got[i], model[i]) << "seed " << seed << " life " << life << " rec " << i;
            size_t need = (size_t)std::count_if(model.begin(), model.end(),
                                                [&](const Rec &r) { return r.zxid <= durable; });
            ASSERT_GE(got.size(), need) << "seed " << seed << " life " << life;
            model.resize(got.size());
            ASSERT_EQ(cv_wal_durable_zxid(w), model.empty() ? 0 : model.back().zxid);
            // Zxids of lost records are reused with new contents: a lost
            // record coming back would show as a mismatch.
            int64_t z = model.empty() ? 0 : model.back().zxid;
            int ops = (int)(rng() % 60);
            for (int op = 0; op < ops; op++) {
                if (rng() % 10 < 7) {
                    Rec r = make_rec(rng, z + 1 + (int64_t)(rng() % 2), 3000);
                    int rc;
                    int tries = 0;
                    while ((rc = append(w, r)) == -EAGAIN && tries++ < 100)
                        ASSERT_GE(cv_wal_poll(w), 0);
                    ASSERT_EQ(rc, 0);
                    model.push_back(r);
                    z = r.zxid;
                } else {
                    ASSERT_GE(cv_wal_poll(w), 0);
                }
            }
            durable = cv_wal_durable_zxid(w);
            sim.crash();
            cv_wal_close(w);
        }
        torn += sim.crashes_torn;
        subset += sim.crashes_subset;
        lost += sim.crashes_lost;
        whole += sim.crashes_whole;
    }
    EXPECT_EQ(lives, (int)seeds * 40);
    // Every kind of crash happened.
    EXPECT_GT(torn, 10);
    EXPECT_GT(subset, 10);
    EXPECT_GT(lost, 10);
    EXPECT_GT(whole, 10);
}

} // namespace
