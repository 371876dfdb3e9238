// cv_watch: ZooKeeper's server-side watch rules (one-shot, persistent,
// recursive; per-trigger dedup; DataTree's create/delete/setData triggers),
// removal and check by WatcherType, session removal (S1), introspection, and
// a randomized comparison against a reference model.
#include <gtest/gtest.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstring>
#include <map>
#include <random>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "cv_proto.h"
#include "cv_watch.h"

namespace
{

struct Ev {
    int64_t session;
    int type;
    std::string path;
    bool operator==(const Ev &o) const
    {
        return session == o.session && type == o.type && path == o.path;
    }
};

std::ostream &operator<<(std::ostream &os, const Ev &e)
{
    return os << "{" << e.session << "," << e.type << "," << e.path << "}";
}

void record(void *ctx, int64_t session, int type, const char *path, size_t len)
{
    static_cast<std::vector<Ev> *>(ctx)->push_back({session, type, std::string(path, len)});
}

struct Pair {
    int64_t session;
    std::string path;
    unsigned kinds;
    bool operator==(const Pair &o) const
    {
        return session == o.session && path == o.path && kinds == o.kinds;
    }
};

std::ostream &operator<<(std::ostream &os, const Pair &p)
{
    return os << "{" << p.session << "," << p.path << "," << p.kinds << "}";
}

int collect_pair(void *ctx, int64_t session, const char *path, size_t len, unsigned kinds)
{
    static_cast<std::vector<Pair> *>(ctx)->push_back({session, std::string(path, len), kinds});
    return 0;
}

constexpr int CREATED = CV_WATCH_EV_NODE_CREATED;
constexpr int DELETED = CV_WATCH_EV_NODE_DELETED;
constexpr int CHANGED = CV_WATCH_EV_NODE_DATA_CHANGED;
constexpr int CHILDREN = CV_WATCH_EV_NODE_CHILDREN_CHANGED;
constexpr unsigned DATA = CV_WATCH_DATA;
constexpr unsigned CHILD = CV_WATCH_CHILD;
constexpr unsigned PERS = CV_WATCH_PERSISTENT;
constexpr unsigned REC = CV_WATCH_PERSISTENT_RECURSIVE;

class Watch : public ::testing::Test
{
  protected:
    cv_watches *w = nullptr;
    std::vector<Ev> ev;

    void SetUp() override
    {
        w = cv_watch_create(nullptr);
        ASSERT_NE(w, nullptr);
    }
    void TearDown() override
    {
        EXPECT_EQ(cv_watch_validate(w), 0);
        cv_watch_destroy(w);
    }

    void add(const std::string &p, int64_t s, unsigned k)
    {
        ASSERT_EQ(cv_watch_add(w, p.data(), p.size(), s, k), 0);
    }
    unsigned kinds(const std::string &p, int64_t s)
    {
        return cv_watch_kinds(w, p.data(), p.size(), s);
    }
    std::vector<Ev> create(const std::string &p)
    {
        ev.clear();
        size_t n = cv_watch_on_create(w, p.data(), p.size(), record, &ev);
        EXPECT_EQ(n, ev.size());
        return ev;
    }
    std::vector<Ev> del(const std::string &p)
    {
        ev.clear();
        size_t n = cv_watch_on_delete(w, p.data(), p.size(), record, &ev);
        EXPECT_EQ(n, ev.size());
        return ev;
    }
    std::vector<Ev> set(const std::string &p)
    {
        ev.clear();
        size_t n = cv_watch_on_set_data(w, p.data(), p.size(), record, &ev);
        EXPECT_EQ(n, ev.size());
        return ev;
    }
    int remove(const std::string &p, int64_t s, int type)
    {
        return cv_watch_remove(w, p.data(), p.size(), s, type);
    }
    int check(const std::string &p, int64_t s, int type)
    {
        return cv_watch_check(w, p.data(), p.size(), s, type);
    }
    cv_watch_stats stats()
    {
        cv_watch_stats st;
        cv_watch_get_stats(w, &st);
        return st;
    }
    std::vector<Pair> by_session()
    {
        std::vector<Pair> v;
        EXPECT_EQ(cv_watch_foreach_by_session(w, collect_pair, &v), 0);
        return v;
    }
    std::vector<Pair> by_path()
    {
        std::vector<Pair> v;
        EXPECT_EQ(cv_watch_foreach_by_path(w, collect_pair, &v), 0);
        return v;
    }
};

using V = std::vector<Ev>;

} // namespace

// ---- one-shot DATA (getData / exists) ----

TEST_F(Watch, DataWatchFiresOnceOnSetDataThenIsGone)
{
    add("/a", 1, DATA);
    EXPECT_EQ(set("/a"), (V{{1, CHANGED, "/a"}}));
    EXPECT_EQ(kinds("/a", 1), 0u);
    EXPECT_EQ(set("/a"), V{});
    EXPECT_EQ(stats().watches, 0u);
    EXPECT_EQ(stats().paths, 0u);
    EXPECT_EQ(stats().sessions, 0u);
}

TEST_F(Watch, ExistsWatchOnMissingNodeFiresNodeCreated)
{
    add("/missing", 7, DATA);
    EXPECT_EQ(create("/missing"), (V{{7, CREATED, "/missing"}}));
    EXPECT_EQ(create("/missing"), V{});
}

TEST_F(Watch, DataWatchFiresNodeDeleted)
{
    add("/a", 1, DATA);
    EXPECT_EQ(del("/a"), (V{{1, DELETED, "/a"}}));
    EXPECT_EQ(kinds("/a", 1), 0u);
}

TEST_F(Watch, DataWatchIgnoresChildrenChangedOfItsPath)
{
    add("/a", 1, DATA);
    EXPECT_EQ(create("/a/b"), V{});
    EXPECT_EQ(del("/a/b"), V{});
    EXPECT_EQ(kinds("/a", 1), DATA);
}

// ---- one-shot CHILD (getChildren) ----

TEST_F(Watch, ChildWatchFiresChildrenChangedOnCreateOfAChild)
{
    add("/a", 1, CHILD);
    EXPECT_EQ(create("/a/b"), (V{{1, CHILDREN, "/a"}}));
    EXPECT_EQ(kinds("/a", 1), 0u);
    EXPECT_EQ(create("/a/c"), V{});
}

TEST_F(Watch, ChildWatchFiresChildrenChangedOnDeleteOfAChild)
{
    add("/a", 1, CHILD);
    EXPECT_EQ(del("/a/b"), (V{{1, CHILDREN, "/a"}}));
}

TEST_F(Watch, ChildWatchOnRootSeesTopLevelCreate)
{
    add("/", 1, CHILD);
    EXPECT_EQ(create("/a"), (V{{1, CHILDREN, "/"}}));
}

TEST_F(Watch, ChildWatchIgnoresSetDataAndCreateOfItsOwnPath)
{
    add("/a", 1, CHILD);
    EXPECT_EQ(set("/a"), V{});
    EXPECT_EQ(create("/a"), V{});
    EXPECT_EQ(create("/a/b/c"), V{}); // a grandchild is not a child change of /a
    EXPECT_EQ(kinds("/a", 1), CHILD);
}

TEST_F(Watch, ChildWatchFiresNodeDeletedWhenItsNodeIsDeleted)
{
    add("/a", 1, CHILD);
    EXPECT_EQ(del("/a"), (V{{1, DELETED, "/a"}}));
    EXPECT_EQ(kinds("/a", 1), 0u);
}

TEST_F(Watch, DeleteNotifiesOnceForDataAndChildWatchesAndConsumesBoth)
{
    add("/a", 1, DATA | CHILD);
    add("/a", 2, CHILD);
    EXPECT_EQ(del("/a"), (V{{1, DELETED, "/a"}, {2, DELETED, "/a"}}));
    EXPECT_EQ(stats().watches, 0u);
}

TEST_F(Watch, CreateEmitsThePathEventBeforeTheParentEvent)
{
    add("/p", 5, CHILD);
    add("/p/c", 9, DATA);
    add("/p/c", 5, DATA);
    EXPECT_EQ(create("/p/c"), (V{{5, CREATED, "/p/c"}, {9, CREATED, "/p/c"}, {5, CHILDREN, "/p"}}));
}

TEST_F(Watch, DeleteFiresNodeDeletedThenParentChildrenChanged)
{
    add("/p", 3, CHILD);
    add("/p/c", 3, DATA);
    EXPECT_EQ(del("/p/c"), (V{{3, DELETED, "/p/c"}, {3, CHILDREN, "/p"}}));
}

// ---- PERSISTENT (addWatch mode 0) ----

TEST_F(Watch, PersistentWatchStaysAndSeesEveryEventTypeOfItsPath)
{
    ASSERT_EQ(cv_watch_kind_from_add_mode(0), (int)PERS);
    add("/a", 1, PERS);
    EXPECT_EQ(create("/a"), (V{{1, CREATED, "/a"}}));
    EXPECT_EQ(set("/a"), (V{{1, CHANGED, "/a"}}));
    EXPECT_EQ(set("/a"), (V{{1, CHANGED, "/a"}}));
    EXPECT_EQ(create("/a/b"), (V{{1, CHILDREN, "/a"}}));
    EXPECT_EQ(del("/a/b"), (V{{1, CHILDREN, "/a"}}));
    EXPECT_EQ(del("/a"), (V{{1, DELETED, "/a"}}));
    // Survives the deletion of its node.
    EXPECT_EQ(kinds("/a", 1), PERS);
    EXPECT_EQ(create("/a"), (V{{1, CREATED, "/a"}}));
}

TEST_F(Watch, PersistentWatchIgnoresDataChangesOfDescendants)
{
    add("/a", 1, PERS);
    EXPECT_EQ(set("/a/b"), V{});
    EXPECT_EQ(create("/a/b/c"), V{});
    EXPECT_EQ(del("/a/b/c"), V{});
}

// ---- PERSISTENT_RECURSIVE (addWatch mode 1) ----

TEST_F(Watch, RecursiveWatchSeesItsPathAndAllDescendants)
{
    ASSERT_EQ(cv_watch_kind_from_add_mode(1), (int)REC);
    add("/a", 1, REC);
    EXPECT_EQ(create("/a"), (V{{1, CREATED, "/a"}}));
    EXPECT_EQ(create("/a/b"), (V{{1, CREATED, "/a/b"}}));
    EXPECT_EQ(create("/a/b/c"), (V{{1, CREATED, "/a/b/c"}}));
    EXPECT_EQ(set("/a/b/c"), (V{{1, CHANGED, "/a/b/c"}}));
    EXPECT_EQ(del("/a/b/c"), (V{{1, DELETED, "/a/b/c"}}));
    EXPECT_EQ(set("/a"), (V{{1, CHANGED, "/a"}}));
    EXPECT_EQ(kinds("/a", 1), REC);
}

TEST_F(Watch, RecursiveWatchNeverGetsChildrenChanged)
{
    add("/a", 1, REC);
    ev.clear();
    EXPECT_EQ(cv_watch_trigger(w, "/a", 2, CHILDREN, record, &ev), 0u);
    EXPECT_EQ(cv_watch_trigger(w, "/a/b", 4, CHILDREN, record, &ev), 0u);
    // create /a/b fires NodeCreated for /a/b and a child change of /a, which
    // the recursive watch does not receive.
    EXPECT_EQ(create("/a/b"), (V{{1, CREATED, "/a/b"}}));
}

TEST_F(Watch, RecursiveWatchOnRootSeesEverything)
{
    add("/", 4, REC);
    EXPECT_EQ(create("/x"), (V{{4, CREATED, "/x"}}));
    EXPECT_EQ(set("/x/y/z"), (V{{4, CHANGED, "/x/y/z"}}));
    EXPECT_EQ(del("/x"), (V{{4, DELETED, "/x"}}));
}

TEST_F(Watch, RecursiveWatchMatchesWholeComponentsOnly)
{
    add("/a", 1, REC);
    EXPECT_EQ(set("/ab"), V{});
    EXPECT_EQ(set("/ab/c"), V{});
    EXPECT_EQ(set("/a/c"), (V{{1, CHANGED, "/a/c"}}));
}

// ---- dedup: one event per session per trigger ----

TEST_F(Watch, SessionGetsOneEventPerTriggerWhateverItsMatchingWatches)
{
    add("/a/b", 1, DATA | PERS | REC);
    add("/a", 1, REC);
    add("/", 1, REC);
    add("/a/b", 2, REC);
    add("/", 2, REC);
    EXPECT_EQ(set("/a/b"), (V{{1, CHANGED, "/a/b"}, {2, CHANGED, "/a/b"}}));
    EXPECT_EQ(kinds("/a/b", 1), PERS | REC); // the one-shot was consumed
    EXPECT_EQ(kinds("/a", 1), REC);
}

TEST_F(Watch, OneShotAndPersistentOnSamePathNotifyOnceConsumeOnlyTheOneShot)
{
    // ZooKeeper 3.9 (ZOOKEEPER-4466) semantics; registration order does not matter.
    add("/a", 1, PERS);
    add("/a", 1, DATA);
    add("/a", 2, DATA);
    add("/a", 2, PERS);
    EXPECT_EQ(set("/a"), (V{{1, CHANGED, "/a"}, {2, CHANGED, "/a"}}));
    EXPECT_EQ(kinds("/a", 1), PERS);
    EXPECT_EQ(kinds("/a", 2), PERS);
    EXPECT_EQ(set("/a"), (V{{1, CHANGED, "/a"}, {2, CHANGED, "/a"}}));
}

TEST_F(Watch, DeleteConsumesOneShotsOfASessionAlsoNotifiedByItsRecursiveWatch)
{
    add("/a", 1, REC);
    add("/a/b", 1, DATA | CHILD);
    EXPECT_EQ(del("/a/b"), (V{{1, DELETED, "/a/b"}}));
    EXPECT_EQ(kinds("/a/b", 1), 0u);
    EXPECT_EQ(kinds("/a", 1), REC);
}

TEST_F(Watch, ChildChangeConsumesChildWatchButNotDataWatchOfSameSession)
{
    add("/a", 1, DATA | CHILD);
    EXPECT_EQ(create("/a/x"), (V{{1, CHILDREN, "/a"}}));
    EXPECT_EQ(kinds("/a", 1), DATA);
}

TEST_F(Watch, SeparateTriggersOfOneOperationNotifySeparately)
{
    // create /a/b: NodeCreated(/a/b) and NodeChildrenChanged(/a) are two triggers.
    add("/a/b", 1, DATA);
    add("/a", 1, CHILD | REC);
    EXPECT_EQ(create("/a/b"), (V{{1, CREATED, "/a/b"}, {1, CHILDREN, "/a"}}));
}

TEST_F(Watch, EmissionIsInAscendingSessionOrder)
{
    const int64_t ids[] = {42, -5, INT64_MAX, 0, INT64_MIN, 7, 1LL << 40, -1};
    for (int64_t id : ids)
        add("/z", id, id & 1 ? DATA : PERS);
    add("/", 3, REC);
    V got = set("/z");
    std::vector<int64_t> order;
    for (const Ev &e : got)
        order.push_back(e.session);
    std::vector<int64_t> want(std::begin(ids), std::end(ids));
    want.push_back(3);
    std::sort(want.begin(), want.end());
    EXPECT_EQ(order, want);
}

TEST_F(Watch, TriggerWithoutEmitStillConsumesAndCounts)
{
    add("/a", 1, DATA);
    add("/a", 2, PERS);
    EXPECT_EQ(cv_watch_trigger(w, "/a", 2, CHANGED, nullptr, nullptr), 2u);
    EXPECT_EQ(kinds("/a", 1), 0u);
    EXPECT_EQ(kinds("/a", 2), PERS);
}

TEST_F(Watch, TriggerIgnoresUnknownEventTypes)
{
    add("/a", 1, DATA | CHILD | PERS | REC);
    for (int t : {0, 5, 6, 7, -1, 99})
        EXPECT_EQ(cv_watch_trigger(w, "/a", 2, t, record, &ev), 0u) << t;
    EXPECT_TRUE(ev.empty());
    EXPECT_EQ(kinds("/a", 1), DATA | CHILD | PERS | REC);
}

TEST_F(Watch, OnCreateAndDeleteOfRootHaveNoParentEvent)
{
    add("/", 1, DATA | CHILD);
    EXPECT_EQ(del("/"), (V{{1, DELETED, "/"}}));
}

// ---- removeWatches / checkWatches ----

TEST_F(Watch, RemoveByTypeRemovesOnlyTheSelectedKinds)
{
    add("/a", 1, DATA | CHILD | PERS | REC);
    EXPECT_EQ(remove("/a", 1, CV_WATCHER_CHILDREN), (int)CHILD);
    EXPECT_EQ(kinds("/a", 1), DATA | PERS | REC);
    EXPECT_EQ(remove("/a", 1, CV_WATCHER_DATA), (int)DATA);
    EXPECT_EQ(kinds("/a", 1), PERS | REC);
    EXPECT_EQ(remove("/a", 1, CV_WATCHER_PERSISTENT), (int)PERS);
    EXPECT_EQ(kinds("/a", 1), REC);
    EXPECT_EQ(remove("/a", 1, CV_WATCHER_PERSISTENT_RECURSIVE), (int)REC);
    EXPECT_EQ(kinds("/a", 1), 0u);
    EXPECT_EQ(stats().watches, 0u);
    EXPECT_EQ(stats().paths, 0u);
    EXPECT_EQ(stats().sessions, 0u);
}

TEST_F(Watch, RemoveAnyRemovesEveryKind)
{
    add("/a", 1, DATA | CHILD | PERS | REC);
    EXPECT_EQ(remove("/a", 1, CV_WATCHER_ANY), (int)(DATA | CHILD | PERS | REC));
    EXPECT_EQ(kinds("/a", 1), 0u);
    EXPECT_EQ(set("/a/b"), V{});
}

TEST_F(Watch, RemoveDataOrChildrenLeavesAPersistentWatchWhole)
{
    add("/a", 1, PERS);
    EXPECT_EQ(remove("/a", 1, CV_WATCHER_DATA), 0); // NOWATCHER, 3.9 semantics
    EXPECT_EQ(remove("/a", 1, CV_WATCHER_CHILDREN), 0);
    EXPECT_EQ(kinds("/a", 1), PERS);
}

TEST_F(Watch, RemoveOfNothingReturnsZeroForNoWatcher)
{
    add("/a", 1, DATA);
    EXPECT_EQ(remove("/b", 1, CV_WATCHER_ANY), 0);      // no such path
    EXPECT_EQ(remove("/a", 2, CV_WATCHER_ANY), 0);      // another session
    EXPECT_EQ(remove("/a", 1, CV_WATCHER_CHILDREN), 0); // another kind
    EXPECT_EQ(kinds("/a", 1), DATA);
    EXPECT_EQ(CV_ZNOWATCHER, -121); // what the caller answers for 0
}

TEST_F(Watch, RemoveAndCheckRejectUnknownWatcherType)
{
    add("/a", 1, DATA);
    for (int t : {0, 6, -1}) {
        EXPECT_EQ(remove("/a", 1, t), -EINVAL);
        EXPECT_EQ(check("/a", 1, t), -EINVAL);
    }
    EXPECT_EQ(kinds("/a", 1), DATA);
}

TEST_F(Watch, RemoveDoesNotTouchOtherSessionsOnThePath)
{
    add("/a", 1, DATA);
    add("/a", 2, DATA);
    EXPECT_EQ(remove("/a", 1, CV_WATCHER_DATA), (int)DATA);
    EXPECT_EQ(set("/a"), (V{{2, CHANGED, "/a"}}));
}

TEST_F(Watch, CheckReportsWithoutRemoving)
{
    add("/a", 1, DATA);
    add("/b", 1, PERS);
    add("/c", 1, REC);
    add("/d", 1, CHILD);
    EXPECT_EQ(check("/a", 1, CV_WATCHER_DATA), 1);
    EXPECT_EQ(check("/a", 1, CV_WATCHER_CHILDREN), 0);
    EXPECT_EQ(check("/a", 1, CV_WATCHER_ANY), 1);
    EXPECT_EQ(check("/a", 2, CV_WATCHER_ANY), 0);
    EXPECT_EQ(check("/b", 1, CV_WATCHER_PERSISTENT), 1);
    EXPECT_EQ(check("/b", 1, CV_WATCHER_DATA), 0);
    EXPECT_EQ(check("/b", 1, CV_WATCHER_PERSISTENT_RECURSIVE), 0);
    EXPECT_EQ(check("/c", 1, CV_WATCHER_PERSISTENT_RECURSIVE), 1);
    EXPECT_EQ(check("/c/x", 1, CV_WATCHER_ANY), 0); // exact path only
    EXPECT_EQ(check("/d", 1, CV_WATCHER_CHILDREN), 1);
    EXPECT_EQ(check("/nope", 1, CV_WATCHER_ANY), 0);
    EXPECT_EQ(stats().watches, 4u);
    EXPECT_EQ(kinds("/a", 1), DATA);
}

TEST_F(Watch, WatcherTypeSelectsKinds)
{
    EXPECT_EQ(cv_watch_kinds_of_type(CV_WATCHER_CHILDREN), CHILD);
    EXPECT_EQ(cv_watch_kinds_of_type(CV_WATCHER_DATA), DATA);
    EXPECT_EQ(cv_watch_kinds_of_type(CV_WATCHER_ANY), CV_WATCH_ALL_KINDS);
    EXPECT_EQ(cv_watch_kinds_of_type(CV_WATCHER_PERSISTENT), PERS);
    EXPECT_EQ(cv_watch_kinds_of_type(CV_WATCHER_PERSISTENT_RECURSIVE), REC);
    EXPECT_EQ(cv_watch_kinds_of_type(6), 0u);
    EXPECT_EQ(cv_watch_kind_from_add_mode(2), -EINVAL);
    EXPECT_EQ(cv_watch_kind_from_add_mode(-1), -EINVAL);
}

// ---- sessions (S1) ----

TEST_F(Watch, RemoveSessionLeavesNothingOfItInEitherIndex)
{
    add("/a", 1, DATA | PERS);
    add("/a/b", 1, CHILD);
    add("/", 1, REC);
    add("/a", 2, DATA);
    add("/only1", 1, DATA);
    EXPECT_EQ(cv_watch_session_count(w, 1), 4u);
    EXPECT_EQ(cv_watch_remove_session(w, 1), 4u);
    EXPECT_EQ(cv_watch_session_count(w, 1), 0u);
    EXPECT_EQ(cv_watch_validate(w), 0);

    for (const Pair &p : by_session())
        EXPECT_NE(p.session, 1);
    for (const Pair &p : by_path())
        EXPECT_NE(p.session, 1);
    EXPECT_EQ(by_path(), (std::vector<Pair>{{2, "/a", DATA}}));
    cv_watch_stats st = stats();
    EXPECT_EQ(st.sessions, 1u);
    EXPECT_EQ(st.paths, 1u); // "/", "/a/b", "/only1" are gone
    EXPECT_EQ(st.watches, 1u);
    EXPECT_EQ(st.by_kind[0], 1u);
    EXPECT_EQ(st.by_kind[1] + st.by_kind[2] + st.by_kind[3], 0u);
    // Nothing fires for it any more.
    EXPECT_EQ(create("/a/b/c"), V{});
    EXPECT_EQ(set("/a"), (V{{2, CHANGED, "/a"}}));
    EXPECT_EQ(cv_watch_remove_session(w, 1), 0u);
    EXPECT_EQ(cv_watch_remove_session(w, 99), 0u);
}

TEST_F(Watch, RemoveSessionWithManyWatchesEmptiesEverything)
{
    for (int i = 0; i < 5000; i++)
        add("/n/" + std::to_string(i), 77, (unsigned)(1 + i % 15));
    EXPECT_EQ(stats().watches, 5000u);
    EXPECT_EQ(cv_watch_validate(w), 0);
    EXPECT_EQ(cv_watch_remove_session(w, 77), 5000u);
    cv_watch_stats st = stats();
    EXPECT_EQ(st.sessions + st.paths + st.watches, 0u);
    EXPECT_EQ(st.by_kind[0] + st.by_kind[1] + st.by_kind[2] + st.by_kind[3], 0u);
    EXPECT_TRUE(by_session().empty());
    EXPECT_TRUE(by_path().empty());
}

// ---- add ----

TEST_F(Watch, AddIsIdempotent)
{
    add("/a", 1, DATA);
    add("/a", 1, DATA);
    add("/a", 1, DATA);
    cv_watch_stats st = stats();
    EXPECT_EQ(st.watches, 1u);
    EXPECT_EQ(st.by_kind[0], 1u);
    EXPECT_EQ(set("/a"), (V{{1, CHANGED, "/a"}}));
    EXPECT_EQ(set("/a"), V{});
}

TEST_F(Watch, AddMergesKindsIntoOnePair)
{
    add("/a", 1, DATA);
    add("/a", 1, CHILD | PERS);
    EXPECT_EQ(kinds("/a", 1), DATA | CHILD | PERS);
    cv_watch_stats st = stats();
    EXPECT_EQ(st.watches, 1u);
    EXPECT_EQ(st.by_kind[0], 1u);
    EXPECT_EQ(st.by_kind[1], 1u);
    EXPECT_EQ(st.by_kind[2], 1u);
    EXPECT_EQ(st.by_kind[3], 0u);
}

TEST_F(Watch, AddRejectsBadArguments)
{
    EXPECT_EQ(cv_watch_add(w, "/a", 2, 1, 0), -EINVAL);
    EXPECT_EQ(cv_watch_add(w, "/a", 2, 1, 0x10), -EINVAL);
    EXPECT_EQ(cv_watch_add(w, "/a", 2, 1, DATA | 0x20), -EINVAL);
    EXPECT_EQ(stats().watches, 0u);
}

// ZooKeeper registers a watch on whatever path a read names: "" and relative
// paths are stored and listed, and no event (always a valid node path) fires them.
TEST_F(Watch, UnusualPathsAreKeptButNeverFire)
{
    ASSERT_EQ(cv_watch_add(w, "", 0, 1, DATA), 0);
    ASSERT_EQ(cv_watch_add(w, "rel", 3, 1, REC), 0);
    EXPECT_EQ(stats().watches, 2u);
    EXPECT_EQ(kinds("", 1), DATA);
    EXPECT_EQ(cv_watch_on_create(w, "/rel", 4, nullptr, nullptr), 0u);
    EXPECT_EQ(cv_watch_on_set_data(w, "/", 1, nullptr, nullptr), 0u);
    EXPECT_EQ(stats().watches, 2u);
    EXPECT_EQ(cv_watch_check(w, "", 0, 1, CV_WATCHER_DATA), 1);
    EXPECT_EQ(cv_watch_remove(w, "", 0, 1, CV_WATCHER_ANY), (int)DATA);
    EXPECT_EQ(stats().watches, 1u);
}

TEST_F(Watch, PathsAreCopiedAndComparedAsBytes)
{
    char buf[] = "/a/bXYZ";
    ASSERT_EQ(cv_watch_add(w, buf, 4, 1, DATA), 0); // "/a/b", not NUL-terminated
    std::memset(buf, '!', sizeof buf - 1);          // the caller's buffer is reused
    EXPECT_EQ(kinds("/a/b", 1), DATA);
    EXPECT_EQ(kinds("/a/bX", 1), 0u);
    std::string nul("/a\0b", 4);
    add(nul, 1, DATA);
    EXPECT_EQ(kinds(nul, 1), DATA);
    EXPECT_EQ(kinds("/a", 1), 0u);
}

TEST_F(Watch, AWatchedPathIsStoredOnceForAllSessions)
{
    for (int64_t s = 1; s <= 100; s++)
        add("/shared", s, DATA);
    cv_watch_stats st = stats();
    EXPECT_EQ(st.paths, 1u);
    EXPECT_EQ(st.sessions, 100u);
    EXPECT_EQ(st.watches, 100u);
    EXPECT_EQ(set("/shared").size(), 100u);
    EXPECT_EQ(stats().paths, 0u);
}

// ---- introspection (wchs / wchc / wchp) ----

TEST_F(Watch, StatsCountSessionsPathsAndPairs)
{
    add("/a", 1, DATA);
    add("/a", 2, DATA | CHILD);
    add("/b", 2, PERS);
    add("/c", 3, REC);
    cv_watch_stats st = stats();
    EXPECT_EQ(st.sessions, 3u);
    EXPECT_EQ(st.paths, 3u);
    EXPECT_EQ(st.watches, 4u);
    EXPECT_EQ(st.by_kind[0], 2u);
    EXPECT_EQ(st.by_kind[1], 1u);
    EXPECT_EQ(st.by_kind[2], 1u);
    EXPECT_EQ(st.by_kind[3], 1u);
    char wchs[128];
    snprintf(wchs, sizeof wchs, "%zu connections watching %zu paths\nTotal watches:%zu",
             st.sessions, st.paths, st.watches);
    EXPECT_STREQ(wchs, "3 connections watching 3 paths\nTotal watches:4");
}

TEST_F(Watch, WalksAreSortedBySessionThenPathAndByPathThenSession)
{
    add("/b", 2, DATA);
    add("/a/c", 2, CHILD);
    add("/a", 2, PERS);
    add("/b", -4, REC);
    add("/a", 9, DATA);
    add("/ab", 9, DATA);
    EXPECT_EQ(by_session(), (std::vector<Pair>{{-4, "/b", REC},
                                               {2, "/a", PERS},
                                               {2, "/a/c", CHILD},
                                               {2, "/b", DATA},
                                               {9, "/a", DATA},
                                               {9, "/ab", DATA}}));
    EXPECT_EQ(by_path(), (std::vector<Pair>{{2, "/a", PERS},
                                            {9, "/a", DATA},
                                            {2, "/a/c", CHILD},
                                            {9, "/ab", DATA},
                                            {-4, "/b", REC},
                                            {2, "/b", DATA}}));
}

static int stop_after_two(void *ctx, int64_t, const char *, size_t, unsigned)
{
    int *n = static_cast<int *>(ctx);
    return ++*n == 2 ? 42 : 0;
}

TEST_F(Watch, WalkStopsWhenTheVisitorReturnsNonZero)
{
    add("/a", 1, DATA);
    add("/b", 1, DATA);
    add("/c", 1, DATA);
    int n = 0;
    EXPECT_EQ(cv_watch_foreach_by_session(w, stop_after_two, &n), 42);
    EXPECT_EQ(n, 2);
    n = 0;
    EXPECT_EQ(cv_watch_foreach_by_path(w, stop_after_two, &n), 42);
    EXPECT_EQ(n, 2);
}

TEST_F(Watch, WalksOfAnEmptyManagerVisitNothing)
{
    EXPECT_TRUE(by_session().empty());
    EXPECT_TRUE(by_path().empty());
}

// ---- allocation failure ----

namespace
{
struct FailingAlloc {
    long fail_at = -1; // the allocation number that fails; -1: never
    long count = 0;
    long live = 0;
};

void *failing_alloc(void *ctx, size_t size)
{
    FailingAlloc *a = static_cast<FailingAlloc *>(ctx);
    if (a->count++ == a->fail_at)
        return nullptr;
    a->live++;
    return malloc(size);
}

void failing_free(void *ctx, void *p, size_t)
{
    static_cast<FailingAlloc *>(ctx)->live--;
    free(p);
}
} // namespace

TEST(WatchAlloc, FailedAddChangesNothingAndLeaksNothing)
{
    // Fail each allocation of an add in turn: a new session (scratch growth,
    // path, session record, entry) and a new path, and table growth.
    for (long k = 0; k < 400; k++) {
        FailingAlloc a;
        cv_watch_params p = {};
        p.alloc_fn = failing_alloc;
        p.free_fn = failing_free;
        p.alloc_ctx = &a;
        cv_watches *w = cv_watch_create(&p);
        ASSERT_NE(w, nullptr);
        for (int i = 0; i < 40; i++)
            ASSERT_EQ(cv_watch_add(w, "/p", 2, i, DATA), 0);
        std::vector<Pair> before;
        ASSERT_EQ(cv_watch_foreach_by_session(w, collect_pair, &before), 0);
        a.fail_at = a.count + k;
        int rc = 0;
        int i = 0;
        for (; i < 60 && rc == 0; i++) {
            std::string path = "/q/" + std::to_string(i);
            rc = cv_watch_add(w, path.data(), path.size(), 1000 + i, DATA | PERS);
        }
        ASSERT_EQ(cv_watch_validate(w), 0) << k;
        if (rc != 0) {
            ASSERT_EQ(rc, -ENOMEM);
            cv_watch_stats st;
            cv_watch_get_stats(w, &st);
            EXPECT_EQ(st.watches, 40u + (size_t)(i - 1)) << k; // the failed add left no trace
            EXPECT_EQ(cv_watch_kinds(w, "/p", 2, 0), DATA);
            std::string last = "/q/" + std::to_string(i - 1);
            EXPECT_EQ(cv_watch_kinds(w, last.data(), last.size(), 1000 + i - 1), 0u);
            EXPECT_EQ(cv_watch_session_count(w, 1000 + i - 1), 0u);
        }
        // Everything still works after the failure.
        EXPECT_EQ(cv_watch_on_set_data(w, "/p", 2, nullptr, nullptr), 40u);
        cv_watch_destroy(w);
        EXPECT_EQ(a.live, 0) << k;
        if (a.count <= a.fail_at) {
            EXPECT_GT(k, 150); // 60 adds of a new path and session were covered
            break;             // k is past the last allocation: every case was covered
        }
    }
}

TEST(WatchAlloc, CreateFailsCleanly)
{
    for (long k = 0; k < 8; k++) {
        FailingAlloc a;
        a.fail_at = k;
        cv_watch_params p = {};
        p.alloc_fn = failing_alloc;
        p.free_fn = failing_free;
        p.alloc_ctx = &a;
        cv_watches *w = cv_watch_create(&p);
        if (w)
            cv_watch_destroy(w);
        EXPECT_EQ(a.live, 0) << k;
    }
}

TEST(WatchAlloc, WalkReportsNoMemoryWithoutVisiting)
{
    FailingAlloc a;
    cv_watch_params p = {};
    p.alloc_fn = failing_alloc;
    p.free_fn = failing_free;
    p.alloc_ctx = &a;
    cv_watches *w = cv_watch_create(&p);
    ASSERT_NE(w, nullptr);
    ASSERT_EQ(cv_watch_add(w, "/a", 2, 1, DATA), 0);
    for (long k = 0; k < 2; k++) {
        a.fail_at = a.count + k;
        std::vector<Pair> v;
        EXPECT_EQ(cv_watch_foreach_by_path(w, collect_pair, &v), -ENOMEM);
        EXPECT_TRUE(v.empty());
        a.fail_at = a.count + k;
        EXPECT_EQ(cv_watch_foreach_by_session(w, collect_pair, &v), -ENOMEM);
        EXPECT_TRUE(v.empty());
    }
    cv_watch_destroy(w);
    EXPECT_EQ(a.live, 0);
}

// ---- randomized comparison against a reference model ----

namespace
{

// The rules of cv_watch.h written as plainly as possible.
struct Model {
    std::map<std::pair<std::string, int64_t>, unsigned> m; // (path, session) -> kinds

    static bool is_strict_ancestor(const std::string &a, const std::string &p)
    {
        if (a == "/")
            return p.size() > 1 && p[0] == '/';
        return p.size() > a.size() && p.compare(0, a.size(), a) == 0 && p[a.size()] == '/';
    }

    static std::string parent(const std::string &p)
    {
        if (p == "/")
            return "";
        size_t i = p.rfind('/');
        return i == 0 ? "/" : p.substr(0, i);
    }

    void add(const std::string &p, int64_t s, unsigned k) { m[{p, s}] |= k; }

    std::vector<Ev> trigger(const std::string &p, int type)
    {
        unsigned exact = 0;
        bool rec = false;
        switch (type) {
        case CREATED:
        case CHANGED: exact = DATA | PERS | REC, rec = true; break;
        case DELETED: exact = DATA | CHILD | PERS | REC, rec = true; break;
        case CHILDREN: exact = CHILD | PERS; break;
        default: return {};
        }
        std::set<int64_t> hit;
        for (auto it = m.begin(); it != m.end();) {
            const std::string &wp = it->first.first;
            int64_t s = it->first.second;
            if (wp == p && (it->second & exact)) {
                hit.insert(s);
                it->second &= ~(it->second & exact & (DATA | CHILD));
            } else if (rec && (it->second & REC) && is_strict_ancestor(wp, p)) {
                hit.insert(s);
            }
            if (it->second == 0)
                it = m.erase(it);
            else
                ++it;
        }
        std::vector<Ev> out;
        for (int64_t s : hit)
            out.push_back({s, type, p});
        return out;
    }

    std::vector<Ev> op(const std::string &p, int which)
    {
        std::vector<Ev> out;
        if (which == 0) {
            out = trigger(p, CREATED);
        } else if (which == 1) {
            out = trigger(p, DELETED);
        } else {
            return trigger(p, CHANGED);
        }
        std::string par = parent(p);
        if (!par.empty()) {
            std::vector<Ev> more = trigger(par, CHILDREN);
            out.insert(out.end(), more.begin(), more.end());
        }
        return out;
    }

    int remove(const std::string &p, int64_t s, int type)
    {
        unsigned sel = cv_watch_kinds_of_type(type);
        if (!sel)
            return -EINVAL;
        auto it = m.find({p, s});
        if (it == m.end())
            return 0;
        unsigned r = it->second & sel;
        it->second &= ~r;
        if (it->second == 0)
            m.erase(it);
        return (int)r;
    }

    size_t remove_session(int64_t s)
    {
        size_t n = 0;
        for (auto it = m.begin(); it != m.end();) {
            if (it->first.second == s) {
                it = m.erase(it);
                n++;
            } else {
                ++it;
            }
        }
        return n;
    }

    std::vector<Pair> by_path() const
    {
        // std::string's operator< is memcmp-then-length, as cv_watch sorts.
        std::vector<Pair> v;
        for (const auto &e : m)
            v.push_back({e.first.second, e.first.first, e.second});
        return v;
    }

    std::vector<Pair> by_session() const
    {
        std::map<std::pair<int64_t, std::string>, unsigned> t;
        for (const auto &e : m)
            t[{e.first.second, e.first.first}] = e.second;
        std::vector<Pair> v;
        for (const auto &e : t)
            v.push_back({e.first.first, e.first.second, e.second});
        return v;
    }

    cv_watch_stats stats() const
    {
        cv_watch_stats st = {};
        std::set<std::string> paths;
        std::set<int64_t> sessions;
        for (const auto &e : m) {
            paths.insert(e.first.first);
            sessions.insert(e.first.second);
            for (unsigned b = 0; b < 4; b++)
                st.by_kind[b] += (e.second >> b) & 1;
        }
        st.sessions = sessions.size();
        st.paths = paths.size();
        st.watches = m.size();
        return st;
    }
};

std::vector<std::string> path_universe(int names, int depth)
{
    std::vector<std::string> out{"/"};
    std::vector<std::string> level{""};
    for (int d = 0; d < depth; d++) {
        std::vector<std::string> next;
        for (const std::string &pre : level)
            for (int i = 0; i < names; i++)
                next.push_back(pre + "/" + std::string(1, (char)('a' + i)));
        out.insert(out.end(), next.begin(), next.end());
        level = next;
    }
    return out;
}

void expect_same(cv_watches *w, const Model &model, uint64_t step)
{
    ASSERT_EQ(cv_watch_validate(w), 0) << "step " << step;
    cv_watch_stats st, want = model.stats();
    cv_watch_get_stats(w, &st);
    ASSERT_EQ(st.sessions, want.sessions) << "step " << step;
    ASSERT_EQ(st.paths, want.paths) << "step " << step;
    ASSERT_EQ(st.watches, want.watches) << "step " << step;
    for (int b = 0; b < 4; b++)
        ASSERT_EQ(st.by_kind[b], want.by_kind[b]) << "step " << step;
    std::vector<Pair> got;
    ASSERT_EQ(cv_watch_foreach_by_session(w, collect_pair, &got), 0);
    ASSERT_EQ(got, model.by_session()) << "step " << step;
    got.clear();
    ASSERT_EQ(cv_watch_foreach_by_path(w, collect_pair, &got), 0);
    ASSERT_EQ(got, model.by_path()) << "step " << step;
}

void run_random(uint64_t seed, int steps, int names, int depth, const std::vector<int64_t> &ids,
                int validate_every, int compare_every)
{
    std::mt19937_64 rng(seed);
    cv_watch_params prm = {};
    prm.hash_seed = seed * 0x9e3779b97f4a7c15ULL;
    cv_watches *w = cv_watch_create(&prm);
    ASSERT_NE(w, nullptr);
    Model model;
    std::vector<std::string> paths = path_universe(names, depth);
    auto pick = [&](size_t n) { return (size_t)(rng() % n); };

    for (int step = 0; step < steps; step++) {
        const std::string &p = paths[pick(paths.size())];
        int64_t s = ids[pick(ids.size())];
        unsigned r = (unsigned)pick(100);
        if (r < 40) {
            unsigned k = 1u << pick(4);
            if (pick(8) == 0)
                k |= 1u << pick(4);
            ASSERT_EQ(cv_watch_add(w, p.data(), p.size(), s, k), 0);
            model.add(p, s, k);
        } else if (r < 70) {
            int which = (int)pick(3);
            std::vector<Ev> got;
            size_t n;
            if (which == 0)
                n = cv_watch_on_create(w, p.data(), p.size(), record, &got);
            else if (which == 1)
                n = cv_watch_on_delete(w, p.data(), p.size(), record, &got);
            else
                n = cv_watch_on_set_data(w, p.data(), p.size(), record, &got);
            ASSERT_EQ(n, got.size());
            ASSERT_EQ(got, model.op(p, which)) << "step " << step << " op " << which << " " << p;
        } else if (r < 75) {
            int type = 1 + (int)pick(4); // includes CHILDREN_CHANGED directly
            std::vector<Ev> got;
            size_t n = cv_watch_trigger(w, p.data(), p.size(), type, record, &got);
            ASSERT_EQ(n, got.size());
            ASSERT_EQ(got, model.trigger(p, type)) << "step " << step;
        } else if (r < 88) {
            int type = (int)pick(7); // 0 and 6 are invalid
            ASSERT_EQ(cv_watch_remove(w, p.data(), p.size(), s, type), model.remove(p, s, type))
                << "step " << step;
        } else if (r < 95) {
            int type = 1 + (int)pick(5);
            auto it = model.m.find({p, s});
            int want = it != model.m.end() && (it->second & cv_watch_kinds_of_type(type)) ? 1 : 0;
            ASSERT_EQ(cv_watch_check(w, p.data(), p.size(), s, type), want);
        } else {
            ASSERT_EQ(cv_watch_remove_session(w, s), model.remove_session(s)) << "step " << step;
            ASSERT_EQ(cv_watch_session_count(w, s), 0u);
        }
        // Both indexes agree (validate) and match the model (sorted walks, counts).
        if (step % validate_every == 0) {
            ASSERT_EQ(cv_watch_validate(w), 0) << "step " << step;
        }
        if (step % compare_every == 0 || step == steps - 1) {
            expect_same(w, model, (uint64_t)step);
            if (::testing::Test::HasFatalFailure())
                break;
        }
    }
    cv_watch_destroy(w);
}

} // namespace

TEST(WatchRandom, MatchesReferenceModelAfterEveryStep)
{
    const std::vector<int64_t> ids = {1, 2, 3, -7, 1LL << 56, INT64_MIN, INT64_MAX};
    for (uint64_t seed = 1; seed <= 8; seed++) {
        SCOPED_TRACE("seed " + std::to_string(seed));
        run_random(seed, 4000, 3, 3, ids, 1, 1);
        if (HasFatalFailure())
            return;
    }
}

TEST(WatchRandom, MatchesReferenceModelWithManySessionsAndPaths)
{
    // Enough records to grow every hash table several times; O(n) checks less often.
    std::vector<int64_t> ids;
    for (int64_t i = 0; i < 300; i++)
        ids.push_back(i * 0x10001 - 1000);
    run_random(12345, 30000, 6, 4, ids, 11, 97);
}
