// Tests of cv_chan, the reliable FIFO channel over datagrams: wire format and
// decoder, handshake, batching, acks, retransmission timing, windows, restarts,
// and deterministic lossy-network simulations (loss, duplication, reordering,
// long delays, corruption, restarts) checking exactly-once in-order delivery.
#include <gtest/gtest.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <functional>
#include <memory>
#include <queue>
#include <string>
#include <vector>

#include "cv_chan.h"
#include "cv_crc.h"

namespace
{

using Dgram = std::vector<uint8_t>;
using Msgs = std::vector<std::string>;

// ---- helpers ----

uint64_t mix(uint64_t x)
{
    x += 0x9e3779b97f4a7c15ull;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

void on_msg(void *ctx, const uint8_t *m, size_t l)
{
    static_cast<Msgs *>(ctx)->emplace_back(reinterpret_cast<const char *>(m), l);
}

struct ChanDeleter {
    void operator()(cv_chan *c) const { cv_chan_free(c); }
};
using Chan = std::unique_ptr<cv_chan, ChanDeleter>;

cv_chan_config defaults()
{
    cv_chan_config cfg;
    cv_chan_config_init(&cfg);
    return cfg;
}

Chan make(uint64_t inc, const cv_chan_config &cfg = defaults())
{
    Chan c(cv_chan_new(&cfg, inc));
    EXPECT_NE(c, nullptr);
    return c;
}

Dgram poll1(cv_chan *c, int64_t now)
{
    Dgram d(CV_CHAN_MAX_DGRAM);
    size_t n = cv_chan_poll_tx(c, now, d.data(), d.size());
    d.resize(n);
    return d;
}

std::vector<Dgram> poll_all(cv_chan *c, int64_t now)
{
    std::vector<Dgram> out;
    for (;;) {
        if (out.size() > 100000) {
            ADD_FAILURE() << "poll_tx never runs dry";
            return out;
        }
        Dgram d = poll1(c, now);
        if (d.empty())
            return out;
        out.push_back(d);
    }
}

int rx(cv_chan *c, const Dgram &d, int64_t now, Msgs *got)
{
    return cv_chan_recv(c, d.data(), d.size(), now, on_msg, got);
}

int send_str(cv_chan *c, const std::string &s)
{
    return cv_chan_send(c, s.data(), s.size());
}

struct Parsed {
    int rc = -1;
    cv_chan_hdr h{};
    Msgs msgs;
};

Parsed parse(const Dgram &d)
{
    Parsed p;
    cv_chan_iter it;
    p.rc = cv_chan_parse(d.data(), d.size(), &p.h, &it);
    if (p.rc == 0) {
        const uint8_t *m;
        size_t l;
        while (cv_chan_iter_next(&it, &m, &l))
            p.msgs.emplace_back(reinterpret_cast<const char *>(m), l);
    }
    return p;
}

// An independent encoder of the wire format, for crafted datagrams.
struct Hdr {
    uint32_t magic = CV_CHAN_MAGIC;
    uint8_t version = CV_CHAN_VERSION;
    uint8_t flags = 0;
    int count = -1; // -1: the number of messages
    uint64_t src = 1, dst = 1, seq = 1, ack = 1;
};

void be(Dgram &d, uint64_t v, int bytes)
{
    for (int i = bytes - 1; i >= 0; i--)
        d.push_back(static_cast<uint8_t>(v >> (8 * i)));
}

Dgram encode(const Hdr &h, const Msgs &msgs, bool crc = true)
{
    Dgram d;
    be(d, h.magic, 4);
    d.push_back(h.version);
    d.push_back(h.flags);
    be(d, h.count < 0 ? msgs.size() : static_cast<uint64_t>(h.count), 2);
    be(d, h.src, 8);
    be(d, h.dst, 8);
    be(d, h.seq, 8);
    be(d, h.ack, 8);
    for (const auto &m : msgs) {
        be(d, m.size(), 4);
        d.insert(d.end(), m.begin(), m.end());
    }
    if (crc)
        be(d, cv_crc32c(d.data(), d.size()), 4);
    return d;
}

// Two ends over a perfect network: exchange until neither has anything due at `now`.
void pump(cv_chan *a, Msgs &ga, cv_chan *b, Msgs &gb, int64_t now)
{
    for (int guard = 0; guard < 100000; guard++) {
        auto da = poll_all(a, now);
        auto db = poll_all(b, now);
        if (da.empty() && db.empty())
            return;
        for (auto &d : da)
            EXPECT_GE(rx(b, d, now, &gb), 0);
        for (auto &d : db)
            EXPECT_GE(rx(a, d, now, &ga), 0);
    }
    ADD_FAILURE() << "pump did not quiesce";
}

// Perfect network, time jumps to the next due time until nothing is pending. Returns the time.
int64_t settle(cv_chan *a, Msgs &ga, cv_chan *b, Msgs &gb, int64_t now)
{
    for (int guard = 0; guard < 100000; guard++) {
        pump(a, ga, b, gb, now);
        int64_t t = std::min(cv_chan_next_due(a), cv_chan_next_due(b));
        if (t == INT64_MAX)
            return now;
        EXPECT_GT(t, now);
        now = t;
    }
    ADD_FAILURE() << "settle did not quiesce";
    return now;
}

// A connected pair (handshake done) at time 0.
struct Pair {
    Chan a, b;
    Msgs ga, gb;
    int64_t now = 0;
    explicit Pair(const cv_chan_config &cfg = defaults(), uint64_t ia = 100, uint64_t ib = 200)
        : a(make(ia, cfg)), b(make(ib, cfg))
    {
        EXPECT_EQ(send_str(a.get(), "hello-a"), 0);
        EXPECT_EQ(send_str(b.get(), "hello-b"), 0);
        now = settle(a.get(), ga, b.get(), gb, now);
        EXPECT_EQ(gb, Msgs{"hello-a"});
        EXPECT_EQ(ga, Msgs{"hello-b"});
        ga.clear();
        gb.clear();
    }
};

// ---- config and life cycle ----

TEST(ChanConfig, DefaultsAreTheDocumentedValues)
{
    cv_chan_config cfg = defaults();
    EXPECT_EQ(cfg.max_dgram, 1400u);
    EXPECT_EQ(cfg.send_bytes, 4u << 20);
    EXPECT_EQ(cfg.send_window, 256u << 10);
    EXPECT_EQ(cfg.recv_window, 64u);
    EXPECT_EQ(cfg.rto_min_ms, 5);
    EXPECT_EQ(cfg.rto_max_ms, 200);
    EXPECT_EQ(cfg.ack_delay_ms, 1);
    Chan c = make(1);
    EXPECT_EQ(cv_chan_max_msg(c.get()), 1400u - 48u);
    EXPECT_EQ(cv_chan_incarnation(c.get()), 1u);
    EXPECT_EQ(cv_chan_peer_incarnation(c.get()), 0u);
}

TEST(ChanConfig, NewRejectsBadConfigAndIncarnationZero)
{
    cv_chan_config ok = defaults();
    EXPECT_EQ(cv_chan_new(&ok, 0), nullptr);
    EXPECT_EQ(cv_chan_new(nullptr, 1), nullptr);
    std::vector<std::function<void(cv_chan_config &)>> bad = {
        [](cv_chan_config &c) { c.max_dgram = CV_CHAN_MIN_DGRAM - 1; },
        [](cv_chan_config &c) { c.max_dgram = CV_CHAN_MAX_DGRAM + 1; },
        [](cv_chan_config &c) { c.send_bytes = c.max_dgram - 1; },
        [](cv_chan_config &c) { c.send_window = 0; },
        [](cv_chan_config &c) { c.recv_window = 65537; },
        [](cv_chan_config &c) { c.rto_min_ms = 0; },
        [](cv_chan_config &c) { c.rto_max_ms = c.rto_min_ms - 1; },
        [](cv_chan_config &c) { c.rto_max_ms = INT64_MAX; },
        [](cv_chan_config &c) { c.ack_delay_ms = -1; },
    };
    for (size_t i = 0; i < bad.size(); i++) {
        cv_chan_config cfg = ok;
        bad[i](cfg);
        EXPECT_EQ(cv_chan_new(&cfg, 1), nullptr) << "case " << i;
    }
    cv_chan_config edge = ok;
    edge.max_dgram = CV_CHAN_MIN_DGRAM;
    edge.send_bytes = CV_CHAN_MIN_DGRAM;
    edge.recv_window = 0;
    edge.ack_delay_ms = 0;
    edge.rto_max_ms = edge.rto_min_ms;
    Chan c = make(1, edge);
    EXPECT_EQ(cv_chan_max_msg(c.get()), CV_CHAN_MIN_DGRAM - 48u);
}

TEST(ChanConfig, FreshEndHasNothingDue)
{
    Chan c = make(7);
    EXPECT_EQ(cv_chan_next_due(c.get()), INT64_MAX);
    EXPECT_TRUE(poll1(c.get(), 0).empty());
    cv_chan_free(nullptr);
}

// ---- sending limits ----

TEST(ChanSend, MessageSizeLimitIsMaxDgramMinusOverhead)
{
    Pair p;
    size_t max = cv_chan_max_msg(p.a.get());
    std::string big(max, 'x'), empty;
    EXPECT_EQ(send_str(p.a.get(), big + "y"), -EMSGSIZE);
    EXPECT_EQ(send_str(p.a.get(), big), 0);
    EXPECT_EQ(send_str(p.a.get(), empty), 0);
    auto ds = poll_all(p.a.get(), p.now);
    ASSERT_EQ(ds.size(), 2u);
    EXPECT_EQ(ds[0].size(), 1400u); // the largest message fills a datagram exactly
    for (auto &d : ds)
        EXPECT_EQ(rx(p.b.get(), d, p.now, &p.gb), 0);
    EXPECT_EQ(p.gb, (Msgs{big, empty}));
}

TEST(ChanSend, BufferFullWithoutAcksReturnsEnobufsUntilAcked)
{
    cv_chan_config cfg = defaults();
    cfg.send_bytes = 4096;
    Pair p(cfg);
    std::string m(1000, 'm');
    for (int i = 0; i < 4; i++) // 4 x 1004 = 4016 bytes
        ASSERT_EQ(send_str(p.a.get(), m), 0) << i;
    EXPECT_EQ(send_str(p.a.get(), m), -ENOBUFS);
    EXPECT_EQ(send_str(p.a.get(), std::string(76, 'm')), 0); // 80 more fills it exactly
    EXPECT_EQ(send_str(p.a.get(), ""), -ENOBUFS);
    // Sent but unacked still counts.
    auto ds = poll_all(p.a.get(), p.now);
    EXPECT_EQ(send_str(p.a.get(), ""), -ENOBUFS);
    // Acks free the space.
    settle(p.a.get(), p.ga, p.b.get(), p.gb, p.now);
    EXPECT_EQ(p.gb.size(), 5u);
    for (int i = 0; i < 4; i++)
        EXPECT_EQ(send_str(p.a.get(), m), 0) << i;
    EXPECT_EQ(send_str(p.a.get(), m), -ENOBUFS);
    // A local reset empties it.
    EXPECT_EQ(cv_chan_reset(p.a.get(), 101), 0);
    EXPECT_EQ(send_str(p.a.get(), m), 0);
}

TEST(ChanSend, BufferFillsWhileThePeerIsUnknown)
{
    cv_chan_config cfg = defaults();
    cfg.send_bytes = 2048;
    Chan a = make(1, cfg);
    EXPECT_EQ(send_str(a.get(), std::string(1000, 'a')), 0);
    EXPECT_EQ(send_str(a.get(), std::string(1000, 'b')), 0);
    EXPECT_EQ(send_str(a.get(), std::string(100, 'c')), -ENOBUFS);
}

// ---- handshake ----

TEST(ChanHandshake, UnknownPeerGetsOnlyHellosWithBackoff)
{
    Chan a = make(42);
    ASSERT_EQ(send_str(a.get(), "data"), 0);
    EXPECT_LE(cv_chan_next_due(a.get()), 1000); // due at once
    std::vector<int64_t> times;
    int64_t now = 1000;
    for (int guard = 0;; guard++) {
        ASSERT_LT(guard, 100);
        int64_t due = cv_chan_next_due(a.get());
        ASSERT_NE(due, INT64_MAX);
        now = std::max(now, due);
        if (now >= 3000)
            break;
        auto ds = poll_all(a.get(), now);
        ASSERT_EQ(ds.size(), 1u);
        Parsed p = parse(ds[0]);
        ASSERT_EQ(p.rc, 0);
        EXPECT_EQ(p.h.src_inc, 42u);
        EXPECT_EQ(p.h.dst_inc, 0u);
        EXPECT_EQ(p.h.count, 0u);
        EXPECT_EQ(ds[0].size(), size_t(CV_CHAN_HDR_SIZE + CV_CHAN_CRC_SIZE));
        times.push_back(now);
        EXPECT_GT(cv_chan_next_due(a.get()), now);
    }
    std::vector<int64_t> want = {1000, 1005, 1015, 1035, 1075, 1155, 1315, 1515,
                                 1715, 1915, 2115, 2315, 2515, 2715, 2915};
    EXPECT_EQ(times, want);
}

TEST(ChanHandshake, HelloIsAnsweredAndDataFlowsAfterOneRoundTrip)
{
    Chan a = make(10), b = make(20);
    Msgs ga, gb;
    ASSERT_EQ(send_str(a.get(), "m1"), 0);
    ASSERT_EQ(send_str(a.get(), "m2"), 0);
    auto hello = poll_all(a.get(), 0);
    ASSERT_EQ(hello.size(), 1u);
    EXPECT_EQ(rx(b.get(), hello[0], 0, &gb), 0);
    EXPECT_EQ(cv_chan_peer_incarnation(b.get()), 10u);
    EXPECT_LE(cv_chan_next_due(b.get()), 0); // the answer is due at once
    auto answer = poll_all(b.get(), 0);
    ASSERT_EQ(answer.size(), 1u);
    Parsed pa = parse(answer[0]);
    EXPECT_EQ(pa.h.src_inc, 20u);
    EXPECT_EQ(pa.h.dst_inc, 10u);
    EXPECT_EQ(pa.h.count, 0u);
    EXPECT_EQ(rx(a.get(), answer[0], 0, &ga), 0);
    EXPECT_EQ(cv_chan_peer_incarnation(a.get()), 20u);
    auto data = poll_all(a.get(), 0);
    ASSERT_EQ(data.size(), 1u);
    Parsed pd = parse(data[0]);
    EXPECT_EQ(pd.h.dst_inc, 20u);
    EXPECT_EQ(pd.h.seq, 1u);
    EXPECT_EQ(pd.msgs, (Msgs{"m1", "m2"}));
    EXPECT_EQ(rx(b.get(), data[0], 0, &gb), 0);
    EXPECT_EQ(gb, (Msgs{"m1", "m2"}));
    EXPECT_EQ(settle(a.get(), ga, b.get(), gb, 0), 1); // the ack after ack_delay
    EXPECT_EQ(cv_chan_next_due(a.get()), INT64_MAX);
    EXPECT_EQ(cv_chan_next_due(b.get()), INT64_MAX);
}

TEST(ChanHandshake, BothEndsStartingAtOnceExchangeBothWays)
{
    Chan a = make(1), b = make(2);
    Msgs ga, gb;
    for (int i = 0; i < 10; i++) {
        ASSERT_EQ(send_str(a.get(), "a" + std::to_string(i)), 0);
        ASSERT_EQ(send_str(b.get(), "b" + std::to_string(i)), 0);
    }
    settle(a.get(), ga, b.get(), gb, 0);
    ASSERT_EQ(ga.size(), 10u);
    ASSERT_EQ(gb.size(), 10u);
    for (int i = 0; i < 10; i++) {
        EXPECT_EQ(gb[i], "a" + std::to_string(i));
        EXPECT_EQ(ga[i], "b" + std::to_string(i));
    }
    struct cv_chan_stats st;
    cv_chan_stats(a.get(), &st);
    EXPECT_EQ(st.resets, 0u);
    EXPECT_EQ(st.msgs_tx, 10u);
    EXPECT_EQ(st.msgs_rx, 10u);
}

// ---- batching and acks ----

TEST(ChanBatching, ManySmallMessagesShareADatagram)
{
    Pair p;
    for (int i = 0; i < 100; i++)
        ASSERT_EQ(send_str(p.a.get(), std::string(10, char('0' + i % 10))), 0);
    auto ds = poll_all(p.a.get(), p.now);
    ASSERT_EQ(ds.size(), 2u);
    Parsed p0 = parse(ds[0]), p1 = parse(ds[1]);
    size_t fit = (1400 - 44) / 14; // 96
    EXPECT_EQ(p0.h.count, fit);
    EXPECT_EQ(p0.h.seq, 2u); // seq 1 was the Pair's hello-a
    EXPECT_EQ(p1.h.count, 100 - fit);
    EXPECT_EQ(p1.h.seq, 2 + fit);
    for (auto &d : ds)
        ASSERT_EQ(rx(p.b.get(), d, p.now, &p.gb), 0);
    ASSERT_EQ(p.gb.size(), 100u);
    for (int i = 0; i < 100; i++)
        EXPECT_EQ(p.gb[i], std::string(10, char('0' + i % 10)));
}

TEST(ChanAcks, PureAckIsSentAckDelayAfterData)
{
    cv_chan_config cfg = defaults();
    cfg.ack_delay_ms = 3;
    Pair p(cfg);
    int64_t t = 1000;
    ASSERT_EQ(send_str(p.a.get(), "x"), 0);
    auto ds = poll_all(p.a.get(), t);
    ASSERT_EQ(ds.size(), 1u);
    EXPECT_EQ(cv_chan_next_due(p.a.get()), t + 5); // the RTO
    ASSERT_EQ(rx(p.b.get(), ds[0], t, &p.gb), 0);
    EXPECT_EQ(cv_chan_next_due(p.b.get()), t + 3);
    EXPECT_TRUE(poll1(p.b.get(), t + 2).empty());
    // More data before the ack is due does not postpone it.
    ASSERT_EQ(send_str(p.a.get(), "y"), 0);
    auto d2 = poll_all(p.a.get(), t + 2);
    ASSERT_EQ(rx(p.b.get(), d2[0], t + 2, &p.gb), 0);
    EXPECT_EQ(cv_chan_next_due(p.b.get()), t + 3);
    auto acks = poll_all(p.b.get(), t + 3);
    ASSERT_EQ(acks.size(), 1u);
    Parsed pa = parse(acks[0]);
    EXPECT_EQ(pa.h.count, 0u);
    EXPECT_EQ(pa.h.dst_inc, 100u);
    EXPECT_EQ(pa.h.ack, 4u); // hello-a, x, y received
    EXPECT_EQ(cv_chan_next_due(p.b.get()), INT64_MAX);
    ASSERT_EQ(rx(p.a.get(), acks[0], t + 3, &p.ga), 0);
    EXPECT_EQ(cv_chan_next_due(p.a.get()), INT64_MAX); // nothing in flight
    EXPECT_EQ(p.gb, (Msgs{"x", "y"}));
}

TEST(ChanAcks, ZeroAckDelayAcksAtOnce)
{
    cv_chan_config cfg = defaults();
    cfg.ack_delay_ms = 0;
    Pair p(cfg);
    ASSERT_EQ(send_str(p.a.get(), "x"), 0);
    auto ds = poll_all(p.a.get(), 50);
    ASSERT_EQ(rx(p.b.get(), ds[0], 50, &p.gb), 0);
    EXPECT_EQ(cv_chan_next_due(p.b.get()), 50);
    EXPECT_EQ(poll_all(p.b.get(), 50).size(), 1u);
}

TEST(ChanAcks, AckRidesOnDataInsteadOfAPureAck)
{
    Pair p;
    int64_t t = 500;
    ASSERT_EQ(send_str(p.a.get(), "ping"), 0);
    auto ds = poll_all(p.a.get(), t);
    ASSERT_EQ(rx(p.b.get(), ds[0], t, &p.gb), 0);
    ASSERT_EQ(send_str(p.b.get(), "pong"), 0);
    auto back = poll_all(p.b.get(), t);
    ASSERT_EQ(back.size(), 1u);
    Parsed pb = parse(back[0]);
    EXPECT_EQ(pb.msgs, Msgs{"pong"});
    EXPECT_EQ(pb.h.ack, 3u);
    EXPECT_EQ(cv_chan_next_due(p.b.get()), t + 5); // only its own RTO: no ack owed
    ASSERT_EQ(rx(p.a.get(), back[0], t, &p.ga), 0);
    EXPECT_EQ(p.ga, Msgs{"pong"});
    EXPECT_EQ(cv_chan_next_due(p.a.get()), t + 1); // now a owes b an ack
}

TEST(ChanAcks, DuplicateDataIsAckedAgainButDeliveredOnce)
{
    Pair p;
    ASSERT_EQ(send_str(p.a.get(), "once"), 0);
    auto ds = poll_all(p.a.get(), 10);
    for (int i = 0; i < 3; i++) {
        ASSERT_EQ(rx(p.b.get(), ds[0], 10 + 2 * i, &p.gb), 0);
        auto acks = poll_all(p.b.get(), 11 + 2 * i);
        EXPECT_EQ(acks.size(), 1u) << i;
    }
    EXPECT_EQ(p.gb, Msgs{"once"});
    struct cv_chan_stats st;
    cv_chan_stats(p.b.get(), &st);
    EXPECT_EQ(st.dups_dropped, 2u);
}

// ---- retransmission ----

TEST(ChanRetransmit, RtoDoublesUpToMaxAndResetsOnProgress)
{
    Pair p;
    int64_t t0 = 1000;
    ASSERT_EQ(send_str(p.a.get(), "lost"), 0);
    ASSERT_EQ(poll_all(p.a.get(), t0).size(), 1u); // dropped
    std::vector<int64_t> times;
    Dgram last;
    int64_t now = t0;
    for (int i = 0; i < 9; i++) {
        int64_t due = cv_chan_next_due(p.a.get());
        EXPECT_TRUE(poll1(p.a.get(), due - 1).empty());
        now = due;
        auto ds = poll_all(p.a.get(), now);
        ASSERT_EQ(ds.size(), 1u);
        EXPECT_EQ(parse(ds[0]).msgs, Msgs{"lost"});
        times.push_back(now - t0);
        last = ds[0];
    }
    EXPECT_EQ(times, (std::vector<int64_t>{5, 15, 35, 75, 155, 315, 515, 715, 915}));
    struct cv_chan_stats st;
    cv_chan_stats(p.a.get(), &st);
    EXPECT_EQ(st.retransmits, 9u);
    // Progress: the RTO is back to rto_min for the next message.
    ASSERT_EQ(rx(p.b.get(), last, now, &p.gb), 0);
    now = settle(p.a.get(), p.ga, p.b.get(), p.gb, now);
    EXPECT_EQ(p.gb, Msgs{"lost"});
    ASSERT_EQ(send_str(p.a.get(), "next"), 0);
    ASSERT_EQ(poll_all(p.a.get(), now).size(), 1u);
    EXPECT_EQ(cv_chan_next_due(p.a.get()), now + 5);
}

// Three datagrams, the second lost; returns them.
std::vector<Dgram> three(Pair &p, int64_t t)
{
    std::vector<Dgram> ds;
    for (const char *m : {"one", "two", "three"}) {
        EXPECT_EQ(send_str(p.a.get(), m), 0);
        auto d = poll_all(p.a.get(), t);
        EXPECT_EQ(d.size(), 1u);
        ds.push_back(d[0]);
    }
    return ds;
}

TEST(ChanRetransmit, GoBackNResendsFromTheOldestUnacked)
{
    cv_chan_config cfg = defaults();
    cfg.recv_window = 0;
    Pair p(cfg);
    auto ds = three(p, 100);
    EXPECT_EQ(rx(p.b.get(), ds[0], 100, &p.gb), 0);
    EXPECT_EQ(rx(p.b.get(), ds[2], 100, &p.gb), 0); // out of order: dropped
    EXPECT_EQ(p.gb, Msgs{"one"});
    auto ack = poll_all(p.b.get(), 101);
    ASSERT_EQ(ack.size(), 1u);
    EXPECT_EQ(parse(ack[0]).h.ack, 3u);
    ASSERT_EQ(rx(p.a.get(), ack[0], 101, &p.ga), 0);
    EXPECT_EQ(cv_chan_next_due(p.a.get()), 106); // restarted on progress
    auto re = poll_all(p.a.get(), 106);
    ASSERT_EQ(re.size(), 1u);
    Parsed pr = parse(re[0]);
    EXPECT_EQ(pr.h.seq, 3u);
    EXPECT_EQ(pr.msgs, (Msgs{"two", "three"})); // batched on retransmission
    ASSERT_EQ(rx(p.b.get(), re[0], 106, &p.gb), 0);
    EXPECT_EQ(p.gb, (Msgs{"one", "two", "three"}));
}

TEST(ChanRetransmit, ReceiveWindowHoldsOutOfOrderDatagramsUntilTheGapFills)
{
    Pair p; // recv_window 64
    auto ds = three(p, 100);
    EXPECT_EQ(rx(p.b.get(), ds[2], 100, &p.gb), 0);
    EXPECT_EQ(rx(p.b.get(), ds[2], 100, &p.gb), 0); // a duplicate of a held datagram
    EXPECT_TRUE(p.gb.empty());
    EXPECT_EQ(rx(p.b.get(), ds[0], 100, &p.gb), 0);
    EXPECT_EQ(p.gb, Msgs{"one"});
    EXPECT_EQ(rx(p.b.get(), ds[1], 101, &p.gb), 0);
    EXPECT_EQ(p.gb, (Msgs{"one", "two", "three"}));
    auto ack = poll_all(p.b.get(), 101);
    ASSERT_EQ(ack.size(), 1u);
    EXPECT_EQ(parse(ack[0]).h.ack, 5u);
    ASSERT_EQ(rx(p.a.get(), ack[0], 101, &p.ga), 0);
    EXPECT_EQ(cv_chan_next_due(p.a.get()), INT64_MAX); // no retransmission needed
    struct cv_chan_stats st;
    cv_chan_stats(p.a.get(), &st);
    EXPECT_EQ(st.retransmits, 0u);
}

TEST(ChanRetransmit, FullReceiveWindowKeepsTheDatagramsNearestTheGap)
{
    cv_chan_config cfg = defaults();
    cfg.recv_window = 2;
    Pair p(cfg);
    std::vector<Dgram> ds;
    for (int i = 0; i < 5; i++) {
        ASSERT_EQ(send_str(p.a.get(), "m" + std::to_string(i)), 0);
        ds.push_back(poll_all(p.a.get(), 10)[0]);
    }
    // m0 is lost; m4, m3, m2 arrive: the window keeps m2 and m3.
    for (int i : {4, 3, 2})
        ASSERT_EQ(rx(p.b.get(), ds[i], 10, &p.gb), 0);
    ASSERT_EQ(rx(p.b.get(), ds[0], 10, &p.gb), 0);
    EXPECT_EQ(p.gb, (Msgs{"m0"}));
    ASSERT_EQ(rx(p.b.get(), ds[1], 10, &p.gb), 0);
    EXPECT_EQ(p.gb, (Msgs{"m0", "m1", "m2", "m3"}));
    settle(p.a.get(), p.ga, p.b.get(), p.gb, 10);
    EXPECT_EQ(p.gb, (Msgs{"m0", "m1", "m2", "m3", "m4"}));
}

TEST(ChanRetransmit, HeldDatagramsDrainTogetherWhateverTheirArrivalOrder)
{
    cv_chan_config cfg = defaults();
    cfg.recv_window = 4;
    Pair p(cfg);
    std::vector<Dgram> ds;
    for (int i = 0; i < 5; i++) {
        ASSERT_EQ(send_str(p.a.get(), "m" + std::to_string(i)), 0);
        ds.push_back(poll_all(p.a.get(), 10)[0]);
    }
    for (int i : {4, 3, 2, 1}) // held in slots in descending order
        ASSERT_EQ(rx(p.b.get(), ds[i], 10, &p.gb), 0);
    EXPECT_TRUE(p.gb.empty());
    ASSERT_EQ(rx(p.b.get(), ds[0], 10, &p.gb), 0);
    EXPECT_EQ(p.gb, (Msgs{"m0", "m1", "m2", "m3", "m4"}));
    auto ack = poll_all(p.b.get(), 11);
    ASSERT_EQ(ack.size(), 1u);
    EXPECT_EQ(parse(ack[0]).h.ack, 7u);
}

TEST(ChanRetransmit, SendWindowLimitsBytesInFlight)
{
    cv_chan_config cfg = defaults();
    cfg.send_window = 3000;
    Pair p(cfg);
    std::string m(1000, 'w');
    for (int i = 0; i < 10; i++)
        ASSERT_EQ(send_str(p.a.get(), m), 0);
    auto ds = poll_all(p.a.get(), 10);
    size_t n = 0;
    for (auto &d : ds)
        n += parse(d).h.count;
    EXPECT_EQ(n, 2u);                           // 2 x 1004 in flight; a third would exceed 3000
    EXPECT_EQ(cv_chan_next_due(p.a.get()), 15); // waits for acks (or the RTO)
    for (auto &d : ds)
        ASSERT_EQ(rx(p.b.get(), d, 10, &p.gb), 0);
    settle(p.a.get(), p.ga, p.b.get(), p.gb, 10);
    EXPECT_EQ(p.gb.size(), 10u);
    struct cv_chan_stats st;
    cv_chan_stats(p.a.get(), &st);
    EXPECT_EQ(st.retransmits, 0u);
}

TEST(ChanRetransmit, AckBeyondAnythingSentIsIgnored)
{
    Pair p;
    ASSERT_EQ(send_str(p.a.get(), "x"), 0);
    ASSERT_EQ(poll_all(p.a.get(), 10).size(), 1u);
    Hdr h;
    h.src = 200;
    h.dst = 100;
    h.seq = 2;
    h.ack = 99; // a has sent up to seq 2
    EXPECT_EQ(rx(p.a.get(), encode(h, {}), 10, &p.ga), 0);
    EXPECT_EQ(cv_chan_next_due(p.a.get()), 15); // still unacked
}

// ---- next_due ----

TEST(ChanNextDue, IsExactlyWhenPollHasSomethingToSend)
{
    // Drive one end through data, loss, acks and retransmissions polling at every millisecond:
    // poll returns something exactly when next_due <= now.
    Pair p;
    int64_t now = p.now;
    int sent = 0;
    for (int64_t t = p.now; t < p.now + 5000; t++) {
        now = t;
        if ((t - p.now) % 37 == 0 && sent < 40) {
            ASSERT_EQ(send_str(p.a.get(), "m" + std::to_string(sent++)), 0);
        }
        for (int guard = 0;; guard++) {
            ASSERT_LT(guard, 1000);
            int64_t due = cv_chan_next_due(p.a.get());
            Dgram d = poll1(p.a.get(), now);
            ASSERT_EQ(!d.empty(), due <= now) << "t=" << t;
            if (d.empty())
                break;
            if (mix(2 * t) % 3 != 0) // lose a third
                rx(p.b.get(), d, now, &p.gb);
        }
        for (int guard = 0;; guard++) {
            ASSERT_LT(guard, 1000);
            int64_t due = cv_chan_next_due(p.b.get());
            Dgram d = poll1(p.b.get(), now);
            ASSERT_EQ(!d.empty(), due <= now) << "t=" << t;
            if (d.empty())
                break;
            if (mix(2 * t + 1) % 5 != 0) // and a fifth of the answers
                rx(p.a.get(), d, now, &p.ga);
        }
    }
    EXPECT_EQ(p.gb.size(), 40u);
    EXPECT_EQ(cv_chan_next_due(p.a.get()), INT64_MAX);
    EXPECT_EQ(cv_chan_next_due(p.b.get()), INT64_MAX);
}

// ---- malformed input ----

TEST(ChanDecode, AcceptsWellFormedDatagrams)
{
    Parsed p = parse(encode(Hdr{}, {"a", "", std::string(300, 'z')}));
    ASSERT_EQ(p.rc, 0);
    EXPECT_EQ(p.h.count, 3u);
    EXPECT_EQ(p.msgs, (Msgs{"a", "", std::string(300, 'z')}));
    Hdr hello;
    hello.dst = 0;
    hello.seq = 0;
    hello.ack = 0;
    EXPECT_EQ(parse(encode(hello, {})).rc, 0);
    Hdr top;
    top.seq = UINT64_MAX - 2;
    EXPECT_EQ(parse(encode(top, {"a", "b"})).rc, 0);
    EXPECT_EQ(cv_chan_parse(encode(Hdr{}, {"q"}).data(), 49, nullptr, nullptr), 0);
}

TEST(ChanDecode, RejectsStructuralErrorsBehindAValidCrc)
{
    std::vector<std::pair<const char *, Dgram>> bad;
    auto with = [&](const char *what, std::function<void(Hdr &)> f, Msgs msgs = {"ab", "c"}) {
        Hdr h;
        f(h);
        bad.emplace_back(what, encode(h, msgs));
    };
    with("magic", [](Hdr &h) { h.magic ^= 1; });
    with("version", [](Hdr &h) { h.version = 2; });
    with("flags", [](Hdr &h) { h.flags = 0x80; });
    with("src 0", [](Hdr &h) { h.src = 0; });
    with("data to dst 0", [](Hdr &h) { h.dst = 0; });
    with("data at seq 0", [](Hdr &h) { h.seq = 0; });
    with("seq overflow", [](Hdr &h) { h.seq = UINT64_MAX - 1; });
    with("count too high", [](Hdr &h) { h.count = 3; });
    with("count too low", [](Hdr &h) { h.count = 1; });
    with("count 0 with bytes", [](Hdr &h) { h.count = 0; });
    with("count max", [](Hdr &h) { h.count = 65535; });
    {
        Dgram d = encode(Hdr{}, {"abc"}, false);
        d[CV_CHAN_HDR_SIZE + 3] = 4; // length 4, 3 bytes there
        be(d, cv_crc32c(d.data(), d.size()), 4);
        bad.emplace_back("length past the end", d);
        d = encode(Hdr{}, {"abc"}, false);
        d[CV_CHAN_HDR_SIZE] = 0xff; // length 0xff000003
        be(d, cv_crc32c(d.data(), d.size()), 4);
        bad.emplace_back("huge length", d);
        d = encode(Hdr{}, {"abc"}, false);
        d.push_back(0);
        be(d, cv_crc32c(d.data(), d.size()), 4);
        bad.emplace_back("trailing byte", d);
        d = encode(Hdr{}, {"abc"}, false);
        d.resize(CV_CHAN_HDR_SIZE + 2); // half a length prefix
        d[6] = 0;
        d[7] = 1;
        be(d, cv_crc32c(d.data(), d.size()), 4);
        bad.emplace_back("cut length prefix", d);
        d.assign(CV_CHAN_HDR_SIZE - 1, 0);
        be(d, cv_crc32c(d.data(), d.size()), 4);
        bad.emplace_back("short header", d);
    }
    for (auto &[what, d] : bad) {
        cv_chan_hdr h;
        cv_chan_iter it;
        EXPECT_EQ(cv_chan_parse(d.data(), d.size(), &h, &it), -EBADMSG) << what;
    }
    EXPECT_EQ(cv_chan_parse(nullptr, 0, nullptr, nullptr), -EBADMSG);
}

TEST(ChanDecode, EverySingleByteCorruptionAndEveryTruncationIsRejected)
{
    Pair p;
    ASSERT_EQ(send_str(p.a.get(), "first"), 0);
    ASSERT_EQ(send_str(p.a.get(), std::string(200, 's')), 0);
    ASSERT_EQ(send_str(p.a.get(), ""), 0);
    auto ds = poll_all(p.a.get(), 10);
    ASSERT_EQ(ds.size(), 1u);
    const Dgram good = ds[0];
    struct cv_chan_stats before;
    cv_chan_stats(p.b.get(), &before);
    int64_t due = cv_chan_next_due(p.b.get());
    uint64_t rejected = 0;
    for (size_t i = 0; i < good.size(); i++) {
        for (int x = 1; x < 256; x++) {
            Dgram d = good;
            d[i] ^= static_cast<uint8_t>(x);
            ASSERT_EQ(rx(p.b.get(), d, 10, &p.gb), -EBADMSG) << "byte " << i << " ^ " << x;
            rejected++;
        }
    }
    for (size_t n = 0; n < good.size(); n++) {
        ASSERT_EQ(cv_chan_recv(p.b.get(), good.data(), n, 10, on_msg, &p.gb), -EBADMSG) << n;
        rejected++;
    }
    EXPECT_TRUE(p.gb.empty());
    EXPECT_EQ(cv_chan_next_due(p.b.get()), due); // no state change
    struct cv_chan_stats after;
    cv_chan_stats(p.b.get(), &after);
    EXPECT_EQ(after.bad_dropped - before.bad_dropped, rejected);
    EXPECT_EQ(after.dgrams_rx, before.dgrams_rx);
    ASSERT_EQ(rx(p.b.get(), good, 10, &p.gb), 0);
    EXPECT_EQ(p.gb, (Msgs{"first", std::string(200, 's'), ""}));
}

// ---- restarts ----

TEST(ChanRestart, PeerRestartIsReportedOnceAndTheNewStreamIsDelivered)
{
    Pair p;
    int64_t now = 100;
    // b has messages on the way to a that will never arrive, and a has some for old b.
    ASSERT_EQ(send_str(p.b.get(), "old-1"), 0);
    ASSERT_EQ(send_str(p.b.get(), "old-2"), 0);
    auto stale = poll_all(p.b.get(), now);
    ASSERT_EQ(stale.size(), 1u);
    ASSERT_EQ(send_str(p.a.get(), "for-old-b"), 0);
    poll_all(p.a.get(), now); // lost
    ASSERT_EQ(send_str(p.a.get(), "queued-for-old-b"), 0);

    // b restarts with a new incarnation and a new stream.
    p.b = make(201);
    ASSERT_EQ(send_str(p.b.get(), "new-1"), 0);
    ASSERT_EQ(send_str(p.b.get(), "new-2"), 0);
    auto hello = poll_all(p.b.get(), now);
    ASSERT_EQ(hello.size(), 1u);
    EXPECT_EQ(rx(p.a.get(), hello[0], now, &p.ga), CV_CHAN_RESET);
    EXPECT_EQ(cv_chan_peer_incarnation(p.a.get()), 201u);
    struct cv_chan_stats st;
    cv_chan_stats(p.a.get(), &st);
    EXPECT_EQ(st.resets, 1u);
    // The late datagram of the old incarnation is ignored.
    EXPECT_EQ(rx(p.a.get(), stale[0], now, &p.ga), 0);
    EXPECT_TRUE(p.ga.empty());
    Msgs gb;
    for (int guard = 0;; guard++) {
        ASSERT_LT(guard, 1000) << "does not quiesce";
        pump(p.a.get(), p.ga, p.b.get(), gb, now);
        int64_t t = std::min(cv_chan_next_due(p.a.get()), cv_chan_next_due(p.b.get()));
        if (t == INT64_MAX)
            break;
        now = t;
        EXPECT_EQ(rx(p.a.get(), stale[0], now, &p.ga), 0); // again, at any time
    }
    EXPECT_EQ(p.ga, (Msgs{"new-1", "new-2"}));
    EXPECT_TRUE(gb.empty()); // nothing of a's old stream reached the new b
    cv_chan_stats(p.a.get(), &st);
    EXPECT_EQ(st.resets, 1u);
    EXPECT_GE(st.stale_dropped, 2u);
    // The new pair works both ways, from seq 1.
    ASSERT_EQ(send_str(p.a.get(), "to-new-b"), 0);
    auto d = poll_all(p.a.get(), now);
    ASSERT_EQ(d.size(), 1u);
    EXPECT_EQ(parse(d[0]).h.seq, 1u);
    EXPECT_EQ(parse(d[0]).h.dst_inc, 201u);
    ASSERT_EQ(rx(p.b.get(), d[0], now, &gb), 0);
    EXPECT_EQ(gb, Msgs{"to-new-b"});
}

TEST(ChanRestart, LocalResetIsReportedAtThePeerAndTheDatagramCanBePassedAgain)
{
    Pair p;
    ASSERT_EQ(send_str(p.a.get(), "unacked"), 0);
    auto old = poll_all(p.a.get(), 10);
    ASSERT_EQ(cv_chan_reset(p.a.get(), 150), 0);
    EXPECT_EQ(cv_chan_incarnation(p.a.get()), 150u);
    EXPECT_EQ(cv_chan_peer_incarnation(p.a.get()), 200u); // no new handshake
    EXPECT_EQ(cv_chan_next_due(p.a.get()), INT64_MAX);    // the unacked message is gone
    ASSERT_EQ(send_str(p.a.get(), "fresh"), 0);
    auto d = poll_all(p.a.get(), 10);
    ASSERT_EQ(d.size(), 1u);
    Parsed pd = parse(d[0]);
    EXPECT_EQ(pd.h.src_inc, 150u);
    EXPECT_EQ(pd.h.dst_inc, 200u);
    EXPECT_EQ(pd.h.seq, 1u);
    EXPECT_EQ(rx(p.b.get(), d[0], 10, &p.gb), CV_CHAN_RESET);
    EXPECT_TRUE(p.gb.empty()); // nothing delivered with the reset
    EXPECT_EQ(rx(p.b.get(), d[0], 10, &p.gb), 0);
    EXPECT_EQ(p.gb, Msgs{"fresh"});
    EXPECT_EQ(rx(p.b.get(), old[0], 10, &p.gb), 0); // stale
    EXPECT_EQ(p.gb, Msgs{"fresh"});
    struct cv_chan_stats st;
    cv_chan_stats(p.a.get(), &st);
    EXPECT_EQ(st.local_resets, 1u);
    cv_chan_stats(p.b.get(), &st);
    EXPECT_EQ(st.resets, 1u);
}

TEST(ChanRestart, DatagramForAnOlderIncarnationOfThisEndIsIgnoredAndAnswered)
{
    Pair p;
    ASSERT_EQ(cv_chan_reset(p.a.get(), 300), 0); // b does not know yet
    ASSERT_EQ(send_str(p.b.get(), "to-old-a"), 0);
    auto d = poll_all(p.b.get(), 20);
    ASSERT_EQ(d.size(), 1u);
    EXPECT_EQ(parse(d[0]).h.dst_inc, 100u);
    EXPECT_EQ(rx(p.a.get(), d[0], 20, &p.ga), 0);
    EXPECT_TRUE(p.ga.empty());
    EXPECT_LE(cv_chan_next_due(p.a.get()), 20); // tells b who it is, at once
    auto answer = poll_all(p.a.get(), 20);
    ASSERT_EQ(answer.size(), 1u);
    Parsed pa = parse(answer[0]);
    EXPECT_EQ(pa.h.src_inc, 300u);
    EXPECT_EQ(pa.h.dst_inc, 200u);
    EXPECT_EQ(pa.h.count, 0u);
    EXPECT_EQ(rx(p.b.get(), answer[0], 20, &p.gb), CV_CHAN_RESET);
    EXPECT_EQ(cv_chan_next_due(p.b.get()), 20); // b answers so a knows b is in step
    settle(p.a.get(), p.ga, p.b.get(), p.gb, 20);
    EXPECT_TRUE(p.ga.empty()); // b's message to the old a was dropped with the reset
}

TEST(ChanRestart, NewEndDoesNotAdoptAPeerFromADatagramAddressedToSomeoneElse)
{
    // A late datagram of old a (inc 100) to old b (inc 200) reaches a new b (inc 201): the new
    // b must not start a stream to the dead a.
    Pair p;
    ASSERT_EQ(send_str(p.a.get(), "late"), 0);
    auto late = poll_all(p.a.get(), 10);
    Chan b2 = make(201);
    Msgs g2;
    EXPECT_EQ(rx(b2.get(), late[0], 10, &g2), 0);
    EXPECT_TRUE(g2.empty());
    EXPECT_EQ(cv_chan_peer_incarnation(b2.get()), 0u);
    auto answer = poll_all(b2.get(), 10);
    ASSERT_EQ(answer.size(), 1u);
    EXPECT_EQ(parse(answer[0]).h.dst_inc, 0u); // a hello
    // The live a (same incarnation here) hears it and resets its pair with old b.
    EXPECT_EQ(rx(p.a.get(), answer[0], 10, &p.ga), CV_CHAN_RESET);
    settle(p.a.get(), p.ga, b2.get(), g2, 10);
    EXPECT_EQ(cv_chan_peer_incarnation(b2.get()), 100u);
    EXPECT_TRUE(g2.empty());
}

TEST(ChanRestart, ResetNeedsAGreaterIncarnation)
{
    Pair p;
    ASSERT_EQ(send_str(p.a.get(), "kept"), 0);
    EXPECT_EQ(cv_chan_reset(p.a.get(), 100), -EINVAL);
    EXPECT_EQ(cv_chan_reset(p.a.get(), 99), -EINVAL);
    EXPECT_EQ(cv_chan_incarnation(p.a.get()), 100u);
    settle(p.a.get(), p.ga, p.b.get(), p.gb, 0);
    EXPECT_EQ(p.gb, Msgs{"kept"});
}

TEST(ChanRestart, BothEndsRestartingFindEachOtherAgain)
{
    Pair p;
    p.a = make(101);
    p.b = make(201);
    ASSERT_EQ(send_str(p.a.get(), "a"), 0);
    ASSERT_EQ(send_str(p.b.get(), "b"), 0);
    settle(p.a.get(), p.ga, p.b.get(), p.gb, 0);
    EXPECT_EQ(p.ga, Msgs{"b"});
    EXPECT_EQ(p.gb, Msgs{"a"});
}

// ---- simulated lossy network ----

struct Rng {
    uint64_t s;
    uint64_t next() { return mix(s++); }
    uint64_t below(uint64_t n) { return next() % n; }
    bool pct(int p) { return below(100) < static_cast<uint64_t>(p); }
};

struct SimOpts {
    uint64_t seed = 1;
    size_t min_size = 1, max_size = 64;
    int msgs_per_end = 200;
    int burst_max = 20;
    int64_t send_gap_max = 4;
    int loss_pct = 20, dup_pct = 10, corrupt_pct = 5;
    int64_t delay_max = 3;
    int late_pct = 2;
    int64_t late_max = 300;
    bool restarts = false;
    int max_restarts = 4;
    int restart_pct = 2; // per send event, while restarts remain
    cv_chan_config cfg = defaults();
};

struct Flight {
    int64_t at;
    uint64_t order;
    int to;
    bool corrupted;
    Dgram d;
    bool operator>(const Flight &o) const { return at != o.at ? at > o.at : order > o.order; }
};

class Sim
{
  public:
    explicit Sim(const SimOpts &o) : o_(o), rng_{mix(o.seed) ^ 0x5eed}
    {
        for (int i = 0; i < 2; i++) {
            e_[i].inc = 1000 * (i + 1);
            e_[i].c = make(e_[i].inc, o_.cfg);
            e_[i].next_send_at = static_cast<int64_t>(rng_.below(5));
        }
    }

    void run()
    {
        int same_time = 0;
        for (;;) {
            int64_t t = INT64_MAX;
            for (auto &e : e_) {
                t = std::min(t, cv_chan_next_due(e.c.get()));
                if (e.sent_total < o_.msgs_per_end)
                    t = std::min(t, e.next_send_at);
            }
            if (!flight_.empty())
                t = std::min(t, flight_.top().at);
            if (t == INT64_MAX)
                break;
            if (t > now_) {
                now_ = t;
                same_time = 0;
            } else if (++same_time > 100000) {
                ADD_FAILURE() << "seed " << o_.seed << ": no progress at t=" << now_;
                return;
            }
            if (now_ > 3600 * 1000) {
                ADD_FAILURE() << "seed " << o_.seed << ": not done after an hour";
                return;
            }
            while (!flight_.empty() && flight_.top().at <= now_) {
                Flight f = flight_.top();
                flight_.pop();
                arrive(f);
            }
            for (int i = 0; i < 2; i++)
                if (e_[i].sent_total < o_.msgs_per_end && e_[i].next_send_at <= now_)
                    send_burst(i);
            for (int i = 0; i < 2; i++)
                transmit(i);
            if (::testing::Test::HasFatalFailure())
                return;
        }
        check_done();
    }

    uint64_t transcript() const { return hash_; }
    int64_t now() const { return now_; }
    uint64_t restarts() const { return restarts_; }
    struct cv_chan_stats stats(int i) const
    {
        struct cv_chan_stats st;
        cv_chan_stats(e_[i].c.get(), &st);
        return st;
    }

  private:
    struct End {
        Chan c;
        uint64_t inc = 0;
        // as a sender
        uint64_t epoch = 0; // bumped whenever queued messages may have been dropped
        uint64_t sent_in_epoch = 0;
        int sent_total = 0;
        int64_t next_send_at = 0;
        // as a receiver of the other end's messages
        bool have_epoch = false;
        uint64_t last_epoch = 0, next_index = 0;
        bool reset_seen = true; // a reset happened since the last delivery
        uint64_t delivered = 0;
    };
    struct RxCtx {
        Sim *sim;
        int to;
    };

    void note(uint64_t v) { hash_ = mix(hash_ ^ v); }

    std::string gen(int from, uint64_t epoch, uint64_t k) const
    {
        uint64_t h = mix(o_.seed * 31 + from) ^ mix(epoch * 7919 + k);
        size_t len = o_.min_size + mix(h) % (o_.max_size - o_.min_size + 1);
        std::string m(len, '\0');
        for (size_t i = 0; i < len; i++)
            m[i] = static_cast<char>(mix(h + i / 8) >> (8 * (i % 8)));
        if (o_.restarts) { // restart runs carry (epoch, index) to identify the stream
            for (int i = 0; i < 8; i++) {
                m[i] = static_cast<char>(epoch >> (8 * i));
                m[8 + i] = static_cast<char>(k >> (8 * i));
            }
        }
        return m;
    }

    static void on_deliver(void *ctx, const uint8_t *m, size_t l)
    {
        auto *rc = static_cast<RxCtx *>(ctx);
        rc->sim->delivered(rc->to, std::string(reinterpret_cast<const char *>(m), l));
    }

    void delivered(int to, const std::string &m)
    {
        End &r = e_[to];
        int from = 1 - to;
        note(0xde11 + to);
        note(m.size());
        uint64_t epoch = 0, k = r.next_index;
        if (o_.restarts) {
            ASSERT_GE(m.size(), 16u);
            epoch = k = 0;
            for (int i = 7; i >= 0; i--) {
                epoch = epoch << 8 | static_cast<uint8_t>(m[i]);
                k = k << 8 | static_cast<uint8_t>(m[8 + i]);
            }
            if (r.have_epoch && epoch == r.last_epoch) {
                ASSERT_FALSE(r.reset_seen) << "seed " << o_.seed << ": old stream after reset";
                ASSERT_EQ(k, r.next_index) << "seed " << o_.seed << ": gap or duplicate";
            } else {
                ASSERT_TRUE(!r.have_epoch || epoch > r.last_epoch)
                    << "seed " << o_.seed << ": older stream came back";
                ASSERT_TRUE(r.reset_seen) << "seed " << o_.seed << ": new stream without reset";
                ASSERT_EQ(k, 0u) << "seed " << o_.seed << ": new stream does not start at 0";
                r.last_epoch = epoch;
            }
        }
        ASSERT_TRUE(m == gen(from, epoch, k))
            << "seed " << o_.seed << ": message " << k << " of epoch " << epoch << " damaged";
        r.have_epoch = true;
        r.next_index = k + 1;
        r.reset_seen = false;
        r.delivered++;
    }

    void arrive(const Flight &f)
    {
        End &r = e_[f.to];
        RxCtx ctx{this, f.to};
        int rc = cv_chan_recv(r.c.get(), f.d.data(), f.d.size(), now_, on_deliver, &ctx);
        note(static_cast<uint64_t>(rc + 7));
        if (f.corrupted) {
            ASSERT_EQ(rc, -EBADMSG) << "seed " << o_.seed << ": corrupted datagram accepted";
            return;
        }
        ASSERT_NE(rc, -EBADMSG) << "seed " << o_.seed;
        if (rc == CV_CHAN_RESET) {
            ASSERT_TRUE(o_.restarts) << "seed " << o_.seed << ": reset without restarts";
            r.reset_seen = true;
            r.epoch++; // our queued messages were dropped
            r.sent_in_epoch = 0;
            if (rng_.pct(50)) { // pass it again instead of waiting for the retransmission
                rc = cv_chan_recv(r.c.get(), f.d.data(), f.d.size(), now_, on_deliver, &ctx);
                ASSERT_EQ(rc, 0) << "seed " << o_.seed;
            }
        }
    }

    void restart(int i)
    {
        End &e = e_[i];
        e.inc += 1 + rng_.below(3);
        if (rng_.pct(50)) {
            e.c = make(e.inc, o_.cfg); // process restart: a new end
        } else {
            ASSERT_EQ(cv_chan_reset(e.c.get(), e.inc), 0);
        }
        e.epoch++;
        e.sent_in_epoch = 0;
        e.reset_seen = true;
        restarts_++;
        note(0x4e57 + i);
    }

    void send_burst(int i)
    {
        End &e = e_[i];
        if (o_.restarts && static_cast<int>(restarts_) < o_.max_restarts &&
            rng_.pct(o_.restart_pct)) {
            restart(static_cast<int>(rng_.below(2)));
        }
        int n = 1 + static_cast<int>(rng_.below(o_.burst_max));
        for (int j = 0; j < n && e.sent_total < o_.msgs_per_end; j++) {
            std::string m = gen(i, e.epoch, e.sent_in_epoch);
            int rc = cv_chan_send(e.c.get(), m.data(), m.size());
            if (rc == -ENOBUFS) {
                ASSERT_TRUE(o_.restarts) << "seed " << o_.seed << ": send buffer full";
                e.inc++; // the pair is broken: reset, and send into the new stream
                ASSERT_EQ(cv_chan_reset(e.c.get(), e.inc), 0);
                e.epoch++;
                e.sent_in_epoch = 0;
                e.reset_seen = true;
                m = gen(i, e.epoch, 0);
                rc = cv_chan_send(e.c.get(), m.data(), m.size());
            }
            ASSERT_EQ(rc, 0) << "seed " << o_.seed;
            e.sent_in_epoch++;
            e.sent_total++;
        }
        e.next_send_at = now_ + 1 + static_cast<int64_t>(rng_.below(o_.send_gap_max));
    }

    void transmit(int i)
    {
        End &e = e_[i];
        Dgram buf(o_.cfg.max_dgram);
        for (int guard = 0;; guard++) {
            ASSERT_LT(guard, 100000) << "seed " << o_.seed << ": poll_tx never runs dry";
            int64_t due = cv_chan_next_due(e.c.get());
            size_t n = cv_chan_poll_tx(e.c.get(), now_, buf.data(), buf.size());
            if (n == 0) {
                ASSERT_GT(due, now_) << "seed " << o_.seed << ": next_due says due, poll empty";
                return;
            }
            ASSERT_LE(due, now_) << "seed " << o_.seed << ": poll sent before next_due";
            ASSERT_LE(n, o_.cfg.max_dgram);
            ASSERT_EQ(cv_chan_parse(buf.data(), n, nullptr, nullptr), 0);
            note(now_);
            for (size_t j = 0; j < n; j++)
                note(buf[j]);
            if (rng_.pct(o_.loss_pct))
                continue;
            int copies = rng_.pct(o_.dup_pct) ? 2 : 1;
            for (int c = 0; c < copies; c++) {
                Flight f{now_, order_++, 1 - i, false, Dgram(buf.begin(), buf.begin() + n)};
                f.at += rng_.pct(o_.late_pct) ? static_cast<int64_t>(rng_.below(o_.late_max + 1))
                                              : static_cast<int64_t>(rng_.below(o_.delay_max + 1));
                if (rng_.pct(o_.corrupt_pct)) {
                    f.corrupted = true;
                    int bytes = 1 + static_cast<int>(rng_.below(3));
                    for (int b = 0; b < bytes; b++)
                        f.d[rng_.below(n)] ^= static_cast<uint8_t>(1 + rng_.below(255));
                    if (f.d == Dgram(buf.begin(), buf.begin() + n))
                        f.corrupted = false; // the changes cancelled out
                }
                flight_.push(std::move(f));
            }
        }
    }

    void check_done()
    {
        for (int i = 0; i < 2; i++) {
            const End &s = e_[i], &r = e_[1 - i];
            EXPECT_EQ(s.sent_total, o_.msgs_per_end);
            EXPECT_EQ(cv_chan_next_due(s.c.get()), INT64_MAX) << "seed " << o_.seed;
            if (!o_.restarts) {
                EXPECT_EQ(r.delivered, static_cast<uint64_t>(o_.msgs_per_end))
                    << "seed " << o_.seed << ": end " << i << " to " << 1 - i;
            } else if (s.sent_in_epoch > 0) {
                EXPECT_TRUE(r.have_epoch && r.last_epoch == s.epoch &&
                            r.next_index == s.sent_in_epoch)
                    << "seed " << o_.seed << ": the last stream of end " << i
                    << " was not delivered in full";
            }
        }
    }

    SimOpts o_;
    Rng rng_;
    End e_[2];
    std::priority_queue<Flight, std::vector<Flight>, std::greater<Flight>> flight_;
    int64_t now_ = 0;
    uint64_t order_ = 0;
    uint64_t hash_ = 0;
    uint64_t restarts_ = 0;
};

struct Sizes {
    const char *name;
    size_t min, max; // 0 for max: the largest message
};

void PrintTo(const Sizes &s, std::ostream *os)
{
    *os << s.name;
}

class ChanLossyNetwork : public ::testing::TestWithParam<Sizes>
{
};

TEST_P(ChanLossyNetwork, EveryMessageIsDeliveredOnceInOrderIntactForManySeeds)
{
    const Sizes sz = GetParam();
    uint64_t retransmits = 0, dups = 0, bad = 0, msgs = 0, dgrams = 0;
    for (uint64_t seed = 1; seed <= 300; seed++) {
        SimOpts o;
        o.seed = seed;
        size_t max = o.cfg.max_dgram - 48;
        o.min_size = sz.min == 0 ? max : sz.min;
        o.max_size = sz.max == 0 ? max : sz.max;
        Sim sim(o);
        sim.run();
        if (HasFailure())
            return;
        for (int i = 0; i < 2; i++) {
            struct cv_chan_stats st = sim.stats(i);
            retransmits += st.retransmits;
            dups += st.dups_dropped;
            bad += st.bad_dropped;
            msgs += st.msgs_tx;
            dgrams += st.dgrams_tx;
            EXPECT_EQ(st.resets, 0u);
        }
    }
    // The network really was hostile, and the runs really exercised the recovery paths.
    EXPECT_GT(retransmits, 1000u);
    EXPECT_GT(dups, 100u);
    EXPECT_GT(bad, 100u);
    if (sz.max <= 64 && sz.max != 0) {
        EXPECT_GT(msgs, dgrams) << "small messages are batched";
    }
}

INSTANTIATE_TEST_SUITE_P(Sizes, ChanLossyNetwork,
                         ::testing::Values(Sizes{"OneByte", 1, 1}, Sizes{"Small", 1, 64},
                                           Sizes{"Mixed", 1, 0}, Sizes{"NearMax", 1300, 0},
                                           Sizes{"Max", 0, 0}),
                         [](const ::testing::TestParamInfo<Sizes> &i) { return i.param.name; });

TEST(ChanSim, GoBackNWithoutReceiveWindowAlsoDeliversEverything)
{
    for (uint64_t seed = 1; seed <= 100 && !HasFailure(); seed++) {
        SimOpts o;
        o.seed = seed;
        o.cfg.recv_window = 0;
        o.max_size = 600;
        Sim sim(o);
        sim.run();
    }
}

TEST(ChanSim, SmallWindowsAndTinyDatagramsStillDeliverEverything)
{
    for (uint64_t seed = 1; seed <= 100 && !HasFailure(); seed++) {
        SimOpts o;
        o.seed = seed;
        o.cfg.max_dgram = CV_CHAN_MIN_DGRAM;
        o.cfg.recv_window = 1;
        o.cfg.send_window = 50;
        o.min_size = 0;
        o.max_size = CV_CHAN_MIN_DGRAM - 48;
        Sim sim(o);
        sim.run();
    }
}

TEST(ChanSim, RestartsAndResetsNeverMixStreamsAndTheLastStreamArrivesInFull)
{
    uint64_t restarts = 0, resets = 0;
    for (uint64_t seed = 1; seed <= 200 && !HasFailure(); seed++) {
        SimOpts o;
        o.seed = seed;
        o.restarts = true;
        o.min_size = 16;
        o.max_size = 400;
        o.msgs_per_end = 300;
        o.cfg.send_bytes = 16 << 10; // small: -ENOBUFS resets happen too
        o.late_pct = 5;
        o.restart_pct = 5;
        Sim sim(o);
        sim.run();
        restarts += sim.restarts();
        resets += sim.stats(0).resets + sim.stats(1).resets;
    }
    EXPECT_GT(restarts, 200u);
    EXPECT_GT(resets, 200u);
}

TEST(ChanSim, SameInputsGiveTheSameOutputs)
{
    auto run = [](uint64_t seed) {
        SimOpts o;
        o.seed = seed;
        o.restarts = true;
        o.min_size = 16;
        o.max_size = 300;
        Sim sim(o);
        sim.run();
        return std::make_pair(sim.transcript(), sim.now());
    };
    for (uint64_t seed : {3, 17, 99}) {
        auto a = run(seed), b = run(seed);
        EXPECT_EQ(a, b) << seed;
        EXPECT_NE(a.first, run(seed + 1000).first);
    }
}

} // namespace
