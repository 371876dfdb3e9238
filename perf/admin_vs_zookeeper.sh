#!/usr/bin/env bash
# admin_vs_zookeeper.sh — does scraping the control plane disturb the data
# plane? A standalone corvid and a standalone Apache ZooKeeper 3.8 (Debian's
# package, its AdminServer enabled through the Jetty jars) on this machine,
# one after the other, each driven by bench_loadgen with the same workload
# in four phases: quiet; a scraper at 10 Hz; a burst scraper at 100 Hz; quiet
# again (what drifted on its own: the machine, the JIT, the tree). The
# scraper GETs /commands/monitor (both servers) and /metrics (corvid only:
# ZooKeeper's Prometheus provider is not in Debian's package) once per tick,
# on a fixed schedule, a new connection per request, as a Prometheus server
# or a monitoring agent would. See perf/ADMIN.md.
#
#   perf/admin_vs_zookeeper.sh [--duration S] [--warmup S] [--op OP] [--conns N]
#                              [--outstanding K] [--loadgen BIN] [--corvid BIN]
#                              [--work-dir DIR] [--base-port P] [--only corvid|zookeeper]
#
# Defaults: --op mixed (getData:setData 9:1), 8 connections x 16 outstanding,
# 2 s warm-up + 15 s measured per phase, 4 phases per server: about 2.5
# minutes in all.
# Ports --base-port .. +4 (default 24281..24285): ZooKeeper client, admin;
# corvid client, admin, metrics. forceSync=no on both (the data plane under
# test is the request path, not the disk).
# Prints, per server and phase: throughput, p50/p99/p999 (us), loadgen
# errors, and the scrape latency p50/p99 (ms) of each URL; then the ratios
# corvid/ZooKeeper and each phase's throughput relative to the same server's
# quiet phases (their mean).
# Every process it starts (servers, loadgen, scraper) is bounded by a timeout
# and stopped on exit, failure or interrupt; temporary files go to a mktemp -d
# directory under --work-dir (/tmp), removed on exit.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PY=/usr/bin/python3
DURATION=15
WARMUP=2
OP=mixed
CONNS=8
OUTSTANDING=16
LOADGEN=${LOADGEN:-}
CORVID=${CORVID_BIN:-}
WORK_BASE=/tmp
BASE_PORT=24281
ONLY=
JVM_FLAGS="-Xms1g -Xmx1g -XX:+UseG1GC"
RATES="0 10 100 0" # scrapes per second: quiet, steady, burst, quiet again

die() { echo "admin_vs_zookeeper: $*" >&2; exit 1; }

while [ $# -gt 0 ]; do
    case "$1" in
    --duration) DURATION=$2; shift ;;
    --warmup) WARMUP=$2; shift ;;
    --op) OP=$2; shift ;;
    --conns) CONNS=$2; shift ;;
    --outstanding) OUTSTANDING=$2; shift ;;
    --loadgen) LOADGEN=$2; shift ;;
    --corvid) CORVID=$2; shift ;;
    --work-dir) WORK_BASE=$2; shift ;;
    --base-port) BASE_PORT=$2; shift ;;
    --only) ONLY=$2; shift ;;
    -h|--help) sed -n '2,30p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown option $1 (see --help)" ;;
    esac
    shift
done
ZK_PORT=$BASE_PORT
ZK_ADMIN=$((BASE_PORT + 1))
CV_PORT=$((BASE_PORT + 2))
CV_ADMIN=$((BASE_PORT + 3))
CV_METRICS=$((BASE_PORT + 4))

# Binaries: as server_vs_zookeeper.sh finds them (build/, else the newest build*/).
if [ -z "$LOADGEN" ]; then
    for c in "$ROOT/build/perf/bench_loadgen" $(ls -t "$ROOT"/build*/perf/bench_loadgen 2>/dev/null); do
        if [ -x "$c" ]; then LOADGEN=$c; break; fi
    done
fi
[ -n "$LOADGEN" ] && [ -x "$LOADGEN" ] ||
    die "no loadgen binary; build it: cmake --build build --target bench_loadgen (or pass --loadgen)"
if [ -z "$CORVID" ]; then # next to the loadgen's build, else build/
    CORVID=$(dirname "$(dirname "$LOADGEN")")/control/corvid
    [ -x "$CORVID" ] || CORVID=$ROOT/build/control/corvid
fi
if [ "$ONLY" != zookeeper ]; then
    [ -x "$CORVID" ] || die "corvid binary $CORVID not found (pass --corvid)"
fi
if [ "$ONLY" != corvid ]; then
    command -v java >/dev/null || die "java not found (apt-get install zookeeper)"
    [ -f /usr/share/java/zookeeper.jar ] || die "/usr/share/java/zookeeper.jar not found"
    for j in jetty9-server jetty9-servlet jetty9-http jetty9-io jetty9-util jetty9-security \
        jetty9-util-ajax jackson-databind jackson-core jackson-annotations; do
        [ -f "/usr/share/java/$j.jar" ] || die "/usr/share/java/$j.jar not found (ZooKeeper's AdminServer needs Jetty 9 and Jackson)"
        JETTY_CP="${JETTY_CP:+$JETTY_CP:}/usr/share/java/$j.jar"
    done
    ZK_CP=$($PY -c "import sys; sys.path.insert(0, '$ROOT/tests/integration'); import zkserver; print(zkserver.zk_classpath())"):$JETTY_CP
fi
[ -d "$WORK_BASE" ] || die "--work-dir $WORK_BASE is not a directory"
WORK=$(mktemp -d "$WORK_BASE/cv-avz-XXXXXX")
RESULTS=$WORK/results.jsonl
: >"$RESULTS"

SERVER_PID=
SCRAPER_PID=
stop_pid() { # PID: TERM its process group, KILL after 10 s
    local pid=$1
    [ -n "$pid" ] || return 0
    kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 100); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
}
cleanup() {
    stop_pid "$SCRAPER_PID"
    SCRAPER_PID=
    stop_pid "$SERVER_PID"
    SERVER_PID=
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'echo "admin_vs_zookeeper: interrupted" >&2; exit 130' INT TERM

port_open() { $PY -c "import sys; sys.path.insert(0, '$ROOT/tests/integration'); import zkserver; sys.exit(0 if zkserver.port_open($1) else 1)"; }
ruok() {
    $PY -c "import sys; sys.path.insert(0, '$ROOT/tests/integration'); import zkserver
try: print(zkserver.four_letter($1, 'ruok', timeout=2.0))
except OSError: pass" 2>/dev/null
}
http_ok() { # URL: 0 when it answers 200
    $PY -c "import sys, urllib.request
try: sys.exit(0 if urllib.request.urlopen(sys.argv[1], timeout=2).status == 200 else 1)
except Exception: sys.exit(1)" "$1"
}

# start_server KIND: 0 when its client port answers ruok and its admin
# server answers /commands/ruok.
start_server() {
    local kind=$1 dir=$WORK/$1 port admin
    if [ "$kind" = zookeeper ]; then port=$ZK_PORT; admin=$ZK_ADMIN; else port=$CV_PORT; admin=$CV_ADMIN; fi
    for p in $port $admin $([ "$kind" = corvid ] && echo $CV_METRICS); do
        ! port_open "$p" || die "port $p is in use (choose another --base-port)"
    done
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
forceSync=no
admin.enableServer=true
admin.serverAddress=127.0.0.1
admin.serverPort=$admin
EOF
    if [ "$kind" = zookeeper ]; then
        # shellcheck disable=SC2086
        setsid timeout 900 java $JVM_FLAGS -Dzookeeper.admin.enableServer=true \
            -Dzookeeper.admin.serverPort="$admin" -cp "$ZK_CP" \
            org.apache.zookeeper.server.quorum.QuorumPeerMain "$dir/zoo.cfg" >"$dir/server.log" 2>&1 &
    else
        printf 'metricsProvider.httpHost=127.0.0.1\nmetricsProvider.httpPort=%s\n' "$CV_METRICS" >>"$dir/zoo.cfg"
        setsid timeout 900 "$CORVID" --config "$dir/zoo.cfg" >"$dir/server.log" 2>&1 &
    fi
    SERVER_PID=$!
    for _ in $(seq 150); do # 30 s
        kill -0 "$SERVER_PID" 2>/dev/null || { tail -5 "$dir/server.log" >&2; die "$kind exited at start-up"; }
        case "$(ruok "$port")" in imok*)
            http_ok "http://127.0.0.1:$admin/commands/ruok" && return 0 ;;
        esac
        sleep 0.2
    done
    tail -5 "$dir/server.log" >&2
    die "$kind did not answer ruok and /commands/ruok within 30 s"
}

# The scraper: GET each URL once per tick at RATE ticks/s on a fixed schedule
# (a tick that falls behind is sent at once, never skipped), for SECONDS;
# prints one JSON line: per URL the count, failures and latency p50/p99/max.
SCRAPER=$WORK/scraper.py
cat >"$SCRAPER" <<'EOF'
import http.client, json, os, sys, time
rate, seconds, urls = float(sys.argv[1]), float(sys.argv[2]), sys.argv[3:]
lat = dict((u, []) for u in urls)
fail = dict((u, 0) for u in urls)
start = time.monotonic()
k = 0
while True:
    due = start + k / rate
    now = time.monotonic()
    if due - start >= seconds:
        break
    if due > now:
        time.sleep(due - now)
    for u in urls:
        host, _, path = u.partition("/")
        h, _, p = host.partition(":")
        t0 = time.monotonic()
        try:
            c = http.client.HTTPConnection(h, int(p), timeout=5)
            c.request("GET", "/" + path)
            r = c.getresponse()
            r.read()
            c.close()
            if r.status != 200:
                raise OSError("HTTP %d" % r.status)
            lat[u].append(time.monotonic() - t0)
        except Exception:
            fail[u] += 1
    k += 1
def q(v, p):
    return v[min(len(v) - 1, int(p * len(v)))] * 1e3 if v else float("nan")
out = {}
for u in urls:
    v = sorted(lat[u])
    out["/" + u.partition("/")[2]] = {"n": len(v), "failed": fail[u], "p50_ms": q(v, 0.50),
                                      "p99_ms": q(v, 0.99), "max_ms": v[-1] * 1e3 if v else float("nan")}
wall = max(1e-9, time.monotonic() - start)
out["achieved_hz"] = k / wall
t = os.times()
out["cpu"] = (t.user + t.system) / wall
print(json.dumps(out))
EOF

# proc_cpu PID: user + system clock ticks of a process (all its threads).
proc_cpu() { awk '{ sub(/^.*\) /, ""); print $12 + $13 }' "/proc/$1/stat" 2>/dev/null || echo 0; }

# phase SERVER PORT RATE URL...: one loadgen run, with the scraper at RATE
# (0: none) over the whole run (warm-up included).
phase() {
    local server=$1 port=$2 rate=$3
    shift 3
    local name line scrape='{}' rc=0 spid t0 t1 c0 c1
    if [ "$rate" != 0 ]; then
        name="scrape ${rate} Hz"
    elif grep -q "\"server\": \"$server\", \"phase\": \"quiet\"" "$RESULTS"; then
        name="quiet again"
    else
        name=quiet
    fi
    printf '  %-10s %-14s ' "$server" "$name" >&2
    spid=$(pgrep -P "$SERVER_PID" | head -1) # the server under its timeout wrapper
    c0=$(proc_cpu "$spid")
    t0=$(date +%s.%N)
    if [ "$rate" != 0 ]; then
        setsid timeout $((WARMUP + DURATION + 60)) $PY "$SCRAPER" "$rate" $((WARMUP + DURATION)) "$@" \
            >"$WORK/scrape.json" 2>"$WORK/scrape.err" &
        SCRAPER_PID=$!
    fi
    line=$(timeout $((WARMUP + DURATION + 120)) "$LOADGEN" --port "$port" --json --op "$OP" \
        --conns "$CONNS" --outstanding "$OUTSTANDING" --warmup "$WARMUP" --duration "$DURATION" \
        2>"$WORK/lg.err") || rc=$?
    c1=$(proc_cpu "$spid")
    t1=$(date +%s.%N)
    if [ -n "$SCRAPER_PID" ]; then
        wait "$SCRAPER_PID" 2>/dev/null || true
        SCRAPER_PID=
        scrape=$(cat "$WORK/scrape.json" 2>/dev/null || true)
        [ -n "$scrape" ] || scrape='{"scraper_failed": true}'
    fi
    if [ $rc -ne 0 ] || [ -z "$line" ]; then
        echo "FAILED (loadgen exit $rc): $(tr '\n' ' ' <"$WORK/lg.err")" >&2
        line='{"failed":true}'
    else
        $PY -c 'import json,sys; r=json.loads(sys.argv[1]); print("%9.0f ops/s  p50 %7.1f  p99 %7.1f  p999 %7.1f us  errors %d" % (r["ops_per_sec"], r["p50_us"], r["p99_us"], r["p999_us"], r["errors_total"]))' "$line" >&2
    fi
    $PY -c 'import json,sys; r=json.loads(sys.argv[4]); r.update(server=sys.argv[1], phase=sys.argv[2], scrape=json.loads(sys.argv[3]), server_cpu=(float(sys.argv[6]) - float(sys.argv[5])) / float(sys.argv[9]) / (float(sys.argv[8]) - float(sys.argv[7]))); print(json.dumps(r))' \
        "$server" "$name" "$scrape" "$line" "$c0" "$c1" "$t0" "$t1" "$(getconf CLK_TCK)" >>"$RESULTS"
}

run_server() { # KIND
    local kind=$1 port urls
    if [ "$kind" = zookeeper ]; then
        port=$ZK_PORT
        urls="127.0.0.1:$ZK_ADMIN/commands/monitor"
    else
        port=$CV_PORT
        urls="127.0.0.1:$CV_ADMIN/commands/monitor 127.0.0.1:$CV_METRICS/metrics"
    fi
    echo "== $kind (client port $port)" >&2
    start_server "$kind"
    # Server warm-up (the JIT for ZooKeeper), not measured.
    timeout 60 "$LOADGEN" --port "$port" --op "$OP" --conns "$CONNS" --outstanding "$OUTSTANDING" \
        --warmup 0 --duration 4 >/dev/null 2>&1 || true
    for r in $RATES; do
        # shellcheck disable=SC2086
        phase "$kind" "$port" "$r" $urls
    done
    stop_pid "$SERVER_PID"
    SERVER_PID=
}

T_START=$(date +%s)
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
echo "admin_vs_zookeeper: loadgen $LOADGEN, corvid $CORVID" >&2
[ "$ONLY" = corvid ] || run_server zookeeper
[ "$ONLY" = zookeeper ] || run_server corvid
T_END=$(date +%s)

CPU_MODEL=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)
echo "# control plane vs data plane: corvid and Apache ZooKeeper — $(date -u '+%Y-%m-%d %H:%M UTC')"
echo
echo "- machine: $(nproc) CPUs ($CPU_MODEL), $(uname -r); servers, loadgen and scraper on the same machine over loopback"
echo "- ZooKeeper: $(dpkg-query -W -f '${Version}' zookeeper 2>/dev/null || echo '?') (Debian), standalone, AdminServer on (Jetty 9), $(java -version 2>&1 | head -1), $JVM_FLAGS; corvid: $CORVID, standalone"
echo "- workload: loadgen --op $OP --conns $CONNS --outstanding $OUTSTANDING, ${WARMUP} s warm-up + ${DURATION} s measured per phase, 100 B values, forceSync=no on both"
echo "- scraper: each tick GETs /commands/monitor (both) and /metrics (corvid), one new connection per request, for the whole phase; latencies in ms"
echo "- server CPU / scraper CPU: CPUs busy (user + system time / wall time) over the whole phase, warm-up included; the loadgen and the scraper share the same $(nproc) CPUs with the server"
echo "- whole run: $((T_END - T_START)) s; load average before / after: $LOAD_BEFORE / $(cut -d' ' -f1-3 /proc/loadavg)"
echo
$PY - "$RESULTS" <<'EOF'
import json, sys
rows, phases = {}, []
for line in open(sys.argv[1]):
    r = json.loads(line)
    rows[(r["server"], r["phase"])] = r
    if r["phase"] not in phases:
        phases.append(r["phase"])
ok = lambda r: r is not None and not r.get("failed") and r.get("ops_per_sec", 0) > 0

def scr(r, path):
    s = (r or {}).get("scrape", {}).get(path)
    if not s:
        return "-"
    f = " (%d failed)" % s["failed"] if s["failed"] else ""
    return "%.2f / %.2f%s" % (s["p50_ms"], s["p99_ms"], f)

head = ["server", "phase", "ops/s", "vs quiets", "p50 us", "p99 us", "p999 us", "errors",
        "server CPU", "scraper CPU", "monitor p50/p99 ms", "metrics p50/p99 ms"]
table = [head]
for server in ("corvid", "zookeeper"):
    qs = [rows.get((server, p)) for p in ("quiet", "quiet again")]
    qs = [q for q in qs if ok(q)]
    qops = sum(q["ops_per_sec"] for q in qs) / len(qs) if qs else 0
    for ph in phases:
        r = rows.get((server, ph))
        if r is None:
            continue
        if not ok(r):
            table.append([server, ph, "FAILED"] + [""] * 9)
            continue
        rel = "%.3f" % (r["ops_per_sec"] / qops) if qops else "-"
        table.append([server, ph, "%.0f" % r["ops_per_sec"], rel, "%.0f" % r["p50_us"],
                      "%.0f" % r["p99_us"], "%.0f" % r["p999_us"], "%d" % r["errors_total"],
                      "%.2f" % r["server_cpu"],
                      "%.2f" % r["scrape"]["cpu"] if "cpu" in r.get("scrape", {}) else "-",
                      scr(r, "/commands/monitor"), scr(r, "/metrics")])

def show(t, nleft):
    w = [max(len(x[i]) for x in t) for i in range(len(t[0]))]
    print("| " + " | ".join(v.ljust(w[i]) for i, v in enumerate(t[0])) + " |")
    print("|" + "|".join("-" * (n + 2) if i < nleft else "-" * (n + 1) + ":" for i, n in enumerate(w)) + "|")
    for x in t[1:]:
        print("| " + " | ".join(v.ljust(w[i]) if i < nleft else v.rjust(w[i]) for i, v in enumerate(x)) + " |")
show(table, 2)
print()
rt = [["phase", "ops/s corvid/ZK", "p50 ZK/corvid", "p99 ZK/corvid", "p999 ZK/corvid",
       "monitor p99 ZK/corvid"]]
for ph in phases:
    c, z = rows.get(("corvid", ph)), rows.get(("zookeeper", ph))
    if not (ok(c) and ok(z)):
        continue
    m = "-"
    cs, zs = c["scrape"].get("/commands/monitor"), z["scrape"].get("/commands/monitor")
    if cs and zs and cs["p99_ms"] > 0:
        m = "%.2f" % (zs["p99_ms"] / cs["p99_ms"])
    rt.append([ph, "%.2f" % (c["ops_per_sec"] / z["ops_per_sec"]),
               "%.2f" % (z["p50_us"] / c["p50_us"]), "%.2f" % (z["p99_us"] / c["p99_us"]),
               "%.2f" % (z["p999_us"] / c["p999_us"]), m])
if len(rt) > 1:
    print("Ratios (above 1: corvid better):")
    print()
    show(rt, 1)
    print()
for (s, ph), r in sorted(rows.items()):
    hz = r.get("scrape", {}).get("achieved_hz")
    if hz is not None:
        print("%s %s: scraper achieved %.1f ticks/s" % (s, ph, hz))
EOF
