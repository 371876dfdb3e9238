// Golden vectors: bytes recorded between real ZooKeeper clients (kazoo, the C
// client libzookeeper_mt, the Java client, zkCli) and a real Apache ZooKeeper
// 3.8 server (tests/proto/golden/README.md says how). Every frame must decode
// and re-encode, element by element, to exactly the recorded bytes, and the
// recordings together must cover every record type real clients produce.
#include <gtest/gtest.h>

#include <cstdlib>
#include <memory>
#include <set>
#include <vector>
#include <cstring>
#include <string>

#include "cv_proto_replay.h"

namespace
{

std::string golden(const char *name)
{
    const char *d = getenv("CV_GOLDEN_DIR");
    return std::string(d ? d : "tests/proto/golden") + "/" + name;
}

struct Replay {
    std::unique_ptr<cv_replay> r{new cv_replay};
    Replay() { EXPECT_EQ(cv_replay_init(r.get()), 0); }
    ~Replay() { cv_replay_fini(r.get()); }
    int file(const char *name) { return cv_replay_file(r.get(), golden(name).c_str(), stderr); }
    const cv_replay_stats &st() const { return r->st; }
};

const char *const kRecordings[] = {"kazoo.frames", "c_client.frames", "java.frames",
                                   "zkcli.frames"};

} // namespace

class GoldenRecording : public ::testing::TestWithParam<const char *>
{
};

TEST_P(GoldenRecording, EveryFrameDecodesAndReencodesByteExactly)
{
    Replay rp;
    ASSERT_EQ(rp.file(GetParam()), 0) << "see the failures printed above";
    EXPECT_GT(rp.st().frames, 20u);
    EXPECT_EQ(rp.st().failed, 0u);
    EXPECT_EQ(rp.st().ok, rp.st().frames);
    EXPECT_GE(rp.st().connect_req, 1u);
    EXPECT_EQ(rp.st().connect_req, rp.st().connect_resp);
}

INSTANTIATE_TEST_SUITE_P(RealClients, GoldenRecording, ::testing::ValuesIn(kRecordings),
                         [](const ::testing::TestParamInfo<const char *> &i) {
                             std::string n = i.param;
                             return n.substr(0, n.find('.'));
                         });

TEST(GoldenCoverage, RecordingsCoverEveryRequestRealClientsSend)
{
    Replay rp;
    for (const char *f : kRecordings)
        ASSERT_EQ(rp.file(f), 0) << f;
    const cv_replay_stats &st = rp.st();
    // Requests sent on their own, each answered at least once.
    const int32_t standalone[] = {
        CV_OP_CREATE,         CV_OP_CREATE2,        CV_OP_CREATE_CONTAINER,
        CV_OP_CREATE_TTL,     CV_OP_DELETE,         CV_OP_EXISTS,
        CV_OP_GET_DATA,       CV_OP_SET_DATA,       CV_OP_GET_ACL,
        CV_OP_SET_ACL,        CV_OP_GET_CHILDREN,   CV_OP_GET_CHILDREN2,
        CV_OP_SYNC,           CV_OP_PING,           CV_OP_MULTI,
        CV_OP_MULTI_READ,     CV_OP_RECONFIG,       CV_OP_CHECK_WATCHES,
        CV_OP_REMOVE_WATCHES, CV_OP_AUTH,           CV_OP_SET_WATCHES,
        CV_OP_SET_WATCHES2,   CV_OP_GET_EPHEMERALS, CV_OP_GET_ALL_CHILDREN_NUMBER,
        CV_OP_ADD_WATCH,      CV_OP_WHO_AM_I,       CV_OP_CLOSE_SESSION,
    };
    for (int32_t op : standalone) {
        EXPECT_GT(st.req[CV_REPLAY_OP_SLOT(op)], 0u) << "no recorded " << cv_proto_op_name(op);
        EXPECT_GT(st.resp[CV_REPLAY_OP_SLOT(op)], 0u)
            << "no recorded reply to " << cv_proto_op_name(op);
    }
    // Ops that clients only send inside multi / multiRead.
    const int32_t in_multi[] = {CV_OP_CREATE, CV_OP_DELETE,   CV_OP_SET_DATA,
                                CV_OP_CHECK,  CV_OP_GET_DATA, CV_OP_GET_CHILDREN};
    for (int32_t op : in_multi)
        EXPECT_GT(st.multi_ops[CV_REPLAY_OP_SLOT(op)], 0u)
            << "no recorded " << cv_proto_op_name(op) << " inside a multi";
    EXPECT_GT(st.notifications, 0u) << "no watch notification recorded";
    // Error replies as well as successes.
    for (int32_t op : {CV_OP_CREATE, CV_OP_GET_DATA, CV_OP_SET_DATA, CV_OP_DELETE})
        EXPECT_GT(st.resp_err[CV_REPLAY_OP_SLOT(op)], 0u)
            << "no recorded error reply to " << cv_proto_op_name(op);
}

TEST(GoldenCorruption, EveryPrefixOfARecordedRequestIsRejectedWithoutOverread)
{
    // Each recorded request cut short must be malformed (requests have no
    // optional trailing fields), and decoding any prefix of any recorded frame
    // must stay inside it: every prefix sits in an exact-size heap buffer so
    // ASan (the sanitizer build) catches a single byte of overread.
    FILE *f = fopen(golden("kazoo.frames").c_str(), "r");
    ASSERT_NE(f, nullptr);
    char *line = nullptr;
    size_t cap = 0;
    std::set<int> connected;
    unsigned requests = 0;
    while (getline(&line, &cap, f) >= 0) {
        int conn;
        char dir;
        int off = 0;
        if (line[0] == '#' || sscanf(line, "%d %c %n", &conn, &dir, &off) != 2)
            continue;
        const char *hex = line + off;
        size_t n = strcspn(hex, " \r\n") / 2;
        std::vector<uint8_t> b(n);
        for (size_t i = 0; i < n; i++)
            sscanf(hex + 2 * i, "%2hhx", &b[i]);
        bool is_request = dir == 'C' && !connected.insert(conn).second;
        for (size_t cut = 4; cut < n; cut++) {
            std::unique_ptr<uint8_t[]> p(new uint8_t[cut - 4]);
            memcpy(p.get(), b.data() + 4, cut - 4);
            cv_request q;
            cv_response s;
            int rc = cv_proto_decode_request(p.get(), cut - 4, &q);
            if (is_request) {
                ASSERT_NE(rc, 0) << "request prefix of " << cut << " bytes accepted";
            }
            cv_proto_decode_response(p.get(), cut - 4, CV_OP_GET_DATA, &s);
        }
        requests += is_request;
    }
    free(line);
    fclose(f);
    EXPECT_GT(requests, 10u);
}
