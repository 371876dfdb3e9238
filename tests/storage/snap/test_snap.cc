// cv_snap: snapshot files round-trip, every corruption and truncation is
// detected, recovery picks the newest good one, crashes and errors leave no
// partial snapshot, purge keeps the newest N.
#include <gtest/gtest.h>

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <vector>

#include "core_harness.h"
#include "cv_crc.h"
#include "cv_snap.h"

namespace
{

namespace fs = std::filesystem;
using Bytes = std::vector<uint8_t>;

// A fresh directory per test, removed afterwards.
class Snap : public ::testing::Test
{
  protected:
    void SetUp() override
    {
        const char *base = getenv("TMPDIR");
        std::string tmpl = std::string(base && *base ? base : "/tmp") + "/cv_snap_test.XXXXXX";
        std::vector<char> buf(tmpl.begin(), tmpl.end());
        buf.push_back('\0');
        ASSERT_NE(mkdtemp(buf.data()), nullptr);
        dir = buf.data();
    }
    void TearDown() override
    {
        std::error_code ec;
        fs::remove_all(dir, ec);
    }

    std::string path(int64_t zxid, bool tmp = false) const
    {
        char name[64];
        snprintf(name, sizeof name, "snapshot.%016llx%s", (unsigned long long)zxid,
                 tmp ? ".tmp" : "");
        return dir + "/" + name;
    }
    std::set<std::string> files() const
    {
        std::set<std::string> out;
        for (const auto &e : fs::directory_iterator(dir))
            out.insert(e.path().filename().string());
        return out;
    }

    std::string dir;
};

cv_snap_info info_at(int64_t zxid)
{
    cv_snap_info i{};
    i.zxid = zxid;
    i.ensemble_id = 0x1122334455667788ull;
    i.epoch = (uint64_t)zxid >> 32;
    i.time_ms = 1700000000123;
    return i;
}

// A body given as bytes, streamed in pieces of the listed sizes (cycled).
struct PlainBody {
    const Bytes *bytes;
    std::vector<size_t> pieces;
    int fail_after = -1; // return this many pieces in, with -EIO
};

int plain_body(void *ctx, int (*write)(void *, const void *, size_t), void *wctx)
{
    auto *b = static_cast<PlainBody *>(ctx);
    size_t off = 0, k = 0;
    while (off < b->bytes->size()) {
        if (b->fail_after >= 0 && (int)k == b->fail_after)
            return -EIO;
        size_t want = b->pieces.empty() ? b->bytes->size() : b->pieces[k % b->pieces.size()];
        size_t n = std::min(want, b->bytes->size() - off);
        int rc = write(wctx, b->bytes->data() + off, n);
        if (rc)
            return rc;
        off += n;
        k++;
    }
    return b->fail_after >= 0 ? -EIO : 0;
}

Bytes pattern(size_t n, uint32_t seed)
{
    Bytes b(n);
    uint64_t x = seed * 0x9e3779b97f4a7c15ull + 1;
    for (auto &c : b) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        c = (uint8_t)x;
    }
    return b;
}

Bytes read_file(const std::string &p)
{
    std::ifstream f(p, std::ios::binary);
    return Bytes((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
}

void write_raw(const std::string &p, const Bytes &b)
{
    std::ofstream f(p, std::ios::binary | std::ios::trunc);
    f.write((const char *)b.data(), (std::streamsize)b.size());
}

int write_plain(const std::string &dir, int64_t zxid, const Bytes &body,
                std::vector<size_t> pieces = {})
{
    cv_snap_info i = info_at(zxid);
    PlainBody pb{&body, std::move(pieces)};
    return cv_snap_write(dir.c_str(), &i, plain_body, &pb);
}

void expect_same_info(const cv_snap_info &a, const cv_snap_info &b)
{
    EXPECT_EQ(a.zxid, b.zxid);
    EXPECT_EQ(a.ensemble_id, b.ensemble_id);
    EXPECT_EQ(a.epoch, b.epoch);
    EXPECT_EQ(a.time_ms, b.time_ms);
}

// Round trip through the file and both readers (latest, verify_file).
void round_trip(const std::string &dir, int64_t zxid, const Bytes &body, std::vector<size_t> pieces,
                const std::string &file)
{
    ASSERT_EQ(write_plain(dir, zxid, body, std::move(pieces)), 0);
    cv_snap_info want = info_at(zxid), got{};
    uint8_t *p = nullptr;
    size_t len = 99;
    unsigned skipped = 7;
    ASSERT_EQ(cv_snap_latest(dir.c_str(), &got, &p, &len, &skipped), 0);
    ASSERT_NE(p, nullptr);
    EXPECT_EQ(skipped, 0u);
    expect_same_info(got, want);
    EXPECT_EQ(got.body_bytes, body.size());
    ASSERT_EQ(len, body.size());
    EXPECT_TRUE(len == 0 || memcmp(p, body.data(), len) == 0);
    free(p);

    cv_snap_info v{};
    EXPECT_EQ(cv_snap_verify_file(file.c_str(), &v), 0);
    expect_same_info(v, want);
    EXPECT_EQ(v.body_bytes, body.size());
    EXPECT_EQ(fs::file_size(file), 64 + body.size() + 16);
}

TEST_F(Snap, EmptyBodyRoundTrips)
{
    round_trip(dir, 0, {}, {}, path(0));
}

TEST_F(Snap, SmallBodyRoundTripsAndOnlyTheFinalFileRemains)
{
    round_trip(dir, 0x500000007, pattern(1000, 1), {1, 3, 100}, path(0x500000007));
    EXPECT_EQ(files(), std::set<std::string>{"snapshot.0000000500000007"});
}

TEST_F(Snap, SeveralMegabytesStreamedInOddPiecesRoundTrip)
{
    // Pieces smaller than, equal to and larger than the 1 MiB write buffer,
    // arriving at every buffer offset.
    Bytes body = pattern(7 * 1000 * 1000 + 13, 2);
    round_trip(dir, 42, body, {1, 4093, 3, (1 << 20) + 7, 65537, 1 << 20, 3 << 20, 17}, path(42));
}

TEST_F(Snap, BodyLengthsAroundTheBufferSizeRoundTrip)
{
    for (size_t n : {(size_t)1, (size_t)(1 << 20) - 64, (size_t)(1 << 20) - 80,
                     (size_t)(1 << 20) - 70, (size_t)(1 << 20), (size_t)(2 << 20) + 1}) {
        SCOPED_TRACE(n);
        for (const auto &f : files())
            fs::remove(dir + "/" + f);
        round_trip(dir, (int64_t)n, pattern(n, (uint32_t)n), {}, path((int64_t)n));
    }
}

TEST_F(Snap, FileLayoutMatchesTheDocumentedFormat)
{
    Bytes body = {'a', 'b', 'c'};
    ASSERT_EQ(write_plain(dir, 0x0102030405060708, body), 0);
    Bytes f = read_file(path(0x0102030405060708));
    ASSERT_EQ(f.size(), 64u + 3 + 16);
    auto le32 = [&](size_t o) {
        uint32_t v;
        memcpy(&v, &f[o], 4);
        return v;
    };
    auto le64 = [&](size_t o) {
        uint64_t v;
        memcpy(&v, &f[o], 8);
        return v;
    };
    EXPECT_EQ(memcmp(f.data(), "CVSNAP01", 8), 0);
    EXPECT_EQ(le32(8), 1u);
    EXPECT_EQ(le32(12), 64u);
    EXPECT_EQ(le64(16), 0x0102030405060708ull);
    EXPECT_EQ(le64(24), 0x1122334455667788ull);
    EXPECT_EQ(le64(32), 0x01020304ull);
    EXPECT_EQ(le64(40), 3u);
    EXPECT_EQ((int64_t)le64(48), 1700000000123);
    EXPECT_EQ(le32(56), 0u); // reserved
    EXPECT_EQ(le32(60), cv_crc32c(f.data(), 60));
    EXPECT_EQ(memcmp(&f[64], "abc", 3), 0);
    EXPECT_EQ(le64(67), cv_crc64(f.data(), 67));
    EXPECT_EQ(memcmp(&f[75], "CVSNAPEN", 8), 0);

    cv_snap_info i{};
    const uint8_t *b = nullptr;
    size_t n = 0;
    ASSERT_EQ(cv_snap_decode(f.data(), f.size(), &i, &b, &n), 0);
    EXPECT_EQ(b, f.data() + 64);
    EXPECT_EQ(n, 3u);
}

// ---- the core's state through a snapshot --------------------------------------

int core_body(void *ctx, int (*write)(void *, const void *, size_t), void *wctx)
{
    return cv_core_serialize(static_cast<const cv_core *>(ctx), write, wctx);
}

TEST_F(Snap, CoreStateRestoresFromTheLatestSnapshotWithTheSameDigest)
{
    cvt::Core a;
    int64_t s1 = a.connect(10000), s2 = a.connect(20000);
    a.write(s1, a.create("/app", "config"), CV_OP_CREATE);
    for (int i = 0; i < 50; i++)
        a.write(s1, a.create("/app/n" + std::to_string(i), std::string((size_t)i * 7, 'x')),
                CV_OP_CREATE);
    a.write(s2, a.create("/app/lock-", "", 3 /* ephemeral sequential */), CV_OP_CREATE);
    a.write(s2, a.create("/eph", "mine", 1), CV_OP_CREATE);
    a.write(s1, a.set("/app/n3", "changed"), CV_OP_SET_DATA);
    a.write(s1, a.set_acl("/app/n4", {{1, "world", "anyone"}}), CV_OP_SET_ACL);
    a.write(s1, a.del("/app/n5"), CV_OP_DELETE);
    ASSERT_EQ(cv_core_outstanding(a.c()), 0u);

    cv_snap_info in = info_at(cv_core_last_applied(a.c()));
    ASSERT_EQ(cv_snap_write(dir.c_str(), &in, core_body, a.c()), 0);

    cv_snap_info got{};
    uint8_t *p = nullptr;
    size_t len = 0;
    unsigned skipped = 9;
    ASSERT_EQ(cv_snap_latest(dir.c_str(), &got, &p, &len, &skipped), 0);
    EXPECT_EQ(skipped, 0u);
    EXPECT_EQ(got.zxid, cv_core_last_applied(a.c()));

    cvt::Core b;
    ASSERT_NE(cv_core_digest(b.c()), cv_core_digest(a.c()));
    ASSERT_EQ(cv_core_restore(b.c(), p, len, a.now), 0);
    free(p);
    EXPECT_EQ(cv_core_digest(b.c()), cv_core_digest(a.c()));
    EXPECT_EQ(cv_core_last_applied(b.c()), cv_core_last_applied(a.c()));
    EXPECT_EQ(cv_sess_count(cv_core_sessions(b.c())), 2u);
    cvt::Reply r = b.read(s1, b.get("/app/n3"));
    EXPECT_EQ(r.err(), 0);
    EXPECT_EQ(cvt::str(r.r.u.get_data.data), "changed");
}

// ---- corruption and truncation --------------------------------------------------

TEST_F(Snap, EverySingleByteCorruptionIsDetected)
{
    ASSERT_EQ(write_plain(dir, 0x77, pattern(37, 3)), 0);
    const Bytes good = read_file(path(0x77));
    ASSERT_EQ(good.size(), 64u + 37 + 16);
    ASSERT_EQ(cv_snap_decode(good.data(), good.size(), nullptr, nullptr, nullptr), 0);
    // In memory: every byte (header, body, trailer) with every other value.
    for (size_t i = 0; i < good.size(); i++) {
        Bytes bad = good;
        for (int x = 1; x < 256; x++) {
            bad[i] = (uint8_t)(good[i] ^ x);
            cv_snap_info info{};
            const uint8_t *b = nullptr;
            size_t n = 0;
            ASSERT_EQ(cv_snap_decode(bad.data(), bad.size(), &info, &b, &n), -EBADMSG)
                << "byte " << i << " ^ " << x;
        }
    }
    // On disk, through verify_file and latest: one flip per byte.
    for (size_t i = 0; i < good.size(); i++) {
        Bytes bad = good;
        bad[i] ^= 0x5a;
        write_raw(path(0x77), bad);
        ASSERT_EQ(cv_snap_verify_file(path(0x77).c_str(), nullptr), -EBADMSG) << i;
        cv_snap_info info{};
        uint8_t *p = nullptr;
        size_t len = 0;
        unsigned skipped = 0;
        ASSERT_EQ(cv_snap_latest(dir.c_str(), &info, &p, &len, &skipped), -ENOENT) << i;
        EXPECT_EQ(skipped, 1u);
        EXPECT_EQ(p, nullptr);
    }
}

TEST_F(Snap, TruncationAtEveryLengthAndTrailingGarbageAreDetected)
{
    ASSERT_EQ(write_plain(dir, 0x78, pattern(29, 4)), 0);
    const Bytes good = read_file(path(0x78));
    for (size_t n = 0; n < good.size(); n++) {
        ASSERT_EQ(cv_snap_decode(good.data(), n, nullptr, nullptr, nullptr), -EBADMSG) << n;
        ASSERT_EQ(truncate(path(0x78).c_str(), (off_t)n), 0);
        ASSERT_EQ(cv_snap_verify_file(path(0x78).c_str(), nullptr), -EBADMSG) << n;
        cv_snap_info info{};
        uint8_t *p = nullptr;
        size_t len = 0;
        unsigned skipped = 0;
        ASSERT_EQ(cv_snap_latest(dir.c_str(), &info, &p, &len, &skipped), -ENOENT) << n;
        EXPECT_EQ(skipped, 1u);
    }
    Bytes longer = good;
    longer.push_back(0);
    EXPECT_EQ(cv_snap_decode(longer.data(), longer.size(), nullptr, nullptr, nullptr), -EBADMSG);
    write_raw(path(0x78), longer);
    EXPECT_EQ(cv_snap_verify_file(path(0x78).c_str(), nullptr), -EBADMSG);
    EXPECT_EQ(cv_snap_decode(nullptr, 0, nullptr, nullptr, nullptr), -EBADMSG);
}

// ---- recovery choice ------------------------------------------------------------

TEST_F(Snap, LatestSkipsACorruptNewestSnapshotAndReturnsTheOlderGoodOne)
{
    Bytes old_body = pattern(300, 5);
    ASSERT_EQ(write_plain(dir, 0x100, old_body), 0);
    ASSERT_EQ(write_plain(dir, 0x200, pattern(300, 6)), 0);
    Bytes f = read_file(path(0x200));
    f[64 + 150] ^= 1;
    write_raw(path(0x200), f);

    cv_snap_info info{};
    uint8_t *p = nullptr;
    size_t len = 0;
    unsigned skipped = 0;
    ASSERT_EQ(cv_snap_latest(dir.c_str(), &info, &p, &len, &skipped), 0);
    EXPECT_EQ(skipped, 1u);
    EXPECT_EQ(info.zxid, 0x100);
    ASSERT_EQ(len, old_body.size());
    EXPECT_EQ(memcmp(p, old_body.data(), len), 0);
    free(p);
    EXPECT_TRUE(fs::exists(path(0x200))); // left for the operator to inspect
    EXPECT_EQ(cv_snap_latest(dir.c_str(), &info, &p, &len, nullptr), 0);
    free(p);
}

TEST_F(Snap, LatestPicksTheHighestZxidNotTheNewestFile)
{
    ASSERT_EQ(write_plain(dir, 0x1000, pattern(10, 7)), 0);
    ASSERT_EQ(write_plain(dir, 0xfff, pattern(10, 8)), 0);
    ASSERT_EQ(write_plain(dir, 0x2, pattern(10, 9)), 0);
    cv_snap_info info{};
    uint8_t *p = nullptr;
    size_t len = 0;
    ASSERT_EQ(cv_snap_latest(dir.c_str(), &info, &p, &len, nullptr), 0);
    EXPECT_EQ(info.zxid, 0x1000);
    free(p);
}

TEST_F(Snap, ASnapshotUnderAnotherZxidsNameIsSkipped)
{
    ASSERT_EQ(write_plain(dir, 0x100, pattern(10, 10)), 0);
    ASSERT_EQ(write_plain(dir, 0x200, pattern(10, 11)), 0);
    fs::copy_file(path(0x100), path(0x300));
    cv_snap_info info{};
    uint8_t *p = nullptr;
    size_t len = 0;
    unsigned skipped = 0;
    ASSERT_EQ(cv_snap_latest(dir.c_str(), &info, &p, &len, &skipped), 0);
    EXPECT_EQ(info.zxid, 0x200);
    EXPECT_EQ(skipped, 1u);
    free(p);
}

TEST_F(Snap, LatestReportsNoSnapshotForAnEmptyOrMissingDirectory)
{
    write_raw(dir + "/unrelated", {1, 2, 3});
    write_raw(dir + "/snapshot.ABCDEF0123456789", {1}); // upper case: not ours
    cv_snap_info info{};
    uint8_t *p = nullptr;
    size_t len = 0;
    unsigned skipped = 5;
    EXPECT_EQ(cv_snap_latest(dir.c_str(), &info, &p, &len, &skipped), -ENOENT);
    EXPECT_EQ(skipped, 0u);
    EXPECT_EQ(cv_snap_latest((dir + "/nope").c_str(), &info, &p, &len, &skipped), -ENOENT);
    EXPECT_TRUE(fs::exists(dir + "/unrelated"));
}

// ---- crashes and errors leave nothing partial ------------------------------------

TEST_F(Snap, LeftoverTmpFromACrashBeforeRenameIsIgnoredAndRemoved)
{
    ASSERT_EQ(write_plain(dir, 0x100, pattern(64, 12)), 0);
    // A crash before the rename: a complete image and a partial one, both .tmp.
    ASSERT_EQ(write_plain(dir, 0x300, pattern(64, 13)), 0);
    fs::rename(path(0x300), path(0x300, true));
    Bytes partial = read_file(path(0x100));
    partial.resize(70);
    write_raw(path(0x200, true), partial);

    cv_snap_info info{};
    uint8_t *p = nullptr;
    size_t len = 0;
    unsigned skipped = 0;
    ASSERT_EQ(cv_snap_latest(dir.c_str(), &info, &p, &len, &skipped), 0);
    EXPECT_EQ(info.zxid, 0x100);
    EXPECT_EQ(skipped, 0u);
    free(p);
    EXPECT_EQ(files(), std::set<std::string>{"snapshot.0000000000000100"});
}

TEST_F(Snap, WritingOverAStaleTmpOfTheSameZxidSucceeds)
{
    write_raw(path(0x400, true), pattern(5000, 14));
    round_trip(dir, 0x400, pattern(100, 15), {}, path(0x400));
    EXPECT_FALSE(fs::exists(path(0x400, true)));
}

TEST_F(Snap, AnErrorFromTheBodyCallbackLeavesNoFiles)
{
    // Fails at once, after a few small pieces, and after more than the write
    // buffer has reached the file.
    Bytes body = pattern(5 << 20, 16);
    for (int fail_after : {0, 3, 5}) {
        SCOPED_TRACE(fail_after);
        cv_snap_info i = info_at(0x500);
        PlainBody pb{&body, {1000, 1 << 20}, fail_after};
        EXPECT_EQ(cv_snap_write(dir.c_str(), &i, plain_body, &pb), -EIO);
        EXPECT_TRUE(files().empty());
    }
}

int bad_return_body(void *, int (*write)(void *, const void *, size_t), void *wctx)
{
    write(wctx, "abc", 3);
    return 1; // not 0 and not a negative errno
}

TEST_F(Snap, InvalidArgumentsAndAMissingDirectoryAreErrorsWithNoFiles)
{
    cv_snap_info i = info_at(-1);
    Bytes body(10);
    PlainBody pb{&body, {}};
    EXPECT_EQ(cv_snap_write(dir.c_str(), &i, plain_body, &pb), -EINVAL);
    i = info_at(1);
    EXPECT_EQ(cv_snap_write(dir.c_str(), &i, nullptr, nullptr), -EINVAL);
    EXPECT_EQ(cv_snap_write((dir + "/nope").c_str(), &i, plain_body, &pb), -ENOENT);
    EXPECT_LT(cv_snap_write(dir.c_str(), &i, bad_return_body, nullptr), 0);
    EXPECT_TRUE(files().empty());
    EXPECT_EQ(cv_snap_verify_file((dir + "/nope").c_str(), nullptr), -ENOENT);
}

// ---- purge ------------------------------------------------------------------------

TEST_F(Snap, PurgeKeepsTheNewestNVerifiedSnapshots)
{
    for (int64_t z = 1; z <= 6; z++)
        ASSERT_EQ(write_plain(dir, z << 32, pattern(100, (uint32_t)z)), 0);
    EXPECT_EQ(cv_snap_purge(dir.c_str(), 0), -EINVAL);
    EXPECT_EQ(cv_snap_purge(dir.c_str(), 3), 3);
    EXPECT_EQ(files(),
              (std::set<std::string>{"snapshot.0000000400000000", "snapshot.0000000500000000",
                                     "snapshot.0000000600000000"}));
    EXPECT_EQ(cv_snap_purge(dir.c_str(), 3), 0);
    EXPECT_EQ(cv_snap_purge(dir.c_str(), 10), 0);
    EXPECT_EQ(files().size(), 3u);
}

TEST_F(Snap, PurgeCountsOnlyVerifiedSnapshotsAndNeverRemovesTheNewestVerified)
{
    for (int64_t z = 1; z <= 4; z++)
        ASSERT_EQ(write_plain(dir, z, pattern(100, (uint32_t)z)), 0);
    // The newest is damaged: keep=1 keeps zxid 3 (and the damaged 4 for the
    // operator), removes 1 and 2.
    Bytes f = read_file(path(4));
    f[100] ^= 0x10;
    write_raw(path(4), f);
    write_raw(path(5, true), {1, 2}); // an in-progress write: purge leaves it
    EXPECT_EQ(cv_snap_purge(dir.c_str(), 1), 2);
    EXPECT_EQ(files(),
              (std::set<std::string>{"snapshot.0000000000000003", "snapshot.0000000000000004",
                                     "snapshot.0000000000000005.tmp"}));
    // No verified snapshot at all: nothing is removed.
    ASSERT_EQ(truncate(path(3).c_str(), 10), 0);
    EXPECT_EQ(cv_snap_purge(dir.c_str(), 1), 0);
    EXPECT_EQ(files().size(), 3u);
}

} // namespace
