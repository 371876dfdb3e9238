"""CRUD through kazoo: create/get/set/exists/delete, error codes, version
checks, ensure_path, recursive delete, get_children(include_data), sync,
chroot connection strings and the 1 MB data limit."""
import pytest
from kazoo.exceptions import (BadVersionError, ConnectionLoss, NodeExistsError,
                              NoNodeError, NotEmptyError, ZookeeperError)


def test_create_get_set_delete(zk, base):
    p = base + "/n"
    assert zk.create(p, b"hello") == p
    data, st = zk.get(p)
    assert data == b"hello" and st.version == 0 and st.dataLength == 5
    st2 = zk.set(p, b"world!")
    assert st2.version == 1 and st2.dataLength == 6
    assert zk.get(p)[0] == b"world!"
    assert zk.exists(p).version == 1
    zk.delete(p)
    assert zk.exists(p) is None
    with pytest.raises(NoNodeError):
        zk.get(p)


def test_empty_and_binary_data(zk, base):
    zk.create(base + "/empty")
    assert zk.get(base + "/empty")[0] == b""
    blob = bytes(range(256)) * 4
    zk.create(base + "/bin", blob)
    assert zk.get(base + "/bin")[0] == blob
    zk.set(base + "/bin", b"")
    d, st = zk.get(base + "/bin")
    assert d == b"" and st.dataLength == 0


def test_error_codes(zk, base):
    zk.create(base + "/a")
    with pytest.raises(NodeExistsError):
        zk.create(base + "/a")
    with pytest.raises(NoNodeError):
        zk.create(base + "/missing/child")
    with pytest.raises(NoNodeError):
        zk.set(base + "/missing", b"x")
    with pytest.raises(NoNodeError):
        zk.delete(base + "/missing")
    with pytest.raises(NoNodeError):
        zk.get_children(base + "/missing")
    zk.create(base + "/a/b")
    with pytest.raises(NotEmptyError):
        zk.delete(base + "/a")
    assert zk.exists(base + "/missing") is None


def test_version_checks(zk, base):
    p = base + "/v"
    zk.create(p, b"0")
    with pytest.raises(BadVersionError):
        zk.set(p, b"x", version=1)
    assert zk.set(p, b"1", version=0).version == 1
    assert zk.set(p, b"2", version=1).version == 2
    assert zk.set(p, b"3", version=-1).version == 3     # -1 matches any version
    with pytest.raises(BadVersionError):
        zk.delete(p, version=2)
    assert zk.get(p)[0] == b"3"
    zk.delete(p, version=3)
    assert zk.exists(p) is None


def test_ensure_path_and_makepath(zk, base):
    zk.ensure_path(base + "/x/y/z")
    assert zk.exists(base + "/x/y/z") is not None
    zk.ensure_path(base + "/x/y/z")          # idempotent
    zk.create(base + "/m/n/o", b"leaf", makepath=True)
    assert zk.get(base + "/m/n/o")[0] == b"leaf"
    assert zk.get(base + "/m/n")[0] == b""


def test_delete_recursive(zk, base):
    for p in ("/r/a/1", "/r/a/2", "/r/b", "/r/c/d/e"):
        zk.create(base + p, makepath=True)
    zk.delete(base + "/r", recursive=True)
    assert zk.exists(base + "/r") is None
    assert zk.get_children(base) == []


def test_get_children_and_include_data(zk, base):
    names = ["c%d" % i for i in range(5)]
    for i, n in enumerate(names):
        zk.create(base + "/" + n, b"x" * i)
    assert sorted(zk.get_children(base)) == names
    kids, st = zk.get_children(base, include_data=True)
    assert sorted(kids) == names
    assert st.numChildren == 5 and st.cversion == 5
    assert zk.get_children(base + "/c0") == []


def test_root_and_zookeeper_nodes(zk):
    assert zk.exists("/") is not None
    assert "zookeeper" in zk.get_children("/")
    assert "quota" in zk.get_children("/zookeeper")


def test_sync(zk, base):
    zk.create(base + "/s", b"1")
    assert zk.sync(base + "/s") == base + "/s"
    assert zk.sync("/") == "/"


def test_chroot_connection_string(server, zk, make_client, base):
    chroot = base + "/app"
    zk.create(chroot)
    c = make_client(hosts=server.hosts + chroot)
    assert c.create("/x", b"1") == "/x"                 # paths are relative
    assert zk.get(chroot + "/x")[0] == b"1"             # ...and live under chroot
    seq = c.create("/s-", sequence=True)
    assert seq.startswith("/s-") and len(seq) == len("/s-") + 10
    assert sorted(c.get_children("/")) == sorted(["x", seq[1:]])
    c.ensure_path("/deep/er")
    assert zk.exists(chroot + "/deep/er") is not None
    # watch event paths are relative too
    import queue
    q = queue.Queue()
    c.get("/x", watch=q.put)
    zk.set(chroot + "/x", b"2")
    ev = q.get(timeout=5)
    assert ev.path == "/x" and ev.type == "CHANGED"
    # multi results are relative
    t = c.transaction()
    t.create("/t1")
    t.create("/t-", sequence=True)
    res = t.commit()
    assert res[0] == "/t1" and res[1].startswith("/t-")
    assert zk.exists(chroot + "/t1") is not None
    c.delete("/x")
    assert zk.exists(chroot + "/x") is None


def test_large_data_near_limit(zk, base):
    """jute.maxbuffer defaults to 0xfffff (1048575) bytes per packet:
    1,000,000 bytes of data fits; 1.1 MB does not. ZooKeeper closes the
    connection on the oversized packet (kazoo reports ConnectionLoss); the
    client reconnects to the same session and nothing was created."""
    big = bytes(range(256)) * (1000000 // 256) + b"x" * (1000000 % 256)
    assert len(big) == 1000000
    zk.create(base + "/big", big)
    data, st = zk.get(base + "/big")
    assert data == big and st.dataLength == 1000000
    sid = zk.client_id[0]
    with pytest.raises((ConnectionLoss, ZookeeperError)) as ei:
        zk.create(base + "/toobig", b"y" * 1100000)
    assert isinstance(ei.value, ConnectionLoss), \
        "ZooKeeper drops the connection on a >jute.maxbuffer packet; got %r" % ei.value
    import time
    deadline = time.time() + 10
    while not zk.connected and time.time() < deadline:
        time.sleep(0.05)
    assert zk.connected
    assert zk.client_id[0] == sid          # same session after the reconnect
    assert zk.exists(base + "/toobig") is None
    assert zk.get(base + "/big")[1].dataLength == 1000000
