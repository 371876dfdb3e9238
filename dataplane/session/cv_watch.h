/*
 * cv_watch — the server-side watch manager: which session watches which
 * path, which watches fire for a change of the tree, and what the
 * four-letter words wchs / wchc / wchp report.
 *
 * Contract
 * - Pure core (DESIGN.md layer 1): no I/O, clocks, threads or global state.
 *   A `struct cv_watches` belongs to the sequencer lcore; only that lcore
 *   calls these functions, one at a time. Nothing is locked.
 * - Memory: allocates only in cv_watch_create, cv_watch_add (a path, a
 *   session record and one entry per new (path, session) pair; hash tables
 *   grow by doubling, and a failed growth is tolerated) and in the two
 *   cv_watch_foreach_* introspection walks (temporary sort arrays, freed
 *   before they return). Triggers, removals and cv_watch_remove_session never
 *   allocate and cannot fail. The allocator can be replaced (per-core pools,
 *   failure injection) through struct cv_watch_params.
 * - Paths are byte strings, not NUL-terminated, and not validated: as in
 *   ZooKeeper, a read registers a watch on whatever path it names ("" and
 *   relative paths included; they are listed by the walks and never fire,
 *   since events only carry valid node paths). They are copied in; each watched path is stored once
 * and shared by every session that watches it. Pointers passed to callbacks are valid for the
 * duration of the call only.
 * - Determinism: every callback sequence is ordered — by session id
 *   (ascending, as signed int64) within a trigger, by (session, path bytes)
 *   or (path bytes, session) in the walks — and never depends on hashing or
 *   allocation addresses, so replays are byte-identical.
 * - Callbacks must not call cv_watch_* on the same manager.
 * - Invariant S1: cv_watch_remove_session leaves nothing of the session in
 *   either index (path -> sessions, session -> paths), in O(watches of that
 *   session). cv_watch_validate checks both indexes and every counter.
 *
 * Model (what is stored)
 *   One entry per (path, session) pair holds a set of kinds:
 *     CV_WATCH_DATA        getData(watch) and exists(watch), on existing and
 *                          missing nodes alike (ZooKeeper keeps both in its
 *                          dataWatches table);
 *     CV_WATCH_CHILD       getChildren / getChildren2 (watch);
 *     CV_WATCH_PERSISTENT  addWatch mode 0;
 *     CV_WATCH_PERSISTENT_RECURSIVE  addWatch mode 1.
 *   DATA and CHILD are one-shot: removed as they fire. The persistent kinds
 *   stay until removed (removeWatches or session end), even across the
 *   deletion of the node. Adding a kind a pair already has is a no-op (SetWatches
 *   and SetWatches2 on reconnect may replay watches the server still holds;
 *   the caller applies the relativeZxid rule and then calls cv_watch_add).
 *
 * Trigger rules (ZooKeeper's DataTree + WatchManager)
 *   cv_watch_trigger(path, event) notifies each session at most once
 *   (ZooKeeper collects the watchers of one trigger in a set) when it holds:
 *     NodeCreated, NodeDataChanged: DATA or PERSISTENT on path, or
 *                        PERSISTENT_RECURSIVE on path or any ancestor;
 *     NodeDeleted:       DATA, CHILD or PERSISTENT on path, or
 *                        PERSISTENT_RECURSIVE on path or any ancestor
 *                        (ZooKeeper fires dataWatches then childWatches with
 *                        the first set suppressed: one NodeDeleted each);
 *     NodeChildrenChanged: CHILD or PERSISTENT on path, never RECURSIVE.
 *   Every matching one-shot kind is consumed, including one whose session
 *   is notified because of another kind (a one-shot DATA and a PERSISTENT
 *   watch of one session on one path: one event, DATA gone, PERSISTENT
 *   stays).
 *   cv_watch_on_create(p)   = trigger(p, NodeCreated)
 *                           + trigger(parent(p), NodeChildrenChanged)
 *   cv_watch_on_delete(p)   = trigger(p, NodeDeleted)
 *                           + trigger(parent(p), NodeChildrenChanged)
 *   cv_watch_on_set_data(p) = trigger(p, NodeDataChanged)
 *
 * Where corvid follows ZooKeeper 3.9 rather than 3.8 (both are bugs 3.9 fixed)
 * - ZOOKEEPER-4466: in 3.8 each of the dataWatches / childWatches tables holds
 *   a single mode per (path, watcher) and the latest registration replaces it:
 *   getData(watch) after addWatch(PERSISTENT) turns the data half of the
 *   persistent watch into a one-shot, and addWatch after getData(watch)
 *   swallows the one-shot. corvid keeps every kind side by side, as 3.9 does.
 *   The notification count is the same (one) either way.
 * - ZOOKEEPER-4471/4472: in 3.8, removeWatches(Data or Children) on a path
 *   with a PERSISTENT watch removed half of it, and there was no way to remove
 *   a persistent watch except Any. corvid: Children and Data remove only the
 *   one-shot kind; Persistent (4) and PersistentRecursive (5), the 3.9
 *   WatcherTypes, remove exactly their kind; Any (3) removes all kinds.
 *   3.8 clients only send 1..3, for which the results agree whenever no
 *   persistent watch is involved.
 * - 3.8's checkWatches answered yes if any session watched the path; corvid
 *   answers for the calling session and the given type, like 3.9.
 * - ZooKeeper's wchs/wchc/wchp read only its dataWatches table, so
 *   getChildren watches are invisible there. corvid reports every kind: a
 *   "watch" in the counts is a (path, session) pair holding any kind.
 *
 * Watch-removed events (DataWatchRemoved 5, ChildWatchRemoved 6,
 * PersistentWatchRemoved 7) are never sent by the server. ZooKeeper's server
 * answers removeWatches with an empty OK reply or NOWATCHER (-121)
 * (FinalRequestProcessor); the Java client's ZKWatchManager/WatchDeregistration
 * queues the *WatchRemoved events to its local watchers when the reply is OK
 * (or for a local removal), and the C client likewise calls its watchers
 * locally. So cv_watch_remove only reports which kinds it removed; the
 * caller replies OK for a non-zero result and CV_ZNOWATCHER for 0.
 */
#ifndef CV_WATCH_H
#define CV_WATCH_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Stored kinds; bit values, so a set of kinds is their OR. */
enum cv_watch_kind {
    CV_WATCH_DATA = 1,
    CV_WATCH_CHILD = 2,
    CV_WATCH_PERSISTENT = 4,
    CV_WATCH_PERSISTENT_RECURSIVE = 8,
};
#define CV_WATCH_ALL_KINDS 0xfu
#define CV_WATCH_ONE_SHOT  (CV_WATCH_DATA | CV_WATCH_CHILD)

/* Watcher.Event.EventType (the WatcherEvent "type" field). */
enum cv_watch_event {
    CV_WATCH_EV_NODE_CREATED = 1,
    CV_WATCH_EV_NODE_DELETED = 2,
    CV_WATCH_EV_NODE_DATA_CHANGED = 3,
    CV_WATCH_EV_NODE_CHILDREN_CHANGED = 4,
    CV_WATCH_EV_DATA_WATCH_REMOVED = 5,       /* client-side only, see above */
    CV_WATCH_EV_CHILD_WATCH_REMOVED = 6,      /* client-side only */
    CV_WATCH_EV_PERSISTENT_WATCH_REMOVED = 7, /* client-side only */
};

/* Watcher.WatcherType (CheckWatchesRequest / RemoveWatchesRequest "type"). */
enum cv_watcher_type {
    CV_WATCHER_CHILDREN = 1,
    CV_WATCHER_DATA = 2,
    CV_WATCHER_ANY = 3,
    CV_WATCHER_PERSISTENT = 4,           /* ZooKeeper 3.9+ */
    CV_WATCHER_PERSISTENT_RECURSIVE = 5, /* ZooKeeper 3.9+ */
};

/* AddWatchRequest.mode (AddWatchMode) -> kind; -EINVAL for another mode. */
int cv_watch_kind_from_add_mode(int32_t mode);

/* The kinds a WatcherType selects; 0 for an unknown type. */
unsigned cv_watch_kinds_of_type(int32_t watcher_type);

struct cv_watch_params {
    /* Seeds the path and session hashes; the simulator passes a constant. */
    uint64_t hash_seed;
    /* Both NULL: malloc / free. free_fn gets back the size asked for. */
    void *(*alloc_fn)(void *ctx, size_t size);
    void (*free_fn)(void *ctx, void *ptr, size_t size);
    void *alloc_ctx;
};

struct cv_watches;

/* params may be NULL (defaults). NULL when out of memory. */
struct cv_watches *cv_watch_create(const struct cv_watch_params *params);
/* Frees everything; w may be NULL. */
void cv_watch_destroy(struct cv_watches *w);

/*
 * Adds kinds (one or more CV_WATCH_* bits) for (path, session). Idempotent.
 * 0, -EINVAL (no or unknown kind bit, empty path or one longer than
 * UINT32_MAX), -ENOMEM (nothing changed).
 */
int cv_watch_add(struct cv_watches *w, const char *path, size_t len, int64_t session,
                 unsigned kinds);

/*
 * Called once per notified session: event_type is a CV_WATCH_EV_*, path the
 * event's path (for NodeChildrenChanged, the parent).
 */
typedef void (*cv_watch_emit_fn)(void *ctx, int64_t session, int event_type, const char *path,
                                 size_t len);

/*
 * Fires event_type (CV_WATCH_EV_NODE_CREATED .. _CHILDREN_CHANGED) on path
 * by the rules above; emits in ascending session order after the tables are
 * updated. Returns the number of sessions notified (0 for another type).
 * emit may be NULL (consume and count only).
 */
size_t cv_watch_trigger(struct cv_watches *w, const char *path, size_t len, int event_type,
                        cv_watch_emit_fn emit, void *ctx);

/* The full DataTree rule for a create / delete / setData of path; the
 * parent's NodeChildrenChanged is emitted after path's own event. Return the
 * total number of notifications. The root has no parent. */
size_t cv_watch_on_create(struct cv_watches *w, const char *path, size_t len, cv_watch_emit_fn emit,
                          void *ctx);
size_t cv_watch_on_delete(struct cv_watches *w, const char *path, size_t len, cv_watch_emit_fn emit,
                          void *ctx);
size_t cv_watch_on_set_data(struct cv_watches *w, const char *path, size_t len,
                            cv_watch_emit_fn emit, void *ctx);

/*
 * removeWatches: drops the kinds watcher_type selects from (path, session).
 * Returns the set of kinds removed (> 0), 0 when there was none (the caller
 * answers CV_ZNOWATCHER), -EINVAL for an unknown watcher_type.
 */
int cv_watch_remove(struct cv_watches *w, const char *path, size_t len, int64_t session,
                    int32_t watcher_type);

/* checkWatches: 1 if (path, session) holds a kind watcher_type selects,
 * else 0 (the caller answers CV_ZNOWATCHER); -EINVAL for an unknown type. */
int cv_watch_check(const struct cv_watches *w, const char *path, size_t len, int64_t session,
                   int32_t watcher_type);

/* The kinds (path, session) holds; 0 if none. */
unsigned cv_watch_kinds(const struct cv_watches *w, const char *path, size_t len, int64_t session);

/* Drops every watch of session (close or expiry). Returns how many
 * (path, session) pairs it held. */
size_t cv_watch_remove_session(struct cv_watches *w, int64_t session);

/* Number of paths session watches (0 if none). */
size_t cv_watch_session_count(const struct cv_watches *w, int64_t session);

struct cv_watch_stats {
    size_t sessions;   /* sessions holding at least one watch ("connections") */
    size_t paths;      /* distinct watched paths */
    size_t watches;    /* (path, session) pairs ("Total watches") */
    size_t by_kind[4]; /* pairs holding DATA, CHILD, PERSISTENT, RECURSIVE */
};
void cv_watch_get_stats(const struct cv_watches *w, struct cv_watch_stats *st);

/*
 * Introspection walks (wchc, wchp, dump). visit is called once per
 * (path, session) pair; a non-zero return stops the walk and is returned.
 * by_session: ascending session, then path bytes (memcmp, shorter first).
 * by_path: path bytes, then ascending session.
 * 0 when complete, -ENOMEM if the sort arrays could not be allocated (no
 * visit made).
 */
typedef int (*cv_watch_visit_fn)(void *ctx, int64_t session, const char *path, size_t len,
                                 unsigned kinds);
int cv_watch_foreach_by_session(const struct cv_watches *w, cv_watch_visit_fn visit, void *ctx);
int cv_watch_foreach_by_path(const struct cv_watches *w, cv_watch_visit_fn visit, void *ctx);

/*
 * Checks every structural invariant (both indexes hold the same pairs, the
 * pair index finds each, counters match, no empty path or session record).
 * O(all watches). 0 if sound, else the negated source line of the first
 * failed check (a debugging aid for tests and the simulator).
 */
int cv_watch_validate(const struct cv_watches *w);

#ifdef __cplusplus
}
#endif

#endif /* CV_WATCH_H */
