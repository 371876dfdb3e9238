"""The control plane of a running corvid server (control/cv_http.h): ZooKeeper
3.8's AdminServer API on admin.serverPort, Prometheus /metrics on
metricsProvider.httpPort, DPDK telemetry, corvidctl.

The oracle for the JSON is Apache ZooKeeper 3.8 itself: its responses are
recorded in tests/control/admin_golden (how: README.md there); every body
corvid sends must have the recorded member names, nesting and JSON types.

Use with /usr/bin/python3 (kazoo and prometheus_client are installed for it).
corvid only: ZooKeeper's AdminServer needs Jetty jars the harness does not
put on its classpath (the recordings are its answers).
"""
import json
import os
import socket
import subprocess
import urllib.error
import urllib.request

import pytest
from kazoo.client import KazooClient

import zkserver
from conftest import RawZK, TARGET, free_port, start_server, stop_client, time_limit, wait_until

pytestmark = pytest.mark.skipif(TARGET != "corvid", reason="corvid's control plane")

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
GOLDEN = os.path.join(ROOT, "tests", "control", "admin_golden")
CORVIDCTL = os.path.join(os.path.dirname(zkserver.CORVID_BIN), "corvidctl")
IDLE_MS = 1500


# ------------------------------------------------------------------ helpers --

def http(port, path, method="GET", body=None, headers=None, timeout=5.0):
    """(status, headers dict, body bytes) of one request to 127.0.0.1:port."""
    req = urllib.request.Request("http://127.0.0.1:%d%s" % (port, path), data=body,
                                 method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, dict(r.headers), r.read()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read()


def command(port, name, method="GET"):
    status, _, body = http(port, "/commands/" + name, method)
    assert status == 200, (name, status, body[:300])
    return json.loads(body)


def golden(setup, name):
    with open(os.path.join(GOLDEN, setup, name + ".json")) as f:
        return json.load(f)


def golden_status(setup, name):
    with open(os.path.join(GOLDEN, setup, name + ".headers")) as f:
        return int(f.readline().split()[1])


def kind(v):
    if isinstance(v, bool):
        return "bool"
    if isinstance(v, (int, float)):
        return "number"
    return type(v).__name__


def dynamic(obj):
    """Maps keyed by data (session ids, paths, expiry times, server ids)."""
    return bool(obj) and all(k.startswith("/") or k.lstrip("-").isdigit() for k in obj)


def shape_diffs(ours, theirs, where=""):
    """Where the member names / JSON types of ours differ from theirs."""
    if kind(ours) != kind(theirs) and theirs is not None and ours is not None:
        return ["%s: %s here, %s in ZooKeeper's" % (where, kind(ours), kind(theirs))]
    out = []
    if isinstance(theirs, dict) and isinstance(ours, dict):
        if dynamic(theirs) or dynamic(ours):
            if theirs and ours:
                out += shape_diffs(next(iter(ours.values())), next(iter(theirs.values())),
                                   where + ".*")
            return out
        for k in theirs:
            if k.endswith("_per_namespace") or "learner_handler_qp" in k:
                continue    # per-namespace / per-learner keys: not printed (cv_fourlw.h)
            if k not in ours:
                out.append("%s.%s: missing" % (where, k))
            else:
                out += shape_diffs(ours[k], theirs[k], where + "." + k)
        out += ["%s.%s: not in ZooKeeper's" % (where, k) for k in ours if k not in theirs]
    elif isinstance(theirs, list) and isinstance(ours, list) and theirs and ours:
        out += shape_diffs(ours[0], theirs[0], where + "[0]")
    return out


def mntr(port):
    text = zkserver.four_letter(port, "mntr", timeout=2.0)
    out = {}
    for line in text.splitlines():
        k, _, v = line.partition("\t")
        out[k[3:] if k.startswith("zk_") else k] = v
    return out


def prom(port):
    from prometheus_client.parser import text_string_to_metric_families
    status, headers, body = http(port, "/metrics")
    assert status == 200
    assert headers["Content-Type"].startswith("text/plain; version=0.0.4")
    fams = {f.name: f for f in text_string_to_metric_families(body.decode())}
    return fams, body.decode()


def sample(fams, name, labels=None):
    for f in fams.values():
        for s in f.samples:
            if s.name == name and (labels is None or all(s.labels.get(k) == v
                                                         for k, v in labels.items())):
                return s.value
    raise KeyError(name)


def samples_sum(fams, name):
    return sum(s.value for f in fams.values() for s in f.samples if s.name == name)


def ctl(srv, *args, timeout=10):
    r = subprocess.run([CORVIDCTL, "--port", str(srv.admin_port)] + list(args),
                       capture_output=True, text=True, timeout=timeout)
    return r.returncode, r.stdout, r.stderr


# ------------------------------------------------------------------ fixtures --

def admin_server(extra=None):
    aport, mport = free_port(), free_port()
    cfg = {"admin.enableServer": "true", "admin.serverPort": aport,
           "admin.serverAddress": "127.0.0.1", "admin.idleTimeout": IDLE_MS,
           "metricsProvider.httpPort": mport, "metricsProvider.httpHost": "127.0.0.1"}
    cfg.update(extra or {})
    srv = start_server(extra_cfg=cfg)
    srv.admin_port, srv.metrics_port = aport, mport
    wait_until(lambda: http(aport, "/commands/ruok")[0] == 200, timeout=10,
               msg="the admin server answering")
    return srv


@pytest.fixture(scope="module")
def srv():
    s = admin_server()
    yield s
    s.stop()


@pytest.fixture(scope="module")
def populated(srv):
    """One session holding a data watch, a child watch and an ephemeral node
    (what ZooKeeper's recording had), so every listing has content."""
    zk = KazooClient(hosts=srv.hosts, timeout=4.0)
    zk.start(timeout=10)
    zk.ensure_path("/admin")
    zk.create("/admin/eph", b"e", ephemeral=True)
    zk.get("/admin", watch=lambda e: None)
    zk.get_children("/admin", watch=lambda e: None)
    yield zk
    stop_client(zk)


# every command ZooKeeper 3.8 has (the recordings beside them are special cases)
SPECIAL = {"alias_mntr", "unknown_nosuch", "set_trace_mask_306", "connections_after_crst",
           "server_stats_after_srst"}
ZK_COMMANDS = sorted(n[:-5] for n in os.listdir(os.path.join(GOLDEN, "standalone"))
                     if n.endswith(".json") and n[:-5] not in SPECIAL)


# --------------------------------------------------------------------- tests --

def test_commands_index_lists_every_zookeeper_command_as_zookeeper_does(srv):
    status, headers, body = http(srv.admin_port, "/commands")
    assert status == 200
    with open(os.path.join(GOLDEN, "standalone", "commands.html"), "rb") as f:
        assert body == f.read()
    assert "Content-Type" not in headers   # ZooKeeper sends none either


@pytest.mark.parametrize("name", ZK_COMMANDS)
def test_every_command_answers_with_zookeepers_member_names_and_types(srv, populated, name):
    status, headers, body = http(srv.admin_port, "/commands/" + name)
    assert status == golden_status("standalone", name)
    assert headers["Content-Type"] == "application/json"
    ours = json.loads(body)
    assert ours["command"] == name
    if name == "system_properties":
        return      # corvid is not a JVM: a C process's properties (cv_admin.h)
    assert shape_diffs(ours, golden("standalone", name)) == []


def test_aliases_answer_as_their_command(srv):
    for alias, name in (("mntr", "monitor"), ("cons", "connections"), ("wchp", "watches_by_path"),
                        ("srvr", "server_stats"), ("conf", "configuration"), ("isro", "is_read_only"),
                        ("lsnp", "last_snapshot"), ("envi", "environment")):
        assert command(srv.admin_port, alias)["command"] == name


def test_monitor_prints_the_figures_mntr_prints(srv, populated):
    m = mntr(srv.port)
    j = command(srv.admin_port, "monitor")
    extra = {k for k in m if k.startswith("corvid_") or k.startswith("fsync_threshold")}
    assert set(j) - {"command", "error"} == set(m) - extra
    for k in ("server_state", "version", "znode_count", "ephemerals_count", "watch_count",
              "global_sessions", "approximate_data_size", "outstanding_requests",
              "num_alive_connections", "max_file_descriptor_count"):
        assert str(j[k]) == m[k], k


def test_listings_show_the_session_its_watches_and_its_ephemeral(srv, populated):
    sid = populated.client_id[0]
    cons = command(srv.admin_port, "connections")["connections"]
    assert sid in [c["session_id"] for c in cons]
    wchp = command(srv.admin_port, "watches_by_path")["path_to_session_ids"]
    assert sid in wchp["/admin"]
    wchc = command(srv.admin_port, "watches")["session_id_to_watched_paths"]
    assert "/admin" in wchc[str(sid)]
    dump = command(srv.admin_port, "dump")
    assert dump["session_id_to_ephemeral_paths"][str(sid)] == ["/admin/eph"]
    assert sid in [s for ids in dump["expiry_time_to_session_ids"].values() for s in ids]
    wchs = command(srv.admin_port, "watch_summary")
    assert wchs["num_total_watches"] >= 1 and wchs["num_paths"] >= 1


def test_metrics_parse_with_prometheus_and_agree_with_mntr(srv, populated):
    fams, text = prom(srv.metrics_port)
    for f in fams.values():
        assert f.type in ("counter", "gauge", "histogram"), f.name
        assert f.samples, f.name
    m = mntr(srv.port)
    for k in ("znode_count", "ephemerals_count", "watch_count", "global_sessions",
              "approximate_data_size", "num_alive_connections"):
        assert sample(fams, k) == float(m[k]), k
    assert sample(fams, "corvid_info", {"server_state": "standalone"}) == 1
    # sessions by state: live, and connected here (the populated session)
    assert sample(fams, "corvid_sessions_connected") == sample(fams, "global_sessions") >= 1
    h = fams["corvid_request_latency_seconds"]
    buckets = [s.value for s in h.samples if s.name.endswith("_bucket")]
    assert buckets == sorted(buckets) and buckets[-1] > 0   # exact counts: the load test
    assert sample(fams, "corvid_lcore_iterations_total", {"lcore": "0"}) > 0


def test_corvids_own_metric_names_pass_promtool(srv, populated):
    """promtool (Prometheus' own checker) parses the page, and has nothing to
    say about corvid_ names; ZooKeeper's names are ZooKeeper's (its exporter
    draws the same lint remarks)."""
    body = http(srv.metrics_port, "/metrics")[2]
    r = subprocess.run(["promtool", "check", "metrics"], input=body, capture_output=True,
                       timeout=30)
    text = (r.stdout + r.stderr).decode()
    assert r.returncode in (0, 3), text       # 3: lint remarks only; 1: it did not parse
    assert [ln for ln in text.splitlines() if ln.startswith("corvid_")] == []


def test_metrics_server_answers_only_metrics(srv):
    assert http(srv.metrics_port, "/")[0] == 404
    assert http(srv.metrics_port, "/metrics", method="POST", body=b"x")[0] == 405


def test_counters_add_up_to_what_clients_sent():
    """Two io lcores, six connections pipelining reads: the per-lcore frame
    counters sum to exactly what the clients sent, and the sequencer counted
    every request once."""
    s = admin_server({"corvid.lcores": "0,1", "corvid.ioLcores": "0,1",
                      "corvid.pollSpinUs": "0"})
    try:
        # the lcores publish every millisecond: let the harness's ruok/srvr land
        last = [None]

        def settled():
            now = samples_sum(prom(s.metrics_port)[0], "corvid_io_frames_received_total")
            done, last[0] = now == last[0], now
            return done
        wait_until(settled, timeout=5, interval=0.05, msg="the frame counters settling")
        before, _ = prom(s.metrics_port)
        conns, per = 6, 400
        with time_limit(60, "pipelined load"):
            clients = []
            for _ in range(conns):
                c = RawZK(s.port)
                c.connect()
                clients.append(c)
            for c in clients:
                for _ in range(per):
                    c.send_frame(c.frame(RawZK.OP_EXISTS, RawZK.s("/") + b"\0")[1])
            for c in clients:
                for _ in range(per):
                    c.read_frame()
            for c in clients:
                c.drop()

        def delta(fams, name):
            return samples_sum(fams, name) - samples_sum(before, name)

        want_frames = conns * (per + 1)     # each connection: a ConnectRequest + the reads
        wait_until(lambda: delta(prom(s.metrics_port)[0], "corvid_io_frames_received_total")
                   >= want_frames, timeout=5, msg="the io lcores publishing")
        after, _ = prom(s.metrics_port)
        assert delta(after, "corvid_io_frames_received_total") == want_frames
        assert delta(after, "corvid_requests_total") == conns * per
        assert delta(after, "corvid_reads_total") == conns * per
        assert delta(after, "corvid_connects_total") == conns
        assert delta(after, "corvid_request_latency_seconds_count") == conns * per
        lcores = {sm.labels["lcore"] for f in after.values() for sm in f.samples
                  if sm.name == "corvid_io_frames_received_total"}
        assert lcores == {"0", "1"}
        assert int(mntr(s.port)["packets_received"]) - int(
            sample(before, "packets_received")) >= conns * per
    finally:
        s.stop()


def test_bad_admin_requests_get_http_errors_and_the_dataplane_carries_on(srv, populated):
    port = srv.admin_port
    unknown = http(port, "/commands/nosuch")
    assert unknown[0] == 200 and json.loads(unknown[2]) == golden("standalone", "unknown_nosuch")
    assert http(port, "/foo")[0] == golden_status("standalone", "path_foo")
    assert http(port, "/commands/monitor", method="POST", body=b"")[0] == 405
    assert http(port, "/commands/monitor", method="DELETE")[0] == 405
    assert http(port, "/commands/snapshot", method="HEAD")[0] == 405   # it would write one
    assert http(port, "/commands/ruok", headers={"X-Big": "a" * 40000})[0] == 431
    assert http(port, "/commands/snapshot", method="POST", body=b"x" * 200000)[0] == 413
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(b"GARBAGE\r\n\r\n")
        answer = s.recv(64)     # libmicrohttpd closes on a request line it cannot parse
        assert answer == b"" or answer.startswith(b"HTTP/1.1 400"), answer
    populated.set("/admin", b"still here")
    assert populated.get("/admin")[0] == b"still here"
    assert command(port, "ruok")["error"] is None


def test_slowloris_connections_are_closed_and_disturb_nothing(srv, populated):
    """Twenty connections that send half a request and stall: each is closed
    after admin.idleTimeout, and meanwhile other admin requests and the
    dataplane are served."""
    slow = []
    for _ in range(20):
        s = socket.create_connection(("127.0.0.1", srv.admin_port), timeout=10)
        s.sendall(b"GET /commands/monitor HTTP/1.1\r\nHost: x\r\nX-Slow: ")
        slow.append(s)
    assert command(srv.admin_port, "monitor")["server_state"] == "standalone"
    for i in range(50):
        populated.set("/admin", b"%d" % i)
    assert populated.get("/admin")[0] == b"49"
    for s in slow:
        s.settimeout(IDLE_MS / 1000.0 + 5)
        try:
            assert s.recv(1) == b""        # closed by the server
        except ConnectionResetError:
            pass
        s.close()


def test_snapshot_now_and_check_data(srv, populated):
    before = command(srv.admin_port, "last_snapshot")
    snap = command(srv.admin_port, "snapshot", method="POST")
    assert snap["started"] is True and snap["zxid"].startswith("0x")
    wait_until(lambda: command(srv.admin_port, "last_snapshot")["zxid"] != before["zxid"],
               timeout=10, msg="the snapshot in place")
    assert command(srv.admin_port, "last_snapshot")["zxid"] == snap["zxid"][2:].lower()
    chk = command(srv.admin_port, "check_data")
    assert chk["ok"] is True and chk["tree"] == "ok"
    assert int(chk["digest"], 16) != 0
    assert "data: ok" in chk["storage"]


def test_connection_stat_reset_and_stat_reset_reset_the_counters(srv, populated):
    populated.get("/admin")
    command(srv.admin_port, "connection_stat_reset")
    cons = command(srv.admin_port, "connections")["connections"]
    mine = [c for c in cons if c["session_id"] == populated.client_id[0]][0]
    assert mine["packets_received"] == 0
    command(srv.admin_port, "stat_reset")
    assert int(mntr(srv.port)["packets_received"]) < 5


def test_dpdk_telemetry_reads_corvids_counters(srv, populated):
    tool = "/usr/bin/dpdk-telemetry.py"
    if not os.path.exists(tool):
        pytest.skip("dpdk-telemetry.py not installed")
    pid = srv.proc.pid

    def ask(cmd):
        r = subprocess.run(["/usr/bin/python3", tool, "-f", "corvid%d" % pid], input=cmd + "\n",
                           capture_output=True, text=True, timeout=10)
        return json.loads([ln for ln in r.stdout.splitlines() if ln.startswith("{")][-1])

    listed = ask("/")["/"]
    assert {"/corvid/metrics", "/corvid/lcores", "/corvid/latency"} <= set(listed)
    m = mntr(srv.port)
    got = ask("/corvid/metrics")["/corvid/metrics"]
    assert got["znode_count"] == int(m["znode_count"])
    assert got["global_sessions"] == int(m["global_sessions"])
    assert "0" in ask("/corvid/lcores")["/corvid/lcores"]
    assert len(ask("/corvid/latency")["/corvid/latency"]["corvid_log_write_seconds"]) == 32


def test_corvidctl_against_a_running_server(srv, populated):
    sid = "0x%x" % populated.client_id[0]
    rc, out, _ = ctl(srv, "status")
    assert rc == 0 and "standalone" in out
    rc, out, _ = ctl(srv, "mntr")
    assert rc == 0 and "znode_count" in out
    rc, out, _ = ctl(srv, "cons")
    assert rc == 0 and sid in out
    rc, out, _ = ctl(srv, "wchp")
    assert rc == 0 and "/admin" in out and sid in out
    rc, out, _ = ctl(srv, "dump")
    assert rc == 0 and "/admin/eph" in out
    rc, out, _ = ctl(srv, "--json", "mntr")
    assert rc == 0 and json.loads(out)["command"] == "monitor"
    rc, out, _ = ctl(srv, "check-data")
    assert rc == 0 and "ok" in out
    rc, out, err = ctl(srv, "--port", str(free_port()), "status")
    assert rc == 1
    rc, out, err = ctl(srv, "frobnicate")
    assert rc == 2


def test_an_admin_port_in_use_is_a_warning_not_a_failure():
    """As ZooKeeper: the server serves clients even when its admin server
    cannot start."""
    taken = socket.socket()
    taken.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    taken.bind(("127.0.0.1", 0))
    taken.listen(1)
    try:
        s = start_server(extra_cfg={"admin.enableServer": "true",
                                    "admin.serverPort": taken.getsockname()[1],
                                    "admin.serverAddress": "127.0.0.1"})
        try:
            assert "admin.serverPort: cannot listen" in s.log()
            assert mntr(s.port)["server_state"] == "standalone"
        finally:
            s.stop()
    finally:
        taken.close()
