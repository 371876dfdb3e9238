// Golden transaction log: a real ZooKeeper 3.8 transaction log file, written by
// a real standalone server while a real client made every kind of write
// (tests/proto/golden/txnlog/README.md says how). Every part of it (the
// FileHeader, each TxnHeader + txn body, each multi's sub-transactions, each
// TxnDigest) must decode with corvid's codec and re-encode, element by
// element, to exactly the bytes ZooKeeper wrote; and the log must contain
// every transaction type ZooKeeper logs.
//
// The log is parsed here with a small parser of our own: FileHeader, then per
// record: long Adler-32 checksum, int length, the record bytes (TxnHeader,
// body, optional TxnDigest), the end-of-record byte 'B'; a zero checksum and
// length (or the end of the file) ends the log.
#include <gtest/gtest.h>

#include <dirent.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "cv_proto_replay.h"

namespace
{

constexpr int32_t kLogMagic = 0x5a4b4c47; // "ZKLG"
constexpr int32_t kLogVersion = 2;
constexpr size_t kTxnHeaderSize = 8 + 4 + 8 + 8 + 4;
constexpr size_t kDigestSize = 4 + 8;
constexpr uint8_t kEndOfRecord = 0x42; // 'B'

std::string golden_dir()
{
    const char *d = getenv("CV_GOLDEN_DIR");
    return std::string(d ? d : "tests/proto/golden") + "/txnlog";
}

uint32_t adler32(const uint8_t *p, size_t n)
{
    const uint32_t mod = 65521;
    uint32_t a = 1, b = 0;
    for (size_t i = 0; i < n; i++) {
        a = (a + p[i]) % mod;
        b = (b + a) % mod;
    }
    return b << 16 | a;
}

int64_t rd64(const uint8_t *p)
{
    return (int64_t)((uint64_t)cv_jute_rd32(p) << 32 | cv_jute_rd32(p + 4));
}

std::string hex(const uint8_t *p, size_t n)
{
    std::string s;
    char b[3];
    for (size_t i = 0; i < n; i++) {
        snprintf(b, sizeof b, "%02x", p[i]);
        s += b;
    }
    return s;
}

struct Record {
    std::string file;
    size_t offset;     // of the checksum, in the file
    int64_t checksum;  // as stored
    const uint8_t *p;  // record bytes (TxnHeader + body [+ TxnDigest])
    size_t len;        // record length as stored
    uint8_t trailer;   // the byte after the record
    size_t txn_len;    // TxnHeader + body
    size_t digest_len; // 0 or 12
    int32_t type;

    std::string where() const
    {
        std::ostringstream o;
        o << file << "@" << offset << " (type " << type << " "
          << (cv_proto_op_name(type) ? cv_proto_op_name(type) : "?") << ")";
        return o.str();
    }
};

struct LogFile {
    std::string name;
    std::vector<uint8_t> bytes;
    size_t end = 0; // where the records end (the zero marker, or the file end)
};

// Where the txn body ends, as ZooKeeper's reader sees it: the TxnHeader, then
// the body its type names; whatever follows is the TxnDigest (ZooKeeper reads
// one when bytes remain). Returns false if the header or body do not parse.
bool split_digest(const uint8_t *p, size_t len, size_t *txn_len, int32_t *type)
{
    cv_jute_in in;
    cv_jute_in_init(&in, p, len);
    cv_txn_header h;
    if (cv_jute_decode(&cv_rec_txn_header, &in, &h))
        return false;
    *type = h.type;
    const cv_jrec_desc *d = cv_proto_txn_desc(h.type);
    if (!d)
        return false;
    cv_txn body;
    if (cv_jute_decode(d, &in, &body.u))
        return false;
    *txn_len = len - cv_jute_in_left(&in);
    return true;
}

struct Golden {
    std::vector<std::unique_ptr<LogFile>> files;
    std::vector<Record> records;
    std::string error;

    Golden() { load(); }

    void load()
    {
        std::string dir = golden_dir();
        DIR *d = opendir(dir.c_str());
        if (!d) {
            error = "cannot open " + dir;
            return;
        }
        std::vector<std::string> names;
        while (dirent *e = readdir(d))
            if (strncmp(e->d_name, "log.", 4) == 0)
                names.push_back(e->d_name);
        closedir(d);
        std::sort(names.begin(), names.end());
        for (const std::string &n : names) {
            std::unique_ptr<LogFile> f(new LogFile);
            f->name = n;
            FILE *fp = fopen((dir + "/" + n).c_str(), "rb");
            if (!fp) {
                error = "cannot read " + n;
                return;
            }
            uint8_t buf[65536];
            size_t got;
            while ((got = fread(buf, 1, sizeof buf, fp)) > 0)
                f->bytes.insert(f->bytes.end(), buf, buf + got);
            fclose(fp);
            if (!parse(*f))
                return;
            files.push_back(std::move(f));
        }
        if (files.empty())
            error = "no log.* file in " + dir;
    }

    bool parse(LogFile &f)
    {
        const std::vector<uint8_t> &b = f.bytes;
        size_t pos = 16;
        if (b.size() < pos) {
            error = f.name + ": shorter than a FileHeader";
            return false;
        }
        while (pos < b.size()) {
            if (b.size() - pos < 12) {
                error = f.name + ": truncated record header at " + std::to_string(pos);
                return false;
            }
            int64_t crc = rd64(&b[pos]);
            int32_t len = (int32_t)cv_jute_rd32(&b[pos + 8]);
            if (crc == 0 && len == 0)
                break;
            if (len <= 0 || (size_t)len + 1 > b.size() - pos - 12) {
                error = f.name + ": bad record length at " + std::to_string(pos);
                return false;
            }
            Record r{};
            r.file = f.name;
            r.offset = pos;
            r.checksum = crc;
            r.p = &b[pos + 12];
            r.len = (size_t)len;
            r.trailer = b[pos + 12 + (size_t)len];
            r.type = 0;
            if (!split_digest(r.p, r.len, &r.txn_len, &r.type)) {
                error = r.where() + ": TxnHeader/body do not decode: " + hex(r.p, r.len);
                return false;
            }
            r.digest_len = r.len - r.txn_len;
            records.push_back(r);
            pos += 12 + (size_t)len + 1;
        }
        f.end = pos;
        return true;
    }
};

const Golden &golden()
{
    static Golden g;
    return g;
}

struct Replay {
    std::unique_ptr<cv_replay> r{new cv_replay};
    Replay() { EXPECT_EQ(cv_replay_init(r.get()), 0); }
    ~Replay() { cv_replay_fini(r.get()); }
    cv_replay *get()
    {
        r->arena_used = 0; // nothing rebuilt earlier is still in use
        return r.get();
    }
};

// Re-encode a decoded txn with every vector rebuilt from its items; the
// bytes, or an empty vector on failure.
std::vector<uint8_t> reencode_txn(cv_replay *r, cv_txn t)
{
    if (cv_replay_deepen(r, cv_proto_txn_desc(t.hdr.type), &t.u))
        return {};
    std::vector<uint8_t> out(1 << 20);
    int n = cv_proto_encode_txn(out.data(), out.size(), &t);
    if (n <= 0)
        return {};
    out.resize((size_t)n);
    return out;
}

// Re-encode a sub-transaction body (no TxnHeader), vectors rebuilt.
std::vector<uint8_t> reencode_sub_txn(cv_replay *r, cv_txn t)
{
    const cv_jrec_desc *d = cv_proto_txn_desc(t.hdr.type);
    if (!d || cv_replay_deepen(r, d, &t.u))
        return {};
    std::vector<uint8_t> out(1 << 20);
    cv_jute_out o;
    cv_jute_out_init(&o, out.data(), out.size());
    if (cv_jute_encode(d, &o, &t.u))
        return {};
    out.resize((size_t)(o.pos - out.data()));
    return out;
}

std::vector<cv_txn_entry> entries_of(const cv_txn &t)
{
    std::vector<cv_txn_entry> v;
    cv_jvec_iter it;
    cv_txn_entry e;
    cv_jvec_iter_init(&it, &t.u.multi.txns, &cv_rec_txn_entry);
    while (cv_jvec_next(&it, &e))
        v.push_back(e);
    return v;
}

bool is_sequential(const cv_jbuf &path)
{
    if (path.len < 10)
        return false;
    for (int i = path.len - 10; i < path.len; i++)
        if (path.ptr[i] < '0' || path.ptr[i] > '9')
            return false;
    return true;
}

} // namespace

#define REQUIRE_GOLDEN()                                                                           \
    do {                                                                                           \
        ASSERT_TRUE(golden().error.empty()) << golden().error;                                     \
        ASSERT_FALSE(golden().records.empty());                                                    \
    } while (0)

TEST(GoldenTxnLog, FileHeaderDecodesAsZklgVersion2AndReencodesByteExactly)
{
    REQUIRE_GOLDEN();
    for (const auto &f : golden().files) {
        cv_jute_in in;
        cv_jute_in_init(&in, f->bytes.data(), 16);
        cv_file_header h;
        ASSERT_EQ(cv_jute_decode(&cv_rec_file_header, &in, &h), 0) << f->name;
        EXPECT_EQ(cv_jute_in_left(&in), 0u);
        EXPECT_EQ(h.magic, kLogMagic) << f->name;
        EXPECT_EQ(h.version, kLogVersion) << f->name;
        EXPECT_EQ(h.dbid, 0) << f->name;
        EXPECT_EQ(cv_jute_encoded_size(&cv_rec_file_header, &h), 16u);
        uint8_t out[16];
        cv_jute_out o;
        cv_jute_out_init(&o, out, sizeof out);
        ASSERT_EQ(cv_jute_encode(&cv_rec_file_header, &o, &h), 0);
        EXPECT_EQ(hex(out, 16), hex(f->bytes.data(), 16)) << f->name;
    }
}

TEST(GoldenTxnLog, EveryRecordHasMatchingAdler32AndEndsWithB)
{
    REQUIRE_GOLDEN();
    for (const Record &r : golden().records) {
        EXPECT_EQ(r.checksum, (int64_t)adler32(r.p, r.len)) << r.where();
        EXPECT_EQ(r.trailer, kEndOfRecord) << r.where();
    }
}

TEST(GoldenTxnLog, LogEndsWithZeroChecksumAndLengthFollowedOnlyByZeros)
{
    REQUIRE_GOLDEN();
    for (const auto &f : golden().files) {
        ASSERT_LE(f->end, f->bytes.size());
        for (size_t i = f->end; i < f->bytes.size(); i++)
            ASSERT_EQ(f->bytes[i], 0)
                << f->name << ": non-zero byte after the last record at " << i;
    }
}

TEST(GoldenTxnLog, ZxidsAreConsecutiveFromOne)
{
    REQUIRE_GOLDEN();
    int64_t want = 1;
    for (const Record &r : golden().records) {
        cv_txn t;
        ASSERT_EQ(cv_proto_decode_txn(r.p, r.txn_len, &t), 0) << r.where();
        EXPECT_EQ(t.hdr.zxid, want) << r.where();
        want = t.hdr.zxid + 1;
    }
}

TEST(GoldenTxnLog, EveryTxnDecodesAndReencodesByteExactly)
{
    REQUIRE_GOLDEN();
    Replay rp;
    for (const Record &r : golden().records) {
        cv_txn t;
        ASSERT_EQ(cv_proto_decode_txn(r.p, r.txn_len, &t), 0)
            << r.where() << ": " << hex(r.p, r.txn_len);
        EXPECT_EQ(t.hdr.type, r.type);
        std::vector<uint8_t> out = reencode_txn(rp.get(), t);
        ASSERT_FALSE(out.empty()) << r.where() << ": re-encode failed";
        EXPECT_EQ(hex(out.data(), out.size()), hex(r.p, r.txn_len)) << r.where();
        EXPECT_EQ(cv_jute_encoded_size(&cv_rec_txn_header, &t.hdr), kTxnHeaderSize);
    }
}

TEST(GoldenTxnLog, TxnDecodeRejectsTheTxnWithItsDigestAsTrailingBytes)
{
    // A txn body has no optional fields of its own (closeSession aside, and it
    // is always logged with paths2Delete here): the 12 digest bytes after it
    // must not be taken as part of the txn.
    REQUIRE_GOLDEN();
    for (const Record &r : golden().records) {
        if (r.digest_len == 0)
            continue;
        cv_txn t;
        EXPECT_NE(cv_proto_decode_txn(r.p, r.len, &t), 0) << r.where();
    }
}

TEST(GoldenTxnLog, EveryMultiSubTxnDecodesAndReencodesByteExactly)
{
    REQUIRE_GOLDEN();
    Replay rp;
    unsigned subs = 0;
    for (const Record &r : golden().records) {
        if (r.type != CV_OP_MULTI)
            continue;
        cv_txn t;
        ASSERT_EQ(cv_proto_decode_txn(r.p, r.txn_len, &t), 0) << r.where();
        std::vector<cv_txn_entry> es = entries_of(t);
        ASSERT_EQ((int32_t)es.size(), t.u.multi.txns.count) << r.where();
        // Rebuild the MultiTxn from the re-encoded sub-transactions.
        std::vector<std::vector<uint8_t>> bodies;
        std::vector<cv_txn_entry> rebuilt;
        for (size_t i = 0; i < es.size(); i++) {
            cv_txn sub;
            ASSERT_EQ(cv_proto_decode_sub_txn(&es[i], &sub), 0)
                << r.where() << " sub " << i << " type " << es[i].type << ": "
                << hex(es[i].data.ptr, (size_t)std::max(es[i].data.len, 0));
            EXPECT_EQ(sub.hdr.type, es[i].type);
            bodies.push_back(reencode_sub_txn(rp.get(), sub));
            ASSERT_FALSE(bodies.back().empty()) << r.where() << " sub " << i;
            EXPECT_EQ(hex(bodies.back().data(), bodies.back().size()),
                      hex(es[i].data.ptr, (size_t)es[i].data.len))
                << r.where() << " sub " << i << " type " << es[i].type;
            subs++;
        }
        for (size_t i = 0; i < es.size(); i++)
            rebuilt.push_back(
                cv_txn_entry{es[i].type, {bodies[i].data(), (int32_t)bodies[i].size()}});
        cv_txn m = t;
        m.u.multi.txns.items = rebuilt.data();
        m.u.multi.txns.raw = nullptr;
        m.u.multi.txns.raw_len = 0;
        std::vector<uint8_t> out(1 << 20);
        int n = cv_proto_encode_txn(out.data(), out.size(), &m);
        ASSERT_GT(n, 0) << r.where();
        EXPECT_EQ(hex(out.data(), (size_t)n), hex(r.p, r.txn_len)) << r.where();
    }
    EXPECT_GT(subs, 0u);
}

TEST(GoldenTxnLog, TxnDigestFollowsEveryTxnExceptErrorTxnAndReencodesByteExactly)
{
    // ZooKeeper 3.8 (digest.enabled by default) appends TxnDigest {int
    // version; long treeDigest} to every logged txn except a failed write's
    // ErrorTxn, whose record has no digest.
    REQUIRE_GOLDEN();
    unsigned digests = 0;
    for (const Record &r : golden().records) {
        if (r.type == CV_OP_ERROR) {
            EXPECT_EQ(r.digest_len, 0u) << r.where();
            continue;
        }
        ASSERT_EQ(r.digest_len, kDigestSize) << r.where();
        const uint8_t *dp = r.p + r.txn_len;
        cv_jute_in in;
        cv_jute_in_init(&in, dp, r.digest_len);
        cv_txn_digest dg;
        ASSERT_EQ(cv_jute_decode(&cv_rec_txn_digest, &in, &dg), 0) << r.where();
        EXPECT_EQ(cv_jute_in_left(&in), 0u);
        EXPECT_EQ(dg.version, 2) << r.where();
        EXPECT_NE(dg.tree_digest, 0) << r.where();
        uint8_t out[kDigestSize];
        cv_jute_out o;
        cv_jute_out_init(&o, out, sizeof out);
        ASSERT_EQ(cv_jute_encode(&cv_rec_txn_digest, &o, &dg), 0);
        EXPECT_EQ(hex(out, sizeof out), hex(dp, r.digest_len)) << r.where();
        digests++;
    }
    EXPECT_GT(digests, 0u);
}

TEST(GoldenTxnLog, CloseSessionIsLoggedWithPaths2DeleteListingTheSessionsEphemerals)
{
    REQUIRE_GOLDEN();
    unsigned with_paths = 0, empty = 0;
    for (const Record &r : golden().records) {
        if (r.type != CV_OP_CLOSE_SESSION)
            continue;
        cv_txn t;
        ASSERT_EQ(cv_proto_decode_txn(r.p, r.txn_len, &t), 0) << r.where();
        EXPECT_TRUE(t.has_body) << r.where() << ": closeSession without CloseSessionTxn";
        const cv_jvec &v = t.u.close_session.children;
        EXPECT_GE(v.count, 0) << r.where();
        if (v.count > 0)
            with_paths++;
        else
            empty++;
        cv_jvec_iter it;
        cv_jbuf path;
        cv_jvec_iter_init(&it, &v, nullptr);
        while (cv_jvec_next(&it, &path))
            EXPECT_TRUE(path.len > 1 && path.ptr[0] == '/') << r.where();
    }
    EXPECT_GT(with_paths, 0u) << "no closeSession of a session that owned ephemerals";
    EXPECT_GT(empty, 0u) << "no closeSession of a session without ephemerals";
}

TEST(GoldenTxnLog, FailedMultiLogsErrorTxnForTheFailingOpAndRuntimeInconsistencyAfterIt)
{
    // Ops before the failing one keep their own txn; the failing op becomes
    // ErrorTxn(its error), every later op ErrorTxn(RUNTIMEINCONSISTENCY).
    REQUIRE_GOLDEN();
    unsigned failed = 0;
    for (const Record &r : golden().records) {
        if (r.type != CV_OP_MULTI)
            continue;
        cv_txn t;
        ASSERT_EQ(cv_proto_decode_txn(r.p, r.txn_len, &t), 0) << r.where();
        std::vector<cv_txn_entry> es = entries_of(t);
        size_t first = es.size();
        for (size_t i = 0; i < es.size(); i++)
            if (es[i].type == CV_OP_ERROR) {
                first = i;
                break;
            }
        if (first == es.size())
            continue;
        failed++;
        for (size_t i = first; i < es.size(); i++) {
            cv_txn sub;
            ASSERT_EQ(es[i].type, CV_OP_ERROR) << r.where() << " sub " << i;
            ASSERT_EQ(cv_proto_decode_sub_txn(&es[i], &sub), 0);
            if (i == first)
                EXPECT_NE(sub.u.number.value, CV_ZRUNTIMEINCONSISTENCY) << r.where();
            else
                EXPECT_EQ(sub.u.number.value, CV_ZRUNTIMEINCONSISTENCY) << r.where();
        }
    }
    EXPECT_GT(failed, 0u);
}

TEST(GoldenTxnLog, LogCoversEveryTransactionTypeZooKeeperLogs)
{
    REQUIRE_GOLDEN();
    std::map<std::string, unsigned> seen;
    for (const Record &r : golden().records) {
        cv_txn t;
        ASSERT_EQ(cv_proto_decode_txn(r.p, r.txn_len, &t), 0) << r.where();
        const char *name = cv_proto_op_name(t.hdr.type);
        seen[name ? name : std::to_string(t.hdr.type)]++;
        switch (t.hdr.type) {
        case CV_OP_CREATE:
            if (t.u.create.ephemeral)
                seen["create ephemeral"]++;
            else
                seen["create persistent"]++;
            if (is_sequential(t.u.create.path))
                seen["create sequential"]++;
            if (t.u.create.data.len < 0)
                seen["create null data"]++;
            if (t.u.create.acl.count > 1)
                seen["create with several ACLs"]++;
            break;
        case CV_OP_ERROR: {
            const char *en = cv_proto_err_name(t.u.number.value);
            seen[std::string("error ") + (en ? en : std::to_string(t.u.number.value))]++;
            break;
        }
        case CV_OP_CLOSE_SESSION:
            if (t.u.close_session.children.count > 0)
                seen["closeSession with paths2Delete"]++;
            if (t.hdr.cxid == 0)
                seen["closeSession by expiry"]++;
            break;
        case CV_OP_MULTI: {
            bool failed = false;
            for (const cv_txn_entry &e : entries_of(t)) {
                const char *sn = cv_proto_op_name(e.type);
                seen[std::string("multi>") + (sn ? sn : std::to_string(e.type))]++;
                failed |= e.type == CV_OP_ERROR;
            }
            seen[failed ? "multi failed" : "multi succeeded"]++;
            break;
        }
        }
    }
    std::ostringstream have;
    for (const auto &kv : seen)
        have << "  " << kv.first << " x" << kv.second << "\n";
    printf("transaction log coverage:\n%s", have.str().c_str());

    const char *const want[] = {
        "createSession",
        "create",
        "create persistent",
        "create ephemeral",
        "create sequential",
        "create null data",
        "create with several ACLs",
        "create2",
        "createContainer",
        "createTTL",
        "delete",
        "deleteContainer",
        "setData",
        "setACL",
        "multi succeeded",
        "multi failed",
        "multi>create",
        "multi>createTTL",
        "multi>createContainer",
        "multi>setData",
        "multi>check",
        "multi>delete",
        "multi>error",
        "error",
        "error NODEEXISTS",
        "error NONODE",
        "error BADVERSION",
        "error NOTEMPTY",
        "error NOCHILDRENFOREPHEMERALS",
        "error UNIMPLEMENTED", // reconfig on a standalone server
        "closeSession",
        "closeSession with paths2Delete",
        "closeSession by expiry",
    };
    for (const char *w : want)
        EXPECT_GT(seen[w], 0u) << "the golden transaction log has no " << w << " record; it has:\n"
                               << have.str();
}
