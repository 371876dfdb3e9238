#!/usr/bin/env bash
# tree_vs_zookeeper.sh — corvid's core (perf/bench_core) against Apache
# ZooKeeper 3.8's DataTree (perf/zk/ZkTreeBench.java) on this machine, in
# this run: the same N znodes, paths, 100-byte data and phases. Prints one
# side-by-side table. See perf/README.md for what is and is not comparable.
#
#   perf/tree_vs_zookeeper.sh [--nodes N] [--data BYTES] [--runs R] [--heap SIZE]
#                             [--build-dir DIR] [--reserve] [--histo]
#
# --runs R   runs each side R times, alternating (default 2); the table shows
#            the median and, with R > 1, the range [min..max].
# --heap     the JVM's fixed heap, -Xms = -Xmx (default 4g).
# --build-dir  corvid's CMake build (default: build; configured with
#            RelWithDebInfo if it does not exist yet).
# --histo    also print the top of ZooKeeper's class histogram after create.
# Needs: cmake + gcc, a JDK (javac, java), /usr/share/java/zookeeper.jar and
# zookeeper-jute.jar (Debian's libzookeeper-java), slf4j, python3.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
NODES=1000000
DATA=100
RUNS=2
HEAP=4g
BUILD="$ROOT/build"
RESERVE=
HISTO=
STEP_TIMEOUT=600 # seconds, per benchmark process

while [ $# -gt 0 ]; do
    case "$1" in
    --nodes) NODES=$2; shift 2 ;;
    --data) DATA=$2; shift 2 ;;
    --runs) RUNS=$2; shift 2 ;;
    --heap) HEAP=$2; shift 2 ;;
    --build-dir) BUILD=$2; shift 2 ;;
    --reserve) RESERVE=--reserve; shift ;;
    --histo) HISTO=--histo; shift ;;
    -h | --help) sed -n '2,19p' "$0"; exit 0 ;;
    *) echo "unknown option: $1 (see --help)" >&2; exit 2 ;;
    esac
done

JARS=/usr/share/java
CP=$JARS/zookeeper.jar:$JARS/zookeeper-jute.jar:$JARS/slf4j-api.jar:$JARS/slf4j-nop.jar
for j in ${CP//:/ }; do
    [ -r "$j" ] || { echo "missing $j (apt-get install libzookeeper-java libslf4j-java)" >&2; exit 1; }
done
command -v javac >/dev/null || { echo "javac not found (apt-get install openjdk-17-jdk-headless)" >&2; exit 1; }
command -v python3 >/dev/null || { echo "python3 not found" >&2; exit 1; }

TMP=$(mktemp -d /tmp/tree_vs_zk.XXXXXX)
trap 'rm -rf "$TMP"' EXIT

# corvid
if [ ! -f "$BUILD/CMakeCache.txt" ]; then
    cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo >"$TMP/cmake.log" 2>&1 ||
        { cat "$TMP/cmake.log" >&2; exit 1; }
fi
cmake --build "$BUILD" -j"$(nproc)" --target bench_core >"$TMP/build.log" 2>&1 ||
    { cat "$TMP/build.log" >&2; exit 1; }
BENCH_CORE="$BUILD/perf/bench_core"
BUILD_TYPE=$(sed -n 's/^CMAKE_BUILD_TYPE:STRING=//p' "$BUILD/CMakeCache.txt")

# ZooKeeper
mkdir -p "$TMP/classes"
javac -nowarn -d "$TMP/classes" -cp "$CP" "$ROOT/perf/zk/ZkTreeBench.java"
JVM_FLAGS="-Xms$HEAP -Xmx$HEAP"

for r in $(seq 1 "$RUNS"); do
    echo "run $r/$RUNS: corvid bench_core ..." >&2
    timeout "$STEP_TIMEOUT" "$BENCH_CORE" --nodes "$NODES" --data "$DATA" $RESERVE --json \
        >>"$TMP/corvid.jsonl" 2>"$TMP/corvid.err" || { cat "$TMP/corvid.err" >&2; exit 1; }
    echo "run $r/$RUNS: ZooKeeper ZkTreeBench ..." >&2
    histo=
    [ "$r" = 1 ] && histo=$HISTO
    # shellcheck disable=SC2086
    timeout "$STEP_TIMEOUT" java $JVM_FLAGS -cp "$CP:$TMP/classes" ZkTreeBench \
        --nodes "$NODES" --data "$DATA" --json $histo >>"$TMP/zk.jsonl" 2>"$TMP/zk.err" ||
        { cat "$TMP/zk.err" >&2; exit 1; }
    [ -n "$histo" ] && cat "$TMP/zk.err" >&2
done

MODEL=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)
JAVA_VERSION=$(java -version 2>&1 | head -1)
export NODES DATA RUNS JVM_FLAGS MODEL JAVA_VERSION BUILD_TYPE RESERVE
export CPUS=$(nproc) MEM=$(awk '/MemTotal/ {printf "%.0f GiB", $2 / 1048576}' /proc/meminfo)
export WHEN=$(date -u '+%Y-%m-%d %H:%M UTC')
python3 - "$TMP/corvid.jsonl" "$TMP/zk.jsonl" <<'EOF'
import json, os, statistics, sys

cv = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
zk = [json.loads(l) for l in open(sys.argv[2]) if l.strip()]
E = os.environ

def vals(runs, path):
    out = []
    for r in runs:
        v = r
        for k in path:
            v = v[k]
        out.append(float(v))
    return out

def cell(v, fmt):
    m = statistics.median(v)
    s = fmt(m)
    if len(v) > 1:
        s += " [%s..%s]" % (fmt(min(v)), fmt(max(v)))
    return s, m

def ops(x): return "{:,.0f}".format(x)
def ns(x): return "{:,.0f}".format(x)
def byt(x): return "{:.1f}".format(x)

rows = []
ops_names = [
    ("create", "create: write path"),
    ("set", "setData: write path"),
    ("get", "getData: read path"),
    ("apply_create", "create: apply only (txn bytes in)"),
    ("apply_set", "setData: apply only (txn bytes in)"),
]
for key, name in ops_names:
    c, cm = cell(vals(cv, [key, "ops_s"]), ops)
    z, zm = cell(vals(zk, [key, "ops_s"]), ops)
    rows.append((name + ", ops/s", c, z, "%.2fx" % (cm / zm)))
    for p in ("p50", "p99", "p999"):
        c, cm = cell(vals(cv, [key, p]), ns)
        z, zm = cell(vals(zk, [key, p]), ns)
        rows.append(("  %s ns" % p, c, z, "%.2fx" % (zm / cm)))
zb = vals(zk, ["bytes_per_znode"])
for key, name in (("bytes_per_znode", "bytes/znode (corvid: tree accounting)"),
                  ("rss_per_znode", "bytes/znode (corvid: RSS growth)")):
    c, cm = cell(vals(cv, [key]), byt)
    z, zm = cell(zb, byt)
    rows.append((name, c, z, "%.2fx" % (cm / zm)))
gc = [sum(r[k]["gc_ms"] for k, _ in ops_names) for r in zk]
rows.append(("ZooKeeper GC time in timed phases, ms", "-", cell(gc, ops)[0], ""))

print("corvid cv_core vs Apache ZooKeeper %s DataTree, in-process, no network/disk" % zk[0]["version"].split("-")[0])
print("machine: %s CPUs (%s), %s RAM; date %s" % (E["CPUS"], E["MODEL"], E["MEM"], E["WHEN"]))
print("workload: %s znodes /bench/dXXX/nYYYYYY (1000 per dir), %s-byte data, one session; "
      "setData/getData in a pseudo-random order" % (E["NODES"], E["DATA"]))
print("corvid: perf/bench_core (%s build%s); ZooKeeper: perf/zk/ZkTreeBench.java on %s, JVM flags: %s (G1 default)"
      % (E["BUILD_TYPE"], ", tables reserved" if E["RESERVE"] else "", E["JAVA_VERSION"], E["JVM_FLAGS"]))
print("%s run(s) per side, alternating; cells: median [min..max]. ops/s = ops / sum of per-op times." % E["RUNS"])
print("ratio: throughput corvid/ZK, latency ZK/corvid (both >1: corvid better), bytes corvid/ZK (<1: corvid smaller)")
print()
w0 = max(len(r[0]) for r in rows)
w1 = max(len(r[1]) for r in rows + [("", "corvid", "", "")])
w2 = max(len(r[2]) for r in rows + [("", "", "ZooKeeper 3.8", "")])
print("| %-*s | %*s | %*s | %6s |" % (w0, "metric", w1, "corvid", w2, "ZooKeeper 3.8", "ratio"))
print("|%s|%s:|%s:|%s:|" % ("-" * (w0 + 2), "-" * (w1 + 1), "-" * (w2 + 1), "-" * 7))
for r in rows:
    print("| %-*s | %*s | %*s | %6s |" % (w0, r[0], w1, r[1], w2, r[2], r[3]))
EOF
