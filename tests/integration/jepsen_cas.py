#!/usr/bin/python3
"""Jepsen-style linearizability check of registers against a real ensemble
(corvid or Apache ZooKeeper), with faults injected, checked by
corvid_lincheck (tests/sim/lincheck_main.cc, cv_lincheck.h).

Run with Debian's Python (kazoo is installed for /usr/bin/python3):

    /usr/bin/python3 tests/integration/jepsen_cas.py --kind zookeeper \
        --seconds 60 --clients 6 --keys 4 --seed 1 --history /tmp/h.jsonl

Exit status: 0 linearizable, nothing anomalous; 1 a violation or an anomaly
(an error a correct server never returns, a register with no final read);
2 the harness could not run or the checker could not decide.

Workload. K registers, znodes /jepsen/r0 .. /jepsen/r{K-1}, created with
value "0" (decimal int64 text; version 0) before the clients start. C kazoo
clients, client i pinned to member i mod N (kazoo `hosts` = that member only:
a client whose member is down or cut off just fails its ops). Each client
loops: pick a register and one of
  read   getData (one in three a sync read: sync(path) then getData, which
         ZooKeeper makes linearizable; the others are plain reads, only
         sequentially consistent per session),
  write  setData(v, -1) with a globally unique v,
  cas    getData (recorded as a plain READ op of its own) then
         setData(v, version-read) with a unique v.
Each op is recorded with time.monotonic_ns() right before the call and right
after the reply, and an outcome: ok; fail (BadVersion on a cas: definitely
no effect); unknown (connection loss, session expiry, timeouts, anything
else in flight: may have happened or not). ok writes/cas carry the version
setData returned. An error no correct server returns (NoNode, BadVersion on
an unconditional write, a value that is not an int64, ...) is recorded as
unknown and reported as an anomaly, which fails the run. The `client` of an
op is its session: a client whose session expires and is replaced gets a
new id (ZooKeeper's per-session guarantees do not span sessions; kazoo even
forgets the last zxid seen), and an op during which the session changed gets
a client id of its own. A client does not issue ops while kazoo is not
connected (they would only queue up).

Nemesis (a thread), every 1-3 s one of:
  kill       kill -9 a member (half the time the leader), restart it 1-3 s
             later;
  pause      SIGSTOP a member (corvid: half the time the leader; ZooKeeper:
             never the leader, below) for 1.2-3 x syncLimit * tickTime,
             then SIGCONT;
  partition  (corvid only: the ensemble drops peer traffic through
             corvid.test.peerDropFile) a random minority (half the time one
             holding the leader) against the rest, healed after 2-4 s.
At the end everything is healed, resumed and restarted, the harness waits
for a leader, and every client does a final sync read of every register
(retried until one succeeds), recorded in the history like every other op,
so the checker also proves that nothing acknowledged was lost: the final
value of a register must be that of its last linearized write.

PAUSING THE LEADER. ZooKeeper's sync is not a quorum operation
(ZOOKEEPER-1675, apache/zookeeper PR #2069, still open): it relies on a
leader noticing it lost its quorum before the followers elect another one.
SIGSTOP on the leader breaks that timing assumption: resumed, the stale
leader answers sync + getData from its old state for a moment. Seen here
once (--kind zookeeper --pause-leader yes; timing-dependent, a rerun of the
same seed passed): leader 3 paused 2.8 s, the new leader acknowledged writes
up to version 117 of /jepsen/r0, and 37 ms after SIGCONT a client of member
3 got version 112 from sync + getData. So
against ZooKeeper the pause fault targets followers only (--pause-leader
auto/no); corvid's sync takes a quorum round (docs/replication.md) and gets
leader pauses too.

Output: the history (--history, JSON Lines in corvid_lincheck's format, plus
the informational fields worker, member, session, error), the nemesis log
next to it (<history>.nemesis.jsonl), and a summary. Library use:
run_jepsen(kind=..., seconds=...) returns a JepsenResult.
"""
import argparse
import itertools
import json
import logging
import os
import random
import signal
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, HERE)

from kazoo.client import KazooClient  # noqa: E402
from kazoo.exceptions import (BadVersionError, ConnectionClosedError,  # noqa: E402
                              ConnectionLoss, OperationTimeoutError,
                              SessionExpiredError, SessionMovedError)
from kazoo.protocol.states import KazooState  # noqa: E402

try:
    from kazoo.handlers.threading import KazooTimeoutError  # noqa: E402
except ImportError:                                          # pragma: no cover
    from kazoo.handlers.utils import KazooTimeoutError      # noqa: E402

DEFAULT_LINCHECK = os.path.join(ROOT, "build", "tests", "sim", "corvid_lincheck")
BASE = "/jepsen"

# Errors that mean "the op may or may not have happened": the connection or
# session went away, or no answer in time.
TRANSIENT = (ConnectionLoss, SessionExpiredError, OperationTimeoutError,
             ConnectionClosedError, SessionMovedError, KazooTimeoutError)


def lincheck_path():
    return os.environ.get("CORVID_LINCHECK", DEFAULT_LINCHECK)


def mono():
    return time.monotonic_ns()


def log(msg):
    sys.stderr.write("[jepsen %8.3f] %s\n" % (time.monotonic() % 100000, msg))
    sys.stderr.flush()


class HarnessError(RuntimeError):
    pass


# --------------------------------------------------------------- history ----

class History:
    """The ops of every client, in the order they completed."""

    def __init__(self):
        self.lock = threading.Lock()
        self.ops = []
        self.anomalies = []
        self._ids = itertools.count(1)
        self._session_ids = {}

    def add(self, op):
        with self.lock:
            self.ops.append(op)

    def anomaly(self, text):
        with self.lock:
            self.anomalies.append(text)
        log("ANOMALY: " + text)

    def client_id(self, worker, s_before, s_after):
        """The history's client id for an op: one per (worker, session); a
        fresh one if the session changed during the op or is not known."""
        with self.lock:
            if s_before is None or s_before != s_after:
                return next(self._ids)
            k = (worker, s_before)
            if k not in self._session_ids:
                self._session_ids[k] = next(self._ids)
            return self._session_ids[k]

    def write(self, path):
        with self.lock:
            ops = list(self.ops)
        with open(path, "w") as f:
            for op in ops:
                f.write(json.dumps(op, separators=(",", ":")) + "\n")
        return len(ops)


def key_name(k):
    return "r%d" % k


def key_path(k):
    return "%s/r%d" % (BASE, k)


# --------------------------------------------------------------- clients ----

class Worker(threading.Thread):
    """One kazoo client pinned to one member, issuing random ops."""

    def __init__(self, idx, member, host, history, keys, seed, values, stop_evt,
                 session_timeout=5.0, op_timeout=3.0, think_ms=(0, 10)):
        super().__init__(name="jepsen-worker-%d" % idx, daemon=True)
        self.idx, self.member, self.host = idx, member, host
        self.history, self.keys = history, keys
        self.rng = random.Random(seed)
        self.values = values          # shared itertools.count: unique values
        self.stop_evt = stop_evt
        self.op_timeout = op_timeout
        self.think_ms = think_ms
        self.zk = KazooClient(hosts=host, timeout=session_timeout,
                              connection_retry=dict(max_tries=-1, delay=0.05, backoff=1.5,
                                                    max_delay=0.5),
                              command_retry=None)
        self.n_ops = 0
        self.error = None

    # -- plumbing --
    def session(self):
        cid = self.zk.client_id
        return cid[0] if cid else None

    def connected(self):
        return self.zk.state == KazooState.CONNECTED

    def start_client(self, timeout=30.0):
        self.zk.start(timeout=timeout)
        # The registers were created through another member: make sure this
        # member has them before the first plain read.
        self.zk.sync_async(BASE).get(timeout=timeout)

    def close(self):
        try:
            self.zk.stop()
        except Exception:
            pass
        try:
            self.zk.close()
        except Exception:
            pass

    def record(self, kind, key, outcome, call, ret, s0, s1, **kw):
        op = {"key": key_name(key), "client": self.history.client_id(self.idx, s0, s1),
              "kind": kind, "outcome": outcome, "call": call}
        if outcome != "unknown":
            op["ret"] = ret
        op.update(kw)
        op["worker"] = self.idx
        op["member"] = self.member
        if s1 is not None:
            op["session"] = "%x" % s1
        self.history.add(op)
        self.n_ops += 1
        return op

    def failed(self, kind, key, call, s0, e, expected=(), **kw):
        """Record an op that raised e: unknown (or fail for the `expected`
        errors); anything no correct server does is also an anomaly."""
        ret = mono()
        s1 = self.session()
        name = type(e).__name__
        if expected and isinstance(e, expected):
            return self.record(kind, key, "fail", call, ret, s0, s1, error=name, **kw)
        if not isinstance(e, TRANSIENT):
            self.history.anomaly("worker %d (member %s) %s on %s: %s: %s"
                                 % (self.idx, self.member, kind, key_path(key), name, e))
        return self.record(kind, key, "unknown", call, ret, s0, s1, error=name, **kw)

    # -- ops --
    def read(self, key, sync):
        """A read; returns (value, version) when ok, else None."""
        path = key_path(key)
        s0 = self.session()
        call = mono()
        try:
            if sync:
                self.zk.sync_async(path).get(timeout=self.op_timeout)
            data, stat = self.zk.get_async(path).get(timeout=self.op_timeout)
            ret = mono()
            value = int(data.decode())
            if not -(1 << 63) <= value < (1 << 63):
                raise ValueError("value out of int64 range")
        except Exception as e:
            self.failed("read", key, call, s0, e, sync=int(sync))
            return None
        self.record("read", key, "ok", call, ret, s0, self.session(), value=value,
                    version=stat.version, sync=int(sync))
        return value, stat.version

    def write(self, key):
        path = key_path(key)
        v = next(self.values)
        s0 = self.session()
        call = mono()
        try:
            stat = self.zk.set_async(path, str(v).encode(), -1).get(timeout=self.op_timeout)
            ret = mono()
        except Exception as e:
            self.failed("write", key, call, s0, e, value=v)
            return
        self.record("write", key, "ok", call, ret, s0, self.session(), value=v,
                    version=stat.version)

    def cas(self, key):
        got = self.read(key, sync=False)
        if got is None:
            return
        expect = got[1]
        path = key_path(key)
        v = next(self.values)
        s0 = self.session()
        call = mono()
        try:
            stat = self.zk.set_async(path, str(v).encode(), expect).get(
                timeout=self.op_timeout)
            ret = mono()
        except Exception as e:
            self.failed("cas", key, call, s0, e, expected=(BadVersionError,), value=v,
                        expect=expect)
            return
        self.record("cas", key, "ok", call, ret, s0, self.session(), value=v, expect=expect,
                    version=stat.version)

    def one_op(self):
        key = self.rng.randrange(self.keys)
        r = self.rng.random()
        if r < 0.4:
            self.read(key, sync=self.rng.random() < 1 / 3)
        elif r < 0.7:
            self.write(key)
        else:
            self.cas(key)

    def run(self):
        try:
            while not self.stop_evt.is_set():
                if not self.connected():
                    time.sleep(0.05)
                    continue
                self.one_op()
                lo, hi = self.think_ms
                if hi > 0:
                    time.sleep(self.rng.uniform(lo, hi) / 1000.0)
        except Exception as e:   # a harness bug: report it, do not hang
            self.error = "%s: %s" % (type(e).__name__, e)
            log("worker %d crashed: %s" % (self.idx, self.error))

    def final_reads(self, deadline):
        """A sync read of every register, retried until one is ok; returns
        the registers that never gave one."""
        missing = []
        for k in range(self.keys):
            while True:
                if self.connected() and self.read(k, sync=True) is not None:
                    break
                if time.monotonic() > deadline:
                    missing.append(k)
                    break
                time.sleep(0.1)
        return missing


# --------------------------------------------------------------- nemesis ----

def member_ids(ens):
    out = []
    for m in ens.members:
        out.append(m if isinstance(m, int) else getattr(m, "id", getattr(m, "sid", m)))
    return out


class Nemesis(threading.Thread):
    """Injects one fault at a time and always undoes it before the next."""

    def __init__(self, ens, kind, faults, seed, stop_evt, pause_s, interval=(1.0, 3.0),
                 pause_leader=True):
        super().__init__(name="jepsen-nemesis", daemon=True)
        self.ens, self.kind, self.faults = ens, kind, list(faults)
        self.pause_leader = pause_leader
        self.rng = random.Random(seed)
        self.stop_evt = stop_evt
        self.pause_s = pause_s
        self.interval = interval
        self.actions = []       # dicts, also written to the nemesis log
        self.error = None
        self.killed, self.paused, self.partitioned = set(), set(), False

    def note(self, **kw):
        kw["t"] = mono()
        self.actions.append(kw)
        log("nemesis: " + " ".join("%s=%s" % (k, v) for k, v in kw.items() if k != "t"))

    def sleep(self, s):
        """Sleep s seconds (a fault's duration is kept even when the run ends:
        the fault must be undone the ordinary way)."""
        time.sleep(s)

    def pick_member(self, leader_ok=True):
        """(member, is_leader): half the time the leader (if leader_ok)."""
        ids = member_ids(self.ens)
        try:
            lead = self.ens.leader()
        except Exception:
            lead = None
        if leader_ok and lead in ids and self.rng.random() < 0.5:
            return lead, True
        if not leader_ok and lead in ids:
            ids = [i for i in ids if i != lead]
        m = self.rng.choice(ids)
        return m, m == lead

    def do_kill(self):
        m, lead = self.pick_member()
        self.note(action="kill", member=m, leader=lead)
        self.killed.add(m)
        self.ens.kill(m, signal.SIGKILL)
        self.sleep(self.rng.uniform(1.0, 3.0))
        self.ens.restart(m)
        self.killed.discard(m)
        self.note(action="restart", member=m)

    def do_pause(self):
        m, lead = self.pick_member(leader_ok=self.pause_leader)
        d = self.pause_s * self.rng.uniform(1.2, 3.0)
        self.note(action="pause", member=m, leader=lead, seconds=round(d, 2))
        self.paused.add(m)
        self.ens.pause(m)
        self.sleep(d)
        self.ens.resume(m)
        self.paused.discard(m)
        self.note(action="resume", member=m)

    def do_partition(self):
        ids = member_ids(self.ens)
        try:
            lead = self.ens.leader()
        except Exception:
            lead = None
        size = self.rng.randint(1, max(1, (len(ids) - 1) // 2))
        if lead in ids and self.rng.random() < 0.5:
            # the leader cut off with a minority (or alone)
            others = [i for i in ids if i != lead]
            minority = sorted([lead] + self.rng.sample(others, size - 1))
        else:
            minority = sorted(self.rng.sample(ids, size))
        rest = sorted(set(ids) - set(minority))
        self.note(action="partition", groups=[minority, rest], leader=lead)
        self.partitioned = True
        self.ens.partition([minority, rest])
        self.sleep(self.rng.uniform(2.0, 4.0))
        self.ens.heal()
        self.partitioned = False
        self.note(action="heal")

    def run(self):
        try:
            self.sleep(self.rng.uniform(*self.interval))
            while not self.stop_evt.is_set():
                f = self.rng.choice(self.faults)
                getattr(self, "do_" + f)()
                if self.stop_evt.wait(self.rng.uniform(*self.interval)):
                    break
        except Exception as e:
            self.error = "%s: %s" % (type(e).__name__, e)
            log("nemesis failed: " + self.error)
        finally:
            self.undo_all()

    def undo_all(self):
        """Heal, resume and restart whatever is still broken."""
        for what, fn in (("heal", self._heal), ("resume", self._resume),
                         ("restart", self._restart)):
            try:
                fn()
            except Exception as e:
                msg = "undo %s failed: %s: %s" % (what, type(e).__name__, e)
                self.error = self.error or msg
                log("nemesis: " + msg)

    def _heal(self):
        if self.partitioned:
            self.ens.heal()
            self.partitioned = False
            self.note(action="heal", final=True)

    def _resume(self):
        for m in sorted(self.paused):
            self.ens.resume(m)
            self.paused.discard(m)
            self.note(action="resume", member=m, final=True)

    def _restart(self):
        for m in sorted(self.killed):
            self.ens.restart(m)
            self.killed.discard(m)
            self.note(action="restart", member=m, final=True)


# ---------------------------------------------------------------- checks ----

def run_lincheck(history_path, lincheck=None, timeout=600):
    """Run corvid_lincheck on a history file: (exit status, output)."""
    lincheck = lincheck or lincheck_path()
    if not os.access(lincheck, os.X_OK):
        raise HarnessError("corvid_lincheck not found at %s (set CORVID_LINCHECK)" % lincheck)
    p = subprocess.run([lincheck, "--init", "0", history_path], stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, timeout=timeout)
    return p.returncode, p.stdout.decode(errors="replace")


class JepsenResult:
    def __init__(self):
        self.kind = None
        self.history_path = None
        self.nemesis_path = None
        self.ops = 0
        self.counts = {}          # (kind, outcome) -> n
        self.sync_reads_ok = 0
        self.nemesis = []         # action dicts
        self.anomalies = []
        self.problems = []        # harness-level failures (no final read, crashes)
        self.lincheck_rc = None
        self.lincheck_out = ""
        self.seconds = 0.0

    @property
    def ok(self):
        return self.lincheck_rc == 0 and not self.anomalies and not self.problems

    @property
    def status(self):
        if self.ok:
            return 0
        if self.lincheck_rc == 1 or self.anomalies:
            return 1
        return 2

    def summary(self):
        lines = ["%s: %d ops in %.1f s; history %s" % (self.kind, self.ops, self.seconds,
                                                        self.history_path)]
        lines.append("  ops: " + ", ".join("%s %s %d" % (k, o, n) for (k, o), n
                                           in sorted(self.counts.items()))
                     + "; sync reads ok %d" % self.sync_reads_ok)
        acts = {}
        for a in self.nemesis:
            if a["action"] in ("kill", "pause", "partition"):
                acts[a["action"]] = acts.get(a["action"], 0) + 1
        lines.append("  nemesis: " + (", ".join("%s %d" % kv for kv in sorted(acts.items()))
                                      or "nothing"))
        for a in self.anomalies:
            lines.append("  ANOMALY: " + a)
        for p in self.problems:
            lines.append("  PROBLEM: " + p)
        lines.append("  corvid_lincheck exit %s:" % self.lincheck_rc)
        lines.extend("    " + ln for ln in self.lincheck_out.rstrip().splitlines())
        lines.append("  verdict: " + ("PASS" if self.ok else "FAIL"))
        return "\n".join(lines)


# ------------------------------------------------------------------- run ----

def default_faults(kind):
    return ["kill", "pause", "partition"] if kind == "corvid" else ["kill", "pause"]


def make_ensemble(kind, **kw):
    import ensemble
    return ensemble.Ensemble(kind, voters=3, **kw)


def ensemble_pause_seconds(ens, default=2.0):
    """syncLimit * tickTime of the ensemble, in seconds."""
    tick = None
    for a in ("tick_ms", "tick_time", "tickTime"):
        if getattr(ens, a, None):
            tick = float(getattr(ens, a))
            break
    limit = None
    for a in ("sync_limit", "syncLimit"):
        if getattr(ens, a, None):
            limit = float(getattr(ens, a))
            break
    if tick and limit:
        return tick * limit / 1000.0
    return default


def setup_registers(hosts, keys, timeout=30.0):
    zk = KazooClient(hosts=hosts, timeout=10.0)
    try:
        zk.start(timeout=timeout)
        zk.ensure_path(BASE)
        for k in range(keys):
            zk.create(key_path(k), b"0")
    finally:
        try:
            zk.stop()
            zk.close()
        except Exception:
            pass


def run_jepsen(kind="corvid", seconds=30, clients=6, keys=4, seed=None, history_path=None,
               faults=None, lincheck=None, ensemble_factory=None, think_ms=(0, 10),
               session_timeout=5.0, op_timeout=3.0, final_timeout=60.0,
               quiet_kazoo=True, pause_leader=None):
    """Start an ensemble, run the workload and the nemesis for `seconds`,
    heal, final reads, check. Returns a JepsenResult (never raises for a
    violation; raises HarnessError when it cannot run at all)."""
    if seed is None:
        seed = random.randrange(1 << 30)
    faults = list(faults) if faults is not None else default_faults(kind)
    if "partition" in faults and kind != "corvid":
        raise HarnessError("partitions need corvid (corvid.test.peerDropFile)")
    if history_path is None:
        fd, history_path = tempfile.mkstemp(prefix="jepsen-%s-" % kind, suffix=".jsonl")
        os.close(fd)
    if quiet_kazoo:
        # kazoo logs every dropped connection: thousands of lines under faults
        logging.getLogger("kazoo").setLevel(logging.ERROR)
    res = JepsenResult()
    res.kind = kind
    res.history_path = history_path
    res.nemesis_path = history_path + ".nemesis.jsonl"
    rng = random.Random(seed)
    log("kind=%s seconds=%s clients=%d keys=%d seed=%d faults=%s history=%s"
        % (kind, seconds, clients, keys, seed, ",".join(faults), history_path))

    history = History()
    stop_evt = threading.Event()
    values = itertools.count(1)
    ens = (ensemble_factory or make_ensemble)(kind)
    workers, nem = [], None
    t_start = time.monotonic()
    try:
        try:
            ens.start()
            ens.wait_leader()
        except RuntimeError as e:
            raise HarnessError("the %s ensemble did not start: %s" % (kind, e))
        ids = member_ids(ens)
        setup_registers(ens.all_hosts(), keys)
        for i in range(clients):
            m = ids[i % len(ids)]
            workers.append(Worker(i, m, ens.hosts(m), history, keys, rng.randrange(1 << 30),
                                  values, stop_evt, session_timeout=session_timeout,
                                  op_timeout=op_timeout, think_ms=think_ms))
        for w in workers:
            w.start_client()
        for w in workers:
            w.start()
        if faults:
            nem = Nemesis(ens, kind, faults, rng.randrange(1 << 30), stop_evt,
                          ensemble_pause_seconds(ens),
                          pause_leader=(kind == "corvid") if pause_leader is None
                          else pause_leader)
            nem.start()
        stop_evt.wait(seconds)
        stop_evt.set()
        log("stopping clients and nemesis")
        for w in workers:
            w.join(timeout=op_timeout * 3 + 5)
            if w.is_alive():
                res.problems.append("worker %d did not stop" % w.idx)
        if nem:
            nem.join(timeout=60)
            if nem.is_alive():
                res.problems.append("nemesis did not stop")
            if nem.error:
                res.problems.append("nemesis: " + nem.error)
            res.nemesis = nem.actions
        for w in workers:
            if w.error:
                res.problems.append("worker %d crashed: %s" % (w.idx, w.error))
        log("waiting for a leader, then final sync reads")
        ens.wait_leader()
        deadline = time.monotonic() + final_timeout
        for w in workers:
            missing = w.final_reads(deadline)
            if missing:
                res.problems.append("worker %d (member %s) got no final read of %s"
                                    % (w.idx, w.member,
                                       ", ".join(key_path(k) for k in missing)))
    finally:
        stop_evt.set()
        for w in workers:
            w.close()
        try:
            ens.stop()
        except Exception as e:
            log("ensemble stop failed: %s" % e)
    res.seconds = time.monotonic() - t_start

    res.ops = history.write(history_path)
    with open(res.nemesis_path, "w") as f:
        for a in res.nemesis:
            f.write(json.dumps(a) + "\n")
    res.anomalies = list(history.anomalies)
    for op in history.ops:
        k = (op["kind"], op["outcome"])
        res.counts[k] = res.counts.get(k, 0) + 1
        if op["kind"] == "read" and op["outcome"] == "ok" and op.get("sync"):
            res.sync_reads_ok += 1
    res.lincheck_rc, res.lincheck_out = run_lincheck(history_path, lincheck)
    return res


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--kind", choices=("corvid", "zookeeper"), default="corvid")
    ap.add_argument("--seconds", type=float, default=30)
    ap.add_argument("--clients", type=int, default=6)
    ap.add_argument("--keys", type=int, default=4)
    ap.add_argument("--seed", type=int, default=None)
    ap.add_argument("--history", default=None, help="history file (default: a temp file)")
    ap.add_argument("--faults", default=None,
                    help="comma-separated subset of kill,pause,partition ('' = none; "
                         "default: all the kind supports)")
    ap.add_argument("--lincheck", default=None, help="corvid_lincheck binary "
                    "(default $CORVID_LINCHECK or build/tests/sim/corvid_lincheck)")
    ap.add_argument("--pause-leader", choices=("auto", "yes", "no"), default="auto",
                    help="may the pause fault SIGSTOP the leader (auto: corvid yes, "
                         "zookeeper no: see PAUSING THE LEADER above)")
    ap.add_argument("--think-ms", type=float, default=10.0,
                    help="max random pause between a client's ops (ms)")
    args = ap.parse_args(argv)
    faults = None if args.faults is None else [f for f in args.faults.split(",") if f]
    try:
        res = run_jepsen(kind=args.kind, seconds=args.seconds, clients=args.clients,
                         keys=args.keys, seed=args.seed, history_path=args.history,
                         faults=faults, lincheck=args.lincheck,
                         think_ms=(0, args.think_ms),
                         pause_leader={"auto": None, "yes": True, "no": False}[args.pause_leader])
    except HarnessError as e:
        print("jepsen_cas: %s" % e, file=sys.stderr)
        return 2
    print(res.summary())
    return res.status


if __name__ == "__main__":
    sys.exit(main())
