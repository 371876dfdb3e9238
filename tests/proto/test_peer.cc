// cv_peer: the server-to-server message codec. Round trips of every type,
// byte-exact golden frames, the CRC and length discipline (corruption,
// truncation, concatenation), and every per-type rule on encode and decode.
#include <gtest/gtest.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "cv_crc.h"
#include "cv_peer.h"

namespace
{

using Bytes = std::vector<uint8_t>;

// Reference CRC-32C, bit by bit, independent of cv_crc.
uint32_t ref_crc32c(const uint8_t *p, size_t n)
{
    uint32_t c = 0xffffffffu;
    for (size_t i = 0; i < n; i++) {
        c ^= p[i];
        for (int k = 0; k < 8; k++)
            c = c & 1 ? (c >> 1) ^ 0x82F63B78u : c >> 1;
    }
    return c ^ 0xffffffffu;
}

cv_peer_msg msg(int type, int from = 1)
{
    cv_peer_msg m;
    memset(&m, 0, sizeof m);
    m.type = (uint8_t)type;
    m.from = (uint8_t)from;
    return m;
}

Bytes encode(const cv_peer_msg &m)
{
    Bytes out(cv_peer_encoded_len(&m));
    int r = cv_peer_encode(&m, out.data(), out.size());
    EXPECT_EQ(r, (int)out.size()) << cv_peer_type_name(m.type);
    if (r < 0)
        out.clear();
    return out;
}

void put_be(uint8_t *p, uint64_t v, int n)
{
    for (int i = n - 1; i >= 0; i--, v >>= 8)
        p[i] = (uint8_t)v;
}

// Recompute the trailing CRC of a frame whose header or payload was edited
// (the declared length must match the frame's size).
void fix_crc(Bytes &b)
{
    ASSERT_GE(b.size(), (size_t)CV_PEER_OVERHEAD);
    put_be(b.data() + b.size() - 4, ref_crc32c(b.data(), b.size() - 4), 4);
}

// A raw frame with a valid CRC, whatever the fields say.
struct Raw {
    int type = CV_PEER_COMMIT, from = 1, state = 0, flags = 0;
    int64_t epoch = 0, round = 0, zxid = 0, a = 0, b = 0;
    Bytes payload;
    uint8_t magic0 = 0xC7, magic1 = 0x5A, version = CV_PEER_VERSION;

    Bytes bytes() const
    {
        Bytes out(CV_PEER_OVERHEAD + payload.size());
        uint8_t *p = out.data();
        p[0] = magic0;
        p[1] = magic1;
        p[2] = version;
        p[3] = (uint8_t)type;
        p[4] = (uint8_t)from;
        p[5] = (uint8_t)state;
        put_be(p + 6, (uint16_t)flags, 2);
        put_be(p + 8, payload.size(), 4);
        put_be(p + 12, (uint64_t)epoch, 8);
        put_be(p + 20, (uint64_t)round, 8);
        put_be(p + 28, (uint64_t)zxid, 8);
        put_be(p + 36, (uint64_t)a, 8);
        put_be(p + 44, (uint64_t)b, 8);
        if (!payload.empty())
            memcpy(p + CV_PEER_HDR, payload.data(), payload.size());
        fix_crc(out);
        return out;
    }
};

int decode(const Bytes &b, cv_peer_msg *m = nullptr, size_t *used = nullptr)
{
    cv_peer_msg mm;
    size_t uu = 0;
    return cv_peer_decode(b.data(), b.size(), m ? m : &mm, used ? used : &uu);
}

// The message as a Raw, to check that encode and the test's own layout agree.
Raw raw_of(const cv_peer_msg &m)
{
    Raw r;
    r.type = m.type;
    r.from = m.from;
    r.state = m.state;
    r.flags = m.flags;
    r.epoch = m.epoch;
    r.round = m.round;
    r.zxid = m.zxid;
    r.a = m.a;
    r.b = m.b;
    if (m.len)
        r.payload.assign(m.payload, m.payload + m.len);
    return r;
}

void expect_same(const cv_peer_msg &x, const cv_peer_msg &y)
{
    EXPECT_EQ(x.type, y.type);
    EXPECT_EQ(x.from, y.from);
    EXPECT_EQ(x.state, y.state);
    EXPECT_EQ(x.flags, y.flags);
    EXPECT_EQ(x.epoch, y.epoch);
    EXPECT_EQ(x.round, y.round);
    EXPECT_EQ(x.zxid, y.zxid);
    EXPECT_EQ(x.a, y.a);
    EXPECT_EQ(x.b, y.b);
    ASSERT_EQ(x.len, y.len);
    if (x.len == 0) {
        EXPECT_EQ(y.payload, nullptr); // a decoded empty payload is NULL
    } else {
        EXPECT_EQ(memcmp(x.payload, y.payload, x.len), 0);
    }
}

const Bytes kTxn = {0x01, 0x02, 0x03, 0x04, 0x05};
const Bytes kTouches = {0, 0, 0, 0, 0, 0, 0, 1, 0x80, 0, 0, 0, 0, 0, 0, 2};

// One representative message per type; only the fields the type carries are
// set (the others are 0, as decode reports them).
std::vector<cv_peer_msg> every_type()
{
    std::vector<cv_peer_msg> v;
    cv_peer_msg m;

    m = msg(CV_PEER_VOTE, 3);
    m.state = CV_PEER_LEADING;
    m.round = 42;
    m.a = 3;
    m.b = 7;
    m.zxid = (7LL << 32) | 99;
    m.epoch = 7;
    v.push_back(m);

    m = msg(CV_PEER_FOLLOWERINFO, 63);
    m.flags = CV_PEER_F_OBSERVER;
    m.epoch = 6;
    m.zxid = (6LL << 32) | 12;
    v.push_back(m);

    m = msg(CV_PEER_LEADERINFO, 1);
    m.epoch = 8;
    m.zxid = (7LL << 32) | 100;
    v.push_back(m);

    m = msg(CV_PEER_ACKEPOCH, 2);
    m.epoch = 7;
    m.zxid = (7LL << 32) | 98;
    v.push_back(m);

    m = msg(CV_PEER_DIFF, 1);
    m.zxid = (7LL << 32) | 50;
    v.push_back(m);

    m = msg(CV_PEER_TRUNC, 1);
    m.zxid = (6LL << 32) | 3;
    v.push_back(m);

    m = msg(CV_PEER_SNAP, 1);
    m.zxid = (7LL << 32) | 100;
    m.a = 4096;
    m.b = 4096 + (int64_t)kTxn.size() + 10;
    m.payload = kTxn.data();
    m.len = (uint32_t)kTxn.size();
    v.push_back(m);

    m = msg(CV_PEER_PROPOSAL, 1);
    m.zxid = (8LL << 32) | 1;
    m.payload = kTxn.data();
    m.len = (uint32_t)kTxn.size();
    v.push_back(m);

    m = msg(CV_PEER_COMMIT, 1);
    m.zxid = (8LL << 32) | 1;
    v.push_back(m);

    m = msg(CV_PEER_INFORM, 1);
    m.zxid = (8LL << 32) | 2;
    m.payload = kTxn.data();
    m.len = (uint32_t)kTxn.size();
    v.push_back(m);

    m = msg(CV_PEER_NEWLEADER, 1);
    m.epoch = 8;
    m.zxid = (7LL << 32) | 100;
    v.push_back(m);

    m = msg(CV_PEER_ACK, 2);
    m.zxid = 8LL << 32;
    v.push_back(m);

    m = msg(CV_PEER_UPTODATE, 1);
    m.zxid = (7LL << 32) | 100;
    v.push_back(m);

    m = msg(CV_PEER_PING, 2);
    m.zxid = (8LL << 32) | 5;
    m.payload = kTouches.data();
    m.len = (uint32_t)kTouches.size();
    v.push_back(m);

    m = msg(CV_PEER_REQUEST, 2);
    m.a = 0x0123456789abcdefLL;
    m.b = -1;
    m.payload = kTxn.data();
    m.len = (uint32_t)kTxn.size();
    v.push_back(m);

    m = msg(CV_PEER_SYNCREQ, 2);
    m.a = 0x0123456789abcdefLL;
    m.b = 17;
    v.push_back(m);

    m = msg(CV_PEER_SYNCED, 1);
    m.a = 0x0123456789abcdefLL;
    m.b = 17;
    m.zxid = (8LL << 32) | 9;
    v.push_back(m);

    m = msg(CV_PEER_RESYNC, 3);
    m.zxid = (8LL << 32) | 7;
    v.push_back(m);
    return v;
}

// Types whose header says nothing of a payload.
const int kNoPayload[] = {
    CV_PEER_VOTE,    CV_PEER_FOLLOWERINFO, CV_PEER_LEADERINFO, CV_PEER_ACKEPOCH, CV_PEER_DIFF,
    CV_PEER_TRUNC,   CV_PEER_COMMIT,       CV_PEER_NEWLEADER,  CV_PEER_ACK,      CV_PEER_UPTODATE,
    CV_PEER_SYNCREQ, CV_PEER_SYNCED,       CV_PEER_RESYNC};

// A message that breaks a rule: encode refuses it (-EINVAL) and its raw
// bytes, with a valid CRC, do not decode (-EBADMSG).
void expect_rejected_both_ways(const cv_peer_msg &m, const char *what)
{
    Bytes out(CV_PEER_OVERHEAD + m.len + 16);
    EXPECT_EQ(cv_peer_encode(&m, out.data(), out.size()), -EINVAL) << what;
    Bytes raw = raw_of(m).bytes();
    cv_peer_msg d;
    size_t used = 12345;
    EXPECT_EQ(cv_peer_decode(raw.data(), raw.size(), &d, &used), -EBADMSG) << what;
    EXPECT_EQ(used, 12345u) << what;
}

// The same message without the broken rule is fine both ways (so the
// rejection above is due to the rule, not to something else).
void expect_accepted_both_ways(const cv_peer_msg &m, const char *what)
{
    Bytes out(cv_peer_encoded_len(&m));
    EXPECT_EQ(cv_peer_encode(&m, out.data(), out.size()), (int)out.size()) << what;
    EXPECT_EQ(out, raw_of(m).bytes()) << what;
    cv_peer_msg d;
    size_t used = 0;
    ASSERT_EQ(cv_peer_decode(out.data(), out.size(), &d, &used), 0) << what;
    EXPECT_EQ(used, out.size()) << what;
    expect_same(m, d);
}

} // namespace

TEST(PeerCodec, ReferenceCrcMatchesCvCrc)
{
    const char *s = "123456789";
    EXPECT_EQ(ref_crc32c((const uint8_t *)s, 9), 0xE3069283u);
    EXPECT_EQ(cv_crc32c(s, 9), 0xE3069283u);
}

TEST(PeerCodec, EveryTypeRoundTripsItsFields)
{
    auto all = every_type();
    ASSERT_EQ(all.size(), (size_t)CV_PEER_TYPE_MAX);
    for (const auto &m : all) {
        SCOPED_TRACE(cv_peer_type_name(m.type));
        Bytes b = encode(m);
        ASSERT_EQ(b.size(), CV_PEER_OVERHEAD + m.len);
        EXPECT_EQ(b, raw_of(m).bytes()); // the layout the header documents
        cv_peer_msg d;
        size_t used = 0;
        ASSERT_EQ(decode(b, &d, &used), 0);
        EXPECT_EQ(used, b.size());
        expect_same(m, d);
        if (m.len) { // the payload points into the input
            EXPECT_EQ(d.payload, b.data() + CV_PEER_HDR);
        }
    }
}

TEST(PeerCodec, GoldenProposalIsByteExact)
{
    const uint8_t txn[] = {0xde, 0xad, 0xbe};
    cv_peer_msg m = msg(CV_PEER_PROPOSAL, 2);
    m.zxid = 0x0000000100000002LL;
    m.payload = txn;
    m.len = 3;
    const Bytes golden = {
        0xC7, 0x5A,                         // magic
        0x01,                               // version
        0x08,                               // type PROPOSAL
        0x02,                               // from
        0x00,                               // state
        0x00, 0x00,                         // flags
        0x00, 0x00, 0x00, 0x03,             // payload length
        0,    0,    0,    0,    0, 0, 0, 0, // epoch
        0,    0,    0,    0,    0, 0, 0, 0, // round
        0,    0,    0,    1,    0, 0, 0, 2, // zxid
        0,    0,    0,    0,    0, 0, 0, 0, // a
        0,    0,    0,    0,    0, 0, 0, 0, // b
        0xde, 0xad, 0xbe,                   // payload
        0xbb, 0x22, 0x25, 0xf0,             // CRC-32C of the 55 bytes above
    };
    EXPECT_EQ(ref_crc32c(golden.data(), 55), 0xbb2225f0u);
    EXPECT_EQ(encode(m), golden);
    cv_peer_msg d;
    size_t used = 0;
    ASSERT_EQ(decode(golden, &d, &used), 0);
    EXPECT_EQ(used, golden.size());
    expect_same(m, d);
}

TEST(PeerCodec, GoldenObserverFollowerInfoIsByteExact)
{
    cv_peer_msg m = msg(CV_PEER_FOLLOWERINFO, 63);
    m.flags = CV_PEER_F_OBSERVER;
    m.epoch = -2;
    m.zxid = 0x123456789abcdef0LL;
    const Bytes golden = {
        0xC7, 0x5A, 0x01, 0x02, 0x3f, 0x00, 0x00, 0x01, // magic, version, type, from, state, flags
        0x00, 0x00, 0x00, 0x00,                         // payload length
        0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe, // epoch -2
        0,    0,    0,    0,    0,    0,    0,    0,    // round
        0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc, 0xde, 0xf0, // zxid
        0,    0,    0,    0,    0,    0,    0,    0,    // a
        0,    0,    0,    0,    0,    0,    0,    0,    // b
        0x06, 0xb2, 0x11, 0x20,                         // CRC-32C
    };
    EXPECT_EQ(encode(m), golden);
    cv_peer_msg d;
    ASSERT_EQ(decode(golden, &d), 0);
    expect_same(m, d);
}

TEST(PeerCodec, UnusedFieldsAreWrittenAsZeroAndReportedAsZero)
{
    // COMMIT carries only zxid: encode writes 0 for the rest.
    cv_peer_msg m = msg(CV_PEER_COMMIT, 4);
    m.zxid = 77;
    m.epoch = 1;
    m.round = 2;
    m.a = 3;
    m.b = 4;
    cv_peer_msg clean = msg(CV_PEER_COMMIT, 4);
    clean.zxid = 77;
    EXPECT_EQ(encode(m), encode(clean));

    // Nonzero unused fields on the wire are ignored: decoded as 0.
    Raw r;
    r.type = CV_PEER_SYNCREQ;
    r.from = 5;
    r.epoch = 9;
    r.round = 8;
    r.zxid = 7;
    r.a = 6;
    r.b = 5;
    cv_peer_msg d;
    ASSERT_EQ(decode(r.bytes(), &d), 0);
    EXPECT_EQ(d.epoch, 0);
    EXPECT_EQ(d.round, 0);
    EXPECT_EQ(d.zxid, 0);
    EXPECT_EQ(d.a, 6);
    EXPECT_EQ(d.b, 5);
}

TEST(PeerCodec, EverySingleByteCorruptionIsRejected)
{
    for (const auto &m : every_type()) {
        SCOPED_TRACE(cv_peer_type_name(m.type));
        Bytes good = encode(m);
        for (size_t i = 0; i < good.size(); i++) {
            for (int x = 1; x < 256; x++) {
                Bytes bad = good;
                bad[i] ^= (uint8_t)x;
                cv_peer_msg d;
                size_t used = 0;
                int r = cv_peer_decode(bad.data(), bad.size(), &d, &used);
                // A corrupted length may ask for more bytes than there are;
                // any other corruption is a bad message.
                if (i >= 8 && i < 12 && r == -EAGAIN)
                    continue;
                ASSERT_EQ(r, -EBADMSG) << "byte " << i << " ^ " << x;
            }
        }
    }
}

TEST(PeerCodec, EveryTruncationAsksForMore)
{
    for (const auto &m : every_type()) {
        SCOPED_TRACE(cv_peer_type_name(m.type));
        Bytes good = encode(m);
        for (size_t n = 0; n < good.size(); n++) {
            cv_peer_msg d;
            size_t used = 999;
            ASSERT_EQ(cv_peer_decode(good.data(), n, &d, &used), -EAGAIN) << "n=" << n;
            EXPECT_EQ(used, 999u);
        }
    }
}

TEST(PeerCodec, ConcatenatedMessagesDecodeOneAfterTheOther)
{
    auto all = every_type();
    Bytes stream;
    for (const auto &m : all) {
        Bytes b = encode(m);
        stream.insert(stream.end(), b.begin(), b.end());
    }
    // Then half of another message.
    Bytes tail = encode(all[0]);
    stream.insert(stream.end(), tail.begin(), tail.begin() + 30);

    size_t off = 0;
    for (const auto &m : all) {
        SCOPED_TRACE(cv_peer_type_name(m.type));
        cv_peer_msg d;
        size_t used = 0;
        ASSERT_EQ(cv_peer_decode(stream.data() + off, stream.size() - off, &d, &used), 0);
        EXPECT_EQ(used, cv_peer_encoded_len(&m));
        expect_same(m, d);
        off += used;
    }
    cv_peer_msg d;
    size_t used = 0;
    EXPECT_EQ(cv_peer_decode(stream.data() + off, stream.size() - off, &d, &used), -EAGAIN);
    EXPECT_EQ(stream.size() - off, 30u);
}

TEST(PeerCodec, EncodeNeedsRoomForTheWholeMessage)
{
    for (const auto &m : every_type()) {
        SCOPED_TRACE(cv_peer_type_name(m.type));
        size_t need = cv_peer_encoded_len(&m);
        Bytes out(need + 1, 0xAA);
        EXPECT_EQ(cv_peer_encode(&m, out.data(), need - 1), -ENOBUFS);
        EXPECT_EQ(cv_peer_encode(&m, out.data(), 0), -ENOBUFS);
        EXPECT_EQ(cv_peer_encode(&m, out.data(), need), (int)need);
        EXPECT_EQ(out[need], 0xAA); // nothing written past the message
    }
}

TEST(PeerCodec, LargestPayloadRoundTripsAndOneMoreIsRefused)
{
    Bytes big(CV_PEER_MAX_PAYLOAD);
    for (size_t i = 0; i < big.size(); i++)
        big[i] = (uint8_t)(i * 31 + 7);
    cv_peer_msg m = msg(CV_PEER_PROPOSAL, 9);
    m.zxid = 1;
    m.payload = big.data();
    m.len = CV_PEER_MAX_PAYLOAD;
    Bytes b = encode(m);
    cv_peer_msg d;
    ASSERT_EQ(decode(b, &d), 0);
    expect_same(m, d);

    Bytes more(CV_PEER_MAX_PAYLOAD + 1);
    m.payload = more.data();
    m.len = CV_PEER_MAX_PAYLOAD + 1;
    Bytes out(CV_PEER_OVERHEAD + m.len);
    EXPECT_EQ(cv_peer_encode(&m, out.data(), out.size()), -EINVAL);
}

TEST(PeerCodec, OversizedDeclaredLengthIsBadImmediately)
{
    for (uint32_t len : {CV_PEER_MAX_PAYLOAD + 1, 0x7fffffffu, 0xffffffffu}) {
        Raw r;
        r.type = CV_PEER_PROPOSAL;
        r.zxid = 1;
        Bytes b = r.bytes();
        put_be(b.data() + 8, len, 4);
        // Only the header is there; the declared length alone condemns it.
        cv_peer_msg d;
        size_t used = 0;
        EXPECT_EQ(cv_peer_decode(b.data(), CV_PEER_HDR, &d, &used), -EBADMSG) << len;
        EXPECT_EQ(cv_peer_decode(b.data(), b.size(), &d, &used), -EBADMSG) << len;
    }
    // The largest allowed length with only the header present waits.
    Raw r;
    r.type = CV_PEER_PROPOSAL;
    Bytes b = r.bytes();
    put_be(b.data() + 8, CV_PEER_MAX_PAYLOAD, 4);
    cv_peer_msg d;
    size_t used = 0;
    EXPECT_EQ(cv_peer_decode(b.data(), CV_PEER_HDR, &d, &used), -EAGAIN);
}

TEST(PeerCodec, BadCrcIsRejected)
{
    Bytes b = encode(every_type()[0]);
    b.back() ^= 0x01;
    EXPECT_EQ(decode(b), -EBADMSG);
    b = encode(every_type()[0]);
    put_be(b.data() + b.size() - 4, 0, 4);
    EXPECT_EQ(decode(b), -EBADMSG);
}

TEST(PeerCodec, BadMagicOrVersionIsRejectedEvenWithAValidCrc)
{
    Raw r;
    r.magic0 = 0xC6;
    EXPECT_EQ(decode(r.bytes()), -EBADMSG);
    r = Raw();
    r.magic1 = 0x5B;
    EXPECT_EQ(decode(r.bytes()), -EBADMSG);
    for (int v : {0, CV_PEER_VERSION + 1, 255}) {
        r = Raw();
        r.version = (uint8_t)v;
        EXPECT_EQ(decode(r.bytes()), -EBADMSG) << v;
    }
    r = Raw();
    EXPECT_EQ(decode(r.bytes()), 0);
}

TEST(PeerRules, TypeMustBeKnown)
{
    for (int t : {0, CV_PEER_TYPE_MAX + 1, 100, 255}) {
        cv_peer_msg m = msg(t);
        expect_rejected_both_ways(m, "unknown type");
    }
    for (int t = CV_PEER_VOTE; t <= CV_PEER_TYPE_MAX; t++) {
        cv_peer_msg m = msg(t);
        if (t == CV_PEER_PROPOSAL || t == CV_PEER_INFORM) {
            m.payload = kTxn.data();
            m.len = (uint32_t)kTxn.size();
        }
        if (t == CV_PEER_SNAP)
            m.b = 0;
        expect_accepted_both_ways(m, cv_peer_type_name(t));
    }
}

TEST(PeerRules, SenderMustBeBetweenOneAndMaxSid)
{
    cv_peer_msg m = msg(CV_PEER_ACK);
    for (int s : {0, CV_PEER_MAX_SID + 1, 200, 255}) {
        m.from = (uint8_t)s;
        expect_rejected_both_ways(m, "sender out of range");
    }
    for (int s : {1, 2, CV_PEER_MAX_SID}) {
        m.from = (uint8_t)s;
        expect_accepted_both_ways(m, "sender in range");
    }
}

TEST(PeerRules, VoteStateMustBeARole)
{
    cv_peer_msg m = msg(CV_PEER_VOTE, 2);
    m.round = 1;
    for (int s = CV_PEER_LOOKING; s <= CV_PEER_OBSERVING; s++) {
        m.state = (uint8_t)s;
        expect_accepted_both_ways(m, "vote state in range");
    }
    for (int s : {CV_PEER_OBSERVING + 1, 255}) {
        m.state = (uint8_t)s;
        expect_rejected_both_ways(m, "vote state out of range");
    }
}

TEST(PeerRules, StateMustBeZeroOutsideVote)
{
    for (int t = CV_PEER_FOLLOWERINFO; t <= CV_PEER_TYPE_MAX; t++) {
        cv_peer_msg m = msg(t);
        if (t == CV_PEER_PROPOSAL || t == CV_PEER_INFORM) {
            m.payload = kTxn.data();
            m.len = (uint32_t)kTxn.size();
        }
        if (t == CV_PEER_SNAP)
            m.b = m.len;
        for (int s : {1, 3, 255}) {
            m.state = (uint8_t)s;
            expect_rejected_both_ways(m, cv_peer_type_name(t));
        }
    }
}

TEST(PeerRules, FlagsMustBeKnownAndObserverOnlyOnFollowerInfo)
{
    cv_peer_msg m = msg(CV_PEER_FOLLOWERINFO, 5);
    m.flags = CV_PEER_F_OBSERVER;
    expect_accepted_both_ways(m, "observer followerinfo");
    m.flags = 0;
    expect_accepted_both_ways(m, "voter followerinfo");
    for (int bit = 1; bit < 16; bit++) {
        m.flags = (uint16_t)(1u << bit);
        expect_rejected_both_ways(m, "unknown flag bit");
        m.flags = (uint16_t)(1u << bit | CV_PEER_F_OBSERVER);
        expect_rejected_both_ways(m, "unknown flag bit with observer");
    }
    for (int t = CV_PEER_VOTE; t <= CV_PEER_TYPE_MAX; t++) {
        if (t == CV_PEER_FOLLOWERINFO)
            continue;
        cv_peer_msg o = msg(t);
        if (t == CV_PEER_PROPOSAL || t == CV_PEER_INFORM) {
            o.payload = kTxn.data();
            o.len = (uint32_t)kTxn.size();
        }
        if (t == CV_PEER_SNAP)
            o.b = o.len;
        o.flags = CV_PEER_F_OBSERVER;
        expect_rejected_both_ways(o, cv_peer_type_name(t));
    }
}

TEST(PeerRules, TypesWithoutAPayloadMustHaveNone)
{
    for (int t : kNoPayload) {
        cv_peer_msg m = msg(t);
        m.payload = kTouches.data();
        for (uint32_t n : {1u, 8u}) {
            m.len = n;
            expect_rejected_both_ways(m, cv_peer_type_name(t));
        }
    }
}

TEST(PeerRules, ProposalAndInformNeedANonEmptyPayload)
{
    for (int t : {CV_PEER_PROPOSAL, CV_PEER_INFORM}) {
        cv_peer_msg m = msg(t);
        m.zxid = 5;
        expect_rejected_both_ways(m, cv_peer_type_name(t));
        m.payload = kTxn.data();
        m.len = 1;
        expect_accepted_both_ways(m, cv_peer_type_name(t));
    }
}

TEST(PeerRules, PingPayloadIsWholeSessionIds)
{
    Bytes ids(24, 0x11);
    cv_peer_msg m = msg(CV_PEER_PING, 2);
    m.payload = ids.data();
    for (uint32_t n : {0u, 8u, 16u, 24u}) {
        m.len = n;
        expect_accepted_both_ways(m, "whole ids");
    }
    for (uint32_t n : {1u, 7u, 9u, 15u, 23u}) {
        m.len = n;
        expect_rejected_both_ways(m, "partial id");
    }
}

TEST(PeerRules, RequestMayCarryAnyPayload)
{
    cv_peer_msg m = msg(CV_PEER_REQUEST, 2);
    m.a = 1;
    m.b = 2;
    expect_accepted_both_ways(m, "empty request");
    m.payload = kTxn.data();
    m.len = 1;
    expect_accepted_both_ways(m, "one byte request");
}

TEST(PeerRules, SnapChunkLiesWithinTheSnapshot)
{
    cv_peer_msg m = msg(CV_PEER_SNAP, 1);
    m.payload = kTxn.data();
    m.len = (uint32_t)kTxn.size();

    m.a = 0;
    m.b = m.len; // exactly the whole snapshot
    expect_accepted_both_ways(m, "whole snapshot");
    m.a = 100;
    m.b = 100 + m.len;
    expect_accepted_both_ways(m, "last chunk");
    m.a = INT64_MAX - m.len;
    m.b = INT64_MAX;
    expect_accepted_both_ways(m, "chunk at the very end");

    m.a = -1;
    m.b = 100;
    expect_rejected_both_ways(m, "negative offset");
    m.a = INT64_MIN;
    m.b = INT64_MAX;
    expect_rejected_both_ways(m, "most negative offset");
    m.a = 100;
    m.b = 100 + m.len - 1;
    expect_rejected_both_ways(m, "chunk past the end");
    m.a = 100;
    m.b = 50;
    expect_rejected_both_ways(m, "total before offset");
    m.a = INT64_MAX - m.len + 1;
    m.b = INT64_MAX;
    expect_rejected_both_ways(m, "offset plus length overflows");
    m.a = 10;
    m.b = INT64_MIN;
    expect_rejected_both_ways(m, "negative total");

    // An empty chunk is allowed (an empty snapshot), still within bounds.
    m.payload = nullptr;
    m.len = 0;
    m.a = 0;
    m.b = 0;
    expect_accepted_both_ways(m, "empty snapshot");
    m.a = 1;
    expect_rejected_both_ways(m, "empty chunk past the end");
}

TEST(PeerRules, EncodeRefusesAMissingPayload)
{
    cv_peer_msg m = msg(CV_PEER_PROPOSAL);
    m.len = 4;
    m.payload = nullptr;
    uint8_t out[64];
    EXPECT_EQ(cv_peer_encode(&m, out, sizeof out), -EINVAL);
}

TEST(PeerRules, BrokenRuleIsInvalidEvenWhenTheBufferIsTooSmall)
{
    cv_peer_msg m = msg(CV_PEER_ACK, 0);
    uint8_t out[1];
    EXPECT_EQ(cv_peer_encode(&m, out, 0), -EINVAL);
}

TEST(PeerNames, EveryTypeHasItsNameAndOthersAreQuestionMarks)
{
    const char *names[] = {"VOTE",      "FOLLOWERINFO", "LEADERINFO", "ACKEPOCH", "DIFF",
                           "TRUNC",     "SNAP",         "PROPOSAL",   "COMMIT",   "INFORM",
                           "NEWLEADER", "ACK",          "UPTODATE",   "PING",     "REQUEST",
                           "SYNCREQ",   "SYNCED",       "RESYNC"};
    ASSERT_EQ(sizeof names / sizeof names[0], (size_t)CV_PEER_TYPE_MAX);
    for (int t = CV_PEER_VOTE; t <= CV_PEER_TYPE_MAX; t++)
        EXPECT_STREQ(cv_peer_type_name(t), names[t - 1]) << t;
    for (int t : {0, CV_PEER_TYPE_MAX + 1, 255, 256, -1, 1 << 30})
        EXPECT_STREQ(cv_peer_type_name(t), "?") << t;
}

TEST(PeerForward, EncodeThenDecodeGivesBackBothParts)
{
    const uint8_t auth[5] = {1, 2, 3, 4, 5}, req[3] = {9, 8, 7};
    uint8_t buf[64];
    int n = cv_peer_fwd_encode(buf, sizeof buf, auth, sizeof auth, req, sizeof req);
    ASSERT_EQ(n, 4 + 5 + 3);
    EXPECT_EQ(buf[3], 5); // the ids' length, big endian
    const uint8_t *ap, *rp;
    uint32_t alen;
    size_t rlen;
    ASSERT_EQ(cv_peer_fwd_decode(buf, (size_t)n, &ap, &alen, &rp, &rlen), 0);
    EXPECT_EQ(alen, 5u);
    EXPECT_EQ(memcmp(ap, auth, 5), 0);
    ASSERT_EQ(rlen, 3u);
    EXPECT_EQ(memcmp(rp, req, 3), 0);
    EXPECT_EQ(cv_peer_fwd_encode(buf, (size_t)n - 1, auth, sizeof auth, req, sizeof req), -ENOBUFS);
}

TEST(PeerForward, DecodeRefusesLengthsThatDoNotAddUpAndAnEmptyRequest)
{
    const uint8_t *ap, *rp;
    uint32_t alen;
    size_t rlen;
    const uint8_t short_hdr[3] = {0, 0, 0};
    EXPECT_EQ(cv_peer_fwd_decode(short_hdr, 3, &ap, &alen, &rp, &rlen), -EBADMSG);
    const uint8_t too_long[6] = {0, 0, 0, 9, 1, 2}; // 9 bytes of ids announced, 2 present
    EXPECT_EQ(cv_peer_fwd_decode(too_long, 6, &ap, &alen, &rp, &rlen), -EBADMSG);
    const uint8_t no_req[6] = {0, 0, 0, 2, 1, 2}; // ids and nothing after them
    EXPECT_EQ(cv_peer_fwd_decode(no_req, 6, &ap, &alen, &rp, &rlen), -EBADMSG);
    const uint8_t huge[8] = {0xff, 0xff, 0xff, 0xff, 1, 2, 3, 4}; // no overflow on 4 + len
    EXPECT_EQ(cv_peer_fwd_decode(huge, 8, &ap, &alen, &rp, &rlen), -EBADMSG);
}
