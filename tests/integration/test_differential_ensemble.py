"""The differential test (differential.py, DIFFERENTIAL.md) against two
3-voter ensembles: Apache ZooKeeper (A) vs corvid (B), each started fresh per
seed through ensemble.py. The three sessions are spread over the members,
leader first (s0 -> the leader, s1 / s2 -> the followers in id order), so
both sides put the same role on a member of the same kind; see
DIFFERENTIAL.md, "Ensembles".

    CV_DIFF_SEEDS=1,2,3 CV_DIFF_ENS_OPS=800 \\
        /usr/bin/python3 -m pytest -q tests/integration/test_differential_ensemble.py
    # the harness against itself: ZooKeeper ensemble vs ZooKeeper ensemble
    CV_DIFF_ENS_B=zookeeper /usr/bin/python3 -m pytest -q tests/integration/test_differential_ensemble.py

Environment: CV_DIFF_SEEDS (default 1,2,3), CV_DIFF_ENS_OPS (default 800;
CV_DIFF_OPS is NOT read, so the single-server test's op count set by ctest
does not leak in), CV_DIFF_ENS_A / CV_DIFF_ENS_B (zookeeper / corvid).
"""
import os
import threading

import pytest

import differential as d
import ensemble

KIND_A = os.environ.get("CV_DIFF_ENS_A", "zookeeper")
KIND_B = os.environ.get("CV_DIFF_ENS_B", "corvid")
SEEDS = [int(s) for s in os.environ.get("CV_DIFF_SEEDS", "1,2,3").split(",") if s.strip()]
OPS = int(os.environ.get("CV_DIFF_ENS_OPS", "800"))
VOTERS = 3
TICK_MS = 500          # as zkserver.Server's default: session timeouts clamp to 1..10 s


def _need(kind):
    ok, what = d.target_available(kind)
    if not ok:
        pytest.skip("%s target unavailable: missing %s" % (kind, what))


def _ensemble(kind):
    return ensemble.Ensemble(
        kind, voters=VOTERS, tick_ms=TICK_MS, start_timeout=60,
        # the container/TTL reaper out of the run (DIFFERENTIAL.md)
        extra_cfg={"znode.container.checkIntervalMs": 86400000},
        jvm_props={"znode.container.checkIntervalMs": 86400000})


def _target(name, e):
    lead = e.wait_leader(timeout=30)
    order = [lead] + [i for i in e.members if i != lead]
    return d.Target(name, e.kind, None, endpoints=[e.hosts(i) for i in order],
                    watch=e.watch(), port_tokens=e.port_tokens())


def _start_both(ea, eb):
    errs = []

    def st(e):
        try:
            e.start()
        except Exception as ex:     # noqa: BLE001 (reported below)
            errs.append("%s ensemble: %s" % (e.kind, ex))
    ths = [threading.Thread(target=st, args=(e,)) for e in (ea, eb)]
    [t.start() for t in ths]
    [t.join(timeout=120) for t in ths]
    if errs:
        raise RuntimeError("\n".join(errs))


@pytest.mark.parametrize("seed", SEEDS)
def test_differential_ensemble(seed):
    _need(KIND_A)
    _need(KIND_B)
    ea, eb = _ensemble(KIND_A), _ensemble(KIND_B)
    try:
        _start_both(ea, eb)
        ta, tb = _target("A:%s-ensemble" % KIND_A, ea), _target("B:%s-ensemble" % KIND_B, eb)
        out = d.run_targets(seed, OPS, ta, tb)
        assert out.ok, "\n" + out.divergence
        assert out.ops_done == OPS
        assert not (ta.close_problems + tb.close_problems), ta.close_problems + tb.close_problems
        # every member still there, the leader unchanged by the run
        for e in (ea, eb):
            assert all(e.alive(i) for i in e.members), e.modes()
    finally:
        ea.stop()
        eb.stop()
