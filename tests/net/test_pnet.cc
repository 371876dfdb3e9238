// Tests of cv_pnet, the UDP peer transport of an ensemble member, over real
// kernel UDP sockets on loopback: delivery order, fragmentation of messages
// larger than a datagram, flow control of a burst far beyond the channel's
// send ring (a SNAP sync's shape), restarts seen as broken pairs, and the
// test-only drop filter. Every wait is bounded.
#include <gtest/gtest.h>

#include <netinet/in.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "cv_pnet.h"

namespace
{

int64_t now_ms()
{
    timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

// A free UDP port on 127.0.0.1 (bound, read, released).
uint16_t free_port()
{
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(fd, (sockaddr *)&a, sizeof a);
    socklen_t l = sizeof a;
    getsockname(fd, (sockaddr *)&a, &l);
    close(fd);
    return ntohs(a.sin_port);
}

struct Node {
    cv_pnet *n = nullptr;
    std::vector<std::string> got;
    std::vector<uint8_t> broken, unreachable;
    cv_pnet_cb cb{};
    ~Node() { cv_pnet_free(n); }
};

void deliver(void *ctx, uint8_t from, const uint8_t *m, size_t len)
{
    (void)from;
    static_cast<Node *>(ctx)->got.emplace_back((const char *)m, len);
}
void broken(void *ctx, uint8_t from)
{
    static_cast<Node *>(ctx)->broken.push_back(from);
}
void unreachable(void *ctx, uint8_t peer)
{
    static_cast<Node *>(ctx)->unreachable.push_back(peer);
}

struct Pair {
    uint16_t port[3];
    Node a, b; // ids 1 and 2
    std::string drop_file;
    explicit Pair(uint32_t send_bytes = 0, uint32_t max_dgram = 0)
    {
        port[1] = free_port();
        port[2] = free_port();
        char tmpl[] = "/tmp/cv_pnet_drop_XXXXXX";
        int fd = mkstemp(tmpl);
        close(fd);
        unlink(tmpl);
        drop_file = tmpl;
        open(a, 1, send_bytes, max_dgram);
        open(b, 2, send_bytes, max_dgram);
    }
    ~Pair() { unlink(drop_file.c_str()); }
    void open(Node &nd, uint8_t self, uint32_t send_bytes, uint32_t max_dgram)
    {
        cv_pnet_config c;
        cv_pnet_config_init(&c);
        c.self = self;
        c.npeers = 2;
        for (int i = 0; i < 2; i++) {
            c.peers[i].id = (uint8_t)(i + 1);
            snprintf(c.peers[i].host, sizeof c.peers[i].host, "127.0.0.1");
            c.peers[i].port = port[i + 1];
        }
        if (send_bytes)
            c.send_bytes = send_bytes;
        if (max_dgram)
            c.max_dgram = max_dgram;
        c.drop_file = drop_file.c_str();
        char err[256];
        ASSERT_EQ(cv_pnet_new(&nd.n, &c, err, sizeof err), 0) << err;
        nd.cb = {&nd, deliver, broken, unreachable};
    }
    void poll()
    {
        int64_t t = now_ms();
        cv_pnet_poll(a.n, t, &a.cb);
        cv_pnet_poll(b.n, t, &b.cb);
    }
    // Poll both ends until pred holds or limit_ms passes.
    template <class F> bool until(F pred, int64_t limit_ms = 5000)
    {
        int64_t end = now_ms() + limit_ms;
        while (now_ms() < end) {
            poll();
            if (pred())
                return true;
            usleep(100);
        }
        return false;
    }
};

std::string msg(size_t len, uint32_t seed)
{
    std::string s(len, '\0');
    for (size_t i = 0; i < len; i++)
        s[i] = (char)((seed * 2654435761u + i * 40503u) >> 11);
    return s;
}

} // namespace

TEST(Pnet, DeliversSmallMessagesInOrderBothWays)
{
    Pair p;
    for (uint32_t i = 0; i < 500; i++) {
        ASSERT_EQ(cv_pnet_send(p.a.n, 2, msg(10 + i % 50, i).data(), 10 + i % 50), 0);
        ASSERT_EQ(cv_pnet_send(p.b.n, 1, msg(7, i).data(), 7), 0);
    }
    ASSERT_TRUE(p.until([&] { return p.b.got.size() == 500 && p.a.got.size() == 500; }));
    for (uint32_t i = 0; i < 500; i++) {
        EXPECT_EQ(p.b.got[i], msg(10 + i % 50, i));
        EXPECT_EQ(p.a.got[i], msg(7, i));
    }
    EXPECT_TRUE(p.a.broken.empty());
}

TEST(Pnet, FragmentsAndReassemblesMessagesLargerThanADatagram)
{
    Pair p(0, 1400); // an Ethernet-sized datagram: a 1 MiB proposal is ~750 fragments
    std::vector<size_t> sizes = {0, 1, 1350, 1351, 4000, 1u << 20, 3u << 20};
    for (size_t i = 0; i < sizes.size(); i++)
        ASSERT_EQ(cv_pnet_send(p.a.n, 2, msg(sizes[i], (uint32_t)i).data(), sizes[i]), 0);
    ASSERT_TRUE(p.until([&] { return p.b.got.size() == sizes.size(); }, 20000));
    for (size_t i = 0; i < sizes.size(); i++)
        EXPECT_EQ(p.b.got[i], msg(sizes[i], (uint32_t)i)) << "message " << i;
    std::string big(5u << 20, 'x');
    EXPECT_EQ(cv_pnet_send(p.a.n, 2, big.data(), big.size()), -EMSGSIZE);
}

TEST(Pnet, ABurstBeyondTheSendRingWaitsForAcksInsteadOfBreakingThePair)
{
    Pair p(256u << 10); // 256 KiB ring; 32 MiB sent at once, as a SNAP sync does
    const size_t chunk = 64u << 10, n = 512;
    for (size_t i = 0; i < n; i++)
        ASSERT_EQ(cv_pnet_send(p.a.n, 2, msg(chunk, (uint32_t)i).data(), chunk), 0);
    ASSERT_TRUE(p.until([&] { return p.b.got.size() == n; }, 30000));
    for (size_t i = 0; i < n; i += 97)
        EXPECT_EQ(p.b.got[i], msg(chunk, (uint32_t)i));
    EXPECT_TRUE(p.a.broken.empty());
    EXPECT_TRUE(p.b.broken.empty());
    cv_pnet_stats st;
    cv_pnet_get_stats(p.a.n, &st);
    EXPECT_GT(st.overflow_peak, 16u << 20); // most of it waited outside the ring
}

TEST(Pnet, ARestartedPeerIsReportedAsABrokenPairAndTalksAgain)
{
    Pair p;
    ASSERT_EQ(cv_pnet_send(p.a.n, 2, "one", 3), 0);
    ASSERT_TRUE(p.until([&] { return p.b.got.size() == 1; }));
    cv_pnet_free(p.b.n); // b restarts: a new socket, a new incarnation
    p.b.n = nullptr;
    p.open(p.b, 2, 0, 0);
    ASSERT_EQ(cv_pnet_send(p.b.n, 1, "hello again", 11), 0);
    ASSERT_TRUE(p.until([&] { return !p.a.got.empty(); }));
    EXPECT_EQ(p.a.got.back(), "hello again");
    ASSERT_EQ(p.a.broken.size(), 1u);
    EXPECT_EQ(p.a.broken[0], 2);
}

TEST(Pnet, TheDropFileCutsThePeerOffUntilItIsRemoved)
{
    Pair p;
    FILE *f = fopen(p.drop_file.c_str(), "w");
    fprintf(f, "2\n");
    fclose(f);
    usleep(30000); // the filter is re-read every 20 ms
    ASSERT_EQ(cv_pnet_send(p.a.n, 2, "cut", 3), 0);
    EXPECT_FALSE(p.until([&] { return !p.b.got.empty(); }, 300));
    unlink(p.drop_file.c_str());
    ASSERT_TRUE(p.until([&] { return !p.b.got.empty(); }, 3000));
    EXPECT_EQ(p.b.got[0], "cut"); // retransmitted once the link is back
    cv_pnet_stats st;
    cv_pnet_get_stats(p.a.n, &st);
    EXPECT_GT(st.dropped_filter, 0u);
}

TEST(Pnet, DatagramsFromStrangersAreCountedAndIgnored)
{
    Pair p;
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    to.sin_port = htons(p.port[1]);
    for (int i = 0; i < 10; i++)
        sendto(fd, "garbage!", 8, 0, (sockaddr *)&to, sizeof to);
    close(fd);
    ASSERT_TRUE(p.until([&] {
        cv_pnet_stats st;
        cv_pnet_get_stats(p.a.n, &st);
        return st.dropped_unknown == 10;
    }));
    ASSERT_EQ(cv_pnet_send(p.a.n, 2, "fine", 4), 0);
    ASSERT_TRUE(p.until([&] { return p.b.got.size() == 1; }));
}

TEST(Pnet, APeerWhosePortIsClosedIsReportedUnreachableAtOnce)
{
    Pair p;
    ASSERT_EQ(cv_pnet_send(p.a.n, 2, "one", 3), 0);
    ASSERT_TRUE(p.until([&] { return p.b.got.size() == 1; }));
    cv_pnet_free(p.b.n); // b's process is gone: its port is closed
    p.b.n = nullptr;
    ASSERT_EQ(cv_pnet_send(p.a.n, 2, "anyone?", 7), 0);
    int64_t end = now_ms() + 3000;
    while (p.a.unreachable.empty() && now_ms() < end) {
        cv_pnet_poll(p.a.n, now_ms(), &p.a.cb);
        usleep(200);
    }
    ASSERT_FALSE(p.a.unreachable.empty());
    EXPECT_EQ(p.a.unreachable[0], 2);
    EXPECT_TRUE(p.a.broken.empty()); // the pair itself is the owner's to reset
}
