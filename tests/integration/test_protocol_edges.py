"""Edges of the wire protocol where ZooKeeper 3.8 (as Debian ships it) has a
specific answer that clients and tools can observe: unknown opcodes, SASL
without a SASL server, client-sent deleteContainer, unusual paths on reads,
multi result types, watch events filtered by READ permission, and watches
that belong to the connection. Each test runs against corvid and, with
CV_TARGET=zookeeper, against ZooKeeper itself (the oracle)."""
import struct
import time

import pytest
from kazoo.security import make_digest_acl

from conftest import RawZK

QUIET = 0.4          # how long "no event arrives" is waited for

MARSHALLINGERROR, UNIMPLEMENTED, BADARGUMENTS, NOWATCHER = -5, -6, -8, -121
OP_CHECK_WATCHES, OP_MULTI, OP_DELETE_CONTAINER, OP_SASL = 17, 14, 20, 102


def reply(r, op, body):
    """Send one request; return (zxid, err, body bytes) of its reply."""
    zxid, err, rd = r.exchange(op, body)
    return zxid, err, rd.d[rd.o:]


def test_unknown_opcode_is_unimplemented_and_closes_the_connection(raw):
    r = raw()
    r.connect(4000)
    assert reply(r, 77, b"") == (-1, UNIMPLEMENTED, b"")
    assert r.wait_closed(timeout=3.0)
    # Only the connection went: the session is still there.
    r2 = raw()
    resp = r2.connect(4000, session_id=r.session_id, passwd=r.passwd)
    assert resp["sessionId"] == r.session_id and resp["timeOut"] > 0
    assert r2.exists("/") is not None
    r2.close_session()


def test_sasl_without_a_sasl_server_answers_a_null_token(raw):
    r = raw()
    r.connect(4000)
    assert reply(r, OP_SASL, RawZK.buf(b"token")) == (0, 0, struct.pack(">i", -1))
    assert r.exists("/") is not None      # the connection stays usable
    r.close_session()


def test_client_sent_delete_container_is_refused_as_an_error_txn(raw, base):
    r = raw()
    r.connect(4000)
    r.create(base + "/box", b"", mode=r.CONTAINER)
    before = r.exists(base + "/box")["mzxid"]
    zxid, err, _ = reply(r, OP_DELETE_CONTAINER, RawZK.s(base + "/box"))
    assert err == BADARGUMENTS
    assert zxid == before + 1           # an ErrorTxn: it consumed a zxid
    assert r.exists(base + "/box") is not None
    r.close_session()


def test_reads_do_not_validate_paths(raw):
    r = raw()
    r.connect(4000)
    # "" names the root in ZooKeeper's DataTree.
    _, err, body = reply(r, r.OP_GETCHILDREN2, RawZK.s("") + b"\0")
    assert err == 0
    names = RawZK.Reader(body)
    assert "zookeeper" in [names.str() for _ in range(names.int())]
    # addWatch registers whatever path it is given; a null path or an unknown
    # mode fails inside the server (MARSHALLINGERROR).
    assert reply(r, r.OP_ADDWATCH, RawZK.s("") + struct.pack(">i", 0))[1] == 0
    assert reply(r, r.OP_ADDWATCH, RawZK.s("rel") + struct.pack(">i", 1))[1] == 0
    assert reply(r, r.OP_ADDWATCH, RawZK.s("/a") + struct.pack(">i", 2))[1] == MARSHALLINGERROR
    assert reply(r, r.OP_ADDWATCH, RawZK.s(None) + struct.pack(">i", 0))[1] == MARSHALLINGERROR
    assert reply(r, r.OP_GETDATA, RawZK.s(None) + b"\0")[1] == MARSHALLINGERROR
    assert reply(r, OP_CHECK_WATCHES, RawZK.s("/a") + struct.pack(">i", 0))[1] == MARSHALLINGERROR
    assert reply(r, r.OP_REMOVEWATCHES, RawZK.s("") + struct.pack(">i", 3))[1] == 0
    assert reply(r, r.OP_REMOVEWATCHES, RawZK.s("") + struct.pack(">i", 3))[1] == NOWATCHER
    r.close_session()


def test_multi_answers_create2_with_the_path_and_containers_with_a_stat(raw, base):
    r = raw()
    r.connect(4000)
    acl = RawZK.acl_vec(RawZK.OPEN_ACL_UNSAFE)

    def op(t, path, mode, extra=b""):
        return (struct.pack(">iBi", t, 0, -1) + RawZK.s(path) + RawZK.buf(b"")
                + acl + struct.pack(">i", mode) + extra)
    body = (op(r.OP_CREATE2, base + "/m1", 0) + op(r.OP_CREATE_CONTAINER, base + "/m2", 4)
            + op(r.OP_CREATE_TTL, base + "/m3", 5, struct.pack(">q", 60000))
            + op(1, base + "/m4", 0) + struct.pack(">iBi", -1, 1, -1))
    _, err, res = reply(r, OP_MULTI, body)
    assert err == 0
    rd = RawZK.Reader(res)
    types = []
    while True:
        t, done, e = rd.int(), rd.bool(), rd.int()
        if done:
            break
        assert e == 0
        types.append(t)
        assert rd.str().startswith(base + "/m")
        if t == r.OP_CREATE2:
            rd.stat()
    assert types == [1, 15, 15, 1]
    r.close_session()


def test_watch_events_go_only_to_sessions_that_may_read_the_node(make_client, base):
    alice = make_client(auth_data=[("digest", "alice:pw")])
    bob = make_client()
    got = {"alice": [], "bob": []}
    alice.exists(base + "/sec", watch=lambda ev: got["alice"].append(ev.type))
    bob.exists(base + "/sec", watch=lambda ev: got["bob"].append(ev.type))
    alice.create(base + "/sec", b"", acl=[make_digest_acl("alice", "pw", all=True)])
    deadline = time.time() + 5
    while not got["alice"] and time.time() < deadline:
        time.sleep(0.02)
    time.sleep(QUIET)
    assert got == {"alice": ["CREATED"], "bob": []}
    alice.delete(base + "/sec")


def test_a_dropped_connection_takes_its_watches_along(raw, zk, base):
    """Watches belong to the connection: a client that reconnects without
    SetWatches hears nothing; with SetWatches it hears what changed."""
    zk.create(base + "/w", b"0")
    r = raw()
    r.connect(4000)
    r.get(base + "/w", watch=True)
    r.add_watch(base + "/w", r.ADDWATCH_PERSISTENT)
    sid, pw = r.session_id, r.passwd
    r.drop()
    time.sleep(0.2)            # let the server see the connection go
    r2 = raw()
    r2.connect(4000, session_id=sid, passwd=pw)
    zk.set(base + "/w", b"1")
    assert r2.quiet(QUIET) == []
    # SetWatches with an older zxid: the data change is reported at once.
    r2.set_watches(r2.exists(base + "/w")["mzxid"] - 1, data=[base + "/w"])
    assert [e[0] for e in r2.wait_events(1)] == [r2.EV_CHANGED]
    r2.close_session()


def test_create_ttl_with_a_mode_that_is_not_ttl_is_bad_arguments(raw, target, base):
    if target == "zookeeper":
        pytest.skip("ZooKeeper 3.8 logs this request and then dies applying it")
    r = raw()
    r.connect(4000)
    with pytest.raises(RawZK.Error) as e:
        r.create(base + "/t", b"", mode=0, op=r.OP_CREATE_TTL, ttl=-1)
    assert e.value.code == BADARGUMENTS
    assert r.exists(base + "/t") is None
    r.close_session()
