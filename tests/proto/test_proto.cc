// cv_proto: every request, response and transaction record round-trips;
// framing tells "need more" from "malformed"; limits hold; no truncation or
// trailing garbage is accepted.
#include <gtest/gtest.h>

#include <deque>
#include <string>
#include <vector>

#include "cv_proto.h"

namespace
{

using Bytes = std::vector<uint8_t>;

// Decoded records point into the frame they came from (zero-copy), so every
// frame a test decodes is kept alive here until the process ends.
std::deque<Bytes> g_frames;

const Bytes &keep(const Bytes &b)
{
    g_frames.push_back(b);
    return g_frames.back();
}

std::string str(cv_jbuf b)
{
    return b.len < 0 ? std::string("<null>") : std::string((const char *)b.ptr, b.len);
}

cv_stat sample_stat(int seed)
{
    cv_stat s;
    s.czxid = 0x100000001LL + seed;
    s.mzxid = 0x100000002LL + seed;
    s.ctime = 1700000000000LL + seed;
    s.mtime = 1700000000500LL + seed;
    s.version = 3 + seed;
    s.cversion = 4 + seed;
    s.aversion = 5 + seed;
    s.ephemeral_owner = 0x7000000000000001LL;
    s.data_length = 100;
    s.num_children = 2;
    s.pzxid = 0x100000003LL + seed;
    return s;
}

void expect_stat_eq(const cv_stat &a, const cv_stat &b)
{
    EXPECT_EQ(a.czxid, b.czxid);
    EXPECT_EQ(a.mzxid, b.mzxid);
    EXPECT_EQ(a.ctime, b.ctime);
    EXPECT_EQ(a.mtime, b.mtime);
    EXPECT_EQ(a.version, b.version);
    EXPECT_EQ(a.cversion, b.cversion);
    EXPECT_EQ(a.aversion, b.aversion);
    EXPECT_EQ(a.ephemeral_owner, b.ephemeral_owner);
    EXPECT_EQ(a.data_length, b.data_length);
    EXPECT_EQ(a.num_children, b.num_children);
    EXPECT_EQ(a.pzxid, b.pzxid);
}

cv_acl acls[2] = {
    {31, {{(const uint8_t *)"world", 5}, {(const uint8_t *)"anyone", 6}}},
    {1, {{(const uint8_t *)"digest", 6}, {(const uint8_t *)"u:Ax0=", 6}}},
};
cv_jbuf names[3] = {cv_jstr("a"), cv_jstr("bb"), cv_jstr("/x/y")};

Bytes encode_req(const cv_request &r)
{
    Bytes out(1 << 16);
    int n = cv_proto_encode_request(out.data(), out.size(), &r);
    EXPECT_GT(n, 0) << cv_proto_op_name(r.hdr.type);
    out.resize(n > 0 ? n : 0);
    return out;
}

// Decode a whole frame, re-encode it, and require identical bytes.
cv_request req_round_trip(const Bytes &in)
{
    const Bytes &frame = keep(in);
    cv_request d;
    EXPECT_EQ(cv_proto_decode_request(frame.data() + 4, frame.size() - 4, &d), 0);
    Bytes again = encode_req(d);
    EXPECT_EQ(again, frame);
    // Every strict prefix of the payload is malformed, never accepted.
    for (size_t cut = 0; cut + 4 < frame.size(); cut++) {
        cv_request t;
        EXPECT_EQ(cv_proto_decode_request(frame.data() + 4, cut, &t), -EBADMSG) << cut;
    }
    // A byte of trailing garbage is malformed too.
    Bytes longer(frame.begin() + 4, frame.end());
    longer.push_back(0);
    cv_request t;
    EXPECT_EQ(cv_proto_decode_request(longer.data(), longer.size(), &t), -EBADMSG);
    return d;
}

cv_request header(int32_t xid, int32_t type)
{
    cv_request r;
    memset(&r, 0, sizeof r);
    r.hdr.xid = xid;
    r.hdr.type = type;
    return r;
}

Bytes encode_resp(const cv_response &r)
{
    Bytes out(1 << 16);
    int n = cv_proto_encode_response(out.data(), out.size(), &r);
    EXPECT_GT(n, 0);
    out.resize(n > 0 ? n : 0);
    return out;
}

cv_response resp_round_trip(const Bytes &in, int32_t op)
{
    const Bytes &frame = keep(in);
    cv_response d;
    EXPECT_EQ(cv_proto_decode_response(frame.data() + 4, frame.size() - 4, op, &d), 0);
    EXPECT_EQ(encode_resp(d), frame);
    return d;
}

cv_response reply(int32_t xid, int32_t op, int32_t err = 0)
{
    cv_response r;
    memset(&r, 0, sizeof r);
    r.hdr.xid = xid;
    r.hdr.zxid = 0x500000007LL;
    r.hdr.err = err;
    r.op = op;
    r.has_body = err == 0;
    return r;
}

} // namespace

TEST(Frame, TellsNeedMoreFromCompleteFromMalformed)
{
    uint8_t f[8] = {0, 0, 0, 4, 1, 2, 3, 4};
    uint32_t plen = 0;
    for (size_t n = 0; n < 8; n++)
        EXPECT_EQ(cv_proto_frame(f, n, CV_PROTO_DEFAULT_MAX_FRAME, &plen), 0) << n;
    EXPECT_EQ(cv_proto_frame(f, 8, CV_PROTO_DEFAULT_MAX_FRAME, &plen), 8);
    EXPECT_EQ(plen, 4u);
    uint8_t neg[4] = {0xff, 0xff, 0xff, 0xff};
    EXPECT_EQ(cv_proto_frame(neg, 4, CV_PROTO_DEFAULT_MAX_FRAME, &plen), -EBADMSG);
}

TEST(Frame, LengthAboveJuteMaxbufferIsRejectedBeforeTheBytesArrive)
{
    uint8_t big[4] = {0x00, 0x10, 0x00, 0x00}; // 0x100000 = jute.maxbuffer + 1
    uint32_t plen = 0;
    EXPECT_EQ(cv_proto_frame(big, 4, CV_PROTO_DEFAULT_MAX_FRAME, &plen), -EMSGSIZE);
    EXPECT_EQ(plen, 0x100000u);
    uint8_t max[4] = {0x00, 0x0f, 0xff, 0xff};
    EXPECT_EQ(cv_proto_frame(max, 4, CV_PROTO_DEFAULT_MAX_FRAME, &plen), 0); // legal, need more
    // The limit is the caller's (jute.maxbuffer is configurable).
    EXPECT_EQ(cv_proto_frame(max, 4, 1024, &plen), -EMSGSIZE);
}

TEST(Connect, RequestWithAndWithoutReadOnlyByte)
{
    cv_connect_request r = {0, 0x200000010LL, 30000, 0x1234, cv_jstr("0123456789abcdef"), 1, 1};
    uint8_t out[128];
    int n = cv_proto_encode_connect_request(out, sizeof out, &r);
    // 4 length + 4 + 8 + 4 + 8 + (4 + 16) + 1
    ASSERT_EQ(n, 49);
    EXPECT_EQ(out[3], 45);
    cv_connect_request d;
    ASSERT_EQ(cv_proto_decode_connect_request(out + 4, n - 4, &d), 0);
    EXPECT_EQ(d.last_zxid_seen, 0x200000010LL);
    EXPECT_EQ(d.timeout, 30000);
    EXPECT_EQ(d.session_id, 0x1234);
    EXPECT_EQ(str(d.passwd), "0123456789abcdef");
    EXPECT_TRUE(d.has_read_only);
    EXPECT_TRUE(d.read_only);
    // An old client omits readOnly; it must not be invented on re-encode.
    ASSERT_EQ(cv_proto_decode_connect_request(out + 4, n - 5, &d), 0);
    EXPECT_FALSE(d.has_read_only);
    uint8_t again[128];
    EXPECT_EQ(cv_proto_encode_connect_request(again, sizeof again, &d), n - 1);
    // Two extra bytes are malformed.
    uint8_t longer[64];
    memcpy(longer, out + 4, n - 4);
    longer[n - 4] = 0;
    EXPECT_EQ(cv_proto_decode_connect_request(longer, n - 3, &d), -EBADMSG);
}

TEST(Connect, ResponseRoundTrips)
{
    cv_connect_response r = {0, 4000, 0x1000abcdLL, cv_jstr("sixteen-byte-pwd"), 0, 1};
    uint8_t out[128];
    int n = cv_proto_encode_connect_response(out, sizeof out, &r);
    ASSERT_EQ(n, 4 + 4 + 4 + 8 + 4 + 16 + 1);
    cv_connect_response d;
    ASSERT_EQ(cv_proto_decode_connect_response(out + 4, n - 4, &d), 0);
    EXPECT_EQ(d.timeout, 4000);
    EXPECT_EQ(d.session_id, 0x1000abcdLL);
    EXPECT_TRUE(d.has_read_only);
    EXPECT_FALSE(d.read_only);
}

TEST(Request, CreateFamilyRoundTripsWithAcls)
{
    for (int32_t op : {CV_OP_CREATE, CV_OP_CREATE2, CV_OP_CREATE_CONTAINER, CV_OP_CREATE_TTL}) {
        cv_request r = header(7, op);
        r.u.create.path = cv_jstr("/app/node-");
        r.u.create.data = cv_jstr("payload");
        r.u.create.acl = {2, 0, nullptr, acls};
        r.u.create.flags = 3;
        r.u.create.ttl = op == CV_OP_CREATE_TTL ? 60000 : 0;
        cv_request d = req_round_trip(encode_req(r));
        EXPECT_EQ(d.hdr.xid, 7);
        EXPECT_EQ(d.hdr.type, op);
        EXPECT_EQ(str(d.u.create.path), "/app/node-");
        EXPECT_EQ(str(d.u.create.data), "payload");
        EXPECT_EQ(d.u.create.flags, 3);
        EXPECT_EQ(d.u.create.ttl, op == CV_OP_CREATE_TTL ? 60000 : 0);
        ASSERT_EQ(d.u.create.acl.count, 2);
        cv_jvec_iter it;
        cv_jvec_iter_init(&it, &d.u.create.acl, &cv_rec_acl);
        cv_acl a;
        ASSERT_TRUE(cv_jvec_next(&it, &a));
        EXPECT_EQ(a.perms, 31);
        EXPECT_EQ(str(a.id.scheme), "world");
        ASSERT_TRUE(cv_jvec_next(&it, &a));
        EXPECT_EQ(str(a.id.id), "u:Ax0=");
        EXPECT_FALSE(cv_jvec_next(&it, &a));
    }
}

TEST(Request, NullDataAndNullAclVectorRoundTrip)
{
    cv_request r = header(1, CV_OP_CREATE);
    r.u.create.path = cv_jstr("/n");
    r.u.create.data = {nullptr, -1};
    r.u.create.acl = {-1, 0, nullptr, nullptr};
    cv_request d = req_round_trip(encode_req(r));
    EXPECT_LT(d.u.create.data.len, 0);
    EXPECT_EQ(d.u.create.acl.count, -1);
}

TEST(Request, PathVersionPathWatchAndPathOnlyOps)
{
    for (int32_t op : {CV_OP_DELETE, CV_OP_CHECK}) {
        cv_request r = header(2, op);
        r.u.path_version = {cv_jstr("/a/b"), -1};
        cv_request d = req_round_trip(encode_req(r));
        EXPECT_EQ(str(d.u.path_version.path), "/a/b");
        EXPECT_EQ(d.u.path_version.version, -1);
    }
    for (int32_t op : {CV_OP_EXISTS, CV_OP_GET_DATA, CV_OP_GET_CHILDREN, CV_OP_GET_CHILDREN2}) {
        cv_request r = header(3, op);
        r.u.path_watch = {cv_jstr("/w"), 1};
        cv_request d = req_round_trip(encode_req(r));
        EXPECT_EQ(str(d.u.path_watch.path), "/w");
        EXPECT_EQ(d.u.path_watch.watch, 1);
    }
    for (int32_t op :
         {CV_OP_GET_ACL, CV_OP_SYNC, CV_OP_GET_ALL_CHILDREN_NUMBER, CV_OP_GET_EPHEMERALS}) {
        cv_request r = header(4, op);
        r.u.path = {cv_jstr("/p")};
        cv_request d = req_round_trip(encode_req(r));
        EXPECT_EQ(str(d.u.path.path), "/p");
    }
    for (int32_t op : {CV_OP_CHECK_WATCHES, CV_OP_REMOVE_WATCHES, CV_OP_ADD_WATCH}) {
        cv_request r = header(5, op);
        r.u.path_type = {cv_jstr("/q"), 3};
        cv_request d = req_round_trip(encode_req(r));
        EXPECT_EQ(d.u.path_type.type, 3);
    }
}

TEST(Request, SetDataSetAclReconfigAuthSasl)
{
    cv_request r = header(9, CV_OP_SET_DATA);
    r.u.set_data = {cv_jstr("/s"), cv_jstr("v2"), 4};
    cv_request d = req_round_trip(encode_req(r));
    EXPECT_EQ(str(d.u.set_data.data), "v2");
    EXPECT_EQ(d.u.set_data.version, 4);

    r = header(10, CV_OP_SET_ACL);
    r.u.set_acl = {cv_jstr("/s"), {1, 0, nullptr, acls}, 0};
    d = req_round_trip(encode_req(r));
    EXPECT_EQ(d.u.set_acl.acl.count, 1);

    r = header(11, CV_OP_RECONFIG);
    r.u.reconfig = {cv_jstr("server.4=127.0.0.1:2888:3888"), {nullptr, -1}, {nullptr, -1}, -1};
    d = req_round_trip(encode_req(r));
    EXPECT_EQ(str(d.u.reconfig.joining_servers), "server.4=127.0.0.1:2888:3888");
    EXPECT_EQ(d.u.reconfig.cur_config_id, -1);

    r = header(CV_XID_AUTH, CV_OP_AUTH);
    r.u.auth = {0, cv_jstr("digest"), cv_jstr("user:secret")};
    d = req_round_trip(encode_req(r));
    EXPECT_EQ(str(d.u.auth.scheme), "digest");
    EXPECT_EQ(str(d.u.auth.auth), "user:secret");

    r = header(12, CV_OP_SASL);
    r.u.sasl = {cv_jstr("token")};
    d = req_round_trip(encode_req(r));
    EXPECT_EQ(str(d.u.sasl.token), "token");
}

TEST(Request, BodilessOpsCarryOnlyTheHeader)
{
    for (int32_t op : {CV_OP_PING, CV_OP_CLOSE_SESSION, CV_OP_WHO_AM_I}) {
        cv_request r = header(op == CV_OP_PING ? CV_XID_PING : 20, op);
        Bytes f = encode_req(r);
        EXPECT_EQ(f.size(), 12u) << op;
        req_round_trip(f);
    }
}

TEST(Request, SetWatchesAndSetWatches2)
{
    cv_request r = header(CV_XID_SET_WATCHES, CV_OP_SET_WATCHES);
    r.u.set_watches.relative_zxid = 0x300000009LL;
    r.u.set_watches.data = {3, 0, nullptr, names};
    r.u.set_watches.exist = {0, 0, nullptr, nullptr};
    r.u.set_watches.child = {1, 0, nullptr, names + 2};
    cv_request d = req_round_trip(encode_req(r));
    EXPECT_EQ(d.u.set_watches.relative_zxid, 0x300000009LL);
    EXPECT_EQ(d.u.set_watches.data.count, 3);
    EXPECT_EQ(d.u.set_watches.exist.count, 0);
    EXPECT_EQ(d.u.set_watches.child.count, 1);

    r.hdr.type = CV_OP_SET_WATCHES2;
    r.u.set_watches.persistent = {1, 0, nullptr, names};
    r.u.set_watches.persistent_recursive = {2, 0, nullptr, names + 1};
    d = req_round_trip(encode_req(r));
    EXPECT_EQ(d.u.set_watches.persistent_recursive.count, 2);
    cv_jvec_iter it;
    cv_jvec_iter_init(&it, &d.u.set_watches.persistent_recursive, nullptr);
    cv_jbuf s;
    ASSERT_TRUE(cv_jvec_next(&it, &s));
    EXPECT_EQ(str(s), "bb");
}

TEST(Request, MultiWithEveryOpKindRoundTripsAndIterates)
{
    cv_multi_op ops[6];
    memset(ops, 0, sizeof ops);
    ops[0].hdr = {CV_OP_CREATE, 0, -1};
    ops[0].u.create = {cv_jstr("/m/a"), cv_jstr("x"), {1, 0, nullptr, acls}, 0, 0};
    ops[1].hdr = {CV_OP_CREATE_TTL, 0, -1};
    ops[1].u.create = {cv_jstr("/m/t"), cv_jstr(""), {1, 0, nullptr, acls}, 5, 1000};
    ops[2].hdr = {CV_OP_SET_DATA, 0, -1};
    ops[2].u.set_data = {cv_jstr("/m/a"), cv_jstr("y"), 0};
    ops[3].hdr = {CV_OP_CHECK, 0, -1};
    ops[3].u.path_version = {cv_jstr("/m"), 2};
    ops[4].hdr = {CV_OP_DELETE, 0, -1};
    ops[4].u.path_version = {cv_jstr("/m/a"), -1};
    ops[5].hdr = {CV_OP_CREATE2, 0, -1};
    ops[5].u.create = {cv_jstr("/m/b"), {nullptr, -1}, {1, 0, nullptr, acls}, 0, 0};
    cv_request r = header(30, CV_OP_MULTI);
    r.u.multi = {6, 0, nullptr, ops, cv_multi_end()};
    cv_request d = req_round_trip(encode_req(r));
    ASSERT_EQ(d.u.multi.count, 6);
    EXPECT_EQ(d.u.multi.end.type, -1);
    EXPECT_EQ(d.u.multi.end.done, 1);
    cv_multi_iter it;
    cv_multi_iter_init(&it, &d.u.multi);
    cv_multi_op op;
    int32_t types[6];
    for (int i = 0; i < 6; i++) {
        ASSERT_TRUE(cv_multi_next_op(&it, &op));
        types[i] = op.hdr.type;
        if (i == 1) {
            EXPECT_EQ(op.u.create.ttl, 1000);
        }
        if (i == 3) {
            EXPECT_EQ(op.u.path_version.version, 2);
        }
    }
    EXPECT_FALSE(cv_multi_next_op(&it, &op));
    EXPECT_EQ(types[5], CV_OP_CREATE2);
}

TEST(Request, MultiReadAndEmptyMulti)
{
    cv_multi_op ops[2];
    memset(ops, 0, sizeof ops);
    ops[0].hdr = {CV_OP_GET_CHILDREN, 0, -1};
    ops[0].u.path_watch = {cv_jstr("/"), 0};
    ops[1].hdr = {CV_OP_GET_DATA, 0, -1};
    ops[1].u.path_watch = {cv_jstr("/zookeeper"), 0};
    cv_request r = header(31, CV_OP_MULTI_READ);
    r.u.multi = {2, 0, nullptr, ops, cv_multi_end()};
    req_round_trip(encode_req(r));
    r.u.multi = {0, 0, nullptr, nullptr, cv_multi_end()};
    cv_request d = req_round_trip(encode_req(r));
    EXPECT_EQ(d.u.multi.count, 0);
}

TEST(Request, MultiWithAnOpThatCannotBeInAMultiIsMalformed)
{
    // MultiHeader{type=sync, done=false, err=-1} is not a multi op.
    uint8_t p[] = {0, 0, 0, 1, 0, 0, 0, 14, 0, 0, 0, 9, 0, 0xff, 0xff, 0xff, 0xff};
    cv_request d;
    EXPECT_EQ(cv_proto_decode_request(p, sizeof p, &d), -EBADMSG);
}

TEST(Request, MultiWithoutTerminatorIsMalformed)
{
    cv_multi_op op;
    memset(&op, 0, sizeof op);
    op.hdr = {CV_OP_CHECK, 0, -1};
    op.u.path_version = {cv_jstr("/x"), 1};
    cv_request r = header(1, CV_OP_MULTI);
    r.u.multi = {1, 0, nullptr, &op, cv_multi_end()};
    Bytes f = encode_req(r);
    cv_request d;
    EXPECT_EQ(cv_proto_decode_request(f.data() + 4, f.size() - 4 - 9, &d), -EBADMSG);
}

TEST(Request, UnknownOpcodeIsReportedWithTheHeaderDecoded)
{
    uint8_t p[] = {0, 0, 0, 42, 0, 0, 0, 99, 1, 2, 3};
    cv_request d;
    EXPECT_EQ(cv_proto_decode_request(p, sizeof p, &d), CV_PROTO_EUNKNOWN_OP);
    EXPECT_EQ(d.hdr.xid, 42);
    EXPECT_EQ(d.hdr.type, 99);
    // deleteContainer and createSession are server-internal: the codec does not
    // decode them from a client (the sequencer answers them as ZooKeeper does).
    p[7] = CV_OP_DELETE_CONTAINER;
    EXPECT_EQ(cv_proto_decode_request(p, sizeof p, &d), CV_PROTO_EUNKNOWN_OP);
    uint8_t cs[] = {0, 0, 0, 1, 0xff, 0xff, 0xff, 0xf6};
    EXPECT_EQ(cv_proto_decode_request(cs, sizeof cs, &d), CV_PROTO_EUNKNOWN_OP);
    cv_request r = header(1, 99);
    uint8_t out[64];
    EXPECT_EQ(cv_proto_encode_request(out, sizeof out, &r), -EINVAL);
}

TEST(Request, EncodeIntoTooSmallBufferFails)
{
    cv_request r = header(1, CV_OP_SET_DATA);
    r.u.set_data = {cv_jstr("/s"), cv_jstr("0123456789"), 0};
    uint8_t out[20];
    EXPECT_EQ(cv_proto_encode_request(out, sizeof out, &r), -ENOBUFS);
}

TEST(Response, EveryBodyKindRoundTrips)
{
    cv_stat st = sample_stat(1);
    cv_response r = reply(5, CV_OP_CREATE);
    r.u.create.path = cv_jstr("/n0000000001");
    cv_response d = resp_round_trip(encode_resp(r), CV_OP_CREATE);
    EXPECT_EQ(str(d.u.create.path), "/n0000000001");

    for (int32_t op : {CV_OP_CREATE2, CV_OP_CREATE_CONTAINER, CV_OP_CREATE_TTL}) {
        r = reply(6, op);
        r.u.create.path = cv_jstr("/c");
        r.u.create.stat = st;
        d = resp_round_trip(encode_resp(r), op);
        expect_stat_eq(d.u.create.stat, st);
    }
    for (int32_t op : {CV_OP_EXISTS, CV_OP_SET_DATA, CV_OP_SET_ACL}) {
        r = reply(7, op);
        r.u.stat.stat = st;
        d = resp_round_trip(encode_resp(r), op);
        expect_stat_eq(d.u.stat.stat, st);
    }
    for (int32_t op : {CV_OP_GET_DATA, CV_OP_RECONFIG}) {
        r = reply(8, op);
        r.u.get_data = {cv_jstr("value"), st};
        d = resp_round_trip(encode_resp(r), op);
        EXPECT_EQ(str(d.u.get_data.data), "value");
    }
    r = reply(9, CV_OP_GET_CHILDREN);
    r.u.children.children = {3, 0, nullptr, names};
    d = resp_round_trip(encode_resp(r), CV_OP_GET_CHILDREN);
    EXPECT_EQ(d.u.children.children.count, 3);

    r = reply(10, CV_OP_GET_CHILDREN2);
    r.u.children = {{2, 0, nullptr, names}, st};
    d = resp_round_trip(encode_resp(r), CV_OP_GET_CHILDREN2);
    expect_stat_eq(d.u.children.stat, st);

    r = reply(11, CV_OP_GET_EPHEMERALS);
    r.u.children.children = {1, 0, nullptr, names + 2};
    resp_round_trip(encode_resp(r), CV_OP_GET_EPHEMERALS);

    r = reply(12, CV_OP_GET_ACL);
    r.u.get_acl = {{2, 0, nullptr, acls}, st};
    d = resp_round_trip(encode_resp(r), CV_OP_GET_ACL);
    EXPECT_EQ(d.u.get_acl.acl.count, 2);

    r = reply(13, CV_OP_SYNC);
    r.u.path.path = cv_jstr("/");
    resp_round_trip(encode_resp(r), CV_OP_SYNC);

    r = reply(14, CV_OP_GET_ALL_CHILDREN_NUMBER);
    r.u.number.value = 12345;
    d = resp_round_trip(encode_resp(r), CV_OP_GET_ALL_CHILDREN_NUMBER);
    EXPECT_EQ(d.u.number.value, 12345);

    cv_client_info ci[2] = {{cv_jstr("ip"), cv_jstr("127.0.0.1")},
                            {cv_jstr("digest"), cv_jstr("user")}};
    r = reply(15, CV_OP_WHO_AM_I);
    r.u.who_am_i.client_info = {2, 0, nullptr, ci};
    d = resp_round_trip(encode_resp(r), CV_OP_WHO_AM_I);
    EXPECT_EQ(d.u.who_am_i.client_info.count, 2);
}

TEST(Response, NotificationIsAWatcherEventWhateverTheCallerGuessed)
{
    cv_response r = reply(CV_XID_NOTIFICATION, CV_OP_NOTIFICATION);
    r.hdr.zxid = -1;
    r.u.event = {3, 3, cv_jstr("/watched")}; // NodeDataChanged, SyncConnected
    Bytes f = encode_resp(r);
    cv_response d = resp_round_trip(f, CV_OP_GET_DATA);
    EXPECT_EQ(d.op, CV_OP_NOTIFICATION);
    EXPECT_EQ(d.u.event.type, 3);
    EXPECT_EQ(str(d.u.event.path), "/watched");
}

TEST(Response, ErrorRepliesAndBodilessRepliesCarryOnlyTheHeader)
{
    cv_response r = reply(3, CV_OP_GET_DATA, CV_ZNONODE);
    Bytes f = encode_resp(r);
    EXPECT_EQ(f.size(), 20u);
    cv_response d = resp_round_trip(f, CV_OP_GET_DATA);
    EXPECT_EQ(d.hdr.err, CV_ZNONODE);
    EXPECT_FALSE(d.has_body);
    for (int32_t op : {CV_OP_DELETE, CV_OP_PING, CV_OP_CHECK_WATCHES, CV_OP_REMOVE_WATCHES,
                       CV_OP_AUTH, CV_OP_SET_WATCHES, CV_OP_CLOSE_SESSION, CV_OP_CHECK}) {
        r = reply(4, op);
        r.has_body = 0;
        resp_round_trip(encode_resp(r), op);
    }
}

TEST(Response, AddWatchIsAnsweredWithAnErrorResponseBodyAsZooKeeperDoes)
{
    // As recorded from ZooKeeper 3.8: ReplyHeader, then ErrorResponse{err=0}.
    cv_response r = reply(71, CV_OP_ADD_WATCH);
    r.u.number.value = 0;
    Bytes f = encode_resp(r);
    EXPECT_EQ(f.size(), 24u);
    cv_response d = resp_round_trip(f, CV_OP_ADD_WATCH);
    EXPECT_TRUE(d.has_body);
}

TEST(Response, SuccessfulReplyMissingItsBodyIsMalformed)
{
    cv_response r = reply(3, CV_OP_GET_DATA);
    r.has_body = 0;
    Bytes f = encode_resp(r);
    cv_response d;
    EXPECT_EQ(cv_proto_decode_response(f.data() + 4, f.size() - 4, CV_OP_GET_DATA, &d), -EBADMSG);
}

TEST(Response, MultiResultsIncludingErrorsRoundTrip)
{
    cv_stat st = sample_stat(2);
    cv_multi_result res[6];
    memset(res, 0, sizeof res);
    res[0].hdr = {CV_OP_CREATE, 0, 0};
    res[0].u.create.path = cv_jstr("/m/a");
    res[1].hdr = {CV_OP_CREATE2, 0, 0};
    res[1].u.create = {cv_jstr("/m/b"), st};
    res[2].hdr = {CV_OP_SET_DATA, 0, 0};
    res[2].u.set_data.stat = st;
    res[3].hdr = {CV_OP_DELETE, 0, 0};
    res[4].hdr = {CV_OP_ERROR, 0, CV_ZBADVERSION};
    res[4].u.error.value = CV_ZBADVERSION;
    res[5].hdr = {CV_OP_ERROR, 0, CV_ZRUNTIMEINCONSISTENCY};
    res[5].u.error.value = CV_ZRUNTIMEINCONSISTENCY;
    cv_response r = reply(40, CV_OP_MULTI);
    r.u.multi = {6, 0, nullptr, res, cv_multi_end()};
    cv_response d = resp_round_trip(encode_resp(r), CV_OP_MULTI);
    ASSERT_EQ(d.u.multi.count, 6);
    cv_multi_iter it;
    cv_multi_iter_init(&it, &d.u.multi);
    cv_multi_result x;
    for (int i = 0; i < 5; i++)
        ASSERT_TRUE(cv_multi_next_result(&it, &x));
    EXPECT_EQ(x.hdr.type, CV_OP_ERROR);
    EXPECT_EQ(x.u.error.value, CV_ZBADVERSION);

    cv_multi_result rd[2];
    memset(rd, 0, sizeof rd);
    rd[0].hdr = {CV_OP_GET_DATA, 0, 0};
    rd[0].u.get_data = {cv_jstr("d"), st};
    rd[1].hdr = {CV_OP_GET_CHILDREN, 0, 0};
    rd[1].u.get_children.children = {2, 0, nullptr, names};
    r = reply(41, CV_OP_MULTI_READ);
    r.u.multi = {2, 0, nullptr, rd, cv_multi_end()};
    resp_round_trip(encode_resp(r), CV_OP_MULTI_READ);
}

namespace
{

Bytes encode_txn(const cv_txn &t)
{
    Bytes out(1 << 16);
    int n = cv_proto_encode_txn(out.data(), out.size(), &t);
    EXPECT_GT(n, 0) << t.hdr.type;
    out.resize(n > 0 ? n : 0);
    return out;
}

cv_txn txn_round_trip(const Bytes &in)
{
    const Bytes &b = keep(in);
    cv_txn d;
    EXPECT_EQ(cv_proto_decode_txn(b.data(), b.size(), &d), 0);
    EXPECT_EQ(encode_txn(d), b);
    for (size_t cut = 0; cut < b.size(); cut++) {
        cv_txn t;
        int rc = cv_proto_decode_txn(b.data(), cut, &t);
        // Only a closeSession cut exactly after its header is a valid record.
        if (!(d.hdr.type == CV_OP_CLOSE_SESSION && cut == 32)) {
            EXPECT_EQ(rc, -EBADMSG) << cut;
        }
    }
    return d;
}

cv_txn txn(int32_t type)
{
    cv_txn t;
    memset(&t, 0, sizeof t);
    t.hdr = {0x1000000aLL, 17, 0x600000001LL, 1700000001234LL, type};
    t.has_body = 1;
    return t;
}

} // namespace

TEST(Txn, EveryTransactionRecordRoundTrips)
{
    cv_txn t = txn(CV_OP_CREATE);
    t.u.create = {cv_jstr("/e"), cv_jstr("d"), {1, 0, nullptr, acls}, 1, 7, 0};
    cv_txn d = txn_round_trip(encode_txn(t));
    EXPECT_EQ(d.hdr.zxid, 0x600000001LL);
    EXPECT_EQ(d.u.create.ephemeral, 1);
    EXPECT_EQ(d.u.create.parent_cversion, 7);

    t = txn(CV_OP_CREATE_CONTAINER);
    t.u.create = {cv_jstr("/c"), cv_jstr(""), {1, 0, nullptr, acls}, 0, 8, 0};
    d = txn_round_trip(encode_txn(t));
    EXPECT_EQ(d.u.create.parent_cversion, 8);

    t = txn(CV_OP_CREATE_TTL);
    t.u.create = {cv_jstr("/t"), cv_jstr(""), {1, 0, nullptr, acls}, 0, 9, 30000};
    d = txn_round_trip(encode_txn(t));
    EXPECT_EQ(d.u.create.ttl, 30000);

    t = txn(CV_OP_DELETE);
    t.u.path.path = cv_jstr("/e");
    txn_round_trip(encode_txn(t));

    t = txn(CV_OP_SET_DATA);
    t.u.set_data = {cv_jstr("/e"), cv_jstr("new"), 2};
    d = txn_round_trip(encode_txn(t));
    EXPECT_EQ(d.u.set_data.version, 2);

    t = txn(CV_OP_SET_ACL);
    t.u.set_acl = {cv_jstr("/e"), {2, 0, nullptr, acls}, 1};
    txn_round_trip(encode_txn(t));

    t = txn(CV_OP_CHECK);
    t.u.check = {cv_jstr("/e"), 5};
    txn_round_trip(encode_txn(t));

    t = txn(CV_OP_CREATE_SESSION);
    t.u.number.value = 30000;
    d = txn_round_trip(encode_txn(t));
    EXPECT_EQ(d.u.number.value, 30000);

    t = txn(CV_OP_ERROR);
    t.u.number.value = CV_ZNONODE;
    txn_round_trip(encode_txn(t));

    t = txn(CV_OP_CLOSE_SESSION);
    t.u.close_session.children = {2, 0, nullptr, names};
    d = txn_round_trip(encode_txn(t));
    EXPECT_EQ(d.u.close_session.children.count, 2);

    t = txn(CV_OP_CLOSE_SESSION);
    t.has_body = 0;
    Bytes bare = encode_txn(t);
    EXPECT_EQ(bare.size(), 32u); // TxnHeader only
    d = txn_round_trip(bare);
    EXPECT_FALSE(d.has_body);
}

TEST(Txn, MultiTxnCarriesEncodedSubTransactionsThatMustAllDecode)
{
    uint8_t sub1[256], sub2[256];
    cv_txn a = txn(CV_OP_CREATE);
    a.u.create = {cv_jstr("/m/x"), cv_jstr("1"), {1, 0, nullptr, acls}, 0, 0, 0};
    int n1 = cv_proto_encode_txn(sub1, sizeof sub1, &a);
    cv_txn b = txn(CV_OP_SET_DATA);
    b.u.set_data = {cv_jstr("/m"), cv_jstr("2"), 0};
    int n2 = cv_proto_encode_txn(sub2, sizeof sub2, &b);
    ASSERT_GT(n1, 32);
    ASSERT_GT(n2, 32);
    // A MultiTxn entry holds the body only (the outer TxnHeader covers all).
    cv_txn_entry e[2] = {{CV_OP_CREATE, {sub1 + 32, n1 - 32}},
                         {CV_OP_SET_DATA, {sub2 + 32, n2 - 32}}};
    cv_txn m = txn(CV_OP_MULTI);
    m.u.multi.txns = {2, 0, nullptr, e};
    cv_txn d = txn_round_trip(encode_txn(m));
    cv_jvec_iter it;
    cv_jvec_iter_init(&it, &d.u.multi.txns, &cv_rec_txn_entry);
    cv_txn_entry got;
    ASSERT_TRUE(cv_jvec_next(&it, &got));
    cv_txn sub;
    ASSERT_EQ(cv_proto_decode_sub_txn(&got, &sub), 0);
    EXPECT_EQ(str(sub.u.create.path), "/m/x");

    // A sub-transaction whose bytes do not decode poisons the whole record.
    e[1].data.len -= 1;
    Bytes bad = encode_txn(m);
    EXPECT_EQ(cv_proto_decode_txn(bad.data(), bad.size(), &d), -EBADMSG);
}

TEST(Txn, UnknownTypeIsMalformed)
{
    cv_txn t = txn(77);
    uint8_t out[64];
    EXPECT_EQ(cv_proto_encode_txn(out, sizeof out, &t), -EINVAL);
    cv_txn_header h = t.hdr;
    cv_jute_out o;
    cv_jute_out_init(&o, out, sizeof out);
    cv_jute_encode(&cv_rec_txn_header, &o, &h);
    cv_txn d;
    EXPECT_EQ(cv_proto_decode_txn(out, 32, &d), -EBADMSG);
}

TEST(Records, EncodedSizeMatchesEncodeForEveryDescriptor)
{
    cv_request r = header(1, CV_OP_CREATE_TTL);
    r.u.create = {cv_jstr("/abc"), cv_jstr("0123"), {2, 0, nullptr, acls}, 1, 99};
    uint8_t out[512];
    cv_jute_out o;
    cv_jute_out_init(&o, out, sizeof out);
    ASSERT_EQ(cv_jute_encode(&cv_rec_create_ttl_request, &o, &r.u.create), 0);
    EXPECT_EQ(cv_jute_encoded_size(&cv_rec_create_ttl_request, &r.u.create), (size_t)(o.pos - out));
    cv_set_watches w = {1,
                        {3, 0, nullptr, names},
                        {0, 0, nullptr, nullptr},
                        {-1, 0, nullptr, nullptr},
                        {1, 0, nullptr, names},
                        {2, 0, nullptr, names}};
    cv_jute_out_init(&o, out, sizeof out);
    ASSERT_EQ(cv_jute_encode(&cv_rec_set_watches2, &o, &w), 0);
    EXPECT_EQ(cv_jute_encoded_size(&cv_rec_set_watches2, &w), (size_t)(o.pos - out));
}

TEST(Names, OpcodesAndErrorsHaveZooKeeperNames)
{
    EXPECT_STREQ(cv_proto_op_name(CV_OP_GET_ALL_CHILDREN_NUMBER), "getAllChildrenNumber");
    EXPECT_STREQ(cv_proto_op_name(CV_OP_CLOSE_SESSION), "closeSession");
    EXPECT_EQ(cv_proto_op_name(55), nullptr);
    EXPECT_STREQ(cv_proto_err_name(CV_ZNONODE), "NONODE");
    EXPECT_STREQ(cv_proto_err_name(CV_ZSESSIONEXPIRED), "SESSIONEXPIRED");
    EXPECT_EQ(cv_proto_err_name(-9999), nullptr);
}
