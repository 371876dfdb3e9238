#!/usr/bin/env bash
# server_vs_zookeeper.sh — the same loadgen workloads against corvid and
# Apache ZooKeeper 3.8 (Debian's package), one after the other, on this
# machine in this run, printed side by side. See perf/LOADGEN.md.
#
#   perf/server_vs_zookeeper.sh [--quick] [--durable | --durable-writes] [--duration S]
#                               [--warmup S] [--loadgen BIN] [--corvid BIN] [--out DIR]
#                               [--work-dir DIR] [--zk-port P] [--corvid-port P]
#                               [--corvid-key KEY=VALUE ...]
#
# Defaults: 10 s measured + 2 s warm-up per workload, 12 workloads: about 5
# minutes with both servers (2.5 without corvid); --quick: 3 s + 1 s, about 2
# minutes with both (1 without corvid).
# ZooKeeper runs with forceSync=no unless --durable. corvid is started as
# `build/control/corvid --config zoo.cfg` with the same zoo.cfg keys; if it is
# missing or does not answer ruok, its column says "not available yet".
# --durable-writes (perf/DURABLE.md): forceSync=yes on both servers and, in
# place of the suite, setData and create of 100 B at 1, 16 and 256 in flight
# (1x1, 4x4, 8x32), after bench_disk_floor (the device floor) on the servers'
# data directory and bench_crc; about 3 minutes (--quick: 1.5).
# The servers' dataDirs live in a fresh directory under --work-dir (/tmp).
# --corvid-key adds a line to corvid's zoo.cfg only (repeatable), e.g.
# corvid.walBackend=pwrite.
# Both servers are stopped on exit, failure or interrupt.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PY=/usr/bin/python3
QUICK=0
DURABLE=0
DWRITES=0
CV_KEYS=()
WORK_BASE=/tmp
DURATION=
WARMUP=
LOADGEN=${LOADGEN:-}
CORVID=${CORVID_BIN:-$ROOT/build/control/corvid}
OUT=
ZK_PORT=24181
CV_PORT=24182
JVM_FLAGS="-Xms1g -Xmx1g -XX:+UseG1GC -Dzookeeper.admin.enableServer=false"

die() { echo "server_vs_zookeeper: $*" >&2; exit 1; }

while [ $# -gt 0 ]; do
    case "$1" in
    --quick) QUICK=1 ;;
    --durable) DURABLE=1 ;;
    --durable-writes) DURABLE=1; DWRITES=1 ;;
    --work-dir) WORK_BASE=$2; shift ;;
    --duration) DURATION=$2; shift ;;
    --warmup) WARMUP=$2; shift ;;
    --loadgen) LOADGEN=$2; shift ;;
    --corvid) CORVID=$2; shift ;;
    --out) OUT=$2; shift ;;
    --zk-port) ZK_PORT=$2; shift ;;
    --corvid-port) CV_PORT=$2; shift ;;
    --corvid-key) CV_KEYS+=("$2"); shift ;;
    -h|--help) sed -n '2,24p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown option $1 (see --help)" ;;
    esac
    shift
done
if [ "$QUICK" = 1 ]; then
    DURATION=${DURATION:-3}; WARMUP=${WARMUP:-1}; SERVER_WARM=2
else
    DURATION=${DURATION:-10}; WARMUP=${WARMUP:-2}; SERVER_WARM=5
fi

# The loadgen binary: --loadgen, $LOADGEN, build/, else the newest build-*/.
if [ -z "$LOADGEN" ]; then
    for c in "$ROOT/build/perf/bench_loadgen" $(ls -t "$ROOT"/build*/perf/bench_loadgen 2>/dev/null); do
        if [ -x "$c" ]; then LOADGEN=$c; break; fi
    done
fi
if [ -z "$LOADGEN" ] || [ ! -x "$LOADGEN" ]; then
    die "no loadgen binary; build it: cmake --build build --target bench_loadgen (or pass --loadgen)"
fi
# bench_disk_floor and bench_crc: next to the loadgen binary.
FLOOR_BIN=$(dirname "$LOADGEN")/bench_disk_floor
CRC_BIN=$(dirname "$LOADGEN")/bench_crc
if [ "$DWRITES" = 1 ]; then
    for b in "$FLOOR_BIN" "$CRC_BIN"; do
        [ -x "$b" ] || die "$b not found; build it: cmake --build $(dirname "$(dirname "$LOADGEN")") --target $(basename "$b")"
    done
fi
command -v java >/dev/null || die "java not found (apt-get install zookeeper)"
[ -f /usr/share/java/zookeeper.jar ] || die "/usr/share/java/zookeeper.jar not found (apt-get install zookeeper)"

ZK_CP=$($PY -c "import sys; sys.path.insert(0, '$ROOT/tests/integration'); import zkserver; print(zkserver.zk_classpath())")
[ -d "$WORK_BASE" ] || die "--work-dir $WORK_BASE is not a directory"
WORK=$(mktemp -d "$WORK_BASE/cv-svz-XXXXXX")
OUT=${OUT:-$WORK/results}
mkdir -p "$OUT"
RESULTS=$OUT/results.jsonl
: >"$RESULTS"

SERVER_PID=
stop_server() {
    local pid=$SERVER_PID
    SERVER_PID=
    [ -n "$pid" ] || return 0
    kill -TERM -- "-$pid" 2>/dev/null || true
    for _ in $(seq 100); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    kill -KILL -- "-$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
}
cleanup() {
    stop_server
    rm -rf "$WORK/zookeeper" "$WORK/corvid"
}
trap cleanup EXIT
trap 'echo "server_vs_zookeeper: interrupted" >&2; exit 130' INT TERM

four_letter() { # port word
    $PY -c "import sys; sys.path.insert(0, '$ROOT/tests/integration'); import zkserver
try: print(zkserver.four_letter($1, '$2', timeout=2.0))
except OSError: pass" 2>/dev/null
}
port_free() {
    ! $PY -c "import sys; sys.path.insert(0, '$ROOT/tests/integration'); import zkserver; sys.exit(0 if zkserver.port_open($1) else 1)"
}

# start_server KIND PORT: 0 when it answers ruok (SERVER_PID set), 1 if not.
start_server() {
    local kind=$1 port=$2 dir=$WORK/$1
    port_free "$port" || die "port $port is in use (choose another with --zk-port / --corvid-port)"
    mkdir -p "$dir/data"
    cat >"$dir/zoo.cfg" <<EOF
tickTime=2000
initLimit=10
syncLimit=5
dataDir=$dir/data
clientPort=$port
clientPortAddress=127.0.0.1
maxClientCnxns=0
4lw.commands.whitelist=*
admin.enableServer=false
forceSync=$([ "$DURABLE" = 1 ] && echo yes || echo no)
EOF
    if [ "$kind" = corvid ] && [ ${#CV_KEYS[@]} -gt 0 ]; then
        printf '%s\n' "${CV_KEYS[@]}" >>"$dir/zoo.cfg"
    fi
    if [ "$kind" = zookeeper ]; then
        # shellcheck disable=SC2086
        setsid java $JVM_FLAGS -cp "$ZK_CP" org.apache.zookeeper.server.quorum.QuorumPeerMain \
            "$dir/zoo.cfg" >"$dir/server.log" 2>&1 &
    else
        [ -x "$CORVID" ] || { SKIP_WHY="$CORVID not found"; return 1; }
        setsid "$CORVID" --config "$dir/zoo.cfg" >"$dir/server.log" 2>&1 &
    fi
    SERVER_PID=$!
    for _ in $(seq 100); do # 20 s
        if ! kill -0 "$SERVER_PID" 2>/dev/null; then
            SKIP_WHY="$([ "$kind" = corvid ] && echo "$CORVID --config" || echo java) exited at start-up; last log lines: $(tail -3 "$dir/server.log" | tr -s ' \n' ' ')"
            SERVER_PID=
            return 1
        fi
        case "$(four_letter "$port" ruok)" in imok*)
            if [ "$kind" = corvid ]; then # what kind of build it is, from its start-up lines
                if grep -q 'IN-MEMORY' "$dir/server.log"; then
                    CORVID_STORAGE="IN-MEMORY build (its log says IN-MEMORY ONLY: it acknowledges writes without any disk write, whatever forceSync says)"
                elif grep -q '^corvid: storage: ' "$dir/server.log"; then
                    CORVID_STORAGE="durable build; $(sed -n 's/^corvid: storage: /storage: /p' "$dir/server.log" | head -1)"
                else
                    CORVID_STORAGE="unknown build (its log has neither IN-MEMORY nor a storage line)"
                fi
            fi
            return 0 ;;
        esac
        sleep 0.2
    done
    SKIP_WHY="it did not answer ruok on port $port within 20 s"
    stop_server
    return 1
}

# run_lg SERVER PORT NAME LOADGEN-ARGS...: one workload, one JSON line.
run_lg() {
    local server=$1 port=$2 name=$3
    shift 3
    local line rc=0
    printf '  %-10s %-22s ' "$server" "$name" >&2
    line=$(timeout $((DURATION + WARMUP + 120)) "$LOADGEN" --port "$port" --json \
        --warmup "$WARMUP" --duration "$DURATION" "$@" 2>"$WORK/lg.err") || rc=$?
    if [ $rc -ne 0 ] || [ -z "$line" ]; then
        echo "FAILED (exit $rc): $(tr '\n' ' ' <"$WORK/lg.err")" >&2
        line='{"failed":true}'
    else
        $PY -c 'import json,sys; r=json.loads(sys.argv[1]); print("%10.0f ops/s  p50 %8.1f  p99 %8.1f  p999 %8.1f us  errors %d  client %.2f CPU" % (r["ops_per_sec"], r["p50_us"], r["p99_us"], r["p999_us"], r["errors_total"], r["client_cpu"]))' "$line" >&2
    fi
    $PY -c 'import json,sys; r=json.loads(sys.argv[3]); r["server"]=sys.argv[1]; r["workload"]=sys.argv[2]; print(json.dumps(r))' \
        "$server" "$name" "$line" >>"$RESULTS"
    LAST_LINE=$line
}

# run_durable_writes SERVER PORT: the --durable-writes set. Totals in flight
# 1, 16, 256; setData first, create (which grows the tree) last. The server's
# mntr is saved after the warm-up and after each workload, as
# $OUT/mntr/SERVER-N.txt (N = 0, 1, ...), for the log counters in the report.
run_durable_writes() {
    local s=$1 p=$2 op nk n k i=0
    mkdir -p "$OUT/mntr"
    # Server warm-up (JIT, the log file), not measured.
    "$LOADGEN" --port "$p" --op setData --conns 8 --outstanding 32 --warmup 0 \
        --duration "$SERVER_WARM" >/dev/null 2>&1 || true
    four_letter "$p" mntr >"$OUT/mntr/$s-0.txt"
    for op in setData create; do
        for nk in 1x1 4x4 8x32; do
            n=${nk%x*}
            k=${nk#*x}
            run_lg "$s" "$p" "$op $nk ($((n * k)))" --op "$op" --conns "$n" --outstanding "$k" \
                --value-size 100
            i=$((i + 1))
            four_letter "$p" mntr >"$OUT/mntr/$s-$i.txt"
        done
    done
}

OPEN_RATE=
OPEN_RATE_LOW=
run_suite() { # SERVER PORT
    local s=$1 p=$2
    # Server warm-up (JIT for ZooKeeper), not measured.
    "$LOADGEN" --port "$p" --op getData --conns 8 --outstanding 64 --warmup 0 \
        --duration "$SERVER_WARM" >/dev/null 2>&1 || true
    run_lg "$s" "$p" "getData 1x1" --op getData --conns 1 --outstanding 1
    run_lg "$s" "$p" "getData 1x64" --op getData --conns 1 --outstanding 64
    run_lg "$s" "$p" "getData 8x64" --op getData --conns 8 --outstanding 64
    if [ -z "$OPEN_RATE" ]; then # half of the first server's (ZooKeeper's) max
        OPEN_RATE=$($PY -c 'import json,sys; r=json.loads(sys.argv[1]); print(int(r.get("ops_per_sec", 0) * 0.5))' "$LAST_LINE")
        [ "$OPEN_RATE" -gt 0 ] || OPEN_RATE=2000
        OPEN_RATE_LOW=$((OPEN_RATE / 2))
    fi
    run_lg "$s" "$p" "getData open ${OPEN_RATE_LOW}/s" --op getData --conns 8 --rate "$OPEN_RATE_LOW"
    run_lg "$s" "$p" "getData open ${OPEN_RATE}/s" --op getData --conns 8 --rate "$OPEN_RATE"
    run_lg "$s" "$p" "exists 1x1" --op exists --conns 1 --outstanding 1
    run_lg "$s" "$p" "exists 1x64" --op exists --conns 1 --outstanding 64
    run_lg "$s" "$p" "exists 8x64" --op exists --conns 8 --outstanding 64
    run_lg "$s" "$p" "setData 1x1" --op setData --conns 1 --outstanding 1
    run_lg "$s" "$p" "setData 8x64" --op setData --conns 8 --outstanding 64
    # Last: create grows the tree by ~10^5-10^6 znodes and sets off snapshots,
    # which would distort every read measured after it.
    run_lg "$s" "$p" "create 1x1" --op create --conns 1 --outstanding 1
    run_lg "$s" "$p" "create 8x64" --op create --conns 8 --outstanding 64
}

# floor_run NAME [ARGS]: bench_disk_floor on $WORK into $OUT/floor_NAME.json.
floor_run() {
    local name=$1
    shift
    echo "== device floor ($name): bench_disk_floor --dir $WORK $*" >&2
    timeout 300 "$FLOOR_BIN" --dir "$WORK" --json "$@" >"$OUT/floor_$name.json" ||
        die "bench_disk_floor $* failed on $WORK (see above)"
}

T_START=$(date +%s)
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
ZK_VERSION=unknown
echo "server_vs_zookeeper: loadgen $LOADGEN, results in $OUT" >&2
CORVID_STORAGE=
SUITE=run_suite
if [ "$DWRITES" = 1 ]; then
    SUITE=run_durable_writes
    # The device floor on the directory that holds both dataDirs, with no
    # server running: into fallocated blocks (as a log segment is written)
    # now and again just before corvid starts (each server is compared with
    # the floor measured right before it), and overwriting written blocks.
    floor_run zookeeper
    floor_run overwrite --overwrite
    echo "== CRC cost: bench_crc" >&2
    timeout 120 "$CRC_BIN" --json >"$OUT/crc.json" || die "bench_crc failed"
fi

echo "== Apache ZooKeeper (port $ZK_PORT)" >&2
start_server zookeeper "$ZK_PORT" || die "ZooKeeper did not start: $SKIP_WHY"
# Debian's build reports "3.8.0-${mvngit.commit.id}": keep the release, add the package.
for _ in 1 2 3 4 5; do
    ZK_VERSION=$(four_letter "$ZK_PORT" srvr | sed -n 's/^Zookeeper version: //p' | cut -d- -f1)
    [ -n "$ZK_VERSION" ] && break
    sleep 0.5
done
ZK_VERSION="${ZK_VERSION:-3.8 (srvr did not answer)} (Debian zookeeper $(dpkg-query -W -f '${Version}' zookeeper 2>/dev/null || echo '?'))"
$SUITE zookeeper "$ZK_PORT"
stop_server

echo "== corvid (port $CV_PORT)" >&2
CORVID_NOTE=
[ "$DWRITES" = 1 ] && [ -x "$CORVID" ] && floor_run corvid
if start_server corvid "$CV_PORT"; then
    $SUITE corvid "$CV_PORT"
    stop_server
else
    CORVID_NOTE="corvid skipped: $SKIP_WHY"
    echo "  $CORVID_NOTE" >&2
fi
T_END=$(date +%s)

# ---- report ------------------------------------------------------------------
CPU_MODEL=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)
JAVA_VERSION=$(java -version 2>&1 | head -1)
{
    echo "# corvid vs Apache ZooKeeper — $(date -u '+%Y-%m-%d %H:%M UTC')"
    echo
    echo "- machine: $(nproc) CPUs ($CPU_MODEL), $(uname -r), loadgen and server on the same machine over loopback"
    echo "- ZooKeeper: $ZK_VERSION, standalone, $JAVA_VERSION, JVM flags: $JVM_FLAGS"
    if [ "$DURABLE" = 1 ]; then
        echo "- writes: durable (forceSync=yes on both servers); both dataDirs under $WORK ($(df --output=fstype,source "$WORK" | tail -1 | tr -s ' ' | sed 's/ / on /'))"
        echo "- corvid: ${CORVID_STORAGE:-did not run}"
    else
        echo "- writes: NOT durable (forceSync=no on both servers; --durable-writes measures durable writes)"
    fi
    if [ "$DWRITES" = 1 ]; then
        echo "- each workload: ${WARMUP} s warm-up + ${DURATION} s measured, value 100 B; NxK (T) = N connections x K outstanding (closed loop), T = N*K in flight; setData rewrites 100 znodes per connection, create makes new znodes"
    else
        echo "- each workload: ${WARMUP} s warm-up + ${DURATION} s measured, value 100 B, 100 znodes per connection; NxK = N connections x K outstanding (closed loop); open = fixed-rate open loop (8 connections) at 25% and 50% of ZooKeeper's getData 8x64 throughput, the same rate for both servers, latency from the intended send time"
    fi
    echo "- ratios: throughput corvid/ZooKeeper, p99 ZooKeeper/corvid (above 1: corvid better); latencies in microseconds"
    [ -n "$CORVID_NOTE" ] && echo "- $CORVID_NOTE"
    echo "- whole run: $((T_END - T_START)) s; load average before / after: $LOAD_BEFORE / $(cut -d' ' -f1-3 /proc/loadavg) (other processes on these $(nproc) CPUs add noise)"
    echo
    $PY - "$RESULTS" <<'EOF'
import json, sys
rows, order = {}, []
for line in open(sys.argv[1]):
    r = json.loads(line)
    w = r["workload"]
    if w not in order:
        order.append(w)
    rows[(r["server"], w)] = r

def cells(r):
    if r is None:
        return ["not available yet", "", "", ""]
    if r.get("failed"):
        return ["FAILED", "", "", ""]
    mark = " (!%d errors)" % r["errors_total"] if r["errors_total"] else ""
    return ["%.0f%s" % (r["ops_per_sec"], mark), "%.0f" % r["p50_us"], "%.0f" % r["p99_us"],
            "%.0f" % r["p999_us"]]

def ratio(c, z):
    ok = lambda r: r is not None and not r.get("failed") and r["ops_per_sec"] > 0
    if not (ok(c) and ok(z)):
        return ["-", "-"]
    return ["%.2f" % (c["ops_per_sec"] / z["ops_per_sec"]), "%.2f" % (z["p99_us"] / c["p99_us"])]

head = ["workload", "corvid ops/s", "p50", "p99", "p999", "ZooKeeper ops/s", "p50", "p99", "p999",
        "thr c/ZK", "p99 ZK/c"]
table = [head]
for w in order:
    c, z = rows.get(("corvid", w)), rows.get(("zookeeper", w))
    table.append([w] + cells(c) + cells(z) + ratio(c, z))
width = [max(len(r[i]) for r in table) for i in range(len(head))]
fmt = lambda r: "| " + " | ".join(v.ljust(width[i]) if i == 0 else v.rjust(width[i])
                                   for i, v in enumerate(r)) + " |"
print(fmt(head))
print("|" + "|".join("-" * (n + 2) if i == 0 else "-" * (n + 1) + ":" for i, n in enumerate(width)) + "|")
for r in table[1:]:
    print(fmt(r))
errs = [(s, w, r["errors"]) for (s, w), r in rows.items() if not r.get("failed") and r["errors_total"]]
for s, w, e in errs:
    print("\n%s %s: errors %s" % (s, w, e))
for (s, w), r in sorted(rows.items()):
    if not r.get("failed") and r.get("mode") == "open":
        print("\n%s %s: %.0f/s sent; loadgen send lag p99 %.0f us, %d scheduled requests unsent"
              % (s, w, r["ops_per_sec"], r["send_lag_p99_us"], r["unsent"]))
busy = [(s, w, r["client_cpu"]) for (s, w), r in rows.items()
        if not r.get("failed") and r["client_cpu"] > 0.9]
if busy:
    print("\nloadgen was busy (> 0.9 CPU) in: " + ", ".join("%s %s (%.2f)" % b for b in busy) +
          " - those figures may be the client's limit, not the server's")
EOF
    if [ "$DWRITES" = 1 ]; then
        echo
        $PY - "$RESULTS" "$OUT" "$CORVID_STORAGE" <<'EOF'
import json, os, sys
rows = {}
for line in open(sys.argv[1]):
    r = json.loads(line)
    rows[(r["server"], r["workload"])] = r
load = lambda name: (json.load(open(os.path.join(sys.argv[2], name)))
                     if os.path.exists(os.path.join(sys.argv[2], name)) else None)
floors = {"zookeeper": load("floor_zookeeper.json"), "corvid": load("floor_corvid.json")}
over, crc = load("floor_overwrite.json"), load("crc.json")
in_memory = "IN-MEMORY" in sys.argv[3]
names = {"pwrite": "pwrite + fdatasync", "pwritev2": "pwritev2 RWF_DSYNC",
         "uring": "io_uring write RWF_DSYNC"}
f0 = floors["zookeeper"]

print("Device floor: bench_disk_floor --dir <the dataDirs' directory> (%s on %s), %d sequential "
      "%d B O_DIRECT writes at queue depth 1, each durable, no server running. 'fallocated': into "
      "a fallocated file, as a log segment is written, measured before ZooKeeper's runs and again "
      "before corvid's; 'overwrite': into blocks already written (the device alone, no file-system "
      "metadata). Latencies in microseconds." % (f0["fs"], f0["device"], f0["count"], f0["block"]))
print()
def fcells(f, k):
    m = f["modes"].get(k) if f else None
    if m is None:
        return ["-"] * 4
    if "error" in m:
        return [m["error"], "", "", ""]
    return ["%.0f" % m["ops_per_sec"], "%.0f" % m["p50_us"], "%.0f" % m["p99_us"],
            "%.0f" % m["p999_us"]]
table = [["floor mode", "fallocated, before ZK: ops/s", "p50", "p99", "p999",
          "before corvid: ops/s", "p50", "p99", "p999", "overwrite: ops/s", "p50", "p99", "p999"]]
for k, n in names.items():
    table.append([n] + fcells(floors["zookeeper"], k) + fcells(floors["corvid"], k) +
                 fcells(over, k))
width = [max(len(r[i]) for r in table) for i in range(len(table[0]))]
fmt = lambda r: "| " + " | ".join(v.ljust(width[i]) if i == 0 else v.rjust(width[i])
                                   for i, v in enumerate(r)) + " |"
print(fmt(table[0]))
print("|" + "|".join("-" * (n + 2) if i == 0 else "-" * (n + 1) + ":" for i, n in enumerate(width)) + "|")
for r in table[1:]:
    print(fmt(r))
print()

def get(server, w):
    r = rows.get((server, w))
    return None if r is None or r.get("failed") or not r["ops_per_sec"] else r

note = " [IN-MEMORY corvid: not a durable figure]" if in_memory else ""
best = lambda f: ("%.1f us (%s)" % (f["best_p50_us"], names[f["best"]])
                  if f and f.get("best_p50_us") else "-")
print("Floor, best fallocated p50: %s before ZooKeeper, %s before corvid; overwrite: %s."
      % (best(floors["zookeeper"]), best(floors["corvid"]), best(over)))
parts = []
for op in ("setData", "create"):
    for server in ("corvid", "zookeeper"):
        r, f = get(server, op + " 1x1 (1)"), floors[server]
        fl = f.get("best_p50_us") if f else None
        parts.append("%s %s %s" % (server, op, "%.0f us = %.2fx" % (r["p50_us"], r["p50_us"] / fl)
                                       if r and fl else "-"))
print("1 outstanding, p50 / the floor measured before that server: " + "; ".join(parts) +
      " (target for corvid: <= 1.50x)" + note)
parts = []
for op in ("setData", "create"):
    c, z = get("corvid", op + " 8x32 (256)"), get("zookeeper", op + " 8x32 (256)")
    parts.append("%s %s" % (op, "%.2fx (%.0f / %.0f ops/s)" % (c["ops_per_sec"] / z["ops_per_sec"],
                                                                c["ops_per_sec"], z["ops_per_sec"])
                            if c and z else "-"))
print("256 outstanding, throughput corvid / ZooKeeper: " + "; ".join(parts) + " (target: >= 5x)" + note)

# The log, from each server's mntr before and after every workload (deltas;
# they include the workload's warm-up and setup).
def mntr(server, i):
    path = os.path.join(sys.argv[2], "mntr", "%s-%d.txt" % (server, i))
    d = {}
    for line in open(path) if os.path.exists(path) else []:
        k, _, v = line.rstrip("\n").partition("\t")
        try:
            d[k] = float(v)
        except ValueError:
            pass
    return d
order = [w for w in ("%s %s" % (op, nk) for op in ("setData", "create")
                     for nk in ("1x1 (1)", "4x4 (16)", "8x32 (256)"))]
log = [["workload", "corvid log writes", "txns/write", "writes > 1 ms", "max latency",
        "ZooKeeper fsyncs", "txns/fsync", "max latency"]]
maxlat = lambda r: "%.1f ms" % (r["max_us"] / 1e3) if r else "-"
for i, w in enumerate(order, 1):
    row = [w]
    a, b = mntr("corvid", i - 1), mntr("corvid", i)
    n = b.get("zk_corvid_log_batches", 0) - a.get("zk_corvid_log_batches", 0)
    if a and b and n > 0:
        le = lambda d: d.get("zk_corvid_log_write_us_le_1024", d.get("zk_corvid_log_batches", 0))
        slow = n - (le(b) - le(a))
        row += ["%.0f" % n, "%.1f" % ((b["zk_corvid_log_records"] - a["zk_corvid_log_records"]) / n),
                "%.0f (%.1f%%)" % (slow, 100.0 * slow / n)]
    else:
        row += ["-"] * 3
    row.append(maxlat(get("corvid", w)))
    a, b = mntr("zookeeper", i - 1), mntr("zookeeper", i)
    n = b.get("zk_cnt_sync_processor_batch_size", 0) - a.get("zk_cnt_sync_processor_batch_size", 0)
    if a and b and n > 0:
        row += ["%.0f" % n, "%.1f" % ((b["zk_sum_sync_processor_batch_size"] -
                                        a["zk_sum_sync_processor_batch_size"]) / n)]
    else:
        row += ["-"] * 2
    row.append(maxlat(get("zookeeper", w)))
    log.append(row)
print()
print("The log during each workload (from mntr: corvid's zk_corvid_log_* counters and write "
      "latency histogram, ZooKeeper's sync_processor_batch_size; warm-up included), and the "
      "slowest request of each measured run:")
print()
width = [max(len(r[i]) for r in log) for i in range(len(log[0]))]
print(fmt(log[0]))
print("|" + "|".join("-" * (n + 2) if i == 0 else "-" * (n + 1) + ":" for i, n in enumerate(width)) + "|")
for r in log[1:]:
    print(fmt(r))
last = mntr("corvid", len(order))
if "zk_corvid_snapshot_fork_max_us" in last:
    print("\ncorvid: slowest log write %.1f ms, slowest snapshot fork %.1f ms (whole run)"
          % (last.get("zk_corvid_log_write_max_us", 0) / 1e3,
             last["zk_corvid_snapshot_fork_max_us"] / 1e3))
print()
c32 = crc["crc32c"]
print("CRC (bench_crc, %s, hot buffer): CRC-32C of a 100 B record (16 + 100 B) %.1f ns, %.1f ns "
      "with its share of the batch CRC; 1 KiB %.1f ns, 4 KiB %.1f ns, 64 KiB %.0f ns (%.1f GB/s); "
      "CRC-64 %.1f us per MiB (%.1f GB/s)"
      % (crc["impl"], c32["record_100"]["ns"], crc["record_100_in_log_ns"], c32["1024"]["ns"],
         c32["4096"]["ns"], c32["65536"]["ns"], c32["65536"]["gb_s"], crc["crc64"]["ns_per_mib"] / 1e3,
         crc["crc64"]["gb_s"]))
EOF
    fi
} | tee "$OUT/table.md"
