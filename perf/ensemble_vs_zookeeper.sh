#!/usr/bin/env bash
# ensemble_vs_zookeeper.sh — a 3-node corvid ensemble and a 3-node Apache
# ZooKeeper 3.8 ensemble (Debian's package) on this machine, one after the
# other in the same run, with the same workloads, printed side by side.
# See perf/ENSEMBLE.md.
#
#   perf/ensemble_vs_zookeeper.sh [--quick] [--duration S] [--warmup S] [--no-sync]
#                                 [--tick-ms MS] [--elections N] [--only zookeeper|corvid]
#                                 [--loadgen BIN] [--corvid BIN] [--out DIR] [--work-dir DIR]
#                                 [--corvid-key KEY=VALUE ...] [--keep]
#
# Per ensemble (members started by tests/integration/ensemble.py, zoo.cfg
# tickTime 2000 unless --tick-ms, initLimit 10, syncLimit 5, forceSync=yes
# unless --no-sync):
#   - durable setData of 100 B through the leader at 1, 16 and 256 in flight
#     (1x1, 4x4, 8x32 connections x outstanding); p50/p99/p999 at 1x1;
#   - getData with the clients spread over all members: one loadgen per
#     member (bench_loadgen takes one server), 4 connections x 32 outstanding
#     each, throughputs summed, the worst member's percentiles;
#   - election after kill -9 of the leader, N times (3): ms from the kill
#     until a write through a surviving member (a session opened before the
#     kill) succeeds, and until srvr on a survivor shows a new leader; the
#     old leader is restarted between rounds.
# Defaults: 10 s measured + 2 s warm-up per workload, ~2.5 min per ensemble;
# --quick: 3 s + 1 s, ~1 min per ensemble. A corvid that cannot form an
# ensemble is reported as "not available" with the reason (its log lines).
# Both ensembles are stopped on exit, failure or interrupt (ensemble.py).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PY=/usr/bin/python3
case "${1:-}" in -h|--help) sed -n '2,29p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;; esac
export CV_ROOT=$ROOT
exec "$PY" - "$@" <<'PYEOF'
import argparse, json, os, signal, statistics, subprocess, sys, tempfile, threading, time

ROOT = os.environ["CV_ROOT"]
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
import ensemble  # noqa: E402

# SIGTERM / SIGHUP unwind through the finally blocks that stop the ensembles
for s in (signal.SIGTERM, signal.SIGHUP):
    signal.signal(s, lambda *a: sys.exit(128 + a[0]))


def die(msg):
    print("ensemble_vs_zookeeper: " + msg, file=sys.stderr)
    sys.exit(1)


ap = argparse.ArgumentParser(prog="ensemble_vs_zookeeper.sh")
ap.add_argument("--quick", action="store_true")
ap.add_argument("--duration", type=float)
ap.add_argument("--warmup", type=float)
ap.add_argument("--no-sync", action="store_true", help="forceSync=no on both")
ap.add_argument("--tick-ms", type=int, default=2000)
ap.add_argument("--elections", type=int, default=3)
ap.add_argument("--only", choices=["zookeeper", "corvid"])
ap.add_argument("--loadgen")
ap.add_argument("--corvid", default=os.environ.get("CORVID_BIN",
                                                   os.path.join(ROOT, "build", "control", "corvid")))
ap.add_argument("--out")
ap.add_argument("--work-dir", default="/tmp")
ap.add_argument("--corvid-key", action="append", default=[])
ap.add_argument("--keep", action="store_true", help="keep the members' directories")
args = ap.parse_args()
DURATION = args.duration or (3 if args.quick else 10)
WARMUP = args.warmup if args.warmup is not None else (1 if args.quick else 2)
SERVER_WARM = 2 if args.quick else 5
SYNC = "no" if args.no_sync else "yes"
JVM_HEAP = "1g"

loadgen = args.loadgen or os.environ.get("LOADGEN")
if not loadgen:
    cands = [os.path.join(ROOT, "build", "perf", "bench_loadgen")]
    try:
        cands += sorted((os.path.join(ROOT, d, "perf", "bench_loadgen") for d in os.listdir(ROOT)
                         if d.startswith("build-")), key=lambda p: -os.path.getmtime(p)
                        if os.path.exists(p) else 0)
    except OSError:
        pass
    loadgen = next((c for c in cands if os.access(c, os.X_OK)), None)
if not loadgen or not os.access(loadgen, os.X_OK):
    die("no loadgen binary; build it: cmake --build build --target bench_loadgen (or --loadgen)")
if not os.path.isdir(args.work_dir):
    die("--work-dir %s is not a directory" % args.work_dir)
WORK = tempfile.mkdtemp(prefix="cv-evz-", dir=args.work_dir)
OUT = args.out or os.path.join(WORK, "results")
os.makedirs(OUT, exist_ok=True)
RESULTS = os.path.join(OUT, "results.jsonl")
open(RESULTS, "w").close()


def record(server, workload, r):
    r = dict(r, server=server, workload=workload)
    with open(RESULTS, "a") as f:
        f.write(json.dumps(r) + "\n")
    return r


def lg(port, extra, duration=None, warmup=None):
    """One loadgen run -> its JSON dict ({"failed": ..} on failure)."""
    d = DURATION if duration is None else duration
    w = WARMUP if warmup is None else warmup
    cmd = [loadgen, "--port", str(port), "--json", "--warmup", str(w), "--duration", str(d)] + extra
    try:
        p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                           timeout=d + w + 120)
    except subprocess.TimeoutExpired:
        return {"failed": "timed out"}
    line = p.stdout.strip().splitlines()[-1:] if p.stdout.strip() else []
    if p.returncode != 0 or not line:
        return {"failed": "exit %d: %s" % (p.returncode, p.stderr.strip().replace("\n", " ")[-300:])}
    return json.loads(line[0])


def show(server, name, r):
    if r.get("failed"):
        print("  %-10s %-26s FAILED (%s)" % (server, name, r["failed"]), file=sys.stderr)
    else:
        print("  %-10s %-26s %10.0f ops/s  p50 %8.1f  p99 %8.1f  p999 %8.1f us  errors %d  client %.2f CPU"
              % (server, name, r["ops_per_sec"], r["p50_us"], r["p99_us"], r["p999_us"],
                 r["errors_total"], r["client_cpu"]), file=sys.stderr)
    sys.stderr.flush()


def run_writes(kind, e):
    lead = e.wait_leader(timeout=30)
    port = e.port(lead)
    # warm-up (JIT, log files), not measured
    lg(port, ["--op", "setData", "--conns", "8", "--outstanding", "32", "--prefix", "/warm"],
       duration=SERVER_WARM, warmup=0)
    for nk in ("1x1", "4x4", "8x32"):
        n, k = nk.split("x")
        name = "setData %s (%d)" % (nk, int(n) * int(k))
        r = lg(port, ["--op", "setData", "--conns", n, "--outstanding", k, "--value-size", "100",
                      "--prefix", "/w%s" % nk])
        show(kind, name, record(kind, name, r))


def run_reads(kind, e):
    name = "getData spread 3x(4x32)"
    res = [None] * len(e.members)

    def one(idx, sid):
        res[idx] = lg(e.port(sid), ["--op", "getData", "--conns", "4", "--outstanding", "32",
                                    "--prefix", "/r%d" % sid])
    ths = [threading.Thread(target=one, args=(i, sid)) for i, sid in enumerate(e.members)]
    [t.start() for t in ths]
    [t.join() for t in ths]
    bad = [r for r in res if r.get("failed")]
    if bad:
        r = {"failed": bad[0]["failed"]}
    else:
        r = {"ops_per_sec": sum(x["ops_per_sec"] for x in res),
             "p50_us": max(x["p50_us"] for x in res), "p99_us": max(x["p99_us"] for x in res),
             "p999_us": max(x["p999_us"] for x in res),
             "errors_total": sum(x["errors_total"] for x in res),
             "client_cpu": sum(x["client_cpu"] for x in res),
             "per_member": dict((str(sid), x["ops_per_sec"]) for sid, x in zip(e.members, res))}
    show(kind, name, record(kind, name, r))


def elect_once(kind, e, round_no):
    """kill -9 the leader; (ms to a write through a survivor, ms to a new
    leader in srvr), or raise."""
    from kazoo.client import KazooClient
    import logging
    logging.getLogger("kazoo").setLevel(logging.CRITICAL)
    old = e.wait_leader(timeout=60)
    survivors = [i for i in e.members if i != old]
    via = survivors[0]
    zk = KazooClient(hosts=e.hosts(via), timeout=30.0,
                     connection_retry=dict(max_tries=-1, delay=0.01, backoff=1.2, max_delay=0.05))
    zk.start(timeout=30)
    try:
        path = "/election-probe"
        zk.ensure_path(path)
        zk.set(path, b"before")
        seen = {}
        stop = threading.Event()

        def watch_srvr():
            while not stop.is_set():
                for i in survivors:
                    if e.mode(i, timeout=0.2) == "leader":
                        seen["leader"] = (time.monotonic(), i)
                        return
                time.sleep(0.01)
        t0 = time.monotonic()
        e.kill(old)
        th = threading.Thread(target=watch_srvr)
        th.start()
        deadline = t0 + 120
        t_write = None
        n = 0
        while time.monotonic() < deadline:
            n += 1
            try:
                zk.set_async(path, b"after-%d" % n).get(timeout=max(0.05, deadline - time.monotonic()))
                t_write = time.monotonic()
                break
            except Exception:
                time.sleep(0.005)
        th.join(timeout=max(0.1, deadline - time.monotonic()))
        stop.set()
        th.join(timeout=5)
        if t_write is None:
            raise RuntimeError("no write through member %d within 120 s after the kill" % via)
        if "leader" not in seen:
            raise RuntimeError("no new leader in srvr within 120 s after the kill")
        r = {"write_ms": (t_write - t0) * 1e3, "leader_ms": (seen["leader"][0] - t0) * 1e3,
             "old_leader": old, "new_leader": seen["leader"][1], "via": via}
    finally:
        try:
            zk.stop()
            zk.close()
        except Exception:
            pass
    e.restart(old, timeout=120)
    e.wait_serving(timeout=120)
    return r


def run_elections(kind, e):
    rounds = []
    for k in range(args.elections):
        try:
            r = elect_once(kind, e, k)
        except Exception as ex:  # noqa: BLE001
            print("  %-10s election %d FAILED: %s" % (kind, k + 1, ex), file=sys.stderr)
            record(kind, "election %d" % (k + 1), {"failed": str(ex)[:300]})
            break
        print("  %-10s election %d: kill -9 of member %d -> write through member %d ok after "
              "%.0f ms, srvr shows leader %d after %.0f ms"
              % (kind, k + 1, r["old_leader"], r["via"], r["write_ms"], r["new_leader"],
                 r["leader_ms"]), file=sys.stderr)
        rounds.append(r)
        record(kind, "election %d" % (k + 1), r)
        time.sleep(1)
    return rounds


def make_ensemble(kind):
    extra = {"forceSync": SYNC}
    if kind == "corvid":
        for kv in args.corvid_key:
            k, _, v = kv.partition("=")
            extra[k] = v
    return ensemble.Ensemble(kind, voters=3, tick_ms=args.tick_ms, init_limit=10, sync_limit=5,
                             extra_cfg=extra, start_timeout=90, jvm_heap=JVM_HEAP,
                             jvm_fixed_heap=True, zk_log="warn", work_dir=WORK, keep=args.keep,
                             corvid_bin=args.corvid)


notes = {}
elections = {}
storage = {}
t_start = time.time()
load_before = open("/proc/loadavg").read().split()[:3]
kinds = [k for k in ("zookeeper", "corvid") if not args.only or k == args.only]
print("ensemble_vs_zookeeper: loadgen %s, results in %s" % (loadgen, OUT), file=sys.stderr)
try:
    for kind in kinds:
        print("== %s ensemble (3 voters, forceSync=%s, tickTime %d)" % (kind, SYNC, args.tick_ms),
              file=sys.stderr)
        if kind == "corvid" and not os.access(args.corvid, os.X_OK):
            notes[kind] = "%s not found" % args.corvid
            print("  " + notes[kind], file=sys.stderr)
            continue
        e = make_ensemble(kind)
        try:
            t0 = time.time()
            try:
                e.start()
            except RuntimeError as ex:
                notes[kind] = "could not form an ensemble: %s" % " | ".join(
                    l for l in str(ex).splitlines()[:8] if l.strip())
                print("  " + notes[kind], file=sys.stderr)
                continue
            print("  started in %.1f s: modes %s" % (time.time() - t0, e.modes()), file=sys.stderr)
            if kind == "corvid":
                storage[kind] = next((l for l in e.log(1, None).splitlines()
                                      if l.startswith("corvid: storage:")), "")
            run_writes(kind, e)
            run_reads(kind, e)
            elections[kind] = run_elections(kind, e)
            for i in e.members:
                if not e.alive(i):
                    notes.setdefault(kind, "member %d died; log: %s" % (i, e.log(i, 800)))
        finally:
            e.stop()
finally:
    pass
t_end = time.time()

# ---- report ------------------------------------------------------------------
rows, order = {}, []
for line in open(RESULTS):
    r = json.loads(line)
    if r["workload"].startswith("election"):
        continue
    if r["workload"] not in order:
        order.append(r["workload"])
    rows[(r["server"], r["workload"])] = r


def cells(r, why):
    if r is None:
        return ["not available" if why else "-", "", "", ""]
    if r.get("failed"):
        return ["FAILED", "", "", ""]
    mark = " (!%d errors)" % r["errors_total"] if r["errors_total"] else ""
    return ["%.0f%s" % (r["ops_per_sec"], mark), "%.0f" % r["p50_us"], "%.0f" % r["p99_us"],
            "%.0f" % r["p999_us"]]


def okr(r):
    return r is not None and not r.get("failed") and r["ops_per_sec"] > 0


def ratio(c, z):
    if not (okr(c) and okr(z)):
        return ["-", "-"]
    return ["%.2f" % (c["ops_per_sec"] / z["ops_per_sec"]), "%.2f" % (z["p99_us"] / c["p99_us"])]


def fmt_table(table):
    width = [max(len(r[i]) for r in table) for i in range(len(table[0]))]
    f = lambda r: "| " + " | ".join(v.ljust(width[i]) if i == 0 else v.rjust(width[i])
                                    for i, v in enumerate(r)) + " |"
    out = [f(table[0]), "|" + "|".join("-" * (n + 2) if i == 0 else "-" * (n + 1) + ":"
                                       for i, n in enumerate(width)) + "|"]
    return "\n".join(out + [f(r) for r in table[1:]])


lines = []
P = lines.append
cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
java = subprocess.run(["java", "-version"], stderr=subprocess.PIPE, text=True).stderr.splitlines()[0]
zkver = subprocess.run(["dpkg-query", "-W", "-f", "${Version}", "zookeeper"], stdout=subprocess.PIPE,
                       text=True).stdout or "?"
P("# 3-node corvid ensemble vs 3-node Apache ZooKeeper ensemble — %s"
  % time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()))
P("")
P("- machine: %d CPUs (%s), %s; all 3 members of an ensemble and loadgen on this machine over loopback"
  % (os.cpu_count(), cpu, os.uname().release))
P("- ZooKeeper: 3.8 (Debian zookeeper %s), QuorumPeerMain, %s, -Xms%s -Xmx%s, slf4j-simple at WARN"
  % (zkver, java, JVM_HEAP, JVM_HEAP))
P("- zoo.cfg: tickTime %d, initLimit 10, syncLimit 5, forceSync=%s on both%s; dataDirs under %s"
  % (args.tick_ms, SYNC, (", corvid also " + " ".join(args.corvid_key)) if args.corvid_key else "",
     WORK))
if storage.get("corvid"):
    P("- corvid member 1: " + storage["corvid"])
P("- writes: setData 100 B through the leader, NxK (T) = N connections x K outstanding, T in flight; "
  "reads: getData, one loadgen per member (4x32 each), ops/s summed, the worst member's percentiles")
P("- each workload: %g s warm-up + %g s measured; ratios: throughput corvid/ZooKeeper, p99 "
  "ZooKeeper/corvid (above 1: corvid better); latencies in microseconds" % (WARMUP, DURATION))
for k, v in notes.items():
    P("- %s: %s" % (k, v))
P("- whole run: %.0f s; load average before / after: %s / %s"
  % (t_end - t_start, " ".join(load_before), " ".join(open("/proc/loadavg").read().split()[:3])))
P("")
head = ["workload", "corvid ops/s", "p50", "p99", "p999", "ZooKeeper ops/s", "p50", "p99", "p999",
        "thr c/ZK", "p99 ZK/c"]
table = [head]
for w in order:
    c, z = rows.get(("corvid", w)), rows.get(("zookeeper", w))
    table.append([w] + cells(c, notes.get("corvid")) + cells(z, notes.get("zookeeper")) + ratio(c, z))
P(fmt_table(table))
P("")


def el(kind, key):
    rs = elections.get(kind) or []
    if not rs:
        return ["not available" if kind in notes else "-", "-"]
    return [" / ".join("%.0f" % r[key] for r in rs), "%.0f" % statistics.median(r[key] for r in rs)]


P("Election after kill -9 of the leader (ms; each round, then the median):")
P("")
et = [["measure", "corvid rounds", "median", "ZooKeeper rounds", "median", "ZK/c"]]
for key, name in (("write_ms", "kill -> write through a survivor ok"),
                  ("leader_ms", "kill -> srvr shows a new leader")):
    c, z = el("corvid", key), el("zookeeper", key)
    try:
        rat = "%.2f" % (float(z[1]) / float(c[1]))
    except (ValueError, ZeroDivisionError):
        rat = "-"
    et.append([name] + c + z + [rat])
P(fmt_table(et))
for (s, w), r in sorted(rows.items()):
    if okr(r) and r.get("per_member"):
        P("\n%s %s: per member ops/s %s" % (s, w, r["per_member"]))
busy = [(s, w, r["client_cpu"]) for (s, w), r in rows.items() if okr(r) and r["client_cpu"] > 0.9]
if busy:
    P("\nloadgen was busy (> 0.9 CPU in total) in: " + ", ".join("%s %s (%.2f)" % b for b in busy)
      + " - those figures may be the client's limit, not the server's")
text = "\n".join(lines) + "\n"
with open(os.path.join(OUT, "table.md"), "w") as f:
    f.write(text)
sys.stdout.write(text)
if not args.keep and not args.out:
    pass   # results stay in WORK/results; member dirs are removed by ensemble.stop()
PYEOF
