"""Durability with real clients: kill -9 and restart the server on the same
data directory (forceSync=yes) and check what survived.

  test_crash_loop                 the crash loop of crash_loop.py: writers at
                                  full speed, kill -9 at a random moment,
                                  restart, every acknowledged write present,
                                  nothing applied twice or in part
                                  (CV_CRASH_ITERS, CV_CRASH_SEED, ...)
  test_crash_loop_notices_*       the loop's checks against a server that
                                  is not crashed but sabotaged: each kind of
                                  damage must be reported (harness self-test;
                                  runs against any server, durable or not)
  test_restart_keeps_*            tree, Stat, ACLs, sequence counters and the
                                  zxid survive kill -9 and SIGTERM, with and
                                  without a separate dataLogDir
  test_sessions_survive_restart   a client reconnecting within its timeout
                                  keeps its session and ephemerals; a session
                                  nobody reconnects expires after the restart

Against corvid these need the durable build: a corvid that prints
"IN-MEMORY ONLY" at start-up fails them with that reason. They pass against
Apache ZooKeeper (CV_TARGET=zookeeper), which validates the harness.
"""
import os
import signal
import threading
import time

import pytest

import conftest
import crash_loop
import zkserver

TARGET = conftest.TARGET


# Without CV_CRASH_ITERS (e.g. when the whole folder runs, as in
# integration.RealClientsAgainstCorvid) the crash loop is a smoke run; the
# ctest entry integration.CrashLoopAgainstCorvid sets CV_CRASH_ITERS (180).
SMOKE_ITERS = {"corvid": 20, "zookeeper": 10}


def crash_iters():
    v = os.environ.get("CV_CRASH_ITERS", "").strip()
    return int(v) if v else SMOKE_ITERS[TARGET]


@pytest.fixture
def alarm():
    """alarm(seconds): a hard limit for the rest of the test (SIGALRM)."""
    if threading.current_thread() is not threading.main_thread():
        yield lambda s: None
        return

    def on_alarm(signum, frame):
        raise conftest.TestTimedOut("test_durability: hard time limit reached")
    old = signal.signal(signal.SIGALRM, on_alarm)
    yield lambda s: signal.alarm(int(s))
    signal.alarm(0)
    signal.signal(signal.SIGALRM, old)


IN_MEMORY = ("%s says IN-MEMORY ONLY at start-up: this build keeps nothing on disk, so nothing "
             "survives a restart (expected until the durable server lands)")


# ------------------------------------------------------------ crash loop ----

def test_crash_loop(alarm):
    """Writers at full speed, kill -9 at a random moment, restart on the same
    data directory, verify; CV_CRASH_ITERS times (ctest: 180; unset: 20
    against corvid, 10 against ZooKeeper; CV_CRASH_ITERS=5000 for a soak)."""
    conftest._skip_if_no_corvid()
    iters = crash_iters()
    alarm(300 + 30 * iters)
    seed = os.environ.get("CV_CRASH_SEED", "").strip()
    loop = crash_loop.CrashLoop(
        TARGET, iters, int(seed) if seed else None,
        kill_ms=crash_loop.parse_range(os.environ.get("CV_CRASH_KILL_MS", "50-400")),
        writers=int(os.environ.get("CV_CRASH_WRITERS", "2")),
        snap_count=int(os.environ.get("CV_CRASH_SNAPCOUNT", "0")) or None,
        retain=int(os.environ.get("CV_CRASH_RETAIN", "250")),
        keep_on_failure=os.environ.get("CV_CRASH_KEEP", "") not in ("", "0"),
        log=lambda s: print(s, flush=True))
    print("CV_CRASH_SEED=%d" % loop.seed, flush=True)
    try:
        loop.run()
    except crash_loop.CrashLoopError as e:
        pytest.fail(str(e), pytrace=False)


# Each sabotage breaks the state in one way; the loop must say so.
def _ops(writers, kind, acked=True):
    for wr in writers:
        for op in wr.ops:
            if op.kind == kind and (op.acked() or not acked):
                return wr.w, op
    pytest.fail("the writers issued no acknowledged %r write to sabotage" % kind)


def _lost_create(loop, zk, it, writers):
    w, op = _ops(writers, "c")
    zk.delete("/crash/i%d/c/%d-%d" % (it, w, op.n))


def _corrupt(loop, zk, it, writers):
    w, op = _ops(writers, "c")
    zk.set("/crash/i%d/c/%d-%d" % (it, w, op.n), b"not what was written")


def _duplicate_seq(loop, zk, it, writers):
    w, op = _ops(writers, "s")
    zk.create("/crash/i%d/s/%d-" % (it, w), crash_loop.payload("s", it, w, op.n), sequence=True)


def _half_multi(loop, zk, it, writers):
    w, op = _ops(writers, "m")
    zk.delete("/crash/i%d/b/%d-%d" % (it, w, op.n))


def _register_rollback(loop, zk, it, writers):
    w, op = _ops(writers, "r")
    zk.set(loop.reg_path(w), b"%d" % loop.reg_val[w])


def _invented(loop, zk, it, writers):
    zk.create("/crash/i%d/c/0-9999999" % it, b"never written")


def _old_iteration(loop, zk, it, writers):
    if it == 2:
        name = sorted(loop.records[1].names["c"])[0]
        zk.delete("/crash/i1/c/%s" % name)


def _stray_znode(loop, zk, it, writers):
    zk.create("/stray-%d" % it)


def _resurrect_pruned(loop, zk, it, writers):
    if it == 3:
        assert loop.pruned == [1], loop.pruned
        zk.create("/crash/i1")


SABOTAGE = {
    "lost_create": (_lost_create, ["LOST acknowledged create", "GAP in writer"]),
    "corrupt_data": (_corrupt, ["CORRUPT /crash/i1/c/"]),
    "duplicate_sequential": (_duplicate_seq, ["DUPLICATE: sequential create"]),
    "half_applied_multi": (_half_multi, ["HALF-APPLIED multi"]),
    "register_rollback": (_register_rollback, ["LOST acknowledged set /crash/reg/",
                                               "a set was applied twice or lost"]),
    "invented_znode": (_invented, ["UNEXPECTED znode /crash/i1/c/0-9999999"]),
    "older_iteration_changed": (_old_iteration, ["CHANGED /crash/i1/c (iteration 1)"]),
    "stray_znode": (_stray_znode, ["mntr zk_znode_count is"]),
    "pruned_iteration_back": (_resurrect_pruned, ["RESURRECTED /crash/i1"]),
}


@pytest.mark.parametrize("damage", sorted(SABOTAGE))
def test_crash_loop_notices(damage, alarm):
    """Harness self-test: no crash (the writers' sessions are just closed),
    but the state is damaged before the checks run; the report must name the
    damage (and the seed and iteration)."""
    conftest._skip_if_no_corvid()
    alarm(120)
    fn, expected = SABOTAGE[damage]
    loop = crash_loop.CrashLoop(TARGET, iters=3, seed=7, kill_ms=(150, 150), crash=False,
                                sabotage=fn, retain=1, log=lambda s: None)
    with pytest.raises(crash_loop.CrashLoopError) as ei:
        loop.run()
    msg = str(ei.value)
    for want in expected:
        assert want in msg, "expected %r in the report:\n%s" % (want, msg)
    assert "seed=7" in msg and "iteration=" in msg, msg


def _zero_log_tail(loop, it):
    """While the server is down: zero the second half of the newest log
    segment's content (from a 4 KiB boundary), as if those sectors had never
    reached the disk. Both ZooKeeper (version-2/log.*) and corvid
    (corvid-log/log.*) then recover a shorter log, losing acknowledged writes."""
    segs = []
    for root, _, names in os.walk(loop.srv.data_log_dir):
        segs += [os.path.join(root, n) for n in names if n.startswith("log.")]
    assert segs, "no log.* file under %s" % loop.srv.data_log_dir
    seg = max(segs, key=lambda p: (os.path.getmtime(p), p))
    with open(seg, "r+b") as f:
        data = f.read()
        end = len(data.rstrip(b"\0"))
        start = (end // 2) // 4096 * 4096
        assert end - start > 4096, "%s holds only %d bytes" % (seg, end)
        f.seek(start)
        f.write(b"\0" * (end - start))
        f.flush()
        os.fsync(f.fileno())


def test_crash_loop_notices_a_log_that_lost_its_tail(alarm):
    """Harness self-test through a real crash and recovery: the log loses its
    tail while the server is down, so acknowledged writes are really gone;
    the loop must report them LOST. Needs a durable server."""
    conftest._skip_if_no_corvid()
    alarm(120)
    loop = crash_loop.CrashLoop(TARGET, iters=1, seed=11, kill_ms=(400, 400), double_crash=0,
                                snap_count=100000,
                                after_kill=_zero_log_tail, log=lambda s: None)
    with pytest.raises(crash_loop.CrashLoopError) as ei:
        loop.run()
    msg = str(ei.value)
    assert "LOST acknowledged" in msg, msg
    assert "seed=11" in msg, msg


# ------------------------------------------------------- restart checks ----

def start_durable(**kw):
    extra = dict(kw.pop("extra_cfg", None) or {})
    extra.setdefault("forceSync", "yes")
    srv = conftest.start_server(extra_cfg=extra, poll_interval=0.02, **kw)
    if srv.in_memory():
        srv.stop()
        pytest.fail(IN_MEMORY % zkserver.CORVID_BIN)
    return srv


def restart(srv, sig=signal.SIGKILL):
    srv.kill(sig)
    srv.restart()
    conftest.wait_serving(srv, timeout=60)


def dump(zk, path="/dur"):
    """{path: (data, stat fields, acl)} for the subtree at path."""
    out = {}
    stack = [path]
    while stack:
        p = stack.pop()
        data, st = zk.get(p)
        acl, _ = zk.get_acls(p)
        fields = tuple((f, getattr(st, f)) for f in (
            "czxid", "mzxid", "pzxid", "ctime", "mtime", "version", "cversion", "aversion",
            "ephemeralOwner", "dataLength", "numChildren"))
        out[p] = (data, fields, sorted((a.perms, a.id.scheme, a.id.id) for a in acl))
        stack += ["%s/%s" % (p.rstrip("/"), c) for c in zk.get_children(p)]
    return out


def diff(before, after):
    lines = []
    for p in sorted(set(before) | set(after)):
        if p not in after:
            lines.append("LOST %s" % p)
        elif p not in before:
            lines.append("NEW %s" % p)
        elif before[p] != after[p]:
            b, a = before[p], after[p]
            if b[0] != a[0]:
                lines.append("%s data %s -> %s" % (p, crash_loop.short(b[0]),
                                                   crash_loop.short(a[0])))
            if b[1] != a[1]:
                lines.append("%s stat %s" % (p, [(x, y[1]) for x, y in zip(b[1], a[1])
                                                 if x != y]))
            if b[2] != a[2]:
                lines.append("%s acl %s -> %s" % (p, b[2], a[2]))
    return lines


@pytest.mark.parametrize("layout", ["dataDir", "dataLogDir"])
def test_restart_keeps_tree_stat_acl_and_counters(layout, alarm):
    """A mixed history (creates of every kind, sets, deletes, multis, a failed
    multi, ACLs, an ephemeral of a closed session, large data), enough
    transactions to pass snapCount; then kill -9 + restart and SIGTERM +
    restart: the tree, every Stat field and every ACL are unchanged, the
    next sequential suffix and the zxid continue where they were."""
    from kazoo.exceptions import NoNodeError
    from kazoo.security import make_acl, make_digest_acl
    alarm(120)
    srv = start_durable(data_log_dir=(layout == "dataLogDir"), extra_cfg={"snapCount": 50})
    made = []
    try:
        zk = conftest.new_client(srv.hosts)
        made.append(zk)
        zk.create("/dur")
        zk.create("/dur/big", b"B" * 500000)
        zk.create("/dur/acl", b"secret",
                  acl=[make_digest_acl("u", "p", all=True), make_acl("world", "anyone",
                                                                       read=True)])
        zk.create("/dur/counter", b"0")
        for i in range(1, 121):                        # > snapCount transactions
            zk.set("/dur/counter", b"%d" % i)
        seqs = [zk.create("/dur/seq-", b"%d" % i, sequence=True) for i in range(5)]
        zk.delete(seqs[1])
        zk.create("/dur/gone")
        zk.delete("/dur/gone")
        t = zk.transaction()
        t.create("/dur/m1", b"1")
        t.create("/dur/m1/child", b"2")
        t.set_data("/dur/counter", b"multi")
        assert all(not isinstance(r, Exception) for r in t.commit())
        t = zk.transaction()
        t.create("/dur/never", b"x")
        t.delete("/dur/does-not-exist")
        assert any(isinstance(r, Exception) for r in t.commit())
        other = conftest.new_client(srv.hosts)
        other.create("/dur/eph", ephemeral=True)
        conftest.stop_client(other)                    # closeSession: /dur/eph goes
        zk.create("/dur/open", b"o")
        last_seq = zk.create("/dur/seq-", b"x", sequence=True)    # the next suffix is +1
        zk.delete(last_seq)
        before = dump(zk)
        assert "/dur/eph" not in before and "/dur/never" not in before
        max_zxid = max(dict(v[1])["mzxid"] for v in before.values())
        conftest.stop_client(zk)

        for sig in (signal.SIGKILL, signal.SIGTERM):
            restart(srv, sig)
            zk = conftest.new_client(srv.hosts)
            made.append(zk)
            problems = diff(before, dump(zk))
            assert not problems, "after %s + restart (%s):\n  %s" % (
                signal.Signals(sig).name, layout, "\n  ".join(problems))
            with pytest.raises(NoNodeError):
                zk.get("/dur/eph")
            conftest.stop_client(zk)

        zk = conftest.new_client(srv.hosts)
        made.append(zk)
        nxt = zk.create("/dur/seq-", b"after", sequence=True)
        want = "/dur/seq-%010d" % (int(last_seq[-10:]) + 1)
        assert nxt == want, "sequential suffix after restart: %s, expected %s" % (nxt, want)
        st = zk.exists(nxt)
        assert st.czxid > max_zxid, "zxid went backwards after restart: %#x <= %#x" % (
            st.czxid, max_zxid)
    finally:
        for c in made:
            conftest.stop_client(c)
        srv.stop()


def test_sessions_survive_restart(alarm):
    """kill -9 with two sessions holding ephemerals. A (kazoo) reconnects
    within its timeout: same session, ephemeral kept, never LOST. B (raw, its
    connection dropped) does not reconnect: its session was recovered too, so
    its ephemeral is there after the restart and goes when B's timeout runs
    out."""
    from kazoo.protocol.states import KazooState
    alarm(120)
    srv = start_durable()
    made = []
    raw = conftest.RawZK(srv.port)
    try:
        a = conftest.new_client(srv.hosts, timeout=8.0, connection_retry=dict(
            max_tries=-1, delay=0.05, backoff=1.3, max_delay=0.2, ignore_expire=False))
        made.append(a)
        states = []
        a.add_listener(lambda s: states.append(s))
        a.create("/eph-a", b"a", ephemeral=True)
        sid_a = a.client_id[0]
        resp = raw.connect(timeout_ms=6000)
        assert resp["timeOut"] == 6000, resp
        raw.create("/eph-b", b"b", mode=conftest.RawZK.EPHEMERAL)
        sid_b = raw.session_id
        raw.drop()

        t_kill = time.time()
        restart(srv, signal.SIGKILL)
        t_up = time.time()
        assert t_up - t_kill < 6.0, "restart took %.1fs, longer than the session timeouts" % (
            t_up - t_kill)
        conftest.wait_until(lambda: a.state == KazooState.CONNECTED, timeout=8.0,
                            msg="A to reconnect after the restart")
        assert KazooState.LOST not in states, "A's session was lost: %s" % states
        assert a.client_id[0] == sid_a, "A got a new session"
        assert a.get("/eph-a")[1].ephemeralOwner == sid_a

        c = conftest.new_client(srv.hosts)
        made.append(c)
        st = c.exists("/eph-b")
        assert st is not None and st.ephemeralOwner == sid_b, (
            "B's ephemeral missing right after the restart (%.1fs after the kill, B's timeout "
            "is 6s): its session was not recovered" % (time.time() - t_kill))
        conftest.wait_until(lambda: c.exists("/eph-b") is None, timeout=6.0 + 6.0,
                            msg="B's recovered session to expire (timeout 6s) and take /eph-b")
        assert c.exists("/eph-a") is not None, "A's ephemeral went with B's session"
        resp = raw.connect(timeout_ms=6000, session_id=sid_b, passwd=raw.passwd)
        assert resp["timeOut"] == 0, "B's expired session was accepted: %r" % resp
        assert KazooState.LOST not in states, "A's session was lost: %s" % states
        a.stop()
        conftest.wait_until(lambda: c.exists("/eph-a") is None, timeout=5.0,
                            msg="/eph-a to go when A closes its session")
    finally:
        raw.drop()
        for cl in made:
            conftest.stop_client(cl)
        srv.stop()
