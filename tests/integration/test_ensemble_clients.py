"""Real clients against EVERY member of a 3-voter + 1-observer ensemble
(ensemble.py): kazoo, the C client (libzookeeper_mt 3.8), zkCli.sh and the
four-letter words, through the followers, the leader and the observer.

    CORVID_BIN=build/control/corvid /usr/bin/python3 -m pytest -q \\
        tests/integration/test_ensemble_clients.py
    # the same tests against an Apache ZooKeeper 3.8 ensemble (reference):
    CV_TARGET=zookeeper /usr/bin/python3 -m pytest -q tests/integration/test_ensemble_clients.py

One ensemble (CV_TARGET: corvid by default) is shared by the module; the
session-move-by-restart test starts its own 3-voter ensemble, and the
four-letter-word equivalence tests start a 3-voter + 1-observer Apache
ZooKeeper ensemble (module scoped, started only when those tests run) and
compare the mntr keys (and the topology gauges) per mode.

Members are named by role ("follower1", "follower2", "leader", "observer"),
resolved from srvr when the ensemble starts. Every wait is bounded; each test
also has a hard SIGALRM limit (CV_ENS_TEST_TIMEOUT, default 60 s) and after
each test every member must still be running (a crash fails the test that
saw it, with the member's log).
"""
import os
import re
import shutil
import signal
import socket
import subprocess
import threading
import time
import uuid

import pytest

import ensemble
import zkserver
from conftest import wait_until

TARGET = os.environ.get("CV_TARGET", "corvid").strip().lower()
TEST_TIMEOUT_S = int(os.environ.get("CV_ENS_TEST_TIMEOUT", "60"))
ROLES = ("follower1", "follower2", "leader", "observer")
# zoo.cfg for every ensemble here: the session timeout bounds of conftest's
# single servers (tickTime 200 ms would cap sessions at 4 s otherwise).
SESSION_CFG = {"minSessionTimeout": 400, "maxSessionTimeout": 10000}
ZKCLI = "/usr/share/zookeeper/bin/zkCli.sh"


# ------------------------------------------------------------- fixtures ----

def _need(kind):
    if kind == "corvid" and not os.path.exists(ensemble.CORVID_BIN):
        pytest.skip("corvid binary %s does not exist (build it, or set CORVID_BIN)"
                    % ensemble.CORVID_BIN)
    if kind == "zookeeper" and not os.path.exists("/usr/share/java/zookeeper.jar"):
        pytest.skip("Apache ZooKeeper (Debian's zookeeper package) is not installed")


def _start(kind, voters, observers):
    _need(kind)
    e = ensemble.Ensemble(kind, voters=voters, observers=observers, start_timeout=60,
                          extra_cfg=SESSION_CFG)
    e.start()
    return e


def _roles(e):
    """{role: member id} from srvr (bounded)."""
    modes = e.wait_serving(timeout=30)
    lead = [i for i, m in modes.items() if m == "leader"]
    fol = sorted(i for i, m in modes.items() if m == "follower")
    obs = [i for i, m in modes.items() if m == "observer"]
    assert len(lead) == 1 and len(fol) == e.voters - 1 and len(obs) == e.observers, modes
    out = {"leader": lead[0]}
    for k, i in enumerate(fol):
        out["follower%d" % (k + 1)] = i
    for k, i in enumerate(obs):
        out["observer" if k == 0 else "observer%d" % (k + 1)] = i
    return out


@pytest.fixture(scope="module")
def ens():
    e = _start(TARGET, 3, 1)
    try:
        e.roles = _roles(e)
        yield e
    finally:
        e.stop()


@pytest.fixture(autouse=True)
def _bounded_and_alive(request):
    """A hard per-test limit, and: no member of the shared ensemble died
    during the test (kill()/stop() by a test do not count)."""
    def on_alarm(signum, frame):
        raise TimeoutError("test exceeded %ds (CV_ENS_TEST_TIMEOUT)" % TEST_TIMEOUT_S)
    e = request.getfixturevalue("ens") if "ens" in request.fixturenames else None
    offsets = dict((i, _log_size(e, i)) for i in e.members) if e else {}
    main = threading.current_thread() is threading.main_thread()
    if main:
        old = signal.signal(signal.SIGALRM, on_alarm)
        signal.alarm(TEST_TIMEOUT_S)
    try:
        yield
    finally:
        if main:
            signal.alarm(0)
            signal.signal(signal.SIGALRM, old)
    if e is not None:
        # shown by pytest only if the test failed: what each member logged meanwhile
        for i in e.members:
            print("---- %s member %d (%s) log during the test ----\n%s"
                  % (e.kind, i, e.mode(i), _log_since(e, i, offsets[i])))
        w = e.watch()
        if w.poll() is not None:
            pytest.fail("%s member %d exited (status %s) during %s; log:\n%s"
                        % (e.kind, w.dead, w.returncode, request.node.name, w.log()))


def _log_size(e, sid):
    try:
        return os.path.getsize(e.member(sid).log_path)
    except OSError:
        return 0


def _log_since(e, sid, offset, tail=3000):
    try:
        with open(e.member(sid).log_path, errors="replace") as f:
            f.seek(offset)
            text = f.read()
    except OSError:
        return ""
    return text[-tail:]


_clients = []


def client(hosts, timeout=6.0, randomize=True, **kw):
    """A started KazooClient with short, bounded retries (stopped at the end
    of the test by _stop_clients)."""
    from kazoo.client import KazooClient
    kw.setdefault("connection_retry", dict(max_tries=40, delay=0.05, backoff=1.5,
                                           max_delay=0.5, ignore_expire=False))
    kw.setdefault("command_retry", None)
    c = KazooClient(hosts=hosts, timeout=timeout, randomize_hosts=randomize, **kw)
    _clients.append(c)
    c.start(timeout=15)
    return c


@pytest.fixture(autouse=True)
def _stop_clients():
    yield
    while _clients:
        zkserver.stop_client(_clients.pop())


def uniq(prefix="/ens"):
    return "%s_%s" % (prefix, uuid.uuid4().hex[:10])


def peer_port(c):
    """The client port of the member a kazoo client is connected to."""
    s = c._connection._socket
    try:
        return s.getpeername()[1] if s is not None else None
    except OSError:         # not connected (any more)
        return None


def member_of(e, c):
    port = peer_port(c)
    for i in e.members:
        if e.port(i) == port:
            return i
    return None


# --------------------------------------------------------------- kazoo ----

@pytest.mark.parametrize("role", ROLES)
def test_kazoo_crud_through_member(ens, role):
    """create/get/set/delete/children/exists/multi/ephemeral/sequential, all
    through one member (and nothing but it in the client's host list)."""
    from kazoo.exceptions import BadVersionError, NoNodeError, NodeExistsError, NotEmptyError
    sid = ens.roles[role]
    zk = client(ens.hosts(sid))
    assert member_of(ens, zk) == sid
    base = uniq("/crud_%s" % role)
    assert zk.create(base, b"v0") == base
    data, st = zk.get(base)
    assert data == b"v0" and st.version == 0 and st.ephemeralOwner == 0
    st = zk.set(base, b"v1")
    assert st.version == 1
    assert zk.get(base)[0] == b"v1"
    with pytest.raises(BadVersionError):
        zk.set(base, b"x", version=0)
    with pytest.raises(NodeExistsError):
        zk.create(base)
    zk.create(base + "/a", b"a")
    zk.create(base + "/b", b"b")
    assert sorted(zk.get_children(base)) == ["a", "b"]
    eph = zk.create(base + "/eph", b"e", ephemeral=True)
    assert zk.exists(eph).ephemeralOwner == zk.client_id[0]
    s1 = zk.create(base + "/seq-", b"", sequence=True)
    s2 = zk.create(base + "/seq-", b"", sequence=True)
    assert re.match(r".*/seq-\d{10}$", s1) and s2 > s1
    es = zk.create(base + "/eseq-", ephemeral=True, sequence=True)
    assert zk.exists(es).ephemeralOwner == zk.client_id[0]
    # multi: all or nothing
    t = zk.transaction()
    t.create(base + "/m1", b"m1")
    t.set_data(base + "/a", b"a2", version=0)
    t.check(base + "/b", version=0)
    t.delete(base + "/b")
    res = t.commit()
    assert res[0] == base + "/m1" and res[1].version == 1 and res == [res[0], res[1], True, True]
    assert zk.exists(base + "/b") is None and zk.get(base + "/a")[0] == b"a2"
    t = zk.transaction()
    t.create(base + "/m2")
    t.delete(base + "/nothing")
    res = t.commit()
    assert res[1].__class__ is NoNodeError, res
    assert zk.exists(base + "/m2") is None
    with pytest.raises(NotEmptyError):
        zk.delete(base)
    zk.delete(base + "/a")
    assert zk.exists(base + "/a") is None
    zk.delete(base, recursive=True)
    assert zk.exists(base) is None
    with pytest.raises(NoNodeError):
        zk.get(base)


@pytest.mark.parametrize("role", ROLES)
def test_kazoo_read_your_writes_without_sync(ens, role):
    """FIFO per session: a write and the read right behind it on the same
    member (a follower or the observer may lag the leader) sees the write,
    with no sync in between; also pipelined (async, not waiting for the
    write's reply before sending the read)."""
    zk = client(ens.hosts(ens.roles[role]))
    p = uniq("/ryw_%s" % role)
    zk.create(p, b"0")
    for k in range(1, 31):
        zk.set(p, str(k).encode())
        assert zk.get(p)[0] == str(k).encode(), "iteration %d" % k
    for k in range(31, 61):
        w = zk.set_async(p, str(k).encode())
        r = zk.get_async(p)
        e = zk.exists_async(p + "/kid%d" % k)
        c = zk.create_async(p + "/kid%d" % k)
        e2 = zk.exists_async(p + "/kid%d" % k)
        assert w.get(timeout=10).version == k
        assert r.get(timeout=10)[0] == str(k).encode(), "pipelined iteration %d" % k
        assert e.get(timeout=10) is None
        assert c.get(timeout=10) == p + "/kid%d" % k
        assert e2.get(timeout=10) is not None, "create then exists, pipelined, iteration %d" % k
    d = zk.delete_async(p + "/kid31")
    ch = zk.get_children_async(p)
    d.get(timeout=10)
    assert "kid31" not in ch.get(timeout=10)
    zk.delete(p, recursive=True)


def test_kazoo_write_seen_elsewhere_after_sync(ens):
    """A write through member A is seen through member B once B's client
    has called sync(): every ordered pair of members."""
    zks = dict((r, client(ens.hosts(ens.roles[r]))) for r in ROLES)
    p = uniq("/sync")
    zks["leader"].create(p, b"start")
    n = 0
    for a in ROLES:
        for b in ROLES:
            if a == b:
                continue
            n += 1
            val = ("%s->%s#%d" % (a, b, n)).encode()
            zks[a].set(p, val)
            zks[a].create("%s/k%d" % (p, n))
            zks[b].sync(p)
            assert zks[b].get(p)[0] == val, "written via %s, read via %s after sync" % (a, b)
            assert zks[b].exists("%s/k%d" % (p, n)) is not None, (a, b)
    assert len(zks["observer"].get_children(p)) == n
    zks["follower1"].sync(p)       # its children were created through the others
    zks["follower1"].delete(p, recursive=True)
    for r in ROLES:
        zks[r].sync("/")
        assert zks[r].exists(p) is None, r


@pytest.mark.parametrize("watcher", ("follower1", "observer", "leader"))
def test_kazoo_watch_fires_for_write_elsewhere(ens, watcher):
    """Data, exists and child watches set through one member fire for
    writes made through another member, once each, with the right type."""
    others = [r for r in ROLES if r != watcher]
    w = client(ens.hosts(ens.roles[watcher]))
    writers = [client(ens.hosts(ens.roles[r])) for r in others]
    p = uniq("/watch_%s" % watcher)
    writers[0].create(p, b"x")
    w.sync(p)
    events = []
    got = threading.Condition()

    def cb(ev):
        with got:
            events.append((ev.type, ev.path))
            got.notify_all()

    def wait_n(n):
        with got:
            ok = got.wait_for(lambda: len(events) >= n, timeout=10)
        assert ok, "only %r after 10 s" % events

    assert w.get(p, watch=cb)[0] == b"x"
    assert w.get_children(p, watch=cb) == []
    assert w.exists(p + "/later", watch=cb) is None
    writers[0].set(p, b"y")                                    # data watch
    wait_n(1)
    writers[1].create(p + "/later")                            # exists + child watch
    wait_n(3)
    w.get(p, watch=cb)
    writers[2].delete(p + "/later")                            # nothing watches it now
    writers[2].set(p, b"z")                                    # data watch again
    wait_n(4)
    time.sleep(0.3)                                            # nothing more comes
    # the exists watch (CREATED) and the child watch (CHILD) fire for the same
    # transaction: either order
    assert len(events) == 4 and events[0] == ("CHANGED", p) and events[3] == ("CHANGED", p) \
        and sorted(events[1:3]) == [("CHILD", p), ("CREATED", p + "/later")], events
    # the watcher's read after the event sees the new data
    assert w.get(p)[0] == b"z"
    writers[0].sync(p)
    writers[0].delete(p, recursive=True)


def test_kazoo_sequential_unique_across_members(ens):
    """Clients on every member create sequential nodes under one parent at
    once: the names are unique and the counters 0..N-1 without a gap."""
    zks = [client(ens.hosts(ens.roles[r])) for r in ROLES]
    p = uniq("/seq")
    zks[0].create(p)
    for z in zks:
        z.sync(p)
    per = 25
    out, errs = [], []
    lock = threading.Lock()

    def run(z, tag):
        try:
            asyncs = [z.create_async(p + "/n-", tag.encode(), sequence=True,
                                     ephemeral=(k % 2 == 1)) for k in range(per)]
            names = [a.get(timeout=20) for a in asyncs]
            with lock:
                out.extend(names)
        except Exception as ex:     # noqa: BLE001 (reported below)
            errs.append("%s: %r" % (tag, ex))
    ths = [threading.Thread(target=run, args=(z, r)) for z, r in zip(zks, ROLES)]
    [t.start() for t in ths]
    [t.join(timeout=30) for t in ths]
    assert not errs, errs
    assert not any(t.is_alive() for t in ths)
    assert len(out) == per * len(zks) == len(set(out)), sorted(out)
    nums = sorted(int(n[-10:]) for n in out)
    assert nums == list(range(per * len(zks))), nums
    for z in zks:
        z.sync(p)
        assert sorted(z.get_children(p)) == sorted(n.rsplit("/", 1)[1] for n in out)
        # per session, the sequence numbers grew in the order sent
    zks[0].delete(p, recursive=True)


def test_kazoo_session_moves_between_members(ens):
    """One session whose host list is every member (in a fixed order)
    loses its connection (the socket shut down under kazoo) and reconnects
    to the next member each time: follower -> follower -> observer ->
    leader -> back. The session id, its ephemerals and its watches are
    kept; writes and reads work through each member."""
    from kazoo.protocol.states import KazooState
    order = [ens.roles[r] for r in ROLES]
    zk = client(ens.all_hosts(order), randomize=False)
    other = client(ens.hosts(ens.roles["leader"]))
    sid0, pw0 = zk.client_id
    assert member_of(ens, zk) == order[0]
    p = uniq("/move")
    zk.create(p, b"0")
    eph = zk.create(p + "/eph", b"mine", ephemeral=True)
    states = []
    zk.add_listener(lambda s: states.append(s))
    fired = []
    for step, want in enumerate(order[1:] + order[:1], 1):
        at = member_of(ens, zk)
        ev = threading.Event()
        zk.get(p, watch=lambda e, ev=ev: (fired.append(e), ev.set()))
        for attempt in range(8):
            zk._connection._socket.shutdown(socket.SHUT_RDWR)
            wait_until(lambda: zk.connected and member_of(ens, zk) not in (None, at), timeout=15,
                       msg="reconnect away from member %d (step %d)" % (at, step))
            now = member_of(ens, zk)
            if now == want:
                break
            # ZooKeeper refuses a reconnect to a member that has not seen the
            # session's last zxid yet (the client goes on to the next host);
            # corvid's member syncs with the leader first (cv_seq.h), so the
            # next member in the list always takes the session.
            assert ens.kind != "corvid", \
                "step %d: the client skipped from member %d past member %d to %d (order %s)" % (
                    step, at, want, now, order)
            at = now
        assert member_of(ens, zk) == want, (step, at, member_of(ens, zk), order)
        assert zk.client_id == (sid0, pw0), "session id changed on the move to member %d" % want
        # the ephemeral is still this session's; the watch survived the move
        other.sync(eph)
        st = other.exists(eph)
        assert st is not None and st.ephemeralOwner == sid0, (step, want)
        other.set(p, str(step).encode())
        assert ev.wait(10), "watch set before the move did not fire after it (member %d)" % want
        # reads and writes through the new member, read-your-writes included
        zk.set(p, b"via-%d" % want)
        assert zk.get(p)[0] == b"via-%d" % want
        assert zk.get(eph)[0] == b"mine"
    assert KazooState.LOST not in states, states
    assert KazooState.SUSPENDED in states
    zk.delete(p, recursive=True)


def test_kazoo_session_survives_member_restart():
    """A fresh 3-voter ensemble: a session on a follower (host list: that
    follower, then the leader) keeps its id and ephemeral when the follower
    is killed (kill -9) and the client moves to the leader; the follower is
    restarted and serves the session's state. Then the same through a leader
    kill: the session survives the election."""
    e = _start(TARGET, 3, 0)
    try:
        roles = _roles(e)
        f, lead = roles["follower1"], roles["leader"]
        zk = client(e.all_hosts([f, lead]), timeout=8.0, randomize=False)
        assert member_of(e, zk) == f
        sid = zk.client_id
        eph = zk.create(uniq("/eph_restart"), b"e", ephemeral=True)
        e.kill(f)
        wait_until(lambda: zk.connected and member_of(e, zk) == lead, timeout=15,
                   msg="the client to move to the leader")
        assert zk.client_id == sid
        assert zk.exists(eph).ephemeralOwner == sid[0]
        e.restart(f, timeout=30)
        assert e.mode(f) == "follower"
        r = client(e.hosts(f))
        r.sync(eph)
        assert r.exists(eph).ephemeralOwner == sid[0]
        # now the leader goes: the session must survive the election
        e.kill(lead)
        new = e.wait_leader(timeout=30, exclude=(lead,))
        wait_until(lambda: zk.connected, timeout=15, msg="reconnect after the leader was killed")
        assert zk.client_id == sid, "session changed across the election"
        assert new in (f, roles["follower2"])
        zk.set(eph, b"after-election")
        r2 = client(e.hosts(new))
        r2.sync(eph)
        assert r2.get(eph)[0] == b"after-election"
        assert r2.exists(eph).ephemeralOwner == sid[0]
    except Exception:
        print("---- member logs ----\n" + e._logs_tail(3000))
        raise
    finally:
        for c in list(_clients):
            zkserver.stop_client(c)
        e.stop()


def test_kazoo_session_close_through_follower_removes_ephemerals(ens):
    """Closing a session through a follower / the observer removes its
    ephemerals everywhere (seen through the other members after sync)."""
    others = dict((r, client(ens.hosts(ens.roles[r]))) for r in ROLES)
    for role in ("follower2", "observer"):
        zk = client(ens.hosts(ens.roles[role]))
        eph = zk.create(uniq("/eph_close_%s" % role), ephemeral=True)
        zk.stop()
        zk.close()
        for r, o in others.items():
            o.sync(eph)
            assert o.exists(eph) is None, "ephemeral of a closed session still seen via %s" % r


# ------------------------------------------------------------ C client ----

C_SRC = r"""
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <zookeeper/zookeeper.h>

static int n_pass, n_fail;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static volatile int connected[2];
static volatile int nev;
static int ev_type[16];
static char ev_path[16][256];
static volatile int synced, sync_rc;

#define CHECK(ok, ...) do { int ok_ = (ok); printf("%s: ", ok_ ? "PASS" : "FAIL"); \
    printf(__VA_ARGS__); printf("\n"); fflush(stdout); if (ok_) n_pass++; else n_fail++; } while (0)

static int wait_for(volatile int *v, int want, int secs)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += secs;
    pthread_mutex_lock(&mu);
    while (*v < want)
        if (pthread_cond_timedwait(&cv, &mu, &ts) == ETIMEDOUT)
            break;
    int ok = *v >= want;
    pthread_mutex_unlock(&mu);
    return ok;
}

static void session_w(zhandle_t *zh, int type, int state, const char *path, void *ctx)
{
    (void)zh; (void)path;
    if (type == ZOO_SESSION_EVENT && state == ZOO_CONNECTED_STATE) {
        pthread_mutex_lock(&mu);
        connected[(long)ctx] = 1;
        pthread_cond_broadcast(&cv);
        pthread_mutex_unlock(&mu);
    }
}

static void node_w(zhandle_t *zh, int type, int state, const char *path, void *ctx)
{
    (void)zh; (void)state; (void)ctx;
    if (type == ZOO_SESSION_EVENT)
        return;
    pthread_mutex_lock(&mu);
    if (nev < 16) {
        ev_type[nev] = type;
        snprintf(ev_path[nev], sizeof ev_path[0], "%s", path ? path : "");
        nev++;
    }
    pthread_cond_broadcast(&cv);
    pthread_mutex_unlock(&mu);
}

static void sync_done(int rc, const char *value, const void *data)
{
    (void)value; (void)data;
    pthread_mutex_lock(&mu);
    sync_rc = rc;
    synced++;
    pthread_cond_broadcast(&cv);
    pthread_mutex_unlock(&mu);
}

static void on_alarm(int sig) { (void)sig; printf("FAIL: alarm (40 s)\n"); _exit(3); }

static int get_is(zhandle_t *zh, const char *path, const char *want)
{
    char buf[256];
    int len = sizeof buf - 1;
    struct Stat st;
    int rc = zoo_get(zh, path, 0, buf, &len, &st);
    if (rc != ZOK || len < 0)
        return 0;
    buf[len] = 0;
    return strcmp(buf, want) == 0;
}

int main(int argc, char **argv)
{
    if (argc < 4) { fprintf(stderr, "usage: %s member_hosts other_hosts path\n", argv[0]); return 2; }
    const char *mine = argv[1], *other = argv[2], *p = argv[3];
    char child[300], eph[300], created[300];
    signal(SIGALRM, on_alarm);
    alarm(40);
    zoo_set_debug_level(ZOO_LOG_LEVEL_ERROR);
    zhandle_t *a = zookeeper_init(mine, session_w, 6000, 0, (void *)0L, 0);
    zhandle_t *b = zookeeper_init(other, session_w, 6000, 0, (void *)1L, 0);
    CHECK(a && wait_for(&connected[0], 1, 15), "connected to %s", mine);
    CHECK(b && wait_for(&connected[1], 1, 15), "connected to %s", other);
    if (!connected[0] || !connected[1])
        goto out;
    snprintf(child, sizeof child, "%s/child", p);
    snprintf(eph, sizeof eph, "%s/eph", p);

    int rc = zoo_create(a, p, "c1", 2, &ZOO_OPEN_ACL_UNSAFE, 0, created, sizeof created);
    CHECK(rc == ZOK && strcmp(created, p) == 0, "zoo_create %s via member -> %s", p, zerror(rc));
    CHECK(get_is(a, p, "c1"), "zoo_get via member right after the create (FIFO)");
    char buf[64];
    int len = sizeof buf;
    struct Stat st;
    rc = zoo_wget(a, p, node_w, NULL, buf, &len, &st);
    CHECK(rc == ZOK && len == 2, "zoo_wget sets a data watch -> %s", zerror(rc));
    rc = zoo_wexists(a, child, node_w, NULL, &st);
    CHECK(rc == ZNONODE, "zoo_wexists on a missing child -> %s", zerror(rc));

    rc = zoo_set(b, p, "c2", 2, -1);
    CHECK(rc == ZOK, "zoo_set via the other member -> %s", zerror(rc));
    CHECK(wait_for(&nev, 1, 10) && ev_type[0] == ZOO_CHANGED_EVENT && strcmp(ev_path[0], p) == 0,
          "data watch fired (CHANGED %s) for the other member's write", p);
    rc = zoo_create(b, child, "k", 1, &ZOO_OPEN_ACL_UNSAFE, 0, NULL, 0);
    CHECK(rc == ZOK, "zoo_create child via the other member -> %s", zerror(rc));
    CHECK(wait_for(&nev, 2, 10) && ev_type[1] == ZOO_CREATED_EVENT && strcmp(ev_path[1], child) == 0,
          "exists watch fired (CREATED %s)", child);

    rc = zoo_set(b, p, "c3", 2, -1);
    CHECK(rc == ZOK, "zoo_set c3 via the other member -> %s", zerror(rc));
    rc = zoo_async(a, p, sync_done, NULL);
    CHECK(rc == ZOK && wait_for(&synced, 1, 10) && sync_rc == ZOK, "zoo_async (sync) via member -> %s",
          zerror(sync_rc));
    CHECK(get_is(a, p, "c3"), "after sync the member returns the other member's write");

    rc = zoo_create(a, eph, "e", 1, &ZOO_OPEN_ACL_UNSAFE, ZOO_EPHEMERAL, NULL, 0);
    CHECK(rc == ZOK, "ephemeral create via member -> %s", zerror(rc));
    synced = 0;
    rc = zoo_async(b, eph, sync_done, NULL);
    CHECK(rc == ZOK && wait_for(&synced, 1, 10) && sync_rc == ZOK, "zoo_async via the other member");
    rc = zoo_exists(b, eph, 0, &st);
    CHECK(rc == ZOK && st.ephemeralOwner == zoo_client_id(a)->client_id,
          "ephemeral seen via the other member, owned by the member's session -> %s", zerror(rc));
    struct String_vector kids = {0, NULL};
    rc = zoo_get_children(a, p, 0, &kids);
    CHECK(rc == ZOK && kids.count == 2, "zoo_get_children via member -> %s, %d", zerror(rc), kids.count);
    deallocate_String_vector(&kids);

    CHECK(zoo_delete(a, eph, -1) == ZOK && zoo_delete(a, child, -1) == ZOK && zoo_delete(a, p, -1) == ZOK,
          "zoo_delete via member");
    CHECK(zoo_exists(a, p, 0, NULL) == ZNONODE, "deleted");
out:
    if (b) zookeeper_close(b);
    if (a) zookeeper_close(a);
    printf("%d passed, %d failed\n", n_pass, n_fail);
    return n_fail ? 1 : 0;
}
"""


@pytest.fixture(scope="module")
def c_prog(tmp_path_factory):
    if not os.path.exists("/usr/include/zookeeper/zookeeper.h"):
        pytest.skip("libzookeeper-mt-dev is not installed")
    cc = shutil.which("gcc") or shutil.which("cc")
    if not cc:
        pytest.skip("no C compiler")
    d = tmp_path_factory.mktemp("ens_c_client")
    src, out = d / "ens_client.c", d / "ens_client"
    src.write_text(C_SRC)
    r = subprocess.run([cc, "-O1", "-g", "-Wall", "-DTHREADED", "-o", str(out), str(src),
                        "-lzookeeper_mt", "-lpthread"],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, "build failed:\n" + r.stdout + r.stderr
    return str(out)


def _run_c(args, timeout=60):
    r = subprocess.run(args, capture_output=True, text=True, timeout=timeout)
    m = re.search(r"^(\d+) passed, (\d+) failed$", r.stdout, re.M)
    failed = [l for l in r.stdout.splitlines() if l.startswith("FAIL")]
    assert m and int(m.group(2)) == 0 and not failed and r.returncode == 0, \
        "C client (rc=%d):\n%s\nstderr:\n%s" % (r.returncode, r.stdout, r.stderr[-3000:])
    return int(m.group(1))


@pytest.mark.parametrize("role", ROLES)
def test_c_client_through_member(ens, c_prog, role):
    """libzookeeper_mt connected to one member (the other session on the
    next member in role order): create + get, data/exists watches fired by
    the other member's writes, zoo_async (sync), ephemeral owner."""
    sid = ens.roles[role]
    other = ens.roles[ROLES[(ROLES.index(role) + 1) % len(ROLES)]]
    n = _run_c([c_prog, ens.hosts(sid), ens.hosts(other), uniq("/c_%s" % role)])
    assert n >= 17


@pytest.mark.parametrize("role", ("follower2", "observer"))
def test_c_client_full_program_through_member(ens, role):
    """The existing C client program (tests/integration/c_client, the sync
    and async APIs, watches, multi, auth: ~100 checks) against one member."""
    src = os.path.join(os.path.dirname(os.path.abspath(__file__)), "c_client", "zk_client_test.c")
    if not os.path.exists("/usr/include/zookeeper/zookeeper.h"):
        pytest.skip("libzookeeper-mt-dev is not installed")
    cc = shutil.which("gcc") or shutil.which("cc")
    out = os.path.join(ens.base, "zk_client_test")
    if not os.path.exists(out):
        r = subprocess.run([cc, "-O1", "-g", "-Wall", "-DTHREADED", "-o", out, src,
                            "-lzookeeper_mt", "-lpthread"],
                           capture_output=True, text=True, timeout=120)
        assert r.returncode == 0, "build failed:\n" + r.stdout + r.stderr
    assert _run_c([out, ens.hosts(ens.roles[role])], timeout=70) >= 80


# --------------------------------------------------------------- zkCli ----

def run_zkcli(args, stdin_text=None, timeout=60):
    env = dict(os.environ)
    env.pop("JAVA_TOOL_OPTIONS", None)
    env.setdefault("JAVA_HOME", "/usr/lib/jvm/default-java")
    r = subprocess.run([ZKCLI] + args, input=stdin_text, stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, text=True, timeout=timeout, env=env, cwd="/tmp")
    return r.returncode, r.stdout


@pytest.mark.parametrize("role", ("follower1", "observer"))
def test_zkcli_through_member(ens, role):
    """zkCli.sh connected to a follower / the observer: create, get, ls,
    create -s / -e, sync; then one-shot get and ls."""
    if not os.path.exists(ZKCLI) or not shutil.which("java"):
        pytest.skip("zkCli.sh / java not installed (Debian package zookeeper)")
    sid = ens.roles[role]
    p = uniq("/zkcli_%s" % role)
    session = "\n".join([
        "create %s hello" % p,
        "get %s" % p,
        "create %s/a adata" % p,
        "create -s %s/s- sdata" % p,
        "create -e %s/e" % p,
        "ls %s" % p,
        "sync %s" % p,
        "get %s/a" % p,
        "quit", ""])
    rc, out = run_zkcli(["-server", ens.hosts(sid)], stdin_text=session)
    # the watcher thread prints the connection event, maybe after the first
    # command's output: anywhere will do
    assert "WatchedEvent state:SyncConnected type:None path:null\n" in out, out
    expected = [
        r"Created %s\n" % p,
        r"^hello\n",
        r"Created %s/a\n" % p,
        r"Created %s/s-0000000001\n" % p,
        r"Created %s/e\n" % p,
        r"\[a, e, s-0000000001\]\n",
        r"Sync is OK\n",
        r"^adata\n",
    ]
    pos = 0
    for rx in expected:
        m = re.compile(rx, re.M).search(out, pos)
        assert m, "zkCli via member %d (%s): %r not found after offset %d\n---- output ----\n%s" % (
            sid, role, rx, pos, out)
        pos = m.end()
    assert "Exception" not in out, out
    # one-shot mode through the same member, and the node seen elsewhere
    rc, out = run_zkcli(["-server", ens.hosts(sid), "get", p])
    assert rc == 0 and re.search(r"^hello$", out, re.M), out
    rc, out = run_zkcli(["-server", ens.hosts(sid), "ls", p])
    assert rc == 0 and "[a, s-0000000001]\n" in out, out     # the ephemeral went with quit
    zk = client(ens.hosts(ens.roles["leader"]))
    zk.sync(p)
    assert zk.get(p)[0] == b"hello" and sorted(zk.get_children(p)) == ["a", "s-0000000001"]
    zk.delete(p, recursive=True)


# ---------------------------------------------------- four-letter words ----

def parse_mntr(text):
    out = {}
    for line in text.splitlines():
        k, sep, v = line.partition("\t")
        if sep:
            out[k] = v
    return out


def test_srvr_mode_each_member(ens):
    for role in ROLES:
        sid = ens.roles[role]
        text = ens.four_letter(sid, "srvr")
        want = "observer" if role == "observer" else role.rstrip("12")
        assert re.search(r"^Mode: %s$" % want, text, re.M), (role, text)
        assert re.search(r"^Zookeeper version: ", text, re.M), text
        assert re.search(r"^Node count: \d+$", text, re.M), text
        assert re.search(r"^Zxid: 0x[0-9a-f]+$", text, re.M), text
        # the leader (only) prints the proposal sizes, as ZooKeeper does
        assert ("Proposal sizes last/min/max:" in text) == (role == "leader"), (role, text)
        assert ens.four_letter(sid, "isro").strip() == "rw", role
        assert ens.four_letter(sid, "ruok") == "imok", role
        stat = ens.four_letter(sid, "stat")
        assert re.search(r"^Mode: %s$" % want, stat, re.M), (role, stat)


def test_mntr_each_member(ens):
    zks = [client(ens.hosts(ens.roles[r])) for r in ROLES]   # one connection on each
    p = uniq("/mntr")
    zks[0].create(p, b"x")
    for z in zks:
        z.sync(p)
    lead = ens.roles["leader"]

    def leader_mntr():
        m = parse_mntr(ens.four_letter(lead, "mntr"))
        return m if m.get("zk_synced_followers") == "2" and m.get("zk_pending_syncs") == "0" \
            else None
    m = wait_until(leader_mntr, timeout=10, msg="leader mntr with 2 synced followers, 0 syncs")
    assert m["zk_server_state"] == "leader", m
    assert m["zk_peer_state"] == "leading - broadcast", m
    assert int(m["zk_learners"]) == 3, m         # 2 followers + 1 observer, as ZooKeeper
    assert m["zk_quorum_size"] == "3", m
    assert int(m["zk_num_alive_connections"]) >= 1, m
    for role in ("follower1", "follower2"):
        f = parse_mntr(ens.four_letter(ens.roles[role], "mntr"))
        assert f["zk_server_state"] == "follower", (role, f)
        assert f["zk_peer_state"] == "following - broadcast", (role, f)
        assert "zk_synced_followers" not in f and "zk_pending_syncs" not in f, f
        assert f["zk_quorum_size"] == "3", f
    o = parse_mntr(ens.four_letter(ens.roles["observer"], "mntr"))
    assert o["zk_server_state"] == "observer", o
    assert o["zk_peer_state"] == "observing - broadcast", o
    assert o["zk_observer_master_id"] == str(lead), o
    # znode counts agree once everyone is synced
    counts = set(parse_mntr(ens.four_letter(ens.roles[r], "mntr"))["zk_znode_count"]
                 for r in ROLES)
    assert len(counts) == 1, counts
    zks[0].delete(p)


# ------------------------------------------ equivalence with ZooKeeper ----

STAT_PREFIXES = ("zk_avg_", "zk_min_", "zk_max_", "zk_cnt_", "zk_sum_", "zk_p50_", "zk_p95_",
                 "zk_p99_", "zk_p999_")
# values of ZooKeeper's quorum gauges that follow from the topology alone
# (3 voters + 1 observer, no observer masters) once every learner is synced
TOPOLOGY_GAUGES = {
    "leader": ("zk_peer_state", "zk_synced_followers", "zk_synced_non_voting_followers",
               "zk_synced_observers", "zk_learners", "zk_pending_syncs", "zk_quorum_size"),
    "follower": ("zk_peer_state", "zk_quorum_size"),
    "observer": ("zk_peer_state", "zk_quorum_size"),
}


def _fourlw_by_mode(e, roles):
    """{mode: {"srvr": set of keys, "mntr": {key: value}}} for one member of
    each mode, after one write through each member and a sync (so every
    member's counters have moved)."""
    zks = [client(e.hosts(roles[r])) for r in ROLES]
    p = uniq("/eq")
    zks[0].create(p, b"x")
    for k, z in enumerate(zks):
        z.set(p, str(k).encode())
        z.sync(p)
        z.get(p)
    lead = roles["leader"]
    wait_until(lambda: parse_mntr(e.four_letter(lead, "mntr")).get("zk_synced_followers") == "2",
               timeout=15, msg="%s leader: 2 synced followers" % e.kind)
    out = {}
    for role in ("leader", "follower1", "observer"):
        mode = role.rstrip("12")
        srvr = ensemble.parse_srvr(e.four_letter(roles[role], "srvr"))
        out[mode] = {"srvr": set(srvr), "srvr_text": e.four_letter(roles[role], "srvr"),
                     "leader_id": lead,
                     "mntr": parse_mntr(e.four_letter(roles[role], "mntr"))}
    zks[0].delete(p)
    return out


@pytest.fixture(scope="module")
def fourlw_pair(ens):
    """(this module's ensemble, a 3+1 ensemble of the other kind) four-letter
    data by mode; ZooKeeper's ensemble lives only while it is collected."""
    if TARGET != "corvid":
        pytest.skip("the equivalence check compares corvid with ZooKeeper (CV_TARGET=corvid)")
    mine = _fourlw_by_mode(ens, ens.roles)
    zk = _start("zookeeper", 3, 1)
    try:
        theirs = _fourlw_by_mode(zk, _roles(zk))
    finally:
        for c in list(_clients):
            zkserver.stop_client(c)
        zk.stop()
    return mine, theirs


_NS_RX = re.compile(r"^(zk_(?:avg|min|max|cnt|sum|p50|p95|p99|p999)_).+(_(?:read|write)_per_namespace)$")
_LH_RX = re.compile(r"^(zk_(?:avg|min|max|cnt|sum|p50|p95|p99|p999)_)\d+(_learner_handler_qp_\w+)$")


def norm_key(k):
    """mntr keys that embed a top-level znode name (ZooKeeper's
    per-namespace summaries) or a learner's server id (the leader's
    per-LearnerHandler queue summaries) with that part replaced."""
    k = _NS_RX.sub(r"\1<namespace>\2", k)
    return _LH_RX.sub(r"\1<sid>\2", k)


def mntr_keyset(m):
    return set(norm_key(k) for k in m)


_standalone_keys = {}


def _standalone_mntr_keys(kind):
    """Normalized mntr keys of a standalone server of that kind after a few
    writes and reads (to decide whether a key corvid misses in an ensemble
    is missing from its standalone renderer too)."""
    if kind not in _standalone_keys:
        _need(kind)
        port = ensemble.free_ports(1)[0]
        srv = zkserver.Server(kind, port, tick_ms=200)
        try:
            srv.start()
            zkserver.wait_serving(srv)
            zk = client(srv.hosts)
            p = uniq("/standalone")
            zk.create(p, b"x")
            zk.set(p, b"y")
            zk.get(p)
            zk.get_children(p)
            zk.sync(p)
            zkserver.stop_client(zk)
            _standalone_keys[kind] = mntr_keyset(parse_mntr(zkserver.four_letter(port, "mntr")))
        finally:
            srv.stop()
    return _standalone_keys[kind]


@pytest.mark.parametrize("mode", ("leader", "follower", "observer"))
def test_fourlw_keys_match_zookeeper(fourlw_pair, mode):
    """The srvr lines and the SET of mntr keys per mode: corvid may add keys
    but must not miss ZooKeeper's. A key corvid misses that its standalone
    renderer never printed either (while ZooKeeper's standalone does) is an
    old gap, reported as xfail; a missing quorum key fails."""
    mine, theirs = fourlw_pair
    c, z = mine[mode], theirs[mode]
    assert c["srvr"] == z["srvr"], "srvr keys differ (%s): corvid %s, zookeeper %s" % (
        mode, sorted(c["srvr"]), sorted(z["srvr"]))
    assert c["mntr"]["zk_server_state"] == z["mntr"]["zk_server_state"] == mode
    missing = sorted(mntr_keyset(z["mntr"]) - mntr_keyset(c["mntr"]))
    if missing:
        old = [k for k in missing if k in _standalone_mntr_keys("zookeeper")
               and k not in _standalone_mntr_keys("corvid")]
        # ZooKeeper's per-learner send-queue summaries (LearnerHandler's
        # queuedPackets): corvid's leader has no such queue per learner (a
        # proposal goes into the peer's channel in the same poll); not
        # printed yet, a known difference (docs/replication.md).
        old += [k for k in missing if "_learner_handler_qp_" in k and k not in old]
        new = [k for k in missing if k not in old]
        assert not new, "corvid %s mntr misses ZooKeeper's quorum keys %s (and, as in " \
            "standalone, %s)" % (mode, new, old)
        pytest.xfail("corvid's mntr misses %s (standalone too, or per-learner queue "
                     "summaries)" % old)
    extra = sorted(k for k in mntr_keyset(c["mntr"]) - mntr_keyset(z["mntr"])
                   if not k.startswith("zk_corvid_"))
    print("%s: corvid-only mntr keys: %s" % (mode, extra))


@pytest.mark.parametrize("mode", ("leader", "follower", "observer"))
def test_mntr_topology_gauges_match_zookeeper(fourlw_pair, mode):
    """The quorum gauges whose values follow from the topology (3 voters,
    1 observer) are the same as ZooKeeper's; the observer's master is the
    leader; the leader's uptime as leader has started."""
    mine, theirs = fourlw_pair
    c, z = mine[mode]["mntr"], theirs[mode]["mntr"]
    problems = ["%s: corvid %s, zookeeper %s" % (k, c.get(k), z.get(k))
                for k in TOPOLOGY_GAUGES[mode] if c.get(k) != z.get(k)]
    if mode == "observer":
        assert z["zk_observer_master_id"] == str(theirs["leader"]["leader_id"])
        if c.get("zk_observer_master_id") != str(mine["leader"]["leader_id"]):
            problems.append("zk_observer_master_id: corvid %s, its leader is %s" % (
                c.get("zk_observer_master_id"), mine["leader"]["leader_id"]))
    if mode == "leader":
        # after the writes both leaders have proposed something: ZooKeeper's
        # uptime as leader and its proposal sizes are positive
        for k in ("zk_leader_uptime", "zk_last_proposal_size", "zk_min_proposal_size",
                  "zk_max_proposal_size"):
            assert int(z[k]) > 0, (k, z[k])
            if not int(c[k]) > 0:
                problems.append("%s: corvid %s, zookeeper %s (> 0)" % (k, c[k], z[k]))
        zs = re.search(r"^Proposal sizes last/min/max: (.*)$", theirs["leader"]["srvr_text"], re.M)
        cs = re.search(r"^Proposal sizes last/min/max: (.*)$", mine["leader"]["srvr_text"], re.M)
        if cs.group(1) == "-1/-1/-1" != zs.group(1):
            problems.append("srvr 'Proposal sizes last/min/max': corvid %s, zookeeper %s"
                            % (cs.group(1), zs.group(1)))
    assert not problems, "corvid %s mntr/srvr differ from ZooKeeper's:\n  %s" % (
        mode, "\n  ".join(problems))


def test_one_voter_with_an_observer_serves_writes_sync_and_sessions_on_both():
    """A leader that is a quorum by itself answers inside its own calls (a
    proposal commits, a sync is confirmed, at once): sessions, writes and
    sync still answer, through the leader and through the observer."""
    e = _start(TARGET, 1, 1)
    try:
        assert sorted(e.modes().values()) == ["leader", "observer"]
        for sid in e.members:
            zk = client(e.hosts(sid))
            path = uniq("/one")
            zk.create(path, b"x", ephemeral=True)
            zk.sync("/")
            assert zk.get(path)[0] == b"x"
            zk.set(path, b"y")
            assert zk.get(path)[0] == b"y"
            zk.stop()
            zk.close()
    finally:
        e.stop()
