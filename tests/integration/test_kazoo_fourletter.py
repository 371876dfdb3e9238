"""Four-letter words through zkserver.four_letter: ruok, srvr, stat, mntr,
isro, conf, and (S1) that cons / wchc / wchp / wchs / dump agree about a
session and its watches, before and after it closes.

ZooKeeper quirk pinned here: wchs / wchc / wchp report only data and exists
watches (the server's dataWatches table); child watches are not listed."""
import re


from zkserver import four_letter


def mntr(port):
    out = {}
    for line in four_letter(port, "mntr").splitlines():
        if "\t" in line:
            k, v = line.split("\t", 1)
            out[k] = v
    return out


def test_ruok(server):
    assert four_letter(server.port, "ruok") == "imok"


def test_srvr_and_stat(server, zk):
    srvr = four_letter(server.port, "srvr")
    assert "Mode: standalone" in srvr
    assert re.search(r"^Zookeeper version: ", srvr, re.M)
    assert re.search(r"^Node count: \d+$", srvr, re.M)
    assert re.search(r"^Zxid: 0x[0-9a-f]+$", srvr, re.M)
    stat = four_letter(server.port, "stat")
    assert "Mode: standalone" in stat and "Clients:" in stat


def test_isro_and_conf(server):
    assert four_letter(server.port, "isro").strip() == "rw"
    conf = four_letter(server.port, "conf")
    for kv in ("clientPort=%d" % server.port, "tickTime=200",
               "minSessionTimeout=400", "maxSessionTimeout=10000"):
        assert kv in conf.splitlines(), (kv, conf)


def test_mntr_counts(server, zk, base):
    m0 = mntr(server.port)
    assert m0["zk_server_state"] == "standalone"
    for key in ("zk_znode_count", "zk_ephemerals_count", "zk_num_alive_connections",
                "zk_watch_count", "zk_outstanding_requests", "zk_approximate_data_size"):
        assert key in m0 and re.match(r"^-?\d+$", m0[key]), (key, m0.get(key))
    zk.create(base + "/one")
    zk.create(base + "/eph", ephemeral=True)
    m1 = mntr(server.port)
    assert int(m1["zk_znode_count"]) == int(m0["zk_znode_count"]) + 2
    assert int(m1["zk_ephemerals_count"]) == int(m0["zk_ephemerals_count"]) + 1
    assert int(m1["zk_num_alive_connections"]) >= 1
    zk.delete(base + "/one")
    zk.delete(base + "/eph")
    assert int(mntr(server.port)["zk_znode_count"]) == int(m0["zk_znode_count"])


def test_fresh_server_znode_count(make_server):
    """A fresh data tree: /, /zookeeper, /zookeeper/quota, /zookeeper/config
    ... ZooKeeper 3.8 reports 5 (its count includes the root twice: "" and
    "/" in DataTree.nodes)."""
    srv = make_server()
    assert mntr(srv.port)["zk_znode_count"] == "5"
    assert "Node count: 5" in four_letter(srv.port, "srvr")


def test_session_views_agree(server, make_client, base, target):
    c = make_client()
    sid = "0x%x" % c.client_id[0]
    c.create(base + "/eph", ephemeral=True)
    c.create(base + "/kids")
    c.get(base + "/eph", watch=lambda e: None)
    c.exists(base + "/absent", watch=lambda e: None)
    c.get_children(base + "/kids", watch=lambda e: None)
    cons = four_letter(server.port, "cons")
    assert "sid=%s" % sid in cons
    wchc = four_letter(server.port, "wchc")
    block = wchc.split(sid, 1)[1].split("\n0x", 1)[0]
    assert base + "/eph" in block and base + "/absent" in block
    if target == "zookeeper":
        assert base + "/kids" not in block        # ZooKeeper lists data watches only
    else:
        # corvid lists every watch kind so wchc/wchp/wchs agree with what a
        # session holds (S1; docs/core.md, deliberate differences).
        assert base + "/kids" in block
    wchp = four_letter(server.port, "wchp")
    for p in (base + "/eph", base + "/absent"):
        assert re.search(re.escape(p) + r"\n(\t0x[0-9a-f]+\n)*\t" + sid + r"\n", wchp), wchp
    wchs = four_letter(server.port, "wchs")
    m = re.search(r"(\d+) connections watching (\d+) paths\nTotal watches:(\d+)", wchs)
    assert m and int(m.group(1)) >= 1 and int(m.group(3)) >= 2, wchs
    dump = four_letter(server.port, "dump")
    assert re.search(re.escape(sid) + r":\n(\t.*\n)*\t" + re.escape(base + "/eph"), dump), dump
    c.stop()
    for cmd in ("cons", "wchc", "wchp", "dump"):
        out = four_letter(server.port, cmd)
        assert sid not in out, (cmd, out)
        assert base + "/eph" not in out and base + "/absent" not in out, (cmd, out)


def test_unknown_word_closes_connection(server):
    assert four_letter(server.port, "abcd") == ""
