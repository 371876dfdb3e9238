"""Watches: one-shot data / exists / child watches fire exactly once and in
zxid order; the event reaches the client before any read that shows the new
state; persistent and persistent-recursive watches (addWatch, opcode 106)
and removeWatches through the raw wire client, since kazoo 2.8 has no
add_watch."""
import queue

import pytest

QUIET = 0.3          # how long "no further event" is waited for


class Events:
    """Collects kazoo WatchedEvents (from the kazoo callback thread)."""

    def __init__(self):
        self.q = queue.Queue()

    def cb(self, tag):
        return lambda ev: self.q.put((tag, ev.type, ev.path))

    def get(self, timeout=5.0):
        try:
            return self.q.get(timeout=timeout)
        except queue.Empty:
            pytest.fail("no watch event within %.0fs" % timeout)

    def take(self, n, timeout=5.0):
        return [self.get(timeout) for _ in range(n)]

    def none(self, wait=QUIET):
        try:
            ev = self.q.get(timeout=wait)
        except queue.Empty:
            return True
        pytest.fail("unexpected extra watch event %r" % (ev,))


def test_data_watch_fires_once(make_client, zk, base):
    w = make_client()
    ev = Events()
    zk.create(base + "/d", b"0")
    w.get(base + "/d", watch=ev.cb("d"))
    zk.set(base + "/d", b"1")
    assert ev.get() == ("d", "CHANGED", base + "/d")
    zk.set(base + "/d", b"2")                 # watch was consumed
    ev.none()
    w.get(base + "/d", watch=ev.cb("d2"))     # re-arm
    zk.delete(base + "/d")
    assert ev.get() == ("d2", "DELETED", base + "/d")
    ev.none()


def test_exists_watch_on_missing_node(make_client, zk, base):
    w = make_client()
    ev = Events()
    assert w.exists(base + "/e", watch=ev.cb("e")) is None
    zk.create(base + "/e", b"x")
    assert ev.get() == ("e", "CREATED", base + "/e")
    zk.set(base + "/e", b"y")
    zk.delete(base + "/e")
    ev.none()


def test_exists_watch_on_existing_node(make_client, zk, base):
    w = make_client()
    ev = Events()
    zk.create(base + "/e")
    assert w.exists(base + "/e", watch=ev.cb("e")) is not None
    zk.set(base + "/e", b"y")
    assert ev.get() == ("e", "CHANGED", base + "/e")
    w.exists(base + "/e", watch=ev.cb("e2"))
    zk.delete(base + "/e")
    assert ev.get() == ("e2", "DELETED", base + "/e")
    ev.none()


def test_create_then_delete_fires_exists_watch_once(make_client, zk, base):
    w = make_client()
    ev = Events()
    w.exists(base + "/flip", watch=ev.cb("f"))
    zk.create(base + "/flip")
    zk.delete(base + "/flip")
    assert ev.get() == ("f", "CREATED", base + "/flip")
    ev.none()


def test_child_watch(make_client, zk, base):
    w = make_client()
    ev = Events()
    zk.create(base + "/p", b"")
    w.get_children(base + "/p", watch=ev.cb("c"))
    zk.set(base + "/p", b"data")           # a data change is not a child change
    zk.create(base + "/p/a")
    assert ev.get() == ("c", "CHILD", base + "/p")
    zk.create(base + "/p/b")
    ev.none()
    w.get_children(base + "/p", watch=ev.cb("c2"))
    zk.set(base + "/p/a", b"1")            # grandchild-level data: no child event
    zk.delete(base + "/p/a")
    assert ev.get() == ("c2", "CHILD", base + "/p")
    ev.none()


def test_delete_fires_data_and_child_watches(make_client, zk, base):
    w = make_client()
    ev = Events()
    zk.create(base + "/n")
    w.get(base + "/n", watch=ev.cb("data"))
    w.get_children(base + "/n", watch=ev.cb("child"))
    zk.delete(base + "/n")
    got = sorted(ev.take(2))
    assert got == [("child", "DELETED", base + "/n"), ("data", "DELETED", base + "/n")]
    ev.none()


def test_watch_events_arrive_in_zxid_order(make_client, zk, base):
    w = make_client()
    ev = Events()
    for n in ("w1", "w2", "w3"):
        zk.create(base + "/" + n)
        w.get(base + "/" + n, watch=ev.cb(n))
    w.get_children(base, watch=ev.cb("kids"))
    w.exists(base + "/w4", watch=ev.cb("w4"))
    zk.set(base + "/w2", b"a")
    zk.create(base + "/x")
    zk.set(base + "/w3", b"a")
    zk.delete(base + "/w1")
    zk.create(base + "/w4")
    assert [e[0] for e in ev.take(5)] == ["w2", "kids", "w3", "w1", "w4"]
    ev.none()


def test_multi_fires_watches_in_op_order(make_client, zk, base):
    w = make_client()
    ev = Events()
    for n in ("a", "b", "c"):
        zk.create(base + "/" + n)
        w.get(base + "/" + n, watch=ev.cb(n))
    t = zk.transaction()
    t.set_data(base + "/c", b"1")
    t.delete(base + "/a")
    t.set_data(base + "/b", b"1")
    t.commit()
    assert ev.take(3) == [("c", "CHANGED", base + "/c"), ("a", "DELETED", base + "/a"),
                          ("b", "CHANGED", base + "/b")]
    ev.none()


def test_failed_multi_fires_nothing(make_client, zk, base):
    w = make_client()
    ev = Events()
    zk.create(base + "/a")
    w.get(base + "/a", watch=ev.cb("a"))
    w.exists(base + "/new", watch=ev.cb("new"))
    t = zk.transaction()
    t.set_data(base + "/a", b"1")
    t.create(base + "/new")
    t.check(base + "/a", 42)
    t.commit()
    ev.none()


def test_every_watching_client_is_told(make_client, zk, base):
    ev = Events()
    zk.create(base + "/shared")
    clients = [make_client() for _ in range(3)]
    for i, c in enumerate(clients):
        c.get(base + "/shared", watch=ev.cb(i))
    zk.set(base + "/shared", b"!")
    assert sorted(e[0] for e in ev.take(3)) == [0, 1, 2]
    ev.none()


def test_event_precedes_new_data_on_the_wire(raw, zk, base):
    """A client sees the watch event before it sees the changed data."""
    r = raw()
    r.connect(4000)
    zk.create(base + "/v", b"old")
    r.get(base + "/v", watch=True)
    zk.set(base + "/v", b"new")
    data, _ = r.get(base + "/v")
    assert data == b"new"
    assert r.events == [(r.EV_CHANGED, 3, base + "/v")]


def test_persistent_watch(raw, zk, base):
    r = raw()
    r.connect(4000)
    p = base + "/pw"
    r.add_watch(p, r.ADDWATCH_PERSISTENT)
    zk.create(p)
    zk.create(p + "/c")
    zk.set(p, b"1")
    zk.set(p + "/c", b"1")          # not the watched node: nothing
    zk.create(p + "/c/g")           # grandchild: nothing
    zk.delete(p + "/c/g")
    zk.delete(p + "/c")
    zk.delete(p)
    zk.create(p)                    # still armed after delete
    want = [(r.EV_CREATED, 3, p), (r.EV_CHILD, 3, p), (r.EV_CHANGED, 3, p),
            (r.EV_CHILD, 3, p), (r.EV_DELETED, 3, p), (r.EV_CREATED, 3, p)]
    r.wait_events(len(want), timeout=5)
    r.quiet(QUIET)
    assert r.events == want


def test_persistent_recursive_watch(raw, zk, base):
    r = raw()
    r.connect(4000)
    p = base + "/pr"
    r.add_watch(p, r.ADDWATCH_PERSISTENT_RECURSIVE)
    zk.create(p)
    zk.create(p + "/c")
    zk.create(p + "/c/d")
    zk.set(p + "/c/d", b"1")
    zk.set(p, b"1")
    zk.delete(p + "/c/d")
    zk.create(base + "/prx")        # a sibling sharing the prefix is not below p
    # no NodeChildrenChanged events in recursive mode
    want = [(r.EV_CREATED, 3, p), (r.EV_CREATED, 3, p + "/c"),
            (r.EV_CREATED, 3, p + "/c/d"), (r.EV_CHANGED, 3, p + "/c/d"),
            (r.EV_CHANGED, 3, p), (r.EV_DELETED, 3, p + "/c/d")]
    r.wait_events(len(want), timeout=5)
    r.quiet(QUIET)
    assert r.events == want


def test_one_event_per_connection_per_change(raw, zk, base):
    """A one-shot data watch and a persistent watch on the same path and
    connection yield a single notification; the persistent one stays."""
    r = raw()
    r.connect(4000)
    p = base + "/both"
    zk.create(p)
    r.get(p, watch=True)
    r.add_watch(p, r.ADDWATCH_PERSISTENT)
    zk.set(p, b"1")
    r.wait_events(1)
    r.quiet(QUIET)
    assert r.pop_events() == [(r.EV_CHANGED, 3, p)]
    zk.set(p, b"2")
    r.wait_events(1)
    r.quiet(QUIET)
    assert r.pop_events() == [(r.EV_CHANGED, 3, p)]


def test_remove_watches(raw, zk, base):
    r = raw()
    r.connect(4000)
    p = base + "/rm"
    zk.create(p)
    r.add_watch(p, r.ADDWATCH_PERSISTENT_RECURSIVE)
    r.get(p, watch=True)
    r.children(p, watch=True)
    r.remove_watches(p, r.WT_ANY)    # the server sends no event for this
    zk.set(p, b"1")
    zk.create(p + "/c")
    r.quiet(QUIET)
    assert r.events == []
    with pytest.raises(type(r).Error) as ei:
        r.remove_watches(p, r.WT_ANY)
    assert ei.value.code == r.NOWATCHER
    # removing only the data watch leaves the child watch
    r.get(p, watch=True)
    r.children(p, watch=True)
    r.remove_watches(p, r.WT_DATA)
    zk.set(p, b"2")
    zk.create(p + "/d")
    r.wait_events(1)
    r.quiet(QUIET)
    assert r.events == [(r.EV_CHILD, 3, p)]
