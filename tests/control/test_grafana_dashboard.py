"""docs/grafana-corvid.json and docs/operations.md against control/cv_metrics.h.

- The dashboard is well-formed, importable-looking Grafana JSON (a
  ${DS_PROMETHEUS} input, an `instance` variable) and every metric name in
  its PromQL (panel targets and template variable queries) is one cv_prom
  can emit: a CV_METRICS name, a CV_HISTS name + _bucket/_sum/_count, or
  corvid_info.
- The metrics table in docs/operations.md is what gen_metrics_table.py
  generates from the header now.

Run: /usr/bin/python3 -m pytest tests/control/test_grafana_dashboard.py
"""
import json
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gen_metrics_table as gmt  # noqa: E402

DASHBOARD = os.path.join(gmt.ROOT, "docs", "grafana-corvid.json")

# PromQL words that are not metric names (functions are recognised by the "(" after them).
KEYWORDS = {
    "by", "without", "on", "ignoring", "group_left", "group_right", "bool",
    "and", "or", "unless", "offset", "inf", "nan",
}


def load():
    with open(DASHBOARD) as f:
        return json.load(f)


def all_panels(d):
    for p in d.get("panels", []):
        yield p
        for q in p.get("panels", []):  # collapsed rows
            yield q


def expressions(d):
    """(where, PromQL) for every panel target and query variable."""
    for p in all_panels(d):
        for t in p.get("targets", []):
            if t.get("expr"):
                yield "panel %r" % p.get("title"), t["expr"]
    for v in d.get("templating", {}).get("list", []):
        if v.get("type") != "query":
            continue
        q = v.get("query")
        q = q.get("query") if isinstance(q, dict) else q
        if q:
            yield "variable %r" % v.get("name"), q


def metric_names(expr):
    """The metric names a PromQL expression (or a Grafana label_values() query) selects."""
    e = re.sub(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'', '""', expr)  # string literals
    e = re.sub(r"\$\{[^}]*\}|\$\w+", "", e)  # Grafana variables
    if re.match(r"\s*label_values\(", e):
        # label_values(metric{...}, label) / label_values(label): only the metric is a name.
        m = re.match(r"\s*label_values\(\s*([A-Za-z_:][\w:]*)\s*(\{[^}]*\})?\s*,", e)
        return {m.group(1)} if m else set()
    e = re.sub(r"\{[^}]*\}", " ", e)  # label matchers
    e = re.sub(r"\[[^\]]*\]", " ", e)  # range / subquery durations
    e = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", e)
    names = set()
    for m in re.finditer(r"(?<![\w.:])([A-Za-z_:][\w:]*)(\s*\()?", e):
        word, call = m.group(1), m.group(2)
        if call or word.lower() in KEYWORDS:
            continue
        names.add(word)
    return names


def test_metric_name_extraction():
    assert metric_names(
        'histogram_quantile(0.99, sum by (instance, le) '
        '(rate(corvid_request_latency_seconds_bucket{instance=~"$instance"}[1m])))'
    ) == {"corvid_request_latency_seconds_bucket"}
    assert metric_names(
        "sum by (lcore) (rate(a_total[1m])) / on(lcore) group_left sum(rate(b_total[5m] offset 1h))"
    ) == {"a_total", "b_total"}
    assert metric_names("label_values(corvid_info, instance)") == {"corvid_info"}
    assert metric_names("label_values(instance)") == set()
    assert metric_names('label_values(corvid_info{job="zk"}, instance)') == {"corvid_info"}
    assert metric_names('up{job="x y"} > 1e3') == {"up"}


def test_dashboard_shape():
    d = load()
    assert 30 <= d["schemaVersion"] <= 41
    assert d["title"] and d["uid"]
    inputs = d["__inputs"]
    assert any(i["name"] == "DS_PROMETHEUS" and i["pluginId"] == "prometheus" for i in inputs)
    names = [v["name"] for v in d["templating"]["list"]]
    assert "instance" in names
    ids = [p["id"] for p in all_panels(d)]
    assert len(ids) == len(set(ids)), "panel ids must be unique"
    for p in all_panels(d):
        if p["type"] == "row":
            continue
        assert p["datasource"]["uid"] == "${DS_PROMETHEUS}", p["title"]
        assert p["targets"], p["title"]
        for t in p["targets"]:
            assert t["datasource"]["uid"] == "${DS_PROMETHEUS}", p["title"]
            assert 'instance=~"$instance"' in t["expr"], (p["title"], t["expr"])
        g = p["gridPos"]
        assert 0 <= g["x"] and g["x"] + g["w"] <= 24, p["title"]


def test_dashboard_metric_names_exist():
    known = gmt.prom_names()
    used = set()
    bad = []
    for where, expr in expressions(load()):
        for n in metric_names(expr):
            used.add(n)
            if n not in known:
                bad.append("%s: %s (in %s)" % (where, n, expr))
    assert not bad, "metrics cv_prom does not emit:\n" + "\n".join(bad)
    # The panels the dashboard promises.
    for n in (
        "packets_received", "corvid_request_latency_seconds_bucket", "corvid_log_write_seconds_bucket",
        "fsync_threshold_exceed_count", "corvid_commit_latency_seconds_bucket", "outstanding_requests",
        "znode_count", "watch_count", "ephemerals_count", "global_sessions", "num_alive_connections",
        "approximate_data_size", "corvid_server_mode", "corvid_leader_id", "quorum_size",
        "synced_followers", "looking_count", "corvid_lcore_busy_iterations_total",
        "corvid_lcore_iterations_total", "corvid_ring_to_sequencer_depth",
        "corvid_ring_from_sequencer_depth", "snap_count", "corvid_info",
    ):
        assert n in used, n


def test_header_parse():
    ms = gmt.metrics()
    hs = gmt.hists()
    names = [m["name"] for m in ms]
    assert len(names) == len(set(names))
    assert "packets_received" in names and "corvid_lcore_iterations_total" in names
    assert {h["name"] for h in hs} >= {"corvid_request_latency_seconds"}
    # corvid's own counters are named ..._total (ZooKeeper's keep ZooKeeper's names).
    for m in ms:
        if m["kind"] == "counter" and m["name"].startswith("corvid_"):
            assert m["name"].endswith("_total"), m["name"]
    # The gauges cv_prom.c exports for ZooKeeper names are registry metrics.
    assert gmt.zk_gauges() and gmt.zk_gauges() <= set(names)


def test_operations_metrics_table_up_to_date():
    with open(gmt.OPERATIONS) as f:
        doc = f.read()
    assert gmt.BEGIN in doc and gmt.END in doc
    assert gmt.splice(doc, gmt.table()) == doc, (
        "docs/operations.md's metrics table is out of date: run "
        "/usr/bin/python3 tests/control/gen_metrics_table.py --update docs/operations.md"
    )
