#!/usr/bin/python3
"""Crash loop: kill -9 a ZooKeeper-protocol server while real clients (kazoo)
write at full speed, restart it on the same data directory, and check that
every acknowledged write survived and that nothing unacknowledged was applied
twice or in part.

Used by test_durability.py (ctest: integration.CrashLoopAgainstCorvid) and
runnable on its own for long soaks:

    /usr/bin/python3 tests/integration/crash_loop.py --target corvid --iters 5000
    /usr/bin/python3 tests/integration/crash_loop.py --target zookeeper --iters 10

One iteration
  1. The server is running on data directory D, and the iteration's parents
     /crash/i<N>/{c,a,b,s} exist (created, acknowledged, by the previous
     checker).
  2. W writer clients (fresh sessions) issue asynchronous writes at full speed
     (at most 128 outstanding each): creates (/crash/iN/c/<w>-<n>),
     sets of a per-writer register (/crash/reg/<w>, values increasing across
     the whole run), multis (create /crash/iN/a/<w>-<n> + create
     /crash/iN/b/<w>-<n> + set /crash/mreg/<w>) and sequential creates
     (/crash/iN/s/<w>-NNNNNNNNNN). Payloads are a function of (kind,
     iteration, writer, op); one in 25 spans several 4 KiB blocks. A write is
     *acknowledged* when kazoo got its successful reply.
  3. After a random delay (--kill-ms, seeded) the server is killed with
     SIGKILL; the writers stop. With probability --double-crash (0.1) the
     restarted server is killed again during its recovery.
  4. The server is restarted on D (ruok, then srvr until it serves).
  5. A fresh checker client checks the iteration's writes:
       * every acknowledged write is present (creates with exactly the data
         written; the register >= the last acknowledged value);
       * everything present was written, with exactly the data written;
       * each register holds one of the values written (or its previous
         value) and its version counts exactly the sets applied;
       * a multi is all-or-nothing (a/<id>, b/<id> and the mreg value);
       * no sequential payload appears under two sequence numbers;
       * per writer, the writes applied are a prefix of the writes issued
         (a session's writes are applied in order, so a durable log can
         only lose a suffix);
     and the older iterations: the parents' Stat (numChildren, cversion,
     pzxid) are unchanged for a sample of 24, one of them is checked in
     full, and mntr's zk_znode_count equals the number of znodes expected.
     It then creates the next iteration's parents.
The data directory is never reset, so the log keeps growing. Each start
picks snapCount (seeded): 1000 half of the time, so snapshots are written
(and crashed into) in most of those runs, 100000 otherwise, so the log
since the last snapshot grows (a server that counts toward snapCount
from its own start never snapshots then); --snap-count fixes one value. Long soaks keep the tree bounded: beyond --retain iterations
(default 250) the checker deletes the oldest iteration's znodes, and those
deletes must stick (sampled, and in zk_znode_count). At the end the server
is stopped with SIGTERM, restarted, and every iteration's parents are
checked again (20 of them in full).

A failure names the seed, the iteration, the writer and op, and what was
LOST / CORRUPT / UNEXPECTED / DUPLICATE / HALF-APPLIED / GAP / CHANGED /
RESURRECTED, with the server log's tail.

Environment (also the defaults of the command-line flags)
  CV_TARGET          corvid (default) | zookeeper
  CV_CRASH_ITERS     iterations (default: 180 corvid, as in ctest; 10 zookeeper)
  CV_CRASH_SEED      seed (default: random, printed)
  CV_CRASH_KILL_MS   kill delay range after the writes start, e.g. 50-400
  CV_CRASH_WRITERS   writer clients (default 2)
  CV_CRASH_SNAPCOUNT snapCount for every start (default: 1000 or 100000 per start)
  CV_CRASH_RETAIN    iterations whose znodes are kept (default 250; 0: all)
  CV_CRASH_KEEP      1: keep the data directory of a failed run
  CORVID_BIN         the corvid binary (zkserver.py)
"""
import argparse
import hashlib
import logging
import os
import random
import re
import signal
import sys
import threading
import time
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
if HERE not in sys.path:
    sys.path.insert(0, HERE)
import zkserver  # noqa: E402

ROOT = "/crash"
DEFAULT_ITERS = {"corvid": 180, "zookeeper": 10}
SESSION_TIMEOUT_S = 4.0
DIRS = ("c", "a", "b", "s")
SNAP_COUNTS = (1000, 100000)


class CrashLoopError(AssertionError):
    """A durability violation (or a harness problem) found by the loop."""


def env_int(name, default):
    v = os.environ.get(name, "").strip()
    return int(v) if v else default


def parse_range(text):
    lo, _, hi = text.partition("-")
    lo, hi = int(lo), int(hi or lo)
    if lo < 0 or hi < lo:
        raise ValueError("bad range %r (want LO-HI milliseconds)" % text)
    return lo, hi


# ------------------------------------------------------------ payloads ----

def payload(kind, it, w, n):
    """The exact bytes written by op n of writer w in iteration it. Mostly
    small; one in 25 spans several 4 KiB blocks (torn writes)."""
    head = ("%s/%d/%d/%d|" % (kind, it, w, n)).encode()
    h = zlib.crc32(head)
    size = 4096 + h % (40 * 1024) if h % 25 == 0 else h % 200
    block = hashlib.sha256(head).digest()
    return head + (block * (size // len(block) + 1))[:size]


_PAYLOAD_RE = re.compile(rb"^([cms])/(\d+)/(\d+)/(\d+)\|")


def parse_payload(data):
    m = _PAYLOAD_RE.match(data or b"")
    if not m:
        return None
    return m.group(1).decode(), int(m.group(2)), int(m.group(3)), int(m.group(4))


def short(b, n=60):
    if b is None:
        return "None"
    return repr(b[:n]) + ("...(%d bytes)" % len(b) if len(b) > n else "")


# --------------------------------------------------------------- clients ----

def new_client(hosts, start=True):
    from kazoo.client import KazooClient
    c = KazooClient(hosts=hosts, timeout=SESSION_TIMEOUT_S,
                    connection_retry=dict(max_tries=200, delay=0.02, backoff=1.3,
                                          max_delay=0.05, ignore_expire=False),
                    command_retry=None)
    if start:
        c.start(timeout=15)
    return c


stop_client = zkserver.stop_client


def stop_clients(clients):
    """Stop several kazoo clients in parallel (each may wait on a dead server)."""
    ts = [threading.Thread(target=stop_client, args=(c,), daemon=True) for c in clients]
    for t in ts:
        t.start()
    for t in ts:
        t.join(timeout=20)


def gather(asyncs, timeout):
    """Wait for kazoo async results; returns [(ok, value_or_exception)]."""
    deadline = time.time() + timeout
    out = []
    for a in asyncs:
        a.wait(max(0.0, deadline - time.time()))
        if not a.ready():
            raise CrashLoopError("a read did not complete within %.0fs" % timeout)
        out.append((True, a.value) if a.successful() else (False, a.exception))
    return out


def mntr(port):
    text = zkserver.four_letter(port, "mntr", timeout=5.0)
    vals = {}
    for line in text.splitlines():
        k, _, v = line.partition("\t")
        vals[k.strip()] = v.strip()
    return vals


def wait_serving(srv, timeout=60.0, interval=0.02):
    zkserver.wait_serving(srv, timeout, interval, CrashLoopError)


# ---------------------------------------------------------------- writer ----

class Op:
    __slots__ = ("kind", "n", "value", "async_result")

    def __init__(self, kind, n, value=None):
        self.kind, self.n, self.value, self.async_result = kind, n, value, None

    # outcome as the client saw it
    def acked(self):
        a = self.async_result
        return a is not None and a.ready() and a.successful()

    def unexpected_error(self):
        """A failure other than losing the connection (which leaves the
        outcome unknown) is a bug in the server or in this harness."""
        from kazoo.exceptions import ConnectionClosedError, ConnectionLoss
        from kazoo.exceptions import ConnectionDropped, SessionExpiredError
        a = self.async_result
        if a is None or not a.ready():
            return None
        if a.successful():
            if self.kind == "m" and any(isinstance(r, Exception) for r in a.value):
                return "multi failed: %r" % (a.value,)
            return None
        if isinstance(a.exception, (ConnectionLoss, ConnectionClosedError,
                                    ConnectionDropped, SessionExpiredError)):
            return None
        return "%s: %r" % (type(a.exception).__name__, a.exception)


class Writer:
    """One kazoo session issuing asynchronous writes from one thread (so its
    issue order is its order on the wire)."""

    def __init__(self, loop, w, it, client):
        self.loop, self.w, self.it, self.zk = loop, w, it, client
        self.rng = random.Random("%d/%d/%d" % (loop.seed, it, w))
        self.ops = []
        self.sem = threading.Semaphore(loop.inflight)
        self.stop = threading.Event()
        self.error = None
        self.thread = threading.Thread(target=self._run, name="writer-%d" % w, daemon=True)

    def _release(self, _a):
        self.sem.release()

    def _issue(self):
        L, w, it, n = self.loop, self.w, self.it, len(self.ops)
        base = "%s/i%d" % (ROOT, it)
        k = self.rng.random()
        if k < 0.40:
            op = Op("c", n)
            a = self.zk.create_async("%s/c/%d-%d" % (base, w, n), payload("c", it, w, n))
        elif k < 0.60:
            op = Op("r", n, L.reg_next[w])
            L.reg_next[w] += 1
            a = self.zk.set_async(L.reg_path(w), b"%d" % op.value)
        elif k < 0.80:
            op = Op("m", n, L.mreg_next[w])
            L.mreg_next[w] += 1
            data = payload("m", it, w, n)
            t = self.zk.transaction()
            t.create("%s/a/%d-%d" % (base, w, n), data)
            t.create("%s/b/%d-%d" % (base, w, n), data)
            t.set_data(L.mreg_path(w), b"%d" % op.value)
            a = t.commit_async()
        else:
            op = Op("s", n)
            a = self.zk.create_async("%s/s/%d-" % (base, w), payload("s", it, w, n),
                                     sequence=True)
        op.async_result = a
        self.ops.append(op)
        a.rawlink(self._release)

    def _run(self):
        # Stop at once when the connection drops: kazoo queues requests made
        # while it reconnects and writes a wake-up byte per request into a
        # socketpair nobody drains meanwhile; a few hundred of them fill it
        # and block the caller (and client.stop()) for good.
        try:
            while not self.stop.is_set() and self.zk.connected:
                if not self.sem.acquire(timeout=0.05):
                    continue
                if self.stop.is_set() or not self.zk.connected:
                    break
                self._issue()
        except Exception as e:      # reported by the loop
            self.error = e


# ------------------------------------------------------------------ loop ----

class IterationRecord:
    """What an iteration left behind, as verified after its crash."""

    def __init__(self, it):
        self.it = it
        self.names = {}     # dir -> set of child names present
        self.stats = {}     # path -> (numChildren, cversion, pzxid)
        self.seq = {}       # name under s/ -> (w, n)


class CrashLoop:
    def __init__(self, target="corvid", iters=None, seed=None, kill_ms=(50, 400),
                 writers=2, inflight=128, snap_count=None, double_crash=0.1,
                 keep_on_failure=False, log=print, port=None, crash=True, sabotage=None,
                 after_kill=None, retain=250):
        self.target = target
        self.iters = DEFAULT_ITERS[target] if iters is None else iters
        self.seed = random.SystemRandom().randrange(1, 2 ** 31) if seed is None else seed
        self.kill_ms = kill_ms
        self.nwriters = writers
        self.inflight = inflight
        self.snap_count = snap_count        # None: SNAP_COUNTS, chosen per start
        self.double_crash = double_crash
        self.keep_on_failure = keep_on_failure
        self.log = log
        self.port = port
        # crash=False: harness self-test mode; the writers' sessions are
        # closed instead of killing the server, which stays up (any server,
        # durable or not). sabotage(loop, zk, it, writers) runs before each
        # verification to break what the checks must notice.
        self.crash = crash
        self.sabotage = sabotage
        # after_kill(loop, it): runs while the server is down (self-tests
        # damage the log there, to prove a real loss is reported)
        self.after_kill = after_kill
        self.rng = random.Random(self.seed)
        self.srv = None
        self.it = 0
        # per writer slot: next value to write, and the state as last verified
        self.reg_next = [1] * writers
        self.mreg_next = [1] * writers
        self.reg_val = [0] * writers
        self.reg_version = [0] * writers
        self.mreg_val = [0] * writers
        self.mreg_version = [0] * writers
        self.records = {}
        # Soaks: once more than `retain` iterations are kept, the checker
        # deletes the oldest one's znodes (acknowledged deletes, which must
        # stay deleted), so the tree stays bounded while the log grows.
        self.retain = retain
        self.pruned = []
        self.expected_znodes = None
        self.timing = {"iterations": 0, "seconds": 0.0, "restart": 0.0, "verify": 0.0,
                       "issued": 0, "acked": 0, "applied": 0}

    # -------------------------------------------------------------- paths
    @staticmethod
    def reg_path(w):
        return "%s/reg/%d" % (ROOT, w)

    @staticmethod
    def mreg_path(w):
        return "%s/mreg/%d" % (ROOT, w)

    def where(self, it=None):
        return "seed=%d iteration=%d target=%s" % (self.seed, self.it if it is None else it,
                                                  self.target)

    def fail(self, problems, it=None):
        # up to 8 of each kind (LOST, GAP, CORRUPT, ...), in order of appearance
        kinds, shown = {}, []
        for p in problems:
            k = p.split(" ", 1)[0]
            kinds[k] = kinds.get(k, 0) + 1
            if kinds[k] <= 8:
                shown.append(p)
        more = len(problems) - len(shown)
        msg = ["crash loop (%s): %d problem(s) after kill -9 + restart:"
               % (self.where(it), len(problems))]
        msg += ["  - " + p for p in shown]
        if more:
            msg.append("  ... and %d more (%s)" % (more, ", ".join(
                "%d %s" % (n, k) for k, n in kinds.items() if n > 8)))
        msg.append("rerun: CV_TARGET=%s CV_CRASH_SEED=%d CV_CRASH_ITERS=%d /usr/bin/python3 "
                   "tests/integration/crash_loop.py  (kill timing is not exactly reproducible)"
                   % (self.target, self.seed, self.iters))
        if self.srv is not None:
            kept = "" if self.keep_on_failure else " (removed; CV_CRASH_KEEP=1 keeps it)"
            msg.append("data directory: %s%s" % (self.srv.dir, kept))
            msg.append("server log (tail):\n" + self.srv.log())
        raise CrashLoopError("\n".join(msg))

    # ------------------------------------------------------------ server
    def make_server(self):
        extra = {"forceSync": "yes", "snapCount": self.pick_snap_count(),
                 "globalOutstandingLimit": 100000}
        last = None
        for _ in range(3):
            if self.port is not None:
                port = self.port
            else:
                import conftest     # noqa: E402  (free ports in the shared range)
                port = conftest.free_port()
            srv = zkserver.Server(self.target, port, tick_ms=200, min_session_timeout=400,
                                  max_session_timeout=10000, extra_cfg=extra,
                                  start_timeout=60.0, poll_interval=0.02)
            try:
                srv.start()
                wait_serving(srv)
                return srv
            except (RuntimeError, CrashLoopError) as e:
                last = e
                srv.stop()
        raise last

    def pick_snap_count(self):
        if self.snap_count:
            return self.snap_count
        return self.rng.choice(SNAP_COUNTS)

    def restart(self):
        if not self.crash:
            return
        t0 = time.time()
        srv = self.srv
        if self.double_crash and self.rng.random() < self.double_crash:
            # Crash again while the server recovers (JVM start-up is slow,
            # so ZooKeeper gets a later kill).
            lo, hi = (0.0, 0.3) if self.target == "corvid" else (0.3, 1.5)
            srv.restart(wait=False)
            time.sleep(self.rng.uniform(lo, hi))
            srv.kill()
        try:
            srv.restart(extra_cfg={"snapCount": self.pick_snap_count()})
            wait_serving(srv)
        except (RuntimeError, CrashLoopError) as e:
            self.fail(["NO RESTART: the server did not come back on the crashed data directory: "
                       "%s" % str(e).split("\n", 1)[0]])
        self.timing["restart"] += time.time() - t0

    # ------------------------------------------------------------- phases
    def setup(self):
        zk = new_client(self.srv.hosts)
        try:
            for p in (ROOT, ROOT + "/reg", ROOT + "/mreg"):
                zk.create(p)
            for w in range(self.nwriters):
                zk.create(self.reg_path(w), b"0")
                zk.create(self.mreg_path(w), b"0")
            self.expected_znodes = int(mntr(self.srv.port)["zk_znode_count"])
            self.create_parents(zk, 1)
        finally:
            stop_client(zk)

    def create_parents(self, zk, it):
        base = "%s/i%d" % (ROOT, it)
        zk.create(base)
        for d in DIRS:
            zk.create("%s/%s" % (base, d))
        self.expected_znodes += 1 + len(DIRS)

    def write_and_crash(self, it):
        """Start the writers, SIGKILL the server after a random delay, stop
        the writers. Returns them (ops and outcomes)."""
        clients = [new_client(self.srv.hosts, start=False) for _ in range(self.nwriters)]
        writers = []
        try:
            events = [c.start_async() for c in clients]
            for c, ev in zip(clients, events):
                ev.wait(15)
                if not c.connected:
                    raise CrashLoopError("%s: writer could not connect; log:\n%s"
                                         % (self.where(), self.srv.log()))
            writers = [Writer(self, w, it, c) for w, c in enumerate(clients)]
            delay = self.rng.uniform(*self.kill_ms) / 1000.0
            t0 = time.time()
            for wr in writers:
                wr.thread.start()
            time.sleep(max(0.0, delay - (time.time() - t0)))
            if self.crash:
                self.srv.kill()
            killed_after = time.time() - t0
        finally:
            for wr in writers:
                wr.stop.set()
            for wr in writers:
                wr.thread.join(timeout=10)
            stop_clients(clients)
        for wr in writers:
            if wr.error is not None:
                raise CrashLoopError("%s: writer %d failed: %r" % (self.where(), wr.w, wr.error))
        return writers, killed_after

    # ------------------------------------------------------------- checks
    def verify_iteration(self, zk, it, writers):
        """Check everything iteration `it` wrote; return its record."""
        problems = []
        base = "%s/i%d" % (ROOT, it)
        rec = IterationRecord(it)

        # parents (acknowledged before the writers started)
        for p in [base] + ["%s/%s" % (base, d) for d in DIRS]:
            if zk.exists(p) is None:
                problems.append("LOST acknowledged create of %s (a parent, created before "
                                "the writes)" % p)
        if problems:
            self.fail(problems, it)
        for d in DIRS:
            rec.names[d] = set(zk.get_children("%s/%s" % (base, d)))

        # registers: value and version
        reg, mreg = [], []
        for w in range(self.nwriters):
            for path, out in ((self.reg_path(w), reg), (self.mreg_path(w), mreg)):
                data, st = zk.get(path)
                try:
                    out.append((int(data), st.version))
                except ValueError:
                    problems.append("%s holds %s, not a written value" % (path, short(data)))
                    out.append((None, st.version))
        if problems:
            self.fail(problems, it)

        # data of everything present, fetched in one pipelined sweep
        paths = []
        for d in DIRS:
            paths += ["%s/%s/%s" % (base, d, name) for name in sorted(rec.names[d])]
        datas = {}
        for p, (ok, v) in zip(paths, gather([zk.get_async(p) for p in paths], 60)):
            if not ok:
                problems.append("get %s failed after listing it: %r" % (p, v))
            else:
                datas[p] = v[0]

        ops_of = {wr.w: wr.ops for wr in writers}

        # c/ a/ b/ names: every name is an issued op of the right kind, data exact
        for d, kind in (("c", "c"), ("a", "m"), ("b", "m")):
            for name in sorted(rec.names[d]):
                path = "%s/%s/%s" % (base, d, name)
                m = re.match(r"^(\d+)-(\d+)$", name)
                w, n = (int(m.group(1)), int(m.group(2))) if m else (None, None)
                ops = ops_of.get(w, [])
                if m is None or n >= len(ops) or ops[n].kind != kind:
                    problems.append("UNEXPECTED znode %s: never written by this iteration" % path)
                    continue
                want = payload(kind, it, w, n)
                if path in datas and datas[path] != want:
                    problems.append("CORRUPT %s: holds %s, written %s"
                                    % (path, short(datas[path]), short(want)))

        # s/: payload -> names; each payload at most once, and an issued one
        seq_seen = {}
        for name in sorted(rec.names["s"]):
            path = "%s/s/%s" % (base, name)
            if path not in datas:
                continue
            pl = parse_payload(datas[path])
            ok = False
            if pl is not None:
                kind, pit, w, n = pl
                ops = ops_of.get(w, [])
                ok = (kind == "s" and pit == it and n < len(ops) and ops[n].kind == "s"
                      and name.startswith("%d-" % w) and datas[path] == payload("s", it, w, n))
            if not ok:
                problems.append("UNEXPECTED or CORRUPT sequential znode %s holding %s"
                                % (path, short(datas[path])))
                continue
            seq_seen.setdefault((w, n), []).append(name)
            rec.seq[name] = (w, n)
        for (w, n), names in sorted(seq_seen.items()):
            if len(names) > 1:
                problems.append("DUPLICATE: sequential create (writer %d op %d) applied %d "
                                "times: %s" % (w, n, len(names),
                                               ", ".join("%s/s/%s" % (base, x) for x in names)))

        # per writer: what was applied, acked => applied, applied is a prefix
        counts = {"issued": 0, "acked": 0, "applied": 0}
        for w in range(self.nwriters):
            ops = ops_of.get(w, [])
            rv, rver = reg[w]
            mv, mver = mreg[w]
            r_issued = [op.value for op in ops if op.kind == "r"]
            m_issued = [op.value for op in ops if op.kind == "m"]
            # the registers hold the previous value or one written now
            for label, path, val, prev, issued in (
                    ("register", self.reg_path(w), rv, self.reg_val[w], r_issued),
                    ("multi register", self.mreg_path(w), mv, self.mreg_val[w], m_issued)):
                if val != prev and val not in issued:
                    problems.append("%s %s holds %d: neither its previous value %d nor a value "
                                    "written in this iteration (%s)"
                                    % (label, path, val, prev,
                                       "%d..%d" % (issued[0], issued[-1]) if issued else "none"))
            applied = []
            for op in ops:
                counts["issued"] += 1
                err = op.unexpected_error()
                if err:
                    problems.append("writer %d op %d (%s) failed unexpectedly: %s"
                                    % (w, op.n, op.kind, err))
                name = "%d-%d" % (w, op.n)
                if op.kind == "c":
                    a = name in rec.names["c"]
                    what = "create %s/c/%s" % (base, name)
                elif op.kind == "r":
                    a = rv >= op.value and rv in r_issued
                    what = "set %s = %d" % (self.reg_path(w), op.value)
                elif op.kind == "m":
                    pa, pb = name in rec.names["a"], name in rec.names["b"]
                    pm = mv >= op.value and mv in m_issued
                    a = pa and pb and pm
                    what = ("multi {create %s/a/%s, create %s/b/%s, set %s = %d}"
                            % (base, name, base, name, self.mreg_path(w), op.value))
                    if len({pa, pb, pm}) > 1:
                        problems.append("HALF-APPLIED %s: a/ %s, b/ %s, mreg %s (holds %d)"
                                        % (what, "present" if pa else "absent",
                                           "present" if pb else "absent",
                                           "applied" if pm else "not applied", mv))
                else:
                    a = (w, op.n) in seq_seen
                    what = "sequential create under %s/s (writer %d op %d)" % (base, w, op.n)
                    if op.acked():
                        got = op.async_result.value.rsplit("/", 1)[-1]
                        present = seq_seen.get((w, op.n), [])
                        if got not in present:
                            problems.append("LOST acknowledged %s: acknowledged as %s/s/%s, "
                                            "present as %s" % (what, base, got,
                                                               present or "nothing"))
                if op.acked():
                    counts["acked"] += 1
                    if not a:
                        problems.append("LOST acknowledged %s (writer %d op %d)" % (what, w, op.n))
                applied.append(a)
            counts["applied"] += sum(applied)
            # prefix: no applied op after one that was not applied
            first_gap = next((i for i, x in enumerate(applied) if not x), len(applied))
            later = [i for i in range(first_gap, len(applied)) if applied[i]]
            if later:
                problems.append("GAP in writer %d's writes: op %d (%s) not applied but %d later "
                                "op(s) applied, first op %d (%s); a session's writes must be "
                                "applied in order" % (w, first_gap, ops[first_gap].kind,
                                                      len(later), later[0], ops[later[0]].kind))
            # versions count exactly the sets applied
            n_r = sum(1 for v in r_issued if v <= rv) if rv in r_issued else 0
            n_m = sum(1 for v in m_issued if v <= mv) if mv in m_issued else 0
            if rver != self.reg_version[w] + n_r:
                problems.append("register %s has version %d, expected %d (%d before + %d sets "
                                "applied): a set was applied twice or lost"
                                % (self.reg_path(w), rver, self.reg_version[w] + n_r,
                                   self.reg_version[w], n_r))
            if mver != self.mreg_version[w] + n_m:
                problems.append("multi register %s has version %d, expected %d"
                                % (self.mreg_path(w), mver, self.mreg_version[w] + n_m))
            self.reg_val[w], self.reg_version[w] = rv, rver
            self.mreg_val[w], self.mreg_version[w] = mv, mver
        if problems:
            self.fail(problems, it)

        for p in [base] + ["%s/%s" % (base, d) for d in DIRS]:
            st = zk.exists(p)
            rec.stats[p] = (st.numChildren, st.cversion, st.pzxid)
        self.expected_znodes += sum(len(v) for v in rec.names.values())
        for k, v in counts.items():
            self.timing[k] += v
        return rec, counts

    def check_old(self, zk, its, deep_its):
        """Older iterations: parents' Stat unchanged (its), and for deep_its
        also the children and every byte of data."""
        problems = []
        items = []
        for it in its:
            for p, want in sorted(self.records[it].stats.items()):
                items.append((it, p, want))
        for (it, p, want), (ok, v) in zip(items, gather([zk.exists_async(p) for _, p, _ in items],
                                                        60)):
            if not ok or v is None:
                problems.append("LOST %s (iteration %d's parent)" % (p, it))
            elif (v.numChildren, v.cversion, v.pzxid) != want:
                problems.append("CHANGED %s (iteration %d): (numChildren, cversion, pzxid) = %s, "
                                "was %s when verified" % (p, it, (v.numChildren, v.cversion,
                                                                  v.pzxid), want))
        for it in deep_its:
            rec = self.records[it]
            base = "%s/i%d" % (ROOT, it)
            paths, wants = [], []
            for d in DIRS:
                got = set(zk.get_children("%s/%s" % (base, d)))
                if got != rec.names[d]:
                    problems.append("CHANGED children of %s/%s (iteration %d): lost %s, new %s"
                                    % (base, d, it, sorted(rec.names[d] - got)[:5],
                                       sorted(got - rec.names[d])[:5]))
                for name in sorted(got & rec.names[d]):
                    if d == "s":
                        w, n = rec.seq[name]
                        want = payload("s", it, w, n)
                    else:
                        w, n = map(int, name.split("-"))
                        want = payload("c" if d == "c" else "m", it, w, n)
                    paths.append("%s/%s/%s" % (base, d, name))
                    wants.append(want)
            for p, want, (ok, v) in zip(paths, wants, gather([zk.get_async(p) for p in paths], 60)):
                if not ok:
                    problems.append("get %s failed: %r" % (p, v))
                elif v[0] != want:
                    problems.append("CORRUPT %s (iteration %d): holds %s, written %s"
                                    % (p, it, short(v[0]), short(want)))
        return problems

    def prune(self, zk, old):
        rec = self.records.pop(old)
        base = "%s/i%d" % (ROOT, old)
        paths = ["%s/%s/%s" % (base, d, name) for d in DIRS for name in sorted(rec.names[d])]
        for p, (ok, v) in zip(paths, gather([zk.delete_async(p) for p in paths], 120)):
            if not ok:
                self.fail(["delete %s (pruning iteration %d) failed: %r" % (p, old, v)])
        for p in ["%s/%s" % (base, d) for d in DIRS] + [base]:
            zk.delete(p)
        self.expected_znodes -= len(paths) + len(DIRS) + 1
        self.pruned.append(old)

    def check_pruned(self, zk, its):
        return ["RESURRECTED %s/i%d: deleted (acknowledged) when iteration %d was pruned"
                % (ROOT, it, it) for it, (ok, v) in
                zip(its, gather([zk.exists_async("%s/i%d" % (ROOT, it)) for it in its], 60))
                if not ok or v is not None]

    def check_global(self, zk):
        problems = []
        for w in range(self.nwriters):
            for path, val, ver in ((self.reg_path(w), self.reg_val[w], self.reg_version[w]),
                                   (self.mreg_path(w), self.mreg_val[w], self.mreg_version[w])):
                data, st = zk.get(path)
                if data != b"%d" % val or st.version != ver:
                    problems.append("CHANGED %s: holds %s version %d, verified %d version %d"
                                    % (path, short(data), st.version, val, ver))
        count = int(mntr(self.srv.port)["zk_znode_count"])
        if count != self.expected_znodes:
            problems.append("mntr zk_znode_count is %d, expected %d (znodes lost or invented)"
                            % (count, self.expected_znodes))
        return problems

    # --------------------------------------------------------------- run
    def check_durable_build(self):
        if self.crash and self.srv.in_memory():
            raise CrashLoopError(
                "%s (%s) says IN-MEMORY ONLY at start-up: this build keeps nothing on disk, so "
                "nothing can survive kill -9 (expected to fail until the durable server lands)"
                % (zkserver.CORVID_BIN, self.where()))

    def run(self):
        self.log("crash loop: target=%s iterations=%d seed=%d kill=%d-%dms writers=%d "
                 "snapCount=%s" % (self.target, self.iters, self.seed, self.kill_ms[0],
                                   self.kill_ms[1], self.nwriters,
                                   self.snap_count or "/".join(map(str, SNAP_COUNTS))))
        logging.getLogger("kazoo").setLevel(logging.CRITICAL)
        t_start = time.time()
        ok = False
        self.srv = self.make_server()
        try:
            self.check_durable_build()
            self.setup()
            for it in range(1, self.iters + 1):
                self.it = it
                t0 = time.time()
                writers, killed_after = self.write_and_crash(it)
                tr = time.time()
                if self.after_kill is not None:
                    self.after_kill(self, it)
                self.restart()
                tv = time.time()
                zk = new_client(self.srv.hosts)
                try:
                    if self.sabotage is not None:
                        self.sabotage(self, zk, it, writers)
                    rec, counts = self.verify_iteration(zk, it, writers)
                    self.records[it] = rec
                    older = [i for i in self.records if i != it]
                    sample = self.rng.sample(older, min(len(older), 24))
                    deep = self.rng.sample(older, 1) if older else []
                    problems = (self.check_old(zk, sample, deep) + self.check_global(zk)
                                + self.check_pruned(zk, self.rng.sample(
                                    self.pruned, min(len(self.pruned), 8))))
                    if problems:
                        self.fail(problems)
                    if self.retain and len(self.records) > self.retain:
                        self.prune(zk, min(self.records))
                    if it < self.iters:
                        self.create_parents(zk, it + 1)
                finally:
                    stop_client(zk)
                t1 = time.time()
                self.timing["verify"] += t1 - tv
                self.timing["iterations"] += 1
                self.timing["seconds"] += t1 - t0
                self.log("iter %d: killed after %3.0f ms; %4d issued, %4d acked, %4d applied; "
                         "restart %.2fs, verify %.2fs, total %.2fs"
                         % (it, killed_after * 1000, counts["issued"], counts["acked"],
                            counts["applied"], tv - tr, t1 - tv, t1 - t0))
            self.final_check()
            ok = True
        finally:
            if not ok and self.keep_on_failure:
                self.srv.keep_dir = True
            self.srv.stop()
        total = time.time() - t_start
        n = max(1, self.timing["iterations"])
        self.log("crash loop passed: %d iterations in %.1fs (%.2fs per iteration, restart %.2fs, "
                 "verify %.2fs); %d writes issued, %d acknowledged, %d applied; seed=%d"
                 % (self.timing["iterations"], total, self.timing["seconds"] / n,
                    self.timing["restart"] / n, self.timing["verify"] / n,
                    self.timing["issued"], self.timing["acked"], self.timing["applied"],
                    self.seed))
        return self.timing

    def final_check(self):
        """A clean stop (SIGTERM) and restart, then every iteration's parents
        again, plus a sample in full."""
        self.it = self.iters
        if self.crash:
            self.srv.kill(signal.SIGTERM)
            self.restart_clean()
        zk = new_client(self.srv.hosts)
        try:
            its = sorted(self.records)
            deep = sorted(self.rng.sample(its, min(len(its), 20)))
            problems = (self.check_old(zk, its, deep) + self.check_global(zk)
                        + self.check_pruned(zk, self.pruned))
            if problems:
                self.fail(["after the final SIGTERM + restart: " + p for p in problems])
        finally:
            stop_client(zk)

    def restart_clean(self):
        self.srv.restart()
        wait_serving(self.srv)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--target", default=os.environ.get("CV_TARGET", "corvid").strip().lower(),
                    choices=("corvid", "zookeeper"))
    ap.add_argument("--iters", type=int, default=env_int("CV_CRASH_ITERS", 0) or None)
    ap.add_argument("--seed", type=int, default=env_int("CV_CRASH_SEED", 0) or None)
    ap.add_argument("--kill-ms", default=os.environ.get("CV_CRASH_KILL_MS", "50-400"))
    ap.add_argument("--writers", type=int, default=env_int("CV_CRASH_WRITERS", 2))
    ap.add_argument("--snap-count", type=int, default=env_int("CV_CRASH_SNAPCOUNT", 0) or None,
                    help="snapCount for every start (default: 1000 or 100000, per start)")
    ap.add_argument("--double-crash", type=float, default=0.1,
                    help="probability of a second kill during recovery")
    ap.add_argument("--keep", action="store_true",
                    default=os.environ.get("CV_CRASH_KEEP", "") not in ("", "0"),
                    help="keep the data directory of a failed run")
    ap.add_argument("--retain", type=int, default=env_int("CV_CRASH_RETAIN", 250),
                    help="iterations whose znodes are kept (older ones are deleted; 0: all)")
    ap.add_argument("--port", type=int, default=None)
    args = ap.parse_args(argv)
    if args.target == "corvid" and not os.path.exists(zkserver.CORVID_BIN):
        print("crash_loop: %s does not exist (set CORVID_BIN)" % zkserver.CORVID_BIN)
        return 2
    loop = CrashLoop(args.target, args.iters, args.seed, parse_range(args.kill_ms), args.writers,
                     snap_count=args.snap_count, double_crash=args.double_crash,
                     keep_on_failure=args.keep, port=args.port, retain=args.retain,
                     log=lambda s: print(s, flush=True))
    try:
        loop.run()
    except CrashLoopError as e:
        print(str(e), flush=True)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
