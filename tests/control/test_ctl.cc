// cv_ctl (corvidctl's library): the human formats of every command from the
// recorded Apache ZooKeeper 3.8 AdminServer replies in admin_golden/ (and
// hand-written corvid replies for snapshot / check_data), and the HTTP
// client against real local sockets served by a canned-response thread.
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <fstream>
#include <functional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "cv_ctl.h"
#include "test_lines.h"

namespace
{

std::string golden(const std::string &setup, const std::string &name)
{
    std::ifstream f(std::string(CV_ADMIN_GOLDEN_DIR) + "/" + setup + "/" + name, std::ios::binary);
    EXPECT_TRUE(f.good()) << setup << "/" << name;
    std::stringstream ss;
    ss << f.rdbuf();
    return ss.str();
}

using Fmt = int (*)(const char *, size_t, FILE *, char *, size_t);

struct Out {
    int rc;
    std::string text;
    std::string err;
};

Out run(Fmt f, const std::string &json)
{
    char *buf = nullptr;
    size_t len = 0;
    FILE *mem = open_memstream(&buf, &len);
    char err[CV_CTL_ERRLEN] = "";
    Out o;
    o.rc = f(json.data(), json.size(), mem, err, sizeof err);
    fclose(mem);
    o.text.assign(buf, len);
    o.err = err;
    free(buf);
    return o;
}

// A reply as cv_ctl_get would leave it.
struct Reply {
    cv_ctl_reply r;
    Reply(const std::string &label, const std::string &body, int result = CV_CTL_OK,
          const std::string &error = "")
    {
        memset(&r, 0, sizeof r);
        snprintf(r.label, sizeof r.label, "%s", label.c_str());
        r.result = result;
        snprintf(r.error, sizeof r.error, "%s", error.c_str());
        if (result == CV_CTL_OK) {
            r.body = strdup(body.c_str());
            r.body_len = body.size();
        }
    }
    Reply(const Reply &o) : Reply(o.r.label, o.r.body ? o.r.body : "", o.r.result, o.r.error) {}
    ~Reply() { cv_ctl_reply_free(&r); }
};

std::vector<cv_ctl_reply> raw(const std::vector<Reply> &v)
{
    std::vector<cv_ctl_reply> out;
    for (const auto &x : v)
        out.push_back(x.r);
    return out;
}

template <typename F> std::string capture(F f)
{
    char *buf = nullptr;
    size_t len = 0;
    FILE *mem = open_memstream(&buf, &len);
    f(mem);
    fclose(mem);
    std::string s(buf, len);
    free(buf);
    return s;
}

const char *const kSetups[] = {"standalone", "leader", "follower", "observer"};

// ---- formats from the ZooKeeper goldens ------------------------------------

TEST(CtlFormat, MntrStandaloneIsAlignedKeyValueInServerOrder)
{
    Out o = run(cv_ctl_fmt_mntr, golden("standalone", "monitor.json"));
    ASSERT_EQ(o.rc, 0) << o.err;
    auto l = lines(o.text);
    ASSERT_GT(l.size(), 100u);
    // the longest key sets the column: every value starts at the same offset
    size_t col = l[0].find("3.8.0");
    ASSERT_NE(col, std::string::npos);
    for (const auto &x : l) {
        ASSERT_GT(x.size(), col) << x;
        EXPECT_EQ(x[col - 1], ' ') << x;
        EXPECT_NE(x[col], ' ') << x;
    }
    EXPECT_EQ(l[0].substr(0, 7), "version");
    EXPECT_EQ(l[1].substr(0, 12), "server_state");
    EXPECT_NE(o.text.find("server_state"), std::string::npos);
    EXPECT_NE(o.text.find(" standalone\n"), std::string::npos);
    // reals keep ZooKeeper's spelling (1.125, 0.0, 2.3333); ints stay ints
    EXPECT_NE(o.text.find("avg_latency  "), std::string::npos);
    EXPECT_NE(o.text.find(" 1.125\n"), std::string::npos);
    EXPECT_NE(o.text.find(" 2.3333\n"), std::string::npos);
    EXPECT_NE(o.text.find("connection_drop_probability"), std::string::npos);
    EXPECT_NE(o.text.find(" 0.0\n"), std::string::npos);
    // the envelope is not a metric
    for (const auto &x : l) {
        EXPECT_NE(x.rfind("command ", 0), 0u) << x;
        EXPECT_NE(x.rfind("error ", 0), 0u) << x;
    }
    // one line per member except the envelope
    size_t members = 0;
    for (size_t p = 0; (p = o.text.find('\n', p)) != std::string::npos; p++)
        members++;
    std::string j = golden("standalone", "monitor.json");
    size_t keys = 0;
    for (size_t p = 0; (p = j.find("\" : ", p)) != std::string::npos; p++)
        keys++;
    EXPECT_EQ(members, keys - 2);
}

TEST(CtlFormat, MntrEveryRoleShowsItsState)
{
    for (const char *s : kSetups) {
        Out o = run(cv_ctl_fmt_mntr, golden(s, "monitor.json"));
        ASSERT_EQ(o.rc, 0) << s << ": " << o.err;
        bool found = false;
        for (const auto &x : lines(o.text))
            if (x.rfind("server_state ", 0) == 0) {
                EXPECT_EQ(x.substr(x.find_last_of(' ') + 1), s);
                found = true;
            }
        EXPECT_TRUE(found) << s;
    }
}

TEST(CtlFormat, ConsStandaloneTable)
{
    Out o = run(cv_ctl_fmt_cons, golden("standalone", "connections.json"));
    ASSERT_EQ(o.rc, 0) << o.err;
    EXPECT_EQ(o.text, "ADDRESS          SESSION            QUEUED  RECV  SENT  LAST_OP  "
                      "LATENCY_MIN/AVG/MAX\n"
                      "127.0.0.1:54636  0x10001f9f7b10000       0     8     8  SYNC     0/1/3\n");
}

TEST(CtlFormat, ConsEveryRoleListsItsOneConnection)
{
    const char *sess[] = {"0x10001f9f7b10000", "0x20001fa12040000", "0x10001fa12370000",
                          "0x40001fa12bf0000"};
    for (size_t i = 0; i < 4; i++) {
        Out o = run(cv_ctl_fmt_cons, golden(kSetups[i], "connections.json"));
        ASSERT_EQ(o.rc, 0) << kSetups[i] << ": " << o.err;
        auto l = lines(o.text);
        ASSERT_EQ(l.size(), 2u) << o.text;
        EXPECT_EQ(l[0].rfind("ADDRESS", 0), 0u);
        EXPECT_NE(l[1].find(sess[i]), std::string::npos) << l[1];
        EXPECT_NE(l[1].find("SYNC"), std::string::npos) << l[1];
    }
}

TEST(CtlFormat, ConsSecureAndEmptyAndMissingFields)
{
    Out o =
        run(cv_ctl_fmt_cons,
            R"({"connections":[],"secure_connections":[],"command":"connections","error":null})");
    ASSERT_EQ(o.rc, 0);
    EXPECT_EQ(o.text, "no client connections\n");
    // a connection without a session yet, and a TLS one with a negative id
    o = run(cv_ctl_fmt_cons,
            R"({"connections":[{"remote_socket_address":"[::1]:4000","interest_ops":1,
                "outstanding_requests":2,"packets_received":1,"packets_sent":0}],
                "secure_connections":[{"remote_socket_address":"10.0.0.1:5000",
                "outstanding_requests":0,"packets_received":10,"packets_sent":12,
                "session_id":-9151314442816847872,"last_operation":"GETD",
                "min_latency":1,"avg_latency":2,"max_latency":30}],
                "command":"connections","error":null})");
    ASSERT_EQ(o.rc, 0) << o.err;
    auto l = lines(o.text);
    ASSERT_EQ(l.size(), 3u);
    EXPECT_EQ(l[1], "[::1]:4000           -                        2     1     0  -        "
                    "-/-/-");
    EXPECT_EQ(l[2], "10.0.0.1:5000 (tls)  0x8100000000000000       0    10    12  GETD     "
                    "1/2/30");
}

TEST(CtlFormat, WchpStandaloneAndEnsemble)
{
    Out o = run(cv_ctl_fmt_wchp, golden("standalone", "watches_by_path.json"));
    ASSERT_EQ(o.rc, 0) << o.err;
    EXPECT_EQ(o.text, "/app\n    0x10001f9f7b10000\n");
    o = run(cv_ctl_fmt_wchp, golden("observer", "watches_by_path.json"));
    ASSERT_EQ(o.rc, 0) << o.err;
    EXPECT_EQ(o.text, "/app\n    0x40001fa12bf0000\n");
    // sorted paths, sessions ascending as unsigned
    o = run(cv_ctl_fmt_wchp, R"({"path_to_session_ids":{"/b":[2,-1,1],"/a":[5]},
                                 "command":"watches_by_path","error":null})");
    ASSERT_EQ(o.rc, 0) << o.err;
    EXPECT_EQ(o.text, "/a\n    0x5\n/b\n    0x1\n    0x2\n    0xffffffffffffffff\n");
    o = run(cv_ctl_fmt_wchp, R"({"path_to_session_ids":{},"command":"watches_by_path",
                                 "error":null})");
    EXPECT_EQ(o.text, "no watches\n");
    // the older field name is not ZooKeeper 3.8's: refused, not guessed
    o = run(cv_ctl_fmt_wchp, R"({"path2sessions":{},"command":"watches_by_path","error":null})");
    EXPECT_EQ(o.rc, -1);
    EXPECT_EQ(o.text, "");
    EXPECT_NE(o.err.find("path_to_session_ids"), std::string::npos) << o.err;
}

TEST(CtlFormat, DumpStandaloneLeaderFollower)
{
    Out o = run(cv_ctl_fmt_dump, golden("standalone", "dump.json"));
    ASSERT_EQ(o.rc, 0) << o.err;
    EXPECT_EQ(o.text, "1 session\n"
                      "0x10001f9f7b10000  expires at 33170000  1 ephemeral\n"
                      "    /app/eph-a\n");
    o = run(cv_ctl_fmt_dump, golden("leader", "dump.json"));
    ASSERT_EQ(o.rc, 0) << o.err;
    EXPECT_EQ(o.text, "3 sessions\n"
                      "0x10001fa12370000  expires at 33178000  1 ephemeral\n"
                      "    /app/eph-f\n"
                      "0x20001fa12040000  expires at 33178000  1 ephemeral\n"
                      "    /app/eph-l\n"
                      "0x40001fa12bf0000  expires at 33178000  1 ephemeral\n"
                      "    /app/eph-o\n");
    // a follower tracks no expiry (the leader does); its sessions still show
    o = run(cv_ctl_fmt_dump, golden("follower", "dump.json"));
    ASSERT_EQ(o.rc, 0) << o.err;
    EXPECT_EQ(lines(o.text).size(), 7u);
    EXPECT_NE(o.text.find("0x40001fa12bf0000  expiry not tracked by this server  1 ephemeral\n"
                          "    /app/eph-o\n"),
              std::string::npos)
        << o.text;
    // a session with no ephemerals, paths sorted
    o = run(cv_ctl_fmt_dump, R"({"expiry_time_to_session_ids":{"100":[7],"200":[8]},
        "session_id_to_ephemeral_paths":{"8":["/z","/a"]},"command":"dump","error":null})");
    ASSERT_EQ(o.rc, 0) << o.err;
    EXPECT_EQ(o.text, "2 sessions\n0x7  expires at 100  no ephemerals\n"
                      "0x8  expires at 200  2 ephemerals\n    /a\n    /z\n");
}

TEST(CtlFormat, NotServingRepliesAreErrorsAndPrintNothing)
{
    const std::pair<Fmt, const char *> cases[] = {
        {cv_ctl_fmt_cons, "connections.json"},
        {cv_ctl_fmt_wchp, "watches_by_path.json"},
        {cv_ctl_fmt_dump, "dump.json"},
        {cv_ctl_fmt_mntr, "server_stats.json"},
    };
    for (const auto &c : cases) {
        Out o = run(c.first, golden("notserving", c.second));
        EXPECT_EQ(o.rc, -1) << c.second;
        EXPECT_EQ(o.text, "");
        EXPECT_EQ(o.err, "server error: This ZooKeeper instance is not currently serving requests");
    }
    // ZooKeeper's not-serving monitor is a 500 with an HTML page
    Out o = run(cv_ctl_fmt_mntr, golden("notserving", "monitor.json"));
    EXPECT_EQ(o.rc, -1);
    EXPECT_EQ(o.err.rfind("malformed JSON reply", 0), 0u) << o.err;
    EXPECT_EQ(o.err.find('\n'), std::string::npos);
    char err[CV_CTL_ERRLEN];
    std::string html = golden("notserving", "monitor.json");
    EXPECT_EQ(cv_ctl_check_reply(500, "Server Error", html.data(), html.size(), err, sizeof err),
              -1);
    EXPECT_STREQ(err, "HTTP 500 Server Error");
    // standalone's leader command answers with an error member
    std::string lead = golden("standalone", "leader.json");
    EXPECT_EQ(cv_ctl_check_reply(200, "OK", lead.data(), lead.size(), err, sizeof err), -1);
    EXPECT_STREQ(err, "server error: server is not initialized");
    std::string unk = golden("standalone", "unknown_nosuch.json");
    EXPECT_EQ(cv_ctl_check_reply(200, "OK", unk.data(), unk.size(), err, sizeof err), -1);
    EXPECT_STREQ(err, "server error: Unknown command: nosuch");
    // every other recorded reply passes the checks
    for (const char *s : kSetups)
        for (const char *n : {"monitor.json", "connections.json", "dump.json", "leader.json",
                              "server_stats.json", "watches.json", "voting_view.json"}) {
            if (std::string(s) == "standalone" && std::string(n) == "leader.json")
                continue;
            std::string j = golden(s, n);
            EXPECT_EQ(cv_ctl_check_reply(200, "OK", j.data(), j.size(), err, sizeof err), 0)
                << s << "/" << n << ": " << err;
        }
}

TEST(CtlFormat, MalformedInputs)
{
    for (Fmt f : {cv_ctl_fmt_mntr, cv_ctl_fmt_cons, cv_ctl_fmt_wchp, cv_ctl_fmt_dump,
                  cv_ctl_fmt_snapshot}) {
        EXPECT_EQ(run(f, "").rc, -1);
        EXPECT_EQ(run(f, "{").rc, -1);
        EXPECT_EQ(run(f, "[1,2]").rc, -1);
        Out o = run(f, R"({"error":"multi
line"})");
        EXPECT_EQ(o.rc, -1);
        Out p = run(f, "{\"error\":\"multi\\nline\"}");
        EXPECT_EQ(p.rc, -1);
        EXPECT_EQ(p.err, "server error: multi line");
        EXPECT_EQ(run(f, R"({"error":{"code":3}})").err, R"(server error: {"code":3})");
    }
    EXPECT_EQ(run(cv_ctl_fmt_cons, R"({"connections":{}})").rc, -1);
    EXPECT_EQ(run(cv_ctl_fmt_dump, R"({"expiry_time_to_session_ids":{}})").rc, -1);
    EXPECT_EQ(run(cv_ctl_fmt_dump, R"({"expiry_time_to_session_ids":{},
        "session_id_to_ephemeral_paths":{"abc":[]}})")
                  .rc,
              -1);
}

TEST(CtlFormat, PrintJsonIsIndentedAndKeepsOrder)
{
    std::string j = golden("leader", "leader.json");
    char err[CV_CTL_ERRLEN];
    std::string s = capture(
        [&](FILE *f) { EXPECT_EQ(cv_ctl_print_json(j.data(), j.size(), f, err, sizeof err), 0); });
    EXPECT_EQ(s, "{\n  \"is_leader\": true,\n  \"leader_id\": 2,\n  \"leader_ip\": \"127.0.0.1\",\n"
                 "  \"command\": \"leader\",\n  \"error\": null\n}\n");
    s = capture([&](FILE *f) { EXPECT_EQ(cv_ctl_print_json("{x", 2, f, err, sizeof err), -1); });
    EXPECT_EQ(s, "");

    std::vector<Reply> v;
    v.emplace_back("a:1", R"({"x":1.125,"command":"monitor","error":null})");
    v.emplace_back("b:2", "", CV_CTL_UNREACHABLE, "connect to b port 2: Connection refused");
    auto r = raw(v);
    s = capture([&](FILE *f) {
        EXPECT_EQ(cv_ctl_print_json_multi(r.data(), r.size(), f, err, sizeof err), 0);
    });
    EXPECT_EQ(s, "{\n  \"a:1\": {\n    \"x\": 1.125,\n    \"command\": \"monitor\",\n"
                 "    \"error\": null\n  },\n  \"b:2\": {\n"
                 "    \"error\": \"connect to b port 2: Connection refused\"\n  }\n}\n");
}

// ---- corvid's own commands ------------------------------------------------

TEST(CtlFormat, Snapshot)
{
    Out o = run(cv_ctl_fmt_snapshot,
                R"({"command":"snapshot","error":null,"zxid":"0x10000002a","started":true})");
    EXPECT_EQ(o.rc, 0);
    EXPECT_EQ(o.text, "Snapshot started at zxid 0x10000002a.\n");
    o = run(cv_ctl_fmt_snapshot, R"({"command":"snapshot","error":null,"zxid":"0x10000002a",
        "started":false,"reason":"a snapshot is already being written"})");
    EXPECT_EQ(o.rc, 1);
    EXPECT_EQ(o.text,
              "Snapshot not started at zxid 0x10000002a: a snapshot is already being written.\n");
    o = run(cv_ctl_fmt_snapshot,
            R"({"command":"snapshot","error":null,"zxid":"0x1","started":false})");
    EXPECT_EQ(o.rc, 1);
    EXPECT_EQ(o.text, "Snapshot not started at zxid 0x1: no reason given.\n");
    o = run(cv_ctl_fmt_snapshot, R"({"command":"snapshot","error":null,"zxid":"0x1"})");
    EXPECT_EQ(o.rc, -1);
    EXPECT_EQ(o.err, "malformed reply: no \"started\" boolean");
    o = run(cv_ctl_fmt_snapshot, R"({"command":"snapshot","error":"not serving"})");
    EXPECT_EQ(o.rc, -1);
    EXPECT_EQ(o.err, "server error: not serving");
    // out == NULL: the verdict only
    std::string j = R"({"error":null,"zxid":"0x1","started":false})";
    EXPECT_EQ(cv_ctl_fmt_snapshot(j.data(), j.size(), nullptr, nullptr, 0), 1);
}

std::string check(const char *zxid, const char *digest, bool ok = true, const char *tree = "ok")
{
    char b[1024];
    snprintf(b, sizeof b,
             R"({"command":"check_data","error":null,"ok":%s,"zxid":"%s","digest":"%s",)"
             R"("node_count":12,"tree":"%s","storage":"log: 2 segments, crc ok\nsnapshot: )"
             R"(snapshot.100000000 ok"})",
             ok ? "true" : "false", zxid, digest, tree);
    return b;
}

int check_data(const std::vector<Reply> &v, std::string *text)
{
    auto r = raw(v);
    int rc = 0;
    *text = capture([&](FILE *f) { rc = cv_ctl_fmt_check_data(r.data(), r.size(), f); });
    EXPECT_EQ(cv_ctl_fmt_check_data(r.data(), r.size(), nullptr), rc);
    return rc;
}

TEST(CtlFormat, CheckDataSingle)
{
    std::vector<Reply> v;
    v.emplace_back("h1:8080", check("0x100000005", "0x0123456789abcdef"));
    std::string t;
    EXPECT_EQ(check_data(v, &t), 0);
    EXPECT_EQ(t, "h1:8080: data check ok at zxid 0x100000005: digest 0x0123456789abcdef, 12 "
                 "nodes, tree ok\n"
                 "  storage:\n"
                 "    log: 2 segments, crc ok\n"
                 "    snapshot: snapshot.100000000 ok\n");
    v.clear();
    v.emplace_back("h1:8080", check("0x100000005", "0x0123456789abcdef", false,
                                    "/a/b: cversion 3 < children 4"));
    EXPECT_EQ(check_data(v, &t), 1);
    EXPECT_EQ(lines(t)[0], "h1:8080: data check FAILED at zxid 0x100000005: digest "
                           "0x0123456789abcdef, 12 nodes, tree /a/b: cversion 3 < children 4");
    v.clear();
    v.emplace_back("h1:8080", R"({"command":"check_data","error":null,"zxid":"0x1"})");
    EXPECT_EQ(check_data(v, &t), 1);
    EXPECT_EQ(t, "h1:8080: failed: malformed reply: no \"ok\" boolean\n");
}

TEST(CtlFormat, CheckDataComparesDigestsAtTheSameZxid)
{
    std::vector<Reply> v;
    v.emplace_back("a:1", check("0x100000005", "0x0123456789abcdef"));
    v.emplace_back("b:1", check("0x100000005", "0x0123456789ABCDEF"));
    v.emplace_back("c:1", check("0x100000004", "0x1111111111111111"));
    std::string t;
    EXPECT_EQ(check_data(v, &t), 0);
    auto l = lines(t);
    ASSERT_GE(l.size(), 2u);
    EXPECT_EQ(l[l.size() - 2], "zxid 0x100000005: digests agree across 2 members: a:1 b:1");
    EXPECT_EQ(l.back(), "c:1 is alone at zxid 0x100000004: digest not compared");

    v.clear();
    v.emplace_back("a:1", check("0x100000005", "0x0123456789abcdef"));
    v.emplace_back("b:1", check("0x100000005", "0x0123456789abcdee"));
    v.emplace_back("c:1", "", CV_CTL_UNREACHABLE, "connect to c port 1: Connection refused");
    EXPECT_EQ(check_data(v, &t), 1);
    l = lines(t);
    EXPECT_NE(t.find("c:1: unreachable: connect to c port 1: Connection refused\n"),
              std::string::npos);
    EXPECT_EQ(l.back(), "zxid 0x100000005: digests DISAGREE across 2 members: "
                        "a:1=0x0123456789abcdef b:1=0x0123456789abcdee");

    // one unreachable member is enough for exit status 1, even if the rest agree
    v.clear();
    v.emplace_back("a:1", check("0x5", "0x1"));
    v.emplace_back("b:1", "", CV_CTL_FAILED, "HTTP 503 Service Unavailable");
    EXPECT_EQ(check_data(v, &t), 1);
}

TEST(CtlFormat, StatusFromGoldens)
{
    std::vector<Reply> mon, st;
    const char *setups[] = {"leader", "follower", "observer", "standalone"};
    for (const char *s : setups) {
        mon.emplace_back(std::string(s) + ":8080", golden(s, "monitor.json"));
        st.emplace_back(std::string(s) + ":8080", golden(s, "server_stats.json"));
    }
    mon.emplace_back("down:8080", "", CV_CTL_UNREACHABLE,
                     "connect to down port 8080: Connection refused");
    st.emplace_back("down:8080", "", CV_CTL_UNREACHABLE, "x");
    mon.emplace_back("ns:8080", "", CV_CTL_FAILED, "HTTP 500 Server Error");
    st.emplace_back("ns:8080", "", CV_CTL_FAILED, "x");
    auto m = raw(mon), s = raw(st);
    int bad = -1;
    std::string t = capture([&](FILE *f) { bad = cv_ctl_fmt_status(m.data(), s.data(), 6, f); });
    EXPECT_EQ(bad, 2);
    auto l = lines(t);
    ASSERT_EQ(l.size(), 7u) << t;
    EXPECT_EQ(l[0], "MEMBER           MODE        ZXID         CONNECTIONS  OUTSTANDING  "
                    "LATENCY_AVG/MAX  NODES");
    EXPECT_EQ(l[1], "leader:8080      leader      0x100000007            1            0  "
                    "2.625/11         9");
    EXPECT_EQ(l[2], "follower:8080    follower    0x100000007            1            0  "
                    "1.0/3            9");
    EXPECT_EQ(l[3].substr(0, 30), "observer:8080    observer    0");
    EXPECT_EQ(l[4], "standalone:8080  standalone  0x3                    1            0  "
                    "1.125/3          7");
    EXPECT_EQ(l[5], "down:8080        unreachable: connect to down port 8080: Connection refused");
    EXPECT_EQ(l[6], "ns:8080          failed: HTTP 500 Server Error");
    // without server_stats the zxid is "-"
    t = capture([&](FILE *f) { bad = cv_ctl_fmt_status(m.data(), nullptr, 1, f); });
    EXPECT_EQ(bad, 0);
    EXPECT_EQ(lines(t)[1],
              "leader:8080  leader  -               1            0  2.625/11         9");
}

TEST(CtlHostPort, Parse)
{
    char h[256], p[8], e[CV_CTL_ERRLEN];
    auto ok = [&](const char *s, const char *host, const char *port) {
        ASSERT_EQ(cv_ctl_parse_hostport(s, "8080", h, sizeof h, p, sizeof p, e, sizeof e), 0)
            << s << ": " << e;
        EXPECT_STREQ(h, host) << s;
        EXPECT_STREQ(p, port) << s;
    };
    ok("zk1", "zk1", "8080");
    ok("zk1:9090", "zk1", "9090");
    ok("10.1.2.3:1", "10.1.2.3", "1");
    ok("[::1]", "::1", "8080");
    ok("[::1]:65535", "::1", "65535");
    ok("fe80::1", "fe80::1", "8080");
    for (const char *bad : {"", ":80", "zk1:", "zk1:0", "zk1:65536", "zk1:8x", "[::1", "[]:80",
                            "[::1]x", "zk1:-1", "zk1:+80"})
        EXPECT_EQ(cv_ctl_parse_hostport(bad, "8080", h, sizeof h, p, sizeof p, e, sizeof e), -1)
            << bad;
    char lab[64];
    cv_ctl_hostport_label("::1", "80", lab, sizeof lab);
    EXPECT_STREQ(lab, "[::1]:80");
    cv_ctl_hostport_label("zk1", "80", lab, sizeof lab);
    EXPECT_STREQ(lab, "zk1:80");
}

// ---- the HTTP client against a real socket ---------------------------------

// A one-connection TCP server on 127.0.0.1 (or ::1): accepts, reads the
// request head, then runs the scenario with the connected socket.
class CannedServer
{
  public:
    explicit CannedServer(std::function<void(int)> scenario, int family = AF_INET)
    {
        fd_ = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
        EXPECT_GE(fd_, 0);
        int one = 1;
        setsockopt(fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        struct sockaddr_storage ss;
        memset(&ss, 0, sizeof ss);
        socklen_t sl;
        if (family == AF_INET) {
            auto *in = reinterpret_cast<sockaddr_in *>(&ss);
            in->sin_family = AF_INET;
            in->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
            sl = sizeof *in;
        } else {
            auto *in6 = reinterpret_cast<sockaddr_in6 *>(&ss);
            in6->sin6_family = AF_INET6;
            in6->sin6_addr = in6addr_loopback;
            sl = sizeof *in6;
        }
        ok_ = bind(fd_, reinterpret_cast<sockaddr *>(&ss), sl) == 0 && listen(fd_, 4) == 0;
        sl = sizeof ss;
        getsockname(fd_, reinterpret_cast<sockaddr *>(&ss), &sl);
        port_ = std::to_string(ntohs(family == AF_INET
                                         ? reinterpret_cast<sockaddr_in *>(&ss)->sin_port
                                         : reinterpret_cast<sockaddr_in6 *>(&ss)->sin6_port));
        if (ok_)
            thread_ = std::thread([this, scenario] {
                int c = accept(fd_, nullptr, nullptr);
                if (c < 0)
                    return;
                char buf[4096];
                while (request_.find("\r\n\r\n") == std::string::npos) {
                    ssize_t n = recv(c, buf, sizeof buf, 0);
                    if (n <= 0)
                        break;
                    request_.append(buf, static_cast<size_t>(n));
                }
                scenario(c);
                close(c);
            });
    }
    ~CannedServer()
    {
        if (thread_.joinable())
            thread_.join();
        close(fd_);
    }
    bool ok() const { return ok_; }
    const std::string &port() const { return port_; }
    std::string request()
    {
        if (thread_.joinable())
            thread_.join();
        return request_;
    }

  private:
    int fd_ = -1;
    bool ok_ = false;
    std::string port_;
    std::string request_;
    std::thread thread_;
};

void send_str(int fd, const std::string &s)
{
    size_t off = 0;
    while (off < s.size()) {
        ssize_t n = send(fd, s.data() + off, s.size() - off, MSG_NOSIGNAL);
        if (n <= 0)
            return;
        off += static_cast<size_t>(n);
    }
}

// Waits (bounded) until the client closes its end.
void wait_for_close(int fd, int max_ms)
{
    char b[256];
    struct pollfd p = {fd, POLLIN, 0};
    auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(max_ms);
    while (std::chrono::steady_clock::now() < end) {
        if (poll(&p, 1, 50) > 0 && recv(fd, b, sizeof b, 0) <= 0)
            return;
    }
}

const char kBody[] = R"({"is_leader":true,"leader_id":2,"leader_ip":"127.0.0.1",)"
                     R"("command":"leader","error":null})";

TEST(CtlHttp, GetWithContentLengthInPieces)
{
    CannedServer srv([](int c) {
        std::string body = kBody;
        send_str(c, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\ncontent-length:  " +
                        std::to_string(body.size()) + " \r\n");
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
        send_str(c, "Server: test\r\n\r\n" + body.substr(0, 10));
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
        send_str(c, body.substr(10) + "trailing garbage ignored");
        wait_for_close(c, 2000);
    });
    ASSERT_TRUE(srv.ok());
    cv_http_response resp;
    char err[CV_CTL_ERRLEN];
    ASSERT_EQ(cv_http_request("127.0.0.1", srv.port().c_str(), "GET", "/commands/leader", 2000,
                              &resp, err, sizeof err),
              CV_HTTP_OK)
        << err;
    EXPECT_EQ(resp.status, 200);
    EXPECT_STREQ(resp.reason, "OK");
    EXPECT_EQ(std::string(resp.body, resp.body_len), kBody);
    EXPECT_EQ(resp.body[resp.body_len], '\0');
    cv_http_response_free(&resp);
    std::string req = srv.request();
    EXPECT_EQ(req.rfind("GET /commands/leader HTTP/1.1\r\n", 0), 0u) << req;
    EXPECT_NE(req.find("\r\nHost: 127.0.0.1:" + srv.port() + "\r\n"), std::string::npos) << req;
    EXPECT_NE(req.find("\r\nConnection: close\r\n"), std::string::npos) << req;
    EXPECT_EQ(req.find("Content-Length"), std::string::npos) << req;
}

TEST(CtlHttp, PostAndBodyUntilCloseOverIPv6)
{
    CannedServer srv(
        [](int c) {
            send_str(c, "HTTP/1.0 200 OK\r\n\r\n");
            send_str(c, R"({"command":"snapshot","error":null,"zxid":"0x5","started":true})");
        },
        AF_INET6);
    if (!srv.ok())
        GTEST_SKIP() << "no IPv6 loopback";
    cv_ctl_reply r;
    ASSERT_EQ(cv_ctl_get("::1", srv.port().c_str(), "POST", "snapshot", 2000, &r), CV_CTL_OK)
        << r.error;
    EXPECT_EQ(std::string(r.label), "[::1]:" + srv.port());
    std::string t = capture(
        [&](FILE *f) { EXPECT_EQ(cv_ctl_fmt_snapshot(r.body, r.body_len, f, nullptr, 0), 0); });
    EXPECT_EQ(t, "Snapshot started at zxid 0x5.\n");
    cv_ctl_reply_free(&r);
    std::string req = srv.request();
    EXPECT_EQ(req.rfind("POST /commands/snapshot HTTP/1.1\r\n", 0), 0u) << req;
    EXPECT_NE(req.find("\r\nHost: [::1]:" + srv.port() + "\r\n"), std::string::npos) << req;
    EXPECT_NE(req.find("\r\nContent-Length: 0\r\n"), std::string::npos) << req;
}

TEST(CtlHttp, HostnameResolves)
{
    CannedServer srv([](int c) {
        std::string b = kBody;
        send_str(c,
                 "HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(b.size()) + "\r\n\r\n" + b);
    });
    ASSERT_TRUE(srv.ok());
    cv_ctl_reply r;
    // "localhost" may resolve to ::1 first: the client must go on to 127.0.0.1
    ASSERT_EQ(cv_ctl_get("localhost", srv.port().c_str(), "GET", "leader", 2000, &r), CV_CTL_OK)
        << r.error;
    cv_ctl_reply_free(&r);
}

TEST(CtlHttp, NeverAnswersTimesOut)
{
    CannedServer srv([](int c) { wait_for_close(c, 5000); });
    ASSERT_TRUE(srv.ok());
    cv_http_response resp;
    char err[CV_CTL_ERRLEN];
    auto t0 = std::chrono::steady_clock::now();
    EXPECT_EQ(cv_http_request("127.0.0.1", srv.port().c_str(), "GET", "/commands/monitor", 300,
                              &resp, err, sizeof err),
              CV_HTTP_ETIMEOUT);
    auto ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0)
            .count();
    EXPECT_GE(ms, 250);
    EXPECT_LT(ms, 2000);
    EXPECT_STREQ(err, "no complete reply within 300 ms");
    EXPECT_EQ(resp.body, nullptr);
}

TEST(CtlHttp, HeaderButNoBodyTimesOut)
{
    CannedServer srv([](int c) {
        send_str(c, "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{\"a\":");
        wait_for_close(c, 5000);
    });
    ASSERT_TRUE(srv.ok());
    cv_ctl_reply r;
    EXPECT_EQ(cv_ctl_get("127.0.0.1", srv.port().c_str(), "GET", "monitor", 300, &r),
              CV_CTL_UNREACHABLE);
    EXPECT_STREQ(r.error, "no complete reply within 300 ms");
    EXPECT_EQ(r.body, nullptr);
}

TEST(CtlHttp, ClosesMidBody)
{
    CannedServer srv([](int c) {
        send_str(c, "HTTP/1.1 200 OK\r\nContent-Length: 500\r\n\r\n{\"command\":\"mon");
    });
    ASSERT_TRUE(srv.ok());
    cv_http_response resp;
    char err[CV_CTL_ERRLEN];
    EXPECT_EQ(cv_http_request("127.0.0.1", srv.port().c_str(), "GET", "/commands/monitor", 2000,
                              &resp, err, sizeof err),
              CV_HTTP_EIO);
    EXPECT_STREQ(err, "connection closed after 15 of 500 body bytes");
    EXPECT_EQ(resp.body, nullptr);
}

TEST(CtlHttp, ClosesWithoutReplyOrMidHeader)
{
    {
        CannedServer srv([](int) {});
        ASSERT_TRUE(srv.ok());
        cv_ctl_reply r;
        EXPECT_EQ(cv_ctl_get("127.0.0.1", srv.port().c_str(), "GET", "monitor", 2000, &r),
                  CV_CTL_UNREACHABLE);
        EXPECT_STREQ(r.error, "connection closed without a reply");
    }
    {
        CannedServer srv([](int c) { send_str(c, "HTTP/1.1 200 OK\r\nContent-"); });
        ASSERT_TRUE(srv.ok());
        cv_ctl_reply r;
        EXPECT_EQ(cv_ctl_get("127.0.0.1", srv.port().c_str(), "GET", "monitor", 2000, &r),
                  CV_CTL_UNREACHABLE);
        EXPECT_STREQ(r.error, "connection closed inside the reply header");
    }
}

TEST(CtlHttp, Non200StatusReportsTheServersError)
{
    CannedServer srv([](int c) {
        std::string b = R"({"command":"snapshot","error":"not the leader"})";
        send_str(c, "HTTP/1.1 503 Service Unavailable\r\nContent-Length: " +
                        std::to_string(b.size()) + "\r\n\r\n" + b);
    });
    ASSERT_TRUE(srv.ok());
    cv_http_response resp;
    char err[CV_CTL_ERRLEN];
    ASSERT_EQ(cv_http_request("127.0.0.1", srv.port().c_str(), "GET", "/commands/snapshot", 2000,
                              &resp, err, sizeof err),
              CV_HTTP_OK);
    EXPECT_EQ(resp.status, 503);
    EXPECT_STREQ(resp.reason, "Service Unavailable");
    EXPECT_EQ(
        cv_ctl_check_reply(resp.status, resp.reason, resp.body, resp.body_len, err, sizeof err),
        -1);
    EXPECT_STREQ(err, "HTTP 503 Service Unavailable: not the leader");
    cv_http_response_free(&resp);
}

TEST(CtlHttp, Non200ThroughCtlGet)
{
    CannedServer srv([](int c) {
        send_str(c, "HTTP/1.1 404 Not Found\r\nContent-Type: text/html\r\n"
                    "Content-Length: 9\r\n\r\n<h1>x</h1>");
    });
    ASSERT_TRUE(srv.ok());
    cv_ctl_reply r;
    EXPECT_EQ(cv_ctl_get("127.0.0.1", srv.port().c_str(), "GET", "nosuch", 2000, &r),
              CV_CTL_FAILED);
    EXPECT_STREQ(r.error, "HTTP 404 Not Found");
    EXPECT_EQ(r.body, nullptr);
}

TEST(CtlHttp, HugeHeaderBlockIsAnErrorNotACrash)
{
    // 70 KiB of headers that never end, then the same followed by a real end
    for (bool terminate : {false, true}) {
        CannedServer srv([terminate](int c) {
            std::string h = "HTTP/1.1 200 OK\r\n";
            while (h.size() < 70 * 1024)
                h += "X-Filler: " + std::string(100, 'a') + "\r\n";
            if (terminate)
                h += "Content-Length: 2\r\n\r\n{}";
            send_str(c, h);
            wait_for_close(c, 5000);
        });
        ASSERT_TRUE(srv.ok());
        cv_http_response resp;
        char err[CV_CTL_ERRLEN];
        EXPECT_EQ(cv_http_request("127.0.0.1", srv.port().c_str(), "GET", "/commands/monitor", 2000,
                                  &resp, err, sizeof err),
                  CV_HTTP_ETOOBIG);
        EXPECT_STREQ(err, "reply header block exceeds 65536 bytes");
        EXPECT_EQ(resp.body, nullptr);
    }
}

TEST(CtlHttp, OversizedContentLengthIsRefusedUpFront)
{
    CannedServer srv([](int c) {
        send_str(c, "HTTP/1.1 200 OK\r\nContent-Length: 67108865\r\n\r\n{");
        wait_for_close(c, 5000);
    });
    ASSERT_TRUE(srv.ok());
    cv_http_response resp;
    char err[CV_CTL_ERRLEN];
    EXPECT_EQ(cv_http_request("127.0.0.1", srv.port().c_str(), "GET", "/commands/dump", 2000, &resp,
                              err, sizeof err),
              CV_HTTP_ETOOBIG);
    EXPECT_STREQ(err, "reply body of 67108865 bytes exceeds the 67108864 byte limit");
}

TEST(CtlHttp, MalformedRepliesAndChunked)
{
    const std::pair<const char *, const char *> cases[] = {
        {"SSH-2.0-OpenSSH\r\n\r\n", "malformed HTTP status line"},
        {"HTTP/1.1 20 OK\r\n\r\n", "malformed HTTP status line"},
        {"HTTP/1.1 200 OK\r\nno colon here\r\n\r\n", "malformed HTTP header line"},
        {"HTTP/1.1 200 OK\r\nContent-Length: 12a\r\n\r\n", "bad Content-Length header"},
        {"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n",
         "conflicting Content-Length headers"},
        {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n",
         "unsupported Transfer-Encoding \"chunked\""},
    };
    for (const auto &k : cases) {
        std::string reply = k.first;
        CannedServer srv([reply](int c) { send_str(c, reply); });
        ASSERT_TRUE(srv.ok());
        cv_http_response resp;
        char err[CV_CTL_ERRLEN];
        EXPECT_EQ(cv_http_request("127.0.0.1", srv.port().c_str(), "GET", "/commands/x", 2000,
                                  &resp, err, sizeof err),
                  CV_HTTP_EPROTO)
            << k.first;
        EXPECT_STREQ(err, k.second);
    }
    // status line with no reason phrase is valid
    CannedServer srv([](int c) { send_str(c, "HTTP/1.1 204\r\n\r\n"); });
    cv_http_response resp;
    char err[CV_CTL_ERRLEN];
    ASSERT_EQ(
        cv_http_request("127.0.0.1", srv.port().c_str(), "GET", "/x", 2000, &resp, err, sizeof err),
        CV_HTTP_OK)
        << err;
    EXPECT_EQ(resp.status, 204);
    EXPECT_EQ(resp.body_len, 0u);
    cv_http_response_free(&resp);
}

TEST(CtlHttp, MalformedJsonThroughCtlGet)
{
    CannedServer srv(
        [](int c) { send_str(c, "HTTP/1.1 200 OK\r\nContent-Length: 12\r\n\r\n{\"a\": 1,,}  "); });
    ASSERT_TRUE(srv.ok());
    cv_ctl_reply r;
    EXPECT_EQ(cv_ctl_get("127.0.0.1", srv.port().c_str(), "GET", "monitor", 2000, &r),
              CV_CTL_FAILED);
    EXPECT_EQ(std::string(r.error).rfind("malformed JSON reply: ", 0), 0u) << r.error;
}

TEST(CtlHttp, ConnectionRefusedAndBadArguments)
{
    // a port that was just bound and released: nobody listens there
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in in;
    memset(&in, 0, sizeof in);
    in.sin_family = AF_INET;
    in.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr *>(&in), sizeof in), 0);
    socklen_t sl = sizeof in;
    getsockname(fd, reinterpret_cast<sockaddr *>(&in), &sl);
    std::string port = std::to_string(ntohs(in.sin_port));
    close(fd);
    cv_ctl_reply r;
    EXPECT_EQ(cv_ctl_get("127.0.0.1", port.c_str(), "GET", "monitor", 2000, &r),
              CV_CTL_UNREACHABLE);
    EXPECT_EQ(std::string(r.error), "connect to 127.0.0.1 port " + port + ": Connection refused");

    cv_http_response resp;
    char err[CV_CTL_ERRLEN];
    EXPECT_EQ(cv_http_request("127.0.0.1", "80", "GET", "no-slash", 1000, &resp, err, sizeof err),
              CV_HTTP_EINVAL);
    EXPECT_EQ(cv_http_request("127.0.0.1", "80", "GET", "/a b", 1000, &resp, err, sizeof err),
              CV_HTTP_EINVAL);
    EXPECT_EQ(cv_http_request("127.0.0.1", "80", "get", "/a", 1000, &resp, err, sizeof err),
              CV_HTTP_EINVAL);
    EXPECT_EQ(cv_http_request("127.0.0.1", "80", "GET", "/a", 0, &resp, err, sizeof err),
              CV_HTTP_EINVAL);
    EXPECT_EQ(cv_http_request("127.0.0.1", "notaport", "GET", "/a", 1000, &resp, err, sizeof err),
              CV_HTTP_ERESOLVE);
}

} // namespace
