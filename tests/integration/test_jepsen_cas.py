"""Jepsen-style register test against a real 3-member ensemble
(jepsen_cas.py), and a self-test of the checker it runs (corvid_lincheck).

  test_lincheck_*            corvid_lincheck on hand-made histories: a
                             linearizable one exits 0, a lost acknowledged
                             write / a stale sync read / a CAS that succeeded
                             on the wrong version exit 1, malformed input 2
  test_jepsen_cas            the workload + nemesis of jepsen_cas.py for
                             CV_JEPSEN_SECONDS (default 45) against the
                             CV_TARGET ensemble (corvid: kill -9, SIGSTOP,
                             partitions; zookeeper: kill -9, SIGSTOP); the
                             history must be linearizable, with nothing
                             anomalous. Then the recorded history is damaged
                             (a final read made to miss the last acknowledged
                             write) and the checker must notice.

corvid_lincheck: $CORVID_LINCHECK, default build/tests/sim/corvid_lincheck
(the test_lincheck_* tests are skipped when it is not built). A failing run
keeps its history (path in the failure message); a passing one removes it.
Knobs: CV_JEPSEN_SECONDS, CV_JEPSEN_CLIENTS (6), CV_JEPSEN_KEYS (4),
CV_JEPSEN_SEED (random, printed).
"""
import json
import os
import random
import subprocess

import pytest

import conftest
import jepsen_cas

TARGET = conftest.TARGET


def _env_int(name, default):
    v = os.environ.get(name, "").strip()
    return int(v) if v else default


@pytest.fixture
def lincheck():
    path = jepsen_cas.lincheck_path()
    if not os.access(path, os.X_OK):
        pytest.skip("corvid_lincheck not built at %s (set CORVID_LINCHECK)" % path)
    return path


def _check(lincheck, tmp_path, ops, name="h.jsonl", raw=None, init=None):
    p = tmp_path / name
    with open(p, "w") as f:
        if raw is not None:
            f.write(raw)
        for op in ops:
            f.write(json.dumps(op) + "\n")
    cmd = [lincheck] + (["--init", str(init)] if init is not None else []) + [str(p)]
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
    return r.returncode, r.stdout.decode(), r.stderr.decode()


def W(key, c, call, ret, v, ver=None, outcome="ok"):
    op = {"key": key, "client": c, "kind": "write", "outcome": outcome, "call": call,
          "ret": ret, "value": v}
    if ver is not None:
        op["version"] = ver
    return op


def C(key, c, call, ret, expect, v, outcome, ver=None):
    op = {"key": key, "client": c, "kind": "cas", "outcome": outcome, "call": call,
          "ret": ret, "value": v, "expect": expect}
    if ver is not None:
        op["version"] = ver
    return op


def R(key, c, call, ret, v, ver, sync=1, outcome="ok"):
    return {"key": key, "client": c, "kind": "read", "outcome": outcome, "call": call,
            "ret": ret, "value": v, "version": ver, "sync": sync}


# A linearizable two-register history: overlapping writes, a CAS that wins
# and one that loses (BADVERSION), an unknown write that did happen, plain
# reads that lag (allowed: sequential consistency), final sync reads.
GOOD = [
    W("r0", 1, 100, 200, 11, 1),
    R("r0", 2, 150, 250, 11, 1, sync=1),
    R("r0", 3, 160, 170, 0, 0, sync=0),            # plain, stale but allowed
    C("r0", 2, 300, 400, 1, 12, "ok", 2),
    C("r0", 3, 310, 410, 1, 13, "fail"),
    W("r0", 1, 420, 430, 14, 3),
    {"key": "r1", "client": 4, "kind": "write", "outcome": "unknown", "call": 50,
     "value": 21, "error": "ConnectionLoss"},
    W("r1", 5, 60, 90, 22, 1),
    R("r1", 5, 500, 510, 21, 2, sync=1),           # the unknown write came last
    R("r0", 5, 520, 530, 14, 3, sync=1),
    R("r0", 4, 520, 530, 14, 3, sync=0),
]


def test_lincheck_accepts_linearizable_history(lincheck, tmp_path):
    rc, out, err = _check(lincheck, tmp_path, GOOD)
    assert rc == 0, out + err
    assert "key r0: 8 ops, linearizable" in out, out
    assert "key r1: 3 ops, linearizable" in out, out


def test_lincheck_notices_lost_acknowledged_write(lincheck, tmp_path):
    # write 5 acknowledged (v1), then write 6 acknowledged (v2); the final
    # sync read sees 5: the acknowledged write of 6 is lost.
    ops = [W("r0", 1, 10, 20, 5, 1), W("r0", 2, 30, 40, 6, 2),
           R("r0", 3, 50, 60, 5, 1, sync=1), W("r1", 1, 10, 20, 7, 1),
           R("r1", 3, 50, 60, 7, 1, sync=1)]
    rc, out, err = _check(lincheck, tmp_path, ops)
    assert rc == 1, out + err
    assert "key r0: 3 ops, VIOLATION" in out, out
    assert "key r1: 2 ops, linearizable" in out, out
    assert "line 3:" in out, out     # the offending op, quoted from the input


def test_lincheck_notices_write_lost_to_initial_value(lincheck, tmp_path):
    ops = [W("x", 1, 10, 20, 5, 1), R("x", 2, 30, 40, 42, 0, sync=1)]
    rc, out, err = _check(lincheck, tmp_path, ops, init=42)
    assert rc == 1, out + err
    rc, out, err = _check(lincheck, tmp_path, [ops[0]], name="h2.jsonl", init=42)
    assert rc == 0, out + err


def test_lincheck_notices_stale_sync_read(lincheck, tmp_path):
    # the write finished before the sync read began; the read is stale
    ops = [W("r0", 1, 10, 20, 5, 1), R("r0", 2, 30, 40, 0, 0, sync=1)]
    rc, out, err = _check(lincheck, tmp_path, ops)
    assert rc == 1, out + err
    # the same read as a plain read is allowed (sequential consistency)...
    ops[1]["sync"] = 0
    rc, out, err = _check(lincheck, tmp_path, ops, name="h2.jsonl")
    assert rc == 0, out + err
    # ...but not for the client that wrote (read-your-writes)
    ops[1]["client"] = 1
    rc, out, err = _check(lincheck, tmp_path, ops, name="h3.jsonl")
    assert rc == 1, out + err


def test_lincheck_notices_cas_on_wrong_version(lincheck, tmp_path):
    # two CAS expecting version 1 both succeed
    ops = [W("r0", 1, 10, 20, 5, 1), C("r0", 2, 30, 40, 1, 6, "ok"),
           C("r0", 3, 50, 60, 1, 7, "ok")]
    rc, out, err = _check(lincheck, tmp_path, ops)
    assert rc == 1, out + err


def test_lincheck_rejects_malformed_input(lincheck, tmp_path):
    good = json.dumps(GOOD[0]) + "\n"
    for i, bad in enumerate([
            '{"key":"r0","client":1,"kind":"write","outcome":"ok","call":1,"ret":2}\n',
            '{"key":"r0","client":1,"kind":"write","outcome":"ok","call":1,"ret":2,"value":1.5}\n',
            '{"key":"r0","client":1,"kind":"frob","outcome":"ok","call":1,"ret":2,"value":1}\n',
            '{"key":"r0","client":1,"kind":"read","outcome":"ok","call":3,"ret":2,"value":1,'
            '"version":1}\n',
            '{"key":"r0",\n',
            'not json\n']):
        rc, out, err = _check(lincheck, tmp_path, [], name="m%d.jsonl" % i, raw=good + bad)
        assert rc == 2, (bad, out, err)
        assert ":2: malformed op" in err, (bad, err)


def _damage_final_read(history_path, out_path):
    """Copy the history with its last sync read of some register turned into
    a read of an older acknowledged write, although a newer acknowledged
    write returned before that read began: a lost acknowledged write. Returns
    False if no register has two acknowledged writes before a sync read."""
    ops = [json.loads(ln) for ln in open(history_path) if ln.strip()]
    by_key = {}
    for i, op in enumerate(ops):
        by_key.setdefault(op["key"], []).append(i)
    for key, idx in sorted(by_key.items()):
        reads = [i for i in idx if ops[i]["kind"] == "read" and ops[i]["outcome"] == "ok"
                 and ops[i].get("sync")]
        if not reads:
            continue
        final = ops[max(reads, key=lambda i: ops[i]["call"])]
        acked = sorted((ops[i] for i in idx if ops[i]["kind"] in ("write", "cas")
                        and ops[i]["outcome"] == "ok" and ops[i].get("version", -1) >= 1
                        and ops[i]["ret"] < final["call"]), key=lambda o: o["version"])
        if len(acked) < 2 or acked[0]["version"] == acked[-1]["version"]:
            continue
        older = [w for w in acked if w["version"] < acked[-1]["version"]][-1]
        final["value"], final["version"] = older["value"], older["version"]
        with open(out_path, "w") as f:
            for op in ops:
                f.write(json.dumps(op) + "\n")
        return True
    return False


def test_jepsen_cas(tmp_path):
    lc = jepsen_cas.lincheck_path()
    if not os.access(lc, os.X_OK):
        pytest.fail("corvid_lincheck not built at %s (set CORVID_LINCHECK)" % lc)
    seconds = _env_int("CV_JEPSEN_SECONDS", 45)
    seed = _env_int("CV_JEPSEN_SEED", random.randrange(1 << 30))
    hist = str(tmp_path / ("jepsen-%s-seed%d.jsonl" % (TARGET, seed)))
    keep = os.path.join(os.environ.get("TMPDIR", "/tmp"),
                        "jepsen-%s-seed%d.jsonl" % (TARGET, seed))
    try:
        res = jepsen_cas.run_jepsen(kind=TARGET, seconds=seconds,
                                    clients=_env_int("CV_JEPSEN_CLIENTS", 6),
                                    keys=_env_int("CV_JEPSEN_KEYS", 4), seed=seed,
                                    history_path=hist)
    except jepsen_cas.HarnessError as e:
        pytest.fail("jepsen_cas could not run (seed %d): %s" % (seed, e))
    print(res.summary())
    if not res.ok:
        # keep the evidence outside pytest's tmp_path
        import shutil
        shutil.copy(hist, keep)
        shutil.copy(res.nemesis_path, keep + ".nemesis.jsonl")
        pytest.fail("seed %d: history %s\n%s" % (seed, keep, res.summary()))
    assert res.ops > 100 * seconds / 10, res.summary()
    assert res.nemesis, "the nemesis did nothing:\n" + res.summary()
    assert res.counts.get(("write", "ok"), 0) and res.counts.get(("cas", "ok"), 0), \
        res.summary()

    # The same pipeline must notice a lost acknowledged write in this history.
    damaged = str(tmp_path / "damaged.jsonl")
    assert _damage_final_read(hist, damaged), "no register with two acknowledged writes"
    rc, out = jepsen_cas.run_lincheck(damaged, lc)
    assert rc == 1, "damaged history not rejected (exit %s):\n%s" % (rc, out)
