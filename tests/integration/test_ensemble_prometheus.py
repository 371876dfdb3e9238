"""Prometheus itself scraping a corvid ensemble: the operator's view.

A real Prometheus (Debian's prometheus package) scrapes every member's
/metrics; what it stores must be the figures each member's `mntr` prints,
and the ensemble-wide PromQL an operator writes (one leader, zxids in step,
p99 from the histograms) must answer sensibly.

Use with /usr/bin/python3 (kazoo is installed for it).
"""
import json
import os
import shutil
import subprocess
import urllib.parse
import urllib.request

import pytest
from kazoo.client import KazooClient

import zkserver
from conftest import temp_dir, time_limit, wait_until
from ensemble import Ensemble, free_ports

pytestmark = [
    pytest.mark.skipif(os.environ.get("CV_TARGET", "corvid") != "corvid",
                       reason="corvid's /metrics"),
    pytest.mark.skipif(shutil.which("prometheus") is None, reason="prometheus not installed"),
]

MEMBERS = 3


def mntr(port):
    out = {}
    for line in zkserver.four_letter(port, "mntr", timeout=2.0).splitlines():
        k, _, v = line.partition("\t")
        out[k[3:]] = v
    return out


def query(prom_port, expr):
    url = "http://127.0.0.1:%d/api/v1/query?%s" % (prom_port,
                                                    urllib.parse.urlencode({"query": expr}))
    with urllib.request.urlopen(url, timeout=5) as r:
        doc = json.load(r)
    assert doc["status"] == "success", doc
    return doc["data"]["result"]


@pytest.fixture(scope="module")
def scraped():
    """(ensemble, {sid: metrics port}, prometheus port)"""
    ports = free_ports(MEMBERS + 1)
    metrics = dict((sid, ports[sid - 1]) for sid in range(1, MEMBERS + 1))
    member_cfg = dict((sid, {"metricsProvider.httpPort": metrics[sid],
                             "metricsProvider.httpHost": "127.0.0.1"}) for sid in metrics)
    ens = Ensemble("corvid", voters=MEMBERS, member_cfg=member_cfg)
    ens.start()
    with temp_dir("cv-prom-") as d:
        cfg = os.path.join(d, "prometheus.yml")
        with open(cfg, "w") as f:
            f.write("global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
                    "scrape_configs:\n  - job_name: corvid\n    static_configs:\n"
                    "      - targets: [%s]\n"
                    % ", ".join("'127.0.0.1:%d'" % p for p in metrics.values()))
        prom_port = ports[-1]
        log = open(os.path.join(d, "prometheus.log"), "w")
        proc = subprocess.Popen(
            ["prometheus", "--config.file=" + cfg, "--storage.tsdb.path=" + os.path.join(d, "db"),
             "--web.listen-address=127.0.0.1:%d" % prom_port, "--log.level=warn"],
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            ens.wait_leader(timeout=30)
            def all_up():
                try:
                    return len(query(prom_port, "up == 1")) == MEMBERS
                except OSError:      # Prometheus still starting
                    return proc.poll() is None and False
            wait_until(all_up, timeout=30, interval=0.2, msg="Prometheus scraping every member")
            yield ens, metrics, prom_port
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
            log.close()
            ens.stop()


def by_member(result, metrics):
    """{sid: value} of a query result keyed by instance."""
    port_sid = dict(("127.0.0.1:%d" % p, sid) for sid, p in metrics.items())
    return dict((port_sid[r["metric"]["instance"]], float(r["value"][1])) for r in result)


def test_prometheus_stores_the_figures_each_members_mntr_prints(scraped):
    ens, metrics, prom = scraped
    zk = KazooClient(hosts=ens.all_hosts(), timeout=5.0)
    zk.start(timeout=15)
    try:
        with time_limit(60, "writes, then Prometheus catching up"):
            zk.ensure_path("/prom")
            for i in range(50):
                zk.create("/prom/n", b"x" * i, sequence=True)
            zk.create("/prom/eph", ephemeral=True)
            for sid in ens.voter_ids:
                c = KazooClient(hosts=ens.hosts(sid), timeout=5.0)
                c.start(timeout=15)
                c.sync("/prom")
                c.stop()
                c.close()
            want = dict((sid, mntr(ens.port(sid))) for sid in metrics)
            keys = ("znode_count", "ephemerals_count", "approximate_data_size", "quorum_size")

            def stored():
                got = {}
                for k in keys:
                    got[k] = by_member(query(prom, k), metrics)
                return got

            def agrees():
                got = stored()
                return all(got[k].get(sid) == float(want[sid][k])
                           for k in keys for sid in metrics)
            wait_until(agrees, timeout=20, interval=0.5,
                       msg="Prometheus holding every member's mntr figures")
    finally:
        zk.stop()
        zk.close()


def test_an_operators_promql_over_the_ensemble(scraped):
    ens, metrics, prom = scraped
    leader = ens.wait_leader()
    with time_limit(40, "PromQL answers"):
        def one_leader():
            r = query(prom, 'count(corvid_info{server_state="leader"})')
            return r and float(r[0]["value"][1]) == 1
        wait_until(one_leader, timeout=15, interval=0.5, msg="exactly one leader in Prometheus")
        r = query(prom, 'corvid_info{server_state="leader"}')
        assert r[0]["metric"]["instance"] == "127.0.0.1:%d" % metrics[leader]
        assert r[0]["metric"]["server_id"] == str(leader)
        # synced followers as the leader counts them
        wait_until(lambda: by_member(query(prom, "synced_followers"), metrics).get(leader)
                   == MEMBERS - 1, timeout=15, interval=0.5, msg="synced_followers")
        # the members' zxids in step once quiet (max - min over the ensemble)
        wait_until(lambda: float(query(prom, "max(corvid_last_zxid) - min(corvid_last_zxid)")
                                 [0]["value"][1]) == 0, timeout=15, interval=0.5,
                   msg="zxids in step")
        # a p99 computed from the histograms is a real number of seconds
        r = query(prom, "histogram_quantile(0.99, sum by (le) "
                        "(corvid_request_latency_seconds_bucket))")
        assert r and 0 < float(r[0]["value"][1]) < 10
        # per-lcore occupancy is a ratio
        r = query(prom, "sum by (instance, lcore) (corvid_lcore_busy_iterations_total) / "
                        "sum by (instance, lcore) (corvid_lcore_iterations_total)")
        assert len(r) >= MEMBERS and all(0 <= float(x["value"][1]) <= 1 for x in r)
