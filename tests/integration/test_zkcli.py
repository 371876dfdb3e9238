"""zkCli.sh (the Java CLI shipped with Debian's zookeeper package) against
the target: the commands in zkcli/session.txt are fed on stdin, stdout and
stderr are merged (they stay in order) and the output is matched, in order,
against EXPECTED below. Also one-shot mode (`zkCli.sh -server H cmd ...`)."""
import os
import re
import shutil
import subprocess

import pytest
from kazoo.security import ACL, Id, make_digest_acl_credential

HERE = os.path.dirname(os.path.abspath(__file__))
ZKCLI = "/usr/share/zookeeper/bin/zkCli.sh"
SESSION = os.path.join(HERE, "zkcli", "session.txt")


def stat_block(czxid=r"0x[0-9a-f]+", version=r"\d+", cversion=r"\d+", owner="0x0",
               datalen=r"\d+", kids=r"\d+"):
    return (r"cZxid = %s\nctime = .+\nmZxid = 0x[0-9a-f]+\nmtime = .+\npZxid = 0x[0-9a-f]+\n"
            r"cversion = %s\ndataVersion = %s\naclVersion = \d+\nephemeralOwner = %s\n"
            r"dataLength = %s\nnumChildren = %s\n" % (czxid, cversion, version, owner,
                                                      datalen, kids))


# (what, regex) in the order the output must contain them
EXPECTED = [
    ("connected", r"WatchedEvent state:SyncConnected type:None path:null\n"),
    ("create", r"Created /zkcli_it\n"),
    ("get", r"^hello\n"),
    ("get after set", r"^world\n"),
    ("get -s", stat_block(version="1", cversion="0", datalen="5", kids="0")),
    ("stat", stat_block(version="1", cversion="0", datalen="5", kids="0")),
    ("create child", r"Created /zkcli_it/a\n"),
    ("create -e", r"Created /zkcli_it/eph\n"),
    ("create -s", r"Created /zkcli_it/seq-0000000002\n"),
    ("ls", r"\[a, eph, seq-0000000002\]\n"),
    ("ls -s", r"\[a, eph, seq-0000000002\]\n" + stat_block(version="1", cversion="3",
                                                            datalen="5", kids="3")),
    ("set bad version", r"version No is not valid : /zkcli_it/a\n"),
    ("create existing", r"Node already exists: /zkcli_it\n"),
    ("delete non-empty", r"Node not empty: /zkcli_it\n"),
    ("get missing", r"Node does not exist: /zkcli_it/missing\n"),
    ("getAcl", r"'world,'anyone\n: cdrwa\n"),
    ("getAcl after setAcl", r"'world,'anyone\n: r\n"),
    ("set without permission", r"Insufficient permission : /zkcli_it/a\n"),
    ("create with auth acl", r"Created /zkcli_it/sec\n"),
    ("getAcl digest", r"'digest,'zkuser:kWl11SAlOFs3gHns9s9zmnBg\+GA=\n: cdrwa\n"),
    ("get with auth", r"^secret\n"),
    ("create digest acl", r"Created /zkcli_prot\n"),
    ("create ephemeral", r"Created /zkcli_eph\n"),
    ("sync", r"Sync is OK\n"),
    ("ls after delete", r"\[a, eph, sec\]\n"),
    ("stat after deleteall", r"Node does not exist: /zkcli_it\n"),
    ("ls /", r"\[zkcli_eph, zkcli_prot, zookeeper\]\n"),
    ("quit", r"WatchedEvent state:Closed type:None path:null\n"),
]


def run_zkcli(args, stdin=None, timeout=60):
    env = dict(os.environ)
    env.pop("JAVA_TOOL_OPTIONS", None)
    env.setdefault("JAVA_HOME", "/usr/lib/jvm/default-java")
    r = subprocess.run([ZKCLI] + args, stdin=stdin, stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, text=True, timeout=timeout, env=env,
                       cwd="/tmp")
    return r.returncode, r.stdout


@pytest.fixture(scope="module", autouse=True)
def have_zkcli():
    if not os.path.exists(ZKCLI) or not shutil.which("java"):
        pytest.skip("zkCli.sh / java not installed (Debian package zookeeper)")


def match_in_order(out, expected):
    pos = 0
    for what, rx in expected:
        m = re.compile(rx, re.M).search(out, pos)
        assert m, "zkCli output: %r not found after offset %d (%s)\n---- output ----\n%s" % (
            rx, pos, what, out)
        pos = m.end()


def test_zkcli_session(server, make_client):
    with open(SESSION) as f:
        rc, out = run_zkcli(["-server", server.hosts], stdin=f)
    match_in_order(out, EXPECTED)
    assert "Exception" not in out, out
    zk = make_client()
    # quitting closed the session: its ephemeral is gone at once
    assert zk.exists("/zkcli_eph") is None
    assert zk.exists("/zkcli_it") is None
    with pytest.raises(Exception):
        zk.get("/zkcli_prot")
    zk.add_auth("digest", "zkuser:zkpw")
    assert zk.get("/zkcli_prot")[0] == b"protected"
    acl, _ = zk.get_acls("/zkcli_prot")
    assert acl == [ACL(31, Id("digest", make_digest_acl_credential("zkuser", "zkpw")))]


def test_zkcli_one_shot(server, make_client):
    zk = make_client()
    zk.create("/zkcli_one", b"one-shot-data")
    zk.create("/zkcli_one/kid")
    rc, out = run_zkcli(["-server", server.hosts, "get", "/zkcli_one"])
    assert rc == 0 and re.search(r"^one-shot-data$", out, re.M), out
    rc, out = run_zkcli(["-server", server.hosts, "ls", "/zkcli_one"])
    assert rc == 0 and "[kid]\n" in out, out
    rc, out = run_zkcli(["-server", server.hosts, "get", "/zkcli_nothing_here"])
    assert "Node does not exist: /zkcli_nothing_here" in out, out
    zk.delete("/zkcli_one", recursive=True)
