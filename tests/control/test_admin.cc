// cv_admin: every AdminServer command rendered from a view must have the
// shape (member names, nesting, JSON types) of what a real ZooKeeper 3.8
// answered (admin_golden/, see its README); monitor / server_stats must carry
// the figures mntr / srvr print from the same view; where the recorded values
// are reproduced in the view, the bytes must be ZooKeeper's.
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "cv_admin.h"
#include "test_lines.h"

namespace
{

std::string golden(const std::string &name)
{
    std::ifstream f(std::string(CV_ADMIN_GOLDEN_DIR) + "/" + name, std::ios::binary);
    EXPECT_TRUE(f.good()) << name;
    std::stringstream ss;
    ss << f.rdbuf();
    return ss.str();
}

bool exists(const std::string &name)
{
    std::ifstream f(std::string(CV_ADMIN_GOLDEN_DIR) + "/" + name);
    return f.good();
}

struct Json {
    json_t *j = nullptr;
    explicit Json(const std::string &text)
    {
        json_error_t e;
        j = json_loadb(text.data(), text.size(), 0, &e);
        EXPECT_NE(nullptr, j) << e.text << " in: " << text.substr(0, 200);
    }
    ~Json() { json_decref(j); }
    Json(const Json &) = delete;
    Json &operator=(const Json &) = delete;
};

// Objects whose keys are data (ids, paths, times, property names): compare the
// shape of their values only.
const std::set<std::string> kDynamic = {
    "expiry_time_to_session_ids", "session_id_to_ephemeral_paths", "session_id_to_watched_paths",
    "path_to_session_ids", "current_config"};

std::string type_name(const json_t *j)
{
    switch (json_typeof(j)) {
    case JSON_OBJECT: return "object";
    case JSON_ARRAY: return "array";
    case JSON_STRING: return "string";
    case JSON_INTEGER: return "integer";
    case JSON_REAL: return "real";
    case JSON_TRUE:
    case JSON_FALSE: return "bool";
    case JSON_NULL: return "null";
    }
    return "?";
}

bool ends_with(const std::string &s, const std::string &t)
{
    return s.size() >= t.size() && s.compare(s.size() - t.size(), t.size(), t) == 0;
}

bool mntr_dynamic(const std::string &k);

// Differences between the golden's shape and ours, one line each.
void shape(const json_t *g, const json_t *o, const std::string &path, bool dynamic,
           std::vector<std::string> &diffs)
{
    if (type_name(g) != type_name(o)) {
        diffs.push_back(path + ": golden " + type_name(g) + ", ours " + type_name(o));
        return;
    }
    if (json_is_array(g)) {
        if (json_array_size(g) && json_array_size(o))
            shape(json_array_get(g, 0), json_array_get(o, 0), path + "[0]", false, diffs);
        return;
    }
    if (!json_is_object(g))
        return;
    const char *k;
    json_t *v;
    if (dynamic) {
        // "command" / "error" of a body that is itself a map (system_properties)
        // are compared as members; every other value against the golden's first.
        auto fixed = [](const char *key) {
            return !strcmp(key, "command") || !strcmp(key, "error");
        };
        json_t *first = nullptr;
        json_object_foreach(const_cast<json_t *>(g), k, v)
        {
            if (fixed(k))
                continue;
            first = v;
            break;
        }
        json_object_foreach(const_cast<json_t *>(o), k, v)
        {
            if (fixed(k))
                shape(json_object_get(g, k) ? json_object_get(g, k) : json_null(), v,
                      path + "." + k, false, diffs);
            else if (first)
                shape(first, v, path + "{" + k + "}", false, diffs);
        }
        return;
    }
    json_object_foreach(const_cast<json_t *>(g), k, v)
    {
        if (mntr_dynamic(k)) // not printed by mntr either
            continue;
        json_t *ov = json_object_get(o, k);
        if (!ov)
            diffs.push_back(path + "." + k + ": missing in ours");
        else
            shape(v, ov, path + "." + k, kDynamic.count(k) > 0, diffs);
    }
    json_object_foreach(const_cast<json_t *>(o), k, v)
    {
        if (json_object_get(g, k))
            continue;
        diffs.push_back(path + "." + k + ": not in golden");
    }
}

// mntr keys ZooKeeper adds per top-level znode (*_per_namespace) and per
// learner on a leader ({avg,min,max,cnt,sum,p50..}_<sid>_learner_handler_qp_*):
// dynamic, and not printed by cv_fourlw's mntr (so not by monitor).
bool mntr_dynamic(const std::string &k)
{
    if (ends_with(k, "_per_namespace"))
        return true;
    size_t p = k.find("_learner_handler_qp_");
    if (p == std::string::npos)
        return false;
    size_t u = k.rfind('_', p - 1);
    return u != std::string::npos && u + 1 < p && k.find_first_not_of("0123456789", u + 1) == p;
}

const int64_t kSess = 72059767151984640LL;

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

// A view holding the recorded standalone server's state
// (admin_golden/standalone): one kazoo session with an ephemeral and a data
// watch on /app.
struct View {
    struct cv_config cfg;
    struct cv_fourlw_env env;
    std::vector<struct cv_fourlw_conn> conns;
    std::vector<struct cv_fourlw_session> sessions;
    std::vector<struct cv_admin_observer> observers;
    struct cv_fourlw_view v;
    struct cv_admin_extra x;

    static int walk_watches(void *, bool, cv_fourlw_visit_fn visit, void *vctx)
    {
        std::string tmp = "/app"; // the pointer is valid for the call only
        int rc = visit(vctx, kSess, tmp.data(), tmp.size(), 1);
        tmp.assign(tmp.size(), 'X');
        return rc;
    }
    static int walk_ephemerals(void *, cv_fourlw_visit_fn visit, void *vctx)
    {
        return visit(vctx, kSess, "/app/eph-a", 10, 0);
    }

    explicit View(const std::string &setup = "standalone")
    {
        setenv("TZ", "UTC", 1);
        tzset();
        std::string text = "tickTime=2000\ndataDir=/tmp/d\nmaxClientCnxns=60\n"
                           "4lw.commands.whitelist=*\n";
        bool quorum = setup != "standalone";
        if (!quorum) {
            text += "clientPort=28181\nclientPortAddress=127.0.0.1\n";
        } else {
            text += "initLimit=10\nsyncLimit=5\ncorvid.secret=00112233445566778899aabbccddeeff\n";
            for (int i = 1; i <= 4; i++)
                text += "server." + std::to_string(i) + "=127.0.0.1:" + std::to_string(28290 + i) +
                        ":" + std::to_string(28390 + i) + (i == 4 ? ":observer" : "") +
                        ";127.0.0.1:" + std::to_string(28190 + i) + "\n";
            if (setup == "observer")
                text += "peerType=observer\n";
        }
        char err[256];
        EXPECT_EQ(0, cv_config_parse_string(&cfg, text.data(), text.size(), "t", err, sizeof err,
                                            nullptr, nullptr))
            << err;
        memset(&v, 0, sizeof v);
        memset(&x, 0, sizeof x);
        v.config = &cfg;
        v.version = "3.8.0-${mvngit.commit.id}, built on 2024-12-29 17:54 UTC";
        v.serving = setup != "notserving";
        v.mode = setup == "leader"     ? CV_FOURLW_LEADER
                 : setup == "observer" ? CV_FOURLW_OBSERVER
                 : quorum              ? CV_FOURLW_FOLLOWER
                                       : CV_FOURLW_STANDALONE;
        int id = setup == "leader" ? 2 : setup == "observer" ? 4 : quorum ? 1 : 0;
        cfg.my_id = id;
        x.server_id = id;
        v.peer_state = v.mode == CV_FOURLW_LEADER     ? "leading - broadcast"
                       : v.mode == CV_FOURLW_FOLLOWER ? "following - broadcast"
                       : v.mode == CV_FOURLW_OBSERVER ? "observing - broadcast"
                                                      : nullptr;
        v.quorum_size = 3;
        v.zxid = quorum ? 0x100000007LL : 3;
        v.latency = {8, 9, 0, 3}; // avg 1.125
        v.packets_received = v.packets_sent = 9;
        v.node_count = 7;
        v.data_dir_size = v.log_dir_size = 67109337;
        v.trace_mask = 306;
        v.uptime_ms = 1133;
        v.response_last = 21;
        v.response_min = 16;
        v.response_max = 88;
        v.proposal_last = v.proposal_max = 95;
        v.proposal_min = 48;
        v.watch_sessions = v.watch_paths = v.watch_pairs = 1;
        v.walk_watches = walk_watches;
        v.walk_ephemerals = walk_ephemerals;
        struct cv_fourlw_conn c;
        memset(&c, 0, sizeof c);
        c.remote = v4("127.0.0.1", 54636);
        c.interest_ops = 1;
        c.received = c.sent = 8;
        c.session_id = kSess;
        c.last_op = "SYNC";
        c.established_ms = 1795481693511LL;
        c.timeout = 10000;
        c.last_cxid = 7;
        c.last_zxid = 3;
        c.last_response_ms = 33159302;
        c.last_latency = 0;
        c.latency = {8, 9, 0, 3}; // avg 9 / 8 = 1 (integer, as ServerCnxn)
        conns = {c};
        v.conns = conns.data();
        v.nconns = conns.size();
        sessions = {{kSess, 1795481713511LL}};
        v.sessions = sessions.data();
        v.nsessions = sessions.size();
        x.clock_offset_ms = 33170000 - 1795481713511LL;
        memset(&env, 0, sizeof env);
        strcpy(env.host_name, "localhost");
        strcpy(env.os_name, "Linux");
        strcpy(env.os_arch, "amd64");
        strcpy(env.os_version, "6.18.44-fc-v657");
        strcpy(env.user_name, "root");
        strcpy(env.user_home, "/root");
        strcpy(env.user_dir, "/work/main");
        env.mem_free = 245LL << 20;
        env.mem_max = env.mem_total = 256LL << 20;
        v.env = &env;
        x.is_leader = v.mode == CV_FOURLW_LEADER;
        x.leader_id = 2;
        x.leader_ip = "127.0.0.1";
        x.last_snapshot_zxid = 0;
        x.last_snapshot_time_ms = 1795481693000LL;
        x.initial_config = quorum ? nullptr : "tickTime=2000\n";
        if (v.mode == CV_FOURLW_LEADER) {
            struct cv_admin_observer o;
            memset(&o, 0, sizeof o);
            o.remote = v4("127.0.0.1", 49286);
            o.sid = 4;
            o.established_ms = 1795481700237LL;
            o.queued_packets_size = -298;
            o.packets_received = 5;
            o.packets_sent = 11;
            o.requests = 3;
            o.last_zxid = 4294967303LL;
            observers = {o};
            x.observers = observers.data();
            x.nobservers = observers.size();
        }
    }

    std::string render(const char *cmd, unsigned *actions = nullptr)
    {
        errno = 0;
        char *s = cv_admin_render(cmd, &v, &x, actions);
        EXPECT_NE(nullptr, s) << cmd << " errno " << errno;
        std::string r = s ? s : "";
        free(s);
        return r;
    }
    std::string word(const char *w)
    {
        static char buf[1 << 16];
        int n = cv_fourlw_render(w, &v, buf, sizeof buf, nullptr);
        EXPECT_GE(n, 0) << w;
        return n < 0 ? std::string() : std::string(buf, (size_t)n);
    }
};

const char *kSetups[] = {"standalone", "leader", "follower", "observer", "notserving"};

} // namespace

TEST(Admin, EveryCommandHasTheRecordedShapeInEveryMode)
{
    for (const char *setup : kSetups) {
        View r(setup);
        for (size_t i = 0; i < cv_admin_ncommands(); i++) {
            const char *name = cv_admin_command_at(i)->name;
            std::string file = std::string(setup) + "/" + name + ".json";
            ASSERT_TRUE(exists(file)) << file;
            std::string g = golden(file);
            if (g.rfind("<html>", 0) == 0) // ZooKeeper's 500 (monitor, not serving)
                continue;
            std::string ours = r.render(name);
            Json gj(g), oj(ours);
            ASSERT_TRUE(gj.j && oj.j) << file;
            std::vector<std::string> diffs;
            shape(gj.j, oj.j, std::string(setup) + "/" + name,
                  std::string(name) == "system_properties", diffs);
            EXPECT_TRUE(diffs.empty()) << file << ":\n"
                                       << [&] {
                                              std::string s;
                                              for (auto &d : diffs)
                                                  s += "  " + d + "\n";
                                              return s + ours;
                                          }();
        }
    }
}

TEST(Admin, RecordedValuesGiveZooKeepersBytes)
{
    View r;
    for (const char *name :
         {"connections", "dirs", "dump", "get_trace_mask", "hash", "is_read_only", "leader",
          "observers", "ruok", "voting_view", "watch_summary", "watches", "watches_by_path",
          "zabstate", "connection_stat_reset", "observer_connection_stat_reset", "stat_reset",
          "set_trace_mask"})
        EXPECT_EQ(golden(std::string("standalone/") + name + ".json"), r.render(name)) << name;
    // environment: ZooKeeper's bytes except the java.* values (envi's <NA>)
    std::vector<std::string> g = lines(golden("standalone/environment.json")),
                             o = lines(r.render("environment"));
    ASSERT_EQ(g.size(), o.size());
    for (size_t i = 0; i < g.size(); i++)
        if (g[i].find("\"java.") == std::string::npos)
            EXPECT_EQ(g[i], o[i]);
        else
            EXPECT_EQ(g[i].substr(0, g[i].find(" : ")) + " : \"<NA>\",", o[i]);
    // a quorum's leader / observers / voting_view / zabstate
    View l("leader");
    for (const char *name : {"leader", "observers", "voting_view", "zabstate", "watch_summary"})
        EXPECT_EQ(golden(std::string("leader/") + name + ".json"), l.render(name)) << name;
    View f("follower");
    for (const char *name : {"leader", "voting_view", "zabstate", "observers"})
        EXPECT_EQ(golden(std::string("follower/") + name + ".json"), f.render(name)) << name;
    View ob("observer");
    for (const char *name : {"leader", "zabstate"})
        EXPECT_EQ(golden(std::string("observer/") + name + ".json"), ob.render(name)) << name;
    View ns("notserving");
    for (const char *name : {"ruok", "connections", "dump", "zabstate", "get_trace_mask"})
        EXPECT_EQ(golden(std::string("notserving/") + name + ".json"), ns.render(name)) << name;
}

TEST(Admin, StandaloneServerStatsMatchesRecordedBytesButUptime)
{
    View r;
    std::string g = golden("standalone/server_stats.json");
    EXPECT_EQ(g, r.render("server_stats"));
    std::string s = golden("standalone/stats.json");
    r.v.uptime_ms = 1143;
    EXPECT_EQ(s, r.render("stats"));
}

TEST(Admin, MonitorCarriesExactlyMntrsFigures)
{
    for (const char *setup : {"standalone", "leader", "follower", "observer"}) {
        View r(setup);
        r.v.read_latency = {7, 5, 0, 2, 1, 2, 2, 2};
        r.v.update_latency = {8, 44, 1, 14, 4, 14, 14, 14};
        r.v.latency = {15, 49, 0, 14}; // avg 3.2667
        std::vector<std::string> ml = lines(r.word("mntr"));
        Json m(r.render("mntr"));
        ASSERT_TRUE(m.j);
        ASSERT_EQ(ml.size() + 2, json_object_size(m.j)); // + command, error
        const char *k;
        json_t *val;
        size_t i = 0;
        json_object_foreach(m.j, k, val)
        {
            if (i == ml.size())
                break;
            std::string line = ml[i++];
            std::string key = line.substr(3, line.find('\t') - 3),
                        text = line.substr(line.find('\t') + 1);
            EXPECT_EQ(key, k);
            if (json_is_string(val)) {
                EXPECT_EQ(text, json_string_value(val)) << key;
            } else if (json_is_integer(val)) {
                EXPECT_EQ(text, std::to_string(json_integer_value(val))) << key;
            } else {
                ASSERT_TRUE(json_is_real(val)) << key;
                char d[64];
                cv_fourlw_java_double(json_real_value(val), d, sizeof d);
                EXPECT_EQ(text, d) << key;
                EXPECT_NE(std::string::npos, text.find('.')) << key;
            }
        }
        EXPECT_TRUE(json_is_null(json_object_get(m.j, "error")));
        EXPECT_STREQ("monitor", json_string_value(json_object_get(m.j, "command")));
        // and ZooKeeper's key order
        Json g(golden(std::string(setup) + "/monitor.json"));
        std::vector<std::string> gk, ok;
        json_object_foreach(g.j, k, val) if (!mntr_dynamic(k)) gk.push_back(k);
        json_object_foreach(m.j, k, val) ok.push_back(k);
        EXPECT_EQ(gk, ok) << setup;
    }
}

TEST(Admin, ServerStatsAgreeWithSrvr)
{
    for (const char *setup : {"standalone", "leader"}) {
        View r(setup);
        r.v.latency = {3, 2, 0, 1}; // avg 0.6667
        Json s(r.render("server_stats"));
        json_t *ss = json_object_get(s.j, "server_stats");
        ASSERT_TRUE(ss);
        std::map<std::string, std::string> srvr;
        for (const std::string &l : lines(r.word("srvr")))
            srvr[l.substr(0, l.find(": "))] = l.substr(l.find(": ") + 2);
        char avg[64];
        cv_fourlw_java_double(json_real_value(json_object_get(ss, "avg_latency")), avg, sizeof avg);
        EXPECT_EQ(srvr["Latency min/avg/max"],
                  std::to_string(json_integer_value(json_object_get(ss, "min_latency"))) + "/" +
                      avg + "/" +
                      std::to_string(json_integer_value(json_object_get(ss, "max_latency"))));
        EXPECT_EQ(srvr["Received"],
                  std::to_string(json_integer_value(json_object_get(ss, "packets_received"))));
        EXPECT_EQ(srvr["Sent"],
                  std::to_string(json_integer_value(json_object_get(ss, "packets_sent"))));
        EXPECT_EQ(srvr["Connections"], std::to_string(json_integer_value(
                                           json_object_get(ss, "num_alive_client_connections"))));
        EXPECT_EQ(srvr["Outstanding"],
                  std::to_string(json_integer_value(json_object_get(ss, "outstanding_requests"))));
        char zx[32];
        snprintf(zx, sizeof zx, "0x%llx",
                 (long long)json_integer_value(json_object_get(ss, "last_processed_zxid")));
        EXPECT_EQ(srvr["Zxid"], zx);
        EXPECT_EQ(srvr["Mode"], json_string_value(json_object_get(ss, "server_state")));
        EXPECT_EQ(srvr["Node count"],
                  std::to_string(json_integer_value(json_object_get(s.j, "node_count"))));
        if (r.v.mode == CV_FOURLW_LEADER) {
            json_t *p = json_object_get(s.j, "proposal_stats");
            EXPECT_EQ(
                srvr["Proposal sizes last/min/max"],
                std::to_string(json_integer_value(json_object_get(p, "last_buffer_size"))) + "/" +
                    std::to_string(json_integer_value(json_object_get(p, "min_buffer_size"))) +
                    "/" +
                    std::to_string(json_integer_value(json_object_get(p, "max_buffer_size"))));
        }
    }
}

TEST(Admin, AliasesResolveAndUnknownCommandsAnswerAsZooKeeper)
{
    const std::map<std::string, std::string> aliases = {{"conf", "configuration"},
                                                        {"config", "configuration"},
                                                        {"crst", "connection_stat_reset"},
                                                        {"cons", "connections"},
                                                        {"env", "environment"},
                                                        {"envi", "environment"},
                                                        {"gtmk", "get_trace_mask"},
                                                        {"icfg", "initial_configuration"},
                                                        {"isro", "is_read_only"},
                                                        {"lsnp", "last_snapshot"},
                                                        {"lead", "leader"},
                                                        {"mntr", "monitor"},
                                                        {"orst", "observer_connection_stat_reset"},
                                                        {"obsr", "observers"},
                                                        {"srvr", "server_stats"},
                                                        {"stmk", "set_trace_mask"},
                                                        {"srst", "stat_reset"},
                                                        {"stat", "stats"},
                                                        {"sysp", "system_properties"},
                                                        {"wchs", "watch_summary"},
                                                        {"wchc", "watches"},
                                                        {"wchp", "watches_by_path"}};
    for (const auto &a : aliases) {
        const struct cv_admin_command *c = cv_admin_find(a.first.c_str());
        ASSERT_NE(nullptr, c) << a.first;
        EXPECT_EQ(a.second, c->name);
    }
    size_t naliases = 0;
    for (size_t i = 0; i < cv_admin_ncommands(); i++) {
        const struct cv_admin_command *c = cv_admin_command_at(i);
        EXPECT_EQ(c, cv_admin_find(c->name));
        EXPECT_TRUE(c->supported) << c->name;
        for (size_t k = 0; k < 3 && c->aliases[k]; k++)
            naliases++;
    }
    EXPECT_EQ(aliases.size(), naliases);
    EXPECT_EQ(26u, cv_admin_ncommands());
    EXPECT_EQ(nullptr, cv_admin_command_at(26));
    EXPECT_EQ(nullptr, cv_admin_find("nosuch"));
    EXPECT_EQ(nullptr, cv_admin_find(nullptr));
    View r;
    errno = 0;
    EXPECT_EQ(nullptr, cv_admin_render("nosuch", &r.v, &r.x, nullptr));
    EXPECT_EQ(ENOENT, errno);
    int status = 0;
    char *u = cv_admin_render_unknown("nosuch", &status);
    ASSERT_NE(nullptr, u);
    EXPECT_EQ(golden("standalone/unknown_nosuch.json"), u);
    EXPECT_EQ(200, status);
    free(u);
    // an alias answers under the primary name, as ZooKeeper does
    Json a(r.render("mntr")), g(golden("standalone/alias_mntr.json"));
    EXPECT_STREQ("monitor", json_string_value(json_object_get(a.j, "command")));
    std::vector<std::string> d;
    shape(g.j, a.j, "mntr", false, d);
    EXPECT_TRUE(d.empty());
    char *idx = cv_admin_render_index();
    ASSERT_NE(nullptr, idx);
    EXPECT_EQ(golden("standalone/commands.html"), idx);
    free(idx);
}

TEST(Admin, MutatingCommandsAskForTheirAction)
{
    View r;
    unsigned actions = 99;
    r.render("crst", &actions);
    EXPECT_EQ(CV_FOURLW_RESET_CONN_STATS, actions);
    r.render("stat_reset", &actions);
    EXPECT_EQ(CV_FOURLW_RESET_SERVER_STATS, actions);
    r.render("orst", &actions);
    EXPECT_EQ(CV_ADMIN_RESET_OBSERVER_STATS, actions);
    r.render("stmk", &actions);
    EXPECT_EQ(0u, actions); // no traceMask: error, nothing to do
    r.x.trace_mask_arg = "306";
    EXPECT_EQ(golden("standalone/set_trace_mask_306.json"), r.render("stmk", &actions));
    EXPECT_EQ(CV_ADMIN_SET_TRACE_MASK, actions);
    r.x.trace_mask_arg = "0x1";
    r.render("stmk", &actions);
    EXPECT_EQ(0u, actions);
    for (const char *w : {"monitor", "dump", "ruok", "stats"}) {
        r.render(w, &actions);
        EXPECT_EQ(0u, actions) << w;
    }
    // not serving: nothing is reset
    r.v.serving = false;
    r.render("crst", &actions);
    EXPECT_EQ(0u, actions);
    for (size_t i = 0; i < cv_admin_ncommands(); i++)
        EXPECT_EQ(cv_admin_command_at(i)->needs & CV_ADMIN_MUTATES ? 1 : 0,
                  std::set<std::string>({"connection_stat_reset", "observer_connection_stat_reset",
                                         "stat_reset", "set_trace_mask"})
                      .count(cv_admin_command_at(i)->name))
            << cv_admin_command_at(i)->name;
    // connections after crst: ZooKeeper's shape
    Json g(golden("standalone/connections_after_crst.json"));
    r.v.serving = true;
    Json o(r.render("cons"));
    std::vector<std::string> d;
    shape(g.j, o.j, "cons", false, d);
    EXPECT_TRUE(d.empty());
}

TEST(Admin, ParseLongIsJavas)
{
    int64_t v = 0;
    EXPECT_TRUE(cv_admin_parse_long("306", &v));
    EXPECT_EQ(306, v);
    EXPECT_TRUE(cv_admin_parse_long("-9223372036854775808", &v));
    EXPECT_EQ(INT64_MIN, v);
    EXPECT_TRUE(cv_admin_parse_long("+7", &v));
    EXPECT_EQ(7, v);
    for (const char *bad : {"", "-", "9223372036854775808", "1 ", "0x10", "1.0", " 1"})
        EXPECT_FALSE(cv_admin_parse_long(bad, &v)) << bad;
    EXPECT_FALSE(cv_admin_parse_long(nullptr, &v));
}

TEST(Admin, LastSnapshotAndInitialConfiguration)
{
    View r;
    EXPECT_NE(std::string::npos,
              r.render("lsnp").find("\"zxid\" : \"0\",\n  \"timestamp\" : 1795481693,"));
    r.x.last_snapshot_zxid = -1;
    EXPECT_NE(std::string::npos,
              r.render("lsnp").find("\"zxid\" : \"ffffffffffffffff\",\n  \"timestamp\" : -1,"));
    r.x.initial_config = "a=\"b\"\n\tc\\\x01";
    EXPECT_NE(
        std::string::npos,
        r.render("icfg").find("\"initial_configuration\" : \"a=\\\"b\\\"\\n\\tc\\\\\\u0001\""));
    EXPECT_EQ(nullptr, cv_admin_render(nullptr, &r.v, nullptr, nullptr));
    // without extras every command still renders
    for (size_t i = 0; i < cv_admin_ncommands(); i++) {
        char *s = cv_admin_render(cv_admin_command_at(i)->name, &r.v, nullptr, nullptr);
        EXPECT_NE(nullptr, s) << cv_admin_command_at(i)->name;
        free(s);
    }
}

TEST(Admin, Ipv6ConnectionsPrintAsJackson)
{
    View r;
    auto *in6 = reinterpret_cast<struct sockaddr_in6 *>(&r.conns[0].remote);
    memset(&r.conns[0].remote, 0, sizeof r.conns[0].remote);
    in6->sin6_family = AF_INET6;
    in6->sin6_port = htons(5000);
    inet_pton(AF_INET6, "fe80::1:0:abcd", &in6->sin6_addr);
    EXPECT_NE(
        std::string::npos,
        r.render("cons").find("\"remote_socket_address\" : \"[fe80:0:0:0:0:1:0:abcd]:5000\""));
    inet_pton(AF_INET6, "::ffff:10.1.2.3", &in6->sin6_addr);
    EXPECT_NE(std::string::npos,
              r.render("cons").find("\"remote_socket_address\" : \"10.1.2.3:5000\""));
}
