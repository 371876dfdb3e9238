"""Every node type: persistent, ephemeral, sequential (%010d from the
parent's cversion), ephemeral+sequential, container and TTL.

kazoo 2.8 cannot create containers or TTL nodes, so those go through the
raw wire client (opcodes createContainer=19 and createTTL=21); the rest of
the checks use kazoo.

Containers and TTL nodes are reaped by a periodic check. In ZooKeeper the
period is the Java system property znode.container.checkIntervalMs (default
60 s; NOT a zoo.cfg key), so the module's server gets it via
JAVA_TOOL_OPTIONS for ZooKeeper and as the zoo.cfg key
znode.container.checkIntervalMs=500 for corvid (see conftest.start_server).
"""
import time

import pytest
from kazoo.exceptions import NoChildrenForEphemeralsError, NodeExistsError

CHECK_MS = 500


@pytest.fixture(scope="module")
def server(container_server):
    return container_server


def test_persistent_survives_session(make_client, base):
    c = make_client()
    c.create(base + "/p", b"keep")
    c.stop()
    c.close()
    other = make_client()
    assert other.get(base + "/p")[0] == b"keep"


def test_ephemeral_lifecycle(make_client, zk, base):
    c = make_client()
    _, st = c.create(base + "/e", b"tmp", ephemeral=True, include_data=True)
    assert st.ephemeralOwner == c.client_id[0]
    assert zk.exists(base + "/e").ephemeralOwner == c.client_id[0]
    with pytest.raises(NoChildrenForEphemeralsError):
        c.create(base + "/e/child")
    with pytest.raises(NoChildrenForEphemeralsError):
        zk.create(base + "/e/child2")
    c.stop()                        # closeSession: ephemerals go at once
    assert zk.exists(base + "/e") is None


def test_sequential_naming_from_parent_cversion(zk, base):
    """The %010d suffix is the parent's *persisted* cversion, which in
    ZooKeeper counts child creations only. The cversion a client sees in a
    Stat is 2 * creations - numChildren (DataNode.copyStat: every create has
    a delete except for the children still present), so after deletes the
    visible cversion runs ahead of the next sequence number."""
    p = base + "/q"
    zk.create(p)
    assert zk.create(p + "/s-", sequence=True) == p + "/s-0000000000"
    assert zk.create(p + "/s-", sequence=True) == p + "/s-0000000001"
    zk.create(p + "/plain")                      # creations: 3
    assert zk.exists(p).cversion == 3
    zk.delete(p + "/plain")                      # creations still 3, 2 children
    assert zk.exists(p).cversion == 4            # 2*3 - 2
    assert zk.create(p + "/other", sequence=True) == p + "/other0000000003"
    assert zk.exists(p).cversion == 5            # 2*4 - 3
    # a prefix ending in "/" gives a bare number as the name
    assert zk.create(p + "/", sequence=True) == p + "/0000000004"
    for n in ("a", "b", "c"):
        zk.create(p + "/" + n)
    for n in ("a", "b", "c"):
        zk.delete(p + "/" + n)
    st = zk.exists(p)                            # creations 8, children 4
    assert (st.cversion, st.numChildren) == (2 * 8 - 4, 4)
    assert zk.create(p + "/s-", sequence=True) == p + "/s-0000000008"
    # the counter is per parent
    zk.create(p + "/sub")
    assert zk.create(p + "/sub/x", sequence=True) == p + "/sub/x0000000000"
    kids = sorted(zk.get_children(p))
    assert kids == sorted(["s-0000000000", "s-0000000001", "other0000000003",
                           "0000000004", "s-0000000008", "sub"])


def test_sequential_name_taken_is_node_exists(zk, base):
    p = base + "/q"
    zk.create(p)
    zk.create(p + "/n0000000001")                  # creations -> 1
    with pytest.raises(NodeExistsError):           # wants n0000000001: taken
        zk.create(p + "/n", sequence=True)
    st = zk.exists(p)                              # a failed create changes nothing
    assert (st.cversion, st.numChildren) == (1, 1)
    zk.create(p + "/x")                            # creations -> 2
    assert zk.create(p + "/n", sequence=True) == p + "/n0000000002"


def test_sequential_in_multi(zk, base):
    p = base + "/q"
    zk.create(p)
    t = zk.transaction()
    t.create(p + "/m-", sequence=True)
    t.create(p + "/tmp")
    t.delete(p + "/tmp")
    t.create(p + "/m-", sequence=True)
    res = t.commit()
    assert res == [p + "/m-0000000000", p + "/tmp", True, p + "/m-0000000002"]
    assert zk.exists(p).cversion == 2 * 3 - 2


def test_ephemeral_sequential(make_client, zk, base):
    c = make_client()
    a = c.create(base + "/lock-", ephemeral=True, sequence=True)
    b = c.create(base + "/lock-", ephemeral=True, sequence=True)
    assert (a, b) == (base + "/lock-0000000000", base + "/lock-0000000001")
    assert zk.exists(a).ephemeralOwner == c.client_id[0]
    c.stop()
    assert zk.get_children(base) == []
    st = zk.exists(base)
    assert st.cversion == 4 and st.numChildren == 0      # 2 creates + 2 deletes
    # the sequence counter did not go back (and deletes do not advance it)
    assert zk.create(base + "/lock-", sequence=True) == base + "/lock-0000000002"


def test_container_created_and_reaped(raw, zk, base, wait):
    r = raw()
    R = type(r)
    r.connect(4000)
    path, st = r.create(base + "/cont", b"cdata", mode=R.CONTAINER)
    assert path == base + "/cont"
    # clients see ephemeralOwner 0 for containers (the server stores a marker)
    assert st["ephemeralOwner"] == 0 and st["version"] == 0 and st["dataLength"] == 5
    kst = zk.exists(base + "/cont")
    assert kst.ephemeralOwner == 0 and kst.czxid == st["czxid"]
    # a container that never had a child is left alone
    r.create(base + "/never", b"", mode=R.CONTAINER)
    # children can be created under a container; deleting the last one makes
    # the container a candidate for the reaper
    zk.create(base + "/cont/a")
    zk.create(base + "/cont/b")
    time.sleep(3 * CHECK_MS / 1000.0)
    assert zk.exists(base + "/cont") is not None        # has children: kept
    zk.delete(base + "/cont/a")
    zk.delete(base + "/cont/b")
    wait(lambda: zk.exists(base + "/cont") is None, timeout=10,
         msg="empty container to be deleted")
    assert zk.exists(base + "/never") is not None
    # a second create of the same container path is NodeExists
    with pytest.raises(R.Error) as ei:
        r.create(base + "/never", b"", mode=R.CONTAINER)
    assert ei.value.code == R.NODEEXISTS


def test_ttl_nodes(raw, zk, base, wait):
    r = raw()
    R = type(r)
    r.connect(4000)
    path, st = r.create(base + "/ttl", b"t", mode=R.PERSISTENT_WITH_TTL, ttl=500)
    assert path == base + "/ttl"
    assert st["ephemeralOwner"] == 0        # TTL is not visible in the Stat
    path2, _ = r.create(base + "/tts-", b"", mode=R.PERSISTENT_SEQUENTIAL_WITH_TTL, ttl=600)
    assert path2 == base + "/tts-0000000001"
    r.create(base + "/ttlkid", b"", mode=R.PERSISTENT_WITH_TTL, ttl=500)
    zk.create(base + "/ttlkid/child")
    r.create(base + "/ttllong", b"", mode=R.PERSISTENT_WITH_TTL, ttl=600000)
    # a TTL node with no children is deleted once it is older (by mtime) than its TTL
    wait(lambda: zk.exists(base + "/ttl") is None, timeout=10, msg="TTL node to expire")
    wait(lambda: zk.exists(path2) is None, timeout=10, msg="sequential TTL node to expire")
    # one with a child is kept, and so is one whose TTL has not passed
    assert zk.exists(base + "/ttlkid") is not None
    assert zk.exists(base + "/ttllong") is not None
    # bad TTLs / modes are refused with BadArguments
    for mode, ttl in ((R.PERSISTENT_WITH_TTL, 0), (R.PERSISTENT_WITH_TTL, -5),
                      (R.EPHEMERAL, 1000), (R.PERSISTENT, 1000)):
        with pytest.raises(R.Error) as ei:
            r.create(base + "/bad", b"", mode=mode, ttl=ttl, op=R.OP_CREATE_TTL)
        assert ei.value.code == R.BADARGUMENTS, (mode, ttl, ei.value.code)
    assert zk.exists(base + "/bad") is None
