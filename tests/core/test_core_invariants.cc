// Invariants S1 and S3 under randomized, seeded interleavings of session
// creates / closes / expiries, ephemeral creates (alone and in multi),
// deletes, watches of every kind and SetWatches, with arbitrary delay between
// prepare and apply. After every step, on the leader and on a replica that
// applies the same log:
//   S1: no watch belongs to a session that is not in the session table;
//   S3: no ephemeral is owned by a session that is not in the table; prepare
//       never changes table membership;
//   and both replicas have equal digests at equal zxids, and every structure
//   passes its own consistency check.
// CV_INVARIANT_SEEDS sets the number of seeds (default 2000).
#include <cstdlib>
#include <random>
#include <set>

#include "core_harness.h"

using namespace cvt;

namespace
{

struct Checker {
    static int owners(void *ctx, int64_t session)
    {
        auto *v = static_cast<std::vector<int64_t> *>(ctx);
        v->push_back(session);
        return 0;
    }
    static int watchers(void *ctx, int64_t session, const char *, size_t, unsigned)
    {
        auto *v = static_cast<std::vector<int64_t> *>(ctx);
        v->push_back(session);
        return 0;
    }
    // Returns an empty string when every invariant holds.
    static std::string check(cv_core *c)
    {
        cv_sess_table *t = cv_core_sessions(c);
        std::vector<int64_t> v;
        cv_tree_ephemeral_owners(cv_core_tree(c), owners, &v);
        for (int64_t s : v) {
            cv_sess_info info;
            if (cv_sess_get(t, s, &info))
                return "S3: an ephemeral is owned by dead session " + std::to_string(s);
        }
        v.clear();
        cv_watch_foreach_by_session(cv_core_watches(c), watchers, &v);
        for (int64_t s : v) {
            cv_sess_info info;
            if (cv_sess_get(t, s, &info))
                return "S1: a watch belongs to dead session " + std::to_string(s);
        }
        if (cv_tree_check(cv_core_tree(c)))
            return "tree consistency check failed";
        if (cv_watch_validate(cv_core_watches(c)))
            return "watch index check failed";
        return "";
    }
};

class Driver
{
  public:
    explicit Driver(uint32_t seed) : rng_(seed) {}

    std::string run(int steps)
    {
        for (int i = 0; i < steps; i++) {
            std::string err = step();
            if (!err.empty())
                return "step " + std::to_string(i) + ": " + err;
        }
        while (!queue_.empty())
            apply_one();
        std::string err = Checker::check(leader_.c());
        if (err.empty() && cv_core_digest(leader_.c()) != cv_core_digest(replica_.c()))
            err = "replica digest differs at the end";
        return err;
    }

  private:
    uint32_t pick(uint32_t n) { return std::uniform_int_distribution<uint32_t>(0, n - 1)(rng_); }
    std::string path()
    {
        static const char *const names[] = {"/a", "/b", "/a/x", "/a/y", "/b/x", "/c", "/c/z"};
        return names[pick(7)];
    }
    int64_t any_session()
    {
        if (known_.empty() || pick(10) == 0)
            return 0x0100000000000042; // never created
        return known_[pick((uint32_t)known_.size())];
    }

    void apply_one()
    {
        Bytes t = queue_.front();
        queue_.pop_front();
        size_t before = cv_sess_count(cv_core_sessions(leader_.c()));
        leader_.apply(t);
        replica_.apply(t);
        (void)before;
    }

    std::string queue_write(int64_t s, const cv_request &req)
    {
        Bytes txn;
        uint32_t members = cv_sess_count(cv_core_sessions(leader_.c()));
        int rc = leader_.prepare(s, req, &txn);
        if (cv_sess_count(cv_core_sessions(leader_.c())) != members)
            return "S3: prepare changed session table membership";
        if (rc == 0)
            queue_.push_back(txn);
        else if (rc != CV_CORE_HOLD && rc != -EBUSY)
            return "prepare failed: " + std::to_string(rc);
        return "";
    }

    std::string step()
    {
        cv_core *c = leader_.c();
        leader_.now += pick(400);
        switch (pick(12)) {
        case 0: { // new session
            Bytes out(256);
            size_t len;
            int64_t id;
            int32_t to;
            if (cv_core_prepare_create_session(c, 2000 + (int32_t)pick(4000), leader_.now, &id, &to,
                                               out.data(), out.size(), &len) == 0) {
                out.resize(len);
                queue_.push_back(out);
                known_.push_back(id);
            }
            break;
        }
        case 1: { // client close
            cv_request q = leader_.req(CV_OP_CLOSE_SESSION);
            std::string e = queue_write(any_session(), q);
            if (!e.empty())
                return e;
            break;
        }
        case 2: { // expiry
            int64_t out[16];
            size_t n = cv_core_expired(c, leader_.now, out, 16);
            for (size_t i = 0; i < n; i++) {
                Bytes t(1 << 16);
                size_t len;
                if (cv_core_prepare_expire(c, out[i], leader_.now, t.data(), t.size(), &len) == 0) {
                    t.resize(len);
                    queue_.push_back(t);
                }
            }
            break;
        }
        case 3:
        case 4: { // create, often ephemeral
            int32_t flags = pick(3) ? 1 : (int32_t)pick(4);
            std::string e = queue_write(any_session(), leader_.create(path(), "d", flags));
            if (!e.empty())
                return e;
            break;
        }
        case 5: { // multi with an ephemeral create
            cv_multi_op ops[2];
            memset(ops, 0, sizeof ops);
            ops[0].hdr = {CV_OP_CREATE, 0, -1};
            ops[0].u.create = {jb(leader_.keep(path())), jb(leader_.keep("m")),
                               leader_.acl_vec(open_acl()), 1, 0};
            ops[1].hdr = {pick(2) ? CV_OP_SET_DATA : CV_OP_DELETE, 0, -1};
            if (ops[1].hdr.type == CV_OP_SET_DATA)
                ops[1].u.set_data = {jb(leader_.keep(path())), jb(leader_.keep("v")), -1};
            else
                ops[1].u.path_version = {jb(leader_.keep(path())), -1};
            cv_request r = leader_.req(CV_OP_MULTI);
            r.u.multi = {2, 0, nullptr, ops, cv_multi_end()};
            std::string e = queue_write(any_session(), leader_.wire(r));
            if (!e.empty())
                return e;
            break;
        }
        case 6: {
            std::string e = queue_write(any_session(), leader_.del(path()));
            if (!e.empty())
                return e;
            break;
        }
        case 7: { // watches of every kind, from any session (live or not)
            int64_t s = any_session();
            switch (pick(4)) {
            case 0: leader_.read(s, leader_.get(path(), true)); break;
            case 1: leader_.read(s, leader_.get(path(), true, CV_OP_EXISTS)); break;
            case 2: leader_.read(s, leader_.get(path(), true, CV_OP_GET_CHILDREN)); break;
            default: {
                cv_request aw = leader_.req(CV_OP_ADD_WATCH);
                aw.u.path_type = {jb(leader_.keep(path())), (int32_t)pick(2)};
                leader_.read(s, leader_.wire(aw));
            }
            }
            break;
        }
        case 8: { // SetWatches from a reconnecting (maybe expired) session
            cv_jbuf paths[2] = {jb(leader_.keep(path())), jb(leader_.keep(path()))};
            cv_request r = leader_.req(CV_OP_SET_WATCHES2);
            r.u.set_watches.relative_zxid = cv_core_last_applied(c) - (int64_t)pick(5);
            r.u.set_watches.data = {1, 0, nullptr, paths};
            r.u.set_watches.exist = {1, 0, nullptr, paths + 1};
            r.u.set_watches.child = {1, 0, nullptr, paths};
            r.u.set_watches.persistent = {0, 0, nullptr, nullptr};
            r.u.set_watches.persistent_recursive = {1, 0, nullptr, paths + 1};
            leader_.read(any_session(), leader_.wire(r));
            break;
        }
        default: { // apply some of the queue
            uint32_t n = pick(4);
            while (n-- && !queue_.empty())
                apply_one();
        }
        }
        std::string err = Checker::check(c);
        if (err.empty())
            err = Checker::check(replica_.c());
        if (err.empty() && cv_core_last_applied(c) == cv_core_last_applied(replica_.c()) &&
            cv_core_digest(c) != cv_core_digest(replica_.c()))
            err = "replica digest differs";
        return err;
    }

    std::mt19937 rng_;
    Core leader_, replica_;
    std::deque<Bytes> queue_;
    std::vector<int64_t> known_;
};

int seeds()
{
    const char *e = getenv("CV_INVARIANT_SEEDS");
    return e ? atoi(e) : 2000;
}

} // namespace

TEST(CoreInvariants, NoWatchOrEphemeralOutlivesItsSessionUnderRandomInterleavings)
{
    int n = seeds();
    for (int seed = 1; seed <= n; seed++) {
        Driver d((uint32_t)seed);
        std::string err = d.run(300);
        ASSERT_TRUE(err.empty()) << "seed " << seed << ": " << err
                                 << "\n  reproduce: CV_INVARIANT_SEEDS=" << seed
                                 << " core_test_core_invariants";
    }
}

// The hazard ZooKeeper had: an ephemeral create that reaches the log after
// its session's close. Built by hand as a stale leader would propose it.
TEST(CoreInvariants, EphemeralCreateAfterCloseFailsWithSessionExpiredAtApply)
{
    Core k;
    int64_t s = k.connect();
    int64_t other = k.connect();
    k.close(s);
    cv_txn t;
    memset(&t, 0, sizeof t);
    t.hdr = {s, 77, cv_core_last_applied(k.c()) + 1, k.now, CV_OP_CREATE};
    t.has_body = 1;
    std::vector<cv_acl> acl = {{31, {cv_jstr("world"), cv_jstr("anyone")}}};
    t.u.create = {cv_jstr("/ghost"), cv_jstr(""), {1, 0, nullptr, acl.data()}, 1, 1, 0};
    Bytes txn(512);
    int n = cv_proto_encode_txn(txn.data(), txn.size(), &t);
    ASSERT_GT(n, 0);
    txn.resize(n);
    k.apply(txn);
    EXPECT_EQ(k.read(other, k.get("/ghost", false, CV_OP_EXISTS)).err(), CV_ZNONODE);
    EXPECT_EQ(Checker::check(k.c()), "");
}

TEST(CoreInvariants, MultiWithAnEphemeralOfADeadSessionFailsWhole)
{
    Core k;
    int64_t s = k.connect();
    int64_t other = k.connect();
    k.write(other, k.create("/base", ""), CV_OP_CREATE);
    k.close(s);
    std::vector<cv_acl> acl = {{31, {cv_jstr("world"), cv_jstr("anyone")}}};
    cv_txn a, b;
    memset(&a, 0, sizeof a);
    memset(&b, 0, sizeof b);
    a.hdr.type = CV_OP_SET_DATA;
    a.has_body = 1;
    a.u.set_data = {cv_jstr("/base"), cv_jstr("changed"), 1};
    b.hdr.type = CV_OP_CREATE;
    b.has_body = 1;
    b.u.create = {cv_jstr("/ghost"), cv_jstr(""), {1, 0, nullptr, acl.data()}, 1, 2, 0};
    uint8_t ba[256], bb[256];
    int na = cv_proto_encode_txn(ba, sizeof ba, &a), nb = cv_proto_encode_txn(bb, sizeof bb, &b);
    cv_txn_entry e[2] = {{CV_OP_SET_DATA, {ba + 32, na - 32}}, {CV_OP_CREATE, {bb + 32, nb - 32}}};
    cv_txn m;
    memset(&m, 0, sizeof m);
    m.hdr = {s, 9, cv_core_last_applied(k.c()) + 1, k.now, CV_OP_MULTI};
    m.has_body = 1;
    m.u.multi.txns = {2, 0, nullptr, e};
    Bytes txn(1024);
    int n = cv_proto_encode_txn(txn.data(), txn.size(), &m);
    txn.resize(n);
    k.apply(txn);
    EXPECT_EQ(k.read(other, k.get("/ghost", false, CV_OP_EXISTS)).err(), CV_ZNONODE);
    EXPECT_EQ(str(k.read(other, k.get("/base")).r.u.get_data.data), ""); // nothing applied
}

TEST(CoreInvariants, CloseSessionDeletesEphemeralsCreatedWhileItWasOutstanding)
{
    Core k;
    int64_t s = k.connect();
    int64_t w = k.connect();
    Bytes c1, c2;
    ASSERT_EQ(k.prepare(s, k.create("/e1", "", 1), &c1), 0);
    cv_request close = k.req(CV_OP_CLOSE_SESSION);
    ASSERT_EQ(k.prepare(s, close, &c2), 0);
    // A request after the close is refused at once.
    Bytes late;
    ASSERT_EQ(k.prepare(s, k.create("/e2", "", 1), &late), 0);
    k.apply(c1);
    k.apply(c2);
    k.apply(late);
    EXPECT_EQ(k.read(w, k.get("/e1", false, CV_OP_EXISTS)).err(), CV_ZNONODE);
    EXPECT_EQ(k.read(w, k.get("/e2", false, CV_OP_EXISTS)).err(), CV_ZNONODE);
    EXPECT_EQ(Checker::check(k.c()), "");
}

TEST(CoreInvariants, ExpiredSessionCannotRegisterWatchesOrSetWatches)
{
    Core k;
    int64_t s = k.connect();
    k.close(s);
    k.read(s, k.get("/", true));
    cv_jbuf p[1] = {cv_jstr("/")};
    cv_request r = k.req(CV_OP_SET_WATCHES);
    r.u.set_watches.data = {1, 0, nullptr, p};
    r.u.set_watches.exist = {0, 0, nullptr, nullptr};
    r.u.set_watches.child = {1, 0, nullptr, p};
    EXPECT_EQ(k.read(s, k.wire(r)).err(), CV_ZSESSIONEXPIRED);
    cv_watch_stats st;
    cv_watch_get_stats(cv_core_watches(k.c()), &st);
    EXPECT_EQ(st.watches, 0u);
    EXPECT_TRUE(k.events.empty());
}
