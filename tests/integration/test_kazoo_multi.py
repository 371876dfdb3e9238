"""multi (transactions): per-op results on success, per-op errors on
failure (RolledBack before the failing op, RuntimeInconsistency after it),
atomicity (one zxid, nothing applied on failure)."""
from kazoo.exceptions import (BadVersionError, NodeExistsError, NoNodeError,
                              NotEmptyError, RolledBackError, RuntimeInconsistency)
from kazoo.protocol.states import ZnodeStat


def test_multi_success_results(zk, base):
    zk.create(base + "/old", b"o")
    t = zk.transaction()
    t.create(base + "/a", b"1")
    t.set_data(base + "/a", b"2")
    t.check(base + "/a", 1)
    t.create(base + "/s-", sequence=True)
    t.delete(base + "/old")
    t.create(base + "/e", ephemeral=True)
    res = t.commit()
    assert len(res) == 6
    assert res[0] == base + "/a"
    assert isinstance(res[1], ZnodeStat)
    assert res[1].version == 1 and res[1].dataLength == 1
    # every op of a multi has the same zxid
    assert res[1].czxid == res[1].mzxid
    assert res[2] is True
    assert res[3] == base + "/s-0000000002"       # parent had /old and /a created before
    assert res[4] is True
    assert res[5] == base + "/e"
    assert zk.get(base + "/a")[0] == b"2"
    assert zk.exists(base + "/old") is None
    assert zk.exists(base + "/e").ephemeralOwner == zk.client_id[0]
    st = [zk.exists(base + p) for p in ("/a", "/s-0000000002", "/e")]
    assert len(set(s.czxid for s in st)) == 1
    assert zk.exists(base).pzxid == st[0].czxid


def test_multi_failure_results_and_atomicity(zk, base):
    zk.create(base + "/x", b"x")
    before = zk.exists(base)
    t = zk.transaction()
    t.create(base + "/a", b"1")
    t.set_data(base + "/x", b"changed")
    t.check(base + "/x", 5)                 # fails: version is 0
    t.create(base + "/b")
    t.delete(base + "/x")
    res = t.commit()
    assert [type(r) for r in res] == [RolledBackError, RolledBackError, BadVersionError,
                                      RuntimeInconsistency, RuntimeInconsistency]
    assert zk.exists(base + "/a") is None
    assert zk.exists(base + "/b") is None
    assert zk.get(base + "/x") == (b"x", zk.exists(base + "/x"))
    assert zk.get(base + "/x")[1].version == 0
    assert zk.exists(base) == before          # parent untouched (cversion, pzxid)


def test_multi_failing_op_codes(zk, base):
    zk.create(base + "/full")
    zk.create(base + "/full/kid")
    cases = [
        (lambda t: t.create(base + "/full"), NodeExistsError),
        (lambda t: t.delete(base + "/missing"), NoNodeError),
        (lambda t: t.delete(base + "/full"), NotEmptyError),
        (lambda t: t.set_data(base + "/full", b"", version=3), BadVersionError),
        (lambda t: t.create(base + "/nope/child"), NoNodeError),
    ]
    for add, err in cases:
        t = zk.transaction()
        t.create(base + "/first")
        add(t)
        res = t.commit()
        assert [type(r) for r in res] == [RolledBackError, err], (err, res)
        assert zk.exists(base + "/first") is None


def test_multi_ops_see_earlier_ops(zk, base):
    t = zk.transaction()
    t.create(base + "/p")
    t.create(base + "/p/c")
    t.check(base + "/p/c", 0)
    t.delete(base + "/p/c")
    t.delete(base + "/p")
    t.create(base + "/p", b"again")
    res = t.commit()
    assert res == [base + "/p", base + "/p/c", True, True, True, base + "/p"]
    d, st = zk.get(base + "/p")
    assert d == b"again" and st.numChildren == 0


def test_empty_multi(zk):
    assert zk.transaction().commit() == []
