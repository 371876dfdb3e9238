"""The control plane of a running corvid ensemble, member by member: the admin
HTTP server (ZooKeeper 3.8's AdminServer API), the Prometheus endpoint and
corvidctl, against 3 voters + 1 observer on loopback (tests/integration/
ensemble.py), each member with admin.enableServer=true, its own
admin.serverPort and metricsProvider.httpPort.

What is pinned (each test's name says which):
- /commands/monitor of each role has exactly the member names, in the same
  order, of what ZooKeeper 3.8 answered for that role
  (tests/control/admin_golden/<role>/monitor.json; the per-learner and
  per-namespace names ZooKeeper adds are left out, as in test_admin.cc), and
  its stable values equal the member's `mntr` read back to back;
- leader, voting_view, zabstate, is_read_only and server_stats agree on who
  leads and have ZooKeeper's shape (member names and JSON types, golden of the
  same role);
- /metrics parses with prometheus_client, every family is typed, the
  ZooKeeper-named gauges equal mntr, corvid_info names the role;
- a whole-ensemble scrape after writes: the leader committed what it
  proposed, every learner's corvid_last_zxid is the leader's after a sync;
- corvidctl status / check-data over all members, and status after a
  follower is killed with SIGKILL (last: it changes the ensemble);
- the same admin reads against a live Apache ZooKeeper 3.8 ensemble of the
  same shape (AdminServer on through ensemble.ADMIN_JARS): its names per role
  are corvid's (skipped without java or the jars).

The ensemble is started once for the module (tests run in file order) and
kept quiet between reads: the only clients are the three this module opens
(one on the leader, a follower and the observer, as admin_golden/README.md
describes), whose pings change no stable figure. Every test runs under a
SIGALRM limit (conftest.time_limit); every HTTP request and child process has
its own timeout.
"""
import json
import os
import re
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
if HERE not in sys.path:
    sys.path.insert(0, HERE)

import conftest  # noqa: E402
from ensemble import Ensemble, free_ports  # noqa: E402

GOLDEN = os.path.join(HERE, "..", "control", "admin_golden")
CORVIDCTL = os.environ.get("CORVIDCTL") or os.path.join(
    os.path.dirname(conftest.zkserver.CORVID_BIN), "corvidctl")
HTTP_TIMEOUT = 5.0
TEST_LIMIT = 45            # seconds per test (SIGALRM)
START_LIMIT = 60           # the module's ensemble start-up

# monitor/mntr keys whose value does not move on a quiet ensemble
STABLE = ("server_state", "znode_count", "ephemerals_count", "watch_count", "global_sessions",
          "approximate_data_size", "quorum_size")
STABLE_LEADER = ("synced_followers", "synced_observers", "synced_non_voting_followers",
                 "learners")
# /metrics gauges (ZooKeeper's names) that must equal mntr
METRIC_VS_MNTR = ("znode_count", "global_sessions", "watch_count", "quorum_size",
                  "num_alive_connections", "ephemerals_count", "approximate_data_size")

try:
    from prometheus_client.parser import text_string_to_metric_families
except ImportError:  # pragma: no cover - Debian's python3-prometheus-client
    text_string_to_metric_families = None


# ---------------------------------------------------------------- helpers ----

def http_get(port, path, method="GET"):
    """(status, headers, body text) of one request to 127.0.0.1:port."""
    req = urllib.request.Request("http://127.0.0.1:%d%s" % (port, path), method=method)
    try:
        with urllib.request.urlopen(req, timeout=HTTP_TIMEOUT) as r:
            return r.status, r.headers, r.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as err:
        return err.code, err.headers, err.read().decode("utf-8", "replace")


def golden(role, command):
    with open(os.path.join(GOLDEN, role, command + ".json")) as f:
        return json.load(f)


def mntr_dynamic(key):
    """Names ZooKeeper adds per top-level znode (*_per_namespace) and per
    learner on a leader (<stat>_<sid>_learner_handler_qp_*): not in corvid's
    monitor (tests/control/test_admin.cc leaves them out the same way)."""
    if key.endswith("_per_namespace"):
        return True
    return re.match(r"^[a-z0-9]+_\d+_learner_handler_qp_", key) is not None


def shape_diffs(g, o, path=""):
    """Differences in member names and JSON types between golden g and ours
    o (lists: their first elements; dicts keyed by server id are compared
    by their values' shape, the keys themselves by the caller)."""
    def kind(v):
        if v is None:
            return "null"
        if isinstance(v, bool):
            return "bool"
        if isinstance(v, int):
            return "int"
        if isinstance(v, float):
            return "float"
        return type(v).__name__
    out = []
    if kind(g) != kind(o):
        # ZooKeeper prints a Java double as 0.0; json gives an int only for
        # integral literals, so int vs float is a real difference too.
        return ["%s: golden %s, ours %s" % (path or ".", kind(g), kind(o))]
    if isinstance(g, dict):
        for k in g:
            if k not in o:
                out.append("%s.%s: missing" % (path, k))
            else:
                out += shape_diffs(g[k], o[k], "%s.%s" % (path, k))
        out += ["%s.%s: not in golden" % (path, k) for k in o if k not in g]
    elif isinstance(g, list) and g and o:
        out += shape_diffs(g[0], o[0], path + "[0]")
    return out


class Cluster(object):
    """The module's ensemble plus the admin/metrics port of each member."""

    def __init__(self, e, admin, metrics):
        self.e, self.admin, self.metrics = e, admin, metrics
        self.clients = []

    def roles(self):
        return dict((i, self.e.mode(i)) for i in self.e.members)

    def cmd(self, sid, command):
        status, headers, body = http_get(self.admin[sid], "/commands/" + command)
        assert status == 200, "member %d /commands/%s: HTTP %d %s" % (sid, command, status, body[:300])
        assert headers.get("Content-Type", "").startswith("application/json"), \
            "member %d /commands/%s: Content-Type %r" % (sid, command, headers.get("Content-Type"))
        doc = json.loads(body)
        assert doc.get("command") == command and doc.get("error") is None, \
            "member %d /commands/%s: %s" % (sid, command, body[:300])
        return doc

    def mntr(self, sid):
        out = {}
        for line in self.e.four_letter(sid, "mntr").splitlines():
            k, sep, v = line.partition("\t")
            if sep and k.startswith("zk_"):
                out[k[3:]] = v
        assert out, "member %d: empty mntr" % sid
        return out

    def scrape(self, sid):
        """{sample name: {frozenset(labels.items()): value}}, families,
        raw text of member sid's /metrics."""
        status, headers, body = http_get(self.metrics[sid], "/metrics")
        assert status == 200, "member %d /metrics: HTTP %d" % (sid, status)
        ctype = headers.get("Content-Type", "")
        assert ctype.startswith("text/plain") and "version=0.0.4" in ctype, ctype
        fams = list(text_string_to_metric_families(body))
        samples = {}
        for fam in fams:
            for s in fam.samples:
                samples.setdefault(s.name, {})[frozenset(s.labels.items())] = s.value
        return samples, fams, body

    def ctl(self, *args, hosts=None, timeout=30):
        hosts = hosts if hosts is not None else self.e.members
        argv = [CORVIDCTL, "--timeout", "2"]
        for i in hosts:
            argv += ["--host", "127.0.0.1:%d" % self.admin[i]]
        return subprocess.run(argv + list(args), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              universal_newlines=True, timeout=timeout)


def _value(samples, name, labels=()):
    # prometheus_client's parser names a counter's sample <name>_total even
    # when the exposition says <name> (ZooKeeper's counters have no _total)
    got = samples.get(name) or samples.get(name + "_total", {})
    key = frozenset(labels)
    assert key in got, "no sample %s%s (have %s)" % (name, dict(labels), sorted(got)[:4])
    return got[key]


def _mntr_text(v):
    """A monitor JSON value as mntr prints it (ints and strings only here)."""
    if isinstance(v, bool):
        return "true" if v else "false"
    return str(v)


@pytest.fixture(scope="module")
def cluster():
    conftest._skip_if_no_corvid()
    if text_string_to_metric_families is None:
        pytest.skip("prometheus_client is not installed (python3-prometheus-client)")
    if not os.path.exists(CORVIDCTL):
        pytest.skip("corvidctl %s does not exist (build it, or set CORVIDCTL)" % CORVIDCTL)
    ports = free_ports(8)
    admin = dict((i, ports[2 * (i - 1)]) for i in range(1, 5))
    metrics = dict((i, ports[2 * (i - 1) + 1]) for i in range(1, 5))
    member_cfg = dict((i, {"admin.enableServer": "true", "admin.serverAddress": "127.0.0.1",
                           "admin.serverPort": admin[i], "metricsProvider.httpHost": "127.0.0.1",
                           "metricsProvider.httpPort": metrics[i]}) for i in range(1, 5))
    e = Ensemble("corvid", voters=3, observers=1, member_cfg=member_cfg,
                 start_timeout=START_LIMIT - 15)
    with conftest.time_limit(START_LIMIT, "ensemble start-up"):
        e.start()
    c = Cluster(e, admin, metrics)
    try:
        with conftest.time_limit(START_LIMIT, "ensemble set-up"):
            roles = c.roles()
            lid = [i for i in roles if roles[i] == "leader"][0]
            fid = [i for i in roles if roles[i] == "follower"][0]
            oid = [i for i in roles if roles[i] == "observer"][0]
            # As the golden was recorded: a client on the leader, one on a
            # follower, one on the observer, each with an ephemeral and watches.
            c.clients = _client_actions(e, (lid, fid, oid))
            time.sleep(0.5)
        yield c
    finally:
        for zk in c.clients:
            try:
                zk.stop()
                zk.close()
            except Exception:  # noqa: BLE001 - best effort at teardown
                pass
        e.stop()


def _quiet_read(read_pair, agree, tries=5):
    """read_pair() -> (a, b) read back to back; retry (a stray ping or a
    1 ms publishing delay) until agree(a, b) gives no differences."""
    diffs = None
    for _ in range(tries):
        a, b = read_pair()
        diffs = agree(a, b)
        if not diffs:
            return a, b
        time.sleep(0.2)
    raise AssertionError("\n".join(diffs))


# ------------------------------------------------------------------ tests ----

def test_monitor_has_zookeepers_names_per_role_and_equals_mntr(cluster):
    with conftest.time_limit(TEST_LIMIT, "monitor vs golden and mntr"):
        roles = cluster.roles()
        assert sorted(roles.values()) == ["follower", "follower", "leader", "observer"], roles
        for sid, role in sorted(roles.items()):
            want = [k for k in golden(role, "monitor") if not mntr_dynamic(k)]

            def pair(sid=sid):
                return cluster.cmd(sid, "monitor"), cluster.mntr(sid)

            def agree(mon, mn, sid=sid, role=role):
                keys = STABLE + (STABLE_LEADER if role == "leader" else ())
                return ["member %d (%s) %s: monitor %r, mntr %r" % (sid, role, k, mon.get(k), mn.get(k))
                        for k in keys if _mntr_text(mon.get(k)) != mn.get(k)]

            mon, mn = _quiet_read(pair, agree)
            got = list(mon)
            assert set(got) == set(want), "member %d (%s): missing %s, not in ZooKeeper's %s" % (
                sid, role, sorted(set(want) - set(got)), sorted(set(got) - set(want)))
            assert got == want, "member %d (%s): same names, another order" % (sid, role)
            assert mon["server_state"] == role
            # mntr: the monitor names (less command/error) in the same order,
            # then corvid's extra block (cv_server_mntr_extra: ZooKeeper
            # 3.5's fsync_threshold_exceed_count and the corvid_* lines), which
            # monitor leaves out to keep ZooKeeper's shape
            base = [k for k in got if k not in ("command", "error")]
            keys = list(mn)
            assert keys[:len(base)] == base, sid
            extra = [k for k in keys[len(base):]
                     if not k.startswith("corvid_") and k != "fsync_threshold_exceed_count"]
            assert extra == [], (sid, extra)
        # what the three clients made: the same on every member
        for sid in roles:
            mon = cluster.cmd(sid, "monitor")
            assert mon["ephemerals_count"] == 3, (sid, mon["ephemerals_count"])


def test_leader_voting_view_zabstate_read_only_and_server_stats_agree_on_roles(cluster):
    with conftest.time_limit(TEST_LIMIT, "leader/voting_view/zabstate/server_stats"):
        e = cluster.e
        roles = cluster.roles()
        lid = [i for i in roles if roles[i] == "leader"][0]
        zxids = set()
        for sid, role in sorted(roles.items()):
            m = e.member(sid)
            # leader
            ld = cluster.cmd(sid, "leader")
            assert shape_diffs(golden(role, "leader"), ld) == [], (sid, ld)
            assert ld["leader_id"] == lid and ld["leader_ip"] == "127.0.0.1", (sid, ld)
            assert ld["is_leader"] is (sid == lid), (sid, ld)
            # voting_view: the 3 voters (ZooKeeper leaves the observer out)
            vv = cluster.cmd(sid, "voting_view")
            g = golden(role, "voting_view")
            assert sorted(vv) == sorted(g), (sid, sorted(vv))
            cfg = vv["current_config"]
            assert sorted(cfg) == ["1", "2", "3"], (sid, sorted(cfg))
            for v in sorted(cfg):
                assert shape_diffs(g["current_config"]["1"], cfg[v]) == [], (sid, v, cfg[v])
                vm = e.member(int(v))
                assert cfg[v] == {
                    "server_addresses": ["127.0.0.1:%d" % vm.quorum_port],
                    "election_addresses": ["127.0.0.1:%d" % vm.election_port],
                    "client_address": "127.0.0.1:%d" % vm.client_port,
                    "learner_type": "participant"}, (sid, v, cfg[v])
            # zabstate
            zs = cluster.cmd(sid, "zabstate")
            assert shape_diffs(golden(role, "zabstate"), zs) == [], (sid, zs)
            assert zs["myid"] == sid and zs["is_leader"] is (sid == lid), (sid, zs)
            assert zs["voting"] is (role != "observer"), (sid, zs)
            assert zs["zabstate"] == "broadcast", (sid, zs)
            assert zs["quorum_address"]["one"] == "127.0.0.1:%d" % m.quorum_port, (sid, zs)
            assert zs["election_address"]["one"] == "127.0.0.1:%d" % m.election_port, (sid, zs)
            assert zs["client_address"] == "127.0.0.1:%d" % m.client_port, (sid, zs)
            z = int(zs["last_zxid"], 16)
            assert (zs["zab_epoch"], zs["zab_counter"]) == (z >> 32, z & 0xffffffff), (sid, zs)
            zxids.add(zs["last_zxid"])
            # is_read_only
            ro = cluster.cmd(sid, "is_read_only")
            assert ro["read_only"] is False, (sid, ro)
            assert shape_diffs(golden(role, "is_read_only"), ro) == [], (sid, ro)
            # server_stats
            st = cluster.cmd(sid, "server_stats")
            assert shape_diffs(golden(role, "server_stats"), st) == [], (sid, st)
            assert st["server_stats"]["server_state"] == role, (sid, st["server_stats"])
            assert st["read_only"] is False
            assert "%x" % st["server_stats"]["last_processed_zxid"] == zs["last_zxid"][2:], (sid, st)
        assert len(zxids) == 1, "quiet ensemble, synced clients, members at %s" % sorted(zxids)


def test_metrics_parse_every_family_typed_and_gauges_equal_mntr(cluster):
    with conftest.time_limit(TEST_LIMIT, "/metrics vs mntr"):
        roles = cluster.roles()
        for sid, role in sorted(roles.items()):
            def pair(sid=sid):
                return cluster.scrape(sid), cluster.mntr(sid)

            def agree(scr, mn, sid=sid):
                samples = scr[0]
                return ["member %d %s: /metrics %r, mntr %r" % (sid, k, samples.get(k), mn.get(k))
                        for k in METRIC_VS_MNTR
                        if "%d" % (samples.get(k) or {}).get(frozenset(), -12345) != mn.get(k)]

            (samples, fams, body), mn = _quiet_read(pair, agree)
            typed = set(re.findall(r"^# TYPE (\S+) (\S+)$", body, re.M))
            untyped = [f.name for f in fams if f.type == "unknown"]
            assert untyped == [], "member %d: families without # TYPE: %s" % (sid, untyped)
            assert len(typed) == len(fams), (sid, len(typed), len(fams))
            names = [f.name for f in fams]
            assert len(names) == len(set(names)), "member %d: a family twice" % sid
            info = samples.get("corvid_info", {})
            assert len(info) == 1, (sid, info)
            labels = dict(next(iter(info)))
            assert labels.get("server_state") == role, (sid, labels)
            assert labels.get("server_id") == str(sid), (sid, labels)
            assert next(iter(info.values())) == 1.0
            # the three histograms, with the +Inf bucket equal to _count
            for h in ("corvid_request_latency_seconds", "corvid_log_write_seconds",
                      "corvid_commit_latency_seconds"):
                assert ("# TYPE %s histogram" % h) in body, (sid, h)
                inf = [v for k, v in samples.get(h + "_bucket", {}).items() if ("le", "+Inf") in k]
                cnt = list(samples.get(h + "_count", {}).values())
                assert inf and cnt and sum(inf) == sum(cnt), (sid, h, inf, cnt)


def _writes(cluster, n, tag):
    zk = cluster.clients[1]          # the follower's client: forwarded writes
    zk.ensure_path("/w")
    for k in range(n):
        zk.create("/w/%s-%03d" % (tag, k), b"v" * 32)
    zk.set("/w", b"done-" + tag.encode())
    for c in cluster.clients:
        c.sync("/w")


def test_scrape_after_writes_leader_commits_what_it_proposed_and_learners_reach_its_zxid(cluster):
    with conftest.time_limit(TEST_LIMIT, "whole-ensemble scrape"):
        roles = cluster.roles()
        lid = [i for i in roles if roles[i] == "leader"][0]
        before = cluster.scrape(lid)[0]
        n = 40
        _writes(cluster, n, "scrape")
        # a sync through a client on each member (the second follower has
        # none of the module's clients), so every learner has the writes
        from kazoo.client import KazooClient
        for sid in roles:
            zk = KazooClient(cluster.e.hosts(sid), timeout=10.0)
            zk.start(timeout=15)
            try:
                zk.sync("/w")
            finally:
                zk.stop()
                zk.close()
        deadline = time.time() + 10
        while True:
            scr = dict((sid, cluster.scrape(sid)[0]) for sid in sorted(roles))
            lead = scr[lid]
            commits, proposals = _value(lead, "commit_count"), _value(lead, "proposal_count")
            lz = _value(lead, "corvid_last_zxid")
            lag = dict((sid, _value(scr[sid], "corvid_last_zxid")) for sid in roles
                       if _value(scr[sid], "corvid_last_zxid") != lz)
            if (commits == proposals and not lag) or time.time() > deadline:
                break
            time.sleep(0.1)
        assert commits == proposals, "leader %d: commit_count %s, proposal_count %s" % (
            lid, commits, proposals)
        assert proposals - _value(before, "proposal_count") >= n + 1, (before, proposals)
        assert not lag, "leader %d at zxid %#x; learners %s" % (
            lid, int(lz), dict((k, "%#x" % int(v)) for k, v in lag.items()))
        zs = cluster.cmd(lid, "zabstate")
        assert int(zs["last_zxid"], 16) == int(lz), (zs["last_zxid"], lz)
        # the figures only the leader reports
        assert _value(lead, "synced_followers") == 2 and _value(lead, "synced_observers") == 1
        for sid in roles:
            assert _value(scr[sid], "quorum_size") == 3, sid
            assert _value(scr[sid], "corvid_leader_id") == lid, sid


def test_corvidctl_status_and_check_data_across_all_members(cluster):
    with conftest.time_limit(TEST_LIMIT, "corvidctl status / check-data"):
        roles = cluster.roles()
        r = cluster.ctl("status")
        assert r.returncode == 0, (r.returncode, r.stdout, r.stderr)
        lines = [l for l in r.stdout.splitlines() if l.strip()]
        assert lines[0].split()[:2] == ["MEMBER", "MODE"], r.stdout
        rows = dict((l.split()[0], l.split()[1]) for l in lines[1:])
        assert sorted(rows) == sorted("127.0.0.1:%d" % cluster.admin[i] for i in roles), r.stdout
        assert list(rows.values()).count("leader") == 1, r.stdout
        for sid, role in roles.items():
            assert rows["127.0.0.1:%d" % cluster.admin[sid]] == role, (sid, r.stdout)
        # check-data after writes and a sync on each member
        _writes(cluster, 10, "check")
        r = cluster.ctl("check-data")
        out = r.stdout
        assert "DISAGREE" not in out, "digests disagree at one zxid:\n" + out
        assert r.returncode == 0, (r.returncode, out, r.stderr)
        assert len(re.findall(r": data check ok at zxid ", out)) == 4, out
        m = re.search(r"zxid (0x[0-9a-f]+): digests agree across 4 members", out)
        assert m, out
        # --json: one object keyed by member, digests equal
        r = cluster.ctl("--json", "check-data")
        assert r.returncode == 0, r.stdout
        docs = json.loads(r.stdout)
        assert len(docs) == 4 and len(set(d["digest"] for d in docs.values())) == 1, docs
        assert len(set(d["zxid"] for d in docs.values())) == 1, docs


def _client_actions(e, ids):
    """The golden's client actions (admin_golden/README.md) on members ids
    (leader, follower, observer); returns the started clients."""
    from kazoo.client import KazooClient
    out = []
    for x, sid in zip("lfo", ids):
        zk = KazooClient(e.hosts(sid), timeout=10.0)
        zk.start(timeout=20)
        out.append(zk)
        zk.ensure_path("/app")
        zk.create("/app/eph-" + x, b"x", ephemeral=True)
        zk.get("/app", watch=lambda ev: None)
        zk.get_children("/app", watch=lambda ev: None)
        zk.sync("/")
    return out


def test_live_zookeeper_ensemble_admin_has_corvids_names_per_role(cluster):
    """The same reads against Apache ZooKeeper 3.8 (3 voters + 1 observer,
    AdminServer on): per role, ZooKeeper's live monitor names (less the
    dynamic ones) are corvid's, and leader / voting_view / zabstate /
    is_read_only / server_stats have the same member names and JSON types
    as corvid's answers of the same role. Skipped without java, ZooKeeper or
    the Jetty/Jackson jars."""
    import shutil
    from ensemble import ADMIN_JARS
    missing = [j for j in ADMIN_JARS + ["/usr/share/java/zookeeper.jar"] if not os.path.exists(j)]
    if shutil.which("java") is None or missing:
        pytest.skip("no java or no %s" % missing)
    with conftest.time_limit(TEST_LIMIT + 30, "ZooKeeper ensemble admin"):
        ours = {}
        for sid, role in cluster.roles().items():
            ours[role] = dict((c, cluster.cmd(sid, c)) for c in (
                "monitor", "leader", "voting_view", "zabstate", "is_read_only", "server_stats"))
        ports = free_ports(4)
        member_cfg = dict((i, {"admin.enableServer": "true", "admin.serverAddress": "127.0.0.1",
                               "admin.serverPort": ports[i - 1]}) for i in range(1, 5))
        e = Ensemble("zookeeper", voters=3, observers=1, member_cfg=member_cfg,
                     jvm_classpath=ADMIN_JARS, zk_log=None, start_timeout=45)
        e.start()
        zk = Cluster(e, dict((i, ports[i - 1]) for i in range(1, 5)), {})
        try:
            roles = zk.roles()
            lid = [i for i in roles if roles[i] == "leader"][0]
            fid = [i for i in roles if roles[i] == "follower"][0]
            oid = [i for i in roles if roles[i] == "observer"][0]
            zk.clients = _client_actions(e, (lid, fid, oid))
            time.sleep(0.5)
            for sid, role in sorted(roles.items()):
                def pair(sid=sid):
                    return zk.cmd(sid, "monitor"), zk.mntr(sid)

                def agree(mon, mn, sid=sid):
                    return ["ZooKeeper %d %s: monitor %r, mntr %r" % (sid, k, mon.get(k), mn.get(k))
                            for k in STABLE if _mntr_text(mon.get(k)) != mn.get(k)]

                mon, _ = _quiet_read(pair, agree)
                theirs = [k for k in mon if not mntr_dynamic(k)]
                mine = list(ours[role]["monitor"])
                assert set(theirs) == set(mine), "%s: only ZooKeeper %s, only corvid %s" % (
                    role, sorted(set(theirs) - set(mine)), sorted(set(mine) - set(theirs)))
                assert theirs == mine, "%s: same monitor names, another order" % role
                ld = zk.cmd(sid, "leader")
                assert ld["leader_id"] == lid and ld["is_leader"] is (sid == lid), (sid, ld)
                for c in ("leader", "voting_view", "zabstate", "is_read_only", "server_stats"):
                    doc = zk.cmd(sid, c)
                    if c == "voting_view":
                        assert sorted(doc["current_config"]) == ["1", "2", "3"], doc
                        assert sorted(ours[role][c]["current_config"]) == ["1", "2", "3"]
                    assert shape_diffs(doc, ours[role][c]) == [], (role, c)
        finally:
            for c in zk.clients:
                try:
                    c.stop()
                    c.close()
                except Exception:  # noqa: BLE001 - best effort at teardown
                    pass
            e.stop()


def test_corvidctl_status_names_a_killed_follower_unreachable(cluster):
    """Last test of the module: it kills a member."""
    with conftest.time_limit(TEST_LIMIT, "corvidctl status after kill -9"):
        roles = cluster.roles()
        victim = sorted(i for i in roles if roles[i] == "follower")[-1]
        cluster.e.kill(victim)
        label = "127.0.0.1:%d" % cluster.admin[victim]
        r = cluster.ctl("status")
        assert r.returncode == 1, (r.returncode, r.stdout, r.stderr)
        lines = [l for l in r.stdout.splitlines() if l.strip()]
        dead = [l for l in lines if l.startswith(label)]
        assert len(dead) == 1 and "unreachable" in dead[0], r.stdout
        alive = [l for l in lines[1:] if not l.startswith(label)]
        assert sorted(l.split()[0] for l in alive) == sorted(
            "127.0.0.1:%d" % cluster.admin[i] for i in roles if i != victim), r.stdout
        assert [l.split()[1] for l in alive].count("leader") == 1, r.stdout
        for l in alive:
            assert "unreachable" not in l and "failed" not in l, r.stdout
        # the other members' admin servers still answer
        for sid in roles:
            if sid != victim:
                assert cluster.cmd(sid, "ruok")["error"] is None
