"""Every Stat field and how it moves: create, set, child create/delete,
setACL, ephemeral owner."""
import time

from kazoo.security import OPEN_ACL_UNSAFE, READ_ACL_UNSAFE


def test_stat_after_create(zk, base):
    before = int(time.time() * 1000)
    p = base + "/n"
    path, st = zk.create(p, b"abc", include_data=True)
    after = int(time.time() * 1000)
    assert path == p
    assert st.czxid == st.mzxid == st.pzxid
    assert st.czxid > 0
    assert st.ctime == st.mtime
    assert before - 5000 <= st.ctime <= after + 5000       # epoch milliseconds
    assert (st.version, st.cversion, st.aversion) == (0, 0, 0)
    assert st.ephemeralOwner == 0
    assert st.dataLength == 3 and st.numChildren == 0
    assert zk.exists(p) == st                              # same as a later read
    assert zk.last_zxid == st.czxid


def test_stat_after_set(zk, base):
    p = base + "/n"
    _, st0 = zk.create(p, b"abc", include_data=True)
    time.sleep(0.01)
    st1 = zk.set(p, b"abcdef")
    assert st1.czxid == st0.czxid and st1.ctime == st0.ctime
    assert st1.mzxid > st0.mzxid and st1.mzxid == zk.last_zxid
    assert st1.mtime >= st0.mtime
    assert st1.version == 1 and st1.dataLength == 6
    assert st1.pzxid == st0.pzxid and st1.cversion == 0 and st1.aversion == 0
    st2 = zk.set(p, b"abcdef")                 # same bytes still count as a write
    assert st2.version == 2 and st2.mzxid > st1.mzxid
    assert st2.czxid <= st2.mzxid


def test_stat_child_changes(zk, base):
    _, p0 = zk.create(base + "/p", include_data=True)
    _, c1 = zk.create(base + "/p/a", include_data=True)
    p1 = zk.exists(base + "/p")
    assert p1.pzxid == c1.czxid                # pzxid = zxid of last child change
    assert p1.cversion == 1 and p1.numChildren == 1
    assert p1.mzxid == p0.mzxid and p1.version == 0 and p1.mtime == p0.mtime
    _, c2 = zk.create(base + "/p/b", include_data=True)
    p2 = zk.exists(base + "/p")
    assert p2.pzxid == c2.czxid and p2.cversion == 2 and p2.numChildren == 2
    # changing a child's data is not a child change of the parent
    zk.set(base + "/p/a", b"zz")
    p3 = zk.exists(base + "/p")
    assert (p3.pzxid, p3.cversion, p3.mzxid) == (p2.pzxid, p2.cversion, p2.mzxid)
    zk.delete(base + "/p/a")
    del_zxid = zk.last_zxid
    p4 = zk.exists(base + "/p")
    assert p4.pzxid == del_zxid and p4.pzxid > p3.pzxid
    assert p4.cversion == 3 and p4.numChildren == 1
    assert p4.mzxid == p0.mzxid and p4.version == 0


def test_stat_acl_version(zk, base):
    p = base + "/a"
    _, st0 = zk.create(p, b"d", include_data=True)
    st1 = zk.set_acls(p, READ_ACL_UNSAFE + [OPEN_ACL_UNSAFE[0]._replace(perms=31)])
    assert st1.aversion == 1
    assert st1.version == 0 and st1.mzxid == st0.mzxid   # ACL change is not a data change
    acl, st2 = zk.get_acls(p)
    assert st2.aversion == 1
    zk.set_acls(p, OPEN_ACL_UNSAFE, version=1)
    assert zk.exists(p).aversion == 2


def test_stat_ephemeral_owner(zk, base):
    _, st = zk.create(base + "/e", ephemeral=True, include_data=True)
    assert st.ephemeralOwner == zk.client_id[0]
    assert st.ephemeralOwner != 0


def test_zxids_increase_with_every_write(zk, base):
    zxids = []
    zk.create(base + "/z")
    zxids.append(zk.last_zxid)
    for i in range(5):
        zk.set(base + "/z", b"%d" % i)
        zxids.append(zk.last_zxid)
    zk.create(base + "/z/c")
    zxids.append(zk.last_zxid)
    zk.delete(base + "/z/c")
    zxids.append(zk.last_zxid)
    assert zxids == sorted(set(zxids)), zxids
