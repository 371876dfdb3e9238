// A test harness around cv_core: builds requests, runs prepare -> apply (now
// or later) and read, and decodes what the sink reports. Test-only.
#pragma once

#include <gtest/gtest.h>

#include <cstring>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "cv_core.h"

namespace cvt
{

using Bytes = std::vector<uint8_t>;

inline cv_jbuf jb(const std::string &s)
{
    return {(const uint8_t *)s.data(), (int32_t)s.size()};
}
inline std::string str(cv_jbuf b)
{
    return b.len < 0 ? std::string() : std::string((const char *)b.ptr, (size_t)b.len);
}

struct Event {
    int64_t session;
    int32_t type;
    std::string path;
};

// A decoded reply, owning its frame.
struct Reply {
    Bytes frame;
    cv_response r{};
    bool hold = false; // the session's createSession is not applied yet
    int32_t err() const { return r.hdr.err; }
};

struct Acl {
    int32_t perms;
    std::string scheme, id;
};

inline std::vector<Acl> open_acl()
{
    return {{31, "world", "anyone"}};
}

// The configuration every harness core uses (same secret, server id, start
// time), so replaying one core's log into another gives the same digest.
inline cv_core_config harness_config(int32_t tick = 1000, bool extended = true)
{
    cv_core_config cfg;
    cv_core_config_init(&cfg, tick);
    memcpy(cfg.sess.secret, "0123456789abcdef0123456789abcdef", 32);
    cfg.sess.secret_len = 32;
    cfg.server_id = 1;
    cfg.start_ms = 1700000000000;
    cfg.extended_types = extended;
    return cfg;
}

// A bare core configured as Core configures its own.
inline cv_core *new_core()
{
    cv_core_config cfg = harness_config();
    const char *why = nullptr;
    cv_core *c = cv_core_new(&cfg, &why);
    EXPECT_NE(c, nullptr) << (why ? why : "");
    return c;
}

class Core
{
  public:
    explicit Core(int32_t tick = 1000, bool extended = true,
                  std::function<void(cv_core_config &)> tweak = nullptr)
    {
        cv_core_config cfg = harness_config(tick, extended);
        cfg.max_outstanding = 4096;
        if (tweak)
            tweak(cfg);
        const char *why = nullptr;
        c_ = cv_core_new(&cfg, &why);
        EXPECT_NE(c_, nullptr) << (why ? why : "");
        sink_.ctx = this;
        sink_.reply = [](void *ctx, int64_t s, const uint8_t *f, size_t n) {
            static_cast<Core *>(ctx)->replies_.push_back({s, Bytes(f, f + n)});
        };
        sink_.notify = [](void *ctx, int64_t s, const uint8_t *f, size_t n) {
            cv_response r;
            EXPECT_EQ(cv_proto_decode_response(f + 4, n - 4, CV_OP_NOTIFICATION, &r), 0);
            static_cast<Core *>(ctx)->events.push_back(
                {s, r.u.event.type,
                 std::string((const char *)r.u.event.path.ptr, (size_t)r.u.event.path.len)});
        };
        sink_.auth_of = [](void *ctx, int64_t s) -> const cv_acl_auth * {
            auto &m = static_cast<Core *>(ctx)->auths;
            auto it = m.find(s);
            return it == m.end() ? nullptr : it->second;
        };
        sink_.session_created = [](void *ctx, int64_t s, int32_t) {
            static_cast<Core *>(ctx)->created.push_back(s);
        };
        sink_.session_closed = [](void *ctx, int64_t s) {
            static_cast<Core *>(ctx)->closed.push_back(s);
        };
    }
    ~Core() { cv_core_free(c_); }
    Core(const Core &) = delete;
    Core &operator=(const Core &) = delete;

    cv_core *c() { return c_; }
    const cv_core_sink *sink() const { return &sink_; }

    // ---- transactions ----
    // Prepare a client request; the txn is queued (not applied) and returned.
    int prepare(int64_t session, const cv_request &req, Bytes *txn,
                const cv_acl_auth *auth = nullptr)
    {
        cv_core_req r{session, auth, &req, false};
        size_t len = 0;
        int rc = cv_core_prepare(c_, &r, now, buf_.data(), buf_.size(), &len);
        if (rc == 0)
            txn->assign(buf_.begin(), buf_.begin() + (long)len);
        return rc;
    }
    void apply(const Bytes &txn)
    {
        ASSERT_EQ(cv_core_apply(c_, txn.data(), txn.size(), &sink_), 0);
        log.push_back(txn);
    }
    // prepare + apply now; returns the reply to session (if any).
    Reply write(int64_t session, const cv_request &req, int32_t op,
                const cv_acl_auth *auth = nullptr)
    {
        Bytes txn;
        size_t before = replies_.size();
        EXPECT_EQ(prepare(session, req, &txn, auth), 0);
        apply(txn);
        Reply rep;
        for (size_t i = before; i < replies_.size(); i++)
            if (replies_[i].first == session)
                rep = decode(replies_[i].second, op);
        return rep;
    }
    Reply read(int64_t session, const cv_request &req, const cv_acl_auth *auth = nullptr)
    {
        cv_core_req r{session, auth, &req, false};
        int n = cv_core_read(c_, &r, &sink_, buf_.data(), buf_.size());
        if (n == CV_CORE_HOLD) {
            Reply held;
            held.hold = true;
            return held;
        }
        EXPECT_GT(n, 0);
        return decode(Bytes(buf_.begin(), buf_.begin() + (n > 0 ? n : 0)), req.hdr.type);
    }
    static Reply decode(const Bytes &frame, int32_t op)
    {
        Reply rep;
        rep.frame = frame;
        EXPECT_EQ(cv_proto_decode_response(rep.frame.data() + 4, rep.frame.size() - 4, op, &rep.r),
                  0)
            << "reply to op " << op << " (" << frame.size() << " bytes)";
        return rep;
    }

    int64_t connect(int32_t timeout = 10000)
    {
        Bytes out(256);
        size_t len;
        int64_t id;
        int32_t to;
        EXPECT_EQ(cv_core_prepare_create_session(c_, timeout, now, &id, &to, out.data(), out.size(),
                                                 &len),
                  0);
        out.resize(len);
        apply(out);
        return id;
    }
    void close(int64_t session)
    {
        cv_request q = req(CV_OP_CLOSE_SESSION);
        write(session, q, CV_OP_CLOSE_SESSION);
    }

    // ---- requests (strings kept alive by the harness) ----
    const std::string &keep(const std::string &s)
    {
        strings_.push_back(s);
        return strings_.back();
    }
    cv_request req(int32_t type)
    {
        cv_request r;
        memset(&r, 0, sizeof r);
        r.hdr.xid = ++xid_;
        r.hdr.type = type;
        return r;
    }
    cv_jvec acl_vec(const std::vector<Acl> &acls)
    {
        acl_store_.emplace_back();
        auto &v = acl_store_.back();
        for (const auto &a : acls)
            v.push_back({a.perms, {jb(keep(a.scheme)), jb(keep(a.id))}});
        return {(int32_t)v.size(), 0, nullptr, v.data()};
    }
    // Requests arrive encoded: round-trip through the codec so the core sees
    // exactly what it would from the wire (raw vectors, not items).
    const cv_request &wire(const cv_request &r)
    {
        int n = cv_proto_encode_request(buf_.data(), buf_.size(), &r);
        EXPECT_GT(n, 0);
        Bytes f(buf_.begin(), buf_.begin() + (n > 0 ? n : 0));
        frames_.push_back(f);
        decoded_.emplace_back();
        EXPECT_EQ(
            cv_proto_decode_request(frames_.back().data() + 4, f.size() - 4, &decoded_.back()), 0);
        return decoded_.back();
    }
    cv_request create(const std::string &path, const std::string &data, int32_t flags = 0,
                      int32_t type = CV_OP_CREATE, const std::vector<Acl> &acls = open_acl(),
                      int64_t ttl = 0)
    {
        cv_request r = req(type);
        r.u.create.path = jb(keep(path));
        r.u.create.data = jb(keep(data));
        r.u.create.acl = acl_vec(acls);
        r.u.create.flags = flags;
        r.u.create.ttl = ttl;
        return wire(r);
    }
    cv_request del(const std::string &path, int32_t version = -1)
    {
        cv_request r = req(CV_OP_DELETE);
        r.u.path_version = {jb(keep(path)), version};
        return wire(r);
    }
    cv_request set(const std::string &path, const std::string &data, int32_t version = -1)
    {
        cv_request r = req(CV_OP_SET_DATA);
        r.u.set_data = {jb(keep(path)), jb(keep(data)), version};
        return wire(r);
    }
    cv_request set_acl(const std::string &path, const std::vector<Acl> &acls, int32_t version = -1)
    {
        cv_request r = req(CV_OP_SET_ACL);
        r.u.set_acl = {jb(keep(path)), acl_vec(acls), version};
        return wire(r);
    }
    cv_request get(const std::string &path, bool w = false, int32_t type = CV_OP_GET_DATA)
    {
        cv_request r = req(type);
        r.u.path_watch = {jb(keep(path)), (uint8_t)w};
        return wire(r);
    }
    cv_request path_req(int32_t type, const std::string &path)
    {
        cv_request r = req(type);
        r.u.path.path = jb(keep(path));
        return wire(r);
    }

    // Stat of a path through a real exists() read (asserts it exists).
    cv_stat stat(int64_t session, const std::string &path)
    {
        Reply r = read(session, get(path, false, CV_OP_EXISTS));
        EXPECT_EQ(r.err(), 0) << path;
        return r.r.u.stat.stat;
    }

    int64_t now = 1700000000000;
    std::vector<Event> events;
    // What sink->auth_of answers per session (the connection's ids); none if absent.
    std::map<int64_t, const cv_acl_auth *> auths;
    std::vector<int64_t> created, closed;
    std::vector<Bytes> log; // every applied transaction, in order

  private:
    cv_core *c_ = nullptr;
    cv_core_sink sink_{};
    int32_t xid_ = 0;
    std::deque<std::string> strings_;
    std::deque<std::vector<cv_acl>> acl_store_;
    std::deque<Bytes> frames_;
    std::deque<cv_request> decoded_;
    std::vector<std::pair<int64_t, Bytes>> replies_;
    Bytes buf_ = Bytes(1 << 21); // reused for every encode / prepare / read
};

} // namespace cvt
