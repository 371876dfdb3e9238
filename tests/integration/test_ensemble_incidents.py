"""The four production incidents behind the session invariants S1-S4
(docs/replication.md, "Incident scenarios"), replayed against a real
3-process corvid ensemble with real clients: kazoo, and RawZK (conftest.py)
where the wire protocol has to be driven by hand (a session left silent
until it expires, SetWatches or a request pipelined behind a
ConnectRequest, a connection abandoned before its ConnectResponse).

    CORVID_BIN=build/control/corvid /usr/bin/python3 -m pytest -q -s \\
        tests/integration/test_ensemble_incidents.py

corvid only (walStallFile, and the timing of corvid's session rules).
Shared helpers and fixtures come from test_ensemble_faults.py.
"""
import os
import re
import socket
import struct
import time

import pytest

import conftest
from conftest import RawZK
from test_ensemble_faults import (  # noqa: F401  (fixtures used by name)
    Harness, h, hard_limit, tmp_dir, bounded, dump, followers, role_counts, role_lines,
    sid_hex, wait_for, bad_states)

pytestmark = pytest.mark.skipif(conftest.TARGET != "corvid",
                                reason="corvid only (walStallFile; corvid's session rules)")

SHORT_MS = 2000        # sessions that are meant to expire


def sid_re(sid):
    return re.compile(r"0x0*%x\b" % sid, re.I)


def raw_to(e, sid, io_timeout=5.0):
    return RawZK(e.port(sid), io_timeout=io_timeout)


def request_frame(r, op, body):
    """(xid, length-prefixed frame) of a request, for pipelining."""
    xid, payload = r.frame(op, body)
    return xid, struct.pack(">i", len(payload)) + payload


def exists_body(path, watch=False):
    return RawZK.s(path) + (b"\1" if watch else b"\0")


def create_body(path, data=b"", mode=RawZK.EPHEMERAL):
    return (RawZK.s(path) + RawZK.buf(data) + RawZK.acl_vec(RawZK.OPEN_ACL_UNSAFE)
            + struct.pack(">i", mode))


def read_replies(r, timeout):
    """Frames the server sends until it closes the connection or timeout:
    ([(xid, zxid, err)], closed)."""
    out = []
    deadline = time.time() + timeout
    try:
        while time.time() < deadline:
            try:
                data = r.read_frame(max(0.01, deadline - time.time()))
            except socket.timeout:
                return out, False
            rd = RawZK.Reader(data)
            out.append((rd.int(), rd.long(), rd.int()))
    except RawZK.Closed:
        return out, True
    return out, False


def wait_session_gone(e, ids, sid, timeout):
    """Poll `dump` of members `ids` until none has sid live; return when."""
    deadline = time.time() + timeout
    while True:
        if all(sid not in dump(e, i)[0] for i in ids):
            return time.time()
        if time.time() > deadline:
            pytest.fail("session %s still live on %s after %.0fs" % (
                sid_hex(sid), [i for i in ids if sid in dump(e, i)[0]], timeout))
        time.sleep(0.02)


def no_orphans(e, where):
    """On every member, every ephemeral in `dump` is owned by a session its
    own `dump` lists as live (one dump = one consistent snapshot)."""
    out = {}
    for i in e.members:
        live, eph = dump(e, i)
        bad = dict((sid_hex(s), p) for s, p in eph.items() if p and s not in live)
        assert not bad, ("member %d %s: ephemerals owned by sessions that are not live: %s "
                         "(live: %s)" % (i, where, bad, sorted(sid_hex(s) for s in live)))
        out[i] = (live, eph)
    return out


# ---------------------------------------------------------------- (a) ----

def test_expired_session_reconnecting_elsewhere_with_set_watches_leaves_wchp_cons_dump_consistent(h):
    e = h.ensemble(voters=3)
    lid = e.leader()
    a, b = followers(e)
    ctl = h.client(e.hosts(b))                  # an innocent watcher of the same paths on B
    ctl.create("/inc-a", b"0")
    ctl.exists("/inc-a/x", watch=lambda ev: None)
    ctl.get("/inc-a", watch=lambda ev: None)
    ctl_sid = ctl.client_id[0]

    r = raw_to(e, a)
    r.connect(SHORT_MS)
    sid, pw = r.session_id, r.passwd
    r.create("/inc-a/eph", b"", mode=r.EPHEMERAL)
    r.exists("/inc-a/x", watch=True)
    r.get("/inc-a", watch=True)
    r.children("/inc-a", watch=True)
    assert sid_re(sid).search(e.four_letter(a, "wchp")), "the watches were not registered on A"
    last_zxid = r.last_zxid

    # freeze: the socket stays open, nothing is sent (no pings) -> expiry
    t0 = time.time()
    t_gone = wait_session_gone(e, [lid], sid, 10 + 3 * SHORT_MS / 1000.0)
    # at once, reconnect to B with SetWatches pipelined behind the ConnectRequest
    r2 = raw_to(e, b)
    sw = r2.set_watches_frame(last_zxid, data=["/inc-a"], exist=["/inc-a/x"],
                              child=["/inc-a"])
    xid_ex, ex = request_frame(r2, RawZK.OP_EXISTS, exists_body("/inc-a/eph", watch=True))
    try:
        resp = r2.connect(SHORT_MS, session_id=sid, passwd=pw, last_zxid=last_zxid,
                          pipeline=sw + ex)
    except RawZK.Closed:
        resp = None                         # closed without an answer: also "not valid"
    replies, closed = read_replies(r2, 5.0) if resp is not None else ([], True)
    print("\nsession %s silent on member %d expired on the leader %.2fs later; reconnect to "
          "member %d with SetWatches + exists pipelined -> %r, then %r, closed=%s"
          % (sid_hex(sid), a, t_gone - t0, b, resp, replies, closed))
    assert resp is None or (resp["timeOut"] <= 0 and resp["sessionId"] == 0), (
        "the expired session %s was accepted by member %d: %r" % (sid_hex(sid), b, resp))
    assert closed, "member %d did not close the expired session's connection" % b
    ok = [x for x in replies if x[2] == 0 and x[0] in (-8, xid_ex)]
    assert not ok, "requests pipelined behind an expired session's connect succeeded: %r" % ok
    assert r.wait_closed(5.0), "member %d kept the expired session's old connection open" % a

    # nothing of the session anywhere, in any of the three views, for a while
    end = time.time() + 1.5
    while True:
        for i in e.members:
            for word in ("wchp", "wchc", "cons", "dump"):
                text = e.four_letter(i, word)
                assert not sid_re(sid).search(text), (
                    "member %d `%s` still shows expired session %s:\n%s"
                    % (i, word, sid_hex(sid), text))
            wchp = e.four_letter(i, "wchp")
            ids = set(int(x, 16) for x in re.findall(r"0x[0-9a-f]+", wchp, re.I))
            assert ids <= {ctl_sid}, "member %d wchp: %s" % (i, wchp)
            live, eph = dump(e, i)
            assert sid not in live and not eph.get(sid)
            assert all("/inc-a/eph" not in p for p in eph.values())
        if time.time() > end:
            break
        time.sleep(0.3)
    # and the data agrees: the ephemeral is gone everywhere; B still has ctl's watches
    assert sid_re(ctl_sid).search(e.four_letter(b, "wchp")), "ctl's watches on B disappeared"
    for i in e.members:
        c = h.client(e.hosts(i))
        c.sync("/inc-a")
        assert c.exists("/inc-a/eph") is None, "member %d still has the ephemeral" % i


# ---------------------------------------------------------------- (b) ----

def test_after_told_expired_no_member_shows_the_sessions_ephemerals(h):
    # sync limit 2 s: the lagging follower may stay stopped ~1.5 s
    e = h.ensemble(voters=3, sync_limit=10)
    lid = e.leader()
    a, lag = followers(e)
    setup = h.client(e.all_hosts())
    setup.create("/inc-b", b"")
    r = raw_to(e, a)
    r.connect(SHORT_MS)
    sid, pw = r.session_id, r.passwd
    r.create("/inc-b/eph", b"", mode=r.EPHEMERAL)
    for i in e.members:
        c = h.client(e.hosts(i))
        c.sync("/inc-b")
        assert c.exists("/inc-b/eph").ephemeralOwner == sid

    t0 = time.time()          # silent from now on
    time.sleep(SHORT_MS / 1000.0 * 0.6)
    e.pause(lag)              # the lagging follower misses the expiry for a while
    paused_at = time.time()
    try:
        wait_session_gone(e, [lid], sid, 10)
        # told expired by the member it was connected to (reconnect there)
        told = None
        while told is None and time.time() - t0 < 15:
            r2 = raw_to(e, a)
            try:
                resp = r2.connect(SHORT_MS, session_id=sid, passwd=pw)
            except (RawZK.Closed, socket.timeout, OSError):
                r2.drop()
                time.sleep(0.05)
                continue
            assert resp["timeOut"] <= 0, (
                "member %d revalidated session %s after the leader expired it: %r"
                % (a, sid_hex(sid), resp))
            told = time.time()
            r2.drop()
        assert told, "never told expired"
        # straight away: a new session on the lagging member, an exists pipelined
        # behind its ConnectRequest (sent while it is still stopped)
        pending = NewSessionRead(e, lag, "/inc-b/eph")
    finally:
        e.resume(lag)
    resumed = time.time()
    got = pending.result()
    if got is None:           # it dropped the connection (left its role): a fresh try
        got = NewSessionRead(e, lag, "/inc-b/eph", retry_for=15).result()
    print("\nsession %s silent; lagging member %d stopped from %.2fs to %.2fs; told expired by "
          "member %d at %.2fs; new session on member %d read %r"
          % (sid_hex(sid), lag, paused_at - t0, resumed - t0, a, told - t0, lag, got))
    assert got == (RawZK.NONODE, None), (
        "member %d showed the ephemeral of session %s to a new session opened after the client "
        "was told it expired: %r" % (lag, sid_hex(sid), got))
    # every member, with a new session, without and with sync
    for i in e.members:
        got = NewSessionRead(e, i, "/inc-b/eph", retry_for=15).result()
        assert got == (RawZK.NONODE, None), "member %d (no sync): %r" % (i, got)
        c = h.client(e.hosts(i))
        assert c.exists("/inc-b/eph") is None, "member %d (kazoo, no sync)" % i
        c.sync("/inc-b")
        assert c.exists("/inc-b/eph") is None, "member %d (kazoo, sync)" % i
        live, eph = dump(e, i)
        assert sid not in live and not eph.get(sid), "member %d dump" % i


class NewSessionRead(object):
    """A new session on a member with an exists pipelined right behind its
    ConnectRequest (both sent at once, so they wait in the socket if the
    member is stopped). result(): (err, ephemeralOwner or None), or None if
    the member closed the connection (retry_for: try again that long)."""

    def __init__(self, e, sid, path, retry_for=0.0):
        self.e, self.sid, self.path, self.retry_for = e, sid, path, retry_for
        self._send()

    def _send(self):
        self.r = raw_to(self.e, self.sid, io_timeout=10.0)
        self.xid, frame = request_frame(self.r, RawZK.OP_EXISTS, exists_body(self.path))
        try:
            self.r.sock = socket.create_connection(self.r.addr, timeout=5)
            body = struct.pack(">iqiq", 0, 0, 4000, 0) + RawZK.s(b"\0" * 16) + b"\0"
            self.r.sock.sendall(struct.pack(">i", len(body)) + body + frame)
        except OSError:
            self.r.drop()

    def _read(self):
        if self.r.sock is None:
            return None
        try:
            rd = RawZK.Reader(self.r.read_frame(10.0))
            rd.int()
            assert rd.int() > 0, "member %d refused a new session" % self.sid
            session = rd.long()
            while True:
                rd = RawZK.Reader(self.r.read_frame(10.0))
                xid, _, err = rd.int(), rd.long(), rd.int()
                if xid == self.xid:
                    break
            owner = rd.stat()["ephemeralOwner"] if err == 0 else None
            # close the new session
            self.r.session_id = session
            try:
                self.r.close_session()
            except Exception:
                pass
            return err, owner
        except (RawZK.Closed, OSError):
            return None
        finally:
            self.r.drop()

    def result(self):
        deadline = time.time() + self.retry_for
        while True:
            got = self._read()
            if got is not None or time.time() >= deadline:
                return got
            time.sleep(0.1)
            self._send()


# ---------------------------------------------------------------- (c) ----

def stall_cfg(tmp_dir, ids):
    files = dict((i, os.path.join(tmp_dir, "stall-%d" % i)) for i in ids)
    cfg = dict((i, {"corvid.test.walStallFile": files[i], "fsync.warningthresholdms": 1000})
               for i in ids)
    return files, cfg


def test_commit_delay_longer_than_session_timeout_leaves_no_orphan_ephemeral(h, tmp_dir):
    stall_s = 8.0                    # 4x the short sessions' timeout
    files, cfg = stall_cfg(tmp_dir, (1, 2, 3))
    e = h.ensemble(voters=3, member_cfg=cfg)
    lid = e.leader()
    f1, f2 = followers(e)
    keep = h.client(e.hosts(lid), timeout=10.0)       # a session that stays alive
    keep.create("/inc-c", b"")
    keep.create("/inc-c/keep0", b"", ephemeral=True)
    keep_sid = keep.client_id[0]
    d = raw_to(e, f1)                 # will go silent during the delay
    d.connect(SHORT_MS)
    cl = raw_to(e, f2)                # will close its session during the delay
    cl.connect(SHORT_MS)
    roles0 = role_counts(e)
    no_orphans(e, "before the delay")

    for i in (f1, f2):                # a majority cannot make anything durable
        open(files[i], "w").close()
    t0 = time.time()
    try:
        k1 = keep.create_async("/inc-c/keep1", b"", ephemeral=True)
        # established sessions create ephemerals, then vanish
        _, f = request_frame(d, RawZK.OP_CREATE2, create_body("/inc-c/d"))
        d.sock.sendall(f)
        _, f = request_frame(cl, RawZK.OP_CREATE2, create_body("/inc-c/cl"))
        _, fc = request_frame(cl, RawZK.OP_CLOSE, b"")
        cl.sock.sendall(f + fc)
        # new sessions on every member, an ephemeral create pipelined behind the
        # ConnectRequest; their clients give up before any answer can come
        news = []
        for n, i in enumerate(e.members):
            r = raw_to(e, i, io_timeout=2.5)
            _, f = request_frame(r, RawZK.OP_CREATE2, create_body("/inc-c/n%d" % n))
            try:
                resp = r.connect(SHORT_MS, pipeline=f)
            except (socket.timeout, RawZK.Closed):
                resp = None
            assert resp is None, (
                "member %d answered a new session during a commit stall (before its "
                "createSession can be durable on a quorum): %r" % (i, resp))
            r.drop()
            news.append("/inc-c/n%d" % n)
        time.sleep(0.5)
        d.drop()
        cl.drop()
        while time.time() - t0 < stall_s:
            assert not k1.ready(), "a write completed while 2 of 3 logs stalled: %r" % (k1,)
            no_orphans(e, "%.1fs into the commit delay" % (time.time() - t0))
            time.sleep(0.2)
        assert keep.connected and not keep.states, bad_states(keep)
    finally:
        for i in (f1, f2):
            if os.path.exists(files[i]):
                os.unlink(files[i])
    t1 = time.time()
    bounded(k1, 10.0)
    t_commit = time.time() - t1
    # after the delay: the createSessions and creates commit, then the silent and
    # abandoned sessions expire; at every moment no ephemeral has a dead owner
    gone = ["/inc-c/d", "/inc-c/cl"] + news
    samples = 0
    while True:
        views = no_orphans(e, "%.1fs after the delay" % (time.time() - t1))
        samples += 1
        left = dict((i, sorted(p for s, ps in eph.items() for p in ps if p in gone))
                    for i, (live, eph) in views.items())
        extra = dict((i, sorted(sid_hex(s) for s in live if s != keep_sid))
                     for i, (live, eph) in views.items())
        if not any(left.values()) and not any(extra.values()):
            break
        assert time.time() - t1 < 20, (
            "20s after the delay, ephemerals of dead sessions: %s; sessions other than keep "
            "still live: %s" % (left, extra))
        time.sleep(0.1)
    t_clean = time.time() - t1
    for i in e.members:
        live, eph = dump(e, i)
        assert live == {keep_sid}, "member %d: live sessions %s" % (
            i, sorted(sid_hex(s) for s in live))
        assert sorted(eph.get(keep_sid, [])) == ["/inc-c/keep0", "/inc-c/keep1"], (i, eph)
    for i in e.members:
        c = h.client(e.hosts(i))
        c.sync("/inc-c")
        for p in gone:
            assert c.exists(p) is None, "member %d: %s exists" % (i, p)
        for p in ("/inc-c/keep0", "/inc-c/keep1"):
            assert c.exists(p).ephemeralOwner == keep_sid
    print("\n2 of 3 logs stalled %.1fs (sessions of %d ms): keep's create committed %.2fs after; "
          "dead sessions and their ephemerals gone %.2fs after (%d dump rounds, no orphan)"
          % (t1 - t0, SHORT_MS, t_commit, t_clean, samples))
    assert role_counts(e) == roles0, "role changes: %s" % dict(
        (i, role_lines(e, i)[roles0[i]:]) for i in e.members)
    assert keep.client_id[0] == keep_sid and not keep.states, bad_states(keep)


# ---------------------------------------------------------------- (d) ----

def test_slow_fsync_on_minority_then_majority_closes_no_client_and_recovers(h, tmp_dir):
    minority_s, majority_s = 5.0, 6.0         # the majority phase > the 4 s sessions
    files, cfg = stall_cfg(tmp_dir, (1, 2, 3))
    e = h.ensemble(voters=3, member_cfg=cfg)
    lid = e.leader()
    f1, f2 = followers(e)
    writers = dict((i, h.client(e.hosts(i), timeout=4.0)) for i in e.members)
    readers = dict((i, h.client(e.hosts(i), timeout=4.0)) for i in e.members)
    clients = list(writers.values()) + list(readers.values())
    sids = [c.client_id[0] for c in clients]
    writers[lid].create("/inc-d", b"0")
    for i, c in writers.items():
        c.create("/inc-d/eph%d" % i, b"", ephemeral=True)
    roles0 = role_counts(e)

    def check_clients(when):
        for c in clients:
            assert not c.states, "a client of member %s saw %s %s" % (
                c.hosts, bad_states(c), when)

    def read_all(limit, when):
        worst = 0.0
        for i, c in readers.items():
            t = time.time()
            bounded(c.get_async("/inc-d"), limit)
            worst = max(worst, time.time() - t)
        return worst

    # phase 1: follower f1's log is slow -> nothing visible to clients
    open(files[f1], "w").close()
    t0 = time.time()
    n = 0
    try:
        worst_w = worst_r = 0.0
        while time.time() - t0 < minority_s:
            for i, c in writers.items():
                n += 1
                t = time.time()
                bounded(c.set_async("/inc-d", str(n).encode()), 3.0)
                worst_w = max(worst_w, time.time() - t)
            worst_r = max(worst_r, read_all(1.0, "phase 1"))
            check_clients("with a slow minority")
            time.sleep(0.05)
        print("\nphase 1, member %d's log stalled: %d writes (slowest %.0f ms), reads slowest "
              "%.0f ms" % (f1, n, worst_w * 1000, worst_r * 1000))

        # phase 2: the leader's log stalls too -> a majority: writes wait, nothing closes
        open(files[lid], "w").close()
        t1 = time.time()
        pending = []
        for i, c in writers.items():
            n += 1
            pending.append((i, n, c.set_async("/inc-d", str(n).encode())))
        worst_r = 0.0
        while time.time() - t1 < majority_s:
            worst_r = max(worst_r, read_all(1.0, "phase 2"))
            done = [(i, k) for i, k, a in pending if a.ready()]
            assert not done, ("writes completed while a majority of logs (%d, %d) stalled: %s"
                              % (f1, lid, done))
            check_clients("%.1fs into the majority stall" % (time.time() - t1))
            assert e.leader() == lid, "leader changed: %s" % e.modes()
            time.sleep(0.1)
    finally:
        for p in files.values():
            if os.path.exists(p):
                os.unlink(p)
    t2 = time.time()
    for i, k, a in pending:
        bounded(a, 15.0)
    t_drain = time.time() - t2
    print("phase 2, logs of %d and %d stalled %.1fs: %d writes waited, reads slowest %.0f ms; "
          "they completed %.2fs after the stall ended" % (f1, lid, t2 - t1, len(pending),
                                                         worst_r * 1000, t_drain))
    # recovered without anyone doing anything: new writes, everywhere, quickly
    for i, c in writers.items():
        n += 1
        t = time.time()
        bounded(c.set_async("/inc-d", str(n).encode()), 5.0)
        assert time.time() - t < 2.0, "a write after recovery took %.1fs" % (time.time() - t)
    for i, c in readers.items():
        c.sync("/inc-d")
        assert c.get("/inc-d")[0] == str(n).encode(), "member %d is behind" % i
        for j in e.members:
            assert c.exists("/inc-d/eph%d" % j).ephemeralOwner == writers[j].client_id[0]
    check_clients("after the stalls")
    assert [c.client_id[0] for c in clients] == sids, "a session was replaced"
    assert e.leader() == lid
    assert role_counts(e) == roles0, "role changes (election storm?): %s" % dict(
        (i, role_lines(e, i)[roles0[i]:]) for i in e.members)
