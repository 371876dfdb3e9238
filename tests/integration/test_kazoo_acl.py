"""ACLs: world/digest/auth/ip schemes, add_auth, NoAuth for others, getACL
permission and digest masking, setACL versions, super user.

The module's server is started with a super digest (super:superpw)."""
import pytest
from kazoo.exceptions import BadVersionError, InvalidACLError, NoAuthError
from kazoo.security import (ACL, Id, OPEN_ACL_UNSAFE, READ_ACL_UNSAFE, Permissions,
                            make_acl, make_digest_acl, make_digest_acl_credential)

SUPER_PW = "superpw"


@pytest.fixture(scope="module")
def server(acl_server):
    return acl_server


def test_digest_acl_and_add_auth(make_client, zk, base):
    acl = make_digest_acl("user", "pw", all=True)
    zk.create(base + "/secret", b"s3cret", acl=[acl])
    other = make_client()
    with pytest.raises(NoAuthError):
        other.get(base + "/secret")
    with pytest.raises(NoAuthError):
        other.set(base + "/secret", b"x")
    with pytest.raises(NoAuthError):
        other.create(base + "/secret/child")
    with pytest.raises(NoAuthError):
        other.get_children(base + "/secret")
    # exists needs no permission
    assert other.exists(base + "/secret") is not None
    wrong = make_client(auth_data=[("digest", "user:wrong")])
    with pytest.raises(NoAuthError):
        wrong.get(base + "/secret")
    other.add_auth("digest", "user:pw")
    assert other.get(base + "/secret")[0] == b"s3cret"
    other.set(base + "/secret", b"new")
    other.create(base + "/secret/child")
    # delete permission is checked on the parent
    other.delete(base + "/secret/child")
    # a client authenticated at connect time
    c = make_client(auth_data=[("digest", "user:pw")])
    assert c.get(base + "/secret")[0] == b"new"


def test_get_acl_needs_read_or_admin_and_masks_digest(make_client, zk, base):
    zk.create(base + "/all", acl=[make_digest_acl("user", "pw", all=True)])
    zk.create(base + "/ro", acl=[make_digest_acl("user", "pw", read=True),
                                 make_digest_acl("admin", "pw", admin=True)])
    anon = make_client()
    with pytest.raises(NoAuthError):
        anon.get_acls(base + "/all")
    with pytest.raises(NoAuthError):
        anon.get_acls(base + "/ro")
    u = make_client(auth_data=[("digest", "user:pw")])
    # with ADMIN (all perms) the full digest is returned
    acl, st = u.get_acls(base + "/all")
    assert acl == [ACL(Permissions.ALL, Id("digest", make_digest_acl_credential("user", "pw")))]
    assert st.aversion == 0
    # with READ only, digest ids are masked to "user:x"
    acl, _ = u.get_acls(base + "/ro")
    assert acl == [ACL(Permissions.READ, Id("digest", "user:x")),
                   ACL(Permissions.ADMIN, Id("digest", "admin:x"))]
    a = make_client(auth_data=[("digest", "admin:pw")])
    acl, _ = a.get_acls(base + "/ro")
    assert acl[1].id.id == make_digest_acl_credential("admin", "pw")
    assert acl[0].id.id == make_digest_acl_credential("user", "pw")


def test_world_read_only(make_client, zk, base):
    zk.create(base + "/ro", b"r", acl=READ_ACL_UNSAFE)
    c = make_client()
    assert c.get(base + "/ro")[0] == b"r"
    with pytest.raises(NoAuthError):
        c.set(base + "/ro", b"w")
    with pytest.raises(NoAuthError):
        c.create(base + "/ro/kid")
    with pytest.raises(NoAuthError):
        c.set_acls(base + "/ro", OPEN_ACL_UNSAFE)
    assert c.get_acls(base + "/ro")[0] == READ_ACL_UNSAFE
    # delete needs DELETE on the parent, not on the node
    c.delete(base + "/ro")
    assert zk.exists(base + "/ro") is None


def test_auth_scheme_expands_to_digest(make_client, base):
    c = make_client(auth_data=[("digest", "alice:apw")])
    c.create(base + "/mine", b"m", acl=[make_acl("auth", "", all=True)])
    acl, _ = c.get_acls(base + "/mine")
    assert acl == [ACL(Permissions.ALL, Id("digest", make_digest_acl_credential("alice", "apw")))]
    anon = make_client()
    with pytest.raises(InvalidACLError):       # "auth" with no authenticated id
        anon.create(base + "/bad", acl=[make_acl("auth", "", all=True)])
    assert anon.exists(base + "/bad") is None


def test_invalid_acls(zk, base):
    with pytest.raises(InvalidACLError):
        zk.create(base + "/bad1", acl=[make_acl("digest", "no-colon-here", all=True)])
    with pytest.raises(InvalidACLError):
        zk.create(base + "/bad2", acl=[make_acl("nosuchscheme", "x", all=True)])
    with pytest.raises(InvalidACLError):
        zk.create(base + "/bad3", acl=[make_acl("ip", "not.an.ip", all=True)])


def test_ip_acl(make_client, zk, base):
    zk.create(base + "/lo", b"1", acl=[make_acl("ip", "127.0.0.1", all=True)])
    zk.create(base + "/net", b"2", acl=[make_acl("ip", "127.0.0.0/8", read=True)])
    zk.create(base + "/far", b"3", acl=[make_acl("ip", "10.1.2.3", all=True)])
    c = make_client()
    assert c.get(base + "/lo")[0] == b"1"
    assert c.get(base + "/net")[0] == b"2"
    with pytest.raises(NoAuthError):
        c.get(base + "/far")


def test_set_acl_versions(zk, base):
    zk.create(base + "/v")
    ra = [make_acl("world", "anyone", read=True, admin=True)]
    with pytest.raises(BadVersionError):
        zk.set_acls(base + "/v", ra, version=3)
    assert zk.set_acls(base + "/v", ra, version=0).aversion == 1
    assert zk.get_acls(base + "/v")[0] == ra
    assert zk.set_acls(base + "/v", OPEN_ACL_UNSAFE, version=-1).aversion == 2
    assert zk.get_acls(base + "/v")[0] == OPEN_ACL_UNSAFE


def test_super_user_bypasses_acls(make_client, zk, base):
    zk.create(base + "/locked", b"L", acl=[make_digest_acl("nobody", "x", read=True)])
    c = make_client()
    with pytest.raises(NoAuthError):
        c.get(base + "/locked")
    s = make_client(auth_data=[("digest", "super:" + SUPER_PW)])
    assert s.get(base + "/locked")[0] == b"L"
    s.set(base + "/locked", b"S")
    acl, _ = s.get_acls(base + "/locked")
    assert acl[0].id.id == make_digest_acl_credential("nobody", "x")   # not masked
    s.delete(base + "/locked")
