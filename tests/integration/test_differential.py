"""pytest wrapper for the differential test (differential.py, DIFFERENTIAL.md).

    CV_DIFF_A=zookeeper CV_DIFF_B=corvid CV_DIFF_SEEDS=1,2,3 CV_DIFF_OPS=2000 \\
        /usr/bin/python3 -m pytest tests/integration/test_differential.py

One test per seed compares target A with target B. The fault-injection tests
prove the comparer notices what it must (they run ZooKeeper against itself
and corrupt what one side recorded), so a green A-vs-B run means something.
"""
import os

import pytest

import differential as d
from kazoo import exceptions as kexc
from kazoo.protocol.states import ZnodeStat

KIND_A = os.environ.get("CV_DIFF_A", "zookeeper")
KIND_B = os.environ.get("CV_DIFF_B", "corvid")
SEEDS = [int(s) for s in os.environ.get("CV_DIFF_SEEDS", "1,2,3").split(",") if s.strip()]
OPS = int(os.environ.get("CV_DIFF_OPS", "2000"))


def _need(kind):
    ok, what = d.target_available(kind)
    if not ok:
        pytest.skip("%s target unavailable: missing %s" % (kind, what))


@pytest.mark.parametrize("seed", SEEDS)
def test_differential(seed):
    _need(KIND_A)
    _need(KIND_B)
    out = d.run_seed(seed, OPS, KIND_A, KIND_B)
    assert out.ok, "\n" + out.divergence
    assert out.ops_done == OPS


# ------------------------------------------------------------ the comparer bites

class _Faulty(d.Run):
    """ZooKeeper vs ZooKeeper, with B's observations corrupted once, at the
    first op from `after` on where `fault` applies."""

    def __init__(self, fault, after=40):
        d.Run.__init__(self, 11, 400, "zookeeper", "zookeeper", 23196, 23197)
        self.fault, self.after, self.fired = fault, after, None

    def _record(self, t, op, res, replies, marks, old):
        if t is self.B and self.fired is None and self.cur >= self.after:
            self.marks = marks
            new = self.fault(self, t, op, res, replies)
            if new is not _SKIP:
                self.fired = self.cur
                res, replies = new
        return d.Run._record(self, t, op, res, replies, marks, old)


_SKIP = object()


def _stat_of(res):
    if isinstance(res, ZnodeStat):
        return res, lambda s: s
    if isinstance(res, tuple) and len(res) == 2 and isinstance(res[1], ZnodeStat):
        return res[1], lambda s: (res[0], s)
    return None, None


def _stat_fault(change):
    def fault(run, t, op, res, replies):
        st, wrap = _stat_of(res)
        if st is None or st.czxid <= 0 or st.czxid not in t.norm.times:
            return _SKIP
        return wrap(change(st)), replies
    return fault


FAULTS = {
    "version": _stat_fault(lambda s: s._replace(version=s.version + 1)),
    "numChildren": _stat_fault(lambda s: s._replace(numChildren=s.numChildren + 1)),
    "ctime": _stat_fault(lambda s: s._replace(ctime=s.ctime + 1)),
    "ephemeralOwner": _stat_fault(lambda s: s._replace(ephemeralOwner=12345)),
    "pzxid-order": _stat_fault(lambda s: s._replace(pzxid=s.czxid)
                               if s.pzxid != s.czxid else s._replace(pzxid=s.mzxid + 1)),
    "error-code": lambda run, t, op, res, replies: (
        (kexc.NoNodeError(), replies) if isinstance(res, kexc.NodeExistsError) else _SKIP),
    "data": lambda run, t, op, res, replies: (
        ((b"?", res[1]), replies) if op["op"] == "get" and isinstance(res, tuple) else _SKIP),
    "zxid-gap": lambda run, t, op, res, replies: (
        (res, [(a, z + 1, e) for a, z, e in replies])
        if op["op"] == "create" and replies and replies[-1][1] > 0 else _SKIP),
}


def _drop_event_fault(run, t, op, res, replies):
    for r, s in t.sessions.items():
        if len(s.events) > run.marks.get(r, (0, 0))[0] and op["op"] != "reopen":
            s.events.pop()
            return res, replies
    return _SKIP


FAULTS["lost-event"] = _drop_event_fault


@pytest.mark.parametrize("name", sorted(FAULTS))
def test_injected_fault_is_reported(name):
    _need("zookeeper")
    run = _Faulty(FAULTS[name])
    out = run.run()
    assert run.fired is not None, "fault %s never applied" % name
    assert not out.ok, "fault %s at op %d went unnoticed" % (name, run.fired)
    assert ("op#%d " % run.fired) in out.divergence.splitlines()[0], out.divergence
