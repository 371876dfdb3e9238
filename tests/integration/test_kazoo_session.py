"""Sessions: timeout negotiation (clamped to [min,max]), expiry by timeout
(ephemerals gone for everyone, the expired client told: kazoo state LOST),
reconnect with session id + password keeps the session and its ephemerals,
a wrong password is refused without harming the session, closeSession,
SetWatches on reconnect, and (S1) nothing registered for an expired
session.

Sessions are held either by the raw wire client (we decide exactly when it
stops pinging) or by a kazoo client in a helper process that we SIGSTOP /
SIGKILL, so expiry is real server-side timeout expiry, never faked."""
import binascii
import signal
import os
import queue
import time


import zkserver

HOLDER = r"""
import sys, time, binascii
from kazoo.client import KazooClient
hosts, path, timeout = sys.argv[1], sys.argv[2], float(sys.argv[3])
zk = KazooClient(hosts=hosts, timeout=timeout,
                 connection_retry=dict(max_tries=200, delay=0.05, max_delay=0.2))
zk.add_listener(lambda s: print("STATE %s" % s, flush=True))
zk.start(timeout=10)
zk.create(path, b"held", ephemeral=True)
sid, pw = zk.client_id
print("READY %d %s" % (sid, binascii.hexlify(pw).decode()), flush=True)
time.sleep(60)
"""


def test_negotiated_timeout_is_clamped(raw, server):
    r = raw()
    assert r.connect(100)["timeOut"] == 400          # minSessionTimeout
    r.close_session()
    assert r.connect(60000)["timeOut"] == 10000      # maxSessionTimeout
    r.close_session()
    resp = r.connect(3000)
    assert resp["timeOut"] == 3000
    assert resp["sessionId"] != 0 and len(resp["passwd"]) == 16
    assert resp["protocolVersion"] == 0
    r.close_session()


def test_session_ids_are_unique(raw):
    ids = set()
    for _ in range(5):
        r = raw()
        ids.add(r.connect(4000)["sessionId"])
    assert len(ids) == 5


def test_timeout_expiry_removes_ephemerals(raw, zk, base):
    """A session that stops pinging expires after about its timeout; its
    ephemerals disappear for every client and watchers are told."""
    r = raw()
    assert r.connect(400)["timeOut"] == 400
    r.create(base + "/eph", b"", mode=r.EPHEMERAL)
    r.create(base + "/eseq-", b"", mode=r.EPHEMERAL_SEQUENTIAL)
    q = queue.Queue()
    zk.exists(base + "/eph", watch=q.put)
    zk.get_children(base, watch=q.put)
    t0 = time.time()
    # no pings from now on: the server must expire the session and hang up
    assert r.wait_closed(timeout=5.0), "server did not close the expired session's connection"
    elapsed = time.time() - t0
    assert 0.2 <= elapsed <= 3.0, elapsed
    evs = sorted((q.get(timeout=5).type, q.get(timeout=5).type))
    assert evs == ["CHILD", "DELETED"]
    assert zk.get_children(base) == []
    # reconnecting to the expired session is refused: timeOut 0, then closed
    r2 = raw()
    resp = r2.connect(4000, session_id=r.session_id, passwd=r.passwd)
    assert resp["timeOut"] == 0 and resp["sessionId"] == 0
    assert r2.wait_closed(timeout=3.0)


def test_pings_keep_session_alive(raw, zk, base):
    r = raw()
    r.connect(400)
    r.create(base + "/alive", b"", mode=r.EPHEMERAL)
    r.quiet(2.0)            # pings every timeout/3
    assert zk.exists(base + "/alive") is not None
    r.close_session()
    assert zk.exists(base + "/alive") is None


def test_expired_kazoo_client_sees_lost(helpers, zk, server, base):
    """Freeze a kazoo client (SIGSTOP) past its session timeout: the server
    expires the session, everybody sees the ephemeral vanish, and when the
    frozen client thaws it is told the session is LOST."""
    p = helpers.spawn(HOLDER, server.hosts, base + "/held", 1.0)
    line = helpers.read_line(p, "READY", timeout=20)
    sid = int(line.split()[1])
    st = zk.exists(base + "/held")
    assert st is not None and st.ephemeralOwner == sid
    q = queue.Queue()
    zk.exists(base + "/held", watch=q.put)
    os.kill(p.pid, signal.SIGSTOP)
    try:
        ev = q.get(timeout=8)
        assert ev.type == "DELETED"
        assert zk.exists(base + "/held") is None
    finally:
        os.kill(p.pid, signal.SIGCONT)
    helpers.read_line(p, "STATE LOST", timeout=15)


def test_reconnect_with_same_session_keeps_ephemerals(helpers, make_client, zk, server, base):
    p = helpers.spawn(HOLDER, server.hosts, base + "/held", 6.0)
    _, sid, pw = helpers.read_line(p, "READY", timeout=20).split()
    sid, pw = int(sid), binascii.unhexlify(pw)
    helpers.kill(p)          # TCP connection gone, no closeSession sent
    c = make_client(client_id=(sid, pw), timeout=6.0)
    assert c.client_id[0] == sid
    st = c.exists(base + "/held")
    assert st is not None and st.ephemeralOwner == sid
    assert c.get(base + "/held")[0] == b"held"
    c.create(base + "/more", ephemeral=True)
    assert zk.exists(base + "/more").ephemeralOwner == sid
    c.stop()                 # closeSession now ends it
    assert zk.exists(base + "/held") is None
    assert zk.exists(base + "/more") is None


def _revive(r, sid, pw):
    """ZooKeeper closes a session's current connection as soon as a
    ConnectRequest names that session, before it checks the password, so the
    rightful owner may have been disconnected (its session is untouched).
    Reconnect it if so; either way it must end up on the same session."""
    try:
        r.ping()
        r.exists("/")
    except (type(r).Closed, OSError):
        resp = r.connect(6000, session_id=sid, passwd=pw)
        assert resp["sessionId"] == sid and resp["timeOut"] > 0


def test_wrong_password_is_refused(raw, make_client, zk, base):
    owner = raw()
    owner.connect(6000)
    owner.create(base + "/mine", b"", mode=owner.EPHEMERAL)
    sid, pw = owner.session_id, owner.passwd
    bad = bytes([pw[0] ^ 0xFF]) + pw[1:]
    # raw: the server answers timeOut 0 / session 0 and hangs up
    r = raw()
    resp = r.connect(6000, session_id=sid, passwd=bad)
    assert resp["timeOut"] == 0 and resp["sessionId"] == 0
    assert r.wait_closed(timeout=3.0)
    _revive(owner, sid, pw)
    # kazoo: treats it as an expired session and silently starts a new one
    # (its initial state is already LOST, so no LOST transition is seen)
    c = make_client(client_id=(sid, bad), timeout=6.0)
    assert c.connected and c.client_id[0] not in (0, sid)
    _revive(owner, sid, pw)
    # the real session and its ephemeral are untouched
    st = zk.exists(base + "/mine")
    assert st is not None and st.ephemeralOwner == sid
    owner.close_session()
    assert zk.exists(base + "/mine") is None


def test_close_session_removes_ephemerals_at_once(raw, zk, base):
    r = raw()
    r.connect(10000)
    r.create(base + "/e1", b"", mode=r.EPHEMERAL)
    r.create(base + "/e2", b"", mode=r.EPHEMERAL)
    r.close_session()
    assert zk.get_children(base) == []


def test_setwatches_on_reconnect(raw, zk, base):
    """After a reconnect the client re-sends its watches with SetWatches and
    the zxid it last saw; changes made meanwhile fire at once."""
    zk.create(base + "/d", b"0")
    zk.create(base + "/c")
    r = raw()
    r.connect(6000)
    r.get(base + "/d", watch=True)
    r.exists(base + "/new", watch=True)
    r.children(base + "/c", watch=True)
    r.exists(base + "/quiet")
    seen = r.last_zxid
    r.drop()
    zk.set(base + "/d", b"1")
    zk.create(base + "/new")
    zk.create(base + "/c/kid")
    r.connect(6000, session_id=r.session_id, passwd=r.passwd, last_zxid=seen)
    r.set_watches(seen, data=[base + "/d"], exist=[base + "/new", base + "/quiet"],
                  child=[base + "/c"])
    r.wait_events(3, timeout=5)
    r.quiet(0.3)
    assert sorted(r.pop_events()) == sorted([(r.EV_CHANGED, 3, base + "/d"),
                                             (r.EV_CREATED, 3, base + "/new"),
                                             (r.EV_CHILD, 3, base + "/c")])
    # the exists watch on /quiet (no change yet) is armed and fires later
    zk.create(base + "/quiet")
    r.wait_events(1)
    assert r.pop_events() == [(r.EV_CREATED, 3, base + "/quiet")]
    r.close_session()


def test_no_watch_registered_for_expired_session(raw, server, base):
    """S1: SetWatches pipelined right behind a ConnectRequest for a dead
    session must not register anything; the connection is closed."""
    r = raw()
    r.connect(4000)
    sid, pw = r.session_id, r.passwd
    r.close_session()
    marker = base + "/s1_marker_%d" % os.getpid()
    r2 = raw()
    frame = r2.set_watches_frame(0, data=[marker + "_d"], exist=[marker + "_e"],
                                 child=[marker + "_c"])
    try:
        resp = r2.connect(4000, session_id=sid, passwd=pw, pipeline=frame)
        assert resp["timeOut"] == 0
        assert r2.wait_closed(timeout=3.0)
    except type(r2).Closed:
        pass
    time.sleep(0.2)
    wchp = zkserver.four_letter(server.port, "wchp")
    assert marker not in wchp, wchp
    # and a wrong password behaves the same
    live = raw()
    live.connect(4000)
    r3 = raw()
    frame = r3.set_watches_frame(0, data=[marker + "_w"])
    try:
        resp = r3.connect(4000, session_id=live.session_id,
                          passwd=b"\x01" * 16, pipeline=frame)
        assert resp["timeOut"] == 0
    except type(r3).Closed:
        pass
    time.sleep(0.2)
    assert marker not in zkserver.four_letter(server.port, "wchp")
    _revive(live, live.session_id, live.passwd)
    live.close_session()


def test_unknown_session_id_is_refused(raw):
    r = raw()
    resp = r.connect(4000, session_id=0x7ead00000000beef, passwd=b"\0" * 16)
    assert resp["timeOut"] == 0 and resp["sessionId"] == 0
    assert r.wait_closed(timeout=3.0)
