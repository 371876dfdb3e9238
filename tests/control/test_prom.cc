// cv_prom: the registry rendered as Prometheus text format 0.0.4. A registry
// filled on two slots through the writers must render HELP/TYPE for every
// definition, per-lcore samples labelled by lcore, self-consistent cumulative
// histograms, signed values, escaped labels and help, -ENOBUFS on a short
// buffer; and the whole exposition must pass prometheus_client's parser
// (tests/control/prom_parse.py).
#include <gtest/gtest.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "cv_metrics.h"
#include "cv_prom.h"
#include "test_lines.h"

// The parser script: given by the build, or found beside this file.
#ifndef CV_PROM_PARSE_PY
#define CV_PROM_PARSE_PY                                                                           \
    (std::string(__FILE__).substr(0, std::string(__FILE__).rfind('/') + 1) + "prom_parse.py")      \
        .c_str()
#endif

namespace
{

bool has_line(const std::string &text, const std::string &line)
{
    for (const auto &l : lines(text))
        if (l == line)
            return true;
    return false;
}

// The sample lines "name{labels} value" / "name value" -> value text.
std::map<std::string, std::string> samples(const std::string &text)
{
    std::map<std::string, std::string> out;
    for (const auto &l : lines(text)) {
        if (l.empty() || l[0] == '#')
            continue;
        size_t sp = l.rfind(' ');
        out[l.substr(0, sp)] = l.substr(sp + 1);
    }
    return out;
}

std::string render(const struct cv_metrics_read &r, const cv_prom_info *info)
{
    std::vector<char> buf(1 << 20);
    int n = cv_prom_render(&r, info, buf.data(), buf.size());
    EXPECT_GT(n, 0);
    if (n <= 0)
        return "";
    EXPECT_EQ(strlen(buf.data()), (size_t)n);
    return std::string(buf.data(), (size_t)n);
}

class PromTest : public ::testing::Test
{
  protected:
    void SetUp() override
    {
        m = cv_metrics_new();
        ASSERT_NE(m, nullptr);
        seq = cv_metrics_claim(m, 0, 1); // the sequencer on lcore 1
        io = cv_metrics_claim(m, 1, 2);  // an io lcore on lcore 2
        ASSERT_NE(seq, nullptr);
        ASSERT_NE(io, nullptr);

        cv_metric_add(seq, CV_M_PACKETS_RECEIVED, 40);
        cv_metric_add(seq, CV_M_PACKETS_RECEIVED, 2);
        cv_metric_set(seq, CV_M_ZNODE_COUNT, 7);
        cv_metric_set_i(seq, CV_M_LEADER_ID, -1);
        cv_metric_set_i(seq, CV_M_PROPOSAL_MIN, -1);
        cv_metric_set_i(seq, CV_M_ZXID, 0x100000005LL);
        cv_metric_add(seq, CV_M_ELECTIONS, 3);
        cv_metric_set(seq, CV_M_DATA_SIZE, 18446744073709551615ull); // uint64 max: unsigned

        cv_metric_add(seq, CV_M_LCORE_ITERATIONS, 1000);
        cv_metric_add(seq, CV_M_LCORE_BUSY, 250);
        cv_metric_add(io, CV_M_LCORE_ITERATIONS, 500);
        cv_metric_add(io, CV_M_LCORE_BUSY, 100);
        cv_metric_set(io, CV_M_IO_RING_TO_SEQ, 12);
        cv_metric_add(io, CV_M_IO_REFUSED, 4);

        // Request latency on both slots: 0us, 1us, 3us, 100us, 1s, and a huge one.
        for (uint64_t us : {0ull, 1ull, 3ull, 100ull})
            cv_hist_add(seq, CV_H_REQUEST_LATENCY, us);
        cv_hist_add(io, CV_H_REQUEST_LATENCY, 1000000);
        cv_hist_add(io, CV_H_REQUEST_LATENCY, 1ull << 40);
        cv_hist_add(seq, CV_H_LOG_WRITE, 250);

        cv_metrics_read(m, &r);
    }
    void TearDown() override { cv_metrics_free(m); }

    cv_metrics *m = nullptr;
    cv_metrics_slot *seq = nullptr, *io = nullptr;
    struct cv_metrics_read r;
    cv_prom_info info = {"3.8.4-corvid", "leader", 3};
};

TEST_F(PromTest, HelpAndTypeForEveryDefinition)
{
    std::string t = render(r, &info);
    for (unsigned id = 0; id < CV_M_COUNT; id++) {
        const cv_metric_def &d = cv_metric_defs[id];
        SCOPED_TRACE(d.name);
        EXPECT_TRUE(has_line(t, std::string("# HELP ") + d.name + " " + d.help));
        std::string type = cv_prom_type((cv_metric_id)id);
        EXPECT_TRUE(has_line(t, std::string("# TYPE ") + d.name + " " + type));
        if (d.kind == CV_METRIC_GAUGE) {
            EXPECT_EQ(type, "gauge");
        }
    }
    for (unsigned id = 0; id < CV_H_COUNT; id++) {
        const cv_hist_def &d = cv_hist_defs[id];
        EXPECT_TRUE(has_line(t, std::string("# HELP ") + d.name + " " + d.help));
        EXPECT_TRUE(has_line(t, std::string("# TYPE ") + d.name + " histogram"));
    }
    EXPECT_TRUE(has_line(t, "# TYPE corvid_info gauge"));
    // Every line is a comment or a sample; no blank lines; ends in a newline.
    EXPECT_EQ(t.back(), '\n');
    for (const auto &l : lines(t))
        EXPECT_FALSE(l.empty());
}

TEST_F(PromTest, TypesFollowZooKeeper)
{
    // ZooKeeper 3.8 registers these as gauges (ZooKeeperServer.registerMetrics).
    EXPECT_STREQ(cv_prom_type(CV_M_PACKETS_RECEIVED), "gauge");
    EXPECT_STREQ(cv_prom_type(CV_M_PACKETS_SENT), "gauge");
    EXPECT_STREQ(cv_prom_type(CV_M_AUTH_FAILED), "gauge");
    // ... and these as counters (ServerMetrics), sample name unchanged.
    EXPECT_STREQ(cv_prom_type(CV_M_ELECTIONS), "counter");
    EXPECT_STREQ(cv_prom_type(CV_M_SNAPSHOTS), "counter");
    EXPECT_STREQ(cv_prom_type(CV_M_IO_REFUSED), "counter");
    EXPECT_STREQ(cv_prom_type(CV_M_REQUESTS), "counter");
    EXPECT_STREQ(cv_prom_type(CV_M_ZNODE_COUNT), "gauge");
    auto s = samples(render(r, &info));
    EXPECT_EQ(s["looking_count"], "3");
    EXPECT_EQ(s["packets_received"], "42");
    EXPECT_EQ(s.count("looking_count_total"), 0u);
}

TEST_F(PromTest, ValuesSignedAndUnsigned)
{
    auto s = samples(render(r, &info));
    EXPECT_EQ(s["znode_count"], "7");
    EXPECT_EQ(s["corvid_leader_id"], "-1");
    EXPECT_EQ(s["min_proposal_size"], "-1");
    EXPECT_EQ(s["max_proposal_size"], "0");
    EXPECT_EQ(s["corvid_last_zxid"], "4294967301");
    EXPECT_EQ(s["approximate_data_size"], "18446744073709551615");
    EXPECT_EQ(s["outstanding_requests"], "0");
}

TEST_F(PromTest, PerLcoreSamplesLabelledNoTotal)
{
    auto s = samples(render(r, &info));
    EXPECT_EQ(s["corvid_lcore_iterations_total{lcore=\"1\"}"], "1000");
    EXPECT_EQ(s["corvid_lcore_iterations_total{lcore=\"2\"}"], "500");
    EXPECT_EQ(s["corvid_lcore_busy_iterations_total{lcore=\"1\"}"], "250");
    EXPECT_EQ(s["corvid_lcore_busy_iterations_total{lcore=\"2\"}"], "100");
    EXPECT_EQ(s["corvid_ring_to_sequencer_depth{lcore=\"1\"}"], "0");
    EXPECT_EQ(s["corvid_ring_to_sequencer_depth{lcore=\"2\"}"], "12");
    EXPECT_EQ(s["connection_rejected{lcore=\"2\"}"], "4");
    EXPECT_EQ(s.count("corvid_lcore_iterations_total"), 0u);
    EXPECT_EQ(s.count("connection_rejected"), 0u);
    EXPECT_EQ(s.count("corvid_lcore_occupancy{lcore=\"1\"}"), 0u);
    for (unsigned id = 0; id < CV_M_COUNT; id++) {
        const cv_metric_def &d = cv_metric_defs[id];
        if (!(d.flags & CV_MF_PER_LCORE)) {
            EXPECT_EQ(s.count(d.name), 1u) << d.name;
            continue;
        }
        for (unsigned l : {1u, 2u})
            EXPECT_EQ(s.count(std::string(d.name) + "{lcore=\"" + std::to_string(l) + "\"}"), 1u)
                << d.name;
    }
}

TEST_F(PromTest, HistogramCumulativeAndSelfConsistent)
{
    std::string t = render(r, &info);
    const std::string n = "corvid_request_latency_seconds";
    std::vector<std::pair<std::string, uint64_t>> buckets;
    for (const auto &l : lines(t))
        if (l.rfind(n + "_bucket{le=\"", 0) == 0) {
            size_t q = l.find('"', n.size() + 12);
            buckets.emplace_back(l.substr(n.size() + 12, q - n.size() - 12),
                                 strtoull(l.substr(l.rfind(' ') + 1).c_str(), nullptr, 10));
        }
    ASSERT_EQ(buckets.size(), (size_t)CV_HIST_BUCKETS); // 31 bounded + +Inf
    EXPECT_EQ(buckets.front().first, "2e-06");
    EXPECT_EQ(buckets[1].first, "4e-06");
    EXPECT_EQ(buckets[19].first, "1.048576"); // 2^20 us
    EXPECT_EQ(buckets.back().first, "+Inf");
    double prev_le = 0;
    for (size_t i = 0; i + 1 < buckets.size(); i++) {
        double le = strtod(buckets[i].first.c_str(), nullptr);
        EXPECT_GT(le, prev_le);
        prev_le = le;
        if (i > 0) {
            EXPECT_GE(buckets[i].second, buckets[i - 1].second);
        }
    }
    // 0us and 1us in bucket 0 (le 2us); 3us in le 4us; 100us in le 128us; 1s in le 1.048576.
    EXPECT_EQ(buckets[0].second, 2u);
    EXPECT_EQ(buckets[1].second, 3u);
    EXPECT_EQ(buckets[6].second, 4u);
    EXPECT_EQ(buckets[19].second, 5u);
    EXPECT_EQ(buckets[CV_HIST_BUCKETS - 2].second, 5u); // 2^40 us only in the last bucket
    EXPECT_EQ(buckets.back().second, 6u);
    auto s = samples(t);
    EXPECT_EQ(s[n + "_count"], "6");
    EXPECT_EQ(strtod(s[n + "_sum"].c_str(), nullptr),
              (0 + 1 + 3 + 100 + 1000000 + (1ull << 40)) / 1e6);
    EXPECT_EQ(s["corvid_log_write_seconds_sum"], "0.00025");
    EXPECT_EQ(s["corvid_log_write_seconds_count"], "1");
    EXPECT_EQ(s["corvid_commit_latency_seconds_count"], "0");
    EXPECT_EQ(s["corvid_commit_latency_seconds_bucket{le=\"+Inf\"}"], "0");
}

TEST_F(PromTest, CountComesFromTheBucketsPrinted)
{
    // A torn read: the count ran ahead of the buckets. The exposition must not.
    r.h[CV_H_LOG_WRITE].count = 5;
    auto s = samples(render(r, &info));
    EXPECT_EQ(s["corvid_log_write_seconds_count"], "1");
    EXPECT_EQ(s["corvid_log_write_seconds_bucket{le=\"+Inf\"}"], "1");
}

TEST_F(PromTest, InfoAndEscaping)
{
    auto s = samples(render(r, &info));
    EXPECT_EQ(s["corvid_info{version=\"3.8.4-corvid\",server_state=\"leader\",server_id=\"3\"}"],
              "1");
    cv_prom_info odd = {"a\\b\"c\nd", nullptr, -1};
    std::string t = render(r, &odd);
    EXPECT_TRUE(has_line(t, "corvid_info{version=\"a\\\\b\\\"c\\nd\",server_state=\"\","
                            "server_id=\"-1\"} 1"))
        << t.substr(t.find("corvid_info{"));
    // No info: no corvid_info sample (the family is the caller's to give).
    EXPECT_EQ(render(r, nullptr).find("corvid_info"), std::string::npos);
}

TEST(PromEscape, HelpAndLabel)
{
    char buf[64];
    EXPECT_EQ(cv_prom_escape("a\\b\"c\nd", 0, buf, sizeof buf), 9);
    EXPECT_STREQ(buf, "a\\\\b\"c\\nd"); // HELP: a quote stays as it is
    EXPECT_EQ(cv_prom_escape("a\\b\"c\nd", 1, buf, sizeof buf), 10);
    EXPECT_STREQ(buf, "a\\\\b\\\"c\\nd");
    EXPECT_EQ(cv_prom_escape("", 1, buf, sizeof buf), 0);
    EXPECT_EQ(cv_prom_escape(nullptr, 1, buf, sizeof buf), 0);
    EXPECT_EQ(cv_prom_escape("\n\n", 0, buf, 4), -ENOBUFS); // 4 bytes + NUL
    EXPECT_EQ(cv_prom_escape("\n\n", 0, buf, 5), 4);
}

TEST_F(PromTest, HelpLinesAreEscaped)
{
    // Every HELP line is one line whose backslashes all start an escape.
    std::string t = render(r, &info);
    for (const auto &l : lines(t)) {
        if (l.rfind("# HELP ", 0) != 0)
            continue;
        for (size_t i = 0; i < l.size(); i++)
            if (l[i] == '\\') {
                ASSERT_LT(i + 1, l.size()) << l;
                EXPECT_TRUE(l[i + 1] == '\\' || l[i + 1] == 'n') << l;
                i++;
            }
    }
}

TEST_F(PromTest, NoBufs)
{
    std::string t = render(r, &info);
    std::vector<char> buf(t.size() + 1);
    EXPECT_EQ(cv_prom_render(&r, &info, buf.data(), t.size() + 1), (int)t.size());
    EXPECT_EQ(std::string(buf.data()), t);
    memset(buf.data(), 'x', buf.size());
    EXPECT_EQ(cv_prom_render(&r, &info, buf.data(), t.size()), -ENOBUFS); // no room for the NUL
    EXPECT_EQ(buf[0], '\0');
    EXPECT_EQ(cv_prom_render(&r, &info, buf.data(), 16), -ENOBUFS);
    EXPECT_EQ(cv_prom_render(&r, &info, buf.data(), 0), -ENOBUFS);
    EXPECT_EQ(cv_prom_render(&r, &info, nullptr, 0), -ENOBUFS);
}

TEST_F(PromTest, AllSlotsFitInAModestBuffer)
{
    // Every slot in use, every value large: the output stays well under 256 KiB.
    for (unsigned i = 0; i < CV_METRICS_SLOTS; i++) {
        cv_metrics_slot *s = cv_metrics_claim(m, i, 100 + i);
        for (unsigned id = 0; id < CV_M_COUNT; id++)
            cv_metric_set(s, (cv_metric_id)id, ~0ull);
        for (unsigned id = 0; id < CV_H_COUNT; id++)
            for (unsigned b = 0; b < 40; b++)
                cv_hist_add(s, (cv_hist_id)id, 1ull << b);
    }
    cv_metrics_read(m, &r);
    std::string t = render(r, &info);
    EXPECT_LT(t.size(), 256u * 1024);
}

// The whole exposition through prometheus_client's parser.
std::string run_parser(const std::string &text, int *status)
{
    char in[] = "/tmp/cv_prom_test_XXXXXX";
    int fd = mkstemp(in);
    EXPECT_GE(fd, 0);
    EXPECT_EQ(write(fd, text.data(), text.size()), (ssize_t)text.size());
    close(fd);
    std::string cmd = std::string("/usr/bin/python3 '") + CV_PROM_PARSE_PY + "' < " + in + " 2>&1";
    FILE *p = popen(cmd.c_str(), "r");
    EXPECT_NE(p, nullptr);
    std::string out;
    char buf[4096];
    size_t n;
    while (p && (n = fread(buf, 1, sizeof buf, p)) > 0)
        out.append(buf, n);
    int st = p ? pclose(p) : -1;
    unlink(in);
    *status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
    return out;
}

bool python_has_prometheus_client()
{
    return system("/usr/bin/python3 -c 'import prometheus_client.parser' >/dev/null 2>&1") == 0;
}

TEST_F(PromTest, PrometheusClientParsesIt)
{
    if (!python_has_prometheus_client())
        GTEST_SKIP() << "/usr/bin/python3 lacks prometheus_client";
    int st = 0;
    std::string out = run_parser(render(r, &info), &st);
    EXPECT_EQ(st, 0) << out;
    EXPECT_EQ(out.rfind("ok: ", 0), 0u) << out;
    // Also with the escaped info labels.
    cv_prom_info odd = {"a\\b\"c\nd", "", -1};
    out = run_parser(render(r, &odd), &st);
    EXPECT_EQ(st, 0) << out;
}

TEST_F(PromTest, ParserScriptCatchesAnInconsistentHistogram)
{
    if (!python_has_prometheus_client())
        GTEST_SKIP() << "/usr/bin/python3 lacks prometheus_client";
    int st = 0;
    std::string bad = "# HELP h x\n# TYPE h histogram\nh_bucket{le=\"1\"} 2\n"
                      "h_bucket{le=\"+Inf\"} 1\nh_sum 1\nh_count 3\n";
    std::string out = run_parser(bad, &st);
    EXPECT_EQ(st, 1) << out;
    EXPECT_NE(out.find("not cumulative"), std::string::npos) << out;
}

} // namespace
