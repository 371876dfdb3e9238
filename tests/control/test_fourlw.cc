// cv_fourlw: every four-letter word rendered from a view holding the same
// logical state as the real ZooKeeper 3.8 recorded in fourlw_golden/ (see its
// README) must reproduce that server's bytes; where corvid differs on
// purpose (envi's java.* values) the keys, order and separators must match.
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "cv_fourlw.h"
#include "test_lines.h"

namespace
{

std::string golden(const std::string &name)
{
    std::ifstream f(std::string(CV_FOURLW_GOLDEN_DIR) + "/" + name, std::ios::binary);
    EXPECT_TRUE(f.good()) << name;
    std::stringstream ss;
    ss << f.rdbuf();
    return ss.str();
}

const char *kZkVersion = "3.8.0-${mvngit.commit.id}, built on 2024-12-29 17:54 UTC";
const int64_t kSessA = 0x100002815310000LL, kSessB = 0x100002815310001LL;

struct sockaddr_storage v4(const char *ip, uint16_t port)
{
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof ss);
    auto *in = reinterpret_cast<struct sockaddr_in *>(&ss);
    in->sin_family = AF_INET;
    in->sin_port = htons(port);
    inet_pton(AF_INET, ip, &in->sin_addr);
    return ss;
}

struct cv_fourlw_conn conn(uint16_t port, int ops, int64_t recv, int64_t sent)
{
    struct cv_fourlw_conn c;
    memset(&c, 0, sizeof c);
    c.remote = v4("127.0.0.1", port);
    c.interest_ops = ops;
    c.received = recv;
    c.sent = sent;
    c.last_cxid = -1;
    c.last_op = "NA";
    return c;
}

struct cv_fourlw_conn session_conn(uint16_t port, int64_t recv, int64_t sent, int64_t sid,
                                   int64_t est, int32_t to, int64_t lcxid, int64_t lresp,
                                   int64_t llat, int64_t maxlat)
{
    struct cv_fourlw_conn c = conn(port, 1, recv, sent);
    c.session_id = sid;
    c.last_op = cv_fourlw_op_name(9); // SYNC
    c.established_ms = est;
    c.timeout = to;
    c.last_cxid = lcxid;
    c.last_zxid = 8;
    c.last_response_ms = lresp;
    c.last_latency = llat;
    c.latency = {8, 24 + 3, 0, maxlat}; // avg 27/8 = 3 (integer, as ServerCnxn)
    return c;
}

// "Mon Nov 23 09:44:41 UTC 2026" -> ms since the epoch
int64_t java_date_ms(const std::string &s)
{
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    const char *end = strptime(s.c_str(), "%a %b %d %H:%M:%S UTC %Y", &tm);
    EXPECT_NE(nullptr, end) << s;
    return (int64_t)timegm(&tm) * 1000;
}

// The state of the recorded server (fourlw_golden/*.txt, sessions.txt).
struct Recorded {
    struct cv_config cfg;
    struct cv_fourlw_env env;
    std::vector<struct cv_fourlw_conn> conns;
    std::vector<struct cv_fourlw_session> sessions;
    std::map<std::string, std::string> mntr;
    struct cv_fourlw_view v;

    // wchc / wchp / dump: the walks emit the recorded server's data-watch table
    // and ephemerals in the order it printed them.
    static int walk_watches(void *, bool by_path, cv_fourlw_visit_fn visit, void *vctx)
    {
        struct pair {
            int64_t s;
            const char *p;
        };
        static const pair by_session[] = {
            {kSessA, "/app"}, {kSessB, "/missing"}, {kSessB, "/app"}, {kSessB, "/other"}};
        static const pair by_path_[] = {
            {kSessB, "/missing"}, {kSessA, "/app"}, {kSessB, "/app"}, {kSessB, "/other"}};
        const pair *ps = by_path ? by_path_ : by_session;
        for (int i = 0; i < 4; i++) {
            std::string tmp = ps[i].p; // the pointer is valid for the call only
            int rc = visit(vctx, ps[i].s, tmp.data(), tmp.size(), 1);
            tmp.assign(tmp.size(), 'X');
            if (rc)
                return rc;
        }
        return 0;
    }
    static int walk_ephemerals(void *, cv_fourlw_visit_fn visit, void *vctx)
    {
        const std::pair<int64_t, const char *> e[] = {
            {kSessB, "/app/eph-b1"}, {kSessA, "/app/eph-a1"}, {kSessA, "/app/eph-a2"}};
        for (const auto &x : e)
            if (int rc = visit(vctx, x.first, x.second, strlen(x.second), 0))
                return rc;
        return 0;
    }
    static bool lookup(void *ctx, const char *key, double *value)
    {
        auto *m = static_cast<std::map<std::string, std::string> *>(ctx);
        auto it = m->find(std::string("zk_") + key);
        if (it == m->end())
            return false;
        *value = strtod(it->second.c_str(), nullptr);
        return true;
    }

    Recorded()
    {
        setenv("TZ", "UTC", 1);
        tzset();
        const std::string text = "tickTime=2000\ndataDir=/tmp/d\nclientPort=25150\n"
                                 "clientPortAddress=127.0.0.1\nmaxClientCnxns=60\n"
                                 "4lw.commands.whitelist=*\n";
        char err[256];
        EXPECT_EQ(0, cv_config_parse_string(&cfg, text.data(), text.size(), "t", err, sizeof err,
                                            nullptr, nullptr))
            << err;
        for (const std::string &l : lines(golden("mntr.txt"))) {
            size_t tab = l.find('\t');
            mntr[l.substr(0, tab)] = l.substr(tab + 1);
        }
        memset(&v, 0, sizeof v);
        v.config = &cfg;
        v.version = kZkVersion;
        v.serving = true;
        v.mode = CV_FOURLW_STANDALONE;
        v.zxid = 8;
        v.latency = {15, 49, 0, 14}; // 49 / 15 = 3.2667
        v.packets_received = 19;
        v.packets_sent = 18;
        v.node_count = 11;
        v.data_dir_size = v.log_dir_size = 67109337;
        v.trace_mask = 306;
        v.watch_sessions = 2;
        v.watch_paths = 3;
        v.watch_pairs = 4;
        v.walk_watches = walk_watches;
        v.walk_ephemerals = walk_ephemerals;
        conns = {conn(34344, 0, 1, 0),
                 session_conn(34304, 8, 8, kSessA, 1795427071138, 10000, 7, 2627329, 1, 11),
                 session_conn(34320, 7, 7, kSessB, 1795427071171, 30000, 6, 2627330, 0, 14)};
        set_conns();
        memset(&env, 0, sizeof env);
        strcpy(env.host_name, "localhost");
        strcpy(env.os_name, "Linux");
        strcpy(env.os_arch, "amd64");
        strcpy(env.os_version, "6.18.44-fc-v657");
        strcpy(env.user_name, "root");
        strcpy(env.user_home, "/root");
        strcpy(env.user_dir, "/work/main");
        env.mem_free = 249LL << 20;
        env.mem_max = env.mem_total = 256LL << 20;
        v.env = &env;
    }
    void set_conns()
    {
        v.conns = conns.data();
        v.nconns = conns.size();
    }
    std::string render(const char *cmd, unsigned *actions = nullptr, int *rc_out = nullptr)
    {
        static char buf[1 << 16];
        int rc = cv_fourlw_render(cmd, &v, buf, sizeof buf, actions);
        if (rc_out)
            *rc_out = rc;
        EXPECT_GE(rc, 0) << cmd;
        return rc < 0 ? std::string() : std::string(buf, (size_t)rc);
    }
};

} // namespace

TEST(FourLw, RuokIsroGtmkMatchRecordedBytes)
{
    Recorded r;
    EXPECT_EQ(golden("ruok.txt"), r.render("ruok"));
    EXPECT_EQ(golden("isro.txt"), r.render("isro"));
    EXPECT_EQ(golden("gtmk.txt"), r.render("gtmk"));
    EXPECT_EQ(golden("dirs.txt"), r.render("dirs"));
}

TEST(FourLw, SrvrAndStatMatchRecordedBytes)
{
    Recorded r;
    EXPECT_EQ(golden("srvr.txt"), r.render("srvr"));
    r.v.packets_received = 20;
    r.v.packets_sent = 19;
    r.conns[0].remote = v4("127.0.0.1", 34332);
    r.conns[1].received = 8; // the brief lines show queued / recved / sent only
    EXPECT_EQ(golden("stat.txt"), r.render("stat"));
}

TEST(FourLw, ConsMatchesRecordedBytesBeforeAndAfterCrst)
{
    Recorded r;
    EXPECT_EQ(golden("cons.txt"), r.render("cons"));
    unsigned actions = 99;
    EXPECT_EQ(golden("crst.txt"), r.render("crst", &actions));
    EXPECT_EQ(CV_FOURLW_RESET_CONN_STATS, actions);
    // What ServerCnxn.resetStats leaves: lop NA, lcxid -1 (omitted), lzxid -1.
    for (auto &c : r.conns) {
        c.received = c.sent = 0;
        c.last_op = "NA";
        c.last_cxid = -1;
        c.last_zxid = -1;
        c.last_response_ms = 0;
        c.last_latency = 0;
        c.latency = {0, 0, 0, 0};
    }
    struct cv_fourlw_conn fresh = conn(34458, 0, 1, 0);
    r.conns = {r.conns[1], r.conns[2], fresh};
    r.set_conns();
    EXPECT_EQ(golden("cons_after_crst.txt"), r.render("cons"));
}

TEST(FourLw, SrstAsksForAResetAndRepliesAsZooKeeper)
{
    Recorded r;
    unsigned actions = 0;
    EXPECT_EQ(golden("srst.txt"), r.render("srst", &actions));
    EXPECT_EQ(CV_FOURLW_RESET_SERVER_STATS, actions);
    r.v.latency = {0, 0, 0, 0};
    r.v.packets_received = r.v.packets_sent = 1;
    EXPECT_EQ(golden("srvr_after_srst.txt"), r.render("srvr"));
}

TEST(FourLw, ConfMatchesRecordedFormat)
{
    Recorded r;
    std::string g = golden("conf.txt");
    std::string ours = r.render("conf");
    // The recorded dataDir was a temporary directory: compare with it replaced.
    size_t a = g.find("dataDir=") + 8, b = g.find("/version-2");
    std::string dir = g.substr(a, b - a);
    for (size_t p; (p = g.find(dir)) != std::string::npos;)
        g.replace(p, dir.size(), "/tmp/d");
    EXPECT_EQ(g, ours);
}

TEST(FourLw, WatchWordsMatchRecordedBytes)
{
    Recorded r;
    EXPECT_EQ(golden("wchs.txt"), r.render("wchs"));
    EXPECT_EQ(golden("wchc.txt"), r.render("wchc"));
    EXPECT_EQ(golden("wchp.txt"), r.render("wchp"));
}

TEST(FourLw, DumpMatchesRecordedBytes)
{
    Recorded r;
    std::string g = golden("dump.txt");
    std::vector<std::string> gl = lines(g);
    // expiry times as the recorded server printed them
    int64_t s1 = java_date_ms("Mon Nov 23 09:44:41 UTC 2026");
    int64_t s2 = java_date_ms("Mon Nov 23 09:45:01 UTC 2026");
    int64_t c1 = java_date_ms("Mon Nov 23 09:44:43 UTC 2026");
    int64_t c2 = java_date_ms("Mon Nov 23 09:45:03 UTC 2026");
    r.sessions = {{kSessB, s2}, {kSessA, s1}};
    r.v.sessions = r.sessions.data();
    r.v.nsessions = r.sessions.size();
    struct cv_fourlw_conn four = conn(34380, 0, 1, 0);
    four.expire_wall_ms = c1;
    r.conns[1].expire_wall_ms = c1;
    r.conns[2].expire_wall_ms = c2;
    r.conns = {four, r.conns[1], r.conns[2]};
    r.set_conns();
    EXPECT_EQ(g, r.render("dump"));
}

TEST(FourLw, MntrHasZooKeepersKeysInOrderAndFormats)
{
    Recorded r;
    r.v.ephemerals_count = 3;
    r.v.global_sessions = 2;
    r.v.response_last = 21;
    r.v.response_max = 99;
    r.v.response_min = 16;
    r.v.packets_sent = 20;
    r.v.packets_received = 21;
    r.v.watch_count = 5;
    r.v.max_fds = 20000;
    r.v.open_fds = 43;
    r.v.approximate_data_size = 120;
    r.v.uptime_ms = 1068;
    r.v.read_latency = {7, 5, 0, 2, 1, 2, 2, 2};
    r.v.update_latency = {8, 44, 1, 14, 4, 14, 14, 14};
    r.v.fsync_time = {8, 17, 0, 13, 0, 0, 0, 0};
    std::string g;
    for (const std::string &l : lines(golden("mntr.txt")))
        if (l.find("_per_namespace\t") == std::string::npos) // dynamic, not printed
            g += l + "\n";
    // Without a lookup: every key, every line format; values corvid lacks are 0.
    std::string bare = r.render("mntr");
    std::vector<std::string> gl = lines(g), bl = lines(bare);
    ASSERT_EQ(gl.size(), bl.size());
    ASSERT_EQ(459u + 26u, bl.size());
    for (size_t i = 0; i < gl.size(); i++) {
        std::string gk = gl[i].substr(0, gl[i].find('\t'));
        std::string bk = bl[i].substr(0, bl[i].find('\t'));
        EXPECT_EQ(gk, bk) << "line " << i;
        bool gdec = gl[i].find('.') != std::string::npos && gk != "zk_version";
        bool bdec = bl[i].find('.') != std::string::npos && bk != "zk_version";
        EXPECT_EQ(gdec, bdec) << gl[i] << " vs " << bl[i];
    }
    // With the recorded values supplied for the metrics corvid does not keep,
    // the output is the recorded one byte for byte.
    r.v.mntr_lookup = Recorded::lookup;
    r.v.mntr_ctx = &r.mntr;
    EXPECT_EQ(g, r.render("mntr"));
}

TEST(FourLw, MntrQuorumModesAddPeerStateAndLeaderGauges)
{
    Recorded r;
    r.v.mode = CV_FOURLW_LEADER;
    r.v.peer_state = "leading - broadcast";
    r.v.quorum_size = 3;
    r.v.learners = 2;
    r.v.proposal_last = r.v.proposal_min = r.v.proposal_max = -1;
    std::vector<std::string> l = lines(r.render("mntr"));
    EXPECT_EQ("zk_server_state\tleader", l[1]);
    EXPECT_EQ("zk_peer_state\tleading - broadcast", l[2]);
    EXPECT_EQ("zk_min_proposal_size\t-1", l[6]);
    EXPECT_EQ("zk_learners\t2", l[33]);
    EXPECT_EQ("zk_quorum_size\t3", l[36]);
    EXPECT_EQ(459u + 26u + 11u, l.size());
    r.v.mode = CV_FOURLW_FOLLOWER;
    r.v.peer_state = "following - broadcast";
    l = lines(r.render("mntr"));
    // no zk_synced_observers: a follower has it only as an observer master
    EXPECT_EQ("zk_auth_failed_count\t0", l[16]);
    EXPECT_EQ("zk_quorum_size\t3", l[27]);
    EXPECT_EQ(459u + 26u + 2u, l.size());
    r.v.mode = CV_FOURLW_OBSERVER;
    r.v.observer_master_id = 2;
    l = lines(r.render("mntr"));
    EXPECT_EQ("zk_observer_master_id\t2", l[3]);
    EXPECT_EQ(459u + 26u + 3u, l.size());
}

TEST(FourLw, EnviKeepsZooKeepersKeysAndOrderWithTruthfulValues)
{
    Recorded r;
    std::vector<std::string> g = lines(golden("envi.txt")), o = lines(r.render("envi"));
    ASSERT_EQ(g.size(), o.size());
    EXPECT_EQ("Environment:", o[0]);
    for (size_t i = 1; i < g.size(); i++) {
        std::string gk = g[i].substr(0, g[i].find('=')), ok = o[i].substr(0, o[i].find('='));
        EXPECT_EQ(gk, ok);
        if (gk.rfind("java.", 0) == 0)
            EXPECT_EQ(gk + "=<NA>", o[i]); // ZooKeeper's own text for an absent property
        else
            EXPECT_EQ(g[i], o[i]);
    }
    // A probed environment has every field.
    struct cv_fourlw_env e;
    EXPECT_EQ(0, cv_fourlw_env_probe(&e));
    EXPECT_STRNE("", e.os_name);
    EXPECT_STRNE("", e.user_dir);
    EXPECT_GT(e.mem_max, 0);
}

TEST(FourLw, WordsOutsideTheWhitelistGetZooKeepersReply)
{
    Recorded r;
    const std::string text = "tickTime=2000\ndataDir=/tmp/d\nclientPort=25150\n";
    char err[256];
    ASSERT_EQ(0, cv_config_parse_string(&r.cfg, text.data(), text.size(), "t", err, sizeof err,
                                        nullptr, nullptr));
    for (const char *w : {"ruok", "stat", "mntr", "isro"})
        EXPECT_EQ(golden(std::string("nowhitelist_") + w + ".txt"), r.render(w));
    unsigned actions = 7;
    EXPECT_EQ("crst is not executed because it is not in the whitelist.\n",
              r.render("crst", &actions));
    EXPECT_EQ(0u, actions); // not executed: nothing to reset
    // The recorded "ruok, conf ,," whitelist.
    const std::string t2 = text + "4lw.commands.whitelist=ruok, conf ,,\n";
    ASSERT_EQ(0, cv_config_parse_string(&r.cfg, t2.data(), t2.size(), "t", err, sizeof err, nullptr,
                                        nullptr));
    EXPECT_EQ(golden("list_ruok.txt"), r.render("ruok"));
    EXPECT_EQ(golden("list_stat.txt"), r.render("stat"));
    r.v.packets_received = 5;
    r.v.packets_sent = 4;
    r.v.zxid = 0xa;
    r.v.node_count = 8;
    r.v.latency = {0, 0, 0, 0};
    r.conns.resize(1);
    r.set_conns();
    EXPECT_EQ(golden("list_srvr.txt"), r.render("srvr"));
    char buf[128];
    EXPECT_EQ(57, cv_fourlw_not_whitelisted("wchp", buf, sizeof buf));
    EXPECT_STREQ("wchp is not executed because it is not in the whitelist.\n", buf);
}

TEST(FourLw, NotServingRepliesAsZooKeeper)
{
    Recorded r;
    r.v.serving = false;
    for (const char *w : {"srvr", "stat", "cons", "crst", "srst", "conf", "dirs", "dump", "mntr",
                          "wchs", "wchc", "wchp"}) {
        unsigned actions = 9;
        EXPECT_EQ(CV_FOURLW_NOT_SERVING, r.render(w, &actions)) << w;
        EXPECT_EQ(0u, actions) << w;
    }
    EXPECT_EQ("null", r.render("isro"));
    EXPECT_EQ("imok", r.render("ruok"));
    EXPECT_EQ("306", r.render("gtmk"));
    EXPECT_EQ("This ZooKeeper instance is not currently serving requests", r.render("hash"));
    EXPECT_EQ(0u, r.render("envi").find("Environment:\n"));
}

TEST(FourLw, ReadOnlyAndLeaderLines)
{
    Recorded r;
    r.v.mode = CV_FOURLW_READ_ONLY;
    EXPECT_EQ("ro", r.render("isro"));
    std::vector<std::string> l = lines(r.render("srvr"));
    EXPECT_EQ("READ-ONLY mode; serving only read-only clients", l[1]);
    EXPECT_EQ("Mode: read-only", l[8]);
    r.v.mode = CV_FOURLW_LEADER;
    r.v.proposal_last = 10;
    r.v.proposal_min = 5;
    r.v.proposal_max = 99;
    l = lines(r.render("srvr"));
    EXPECT_EQ("Mode: leader", l[7]);
    EXPECT_EQ("Proposal sizes last/min/max: 10/5/99", l[9]);
    EXPECT_EQ("", r.render("hash")); // no digest log in corvid
    r.v.trace_mask = 0x1ff;
    EXPECT_EQ("511", r.render("stmk"));
}

TEST(FourLw, RecognisesExactlyTheKnownWords)
{
    const char *known[] = {"conf", "cons", "crst", "dirs", "dump", "envi", "gtmk", "ruok", "stmk",
                           "srst", "srvr", "stat", "wchc", "wchp", "wchs", "mntr", "isro", "hash"};
    for (const char *w : known)
        EXPECT_TRUE(cv_fourlw_is_command(reinterpret_cast<const uint8_t *>(w))) << w;
    const uint8_t frame[4] = {0, 0, 0, 45}, telnet[4] = {0xff, 0xf4, 0xff, 0xfd};
    EXPECT_FALSE(cv_fourlw_is_command(frame));
    EXPECT_FALSE(cv_fourlw_is_command(telnet));
    EXPECT_FALSE(cv_fourlw_is_command(reinterpret_cast<const uint8_t *>("RUOK")));
    Recorded r;
    char buf[64];
    EXPECT_EQ(-ENOENT, cv_fourlw_render("abcd", &r.v, buf, sizeof buf, nullptr));
}

TEST(FourLw, EveryTooSmallBufferIsRefusedCleanly)
{
    Recorded r;
    r.v.mntr_lookup = Recorded::lookup;
    r.v.mntr_ctx = &r.mntr;
    static char big[1 << 16];
    for (const char *w : {"ruok", "srvr", "stat", "cons", "conf", "envi", "wchs", "wchc", "wchp",
                          "dump", "mntr", "dirs", "crst", "isro"}) {
        int n = cv_fourlw_render(w, &r.v, big, sizeof big, nullptr);
        ASSERT_GT(n, 0) << w;
        std::vector<char> buf((size_t)n + 1);
        for (size_t cap = 0; cap <= (size_t)n; cap += (cap < 64 ? 1 : 97)) {
            unsigned actions = 5;
            EXPECT_EQ(-ENOBUFS, cv_fourlw_render(w, &r.v, buf.data(), cap, &actions))
                << w << " cap " << cap;
            EXPECT_EQ(0u, actions);
        }
        EXPECT_EQ(n, cv_fourlw_render(w, &r.v, buf.data(), (size_t)n + 1, nullptr)) << w;
        EXPECT_EQ(0, memcmp(big, buf.data(), (size_t)n + 1)) << w;
    }
}

TEST(FourLw, JavaDoubleFormatting)
{
    struct {
        double x;
        const char *s;
    } cases[] = {{0, "0.0"},         {3.2667, "3.2667"},
                 {0.7143, "0.7143"}, {5.5, "5.5"},
                 {2.125, "2.125"},   {12.0, "12.0"},
                 {0.001, "0.001"},   {0.0005, "5.0E-4"},
                 {1e7, "1.0E7"},     {12345678.5, "1.23456785E7"},
                 {-1.5, "-1.5"},     {9999999.0, "9999999.0"},
                 {100.25, "100.25"}};
    for (const auto &c : cases) {
        char b[64];
        cv_fourlw_java_double(c.x, b, sizeof b);
        EXPECT_STREQ(c.s, b) << c.x;
    }
}

TEST(FourLw, AverageRoundsHalfUpToFourDecimalsLikeZooKeeper)
{
    Recorded r;
    r.v.latency = {32, 1, 0, 1}; // 1/32 = 0.03125 -> HALF_UP 0.0313 (printf would give 0.0312)
    EXPECT_EQ("Latency min/avg/max: 0/0.0313/1", lines(r.render("srvr"))[1]);
    r.v.latency = {3, 2, 0, 1}; // 0.66666 -> 0.6667
    EXPECT_EQ("Latency min/avg/max: 0/0.6667/1", lines(r.render("srvr"))[1]);
}

TEST(FourLw, Ipv6AndMappedAddressesPrintAsJavaDoes)
{
    Recorded r;
    struct cv_fourlw_conn c = conn(0, 1, 2, 3);
    auto *in6 = reinterpret_cast<struct sockaddr_in6 *>(&c.remote);
    memset(&c.remote, 0, sizeof c.remote);
    in6->sin6_family = AF_INET6;
    in6->sin6_port = htons(5000);
    inet_pton(AF_INET6, "fe80::1:0:abcd", &in6->sin6_addr);
    struct cv_fourlw_conn m = c;
    auto *m6 = reinterpret_cast<struct sockaddr_in6 *>(&m.remote);
    inet_pton(AF_INET6, "::ffff:10.1.2.3", &m6->sin6_addr);
    r.conns = {c, m};
    r.set_conns();
    std::vector<std::string> l = lines(r.render("cons"));
    EXPECT_EQ(" /[fe80:0:0:0:0:1:0:abcd]:5000[1](queued=0,recved=2,sent=3)", l[0]);
    EXPECT_EQ(" /10.1.2.3:5000[1](queued=0,recved=2,sent=3)", l[1]);
}

TEST(FourLw, OpNamesAndVersionString)
{
    EXPECT_STREQ("GETD", cv_fourlw_op_name(4));
    EXPECT_STREQ("CREA", cv_fourlw_op_name(21));
    EXPECT_STREQ("SESS", cv_fourlw_op_name(-10));
    EXPECT_STREQ("CLOS", cv_fourlw_op_name(-11));
    EXPECT_STREQ("GETACN", cv_fourlw_op_name(104));
    EXPECT_STREQ("NA", cv_fourlw_op_name(12345));
    char b[128];
    ASSERT_GT(cv_fourlw_version_string("0.1.0", "2025-01-01 00:00 UTC", b, sizeof b), 0);
    EXPECT_STREQ("3.8.0-corvid-0.1.0, built on 2025-01-01 00:00 UTC", b);
    EXPECT_EQ(-ENOBUFS, cv_fourlw_version_string("0.1.0", "x", b, 5));
}
