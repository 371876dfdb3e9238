"""Fault tests of a multi-process corvid ensemble (Zab over UDP) with real
kazoo clients: kill -9 of the leader under write load, a SIGSTOPped
follower, a follower with a stalled log disk (S4), a restart of every
member at once, an isolated leader, and a 5-voter smoke test.

Every member is a separate `corvid` process started by ensemble.Ensemble
(CORVID_BIN selects the binary). Each test is bounded (SIGALRM after
TEST_LIMIT_S) and prints what it measured (run pytest with -s to see it):

    CORVID_BIN=build/control/corvid /usr/bin/python3 -m pytest -q -s \\
        tests/integration/test_ensemble_faults.py

CV_SOAK=1 makes the slow-disk stall last 30 s instead of 10 s.
CV_TARGET=zookeeper runs the tests that need no corvid test hook
(walStallFile, peerDropFile) against Apache ZooKeeper 3.8 (the oracle).

The helpers here (clients, writers, log role counting, dump parsing) are
also used by test_ensemble_incidents.py.
"""
import os
import re
import signal
import threading
import time

import pytest

import conftest
import ensemble
import zkserver

TARGET = conftest.TARGET
TEST_LIMIT_S = int(os.environ.get("CV_ENSEMBLE_TEST_LIMIT", "60"))
SOAK = os.environ.get("CV_SOAK", "") not in ("", "0")
TICK_MS = 200
LONG_SESSION_S = 10.0       # sessions that must survive an outage
MAX_SESSION_MS = 30000
# An election after a crash must finish within a few initLimits (ZooKeeper:
# one round of notifications plus discovery). 10 ticks * 200 ms = 2 s each.
ELECTION_LIMIT_S = float(os.environ.get("CV_ELECTION_LIMIT", "8"))

corvid_only = pytest.mark.skipif(
    TARGET != "corvid", reason="needs a corvid test hook (walStallFile / peerDropFile)")


# ------------------------------------------------------------ fixtures ----

@pytest.fixture(autouse=True)
def hard_limit(request):
    """SIGALRM after TEST_LIMIT_S: no test of these files may hang."""
    with conftest.time_limit(TEST_LIMIT_S, request.node.name):
        yield


@pytest.fixture
def tmp_dir():
    with conftest.temp_dir("cv-ensfault-") as d:
        yield d


class Harness(object):
    """Ensembles and clients of one test; everything is stopped at teardown
    (clients first, then members); member logs are printed on failure."""

    def __init__(self):
        self.ensembles = []
        self.clients = []
        self.threads = []

    def ensemble(self, voters=3, start=True, **kw):
        if TARGET == "corvid" and not os.path.exists(ensemble.CORVID_BIN):
            pytest.skip("corvid binary %s does not exist (set CORVID_BIN)" % ensemble.CORVID_BIN)
        if TARGET == "zookeeper" and not os.path.exists("/usr/share/java/zookeeper.jar"):
            pytest.skip("Apache ZooKeeper (Debian's zookeeper package) is not installed")
        kw.setdefault("tick_ms", TICK_MS)
        kw.setdefault("start_timeout", 40.0)
        extra = {"maxSessionTimeout": MAX_SESSION_MS}
        extra.update(kw.pop("extra_cfg", None) or {})
        e = ensemble.Ensemble(TARGET, voters=voters, extra_cfg=extra, **kw)
        self.ensembles.append(e)
        if start:
            e.start()
        return e

    def client(self, hosts, timeout=LONG_SESSION_S, listener=True, start=True, **kw):
        """A started KazooClient on exactly `hosts` (in that order, not
        shuffled), retrying its connection for as long as the test runs.
        With listener, c.states lists (time, state) of every change."""
        from kazoo.client import KazooClient
        kw.setdefault("connection_retry", dict(max_tries=-1, delay=0.05, backoff=1.5,
                                               max_delay=0.5))
        kw.setdefault("command_retry", None)
        kw.setdefault("randomize_hosts", False)
        c = KazooClient(hosts=hosts, timeout=timeout, **kw)
        c.states = []
        if listener:
            c.add_listener(lambda s: c.states.append((time.time(), s)))
        self.clients.append(c)
        if start:
            c.start(timeout=15)
            del c.states[:]      # the initial CONNECTED
        return c

    def close(self, failed):
        for t in self.threads:
            t.stop()
        for t in self.threads:
            t.join(timeout=10)
        for c in reversed(self.clients):
            zkserver.stop_client(c)
        for e in self.ensembles:
            if failed and e.base:
                print("\n==== member logs (test failed) ====\n" + e._logs_tail(3000))
            e.stop()


@pytest.fixture
def h(request):
    failed0 = request.session.testsfailed
    hz = Harness()
    try:
        yield hz
    finally:
        # the call phase is reported before teardown: print the logs if it failed
        hz.close(request.session.testsfailed > failed0)


# ------------------------------------------------------------- helpers ----

def others(e, sid):
    return [i for i in e.voter_ids if i != sid]


def followers(e):
    lid = e.leader()
    return [i for i in e.voter_ids if i != lid]


def hosts_from(e, first, ids=None):
    """Connection string that tries `first` first, then the other ids."""
    ids = ids if ids is not None else e.members
    return ",".join(e.hosts(i) for i in [first] + [j for j in ids if j != first])


def wait_for(pred, timeout, interval=0.05, what="condition"):
    deadline = time.time() + timeout
    while True:
        v = pred()
        if v:
            return v
        if time.time() >= deadline:
            pytest.fail("timed out after %.1fs waiting for %s" % (timeout, what))
        time.sleep(interval)


def bounded(async_result, timeout):
    """Result of a kazoo async call, raising on error or after timeout."""
    return async_result.get(timeout=timeout)


ROLE_RE = re.compile(r"^corvid: (LOOKING|leader|follower|observing|observer)\b", re.M)


def role_lines(e, sid):
    """corvid: the role changes in a member's whole log ('LOOKING',
    'leader', 'follower', ...), in order (all restarts included)."""
    return ROLE_RE.findall(e.log(sid, None))


def role_counts(e):
    return dict((i, len(role_lines(e, i))) for i in e.members)


def bad_states(c):
    """The connection-state changes a client saw (names)."""
    return [str(s) for _, s in c.states]


def sid_hex(sid):
    return "0x%x" % sid


def parse_dump(text):
    """corvid/ZooKeeper `dump` -> (set of live session ids, {session id:
    [ephemeral paths]})."""
    live, eph = set(), {}
    section = None
    owner = None
    for line in text.splitlines():
        if line.startswith("SessionTracker dump"):
            section = "sessions"
            continue
        if line.startswith("ephemeral nodes dump"):
            section = "eph"
            continue
        if line.startswith("Connections dump"):
            section = "conns"
            continue
        if section == "sessions" and line.startswith("\t0x"):
            live.add(int(line.strip(), 16))
        elif section == "eph":
            if line.startswith("0x") and line.rstrip().endswith(":"):
                owner = int(line.strip()[:-1], 16)
                eph.setdefault(owner, [])
            elif line.startswith("\t/") and owner is not None:
                eph[owner].append(line.strip())
    return live, eph


def dump(e, sid):
    return parse_dump(e.four_letter(sid, "dump", timeout=3.0))


class Writer(threading.Thread):
    """Writes through one client until stopped: for n = 1, 2, ... create
    <prefix>/c<n> (persistent) then set <prefix> to n. Records what was
    acknowledged, when each write was issued and answered, and errors.
    Issues nothing while its client is not connected (kazoo queues such
    requests, see README)."""

    def __init__(self, h, client, prefix, pace=0.01, op_timeout=8.0):
        threading.Thread.__init__(self, name="writer %s" % prefix, daemon=True)
        self.c, self.prefix, self.pace, self.op_timeout = client, prefix, pace, op_timeout
        self.created = []        # acknowledged creates (paths)
        self.last_set = 0        # highest acknowledged set value
        self.acks = []           # (issued, answered) of every acknowledged op
        self.errors = []         # (issued, repr)
        self.n = 0
        self._stop_ev = threading.Event()
        h.threads.append(self)

    def stop(self):
        self._stop_ev.set()

    def _op(self, fn):
        t = time.time()
        try:
            fn().get(timeout=self.op_timeout)
        except Exception as ex:     # ConnectionLoss, timeouts, ...: outcome unknown
            self.errors.append((t, repr(ex)))
            return False
        self.acks.append((t, time.time()))
        return True

    def run(self):
        while not self._stop_ev.is_set():
            if not self.c.connected:
                time.sleep(0.02)
                continue
            self.n += 1
            n = self.n
            path = "%s/c%06d" % (self.prefix, n)
            if self._op(lambda: self.c.create_async(path, str(n).encode())):
                self.created.append(path)
            if self._op(lambda: self.c.set_async(self.prefix, str(n).encode())):
                self.last_set = max(self.last_set, n)
            if self.pace:
                self._stop_ev.wait(self.pace)

    def first_ack_after(self, t0):
        """Answer time of the first acknowledged op issued at or after t0."""
        ts = [done for issued, done in self.acks if issued >= t0]
        return min(ts) if ts else None


def check_writers_everywhere(h, e, writers, ids=None, extra=None):
    """Every acknowledged write of every writer is visible through every
    member in ids (a fresh client on that member only, sync first).
    extra: {path: owner session} ephemerals that must be there too."""
    for i in ids or e.members:
        c = h.client(e.hosts(i), timeout=LONG_SESSION_S)
        for w in writers:
            c.sync(w.prefix)
            data, _ = c.get(w.prefix)
            got = int(data or b"0")
            assert got >= w.last_set, (
                "member %d: %s is %d but set %d was acknowledged: an acknowledged write is "
                "lost" % (i, w.prefix, got, w.last_set))
            kids = set(c.get_children(w.prefix))
            missing = [p for p in w.created if p.rsplit("/", 1)[1] not in kids]
            assert not missing, (
                "member %d: %d acknowledged create(s) of %s missing, e.g. %s"
                % (i, len(missing), w.prefix, missing[:5]))
        for path, owner in (extra or {}).items():
            st = c.exists(path)
            assert st is not None and st.ephemeralOwner == owner, (
                "member %d: ephemeral %s of live session %s is %r" % (i, path, sid_hex(owner), st))
        zkserver.stop_client(c)
        h.clients.remove(c)


# --------------------------------------------------------------- tests ----

def test_leader_kill_under_write_load_elects_new_leader_loses_no_ack_and_keeps_sessions(h):
    e = h.ensemble(voters=3)
    old = e.leader()
    setup = h.client(e.all_hosts())
    writers, sess, ephs = [], {}, {}
    for k, first in enumerate(e.members):     # one writer through each member
        c = h.client(hosts_from(e, first))
        prefix = "/kill/w%d" % k
        setup.ensure_path(prefix)
        eph = "/kill/eph%d" % k
        c.create(eph, b"", ephemeral=True)
        sess[k], ephs[eph] = c.client_id[0], c.client_id[0]
        writers.append(Writer(h, c, prefix))
    for w in writers:
        w.start()
    time.sleep(1.5)
    assert all(w.acks for w in writers), "a writer made no progress before the kill"

    t_kill = time.time()
    e.kill(old)
    new = e.wait_leader(timeout=20, exclude=(old,), interval=0.02)
    t_leader = time.time() - t_kill
    wait_for(lambda: any(w.first_ack_after(t_kill) for w in writers), 20,
             what="a write acknowledged after the kill")
    t_write = min(x for x in (w.first_ack_after(t_kill) for w in writers) if x) - t_kill
    time.sleep(1.5)                              # more load under the new leader
    for w in writers:
        w.stop()
    for w in writers:
        w.join(timeout=15)
    print("\nleader %d killed under load; member %d leads after %.3fs; first write acknowledged "
          "%.3fs after the kill; %d acknowledged ops, %d failed (outcome unknown)"
          % (old, new, t_leader, t_write, sum(len(w.acks) for w in writers),
             sum(len(w.errors) for w in writers)))
    assert new != old
    assert t_leader < ELECTION_LIMIT_S, "election took %.1fs (%s)" % (
        t_leader, dict((i, role_lines(e, i)) for i in e.members))
    for w in writers:
        assert w.first_ack_after(t_kill), "writer %s never wrote again after the kill" % w.prefix

    e.restart(old, timeout=30)
    wait_for(lambda: e.mode(old) == "follower", 20, what="the old leader to follow")
    check_writers_everywhere(h, e, writers, extra=ephs)
    for k, w in enumerate(writers):
        assert w.c.client_id[0] == sess[k], "writer %s lost its session" % w.prefix
        assert "LOST" not in bad_states(w.c), (
            "writer %s: session lost (%s) during a %.1fs election, timeout %.0fs"
            % (w.prefix, bad_states(w.c), t_write, LONG_SESSION_S))


def test_sigstopped_follower_longer_than_sync_limit_rest_serves_and_it_catches_up(h):
    e = h.ensemble(voters=3, sync_limit=5)
    lid = e.leader()
    paused, other = followers(e)
    pause_s = max(3.0, 3 * e.sync_limit * e.tick_ms / 1000.0)
    w_lead = h.client(e.hosts(lid))
    w_other = h.client(e.hosts(other))
    on_paused = h.client(e.hosts(paused))
    sid_paused = on_paused.client_id[0]
    on_paused.create("/stop-eph", b"", ephemeral=True)
    w_lead.create("/stop", b"0")
    roles0 = role_counts(e)

    e.pause(paused)
    t0 = time.time()
    n, worst = 0, 0.0
    try:
        while time.time() - t0 < pause_s:
            for c in (w_lead, w_other):
                n += 1
                t = time.time()
                bounded(c.set_async("/stop", str(n).encode()), 3.0)
                bounded(c.create_async("/stop/c%05d" % n, b""), 3.0)
                worst = max(worst, time.time() - t)
            time.sleep(0.02)
    finally:
        e.resume(paused)
    t_resume = time.time()
    print("\nfollower %d stopped %.1fs (syncLimit*tickTime %.1fs): %d writes through the "
          "others, slowest %.0f ms" % (paused, t_resume - t0, e.sync_limit * e.tick_ms / 1000.0,
                                       2 * n, worst * 1000))
    assert e.mode(lid) == "leader" and e.leader() == lid, "the leader changed: %s" % e.modes()
    wait_for(lambda: e.mode(paused) == "follower", 20, what="the resumed member to follow")
    t_back = time.time() - t_resume
    r = h.client(e.hosts(paused))
    r.sync("/stop")
    assert r.get("/stop")[0] == str(n).encode(), "the resumed member did not catch up"
    assert len(r.get_children("/stop")) == n
    # its own client kept its session (timeout 10 s > the pause)
    wait_for(lambda: on_paused.connected, 15, what="the paused member's client to reconnect")
    assert on_paused.client_id[0] == sid_paused and "LOST" not in bad_states(on_paused)
    st = r.exists("/stop-eph")
    assert st is not None and st.ephemeralOwner == sid_paused
    print("member %d serving as follower %.2fs after SIGCONT; role lines added: %s"
          % (paused, t_back, dict((i, role_lines(e, i)[roles0[i]:]) for i in e.members)))


@corvid_only
def test_follower_with_stalled_log_disk_keeps_clients_connected_reading_and_writing(h, tmp_dir):
    stall_s = 30.0 if SOAK else 10.0
    stall = dict((i, os.path.join(tmp_dir, "stall-%d" % i)) for i in (1, 2, 3))
    e = h.ensemble(voters=3, member_cfg=dict(
        (i, {"corvid.test.walStallFile": stall[i], "fsync.warningthresholdms": 1000})
        for i in stall))
    lid = e.leader()
    slow, other = followers(e)
    timeout_s = 4.0        # maxSessionTimeout... pings every ~1.3 s, 2.7 s read timeout
    cs = [h.client(e.hosts(slow), timeout=timeout_s) for _ in range(3)]
    sids = [c.client_id[0] for c in cs]
    for k, c in enumerate(cs):
        c.create("/sd-eph%d" % k, b"", ephemeral=True)
    cs[0].create("/sd", b"0")
    lead = h.client(e.hosts(lid))
    roles0 = role_counts(e)

    open(stall[slow], "w").close()
    t0 = time.time()
    n = reads = 0
    worst_r = worst_w = 0.0
    try:
        while time.time() - t0 < stall_s:
            n += 1
            t = time.time()
            bounded(cs[n % 3].set_async("/sd", str(n).encode()), 5.0)
            worst_w = max(worst_w, time.time() - t)
            bounded(lead.create_async("/sd/l%05d" % n, b""), 5.0)
            for c in cs:
                t = time.time()
                data, _ = bounded(c.get_async("/sd"), 2.0)
                worst_r = max(worst_r, time.time() - t)
                reads += 1
                assert int(data) >= n, ("read %s through the slow follower after write %d through it" % (data, n))
            for k, c in enumerate(cs):
                assert not c.states, (
                    "client %d of the slow follower %d saw %s %.1fs into its disk stall (S4)"
                    % (k, slow, bad_states(c), time.time() - t0))
            time.sleep(0.05)
        assert e.mode(slow) == "follower", "slow follower: %s" % e.modes()
    finally:
        os.unlink(stall[slow])
    took = time.time() - t0
    print("\nfollower %d's log stalled %.1fs: %d writes through it (slowest %.0f ms), %d reads "
          "(slowest %.0f ms), no client state change" % (slow, took, n, worst_w * 1000, reads,
                                                          worst_r * 1000))
    assert role_counts(e) == roles0, "role changes during the stall: %s" % dict(
        (i, role_lines(e, i)[roles0[i]:]) for i in e.members)
    assert e.leader() == lid
    live, eph = dump(e, lid)
    for k, c in enumerate(cs):
        assert c.client_id[0] == sids[k] and not c.states, (k, bad_states(c))
        assert sids[k] in live, "session %s not live on the leader" % sid_hex(sids[k])
        assert "/sd-eph%d" % k in eph.get(sids[k], []), eph
    # the slow member's log catches up: restart it and read what it recovers
    time.sleep(1.0)
    e.kill(slow)
    e.restart(slow, timeout=30)
    r = h.client(e.hosts(slow))
    r.sync("/sd")
    assert r.get("/sd")[0] == str(n).encode()
    assert len(r.get_children("/sd")) == n


def test_kill_all_members_at_once_and_restart_keeps_acked_writes_and_sessions(h):
    e = h.ensemble(voters=3)
    setup = h.client(e.all_hosts())
    writers, sess, ephs = [], {}, {}
    for k, first in enumerate(e.members):
        c = h.client(hosts_from(e, first), timeout=20.0)
        prefix = "/all/w%d" % k
        setup.ensure_path(prefix)
        eph = "/all/eph%d" % k
        c.create(eph, b"", ephemeral=True)
        sess[k], ephs[eph] = c.client_id[0], c.client_id[0]
        writers.append(Writer(h, c, prefix, pace=0.0))
    zkserver.stop_client(setup)
    for w in writers:
        w.start()
    time.sleep(2.0)
    t_kill = time.time()
    for i in e.members:                    # as close to "at once" as signals get
        os.killpg(e.pid(i), signal.SIGKILL)
    for i in e.members:
        e.kill(i)                          # reap, mark killed
    for w in writers:
        w.stop()                           # what was acknowledged so far is final
    t_restart = time.time()
    for i in e.members:
        e.restart(i, wait=False)
    for w in writers:
        w.join(timeout=15)
    acked = sum(len(w.acks) for w in writers)
    e.wait_serving(timeout=30)
    lid = e.wait_leader(timeout=10)
    t_up = time.time() - t_restart
    wait_for(lambda: all(w.c.connected for w in writers), 20, what="the clients to reconnect")
    t_clients = time.time() - t_restart
    print("\nall 3 killed (%d acknowledged ops before); restarted: leader %d and all serving "
          "%.2fs after the restart, clients back after %.2fs (outage %.2fs)"
          % (acked, lid, t_up, t_clients, time.time() - t_kill))
    check_writers_everywhere(h, e, writers, extra=ephs)
    for k, w in enumerate(writers):
        assert w.c.client_id[0] == sess[k], "writer %s got a new session" % w.prefix
        assert "LOST" not in bad_states(w.c), bad_states(w.c)


@corvid_only
def test_isolated_leader_stops_serving_majority_elects_and_it_rejoins_as_follower(h):
    e = h.ensemble(voters=3)
    old = e.leader()
    rest = others(e, old)
    c_old = h.client(e.hosts(old), timeout=LONG_SESSION_S)
    c_maj = h.client(e.all_hosts(rest), timeout=LONG_SESSION_S)
    c_maj.create("/part", b"before")
    roles0 = role_counts(e)

    e.isolate(old)
    t0 = time.time()
    time.sleep(0.2)                  # the peer-drop file is read every 20 ms
    attempts = []                    # writes through the isolated old leader

    def try_old(n):
        if c_old.connected:
            attempts.append(("/part-old%d" % n, c_old.create_async("/part-old%d" % n, b"")))
    try_old(0)
    new = e.wait_leader(timeout=20, exclude=(old,), interval=0.02)
    t_elect = time.time() - t0
    c_maj.set("/part", b"majority")
    c_maj.create("/part/m1", b"")
    t_write = time.time() - t0
    try_old(1)
    # the old leader stops serving: no Mode within a few sync limits
    limit = 3 * e.sync_limit * e.tick_ms / 1000.0 + 2
    wait_for(lambda: e.mode(old) is None, limit,
             what="the isolated old leader to stop serving (srvr mode %r)" % e.mode(old))
    t_stop = time.time() - t0
    try_old(2)
    time.sleep(1.0)
    for p, a in attempts:
        a.wait(0.1)
        assert not (a.ready() and a.successful()), (
            "%s was created through the isolated old leader %d (no quorum)" % (p, old))
    assert e.mode(old) is None, "isolated member %d says %r" % (old, e.mode(old))
    print("\nleader %d isolated: member %d leads after %.2fs, majority write after %.2fs, "
          "old leader not serving after %.2fs; %d write attempt(s) through it refused"
          % (old, new, t_elect, t_write, t_stop, len(attempts)))

    e.heal()
    t_heal = time.time()
    wait_for(lambda: e.mode(old) == "follower", 20, what="the old leader to rejoin as follower")
    print("rejoined as follower %.2fs after heal; role lines: %s"
          % (time.time() - t_heal, dict((i, role_lines(e, i)[roles0[i]:]) for i in e.members)))
    assert e.leader() == new, "leadership moved after heal: %s" % e.modes()
    wait_for(lambda: c_old.connected, 20, what="the old leader's client to reconnect")
    c_old.sync("/part")
    assert c_old.get("/part")[0] == b"majority"
    assert c_old.get_children("/part") == ["m1"]
    for p, a in attempts:
        a.wait(2.0)
        assert not (a.ready() and a.successful()), "%s acknowledged after heal" % p
        assert c_old.exists(p) is None, "%s (never acknowledged, no quorum) exists" % p
    for i in e.members:
        c = h.client(e.hosts(i))
        c.sync("/part")
        assert c.get("/part")[0] == b"majority", "member %d" % i
        assert c.exists("/part-old0") is None


def test_five_voters_survive_two_kills_stop_at_three_and_recover(h):
    e = h.ensemble(voters=5)
    c = h.client(e.all_hosts())
    c.create("/five", b"0")
    lid = e.leader()
    f = followers(e)
    killed = [lid, f[0]]
    for i in killed:
        e.kill(i)
    t0 = time.time()
    alive = [i for i in e.members if i not in killed]
    new = e.wait_leader(timeout=20, exclude=killed)
    t_elect = time.time() - t0
    assert t_elect < ELECTION_LIMIT_S, (
        "3 of 5 voters took %.1fs to elect a leader after leader %d and follower %d were "
        "killed; role lines: %s" % (t_elect, killed[0], killed[1],
                                    dict((i, role_lines(e, i)) for i in alive)))
    cs = h.client(e.all_hosts(alive))
    cs.set("/five", b"1")
    for i in alive:
        r = h.client(e.hosts(i))
        r.sync("/five")
        assert r.get("/five")[0] == b"1", "member %d" % i
    # a third one: no quorum (2 of 5) -> no writes
    third = [i for i in alive if i != new][0]
    e.kill(third)
    killed.append(third)
    alive.remove(third)
    w = cs.set_async("/five", b"2")
    w.wait(4.0)
    assert not (w.ready() and w.successful()), "a write committed with 2 of 5 voters"
    limit = 3 * e.sync_limit * e.tick_ms / 1000.0 + 2
    wait_for(lambda: all(e.mode(i) is None for i in alive), limit,
             what="2 of 5 members to stop serving (modes %s)" % e.modes())
    t1 = time.time()
    for i in killed:
        e.restart(i, wait=False)
    e.wait_serving(timeout=30)
    lid2 = e.wait_leader(timeout=10)
    t_rec = time.time() - t1
    wait_for(lambda: cs.connected, 20, what="the client to reconnect")
    cs.set("/five", b"3")
    for i in e.members:
        r = h.client(e.hosts(i))
        r.sync("/five")
        assert r.get("/five")[0] == b"3", "member %d" % i
    print("\n5 voters: leader %d + 1 killed -> %d leads after %.2fs; 3rd killed -> no quorum; "
          "restart -> leader %d, all serving after %.2fs" % (lid, new, t_elect, lid2, t_rec))


def test_member_restarts_after_more_writes_than_zabs_default_history(h):
    """A member killed after ~80k writes (more than 65536, the history a
    restart once had to fit every log record after the snapshot into)
    restarts and rejoins: snapshots keep its log after the snapshot short."""
    e = h.ensemble(voters=3)
    c = h.client(e.all_hosts())
    c.create("/many", b"0")
    n, window = 80000, 2000
    for base in range(0, n, window):
        pend = [c.set_async("/many", str(base + k).encode()) for k in range(window)]
        for p in pend:
            p.get(timeout=30)
    victim = [i for i in e.members if i != e.leader()][0]
    e.kill(victim)
    e.restart(victim, wait=False)
    modes = e.wait_serving(timeout=30)
    assert modes[victim] in ("follower", "leader"), modes
    r = h.client(hosts_from(e, victim))
    r.sync("/many")
    assert r.get("/many")[0] == str(n - 1).encode()
