"""A stalled log disk must not stall anything that does not need the disk.

corvid only: the zoo.cfg key corvid.test.walStallFile=<path> (a test hook)
makes log writes not complete while <path> exists. During a stall of ~5 s,
longer than the 2 s session timeout:
  * a write is not acknowledged, and not visible to other clients (it is
    not durable yet);
  * the writer's own later read waits behind its write (per-session FIFO);
  * another client's reads are answered promptly;
  * pings are answered, for the writer's session and for an idle one
    (kazoo drops a connection whose ping is not answered within 2/3 of the
    timeout; the server would expire a silent session): no SUSPENDED /
    LOST, no connection closed;
  * mntr answers.
Once the file is removed the write completes, the pending read returns the
new value, and mntr's zk_fsync_threshold_exceed_count has counted the slow
log write (fsync.warningthresholdms=1000).
"""
import os
import time

import pytest

import conftest
import zkserver

pytestmark = pytest.mark.skipif(
    conftest.TARGET == "zookeeper",
    reason="corvid only: ZooKeeper has no log-stall hook (corvid.test.walStallFile), and it "
           "queues every read and ping behind an unfinished log sync (SyncRequestProcessor), "
           "so serving them during a stall is corvid's own behaviour")

STALL_S = 5.0
SESSION_TIMEOUT_S = 2.0
READ_LIMIT_S = 1.0      # a read during the stall must be answered within this


def count_pings(client):
    """Count the pings kazoo sends (it sends one whenever its connection has
    been quiet for about a third of the session timeout)."""
    conn = client._connection
    sent = {"n": 0}
    orig = conn._send_ping

    def send_ping(connect_timeout):
        sent["n"] += 1
        return orig(connect_timeout)
    conn._send_ping = send_ping
    return sent


def mntr(port):
    vals = {}
    for line in zkserver.four_letter(port, "mntr", timeout=3.0).splitlines():
        k, _, v = line.partition("\t")
        vals[k.strip()] = v.strip()
    return vals


@pytest.fixture(autouse=True)
def _hard_limit():
    """SIGALRM after 90 s: nothing here may hang the suite."""
    with conftest.time_limit(90, "test_slow_disk"):
        yield


@pytest.fixture
def stall_dir():
    with conftest.temp_dir("cv-stall-") as d:
        yield d


def test_pings_and_reads_are_served_while_the_log_stalls(stall_dir, make_server):
    from kazoo.protocol.states import KazooState
    stall = os.path.join(stall_dir, "stall")
    srv = make_server(tick_ms=200, min_session_timeout=400, max_session_timeout=10000,
                      extra_cfg={"forceSync": "yes", "corvid.test.walStallFile": stall,
                                 "fsync.warningthresholdms": 1000})
    if srv.in_memory():
        pytest.fail("%s says IN-MEMORY ONLY at start-up: it has no log to stall "
                    "(expected until the durable server lands)" % zkserver.CORVID_BIN)
    clients = []
    try:
        a = conftest.new_client(srv.hosts, timeout=SESSION_TIMEOUT_S)
        clients.append(a)
        b = conftest.new_client(srv.hosts, timeout=SESSION_TIMEOUT_S)
        clients.append(b)
        idle = conftest.new_client(srv.hosts, timeout=SESSION_TIMEOUT_S)   # only pings
        clients.append(idle)
        for c in (a, b, idle):
            assert c._session_timeout == SESSION_TIMEOUT_S * 1000, (
                "negotiated session timeout %r ms, wanted %d" % (
                    c._session_timeout, SESSION_TIMEOUT_S * 1000))
        changes = []
        a.add_listener(lambda s: changes.append((round(time.time(), 3), "A", s)))
        b.add_listener(lambda s: changes.append((round(time.time(), 3), "B", s)))
        idle.add_listener(lambda s: changes.append((round(time.time(), 3), "idle", s)))
        sid_a, sid_b, sid_idle = a.client_id[0], b.client_id[0], idle.client_id[0]
        pings_a, pings_idle = count_pings(a), count_pings(idle)
        a.create("/slow", b"old")
        a.create("/slow-eph-a", ephemeral=True)
        b.create("/slow-eph-b", ephemeral=True)
        slow_before = int(mntr(srv.port).get("zk_fsync_threshold_exceed_count", "0"))

        open(stall, "w").close()
        t0 = time.time()
        p0 = (pings_a["n"], pings_idle["n"])
        write = a.set_async("/slow", b"new")
        read_after_write = a.get_async("/slow")     # same session, issued after the write
        reads = mntrs = 0
        worst = 0.0
        try:
            while time.time() - t0 < STALL_S:
                for what, call in (("get /slow", lambda: b.get_async("/slow")),
                                   ("exists /slow-eph-a", lambda: b.exists_async("/slow-eph-a"))):
                    t = time.time()
                    res = call()
                    res.wait(READ_LIMIT_S)
                    took = time.time() - t
                    assert res.ready(), (
                        "B's %s not answered within %.1fs, %.1fs into the log stall"
                        % (what, READ_LIMIT_S, t - t0))
                    v = res.get()
                    worst = max(worst, took)
                    reads += 1
                    if what == "get /slow":
                        assert v[0] == b"old", (
                            "B read %r from /slow while A's set was not durable (stalled): "
                            "an unacknowledged write became visible" % (v[0],))
                    else:
                        assert v is not None and v.ephemeralOwner == sid_a, (
                            "A's ephemeral is gone during the stall: %r" % (v,))
                if reads % 20 == 0 or mntrs == 0:
                    m = mntr(srv.port)
                    assert "zk_version" in m, "mntr during the stall answered %r" % (m,)
                    mntrs += 1
                assert not write.ready(), (
                    "A's set completed %.1fs into the log stall (%r): the write was acknowledged "
                    "before its log record was durable (is corvid.test.walStallFile honoured?)"
                    % (time.time() - t0, write.value if write.successful() else write.exception))
                assert not read_after_write.ready(), (
                    "A's get, issued after its stalled set, was answered %.1fs into the stall "
                    "(%r): a session's requests must complete in order"
                    % (time.time() - t0, read_after_write.value
                       if read_after_write.successful() else read_after_write.exception))
                assert not changes, "connection state changed during the stall: %r" % changes
                time.sleep(0.05)
            stalled_for = time.time() - t0
            pinged = (pings_a["n"] - p0[0], pings_idle["n"] - p0[1])
            for c in (a, b, idle):
                assert c.state == KazooState.CONNECTED, (a.state, b.state, idle.state)
        finally:
            os.unlink(stall)

        write.wait(10)
        assert write.ready(), "A's set still not acknowledged 10s after the stall ended"
        st = write.get()
        assert st.version == 1, st
        read_after_write.wait(10)
        assert read_after_write.ready(), "A's get still not answered 10s after the stall ended"
        assert read_after_write.get()[0] == b"new", (
            "A's get issued after its set returned %r, not the value it wrote"
            % (read_after_write.get()[0],))
        assert b.get("/slow")[0] == b"new"
        assert not changes, "connection state changed: %r" % changes
        assert (a.client_id[0], b.client_id[0], idle.client_id[0]) == (sid_a, sid_b, sid_idle), (
            "a session was replaced")
        # ~0.3-0.7 s between pings: a 5 s stall sees several, each answered
        # in time (or kazoo would have dropped the connection: see changes)
        assert min(pinged) >= 3, (
            "kazoo sent only %d (A) / %d (idle) pings during the %.1fs stall: the test did not "
            "exercise pings" % (pinged[0], pinged[1], stalled_for))
        for p, owner in (("/slow-eph-a", sid_a), ("/slow-eph-b", sid_b)):
            st = b.exists(p)
            assert st is not None and st.ephemeralOwner == owner, (
                "%s gone after the stall: its session expired" % p)
        # the slow log write is counted (mntr polled: counted when it completes)
        deadline = time.time() + 5
        while True:
            slow = int(mntr(srv.port).get("zk_fsync_threshold_exceed_count", "-1"))
            if slow >= slow_before + 1 or time.time() > deadline:
                break
            time.sleep(0.1)
        assert slow >= slow_before + 1, (
            "mntr zk_fsync_threshold_exceed_count is %d (was %d before a %.1fs log stall, "
            "fsync.warningthresholdms=1000)" % (slow, slow_before, stalled_for))
        print("stall %.1fs: %d reads by B (slowest %.0f ms), %d mntr, %d + %d pings answered "
              "(A, idle), no state change; zk_fsync_threshold_exceed_count %d -> %d"
              % (stalled_for, reads, worst * 1000, mntrs, pinged[0], pinged[1], slow_before,
                 slow))
    finally:
        if os.path.exists(stall):
            os.unlink(stall)
        for c in clients:
            conftest.stop_client(c)
